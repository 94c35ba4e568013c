//! A fuzz harness over the review loop: fix lists come back from the communes edited by hand
//! (any cell changed, rows left out or repeated, a column deleted, verdicts typed in any case,
//! without diacritics or as nonsense, saved as CSV or XLSX). The next night on the same data
//! must either run, withdrawing only findings that a returned row names with a verdict, or
//! refuse the file with one plain sentence naming it, exit code 2, and none of its cells.
//! Never a panic, and never a finding appearing or vanishing on its own. For longer,
//! `PROPTEST_CASES=500 cargo test --release --test fuzz_verdicts`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

/// The first night over a generated province, run once: its residents, its output directory,
/// and its fix lists' headers and rows.
struct Night {
    residents: PathBuf,
    out: PathBuf,
    headers: Vec<String>,
    listed: Vec<Vec<String>>,
}

fn first_night() -> &'static Night {
    static NIGHT: OnceLock<Night> = OnceLock::new();
    NIGHT.get_or_init(|| {
        let dir = scratch("fuzz_verdicts_night1");
        let data = dir.join("data");
        generate(&data, 2_000, 23, &["--noise", "registers"]);
        let residents = data.join("residents.parquet");
        let out = dir.join("night1");
        let o = check(
            &[("residents", &residents)],
            &out,
            &["--as-of", "2026-01-01"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let (headers, listed) = fix_list_rows(&out);
        assert!(listed.len() > 100, "{} rows listed", listed.len());
        Night {
            residents,
            out,
            headers,
            listed,
        }
    })
}

/// What an officer types in the verdict column, and what a spreadsheet does to cells.
fn typed() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("Không phải lỗi".to_string()),
        2 => Just("Không trùng".to_string()),
        1 => Just("KHÔNG PHẢI LỖI".to_string()),
        1 => Just("khong trung ".to_string()),
        1 => Just("Đã sửa".to_string()),
        1 => Just("Cần xác minh thêm".to_string()),
        1 => Just(String::new()),
        1 => Just("x".to_string()),
        1 => Just("#N/A".to_string()),
        1 => Just("=A1".to_string()),
        1 => Just("\t\u{7}".to_string()),
        1 => "\\PC{0,20}",
    ]
}

/// One returned row: the index of a first-night row, its verdict, and (column, text) edits.
type Pick = (usize, String, Vec<(usize, String)>);

/// A returned list: rows picked from the first night's (by index, repeats allowed), each
/// with a verdict and up to three cells overwritten; perhaps a column deleted; CSV or XLSX.
#[derive(Debug, Clone)]
struct Returned {
    picks: Vec<Pick>,
    drop_column: Option<usize>,
    xlsx: bool,
}

fn returned() -> impl Strategy<Value = Returned> {
    (
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                typed(),
                prop::collection::vec((any::<prop::sample::Index>(), typed()), 0..3),
            ),
            0..40,
        ),
        prop_oneof![6 => Just(None), 1 => any::<prop::sample::Index>().prop_map(Some)],
        any::<bool>(),
    )
        .prop_map(|(picks, drop, xlsx)| {
            let night = first_night();
            let (n, w) = (night.listed.len(), night.headers.len());
            Returned {
                picks: picks
                    .into_iter()
                    .map(|(i, v, edits)| {
                        let edits = edits.into_iter().map(|(c, t)| (c.index(w), t)).collect();
                        (i.index(n), v, edits)
                    })
                    .collect(),
                drop_column: drop.map(|c| c.index(w)),
                xlsx,
            }
        })
}

fn write(path: &Path, headers: &[String], rows: &[Vec<String>], xlsx: bool) {
    if xlsx {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in headers.iter().enumerate() {
            ws.write(0, c as u16, h.as_str()).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write(r as u32 + 1, c as u16, v.as_str()).unwrap();
            }
        }
        wb.save(path).unwrap();
    } else {
        write_csv(path, headers, rows);
    }
}

fn assert_sound(ret: &Returned) {
    let night = first_night();
    let col = |h: &str| night.headers.iter().position(|x| x == h).unwrap();
    let (rid, rule, related, verdict, name) = (
        col("Mã bản ghi"),
        col("Quy tắc"),
        col("Bản ghi liên quan"),
        col("Kết quả xác minh"),
        col("Họ và tên"),
    );
    let mut rows: Vec<Vec<String>> = ret
        .picks
        .iter()
        .map(|(i, v, edits)| {
            let mut row = night.listed[*i].clone();
            row[verdict] = v.clone();
            for (c, t) in edits {
                row[*c] = t.clone();
            }
            row
        })
        .collect();
    let mut headers = night.headers.clone();
    let named: Vec<Vec<String>> = rows.clone();
    if let Some(c) = ret.drop_column {
        headers.remove(c);
        for r in &mut rows {
            r.remove(c);
        }
    }
    let dir = scratch("fuzz_verdicts");
    let file = dir.join(if ret.xlsx {
        "tra_ve.xlsx"
    } else {
        "tra_ve.csv"
    });
    write(&file, &headers, &rows, ret.xlsx);
    let out = dir.join("night2");
    let o = check(
        &[("residents", &night.residents)],
        &out,
        &[
            "--as-of",
            "2026-01-01",
            "--previous",
            night.out.to_str().unwrap(),
            "--verdicts",
            file.to_str().unwrap(),
        ],
    );
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "a panic: {err}");
    // The returned names (the generated ones, not what a case typed over them).
    for r in &named {
        let n = &r[name];
        if n.chars().count() >= 6 && night.listed.iter().any(|l| &l[name] == n) {
            assert!(
                !err.contains(n.as_str()),
                "a name in what the run printed: {err}"
            );
        }
    }
    match o.status.code() {
        Some(0) => {}
        Some(2) => {
            assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
            assert!(err.contains("tra_ve"), "names the file: {err}");
            return;
        }
        code => panic!("exit code {code:?}: {err}"),
    }
    let (before, after) = (finding_keys(&night.out), finding_keys(&out));
    let new: Vec<&Key> = after.difference(&before).collect();
    assert!(
        new.is_empty(),
        "findings appeared on the same data: {new:?}"
    );
    // A row names a record (and for a pair the other record, "source record_id" in its
    // column) and a rule; only findings so named by a row with a verdict may go.
    let answered: Vec<(&str, &str, &str)> = named
        .iter()
        .filter(|r| !r[verdict].trim().is_empty())
        .map(|r| {
            let other = r[related].rsplit(' ').next().unwrap_or("");
            (r[rid].trim(), r[rule].trim(), other.trim())
        })
        .collect();
    for k in before.difference(&after) {
        let named_by_a_row = answered.iter().any(|&(id, rule, other)| {
            rule == k.2
                && (id == k.1 || (!other.is_empty() && other == k.1))
                && (k.3.is_empty() || id == k.3 || other == k.3)
        });
        assert!(
            named_by_a_row,
            "{k:?} withdrawn, though no returned row names it"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn returned_fix_lists_edited_by_hand_withdraw_only_what_they_name(ret in returned()) {
        assert_sound(&ret);
    }
}
