//! The fix lists: `fixlists/<commune_code>.csv` (UTF-8 with BOM, for Excel) and `.xlsx`, one
//! per commune, in Vietnamese, for the commune police office that fixes the records and
//! returns its verdicts (`check --verdicts`).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use super::gathered::{Gathered, Shown};
use super::tables::shorten;
use super::view::{Extras, Records, View};
use crate::config::Config;
use crate::core::{Column, Finding, Group, RowRef, Rule};
use crate::error::{Error, Result};
use crate::output::Staging;

/// Column headers of the fix lists, in Vietnamese. `check --verdicts` finds a returned
/// list's columns by these names.
pub const FIXLIST_HEADERS: &[&str] = &[
    "Nguồn",
    "Mã bản ghi",
    "Số định danh",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Mã hộ",
    "Trạng thái",
    "Mức độ",
    "Nhóm",
    "Quy tắc",
    "Mô tả",
    "Trường",
    "Giá trị hiện tại",
    "Đề xuất sửa",
    "Việc cần làm",
    "Bản ghi liên quan",
    "Họ tên bản ghi liên quan",
    "Ngày sinh bản ghi liên quan",
    "Nơi ở bản ghi liên quan",
    "Xác suất trùng",
    "Lý do ghép",
    "Ghi chú",
    VERDICT_HEADER,
    VERDICT_NOTE_HEADER,
    FINGERPRINT_HEADER,
];

pub const VERDICT_HEADER: &str = "Kết quả xác minh";
pub const VERDICT_NOTE_HEADER: &str = "Ghi chú xác minh";
/// A code of the record(s) as listed: a verdict holds while it is unchanged.
pub const FINGERPRINT_HEADER: &str = "Mã kiểm tra (không sửa)";
/// The verdicts an officer picks from (the drop-down of the XLSX).
pub const VERDICTS: &[&str] = &[
    "Đã sửa",
    "Không phải lỗi",
    "Không trùng",
    "Cần xác minh thêm",
];

/// Positions of the columns the code fills specially.
const COL_PROBABILITY: usize = 20;
const COL_VERDICT: usize = 23;
const COL_STATUS: usize = 7;

/// Excel's limits: characters in a cell, rows in a sheet.
const XLSX_MAX_CELL_CHARS: usize = 32_767;
const XLSX_MAX_ROWS: usize = 1_048_576;
/// Longest commune file name kept as it is (longer ones are shortened with a hash).
const MAX_FILE_STEM: usize = 40;

pub use crate::core::column::source_label_vi;

/// The sheet of the fix list a rule's rows go to: its group's, or "Cần xác minh" for pairs a
/// person must look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Sheet {
    Group(Group),
    Review,
}

impl Sheet {
    fn of(rule: Rule) -> Sheet {
        if rule.is_review() {
            Sheet::Review
        } else {
            Sheet::Group(rule.group())
        }
    }

    fn name(self) -> &'static str {
        match self {
            Sheet::Group(g) => g.label_vi(),
            Sheet::Review => "Cần xác minh",
        }
    }

    const ALL: [Sheet; 5] = [
        Sheet::Group(Group::Dung),
        Sheet::Group(Group::Du),
        Sheet::Group(Group::Sach),
        Sheet::Group(Group::Song),
        Sheet::Review,
    ];
}

/// The fix lists' headers: the Vietnamese ones, then the extra columns carried through (a
/// header that is already a fix-list header gets " (tệp gốc)", "original file", after it).
fn fixlist_headers(extras: &Extras) -> Vec<String> {
    let mut headers: Vec<String> = FIXLIST_HEADERS.iter().map(|h| h.to_string()).collect();
    headers.extend(extras.names(FIXLIST_HEADERS, "", " (tệp gốc)"));
    headers
}

/// What the rows of duplicate pairs need beyond the finding: which record of the cluster to
/// keep, and why the pair was matched.
struct PairContext<'a> {
    /// Per record of a cluster: the record to keep of its cluster.
    keep_of: HashMap<RowRef, RowRef>,
    /// Per pair (both orders): its per-field levels.
    levels: HashMap<(RowRef, RowRef), &'a str>,
    /// Per record to keep: the records of its cluster.
    cluster_size: HashMap<RowRef, usize>,
    /// Per extract row with a finding: its resident (linked, or carrying its valid ID).
    person_of: HashMap<RowRef, RowRef>,
}

