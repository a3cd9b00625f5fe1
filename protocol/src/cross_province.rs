//! The cross-province rule (docs/regions.md): the phone applies it before the card is read and
//! the platform again when it authorises, with this one function, so they cannot disagree.

use crate::provinces::{province_at, Province};

/// What to do with a payment whose position is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationPolicy {
    /// Refuse it: the merchant must turn location on.
    Refuse,
    /// Take it, flagged for the platform's review.
    AllowAndFlag,
}

impl LocationPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            LocationPolicy::Refuse => "refuse",
            LocationPolicy::AllowAndFlag => "allow_and_flag",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "refuse" => Some(LocationPolicy::Refuse),
            "allow_and_flag" => Some(LocationPolicy::AllowAndFlag),
            _ => None,
        }
    }
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead; `province` is where the payment happens.
    Allow { province: Province },
    /// Position unknown, allowed by policy: take it, flagged with `flag`.
    AllowFlagged { flag: &'static str },
    /// In another province without an approval there.
    NotApproved { here: Province },
    /// Position unknown and the policy refuses; `reason` says which case.
    LocationRequired { reason: &'static str },
}

/// Flags recorded with a payment taken without a known province.
pub const FLAG_NO_LOCATION: &str = "no_location";
pub const FLAG_OUTSIDE_CHINA: &str = "outside_china";

/// The rule. `position` is the fix (latitude, longitude; WGS-84) the payment is made at, if any; `approved` answers whether
/// cross-province business is approved in a province (by code) now.
pub fn decide(
    position: Option<(f64, f64)>,
    registered: &str,
    policy: LocationPolicy,
    approved: impl FnOnce(&str) -> bool,
) -> Decision {
    let (unknown_flag, unknown_reason) = match position {
        None => (FLAG_NO_LOCATION, "no position fix: turn location on and try again"),
        Some((latitude, longitude)) => match province_at(latitude, longitude) {
            Some(here) if here.code == registered || approved(&here.code) => return Decision::Allow { province: here },
            Some(here) => return Decision::NotApproved { here },
            None => (FLAG_OUTSIDE_CHINA, "the position is outside China's provinces"),
        },
    };
    match policy {
        LocationPolicy::AllowAndFlag => Decision::AllowFlagged { flag: unknown_flag },
        LocationPolicy::Refuse => Decision::LocationRequired { reason: unknown_reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHANGSHA: (f64, f64) = (28.228, 112.939);
    const GUANGZHOU: (f64, f64) = (23.129, 113.264);
    const SEOUL: (f64, f64) = (37.5665, 126.978);

    #[test]
    fn the_rule() {
        use Decision::*;
        let refuse = LocationPolicy::Refuse;
        let flag = LocationPolicy::AllowAndFlag;
        assert!(
            matches!(decide(Some(GUANGZHOU), "44", refuse, |_| false), Allow { province } if province.code == "44")
        );
        assert!(matches!(decide(Some(CHANGSHA), "44", refuse, |_| false), NotApproved { here } if here.code == "43"));
        assert!(
            matches!(decide(Some(CHANGSHA), "44", refuse, |c| c == "43"), Allow { province } if province.code == "43")
        );
        assert!(matches!(decide(Some(CHANGSHA), "44", refuse, |c| c == "45"), NotApproved { .. }));
        assert_eq!(decide(None, "44", flag, |_| false), AllowFlagged { flag: FLAG_NO_LOCATION });
        assert!(matches!(decide(None, "44", refuse, |_| true), LocationRequired { .. }));
        assert_eq!(decide(Some(SEOUL), "44", flag, |_| true), AllowFlagged { flag: FLAG_OUTSIDE_CHINA });
        assert!(matches!(decide(Some(SEOUL), "44", refuse, |_| true), LocationRequired { .. }));
    }
}
