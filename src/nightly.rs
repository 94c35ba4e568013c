//! Nightly runs: what changed since the previous run (`check --previous DIR`), stable
//! duplicate-cluster IDs, thresholds a scheduler can act on (exit code 3), and the trend of
//! the indicator groups over a series of runs (`lamsach history`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::config::Threshold;
use crate::core::hash::{h64, mix};
use crate::core::{CheckInput, Col, Column, RowRef, Table};
use crate::error::{Error, Result};
use crate::matching::model::Model;
use crate::matching::saved::ModelFile;
use crate::matching::MatchResult;
use crate::read::read_columns;
use crate::summary::{RuleStat, Summary};

/// The key that identifies a finding across runs: its source, record_id, rule and field.
pub type FindingKey<'a> = [&'a str; 4];

/// A finding of the previous run, as its findings.parquet holds it.
#[derive(Debug, Clone, Copy)]
pub struct PreviousFinding<'a> {
    pub key: FindingKey<'a>,
    pub province_code: &'a str,
    pub commune_code: &'a str,
    pub group: &'a str,
    pub value: &'a str,
}

/// The columns of findings.parquet a night compares with, in [`PreviousFinding`]'s order.
const COMPARED: [&str; 8] = [
    "source",
    "record_id",
    "rule",
    "field",
    "province_code",
    "commune_code",
    "group",
    "value",
];

/// What the previous run left that this one compares with.
#[derive(Debug)]
pub struct Previous {
    pub dir: PathBuf,
    /// Its findings: the columns of findings.parquet a night compares with, as read (a
    /// dictionary-encoded column stays so): ~100 bytes a finding, where a finding held as
    /// strings took ~800.
    findings: Table,
    /// Its findings' rows by key.
    index: KeyIndex,
    /// Cluster id (number) → its members (source, record_id), sorted.
    pub clusters: BTreeMap<u32, Vec<(String, String)>>,
    pub summary: Option<Summary>,
    /// The previous run's matching model (model.json), when it saved one that this lamsach
    /// can read.
    pub model: Option<crate::matching::model::Model>,
}

impl Previous {
    /// How many findings the previous run had.
    pub fn len(&self) -> usize {
        self.findings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.findings.len() == 0
    }

    fn cols(&self) -> [Col<'_>; 8] {
        COMPARED.map(|c| self.findings.col(c))
    }

    /// The previous run's findings, in its order.
    pub fn findings(&self) -> impl Iterator<Item = PreviousFinding<'_>> + '_ {
        let c = self.cols();
        (0..self.len()).map(move |i| PreviousFinding {
            key: key_at(&c, i),
            province_code: c[4].raw(i),
            commune_code: c[5].raw(i),
            group: c[6].raw(i),
            value: c[7].raw(i),
        })
    }

    /// Whether the previous run had a finding of each key asked: one `Lookup` serves many.
    pub fn lookup(&self) -> Lookup<'_> {
        let c = self.cols();
        Lookup {
            cols: [c[0], c[1], c[2], c[3]],
            index: &self.index,
        }
    }
}

/// The key of row `i` of findings.parquet's columns `c` (in [`COMPARED`]'s order).
fn key_at<'a>(c: &[Col<'a>], i: usize) -> FindingKey<'a> {
    [c[0].raw(i), c[1].raw(i), c[2].raw(i), c[3].raw(i)]
}

/// Finds keys among the previous run's findings ([`Previous::lookup`]).
pub struct Lookup<'a> {
    cols: [Col<'a>; 4],
    index: &'a KeyIndex,
}

impl Lookup<'_> {
    pub fn has(&self, key: &FindingKey) -> bool {
        self.index.contains(key, |i| key_at(&self.cols, i))
    }
}

/// An exact index of finding keys by their hash: the rows sharing a hash are chained, and a
/// look-up compares the text of those rows, so a collision cannot mistake one finding for
/// another. ~16 bytes a row, where a set of the keys as strings took ~300.
#[derive(Debug, Default)]
pub struct KeyIndex {
    first: HashMap<u64, u32>,
    next: Vec<u32>,
}

const END: u32 = u32::MAX;

fn key_hash(k: &FindingKey) -> u64 {
    mix(&[h64(k[0]), h64(k[1]), h64(k[2]), h64(k[3])])
}

impl KeyIndex {
    /// The index of rows `0..rows`, `key` giving a row's key.
    pub fn new<'k>(rows: usize, key: impl Fn(usize) -> FindingKey<'k>) -> KeyIndex {
        let mut first = HashMap::with_capacity(rows);
        let mut next = vec![END; rows];
        for (i, slot) in next.iter_mut().enumerate().rev() {
            if let Some(later) = first.insert(key_hash(&key(i)), i as u32) {
                *slot = later;
            }
        }
        KeyIndex { first, next }
    }

    /// Whether a row has the key `k` (`key` as given to [`KeyIndex::new`]).
    pub fn contains<'k>(&self, k: &FindingKey, key: impl Fn(usize) -> FindingKey<'k>) -> bool {
        let mut at = self.first.get(&key_hash(k)).copied().unwrap_or(END);
        while at != END {
            if key(at as usize) == *k {
                return true;
            }
            at = self.next[at as usize];
        }
        false
    }
}

