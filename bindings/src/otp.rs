//! Authenticator codes for apps: TOTP/HOTP generation and `otpauth://` parsing, so an app
//! can act as an authenticator or show a code from a scanned QR.

use std::sync::Arc;

use authgate_core::otp as core;

use crate::errors::{guard, Result};
use crate::token_manager::{clock_of, TimeSource};

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum OtpAlgorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl From<OtpAlgorithm> for core::OtpAlgorithm {
    fn from(a: OtpAlgorithm) -> Self {
        match a {
            OtpAlgorithm::Sha1 => core::OtpAlgorithm::Sha1,
            OtpAlgorithm::Sha256 => core::OtpAlgorithm::Sha256,
            OtpAlgorithm::Sha512 => core::OtpAlgorithm::Sha512,
        }
    }
}

impl From<core::OtpAlgorithm> for OtpAlgorithm {
    fn from(a: core::OtpAlgorithm) -> Self {
        match a {
            core::OtpAlgorithm::Sha1 => OtpAlgorithm::Sha1,
            core::OtpAlgorithm::Sha256 => OtpAlgorithm::Sha256,
            core::OtpAlgorithm::Sha512 => OtpAlgorithm::Sha512,
        }
    }
}

/// A generator's parameters; every `None` takes the core's default (SHA1, 6 digits, 30 s,
/// secrets of at least 128 bits).
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct OtpOptions {
    #[uniffi(default = None)]
    pub algorithm: Option<OtpAlgorithm>,
    #[uniffi(default = None)]
    pub digits: Option<u8>,
    #[uniffi(default = None)]
    pub period_secs: Option<u64>,
    /// Accept 80-bit secrets imported from other issuers.
    #[uniffi(default = None)]
    pub allow_short_secret: Option<bool>,
}

impl From<OtpOptions> for core::OtpOptions {
    fn from(o: OtpOptions) -> Self {
        let d = core::OtpOptions::default();
        core::OtpOptions {
            algorithm: o.algorithm.map_or(d.algorithm, Into::into),
            digits: o.digits.unwrap_or(d.digits),
            period: o.period_secs.unwrap_or(d.period),
            allow_short_secret: o.allow_short_secret.unwrap_or(d.allow_short_secret),
        }
    }
}

/// A TOTP generator (RFC 6238).
#[derive(uniffi::Object)]
pub struct Totp {
    inner: core::Totp,
    clock: Arc<dyn authgate_core::clock::Clock>,
}

#[uniffi::export]
impl Totp {
    #[uniffi::constructor(default(options = None, time_source = None))]
    pub fn new(
        secret: Vec<u8>,
        options: Option<OtpOptions>,
        time_source: Option<Arc<dyn TimeSource>>,
    ) -> Result<Arc<Self>> {
        guard(|| core::Totp::new(&secret, options.unwrap_or_default().into()))
            .map(|inner| totp(inner, time_source))
    }

    /// From a base32 secret as authenticator apps show it (spaces, lower case and missing
    /// padding are fine).
    #[uniffi::constructor(default(options = None, time_source = None))]
    pub fn from_base32(
        secret: String,
        options: Option<OtpOptions>,
        time_source: Option<Arc<dyn TimeSource>>,
    ) -> Result<Arc<Self>> {
        guard(|| core::Totp::from_base32(&secret, options.unwrap_or_default().into()))
            .map(|inner| totp(inner, time_source))
    }

    /// From a scanned `otpauth://totp/…` URI.
    #[uniffi::constructor(default(allow_short_secret = false, time_source = None))]
    pub fn from_uri(
        uri: String,
        allow_short_secret: bool,
        time_source: Option<Arc<dyn TimeSource>>,
    ) -> Result<Arc<Self>> {
        guard(|| core::OtpUri::parse(&uri, allow_short_secret)?.to_totp())
            .map(|inner| totp(inner, time_source))
    }

