//! The Parquet correction queues: schemas and record batches of `findings.parquet`,
//! `resolved.parquet`, `duplicates.parquet`, `clusters.parquet` and `links.parquet`, shared by
//! every driver through the [`Records`] trait.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use rayon::prelude::*;

use super::view::{Extras, Records, View};
use crate::config::Config;
use crate::core::{Column, Finding, RowRef};
use crate::error::Result;
use crate::matching::decide::ReviewPair;
use crate::matching::{ClusterMember, Pair};
use crate::output::Staging;

/// Longest value echoed in findings and fix lists: a 10 MB cell is shown shortened.
const MAX_ECHO_CHARS: usize = 1000;

pub fn shorten(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= MAX_ECHO_CHARS {
        return std::borrow::Cow::Borrowed(s);
    }
    match s.char_indices().nth(MAX_ECHO_CHARS) {
        Some((i, _)) => std::borrow::Cow::Owned(format!("{}…", &s[..i])),
        None => std::borrow::Cow::Borrowed(s),
    }
}

pub(crate) fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

/// Schema of `findings.parquet`.
pub fn findings_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        utf8("source"),
        utf8("record_id"),
        utf8("province_code"),
        utf8("commune_code"),
        utf8("group"),
        utf8("rule"),
        utf8("field"),
        utf8("value"),
        utf8("suggestion"),
        utf8("related_record_id"),
        Field::new("score", DataType::Float64, true),
        utf8("related_source"),
        utf8("note"),
        utf8("severity"),
        utf8("status"),
    ]))
}

/// Schema of `findings.parquet` with the extra columns carried through after the standard
/// ones (a header that is already a findings column gets an `input.` prefix).
pub fn findings_schema_with(extras: &Extras) -> Arc<Schema> {
    let base = findings_schema();
    if extras.headers.is_empty() {
        return base;
    }
    let taken: Vec<&str> = base.fields().iter().map(|f| f.name().as_str()).collect();
    let mut fields: Vec<Field> = base.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.extend(extras.names(&taken, "input.", "").iter().map(|n| utf8(n)));
    Arc::new(Schema::new(fields))
}

/// Schema of `resolved.parquet`: the first eight columns of `findings.parquet` (source …
/// value).
pub fn resolved_schema() -> Arc<Schema> {
    Arc::new(Schema::new(findings_schema().fields()[..8].to_vec()))
}

/// Schema of `duplicates.parquet`.
pub fn duplicates_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        utf8("record_id_a"),
        utf8("source_a"),
        utf8("record_id_b"),
        utf8("source_b"),
        Field::new("probability", DataType::Float64, false),
        utf8("scope"),
        Field::new("cluster_id", DataType::Utf8, false),
        utf8("levels"),
        utf8("evidence"),
    ]))
}

/// Schema of `review.parquet`: pairs a person should look at (`dup.possible`: two residents
/// that may be one person) and candidates of an extract row that fits several residents
/// (`link.ambiguous`).
pub fn review_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        utf8("rule"),
        utf8("source_a"),
        utf8("record_id_a"),
        utf8("source_b"),
        utf8("record_id_b"),
        Field::new("probability", DataType::Float64, false),
        utf8("scope"),
        utf8("levels"),
        utf8("reason"),
        utf8("note"),
    ]))
}

/// The rows of `review.parquet` for pairs of residents.
pub fn review_batch(review: &[&ReviewPair], records: &dyn Records) -> Result<RecordBatch> {
    let mut s: Vec<StringBuilder> = (0..9).map(|_| StringBuilder::new()).collect();
    let mut prob = Float64Builder::new();
    for r in review {
        let p = &r.pair;
        s[0].append_value(r.doubt.rule().code());
        s[1].append_value(records.source(p.a));
        s[2].append_value(records.cell(p.a, Column::RecordId));
        s[3].append_value(records.source(p.b));
        s[4].append_value(records.cell(p.b, Column::RecordId));
        prob.append_value(p.probability);
        s[5].append_value(if p.in_province {
            "in_province"
        } else {
            "out_of_province"
        });
        s[6].append_value(&p.levels);
        s[7].append_value(r.doubt.code());
        s[8].append_value(r.doubt.note_vi());
    }
    let mut cols = finish(s);
    cols.insert(5, Arc::new(prob.finish()));
    crate::output::batch(&review_schema(), cols)
}

