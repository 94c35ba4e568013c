//! Linking in steps over Arrow batches, for a driver that partitions the register itself
//! (Spark: `lamsach.spark.link`). Each step is `check`'s own linking code fed with what the
//! engine shuffled to it; the decomposition is the one `link::Deciding::Groups` proves exact,
//! and `link::Deciding::Parts` runs `check`'s linking through these kernels.
//!
//! 0. [`link_rows`] per partition of a source (and of the residents): what linking reads of
//!    each row; [`by_id`] per partition of personal IDs: whether a resident carries a row's
//!    ID, and the resident whose name disagrees with the row's; [`owed_rows`]: the rows owed
//!    a link as compared.
//! 1. [`resident_lookups`] per partition of the residents' features (`row`, `rank`, `rec`, as
//!    `dedup`'s features step gives them): each resident's (pass, key) entries — its linking
//!    passes' keys, and its well-formed ID under [`link::ID_PASS`].
//! 2. [`owed_lookups`] per partition of the rows to link (`id`, `rec`, `why`): the (pass, key)
//!    each looks residents up by, the IDs its mistyped ID could have been among them.
//! 3. [`block_candidates`] per partition of (pass, key), sorted by pass, key, side (residents
//!    first) and row: each row's candidates from the whole block, as `check` takes them.
//! 4. [`groups`]: per row, the residents it needs (its candidates, the resident its ID points
//!    to, the records kept for their clusters) as a [`LinkGroup`]; [`patterns`] of the rows
//!    sampled to calibrate a source, [`calibrate`] on the driver, then [`decide`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::builder::{BinaryBuilder, Int32Builder, Int64Builder};
use arrow_array::{
    Array, BinaryArray, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::config::Config;
use crate::core::{Column, Prepared, SourceKind};
use crate::dates::PDate;
use crate::dedup::parts::{column, model_of, recs_of, to_u32};
use crate::error::{Error, Result};
use crate::matching::cluster::KeepRank;
use crate::matching::comparisons::{compare, Pattern, N_FIELDS};
use crate::matching::decide::{round6, ReviewPair};
use crate::matching::features::{self, Rec};
use crate::matching::link::{self, GroupResident, LinkCalibration, LinkGroup, Outcome, Owed};
use crate::matching::model::CommonNames;
use crate::read::{read_data, SourceData, Warnings};

/// The columns of [`resident_lookups`] and [`owed_lookups`]: `row` is the resident's row, or
/// the owed row's `id`.
pub fn lookups_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("pass", DataType::Int32, false),
        Field::new("key", DataType::Int64, false),
        Field::new("row", DataType::Int64, false),
    ]))
}

fn lookups_batch(entries: Vec<(usize, u64, i64)>) -> Result<RecordBatch> {
    let mut pass = Int32Builder::with_capacity(entries.len());
    let mut key = Int64Builder::with_capacity(entries.len());
    let mut row = Int64Builder::with_capacity(entries.len());
    for (p, k, r) in entries {
        pass.append_value(p as i32);
        key.append_value(k as i64);
        row.append_value(r);
    }
    RecordBatch::try_new(
        lookups_schema(),
        vec![
            Arc::new(pass.finish()),
            Arc::new(key.finish()),
            Arc::new(row.finish()),
        ],
    )
    .map_err(Error::internal)
}

/// Step 1: the (pass, key, row) entries of residents (`row`, `rank` — whose valid-ID bit says
/// whether the resident is in the ID index — and `rec`).
pub fn resident_lookups(batch: &RecordBatch) -> Result<RecordBatch> {
    let rows = column::<Int64Array>(batch, "row")?;
    let ranks = column::<Int32Array>(batch, "rank")?;
    let recs = recs_of(batch, "rec")?;
    let mut entries = Vec::with_capacity(recs.len() * 8);
    for (i, rec) in recs.iter().enumerate() {
        let indexed = KeepRank::unpack(ranks.value(i) as u8).valid_id;
        for (p, k) in link::resident_lookups(rec, indexed) {
            entries.push((p, k, rows.value(i)));
        }
    }
    lookups_batch(entries)
}

/// The code of why a row is owed a link in a batch's `why` column, with its `owner` (the
/// resident its ID points to).
pub fn owed_code(why: Owed) -> (i32, Option<i64>) {
    match why {
        Owed::NoId => (0, None),
        Owed::WrongResident(r) => (1, Some(r as i64)),
        Owed::Unknown => (2, None),
    }
}

