//! One-time codes: TOTP/HOTP, otpauth:// URIs, QR codes, the TOTP manager, SMS/email
//! challenges (delivered by the JavaScript facade, so senders may be async) and recovery
//! codes.

use authgate_core::otp::{
    self as otp, ChallengeConfig, Challenges, CodeLockout, Hotp, OtpAlgorithm, OtpKind, OtpOptions,
    OtpUri, QrCode, RecoveryCodes, RecoveryConfig, ThrottlePolicy, Totp, TotpManager,
    TotpManagerConfig,
};
use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;

use crate::convert::{bytes, opt_seconds, seconds};
use std::sync::Arc;

use crate::errors::{core, invalid_arg, Result};
use crate::offload::{offload, Offload};
use crate::session::{clock_or_system, store_or_default, JsManualClock, JsStore};
use napi::bindgen_prelude::AsyncTask;

/// A secret given as base32 text (string) or raw bytes (Buffer).
fn secret_arg(secret: &Either<String, Buffer>) -> Result<Vec<u8>> {
    match secret {
        Either::A(text) => core(otp::base32_decode(text)),
        Either::B(raw) => Ok(raw.to_vec()),
    }
}

#[napi(object)]
#[derive(Default)]
pub struct OtpOptionsInput {
    /// `'SHA1'` (default), `'SHA256'` or `'SHA512'`.
    pub algorithm: Option<String>,
    /// 6 (default) to 8.
    pub digits: Option<u32>,
    /// Seconds per step (TOTP; default 30).
    pub period: Option<f64>,
    /// Accept 80-bit secrets imported from other issuers.
    pub allow_short_secret: Option<bool>,
}

fn options(o: Option<OtpOptionsInput>) -> Result<OtpOptions> {
    let o = o.unwrap_or_default();
    let d = OtpOptions::default();
    Ok(OtpOptions {
        algorithm: match o.algorithm {
            Some(name) => core(OtpAlgorithm::parse(&name))?,
            None => d.algorithm,
        },
        digits: o.digits.map_or(Ok(d.digits), |n| {
            u8::try_from(n).map_err(|_| invalid_arg("digits must be 6, 7 or 8"))
        })?,
        period: opt_seconds(o.period, "period")?.unwrap_or(d.period),
        allow_short_secret: o.allow_short_secret.unwrap_or(false),
    })
}

fn now_or(time: Option<f64>) -> Result<u64> {
    time.map_or_else(
        || Ok(authgate_core::clock::unix_now()),
        |t| seconds(t, "time"),
    )
}

/// A new 160-bit secret from the OS CSPRNG, as base32.
#[napi(catch_unwind)]
pub fn generate_otp_secret() -> Result<String> {
    core(otp::generate_secret()).map(|s| otp::base32_encode(&s))
}

/// RFC 4648 base32, upper case, without padding.
#[napi(catch_unwind)]
pub fn base32_encode(data: Either<Buffer, String>) -> String {
    otp::base32_encode(&bytes(&data))
}

/// Decodes base32, ignoring case, spaces, hyphens and missing padding.
#[napi(catch_unwind)]
pub fn base32_decode(text: String) -> Result<Buffer> {
    core(otp::base32_decode(&text)).map(Buffer::from)
}

#[napi(object)]
pub struct TotpVerifyOptions {
    /// Seconds since the epoch (default: now).
    pub time: Option<f64>,
    /// Steps either side accepted (default 1).
    pub window: Option<u32>,
    /// The step of the last code accepted; this step and earlier ones are refused.
    pub last_step: Option<f64>,
}

/// A TOTP generator (RFC 6238) for one secret.
#[napi(js_name = "Totp")]
pub struct JsTotp {
    inner: Totp,
}

#[napi]
impl JsTotp {
    #[napi(constructor, catch_unwind)]
    pub fn new(secret: Either<String, Buffer>, options: Option<OtpOptionsInput>) -> Result<Self> {
        let secret = secret_arg(&secret)?;
        Ok(JsTotp {
            inner: core(Totp::new(&secret, self::options(options)?))?,
        })
    }

    /// The generator an `otpauth://totp/…` URI describes.
    #[napi(factory, catch_unwind)]
    pub fn from_uri(uri: String, allow_short_secret: Option<bool>) -> Result<Self> {
        let parsed = core(OtpUri::parse(&uri, allow_short_secret.unwrap_or(false)))?;
        Ok(JsTotp {
            inner: core(parsed.to_totp())?,
        })
    }

