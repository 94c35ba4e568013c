//! The rule framework. Every finding carries one stable rule code of SPEC §3.
//!
//! A rule is a small unit registered in [`registry`]: a [`RecordRule`] looks at one row of
//! one source at a time (run in parallel over row chunks), a [`TableRule`] looks at whole
//! sources (households, shared IDs, cross-source checks). Rules are free of I/O: they read
//! Arrow-backed [`Table`]s and the parsed [`Prepared`] columns and push [`Finding`]s.

mod cross;
mod household;
mod record;
#[cfg(test)]
mod tests;

pub use household::is_head;

use rayon::prelude::*;

use crate::config::Config;
use crate::dates::{parse_date, DateParse, PDate};
use crate::ids::{classify_id, parse_sex, IdInfo, Sex};
use crate::schema::SourceKind;
use crate::table::{Col, Table};

/// The four groups of "đúng, đủ, sạch, sống".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    Dung,
    Du,
    Sach,
    Song,
}

impl Group {
    pub const ALL: [Group; 4] = [Group::Dung, Group::Du, Group::Sach, Group::Song];

    pub fn code(self) -> &'static str {
        match self {
            Group::Dung => "dung",
            Group::Du => "du",
            Group::Sach => "sach",
            Group::Song => "song",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Group::Dung => "Đúng",
            Group::Du => "Đủ",
            Group::Sach => "Sạch",
            Group::Song => "Sống",
        }
    }
}

macro_rules! rules {
    ($($variant:ident => ($code:literal, $group:ident, $vi:literal)),+ $(,)?) => {
        /// A rule code of SPEC §3.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule { $($variant),+ }

        impl Rule {
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),+];

            /// The stable code users build dashboards on.
            pub fn code(self) -> &'static str {
                match self { $(Rule::$variant => $code),+ }
            }

            pub fn group(self) -> Group {
                match self { $(Rule::$variant => Group::$group),+ }
            }

            /// What the rule means, in Vietnamese, for fix lists and reports.
            pub fn description_vi(self) -> &'static str {
                match self { $(Rule::$variant => $vi),+ }
            }

            pub fn from_code(code: &str) -> Option<Rule> {
                match code { $($code => Some(Rule::$variant),)+ _ => None }
            }
        }
    };
}

rules! {
    IdFormat => ("id.format", Dung, "Số định danh cá nhân sai định dạng (không phải 12 chữ số)"),
    IdPhoneNumber => ("id.phone_number", Dung, "Trường số định danh chứa số điện thoại"),
    IdOldCmnd => ("id.old_cmnd", Dung, "Trường số định danh chứa số CMND 9 số"),
    IdProvinceCode => ("id.province_code", Dung, "Mã tỉnh nơi đăng ký khai sinh (3 số đầu) không hợp lệ"),
    IdCenturySex => ("id.century_sex", Dung, "Chữ số thứ 4 không khớp giới tính hoặc thế kỷ sinh"),
    IdBirthYear => ("id.birth_year", Dung, "Chữ số thứ 5–6 không khớp năm sinh"),
    IdShared => ("id.shared", Dung, "Một số định danh dùng cho hai người khác nhau"),
    CmndFormat => ("cmnd.format", Dung, "Số CMND sai định dạng hoặc mã nơi cấp không xác định"),
    CmndMapped => ("cmnd.mapped", Dung, "Chưa có số định danh; CMND tra được số định danh"),
    CmndUnmapped => ("cmnd.unmapped", Dung, "Chưa có số định danh; CMND không tra được số định danh"),
    DateInvalid => ("date.invalid", Dung, "Ngày tháng không hợp lệ hoặc ở tương lai"),
    SexInvalid => ("sex.invalid", Dung, "Giới tính không hợp lệ"),
    XrefNotFound => ("xref.not_found", Dung, "Số định danh không có trong dữ liệu dân cư"),
    XrefMismatch => ("xref.mismatch", Dung, "Thông tin không khớp với dữ liệu dân cư"),
    FieldMissing => ("field.missing", Du, "Thiếu thông tin bắt buộc"),
    IdMissing => ("id.missing", Du, "Không có số định danh cá nhân"),
    DupInProvince => ("dup.in_province", Sach, "Trùng công dân trong tỉnh"),
    DupOutOfProvince => ("dup.out_of_province", Sach, "Trùng công dân ngoài tỉnh"),
    HouseholdNoHead => ("household.no_head", Sach, "Hộ không có chủ hộ"),
    HouseholdMultipleHeads => ("household.multiple_heads", Sach, "Hộ có nhiều hơn 01 chủ hộ"),
    NameUnnormalized => ("name.unnormalized", Sach, "Họ tên chưa chuẩn hóa (dấu, khoảng trắng, viết hoa)"),
    LinkSuggested => ("link.suggested", Sach, "Đề xuất số định danh cho bản ghi liên kết"),
    AliveDeceasedActive => ("alive.deceased_active", Song, "Đã khai tử nhưng dữ liệu dân cư chưa cập nhật"),
    AliveImplausibleAge => ("alive.implausible_age", Song, "Tuổi trên 120 nhưng chưa ghi nhận đã mất"),
    AliveEventAfterDeath => ("alive.event_after_death", Song, "Sự kiện (tiêm chủng, bảo hiểm) sau ngày mất"),
}

