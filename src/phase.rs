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

/// Fields of this process's status in MB (`VmRSS:`, `VmHWM:`, …), when the OS tells.
fn status_mb<const N: usize>(names: [&str; N]) -> Option<[u64; N]> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let mut out = [0; N];
    for (o, name) in out.iter_mut().zip(names) {
        *o = crate::machine::kb_field(&status, name)? / 1024;
    }
    Some(out)
}

/// The memory figures of a trace line: resident and peak, and the process's own memory
/// (anonymous pages: resident memory less the pages of mapped files, such as inputs held on
/// disk, which the kernel can drop and read again); empty when the OS does not tell.
fn memory_figures() -> String {
    match status_mb(["VmRSS:", "VmHWM:", "RssAnon:"]) {
        Some([rss, peak, own]) => {
            format!("  rss {rss:>6} MB  peak {peak:>6} MB  own {own:>6} MB")
        }
        None => String::new(),
    }
}

/// Print one phase line when tracing is on.
pub fn phase(name: &str, seconds: f64) {
    if enabled() {
        eprintln!("trace {name:<22} {seconds:>8.2} s{}", memory_figures());
    }
}

/// A line of the trace that is not a phase (what a run decided), with the memory figures.
pub fn note(text: &str) {
    if enabled() {
        eprintln!("trace {text}{}", memory_figures());
    }
}

/// Run `f` and trace its time under `name` (for sub-phases that are not recorded).
pub fn traced<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    phase(name, t.elapsed().as_secs_f64());
    out
}

/// 1050000 → "1 050 000" (Vietnamese groups thousands with a space or a dot).
pub fn group_digits(n: usize) -> String {
    let d = n.to_string();
    let mut out = String::with_capacity(d.len() + d.len() / 3);
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
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

/// A driver's steps as people read them: the phase names each covers (by prefix), a
/// Vietnamese label, and the share of a run's time it usually takes (for the estimate of the
/// time left).
pub type Steps = &'static [(&'static str, &'static str, f64)];

/// The steps of `check` (shares measured at 1 M people, docs/BENCHMARKS.md).
pub const CHECK_STEPS: Steps = &[
    ("read", "đọc dữ liệu", 0.07),
    ("prepare", "chuẩn bị", 0.02),
    ("rules", "kiểm tra quy tắc", 0.18),
    ("matching", "ghép trùng, liên kết", 0.30),
    ("outputs", "ghi kết quả và danh sách từng xã", 0.43),
];

/// Seconds per phase, in order, for `summary.json`; each phase is traced and shown on the
/// progress spinner as it starts ("bước 3/5 · kiểm tra quy tắc · 1 050 000 bản ghi · còn
/// khoảng 8 giây" when the driver declared its steps).
pub struct Phases {
    laps: Vec<(&'static str, f64)>,
    steps: Steps,
    /// Input rows, once read.
    rows: Option<usize>,
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
            steps: &[],
            rows: None,
            progress: Progress::new(quiet),
            started: now,
            lap_start: now,
        }
    }

    /// Declare the driver's steps, shown as "bước n/N" with the time left.
    pub fn with_steps(mut self, steps: Steps) -> Self {
        self.steps = steps;
        self
    }

    /// The number of input rows, shown beside the step.
    pub fn set_rows(&mut self, rows: usize) {
        self.rows = Some(rows);
    }

    /// What the spinner shows as phase `name` starts.
    fn message(&self, name: &str) -> String {
        let Some(i) = self.steps.iter().position(|s| name.starts_with(s.0)) else {
            return name.to_string();
        };
        let mut m = format!("bước {}/{} · {}", i + 1, self.steps.len(), self.steps[i].1);
        if let Some(rows) = self.rows {
            m.push_str(&format!(" · {} bản ghi", group_digits(rows)));
        }
        let done: f64 = self.steps[..i].iter().map(|s| s.2).sum();
        let elapsed = self.started.elapsed().as_secs_f64();
        if done >= 0.05 && elapsed >= 1.0 {
            let left = (elapsed / done - elapsed).max(0.0).round() as u64;
            m.push_str(&format!(" · còn khoảng {left} giây"));
        }
        m
    }

    /// Run one phase and record its time.
    pub fn run<T>(&mut self, name: &'static str, f: impl FnOnce() -> T) -> T {
        let message = self.message(name);
        self.progress.message(&message);
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
        crate::machine::release_freed();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_as_people_read_them() {
        assert_eq!(group_digits(1_050_000), "1 050 000");
        assert_eq!(group_digits(999), "999");
        let mut p = Phases::new(true).with_steps(CHECK_STEPS);
        p.set_rows(1_050_000);
        assert_eq!(
            p.message("rules"),
            "bước 3/5 · kiểm tra quy tắc · 1 050 000 bản ghi"
        );
        assert!(p
            .message("matching.blocking")
            .starts_with("bước 4/5 · ghép trùng"));
        assert_eq!(p.message("something else"), "something else");
    }
}
