//! `report.html`: one self-contained page (nothing fetched; one short inline script sorts the
//! communes' table, and the page reads the same without it) for the provincial team: counts
//! per group and indicator, findings per commune (inline SVG bars), the top rules, the
//! histogram of match probabilities, and the run's metadata. In Vietnamese.

use std::fmt::Write;

use crate::core::{Group, Rule};
use crate::reference::reference;
use crate::summary::Summary;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Horizontal bars as inline SVG: (label, value).
/// A source as people read it: its Vietnamese name, with the name the run gave it.
fn source_label(name: &str, kind: &str) -> String {
    let vi = match kind {
        "residents" => "Dân cư",
        "vaccination" => "Tiêm chủng",
        "insurance" => "BHXH/BHYT",
        "births" => "Khai sinh",
        _ => return name.to_string(),
    };
    format!("{vi} ({name})")
}

fn bars(rows: &[(String, u64)], color: &str, label_w: f64) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let (bar_w, row_h) = (900.0 - label_w, 22.0);
    let h = rows.len() as f64 * row_h + 8.0;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{h}" role="img">"#,
        label_w + bar_w + 80.0
    );
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let w = (*v as f64 / max * bar_w).max(1.0);
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end" font-size="12">{}</text><rect x="{}" y="{}" width="{w:.1}" height="{}" fill="{color}"/><text x="{}" y="{}" font-size="12">{}</text>"#,
            label_w - 6.0,
            y + 14.0,
            esc(label),
            label_w,
            y + 3.0,
            row_h - 6.0,
            label_w + w + 4.0,
            y + 14.0,
            crate::phase::group_digits(*v as usize)
        );
    }
    s.push_str("</svg>");
    s
}

/// A change as people read it: "+14", "-3", "0".
fn signed(d: i64) -> String {
    if d > 0 {
        format!("+{d}")
    } else {
        d.to_string()
    }
}

/// Rows of a "since the previous run" table, from (label, findings now, new, gone): those that
/// changed, the largest change first, at most `limit`; columns before, now, new, gone, change.
fn since_rows(entries: Vec<(String, usize, usize, usize)>, limit: usize) -> Vec<Vec<String>> {
    let mut changed: Vec<_> = entries.into_iter().filter(|e| e.2 + e.3 > 0).collect();
    changed.sort_by(|a, b| {
        b.2.abs_diff(b.3)
            .cmp(&a.2.abs_diff(a.3))
            .then_with(|| a.0.cmp(&b.0))
    });
    changed
        .into_iter()
        .take(limit)
        .map(|(label, findings, new, gone)| {
            vec![
                label,
                (findings + gone - new).to_string(),
                findings.to_string(),
                new.to_string(),
                gone.to_string(),
                signed(new as i64 - gone as i64),
            ]
        })
        .collect()
}

/// A comparison field's name as people read it.
fn field_vi(field: &str) -> &str {
    match field {
        "family" => "Họ",
        "middle" => "Tên đệm",
        "given" => "Tên",
        "birth" => "Ngày sinh",
        "sex" => "Giới tính",
        "pid" => "Số định danh",
        "id_typo" => "Số định danh gõ sai",
        "cmnd" => "Số CMND",
        "parents" => "Cha mẹ",
        "place" => "Nơi ở",
        "address" => "Địa chỉ",
        "ethnicity" => "Dân tộc",
        "religion" => "Tôn giáo",
        "birth_place" => "Nơi sinh",
        "hometown" => "Quê quán",
        "household" => "Hộ",
        other => other,
    }
}

