//! RFC 4648 base32, the encoding authenticator apps use for TOTP secrets.
//!
//! Encoding is upper case without padding (what `otpauth://` URIs carry). Decoding is
//! tolerant of what people paste: spaces, hyphens, lower case and missing padding are
//! accepted; any other character, or a length no encoding can have, is refused.

use crate::error::{err, ErrorKind, Result};

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// The longest text decoded, so a pasted megabyte is refused before any work.
pub const MAX_BASE32_CHARS: usize = 1024;

pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    for chunk in data.chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let n = block.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(ALPHABET[((n >> (35 - 5 * i)) & 31) as usize] as char);
        }
    }
    out
}

fn value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

/// Decodes base32 text, ignoring spaces, hyphens, case and `=` padding at the end.
/// Bits left over after the last whole byte are dropped, as other decoders do.
pub fn base32_decode(text: &str) -> Result<Vec<u8>> {
    if text.len() > MAX_BASE32_CHARS {
        return err(ErrorKind::InvalidKey, "the base32 text is too long");
    }
    let body = text.trim_end_matches(|c: char| c == '=' || c.is_ascii_whitespace());
    let mut out = Vec::with_capacity(body.len() * 5 / 8);
    let (mut acc, mut bits, mut count) = (0u32, 0u32, 0usize);
    for &c in body.as_bytes() {
        if c == b' ' || c == b'-' || c == b'\t' {
            continue;
        }
        let Some(v) = value(c) else {
            return err(
                ErrorKind::InvalidKey,
                "the secret is not base32 (letters A-Z and digits 2-7)",
            );
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        count += 1;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // 1, 3 and 6 characters past a whole group are lengths no encoder produces.
    if matches!(count % 8, 1 | 3 | 6) {
        return err(
            ErrorKind::InvalidKey,
            "the base32 text has an impossible length",
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_section_10_vectors() {
        let cases = [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).unwrap(), plain.as_bytes());
        }
        // The RFC's padded forms decode too.
        assert_eq!(base32_decode("MZXW6YQ=").unwrap(), b"foob");
        assert_eq!(base32_decode("MY======").unwrap(), b"f");
    }

    #[test]
    fn decoding_tolerates_what_people_paste_and_refuses_the_rest() {
        let want = base32_decode("JBSWY3DPEHPK3PXP").unwrap();
        for text in [
            "jbswy3dpehpk3pxp",
            "JBSW Y3DP EHPK 3PXP",
            "jbsw-y3dp-ehpk-3pxp",
            "JBSWY3DPEHPK3PXP\n",
        ] {
            assert_eq!(base32_decode(text).unwrap(), want, "{text:?}");
        }
        for bad in [
            "JBSWY3DP1",
            "JBSWY0DP",
            "JBSWY3DPÉ",
            "A",
            "ABC",
            "ABCDEF",
            "AB=CD",
        ] {
            assert_eq!(
                base32_decode(bad).unwrap_err().kind(),
                ErrorKind::InvalidKey,
                "{bad:?}"
            );
        }
        assert!(base32_decode(&"A".repeat(MAX_BASE32_CHARS + 8)).is_err());
        for len in 0..70usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            assert_eq!(base32_decode(&base32_encode(&data)).unwrap(), data);
        }
    }
}
