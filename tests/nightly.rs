//! Nightly runs: new / open / resolved against the previous run, stable cluster IDs,
//! thresholds that give exit code 3 after every output is written, and the history table.

mod common;

use std::path::Path;

use common::*;

const HEADER: &str = "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code,household_id,relation_to_head\n";

fn night(
    dir: &Path,
    name: &str,
    rows: &[&str],
    previous: Option<&Path>,
    config: Option<&Path>,
) -> (Option<i32>, std::path::PathBuf) {
    let csv = dir.join(format!("{name}.csv"));
    std::fs::write(&csv, format!("{HEADER}{}\n", rows.join("\n"))).unwrap();
    let out = dir.join(name);
    let mut args = vec![
        "check".to_string(),
        "--residents".into(),
        csv.to_str().unwrap().into(),
        "--as-of".into(),
        "2026-06-30".into(),
        "--quiet".into(),
        "--out".into(),
        out.to_str().unwrap().into(),
    ];
    if let Some(p) = previous {
        args.push("--previous".into());
        args.push(p.to_str().unwrap().into());
    }
    if let Some(c) = config {
        args.push("--config".into());
        args.push(c.to_str().unwrap().into());
    }
    let o = bin().args(&args).output().unwrap();
    assert!(
        matches!(o.status.code(), Some(0) | Some(3)),
        "{}",
        stderr(&o)
    );
    (o.status.code(), out)
}

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn second_night_reports_new_open_and_resolved_exactly() {
    let dir = scratch("nightly");
    // Night 1: A has no ID, B an invalid sex, C and D are clean.
    let (code, first) = night(
        &dir,
        "night1",
        &[
            "A,,Nguyễn Văn An,1985-03-07,Nam,01,00004,H1,Chủ hộ",
            "B,001190012346,Trần Thị Bình,1990-05-12,X,01,00004,H2,Chủ hộ",
            "C,001085012347,Lê Văn Cường,1985-01-02,Nam,01,00008,H3,Chủ hộ",
            "D,001085012348,Phạm Văn Dũng,1985-01-03,Nam,01,00008,H4,Chủ hộ",
        ],
        None,
        None,
    );
    assert_eq!(code, Some(0));
    let s1 = summary(&first);
    assert_eq!(s1["rule_stats"]["id.missing"]["new"], 1);
    // Night 2: A got its ID (resolved), B is still wrong (open), C's date is now impossible
    // and D's name is in capitals (new).
    let (code, second) = night(
        &dir,
        "night2",
        &[
            "A,001085012345,Nguyễn Văn An,1985-03-07,Nam,01,00004,H1,Chủ hộ",
            "B,001190012346,Trần Thị Bình,1990-05-12,X,01,00004,H2,Chủ hộ",
            "C,001085012347,Lê Văn Cường,31/02/1985,Nam,01,00008,H3,Chủ hộ",
            "D,001085012348,PHẠM VĂN DŨNG,1985-01-03,Nam,01,00008,H4,Chủ hộ",
        ],
        Some(&first),
        None,
    );
    assert_eq!(code, Some(0));
    let status = rows(
        &second.join("findings.parquet"),
        &["record_id", "rule", "status"],
    );
    let mut got: Vec<(String, String, String)> = status
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("B".into(), "sex.invalid".into(), "open".into()),
            ("C".into(), "date.invalid".into(), "new".into()),
            ("D".into(), "name.unnormalized".into(), "new".into()),
        ]
    );
    let resolved = rows(
        &second.join("resolved.parquet"),
        &["record_id", "rule", "commune_code"],
    );
    assert_eq!(
        resolved,
        vec![vec!["A".to_string(), "id.missing".into(), "00004".into()]]
    );
    let s2 = summary(&second);
    assert_eq!(s2["resolved_total"], 1);
    assert_eq!(s2["rule_stats"]["id.missing"]["resolved"], 1);
    assert_eq!(s2["rule_stats"]["sex.invalid"]["new"], 0);
    assert_eq!(s2["rule_stats"]["date.invalid"]["new"], 1);
    assert_eq!(s2["commune_stats"]["00004"]["resolved"], 1);
    assert_eq!(s2["commune_stats"]["00008"]["new"], 2);
    let ind5 = s2["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "5_cap_nhat_truong_con_thieu")
        .unwrap()
        .clone();
    assert_eq!(
        (ind5["records"].clone(), ind5["resolved"].clone()),
        (0.into(), 1.into())
    );
    // The fix list marks new rows.
    let csv = std::fs::read_to_string(second.join("fixlists/00008.csv")).unwrap();
    assert!(csv.contains("Trạng thái") && csv.contains(",Mới,"), "{csv}");

    // History: the trend over both nights.
    let o = run(&["history", first.to_str().unwrap(), second.to_str().unwrap()]);
    assert!(o.status.success());
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("(5) Cập nhật các trường thông tin còn thiếu"),
        "{table}"
    );
    assert!(
        table.lines().any(|l| l.starts_with("(5)")
            && l.split_whitespace().rev().take(2).collect::<Vec<_>>() == ["0", "1"]),
        "{table}"
    );
}

