//! Stable 64-bit hashes of text and of key parts, for blocking keys, name features and the
//! record_id uniqueness check (the same on every run and machine).

/// A stable 64-bit hash (FNV-1a) of a string; 0 is reserved for "absent".
pub fn h64(s: &str) -> u64 {
    if s.is_empty() {
        return 0;
    }
    h64_bytes(s.bytes())
}

/// [`h64`] of a run of bytes (never 0, the run empty or not): a key of text read in pieces.
pub fn h64_bytes(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h.max(1)
}

/// The hasher of the maps keyed by a name's [`h64`]: the key is a hash already, so one
/// multiply and a fold spread it over the table's bits. The standard library's SipHash cost
/// 4 % of `dedup`'s instructions (the names counted and marked common, their frequencies
/// looked up for every compared pair).
#[derive(Default, Clone, Copy)]
pub struct HashedKey(u64);

impl std::hash::Hasher for HashedKey {
    fn finish(&self) -> u64 {
        let x = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^ (x >> 32)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.write_u64(h64_bytes(bytes.iter().copied()));
    }

    fn write_u64(&mut self, k: u64) {
        self.0 = self.0.rotate_left(23) ^ k;
    }
}

/// A map keyed by hashes ([`HashedKey`]).
pub type KeyMap<V> = std::collections::HashMap<u64, V, std::hash::BuildHasherDefault<HashedKey>>;
/// A set of hashes ([`HashedKey`]).
pub type KeySet = std::collections::HashSet<u64, std::hash::BuildHasherDefault<HashedKey>>;

/// Mix several keys into one blocking key.
pub fn mix(parts: &[u64]) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for &p in parts {
        h ^= p
            .wrapping_add(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(h << 6)
            .wrapping_add(h >> 2);
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    }
    h.max(1)
}

/// The first pair of rows (a < b, the smallest such pair) that carry the same key, among
/// groups of rows whose key hashes are equal: `groups` yields (key, row) per group. Used by
/// the record_id uniqueness check of every driver (equal hashes are compared as text).
pub fn first_duplicate<K: Eq>(
    groups: impl Iterator<Item = Vec<(K, usize)>>,
) -> Option<(usize, usize)> {
    groups
        .flat_map(|g| {
            let mut found = Vec::new();
            for (i, x) in g.iter().enumerate() {
                for y in &g[i + 1..] {
                    if x.0 == y.0 {
                        found.push((x.1.min(y.1), x.1.max(y.1)));
                    }
                }
            }
            found
        })
        .min()
}
