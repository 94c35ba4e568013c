//! `alive.probably_deceased` (info, off by default): a living resident of at least
//! `[alive] probably_deceased_age` with no event in any extract for
//! `[alive] probably_deceased_years` years. Most deaths reach the register late or never (only
//! 15 % go through the combined procedure), and a very old person whom no dose, no insurance
//! card and no other list has seen for years is the first a commune should visit.
//!
//! An event is an extract row of the person — carrying the ID of one of their records with a
//! name that agrees, or linked to one by the matching phase — dated within the window
//! (`dose_date`, `event_date`), or undated (an insurance card or a list membership is current
//! as of the extract). A person's records in one duplicate cluster share their events.
//! Residents already `alive.implausible_age`, or whose death the deaths registry holds under
//! their ID, are not reported again here.

use std::collections::HashMap;

use crate::compare::{compare_names, NameLevel};
use crate::core::{CheckInput, Column, Finding, RowRef, Rule};
use crate::dates::parse_date;
use crate::ids::classify_id;

/// The findings, given the links of extract rows to residents (row → resident) and each
/// clustered resident's cluster.
pub fn probably_deceased(
    input: &CheckInput,
    links: &[(RowRef, u32)],
    cluster_of: &HashMap<u32, u32>,
) -> Vec<Finding> {
    let settings = input.alive;
    if settings.probably_deceased_age == 0 {
        return Vec::new();
    }
    let (residents, rp) = input.residents();
    let res_cols = &input.cols[0];
    let since = input.as_of.earliest() - 365 * settings.probably_deceased_years as i32;
    // Residents old enough, alive, not above the implausible age.
    let old: Vec<u32> = (0..residents.len())
        .filter(|&r| {
            res_cols[Column::DeathDate].opt(r).is_none()
                && rp.birth(r).is_some_and(|b| {
                    let age = b.age_at(input.as_of);
                    age >= settings.probably_deceased_age as i32
                        && age <= settings.implausible_age as i32
                })
        })
        .map(|r| r as u32)
        .collect();
    if old.is_empty() {
        return Vec::new();
    }
    let person = |r: u32| {
        cluster_of
            .get(&r)
            .map_or(r as u64, |&c| (1 << 32) | c as u64)
    };
    // The most recent event of each person (i32::MAX: undated, so current).
    let mut last: HashMap<u64, i32> = old.iter().map(|&r| (person(r), i32::MIN)).collect();
    let mut seen = |res: u32, day: i32| {
        if let Some(l) = last.get_mut(&person(res)) {
            *l = (*l).max(day);
        }
    };
    // The day of a row's event: i32::MAX when undated (a card or a list membership is
    // current as of the extract), None when its date cannot be read.
    let day_of = |at: RowRef| {
        let kind = input.tables[at.source as usize].kind;
        match input.cols[at.source as usize][kind.event_column()].opt(at.row as usize) {
            None => Some(i32::MAX),
            Some(v) => parse_date(v).valid().map(|d| d.latest()),
        }
    };
    for (s, table) in input.tables.iter().enumerate() {
        if !table.kind.is_linked() {
            continue;
        }
        let cols = &input.cols[s];
        for r in 0..table.len() {
            let facts = input.prepared[s].rows[r];
            if !facts.pid.is_valid() {
                continue;
            }
            let Some(day) = day_of(RowRef::new(s, r)) else {
                continue;
            };
            for res in input.pid_index.rows(facts.pid.value) {
                if compare_names(
                    cols[Column::FullName].get(r),
                    res_cols[Column::FullName].get(res as usize),
                ) <= NameLevel::Close
                {
                    seen(res, day);
                }
            }
        }
    }
    for &(at, res) in links {
        if let Some(day) = day_of(at) {
            seen(res, day);
        }
    }
    // Deaths registered under a resident's ID are alive.deceased_active already.
    let mut dead_ids: Vec<u64> = Vec::new();
    if let Some(deaths) = input.deaths {
        let pid = deaths.column(Column::PersonalId);
        dead_ids = (0..deaths.len())
            .map(|r| classify_id(pid.get(r)))
            .filter(|id| id.is_valid())
            .map(|id| id.value)
            .collect();
        dead_ids.sort_unstable();
    }
    let years = settings.probably_deceased_years;
    old.into_iter()
        .filter(|&r| {
            let f = rp.rows[r as usize];
            !(f.pid.is_valid() && dead_ids.binary_search(&{ f.pid.value }).is_ok())
        })
        .filter_map(|r| {
            let l = last[&person(r)];
            if l >= since {
                return None;
            }
            let age = rp.birth(r as usize)?.age_at(input.as_of);
            let note = if l == i32::MIN {
                format!("{age} tuổi, không có sự kiện nào trong các nguồn dữ liệu")
            } else {
                let d = crate::dates::civil_from_days(l);
                format!(
                    "{age} tuổi, sự kiện gần nhất năm {}, quá {years} năm",
                    d.year
                )
            };
            Some(
                Finding::on(
                    RowRef::resident(r),
                    Rule::AliveProbablyDeceased,
                    Column::BirthDate,
                )
                .value(res_cols[Column::BirthDate].get(r as usize))
                .note(note),
            )
        })
        .collect()
}
