//! Reference facts embedded in the binary (see `reference/SOURCES.md`): birth-registration
//! province codes of the personal ID, old CMND issuing prefixes, and the 2025 administrative
//! units (34 provinces, 3 321 communes).

use std::collections::HashMap;
use std::sync::OnceLock;

const ID_PROVINCES: &str = include_str!("../reference/id_province_codes.csv");
const PROVINCES_2026: &str = include_str!("../reference/admin/vn_units_2026-04_34_provinces.csv");
const WARDS_2026: &str = include_str!("../reference/admin/vn_units_2026-04_3321_wards.csv");
const BHYT_OBJECTS: &str = include_str!("../reference/insurance/bhyt_object_codes.csv");
const OLD_COMMUNES: &str = include_str!("../reference/admin/communes_pre2025_to_2025.csv");

/// One birth-registration province (digits 1–3 of the personal ID).
#[derive(Debug, Clone)]
pub struct IdProvince {
    /// Three-digit prefix, e.g. `001`.
    pub prefix: u16,
    pub name: String,
    /// The 2025 residence province it merged into.
    pub new_province_code: String,
    /// Old 9-digit CMND issuing prefixes (two or three digits).
    pub cmnd_prefixes: Vec<String>,
    /// Whether the CMND prefix was confirmed in a second source.
    pub cmnd_prefix_verified: bool,
}

#[derive(Debug, Clone)]
pub struct Province {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Commune {
    pub code: String,
    pub name: String,
    pub full_name: String,
    pub province_code: String,
}

pub struct Reference {
    pub id_provinces: Vec<IdProvince>,
    /// prefix (0..=999) → index into `id_provinces`.
    id_prefix_index: Vec<Option<u8>>,
    pub provinces: Vec<Province>,
    pub communes: Vec<Commune>,
    commune_index: HashMap<String, usize>,
    /// Pre-2025 commune code → (its name, the 2025 commune it went wholly into, if one).
    old_communes: HashMap<String, (String, Option<String>)>,
    /// The issuing-prefix class of every three-digit start of a CMND (longest prefix wins).
    cmnd_by_first3: Vec<CmndPrefix>,
}

/// Split a CSV line with optional double-quoted fields (the reference files are simple).
pub(crate) fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn build() -> Reference {
    let mut id_provinces = Vec::new();
    let mut id_prefix_index = vec![None; 1000];
    let mut cmnd_prefixes = Vec::new();
    for line in ID_PROVINCES.lines().skip(1) {
        let f = split_csv_line(line);
        if f.len() < 10 {
            continue;
        }
        let Ok(prefix) = f[1].parse::<u16>() else {
            continue;
        };
        let verified = f[9].trim() == "yes";
        // "090, 091", "23x (233?)", "01": keep the digit runs.
        let prefixes: Vec<String> = f[8]
            .split([',', ' ', '('])
            .map(|p| p.trim().trim_end_matches('x').trim_end_matches('?'))
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string)
            .collect();
        for p in &prefixes {
            cmnd_prefixes.push((p.clone(), verified));
        }
        id_prefix_index[prefix as usize] = Some(id_provinces.len() as u8);
        id_provinces.push(IdProvince {
            prefix,
            name: f[2].clone(),
            new_province_code: f[5].clone(),
            cmnd_prefixes: prefixes,
            cmnd_prefix_verified: verified,
        });
    }
    // Longest first; a prefix shared by two provinces is confirmed if either row confirms it.
    cmnd_prefixes.sort_by(|a, b| {
        b.0.len()
            .cmp(&a.0.len())
            .then(a.0.cmp(&b.0))
            .then(b.1.cmp(&a.1))
    });
    cmnd_prefixes.dedup_by(|a, b| a.0 == b.0);

