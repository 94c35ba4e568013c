//! Linking extract rows without a usable ID to residents, on crafted rows beside a generated
//! register (so the match model is trained on realistic data): a row is linked to the one
//! person it fits, through whichever of that person's records carries an ID, and gets no
//! link when two people fit it.

mod common;

use common::*;

/// Crafted residents (CSV text) beside a generated register of 3 000 people (so the match
/// model is trained on realistic data) and one crafted extract (`flag`, CSV text), checked as
/// of 2026-01-01: the run's directory and its links as (record_id, resident_record_id,
/// personal_id).
fn check_crafted(
    name: &str,
    residents: &str,
    (flag, extract): (&str, &str),
) -> (std::path::PathBuf, Vec<Vec<String>>) {
    let dir = scratch(name);
    let data = dir.join("data");
    generate(&data, 3_000, 11, &[]);
    let them = dir.join("them.csv");
    std::fs::write(&them, residents).unwrap();
    let rows_file = dir.join(format!("{flag}.csv"));
    std::fs::write(&rows_file, extract).unwrap();
    let out = dir.join("run");
    let o = check(
        &[
            ("residents", &data.join("residents.parquet")),
            ("residents", &them),
            (flag, &rows_file),
        ],
        &out,
        &["--as-of", "2026-01-01"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let links = rows(
        &out.join("links.parquet"),
        &["record_id", "resident_record_id", "personal_id"],
    );
    (out, links)
}

#[test]
fn rows_are_linked_only_to_the_one_person_they_fit() {
    // XA1 and XA2: a man and a woman of one (unisex) name born the same day, two people.
    // XB1 and XB2: one man registered twice, once without an ID and once with the day and
    // month swapped. XC1: a man no one else resembles. XD1 and XD2: a man and a woman of
    // one name born the same day, neither with an ID.
    let (out, links) = check_crafted(
        "linking",
        "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code,father_name,mother_name\n\
         XA1,001087004321,Khúc Minh Anh,1987-04-15,Nam,01,00004,Khúc Văn Hải,Đỗ Thị Lan\n\
         XA2,001187009876,Khúc Minh Anh,1987-04-15,Nữ,01,00004,Khúc Đình Toàn,Vũ Thị Hằng\n\
         XB1,,Lò Văn Thắng,1979-03-11,Nam,01,00004,Lò Văn Pấng,Lường Thị Xuân\n\
         XB2,001079005555,Lò Văn Thắng,1979-11-03,Nam,01,00004,Lò Văn Pấng,Lường Thị Xuân\n\
         XC1,001092001234,Hứa Minh Khôi,1992-08-21,Nam,01,00004,Hứa Văn Nam,Lý Thị Hoa\n\
         XD1,,Khúc Minh Châu,1990-02-03,Nam,01,00004,Khúc Văn Bình,Đỗ Thị Hoa\n\
         XD2,,Khúc Minh Châu,1990-02-03,Nữ,01,00004,Khúc Đình Toàn,Vũ Thị Hằng\n",
        (
            "vaccination",
            "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code\n\
         V1,,Khuc Minh Anh,1987-04-15,,01,00004\n\
         V2,,Lo Van Thang,1979-03-11,Nam,01,00004\n\
         V3,0987654321,Hua Minh Khoi,1992-08-21,Nam,01,00004\n\
         V4,,Khuc Minh Chau,1990-02-03,,01,00004\n",
        ),
    );
    let pairs = rows(
        &out.join("duplicates.parquet"),
        &["record_id_a", "record_id_b"],
    );
    let crafted: Vec<&Vec<String>> = pairs.iter().filter(|p| p[0].starts_with('X')).collect();
    assert_eq!(crafted, [&vec!["XB1".to_string(), "XB2".to_string()]]);
    // A phone number in the ID field, a name typed without diacritics: linked to the one
    // resident it fits, whose ID is the suggested fix.
    assert!(
        links.contains(&vec!["V3".into(), "XC1".into(), "001092001234".into()]),
        "{links:?}"
    );
    // No sex on the row, and a man and a woman of that name born that day: no guess.
    assert!(!links.iter().any(|l| l[0] == "V1"), "{links:?}");
    // It fits the record without an ID; that person's other record carries the ID to suggest.
    assert!(
        links.contains(&vec!["V2".into(), "XB2".into(), "001079005555".into()]),
        "{links:?}"
    );
    let f = findings(&out);
    assert!(f.contains(&(
        "V3".into(),
        "link.suggested".into(),
        "personal_id".into(),
        "001092001234".into()
    )));
    assert!(!has(&f, "V1", "link.suggested"));
    // V1 fits two people with IDs: the officer is asked which. V4 fits two people without
    // any: no ID could come of verifying it, so it is not on the list.
    assert!(has(&f, "V1", "link.ambiguous"));
    assert!(!has(&f, "V4", "link.ambiguous") && !has(&f, "V4", "link.suggested"));
    // The summary says what linking measured and did.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["linking"]["vaccination"]["rows_to_link"], 4);
    assert_eq!(summary["linking"]["vaccination"]["linked"], 2);
}

/// A row whose ID is another resident's: a child vaccinated under the mother's ID is linked
/// to the child; a row carrying its own ID with a typo in the name stays with the ID's
/// resident, not relinked to a namesake born the same day in the same commune.
#[test]
fn a_row_with_its_own_id_and_a_typo_is_not_given_a_namesake() {
    let (out, links) = check_crafted(
        "linking_owner",
        "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code,father_name,mother_name\n\
         YM1,001160001111,Khúc Thị Lan,1960-05-02,Nữ,01,00004,Khúc Văn Tỉnh,Đỗ Thị Mận\n\
         YC1,001215002222,Khúc Minh Đức,2015-09-10,Nam,01,00004,Vi Văn Sáng,Khúc Thị Lan\n\
         YN1,001092003333,Lò Văn Long,1992-01-28,Nam,01,00004,Lò Văn Pấng,Lường Thị Xuân\n\
         YN2,001092004444,Lò Văn Long,1992-01-28,Nam,01,00004,Lò Văn Ún,Cầm Thị Bích\n",
        (
            "vaccination",
            "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code\n\
         W1,001160001111,Khúc Minh Đức,2015-09-10,Nam,01,00004\n\
         W2,001092003333,Lò Văn Lonh,1992-01-28,Nam,01,00004\n",
        ),
    );
    assert!(
        links.contains(&vec!["W1".into(), "YC1".into(), "001215002222".into()]),
        "{links:?}"
    );
    assert!(!links.iter().any(|l| l[0] == "W2"), "{links:?}");
    let f = findings(&out);
    assert!(has(&f, "W2", "xref.mismatch"), "the typo is still reported");
    assert!(!has(&f, "W2", "link.suggested") && !has(&f, "W2", "link.ambiguous"));
}

/// A row whose name parts are written in another order (the given name first, as systems
/// built for western names write it) and registered in another commune, with no usable ID:
/// linked to the resident by the name's syllables and the birth date, and not to a man with
/// the same syllables born another day.
#[test]
fn a_row_with_the_name_in_another_order_is_linked() {
    let (_, links) = check_crafted(
        "linking_order",
        "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code\n\
         ZR1,001088007777,Hứa Minh Khôi,1988-10-23,Nam,01,00004\n\
         ZR2,001071008888,Hứa Minh Khôi,1971-02-14,Nam,01,00004\n",
        (
            "insurance",
            "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code\n\
         ZI1,,Khôi Minh Hứa,1988-10-23,Nam,01,00007\n",
        ),
    );
    assert!(
        links.contains(&vec!["ZI1".into(), "ZR1".into(), "001088007777".into()]),
        "{links:?}"
    );
    assert!(!links.iter().any(|l| l[1] == "ZR2"), "{links:?}");
}
