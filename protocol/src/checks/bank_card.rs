//! Bank-card number check: format, Luhn check digit, masking and BIN lookup.
//!
//! See the module docs of `checks` for the masking rule.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The embedded BIN table (`prefix,issuer_bank,card_kind`).
const CARD_BINS_CSV: &str = include_str!("../../data/card_bins.csv");

/// Shortest and longest BIN prefix length accepted in the table.
const MIN_PREFIX_LEN: usize = 4;
const MAX_PREFIX_LEN: usize = 8;

/// Valid card numbers have this many digits.
const MIN_DIGITS: usize = 16;
const MAX_DIGITS: usize = 19;

/// `masked` never gets longer than this.
const MAX_MASKED_LEN: usize = 19;

/// What kind of card a BIN belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardKind {
    Debit,
    Credit,
    Prepaid,
    Unknown,
}

impl CardKind {
    /// Lower-case name: `"debit"`, `"credit"`, `"prepaid"` or `"unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CardKind::Debit => "debit",
            CardKind::Credit => "credit",
            CardKind::Prepaid => "prepaid",
            CardKind::Unknown => "unknown",
        }
    }

    /// Inverse of [`CardKind::as_str`]; ASCII case and surrounding whitespace
    /// are ignored. Returns `None` for anything else.
    pub fn parse(s: &str) -> Option<CardKind> {
        let s = s.trim();
        [CardKind::Debit, CardKind::Credit, CardKind::Prepaid, CardKind::Unknown]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

/// Result of [`check_bank_card`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankCardCheck {
    /// 16–19 digits (spaces and hyphens ignored) with a correct Luhn check digit.
    pub valid: bool,
    /// The number with most digits replaced by `*` (see the masking rule).
    pub masked: String,
    /// Issuing bank's Chinese name, when the BIN is in the table.
    pub issuer_bank: Option<String>,
    /// Card kind from the BIN table; `Unknown` when the BIN is not listed.
    pub card_kind: CardKind,
    /// Why the number is invalid; `None` when valid.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BinEntry<'a> {
    issuer: Option<&'a str>,
    kind: CardKind,
}

/// Parses the BIN CSV. Malformed rows are skipped; never panics.
fn parse_bin_table(text: &str) -> HashMap<&str, BinEntry<'_>> {
    let mut table = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.eq_ignore_ascii_case("prefix,issuer_bank,card_kind") {
            continue;
        }
        let mut fields = line.split(',');
        let (Some(prefix), Some(issuer), Some(kind), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let prefix = prefix.trim();
        let issuer = issuer.trim();
        let valid_prefix =
            (MIN_PREFIX_LEN..=MAX_PREFIX_LEN).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_digit());
        let Some(kind) = CardKind::parse(kind) else {
            continue;
        };
        if !valid_prefix {
            continue;
        }
        let issuer = if issuer.is_empty() { None } else { Some(issuer) };
        table.insert(prefix, BinEntry { issuer, kind });
    }
    table
}

fn bin_table() -> &'static HashMap<&'static str, BinEntry<'static>> {
    static TABLE: OnceLock<HashMap<&'static str, BinEntry<'static>>> = OnceLock::new();
    TABLE.get_or_init(|| parse_bin_table(CARD_BINS_CSV))
}

/// Longest-prefix match of an all-digit string against `table`.
fn lookup<'t>(table: &HashMap<&str, BinEntry<'t>>, digits: &str) -> Option<BinEntry<'t>> {
    let longest = digits.len().min(MAX_PREFIX_LEN);
    (MIN_PREFIX_LEN..=longest).rev().find_map(|len| digits.get(..len).and_then(|p| table.get(p)).copied())
}

