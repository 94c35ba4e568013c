//! Vietnamese text: folding (no diacritics, lower case), canonical names (NFC, single spaces,
//! title case, "Đ" not "Ð"), tone-mark placement, and decoding of legacy TCVN3 / VNI /
//! Windows-1258 text that was read as Windows-1252 ("NguyÔn V¨n" → "Nguyễn Văn").
//!
//! Everything here is pure and used wherever names are compared: rules, matching, headers.

use std::collections::HashMap;
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

const LEGACY_TSV: &str =
    include_str!("../reference/encodings/vn_legacy_charsets_unicode_vni_tcvn3_viqr.tsv");
const CP1258_TSV: &str = include_str!("../reference/encodings/cp1258_to_unicode.tsv");

/// Start and end of the dense fold table (Latin-1 Supplement to Latin Extended Additional).
const FOLD_LO: u32 = 0x00C0;
const FOLD_HI: u32 = 0x1EFF;

struct Tables {
    /// char - FOLD_LO → folded ASCII letter (0 = not a Vietnamese letter).
    fold: Vec<u8>,
    tcvn3: HashMap<String, char>,
    vni: HashMap<String, char>,
    cp1258: HashMap<char, char>,
    /// Per code point below U+1F00: LETTER | SUSPICIOUS | COMBINING bits.
    class: Vec<u8>,
}

const LETTER: u8 = 1;
const SUSPICIOUS: u8 = 2;
const COMBINING: u8 = 4;
const UPPER: u8 = 8;
const LOWER: u8 = 16;
/// Second characters of a VNI pair after "a" or "e" (see [`looks_legacy`]).
const VNI_AE: u8 = 32;
const VNI_AE_MARKS: &str = "âêáàåãäéèúüëÂÊÁÀÅÃÄÉÈÚÜË";
const CLASS_END: u32 = 0x1F00;

impl Tables {
    #[inline]
    fn class(&self, c: char) -> u8 {
        self.class.get(c as usize).copied().unwrap_or(0)
    }
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(build_tables)
}

fn parse_mojibake_key(field: &str) -> Option<String> {
    if field.is_empty() {
        return None;
    }
    if field.starts_with("<U+00AD") {
        return Some("\u{00AD}".to_string());
    }
    Some(field.to_string())
}

fn build_tables() -> Tables {
    let mut fold = vec![0u8; (FOLD_HI - FOLD_LO + 1) as usize];
    let mut letters = Vec::new();
    let mut tcvn3 = HashMap::new();
    let mut vni = HashMap::new();
    for line in LEGACY_TSV.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 6 {
            continue;
        }
        let Some(ch) = cols[0].chars().next() else {
            continue;
        };
        letters.push(ch);
        if let Some(k) = parse_mojibake_key(cols[2]) {
            vni.entry(k).or_insert(ch);
        }
        if let Some(k) = parse_mojibake_key(cols[4]) {
            tcvn3.entry(k).or_insert(ch);
        }
    }
    for &ch in &letters {
        let base = ch.to_string().nfd().next().unwrap_or(ch);
        let base = if ch == 'Đ' || ch == 'đ' { 'd' } else { base };
        let b = base.to_ascii_lowercase();
        if b.is_ascii_alphabetic() && (ch as u32) >= FOLD_LO && (ch as u32) <= FOLD_HI {
            fold[(ch as u32 - FOLD_LO) as usize] = b as u8;
        }
    }
    // The eth look-alikes that real files carry instead of Đ/đ.
    for ch in ['Ð', 'ð'] {
        fold[(ch as u32 - FOLD_LO) as usize] = b'd';
        letters.push(ch);
    }
    letters.sort_unstable();
    letters.dedup();

    let mut cp1258 = HashMap::new();
    for line in CP1258_TSV.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 2 || cols[1].is_empty() {
            continue;
        }
        let Ok(byte) = u8::from_str_radix(cols[0], 16) else {
            continue;
        };
        let Some(cp) = cols[1]
            .strip_prefix("U+")
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32)
        else {
            continue;
        };
        // The byte as Windows-1252 would show it; only the Latin-1 range is unambiguous.
        if byte >= 0xA0 {
            let shown = char::from(byte);
            if shown != cp {
                cp1258.insert(shown, cp);
            }
        }
    }

    let is_letter = |c: char| c.is_ascii_alphabetic() || letters.binary_search(&c).is_ok();
    let mut suspicious: Vec<char> = tcvn3
        .keys()
        .chain(vni.keys())
        .flat_map(|k| k.chars())
        .chain(cp1258.keys().copied())
        .filter(|c| !is_letter(*c) && !c.is_ascii())
        .collect();
    suspicious.sort_unstable();
    suspicious.dedup();
    let mut class = vec![0u8; CLASS_END as usize];
    for c in 'a'..='z' {
        class[c as usize] |= LETTER;
        class[c.to_ascii_uppercase() as usize] |= LETTER;
    }
    for &c in &letters {
        if (c as u32) < CLASS_END {
            class[c as usize] |= LETTER;
        }
    }
    for &c in &suspicious {
        if (c as u32) < CLASS_END {
            class[c as usize] |= SUSPICIOUS;
        }
    }
    for c in &mut class[0x80..0xA0] {
        *c |= SUSPICIOUS;
    }
    for c in &mut class[0x300..0x370] {
        *c |= COMBINING;
    }
    for cp in 0..CLASS_END {
        if let Some(c) = char::from_u32(cp) {
            if c.is_uppercase() {
                class[cp as usize] |= UPPER;
            }
            if c.is_lowercase() {
                class[cp as usize] |= LOWER;
            }
        }
    }
    for c in VNI_AE_MARKS.chars() {
        class[c as usize] |= VNI_AE;
    }

    Tables {
        fold,
        tcvn3,
        vni,
        cp1258,
        class,
    }
}

