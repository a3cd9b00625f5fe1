//! Resident identity card number check (GB 11643-1999, 18 characters).
//!
//! Layout: 6-digit region code, 8-digit birth date `YYYYMMDD`, 3-digit
//! sequence number (odd for men, even for women) and one check character
//! computed with ISO 7064 MOD 11-2.

use std::time::{SystemTime, UNIX_EPOCH};

/// MOD 11-2 weights for the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character indexed by `sum mod 11`.
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// Seconds east of UTC for China Standard Time (UTC+8).
const CHINA_OFFSET_SECS: i64 = 8 * 3600;

/// Sex recorded in the ID number (17th digit: odd = male, even = female).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Female,
    Male,
}

/// Result of [`check_resident_id`] / [`check_resident_id_on`].
///
/// `birth_date`, `region_code` and `gender` are filled only when the number
/// is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentIdCheck {
    pub valid: bool,
    /// Birth date as `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// The first 6 digits (administrative division of first registration).
    pub region_code: Option<String>,
    pub gender: Option<Gender>,
    /// Why the number is invalid; `None` when valid.
    pub reason: Option<String>,
}

fn invalid(reason: &str) -> ResidentIdCheck {
    ResidentIdCheck { valid: false, birth_date: None, region_code: None, gender: None, reason: Some(reason.to_owned()) }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Value of a run of ASCII digits (callers guarantee digits, at most 4).
fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |acc, &b| acc * 10 + u32::from(b - b'0'))
}

/// Civil date (proleptic Gregorian) of a day count since 1970-01-01.
/// Howard Hinnant's `civil_from_days` algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // `day` and `month` are in range by construction.
    (year, month as u32, day as u32)
}

/// Today's date in China (UTC+8) from the system clock. A clock set before
/// 1970 is treated as 1970-01-01.
fn china_today() -> (i32, u8, u8) {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let (y, m, d) = civil_from_days((secs + CHINA_OFFSET_SECS).div_euclid(86_400));
    (i32::try_from(y).unwrap_or(i32::MAX), m as u8, d as u8)
}

/// Checks an 18-character resident ID number, judging "future" birth dates
/// against today's date in China (UTC+8) from the system clock.
///
/// See [`check_resident_id_on`].
pub fn check_resident_id(id: &str) -> ResidentIdCheck {
    check_resident_id_on(id, china_today())
}

