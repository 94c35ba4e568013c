//! The ministry's indicator groups (SPEC §3): which rules on which sources count toward each,
//! and the records, households, new and resolved records behind each.

use rayon::prelude::*;
use std::collections::BTreeSet;

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

/// The rows of the extracts an indicator counts, per extract and `data_source`: how many are
/// "nhập mới" (no resident: not in the register) and how many "đối khớp" (a resident carries
/// the row's personal ID under an agreeing name, or the row is linked to one).
fn split_rows(
    view: &View,
    ind: &Indicator,
    linked: &std::collections::HashMap<RowRef, u32>,
) -> Vec<crate::summary::SourceSplit> {
    use crate::compare::{compare_names, NameLevel};
    use crate::core::Column;
    use std::collections::BTreeMap;
    let input = view.input;
    let res_name = input.cols[0][Column::FullName];
    let mut out = Vec::new();
    for (s, t) in input.tables.iter().enumerate() {
        if !t.kind.is_linked() || !source_matches(&t.name, ind.sources) {
            continue;
        }
        let cols = &input.cols[s];
        let mut per: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for r in 0..t.len() {
            let facts = input.prepared[s].rows[r];
            let by_id = facts.pid.is_valid()
                && input.pid_index.rows(facts.pid.value).any(|res| {
                    compare_names(cols[Column::FullName].get(r), res_name.get(res as usize))
                        <= NameLevel::Close
                });
            let matched = by_id || linked.contains_key(&RowRef::new(s, r));
            let e = per
                .entry(cols[Column::DataSource].get(r).trim())
                .or_default();
            if matched {
                e.1 += 1;
            } else {
                e.0 += 1;
            }
        }
        for (ds, (new, matched)) in per {
            out.push(crate::summary::SourceSplit {
                source: t.name.clone(),
                data_source: ds.to_string(),
                rows: new + matched,
                nhap_moi: new,
                doi_khop: matched,
            });
        }
    }
    out
}

/// The person behind a vaccination row: the resident it is linked to (or whose valid ID it
/// carries), else its folded name and birth date — so one person's doses, and a person
/// recorded under two extract identities, count once.
fn vaccination_person(
    view: &View,
    linked: &std::collections::HashMap<RowRef, u32>,
    r: RowRef,
) -> u64 {
    use crate::core::hash::{h64, mix};
    if let Some(&res) = linked.get(&r) {
        return mix(&[1, res as u64]);
    }
    let facts = view.input.prepared[r.source as usize].rows[r.row as usize];
    if facts.pid.is_valid() {
        if let Some(res) = view.input.pid_index.rows(facts.pid.value).next() {
            return mix(&[1, res as u64]);
        }
        return mix(&[2, facts.pid.value]);
    }
    let name = crate::text::fold(view.cell(r, crate::core::Column::FullName));
    mix(&[
        3,
        h64(&name),
        h64(view.cell(r, crate::core::Column::BirthDate)),
    ])
}

/// Count, per indicator, the distinct records (and for households, the households).
pub fn indicator_counts(view: &View) -> Vec<IndicatorCount> {
    let linked: std::collections::HashMap<RowRef, u32> =
        view.links.iter().map(|l| (l.at, l.resident)).collect();
    let people_evaluated: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    INDICATORS
        .iter()
        .map(|ind| {
            let mut records: BTreeSet<RowRef> = BTreeSet::new();
            let mut new: BTreeSet<RowRef> = BTreeSet::new();
            let mut households: BTreeSet<&str> = BTreeSet::new();
            for (f, open) in view.findings.iter().zip(&view.open) {
                let src = view.source(f.at);
                if ind.rules.contains(&f.rule) && source_matches(src, ind.sources) {
                    records.insert(f.at);
                    if !open {
                        new.insert(f.at);
                    }
                    if matches!(f.rule, Rule::HouseholdNoHead | Rule::HouseholdMultipleHeads) {
                        households.insert(f.value.as_deref().unwrap_or(""));
                    }
                }
            }
            let resolved: BTreeSet<(&str, &str)> = view
                .resolved
                .iter()
                .filter(|p| {
                    Rule::from_code(&p.key.2).is_some_and(|r| ind.rules.contains(&r))
                        && source_matches(&p.key.0, ind.sources)
                })
                .map(|p| (p.key.0.as_str(), p.key.1.as_str()))
                .collect();
            let by_person = ind.sources == ["vaccination"];
            let (people, people_evaluated) = if by_person {
                let all = people_evaluated.get_or_init(|| {
                    let mut all: Vec<u64> = view
                        .input
                        .tables
                        .iter()
                        .enumerate()
                        .filter(|(_, t)| source_matches(&t.name, ind.sources))
                        .flat_map(|(s, t)| (0..t.len()).map(move |r| RowRef::new(s, r)))
                        .collect::<Vec<_>>()
                        .par_iter()
                        .map(|&r| vaccination_person(view, &linked, r))
                        .collect();
                    all.par_sort_unstable();
                    all.dedup();
                    all.len()
                });
                let mut people: Vec<u64> = records
                    .iter()
                    .map(|&r| vaccination_person(view, &linked, r))
                    .collect();
                people.sort_unstable();
                people.dedup();
                (Some(people.len()), Some(*all))
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
                    split_rows(view, ind, &linked)
                } else {
                    Vec::new()
                },
            }
        })
        .collect()
}