fn owed_of(code: i32, owner: Option<i64>) -> Result<Owed> {
    match (code, owner) {
        (0, _) => Ok(Owed::NoId),
        (1, Some(r)) => Ok(Owed::WrongResident(to_u32(r)?)),
        (2, _) => Ok(Owed::Unknown),
        _ => Err(internal("a row owed a link for no known reason")),
    }
}

fn internal(what: &str) -> Error {
    Error::Internal(format!("the distributed linking was handed {what}"))
}

/// Step 2: the (pass, key, id) entries of rows owed a link (`id`, `rec`, `why`).
pub fn owed_lookups(batch: &RecordBatch) -> Result<RecordBatch> {
    let ids = column::<Int64Array>(batch, "id")?;
    let why = column::<Int32Array>(batch, "why")?;
    let recs = recs_of(batch, "rec")?;
    let mut entries = Vec::new();
    for (i, rec) in recs.iter().enumerate() {
        // The owner is not needed to look residents up.
        let why = owed_of(why.value(i), Some(0))?;
        for (p, k) in link::lookups(rec, why) {
            entries.push((p, k, ids.value(i)));
        }
    }
    lookups_batch(entries)
}

/// The columns of [`block_candidates`]: an owed row's `id` and a resident `row`.
pub fn candidates_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("row", DataType::Int64, false),
    ]))
}

/// Step 3: per (pass, key) block — `pass`, `key`, `side` (0 a resident, 1 an owed row), `row`
/// (the resident's row or the owed row's id) and `rec`, sorted by pass, key, side and row,
/// every resident of a block in the same batch — each owed row's candidates in it: the block
/// taken whole to judge its size, scoped and capped in row order (at most `cap`).
pub fn block_candidates(batch: &RecordBatch, cap: usize) -> Result<RecordBatch> {
    let pass = column::<Int32Array>(batch, "pass")?.values();
    let key = column::<Int64Array>(batch, "key")?.values();
    let side = column::<Int32Array>(batch, "side")?.values();
    let row = column::<Int64Array>(batch, "row")?.values();
    let recs = recs_of(batch, "rec")?;
    let mut ids = Int64Builder::new();
    let mut rows = Int64Builder::new();
    let mut out: Vec<u32> = Vec::new();
    let residents: Vec<u32> = (0..batch.num_rows())
        .map(|i| if side[i] == 0 { to_u32(row[i]) } else { Ok(0) })
        .collect::<Result<_>>()?;
    let mut start = 0;
    while start < pass.len() {
        let same = |i: usize| pass[i] == pass[start] && key[i] == key[start];
        let end = start + (start..pass.len()).take_while(|&i| same(i)).count();
        let p = usize::try_from(pass[start])
            .ok()
            .filter(|&p| p <= link::ID_PASS)
            .ok_or_else(|| internal("an unknown linking pass"))?;
        let owed_from = start + side[start..end].iter().take_while(|&&s| s == 0).count();
        let block = (start..owed_from).map(|i| (residents[i], &recs[i]));
        for i in owed_from..end {
            out.clear();
            link::lookup_candidates(p, &recs[i], block.clone(), cap, &mut out);
            for &r in &out {
                ids.append_value(row[i]);
                rows.append_value(r as i64);
            }
        }
        start = end;
    }
    RecordBatch::try_new(
        candidates_schema(),
        vec![Arc::new(ids.finish()), Arc::new(rows.finish())],
    )
    .map_err(Error::internal)
}

/// The columns of a batch of groups ([`groups`]): per owed row (`side` 0: `id`, `rec`, `why`,
/// `owner`), then each resident it needs (`side` 1: `id`, `row`, `rec`, `indexed`, `cluster`
/// and `kept` when clustered, `candidate`), sorted by id and side.
pub fn groups_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("side", DataType::Int32, false),
        Field::new("row", DataType::Int64, true),
        Field::new("rec", DataType::Binary, false),
        Field::new("why", DataType::Int32, true),
        Field::new("owner", DataType::Int64, true),
        Field::new("indexed", DataType::Boolean, true),
        Field::new("cluster", DataType::Int64, true),
        Field::new("kept", DataType::Int64, true),
        Field::new("candidate", DataType::Boolean, true),
    ]))
}

/// One owed row with the residents it is decided against.
pub struct Grouped {
    pub id: i64,
    pub rec: Rec,
    pub why: Owed,
    pub group: LinkGroup,
    /// Its candidates' rows in the register, sorted.
    pub candidates: Vec<u32>,
}

