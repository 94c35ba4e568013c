//! `residence.not_registered`: an extract that places people where they live or work
//! (insurance, industrial-zone lists: `[residence] sources`) puts a person in a commune where
//! the register has neither their permanent nor their temporary residence.
//!
//! The extract row is the person's when its personal ID is a resident's and the names agree
//! (a typo or a dropped middle name aside)
//! (rows without a usable ID get a `link.suggested` first; once fixed, the next run judges
//! them). Every resident record of the person counts: a commune registered on any of them is
//! registered. Commune codes from before the 2025 reorganisation are read as the commune they
//! went into; a code that cannot be resolved (unknown, or split between several communes) is
//! not judged. Dead residents are `alive.linked_deceased`, not this.
//!
//! Two findings, so that both communes see the case: on the extract row (the commune where the
//! person is found), and on the resident record (the commune where they are registered).
//! The check needs the residents' `temp_commune_code` or `residence_type` column: without
//! either, nobody's temporary residence is known and the rule does not run.

use super::TableRule;
use crate::compare::{compare_names, NameLevel};
use crate::core::table::Mapped;
use crate::core::{CheckInput, Col, Column, Finding, RowRef, Rule};
use crate::reference::reference;

pub struct Residence;

/// A commune code as of 2025: itself if current, else the one a pre-2025 commune went wholly
/// into; None when unknown or split.
pub fn current_commune(code: &str) -> Option<&'static str> {
    let code = code.trim();
    if code.is_empty() {
        return None;
    }
    let r = reference();
    if let Some(c) = r.commune(code) {
        return Some(c.code.as_str());
    }
    r.successor(code)
}

/// A commune column's codes as of 2025 ([`current_commune`]), computed once a distinct code
/// when the column is dictionary-encoded.
type Current<'a> = Mapped<'a, Option<&'static str>, fn(&str) -> Option<&'static str>>;

fn current_of(col: Col) -> Current {
    col.mapped(current_commune)
}

/// Whether the residents say anything about temporary residence.
pub fn residence_known(input: &CheckInput) -> bool {
    let c = &input.cols[0];
    c[Column::TempCommuneCode].is_present() || c[Column::ResidenceType].is_present()
}

impl TableRule for Residence {
    fn name(&self) -> &'static str {
        "rules.residence"
    }

    fn run(&self, input: &CheckInput, out: &mut Vec<Finding>) {
        if !residence_known(input) {
            return;
        }
        let res_cols = &input.cols[0];
        let (r_name, r_commune, r_temp, r_death) = (
            res_cols[Column::FullName],
            res_cols[Column::CommuneCode],
            res_cols[Column::TempCommuneCode],
            res_cols[Column::DeathDate],
        );
        // The residents' communes as of 2025, once a distinct code where the columns are
        // dictionary-encoded (a look-up in the reference tables each, not one a row).
        let (commune_of, temp_of) = (current_of(r_commune), current_of(r_temp));
        let mut on_residents: Vec<Finding> = Vec::new();
        for (s, table) in input.tables.iter().enumerate() {
            if !input.residence_bearing[s] || !table.kind.is_linked() {
                continue;
            }
            let cols = &input.cols[s];
            let commune = cols[Column::CommuneCode];
            if !commune.is_present() {
                continue;
            }
            let here_of = current_of(commune);
            let found: Vec<Finding> = super::par_rows(table.len(), |r, out| {
                let facts = input.prepared[s].rows[r];
                if !facts.pid.is_valid() {
                    return;
                }
                let Some(here) = here_of.get(r) else {
                    return;
                };
                let registered_here = |row: usize| {
                    [&commune_of, &temp_of]
                        .iter()
                        .any(|c| c.get(row).is_some_and(|c| c == here))
                };
                // Most rows are where their person is registered: settled without comparing
                // names.
                if input
                    .pid_index
                    .rows(facts.pid.value)
                    .all(|res| registered_here(res as usize))
                {
                    return;
                }
                let name = cols[Column::FullName].get(r);
                let mut first = None;
                for res in input.pid_index.rows(facts.pid.value) {
                    let row = res as usize;
                    if compare_names(name, r_name.get(row)) > NameLevel::Close {
                        continue;
                    }
                    if r_death.opt(row).is_some() {
                        return;
                    }
                    if registered_here(row) {
                        return;
                    }
                    // A record whose own commune is unknown says nothing either way.
                    if commune_of.get(row).is_none() {
                        return;
                    }
                    first.get_or_insert(res);
                }
                let Some(res) = first else {
                    return;
                };
                let at = RowRef::new(s, r);
                let label = reference().commune_label(here);
                out.push(
                    Finding::on(at, Rule::ResidenceNotRegistered, Column::CommuneCode)
                        .value(commune.get(r))
                        .related(RowRef::resident(res), None)
                        .note(format!(
                            "không đăng ký thường trú hay tạm trú tại {label} (mã xã đăng ký: {})",
                            r_commune.get(res as usize)
                        )),
                );
                out.push(
                    Finding::on(
                        RowRef::resident(res),
                        Rule::ResidenceNotRegistered,
                        Column::TempCommuneCode,
                    )
                    .value(r_temp.get(res as usize))
                    .suggest(here)
                    .related(at, None)
                    .note(format!(
                        "theo {}: đang sinh sống, làm việc tại {label}, chưa đăng ký tạm trú",
                        crate::core::column::source_label_vi(&table.name, table.kind)
                    )),
                );
            });
            for f in found {
                if f.at.source == 0 {
                    on_residents.push(f);
                } else {
                    out.push(f);
                }
            }
        }
        // One finding per resident and commune, however many rows place them there.
        on_residents.sort_by(|a, b| {
            (a.at, &a.suggestion, a.related).cmp(&(b.at, &b.suggestion, b.related))
        });
        on_residents.dedup_by(|a, b| a.at == b.at && a.suggestion == b.suggestion);
        out.extend(on_residents);
    }
}

