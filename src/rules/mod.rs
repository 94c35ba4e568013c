//! The rule framework. Every finding carries one stable rule code of SPEC §3.
//!
//! A rule is a small unit registered in [`registry`]: a [`RecordRule`] looks at one row of
//! one source at a time (run in parallel over row chunks), a [`TableRule`] looks at whole
//! sources (households, shared IDs, cross-source checks). Rules are free of I/O: they read
//! the [`CheckInput`] (Arrow-backed tables, parsed facts, indexes) and push [`Finding`]s.

pub mod alive;
pub mod births;
mod cross;
mod household;
mod record;
pub mod residence;
#[cfg(test)]
mod tests;

pub use household::is_head;

use rayon::prelude::*;

use crate::core::{CheckInput, Finding, SourceKind};

/// A rule over one row at a time.
pub trait RecordRule: Sync + Send {
    /// Does the rule apply to this kind of source?
    fn applies(&self, kind: SourceKind) -> bool;
    /// Look at one row and push what is wrong with it.
    fn check(&self, input: &CheckInput, source: u16, row: usize, out: &mut Vec<Finding>);
    /// Whether the rule reads only the row's full_name and finds nothing in a name
    /// `record::name_is_clean` passes: such rules are skipped for the rows of a clean name,
    /// judged once a distinct name when the column is dictionary-encoded.
    fn reads_only_the_name(&self) -> bool {
        false
    }
}

/// A rule over whole sources.
pub trait TableRule: Sync + Send {
    /// A short name for traces (`LAMSACH_TRACE`).
    fn name(&self) -> &'static str;
    fn run(&self, input: &CheckInput, out: &mut Vec<Finding>);
}

/// The registered rules: per-row rules and whole-source rules.
pub type Registry = (Vec<Box<dyn RecordRule>>, Vec<Box<dyn TableRule>>);

/// Every rule, registered in one place.
pub fn registry() -> Registry {
    let record: Vec<Box<dyn RecordRule>> = vec![
        Box::new(record::PersonalId),
        Box::new(record::OldCmnd),
        Box::new(record::Dates),
        Box::new(record::SexRule),
        Box::new(record::Completeness),
        Box::new(record::NameForm),
        Box::new(record::ImplausibleAge),
        Box::new(record::NameChars),
        Box::new(record::InsuranceCard),
    ];
    let table: Vec<Box<dyn TableRule>> = vec![
        Box::new(household::Households),
        Box::new(cross::CmndResolution),
        Box::new(cross::CrossReference),
        Box::new(cross::Deaths),
        Box::new(cross::InsuranceCodes),
        Box::new(residence::Residence),
    ];
    (record, table)
}

/// The keys the whole-source rules compare rows on. Every row a rule compares with a given
/// row shares that row's key, so the rows of one key can be checked apart from the rest and
/// give the findings the whole input gives them: how a driver that holds only part of the
/// rows (a Spark partition) runs these rules. Each whole-source rule is keyed here
/// (`every_whole_source_rule_is_keyed` holds a new rule to that).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKey {
    /// The valid personal ID: cross references, deaths, residence.
    PersonalId,
    /// The old CMND: its resolution through the crosswalk and the residents' old_id.
    Cmnd,
    /// The household number: heads of households.
    Household,
    /// The social-insurance code: one code carried by two people.
    InsuranceCode,
    /// The insured person: one person carrying two codes.
    InsurancePerson,
}

