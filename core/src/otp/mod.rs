//! One-time codes: HOTP (RFC 4226) and TOTP (RFC 6238) for authenticator apps, with
//! `otpauth://` provisioning URIs and QR codes; [`TotpManager`] adds enrollment, replay
//! prevention and failed-attempt throttling through the [`Store`](crate::store::Store).
//!
//! Codes are compared in constant time, and every step of a verification window is
//! computed and compared whether or not an earlier one matched.

mod base32;
mod challenge;
mod manager;
mod qr;
mod recovery;
mod uri;

pub use crate::store::ThrottlePolicy;
pub use base32::{base32_decode, base32_encode, MAX_BASE32_CHARS};
pub use challenge::{
    ChallengeConfig, Challenges, CodeDelivery, CodeSender, IssuedChallenge, PendingDelivery,
};
pub use manager::{Enrollment, TotpManager, TotpManagerConfig};
pub use qr::QrCode;
pub use recovery::{RecoveryCodes, RecoveryConfig};
pub use uri::{OtpKind, OtpUri};

use ::hmac::{Hmac, Mac};
use ring::hmac;

use crate::error::{err, Error, ErrorKind, Result};
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::store::{AttemptGate, LockoutGate, Store};
use crate::util::random_bytes;
use subtle::ConstantTimeEq;

/// The longest account, subject or user id accepted, in bytes.
pub const MAX_ACCOUNT_BYTES: usize = 256;

pub(crate) fn check_account(account: &str, what: &'static str) -> Result<()> {
    if account.is_empty() || account.len() > MAX_ACCOUNT_BYTES {
        return err(
            ErrorKind::InvalidInput,
            format!("the {what} must be 1 to {MAX_ACCOUNT_BYTES} bytes"),
        );
    }
    Ok(())
}

/// The default cap on one-time-code checks failed in a row per account, across TOTP,
/// SMS/email challenges and recovery codes: NIST SP 800-63B §5.2.2's 100.
pub const DEFAULT_MAX_FAILURES: u32 = 100;
/// The largest cap accepted.
pub const MAX_MAX_FAILURES: u32 = 10_000;
/// A count below the cap is forgotten after 30 days without a failure; a locked account
/// stays locked until [`CodeLockout::unlock`].
pub const LOCKOUT_FORGET_AFTER_SECS: u64 = 30 * 86_400;

pub(crate) fn check_max_failures(cap: u32) -> Result<()> {
    if !(1..=MAX_MAX_FAILURES).contains(&cap) {
        return err(
            ErrorKind::InvalidInput,
            format!("max_failures must be 1 to {MAX_MAX_FAILURES}"),
        );
    }
    Ok(())
}

/// Counts a code check against `account`'s cap, refusing with `account_locked` once `cap`
/// checks failed in a row. A success must call [`lockout_clear`].
pub(crate) fn lockout_begin(store: &dyn Store, account: &str, cap: u32, now: u64) -> Result<()> {
    match store.lockout_begin(account, cap, LOCKOUT_FORGET_AFTER_SECS, now)? {
        LockoutGate::Allowed { .. } => Ok(()),
        LockoutGate::Locked { .. } => err(
            ErrorKind::AccountLocked,
            "too many wrong codes in a row for this account: its code checks are locked \
             until the application unlocks them",
        ),
    }
}

pub(crate) fn lockout_clear(store: &dyn Store, account: &str) -> Result<()> {
    store.lockout_clear(account)
}

/// The account-wide cap's bookkeeping, for the application: how many code checks failed in
/// a row, and the unlock after the account was recovered (support, identity check). The
/// count is shared by [`TotpManager`], [`Challenges`] and [`RecoveryCodes`] on one store:
/// pass them the same account id (the user id) to cap them together.
pub struct CodeLockout {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl CodeLockout {
    pub fn new(store: Arc<dyn Store>) -> Self {
        CodeLockout::with_clock(store, Arc::new(SystemClock))
    }

    pub fn with_clock(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        CodeLockout { store, clock }
    }