    /// The code now, or at `time` (seconds since the epoch).
    #[napi(catch_unwind)]
    pub fn now(&self, time: Option<f64>) -> Result<String> {
        Ok(self.inner.generate(now_or(time)?))
    }

    #[napi(catch_unwind)]
    pub fn at_step(&self, step: f64) -> Result<String> {
        Ok(self.inner.generate_at_step(seconds(step, "step")?))
    }

    #[napi(catch_unwind)]
    pub fn step(&self, time: Option<f64>) -> Result<f64> {
        Ok(self.inner.step(now_or(time)?) as f64)
    }

    #[napi(catch_unwind)]
    pub fn remaining_seconds(&self, time: Option<f64>) -> Result<f64> {
        Ok(self.inner.remaining_secs(now_or(time)?) as f64)
    }

    /// Checks `code` and returns its step; store it as the next `lastStep`.
    #[napi(catch_unwind)]
    pub fn verify(&self, code: String, options: Option<TotpVerifyOptions>) -> Result<f64> {
        let (time, window, last) = match options {
            Some(o) => (o.time, o.window, o.last_step),
            None => (None, None, None),
        };
        let last = opt_seconds(last, "lastStep")?;
        let window = u64::from(window.unwrap_or(1));
        core(self.inner.verify(&code, now_or(time)?, window, last)).map(|s| s as f64)
    }

    /// The `otpauth://` URI to show as a QR code.
    #[napi(catch_unwind)]
    pub fn provisioning_uri(&self, account: String, issuer: Option<String>) -> Result<String> {
        let uri = OtpUri::totp(
            self.inner.secret(),
            &account,
            issuer.as_deref(),
            self.inner.options().clone(),
        );
        core(uri).map(|u| u.to_uri())
    }

    /// The secret as base32.
    #[napi(getter)]
    pub fn secret(&self) -> String {
        otp::base32_encode(self.inner.secret())
    }
    #[napi(getter)]
    pub fn algorithm(&self) -> &'static str {
        self.inner.options().algorithm.name()
    }
    #[napi(getter)]
    pub fn digits(&self) -> u32 {
        u32::from(self.inner.options().digits)
    }
    #[napi(getter)]
    pub fn period(&self) -> f64 {
        self.inner.options().period as f64
    }
}

/// An HOTP generator (RFC 4226) for one secret.
#[napi(js_name = "Hotp")]
pub struct JsHotp {
    inner: Hotp,
}

#[napi]
impl JsHotp {
    #[napi(constructor, catch_unwind)]
    pub fn new(secret: Either<String, Buffer>, options: Option<OtpOptionsInput>) -> Result<Self> {
        let secret = secret_arg(&secret)?;
        Ok(JsHotp {
            inner: core(Hotp::new(&secret, self::options(options)?))?,
        })
    }

    #[napi(catch_unwind)]
    pub fn at(&self, counter: f64) -> Result<String> {
        Ok(self.inner.generate(seconds(counter, "counter")?))
    }

    /// Checks `code` against counters `counter … counter + lookAhead` (default 5) and
    /// returns the counter to store next.
    #[napi(catch_unwind)]
    pub fn verify(&self, code: String, counter: f64, look_ahead: Option<u32>) -> Result<f64> {
        let counter = seconds(counter, "counter")?;
        let look = u64::from(look_ahead.unwrap_or(5));
        core(self.inner.verify(&code, counter, look)).map(|n| n as f64)
    }

    #[napi(getter)]
    pub fn secret(&self) -> String {
        otp::base32_encode(self.inner.secret())
    }
}

/// The content of an `otpauth://` URI.
#[napi(object)]
pub struct OtpAuthUri {
    pub kind: String,
    pub account: String,
    pub issuer: Option<String>,
    /// base32
    pub secret: String,
    pub algorithm: String,
    pub digits: u32,
    pub period: f64,
    pub counter: Option<f64>,
}

/// Parses an `otpauth://` URI (80-bit secrets only with `allowShortSecret`).
#[napi(catch_unwind)]
pub fn parse_otpauth_uri(uri: String, allow_short_secret: Option<bool>) -> Result<OtpAuthUri> {
    let u = core(OtpUri::parse(&uri, allow_short_secret.unwrap_or(false)))?;
    let (kind, counter) = match u.kind {
        OtpKind::Totp => ("totp", None),
        OtpKind::Hotp { counter } => ("hotp", Some(counter as f64)),
    };
    Ok(OtpAuthUri {
        kind: kind.into(),
        account: u.account,
        issuer: u.issuer,
        secret: otp::base32_encode(&u.secret),
        algorithm: u.options.algorithm.name().into(),
        digits: u32::from(u.options.digits),
        period: u.options.period as f64,
        counter,
    })
}

