//! Criterion benchmarks of the hot kernels, on a generated province of 1 000 000 people:
//! the per-row rules (ID, date, sex, completeness, name form), name normalisation, pair
//! comparison and blocking. Run: `cargo bench --bench kernels`. Throughput is in rows (or
//! pairs) per second; whole-run figures come from `benches/run.sh`.

use std::path::PathBuf;
use std::sync::OnceLock;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lamsach::config::Config;
use lamsach::core::{CheckInput, Context, MatchSettings, Prepared, SourceKind, Table};
use lamsach::matching::comparisons::compare;
use lamsach::matching::features::features;
use lamsach::read::read_source;
use lamsach::rules::run_record_rules;
use lamsach::synth::generate::{generate, GenOptions, GEN_DATE};

const PEOPLE: usize = 1_000_000;

fn residents() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-data-1m");
        let file = dir.join("residents.parquet");
        if !file.exists() {
            generate(&GenOptions {
                out: dir.clone(),
                people: PEOPLE,
                ..Default::default()
            })
            .expect("generate");
        }
        let mut w = Vec::new();
        read_source(
            "residents",
            SourceKind::Residents,
            &[file],
            &Config::default(),
            &mut w,
        )
        .expect("read")
    })
}

fn rules(c: &mut Criterion) {
    let t = residents();
    let tables = std::slice::from_ref(t);
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(t.len() as u64));
    g.sample_size(10);
    g.bench_function("prepare (parse IDs, dates, sex)", |b| {
        b.iter(|| Prepared::new(t))
    });
    let prepared = vec![Prepared::new(t)];
    let ctx = Context {
        cmnd_map: None,
        deaths: None,
        as_of: GEN_DATE,
        province: None,
        matching: MatchSettings::default(),
        alive: Default::default(),
        residence: Default::default(),
        expected: vec![SourceKind::Residents.default_expected_fields().to_vec()],
    };
    let input = CheckInput::new(tables, &prepared, ctx);
    g.bench_function("per-row rules", |b| b.iter(|| run_record_rules(&input)));
    g.finish();
}

fn names(c: &mut Criterion) {
    let t = residents();
    let col = t.col("full_name");
    let names: Vec<&str> = (0..t.len()).map(|r| col.raw(r)).collect();
    let mut g = c.benchmark_group("names");
    g.throughput(Throughput::Elements(names.len() as u64));
    g.sample_size(10);
    g.bench_function("is_canonical_name", |b| {
        b.iter(|| {
            names
                .iter()
                .filter(|n| lamsach::text::is_canonical_name(n))
                .count()
        })
    });
    g.bench_function("fold", |b| {
        b.iter(|| {
            names
                .iter()
                .map(|n| lamsach::text::fold(n).len())
                .sum::<usize>()
        })
    });
    g.bench_function("name_key", |b| {
        b.iter(|| {
            names
                .iter()
                .map(|n| lamsach::text::name_key(n).len())
                .sum::<usize>()
        })
    });
    g.finish();
}

fn matching(c: &mut Criterion) {
    let t = residents();
    let prepared = Prepared::new(t);
    let mut g = c.benchmark_group("matching");
    g.sample_size(10);
    g.throughput(Throughput::Elements(t.len() as u64));
    g.bench_function("features", |b| b.iter(|| features(t, &prepared)));
    let recs = features(t, &prepared);
    g.bench_function("blocking (all passes)", |b| {
        b.iter(|| lamsach::matching::blocking::candidates(&recs, 2000))
    });
    let pairs = lamsach::matching::blocking::candidates(&recs, 2000).pairs;
    g.throughput(Throughput::Elements(pairs.len() as u64));
    g.bench_function("compare candidate pairs", |b| {
        b.iter_batched(
            || (),
            |_| {
                pairs
                    .iter()
                    .map(|&(a, b)| compare(&recs[a as usize], &recs[b as usize]).0[0] as u64)
                    .sum::<u64>()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// Jaro–Winkler and Damerau–Levenshtein on the given and family names of the candidate pairs
/// whose names differ (the only pairs that reach a string comparison): strsim against
/// rapidfuzz, to choose the crate by measurement.
fn similarity(c: &mut Criterion) {
    let t = residents();
    let prepared = Prepared::new(t);
    let recs = features(t, &prepared);
    let pairs = lamsach::matching::blocking::candidates(&recs, 2000).pairs;
    let texts: Vec<(&str, &str)> = pairs
        .iter()
        .flat_map(|&(a, b)| {
            let (ra, rb) = (&recs[a as usize], &recs[b as usize]);
            [
                (&*ra.given_text, &*rb.given_text),
                (&*ra.family_text, &*rb.family_text),
            ]
        })
        .filter(|(x, y)| x != y)
        .take(1_000_000)
        .collect();
    let mut g = c.benchmark_group("similarity");
    g.sample_size(10);
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("strsim jaro_winkler", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|(x, y)| strsim::jaro_winkler(x, y))
                .sum::<f64>()
        })
    });
    g.bench_function("rapidfuzz jaro_winkler (bytes)", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|(x, y)| rapidfuzz::distance::jaro_winkler::similarity(x.bytes(), y.bytes()))
                .sum::<f64>()
        })
    });
    g.bench_function("strsim damerau_levenshtein", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|(x, y)| strsim::damerau_levenshtein(x, y))
                .sum::<usize>()
        })
    });
    g.bench_function("rapidfuzz damerau_levenshtein (bytes)", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|(x, y)| {
                    rapidfuzz::distance::damerau_levenshtein::distance(x.bytes(), y.bytes())
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, rules, names, matching, similarity);
criterion_main!(benches);
