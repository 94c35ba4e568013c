//! `lamsach eval --run DIR --truth DIR`: per-rule precision, recall and F1 of findings
//! against the injected defects, pairwise precision, recall and F1 of duplicate pairs
//! against the true entities, and the accuracy of suggested links.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use crate::core::Rule;
use crate::error::{Error, Result};
use crate::read::read_plain;

/// Counts and scores of one comparison.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Score {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Score {
    /// Scores from counts. With nothing predicted and nothing expected, all scores are 1.
    pub fn from_counts(tp: usize, fp: usize, fn_: usize) -> Self {
        let ratio = |num: usize, den: usize| {
            if den == 0 {
                1.0
            } else {
                num as f64 / den as f64
            }
        };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Score {
            true_positives: tp,
            false_positives: fp,
            false_negatives: fn_,
            precision,
            recall,
            f1,
        }
    }

    /// Score a predicted set against a true set.
    pub fn of_sets<T: Eq + std::hash::Hash>(predicted: &HashSet<T>, truth: &HashSet<T>) -> Self {
        let tp = predicted.intersection(truth).count();
        Score::from_counts(tp, predicted.len() - tp, truth.len() - tp)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub rules: BTreeMap<String, Score>,
    /// Pairs of duplicates.parquet against the pairs of records of one person.
    pub duplicates: Score,
    /// Every pair of records within one cluster of clusters.parquet, against the same.
    pub cluster_pairs: Score,
    /// The share of true duplicate pairs that some blocking pass proposes (the ceiling of the
    /// duplicates' recall), when the residents file is beside the truth.
    pub blocking_recall: Option<f64>,
    pub links: Score,
    /// Reported pairs of two different people of one household born on one day (twins),
    /// when the generated residents file is beside the truth.
    pub twin_pairs_reported: Option<usize>,
}

type Key = (String, String);

fn column<'a>(t: &'a crate::core::Table, name: &str, path: &Path) -> Result<crate::core::Col<'a>> {
    let c = t.col(name);
    if !c.is_present() {
        return Err(Error::input(
            path,
            format!("the file has no column {name}; is this a lamsach output?"),
        ));
    }
    Ok(c)
}

fn load(dir: &Path, rel: &str) -> Result<(crate::core::Table, std::path::PathBuf)> {
    let path = dir.join(rel);
    if !path.exists() {
        return Err(Error::input(&path, "the file does not exist"));
    }
    Ok((read_plain(&path, rel)?, path))
}

