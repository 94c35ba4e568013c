//! The figures of a `check` run, as the typed [`Summary`] of `summary.json`.

use std::collections::{BTreeMap, BTreeSet};

use super::indicators::{indicator_counts, source_matches};
use super::view::{Records, View};
use crate::config::Config;
use crate::core::{Column, Group, RowRef, Rule, SourceKind};
use crate::summary::{
    percent, Accounting, CommuneStat, DuplicateStats, IndicatorStat, LinkingStat, RuleStat, Summary,
};

/// What the driver adds to the view's figures.
pub struct RunFacts<'a> {
    pub as_of: String,
    pub province: Option<String>,
    pub warnings: &'a [String],
    pub timings: BTreeMap<String, f64>,
    pub config: &'a Config,
}

/// Per rule, the records the rule looks at: the residents, the linked extracts, or both.
fn rule_evaluated(r: Rule, residents: usize, linked: usize, births: usize) -> usize {
    use Rule::*;
    match r {
        BirthNoResident | BirthMismatch => births,
        AliveProbablyDeceased => residents,
        ResidenceNotRegistered => linked,
        HouseholdNoHead
        | HouseholdMultipleHeads
        | DupInProvince
        | DupOutOfProvince
        | DupPossible
        | IdShared
        | AliveImplausibleAge
        | AliveDeceasedActive => residents,
        LinkSuggested | LinkAmbiguous | XrefNotFound | XrefMismatch | AliveEventAfterDeath => {
            linked
        }
        _ => residents + linked,
    }
}

/// Per rule: records evaluated, findings, records with findings, percentage, new, resolved.
pub fn rule_stats(view: &View, config: &Config) -> BTreeMap<String, RuleStat> {
    let input = view.input;
    let rows_of = |pred: &dyn Fn(SourceKind) -> bool| -> usize {
        input
            .tables
            .iter()
            .filter(|t| pred(t.kind))
            .map(|t| t.len())
            .sum()
    };
    let residents_rows = rows_of(&|k| k == SourceKind::Residents);
    let linked_rows = rows_of(&|k| k.is_linked());
    let births_rows = rows_of(&|k| k == SourceKind::Births);
    let mut findings: BTreeMap<Rule, usize> = BTreeMap::new();
    let mut records: BTreeMap<Rule, BTreeSet<RowRef>> = BTreeMap::new();
    let mut new: BTreeMap<Rule, usize> = BTreeMap::new();
    for (f, open) in view.findings.iter().zip(&view.open) {
        *findings.entry(f.rule).or_default() += 1;
        records.entry(f.rule).or_default().insert(f.at);
        if !open {
            *new.entry(f.rule).or_default() += 1;
        }
    }
    let mut resolved: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &view.resolved {
        *resolved.entry(p.key.2.as_str()).or_default() += 1;
    }
    Rule::ALL
        .iter()
        .map(|&r| {
            let evaluated =
                if r == Rule::AliveProbablyDeceased && config.alive.probably_deceased_age == 0 {
                    0 // off unless configured
                } else {
                    rule_evaluated(r, residents_rows, linked_rows, births_rows)
                };
            let n = records.get(&r).map_or(0, BTreeSet::len);
            (
                r.code().to_string(),
                RuleStat {
                    group: r.group().code().to_string(),
                    severity: config.severity(r).code().to_string(),
                    records_evaluated: evaluated,
                    findings: findings.get(&r).copied().unwrap_or(0),
                    records: n,
                    percent: percent(n, evaluated),
                    new: new.get(&r).copied().unwrap_or(0),
                    resolved: resolved.get(r.code()).copied().unwrap_or(0),
                },
            )
        })
        .collect()
}

