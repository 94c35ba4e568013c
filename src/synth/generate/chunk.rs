//! One chunk of households, from people to the rows of every file and their truth, in steps:
//! people → resident records (with defects) → household defects → duplicate registrations →
//! linked extracts → crosswalk and deaths registry → rules implied by the data as a whole →
//! rows.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::noise;
use super::*;

/// What the crosswalk and the deaths registry hold, for the rules derived from them.
struct Registries {
    cmnd_rows: Rows,
    death_rows: Rows,
    /// CMND → the personal IDs it resolves to (the crosswalk and the register's own old_id).
    crosswalk: HashMap<u64, BTreeSet<u64>>,
    /// IDs under which a death is registered, and the date.
    deaths: HashMap<String, PDate>,
}

pub(super) fn generate_chunk(
    world: &World,
    opts: &GenOptions,
    index: u64,
    size: usize,
) -> Result<ChunkOut> {
    let mut c = Chunk {
        world,
        opts,
        index,
        rng: Rng::new(opts.seed, index),
        serials: Serials::new(index),
        people: Vec::with_capacity(size + 8),
        residents: Vec::with_capacity(size + size / 20),
        next_record: 0,
    };
    while c.people.len() < size {
        c.household(size);
    }
    if opts.noise == Noise::Registers {
        c.namesakes();
    }
    c.resident_records();
    c.household_defects();
    let n_people = c.people.len();
    let duplicates = c.duplicate_records(n_people);
    let primary = c.primary_records(n_people);
    let mut linked = c.linked_records(n_people, &primary);
    c.residence(&mut linked, &primary);
    c.quiet_elderly(&mut linked);
    let registries = c.registries();
    let mut rules = c.derived_rules(&registries);
    c.probably_deceased_truth(&linked, &registries.deaths, &mut rules);
    let births = c.births(&primary);
    let mut out = c.rows(&linked, &primary, registries, rules, births)?;
    out.people = n_people;
    out.duplicates = duplicates;
    Ok(out)
}

