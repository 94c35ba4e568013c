//! Each reader on small fixtures: CSV with Vietnamese headers, XLSX, Parquet; the same
//! records give the same findings whatever the format.

mod common;

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use common::*;

fn check_one(
    residents: &std::path::Path,
    out: &std::path::Path,
) -> Vec<(String, String, String, String)> {
    let o = check(&[("residents", residents)], out, &["--as-of", "2026-06-30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    findings(out)
}

#[test]
fn csv_with_vietnamese_headers_and_semicolons_is_read_without_config() {
    let out = scratch("csv_vi");
    let f = check_one(&testdata("residents_vi.csv"), &out);
    // DC001 and DC002 are clean.
    assert!(!f.iter().any(|x| x.0 == "DC001" || x.0 == "DC002"), "{f:?}");
    // An ID written with dots: id.format, the 12 digits suggested.
    assert!(f.contains(&(
        "DC003".into(),
        "id.format".into(),
        "personal_id".into(),
        "001215012347".into()
    )));
    assert!(has(&f, "DC004", "id.phone_number"));
    assert!(f.contains(&(
        "DC004".into(),
        "name.unnormalized".into(),
        "full_name".into(),
        "Lê Văn Dũng".into()
    )));
    assert!(has(&f, "DC004", "date.invalid"));
    assert!(has(&f, "DC005", "id.missing"));
    assert!(has(&f, "DC005", "sex.invalid"));
    // HO2 has no head: both members get the finding; the oldest adult is suggested as head.
    assert!(has(&f, "DC004", "household.no_head"));
    assert!(f.contains(&(
        "DC005".into(),
        "household.no_head".into(),
        "relation_to_head".into(),
        "Chủ hộ".into()
    )));
    // Every input row is accounted for in the summary.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rows_read"]["residents"], 5);
    assert_eq!(summary["accounting"]["residents"]["rows_with_findings"], 3);
    assert_eq!(
        summary["accounting"]["residents"]["rows_without_findings"],
        2
    );
}

fn fixture_rows() -> Vec<[&'static str; 10]> {
    vec![
        [
            "DC001",
            "001085012345",
            "Nguyễn Văn An",
            "1985-03-07",
            "Nam",
            "01",
            "00004",
            "HO1",
            "Chủ hộ",
            "012345678",
        ],
        [
            "DC002",
            "001190012346",
            "trần thị bình",
            "1990-05-12",
            "Nữ",
            "01",
            "00004",
            "HO1",
            "Vợ",
            "",
        ],
        [
            "DC003",
            "001295012347",
            "Nguyễn Minh Châu",
            "2015",
            "Nam",
            "01",
            "00004",
            "HO1",
            "Con",
            "",
        ],
    ]
}

const HEADERS: [&str; 10] = [
    "Mã bản ghi",
    "Số định danh cá nhân",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Mã tỉnh",
    "Mã xã",
    "Mã hộ",
    "Quan hệ với chủ hộ",
    "Số CMND",
];

#[test]
fn xlsx_first_sheet_is_read() {
    let dir = scratch("xlsx");
    let path = dir.join("dan_cu.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write(0, c as u16, *h).unwrap();
    }
    for (r, row) in fixture_rows().iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    wb.save(&path).unwrap();
    let f = check_one(&path, &dir.join("out"));
    assert!(!has(&f, "DC001", "id.format"));
    assert!(f.contains(&(
        "DC002".into(),
        "name.unnormalized".into(),
        "full_name".into(),
        "Trần Thị Bình".into()
    )));
    // 001 2 95: digit 4 = 2 means born 2000–2099, but the record says 2015 → digits 5–6 disagree.
    assert!(has(&f, "DC003", "id.birth_year"));
    assert_eq!(f.iter().filter(|x| x.0 == "DC001").count(), 0);
}

/// A workbook whose rows are on two sheets behind an instructions sheet: every row is read
/// and the warnings say which sheets; sheets with different headers are refused by name.
#[test]
fn xlsx_rows_on_several_sheets_are_all_read() {
    let dir = scratch("xlsx_sheets");
    let path = dir.join("dan_cu.xlsx");
    let rows = fixture_rows();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let guide = wb.add_worksheet();
    guide.set_name("Hướng dẫn").unwrap();
    guide
        .write(0, 0, "Danh sách dân cư, mỗi trang 2 người")
        .unwrap();
    for (k, part) in rows.chunks(2).enumerate() {
        let ws = wb.add_worksheet();
        ws.set_name(format!("Trang {}", k + 1)).unwrap();
        for (c, h) in HEADERS.iter().enumerate() {
            ws.write(0, c as u16, *h).unwrap();
        }
        for (r, row) in part.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write(r as u32 + 1, c as u16, *v).unwrap();
            }
        }
    }
    wb.save(&path).unwrap();
    let out = dir.join("out");
    let f = check_one(&path, &out);
    assert!(
        has(&f, "DC003", "id.birth_year"),
        "a row of the second sheet"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rows_read"]["residents"], rows.len());
    let warnings = summary["warnings"].to_string();
    assert!(warnings.contains("Trang 1, Trang 2"), "{warnings}");
    assert!(warnings.contains("not read (Hướng dẫn)"), "{warnings}");

    // Two sheets of data under different headers: refused, naming the sheets.
    let path = dir.join("hai_bang.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    for (k, part) in rows.chunks(2).take(2).enumerate() {
        let ws = wb.add_worksheet();
        for (c, h) in HEADERS.iter().enumerate().skip(k) {
            ws.write(0, c as u16, *h).unwrap();
        }
        for (r, row) in part.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write(r as u32 + 1, c as u16, *v).unwrap();
            }
        }
    }
    wb.save(&path).unwrap();
    let o = check(&[("residents", &path)], &dir.join("out2"), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("the sheets Sheet1, Sheet2 hold data under different headers"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn parquet_with_a_numeric_id_column_is_cast_to_text_and_warned_about() {
    let dir = scratch("parquet_numeric");
    let path = dir.join("residents.parquet");
    let rows = fixture_rows();
    let text = |i: usize| -> ArrayRef {
        Arc::new(StringArray::from(
            rows.iter().map(|r| r[i]).collect::<Vec<_>>(),
        ))
    };
    // personal_id as a 64-bit integer: the leading zeros are gone (11 digits).
    let ids: ArrayRef = Arc::new(Int64Array::from(
        rows.iter()
            .map(|r| r[1].parse::<i64>().unwrap())
            .collect::<Vec<_>>(),
    ));
    let mut fields = Vec::new();
    let mut cols = Vec::new();
    for (i, h) in HEADERS.iter().enumerate() {
        if i == 1 {
            fields.push(Field::new("personal_id", DataType::Int64, false));
            cols.push(ids.clone());
        } else {
            fields.push(Field::new(*h, DataType::Utf8, false));
            cols.push(text(i));
        }
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap();
    let file = std::fs::File::create(&path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let out = dir.join("out");
    let f = check_one(&path, &out);
    // The 10- and 11-digit numbers are restored to their 12 digits as they are read: the IDs
    // are not malformed (the export dropped their zeros), and the ID rules see the real IDs.
    assert!(!has(&f, "DC001", "id.format"), "{f:?}");
    assert!(has(&f, "DC003", "id.birth_year"), "{f:?}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(
        summary.contains("stored as numbers, so leading zeros were lost;"),
        "{summary}"
    );
}

#[test]
fn a_config_file_maps_other_headers() {
    let dir = scratch("config_map");
    let csv = dir.join("in.csv");
    std::fs::write(
        &csv,
        "ID hồ sơ,Họ tên công dân,NS,Phái,Tỉnh,Xã\nA1,Nguyễn Văn An,1985-03-07,Nam,01,00004\n",
    )
    .unwrap();
    let cfg = dir.join("lamsach.toml");
    std::fs::write(
        &cfg,
        "[columns]\n\"ID hồ sơ\" = \"record_id\"\n\"Họ tên công dân\" = \"full_name\"\nNS = \"birth_date\"\n\"Phái\" = \"sex\"\n\"Tỉnh\" = \"province_code\"\n\"Xã\" = \"commune_code\"\n",
    )
    .unwrap();
    let out = dir.join("out");
    let o = check(
        &[("residents", &csv), ("config", &cfg)],
        &out,
        &["--as-of", "2026-06-30"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let f = findings(&out);
    // household_id and relation_to_head are not in the file at all: not reported per row.
    assert!(!f.iter().any(|x| x.1 == "field.missing"), "{f:?}");
}

/// The readers decode only the columns the engine uses; a column named in
/// `[expected_fields]` is one of them, so `field.missing` still sees it in Parquet.
#[test]
fn parquet_columns_the_engine_skips_are_still_read_when_configured_as_expected() {
    let dir = scratch("parquet_projection");
    let path = dir.join("residents.parquet");
    let rows = fixture_rows();
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for (i, h) in HEADERS.iter().enumerate() {
        fields.push(Field::new(*h, DataType::Utf8, false));
        cols.push(Arc::new(StringArray::from(
            rows.iter().map(|r| r[i]).collect::<Vec<_>>(),
        )));
    }
    // "Quốc tịch" (nationality): empty for DC002 only; "Ghi chú" is a column lamsach never uses.
    fields.push(Field::new("Quốc tịch", DataType::Utf8, true));
    cols.push(Arc::new(StringArray::from(
        (0..rows.len())
            .map(|i| if i == 1 { None } else { Some("Việt Nam") })
            .collect::<Vec<_>>(),
    )));
    fields.push(Field::new("Ghi chú", DataType::Utf8, true));
    cols.push(Arc::new(StringArray::from(vec![Some("x"); rows.len()])));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap();
    let file = std::fs::File::create(&path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let cfg = dir.join("lamsach.toml");
    std::fs::write(
        &cfg,
        "[expected_fields]\nresidents = [\"record_id\", \"full_name\", \"nationality\"]\n",
    )
    .unwrap();
    let out = dir.join("out");
    let o = check(
        &[("residents", &path), ("config", &cfg)],
        &out,
        &["--as-of", "2026-06-30"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let missing: Vec<_> = findings(&out)
        .into_iter()
        .filter(|x| x.1 == "field.missing")
        .map(|x| (x.0, x.2))
        .collect();
    assert_eq!(
        missing,
        vec![("DC002".to_string(), "nationality".to_string())]
    );
}

#[test]
fn unknown_extra_columns_are_carried_through_to_findings_and_fix_lists() {
    let dir = scratch("extras");
    // Residents with Vietnamese headers (recognised) and three columns lamsach does not know:
    // "Tổ dân phố", "Ghi chú" (also a fix-list header) and "value" (also a findings column).
    let residents = dir.join("dan_cu.csv");
    std::fs::write(
        &residents,
        "Mã bản ghi,Số định danh,Họ và tên,Ngày sinh,Giới tính,Mã tỉnh,Mã xã,Tổ dân phố,Ghi chú,value\n\
         R1,12345,Nguyễn Văn An,1990-01-02,Nam,01,00004,Tổ 5, cần xác minh ,x1\n\
         R2,,Trần Thị Bình,1985-03-04,Nữ,01,00004,,ghi chu 2,x2\n",
    )
    .unwrap();
    // A vaccination extract sharing "Tổ dân phố" and with an extra of its own.
    let vaccination = dir.join("tiem_chung.csv");
    std::fs::write(
        &vaccination,
        "record_id,personal_id,full_name,birth_date,Tổ dân phố,lo_vac_xin\n\
         V1,0912345678,Nguyen Van An,1990-01-02,Tổ 9,LOT7\n",
    )
    .unwrap();
    let out = dir.join("run");
    let o = check(
        &[("residents", &residents), ("vaccination", &vaccination)],
        &out,
        &["--as-of", "2026-06-30"],
    );
    assert!(o.status.success(), "{}", stderr(&o));

    let t = lamsach::read::read_plain(&out.join("findings.parquet"), "findings").unwrap();
    let names = t.column_names();
    let status = names.iter().position(|n| n == "status").unwrap();
    assert_eq!(
        names[status + 1..],
        ["Tổ dân phố", "Ghi chú", "input.value", "lo_vac_xin"],
        "extra columns follow the standard ones, in the order first met"
    );
    // Recognised headers are read as their canonical column, not carried a second time.
    assert!(!names.iter().any(|n| n == "Họ và tên" || n == "Mã bản ghi"));
    let row_of = |record: &str, rule: &str| {
        (0..t.len())
            .find(|&r| t.col("record_id").raw(r) == record && t.col("rule").raw(r) == rule)
            .unwrap_or_else(|| panic!("{record} {rule} not found"))
    };
    let extras = |r: usize| -> Vec<Option<&str>> {
        ["Tổ dân phố", "Ghi chú", "input.value", "lo_vac_xin"]
            .iter()
            .map(|c| t.col(c).cell(r))
            .collect()
    };
    // Untouched: the spaces around "cần xác minh" stay; a column the source lacks is null.
    assert_eq!(
        extras(row_of("R1", "id.format")),
        [Some("Tổ 5"), Some(" cần xác minh "), Some("x1"), None]
    );
    assert_eq!(
        extras(row_of("R2", "id.missing")),
        [Some(""), Some("ghi chu 2"), Some("x2"), None]
    );
    assert_eq!(
        extras(row_of("V1", "id.phone_number")),
        [Some("Tổ 9"), None, None, Some("LOT7")]
    );

    // The commune's fix list carries them too, after the Vietnamese headers.
    let csv = std::fs::read_to_string(out.join("fixlists/00004.csv")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.ends_with(
            ",Ghi chú,Kết quả xác minh,Ghi chú xác minh,Mã kiểm tra (không sửa),Tổ dân phố,Ghi chú (tệp gốc),value,lo_vac_xin"
        ),
        "{header}"
    );
    let r1 = lines
        .find(|l| l.contains(",R1,"))
        .expect("R1 in the fix list");
    assert!(r1.ends_with(",Tổ 5, cần xác minh ,x1,"), "{r1}");
}

/// pandas and Spark write dates as timestamps with a time zone: a birth date at midnight in
/// Hà Nội is the previous day in UTC, and must be read as the day it is.
#[test]
fn timestamps_with_a_time_zone_are_read_as_local_dates() {
    use arrow_array::TimestampMillisecondArray;
    let dir = scratch("parquet_tz");
    let path = dir.join("residents.parquet");
    let text = |v: &str| Arc::new(StringArray::from(vec![v])) as ArrayRef;
    // 1985-03-07 00:00 at +07:00 = 1985-03-06 17:00 UTC.
    let ms = (crate_days(1985, 3, 7) * 86_400 - 7 * 3600) * 1000;
    let dob: ArrayRef =
        Arc::new(TimestampMillisecondArray::from(vec![ms]).with_timezone("Asia/Ho_Chi_Minh"));
    let batch = RecordBatch::try_from_iter(vec![
        ("record_id", text("A1")),
        ("personal_id", text("001085012345")),
        ("full_name", text("Nguyễn Văn An")),
        ("birth_date", dob),
        ("sex", text("Nam")),
        ("province_code", text("01")),
        ("commune_code", text("00004")),
    ])
    .unwrap();
    let file = std::fs::File::create(&path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let out = dir.join("out");
    // Checked as of 1985-03-06: read as the 7th (local), the birth date is in the future; read
    // as the UTC day (the 6th) it would not be.
    let o = check(&[("residents", &path)], &out, &["--as-of", "1985-03-06"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        has(&findings(&out), "A1", "date.invalid"),
        "{:?}",
        findings(&out)
    );
}

/// Days since 1970-01-01 of a date (civil calendar).
fn crate_days(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[test]
fn a_parquet_file_of_many_row_groups_is_read_whole_and_in_order() {
    // 10 000 rows in row groups of 700 (the last one short), values whose length varies from
    // group to group (the first group's are the shortest), some null, and a numeric column.
    let dir = scratch("parquet_row_groups");
    let path = dir.join("residents.parquet");
    let n = 10_000usize;
    let ids: Vec<String> = (0..n).map(|i| format!("R{i:06}")).collect();
    let notes: Vec<Option<String>> = (0..n)
        .map(|i| (i % 13 != 0).then(|| format!("ghi chú {}", "x".repeat(i / 700 * 9))))
        .collect();
    let numbers: Vec<i64> = (0..n as i64).map(|i| i * 1_000_003).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("record_id", DataType::Utf8, false),
        Field::new("ghi_chu", DataType::Utf8, true),
        Field::new("so", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(ids.clone())) as ArrayRef,
            Arc::new(StringArray::from(notes.clone())),
            Arc::new(Int64Array::from(numbers.clone())),
        ],
    )
    .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(700))
        .build();
    let file = std::fs::File::create(&path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    let meta = w.close().unwrap();
    assert_eq!(meta.row_groups().len(), n.div_ceil(700));
    let t = lamsach::read::read_plain(&path, "residents").unwrap();
    assert_eq!(t.len(), n);
    let (id, note, number) = (t.col("record_id"), t.col("ghi_chu"), t.col("so"));
    for i in 0..n {
        assert_eq!(id.get(i), ids[i]);
        assert_eq!(note.cell(i), notes[i].as_deref(), "row {i}");
        assert_eq!(number.get(i), numbers[i].to_string());
    }
}

/// Writes `columns` (all text) as a Parquet file in row groups of `group` rows; `dictionary`
/// says whether the writer may dictionary-encode them.
fn write_text_parquet(
    path: &std::path::Path,
    columns: &[(&str, Vec<Option<String>>)],
    group: usize,
    dictionary: bool,
) {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, _)| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|(_, v)| Arc::new(StringArray::from(v.clone())) as ArrayRef)
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(group))
        .set_dictionary_enabled(dictionary)
        // A dictionary page of at most 4 kB: the record IDs outgrow it and fall back to plain
        // pages, as an ID column of a real extract does.
        .set_dictionary_page_size_limit(4096)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn dictionary_encoded_parquet_columns_are_read_as_keys_with_every_cell_kept() {
    // Two files of one source: the first dictionary-encoded in row groups of 900 rows (the
    // communes and names repeat; the IDs outgrow the dictionary page and are stored plain;
    // some names are null), the second written without dictionaries. Every cell must come
    // back as written, in order, and the repeated columns of a file read alone must be held
    // as keys into one dictionary rather than as text.
    let dir = scratch("parquet_dictionaries");
    let rows = |from: usize, n: usize| -> Vec<(&'static str, Vec<Option<String>>)> {
        let r = from..from + n;
        vec![
            (
                "record_id",
                r.clone().map(|i| Some(format!("R{i:07}"))).collect(),
            ),
            (
                "full_name",
                r.clone()
                    .map(|i| {
                        (i % 17 != 0)
                            .then(|| format!("Nguyễn Văn {}", ["An", "Bình", "Chi"][i % 3]))
                    })
                    .collect(),
            ),
            (
                "commune_code",
                r.clone()
                    .map(|i| Some(format!("{:05}", 100 + i % 40)))
                    .collect(),
            ),
            (
                "birth_date",
                r.map(|i| Some(format!("19{:02}-01-{:02}", 50 + i % 40, 1 + i % 28)))
                    .collect(),
            ),
            (
                "sex",
                (0..n)
                    .map(|i| Some(["Nam", "Nữ"][i % 2].to_string()))
                    .collect(),
            ),
            (
                "province_code",
                (0..n).map(|_| Some("01".to_string())).collect(),
            ),
        ]
    };
    let (a, b) = (rows(0, 5_000), rows(5_000, 2_000));
    let (pa, pb) = (dir.join("a.parquet"), dir.join("b.parquet"));
    write_text_parquet(&pa, &a, 900, true);
    write_text_parquet(&pb, &b, 900, false);

    let alone = lamsach::read::read_plain(&pa, "residents").unwrap();
    let form =
        |t: &lamsach::core::Table, c: &str| t.batch.column_by_name(c).unwrap().data_type().clone();
    let keys = DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8));
    for c in ["full_name", "commune_code", "birth_date"] {
        assert_eq!(form(&alone, c), keys, "{c} is held as keys");
    }
    assert_eq!(
        form(&alone, "record_id"),
        DataType::Utf8,
        "IDs stored plain stay text"
    );

    let mut warnings = Vec::new();
    let both = lamsach::read::read_source(
        "residents",
        lamsach::core::SourceKind::Residents,
        &[pa.clone(), pb.clone()],
        &lamsach::config::Config::default(),
        &mut warnings,
    )
    .unwrap();
    assert_eq!(both.len(), 7_000);
    for (i, (name, _)) in a.iter().enumerate() {
        let col = both.col(name);
        let expected = a[i].1.iter().chain(&b[i].1);
        for (r, want) in expected.enumerate() {
            assert_eq!(col.cell(r), want.as_deref(), "{name} row {r}");
        }
    }
}
