//! JWS algorithms (RFC 7518, RFC 8037) and the key family each one is bound to.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorKind};

/// A JWS signing algorithm. `none` does not exist here on purpose: it is never accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
pub enum Algorithm {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    /// Ed25519 under its RFC 8037 name. RFC 9864 deprecates `EdDSA` in favour of the
    /// fully specified `Ed25519`; the two verify each other's tokens (see
    /// [`Algorithm::same_as`]) and a key signs with the name it was made with.
    EdDSA,
    /// Ed25519 under its RFC 9864 name.
    Ed25519,
}

/// The kind of key an algorithm needs. A key is bound to one algorithm, so a token
/// can never make an RSA public key act as an HMAC secret (RFC 8725 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    Hmac,
    Rsa,
    Ec,
    Ed25519,
}

impl Algorithm {
    pub const ALL: &'static [Algorithm] = &[
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::Ed25519,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::Ed25519 => "Ed25519",
        }
    }

    pub const fn family(self) -> KeyFamily {
        match self {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => KeyFamily::Hmac,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => KeyFamily::Rsa,
            Algorithm::ES256 | Algorithm::ES384 => KeyFamily::Ec,
            Algorithm::EdDSA | Algorithm::Ed25519 => KeyFamily::Ed25519,
        }
    }

    /// Whether a token whose header names `other` is signed the way `self` verifies: the
    /// same algorithm, or `EdDSA` and `Ed25519` (RFC 9864 §2: with an Ed25519 key the two
    /// names are one signature scheme).
    pub const fn same_as(self, other: Algorithm) -> bool {
        matches!(
            (self, other),
            (
                Algorithm::EdDSA | Algorithm::Ed25519,
                Algorithm::EdDSA | Algorithm::Ed25519
            )
        ) || self as u8 == other as u8
    }

    /// Whether `list` holds an algorithm that is [`Algorithm::same_as`] this one.
    pub fn in_list(self, list: &[Algorithm]) -> bool {
        list.iter().any(|a| a.same_as(self))
    }

    /// Minimum HMAC key length in bytes: the hash output size (RFC 8725 §3.5, RFC 7518 §3.2).
    pub(crate) const fn min_hmac_key_len(self) -> usize {
        match self {
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => 32,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// Parses an algorithm name exactly as JOSE spells it (case-sensitive).
    fn from_str(name: &str) -> Result<Self, Error> {
        Algorithm::ALL
            .iter()
            .copied()
            .find(|a| a.name() == name)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::AlgorithmNotAllowed,
                    if name.eq_ignore_ascii_case("none") {
                        "the `none` algorithm is never accepted".to_string()
                    } else {
                        format!("unsupported algorithm `{}`", truncate(name, 16))
                    },
                )
            })
    }
}

/// Shortens untrusted text before it goes into an error message.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
