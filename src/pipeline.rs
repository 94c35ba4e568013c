//! The one place that orders the phases of `check`: read → prepare → rules → matching →
//! outputs. Data flows one way, as Arrow-backed tables and findings.

use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::dates::PDate;
use crate::error::{Error, Result};
use crate::matching::{self, MatchResult};
use crate::output::Staging;
use crate::read::{read_source, Warnings};
use crate::report;
use crate::rules::{run_rules, CheckInput, Finding, Prepared};
use crate::schema::SourceKind;
use crate::table::Table;

/// Everything `check` needs, parsed from the command line.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub residents: Vec<PathBuf>,
    pub vaccination: Option<PathBuf>,
    pub insurance: Option<PathBuf>,
    pub extracts: Vec<(String, PathBuf)>,
    pub cmnd_map: Option<PathBuf>,
    pub deaths: Option<PathBuf>,
    pub province: Option<String>,
    pub as_of: PDate,
    pub config: Config,
    pub out: PathBuf,
    pub quiet: bool,
    pub group_readable: bool,
    /// A former run's output directory to compare with.
    pub previous: Option<PathBuf>,
}

/// What a finished run hands back to the caller (the printed summary is built from it).
pub struct CheckOutcome {
    pub summary: serde_json::Value,
    /// Configured thresholds this run exceeded (the binary exits with code 3).
    pub breached: Vec<String>,
}

