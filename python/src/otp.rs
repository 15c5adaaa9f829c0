//! One-time codes: TOTP/HOTP, otpauth:// URIs, QR codes, the TOTP manager, SMS/email
//! challenges and recovery codes.

use std::cell::RefCell;

use authgate_core::otp::{
    self as otp, ChallengeConfig, Challenges, CodeDelivery, CodeLockout, CodeSender, Hotp,
    OtpAlgorithm, OtpKind, OtpOptions, OtpUri, QrCode, RecoveryCodes, RecoveryConfig,
    ThrottlePolicy, Totp, TotpManager, TotpManagerConfig, DEFAULT_MAX_FAILURES,
};
use authgate_core::{Error, ErrorKind};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::convert;
use crate::errors::{guard, guard_detached};
use crate::session::{clock_or_system, store_or_default, PyManualClock, StoreArg};

/// A secret given as base32 text (`str`) or raw `bytes`.
fn secret_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s.to_cow()?;
        return guard(obj.py(), || otp::base32_decode(&text));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(
        "the secret must be base32 text (str) or raw bytes",
    ))
}

fn options(
    py: Python<'_>,
    algorithm: &str,
    digits: u8,
    period: u64,
    allow_short_secret: bool,
) -> PyResult<OtpOptions> {
    Ok(OtpOptions {
        algorithm: guard(py, || OtpAlgorithm::parse(algorithm))?,
        digits,
        period,
        allow_short_secret,
    })
}

fn time_or_now(time: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
    time.map_or_else(|| Ok(authgate_core::clock::unix_now()), convert::timestamp)
}

/// Seconds (int or `timedelta`), or `default` when not given.
fn opt_seconds(obj: Option<&Bound<'_, PyAny>>, default: u64) -> PyResult<u64> {
    obj.map_or(Ok(default), convert::seconds)
}

/// A new 160-bit secret from the OS CSPRNG, as base32 (what apps store and show).
#[pyfunction]
pub fn generate_otp_secret(py: Python<'_>) -> PyResult<String> {
    guard(py, otp::generate_secret).map(|s| otp::base32_encode(&s))
}

/// RFC 4648 base32, upper case, without padding.
#[pyfunction]
pub fn base32_encode(data: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(otp::base32_encode(&convert::bytes(data)?))
}

/// Decodes base32, ignoring case, spaces, hyphens and missing padding.
#[pyfunction]
pub fn base32_decode<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = guard(py, || otp::base32_decode(text))?;
    Ok(PyBytes::new(py, &bytes))
}

/// A TOTP generator (RFC 6238) for one secret.
#[pyclass(frozen, name = "Totp", module = "authgate")]
pub struct PyTotp {
    inner: Totp,
}

#[pymethods]
impl PyTotp {
    #[new]
    #[pyo3(signature = (secret, *, algorithm = "SHA1", digits = 6, period = 30, allow_short_secret = false))]
    fn new(
        py: Python<'_>,
        secret: &Bound<'_, PyAny>,
        algorithm: &str,
        digits: u8,
        period: u64,
        allow_short_secret: bool,
    ) -> PyResult<Self> {
        let secret = secret_arg(secret)?;
        let options = options(py, algorithm, digits, period, allow_short_secret)?;
        Ok(PyTotp {
            inner: guard(py, || Totp::new(&secret, options))?,
        })
    }

    /// The generator an `otpauth://totp/…` URI describes.
    #[staticmethod]
    #[pyo3(signature = (uri, *, allow_short_secret = false))]
    fn from_uri(py: Python<'_>, uri: &str, allow_short_secret: bool) -> PyResult<Self> {
        let inner = guard(py, || {
            OtpUri::parse(uri, allow_short_secret).and_then(|u| u.to_totp())
        })?;
        Ok(PyTotp { inner })
    }

    /// The code now (or at `time`: seconds or an aware `datetime`).
    #[pyo3(signature = (time = None))]
    fn now(&self, time: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
        Ok(self.inner.generate(time_or_now(time)?))
    }

    fn at(&self, time: &Bound<'_, PyAny>) -> PyResult<String> {
        Ok(self.inner.generate(convert::timestamp(time)?))
    }

    fn at_step(&self, step: u64) -> String {
        self.inner.generate_at_step(step)
    }

    #[pyo3(signature = (time = None))]
    fn step(&self, time: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
        Ok(self.inner.step(time_or_now(time)?))
    }

    /// Seconds until the code changes.
    #[pyo3(signature = (time = None))]
    fn remaining_seconds(&self, time: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
        Ok(self.inner.remaining_secs(time_or_now(time)?))
    }