/// Step 4: the groups of a batch laid out as [`groups_schema`] says, every record's names
/// marked common or not as the model's register counted them (as `check` marks its rows).
pub fn groups(batch: &RecordBatch, common: &CommonNames) -> Result<Vec<Grouped>> {
    let id = column::<Int64Array>(batch, "id")?;
    let side = column::<Int32Array>(batch, "side")?;
    let row = column::<Int64Array>(batch, "row")?;
    let why = column::<Int32Array>(batch, "why")?;
    let owner = column::<Int64Array>(batch, "owner")?;
    let indexed = column::<BooleanArray>(batch, "indexed")?;
    let cluster = column::<Int64Array>(batch, "cluster")?;
    let kept = column::<Int64Array>(batch, "kept")?;
    let candidate = column::<BooleanArray>(batch, "candidate")?;
    let mut recs = recs_of(batch, "rec")?;
    common.mark(&mut recs);
    let opt = |a: &Int64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
    let mut out = Vec::new();
    let mut i = 0;
    while i < batch.num_rows() {
        if side.value(i) != 0 {
            return Err(internal("a group without its row to link"));
        }
        let this = id.value(i);
        let why = owed_of(why.value(i), opt(owner, i))?;
        let rec = recs[i].clone();
        let mut residents = Vec::new();
        let mut candidates = Vec::new();
        let mut j = i + 1;
        while j < batch.num_rows() && id.value(j) == this && side.value(j) == 1 {
            let r =
                to_u32(opt(row, j).ok_or_else(|| internal("a resident without its row number"))?)?;
            if candidate.value(j) {
                candidates.push(r);
            }
            let cluster = match (opt(cluster, j), opt(kept, j)) {
                (Some(c), Some(k)) => Some((to_u32(c)?, to_u32(k)?)),
                _ => None,
            };
            residents.push(GroupResident {
                row: r,
                rec: recs[j].clone(),
                indexed: indexed.value(j),
                cluster,
            });
            j += 1;
        }
        candidates.sort_unstable();
        candidates.dedup();
        out.push(Grouped {
            id: this,
            rec,
            why,
            group: LinkGroup::new(residents),
            candidates,
        });
        i = j;
    }
    Ok(out)
}

/// Build a batch of [`groups_schema`]: per owed row (`id`, `rec`, `why`), the residents it
/// needs, each with whether it is a candidate. For drivers that gather the groups themselves.
pub struct GroupsBuilder {
    id: Int64Builder,
    side: Int32Builder,
    row: Int64Builder,
    rec: BinaryBuilder,
    why: Int32Builder,
    owner: Int64Builder,
    indexed: arrow_array::builder::BooleanBuilder,
    cluster: Int64Builder,
    kept: Int64Builder,
    candidate: arrow_array::builder::BooleanBuilder,
    buf: Vec<u8>,
}

impl Default for GroupsBuilder {
    fn default() -> Self {
        GroupsBuilder {
            id: Int64Builder::new(),
            side: Int32Builder::new(),
            row: Int64Builder::new(),
            rec: BinaryBuilder::new(),
            why: Int32Builder::new(),
            owner: Int64Builder::new(),
            indexed: Default::default(),
            cluster: Int64Builder::new(),
            kept: Int64Builder::new(),
            candidate: Default::default(),
            buf: Vec::with_capacity(Rec::ENCODED_LEN),
        }
    }
}

impl GroupsBuilder {
    fn rec(&mut self, rec: &Rec) {
        self.buf.clear();
        rec.encode(&mut self.buf);
        self.rec.append_value(&self.buf);
    }

    /// The owed row that opens a group.
    pub fn owed(&mut self, id: i64, rec: &Rec, why: Owed) {
        let (code, owner) = owed_code(why);
        self.id.append_value(id);
        self.side.append_value(0);
        self.row.append_null();
        self.rec(rec);
        self.why.append_value(code);
        self.owner.append_option(owner);
        self.indexed.append_null();
        self.cluster.append_null();
        self.kept.append_null();
        self.candidate.append_null();
    }

    /// A resident of the group last opened.
    pub fn resident(&mut self, id: i64, r: &GroupResident, candidate: bool) {
        self.id.append_value(id);
        self.side.append_value(1);
        self.row.append_value(r.row as i64);
        self.rec(&r.rec);
        self.why.append_null();
        self.owner.append_null();
        self.indexed.append_value(r.indexed);
        self.cluster.append_option(r.cluster.map(|c| c.0 as i64));
        self.kept.append_option(r.cluster.map(|c| c.1 as i64));
        self.candidate.append_value(candidate);
    }

