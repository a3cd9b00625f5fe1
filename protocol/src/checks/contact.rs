//! Contact-field checks: mainland mobile number and account-holder name.

/// Result of a simple field check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldCheck {
    pub valid: bool,
    /// Why the field is invalid; `None` when valid.
    pub reason: Option<String>,
}

const VALID: FieldCheck = FieldCheck { valid: true, reason: None };

fn invalid(reason: &str) -> FieldCheck {
    FieldCheck { valid: false, reason: Some(reason.to_owned()) }
}

/// Checks a mainland China mobile number.
///
/// Surrounding whitespace is trimmed, a leading `+86` or `86` country code
/// is removed, and spaces and hyphens between digits are ignored (so
/// `+86 138-0013-8000` is accepted). What remains must be 11 ASCII digits
/// starting with 13 to 19.
pub fn check_mobile(phone: &str) -> FieldCheck {
    let s = phone.trim();
    if s.is_empty() {
        return invalid("Mobile number is empty.");
    }
    let (has_plus, body) = match s.strip_prefix('+') {
        Some(rest) => match rest.strip_prefix("86") {
            Some(rest) => (true, rest),
            None => return invalid("Only mainland China mobile numbers (+86) are accepted."),
        },
        None => (false, s),
    };
    let mut digits: String = body.chars().filter(|&c| c != ' ' && c != '-').collect();
    if !has_plus && digits.len() == 13 && digits.starts_with("86") {
        digits.drain(..2);
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return invalid("Mobile number may only contain digits.");
    }
    if digits.len() != 11 {
        return invalid("Mobile number must have 11 digits.");
    }
    let b = digits.as_bytes();
    if b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
        return invalid("Mobile number must start with 13 to 19.");
    }
    VALID
}

/// CJK Unified Ideographs (U+4E00–U+9FFF) and Extension A (U+3400–U+4DBF).
fn is_han(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

/// Middle dots used between the parts of minority and transliterated names:
/// U+00B7 MIDDLE DOT, U+2022 BULLET, U+30FB KATAKANA MIDDLE DOT.
fn is_name_dot(c: char) -> bool {
    matches!(c, '\u{00B7}' | '\u{2022}' | '\u{30FB}')
}

fn is_latin_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '\'' | '.')
}

fn check_chinese_name(name: &str) -> FieldCheck {
    if !name.chars().all(|c| is_han(c) || is_name_dot(c)) {
        return invalid("A Chinese name may only contain Chinese characters and a middle dot.");
    }
    let starts_or_ends_with_dot =
        name.chars().next().is_some_and(is_name_dot) || name.chars().last().is_some_and(is_name_dot);
    if starts_or_ends_with_dot {
        return invalid("A middle dot cannot start or end the name.");
    }
    let chars: Vec<char> = name.chars().collect();
    if chars.windows(2).any(|w| is_name_dot(w[0]) && is_name_dot(w[1])) {
        return invalid("A name cannot contain two middle dots in a row.");
    }
    let han = chars.iter().filter(|&&c| is_han(c)).count();
    if !(2..=20).contains(&han) {
        return invalid("A Chinese name must have 2 to 20 characters.");
    }
    VALID
}

fn check_latin_name(name: &str) -> FieldCheck {
    if !name.chars().all(|c| c.is_ascii_alphabetic() || is_latin_separator(c)) {
        return invalid("A Latin name may only use the letters A-Z, spaces, hyphens, apostrophes and periods.");
    }
    // All ASCII from here on, so bytes are characters.
    let b = name.as_bytes();
    if !(2..=60).contains(&b.len()) {
        return invalid("A Latin name must have 2 to 60 characters.");
    }
    if !b[0].is_ascii_alphabetic() {
        return invalid("A name must start with a letter.");
    }
    let last = b[b.len() - 1];
    if !(last.is_ascii_alphabetic() || last == b'.') {
        return invalid("A name must end with a letter or a period.");
    }
    let repeated = b.windows(2).any(|w| {
        is_latin_separator(char::from(w[0])) && is_latin_separator(char::from(w[1])) && !(w[0] == b'.' && w[1] == b' ')
    });
    if repeated {
        return invalid("A name cannot contain repeated spaces or punctuation.");
    }
    VALID
}

