//! The `check` driver: everything in memory, in one order — read → prepare → rules →
//! matching (features, blocking, model, decisions, clusters, links) → outputs. It owns no
//! logic of its own beyond that order: every step is a function of the core.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::Config;
use crate::core::{CheckInput, Column, Context, Finding, Prepared, RowRef, SourceKind, Table};
use crate::dates::PDate;
use crate::ensure;
use crate::error::Result;
use crate::matching::model::{CommonNames, Model, NameCounts};
use crate::matching::saved::{self, ModelFile};
use crate::matching::{self, blocking, cluster, decide, features, link, training, MatchResult};
use crate::output::Staging;
use crate::phase::Phases;
use crate::read::{read_data, SourceData, Warnings};
use crate::report::{self, View};
use crate::summary::{MemoryPlan, Summary};

/// Everything `check` needs, parsed from the command line.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub residents: Vec<PathBuf>,
    pub vaccination: Option<PathBuf>,
    pub insurance: Option<PathBuf>,
    pub extracts: Vec<(String, PathBuf)>,
    pub cmnd_map: Option<PathBuf>,
    pub deaths: Option<PathBuf>,
    /// Birth registrations (`--births`, hộ tịch khai sinh).
    pub births: Option<PathBuf>,
    pub province: Option<String>,
    pub as_of: PDate,
    pub config: Config,
    pub out: PathBuf,
    pub quiet: bool,
    pub group_readable: bool,
    /// A former run's output directory to compare with.
    pub previous: Option<PathBuf>,
    /// A saved matching model to reuse instead of estimating one.
    pub model: Option<PathBuf>,
    /// Estimate the model anew even when `--previous` has one.
    pub retrain: bool,
    /// Returned fix lists or verdict tables (`--verdicts`).
    pub verdicts: Vec<PathBuf>,
    /// Sources handed over in memory (the Python package), beside or instead of files: name
    /// (`residents`, `vaccination`, `insurance`, `births`, `cmnd_map`, `deaths` or an extract's
    /// name), kind and batches.
    pub tables: Vec<(String, SourceKind, SourceData)>,
    /// A memory budget in bytes (`--memory-gb`): when the run's estimated need
    /// ([`estimated_need`]) is over it, the input columns are held on disk, memory-mapped.
    /// None: nine tenths of the memory available when the run starts ([`memory_plan`]).
    pub memory: Option<u64>,
}

/// What a finished run hands back to the caller (the printed summary is built from it).
pub struct CheckOutcome {
    pub summary: Summary,
    /// Configured thresholds this run exceeded (the binary exits with code 3).
    pub breached: Vec<String>,
}

/// What a run needs at its peak, estimated from its inputs: the columns held in memory take
/// about 1.9 times a Parquet file's bytes and about a CSV's (text, with repeated values kept
/// once), an XLSX file's about three times; the phases after reading need about 1.3 times the
/// columns again (the matcher's records, parsed facts, findings, blocking). Measured at 10 M
/// people with every source: 1.53 GB of Parquet, 2.9 GB of columns, a 6.7 GB peak.
pub fn estimated_need(jobs: &[(String, SourceKind, SourceData)]) -> u64 {
    let columns: f64 = jobs
        .iter()
        .map(|(_, _, data)| match data {
            SourceData::Files(paths) => paths
                .iter()
                .map(|p| {
                    let bytes = std::fs::metadata(p).map_or(0, |m| m.len()) as f64;
                    let ext = p
                        .extension()
                        .map(|e| e.to_string_lossy().to_ascii_lowercase())
                        .unwrap_or_default();
                    match ext.as_str() {
                        "parquet" | "pq" => 1.9 * bytes,
                        "xlsx" | "xls" => 3.0 * bytes,
                        _ => bytes,
                    }
                })
                .sum::<f64>(),
            SourceData::Batches(_, batches) => batches
                .iter()
                .map(|b| b.get_array_memory_size() as f64)
                .sum(),
        })
        .sum();
    (columns * 2.3) as u64
}

/// `t` with its columns held on disk (a scratch file in the run's staging directory, removed
/// once mapped): [`crate::read::on_disk`]. Elsewhere than Linux, `t` as it is.
fn hold_on_disk(t: Table, dir: &Path) -> Result<Table> {
    #[cfg(target_os = "linux")]
    let t = {
        let mut t = t;
        let moved = crate::read::on_disk::hold_on_disk(&mut t, dir)?;
        crate::phase::note(&format!(
            "{}: {} MB of columns held on disk",
            t.name,
            moved >> 20
        ));
        t
    };
    #[cfg(not(target_os = "linux"))]
    let _ = dir;
    Ok(t)
}

/// `rows` held on disk ([`crate::read::on_disk::hold_rows`]); elsewhere than Linux, as they are.
fn hold_rows<T: Copy + Sync + 'static>(
    rows: crate::core::Rows<T>,
    dir: &Path,
    name: &str,
) -> Result<crate::core::Rows<T>> {
    #[cfg(target_os = "linux")]
    return crate::read::on_disk::hold_rows(rows, dir, name);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (dir, name);
        Ok(rows)
    }
}