/// Is `c` a letter of the Vietnamese alphabet (ASCII or precomposed)?
pub fn is_vietnamese_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || tables().class(c) & LETTER != 0
}

fn is_combining_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// Append the folded form of `s` (lower case, no diacritics, đ → d, single spaces, trimmed)
/// to `out`. Legacy mojibake is not decoded here: call [`name_key`] for names.
pub fn fold_into(s: &str, out: &mut String) {
    let t = tables();
    let mut pending_space = false;
    let start = out.len();
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = out.len() > start;
            continue;
        }
        if is_combining_mark(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        let cp = c as u32;
        if (FOLD_LO..=FOLD_HI).contains(&cp) {
            let f = t.fold[(cp - FOLD_LO) as usize];
            if f != 0 {
                out.push(f as char);
                continue;
            }
        }
        out.extend(c.to_lowercase().filter(|l| !is_combining_mark(*l)));
    }
}

/// The folded characters of `s` (see [`fold_into`]), lazily, without allocation.
pub fn folded_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    let t = tables();
    let trimmed = s.trim();
    let mut prev_space = false;
    trimmed.chars().filter_map(move |c| {
        if c.is_whitespace() {
            if prev_space {
                return None;
            }
            prev_space = true;
            return Some(' ');
        }
        prev_space = false;
        if is_combining_mark(c) {
            return None;
        }
        if c.is_ascii() {
            return Some(c.to_ascii_lowercase());
        }
        let cp = c as u32;
        if (FOLD_LO..=FOLD_HI).contains(&cp) {
            let f = t.fold[(cp - FOLD_LO) as usize];
            if f != 0 {
                return Some(f as char);
            }
        }
        Some(c.to_lowercase().next().unwrap_or(c))
    })
}

/// Do two texts fold to the same thing? No allocation (legacy text is not decoded).
pub fn fold_eq(a: &str, b: &str) -> bool {
    a == b || folded_chars(a).eq(folded_chars(b))
}

/// Does `s` fold (see [`fold_into`]) to `target`, which is folded ASCII? No allocation.
pub fn folded_eq(s: &str, target: &str) -> bool {
    let t = tables();
    let mut want = target.bytes();
    let mut pending_space = false;
    let mut started = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = started;
            continue;
        }
        if is_combining_mark(c) {
            continue;
        }
        if pending_space {
            if want.next() != Some(b' ') {
                return false;
            }
            pending_space = false;
        }
        started = true;
        let f = if c.is_ascii() {
            c.to_ascii_lowercase() as u8
        } else {
            let cp = c as u32;
            if !(FOLD_LO..=FOLD_HI).contains(&cp) {
                return false;
            }
            match t.fold[(cp - FOLD_LO) as usize] {
                0 => return false,
                f => f,
            }
        };
        if want.next() != Some(f) {
            return false;
        }
    }
    want.next().is_none()
}

