//! The report renders in a headless browser (Chromium from the system packages) with no
//! network: its sections and charts are in the page the browser built. Skipped, with a note,
//! where Chromium is not installed (CI does not install it; `benches/render_report.sh` makes
//! the screenshot in docs/).

mod common;

use common::*;

#[test]
fn report_renders_in_headless_chromium() {
    let chromium = ["chromium", "chromium-browser"].into_iter().find(|c| {
        std::process::Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(chromium) = chromium else {
        eprintln!("skipped: Chromium is not installed");
        return;
    };
    let dir = scratch("render");
    let data = dir.join("data");
    generate(&data, 5_000, 3, &[]);
    let out = dir.join("run");
    let o = check_generated(&data, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let profile = dir.join("profile");
    let page = std::fs::canonicalize(out.join("report.html")).unwrap();
    let o = std::process::Command::new("timeout")
        .arg("120")
        .arg(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(o.status.success(), "chromium: {}", stderr(&o));
    let dom = String::from_utf8_lossy(&o.stdout);
    for section in [
        "Phát hiện theo nhóm",
        "Dữ liệu đã đọc",
        "Chỉ tiêu của Bộ",
        "Quy tắc phát hiện nhiều nhất",
        "Trùng lặp và liên kết",
        "vì sao hai bản ghi được coi là một người",
    ] {
        assert!(dom.contains(section), "the rendered page lacks {section}");
    }
    assert!(dom.matches("<svg").count() >= 4, "charts drawn");
    // One inline script sorts the communes' table; nothing is fetched.
    assert_eq!(dom.matches("<script").count(), 1, "one inline script");
    assert!(!dom.contains("<script src"), "no script fetched");
}