    /// Code checks of `account` that failed in a row (and are not yet forgotten).
    pub fn failures(&self, account: &str) -> Result<u32> {
        check_account(account, "account")?;
        self.store.lockout_failures(account, self.clock.now())
    }

    /// Resets `account`'s count, unlocking its code checks. True if it had failures.
    pub fn unlock(&self, account: &str) -> Result<bool> {
        let had = self.failures(account)? > 0;
        self.store.lockout_clear(account)?;
        Ok(had)
    }
}

/// Counts an attempt against `key`, refusing with `too_many_attempts` while it is locked.
pub(crate) fn begin_attempt(
    store: &dyn Store,
    key: &str,
    now: u64,
    policy: &ThrottlePolicy,
) -> Result<()> {
    match store.attempt_begin(key, now, policy)? {
        AttemptGate::Allowed { .. } => Ok(()),
        AttemptGate::Locked { until } => Err(Error::new(
            ErrorKind::TooManyAttempts,
            "too many wrong codes: try again later",
        )
        .with_retry_after(until.saturating_sub(now))),
    }
}

/// Keyed hashes of short codes (SMS/email codes, recovery codes). A code has few bits,
/// so a plain hash could be reversed by trying them all; without the key it cannot.
#[derive(Clone)]
pub(crate) struct CodeHasher(hmac::Key);

impl CodeHasher {
    /// With the application's key (at least 32 bytes), or a random one for this process.
    pub(crate) fn new(key: Option<&[u8]>) -> Result<Self> {
        let key = match key {
            Some(k) if k.len() < 32 => {
                return err(
                    ErrorKind::WeakKey,
                    "the code-hashing key must be at least 32 bytes",
                )
            }
            Some(k) => k.to_vec(),
            None => {
                let mut k = vec![0u8; 32];
                random_bytes(&mut k)?;
                k
            }
        };
        Ok(CodeHasher(hmac::Key::new(hmac::HMAC_SHA256, &key)))
    }

    /// The hash of `code` for `owner`, so one code hashes differently per owner.
    pub(crate) fn hash(&self, owner: &str, code: &str) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(&(owner.len() as u64).to_be_bytes());
        ctx.update(owner.as_bytes());
        ctx.update(code.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
}

/// Bytes of secrets this library generates: 160 bits, RFC 4226 §4's recommendation.
pub const GENERATED_SECRET_BYTES: usize = 20;
/// The shortest secret accepted by default: 128 bits (RFC 4226 §4, R6).
pub const MIN_SECRET_BYTES: usize = 16;
/// The shortest secret accepted with `allow_short_secret`: 80 bits, still common in
/// secrets imported from other issuers.
pub const MIN_LEGACY_SECRET_BYTES: usize = 10;
/// The longest secret accepted.
pub const MAX_SECRET_BYTES: usize = 128;
pub const DEFAULT_DIGITS: u8 = 6;
pub const DEFAULT_PERIOD_SECS: u64 = 30;
/// Steps either side of the current one a TOTP code may come from.
pub const DEFAULT_WINDOW: u64 = 1;
/// Counters after the expected one an HOTP code may come from (RFC 4226 §7.4).
pub const DEFAULT_LOOK_AHEAD: u64 = 5;
/// The largest TOTP window and HOTP look-ahead accepted: each step costs one HMAC.
pub const MAX_WINDOW: u64 = 20;

/// The HMAC hash of a one-time-code generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OtpAlgorithm {
    #[default]
    Sha1,
    Sha256,
    Sha512,
}

impl OtpAlgorithm {
    /// The name used in `otpauth://` URIs: `SHA1`, `SHA256`, `SHA512`.
    pub const fn name(self) -> &'static str {
        match self {
            OtpAlgorithm::Sha1 => "SHA1",
            OtpAlgorithm::Sha256 => "SHA256",
            OtpAlgorithm::Sha512 => "SHA512",
        }
    }