/// The columns `wanted` accepts of the output `rel` of the former run in `dir`.
fn need(dir: &Path, rel: &str, wanted: &dyn Fn(&str) -> bool) -> Result<Table> {
    let path = dir.join(rel);
    if !path.exists() {
        return Err(Error::input(
            &path,
            "--previous names a directory without this lamsach output",
        ));
    }
    read_columns(&path, rel, wanted)
}

/// Read a former run's output directory.
pub fn load_previous(dir: &Path) -> Result<Previous> {
    if !dir.is_dir() {
        return Err(Error::input(
            dir,
            "--previous must name a former run's output directory",
        ));
    }
    let findings = need(dir, "findings.parquet", &|h| COMPARED.contains(&h))?;
    let index = {
        let c = COMPARED.map(|n| findings.col(n));
        KeyIndex::new(findings.len(), |i| key_at(&c, i))
    };
    let mut clusters: BTreeMap<u32, Vec<(String, String)>> = BTreeMap::new();
    if dir.join("clusters.parquet").exists() {
        let ct = need(dir, "clusters.parquet", &|h| {
            matches!(h, "source" | "record_id" | "cluster_id")
        })?;
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
    let model = saved_model(dir);
    Ok(Previous {
        dir: dir.to_path_buf(),
        findings,
        index,
        clusters,
        summary,
        model,
    })
}

/// The previous run's findings that no longer fire: those whose key does not fire now
/// (`fires_now`), of a source this run checked (a source left out of it, a file not delivered
/// tonight, resolves nothing), in the province viewed.
pub fn resolved<'p>(
    previous: &'p Previous,
    fires_now: impl Fn(&FindingKey) -> bool,
    sources: &HashSet<&str>,
    province: Option<&str>,
) -> Vec<PreviousFinding<'p>> {
    previous
        .findings()
        .filter(|p| sources.contains(p.key[0]))
        .filter(|p| province.is_none_or(|code| p.province_code == code))
        .filter(|p| !fires_now(&p.key))
        .collect()
}

/// The matching model a run saved in its output directory `dir` (model.json), when it saved
/// one that this lamsach can read.
pub fn saved_model(dir: &Path) -> Option<Model> {
    ModelFile::read(&dir.join("model.json"))
        .ok()
        .and_then(|f| f.model().ok())
}

/// A warning when the previous run saved a model this lamsach cannot read (one saved by a
/// version that compared fields at other levels): the run estimates its own instead.
pub fn unreadable_model_warning(previous: &Previous) -> Option<String> {
    (previous.model.is_none() && previous.dir.join("model.json").is_file())
        .then(|| UNREADABLE_MODEL.to_string())
}

/// [`unreadable_model_warning`] for the previous run in `dir`, whose model.json is read here
/// (the distributed driver holds no [`Previous`] when it trains).
pub fn unreadable_model_warning_in(dir: &Path) -> Option<String> {
    (dir.join("model.json").is_file() && saved_model(dir).is_none())
        .then(|| UNREADABLE_MODEL.to_string())
}

const UNREADABLE_MODEL: &str = "the previous run's model.json was not reused: it was saved by another version of lamsach, which compared fields at other levels; a new model was estimated from tonight's records";

/// The model a run reuses, and where it comes from: the file of `--model`, else the previous
/// run's `model.json` (`previous`: its directory and the model it saved) unless `retrain`,
/// else none (the run estimates one).
pub fn model_to_reuse(
    model: Option<&Path>,
    retrain: bool,
    previous: Option<(&Path, &Model)>,
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
    Ok(match previous {
        Some((dir, model)) => (
            Some(model.clone()),
            Some(dir.join("model.json").display().to_string()),
        ),
        None => (None, None),
    })
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
                n.map(crate::phase::group_digits)
                    .unwrap_or_else(|| "-".into())
            );
        }
        s.push('\n');
    }
    let _ = write!(s, "{:<48}", "Tổng số phát hiện");
    for (_, v) in &runs {
        let _ = write!(s, " {:>12}", crate::phase::group_digits(v.findings_total));
    }
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_index_finds_exactly_the_keys_it_holds() {
        // One record with two findings of one rule and field (two related records) shares its
        // key, and its hash, with itself: both rows are chained under one hash.
        let keys: Vec<FindingKey> = vec![
            ["residents", "R1", "dup.in_province", "full_name"],
            ["residents", "R1", "dup.in_province", "full_name"],
            ["residents", "R2", "id.format", "personal_id"],
            ["vaccination", "R1", "id.format", "personal_id"],
            ["residents", "", "field.missing", ""],
        ];
        let index = KeyIndex::new(keys.len(), |i| keys[i]);
        for k in &keys {
            assert!(index.contains(k, |i| keys[i]), "{k:?} not found");
        }
        // A key differing in one part only, or split differently across parts, is not held.
        for absent in [
            ["residents", "R2", "id.format", "full_name"],
            ["insurance", "R1", "dup.in_province", "full_name"],
            ["residents", "R1", "dup.in_provincefull_name", ""],
            ["", "", "", ""],
        ] {
            assert!(!index.contains(&absent, |i| keys[i]), "{absent:?} found");
        }
        // Every row of a shared hash is reachable: the chain starts at the first row.
        let chained = KeyIndex::new(2, |i| keys[i]);
        assert_eq!(chained.first.len(), 1);
        assert_eq!(chained.next, vec![1, END]);
    }
}
