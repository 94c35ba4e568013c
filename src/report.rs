//! What `check` writes: the Parquet correction queues, the per-commune fix lists, and the
//! summary in the ministry's indicator groups.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::matching::{ClusterMember, Link, MatchResult, Pair};
use crate::output::Staging;
use crate::pipeline::{CheckOptions, Timings};
use crate::rules::{CheckInput, Finding, Group, RowRef, Rule};
use crate::table::Col;

/// The findings, pairs and links of a run as the outputs present them (after `--province`).
pub struct View<'a> {
    pub input: &'a CheckInput<'a>,
    pub findings: Vec<Finding>,
    pub pairs: Vec<&'a Pair>,
    pub clusters: Vec<&'a ClusterMember>,
    pub links: Vec<&'a Link>,
    pub matches: &'a MatchResult,
    pub province: Option<&'a str>,
    /// Per finding: also found by the previous run (`open`) or not (`new`).
    pub open: Vec<bool>,
    /// The previous run's findings that no longer fire (in the province viewed).
    pub resolved: Vec<&'a crate::nightly::PreviousFinding>,
    pub previous: Option<&'a crate::nightly::Previous>,
    /// The sources' unknown extra columns, carried through to findings and fix lists.
    pub extras: Extras<'a>,
}

impl<'a> View<'a> {
    pub fn new(
        input: &'a CheckInput<'a>,
        findings: Vec<Finding>,
        matches: &'a MatchResult,
        province: Option<&'a str>,
        previous: Option<&'a crate::nightly::Previous>,
    ) -> Self {
        let in_prov = |r: RowRef| match province {
            None => true,
            Some(p) => {
                input.tables[r.source as usize]
                    .col("province_code")
                    .get(r.row as usize)
                    == p
            }
        };
        let findings: Vec<Finding> = findings
            .into_iter()
            .filter(|f| in_prov(f.at) || f.related.is_some_and(in_prov))
            .collect();
        let pairs: Vec<&Pair> = matches
            .pairs
            .iter()
            .filter(|p| in_prov(p.a) || in_prov(p.b))
            .collect();
        let kept: BTreeSet<u32> = pairs.iter().map(|p| p.cluster).collect();
        let clusters = matches
            .clusters
            .iter()
            .filter(|c| kept.contains(&c.cluster))
            .collect();
        let links = matches
            .links
            .iter()
            .filter(|l| {
                in_prov(l.at)
                    || in_prov(RowRef {
                        source: 0,
                        row: l.resident,
                    })
            })
            .collect();
        let key = |f: &Finding| {
            let t = &input.tables[f.at.source as usize];
            (
                t.name.clone(),
                t.col("record_id").get(f.at.row as usize).to_string(),
                f.rule.code().to_string(),
                f.field.to_string(),
            )
        };
        let (open, resolved) = match previous {
            None => (vec![false; findings.len()], Vec::new()),
            Some(prev) => {
                let open: Vec<bool> = findings
                    .iter()
                    .map(|f| prev.keys.contains(&key(f)))
                    .collect();
                let now: std::collections::HashSet<crate::nightly::FindingKey> =
                    findings.iter().map(key).collect();
                let resolved = prev
                    .findings
                    .iter()
                    .filter(|p| !now.contains(&p.key))
                    .filter(|p| province.is_none_or(|code| p.province_code == code))
                    .collect();
                (open, resolved)
            }
        };
        View {
            input,
            findings,
            pairs,
            clusters,
            links,
            matches,
            province,
            open,
            resolved,
            previous,
            extras: Extras::of(input.tables),
        }
    }
}

/// The unknown extra columns of the echoed sources (SPEC §2: carried through untouched where
/// an output row echoes its record), for `findings.parquet` and the fix lists. One output
/// column per distinct header, in the order first met (residents first); a record whose
/// source has no such column gets a null (an empty cell in the fix lists).
pub struct Extras<'a> {
    /// The input headers.
    pub headers: Vec<String>,
    /// Per source, per header: the source's column (absent when it has none).
    cols: Vec<Vec<Col<'a>>>,
}

impl<'a> Extras<'a> {
    /// No extra columns (`dedup`, which reads only the columns it matches on).
    pub fn none() -> Self {
        Extras {
            headers: Vec::new(),
            cols: Vec::new(),
        }
    }

