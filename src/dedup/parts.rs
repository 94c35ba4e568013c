//! `dedup` in steps over Arrow batches, for an engine that partitions the register itself
//! (Apache Spark, through the Python package's `lamsach.spark.dedup`). Each step is the code
//! of `dedup`'s phases, fed with what the engine shuffled to it; no step reads a file, and
//! only [`finish`] writes one (the output directory, as `dedup` writes it).
//!
//! 1. [`features`] per partition of the register: each record's matching features, birth-year
//!    bucket, keep rank and the keys of the passes whose blocks span birth years.
//! 2. [`cross`] per partition of (pass, key): the pairs those blocks make across birth years,
//!    the blocks over their size (`wider`), the members of shared IDs (training, crowded IDs).
//! 3. [`train`] on the driver: the model, from a sample, the name counts and the shared IDs.
//! 4. [`match_buckets`] per partition of birth-year buckets, and [`judge_pairs`] on the pairs
//!    across buckets: the decided pairs.
//! 5. [`finish`] on the driver: clusters, findings and every output file, with summary.json.
//!
//! Rows are the records' positions in the register (0-based, in the engine's order), so the
//! answer is `dedup`'s when the engine numbers the rows as the files hold them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, Int8Builder,
    ListBuilder, StringBuilder,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Float64Array, Int32Array, Int64Array, Int8Array,
    ListArray, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;

use super::{bucket_of, conclude, summary_of, Found, RecordTexts, YEAR_FREE_PASSES};
use crate::config::Config;
use crate::core::{Column, Prepared, SourceKind};
use crate::dates::PDate;
use crate::error::{Error, Result};
use crate::matching::blocking::{self, Wider, CROWDED_ID};
use crate::matching::cluster::{filled_fields, KeepRank};
use crate::matching::decide::{Doubt, Judge, Judged, ReviewPair};
use crate::matching::features::{Rec, ShortText};
use crate::matching::model::{CommonNames, NameCounts};
use crate::matching::saved::ModelFile;
use crate::matching::training::{self, session, CandidateRounds, TRAINING_KEYS};
use crate::matching::Pair;
use crate::output::Staging;
use crate::read::{SourceData, Warnings};
use crate::summary::{DedupMatching, DedupModel, Partitions, TrainingSummary};

/// The (pass, key) passes [`cross`] groups: 0 personal ID, 1 old CMND, then the year-free
/// passes in order.
pub const KEY_PASSES: usize = 2 + YEAR_FREE_PASSES.len();

fn internal(what: &str) -> Error {
    Error::Internal(format!("the distributed dedup was handed {what}"))
}

pub(crate) fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| internal(&format!("a batch without its {name} column")))
}

fn nonzero(v: u64) -> Option<i64> {
    (v != 0).then_some(v as i64)
}

fn field(name: &str, t: DataType, nullable: bool) -> Field {
    Field::new(name, t, nullable)
}

/// The columns [`features`] returns.
pub fn features_schema() -> SchemaRef {
    let mut fields = vec![
        field("row", DataType::Int64, false),
        field("bucket", DataType::Int32, false),
        field("rank", DataType::Int32, false),
        field("rec", DataType::Binary, false),
        field("record_id", DataType::Utf8, false),
        field("province_code", DataType::Utf8, false),
        field("commune_code", DataType::Utf8, false),
        field("scope", DataType::Binary, false),
    ];
    for p in 0..KEY_PASSES {
        fields.push(field(&format!("key{p}"), DataType::Int64, true));
    }
    fields.push(field(
        "typed_keys",
        DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
        true,
    ));
    for n in ["given", "family", "middle"] {
        fields.push(field(n, DataType::Int64, true));
    }
    Arc::new(Schema::new(fields))
}

/// Step 1: the features of a part of the register whose rows are numbered `rows` (one per
/// record of `data`). `typed_keys`: the personal-ID keys a malformed ID could have been.
pub fn features(data: &SourceData, rows: &[i64], config: &Config) -> Result<RecordBatch> {
    let t = crate::kernels::read_numbered("residents", SourceKind::Residents, data, rows, config)?;
    let prepared = Prepared::new(&t);
    let recs = crate::matching::features::features(&t, &prepared);
    let filled = filled_fields(&t);
    let year_free: Vec<blocking::Pass> = YEAR_FREE_PASSES
        .iter()
        .map(|n| blocking::pass(n).single_key())
        .collect();
    let n = t.len();
    let mut row = Int64Builder::with_capacity(n);
    let mut bucket = Int32Builder::with_capacity(n);
    let mut rank = Int32Builder::with_capacity(n);
    let mut rec = BinaryBuilder::with_capacity(n, n * Rec::ENCODED_LEN);
    let mut keys: Vec<Int64Builder> = (0..KEY_PASSES)
        .map(|_| Int64Builder::with_capacity(n))
        .collect();
    let mut typed = ListBuilder::new(Int64Builder::new());
    let mut names: [Int64Builder; 3] = std::array::from_fn(|_| Int64Builder::with_capacity(n));
    let mut scope = BinaryBuilder::with_capacity(n, n * 24);
    let mut buf = Vec::with_capacity(Rec::ENCODED_LEN);
    for (i, r) in recs.iter().enumerate() {
        row.append_value(rows[i]);
        bucket.append_value(bucket_of(r) as i32);
        let rk = KeepRank {
            valid_id: prepared.rows[i].pid.is_valid(),
            in_province: false,
            filled: filled(i),
        };
        rank.append_value(rk.pack() as i32);
        buf.clear();
        r.encode(&mut buf);
        rec.append_value(&buf);
        buf.clear();
        encode_scope(r, &mut buf);
        scope.append_value(&buf);
        for (k, key) in TRAINING_KEYS.iter().enumerate() {
            keys[k].append_option(nonzero((key.key)(r)));
        }
        for (p, key) in year_free.iter().enumerate() {
            keys[2 + p].append_option(nonzero(key(r)));
        }
        if r.pid_typed != 0 {
            for id in crate::ids::one_edit_ids(r.pid_typed) {
                typed.values().append_value(pid_key(id) as i64);
            }
            typed.append(true);
        } else {
            typed.append(false);
        }
        names[0].append_option(nonzero(r.given));
        names[1].append_option(nonzero(r.family));
        // As NameCounts counts them: a middle name (even none) beside a given name.
        names[2].append_option((r.given != 0).then_some(r.middle as i64));
    }
    let text = |c: Column| -> ArrayRef {
        let col = t.column(c);
        Arc::new(StringArray::from_iter_values((0..n).map(|i| col.get(i))))
    };
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(row.finish()),
        Arc::new(bucket.finish()),
        Arc::new(rank.finish()),
        Arc::new(rec.finish()),
        text(Column::RecordId),
        text(Column::ProvinceCode),
        text(Column::CommuneCode),
        Arc::new(scope.finish()),
    ];
    columns.extend(keys.iter_mut().map(|k| Arc::new(k.finish()) as ArrayRef));
    columns.push(Arc::new(typed.finish()));
    columns.extend(names.iter_mut().map(|k| Arc::new(k.finish()) as ArrayRef));
    RecordBatch::try_new(features_schema(), columns).map_err(Error::internal)
}

