//! What the drivers write: the Parquet correction queues, the per-commune fix lists, the
//! summary in the ministry's indicator groups, the printed summary and `report.html`.
//!
//! - [`view`]: what the outputs present of a run (the `--province` view, status against the
//!   previous run, extra columns carried through);
//! - [`tables`]: Parquet schemas and batches;
//! - [`fixlist`]: the commune fix lists;
//! - [`gathered`]: the cells of the records the fix lists show, read once in row order;
//! - [`indicators`]: the ministry's indicator groups;
//! - [`summary`]: the typed `summary.json` of `check`;
//! - [`render`]: the printed summaries;
//! - [`html`] writes `report.html`.

pub mod fixlist;
pub mod gathered;
pub mod html;
pub mod indicators;
pub mod render;
pub mod summary;
pub mod tables;
pub mod view;
pub mod xlsx;

pub use fixlist::write_fixlists;
pub use render::{render_dedup, render_summary};
pub use tables::write_tables;
pub use view::{Extras, Records, View};