/// Seconds spent in each phase, in order.
#[derive(Default)]
pub struct Timings(pub Vec<(&'static str, f64)>);

impl Timings {
    fn time<T>(&mut self, phase: &'static str, progress: &Progress, f: impl FnOnce() -> T) -> T {
        progress.phase(phase);
        let t = Instant::now();
        let out = f();
        let secs = t.elapsed().as_secs_f64();
        crate::trace::phase(phase, secs);
        self.0.push((phase, secs));
        out
    }
}

/// A spinner per phase on a terminal; nothing when stderr is not a terminal or `--quiet`.
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

    pub fn phase(&self, name: &str) {
        if let Some(b) = &self.0 {
            b.set_message(name.to_string());
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

fn validate(opts: &CheckOptions) -> Result<()> {
    if opts.residents.is_empty() {
        return Err(Error::usage("check needs at least one --residents FILE"));
    }
    let reserved = ["residents", "vaccination", "insurance"];
    for (name, _) in &opts.extracts {
        if name.is_empty() || reserved.contains(&name.as_str()) {
            return Err(Error::usage(format!(
                "--extract NAME=FILE: \"{name}\" cannot be used as an extract name"
            )));
        }
        if opts.extracts.iter().filter(|(n, _)| n == name).count() > 1 {
            return Err(Error::usage(format!("--extract {name} is given twice")));
        }
    }
    if let Some(p) = &opts.province {
        if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::usage(format!(
                "--province takes a 2-digit province code, not \"{p}\""
            )));
        }
    }
    Ok(())
}

/// Read every input: the sources (residents first) and the reference inputs.
fn read_all(
    opts: &CheckOptions,
    warnings: &mut Warnings,
) -> Result<(Vec<Table>, Option<Table>, Option<Table>)> {
    let mut jobs: Vec<(String, SourceKind, Vec<PathBuf>)> = vec![(
        "residents".into(),
        SourceKind::Residents,
        opts.residents.clone(),
    )];
    if let Some(p) = &opts.vaccination {
        jobs.push((
            "vaccination".into(),
            SourceKind::Vaccination,
            vec![p.clone()],
        ));
    }
    if let Some(p) = &opts.insurance {
        jobs.push(("insurance".into(), SourceKind::Insurance, vec![p.clone()]));
    }
    for (name, p) in &opts.extracts {
        jobs.push((name.clone(), SourceKind::Extract, vec![p.clone()]));
    }
    if let Some(p) = &opts.cmnd_map {
        jobs.push(("cmnd_map".into(), SourceKind::CmndMap, vec![p.clone()]));
    }
    if let Some(p) = &opts.deaths {
        jobs.push(("deaths".into(), SourceKind::Deaths, vec![p.clone()]));
    }
    use rayon::prelude::*;
    let results: Vec<(Result<Table>, Warnings)> = jobs
        .par_iter()
        .map(|(name, kind, paths)| {
            let mut w = Warnings::new();
            (read_source(name, *kind, paths, &opts.config, &mut w), w)
        })
        .collect();
    let mut sources = Vec::new();
    let (mut cmnd_map, mut deaths) = (None, None);
    for (r, w) in results {
        warnings.extend(w);
        let t = r?;
        match t.kind {
            SourceKind::CmndMap => cmnd_map = Some(t),
            SourceKind::Deaths => deaths = Some(t),
            _ => sources.push(t),
        }
    }
    Ok((sources, cmnd_map, deaths))
}

/// Run `check`: every phase, every output, atomically.
pub fn check(opts: &CheckOptions) -> Result<CheckOutcome> {
    validate(opts)?;
    let previous = opts
        .previous
        .as_deref()
        .map(crate::nightly::load_previous)
        .transpose()?;
    let started = Instant::now();
    let progress = Progress::new(opts.quiet);
    let mut timings = Timings::default();
    let mut warnings = Warnings::new();

    let (tables, cmnd_map, deaths) =
        timings.time("read", &progress, || read_all(opts, &mut warnings))?;
    for t in &tables {
        if !t.col("personal_id").is_present() {
            warnings.push(format!(
                "{}: there is no personal_id column; ID rules are skipped for it",
                t.name
            ));
        }
    }
    let prepared: Vec<Prepared> = timings.time("prepare", &progress, || {
        tables.iter().map(Prepared::new).collect()
    });
    let input = CheckInput::new(
        &tables,
        &prepared,
        cmnd_map.as_ref(),
        deaths.as_ref(),
        opts.as_of,
        &opts.config,
        opts.province.as_deref(),
    );
    let mut findings: Vec<Finding> = timings.time("rules", &progress, || run_rules(&input));
    let mut matches: MatchResult =
        timings.time("matching", &progress, || matching::run(&input, &findings));
    if let Some(prev) = &previous {
        keep_cluster_ids(&input, &mut matches, prev);
    }
    timings.0.extend(matches.timings.iter().copied());
    findings.extend(matches.findings.iter().cloned());
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));

    let view = report::View::new(
        &input,
        findings,
        &matches,
        opts.province.as_deref(),
        previous.as_ref(),
    );
    let staging = Staging::new(&opts.out, opts.group_readable)?;
    timings.time("outputs", &progress, || {
        report::write_tables(&staging, &view)
    })?;
    timings.time("fixlists", &progress, || {
        report::write_fixlists(&staging, &view)
    })?;
    timings.0.push(("total", started.elapsed().as_secs_f64()));
    let mut summary = report::summary(&view, &warnings, &timings, opts);
    let breached = crate::nightly::breached(&opts.config.thresholds, &summary["rule_stats"]);
    summary["thresholds_breached"] = serde_json::json!(breached);
    let text = serde_json::to_string_pretty(&summary).map_err(Error::internal)?;
    staging.write_bytes("summary.json", text.as_bytes())?;
    let probabilities: Vec<f64> = view.pairs.iter().map(|p| p.probability).collect();
    staging.write_bytes(
        "report.html",
        crate::html::render(&summary, &probabilities).as_bytes(),
    )?;
    staging.commit()?;
    progress.finish();
    Ok(CheckOutcome { summary, breached })
}

/// Give this run's duplicate clusters the previous run's IDs where their members are unchanged.
fn keep_cluster_ids(
    input: &CheckInput,
    matches: &mut MatchResult,
    previous: &crate::nightly::Previous,
) {
    let name = |r: crate::rules::RowRef| {
        let t = &input.tables[r.source as usize];
        (
            t.name.clone(),
            t.col("record_id").get(r.row as usize).to_string(),
        )
    };
    let mut current: std::collections::BTreeMap<u32, Vec<(String, String)>> = Default::default();
    for m in &matches.clusters {
        current.entry(m.cluster).or_default().push(name(m.at));
    }
    for v in current.values_mut() {
        v.sort();
    }
    let map = crate::nightly::stable_cluster_ids(&current, previous);
    for m in &mut matches.clusters {
        m.cluster = map[&m.cluster];
    }
    for p in &mut matches.pairs {
        if let Some(n) = map.get(&p.cluster) {
            p.cluster = *n;
        }
    }
}
