//! Rules that look at one row at a time: ID structure, CMND format, dates, sex,
//! completeness, name form, implausible age.

use super::RecordRule;
use crate::core::{CheckInput, Column, Finding, RowRef, Rule, SexParse, SourceKind};
use crate::dates::{DateError, DateParse, PDate};
use crate::ids::{
    century_sex_digit, check_structure, classify_cmnd, digit, id_string, CmndClass, IdClass,
    IdStructureError, Sex,
};
use crate::text::{canonical_name, is_canonical_name};

fn sex_label(s: Sex) -> &'static str {
    match s {
        Sex::Male => "Nam",
        Sex::Female => "Nữ",
    }
}

fn describe_digit4(d4: u8) -> String {
    let sex = if d4 % 2 == 0 { "nam" } else { "nữ" };
    let from = 1900 + (d4 / 2) as u32 * 100;
    format!("chữ số thứ 4 = {d4} ({sex}, sinh {from}–{})", from + 99)
}

/// `id.missing`, `id.format`, `id.phone_number`, `id.old_cmnd`, `id.province_code`,
/// `id.century_sex`, `id.birth_year`.
pub struct PersonalId;

impl RecordRule for PersonalId {
    fn applies(&self, kind: SourceKind) -> bool {
        kind == SourceKind::Residents || kind.is_linked()
    }

    fn check(&self, input: &CheckInput, source: u16, row: usize, out: &mut Vec<Finding>) {
        let col = input.cols[source as usize][Column::PersonalId];
        if !col.is_present() {
            return;
        }
        let facts = input.prepared[source as usize].rows[row];
        let raw = col.get(row);
        let here = RowRef::new(source.into(), row);
        let f = |rule| Finding::on(here, rule, Column::PersonalId).value(raw);
        let birth = facts.birth.valid();
        let sex = facts.sex.known();
        match facts.pid.class {
            IdClass::Valid => {
                let id = facts.pid.value;
                let [prov, cs, year] = check_structure(id, sex, birth);
                if prov.is_some() {
                    out.push(f(Rule::IdProvinceCode).note(format!(
                        "3 chữ số đầu = {:03}: không phải mã tỉnh đăng ký khai sinh",
                        crate::ids::prefix(id)
                    )));
                }
                if let Some(e) = cs {
                    let d4 = digit(id, 4);
                    let what = match e {
                        IdStructureError::Sex => format!(
                            "{} nhưng giới tính = {}",
                            describe_digit4(d4),
                            sex.map(sex_label).unwrap_or("")
                        ),
                        _ => format!(
                            "{} nhưng năm sinh = {}",
                            describe_digit4(d4),
                            birth.map(|b| b.year).unwrap_or(0)
                        ),
                    };
                    let mut finding = f(Rule::IdCenturySex).note(what);
                    if let (Some(s), Some(b)) = (sex, birth) {
                        if let Some(d) = century_sex_digit(s, b.year) {
                            let fixed = id - (d4 as u64) * 100_000_000 + (d as u64) * 100_000_000;
                            if prov.is_none() && year.is_none() {
                                finding = finding.suggest(id_string(fixed));
                            }
                        }
                    }
                    out.push(finding);
                }
                if year.is_some() {
                    let yy = (id / 1_000_000) % 100;
                    out.push(f(Rule::IdBirthYear).note(format!(
                        "chữ số thứ 5–6 = {yy:02} nhưng năm sinh = {}",
                        birth.map(|b| b.year).unwrap_or(0)
                    )));
                }
            }
            IdClass::Missing => out.push(Finding::on(here, Rule::IdMissing, Column::PersonalId)),
            IdClass::Formatted => out.push(
                f(Rule::IdFormat)
                    .suggest(id_string(facts.pid.value))
                    .note("có dấu chấm, khoảng trắng hoặc dấu nháy"),
            ),
            IdClass::DroppedZero => {
                let restored = facts.pid.value;
                let consistent = check_structure(restored, sex, birth)
                    .iter()
                    .all(Option::is_none);
                let mut finding = f(Rule::IdFormat).note("11 chữ số: mất số 0 đầu (Excel)");
                if consistent {
                    finding = finding.suggest(id_string(restored));
                }
                out.push(finding);
            }
            IdClass::Phone => out.push(f(Rule::IdPhoneNumber).note("số điện thoại di động")),
            IdClass::OldCmnd => out.push(f(Rule::IdOldCmnd).note("9 chữ số: số CMND cũ")),
            IdClass::Scientific => {
                out.push(f(Rule::IdFormat).note("dạng số mũ của bảng tính: đã mất chữ số"))
            }
            IdClass::Malformed => out.push(f(Rule::IdFormat).note("không phải 12 chữ số")),
        }
    }
}

