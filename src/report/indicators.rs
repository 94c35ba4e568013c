//! The ministry's indicator groups (SPEC §3): which rules on which sources count toward each,
//! and the records, households, new and resolved records behind each.

use rayon::prelude::*;
use std::collections::BTreeSet;

use super::summary::Tally;
use super::view::{Records, View};
use crate::core::{RowRef, Rule};

/// The ministry's indicator groups (SPEC §3), with the rules counted toward each.
pub struct Indicator {
    pub key: &'static str,
    pub label: &'static str,
    pub rules: &'static [Rule],
    /// Only findings on sources whose name matches one of these (for the extract groups).
    pub sources: &'static [&'static str],
}

pub const INDICATORS: &[Indicator] = &[
    Indicator {
        key: "1_huy_xac_lap_lai_so_ddcn",
        label: "(1) Hủy, xác lập lại số định danh cá nhân",
        rules: &[
            Rule::IdShared,
            Rule::IdProvinceCode,
            Rule::IdCenturySex,
            Rule::IdBirthYear,
        ],
        sources: &["residents"],
    },
    Indicator {
        key: "2_cap_nhat_cmnd_9_so",
        label: "(2) Cập nhật thông tin CMND 9 số",
        rules: &[
            Rule::CmndMapped,
            Rule::CmndUnmapped,
            Rule::CmndFormat,
            Rule::IdOldCmnd,
        ],
        sources: &["residents"],
    },
    Indicator {
        key: "3a_ho_khong_co_chu_ho",
        label: "(3) Hộ không có chủ hộ",
        rules: &[Rule::HouseholdNoHead],
        sources: &["residents"],
    },
    Indicator {
        key: "3b_ho_nhieu_chu_ho",
        label: "(3) Hộ có nhiều hơn 01 chủ hộ",
        rules: &[Rule::HouseholdMultipleHeads],
        sources: &["residents"],
    },
    Indicator {
        key: "4a_xoa_trung_trong_tinh",
        label: "(4) Xóa trùng thông tin công dân trong tỉnh",
        rules: &[Rule::DupInProvince],
        sources: &["residents"],
    },
    Indicator {
        key: "4b_xoa_trung_ngoai_tinh",
        label: "(4) Xóa trùng thông tin công dân ngoài tỉnh",
        rules: &[Rule::DupOutOfProvince],
        sources: &["residents"],
    },
    Indicator {
        key: "5_cap_nhat_truong_con_thieu",
        label: "(5) Cập nhật các trường thông tin còn thiếu",
        rules: &[Rule::FieldMissing, Rule::IdMissing],
        sources: &["residents"],
    },
    Indicator {
        key: "6_lam_sach_pham_nhan",
        label: "(6) Làm sạch dữ liệu phạm nhân",
        rules: Rule::ALL,
        sources: crate::core::headers::PRISONER_SOURCES,
    },
    Indicator {
        key: "7_lam_sach_khu_cong_nghiep",
        label: "(7) Làm sạch dữ liệu tại các khu công nghiệp",
        rules: Rule::ALL,
        sources: &[
            "kcn",
            "khu_cong_nghiep",
            "khucongnghiep",
            "industrial",
            "workers",
            "cong_nhan",
        ],
    },
    Indicator {
        key: "sai_cau_truc_so_ddcn",
        label: "Sai cấu trúc số định danh cá nhân",
        rules: &[
            Rule::IdFormat,
            Rule::IdPhoneNumber,
            Rule::IdProvinceCode,
            Rule::IdCenturySex,
            Rule::IdBirthYear,
        ],
        sources: &["residents"],
    },
    Indicator {
        key: "tiem_chung_khong_co_cccd",
        label: "Tiêm chủng: không có CCCD",
        rules: &[Rule::IdMissing],
        sources: &["vaccination"],
    },
    Indicator {
        key: "tiem_chung_sai_dinh_dang",
        label: "Tiêm chủng: sai định dạng",
        rules: &[
            Rule::IdFormat,
            Rule::IdPhoneNumber,
            Rule::IdOldCmnd,
            Rule::IdProvinceCode,
            Rule::IdCenturySex,
            Rule::IdBirthYear,
        ],
        sources: &["vaccination"],
    },
    Indicator {
        key: "tiem_chung_sai_thong_tin",
        label: "Tiêm chủng: sai thông tin",
        rules: &[Rule::XrefMismatch, Rule::XrefNotFound],
        sources: &["vaccination"],
    },
];

pub use crate::core::headers::source_matches;

/// Per indicator: distinct records, households (group 3), new records and resolved records.
pub struct IndicatorCount {
    pub indicator: &'static Indicator,
    pub records: usize,
    pub households: Option<usize>,
    /// Vaccination indicators, counted by person as the reports count them (đối tượng):
    /// the people among the rows, and among all the source's rows.
    pub people: Option<usize>,
    pub people_evaluated: Option<usize>,
    pub new: usize,
    pub resolved: usize,
    /// Indicators (6) and (7): new entries and matches per extract and data source.
    pub split: Vec<crate::summary::SourceSplit>,
}

