//! Everything the rules and the matcher look at, built once by a driver: the source tables,
//! their parsed facts, the reference inputs, the columns each rule reads, and the
//! personal-ID index of the residents.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::column::Column;
use super::prepared::Prepared;
use super::table::{Col, Cols, Mapped, Table};
use crate::dates::PDate;

/// How the matcher decides (the config's `[matching]` table).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MatchSettings {
    /// Match probability from which a pair of residents is a duplicate.
    pub threshold: f64,
    /// … and from which a linked row is given a resident.
    pub link_threshold: f64,
    /// Pairs from this probability up to the threshold (and pairs the guards hold back) go to
    /// review (`dup.possible`), as do rows with two or more residents this plausible
    /// (`link.ambiguous`).
    pub review_threshold: f64,
    /// Larger blocks are skipped and counted in the summary.
    pub max_block_size: usize,
}

impl Default for MatchSettings {
    fn default() -> Self {
        MatchSettings {
            threshold: 0.9,
            link_threshold: 0.9,
            review_threshold: 0.5,
            max_block_size: 2000,
        }
    }
}

/// The life-and-death rules' limits (the config's `[alive]` table).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AliveSettings {
    /// `alive.implausible_age`: a living resident older than this at `--as-of`.
    pub implausible_age: u16,
    /// `alive.probably_deceased` (info): a living resident of at least this age … (0: off).
    pub probably_deceased_age: u16,
    /// … with no dose, insurance card or other extract event in this many years.
    pub probably_deceased_years: u16,
}

impl Default for AliveSettings {
    fn default() -> Self {
        AliveSettings {
            implausible_age: 120,
            probably_deceased_age: 0,
            probably_deceased_years: 5,
        }
    }
}

/// Which extracts place people where they live or work (the config's `[residence]` table),
/// for `residence.not_registered`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ResidenceSettings {
    /// Source names (insurance, or an `--extract` name). Default: the insurance extract and
    /// every other extract but prisoners' (a prison is not where a person lives).
    pub sources: Option<Vec<String>>,
}

impl ResidenceSettings {
    /// Does a source of this name and kind place its people where they live or work?
    pub fn bears_residence(&self, name: &str, kind: crate::core::SourceKind) -> bool {
        use crate::core::SourceKind;
        match &self.sources {
            Some(list) => list.iter().any(|s| s == name),
            None => match kind {
                SourceKind::Insurance => true,
                SourceKind::Extract => !crate::core::headers::source_matches(
                    name,
                    crate::core::headers::PRISONER_SOURCES,
                ),
                _ => false,
            },
        }
    }
}

/// Everything the rules may look at. Source 0 is always the residents.
pub struct CheckInput<'a> {
    pub tables: &'a [Table],
    pub prepared: &'a [Prepared],
    pub cmnd_map: Option<&'a Table>,
    pub deaths: Option<&'a Table>,
    pub as_of: PDate,
    /// `--province`: the province whose view is reported.
    pub province: Option<&'a str>,
    pub matching: MatchSettings,
    pub alive: AliveSettings,
    /// Per source, whether it places its people where they live or work.
    pub residence_bearing: Vec<bool>,
    /// Per source, the fields `field.missing` checks, with their columns.
    pub expected: Vec<Vec<Expected<'a>>>,
    /// Per source, the canonical columns.
    pub cols: Vec<Cols<'a>>,
    /// Residents with a well-formed personal ID, sorted by ID.
    pub pid_index: PidIndex,
}

/// A field `field.missing` checks, with its column and, for a dictionary-encoded column,
/// which distinct values are empty (so that a row's test reads its key, not its text).
pub struct Expected<'a> {
    pub field: Column,
    pub col: Col<'a>,
    empty: Mapped<'a, bool, fn(&str) -> bool>,
}

impl<'a> Expected<'a> {
    fn of(field: Column, col: Col<'a>) -> Self {
        Expected {
            field,
            col,
            empty: col.mapped(str::is_empty),
        }
    }

    /// Whether the row's cell is empty (absent column, null, or only spaces).
    #[inline]
    pub fn is_empty(&self, row: usize) -> bool {
        self.empty.get(row)
    }
}

