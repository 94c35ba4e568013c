//! Sorting the engine's large lists of (key, row) entries. Blocking sorts a million entries
//! per pass, two dozen passes a run; a comparison sort spent 0.43 s of blocking's 1.2 s at
//! 1 M people on them. These lists are sorted by a key whose leading bits spread them evenly
//! (a hash, or a row number), so they are sorted as a radix sort does: scattered by the key's
//! leading bits to buckets (each thread scanning the list for its own range of buckets, so
//! every write lands in a part of the output that thread alone holds), each bucket scattered
//! again in cache by the next bits, and the short runs left sorted. The result is a
//! comparison sort's result exactly, whatever the thread count.

use rayon::prelude::*;

/// Entries a first-level bucket holds on average: a bucket stays in cache while it is sorted.
const PER_BUCKET: usize = 1024;
/// Below this many entries, a plain sort.
const SMALL: usize = 1 << 14;

/// Sort `v` as `sort_unstable` would, given a `key` below `2^width` that never decreases along
/// the sorted order (`a <= b` implies `key(a) <= key(b)`), whose leading bits spread the
/// entries: they are scattered by the key's leading bits to buckets, each bucket is scattered
/// in cache by its next bits, and the short runs left (entries alike in all those bits) are
/// sorted. Skewed keys cost no more than a sort of the largest run.
pub fn sort_radix<T, F>(v: &mut Vec<T>, width: u32, key: F)
where
    T: Copy + Ord + Send + Sync,
    F: Fn(&T) -> u64 + Sync,
{
    let n = v.len();
    let bits = (n / PER_BUCKET).max(1).ilog2().min(12).min(width);
    if n < SMALL || bits == 0 {
        v.par_sort_unstable();
        return;
    }
    let shift = width - bits;
    let buckets = 1usize << bits;
    let bucket = |x: &T| (key(x) >> shift) as usize;
    // Entries per bucket, counted in parallel over chunks of the list.
    let chunk = n
        .div_ceil(rayon::current_num_threads().max(1) * 4)
        .max(SMALL);
    let counts = v
        .par_chunks(chunk)
        .map(|c| {
            let mut counts = vec![0usize; buckets];
            for x in c {
                counts[bucket(x)] += 1;
            }
            counts
        })
        .reduce(
            || vec![0usize; buckets],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
    // Each bucket's start in the output.
    let mut starts = Vec::with_capacity(buckets + 1);
    let mut at = 0;
    for c in &counts {
        starts.push(at);
        at += c;
    }
    starts.push(n);
    // Ranges of buckets of about equal entries, one a thread; each range's part of the output.
    let parts = rayon::current_num_threads().clamp(1, 64);
    let mut ranges = Vec::with_capacity(parts);
    let mut lo = 0;
    for p in 1..=parts {
        let target = n * p / parts;
        let hi = if p == parts {
            buckets
        } else {
            lo + starts[lo..buckets].partition_point(|&s| s < target)
        };
        if hi > lo {
            ranges.push((lo, hi));
            lo = hi;
        }
    }
    let mut out = vec![v[0]; n];
    let mut slices = Vec::with_capacity(ranges.len());
    let mut rest = &mut out[..];
    for &(lo, hi) in &ranges {
        let (part, tail) = rest.split_at_mut(starts[hi] - starts[lo]);
        slices.push(((lo, hi), part));
        rest = tail;
    }
    let list = &v[..];
    slices.into_par_iter().for_each(|((lo, hi), part)| {
        let base = starts[lo];
        let mut next: Vec<usize> = starts[lo..hi].iter().map(|s| s - base).collect();
        for x in list {
            let b = bucket(x);
            if b >= lo && b < hi {
                part[next[b - lo]] = *x;
                next[b - lo] += 1;
            }
        }
        let (mut scratch, mut counts) = (Vec::new(), Vec::new());
        for b in lo..hi {
            let s = &mut part[starts[b] - base..starts[b + 1] - base];
            sort_bucket(s, shift, &key, &mut scratch, &mut counts);
        }
    });
    *v = out;
}

/// Sort one bucket (entries alike in the key's bits from `shift` up) by the key's next bits,
/// then each run alike in those too.
fn sort_bucket<T: Copy + Ord>(
    s: &mut [T],
    shift: u32,
    key: &impl Fn(&T) -> u64,
    scratch: &mut Vec<T>,
    counts: &mut Vec<u32>,
) {
    let m = s.len();
    // About two sub-buckets an entry (at most 64 k: a bucket swollen by one repeated key
    // is one run, sorted as it is).
    let bits = (m.max(2).ilog2() + 2).min(16).min(shift);
    if m <= 16 || bits == 0 {
        s.sort_unstable();
        return;
    }
    let low = shift - bits;
    let mask = (1u64 << bits) - 1;
    let sub = |x: &T| ((key(x) >> low) & mask) as usize;
    counts.clear();
    counts.resize((1 << bits) + 1, 0);
    for x in s.iter() {
        counts[sub(x) + 1] += 1;
    }
    for i in 1..counts.len() {
        counts[i] += counts[i - 1];
    }
    scratch.clear();
    scratch.extend_from_slice(s);
    for x in scratch.iter() {
        let c = &mut counts[sub(x)];
        s[*c as usize] = *x;
        *c += 1;
    }
    for run in s.chunk_by_mut(|a, b| sub(a) == sub(b)) {
        if run.len() > 1 {
            run.sort_unstable();
        }
    }
}

/// Sort (key, row) entries whose keys are hashes (spread evenly over all 64 bits).
pub fn sort_hashed(v: &mut Vec<(u64, u32)>) {
    sort_radix(v, 64, |e| e.0);
}

/// Sort pairs of rows by their rows (and then the rest), given the range `rows` their first
/// rows lie in (its leading bits spread them).
pub fn sort_by_rows<T>(
    v: &mut Vec<T>,
    rows: std::ops::Range<u32>,
    pair: impl Fn(&T) -> (u32, u32) + Sync,
) where
    T: Copy + Ord + Send + Sync,
{
    let span = rows.end.saturating_sub(rows.start) as usize;
    let row_bits = (span.max(2) - 1).ilog2() + 1;
    sort_radix(v, 32 + row_bits, |e| {
        let (a, b) = pair(e);
        ((a - rows.start) as u64) << 32 | b as u64
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed ^ (*seed >> 29)
    }

    #[test]
    fn hashed_keys_sort_as_a_comparison_sort_does() {
        let mut seed = 7;
        for n in [0, 1, 5, 20_000, 100_003] {
            // Keys spread, and some repeated (blocks of several records), rows distinct.
            let v: Vec<(u64, u32)> = (0..n as u32)
                .map(|r| {
                    let k = lcg(&mut seed);
                    (if r % 3 == 0 { k % 1000 } else { k }, r)
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            let mut got = v.clone();
            sort_hashed(&mut got);
            assert_eq!(got, want, "{n} entries");
        }
    }

    #[test]
    fn one_key_for_every_entry_still_sorts() {
        // A degenerate pass: every record in one block.
        let v: Vec<(u64, u32)> = (0..50_000u32).rev().map(|r| (42, r)).collect();
        let mut got = v.clone();
        sort_hashed(&mut got);
        assert!(got.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(got.len(), v.len());
    }

    #[test]
    fn pairs_sort_by_row_as_a_comparison_sort_does() {
        let mut seed = 3;
        for rows in [10usize, 1_000, 300_000] {
            let v: Vec<(u32, u32, u8)> = (0..60_000)
                .map(|_| {
                    let a = (lcg(&mut seed) % rows as u64) as u32;
                    let b = (lcg(&mut seed) % rows as u64) as u32;
                    (a.min(b), a.max(b), (lcg(&mut seed) % 25) as u8)
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            let mut got = v.clone();
            sort_by_rows(&mut got, 0..rows as u32, |e| (e.0, e.1));
            assert_eq!(got, want, "{rows} rows");
            // Pairs whose first rows lie in a range beyond the first row.
            let lo = rows as u32 / 3;
            let mut part: Vec<_> = v.iter().copied().filter(|e| e.0 >= lo).collect();
            let want: Vec<_> = want.into_iter().filter(|e| e.0 >= lo).collect();
            sort_by_rows(&mut part, lo..rows as u32, |e| (e.0, e.1));
            assert_eq!(part, want, "{rows} rows from {lo}");
        }
    }
}