    /// The code shown now.
    pub fn now(&self) -> Result<String> {
        guard(|| Ok(self.inner.generate(self.clock.now())))
    }

    /// The code at `unix_time`.
    pub fn at(&self, unix_time: u64) -> Result<String> {
        guard(|| Ok(self.inner.generate(unix_time)))
    }

    /// Seconds until the code shown now changes (for a countdown).
    pub fn remaining_secs(&self) -> Result<u64> {
        guard(|| Ok(self.inner.remaining_secs(self.clock.now())))
    }

    /// Checks `code` at `unix_time` with `window` steps either side (default 1); returns
    /// the matched step. With `last_step`, a code of that step or earlier is `code_reused`.
    #[uniffi::method(default(window = None, last_step = None))]
    pub fn verify(
        &self,
        code: String,
        unix_time: u64,
        window: Option<u64>,
        last_step: Option<u64>,
    ) -> Result<u64> {
        guard(|| {
            self.inner.verify(
                &code,
                unix_time,
                window.unwrap_or(core::DEFAULT_WINDOW),
                last_step,
            )
        })
    }
}

fn totp(inner: core::Totp, time_source: Option<Arc<dyn TimeSource>>) -> Arc<Totp> {
    Arc::new(Totp {
        inner,
        clock: clock_of(time_source),
    })
}

/// An HOTP generator (RFC 4226).
#[derive(uniffi::Object)]
pub struct Hotp(core::Hotp);

#[uniffi::export]
impl Hotp {
    #[uniffi::constructor(default(options = None))]
    pub fn new(secret: Vec<u8>, options: Option<OtpOptions>) -> Result<Arc<Self>> {
        guard(|| {
            core::Hotp::new(&secret, options.unwrap_or_default().into()).map(|h| Arc::new(Hotp(h)))
        })
    }

    #[uniffi::constructor(default(options = None))]
    pub fn from_base32(secret: String, options: Option<OtpOptions>) -> Result<Arc<Self>> {
        guard(|| {
            core::Hotp::from_base32(&secret, options.unwrap_or_default().into())
                .map(|h| Arc::new(Hotp(h)))
        })
    }

    pub fn at(&self, counter: u64) -> Result<String> {
        guard(|| Ok(self.0.generate(counter)))
    }

    /// Checks `code` against `counter ..= counter + look_ahead` (default 5) and returns the
    /// counter to store next.
    #[uniffi::method(default(look_ahead = None))]
    pub fn verify(&self, code: String, counter: u64, look_ahead: Option<u64>) -> Result<u64> {
        guard(|| {
            self.0.verify(
                &code,
                counter,
                look_ahead.unwrap_or(core::DEFAULT_LOOK_AHEAD),
            )
        })
    }
}

/// What a scanned `otpauth://` URI holds.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OtpauthUri {
    /// `true` for `otpauth://hotp`.
    pub is_hotp: bool,
    pub secret: Vec<u8>,
    pub account: String,
    pub issuer: Option<String>,
    pub algorithm: OtpAlgorithm,
    pub digits: u8,
    pub period_secs: u64,
    /// The HOTP counter to start from; `None` for TOTP.
    pub counter: Option<u64>,
}

/// Parses an `otpauth://totp/…` or `otpauth://hotp/…` URI (Key URI format).
#[uniffi::export(default(allow_short_secret = false))]
pub fn parse_otpauth_uri(uri: String, allow_short_secret: bool) -> Result<OtpauthUri> {
    guard(|| {
        let u = core::OtpUri::parse(&uri, allow_short_secret)?;
        let counter = match u.kind {
            core::OtpKind::Hotp { counter } => Some(counter),
            core::OtpKind::Totp => None,
        };
        Ok(OtpauthUri {
            is_hotp: counter.is_some(),
            secret: u.secret,
            account: u.account,
            issuer: u.issuer,
            algorithm: u.options.algorithm.into(),
            digits: u.options.digits,
            period_secs: u.options.period,
            counter,
        })
    })
}