/// Folded form of `s`: see [`fold_into`].
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// Does the text carry legacy-encoding mojibake (TCVN3, VNI or Windows-1258 read as 1252)?
pub fn looks_legacy(s: &str) -> bool {
    let t = tables();
    let mut prev_lower = false;
    let mut prev = ' ';
    for c in s.chars() {
        // VNI spells a toned vowel as the base letter and a mark: "aê" (ă), "eã" (ễ), "oâ"
        // (ô). Vietnamese never writes a or e before another a- or e-vowel, nor o before â.
        let vni_pair = match prev {
            'a' | 'e' | 'A' | 'E' => t.class(c) & VNI_AE != 0,
            'o' | 'O' => c == 'â' || c == 'Â',
            _ => false,
        };
        if vni_pair {
            return true;
        }
        prev = c;
        if c.is_ascii() {
            prev_lower = c.is_ascii_lowercase();
            continue;
        }
        if t.class(c) & SUSPICIOUS != 0 {
            return true;
        }
        // "NguyÔn", "TrÇn": a non-ASCII capital inside a lower-case word.
        if prev_lower && c.is_uppercase() {
            return true;
        }
        prev_lower = c.is_lowercase();
    }
    false
}

fn decode_pairs(s: &str, map: &HashMap<String, char>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut key = String::new();
    while i < chars.len() {
        if i + 1 < chars.len() {
            key.clear();
            key.push(chars[i]);
            key.push(chars[i + 1]);
            if let Some(&c) = map.get(&key) {
                out.push(c);
                i += 2;
                continue;
            }
        }
        key.clear();
        key.push(chars[i]);
        match map.get(&key) {
            Some(&c) if !chars[i].is_ascii() => out.push(c),
            _ => out.push(chars[i]),
        }
        i += 1;
    }
    out
}

fn plausible_vietnamese(s: &str) -> bool {
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_whitespace() || matches!(c, '-' | '\'' | '.' | ',') {
            prev_lower = false;
            continue;
        }
        if !is_vietnamese_letter(c) || c == 'Ð' || c == 'ð' {
            return false;
        }
        if prev_lower && c.is_uppercase() && !c.is_ascii() {
            return false;
        }
        prev_lower = c.is_lowercase();
    }
    true
}

/// Is every word a Vietnamese syllable: an initial consonant (or none), one to three vowels,
/// and a final consonant (or none)? "Nguyễn" is; "Mỹller", "Franỗois", "Ẹỳủez" — what a
/// foreign name becomes when read as legacy text — are not.
fn vietnamese_syllables(s: &str) -> bool {
    name_words(s).all(vietnamese_syllable)
}

/// The words of a name, split at spaces, apostrophes, hyphens and dots.
fn name_words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c.is_whitespace() || matches!(c, '-' | '\'' | '.' | ','))
        .filter(|w| !w.is_empty())
}

/// One word as a Vietnamese syllable: an initial consonant (or none), one to three vowels, a
/// final consonant (or none).
fn vietnamese_syllable(w: &str) -> bool {
    const INITIALS: &[&str] = &[
        "ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr", "b", "c", "d", "g", "h",
        "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "",
    ];
    const FINALS: &[&str] = &["ng", "nh", "ch", "c", "m", "n", "p", "t", ""];
    let is_vowel = |c: char| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y');
    let f = fold(&w.to_lowercase());
    INITIALS.iter().any(|i| {
        let Some(rest) = f.strip_prefix(i) else {
            return false;
        };
        let vowels = rest.chars().take_while(|&c| is_vowel(c)).count();
        (1..=3).contains(&vowels)
            && NUCLEI.contains(&&rest[..vowels])
            && FINALS.contains(&&rest[vowels..])
    })
}

