//! The typed summary of a run (`summary.json`): written once by the drivers, read by the HTML
//! report, the printed summary, the nightly comparison, the thresholds and `history`.
//!
//! `summary.json` keeps its documented shape (docs/outputs.md): objects' keys are written in
//! alphabetical order (the order users' diffs and scripts have seen since the first release),
//! so [`to_json`] writes through a `serde_json::Value`, whose maps are sorted. Every field has
//! a default when read back, so a summary of an older run still reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Rows of one source accounted for: every input row has findings or has none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Accounting {
    pub rows_read: usize,
    pub rows_with_findings: usize,
    pub rows_without_findings: usize,
    pub rows_in_scope: usize,
    pub rows_outside_province: usize,
}

/// One of the ministry's indicator groups.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct IndicatorStat {
    pub key: String,
    pub label: String,
    pub records_evaluated: usize,
    pub records: usize,
    pub percent: f64,
    pub new: usize,
    pub resolved: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub households: Option<usize>,
    /// Vaccination indicators: people (đối tượng) as well as rows (mũi tiêm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub people: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub people_evaluated: Option<usize>,
    /// Indicators (6) and (7): each extract's rows split into new entries and matches, per
    /// `data_source` where the extract has one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub split: Vec<SourceSplit>,
}

impl IndicatorStat {
    /// The households or people behind the records, as people read it ("63 hộ",
    /// "1 318 người"), when the indicator counts them.
    pub fn units_vi(&self) -> Option<String> {
        match (self.households, self.people) {
            (Some(h), _) => Some(format!("{} hộ", crate::phase::group_digits(h))),
            (None, Some(p)) => Some(format!("{} người", crate::phase::group_digits(p))),
            _ => None,
        }
    }
}

/// One extract's (or one of its data sources') rows for indicators (6) and (7).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SourceSplit {
    pub source: String,
    /// The rows' `data_source` (V06, C10 …); "" for an extract without that column.
    pub data_source: String,
    pub rows: usize,
    /// Nhập mới: rows whose person is not in the register.
    pub nhap_moi: usize,
    /// Đối khớp: rows matched to a resident (by personal ID with an agreeing name, or linked).
    pub doi_khop: usize,
}

/// One rule's figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RuleStat {
    pub group: String,
    pub severity: String,
    pub records_evaluated: usize,
    pub findings: usize,
    pub records: usize,
    pub percent: f64,
    pub new: usize,
    pub resolved: usize,
}

/// One commune's figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CommuneStat {
    pub records_evaluated: usize,
    pub findings: usize,
    /// None when no input row is resident in the commune (only resolved findings).
    pub findings_per_100_records: Option<f64>,
    pub new: usize,
    pub resolved: usize,
}

/// Per field, per level: a probability.
pub type Levels = BTreeMap<String, BTreeMap<String, f64>>;

/// The matching model as the summary reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ModelSummary {
    pub match_share_among_candidates: f64,
    pub em_iterations: usize,
    pub m: Levels,
    pub u: Levels,
}

/// How the matching model was trained.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct TrainingSummary {
    /// `identifiers` (pairs sharing a personal ID or CMND), `candidate_pairs` (rounds on the
    /// training blockings), `none` (starting values: a warning says why) or `reused` (the
    /// model of `--model` or of `--previous`).
    pub method: String,
    /// The model file reused, when one was.
    pub reused_from: Option<String>,
    /// How far this run's retrained model moved from the previous run's (with `--previous`).
    pub change_from_previous: Option<ModelChange>,
    /// Per session or round: the pairs compared and the share EM took for one person.
    pub rounds: BTreeMap<String, RoundSummary>,
    /// Trained on candidate pairs: of the pairs agreeing on the whole name and the birth date
    /// with nothing else in common, the share that are two people (measured where both
    /// records name parents). From 0.5, such pairs where a record names no parent go to
    /// review (`common_name_no_evidence`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namesake_share: Option<f64>,
}

/// One training session or round.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RoundSummary {
    pub pairs: usize,
    pub match_share: Option<f64>,
}