impl<'a> PairContext<'a> {
    fn new(view: &'a View) -> Self {
        let mut keep_by_cluster: HashMap<u32, RowRef> = HashMap::new();
        for m in &view.clusters {
            if m.keep {
                keep_by_cluster.insert(m.cluster, m.at);
            }
        }
        let keep_of: HashMap<RowRef, RowRef> = view
            .clusters
            .iter()
            .filter_map(|m| keep_by_cluster.get(&m.cluster).map(|k| (m.at, *k)))
            .collect();
        let mut cluster_size: HashMap<RowRef, usize> = HashMap::new();
        for k in keep_of.values() {
            *cluster_size.entry(*k).or_default() += 1;
        }
        let mut levels = HashMap::new();
        let pairs = view
            .pairs
            .iter()
            .copied()
            .chain(view.review.iter().map(|r| &r.pair));
        for p in pairs {
            levels.insert((p.a, p.b), &*p.levels);
            levels.insert((p.b, p.a), &*p.levels);
        }
        let mut person_of: HashMap<RowRef, RowRef> = view
            .links
            .iter()
            .map(|l| (l.at, RowRef::resident(l.resident)))
            .collect();
        let input = view.input;
        // An extract row with a finding and a valid ID: the resident holding that ID.
        for f in &view.findings {
            let at = f.at;
            if at.source == 0 || person_of.contains_key(&at) {
                continue;
            }
            let pid = &input.prepared[at.source as usize].rows[at.row as usize].pid;
            if pid.is_valid() {
                if let Some(r) = input.pid_index.rows(pid.value).next() {
                    person_of.insert(at, RowRef::resident(r));
                }
            }
        }
        PairContext {
            keep_of,
            levels,
            cluster_size,
            person_of,
        }
    }

    /// Every record a fix-list row shows or sorts under: each finding's record and related
    /// record, and the records they are grouped under.
    fn records(&self, view: &View) -> Vec<RowRef> {
        let mut refs: Vec<RowRef> = Vec::with_capacity(2 * view.findings.len());
        for f in &view.findings {
            refs.push(f.at);
            refs.extend(f.related);
        }
        refs.extend(self.keep_of.values());
        refs.extend(self.person_of.values());
        refs
    }

    /// An extract row with a finding and a malformed ID: the resident with a finding whose ID
    /// is written the same (a malformed ID an extract row copies is the same text).
    fn add_written(&mut self, view: &View, gathered: &Gathered) {
        let mut by_written: HashMap<&str, RowRef> = HashMap::new();
        for f in view.findings.iter().filter(|f| f.at.source == 0) {
            let written = gathered.get(f.at).cell(Column::PersonalId);
            if !written.is_empty() {
                by_written.entry(written).or_insert(f.at);
            }
        }
        for f in &view.findings {
            let at = f.at;
            if at.source == 0 || self.person_of.contains_key(&at) {
                continue;
            }
            let pid = &view.input.prepared[at.source as usize].rows[at.row as usize].pid;
            if pid.is_valid() {
                continue;
            }
            let written = gathered.get(at).cell(Column::PersonalId);
            if let Some(&r) = by_written.get(written) {
                self.person_of.insert(at, r);
            }
        }
    }
}

/// Which findings get a fix-list row: all but duplicates, of which each record gets one row
/// per rule — the pair with the record to keep of its cluster (or, for the record to keep,
/// its most probable pair). A person registered ten times is 45 pairs and 90 findings
/// (`findings.parquet` keeps them all); an officer needs ten decisions, one per record:
/// keep this one, or delete it and keep that one.
fn one_duplicate_row_per_record(view: &View, pairs: &PairContext) -> Vec<bool> {
    let mut shown = vec![true; view.findings.len()];
    let mut best: HashMap<(RowRef, Rule), usize> = HashMap::new();
    for (i, f) in view.findings.iter().enumerate() {
        let (true, Some(other)) = (
            matches!(f.rule, Rule::DupInProvince | Rule::DupOutOfProvince),
            f.related,
        ) else {
            continue;
        };
        let keep = pairs.keep_of.get(&f.at).copied();
        let rank = |g: &Finding, o: RowRef| {
            // With the record to keep first, then the most probable, then the first.
            (
                Some(o) == keep && keep != Some(g.at),
                g.score.unwrap_or(0.0),
            )
        };
        match best.entry((f.at, f.rule)) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(i);
            }
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let j = *e.get();
                let g = &view.findings[j];
                let better = rank(f, other)
                    .partial_cmp(&rank(g, g.related.unwrap_or(g.at)))
                    .is_some_and(|o| o == std::cmp::Ordering::Greater);
                if better {
                    shown[j] = false;
                    e.insert(i);
                } else {
                    shown[i] = false;
                }
            }
        }
    }
    shown
}

/// Where a record lives, as people read it: its commune and province.
fn place_of(record: &Shown) -> String {
    let commune = record.cell(Column::CommuneCode);
    let reference = crate::reference::reference();
    if commune.is_empty() {
        let p = record.cell(Column::ProvinceCode);
        return match reference.province_name(p) {
            Some(name) => format!("tỉnh {name} (không rõ xã)"),
            None => "không rõ xã".to_string(),
        };
    }
    format!("xã {commune}: {}", reference.commune_label(commune))
}

