//! Nightly runs: what changed since the previous run (`check --previous DIR`), stable
//! duplicate-cluster IDs, thresholds a scheduler can act on (exit code 3), and the trend of
//! the indicator groups over a series of runs (`lamsach history`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::read::read_plain;

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
    pub summary: Option<Value>,
}

fn need(dir: &Path, rel: &str) -> Result<crate::table::Table> {
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
    let summary = std::fs::read(dir.join("summary.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    Ok(Previous {
        dir: dir.to_path_buf(),
        findings,
        keys,
        clusters,
        summary,
    })
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

/// One threshold of the config's `[[thresholds]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// A rule code, or a group (`dung`, `du`, `sach`, `song`), or `*` for every finding.
    pub rule: String,
    /// At most this many findings.
    pub max_findings: Option<u64>,
    /// At most this percentage of the records evaluated.
    pub max_percent: Option<f64>,
    /// At most this many new findings since `--previous`.
    pub max_new: Option<u64>,
}

/// Check the thresholds against the summary's per-rule statistics; the breached ones, as
/// sentences for the summary and the scheduler's log.
pub fn breached(thresholds: &[Threshold], stats: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for t in thresholds {
        let rows: Vec<&Value> = match stats.as_object() {
            Some(m) => m
                .iter()
                .filter(|(code, v)| {
                    t.rule == "*" || **code == t.rule || v["group"] == t.rule.as_str()
                })
                .map(|(_, v)| v)
                .collect(),
            None => Vec::new(),
        };
        let findings: u64 = rows
            .iter()
            .map(|v| v["findings"].as_u64().unwrap_or(0))
            .sum();
        let new: u64 = rows.iter().map(|v| v["new"].as_u64().unwrap_or(0)).sum();
        let evaluated: u64 = rows
            .iter()
            .map(|v| v["records_evaluated"].as_u64().unwrap_or(0))
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
    let mut runs: Vec<(String, Value)> = Vec::new();
    for d in dirs {
        let path = d.join("summary.json");
        let bytes = std::fs::read(&path).map_err(|_| {
            Error::input(
                &path,
                "there is no summary.json: not a lamsach run directory",
            )
        })?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|_| Error::input(&path, "summary.json cannot be read"))?;
        let label = v["as_of"].as_str().unwrap_or("").to_string();
        runs.push((label, v));
    }
    runs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    for (_, v) in &runs {
        for i in v["indicators"].as_array().into_iter().flatten() {
            let key = i["key"].as_str().unwrap_or("").to_string();
            if seen.insert(key.clone()) {
                labels.push((key, i["label"].as_str().unwrap_or("").to_string()));
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
            let n = v["indicators"]
                .as_array()
                .and_then(|a| a.iter().find(|i| i["key"] == key.as_str()))
                .and_then(|i| i["records"].as_u64());
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
        let _ = write!(s, " {:>12}", v["findings_total"].as_u64().unwrap_or(0));
    }
    s.push('\n');
    Ok(s)
}

/// Per-indicator counts of the previous run's summary (for the comparison chart).
pub fn previous_indicators(previous: &Previous) -> Value {
    let mut m = serde_json::Map::new();
    if let Some(s) = &previous.summary {
        for i in s["indicators"].as_array().into_iter().flatten() {
            if let Some(k) = i["key"].as_str() {
                m.insert(k.to_string(), json!(i["records"].as_u64().unwrap_or(0)));
            }
        }
    }
    Value::Object(m)
}
