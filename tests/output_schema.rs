//! The output schemas of docs/outputs.md: every Parquet output is read back and its columns
//! and Arrow types checked, so a change cannot break users' scripts silently. Also: output
//! files are private by default, and report.html is self-contained.

mod common;

use std::fs::File;

use arrow_schema::DataType;
use common::*;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn schema_of(path: &std::path::Path) -> Vec<(String, DataType, bool)> {
    let b = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    b.schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
        .collect()
}

fn expect(cols: &[(&str, DataType, bool)]) -> Vec<(String, DataType, bool)> {
    cols.iter()
        .map(|(n, t, null)| (n.to_string(), t.clone(), *null))
        .collect()
}

#[test]
fn parquet_outputs_have_the_documented_schemas() {
    use DataType::{Boolean, Float64, Utf8};
    let dir = scratch("schemas");
    let data = dir.join("data");
    generate(&data, 3_000, 2, &[]);
    let out = dir.join("run");
    let o = check_generated(&data, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        schema_of(&out.join("findings.parquet")),
        expect(&[
            ("source", Utf8, true),
            ("record_id", Utf8, true),
            ("province_code", Utf8, true),
            ("commune_code", Utf8, true),
            ("group", Utf8, true),
            ("rule", Utf8, true),
            ("field", Utf8, true),
            ("value", Utf8, true),
            ("suggestion", Utf8, true),
            ("related_record_id", Utf8, true),
            ("score", Float64, true),
            ("related_source", Utf8, true),
            ("note", Utf8, true),
            ("severity", Utf8, true),
            ("status", Utf8, true),
        ])
    );
    assert_eq!(
        schema_of(&out.join("duplicates.parquet")),
        expect(&[
            ("record_id_a", Utf8, true),
            ("source_a", Utf8, true),
            ("record_id_b", Utf8, true),
            ("source_b", Utf8, true),
            ("probability", Float64, false),
            ("scope", Utf8, true),
            ("cluster_id", Utf8, false),
            ("levels", Utf8, true),
            ("evidence", Utf8, true),
        ])
    );
    assert_eq!(
        schema_of(&out.join("clusters.parquet")),
        expect(&[
            ("source", Utf8, true),
            ("record_id", Utf8, true),
            ("cluster_id", Utf8, false),
            ("keep", Boolean, false),
        ])
    );
    assert_eq!(
        schema_of(&out.join("links.parquet")),
        expect(&[
            ("source", Utf8, true),
            ("record_id", Utf8, true),
            ("resident_record_id", Utf8, true),
            ("personal_id", Utf8, true),
            ("probability", Float64, false),
        ])
    );
    assert_eq!(
        schema_of(&out.join("review.parquet")),
        expect(&[
            ("rule", Utf8, true),
            ("source_a", Utf8, true),
            ("record_id_a", Utf8, true),
            ("source_b", Utf8, true),
            ("record_id_b", Utf8, true),
            ("probability", Float64, false),
            ("scope", Utf8, true),
            ("levels", Utf8, true),
            ("reason", Utf8, true),
            ("note", Utf8, true),
        ])
    );
    // The model is written for reuse, and names how it was trained.
    let model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["format"], 1);
    assert!(
        ["identifiers", "candidate_pairs"].contains(&model["training"].as_str().unwrap()),
        "{}",
        model["training"]
    );
    assert!(model["fields"]["birth"]["m"]
        .as_array()
        .is_some_and(|m| !m.is_empty()));
    // Pairs: a sorts before b, every pair once, scopes as the SPEC names them.
    let pairs = rows(
        &out.join("duplicates.parquet"),
        &["record_id_a", "record_id_b", "scope"],
    );
    assert!(!pairs.is_empty());
    assert!(pairs.iter().all(|p| p[0] < p[1]));
    assert!(pairs
        .iter()
        .all(|p| p[2] == "in_province" || p[2] == "out_of_province"));
    let unique: std::collections::BTreeSet<_> =
        pairs.iter().map(|p| (p[0].clone(), p[1].clone())).collect();
    assert_eq!(unique.len(), pairs.len());
    // Every cluster has exactly one record to keep.
    let members = rows(&out.join("clusters.parquet"), &["cluster_id", "keep"]);
    let mut keeps: std::collections::BTreeMap<String, usize> = Default::default();
    for m in &members {
        *keeps.entry(m[0].clone()).or_default() += (m[1] == "true") as usize;
    }
    assert!(keeps.values().all(|k| *k == 1), "{keeps:?}");

    // A fix list opens as a workbook with Vietnamese sheet names and headers.
    {
        use calamine::{open_workbook_auto, Data, Reader};
        let commune = rows(&out.join("findings.parquet"), &["commune_code"])
            .into_iter()
            .map(|r| r[0].clone())
            .find(|c| !c.is_empty())
            .unwrap();
        let mut wb = open_workbook_auto(out.join(format!("fixlists/{commune}.xlsx"))).unwrap();
        assert_eq!(
            wb.sheet_names(),
            vec![
                "Tổng hợp",
                "Hướng dẫn",
                "Đúng",
                "Đủ",
                "Sạch",
                "Sống",
                "Cần xác minh"
            ]
        );
        let first = wb.worksheet_range("Tổng hợp").unwrap();
        assert_eq!(first.get((0, 1)), Some(&Data::String(commune.clone())));
        // The summary sheet's counts add up: the groups' to the total, the rules' too.
        let count = |row: &[Data]| match row.get(1) {
            Some(Data::Float(n)) => *n as usize,
            other => panic!("a count, not {other:?}"),
        };
        let summary: Vec<&[Data]> = first.rows().collect();
        let label = |row: &[Data]| row.first().map(|c| c.to_string()).unwrap_or_default();
        let total_at = summary.iter().position(|r| label(r) == "Tổng").unwrap();
        let total = count(summary[total_at]);
        assert!(total > 0);
        let groups: usize = summary[4..total_at].iter().map(|r| count(r)).sum();
        assert_eq!(groups, total);
        let rules_at = summary.iter().position(|r| label(r) == "Quy tắc").unwrap();
        assert_eq!(summary[rules_at][1].to_string(), "Số trường hợp");
        let rules: usize = summary[rules_at + 1..].iter().map(|r| count(r)).sum();
        assert_eq!(rules, total);
        let dung = wb.worksheet_range("Đúng").unwrap();
        let headers: Vec<String> = dung
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        for h in [
            "Mã bản ghi",
            "Số định danh",
            "Họ và tên",
            "Ngày sinh",
            "Giới tính",
            "Quy tắc",
            "Mô tả",
            "Giá trị hiện tại",
            "Đề xuất sửa",
            "Bản ghi liên quan",
            "Mức độ",
            "Việc cần làm",
            "Lý do ghép",
            "Kết quả xác minh",
            "Ghi chú xác minh",
        ] {
            assert!(headers.iter().any(|x| x == h), "{h} in {headers:?}");
        }
        let col = |h: &str| headers.iter().position(|x| x == h).unwrap();
        // Every row says what to do; a duplicate row says which record to keep and why.
        let sach = wb.worksheet_range("Sạch").unwrap();
        for row in dung.rows().skip(1) {
            assert!(!row[col("Việc cần làm")].to_string().is_empty());
        }
        let dup = sach
            .rows()
            .find(|r| r[col("Quy tắc")].to_string().starts_with("dup."));
        if let Some(dup) = dup {
            let todo = dup[col("Việc cần làm")].to_string();
            assert!(
                todo.starts_with("Giữ bản ghi này") || todo.starts_with("Đề nghị xóa bản ghi này"),
                "{todo}"
            );
            assert!(dup[col("Lý do ghép")].to_string().contains("ngày sinh"));
            // The probability is a number, not text.
            assert!(matches!(dup[col("Xác suất trùng")], Data::Float(_)));
        }
        // Inside the workbook: widths, filter, landscape fit-to-width, the verdict drop-down.
        let file = std::fs::File::open(out.join(format!("fixlists/{commune}.xlsx"))).unwrap();
        let mut zip = zip::ZipArchive::new(file).unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("xl/worksheets/sheet3.xml").unwrap(),
            &mut xml,
        )
        .unwrap();
        assert!(
            xml.contains("<cols>") && xml.contains("customWidth=\"1\""),
            "widths"
        );
        assert!(xml.contains("<autoFilter"), "filter");
        assert!(xml.contains("orientation=\"landscape\""), "landscape");
        assert!(
            xml.contains("fitToWidth=\"3\"") && xml.contains("fitToHeight=\"0\""),
            "fit to three pages wide"
        );
        assert!(
            xml.contains("<dataValidation type=\"list\"")
                && xml.contains("Không phải lỗi")
                && xml.contains("Không trùng"),
            "the verdict drop-down"
        );
        // A duplicate's reason and action are longer than their columns: they wrap in a
        // taller row (style 2, wrapped from the top), read whole on screen and on paper.
        if dup.is_some() {
            let mut sach = String::new();
            std::io::Read::read_to_string(
                &mut zip.by_name("xl/worksheets/sheet5.xml").unwrap(),
                &mut sach,
            )
            .unwrap();
            assert!(sach.contains(" s=\"2\" t=\"inlineStr\""), "wrapped cells");
            let mut styles = String::new();
            std::io::Read::read_to_string(&mut zip.by_name("xl/styles.xml").unwrap(), &mut styles)
                .unwrap();
            assert!(styles.contains("<alignment vertical=\"top\" wrapText=\"1\"/>"));
        }
    }

    // report.html: self-contained, in Vietnamese, with its charts.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Phát hiện theo nhóm") && html.contains("<svg"));
    // One inline script (the communes' table sorts); nothing linked or fetched.
    assert_eq!(html.matches("<script").count(), 1);
    assert!(!html.contains("<script src") && !html.contains("<link"));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The list of the run's files too: it names the communes with findings.
        for f in [
            "findings.parquet",
            "summary.json",
            "report.html",
            ".lamsach.files",
        ] {
            let mode = std::fs::metadata(out.join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f} is private by default");
        }
    }
}
