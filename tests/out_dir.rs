//! The output directory holds one run's files: a new run removes what an earlier run wrote
//! and it did not, two runs never write into one directory at once, and an `--out` that is a
//! file is refused before any work.

mod common;

use common::*;

const CSV: &str = "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code\n\
A1,001085012345,Nguyễn Văn An,1985-03-07,Nam,01,00004\n\
A2,12345,Trần Thị Bích,1990-01-02,Nữ,01,00004\n";

fn check_csv(residents: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    run(&[
        "check",
        "--residents",
        residents.to_str().unwrap(),
        "--as-of",
        "2026-06-30",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn a_new_run_leaves_no_file_of_an_older_run() {
    let dir = scratch("out_dir_stale");
    let data = dir.join("data");
    generate(&data, 2_000, 3, &[]);
    let out = dir.join("out");
    assert!(check_generated(&data, &out, &[]).status.success());
    let before = std::fs::read_dir(out.join("fixlists")).unwrap().count();
    assert!(before > 10, "{before} fix lists");
    std::fs::write(out.join("ghi_chu_cua_toi.txt"), "của người dùng").unwrap();
    // The commune officers' notes and returned lists kept beside the fix lists are theirs.
    std::fs::write(out.join("fixlists/ghi_chu.txt"), "đã gọi xã").unwrap();
    std::fs::create_dir(out.join("fixlists/tra_ve")).unwrap();
    std::fs::write(out.join("fixlists/tra_ve/00004.csv"), "trả về").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let shared = std::fs::Permissions::from_mode(0o750);
        std::fs::set_permissions(out.join("fixlists"), shared).unwrap();
    }

    let small = dir.join("r.csv");
    std::fs::write(&small, CSV).unwrap();
    let o = check_csv(&small, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let lists: Vec<String> = std::fs::read_dir(out.join("fixlists"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    let mut lists = lists;
    lists.sort();
    assert_eq!(
        lists,
        ["00004.csv", "00004.xlsx", "ghi_chu.txt", "tra_ve"],
        "only this run's fix lists, and the user's own files"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("fixlists/tra_ve/00004.csv")).unwrap(),
        "trả về"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("fixlists"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o750,
            "the folder keeps the permissions it was given"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".lamsach-staging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // What the small run has no rows for is gone, the user's own file stays.
    assert!(
        !out.join("links.parquet").exists() || {
            rows(&out.join("links.parquet"), &["record_id"]).is_empty()
        }
    );
    assert!(out.join("ghi_chu_cua_toi.txt").exists());
    let findings = rows(&out.join("findings.parquet"), &["record_id"]);
    assert!(findings.iter().all(|r| r[0] == "A1" || r[0] == "A2"));
}

#[test]
fn a_directory_in_use_by_another_run_is_refused() {
    let dir = scratch("out_dir_lock");
    let small = dir.join("r.csv");
    std::fs::write(&small, CSV).unwrap();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    // A live process holds the lock (this test's own process).
    std::fs::write(
        out.join(".lamsach.lock"),
        format!("{}\n", std::process::id()),
    )
    .unwrap();
    let o = check_csv(&small, &out);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("another lamsach run"), "{}", stderr(&o));
    assert!(!out.join("summary.json").exists());
    // A lock left by a run that died is taken over.
    std::fs::write(out.join(".lamsach.lock"), "4194999\n").unwrap();
    let o = check_csv(&small, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("summary.json").exists());
    assert!(!out.join(".lamsach.lock").exists(), "the lock is released");
}

#[test]
fn an_out_that_is_a_file_is_refused_first() {
    let dir = scratch("out_dir_file");
    let small = dir.join("r.csv");
    std::fs::write(&small, CSV).unwrap();
    let out = dir.join("out.txt");
    std::fs::write(&out, "x").unwrap();
    let o = check_csv(&small, &out);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is a file"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "x");
}

/// Degenerate input: thousands of records carrying one ID are one finding each, not one per
/// pair, and records too many to compare are said to be so.
#[test]
fn an_id_carried_by_thousands_is_one_finding_per_record() {
    let dir = scratch("crowded_id");
    let mut csv =
        String::from("record_id,personal_id,full_name,birth_date,sex,province_code,commune_code\n");
    let given = ["An", "Bình", "Cường", "Dũng", "Hà", "Lan", "Minh", "Nam"];
    for i in 0..3_000 {
        csv.push_str(&format!(
            "S{i},001085012345,Nguyễn Văn {} ,19{}-0{}-1{},Nam,01,00004\n",
            given[i % 8],
            50 + i % 50,
            1 + i % 9,
            i % 10
        ));
    }
    // And 5 000 records identical in everything but record_id.
    for i in 0..5_000 {
        csv.push_str(&format!(
            "T{i},079090001234,Trần Thị Mai,1990-05-05,Nữ,01,00004\n"
        ));
    }
    let p = dir.join("r.csv");
    std::fs::write(&p, csv).unwrap();
    let out = dir.join("out");
    let o = check_csv(&p, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let shared: Vec<Vec<String>> = rows(&out.join("findings.parquet"), &["rule", "note"])
        .into_iter()
        .filter(|r| r[0] == "id.shared")
        .collect();
    assert_eq!(shared.len(), 8_000, "one per record");
    assert!(shared.iter().any(|r| r[1].contains("5000 bản ghi")));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert!(
        summary["warnings"]
            .to_string()
            .contains("were not compared"),
        "{}",
        summary["warnings"]
    );
    // The national driver reports them the same way.
    let national = dir.join("dedup");
    let o = run(&[
        "dedup",
        "--quiet",
        "--residents",
        p.to_str().unwrap(),
        "--out",
        national.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let shared: Vec<Vec<String>> = rows(&national.join("findings.parquet"), &["rule", "note"])
        .into_iter()
        .filter(|r| r[0] == "id.shared")
        .collect();
    assert_eq!(shared.len(), 8_000, "one per record, in dedup too");
    assert!(shared.iter().any(|r| r[1].contains("3000 bản ghi")));
}
