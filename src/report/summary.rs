//! The figures of a `check` run, as the typed [`Summary`] of `summary.json`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::slice::ParallelSliceMut;

use super::indicators::{indicator_counts, source_matches, split_rows, vaccination_people, People};
use super::view::{Records, View};
use crate::config::Config;
use crate::core::{Column, Group, RowRef, Rule, SourceKind};
use crate::matching::MatchResult;
use crate::nightly::{Previous, PreviousFinding};
use crate::summary::{
    percent, Accounting, CommuneStat, DuplicateStats, IndicatorStat, LinkingStat, RuleStat,
    SourceSplit, Summary,
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

/// One finding as the summary counts it.
pub struct Counted<'a> {
    /// Its source: an index into [`Tally::sources`].
    pub source: u32,
    /// Its record within the source (a row number, or a hash of the record_id: any number
    /// that tells the source's records apart).
    pub record: u64,
    pub rule: Rule,
    pub commune: &'a str,
    /// The finding's value (the household of a household rule).
    pub value: &'a str,
    /// Not found by the previous run.
    pub new: bool,
}

/// One source as the summary counts it, in the run's order of sources.
pub struct SourceRows {
    pub name: String,
    pub kind: SourceKind,
    pub rows: usize,
    /// Its rows in the province viewed (`--province`; all of them without).
    pub in_scope: usize,
}

/// What the summary of a `check` counts, whichever driver ran it (the command line from its
/// [`View`], Spark from its findings and figures): no input row is read from here on.
pub struct Tally<'a> {
    pub sources: Vec<SourceRows>,
    /// Rows read of the reference inputs (`cmnd_map`, `deaths`).
    pub reference_rows: Vec<(String, usize)>,
    pub findings: Vec<Counted<'a>>,
    /// The previous run's findings that no longer fire.
    pub resolved: &'a [PreviousFinding<'a>],
    pub previous: Option<&'a Previous>,
    /// Per commune: the input rows resident there (every source's).
    pub commune_rows: BTreeMap<String, usize>,
    /// The vaccination rows' people (đối tượng).
    pub people: People,
    /// The rows of the extracts that indicators (6) and (7) count, as new entries and matches.
    pub splits: Vec<SourceSplit>,
    pub duplicates: DuplicateStats,
    pub linking: BTreeMap<String, LinkingStat>,
}