/// Whether an indicator counts a kind of extract as a whole (6: prisoners, 7: industrial
/// zones), and so splits its rows into new entries and matches.
fn splits(ind: &Indicator) -> bool {
    ind.key.starts_with("6_") || ind.key.starts_with("7_")
}

/// How a source's rows are counted beyond records: by person (`people`, the vaccination
/// indicators), split into new entries and matches (`split`, indicators 6 and 7), or not.
pub fn counted_by(source: &str) -> Option<&'static str> {
    let by = |pred: fn(&Indicator) -> bool| {
        INDICATORS
            .iter()
            .any(|ind| pred(ind) && source_matches(source, ind.sources))
    };
    if by(|ind| ind.sources == ["vaccination"]) {
        Some("people")
    } else if by(splits) {
        Some("split")
    } else {
        None
    }
}

/// The rows of the extracts that indicators (6) and (7) count, per extract and
/// `data_source`: how many are "nhập mới" (no resident: not in the register) and how many
/// "đối khớp" (a resident carries the row's personal ID under an agreeing name, or the row is
/// linked to one).
pub fn split_rows(
    view: &View,
    linked: &std::collections::HashMap<RowRef, u32>,
) -> Vec<crate::summary::SourceSplit> {
    use crate::compare::{compare_names, NameLevel};
    use crate::core::Column;
    let input = view.input;
    let res_name = input.cols[0][Column::FullName];
    let mut out = Vec::new();
    for (s, t) in input.tables.iter().enumerate() {
        if !t.kind.is_linked() || counted_by(&t.name) != Some("split") {
            continue;
        }
        let cols = &input.cols[s];
        let matched = (0..t.len()).map(|r| {
            let facts = input.prepared[s].rows[r];
            let by_id = facts.pid.is_valid()
                && input.pid_index.rows(facts.pid.value).any(|res| {
                    compare_names(cols[Column::FullName].get(r), res_name.get(res as usize))
                        <= NameLevel::Close
                });
            (
                cols[Column::DataSource].get(r),
                by_id || linked.contains_key(&RowRef::new(s, r)),
            )
        });
        out.extend(split_of(&t.name, matched));
    }
    out
}

/// One extract's split, from each row's `data_source` and whether it is matched.
fn split_of<'a>(
    source: &str,
    rows: impl Iterator<Item = (&'a str, bool)>,
) -> Vec<crate::summary::SourceSplit> {
    let mut per: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for (data_source, matched) in rows {
        let e = per.entry(data_source.trim()).or_default();
        if matched {
            e.1 += 1;
        } else {
            e.0 += 1;
        }
    }
    per.into_iter()
        .map(|(ds, (new, matched))| crate::summary::SourceSplit {
            source: source.to_string(),
            data_source: ds.to_string(),
            rows: new + matched,
            nhap_moi: new,
            doi_khop: matched,
        })
        .collect()
}

/// A person as the vaccination indicators count people (đối tượng): a kind and a number.
pub type Person = (u8, u64);
/// A resident without a usable personal ID (its row).
pub const PERSON_RESIDENT: u8 = 1;
/// A personal ID.
pub const PERSON_ID: u8 = 2;
/// A folded name and a birth date ([`named_person`]).
pub const PERSON_NAMED: u8 = 3;

/// The person behind a vaccination row, so that one person's doses, and a person recorded
/// under two extract identities, count once: the resident it is linked to (`linked`: that
/// resident's usable personal ID, and its row) by its ID or as itself, else its own
/// well-formed personal ID, else `named` ([`named_person`]).
pub fn person(linked: Option<(Option<u64>, u64)>, own_id: Option<u64>, named: u64) -> Person {
    match (linked, own_id) {
        (Some((Some(id), _)), _) | (None, Some(id)) => (PERSON_ID, id),
        (Some((None, resident)), _) => (PERSON_RESIDENT, resident),
        (None, None) => (PERSON_NAMED, named),
    }
}

/// A person known by a name and a birth date only: the folded name and the date as written.
pub fn named_person(name: &str, birth_date: &str) -> u64 {
    use crate::core::hash::{h64, mix};
    mix(&[h64(&crate::text::fold(name)), h64(birth_date)])
}

/// The vaccination rows' people: how many among all of them, and who each flagged row is.
#[derive(Default)]
pub struct People {
    pub evaluated: usize,
    /// Per flagged row of a source counted by person ((source, record) as the tally's
    /// findings give them): its person.
    pub of: std::collections::HashMap<(u32, u64), Person>,
}