fn record_name(view: &View, r: RowRef, record: &Shown) -> String {
    format!(
        "{} {}",
        source_label_vi(view.source(r), view.input.tables[r.source as usize].kind),
        record.cell(Column::RecordId)
    )
}

/// "Lý do ghép": why two records were matched, in Vietnamese, from the comparison levels
/// (`given=exact;family=exact;birth=day_month_swapped;…`).
pub fn reason_vi(levels: &str) -> String {
    // The levels read once (a pair has some fifteen fields; each is asked for once or twice,
    // and splitting the text for each cost a third of a duplicate row's time).
    let mut parsed: [(&str, &str); 32] = [("", ""); 32];
    let mut n = 0;
    for (k, v) in levels.split(';').filter_map(|kv| kv.split_once('=')) {
        if n == parsed.len() {
            break;
        }
        parsed[n] = (k, v);
        n += 1;
    }
    let parsed = &parsed[..n];
    let get = |field: &str| parsed.iter().find(|(k, _)| *k == field).map(|(_, v)| *v);
    let mut out: Vec<&str> = Vec::new();
    match (get("family"), get("given")) {
        (Some("exact"), Some("exact")) => out.push("trùng họ tên"),
        (f, g) => {
            out.push(match f {
                Some("exact") => "trùng họ",
                Some("close_or_one_edit") => "họ sai một ký tự",
                Some("similar") => "họ gần giống",
                // Two common family names a keystroke apart ("Lê", "Lý"): not a typo, most likely.
                Some("another_common_name") => "họ khác một ký tự",
                Some(_) => "khác họ",
                None => "thiếu họ",
            });
            out.push(match g {
                Some("exact") => "trùng tên",
                Some("exact_without_diacritics") | Some("diacritics_differ") => "tên chỉ khác dấu",
                Some("close_or_one_edit") => "tên sai một ký tự",
                Some("similar") => "tên gần giống",
                Some("another_common_name") => "tên khác một ký tự",
                Some(_) => "khác tên",
                None => "thiếu tên",
            });
        }
    }
    match get("middle") {
        Some("one_missing") => out.push("thiếu tên đệm"),
        Some("different") => out.push("khác tên đệm"),
        _ => {}
    }
    out.push(match get("birth") {
        Some("exact") => "trùng ngày sinh",
        Some("same_partial_date") => "trùng năm sinh (không đủ ngày tháng)",
        Some("partial_compatible") => "ngày sinh không đủ nhưng khớp",
        Some("day_month_swapped") => "ngày sinh đảo ngày và tháng",
        Some("one_digit_or_transposed") => "ngày sinh sai một chữ số",
        Some("within_10_days") => "ngày sinh lệch dưới 10 ngày",
        Some("year_one_off") => "năm sinh lệch một năm",
        Some("january_first_same_year") => "cùng năm sinh, một bản ghi ghi ngày 01/01",
        Some("same_year") => "cùng năm sinh",
        Some(_) => "khác ngày sinh",
        None => "thiếu ngày sinh",
    });
    match get("pid") {
        Some("equal") => out.push("trùng số định danh"),
        Some("one_keystroke") => out.push("số định danh sai một ký tự"),
        Some("different") => out.push("khác số định danh"),
        _ => {}
    }
    if get("id_typo") == Some("within_one_edit") && get("pid") != Some("one_keystroke") {
        out.push("số định danh sai một ký tự");
    }
    if get("cmnd") == Some("equal") {
        out.push("trùng số CMND");
    }
    match get("parents") {
        Some("both_equal") => out.push("trùng tên cha và mẹ"),
        Some("one_equal") => out.push("trùng tên cha hoặc mẹ"),
        Some("different") => out.push("khác tên cha mẹ"),
        _ => {}
    }
    if get("sex") == Some("disagree") {
        out.push("khác giới tính");
    }
    match get("address") {
        Some("exact") => out.push("trùng địa chỉ"),
        Some("same_number_and_street") => out.push("cùng số nhà và đường"),
        _ => {}
    }
    if get("ethnicity") == Some("disagree") {
        out.push("khác dân tộc");
    }
    if get("religion") == Some("disagree") {
        out.push("khác tôn giáo");
    }
    for (field, same, other) in [
        ("birth_place", "trùng nơi sinh", "khác nơi sinh"),
        ("hometown", "trùng quê quán", "khác quê quán"),
    ] {
        match get(field) {
            Some("exact") | Some("same_commune_name") => out.push(same),
            Some("same_province") | Some("different") => out.push(other),
            _ => {}
        }
    }
    match get("place") {
        Some("same_commune") => out.push("cùng xã"),
        Some("same_province") => out.push("khác xã"),
        Some("other_province") => out.push("khác tỉnh"),
        _ => {}
    }
    out.join("; ")
}