/// What a blocking pass's scope reads of a record ([`blocking::Scope::keeps`]): the birth
/// date, sex, the middle and given names', sorted syllables' and household's hashes, and the folded given,
/// family and middle names. The blocks spanning birth
/// years carry it, so a pass's scope is applied before the pairs' records are fetched.
fn encode_scope(r: &Rec, out: &mut Vec<u8>) {
    out.extend_from_slice(&r.birth.year.to_le_bytes());
    out.extend_from_slice(&[r.birth.month, r.birth.day, r.sex]);
    for h in [r.middle, r.given, r.sorted, r.household as u64] {
        out.extend_from_slice(&h.to_le_bytes());
    }
    for t in [
        r.given_text.as_str(),
        r.family_text.as_str(),
        r.middle_text.as_str(),
    ] {
        out.push(t.len() as u8);
        out.extend_from_slice(t.as_bytes());
    }
}

fn decode_scope(b: &[u8]) -> Option<Rec> {
    let text = |at: usize| -> Option<(ShortText, usize)> {
        let len = *b.get(at)? as usize;
        let s = std::str::from_utf8(b.get(at + 1..at + 1 + len)?).ok()?;
        Some((ShortText::new(s), at + 1 + len))
    };
    let hash = |i: usize| -> Option<u64> {
        Some(u64::from_le_bytes(
            b.get(5 + 8 * i..13 + 8 * i)?.try_into().ok()?,
        ))
    };
    let (given_text, at) = text(37)?;
    let (family_text, at) = text(at)?;
    let (middle_text, _) = text(at)?;
    Some(Rec {
        birth: PDate {
            year: u16::from_le_bytes([*b.first()?, *b.get(1)?]),
            month: *b.get(2)?,
            day: *b.get(3)?,
        },
        sex: *b.get(4)?,
        middle: hash(0)?,
        given: hash(1)?,
        sorted: hash(2)?,
        household: hash(3)? as u32,
        given_text,
        family_text,
        middle_text,
        ..Rec::default()
    })
}

fn pid_key(id: u64) -> u64 {
    (TRAINING_KEYS[0].key)(&Rec {
        pid: id,
        ..Rec::default()
    })
}

/// What [`cross`] returns in its `kind` column.
pub mod cross_kind {
    /// A pair (`a` < `b`) in one block of `pass`, born in other buckets (or, in a windowed
    /// pass's block over its size, in any bucket).
    pub const PAIR: i8 = 0;
    /// A year-free pass's block over the pass's size: passed over in every bucket.
    pub const LARGE: i8 = 1;
    /// A record (`a`) carrying an ID (`pass` 0 or 1) that another record carries too.
    pub const ID_MEMBER: i8 = 2;
    /// Pairs across buckets of an ID block over the cap (`a` of them), not compared.
    pub const SKIPPED: i8 = 3;
}

/// The columns [`cross`] returns.
pub fn cross_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        field("kind", DataType::Int8, false),
        field("pass", DataType::Int32, false),
        field("key", DataType::Int64, false),
        field("a", DataType::Int64, false),
        field("b", DataType::Int64, false),
    ]))
}

/// The pass of a pair found by an ID typed wrong (its scope: every pair).
pub const TYPED_PASS: i32 = KEY_PASSES as i32;