/// A word with Vietnamese diacritics that no spelling makes: two tone marks, a doubled final
/// consonant ("Trầnn"), a doubled vowel other than oo, uu ("Thịi"). No allocation.
fn misspelt_word(w: &str) -> bool {
    let several = w.chars().filter(|c| !c.is_ascii()).nth(1).is_some();
    let tones: usize = w
        .chars()
        .filter(|_| several)
        .filter(|c| !c.is_ascii())
        .map(|c| {
            std::iter::once(c)
                .nfd()
                .filter(|m| TONE_MARKS.contains(m))
                .count()
        })
        .sum();
    if tones > 1 {
        return true;
    }
    let (mut prev, mut last, mut n) = (' ', ' ', 0usize);
    for c in folded_chars(w) {
        if c == last && matches!(c, 'a' | 'e' | 'i' | 'y') {
            return true;
        }
        prev = last;
        last = c;
        n += 1;
    }
    n >= 3 && prev == last && matches!(last, 'n' | 't' | 'm' | 'c' | 'p' | 'h' | 'g')
}

/// The vowel groups of Vietnamese syllables, without marks (ươu → uou, uyê → uye).
const NUCLEI: &[&str] = &[
    "a", "e", "i", "o", "u", "y", "ai", "ao", "au", "ay", "eo", "eu", "ia", "ie", "iu", "oa", "oe",
    "oi", "oo", "ua", "ue", "ui", "uo", "uu", "uy", "ye", "ieu", "oai", "oao", "oay", "oeo", "uay",
    "uoi", "uou", "uya", "uye", "uyu", "yeu",
];

/// Why a name holds characters a name cannot (for `name.invalid_chars`), or None: digits,
/// `?`, U+FFFD, control or invisible characters, or — when the name is written with
/// Vietnamese diacritics and is not legacy mojibake — a syllable Vietnamese cannot spell.
pub fn invalid_name_chars(s: &str) -> Option<&'static str> {
    // Legacy-encoded text is `name.unnormalized`'s, with its decoded suggestion.
    let legacy = || looks_legacy(s) && decode_legacy(s).is_some();
    let mut non_ascii = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            return (!legacy()).then_some("có chữ số");
        }
        if c == '?' || c == '\u{FFFD}' {
            return (!legacy()).then_some("có ký tự lỗi phông (? hoặc �)");
        }
        if c.is_control() || is_invisible(c) {
            return (!legacy()).then_some("có ký tự điều khiển hoặc ký tự ẩn");
        }
        non_ascii |= !c.is_ascii();
    }
    if !non_ascii {
        return None;
    }
    // Only words written with Vietnamese diacritics are judged, and only for what no spelling
    // makes: two tone marks in one word, a doubled final consonant, a doubled vowel other than
    // "oo" and "uu". Ethnic-minority names ("Ksor", "Byă", "H'Hen") and foreign ones spell
    // syllables Vietnamese does not, and are not errors.
    if name_words(s)
        .any(|w| w.chars().any(|c| !c.is_ascii() && is_vietnamese_letter(c)) && misspelt_word(w))
        && !legacy()
    {
        return Some("có âm tiết không đúng chính tả tiếng Việt");
    }
    None
}

/// Decode legacy mojibake. Returns the decoded text (NFC) only when `s` looks legacy and one
/// of TCVN3, VNI or Windows-1258 turns it into Vietnamese syllables (a foreign name with
/// letters such as ü, ç or ñ is valid Latin text, and is left as it is).
pub fn decode_legacy(s: &str) -> Option<String> {
    if !looks_legacy(s) {
        return None;
    }
    let t = tables();
    let candidates = [
        decode_pairs(s, &t.tcvn3),
        decode_pairs(s, &t.vni),
        s.chars()
            .map(|c| t.cp1258.get(&c).copied().unwrap_or(c))
            .collect::<String>(),
    ];
    // VNI spends two characters on a toned vowel where TCVN3 spends one: when both readings
    // are plausible, the one that consumed more mojibake (the shorter text) is right.
    candidates
        .into_iter()
        .map(|c| c.nfc().collect::<String>())
        .filter(|c| c != s && plausible_vietnamese(c) && vietnamese_syllables(c))
        .min_by_key(|c| c.chars().count())
}

