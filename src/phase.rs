//! The one phase timer of every driver: [`Phases`] times each phase, records it for
//! `summary.json`, shows it on the progress spinner, and, with `LAMSACH_TRACE=1` in the
//! environment, prints its seconds and the process's resident and peak memory to stderr (the
//! memory curve). Nothing about the data is printed. Tracing is off by default and reads
//! `/proc` only on Linux.

use std::sync::OnceLock;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

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

/// Run `f` and trace its time under `name` (for sub-phases that are not recorded).
pub fn traced<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    phase(name, t.elapsed().as_secs_f64());
    out
}

/// A spinner on a terminal; nothing when stderr is not a terminal or `--quiet`.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    pub fn new(quiet: bool) -> Self {
        if quiet {
            return Progress(None);
        }
        let bar = ProgressBar::new_spinner();
        if bar.is_hidden() {
            return Progress(None);
        }
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}").expect("template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress(Some(bar))
    }

    pub fn message(&self, text: &str) {
        if let Some(b) = &self.0 {
            b.set_message(text.to_string());
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// Seconds per phase, in order, for `summary.json`; each phase is traced and shown on the
/// progress spinner as it starts.
pub struct Phases {
    laps: Vec<(&'static str, f64)>,
    progress: Progress,
    started: Instant,
    /// Start of the current lap (see [`Phases::lap`]).
    lap_start: Instant,
}

impl Phases {
    pub fn new(quiet: bool) -> Self {
        let now = Instant::now();
        Phases {
            laps: Vec::new(),
            progress: Progress::new(quiet),
            started: now,
            lap_start: now,
        }
    }

    /// Run one phase and record its time.
    pub fn run<T>(&mut self, name: &'static str, f: impl FnOnce() -> T) -> T {
        self.progress.message(name);
        let t = Instant::now();
        let out = f();
        self.record(name, t.elapsed().as_secs_f64());
        self.lap_start = Instant::now();
        out
    }

    /// Show a phase on the spinner without recording it (a step inside a recorded lap).
    pub fn show(&self, text: &str) {
        self.progress.message(text);
    }

    /// Record the time since the previous lap (or phase) under `name`.
    pub fn lap(&mut self, name: &'static str) {
        let secs = self.lap_start.elapsed().as_secs_f64();
        self.record(name, secs);
        self.lap_start = Instant::now();
    }

    fn record(&mut self, name: &'static str, secs: f64) {
        phase(name, secs);
        self.laps.push((name, secs));
    }

    /// Record the whole run's time as `total`, clear the spinner, and give every lap.
    pub fn finish(mut self) -> Vec<(&'static str, f64)> {
        let total = self.started.elapsed().as_secs_f64();
        self.laps.push(("total", total));
        self.progress.finish();
        self.laps
    }
}
