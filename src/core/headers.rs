//! Headers recognised without configuration: common Vietnamese (and English) headers, with
//! or without diacritics, mapped to canonical columns.

use crate::core::Column;
use crate::text::fold;

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
    ("ngay_dang_ky", "registration_date"),
    ("ngay_dang_ky_khai_sinh", "registration_date"),
    ("loai_cu_tru", "residence_type"),
    ("tinh_trang_cu_tru", "residence_type"),
    ("ma_xa_tam_tru", "temp_commune_code"),
    ("noi_tam_tru_ma_xa", "temp_commune_code"),
    ("nguon_du_lieu", "data_source"),
    ("nguon", "data_source"),
    ("so_cmnd_cu", "old_id"),
    ("cmnd_cu", "old_id"),
];

/// Names of prisoners' extracts (indicator (6)), folded like headers.
pub const PRISONER_SOURCES: &[&str] = &["pham_nhan", "phamnhan", "prisoners", "prisoner"];

/// Whether a source's name is one of these (folded like a header: "Phạm nhân" is
/// `pham_nhan`).
pub fn source_matches(name: &str, patterns: &[&str]) -> bool {
    let folded = fold_header(name);
    patterns.iter().any(|p| folded == *p || folded.contains(p))
}

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
pub fn recognise_header(raw: &str) -> Option<Column> {
    let key = fold_header(raw);
    Column::from_name(&key).or_else(|| {
        ALIASES
            .iter()
            .find(|(a, _)| *a == key)
            .and_then(|(_, c)| Column::from_name(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_headers_are_recognised_with_or_without_diacritics() {
        let recognise = |h: &str| recognise_header(h).map(Column::name);
        assert_eq!(recognise("Họ và tên"), Some("full_name"));
        assert_eq!(recognise("HO VA TEN"), Some("full_name"));
        assert_eq!(recognise("Ngày sinh"), Some("birth_date"));
        assert_eq!(recognise("Giới tính"), Some("sex"));
        assert_eq!(recognise("Số định danh cá nhân"), Some("personal_id"));
        assert_eq!(recognise("Số CMND"), Some("old_id"));
        assert_eq!(recognise("Mã hộ"), Some("household_id"));
        assert_eq!(recognise("Quan hệ với chủ hộ"), Some("relation_to_head"));
        assert_eq!(recognise("Mã xã"), Some("commune_code"));
        assert_eq!(recognise("Mã tỉnh"), Some("province_code"));
        assert_eq!(recognise("\u{feff}record_id"), Some("record_id"));
        assert_eq!(recognise(" Personal_ID "), Some("personal_id"));
        assert_eq!(recognise("ghi chú"), None);
    }

    /// Every alias names a canonical column.
    #[test]
    fn every_alias_maps_to_a_canonical_column() {
        for (alias, canon) in ALIASES {
            assert!(Column::from_name(canon).is_some(), "{alias} -> {canon}");
            assert_eq!(fold_header(alias), *alias);
        }
    }
}