#[cfg(test)]
mod tests {
    use super::{current_commune, current_of};
    use crate::core::{Column, SourceKind, Table};
    use crate::reference::reference;
    use arrow_array::{ArrayRef, StringArray};
    use std::sync::Arc;

    /// Commune codes read once a distinct code give what each row's own look-up gives: a
    /// current code itself, a pre-2025 code its successor, unknown, blank or padded codes alike.
    #[test]
    fn communes_resolved_once_a_code_match_each_row_resolved() {
        let r = reference();
        let codes: Vec<String> = (0..100_000).map(|i| format!("{i:05}")).collect();
        let current = codes.iter().find(|c| r.commune(c).is_some()).unwrap();
        let old = codes
            .iter()
            .find(|c| r.commune(c).is_none() && r.successor(c).is_some())
            .unwrap();
        let unknown = codes
            .iter()
            .find(|c| r.commune(c).is_none() && r.successor(c).is_none())
            .unwrap();
        let values = [
            current.clone(),
            old.clone(),
            unknown.clone(),
            String::new(),
            format!(" {old} "),
        ];
        let col: ArrayRef = Arc::new(StringArray::from(
            (0..6000)
                .map(|i| values[i * 7 % values.len()].clone())
                .collect::<Vec<_>>(),
        ));
        let plain = Table::from_columns(
            "insurance",
            SourceKind::Insurance,
            vec![("commune_code".into(), col)],
        );
        let mut compact = plain.clone();
        compact.compact();
        let (a, b) = (
            current_of(plain.column(Column::CommuneCode)),
            current_of(compact.column(Column::CommuneCode)),
        );
        assert!(b.once_a_value(), "the codes are dictionary-encoded");
        for row in 0..6000 {
            assert_eq!(a.get(row), b.get(row), "row {row}");
        }
        // The first row holding values[k].
        let at = |k: usize| (0..6000).find(|i| i * 7 % values.len() == k).unwrap();
        assert_eq!(b.get(at(0)), Some(current.as_str()));
        assert_eq!(b.get(at(1)), current_commune(old));
        assert!(b.get(at(1)).is_some_and(|c| c != old));
        assert_eq!(b.get(at(2)), None);
        assert_eq!(b.get(at(3)), None);
        assert_eq!(b.get(at(4)), b.get(at(1)));
    }
}
