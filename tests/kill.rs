//! A run killed half-way leaves the previous outputs or none — never a half-written file
//! under a final name — and the next run cleans up after it.

mod common;

use std::time::Duration;

use common::*;

fn complete(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for name in [
        "findings.parquet",
        "duplicates.parquet",
        "clusters.parquet",
        "links.parquet",
        "summary.json",
        "report.html",
    ] {
        let p = dir.join(name);
        if p.exists() {
            files.push((name.to_string(), std::fs::read(&p).unwrap()));
        }
    }
    files
}

#[test]
fn a_killed_run_leaves_previous_outputs_or_none() {
    let dir = scratch("kill");
    let data = dir.join("data");
    generate(&data, 150_000, 4, &[]);
    let out = dir.join("run");
    let p = |f: &str| data.join(f).to_str().unwrap().to_string();
    let args = |as_of: &str| {
        vec![
            "check".to_string(),
            "--residents".into(),
            p("residents.parquet"),
            "--vaccination".into(),
            p("vaccination.parquet"),
            "--insurance".into(),
            p("insurance.parquet"),
            "--as-of".into(),
            as_of.to_string(),
            "--quiet".into(),
            "--out".into(),
            out.to_str().unwrap().to_string(),
        ]
    };
    let o = bin().args(args("2026-01-01")).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let previous = complete(&out);
    assert_eq!(previous.len(), 6);

    for delay_ms in [50u64, 200, 500, 900, 1400] {
        let mut child = bin().args(args("2126-01-01")).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // Each final file is the previous run's, or a complete one of the killed run.
        for (name, bytes) in complete(&out) {
            let old = previous.iter().find(|(n, _)| *n == name).map(|(_, b)| b);
            if old != Some(&bytes) {
                let path = out.join(&name);
                if name.ends_with(".parquet") {
                    assert!(
                        lamsach::read::read_plain(&path, "check").is_ok(),
                        "{name} after a kill at {delay_ms} ms is readable"
                    );
                } else if name.ends_with(".json") {
                    assert!(
                        serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(),
                        "{name} complete"
                    );
                }
            }
        }
    }
    // The next run succeeds and removes what killed runs left in their staging folders.
    let o = bin().args(args("2026-01-01")).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".lamsach-staging")
        })
        .collect();
    assert!(leftovers.is_empty());
    // Same inputs and --as-of, same Parquet bytes (summary.json and report.html carry timings).
    for ((name, now), (_, before)) in complete(&out).iter().zip(&previous) {
        if name.ends_with(".parquet") {
            assert!(now == before, "{name} differs from the first run");
        }
    }
}
