//! lamsach ("làm sạch", to cleanse): a batch engine that runs the "đúng, đủ, sạch, sống"
//! checks of Vietnam's population-data programme over resident, vaccination and insurance
//! extracts, and writes Parquet correction queues and per-commune fix lists.
//!
//! The house (docs/architecture.md):
//! - [`core`]: the nouns every part shares — columns, tables, parsed facts, findings, rule
//!   codes, the check input — free of I/O;
//! - [`rules`] and [`matching`]: functions over the core with no I/O and no command line;
//! - drivers that order them: [`check`] (in memory) and [`dedup`] (partitions spilled to
//!   disk);
//! - around them: [`read`] (inputs), [`report`] and [`output`] (outputs), [`summary`] (the
//!   typed `summary.json`), [`config`], [`nightly`], [`phase`] (timing), [`machine`] (the
//!   memory a run can use);
//! - leaf utilities: [`text`], [`ids`], [`dates`], [`compare`], [`reference`], [`rng`];
//! - [`synth`]: synthetic data and its scoring (`generate`, `eval`), outside the engine's path.
//!
//! The binary (`src/main.rs`) only turns arguments into options.

pub mod check;
pub mod compare;
pub mod config;
pub mod core;
pub mod dates;
pub mod dedup;
pub mod error;
pub mod ids;
pub mod kernels;
pub mod machine;
pub mod matching;
pub mod nightly;
pub mod output;
pub mod phase;
pub mod read;
pub mod reference;
pub mod report;
pub mod rng;
pub mod rules;
pub mod summary;
pub mod synth;
pub mod text;
pub mod verdicts;

pub use error::{Error, Result};

/// A fresh folder for a unit test's files, this process's own, under the system's temporary
/// folder (what was left there by a run of the same process ID is removed first).
#[cfg(test)]
pub(crate) fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lamsach-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

use std::path::Path;

/// `lamsach demo`: generate a synthetic province under `out/data`, run `check` on it into
/// `out/run`, and print the summary and the quality scores against the truth.
pub fn demo(people: usize, out: &Path, quiet: bool) -> Result<()> {
    use synth::{eval, generate};
    let data = out.join("data");
    let run = out.join("run");
    let gen = generate::GenOptions {
        out: data.clone(),
        people,
        quiet,
        ..Default::default()
    };
    let stats = generate::generate(&gen)?;
    if !quiet {
        eprintln!(
            "Dữ liệu mẫu: {} người, {} bản ghi dân cư, {} mũi tiêm, {} thẻ bảo hiểm → {}",
            phase::group_digits(stats.people),
            phase::group_digits(stats.residents),
            phase::group_digits(stats.vaccination),
            phase::group_digits(stats.insurance),
            data.display()
        );
    }
    let opts = check::CheckOptions {
        residents: vec![data.join("residents.parquet")],
        vaccination: Some(data.join("vaccination.parquet")),
        insurance: Some(data.join("insurance.parquet")),
        cmnd_map: Some(data.join("cmnd_map.parquet")),
        deaths: Some(data.join("deaths.parquet")),
        births: Some(data.join("births.parquet")),
        quiet,
        ..check::CheckOptions::new(generate::GEN_DATE, run.clone())
    };
    let outcome = check::check(&opts)?;
    if !quiet {
        let scores = eval::evaluate(&run, &data)?;
        println!("Chất lượng so với dữ liệu gốc (precision / recall / F1):");
        print!("{}", eval::render(&scores));
        println!();
        println!(
            "Kết quả: {} (report.html, fixlists/, *.parquet, summary.json)",
            run.display()
        );
        println!();
        print!("{}", report::render_summary(&outcome.summary));
    }
    Ok(())
}
