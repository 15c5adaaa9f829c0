//! `otpauth://` provisioning URIs (the Key URI format authenticator apps read from QR
//! codes): `otpauth://totp/Issuer:account?secret=…&issuer=Issuer[&algorithm=…&digits=…&period=…]`.
//! The issuer is written both as the label prefix and as a parameter, as apps expect.

use std::fmt::Write as _;

use super::{base32_decode, base32_encode, Hotp, OtpAlgorithm, OtpOptions, Totp};
use crate::error::{err, ErrorKind, Result};

/// The longest URI parsed.
pub const MAX_URI_BYTES: usize = 4096;
/// The longest issuer or account name.
pub const MAX_LABEL_PART_BYTES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpKind {
    Totp,
    /// An HOTP key, with the counter to start from.
    Hotp {
        counter: u64,
    },
}

/// The content of an `otpauth://` URI.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpUri {
    pub kind: OtpKind,
    pub secret: Vec<u8>,
    pub account: String,
    pub issuer: Option<String>,
    pub options: OtpOptions,
}

impl std::fmt::Debug for OtpUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtpUri")
            .field("kind", &self.kind)
            .field("account", &self.account)
            .field("issuer", &self.issuer)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn check_name(value: &str, what: &str) -> Result<()> {
    if value.len() > MAX_LABEL_PART_BYTES {
        return err(ErrorKind::InvalidInput, format!("the {what} is too long"));
    }
    if value.contains(':') || value.chars().any(char::is_control) {
        return err(
            ErrorKind::InvalidInput,
            format!("the {what} must not contain a colon or control characters"),
        );
    }
    Ok(())
}