/// Schema of `clusters.parquet`.
pub fn clusters_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        utf8("source"),
        utf8("record_id"),
        Field::new("cluster_id", DataType::Utf8, false),
        Field::new("keep", DataType::Boolean, false),
    ]))
}

/// Schema of `links.parquet`.
pub fn links_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        utf8("source"),
        utf8("record_id"),
        utf8("resident_record_id"),
        utf8("personal_id"),
        Field::new("probability", DataType::Float64, false),
    ]))
}

pub(crate) fn finish(builders: Vec<StringBuilder>) -> Vec<ArrayRef> {
    builders
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect()
}

fn cluster_id(c: u32) -> String {
    format!("C{c:08}")
}

const BATCH_ROWS: usize = 256 * 1024;

/// The rows of `findings.parquet`; `open[i]` says whether finding i is also in the previous
/// run. The extra columns follow the standard ones, each record's values as they are.
pub fn findings_batches(
    findings: &[Finding],
    open: &[bool],
    records: &dyn Records,
    config: &Config,
    extras: &Extras,
) -> Result<Vec<RecordBatch>> {
    let schema = findings_schema_with(extras);
    findings
        .par_chunks(BATCH_ROWS)
        .zip(open.par_chunks(BATCH_ROWS))
        .map(|(chunk, open)| {
            let mut s: Vec<StringBuilder> = (0..14).map(|_| StringBuilder::new()).collect();
            let mut score = Float64Builder::with_capacity(chunk.len());
            for (f, is_open) in chunk.iter().zip(open) {
                s[13].append_value(if *is_open { "open" } else { "new" });
                s[0].append_value(records.source(f.at));
                s[1].append_value(records.cell(f.at, Column::RecordId));
                s[2].append_value(records.cell(f.at, Column::ProvinceCode));
                s[3].append_value(records.cell(f.at, Column::CommuneCode));
                s[4].append_value(f.rule.group().code());
                s[5].append_value(f.rule.code());
                s[6].append_value(f.field_name());
                s[7].append_option(f.value.as_deref().map(shorten));
                s[8].append_option(f.suggestion.as_deref().map(shorten));
                s[9].append_option(f.related.map(|r| records.cell(r, Column::RecordId)));
                score.append_option(f.score);
                s[10].append_option(f.related.map(|r| records.source(r)));
                s[11].append_option(f.note.as_deref());
                s[12].append_value(config.severity(f.rule).code());
            }
            let mut cols = finish(s);
            cols.insert(10, Arc::new(score.finish()));
            for i in 0..extras.headers.len() {
                let mut b = StringBuilder::with_capacity(chunk.len(), 0);
                for f in chunk {
                    b.append_option(extras.get(f.at, i));
                }
                cols.push(Arc::new(b.finish()));
            }
            crate::output::batch(&schema, cols)
        })
        .collect()
}