    /// Checks `code` and returns its step; with `last_step`, a step not after it raises
    /// `CodeReused`. Store the returned step as the next `last_step`.
    #[pyo3(signature = (code, *, time = None, window = 1, last_step = None))]
    fn verify(
        &self,
        py: Python<'_>,
        code: &str,
        time: Option<&Bound<'_, PyAny>>,
        window: u64,
        last_step: Option<u64>,
    ) -> PyResult<u64> {
        let now = time_or_now(time)?;
        guard(py, || self.inner.verify(code, now, window, last_step))
    }

    /// The `otpauth://` URI to show as a QR code.
    #[pyo3(signature = (account, *, issuer = None))]
    fn provisioning_uri(
        &self,
        py: Python<'_>,
        account: &str,
        issuer: Option<&str>,
    ) -> PyResult<String> {
        guard(py, || {
            OtpUri::totp(
                self.inner.secret(),
                account,
                issuer,
                self.inner.options().clone(),
            )
            .map(|u| u.to_uri())
        })
    }

    /// The secret as base32.
    #[getter]
    fn secret(&self) -> String {
        otp::base32_encode(self.inner.secret())
    }
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.inner.options().algorithm.name()
    }
    #[getter]
    fn digits(&self) -> u8 {
        self.inner.options().digits
    }
    #[getter]
    fn period(&self) -> u64 {
        self.inner.options().period
    }
    fn __repr__(&self) -> String {
        let o = self.inner.options();
        format!(
            "Totp(algorithm={:?}, digits={}, period={})",
            o.algorithm.name(),
            o.digits,
            o.period
        )
    }
}

/// An HOTP generator (RFC 4226) for one secret.
#[pyclass(frozen, name = "Hotp", module = "authgate")]
pub struct PyHotp {
    inner: Hotp,
}

#[pymethods]
impl PyHotp {
    #[new]
    #[pyo3(signature = (secret, *, algorithm = "SHA1", digits = 6, allow_short_secret = false))]
    fn new(
        py: Python<'_>,
        secret: &Bound<'_, PyAny>,
        algorithm: &str,
        digits: u8,
        allow_short_secret: bool,
    ) -> PyResult<Self> {
        let secret = secret_arg(secret)?;
        let options = options(
            py,
            algorithm,
            digits,
            otp::DEFAULT_PERIOD_SECS,
            allow_short_secret,
        )?;
        Ok(PyHotp {
            inner: guard(py, || Hotp::new(&secret, options))?,
        })
    }

    fn at(&self, counter: u64) -> String {
        self.inner.generate(counter)
    }

    /// Checks `code` against counters `counter … counter + look_ahead` and returns the
    /// counter to store next.
    #[pyo3(signature = (code, counter, *, look_ahead = 5))]
    fn verify(&self, py: Python<'_>, code: &str, counter: u64, look_ahead: u64) -> PyResult<u64> {
        guard(py, || self.inner.verify(code, counter, look_ahead))
    }

    #[getter]
    fn secret(&self) -> String {
        otp::base32_encode(self.inner.secret())
    }
}

/// The content of an `otpauth://` URI.
#[pyclass(frozen, get_all, name = "OtpAuthUri", module = "authgate")]
pub struct PyOtpAuthUri {
    kind: &'static str,
    account: String,
    issuer: Option<String>,
    /// base32
    secret: String,
    algorithm: &'static str,
    digits: u8,
    period: u64,
    counter: Option<u64>,
}

#[pymethods]
impl PyOtpAuthUri {
    fn __repr__(&self) -> String {
        format!(
            "OtpAuthUri(kind={:?}, issuer={:?}, account={:?})",
            self.kind, self.issuer, self.account
        )
    }
}

/// Parses an `otpauth://` URI (80-bit secrets only with `allow_short_secret`).
#[pyfunction]
#[pyo3(signature = (uri, *, allow_short_secret = false))]
pub fn parse_otpauth_uri(
    py: Python<'_>,
    uri: &str,
    allow_short_secret: bool,
) -> PyResult<PyOtpAuthUri> {
    let u = guard(py, || OtpUri::parse(uri, allow_short_secret))?;
    let (kind, counter) = match u.kind {
        OtpKind::Totp => ("totp", None),
        OtpKind::Hotp { counter } => ("hotp", Some(counter)),
    };
    Ok(PyOtpAuthUri {
        kind,
        account: u.account,
        issuer: u.issuer,
        secret: otp::base32_encode(&u.secret),
        algorithm: u.options.algorithm.name(),
        digits: u.options.digits,
        period: u.options.period,
        counter,
    })
}