/// A stable code of what a row shows of its record(s): the canonical cells of the record and
/// of the related one. A returned verdict holds while this code is unchanged.
pub fn fingerprint(records: &dyn Records, at: RowRef, related: Option<RowRef>) -> String {
    fingerprint_of(
        record_print(records, at),
        related.map(|r| record_print(records, r)),
    )
}

/// A row's fingerprint from its records' parts ([`record_print`]).
pub fn fingerprint_of(at: u64, related: Option<u64>) -> String {
    let h = crate::core::hash::mix(&[at, related.unwrap_or(0)]);
    format!("{h:016x}")
}

/// One record's part of a fingerprint: a hash of its canonical cells.
pub fn record_print(records: &dyn Records, r: RowRef) -> u64 {
    use crate::core::hash::{h64, mix};
    // The fields a fix and a verdict are about (not every carried column).
    const FIELDS: [Column; 15] = [
        Column::PersonalId,
        Column::OldId,
        Column::FullName,
        Column::BirthDate,
        Column::Sex,
        Column::ProvinceCode,
        Column::CommuneCode,
        Column::HouseholdId,
        Column::RelationToHead,
        Column::FatherName,
        Column::MotherName,
        Column::DeathDate,
        Column::SocialInsuranceCode,
        Column::HealthCardNo,
        Column::DoseDate,
    ];
    let mut parts = [0u64; 15];
    for (p, &c) in parts.iter_mut().zip(&FIELDS) {
        *p = h64(records.cell(r, c));
    }
    mix(&parts)
}

/// One row of a fix list: its sheet, its order and its cells (the match probability also as a
/// number, for the XLSX).
struct Row<'a> {
    sheet: Sheet,
    /// Severity, household and record of the row's group (a duplicate's: its cluster's
    /// record to keep), rule, and the record itself (the one to keep first).
    order: (crate::core::Severity, &'a str, RowRef, Rule, (bool, RowRef)),
    cells: Vec<Cow<'a, str>>,
    probability: Option<f64>,
}

fn fixlist_row<'a>(
    view: &'a View,
    gathered: &'a Gathered,
    config: &Config,
    pairs: &PairContext,
    f: &'a Finding,
    open: bool,
) -> Row<'a> {
    let at = f.at;
    let me = gathered.get(at);
    let cell = |c: Column| Cow::Borrowed(me.cell(c));
    let name = |r: RowRef| record_name(view, r, &gathered.get(r));
    let place = |r: RowRef| place_of(&gathered.get(r));
    let table = &view.input.tables[at.source as usize];
    let is_dup = matches!(f.rule, Rule::DupInProvince | Rule::DupOutOfProvince);
    // A duplicate row's suggestion is the cluster's decision; its probability has a column.
    let keep = is_dup
        .then(|| pairs.keep_of.get(&at).map(|&k| k == at))
        .flatten();
    let action: Cow<str> = match (is_dup, f.related) {
        (true, Some(other)) => match pairs.keep_of.get(&at) {
            Some(&keep) if keep == at => {
                let others = pairs
                    .cluster_size
                    .get(&at)
                    .map_or(1, |n| n.saturating_sub(1));
                Cow::Owned(if others > 1 {
                    format!(
                        "Giữ bản ghi này; đề nghị xóa {others} bản ghi trùng của cùng người, trong đó {} ({})",
                        name(other),
                        place(other)
                    )
                } else {
                    format!(
                        "Giữ bản ghi này; đề nghị xóa bản ghi trùng {} ({})",
                        name(other),
                        place(other)
                    )
                })
            }
            Some(&keep) => Cow::Owned(format!(
                "Đề nghị xóa bản ghi này, giữ bản ghi {} ({})",
                name(keep),
                place(keep)
            )),
            None => Cow::Borrowed(f.rule.action_vi()),
        },
        _ => Cow::Borrowed(f.rule.action_vi()),
    };
    let reason: Cow<str> = match f.related {
        Some(other) if is_dup || f.rule.is_review() => pairs
            .levels
            .get(&(at, other))
            .map(|l| Cow::Owned(reason_vi(l)))
            .unwrap_or_default(),
        _ => Cow::Borrowed(""),
    };
    let related_place: Cow<str> = match f.related {
        Some(other) if other.source == 0 => Cow::Owned(place(other)),
        _ => Cow::Borrowed(""),
    };
    let opt = |s: Option<&'a String>| s.map(|s| shorten(s)).unwrap_or_default();
    let group = if is_dup {
        pairs.keep_of.get(&at).copied().unwrap_or(at)
    } else {
        pairs.person_of.get(&at).copied().unwrap_or(at)
    };
    let mut cells: Vec<Cow<'a, str>> = vec![
        source_label_vi(view.source(at), table.kind),
        cell(Column::RecordId),
        cell(Column::PersonalId),
        shorten(me.cell(Column::FullName)),
        cell(Column::BirthDate),
        cell(Column::Sex),
        cell(Column::HouseholdId),
        Cow::Borrowed(if open { "Đang mở" } else { "Mới" }),
        Cow::Borrowed(config.severity(f.rule).label_vi()),
        Cow::Borrowed(f.rule.group().label_vi()),
        Cow::Borrowed(f.rule.code()),
        Cow::Borrowed(f.rule.description_vi()),
        Cow::Borrowed(f.field.map_or("", Column::label_vi)),
        if is_dup {
            Cow::Borrowed("")
        } else {
            opt(f.value.as_ref())
        },
        match keep {
            Some(true) => Cow::Borrowed("Giữ bản ghi này"),
            Some(false) => Cow::Borrowed("Xóa bản ghi này"),
            None => opt(f.suggestion.as_ref()),
        },
        action,
        f.related.map(|r| Cow::Owned(name(r))).unwrap_or_default(),
        // The other record beside this one (duplicates, shared IDs, links).
        f.related
            .map(|r| shorten(gathered.get(r).cell(Column::FullName)))
            .unwrap_or_default(),
        f.related
            .map(|r| Cow::Borrowed(gathered.get(r).cell(Column::BirthDate)))
            .unwrap_or_default(),
        related_place,
        f.score
            .map(|s| Cow::Owned(format!("{s:.3}")))
            .unwrap_or_default(),
        reason,
        opt(f.note.as_ref()),
        Cow::Borrowed(""),
        Cow::Borrowed(""),
        Cow::Owned(fingerprint_of(
            me.print,
            f.related.map(|r| gathered.get(r).print),
        )),
    ];
    cells.extend((0..view.extras.headers.len()).map(|i| shorten(me.extra(i))));
    Row {
        sheet: Sheet::of(f.rule),
        // A row sorts under its person: a duplicate under its cluster's record to keep, an
        // extract row (a dose, a card) under its resident — that record's household, then the
        // record — so one person's problems in this commune come together.
        order: (
            config.severity(f.rule),
            gathered.get(group).cell(Column::HouseholdId),
            group,
            f.rule,
            (keep == Some(false), at),
        ),
        cells,
        probability: f.score,
    }
}

