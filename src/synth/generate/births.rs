//! Birth registrations (hộ tịch khai sinh) of a chunk's young children, with the two birth
//! defects and their truth: a child registered at birth who never entered the register
//! (`birth.no_resident`), and a registration whose name, birth date, sex or a parent's name
//! was written otherwise than in the register (`birth.mismatch`).
//!
//! Drawn from their own random stream, so adding births changes no other file of a data set.

use super::*;

/// The chunk's birth rows and the (record_id, rule) of their defects.
pub(super) struct Births {
    pub rows: Rows,
    pub truth: Vec<(String, Rule)>,
}

/// Children up to this age have a birth registration in the extract.
const MAX_AGE: i32 = 6;
/// Share of children whose registration is in the extract.
const REGISTERED: f64 = 0.9;
/// Share of registrations written with one field otherwise than in the register.
const MISMATCH: f64 = 0.04;
/// Per woman of 20–40, the chance of a registered birth whose child never entered the
/// register.
const UNREGISTERED_CHILD: f64 = 0.01;

fn days(d: PDate) -> i32 {
    d.earliest()
}

impl Chunk<'_> {
    pub(super) fn births(&mut self, primary: &[usize]) -> Births {
        let mut rng = Rng::new(self.opts.seed ^ 0xB1_27_45, self.index);
        // The rates above are the default --error-rate's (0.02); a clean province has none.
        let scale = self.opts.error_rate / 0.02;
        let mut rows = Rows::new(BIRTH_COLS);
        let mut truth = Vec::new();
        let n = names();
        let mut serial = 0u64;
        let mut next_id = |index: u64| {
            serial += 1;
            format!("KS{index:04}{serial:07}")
        };
        for (i, &own) in primary.iter().enumerate().take(self.people.len()) {
            let p = self.people[i].clone();
            let age = p.birth.age_at(GEN_DATE);
            if own == usize::MAX {
                continue;
            }
            if (0..=MAX_AGE).contains(&age) && rng.chance(REGISTERED) {
                let rec = &self.residents[own];
                // A registration within days of the birth, sometimes years late (typed in
                // from paper books).
                let reg = if rng.chance(0.93) {
                    days(p.birth) + rng.range(1, 45) as i32
                } else {
                    days(p.birth) + rng.range(200, 1500) as i32
                };
                let reg = date_from_days(reg.min(days(GEN_DATE) - 1).max(days(p.birth)));
                let pid = if rng.chance(0.9) {
                    id_text(p.pid)
                } else {
                    String::new()
                };
                let mut name = p.full_name();
                let mut birth = iso(p.birth);
                let mut sex = if p.sex == Sex::Male { "Nam" } else { "Nữ" }.to_string();
                let mut father = p.father.clone();
                let mut mother = p.mother.clone();
                let mut mismatch = false;
                // Written otherwise: only where the register holds the child under this ID
                // with no defect of its own, so the difference is the registration's alone.
                let clean = !pid.is_empty()
                    && rec.personal_id == pid
                    && rec.rules.is_empty()
                    && !rec.personal_defect;
                if clean && rng.chance(MISMATCH * scale) {
                    let field = rng.below(5);
                    let changed = match field {
                        0 => {
                            let given = n.given(p.sex, &mut rng);
                            let other = if p.middle.is_empty() {
                                format!("{} {}", p.family, given)
                            } else {
                                format!("{} {} {}", p.family, p.middle, given)
                            };
                            let differs = crate::rules::births::names_differ(&other, &name);
                            name = other;
                            differs
                        }
                        1 => {
                            let shift = rng.range(1, 20) as i32;
                            let d = date_from_days(days(p.birth) - shift);
                            birth = iso(d);
                            true
                        }
                        2 => {
                            sex = if p.sex == Sex::Male { "Nữ" } else { "Nam" }.to_string();
                            true
                        }
                        3 if !rec.father.is_empty() => {
                            let given = n.given(Sex::Male, &mut rng);
                            let other = replace_given(&father, &given);
                            let differs = crate::rules::births::names_differ(&other, &father);
                            father = other;
                            differs
                        }
                        4 if !rec.mother.is_empty() => {
                            let given = n.given(Sex::Female, &mut rng);
                            let other = replace_given(&mother, &given);
                            let differs = crate::rules::births::names_differ(&other, &mother);
                            mother = other;
                            differs
                        }
                        _ => false,
                    };
                    mismatch = changed;
                }
                if father.is_empty() && mother.is_empty() {
                    // Every registration names the mother; the register may not.
                    mother = format!(
                        "{} {} {}",
                        n.family(self.world.provinces[p.province].1 as usize, &mut rng),
                        n.middle(Sex::Female, &mut rng),
                        n.given(Sex::Female, &mut rng)
                    );
                }
                let id = next_id(self.index);
                if mismatch {
                    truth.push((id.clone(), Rule::BirthMismatch));
                }
                let commune = self.commune_of(p.province, p.commune);
                rows.push(&[
                    &id,
                    &pid,
                    &name,
                    &birth,
                    &sex,
                    &father,
                    &mother,
                    &commune.full_name,
                    &commune.code,
                    &iso(reg),
                ]);
            }
            // A child registered at birth who never entered the register.
            if p.sex == Sex::Female
                && (20..=40).contains(&age)
                && rng.chance(UNREGISTERED_CHILD * scale)
            {
                let sex = if rng.chance(0.5) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                let born = date_from_days(days(GEN_DATE) - rng.range(5, 3 * 365) as i32);
                let reg =
                    date_from_days((days(born) + rng.range(1, 30) as i32).min(days(GEN_DATE) - 1));
                let family = match p.father.split(' ').next() {
                    Some(f) if !f.is_empty() => f.to_string(),
                    _ => p.family.clone(),
                };
                let name = format!(
                    "{} {} {}",
                    family,
                    n.middle(sex, &mut rng),
                    n.given(sex, &mut rng)
                );
                let pid = if rng.chance(0.8) {
                    let prefix = p.id_prefix;
                    id_text(self.new_pid(prefix, sex, born.year))
                } else {
                    String::new()
                };
                let id = next_id(self.index);
                if days(GEN_DATE) - days(reg) > crate::rules::births::GRACE_DAYS {
                    truth.push((id.clone(), Rule::BirthNoResident));
                }
                let commune = self.commune_of(p.province, p.commune);
                rows.push(&[
                    &id,
                    &pid,
                    &name,
                    &iso(born),
                    if sex == Sex::Male { "Nam" } else { "Nữ" },
                    "",
                    &p.full_name(),
                    &commune.full_name,
                    &commune.code,
                    &iso(reg),
                ]);
            }
        }
        Births { rows, truth }
    }
}

/// A parent's name with another given name.
fn replace_given(name: &str, given: &str) -> String {
    match name.rsplit_once(' ') {
        Some((rest, _)) => format!("{rest} {given}"),
        None => given.to_string(),
    }
}
