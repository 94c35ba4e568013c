//! generate → check → eval on a small province: every injected defect class appears, the
//! generator is deterministic, outputs do not depend on the thread count, and the rules find
//! what was injected.

mod common;

use std::collections::BTreeSet;

use common::*;

fn files_equal(a: &std::path::Path, b: &std::path::Path, name: &str) {
    let (x, y) = (
        std::fs::read(a.join(name)).unwrap(),
        std::fs::read(b.join(name)).unwrap(),
    );
    assert!(
        x == y,
        "{name} differs between {} and {}",
        a.display(),
        b.display()
    );
}

#[test]
fn generator_is_deterministic_whatever_the_thread_count() {
    let dir = scratch("gen_det");
    let (a, b) = (dir.join("a"), dir.join("b"));
    generate(&a, 30_000, 7, &["--threads", "1"]);
    generate(&b, 30_000, 7, &["--threads", "2"]);
    for f in [
        "residents.parquet",
        "vaccination.parquet",
        "insurance.parquet",
        "cmnd_map.parquet",
        "deaths.parquet",
        "births.parquet",
        "truth/entities.parquet",
        "truth/defects.parquet",
    ] {
        files_equal(&a, &b, f);
    }
    let c = dir.join("c");
    generate(&c, 30_000, 8, &[]);
    let x = std::fs::read(a.join("residents.parquet")).unwrap();
    let y = std::fs::read(c.join("residents.parquet")).unwrap();
    assert_ne!(x, y, "another seed gives another population");
}

#[test]
fn every_defect_class_is_injected() {
    let dir = scratch("gen_classes");
    generate(&dir, 20_000, 3, &["--error-rate", "0.05"]);
    let defects = rows(&dir.join("truth/defects.parquet"), &["rule"]);
    let rules: BTreeSet<String> = defects.into_iter().map(|r| r[0].clone()).collect();
    // Review findings (dup.possible, link.ambiguous) are doubts, not defects to inject.
    for rule in lamsach::core::Rule::ALL.iter().filter(|r| !r.is_review()) {
        assert!(
            rules.contains(rule.code()),
            "no {} defect injected",
            rule.code()
        );
    }
    // Twins share a household and a birth date but never a given name.
    let res = rows(
        &dir.join("residents.parquet"),
        &[
            "household_id",
            "birth_date",
            "full_name",
            "relation_to_head",
        ],
    );
    let mut seen = std::collections::HashMap::new();
    let mut twins = 0;
    for r in res.iter().filter(|r| r[3] == "Con") {
        if let Some(other) = seen.insert((r[0].clone(), r[1].clone()), r[2].clone()) {
            twins += 1;
            assert_ne!(other, r[2], "twins with one name");
        }
    }
    assert!(twins > 10, "some twins: {twins}");
}

