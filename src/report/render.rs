//! The printed summaries, in Vietnamese: the table at the end of `check` and `demo`, and the
//! lines at the end of `dedup`.

use std::fmt::Write;

use crate::core::Group;
use crate::phase::group_digits;
use crate::summary::{DedupSummary, Summary};

/// The summary as a readable Vietnamese table, printed at the end of `check` and `demo`.
pub fn render_summary(summary: &Summary) -> String {
    let mut s = String::new();
    // The labels' column as wide as the longest label (an indicator's name runs past 42).
    let w = summary
        .rows_read
        .keys()
        .map(String::as_str)
        .chain(summary.indicators.iter().map(|i| i.label.as_str()))
        .chain(summary.findings_per_rule.keys().map(String::as_str))
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(42);
    let h = w + 2;
    let _ = writeln!(
        s,
        "lamsach — kết quả kiểm tra (ngày tham chiếu {})",
        summary.as_of
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "Số bản ghi đã đọc");
    for (k, v) in &summary.rows_read {
        let _ = writeln!(s, "  {:<w$} {:>12}", k, group_digits(*v));
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<h$} {:>12} {:>12}",
        "Phát hiện theo nhóm", "Phát hiện", "Bản ghi"
    );
    for g in Group::ALL {
        let n =
            |m: &std::collections::BTreeMap<String, usize>| m.get(g.code()).copied().unwrap_or(0);
        let _ = writeln!(
            s,
            "  {:<w$} {:>12} {:>12}",
            g.label_vi(),
            group_digits(n(&summary.findings_per_group)),
            group_digits(n(&summary.records_per_group))
        );
    }
    let _ = writeln!(s);
    let nightly = summary.previous.is_some();
    if nightly {
        let _ = writeln!(
            s,
            "{:<h$} {:>12} {:>8} {:>12}",
            "Chỉ tiêu", "Bản ghi", "Mới", "Đã làm sạch"
        );
    } else {
        let _ = writeln!(s, "{:<h$} {:>12}", "Chỉ tiêu", "Bản ghi");
    }
    for ind in &summary.indicators {
        let hh = ind
            .units_vi()
            .map(|u| format!(" ({u})"))
            .unwrap_or_default();
        if nightly {
            let _ = writeln!(
                s,
                "  {:<w$} {:>12} {:>8} {:>12}{}",
                ind.label,
                group_digits(ind.records),
                group_digits(ind.new),
                group_digits(ind.resolved),
                hh
            );
        } else {
            let _ = writeln!(
                s,
                "  {:<w$} {:>12}{}",
                ind.label,
                group_digits(ind.records),
                hh
            );
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "{:<h$} {:>12}", "Quy tắc", "Phát hiện");
    for (k, n) in &summary.findings_per_rule {
        if *n > 0 {
            let _ = writeln!(s, "  {:<w$} {:>12}", k, group_digits(*n));
        }
    }
    let d = &summary.duplicates;
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Cặp trùng: {}{}  ·  cụm: {}  ·  liên kết đề xuất: {}",
        group_digits(d.pairs),
        from_clusters(d.pairs_from_clusters),
        group_digits(d.clusters),
        group_digits(d.links)
    );
    for b in &summary.thresholds_breached {
        let _ = writeln!(s, "Vượt ngưỡng: {b}");
    }
    for w in &summary.warnings {
        let _ = writeln!(s, "Cảnh báo: {w}");
    }
    if let Some(crate::summary::MemoryPlan {
        inputs_on_disk: true,
        budget_bytes: Some(budget),
        estimated_need_bytes: need,
        budget_from,
    }) = &summary.memory
    {
        let whose = if budget_from == "machine" {
            "bộ nhớ còn trống của máy"
        } else {
            "--memory-gb"
        };
        let _ = writeln!(
            s,
            "Bộ nhớ: cần khoảng {}, quá {} ({whose}): dữ liệu vào được giữ trên đĩa, kết quả không đổi",
            bytes_vi(*need),
            bytes_vi(*budget)
        );
    }
    let total = summary.timings_seconds.get("total").copied().unwrap_or(0.0);
    let _ = writeln!(s, "Thời gian: {total:.2} s");
    s
}

/// An amount of memory or disk as people here write it: "9,4 GB" (a decimal comma), and below
/// 1 GB in whole MB, so that a small run's figures read apart ("140 MB, quá 50 MB", not "0,1
/// GB, quá 0,1 GB").
fn bytes_vi(b: u64) -> String {
    if b >= 1_000_000_000 {
        format!("{:.1} GB", b as f64 / 1e9).replace('.', ",")
    } else {
        format!("{} MB", (b as f64 / 1e6).round().max(1.0))
    }
}