/// A cell for a CSV opened in Excel: a text beginning with `=`, `+`, `-`, `@`, a tab or a
/// carriage return would run as a formula, so it gets a leading apostrophe (OWASP, "CSV
/// injection"); then quoted when it holds a separator, a quote or a line break.
fn csv_escape(s: &str, out: &mut String) {
    // Bytes, not chars: the characters that matter are ASCII, and UTF-8 never hides one
    // inside another character.
    let formula = matches!(
        s.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    );
    if formula || s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push('"');
        if formula {
            out.push('\'');
        }
        let mut parts = s.split('"');
        out.push_str(parts.next().unwrap_or(""));
        for part in parts {
            out.push_str("\"\"");
            out.push_str(part);
        }
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// A commune code safe to use as a file name: its letters and digits ("khong_ro" when the
/// record has none); a code longer than 40 keeps its first 24 and a hash of the whole, so two
/// long codes never share a file.
pub fn commune_file(code: &str) -> String {
    let c: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if c.is_empty() {
        "khong_ro".to_string()
    } else if c.len() > MAX_FILE_STEM {
        format!("{}_{:016x}", &c[..24], crate::core::hash::h64(code))
    } else {
        c
    }
}

/// Write `fixlists/<commune_code>.csv` (UTF-8 with BOM) and `.xlsx`, one per commune with
/// findings, rows sorted by severity, household and record; new rows marked.
pub fn write_fixlists(staging: &Staging, view: &View, config: &Config) -> Result<()> {
    // The cells of every record shown, read once in row order; then the rows by commune.
    let mut pairs = PairContext::new(view);
    let gathered = crate::phase::traced("outputs.fixlists.gather", || {
        Gathered::new(view, pairs.records(view))
    });
    pairs.add_written(view, &gathered);
    let mut by_commune: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, f) in view.findings.iter().enumerate() {
        by_commune
            .entry(commune_file(gathered.get(f.at).cell(Column::CommuneCode)))
            .or_default()
            .push(i);
    }
    let headers = fixlist_headers(&view.extras);
    let shown = one_duplicate_row_per_record(view, &pairs);
    for idx in by_commune.values_mut() {
        idx.retain(|&i| shown[i]);
    }
    by_commune.retain(|_, idx| !idx.is_empty());
    by_commune.par_iter().try_for_each(|(commune, idx)| {
        let mut rows: Vec<Row> = idx
            .iter()
            .map(|&i| {
                let f = &view.findings[i];
                fixlist_row(view, &gathered, config, &pairs, f, view.open[i])
            })
            .collect();
        rows.sort_by(|a, b| a.order.cmp(&b.order));
        let mut csv = String::with_capacity(256 * (rows.len() + 1));
        csv.push('\u{feff}');
        for (i, h) in headers.iter().enumerate() {
            if i > 0 {
                csv.push(',');
            }
            csv_escape(h, &mut csv);
        }
        csv.push_str("\r\n");
        for row in &rows {
            for (i, cell) in row.cells.iter().enumerate() {
                if i > 0 {
                    csv.push(',');
                }
                csv_escape(cell, &mut csv);
            }
            csv.push_str("\r\n");
        }
        staging.write_bytes(&format!("fixlists/{commune}.csv"), csv.as_bytes())?;
        drop(csv);
        let dir = staging.dir().join("fixlists");
        let xlsx = fixlist_xlsx(commune, &headers, &rows, view.input.as_of)
            .map_err(|e| Error::output(&dir, e))?;
        staging.write_bytes(&format!("fixlists/{commune}.xlsx"), &xlsx)
    })
}