/// `cmnd.format`: old_id present but not 9 or 12 digits, or an unknown issuing prefix.
pub struct OldCmnd;

impl RecordRule for OldCmnd {
    fn applies(&self, kind: SourceKind) -> bool {
        kind == SourceKind::Residents || kind.is_linked()
    }

    fn check(&self, input: &CheckInput, source: u16, row: usize, out: &mut Vec<Finding>) {
        let col = input.cols[source as usize][Column::OldId];
        let Some(raw) = col.opt(row) else {
            return;
        };
        let (class, _, _) = classify_cmnd(raw);
        let note = match class {
            CmndClass::Missing | CmndClass::Valid | CmndClass::RecalledPrefix => return,
            CmndClass::BadLength => "không phải 9 hoặc 12 chữ số",
            CmndClass::UnknownPrefix => "mã nơi cấp (2–3 chữ số đầu) không thuộc tỉnh nào",
        };
        out.push(
            Finding::on(
                RowRef::new(source.into(), row),
                Rule::CmndFormat,
                Column::OldId,
            )
            .value(raw)
            .note(note),
        );
    }
}

fn date_note(e: DateError) -> &'static str {
    match e {
        DateError::Unparseable => "không đọc được ngày",
        DateError::Impossible => "ngày không tồn tại",
    }
}

/// `date.invalid`: birth, death and dose dates unparseable, impossible, in the future, or
/// in the wrong order (death or dose before birth).
pub struct Dates;

impl Dates {
    fn check_one(
        input: &CheckInput,
        here: RowRef,
        field: Column,
        raw: &str,
        parsed: DateParse,
        birth: Option<PDate>,
        out: &mut Vec<Finding>,
    ) -> Option<PDate> {
        let as_of = input.as_of.earliest();
        match parsed {
            DateParse::Missing => None,
            DateParse::Invalid(e) => {
                out.push(
                    Finding::on(here, Rule::DateInvalid, field)
                        .value(raw)
                        .note(date_note(e)),
                );
                None
            }
            DateParse::Valid(d) if d.earliest() > as_of => {
                out.push(
                    Finding::on(here, Rule::DateInvalid, field)
                        .value(raw)
                        .note("ngày ở tương lai"),
                );
                None
            }
            DateParse::Valid(d) if d.year < 1850 => {
                out.push(
                    Finding::on(here, Rule::DateInvalid, field)
                        .value(raw)
                        .note("năm không hợp lý"),
                );
                None
            }
            DateParse::Valid(d) => {
                if let Some(b) = birth {
                    if field != Column::BirthDate && d.latest() < b.earliest() {
                        out.push(
                            Finding::on(here, Rule::DateInvalid, field)
                                .value(raw)
                                .note("trước ngày sinh"),
                        );
                        return None;
                    }
                }
                Some(d)
            }
        }
    }
}

impl RecordRule for Dates {
    fn applies(&self, kind: SourceKind) -> bool {
        kind == SourceKind::Residents || kind.is_linked()
    }

    fn check(&self, input: &CheckInput, source: u16, row: usize, out: &mut Vec<Finding>) {
        let cols = &input.cols[source as usize];
        let facts = input.prepared[source as usize].rows[row];
        let here = RowRef::new(source.into(), row);
        let birth_raw = cols[Column::BirthDate].get(row);
        let birth = Self::check_one(
            input,
            here,
            Column::BirthDate,
            birth_raw,
            facts.birth,
            None,
            out,
        );
        for field in [Column::DeathDate, Column::DoseDate] {
            if let Some(raw) = cols[field].opt(row) {
                let parsed = crate::dates::parse_date(raw);
                Self::check_one(input, here, field, raw, parsed, birth, out);
            }
        }
    }
}

/// `sex.invalid`.
pub struct SexRule;

impl RecordRule for SexRule {
    fn applies(&self, kind: SourceKind) -> bool {
        kind == SourceKind::Residents || kind.is_linked()
    }