/// Step 2: the blocks of the passes that span birth years, as a batch sorted by (pass, key,
/// probe, row) with the columns `pass`, `key`, `row`, `bucket`, `probe` (a probe is a record
/// whose malformed ID could be `key`: it is paired with the block's records, not counted in
/// it) and `scope` (of the year-free passes' records: a pair their pass's scope leaves out is
/// not returned). Every record of a (pass, key) must be in one batch.
pub fn cross(batch: &RecordBatch, cap: usize) -> Result<RecordBatch> {
    let pass = column::<Int32Array>(batch, "pass")?.values();
    let key = column::<Int64Array>(batch, "key")?.values();
    let row = column::<Int64Array>(batch, "row")?.values();
    let bucket = column::<Int32Array>(batch, "bucket")?.values();
    let probe = column::<BooleanArray>(batch, "probe")?;
    let scope = column::<BinaryArray>(batch, "scope")?;
    let scope_of = |i: usize| {
        (scope.is_valid(i))
            .then(|| decode_scope(scope.value(i)))
            .flatten()
            .ok_or_else(|| internal("a year-free pass's record without its scope"))
    };
    let mut out = CrossOut::default();
    let n = batch.num_rows();
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && pass[end] == pass[start] && key[end] == key[start] {
            end += 1;
        }
        let (p, k) = (pass[start], key[start]);
        let members: Vec<usize> = (start..end).filter(|&i| !probe.value(i)).collect();
        let probes = (start..end).filter(|&i| probe.value(i));
        if p < 2 {
            if members.len() > 1 {
                for &i in &members {
                    out.push(cross_kind::ID_MEMBER, p, k, row[i], 0);
                }
            }
            if members.len() <= CROWDED_ID {
                let across = || {
                    members.iter().enumerate().flat_map(|(x, &i)| {
                        members[x + 1..]
                            .iter()
                            .filter(move |&&j| bucket[i] != bucket[j])
                            .map(move |&j| (row[i].min(row[j]), row[i].max(row[j])))
                    })
                };
                if members.len() > cap {
                    out.push(cross_kind::SKIPPED, p, k, across().count() as i64, 0);
                } else {
                    for (a, b) in across() {
                        out.push(cross_kind::PAIR, p, k, a, b);
                    }
                }
            }
            // A malformed ID against the records whose ID it could have been.
            for i in probes {
                for &j in members.iter().take(cap) {
                    if row[j] != row[i] && bucket[j] != bucket[i] {
                        let (a, b) = (row[i].min(row[j]), row[i].max(row[j]));
                        out.push(cross_kind::PAIR, TYPED_PASS, k, a, b);
                    }
                }
            }
        } else {
            let pass = blocking::pass(YEAR_FREE_PASSES[p as usize - 2]);
            let limit = pass.limit(cap);
            // A block over the pass's size is passed over in every bucket. A windowed pass's
            // is compared here as `check` compares it, in one window over the whole block
            // (sorted by row), its pairs within a bucket too; a pair a bucket also proposes is
            // judged twice, alike, and kept once. A smaller block: every pair across buckets.
            let large = members.len() > limit;
            if large {
                out.push(cross_kind::LARGE, p, k, 0, 0);
            }
            if !large || pass.windowed(members.len(), cap) {
                let window = if large { limit } else { members.len() };
                let scopes: Vec<Rec> = members
                    .iter()
                    .map(|&i| scope_of(i))
                    .collect::<Result<_>>()?;
                for (x, &i) in members.iter().enumerate() {
                    for (y, &j) in members.iter().enumerate().skip(x + 1).take(window) {
                        if row[i] != row[j]
                            && (large || bucket[i] != bucket[j])
                            && pass.keeps(&scopes[x], &scopes[y])
                        {
                            let (a, b) = (row[i].min(row[j]), row[i].max(row[j]));
                            out.push(cross_kind::PAIR, p, k, a, b);
                        }
                    }
                }
            }
        }
        start = end;
    }
    out.finish()
}

#[derive(Default)]
struct CrossOut {
    kind: Vec<i8>,
    pass: Vec<i32>,
    key: Vec<i64>,
    a: Vec<i64>,
    b: Vec<i64>,
}

impl CrossOut {
    fn push(&mut self, kind: i8, pass: i32, key: i64, a: i64, b: i64) {
        self.kind.push(kind);
        self.pass.push(pass);
        self.key.push(key);
        self.a.push(a);
        self.b.push(b);
    }

    fn finish(self) -> Result<RecordBatch> {
        RecordBatch::try_new(
            cross_schema(),
            vec![
                Arc::new(Int8Array::from(self.kind)),
                Arc::new(Int32Array::from(self.pass)),
                Arc::new(Int64Array::from(self.key)),
                Arc::new(Int64Array::from(self.a)),
                Arc::new(Int64Array::from(self.b)),
            ],
        )
        .map_err(Error::internal)
    }
}

pub(crate) fn recs_of(batch: &RecordBatch, name: &str) -> Result<Vec<Rec>> {
    let bin = column::<BinaryArray>(batch, name)?;
    (0..bin.len())
        .map(|i| {
            let b = bin.value(i);
            if b.len() == Rec::ENCODED_LEN {
                Ok(Rec::decode(b))
            } else {
                Err(internal("a record of another length"))
            }
        })
        .collect()
}

pub(crate) fn to_u32(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| internal("a row number out of range"))
}

/// The rows of the sample [`train`] takes, in its order: those `dedup` samples (every row of a
/// register of at most a million records).
pub fn sample_rows(records: usize) -> Vec<u32> {
    super::sampled_rows(records)
}

/// The shared IDs' blocks: `pass`, `key`, `row` of [`cross_kind::ID_MEMBER`] rows, sorted.
fn id_index(members: &RecordBatch) -> Result<[Vec<(u64, u32)>; 2]> {
    let pass = column::<Int32Array>(members, "pass")?;
    let key = column::<Int64Array>(members, "key")?;
    let row = column::<Int64Array>(members, "row")?;
    let mut index: [Vec<(u64, u32)>; 2] = Default::default();
    for i in 0..members.num_rows() {
        let p = pass.value(i);
        if (0..2).contains(&p) {
            index[p as usize].push((key.value(i) as u64, to_u32(row.value(i))?));
        }
    }
    for ix in &mut index {
        ix.par_sort_unstable();
    }
    Ok(index)
}

/// The blocks of the shared IDs that training compares (`pass`, `key`), as `dedup` samples
/// them: only their records are fetched for [`train`].
pub fn training_blocks(members: &RecordBatch) -> Result<RecordBatch> {
    let index = id_index(members)?;
    let (mut passes, mut keys) = (Vec::new(), Vec::new());
    for (p, ix) in index.iter().enumerate() {
        let groups = blocking::blocks(ix);
        let (_, keep_every) = training::training_stride(&groups);
        for g in groups {
            if training::sampled_for_training(g, keep_every) {
                passes.push(p as i32);
                keys.push(g[0].0 as i64);
            }
        }
    }
    RecordBatch::try_from_iter([
        ("pass", Arc::new(Int32Array::from(passes)) as ArrayRef),
        ("key", Arc::new(Int64Array::from(keys)) as ArrayRef),
    ])
    .map_err(Error::internal)
}

