//! Codes sent by SMS or email. The store keeps only a keyed hash of each code, its expiry
//! and an attempt counter; a match consumes it, too many wrong codes lock it, and a new
//! code can be sent only after a cooldown. Delivery is the application's: a
//! [`CodeSender`] receives the code and the destination; the core makes no network calls.

use std::sync::Arc;

use super::{check_account, CodeHasher};
use crate::clock::{Clock, SystemClock};
use crate::error::{err, Error, ErrorKind, Result};
use crate::store::{ChallengeAttempt, ChallengeIssue, ChallengeRecord, Store};
use crate::util::random_bytes;

/// The longest destination (phone number, email address) accepted, in bytes.
pub const MAX_DESTINATION_BYTES: usize = 320;

#[derive(Clone, PartialEq, Eq)]
pub struct ChallengeConfig {
    /// Digits per code, 4 to 10 (default 6).
    pub digits: u8,
    /// Seconds a code stays valid (default 300).
    pub ttl: u64,
    /// Wrong codes before the challenge locks (default 5).
    pub max_attempts: u32,
    /// Seconds before another code may be sent (default 30).
    pub resend_cooldown: u64,
    /// The key codes are hashed with (at least 32 bytes). Without one, a random key for
    /// this process: enough for the in-memory store; give every server the same key when
    /// they share a store.
    pub hash_key: Option<Vec<u8>>,
    /// Code checks that may fail in a row for one subject (the account cap shared with
    /// TOTP and recovery codes: see [`super::CodeLockout`]), default 100.
    pub max_failures: u32,
}

impl Default for ChallengeConfig {
    fn default() -> Self {
        ChallengeConfig {
            digits: 6,
            ttl: 300,
            max_attempts: 5,
            resend_cooldown: 30,
            hash_key: None,
            max_failures: super::DEFAULT_MAX_FAILURES,
        }
    }
}

impl std::fmt::Debug for ChallengeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChallengeConfig")
            .field("digits", &self.digits)
            .field("ttl", &self.ttl)
            .field("max_attempts", &self.max_attempts)
            .field("resend_cooldown", &self.resend_cooldown)
            .finish_non_exhaustive()
    }
}

/// What a sender is given: where to send, and the code (which it must not log).
#[derive(Debug, Clone, Copy)]
pub struct CodeDelivery<'a> {
    pub subject: &'a str,
    pub destination: &'a str,
    pub code: &'a str,
    pub expires_at: u64,
}

/// Delivers a code (an SMS gateway, an email service). An error leaves no code behind.
pub trait CodeSender {
    fn send(&self, delivery: &CodeDelivery<'_>) -> Result<()>;
}

impl<F: Fn(&CodeDelivery<'_>) -> Result<()>> CodeSender for F {
    fn send(&self, delivery: &CodeDelivery<'_>) -> Result<()> {
        self(delivery)
    }
}

/// What issuing a challenge tells the caller (never the code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedChallenge {
    pub expires_at: u64,
    pub resend_after: u64,
    pub attempts_left: u32,
}

/// A stored challenge whose code still has to be delivered.
pub struct PendingDelivery {
    pub code: String,
    pub issued: IssuedChallenge,
}

impl std::fmt::Debug for PendingDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingDelivery")
            .field("issued", &self.issued)
            .finish_non_exhaustive()
    }
}

pub struct Challenges {
    config: ChallengeConfig,
    hasher: CodeHasher,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

fn store_key(subject: &str) -> String {
    format!("challenge:{subject}")
}

impl Challenges {
    pub fn new(store: Arc<dyn Store>, config: ChallengeConfig) -> Result<Self> {
        Challenges::with_clock(store, config, Arc::new(SystemClock))
    }

    pub fn with_clock(
        store: Arc<dyn Store>,
        config: ChallengeConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        if !(4..=10).contains(&config.digits) {
            return err(ErrorKind::InvalidInput, "digits must be 4 to 10");
        }
        if config.ttl == 0 || config.max_attempts == 0 {
            return err(
                ErrorKind::InvalidInput,
                "ttl and max_attempts must be at least 1",
            );
        }
        super::check_max_failures(config.max_failures)?;
        Ok(Challenges {
            hasher: CodeHasher::new(config.hash_key.as_deref())?,
            config,
            store,
            clock,
        })
    }

    pub fn config(&self) -> &ChallengeConfig {
        &self.config
    }

