//! The `lamsach` command line: declares the flags once, turns them into the library's options
//! (validating usage here, before any input is read), and maps errors to exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use lamsach::check::CheckOptions;
use lamsach::config::Config;
use lamsach::dates::{parse_as_of, today};
use lamsach::dedup::DedupOptions;
use lamsach::error::{Error, Result};
use lamsach::synth::generate::GenOptions;
use lamsach::{bail, ensure};

#[derive(Parser)]
#[command(
    name = "lamsach",
    version,
    about = "Làm sạch dữ liệu dân cư: đúng, đủ, sạch, sống"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a synthetic province and run `check` on it, then print the summary.
    Demo {
        #[arg(long, default_value_t = 100_000)]
        people: usize,
        #[arg(long, default_value = "lamsach-demo")]
        out: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Write a synthetic dataset with known ground truth.
    Generate {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        people: usize,
        #[arg(long, default_value_t = 3)]
        provinces: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long, default_value_t = 0.02)]
        dup_rate: f64,
        #[arg(long, default_value_t = 0.02)]
        error_rate: f64,
        /// How records are damaged: `standard`, or `registers` (damage in any field, OCR,
        /// missing dates, other given names, IDs typed wrong, namesakes).
        #[arg(long, default_value = "standard")]
        noise: String,
        /// Write the residents and extracts without ID columns (personal_id, old_id).
        #[arg(long)]
        without_ids: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Check resident data and linked extracts; write correction queues and fix lists.
    Check(Box<CheckArgs>),
    /// National duplicate detection over a register larger than memory: residents only,
    /// spilled to disk by birth year; writes duplicates, clusters, findings and a summary.
    Dedup(DedupArgs),
    /// The trend of each indicator group over a series of `check` output directories.
    History {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Score a `check` output directory against a `generate` truth directory.
    Eval {
        #[arg(long)]
        run: PathBuf,
        #[arg(long)]
        truth: PathBuf,
    },
}

#[derive(Args, Clone)]
struct Common {
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bars and no printed summary.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct CheckArgs {
    /// Resident register (dân cư): Parquet, CSV or XLSX; repeat for several files.
    #[arg(long, required = true)]
    residents: Vec<PathBuf>,
    /// Vaccination extract (tiêm chủng).
    #[arg(long)]
    vaccination: Option<PathBuf>,
    /// Insurance extract (BHXH/BHYT).
    #[arg(long)]
    insurance: Option<PathBuf>,
    /// Another linked extract, as NAME=FILE (e.g. pham_nhan=prisoners.csv).
    #[arg(long = "extract", value_name = "NAME=FILE")]
    extracts: Vec<String>,
    /// CMND crosswalk: old_id, personal_id.
    #[arg(long)]
    cmnd_map: Option<PathBuf>,
    /// Death registrations (hộ tịch khai tử): personal_id, full_name, birth_date, death_date.
    #[arg(long)]
    deaths: Option<PathBuf>,
    /// Birth registrations (hộ tịch khai sinh): record_id, personal_id, full_name, birth_date,
    /// sex, father_name, mother_name, commune_code, registration_date.
    #[arg(long)]
    births: Option<PathBuf>,
    /// Report only what touches records resident in this province (2-digit code).
    #[arg(long)]
    province: Option<String>,
    /// Reference date for ages and future-date checks (default: today).
    #[arg(long)]
    as_of: Option<String>,
    /// TOML config: header mapping, expected fields, severity, thresholds, matching.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output directory (created if needed; files appear only when the run succeeds).
    #[arg(long)]
    out: PathBuf,
    /// Create output files readable by the group too (default: owner only).
    #[arg(long)]
    group_readable: bool,
    /// A former run's output directory: findings get a status (new / open) and
    /// resolved.parquet lists what no longer fires.
    #[arg(long)]
    previous: Option<PathBuf>,
    /// A saved matching model (model.json of any run) to reuse instead of estimating one.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Estimate the matching model anew even when --previous has one.
    #[arg(long)]
    retrain: bool,
    /// Returned fix lists (XLSX/CSV, their "Kết quả xác minh" column) or a Parquet verdict
    /// table: findings marked "Không phải lỗi" and pairs marked "Không trùng" are not
    /// reported again while their records are unchanged (repeatable).
    #[arg(long, num_args = 1..)]
    verdicts: Vec<PathBuf>,
    /// A memory budget in GB: when the run would need more (estimated from the inputs'
    /// sizes), the input columns are held on disk in the output directory, memory-mapped,
    /// and read back as the phases need them. The results are the same. Default: nine
    /// tenths of the memory available when the run starts (the container's limit counts).
    #[arg(long)]
    memory_gb: Option<f64>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct DedupArgs {
    /// Resident register (dân cư): Parquet, CSV or XLSX; repeat for several files.
    #[arg(long, required = true)]
    residents: Vec<PathBuf>,
    /// TOML config: header mapping, matching thresholds and block size.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output directory (created if needed; files appear only when the run succeeds).
    #[arg(long)]
    out: PathBuf,
    /// Where to spill the partitions (default: the output directory); needs about 150
    /// bytes a record.
    #[arg(long)]
    spill_dir: Option<PathBuf>,
    /// Memory for the records matched at once, in GB; the rest waits on disk.
    #[arg(long, default_value_t = 4.0)]
    memory_gb: f64,
    /// Create output files readable by the group too (default: owner only).
    #[arg(long)]
    group_readable: bool,
    #[command(flatten)]
    common: Common,
}

fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        ensure!(n >= 1, usage: "--threads must be at least 1");
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        ensure!(
            n <= 1024,
            usage: "--threads {n} is more than lamsach can use: give at most 1024 (this machine has {cores} cores, the default)"
        );
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(Error::internal)?;
    }
    Ok(())
}

