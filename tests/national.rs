//! `dedup`, the national deduplication that spills partitions to disk: with a memory budget
//! small enough to force many partitions it finds exactly the pairs, clusters and ID-sharing
//! findings `check` finds in memory; its output does not depend on the thread count; bad
//! input is refused with exit code 2; nothing it spilled is left behind.

mod common;

use std::path::Path;

use common::*;

fn dedup(residents: &[&Path], out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["dedup".to_string()];
    for r in residents {
        args.push("--residents".into());
        args.push(r.to_str().unwrap().into());
    }
    args.extend([
        "--out".into(),
        out.to_str().unwrap().into(),
        "--quiet".into(),
    ]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    run(&args)
}

/// A `--memory-gb` under which a register of `rows` records is matched as one unit of the
/// spill (the features of every record fit, 325 bytes each beside 64 MiB for the program) but
/// not in memory as `check` holds it (380 bytes each and its columns).
fn one_unit_budget(rows: usize) -> String {
    let bytes = (64u64 << 20) + rows as u64 * 360;
    format!("{:.9}", bytes as f64 / 1e9)
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.starts_with(".lamsach-"))
                .collect()
        })
        .unwrap_or_default()
}

const DUP_COLS: &[&str] = &[
    "record_id_a",
    "source_a",
    "record_id_b",
    "source_b",
    "probability",
    "scope",
    "cluster_id",
    "levels",
    "evidence",
];

/// The pairs of duplicates.parquet; a pair its cluster implies carries no levels (`dedup`
/// holds no features when it lists such pairs, `check` compares the two records).
fn dup_pairs(dir: &Path) -> Vec<Vec<String>> {
    let mut v = rows(&dir.join("duplicates.parquet"), DUP_COLS);
    for p in &mut v {
        if p[8] == "cluster" {
            p[7].clear();
        }
    }
    v
}

fn dup_findings(dir: &Path) -> Vec<Vec<String>> {
    let mut v: Vec<Vec<String>> = rows(
        &dir.join("findings.parquet"),
        &["record_id", "rule", "related_record_id", "value", "score"],
    )
    .into_iter()
    .filter(|r| r[1].starts_with("dup.") || r[1] == "id.shared")
    .collect();
    v.sort();
    v
}