/// Score a `check` output directory against a `generate` truth directory.
pub fn evaluate(run: &Path, truth: &Path) -> Result<EvalReport> {
    let truth_dir = if truth.join("truth").is_dir() {
        truth.join("truth")
    } else {
        truth.to_path_buf()
    };
    let (findings, fpath) = load(run, "findings.parquet")?;
    let (defects, dpath) = load(&truth_dir, "defects.parquet")?;
    let (entities, epath) = load(&truth_dir, "entities.parquet")?;
    let (dups, dup_path) = load(run, "duplicates.parquet")?;
    let (links, lpath) = load(run, "links.parquet")?;

    let mut predicted: HashMap<&str, HashSet<Key>> = HashMap::new();
    let (fs, fr, fu) = (
        column(&findings, "source", &fpath)?,
        column(&findings, "record_id", &fpath)?,
        column(&findings, "rule", &fpath)?,
    );
    for r in 0..findings.len() {
        predicted
            .entry(fu.get(r))
            .or_default()
            .insert((fs.get(r).to_string(), fr.get(r).to_string()));
    }
    let mut expected: HashMap<&str, HashSet<Key>> = HashMap::new();
    let (ds, dr, du) = (
        column(&defects, "source", &dpath)?,
        column(&defects, "record_id", &dpath)?,
        column(&defects, "rule", &dpath)?,
    );
    for r in 0..defects.len() {
        expected
            .entry(du.get(r))
            .or_default()
            .insert((ds.get(r).to_string(), dr.get(r).to_string()));
    }
    // Rules the run did not check (off by default, or without their input): not scored.
    let unchecked: HashSet<String> = std::fs::read(run.join("summary.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| {
            v["rule_stats"].as_object().map(|rules| {
                rules
                    .iter()
                    .filter(|(_, s)| s["records_evaluated"].as_u64() == Some(0))
                    .map(|(code, _)| code.clone())
                    .collect()
            })
        })
        .unwrap_or_default();
    let empty = HashSet::new();
    let mut rules = BTreeMap::new();
    for rule in Rule::ALL {
        let p = predicted.get(rule.code()).unwrap_or(&empty);
        let t = expected.get(rule.code()).unwrap_or(&empty);
        if (p.is_empty() && t.is_empty()) || unchecked.contains(rule.code()) {
            continue;
        }
        rules.insert(rule.code().to_string(), Score::of_sets(p, t));
    }

    // Entities: the person behind every row.
    let (es, er, ee) = (
        column(&entities, "source", &epath)?,
        column(&entities, "record_id", &epath)?,
        column(&entities, "entity_id", &epath)?,
    );
    let mut entity_of: HashMap<(&str, &str), &str> = HashMap::with_capacity(entities.len());
    let mut members: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in 0..entities.len() {
        entity_of.insert((es.get(r), er.get(r)), ee.get(r));
        if es.get(r) == "residents" {
            members.entry(ee.get(r)).or_default().push(er.get(r));
        }
    }
    let pair = |a: &str, b: &str| {
        if a <= b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        }
    };
    let mut true_pairs: HashSet<(String, String)> = HashSet::new();
    for recs in members.values() {
        for (i, a) in recs.iter().enumerate() {
            for b in &recs[i + 1..] {
                true_pairs.insert(pair(a, b));
            }
        }
    }
    let (ra, sa, rb, sb) = (
        column(&dups, "record_id_a", &dup_path)?,
        column(&dups, "source_a", &dup_path)?,
        column(&dups, "record_id_b", &dup_path)?,
        column(&dups, "source_b", &dup_path)?,
    );
    let mut found_pairs: HashSet<(String, String)> = HashSet::new();
    for r in 0..dups.len() {
        if sa.get(r) == "residents" && sb.get(r) == "residents" {
            found_pairs.insert(pair(ra.get(r), rb.get(r)));
        }
    }
    let duplicates = Score::of_sets(&found_pairs, &true_pairs);
    let twin_pairs_reported = twins_reported(truth, &found_pairs, &true_pairs)?;
    let cluster_pairs = Score::of_sets(&clustered_pairs(run)?, &true_pairs);
    let blocking_recall = blocking_recall(truth, &true_pairs)?;

    let (ls, lr, lres) = (
        column(&links, "source", &lpath)?,
        column(&links, "record_id", &lpath)?,
        column(&links, "resident_record_id", &lpath)?,
    );
    let mut correct = 0;
    for r in 0..links.len() {
        let e1 = entity_of.get(&(ls.get(r), lr.get(r)));
        let e2 = entity_of.get(&("residents", lres.get(r)));
        if e1.is_some() && e1 == e2 {
            correct += 1;
        }
    }
    let owed = expected.get("link.suggested").map_or(0, HashSet::len);
    let links_score =
        Score::from_counts(correct, links.len() - correct, owed.saturating_sub(correct));
    Ok(EvalReport {
        rules,
        duplicates,
        cluster_pairs,
        blocking_recall,
        links: links_score,
        twin_pairs_reported,
    })
}

/// Every pair of resident records within one cluster of the run's clusters.parquet.
fn clustered_pairs(run: &Path) -> Result<HashSet<(String, String)>> {
    let (clusters, path) = load(run, "clusters.parquet")?;
    let (s, r, c) = (
        column(&clusters, "source", &path)?,
        column(&clusters, "record_id", &path)?,
        column(&clusters, "cluster_id", &path)?,
    );
    let mut members: HashMap<&str, Vec<&str>> = HashMap::new();
    for i in 0..clusters.len() {
        if s.get(i) == "residents" {
            members.entry(c.get(i)).or_default().push(r.get(i));
        }
    }
    let mut out = HashSet::new();
    for m in members.values() {
        for (i, a) in m.iter().enumerate() {
            for b in &m[i + 1..] {
                let (x, y) = if a <= b { (a, b) } else { (b, a) };
                out.insert((x.to_string(), y.to_string()));
            }
        }
    }
    Ok(out)
}

