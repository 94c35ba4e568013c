//! Rules across rows and sources: shared IDs, CMND resolution, linked records checked against
//! the residents, and the deaths registry.

use std::collections::HashMap;

use rayon::prelude::*;

use super::TableRule;
use crate::compare::{compare_dates, compare_names, DateLevel, NameLevel};
use crate::core::{CheckInput, Column, Finding, RowRef, Rule, SourceKind};
use crate::dates::{parse_date, PDate};
use crate::ids::{classify_cmnd, classify_id, id_string, CmndClass, IdClass};

/// A CMND as a map key: its digits and length (9 or 12).
fn cmnd_key(value: u64, len: u8) -> u64 {
    ((len as u64) << 56) | value
}

/// `cmnd.mapped` / `cmnd.unmapped`: a record without a valid personal ID carries an old CMND
/// (in old_id, or in personal_id itself); resolve it through the crosswalk and through the
/// residents' own old_id column.
pub struct CmndResolution;

impl TableRule for CmndResolution {
    fn name(&self) -> &'static str {
        "rules.cmnd"
    }

    fn run(&self, input: &CheckInput, out: &mut Vec<Finding>) {
        // CMND → the personal IDs it is known to belong to.
        let mut known: HashMap<u64, Vec<u64>> = HashMap::new();
        let mut add = |key: u64, pid: u64| {
            let v = known.entry(key).or_default();
            if !v.contains(&pid) {
                v.push(pid);
            }
        };
        if let Some(map) = input.cmnd_map {
            let (old, pid) = (map.column(Column::OldId), map.column(Column::PersonalId));
            for r in 0..map.len() {
                let (class, value, len) = classify_cmnd(old.get(r));
                let p = classify_id(pid.get(r));
                if class != CmndClass::Missing && class != CmndClass::BadLength && p.is_valid() {
                    add(cmnd_key(value, len), p.value);
                }
            }
        }
        let (residents, rp) = input.residents();
        let old = residents.column(Column::OldId);
        if old.is_present() {
            for r in 0..residents.len() {
                if rp.rows[r].pid.is_valid() {
                    let (class, value, len) = classify_cmnd(old.get(r));
                    if class != CmndClass::Missing && class != CmndClass::BadLength {
                        add(cmnd_key(value, len), rp.rows[r].pid.value);
                    }
                }
            }
        }
        for (s, table) in input.tables.iter().enumerate() {
            let prepared = &input.prepared[s];
            let old = table.column(Column::OldId);
            let pid_col = table.column(Column::PersonalId);
            for r in 0..table.len() {
                let facts = prepared.rows[r];
                if facts.pid.personal_id().is_some() {
                    continue;
                }
                // The CMND: in personal_id itself, else in old_id.
                let (field, raw, key) = if facts.pid.class == IdClass::OldCmnd {
                    (
                        Column::PersonalId,
                        pid_col.get(r),
                        cmnd_key(facts.pid.value, 9),
                    )
                } else {
                    let raw = old.get(r);
                    let (class, value, len) = classify_cmnd(raw);
                    if matches!(class, CmndClass::Missing | CmndClass::BadLength) {
                        continue;
                    }
                    (Column::OldId, raw, cmnd_key(value, len))
                };
                let here = RowRef::new(s, r);
                match known.get(&key).map(Vec::as_slice) {
                    Some([pid]) => out.push(
                        Finding::on(here, Rule::CmndMapped, field)
                            .value(raw)
                            .suggest(id_string(*pid)),
                    ),
                    Some(many) => out.push(
                        Finding::on(here, Rule::CmndUnmapped, field)
                            .value(raw)
                            .note(format!(
                                "CMND khớp với {} số định danh khác nhau: cần xác minh",
                                many.len()
                            )),
                    ),
                    None => out.push(
                        Finding::on(here, Rule::CmndUnmapped, field)
                            .value(raw)
                            .note("không tra được số định danh"),
                    ),
                }
            }
        }
    }
}

/// `xref.not_found` / `xref.mismatch`: a linked record's well-formed personal_id is not among
/// the residents, or its name, birth date or sex disagree with that resident.
pub struct CrossReference;