/// A QR code of some text (an `otpauth://` URI), rendered as SVG, PNG or terminal text.
#[pyclass(frozen, name = "QrCode", module = "authgate")]
pub struct PyQrCode {
    inner: QrCode,
}

#[pymethods]
impl PyQrCode {
    #[new]
    fn new(py: Python<'_>, text: &str) -> PyResult<Self> {
        Ok(PyQrCode {
            inner: guard(py, || QrCode::new(text))?,
        })
    }
    #[pyo3(signature = (scale = 8))]
    fn svg(&self, py: Python<'_>, scale: u32) -> PyResult<String> {
        guard(py, || self.inner.to_svg(scale))
    }
    #[pyo3(signature = (scale = 8))]
    fn png<'py>(&self, py: Python<'py>, scale: u32) -> PyResult<Bound<'py, PyBytes>> {
        let png = guard(py, || self.inner.to_png(scale))?;
        Ok(PyBytes::new(py, &png))
    }
    /// Half-block text for a dark terminal.
    fn text(&self) -> String {
        self.inner.to_text()
    }
    #[getter]
    fn width(&self) -> usize {
        self.inner.width()
    }
}

/// Failed-attempt throttling: `free_failures` wrong codes cost nothing, each further one
/// locks for `base_delay` seconds doubling up to `max_delay`; forgotten `forget_after`
/// seconds after the last failure, or at once after a success.
#[pyclass(frozen, get_all, name = "ThrottlePolicy", module = "authgate")]
#[derive(Clone)]
pub struct PyThrottlePolicy {
    free_failures: u32,
    base_delay: u64,
    max_delay: u64,
    forget_after: u64,
}

#[pymethods]
impl PyThrottlePolicy {
    #[new]
    #[pyo3(signature = (*, free_failures = 5, base_delay = 30, max_delay = 3600, forget_after = 3600))]
    fn new(free_failures: u32, base_delay: u64, max_delay: u64, forget_after: u64) -> Self {
        PyThrottlePolicy {
            free_failures,
            base_delay,
            max_delay,
            forget_after,
        }
    }
    fn __repr__(&self) -> String {
        format!(
            "ThrottlePolicy(free_failures={}, base_delay={}, max_delay={}, forget_after={})",
            self.free_failures, self.base_delay, self.max_delay, self.forget_after
        )
    }
}

fn throttle(p: Option<PyRef<'_, PyThrottlePolicy>>) -> ThrottlePolicy {
    p.map_or_else(ThrottlePolicy::default, |p| ThrottlePolicy {
        free_failures: p.free_failures,
        base_delay: p.base_delay,
        max_delay: p.max_delay,
        forget_after: p.forget_after,
    })
}

/// A started enrollment: show `uri` (as a QR code) and wait for the first code.
#[pyclass(frozen, get_all, name = "Enrollment", module = "authgate")]
pub struct PyEnrollment {
    account: String,
    /// base32, for typing into the app by hand
    secret: String,
    uri: String,
    expires_at: u64,
}

#[pymethods]
impl PyEnrollment {
    fn qr(&self, py: Python<'_>) -> PyResult<PyQrCode> {
        PyQrCode::new(py, &self.uri)
    }
    fn __repr__(&self) -> String {
        format!(
            "Enrollment(account={:?}, expires_at={})",
            self.account, self.expires_at
        )
    }
}

/// Authenticator-app sign-in: enrollment, verification with replay prevention and
/// failed-attempt throttling, state in the store.
#[pyclass(frozen, name = "TotpManager", module = "authgate")]
pub struct PyTotpManager {
    inner: TotpManager,
}