/// A QR code of some text (an `otpauth://` URI): SVG, PNG or terminal text.
#[napi(js_name = "QrCode")]
pub struct JsQrCode {
    inner: QrCode,
}

#[napi]
impl JsQrCode {
    #[napi(constructor, catch_unwind)]
    pub fn new(text: String) -> Result<Self> {
        Ok(JsQrCode {
            inner: core(QrCode::new(&text))?,
        })
    }
    /// An SVG document, `scale` pixels per module (default 8).
    #[napi(catch_unwind)]
    pub fn svg(&self, scale: Option<u32>) -> Result<String> {
        core(self.inner.to_svg(scale.unwrap_or(8)))
    }
    /// PNG bytes, `scale` pixels per module (default 8).
    #[napi(catch_unwind)]
    pub fn png(&self, scale: Option<u32>) -> Result<Buffer> {
        core(self.inner.to_png(scale.unwrap_or(8))).map(Buffer::from)
    }
    /// Half-block text for a dark terminal.
    #[napi]
    pub fn text(&self) -> String {
        self.inner.to_text()
    }
    #[napi(getter)]
    pub fn width(&self) -> u32 {
        self.inner.width() as u32
    }
}

/// Failed-attempt throttling (all optional; defaults 5 free failures, 30 s doubling to
/// 3600 s, forgotten after 3600 s).
#[napi(object)]
#[derive(Default)]
pub struct ThrottleOptions {
    pub free_failures: Option<u32>,
    pub base_delay: Option<f64>,
    pub max_delay: Option<f64>,
    pub forget_after: Option<f64>,
}

fn throttle(o: Option<ThrottleOptions>) -> Result<ThrottlePolicy> {
    let o = o.unwrap_or_default();
    let d = ThrottlePolicy::default();
    Ok(ThrottlePolicy {
        free_failures: o.free_failures.unwrap_or(d.free_failures),
        base_delay: opt_seconds(o.base_delay, "baseDelay")?.unwrap_or(d.base_delay),
        max_delay: opt_seconds(o.max_delay, "maxDelay")?.unwrap_or(d.max_delay),
        forget_after: opt_seconds(o.forget_after, "forgetAfter")?.unwrap_or(d.forget_after),
    })
}

#[napi(object)]
#[derive(Default)]
pub struct TotpManagerOptions {
    /// Code checks that may fail in a row for one account before they lock (default 100).
    pub max_failures: Option<u32>,
    pub issuer: Option<String>,
    pub algorithm: Option<String>,
    pub digits: Option<u32>,
    pub period: Option<f64>,
    pub window: Option<u32>,
    pub throttle: Option<ThrottleOptions>,
    /// Seconds a pending enrollment waits for its first code (default 600).
    pub enrollment_ttl: Option<f64>,
}

/// A started enrollment: show `uri` as a QR code, wait for the first code.
#[napi(object)]
pub struct Enrollment {
    pub account: String,
    /// base32, for typing into the app by hand
    pub secret: String,
    pub uri: String,
    pub expires_at: f64,
}

/// Authenticator-app sign-in: enrollment, verification with replay prevention and
/// throttling, state in the store.
#[napi(js_name = "TotpManager")]
pub struct JsTotpManager {
    inner: Arc<TotpManager>,
}

#[napi]
impl JsTotpManager {
    #[napi(constructor, catch_unwind)]
    pub fn new(
        options: Option<TotpManagerOptions>,
        store: Option<&JsStore>,
        clock: Option<&JsManualClock>,
    ) -> Result<Self> {
        let o = options.unwrap_or_default();
        let d = TotpManagerConfig::default();
        let config = TotpManagerConfig {
            issuer: o.issuer,
            options: self::options(Some(OtpOptionsInput {
                algorithm: o.algorithm,
                digits: o.digits,
                period: o.period,
                allow_short_secret: None,
            }))?,
            window: o.window.map_or(d.window, u64::from),
            throttle: throttle(o.throttle)?,
            enrollment_ttl: opt_seconds(o.enrollment_ttl, "enrollmentTtl")?
                .unwrap_or(d.enrollment_ttl),
            max_failures: o.max_failures.unwrap_or(d.max_failures),
        };
        Ok(JsTotpManager {
            inner: Arc::new(core(TotpManager::with_clock(
                store_or_default(store),
                config,
                clock_or_system(clock),
            ))?),
        })
    }