    /// Parses a name, ignoring case and a hyphen (`sha-256`).
    pub fn parse(name: &str) -> Result<Self> {
        let n = name.to_ascii_uppercase().replace('-', "");
        match n.as_str() {
            "SHA1" => Ok(OtpAlgorithm::Sha1),
            "SHA256" => Ok(OtpAlgorithm::Sha256),
            "SHA512" => Ok(OtpAlgorithm::Sha512),
            _ => err(
                ErrorKind::InvalidInput,
                "the OTP algorithm must be SHA1, SHA256 or SHA512",
            ),
        }
    }
}

/// SHA-1's initial state (FIPS 180-4 §5.3.1).
const SHA1_IV: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];

/// HMAC-SHA1 (RFC 2104) of an 8-byte counter, with the states after the two padded key
/// blocks computed once: a code is then exactly two SHA-1 compressions (the counter's
/// block, the inner digest's block), with no buffering. Checked against RustCrypto's
/// `Hmac<Sha1>` for keys of every length around the block size, and by the RFC 4226 and
/// 6238 vectors.
#[derive(Clone)]
struct Sha1Mac {
    inner: [u32; 5],
    outer: [u32; 5],
}

impl Sha1Mac {
    fn new(secret: &[u8]) -> Self {
        use sha1::Digest;
        let mut key = [0u8; 64];
        if secret.len() > key.len() {
            key[..20].copy_from_slice(&sha1::Sha1::digest(secret));
        } else {
            key[..secret.len()].copy_from_slice(secret);
        }
        let state_after = |pad: u8| {
            let mut block = [0u8; 64];
            for (b, k) in block.iter_mut().zip(key) {
                *b = k ^ pad;
            }
            let mut state = SHA1_IV;
            sha1::compress(&mut state, &[block.into()]);
            state
        };
        Sha1Mac {
            inner: state_after(0x36),
            outer: state_after(0x5c),
        }
    }

    /// The last block of a message of `len` bytes (< 56) after one 64-byte block.
    fn final_block(data: &[u8]) -> [u8; 64] {
        let mut block = [0u8; 64];
        block[..data.len()].copy_from_slice(data);
        block[data.len()] = 0x80;
        block[56..].copy_from_slice(&((64 + data.len() as u64) * 8).to_be_bytes());
        block
    }

    /// The MAC as SHA-1's five state words (the digest is their big-endian bytes).
    fn mac_words(&self, message: [u8; 8]) -> [u32; 5] {
        let mut inner = self.inner;
        sha1::compress(&mut inner, &[Self::final_block(&message).into()]);
        let mut digest = [0u8; 20];
        for (chunk, word) in digest.chunks_exact_mut(4).zip(inner) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        let mut outer = self.outer;
        sha1::compress(&mut outer, &[Self::final_block(&digest).into()]);
        outer
    }

    #[cfg(test)]
    fn mac(&self, message: [u8; 8]) -> [u8; 20] {
        let mut out = [0u8; 20];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.mac_words(message)) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// RFC 4226 §5.3 dynamic truncation, read from the state words: the 4 digest bytes at
    /// the offset the last byte names (bytes 0–19 are the words' big-endian bytes).
    fn truncated(&self, message: [u8; 8]) -> u32 {
        let w = self.mac_words(message);
        let offset = (w[4] & 0x0f) as usize;
        let (i, shift) = (offset / 4, (offset % 4) * 8);
        // Bytes offset..offset+4 span words i and i+1 (i+1 <= 4 since offset <= 15).
        let joined = (u64::from(w[i]) << 32) | u64::from(w[i + 1]);
        ((joined >> (32 - shift)) as u32) & 0x7fff_ffff
    }
}

/// A secret's HMAC with its padded key blocks hashed once (RFC 2104's inner and outer
/// states): each code then costs two compressions of the counter, and cloning the state
/// allocates nothing. RustCrypto's SHA-1 and SHA-2 use the CPU's SHA instructions where it
/// has them (ring's SHA-1 is portable code: a TOTP check was 3.7x slower with it).
#[derive(Clone)]
enum CodeMac {
    // SHA-1 is what RFC 4226 and every authenticator app use; HMAC-SHA1 is not affected
    // by SHA-1's collision attacks.
    Sha1(Sha1Mac),
    Sha256(Hmac<sha2::Sha256>),
    Sha512(Hmac<sha2::Sha512>),
}