    pub fn finish(mut self) -> Result<RecordBatch> {
        RecordBatch::try_new(
            groups_schema(),
            vec![
                Arc::new(self.id.finish()),
                Arc::new(self.side.finish()),
                Arc::new(self.row.finish()),
                Arc::new(self.rec.finish()),
                Arc::new(self.why.finish()),
                Arc::new(self.owner.finish()),
                Arc::new(self.indexed.finish()),
                Arc::new(self.cluster.finish()),
                Arc::new(self.kept.finish()),
                Arc::new(self.candidate.finish()),
            ],
        )
        .map_err(Error::internal)
    }
}

/// The columns of [`link_rows`].
pub fn rows_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("row", DataType::Int64, false),
        Field::new("record_id", DataType::Utf8, false),
        Field::new("rec", DataType::Binary, false),
        Field::new("usable_id", DataType::Int64, true),
        Field::new("valid", DataType::Boolean, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("birth", DataType::Int32, true),
    ]))
}

fn pack_date(d: PDate) -> i32 {
    d.year as i32 * 10_000 + d.month as i32 * 100 + d.day as i32
}

fn unpack_date(v: i32) -> PDate {
    PDate::new((v / 10_000) as u16, (v / 100 % 100) as u8, (v % 100) as u8)
}

/// Step 0, per partition of a source (numbered `rows`): what linking reads of each row — its
/// features as a row to link of its kind compares them (no ID; a CMND typed in the ID column
/// as a CMND; a birth's province from its commune), its usable personal ID and whether it is
/// well formed, and the name and birth date an ID's resident is checked against.
pub fn link_rows(
    name: &str,
    kind: SourceKind,
    data: &SourceData,
    rows: &[i64],
    config: &Config,
) -> Result<RecordBatch> {
    let t = super::read_numbered(name, kind, data, rows, config)?;
    let prepared = Prepared::new(&t);
    let all: Vec<usize> = (0..t.len()).collect();
    let recs = features::features_of(&t, &prepared, &all);
    let (names, ids) = (t.column(Column::FullName), t.column(Column::RecordId));
    let communes = t.column(Column::CommuneCode);
    let has_province = t.column(Column::ProvinceCode).is_present();
    let n = t.len();
    let mut rec_b = BinaryBuilder::with_capacity(n, n * Rec::ENCODED_LEN);
    let mut usable = Int64Builder::with_capacity(n);
    let mut valid = arrow_array::builder::BooleanBuilder::with_capacity(n);
    let mut birth = Int32Builder::with_capacity(n);
    let mut buf = Vec::with_capacity(Rec::ENCODED_LEN);
    for (r, rec) in recs.into_iter().enumerate() {
        let facts = prepared.rows[r];
        let rec = link::row_rec(rec, &facts, kind, (!has_province).then(|| communes.get(r)));
        buf.clear();
        rec.encode(&mut buf);
        rec_b.append_value(&buf);
        usable.append_option(facts.pid.personal_id().map(|v| v as i64));
        valid.append_value(facts.pid.is_valid());
        birth.append_option(facts.birth.valid().map(pack_date));
    }
    let text = |c: &crate::core::Col| super::text_column(c, n);
    RecordBatch::try_new(
        rows_schema(),
        vec![
            Arc::new(Int64Array::from(rows.to_vec())),
            text(&ids),
            Arc::new(rec_b.finish()),
            Arc::new(usable.finish()),
            Arc::new(valid.finish()),
            text(&names),
            Arc::new(birth.finish()),
        ],
    )
    .map_err(Error::internal)
}

/// The columns of [`by_id`].
pub fn by_id_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("src", DataType::Int32, false),
        Field::new("row", DataType::Int64, false),
        Field::new("found", DataType::Boolean, false),
        Field::new("owner", DataType::Int64, true),
        Field::new("birth_resident", DataType::Int64, true),
        Field::new("agrees", DataType::Boolean, false),
    ]))
}

