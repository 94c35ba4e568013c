//! What the checks produce: a [`Finding`] on a row ([`RowRef`]) under one stable [`Rule`]
//! code of SPEC §3, in one of the four [`Group`]s, with a [`Severity`].

use super::column::Column;

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

    pub fn from_code(code: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.code() == code)
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
    DupPossible => ("dup.possible", Sach, "Có thể trùng công dân: cần xác minh"),
    LinkAmbiguous => ("link.ambiguous", Sach, "Bản ghi liên kết khớp với nhiều người: cần xác minh"),
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
    /// A finding for a person to look at, not a defect: a pair that may be one person
    /// (`dup.possible`), a row that fits several residents (`link.ambiguous`).
    pub fn is_review(self) -> bool {
        matches!(self, Rule::DupPossible | Rule::LinkAmbiguous)
    }

    /// The default severity (docs/rules.md); the config's `[severity]` table overrides it.
    pub fn default_severity(self) -> Severity {
        use Rule::*;
        match self {
            NameUnnormalized | DupPossible | LinkAmbiguous => Severity::Info,
            CmndMapped | CmndUnmapped | SexInvalid | FieldMissing | XrefNotFound
            | AliveImplausibleAge | LinkSuggested => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// Where a finding points: a row of a source table (source 0 is always the residents).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowRef {
    pub source: u16,
    pub row: u32,
}

impl RowRef {
    #[inline]
    pub fn new(source: usize, row: usize) -> Self {
        RowRef {
            source: source as u16,
            row: row as u32,
        }
    }

    /// A row of the residents.
    #[inline]
    pub fn resident(row: u32) -> Self {
        RowRef { source: 0, row }
    }
}

/// One finding. Text is only allocated for findings, never for clean rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub at: RowRef,
    pub rule: Rule,
    /// The field concerned (None when the finding is about the whole record).
    pub field: Option<Column>,
    /// The current value (or, for household rules, the household_id).
    pub value: Option<String>,
    /// The suggested fix, where it can be known.
    pub suggestion: Option<String>,
    /// Why, in a short Vietnamese phrase (which digit, which field…).
    pub note: Option<String>,
    pub related: Option<RowRef>,
    pub score: Option<f64>,
}

impl Finding {
    /// A finding on one field of a record.
    pub fn on(at: RowRef, rule: Rule, field: Column) -> Self {
        Finding::new(at, rule, Some(field))
    }

    /// A finding on a whole record.
    pub fn record(at: RowRef, rule: Rule) -> Self {
        Finding::new(at, rule, None)
    }

    fn new(at: RowRef, rule: Rule, field: Option<Column>) -> Self {
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

    /// The field's canonical name ("" for a whole-record finding), as outputs write it.
    pub fn field_name(&self) -> &'static str {
        self.field.map_or("", Column::name)
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

    /// Sort key that makes output order independent of thread count (fields by name, as
    /// outputs write them).
    pub fn sort_key(&self) -> (RowRef, Rule, &'static str, Option<RowRef>) {
        (self.at, self.rule, self.field_name(), self.related)
    }
}
