//! `lamsach generate`: a synthetic population with known ground truth (SPEC §5).
//!
//! People live in households (head, spouse, children, some twins, some elderly parents) in
//! communes of the 2025 province list; they carry personal IDs with the right structure for
//! their birth-registration province, old CMNDs for people born up to 2000, vaccination
//! doses and insurance cards. Defects of every rule class are injected at `--error-rate` and
//! duplicate registrations at `--dup-rate`, the way real data goes wrong. Every injected
//! defect and every rule it implies is written to `truth/defects.parquet`; the person
//! behind every row to `truth/entities.parquet`.
//!
//! The population is made in chunks of households, in parallel; each chunk has its own
//! random stream and its own ranges of serial numbers, so the output depends on `--seed`
//! only, never on the thread count.

mod births;
mod chunk;
mod names;
mod noise;
mod residence;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

use crate::core::Rule;
use crate::dates::{civil_from_days, PDate};
use crate::error::{Error, Result};
use crate::ids::{century_sex_digit, Sex};
use crate::reference::{reference, Commune};
use crate::rng::{Rng, Weighted};
use crate::text::fold;
use names::names;

/// The date the synthetic population describes; ages and events are relative to it, so a
/// dataset does not depend on the day it is generated.
pub const GEN_DATE: PDate = PDate {
    year: 2026,
    month: 1,
    day: 1,
};

#[derive(Debug, Clone)]
pub struct GenOptions {
    pub out: PathBuf,
    pub people: usize,
    pub provinces: usize,
    pub seed: u64,
    pub dup_rate: f64,
    pub error_rate: f64,
    /// How duplicate registrations and extract rows are damaged.
    pub noise: Noise,
    /// Write the residents and extracts without their ID columns (personal_id, old_id).
    pub without_ids: bool,
    /// No progress spinner.
    pub quiet: bool,
}

/// A noise profile of `generate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Noise {
    /// The first profile: a second registration typed without diacritics, without the
    /// middle name, with a typo in the given name, a swapped or partial date, or a new ID.
    #[default]
    Standard,
    /// The second, independent profile (`noise.rs`): damage in any field, family names too,
    /// OCR and font damage, missing dates and names, Western order, other given names, IDs
    /// typed wrong; namesakes; extract rows typed again.
    Registers,
}

impl Noise {
    pub fn from_name(s: &str) -> Option<Noise> {
        match s {
            "standard" => Some(Noise::Standard),
            "registers" => Some(Noise::Registers),
            _ => None,
        }
    }
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            out: PathBuf::from("lamsach-data"),
            people: 100_000,
            provinces: 3,
            seed: 42,
            dup_rate: 0.02,
            error_rate: 0.02,
            noise: Noise::Standard,
            without_ids: false,
            quiet: true,
        }
    }
}

/// Row counts of what was written.
#[derive(Debug, Default, Clone)]
pub struct GenStats {
    pub people: usize,
    pub residents: usize,
    pub vaccination: usize,
    pub insurance: usize,
    pub cmnd_map: usize,
    pub deaths: usize,
    pub births: usize,
    pub defects: usize,
    pub duplicate_records: usize,
}

// ------------------------------------------------------------------ output tables

/// Columns of each generated file.
const RESIDENT_COLS: &[&str] = &[
    "record_id",
    "personal_id",
    "old_id",
    "full_name",
    "birth_date",
    "sex",
    "province_code",
    "commune_code",
    "household_id",
    "relation_to_head",
    "ethnicity",
    "nationality",
    "religion",
    "address",
    "father_name",
    "mother_name",
    "death_date",
    "residence_type",
    "temp_commune_code",
];
const VACCINATION_COLS: &[&str] = &[
    "record_id",
    "personal_id",
    "full_name",
    "birth_date",
    "sex",
    "province_code",
    "commune_code",
    "phone",
    "dose_date",
    "dose_number",
    "vaccine",
    "facility",
];
const INSURANCE_COLS: &[&str] = &[
    "record_id",
    "personal_id",
    "full_name",
    "birth_date",
    "sex",
    "province_code",
    "commune_code",
    "social_insurance_code",
    "health_card_no",
    "employer",
];
const CMND_COLS: &[&str] = &["old_id", "personal_id"];
const DEATH_COLS: &[&str] = &["personal_id", "full_name", "birth_date", "death_date"];
const BIRTH_COLS: &[&str] = &[
    "record_id",
    "personal_id",
    "full_name",
    "birth_date",
    "sex",
    "father_name",
    "mother_name",
    "birth_place",
    "commune_code",
    "registration_date",
];
const ENTITY_COLS: &[&str] = &["source", "record_id", "entity_id"];
const DEFECT_COLS: &[&str] = &["source", "record_id", "rule"];

struct Rows {
    cols: &'static [&'static str],
    data: Vec<StringBuilder>,
    len: usize,
}

impl Rows {
    fn new(cols: &'static [&'static str]) -> Self {
        Rows {
            cols,
            data: cols.iter().map(|_| StringBuilder::new()).collect(),
            len: 0,
        }
    }

    fn push(&mut self, values: &[&str]) {
        debug_assert_eq!(values.len(), self.cols.len());
        for (b, v) in self.data.iter_mut().zip(values) {
            b.append_value(v);
        }
        self.len += 1;
    }

    fn schema(cols: &[&str]) -> Arc<Schema> {
        Arc::new(Schema::new(
            cols.iter()
                .map(|c| Field::new(*c, DataType::Utf8, false))
                .collect::<Vec<_>>(),
        ))
    }

    /// The batch without some of its columns.
    fn finish_without(self, drop: &[&str]) -> RecordBatch {
        let keep: Vec<usize> = (0..self.cols.len())
            .filter(|&i| !drop.contains(&self.cols[i]))
            .collect();
        let batch = self.finish();
        batch.project(&keep).expect("columns exist")
    }

    fn finish(mut self) -> RecordBatch {
        let arrays: Vec<ArrayRef> = self
            .data
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        RecordBatch::try_new(Rows::schema(self.cols), arrays).expect("generated columns line up")
    }
}

