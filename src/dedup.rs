//! `lamsach dedup`: duplicate detection over a register larger than memory (the national
//! register, ~100 M residents, on one machine), spilling partitions to disk.
//!
//! Every blocking pass of the matcher keys on the birth year, except the two ID passes
//! (personal ID, old CMND). So the records' matching features are spilled to disk in one
//! bucket per birth year, and the buckets are matched a few years at a time — a *unit* that
//! fits the memory budget — with the same blocking, comparison and decisions as `check`. The
//! only pairs a unit cannot see are those sharing an ID but born in different units; they come
//! from a compact (key, row) index of the two IDs kept in memory (12 bytes a record).
//!
//! Phases, in order (each traced with `LAMSACH_TRACE=1`):
//! 1. `stream`: read the residents chunk by chunk; features; spill each record to its birth
//!    year's bucket, and its record_id hash (for the uniqueness check) to a file of its own;
//!    keep the ID index, the name counts and a uniform sample for the model. Nothing of a
//!    chunk's text is kept.
//! 2. `ids`: blocks of the ID index give the model's training pairs and the pairs across
//!    units, and the year-free key files the other pairs across units, spilled by pair of
//!    units; a pair of units at a time, their records are fetched from the buckets, in runs of
//!    as many records as the budget leaves beside the register (to apply each pass's scope).
//! 3. `model`: EM on the ID sessions (as `check` trains it), u on the sample; the pairs across
//!    units judged, their records fetched again in runs.
//! 4. `units`: per unit, load its buckets, block, compare, decide.
//! 5. `record_ids`: read the residents again for the record_id, province and commune of the
//!    records in pairs (and of records whose record_id hashes collide).
//! 6. `outputs`: clusters and the files, written atomically.
//!
//! A register the budget holds as `check` holds it ([`fits_in_memory`], known from its Parquet
//! footers and sizes) skips all of this: it is read whole and matched by `check`'s own steps
//! ([`in_memory`]), nothing spilled.

pub mod parts;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::Config;
use crate::core::hash::{first_duplicate, h64};
use crate::core::{Column, Finding, Prepared, RowRef, SourceKind, Table};
use crate::error::{Error, Result};
use crate::matching::cluster::{self, cluster_members_by, filled_fields, KeepRank};
use crate::matching::decide::{self, Judge, Judged, ReviewPair};
use crate::matching::features::{features, Rec};
use crate::matching::model::{CommonNames, NameCounts};
use crate::matching::training::{
    self, sampled_for_training, session, training_stride, CandidateRounds, MIN_IDENTIFIER_PAIRS,
    TRAINING_KEYS,
};
use crate::matching::{blocking, ClusterMember, Pair};
use crate::output::Staging;
use crate::phase::Phases;
use crate::read::Warnings;
use crate::report::{self, Records};
use crate::summary::{DedupDuplicates, DedupMatching, DedupModel, DedupSummary, Partitions};

/// Everything `dedup` needs, parsed from the command line.
#[derive(Debug, Clone)]
pub struct DedupOptions {
    pub residents: Vec<PathBuf>,
    pub config: Config,
    pub out: PathBuf,
    /// Where the partitions are spilled (default: the output directory).
    pub spill_dir: Option<PathBuf>,
    /// Memory for the records of one unit, in bytes.
    pub memory: u64,
    pub quiet: bool,
    pub group_readable: bool,
}

/// Rows decoded per chunk while streaming.
const CHUNK_ROWS: usize = 1 << 20;
/// Records kept as a uniform sample for the u probabilities (all of them below this).
pub(crate) const SAMPLE: usize = 1 << 20;
/// What one record of a unit costs while the unit is matched: its features (168 bytes),
/// its share of the spilled bytes being decoded and of the blocking arrays (two passes' keys
/// and their sort, the passes' pairs). Measured: a unit of 7.9 M records raised the peak by
/// 2.1 GB at 10 M people; one of 15.5 M records, by 3.8 GB at 100 M; at 270 bytes, the first
/// of ten units at 100 M people took the run 0.4 % over `--memory-gb 4` in its passes.
const UNIT_BYTES_PER_RECORD: u64 = 285;
/// What the register holds through the units beside a unit, a record of the register: the
/// pairs found so far (a duplicate pair and its parents ~80 bytes: 2 M pairs at 100 M people
/// are 1.6 bytes a record; room for a register with more duplicates than that).
const FOUND_BYTES_PER_RECORD: u64 = 4;
/// … and the program itself (its code, the threads' stacks and buffers).
const PROGRAM_BYTES: u64 = 64 << 20;
/// What a record costs at most when the register is matched as one unit: a unit's record,
/// the pairs found, and the register's own bytes a record (a bucket and a keep rank, an ID
/// typed wrong: 18 bytes, twice that while its lists grow).
const WHOLE_BYTES_PER_RECORD: u64 = UNIT_BYTES_PER_RECORD + FOUND_BYTES_PER_RECORD + 36;

/// Whether a register of `rows` records is matched as one unit under `memory`, known before
/// it is read (from the Parquet footers): its year-free passes then pair within the unit,
/// as `check` does, and only the windowed ones' keys are spilled (for their larger blocks).
fn fits_whole(rows: usize, memory: u64) -> bool {
    (rows as u64).saturating_mul(WHOLE_BYTES_PER_RECORD) + PROGRAM_BYTES <= memory
}

/// Birth years get a bucket each; years outside the range share the first or last one, and
/// bucket 0 holds the records without a birth year.
const FIRST_YEAR: u16 = 1880;
const LAST_YEAR: u16 = 2040;
const BUCKETS: usize = (LAST_YEAR - FIRST_YEAR) as usize + 2;

fn bucket_of(r: &Rec) -> usize {
    if r.birth.year == 0 {
        0
    } else {
        (r.birth.year.clamp(FIRST_YEAR, LAST_YEAR) - FIRST_YEAR) as usize + 1
    }
}

/// A record's birth year as its bucket says it (0: none), or `None` when the bucket holds
/// several years (those before [`FIRST_YEAR`] or after [`LAST_YEAR`]).
fn year_of(reg: &Register, row: u32) -> Option<u16> {
    match reg.bucket[row as usize] as usize {
        0 => Some(0),
        b if b == 1 || b == BUCKETS - 1 => None,
        b => Some(FIRST_YEAR + b as u16 - 1),
    }
}

/// Bytes of one spilled record: row, the keep rank ([`KeepRank::pack`]), the features.
const SPILLED: usize = 4 + 1 + Rec::ENCODED_LEN;

/// A new spill file readable by its owner only: it holds the records' IDs and name keys.
fn owner_only(path: &Path) -> std::io::Result<File> {
    crate::output::create_with_mode(path, 0o600)
}

/// `slot`'s writer, the owner-only file at `path` created on first use.
fn opened<'w>(
    slot: &'w mut Option<BufWriter<File>>,
    path: &Path,
    capacity: usize,
) -> Result<&'w mut BufWriter<File>> {
    if slot.is_none() {
        let f = owner_only(path).map_err(|e| Error::output(path, e))?;
        *slot = Some(BufWriter::with_capacity(capacity, f));
    }
    Ok(slot.as_mut().expect("opened above"))
}

/// Records of a spill file decoded a block at a time: [`read_blocks`] hands its caller
/// `BLOCK_READ` records' bytes at once, never the whole file (a bucket is ~360 MB at 100 M).
const BLOCK_READ: usize = 1 << 16;

/// Every record of `path`, a file of `size`-byte records, handed to `each` a block of up to
/// [`BLOCK_READ`] records at a time, in file order. One buffer is read into: a caller that
/// reserves its list once holds the records decoded and a block, not the file beside them.
fn read_blocks(path: &Path, size: usize, mut each: impl FnMut(&[u8])) -> Result<()> {
    let read = |e| Error::output(path, e);
    let mut file = File::open(path).map_err(read)?;
    let mut left = file.metadata().map_err(read)?.len() as usize / size * size;
    let mut block = vec![0u8; left.min(size * BLOCK_READ)];
    while left > 0 {
        let bytes = &mut block[..left.min(size * BLOCK_READ)];
        file.read_exact(bytes).map_err(read)?;
        each(bytes);
        left -= bytes.len();
    }
    Ok(())
}

/// The spilled buckets: one file per birth-year bucket, removed when dropped. Beside them, the
/// hash of each record's record_id in row order (8 bytes a record: 0.8 GB at 100 M people,
/// held in memory through every phase before), read back for the uniqueness check.
struct Spill {
    dir: PathBuf,
    writers: Vec<Option<BufWriter<File>>>,
    counts: Vec<usize>,
    bytes: u64,
    record_ids: Option<BufWriter<File>>,
    /// Per bucket, the row of every [`BLOCK_RECORDS`]th record (a bucket's rows ascend): where
    /// a row's record lies, so that a fetch reads the blocks holding its rows, not the bucket.
    block_rows: Vec<Vec<u32>>,
}

/// Records a block of a bucket file: a fetch reads whole blocks (45 KB).
const BLOCK_RECORDS: usize = 256;