#[test]
fn a_breached_threshold_exits_3_after_writing_everything() {
    let dir = scratch("threshold");
    let cfg = dir.join("lamsach.toml");
    std::fs::write(&cfg, "[[thresholds]]\nrule = \"sex.invalid\"\nmax_findings = 0\n\n[[thresholds]]\nrule = \"dung\"\nmax_percent = 90\n").unwrap();
    let (code, out) = night(
        &dir,
        "run",
        &[
            "B,001190012346,Trần Thị Bình,1990-05-12,X,01,00004,H2,Chủ hộ",
            "C,001085012347,Lê Văn Cường,1985-01-02,Nam,01,00008,H3,Chủ hộ",
        ],
        None,
        Some(&cfg),
    );
    assert_eq!(code, Some(3));
    for f in [
        "findings.parquet",
        "duplicates.parquet",
        "clusters.parquet",
        "links.parquet",
        "resolved.parquet",
        "summary.json",
        "report.html",
    ] {
        assert!(out.join(f).exists(), "{f} written before exit 3");
    }
    let s = summary(&out);
    let breached = s["thresholds_breached"].as_array().unwrap();
    assert_eq!(breached.len(), 1, "{breached:?}");
    assert!(breached[0]
        .as_str()
        .unwrap()
        .starts_with("sex.invalid: 1 findings"));
}