#[pymethods]
impl PyTotpManager {
    #[new]
    #[pyo3(signature = (store = None, *, issuer = None, algorithm = "SHA1", digits = 6, period = 30,
        window = 1, throttle = None, enrollment_ttl = None, max_failures = None, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        store: Option<StoreArg<'_>>,
        issuer: Option<String>,
        algorithm: &str,
        digits: u8,
        period: u64,
        window: u64,
        throttle: Option<PyRef<'_, PyThrottlePolicy>>,
        enrollment_ttl: Option<&Bound<'_, PyAny>>,
        max_failures: Option<u32>,
        clock: Option<PyRef<'_, PyManualClock>>,
    ) -> PyResult<Self> {
        let config = TotpManagerConfig {
            issuer,
            options: options(py, algorithm, digits, period, false)?,
            window,
            throttle: self::throttle(throttle),
            enrollment_ttl: opt_seconds(enrollment_ttl, 600)?,
            max_failures: max_failures.unwrap_or(DEFAULT_MAX_FAILURES),
        };
        let (store, clock) = (store_or_default(store), clock_or_system(clock));
        Ok(PyTotpManager {
            inner: guard(py, || TotpManager::with_clock(store, config, clock))?,
        })
    }

    /// Starts enrolling `account` with a new secret, pending until confirmed.
    fn begin_enrollment(&self, py: Python<'_>, account: &str) -> PyResult<PyEnrollment> {
        let e = guard_detached(py, || self.inner.begin_enrollment(account))?;
        Ok(PyEnrollment {
            account: account.to_string(),
            secret: e.secret_base32(),
            uri: e.uri_text(),
            expires_at: e.expires_at,
        })
    }

    /// Confirms the pending enrollment with its first code; returns the now-active secret
    /// (base32) to store with the user.
    fn confirm_enrollment(&self, py: Python<'_>, account: &str, code: &str) -> PyResult<String> {
        guard_detached(py, || self.inner.confirm_enrollment(account, code))
            .map(|s| otp::base32_encode(&s))
    }

    fn cancel_enrollment(&self, py: Python<'_>, account: &str) -> PyResult<bool> {
        guard_detached(py, || self.inner.cancel_enrollment(account))
    }

    /// Checks a code against the account's active secret; returns the matched step.
    fn verify(
        &self,
        py: Python<'_>,
        account: &str,
        secret: &Bound<'_, PyAny>,
        code: &str,
    ) -> PyResult<u64> {
        let secret = secret_arg(secret)?;
        guard_detached(py, || self.inner.verify(account, &secret, code))
    }
}

/// What a sender is given.
#[pyclass(frozen, get_all, name = "CodeDelivery", module = "authgate")]
pub struct PyCodeDelivery {
    subject: String,
    destination: String,
    code: String,
    expires_at: u64,
}

#[pymethods]
impl PyCodeDelivery {
    /// Never shows the code, so logging a delivery does not leak it.
    fn __repr__(&self) -> String {
        format!(
            "CodeDelivery(subject={:?}, destination={:?}, expires_at={})",
            self.subject, self.destination, self.expires_at
        )
    }
}

/// The Python sender: an exception it raises is kept to chain onto `DeliveryFailed`.
struct PySender<'a, 'py> {
    callable: &'a Bound<'py, PyAny>,
    raised: RefCell<Option<PyErr>>,
}

impl CodeSender for PySender<'_, '_> {
    fn send(&self, d: &CodeDelivery<'_>) -> authgate_core::Result<()> {
        let delivery = PyCodeDelivery {
            subject: d.subject.to_string(),
            destination: d.destination.to_string(),
            code: d.code.to_string(),
            expires_at: d.expires_at,
        };
        let outcome = self.callable.call1((delivery,)).and_then(|result| {
            if result.hasattr("__await__")? {
                // The coroutine never runs: close it so Python does not warn.
                let _ = result.call_method0("close");
                return Err(PyTypeError::new_err(
                    "the sender must be a plain function; run async clients with asyncio.run_coroutine_threadsafe or a sync SDK",
                ));
            }
            Ok(())
        });
        outcome.map_err(|e| {
            *self.raised.borrow_mut() = Some(e);
            Error::new(ErrorKind::DeliveryFailed, "the sender raised an exception")
        })
    }
}

/// Where `issue` got to: when the code expires, when another may be sent, attempts left.
#[pyclass(frozen, get_all, name = "IssuedChallenge", module = "authgate")]
pub struct PyIssuedChallenge {
    expires_at: u64,
    resend_after: u64,
    attempts_left: u32,
}

/// Codes sent by SMS or email: only keyed hashes stored, single use, attempts limited,
/// resend cooldown. The `sender` callable delivers each code.
#[pyclass(frozen, name = "Challenges", module = "authgate")]
pub struct PyChallenges {
    inner: Challenges,
    sender: Py<PyAny>,
}