/// How urgent a rule's findings are; fix lists are sorted by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn code(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Severity::Error => "Lỗi",
            Severity::Warning => "Cảnh báo",
            Severity::Info => "Thông tin",
        }
    }

    pub fn from_code(s: &str) -> Option<Severity> {
        match s {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }
}

impl Rule {
    /// The default severity (docs/rules.md); the config's `[severity]` table overrides it.
    pub fn default_severity(self) -> Severity {
        use Rule::*;
        match self {
            NameUnnormalized => Severity::Info,
            CmndMapped | CmndUnmapped | SexInvalid | FieldMissing | XrefNotFound
            | AliveImplausibleAge | LinkSuggested => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// Where a finding points: a row of a source table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowRef {
    pub source: u16,
    pub row: u32,
}

/// One finding. Text is only allocated for findings, never for clean rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub at: RowRef,
    pub rule: Rule,
    /// The canonical field concerned ("" when the finding is about the whole record).
    pub field: &'static str,
    /// The current value (or, for household rules, the household_id).
    pub value: Option<String>,
    /// The suggested fix, where it can be known.
    pub suggestion: Option<String>,
    /// Why, in a short Vietnamese-or-English phrase (which digit, which field…).
    pub note: Option<String>,
    pub related: Option<RowRef>,
    pub score: Option<f64>,
}

impl Finding {
    pub fn new(at: RowRef, rule: Rule, field: &'static str) -> Self {
        Finding {
            at,
            rule,
            field,
            value: None,
            suggestion: None,
            note: None,
            related: None,
            score: None,
        }
    }

    pub fn value(mut self, v: impl Into<String>) -> Self {
        self.value = Some(v.into());
        self
    }

    pub fn suggest(mut self, v: impl Into<String>) -> Self {
        self.suggestion = Some(v.into());
        self
    }

    pub fn note(mut self, v: impl Into<String>) -> Self {
        self.note = Some(v.into());
        self
    }

    pub fn score(mut self, s: f64) -> Self {
        self.score = Some(s);
        self
    }

    pub fn related(mut self, r: RowRef, score: Option<f64>) -> Self {
        self.related = Some(r);
        self.score = score;
        self
    }

    /// Sort key that makes output order independent of thread count.
    pub fn sort_key(&self) -> (RowRef, Rule, &'static str, Option<RowRef>) {
        (self.at, self.rule, self.field, self.related)
    }
}

/// A sex cell, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SexParse {
    Missing,
    Known(Sex),
    Invalid,
}

