//! Account input rules, shared by the core (to answer the app before a round trip) and the
//! sandbox (which enforces them, so a modified app gains nothing).

/// Mainland China mobile number: 11 digits, `1` then `3`–`9`.
pub fn phone_problem(phone: &str) -> Option<&'static str> {
    let b = phone.as_bytes();
    if b.len() != 11 || !b.iter().all(u8::is_ascii_digit) {
        return Some("a mainland mobile number has 11 digits");
    }
    if b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
        return Some("a mainland mobile number starts with 13 to 19");
    }
    None
}

/// Password rules: 8 to 64 characters, at least one letter and one digit, not containing the
/// phone number.
pub fn password_problem(password: &str, phone: &str) -> Option<&'static str> {
    let n = password.chars().count();
    if !(8..=64).contains(&n) {
        return Some("a password has 8 to 64 characters");
    }
    if !password.chars().any(|c| c.is_ascii_alphabetic()) || !password.chars().any(|c| c.is_ascii_digit()) {
        return Some("a password needs at least one letter and one digit");
    }
    if !phone.is_empty() && password.contains(phone) {
        return Some("a password must not contain the phone number");
    }
    None
}

/// SMS verification codes are six digits.
pub fn sms_code_problem(code: &str) -> Option<&'static str> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        None
    } else {
        Some("an SMS code has 6 digits")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert_eq!(phone_problem("13800138000"), None);
        assert_eq!(phone_problem("19912345678"), None);
        for bad in ["", "1380013800", "138001380001", "12800138000", "23800138000", "1380013800a", "+8613800138"] {
            assert!(phone_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn passwords() {
        assert_eq!(password_problem("abcd1234", "13800138000"), None);
        assert_eq!(password_problem("密码password1", ""), None);
        for bad in ["abc123", "abcdefgh", "12345678", &"a1".repeat(33), "x13800138000"] {
            assert!(password_problem(bad, "13800138000").is_some(), "{bad}");
        }
    }

    #[test]
    fn sms_codes() {
        assert_eq!(sms_code_problem("012345"), None);
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert!(sms_code_problem(bad).is_some(), "{bad}");
        }
    }
}