    fn check(&self, input: &CheckInput, source: u16, row: usize, out: &mut Vec<Finding>) {
        if input.prepared[source as usize].rows[row].sex == SexParse::Invalid {
            let raw = input.cols[source as usize][Column::Sex].get(row);
            out.push(
                Finding::on(
                    RowRef::new(source.into(), row),
                    Rule::SexInvalid,
                    Column::Sex,
                )
                .value(raw)
                .note("giới tính phải là Nam hoặc Nữ"),
            );
        }
    }
}

/// `field.missing`: an expected field is empty (the list is per source, configurable).
pub struct Completeness;

impl RecordRule for Completeness {
    fn applies(&self, kind: SourceKind) -> bool {
        kind == SourceKind::Residents || kind.is_linked()
    }

    fn check(&self, input: &CheckInput, source: u16, row: usize, out: &mut Vec<Finding>) {
        for e in &input.expected[source as usize] {
            if e.col.is_present() && e.is_empty(row) {
                out.push(Finding::on(
                    RowRef::new(source.into(), row),
                    Rule::FieldMissing,
                    e.field,
                ));
            }
        }
    }
}

/// Whether neither [`NameForm`] nor [`NameChars`] finds anything in a full_name cell (as
/// [`crate::core::Col::raw`] reads it): both rules' own tests.
pub fn name_is_clean(raw: &str) -> bool {
    unnormalized(raw).is_none() && invalid_chars(raw).is_none()
}

/// The canonical form [`NameForm`] suggests for a full_name cell, None when it has none to
/// report.
fn unnormalized(raw: &str) -> Option<String> {
    if raw.trim().is_empty() || is_canonical_name(raw) {
        return None;
    }
    let canonical = canonical_name(raw);
    (canonical != raw).then_some(canonical)
}

/// Why [`NameChars`] reports a full_name cell, None when it does not.
fn invalid_chars(raw: &str) -> Option<&'static str> {
    if raw.is_empty() {
        return None;
    }
    crate::text::invalid_name_chars(raw)
}

/// `name.unnormalized`: full_name not NFC / single-spaced / title case, or legacy-encoded.
pub struct NameForm;

impl RecordRule for NameForm {
    fn applies(&self, kind: SourceKind) -> bool {
        kind == SourceKind::Residents || kind.is_linked()
    }

    fn reads_only_the_name(&self) -> bool {
        true
    }

    fn check(&self, input: &CheckInput, source: u16, row: usize, out: &mut Vec<Finding>) {
        let raw = input.cols[source as usize][Column::FullName].raw(row);
        let Some(canonical) = unnormalized(raw) else {
            return;
        };
        out.push(
            Finding::on(
                RowRef::new(source.into(), row),
                Rule::NameUnnormalized,
                Column::FullName,
            )
            .value(raw)
            .suggest(canonical),
        );
    }
}

/// `alive.implausible_age`: a living resident older than `[alive] implausible_age` (120) at
/// `--as-of`.
pub struct ImplausibleAge;

impl RecordRule for ImplausibleAge {
    fn applies(&self, kind: SourceKind) -> bool {
        kind == SourceKind::Residents
    }

    fn check(&self, input: &CheckInput, source: u16, row: usize, out: &mut Vec<Finding>) {
        let cols = &input.cols[source as usize];
        if cols[Column::DeathDate].opt(row).is_some() {
            return;
        }
        let Some(birth) = input.prepared[source as usize].birth(row) else {
            return;
        };
        if birth.year >= 1850 && birth.age_at(input.as_of) > input.alive.implausible_age as i32 {
            out.push(
                Finding::on(
                    RowRef::new(source.into(), row),
                    Rule::AliveImplausibleAge,
                    Column::BirthDate,
                )
                .value(cols[Column::BirthDate].get(row))
                .note(format!("{} tuổi", birth.age_at(input.as_of))),
            );
        }
    }
}

/// `name.invalid_chars`: a name holding digits, `?`, U+FFFD, control or zero-width characters,
/// or — in a name written with Vietnamese diacritics — a syllable Vietnamese spelling cannot
/// make ("Nguyễn Vă n", "Trầnn"). Apostrophes and hyphens of ethnic-minority names (`H'Hen
/// Niê`, `Ksor H'Bơ`) are valid; a name without diacritics may be foreign and is not judged
/// by syllable.
pub struct NameChars;

impl RecordRule for NameChars {
    fn applies(&self, kind: SourceKind) -> bool {
        kind == SourceKind::Residents || kind.is_linked()
    }