// ------------------------------------------------------------------ serial numbers

/// Per-chunk serial numbers that are unique across the whole dataset: chunk `c` uses the
/// values `c * cap .. (c + 1) * cap` of each key, scrambled by a bijection.
struct Serials {
    chunk: u64,
    used: HashMap<u64, u64>,
}

impl Serials {
    fn new(chunk: u64) -> Self {
        Serials {
            chunk,
            used: HashMap::new(),
        }
    }

    /// Next serial for `key` in a space of `10^digits` values; each of the (at most 1 000)
    /// chunks owns a thousandth of the space. None when the chunk's share is used up.
    fn next(&mut self, key: u64, digits: u32) -> Option<u64> {
        let space = 10u64.pow(digits);
        let cap = space / 1000;
        let n = self.used.entry(key).or_insert(0);
        if *n >= cap {
            return None;
        }
        // Each key starts at its own offset within the chunk's range, so people of different
        // birth provinces or years do not all get the same first serial.
        let offset = key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        let x = self.chunk * cap + (*n + offset) % cap;
        *n += 1;
        // (x * a + b) mod 10^k is a bijection when a is coprime with 10.
        Some(((x as u128 * 7_368_787 + 1_234_567) % space as u128) as u64)
    }
}

// ------------------------------------------------------------------ people

#[derive(Clone)]
struct Person {
    entity: u64,
    family: String,
    middle: String,
    given: String,
    sex: Sex,
    birth: PDate,
    id_prefix: u16,
    pid: u64,
    cmnd: Option<u64>,
    province: usize,
    commune: u32,
    household: u64,
    relation: &'static str,
    father: String,
    mother: String,
    death: Option<PDate>,
    ethnicity: &'static str,
    religion: &'static str,
    house_no: u32,
}

impl Person {
    fn full_name(&self) -> String {
        if self.middle.is_empty() {
            format!("{} {}", self.family, self.given)
        } else {
            format!("{} {} {}", self.family, self.middle, self.given)
        }
    }
}

/// A resident record as written, with what is wrong with it.
struct ResRecord {
    person: usize,
    record_id: String,
    personal_id: String,
    old_id: String,
    full_name: String,
    birth_date: String,
    sex: String,
    province: usize,
    commune: u32,
    household_id: String,
    relation: String,
    death_date: String,
    /// The parents' names as this record gives them.
    father: String,
    mother: String,
    rules: BTreeSet<Rule>,
    /// Did a defect touch the fields linked records copy (ID, name, birth date, sex)?
    personal_defect: bool,
    /// Does personal_id hold a CMND (so cmnd.* may fire from it)?
    pid_holds_cmnd: bool,
    /// personal_id has no usable 12-digit ID (missing, phone, CMND, garbage).
    pid_unusable: bool,
    /// personal_id is exactly 12 digits as written.
    pid_valid: bool,
    is_duplicate: bool,
    /// `residence_type` as written.
    residence_type: &'static str,
    /// The commune of a registered temporary residence (u32::MAX: none).
    temp_commune: u32,
}

/// A vaccination or insurance record as written.
struct LinkedRecord {
    person: usize,
    record_id: String,
    personal_id: String,
    full_name: String,
    birth_date: String,
    sex: String,
    extra: Vec<String>,
    rules: BTreeSet<Rule>,
    pid_holds_cmnd: bool,
    pid_unusable: bool,
    /// personal_id points to another person (xref.mismatch): a link is owed.
    wrong_person: bool,
    /// personal_id is the person's ID typed wrong (a digit lost or added, two swapped, a
    /// letter for a digit): a link is owed.
    id_typed: bool,
}