impl CodeMac {
    fn new(algorithm: OtpAlgorithm, secret: &[u8]) -> Result<Self> {
        let bad = |_| Error::new(ErrorKind::InvalidKey, "the OTP secret cannot key an HMAC");
        Ok(match algorithm {
            OtpAlgorithm::Sha1 => CodeMac::Sha1(Sha1Mac::new(secret)),
            OtpAlgorithm::Sha256 => CodeMac::Sha256(Hmac::new_from_slice(secret).map_err(bad)?),
            OtpAlgorithm::Sha512 => CodeMac::Sha512(Hmac::new_from_slice(secret).map_err(bad)?),
        })
    }

    /// RFC 4226 §5.3 dynamic truncation of the HMAC of `counter`: 31 bits.
    fn truncated(&self, counter: u64) -> u32 {
        fn truncate(mac: &[u8]) -> u32 {
            let offset = (mac[mac.len() - 1] & 0x0f) as usize;
            u32::from_be_bytes([
                mac[offset],
                mac[offset + 1],
                mac[offset + 2],
                mac[offset + 3],
            ]) & 0x7fff_ffff
        }
        let message = counter.to_be_bytes();
        match self {
            CodeMac::Sha1(k) => k.truncated(message),
            CodeMac::Sha256(k) => {
                truncate(&k.clone().chain_update(message).finalize().into_bytes())
            }
            CodeMac::Sha512(k) => {
                truncate(&k.clone().chain_update(message).finalize().into_bytes())
            }
        }
    }
}

/// The parameters of a code generator besides its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpOptions {
    pub algorithm: OtpAlgorithm,
    /// 6 to 8.
    pub digits: u8,
    /// TOTP step length in seconds (1 to 3600); unused by HOTP.
    pub period: u64,
    /// Accept secrets of 80 to 127 bits (imported from other issuers).
    pub allow_short_secret: bool,
}

impl Default for OtpOptions {
    fn default() -> Self {
        OtpOptions {
            algorithm: OtpAlgorithm::Sha1,
            digits: DEFAULT_DIGITS,
            period: DEFAULT_PERIOD_SECS,
            allow_short_secret: false,
        }
    }
}

impl OtpOptions {
    fn check(&self, secret: &[u8]) -> Result<()> {
        if !(6..=8).contains(&self.digits) {
            return err(ErrorKind::InvalidInput, "digits must be 6, 7 or 8");
        }
        if !(1..=3600).contains(&self.period) {
            return err(
                ErrorKind::InvalidInput,
                "the period must be 1 to 3600 seconds",
            );
        }
        let min = if self.allow_short_secret {
            MIN_LEGACY_SECRET_BYTES
        } else {
            MIN_SECRET_BYTES
        };
        if secret.len() < min {
            return err(
                ErrorKind::WeakKey,
                if self.allow_short_secret {
                    "the secret is shorter than 80 bits"
                } else {
                    "the secret is shorter than 128 bits (pass allow_short_secret for imported 80-bit secrets)"
                },
            );
        }
        if secret.len() > MAX_SECRET_BYTES {
            return err(ErrorKind::InvalidKey, "the secret is longer than 1024 bits");
        }
        Ok(())
    }
}

/// A new secret of [`GENERATED_SECRET_BYTES`] from the OS CSPRNG.
pub fn generate_secret() -> Result<Vec<u8>> {
    let mut secret = vec![0u8; GENERATED_SECRET_BYTES];
    random_bytes(&mut secret)?;
    Ok(secret)
}

/// The shared core of HOTP and TOTP: an HMAC key and the code length.
#[derive(Clone)]
struct CodeGenerator {
    key: CodeMac,
    secret: Vec<u8>,
    options: OtpOptions,
}

impl CodeGenerator {
    fn new(secret: &[u8], options: OtpOptions) -> Result<Self> {
        options.check(secret)?;
        Ok(CodeGenerator {
            key: CodeMac::new(options.algorithm, secret)?,
            secret: secret.to_vec(),
            options,
        })
    }