/// Percent-encodes everything but RFC 3986 unreserved characters (a space is `%20`).
fn escape(value: &str, out: &mut String) {
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn unescape(value: &str) -> Result<String> {
    crate::util::percent_decode(value, "URI")
}

impl OtpUri {
    /// A TOTP URI for `account` at `issuer`, checking the secret and options.
    pub fn totp(
        secret: &[u8],
        account: &str,
        issuer: Option<&str>,
        options: OtpOptions,
    ) -> Result<Self> {
        let uri = OtpUri {
            kind: OtpKind::Totp,
            secret: secret.to_vec(),
            account: account.to_string(),
            issuer: issuer.map(str::to_string),
            options,
        };
        uri.check()?;
        Ok(uri)
    }

    fn check(&self) -> Result<()> {
        if self.account.is_empty() {
            return err(ErrorKind::InvalidInput, "the account name is empty");
        }
        if self.account.starts_with(char::is_whitespace) {
            // A parser drops such spaces: the URI would not describe this account.
            return err(
                ErrorKind::InvalidInput,
                "the account name must not start with a space",
            );
        }
        check_name(&self.account, "account name")?;
        if let Some(issuer) = &self.issuer {
            if issuer.is_empty() {
                return err(ErrorKind::InvalidInput, "the issuer is empty");
            }
            check_name(issuer, "issuer")?;
        }
        // Builds a generator to check the secret length, digits and period.
        Totp::new(&self.secret, self.options.clone()).map(|_| ())
    }

    /// The URI text. `algorithm`, `digits` and `period` appear only when they differ
    /// from the defaults, which every app assumes.
    pub fn to_uri(&self) -> String {
        let mut out = String::from("otpauth://");
        out.push_str(match self.kind {
            OtpKind::Totp => "totp/",
            OtpKind::Hotp { .. } => "hotp/",
        });
        if let Some(issuer) = &self.issuer {
            escape(issuer, &mut out);
            out.push(':');
        }
        escape(&self.account, &mut out);
        out.push_str("?secret=");
        out.push_str(&base32_encode(&self.secret));
        if let Some(issuer) = &self.issuer {
            out.push_str("&issuer=");
            escape(issuer, &mut out);
        }
        let o = &self.options;
        let defaults = OtpOptions::default();
        if o.algorithm != defaults.algorithm {
            let _ = write!(out, "&algorithm={}", o.algorithm.name());
        }
        if o.digits != defaults.digits {
            let _ = write!(out, "&digits={}", o.digits);
        }
        match self.kind {
            OtpKind::Hotp { counter } => {
                let _ = write!(out, "&counter={counter}");
            }
            OtpKind::Totp if o.period != defaults.period => {
                let _ = write!(out, "&period={}", o.period);
            }
            OtpKind::Totp => {}
        }
        out
    }

    /// Parses a URI. The secret must meet the length policy (`allow_short_secret` admits
    /// 80-bit secrets); an issuer given both in the label and as a parameter must agree.
    pub fn parse(uri: &str, allow_short_secret: bool) -> Result<Self> {
        let bad = |why: &'static str| err(ErrorKind::InvalidInput, why);
        if uri.len() > MAX_URI_BYTES {
            return bad("the otpauth URI is too long");
        }
        let Some(rest) = uri
            .get(..10)
            .filter(|s| s.eq_ignore_ascii_case("otpauth://"))
            .map(|_| &uri[10..])
        else {
            return bad("not an otpauth:// URI");
        };
        let (kind, rest) = rest.split_once('/').unwrap_or((rest, ""));
        let is_hotp = match kind.to_ascii_lowercase().as_str() {
            "totp" => false,
            "hotp" => true,
            _ => return bad("the otpauth URI type must be totp or hotp"),
        };
        let (label, query) = rest.split_once('?').unwrap_or((rest, ""));
        let query = query.split_once('#').map_or(query, |(q, _)| q);
        // The separator may itself be escaped (`Issuer%3Aaccount`).
        let label = unescape(label)?;
        let (label_issuer, account) = match label.split_once(':') {
            Some((issuer, account)) => (Some(issuer.to_string()), account.trim_start().to_string()),
            // Spaces may precede the account name (Key URI format), with or without an
            // issuer prefix: dropped either way, so a parsed URI prints back to itself.
            None => (None, label.trim_start().to_string()),
        };

        let mut options = OtpOptions {
            allow_short_secret,
            ..OtpOptions::default()
        };
        let (mut secret, mut issuer, mut counter) = (None, None, None);
        let mut seen = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = name.to_ascii_lowercase();
            if seen.contains(&name) {
                return err(
                    ErrorKind::InvalidInput,
                    format!("the otpauth URI repeats the `{name}` parameter"),
                );
            }
            let value = unescape(value)?;
            let number = |what: &str| {
                value.parse::<u64>().or_else(|_| {
                    err(
                        ErrorKind::InvalidInput,
                        format!("the otpauth `{what}` parameter is not a number"),
                    )
                })
            };
            match name.as_str() {
                "secret" => secret = Some(base32_decode(&value)?),
                "issuer" => issuer = Some(value.clone()),
                "algorithm" => options.algorithm = OtpAlgorithm::parse(&value)?,
                "digits" => options.digits = u8::try_from(number("digits")?).unwrap_or(0),
                "period" => options.period = number("period")?,
                "counter" => counter = Some(number("counter")?),
                _ => {} // image, color and other app extensions
            }
            seen.push(name);
        }
        let Some(secret) = secret else {
            return bad("the otpauth URI has no secret");
        };
        let issuer = match (label_issuer, issuer) {
            (Some(a), Some(b)) if a != b => {
                return bad("the issuer in the label and the issuer parameter differ")
            }
            (a, b) => b.or(a),
        };
        let kind = match (is_hotp, counter) {
            (false, _) => OtpKind::Totp,
            (true, Some(counter)) => OtpKind::Hotp { counter },
            (true, None) => return bad("an hotp URI needs a counter"),
        };
        let parsed = OtpUri {
            kind,
            secret,
            account,
            issuer,
            options,
        };
        parsed.check()?;
        Ok(parsed)
    }

    /// The TOTP generator the URI describes (`invalid_input` for an HOTP URI).
    pub fn to_totp(&self) -> Result<Totp> {
        match self.kind {
            OtpKind::Totp => Totp::new(&self.secret, self.options.clone()),
            OtpKind::Hotp { .. } => err(ErrorKind::InvalidInput, "this is an hotp URI"),
        }
    }

    /// The HOTP generator the URI describes (`invalid_input` for a TOTP URI).
    pub fn to_hotp(&self) -> Result<Hotp> {
        match self.kind {
            OtpKind::Hotp { .. } => Hotp::new(&self.secret, self.options.clone()),
            OtpKind::Totp => err(ErrorKind::InvalidInput, "this is a totp URI"),
        }
    }
}
