//! A fuzz harness over the whole `check`: well-formed files of every source (residents,
//! vaccination, insurance, births, deaths, the CMND crosswalk) whose cells are hostile (empty,
//! blank, control characters, text over a kilobyte, decomposed or legacy-encoded Vietnamese,
//! impossible dates, IDs with letters or full-width digits, one ID on many rows, households
//! with no head or several) run through every rule, the matcher, the links, the fix lists and
//! the report. Each run must end in one of two ways: a clean run whose summary accounts for
//! every row read and whose findings name only the input's records, or a plain input error
//! (exit code 2, one sentence) — never a panic or an internal error, and never a cell value
//! in what the run prints. CI runs a fixed number of cases; for longer,
//! `PROPTEST_CASES=2000 cargo test --release --test fuzz_check`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use proptest::prelude::*;

/// A personal ID the inputs carry: nothing the run prints may contain it.
const SECRET: &str = "079185999888";
/// A name the inputs carry, likewise.
const SECRET_NAME: &str = "Quách Thị Huyền Diệu";

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

/// Text that registers are damaged with, beside ordinary values.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("   ".to_string()),
        Just("\t\u{7}\u{1b}[31m".to_string()),
        Just("NULL".to_string()),
        Just("#N/A".to_string()),
        Just("=1+1".to_string()),
        Just("x".repeat(1500)),
        Just("Nguyễn ".repeat(200)),
        Just("\u{200b}\u{feff}\u{202e}".to_string()),
        Just("\"quoted, with a comma\"\nand a line".to_string()),
        Just("😀 🇻🇳".to_string()),
        Just("Ng\u{1b0}\u{309}\u{323}i".to_string()),
        "\\PC{0,12}",
    ]
}

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(SECRET.to_string()),
        2 => "0[0-9]{11}",
        1 => "[0-9]{9}",
        1 => Just("0912345678".to_string()),
        1 => Just("O79301999888".to_string()),
        1 => Just("０７９３０１９９９８８８".to_string()),
        1 => Just("7.93019998E+10".to_string()),
        1 => Just("079301999888.0".to_string()),
        2 => hostile(),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(SECRET_NAME.to_string()),
        2 => Just("Nguyễn Văn An".to_string()),
        1 => Just("Quách Thị Huyền Diệu".to_uppercase()),
        // Decomposed (NFD) and TCVN3-encoded forms of one name.
        1 => Just("Nguye\u{302}\u{303}n Va\u{306}n An".to_string()),
        1 => Just("NguyÔn V¨n An".to_string()),
        1 => Just("John Smith".to_string()),
        1 => Just("An".to_string()),
        2 => hostile(),
    ]
}

fn date() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("1985-03-07".to_string()),
        1 => Just("07/03/1985".to_string()),
        1 => Just("00/00/1985".to_string()),
        1 => Just("1985".to_string()),
        1 => Just("31/02/2000".to_string()),
        1 => Just("2100-01-01".to_string()),
        1 => Just("0001-01-01".to_string()),
        1 => Just("9999-99-99".to_string()),
        1 => Just("31000".to_string()),
        1 => "[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4}",
        2 => hostile(),
    ]
}

fn code(digits: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(if digits == 2 { "79".to_string() } else { "26734".to_string() }),
        1 => Just(if digits == 2 { "01".to_string() } else { "00004".to_string() }),
        1 => Just("999".to_string()),
        1 => Just("7".to_string()),
        1 => hostile(),
    ]
}

fn pick(values: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(values).prop_map(str::to_string),
        1 => hostile(),
    ]
}

/// What follows a row's number in its record_id: mostly nothing, sometimes hostile text (the
/// record_ids stay unique; a repeated one is a file-level error, tested in bad_input).
fn suffix() -> impl Strategy<Value = String> {
    prop_oneof![6 => Just(String::new()), 1 => hostile()]
}