impl Chunk<'_> {
    /// Registers profile: about 1 % of people become namesakes of another person of the same
    /// sex and birth year (preferably of the same commune): both get one common full name
    /// (a frequent family name of the region, the commonest middle names, a frequent given
    /// name) and one birth date, and keep their own IDs and parents. Two people a matcher must
    /// keep apart, as common as a large province makes them.
    fn namesakes(&mut self) {
        let n = self.people.len();
        let names = names::names();
        for i in 0..n {
            if !self.rng.chance(0.01) {
                continue;
            }
            let p = &self.people[i];
            let fits = |q: &Person| {
                q.sex == p.sex && q.birth.year == p.birth.year && q.household != p.household
            };
            let same_commune = (0..n).find(|&j| {
                j != i
                    && fits(&self.people[j])
                    && self.people[j].commune == p.commune
                    && self.people[j].province == p.province
            });
            let Some(j) =
                same_commune.or_else(|| (0..n).find(|&j| j != i && fits(&self.people[j])))
            else {
                continue;
            };
            let region = self.world.provinces[p.province].1 as usize;
            let sex = p.sex;
            let (family, middle, given) = names.common_name(region, sex, &mut self.rng);
            let birth = self.people[j].birth;
            for k in [i, j] {
                let q = &mut self.people[k];
                q.family = family.clone();
                q.middle = middle.clone();
                q.given = given.clone();
                q.birth = birth;
            }
        }
    }

    /// The ethnicity and religion resident record `r` shows. Registers profile: as clerks
    /// leave them on some records — blank (3 % and 5 %), "Kinh" for a person of a minority
    /// (a form's default, 1.5 %), "Không" for a believer or a believer's religion for "Không"
    /// (3 %) — so that one person's records do not always agree on them. Drawn from a stream
    /// of their own, so the profile's other draws stay as they were.
    fn typed_attributes(&self, r: usize, p: &Person) -> (&'static str, &'static str) {
        if self.opts.noise != Noise::Registers {
            return (p.ethnicity, p.religion);
        }
        let mut rng = Rng::new(
            self.opts.seed ^ 0x6574_686e_6963,
            (self.index << 32) | r as u64,
        );
        let ethnicity = if rng.chance(0.03) {
            ""
        } else if p.ethnicity != "Kinh" && rng.chance(0.015) {
            "Kinh"
        } else {
            p.ethnicity
        };
        let religion = if rng.chance(0.05) {
            ""
        } else if rng.chance(0.03) {
            if p.religion == "Không" {
                "Phật giáo"
            } else {
                "Không"
            }
        } else {
            p.religion
        };
        (ethnicity, religion)
    }

    /// Every person's resident record, with record-level defects at `--error-rate`.
    fn resident_records(&mut self) {
        for i in 0..self.people.len() {
            let mut rec = self.resident_record(i);
            if self.rng.chance(self.opts.error_rate) {
                self.resident_defect(&mut rec);
            }
            self.residents.push(rec);
        }
    }

    /// Households whose head is gone, or with two heads.
    fn household_defects(&mut self) {
        let mut by_household: HashMap<u64, Vec<usize>> = HashMap::new();
        for (r, rec) in self.residents.iter().enumerate() {
            by_household
                .entry(self.people[rec.person].household)
                .or_default()
                .push(r);
        }
        let mut households: Vec<(u64, Vec<usize>)> = by_household.into_iter().collect();
        households.sort_unstable_by_key(|(h, _)| *h);
        for (_, members) in &households {
            if !self.rng.chance(self.opts.error_rate / 4.0) {
                continue;
            }
            let head = members
                .iter()
                .copied()
                .find(|&r| crate::rules::is_head(&self.residents[r].relation));
            let other = members.iter().copied().find(|&r| {
                !crate::rules::is_head(&self.residents[r].relation)
                    && !self.residents[r].relation.is_empty()
                    && self.people[self.residents[r].person].birth.age_at(GEN_DATE) >= 18
            });
            let rule = if self.rng.chance(0.5) || other.is_none() {
                match head {
                    Some(h) => {
                        self.residents[h].relation = "Khác".to_string();
                        Rule::HouseholdNoHead
                    }
                    None => continue,
                }
            } else {
                self.residents[other.unwrap_or(0)].relation = "Chủ hộ".to_string();
                Rule::HouseholdMultipleHeads
            };
            for &r in members {
                self.residents[r].rules.insert(rule);
            }
        }
    }

    /// Second registrations at `--dup-rate`, damaged as the profile says; returns how many.
    fn duplicate_records(&mut self, n_people: usize) -> usize {
        let mut n = 0;
        for i in 0..n_people {
            if self.rng.chance(self.opts.dup_rate) {
                let dup = match self.opts.noise {
                    Noise::Standard => self.duplicate_record(i),
                    Noise::Registers => self.damaged_duplicate(i),
                };
                self.residents.push(dup);
                n += 1;
            }
        }
        n
    }

    /// Per person, their first (not duplicate) resident record.
    fn primary_records(&self, n_people: usize) -> Vec<usize> {
        let mut v = vec![usize::MAX; n_people];
        for (r, rec) in self.residents.iter().enumerate() {
            if !rec.is_duplicate {
                v[rec.person] = r;
            }
        }
        v
    }

    /// A second registration, the registers profile: moved (another commune, often another
    /// province), an ID kept, reissued, lost or mistyped, and one to three of the damages of
    /// [`noise`] to names, birth date, sex and parents.
    fn damaged_duplicate(&mut self, i: usize) -> ResRecord {
        let mut rec = self.resident_record(i);
        rec.is_duplicate = true;
        let p = self.people[i].clone();
        // The ID.
        let id = id_text(p.pid);
        match *Weighted::new([(0u8, 35.0), (1, 25.0), (2, 20.0), (3, 12.0), (4, 8.0)])
            .sample(&mut self.rng)
        {
            0 => {}
            1 => rec.personal_id = id_text(self.new_pid(p.id_prefix, p.sex, p.birth.year)),
            2 => {
                rec.personal_id.clear();
                rec.pid_valid = false;
                rec.pid_unusable = true;
                rec.rules.insert(Rule::IdMissing);
            }
            4 if p.cmnd.is_some() => {
                rec.personal_id = format!("{:09}", p.cmnd.unwrap_or(0));
                rec.pid_valid = false;
                rec.pid_unusable = true;
                rec.pid_holds_cmnd = true;
                rec.rules.insert(Rule::IdOldCmnd);
            }
            _ => {
                let typo = noise::id_typo(&id, &mut self.rng);
                rec.personal_id = typo.text().to_string();
                rec.pid_valid = is_id(&rec.personal_id);
                match typo {
                    // Another 12-digit ID: the swap stays in the serial, so its structure holds.
                    noise::IdTypo::Swapped(_) => {}
                    // 11 digits read as a leading zero lost: usable, and id.format.
                    noise::IdTypo::Lost(_) => {
                        rec.rules.insert(Rule::IdFormat);
                    }
                    _ => {
                        rec.pid_unusable = true;
                        rec.rules.insert(Rule::IdFormat);
                    }
                }
            }
        }
        // One to three damages.
        let damages = *Weighted::new([(1usize, 45.0), (2, 35.0), (3, 20.0)]).sample(&mut self.rng);
        let kinds = Weighted::new([
            (0u8, 15.0), // typo in the given name
            (1, 12.0),   // typo in the family name
            (2, 5.0),    // typo in a middle name
            (3, 10.0),   // diacritics damaged
            (4, 12.0),   // no diacritics at all
            (5, 8.0),    // middle name dropped
            (6, 4.0),    // given name first
            (7, 4.0),    // middle name added or changed
            (8, 5.0),    // another given name
            (9, 20.0),   // birth date
            (10, 3.0),   // sex missing
            (11, 6.0),   // parents missing or mistyped
        ]);
        let mut done = BTreeSet::new();
        while done.len() < damages {
            let k = *kinds.sample(&mut self.rng);
            if !done.insert(k) {
                continue;
            }
            let rng = &mut self.rng;
            match k {
                0..=2 => {
                    rec.full_name = noise::keystroke(&rec.full_name, [2, 0, 1][k as usize], rng)
                }
                3 => rec.full_name = noise::diacritics(&rec.full_name, rng),
                4 => rec.full_name = noise::without_diacritics(&rec.full_name),
                5..=8 => {
                    let kind = [1, 0, 2, 3][(k - 5) as usize];
                    // Another given name: a home name, or another real name, half and half.
                    let other = if rng.chance(0.5) {
                        rng.pick(noise::HOME_NAMES).to_string()
                    } else {
                        names::names().given(p.sex, rng)
                    };
                    rec.full_name =
                        noise::reshape(&p.family, &p.middle, &p.given, kind, &other, rng)
                }
                9 => rec.birth_date = plausible(noise::birth_date(p.birth, rng), p.birth),
                10 => rec.sex.clear(),
                _ => {
                    if rng.chance(0.6) {
                        rec.father.clear();
                        rec.mother.clear();
                    } else if !rec.father.is_empty() {
                        rec.father = noise::keystroke(&rec.father, 2, rng);
                    }
                }
            }
        }
        if rec.full_name.trim().is_empty() {
            rec.rules.insert(Rule::FieldMissing);
        }
        // An ID kept (or reissued, or with two serial digits swapped) encodes the true birth
        // year: a damaged year now disagrees with it.
        if is_id(&rec.personal_id) {
            if let Some(d) = crate::dates::parse_date(&rec.birth_date).valid() {
                if d.year % 100 != p.birth.year % 100 {
                    rec.rules.insert(Rule::IdBirthYear);
                }
                if d.year / 100 != p.birth.year / 100 {
                    rec.rules.insert(Rule::IdCenturySex);
                }
            }
        }
        if rec.birth_date.is_empty() || rec.sex.is_empty() {
            rec.rules.insert(Rule::FieldMissing);
        }
        if !crate::text::is_canonical_name(&rec.full_name) && !rec.full_name.is_empty() {
            rec.rules.insert(Rule::NameUnnormalized);
        }
        // A typo can leave a word no spelling makes ("Trầnn"): that is name.invalid_chars.
        if crate::text::invalid_name_chars(&rec.full_name).is_some() {
            rec.rules.insert(Rule::NameInvalidChars);
        }
        // Registered again where they moved.
        let w = self.world;
        let r = self.rng.below(100);
        if w.provinces.len() > 1 && r < 35 {
            let mut prov = self.rng.below(w.provinces.len() as u64) as usize;
            if prov == p.province {
                prov = (prov + 1) % w.provinces.len();
            }
            rec.province = prov;
            rec.commune = self.rng.below(w.provinces[prov].2.len() as u64) as u32;
        } else if r < 85 {
            rec.commune = self.rng.below(w.provinces[p.province].2.len() as u64) as u32;
        }
        let hh = self.index * 10_000_000 + 9_000_000 + self.next_record;
        rec.household_id = self.household_text(hh);
        rec.relation = "Chủ hộ".to_string();
        if p.birth.year <= 1905 && rec.death_date.is_empty() {
            rec.rules.insert(Rule::AliveImplausibleAge);
        }
        rec
    }

    /// Vaccination doses and insurance cards: copies of what the register holds, with
    /// defects of their own.
    fn linked_records(&mut self, n_people: usize, primary: &[usize]) -> Vec<(bool, LinkedRecord)> {
        let mut linked: Vec<(bool, LinkedRecord)> = Vec::new();
        for i in 0..n_people {
            let p = self.people[i].clone();
            let res = &self.residents[primary[i]];
            let base_rules = inherited(&res.rules, res);
            let clean = !res.personal_defect;
            let (rid, res_name, rbirth, rsex) = (
                res.personal_id.clone(),
                res.full_name.clone(),
                res.birth_date.clone(),
                res.sex.clone(),
            );
            let (holds, unusable) = (res.pid_holds_cmnd, res.pid_unusable);
            let registers = self.opts.noise == Noise::Registers;
            // Many extract rows are typed without diacritics.
            let copy_name = |rng: &mut Rng| {
                if clean && rng.chance(0.3) {
                    title_case(&fold(&res_name))
                } else {
                    res_name.clone()
                }
            };
            let rname = copy_name(&mut self.rng);
            // An extract row copies ID, birth date and sex as the register holds them.
            let copy = |record_id: String,
                        full_name: String,
                        extra: Vec<String>,
                        rules: BTreeSet<Rule>| LinkedRecord {
                person: i,
                record_id,
                personal_id: rid.clone(),
                full_name,
                birth_date: rbirth.clone(),
                sex: rsex.clone(),
                extra,
                rules,
                pid_holds_cmnd: holds,
                pid_unusable: unusable,
                wrong_person: false,
                id_typed: false,
            };
            let prov_code = self.world.provinces[p.province].0.clone();
            let commune = self.commune_of(p.province, p.commune);
            let age = p.birth.age_at(GEN_DATE);
            // Vaccination: 1–3 doses for most people aged 12 and over.
            if age >= 12 && self.rng.chance(0.85) {
                let doses = 1 + self.rng.below(3);
                let phone = self.phone();
                let mut day = PDate::new(2021, 7, 1).earliest() + self.rng.below(180) as i32;
                for d in 0..doses {
                    let date = date_from_days(day);
                    day += 60 + self.rng.below(120) as i32;
                    if p.death.is_some_and(|dd| date.earliest() >= dd.earliest()) {
                        break;
                    }
                    let record_id = self.record_id("TC");
                    let extra = vec![
                        phone.clone(),
                        iso(date),
                        (d + 1).to_string(),
                        self.rng.pick(VACCINES).to_string(),
                        format!("Trạm Y tế {}", commune.full_name),
                        prov_code.clone(),
                        commune.code.clone(),
                    ];
                    let mut rec = copy(record_id, rname.clone(), extra, base_rules.clone());
                    if clean && self.rng.chance(self.opts.error_rate) {
                        linked_defect(self, &mut rec, true, primary);
                    } else if clean && registers {
                        self.damaged_copy(&mut rec, &p);
                    }
                    linked.push((true, rec));
                }
            }
            // A dose recorded after the death (a clean record of a dead person).
            if let Some(death) = p.death {
                if clean
                    && death.year <= 2024
                    && self.rng.chance((self.opts.error_rate * 15.0).min(1.0))
                {
                    let date = random_date(
                        &mut self.rng,
                        PDate::new(death.year + 1, 1, 1),
                        PDate::new(2025, 12, 1),
                    );
                    let mut rules = base_rules.clone();
                    rules.insert(Rule::AliveEventAfterDeath);
                    let record_id = self.record_id("TC");
                    let extra = vec![
                        self.phone(),
                        iso(date),
                        "3".to_string(),
                        self.rng.pick(VACCINES).to_string(),
                        format!("Trạm Y tế {}", commune.full_name),
                        prov_code.clone(),
                        commune.code.clone(),
                    ];
                    let rec = copy(record_id, res_name.clone(), extra, rules);
                    linked.push((true, rec));
                }
            }
            // Insurance for about 90% of people; a card kept after its holder died now and
            // then (alive.linked_deceased).
            let dead_kept = p.death.is_some()
                && clean
                && self.rng.chance((self.opts.error_rate * 5.0).min(1.0));
            if (self.rng.chance(0.9) && p.death.is_none()) || dead_kept {
                let serial = self.serials.next(2_000_000_000, 10).unwrap_or(0);
                let mut bhxh = format!("{serial:010}");
                let (mut object, mut level) = match age {
                    0..=5 => ("TE", 1),
                    6..=17 => ("HS", 4),
                    18..=21 => ("SV", 4),
                    22..=59 => (*self.rng.pick(&["DN", "HC", "GD", "DN", "GD"]), 4),
                    _ => (*self.rng.pick(&["HT", "GD", "CT"]), 3),
                };
                if object == "CT" && age < 80 {
                    object = "GD";
                }
                if object == "HT" && age < 55 {
                    object = "GD";
                }
                let mut rules = base_rules.clone();
                if dead_kept {
                    rules.insert(Rule::AliveLinkedDeceased);
                }
                // Defects of the insurance numbers themselves (rates of the provincial reports:
                // a few in a hundred).
                let mut second_code = false;
                let mut bad_object = false;
                if clean && !dead_kept && self.rng.chance(self.opts.error_rate * 2.0) {
                    match self.rng.below(5) {
                        0 => {
                            bhxh.pop();
                            rules.insert(Rule::InsuranceCodeFormat);
                        }
                        1 => {
                            bad_object = true;
                            rules.insert(Rule::InsuranceCardFormat);
                        }
                        2 if age >= 10 => {
                            (object, level) = ("TE", 1);
                            rules.insert(Rule::InsuranceCardObjectAge);
                        }
                        3 => {
                            // The number of the previous insured person, typed for this one.
                            let donor = linked.iter().rposition(|(v, r)| {
                                !*v && r.person != i && r.extra[0].len() == 10 && r.rules.is_empty()
                            });
                            if let Some(j) = donor {
                                bhxh = linked[j].1.extra[0].clone();
                                linked[j].1.rules.insert(Rule::InsuranceCodeShared);
                                rules.insert(Rule::InsuranceCodeShared);
                            }
                        }
                        _ => {
                            second_code = true;
                            rules.insert(Rule::InsuranceMultipleCodes);
                        }
                    }
                }
                let code10 = if bhxh.len() == 10 {
                    bhxh.clone()
                } else {
                    format!("{serial:010}")
                };
                let card_of =
                    |object: &str, code: &str| format!("{object}{level}{}{code}", &prov_code[..2]);
                let card = if bad_object {
                    card_of("ZZ", &code10)
                } else {
                    card_of(object, &code10)
                };
                let employer = if (22..60).contains(&age) && self.rng.chance(0.5) {
                    self.rng.pick(EMPLOYERS).to_string()
                } else {
                    String::new()
                };
                let record_id = self.record_id("BH");
                let name = copy_name(&mut self.rng);
                let extra = vec![
                    bhxh,
                    card,
                    employer.clone(),
                    prov_code.clone(),
                    commune.code.clone(),
                ];
                let defected = rules.len() > base_rules.len();
                let mut rec = copy(record_id, name.clone(), extra, rules.clone());
                if clean && !defected && self.rng.chance(self.opts.error_rate) {
                    linked_defect(self, &mut rec, false, primary);
                } else if clean && registers && !defected {
                    self.damaged_copy(&mut rec, &p);
                }
                linked.push((false, rec));
                if second_code {
                    // Registered a second time with a new number (two participations).
                    let serial2 = self.serials.next(2_000_000_000, 10).unwrap_or(0);
                    let code2 = format!("{serial2:010}");
                    let record_id = self.record_id("BH");
                    let extra = vec![
                        code2.clone(),
                        card_of(object, &code2),
                        employer,
                        prov_code.clone(),
                        commune.code.clone(),
                    ];
                    linked.push((false, copy(record_id, name, extra, rules)));
                }
            }
        }
        linked
    }

    /// Registers profile: an extract row typed again from a paper form or another system — its
    /// name, birth date or ID damaged, in one row of ten.
    fn damaged_copy(&mut self, rec: &mut LinkedRecord, p: &Person) {
        if !self.rng.chance(0.1) {
            return;
        }
        let rng = &mut self.rng;
        match rng.below(6) {
            0 => rec.full_name = noise::keystroke(&rec.full_name, rng.below(3) as usize, rng),
            1 => rec.full_name = noise::diacritics(&rec.full_name, rng),
            2 => {
                rec.full_name =
                    noise::reshape(&p.family, &p.middle, &p.given, rng.below(2), "", rng)
            }
            3 => {
                rec.birth_date = plausible(noise::birth_date(p.birth, rng), p.birth);
                if rec.birth_date.is_empty() {
                    rec.rules.insert(Rule::FieldMissing);
                }
            }
            _ if is_id(&rec.personal_id) => {
                let typo = noise::id_typo(&rec.personal_id, rng);
                rec.personal_id = typo.text().to_string();
                rec.id_typed = true;
                rec.rules.insert(match typo {
                    noise::IdTypo::Swapped(_) => Rule::XrefNotFound,
                    _ => Rule::IdFormat,
                });
            }
            _ => {}
        }
        if !crate::text::is_canonical_name(&rec.full_name) && !rec.full_name.is_empty() {
            rec.rules.insert(Rule::NameUnnormalized);
        }
        // A typo can leave a word no spelling makes ("Trầnn"): that is name.invalid_chars.
        if crate::text::invalid_name_chars(&rec.full_name).is_some() {
            rec.rules.insert(Rule::NameInvalidChars);
        }
    }

    /// The CMND crosswalk and the deaths registry.
    fn registries(&mut self) -> Registries {
        let mut cmnd_rows = Rows::new(CMND_COLS);
        let mut crosswalk: HashMap<u64, BTreeSet<u64>> = HashMap::new();
        for p in &self.people {
            if let Some(cm) = p.cmnd {
                if self.rng.chance(0.6) {
                    cmnd_rows.push(&[&format!("{cm:09}"), &id_text(p.pid)]);
                    crosswalk.entry(cm).or_default().insert(p.pid);
                }
            }
        }
        let mut death_rows = Rows::new(DEATH_COLS);
        let mut deaths = HashMap::new();
        for p in &self.people {
            if let Some(d) = p.death {
                death_rows.push(&[&id_text(p.pid), &p.full_name(), &iso(p.birth), &iso(d)]);
                deaths.insert(id_text(p.pid), d);
            }
        }
        // CMND resolution also goes through the old_id of residents with a valid ID.
        for rec in &self.residents {
            if is_id(&rec.personal_id) && rec.old_id.len() == 9 {
                if let (Ok(cm), Ok(pid)) = (rec.old_id.parse::<u64>(), rec.personal_id.parse()) {
                    crosswalk.entry(cm).or_default().insert(pid);
                }
            }
        }
        Registries {
            cmnd_rows,
            death_rows,
            crosswalk,
            deaths,
        }
    }

    /// The resident records' rules, with those implied by the data as a whole: shared IDs,
    /// CMND resolution, deaths registered but not in the register, duplicates.
    fn derived_rules(&self, reg: &Registries) -> Vec<BTreeSet<Rule>> {
        let mut rules: Vec<BTreeSet<Rule>> =
            self.residents.iter().map(|r| r.rules.clone()).collect();
        // Shared IDs: resident records of different people carrying one 12-digit ID.
        let mut by_pid: HashMap<&str, Vec<usize>> = HashMap::new();
        for (r, rec) in self.residents.iter().enumerate() {
            if is_id(&rec.personal_id) {
                by_pid.entry(rec.personal_id.as_str()).or_default().push(r);
            }
        }
        for rows in by_pid.values() {
            for &a in rows {
                let ea = self.people[self.residents[a].person].entity;
                if rows
                    .iter()
                    .any(|&b| self.people[self.residents[b].person].entity != ea)
                {
                    rules[a].insert(Rule::IdShared);
                }
            }
        }
        for (r, rec) in self.residents.iter().enumerate() {
            if rec.pid_unusable {
                let cm = if rec.pid_holds_cmnd {
                    rec.personal_id.parse().ok()
                } else if rec.old_id.len() == 9 {
                    rec.old_id.parse().ok()
                } else {
                    None
                };
                if let Some(rule) = cmnd_rule(&reg.crosswalk, cm) {
                    rules[r].insert(rule);
                }
            }
            if rec.death_date.is_empty() && reg.deaths.contains_key(&rec.personal_id) {
                rules[r].insert(Rule::AliveDeceasedActive);
            }
        }
        // Duplicates: every resident record of a person registered more than once.
        let mut records_of: HashMap<u64, Vec<usize>> = HashMap::new();
        for (r, rec) in self.residents.iter().enumerate() {
            records_of
                .entry(self.people[rec.person].entity)
                .or_default()
                .push(r);
        }
        for rows in records_of.values().filter(|rows| rows.len() > 1) {
            for &a in rows {
                for &b in rows {
                    if a != b {
                        let same = self.residents[a].province == self.residents[b].province;
                        rules[a].insert(if same {
                            Rule::DupInProvince
                        } else {
                            Rule::DupOutOfProvince
                        });
                    }
                }
            }
        }
        rules
    }

    /// The chunk's rows of every file, and its truth.
    fn rows(
        &self,
        linked: &[(bool, LinkedRecord)],
        primary: &[usize],
        reg: Registries,
        residents_rules: Vec<BTreeSet<Rule>>,
        births: super::births::Births,
    ) -> Result<ChunkOut> {
        let without_ids = self.opts.without_ids;
        let keep = |rule: &Rule| !(without_ids && depends_on_ids(*rule));
        let mut res_rows = Rows::new(RESIDENT_COLS);
        let mut entities = Rows::new(ENTITY_COLS);
        let mut defects = Rows::new(DEFECT_COLS);
        for (r, rec) in self.residents.iter().enumerate() {
            let p = &self.people[rec.person];
            let prov = &self.world.provinces[rec.province];
            let (commune_code, address) = if rec.commune == u32::MAX {
                (String::new(), String::new())
            } else {
                let cm = prov.2[rec.commune as usize];
                let pname = reference().province_name(&prov.0).unwrap_or("");
                (
                    cm.code.clone(),
                    format!("Số {}, {}, {}", p.house_no, cm.full_name, pname),
                )
            };
            let (ethnicity, religion) = self.typed_attributes(r, p);
            let temp_code = if rec.temp_commune == u32::MAX {
                String::new()
            } else {
                prov.2[rec.temp_commune as usize].code.clone()
            };
            res_rows.push(&[
                &rec.record_id,
                &rec.personal_id,
                &rec.old_id,
                &rec.full_name,
                &rec.birth_date,
                &rec.sex,
                &prov.0,
                &commune_code,
                &rec.household_id,
                &rec.relation,
                ethnicity,
                "Việt Nam",
                religion,
                &address,
                &rec.father,
                &rec.mother,
                &rec.death_date,
                rec.residence_type,
                &temp_code,
            ]);
            let entity = format!("P{:011}", p.entity);
            entities.push(&["residents", &rec.record_id, &entity]);
            let mut rules = residents_rules[r].clone();
            // Whatever path damaged the name, a word no spelling makes is name.invalid_chars.
            if crate::text::invalid_name_chars(&rec.full_name).is_some() {
                rules.insert(Rule::NameInvalidChars);
            }
            for rule in rules.iter().filter(|r| keep(r)) {
                defects.push(&["residents", &rec.record_id, rule.code()]);
            }
        }
        // Valid IDs among each person's resident records (a link is owed only if exactly one).
        let mut valid_ids: HashMap<u64, HashSet<&str>> = HashMap::new();
        for rec in &self.residents {
            if is_id(&rec.personal_id) {
                valid_ids
                    .entry(self.people[rec.person].entity)
                    .or_default()
                    .insert(rec.personal_id.as_str());
            }
        }
        let mut vac_rows = Rows::new(VACCINATION_COLS);
        let mut ins_rows = Rows::new(INSURANCE_COLS);
        for (is_vac, rec) in linked {
            let p = &self.people[rec.person];
            let source = if *is_vac { "vaccination" } else { "insurance" };
            let mut rules = rec.rules.clone();
            if crate::text::invalid_name_chars(&rec.full_name).is_some() {
                rules.insert(Rule::NameInvalidChars);
            }
            if rec.pid_holds_cmnd {
                if let Some(rule) = cmnd_rule(&reg.crosswalk, rec.personal_id.parse().ok()) {
                    rules.insert(rule);
                }
            }
            // A dose after the death recorded under the row's own ID (also when that ID is
            // someone else's, shared by mistake, and that person died).
            if *is_vac && !rec.wrong_person && !rec.full_name.trim().is_empty() {
                let own = &self.residents[primary[rec.person]];
                if is_id(&rec.personal_id) && own.personal_id == rec.personal_id {
                    let dose = crate::dates::parse_date(&rec.extra[1]).valid();
                    // The registry's death under this ID, or the person's own record's.
                    let own_death = crate::dates::parse_date(&own.death_date).valid();
                    let death = match (reg.deaths.get(&rec.personal_id).copied(), own_death) {
                        (Some(a), Some(b)) => {
                            Some(if a.earliest() <= b.earliest() { a } else { b })
                        }
                        (a, b) => a.or(b),
                    };
                    if let (Some(dose), Some(death)) = (dose, death.as_ref()) {
                        if dose.earliest() <= GEN_DATE.earliest()
                            && dose.earliest() > death.latest()
                        {
                            rules.insert(Rule::AliveEventAfterDeath);
                        }
                    }
                }
            }
            let owed = rec.pid_unusable || rec.wrong_person || rec.id_typed;
            if owed && valid_ids.get(&p.entity).map(HashSet::len) == Some(1) {
                rules.insert(Rule::LinkSuggested);
            }
            let e = &rec.extra;
            if *is_vac {
                vac_rows.push(&[
                    &rec.record_id,
                    &rec.personal_id,
                    &rec.full_name,
                    &rec.birth_date,
                    &rec.sex,
                    &e[5],
                    &e[6],
                    &e[0],
                    &e[1],
                    &e[2],
                    &e[3],
                    &e[4],
                ]);
            } else {
                ins_rows.push(&[
                    &rec.record_id,
                    &rec.personal_id,
                    &rec.full_name,
                    &rec.birth_date,
                    &rec.sex,
                    &e[3],
                    &e[4],
                    &e[0],
                    &e[1],
                    &e[2],
                ]);
            }
            entities.push(&[source, &rec.record_id, &format!("P{:011}", p.entity)]);
            for rule in rules.iter().filter(|r| keep(r)) {
                defects.push(&[source, &rec.record_id, rule.code()]);
            }
        }
        for (id, rule) in &births.truth {
            defects.push(&["births", id, rule.code()]);
        }
        let ids = ["personal_id", "old_id"];
        let finish = |rows: Rows| {
            if without_ids {
                rows.finish_without(&ids)
            } else {
                rows.finish()
            }
        };
        Ok(ChunkOut {
            residents: res_rows.len,
            vaccination: vac_rows.len,
            insurance: ins_rows.len,
            cmnd_map: reg.cmnd_rows.len,
            deaths: reg.death_rows.len,
            births: births.rows.len,
            defects: defects.len,
            batches: vec![
                finish(res_rows),
                finish(vac_rows),
                finish(ins_rows),
                reg.cmnd_rows.finish(),
                reg.death_rows.finish(),
                births.rows.finish(),
                entities.finish(),
                defects.finish(),
            ],
            ..Default::default()
        })
    }
}