/// The reference inputs and settings of a check, beside its sources.
pub struct Context<'a> {
    pub cmnd_map: Option<&'a Table>,
    pub deaths: Option<&'a Table>,
    pub as_of: PDate,
    pub province: Option<&'a str>,
    pub matching: MatchSettings,
    pub alive: AliveSettings,
    pub residence: ResidenceSettings,
    /// Per source, the fields `field.missing` checks.
    pub expected: Vec<Vec<Column>>,
}

impl<'a> CheckInput<'a> {
    pub fn new(tables: &'a [Table], prepared: &'a [Prepared], ctx: Context<'a>) -> Self {
        let expected = tables
            .iter()
            .zip(&ctx.expected)
            .map(|(t, fields)| {
                fields
                    .iter()
                    .map(|&f| Expected::of(f, t.column(f)))
                    .collect()
            })
            .collect();
        let cols = tables.iter().map(Cols::of).collect();
        let pid_index = PidIndex::build(&prepared[0]);
        let residence_bearing = tables
            .iter()
            .map(|t| ctx.residence.bears_residence(&t.name, t.kind))
            .collect();
        CheckInput {
            tables,
            prepared,
            cmnd_map: ctx.cmnd_map,
            deaths: ctx.deaths,
            as_of: ctx.as_of,
            province: ctx.province,
            matching: ctx.matching,
            alive: ctx.alive,
            residence_bearing,
            expected,
            cols,
            pid_index,
        }
    }

    pub fn residents(&self) -> (&Table, &Prepared) {
        (&self.tables[0], &self.prepared[0])
    }

    /// The province of a row: its province_code, or for a source without that column (birth
    /// registrations name only their commune) the province of its commune.
    pub fn province_of(&self, r: crate::core::RowRef) -> &str {
        let (s, row) = (r.source as usize, r.row as usize);
        let cols = &self.cols[s];
        if cols[Column::ProvinceCode].is_present() {
            return cols[Column::ProvinceCode].get(row);
        }
        crate::reference::reference()
            .commune(cols[Column::CommuneCode].get(row))
            .map_or("", |c| c.province_code.as_str())
    }
}

/// Resident rows by well-formed personal ID: a sorted array, and an open-addressing hash
/// table of where each ID starts in it. Every extract row looks up its ID (15 M lookups for a
/// province of 10 M); a binary search costs ~24 cache misses, a hash probe one or two.
pub struct PidIndex {
    entries: Vec<(u64, u32)>,
    /// Slot -> 1 + position in `entries` of the ID's first row (0: empty). Power-of-two size.
    slots: Vec<u32>,
}

impl PidIndex {
    pub fn build(residents: &Prepared) -> Self {
        let mut entries: Vec<(u64, u32)> = residents
            .rows
            .iter()
            .enumerate()
            .filter(|(_, f)| f.pid.is_valid())
            .map(|(r, f)| (f.pid.value, r as u32))
            .collect();
        entries.par_sort_unstable();
        Self::from_sorted(entries)
    }

    /// The index of (ID, row) entries sorted by ID then row.
    pub fn from_sorted(entries: Vec<(u64, u32)>) -> Self {
        let size = (entries.len() * 2).next_power_of_two().max(16);
        let mut slots = vec![0u32; size];
        let mask = size - 1;
        for (i, e) in entries.iter().enumerate() {
            if i > 0 && entries[i - 1].0 == e.0 {
                continue;
            }
            let mut h = Self::slot(e.0, mask);
            while slots[h] != 0 {
                h = (h + 1) & mask;
            }
            slots[h] = i as u32 + 1;
        }
        PidIndex { entries, slots }
    }

    fn slot(pid: u64, mask: usize) -> usize {
        (pid.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
    }

    /// Resident rows carrying this ID, in row order.
    pub fn rows(&self, pid: u64) -> impl Iterator<Item = u32> + '_ {
        let mask = self.slots.len() - 1;
        let mut h = Self::slot(pid, mask);
        let start = loop {
            match self.slots[h] {
                0 => break self.entries.len(),
                i if self.entries[i as usize - 1].0 == pid => break i as usize - 1,
                _ => h = (h + 1) & mask,
            }
        };
        self.entries[start..]
            .iter()
            .take_while(move |e| e.0 == pid)
            .map(|e| e.1)
    }

    /// Groups of two or more resident rows sharing one ID.
    pub fn shared_groups(&self) -> impl Iterator<Item = &[(u64, u32)]> + '_ {
        self.entries
            .chunk_by(|a, b| a.0 == b.0)
            .filter(|g| g.len() > 1)
    }
}