    pub fn of(tables: &'a [crate::table::Table]) -> Self {
        let mut headers: Vec<String> = Vec::new();
        for t in tables {
            for (h, _) in t.extra_columns() {
                if !headers.iter().any(|x| x == h) {
                    headers.push(h.to_string());
                }
            }
        }
        // A table without one of the headers gets an absent column (all null).
        let cols = tables
            .iter()
            .map(|t| headers.iter().map(|h| t.col(h)).collect())
            .collect();
        Extras { headers, cols }
    }

    /// Extra column `i` of record `r`, as it is in the input (None when null or absent).
    pub fn get(&self, r: RowRef, i: usize) -> Option<&'a str> {
        self.cols[r.source as usize][i].cell(r.row as usize)
    }

    /// The output names of the extra columns: each header as it is, unless an output already
    /// has a column of that name (`value`, `note`; the fix lists' `Ghi chú`): then the header
    /// with `prefix` before it or `suffix` after it, as often as needed to be unique.
    fn names(&self, taken: &[&str], prefix: &str, suffix: &str) -> Vec<String> {
        let mut used: Vec<String> = taken.iter().map(|t| t.to_string()).collect();
        let mut out = Vec::with_capacity(self.headers.len());
        for h in &self.headers {
            let mut name = h.clone();
            while used.contains(&name) {
                name = format!("{prefix}{name}{suffix}");
            }
            used.push(name.clone());
            out.push(name);
        }
        out
    }
}

/// Where output rows find what they echo of the record a [`RowRef`] points to.
pub trait Records: Sync {
    /// The record's `source` value (`residents`, `vaccination`, …).
    fn source(&self, r: RowRef) -> &str;
    /// A cell of the record ("" when absent).
    fn cell(&self, r: RowRef, col: &str) -> &str;
}

impl Records for View<'_> {
    /// A cell of a finding's record. The canonical columns come from the columns the rules
    /// resolved once (`CheckInput::cols`), not from a lookup by name per cell.
    fn cell(&self, r: RowRef, col: &str) -> &str {
        let c = &self.input.cols[r.source as usize];
        let column = match col {
            "record_id" => c.record_id,
            "personal_id" => c.personal_id,
            "full_name" => c.full_name,
            "birth_date" => c.birth_date,
            "sex" => c.sex,
            "province_code" => c.province_code,
            "commune_code" => c.commune_code,
            _ => self.input.tables[r.source as usize].col(col),
        };
        column.get(r.row as usize)
    }

    fn source(&self, r: RowRef) -> &str {
        &self.input.tables[r.source as usize].name
    }
}

/// Longest value echoed in findings and fix lists: a 10 MB cell is shown shortened.
const MAX_ECHO_CHARS: usize = 1000;

fn shorten(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= MAX_ECHO_CHARS {
        return std::borrow::Cow::Borrowed(s);
    }
    match s.char_indices().nth(MAX_ECHO_CHARS) {
        Some((i, _)) => std::borrow::Cow::Owned(format!("{}…", &s[..i])),
        None => std::borrow::Cow::Borrowed(s),
    }
}

fn utf8(name: &str) -> Field {
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
    ]))
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