/// Step 0 across sources, per partition of personal IDs: `key` (a usable ID), `side` (0 a
/// resident with that well-formed ID, 1 a source's row), `src` (the row's source; births
/// are the sources flagged in `births`), `row`, `valid`, `name`, `birth`, sorted by key, side
/// and row. Per source row: whether a resident carries its ID, the resident whose name its
/// own disagrees with (its `xref.mismatch` on full_name: a row owed a link to check
/// against that resident), for a birth registration the resident its ID finds, and whether a
/// resident carries its well-formed ID under an agreeing name (indicators 6 and 7: a match).
pub fn by_id(batch: &RecordBatch, births: &[i32]) -> Result<RecordBatch> {
    use crate::compare::{compare_dates, compare_names, DateLevel, NameLevel};
    let key = column::<Int64Array>(batch, "key")?.values();
    let side = column::<Int32Array>(batch, "side")?.values();
    let src = column::<Int32Array>(batch, "src")?.values();
    let row = column::<Int64Array>(batch, "row")?.values();
    let valid = column::<BooleanArray>(batch, "valid")?;
    let name = column::<arrow_array::StringArray>(batch, "name")?;
    let birth = column::<Int32Array>(batch, "birth")?;
    let date = |i: usize| (!birth.is_null(i)).then(|| unpack_date(birth.value(i)));
    let (mut o_src, mut o_row) = (Int32Builder::new(), Int64Builder::new());
    let mut found = arrow_array::builder::BooleanBuilder::new();
    let (mut owner, mut birth_res) = (Int64Builder::new(), Int64Builder::new());
    let mut agrees = arrow_array::builder::BooleanBuilder::new();
    let mut start = 0;
    while start < key.len() {
        let end = start
            + key[start..]
                .iter()
                .take_while(|&&k| k == key[start])
                .count();
        let rows_from = start + side[start..end].iter().take_while(|&&s| s == 0).count();
        let residents = start..rows_from;
        for i in rows_from..end {
            o_src.append_value(src[i]);
            o_row.append_value(row[i]);
            found.append_value(!residents.is_empty());
            let mut own = None;
            let mut born = None;
            let mut agreeing = false;
            if valid.value(i) && !residents.is_empty() {
                if births.contains(&src[i]) {
                    born = residents
                        .clone()
                        .map(|c| {
                            let names = compare_names(name.value(i), name.value(c));
                            let dates = match (date(i), date(c)) {
                                (Some(a), Some(b)) => compare_dates(a, b),
                                _ => DateLevel::Different,
                            };
                            ((names, dates), row[c])
                        })
                        .min()
                        .filter(|&((names, dates), _)| {
                            names <= NameLevel::Close || dates <= DateLevel::Compatible
                        })
                        .map(|(_, c)| c);
                } else {
                    // As the cross-reference rule compares: the best-agreeing resident.
                    let (level, c) = residents
                        .clone()
                        .map(|c| (compare_names(name.value(i), name.value(c)), row[c]))
                        .min()
                        .expect("a resident");
                    if level > NameLevel::Exact && !name.value(i).is_empty() {
                        own = Some(c);
                    }
                    agreeing = level <= NameLevel::Close;
                }
            }
            owner.append_option(own);
            birth_res.append_option(born);
            agrees.append_value(agreeing);
        }
        start = end;
    }
    RecordBatch::try_new(
        by_id_schema(),
        vec![
            Arc::new(o_src.finish()),
            Arc::new(o_row.finish()),
            Arc::new(found.finish()),
            Arc::new(owner.finish()),
            Arc::new(birth_res.finish()),
            Arc::new(agrees.finish()),
        ],
    )
    .map_err(Error::internal)
}

/// The columns of [`owed_rows`].
pub fn owed_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("rec", DataType::Binary, false),
        Field::new("why", DataType::Int32, false),
        Field::new("owner", DataType::Int64, true),
    ]))
}

/// Rows owed a link (`id`, `rec` of [`link_rows`], `why`, `owner`, and `valid_id`, the
/// well-formed ID) as compared: a well-formed ID that resolves to nobody as an ID typed
/// wrong.
pub fn owed_rows(batch: &RecordBatch) -> Result<RecordBatch> {
    let id = column::<Int64Array>(batch, "id")?;
    let why = column::<Int32Array>(batch, "why")?;
    let owner = column::<Int64Array>(batch, "owner")?;
    let valid = column::<Int64Array>(batch, "valid_id")?;
    let recs = recs_of(batch, "rec")?;
    let mut rec_b = BinaryBuilder::new();
    let mut buf = Vec::with_capacity(Rec::ENCODED_LEN);
    for (i, rec) in recs.into_iter().enumerate() {
        let o = (!owner.is_null(i)).then(|| owner.value(i));
        let v = (!valid.is_null(i)).then(|| valid.value(i) as u64);
        let rec = link::owed_rec(rec, v, owed_of(why.value(i), o)?);
        buf.clear();
        rec.encode(&mut buf);
        rec_b.append_value(&buf);
    }
    RecordBatch::try_new(
        owed_schema(),
        vec![
            Arc::new(id.clone()),
            Arc::new(rec_b.finish()),
            Arc::new(why.clone()),
            Arc::new(owner.clone()),
        ],
    )
    .map_err(Error::internal)
}