    /// RFC 4226 §5.3: HMAC of the counter, dynamic truncation, modulo 10^digits.
    fn code_number(&self, counter: u64) -> u32 {
        let n = self.key.truncated(counter);
        // Constant divisors (a multiplication each), not a division by a variable.
        match self.options.digits {
            6 => n % 1_000_000,
            7 => n % 10_000_000,
            _ => n % 100_000_000,
        }
    }

    fn code(&self, counter: u64) -> String {
        // Zero-padded decimal digits, written in place (no formatting machinery).
        let digits = usize::from(self.options.digits);
        let mut n = self.code_number(counter);
        let mut text = [b'0'; 10];
        for slot in text[..digits].iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        text[..digits].iter().map(|&b| char::from(b)).collect()
    }

    /// The code as typed, with spaces and dashes removed, as its number, if it has the
    /// right number of digits (leading zeros count: `012345` is 6 digits, the number 12345).
    fn normalize(&self, code: &str) -> Option<u32> {
        let digits = usize::from(self.options.digits);
        if code.len() > 64 {
            return None;
        }
        let (mut n, mut value) = (0, 0u32);
        for &b in code.as_bytes() {
            match b {
                b' ' | b'-' => continue,
                b'0'..=b'9' if n < digits => {
                    value = value * 10 + u32::from(b - b'0');
                    n += 1;
                }
                _ => return None,
            }
        }
        (n == digits).then_some(value)
    }

    /// Calls `found` with each counter in `range` whose code is `code`, compared in
    /// constant time, every counter computed whatever matched. Nothing is allocated.
    fn matches(&self, code: u32, range: std::ops::RangeInclusive<u64>, mut found: impl FnMut(u64)) {
        for counter in range {
            if bool::from(self.code_number(counter).ct_eq(&code)) {
                found(counter);
            }
        }
    }
}

/// An HOTP generator (RFC 4226): codes by counter.
#[derive(Clone)]
pub struct Hotp(CodeGenerator);

impl Hotp {
    pub fn new(secret: &[u8], options: OtpOptions) -> Result<Self> {
        CodeGenerator::new(secret, options).map(Hotp)
    }

    pub fn from_base32(secret: &str, options: OtpOptions) -> Result<Self> {
        Hotp::new(&base32_decode(secret)?, options)
    }

    pub fn generate(&self, counter: u64) -> String {
        self.0.code(counter)
    }

    /// Checks `code` against counters `counter ..= counter + look_ahead` and returns the
    /// counter to store next (the matched one plus one), so a code works once.
    pub fn verify(&self, code: &str, counter: u64, look_ahead: u64) -> Result<u64> {
        check_window(look_ahead, "look_ahead")?;
        let Some(code) = self.0.normalize(code) else {
            return err(
                ErrorKind::InvalidCode,
                "the code is not the expected number of digits",
            );
        };
        let last = counter.saturating_add(look_ahead);
        let mut first = None;
        self.0.matches(code, counter..=last, |c| {
            first.get_or_insert(c);
        });
        match first {
            // The counter after the last one has no successor: a code for it cannot be
            // consumed (wrapping to 0 would make every old code valid again).
            Some(matched) => matched.checked_add(1).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidInput,
                    "the HOTP counter is exhausted (u64::MAX)",
                )
            }),
            None => err(ErrorKind::InvalidCode, "the code is not valid"),
        }
    }

    pub fn secret(&self) -> &[u8] {
        &self.0.secret
    }

    pub fn options(&self) -> &OtpOptions {
        &self.0.options
    }
}

fn check_window(window: u64, what: &'static str) -> Result<()> {
    if window > MAX_WINDOW {
        return err(
            ErrorKind::InvalidInput,
            format!("{what} must be at most {MAX_WINDOW}"),
        );
    }
    Ok(())
}

/// A TOTP generator (RFC 6238, T0 = 0): codes by time step.
#[derive(Clone)]
pub struct Totp(CodeGenerator);

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Totp")
            .field("options", &self.0.options)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Hotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hotp")
            .field("options", &self.0.options)
            .finish_non_exhaustive()
    }
}

