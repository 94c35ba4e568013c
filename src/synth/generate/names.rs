//! Vietnamese names with real frequencies (reference/names): family names by region,
//! middle names by sex ("Văn", "Thị" and the rest), given names by sex.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::ids::Sex;
use crate::reference::split_csv_line;
use crate::rng::{Rng, Weighted};

const SURNAMES: &str =
    include_str!("../../../reference/names/hungnguyen18_surname_weights_by_region.csv");
const MIDDLE: &str =
    include_str!("../../../reference/names/uit_member_aggregate_middle_tokens_freq.csv");
const GIVEN: &str = include_str!("../../../reference/names/uit_member_aggregate_given_freq.csv");
const BOY: &str = include_str!("../../../reference/names/duyet_boy_one_word.txt");
const GIRL: &str = include_str!("../../../reference/names/duyet_girl_one_word.txt");

pub struct Names {
    /// north, central, south.
    family: [Weighted<String>; 3],
    middle_male: Weighted<String>,
    middle_female: Weighted<String>,
    given_male: Weighted<String>,
    given_female: Weighted<String>,
}

/// The real files write "Ð" (U+00D0) for "Đ"; the generator's clean data uses "Đ".
fn clean(s: &str) -> String {
    s.trim().replace('Ð', "Đ").replace('ð', "đ")
}

fn freq(csv: &str) -> Vec<(String, f64)> {
    csv.lines()
        .skip(1)
        .map(split_csv_line)
        .filter(|f| f.len() >= 2)
        .filter_map(|f| Some((clean(&f[0]), f[1].trim().parse::<f64>().ok()?)))
        // The public list carries some mojibake ("Vieät", "Böûu"): keep clean syllables only.
        .filter(|(t, _)| {
            !t.is_empty()
                && !t.contains(' ')
                && crate::text::is_canonical_name(t)
                && t.chars().all(crate::text::is_vietnamese_letter)
        })
        .collect()
}

fn build() -> Names {
    let mut family: [Vec<(String, f64)>; 3] = Default::default();
    for f in SURNAMES.lines().skip(1).map(split_csv_line) {
        if f.len() < 3 {
            continue;
        }
        let region = match f[0].as_str() {
            "north" => 0,
            "central" => 1,
            _ => 2,
        };
        if let Ok(w) = f[2].trim().parse::<f64>() {
            family[region].push((clean(&f[1]), w));
        }
    }
    let middle = freq(MIDDLE);
    let total_middle: f64 = middle.iter().map(|(_, c)| c).sum();
    let middle_male = Weighted::new(
        middle
            .iter()
            .filter(|(t, _)| t != "Thị")
            .map(|(t, c)| (t.clone(), if t == "Văn" { total_middle * 0.6 } else { *c })),
    );
    let middle_female = Weighted::new(
        middle
            .iter()
            .filter(|(t, _)| t != "Văn")
            .map(|(t, c)| (t.clone(), if t == "Thị" { total_middle * 0.8 } else { *c })),
    );
    let boys: HashSet<String> = BOY.lines().map(clean).collect();
    let girls: HashSet<String> = GIRL.lines().map(clean).collect();
    let given = freq(GIVEN);
    let for_sex = |mine: &HashSet<String>, theirs: &HashSet<String>| {
        Weighted::new(
            given
                .iter()
                .filter(|(t, _)| mine.contains(t) || !theirs.contains(t))
                .map(|(t, c)| (t.clone(), *c)),
        )
    };
    Names {
        family: family.map(Weighted::new),
        middle_male,
        middle_female,
        given_male: for_sex(&boys, &girls),
        given_female: for_sex(&girls, &boys),
    }
}

pub fn names() -> &'static Names {
    static N: OnceLock<Names> = OnceLock::new();
    N.get_or_init(build)
}

impl Names {
    pub fn family(&self, region: usize, rng: &mut Rng) -> String {
        self.family[region.min(2)].sample(rng).clone()
    }

    /// One middle name, or two for some people ("Thị Ngọc", "Văn Minh").
    pub fn middle(&self, sex: Sex, rng: &mut Rng) -> String {
        let table = match sex {
            Sex::Male => &self.middle_male,
            Sex::Female => &self.middle_female,
        };
        let first = table.sample(rng).clone();
        if rng.chance(0.12) {
            let second = table.sample(rng);
            if *second != first && second != "Văn" && second != "Thị" {
                return format!("{first} {second}");
            }
        }
        first
    }

    pub fn given(&self, sex: Sex, rng: &mut Rng) -> String {
        match sex {
            Sex::Male => self.given_male.sample(rng).clone(),
            Sex::Female => self.given_female.sample(rng).clone(),
        }
    }

    /// A common full name: one of the region's five commonest family names, the commonest
    /// middle name of the sex, one of its twenty commonest given names (family, middle,
    /// given).
    pub fn common_name(&self, region: usize, sex: Sex, rng: &mut Rng) -> (String, String, String) {
        let family = self.family[region.min(2)].top(5);
        let (middle, given) = match sex {
            Sex::Male => ("Văn", self.given_male.top(20)),
            Sex::Female => ("Thị", self.given_female.top(20)),
        };
        (
            rng.pick(&family).to_string(),
            middle.to_string(),
            rng.pick(&given).to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nguyen_is_about_a_third_of_family_names() {
        let n = names();
        let mut rng = Rng::new(3, 0);
        let k = (0..20_000)
            .filter(|_| n.family(0, &mut rng) == "Nguyễn")
            .count();
        assert!((5_000..8_000).contains(&k), "{k}");
        assert!((0..1000).all(|_| !n.given(Sex::Male, &mut rng).contains('Ð')));
    }
}