    let provinces = PROVINCES_2026
        .lines()
        .skip(1)
        .map(split_csv_line)
        .filter(|f| f.len() >= 2)
        .map(|f| Province {
            code: f[0].clone(),
            name: f[1].clone(),
        })
        .collect();
    let communes: Vec<Commune> = WARDS_2026
        .lines()
        .skip(1)
        .map(split_csv_line)
        .filter(|f| f.len() >= 7)
        .map(|f| Commune {
            code: f[0].clone(),
            name: f[1].clone(),
            full_name: f[3].clone(),
            province_code: f[6].clone(),
        })
        .collect();
    let commune_index = communes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.code.clone(), i))
        .collect();
    let cmnd_by_first3 = (0..1000)
        .map(|n| {
            let digits = format!("{n:03}");
            match cmnd_prefixes
                .iter()
                .find(|(p, _)| digits.starts_with(p.as_str()))
            {
                Some((_, true)) => CmndPrefix::Known,
                Some((_, false)) => CmndPrefix::Recalled,
                None => CmndPrefix::Unknown,
            }
        })
        .collect();
    let old_communes = OLD_COMMUNES
        .lines()
        .skip(1)
        .map(split_csv_line)
        .filter(|f| f.len() >= 3)
        .map(|f| {
            let new = (!f[2].is_empty()).then(|| f[2].clone());
            (f[0].clone(), (f[1].clone(), new))
        })
        .collect();
    Reference {
        id_provinces,
        id_prefix_index,
        provinces,
        communes,
        commune_index,
        old_communes,
        cmnd_by_first3,
    }
}

/// The embedded reference tables, parsed once.
pub fn reference() -> &'static Reference {
    static R: OnceLock<Reference> = OnceLock::new();
    R.get_or_init(build)
}

/// How a CMND number's leading digits relate to the issuing-prefix table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmndPrefix {
    Known,
    /// Known, but the table marks it as recalled rather than confirmed.
    Recalled,
    Unknown,
}

impl Reference {
    /// The birth-registration province of a three-digit ID prefix.
    pub fn id_province(&self, prefix: u16) -> Option<&IdProvince> {
        self.id_prefix_index
            .get(prefix as usize)
            .copied()
            .flatten()
            .map(|i| &self.id_provinces[i as usize])
    }

    /// A health-insurance card's object code (`DN`, `TE`, `HT`, …: QĐ 1351/QĐ-BHXH).
    pub fn is_bhyt_object(&self, code: &str) -> bool {
        static CODES: OnceLock<Vec<[u8; 2]>> = OnceLock::new();
        let codes = CODES.get_or_init(|| {
            BHYT_OBJECTS
                .lines()
                .skip(1)
                .filter_map(|l| l.split(',').next())
                .filter_map(|c| c.as_bytes().try_into().ok())
                .collect()
        });
        code.len() == 2 && codes.iter().any(|c| c == code.as_bytes())
    }

    /// A residence province code: one of the 34 of 2025, or one of the 63 before the merger
    /// (the first digits of the personal ID's prefix).
    pub fn is_province_code(&self, code: &str) -> bool {
        static KNOWN: OnceLock<[bool; 100]> = OnceLock::new();
        let known = KNOWN.get_or_init(|| {
            let mut k = [false; 100];
            let r = reference();
            for p in &r.provinces {
                if let Ok(n) = p.code.parse::<usize>() {
                    k[n % 100] = n < 100;
                }
            }
            for p in r.id_provinces.iter().filter(|p| p.prefix < 100) {
                k[p.prefix as usize] = true;
            }
            k
        });
        let b = code.as_bytes();
        b.len() == 2
            && b.iter().all(u8::is_ascii_digit)
            && known[((b[0] - b'0') * 10 + (b[1] - b'0')) as usize]
    }

    pub fn province_name(&self, code: &str) -> Option<&str> {
        self.provinces
            .iter()
            .find(|p| p.code == code)
            .map(|p| p.name.as_str())
    }

    pub fn commune(&self, code: &str) -> Option<&Commune> {
        self.commune_index.get(code).map(|&i| &self.communes[i])
    }