struct World {
    provinces: Vec<(String, u8, Vec<&'static Commune>)>,
    province_weights: Weighted<usize>,
    /// Birth-registration prefixes of the old provinces merged into each chosen province.
    local_prefixes: Vec<Vec<u16>>,
    all_prefixes: Vec<u16>,
    invalid_prefixes: Vec<u16>,
}

fn region_of(code: &str) -> u8 {
    match code.parse::<u32>().unwrap_or(1) {
        0..=39 => 0,
        40..=69 => 1,
        _ => 2,
    }
}

fn build_world(opts: &GenOptions) -> Result<World> {
    let r = reference();
    let k = opts.provinces.clamp(1, r.provinces.len());
    let mut order: Vec<usize> = (0..r.provinces.len()).collect();
    let mut rng = Rng::new(opts.seed, u64::MAX);
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    let mut provinces = Vec::new();
    let mut local_prefixes = Vec::new();
    for &i in order.iter().take(k) {
        let p = &r.provinces[i];
        let communes: Vec<&Commune> = r
            .communes
            .iter()
            .filter(|c| c.province_code == p.code)
            .collect();
        let prefixes: Vec<u16> = r
            .id_provinces
            .iter()
            .filter(|ip| ip.new_province_code == p.code && !ip.cmnd_prefixes.is_empty())
            .map(|ip| ip.prefix)
            .collect();
        local_prefixes.push(if prefixes.is_empty() {
            vec![1]
        } else {
            prefixes
        });
        provinces.push((p.code.clone(), region_of(&p.code), communes));
    }
    let weights = (0..k).map(|i| {
        (
            i,
            if i == 0 {
                0.6 * k as f64
            } else {
                0.4 * k as f64 / (k - 1).max(1) as f64
            },
        )
    });
    let all_prefixes: Vec<u16> = r
        .id_provinces
        .iter()
        .filter(|p| !p.cmnd_prefixes.is_empty())
        .map(|p| p.prefix)
        .collect();
    let invalid_prefixes: Vec<u16> = (1..100).filter(|p| r.id_province(*p).is_none()).collect();
    Ok(World {
        provinces,
        province_weights: Weighted::new(weights),
        local_prefixes,
        all_prefixes,
        invalid_prefixes,
    })
}

const ETHNIC: &[(&str, f64)] = &[
    ("Kinh", 85.0),
    ("Tày", 2.0),
    ("Thái", 2.0),
    ("Mường", 1.5),
    ("Khmer", 1.4),
    ("Hoa", 1.0),
    ("Nùng", 1.0),
    ("H'Mông", 1.2),
    ("Dao", 0.9),
    ("Gia Rai", 0.5),
    ("Ê Đê", 0.4),
];
const RELIGION: &[(&str, f64)] = &[
    ("Không", 80.0),
    ("Phật giáo", 10.0),
    ("Công giáo", 7.0),
    ("Cao Đài", 1.5),
    ("Tin lành", 1.0),
    ("Phật giáo Hòa Hảo", 0.5),
];
const PHONE_PREFIXES: &[&str] = &[
    "090", "091", "093", "094", "096", "097", "098", "032", "033", "034", "035", "036", "037",
    "038", "039", "070", "076", "077", "078", "079", "081", "082", "083", "085", "086", "088",
    "089", "056", "058", "059",
];
const VACCINES: &[&str] = &[
    "AstraZeneca",
    "Pfizer-BioNTech",
    "Moderna",
    "Vero Cell",
    "Sputnik V",
];
const EMPLOYERS: &[&str] = &[
    "Công ty TNHH Điện tử Sao Mai",
    "Công ty Cổ phần May Hưng Thịnh",
    "Công ty TNHH Thực phẩm Á Châu",
    "Ủy ban nhân dân xã",
    "Trường Trung học cơ sở",
    "Công ty TNHH Cơ khí Thành Đạt",
];

fn date_from_days(d: i32) -> PDate {
    civil_from_days(d)
}

fn random_date(rng: &mut Rng, from: PDate, to: PDate) -> PDate {
    let (a, b) = (from.earliest(), to.earliest());
    date_from_days(a + rng.below((b - a).max(1) as u64) as i32)
}

fn iso(d: PDate) -> String {
    d.to_string()
}

fn dmy(d: PDate) -> String {
    format!("{:02}/{:02}/{:04}", d.day, d.month, d.year)
}

/// Is this personal_id as written a well-formed 12-digit ID?
fn is_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn id_text(v: u64) -> String {
    format!("{v:012}")
}

/// Everything one chunk of households produces.
#[derive(Default)]
struct ChunkOut {
    batches: Vec<RecordBatch>,
    people: usize,
    residents: usize,
    vaccination: usize,
    insurance: usize,
    cmnd_map: usize,
    deaths: usize,
    births: usize,
    defects: usize,
    duplicates: usize,
}

struct Chunk<'w> {
    world: &'w World,
    opts: &'w GenOptions,
    index: u64,
    rng: Rng,
    serials: Serials,
    people: Vec<Person>,
    residents: Vec<ResRecord>,
    next_record: u64,
}

impl<'w> Chunk<'w> {
    fn record_id(&mut self, prefix: &str) -> String {
        self.next_record += 1;
        format!("{prefix}{:04}{:07}", self.index, self.next_record)
    }

    /// A fresh 12-digit personal ID with the right structure. When the chunk has used up
    /// its serials for this province, sex and year, the birth is registered elsewhere.
    fn new_pid(&mut self, prefix: u16, sex: Sex, birth_year: u16) -> u64 {
        let d4 = century_sex_digit(sex, birth_year).unwrap_or(0) as u64;
        let yy = (birth_year % 100) as u64;
        let mut prefix = prefix as u64;
        for _ in 0..16 {
            let head = prefix * 1_000 + d4 * 100 + yy;
            if let Some(serial) = self.serials.next(head, 6) {
                return head * 1_000_000 + serial;
            }
            prefix = *self.rng.pick(&self.world.all_prefixes) as u64;
        }
        let head = prefix * 1_000 + d4 * 100 + yy;
        head * 1_000_000 + self.rng.below(1_000_000)
    }

    fn new_cmnd(&mut self, id_prefix: u16) -> Option<u64> {
        let r = reference();
        let prefixes = r.cmnd_prefixes_of(id_prefix);
        let p = prefixes.first()?.clone();
        let rest_digits = 9 - p.len() as u32;
        let all: Vec<String> = r
            .id_provinces
            .iter()
            .flat_map(|ip| ip.cmnd_prefixes.clone())
            .collect();
        for _ in 0..8 {
            let serial = self.serials.next(
                1_000_000_000 + p.parse::<u64>().ok()? * 10 + p.len() as u64,
                rest_digits,
            )?;
            let text = format!("{p}{serial:0width$}", width = rest_digits as usize);
            // A two-digit prefix must not run into a longer prefix of another province.
            if all
                .iter()
                .any(|q| q.len() > p.len() && text.starts_with(q.as_str()))
            {
                continue;
            }
            return text.parse().ok();
        }
        None
    }

    fn phone(&mut self) -> String {
        let p = *self.rng.pick(PHONE_PREFIXES);
        format!("{p}{:07}", self.rng.below(10_000_000))
    }

