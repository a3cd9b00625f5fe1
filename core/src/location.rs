//! Where the phone is. The app reports it (the shell owns the GPS and its permission prompt)
//! through a [`LocationProvider`]; every sale records where it happened, and the cross-province
//! rules (issue #7) decide with it.

use crate::error::Error;
use crate::platform::wire::LocationWire;

/// A position in WGS-84 degrees, with the fix's accuracy radius in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_m: f64,
}

/// Implemented by the app. Return the latest fix, or `None` when there is none (permission
/// refused, no signal). Called from a core thread at the start of each payment; answer from a
/// cached fix rather than waiting for a new one.
pub trait LocationProvider: Send + Sync {
    fn current_location(&self) -> Option<Location>;
}

impl Location {
    /// Checks what the app reported; the error tells the app developer what is wrong.
    pub fn check(&self) -> Result<(), Error> {
        let ok = self.latitude.is_finite()
            && self.longitude.is_finite()
            && (-90.0..=90.0).contains(&self.latitude)
            && (-180.0..=180.0).contains(&self.longitude)
            && self.accuracy_m.is_finite()
            && self.accuracy_m >= 0.0;
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(
                "location",
                "latitude -90..90 and longitude -180..180 degrees, accuracy at least 0 metres",
            ))
        }
    }

    /// Micro-degrees (about 0.1 m): what is stored and sent, in integers.
    pub fn to_wire(self) -> LocationWire {
        LocationWire {
            latitude_e6: (self.latitude * 1e6).round() as i32,
            longitude_e6: (self.longitude * 1e6).round() as i32,
            accuracy_m: self.accuracy_m.round().min(u32::MAX as f64) as u32,
        }
    }

    pub fn from_wire(w: &LocationWire) -> Location {
        let (latitude, longitude) = w.degrees();
        Location { latitude, longitude, accuracy_m: f64::from(w.accuracy_m) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_checked_and_kept_to_a_micro_degree() {
        let guangzhou = Location { latitude: 23.129_163, longitude: 113.264_435, accuracy_m: 12.4 };
        guangzhou.check().unwrap();
        let w = guangzhou.to_wire();
        assert_eq!((w.latitude_e6, w.longitude_e6, w.accuracy_m), (23_129_163, 113_264_435, 12));
        assert!((Location::from_wire(&w).longitude - 113.264_435).abs() < 1e-9);
        for bad in [
            Location { latitude: 91.0, ..guangzhou },
            Location { longitude: -180.5, ..guangzhou },
            Location { latitude: f64::NAN, ..guangzhou },
            Location { accuracy_m: -1.0, ..guangzhou },
        ] {
            assert!(matches!(bad.check(), Err(Error::InvalidInput { .. })), "{bad:?}");
        }
    }
}
