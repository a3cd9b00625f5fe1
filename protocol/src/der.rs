//! Just enough DER to find a certificate's public key, for SPKI pins (the SHA-256 of it is
//! what a platform operator gives the app as a pin, ADR 0003). The bytes are the server's, so
//! untrusted: every read checks its bounds. Kept in this crate, which does no I/O, so that the
//! fuzz targets (which build only this crate) reach it.

/// The DER `SubjectPublicKeyInfo` (tag and length included) of an X.509 certificate.
///
/// Certificate = SEQUENCE { tbsCertificate, ... }; tbsCertificate = SEQUENCE { [0] version
/// (optional), serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, ... }.
pub fn spki_of(cert: &[u8]) -> Option<&[u8]> {
    let (_, cert_body, _) = der_element(cert, 0x30)?;
    let (_, mut tbs, _) = der_element(cert_body, 0x30)?;
    if tbs.first() == Some(&0xA0) {
        tbs = der_element(tbs, 0xA0)?.2;
    }
    // serialNumber, signature, issuer, validity, subject
    for tag in [0x02, 0x30, 0x30, 0x30, 0x30] {
        tbs = der_element(tbs, tag)?.2;
    }
    let (whole, _, _) = der_element(tbs, 0x30)?;
    Some(whole)
}

/// Reads one DER element with the expected tag: (whole element, contents, rest of input).
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8], &[u8])> {
    if *input.first()? != tag {
        return None;
    }
    let first = *input.get(1)? as usize;
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7F;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *input.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    if end > input.len() {
        return None;
    }
    Some((&input[..end], &input[header..end], &input[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_reader_refuses_truncated_and_odd_input() {
        assert!(spki_of(&[]).is_none());
        assert!(spki_of(&[0x30, 0x82, 0xFF]).is_none());
        assert!(spki_of(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_none());
        assert!(der_element(&[0x30, 0x85, 1, 1, 1, 1, 1], 0x30).is_none());
    }
}