/// Checks an 18-character resident ID number against a given `today`
/// (`(year, month, day)`).
///
/// Surrounding whitespace is trimmed and a lower-case `x` check character is
/// accepted as `X`. The number must be 17 ASCII digits plus a digit or `X`,
/// start with a known provincial code, contain a real birth date between
/// 1900-01-01 and `today` inclusive, and carry the right MOD 11-2 check
/// character.
pub fn check_resident_id_on(id: &str, today: (i32, u8, u8)) -> ResidentIdCheck {
    let id = id.trim();
    if id.is_empty() {
        return invalid("ID number is empty.");
    }
    if id.chars().count() != 18 {
        return invalid("ID number must have 18 characters.");
    }
    // 18 chars; all must be ASCII for the layout to hold.
    let bytes = id.as_bytes();
    if bytes.len() != 18
        || !bytes[..17].iter().all(u8::is_ascii_digit)
        || !(bytes[17].is_ascii_digit() || bytes[17] == b'X' || bytes[17] == b'x')
    {
        return invalid("ID number must be 17 digits followed by a digit or X.");
    }
    // The first 17 bytes are ASCII digits (checked above), so this slice is valid UTF-8.
    if !crate::provinces::is_province_code(std::str::from_utf8(&bytes[..2]).unwrap_or_default()) {
        return invalid("ID number starts with an unknown province code.");
    }
    // number() of <= 4 digits fits comfortably in i32 / u8.
    let year = number(&bytes[6..10]) as i32;
    let month = number(&bytes[10..12]) as u8;
    let day = number(&bytes[12..14]) as u8;
    if month == 0 || day == 0 || day > days_in_month(year, month) {
        return invalid("ID number contains an invalid birth date.");
    }
    if year < 1900 {
        return invalid("Birth date in the ID number is before 1900.");
    }
    if (year, month, day) > today {
        return invalid("Birth date in the ID number is in the future.");
    }
    let sum: u32 = bytes[..17].iter().zip(WEIGHTS).map(|(&b, w)| u32::from(b - b'0') * w).sum();
    let expected = CHECK_CHARS[(sum % 11) as usize];
    if bytes[17].to_ascii_uppercase() != expected {
        return invalid("ID number check character is wrong; please re-check the number.");
    }
    let gender = if (bytes[16] - b'0') % 2 == 1 { Gender::Male } else { Gender::Female };
    ResidentIdCheck {
        valid: true,
        birth_date: Some(format!("{year:04}-{month:02}-{day:02}")),
        region_code: Some(id[..6].to_owned()),
        gender: Some(gender),
        reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Check characters below were computed independently with a Python
    // MOD 11-2 function (not with this code).
    const TODAY: (i32, u8, u8) = (2025, 6, 15);

    fn reason(id: &str) -> String {
        check_resident_id_on(id, TODAY).reason.unwrap_or_default()
    }

    #[test]
    fn valid_with_x_check_char() {
        let r = check_resident_id_on("11010519491231002X", TODAY);
        assert!(r.valid, "{r:?}");
        assert_eq!(r.birth_date.as_deref(), Some("1949-12-31"));
        assert_eq!(r.region_code.as_deref(), Some("110105"));
        assert_eq!(r.gender, Some(Gender::Female));
        assert_eq!(r.reason, None);
    }

    #[test]
    fn lower_case_x_and_whitespace_accepted() {
        for id in ["11010519491231002x", "  11010519491231002X\n", "\t11010519491231002x "] {
            let r = check_resident_id_on(id, TODAY);
            assert!(r.valid, "{id:?}");
            assert_eq!(r.region_code.as_deref(), Some("110105"));
        }
    }

    #[test]
    fn valid_digit_check_chars_and_gender() {
        let r = check_resident_id_on("650102198811123457", TODAY);
        assert!(r.valid);
        assert_eq!(r.gender, Some(Gender::Male));
        assert_eq!(r.birth_date.as_deref(), Some("1988-11-12"));
        let r = check_resident_id_on("520102199912318881", TODAY);
        assert!(r.valid);
        assert_eq!(r.gender, Some(Gender::Female));
        let r = check_resident_id_on("810000199001011230", TODAY);
        assert!(r.valid, "Hong Kong prefix 81 is accepted");
    }

    #[test]
    fn before_1900_rejected_and_1900_01_01_accepted() {
        // Valid check characters, but born before 1900.
        assert_eq!(reason("440524188001010014"), "Birth date in the ID number is before 1900.");
        assert_eq!(reason("110105189912310015"), "Birth date in the ID number is before 1900.");
        let r = check_resident_id_on("11010519000101001X", TODAY);
        assert!(r.valid);
        assert_eq!(r.birth_date.as_deref(), Some("1900-01-01"));
    }

    #[test]
    fn wrong_check_char() {
        for id in ["110105194912310021", "110105194912310020", "650102198811123450", "44052418800101001X"] {
            let r = check_resident_id_on(id, (2100, 1, 1));
            assert!(!r.valid, "{id}");
        }
        assert_eq!(reason("110105194912310021"), "ID number check character is wrong; please re-check the number.");
        assert_eq!(reason("650102198811123450"), "ID number check character is wrong; please re-check the number.");
    }

    #[test]
    fn feb_29_leap_and_non_leap() {
        // 2000 is a leap year (divisible by 400), 2024 is a leap year.
        let r = check_resident_id_on("110102200002291236", TODAY);
        assert!(r.valid);
        assert_eq!(r.birth_date.as_deref(), Some("2000-02-29"));
        assert_eq!(r.gender, Some(Gender::Male));
        let r = check_resident_id_on("44030720240229002X", TODAY);
        assert!(r.valid);
        assert_eq!(r.birth_date.as_deref(), Some("2024-02-29"));
        // 1900 (divisible by 100, not 400) and 2023 are not leap years.
        // These have correct check characters: only the date is wrong.
        assert_eq!(reason("110105190002290017"), "ID number contains an invalid birth date.");
        assert_eq!(reason("110105202302290014"), "ID number contains an invalid birth date.");
        // April has 30 days.
        assert_eq!(reason("110105202104310010"), "ID number contains an invalid birth date.");
    }

    #[test]
    fn impossible_dates() {
        // Month 13 / 00, day 00 / 32 (check chars don't matter: the date fails first).
        for id in ["110105194913310021", "110105194900310021", "110105194912000021", "110105194912320021"] {
            assert_eq!(reason(id), "ID number contains an invalid birth date.", "{id}");
        }
    }

    #[test]
    fn future_birth_date() {
        // Born 2024-03-01 (correct check char).
        let id = "110105202403010018";
        let r = check_resident_id_on(id, (2024, 2, 29));
        assert!(!r.valid);
        assert_eq!(r.reason.as_deref(), Some("Birth date in the ID number is in the future."));
        assert_eq!(r.birth_date, None);
        // Born today is fine.
        assert!(check_resident_id_on(id, (2024, 3, 1)).valid);
        assert!(check_resident_id_on(id, TODAY).valid);
    }

    #[test]
    fn unknown_province() {
        // 99 with a correct check character.
        assert_eq!(reason("990105194912310023"), "ID number starts with an unknown province code.");
        // 83 (Taiwan residence-permit code) is not in the accepted list; 71 is.
        assert_eq!(reason("830000199001011234"), "ID number starts with an unknown province code.");
        assert!(check_resident_id_on("710000199001011237", TODAY).valid);
        for prefix in ["00", "10", "16", "20", "24", "30", "38", "40", "47", "55", "60", "66", "70", "80", "90"] {
            let id = format!("{prefix}0105194912310021");
            assert_eq!(reason(&id), "ID number starts with an unknown province code.", "{id}");
        }
    }

    #[test]
    fn bad_shapes() {
        assert_eq!(reason(""), "ID number is empty.");
        assert_eq!(reason("   "), "ID number is empty.");
        assert_eq!(reason("11010519491231002"), "ID number must have 18 characters.");
        assert_eq!(reason("11010519491231002X1"), "ID number must have 18 characters.");
        assert_eq!(reason("1101051949123100XX"), "ID number must be 17 digits followed by a digit or X.");
        assert_eq!(reason("11010519491231002Y"), "ID number must be 17 digits followed by a digit or X.");
        assert_eq!(reason("11010519491231 02X"), "ID number must be 17 digits followed by a digit or X.");
        // 18 characters, some multi-byte: must not panic or be accepted.
        assert_eq!(reason("１1010519491231002X"), "ID number must be 17 digits followed by a digit or X.");
        assert_eq!(reason("11010519491231002é"), "ID number must be 17 digits followed by a digit or X.");
    }

    #[test]
    fn reasons_never_echo_the_number() {
        for id in ["110105194912310021", "990105194912310023", "110105202302290014", "1101051949123100XX"] {
            assert!(!reason(id).contains("110105"));
            assert!(!reason(id).contains("990105"));
        }
    }

    #[test]
    fn civil_from_days_known_dates() {
        // Day counts from Python's datetime.date arithmetic.
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
        assert_eq!(civil_from_days(-25_567), (1900, 1, 1));
    }

    #[test]
    fn system_clock_wrapper() {
        let (y, m, d) = china_today();
        assert!(y >= 2024, "system clock looks wrong: {y}");
        assert!((1..=12).contains(&m) && (1..=31).contains(&d));
        assert!(check_resident_id("11010519491231002X").valid);
        assert!(!check_resident_id("110105194912310021").valid);
        // Someone born in year 9999 is always in the future.
        assert!(!check_resident_id("110105999912310011").valid);
    }

    proptest! {
        #[test]
        fn never_panics_on_any_string(input in any::<String>(), y in any::<i32>(), m in any::<u8>(), d in any::<u8>()) {
            let r = check_resident_id_on(&input, (y, m, d));
            prop_assert_eq!(r.valid, r.reason.is_none());
            let _ = check_resident_id(&input);
        }

        #[test]
        fn never_panics_on_id_like_strings(input in "[0-9xX ]{0,20}") {
            let r = check_resident_id_on(&input, TODAY);
            prop_assert_eq!(r.valid, r.reason.is_none());
            prop_assert_eq!(r.valid, r.birth_date.is_some());
        }

        #[test]
        fn single_digit_change_is_detected(pos in 0usize..17, delta in 1u8..10) {
            let base = *b"11010519491231002X";
            let mut changed = base;
            changed[pos] = b'0' + (changed[pos] - b'0' + delta) % 10;
            let s = std::str::from_utf8(&changed).unwrap();
            prop_assert!(!check_resident_id_on(s, TODAY).valid);
        }
    }
}
