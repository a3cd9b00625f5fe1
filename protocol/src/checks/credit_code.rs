//! Unified Social Credit Code check (GB 32100-2015, 18 characters).
//!
//! Layout: registration-authority code (1), organisation-category code (1),
//! administrative-division code of the registering authority (6 digits),
//! subject identifier / organisation code (9) and a check character.
//! Characters come from a 31-symbol alphabet without I, O, Z, S and V.

/// Code alphabet; a character's index is its value (0..=30).
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights `3^(i) mod 31` for positions 1..=17.
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
/// Registration-management authorities (first character): 1 机构编制,
/// 2 外交, 3 司法行政, 4 文化, 5 民政, 6 旅游, 7 宗教, 8 工会, 9 工商/市场监管,
/// A 中央军委改革和编制办公室, N 农业, Y 其他.
const AUTHORITIES: &[u8] = b"123456789ANY";

/// Result of [`check_credit_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCodeCheck {
    pub valid: bool,
    /// Why the code is invalid; `None` when valid.
    pub reason: Option<String>,
}

fn invalid(reason: &str) -> CreditCodeCheck {
    CreditCodeCheck { valid: false, reason: Some(reason.to_owned()) }
}

fn value(b: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == b).map(|i| i as u32)
}

/// Checks an 18-character Unified Social Credit Code.
///
/// Surrounding whitespace is trimmed and ASCII letters are upper-cased
/// first. The code must use only the GB 32100 alphabet, start with a known
/// registration-authority code (1–9, A, N or Y), have digits in positions
/// 3–8 and carry the right MOD 31 check character.
pub fn check_credit_code(code: &str) -> CreditCodeCheck {
    let code = code.trim();
    if code.is_empty() {
        return invalid("Credit code is empty.");
    }
    if code.chars().count() != 18 {
        return invalid("Credit code must have 18 characters.");
    }
    let upper: Vec<u8> = code.chars().map(|c| if c.is_ascii() { c.to_ascii_uppercase() as u8 } else { 0 }).collect();
    if upper.iter().any(|b| matches!(b, b'I' | b'O' | b'Z' | b'S' | b'V')) {
        return invalid("Credit code cannot contain the letters I, O, Z, S or V.");
    }
    let Some(values) = upper.iter().map(|&b| value(b)).collect::<Option<Vec<u32>>>() else {
        return invalid("Credit code may only contain digits and capital letters.");
    };
    if !AUTHORITIES.contains(&upper[0]) {
        return invalid("Credit code starts with an unknown registration authority code.");
    }
    if !upper[2..8].iter().all(u8::is_ascii_digit) {
        return invalid("Credit code characters 3 to 8 must be digits.");
    }
    let sum: u32 = values[..17].iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    let expected = (31 - sum % 31) % 31;
    if values[17] != expected {
        return invalid("Credit code check character is wrong; please re-check the code.");
    }
    CreditCodeCheck { valid: true, reason: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Check characters below were computed independently with a Python
    // GB 32100 function (not with this code).
    const VALID: [&str; 10] = [
        "91110000MA01ABCD1M",
        "91350100M000100Y43",
        "12100000400000624D",
        "51440300MJL1234568",
        "Y1310115MA1K4XYW7T",
        "N2330106MA2B3C4D5W",
        "92440300MA5F000017",
        "31110000E00012345E",
        "A1100000MA0000001F",
        "81320500MA1N2P3Q4Q",
    ];

    fn reason(code: &str) -> String {
        check_credit_code(code).reason.unwrap_or_default()
    }

    #[test]
    fn valid_codes() {
        for code in VALID {
            let r = check_credit_code(code);
            assert!(r.valid, "{code}: {r:?}");
            assert_eq!(r.reason, None);
        }
    }

    #[test]
    fn lower_case_and_whitespace_accepted() {
        assert!(check_credit_code("91110000ma01abcd1m").valid);
        assert!(check_credit_code("  91350100m000100y43\n").valid);
    }

    #[test]
    fn wrong_check_char() {
        for code in ["91110000MA01ABCD1N", "91350100M000100Y44", "12100000400000624C", "91350100M000100Y34"] {
            assert_eq!(reason(code), "Credit code check character is wrong; please re-check the code.", "{code}");
        }
    }

    #[test]
    fn forbidden_letters() {
        for code in [
            "91110000MA01ABCDIM",
            "91110000MAO1ABCD1M",
            "91110000MA01ZBCD1M",
            "91110000MA01SBCD1M",
            "91110000MA01VBCD1M",
        ] {
            assert_eq!(reason(code), "Credit code cannot contain the letters I, O, Z, S or V.", "{code}");
        }
        // Lower-case forbidden letters too.
        assert_eq!(reason("91110000ma01abcdim"), "Credit code cannot contain the letters I, O, Z, S or V.");
    }

    #[test]
    fn other_bad_characters() {
        for code in ["91110000MA01ABCD-M", "91110000MA01ABCD M", "91110000MA01ABCD1Ｍ", "91110000MA01ABCD1é"] {
            assert_eq!(reason(code), "Credit code may only contain digits and capital letters.", "{code}");
        }
    }

    #[test]
    fn wrong_length() {
        assert_eq!(reason(""), "Credit code is empty.");
        assert_eq!(reason("  "), "Credit code is empty.");
        assert_eq!(reason("91110000MA01ABCD1"), "Credit code must have 18 characters.");
        assert_eq!(reason("91110000MA01ABCD1M0"), "Credit code must have 18 characters.");
        assert_eq!(reason("911100007"), "Credit code must have 18 characters.");
    }

    #[test]
    fn unknown_authority_and_region() {
        // Same body with a 0 / B first character: correct MOD 31 arithmetic is
        // irrelevant because the structure check comes first.
        assert_eq!(reason("01110000MA01ABCD1M"), "Credit code starts with an unknown registration authority code.");
        assert_eq!(reason("B1110000MA01ABCD1M"), "Credit code starts with an unknown registration authority code.");
        assert_eq!(reason("911A0000MA01ABCD1M"), "Credit code characters 3 to 8 must be digits.");
        assert_eq!(reason("9111000KMA01ABCD1M"), "Credit code characters 3 to 8 must be digits.");
    }

    #[test]
    fn reasons_never_echo_the_code() {
        for code in ["91110000MA01ABCD1N", "91110000MA01ABCDIM", "01110000MA01ABCD1M"] {
            assert!(!reason(code).contains("MA01"));
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_any_string(input in any::<String>()) {
            let r = check_credit_code(&input);
            prop_assert_eq!(r.valid, r.reason.is_none());
        }

        #[test]
        fn never_panics_on_code_like_strings(input in "[0-9A-Za-z ]{0,20}") {
            let r = check_credit_code(&input);
            prop_assert_eq!(r.valid, r.reason.is_none());
        }

        #[test]
        fn single_char_change_is_detected(idx in 0usize..10, pos in 0usize..18, delta in 1usize..31) {
            let mut code = VALID[idx].as_bytes().to_vec();
            let old = ALPHABET.iter().position(|&a| a == code[pos]).unwrap();
            code[pos] = ALPHABET[(old + delta) % 31];
            let s = String::from_utf8(code).unwrap();
            prop_assert!(!check_credit_code(&s).valid, "{}", s);
        }
    }
}