/// How far a retrained model moved from the previous run's: the largest change of a level's
/// weight (in bits, log2 m/u) and where, and the ratio of the priors.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ModelChange {
    pub largest_weight_change_bits: f64,
    pub field: String,
    pub level: String,
    pub prior_ratio: f64,
}

/// Duplicate detection's figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DuplicateStats {
    pub pairs: usize,
    /// Of them, pairs implied by their cluster rather than compared (`evidence = cluster`).
    pub pairs_from_clusters: usize,
    /// Pairs held back for review (`dup.possible`, review.parquet).
    pub review_pairs: usize,
    pub clusters: usize,
    pub links: usize,
    pub pairs_compared: usize,
    pub pairs_per_blocking_pass: BTreeMap<String, usize>,
    /// Per pass, the candidate pairs no other pass proposed (what the pass is there for).
    pub pairs_proposed_by_one_pass_only: BTreeMap<String, usize>,
    pub blocks_skipped_pairs: usize,
    pub model: Option<ModelSummary>,
    pub training: TrainingSummary,
    /// Three duplicate pairs (the most, the median and the least likely) explained field by
    /// field, for the report's waterfall.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<DuplicateExample>,
}

/// A duplicate pair explained: its records (by record_id, no personal data), its probability,
/// and the prior's and each compared field's weight (log2 Bayes factors).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DuplicateExample {
    pub record_id_a: String,
    pub record_id_b: String,
    pub probability: f64,
    pub prior_weight: f64,
    /// (field, level, weight).
    pub fields: Vec<(String, String, f64)>,
}

/// What linking measured and did for one source.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LinkingStat {
    pub rows_to_link: usize,
    pub linked: usize,
    pub ids_found_in_residents: f64,
    /// None when the source had no row to link (nothing was measured).
    pub candidate_recall: Option<f64>,
}

/// `summary.json` of `check`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Summary {
    pub lamsach_version: String,
    pub as_of: String,
    pub province: Option<String>,
    /// Source name → kind (`residents`, `vaccination`, `insurance`, `extract`).
    pub sources: BTreeMap<String, String>,
    pub rows_read: BTreeMap<String, usize>,
    pub accounting: BTreeMap<String, Accounting>,
    pub findings_total: usize,
    pub findings_per_rule: BTreeMap<String, usize>,
    pub findings_per_group: BTreeMap<String, usize>,
    /// Per group: the records with at least one of its findings (a record in nine duplicate
    /// pairs has eighteen findings and is one record).
    pub records_per_group: BTreeMap<String, usize>,
    pub findings_per_source: BTreeMap<String, BTreeMap<String, usize>>,
    pub findings_per_commune: BTreeMap<String, usize>,
    pub indicators: Vec<IndicatorStat>,
    pub rule_stats: BTreeMap<String, RuleStat>,
    pub commune_stats: BTreeMap<String, CommuneStat>,
    /// The `--previous` run's directory.
    pub previous: Option<String>,
    /// The previous run's records per indicator key.
    pub previous_indicators: Option<BTreeMap<String, usize>>,
    /// The previous run's `--as-of` date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_as_of: Option<String>,
    pub resolved_total: usize,
    pub duplicates: DuplicateStats,
    pub linking: BTreeMap<String, LinkingStat>,
    pub warnings: Vec<String>,
    pub timings_seconds: BTreeMap<String, f64>,
    pub thresholds_breached: Vec<String>,
    /// The officers' verdicts (`--verdicts`, and those kept from `--previous`).
    pub verdicts: VerdictStats,
    /// What the run estimated it would need, the budget it had, and whether its inputs were
    /// held on disk (the command line's and Python's `check`; not Spark's, whose executors
    /// each hold their own partitions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryPlan>,
}

