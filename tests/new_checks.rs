//! The checks of the provincial reports' issue on crafted rows beside a generated register
//! (so the match model is trained on realistic data): births against the register, people
//! insured where they have no residence registered, very old people no extract has seen.

mod common;

use common::*;

const RESIDENTS: &str = "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code,father_name,mother_name,temp_commune_code,residence_type,household_id,relation_to_head\n\
R1,001325000111,Đặng Minh Khuê,2025-01-10,Nữ,01,00004,Đặng Văn Tùng,Phùng Thị Hạnh,,thường trú,HR1,Chủ hộ\n\
R2,,Lục Văn Phong,2024-11-02,Nam,01,00004,Lục Văn Sinh,Mạc Thị Duyên,,thường trú,HR2,Chủ hộ\n\
R5,001090004455,Âu Văn Thịnh,1990-05-05,Nam,01,00004,,,00008,thường trú,HR5,Chủ hộ\n\
R6,001131007777,Kiều Thị Nụ,1931-01-01,Nữ,01,00004,,,,thường trú,HR6,Chủ hộ\n\
R7,001030008888,Kiều Văn Cừ,1930-02-02,Nam,01,00004,,,,thường trú,HR7,Chủ hộ\n";

const BIRTHS: &str = "record_id,personal_id,full_name,birth_date,sex,father_name,mother_name,commune_code,registration_date\n\
B1,001325000111,Đặng Minh Khuê,2025-01-10,Nữ,Đặng Văn Tùng,Phùng Thị Hằng,00004,2025-01-20\n\
B2,,LỤC VĂN PHONG,2024-11-02,Nam,Lục Văn Sinh,Mạc Thị Duyên,00004,2024-11-20\n\
B3,,Hà Gia Bảo,2025-03-01,Nam,Hà Văn Lực,Tạ Thị Mai,00004,2025-03-15\n\
B4,,Tô Ngọc Diệp,2026-06-01,Nữ,Tô Văn Hào,Mẫn Thị Thu,00004,2026-06-10\n";

// I1 is insured where R5 registered a temporary residence; I3 in a pre-2025 commune that is
// now that same commune; I2 where R5 has no residence at all.
const INSURANCE: &str =
    "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code\n\
I1,001090004455,Âu Văn Thịnh,1990-05-05,Nam,01,00008\n\
I2,001090004455,Au Van Thinh,1990-05-05,Nam,01,00025\n\
I3,001090004455,Âu Văn Thịnh,1990-05-05,Nam,01,00006\n";

const VACCINATION: &str =
    "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code,dose_date\n\
V1,001030008888,Kiều Văn Cừ,1930-02-02,Nam,01,00004,2024-05-01\n";

fn rules_of(f: &[(String, String, String, String)], record: &str) -> Vec<String> {
    let mut v: Vec<String> = f
        .iter()
        .filter(|x| x.0 == record)
        .map(|x| format!("{} {}", x.1, x.2))
        .collect();
    v.sort();
    v
}

#[test]
fn births_residence_and_quiet_elderly_are_found_and_nothing_else() {
    let dir = scratch("new_checks");
    let data = dir.join("data");
    generate(&data, 3_000, 13, &[]);
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let residents = write("them.csv", RESIDENTS);
    let births = write("khai_sinh.csv", BIRTHS);
    let insurance = write("bhxh.csv", INSURANCE);
    let vaccination = write("tiem.csv", VACCINATION);
    let config = write("alive.toml", "[alive]\nprobably_deceased_age = 95\n");
    let inputs = [
        ("residents", data.join("residents.parquet")),
        ("residents", residents),
        ("births", births),
        ("insurance", insurance),
        ("vaccination", vaccination),
    ];
    let inputs: Vec<(&str, &std::path::Path)> =
        inputs.iter().map(|(f, p)| (*f, p.as_path())).collect();
    let out = dir.join("run");
    let o = check(
        &inputs,
        &out,
        &[
            "--as-of",
            "2026-06-30",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let f = findings(&out);
    let of = |r: &str| rules_of(&f, r);
    // A registration whose mother's name differs; forms of one name are not a difference.
    assert_eq!(of("B1"), ["birth.mismatch mother_name"]);
    assert!(
        of("B2").is_empty(),
        "found by name, birth date and parents: {:?}",
        of("B2")
    );
    // Registered long ago, never entered; registered 20 days ago, not due yet.
    assert_eq!(of("B3"), ["birth.no_resident registration_date"]);
    assert!(of("B4").is_empty(), "{:?}", of("B4"));
    // Insured where a temporary residence is registered (also under a pre-2025 code): fine.
    assert!(of("I1").is_empty(), "{:?}", of("I1"));
    assert!(of("I3").is_empty(), "{:?}", of("I3"));
    assert_eq!(of("I2"), ["residence.not_registered commune_code"]);
    let r5: Vec<_> = f.iter().filter(|x| x.0 == "R5").collect();
    assert_eq!(r5.len(), 1, "{r5:?}");
    assert_eq!(
        (r5[0].1.as_str(), r5[0].2.as_str(), r5[0].3.as_str()),
        ("residence.not_registered", "temp_commune_code", "00025")
    );
    // Very old with no event at all; very old with a recent dose.
    assert_eq!(of("R6"), ["alive.probably_deceased birth_date"]);
    assert!(of("R7").is_empty(), "{:?}", of("R7"));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["rule_stats"]["birth.no_resident"]["records_evaluated"],
        4
    );

    // Off by default.
    let plain = dir.join("plain");
    let o = check(&inputs, &plain, &["--as-of", "2026-06-30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let f = findings(&plain);
    assert!(rules_of(&f, "R6").is_empty());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(plain.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["rule_stats"]["alive.probably_deceased"]["records_evaluated"],
        0
    );
}