#[test]
fn check_finds_what_was_injected_and_is_deterministic() {
    let dir = scratch("e2e");
    let data = dir.join("data");
    generate(&data, 20_000, 11, &[]);
    let (one, two, four) = (dir.join("run1"), dir.join("run2"), dir.join("run4"));
    // A budget far below the run's need: the input columns are held on disk, memory-mapped.
    let on_disk = dir.join("run-on-disk");
    for (out, extra) in [
        (&one, &["--threads", "1"][..]),
        (&two, &["--threads", "2"]),
        (&four, &["--threads", "4"]),
        (&on_disk, &["--threads", "2", "--memory-gb", "0.001"]),
    ] {
        let o = check_generated(&data, out, extra);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    for f in [
        "findings.parquet",
        "duplicates.parquet",
        "clusters.parquet",
        "links.parquet",
        "resolved.parquet",
    ] {
        files_equal(&one, &two, f);
        files_equal(&one, &four, f);
        files_equal(&one, &on_disk, f);
    }
    for f in std::fs::read_dir(one.join("fixlists")).unwrap().flatten() {
        let name = format!("fixlists/{}", f.file_name().to_string_lossy());
        files_equal(&one, &four, &name);
        files_equal(&one, &on_disk, &name);
    }
    // The scratch files of the inputs held on disk are gone: the run wrote what the others did.
    let listing = |d: &std::path::Path| -> BTreeSet<String> {
        std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(listing(&on_disk), listing(&one));
    // Every finding points at a record of its source.
    let mut ids: std::collections::HashSet<(String, String)> = std::collections::HashSet::new();
    for (source, file) in [
        ("residents", "residents.parquet"),
        ("vaccination", "vaccination.parquet"),
        ("insurance", "insurance.parquet"),
        ("births", "births.parquet"),
    ] {
        for r in rows(&data.join(file), &["record_id"]) {
            ids.insert((source.to_string(), r[0].clone()));
        }
    }
    for f in rows(&one.join("findings.parquet"), &["source", "record_id"]) {
        assert!(
            ids.contains(&(f[0].clone(), f[1].clone())),
            "finding on an unknown record {f:?}"
        );
    }
    let o = run(&[
        "eval",
        "--run",
        one.to_str().unwrap(),
        "--truth",
        data.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(one.join("eval.json")).unwrap()).unwrap();
    // The rules of the rules issue: precision and recall ≥ 0.97 at this scale.
    for rule in [
        "id.format",
        "id.phone_number",
        "id.old_cmnd",
        "id.province_code",
        "id.century_sex",
        "id.birth_year",
        "id.missing",
        "cmnd.format",
        "cmnd.mapped",
        "cmnd.unmapped",
        "date.invalid",
        "sex.invalid",
        "field.missing",
        "name.unnormalized",
        "household.no_head",
        "household.multiple_heads",
        "xref.not_found",
        "xref.mismatch",
        "alive.deceased_active",
        "alive.event_after_death",
        "alive.linked_deceased",
        "insurance.code_format",
        "insurance.card_format",
        "insurance.card_object_age",
        "insurance.code_shared",
        "insurance.multiple_codes",
        "name.invalid_chars",
        "residence.not_registered",
        "birth.no_resident",
        "birth.mismatch",
    ] {
        let s = &report["rules"][rule];
        let (p, r) = (
            s["precision"].as_f64().unwrap_or(0.0),
            s["recall"].as_f64().unwrap_or(0.0),
        );
        assert!(p >= 0.97 && r >= 0.97, "{rule}: precision {p}, recall {r}");
    }
    // Matching: duplicates, shared IDs and links.
    let dup = &report["duplicates"];
    assert!(
        dup["f1"].as_f64().unwrap() >= 0.95,
        "duplicate pairs: {dup}"
    );
    assert_eq!(
        report["twin_pairs_reported"], 0,
        "no twin pair is a duplicate"
    );
    let links = &report["links"];
    assert!(
        links["precision"].as_f64().unwrap() >= 0.97 && links["recall"].as_f64().unwrap() >= 0.9,
        "links: {links}"
    );
    for rule in [
        "dup.in_province",
        "dup.out_of_province",
        "id.shared",
        "link.suggested",
    ] {
        let f1 = report["rules"][rule]["f1"].as_f64().unwrap_or(0.0);
        assert!(f1 >= 0.9, "{rule}: f1 {f1}");
    }
    // Every output row traces back to an input row, and the summary accounts for every row.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(one.join("summary.json")).unwrap()).unwrap();
    // The report's duplicate examples explain their probability: the prior and the fields'
    // weights add up to it.
    let examples = summary["duplicates"]["examples"].as_array().unwrap();
    assert!(!examples.is_empty());
    for e in examples {
        let total = e["prior_weight"].as_f64().unwrap()
            + e["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f[2].as_f64().unwrap())
                .sum::<f64>();
        let implied = 1.0 / (1.0 + (-total).exp2());
        let p = e["probability"].as_f64().unwrap();
        assert!((implied - p).abs() < 0.03, "{e}");
    }
    for (source, acc) in summary["accounting"].as_object().unwrap() {
        let read = acc["rows_read"].as_u64().unwrap();
        let sum = acc["rows_with_findings"].as_u64().unwrap()
            + acc["rows_without_findings"].as_u64().unwrap();
        assert_eq!(read, sum, "{source}");
    }
    // The report's cards say on how many records each group's findings are: a record in
    // several duplicate pairs is one record, so the clean-data group has fewer records than
    // findings, and each group counts the distinct records of findings.parquet.
    let mut on_records: std::collections::BTreeMap<String, BTreeSet<(String, String)>> =
        Default::default();
    for r in rows(
        &one.join("findings.parquet"),
        &["group", "source", "record_id"],
    ) {
        on_records
            .entry(r[0].clone())
            .or_default()
            .insert((r[1].clone(), r[2].clone()));
    }
    for (group, n) in summary["records_per_group"].as_object().unwrap() {
        let want = on_records.get(group).map_or(0, BTreeSet::len);
        assert_eq!(n.as_u64().unwrap() as usize, want, "{group}");
    }
    let (records, findings) = (
        summary["records_per_group"]["sach"].as_u64().unwrap(),
        summary["findings_per_group"]["sach"].as_u64().unwrap(),
    );
    assert!(
        records > 100 && records < findings,
        "sạch: {records} records, {findings} findings"
    );
    // Each commune with findings has its fix list in both formats.
    let communes: BTreeSet<String> = rows(&one.join("findings.parquet"), &["commune_code"])
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    for c in communes.iter().filter(|c| !c.is_empty()) {
        assert!(one.join(format!("fixlists/{c}.csv")).exists(), "{c}.csv");
        assert!(one.join(format!("fixlists/{c}.xlsx")).exists(), "{c}.xlsx");
    }
    let csv = std::fs::read(one.join(format!(
        "fixlists/{}.csv",
        communes.iter().find(|c| !c.is_empty()).unwrap()
    )))
    .unwrap();
    assert!(
        csv.starts_with("\u{feff}Nguồn,Mã bản ghi".as_bytes()),
        "BOM and Vietnamese headers"
    );

    // A person's problems in one commune come together: the rows of one ID (as written) and
    // severity from several sources (the resident, their doses, their insurance card) are
    // consecutive in the commune's list.
    let (mut persons, mut together) = (0, 0);
    for f in std::fs::read_dir(one.join("fixlists")).unwrap().flatten() {
        if f.path().extension().is_none_or(|e| e != "csv") {
            continue;
        }
        let list = rows(&f.path(), &["Nguồn", "Số định danh", "Mức độ"]);
        let mut at: std::collections::BTreeMap<(&str, &str), Vec<(usize, &str)>> =
            Default::default();
        for (i, r) in list.iter().enumerate() {
            if !r[1].is_empty() {
                at.entry((&r[1], &r[2])).or_default().push((i, &r[0]));
            }
        }
        for rows_of in at.values() {
            let sources: BTreeSet<&str> = rows_of.iter().map(|x| x.1).collect();
            if sources.len() > 1 {
                persons += 1;
                let (first, last) = (rows_of[0].0, rows_of[rows_of.len() - 1].0);
                together += usize::from(last - first + 1 == rows_of.len());
            }
        }
    }
    assert!(
        persons > 50 && together * 100 >= persons * 95,
        "{together} of {persons} people with rows from several sources have them together"
    );
}

#[test]
fn province_view_reports_only_what_touches_that_province() {
    let dir = scratch("province_view");
    let data = dir.join("data");
    generate(&data, 5_000, 5, &[]);
    let all = dir.join("all");
    assert!(check_generated(&data, &all, &[]).status.success());
    let codes: BTreeSet<String> = rows(&data.join("residents.parquet"), &["province_code"])
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let code = codes.iter().next().unwrap().clone();
    let one = dir.join("one");
    let o = check_generated(&data, &one, &["--province", &code]);
    assert!(o.status.success(), "{}", stderr(&o));
    let f = rows(
        &one.join("findings.parquet"),
        &["province_code", "related_record_id"],
    );
    assert!(!f.is_empty());
    assert!(
        f.iter().all(|r| r[0] == code || !r[1].is_empty()),
        "only findings in {code} or related to it"
    );
    let total_all = rows(&all.join("findings.parquet"), &["rule"]).len();
    assert!(f.len() < total_all);
}