#[pymethods]
impl PyChallenges {
    #[new]
    #[pyo3(signature = (sender, store = None, *, digits = 6, ttl = None, max_attempts = 5,
        resend_cooldown = None, hash_key = None, max_failures = None, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        sender: Bound<'_, PyAny>,
        store: Option<StoreArg<'_>>,
        digits: u8,
        ttl: Option<&Bound<'_, PyAny>>,
        max_attempts: u32,
        resend_cooldown: Option<&Bound<'_, PyAny>>,
        hash_key: Option<&Bound<'_, PyAny>>,
        max_failures: Option<u32>,
        clock: Option<PyRef<'_, PyManualClock>>,
    ) -> PyResult<Self> {
        if !sender.is_callable() {
            return Err(PyTypeError::new_err("sender must be callable"));
        }
        let config = ChallengeConfig {
            digits,
            ttl: opt_seconds(ttl, 300)?,
            max_attempts,
            resend_cooldown: opt_seconds(resend_cooldown, 30)?,
            hash_key: hash_key.map(convert::bytes).transpose()?,
            max_failures: max_failures.unwrap_or(DEFAULT_MAX_FAILURES),
        };
        let (store, clock) = (store_or_default(store), clock_or_system(clock));
        Ok(PyChallenges {
            inner: guard(py, || Challenges::with_clock(store, config, clock))?,
            sender: sender.unbind(),
        })
    }

    /// Sends a new code for `subject` to `destination` through the sender.
    fn issue(
        &self,
        py: Python<'_>,
        subject: &str,
        destination: &str,
    ) -> PyResult<PyIssuedChallenge> {
        let callable = self.sender.bind(py);
        let sender = PySender {
            callable,
            raised: RefCell::new(None),
        };
        match guard(py, || self.inner.issue(subject, destination, &sender)) {
            Ok(i) => Ok(PyIssuedChallenge {
                expires_at: i.expires_at,
                resend_after: i.resend_after,
                attempts_left: i.attempts_left,
            }),
            Err(e) => {
                if let Some(cause) = sender.raised.into_inner() {
                    e.set_cause(py, Some(cause));
                }
                Err(e)
            }
        }
    }

    /// Checks a code; the first match uses the challenge up.
    fn verify(&self, py: Python<'_>, subject: &str, code: &str) -> PyResult<()> {
        guard_detached(py, || self.inner.verify(subject, code))
    }
}

/// Single-use recovery codes (`xxxx-xxxx`), stored as keyed hashes.
#[pyclass(frozen, name = "RecoveryCodes", module = "authgate")]
pub struct PyRecoveryCodes {
    inner: RecoveryCodes,
}

#[pymethods]
impl PyRecoveryCodes {
    #[new]
    #[pyo3(signature = (store = None, *, count = 10, hash_key = None, throttle = None,
        max_failures = None, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        store: Option<StoreArg<'_>>,
        count: usize,
        hash_key: Option<&Bound<'_, PyAny>>,
        throttle: Option<PyRef<'_, PyThrottlePolicy>>,
        max_failures: Option<u32>,
        clock: Option<PyRef<'_, PyManualClock>>,
    ) -> PyResult<Self> {
        let config = RecoveryConfig {
            count,
            hash_key: hash_key.map(convert::bytes).transpose()?,
            throttle: self::throttle(throttle),
            max_failures: max_failures.unwrap_or(DEFAULT_MAX_FAILURES),
        };
        let (store, clock) = (store_or_default(store), clock_or_system(clock));
        Ok(PyRecoveryCodes {
            inner: guard(py, || RecoveryCodes::with_clock(store, config, clock))?,
        })
    }

    /// A new set for `user`, replacing the old one: show it once.
    fn generate(&self, py: Python<'_>, user: &str) -> PyResult<Vec<String>> {
        guard_detached(py, || self.inner.generate(user))
    }

    /// Uses up one code; returns how many are left.
    fn verify(&self, py: Python<'_>, user: &str, code: &str) -> PyResult<usize> {
        guard_detached(py, || self.inner.verify(user, code))
    }

    fn remaining(&self, py: Python<'_>, user: &str) -> PyResult<usize> {
        guard_detached(py, || self.inner.remaining(user))
    }
}

/// The account-wide cap on one-time-code checks: how many failed in a row for an account
/// (across `TotpManager`, `Challenges` and `RecoveryCodes` on this store), and the unlock.
#[pyclass(frozen, name = "CodeLockout", module = "authgate")]
pub struct PyCodeLockout {
    inner: CodeLockout,
    remote: bool,
}

#[pymethods]
impl PyCodeLockout {
    #[new]
    #[pyo3(signature = (store = None, *, clock = None))]
    fn new(store: Option<StoreArg<'_>>, clock: Option<PyRef<'_, PyManualClock>>) -> Self {
        let remote = crate::session::is_remote(&store);
        PyCodeLockout {
            inner: CodeLockout::with_clock(store_or_default(store), clock_or_system(clock)),
            remote,
        }
    }

    /// Code checks of `account` that failed in a row.
    fn failures(&self, py: Python<'_>, account: &str) -> PyResult<u32> {
        crate::errors::guard_store(py, self.remote, || self.inner.failures(account))
    }

    /// Resets `account`'s count, unlocking its code checks; True if it had failures.
    fn unlock(&self, py: Python<'_>, account: &str) -> PyResult<bool> {
        crate::errors::guard_store(py, self.remote, || self.inner.unlock(account))
    }
}