/// The columns of [`patterns`].
pub fn patterns_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("pattern", DataType::Binary, false),
    ]))
}

/// Calibration, per batch of groups ([`groups_schema`]) of sampled rows: with `ids` (each
/// sampled row's `id` and the well-formed `pid` it carries), the comparison of each row with
/// its resident when the passes proposed it; without, each row's comparisons with every
/// candidate (for EM).
pub fn patterns(
    batch: &RecordBatch,
    ids: Option<&RecordBatch>,
    model_json: &str,
) -> Result<RecordBatch> {
    let common = CommonNames::of_model(&model_of(model_json)?);
    let sample: Option<std::collections::HashMap<i64, u64>> = match ids {
        Some(b) => {
            let id = column::<Int64Array>(b, "id")?;
            let pid = column::<Int64Array>(b, "pid")?;
            Some(
                (0..b.num_rows())
                    .map(|i| (id.value(i), pid.value(i) as u64))
                    .collect(),
            )
        }
        None => None,
    };
    let mut id_b = Int64Builder::new();
    let mut pat = BinaryBuilder::new();
    for g in groups(batch, &common)? {
        let found = match &sample {
            Some(s) => {
                let pid = *s
                    .get(&g.id)
                    .ok_or_else(|| internal("a sampled row without its ID"))?;
                g.group
                    .sample_pattern(&g.rec, pid, &g.candidates)
                    .into_iter()
                    .collect()
            }
            None => g.group.em_patterns(&g.rec, &g.candidates),
        };
        for p in found {
            id_b.append_value(g.id);
            pat.append_value(p.0);
        }
    }
    RecordBatch::try_new(
        patterns_schema(),
        vec![Arc::new(id_b.finish()), Arc::new(pat.finish())],
    )
    .map_err(Error::internal)
}

fn patterns_of(batch: &RecordBatch) -> Result<Vec<Pattern>> {
    let pat = column::<BinaryArray>(batch, "pattern")?;
    (0..pat.len())
        .map(|i| {
            <[u8; N_FIELDS]>::try_from(pat.value(i))
                .map(Pattern)
                .map_err(|_| internal("a comparison of another length"))
        })
        .collect()
}

/// On the driver: a source's calibration (as JSON) from its sampled rows' [`patterns`]
/// (`sampled` rows, of which a share `rho` of the well-formed IDs are residents'), among
/// `residents`; None when too few resolved, and EM must calibrate ([`calibrate_by_em`]).
/// With nothing to link (`owed_rows` 0) only ρ is kept.
pub fn calibrate(
    model_json: &str,
    residents: usize,
    rho: f64,
    sampled: usize,
    patterns: &RecordBatch,
    owed_rows: usize,
    config: &Config,
) -> Result<Option<String>> {
    let model = model_of(model_json)?;
    let cal = if owed_rows == 0 {
        LinkCalibration::nothing_to_link(&model, rho)
    } else {
        let found = patterns_of(patterns)?;
        match LinkCalibration::from_sample(&model, residents, rho, sampled, &found) {
            Some(c) => c,
            None => return Ok(None),
        }
    };
    cal.to_json(config.matching).map(Some)
}

/// On the driver: a source's calibration by EM on its rows' [`patterns`] with every
/// candidate (`sampled` rows to link, at a stride).
pub fn calibrate_by_em(
    model_json: &str,
    residents: usize,
    sampled: usize,
    patterns: &RecordBatch,
    config: &Config,
) -> Result<String> {
    let model = model_of(model_json)?;
    let found = patterns_of(patterns)?;
    LinkCalibration::by_em(&model, residents, sampled, found.into_iter()).to_json(config.matching)
}

/// The columns of [`decide`]: per row linked (`kind` 1) its resident, the resident's personal
/// ID and the probability; per row that fits several people (`kind` 2), each plausible
/// resident (`rank`: its place among them, from 0) with its share, whether they share a
/// province and how they compare.
pub fn decided_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("kind", DataType::Int32, false),
        Field::new("rank", DataType::Int32, false),
        Field::new("resident", DataType::Int64, false),
        Field::new("personal_id", DataType::Utf8, true),
        Field::new("probability", DataType::Float64, false),
        Field::new("in_province", DataType::Boolean, false),
        Field::new("levels", DataType::Utf8, true),
    ]))
}

