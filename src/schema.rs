//! Canonical column names of SPEC §2, which columns each kind of input requires, and the
//! recognition of common Vietnamese (and English) headers without any configuration.

use crate::text::fold;

/// What kind of input a file is; decides required columns and which rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Residents,
    Vaccination,
    Insurance,
    /// Any other linked extract (`--extract NAME=FILE`: prisoners, industrial-zone workers…).
    Extract,
    CmndMap,
    Deaths,
}

impl SourceKind {
    /// Columns that must be present (after header mapping) or the file is rejected.
    pub fn required_columns(self) -> &'static [&'static str] {
        match self {
            SourceKind::Residents => &[
                "record_id",
                "full_name",
                "birth_date",
                "sex",
                "province_code",
                "commune_code",
            ],
            SourceKind::Vaccination | SourceKind::Insurance | SourceKind::Extract => {
                &["record_id", "full_name", "birth_date"]
            }
            SourceKind::CmndMap => &["old_id", "personal_id"],
            SourceKind::Deaths => &["personal_id", "full_name", "birth_date", "death_date"],
        }
    }

    /// Fields reported by `field.missing` when empty, unless the config overrides the list.
    pub fn default_expected_fields(self) -> &'static [&'static str] {
        match self {
            SourceKind::Residents => &[
                "record_id",
                "full_name",
                "birth_date",
                "sex",
                "province_code",
                "commune_code",
                "household_id",
                "relation_to_head",
            ],
            SourceKind::Vaccination => &["record_id", "full_name", "birth_date", "dose_date"],
            SourceKind::Insurance | SourceKind::Extract => {
                &["record_id", "full_name", "birth_date"]
            }
            SourceKind::CmndMap | SourceKind::Deaths => &[],
        }
    }

    /// Linked extracts are checked against the residents and may be linked to them.
    pub fn is_linked(self) -> bool {
        matches!(
            self,
            SourceKind::Vaccination | SourceKind::Insurance | SourceKind::Extract
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Residents => "residents",
            SourceKind::Vaccination => "vaccination",
            SourceKind::Insurance => "insurance",
            SourceKind::Extract => "extract",
            SourceKind::CmndMap => "cmnd-map",
            SourceKind::Deaths => "deaths",
        }
    }
}

/// The canonical columns the rules and matching read from any source that has them.
const ENGINE_READS: &[&str] = &[
    "record_id",
    "personal_id",
    "old_id",
    "full_name",
    "birth_date",
    "sex",
    "province_code",
    "commune_code",
    "household_id",
    "relation_to_head",
    "father_name",
    "mother_name",
    "death_date",
    "dose_date",
    "event_date",
];

/// Whether the engine ever looks at this (canonical) column of a source of this kind: the
/// readers decode only these, plus the fields configured for `field.missing`.
pub fn engine_reads(kind: SourceKind, column: &str) -> bool {
    ENGINE_READS.contains(&column)
        || kind.required_columns().contains(&column)
        || kind.default_expected_fields().contains(&column)
}

/// Every canonical column name the engine knows.
pub const CANONICAL: &[&str] = &[
    "record_id",
    "personal_id",
    "old_id",
    "full_name",
    "birth_date",
    "sex",
    "province_code",
    "commune_code",
    "household_id",
    "relation_to_head",
    "ethnicity",
    "nationality",
    "religion",
    "birth_place",
    "hometown",
    "address",
    "father_name",
    "mother_name",
    "death_date",
    "phone",
    "dose_date",
    "dose_number",
    "vaccine",
    "facility",
    "social_insurance_code",
    "health_card_no",
    "employer",
    "event_date",
];

/// Whether `column` is one of the engine's canonical columns. Any other column of an input
/// file is an unknown extra column: read as it is and carried through, under its own header,
/// to the output rows that echo its record (SPEC §2).
pub fn is_canonical(column: &str) -> bool {
    CANONICAL.contains(&column)
}