/// " (N suy ra từ cụm)": how many duplicate pairs their clusters imply, when any.
pub fn from_clusters(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" ({} suy ra từ cụm)", group_digits(n))
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
         {}, {:.1} giây.\n",
        group_digits(summary.rows_read.get("residents").copied().unwrap_or(0)),
        group_digits(d.pairs),
        group_digits(d.in_province),
        group_digits(d.out_of_province),
        match d.pairs_from_clusters {
            0 => String::new(),
            n => format!("; {} suy ra từ cụm", group_digits(n)),
        },
        group_digits(d.clusters),
        group_digits(d.records_to_retire),
        group_digits(summary.id_shared_pairs),
        // A register the budget held as `check` holds it was matched in memory.
        match p.spilled_bytes {
            0 => "Khớp trong bộ nhớ, không ghi tạm ra đĩa".to_string(),
            b => format!(
                "Phân vùng theo năm sinh: {} đơn vị, ghi tạm ra đĩa {}",
                p.units,
                bytes_vi(b)
            ),
        },
        summary.timings_seconds.get("total").copied().unwrap_or(0.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_counts_are_grouped_by_thousands() {
        let mut summary = Summary {
            as_of: "2026-06-30".into(),
            ..Default::default()
        };
        summary.rows_read.insert("residents".into(), 1_050_000);
        summary.findings_per_rule.insert("id.format".into(), 12_345);
        summary.duplicates.pairs = 19_594;
        summary.indicators = vec![crate::summary::IndicatorStat {
            label: "(7) Làm sạch dữ liệu tại các khu công nghiệp".into(),
            records: 7,
            ..Default::default()
        }];
        let text = render_summary(&summary);
        // The counts end in one column, however long a label is.
        let ends: Vec<usize> = text
            .lines()
            .filter(|l| l.contains("residents") || l.contains("(7)") || l.contains("id.format"))
            .map(|l| l.chars().count())
            .collect();
        assert!(
            ends.len() == 3 && ends.iter().all(|&e| e == ends[0]),
            "{text}"
        );
        assert!(
            text.contains("residents") && text.contains(" 1 050 000\n"),
            "{text}"
        );
        assert!(text.contains("     12 345\n"), "{text}");
        assert!(text.contains("Cặp trùng: 19 594"), "{text}");
        assert!(!text.contains("Bộ nhớ"), "{text}");
    }

    #[test]
    fn a_run_held_on_disk_says_so_and_why() {
        let on_disk = |need: u64, budget: u64, from: &str| Summary {
            memory: Some(crate::summary::MemoryPlan {
                estimated_need_bytes: need,
                budget_bytes: Some(budget),
                budget_from: from.into(),
                inputs_on_disk: true,
            }),
            ..Summary::default()
        };
        let text = render_summary(&on_disk(9_400_000_000, 7_830_000_000, "machine"));
        assert!(
            text.contains("Bộ nhớ: cần khoảng 9,4 GB, quá 7,8 GB (bộ nhớ còn trống của máy)"),
            "{text}"
        );
        // A small run under a small budget: the two figures read apart.
        let text = render_summary(&on_disk(140_400_000, 50_000_000, "memory_gb"));
        assert!(
            text.contains("Bộ nhớ: cần khoảng 140 MB, quá 50 MB (--memory-gb)"),
            "{text}"
        );
    }

    /// `dedup` writes what it spilled as `check` writes memory: a decimal comma, MB below 1 GB.
    #[test]
    fn dedup_says_what_it_spilled_as_check_says_memory() {
        let spilled = |bytes: u64| {
            let mut summary = DedupSummary::default();
            summary.partitions.units = 3;
            summary.partitions.spilled_bytes = bytes;
            render_dedup(&summary)
        };
        let text = spilled(1_830_000_000);
        assert!(text.contains("3 đơn vị, ghi tạm ra đĩa 1,8 GB,"), "{text}");
        let text = spilled(620_400_000);
        assert!(text.contains("ghi tạm ra đĩa 620 MB,"), "{text}");
        // A register matched in memory says so, not "1 unit, 1 MB written".
        let text = spilled(0);
        assert!(
            text.contains("Khớp trong bộ nhớ, không ghi tạm ra đĩa,"),
            "{text}"
        );
        assert!(!text.contains("đơn vị"), "{text}");
    }
}
