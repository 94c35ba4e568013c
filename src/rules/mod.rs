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
        findings.extend(par_rows(t.len(), |row, out| {
            for r in &rules {
                r.check(input, s as u16, row, out);
            }
        }));
    }
    findings
}