/// The sources read (residents first), the CMND crosswalk and the deaths, and the memory plan
/// (whether their columns are held on disk).
type Inputs = (Vec<Table>, Option<Table>, Option<Table>, MemoryPlan);

/// Read every input: the sources (residents first) and the reference inputs.
fn read_all(opts: &CheckOptions, staging_dir: &Path, warnings: &mut Warnings) -> Result<Inputs> {
    let mut jobs: Vec<(String, SourceKind, Vec<PathBuf>)> = Vec::new();
    if !opts.residents.is_empty() {
        jobs.push((
            "residents".into(),
            SourceKind::Residents,
            opts.residents.clone(),
        ));
    }
    if let Some(p) = &opts.vaccination {
        jobs.push((
            "vaccination".into(),
            SourceKind::Vaccination,
            vec![p.clone()],
        ));
    }
    if let Some(p) = &opts.insurance {
        jobs.push(("insurance".into(), SourceKind::Insurance, vec![p.clone()]));
    }
    for (name, p) in &opts.extracts {
        jobs.push((name.clone(), SourceKind::Extract, vec![p.clone()]));
    }
    if let Some(p) = &opts.births {
        jobs.push(("births".into(), SourceKind::Births, vec![p.clone()]));
    }
    if let Some(p) = &opts.cmnd_map {
        jobs.push(("cmnd_map".into(), SourceKind::CmndMap, vec![p.clone()]));
    }
    if let Some(p) = &opts.deaths {
        jobs.push(("deaths".into(), SourceKind::Deaths, vec![p.clone()]));
    }
    let mut jobs: Vec<(String, SourceKind, SourceData)> = jobs
        .into_iter()
        .map(|(name, kind, paths)| (name, kind, SourceData::Files(paths)))
        .collect();
    jobs.extend(opts.tables.iter().cloned());
    // Residents first, as the engine numbers sources.
    jobs.sort_by_key(|(_, kind, _)| *kind != SourceKind::Residents);
    // Over the budget, each source's columns go to disk as soon as it is read, and the
    // sources are read one after the other (each file's columns are still decoded in
    // parallel): no more than one source's columns are in memory at once.
    let plan = memory_plan(
        opts.memory,
        estimated_need(&jobs),
        crate::machine::memory_room,
    );
    let on_disk = plan.inputs_on_disk;
    let read = |(name, kind, data): &(String, SourceKind, SourceData)| {
        let mut w = Warnings::new();
        let t = read_data(name, *kind, data, &opts.config, &mut w);
        let t = match t {
            Ok(t) if on_disk => hold_on_disk(t, staging_dir),
            t => t,
        };
        (t, w)
    };
    let results: Vec<(Result<Table>, Warnings)> = if on_disk {
        jobs.iter().map(read).collect()
    } else {
        jobs.par_iter().map(read).collect()
    };
    let mut sources = Vec::new();
    let (mut cmnd_map, mut deaths) = (None, None);
    for (r, w) in results {
        warnings.extend(w);
        let t = r?;
        match t.kind {
            SourceKind::CmndMap => cmnd_map = Some(t),
            SourceKind::Deaths => deaths = Some(t),
            _ => sources.push(t),
        }
    }
    Ok((sources, cmnd_map, deaths, plan))
}

/// Whether the inputs are held on disk: when the run's estimated need is over the budget —
/// `--memory-gb`, or else nine tenths of what the machine has available (`room`), so that a
/// province larger than the workstation's memory runs on the first try instead of being
/// killed by the OS.
fn memory_plan(memory_gb: Option<u64>, need: u64, room: impl Fn() -> Option<u64>) -> MemoryPlan {
    let (budget, from) = match memory_gb {
        Some(b) => (Some(b), "memory_gb"),
        None => match room() {
            Some(r) => (Some(r / 10 * 9), "machine"),
            None => (None, ""),
        },
    };
    MemoryPlan {
        estimated_need_bytes: need,
        budget_bytes: budget,
        budget_from: from.to_string(),
        inputs_on_disk: budget.is_some_and(|b| need > b),
    }
}

/// What the rules and matching read besides the sources, from the options.
fn context<'a>(
    opts: &'a CheckOptions,
    tables: &[Table],
    cmnd_map: Option<&'a Table>,
    deaths: Option<&'a Table>,
) -> Context<'a> {
    Context {
        cmnd_map,
        deaths,
        as_of: opts.as_of,
        province: opts.province.as_deref(),
        matching: opts.config.matching,
        alive: opts.config.alive,
        residence: opts.config.residence.clone(),
        expected: tables
            .iter()
            .map(|t| opts.config.expected_fields_for(&t.name, t.kind))
            .collect(),
    }
}