    #[napi(catch_unwind)]
    pub fn begin_enrollment(&self, account: String) -> Result<Enrollment> {
        let e = core(self.inner.begin_enrollment(&account))?;
        Ok(Enrollment {
            secret: e.secret_base32(),
            uri: e.uri_text(),
            expires_at: e.expires_at as f64,
            account,
        })
    }

    /// Confirms the pending enrollment with its first code; returns the active secret
    /// (base32) to store with the user.
    #[napi(catch_unwind)]
    pub fn confirm_enrollment(&self, account: String, code: String) -> Result<String> {
        core(self.inner.confirm_enrollment(&account, &code)).map(|s| otp::base32_encode(&s))
    }

    #[napi(catch_unwind)]
    pub fn cancel_enrollment(&self, account: String) -> Result<bool> {
        core(self.inner.cancel_enrollment(&account))
    }

    /// Checks a code against the account's active secret; returns the matched step.
    #[napi(catch_unwind)]
    pub fn verify(
        &self,
        account: String,
        secret: Either<String, Buffer>,
        code: String,
    ) -> Result<f64> {
        let secret = secret_arg(&secret)?;
        core(self.inner.verify(&account, &secret, &code)).map(|s| s as f64)
    }

    /// `verify` on the thread pool, for a store on the network (Redis).
    #[napi(catch_unwind, ts_return_type = "Promise<number | TaskFailure>")]
    pub fn verify_async(
        &self,
        account: String,
        secret: Either<String, Buffer>,
        code: String,
    ) -> Result<AsyncTask<Offload<f64>>> {
        let secret = secret_arg(&secret)?;
        let inner = self.inner.clone();
        Ok(offload(move || {
            core(inner.verify(&account, &secret, &code)).map(|s| s as f64)
        }))
    }
}

#[napi(object)]
#[derive(Default)]
pub struct ChallengeOptions {
    /// Code checks that may fail in a row for one subject before they lock (default 100).
    pub max_failures: Option<u32>,
    pub digits: Option<u32>,
    pub ttl: Option<f64>,
    pub max_attempts: Option<u32>,
    pub resend_cooldown: Option<f64>,
    /// At least 32 bytes; give every server sharing a store the same key.
    pub hash_key: Option<Either<Buffer, String>>,
}

/// A stored challenge whose code the facade hands to the sender.
#[napi(object)]
pub struct PendingDelivery {
    pub code: String,
    pub expires_at: f64,
    pub resend_after: f64,
    pub attempts_left: u32,
}

/// Codes sent by SMS or email (the `Challenges` class in index.js wraps this with the
/// sender).
#[napi(js_name = "NativeChallenges")]
pub struct JsChallenges {
    inner: Arc<Challenges>,
}

#[napi]
impl JsChallenges {
    #[napi(constructor, catch_unwind)]
    pub fn new(
        options: Option<ChallengeOptions>,
        store: Option<&JsStore>,
        clock: Option<&JsManualClock>,
    ) -> Result<Self> {
        let o = options.unwrap_or_default();
        let d = ChallengeConfig::default();
        let config = ChallengeConfig {
            digits: o.digits.map_or(Ok(d.digits), |n| {
                u8::try_from(n).map_err(|_| invalid_arg("digits must be 4 to 10"))
            })?,
            ttl: opt_seconds(o.ttl, "ttl")?.unwrap_or(d.ttl),
            max_attempts: o.max_attempts.unwrap_or(d.max_attempts),
            resend_cooldown: opt_seconds(o.resend_cooldown, "resendCooldown")?
                .unwrap_or(d.resend_cooldown),
            hash_key: o.hash_key.as_ref().map(bytes),
            max_failures: o.max_failures.unwrap_or(d.max_failures),
        };
        Ok(JsChallenges {
            inner: Arc::new(core(Challenges::with_clock(
                store_or_default(store),
                config,
                clock_or_system(clock),
            ))?),
        })
    }

    #[napi(catch_unwind)]
    pub fn issue_for_delivery(
        &self,
        subject: String,
        destination: String,
    ) -> Result<PendingDelivery> {
        let p = core(self.inner.issue_for_delivery(&subject, &destination))?;
        Ok(PendingDelivery {
            code: p.code,
            expires_at: p.issued.expires_at as f64,
            resend_after: p.issued.resend_after as f64,
            attempts_left: p.issued.attempts_left,
        })
    }