/// Step 3, on the driver: the model. `sample`: `rec` of the records of [`sample_rows`], in
/// that order; `names`: `part` (0 given, 1 family, 2 middle), `hash`, `count` over the whole
/// register; `members`: `pass`, `key`, `row` of the records carrying a shared ID
/// ([`cross_kind::ID_MEMBER`]); `member_recs`: `row`, `rec` of those in the
/// [`training_blocks`]. Returns model.json and the training's summary, as JSON.
pub fn train(
    sample: &RecordBatch,
    names: &RecordBatch,
    members: &RecordBatch,
    member_recs: &RecordBatch,
    records: usize,
    config: &Config,
) -> Result<(String, String)> {
    let mut sample = recs_of(sample, "rec")?;
    let mut counts = NameCounts::default();
    let part = column::<Int32Array>(names, "part")?;
    let hash = column::<Int64Array>(names, "hash")?;
    let count = column::<Int64Array>(names, "count")?;
    for i in 0..names.num_rows() {
        let map = match part.value(i) {
            0 => &mut counts.given,
            1 => &mut counts.family,
            _ => &mut counts.middle,
        };
        *map.entry(hash.value(i) as u64).or_default() += count.value(i) as u64;
    }
    // Marked with the register's common names, as `dedup` marks its records.
    let common = CommonNames::of_counts(&counts, records);
    common.mark(&mut sample);
    let index = id_index(members)?;
    let row = column::<Int64Array>(member_recs, "row")?;
    let mut recs = recs_of(member_recs, "rec")?;
    common.mark(&mut recs);
    let mut rec_at: HashMap<u32, usize> = HashMap::new();
    for i in 0..member_recs.num_rows() {
        rec_at.insert(to_u32(row.value(i))?, i);
    }
    // Sessions read the records of the sampled blocks only: those the driver fetched.
    let rec_of = |r: u32| &recs[rec_at[&r]];
    let sessions: Vec<_> = index
        .iter()
        .zip(&TRAINING_KEYS)
        .map(|(ix, k)| session(&blocking::blocks(ix), &rec_of, k.fixes()))
        .collect();
    let identifier_pairs: f64 = sessions.iter().map(|s| s.total_pairs).sum();
    let cap = config.matching.max_block_size;
    let rounds = if identifier_pairs >= training::MIN_IDENTIFIER_PAIRS {
        CandidateRounds::none()
    } else {
        training::rounds(&sample, &blocking::candidates(&sample, cap))
    };
    let (model, report) = training::train(&sample, records, &counts, &sessions, &rounds);
    let file = ModelFile::of(&model, report.method, config.matching);
    let trained = Trained {
        training: report.summary(),
        em_iterations: model.em_iterations,
        warning: report.warning.clone(),
    };
    Ok((
        serde_json::to_string(&file).map_err(Error::internal)?,
        serde_json::to_string(&trained).map_err(Error::internal)?,
    ))
}

/// Step 3 of a nightly run: the model to reuse instead of estimating one (the file of
/// `model`, else the model the run in `previous` saved unless `retrain`; see
/// [`crate::nightly::model_to_reuse`]), for a register of `records`, as model.json and how it
/// was trained (JSON, as [`train`] gives them). None when the run estimates its own. Only the
/// previous run's model.json is read.
pub fn reuse(
    model: Option<&std::path::Path>,
    retrain: bool,
    previous: Option<&std::path::Path>,
    records: usize,
    config: &Config,
) -> Result<Option<(String, String)>> {
    let saved = previous.and_then(|dir| crate::nightly::saved_model(dir).map(|m| (dir, m)));
    let previous = saved.as_ref().map(|(dir, m)| (*dir, m));
    let (Some(m), from) = crate::nightly::model_to_reuse(model, retrain, previous)? else {
        return Ok(None);
    };
    let model = m.for_records(records);
    let report = training::TrainingReport {
        method: "reused",
        rounds: Vec::new(),
        warning: None,
        namesake_share: None,
    };
    let mut summary = report.summary();
    summary.reused_from = from;
    let file = ModelFile::of(&model, report.method, config.matching);
    let trained = Trained {
        training: summary,
        em_iterations: model.em_iterations,
        warning: None,
    };
    Ok(Some((
        serde_json::to_string(&file).map_err(Error::internal)?,
        serde_json::to_string(&trained).map_err(Error::internal)?,
    )))
}

/// How the model was trained (`trained`, as [`train`] gives it) with how far the model it
/// estimated (`model_json`) moved from the model the run in `previous` saved, as `check
/// --previous` says. Only the previous run's model.json is read; one this lamsach cannot read
/// (saved by a version with other comparison levels) is said in the training's warning,
/// unless the run was asked to `retrain`.
pub fn model_change(
    trained_json: &str,
    model_json: &str,
    previous: &std::path::Path,
    retrain: bool,
) -> Result<String> {
    let mut trained: Trained = serde_json::from_str(trained_json)
        .map_err(|_| internal("training figures it cannot read"))?;
    if let Some(prev) = crate::nightly::saved_model(previous) {
        let model = model_of(model_json)?;
        trained.training.change_from_previous = Some(crate::matching::saved::change(&prev, &model));
    } else if let Some(why) =
        crate::nightly::unreadable_model_warning_in(previous).filter(|_| !retrain)
    {
        // Not reused because this lamsach cannot read it, as `check --previous` warns.
        trained.warning = Some(match trained.warning.take() {
            Some(also) => format!("{why}; {also}"),
            None => why,
        });
    }
    serde_json::to_string(&trained).map_err(Error::internal)
}

/// How the model was trained, handed from [`train`] to [`finish`].
#[derive(serde::Serialize, serde::Deserialize)]
struct Trained {
    training: TrainingSummary,
    em_iterations: usize,
    warning: Option<String>,
}

