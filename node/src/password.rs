//! Password policy and argon2id hashing (off the event loop).

use authgate_core::password::{
    PasswordHasher, PasswordPolicy, PasswordRules, DEFAULT_ITERATIONS, DEFAULT_MEMORY_KIB,
    DEFAULT_PARALLELISM,
};
use napi::bindgen_prelude::{AsyncTask, Buffer, Either, Either3};
use napi::{Env, Task};
use napi_derive::napi;

use crate::errors::{core, Result};

#[napi(object)]
pub struct PasswordViolation {
    /// `too_short`, `too_long`, `missing_uppercase`, `missing_lowercase`, `missing_digit`,
    /// `missing_symbol` or `common_password`.
    pub code: String,
    pub message: String,
}

#[napi(object)]
#[derive(Default)]
pub struct PasswordPolicyOptions {
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub require_uppercase: Option<bool>,
    pub require_lowercase: Option<bool>,
    pub require_digit: Option<bool>,
    pub require_symbol: Option<bool>,
    /// Refuse the built-in list of 19,646 common passwords (on in `nist()`).
    pub common_passwords: Option<bool>,
    pub blocklist: Option<Vec<String>>,
}

#[napi(js_name = "PasswordPolicy")]
pub struct JsPasswordPolicy {
    inner: PasswordPolicy,
}

#[napi]
impl JsPasswordPolicy {
    /// The defaults are 8+ characters, a capital letter and a digit.
    #[napi(constructor, catch_unwind)]
    pub fn new(options: Option<PasswordPolicyOptions>) -> Self {
        let o = options.unwrap_or_default();
        let rules = PasswordRules {
            min_length: o.min_length.map(|n| n as usize),
            max_length: o.max_length.map(|n| n as usize),
            require_uppercase: o.require_uppercase,
            require_lowercase: o.require_lowercase,
            require_digit: o.require_digit,
            require_symbol: o.require_symbol,
            common_passwords: o.common_passwords,
            blocklist: o.blocklist.unwrap_or_default(),
        };
        JsPasswordPolicy {
            inner: rules.into(),
        }
    }

    /// NIST SP 800-63B: 8 to 64 characters, no composition rules, plus a blocklist.
    #[napi(factory, catch_unwind)]
    pub fn nist(options: Option<PasswordPolicyOptions>) -> Self {
        let blocklist = options.and_then(|o| o.blocklist).unwrap_or_default();
        JsPasswordPolicy {
            inner: PasswordPolicy::nist().with_blocklist(blocklist),
        }
    }

    /// Every rule `password` breaks (empty when it passes); `context`: the user's name,
    /// username, e-mail … that the password must not contain (`contains_user_info`).
    #[napi(catch_unwind)]
    pub fn check(
        &self,
        password: String,
        context: Option<Vec<String>>,
    ) -> Result<Vec<PasswordViolation>> {
        let context = context.unwrap_or_default();
        Ok(core(self.inner.check_with_context(&password, &context))?
            .into_iter()
            .map(|v| PasswordViolation {
                code: v.code.into(),
                message: v.message,
            })
            .collect())
    }

    /// Throws `WeakPassword` naming every broken rule.
    #[napi(catch_unwind)]
    pub fn enforce(&self, password: String, context: Option<Vec<String>>) -> Result<()> {
        core(
            self.inner
                .enforce_with_context(&password, &context.unwrap_or_default()),
        )
    }

    /// Whether the built-in list of common passwords is refused.
    #[napi(getter)]
    pub fn common_passwords(&self) -> bool {
        self.inner.common_passwords
    }
}

#[napi(object)]
#[derive(Default)]
pub struct PasswordHasherOptions {
    pub memory_kib: Option<u32>,
    pub iterations: Option<u32>,
    pub parallelism: Option<u32>,
    /// 16+ bytes kept outside the database (argon2's secret input).
    pub pepper: Option<Either<Buffer, String>>,
}

/// What an asynchronous hash or verify settles with: the value, or the error's code and
/// message (index.js throws the matching `AuthError`).
#[napi(object)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

fn failure(e: authgate_core::Error) -> Failure {
    Failure {
        code: e.code().to_ascii_uppercase(),
        message: e.message().to_string(),
    }
}

pub struct HashTask {
    hasher: PasswordHasher,
    password: String,
    hash: Option<String>,
}

impl Task for HashTask {
    /// The PHC string (hash), the answer (verify), or a failure.
    type Output = Either3<String, bool, Failure>;
    type JsValue = Either3<String, bool, Failure>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        // Unwinding is caught here: a panic on the libuv thread would abort the process.
        let hasher = &self.hasher;
        let (password, hash) = (&self.password, &self.hash);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match hash {
            None => hasher.hash(password).map(Either3::A),
            Some(h) => hasher.verify(password, h).map(Either3::B),
        }));
        Ok(match outcome {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => Either3::C(failure(e)),
            Err(_) => Either3::C(failure(authgate_core::Error::new(
                authgate_core::ErrorKind::Internal,
                "internal error in authgate (the operation panicked)",
            ))),
        })
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output)
    }
}

#[napi(js_name = "PasswordHasher")]
pub struct JsPasswordHasher {
    inner: PasswordHasher,
}

#[napi]
impl JsPasswordHasher {
    /// OWASP's argon2id parameters by default (19 MiB, 2 passes, 1 lane).
    #[napi(constructor, catch_unwind)]
    pub fn new(options: Option<PasswordHasherOptions>) -> Result<Self> {
        let o = options.unwrap_or_default();
        let pepper: Option<Vec<u8>> = o.pepper.map(|p| match p {
            Either::A(b) => b.to_vec(),
            Either::B(s) => s.into_bytes(),
        });
        core(PasswordHasher::new(
            o.memory_kib.unwrap_or(DEFAULT_MEMORY_KIB),
            o.iterations.unwrap_or(DEFAULT_ITERATIONS),
            o.parallelism.unwrap_or(DEFAULT_PARALLELISM),
            pepper.as_deref(),
        ))
        .map(|inner| JsPasswordHasher { inner })
    }

    /// Hashes on the libuv thread pool; settles with the PHC string or a failure.
    #[napi(catch_unwind)]
    pub fn hash_task(&self, password: String) -> AsyncTask<HashTask> {
        AsyncTask::new(HashTask {
            hasher: self.inner.clone(),
            password,
            hash: None,
        })
    }

    /// Verifies on the libuv thread pool; settles with a boolean or a failure.
    #[napi(catch_unwind)]
    pub fn verify_task(&self, password: String, hash: String) -> AsyncTask<HashTask> {
        AsyncTask::new(HashTask {
            hasher: self.inner.clone(),
            password,
            hash: Some(hash),
        })
    }

    /// Blocks the event loop for the whole hash: for scripts and tests.
    #[napi(catch_unwind)]
    pub fn hash_sync(&self, password: String) -> Result<String> {
        core(self.inner.hash(&password))
    }

    #[napi(catch_unwind)]
    pub fn verify_sync(&self, password: String, hash: String) -> Result<bool> {
        core(self.inner.verify(&password, &hash))
    }

    /// Whether `hash` was made with other parameters: hash again after the next login.
    #[napi(catch_unwind)]
    pub fn needs_rehash(&self, hash: String) -> Result<bool> {
        core(self.inner.needs_rehash(&hash))
    }
}