fn load_config(path: &Option<PathBuf>) -> Result<Config> {
    match path {
        Some(p) => Config::load(p),
        None => Ok(Config::default()),
    }
}

/// The options of `check`, validated.
fn check_options(a: CheckArgs) -> Result<CheckOptions> {
    let as_of = match &a.as_of {
        None => today(),
        Some(s) => match parse_as_of(s) {
            Some(d) => d,
            None => bail!(usage: "--as-of takes a full date such as 2026-06-30, not \"{s}\""),
        },
    };
    let mut extracts = Vec::new();
    for e in &a.extracts {
        match e.split_once('=') {
            Some((n, f)) if !n.trim().is_empty() && !f.is_empty() => {
                extracts.push((n.trim().to_string(), PathBuf::from(f)))
            }
            _ => bail!(usage: "--extract takes NAME=FILE, not \"{e}\""),
        }
    }
    let memory = a.memory_gb.map(memory_budget).transpose()?;
    let config = load_config(&a.config)?;
    let opts = CheckOptions {
        residents: a.residents,
        vaccination: a.vaccination,
        insurance: a.insurance,
        extracts,
        cmnd_map: a.cmnd_map,
        deaths: a.deaths,
        births: a.births,
        province: a.province,
        as_of,
        config,
        out: a.out,
        quiet: a.common.quiet,
        group_readable: a.group_readable,
        previous: a.previous,
        model: a.model,
        retrain: a.retrain,
        verdicts: a.verdicts,
        tables: Vec::new(),
        memory,
    };
    opts.validate()?;
    Ok(opts)
}

/// `--memory-gb` in bytes (check's and dedup's).
fn memory_budget(gigabytes: f64) -> Result<u64> {
    lamsach::machine::budget_bytes(gigabytes)
        .ok_or_else(|| Error::usage("--memory-gb takes a positive number of gigabytes"))
}

/// The options of `dedup`, validated.
fn dedup_options(a: DedupArgs) -> Result<DedupOptions> {
    let memory = memory_budget(a.memory_gb)?;
    Ok(DedupOptions {
        residents: a.residents,
        config: load_config(&a.config)?,
        out: a.out,
        spill_dir: a.spill_dir,
        memory,
        quiet: a.common.quiet,
        group_readable: a.group_readable,
    })
}

/// Run the command; Ok(true) when a configured threshold was breached (exit code 3).
fn run(cli: Cli) -> Result<bool> {
    match cli.command {
        Command::Generate {
            out,
            people,
            provinces,
            seed,
            dup_rate,
            error_rate,
            noise,
            without_ids,
            common,
        } => {
            set_threads(common.threads)?;
            let Some(noise) = lamsach::synth::generate::Noise::from_name(&noise) else {
                bail!(usage: "--noise takes standard or registers, not \"{noise}\"");
            };
            let opts = GenOptions {
                out: out.clone(),
                people,
                provinces,
                seed,
                dup_rate,
                error_rate,
                noise,
                without_ids,
                quiet: common.quiet,
            };
            let t = std::time::Instant::now();
            let s = lamsach::synth::generate::generate(&opts)?;
            if !common.quiet {
                eprintln!(
                    "wrote {} in {:.1} s: {} residents ({} duplicate records), {} vaccination, {} insurance, {} crosswalk, {} deaths, {} births, {} injected defects",
                    out.display(),
                    t.elapsed().as_secs_f64(),
                    s.residents,
                    s.duplicate_records,
                    s.vaccination,
                    s.insurance,
                    s.cmnd_map,
                    s.deaths,
                    s.births,
                    s.defects
                );
            }
            Ok(false)
        }
        Command::Check(args) => {
            set_threads(args.common.threads)?;
            let quiet = args.common.quiet;
            let opts = check_options(*args)?;
            let outcome = lamsach::check::check(&opts)?;
            if !quiet {
                print!("{}", lamsach::report::render_summary(&outcome.summary));
                // Where to look next (paths only: no personal data).
                let lists = std::fs::read_dir(opts.out.join("fixlists"))
                    .map(|d| d.count() / 2)
                    .unwrap_or(0);
                println!(
                    "Báo cáo: {}\nDanh sách cần sửa theo xã ({} xã): {}",
                    opts.out.join("report.html").display(),
                    lamsach::phase::group_digits(lists),
                    opts.out.join("fixlists").display()
                );
            }
            for b in &outcome.breached {
                eprintln!("lamsach: threshold exceeded: {b}");
            }
            Ok(!outcome.breached.is_empty())
        }
        Command::Dedup(a) => {
            set_threads(a.common.threads)?;
            let quiet = a.common.quiet;
            let opts = dedup_options(a)?;
            let outcome = lamsach::dedup::dedup(&opts)?;
            if !quiet {
                print!("{}", lamsach::report::render_dedup(&outcome.summary));
            }
            Ok(false)
        }
        Command::History { dirs } => {
            print!("{}", lamsach::nightly::history(&dirs)?);
            Ok(false)
        }
        Command::Demo {
            people,
            out,
            common,
        } => {
            set_threads(common.threads)?;
            lamsach::demo(people, &out, common.quiet)?;
            Ok(false)
        }
        Command::Eval { run, truth } => {
            let report = lamsach::synth::eval::evaluate(&run, &truth)?;
            print!("{}", lamsach::synth::eval::render(&report));
            let json = serde_json::to_string_pretty(&report).map_err(Error::internal)?;
            let staging = lamsach::output::Staging::adding(&run, true)?;
            staging.write_bytes("eval.json", json.as_bytes())?;
            staging.commit()?;
            Ok(false)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(lamsach::error::EXIT_THRESHOLD as u8),
        Err(e) => {
            eprintln!("lamsach: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