fn finish(builders: Vec<StringBuilder>) -> Vec<ArrayRef> {
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
    config: &crate::config::Config,
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
                s[1].append_value(records.cell(f.at, "record_id"));
                s[2].append_value(records.cell(f.at, "province_code"));
                s[3].append_value(records.cell(f.at, "commune_code"));
                s[4].append_value(f.rule.group().code());
                s[5].append_value(f.rule.code());
                s[6].append_value(f.field);
                s[7].append_option(f.value.as_deref().map(shorten));
                s[8].append_option(f.suggestion.as_deref().map(shorten));
                s[9].append_option(f.related.map(|r| records.cell(r, "record_id")));
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

/// Write the Parquet correction queues.
/// The rows of `duplicates.parquet`.
pub fn duplicates_batch(pairs: &[&Pair], records: &dyn Records) -> Result<RecordBatch> {
    let mut s: Vec<StringBuilder> = (0..5).map(|_| StringBuilder::new()).collect();
    let mut prob = Float64Builder::new();
    let mut cid = StringBuilder::new();
    for p in pairs {
        s[0].append_value(records.cell(p.a, "record_id"));
        s[1].append_value(records.source(p.a));
        s[2].append_value(records.cell(p.b, "record_id"));
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
    for p in pairs {
        levels.append_value(&p.levels);
    }
    let mut c = finish(s);
    let scope = c.pop().expect("scope");
    c.push(Arc::new(prob.finish()));
    c.push(scope);
    c.push(Arc::new(cid.finish()));
    c.push(Arc::new(levels.finish()));
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
        rid.append_value(records.cell(m.at, "record_id"));
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

pub fn write_tables(staging: &Staging, view: &View) -> Result<()> {
    staging.write_parquet(
        "findings.parquet",
        findings_schema_with(&view.extras),
        &findings_batches(
            &view.findings,
            &view.open,
            view,
            view.input.config,
            &view.extras,
        )?,
    )?;
    let mut r: Vec<StringBuilder> = (0..8).map(|_| StringBuilder::new()).collect();
    for p in &view.resolved {
        let (source, record, rule, field) = &p.key;
        for (b, v) in r.iter_mut().zip([
            source.as_str(),
            record,
            &p.province_code,
            &p.commune_code,
            &p.group,
            rule,
            field,
            &p.value,
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

    let mut s: Vec<StringBuilder> = (0..4).map(|_| StringBuilder::new()).collect();
    let mut prob = Float64Builder::new();
    for l in &view.links {
        let res = RowRef {
            source: 0,
            row: l.resident,
        };
        s[0].append_value(view.source(l.at));
        s[1].append_value(view.cell(l.at, "record_id"));
        s[2].append_value(view.cell(res, "record_id"));
        s[3].append_value(view.cell(res, "personal_id"));
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

// ------------------------------------------------------------------ fix lists

/// Column headers of the fix lists, in Vietnamese.
pub const FIXLIST_HEADERS: &[&str] = &[
    "Nguồn",
    "Mã bản ghi",
    "Số định danh",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Trạng thái",
    "Mức độ",
    "Nhóm",
    "Quy tắc",
    "Mô tả",
    "Trường",
    "Giá trị hiện tại",
    "Đề xuất sửa",
    "Bản ghi liên quan",
    "Họ tên bản ghi liên quan",
    "Ngày sinh bản ghi liên quan",
    "Xác suất trùng",
    "Ghi chú",
];

/// The fix lists' headers: the Vietnamese ones, then the extra columns carried through (a
/// header that is already a fix-list header gets " (tệp gốc)", "original file", after it).
fn fixlist_headers(extras: &Extras) -> Vec<String> {
    let mut headers: Vec<String> = FIXLIST_HEADERS.iter().map(|h| h.to_string()).collect();
    headers.extend(extras.names(FIXLIST_HEADERS, "", " (tệp gốc)"));
    headers
}

fn fixlist_row(view: &View, f: &Finding, open: bool) -> Vec<String> {
    let mut row = vec![
        view.source(f.at).to_string(),
        view.cell(f.at, "record_id").to_string(),
        view.cell(f.at, "personal_id").to_string(),
        shorten(view.cell(f.at, "full_name")).into_owned(),
        view.cell(f.at, "birth_date").to_string(),
        view.cell(f.at, "sex").to_string(),
        if open { "Đang mở" } else { "Mới" }.to_string(),
        view.input.config.severity(f.rule).label_vi().to_string(),
        f.rule.group().label_vi().to_string(),
        f.rule.code().to_string(),
        f.rule.description_vi().to_string(),
        crate::schema::vietnamese_label(f.field).to_string(),
        f.value
            .as_deref()
            .map(shorten)
            .unwrap_or_default()
            .into_owned(),
        f.suggestion
            .as_deref()
            .map(shorten)
            .unwrap_or_default()
            .into_owned(),
        f.related
            .map(|r| format!("{} {}", view.source(r), view.cell(r, "record_id")))
            .unwrap_or_default(),
        // The other record beside this one (duplicates, shared IDs, links).
        f.related
            .map(|r| view.cell(r, "full_name").to_string())
            .unwrap_or_default(),
        f.related
            .map(|r| view.cell(r, "birth_date").to_string())
            .unwrap_or_default(),
        f.score.map(|s| format!("{s:.3}")).unwrap_or_default(),
        f.note.clone().unwrap_or_default(),
    ];
    row.extend(
        (0..view.extras.headers.len())
            .map(|i| shorten(view.extras.get(f.at, i).unwrap_or_default()).into_owned()),
    );
    row
}

fn csv_escape(s: &str, out: &mut String) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// A commune code safe to use as a file name ("khong_ro" when the record has none).
fn commune_file(code: &str) -> String {
    let c: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if c.is_empty() {
        "khong_ro".to_string()
    } else {
        c
    }
}

/// Write `fixlists/<commune_code>.csv` (UTF-8 with BOM) and `.xlsx`, one per commune with
/// findings, rows sorted by severity then rule; new rows marked.
pub fn write_fixlists(staging: &Staging, view: &View) -> Result<()> {
    let mut by_commune: BTreeMap<String, Vec<(&Finding, bool)>> = BTreeMap::new();
    for (f, open) in view.findings.iter().zip(&view.open) {
        by_commune
            .entry(commune_file(view.cell(f.at, "commune_code")))
            .or_default()
            .push((f, *open));
    }
    let headers = fixlist_headers(&view.extras);
    by_commune.par_iter().try_for_each(|(commune, findings)| {
        let mut rows: Vec<(&Finding, bool)> = findings.clone();
        let severity = |f: &Finding| view.input.config.severity(f.rule);
        rows.sort_by_key(|(f, _)| (severity(f), f.rule, f.at));
        let mut csv = String::from("\u{feff}");
        for (i, h) in headers.iter().enumerate() {
            if i > 0 {
                csv.push(',');
            }
            csv_escape(h, &mut csv);
        }
        csv.push_str("\r\n");
        let table: Vec<(Group, Vec<String>)> = rows
            .iter()
            .map(|(f, open)| (f.rule.group(), fixlist_row(view, f, *open)))
            .collect();
        for (_, row) in &table {
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    csv.push(',');
                }
                csv_escape(cell, &mut csv);
            }
            csv.push_str("\r\n");
        }
        staging.write_bytes(&format!("fixlists/{commune}.csv"), csv.as_bytes())?;
        let xlsx = fixlist_xlsx(commune, &headers, &table, view.input.as_of)
            .map_err(|e| Error::output(&staging.dir().join("fixlists"), e))?;
        staging.write_bytes(&format!("fixlists/{commune}.xlsx"), &xlsx)
    })
}

fn fixlist_xlsx(
    commune: &str,
    headers: &[String],
    table: &[(Group, Vec<String>)],
    as_of: crate::dates::PDate,
) -> std::result::Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    // Deflate level 1: a commune's list saves about 3x faster than at the default level 6,
    // for a file a little larger (measured in docs/BENCHMARKS.md).
    wb.set_zip_compression_level(1);
    // Dated by --as-of, not by the clock: the same run gives the same bytes.
    let created = ExcelDateTime::from_ymd(as_of.year, as_of.month.max(1), as_of.day.max(1))?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let bold = Format::new().set_bold();
    let reference = crate::reference::reference();
    let first = wb.add_worksheet();
    first.set_name("Tổng hợp")?;
    let commune_name = reference.commune_label(commune);
    first.write_with_format(0, 0, "Mã xã", &bold)?;
    first.write(0, 1, commune)?;
    first.write_with_format(1, 0, "Tên xã", &bold)?;
    first.write(1, 1, commune_name)?;
    first.write_with_format(3, 0, "Nhóm", &bold)?;
    first.write_with_format(3, 1, "Số trường hợp", &bold)?;
    for (i, g) in Group::ALL.iter().enumerate() {
        let n = table.iter().filter(|(tg, _)| tg == g).count();
        first.write(4 + i as u32, 0, g.label_vi())?;
        first.write(4 + i as u32, 1, n as u32)?;
    }
    first.set_column_width(0, 18)?;
    first.set_column_width(1, 40)?;
    for g in Group::ALL {
        let ws = wb.add_worksheet();
        ws.set_name(g.label_vi())?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_with_format(0, c as u16, h, &bold)?;
        }
        for (r, (_, row)) in (1u32..).zip(table.iter().filter(|(tg, _)| *tg == g)) {
            for (c, cell) in row.iter().enumerate() {
                ws.write(r, c as u16, cell)?;
            }
        }
        ws.set_freeze_panes(1, 0)?;
    }
    wb.save_to_buffer()
}

// ------------------------------------------------------------------ summary

/// The ministry's indicator groups (SPEC §3), with the rules counted toward each.
pub struct Indicator {
    pub key: &'static str,
    pub label: &'static str,
    pub rules: &'static [Rule],
    /// Only findings on sources whose name matches one of these (for the extract groups).
    pub sources: &'static [&'static str],
}

pub const INDICATORS: &[Indicator] = &[
    Indicator {
        key: "1_huy_xac_lap_lai_so_ddcn",
        label: "(1) Hủy, xác lập lại số định danh cá nhân",
        rules: &[
            Rule::IdShared,
            Rule::IdProvinceCode,
            Rule::IdCenturySex,
            Rule::IdBirthYear,
        ],
        sources: &["residents"],
    },
    Indicator {
        key: "2_cap_nhat_cmnd_9_so",
        label: "(2) Cập nhật thông tin CMND 9 số",
        rules: &[
            Rule::CmndMapped,
            Rule::CmndUnmapped,
            Rule::CmndFormat,
            Rule::IdOldCmnd,
        ],
        sources: &["residents"],
    },
    Indicator {
        key: "3a_ho_khong_co_chu_ho",
        label: "(3) Hộ không có chủ hộ",
        rules: &[Rule::HouseholdNoHead],
        sources: &["residents"],
    },
    Indicator {
        key: "3b_ho_nhieu_chu_ho",
        label: "(3) Hộ có nhiều hơn 01 chủ hộ",
        rules: &[Rule::HouseholdMultipleHeads],
        sources: &["residents"],
    },
    Indicator {
        key: "4a_xoa_trung_trong_tinh",
        label: "(4) Xóa trùng thông tin công dân trong tỉnh",
        rules: &[Rule::DupInProvince],
        sources: &["residents"],
    },
    Indicator {
        key: "4b_xoa_trung_ngoai_tinh",
        label: "(4) Xóa trùng thông tin công dân ngoài tỉnh",
        rules: &[Rule::DupOutOfProvince],
        sources: &["residents"],
    },
    Indicator {
        key: "5_cap_nhat_truong_con_thieu",
        label: "(5) Cập nhật các trường thông tin còn thiếu",
        rules: &[Rule::FieldMissing, Rule::IdMissing],
        sources: &["residents"],
    },
    Indicator {
        key: "6_lam_sach_pham_nhan",
        label: "(6) Làm sạch dữ liệu phạm nhân",
        rules: Rule::ALL,
        sources: &[
            "pham_nhan",
            "phamnhan",
            "prisoners",
            "prisoner",
            "pham-nhan",
        ],
    },
    Indicator {
        key: "7_lam_sach_khu_cong_nghiep",
        label: "(7) Làm sạch dữ liệu tại các khu công nghiệp",
        rules: Rule::ALL,
        sources: &[
            "kcn",
            "khu_cong_nghiep",
            "khucongnghiep",
            "industrial",
            "workers",
            "cong_nhan",
        ],
    },
    Indicator {
        key: "sai_cau_truc_so_ddcn",
        label: "Sai cấu trúc số định danh cá nhân",
        rules: &[
            Rule::IdFormat,
            Rule::IdProvinceCode,
            Rule::IdCenturySex,
            Rule::IdBirthYear,
        ],
        sources: &["residents"],
    },
    Indicator {
        key: "tiem_chung_khong_co_cccd",
        label: "Tiêm chủng: không có CCCD",
        rules: &[Rule::IdMissing],
        sources: &["vaccination"],
    },
    Indicator {
        key: "tiem_chung_sai_dinh_dang",
        label: "Tiêm chủng: sai định dạng",
        rules: &[
            Rule::IdFormat,
            Rule::IdPhoneNumber,
            Rule::IdOldCmnd,
            Rule::IdProvinceCode,
            Rule::IdCenturySex,
            Rule::IdBirthYear,
        ],
        sources: &["vaccination"],
    },
    Indicator {
        key: "tiem_chung_sai_thong_tin",
        label: "Tiêm chủng: sai thông tin",
        rules: &[Rule::XrefMismatch, Rule::XrefNotFound],
        sources: &["vaccination"],
    },
];

fn source_matches(name: &str, patterns: &[&str]) -> bool {
    let folded = crate::schema::fold_header(name);
    patterns.iter().any(|p| folded == *p || folded.contains(p))
}

/// Per indicator: distinct records, households (group 3), new records and resolved records.
pub struct IndicatorCount {
    pub indicator: &'static Indicator,
    pub records: usize,
    pub households: Option<usize>,
    pub new: usize,
    pub resolved: usize,
}

/// Count, per indicator, the distinct records (and for households, the households).
pub fn indicator_counts(view: &View) -> Vec<IndicatorCount> {
    INDICATORS
        .iter()
        .map(|ind| {
            let mut records: BTreeSet<RowRef> = BTreeSet::new();
            let mut new: BTreeSet<RowRef> = BTreeSet::new();
            let mut households: BTreeSet<&str> = BTreeSet::new();
            for (f, open) in view.findings.iter().zip(&view.open) {
                let src = view.source(f.at);
                if ind.rules.contains(&f.rule) && source_matches(src, ind.sources) {
                    records.insert(f.at);
                    if !open {
                        new.insert(f.at);
                    }
                    if matches!(f.rule, Rule::HouseholdNoHead | Rule::HouseholdMultipleHeads) {
                        households.insert(f.value.as_deref().unwrap_or(""));
                    }
                }
            }
            let resolved: BTreeSet<(&str, &str)> = view
                .resolved
                .iter()
                .filter(|p| {
                    Rule::from_code(&p.key.2).is_some_and(|r| ind.rules.contains(&r))
                        && source_matches(&p.key.0, ind.sources)
                })
                .map(|p| (p.key.0.as_str(), p.key.1.as_str()))
                .collect();
            IndicatorCount {
                indicator: ind,
                records: records.len(),
                households: ind.key.starts_with('3').then_some(households.len()),
                new: new.len(),
                resolved: resolved.len(),
            }
        })
        .collect()
}

/// Build `summary.json`.
pub fn summary(view: &View, warnings: &[String], timings: &Timings, opts: &CheckOptions) -> Value {
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
    let mut per_rule: BTreeMap<&str, usize> = Rule::ALL.iter().map(|r| (r.code(), 0)).collect();
    let mut per_group: BTreeMap<&str, usize> = Group::ALL.iter().map(|g| (g.code(), 0)).collect();
    let mut per_source: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    let mut per_commune: BTreeMap<&str, usize> = BTreeMap::new();
    let mut flagged: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for f in &view.findings {
        *per_rule.entry(f.rule.code()).or_default() += 1;
        *per_group.entry(f.rule.group().code()).or_default() += 1;
        *per_source
            .entry(view.source(f.at))
            .or_default()
            .entry(f.rule.code())
            .or_default() += 1;
        *per_commune
            .entry(view.cell(f.at, "commune_code"))
            .or_default() += 1;
        flagged
            .entry(view.source(f.at))
            .or_default()
            .insert(f.at.row);
    }
    // Every input row is accounted for: rows with at least one finding, and clean rows.
    let accounting: BTreeMap<&str, Value> = input
        .tables
        .iter()
        .map(|t| {
            let with = flagged.get(t.name.as_str()).map_or(0, BTreeSet::len);
            let (in_scope, out_of_scope) = match view.province {
                None => (t.len(), 0),
                Some(p) => {
                    let c = t.col("province_code");
                    let n = (0..t.len()).filter(|&r| c.get(r) == p).count();
                    (n, t.len() - n)
                }
            };
            (
                t.name.as_str(),
                json!({
                    "rows_read": t.len(),
                    "rows_with_findings": with,
                    "rows_without_findings": t.len() - with,
                    "rows_in_scope": in_scope,
                    "rows_outside_province": out_of_scope,
                }),
            )
        })
        .collect();
    let indicators: Vec<Value> = indicator_counts(view)
        .into_iter()
        .map(|c| {
            // Records evaluated: the rows of the sources the indicator counts.
            let evaluated: usize = input
                .tables
                .iter()
                .filter(|t| source_matches(&t.name, c.indicator.sources))
                .map(|t| t.len())
                .sum();
            let pct = if evaluated == 0 {
                0.0
            } else {
                c.records as f64 * 100.0 / evaluated as f64
            };
            let mut v = json!({
                "key": c.indicator.key,
                "label": c.indicator.label,
                "records_evaluated": evaluated,
                "records": c.records,
                "percent": (pct * 1000.0).round() / 1000.0,
                "new": c.new,
                "resolved": c.resolved,
            });
            if let Some(h) = c.households {
                v["households"] = json!(h);
            }
            v
        })
        .collect();
    // Per rule: records evaluated, findings, records with findings, percentage, new, resolved.
    let rows_of = |pred: &dyn Fn(crate::schema::SourceKind) -> bool| -> usize {
        input
            .tables
            .iter()
            .filter(|t| pred(t.kind))
            .map(|t| t.len())
            .sum()
    };
    let residents_rows = rows_of(&|k| k == crate::schema::SourceKind::Residents);
    let linked_rows = rows_of(&|k| k.is_linked());
    let mut rule_records: BTreeMap<Rule, BTreeSet<RowRef>> = BTreeMap::new();
    let mut rule_new: BTreeMap<Rule, usize> = BTreeMap::new();
    let mut commune_new: BTreeMap<&str, usize> = BTreeMap::new();
    for (f, open) in view.findings.iter().zip(&view.open) {
        rule_records.entry(f.rule).or_default().insert(f.at);
        if !open {
            *rule_new.entry(f.rule).or_default() += 1;
            *commune_new
                .entry(view.cell(f.at, "commune_code"))
                .or_default() += 1;
        }
    }
    let mut rule_resolved: BTreeMap<&str, usize> = BTreeMap::new();
    let mut commune_resolved: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &view.resolved {
        *rule_resolved.entry(p.key.2.as_str()).or_default() += 1;
        *commune_resolved.entry(p.commune_code.as_str()).or_default() += 1;
    }
    let rule_stats: BTreeMap<&str, Value> = Rule::ALL
        .iter()
        .map(|&r| {
            use Rule::*;
            let evaluated = match r {
                HouseholdNoHead
                | HouseholdMultipleHeads
                | DupInProvince
                | DupOutOfProvince
                | IdShared
                | AliveImplausibleAge
                | AliveDeceasedActive => residents_rows,
                LinkSuggested | XrefNotFound | XrefMismatch | AliveEventAfterDeath => linked_rows,
                _ => residents_rows + linked_rows,
            };
            let records = rule_records.get(&r).map_or(0, BTreeSet::len);
            let pct = if evaluated == 0 {
                0.0
            } else {
                records as f64 * 100.0 / evaluated as f64
            };
            (
                r.code(),
                json!({
                    "group": r.group().code(),
                    "severity": input.config.severity(r).code(),
                    "records_evaluated": evaluated,
                    "findings": per_rule.get(r.code()).copied().unwrap_or(0),
                    "records": records,
                    "percent": (pct * 1000.0).round() / 1000.0,
                    "new": rule_new.get(&r).copied().unwrap_or(0),
                    "resolved": rule_resolved.get(r.code()).copied().unwrap_or(0),
                }),
            )
        })
        .collect();
    // Records evaluated per commune: every input row resident there.
    let mut commune_rows: BTreeMap<&str, usize> = BTreeMap::new();
    for t in input.tables {
        let c = t.col("commune_code");
        for r in 0..t.len() {
            *commune_rows.entry(c.get(r)).or_default() += 1;
        }
    }
    let mut communes: BTreeSet<&str> = per_commune.keys().copied().collect();
    communes.extend(commune_resolved.keys().copied());
    let commune_stats: BTreeMap<&str, Value> = communes
        .into_iter()
        .map(|c| {
            (
                c,
                json!({
                    "records_evaluated": commune_rows.get(c).copied().unwrap_or(0),
                    "findings": per_commune.get(c).copied().unwrap_or(0),
                    "findings_per_100_records": commune_rows.get(c).filter(|n| **n > 0).map(|n| {
                        (per_commune.get(c).copied().unwrap_or(0) as f64 * 100.0 / *n as f64 * 1000.0).round() / 1000.0
                    }),
                    "new": commune_new.get(c).copied().unwrap_or(0),
                    "resolved": commune_resolved.get(c).copied().unwrap_or(0),
                }),
            )
        })
        .collect();
    let timings: BTreeMap<&str, f64> = timings
        .0
        .iter()
        .map(|(k, v)| (*k, (*v * 1000.0).round() / 1000.0))
        .collect();
    let model = view.matches.model.as_ref().map(|m| {
        let levels =
            |t: &Vec<(String, Vec<(String, f64)>)>| -> BTreeMap<String, BTreeMap<String, f64>> {
                t.iter()
                    .map(|(f, ls)| (f.clone(), ls.iter().cloned().collect()))
                    .collect()
            };
        json!({
            "match_share_among_candidates": (m.lambda * 1e6).round() / 1e6,
            "em_iterations": m.em_iterations,
            "m": levels(&m.m),
            "u": levels(&m.u),
        })
    });
    let kinds: BTreeMap<&str, &str> = input
        .tables
        .iter()
        .map(|t| (t.name.as_str(), t.kind.label()))
        .collect();
    json!({
        "lamsach_version": env!("CARGO_PKG_VERSION"),
        "as_of": opts.as_of.to_string(),
        "province": opts.province,
        "sources": kinds,
        "rows_read": rows_read,
        "accounting": accounting,
        "findings_total": view.findings.len(),
        "findings_per_rule": per_rule,
        "findings_per_group": per_group,
        "findings_per_source": per_source,
        "findings_per_commune": per_commune,
        "indicators": indicators,
        "rule_stats": rule_stats,
        "commune_stats": commune_stats,
        "previous": view.previous.map(|p| p.dir.display().to_string()),
        "previous_indicators": view.previous.map(crate::nightly::previous_indicators),
        "resolved_total": view.resolved.len(),
        "duplicates": {
            "pairs": view.pairs.len(),
            "clusters": view.clusters.iter().map(|c| c.cluster).collect::<BTreeSet<_>>().len(),
            "links": view.links.len(),
            "pairs_compared": view.matches.pairs_compared,
            "pairs_per_blocking_pass": view.matches.pairs_per_pass.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "blocks_skipped_pairs": view.matches.blocks_skipped,
            "model": model,
        },
        "linking": view.matches.linking.iter().map(|l| (l.source.clone(), json!({
            "rows_to_link": l.rows_to_link,
            "linked": l.linked,
            "ids_found_in_residents": (l.ids_found * 1e4).round() / 1e4,
            "candidate_recall": (l.candidate_recall * 1e4).round() / 1e4,
        }))).collect::<serde_json::Map<_, _>>(),
        "warnings": warnings,
        "timings_seconds": timings,
    })
}

/// The summary as a readable Vietnamese table, printed at the end of `check` and `demo`.
pub fn render_summary(summary: &Value) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "lamsach — kết quả kiểm tra (ngày tham chiếu {})",
        summary["as_of"].as_str().unwrap_or("")
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "{:<44} {:>12}", "Số bản ghi đã đọc", "");
    if let Some(m) = summary["rows_read"].as_object() {
        for (k, v) in m {
            let _ = writeln!(s, "  {:<42} {:>12}", k, v.as_u64().unwrap_or(0));
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "{:<44} {:>12}", "Phát hiện theo nhóm", "");
    let labels = [
        ("dung", "Đúng"),
        ("du", "Đủ"),
        ("sach", "Sạch"),
        ("song", "Sống"),
    ];
    for (code, label) in labels {
        let n = summary["findings_per_group"][code].as_u64().unwrap_or(0);
        let _ = writeln!(s, "  {:<42} {:>12}", label, n);
    }
    let _ = writeln!(s);
    let nightly = !summary["previous"].is_null();
    if nightly {
        let _ = writeln!(
            s,
            "{:<44} {:>12} {:>8} {:>12}",
            "Chỉ tiêu", "Bản ghi", "Mới", "Đã làm sạch"
        );
    } else {
        let _ = writeln!(s, "{:<44} {:>12}", "Chỉ tiêu", "Bản ghi");
    }
    if let Some(list) = summary["indicators"].as_array() {
        for ind in list {
            let label = ind["label"].as_str().unwrap_or("");
            let n = ind["records"].as_u64().unwrap_or(0);
            let hh = ind["households"]
                .as_u64()
                .map(|h| format!(" ({h} hộ)"))
                .unwrap_or_default();
            if nightly {
                let (new, res) = (
                    ind["new"].as_u64().unwrap_or(0),
                    ind["resolved"].as_u64().unwrap_or(0),
                );
                let _ = writeln!(s, "  {:<42} {:>12} {:>8} {:>12}{}", label, n, new, res, hh);
            } else {
                let _ = writeln!(s, "  {:<42} {:>12}{}", label, n, hh);
            }
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "{:<44} {:>12}", "Quy tắc", "Phát hiện");
    if let Some(m) = summary["findings_per_rule"].as_object() {
        for (k, v) in m {
            let n = v.as_u64().unwrap_or(0);
            if n > 0 {
                let _ = writeln!(s, "  {:<42} {:>12}", k, n);
            }
        }
    }
    let d = &summary["duplicates"];
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Cặp trùng: {}  ·  cụm: {}  ·  liên kết đề xuất: {}",
        d["pairs"], d["clusters"], d["links"]
    );
    if let Some(b) = summary["thresholds_breached"].as_array() {
        for b in b {
            let _ = writeln!(s, "Vượt ngưỡng: {}", b.as_str().unwrap_or(""));
        }
    }
    if let Some(w) = summary["warnings"].as_array() {
        for w in w {
            let _ = writeln!(s, "Cảnh báo: {}", w.as_str().unwrap_or(""));
        }
    }
    let total = summary["timings_seconds"]["total"].as_f64().unwrap_or(0.0);
    let _ = writeln!(s, "Thời gian: {total:.2} s");
    s
}