/// Is `s` a name in canonical form: NFC, trimmed, one space between syllables, each syllable
/// capitalised (first letter upper, the rest lower), "Đ" rather than "Ð", no legacy mojibake?
/// One pass over the characters, no allocation.
pub fn is_canonical_name(s: &str) -> bool {
    if s.is_empty() || s.starts_with(' ') || s.ends_with(' ') {
        return false;
    }
    let t = tables();
    let mut at_start = true;
    let mut prev_space = false;
    let mut prev = ' ';
    for c in s.chars() {
        let (cl, upper, lower) = if c.is_ascii() {
            (LETTER, c.is_ascii_uppercase(), c.is_ascii_lowercase())
        } else if (c as u32) < CLASS_END && t.class[c as usize] & LETTER != 0 {
            let cl = t.class[c as usize];
            (cl, cl & UPPER != 0, cl & LOWER != 0)
        } else {
            // Outside the Vietnamese alphabet (rare): the full NFC check.
            if s.nfc().ne(s.chars()) {
                return false;
            }
            let cl = if (c as u32) < CLASS_END {
                t.class[c as usize]
            } else {
                0
            };
            // Canonical means what canonical_name would write: upper case at a syllable's
            // start, lower case elsewhere (title-case letters like "ῼ" are neither).
            let starts = at_start && !c.is_whitespace() && c != '\'' && c != '-';
            let unchanged = if starts {
                c.to_uppercase().eq(std::iter::once(c))
            } else {
                c.to_lowercase().eq(std::iter::once(c))
            };
            if !unchanged && !c.is_whitespace() {
                return false;
            }
            (cl, false, false)
        };
        // Mojibake characters, combining marks (NFD), VNI pairs, the eth look-alike of Đ.
        if cl & (SUSPICIOUS | COMBINING) != 0 || c == 'Ð' || c == 'ð' {
            return false;
        }
        match prev {
            'a' | 'e' | 'A' | 'E' if cl & VNI_AE != 0 => return false,
            'o' | 'O' if c == 'â' || c == 'Â' => return false,
            _ => {}
        }
        prev = c;
        if c.is_whitespace() {
            if c != ' ' || prev_space {
                return false;
            }
            prev_space = true;
            at_start = true;
            continue;
        }
        prev_space = false;
        if c == '\'' || c == '-' {
            at_start = true;
            continue;
        }
        if at_start {
            if lower {
                return false;
            }
            at_start = false;
        } else if upper {
            return false;
        }
    }
    true
}