/// Build the summary of a `check` run; `rule_stats` as [`rule_stats`] gave them (thresholds
/// are checked against them before), `breached` the thresholds they exceed.
pub fn build(
    view: &View,
    facts: RunFacts,
    rule_stats: BTreeMap<String, RuleStat>,
    breached: Vec<String>,
) -> Summary {
    let input = view.input;
    let mut rows_read = BTreeMap::new();
    for t in input.tables {
        rows_read.insert(t.name.clone(), t.len());
    }
    if let Some(t) = input.cmnd_map {
        rows_read.insert("cmnd_map".to_string(), t.len());
    }
    if let Some(t) = input.deaths {
        rows_read.insert("deaths".to_string(), t.len());
    }
    let mut per_rule: BTreeMap<String, usize> = Rule::ALL
        .iter()
        .map(|r| (r.code().to_string(), 0))
        .collect();
    let mut per_group: BTreeMap<String, usize> = Group::ALL
        .iter()
        .map(|g| (g.code().to_string(), 0))
        .collect();
    let mut per_source: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut per_commune: BTreeMap<String, usize> = BTreeMap::new();
    let mut flagged: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    let mut commune_new: BTreeMap<&str, usize> = BTreeMap::new();
    for (f, open) in view.findings.iter().zip(&view.open) {
        let commune = view.cell(f.at, Column::CommuneCode);
        *per_rule.entry(f.rule.code().to_string()).or_default() += 1;
        *per_group
            .entry(f.rule.group().code().to_string())
            .or_default() += 1;
        *per_source
            .entry(view.source(f.at).to_string())
            .or_default()
            .entry(f.rule.code().to_string())
            .or_default() += 1;
        *per_commune.entry(commune.to_string()).or_default() += 1;
        flagged
            .entry(view.source(f.at))
            .or_default()
            .insert(f.at.row);
        if !open {
            *commune_new.entry(commune).or_default() += 1;
        }
    }
    // Every input row is accounted for: rows with at least one finding, and clean rows.
    let accounting: BTreeMap<String, Accounting> = input
        .tables
        .iter()
        .enumerate()
        .map(|(s, t)| {
            let with = flagged.get(t.name.as_str()).map_or(0, BTreeSet::len);
            let in_scope = match view.province {
                None => t.len(),
                Some(p) => (0..t.len())
                    .filter(|&r| input.province_of(RowRef::new(s, r)) == p)
                    .count(),
            };
            (
                t.name.clone(),
                Accounting {
                    rows_read: t.len(),
                    rows_with_findings: with,
                    rows_without_findings: t.len() - with,
                    rows_in_scope: in_scope,
                    rows_outside_province: t.len() - in_scope,
                },
            )
        })
        .collect();
    let indicators: Vec<IndicatorStat> = indicator_counts(view)
        .into_iter()
        .map(|c| {
            // Records evaluated: the rows of the sources the indicator counts.
            let evaluated: usize = input
                .tables
                .iter()
                .filter(|t| source_matches(&t.name, c.indicator.sources))
                .map(|t| t.len())
                .sum();
            IndicatorStat {
                key: c.indicator.key.to_string(),
                label: c.indicator.label.to_string(),
                records_evaluated: evaluated,
                records: c.records,
                percent: percent(c.records, evaluated),
                new: c.new,
                resolved: c.resolved,
                households: c.households,
                people: c.people,
                people_evaluated: c.people_evaluated,
                split: c.split,
            }
        })
        .collect();
    let mut commune_resolved: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &view.resolved {
        *commune_resolved.entry(p.commune_code.as_str()).or_default() += 1;
    }
    // Records evaluated per commune: every input row resident there.
    let mut commune_rows: BTreeMap<&str, usize> = BTreeMap::new();
    for (t, cols) in input.tables.iter().zip(&input.cols) {
        let c = cols[Column::CommuneCode];
        for r in 0..t.len() {
            *commune_rows.entry(c.get(r)).or_default() += 1;
        }
    }
    let mut communes: BTreeSet<&str> = per_commune.keys().map(String::as_str).collect();
    communes.extend(commune_resolved.keys().copied());
    let commune_stats: BTreeMap<String, CommuneStat> = communes
        .into_iter()
        .map(|c| {
            let findings = per_commune.get(c).copied().unwrap_or(0);
            (
                c.to_string(),
                CommuneStat {
                    records_evaluated: commune_rows.get(c).copied().unwrap_or(0),
                    findings,
                    findings_per_100_records: commune_rows
                        .get(c)
                        .filter(|n| **n > 0)
                        .map(|n| (findings as f64 * 100.0 / *n as f64 * 1000.0).round() / 1000.0),
                    new: commune_new.get(c).copied().unwrap_or(0),
                    resolved: commune_resolved.get(c).copied().unwrap_or(0),
                },
            )
        })
        .collect();
    let m = view.matches;
    Summary {
        lamsach_version: env!("CARGO_PKG_VERSION").to_string(),
        as_of: facts.as_of,
        province: facts.province,
        sources: input
            .tables
            .iter()
            .map(|t| (t.name.clone(), t.kind.label().to_string()))
            .collect(),
        rows_read,
        accounting,
        findings_total: view.findings.len(),
        findings_per_rule: per_rule,
        findings_per_group: per_group,
        findings_per_source: per_source,
        findings_per_commune: per_commune,
        indicators,
        rule_stats,
        commune_stats,
        previous: view.previous.map(|p| p.dir.display().to_string()),
        previous_indicators: view.previous.map(|p| {
            p.summary
                .iter()
                .flat_map(|s| &s.indicators)
                .map(|i| (i.key.clone(), i.records))
                .collect()
        }),
        previous_as_of: view
            .previous
            .and_then(|p| p.summary.as_ref())
            .map(|s| s.as_of.clone()),
        resolved_total: view.resolved.len(),
        duplicates: DuplicateStats {
            pairs: view.pairs.len(),
            pairs_from_clusters: view.pairs.iter().filter(|p| p.implied).count(),
            review_pairs: view
                .review
                .iter()
                .filter(|r| r.doubt.rule() == Rule::DupPossible)
                .count(),
            clusters: view
                .clusters
                .iter()
                .map(|c| c.cluster)
                .collect::<BTreeSet<_>>()
                .len(),
            links: view.links.len(),
            pairs_compared: m.pairs_compared,
            pairs_per_blocking_pass: m
                .pairs_per_pass
                .iter()
                .map(|p| (p.name.to_string(), p.proposed))
                .collect(),
            pairs_proposed_by_one_pass_only: m
                .pairs_per_pass
                .iter()
                .map(|p| (p.name.to_string(), p.alone))
                .collect(),
            blocks_skipped_pairs: m.blocks_skipped,
            model: m.model.clone(),
            training: m.training.summary(),
            examples: m.examples.clone(),
        },
        linking: m
            .linking
            .iter()
            .map(|l| {
                (
                    l.source.clone(),
                    LinkingStat {
                        rows_to_link: l.rows_to_link,
                        linked: l.linked,
                        ids_found_in_residents: (l.ids_found * 1e4).round() / 1e4,
                        candidate_recall: l.candidate_recall.map(|b| (b * 1e4).round() / 1e4),
                    },
                )
            })
            .collect(),
        warnings: facts.warnings.to_vec(),
        timings_seconds: facts.timings,
        thresholds_breached: breached,
        verdicts: Default::default(),
    }
}