impl<'a> Tally<'a> {
    /// The command line's tally, from its view of the run.
    pub fn of_view(view: &'a View) -> Tally<'a> {
        let input = view.input;
        let findings = view
            .findings
            .iter()
            .zip(&view.open)
            .map(|(f, open)| Counted {
                source: f.at.source as u32,
                record: f.at.row as u64,
                rule: f.rule,
                commune: view.cell(f.at, Column::CommuneCode),
                value: f.value.as_deref().unwrap_or(""),
                new: !open,
            })
            .collect();
        let sources = input
            .tables
            .iter()
            .enumerate()
            .map(|(s, t)| SourceRows {
                name: t.name.clone(),
                kind: t.kind,
                rows: t.len(),
                in_scope: match view.province {
                    None => t.len(),
                    Some(p) => (0..t.len())
                        .filter(|&r| input.province_of(RowRef::new(s, r)) == p)
                        .count(),
                },
            })
            .collect();
        let mut reference_rows = Vec::new();
        if let Some(t) = input.cmnd_map {
            reference_rows.push(("cmnd_map".to_string(), t.len()));
        }
        if let Some(t) = input.deaths {
            reference_rows.push(("deaths".to_string(), t.len()));
        }
        // Records evaluated per commune: every input row resident there.
        let mut commune_rows: BTreeMap<String, usize> = BTreeMap::new();
        for (t, cols) in input.tables.iter().zip(&input.cols) {
            let c = cols[Column::CommuneCode];
            let mut here: BTreeMap<&str, usize> = BTreeMap::new();
            for r in 0..t.len() {
                *here.entry(c.get(r)).or_default() += 1;
            }
            for (code, n) in here {
                *commune_rows.entry(code.to_string()).or_default() += n;
            }
        }
        let linked: HashMap<RowRef, u32> = view.links.iter().map(|l| (l.at, l.resident)).collect();
        Tally {
            sources,
            reference_rows,
            findings,
            resolved: &view.resolved,
            previous: view.previous,
            commune_rows,
            people: vaccination_people(view, &linked),
            splits: split_rows(view, &linked),
            duplicates: duplicate_stats(view),
            linking: linking_stats(view.matches),
        }
    }

    fn rows_of(&self, pred: impl Fn(SourceKind) -> bool) -> usize {
        self.sources
            .iter()
            .filter(|t| pred(t.kind))
            .map(|t| t.rows)
            .sum()
    }
}

/// Per rule: records evaluated, findings, records with findings, percentage, new, resolved.
pub fn rule_stats(tally: &Tally, config: &Config) -> BTreeMap<String, RuleStat> {
    let residents_rows = tally.rows_of(|k| k == SourceKind::Residents);
    let linked_rows = tally.rows_of(|k| k.is_linked());
    let births_rows = tally.rows_of(|k| k == SourceKind::Births);
    let mut findings: BTreeMap<Rule, usize> = BTreeMap::new();
    let mut records: BTreeMap<Rule, BTreeSet<(u32, u64)>> = BTreeMap::new();
    let mut new: BTreeMap<Rule, usize> = BTreeMap::new();
    for f in &tally.findings {
        *findings.entry(f.rule).or_default() += 1;
        records
            .entry(f.rule)
            .or_default()
            .insert((f.source, f.record));
        if f.new {
            *new.entry(f.rule).or_default() += 1;
        }
    }
    let mut resolved: BTreeMap<&str, usize> = BTreeMap::new();
    for p in tally.resolved {
        *resolved.entry(p.key[2]).or_default() += 1;
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
    tally: Tally,
    facts: RunFacts,
    rule_stats: BTreeMap<String, RuleStat>,
    breached: Vec<String>,
) -> Summary {
    let mut rows_read = BTreeMap::new();
    for t in &tally.sources {
        rows_read.insert(t.name.clone(), t.rows);
    }
    for (name, n) in &tally.reference_rows {
        rows_read.insert(name.clone(), *n);
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
    let mut commune_new: BTreeMap<&str, usize> = BTreeMap::new();
    // The records behind the findings, per source and per group (a record with several
    // findings, or in several duplicate pairs, counted once): (source, record, group), sorted
    // once, a record's groups adjacent.
    let mut flagged: Vec<(u32, u64, Group)> = tally
        .findings
        .iter()
        .map(|f| (f.source, f.record, f.rule.group()))
        .collect();
    flagged.par_sort_unstable();
    flagged.dedup();
    let mut on_records: BTreeMap<Group, usize> = BTreeMap::new();
    let mut with_findings: BTreeMap<u32, usize> = BTreeMap::new();
    for record in flagged.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        *with_findings.entry(record[0].0).or_default() += 1;
        for &(_, _, g) in record {
            *on_records.entry(g).or_default() += 1;
        }
    }
    let records_per_group: BTreeMap<String, usize> = Group::ALL
        .iter()
        .map(|g| {
            (
                g.code().to_string(),
                on_records.get(g).copied().unwrap_or(0),
            )
        })
        .collect();
    // Counted by rule, source and commune as the run holds them, named once at the end (no
    // text made a finding: the held-out crowd register has 848 379).
    let mut by_source_rule: BTreeMap<(u32, Rule), usize> = BTreeMap::new();
    let mut by_commune: HashMap<&str, usize> = HashMap::new();
    for f in &tally.findings {
        *by_source_rule.entry((f.source, f.rule)).or_default() += 1;
        *by_commune.entry(f.commune).or_default() += 1;
        if f.new {
            *commune_new.entry(f.commune).or_default() += 1;
        }
    }
    for (&(source, rule), &n) in &by_source_rule {
        *per_rule.entry(rule.code().to_string()).or_default() += n;
        *per_group
            .entry(rule.group().code().to_string())
            .or_default() += n;
        *per_source
            .entry(tally.sources[source as usize].name.clone())
            .or_default()
            .entry(rule.code().to_string())
            .or_default() += n;
    }
    for (commune, n) in by_commune {
        *per_commune.entry(commune.to_string()).or_default() += n;
    }
    // Every input row is accounted for: rows with at least one finding, and clean rows.
    let accounting: BTreeMap<String, Accounting> = tally
        .sources
        .iter()
        .enumerate()
        .map(|(s, t)| {
            let with = with_findings.get(&(s as u32)).copied().unwrap_or(0);
            (
                t.name.clone(),
                Accounting {
                    rows_read: t.rows,
                    rows_with_findings: with,
                    rows_without_findings: t.rows - with,
                    rows_in_scope: t.in_scope,
                    rows_outside_province: t.rows - t.in_scope,
                },
            )
        })
        .collect();
    let indicators: Vec<IndicatorStat> = indicator_counts(&tally)
        .into_iter()
        .map(|c| {
            // Records evaluated: the rows of the sources the indicator counts.
            let evaluated: usize = tally
                .sources
                .iter()
                .filter(|t| source_matches(&t.name, c.indicator.sources))
                .map(|t| t.rows)
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
    for p in tally.resolved {
        *commune_resolved.entry(p.commune_code).or_default() += 1;
    }
    let commune_rows = &tally.commune_rows;
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
    let previous = tally.previous;
    Summary {
        lamsach_version: env!("CARGO_PKG_VERSION").to_string(),
        as_of: facts.as_of,
        province: facts.province,
        sources: tally
            .sources
            .iter()
            .map(|t| (t.name.clone(), t.kind.label().to_string()))
            .collect(),
        rows_read,
        accounting,
        findings_total: tally.findings.len(),
        findings_per_rule: per_rule,
        findings_per_group: per_group,
        records_per_group,
        findings_per_source: per_source,
        findings_per_commune: per_commune,
        indicators,
        rule_stats,
        commune_stats,
        previous: previous.map(|p| p.dir.display().to_string()),
        previous_indicators: previous.map(|p| {
            p.summary
                .iter()
                .flat_map(|s| &s.indicators)
                .map(|i| (i.key.clone(), i.records))
                .collect()
        }),
        previous_as_of: previous
            .and_then(|p| p.summary.as_ref())
            .map(|s| s.as_of.clone()),
        resolved_total: tally.resolved.len(),
        duplicates: tally.duplicates,
        linking: tally.linking,
        warnings: facts.warnings.to_vec(),
        timings_seconds: facts.timings,
        thresholds_breached: breached,
        verdicts: Default::default(),
        memory: Default::default(),
    }
}

/// The duplicate figures of the command line's run.
pub(crate) fn duplicate_stats(view: &View) -> DuplicateStats {
    let m = view.matches;
    DuplicateStats {
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
    }
}

/// What linking measured and did per source, rounded as summary.json gives it.
fn linking_stats(m: &MatchResult) -> BTreeMap<String, LinkingStat> {
    m.linking
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
        .collect()
}