/// A cell's text within Excel's 32 767 characters (cut with a note when longer).
fn xlsx_text(s: &str) -> Cow<'_, str> {
    if s.len() <= XLSX_MAX_CELL_CHARS {
        return Cow::Borrowed(s);
    }
    match s.char_indices().nth(XLSX_MAX_CELL_CHARS - 20) {
        Some((i, _)) => Cow::Owned(format!("{}… (đã cắt bớt)", &s[..i])),
        None => Cow::Borrowed(s),
    }
}

/// Widest column, in characters (a longer text wraps onto more lines of its row).
const MAX_WIDTH: f64 = 50.0;

/// Display width of a column: its header and its longest cell, between 8 and 50 characters.
fn column_widths(headers: &[String], rows: &[&Row]) -> Vec<f64> {
    headers
        .iter()
        .enumerate()
        .map(|(c, h)| {
            let longest = rows
                .iter()
                .take(2_000)
                .map(|r| r.cells[c].chars().count())
                .max()
                .unwrap_or(0)
                .max(h.chars().count());
            (longest as f64 + 2.0).clamp(8.0, MAX_WIDTH)
        })
        .collect()
}

const GUIDE: &[(&str, &str)] = &[
    ("Danh sách này", "Các bản ghi của xã cần rà soát, mỗi dòng một bản ghi và một vấn đề. Các trang Đúng, Đủ, Sạch, Sống theo nhóm tiêu chí; trang Cần xác minh gồm các cặp có thể trùng và bản ghi liên kết khớp nhiều người."),
    ("Việc cần làm", "Việc cán bộ cần làm với dòng đó. Với bản ghi trùng: bản ghi nào giữ, bản ghi nào đề nghị xóa; cả hai xã của một cặp nhận cùng một đề xuất."),
    ("Đề xuất sửa", "Giá trị đề xuất khi biết được (số định danh tra từ CMND, họ tên chuẩn hóa…). Đối chiếu giấy tờ trước khi sửa."),
    ("Lý do ghép", "Vì sao hai bản ghi được coi là một người: các trường trùng, gần giống hoặc khác nhau."),
    ("Xác suất trùng", "Xác suất hai bản ghi là một người (0 đến 1)."),
    ("Trạng thái", "Mới: lần đầu phát hiện; Đang mở: đã có trong lần chạy trước và chưa được sửa."),
    ("Kết quả xác minh", "Chọn một trong: Đã sửa; Không phải lỗi; Không trùng (hai bản ghi không phải một người); Cần xác minh thêm. Có thể ghi thêm vào cột Ghi chú xác minh."),
    ("Gửi lại kết quả", "Lưu tệp (giữ nguyên tên cột và cột Mã kiểm tra) và gửi lại đơn vị chạy dữ liệu. Dòng ghi Không phải lỗi hoặc Không trùng sẽ không báo lại chừng nào bản ghi chưa thay đổi; nếu bản ghi thay đổi, dòng sẽ được kiểm tra lại."),
    ("Mã kiểm tra (không sửa)", "Mã của bản ghi tại thời điểm lập danh sách, để biết bản ghi có thay đổi hay không. Không sửa cột này."),
];