/// The rows of `duplicates.parquet`.
pub fn duplicates_batch(pairs: &[&Pair], records: &dyn Records) -> Result<RecordBatch> {
    let mut s: Vec<StringBuilder> = (0..5).map(|_| StringBuilder::new()).collect();
    let mut prob = Float64Builder::new();
    let mut cid = StringBuilder::new();
    for p in pairs {
        s[0].append_value(records.cell(p.a, Column::RecordId));
        s[1].append_value(records.source(p.a));
        s[2].append_value(records.cell(p.b, Column::RecordId));
        s[3].append_value(records.source(p.b));
        prob.append_value(p.probability);
        s[4].append_value(if p.in_province {
            "in_province"
        } else {
            "out_of_province"
        });
        cid.append_value(cluster_id(p.cluster));
    }
    let mut levels = StringBuilder::new();
    let mut evidence = StringBuilder::new();
    for p in pairs {
        levels.append_value(&p.levels);
        evidence.append_value(if p.implied { "cluster" } else { "compared" });
    }
    let mut c = finish(s);
    let scope = c.pop().expect("scope");
    c.push(Arc::new(prob.finish()));
    c.push(scope);
    c.push(Arc::new(cid.finish()));
    c.push(Arc::new(levels.finish()));
    c.push(Arc::new(evidence.finish()));
    crate::output::batch(&duplicates_schema(), c)
}

/// The rows of `clusters.parquet`.
pub fn clusters_batch(members: &[&ClusterMember], records: &dyn Records) -> Result<RecordBatch> {
    let (mut src, mut rid, mut cl) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let mut keep = BooleanBuilder::new();
    for m in members {
        src.append_value(records.source(m.at));
        rid.append_value(records.cell(m.at, Column::RecordId));
        cl.append_value(cluster_id(m.cluster));
        keep.append_value(m.keep);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(src.finish()),
        Arc::new(rid.finish()),
        Arc::new(cl.finish()),
        Arc::new(keep.finish()),
    ];
    crate::output::batch(&clusters_schema(), cols)
}

/// Write the Parquet correction queues of `check`.
pub fn write_tables(staging: &Staging, view: &View, config: &Config) -> Result<()> {
    write_judged_tables(staging, view, config)?;
    write_links(staging, view)
}

/// The tables a previous run and the officers' verdicts change: findings (with their status),
/// resolved findings, duplicate pairs, clusters and rows for review.
pub fn write_judged_tables(staging: &Staging, view: &View, config: &Config) -> Result<()> {
    staging.write_parquet(
        "findings.parquet",
        findings_schema_with(&view.extras),
        &findings_batches(&view.findings, &view.open, view, config, &view.extras)?,
    )?;
    let mut r: Vec<StringBuilder> = (0..8).map(|_| StringBuilder::new()).collect();
    for p in &view.resolved {
        let [source, record, rule, field] = p.key;
        for (b, v) in r.iter_mut().zip([
            source,
            record,
            p.province_code,
            p.commune_code,
            p.group,
            rule,
            field,
            p.value,
        ]) {
            b.append_value(v);
        }
    }
    let schema = resolved_schema();
    staging.write_parquet(
        "resolved.parquet",
        schema.clone(),
        &[crate::output::batch(&schema, finish(r))?],
    )?;

    let schema = duplicates_schema();
    staging.write_parquet(
        "duplicates.parquet",
        schema,
        &[duplicates_batch(&view.pairs, view)?],
    )?;
    staging.write_parquet(
        "clusters.parquet",
        clusters_schema(),
        &[clusters_batch(&view.clusters, view)?],
    )?;
    staging.write_parquet(
        "review.parquet",
        review_schema(),
        &[review_batch(&view.review, view)?],
    )
}

fn write_links(staging: &Staging, view: &View) -> Result<()> {
    let mut s: Vec<StringBuilder> = (0..4).map(|_| StringBuilder::new()).collect();
    let mut prob = Float64Builder::new();
    for l in &view.links {
        let res = RowRef::resident(l.resident);
        s[0].append_value(view.source(l.at));
        s[1].append_value(view.cell(l.at, Column::RecordId));
        s[2].append_value(view.cell(res, Column::RecordId));
        s[3].append_value(view.cell(res, Column::PersonalId));
        prob.append_value(l.probability);
    }
    let mut cols = finish(s);
    cols.push(Arc::new(prob.finish()));
    let schema = links_schema();
    staging.write_parquet(
        "links.parquet",
        schema.clone(),
        &[crate::output::batch(&schema, cols)?],
    )
}
