//! Property tests of the parsers and the name normaliser: no panic on any input, and the
//! invariants users rely on. Default 512 cases per property; for a long fuzzing run set
//! `PROPTEST_CASES`, e.g. `PROPTEST_CASES=2000000 cargo test --release --test properties`
//! (docs/reliability.md).

use lamsach::dates::{parse_date, DateParse};
use lamsach::ids::{classify_cmnd, classify_id, parse_sex, IdClass};
use lamsach::text::{canonical_name, decode_legacy, fold, is_canonical_name, name_key};
use proptest::prelude::*;

/// Strings that look like what registers hold: Vietnamese letters, digits, separators,
/// mojibake characters, combining marks, and anything else.
fn register_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[ a-zA-ZàáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵĐÐ'.-]{0,40}",
        2 => "[0-9 .+'E/-]{0,24}",
        2 => "[µ¸¶·¹¨©ª«¬®§¢£¤¥¦ÔÇÞÒÌìøùûõïâêôö a-zA-Z]{0,30}",
        1 => "[\\u{0300}-\\u{0323}a-z ]{0,20}",
        1 => any::<String>(),
    ]
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(512),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn id_and_cmnd_parsers_never_panic_and_keep_their_promises(s in register_text()) {
        let info = classify_id(&s);
        if info.class == IdClass::Valid {
            prop_assert_eq!(s.trim().len(), 12);
            prop_assert!(s.trim().bytes().all(|b| b.is_ascii_digit()));
        }
        if let Some(id) = info.personal_id() {
            prop_assert!(id < 1_000_000_000_000);
        }
        let _ = classify_cmnd(&s);
        let _ = parse_sex(&s);
    }

    #[test]
    fn date_parser_never_panics_and_valid_dates_exist(s in register_text()) {
        if let DateParse::Valid(d) = parse_date(&s) {
            prop_assert!(d.month <= 12);
            if d.month > 0 && d.day > 0 {
                prop_assert!(d.day <= lamsach::dates::days_in_month(d.year as i32, d.month));
            }
            prop_assert!(d.earliest() <= d.latest());
        }
    }

    #[test]
    fn any_real_date_round_trips(y in 1850u16..2100, m in 1u8..=12, d in 1u8..=28) {
        for s in [format!("{y:04}-{m:02}-{d:02}"), format!("{d:02}/{m:02}/{y:04}"), format!("{d}/{m}/{y}")] {
            prop_assert_eq!(parse_date(&s), DateParse::Valid(lamsach::dates::PDate::new(y, m, d)));
        }
    }

    #[test]
    fn canonical_form_is_idempotent_and_canonical(s in register_text()) {
        let c = canonical_name(&s);
        prop_assert_eq!(canonical_name(&c), c.clone());
        if !c.is_empty() && is_canonical_name(&s) {
            // A name already canonical is left as it is.
            prop_assert_eq!(&c, &s);
        }
    }

    #[test]
    fn folding_is_idempotent_and_bounded(s in register_text()) {
        let f = fold(&s);
        prop_assert_eq!(fold(&f), f.clone());
        // Folding never grows a name unboundedly: at most twice its bytes ("İ" → "i̇").
        prop_assert!(f.len() <= 2 * s.len());
        let k = name_key(&s);
        prop_assert_eq!(name_key(&k), k.clone());
        let _ = decode_legacy(&s);
    }
}
