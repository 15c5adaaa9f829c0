//! Recovery codes for a lost phone: a set of single-use codes in readable groups
//! (`7kq2-m9xd`), shown once; the store keeps only keyed hashes. Attempts are throttled
//! like authenticator codes.

use std::sync::Arc;

use super::{begin_attempt, check_account, CodeHasher, ThrottlePolicy};
use crate::clock::{Clock, SystemClock};
use crate::error::{err, ErrorKind, Result};
use crate::store::Store;
use crate::util::random_bytes;

/// Crockford's base32 alphabet in lower case: no `i`, `l`, `o` or `u` to misread.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Characters per code (50 bits), written as two groups of five.
const CODE_CHARS: usize = 10;
/// Codes made before 0.2 had 8 characters (40 bits): they keep working until the set is
/// regenerated.
const LEGACY_CODE_CHARS: usize = 8;
pub const DEFAULT_RECOVERY_CODES: usize = 10;
pub const MAX_RECOVERY_CODES: usize = 100;

#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// Codes per set (default 10).
    pub count: usize,
    /// The key codes are hashed with (at least 32 bytes); see
    /// [`ChallengeConfig::hash_key`](super::ChallengeConfig::hash_key). Hashes that outlive
    /// the process need a fixed key.
    pub hash_key: Option<Vec<u8>>,
    pub throttle: ThrottlePolicy,
    /// Code checks that may fail in a row for one user (the account cap shared with TOTP
    /// and challenges: see [`super::CodeLockout`]), default 100.
    pub max_failures: u32,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            count: DEFAULT_RECOVERY_CODES,
            hash_key: None,
            throttle: ThrottlePolicy::default(),
            max_failures: super::DEFAULT_MAX_FAILURES,
        }
    }
}

impl std::fmt::Debug for RecoveryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoveryConfig")
            .field("count", &self.count)
            .field("throttle", &self.throttle)
            .finish_non_exhaustive()
    }
}

pub struct RecoveryCodes {
    config: RecoveryConfig,
    hasher: CodeHasher,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

/// The canonical form of a typed code: lower case, separators dropped, and the letters
/// Crockford's alphabet leaves out read as the digits they look like.
fn normalize(code: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_CHARS);
    for c in code.chars().take(32) {
        let c = match c.to_ascii_lowercase() {
            '-' | ' ' => continue,
            'i' | 'l' => '1',
            'o' => '0',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        out.push(c);
    }
    (matches!(out.len(), CODE_CHARS | LEGACY_CODE_CHARS) && code.len() <= 32).then_some(out)
}

impl RecoveryCodes {
    pub fn new(store: Arc<dyn Store>, config: RecoveryConfig) -> Result<Self> {
        RecoveryCodes::with_clock(store, config, Arc::new(SystemClock))
    }

    pub fn with_clock(
        store: Arc<dyn Store>,
        config: RecoveryConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        if !(1..=MAX_RECOVERY_CODES).contains(&config.count) {
            return err(ErrorKind::InvalidInput, "a recovery set has 1 to 100 codes");
        }
        super::check_max_failures(config.max_failures)?;
        Ok(RecoveryCodes {
            hasher: CodeHasher::new(config.hash_key.as_deref())?,
            config,
            store,
            clock,
        })
    }

    /// A new set for `user`, replacing any earlier one. Show the codes once; only their
    /// hashes are kept.
    pub fn generate(&self, user: &str) -> Result<Vec<String>> {
        check_account(user, "user id")?;
        let mut codes = Vec::with_capacity(self.config.count);
        let mut hashes = Vec::with_capacity(self.config.count);
        while codes.len() < self.config.count {
            let mut raw = [0u8; CODE_CHARS];
            random_bytes(&mut raw)?;
            // 32 divides 256: masking keeps every character equally likely.
            let chars: String = raw
                .iter()
                .map(|b| ALPHABET[usize::from(b & 31)] as char)
                .collect();
            let hash = self.hasher.hash(user, &chars);
            if hashes.contains(&hash) {
                continue;
            }
            hashes.push(hash);
            codes.push(format!("{}-{}", &chars[..5], &chars[5..]));
        }
        self.store.recovery_replace(user, hashes)?;
        Ok(codes)
    }

    /// Uses up one of `user`'s codes and returns how many are left. Case, hyphens and
    /// spaces do not matter.
    pub fn verify(&self, user: &str, code: &str) -> Result<usize> {
        check_account(user, "user id")?;
        let key = format!("recovery:{user}");
        let now = self.clock.now();
        begin_attempt(&*self.store, &key, now, &self.config.throttle)?;
        super::lockout_begin(&*self.store, user, self.config.max_failures, now)?;
        let Some(canonical) = normalize(code) else {
            return err(ErrorKind::InvalidCode, "not a recovery code");
        };
        if !self
            .store
            .recovery_consume(user, &self.hasher.hash(user, &canonical))?
        {
            return err(
                ErrorKind::InvalidCode,
                "the recovery code is wrong or already used",
            );
        }
        self.store.attempts_clear(&key)?;
        super::lockout_clear(&*self.store, user)?;
        self.store.recovery_remaining(user)
    }

    pub fn remaining(&self, user: &str) -> Result<usize> {
        check_account(user, "user id")?;
        self.store.recovery_remaining(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn codes_of_the_old_eight_character_form_keep_working_until_regenerated() {
        let store = Arc::new(MemoryStore::new());
        let codes = RecoveryCodes::new(store.clone(), RecoveryConfig::default()).unwrap();
        // A set stored before codes grew to ten characters.
        let old = codes.hasher.hash("u", "7kq2m9xd");
        store.recovery_replace("u", vec![old]).unwrap();
        assert_eq!(codes.verify("u", "7KQ2-M9XD").unwrap(), 0);
        assert!(codes.verify("u", "7kq2-m9xd").is_err(), "used up");
        let fresh = codes.generate("u").unwrap();
        assert!(fresh
            .iter()
            .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'));
        assert_eq!(codes.verify("u", &fresh[0]).unwrap(), 9);
    }

    #[test]
    fn typed_codes_are_normalized() {
        assert_eq!(normalize("7KQ2A-M9XDB").as_deref(), Some("7kq2am9xdb"));
        assert_eq!(normalize(" 7kq2a m9xdb ").as_deref(), Some("7kq2am9xdb"));
        assert_eq!(normalize("IL0OA-abcde").as_deref(), Some("1100aabcde"));
        // Codes of 8 characters (made before codes grew to 50 bits) still read.
        assert_eq!(normalize("7KQ2-M9XD").as_deref(), Some("7kq2m9xd"));
        assert_eq!(normalize("7kq2-m9x"), None);
        assert_eq!(normalize("7kq2-m9xd1"), None);
        assert_eq!(normalize("7kq2a-m9xdbc"), None);
        assert_eq!(normalize("7kq2-m9x!"), None);
    }
}
