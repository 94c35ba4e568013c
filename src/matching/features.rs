//! Compact per-record features for matching, computed once per source in parallel: folded
//! name parts with their 64-bit hashes (no interner needed), diacritic keys, birth date,
//! sex, IDs, parents and place, all as integers except the two strings Jaro–Winkler needs.

use rayon::prelude::*;

use crate::dates::PDate;
use crate::ids::{classify_cmnd, CmndClass, Sex};
use crate::rules::{Prepared, SexParse};
use crate::table::Table;
use crate::text::{decode_legacy, fold, name_key, split_name};

/// A stable 64-bit hash (FNV-1a) of a string; 0 is reserved for "absent".
pub fn h64(s: &str) -> u64 {
    if s.is_empty() {
        return 0;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h.max(1)
}

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

/// One record, ready to compare.
#[derive(Clone, Debug, Default)]
pub struct Rec {
    pub family: u64,
    pub middle: u64,
    pub given: u64,
    /// Hash of the given name with its diacritics (one tone placement).
    pub given_key: u64,
    /// The name as written carries no diacritics at all (typed without them), so a given
    /// name that folds equal is no evidence of another name.
    pub given_plain: bool,
    /// Hash of the folded syllables sorted (another order of the same syllables).
    pub sorted: u64,
    pub full: u64,
    pub given_text: Box<str>,
    pub family_text: Box<str>,
    /// Year 0 when unknown.
    pub birth: PDate,
    /// 0 unknown, 1 male, 2 female.
    pub sex: u8,
    /// A usable 12-digit ID (valid, or with repairable format), else 0.
    pub pid: u64,
    pub cmnd: u64,
    pub father: u64,
    pub mother: u64,
    pub province: u64,
    pub commune: u64,
    pub household: u64,
}

impl Rec {
    pub fn has_name(&self) -> bool {
        self.given != 0
    }
}

fn has_diacritics(s: &str) -> bool {
    !s.is_ascii()
}

/// Features of every row of a table.
pub fn features(table: &Table, prepared: &Prepared) -> Vec<Rec> {
    let rows: Vec<usize> = (0..table.len()).collect();
    features_of(table, prepared, &rows)
}

/// Features of some rows of a table, in the order given.
pub fn features_of(table: &Table, prepared: &Prepared, rows: &[usize]) -> Vec<Rec> {
    let (name, father, mother, prov, commune, hh, old) = (
        table.col("full_name"),
        table.col("father_name"),
        table.col("mother_name"),
        table.col("province_code"),
        table.col("commune_code"),
        table.col("household_id"),
        table.col("old_id"),
    );
    rows.par_iter()
        .with_min_len(2048)
        .map(|&r| {
            let facts = prepared.rows[r];
            let raw = name.get(r);
            let decoded = decode_legacy(raw);
            let written = decoded.as_deref().unwrap_or(raw);
            let folded = fold(written);
            let (f, m, g) = split_name(&folded);
            let (_, _, g_written) = split_name(written);
            let key = name_key(g_written);
            let mut syl: Vec<&str> = folded.split(' ').filter(|s| !s.is_empty()).collect();
            syl.sort_unstable();
            let cmnd = match classify_cmnd(old.get(r)) {
                (CmndClass::Missing | CmndClass::BadLength, _, _) => 0,
                (_, v, len) => ((len as u64) << 56) | v,
            };
            Rec {
                family: h64(f),
                middle: h64(m),
                given: h64(g),
                given_key: h64(&key),
                given_plain: !has_diacritics(written),
                sorted: h64(&syl.join(" ")),
                full: h64(&folded),
                given_text: g.into(),
                family_text: f.into(),
                birth: facts.birth.valid().unwrap_or_default(),
                sex: match facts.sex {
                    SexParse::Known(Sex::Male) => 1,
                    SexParse::Known(Sex::Female) => 2,
                    _ => 0,
                },
                pid: facts.pid.personal_id().unwrap_or(0),
                cmnd,
                father: h64(&crate::text::name_fold(father.get(r))),
                mother: h64(&crate::text::name_fold(mother.get(r))),
                province: h64(prov.get(r)),
                commune: h64(commune.get(r)),
                household: h64(hh.get(r)),
            }
        })
        .collect()
}
