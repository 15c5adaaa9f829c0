//! `Content-Digest` (RFC 9530): computed when signing, checked against the body when
//! verifying. Only `sha-256` and `sha-512` are used; other algorithms in a received field
//! are ignored, as RFC 9530 §2 asks, but at least one known digest must be present.

use sha2::{Digest as _, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::sfv::{self, BareItem, Member};
use crate::error::{err, Error, ErrorKind, Result};

/// The largest `Content-Digest` field accepted.
pub const MAX_DIGEST_FIELD_BYTES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    Sha256,
    Sha512,
}

impl DigestAlgorithm {
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha-256",
            DigestAlgorithm::Sha512 => "sha-512",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha-256" => Some(DigestAlgorithm::Sha256),
            "sha-512" => Some(DigestAlgorithm::Sha512),
            _ => None,
        }
    }

    fn hash(self, body: &[u8]) -> Vec<u8> {
        match self {
            DigestAlgorithm::Sha256 => Sha256::digest(body).to_vec(),
            DigestAlgorithm::Sha512 => Sha512::digest(body).to_vec(),
        }
    }
}

/// The `Content-Digest` field value for `body`, e.g. `sha-256=:X48E9q…=:`.
pub fn content_digest(alg: DigestAlgorithm, body: &[u8]) -> String {
    let mut out = String::with_capacity(100);
    out.push_str(alg.name());
    out.push('=');
    sfv::write_bare_item(&mut out, &BareItem::ByteSeq(alg.hash(body)));
    out
}

fn malformed(message: &'static str) -> Error {
    Error::new(ErrorKind::MalformedSignature, message)
}

/// Checks a `Content-Digest` field value against `body`: every sha-256/sha-512 member must
/// match (compared in constant time), and there must be at least one.
pub fn verify_content_digest(field: &str, body: &[u8]) -> Result<()> {
    if field.len() > MAX_DIGEST_FIELD_BYTES {
        return Err(malformed("Content-Digest is too large"));
    }
    let dict = sfv::parse_dictionary(field).map_err(|e| malformed_with("Content-Digest", e.0))?;
    let mut checked = 0;
    for (name, member) in &dict {
        let Some(alg) = DigestAlgorithm::from_name(name) else {
            continue;
        };
        let Member::Item(sfv::Item {
            value: BareItem::ByteSeq(expected),
            ..
        }) = member
        else {
            return Err(malformed("a Content-Digest value must be a byte sequence"));
        };
        if !bool::from(alg.hash(body).ct_eq(expected)) {
            return err(
                ErrorKind::DigestMismatch,
                format!("the body does not match its {} Content-Digest", alg.name()),
            );
        }
        checked += 1;
    }
    if checked == 0 {
        return err(
            ErrorKind::DigestMismatch,
            "Content-Digest has no sha-256 or sha-512 digest",
        );
    }
    Ok(())
}

pub(crate) fn malformed_with(field: &str, reason: &str) -> Error {
    Error::new(
        ErrorKind::MalformedSignature,
        format!("{field} is not a valid structured field: {reason}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 9530 §2 and RFC 9421 Appendix B.2 digests of `{"hello": "world"}`.
    const BODY: &[u8] = br#"{"hello": "world"}"#;
    const SHA256: &str = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
    const SHA512: &str = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

    #[test]
    fn matches_the_rfc_examples() {
        assert_eq!(content_digest(DigestAlgorithm::Sha256, BODY), SHA256);
        assert_eq!(content_digest(DigestAlgorithm::Sha512, BODY), SHA512);
        verify_content_digest(SHA512, BODY).unwrap();
        verify_content_digest(&format!("{SHA256}, {SHA512}"), BODY).unwrap();
        verify_content_digest(&format!("md5=:AAAA:, {SHA256}"), BODY).unwrap();
    }

    #[test]
    fn refuses_mismatches_and_garbage() {
        let code = |f: &str| verify_content_digest(f, BODY).unwrap_err().code();
        assert_eq!(code(&SHA256.replace("X48", "Y48")), "digest_mismatch");
        assert_eq!(code("md5=:AAAA:"), "digest_mismatch");
        assert_eq!(code("sha-256=abc"), "malformed_signature");
        assert_eq!(code("sha-256"), "malformed_signature");
        assert_eq!(code(&"a".repeat(5000)), "malformed_signature");
        assert_eq!(
            verify_content_digest(SHA256, b"{\"hello\": \"world!\"}")
                .unwrap_err()
                .code(),
            "digest_mismatch"
        );
    }
}
