//! Nightly runs: what changed since the previous run (`check --previous DIR`), stable
//! duplicate-cluster IDs, thresholds a scheduler can act on (exit code 3), and the trend of
//! the indicator groups over a series of runs (`lamsach history`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::config::Threshold;
use crate::core::{CheckInput, Column, RowRef, Table};
use crate::error::{Error, Result};
use crate::matching::model::Model;
use crate::matching::saved::ModelFile;
use crate::matching::MatchResult;
use crate::read::read_plain;
use crate::summary::{RuleStat, Summary};

/// The key that identifies a finding across runs.
pub type FindingKey = (String, String, String, String);

/// A finding of the previous run, as its findings.parquet holds it.
#[derive(Debug, Clone)]
pub struct PreviousFinding {
    pub key: FindingKey,
    pub province_code: String,
    pub commune_code: String,
    pub group: String,
    pub value: String,
}

/// What the previous run left that this one compares with.
#[derive(Debug, Default)]
pub struct Previous {
    pub dir: PathBuf,
    pub findings: Vec<PreviousFinding>,
    pub keys: HashSet<FindingKey>,
    /// Cluster id (number) → its members (source, record_id), sorted.
    pub clusters: BTreeMap<u32, Vec<(String, String)>>,
    pub summary: Option<Summary>,
    /// The previous run's matching model (model.json), when it saved one that this lamsach
    /// can read.
    pub model: Option<crate::matching::model::Model>,
}

fn need(dir: &Path, rel: &str) -> Result<Table> {
    let path = dir.join(rel);
    if !path.exists() {
        return Err(Error::input(
            &path,
            "--previous names a directory without this lamsach output",
        ));
    }
    read_plain(&path, rel)
}

/// Read a former run's output directory.
pub fn load_previous(dir: &Path) -> Result<Previous> {
    if !dir.is_dir() {
        return Err(Error::input(
            dir,
            "--previous must name a former run's output directory",
        ));
    }
    let t = need(dir, "findings.parquet")?;
    let col = |n: &str| t.col(n);
    let (s, r, ru, f, p, c, g, v) = (
        col("source"),
        col("record_id"),
        col("rule"),
        col("field"),
        col("province_code"),
        col("commune_code"),
        col("group"),
        col("value"),
    );
    let mut findings = Vec::with_capacity(t.len());
    for i in 0..t.len() {
        findings.push(PreviousFinding {
            key: (
                s.raw(i).into(),
                r.raw(i).into(),
                ru.raw(i).into(),
                f.raw(i).into(),
            ),
            province_code: p.raw(i).into(),
            commune_code: c.raw(i).into(),
            group: g.raw(i).into(),
            value: v.raw(i).into(),
        });
    }
    let keys = findings.iter().map(|f| f.key.clone()).collect();
    let mut clusters: BTreeMap<u32, Vec<(String, String)>> = BTreeMap::new();
    if dir.join("clusters.parquet").exists() {
        let ct = need(dir, "clusters.parquet")?;
        let (s, r, id) = (ct.col("source"), ct.col("record_id"), ct.col("cluster_id"));
        for i in 0..ct.len() {
            if let Some(n) = id.raw(i).strip_prefix('C').and_then(|n| n.parse().ok()) {
                clusters
                    .entry(n)
                    .or_default()
                    .push((s.raw(i).into(), r.raw(i).into()));
            }
        }
        for m in clusters.values_mut() {
            m.sort();
        }
    }
    let summary = Summary::read(&dir.join("summary.json")).ok();
    let model = crate::matching::saved::ModelFile::read(&dir.join("model.json"))
        .ok()
        .and_then(|f| f.model().ok());
    Ok(Previous {
        dir: dir.to_path_buf(),
        findings,
        keys,
        clusters,
        summary,
        model,
    })
}

/// The previous run's findings that no longer fire: those not among this run's (`now`), of a
/// source this run checked (a source left out of it, a file not delivered tonight, resolves
/// nothing), in the province viewed.
pub fn resolved<'p>(
    previous: &'p Previous,
    now: &HashSet<FindingKey>,
    sources: &HashSet<&str>,
    province: Option<&str>,
) -> Vec<&'p PreviousFinding> {
    previous
        .findings
        .iter()
        .filter(|p| !now.contains(&p.key))
        .filter(|p| sources.contains(p.key.0.as_str()))
        .filter(|p| province.is_none_or(|code| p.province_code == code))
        .collect()
}

/// The model a run reuses, and where it comes from: the file of `--model`, else the previous
/// run's `model.json` unless `retrain`, else none (the run estimates one).
pub fn model_to_reuse(
    model: Option<&Path>,
    retrain: bool,
    previous: Option<&Previous>,
) -> Result<(Option<Model>, Option<String>)> {
    if let Some(path) = model {
        let model = ModelFile::read(path)?
            .model()
            .map_err(|why| Error::input(path, why))?;
        return Ok((Some(model), Some(path.display().to_string())));
    }
    if retrain {
        return Ok((None, None));
    }
    match previous.and_then(|p| p.model.clone().map(|m| (m, p.dir.join("model.json")))) {
        Some((model, path)) => Ok((Some(model), Some(path.display().to_string()))),
        None => Ok((None, None)),
    }
}

