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

/// The parsed facts of every row of one source.
pub struct Prepared {
    pub rows: Vec<Facts>,
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
        Prepared { rows }
    }

    pub fn birth(&self, row: usize) -> Option<PDate> {
        self.rows[row].birth.valid()
    }
}