/// A damaged birth date that no date rule would flag (in the future, or older than 120 at
/// the generation date): else only the true year.
fn plausible(damaged: String, truth: PDate) -> String {
    match crate::dates::parse_date(&damaged).valid() {
        Some(d)
            if d.earliest() > GEN_DATE.earliest() || d.age_at(GEN_DATE) > 120 || d.year < 1900 =>
        {
            format!("{:04}", truth.year)
        }
        _ => damaged,
    }
}

/// CMND resolution of a record without a usable ID: mapped when the CMND resolves to exactly
/// one personal ID.
fn cmnd_rule(crosswalk: &HashMap<u64, BTreeSet<u64>>, cm: Option<u64>) -> Option<Rule> {
    let cm = cm?;
    Some(match crosswalk.get(&cm).map(BTreeSet::len) {
        Some(1) => Rule::CmndMapped,
        _ => Rule::CmndUnmapped,
    })
}

/// Rules a data set without ID columns cannot have (`generate --without-ids`).
fn depends_on_ids(rule: Rule) -> bool {
    let code = rule.code();
    code.starts_with("id.")
        || code.starts_with("cmnd.")
        || code.starts_with("xref.")
        || matches!(
            rule,
            Rule::LinkSuggested
                | Rule::AliveDeceasedActive
                | Rule::AliveEventAfterDeath
                | Rule::ResidenceNotRegistered
        )
}