pub(crate) fn model_of(model_json: &str) -> Result<crate::matching::model::Model> {
    let file: ModelFile = serde_json::from_str(model_json)
        .map_err(|_| internal("a model that is not a lamsach model.json"))?;
    file.model().map_err(Error::Internal)
}

/// The columns of the decided pairs ([`match_buckets`], [`judge_pairs`]).
pub fn judged_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        field("kind", DataType::Int8, false),
        field("a", DataType::Int64, false),
        field("b", DataType::Int64, false),
        field("probability", DataType::Float64, false),
        field("in_province", DataType::Boolean, false),
        field("levels", DataType::Utf8, false),
        field("doubt", DataType::Int8, false),
        field("pid", DataType::Int64, false),
    ]))
}

/// What the decided pairs' `kind` says.
pub mod judged_kind {
    pub const PAIR: i8 = 0;
    pub const REVIEW: i8 = 1;
    /// Two people sharing one personal ID (`pid`).
    pub const SHARED: i8 = 2;
    /// A pass proposed `a` pairs (its name in `levels`).
    pub const PASS: i8 = 3;
    /// `a` pairs were compared.
    pub const COMPARED: i8 = 4;
    /// `a` pairs of oversized blocks were not compared.
    pub const SKIPPED: i8 = 5;
    /// The partition held `a` records (the largest sets `largest_unit_records`).
    pub const RECORDS: i8 = 6;
    /// Record `a` of a duplicate pair names father `b` and mother `pid` (hashes).
    pub const KIN: i8 = 7;
}

/// Every doubt, in the order their codes number them.
pub(crate) const DOUBTS: [Doubt; 7] = [
    Doubt::BelowThreshold,
    Doubt::CommonNameOtherId,
    Doubt::Contradictions,
    Doubt::CommonNameNoEvidence,
    Doubt::ParentsDiffer,
    Doubt::SeveralResidents,
    Doubt::FamiliesDiffer,
];

#[derive(Default)]
struct JudgedOut {
    kind: Int8Builder,
    a: Int64Builder,
    b: Int64Builder,
    probability: Float64Builder,
    in_province: BooleanBuilder,
    levels: StringBuilder,
    doubt: Int8Builder,
    pid: Int64Builder,
}

impl JudgedOut {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: i8,
        a: i64,
        b: i64,
        p: f64,
        inp: bool,
        levels: &str,
        doubt: i8,
        pid: i64,
    ) {
        self.kind.append_value(kind);
        self.a.append_value(a);
        self.b.append_value(b);
        self.probability.append_value(p);
        self.in_province.append_value(inp);
        self.levels.append_value(levels);
        self.doubt.append_value(doubt);
        self.pid.append_value(pid);
    }

    fn count(&mut self, kind: i8, n: usize, name: &str) {
        self.push(kind, n as i64, 0, 0.0, false, name, 0, 0);
    }

    fn pair(&mut self, kind: i8, p: &Pair, doubt: i8) {
        self.push(
            kind,
            p.a.row as i64,
            p.b.row as i64,
            p.probability,
            p.in_province,
            &p.levels,
            doubt,
            0,
        );
    }

    /// The batch of what a partition found: its decided pairs, then the counts (`records`:
    /// the records it matched, 0 when it judged given pairs).
    fn of(found: &Found, records: usize) -> Result<RecordBatch> {
        let mut out = JudgedOut::default();
        out.judged(&found.judged);
        for (name, n) in &found.per_pass {
            out.count(judged_kind::PASS, *n, name);
        }
        out.count(judged_kind::COMPARED, found.compared, "");
        out.count(judged_kind::SKIPPED, found.skipped, "");
        out.count(judged_kind::RECORDS, records, "");
        out.finish()
    }

    fn judged(&mut self, j: &Judged) {
        for p in &j.pairs {
            self.pair(judged_kind::PAIR, p, 0);
        }
        for r in &j.review {
            let d = DOUBTS.iter().position(|d| *d == r.doubt).unwrap_or(0) as i8;
            self.pair(judged_kind::REVIEW, &r.pair, d);
        }
        for &(a, b, pid) in &j.shared {
            self.push(
                judged_kind::SHARED,
                a as i64,
                b as i64,
                0.0,
                false,
                "",
                0,
                pid as i64,
            );
        }
        for &(row, father, mother) in &j.kin {
            self.push(
                judged_kind::KIN,
                row as i64,
                father as i64,
                0.0,
                false,
                "",
                0,
                mother as i64,
            );
        }
    }

    fn finish(mut self) -> Result<RecordBatch> {
        RecordBatch::try_new(
            judged_schema(),
            vec![
                Arc::new(self.kind.finish()),
                Arc::new(self.a.finish()),
                Arc::new(self.b.finish()),
                Arc::new(self.probability.finish()),
                Arc::new(self.in_province.finish()),
                Arc::new(self.levels.finish()),
                Arc::new(self.doubt.finish()),
                Arc::new(self.pid.finish()),
            ],
        )
        .map_err(Error::internal)
    }
}

/// The blocks over their size in the whole register: `pass` (2.. for the year-free passes)
/// and `key` of [`cross_kind::LARGE`] rows.
pub fn wider_of(batch: &RecordBatch) -> Result<Wider> {
    let pass = column::<Int32Array>(batch, "pass")?;
    let key = column::<Int64Array>(batch, "key")?;
    let mut per: Vec<Vec<u64>> = vec![Vec::new(); YEAR_FREE_PASSES.len()];
    for i in 0..batch.num_rows() {
        let p = pass.value(i) as usize;
        if (2..KEY_PASSES).contains(&p) {
            per[p - 2].push(key.value(i) as u64);
        }
    }
    let mut wider = Wider::default();
    for (name, mut keys) in YEAR_FREE_PASSES.iter().zip(per) {
        keys.sort_unstable();
        wider.insert(name, keys);
    }
    Ok(wider)
}