impl SexParse {
    pub fn known(self) -> Option<Sex> {
        match self {
            SexParse::Known(s) => Some(s),
            _ => None,
        }
    }
}

/// The fields every rule and the matcher need, parsed once per row.
#[derive(Clone, Copy, Debug)]
pub struct Facts {
    pub pid: IdInfo,
    pub birth: DateParse,
    pub sex: SexParse,
}

/// The parsed facts of every row of one source.
pub struct Prepared {
    pub rows: Vec<Facts>,
}

impl Prepared {
    pub fn new(table: &Table) -> Self {
        let (pid, birth, sex) = (
            table.col("personal_id"),
            table.col("birth_date"),
            table.col("sex"),
        );
        let rows = (0..table.len())
            .into_par_iter()
            .map(|r| Facts {
                pid: classify_id(pid.raw(r)),
                birth: parse_date(birth.raw(r)),
                sex: match parse_sex(sex.raw(r)) {
                    Ok(None) => SexParse::Missing,
                    Ok(Some(s)) => SexParse::Known(s),
                    Err(()) => SexParse::Invalid,
                },
            })
            .collect();
        Prepared { rows }
    }

    pub fn birth(&self, row: usize) -> Option<PDate> {
        self.rows[row].birth.valid()
    }
}

/// The canonical columns of one source, resolved once (a lookup by name per row would cost
/// more than most rules).
#[derive(Clone, Copy)]
pub struct SourceCols<'a> {
    pub record_id: Col<'a>,
    pub personal_id: Col<'a>,
    pub old_id: Col<'a>,
    pub full_name: Col<'a>,
    pub birth_date: Col<'a>,
    pub sex: Col<'a>,
    pub province_code: Col<'a>,
    pub commune_code: Col<'a>,
    pub death_date: Col<'a>,
    pub dose_date: Col<'a>,
    pub event_date: Col<'a>,
}

impl<'a> SourceCols<'a> {
    pub fn new(t: &'a Table) -> Self {
        SourceCols {
            record_id: t.col("record_id"),
            personal_id: t.col("personal_id"),
            old_id: t.col("old_id"),
            full_name: t.col("full_name"),
            birth_date: t.col("birth_date"),
            sex: t.col("sex"),
            province_code: t.col("province_code"),
            commune_code: t.col("commune_code"),
            death_date: t.col("death_date"),
            dose_date: t.col("dose_date"),
            event_date: t.col("event_date"),
        }
    }
}

/// Everything the rules may look at. Source 0 is always the residents.
pub struct CheckInput<'a> {
    pub tables: &'a [Table],
    pub prepared: &'a [Prepared],
    pub cmnd_map: Option<&'a Table>,
    pub deaths: Option<&'a Table>,
    pub as_of: PDate,
    pub config: &'a Config,
    /// `--province`: the province whose view is reported.
    pub province: Option<&'a str>,
    /// Per source, the fields `field.missing` checks, with their columns.
    pub expected: Vec<Vec<(&'static str, Col<'a>)>>,
    /// Per source, the canonical columns.
    pub cols: Vec<SourceCols<'a>>,
    /// Residents with a well-formed personal ID, sorted by ID.
    pub pid_index: PidIndex,
}

impl<'a> CheckInput<'a> {
    pub fn new(
        tables: &'a [Table],
        prepared: &'a [Prepared],
        cmnd_map: Option<&'a Table>,
        deaths: Option<&'a Table>,
        as_of: PDate,
        config: &'a Config,
        province: Option<&'a str>,
    ) -> Self {
        let expected = tables
            .iter()
            .map(|t| {
                let configured = config
                    .expected_fields
                    .get(&t.name)
                    .or_else(|| config.expected_fields.get(t.kind.label()));
                let fields: Vec<&'static str> = match configured {
                    Some(list) => list
                        .iter()
                        .filter_map(|f| crate::schema::CANONICAL.iter().copied().find(|c| c == f))
                        .collect(),
                    None => t.kind.default_expected_fields().to_vec(),
                };
                fields.into_iter().map(|f| (f, t.col(f))).collect()
            })
            .collect();
        let cols = tables.iter().map(SourceCols::new).collect();
        let pid_index = PidIndex::build(&prepared[0]);
        CheckInput {
            tables,
            prepared,
            cmnd_map,
            deaths,
            as_of,
            config,
            province,
            expected,
            cols,
            pid_index,
        }
    }

    pub fn residents(&self) -> (&Table, &Prepared) {
        (&self.tables[0], &self.prepared[0])
    }
}