    /// A uniformly random code of `digits` digits (rejection sampling, no modulo bias).
    fn new_code(&self) -> Result<String> {
        let modulus = 10u64.pow(u32::from(self.config.digits));
        let limit = u64::MAX - u64::MAX % modulus;
        loop {
            let mut buf = [0u8; 8];
            random_bytes(&mut buf)?;
            let n = u64::from_be_bytes(buf);
            if n < limit {
                let width = usize::from(self.config.digits);
                return Ok(format!("{:0width$}", n % modulus));
            }
        }
    }

    /// Sends a new code for `subject` (e.g. `login:<user id>`) to `destination` through
    /// `sender`. Refused with `resend_too_soon` during the cooldown and
    /// `too_many_attempts` when the live challenge is locked; a new code replaces the
    /// previous one but not its attempt count. If the sender fails, no code is left behind.
    pub fn issue(
        &self,
        subject: &str,
        destination: &str,
        sender: &dyn CodeSender,
    ) -> Result<IssuedChallenge> {
        let pending = self.issue_for_delivery(subject, destination)?;
        let delivery = CodeDelivery {
            subject,
            destination,
            code: &pending.code,
            expires_at: pending.issued.expires_at,
        };
        if let Err(e) = sender.send(&delivery) {
            self.cancel(subject)?;
            return Err(if e.kind() == ErrorKind::DeliveryFailed {
                e
            } else {
                Error::new(ErrorKind::DeliveryFailed, "the code could not be sent")
            });
        }
        Ok(pending.issued)
    }

    /// The first half of [`Challenges::issue`], for bindings whose senders are
    /// asynchronous: stores the challenge and returns the code to deliver. If delivery
    /// fails, call [`Challenges::cancel`].
    pub fn issue_for_delivery(&self, subject: &str, destination: &str) -> Result<PendingDelivery> {
        check_account(subject, "subject")?;
        if destination.is_empty() || destination.len() > MAX_DESTINATION_BYTES {
            return err(
                ErrorKind::InvalidInput,
                "the destination must be 1 to 320 bytes",
            );
        }
        let now = self.clock.now();
        let code = self.new_code()?;
        let record = ChallengeRecord {
            code_hash: self.hasher.hash(subject, &code),
            issued_at: now,
            expires_at: now.saturating_add(self.config.ttl),
            resend_after: now.saturating_add(self.config.resend_cooldown),
            attempts: 0,
        };
        let (expires_at, resend_after) = (record.expires_at, record.resend_after);
        let key = store_key(subject);
        let attempts =
            match self
                .store
                .challenge_issue(&key, record, self.config.max_attempts, now)?
            {
                ChallengeIssue::Issued { attempts } => attempts,
                ChallengeIssue::Cooldown { until } => {
                    return Err(Error::new(
                        ErrorKind::ResendTooSoon,
                        "a code was sent recently: wait before asking for another",
                    )
                    .with_retry_after(until.saturating_sub(now)))
                }
                ChallengeIssue::Locked { until } => return Err(locked(until, now)),
            };
        Ok(PendingDelivery {
            code,
            issued: IssuedChallenge {
                expires_at,
                resend_after,
                attempts_left: self.config.max_attempts.saturating_sub(attempts),
            },
        })
    }

    /// Removes the live challenge of `subject` (its delivery failed); false if none.
    pub fn cancel(&self, subject: &str) -> Result<bool> {
        check_account(subject, "subject")?;
        self.store.challenge_remove(&store_key(subject))
    }

    /// Checks `code` for `subject`: the first match consumes the challenge.
    pub fn verify(&self, subject: &str, code: &str) -> Result<()> {
        check_account(subject, "subject")?;
        let now = self.clock.now();
        let typed: String = code
            .chars()
            .take(64)
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let hash = self.hasher.hash(subject, &typed);
        super::lockout_begin(&*self.store, subject, self.config.max_failures, now)?;
        match self.store.challenge_attempt(
            &store_key(subject),
            &hash,
            self.config.max_attempts,
            now,
        )? {
            ChallengeAttempt::Accepted => super::lockout_clear(&*self.store, subject),
            ChallengeAttempt::Wrong { remaining } => err(
                ErrorKind::InvalidCode,
                format!("the code is wrong ({remaining} attempts left)"),
            ),
            ChallengeAttempt::Locked { until } => Err(locked(until, now)),
            ChallengeAttempt::Missing => err(
                ErrorKind::CodeExpired,
                "no code is pending (never sent, expired or already used)",
            ),
        }
    }
}

fn locked(until: u64, now: u64) -> Error {
    Error::new(
        ErrorKind::TooManyAttempts,
        "too many wrong codes: wait for this code to expire and ask for a new one",
    )
    .with_retry_after(until.saturating_sub(now))
}