impl Totp {
    pub fn new(secret: &[u8], options: OtpOptions) -> Result<Self> {
        CodeGenerator::new(secret, options).map(Totp)
    }

    pub fn from_base32(secret: &str, options: OtpOptions) -> Result<Self> {
        Totp::new(&base32_decode(secret)?, options)
    }

    /// The time step `unix_time` falls in.
    pub fn step(&self, unix_time: u64) -> u64 {
        unix_time / self.0.options.period
    }

    /// The code at `unix_time`.
    pub fn generate(&self, unix_time: u64) -> String {
        self.0.code(self.step(unix_time))
    }

    /// The code of time step `step`.
    pub fn generate_at_step(&self, step: u64) -> String {
        self.0.code(step)
    }

    /// Seconds until the code shown at `unix_time` changes.
    pub fn remaining_secs(&self, unix_time: u64) -> u64 {
        self.0.options.period - unix_time % self.0.options.period
    }

    /// Checks `code` at `unix_time`, accepting steps `window` either side of the current
    /// one, and returns the matched step. With `last_step` (the step of the last code
    /// accepted for this secret), a code of that step or an earlier one is `code_reused`:
    /// store the returned step as the new `last_step`. When neighbouring steps share a code
    /// (one chance in a million per pair), the latest is reported.
    pub fn verify(
        &self,
        code: &str,
        unix_time: u64,
        window: u64,
        last_step: Option<u64>,
    ) -> Result<u64> {
        check_window(window, "window")?;
        let Some(code) = self.0.normalize(code) else {
            return err(
                ErrorKind::InvalidCode,
                "the code is not the expected number of digits",
            );
        };
        let now = self.step(unix_time);
        // The latest matching step newer than `last_step`, and whether any step matched.
        let (mut fresh, mut any) = (None, false);
        self.0.matches(
            code,
            now.saturating_sub(window)..=now.saturating_add(window),
            |step| {
                any = true;
                if last_step.is_none_or(|last| step > last) {
                    fresh = Some(step);
                }
            },
        );
        match (fresh, any) {
            (Some(step), _) => Ok(step),
            (None, true) => err(ErrorKind::CodeReused, "the code was already used"),
            (None, false) => err(ErrorKind::InvalidCode, "the code is not valid"),
        }
    }

    pub fn secret(&self) -> &[u8] {
        &self.0.secret
    }

    pub fn options(&self) -> &OtpOptions {
        &self.0.options
    }
}

#[cfg(test)]
mod sha1_mac_tests {
    #[test]
    fn truncation_from_the_state_words_is_rfc_4226s_at_every_offset() {
        let mac = super::Sha1Mac::new(b"12345678901234567890");
        let mut offsets = [false; 16];
        for counter in 0u64..2_000 {
            let bytes = mac.mac(counter.to_be_bytes());
            let offset = usize::from(bytes[19] & 0x0f);
            offsets[offset] = true;
            let expected = u32::from_be_bytes([
                bytes[offset],
                bytes[offset + 1],
                bytes[offset + 2],
                bytes[offset + 3],
            ]) & 0x7fff_ffff;
            assert_eq!(mac.truncated(counter.to_be_bytes()), expected, "{counter}");
        }
        assert!(
            offsets.iter().all(|&seen| seen),
            "every offset 0..=15 was tried"
        );
    }

    #[test]
    fn the_sha1_mac_is_hmac_sha1() {
        use ::hmac::{Hmac, Mac};
        for len in [0usize, 1, 10, 20, 32, 63, 64, 65, 100, 128, 200] {
            let secret: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let ours = super::Sha1Mac::new(&secret);
            for counter in [0u64, 1, 56_666_666, u64::MAX] {
                let mut theirs = Hmac::<sha1::Sha1>::new_from_slice(&secret).unwrap();
                theirs.update(&counter.to_be_bytes());
                assert_eq!(
                    ours.mac(counter.to_be_bytes())[..],
                    theirs.finalize().into_bytes()[..],
                    "key of {len} bytes, counter {counter}"
                );
            }
        }
    }
}
