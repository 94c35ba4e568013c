//! A small deterministic random generator (xoshiro256** seeded by SplitMix64) for the
//! synthetic data. Written here rather than taken from `rand` so that `generate --seed S`
//! gives the same dataset in every version of lamsach, whatever crate versions it builds with.

#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator for `seed`, independent for each `stream` (e.g. a chunk number).
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut x = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        Rng {
            s: [
                splitmix(&mut x),
                splitmix(&mut x),
                splitmix(&mut x),
                splitmix(&mut x),
            ],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Items with cumulative weights, sampled in O(log n).
#[derive(Clone, Debug)]
pub struct Weighted<T> {
    items: Vec<T>,
    cumulative: Vec<f64>,
}

impl<T> Weighted<T> {
    pub fn new(pairs: impl IntoIterator<Item = (T, f64)>) -> Self {
        let mut items = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0.0;
        for (item, w) in pairs {
            if w > 0.0 {
                total += w;
                items.push(item);
                cumulative.push(total);
            }
        }
        Weighted { items, cumulative }
    }

    pub fn sample(&self, rng: &mut Rng) -> &T {
        let total = *self.cumulative.last().expect("non-empty weights");
        let x = rng.f64() * total;
        let i = self
            .cumulative
            .partition_point(|c| *c <= x)
            .min(self.items.len() - 1);
        &self.items[i]
    }

    /// The `k` items of largest weight, largest first.
    pub fn top(&self, k: usize) -> Vec<&T> {
        let mut order: Vec<(f64, usize)> = (0..self.items.len())
            .map(|i| {
                let before = if i == 0 { 0.0 } else { self.cumulative[i - 1] };
                (self.cumulative[i] - before, i)
            })
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        order
            .into_iter()
            .take(k)
            .map(|(_, i)| &self.items[i])
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7, 3);
            (0..5).map(|_| r.next_u64()).collect()
        };
        let mut r = Rng::new(7, 3);
        let b: Vec<u64> = (0..5).map(|_| r.next_u64()).collect();
        assert_eq!(a, b);
        let mut other = Rng::new(7, 4);
        assert_ne!(a[0], other.next_u64());
    }

    #[test]
    fn weighted_sampling_follows_weights() {
        let w = Weighted::new([("a", 9.0), ("b", 1.0)]);
        let mut r = Rng::new(1, 0);
        let n = (0..10_000).filter(|_| *w.sample(&mut r) == "a").count();
        assert!((8_700..9_300).contains(&n), "{n}");
    }
}