/// A cell of the named column: values of its kind, and hostile ones.
fn cell(column: &str) -> BoxedStrategy<String> {
    match column {
        "record_id" => suffix().boxed(),
        "personal_id" => id().boxed(),
        "old_id" => prop_oneof![2 => Just(String::new()), 1 => "[0-9]{9}", 1 => hostile()].boxed(),
        "full_name" | "father_name" | "mother_name" => name().boxed(),
        "sex" => pick(&["Nam", "Nữ", "nu", "F", "male", "x"]).boxed(),
        "province_code" => code(2).boxed(),
        "commune_code" => code(5).boxed(),
        "household_id" => pick(&["H1", "H2", "H3"]).boxed(),
        "relation_to_head" => pick(&["Chủ hộ", "chu ho", "Vợ", "Con", ""]).boxed(),
        "address" => pick(&["Số 12, Phường Bến Nghé", "12 Bến Nghé", ""]).boxed(),
        "death_date" => prop_oneof![6 => Just(String::new()), 1 => date()].boxed(),
        "phone" => prop_oneof![
            Just("0912345678".to_string()),
            Just(SECRET.to_string()),
            hostile()
        ]
        .boxed(),
        "dose_number" => pick(&["1", "2", "0", "-1", "99"]).boxed(),
        "social_insurance_code" => prop_oneof!["[0-9]{10}", "[0-9]{9}", hostile()].boxed(),
        "health_card_no" => prop_oneof!["[A-Z]{2}[0-9]{13}", "[A-Z0-9]{14}", hostile()].boxed(),
        c if c.ends_with("date") => date().boxed(),
        _ => pick(&["Kinh", "Hà Nội", "V06", ""]).boxed(),
    }
}

/// Rows of a table with these columns, each cell drawn by [`cell`].
fn table(
    header: &'static [&'static str],
    rows: std::ops::Range<usize>,
) -> BoxedStrategy<Vec<Vec<String>>> {
    let row: Vec<BoxedStrategy<String>> = header.iter().map(|c| cell(c)).collect();
    prop::collection::vec(row, rows).boxed()
}

/// The sources a case holds: flag, file name and columns.
const SOURCES: [(&str, &[&str]); 6] = [
    (
        "residents",
        &[
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
            "father_name",
            "mother_name",
            "address",
            "death_date",
        ],
    ),
    (
        "vaccination",
        &[
            "record_id",
            "personal_id",
            "full_name",
            "birth_date",
            "sex",
            "phone",
            "dose_date",
            "dose_number",
        ],
    ),
    (
        "insurance",
        &[
            "record_id",
            "personal_id",
            "full_name",
            "birth_date",
            "sex",
            "social_insurance_code",
            "health_card_no",
            "commune_code",
        ],
    ),
    (
        "births",
        &[
            "record_id",
            "personal_id",
            "full_name",
            "birth_date",
            "sex",
            "father_name",
            "mother_name",
            "commune_code",
            "registration_date",
        ],
    ),
    (
        "deaths",
        &["personal_id", "full_name", "birth_date", "death_date"],
    ),
    ("cmnd-map", &["old_id", "personal_id"]),
];

/// The rows as a workbook saved from a spreadsheet: a cell of digits only is a number there
/// (an ID loses its leading zero, as Excel does to a column it was not told is text).
fn write_xlsx(path: &Path, header: &[&str], rows: &[Vec<String>]) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in header.iter().enumerate() {
        ws.write(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            let digits = !v.is_empty() && v.len() <= 15 && v.bytes().all(|b| b.is_ascii_digit());
            match v.parse::<f64>() {
                Ok(n) if digits => ws.write_number(r, c, n).unwrap(),
                _ => ws.write_string(r, c, v.as_str()).unwrap(),
            };
        }
    }
    wb.save(path).unwrap();
}