fn judge_of<'m>(
    model: &'m crate::matching::model::Model,
    config: &Config,
    records: usize,
) -> Judge<'m> {
    Judge {
        model,
        threshold: config.matching.threshold,
        review: config.matching.review_threshold,
        records,
    }
}

/// Step 4: the pairs of a partition's birth-year buckets, as `dedup` matches a unit. `batch`:
/// `row`, `bucket`, `rank`, `rec`, sorted by (bucket, row), every record of a bucket in it.
pub fn match_buckets(
    batch: &RecordBatch,
    model_json: &str,
    wider: &Wider,
    records: usize,
    config: &Config,
) -> Result<RecordBatch> {
    let model = model_of(model_json)?;
    let judge = judge_of(&model, config, records);
    let rows = column::<Int64Array>(batch, "row")?.values();
    let buckets = column::<Int32Array>(batch, "bucket")?.values();
    let ranks = column::<Int32Array>(batch, "rank")?.values();
    let mut recs = recs_of(batch, "rec")?;
    CommonNames::of_model(&model).mark(&mut recs);
    let rows: Vec<u32> = rows.iter().map(|&r| to_u32(r)).collect::<Result<_>>()?;
    let cap = config.matching.max_block_size;
    let mut found = Found::default();
    let mut start = 0;
    while start < recs.len() {
        let end = start
            + buckets[start..]
                .iter()
                .take_while(|&&b| b == buckets[start])
                .count();
        let part = &recs[start..end];
        let cands = blocking::candidates_within(part, cap, wider);
        found.skipped += cands.skipped;
        for p in &cands.per_pass {
            found.count_pass(p.name, p.proposed);
        }
        found.judge(
            &judge,
            &cands.pairs,
            &|i| {
                let i = start + i as usize;
                (&recs[i], KeepRank::unpack(ranks[i] as u8).valid_id)
            },
            &|i| rows[start + i as usize],
        );
        start = end;
    }
    JudgedOut::of(&found, recs.len())
}

/// Step 4 across buckets: the pairs of [`cross`] (`a`, `b`, `passes`: every pass that
/// proposed the pair) with both records (`rec_a`, `rank_a`, `rec_b`, `rank_b`). A pair of a
/// year-free pass is judged when one of its passes keeps it, as `dedup` does.
pub fn judge_pairs(
    batch: &RecordBatch,
    model_json: &str,
    records: usize,
    config: &Config,
) -> Result<RecordBatch> {
    let model = model_of(model_json)?;
    let judge = judge_of(&model, config, records);
    let a = column::<Int64Array>(batch, "a")?.values();
    let b = column::<Int64Array>(batch, "b")?.values();
    let passes = column::<ListArray>(batch, "passes")?;
    let rank_a = column::<Int32Array>(batch, "rank_a")?.values();
    let rank_b = column::<Int32Array>(batch, "rank_b")?.values();
    let (mut rec_a, mut rec_b) = (recs_of(batch, "rec_a")?, recs_of(batch, "rec_b")?);
    let common = CommonNames::of_model(&model);
    common.mark(&mut rec_a);
    common.mark(&mut rec_b);
    // Local rows: 2i for a, 2i + 1 for b.
    let mut ids = Vec::new();
    let mut kept = Vec::new();
    for i in 0..batch.num_rows() {
        let list = passes.value(i);
        let list = list
            .as_any()
            .downcast_ref::<Int32Array>()
            .ok_or_else(|| internal("passes that are not integers"))?;
        let id = list.values().iter().any(|&p| p < 2);
        let keeps = list.values().iter().any(|&p| match p {
            2.. if (p as usize) < KEY_PASSES => {
                blocking::pass(YEAR_FREE_PASSES[p as usize - 2]).keeps(&rec_a[i], &rec_b[i])
            }
            _ => p == TYPED_PASS,
        });
        let pair = (2 * i as u32, 2 * i as u32 + 1);
        if id {
            ids.push(pair);
        } else if keeps {
            kept.push(pair);
        }
    }
    let get = |r: u32| {
        let i = (r / 2) as usize;
        if r % 2 == 0 {
            (&rec_a[i], KeepRank::unpack(rank_a[i] as u8).valid_id)
        } else {
            (&rec_b[i], KeepRank::unpack(rank_b[i] as u8).valid_id)
        }
    };
    let row = |r: u32| {
        let i = (r / 2) as usize;
        (if r % 2 == 0 { a[i] } else { b[i] }) as u32
    };
    let mut found = Found::default();
    found.judge(&judge, &ids, &get, &row);
    found.count_pass("personal_id/old_id across birth-year units", ids.len());
    found.judge(&judge, &kept, &get, &row);
    found.count_pass("year-free passes across birth-year units", kept.len());
    JudgedOut::of(&found, 0)
}