/// Each group's row decided ([`groups_schema`]) with its source's `calibration` (JSON of
/// [`calibrate`]); `require_id`: only a resident with a personal ID is linked (every source but
/// births).
pub fn decide(
    batch: &RecordBatch,
    calibration: &str,
    require_id: bool,
    config: &Config,
) -> Result<RecordBatch> {
    let cal = LinkCalibration::from_json(calibration)?;
    let common = CommonNames::of_model(cal.model());
    let settings = link::Settings::of(&config.matching, require_id);
    let mut id = Int64Builder::new();
    let mut kind = Int32Builder::new();
    let mut rank = Int32Builder::new();
    let mut resident = Int64Builder::new();
    let mut pid = arrow_array::builder::StringBuilder::new();
    let mut prob = arrow_array::builder::Float64Builder::new();
    let mut inp = arrow_array::builder::BooleanBuilder::new();
    let mut levels = arrow_array::builder::StringBuilder::new();
    for g in groups(batch, &common)? {
        let res = |r: u32| {
            g.group
                .rec(r)
                .ok_or_else(|| internal("a group without its resident"))
        };
        match g.group.decide(settings, &cal, &g.rec, g.why, &g.candidates) {
            Outcome::Linked(r, p) => {
                id.append_value(g.id);
                kind.append_value(1);
                rank.append_value(0);
                resident.append_value(r as i64);
                pid.append_value(crate::ids::id_string(res(r)?.pid));
                prob.append_value(round6(p));
                inp.append_value(g.rec.province == res(r)?.province);
                levels.append_null();
            }
            Outcome::Ambiguous(people) => {
                for (place, (r, share)) in people.into_iter().enumerate() {
                    let b = res(r)?;
                    id.append_value(g.id);
                    kind.append_value(2);
                    rank.append_value(place as i32);
                    resident.append_value(r as i64);
                    pid.append_null();
                    prob.append_value(round6(share));
                    inp.append_value(g.rec.province == b.province);
                    levels.append_value(compare(&g.rec, b).explain());
                }
            }
            Outcome::None => {}
        }
    }
    RecordBatch::try_new(
        decided_schema(),
        vec![
            Arc::new(id.finish()),
            Arc::new(kind.finish()),
            Arc::new(rank.finish()),
            Arc::new(resident.finish()),
            Arc::new(pid.finish()),
            Arc::new(prob.finish()),
            Arc::new(inp.finish()),
            Arc::new(levels.finish()),
        ],
    )
    .map_err(Error::internal)
}

