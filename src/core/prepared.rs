//! The fields every rule and the matcher need, parsed once per row: the personal ID's class
//! and value, the birth date, the sex.

use rayon::prelude::*;

use super::column::Column;
use super::table::Table;
use crate::dates::{parse_date, DateParse, PDate};
use crate::ids::{classify_id, parse_sex, IdInfo, Sex};

/// A sex cell, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SexParse {
    Missing,
    Known(Sex),
    Invalid,
}

impl SexParse {
    pub fn known(self) -> Option<Sex> {
        match self {
            SexParse::Known(s) => Some(s),
            _ => None,
        }
    }
}

/// The fields every rule and the matcher need, parsed once per row.
#[derive(Clone, Copy, Debug)]
pub struct Facts {
    pub pid: IdInfo,
    pub birth: DateParse,
    pub sex: SexParse,
}

// 20 bytes a row (the ID packed to 12): held for every row of every source through the run.
const _: () = assert!(std::mem::size_of::<Facts>() == 20);

/// A list of fixed-size records, owned or held elsewhere: in memory another owner keeps alive
/// (a memory-mapped scratch file, `read::on_disk::hold_rows`). It reads as a slice either way.
pub enum Rows<T> {
    Owned(Vec<T>),
    Held {
        ptr: std::ptr::NonNull<T>,
        len: usize,
        _owner: std::sync::Arc<dyn Send + Sync>,
    },
}

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Rows::Owned(Vec::new())
    }
}

// SAFETY: a held list is read-only memory that `_owner` keeps alive, shared like a `&[T]`.
unsafe impl<T: Send + Sync> Send for Rows<T> {}
unsafe impl<T: Sync> Sync for Rows<T> {}

impl<T> std::ops::Deref for Rows<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Rows::Owned(v) => v,
            // SAFETY: `ptr` points at `len` initialised values of `T`, aligned, that `_owner`
            // keeps alive and nothing writes (the constructor's contract).
            Rows::Held { ptr, len, .. } => unsafe {
                std::slice::from_raw_parts(ptr.as_ptr(), *len)
            },
        }
    }
}

/// The parsed facts of every row of one source.
pub struct Prepared {
    pub rows: Rows<Facts>,
}

impl Prepared {
    pub fn new(table: &Table) -> Self {
        let (pid, birth, sex) = (
            table.column(Column::PersonalId),
            table.column(Column::BirthDate),
            table.column(Column::Sex),
        );
        let rows = (0..table.len())
            .into_par_iter()
            .map(|r| Facts {
                pid: classify_id(pid.raw(r)),
                birth: parse_date(birth.raw(r)),
                sex: match parse_sex(sex.raw(r)) {
                    Ok(None) => SexParse::Missing,
                    Ok(Some(s)) => SexParse::Known(s),
                    Err(()) => SexParse::Invalid,
                },
            })
            .collect();
        Prepared {
            rows: Rows::Owned(rows),
        }
    }

    pub fn birth(&self, row: usize) -> Option<PDate> {
        self.rows[row].birth.valid()
    }
}