/// The waterfall of one pair's match weight: the prior, then each field's weight added in
/// turn (green for, red against), then the total, as inline SVG.
fn waterfall(e: &crate::summary::DuplicateExample) -> String {
    let mut steps: Vec<(String, f64)> = vec![("Tiên nghiệm".to_string(), e.prior_weight)];
    steps.extend(
        e.fields
            .iter()
            .map(|(f, l, w)| (format!("{} · {l}", field_vi(f)), *w)),
    );
    let mut cum = 0.0f64;
    let mut spans = Vec::with_capacity(steps.len() + 1);
    for (label, w) in &steps {
        spans.push((label.clone(), cum, cum + w, *w));
        cum += w;
    }
    spans.push(("Tổng".to_string(), 0.0, cum, cum));
    let lo = spans.iter().map(|s| s.1.min(s.2)).fold(0.0f64, f64::min);
    let hi = spans.iter().map(|s| s.1.max(s.2)).fold(0.0f64, f64::max);
    let (label_w, bar_w, row_h) = (300.0, 520.0, 20.0);
    let scale = bar_w / (hi - lo).max(1.0);
    let x = |v: f64| label_w + (v - lo) * scale;
    let h = spans.len() as f64 * row_h + 8.0;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{h}" role="img">"#,
        label_w + bar_w + 70.0
    );
    let _ = write!(
        s,
        r##"<line x1="{0:.1}" y1="0" x2="{0:.1}" y2="{h}" stroke="#999" stroke-dasharray="3,3"/>"##,
        x(0.0)
    );
    for (i, (label, from, to, w)) in spans.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let last = i + 1 == spans.len();
        let color = if last {
            "#555"
        } else if *w >= 0.0 {
            "#3b8a4f"
        } else {
            "#b5523b"
        };
        let (a, b) = (x(from.min(*to)), x(from.max(*to)));
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end">{}</text><rect x="{a:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{color}"/><text x="{:.1}" y="{:.1}" font-size="11">{:+.1}</text>"#,
            label_w - 6.0,
            y + 13.0,
            esc(label),
            (b - a).max(1.0),
            row_h - 6.0,
            b + 4.0,
            y + 13.0,
            w
        );
    }
    s.push_str("</svg>");
    s
}

/// Vertical histogram of match probabilities (bins of 0.05 from 0.5 to 1.0).
fn histogram(probabilities: &[f64]) -> String {
    let mut bins = [0u64; 10];
    for p in probabilities {
        let b = (((p - 0.5) / 0.05).floor().max(0.0) as usize).min(9);
        bins[b] += 1;
    }
    let max = *bins.iter().max().unwrap_or(&1).max(&1) as f64;
    let (w, h, bw) = (560.0, 180.0, 50.0);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{}" role="img">"#,
        h + 40.0
    );
    for (i, n) in bins.iter().enumerate() {
        let bh = *n as f64 / max * h;
        let x = 20.0 + i as f64 * (bw + 4.0);
        let _ = write!(
            s,
            r##"<rect x="{x}" y="{}" width="{bw}" height="{bh:.1}" fill="#2f6f9f"/><text x="{}" y="{}" font-size="11" text-anchor="middle">{n}</text><text x="{}" y="{}" font-size="11" text-anchor="middle">{:.2}</text>"##,
            h - bh + 14.0,
            x + bw / 2.0,
            h - bh + 10.0,
            x + bw / 2.0,
            h + 30.0,
            0.5 + i as f64 * 0.05
        );
    }
    s.push_str("</svg>");
    s
}

fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    table_with(head, rows, |i, c| {
        let digits = c.strip_prefix(['+', '-']).unwrap_or(c);
        let number = i > 0
            && !digits.is_empty()
            && digits.chars().all(|ch| ch.is_ascii_digit() || ch == '.');
        let html = number.then(|| grouped(c)).flatten();
        (number, html.unwrap_or_else(|| esc(c)))
    })
}

/// A count as people read it, thousands grouped ("+1 050 000"); None for any other text (a
/// decimal, a code with a leading zero), which is shown as it is.
fn grouped(c: &str) -> Option<String> {
    let (sign, digits) = match c.strip_prefix(['+', '-']) {
        Some(rest) => (&c[..1], rest),
        None => ("", c),
    };
    match digits.parse::<usize>() {
        Ok(n) if !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(format!("{sign}{}", crate::phase::group_digits(n)))
        }
        _ => None,
    }
}

/// A table; `cell` gives, per column index and text, whether it is a number (right-aligned)
/// and its HTML.
fn table_with(
    head: &[&str],
    rows: &[Vec<String>],
    cell: impl Fn(usize, &str) -> (bool, String),
) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let (number, html) = cell(i, c);
            let class = if number { " class=\"n\"" } else { "" };
            let _ = write!(s, "<td{class}>{html}</td>");
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

/// A table whose rows sort by a column when its header is clicked (see [`SORT_SCRIPT`]).
fn sortable(table: String) -> String {
    table.replacen("<table>", "<table class=\"sortable\">", 1)
}

