//! `household.no_head` and `household.multiple_heads`, one finding per member record.

use rayon::prelude::*;

use super::TableRule;
use crate::core::{CheckInput, Col, Column, Finding, Prepared, RowRef, Rule};
use crate::text::folded_eq;

/// Is a relation_to_head cell the head: "Chủ hộ", "chủ hộ", "CHỦ HỘ", "Chu ho", "CH"?
pub fn is_head(relation: &str) -> bool {
    folded_eq(relation, "chu ho") || folded_eq(relation, "ch") || folded_eq(relation, "chuho")
}

/// Is a relation the head's spouse ("Vợ", "Chồng")?
fn is_spouse(relation: &str) -> bool {
    folded_eq(relation, "vo") || folded_eq(relation, "chong") || folded_eq(relation, "vo chong")
}

pub struct Households;

impl TableRule for Households {
    fn name(&self) -> &'static str {
        "rules.household"
    }

    fn run(&self, input: &CheckInput, out: &mut Vec<Finding>) {
        let (table, prepared) = input.residents();
        let hh = table.column(Column::HouseholdId);
        let rel = table.column(Column::RelationToHead);
        if !hh.is_present() || !rel.is_present() {
            return;
        }
        let mut rows: Vec<u32> = (0..table.len() as u32)
            .filter(|&r| !hh.get(r as usize).is_empty())
            .collect();
        rows.par_sort_unstable_by(|a, b| {
            hh.get(*a as usize).cmp(hh.get(*b as usize)).then(a.cmp(b))
        });
        let groups: Vec<&[u32]> = rows
            .chunk_by(|a, b| hh.get(*a as usize) == hh.get(*b as usize))
            .collect();
        let found: Vec<Vec<Finding>> = groups
            .par_iter()
            .map(|members| {
                let mut out = Vec::new();
                household(input, hh, rel, prepared, members, &mut out);
                out
            })
            .collect();
        out.extend(found.into_iter().flatten());
    }
}

fn household(
    input: &CheckInput,
    hh: Col,
    rel: Col,
    prepared: &Prepared,
    members: &[u32],
    out: &mut Vec<Finding>,
) {
    let heads = members
        .iter()
        .filter(|&&r| is_head(rel.get(r as usize)))
        .count();
    if heads == 1 {
        return;
    }
    let hid = hh.get(members[0] as usize);
    if heads == 0 {
        // Suggest the oldest adult, preferring the spouse of the missing head.
        let age = |r: u32| prepared.birth(r as usize).map(|b| b.age_at(input.as_of));
        let suggested = members
            .iter()
            .copied()
            .filter(|&r| age(r).is_some_and(|a| a >= 18))
            .max_by_key(|&r| (is_spouse(rel.get(r as usize)), age(r), std::cmp::Reverse(r)));
        for &r in members {
            let mut f = Finding::on(
                RowRef::resident(r),
                Rule::HouseholdNoHead,
                Column::RelationToHead,
            )
            .value(hid)
            .note(format!("hộ {} thành viên, không có chủ hộ", members.len()));
            match suggested {
                Some(s) if s == r => f = f.suggest("Chủ hộ"),
                Some(s) => f = f.related(RowRef::resident(s), None),
                None => {}
            }
            out.push(f);
        }
    } else {
        for &r in members {
            out.push(
                Finding::on(
                    RowRef::resident(r),
                    Rule::HouseholdMultipleHeads,
                    Column::RelationToHead,
                )
                .value(hid)
                .note(format!("hộ có {heads} chủ hộ")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_spellings() {
        for s in ["Chủ hộ", "chủ hộ", "CHỦ HỘ", "Chu ho", "CH", " chủ  hộ "] {
            assert!(is_head(s), "{s}");
        }
        for s in ["Vợ", "Con", "Cháu", "", "Chủ"] {
            assert!(!is_head(s), "{s}");
        }
    }
}