/// Checks a bank-account holder's name.
///
/// Surrounding whitespace is trimmed. Accepted are:
/// - Chinese names: 2–20 Han characters (CJK Unified Ideographs and
///   Extension A), optionally split by a middle dot (`·` U+00B7, `•` U+2022
///   or `・` U+30FB) that is neither first, last nor doubled, as in
///   `阿卜杜·热合曼`;
/// - Latin names: 2–60 characters of ASCII letters with single spaces,
///   hyphens, apostrophes and periods (a period may be followed by a space,
///   as in `J. R. Smith`), starting with a letter and ending with a letter or
///   a period.
///
/// Names containing any digit, or mixing the two scripts, are rejected.
pub fn check_holder_name(name: &str) -> FieldCheck {
    let name = name.trim();
    if name.is_empty() {
        return invalid("Name is empty.");
    }
    if name.chars().any(char::is_numeric) {
        return invalid("A name must not contain digits.");
    }
    if name.chars().any(|c| is_han(c) || is_name_dot(c)) {
        check_chinese_name(name)
    } else {
        check_latin_name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mobile_reason(s: &str) -> String {
        check_mobile(s).reason.unwrap_or_default()
    }

    fn name_reason(s: &str) -> String {
        check_holder_name(s).reason.unwrap_or_default()
    }

    #[test]
    fn valid_mobiles() {
        for s in [
            "13800138000",
            "19912345678",
            "15012345678",
            "+8613800138000",
            "+86 13800138000",
            "+86-13800138000",
            "8613800138000",
            "86 13800138000",
            "86-138-0013-8000",
            "138 0013 8000",
            "  13800138000\n",
        ] {
            let r = check_mobile(s);
            assert!(r.valid, "{s:?}: {r:?}");
            assert_eq!(r.reason, None);
        }
    }

    #[test]
    fn invalid_mobiles() {
        assert_eq!(mobile_reason(""), "Mobile number is empty.");
        assert_eq!(mobile_reason("+1 4155550123"), "Only mainland China mobile numbers (+86) are accepted.");
        assert_eq!(mobile_reason("+852 91234567"), "Only mainland China mobile numbers (+86) are accepted.");
        assert_eq!(mobile_reason("1380013800"), "Mobile number must have 11 digits.");
        assert_eq!(mobile_reason("138001380001"), "Mobile number must have 11 digits.");
        assert_eq!(mobile_reason("+86138001380001"), "Mobile number must have 11 digits.");
        assert_eq!(mobile_reason("0086 13800138000"), "Mobile number must have 11 digits.");
        assert_eq!(mobile_reason("12800138000"), "Mobile number must start with 13 to 19.");
        assert_eq!(mobile_reason("23800138000"), "Mobile number must start with 13 to 19.");
        assert_eq!(mobile_reason("10800138000"), "Mobile number must start with 13 to 19.");
        assert_eq!(mobile_reason("1380013800a"), "Mobile number may only contain digits.");
        assert_eq!(mobile_reason("１３８００１３８０００"), "Mobile number may only contain digits.");
        assert_eq!(mobile_reason("+86"), "Mobile number may only contain digits.");
        assert_eq!(mobile_reason("(138)00138000"), "Mobile number may only contain digits.");
    }

    #[test]
    fn valid_chinese_names() {
        for s in [
            "张三",
            "欧阳娜娜",
            "阿卜杜·热合曼",
            "阿卜杜•热合曼",
            "阿卜杜・热合曼",
            "买买提·艾力·吐尔逊",
            " 王㐀 ",
            "一一",
        ] {
            let r = check_holder_name(s);
            assert!(r.valid, "{s:?}: {r:?}");
        }
        let twenty: String = "张".repeat(20);
        assert!(check_holder_name(&twenty).valid);
    }

    #[test]
    fn invalid_chinese_names() {
        assert_eq!(name_reason("··"), "A middle dot cannot start or end the name.");
        assert_eq!(name_reason("·热合曼"), "A middle dot cannot start or end the name.");
        assert_eq!(name_reason("阿卜杜·"), "A middle dot cannot start or end the name.");
        assert_eq!(name_reason("阿卜杜··热合曼"), "A name cannot contain two middle dots in a row.");
        assert_eq!(name_reason("阿卜杜·•热合曼"), "A name cannot contain two middle dots in a row.");
        assert_eq!(name_reason("张"), "A Chinese name must have 2 to 20 characters.");
        assert!(check_holder_name("张·三").valid);
        assert_eq!(name_reason(&"张".repeat(21)), "A Chinese name must have 2 to 20 characters.");
        assert_eq!(name_reason("张3"), "A name must not contain digits.");
        assert_eq!(name_reason("张三３"), "A name must not contain digits.");
        assert_eq!(name_reason("张 三"), "A Chinese name may only contain Chinese characters and a middle dot.");
        assert_eq!(name_reason("张San"), "A Chinese name may only contain Chinese characters and a middle dot.");
        assert_eq!(name_reason("張三!"), "A Chinese name may only contain Chinese characters and a middle dot.");
        // Hiragana is not Han.
        assert_eq!(name_reason("さくら・花子"), "A Chinese name may only contain Chinese characters and a middle dot.");
    }

    #[test]
    fn valid_latin_names() {
        for s in ["John O'Neil", "Mary-Jane Smith", "J. R. R. Tolkien", "Martin Luther King Jr.", "Li", "  Wang Fang  "]
        {
            let r = check_holder_name(s);
            assert!(r.valid, "{s:?}: {r:?}");
        }
        assert!(check_holder_name(&"a".repeat(60)).valid);
    }

    #[test]
    fn invalid_latin_names() {
        assert_eq!(name_reason(""), "Name is empty.");
        assert_eq!(name_reason("   "), "Name is empty.");
        assert_eq!(name_reason("A"), "A Latin name must have 2 to 60 characters.");
        assert_eq!(name_reason(&"a".repeat(61)), "A Latin name must have 2 to 60 characters.");
        assert_eq!(name_reason("John3"), "A name must not contain digits.");
        assert_eq!(name_reason("John  Smith"), "A name cannot contain repeated spaces or punctuation.");
        assert_eq!(name_reason("John--Smith"), "A name cannot contain repeated spaces or punctuation.");
        assert_eq!(name_reason("Jo'-hn"), "A name cannot contain repeated spaces or punctuation.");
        assert_eq!(name_reason("-John"), "A name must start with a letter.");
        assert_eq!(name_reason(".."), "A name must start with a letter.");
        assert_eq!(name_reason("John-"), "A name must end with a letter or a period.");
        assert_eq!(name_reason("O'"), "A name must end with a letter or a period.");
        assert_eq!(
            name_reason("José"),
            "A Latin name may only use the letters A-Z, spaces, hyphens, apostrophes and periods."
        );
        assert_eq!(
            name_reason("John\tSmith"),
            "A Latin name may only use the letters A-Z, spaces, hyphens, apostrophes and periods."
        );
        assert_eq!(name_reason("John_Smith"), name_reason("José"));
    }

    proptest! {
        #[test]
        fn mobile_never_panics(input in any::<String>()) {
            let r = check_mobile(&input);
            prop_assert_eq!(r.valid, r.reason.is_none());
        }

        #[test]
        fn mobile_never_panics_phone_like(input in "[+0-9 -]{0,20}") {
            let r = check_mobile(&input);
            prop_assert_eq!(r.valid, r.reason.is_none());
        }

        #[test]
        fn name_never_panics(input in any::<String>()) {
            let r = check_holder_name(&input);
            prop_assert_eq!(r.valid, r.reason.is_none());
        }

        #[test]
        fn name_never_panics_name_like(input in "[张三阿卜杜·•・ a-zA-Z'.\\-0-9]{0,30}") {
            let r = check_holder_name(&input);
            prop_assert_eq!(r.valid, r.reason.is_none());
            if r.valid {
                prop_assert!(!input.chars().any(|c| c.is_ascii_digit()));
            }
        }

        #[test]
        fn every_valid_mobile_is_accepted(second in 3u8..10, rest in "[0-9]{9}") {
            let number = format!("1{second}{rest}");
            prop_assert!(check_mobile(&number).valid);
            let plus = format!("+86 {number}");
            prop_assert!(check_mobile(&plus).valid);
        }
    }
}
