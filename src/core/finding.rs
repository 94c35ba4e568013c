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
    ($($variant:ident => ($code:literal, $group:ident, $vi:literal, $todo:literal)),+ $(,)?) => {
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

            /// What the commune officer should do ("Việc cần làm" of the fix lists).
            pub fn action_vi(self) -> &'static str {
                match self { $(Rule::$variant => $todo),+ }
            }

            pub fn from_code(code: &str) -> Option<Rule> {
                match code { $($code => Some(Rule::$variant),)+ _ => None }
            }
        }
    };
}

rules! {
    IdFormat => ("id.format", Dung, "Số định danh cá nhân sai định dạng (không phải 12 chữ số)", "Đối chiếu giấy tờ của công dân, nhập lại đủ 12 chữ số định danh"),
    IdPhoneNumber => ("id.phone_number", Dung, "Trường số định danh chứa số điện thoại", "Trường định danh đang ghi số điện thoại: thay bằng số định danh 12 số của công dân"),
    IdOldCmnd => ("id.old_cmnd", Dung, "Trường số định danh chứa số CMND 9 số", "Thay số CMND 9 số bằng số định danh 12 số (xem cột Đề xuất sửa nếu có)"),
    IdProvinceCode => ("id.province_code", Dung, "Mã tỉnh nơi đăng ký khai sinh (3 số đầu) không hợp lệ", "Kiểm tra 3 số đầu với nơi đăng ký khai sinh; nhập lại số định danh đúng"),
    IdCenturySex => ("id.century_sex", Dung, "Chữ số thứ 4 không khớp giới tính hoặc thế kỷ sinh", "Đối chiếu giới tính và năm sinh với giấy tờ; sửa trường sai"),
    IdBirthYear => ("id.birth_year", Dung, "Chữ số thứ 5–6 không khớp năm sinh", "Đối chiếu năm sinh với giấy tờ; sửa năm sinh hoặc số định danh"),
    IdShared => ("id.shared", Dung, "Một số định danh dùng cho hai người khác nhau", "Xác minh ai là chủ số định danh; sửa số của những người còn lại"),
    CmndFormat => ("cmnd.format", Dung, "Số CMND sai định dạng hoặc mã nơi cấp không xác định", "Đối chiếu giấy tờ, nhập lại số CMND hoặc thay bằng số định danh"),
    CmndMapped => ("cmnd.mapped", Dung, "Chưa có số định danh; CMND tra được số định danh", "Cập nhật số định danh theo cột Đề xuất sửa"),
    CmndUnmapped => ("cmnd.unmapped", Dung, "Chưa có số định danh; CMND không tra được số định danh", "Liên hệ công dân để lấy số định danh 12 số"),
    DateInvalid => ("date.invalid", Dung, "Ngày tháng không hợp lệ hoặc ở tương lai", "Đối chiếu giấy tờ, nhập lại ngày tháng"),
    SexInvalid => ("sex.invalid", Dung, "Giới tính không hợp lệ", "Nhập lại giới tính: Nam hoặc Nữ"),
    XrefNotFound => ("xref.not_found", Dung, "Số định danh không có trong dữ liệu dân cư", "Đối chiếu với công dân; sửa số định danh hoặc báo đơn vị quản lý nguồn dữ liệu"),
    XrefMismatch => ("xref.mismatch", Dung, "Thông tin không khớp với dữ liệu dân cư", "Đối chiếu bản ghi với dữ liệu dân cư; sửa số định danh hoặc thông tin sai"),
    FieldMissing => ("field.missing", Du, "Thiếu thông tin bắt buộc", "Bổ sung thông tin còn thiếu"),
    IdMissing => ("id.missing", Du, "Không có số định danh cá nhân", "Bổ sung số định danh cá nhân"),
    DupInProvince => ("dup.in_province", Sach, "Trùng công dân trong tỉnh", "Xác minh hai bản ghi; giữ một bản ghi, đề nghị xóa bản ghi trùng"),
    DupOutOfProvince => ("dup.out_of_province", Sach, "Trùng công dân ngoài tỉnh", "Phối hợp với tỉnh kia xác minh; giữ một bản ghi, đề nghị xóa bản ghi trùng"),
    HouseholdNoHead => ("household.no_head", Sach, "Hộ không có chủ hộ", "Xác định và cập nhật chủ hộ"),
    HouseholdMultipleHeads => ("household.multiple_heads", Sach, "Hộ có nhiều hơn 01 chủ hộ", "Giữ một chủ hộ, cập nhật quan hệ với chủ hộ của người còn lại"),
    NameUnnormalized => ("name.unnormalized", Sach, "Họ tên chưa chuẩn hóa (dấu, khoảng trắng, viết hoa)", "Sửa họ tên theo cột Đề xuất sửa"),
    LinkSuggested => ("link.suggested", Sach, "Đề xuất số định danh cho bản ghi liên kết", "Cập nhật số định danh theo cột Đề xuất sửa sau khi đối chiếu"),
    AliveDeceasedActive => ("alive.deceased_active", Song, "Đã khai tử nhưng dữ liệu dân cư chưa cập nhật", "Cập nhật trạng thái đã mất theo giấy khai tử"),
    AliveImplausibleAge => ("alive.implausible_age", Song, "Tuổi trên 120 nhưng chưa ghi nhận đã mất", "Xác minh công dân còn sống hay đã mất; sửa ngày sinh nếu nhập sai"),
    AliveEventAfterDeath => ("alive.event_after_death", Song, "Sự kiện (tiêm chủng, bảo hiểm) sau ngày mất", "Xác minh ngày mất và sự kiện; sửa bản ghi sai"),
    InsuranceCodeFormat => ("insurance.code_format", Dung, "Mã số BHXH không đủ 10 chữ số", "Đối chiếu sổ BHXH, nhập lại mã số BHXH 10 chữ số"),
    InsuranceCardFormat => ("insurance.card_format", Dung, "Mã thẻ BHYT sai cấu trúc hoặc không khớp mã số BHXH", "Đối chiếu thẻ BHYT, nhập lại mã thẻ đúng cấu trúc và khớp mã số BHXH"),
    InsuranceCardObjectAge => ("insurance.card_object_age", Dung, "Mã đối tượng trên thẻ BHYT không phù hợp với tuổi", "Kiểm tra đối tượng tham gia BHYT; đề nghị cơ quan BHXH cấp lại thẻ đúng đối tượng"),
    InsuranceCodeShared => ("insurance.code_shared", Dung, "Một mã số BHXH dùng cho hai người khác nhau", "Xác minh ai là chủ mã số BHXH; đề nghị cơ quan BHXH cấp mã đúng cho người còn lại"),
    InsuranceMultipleCodes => ("insurance.multiple_codes", Sach, "Một người có từ hai mã số BHXH trở lên", "Đề nghị cơ quan BHXH gộp các mã số BHXH của người này"),
    AliveLinkedDeceased => ("alive.linked_deceased", Song, "Người đã mất vẫn còn trong danh sách tham gia (BHXH/BHYT hoặc danh sách khác)", "Báo đơn vị quản lý danh sách để dừng tham gia của người đã mất"),
    NameInvalidChars => ("name.invalid_chars", Sach, "Họ tên có ký tự không hợp lệ (chữ số, dấu ?, ký tự lỗi phông hoặc âm tiết không có trong tiếng Việt)", "Đối chiếu giấy tờ, nhập lại họ tên đúng chính tả"),
    ResidenceNotRegistered => ("residence.not_registered", Dung, "Nơi sinh sống, làm việc theo nguồn dữ liệu khác xã đăng ký thường trú, tạm trú", "Xác minh nơi ở thực tế; hướng dẫn công dân đăng ký tạm trú hoặc cập nhật nơi cư trú"),
    BirthNoResident => ("birth.no_resident", Du, "Đã đăng ký khai sinh quá 60 ngày nhưng chưa có trong dữ liệu dân cư", "Xác minh trẻ; cập nhật trẻ vào cơ sở dữ liệu dân cư và hộ của cha mẹ"),
    BirthMismatch => ("birth.mismatch", Dung, "Thông tin khai sinh khác với dữ liệu dân cư", "Đối chiếu giấy khai sinh với hồ sơ dân cư; sửa bên ghi sai"),
    AliveProbablyDeceased => ("alive.probably_deceased", Song, "Tuổi rất cao, nhiều năm không có sự kiện nào trong các nguồn dữ liệu", "Xác minh công dân còn sống hay đã mất tại nơi cư trú"),
    DupPossible => ("dup.possible", Sach, "Có thể trùng công dân: cần xác minh", "Xác minh hai bản ghi có phải một người; ghi kết quả vào cột Kết quả xác minh"),
    LinkAmbiguous => ("link.ambiguous", Sach, "Bản ghi liên kết khớp với nhiều người: cần xác minh", "Xác minh bản ghi thuộc người nào; ghi kết quả vào cột Kết quả xác minh"),
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
            NameUnnormalized | DupPossible | LinkAmbiguous | AliveProbablyDeceased => {
                Severity::Info
            }
            CmndMapped
            | CmndUnmapped
            | SexInvalid
            | FieldMissing
            | XrefNotFound
            | AliveImplausibleAge
            | LinkSuggested
            | InsuranceCardObjectAge
            | InsuranceMultipleCodes
            | NameInvalidChars
            | ResidenceNotRegistered => Severity::Warning,
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