/// Apply a normalisation until it no longer changes the text (legacy decoding can expose
/// another layer, and case changes what looks legacy), so normalising is idempotent.
fn fixpoint(s: &str, once: fn(&str) -> String) -> String {
    let mut cur = once(s);
    for _ in 0..4 {
        let next = once(&cur);
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

/// The canonical form of a name (see [`is_canonical_name`]), decoding legacy text first.
pub fn canonical_name(s: &str) -> String {
    fixpoint(s, canonical_once)
}

/// Characters that show as nothing (zero-width spaces and joiners, a stray byte-order mark).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

fn canonical_once(s: &str) -> String {
    let visible: String;
    let s = if s.chars().any(is_invisible) {
        visible = s.chars().filter(|&c| !is_invisible(c)).collect();
        visible.as_str()
    } else {
        s
    };
    let decoded = decode_legacy(s);
    let src = decoded.as_deref().unwrap_or(s);
    let nfc: String = src
        .chars()
        .map(|c| match c {
            'Ð' => 'Đ',
            'ð' => 'đ',
            c => c,
        })
        .nfc()
        .collect();
    let mut out = String::with_capacity(nfc.len());
    for word in nfc.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        let mut at_start = true;
        for c in word.chars() {
            if c == '\'' || c == '-' {
                out.push(c);
                at_start = true;
                continue;
            }
            if at_start {
                out.extend(c.to_uppercase());
                at_start = false;
            } else {
                out.extend(c.to_lowercase());
            }
        }
    }
    out
}

const TONE_MARKS: [char; 5] = ['\u{0300}', '\u{0301}', '\u{0303}', '\u{0309}', '\u{0323}'];

/// Move the tone mark of one lower-case NFD syllable to the traditional position used in
/// civil registers ("hoà" → "hòa", "thuỷ" → "thủy"): on the first vowel of an open "oa",
/// "oe" or "uy" syllable (no final consonant, not after "qu").
fn place_tone(syllable_nfd: &str, out: &mut String) {
    let Some(tone) = syllable_nfd.chars().find(|c| TONE_MARKS.contains(c)) else {
        out.push_str(syllable_nfd);
        return;
    };
    // Units: a base letter followed by its non-tone marks (circumflex, breve, horn).
    let mut units: Vec<(char, String)> = Vec::new();
    for c in syllable_nfd.chars().filter(|c| !TONE_MARKS.contains(c)) {
        match units.last_mut() {
            Some(last) if is_combining_mark(c) => last.1.push(c),
            _ => units.push((c, String::new())),
        }
    }
    let n = units.len();
    let plain_pair = n >= 2
        && units[n - 2].1.is_empty()
        && units[n - 1].1.is_empty()
        && matches!(
            (units[n - 2].0, units[n - 1].0),
            ('o', 'a') | ('o', 'e') | ('u', 'y')
        );
    let after_qu = n >= 3 && units[n - 3].0 == 'q' && units[n - 2].0 == 'u';
    if !plain_pair || after_qu {
        out.push_str(syllable_nfd);
        return;
    }
    let target = n - 2;
    for (i, (base, marks)) in units.iter().enumerate() {
        out.push(*base);
        out.push_str(marks);
        if i == target {
            out.push(tone);
        }
    }
}

/// Comparison key of a name that keeps diacritics: legacy decoded, NFC, lower case, single
/// spaces, "Ð" → "đ", one tone-mark placement. Two spellings of one name give one key.
pub fn name_key(s: &str) -> String {
    fixpoint(s, name_key_once)
}

fn name_key_once(s: &str) -> String {
    let decoded = decode_legacy(s);
    let src = decoded.as_deref().unwrap_or(s);
    let mut nfd = String::with_capacity(src.len() + 8);
    for word in src.split_whitespace() {
        let w: String = word
            .chars()
            .map(|c| match c {
                'Ð' | 'Đ' | 'ð' => 'đ',
                c => c,
            })
            .flat_map(|c| c.to_lowercase())
            .nfd()
            .collect();
        if !nfd.is_empty() {
            nfd.push(' ');
        }
        place_tone(&w, &mut nfd);
    }
    nfd.nfc().collect()
}

/// Folded comparison key of a name: like [`fold`] but with legacy text decoded first.
pub fn name_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    name_fold_into(s, &mut out);
    out
}

/// Append [`name_fold`] of `s` to `out` (for loops that reuse one buffer).
pub fn name_fold_into(s: &str, out: &mut String) {
    match decode_legacy(s) {
        Some(d) => fold_into(&d, out),
        None => fold_into(s, out),
    }
}

/// A name split into family name (first syllable), middle names and given name (last
/// syllable), by Unicode word boundaries (UAX #29: "H'Hen" is one syllable, a hyphen
/// separates two). Works on any form (canonical, folded, key).
pub fn split_name(s: &str) -> (&str, &str, &str) {
    let s = s.trim();
    // Letters and spaces only (nearly every name, and every folded one): the words are the
    // runs between spaces, as UAX #29 would find them, without its tables (this runs for
    // every record and every compared pair).
    if s.chars().all(|c| is_letter(c) || c == ' ') {
        let Some(first_end) = s.find(' ') else {
            return ("", "", s);
        };
        let last_start = s.rfind(' ').map_or(0, |i| i + 1);
        return (
            &s[..first_end],
            s[first_end..last_start].trim_matches(' '),
            &s[last_start..],
        );
    }
    split_name_by_words(s)
}

/// `c.is_alphabetic()`, read from a table for the code points below U+2000 (every Vietnamese
/// letter, precomposed, is among them): the standard library searches its tables for each
/// letter outside ASCII, 3 % of `dedup`'s instructions (`split_name` runs for every record
/// and compared pair).
fn is_letter(c: char) -> bool {
    const TABLED: u32 = 0x2000;
    static TABLE: std::sync::OnceLock<[u64; TABLED as usize / 64]> = std::sync::OnceLock::new();
    let u = c as u32;
    if u < 0x80 {
        c.is_ascii_alphabetic()
    } else if u < TABLED {
        let table = TABLE.get_or_init(|| {
            let mut t = [0u64; TABLED as usize / 64];
            for (u, c) in (0..TABLED).filter_map(|u| Some((u, char::from_u32(u)?))) {
                if c.is_alphabetic() {
                    t[u as usize / 64] |= 1 << (u % 64);
                }
            }
            t
        });
        table[u as usize / 64] >> (u % 64) & 1 == 1
    } else {
        c.is_alphabetic()
    }
}

