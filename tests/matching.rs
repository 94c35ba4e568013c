//! Matching on data it was not built on (one test per point of the matching issue): training
//! without identifiers, malformed IDs as evidence, namesakes kept apart, large clusters, a
//! saved model reused from night to night, and the second noise profile. Blocking that
//! survives any one damaged field and the comparison levels for damaged data are unit tests
//! of src/matching/blocking.rs and comparisons.rs.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

/// Whether a run's summary holds a warning saying `text`.
fn warns(summary: &serde_json::Value, text: &str) -> bool {
    summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains(text))
}

fn eval_json(run: &Path, truth: &Path) -> serde_json::Value {
    let o = run_args(&[
        "eval",
        "--run",
        run.to_str().unwrap(),
        "--truth",
        truth.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&std::fs::read(run.join("eval.json")).unwrap()).unwrap()
}

fn run_args(args: &[&str]) -> std::process::Output {
    run(args)
}

fn pairs(dir: &Path) -> BTreeSet<(String, String)> {
    rows(
        &dir.join("duplicates.parquet"),
        &["record_id_a", "record_id_b"],
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect()
}

/// Each generated record's person (truth/entities.parquet).
fn entities(data: &Path) -> std::collections::HashMap<String, String> {
    rows(
        &data.join("truth/entities.parquet"),
        &["record_id", "entity_id"],
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect()
}

fn review(dir: &Path) -> Vec<Vec<String>> {
    rows(
        &dir.join("review.parquet"),
        &["rule", "record_id_a", "record_id_b", "reason"],
    )
}

/// Point 1: A register without any ID trains on its candidate pairs, says so, and finds its
/// duplicates; a register with nothing to train on says the model could not be trained.
#[test]
fn training_without_identifiers() {
    let dir = scratch("match_train");
    let data = dir.join("data");
    generate(&data, 20_000, 3, &["--without-ids"]);
    let out = dir.join("run");
    let o = check(
        &[("residents", &data.join("residents.parquet"))],
        &out,
        &["--as-of", "2026-01-01"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = summary(&out);
    let t = &s["duplicates"]["training"];
    assert_eq!(t["method"], "candidate_pairs", "{t}");
    for round in ["birth_date", "family+given"] {
        assert!(t["rounds"][round]["pairs"].as_u64().unwrap() > 1000, "{t}");
        assert!(
            t["rounds"][round]["match_share"].as_f64().unwrap() > 0.0,
            "{t}"
        );
    }
    let f1 = eval_json(&out, &data)["duplicates"]["f1"].as_f64().unwrap();
    assert!(f1 > 0.93, "duplicates found without IDs: F1 {f1}");
    // Few pairs agreeing on name and birth date name other parents here: no namesake rule.
    let model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    let share = model["namesake_share"].as_f64().unwrap();
    assert!(share < 0.1, "namesake share {share}");

    let tiny = dir.join("tiny.csv");
    std::fs::write(
        &tiny,
        "record_id,full_name,birth_date,sex,province_code,commune_code\n\
         1,Lê Văn An,1985-03-07,Nam,01,00004\n2,Trần Thị Bình,1990-01-02,Nữ,01,00004\n",
    )
    .unwrap();
    let out = dir.join("tiny");
    let o = check(&[("residents", &tiny)], &out, &["--as-of", "2026-01-01"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = summary(&out);
    assert_eq!(s["duplicates"]["training"]["method"], "none");
    assert!(warns(&s, "could not be trained"), "{}", s["warnings"]);
}

/// The crafted rows below beside a generated register (so the model trains on realistic data).
fn with_register(name: &str, residents: &str, vaccination: Option<&str>) -> std::path::PathBuf {
    let dir = scratch(name);
    let data = dir.join("data");
    generate(&data, 5_000, 11, &[]);
    let crafted = dir.join("crafted.csv");
    std::fs::write(&crafted, residents).unwrap();
    let out = dir.join("run");
    let vac = dir.join("vaccination.csv");
    let reg = data.join("residents.parquet");
    let mut inputs: Vec<(&str, &Path)> = vec![("residents", &reg), ("residents", &crafted)];
    if let Some(v) = vaccination {
        std::fs::write(&vac, v).unwrap();
        inputs.push(("vaccination", &vac));
    }
    let o = check(&inputs, &out, &["--as-of", "2026-01-01"]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

const HEADER: &str =
    "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code,father_name,mother_name\n";

/// Point 4: An ID typed wrong — a digit lost, two digits swapped, a letter O for a zero — is
/// evidence: the row is linked to the resident whose ID it is one keystroke from, and a
/// resident's own mistyped ID makes a duplicate of the record holding the valid one. A row
/// whose well-formed ID belongs to nobody and is not one keystroke from its namesake's is not
/// linked to the namesake.
#[test]
fn ids_typed_wrong_are_evidence() {
    let residents = format!(
        "{HEADER}\
         XA,001185012345,Khổng Thị Hoa,1985-03-07,Nữ,01,00004,,\n\
         XB1,001090054321,Phạm Văn Khải,1990-05-04,Nam,01,00004,,\n\
         XB2,00109005432,Pham Van Khai,,Nam,01,00118,,\n"
    );
    let vaccination = "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code\n\
         V1,00118501234,Khổng Thị Hoa,1985-03-07,Nữ,01,00004\n\
         V2,001185012354,Khong Thi Hoa,1985-03-07,Nữ,01,00004\n\
         V3,0O1185012345,Khổng Thị Hoa,1985-03-07,Nữ,01,00004\n\
         V4,001185777777,Khổng Thị Hoa,1985-03-07,Nữ,01,00004\n";
    let out = with_register("match_typed", &residents, Some(vaccination));
    let links = rows(
        &out.join("links.parquet"),
        &["record_id", "resident_record_id", "personal_id"],
    );
    for v in ["V1", "V2", "V3"] {
        assert!(
            links.contains(&vec![v.into(), "XA".into(), "001185012345".into()]),
            "{v}: {links:?}"
        );
    }
    assert!(!links.iter().any(|l| l[0] == "V4"), "{links:?}");
    let f = findings(&out);
    assert!(f.contains(&(
        "V1".into(),
        "link.suggested".into(),
        "personal_id".into(),
        "001185012345".into()
    )));
    let dups = rows(
        &out.join("duplicates.parquet"),
        &["record_id_a", "record_id_b", "levels"],
    );
    let b = dups
        .iter()
        .find(|d| d[0] == "XB1" && d[1] == "XB2")
        .expect("XB1/XB2 paired");
    assert!(b[2].contains("id_typo=within_one_edit"), "{}", b[2]);
}

/// Point 5: Namesakes stay apart: a common name and a birth date with two valid IDs and different
/// parents are two people (review, never a duplicate); with parents on one side only, the
/// pair goes to review; a rare name with a reissued ID is one person; a son named after his
/// father, in the father's household, is not the father.
#[test]
fn namesakes_stay_apart() {
    let residents = format!(
        "{HEADER}\
         N1,001080011111,Nguyễn Văn Hùng,1980-02-03,Nam,01,00004,Nguyễn Văn Bình,Trần Thị Lan\n\
         N2,001080022222,Nguyễn Văn Hùng,1980-02-03,Nam,01,00004,Nguyễn Văn Tâm,Lê Thị Hoa\n\
         N3,001181033333,Nguyễn Thị Hương,1981-04-05,Nữ,01,00004,Nguyễn Văn Sơn,Phạm Thị Mai\n\
         N4,001181044444,Nguyễn Thị Hương,1981-04-05,Nữ,01,00004,,\n\
         R1,001075055555,Khổng Thừa Dụ,1975-07-08,Nam,01,00004,,\n\
         R2,001075066666,Khổng Thừa Dụ,1975-07-08,Nam,01,00127,,\n\
         F1,,Thạch Văn Khởi,,Nam,01,00004,Thạch Văn Rết,Kim Thị Sa\n\
         F2,,Thạch Văn Khởi,1998-09-21,Nam,01,00004,Thạch Văn Khởi,Sơn Thị Phol\n"
    );
    let out = with_register("match_namesakes", &residents, None);
    let p = pairs(&out);
    assert!(!p.contains(&("N1".into(), "N2".into())), "{p:?}");
    assert!(!p.contains(&("N3".into(), "N4".into())), "{p:?}");
    assert!(
        p.contains(&("R1".into(), "R2".into())),
        "a rare name with a second ID: {p:?}"
    );
    let r = review(&out);
    let reason = |a: &str, b: &str| {
        r.iter()
            .find(|x| x[1] == a && x[2] == b)
            .map(|x| (x[0].clone(), x[3].clone()))
    };
    assert_eq!(
        reason("N1", "N2"),
        Some(("dup.possible".into(), "contradictions".into()))
    );
    assert_eq!(
        reason("N3", "N4"),
        Some(("dup.possible".into(), "common_name_other_id".into()))
    );
    let f = findings(&out);
    assert!(has(&f, "N4", "dup.possible") && !has(&f, "N4", "dup.in_province"));
    assert!(
        !has(&f, "F1", "dup.possible") && !has(&f, "F1", "dup.in_province"),
        "a father and his namesake son: {f:?}"
    );
}

/// Point 5, the other side: a common name and a birth date with two valid IDs and no parents
/// go to review, unless the two records, in two households, give the same address: namesakes
/// born the same day do not live at one address.
#[test]
fn namesakes_at_one_address_are_one_person() {
    let residents = "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code,household_id,address\n\
         A1,001181055555,Nguyễn Thị Hương,1981-04-05,Nữ,01,00004,HX1,\"Số 12, ngõ 5, phố Huế\"\n\
         A2,001181066666,Nguyễn Thị Hương,1981-04-05,Nữ,01,00004,HX2,\"Số 12, ngõ 5, phố Huế\"\n\
         B1,001181077777,Nguyễn Thị Hương,1981-04-05,Nữ,01,00004,HX3,\"Số 40, phố Hàng Bông\"\n\
         B2,001181088888,Nguyễn Thị Hương,1981-04-05,Nữ,01,00004,HX4,\"Số 7, phố Lò Đúc\"\n";
    let out = with_register("match_address", residents, None);
    let p = pairs(&out);
    assert!(p.contains(&("A1".into(), "A2".into())), "{p:?}");
    assert!(!p.contains(&("B1".into(), "B2".into())), "{p:?}");
    let r = review(&out);
    assert!(
        r.iter()
            .any(|x| x[1] == "B1" && x[2] == "B2" && x[3] == "common_name_other_id"),
        "{r:?}"
    );
}

/// Point 5, in clusters: two namesakes (one name, one birth date, one commune, no IDs), each
/// registered four times, twice naming their parents (other parents for each) and twice
/// naming none. The records naming no parent are as alike to one person's as to the other's,
/// yet no cluster holds both families: the pairs that would join them are held for review
/// (`parents_differ` between records naming other parents, `families_differ` between a
/// record naming none and a family it cannot be placed in).
#[test]
fn namesakes_with_many_records_stay_two_families() {
    let mut residents = String::from(HEADER);
    for (person, father, mother) in [
        ("A", "Nguyễn Văn Bình", "Trần Thị Lan"),
        ("B", "Lê Văn Tám", "Phạm Thị Hoa"),
    ] {
        for k in 1..=4 {
            let (f, m) = if k <= 2 { (father, mother) } else { ("", "") };
            residents.push_str(&format!(
                "{person}{k},,Nguyễn Văn Hùng,1980-05-05,Nam,01,00004,{f},{m}\n"
            ));
        }
    }
    let out = with_register("match_families", &residents, None);
    let family = |id: &str| match id {
        "A1" | "A2" => Some('A'),
        "B1" | "B2" => Some('B'),
        _ => None,
    };
    let clusters = rows(&out.join("clusters.parquet"), &["record_id", "cluster_id"]);
    let mut of: std::collections::HashMap<String, Vec<char>> = Default::default();
    for c in &clusters {
        if let Some(f) = family(&c[0]) {
            of.entry(c[1].clone()).or_default().push(f);
        }
    }
    for (cluster, families) in &of {
        assert!(
            families.iter().all(|f| *f == families[0]),
            "cluster {cluster} holds two families: {families:?}"
        );
    }
    assert!(of.len() >= 2, "each family is a cluster: {clusters:?}");
    let p = pairs(&out);
    for (a, b) in &p {
        if let (Some(x), Some(y)) = (family(a), family(b)) {
            assert_eq!(x, y, "{a} and {b} reported as one person");
        }
    }
    let r = review(&out);
    let reasons: BTreeSet<&str> = r
        .iter()
        .filter(|x| x[1].len() == 2 && x[2].len() == 2)
        .map(|x| x[3].as_str())
        .collect();
    assert!(
        reasons.contains("parents_differ") && reasons.contains("families_differ"),
        "{r:?}"
    );
}

/// Point 6: One person registered in every source a register was merged from: twelve strongly
/// linked records are one cluster.
#[test]
fn a_person_with_many_records_is_one_cluster() {
    let mut residents = String::from(HEADER);
    let names = [
        "Đào Thị Ngọc Ánh",
        "Dao Thi Ngoc Anh",
        "Đào Thị Ngọc Ánh",
        "ĐÀO THỊ NGỌC ÁNH",
    ];
    for i in 0..12 {
        let id = if i % 3 == 2 { "" } else { "001179098765" };
        let date = if i % 4 == 3 { "1979" } else { "1979-06-15" };
        residents.push_str(&format!(
            "M{i:02},{id},{},{date},Nữ,01,{:05},Đào Văn Khiêm,Lý Thị Sen\n",
            names[i % 4],
            4 + i * 3
        ));
    }
    let out = with_register("match_cluster", &residents, None);
    let members = rows(
        &out.join("clusters.parquet"),
        &["record_id", "cluster_id", "keep"],
    );
    let mine: Vec<&Vec<String>> = members.iter().filter(|m| m[0].starts_with('M')).collect();
    assert_eq!(mine.len(), 12, "{mine:?}");
    let ids: BTreeSet<&str> = mine.iter().map(|m| m[1].as_str()).collect();
    assert_eq!(ids.len(), 1, "one cluster: {mine:?}");
    assert_eq!(mine.iter().filter(|m| m[2] == "true").count(), 1);

    // 66 pairs, 132 findings; the fix lists carry one decision per record: keep this one
    // (once), or delete it and keep that one.
    let f = findings(&out);
    let dup_findings = f
        .iter()
        .filter(|x| x.0.starts_with('M') && x.1 == "dup.in_province")
        .count();
    assert!(dup_findings > 24, "{dup_findings}");
    let mut rows_of: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(out.join("fixlists")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            let text = std::fs::read_to_string(&path).unwrap();
            rows_of.extend(
                text.lines()
                    .filter(|l| l.starts_with("Dân cư,M") && l.contains("dup.in_province"))
                    .map(str::to_string),
            );
        }
    }
    assert_eq!(rows_of.len(), 12, "{rows_of:#?}");
    let kept = rows_of
        .iter()
        .filter(|l| l.contains(",Giữ bản ghi này,"))
        .count();
    assert_eq!(kept, 1, "{rows_of:#?}");
    assert!(
        rows_of
            .iter()
            .any(|l| l.contains("đề nghị xóa 11 bản ghi trùng của cùng người")),
        "{rows_of:#?}"
    );
}

/// Point 5 without IDs: namesakes born the same day in one commune agree on every field but
/// the parents. Training on candidate pairs must not learn "one person's parents often
/// differ" from them, and a pair naming other parents goes to review, not to the duplicates.
#[test]
fn namesakes_without_ids_go_to_review() {
    let dir = scratch("match_namesakes_noids");
    let data = dir.join("data");
    generate(&data, 20_000, 3, &["--noise", "registers", "--without-ids"]);
    let out = dir.join("run");
    let o = check(
        &[("residents", &data.join("residents.parquet"))],
        &out,
        &["--as-of", "2026-01-01"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let entity = entities(&data);
    let parents_differ: Vec<Vec<String>> = review(&out)
        .into_iter()
        .filter(|r| r[3] == "parents_differ")
        .collect();
    let two_people = parents_differ
        .iter()
        .filter(|r| entity[&r[1]] != entity[&r[2]])
        .count();
    assert!(
        parents_differ.len() >= 30 && two_people * 10 >= parents_differ.len() * 9,
        "{two_people} of {} pairs naming other parents are two people",
        parents_differ.len()
    );
    // Ethnicity and religion are a person's own: namesakes who disagree on them are seldom
    // reported (about half of all namesake pairs disagree on one; without these comparisons,
    // so did about half of the namesakes reported), while one person's records that disagree
    // on one (a clerk's default "Kinh", a religion declared again) still are.
    let attrs: std::collections::HashMap<String, (String, String)> = rows(
        &data.join("residents.parquet"),
        &["record_id", "ethnicity", "religion"],
    )
    .into_iter()
    .map(|r| (r[0].clone(), (r[1].clone(), r[2].clone())))
    .collect();
    let differ = |a: &str, b: &str| !a.is_empty() && !b.is_empty() && a != b;
    let (mut two_people, mut two_people_differ, mut two_people_both) = (0, 0, 0);
    let mut one_person_one = 0;
    for (a, b) in pairs(&out) {
        let ((ea, ra), (eb, rb)) = (&attrs[&a], &attrs[&b]);
        let (e, r) = (differ(ea, eb), differ(ra, rb));
        if entity[&a] != entity[&b] {
            two_people += 1;
            two_people_differ += (e || r) as usize;
            two_people_both += (e && r) as usize;
        } else if e != r {
            one_person_one += 1;
        }
    }
    assert!(
        two_people_differ * 10 < two_people * 4 && two_people_both <= 2,
        "{two_people_differ} of {two_people} namesake pairs reported disagree on ethnicity or religion, {two_people_both} on both"
    );
    assert!(one_person_one >= 5, "{one_person_one}");
    // Most pairs agreeing on name and birth date are namesakes here wherever parents can be
    // compared; the run measures that and holds back the pairs where one record names no
    // parent and nothing else tells them apart: most of them are two people.
    let model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    let share = model["namesake_share"].as_f64().unwrap();
    assert!(share > 0.5, "namesake share {share}");
    let said = &summary(&out)["duplicates"]["training"]["namesake_share"];
    assert!((said.as_f64().unwrap() - share).abs() < 1e-5, "{said}");
    let held: Vec<Vec<String>> = review(&out)
        .into_iter()
        .filter(|r| r[3] == "common_name_no_evidence")
        .collect();
    let two_people = held
        .iter()
        .filter(|r| entity[&r[1]] != entity[&r[2]])
        .count();
    assert!(
        held.len() >= 30 && two_people * 3 >= held.len() * 2,
        "{two_people} of {} pairs resting on name and date alone are two people",
        held.len()
    );
    let d = &eval_json(&out, &data)["duplicates"];
    assert!(
        d["precision"].as_f64().unwrap() > 0.9 && d["f1"].as_f64().unwrap() > 0.84,
        "{d}"
    );
}

/// Point 7: Every run saves its model; a later run reuses it (--model, or --previous unless
/// --retrain), untouched records keep their decisions from one night to the next, and a
/// retrained model says how far it moved. A file that is not a model is refused.
#[test]
fn a_saved_model_is_reused_and_nights_are_stable() {
    let dir = scratch("match_model");
    let data = dir.join("data");
    generate(&data, 20_000, 5, &["--noise", "registers"]);
    let res = data.join("residents.parquet");
    let n1 = dir.join("night1");
    let o = check(&[("residents", &res)], &n1, &["--as-of", "2026-01-01"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        lamsach::matching::saved::ModelFile::read(&n1.join("model.json"))
            .unwrap()
            .model()
            .is_ok()
    );
    // Night 2: the same register with 200 records of other people added.
    let extra = dir.join("new.csv");
    let mut csv = String::from(HEADER);
    for i in 0..200 {
        csv.push_str(&format!(
            "NEW{i:04},0011{:02}{:06},Hoàng Minh Thư {i},19{:02}-01-02,Nữ,01,00004,,\n",
            i % 90,
            700_000 + i,
            i % 90
        ));
    }
    std::fs::write(&extra, csv).unwrap();
    let n2 = dir.join("night2");
    let args = ["--as-of", "2026-01-02", "--previous", n1.to_str().unwrap()];
    let o = check(&[("residents", &res), ("residents", &extra)], &n2, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = &summary(&n2)["duplicates"]["training"];
    assert_eq!(t["method"], "reused", "{t}");
    assert!(t["reused_from"].as_str().unwrap().ends_with("model.json"));
    let untouched = |d: &Path| -> BTreeSet<(String, String)> {
        pairs(d)
            .into_iter()
            .filter(|(a, b)| !a.starts_with("NEW") && !b.starts_with("NEW"))
            .collect()
    };
    assert_eq!(
        pairs(&n1),
        untouched(&n2),
        "untouched records keep their decisions"
    );
    // --retrain: a new model, and how far it moved from the previous one.
    let n3 = dir.join("night3");
    let args = [
        "--as-of",
        "2026-01-02",
        "--previous",
        n1.to_str().unwrap(),
        "--retrain",
    ];
    let o = check(&[("residents", &res), ("residents", &extra)], &n3, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = &summary(&n3)["duplicates"]["training"];
    assert_ne!(t["method"], "reused");
    assert!(
        t["change_from_previous"]["largest_weight_change_bits"]
            .as_f64()
            .is_some(),
        "{t}"
    );
    // --model FILE.
    let n4 = dir.join("night4");
    let m = n1.join("model.json");
    let o = check(
        &[("residents", &res)],
        &n4,
        &["--as-of", "2026-01-01", "--model", m.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(summary(&n4)["duplicates"]["training"]["method"], "reused");
    assert_eq!(pairs(&n1), pairs(&n4));
    // A previous run whose model was saved by a version comparing birth dates at other levels
    // (before 1 January had a level of its own): the night estimates a new model and says why.
    let old = dir.join("night1_old_version");
    std::fs::create_dir_all(&old).unwrap();
    for e in std::fs::read_dir(&n1).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), old.join(e.file_name())).unwrap();
        }
    }
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(old.join("model.json")).unwrap()).unwrap();
    let birth = saved["fields"]["birth"].as_object_mut().unwrap();
    let levels = birth["levels"].as_array().unwrap().clone();
    let at = levels
        .iter()
        .position(|l| l == "january_first_same_year")
        .unwrap();
    for values in birth.values_mut() {
        if let Some(a) = values.as_array_mut().filter(|a| a.len() == levels.len()) {
            a.remove(at);
        }
    }
    std::fs::write(old.join("model.json"), saved.to_string()).unwrap();
    let n6 = dir.join("night6");
    let args = ["--as-of", "2026-01-02", "--previous", old.to_str().unwrap()];
    let o = check(&[("residents", &res)], &n6, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let s6 = summary(&n6);
    assert_ne!(s6["duplicates"]["training"]["method"], "reused");
    assert!(
        warns(&s6, "model.json was not reused"),
        "{}",
        s6["warnings"]
    );
    assert_eq!(pairs(&n1), pairs(&n6), "the same register, the same pairs");
    // The distributed driver's step says the same in the training's warning (unless asked to
    // retrain); a readable previous model gives how far the new one moved instead.
    let (model, trained) = lamsach::dedup::parts::reuse(
        Some(&n1.join("model.json")),
        false,
        None,
        20_000,
        &Default::default(),
    )
    .unwrap()
    .unwrap();
    let warned = |previous: &Path, retrain: bool| -> serde_json::Value {
        let t = lamsach::dedup::parts::model_change(&trained, &model, previous, retrain).unwrap();
        serde_json::from_str(&t).unwrap()
    };
    let w = warned(&old, false);
    assert!(
        w["warning"]
            .as_str()
            .is_some_and(|w| w.contains("model.json was not reused")),
        "{w}"
    );
    assert!(
        warned(&old, true)["warning"].is_null(),
        "retrain asked for it"
    );
    let moved = warned(&n1, false);
    assert!(moved["warning"].is_null(), "{moved}");
    assert!(
        moved["training"]["change_from_previous"].is_object(),
        "{moved}"
    );
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"format\": 1}").unwrap();
    let o = check(
        &[("residents", &res)],
        &dir.join("n5"),
        &["--model", bad.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a lamsach model.json"),
        "{}",
        stderr(&o)
    );
}

/// Point 8: The second noise profile damages every field, is deterministic, and the matcher holds on
/// it: duplicates and links against the truth.
#[test]
fn the_registers_profile() {
    let dir = scratch("match_registers");
    let (a, b) = (dir.join("a"), dir.join("b"));
    generate(&a, 20_000, 9, &["--noise", "registers", "--threads", "1"]);
    generate(&b, 20_000, 9, &["--noise", "registers", "--threads", "2"]);
    for f in [
        "residents.parquet",
        "vaccination.parquet",
        "truth/defects.parquet",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    let r = rows(
        &a.join("residents.parquet"),
        &["personal_id", "full_name", "birth_date"],
    );
    let year_only = r.iter().filter(|x| x[2].len() == 4).count();
    let typed = r
        .iter()
        .filter(|x| matches!(x[0].len(), 11 | 13) || x[0].contains('O'))
        .count();
    let plain = r
        .iter()
        .filter(|x| !x[1].is_empty() && x[1].is_ascii())
        .count();
    assert!(
        year_only > 20 && typed > 5 && plain > 20,
        "{year_only} {typed} {plain}"
    );
    let out = dir.join("run");
    let o = check_generated(&a, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = eval_json(&out, &a);
    let dup = e["duplicates"]["f1"].as_f64().unwrap();
    let links = &e["links"];
    assert!(dup > 0.93, "duplicates F1 {dup}");
    assert!(
        links["recall"].as_f64().unwrap() > 0.97 && links["precision"].as_f64().unwrap() > 0.97,
        "{links}"
    );
}

/// Point 6, pairs: one person's records are all paired with each other in
/// duplicates.parquet. C1 and C4 are one person (C1 shares its ID with C2, C2 and C3 are one
/// record twice, C4 is C3 without diacritics or a full date), but C1 carries a family name
/// C4 does not and C4 only a year: no pass proposed them together. Their pair is listed as
/// implied by the cluster, with the weakest link joining them and their own comparison.
#[test]
fn every_pair_of_a_cluster_is_listed() {
    let residents = format!(
        "{HEADER}C1,001179098765,Đào Thị Ngọc Ánh,1979-06-15,Nữ,01,00004,Đào Văn Khiêm,Lý Thị Sen
C2,001179098765,Trần Thị Ngọc Ánh,1979-06-15,Nữ,01,00031,,
C3,,Trần Thị Ngọc Ánh,1979-06-15,Nữ,01,00031,,
C4,,Tran Thi Ngoc Anh,1979,Nữ,01,00037,,
"
    );
    let out = with_register("match_implied", &residents, None);
    let listed: Vec<Vec<String>> = rows(
        &out.join("duplicates.parquet"),
        &[
            "record_id_a",
            "record_id_b",
            "probability",
            "cluster_id",
            "levels",
            "evidence",
        ],
    )
    .into_iter()
    .filter(|p| p[0].starts_with('C'))
    .collect();
    let keys: Vec<(&str, &str)> = listed.iter().map(|p| (&*p[0], &*p[1])).collect();
    assert_eq!(
        keys,
        [
            ("C1", "C2"),
            ("C1", "C3"),
            ("C1", "C4"),
            ("C2", "C3"),
            ("C2", "C4"),
            ("C3", "C4")
        ],
        "{listed:#?}"
    );
    assert!(listed.iter().all(|p| p[3] == listed[0][3]), "one cluster");
    let c1c4 = &listed[2];
    assert_eq!(c1c4[5], "cluster", "{c1c4:?}");
    assert!(listed.iter().filter(|p| p[5] == "compared").count() == 5);
    // The weakest link on the strongest path C1 - C2 - C4.
    assert_eq!(c1c4[2], listed[4][2], "{listed:#?}");
    assert!(c1c4[4].contains("family=different"), "{c1c4:?}");
    let notes = rows(
        &out.join("findings.parquet"),
        &["record_id", "rule", "related_record_id", "note"],
    );
    assert!(
        notes.iter().any(|f| f[0] == "C4"
            && f[1] == "dup.in_province"
            && f[2] == "C1"
            && f[3].contains("qua các bản ghi trùng khác")),
        "C4's finding says how it is C1's duplicate"
    );
    let implied = summary(&out)["duplicates"]["pairs_from_clusters"]
        .as_u64()
        .unwrap();
    assert!(implied >= 1, "summary.json counts the implied pairs");
}

/// A register that records hometowns (quê quán), written as clerks write them (with or
/// without "Xã", "Huyện", "Tỉnh", a few left blank): fewer namesakes from other hometowns
/// are reported (a hometown elsewhere in the province weighs about -4 bits, against about +8
/// for one full name and birth date), and no pair of one person is lost. The same register
/// without the column is the baseline.
#[test]
fn hometowns_keep_namesakes_apart() {
    let dir = scratch("match_hometown");
    let data = dir.join("data");
    generate(&data, 20_000, 3, &["--noise", "registers", "--without-ids"]);
    let entity = entities(&data);
    let cols = [
        "record_id",
        "full_name",
        "birth_date",
        "sex",
        "province_code",
        "commune_code",
        "household_id",
        "relation_to_head",
        "address",
        "father_name",
        "mother_name",
    ];
    let residents = rows(&data.join("residents.parquet"), &cols);
    let communes = [
        "An Thành",
        "Bình Minh",
        "Đông Hưng",
        "Hòa Bình",
        "Tân Phong",
        "Quỳnh Lâm",
        "Vũ Lạc",
        "Thụy Anh",
        "Nam Cường",
        "Trà Giang",
        "Minh Khai",
        "Phú Xuân",
    ];
    let districts = ["Quỳnh Phụ", "Kiến Xương", "Tiền Hải"];
    let write = |path: &Path, hometown: bool| {
        let mut w = csv::Writer::from_path(path).unwrap();
        let mut header: Vec<&str> = cols.to_vec();
        if hometown {
            header.push("hometown");
        }
        w.write_record(&header).unwrap();
        for (i, r) in residents.iter().enumerate() {
            let mut rec = r.clone();
            if hometown {
                let h = lamsach::core::hash::h64(&entity[&r[0]]) as usize;
                let (c, d) = (communes[h % 12], districts[h / 12 % 3]);
                rec.push(match i % 20 {
                    0 => String::new(),
                    1..=9 => format!("Xã {c}, Huyện {d}, Tỉnh Thái Bình"),
                    _ => format!("{c} - {d} - Thái Bình"),
                });
            }
            w.write_record(&rec).unwrap();
        }
        w.flush().unwrap();
    };
    let judged = |with: bool| {
        let csv = dir.join(format!("residents-{with}.csv"));
        write(&csv, with);
        let out = dir.join(format!("run-{with}"));
        let o = check(&[("residents", &csv)], &out, &["--as-of", "2026-01-01"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (mut one, mut two) = (0, 0);
        for (a, b) in pairs(&out) {
            if entity[&a] == entity[&b] {
                one += 1;
            } else {
                two += 1;
            }
        }
        (one, two)
    };
    let (one_without, two_without) = judged(false);
    let (one_with, two_with) = judged(true);
    assert!(
        two_with * 5 <= two_without * 4 && one_with * 100 >= one_without * 99,
        "namesakes reported {two_without} -> {two_with}, one person's pairs {one_without} -> {one_with}"
    );
}