impl RuleKey {
    pub const ALL: [RuleKey; 5] = [
        RuleKey::PersonalId,
        RuleKey::Cmnd,
        RuleKey::Household,
        RuleKey::InsuranceCode,
        RuleKey::InsurancePerson,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RuleKey::PersonalId => "personal_id",
            RuleKey::Cmnd => "cmnd",
            RuleKey::Household => "household",
            RuleKey::InsuranceCode => "insurance_code",
            RuleKey::InsurancePerson => "insurance_person",
        }
    }

    pub fn from_name(name: &str) -> Option<RuleKey> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The whole-source rules (by their trace names) keyed by this key.
    pub fn rules(self) -> &'static [&'static str] {
        match self {
            RuleKey::PersonalId => &["rules.xref", "rules.deaths", "rules.residence"],
            RuleKey::Cmnd => &["rules.cmnd"],
            RuleKey::Household => &["rules.household"],
            RuleKey::InsuranceCode | RuleKey::InsurancePerson => &["rules.insurance_codes"],
        }
    }

    /// Whether a finding of those rules is this key's: the insurance rule compares rows by
    /// code for one finding and by person for the other.
    pub fn keeps(self, rule: crate::core::Rule) -> bool {
        use crate::core::Rule;
        match self {
            RuleKey::InsuranceCode => rule == Rule::InsuranceCodeShared,
            RuleKey::InsurancePerson => rule == Rule::InsuranceMultipleCodes,
            _ => true,
        }
    }

    /// Whether rows of this kind of source can carry the key (the reference inputs included).
    pub fn reads(self, kind: SourceKind) -> bool {
        match self {
            RuleKey::PersonalId => {
                kind == SourceKind::Residents || kind.is_linked() || kind == SourceKind::Deaths
            }
            RuleKey::Cmnd => kind != SourceKind::Deaths,
            RuleKey::Household => kind == SourceKind::Residents,
            RuleKey::InsuranceCode | RuleKey::InsurancePerson => kind == SourceKind::Insurance,
        }
    }

    /// The key of row `r` of source `s` (residents are source 0), or `None` when these rules
    /// never look at the row.
    pub fn of_row(self, input: &CheckInput, s: usize, r: usize) -> Option<u64> {
        let kind = input.tables[s].kind;
        if !self.reads(kind) {
            return None;
        }
        let pid = input.prepared[s].rows[r].pid;
        match self {
            RuleKey::PersonalId => pid.is_valid().then_some(pid.value),
            RuleKey::Cmnd => cross::cmnd_row_key(input, s, r),
            RuleKey::Household => {
                let hh = input.cols[s][crate::core::Column::HouseholdId].get(r);
                (!hh.is_empty()).then(|| crate::core::hash::h64(hh))
            }
            RuleKey::InsuranceCode => {
                cross::insurance_code(input.cols[s][crate::core::Column::SocialInsuranceCode], r)
            }
            RuleKey::InsurancePerson => {
                cross::insurance_code(input.cols[s][crate::core::Column::SocialInsuranceCode], r)
                    .map(|_| cross::insurance_person(input, s, r))
            }
        }
    }

    /// The key of row `r` of a reference input (`--cmnd-map`, `--deaths`).
    pub fn of_reference(self, table: &crate::core::Table, r: usize) -> Option<u64> {
        use crate::core::Column;
        match (self, table.kind) {
            (RuleKey::Cmnd, SourceKind::CmndMap) => cross::cmnd_map_key(table, r),
            (RuleKey::PersonalId, SourceKind::Deaths) => {
                let id = crate::ids::classify_id(table.column(Column::PersonalId).get(r));
                id.is_valid().then_some(id.value)
            }
            _ => None,
        }
    }
}

/// Run the whole-source rules keyed by `key` over `input` (the rows of some of its keys, or
/// all): their findings, in a deterministic order.
pub fn run_keyed_rules(input: &CheckInput, key: RuleKey) -> Vec<Finding> {
    let (_, table) = registry();
    let mut out = Vec::new();
    for rule in table.iter().filter(|r| key.rules().contains(&r.name())) {
        rule.run(input, &mut out);
    }
    out.retain(|f| key.keeps(f.rule));
    out
}

/// Run every rule over every source. Findings come back in a deterministic order (row chunks
/// and rules in registry order, whatever the thread count); the pipeline sorts them once,
/// with the matching phase's, by [`Finding::sort_key`].
pub fn run_rules(input: &CheckInput) -> Vec<Finding> {
    let (_, table) = registry();
    let mut findings = crate::phase::traced("rules.record", || run_record_rules(input));
    let table_findings: Vec<Vec<Finding>> = table
        .par_iter()
        .map(|r| {
            crate::phase::traced(r.name(), || {
                let mut out = Vec::new();
                r.run(input, &mut out);
                out
            })
        })
        .collect();
    findings.extend(table_findings.into_iter().flatten());
    findings
}

/// Findings of a per-row check over rows `0..n`, in parallel over chunks of rows, in row
/// order (one vector per chunk, not per row).
pub fn par_rows<F>(n: usize, check: F) -> Vec<Finding>
where
    F: Fn(usize, &mut Vec<Finding>) + Sync,
{
    const CHUNK: usize = 16 * 1024;
    let chunks: Vec<Vec<Finding>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut out = Vec::new();
            for row in c * CHUNK..((c + 1) * CHUNK).min(n) {
                check(row, &mut out);
            }
            out
        })
        .collect();
    chunks.into_iter().flatten().collect()
}

/// Run the per-row rules over every source, in parallel over chunks of rows.
pub fn run_record_rules(input: &CheckInput) -> Vec<Finding> {
    let (record, _) = registry();
    let mut findings: Vec<Finding> = Vec::new();
    for (s, t) in input.tables.iter().enumerate() {
        let rules: Vec<&dyn RecordRule> = record
            .iter()
            .filter(|r| r.applies(t.kind))
            .map(|r| r.as_ref())
            .collect();
        // Most names are clean and repeat: judged once a distinct name, not once a row.
        let names = input.cols[s][crate::core::Column::FullName];
        let clean = names.by_raw_value(record::name_is_clean);
        findings.extend(par_rows(t.len(), |row, out| {
            let clean = clean.as_ref().is_some_and(|c| c.get(&names, row));
            for r in &rules {
                if !(clean && r.reads_only_the_name()) {
                    r.check(input, s as u16, row, out);
                }
            }
        }));
    }
    findings
}