impl Spill {
    fn new(parent: &Path) -> Result<Spill> {
        // A killed run cannot remove its spill: remove those of processes no longer running.
        if let Ok(entries) = std::fs::read_dir(parent) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let pid = name
                    .strip_prefix(".lamsach-spill-")
                    .or_else(|| name.strip_prefix(".lamsach-keys-"));
                if let Some(pid) = pid {
                    let running = Path::new("/proc").join(pid).exists();
                    if !running && Path::new("/proc/self").exists() {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
        }
        let dir = parent.join(format!(".lamsach-spill-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::output(&dir, e))?;
        Ok(Spill {
            dir,
            writers: (0..BUCKETS).map(|_| None).collect(),
            counts: vec![0; BUCKETS],
            bytes: 0,
            record_ids: None,
            block_rows: vec![Vec::new(); BUCKETS],
        })
    }

    fn path(&self, bucket: usize) -> PathBuf {
        self.dir.join(format!("bucket-{bucket:03}.bin"))
    }

    fn record_ids_path(&self) -> PathBuf {
        self.dir.join("record-ids.bin")
    }

    /// The record_id hashes of the next rows.
    fn append_record_ids(&mut self, hashes: &[u64]) -> Result<()> {
        let path = self.record_ids_path();
        let w = opened(&mut self.record_ids, &path, 1 << 20)?;
        for h in hashes {
            w.write_all(&h.to_le_bytes())
                .map_err(|e| Error::output(&path, e))?;
        }
        Ok(())
    }

    /// The spilled bytes of the blocks of a bucket that hold `rows` (ascending rows of the
    /// bucket): every record of those blocks, the rows among them.
    fn read_rows(&self, bucket: usize, rows: &[u32]) -> Result<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let index = &self.block_rows[bucket];
        // Runs of consecutive blocks holding a wanted row: (first, end).
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &r in rows {
            let b = index.partition_point(|&first| first <= r).saturating_sub(1);
            match runs.last_mut() {
                Some(last) if b < last.1 => {}
                Some(last) if b == last.1 => last.1 = b + 1,
                _ => runs.push((b, b + 1)),
            }
        }
        let path = self.path(bucket);
        let err = |e| Error::output(&path, e);
        let mut file = File::open(&path).map_err(err)?;
        let records = self.counts[bucket];
        // Sized once: grown by doubling, a bucket's blocks (~360 MB at 100 M people) could
        // take twice their size.
        let bytes: usize = runs
            .iter()
            .map(|&(first, end)| (end * BLOCK_RECORDS).min(records) - first * BLOCK_RECORDS)
            .sum::<usize>()
            * SPILLED;
        let mut out = Vec::with_capacity(bytes);
        for (first, end) in runs {
            let start = first * BLOCK_RECORDS;
            let n = (end * BLOCK_RECORDS).min(records) - start;
            file.seek(SeekFrom::Start((start * SPILLED) as u64))
                .map_err(err)?;
            let at = out.len();
            out.resize(at + n * SPILLED, 0);
            file.read_exact(&mut out[at..]).map_err(err)?;
        }
        Ok(out)
    }

    /// Every record's record_id hash, sorted.
    fn sorted_record_ids(&self) -> Result<Vec<u64>> {
        let path = self.record_ids_path();
        if self.record_ids.is_none() {
            return Ok(Vec::new());
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::output(&path, e))?;
        let mut hashes: Vec<u64> = bytes
            .par_chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        hashes.par_sort_unstable();
        Ok(hashes)
    }

    fn append(&mut self, bucket: usize, records: &[u8]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let path = self.path(bucket);
        opened(&mut self.writers[bucket], &path, 1 << 20)?
            .write_all(records)
            .map_err(|e| Error::output(&path, e))?;
        let first = self.counts[bucket];
        for (i, rec) in records.chunks_exact(SPILLED).enumerate() {
            if (first + i) % BLOCK_RECORDS == 0 {
                self.block_rows[bucket].push(spilled_row(rec));
            }
        }
        self.counts[bucket] += records.len() / SPILLED;
        self.bytes += records.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        for b in 0..BUCKETS {
            if let Some(mut w) = self.writers[b].take() {
                w.flush().map_err(|e| Error::output(&self.path(b), e))?;
            }
        }
        if let Some(w) = self.record_ids.as_mut() {
            w.flush()
                .map_err(|e| Error::output(&self.record_ids_path(), e))?;
        }
        Ok(())
    }

    /// The spilled bytes of a bucket, handed to `each` a block of records at a time.
    fn read(&self, bucket: usize, each: impl FnMut(&[u8])) -> Result<()> {
        if self.counts[bucket] == 0 {
            return Ok(());
        }
        read_blocks(&self.path(bucket), SPILLED, each)
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        self.writers.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The blocking passes whose keys do not hold the birth year: their blocks span the birth-year
/// units, so their keys are spilled apart (by key hash into [`KEY_FILES`] files a pass) and
/// their pairs across units found file by file.
const YEAR_FREE_PASSES: &[&str] = &[
    "full_name+commune",
    "family+given (another date)",
    "family+given (no date)",
    "given+commune (the family name damaged)",
    "family+commune (the given name damaged)",
    "address (another household)",
    "family+given+birth_day_month",
    "birth_day_month+family+middle+given_initial (the given name and the year damaged)",
    "birth_day_month+given+middle+family_initial (the family name and the year damaged)",
    "parents+given",
    "parents (another name or date)",
];
const KEY_FILES: usize = 64;
const KEY_BYTES: usize = 12;

/// The (key, row) of each record of `recs` (rows numbered from `offset`) that has a key, in
/// row order.
fn keys_of(
    recs: &[Rec],
    offset: usize,
    key: blocking::Pass,
) -> impl Iterator<Item = (u64, u32)> + '_ {
    recs.iter().enumerate().filter_map(move |(i, rec)| {
        let k = key(rec);
        (k != 0).then_some((k, (offset + i) as u32))
    })
}

/// The spilled (key, row) entries of the year-free passes, removed when dropped.
struct KeySpill {
    dir: PathBuf,
    writers: Vec<Option<BufWriter<File>>>,
    buffers: Vec<Vec<u8>>,
    /// Entries written to each file.
    written: Vec<usize>,
}

impl KeySpill {
    fn new(parent: &Path) -> Result<KeySpill> {
        let dir = parent.join(format!(".lamsach-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::output(&dir, e))?;
        let n = YEAR_FREE_PASSES.len() * KEY_FILES;
        Ok(KeySpill {
            dir,
            writers: (0..n).map(|_| None).collect(),
            buffers: vec![Vec::new(); n],
            written: vec![0; n],
        })
    }

    fn path(&self, file: usize) -> PathBuf {
        self.dir.join(format!("keys-{file:04}.bin"))
    }

    /// Every pass's keys of `recs` (rows from `offset`), the passes in parallel: a pass writes
    /// only its own files' buffers, each in row order.
    fn add_all(&mut self, passes: &[blocking::Pass], recs: &[Rec], offset: usize) {
        self.buffers
            .par_chunks_mut(KEY_FILES)
            .zip(passes.par_iter())
            .for_each(|(files, &key)| {
                for (k, row) in keys_of(recs, offset, key) {
                    let f = &mut files[(k % KEY_FILES as u64) as usize];
                    f.extend_from_slice(&k.to_le_bytes());
                    f.extend_from_slice(&row.to_le_bytes());
                }
            });
    }

    fn flush(&mut self) -> Result<()> {
        for f in 0..self.buffers.len() {
            if self.buffers[f].is_empty() {
                continue;
            }
            let path = self.path(f);
            opened(&mut self.writers[f], &path, 1 << 16)?
                .write_all(&self.buffers[f])
                .map_err(|e| Error::output(&path, e))?;
            self.written[f] += self.buffers[f].len() / KEY_BYTES;
            self.buffers[f].clear();
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.flush()?;
        // The buffers a chunk's keys filled (130 MB) are not needed again.
        self.buffers = Vec::new();
        for f in 0..self.writers.len() {
            if let Some(mut w) = self.writers[f].take() {
                w.flush().map_err(|e| Error::output(&self.path(f), e))?;
            }
        }
        Ok(())
    }

    /// The (key, row) entries of one file of a pass, sorted.
    fn read(&self, pass: usize, file: usize) -> Result<Vec<(u64, u32)>> {
        let f = pass * KEY_FILES + file;
        if self.written[f] == 0 {
            return Ok(Vec::new());
        }
        let mut v: Vec<(u64, u32)> = Vec::with_capacity(self.written[f]);
        read_blocks(&self.path(f), KEY_BYTES, |bytes| {
            v.extend(bytes.chunks_exact(KEY_BYTES).map(|c| {
                (
                    u64::from_le_bytes(c[..8].try_into().expect("8 bytes")),
                    u32::from_le_bytes(c[8..].try_into().expect("4 bytes")),
                )
            }))
        })?;
        crate::core::sort::sort_hashed(&mut v);
        Ok(v)
    }
}

impl Drop for KeySpill {
    fn drop(&mut self) {
        self.writers.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A pair across units of a year-free pass: (row, row, the pass's position in
/// [`YEAR_FREE_PASSES`], or its length for an ID typed wrong).
type YearFreePair = (u32, u32, u8);
const PAIR_BYTES: usize = 9;

/// The year-free passes' pairs across units, spilled by pair of units: one owner-only file per
/// pair of units, written in batches and removed when dropped. Held in one vector, at 100 M
/// people they were 247 M pairs (3 GB, more while the vector grew) beside the records fetched
/// for them: the peak of a run under a 4 GB budget was 10.2 GB. Now a pair of units is read,
/// sorted and judged at a time.
struct PairSpill {
    dir: PathBuf,
    units: usize,
    /// Per pair of units (x ≤ y, at `x * units + y`): pairs not yet written, and pairs written.
    buffers: Vec<Vec<YearFreePair>>,
    written: Vec<usize>,
    /// Pairs in the buffers, and how many they hold before they are written.
    buffered: usize,
    flush_at: usize,
    /// Pairs added in all.
    added: usize,
}

impl PairSpill {
    /// Pair files in `dir` (the spill's own folder) for `units` units; at most `memory` bytes
    /// of pairs are held before they are written.
    fn new(dir: &Path, units: usize, memory: u64) -> PairSpill {
        let slots = units * units;
        PairSpill {
            dir: dir.to_path_buf(),
            units,
            buffers: vec![Vec::new(); slots],
            written: vec![0; slots],
            buffered: 0,
            flush_at: (memory as usize / std::mem::size_of::<YearFreePair>()).max(1 << 12),
            added: 0,
        }
    }

    fn path(&self, slot: usize) -> PathBuf {
        self.dir.join(format!("pairs-{slot:06}.bin"))
    }

    fn push(&mut self, (x, y): (u16, u16), pair: YearFreePair) -> Result<()> {
        let slot = x.min(y) as usize * self.units + x.max(y) as usize;
        self.buffers[slot].push(pair);
        self.buffered += 1;
        self.added += 1;
        if self.buffered >= self.flush_at {
            self.flush()?;
        }
        Ok(())
    }

    /// Every buffer appended to its file (opened for the batch only: a small budget makes
    /// thousands of pairs of units, more than the files a process may hold open).
    fn flush(&mut self) -> Result<()> {
        let mut bytes = Vec::new();
        for slot in 0..self.buffers.len() {
            if self.buffers[slot].is_empty() {
                continue;
            }
            let path = self.path(slot);
            bytes.clear();
            for &(a, b, p) in &self.buffers[slot] {
                bytes.extend_from_slice(&a.to_le_bytes());
                bytes.extend_from_slice(&b.to_le_bytes());
                bytes.push(p);
            }
            let file = if self.written[slot] == 0 {
                owner_only(&path)
            } else {
                std::fs::OpenOptions::new().append(true).open(&path)
            };
            file.and_then(|mut f| f.write_all(&bytes))
                .map_err(|e| Error::output(&path, e))?;
            self.written[slot] += self.buffers[slot].len();
            self.buffers[slot] = Vec::new();
        }
        self.buffered = 0;
        Ok(())
    }

    /// The pairs of units that hold pairs, in order (x ≤ y).
    fn unit_pairs(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.written.len()).filter(|&s| self.written[s] > 0 || !self.buffers[s].is_empty())
    }

    /// The pairs of one pair of units, sorted, each once.
    fn read(&mut self, slot: usize) -> Result<Vec<YearFreePair>> {
        let mut pairs = std::mem::take(&mut self.buffers[slot]);
        if self.written[slot] > 0 {
            // Into a list sized once (12 bytes a pair): the whole file read first, then
            // copied, held 21 bytes a pair at once.
            pairs.reserve_exact(self.written[slot]);
            let path = self.path(slot);
            read_blocks(&path, PAIR_BYTES, |bytes| {
                pairs.extend(bytes.chunks_exact(PAIR_BYTES).map(|c| {
                    (
                        u32::from_le_bytes(c[..4].try_into().expect("4 bytes")),
                        u32::from_le_bytes(c[4..8].try_into().expect("4 bytes")),
                        c[8],
                    )
                }))
            })?;
            let _ = std::fs::remove_file(&path);
            self.written[slot] = 0;
        }
        pairs.par_sort_unstable();
        pairs.dedup();
        Ok(pairs)
    }
}

impl Drop for PairSpill {
    fn drop(&mut self) {
        for slot in 0..self.written.len() {
            if self.written[slot] > 0 {
                let _ = std::fs::remove_file(self.path(slot));
            }
        }
    }
}

fn spilled_row(rec: &[u8]) -> u32 {
    u32::from_le_bytes(rec[..4].try_into().expect("4 bytes"))
}

/// A spilled record: its row, its keep rank, its features (read back by [`decode`]).
fn encode(buf: &mut Vec<u8>, row: u32, rank: u8, rec: &Rec) {
    buf.extend_from_slice(&row.to_le_bytes());
    buf.push(rank);
    rec.encode(buf);
}

fn decode(rec: &[u8]) -> (u32, u8, Rec) {
    (spilled_row(rec), rec[4], Rec::decode(&rec[5..]))
}

/// What the stream phase keeps of the whole register.
#[derive(Default)]
struct Register {
    rows: usize,
    /// Per record: its birth-year bucket, its keep rank.
    bucket: Vec<u8>,
    rank: Vec<u8>,
    /// Per training key (personal ID, old CMND): (key, row) of the records that have one.
    id_index: [Vec<(u64, u32)>; 2],
    /// (digits, row) of the records whose ID was typed wrong.
    typed: Vec<(u64, u32)>,
    names: NameCounts,
    sample: Vec<Rec>,
}

impl Register {
    /// Bytes held for the whole register (the name counts, a few MB, aside).
    fn held_bytes(&self) -> u64 {
        let index: usize = self.id_index.iter().map(Vec::capacity).sum();
        self.rows_bytes()
            + (index * std::mem::size_of::<(u64, u32)>()
                + self.sample.capacity() * std::mem::size_of::<Rec>()) as u64
    }

    /// The ID index less the IDs one record carries: what the pairs across units and the
    /// training read (blocks of two records or more). At 100 M people the whole index was
    /// 1.6 GB of the register's 2.8 GB through the `ids` phase.
    fn keep_shared_ids(&mut self) {
        for index in &mut self.id_index {
            let mut w = 0;
            for g in 0..index.len() {
                let shared = (g > 0 && index[g - 1].0 == index[g].0)
                    || (g + 1 < index.len() && index[g + 1].0 == index[g].0);
                if shared {
                    index[w] = index[g];
                    w += 1;
                }
            }
            index.truncate(w);
            index.shrink_to_fit();
        }
    }

    /// Of those, what is left once the model is trained: a byte or two a record and the IDs
    /// typed wrong.
    fn rows_bytes(&self) -> u64 {
        (self.bucket.capacity()
            + self.rank.capacity()
            + self.typed.capacity() * std::mem::size_of::<(u64, u32)>()) as u64
    }
}

/// Records a fetch run may hold: what the budget leaves beside `held` bytes and the blocks of
/// the bucket being read, and at least a quarter of the budget (a national register's ID
/// index alone can be most of a small one).
fn run_rows(memory: u64, held: u64, spill: &Spill) -> usize {
    let reading = spill.counts.iter().max().copied().unwrap_or(0) * SPILLED;
    let room = memory.saturating_sub(held + reading as u64);
    (room.max(memory / 4) / UNIT_BYTES_PER_RECORD).max(2) as usize
}

fn residents_source(opts: &DedupOptions) -> crate::read::ChunkSource<'_> {
    crate::read::ChunkSource {
        name: "residents",
        kind: SourceKind::Residents,
        paths: &opts.residents,
        config: &opts.config,
    }
}

/// Phase 1: read, compute features, spill.
fn stream(
    opts: &DedupOptions,
    spill: &mut Spill,
    keys: &mut KeySpill,
    warnings: &mut Warnings,
    whole: bool,
) -> Result<Register> {
    // A register matched whole needs only the windowed passes' keys across the unit (their
    // larger blocks); the others' would be written and never read (9 of 11 passes).
    let year_free: Vec<blocking::Pass> = YEAR_FREE_PASSES
        .iter()
        .map(|n| -> blocking::Pass {
            if whole && !blocking::WINDOWED_PASSES.contains(n) {
                |_| 0
            } else {
                blocking::pass(n).single_key()
            }
        })
        .collect();
    let mut reg = Register::default();
    let mut reservoir = Reservoir::new();
    let wanted = crate::read::engine_columns(SourceKind::Residents, &opts.config);
    let mut encoded: Vec<Vec<u8>> = vec![Vec::new(); BUCKETS];
    let mut each = |t: Table, offset: usize| -> Result<()> {
        if u32::try_from(offset + t.len()).is_err() {
            return Err(Error::input(
                &t.files[0].0,
                "the register has more than 4 294 967 295 records; split it by province",
            ));
        }
        let prepared = Prepared::new(&t);
        let recs = features(&t, &prepared);
        let rid = t.column(Column::RecordId);
        let filled = filled_fields(&t);
        let filled: Vec<u8> = (0..t.len())
            .into_par_iter()
            .with_min_len(4096)
            .map(filled)
            .collect();
        let record_ids: Vec<u64> = (0..t.len())
            .into_par_iter()
            .with_min_len(4096)
            .map(|r| h64(rid.get(r)))
            .collect();
        spill.append_record_ids(&record_ids)?;
        // The records in row order on one thread (their spill, ranks and sample), while the
        // other computes the passes' and the identifiers' keys and counts the names: one
        // thread for all of it took a fifth of the stream.
        let Register {
            bucket,
            rank,
            id_index,
            typed,
            names,
            sample,
            ..
        } = &mut reg;
        let ((), counted) = rayon::join(
            || {
                for (i, rec) in recs.iter().enumerate() {
                    let row = (offset + i) as u32;
                    let b = bucket_of(rec);
                    let rk = KeepRank {
                        valid_id: prepared.rows[i].pid.is_valid(),
                        in_province: false,
                        filled: filled[i],
                    }
                    .pack();
                    encode(&mut encoded[b], row, rk, rec);
                    bucket.push(b as u8);
                    rank.push(rk);
                    if rec.pid_typed != 0 {
                        typed.push((rec.pid_typed, row));
                    }
                    match reservoir.slot(offset + i) {
                        Some(j) if j == sample.len() => sample.push(rec.clone()),
                        Some(j) => sample[j] = rec.clone(),
                        None => {}
                    }
                }
            },
            || {
                keys.add_all(&year_free, &recs, offset);
                id_index
                    .par_iter_mut()
                    .zip(&TRAINING_KEYS)
                    .for_each(|(index, key)| index.extend(keys_of(&recs, offset, key.key)));
                NameCounts::of(&recs)
            },
        );
        names.merge(counted);
        for (b, buf) in encoded.iter_mut().enumerate() {
            spill.append(b, buf)?;
            buf.clear();
        }
        keys.flush()?;
        reg.rows = offset + t.len();
        Ok(())
    };
    crate::read::for_each_chunk(
        &residents_source(opts),
        &wanted,
        SourceKind::Residents.required_columns(),
        CHUNK_ROWS,
        warnings,
        &mut each,
    )?;
    spill.finish()?;
    keys.finish()?;
    // The ID index sorted: its blocks give the training pairs and the pairs across units. Its
    // vectors grew by doubling: what they did not fill is given back.
    for index in &mut reg.id_index {
        index.shrink_to_fit();
        index.par_sort_unstable();
    }
    reg.typed.shrink_to_fit();
    Ok(reg)
}

/// Reservoir sampling (Vitter's R) of [`SAMPLE`] records: a uniform sample, the same on
/// every run for the same rows in the same order.
struct Reservoir {
    rng: crate::rng::Rng,
}

impl Reservoir {
    fn new() -> Reservoir {
        Reservoir {
            rng: crate::rng::Rng::new(0x5A4D_504C, 0),
        }
    }

    /// The sample's slot that the record seen `seen`-th (from 0) takes, if any; called once
    /// for every record, in order.
    fn slot(&mut self, seen: usize) -> Option<usize> {
        if seen < SAMPLE {
            return Some(seen);
        }
        let j = self.rng.below(seen as u64 + 1) as usize;
        (j < SAMPLE).then_some(j)
    }
}

/// The rows `dedup` samples from a register of `n` records, in the sample's order.
pub fn sampled_rows(n: usize) -> Vec<u32> {
    let mut reservoir = Reservoir::new();
    let mut rows = Vec::with_capacity(n.min(SAMPLE));
    for seen in 0..n {
        match reservoir.slot(seen) {
            Some(j) if j == rows.len() => rows.push(seen as u32),
            Some(j) => rows[j] = seen as u32,
            None => {}
        }
    }
    rows
}

/// Units: runs of consecutive buckets whose records fit together in what the memory budget
/// leaves beside `held`, what the register holds through the units phase (a bucket larger
/// than that is a unit of its own). Returns the units and each bucket's unit.
fn plan_units(counts: &[usize], memory: u64, held: u64) -> (Vec<std::ops::Range<usize>>, Vec<u16>) {
    let max_records = (memory.saturating_sub(held) / UNIT_BYTES_PER_RECORD).max(1) as usize;
    let mut units = Vec::new();
    let mut unit_of = vec![0u16; counts.len()];
    let (mut start, mut n) = (0, 0);
    for (b, &c) in counts.iter().enumerate() {
        if n > 0 && n + c > max_records {
            units.push(start..b);
            start = b;
            n = 0;
        }
        unit_of[b] = units.len() as u16;
        n += c;
    }
    units.push(start..counts.len());
    (units, unit_of)
}

/// Duplicate pairs and ID-sharing pairs found so far, and what the blocking counted.
#[derive(Default)]
struct Found {
    judged: Judged,
    compared: usize,
    skipped: usize,
    per_pass: BTreeMap<String, usize>,
}

impl Found {
    fn count_pass(&mut self, name: &str, n: usize) {
        *self.per_pass.entry(name.to_string()).or_default() += n;
    }
}

impl Found {
    fn judge<'r>(
        &mut self,
        judge: &Judge,
        cands: &[(u32, u32)],
        get: &(dyn Fn(u32) -> (&'r Rec, bool) + Sync),
        row: &(dyn Fn(u32) -> u32 + Sync),
    ) {
        self.judged.extend(decide::judge(judge, cands, get, row));
        self.compared += cands.len();
    }
}

/// Phase 2: the pairs sharing a personal ID or an old CMND whose records are in different
/// units, and the rows the model's training needs. Returns the cross-unit pairs.
fn id_pairs(
    reg: &Register,
    unit_of: &[u16],
    cap: usize,
    needed: &mut [u64],
    crowded: &mut Vec<Vec<u32>>,
) -> (Vec<(u32, u32)>, usize) {
    let unit = |r: u32| unit_of[reg.bucket[r as usize] as usize];
    let mut pairs = Vec::new();
    let mut skipped = 0;
    for (k, index) in reg.id_index.iter().enumerate() {
        let groups = blocking::blocks(index);
        let (_, keep_every) = training_stride(&groups);
        for g in &groups {
            if sampled_for_training(g, keep_every) {
                for e in g.iter() {
                    mark(needed, e.1);
                }
            }
            // An ID carried by more records than one person has is not compared pair by pair
            // (as in `check`'s personal_id pass).
            if g.len() > blocking::CROWDED_ID {
                // One id.shared finding per record (as in check); the ID is read when the first
                // row is fetched.
                if k == 0 {
                    mark(needed, g[0].1);
                    crowded.push(g.iter().map(|e| e.1).collect());
                }
                continue;
            }
            let across = g
                .iter()
                .enumerate()
                .flat_map(|(x, a)| g[x + 1..].iter().map(move |b| (a.1, b.1)))
                .filter(|&(a, b)| unit(a) != unit(b));
            if g.len() > cap {
                skipped += across.count();
                continue;
            }
            for (a, b) in across {
                pairs.push((a.min(b), a.max(b)));
                mark(needed, a);
                mark(needed, b);
            }
        }
    }
    pairs.par_sort_unstable();
    pairs.dedup();
    (pairs, skipped)
}

/// Pairs across units of the year-free passes (their scope is applied once the records are
/// fetched) and of IDs typed wrong: (row, row, pass) with the pass's position in
/// [`YEAR_FREE_PASSES`], or its length for a typed ID. Only pairs whose birth years the
/// pass's scope can keep are spilled, by pair of units, to `pairs` (at 10 M people, 11 M of
/// 41 M). With `one_unit`, only the windowed passes are read (see below).
fn year_free_pairs(
    reg: &Register,
    keys: &KeySpill,
    unit_of: &[u16],
    one_unit: bool,
    cap: usize,
    wider: &mut blocking::Wider,
    pairs: &mut PairSpill,
) -> Result<()> {
    let unit = |r: u32| unit_of[reg.bucket[r as usize] as usize];
    let year = |r: u32| year_of(reg, r);
    for (p, &name) in YEAR_FREE_PASSES.iter().enumerate() {
        // In one unit, a pass's blocks are whole there and paired as `check` pairs them: only
        // a windowed pass's larger blocks are left to compare here (a unit orders its records
        // by birth year, so its window would hold other neighbours than `check`'s).
        if one_unit && !blocking::WINDOWED_PASSES.contains(&name) {
            continue;
        }
        let pass = blocking::pass(name);
        debug_assert!(
            pass.beyond.is_none(),
            "a year-free pass pairs no larger blocks"
        );
        let limit = pass.limit(cap);
        let mut large = Vec::new();
        let held = pairs.added;
        for f in 0..KEY_FILES {
            let keyed = keys.read(p, f)?;
            let groups = blocking::blocks(&keyed);
            // Blocks over the limit in the whole register are passed over in every unit.
            large.extend(groups.iter().filter(|g| g.len() > limit).map(|g| g[0].0));
            // A windowed pass's larger block is compared here as `check` compares it, in one
            // window over the whole block: its pairs within a unit too (a unit sees only its
            // part of the block, and passes it over). A pair a unit also proposes is judged
            // twice, alike, and kept once.
            // Only the pairs whose birth years the scope can keep are held (a window over a
            // common name is most of a national register's records, twelve pairs each).
            for g in groups.iter().filter(|g| pass.windowed(g.len(), cap)) {
                let rows: Vec<u32> = g.iter().map(|e| e.1).collect();
                for (a, b) in blocking::window_pairs(&rows, limit) {
                    if pass.years_may_keep(year(a), year(b)) {
                        pairs.push((unit(a), unit(b)), (a, b, p as u8))?;
                    }
                }
            }
            for g in groups.into_iter().filter(|g| g.len() <= limit) {
                for (x, a) in g.iter().enumerate() {
                    for b in &g[x + 1..] {
                        let units = (unit(a.1), unit(b.1));
                        if a.1 != b.1
                            && units.0 != units.1
                            && pass.years_may_keep(year(a.1), year(b.1))
                        {
                            pairs.push(units, (a.1.min(b.1), a.1.max(b.1), p as u8))?;
                        }
                    }
                }
            }
        }
        large.sort_unstable();
        wider.insert(name, large);
        crate::phase::note(&format!(
            "ids: {} pairs across units of {name}",
            pairs.added - held
        ));
    }
    Ok(())
}

/// Pairs across units of a record whose ID was typed wrong and the records whose ID it could
/// have been (the `personal_id_typed` pass of `check`), written to `pairs`. The only step
/// that looks up IDs no other record carries: [`Register::keep_shared_ids`] may follow.
fn typed_id_pairs(
    reg: &Register,
    unit_of: &[u16],
    cap: usize,
    pairs: &mut PairSpill,
) -> Result<()> {
    let unit = |r: u32| unit_of[reg.bucket[r as usize] as usize];
    let pid_key = |id: u64| {
        (TRAINING_KEYS[0].key)(&Rec {
            pid: id,
            ..Rec::default()
        })
    };
    for &(typed, row) in &reg.typed {
        for id in crate::ids::one_edit_ids(typed) {
            let k = pid_key(id);
            let index = &reg.id_index[0];
            let start = index.partition_point(|e| e.0 < k);
            for e in index[start..].iter().take_while(|e| e.0 == k).take(cap) {
                let units = (unit(e.1), unit(row));
                if e.1 != row && units.0 != units.1 {
                    let typed = YEAR_FREE_PASSES.len() as u8;
                    pairs.push(units, (row.min(e.1), row.max(e.1), typed))?;
                }
            }
        }
    }
    Ok(())
}

/// Spilled records fetched for some rows, in row order, found by a row's rank among them: a
/// bitmap of the rows and a count before each of its words (1.5 bits a record of the
/// register). A hash table of the records doubled while it grew, and at 10 M people held
/// 9 M records: it was the peak of a run under any budget.
struct Fetched {
    marked: Vec<u64>,
    before: Vec<u32>,
    recs: Vec<(u8, Rec)>,
}

impl Fetched {
    fn rank(&self, r: u32) -> Option<usize> {
        let (w, bit) = (r as usize / 64, 1u64 << (r % 64));
        (self.marked[w] & bit != 0)
            .then(|| (self.before[w] + (self.marked[w] & (bit - 1)).count_ones()) as usize)
    }

    fn get(&self, r: u32) -> Option<&(u8, Rec)> {
        self.rank(r).map(|i| &self.recs[i])
    }

    /// A fetched row's features.
    fn rec(&self, r: u32) -> &Rec {
        &self.get(r).expect("the row was fetched").1
    }

    /// A fetched row's features and whether its personal ID is valid, as pairs are judged.
    fn judged(&self, r: u32) -> (&Rec, bool) {
        let (k, rec) = self.get(r).expect("the row was fetched");
        (rec, KeepRank::unpack(*k).valid_id)
    }
}

/// Marks `r` in a bitmap of rows; whether it was not marked before.
fn mark(marked: &mut [u64], r: u32) -> bool {
    let (w, bit) = (r as usize / 64, 1u64 << (r % 64));
    let new = marked[w] & bit == 0;
    marked[w] |= bit;
    new
}

/// Where records are fetched from: the spill, each row's bucket, and the register's common
/// names to mark them with.
struct Spilled<'a> {
    spill: &'a Spill,
    bucket: &'a [u8],
    common: &'a CommonNames,
}

impl Spilled<'_> {
    /// The spilled records of the rows marked in `marked`, with their keep ranks. Only the
    /// blocks of the buckets that hold a marked row are read.
    fn fetch(&self, marked: Vec<u64>) -> Result<Fetched> {
        let Spilled {
            spill,
            bucket,
            common,
        } = *self;
        let mut before = Vec::with_capacity(marked.len());
        let mut count = 0u32;
        let mut wanted: Vec<Vec<u32>> = vec![Vec::new(); BUCKETS];
        for (i, &w) in marked.iter().enumerate() {
            before.push(count);
            count += w.count_ones();
            let mut bits = w;
            while bits != 0 {
                let r = i * 64 + bits.trailing_zeros() as usize;
                wanted[bucket[r] as usize].push(r as u32);
                bits &= bits - 1;
            }
        }
        let mut out = Fetched {
            marked,
            before,
            recs: vec![(0, Rec::default()); count as usize],
        };
        for (b, rows) in wanted.iter().enumerate().filter(|(_, r)| !r.is_empty()) {
            let bytes = spill.read_rows(b, rows)?;
            // Decoded 64 K records at a time: the whole bucket's decoded records were held
            // beside its bytes.
            for part in bytes.chunks(SPILLED << 16) {
                let got: Vec<(usize, u8, Rec)> = part
                    .par_chunks_exact(SPILLED)
                    .filter_map(|rec| {
                        let i = out.rank(spilled_row(rec))?;
                        let (_, k, mut rec) = decode(rec);
                        common.mark_one(&mut rec);
                        Some((i, k, rec))
                    })
                    .collect();
                for (i, k, rec) in got {
                    out.recs[i] = (k, rec);
                }
            }
        }
        Ok(out)
    }

    /// Calls `f` on `pairs` (in their order) cut into runs whose rows number at most
    /// `max_rows` (a single pair makes a run of its own whatever the limit), with the records
    /// of the run's rows fetched from the spill: the records held at once are bounded whatever
    /// the number of pairs (the blocks holding a run's rows are read once a run). Returns the
    /// number of runs.
    fn with_records<P>(
        &self,
        max_rows: usize,
        pairs: &[P],
        ends: impl Fn(&P) -> (u32, u32),
        mut f: impl FnMut(&[P], &Fetched),
    ) -> Result<usize> {
        let words = self.bucket.len().div_ceil(64);
        let mut marked = vec![0u64; words];
        let (mut start, mut count, mut runs) = (0, 0, 0);
        for (i, p) in pairs.iter().enumerate() {
            let (a, b) = ends(p);
            let new = |m: &[u64], r: u32| m[r as usize / 64] & (1 << (r % 64)) == 0;
            let more = new(&marked, a) as usize + (a != b && new(&marked, b)) as usize;
            if count > 0 && count + more > max_rows {
                let fetched = self.fetch(std::mem::replace(&mut marked, vec![0u64; words]))?;
                f(&pairs[start..i], &fetched);
                (start, count, runs) = (i, 0, runs + 1);
            }
            count += mark(&mut marked, a) as usize + mark(&mut marked, b) as usize;
        }
        if count > 0 {
            f(&pairs[start..], &self.fetch(marked)?);
            runs += 1;
        }
        Ok(runs)
    }
}

/// Phase 4: match one unit's records with the blocking and decisions of `check`.
fn match_unit(
    spill: &Spill,
    buckets: std::ops::Range<usize>,
    judge: &Judge,
    common: &CommonNames,
    cap: usize,
    wider: &blocking::Wider,
    found: &mut Found,
) -> Result<usize> {
    // Sized exactly: grown by doubling, the features alone peaked at twice their size.
    let n: usize = buckets.clone().map(|b| spill.counts[b]).sum();
    let mut rows = Vec::with_capacity(n);
    let mut ranks = Vec::with_capacity(n);
    let mut recs = Vec::with_capacity(n);
    for b in buckets {
        // A block at a time: a whole bucket's bytes (~360 MB at 100 M people) were held
        // beside the unit's records.
        spill.read(b, |bytes| {
            rows.par_extend(bytes.par_chunks_exact(SPILLED).map(spilled_row));
            ranks.par_extend(bytes.par_chunks_exact(SPILLED).map(|c| c[4]));
            recs.par_extend(bytes.par_chunks_exact(SPILLED).map(|c| {
                let mut rec = Rec::decode(&c[5..]);
                common.mark_one(&mut rec);
                rec
            }));
        })?;
    }
    let get = |i: u32| {
        (
            &recs[i as usize],
            KeepRank::unpack(ranks[i as usize]).valid_id,
        )
    };
    let row = |i: u32| rows[i as usize];
    // The pairs are judged a range of rows at a time, as they are merged: a national unit's
    // 100 M candidate pairs are never held.
    let (skipped, per_pass) = blocking::candidates_each(&recs, cap, wider, |pairs| {
        found.judge(judge, pairs, &get, &row)
    });
    found.skipped += skipped;
    for p in &per_pass {
        found.count_pass(p.name, p.proposed);
    }
    Ok(recs.len())
}

/// Phase 5: record_id, province_code and commune_code of some rows, read from the residents.
struct RecordTexts {
    /// Sorted rows.
    rows: Vec<u32>,
    texts: Vec<[String; 3]>,
}

impl RecordTexts {
    fn text(&self, row: u32, i: usize) -> &str {
        match self.rows.binary_search(&row) {
            Ok(k) => &self.texts[k][i],
            Err(_) => "",
        }
    }
}

impl Records for RecordTexts {
    fn source(&self, _: RowRef) -> &str {
        "residents"
    }

    fn cell(&self, r: RowRef, col: Column) -> &str {
        match COLS.iter().position(|c| *c == col) {
            Some(i) => self.text(r.row, i),
            None => "",
        }
    }
}

/// The columns [`RecordTexts`] reads.
const COLS: [Column; 3] = [Column::RecordId, Column::ProvinceCode, Column::CommuneCode];

/// Read the texts of `rows` (sorted), and check that no two records whose record_id hashes
/// are among `colliding` (sorted) carry the same record_id.
fn record_texts(opts: &DedupOptions, rows: Vec<u32>, colliding: &[u64]) -> Result<RecordTexts> {
    let config = &opts.config;
    let wanted = crate::read::wanted_by(config, |canon| COLS.iter().any(|c| c.name() == canon));
    let mut texts = Vec::with_capacity(rows.len());
    let mut same_hash: HashMap<u64, Vec<(String, usize)>> = HashMap::new();
    let mut files = Vec::new();
    let mut each = |t: Table, offset: usize| -> Result<()> {
        if files.last().map(|f: &(PathBuf, usize)| &f.0) != Some(&t.files[0].0) {
            files.push((t.files[0].0.clone(), offset));
        }
        let cols = COLS.map(|c| t.column(c));
        let from = rows.partition_point(|&r| (r as usize) < offset);
        let to = rows.partition_point(|&r| (r as usize) < offset + t.len());
        for &r in &rows[from..to] {
            let i = r as usize - offset;
            texts.push(cols.map(|c| c.get(i).to_string()));
        }
        if !colliding.is_empty() {
            for i in 0..t.len() {
                let id = cols[0].get(i);
                let h = h64(id);
                if colliding.binary_search(&h).is_ok() {
                    same_hash
                        .entry(h)
                        .or_default()
                        .push((id.to_string(), offset + i));
                }
            }
        }
        Ok(())
    };
    let mut ignored = Warnings::new();
    crate::read::for_each_chunk(
        &residents_source(opts),
        &wanted,
        &COLS[..1],
        CHUNK_ROWS,
        &mut ignored,
        &mut each,
    )?;
    let duplicate = first_duplicate(same_hash.into_values());
    if let Some((a, b)) = duplicate {
        return Err(crate::read::duplicate_record_id(&files, a, b));
    }
    Ok(RecordTexts { rows, texts })
}

/// What `dedup` hands back: the summary it wrote.
pub struct DedupOutcome {
    pub summary: DedupSummary,
}

/// Run `dedup`: every phase, every output, atomically; the spilled partitions are removed
/// whatever happens.
pub fn dedup(opts: &DedupOptions) -> Result<DedupOutcome> {
    if opts.residents.is_empty() {
        return Err(Error::usage("dedup needs at least one --residents FILE"));
    }
    let mut phases = Phases::new(opts.quiet);
    let staging = Staging::new(&opts.out, opts.group_readable)?;
    let file_bytes: u64 = opts
        .residents
        .iter()
        .map(|p| std::fs::metadata(p).map_or(u64::MAX, |m| m.len()))
        .fold(0, u64::saturating_add);
    let at_most = crate::read::rows_at_most(&opts.residents);
    if at_most.is_some_and(|rows| fits_in_memory(rows, file_bytes, opts.memory)) {
        return in_memory(opts, staging, phases);
    }
    let footer_rows = crate::read::footer_rows(&opts.residents);
    let spill_parent = opts.spill_dir.as_deref().unwrap_or(&opts.out);
    let mut spill = Spill::new(spill_parent)?;
    let mut keys = KeySpill::new(spill_parent)?;
    let mut warnings = Warnings::new();
    let cap = opts.config.matching.max_block_size;

    let whole = footer_rows.is_some_and(|rows| fits_whole(rows, opts.memory));
    let mut reg = phases.run("stream", || {
        stream(opts, &mut spill, &mut keys, &mut warnings, whole)
    })?;
    let n = reg.rows;
    // The register's common names, counted over the whole stream: every record compared is
    // marked with them once decoded, as check marks its own.
    let common = CommonNames::of_counts(&reg.names, n);
    common.mark(&mut reg.sample);

    // Beside a unit: the register's bytes a record, the pairs found, the program.
    let beside = reg.rows_bytes() + n as u64 * FOUND_BYTES_PER_RECORD + PROGRAM_BYTES;
    // A register known to fit whole is one unit, as planned (its year-free passes' keys were
    // not all spilled): planned without a limit.
    let limit = if whole { u64::MAX } else { opts.memory };
    let (units, unit_of) = plan_units(&spill.counts, limit, beside);
    let mut wider = blocking::Wider::default();
    let mut crowded_rows: Vec<Vec<u32>> = Vec::new();
    let (cross, cross_skipped, kept, fetched, filter_runs) =
        phases.run("ids", || -> Result<_> {
            let mut year_free = PairSpill::new(&spill.dir, units.len(), opts.memory / 8);
            typed_id_pairs(&reg, &unit_of, cap, &mut year_free)?;
            reg.keep_shared_ids();
            // Pairs' records are fetched from the spill, as many at once as a unit holds.
            let spilled = Spilled {
                spill: &spill,
                bucket: &reg.bucket,
                common: &common,
            };
            let mut needed = vec![0u64; n.div_ceil(64)];
            let (cross, skipped) = id_pairs(&reg, &unit_of, cap, &mut needed, &mut crowded_rows);
            let one_unit = units.len() == 1;
            year_free_pairs(
                &reg,
                &keys,
                &unit_of,
                one_unit,
                cap,
                &mut wider,
                &mut year_free,
            )?;
            year_free.flush()?;
            // The year-free passes' pairs across units, in each pass's scope, a pair of units at
            // a time (so that a run fetching their records reads the buckets of two units). A
            // pair may come from several passes: it is kept once if any of them keeps it.
            let mut kept: Vec<(u32, u32)> = Vec::new();
            let (mut runs, mut distinct) = (0, 0);
            for slot in year_free.unit_pairs().collect::<Vec<_>>() {
                let pairs = year_free.read(slot)?;
                distinct += pairs.len();
                let held = reg.held_bytes()
                    + (pairs.capacity() * std::mem::size_of::<YearFreePair>()) as u64
                    + (kept.capacity() * 8 + needed.len() * 8) as u64;
                runs += spilled.with_records(
                    run_rows(opts.memory, held, &spill),
                    &pairs,
                    |&(a, b, _)| (a, b),
                    |run, fetched| {
                        kept.extend(
                            run.iter()
                                .filter(|&&(a, b, p)| match YEAR_FREE_PASSES.get(p as usize) {
                                    Some(name) => {
                                        blocking::pass(name).keeps(fetched.rec(a), fetched.rec(b))
                                    }
                                    None => true,
                                })
                                .map(|&(a, b, _)| (a, b)),
                        )
                    },
                )?;
            }
            drop(year_free);
            crate::phase::note(&format!(
                "ids: {distinct} year-free pairs across units, their records fetched in {runs} runs"
            ));
            kept.par_sort_unstable();
            kept.dedup();
            kept.retain(|p| cross.binary_search(p).is_err());
            // The training pairs' and the ID pairs' records, fewer than a training sample holds.
            Ok((cross, skipped, kept, spilled.fetch(needed)?, runs))
        })?;
    // IDs carried by more records than one person has: (rows, the ID).
    let crowded: Vec<(Vec<u32>, u64)> = crowded_rows
        .into_iter()
        .map(|rows| {
            let pid = fetched.get(rows[0]).map_or(0, |f| f.1.pid);
            (rows, pid)
        })
        .collect();
    drop(keys);

    let rows_bytes = reg.rows_bytes();
    let spilled = Spilled {
        spill: &spill,
        bucket: &reg.bucket,
        common: &common,
    };
    let (model, training, found, judge_runs) = phases.run("model", || -> Result<_> {
        let rec_of = |r: u32| fetched.rec(r);
        let sessions: Vec<_> = reg
            .id_index
            .iter()
            .zip(&TRAINING_KEYS)
            .map(|(index, key)| session(&blocking::blocks(index), &rec_of, key.fixes()))
            .collect();
        // Without enough identifier pairs, train on the candidate pairs of the uniform sample
        // (every record when the register has at most a million), as check does.
        let identifier_pairs: f64 = sessions.iter().map(|s| s.total_pairs).sum();
        let rounds = if identifier_pairs >= MIN_IDENTIFIER_PAIRS {
            CandidateRounds::none()
        } else {
            training::rounds(&reg.sample, &blocking::candidates(&reg.sample, cap))
        };
        let (model, training) = training::train(&reg.sample, n, &reg.names, &sessions, &rounds);
        let judge = Judge {
            model: &model,
            threshold: opts.config.matching.threshold,
            review: opts.config.matching.review_threshold,
            records: n,
        };
        // What the stream kept for the model is no longer needed.
        reg.id_index = Default::default();
        reg.sample = Vec::new();
        reg.names = NameCounts::default();
        let mut found = Found {
            skipped: cross_skipped,
            ..Found::default()
        };
        found.judge(&judge, &cross, &|r| fetched.judged(r), &|r| r);
        found.count_pass("personal_id/old_id across birth-year units", cross.len());
        drop(fetched);
        let held = rows_bytes + (kept.capacity() * 8) as u64;
        let runs = spilled.with_records(
            run_rows(opts.memory, held, &spill),
            &kept,
            |&p| p,
            |run, fetched| found.judge(&judge, run, &|r| fetched.judged(r), &|r| r),
        )?;
        found.count_pass("year-free passes across birth-year units", kept.len());
        Ok((model, training, found, runs))
    })?;
    // Judged now: at 100 M people the pairs across units are 33 M (265 MB and more), held
    // through every unit before.
    drop((cross, kept));
    let mut found = found;
    warnings.extend(training.warning.clone());

    let mut largest_unit = 0;
    for (i, unit) in units.iter().enumerate() {
        phases.show(&format!("units {}/{}", i + 1, units.len()));
        let records = crate::phase::traced(&format!("units.{}", i + 1), || {
            let judge = Judge {
                model: &model,
                threshold: opts.config.matching.threshold,
                review: opts.config.matching.review_threshold,
                records: n,
            };
            let records = match_unit(
                &spill,
                unit.clone(),
                &judge,
                &common,
                cap,
                &wider,
                &mut found,
            );
            // What the unit freed goes back before the next unit is read.
            crate::machine::release_freed();
            records
        })?;
        largest_unit = largest_unit.max(records);
    }
    phases.lap("units");
    let spilled_bytes = spill.bytes;
    let buckets_used = spill.counts.iter().filter(|c| **c > 0).count();

    let texts = phases.run("record_ids", || {
        let colliding: Vec<u64> = spill
            .sorted_record_ids()?
            .chunk_by(|a, b| a == b)
            .filter(|g| g.len() > 1 && g[0] != 0)
            .map(|g| g[0])
            .collect();
        drop(spill);
        let judged = &found.judged;
        let mut rows: Vec<u32> = judged
            .pairs
            .iter()
            .chain(judged.review.iter().map(|r| &r.pair))
            .flat_map(|p| [p.a.row, p.b.row])
            .chain(judged.shared.iter().flat_map(|s| [s.0, s.1]))
            .chain(crowded.iter().flat_map(|c| c.0.iter().copied()))
            .collect();
        rows.par_sort_unstable();
        rows.dedup();
        record_texts(opts, rows, &colliding)
    })?;

    let concluded = phases.run("outputs", || {
        let rank = |r: u32| KeepRank::unpack(reg.rank[r as usize]);
        // Features are no longer held here: an implied pair's levels stay empty.
        let no_levels = |_: u32, _: u32| String::new();
        conclude(
            &staging,
            &opts.config,
            &mut found,
            &crowded,
            &rank,
            &texts,
            &no_levels,
        )
    })?;
    let laps = phases.finish();
    let matching = DedupMatching {
        pairs_compared: found.compared,
        pairs_per_pass: found.per_pass.clone(),
        pairs_in_oversized_blocks_skipped: found.skipped,
        model: DedupModel {
            lambda: model.lambda,
            em_iterations: model.em_iterations,
        },
        training: training.summary(),
        examples: Vec::new(),
    };
    let summary = summary_of(
        n,
        &concluded,
        found.judged.shared.len(),
        matching,
        Partitions {
            birth_year_buckets: buckets_used,
            units: units.len(),
            largest_unit_records: largest_unit,
            spilled_bytes,
            memory_budget_bytes: opts.memory,
            fetch_runs: filter_runs + judge_runs,
        },
        warnings,
        crate::summary::timings(&laps),
    );
    commit(staging, summary)
}

/// Bytes a record of a register matched in memory as `check` holds it, beside its columns:
/// parsed facts, matching features, candidate pairs and their sorts.
const IN_MEMORY_BYTES_PER_RECORD: u64 = 380;
/// Bytes of columns in memory per byte of a file read (Parquet: text, repeated values kept
/// once; a CSV file's columns take about its own bytes).
const IN_MEMORY_BYTES_PER_FILE_BYTE: u64 = 2;

/// Whether a register of `rows` records (at most) in files of `file_bytes` (both known from
/// the files' footers, lines and sizes, before it is parsed) is matched in memory under
/// `memory`, as `check` matches it: nothing spilled, each record's features computed once
/// and never encoded, written or read back. The need is counted as `check --residents`
/// measures it at its peak: 480 MB at 1 M people (52 MB of Parquet; counted 546 MB), 2.20 GB
/// at 5 M (259 MB; counted 2.46 GB); as CSV, 1 M people took 508 MB (247 MB; counted 942 MB).
/// A register with more columns counts them through its bytes.
fn fits_in_memory(rows: usize, file_bytes: u64, memory: u64) -> bool {
    (rows as u64)
        .saturating_mul(IN_MEMORY_BYTES_PER_RECORD)
        .saturating_add(file_bytes.saturating_mul(IN_MEMORY_BYTES_PER_FILE_BYTE))
        .saturating_add(PROGRAM_BYTES)
        <= memory
}

/// `dedup` of a register that fits in memory: read whole and matched by `check`'s own steps
/// (`check::match_all` on the residents alone), written as `dedup` writes its outputs. The
/// same pairs, clusters and findings as the spilled partitions give (tests/national.rs), and
/// at 1 M people a quarter less time: the spill's encoding, writing and reading back, and
/// the fetches of the pairs across birth years, are not needed.
fn in_memory(opts: &DedupOptions, staging: Staging, mut phases: Phases) -> Result<DedupOutcome> {
    use crate::core::{CheckInput, Context};
    let mut warnings = Warnings::new();
    let table = phases.run("read", || {
        crate::read::read_source(
            "residents",
            SourceKind::Residents,
            &opts.residents,
            &opts.config,
            &mut warnings,
        )
    })?;
    let n = table.len();
    let tables = [table];
    let prepared = phases.run("prepare", || vec![Prepared::new(&tables[0])]);
    let ctx = Context {
        cmnd_map: None,
        deaths: None,
        as_of: crate::dates::PDate::default(),
        province: None,
        matching: opts.config.matching,
        alive: opts.config.alive,
        residence: opts.config.residence.clone(),
        expected: vec![Vec::new()],
    };
    let input = CheckInput::new(&tables, &prepared, ctx);
    let (result, model) = crate::check::match_all(
        &input,
        &[],
        &mut phases,
        None,
        crate::matching::link::Deciding::Whole,
        // A pair its cluster implies carries no levels, as the spilled partitions and Spark
        // list it (without the records' features by then): what `dedup` writes does not
        // depend on the budget.
        false,
    );
    warnings.extend(result.training.warning.clone());
    let pairs = result.pairs;
    let concluded = phases.run("outputs", || -> Result<Concluded> {
        let mut findings = result.findings;
        findings.par_sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        write_outputs(
            &staging,
            &opts.config,
            &findings,
            &pairs,
            &result.review,
            &result.clusters,
            &input,
        )?;
        Ok(Concluded {
            pairs,
            review: result.review,
            members: result.clusters,
            findings,
        })
    })?;
    let matching = DedupMatching {
        pairs_compared: result.pairs_compared,
        pairs_per_pass: result
            .pairs_per_pass
            .iter()
            .map(|p| (p.name.to_string(), p.proposed))
            .collect(),
        pairs_in_oversized_blocks_skipped: result.blocks_skipped,
        model: DedupModel {
            lambda: model.lambda,
            em_iterations: model.em_iterations,
        },
        training: result.training.summary(),
        examples: result.examples,
    };
    let laps = phases.finish();
    let summary = summary_of(
        n,
        &concluded,
        result.id_shared_pairs,
        matching,
        Partitions {
            birth_year_buckets: 0,
            units: 1,
            largest_unit_records: n,
            spilled_bytes: 0,
            memory_budget_bytes: opts.memory,
            fetch_runs: 0,
        },
        warnings,
        crate::summary::timings(&laps),
    );
    commit(staging, summary)
}

/// summary.json written beside the other outputs, and the run's files moved into place.
fn commit(staging: Staging, summary: DedupSummary) -> Result<DedupOutcome> {
    staging.write_bytes(
        "summary.json",
        crate::summary::to_json(&summary)?.as_bytes(),
    )?;
    staging.commit()?;
    Ok(DedupOutcome { summary })
}

/// What the outputs of `dedup` hold.
struct Concluded {
    pairs: Vec<Pair>,
    review: Vec<ReviewPair>,
    members: Vec<ClusterMember>,
    findings: Vec<Finding>,
}

/// The last phase: clusters of the decided pairs, the findings, and the files written to
/// `staging` (not yet committed). `crowded`: the rows of IDs carried by more records than one
/// person has, with the ID. `levels` gives an implied pair's per-field levels when the driver
/// still holds the two records' features (else "").
fn conclude(
    staging: &Staging,
    config: &Config,
    found: &mut Found,
    crowded: &[(Vec<u32>, u64)],
    rank: &dyn Fn(u32) -> KeepRank,
    texts: &RecordTexts,
    levels: &(dyn Fn(u32, u32) -> String + Sync),
) -> Result<Concluded> {
    // A windowed block's pair that a unit proposed too was judged twice, alike: kept once.
    found.judged.keep_once();
    let mut pairs = std::mem::take(&mut found.judged.pairs);
    decide::order_pairs(&mut pairs, |r| texts.cell(r, Column::RecordId));
    let mut review = std::mem::take(&mut found.judged.review);
    let n = pairs
        .iter()
        .chain(review.iter().map(|r| &r.pair))
        .map(|p| p.a.row.max(p.b.row) as usize + 1)
        .max()
        .unwrap_or(0);
    let apart = cluster::cluster_kin(n, &mut pairs, &mut review, &found.judged.parents());
    cluster::set_apart(&mut pairs, &mut review, &apart);
    decide::order_pairs(&mut pairs, |r| texts.cell(r, Column::RecordId));
    decide::order_review(&mut review, |r| texts.cell(r, Column::RecordId));
    let joined = |a: u32, b: u32| {
        let province = |r| texts.cell(RowRef::resident(r), Column::ProvinceCode);
        (province(a) == province(b), levels(a, b))
    };
    cluster::add_implied(&mut pairs, &mut review, &joined, |r| {
        texts.cell(r, Column::RecordId)
    });
    let members = cluster_members_by(&pairs, rank);
    let mut findings: Vec<Finding> = pairs.iter().flat_map(decide::duplicate_findings).collect();
    let mut crowded_ids: Vec<u64> = crowded.iter().map(|c| c.1).collect();
    crowded_ids.sort_unstable();
    for (rows, pid) in crowded {
        findings.extend(decide::crowded_id_findings(rows, *pid));
    }
    for &(a, b, pid) in &found.judged.shared {
        if crowded_ids.binary_search(&pid).is_err() {
            findings.extend(decide::shared_findings(a, b, pid));
        }
    }
    findings.extend(review.iter().flat_map(decide::review_findings));
    findings.par_sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    write_outputs(staging, config, &findings, &pairs, &review, &members, texts)?;
    Ok(Concluded {
        pairs,
        review,
        members,
        findings,
    })
}

/// summary.json of a dedup run: `id_shared_pairs` pairs of two people sharing an ID.
fn summary_of(
    n: usize,
    c: &Concluded,
    id_shared_pairs: usize,
    matching: DedupMatching,
    partitions: Partitions,
    warnings: Warnings,
    timings: BTreeMap<String, f64>,
) -> DedupSummary {
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    for f in &c.findings {
        *per_rule.entry(f.rule.code().to_string()).or_default() += 1;
    }
    let in_province = c.pairs.iter().filter(|p| p.in_province).count();
    let clusters = c.members.iter().filter(|m| m.keep).count();
    DedupSummary {
        command: "dedup".into(),
        rows_read: [("residents".to_string(), n)].into(),
        findings_per_rule: per_rule,
        duplicates: DedupDuplicates {
            pairs: c.pairs.len(),
            pairs_from_clusters: c.pairs.iter().filter(|p| p.implied).count(),
            review_pairs: c.review.len(),
            in_province,
            out_of_province: c.pairs.len() - in_province,
            clusters,
            records_in_clusters: c.members.len(),
            records_to_retire: c.members.len() - clusters,
        },
        id_shared_pairs,
        matching,
        partitions,
        warnings,
        timings_seconds: timings,
    }
}

/// findings.parquet (dup.* and id.shared), duplicates.parquet and clusters.parquet.
fn write_outputs(
    staging: &Staging,
    config: &Config,
    findings: &[Finding],
    pairs: &[Pair],
    review: &[ReviewPair],
    members: &[ClusterMember],
    texts: &dyn Records,
) -> Result<()> {
    use report::tables::{
        clusters_batch, clusters_schema, duplicates_batch, duplicates_schema, findings_batches,
        findings_schema, review_batch, review_schema,
    };
    let review_refs: Vec<&ReviewPair> = review.iter().collect();
    staging.write_parquet(
        "review.parquet",
        review_schema(),
        &[review_batch(&review_refs, texts)?],
    )?;
    let open = vec![false; findings.len()];
    staging.write_parquet(
        "findings.parquet",
        findings_schema(),
        &findings_batches(findings, &open, texts, config, &report::Extras::none())?,
    )?;
    let pair_refs: Vec<&Pair> = pairs.iter().collect();
    staging.write_parquet(
        "duplicates.parquet",
        duplicates_schema(),
        &[duplicates_batch(&pair_refs, texts)?],
    )?;
    let member_refs: Vec<&ClusterMember> = members.iter().collect();
    staging.write_parquet(
        "clusters.parquet",
        clusters_schema(),
        &[clusters_batch(&member_refs, texts)?],
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_register_planned_whole_is_one_unit_of_the_budget() {
        // Whatever its birth years, a register the footers say fits whole is planned as one
        // unit with the most the register may hold beside it (its lists at twice their size).
        let gb4 = 4_000_000_000u64;
        // The largest register that fits whole in 4 GB: (4 GB - 64 MiB) / 325 bytes.
        let largest = ((gb4 - super::PROGRAM_BYTES) / super::WHOLE_BYTES_PER_RECORD) as usize;
        assert!(super::fits_whole(largest, gb4) && !super::fits_whole(largest + 1, gb4));
        for (rows, memory) in [(1_000_000usize, gb4), (largest, gb4), (3_000, 2_000_000)] {
            let fits = super::fits_whole(rows, memory);
            let counts: Vec<usize> = (0..super::BUCKETS)
                .map(|b| rows / super::BUCKETS + (b < rows % super::BUCKETS) as usize)
                .collect();
            let held = rows as u64 * (36 + super::FOUND_BYTES_PER_RECORD) + super::PROGRAM_BYTES;
            let (units, _) = super::plan_units(&counts, memory, held);
            assert!(
                !fits || units.len() == 1,
                "{rows} records under {memory} bytes"
            );
        }
        assert!(super::fits_whole(1_000_000, gb4));
        assert!(!super::fits_whole(3_000, 2_000_000));
        assert!(!super::fits_whole(100_000_000, gb4));
    }

    #[test]
    fn a_spill_file_is_read_back_whole_a_block_at_a_time() {
        // Records of 3 bytes, two blocks and a part: every record comes back once, in order,
        // and no block handed over holds more than BLOCK_READ records.
        let dir = std::env::temp_dir().join(format!("lamsach-read-blocks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("records.bin");
        let n = 2 * super::BLOCK_READ + 5;
        let bytes: Vec<u8> = (0..n as u32)
            .flat_map(|i| [i as u8, (i >> 8) as u8, (i >> 16) as u8])
            .collect();
        std::fs::write(&path, &bytes).unwrap();
        let (mut got, mut blocks) = (Vec::new(), 0);
        super::read_blocks(&path, 3, |block| {
            assert!(block.len() <= 3 * super::BLOCK_READ && block.len() % 3 == 0);
            got.extend_from_slice(block);
            blocks += 1;
        })
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(blocks, 3);
        assert_eq!(got, bytes, "every record once, in file order");
    }

    #[test]
    fn the_id_index_keeps_the_ids_several_records_carry() {
        let mut reg = super::Register::default();
        // Sorted (ID key, row): IDs 2 and 4 are carried by several records, the others by one.
        reg.id_index[0] = vec![
            (1, 0),
            (2, 1),
            (2, 5),
            (3, 2),
            (4, 3),
            (4, 4),
            (4, 7),
            (9, 8),
        ];
        reg.id_index[1] = vec![(5, 0), (6, 1)];
        let blocks_before: Vec<Vec<(u64, u32)>> =
            crate::matching::blocking::blocks(&reg.id_index[0])
                .iter()
                .map(|b| b.to_vec())
                .collect();
        reg.keep_shared_ids();
        assert_eq!(
            reg.id_index[0],
            vec![(2, 1), (2, 5), (4, 3), (4, 4), (4, 7)]
        );
        assert!(reg.id_index[1].is_empty());
        // The blocks the pairs and the training read are the same.
        let blocks_after: Vec<Vec<(u64, u32)>> =
            crate::matching::blocking::blocks(&reg.id_index[0])
                .iter()
                .map(|b| b.to_vec())
                .collect();
        assert_eq!(blocks_before, blocks_after);
    }

    #[test]
    fn units_fit_in_what_the_budget_leaves_beside_the_register() {
        // Birth-year buckets of a register: a bucket without a year, years of 1–3 M people,
        // one year larger than the room (a unit of its own), empty years.
        let m = 1_000_000;
        let counts = [m / 2, 3 * m, 2 * m, 0, 3 * m, 9 * m, m, 0, 2 * m, 2 * m];
        let memory = 2_000_000_000;
        for held in [0, 400_000_000, 1_500_000_000, 3_000_000_000] {
            let (units, unit_of) = super::plan_units(&counts, memory, held);
            // The units are consecutive runs of buckets covering them all, each bucket's unit
            // the one that holds it.
            assert_eq!(units[0].start, 0);
            assert_eq!(units.last().unwrap().end, counts.len());
            for (u, w) in units.iter().enumerate() {
                assert!(!w.is_empty());
                if u > 0 {
                    assert_eq!(units[u - 1].end, w.start);
                }
                for b in w.clone() {
                    assert_eq!(unit_of[b] as usize, u);
                }
                // A unit beside what the register holds stays within the budget, unless it is
                // one year too large for the room.
                let records: usize = counts[w.clone()].iter().sum();
                let need = held + records as u64 * super::UNIT_BYTES_PER_RECORD;
                let years = counts[w.clone()].iter().filter(|&&c| c > 0).count();
                assert!(
                    need <= memory || years == 1,
                    "held {held}: unit {w:?} needs {need}"
                );
            }
        }
        // What the register holds is taken from the room: more units when it holds more.
        let units = |held| super::plan_units(&counts, memory, held).0.len();
        assert!(units(1_500_000_000) > units(0));
        // Nothing left: every year is a unit of its own.
        let years = counts.iter().filter(|&&c| c > 0).count();
        assert_eq!(units(3_000_000_000), years);
    }

    #[cfg(unix)]
    #[test]
    fn spill_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = crate::scratch("spill-mode");
        let path = dir.join("bucket-000.bin");
        drop(super::owner_only(&path).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(mode, 0o600, "a spill file holds IDs and name keys");
    }

    /// The year-free pairs spilled by pair of units: each comes back once, with the others of
    /// its pair of units only, sorted, whether it was still buffered or written (in several
    /// batches); the files are owner-only, and gone once read or when the spill is dropped.
    #[test]
    fn year_free_pairs_come_back_by_pair_of_units() {
        use super::*;
        use std::collections::BTreeSet;
        let dir = crate::scratch("pairs");
        let units = 5usize;
        let unit = |r: u32| (r % units as u32) as u16;
        let mut expected: BTreeMap<(u16, u16), BTreeSet<YearFreePair>> = BTreeMap::new();
        let mut spill = PairSpill::new(&dir, units, 0);
        spill.flush_at = 7;
        for i in 0..1_000u32 {
            let (a, b) = (i % 97, 100 + i * 7 % 53);
            let pair = (a, b, (i % 3) as u8);
            // Most pairs twice, as several passes propose them.
            for _ in 0..1 + (i % 4 != 0) as usize {
                spill.push((unit(b), unit(a)), pair).unwrap();
            }
            let (x, y) = (unit(a).min(unit(b)), unit(a).max(unit(b)));
            expected.entry((x, y)).or_default().insert(pair);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
            assert!(!files.is_empty(), "batches of 7 pairs are written");
            for f in files {
                let mode = f.metadata().unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "a pair file names rows of the register");
            }
        }
        let mut got = BTreeMap::new();
        let mut last = None;
        for slot in spill.unit_pairs().collect::<Vec<_>>() {
            let key = ((slot / units) as u16, (slot % units) as u16);
            assert!(last < Some(key), "pairs of units in order");
            last = Some(key);
            let pairs = spill.read(slot).unwrap();
            assert!(pairs.windows(2).all(|w| w[0] < w[1]), "sorted, each once");
            got.insert(key, pairs.into_iter().collect::<BTreeSet<_>>());
        }
        assert_eq!(got, expected);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "read files removed"
        );
        spill.push((0, 1), (1, 2, 0)).unwrap();
        spill.flush().unwrap();
        drop(spill);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "dropped files removed"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A fetch reads only the blocks of a bucket that hold its rows, and finds each row's own
    /// record there, at the first or last record of a block as well as inside one.
    #[test]
    fn a_fetch_reads_the_blocks_holding_its_rows() {
        use super::*;
        let dir = crate::scratch("blocks");
        let mut spill = Spill::new(&dir).unwrap();
        let rows = 3_000u32;
        let mut bucket = Vec::new();
        // Two birth years taking turns (two thirds in one bucket), appended in chunks.
        for chunk in (0..rows).collect::<Vec<_>>().chunks(700) {
            let mut by_bucket: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
            for &r in chunk {
                let rec = Rec {
                    pid: 7_000 + r as u64,
                    birth: crate::dates::PDate::new(if r % 3 == 0 { 1970 } else { 1980 }, 1, 1),
                    ..Rec::default()
                };
                bucket.push(bucket_of(&rec) as u8);
                encode(by_bucket.entry(bucket_of(&rec)).or_default(), r, 0, &rec);
            }
            for (b, buf) in by_bucket {
                spill.append(b, &buf).unwrap();
            }
        }
        spill.finish().unwrap();
        let big = bucket_of(&Rec {
            birth: crate::dates::PDate::new(1980, 1, 1),
            ..Rec::default()
        });
        let in_big: Vec<u32> = (0..rows).filter(|r| r % 3 != 0).collect();
        assert_eq!(spill.counts[big], in_big.len());
        // The first and last records of blocks, and one inside the last (short) block.
        let wanted = [
            in_big[0],
            in_big[255],
            in_big[256],
            in_big[1023],
            in_big[1999],
        ];
        let bytes = spill.read_rows(big, &wanted).unwrap();
        assert_eq!(
            bytes.len(),
            (3 * BLOCK_RECORDS + (2000 - 1792)) * SPILLED,
            "blocks 0, 1, 3 and 7 are read, not the bucket"
        );
        let mut whole = Vec::new();
        spill
            .read(big, |bytes| whole.extend_from_slice(bytes))
            .unwrap();
        assert_eq!(spill.read_rows(big, &in_big).unwrap(), whole);
        let common = CommonNames::default();
        let spilled = Spilled {
            spill: &spill,
            bucket: &bucket,
            common: &common,
        };
        let mut marked = vec![0u64; (rows as usize).div_ceil(64)];
        for &r in wanted.iter().chain(&[0, 2_997]) {
            mark(&mut marked, r);
        }
        let fetched = spilled.fetch(marked).unwrap();
        assert_eq!(fetched.recs.len(), wanted.len() + 2);
        for &r in wanted.iter().chain(&[0, 2_997]) {
            assert_eq!(fetched.rec(r).pid, 7_000 + r as u64);
        }
        drop(spill);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Pairs whose records are fetched in runs: every pair is seen once, in its order, with its
    /// own two records, and no run holds more records than the limit.
    #[test]
    fn records_of_pairs_are_fetched_in_runs_within_the_limit() {
        use super::*;
        let dir = crate::scratch("runs");
        let mut spill = Spill::new(&dir).unwrap();
        let rows = 200u32;
        let mut bucket = Vec::new();
        for r in 0..rows {
            // Rows spread over buckets out of row order, as birth years spread them.
            let rec = Rec {
                pid: 1_000 + r as u64,
                birth: crate::dates::PDate::new(1950 + (r * 7 % 40) as u16, 1, 1),
                ..Rec::default()
            };
            let mut buf = Vec::new();
            encode(&mut buf, r, 0, &rec);
            bucket.push(bucket_of(&rec) as u8);
            spill.append(bucket_of(&rec), &buf).unwrap();
        }
        spill.finish().unwrap();
        let pairs: Vec<(u32, u32)> = (0..rows)
            .flat_map(|a| [(a, (a * 13 + 5) % rows), (a, (a * 31 + 1) % rows)])
            .filter(|&(a, b)| a != b)
            .map(|(a, b)| (a.min(b), a.max(b)))
            .collect();
        let common = CommonNames::default();
        for max_rows in [2, 7, 50, 10_000] {
            let mut seen = Vec::new();
            let spilled = Spilled {
                spill: &spill,
                bucket: &bucket,
                common: &common,
            };
            let runs = spilled
                .with_records(
                    max_rows,
                    &pairs,
                    |&p| p,
                    |run, fetched| {
                        assert!(
                            fetched.recs.len() <= max_rows,
                            "a run holds too many records"
                        );
                        for &(a, b) in run {
                            assert_eq!(fetched.rec(a).pid, 1_000 + a as u64);
                            assert_eq!(fetched.rec(b).pid, 1_000 + b as u64);
                        }
                        seen.extend_from_slice(run);
                    },
                )
                .unwrap();
            assert_eq!(seen, pairs, "every pair once, in order");
            let distinct = 200;
            assert!(
                runs >= distinct / max_rows,
                "{runs} runs for {max_rows} records"
            );
            if max_rows >= distinct {
                assert_eq!(runs, 1);
            }
        }
        drop(spill);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