/// What `check` writes of one source's decisions ([`decided_schema`], every row of a row that
/// fits several residents, in any order): its `link.suggested` and `link.ambiguous` findings
/// (`findings.parquet` rows, in the engine's order) and the plausible residents of the rows
/// that fit several (`review.parquet` rows); for the deaths registry (deaths registered
/// without a usable ID), `alive.deceased_active` on each linked resident the register still
/// has alive. `rows` holds the decided rows of source `name` with their columns, each with its
/// decision's `id`, and `residents` the residents they name, each with its row.
pub fn link_outputs(
    name: &str,
    kind: SourceKind,
    rows: (&SourceData, &[i64]),
    residents: (&SourceData, &[i64]),
    decided: &RecordBatch,
    config: &Config,
) -> Result<(Vec<RecordBatch>, RecordBatch)> {
    let tables = beside_residents(residents.0, name, kind, rows.0, config)?;
    let row_of = places(rows.1, tables[1].len())?;
    let resident_of = places(residents.1, tables[0].len())?;
    let prepared: Vec<Prepared> = tables.iter().map(Prepared::new).collect();
    let ctx = super::context(&tables, None, None, PDate::new(2000, 1, 1), config);
    let input = crate::core::CheckInput::new(&tables, &prepared, ctx);
    let ids = column::<Int64Array>(decided, "id")?;
    let kinds = column::<Int32Array>(decided, "kind")?;
    let ranks = column::<Int32Array>(decided, "rank")?;
    let res = column::<Int64Array>(decided, "resident")?;
    let pids = column::<StringArray>(decided, "personal_id")?;
    let probs = column::<Float64Array>(decided, "probability")?;
    let inp = column::<BooleanArray>(decided, "in_province")?;
    let levels = column::<StringArray>(decided, "levels")?;
    let pid_col = input.cols[1][Column::PersonalId];
    let deaths = kind == SourceKind::Deaths;
    let (r_death, dd) = (
        input.cols[0][Column::DeathDate],
        input.cols[1][Column::DeathDate],
    );
    let mut findings = Vec::new();
    // The plausible residents of each row that fits several, in their order.
    let mut several: BTreeMap<u32, Vec<(i32, ReviewPair)>> = BTreeMap::new();
    for i in 0..decided.num_rows() {
        let row = *row_of
            .get(&ids.value(i))
            .ok_or_else(|| internal("a decision without its row"))?;
        let resident = *resident_of
            .get(&res.value(i))
            .ok_or_else(|| internal("a decision without its resident"))?;
        let at = crate::core::RowRef::new(1, row as usize);
        if deaths {
            // A death linked by name: the resident still alive in the register.
            if kinds.value(i) == 1 {
                let alive = r_death.opt(resident as usize);
                let date = dd.get(row as usize);
                findings.extend(link::death_finding(resident, alive, date, probs.value(i)));
            }
        } else if kinds.value(i) == 1 {
            let pid = pids.value(i).to_string();
            let value = pid_col.get(row as usize);
            findings.push(link::suggested(at, value, resident, pid, probs.value(i)).1);
        } else {
            let levels = levels.value(i).to_string();
            let pair = link::plausible(at, resident, probs.value(i), inp.value(i), levels);
            several.entry(row).or_default().push((ranks.value(i), pair));
        }
    }
    let mut review = Vec::new();
    for (_, mut pairs) in several {
        pairs.sort_by_key(|p| p.0);
        let pairs: Vec<ReviewPair> = pairs.into_iter().map(|p| p.1).collect();
        findings.push(link::ambiguous_finding(&pairs));
        review.extend(pairs);
    }
    let (_, found) = super::findings_out(findings, &input, config)?;
    let review = crate::report::tables::review_batch(&review.iter().collect::<Vec<_>>(), &input)?;
    Ok((found, review))
}

/// The birth rules' findings (`birth.no_resident`, `birth.mismatch`) of birth registrations
/// (`births`: the source's rows with its columns), each judged against its resident as
/// `check` judges it: `found` gives per registration the row of its resident (the one its ID
/// finds, else the one it was linked to) and whether it fits several residents (then none is
/// claimed missing); `residents` holds those residents with their columns, each with its row.
pub fn birth_findings(
    births: &SourceData,
    residents: (&SourceData, &[i64]),
    found: &[(Option<i64>, bool)],
    as_of: PDate,
    config: &Config,
) -> Result<Vec<RecordBatch>> {
    let tables = beside_residents(residents.0, "births", SourceKind::Births, births, config)?;
    if found.len() != tables[1].len() {
        return Err(internal(
            "registrations of another length than their residents",
        ));
    }
    let resident_of = places(residents.1, tables[0].len())?;
    let prepared: Vec<Prepared> = tables.iter().map(Prepared::new).collect();
    let ctx = super::context(&tables, None, None, as_of, config);
    let input = crate::core::CheckInput::new(&tables, &prepared, ctx);
    let mut findings = Vec::new();
    for (r, &(resident, ambiguous)) in found.iter().enumerate() {
        let res = match resident {
            Some(n) => Some(
                *resident_of
                    .get(&n)
                    .ok_or_else(|| internal("a registration without its resident"))?,
            ),
            None => None,
        };
        crate::rules::births::judge(&input, 1, r, res, ambiguous, &mut findings);
    }
    Ok(super::findings_out(findings, &input, config)?.1)
}

/// Some residents and some rows of source `name`, each with its columns, read as `check` reads
/// them: the two tables of a small `CheckInput` (residents first).
fn beside_residents(
    residents: &SourceData,
    name: &str,
    kind: SourceKind,
    rows: &SourceData,
    config: &Config,
) -> Result<Vec<crate::core::Table>> {
    let mut warnings = Warnings::new();
    let residents = read_data(
        "residents",
        SourceKind::Residents,
        residents,
        config,
        &mut warnings,
    )?;
    Ok(vec![
        residents,
        read_data(name, kind, rows, config, &mut warnings)?,
    ])
}

/// The place of each row number among `numbers`, the numbers of a table of `len` rows.
fn places(numbers: &[i64], len: usize) -> Result<HashMap<i64, u32>> {
    if numbers.len() != len {
        return Err(internal("row numbers of another length than its records"));
    }
    Ok(numbers
        .iter()
        .enumerate()
        .map(|(i, &n)| (n, i as u32))
        .collect())
}
