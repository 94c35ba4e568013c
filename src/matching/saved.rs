//! `model.json`: the matching model of a run, saved so that a later run can reuse it
//! (`check --model FILE`, or the previous run's with `--previous`) instead of re-estimating
//! it, and so that a record left untouched does not flip between duplicate and not from one
//! night to the next. It holds m, u and the random pairs' level frequencies per field and
//! level, the priors, the term frequencies of name parts (by a hash of the folded name part,
//! aggregate counts, no record), the thresholds of the run and how it was trained.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::comparisons::{COMPARISONS, N_FIELDS};
use super::model::Model;
use crate::core::MatchSettings;
use crate::summary::ModelChange;

/// The saved form of a [`Model`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelFile {
    /// The format, so that a model of another layout is refused rather than misread.
    pub format: u32,
    pub lamsach_version: String,
    /// How it was trained (`identifiers`, `candidate_pairs`, …).
    pub training: String,
    /// The records it was estimated on.
    pub records: usize,
    /// The chance that two records are one person, and two records sharing an ID.
    pub prior: f64,
    pub prior_shared_id: f64,
    /// Per compared field: its levels and, per level, m, u and the random pairs' frequency.
    pub fields: BTreeMap<String, SavedField>,
    /// Frequencies of folded name parts, by the hexadecimal hash of the part.
    pub term_frequencies: SavedFrequencies,
    /// The thresholds of the run that saved it (the reusing run applies its own config's).
    pub thresholds: MatchSettings,
    /// The share of namesakes among candidate pairs agreeing on name and birth date
    /// ([`Model::namesake_share`]); absent in models saved before it was measured.
    #[serde(default)]
    pub namesake_share: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedField {
    pub levels: Vec<String>,
    pub m: Vec<f64>,
    pub u: Vec<f64>,
    pub u_random: Vec<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SavedFrequencies {
    pub given: BTreeMap<String, f64>,
    pub family: BTreeMap<String, f64>,
    pub middle: BTreeMap<String, f64>,
}

const FORMAT: u32 = 1;

/// Fields compared since format 1 was first written: a model without them still reads.
const ADDED_LATER: &[&str] = &[
    "address",
    "ethnicity",
    "religion",
    "birth_place",
    "hometown",
];

/// Levels added to a field since format 1 was first written, each with the older level that
/// covered its pairs before: a model saved without it reads, the new level weighing what that
/// level weighed, so the model decides every pair as it did.
/// (Two common names a keystroke apart were `close_or_one_edit` before `another_common_name`;
/// one year written on both records was `exact` before `same_partial_date`.)
const LEVELS_ADDED_LATER: &[(&str, &str, &str)] = &[
    ("middle", "close_or_one_edit", "different"),
    ("given", "another_common_name", "close_or_one_edit"),
    ("family", "another_common_name", "close_or_one_edit"),
    ("birth", "same_partial_date", "exact"),
];

/// A saved field's probabilities over the current levels: as saved, or, for a field saved
/// before a level was added ([`LEVELS_ADDED_LATER`]), with the level copied from the one that
/// covered it. `None` when the saved levels are neither. Of the random pairs' frequencies
/// (`frequency`), the added level's were counted in the level that covered it: it gets
/// next to none, so that the covering level's frequency stays what it was (the namesakes
/// expected for a name read it).
fn upgraded(
    name: &str,
    saved: &[String],
    current: &[&str],
    v: &[f64],
    frequency: bool,
) -> Option<Vec<f64>> {
    if saved.len() != v.len() {
        return None;
    }
    if saved.iter().map(String::as_str).eq(current.iter().copied()) {
        return Some(v.to_vec());
    }
    let mut out = Vec::with_capacity(current.len());
    let mut from = 0;
    for level in current {
        if saved.get(from).map(String::as_str) == Some(*level) {
            out.push(v[from]);
            from += 1;
            continue;
        }
        let (_, _, covered_by) = LEVELS_ADDED_LATER
            .iter()
            .find(|(f, l, _)| *f == name && l == level)?;
        let at = saved.iter().position(|s| s == covered_by)?;
        out.push(if frequency { f64::MIN_POSITIVE } else { v[at] });
    }
    (from == saved.len()).then_some(out)
}

fn hex_map(m: &crate::core::hash::KeyMap<f64>) -> BTreeMap<String, f64> {
    m.iter().map(|(k, v)| (format!("{k:016x}"), *v)).collect()
}

fn unhex_map(m: &BTreeMap<String, f64>) -> Result<crate::core::hash::KeyMap<f64>, String> {
    m.iter()
        .map(|(k, v)| {
            u64::from_str_radix(k, 16)
                .map(|h| (h, *v))
                .map_err(|_| "a term frequency key is not a hash".to_string())
        })
        .collect()
}

impl ModelFile {
    pub fn of(model: &Model, training: &str, thresholds: MatchSettings) -> ModelFile {
        let fields = COMPARISONS
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    c.name.to_string(),
                    SavedField {
                        levels: c.levels.iter().map(|l| l.to_string()).collect(),
                        m: model.m[i].clone(),
                        u: model.u[i].clone(),
                        u_random: model.u_random[i].clone(),
                    },
                )
            })
            .collect();
        ModelFile {
            format: FORMAT,
            lamsach_version: env!("CARGO_PKG_VERSION").to_string(),
            training: training.to_string(),
            records: model.records,
            prior: model.lambda,
            prior_shared_id: model.lambda_shared_id,
            fields,
            term_frequencies: SavedFrequencies {
                given: hex_map(&model.tf_given),
                family: hex_map(&model.tf_family),
                middle: hex_map(&model.tf_middle),
            },
            thresholds,
            namesake_share: model.namesake_share,
        }
    }

    /// The model, or why this file cannot be one (another format, fields or levels of another
    /// version of lamsach, probabilities that are not probabilities).
    pub fn model(&self) -> Result<Model, String> {
        if self.format != FORMAT {
            return Err(format!(
                "the model is of format {} and this lamsach reads format {FORMAT}; train a new one with --retrain",
                self.format
            ));
        }
        let mut m: [Vec<f64>; N_FIELDS] = Default::default();
        let mut u: [Vec<f64>; N_FIELDS] = Default::default();
        let mut ur: [Vec<f64>; N_FIELDS] = Default::default();
        for (i, c) in COMPARISONS.iter().enumerate() {
            let Some(f) = self.fields.get(c.name) else {
                if ADDED_LATER.contains(&c.name) {
                    // A model saved before the field was compared: the field weighs nothing
                    // (m = u) until the model is trained again.
                    let even = vec![1.0 / c.levels.len() as f64; c.levels.len()];
                    (m[i], u[i], ur[i]) = (even.clone(), even.clone(), even);
                    continue;
                }
                return Err(format!(
                    "the model has no field {}; train a new one with --retrain",
                    c.name
                ));
            };
            let ok = |v: &[f64]| v.iter().all(|x| x.is_finite() && *x > 0.0 && *x <= 1.0);
            let up = |v: &[f64], frequency: bool| {
                upgraded(c.name, &f.levels, c.levels, v, frequency).filter(|v| ok(v))
            };
            let (Some(fm), Some(fu), Some(fur)) =
                (up(&f.m, false), up(&f.u, false), up(&f.u_random, true))
            else {
                return Err(format!(
                    "the model's field {} has other levels or probabilities out of range; train a new one with --retrain",
                    c.name
                ));
            };
            (m[i], u[i], ur[i]) = (fm, fu, fur);
        }
        let prob = |x: f64| x.is_finite() && x > 0.0 && x < 1.0;
        if !prob(self.prior)
            || !prob(self.prior_shared_id)
            || !(0.0..=1.0).contains(&self.namesake_share)
        {
            return Err("the model's priors are not probabilities".to_string());
        }
        Ok(Model {
            m,
            u,
            u_random: ur,
            lambda: self.prior,
            lambda_shared_id: self.prior_shared_id,
            tf_given: unhex_map(&self.term_frequencies.given)?,
            tf_family: unhex_map(&self.term_frequencies.family)?,
            tf_middle: unhex_map(&self.term_frequencies.middle)?,
            em_iterations: 0,
            records: self.records,
            namesake_share: self.namesake_share,
        })
    }

    /// Read a model file.
    pub fn read(path: &std::path::Path) -> crate::Result<ModelFile> {
        let bytes = std::fs::read(path)
            .map_err(|_| crate::Error::input(path, "the model file cannot be read"))?;
        serde_json::from_slice(&bytes)
            .map_err(|_| crate::Error::input(path, "the file is not a lamsach model.json"))
    }
}

