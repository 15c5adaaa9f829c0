//! The password policy on the device, so a sign-up form shows every broken rule before
//! the request is sent (the server checks again with the same core).

use authgate_core::password::{self as core, PasswordPolicy as CorePolicy, Violation};

use crate::errors::{guard, Result};

/// One broken rule: `code` (`too_short`, `missing_digit`, …) and a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PasswordViolation {
    pub code: String,
    pub message: String,
}

/// The policy's rules; every `None` takes the core's default (8+ characters, a capital
/// letter and a digit).
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct PasswordRules {
    #[uniffi(default = None)]
    pub min_length: Option<u32>,
    #[uniffi(default = None)]
    pub max_length: Option<u32>,
    #[uniffi(default = None)]
    pub require_uppercase: Option<bool>,
    #[uniffi(default = None)]
    pub require_lowercase: Option<bool>,
    #[uniffi(default = None)]
    pub require_digit: Option<bool>,
    #[uniffi(default = None)]
    pub require_symbol: Option<bool>,
    /// Refuse the built-in list of common passwords (on in `nist`).
    #[uniffi(default = None)]
    pub common_passwords: Option<bool>,
    #[uniffi(default = [])]
    pub blocklist: Vec<String>,
}

#[derive(uniffi::Object)]
pub struct PasswordPolicy(CorePolicy);

#[uniffi::export]
impl PasswordPolicy {
    #[uniffi::constructor(default(rules = None))]
    pub fn new(rules: Option<PasswordRules>) -> Result<std::sync::Arc<Self>> {
        let r = rules.unwrap_or_default();
        let rules = core::PasswordRules {
            min_length: r.min_length.map(|n| n as usize),
            max_length: r.max_length.map(|n| n as usize),
            require_uppercase: r.require_uppercase,
            require_lowercase: r.require_lowercase,
            require_digit: r.require_digit,
            require_symbol: r.require_symbol,
            common_passwords: r.common_passwords,
            blocklist: r.blocklist,
        };
        guard(|| Ok(std::sync::Arc::new(PasswordPolicy(rules.into()))))
    }

    /// NIST SP 800-63B: 8 to 64 characters, no composition rules, the built-in list of
    /// common passwords, plus a blocklist.
    #[uniffi::constructor(default(blocklist = []))]
    pub fn nist(blocklist: Vec<String>) -> Result<std::sync::Arc<Self>> {
        guard(|| {
            Ok(std::sync::Arc::new(PasswordPolicy(
                CorePolicy::nist().with_blocklist(blocklist),
            )))
        })
    }

    /// Every rule `password` breaks (empty when it passes); `context`: the user's name,
    /// username, e-mail … that the password must not contain (`contains_user_info`).
    #[uniffi::method(default(context = []))]
    pub fn check(&self, password: String, context: Vec<String>) -> Result<Vec<PasswordViolation>> {
        guard(|| {
            Ok(self
                .0
                .check_with_context(&password, &context)?
                .into_iter()
                .map(violation)
                .collect())
        })
    }

    /// `weak_password` naming every broken rule.
    #[uniffi::method(default(context = []))]
    pub fn enforce(&self, password: String, context: Vec<String>) -> Result<()> {
        guard(|| self.0.enforce_with_context(&password, &context))
    }
}

fn violation(v: Violation) -> PasswordViolation {
    PasswordViolation {
        code: v.code.into(),
        message: v.message,
    }
}
