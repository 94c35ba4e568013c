//! The printed summaries, in Vietnamese: the table at the end of `check` and `demo`, and the
//! lines at the end of `dedup`.

use std::fmt::Write;

use crate::core::Group;
use crate::summary::{DedupSummary, Summary};

/// The summary as a readable Vietnamese table, printed at the end of `check` and `demo`.
pub fn render_summary(summary: &Summary) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "lamsach — kết quả kiểm tra (ngày tham chiếu {})",
        summary.as_of
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "{:<44} {:>12}", "Số bản ghi đã đọc", "");
    for (k, v) in &summary.rows_read {
        let _ = writeln!(s, "  {:<42} {:>12}", k, v);
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<44} {:>12} {:>12}",
        "Phát hiện theo nhóm", "Phát hiện", "Bản ghi"
    );
    for g in Group::ALL {
        let n =
            |m: &std::collections::BTreeMap<String, usize>| m.get(g.code()).copied().unwrap_or(0);
        let _ = writeln!(
            s,
            "  {:<42} {:>12} {:>12}",
            g.label_vi(),
            n(&summary.findings_per_group),
            n(&summary.records_per_group)
        );
    }
    let _ = writeln!(s);
    let nightly = summary.previous.is_some();
    if nightly {
        let _ = writeln!(
            s,
            "{:<44} {:>12} {:>8} {:>12}",
            "Chỉ tiêu", "Bản ghi", "Mới", "Đã làm sạch"
        );
    } else {
        let _ = writeln!(s, "{:<44} {:>12}", "Chỉ tiêu", "Bản ghi");
    }
    for ind in &summary.indicators {
        let hh = match (ind.households, ind.people) {
            (Some(h), _) => format!(" ({h} hộ)"),
            (None, Some(p)) => format!(" ({p} người)"),
            _ => String::new(),
        };
        if nightly {
            let _ = writeln!(
                s,
                "  {:<42} {:>12} {:>8} {:>12}{}",
                ind.label, ind.records, ind.new, ind.resolved, hh
            );
        } else {
            let _ = writeln!(s, "  {:<42} {:>12}{}", ind.label, ind.records, hh);
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "{:<44} {:>12}", "Quy tắc", "Phát hiện");
    for (k, n) in &summary.findings_per_rule {
        if *n > 0 {
            let _ = writeln!(s, "  {:<42} {:>12}", k, n);
        }
    }
    let d = &summary.duplicates;
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Cặp trùng: {}{}  ·  cụm: {}  ·  liên kết đề xuất: {}",
        d.pairs,
        from_clusters(d.pairs_from_clusters),
        d.clusters,
        d.links
    );
    for b in &summary.thresholds_breached {
        let _ = writeln!(s, "Vượt ngưỡng: {b}");
    }
    for w in &summary.warnings {
        let _ = writeln!(s, "Cảnh báo: {w}");
    }
    let total = summary.timings_seconds.get("total").copied().unwrap_or(0.0);
    let _ = writeln!(s, "Thời gian: {total:.2} s");
    s
}

/// " (N suy ra từ cụm)": how many duplicate pairs their clusters imply, when any.
pub fn from_clusters(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} suy ra từ cụm)")
    }
}

/// The printed summary of a `dedup` run, in Vietnamese.
pub fn render_dedup(summary: &DedupSummary) -> String {
    let d = &summary.duplicates;
    let p = &summary.partitions;
    format!(
        "Tìm bản ghi trùng lặp: đã đọc {} bản ghi dân cư.\n\
         Cặp trùng: {} (trong tỉnh {}, ngoài tỉnh {}{}), {} cụm, {} bản ghi thừa.\n\
         Cặp dùng chung số định danh: {}.\n\
         Phân vùng theo năm sinh: {} đơn vị, ghi tạm ra đĩa {:.1} GB, {:.1} giây.\n",
        summary.rows_read.get("residents").copied().unwrap_or(0),
        d.pairs,
        d.in_province,
        d.out_of_province,
        match d.pairs_from_clusters {
            0 => String::new(),
            n => format!("; {n} suy ra từ cụm"),
        },
        d.clusters,
        d.records_to_retire,
        summary.id_shared_pairs,
        p.units,
        p.spilled_bytes as f64 / 1e9,
        summary.timings_seconds.get("total").copied().unwrap_or(0.0),
    )
}