    /// The 2025 commune a pre-2025 commune went wholly into (None: unknown, or split between
    /// several).
    pub fn successor(&self, old_code: &str) -> Option<&str> {
        self.old_communes.get(old_code)?.1.as_deref()
    }

    /// A commune code as people read it: the 2025 commune and its province; a pre-2025 code
    /// (not in the 2025 list) with the new commune it went wholly into, or marked unresolved
    /// when it was split between several.
    pub fn commune_label(&self, code: &str) -> String {
        if let Some(c) = self.commune(code) {
            let prov = self.province_name(&c.province_code).unwrap_or("");
            return format!("{} — {}", c.full_name, prov);
        }
        match self.old_communes.get(code) {
            Some((old, Some(new))) => match self.commune(new) {
                Some(c) => format!(
                    "{old} (mã trước 2025) → nay là {} ({}) — {}",
                    c.full_name,
                    c.code,
                    self.province_name(&c.province_code).unwrap_or("")
                ),
                None => format!("{old} (mã trước 2025)"),
            },
            Some((old, None)) => {
                format!("{old} (mã trước 2025, đã chia cho nhiều xã mới: chưa xác định)")
            }
            None => "không có trong danh mục hành chính".to_string(),
        }
    }

    /// Classify the issuing prefix of a 9-digit CMND.
    pub fn cmnd_prefix(&self, digits: &str) -> CmndPrefix {
        let b = digits.as_bytes();
        if b.len() < 3 || !b[..3].iter().all(u8::is_ascii_digit) {
            return CmndPrefix::Unknown;
        }
        let n = (b[0] - b'0') as usize * 100 + (b[1] - b'0') as usize * 10 + (b[2] - b'0') as usize;
        self.cmnd_by_first3[n]
    }

    /// The prefixes a CMND issued for a birth-registration province may start with.
    pub fn cmnd_prefixes_of(&self, id_prefix: u16) -> &[String] {
        self.id_province(id_prefix)
            .map(|p| p.cmnd_prefixes.as_slice())
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_load_with_the_published_counts() {
        let r = reference();
        assert_eq!(r.id_provinces.len(), 63);
        assert_eq!(r.provinces.len(), 34);
        assert_eq!(r.communes.len(), 3321);
        assert_eq!(r.id_province(1).map(|p| p.name.as_str()), Some("Hà Nội"));
        assert_eq!(
            r.id_province(79).map(|p| p.name.as_str()),
            Some("Hồ Chí Minh")
        );
        assert!(r.id_province(3).is_none());
        assert_eq!(r.province_name("52"), Some("Gia Lai"));
        assert_eq!(
            r.commune("00004").map(|c| c.province_code.as_str()),
            Some("01")
        );
        // A 2025 code; an old code that went wholly into one new commune; an unknown code.
        assert_eq!(r.commune_label("00004"), "Phường Ba Đình — Hà Nội");
        assert_eq!(
            r.commune_label("00001"),
            "Phường Phúc Xá (mã trước 2025) → nay là Phường Hồng Hà (00097) — Hà Nội"
        );
        assert_eq!(
            r.commune_label("99999"),
            "không có trong danh mục hành chính"
        );
    }

    #[test]
    fn cmnd_prefixes() {
        let r = reference();
        assert_eq!(r.cmnd_prefix("012345678"), CmndPrefix::Known);
        assert_eq!(r.cmnd_prefix("095234567"), CmndPrefix::Known);
        assert_eq!(r.cmnd_prefix("091234567"), CmndPrefix::Recalled);
        assert_eq!(r.cmnd_prefix("381234567"), CmndPrefix::Known);
        assert_eq!(r.cmnd_prefix("171234567"), CmndPrefix::Recalled);
        assert_eq!(r.cmnd_prefix("991234567"), CmndPrefix::Unknown);
        assert_eq!(r.cmnd_prefix("001234567"), CmndPrefix::Unknown);
    }
}