/// Step 5, on the driver: every output of `dedup` in `out`, and summary.json (returned).
/// `judged`: every batch of [`match_buckets`] and [`judge_pairs`]; `members`: `pass`, `key`,
/// `row` of [`cross_kind::ID_MEMBER`] rows and the [`cross_kind::SKIPPED`] counts (`kind`,
/// `a`); `texts`: `row`, `rank`, `rec`, `record_id`, `province_code`, `commune_code` of every
/// record in a judged pair or sharing an ID with more than [`CROWDED_ID`] records.
/// `as_check`: the pairs a cluster implies get their per-field levels, and summary.json the
/// report's worked examples, as `check` gives them (`dedup` on one machine no longer holds
/// the features then, and gives neither).
#[allow(clippy::too_many_arguments)]
pub fn finish(
    judged: &[RecordBatch],
    cross_rows: &RecordBatch,
    texts: &RecordBatch,
    records: usize,
    model_json: &str,
    trained_json: &str,
    partitions: Partitions,
    out: &std::path::Path,
    config: &Config,
    group_readable: bool,
    as_check: bool,
) -> Result<String> {
    let staging = Staging::new(out, group_readable)?;
    let model = model_of(model_json)?;
    let trained: Trained = serde_json::from_str(trained_json)
        .map_err(|_| internal("a training summary it cannot read"))?;
    let mut found = Found::default();
    let mut largest = 0;
    for batch in judged {
        let kind = column::<Int8Array>(batch, "kind")?.values();
        let a = column::<Int64Array>(batch, "a")?.values();
        let b = column::<Int64Array>(batch, "b")?.values();
        let prob = column::<Float64Array>(batch, "probability")?.values();
        let inp = column::<BooleanArray>(batch, "in_province")?;
        let levels = column::<StringArray>(batch, "levels")?;
        let doubt = column::<Int8Array>(batch, "doubt")?.values();
        let pid = column::<Int64Array>(batch, "pid")?.values();
        for i in 0..batch.num_rows() {
            let pair = || -> Result<Pair> {
                Ok(Pair {
                    a: crate::core::RowRef::resident(to_u32(a[i])?),
                    b: crate::core::RowRef::resident(to_u32(b[i])?),
                    probability: prob[i],
                    in_province: inp.value(i),
                    cluster: 0,
                    levels: levels.value(i).into(),
                    implied: false,
                })
            };
            match kind[i] {
                judged_kind::PAIR => found.judged.pairs.push(pair()?),
                judged_kind::REVIEW => found.judged.review.push(ReviewPair {
                    pair: pair()?,
                    doubt: DOUBTS[(doubt[i] as usize).min(DOUBTS.len() - 1)],
                }),
                judged_kind::SHARED => {
                    found
                        .judged
                        .shared
                        .push((to_u32(a[i])?, to_u32(b[i])?, pid[i] as u64))
                }
                judged_kind::PASS => found.count_pass(levels.value(i), a[i] as usize),
                judged_kind::COMPARED => found.compared += a[i] as usize,
                judged_kind::SKIPPED => found.skipped += a[i] as usize,
                judged_kind::RECORDS => largest = largest.max(a[i] as usize),
                judged_kind::KIN => {
                    found
                        .judged
                        .kin
                        .push((to_u32(a[i])?, to_u32(b[i])?, to_u32(pid[i])?))
                }
                _ => return Err(internal("a decided pair of an unknown kind")),
            }
        }
    }
    // Shared IDs: the skipped pairs of oversized ID blocks, and the crowded IDs.
    let kind = column::<Int8Array>(cross_rows, "kind")?.values();
    let pass = column::<Int32Array>(cross_rows, "pass")?.values();
    let key = column::<Int64Array>(cross_rows, "key")?.values();
    let row = column::<Int64Array>(cross_rows, "row")?.values();
    let mut pid_members: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
    for i in 0..cross_rows.num_rows() {
        match kind[i] {
            cross_kind::SKIPPED => found.skipped += row[i] as usize,
            cross_kind::ID_MEMBER if pass[i] == 0 => {
                pid_members.entry(key[i]).or_default().push(to_u32(row[i])?)
            }
            _ => {}
        }
    }
    // The texts, sorted by row.
    let t_row = column::<Int64Array>(texts, "row")?.values();
    let t_rank = column::<Int32Array>(texts, "rank")?.values();
    let mut t_recs = recs_of(texts, "rec")?;
    CommonNames::of_model(&model).mark(&mut t_recs);
    let cols = [
        column::<StringArray>(texts, "record_id")?,
        column::<StringArray>(texts, "province_code")?,
        column::<StringArray>(texts, "commune_code")?,
    ];
    let mut order: Vec<usize> = (0..texts.num_rows()).collect();
    order.sort_unstable_by_key(|&i| t_row[i]);
    let mut text_rows = Vec::with_capacity(order.len());
    let mut text_values = Vec::with_capacity(order.len());
    let mut ranks = Vec::with_capacity(order.len());
    let mut text_recs = Vec::with_capacity(order.len());
    let mut pids = HashMap::new();
    for &i in &order {
        let r = to_u32(t_row[i])?;
        if text_rows.last() == Some(&r) {
            continue;
        }
        text_rows.push(r);
        text_values.push(cols.map(|c| c.value(i).to_string()));
        ranks.push(t_rank[i] as u8);
        pids.insert(r, t_recs[i].pid);
        text_recs.push(t_recs[i].clone());
    }
    let texts = RecordTexts {
        rows: text_rows,
        texts: text_values,
    };
    let crowded: Vec<(Vec<u32>, u64)> = pid_members
        .into_values()
        .filter(|rows| rows.len() > CROWDED_ID)
        .map(|mut rows| {
            rows.sort_unstable();
            let pid = pids.get(&rows[0]).copied().unwrap_or(0);
            (rows, pid)
        })
        .collect();
    let rank = |r: u32| match texts.rows.binary_search(&r) {
        Ok(k) => KeepRank::unpack(ranks[k]),
        Err(_) => KeepRank::unpack(0),
    };
    // As `check` gives them (its implied pairs' levels), or as `dedup` does (none).
    let levels = |a: u32, b: u32| {
        let rec = |r: u32| texts.rows.binary_search(&r).ok().map(|k| &text_recs[k]);
        match (as_check, rec(a), rec(b)) {
            (true, Some(ra), Some(rb)) => crate::matching::comparisons::compare(ra, rb).explain(),
            _ => String::new(),
        }
    };
    let concluded = conclude(
        &staging, config, &mut found, &crowded, &rank, &texts, &levels,
    )?;
    let mut warnings = Warnings::new();
    warnings.extend(trained.warning);
    let examples = if as_check {
        let at = |r: crate::core::RowRef| texts.rows.binary_search(&r.row).ok();
        crate::matching::explain_examples(
            &concluded.pairs,
            |r| at(r).map(|k| &text_recs[k]),
            &model,
            |r| at(r).map_or_else(String::new, |k| texts.texts[k][0].clone()),
        )
    } else {
        Vec::new()
    };
    let matching = DedupMatching {
        pairs_compared: found.compared,
        pairs_per_pass: found.per_pass.clone(),
        pairs_in_oversized_blocks_skipped: found.skipped,
        model: DedupModel {
            lambda: model.lambda,
            em_iterations: trained.em_iterations,
        },
        training: trained.training,
        examples,
    };
    let summary = summary_of(
        records,
        &concluded,
        found.judged.shared.len(),
        matching,
        Partitions {
            largest_unit_records: largest,
            ..partitions
        },
        warnings,
        BTreeMap::new(),
    );
    let json = crate::summary::to_json(&summary)?;
    staging.write_bytes("summary.json", json.as_bytes())?;
    staging.commit()?;
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A windowed year-free pass's block over its size: the cross step gives the pairs of
    /// `check`'s window over the whole block, those within one bucket too (each bucket holds
    /// only its part of the block and passes it over).
    #[test]
    fn a_large_windowed_block_gives_the_pairs_check_gives() {
        let name = "family+given+birth_day_month";
        let recs: Vec<Rec> = (0..20u16)
            .map(|k| Rec {
                given: crate::core::hash::h64("phu"),
                family: crate::core::hash::h64("tran"),
                sorted: crate::core::hash::h64("tran phu"),
                given_text: ShortText::new("phu"),
                family_text: ShortText::new("tran"),
                // Years a year apart, so the scope keeps most neighbours in the window.
                birth: PDate::new(1950 + k / 2 * 2 + k % 2, 7, 25),
                sex: 1,
                household: 100 + k as u32,
                ..Rec::default()
            })
            .collect();
        let bit = blocking::DEDUP_PASSES
            .iter()
            .position(|n| *n == name)
            .unwrap();
        let cands = blocking::candidates(&recs, 1000);
        let want: Vec<(i64, i64)> = cands
            .pairs
            .iter()
            .zip(&cands.passes)
            .filter(|(_, bits)| *bits & (1 << bit) != 0)
            .map(|(&(a, b), _)| (a as i64, b as i64))
            .collect();
        assert!(
            want.len() > 15,
            "check compares the block in a window: {}",
            want.len()
        );

        let p = 2 + YEAR_FREE_PASSES.iter().position(|n| *n == name).unwrap() as i32;
        let mut buf = Vec::new();
        let mut scope = arrow_array::builder::BinaryBuilder::new();
        for r in &recs {
            buf.clear();
            encode_scope(r, &mut buf);
            scope.append_value(&buf);
        }
        let n = recs.len();
        let batch = RecordBatch::try_from_iter([
            ("pass", Arc::new(Int32Array::from(vec![p; n])) as ArrayRef),
            ("key", Arc::new(Int64Array::from(vec![42i64; n]))),
            (
                "row",
                Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>())),
            ),
            // Two birth-year buckets: pairs within each and across them.
            (
                "bucket",
                Arc::new(Int32Array::from(
                    (0..n as i32).map(|i| i / 10).collect::<Vec<_>>(),
                )),
            ),
            ("probe", Arc::new(BooleanArray::from(vec![false; n]))),
            ("scope", Arc::new(scope.finish())),
        ])
        .unwrap();
        let out = cross(&batch, 1000).unwrap();
        let kind = column::<Int8Array>(&out, "kind").unwrap().values();
        let a = column::<Int64Array>(&out, "a").unwrap().values();
        let b = column::<Int64Array>(&out, "b").unwrap().values();
        let mut got: Vec<(i64, i64)> = (0..out.num_rows())
            .filter(|&i| kind[i] == cross_kind::PAIR)
            .map(|i| (a[i], b[i]))
            .collect();
        got.sort_unstable();
        assert_eq!(got, want);
        assert!(
            (0..out.num_rows()).any(|i| kind[i] == cross_kind::LARGE),
            "the buckets are told to pass the block over"
        );
    }

    /// A scope record answers every year-free pass as the whole record does.
    #[test]
    fn the_scope_bytes_keep_what_the_scopes_read() {
        let rec = |given: &str, family: &str, y: u16, m: u8, d: u8, sex: u8, middle: &str| Rec {
            given: crate::core::hash::h64(given),
            sorted: crate::core::hash::h64(&format!("{family} {given}")),
            given_text: ShortText::new(given),
            family_text: ShortText::new(family),
            middle_text: ShortText::new(middle),
            birth: PDate::new(y, m, d),
            sex,
            middle: crate::core::hash::h64(middle),
            pid: 7,
            household: 9 + (d % 2) as u32,
            ..Rec::default()
        };
        let recs = [
            rec("hung", "nguyen", 1980, 5, 1, 1, "van"),
            rec("hung", "nguyen", 1980, 0, 0, 1, ""),
            rec("hunh", "nguyen", 1981, 5, 1, 1, "van"),
            rec("hung", "ngyuen", 0, 0, 0, 0, "van"),
            rec("lan", "tran", 1990, 1, 5, 2, "thi"),
            rec("lan", "tran", 1990, 5, 1, 1, "ngoc"),
            // A middle name mistyped: it does not contradict "van".
            rec("hung", "nguyen", 1980, 0, 0, 1, "vna"),
        ];
        let mut buf = Vec::new();
        let scoped: Vec<Rec> = recs
            .iter()
            .map(|r| {
                buf.clear();
                encode_scope(r, &mut buf);
                decode_scope(&buf).expect("decodes")
            })
            .collect();
        let mut kept = 0;
        for name in YEAR_FREE_PASSES {
            let pass = blocking::pass(name);
            for i in 0..recs.len() {
                for j in 0..recs.len() {
                    let whole = pass.keeps(&recs[i], &recs[j]);
                    assert_eq!(pass.keeps(&scoped[i], &scoped[j]), whole, "{name} {i} {j}");
                    kept += whole as usize;
                }
            }
        }
        assert!(kept > 10, "the records exercise the scopes: {kept}");
        assert!(
            decode_scope(&buf[..10]).is_none(),
            "a cut record is refused"
        );
    }
}
