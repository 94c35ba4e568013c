//! The TOML configuration file (`check --config FILE`).
//!
//! ```toml
//! [columns]                 # any header → canonical column, for every input file
//! "Họ tên công dân" = "full_name"
//! "Số giấy tờ" = "personal_id"
//!
//! [expected_fields]         # what field.missing reports, per source (replaces the default)
//! residents = ["full_name", "birth_date", "sex", "commune_code", "household_id"]
//! vaccination = ["full_name", "birth_date", "dose_date"]
//!
//! [severity]               # error / warning / info, per rule code
//! "name.unnormalized" = "warning"
//!
//! [[thresholds]]            # exit code 3 (after all outputs) when exceeded
//! rule = "id.format"        # a rule code, a group (dung, du, sach, song) or *
//! max_percent = 0.5         # of the records evaluated; also max_findings, max_new
//!
//! [matching]
//! threshold = 0.9           # match probability above which a pair is a duplicate
//! link_threshold = 0.9      # … and a linked row is given a resident
//! review_threshold = 0.5    # from here to the threshold: review (dup.possible, link.ambiguous)
//! max_block_size = 2000     # larger blocks are skipped and counted in the summary
//!
//! [alive]
//! implausible_age = 120        # alive.implausible_age: living and older than this
//! probably_deceased_age = 95   # alive.probably_deceased (info): this old … (0, the default: off)
//! probably_deceased_years = 5  # … and no event in any extract for this many years
//!
//! [residence]                  # extracts that place people where they live or work
//! sources = ["insurance", "kcn"]   # default: insurance and every extract but prisoners'
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::core::headers::{fold_header, recognise_header};
use crate::core::{
    AliveSettings, Column, Group, MatchSettings, ResidenceSettings, Rule, Severity, SourceKind,
};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    #[serde(default)]
    pub expected_fields: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub matching: MatchSettings,
    #[serde(default)]
    pub alive: AliveSettings,
    #[serde(default)]
    pub residence: ResidenceSettings,
    /// Rule code → "error" / "warning" / "info", overriding the default severity.
    #[serde(default)]
    pub severity: BTreeMap<String, String>,
    /// Limits that make `check` exit with code 3 (after writing every output).
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
}

/// One threshold of the config's `[[thresholds]]`: exceeded, `check` exits with code 3 after
/// writing every output.
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

impl Config {
    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::input(path, "the config file does not exist"),
            std::io::ErrorKind::InvalidData => {
                Error::input(path, "the config file is not valid UTF-8")
            }
            _ => Error::input(path, format!("the config file cannot be read ({e})")),
        })?;
        let cfg: Config = toml::from_str(&text).map_err(|e| {
            let msg = e.message().to_string();
            Error::input(path, format!("the config file is not valid: {msg}"))
        })?;
        for (header, canon) in &cfg.columns {
            if Column::from_name(canon).is_none() {
                return Err(Error::input(
                    path,
                    format!("[columns] maps \"{header}\" to \"{canon}\", which is not a column lamsach knows"),
                ));
            }
        }
        for (source, fields) in &cfg.expected_fields {
            if let Some(f) = fields.iter().find(|f| Column::from_name(f).is_none()) {
                return Err(Error::input(
                    path,
                    format!("[expected_fields] {source} lists \"{f}\", which is not a column lamsach knows"),
                ));
            }
        }
        for (rule, level) in &cfg.severity {
            if Rule::from_code(rule).is_none() {
                return Err(Error::input(
                    path,
                    format!("[severity] names \"{rule}\", which is not a rule code"),
                ));
            }
            if Severity::from_code(level).is_none() {
                return Err(Error::input(
                    path,
                    format!("[severity] {rule} = \"{level}\": use error, warning or info"),
                ));
            }
        }
        for t in &cfg.thresholds {
            let known = t.rule == "*"
                || Rule::from_code(&t.rule).is_some()
                || Group::from_code(&t.rule).is_some();
            if !known {
                return Err(Error::input(
                    path,
                    format!(
                        "[[thresholds]] rule = \"{}\" is not a rule code, a group or *",
                        t.rule
                    ),
                ));
            }
            if t.max_percent.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
                return Err(Error::input(
                    path,
                    format!(
                        "[[thresholds]] for {}: max_percent must be between 0 and 100",
                        t.rule
                    ),
                ));
            }
            if t.max_findings.is_none() && t.max_percent.is_none() && t.max_new.is_none() {
                return Err(Error::input(
                    path,
                    format!(
                        "[[thresholds]] for {} sets none of max_findings, max_percent, max_new",
                        t.rule
                    ),
                ));
            }
        }
        let m = &cfg.matching;
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        if !(unit(m.threshold) && unit(m.link_threshold) && unit(m.review_threshold)) {
            return Err(Error::input(
                path,
                "[matching] thresholds must be between 0 and 1",
            ));
        }
        if m.review_threshold > m.threshold.min(m.link_threshold) {
            return Err(Error::input(
                path,
                "[matching] review_threshold must not be above threshold or link_threshold",
            ));
        }
        let a = &cfg.alive;
        if !(1..=150).contains(&a.implausible_age)
            || a.probably_deceased_age > 150
            || a.probably_deceased_years == 0
        {
            return Err(Error::input(
                path,
                "[alive] implausible_age must be 1–150, probably_deceased_age 0–150 and probably_deceased_years at least 1",
            ));
        }
        Ok(cfg)
    }

    /// The severity of a rule: the config's, else the default.
    pub fn severity(&self, rule: Rule) -> Severity {
        self.severity
            .get(rule.code())
            .and_then(|s| Severity::from_code(s))
            .unwrap_or_else(|| rule.default_severity())
    }

    /// The canonical column a header is mapped to by this config, if any.
    pub fn mapped_column(&self, header: &str) -> Option<Column> {
        let h = header.trim();
        self.columns
            .iter()
            .find(|(k, _)| k.trim() == h || fold_header(k) == fold_header(h))
            .and_then(|(_, v)| Column::from_name(v))
    }

    /// The canonical column a header means: this config's mapping first, then the headers
    /// recognised without configuration.
    pub fn canonical_column(&self, header: &str) -> Option<Column> {
        self.mapped_column(header)
            .or_else(|| recognise_header(header))
    }

    /// The fields `field.missing` checks on a source: the config's list for its name or its
    /// kind, else the kind's default.
    pub fn expected_fields_for(&self, name: &str, kind: SourceKind) -> Vec<Column> {
        let configured = self
            .expected_fields
            .get(name)
            .or_else(|| self.expected_fields.get(kind.label()));
        match configured {
            Some(list) => list.iter().filter_map(|f| Column::from_name(f)).collect(),
            None => kind.default_expected_fields().to_vec(),
        }
    }
}