    fn person(
        &mut self,
        household: u64,
        province: usize,
        commune: u32,
        sex: Sex,
        birth: PDate,
        family: String,
    ) -> Person {
        let n = names();
        let region = self.world.provinces[province].1 as usize;
        let middle = n.middle(sex, &mut self.rng);
        let given = n.given(sex, &mut self.rng);
        let id_prefix = if self.rng.chance(0.85) {
            *self.rng.pick(&self.world.local_prefixes[province])
        } else {
            *self.rng.pick(&self.world.all_prefixes)
        };
        let pid = self.new_pid(id_prefix, sex, birth.year);
        let cmnd = if birth.year <= 2000 && self.rng.chance(0.85) {
            self.new_cmnd(id_prefix)
        } else {
            None
        };
        let age = birth.age_at(GEN_DATE);
        let p_death = if age > 75 { 0.05 } else { 0.003 };
        let death = self.rng.chance(p_death).then(|| {
            random_date(
                &mut self.rng,
                PDate::new(2016.max(birth.year + 1), 1, 1),
                PDate::new(2025, 12, 1),
            )
        });
        let ethnicity = *Weighted::new(ETHNIC.iter().map(|(e, w)| (*e, *w))).sample(&mut self.rng);
        let religion = *Weighted::new(RELIGION.iter().map(|(e, w)| (*e, *w))).sample(&mut self.rng);
        let father_family = n.family(region, &mut self.rng);
        let father = if self.rng.chance(0.5) {
            format!(
                "{} {} {}",
                family,
                n.middle(Sex::Male, &mut self.rng),
                n.given(Sex::Male, &mut self.rng)
            )
        } else {
            String::new()
        };
        let mother = if !father.is_empty() {
            format!(
                "{} {} {}",
                father_family,
                n.middle(Sex::Female, &mut self.rng),
                n.given(Sex::Female, &mut self.rng)
            )
        } else {
            String::new()
        };
        Person {
            entity: self.index * 10_000_000 + self.people.len() as u64,
            family,
            middle,
            given,
            sex,
            birth,
            id_prefix,
            pid,
            cmnd,
            province,
            commune,
            household,
            relation: "",
            father,
            mother,
            death,
            ethnicity,
            religion,
            house_no: 0,
        }
    }

    fn birth_for_age(&mut self, min_age: i64, max_age: i64) -> PDate {
        let age = self.rng.range(min_age, max_age);
        let year = (GEN_DATE.year as i64 - 1 - age) as u16;
        random_date(
            &mut self.rng,
            PDate::new(year, 1, 1),
            PDate::new(year, 12, 31),
        )
    }

    /// One household: head, maybe a spouse, children (some twins), maybe an elderly parent.
    fn household(&mut self, target: usize) {
        let w = self.world;
        let province = *w.province_weights.sample(&mut self.rng);
        let communes = &w.provinces[province].2;
        let commune = self.rng.below(communes.len() as u64) as u32;
        let region = w.provinces[province].1 as usize;
        let hh = self.index * 10_000_000 + self.people.len() as u64;
        let house_no = self.rng.range(1, 300) as u32;
        let n = names();
        let start = self.people.len();

        let head_sex = if self.rng.chance(0.75) {
            Sex::Male
        } else {
            Sex::Female
        };
        let head_age = 22 + self.rng.below(40) as i64 + self.rng.below(25) as i64;
        let head_birth = self.birth_for_age(head_age, head_age);
        let head_family = n.family(region, &mut self.rng);
        let mut head = self.person(
            hh,
            province,
            commune,
            head_sex,
            head_birth,
            head_family.clone(),
        );
        head.relation = "Chủ hộ";
        self.people.push(head);
        let mut father_idx = (head_sex == Sex::Male).then_some(start);
        let mut mother_idx = (head_sex == Sex::Female).then_some(start);
        if self.rng.chance(0.8) && self.people.len() < target {
            let sex = if head_sex == Sex::Male {
                Sex::Female
            } else {
                Sex::Male
            };
            let age = (head_age + self.rng.range(-6, 6)).max(18);
            let birth = self.birth_for_age(age, age);
            let fam = n.family(region, &mut self.rng);
            let mut spouse = self.person(hh, province, commune, sex, birth, fam);
            spouse.relation = if sex == Sex::Female {
                "Vợ"
            } else {
                "Chồng"
            };
            let idx = self.people.len();
            self.people.push(spouse);
            if sex == Sex::Male {
                father_idx = Some(idx);
            } else {
                mother_idx = Some(idx);
            }
        }
        let mother_age = mother_idx
            .map(|i| self.people[i].birth.age_at(GEN_DATE) as i64)
            .unwrap_or(head_age);
        let kids = *Weighted::new([(0usize, 15.0), (1, 25.0), (2, 35.0), (3, 15.0), (4, 10.0)])
            .sample(&mut self.rng);
        let child_family = father_idx
            .map(|i| self.people[i].family.clone())
            .unwrap_or(head_family.clone());
        let mut k = 0;
        while k < kids && self.people.len() < target {
            let max_age = (mother_age - 19).min(45);
            if max_age < 0 {
                break;
            }
            let age = self.rng.range(0.max(max_age - 22), max_age);
            let birth = self.birth_for_age(age, age);
            let twins = if self.rng.chance(0.03) { 2 } else { 1 };
            for _ in 0..twins {
                if self.people.len() >= target {
                    break;
                }
                let sex = if self.rng.chance(0.51) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                let mut child =
                    self.person(hh, province, commune, sex, birth, child_family.clone());
                // Twins never share a given name.
                let twin_of = self
                    .people
                    .last()
                    .filter(|prev| prev.birth == birth && prev.household == hh);
                if let Some(prev_given) = twin_of.map(|t| fold(&t.given)) {
                    for _ in 0..8 {
                        if fold(&child.given) != prev_given {
                            break;
                        }
                        child.given = n.given(sex, &mut self.rng);
                    }
                }
                child.relation = "Con";
                child.father = father_idx
                    .map(|i| self.people[i].full_name())
                    .unwrap_or_default();
                child.mother = mother_idx
                    .map(|i| self.people[i].full_name())
                    .unwrap_or_default();
                if child.death.is_some() && age < 60 {
                    child.death = None;
                }
                self.people.push(child);
            }
            k += 1;
        }
        if self.rng.chance(0.1) && head_age < 62 && self.people.len() < target {
            let sex = if self.rng.chance(0.5) {
                Sex::Male
            } else {
                Sex::Female
            };
            let age = head_age + self.rng.range(22, 36);
            let birth = self.birth_for_age(age, age);
            let fam = if sex == Sex::Male {
                head_family.clone()
            } else {
                n.family(region, &mut self.rng)
            };
            let mut parent = self.person(hh, province, commune, sex, birth, fam);
            parent.relation = if sex == Sex::Male { "Bố" } else { "Mẹ" };
            self.people.push(parent);
        }
        for p in &mut self.people[start..] {
            p.house_no = house_no;
        }
    }

