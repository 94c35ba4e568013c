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

/// A CMND cell's key, when it holds a CMND (of 9 or 12 digits) at all.
fn usable_cmnd(raw: &str) -> Option<u64> {
    let (class, value, len) = classify_cmnd(raw);
    (!matches!(class, CmndClass::Missing | CmndClass::BadLength)).then(|| cmnd_key(value, len))
}

/// The CMND a row of source `s` without a usable personal ID carries, to be resolved: in
/// personal_id itself, else in old_id (the field it is in, and its key).
fn cmnd_to_resolve(input: &CheckInput, s: usize, r: usize) -> Option<(Column, u64)> {
    let pid = input.prepared[s].rows[r].pid;
    if pid.personal_id().is_some() {
        return None;
    }
    if pid.class == IdClass::OldCmnd {
        return Some((Column::PersonalId, cmnd_key(pid.value, 9)));
    }
    usable_cmnd(input.cols[s][Column::OldId].get(r)).map(|k| (Column::OldId, k))
}

/// A resident's own crosswalk entry: the CMND in old_id of a resident with a valid ID.
fn resident_cmnd(input: &CheckInput, r: usize) -> Option<(u64, u64)> {
    let pid = input.prepared[0].rows[r].pid;
    if !pid.is_valid() {
        return None;
    }
    usable_cmnd(input.cols[0][Column::OldId].get(r)).map(|k| (k, pid.value))
}

/// A crosswalk row's entry (`--cmnd-map`): its CMND and the valid ID it maps to.
fn crosswalk_entry(map: &crate::core::Table, r: usize) -> Option<(u64, u64)> {
    let p = classify_id(map.column(Column::PersonalId).get(r));
    if !p.is_valid() {
        return None;
    }
    usable_cmnd(map.column(Column::OldId).get(r)).map(|k| (k, p.value))
}

/// The CMND key a row of source `s` is resolved by or resolves (see [`CmndResolution`]).
pub(crate) fn cmnd_row_key(input: &CheckInput, s: usize, r: usize) -> Option<u64> {
    match cmnd_to_resolve(input, s, r) {
        Some((_, key)) => Some(key),
        None if s == 0 => resident_cmnd(input, r).map(|e| e.0),
        None => None,
    }
}