/// The run ended cleanly or with a plain input error, as the module says. With `xlsx`, the
/// residents and the vaccination rows come as workbooks; with `province`, the run reports
/// only what touches residents of province 79 (`--province 79`).
fn assert_sound(dir: &Path, tables: &[Vec<Vec<String>>], xlsx: bool, province: bool) {
    // Each table's rows, their record_ids numbered (R0, R1, … for the residents; V0, … for
    // the vaccination rows) so that they stay unique whatever text follows the number.
    let mut tables: Vec<Vec<Vec<String>>> = tables.to_vec();
    let mut inputs = Vec::new();
    for ((flag, header), rows) in SOURCES.iter().zip(&mut tables) {
        if header[0] == "record_id" {
            let prefix = flag[..1].to_uppercase();
            for (i, r) in rows.iter_mut().enumerate() {
                r[0] = format!("{prefix}{i}{}", r[0]);
            }
        }
        let path = if xlsx && matches!(*flag, "residents" | "vaccination") {
            let path = dir.join(format!("{flag}.xlsx"));
            write_xlsx(&path, header, rows);
            path
        } else {
            let path = dir.join(format!("{flag}.csv"));
            write_csv(&path, header, rows);
            path
        };
        inputs.push((*flag, path));
    }
    let out = dir.join("out");
    let _ = std::fs::remove_dir_all(&out);
    // Not quiet: the warnings the run prints are read too.
    let mut args: Vec<String> = vec!["check".into(), "--as-of".into(), "2026-06-30".into()];
    if province {
        args.extend(["--province".into(), "79".into()]);
    }
    for (flag, path) in &inputs {
        args.extend([format!("--{flag}"), path.display().to_string()]);
    }
    let o = bin()
        .args(&args)
        .args(["--out", out.to_str().unwrap()])
        .output()
        .expect("run lamsach");
    let (err, printed) = (stderr(&o), String::from_utf8_lossy(&o.stdout).to_string());
    assert!(!err.contains("panicked"), "a panic: {err}");
    for secret in [SECRET, SECRET_NAME, "Nguyễn Văn An"] {
        assert!(
            !printed.contains(secret),
            "a cell in the printed summary: {printed}"
        );
        assert!(
            !err.contains(secret),
            "a cell in what the run printed: {err}"
        );
    }
    match o.status.code() {
        Some(0) => {}
        Some(2) => {
            assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
            assert!(
                !out.join("findings.parquet").exists(),
                "no output after a failure"
            );
            return;
        }
        code => panic!("exit code {code:?}: {err}"),
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let warnings = summary["warnings"].to_string();
    for secret in [SECRET, SECRET_NAME, "Nguyễn Văn An"] {
        assert!(
            !warnings.contains(secret),
            "a cell in a warning: {warnings}"
        );
    }
    for ((flag, _), rows) in SOURCES.iter().zip(&tables) {
        let source = flag.replace('-', "_");
        assert_eq!(
            summary["rows_read"][&source].as_u64(),
            Some(rows.len() as u64),
            "{source}: every row read"
        );
        let a = &summary["accounting"][&source];
        if a.is_null() {
            continue;
        }
        let n = |k: &str| a[k].as_u64().unwrap_or_else(|| panic!("{source}.{k}: {a}"));
        assert_eq!(
            n("rows_read"),
            rows.len() as u64,
            "{source}: every row read"
        );
        assert_eq!(
            n("rows_in_scope") + n("rows_outside_province"),
            n("rows_read"),
            "{source}: {a}"
        );
        // A row outside the province can have a finding too (a duplicate of a resident).
        assert_eq!(
            n("rows_with_findings") + n("rows_without_findings"),
            n("rows_read"),
            "{source}: {a}"
        );
    }
    let known: BTreeSet<String> = tables
        .iter()
        .zip(SOURCES)
        .filter(|(_, (_, header))| header[0] == "record_id")
        .flat_map(|(rows, _)| rows.iter().map(|r| r[0].trim().to_string()))
        .collect();
    let ids: BTreeSet<String> = rows(&out.join("findings.parquet"), &["record_id"])
        .into_iter()
        .map(|r| r[0].clone())
        .filter(|id| !id.is_empty())
        .collect();
    let foreign: Vec<&String> = ids.iter().filter(|id| !known.contains(id.trim())).collect();
    assert!(
        foreign.is_empty(),
        "findings name records not in the input: {foreign:?}"
    );
    assert!(out.join("report.html").is_file(), "the report is written");
    assert_owner_only(&out);

    // The next night on the same files, on one thread: the same findings, all of them open,
    // nothing resolved.
    let next = dir.join("next");
    let _ = std::fs::remove_dir_all(&next);
    let o = bin()
        .args(&args)
        .args([
            "--quiet",
            "--threads",
            "1",
            "--previous",
            out.to_str().unwrap(),
        ])
        .args(["--out", next.to_str().unwrap()])
        .output()
        .expect("run lamsach");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cols = [
        "source",
        "record_id",
        "rule",
        "field",
        "value",
        "suggestion",
        "related_record_id",
        "score",
    ];
    let sorted = |dir: &Path| {
        let mut f = rows(&dir.join("findings.parquet"), &cols);
        f.sort();
        f
    };
    assert_eq!(
        sorted(&next),
        sorted(&out),
        "one thread or two, the same findings"
    );
    let status = rows(&next.join("findings.parquet"), &["status"]);
    assert!(status.iter().all(|s| s[0] == "open"), "{status:?}");
    assert!(rows(&next.join("resolved.parquet"), &["record_id"]).is_empty());

    // `dedup` on the residents alone, in units of a few records, finds check's pairs (those
    // of the whole register: dedup has no --province).
    if province {
        return;
    }
    let dd = dir.join("dedup");
    let _ = std::fs::remove_dir_all(&dd);
    let o = bin()
        .args(["dedup", "--quiet", "--memory-gb", "0.000001", "--residents"])
        .arg(&inputs[0].1)
        .arg("--out")
        .arg(&dd)
        .output()
        .expect("run lamsach");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let pairs = |dir: &Path| {
        let mut p = rows(
            &dir.join("duplicates.parquet"),
            &["record_id_a", "record_id_b", "cluster_id"],
        );
        p.sort();
        p
    };
    assert_eq!(pairs(&dd), pairs(&out), "dedup and check, the same pairs");
}

/// Every file the run wrote can be read by its owner only (the default, without
/// `--group-readable`).
fn assert_owner_only(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = e.metadata().unwrap();
        if meta.is_dir() {
            assert_owner_only(&e.path());
        } else {
            let mode = meta.permissions().mode() & 0o777;
            assert_eq!(mode & 0o077, 0, "{} is {mode:o}", e.path().display());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn check_survives_hostile_cells(
        residents in table(SOURCES[0].1, 1..40),
        vaccination in table(SOURCES[1].1, 0..20),
        insurance in table(SOURCES[2].1, 0..15),
        births in table(SOURCES[3].1, 0..8),
        deaths in table(SOURCES[4].1, 0..8),
        cmnd_map in table(SOURCES[5].1, 0..8),
        xlsx in any::<bool>(),
        province in any::<bool>(),
    ) {
        let dir = scratch("fuzz_check");
        let tables = [residents, vaccination, insurance, births, deaths, cmnd_map];
        assert_sound(&dir, &tables, xlsx, province);
    }
}

/// The harness's rows are ones `check` reads: plain rows run cleanly and are all counted.
#[test]
fn plain_rows_run_cleanly() {
    let dir = scratch("fuzz_check_plain");
    // record_ids R0, R1, R2 and V0, as numbered.
    let row = |id: &str, pid: &str, rel: &str| -> Vec<String> {
        [
            id,
            pid,
            "",
            SECRET_NAME,
            "1985-03-07",
            "Nữ",
            "79",
            "26734",
            "H1",
            rel,
            "",
            "",
            "",
            "",
        ]
        .map(str::to_string)
        .to_vec()
    };
    let residents = vec![
        row("", SECRET, "Chủ hộ"),
        row("", SECRET, "Vợ"),
        row("", "079185999887", "Con"),
    ];
    let doses = vec![[
        "",
        SECRET,
        SECRET_NAME,
        "1985-03-07",
        "Nữ",
        "0912345678",
        "2021-08-01",
        "1",
    ]
    .map(str::to_string)
    .to_vec()];
    let none = Vec::new;
    assert_sound(
        &dir,
        &[residents, doses, none(), none(), none(), none()],
        false,
        false,
    );
    // One person registered twice under one ID: the run found it, and nothing else is wrong.
    let f = findings(&dir.join("out"));
    assert!(
        f.iter().any(|x| x.0 == "R1" && x.1 == "dup.in_province"),
        "{f:?}"
    );
    assert!(!f.iter().any(|x| x.1.starts_with("id.")), "{f:?}");
}