    fn reads_only_the_name(&self) -> bool {
        true
    }

    fn check(&self, input: &CheckInput, source: u16, row: usize, out: &mut Vec<Finding>) {
        let raw = input.cols[source as usize][Column::FullName].raw(row);
        if let Some(why) = invalid_chars(raw) {
            out.push(
                Finding::on(
                    RowRef::new(source.into(), row),
                    Rule::NameInvalidChars,
                    Column::FullName,
                )
                .value(raw)
                .note(why),
            );
        }
    }
}

/// `insurance.code_format`, `insurance.card_format`, `insurance.card_object_age` on the
/// insurance extract: the 10-digit social-insurance code, and the 15-character health-card
/// number (object code, benefit level 1–5, 2-digit province, the row's social-insurance code).
pub struct InsuranceCard;

/// Ages an object code cannot have (at `--as-of`): children under 6 (TE), pupils (HS), students
/// (SV), pensioners (HT), the over-80s survivors' allowance (CT).
fn object_age_impossible(object: &str, age: i32) -> Option<&'static str> {
    match object {
        "TE" if age >= 6 => Some("mã TE dành cho trẻ em dưới 6 tuổi"),
        "HS" if !(3..=30).contains(&age) => Some("mã HS dành cho học sinh"),
        "SV" if age < 15 => Some("mã SV dành cho sinh viên"),
        "HT" if age < 35 => Some("mã HT dành cho người hưởng lương hưu"),
        "CT" if age < 75 => Some("mã CT dành cho người từ 80 tuổi trở lên"),
        _ => None,
    }
}

impl RecordRule for InsuranceCard {
    fn applies(&self, kind: SourceKind) -> bool {
        kind == SourceKind::Insurance
    }

    fn check(&self, input: &CheckInput, source: u16, row: usize, out: &mut Vec<Finding>) {
        let cols = &input.cols[source as usize];
        let here = RowRef::new(source.into(), row);
        let code = cols[Column::SocialInsuranceCode].get(row).trim();
        let code_ok = code.len() == 10 && code.bytes().all(|b| b.is_ascii_digit());
        if !code.is_empty() && !code_ok {
            out.push(
                Finding::on(here, Rule::InsuranceCodeFormat, Column::SocialInsuranceCode)
                    .value(code)
                    .note(format!("{} ký tự", code.chars().count())),
            );
        }
        let card = cols[Column::HealthCardNo].get(row).trim();
        if card.is_empty() {
            return;
        }
        let reference = crate::reference::reference();
        let b = card.as_bytes();
        let why: Option<String> = if b.len() != 15 || !card.is_ascii() {
            Some(format!("{} ký tự, cần 15", card.chars().count()))
        } else if !reference.is_bhyt_object(&card[..2]) {
            Some(format!(
                "mã đối tượng {} không có trong danh mục",
                &card[..2]
            ))
        } else if !(b'1'..=b'5').contains(&b[2]) {
            Some("mức hưởng (ký tự thứ 3) phải từ 1 đến 5".to_string())
        } else if !reference.is_province_code(&card[3..5]) {
            Some("ký tự thứ 4–5 không phải mã tỉnh".to_string())
        } else if !card[5..].bytes().all(|b| b.is_ascii_digit()) {
            Some("10 ký tự cuối phải là mã số BHXH".to_string())
        } else if code_ok && &card[5..] != code {
            Some("10 số cuối khác mã số BHXH của dòng".to_string())
        } else {
            None
        };
        if let Some(why) = why {
            let mut f = Finding::on(here, Rule::InsuranceCardFormat, Column::HealthCardNo)
                .value(card)
                .note(why);
            if code_ok && b.len() == 15 && card.is_ascii() && reference.is_bhyt_object(&card[..2]) {
                f = f.suggest(format!("{}{code}", &card[..5]));
            }
            out.push(f);
            return;
        }
        let facts = input.prepared[source as usize].rows[row];
        if let Some(birth) = facts.birth.valid() {
            let age = birth.age_at(input.as_of);
            if let Some(why) = object_age_impossible(&card[..2], age) {
                out.push(
                    Finding::on(here, Rule::InsuranceCardObjectAge, Column::HealthCardNo)
                        .value(card)
                        .note(format!("{why}; người này {age} tuổi")),
                );
            }
        }
    }
}
