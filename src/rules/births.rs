//! The birth rules (SPEC §6): a birth registration (`--births`, hộ tịch khai sinh) judged
//! against the resident it belongs to, once the matching phase has found that resident (by the
//! registration's personal ID, else by name, birth date, sex, parents and place).
//!
//! - `birth.no_resident`: no resident, and the birth was registered more than
//!   [`GRACE_DAYS`] days before `--as-of` (the time the law gives to register the child's
//!   residence). Without a readable registration date, the birth date stands in for it (a
//!   birth is registered on or after it, so this never fires early).
//! - `birth.mismatch`: the resident's full name, birth date, sex, father's or mother's name
//!   differs from the registration's, one finding per field. A field that is empty or
//!   unreadable on either side is not compared (`field.missing`, `date.invalid`,
//!   `name.invalid_chars` report those); names are compared with their diacritics (one tone
//!   placement, any encoding or case), or folded when either side was typed without any.

use crate::compare::{compare_dates, DateLevel};
use crate::core::{CheckInput, Column, Finding, RowRef, Rule};
use crate::dates::parse_date;
use crate::text::{fold, invalid_name_chars, name_key};

/// Days after its registration within which a birth need not have a resident record yet.
pub const GRACE_DAYS: i32 = 60;

/// Do two names written for one person name different people? Forms of one name (case,
/// NFD, legacy encodings, tone placement, spacing) are not a difference; neither is a name
/// typed without diacritics that folds equal.
pub fn names_differ(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    // Written alike (nearly every pair): no need for the keys.
    if a.is_empty() || b.is_empty() || a == b {
        return false;
    }
    if invalid_name_chars(a).is_some() || invalid_name_chars(b).is_some() {
        return false;
    }
    if a.is_ascii() || b.is_ascii() {
        return fold(a) != fold(b);
    }
    name_key(a) != name_key(b)
}

/// The findings of birth registration `r` of source `s`, whose resident is `resident` (None:
/// no resident found; `ambiguous`: several plausible, so none is claimed missing).
pub fn judge(
    input: &CheckInput,
    s: usize,
    r: usize,
    resident: Option<u32>,
    ambiguous: bool,
    out: &mut Vec<Finding>,
) {
    let here = RowRef::new(s, r);
    let cols = &input.cols[s];
    let Some(res) = resident else {
        if ambiguous {
            return;
        }
        let registered = parse_date(cols[Column::RegistrationDate].get(r))
            .valid()
            .map(|d| (d, Column::RegistrationDate))
            .or_else(|| {
                input.prepared[s].rows[r]
                    .birth
                    .valid()
                    .map(|d| (d, Column::BirthDate))
            });
        if let Some((date, field)) = registered {
            let days = input.as_of.earliest() - date.latest();
            if days > GRACE_DAYS {
                let what = if field == Column::RegistrationDate {
                    "đăng ký khai sinh"
                } else {
                    "sinh (không có ngày đăng ký)"
                };
                out.push(
                    Finding::on(here, Rule::BirthNoResident, field)
                        .value(cols[field].get(r))
                        .note(format!("{what} {days} ngày trước, chưa có hồ sơ dân cư")),
                );
            }
        }
        return;
    };
    let res_cols = &input.cols[0];
    let row = res as usize;
    let rel = RowRef::resident(res);
    let mismatch = |field: Column, note: &str| {
        Finding::on(here, Rule::BirthMismatch, field)
            .value(cols[field].get(r))
            .suggest(res_cols[field].get(row))
            .related(rel, None)
            .note(note.to_string())
    };
    for (field, note) in [
        (Column::FullName, "họ tên khác với hồ sơ dân cư"),
        (Column::FatherName, "họ tên cha khác với hồ sơ dân cư"),
        (Column::MotherName, "họ tên mẹ khác với hồ sơ dân cư"),
    ] {
        if names_differ(cols[field].get(r), res_cols[field].get(row)) {
            out.push(mismatch(field, note));
        }
    }
    let facts = input.prepared[s].rows[r];
    let (_, rp) = input.residents();
    if let (Some(a), Some(b)) = (facts.birth.valid(), rp.birth(row)) {
        if compare_dates(a, b) > DateLevel::Compatible {
            out.push(mismatch(
                Column::BirthDate,
                "ngày sinh khác với hồ sơ dân cư",
            ));
        }
    }
    if let (Some(a), Some(b)) = (facts.sex.known(), rp.rows[row].sex.known()) {
        if a != b {
            out.push(mismatch(Column::Sex, "giới tính khác với hồ sơ dân cư"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::names_differ;

    #[test]
    fn forms_of_one_name_are_not_a_mismatch() {
        assert!(!names_differ("Nguyễn Văn An", "NGUYỄN VĂN AN"));
        assert!(!names_differ("Nguyễn Văn An", "Nguyen Van An"));
        assert!(!names_differ("Hoàng Thị Thuỷ", "Hoàng Thị Thủy"));
        assert!(!names_differ("Nguyễn  Văn An ", "Nguyễn Văn An"));
        assert!(!names_differ("", "Nguyễn Văn An"));
        // A garbled name is name.invalid_chars, not a second finding here.
        assert!(!names_differ("Nguy?n Văn An", "Nguyễn Văn An"));
    }

    #[test]
    fn another_name_is_a_mismatch() {
        assert!(names_differ("Nguyễn Văn An", "Nguyễn Văn Ân"));
        assert!(names_differ("Nguyễn Văn An", "Nguyễn Đức An"));
        assert!(names_differ("Nguyen Van An", "Nguyen Van Anh"));
    }
}