/// Give this run's duplicate clusters the previous run's IDs where their members are unchanged
/// (in `clusters` and in the pairs).
pub fn keep_cluster_ids(input: &CheckInput, matches: &mut MatchResult, previous: &Previous) {
    let name = |r: RowRef| {
        let t = &input.tables[r.source as usize];
        (
            t.name.clone(),
            input.cols[r.source as usize][Column::RecordId]
                .get(r.row as usize)
                .to_string(),
        )
    };
    let mut current: BTreeMap<u32, Vec<(String, String)>> = BTreeMap::new();
    for m in &matches.clusters {
        current.entry(m.cluster).or_default().push(name(m.at));
    }
    for v in current.values_mut() {
        v.sort();
    }
    let map = stable_cluster_ids(&current, previous);
    for m in &mut matches.clusters {
        m.cluster = map[&m.cluster];
    }
    for p in &mut matches.pairs {
        if let Some(n) = map.get(&p.cluster) {
            p.cluster = *n;
        }
    }
}

/// New numbers for this run's clusters: a cluster whose members are exactly those of a
/// previous cluster keeps its id; the others are numbered after the previous run's largest.
pub fn stable_cluster_ids(
    current: &BTreeMap<u32, Vec<(String, String)>>,
    previous: &Previous,
) -> HashMap<u32, u32> {
    let by_members: HashMap<&Vec<(String, String)>, u32> =
        previous.clusters.iter().map(|(id, m)| (m, *id)).collect();
    let mut next = previous.clusters.keys().max().copied().unwrap_or(0) + 1;
    let mut map = HashMap::new();
    for (id, members) in current {
        let new = match by_members.get(members) {
            Some(old) => *old,
            None => {
                next += 1;
                next - 1
            }
        };
        map.insert(*id, new);
    }
    map
}

// ------------------------------------------------------------------ thresholds

/// Check the thresholds against the summary's per-rule statistics; the breached ones, as
/// sentences for the summary and the scheduler's log.
pub fn breached(thresholds: &[Threshold], stats: &BTreeMap<String, RuleStat>) -> Vec<String> {
    let mut out = Vec::new();
    for t in thresholds {
        let rows: Vec<&RuleStat> = stats
            .iter()
            .filter(|(code, v)| t.rule == "*" || **code == t.rule || v.group == t.rule)
            .map(|(_, v)| v)
            .collect();
        let findings = rows.iter().map(|v| v.findings as u64).sum::<u64>();
        let new = rows.iter().map(|v| v.new as u64).sum::<u64>();
        let evaluated = rows
            .iter()
            .map(|v| v.records_evaluated as u64)
            .max()
            .unwrap_or(0);
        if let Some(max) = t.max_findings {
            if findings > max {
                out.push(format!("{}: {findings} findings, more than {max}", t.rule));
            }
        }
        if let Some(max) = t.max_percent {
            let pct = if evaluated == 0 {
                0.0
            } else {
                findings as f64 * 100.0 / evaluated as f64
            };
            if pct > max {
                out.push(format!(
                    "{}: {pct:.3}% of {evaluated} records, more than {max}%",
                    t.rule
                ));
            }
        }
        if let Some(max) = t.max_new {
            if new > max {
                out.push(format!("{}: {new} new findings, more than {max}", t.rule));
            }
        }
    }
    out
}

// ------------------------------------------------------------------ history

/// The trend of each indicator group over a series of run directories, as a table.
pub fn history(dirs: &[PathBuf]) -> Result<String> {
    use std::fmt::Write;
    let mut runs: Vec<(String, Summary)> = Vec::new();
    for d in dirs {
        let v = Summary::read(&d.join("summary.json"))?;
        runs.push((v.as_of.clone(), v));
    }
    runs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    for (_, v) in &runs {
        for i in &v.indicators {
            if seen.insert(i.key.clone()) {
                labels.push((i.key.clone(), i.label.clone()));
            }
        }
    }
    let mut s = String::new();
    let _ = write!(s, "{:<48}", "Chỉ tiêu");
    for (as_of, _) in &runs {
        let _ = write!(s, " {as_of:>12}");
    }
    s.push('\n');
    for (key, label) in &labels {
        let _ = write!(s, "{label:<48}");
        for (_, v) in &runs {
            let n = v
                .indicators
                .iter()
                .find(|i| &i.key == key)
                .map(|i| i.records);
            let _ = write!(
                s,
                " {:>12}",
                n.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
            );
        }
        s.push('\n');
    }
    let _ = write!(s, "{:<48}", "Tổng số phát hiện");
    for (_, v) in &runs {
        let _ = write!(s, " {:>12}", v.findings_total);
    }
    s.push('\n');
    Ok(s)
}
