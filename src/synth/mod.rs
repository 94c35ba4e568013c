//! Synthetic data with known ground truth, and the scoring of a run against it: the tools
//! behind `lamsach generate`, `demo` and `eval`. Nothing in the engine's own path (`check`,
//! `dedup`) uses them; they use the engine's core (rule codes, reference tables, text) to
//! make data as the engine will meet it.

pub mod eval;
pub mod generate;