/// The command line's people of the vaccination rows.
pub fn vaccination_people(view: &View, linked: &std::collections::HashMap<RowRef, u32>) -> People {
    use crate::core::Column;
    let input = view.input;
    let person_of = |r: RowRef| {
        let facts = input.prepared[r.source as usize].rows[r.row as usize];
        let resident = linked.get(&r).map(|&res| {
            let id = input.prepared[0].rows[res as usize].pid.personal_id();
            (id, res as u64)
        });
        let own = facts.pid.is_valid().then_some(facts.pid.value);
        let named = || {
            named_person(
                view.cell(r, Column::FullName),
                view.cell(r, Column::BirthDate),
            )
        };
        match (resident, own) {
            (None, None) => person(None, None, named()),
            _ => person(resident, own, 0),
        }
    };
    let counted: Vec<usize> = (0..input.tables.len())
        .filter(|&s| counted_by(&input.tables[s].name) == Some("people"))
        .collect();
    let mut all: Vec<Person> = counted
        .iter()
        .flat_map(|&s| (0..input.tables[s].len()).map(move |r| RowRef::new(s, r)))
        .collect::<Vec<_>>()
        .par_iter()
        .map(|&r| person_of(r))
        .collect();
    all.par_sort_unstable();
    all.dedup();
    let of = view
        .findings
        .iter()
        .filter(|f| counted.contains(&(f.at.source as usize)))
        .map(|f| ((f.at.source as u32, f.at.row as u64), person_of(f.at)))
        .collect();
    People {
        evaluated: all.len(),
        of,
    }
}

/// Count, per indicator, the distinct records (and for households, the households).
pub fn indicator_counts(tally: &Tally) -> Vec<IndicatorCount> {
    INDICATORS
        .iter()
        .map(|ind| {
            let mut records: BTreeSet<(u32, u64)> = BTreeSet::new();
            let mut new: BTreeSet<(u32, u64)> = BTreeSet::new();
            let mut households: BTreeSet<&str> = BTreeSet::new();
            for f in &tally.findings {
                let src = &tally.sources[f.source as usize].name;
                if ind.rules.contains(&f.rule) && source_matches(src, ind.sources) {
                    records.insert((f.source, f.record));
                    if f.new {
                        new.insert((f.source, f.record));
                    }
                    if matches!(f.rule, Rule::HouseholdNoHead | Rule::HouseholdMultipleHeads) {
                        households.insert(f.value);
                    }
                }
            }
            let resolved: BTreeSet<(&str, &str)> = tally
                .resolved
                .iter()
                .filter(|p| {
                    Rule::from_code(p.key[2]).is_some_and(|r| ind.rules.contains(&r))
                        && source_matches(p.key[0], ind.sources)
                })
                .map(|p| (p.key[0], p.key[1]))
                .collect();
            let (people, people_evaluated) = if ind.sources == ["vaccination"] {
                let people: BTreeSet<Person> = records
                    .iter()
                    .filter_map(|r| tally.people.of.get(r).copied())
                    .collect();
                (Some(people.len()), Some(tally.people.evaluated))
            } else {
                (None, None)
            };
            IndicatorCount {
                indicator: ind,
                records: records.len(),
                people,
                people_evaluated,
                households: ind.key.starts_with('3').then_some(households.len()),
                new: new.len(),
                resolved: resolved.len(),
                split: if splits(ind) {
                    tally
                        .splits
                        .iter()
                        .filter(|s| source_matches(&s.source, ind.sources))
                        .cloned()
                        .collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One person's doses count once however each row names them: linked to a resident,
    /// carrying the resident's ID, or (without an ID) by the same name and birth date written
    /// in another form; a namesake born on another day is another person.
    #[test]
    fn a_persons_doses_count_once() {
        const ID: u64 = 79_000_012_345;
        let named = |name: &str, date: &str| named_person(name, date);
        let rows = [
            person(
                Some((Some(ID), 7)),
                None,
                named("Nguyen Van A", "1990-01-02"),
            ),
            person(None, Some(ID), named("Nguyễn Văn A", "1990-01-02")),
            person(Some((Some(ID), 7)), Some(999), 0),
        ];
        assert!(rows.iter().all(|p| *p == (PERSON_ID, ID)), "{rows:?}");
        let nfd = "Nguye\u{302}\u{303}n Va\u{306}n Bi\u{300}nh";
        let a = person(None, None, named("Nguyễn Văn Bình", "1990-01-02"));
        let b = person(None, None, named(nfd, "1990-01-02"));
        let c = person(None, None, named("Nguyễn Văn Bình", "1991-01-02"));
        assert_eq!(a, b, "one name in NFC and NFD");
        assert_ne!(a, c, "a namesake born another year");
        // A resident without a usable ID is the resident itself.
        assert_eq!(person(Some((None, 7)), None, 0), (PERSON_RESIDENT, 7));
    }
}