    fn commune_of(&self, p: usize, c: u32) -> &'static Commune {
        self.world.provinces[p].2[c as usize]
    }

    fn household_text(&self, hh: u64) -> String {
        format!("HO{hh:011}")
    }

    /// The clean resident record of a person.
    fn resident_record(&mut self, i: usize) -> ResRecord {
        let p = &self.people[i];
        let birth_date = if p.birth.year < 1950 && self.rng.chance(0.3) {
            format!("{:04}", p.birth.year)
        } else if self.rng.chance(0.2) {
            dmy(p.birth)
        } else {
            iso(p.birth)
        };
        let relation = match (p.relation, self.rng.below(20)) {
            ("Chủ hộ", 0) => "chủ hộ".to_string(),
            ("Chủ hộ", 1) => "CH".to_string(),
            (r, _) => r.to_string(),
        };
        let rec = ResRecord {
            person: i,
            record_id: String::new(),
            personal_id: id_text(p.pid),
            old_id: p.cmnd.map(|c| format!("{c:09}")).unwrap_or_default(),
            full_name: p.full_name(),
            birth_date,
            sex: if p.sex == Sex::Male { "Nam" } else { "Nữ" }.to_string(),
            province: p.province,
            commune: p.commune,
            household_id: self.household_text(p.household),
            relation,
            death_date: p.death.map(iso).unwrap_or_default(),
            father: p.father.clone(),
            mother: p.mother.clone(),
            rules: BTreeSet::new(),
            personal_defect: false,
            pid_holds_cmnd: false,
            pid_unusable: false,
            pid_valid: true,
            is_duplicate: false,
            residence_type: "thường trú",
            temp_commune: u32::MAX,
        };
        let id = self.record_id("DC");
        ResRecord {
            record_id: id,
            ..rec
        }
    }

    /// Inject one record-level defect into a resident record.
    fn resident_defect(&mut self, rec: &mut ResRecord) {
        let i = rec.person;
        let p = self.people[i].clone();
        let choice = self.rng.below(16);
        match choice {
            0 => {
                // Dots or spaces, or a leading zero dropped by Excel.
                let t = id_text(p.pid);
                let dropped = &t[1..];
                rec.personal_id = if self.rng.chance(0.5) && !looks_mobile(dropped) {
                    dropped.to_string()
                } else if self.rng.chance(0.5) {
                    format!("{}.{}.{}", &t[..3], &t[3..6], &t[6..])
                } else {
                    format!("{} {} {}", &t[..3], &t[3..6], &t[6..])
                };
                rec.pid_valid = false;
                rec.rules.insert(Rule::IdFormat);
            }
            1 => {
                // A mistyped ID: an extra digit or a letter O for a zero.
                let t = id_text(p.pid);
                rec.personal_id = if self.rng.chance(0.5) {
                    format!("{t}{}", self.rng.below(10))
                } else {
                    t.replacen('0', "O", 1)
                };
                rec.pid_valid = false;
                rec.pid_unusable = true;
                rec.rules.insert(Rule::IdFormat);
            }
            2 => {
                rec.personal_id = self.phone();
                rec.pid_valid = false;
                rec.pid_unusable = true;
                rec.rules.insert(Rule::IdPhoneNumber);
            }
            3 if p.cmnd.is_some() => {
                rec.personal_id = format!("{:09}", p.cmnd.unwrap_or(0));
                rec.pid_valid = false;
                rec.pid_unusable = true;
                rec.pid_holds_cmnd = true;
                rec.rules.insert(Rule::IdOldCmnd);
            }
            4 => {
                let bad = *self.rng.pick(&self.world.invalid_prefixes) as u64;
                rec.personal_id = id_text(bad * 1_000_000_000 + p.pid % 1_000_000_000);
                rec.rules.insert(Rule::IdProvinceCode);
            }
            5 => {
                rec.personal_id = id_text(flip_sex_digit(p.pid));
                rec.rules.insert(Rule::IdCenturySex);
            }
            6 => {
                let yy = (p.pid / 1_000_000) % 100;
                let new_yy = (yy + 1 + self.rng.below(5)) % 100;
                rec.personal_id = id_text(p.pid - yy * 1_000_000 + new_yy * 1_000_000);
                rec.rules.insert(Rule::IdBirthYear);
            }
            7 => {
                rec.personal_id = String::new();
                rec.pid_valid = false;
                rec.pid_unusable = true;
                rec.rules.insert(Rule::IdMissing);
            }
            8 => {
                // Someone else's ID: a neighbour of the same sex and birth year.
                let donor = (0..self.people.len()).find(|&j| {
                    j != i
                        && self.people[j].sex == p.sex
                        && self.people[j].birth.year == p.birth.year
                        && fold(&self.people[j].full_name()) != fold(&p.full_name())
                });
                match donor {
                    Some(j) => rec.personal_id = id_text(self.people[j].pid),
                    None => return,
                }
            }
            9 => {
                let c = p.cmnd.unwrap_or(0);
                rec.old_id = match self.rng.below(3) {
                    0 => format!("{:08}", c % 100_000_000),
                    1 => format!("{c:09}{}", self.rng.below(10)),
                    _ => format!("99{:07}", c % 10_000_000),
                };
                rec.rules.insert(Rule::CmndFormat);
                return; // old_id is not a field linked records copy
            }
            10 => {
                let y = p.birth.year;
                rec.birth_date = match self.rng.below(3) {
                    0 => format!("31/02/{y}"),
                    1 => format!("{y}-13-{:02}", p.birth.day.max(1)),
                    _ => "không rõ".to_string(),
                };
                rec.rules.insert(Rule::DateInvalid);
            }
            11 => {
                rec.sex = ["X", "Khác", "3", "?"][self.rng.below(4) as usize].to_string();
                rec.rules.insert(Rule::SexInvalid);
            }
            12 => {
                let field = self.rng.below(5);
                match field {
                    0 => rec.full_name.clear(),
                    1 => rec.birth_date.clear(),
                    2 => rec.sex.clear(),
                    3 => {
                        rec.commune = u32::MAX;
                        rec.rules.insert(Rule::FieldMissing);
                        return;
                    }
                    _ => {
                        if p.relation == "Chủ hộ" {
                            return; // blanking a head's relation would also make a headless household
                        }
                        rec.relation.clear();
                        rec.rules.insert(Rule::FieldMissing);
                        return;
                    }
                }
                rec.rules.insert(Rule::FieldMissing);
            }
            13 if self.rng.chance(0.25) => {
                // A name garbled by a barcode reader or a font: a letter lost as '?', or a
                // digit typed in.
                let name = rec.full_name.clone();
                let garbled = if self.rng.chance(0.5) {
                    match name.char_indices().find(|(_, c)| !c.is_ascii()) {
                        Some((i, c)) => format!("{}?{}", &name[..i], &name[i + c.len_utf8()..]),
                        None => format!("{name}1"),
                    }
                } else {
                    format!("{name}{}", 1 + self.rng.below(9))
                };
                if crate::text::canonical_name(&garbled) != garbled {
                    rec.rules.insert(Rule::NameUnnormalized);
                }
                rec.full_name = garbled;
                rec.rules.insert(Rule::NameInvalidChars);
            }
            13 => {
                let name = rec.full_name.clone();
                rec.full_name = match self.rng.below(6) {
                    0 => name.to_uppercase(),
                    1 => name.to_lowercase(),
                    2 => {
                        use unicode_normalization::UnicodeNormalization;
                        let nfd: String = name.nfd().collect();
                        if nfd == name {
                            name.to_uppercase()
                        } else {
                            nfd
                        }
                    }
                    3 => format!(" {}", name.replacen(' ', "  ", 1)),
                    4 => {
                        if name.contains('Đ') {
                            name.replace('Đ', "Ð")
                        } else {
                            name.to_uppercase()
                        }
                    }
                    _ => to_tcvn3(&name).unwrap_or_else(|| name.to_uppercase()),
                };
                rec.rules.insert(Rule::NameUnnormalized);
            }
            14 if p.birth.age_at(GEN_DATE) >= 60 && p.death.is_none() => {
                // A living resident registered as born 1900–1904: older than 120.
                let year = 1900 + self.rng.below(5) as u16;
                let birth = PDate::new(year, p.birth.month, p.birth.day);
                let pid = self.new_pid(p.id_prefix, p.sex, year);
                self.people[i].birth = birth;
                self.people[i].pid = pid;
                rec.personal_id = id_text(pid);
                rec.birth_date = iso(birth);
                rec.rules.insert(Rule::AliveImplausibleAge);
                return; // the record is consistent: linked records copy it as is
            }
            15 => {
                // The death is registered but the resident register still shows them alive.
                if self.people[i].death.is_none() {
                    let d = random_date(
                        &mut self.rng,
                        PDate::new(2019, 1, 1),
                        PDate::new(2025, 6, 1),
                    );
                    if d.earliest() <= p.birth.earliest() {
                        return;
                    }
                    self.people[i].death = Some(d);
                }
                rec.death_date.clear();
                return; // alive.deceased_active is derived from the registry at the end
            }
            _ => return,
        }
        rec.personal_defect = true;
    }

    /// A second registration of a person, the way duplicates really look.
    fn duplicate_record(&mut self, i: usize) -> ResRecord {
        let mut rec = self.resident_record(i);
        rec.is_duplicate = true;
        let p = self.people[i].clone();
        let variants = 1 + self.rng.below(3);
        for _ in 0..variants {
            match self.rng.below(8) {
                0 => {
                    // Typed without diacritics.
                    rec.full_name = title_case(&fold(&rec.full_name));
                }
                1 if !p.middle.is_empty() => {
                    rec.full_name = format!("{} {}", p.family, p.given);
                }
                2 => {
                    // A typo in the given name.
                    rec.full_name = typo(&rec.full_name, &mut self.rng);
                }
                3 if p.birth.day <= 12 && p.birth.day != p.birth.month => {
                    rec.birth_date = iso(PDate::new(p.birth.year, p.birth.day, p.birth.month));
                }
                4 => rec.birth_date = format!("{:04}", p.birth.year),
                5 => {
                    // A second ID issued to the same person.
                    let pid = self.new_pid(p.id_prefix, p.sex, p.birth.year);
                    rec.personal_id = id_text(pid);
                }
                _ => {}
            }
        }
        // Registered again where they moved: another commune, sometimes another province.
        let w = self.world;
        if w.provinces.len() > 1 && self.rng.chance(0.4) {
            let mut prov = self.rng.below(w.provinces.len() as u64) as usize;
            if prov == p.province {
                prov = (prov + 1) % w.provinces.len();
            }
            rec.province = prov;
            rec.commune = self.rng.below(w.provinces[prov].2.len() as u64) as u32;
        } else {
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
}

fn looks_mobile(d: &str) -> bool {
    let b = d.as_bytes();
    (b.len() == 10 && b[0] == b'0' && matches!(b[1], b'3' | b'5' | b'7' | b'8' | b'9'))
        || (b.len() == 11
            && b.starts_with(b"84")
            && matches!(b[2], b'3' | b'5' | b'7' | b'8' | b'9'))
}

/// The ID with digit 4's parity flipped (the other sex, same century).
fn flip_sex_digit(pid: u64) -> u64 {
    let d4 = (pid / 100_000_000) % 10;
    let flipped = d4 ^ 1;
    pid - d4 * 100_000_000 + flipped * 100_000_000
}

fn title_case(s: &str) -> String {
    s.split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replace one lower-case ASCII letter of the given name (last syllable) with another.
fn typo(name: &str, rng: &mut Rng) -> String {
    let start = name.rfind(' ').map(|i| i + 1).unwrap_or(0);
    let chars: Vec<(usize, char)> = name[start..]
        .char_indices()
        .skip(1)
        .filter(|(_, c)| c.is_ascii_lowercase())
        .collect();
    if chars.is_empty() {
        return name.to_string();
    }
    let (at, old) = *rng.pick(&chars);
    let letters = b"abcdeghiklmnopqrstuvxy";
    let mut new = old;
    while new == old {
        new = letters[rng.below(letters.len() as u64) as usize] as char;
    }
    let pos = start + at;
    format!("{}{}{}", &name[..pos], new, &name[pos + old.len_utf8()..])
}

/// A name in TCVN3 bytes read as Windows-1252 (what old government files look like).
fn to_tcvn3(name: &str) -> Option<String> {
    static MAP: std::sync::OnceLock<HashMap<char, String>> = std::sync::OnceLock::new();
    let map = MAP.get_or_init(|| {
        include_str!("../../../reference/encodings/vn_legacy_charsets_unicode_vni_tcvn3_viqr.tsv")
            .lines()
            .skip(1)
            .filter_map(|l| {
                let c: Vec<&str> = l.split('\t').collect();
                let ch = c.first()?.chars().next()?;
                let t = c.get(4)?;
                let t = if t.starts_with("<U+00AD") {
                    "\u{00AD}".to_string()
                } else {
                    t.to_string()
                };
                Some((ch, t))
            })
            .collect()
    });
    let mut out = String::new();
    let mut changed = false;
    for c in name.chars() {
        match map.get(&c) {
            Some(t) => {
                out.push_str(t);
                changed = true;
            }
            None => out.push(c),
        }
    }
    (changed && crate::text::decode_legacy(&out).as_deref() == Some(name)).then_some(out)
}

// ------------------------------------------------------------------ the chunk

fn linked_defect(chunk: &mut Chunk, rec: &mut LinkedRecord, vaccination: bool, primary: &[usize]) {
    let p = chunk.people[rec.person].clone();
    match chunk.rng.below(if vaccination { 10 } else { 8 }) {
        0 => {
            rec.personal_id.clear();
            rec.pid_unusable = true;
            rec.rules.insert(Rule::IdMissing);
        }
        1 => {
            rec.personal_id = chunk.phone();
            rec.pid_unusable = true;
            rec.rules.insert(Rule::IdPhoneNumber);
        }
        2 if p.cmnd.is_some() => {
            rec.personal_id = format!("{:09}", p.cmnd.unwrap_or(0));
            rec.pid_unusable = true;
            rec.pid_holds_cmnd = true;
            rec.rules.insert(Rule::IdOldCmnd);
        }
        3 => {
            let t = id_text(p.pid);
            rec.personal_id = if looks_mobile(&t[1..]) {
                format!("{}.{}.{}", &t[..3], &t[3..6], &t[6..])
            } else {
                t[1..].to_string()
            };
            // The 12 digits are still there: id.format suggests them, no link is needed.
            rec.rules.insert(Rule::IdFormat);
        }
        4 => {
            // The ID of another person of the same sex and birth year, with another name.
            // The donor's register record must carry its true ID, or the row is not found.
            let donor = (0..chunk.people.len()).find(|&j| {
                chunk.people[j].entity != p.entity
                    && chunk.people[j].sex == p.sex
                    && chunk.people[j].birth.year == p.birth.year
                    && chunk.people[j].family != p.family
                    && chunk.people[j].given != p.given
                    && chunk.residents[primary[j]].personal_id == id_text(chunk.people[j].pid)
            });
            if let Some(j) = donor {
                rec.personal_id = id_text(chunk.people[j].pid);
                rec.wrong_person = true;
                rec.rules.insert(Rule::XrefMismatch);
            }
        }
        5 => {
            // A well-formed ID that belongs to nobody in the register.
            let pid = chunk.new_pid(p.id_prefix, p.sex, p.birth.year);
            rec.personal_id = id_text(pid);
            rec.rules.insert(Rule::XrefNotFound);
        }
        6 | 7 => {
            rec.full_name = rec.full_name.to_uppercase();
            if rec.full_name.chars().any(|c| c.is_alphabetic()) {
                rec.rules.insert(Rule::NameUnnormalized);
            }
        }
        8 if vaccination => {
            // A dose date in the future.
            rec.extra[1] = iso(PDate::new(
                2031 + chunk.rng.below(3) as u16,
                1 + chunk.rng.below(12) as u8,
                1 + chunk.rng.below(28) as u8,
            ));
            rec.rules.insert(Rule::DateInvalid);
        }
        9 if vaccination => {
            rec.extra[1].clear();
            rec.rules.insert(Rule::FieldMissing);
        }
        _ => {}
    }
}

/// Rules of a resident's record that its linked copies inherit (they copy ID, name, birth
/// date and sex as the register has them).
fn inherited(rules: &BTreeSet<Rule>, rec: &ResRecord) -> BTreeSet<Rule> {
    rules
        .iter()
        .copied()
        .filter(|r| match r {
            Rule::FieldMissing => rec.full_name.is_empty() || rec.birth_date.is_empty(),
            Rule::IdFormat
            | Rule::IdPhoneNumber
            | Rule::IdOldCmnd
            | Rule::IdProvinceCode
            | Rule::IdCenturySex
            | Rule::IdBirthYear
            | Rule::IdMissing
            | Rule::DateInvalid
            | Rule::SexInvalid
            | Rule::NameUnnormalized
            | Rule::NameInvalidChars => true,
            _ => false,
        })
        .collect()
}

/// The files `generate` writes, in the order of a chunk's batches.
const FILES: &[(&str, &[&str])] = &[
    ("residents.parquet", RESIDENT_COLS),
    ("vaccination.parquet", VACCINATION_COLS),
    ("insurance.parquet", INSURANCE_COLS),
    ("cmnd_map.parquet", CMND_COLS),
    ("deaths.parquet", DEATH_COLS),
    ("births.parquet", BIRTH_COLS),
    ("truth/entities.parquet", ENTITY_COLS),
    ("truth/defects.parquet", DEFECT_COLS),
];

/// Write the synthetic dataset. Deterministic from `--seed`, whatever the thread count.
pub fn generate(opts: &GenOptions) -> Result<GenStats> {
    if opts.people == 0 {
        return Err(Error::usage("--people must be at least 1"));
    }
    if !(0.0..=1.0).contains(&opts.dup_rate) || !(0.0..=1.0).contains(&opts.error_rate) {
        return Err(Error::usage(
            "--dup-rate and --error-rate must be between 0 and 1",
        ));
    }
    let world = build_world(opts)?;
    let staging = crate::output::Staging::new(&opts.out, true)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(256 * 1024))
        .set_created_by("lamsach generate".to_string())
        .build();
    let mut writers = Vec::new();
    for (k, (name, cols)) in FILES.iter().enumerate() {
        let (file, _) = staging.create(name)?;
        // The residents, vaccination and insurance files lose their ID columns.
        let cols: Vec<&str> = cols
            .iter()
            .copied()
            .filter(|c| !(opts.without_ids && k < 3 && ["personal_id", "old_id"].contains(c)))
            .collect();
        let w = ArrowWriter::try_new(file, Rows::schema(&cols), Some(props.clone()))
            .map_err(|e| Error::output(&opts.out.join(name), e))?;
        writers.push(w);
    }
    // Chunks: at most 1 000 (serial-number ranges), at least 20 000 people each.
    let chunk_size = (opts.people.div_ceil(1000)).max(20_000).min(opts.people);
    let n_chunks = opts.people.div_ceil(chunk_size);
    let mut stats = GenStats::default();
    let window = rayon::current_num_threads().max(1) * 2;
    let progress = crate::phase::Progress::new(opts.quiet);
    let mut start = 0;
    while start < n_chunks {
        progress.message(&format!(
            "tạo dữ liệu mẫu: {} / {} người",
            start * chunk_size,
            opts.people
        ));
        let end = (start + window).min(n_chunks);
        let outs: Vec<Result<ChunkOut>> = (start..end)
            .into_par_iter()
            .map(|i| {
                let size = chunk_size.min(opts.people - i * chunk_size);
                chunk::generate_chunk(&world, opts, i as u64, size)
            })
            .collect();
        for out in outs {
            let out = out?;
            stats.people += out.people;
            stats.residents += out.residents;
            stats.vaccination += out.vaccination;
            stats.insurance += out.insurance;
            stats.cmnd_map += out.cmnd_map;
            stats.deaths += out.deaths;
            stats.births += out.births;
            stats.defects += out.defects;
            stats.duplicate_records += out.duplicates;
            let results: Vec<Result<()>> = writers
                .par_iter_mut()
                .zip(out.batches.par_iter())
                .enumerate()
                .map(|(k, (w, b))| {
                    w.write(b)
                        .map_err(|e| Error::output(&opts.out.join(FILES[k].0), e))
                })
                .collect();
            results.into_iter().collect::<Result<Vec<()>>>()?;
        }
        start = end;
    }
    progress.message("ghi tệp");
    for (k, w) in writers.into_iter().enumerate() {
        w.close()
            .map_err(|e| Error::output(&opts.out.join(FILES[k].0), e))?;
    }
    staging.commit()?;
    progress.finish();
    Ok(stats)
}