impl TableRule for CrossReference {
    fn name(&self) -> &'static str {
        "rules.xref"
    }

    fn run(&self, input: &CheckInput, out: &mut Vec<Finding>) {
        let (residents, rp) = input.residents();
        let (r_name, r_birth, r_sex) = (
            residents.column(Column::FullName),
            residents.column(Column::BirthDate),
            residents.column(Column::Sex),
        );
        for (s, table) in input.tables.iter().enumerate() {
            if !table.kind.is_linked() {
                continue;
            }
            let prepared = &input.prepared[s];
            let c = &input.cols[s];
            let (name, birth, sex) = (c[Column::FullName], c[Column::BirthDate], c[Column::Sex]);
            out.extend(super::par_rows(table.len(), |r, out| {
                let facts = prepared.rows[r];
                if !facts.pid.is_valid() {
                    return;
                }
                let here = RowRef::new(s, r);
                // Compare with the best-agreeing resident carrying the ID.
                let best = input
                    .pid_index
                    .rows(facts.pid.value)
                    .map(|c| (compare_names(name.get(r), r_name.get(c as usize)), c))
                    .min();
                let Some((name_level, res)) = best else {
                    out.push(
                        Finding::on(here, Rule::XrefNotFound, Column::PersonalId)
                            .value(input.cols[s][Column::PersonalId].get(r)),
                    );
                    return;
                };
                let res = res as usize;
                let same_name = name_level <= NameLevel::MiddleDiffers;
                let rel = RowRef::new(0, res);
                if name_level > NameLevel::Exact && !name.get(r).is_empty() {
                    out.push(
                        Finding::on(here, Rule::XrefMismatch, Column::FullName)
                            .value(name.get(r))
                            .related(rel, None)
                            .note("họ tên khác với dân cư"),
                    );
                }
                if let (Some(a), Some(b)) = (facts.birth.valid(), rp.birth(res)) {
                    if compare_dates(a, b) > DateLevel::Compatible {
                        let mut f = Finding::on(here, Rule::XrefMismatch, Column::BirthDate)
                            .value(birth.get(r))
                            .related(rel, None)
                            .note("ngày sinh khác với dân cư");
                        if same_name {
                            f = f.suggest(r_birth.get(res));
                        }
                        out.push(f);
                    }
                }
                if let (Some(a), Some(b)) = (facts.sex.known(), rp.rows[res].sex.known()) {
                    if a != b {
                        let mut f = Finding::on(here, Rule::XrefMismatch, Column::Sex)
                            .value(sex.get(r))
                            .related(rel, None)
                            .note("giới tính khác với dân cư");
                        if same_name {
                            f = f.suggest(r_sex.get(res));
                        }
                        out.push(f);
                    }
                }
            }));
        }
    }
}

/// `alive.deceased_active` (a death registration matches a resident with no death_date) and
/// `alive.event_after_death` (a dose or insurance event dated after the death).
pub struct Deaths;

impl TableRule for Deaths {
    fn name(&self) -> &'static str {
        "rules.deaths"
    }

    fn run(&self, input: &CheckInput, out: &mut Vec<Finding>) {
        let (residents, _) = input.residents();
        let r_death = residents.column(Column::DeathDate);
        // Death date per resident row: the register's own, else the registry's.
        let mut death_of: HashMap<u32, PDate> = (0..residents.len())
            .into_par_iter()
            .with_min_len(4096)
            .filter_map(|r| {
                r_death
                    .opt(r)
                    .and_then(|v| parse_date(v).valid())
                    .map(|d| (r as u32, d))
            })
            .collect();
        if let Some(deaths) = input.deaths {
            let (pid, dd) = (
                deaths.column(Column::PersonalId),
                deaths.column(Column::DeathDate),
            );
            for r in 0..deaths.len() {
                let id = classify_id(pid.get(r));
                let Some(date) = parse_date(dd.get(r)).valid() else {
                    continue;
                };
                if !id.is_valid() {
                    continue; // matched by name and birth date in the matching phase
                }
                for res in input.pid_index.rows(id.value) {
                    if r_death.opt(res as usize).is_none() {
                        out.push(
                            Finding::on(
                                RowRef::resident(res),
                                Rule::AliveDeceasedActive,
                                Column::DeathDate,
                            )
                            .suggest(dd.get(r))
                            .note("hộ tịch đã khai tử"),
                        );
                    }
                    death_of.entry(res).or_insert(date);
                }
            }
        }
        if death_of.is_empty() {
            return;
        }
        let r_name = residents.column(Column::FullName);
        for (s, table) in input.tables.iter().enumerate() {
            if !table.kind.is_linked() {
                continue;
            }
            let cols = &input.cols[s];
            let field = if table.kind == SourceKind::Vaccination {
                Column::DoseDate
            } else {
                Column::EventDate
            };
            let col = cols[field];
            if !col.is_present() {
                continue;
            }
            out.extend(super::par_rows(table.len(), |r, out| {
                let facts = input.prepared[s].rows[r];
                if !facts.pid.is_valid() {
                    return;
                }
                for res in input.pid_index.rows(facts.pid.value) {
                    let Some(death) = death_of.get(&res) else {
                        continue;
                    };
                    // An event after --as-of is already date.invalid.
                    let Some(event) = col
                        .opt(r)
                        .and_then(|v| parse_date(v).valid())
                        .filter(|e| e.earliest() <= input.as_of.earliest())
                    else {
                        return;
                    };
                    // Only when the record is this resident (not a wrong ID pointing elsewhere).
                    if event.earliest() > death.latest()
                        && compare_names(cols[Column::FullName].get(r), r_name.get(res as usize))
                            <= NameLevel::MiddleDiffers
                    {
                        out.push(
                            Finding::on(RowRef::new(s, r), Rule::AliveEventAfterDeath, field)
                                .value(col.get(r))
                                .related(RowRef::resident(res), None)
                                .note(format!("sau ngày mất {death}")),
                        );
                        break;
                    }
                }
            }));
        }
    }
}