/// The share of true pairs that the deduplication passes propose, on the residents file beside
/// the truth (None when there is none).
fn blocking_recall(truth: &Path, true_pairs: &HashSet<(String, String)>) -> Result<Option<f64>> {
    use crate::core::{Column, Prepared, SourceKind};
    let path = truth.join("residents.parquet");
    if !path.exists() || true_pairs.is_empty() {
        return Ok(None);
    }
    let mut warnings = Vec::new();
    let config = crate::config::Config::default();
    let table = crate::read::read_source(
        "residents",
        SourceKind::Residents,
        &[path],
        &config,
        &mut warnings,
    )?;
    let prepared = Prepared::new(&table);
    let recs = crate::matching::features::features(&table, &prepared);
    let cands = crate::matching::blocking::candidates(&recs, config.matching.max_block_size);
    let rid = table.column(Column::RecordId);
    let proposed = cands
        .pairs
        .iter()
        .filter(|&&(a, b)| {
            let (x, y) = (rid.get(a as usize), rid.get(b as usize));
            let key = if x <= y { (x, y) } else { (y, x) };
            true_pairs.contains(&(key.0.to_string(), key.1.to_string()))
        })
        .count();
    Ok(Some(proposed as f64 / true_pairs.len() as f64))
}

fn twins_reported(
    truth: &Path,
    found: &HashSet<(String, String)>,
    true_pairs: &HashSet<(String, String)>,
) -> Result<Option<usize>> {
    let path = truth.join("residents.parquet");
    if !path.exists() {
        return Ok(None);
    }
    let residents = read_plain(&path, "residents")?;
    let (rid, hh, birth) = (
        residents.col("record_id"),
        residents.col("household_id"),
        residents.col("birth_date"),
    );
    let mut at: HashMap<&str, (&str, &str)> = HashMap::with_capacity(residents.len());
    for r in 0..residents.len() {
        at.insert(rid.get(r), (hh.get(r), birth.get(r)));
    }
    let n = found
        .iter()
        .filter(|p| !true_pairs.contains(*p))
        .filter(|(a, b)| match (at.get(a.as_str()), at.get(b.as_str())) {
            (Some(x), Some(y)) => !x.0.is_empty() && x == y,
            _ => false,
        })
        .count();
    Ok(Some(n))
}

/// The report as a table.
pub fn render(report: &EvalReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<26} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8}",
        "rule", "tp", "fp", "fn", "prec", "recall", "f1"
    );
    let mut line = |name: &str, sc: &Score| {
        let _ = writeln!(
            s,
            "{:<26} {:>9} {:>9} {:>9} {:>8.4} {:>8.4} {:>8.4}",
            name,
            sc.true_positives,
            sc.false_positives,
            sc.false_negatives,
            sc.precision,
            sc.recall,
            sc.f1
        );
    };
    for (rule, sc) in &report.rules {
        line(rule, sc);
    }
    line("duplicate pairs", &report.duplicates);
    line("pairs within clusters", &report.cluster_pairs);
    line("links", &report.links);
    if let Some(b) = report.blocking_recall {
        let _ = writeln!(s, "blocking recall (true pairs some pass proposes): {b:.4}");
    }
    if let Some(t) = report.twin_pairs_reported {
        let _ = writeln!(s, "twin pairs reported as duplicates: {t}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_on_a_hand_made_case() {
        // 8 predicted, 6 of them right, 10 expected.
        let s = Score::from_counts(6, 2, 4);
        assert!((s.precision - 0.75).abs() < 1e-12);
        assert!((s.recall - 0.6).abs() < 1e-12);
        assert!((s.f1 - 2.0 * 0.75 * 0.6 / 1.35).abs() < 1e-12);
        let p: HashSet<u32> = [1, 2, 3].into();
        let t: HashSet<u32> = [2, 3, 4, 5].into();
        let s = Score::of_sets(&p, &t);
        assert_eq!(
            (s.true_positives, s.false_positives, s.false_negatives),
            (2, 1, 2)
        );
        assert_eq!(Score::from_counts(0, 0, 0).f1, 1.0);
        assert_eq!(Score::from_counts(0, 3, 0).f1, 0.0);
    }
}