/// The CMND key of a crosswalk row (`--cmnd-map`).
pub(crate) fn cmnd_map_key(map: &crate::core::Table, r: usize) -> Option<u64> {
    crosswalk_entry(map, r).map(|e| e.0)
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
        // CMND → the personal IDs it is known to belong to, as sorted (CMND, ID) pairs (a
        // sort, not a map of vectors: one allocation for millions of CMNDs).
        let mut known: Vec<(u64, u64)> = Vec::new();
        if let Some(map) = input.cmnd_map {
            known.par_extend(
                (0..map.len())
                    .into_par_iter()
                    .filter_map(|r| crosswalk_entry(map, r)),
            );
        }
        let (residents, _) = input.residents();
        if residents.column(Column::OldId).is_present() {
            known.par_extend(
                (0..residents.len())
                    .into_par_iter()
                    .filter_map(|r| resident_cmnd(input, r)),
            );
        }
        known.par_sort_unstable();
        known.dedup();
        // The IDs a CMND is known to belong to (distinct, ascending).
        let ids_of = |key: u64| -> &[(u64, u64)] {
            let from = known.partition_point(|e| e.0 < key);
            let to = from + known[from..].partition_point(|e| e.0 == key);
            &known[from..to]
        };
        for (s, table) in input.tables.iter().enumerate() {
            let cols = &input.cols[s];
            out.extend(super::par_rows(table.len(), |r, out| {
                let Some((field, key)) = cmnd_to_resolve(input, s, r) else {
                    return;
                };
                let raw = cols[field].get(r);
                let here = RowRef::new(s, r);
                match ids_of(key) {
                    [] => out.push(
                        Finding::on(here, Rule::CmndUnmapped, field)
                            .value(raw)
                            .note("không tra được số định danh"),
                    ),
                    [(_, pid)] => out.push(
                        Finding::on(here, Rule::CmndMapped, field)
                            .value(raw)
                            .suggest(id_string(*pid)),
                    ),
                    many => out.push(
                        Finding::on(here, Rule::CmndUnmapped, field)
                            .value(raw)
                            .note(format!(
                                "CMND khớp với {} số định danh khác nhau: cần xác minh",
                                many.len()
                            )),
                    ),
                }
            }));
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

/// A set of valid personal IDs as bits of their hashes: `may_hold` is true for every ID of
/// the set (and for a few others, which the caller then looks up exactly).
struct IdFilter {
    bits: Vec<u64>,
    mask: u64,
}

impl IdFilter {
    fn new(ids: impl Iterator<Item = crate::ids::IdInfo>) -> Self {
        let ids: Vec<u64> = ids.filter(|p| p.is_valid()).map(|p| p.value).collect();
        // 16 bits an ID: about one other ID in sixteen passes.
        let size = (ids.len() * 16).next_power_of_two().max(64);
        let mut f = IdFilter {
            bits: vec![0; size / 64],
            mask: size as u64 - 1,
        };
        for id in ids {
            let b = f.bit(id);
            f.bits[(b / 64) as usize] |= 1 << (b % 64);
        }
        f
    }

    fn bit(&self, id: u64) -> u64 {
        (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20) & self.mask
    }

    fn may_hold(&self, id: u64) -> bool {
        let b = self.bit(id);
        self.bits[(b / 64) as usize] & (1 << (b % 64)) != 0
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
        let (residents, rp) = input.residents();
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
        // Only a row carrying a dead resident's ID can be a dead person's: a filter of those
        // IDs (a few hundred KB, in cache) lets the other rows, nearly all, skip the index.
        let dead = IdFilter::new(death_of.keys().map(|&r| rp.rows[r as usize].pid));
        let r_name = residents.column(Column::FullName);
        // alive.linked_deceased: an insurance or other extract row (a participation, a list
        // membership, not a dated dose) of a person who has died.
        for (s, table) in input.tables.iter().enumerate() {
            if !matches!(table.kind, SourceKind::Insurance | SourceKind::Extract) {
                continue;
            }
            let cols = &input.cols[s];
            out.extend(super::par_rows(table.len(), |r, out| {
                let facts = input.prepared[s].rows[r];
                if !facts.pid.is_valid() || !dead.may_hold(facts.pid.value) {
                    return;
                }
                for res in input.pid_index.rows(facts.pid.value) {
                    let Some(death) = death_of.get(&res) else {
                        continue;
                    };
                    if compare_names(cols[Column::FullName].get(r), r_name.get(res as usize))
                        <= NameLevel::MiddleDiffers
                    {
                        out.push(
                            Finding::on(
                                RowRef::new(s, r),
                                Rule::AliveLinkedDeceased,
                                Column::PersonalId,
                            )
                            .value(cols[Column::PersonalId].get(r))
                            .related(RowRef::resident(res), None)
                            .note(format!("đã mất ngày {death}")),
                        );
                        break;
                    }
                }
            }));
        }
        for (s, table) in input.tables.iter().enumerate() {
            if !table.kind.is_linked() {
                continue;
            }
            let cols = &input.cols[s];
            let field = table.kind.event_column();
            let col = cols[field];
            if !col.is_present() {
                continue;
            }
            out.extend(super::par_rows(table.len(), |r, out| {
                let facts = input.prepared[s].rows[r];
                if !facts.pid.is_valid() || !dead.may_hold(facts.pid.value) {
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

/// A stable hash of a text's folded characters, without allocation.
fn folded_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in crate::text::folded_chars(s) {
        h ^= c as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A row's social-insurance code as a number, when it is a well-formed 10-digit code.
pub(crate) fn insurance_code(code: crate::core::Col, r: usize) -> Option<u64> {
    let c = code.get(r).trim();
    (c.len() == 10 && c.bytes().all(|b| b.is_ascii_digit()))
        .then(|| c.parse::<u64>().ok())
        .flatten()
}

/// The person an insurance row stands for: its valid personal ID with its given name (a row
/// carrying another person's ID has another name), else its folded name and birth date (two
/// namesakes born the same day with two IDs are two people).
pub(crate) fn insurance_person(input: &CheckInput, s: usize, r: usize) -> u64 {
    let cols = &input.cols[s];
    let facts = input.prepared[s].rows[r];
    let full = cols[Column::FullName].get(r);
    if facts.pid.is_valid() {
        let given = full.trim().rsplit(' ').next().unwrap_or("");
        crate::core::hash::mix(&[facts.pid.value, folded_hash(given)])
    } else {
        let name = crate::text::fold(full);
        let birth = cols[Column::BirthDate].get(r).trim();
        crate::core::hash::mix(&[
            crate::core::hash::h64(&name),
            crate::core::hash::h64(birth),
            1 << 62,
        ])
    }
}

/// `insurance.code_shared` (one social-insurance code carried by two people) and
/// `insurance.multiple_codes` (one person carrying two codes), within each insurance extract.
/// Two rows are one person when they carry the same valid personal ID, or the same folded
/// name and birth date.
pub struct InsuranceCodes;

impl TableRule for InsuranceCodes {
    fn name(&self) -> &'static str {
        "rules.insurance_codes"
    }

    fn run(&self, input: &CheckInput, out: &mut Vec<Finding>) {
        for (s, table) in input.tables.iter().enumerate() {
            if table.kind != SourceKind::Insurance {
                continue;
            }
            let cols = &input.cols[s];
            let code = cols[Column::SocialInsuranceCode];
            if !code.is_present() {
                continue;
            }
            let n = table.len();
            let person: Vec<u64> = (0..n)
                .into_par_iter()
                .map(|r| insurance_person(input, s, r))
                .collect();
            // Rows by code, and by person then code (sorts, not hash maps: 1 M rows).
            let mut by_code: Vec<(u64, u64, u32)> = (0..n)
                .into_par_iter()
                .filter_map(|r| insurance_code(code, r).map(|c| (c, person[r], r as u32)))
                .collect();
            by_code.par_sort_unstable();
            let mut found = Vec::new();
            for rows in by_code.chunk_by(|a, b| a.0 == b.0) {
                let first = rows[0].1;
                let Some(other_row) = rows.iter().find(|e| e.1 != first).map(|e| e.2) else {
                    continue;
                };
                let mut people: Vec<u64> = rows.iter().map(|e| e.1).collect();
                people.dedup();
                let people = people.len();
                for &(_, who, r) in rows {
                    let related = if who == first { other_row } else { rows[0].2 };
                    found.push(
                        Finding::on(
                            RowRef::new(s, r as usize),
                            Rule::InsuranceCodeShared,
                            Column::SocialInsuranceCode,
                        )
                        .value(code.get(r as usize).trim())
                        .related(RowRef::new(s, related as usize), None)
                        .note(format!("mã số BHXH này dùng cho {people} người")),
                    );
                }
            }
            let mut by_person: Vec<(u64, u64, u32)> =
                by_code.iter().map(|&(c, who, r)| (who, c, r)).collect();
            by_person.par_sort_unstable();
            for rows in by_person.chunk_by(|a, b| a.0 == b.0) {
                let mut distinct: Vec<u64> = rows.iter().map(|e| e.1).collect();
                distinct.dedup();
                if distinct.len() < 2 {
                    continue;
                }
                for &(_, c, r) in rows {
                    let other = rows.iter().find(|o| o.1 != c).map(|o| o.2);
                    let mut f = Finding::on(
                        RowRef::new(s, r as usize),
                        Rule::InsuranceMultipleCodes,
                        Column::SocialInsuranceCode,
                    )
                    .value(code.get(r as usize).trim())
                    .note(format!("người này có {} mã số BHXH", distinct.len()));
                    if let Some(o) = other {
                        f = f.related(RowRef::new(s, o as usize), None);
                    }
                    found.push(f);
                }
            }
            found.sort_by_key(|f| (f.at, f.rule));
            out.extend(found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IdFilter;
    use crate::ids::classify_id;

    /// Every ID of the set is held (a dead resident's extract rows are never skipped); of other
    /// IDs only a few pass the filter.
    #[test]
    fn the_id_filter_holds_every_id_of_its_set_and_few_others() {
        let id = |i: u64| classify_id(&format!("0010{:08}", i * 7919 % 100_000_000));
        let set: Vec<_> = (0..5_000).map(id).collect();
        assert!(set.iter().all(|p| p.is_valid()));
        let f = IdFilter::new(set.iter().copied());
        assert!(set.iter().all(|p| f.may_hold(p.value)));
        let others = (5_000..105_000)
            .map(id)
            .filter(|p| f.may_hold(p.value))
            .count();
        assert!(others < 10_000, "{others} of 100 000 other IDs pass");
        // An empty set holds nothing.
        assert!(!IdFilter::new(std::iter::empty()).may_hold(set[0].value));
    }
}