/// Duplicates, shared IDs and links over the prepared input, each step timed; with `reuse`,
/// that model (applied to this register's size) instead of one estimated here. Returns the
/// model used too. `deciding` says how rows owed a link are decided (the answer is the same).
/// `implied_levels`: a pair its cluster implies carries its levels (`check`), or none, as
/// `dedup`'s partitions list such pairs without the records' features.
pub fn match_all(
    input: &CheckInput,
    rule_findings: &[Finding],
    phases: &mut Phases,
    reuse: Option<&Model>,
    deciding: link::Deciding,
    implied_levels: bool,
) -> (MatchResult, Model) {
    let (residents, prepared) = input.residents();
    let cfg = input.matching;
    let (recs, names, common) = phases.run("matching.features", || {
        let mut recs = features::features(residents, prepared);
        // A reused model judges with the names its own register counted as common, so that a
        // night's new records do not move an untouched pair's levels.
        let names = reuse.is_none().then(|| NameCounts::of(&recs));
        let common = match (reuse, &names) {
            // As the model judges this register (and as the Spark driver, which is given it).
            (Some(m), _) => CommonNames::of_model(&m.for_records(recs.len())),
            (_, Some(n)) => CommonNames::of_counts(n, recs.len()),
            (None, None) => unreachable!("names are counted when no model is reused"),
        };
        common.mark(&mut recs);
        (recs, names, common)
    });
    // What linking will look up is known from the rules: the residents' index for linking
    // keeps only those blocks.
    let plan = phases.run("matching.link.plan", || {
        let mut plan = link::LinkPlan::new(input, rule_findings);
        plan.mark_common(&common);
        plan
    });
    drop(common);
    let keys = plan.keys();
    let mut cands = phases.run("matching.blocking", || {
        blocking::candidates_keeping(
            &recs,
            cfg.max_block_size,
            &blocking::Wider::default(),
            &keys,
        )
    });
    drop(keys);
    let (model, training) = phases.run("matching.em", || {
        if let Some(m) = reuse {
            let report = training::TrainingReport {
                method: "reused",
                rounds: Vec::new(),
                warning: None,
                namesake_share: None,
            };
            return (m.for_records(recs.len()), report);
        }
        let sessions = training::sessions(&recs);
        let identifier_pairs: f64 = sessions.iter().map(|s| s.total_pairs).sum();
        // Above 2^20 records, u (and, without IDs, the candidate rounds) come from the
        // uniform sample `dedup` takes, so that both commands (and Spark) give one answer.
        let sampled: Option<Vec<features::Rec>> = (recs.len() > crate::dedup::SAMPLE).then(|| {
            let rows = crate::dedup::sampled_rows(recs.len());
            rows.iter().map(|&r| recs[r as usize].clone()).collect()
        });
        let sample = sampled.as_deref().unwrap_or(&recs);
        let rounds = if identifier_pairs >= training::MIN_IDENTIFIER_PAIRS {
            training::CandidateRounds::none()
        } else if sampled.is_some() {
            let cap = cfg.max_block_size;
            training::rounds(sample, &blocking::candidates(sample, cap))
        } else {
            training::rounds(&recs, &cands)
        };
        let names = names.as_ref().expect("counted when no model is reused");
        training::train(sample, recs.len(), names, &sessions, &rounds)
    });
    let valid = |r: u32| prepared.rows[r as usize].pid.is_valid();
    let judge = decide::Judge {
        model: &model,
        threshold: cfg.threshold,
        review: cfg.review_threshold,
        records: recs.len(),
    };
    let mut judged = phases.run("matching.decide", || {
        decide::judge(
            &judge,
            &cands.pairs,
            &|i| (&recs[i as usize], valid(i)),
            &|i| i,
        )
    });
    let rid = input.cols[0][Column::RecordId];
    decide::order_pairs(&mut judged.pairs, |r| rid.get(r.row as usize));
    let mut review = std::mem::take(&mut judged.review);
    let parents = judged.parents();
    let apart = cluster::cluster_kin(recs.len(), &mut judged.pairs, &mut review, &parents);
    cluster::set_apart(&mut judged.pairs, &mut review, &apart);
    decide::order_pairs(&mut judged.pairs, |r| rid.get(r.row as usize));
    decide::order_review(&mut review, |r| rid.get(r.row as usize));
    let joined = |a: u32, b: u32| {
        let (ra, rb) = (&recs[a as usize], &recs[b as usize]);
        let levels = match implied_levels {
            true => matching::comparisons::compare(ra, rb).explain(),
            false => String::new(),
        };
        (ra.province == rb.province, levels)
    };
    cluster::add_implied(&mut judged.pairs, &mut review, &joined, |r| {
        rid.get(r.row as usize)
    });
    // IDs carried by more records than one person has: one finding per record; their pairs
    // (proposed by other passes) are not reported again two by two.
    let mut crowded: Vec<u64> = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();
    for g in input.pid_index.shared_groups() {
        if g.len() > blocking::CROWDED_ID {
            let rows: Vec<u32> = g.iter().map(|e| e.1).collect();
            findings.extend(decide::crowded_id_findings(&rows, g[0].0));
            crowded.push(g[0].0);
        }
    }
    crowded.sort_unstable();
    findings.extend(
        judged
            .shared
            .iter()
            .filter(|s| crowded.binary_search(&s.2).is_err())
            .flat_map(|&(a, b, pid)| decide::shared_findings(a, b, pid)),
    );
    findings.extend(judged.pairs.iter().flat_map(decide::duplicate_findings));
    findings.extend(review.iter().flat_map(decide::review_findings));
    let examples = matching::explain_examples(
        &judged.pairs,
        |r| recs.get(r.row as usize),
        &model,
        |r| rid.get(r.row as usize).to_string(),
    );
    let clusters = cluster::members_of(input, &judged.pairs);
    phases.lap("matching.cluster");
    let index = link::LinkIndex::from_sorted(
        &recs,
        std::mem::take(&mut cands.link_rows),
        Some(&input.pid_index),
    );
    let linked = phases.run("matching.link", || {
        link::link_extracts(input, &plan, &index, &model, &clusters, deciding)
    });
    findings.extend(linked.findings);
    review.extend(linked.review);
    let result = MatchResult {
        pairs: judged.pairs,
        review,
        clusters,
        links: linked.links,
        findings,
        id_shared_pairs: judged.shared.len(),
        blocks_skipped: cands.skipped,
        pairs_compared: cands.pairs.len(),
        pairs_per_pass: cands.per_pass,
        model: Some(matching::summarise(&model)),
        training,
        linking: linked.stats,
        examples,
    };
    (result, model)
}