/// Resident rows by well-formed personal ID: a sorted array, and an open-addressing hash
/// table of where each ID starts in it. Every extract row looks up its ID (15 M lookups for a
/// province of 10 M); a binary search costs ~24 cache misses, a hash probe one or two.
pub struct PidIndex {
    entries: Vec<(u64, u32)>,
    /// Slot -> 1 + position in `entries` of the ID's first row (0: empty). Power-of-two size.
    slots: Vec<u32>,
}

impl PidIndex {
    pub fn build(residents: &Prepared) -> Self {
        let mut entries: Vec<(u64, u32)> = residents
            .rows
            .iter()
            .enumerate()
            .filter(|(_, f)| f.pid.is_valid())
            .map(|(r, f)| (f.pid.value, r as u32))
            .collect();
        entries.par_sort_unstable();
        let size = (entries.len() * 2).next_power_of_two().max(16);
        let mut slots = vec![0u32; size];
        let mask = size - 1;
        for (i, e) in entries.iter().enumerate() {
            if i > 0 && entries[i - 1].0 == e.0 {
                continue;
            }
            let mut h = Self::slot(e.0, mask);
            while slots[h] != 0 {
                h = (h + 1) & mask;
            }
            slots[h] = i as u32 + 1;
        }
        PidIndex { entries, slots }
    }

    fn slot(pid: u64, mask: usize) -> usize {
        (pid.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
    }

    /// Resident rows carrying this ID, in row order.
    pub fn rows(&self, pid: u64) -> impl Iterator<Item = u32> + '_ {
        let mask = self.slots.len() - 1;
        let mut h = Self::slot(pid, mask);
        let start = loop {
            match self.slots[h] {
                0 => break self.entries.len(),
                i if self.entries[i as usize - 1].0 == pid => break i as usize - 1,
                _ => h = (h + 1) & mask,
            }
        };
        self.entries[start..]
            .iter()
            .take_while(move |e| e.0 == pid)
            .map(|e| e.1)
    }

    /// Groups of two or more resident rows sharing one ID.
    pub fn shared_groups(&self) -> impl Iterator<Item = &[(u64, u32)]> + '_ {
        self.entries
            .chunk_by(|a, b| a.0 == b.0)
            .filter(|g| g.len() > 1)
    }
}

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
    ];
    let table: Vec<Box<dyn TableRule>> = vec![
        Box::new(household::Households),
        Box::new(cross::CmndResolution),
        Box::new(cross::CrossReference),
        Box::new(cross::Deaths),
    ];
    (record, table)
}

/// Run every rule over every source. Findings come back in a deterministic order (row chunks
/// and rules in registry order, whatever the thread count); the pipeline sorts them once,
/// with the matching phase's, by [`Finding::sort_key`].
pub fn run_rules(input: &CheckInput) -> Vec<Finding> {
    let (_, table) = registry();
    let t = std::time::Instant::now();
    let mut findings = run_record_rules(input);
    crate::trace::phase("rules.record", t.elapsed().as_secs_f64());
    let table_findings: Vec<Vec<Finding>> = table
        .par_iter()
        .map(|r| {
            let t = std::time::Instant::now();
            let mut out = Vec::new();
            r.run(input, &mut out);
            crate::trace::phase(r.name(), t.elapsed().as_secs_f64());
            out
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