/// Sorts a `table.sortable` by the clicked column (numbers as numbers, text in Vietnamese
/// order; a second click reverses). Inline, fetching nothing; without it the table stays in
/// its printed order.
const SORT_SCRIPT: &str = r#"<script>
document.querySelectorAll("table.sortable th").forEach(function (th, col) {
  th.style.cursor = "pointer"; th.title = "Bấm để sắp xếp";
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], rows = Array.prototype.slice.call(body.rows);
    var up = th.getAttribute("data-up") !== "1"; th.setAttribute("data-up", up ? "1" : "0");
    var num = function (t) { return t.trim() === "" ? null : Number(t.replace(/\s/g, "")); };
    rows.sort(function (a, b) {
      var x = a.cells[col].textContent, y = b.cells[col].textContent, p = num(x), q = num(y);
      var c = (p !== null && q !== null && !isNaN(p) && !isNaN(q)) ? p - q
        : (p === null) - (q === null) || x.localeCompare(y, "vi");
      return up ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
</script>"#;

/// [`table`] whose cells are already HTML (escaped by the caller: links); every column after
/// the second is a number.
fn raw_table(head: &[&str], rows: &[Vec<String>]) -> String {
    table_with(head, rows, |i, c| {
        let counted = (i > 1).then(|| grouped(c)).flatten();
        (i > 1, counted.unwrap_or_else(|| c.to_string()))
    })
}

/// The page, from the summary and the duplicate pairs' probabilities.
pub fn render(summary: &Summary, probabilities: &[f64]) -> String {
    let r = reference();
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>lamsach — kết quả làm sạch dữ liệu dân cư</h1><p class=\"meta\">Ngày tham chiếu {} · tỉnh {} · phiên bản {} · thời gian chạy {:.1} s</p>",
        esc(&summary.as_of),
        esc(summary.province.as_deref().map(|p| format!("{p} {}", r.province_name(p).unwrap_or(""))).as_deref().unwrap_or("tất cả")),
        esc(&summary.lamsach_version),
        summary.timings_seconds.get("total").copied().unwrap_or(0.0)
    );
    // Groups.
    body.push_str("<h2>Phát hiện theo nhóm</h2><div class=\"cards\">");
    // Each card: the group's findings, and the records they are on (a record in nine
    // duplicate pairs holds eighteen findings).
    for g in Group::ALL {
        let count = |m: &std::collections::BTreeMap<String, usize>| {
            crate::phase::group_digits(m.get(g.code()).copied().unwrap_or(0))
        };
        let _ = write!(
            body,
            "<div class=\"card\"><div class=\"k\">{}</div><div class=\"v\">{}</div><div class=\"s\">phát hiện, trên {} bản ghi</div></div>",
            g.label_vi(),
            count(&summary.findings_per_group),
            count(&summary.records_per_group),
        );
    }
    body.push_str("</div>");
    // Rows read: the residents first, then the extracts and the births, as the run reads them
    // (summary.json keeps its sources by name).
    let rank = |kind: &str| match kind {
        "residents" => 0,
        "vaccination" => 1,
        "insurance" => 2,
        "births" => 4,
        _ => 3,
    };
    let mut read: Vec<(&String, &crate::summary::Accounting)> = summary.accounting.iter().collect();
    read.sort_by_key(|(k, _)| rank(summary.sources.get(*k).map_or("", String::as_str)));
    let rows: Vec<Vec<String>> = read
        .into_iter()
        .map(|(k, v)| {
            vec![
                source_label(k, summary.sources.get(k).map_or("", String::as_str)),
                v.rows_read.to_string(),
                v.rows_with_findings.to_string(),
                v.rows_without_findings.to_string(),
            ]
        })
        .collect();
    body.push_str("<h2>Dữ liệu đã đọc</h2>");
    body.push_str(&table(
        &["Nguồn", "Bản ghi", "Có phát hiện", "Không có phát hiện"],
        &rows,
    ));
    // Indicators.
    let rows: Vec<Vec<String>> = summary
        .indicators
        .iter()
        .map(|i| {
            vec![
                i.label.clone(),
                i.records.to_string(),
                i.units_vi().unwrap_or_default(),
                i.new.to_string(),
                i.resolved.to_string(),
            ]
        })
        .collect();
    body.push_str("<h2>Chỉ tiêu của Bộ</h2>");
    body.push_str(&table(
        &["Chỉ tiêu", "Bản ghi", "Hộ / người", "Mới", "Đã làm sạch"],
        &rows,
    ));
    // Indicators (6) and (7): new to the register or matched, per extract and data source.
    let split: Vec<Vec<String>> = summary
        .indicators
        .iter()
        .flat_map(|i| {
            i.split.iter().map(move |x| {
                vec![
                    i.label.clone(),
                    x.source.clone(),
                    if x.data_source.is_empty() {
                        "—".to_string()
                    } else {
                        x.data_source.clone()
                    },
                    x.rows.to_string(),
                    x.nhap_moi.to_string(),
                    x.doi_khop.to_string(),
                ]
            })
        })
        .collect();
    if !split.is_empty() {
        body.push_str("<h3>Phạm nhân, khu công nghiệp: nhập mới và đối khớp</h3>");
        body.push_str(&table(
            &[
                "Chỉ tiêu",
                "Danh sách",
                "Nguồn dữ liệu",
                "Bản ghi",
                "Nhập mới",
                "Đối khớp",
            ],
            &split,
        ));
    }
    // Against the previous run (check --previous): the figures side by side with the change
    // (a bar of 6 974 beside one of 6 988 shows no difference; a "+14" does).
    if let Some(prev) = &summary.previous_indicators {
        let rows: Vec<Vec<String>> = summary
            .indicators
            .iter()
            .map(|i| {
                let before = prev.get(&i.key).copied().unwrap_or(0) as i64;
                let now = i.records as i64;
                vec![
                    i.label.clone(),
                    before.to_string(),
                    now.to_string(),
                    signed(now - before),
                ]
            })
            .collect();
        let when = summary
            .previous_as_of
            .as_deref()
            .map(|d| format!(" (ngày tham chiếu {d})"))
            .unwrap_or_default();
        body.push_str(&format!("<h3>So với lần chạy trước{}</h3>", esc(&when)));
        body.push_str(&table(
            &["Chỉ tiêu", "Lần trước", "Lần này", "Thay đổi"],
            &rows,
        ));
        // By rule and by commune: findings now, new ones, those gone since, and the change.
        let headers = ["Lần trước", "Lần này", "Mới", "Đã hết", "Thay đổi"];
        let by_rule = since_rows(
            summary
                .rule_stats
                .iter()
                .map(|(k, r)| (k.clone(), r.findings, r.new, r.resolved))
                .collect(),
            usize::MAX,
        );
        if !by_rule.is_empty() {
            body.push_str("<h3>Theo quy tắc</h3>");
            body.push_str(&table(&[&["Quy tắc"][..], &headers].concat(), &by_rule));
        }
        let communes_changed = summary
            .commune_stats
            .values()
            .filter(|c| c.new + c.resolved > 0)
            .count();
        let by_commune = since_rows(
            summary
                .commune_stats
                .iter()
                .map(|(k, c)| {
                    let label = if k.is_empty() {
                        "(không có mã xã)".to_string()
                    } else {
                        format!("{k} {}", crate::reference::reference().commune_label(k))
                    };
                    (label, c.findings, c.new, c.resolved)
                })
                .collect(),
            30,
        );
        if !by_commune.is_empty() {
            body.push_str(&format!(
                "<h3>Theo xã (30 xã thay đổi nhiều nhất trên {communes_changed})</h3>"
            ));
            body.push_str(&table(&[&["Xã"][..], &headers].concat(), &by_commune));
        }
    }
    // Top rules.
    let mut rules: Vec<(String, u64)> = summary
        .findings_per_rule
        .iter()
        .map(|(k, v)| (k.clone(), *v as u64))
        .filter(|r| r.1 > 0)
        .collect();
    rules.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let labelled: Vec<(String, u64)> = rules
        .iter()
        .take(15)
        .map(|(k, v)| {
            let d = Rule::from_code(k).map(|r| r.description_vi()).unwrap_or("");
            // A label longer than its column is cut, not run off the page.
            let label = format!("{k} · {d}");
            let label = match label.char_indices().nth(72) {
                Some((at, _)) => format!("{}…", &label[..at]),
                None => label,
            };
            (label, *v)
        })
        .collect();
    body.push_str("<h2>Quy tắc phát hiện nhiều nhất</h2>");
    body.push_str(&bars(&labelled, "#b5523b", 560.0));
    // Communes: ranked by findings per 100 records (the worst by rate, not the largest),
    // then every commune in a table linked to its fix list.
    let mut rated: Vec<(&String, &crate::summary::CommuneStat)> = summary
        .commune_stats
        .iter()
        .filter(|(_, c)| c.findings_per_100_records.is_some() && c.records_evaluated >= 20)
        .collect();
    rated.sort_by(|a, b| {
        let (x, y) = (
            a.1.findings_per_100_records.unwrap_or(0.0),
            b.1.findings_per_100_records.unwrap_or(0.0),
        );
        y.total_cmp(&x).then(a.0.cmp(b.0))
    });
    let name_of = |code: &str| {
        if code.is_empty() {
            return "(bản ghi không có mã xã)".to_string();
        }
        r.commune(code)
            .map(|c| c.full_name.clone())
            .unwrap_or_else(|| r.commune_label(code))
    };
    let total_communes = summary.commune_stats.len();
    let top: Vec<(String, u64)> = rated
        .iter()
        .take(30)
        .map(|(code, c)| {
            (
                format!("{code} {}", name_of(code)),
                c.findings_per_100_records.unwrap_or(0.0).round() as u64,
            )
        })
        .collect();
    let _ = write!(
        body,
        "<h2>Xã có tỷ lệ phát hiện cao nhất (phát hiện trên 100 bản ghi; 30 trên {total_communes} xã, xã từ 20 bản ghi)</h2>"
    );
    body.push_str(&bars(&top, "#2f6f9f", 300.0));
    // Every commune in the table: those rated first, by rate; then those too small to rate.
    let mut unrated: Vec<(&String, &crate::summary::CommuneStat)> = summary
        .commune_stats
        .iter()
        .filter(|(code, _)| !rated.iter().any(|(r, _)| r == code))
        .collect();
    unrated.sort_by(|a, b| b.1.findings.cmp(&a.1.findings).then(a.0.cmp(b.0)));
    let rows: Vec<Vec<String>> = rated
        .iter()
        .chain(&unrated)
        .map(|(code, c)| {
            let file = crate::report::fixlist::commune_file(code);
            vec![
                format!("<a href=\"fixlists/{file}.xlsx\">{}</a>", esc(code)),
                esc(&name_of(code)),
                c.records_evaluated.to_string(),
                c.findings.to_string(),
                c.findings_per_100_records
                    .map_or(String::new(), |v| format!("{v:.1}")),
                c.new.to_string(),
                c.resolved.to_string(),
            ]
        })
        .collect();
    let _ = write!(
        body,
        "<h2>Tất cả {total_communes} xã (theo tỷ lệ; bấm tiêu đề cột để sắp xếp; mã xã mở danh sách cần sửa)</h2>"
    );
    body.push_str(&sortable(raw_table(
        &[
            "Mã xã",
            "Tên xã",
            "Bản ghi",
            "Phát hiện",
            "Trên 100 bản ghi",
            "Mới",
            "Đã làm sạch",
        ],
        &rows,
    )));
    // Matching.
    let d = &summary.duplicates;
    let _ = write!(
        body,
        "<h2>Trùng lặp và liên kết</h2><p>{} cặp trùng{} trong {} cụm · {} bản ghi liên kết được đề xuất số định danh · {} cặp ứng viên đã so sánh · {} cặp bị bỏ qua do khối quá lớn</p><h3>Phân bố xác suất trùng</h3>",
        d.pairs,
        super::render::from_clusters(d.pairs_from_clusters),
        d.clusters,
        d.links,
        d.pairs_compared,
        d.blocks_skipped_pairs
    );
    body.push_str(&histogram(probabilities));
    if !d.examples.is_empty() {
        body.push_str(
            "<h3>Ví dụ: vì sao hai bản ghi được coi là một người</h3><p>Mỗi thanh là trọng số của một trường (log₂ tỷ số khả năng): xanh ủng hộ, đỏ phản đối; bắt đầu từ xác suất tiên nghiệm của hai bản ghi bất kỳ.</p>",
        );
        for e in &d.examples {
            let _ = write!(
                body,
                "<h4>{} và {} · xác suất {:.3}</h4>",
                esc(&e.record_id_a),
                esc(&e.record_id_b),
                e.probability
            );
            body.push_str(&waterfall(e));
        }
    }
    // The officers' verdicts.
    let v = &summary.verdicts;
    if v.read > 0 {
        let _ = write!(
            body,
            "<h2>Kết quả xác minh của xã</h2><p>{} kết quả đang có hiệu lực · {} phát hiện không báo lại · {} kết quả hết hiệu lực do bản ghi đã thay đổi</p><ul>",
            v.read, v.findings_withdrawn, v.records_changed
        );
        for (label, n) in &v.per_verdict {
            let _ = write!(body, "<li>{}: {n}</li>", esc(label));
        }
        body.push_str("</ul>");
    }
    // Warnings and timings.
    if !summary.warnings.is_empty() {
        body.push_str("<h2>Cảnh báo</h2><ul>");
        for x in &summary.warnings {
            let _ = write!(body, "<li>{}</li>", esc(x));
        }
        body.push_str("</ul>");
    }
    let rows: Vec<Vec<String>> = summary
        .timings_seconds
        .iter()
        .map(|(k, v)| vec![k.clone(), format!("{v:.3}")])
        .collect();
    body.push_str(
        "<details><summary>Thông tin kỹ thuật: thời gian theo giai đoạn (giây)</summary>",
    );
    body.push_str(&table(&["Giai đoạn", "Giây"], &rows));
    body.push_str("</details>");

    format!(
        r#"<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><title>lamsach — báo cáo</title>
<style>
body{{font-family:"Noto Sans","Segoe UI",Arial,sans-serif;margin:24px;color:#222;max-width:1040px}}
h1{{font-size:22px}} h2{{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}}
.meta{{color:#666}} table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ddd;padding:4px 8px;text-align:left}} td.n{{text-align:right}}
.cards{{display:flex;gap:12px}} .card{{border:1px solid #ccc;border-radius:6px;padding:10px 18px}}
.card .k{{color:#666}} .card .v{{font-size:24px;font-weight:bold}} .card .s{{color:#666;font-size:13px}}
</style></head><body>
{body}
{SORT_SCRIPT}
</body></html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_escaped() {
        let mut summary = Summary {
            as_of: "2026-06-30".into(),
            province: Some("01".into()),
            lamsach_version: "0.1.0".into(),
            warnings: vec!["a <b> warning".into()],
            ..Default::default()
        };
        summary.timings_seconds.insert("total".into(), 1.5);
        summary.findings_per_group = [("dung", 3), ("du", 1), ("sach", 2), ("song", 0)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        summary.findings_per_rule = [
            ("id.format".to_string(), 3),
            ("household.no_head".to_string(), 2),
        ]
        .into();
        summary.findings_per_commune = [("00004".to_string(), 5)].into();
        summary.commune_stats = [(
            "00004".to_string(),
            crate::summary::CommuneStat {
                records_evaluated: 40,
                findings: 5,
                findings_per_100_records: Some(12.5),
                new: 5,
                resolved: 0,
            },
        )]
        .into();
        summary.indicators = vec![crate::summary::IndicatorStat {
            label: "(3) Hộ không có chủ hộ".into(),
            records: 2,
            households: Some(1),
            ..Default::default()
        }];
        summary.accounting.insert(
            "residents".into(),
            crate::summary::Accounting {
                rows_read: 1_050_000,
                rows_with_findings: 12_345,
                rows_without_findings: 1_037_655,
                ..Default::default()
            },
        );
        let html = render(&summary, &[0.97, 0.99, 0.5]);
        // Counts in tables are grouped as on the cards; codes and decimals are left alone.
        assert!(html.contains("<td class=\"n\">1 050 000</td>"), "{html}");
        assert!(html.contains("<td class=\"n\">12 345</td>"));
        assert!(html.contains("<td class=\"n\">12.5</td>"));
        assert_eq!(grouped("+1234").as_deref(), Some("+1 234"));
        assert_eq!(grouped("00004"), None);
        assert!(html.contains("<svg"));
        assert!(html.contains("Phường Ba Đình"));
        // Every commune links to its fix list (a relative link, opened beside the report).
        assert!(html.contains("<a href=\"fixlists/00004.xlsx\">00004</a>"));
        assert!(
            html.contains("<details>"),
            "timings are in a technical section"
        );
        assert!(html.contains("a &lt;b&gt; warning"));
        // One inline script (the communes' table sorts), nothing linked or fetched.
        assert_eq!(html.matches("<script").count(), 1);
        assert!(!html.contains("<script src") && !html.contains("<link"));
        assert!(html.contains("<table class=\"sortable\">"));
        // The only address is the SVG namespace: nothing is fetched.
        assert_eq!(
            html.matches("http").count(),
            html.matches("http://www.w3.org/2000/svg").count()
        );
    }
}
