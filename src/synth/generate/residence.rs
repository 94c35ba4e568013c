//! Where people really live: some working-age residents registered a temporary residence in
//! another commune and are insured there (no defect), some are insured in another commune with
//! no temporary residence registered (`residence.not_registered`, on the insurance rows and
//! on the resident record), and some are registered on temporary residence only
//! (`residence_type` = tạm trú).
//!
//! Drawn from their own random stream, so this changes no other field of a data set.

use std::collections::HashSet;

use super::*;

/// Share of working-age people with a temporary residence registered in another commune.
const TEMP_REGISTERED: f64 = 0.05;
/// Share insured in another commune without registering there (the provincial reports clean
/// a few thousand such workers per city).
const NOT_REGISTERED: f64 = 0.02;
/// Share registered in the province on temporary residence only.
const TEMP_ONLY: f64 = 0.03;

impl Chunk<'_> {
    pub(super) fn residence(&mut self, linked: &mut [(bool, LinkedRecord)], primary: &[usize]) {
        let mut rng = Rng::new(self.opts.seed ^ 0x7E_51_DE, self.index);
        // The defect's rate is the default --error-rate's (0.02); a clean province has none.
        let not_registered = NOT_REGISTERED * self.opts.error_rate / 0.02;
        // Insurance rows by person.
        let mut rows_of: HashMap<usize, Vec<usize>> = HashMap::new();
        for (k, (is_vac, rec)) in linked.iter().enumerate() {
            if !*is_vac {
                rows_of.entry(rec.person).or_default().push(k);
            }
        }
        for (i, &res) in primary.iter().enumerate().take(self.people.len()) {
            let p = &self.people[i];
            let age = p.birth.age_at(GEN_DATE);
            if !(18..=60).contains(&age) || p.death.is_some() || res == usize::MAX {
                continue;
            }
            let communes = self.world.provinces[p.province].2.len() as u32;
            let (province, home) = (p.province, p.commune);
            let r = rng.f64();
            if r < TEMP_ONLY {
                self.residents[res].residence_type = "tạm trú";
                continue;
            }
            let Some(rows) = rows_of.get(&i) else {
                continue;
            };
            if communes < 2 || self.residents[res].commune == u32::MAX {
                continue;
            }
            let mut other = rng.below(communes as u64 - 1) as u32;
            if other >= home {
                other += 1;
            }
            let code = self.commune_of(province, other).code.clone();
            if r < TEMP_ONLY + TEMP_REGISTERED {
                self.residents[res].temp_commune = other;
                for &k in rows {
                    linked[k].1.extra[4] = code.clone();
                }
            } else if r < TEMP_ONLY + TEMP_REGISTERED + not_registered {
                // The ID the register holds for them (theirs, or one given them by mistake),
                // which their insurance rows copy.
                let pid = self.residents[res].personal_id.clone();
                // The person's registered communes, on every record carrying their ID.
                let registered_there = self.residents.iter().any(|rec| {
                    rec.person == i
                        && rec.personal_id == pid
                        && rec.province == province
                        && (rec.commune == other || rec.temp_commune == other)
                });
                let mut any = false;
                for &k in rows {
                    let row = &mut linked[k].1;
                    row.extra[4] = code.clone();
                    // Judged where the row is the person's: their ID (not another's typed in),
                    // their name, however damaged.
                    let theirs = row.personal_id == pid
                        && !row.wrong_person
                        && !row.id_typed
                        && !row.full_name.trim().is_empty();
                    if theirs && is_id(&pid) && !registered_there {
                        row.rules.insert(Rule::ResidenceNotRegistered);
                        any = true;
                    }
                }
                if any {
                    self.residents[res]
                        .rules
                        .insert(Rule::ResidenceNotRegistered);
                }
            }
        }
    }
}

/// `alive.probably_deceased` as `eval` scores it: `[alive] probably_deceased_age = 90`,
/// `probably_deceased_years = 5`.
pub const PROBABLY_DECEASED_AGE: i32 = 90;

impl Chunk<'_> {
    /// Some very old people whom no extract has seen (no dose, no insurance card): their
    /// extract rows are left out. Their own random stream.
    pub(super) fn quiet_elderly(&mut self, linked: &mut Vec<(bool, LinkedRecord)>) {
        let mut rng = Rng::new(self.opts.seed ^ 0x01_DE_AD, self.index);
        let quiet: HashSet<usize> = (0..self.people.len())
            .filter(|&i| {
                let p = &self.people[i];
                p.death.is_none()
                    && p.birth.age_at(GEN_DATE) >= PROBABLY_DECEASED_AGE
                    && rng.chance(0.25 * (self.opts.error_rate / 0.02).min(4.0))
            })
            .collect();
        // Not where another person's row depends on theirs (a number typed for two people).
        let tied: HashSet<usize> = linked
            .iter()
            .filter(|(_, r)| r.rules.contains(&Rule::InsuranceCodeShared))
            .map(|(_, r)| r.person)
            .collect();
        linked.retain(|(_, r)| !quiet.contains(&r.person) || tied.contains(&r.person));
    }

    /// Resident records of living people of 90 and more (by the record's own birth date, at
    /// most 120) with no extract row at all (every dose of the generator falls within five
    /// years), whose death the registry does not hold under the record's ID.
    pub(super) fn probably_deceased_truth(
        &self,
        linked: &[(bool, LinkedRecord)],
        reg_deaths: &HashMap<String, PDate>,
        rules: &mut [BTreeSet<Rule>],
    ) {
        let seen: HashSet<u64> = linked
            .iter()
            .map(|(_, r)| self.people[r.person].entity)
            .collect();
        for (k, rec) in self.residents.iter().enumerate() {
            let p = &self.people[rec.person];
            if !rec.death_date.is_empty()
                || seen.contains(&p.entity)
                || reg_deaths.contains_key(&rec.personal_id)
            {
                continue;
            }
            let Some(b) = crate::dates::parse_date(&rec.birth_date).valid() else {
                continue;
            };
            let age = b.age_at(GEN_DATE);
            if (PROBABLY_DECEASED_AGE..=120).contains(&age) {
                rules[k].insert(Rule::AliveProbablyDeceased);
            }
        }
    }
}
