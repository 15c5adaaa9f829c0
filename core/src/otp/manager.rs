//! Authenticator-app sign-in for a server: enrollment (a pending secret becomes active
//! only after its first valid code), verification with replay prevention, and
//! failed-attempt throttling, all through the [`Store`].
//!
//! Active secrets belong in the application's user database (they cannot be hashed: the
//! server must compute codes from them); the store holds only pending secrets for the
//! enrollment window, last-used steps and failure counts.

use std::sync::Arc;

use super::{
    begin_attempt, check_account, generate_secret, lockout_begin, lockout_clear, OtpKind,
    OtpOptions, OtpUri, QrCode, ThrottlePolicy, Totp, DEFAULT_WINDOW,
};
use crate::clock::{Clock, SystemClock};
use crate::error::{err, ErrorKind, Result};
use crate::store::Store;

/// How long a pending enrollment waits for its first code.
pub const DEFAULT_ENROLLMENT_TTL_SECS: u64 = 10 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpManagerConfig {
    /// Shown by the authenticator app above the account name.
    pub issuer: Option<String>,
    /// Algorithm, digits and period of secrets enrolled here, and of secrets verified.
    pub options: OtpOptions,
    /// Steps either side of the current one accepted.
    pub window: u64,
    pub throttle: ThrottlePolicy,
    pub enrollment_ttl: u64,
    /// Code checks that may fail in a row for one account (across TOTP, challenges and
    /// recovery codes on the same store) before they lock: see [`super::CodeLockout`].
    pub max_failures: u32,
}

impl Default for TotpManagerConfig {
    fn default() -> Self {
        TotpManagerConfig {
            issuer: None,
            options: OtpOptions::default(),
            window: DEFAULT_WINDOW,
            throttle: ThrottlePolicy::default(),
            enrollment_ttl: DEFAULT_ENROLLMENT_TTL_SECS,
            max_failures: super::DEFAULT_MAX_FAILURES,
        }
    }
}

/// A started enrollment: show the URI (as a QR code) and wait for the first code.
#[derive(Clone)]
pub struct Enrollment {
    pub uri: OtpUri,
    pub expires_at: u64,
}

impl Enrollment {
    pub fn secret(&self) -> &[u8] {
        &self.uri.secret
    }

    /// The secret as base32, for users who type it into their app.
    pub fn secret_base32(&self) -> String {
        super::base32_encode(&self.uri.secret)
    }

    pub fn uri_text(&self) -> String {
        self.uri.to_uri()
    }

    pub fn qr(&self) -> Result<QrCode> {
        QrCode::new(&self.uri.to_uri())
    }
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrollment")
            .field("account", &self.uri.account)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

pub struct TotpManager {
    config: TotpManagerConfig,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

fn store_key(account: &str) -> String {
    format!("totp:{account}")
}

impl TotpManager {
    pub fn new(store: Arc<dyn Store>, config: TotpManagerConfig) -> Result<Self> {
        TotpManager::with_clock(store, config, Arc::new(SystemClock))
    }

    pub fn with_clock(
        store: Arc<dyn Store>,
        config: TotpManagerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        // Check the options and issuer once, with a throwaway secret of the right size.
        OtpUri::totp(
            &[0; 20],
            "check",
            config.issuer.as_deref(),
            config.options.clone(),
        )?;
        super::check_window(config.window, "window")?;
        super::check_max_failures(config.max_failures)?;
        Ok(TotpManager {
            config,
            store,
            clock,
        })
    }

    pub fn config(&self) -> &TotpManagerConfig {
        &self.config
    }

    /// Starts enrolling `account`: a new 160-bit secret, kept pending in the store until
    /// [`TotpManager::confirm_enrollment`] sees its first valid code. Starting again
    /// replaces a pending secret.
    pub fn begin_enrollment(&self, account: &str) -> Result<Enrollment> {
        check_account(account, "account")?;
        let secret = generate_secret()?;
        let uri = OtpUri {
            kind: OtpKind::Totp,
            secret,
            account: account.to_string(),
            issuer: self.config.issuer.clone(),
            options: self.config.options.clone(),
        };
        uri.to_totp()?;
        let now = self.clock.now();
        let expires_at = now.saturating_add(self.config.enrollment_ttl);
        self.store
            .pending_secret_put(&store_key(account), &uri.secret, expires_at, now)?;
        Ok(Enrollment { uri, expires_at })
    }

    /// Confirms the pending enrollment of `account` with its first code and returns the
    /// secret, now active: store it with the user. The code's step counts as used.
    pub fn confirm_enrollment(&self, account: &str, code: &str) -> Result<Vec<u8>> {
        check_account(account, "account")?;
        let key = store_key(account);
        let now = self.clock.now();
        let Some(secret) = self.store.pending_secret_get(&key, now)? else {
            return err(
                ErrorKind::CodeExpired,
                "no enrollment is pending for this account (never started or expired)",
            );
        };
        self.check(account, &key, &secret, code, now)?;
        if !self.store.pending_secret_remove(&key)? {
            return err(
                ErrorKind::CodeExpired,
                "the enrollment was already confirmed",
            );
        }
        Ok(secret)
    }

    /// Abandons a pending enrollment; false if none was pending.
    pub fn cancel_enrollment(&self, account: &str) -> Result<bool> {
        check_account(account, "account")?;
        self.store.pending_secret_remove(&store_key(account))
    }

    /// Checks a code from `account`'s authenticator app against its active `secret`:
    /// throttled after repeated failures, and each time step accepted once. Returns the
    /// matched step.
    pub fn verify(&self, account: &str, secret: &[u8], code: &str) -> Result<u64> {
        check_account(account, "account")?;
        self.check(account, &store_key(account), secret, code, self.clock.now())
    }

    fn check(&self, account: &str, key: &str, secret: &[u8], code: &str, now: u64) -> Result<u64> {
        let totp = Totp::new(secret, self.config.options.clone())?;
        begin_attempt(&*self.store, key, now, &self.config.throttle)?;
        lockout_begin(&*self.store, account, self.config.max_failures, now)?;
        let step = totp.verify(code, now, self.config.window, None)?;
        // The step stays relevant while any code the window accepts could be older.
        let period = self.config.options.period;
        let expires_at = step
            .saturating_add(self.config.window)
            .saturating_add(2)
            .saturating_mul(period);
        if !self.store.otp_step_advance(key, step, expires_at, now)? {
            return err(ErrorKind::CodeReused, "the code was already used");
        }
        self.store.attempts_clear(key)?;
        lockout_clear(&*self.store, account)?;
        Ok(step)
    }
}
