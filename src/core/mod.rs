//! The core nouns every part of the engine shares, free of I/O and of any driver: columns and
//! source kinds, tables of text columns, rows' parsed facts, findings and rule codes, and the
//! input the rules and the matcher look at.

pub mod column;
pub mod finding;
pub mod hash;
pub mod headers;
pub mod input;
pub mod prepared;
pub mod sort;
pub mod table;

pub use column::{Column, ColumnKind, SourceKind};
pub use finding::{Finding, Group, RowRef, Rule, Severity};
pub use input::{AliveSettings, CheckInput, Context, MatchSettings, PidIndex, ResidenceSettings};
pub use prepared::{Facts, Prepared, Rows, SexParse};
pub use table::{Col, Cols, Table};