#[test]
fn unchanged_duplicate_clusters_keep_their_ids() {
    let dir = scratch("stable_clusters");
    let data = dir.join("data");
    generate(&data, 5_000, 9, &[]);
    let first = dir.join("first");
    assert!(check_generated(&data, &first, &[]).status.success());
    let second = dir.join("second");
    let o = check_generated(&data, &second, &["--previous", first.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let a = rows(
        &first.join("clusters.parquet"),
        &["record_id", "cluster_id"],
    );
    let b = rows(
        &second.join("clusters.parquet"),
        &["record_id", "cluster_id"],
    );
    assert!(!a.is_empty());
    let mut a = a;
    let mut b = b;
    a.sort();
    b.sort();
    assert_eq!(a, b);
    // Nothing changed: every finding is open, nothing resolved.
    let status = rows(&second.join("findings.parquet"), &["status"]);
    assert!(status.iter().all(|s| s[0] == "open"));
    assert_eq!(summary(&second)["resolved_total"], 0);
}

/// Write a residents file with some sex cells changed: (row, new value).
fn rewrite_sex(src: &Path, dst: &Path, changes: &[(usize, &str)]) {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use std::sync::Arc;
    let t = lamsach::read::read_plain(src, "residents").unwrap();
    let sex = t.col("sex");
    let mut values: Vec<String> = (0..t.len()).map(|r| sex.raw(r).to_string()).collect();
    for (r, v) in changes {
        values[*r] = v.to_string();
    }
    let idx = t.batch.schema().index_of("sex").unwrap();
    let mut cols: Vec<ArrayRef> = t.batch.columns().to_vec();
    cols[idx] = Arc::new(StringArray::from(values));
    // The file's other columns are written as read (some held as dictionaries); sex as text.
    let mut fields: Vec<arrow_schema::Field> = t
        .batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields[idx] = arrow_schema::Field::new("sex", arrow_schema::DataType::Utf8, true);
    let schema = Arc::new(arrow_schema::Schema::new(fields));
    let batch = RecordBatch::try_new(schema, cols).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(dst).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn generated_nights_with_defects_fixed_and_added() {
    let dir = scratch("nightly_generated");
    let data = dir.join("data");
    generate(&data, 20_000, 21, &["--error-rate", "0.03"]);
    let residents = data.join("residents.parquet");
    let run1 = dir.join("run1");
    let run = |input: &Path, out: &Path, previous: Option<&Path>| {
        let mut inputs = vec![("residents", input)];
        inputs.extend(previous.map(|p| ("previous", p)));
        let o = check(&inputs, out, &["--as-of", "2026-01-01"]);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    run(&residents, &run1, None);
    let f1 = rows(&run1.join("findings.parquet"), &["record_id", "rule"]);
    let in_pairs: std::collections::HashSet<String> = rows(
        &run1.join("duplicates.parquet"),
        &["record_id_a", "record_id_b"],
    )
    .into_iter()
    .flatten()
    .collect();
    let t = lamsach::read::read_plain(&residents, "residents").unwrap();
    let (rid, pid) = (t.col("record_id"), t.col("personal_id"));
    let flagged: std::collections::HashSet<&str> = f1.iter().map(|r| r[0].as_str()).collect();
    let mut changes: Vec<(usize, &str)> = Vec::new();
    let mut fixed = 0;
    for r in 0..t.len() {
        let id = rid.get(r);
        let rules: Vec<&str> = f1
            .iter()
            .filter(|f| f[0] == id)
            .map(|f| f[1].as_str())
            .collect();
        // Fix: an invalid sex whose only finding it is, on a record with a well-formed ID.
        let p = pid.get(r);
        if rules == ["sex.invalid"]
            && p.len() == 12
            && p.bytes().all(|b| b.is_ascii_digit())
            && !in_pairs.contains(id)
            && fixed < 15
        {
            let female = (p.as_bytes()[3] - b'0') % 2 == 1;
            changes.push((r, if female { "Nữ" } else { "Nam" }));
            fixed += 1;
        }
    }
    // Add: ten clean records get an invalid sex.
    let added: Vec<usize> = (0..t.len())
        .filter(|&r| !flagged.contains(rid.get(r)) && !in_pairs.contains(rid.get(r)))
        .take(10)
        .collect();
    for &r in &added {
        changes.push((r, "Khác"));
    }
    assert!(fixed >= 5, "enough sex defects to fix: {fixed}");
    let night2 = dir.join("residents2.parquet");
    rewrite_sex(&residents, &night2, &changes);
    let run2 = dir.join("run2");
    run(&night2, &run2, Some(&run1));
    let s = summary(&run2);
    assert_eq!(s["rule_stats"]["sex.invalid"]["new"], 10);
    assert_eq!(s["rule_stats"]["sex.invalid"]["resolved"], fixed);
    assert_eq!(s["resolved_total"], fixed);
    let status = rows(&run2.join("findings.parquet"), &["status"]);
    let new = status.iter().filter(|r| r[0] == "new").count();
    assert_eq!(new, 10, "only the added defects are new");
    assert_eq!(
        status.len(),
        f1.len() - fixed + 10,
        "everything else is still open"
    );
}

/// A source left out of tonight's run (its file was not delivered) resolves none of its
/// findings: only a source checked again and found clean does.
#[test]
fn a_source_left_out_resolves_nothing() {
    let dir = scratch("nightly_missing_source");
    let residents = dir.join("dan_cu.csv");
    std::fs::write(
        &residents,
        format!("{HEADER}A,001085012347,Lê Văn Cường,1985-01-02,Nam,01,00008,H3,Chủ hộ\n"),
    )
    .unwrap();
    let vaccination = dir.join("tiem.csv");
    std::fs::write(
        &vaccination,
        "record_id,personal_id,full_name,birth_date,dose_date\nV1,0912345678,Lê Văn Cường,1985-01-02,2021-08-01\n",
    )
    .unwrap();
    let first = dir.join("night1");
    let o = check(
        &[("residents", &residents), ("vaccination", &vaccination)],
        &first,
        &["--as-of", "2026-06-30"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(summary(&first)["findings_per_source"]["vaccination"]
        .as_object()
        .is_some_and(|m| !m.is_empty()));
    let second = dir.join("night2");
    let o = check(
        &[("residents", &residents)],
        &second,
        &[
            "--as-of",
            "2026-06-30",
            "--previous",
            first.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(summary(&second)["resolved_total"], 0);
}