/// [`split_name`] by Unicode word boundaries, for names with other characters.
fn split_name_by_words(s: &str) -> (&str, &str, &str) {
    use unicode_segmentation::UnicodeSegmentation;
    let mut words = s.unicode_word_indices();
    let Some((first_at, first)) = words.next() else {
        return ("", "", "");
    };
    let Some((last_at, last)) = words.next_back() else {
        return ("", "", first);
    };
    let family = &s[first_at..first_at + first.len()];
    let middle =
        s[first_at + first.len()..last_at].trim_matches(|c: char| c.is_whitespace() || c == '-');
    (family, middle, &s[last_at..last_at + last.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_letter_table_agrees_with_the_standard_library() {
        for c in (0..0x3000)
            .filter_map(char::from_u32)
            .chain(['ễ', 'Đ', 'ư', '\u{0300}', '×', '中'])
        {
            assert_eq!(is_letter(c), c.is_alphabetic(), "U+{:04X}", c as u32);
        }
        assert!(is_letter('ỹ') && is_letter('Ơ') && !is_letter('\u{0301}') && !is_letter('÷'));
    }

    /// The fast split of letters and spaces finds the words Unicode word boundaries find.
    #[test]
    fn split_name_fast_path_agrees_with_word_boundaries() {
        let nfd: String = "Lê Hoàng Yến".nfd().collect();
        for name in [
            "Nguyễn Văn An",
            "nguyen van an",
            "An",
            "Trần  Thị   Bích Ngọc",
            "Ksor H'Bơ",
            "H'Hen Niê",
            "Nguyễn-Văn An",
            "Lê Văn 2",
            "Đỗ",
            "Y Bih Byă",
            nfd.as_str(),
            "",
        ] {
            let t = name.trim();
            let slow = split_name_by_words(t);
            assert_eq!(split_name(name), slow, "{name}");
        }
    }

    #[test]
    fn folding_removes_diacritics_and_case() {
        assert_eq!(fold("Nguyễn Thị  Ánh  Đào"), "nguyen thi anh dao");
        assert_eq!(fold("ÐỖ VĂN HÙNG"), "do van hung");
        // NFD input folds the same as NFC input.
        let nfd: String = "Lê Hoàng Yến".nfd().collect();
        assert_eq!(fold(&nfd), "le hoang yen");
    }

    #[test]
    fn canonical_names() {
        assert!(is_canonical_name("Nguyễn Văn An"));
        assert!(is_canonical_name("Nguyen Van An"));
        assert!(!is_canonical_name("NGUYỄN VĂN AN"));
        assert!(!is_canonical_name("nguyễn văn an"));
        assert!(!is_canonical_name("Nguyễn  Văn An"));
        assert!(!is_canonical_name(" Nguyễn Văn An"));
        assert!(!is_canonical_name("Ðỗ Văn Hùng"));
        let nfd: String = "Trần Thị Hương".nfd().collect();
        assert!(!is_canonical_name(&nfd));
        assert_eq!(canonical_name(&nfd), "Trần Thị Hương");
        assert_eq!(canonical_name("  ÐỖ  văn HÙNG "), "Đỗ Văn Hùng");
        assert_eq!(canonical_name("H'hen niê"), "H'Hen Niê");
    }

    #[test]
    fn legacy_tcvn3_and_vni_are_decoded() {
        // TCVN3 bytes shown as Windows-1252.
        assert_eq!(
            decode_legacy("NguyÔn V¨n H¶i").as_deref(),
            Some("Nguyễn Văn Hải")
        );
        assert_eq!(
            decode_legacy("TrÇn ThÞ Hoµng").as_deref(),
            Some("Trần Thị Hoàng")
        );
        assert_eq!(canonical_name("§inh ThÞ Th¶o"), "Đinh Thị Thảo");
        // VNI-Windows shown as Windows-1252.
        assert_eq!(
            decode_legacy("Nguyeãn Vaên Haûi").as_deref(),
            Some("Nguyễn Văn Hải")
        );
        assert_eq!(decode_legacy("Vieät").as_deref(), Some("Việt"));
        assert_eq!(decode_legacy("Cöôøng").as_deref(), Some("Cường"));
        // Proper Unicode is left alone.
        assert_eq!(decode_legacy("Nguyễn Văn Hải"), None);
        assert_eq!(decode_legacy("Ông Ích Khiêm"), None);
        assert!(!is_canonical_name("NguyÔn V¨n H¶i"));
    }

    /// Foreign names are valid Latin text, not legacy mojibake: never "repaired".
    #[test]
    fn foreign_names_are_not_decoded_as_legacy_text() {
        for name in [
            "Müller",
            "François",
            "Ñúñez",
            "Jürgen Weiß",
            "Zoë Brontë",
            "José Muñoz",
        ] {
            assert_eq!(decode_legacy(name), None, "{name}");
            assert_eq!(canonical_name(name), name, "{name}");
        }
        assert_eq!(canonical_name("Hans Müller"), "Hans Müller");
    }

    #[test]
    fn invalid_name_characters() {
        for bad in [
            "Nguyễn Văn An2",
            "Nguy?n V?n An",
            "Trần Thị \u{FFFD}nh",
            "Lê\u{200B} Văn Tám",
            "Trầnn Văn Bình",
            "Nguyễn Thịi Lan",
        ] {
            assert!(invalid_name_chars(bad).is_some(), "{bad}");
        }
        for good in [
            "Nguyễn Văn An",
            "H'Hen Niê",
            "Ksor H'Bơ",
            "Rmah Hmok",
            "Hans Müller",
            "Nguyễn Thị Thu-Hà",
            "Y Bih Byă",
            "Nguyen Van An",
            "Đặng Thị Ngọc Quỳnh",
            "Lò Văn Khoa",
            "Giàng A Páo",
        ] {
            assert_eq!(invalid_name_chars(good), None, "{good}");
        }
    }

    /// A zero-width space or a stray byte-order mark before a name does not lower-case it.
    #[test]
    fn invisible_characters_are_removed() {
        assert_eq!(canonical_name("\u{200B}Nguyễn Văn An"), "Nguyễn Văn An");
        assert_eq!(canonical_name("Nguyễn\u{FEFF} Văn An"), "Nguyễn Văn An");
        assert!(!is_canonical_name("\u{200B}Nguyễn Văn An"));
    }

    #[test]
    fn windows_1258_is_decoded() {
        // "Nguyễn" in Windows-1258 is "Nguyê" + combining tilde (0xDE, shown as Þ) + "n".
        assert_eq!(decode_legacy("NguyêÞn").as_deref(), Some("Nguyễn"));
    }

    #[test]
    fn name_key_ignores_tone_placement_and_form() {
        assert_eq!(name_key("Nguyễn Thị Hoà"), name_key("NGUYỄN THỊ HÒA"));
        assert_eq!(name_key("Lê Thuỷ"), name_key("lê thủy"));
        assert_eq!(name_key("Ðặng  Quý"), name_key("Đặng Quý"));
        assert_ne!(name_key("Lê Thủy"), name_key("Lê Thúy"));
        let nfd: String = "Phạm Hoà".nfd().collect();
        assert_eq!(name_key(&nfd), name_key("Phạm Hòa"));
        assert_eq!(name_key("Hoàng Văn Toàn"), "hoàng văn toàn");
    }

    #[test]
    fn names_split_into_family_middle_given() {
        assert_eq!(
            split_name("Nguyễn Thị Minh Khai"),
            ("Nguyễn", "Thị Minh", "Khai")
        );
        assert_eq!(split_name("Lê Lợi"), ("Lê", "", "Lợi"));
        assert_eq!(split_name("Lợi"), ("", "", "Lợi"));
        assert_eq!(split_name(" Ksor  H'Hen Niê "), ("Ksor", "H'Hen", "Niê"));
        assert_eq!(split_name("Nguyễn-Văn An"), ("Nguyễn", "Văn", "An"));
    }
}