/// Run `check`: every phase, every output, atomically.
pub fn check(opts: &CheckOptions) -> Result<CheckOutcome> {
    opts.validate()?;
    let previous = opts
        .previous
        .as_deref()
        .map(crate::nightly::load_previous)
        .transpose()?;
    // The output directory first: a file given as --out, or a directory another run is
    // writing to, is refused before any work.
    let staging = Staging::new(&opts.out, opts.group_readable)?;
    let mut phases = Phases::new(opts.quiet).with_steps(crate::phase::CHECK_STEPS);
    let mut warnings = Warnings::new();

    let (tables, cmnd_map, deaths, memory) =
        phases.run("read", || read_all(opts, staging.dir(), &mut warnings))?;
    let on_disk = memory.inputs_on_disk;
    phases.set_rows(tables.iter().map(Table::len).sum());
    for t in &tables {
        if !t.column(Column::PersonalId).is_present() {
            warnings.push(format!(
                "{}: there is no personal_id column; ID rules are skipped for it",
                t.name
            ));
        }
    }
    let residence_columns = tables.iter().any(|t| {
        t.kind == SourceKind::Residents
            && (t.column(Column::TempCommuneCode).is_present()
                || t.column(Column::ResidenceType).is_present())
    });
    if !residence_columns {
        let bearing: Vec<&str> = tables
            .iter()
            .filter(|t| {
                opts.config.residence.bears_residence(&t.name, t.kind)
                    && t.column(Column::CommuneCode).is_present()
            })
            .map(|t| t.name.as_str())
            .collect();
        if !bearing.is_empty() {
            warnings.push(format!(
                "residence.not_registered is not checked: the residents have no temp_commune_code or residence_type column, so nobody's temporary residence is known (extracts that place people: {})",
                bearing.join(", ")
            ));
        }
    }
    if let Some(p) = opts.province.as_deref() {
        let residents_in: usize = tables
            .iter()
            .filter(|t| t.kind == SourceKind::Residents)
            .map(|t| {
                let c = t.column(Column::ProvinceCode);
                (0..t.len()).filter(|&r| c.get(r) == p).count()
            })
            .sum();
        if residents_in == 0 {
            warnings.push(format!(
                "no resident lives in province {p}: nothing is in scope, so the run reports nothing; check --province"
            ));
        }
    }
    // The officers' verdicts: those kept by the previous run, then the returned lists.
    let mut verdicts = crate::verdicts::Verdicts::default();
    let as_of_text = opts.as_of.to_string();
    let kept = opts
        .previous
        .as_deref()
        .map(|d| d.join("verdicts.parquet"))
        .filter(|p| p.exists());
    for paths in [kept.into_iter().collect::<Vec<_>>(), opts.verdicts.clone()] {
        verdicts.extend(crate::verdicts::read_verdicts(
            &paths,
            &tables,
            &as_of_text,
            &mut warnings,
        )?);
    }
    let mut prepared: Vec<Prepared> =
        phases.run("prepare", || tables.iter().map(Prepared::new).collect());
    if on_disk {
        // The parsed facts too (20 bytes a row of every source): read in order by the rules
        // and the features, and by row where a record is linked or listed.
        for (p, t) in prepared.iter_mut().zip(&tables) {
            p.rows = hold_rows(std::mem::take(&mut p.rows), staging.dir(), &t.name)?;
        }
        crate::phase::note("parsed facts held on disk");
    }
    let ctx = context(opts, &tables, cmnd_map.as_ref(), deaths.as_ref());
    let input = CheckInput::new(&tables, &prepared, ctx);
    let mut findings: Vec<Finding> = phases.run("rules", || crate::rules::run_rules(&input));
    if let Some(prev) = previous
        .as_ref()
        .filter(|_| opts.model.is_none() && !opts.retrain)
    {
        warnings.extend(crate::nightly::unreadable_model_warning(prev));
    }
    let (reuse, reused_from) = crate::nightly::model_to_reuse(
        opts.model.as_deref(),
        opts.retrain,
        previous
            .as_ref()
            .and_then(|p| p.model.as_ref().map(|m| (p.dir.as_path(), m))),
    )?;
    let (mut matches, model) = match_all(
        &input,
        &findings,
        &mut phases,
        reuse.as_ref(),
        link::Deciding::Whole,
        true,
    );
    warnings.extend(matches.training.warning.clone());
    if matches.blocks_skipped > 0 {
        warnings.push(format!(
            "{} candidate pairs were not compared: they are in blocks of more than {} records sharing one key (a name and birth date, an ID) — set [matching] max_block_size higher to compare them",
            matches.blocks_skipped, opts.config.matching.max_block_size
        ));
    }
    let previous_model = previous.as_ref().and_then(|p| p.model.as_ref());
    if let Some(prev) = &previous {
        crate::nightly::keep_cluster_ids(&input, &mut matches, prev);
    }
    findings.extend(std::mem::take(&mut matches.findings));
    phases.run("matching.probably_deceased", || {
        let links: Vec<(RowRef, u32)> = matches.links.iter().map(|l| (l.at, l.resident)).collect();
        let cluster_of = matches
            .clusters
            .iter()
            .filter(|m| m.at.source == 0)
            .map(|m| (m.at.row, m.cluster))
            .collect();
        findings.extend(crate::rules::alive::probably_deceased(
            &input,
            &links,
            &cluster_of,
        ));
    });
    findings.par_sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let findings = verdicts.apply_to_run(findings, &mut matches, &input);

    let view = View::new(
        &input,
        findings,
        &matches,
        opts.province.as_deref(),
        previous.as_ref(),
    );
    // The Parquet tables and the communes' fix lists are written side by side: each has
    // serial stretches (one file's row groups, one commune's workbook) the other fills, as
    // does the summary's tally (one thread's pass over the findings).
    let tally = phases.run("outputs", || {
        let ((tables, tally), lists) = rayon::join(
            || {
                rayon::join(
                    || {
                        crate::phase::traced("outputs.tables", || {
                            report::write_tables(&staging, &view, &opts.config)
                        })
                    },
                    || report::summary::Tally::of_view(&view),
                )
            },
            || {
                crate::phase::traced("outputs.fixlists", || {
                    report::write_fixlists(&staging, &view, &opts.config)
                })
            },
        );
        tables.and(lists).map(|()| tally)
    })?;
    let laps = phases.finish();
    let rule_stats = report::summary::rule_stats(&tally, &opts.config);
    let breached = crate::nightly::breached(&opts.config.thresholds, &rule_stats);
    let facts = report::summary::RunFacts {
        as_of: opts.as_of.to_string(),
        province: opts.province.clone(),
        warnings: &warnings,
        timings: crate::summary::timings(&laps),
        config: &opts.config,
    };
    let mut summary = report::summary::build(tally, facts, rule_stats, breached.clone());
    summary.verdicts = verdicts.stats.clone();
    summary.memory = Some(memory);
    if !verdicts.is_empty() {
        let (schema, batch) = verdicts.batch()?;
        staging.write_parquet("verdicts.parquet", schema, &[batch])?;
    }
    let training = &mut summary.duplicates.training;
    training.reused_from = reused_from;
    if reuse.is_none() {
        training.change_from_previous = previous_model.map(|p| saved::change(p, &model));
    }
    let model_file = ModelFile::of(&model, matches.training.method, opts.config.matching);
    let model_json = serde_json::to_string_pretty(&model_file).map_err(crate::Error::internal)?;
    staging.write_bytes("model.json", model_json.as_bytes())?;
    staging.write_bytes(
        "summary.json",
        crate::summary::to_json(&summary)?.as_bytes(),
    )?;
    let probabilities: Vec<f64> = view.pairs.iter().map(|p| p.probability).collect();
    staging.write_bytes(
        "report.html",
        report::html::render(&summary, &probabilities).as_bytes(),
    )?;
    staging.commit()?;
    Ok(CheckOutcome { summary, breached })
}