/// How a `check` run fitted its memory: its need estimated from the inputs' sizes against the
/// budget (`--memory-gb`, or else what the machine had available when the run started).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MemoryPlan {
    pub estimated_need_bytes: u64,
    /// None when there was no budget (no `--memory-gb` and the OS did not tell).
    pub budget_bytes: Option<u64>,
    /// `memory_gb` (the option) or `machine` (available memory at the start).
    pub budget_from: String,
    /// The input columns and parsed facts were held on disk, memory-mapped.
    pub inputs_on_disk: bool,
}

/// What the verdicts did, for summary.json and the report.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct VerdictStats {
    /// Verdicts read (returned files and the previous run's), one per finding.
    pub read: usize,
    /// Per verdict (its Vietnamese label): how many were read.
    pub per_verdict: BTreeMap<String, usize>,
    /// Findings left out of this run's outputs because of a verdict.
    pub findings_withdrawn: usize,
    /// Verdicts that lapsed because a record they concern changed.
    pub records_changed: usize,
}

/// Duplicate figures of `dedup`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DedupDuplicates {
    pub pairs: usize,
    /// Of them, pairs implied by their cluster rather than compared (`evidence = cluster`).
    pub pairs_from_clusters: usize,
    /// Pairs held back for review (`dup.possible`, review.parquet).
    pub review_pairs: usize,
    pub in_province: usize,
    pub out_of_province: usize,
    pub clusters: usize,
    pub records_in_clusters: usize,
    pub records_to_retire: usize,
}

/// The model of `dedup`, briefly.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DedupModel {
    pub lambda: f64,
    pub em_iterations: usize,
}

/// Matching figures of `dedup`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DedupMatching {
    pub pairs_compared: usize,
    pub pairs_per_pass: BTreeMap<String, usize>,
    pub pairs_in_oversized_blocks_skipped: usize,
    pub model: DedupModel,
    pub training: TrainingSummary,
    /// The report's worked examples (as [`DuplicateStats::examples`]), given by the
    /// distributed `check` only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<DuplicateExample>,
}

/// How `dedup` partitioned the register.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Partitions {
    pub birth_year_buckets: usize,
    pub units: usize,
    pub largest_unit_records: usize,
    pub spilled_bytes: u64,
    pub memory_budget_bytes: u64,
    /// Reads of the spill for the records of pairs across units: each read holds at most
    /// as many records as a unit, so more than two (one to filter the pairs, one to judge
    /// them) say the budget split them.
    pub fetch_runs: usize,
}

/// `summary.json` of `dedup`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DedupSummary {
    pub command: String,
    pub rows_read: BTreeMap<String, usize>,
    pub findings_per_rule: BTreeMap<String, usize>,
    pub duplicates: DedupDuplicates,
    pub id_shared_pairs: usize,
    pub matching: DedupMatching,
    pub partitions: Partitions,
    pub warnings: Vec<String>,
    pub timings_seconds: BTreeMap<String, f64>,
}

/// A value as `summary.json` text: pretty, keys in alphabetical order.
pub fn to_json<T: Serialize>(v: &T) -> Result<String> {
    let value = serde_json::to_value(v).map_err(Error::internal)?;
    serde_json::to_string_pretty(&value).map_err(Error::internal)
}

/// Timings rounded to the millisecond, by phase name.
pub fn timings(laps: &[(&'static str, f64)]) -> BTreeMap<String, f64> {
    laps.iter()
        .map(|(k, v)| (k.to_string(), (v * 1000.0).round() / 1000.0))
        .collect()
}

/// A percentage of `evaluated`, rounded to three decimals (0 when nothing was evaluated).
pub fn percent(records: usize, evaluated: usize) -> f64 {
    let pct = if evaluated == 0 {
        0.0
    } else {
        records as f64 * 100.0 / evaluated as f64
    };
    (pct * 1000.0).round() / 1000.0
}

impl Summary {
    /// Read a run's `summary.json`.
    pub fn read(path: &std::path::Path) -> Result<Summary> {
        let bytes = std::fs::read(path).map_err(|_| {
            Error::input(
                path,
                "there is no summary.json: not a lamsach run directory",
            )
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|_| Error::input(path, "summary.json cannot be read"))
    }
}
