//! Table-driven tests of every per-record rule and the cases real data brings: one row per
//! case, each in a household of its own with a head, checked as of 2026-06-30.

use std::sync::Arc;

use arrow_array::{ArrayRef, StringArray};

use super::run_rules;
use crate::core::{CheckInput, Context, MatchSettings, PidIndex, Prepared, SourceKind, Table};
use crate::dates::PDate;

const COLS: [&str; 11] = [
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
    "death_date",
];

/// A case: personal_id, old_id, full_name, birth_date, sex, death_date → expected
/// (rule, field, suggestion) findings, exactly.
struct Case {
    pid: &'static str,
    old: &'static str,
    name: &'static str,
    birth: &'static str,
    sex: &'static str,
    death: &'static str,
    expect: &'static [(&'static str, &'static str, &'static str)],
}

const fn case(
    pid: &'static str,
    name: &'static str,
    birth: &'static str,
    sex: &'static str,
    expect: &'static [(&'static str, &'static str, &'static str)],
) -> Case {
    Case {
        pid,
        old: "",
        name,
        birth,
        sex,
        death: "",
        expect,
    }
}

const AN: &str = "Nguyễn Văn An";

const CASES: &[Case] = &[
    // Personal ID: valid, trimmed.
    case("001085012345", AN, "1985-03-07", "Nam", &[]),
    case(" 001085012345 ", AN, "07/03/1985", "Nam", &[]),
    // Written with dots, spaces or a leading apostrophe: the 12 digits are suggested.
    case(
        "001.085.012345",
        AN,
        "1985-03-07",
        "Nam",
        &[("id.format", "personal_id", "001085012345")],
    ),
    case(
        "001 085 012345",
        AN,
        "1985-03-07",
        "Nam",
        &[("id.format", "personal_id", "001085012345")],
    ),
    case(
        "'001085012345",
        AN,
        "1985-03-07",
        "Nam",
        &[("id.format", "personal_id", "001085012345")],
    ),
    // Leading zeros dropped by a spreadsheet: restored when consistent with the record.
    case(
        "1085012345",
        AN,
        "1985-03-07",
        "Nam",
        &[("id.format", "personal_id", "001085012345")],
    ),
    case(
        "79195012345",
        "Trần Thị Bình",
        "1995-01-02",
        "Nữ",
        &[("id.format", "personal_id", "079195012345")],
    ),
    case(
        "79195012345",
        AN,
        "1995-01-02",
        "Nam",
        &[("id.format", "personal_id", "")],
    ),
    // Scientific notation: the digits are lost.
    case(
        "1.08501E+11",
        AN,
        "1985-03-07",
        "Nam",
        &[("id.format", "personal_id", "")],
    ),
    case(
        "00108501234A",
        AN,
        "1985-03-07",
        "Nam",
        &[("id.format", "personal_id", "")],
    ),
    // Phone numbers.
    case(
        "0912345678",
        AN,
        "1985-03-07",
        "Nam",
        &[("id.phone_number", "personal_id", "")],
    ),
    case(
        "84912345678",
        AN,
        "1985-03-07",
        "Nam",
        &[("id.phone_number", "personal_id", "")],
    ),
    case(
        "+84 912 345 678",
        AN,
        "1985-03-07",
        "Nam",
        &[("id.phone_number", "personal_id", "")],
    ),
    // Old 9-digit CMND in the ID field (resolves to nothing here).
    case(
        "012345678",
        AN,
        "1985-03-07",
        "Nam",
        &[
            ("id.old_cmnd", "personal_id", ""),
            ("cmnd.unmapped", "personal_id", ""),
        ],
    ),
    // Structure: province prefix, digit 4 (sex / century), digits 5–6 (year).
    case(
        "003085012345",
        AN,
        "1985-03-07",
        "Nam",
        &[("id.province_code", "personal_id", "")],
    ),
    case(
        "001185012345",
        AN,
        "1985-03-07",
        "Nam",
        &[("id.century_sex", "personal_id", "001085012345")],
    ),
    case(
        "001285012345",
        AN,
        "1985-03-07",
        "Nam",
        &[("id.century_sex", "personal_id", "001085012345")],
    ),
    case(
        "001086012345",
        AN,
        "1985-03-07",
        "Nam",
        &[("id.birth_year", "personal_id", "")],
    ),
    // Only what the record knows is checked: a year-only date has a year; no sex, no sex error.
    case("001085012345", AN, "1985", "Nam", &[]),
    case(
        "001185012345",
        AN,
        "1985-03-07",
        "",
        &[("field.missing", "sex", "")],
    ),
    case(
        "001185012345",
        AN,
        "1985-03-07",
        "Khác",
        &[("sex.invalid", "sex", "")],
    ),
    case(
        "001086012345",
        AN,
        "",
        "Nam",
        &[("field.missing", "birth_date", "")],
    ),
    case(
        "",
        AN,
        "1985-03-07",
        "Nam",
        &[("id.missing", "personal_id", "")],
    ),
    // Dates: every form of SPEC §2, impossible and future dates.
    case("001085012345", AN, "00/00/1985", "Nam", &[]),
    case("001085012345", AN, "03/1985", "Nam", &[]),
    case("001085012345", AN, "1985-00-00", "Nam", &[]),
    case(
        "001090012345",
        AN,
        "31/02/1990",
        "Nam",
        &[("date.invalid", "birth_date", "")],
    ),
    case(
        "001090012345",
        AN,
        "1990-13-01",
        "Nam",
        &[("date.invalid", "birth_date", "")],
    ),
    case(
        "001090012345",
        AN,
        "không rõ",
        "Nam",
        &[("date.invalid", "birth_date", "")],
    ),
    case(
        "001230012345",
        AN,
        "2030-01-01",
        "Nam",
        &[("date.invalid", "birth_date", "")],
    ),
    // Sex spellings.
    case("001185012345", "Trần Thị Bình", "1985-03-07", "nu", &[]),
    case("001185012345", "Trần Thị Bình", "1985-03-07", "F", &[]),
    case("001085012345", AN, "1985-03-07", "male", &[]),
    case(
        "001085012345",
        AN,
        "1985-03-07",
        "X",
        &[("sex.invalid", "sex", "")],
    ),
    // Names: canonical form, with TCVN3 / VNI decoded in the suggestion.
    case("001085012345", "Nguyen Van An", "1985-03-07", "Nam", &[]),
    case(
        "001085012345",
        "NGUYỄN VĂN AN",
        "1985-03-07",
        "Nam",
        &[("name.unnormalized", "full_name", AN)],
    ),
    case(
        "001085012345",
        "nguyễn  văn an",
        "1985-03-07",
        "Nam",
        &[("name.unnormalized", "full_name", AN)],
    ),
    case(
        "001085012345",
        "Ðỗ Văn An",
        "1985-03-07",
        "Nam",
        &[("name.unnormalized", "full_name", "Đỗ Văn An")],
    ),
    case(
        "001085012345",
        "NguyÔn V¨n An",
        "1985-03-07",
        "Nam",
        &[("name.unnormalized", "full_name", AN)],
    ),
    case(
        "001085012345",
        "Nguyeãn Vaên An",
        "1985-03-07",
        "Nam",
        &[("name.unnormalized", "full_name", AN)],
    ),
    case(
        "001085012345",
        "",
        "1985-03-07",
        "Nam",
        &[("field.missing", "full_name", "")],
    ),
    // Older than 120 and not recorded dead.
    case(
        "001000012345",
        AN,
        "1900-05-01",
        "Nam",
        &[("alive.implausible_age", "birth_date", "")],
    ),
];