    #[napi(catch_unwind)]
    pub fn cancel(&self, subject: String) -> Result<bool> {
        core(self.inner.cancel(&subject))
    }

    #[napi(catch_unwind)]
    pub fn verify(&self, subject: String, code: String) -> Result<()> {
        core(self.inner.verify(&subject, &code))
    }

    /// `verify` on the thread pool (the sender is JavaScript, so `issue` stays here).
    #[napi(catch_unwind, ts_return_type = "Promise<null | TaskFailure>")]
    pub fn verify_async(&self, subject: String, code: String) -> AsyncTask<Offload<()>> {
        let inner = self.inner.clone();
        offload(move || core(inner.verify(&subject, &code)))
    }
}

#[napi(object)]
#[derive(Default)]
pub struct RecoveryOptions {
    /// Codes per set (default 10).
    pub count: Option<u32>,
    /// Code checks that may fail in a row for one user before they lock (default 100).
    pub max_failures: Option<u32>,
    pub hash_key: Option<Either<Buffer, String>>,
    pub throttle: Option<ThrottleOptions>,
}

/// Single-use recovery codes (`xxxx-xxxx`), stored as keyed hashes.
#[napi(js_name = "RecoveryCodes")]
pub struct JsRecoveryCodes {
    inner: Arc<RecoveryCodes>,
}

#[napi]
impl JsRecoveryCodes {
    #[napi(constructor, catch_unwind)]
    pub fn new(
        options: Option<RecoveryOptions>,
        store: Option<&JsStore>,
        clock: Option<&JsManualClock>,
    ) -> Result<Self> {
        let o = options.unwrap_or_default();
        let d = RecoveryConfig::default();
        let config = RecoveryConfig {
            count: o.count.map_or(d.count, |n| n as usize),
            hash_key: o.hash_key.as_ref().map(bytes),
            throttle: throttle(o.throttle)?,
            max_failures: o.max_failures.unwrap_or(d.max_failures),
        };
        Ok(JsRecoveryCodes {
            inner: Arc::new(core(RecoveryCodes::with_clock(
                store_or_default(store),
                config,
                clock_or_system(clock),
            ))?),
        })
    }

    /// A new set for `user`, replacing the old one: show it once.
    #[napi(catch_unwind)]
    pub fn generate(&self, user: String) -> Result<Vec<String>> {
        core(self.inner.generate(&user))
    }

    /// Uses up one code; returns how many are left.
    #[napi(catch_unwind)]
    pub fn verify(&self, user: String, code: String) -> Result<u32> {
        core(self.inner.verify(&user, &code)).map(|n| n as u32)
    }

    /// `verify` on the thread pool, for a store on the network (Redis).
    #[napi(catch_unwind, ts_return_type = "Promise<number | TaskFailure>")]
    pub fn verify_async(&self, user: String, code: String) -> AsyncTask<Offload<u32>> {
        let inner = self.inner.clone();
        offload(move || core(inner.verify(&user, &code)).map(|n| n as u32))
    }

    #[napi(catch_unwind)]
    pub fn remaining(&self, user: String) -> Result<u32> {
        core(self.inner.remaining(&user)).map(|n| n as u32)
    }
}

/// The account-wide cap on one-time-code checks: how many failed in a row for an account
/// (across `TotpManager`, `Challenges` and `RecoveryCodes` on this store), and the unlock.
#[napi(js_name = "CodeLockout")]
pub struct JsCodeLockout {
    inner: Arc<CodeLockout>,
}

#[napi]
impl JsCodeLockout {
    #[napi(constructor, catch_unwind)]
    pub fn new(store: Option<&JsStore>, clock: Option<&JsManualClock>) -> Self {
        JsCodeLockout {
            inner: Arc::new(CodeLockout::with_clock(
                store_or_default(store),
                clock_or_system(clock),
            )),
        }
    }

    /// Code checks of `account` that failed in a row.
    #[napi(catch_unwind)]
    pub fn failures(&self, account: String) -> Result<u32> {
        core(self.inner.failures(&account))
    }

    /// Resets `account`'s count, unlocking its code checks; true if it had failures.
    #[napi(catch_unwind)]
    pub fn unlock(&self, account: String) -> Result<bool> {
        core(self.inner.unlock(&account))
    }
}