/// Luhn (mod 10) check over ASCII digits.
fn luhn_ok(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 {
                    twice - 9
                } else {
                    twice
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Masks an all-digit string (length <= `MAX_DIGITS`) following the rule in
/// the module docs: first 6 and last 4 of a card-length number, fewer than half of a shorter one.
fn mask_digits(digits: &str) -> String {
    let n = digits.len();
    let (first, last) = if n >= MIN_DIGITS {
        (6, 4)
    } else {
        let budget = n.saturating_sub(1) / 2;
        let last = budget.min(4);
        ((budget - last).min(6), last)
    };
    digits.bytes().enumerate().map(|(i, b)| if i < first || i >= n - last { char::from(b) } else { '*' }).collect()
}

fn stars(count: usize) -> String {
    "*".repeat(count.min(MAX_MASKED_LEN))
}

fn invalid(masked: String, entry: Option<BinEntry<'_>>, reason: &str) -> BankCardCheck {
    BankCardCheck {
        valid: false,
        masked,
        issuer_bank: entry.and_then(|e| e.issuer).map(str::to_owned),
        card_kind: entry.map_or(CardKind::Unknown, |e| e.kind),
        reason: Some(reason.to_owned()),
    }
}

/// Checks a bank-card number typed or pasted by a person.
///
/// Leading/trailing whitespace is trimmed; ASCII spaces and hyphens inside
/// the number are ignored. The number must then be 16–19 ASCII digits with a
/// correct Luhn check digit. The issuer and card kind are looked up in the
/// BIN table whenever the input is all digits (even if it is otherwise
/// invalid); an unknown BIN gives `issuer_bank: None`, `CardKind::Unknown`
/// and does not make a number invalid.
pub fn check_bank_card(number: &str) -> BankCardCheck {
    let cleaned: String = number.trim().chars().filter(|&c| c != ' ' && c != '-').collect();
    if cleaned.is_empty() {
        return invalid(String::new(), None, "Card number is empty.");
    }
    if !cleaned.bytes().all(|b| b.is_ascii_digit()) {
        return invalid(
            stars(cleaned.chars().count()),
            None,
            "Card number may only contain digits, spaces and hyphens.",
        );
    }
    let n = cleaned.len();
    if n > MAX_DIGITS {
        return invalid(stars(n), None, "Card number is too long: it must have 16 to 19 digits.");
    }
    let entry = lookup(bin_table(), &cleaned);
    let masked = mask_digits(&cleaned);
    if n < MIN_DIGITS {
        return invalid(masked, entry, "Card number is too short: it must have 16 to 19 digits.");
    }
    if !luhn_ok(cleaned.as_bytes()) {
        return invalid(masked, entry, "Card number check digit is wrong; please re-check the number.");
    }
    BankCardCheck {
        valid: true,
        masked,
        issuer_bank: entry.and_then(|e| e.issuer).map(str::to_owned),
        card_kind: entry.map_or(CardKind::Unknown, |e| e.kind),
        reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Check digits below were computed independently with a Python Luhn
    // function (not with this code).
    const ICBC_19: &str = "6222021234567890128";
    const CMB_16: &str = "6225881234567898";
    const BOCOM_16: &str = "6014281234567896";
    const CIB_18: &str = "622908123456789019";
    const CCB_19: &str = "6217009876543210981";
    const ICBC_CREDIT_16: &str = "6259150000123453";
    const VISA_TEST_16: &str = "4111111111111111";
    const UNLISTED_62_16: &str = "6234567890123451";

    fn shown_digits(masked: &str) -> usize {
        masked.chars().filter(char::is_ascii_digit).count()
    }

    #[test]
    fn valid_19_digit_icbc_debit() {
        let r = check_bank_card(ICBC_19);
        assert!(r.valid);
        assert_eq!(r.reason, None);
        assert_eq!(r.issuer_bank.as_deref(), Some("中国工商银行"));
        assert_eq!(r.card_kind, CardKind::Debit);
        assert_eq!(r.masked, "622202*********0128");
    }

    #[test]
    fn valid_16_digit_cmb_debit() {
        let r = check_bank_card(CMB_16);
        assert!(r.valid);
        assert_eq!(r.issuer_bank.as_deref(), Some("招商银行"));
        assert_eq!(r.card_kind, CardKind::Debit);
        assert_eq!(r.masked, "622588******7898");
    }

    #[test]
    fn valid_18_digit_cib_debit() {
        let r = check_bank_card(CIB_18);
        assert!(r.valid);
        assert_eq!(r.issuer_bank.as_deref(), Some("兴业银行"));
        assert_eq!(r.card_kind, CardKind::Debit);
        assert_eq!(r.masked, "622908********9019");
    }

    #[test]
    fn other_valid_numbers() {
        let r = check_bank_card(BOCOM_16);
        assert!(r.valid);
        assert_eq!(r.issuer_bank.as_deref(), Some("交通银行"));
        let r = check_bank_card(CCB_19);
        assert!(r.valid);
        assert_eq!(r.issuer_bank.as_deref(), Some("中国建设银行"));
        let r = check_bank_card(ICBC_CREDIT_16);
        assert!(r.valid);
        assert_eq!(r.issuer_bank.as_deref(), Some("中国工商银行"));
        assert_eq!(r.card_kind, CardKind::Credit);
    }

    #[test]
    fn unknown_bin_is_still_valid() {
        for number in [VISA_TEST_16, UNLISTED_62_16] {
            let r = check_bank_card(number);
            assert!(r.valid, "{number}");
            assert_eq!(r.issuer_bank, None);
            assert_eq!(r.card_kind, CardKind::Unknown);
        }
    }

    #[test]
    fn five_digit_prefix_matches() {
        // 95588 is a 5-digit ICBC prefix in the table; 18-digit valid Luhn.
        let r = check_bank_card("955881234567890128");
        assert!(r.valid);
        assert_eq!(r.issuer_bank.as_deref(), Some("中国工商银行"));
    }

    #[test]
    fn wrong_luhn_16_and_19() {
        for number in ["6225881234567899", "6222021234567890129", "4111111111111112"] {
            let r = check_bank_card(number);
            assert!(!r.valid, "{number}");
            assert_eq!(r.reason.as_deref(), Some("Card number check digit is wrong; please re-check the number."));
        }
        // Issuer is still reported for a mistyped but well-formed number.
        let r = check_bank_card("6225881234567899");
        assert_eq!(r.issuer_bank.as_deref(), Some("招商银行"));
    }

    #[test]
    fn spaces_and_hyphens_ignored() {
        for number in ["6222 0212 3456 7890 128", "6222-0212-3456-7890-128", "  6222 0212-3456 7890128\n"] {
            let r = check_bank_card(number);
            assert!(r.valid, "{number:?}");
            assert_eq!(r.masked, "622202*********0128");
        }
    }

    #[test]
    fn wrong_lengths() {
        // 15 digits, valid Luhn for the first 15 is irrelevant: too short.
        let r = check_bank_card("622588123456789");
        assert!(!r.valid);
        assert_eq!(r.reason.as_deref(), Some("Card number is too short: it must have 16 to 19 digits."));
        assert_eq!(r.masked, "622********6789");
        // 20 digits: too long, fully masked.
        let r = check_bank_card("62220212345678901284");
        assert!(!r.valid);
        assert_eq!(r.reason.as_deref(), Some("Card number is too long: it must have 16 to 19 digits."));
        assert_eq!(r.masked, "*".repeat(19));
        assert_eq!(r.issuer_bank, None);
        // 7 digits with a correct Luhn digit is still too short.
        let r = check_bank_card("6222020");
        assert!(!r.valid);
        assert_eq!(r.issuer_bank.as_deref(), Some("中国工商银行"));
        assert_eq!(shown_digits(&r.masked), 3);
    }

    #[test]
    fn letters_and_garbage_fully_masked() {
        let r = check_bank_card("6222 0212 3456 7890 12a");
        assert!(!r.valid);
        assert_eq!(r.reason.as_deref(), Some("Card number may only contain digits, spaces and hyphens."));
        assert_eq!(r.masked, "*".repeat(19));
        assert_eq!(r.issuer_bank, None);
        assert_eq!(r.card_kind, CardKind::Unknown);
        let r = check_bank_card("abc");
        assert_eq!(r.masked, "***");
        // Full-width digits are not ASCII digits.
        let r = check_bank_card("６２２２０２１２３４５６７８９０１２８");
        assert!(!r.valid);
        assert_eq!(shown_digits(&r.masked), 0);
        let r = check_bank_card(&"x".repeat(500));
        assert_eq!(r.masked.len(), 19);
    }

    #[test]
    fn empty_input() {
        for number in ["", "   ", " - - "] {
            let r = check_bank_card(number);
            assert!(!r.valid);
            assert_eq!(r.masked, "");
            assert_eq!(r.reason.as_deref(), Some("Card number is empty."));
        }
    }

    #[test]
    fn masking_table_for_each_length() {
        // (digits, shown first, shown last)
        let expected =
            [(1, 0, 0), (2, 0, 0), (3, 0, 1), (8, 0, 3), (9, 0, 4), (11, 1, 4), (15, 3, 4), (16, 6, 4), (17, 6, 4)];
        for (n, first, last) in expected {
            let digits: String = "1234567890123456789".chars().take(n).collect();
            let masked = mask_digits(&digits);
            assert_eq!(masked.len(), n);
            assert_eq!(&masked[..first], &digits[..first]);
            assert_eq!(&masked[n - last..], &digits[n - last..]);
            assert_eq!(shown_digits(&masked), first + last, "n = {n}: {masked}");
        }
        assert_eq!(mask_digits("1234567890123456789"), "123456*********6789");
    }

    #[test]
    fn card_kind_round_trip() {
        for kind in [CardKind::Debit, CardKind::Credit, CardKind::Prepaid, CardKind::Unknown] {
            assert_eq!(CardKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(CardKind::parse(" Credit "), Some(CardKind::Credit));
        assert_eq!(CardKind::parse("semi-credit"), None);
        assert_eq!(CardKind::parse(""), None);
    }

    #[test]
    fn shipped_table_parses_completely() {
        let data_rows = CARD_BINS_CSV
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && *l != "prefix,issuer_bank,card_kind")
            .count();
        assert_eq!(bin_table().len(), data_rows, "a row of card_bins.csv is malformed or duplicated");
        assert!((30..=80).contains(&data_rows));
        assert!(bin_table().values().all(|e| e.issuer.is_some()));
    }

    #[test]
    fn table_parser_longest_prefix_and_bad_rows() {
        let text = "# comment\nprefix,issuer_bank,card_kind\n\
                    6222,Bank A,debit\n62220212,Bank B,credit\n622202,,prepaid\n\
                    12,too short,debit\n123456789,too long,debit\n62x2,not digits,debit\n\
                    999999,Bad kind,semi\n888888,Too,many,fields\n";
        let table = parse_bin_table(text);
        assert_eq!(table.len(), 3);
        let e = lookup(&table, "6222021234567890128").unwrap();
        assert_eq!((e.issuer, e.kind), (Some("Bank B"), CardKind::Credit));
        let e = lookup(&table, "6222029999999999").unwrap();
        assert_eq!((e.issuer, e.kind), (None, CardKind::Prepaid));
        let e = lookup(&table, "6222119999999999").unwrap();
        assert_eq!((e.issuer, e.kind), (Some("Bank A"), CardKind::Debit));
        assert_eq!(lookup(&table, "622"), None);
        assert_eq!(lookup(&table, "4111111111111111"), None);
    }

    #[test]
    fn reasons_never_echo_the_number() {
        for number in ["6225881234567899", "622588123456789", "62220212345678901284", "6222 0212 3456 7890 12a"] {
            let r = check_bank_card(number);
            let digits: String = number.chars().filter(char::is_ascii_digit).collect();
            let reason = r.reason.unwrap();
            assert!(!reason.contains(&digits[..6]));
        }
    }

    proptest! {
        #[test]
        fn masking_bounds_for_any_string(input in any::<String>()) {
            let r = check_bank_card(&input);
            let n = input.chars().filter(char::is_ascii_digit).count();
            let shown = shown_digits(&r.masked);
            prop_assert!(shown <= 10);
            prop_assert!(n >= MIN_DIGITS || shown == 0 || 2 * shown < n, "n={} shown={}", n, shown);
            prop_assert!(r.masked.chars().count() <= 19);
            prop_assert!(r.masked.chars().all(|c| c == '*' || c.is_ascii_digit()));
        }

        #[test]
        fn masking_bounds_for_digit_strings(input in "[0-9 -]{0,40}") {
            let r = check_bank_card(&input);
            let digits: String = input.chars().filter(char::is_ascii_digit).collect();
            let n = digits.len();
            let shown = shown_digits(&r.masked);
            prop_assert!(shown <= 10);
            prop_assert!(n >= MIN_DIGITS || shown == 0 || 2 * shown < n, "n={} shown={}", n, shown);
            if let Some(reason) = &r.reason {
                prop_assert!(n < 4 || !reason.contains(&digits));
            }
            // Shown digits are the real leading/trailing digits.
            if n <= 19 {
                prop_assert_eq!(r.masked.len(), n);
                for (m, d) in r.masked.chars().zip(digits.chars()) {
                    prop_assert!(m == '*' || m == d);
                }
            }
        }

        #[test]
        fn luhn_completed_numbers_are_valid(body in "[0-9]{15,18}") {
            let check = (0..10u8)
                .map(|d| format!("{body}{d}"))
                .find(|s| luhn_ok(s.as_bytes()))
                .unwrap();
            let r = check_bank_card(&check);
            prop_assert!(r.valid);
            // Changing only the last digit breaks it.
            let last = check.as_bytes()[check.len() - 1];
            let wrong = format!("{}{}", &check[..check.len() - 1], char::from(b'0' + (last - b'0' + 1) % 10));
            prop_assert!(!check_bank_card(&wrong).valid);
        }
    }
}