fn column(values: Vec<String>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

fn residents(cases: &[Case]) -> Table {
    let mut cols: Vec<Vec<String>> = vec![Vec::new(); COLS.len()];
    for (i, c) in cases.iter().enumerate() {
        let row = [
            format!("R{i}"),
            c.pid.to_string(),
            c.old.to_string(),
            c.name.to_string(),
            c.birth.to_string(),
            c.sex.to_string(),
            "01".to_string(),
            "00004".to_string(),
            format!("H{i}"),
            "Chủ hộ".to_string(),
            c.death.to_string(),
        ];
        for (k, v) in row.into_iter().enumerate() {
            cols[k].push(v);
        }
    }
    Table::from_columns(
        "residents",
        SourceKind::Residents,
        COLS.iter()
            .map(|c| c.to_string())
            .zip(cols.into_iter().map(column))
            .collect(),
    )
}

fn findings_of(cases: &[Case]) -> Vec<Vec<(String, String, String)>> {
    findings_in(vec![residents(cases)])
}

fn findings_in(t: Vec<Table>) -> Vec<Vec<(String, String, String)>> {
    let n = t[0].len();
    let prepared = vec![Prepared::new(&t[0])];
    let ctx = Context {
        cmnd_map: None,
        deaths: None,
        as_of: PDate::new(2026, 6, 30),
        province: None,
        matching: MatchSettings::default(),
        alive: Default::default(),
        residence: Default::default(),
        expected: vec![SourceKind::Residents.default_expected_fields().to_vec()],
    };
    let input = CheckInput::new(&t, &prepared, ctx);
    let mut per_row = vec![Vec::new(); n];
    for f in run_rules(&input) {
        per_row[f.at.row as usize].push((
            f.rule.code().to_string(),
            f.field_name().to_string(),
            f.suggestion.unwrap_or_default(),
        ));
    }
    per_row
}

#[test]
fn every_case_gives_exactly_its_findings() {
    let found = findings_of(CASES);
    let mut failures = Vec::new();
    for (c, got) in CASES.iter().zip(&found) {
        let mut want: Vec<(String, String, String)> = c
            .expect
            .iter()
            .map(|(r, f, s)| (r.to_string(), f.to_string(), s.to_string()))
            .collect();
        let mut got = got.clone();
        want.sort();
        got.sort();
        if want != got {
            failures.push(format!(
                "{} / {} / {} / {}: want {want:?}, got {got:?}",
                c.pid, c.name, c.birth, c.sex
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The name rules judge a dictionary-encoded name once a distinct value, and `field.missing`
/// reads a dictionary-encoded column's blanks once a value: the same findings as row by row,
/// for names that are clean, padded, legacy-encoded, badly spelled, foreign, empty or spaces.
#[test]
fn names_judged_once_a_value_give_the_findings_of_every_row() {
    let names = [
        AN,
        "Nguyễn Văn An ",
        " Nguyễn Văn An",
        "nguyễn văn an",
        "NguyÔn V¨n Hïng",
        "Nguyễn Vă n",
        "Trần Thị Mai2",
        "John Smith",
        "H'Hen Niê",
        "",
        "   ",
    ];
    let cases: Vec<Case> = (0..6000)
        .map(|i| {
            case(
                "001085012345",
                names[i * 7 % names.len()],
                "1985-03-07",
                "Nam",
                &[],
            )
        })
        .collect();
    let plain = residents(&cases);
    let mut compact = plain.clone();
    compact.compact();
    let col = compact.column(crate::core::Column::FullName);
    assert!(
        col.by_raw_value(|s| s.len()).is_some(),
        "the names are dictionary-encoded"
    );
    let (a, b) = (findings_in(vec![plain]), findings_in(vec![compact]));
    let differ = (0..a.len()).find(|&i| a[i] != b[i]);
    assert!(
        differ.is_none(),
        "{:?}: {:?} row by row, {:?} once a value",
        differ.map(|i| cases[i].name),
        differ.map(|i| &a[i]),
        differ.map(|i| &b[i])
    );
    let names_found = |name: &str| -> Vec<String> {
        let row = (0..cases.len()).find(|&i| cases[i].name == name).unwrap();
        let mut r: Vec<String> = b[row]
            .iter()
            .filter(|f| f.0.starts_with("name."))
            .map(|f| format!("{} {}", f.0, f.2))
            .collect();
        r.sort();
        r
    };
    assert!(names_found(AN).is_empty());
    assert_eq!(
        names_found("Nguyễn Văn An "),
        ["name.unnormalized Nguyễn Văn An"]
    );
    assert_eq!(
        names_found("NguyÔn V¨n Hïng"),
        ["name.unnormalized Nguyễn Văn Hùng"]
    );
    assert_eq!(names_found("Trần Thị Mai2"), ["name.invalid_chars "]);
    assert!(names_found("John Smith").is_empty());
    assert!(names_found("H'Hen Niê").is_empty());
}

/// A man named AN, born on `birth`, with this personal ID (or none) and this CMND in old_id.
fn carrying(old: &'static str, pid: &'static str, birth: &'static str) -> Case {
    Case {
        old,
        ..case(pid, AN, birth, "Nam", &[])
    }
}

#[test]
fn cmnd_cases() {
    let cases = [
        carrying("012345678", "001085012345", "1985-03-07"),
        // A prefix the reference only recalls is accepted.
        carrying("171234567", "001085012345", "1985-03-07"),
        carrying("01234567", "001085012345", "1985-03-07"),
        carrying("991234567", "001085012345", "1985-03-07"),
        // No ID, but the CMND resolves through another record's old_id.
        carrying("012345678", "", "1985-03-07"),
        // A death date before the birth.
        Case {
            death: "1980-01-01",
            ..case("001085012345", AN, "1985-03-07", "Nam", &[])
        },
    ];
    let f = findings_of(&cases);
    assert!(f[0].is_empty() && f[1].is_empty(), "{f:?}");
    assert_eq!(
        f[2],
        vec![("cmnd.format".into(), "old_id".into(), "".into())]
    );
    assert_eq!(
        f[3],
        vec![("cmnd.format".into(), "old_id".into(), "".into())]
    );
    let mut f4 = f[4].clone();
    f4.sort();
    assert_eq!(
        f4,
        vec![
            ("cmnd.mapped".into(), "old_id".into(), "001085012345".into()),
            ("id.missing".into(), "personal_id".into(), "".into())
        ]
    );
    assert_eq!(
        f[5],
        vec![("date.invalid".into(), "death_date".into(), "".into())]
    );
}

/// A CMND that two residents with different personal IDs carry cannot be resolved to either:
/// a record without an ID carrying it is `cmnd.unmapped`, with no suggestion; a CMND one
/// resident carries (twice, under one ID) resolves to that ID.
#[test]
fn a_cmnd_known_under_two_ids_is_not_resolved() {
    let cases = [
        carrying("023456789", "001085012345", "1985-03-07"),
        carrying("023456789", "001085099999", "1985-03-07"),
        carrying("023456789", "", "1985-03-07"),
        carrying("034567890", "001090000001", "1990-01-01"),
        carrying("034567890", "001090000001", "1990-01-01"),
        carrying("034567890", "", "1990-01-01"),
    ];
    let f = findings_of(&cases);
    let cmnd = |row: usize| -> Vec<(String, String, String)> {
        f[row]
            .iter()
            .filter(|x| x.0.starts_with("cmnd."))
            .cloned()
            .collect()
    };
    assert_eq!(
        cmnd(2),
        vec![("cmnd.unmapped".into(), "old_id".into(), "".into())]
    );
    assert_eq!(
        cmnd(5),
        vec![("cmnd.mapped".into(), "old_id".into(), "001090000001".into())]
    );
    assert!(cmnd(0).is_empty() && cmnd(3).is_empty(), "{f:?}");
}

/// The hashed ID index finds exactly the rows a linear scan finds, in row order, for IDs
/// carried once, several times and not at all (many IDs, so probe chains cross each other).
#[test]
fn pid_index_finds_every_row_of_an_id_and_nothing_else() {
    let ids: Vec<String> = (0..5000u64)
        .map(|i| format!("{:012}", 1_085_000_000 + (i * 7919) % 1500))
        .collect();
    let table = Table::from_columns(
        "residents",
        SourceKind::Residents,
        vec![(
            "personal_id".to_string(),
            Arc::new(StringArray::from(
                ids.iter().map(String::as_str).collect::<Vec<_>>(),
            )) as ArrayRef,
        )],
    );
    let prepared = Prepared::new(&table);
    let index = PidIndex::build(&prepared);
    for probe in (1_084_999_990u64..1_085_001_510).step_by(3) {
        let want: Vec<u32> = (0..ids.len() as u32)
            .filter(|&r| ids[r as usize] == format!("{probe:012}"))
            .collect();
        let got: Vec<u32> = index.rows(probe).collect();
        assert_eq!(got, want, "ID {probe}");
    }
}

/// A driver that checks the rows of one key at a time (Spark) runs exactly the whole-source
/// rules some key covers: a new whole-source rule without a key would be silently skipped there.
#[test]
fn every_whole_source_rule_is_keyed() {
    let (_, table) = super::registry();
    for rule in &table {
        assert!(
            super::RuleKey::ALL
                .iter()
                .any(|k| k.rules().contains(&rule.name())),
            "{} is keyed by no RuleKey",
            rule.name()
        );
    }
    for key in super::RuleKey::ALL {
        for name in key.rules() {
            assert!(
                table.iter().any(|r| r.name() == *name),
                "{name} is not a rule"
            );
        }
        assert_eq!(super::RuleKey::from_name(key.name()), Some(key));
    }
}