#[test]
fn spilled_partitions_find_what_check_finds_in_memory() {
    let dir = scratch("national_equal");
    let data = dir.join("data");
    // The registers profile: dates mistyped or missing and names damaged, so the passes whose
    // keys hold no birth year find pairs across the partitions.
    generate(
        &data,
        30_000,
        11,
        &["--provinces", "4", "--noise", "registers"],
    );
    let residents = data.join("residents.parquet");
    let (c, d) = (dir.join("check"), dir.join("dedup"));
    let o = check(&[("residents", &residents)], &c, &["--as-of", "2026-06-30"]);
    assert!(o.status.success(), "check failed: {}", stderr(&o));
    // 1 MB for the records matched at once: a few thousand records a partition.
    let o = dedup(&[&residents], &d, &["--memory-gb", "0.001"]);
    assert!(o.status.success(), "dedup failed: {}", stderr(&o));

    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("summary.json")).unwrap()).unwrap();
    let units = summary["partitions"]["units"].as_u64().unwrap();
    assert!(
        units >= 5,
        "the budget forces several partitions, got {units}"
    );
    // The pairs across partitions are read back from the spill in runs within the budget.
    let runs = summary["partitions"]["fetch_runs"].as_u64().unwrap();
    assert!(
        runs > 2,
        "the budget splits the pairs across partitions, got {runs} runs"
    );
    let pairs = dup_pairs(&c);
    assert!(pairs.len() > 300, "the generated duplicates are found");
    assert!(
        pairs.iter().any(|p| p[5] == "out_of_province"),
        "some duplicates are registered in another province"
    );
    assert!(
        pairs.iter().any(|p| p[8] == "cluster"),
        "one person's three records are three pairs"
    );
    assert_eq!(pairs, dup_pairs(&d));
    let cl = ["source", "record_id", "cluster_id", "keep"];
    assert_eq!(
        rows(&c.join("clusters.parquet"), &cl),
        rows(&d.join("clusters.parquet"), &cl)
    );
    let (fc, fd) = (dup_findings(&c), dup_findings(&d));
    assert!(fc.iter().any(|f| f[1] == "id.shared"));
    assert_eq!(fc, fd);
    assert_eq!(
        summary["rows_read"]["residents"].as_u64().unwrap() as usize,
        rows(&residents, &["record_id"]).len(),
        "every input row is counted"
    );
    assert!(
        leftovers(&d).is_empty(),
        "spill files left: {:?}",
        leftovers(&d)
    );

    // The same output whatever the thread count, and with the spill elsewhere.
    let spill = dir.join("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let d1 = dir.join("dedup1");
    let o = dedup(
        &[&residents],
        &d1,
        &[
            "--memory-gb",
            "0.001",
            "--threads",
            "1",
            "--spill-dir",
            spill.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "dedup failed: {}", stderr(&o));
    for f in ["duplicates.parquet", "clusters.parquet", "findings.parquet"] {
        assert!(
            std::fs::read(d.join(f)).unwrap() == std::fs::read(d1.join(f)).unwrap(),
            "{f} depends on the thread count"
        );
    }
    assert!(leftovers(&spill).is_empty());

    // Under a budget that holds every record's features, the register is matched as one
    // unit, as planned from its Parquet footer (only the windowed year-free passes' keys
    // spilled); under the default budget it is matched in memory as `check` matches it,
    // nothing spilled. The same answer both ways.
    let n = rows(&residents, &["record_id"]).len();
    for (name, budget, spilled) in [
        ("whole", one_unit_budget(n), true),
        ("memory", String::new(), false),
    ] {
        let w = dir.join(name);
        let extra: Vec<&str> = match budget.is_empty() {
            true => vec![],
            false => vec!["--memory-gb", &budget],
        };
        let o = dedup(&[&residents], &w, &extra);
        assert!(o.status.success(), "dedup failed: {}", stderr(&o));
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(w.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["partitions"]["units"].as_u64(), Some(1), "{name}");
        assert_eq!(
            summary["partitions"]["spilled_bytes"].as_u64().unwrap() > 0,
            spilled,
            "{name}"
        );
        assert_eq!(pairs, dup_pairs(&w), "{name}");
        assert_eq!(
            rows(&c.join("clusters.parquet"), &cl),
            rows(&w.join("clusters.parquet"), &cl),
            "{name}"
        );
        assert_eq!(fc, dup_findings(&w), "{name}");
        assert!(leftovers(&w).is_empty());
    }
    // What dedup writes does not depend on the budget: every column of every pair, a pair
    // its cluster implies without levels whichever way the register was matched.
    let review_cols = [
        "rule",
        "source_a",
        "record_id_a",
        "source_b",
        "record_id_b",
        "probability",
        "scope",
        "levels",
        "reason",
        "note",
    ];
    for (f, cols) in [
        ("duplicates.parquet", DUP_COLS),
        ("review.parquet", &review_cols[..]),
        ("clusters.parquet", &cl[..]),
    ] {
        let all = |dir: &Path| rows(&dir.join(f), cols);
        assert_eq!(
            all(&d),
            all(&dir.join("memory")),
            "{f}: partitions and memory"
        );
        assert_eq!(all(&dir.join("whole")), all(&dir.join("memory")), "{f}");
    }
    // In memory too, the output does not depend on the thread count.
    let w1 = dir.join("memory1");
    let o = dedup(&[&residents], &w1, &["--threads", "1"]);
    assert!(o.status.success(), "dedup failed: {}", stderr(&o));
    for f in ["duplicates.parquet", "clusters.parquet", "findings.parquet"] {
        assert!(
            std::fs::read(dir.join("memory").join(f)).unwrap()
                == std::fs::read(w1.join(f)).unwrap(),
            "{f} depends on the thread count"
        );
    }
}

#[test]
fn bad_input_is_refused_and_nothing_is_left() {
    let dir = scratch("national_bad");
    let a = dir.join("a.csv");
    std::fs::write(
        &a,
        "record_id,full_name,birth_date,sex,province_code,commune_code\n\
         A1,Nguyễn Văn An,1990-01-02,Nam,01,00004\n\
         A2,Trần Thị Bình,1985-03-04,Nữ,01,00004\n",
    )
    .unwrap();
    // Another file repeating a record_id of the first.
    let b = dir.join("b.csv");
    std::fs::write(
        &b,
        "record_id,full_name,birth_date,sex,province_code,commune_code\n\
         B1,Lê Văn Cường,1970-05-06,Nam,79,26734\n\
         A2,Phạm Thị Dung,1999-07-08,Nữ,79,26734\n",
    )
    .unwrap();
    let out = dir.join("out");
    let o = dedup(&[&a, &b], &out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let msg = stderr(&o);
    assert!(msg.contains("record_id is not unique"), "{msg}");
    assert!(msg.contains("a.csv") && msg.contains("b.csv"), "{msg}");
    assert!(
        !msg.contains("A2"),
        "the error must not echo the record_id: {msg}"
    );
    assert!(!out.join("duplicates.parquet").exists());
    assert!(leftovers(&out).is_empty(), "left: {:?}", leftovers(&out));

    // A file without a required column.
    let c = dir.join("c.csv");
    std::fs::write(&c, "record_id,full_name,sex\nC1,Nguyễn Văn An,Nam\n").unwrap();
    let o = dedup(&[&c], &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    let msg = stderr(&o);
    assert!(msg.contains("c.csv") && msg.contains("birth_date"), "{msg}");
    assert!(leftovers(&out).is_empty());

    // Without the repeated record_id the run succeeds and counts every row of both files.
    std::fs::write(
        &b,
        "record_id,full_name,birth_date,sex,province_code,commune_code\n\
         B1,Lê Văn Cường,1970-05-06,Nam,79,26734\n\
         B2,Nguyễn Văn An,1990-01-02,Nam,79,26734\n",
    )
    .unwrap();
    let o = dedup(&[&a, &b], &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rows_read"]["residents"], 4);
    // Two small CSV files, their lines counted before they are read: matched in memory.
    assert_eq!(summary["partitions"]["spilled_bytes"].as_u64(), Some(0));
    assert!(out.join("duplicates.parquet").exists());
    assert!(leftovers(&out).is_empty());
}

/// A large block of a windowed pass whose key holds no birth year (one family and given name
/// born on one day and month, in many years) is compared in one window over the whole
/// register, as `check` compares it, not passed over because it is large: a person registered
/// twice with the year mistyped by one is found by both.
#[test]
fn a_large_windowed_block_across_birth_years_is_compared_as_check_compares_it() {
    let dir = scratch("national_window");
    let data = dir.join("data");
    generate(&data, 3_000, 5, &["--provinces", "2"]);
    let residents = data.join("residents.parquet");
    let places = rows(&residents, &["province_code", "commune_code"]);
    let place = |i: usize| &places[(i * 37) % places.len()];
    // Sixteen men named Trần Văn Phú born on 25 July of sixteen years, each with his own
    // father, mother, commune and household; two of them (a year apart, the same father) are
    // one man registered twice. No other pass holds the two: their dates, mothers, communes
    // and households differ, and a block of sixteen is over the pass's twelve.
    let header = "record_id,personal_id,old_id,full_name,birth_date,sex,province_code,\
commune_code,household_id,relation_to_head,ethnicity,nationality,religion,address,\
father_name,mother_name,death_date,residence_type,temp_commune_code";
    let fathers = [
        "Lê Văn An",
        "Phạm Văn Bình",
        "Trần Văn Minh",
        "Vũ Văn Cường",
        "Trần Văn Minh",
        "Đỗ Văn Dũng",
        "Bùi Văn Giang",
        "Hồ Văn Hải",
        "Ngô Văn Khoa",
        "Dương Văn Lâm",
        "Lý Văn Nam",
        "Đinh Văn Phong",
        "Mai Văn Quang",
        "Tạ Văn Sơn",
        "Cao Văn Tài",
        "Lương Văn Vinh",
    ];
    let mothers = [
        "Nguyễn Thị Hoa",
        "Lê Thị Lan",
        "Phạm Thị Mai",
        "Vũ Thị Nga",
        "Đỗ Thị Oanh",
        "Bùi Thị Phương",
        "Hồ Thị Quyên",
        "Ngô Thị Sen",
        "Dương Thị Thảo",
        "Lý Thị Uyên",
        "Đinh Thị Vân",
        "Mai Thị Xuân",
        "Tạ Thị Yến",
        "Cao Thị Hằng",
        "Lương Thị Hạnh",
        "Hà Thị Hiền",
    ];
    let mut csv = format!("{header}\n");
    for (k, (father, mother)) in fathers.iter().zip(mothers).enumerate() {
        let year = match k {
            2 => 1989,
            4 => 1990,
            _ => 1930 + 3 * k as i32,
        };
        let [province, commune] = [&place(k)[0], &place(k)[1]];
        csv.push_str(&format!(
            "WX{k:04},0{province}0{:02}{:06},,Trần Văn Phú,{year}-07-25,Nam,{province},{commune},\
HWX{k:04},Chủ hộ,Kinh,Việt Nam,Không,Số {k} đường Hoa {k},{father},{mother},,\
thường trú,\n",
            year % 100,
            100_000 + k * 7919
        ));
    }
    let extra = dir.join("extra.csv");
    std::fs::write(&extra, csv).unwrap();

    let (c, d) = (dir.join("check"), dir.join("dedup"));
    let o = check(
        &[("residents", &residents), ("residents", &extra)],
        &c,
        &["--as-of", "2026-06-30"],
    );
    assert!(o.status.success(), "check failed: {}", stderr(&o));
    let o = dedup(&[&residents, &extra], &d, &["--memory-gb", "0.001"]);
    assert!(o.status.success(), "dedup failed: {}", stderr(&o));

    // The man registered twice, WX0002 and WX0004, among a run's duplicate findings.
    let twice = |found: &[Vec<String>]| {
        found
            .iter()
            .any(|f| f[0] == "WX0002" && f[2] == "WX0004" && f[1].starts_with("dup."))
    };
    let found = dup_findings(&c);
    assert!(
        twice(&found),
        "check finds the man registered twice: {:?}",
        found
            .iter()
            .filter(|f| f[0].starts_with("WX"))
            .collect::<Vec<_>>()
    );
    assert_eq!(found, dup_findings(&d));
    assert_eq!(dup_pairs(&c), dup_pairs(&d));

    // The sixteen men as a Parquet file, all but one born in 1989: both files' footers say
    // the register fits the default budget whole, so it is one unit and only the windowed
    // passes' keys are spilled. In the unit, ordered by birth year, fourteen of them stand
    // between the two records of one man (1989 and 1990), beyond the window; in row order
    // they are two apart. The pair is found by the spilled keys' window, as `check` finds it.
    let mut lines: Vec<Vec<String>> = std::fs::read_to_string(&extra)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let born = lines[0].iter().position(|h| h == "birth_date").unwrap();
    for (k, line) in lines[1..].iter_mut().enumerate() {
        if k != 4 {
            line[born] = "1989-07-25".into();
        }
    }
    let extra_pq = dir.join("extra.parquet");
    write_parquet(&extra_pq, &lines[0], &lines[1..]);
    let (c, whole) = (dir.join("check_pq"), dir.join("whole"));
    let o = check(
        &[("residents", &residents), ("residents", &extra_pq)],
        &c,
        &["--as-of", "2026-06-30"],
    );
    assert!(o.status.success(), "check failed: {}", stderr(&o));
    let found = dup_findings(&c);
    assert!(twice(&found), "check finds the man registered twice");
    let n = rows(&residents, &["record_id"]).len() + rows(&extra_pq, &["record_id"]).len();
    let budget = one_unit_budget(n);
    let o = dedup(&[&residents, &extra_pq], &whole, &["--memory-gb", &budget]);
    assert!(o.status.success(), "dedup failed: {}", stderr(&o));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(whole.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["partitions"]["units"].as_u64(), Some(1));
    assert!(summary["partitions"]["spilled_bytes"].as_u64().unwrap() > 0);
    assert_eq!(found, dup_findings(&whole));
    assert_eq!(dup_pairs(&c), dup_pairs(&whole));
}