impl CheckOptions {
    /// Options with no source yet, the default settings, quiet, outputs owner-only, no
    /// previous run, model or verdicts: a caller adds its sources.
    pub fn new(as_of: PDate, out: PathBuf) -> Self {
        CheckOptions {
            residents: Vec::new(),
            vaccination: None,
            insurance: None,
            extracts: Vec::new(),
            cmnd_map: None,
            deaths: None,
            births: None,
            province: None,
            as_of,
            config: Config::default(),
            out,
            quiet: true,
            group_readable: false,
            previous: None,
            model: None,
            retrain: false,
            verdicts: Vec::new(),
            tables: Vec::new(),
            memory: None,
        }
    }

    /// Check what can be checked before any input is read: the command line calls it where it
    /// builds the options, and [`check`] calls it for library callers.
    pub fn validate(&self) -> Result<()> {
        let in_memory = |kind: SourceKind| self.tables.iter().filter(move |t| t.1 == kind);
        ensure!(
            !self.residents.is_empty() || in_memory(SourceKind::Residents).count() > 0,
            usage: "check needs at least one --residents FILE"
        );
        ensure!(
            in_memory(SourceKind::Residents).count() == 0 || self.residents.is_empty(),
            usage: "check reads the residents from files or from a table in memory, not both"
        );
        for (name, kind, _) in &self.tables {
            let file_given = match kind {
                SourceKind::Residents => false,
                SourceKind::Vaccination => self.vaccination.is_some(),
                SourceKind::Insurance => self.insurance.is_some(),
                SourceKind::Births => self.births.is_some(),
                SourceKind::CmndMap => self.cmnd_map.is_some(),
                SourceKind::Deaths => self.deaths.is_some(),
                SourceKind::Extract => self.extracts.iter().any(|(n, _)| n == name),
            };
            ensure!(
                !file_given && self.tables.iter().filter(|t| &t.0 == name).count() == 1,
                usage: "the {name} source is given twice"
            );
        }
        let reserved = [
            "residents",
            "vaccination",
            "insurance",
            "births",
            "cmnd_map",
            "deaths",
        ];
        let names: Vec<&str> = self
            .extracts
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(
                self.tables
                    .iter()
                    .filter(|t| t.1 == SourceKind::Extract)
                    .map(|t| t.0.as_str()),
            )
            .collect();
        for name in &names {
            ensure!(
                !name.is_empty() && !reserved.contains(name),
                usage: "--extract NAME=FILE: \"{name}\" cannot be used as an extract name"
            );
            ensure!(
                names.iter().filter(|n| *n == name).count() == 1,
                usage: "--extract {name} is given twice"
            );
        }
        // One file given twice (under two options, or twice as --residents) would count its
        // rows twice: refused by name.
        let mut inputs: Vec<(&str, &PathBuf)> =
            self.residents.iter().map(|p| ("--residents", p)).collect();
        inputs.extend(self.vaccination.iter().map(|p| ("--vaccination", p)));
        inputs.extend(self.insurance.iter().map(|p| ("--insurance", p)));
        inputs.extend(self.extracts.iter().map(|(_, p)| ("--extract", p)));
        inputs.extend(self.cmnd_map.iter().map(|p| ("--cmnd-map", p)));
        inputs.extend(self.deaths.iter().map(|p| ("--deaths", p)));
        inputs.extend(self.births.iter().map(|p| ("--births", p)));
        let canonical = |p: &PathBuf| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        for (i, (flag, p)) in inputs.iter().enumerate() {
            if let Some((other, _)) = inputs[..i]
                .iter()
                .find(|(_, q)| canonical(q) == canonical(p))
            {
                return Err(crate::Error::usage(format!(
                    "{} is given twice (as {other} and as {flag}); give each file once",
                    p.display()
                )));
            }
        }
        ensure!(
            !(self.model.is_some() && self.retrain),
            usage: "--model and --retrain cannot be given together: --model reuses a model, --retrain estimates a new one"
        );
        if let Some(p) = &self.province {
            ensure!(
                p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()),
                usage: "--province takes a 2-digit province code, not \"{p}\""
            );
            ensure!(
                crate::reference::reference().is_province_code(p),
                usage: "--province {p} is not a province code (the 34 provinces of 2025, or the 63 before)"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::synth::generate::{generate, GenOptions, Noise};

    #[test]
    fn the_inputs_go_to_disk_when_the_run_would_not_fit_the_budget_or_the_machine() {
        const GB: u64 = 1 << 30;
        // --memory-gb decides, whatever the machine has.
        let plan = memory_plan(Some(6 * GB), 9 * GB, || Some(100 * GB));
        assert!(plan.inputs_on_disk);
        assert_eq!(
            (plan.budget_bytes, plan.budget_from.as_str()),
            (Some(6 * GB), "memory_gb")
        );
        assert!(!memory_plan(Some(10 * GB), 9 * GB, || Some(GB)).inputs_on_disk);
        // Without it, the machine's available memory with a tenth kept free: a 14 M province
        // (9.4 GB) on a workstation with 10 GB free is held on disk, not killed by the OS.
        let plan = memory_plan(None, 9_400_000_000, || Some(10_000_000_000));
        assert!(plan.inputs_on_disk);
        assert_eq!(plan.budget_from, "machine");
        assert!(!memory_plan(None, 9_400_000_000, || Some(24 * GB)).inputs_on_disk);
        // Nothing known: in memory, as before.
        let plan = memory_plan(None, 1 << 50, || None);
        assert!(!plan.inputs_on_disk);
        assert_eq!(plan.budget_bytes, None);
    }

    /// Generated people in two provinces with many duplicates and errors (crowded blocks and
    /// clusters), with IDs, written to `out`.
    fn crowded(out: &std::path::Path, noise: Noise, people: usize, seed: u64) {
        generate(&GenOptions {
            out: out.to_path_buf(),
            people,
            provinces: 2,
            seed,
            dup_rate: 0.08,
            error_rate: 0.05,
            noise,
            without_ids: false,
            quiet: true,
        })
        .unwrap();
    }

    /// What linking gave, as text to compare: links, link and birth findings, rows for review
    /// and the per-source statistics.
    fn linked(m: &MatchResult) -> Vec<String> {
        let mut out: Vec<String> = m.links.iter().map(|l| format!("{l:?}")).collect();
        out.extend(
            m.findings
                .iter()
                .filter(|f| {
                    let code = f.rule.code();
                    code.starts_with("link.")
                        || code.starts_with("birth.")
                        || code == "alive.deceased_active"
                })
                .map(|f| format!("{f:?}")),
        );
        out.extend(m.review.iter().map(|r| format!("{r:?}")));
        out.extend(m.linking.iter().map(|s| format!("{s:?}")));
        out
    }

    /// Rows owed a link decided as a partitioned driver decides them — candidates from every
    /// resident's blocks of each linking pass and the IDs a mistyped ID could have been, then
    /// group by group against only the residents each group needs (`link::LinkGroup`: the
    /// candidates, the resident a row's ID points to, the records kept for their clusters) —
    /// get the links `check`'s own index gives.
    #[test]
    fn rows_linked_group_by_group_get_the_links_of_the_whole_register() {
        let dir = std::env::temp_dir().join(format!("lamsach-link-groups-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut ambiguous = 0;
        // The default block cap, and a cap of 4 under which a pass keeps only the first rows
        // of most blocks in its scope (so a block gathered in part, or out of row order,
        // changes the candidates).
        for (noise, cap) in [
            (Noise::Standard, None),
            (Noise::Registers, None),
            (Noise::Registers, Some(4)),
        ] {
            let data = dir.join(format!("{noise:?}-{cap:?}"));
            crowded(&data, noise, 12_000, 11);
            let p = |f: &str| data.join(format!("{f}.parquet"));
            let mut opts = CheckOptions::new(PDate::new(2026, 1, 1), dir.join("out"));
            opts.residents = vec![p("residents")];
            opts.vaccination = Some(p("vaccination"));
            opts.insurance = Some(p("insurance"));
            opts.cmnd_map = Some(p("cmnd_map"));
            opts.deaths = Some(p("deaths"));
            opts.births = Some(p("births"));
            if let Some(cap) = cap {
                opts.config.matching.max_block_size = cap;
            }
            let (tables, cmnd_map, deaths, _) =
                read_all(&opts, &std::env::temp_dir(), &mut Warnings::new()).unwrap();
            let prepared: Vec<Prepared> = tables.iter().map(Prepared::new).collect();
            let ctx = context(&opts, &tables, cmnd_map.as_ref(), deaths.as_ref());
            let input = CheckInput::new(&tables, &prepared, ctx);
            let rules = crate::rules::run_rules(&input);
            let run = |deciding| {
                let mut phases = Phases::new(true);
                match_all(&input, &rules, &mut phases, None, deciding, true).0
            };
            let whole = run(link::Deciding::Whole);
            let want = linked(&whole);
            let count = |code: &str| {
                whole
                    .findings
                    .iter()
                    .filter(|f| f.rule.code() == code)
                    .count()
            };
            // Every kind of row owed a link is on this data.
            assert!(
                whole.links.len() > 100,
                "{noise:?}: {} links",
                whole.links.len()
            );
            ambiguous += count("link.ambiguous");
            assert!(count("birth.no_resident") + count("birth.mismatch") > 0);
            for deciding in [
                link::Deciding::Groups(3),
                link::Deciding::Groups(50),
                link::Deciding::Parts(3),
            ] {
                let got = linked(&run(deciding));
                let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).take(3).collect();
                let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).take(3).collect();
                assert!(
                    got == want,
                    "{noise:?}, cap {cap:?}, {deciding:?}: {} of {} missing, {} extra; e.g. {missing:?} / {extra:?}",
                    want.iter().filter(|w| !got.contains(w)).count(),
                    want.len(),
                    got.iter().filter(|g| !want.contains(g)).count(),
                );
            }
        }
        assert!(ambiguous > 0, "no row fits several residents");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The personal-ID step of the distributed linking (`kernels::link::{link_rows, by_id}`,
    /// the IDs split into three parts) finds what `check` finds: whether a resident carries a
    /// row's ID, the resident an extract row's `xref.mismatch` on full_name names (the row is
    /// owed a link to check against them), and the resident a birth registration's ID finds.
    #[test]
    fn rows_found_by_id_in_parts_are_those_check_finds() {
        use crate::core::Rule;
        use crate::kernels::link as k;
        use arrow_array::{
            Array, ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray,
        };
        use std::sync::Arc;
        let dir = std::env::temp_dir().join(format!("lamsach-by-id-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        crowded(&dir, Noise::Registers, 6_000, 13);
        let p = |f: &str| dir.join(format!("{f}.parquet"));
        let mut opts = CheckOptions::new(PDate::new(2026, 1, 1), dir.join("out"));
        opts.residents = vec![p("residents")];
        opts.vaccination = Some(p("vaccination"));
        opts.insurance = Some(p("insurance"));
        opts.births = Some(p("births"));
        let (tables, cmnd_map, deaths, _) =
            read_all(&opts, &std::env::temp_dir(), &mut Warnings::new()).unwrap();
        let prepared: Vec<Prepared> = tables.iter().map(Prepared::new).collect();
        let ctx = context(&opts, &tables, cmnd_map.as_ref(), deaths.as_ref());
        let input = CheckInput::new(&tables, &prepared, ctx);
        let rules = crate::rules::run_rules(&input);
        // Each source's rows as the kernels read them: (key, side, src, row, valid, name, birth).
        let names = ["residents", "vaccination", "insurance", "births"];
        let mut entries = Vec::new();
        for (s, name) in names.iter().enumerate() {
            assert_eq!(tables[s].name, *name);
            let rows: Vec<i64> = (0..tables[s].len() as i64).collect();
            let data = crate::read::SourceData::Files(vec![p(name)]);
            let b = k::link_rows(name, tables[s].kind, &data, &rows, &opts.config).unwrap();
            let col = |n: &str| b.column_by_name(n).unwrap().clone();
            let (usable, valid, names, birth) =
                (col("usable_id"), col("valid"), col("name"), col("birth"));
            let usable = usable.as_any().downcast_ref::<Int64Array>().unwrap();
            let valid = valid.as_any().downcast_ref::<BooleanArray>().unwrap();
            let names = names.as_any().downcast_ref::<StringArray>().unwrap();
            let birth = birth.as_any().downcast_ref::<Int32Array>().unwrap();
            for r in 0..b.num_rows() {
                let resident = s == 0;
                if usable.is_null(r) || (resident && !valid.value(r)) {
                    continue;
                }
                let side = if resident { 0 } else { 1 };
                let src = if resident { -1 } else { s as i32 };
                let birth = (!birth.is_null(r)).then(|| birth.value(r));
                let name = names.value(r).to_string();
                entries.push((
                    usable.value(r),
                    side,
                    src,
                    r as i64,
                    valid.value(r),
                    name,
                    birth,
                ));
            }
        }
        entries.sort_by_key(|e| (e.0, e.1, e.3));
        let mut found = std::collections::BTreeMap::new();
        for part in 0..3u32 {
            let e: Vec<_> = entries
                .iter()
                .filter(|e| crate::kernels::key_part(e.0 as u64, 3) == part)
                .collect();
            let batch = RecordBatch::try_from_iter([
                (
                    "key",
                    Arc::new(Int64Array::from_iter_values(e.iter().map(|e| e.0))) as ArrayRef,
                ),
                (
                    "side",
                    Arc::new(Int32Array::from_iter_values(e.iter().map(|e| e.1))) as ArrayRef,
                ),
                (
                    "src",
                    Arc::new(Int32Array::from_iter_values(e.iter().map(|e| e.2))) as ArrayRef,
                ),
                (
                    "row",
                    Arc::new(Int64Array::from_iter_values(e.iter().map(|e| e.3))) as ArrayRef,
                ),
                (
                    "valid",
                    Arc::new(BooleanArray::from_iter(e.iter().map(|e| Some(e.4)))) as ArrayRef,
                ),
                (
                    "name",
                    Arc::new(StringArray::from_iter_values(e.iter().map(|e| &e.5))) as ArrayRef,
                ),
                (
                    "birth",
                    Arc::new(Int32Array::from_iter(e.iter().map(|e| e.6))) as ArrayRef,
                ),
            ])
            .unwrap();
            let out = k::by_id(&batch, &[3]).unwrap();
            let col = |n: &str| out.column_by_name(n).unwrap().clone();
            let (src, row, f, owner, born) = (
                col("src"),
                col("row"),
                col("found"),
                col("owner"),
                col("birth_resident"),
            );
            let src = src.as_any().downcast_ref::<Int32Array>().unwrap();
            let row = row.as_any().downcast_ref::<Int64Array>().unwrap();
            let f = f.as_any().downcast_ref::<BooleanArray>().unwrap();
            let owner = owner.as_any().downcast_ref::<Int64Array>().unwrap();
            let born = born.as_any().downcast_ref::<Int64Array>().unwrap();
            let opt = |a: &Int64Array, i: usize| (!a.is_null(i)).then(|| a.value(i) as u32);
            for i in 0..out.num_rows() {
                let at = (src.value(i) as usize, row.value(i) as usize);
                found.insert(at, (f.value(i), opt(owner, i), opt(born, i)));
            }
        }
        // What check finds.
        let owners: std::collections::BTreeMap<(usize, usize), u32> = rules
            .iter()
            .filter(|f| f.rule == Rule::XrefMismatch && f.field == Some(Column::FullName))
            .map(|f| {
                (
                    (f.at.source as usize, f.at.row as usize),
                    f.related.unwrap().row,
                )
            })
            .collect();
        let births = link::births_by_id(&input, 3);
        let (mut n_owners, mut n_births, mut n_unknown) = (0, 0, 0);
        for s in 1..4 {
            for r in 0..tables[s].len() {
                let Some(id) = prepared[s].rows[r].pid.personal_id() else {
                    assert!(!found.contains_key(&(s, r)), "a row without a usable ID");
                    continue;
                };
                let (f, owner, born) = found[&(s, r)];
                assert_eq!(f, input.pid_index.rows(id).next().is_some(), "{s} {r}");
                n_unknown += usize::from(!f);
                if s == 3 {
                    assert_eq!(born, births[r], "birth {r}");
                    n_births += usize::from(born.is_some());
                } else {
                    assert_eq!(owner, owners.get(&(s, r)).copied(), "{s} {r}");
                    n_owners += usize::from(owner.is_some());
                }
            }
        }
        assert!(
            n_owners > 20 && n_births > 20 && n_unknown > 20,
            "{n_owners} owners, {n_births} births, {n_unknown} IDs no resident carries"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