fn fixlist_xlsx(
    commune: &str,
    headers: &[String],
    rows: &[Row],
    as_of: crate::dates::PDate,
) -> zip::result::ZipResult<Vec<u8>> {
    use super::xlsx::{wrapped_lines, ListValidation, Sheet as Ws, Style};
    let reference = crate::reference::reference();
    let mut sheets = Vec::new();
    let mut first = Ws::new("Tổng hợp");
    let commune_name = reference.commune_label(commune);
    first.text(0, 0, "Mã xã", Style::Bold);
    first.text(0, 1, commune, Style::Normal);
    first.text(1, 0, "Tên xã", Style::Bold);
    first.text(1, 1, &commune_name, Style::Normal);
    // Counts in narrow columns beside their labels, the rules' descriptions last (a wide
    // column of counts put them far from their header).
    first.text(3, 0, "Nhóm", Style::Bold);
    first.text(3, 1, "Số trường hợp", Style::Bold);
    first.text(3, 2, "Mới", Style::Bold);
    let is_new = |r: &Row| r.cells[COL_STATUS] == "Mới";
    for (i, s) in Sheet::ALL.iter().enumerate() {
        let of: Vec<&Row> = rows.iter().filter(|r| r.sheet == *s).collect();
        let new = of.iter().filter(|r| is_new(r)).count();
        let at = 4 + i as u32;
        first.text(at, 0, s.name(), Style::Normal);
        first.number(at, 1, of.len() as f64, Style::Normal);
        first.number(at, 2, new as f64, Style::Normal);
    }
    let total_row = 4 + Sheet::ALL.len() as u32;
    first.text(total_row, 0, "Tổng", Style::Bold);
    first.number(total_row, 1, rows.len() as f64, Style::Normal);
    let new_total = rows.iter().filter(|r| is_new(r)).count();
    first.number(total_row, 2, new_total as f64, Style::Normal);
    // Per rule: how many rows, so an officer sees where the work is.
    let mut per_rule: BTreeMap<&str, (&str, u32, u32)> = BTreeMap::new();
    for r in rows {
        let e = per_rule.entry(&r.cells[10]).or_insert((&r.cells[11], 0, 0));
        e.1 += 1;
        e.2 += u32::from(is_new(r));
    }
    let mut at = total_row + 2;
    first.text(at, 0, "Quy tắc", Style::Bold);
    first.text(at, 1, "Số trường hợp", Style::Bold);
    first.text(at, 2, "Mới", Style::Bold);
    first.text(at, 4, "Mô tả", Style::Bold);
    for (code, (desc, n, new)) in &per_rule {
        at += 1;
        first.text(at, 0, code, Style::Normal);
        first.number(at, 1, f64::from(*n), Style::Normal);
        first.number(at, 2, f64::from(*new), Style::Normal);
        first.text(at, 4, desc, Style::Normal);
    }
    first.width(0, 24.0);
    first.width(1, 14.0);
    first.width(2, 10.0);
    // A narrow empty column keeps the last count off the description.
    first.width(3, 2.0);
    first.width(4, 70.0);
    first.print(false, false, 1);
    sheets.push(first);

    let mut guide = Ws::new("Hướng dẫn");
    guide.text(0, 0, "Cột / việc", Style::Bold);
    guide.text(0, 1, "Hướng dẫn", Style::Bold);
    const GUIDE_WIDTH: f64 = 90.0;
    for (i, (k, v)) in GUIDE.iter().enumerate() {
        guide.lines(1 + i as u32, wrapped_lines(v, GUIDE_WIDTH));
        guide.text(1 + i as u32, 0, k, Style::Bold);
        guide.text(1 + i as u32, 1, v, Style::Wrap);
    }
    guide.width(0, 26.0);
    guide.width(1, GUIDE_WIDTH);
    guide.print(true, false, 1);
    sheets.push(guide);

    for s in Sheet::ALL {
        let of: Vec<&Row> = rows.iter().filter(|r| r.sheet == s).collect();
        // Excel holds 1 048 576 rows a sheet: a longer list goes on "Sạch (2)", "Sạch (3)", …
        let per_sheet = XLSX_MAX_ROWS - 1;
        let chunks: Vec<&[&Row]> = if of.is_empty() {
            vec![&[][..]]
        } else {
            of.chunks(per_sheet).collect()
        };
        let widths = column_widths(headers, &of);
        for (k, chunk) in chunks.iter().enumerate() {
            let mut ws = if k == 0 {
                Ws::new(s.name())
            } else {
                Ws::new(format!("{} ({})", s.name(), k + 1))
            };
            for (c, h) in headers.iter().enumerate() {
                ws.text(0, c as u16, h, Style::Bold);
                ws.width(c as u16, widths[c]);
            }
            for (r, row) in (1u32..).zip(chunk.iter()) {
                // A text wider than its column wraps in a taller row: it is read whole on
                // screen and on paper, where it would otherwise be cut at the next filled
                // cell. The row is as tall as its longest wrapped text.
                let wraps = |c: usize, cell: &str| {
                    cell.len() as f64 + 2.0 > widths[c]
                        && cell.chars().count() as f64 + 2.0 > widths[c]
                };
                let lines = row
                    .cells
                    .iter()
                    .enumerate()
                    .filter(|(c, cell)| wraps(*c, cell))
                    .map(|(c, cell)| wrapped_lines(cell, widths[c]))
                    .max()
                    .unwrap_or(1);
                ws.lines(r, lines);
                for (c, cell) in row.cells.iter().enumerate() {
                    if cell.is_empty() {
                        continue;
                    }
                    match row.probability {
                        Some(p) if c == COL_PROBABILITY => {
                            ws.number(r, c as u16, (p * 1000.0).round() / 1000.0, Style::Normal)
                        }
                        _ => {
                            let style = if wraps(c, cell) {
                                Style::Wrap
                            } else {
                                Style::Normal
                            };
                            ws.text(r, c as u16, &xlsx_text(cell), style)
                        }
                    }
                }
            }
            ws.header_with_filter();
            ws.validation(ListValidation {
                col: COL_VERDICT as u16,
                title: "Kết quả xác minh",
                prompt: "Chọn: Đã sửa, Không phải lỗi, Không trùng hoặc Cần xác minh thêm",
                items: VERDICTS,
            });
            // On paper: A4 landscape, three pages wide (one page wide shrinks 26 columns to an
            // unreadable size), the header row and the record's source, code, ID and name
            // repeated on every page.
            ws.print(true, true, 3);
            ws.repeat_on_pages(3);
            sheets.push(ws);
        }
    }
    // Dated by --as-of, not by the clock: the same run gives the same bytes.
    super::xlsx::workbook(
        &sheets,
        (
            i32::from(as_of.year),
            u32::from(as_of.month),
            u32::from(as_of.day),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_in_csv() {
        let mut out = String::new();
        for s in [
            "=HYPERLINK(\"x\")",
            "+1",
            "-2",
            "@SUM(A1)",
            "Nguyễn, An",
            "ok",
            "Lê \"Út\"\nhai dòng",
        ] {
            csv_escape(s, &mut out);
            out.push('|');
        }
        assert_eq!(
            out,
            "\"'=HYPERLINK(\"\"x\"\")\"|\"'+1\"|\"'-2\"|\"'@SUM(A1)\"|\"Nguyễn, An\"|ok|\"Lê \"\"Út\"\"\nhai dòng\"|"
        );
    }

    #[test]
    fn long_commune_codes_get_distinct_short_file_names() {
        let a = "9".repeat(300);
        let b = format!("{}8", "9".repeat(299));
        assert!(commune_file(&a).len() <= MAX_FILE_STEM + 1);
        assert_ne!(commune_file(&a), commune_file(&b));
        assert_eq!(commune_file("00004"), "00004");
        assert_eq!(commune_file(""), "khong_ro");
    }

    #[test]
    fn the_match_reason_reads_in_vietnamese() {
        assert_eq!(
            reason_vi("given=exact;family=exact;middle=one_missing;birth=exact;sex=agree;pid=different;place=same_province"),
            "trùng họ tên; thiếu tên đệm; trùng ngày sinh; khác số định danh; khác xã"
        );
        assert_eq!(
            reason_vi(
                "given=close_or_one_edit;family=exact;birth=day_month_swapped;place=other_province"
            ),
            "trùng họ; tên sai một ký tự; ngày sinh đảo ngày và tháng; khác tỉnh"
        );
        assert_eq!(
            reason_vi("given=another_common_name;family=another_common_name;birth=exact"),
            "họ khác một ký tự; tên khác một ký tự; trùng ngày sinh"
        );
        assert_eq!(
            reason_vi("given=exact;family=exact;middle=exact;birth=exact;ethnicity=disagree;religion=agree;hometown=same_province;birth_place=exact;place=same_commune"),
            "trùng họ tên; trùng ngày sinh; khác dân tộc; trùng nơi sinh; khác quê quán; cùng xã"
        );
        // Every birth level but "different" reads as what it is, not as another date.
        use crate::matching::comparisons::Field;
        for level in Field::Birth.comparison().levels {
            let read = reason_vi(&format!("birth={level}"));
            assert_eq!(
                read.contains("khác ngày sinh"),
                *level == "different",
                "{level}"
            );
        }
        assert_eq!(
            reason_vi("given=exact;family=exact;middle=one_missing;birth=same_partial_date"),
            "trùng họ tên; thiếu tên đệm; trùng năm sinh (không đủ ngày tháng)"
        );
    }

    #[test]
    fn a_cell_over_excels_limit_is_cut_with_a_note() {
        let long = "a".repeat(40_000);
        let t = xlsx_text(&long);
        assert!(t.chars().count() <= XLSX_MAX_CELL_CHARS);
        assert!(t.ends_with("(đã cắt bớt)"));
    }
}