/// Headers recognised without configuration, in folded form (lower case, no diacritics,
/// words joined by `_`), mapped to their canonical column.
const ALIASES: &[(&str, &str)] = &[
    ("ma_ban_ghi", "record_id"),
    ("ma_ho_so", "record_id"),
    ("id", "record_id"),
    ("so_dinh_danh_ca_nhan", "personal_id"),
    ("so_dinh_danh", "personal_id"),
    ("ma_dinh_danh", "personal_id"),
    ("so_ddcn", "personal_id"),
    ("so_cccd", "personal_id"),
    ("cccd", "personal_id"),
    ("so_can_cuoc", "personal_id"),
    ("so_can_cuoc_cong_dan", "personal_id"),
    ("so_cmnd", "old_id"),
    ("cmnd", "old_id"),
    ("so_chung_minh_nhan_dan", "old_id"),
    ("ho_va_ten", "full_name"),
    ("ho_ten", "full_name"),
    ("ho_va_ten_khai_sinh", "full_name"),
    ("ten", "full_name"),
    ("name", "full_name"),
    ("ngay_sinh", "birth_date"),
    ("ngay_thang_nam_sinh", "birth_date"),
    ("ngay_thang_nam_sinh_dd_mm_yyyy", "birth_date"),
    ("dob", "birth_date"),
    ("gioi_tinh", "sex"),
    ("gender", "sex"),
    ("ma_tinh", "province_code"),
    ("ma_tinh_thanh_pho", "province_code"),
    ("ma_xa", "commune_code"),
    ("ma_xa_phuong", "commune_code"),
    ("ma_phuong_xa", "commune_code"),
    ("ma_ho", "household_id"),
    ("ma_so_ho", "household_id"),
    ("so_ho_khau", "household_id"),
    ("quan_he_voi_chu_ho", "relation_to_head"),
    ("quan_he_chu_ho", "relation_to_head"),
    ("quan_he", "relation_to_head"),
    ("dan_toc", "ethnicity"),
    ("quoc_tich", "nationality"),
    ("ton_giao", "religion"),
    ("noi_sinh", "birth_place"),
    ("noi_dang_ky_khai_sinh", "birth_place"),
    ("que_quan", "hometown"),
    ("dia_chi", "address"),
    ("noi_thuong_tru", "address"),
    ("noi_o_hien_tai", "address"),
    ("ho_ten_cha", "father_name"),
    ("ho_va_ten_cha", "father_name"),
    ("ten_cha", "father_name"),
    ("ho_ten_me", "mother_name"),
    ("ho_va_ten_me", "mother_name"),
    ("ten_me", "mother_name"),
    ("ngay_mat", "death_date"),
    ("ngay_chet", "death_date"),
    ("ngay_tu_vong", "death_date"),
    ("so_dien_thoai", "phone"),
    ("dien_thoai", "phone"),
    ("sdt", "phone"),
    ("ngay_tiem", "dose_date"),
    ("mui_tiem", "dose_number"),
    ("mui_thu", "dose_number"),
    ("mui_tiem_thu", "dose_number"),
    ("loai_vac_xin", "vaccine"),
    ("ten_vac_xin", "vaccine"),
    ("vac_xin", "vaccine"),
    ("vaccine_name", "vaccine"),
    ("co_so_tiem", "facility"),
    ("co_so_tiem_chung", "facility"),
    ("ma_so_bhxh", "social_insurance_code"),
    ("so_bhxh", "social_insurance_code"),
    ("ma_bhxh", "social_insurance_code"),
    ("ma_the_bhyt", "health_card_no"),
    ("so_the_bhyt", "health_card_no"),
    ("ma_the", "health_card_no"),
    ("don_vi", "employer"),
    ("don_vi_cong_tac", "employer"),
    ("noi_lam_viec", "employer"),
    ("so_cmnd_cu", "old_id"),
    ("cmnd_cu", "old_id"),
];

/// Folded form of a header: lower case, no diacritics, runs of anything that is not a letter
/// or digit become one `_`.
pub fn fold_header(raw: &str) -> String {
    let folded = fold(raw.trim().trim_start_matches('\u{feff}'));
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// The canonical column a header means, recognised without configuration.
pub fn recognise_header(raw: &str) -> Option<&'static str> {
    let key = fold_header(raw);
    if let Some(c) = CANONICAL.iter().find(|c| **c == key) {
        return Some(c);
    }
    ALIASES.iter().find(|(a, _)| *a == key).map(|(_, c)| *c)
}

/// Vietnamese label of a canonical column, for fix lists and messages.
pub fn vietnamese_label(column: &str) -> &'static str {
    match column {
        "record_id" => "Mã bản ghi",
        "personal_id" => "Số định danh cá nhân",
        "old_id" => "Số CMND",
        "full_name" => "Họ và tên",
        "birth_date" => "Ngày sinh",
        "sex" => "Giới tính",
        "province_code" => "Mã tỉnh",
        "commune_code" => "Mã xã",
        "household_id" => "Mã hộ",
        "relation_to_head" => "Quan hệ với chủ hộ",
        "ethnicity" => "Dân tộc",
        "nationality" => "Quốc tịch",
        "religion" => "Tôn giáo",
        "birth_place" => "Nơi sinh",
        "hometown" => "Quê quán",
        "address" => "Địa chỉ",
        "father_name" => "Họ tên cha",
        "mother_name" => "Họ tên mẹ",
        "death_date" => "Ngày mất",
        "phone" => "Số điện thoại",
        "dose_date" => "Ngày tiêm",
        "dose_number" => "Mũi tiêm",
        "vaccine" => "Vắc xin",
        "facility" => "Cơ sở tiêm",
        "social_insurance_code" => "Mã số BHXH",
        "health_card_no" => "Mã thẻ BHYT",
        "employer" => "Đơn vị",
        "event_date" => "Ngày sự kiện",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_headers_are_recognised_with_or_without_diacritics() {
        assert_eq!(recognise_header("Họ và tên"), Some("full_name"));
        assert_eq!(recognise_header("HO VA TEN"), Some("full_name"));
        assert_eq!(recognise_header("Ngày sinh"), Some("birth_date"));
        assert_eq!(recognise_header("Giới tính"), Some("sex"));
        assert_eq!(
            recognise_header("Số định danh cá nhân"),
            Some("personal_id")
        );
        assert_eq!(recognise_header("Số CMND"), Some("old_id"));
        assert_eq!(recognise_header("Mã hộ"), Some("household_id"));
        assert_eq!(
            recognise_header("Quan hệ với chủ hộ"),
            Some("relation_to_head")
        );
        assert_eq!(recognise_header("Mã xã"), Some("commune_code"));
        assert_eq!(recognise_header("Mã tỉnh"), Some("province_code"));
        assert_eq!(recognise_header("\u{feff}record_id"), Some("record_id"));
        assert_eq!(recognise_header(" Personal_ID "), Some("personal_id"));
        assert_eq!(recognise_header("ghi chú"), None);
    }

    /// A column the engine reads is a known column: a config may map a header to it, and it is
    /// never mistaken for an unknown extra column and carried through a second time.
    #[test]
    fn every_column_the_engine_reads_is_canonical_and_labelled() {
        for c in ENGINE_READS {
            assert!(is_canonical(c), "{c}");
            assert!(!vietnamese_label(c).is_empty(), "{c}");
        }
        for c in CANONICAL {
            assert!(!vietnamese_label(c).is_empty(), "{c}");
        }
    }
}
