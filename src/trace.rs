//! Opt-in phase trace for profiling: with `LAMSACH_TRACE=1` in the environment, every phase
//! and matching sub-phase prints its seconds and the process's resident and peak memory to
//! stderr. Nothing about the data is printed. Off by default; reads `/proc` only on Linux.

use std::sync::OnceLock;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("LAMSACH_TRACE").is_some_and(|v| !v.is_empty() && v != "0"))
}

/// (resident, peak) memory of this process in MB, when the OS tells.
pub fn memory_mb() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb / 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Print one phase line when tracing is on.
pub fn phase(name: &str, seconds: f64) {
    if !enabled() {
        return;
    }
    match memory_mb() {
        Some((rss, peak)) => {
            eprintln!("trace {name:<22} {seconds:>8.2} s  rss {rss:>6} MB  peak {peak:>6} MB")
        }
        None => eprintln!("trace {name:<22} {seconds:>8.2} s"),
    }
}