/// How far `to` moved from `from` (see [`ModelChange`]).
pub fn change(from: &Model, to: &Model) -> ModelChange {
    let mut out = ModelChange {
        prior_ratio: if from.lambda > 0.0 {
            to.lambda / from.lambda
        } else {
            0.0
        },
        ..Default::default()
    };
    for (i, c) in COMPARISONS.iter().enumerate() {
        for (l, level) in c.levels.iter().enumerate() {
            let w = |m: &Model| (m.m[i][l] / m.u[i][l]).log2();
            let d = (w(to) - w(from)).abs();
            if d > out.largest_weight_change_bits {
                out.largest_weight_change_bits = d;
                out.field = c.name.to_string();
                out.level = level.to_string();
            }
        }
    }
    out.largest_weight_change_bits = (out.largest_weight_change_bits * 1e4).round() / 1e4;
    out.prior_ratio = (out.prior_ratio * 1e4).round() / 1e4;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::comparisons::Field;
    use crate::matching::features::Rec;

    /// A model saved before the address, ethnicity and religion were compared (last month's
    /// `model.json`) still reads: they weigh nothing until the model is trained again. A
    /// model missing a field it always had is refused.
    #[test]
    fn a_model_saved_before_the_address_was_compared_still_reads() {
        let recs: Vec<_> = (0..50)
            .map(|i| Rec {
                given: i % 7 + 1,
                family: i % 3 + 1,
                ..Default::default()
            })
            .collect();
        let model = Model::estimate(&recs, &[]);
        let mut file = ModelFile::of(&model, "identifiers", MatchSettings::default());
        for f in ["address", "ethnicity", "religion"] {
            file.fields.remove(f);
        }
        let read = file.model().expect("an older model reads");
        for f in [Field::Address, Field::Ethnicity, Field::Religion] {
            let i = f.index();
            assert_eq!(read.m[i], read.u[i], "{f:?} is no evidence");
        }
        assert_eq!(read.m[Field::Given.index()], model.m[Field::Given.index()]);
        file.fields.remove("given");
        assert!(file.model().unwrap_err().contains("no field given"));
    }

    /// A saved field as a version without some levels saved it: only the levels `keep`.
    fn keep_levels(field: &mut SavedField, keep: &[usize]) {
        let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
        *field = SavedField {
            levels: keep.iter().map(|&i| field.levels[i].clone()).collect(),
            m: pick(&field.m),
            u: pick(&field.u),
            u_random: pick(&field.u_random),
        };
    }

    /// A model saved before the middle name had a typo level (last night's `model.json`, whose
    /// middle name reads exact, one missing or different) reads, and decides as it did: the
    /// typo level weighs what "different" weighed. Levels in another order are refused.
    #[test]
    fn a_model_saved_before_the_middle_name_typo_level_still_reads() {
        let model = Model::estimate(&[], &[]);
        let mut file = ModelFile::of(&model, "identifiers", MatchSettings::default());
        let mid = file.fields.get_mut("middle").unwrap();
        assert_eq!(mid.levels[1], "close_or_one_edit");
        keep_levels(mid, &[0, 2, 3]); // exact, one_missing, different
        let read = file.model().expect("last night's model reads");
        let i = Field::Middle.index();
        assert_eq!(read.m[i][1], model.m[i][3]);
        assert_eq!(read.u[i][1], model.u[i][3]);
        assert_eq!(read.m[i][0], model.m[i][0]);
        assert_eq!(read.u[i][2], model.u[i][2]);
        file.fields.get_mut("middle").unwrap().levels.swap(0, 1);
        assert!(file.model().unwrap_err().contains("field middle"));
    }

    /// A model saved before two common names a keystroke apart had a level of their own (they
    /// were `close_or_one_edit`) reads, and weighs them as it did.
    #[test]
    fn a_model_saved_before_the_common_name_level_still_reads() {
        let model = Model::estimate(&[], &[]);
        let mut file = ModelFile::of(&model, "identifiers", MatchSettings::default());
        for (name, field) in [("given", Field::Given), ("family", Field::Family)] {
            let saved = file.fields.get_mut(name).unwrap();
            let new = field.level("another_common_name") as usize;
            let close = field.level("close_or_one_edit") as usize;
            let keep: Vec<usize> = (0..saved.levels.len()).filter(|&i| i != new).collect();
            keep_levels(saved, &keep);
            let read = file.model().expect("a model of last month reads");
            let i = field.index();
            assert_eq!(read.m[i][new], model.m[i][close], "{name}");
            assert_eq!(read.u[i][new], model.u[i][close], "{name}");
            let different = field.level("different") as usize;
            assert_eq!(read.m[i][different], model.m[i][different], "{name}");
        }
    }

    /// A model saved before one year written on both records had a level of its own (it was
    /// `exact`) reads, weighs such pairs as it did, and expects as many namesakes for a name.
    #[test]
    fn a_model_saved_before_the_same_partial_date_level_still_reads() {
        let mut model = Model::estimate(&[], &[]);
        let b = Field::Birth.index();
        let new = Field::Birth.level("same_partial_date") as usize;
        // As a model trained before the level was: its pairs counted as `exact`.
        model.u_random[b][0] += model.u_random[b][new];
        let r = Rec {
            family: 1,
            middle: 2,
            given: 3,
            ..Rec::default()
        };
        model.tf_family.insert(1, 0.4);
        model.tf_middle.insert(2, 0.3);
        model.tf_given.insert(3, 0.02);
        let mut file = ModelFile::of(&model, "identifiers", MatchSettings::default());
        let saved = file.fields.get_mut("birth").unwrap();
        let keep: Vec<usize> = (0..saved.levels.len()).filter(|&i| i != new).collect();
        keep_levels(saved, &keep);
        let read = file.model().expect("a model of last month reads");
        assert_eq!(read.m[b][new], model.m[b][0]);
        assert_eq!(read.u[b][new], model.u[b][0]);
        let different = Field::Birth.level("different") as usize;
        assert_eq!(read.m[b][different], model.m[b][different]);
        // Then: the name's frequency, a day in common as `exact` counted it, the population.
        let then = 0.4 * 0.3 * 0.02 * model.u_random[b][0] * 1e6;
        let now = read.namesakes_expected(&r, 1e6);
        assert!(
            now > 0.0 && (now - then).abs() < 1e-9 * then,
            "the namesakes expected for a name do not move"
        );
    }

    /// The namesake share travels with the model; a model saved before it was measured reads
    /// as "not measured" (no namesake rule), and a share that is not a share is refused.
    #[test]
    fn the_namesake_share_is_saved() {
        let mut model = Model::estimate(&[], &[]);
        model.namesake_share = 0.8;
        let file = ModelFile::of(&model, "candidate_pairs", MatchSettings::default());
        let mut json = serde_json::to_value(&file).unwrap();
        let read: ModelFile = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(read.model().unwrap().namesake_share, 0.8);
        json.as_object_mut().unwrap().remove("namesake_share");
        let older: ModelFile = serde_json::from_value(json).unwrap();
        assert_eq!(older.model().unwrap().namesake_share, 0.0);
        let mut wrong = file.clone();
        wrong.namesake_share = 1.5;
        assert!(wrong.model().is_err());
    }
}
