//! Password policy and argon2id hashing.

use authgate_core::password::{PasswordHasher, PasswordPolicy, PasswordRules, Violation};
use pyo3::prelude::*;

use crate::errors::{guard, guard_detached};

/// One broken rule: `code` (`too_short`, `missing_digit`, …) and a sentence for the user.
#[pyclass(frozen, get_all, name = "PasswordViolation", module = "authgate")]
pub struct PyViolation {
    code: &'static str,
    message: String,
}

#[pymethods]
impl PyViolation {
    fn __repr__(&self) -> String {
        format!("PasswordViolation({:?})", self.code)
    }
}

fn violations(list: Vec<Violation>) -> Vec<PyViolation> {
    list.into_iter()
        .map(|v| PyViolation {
            code: v.code,
            message: v.message,
        })
        .collect()
}

/// What a password must satisfy. The defaults are what our users' platforms ask for (8+
/// characters, a capital letter, a digit); `PasswordPolicy.nist()` is length only.
#[pyclass(frozen, name = "PasswordPolicy", module = "authgate")]
pub struct PyPasswordPolicy {
    inner: PasswordPolicy,
}

#[pymethods]
impl PyPasswordPolicy {
    #[new]
    #[pyo3(signature = (*, min_length = None, max_length = None, require_uppercase = None,
        require_lowercase = None, require_digit = None, require_symbol = None, common_passwords = None,
        blocklist = Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        min_length: Option<usize>,
        max_length: Option<usize>,
        require_uppercase: Option<bool>,
        require_lowercase: Option<bool>,
        require_digit: Option<bool>,
        require_symbol: Option<bool>,
        common_passwords: Option<bool>,
        blocklist: Vec<String>,
    ) -> Self {
        let rules = PasswordRules {
            min_length,
            max_length,
            require_uppercase,
            require_lowercase,
            require_digit,
            require_symbol,
            common_passwords,
            blocklist,
        };
        PyPasswordPolicy {
            inner: rules.into(),
        }
    }

    /// NIST SP 800-63B: 8 to 64 characters, no composition rules, the built-in list of
    /// common passwords, plus your blocklist.
    #[staticmethod]
    #[pyo3(signature = (*, blocklist = Vec::new()))]
    fn nist(blocklist: Vec<String>) -> Self {
        PyPasswordPolicy {
            inner: PasswordPolicy::nist().with_blocklist(blocklist),
        }
    }

    /// Every rule `password` breaks (empty when it passes); `context`: the user's name,
    /// username, e-mail … that the password must not contain (`contains_user_info`).
    #[pyo3(signature = (password, context = Vec::new()))]
    fn check(
        &self,
        py: Python<'_>,
        password: &str,
        context: Vec<String>,
    ) -> PyResult<Vec<PyViolation>> {
        guard(py, || self.inner.check_with_context(password, &context)).map(violations)
    }

    /// Raises `WeakPassword` (its `violations` lists the broken rules' codes).
    #[pyo3(signature = (password, context = Vec::new()))]
    fn enforce(&self, py: Python<'_>, password: &str, context: Vec<String>) -> PyResult<()> {
        guard(py, || self.inner.enforce_with_context(password, &context))
    }

    #[getter]
    fn common_passwords(&self) -> bool {
        self.inner.common_passwords
    }

    #[getter]
    fn min_length(&self) -> usize {
        self.inner.min_length
    }
    #[getter]
    fn max_length(&self) -> usize {
        self.inner.max_length
    }
}

/// argon2id into PHC strings: OWASP's parameters by default (19 MiB, 2 passes, 1 lane),
/// an optional pepper (16+ bytes, kept outside the database). Hashing and verifying
/// release the GIL.
#[pyclass(frozen, name = "PasswordHasher", module = "authgate")]
pub struct PyPasswordHasher {
    inner: PasswordHasher,
}

#[pymethods]
impl PyPasswordHasher {
    #[new]
    #[pyo3(signature = (*, memory_kib = None, iterations = None, parallelism = None, pepper = None))]
    fn new(
        py: Python<'_>,
        memory_kib: Option<u32>,
        iterations: Option<u32>,
        parallelism: Option<u32>,
        pepper: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        use authgate_core::password::{
            DEFAULT_ITERATIONS, DEFAULT_MEMORY_KIB, DEFAULT_PARALLELISM,
        };
        let pepper = pepper.map(crate::convert::bytes).transpose()?;
        guard(py, || {
            PasswordHasher::new(
                memory_kib.unwrap_or(DEFAULT_MEMORY_KIB),
                iterations.unwrap_or(DEFAULT_ITERATIONS),
                parallelism.unwrap_or(DEFAULT_PARALLELISM),
                pepper.as_deref(),
            )
        })
        .map(|inner| PyPasswordHasher { inner })
    }

    /// A PHC string with a fresh salt.
    fn hash(&self, py: Python<'_>, password: &str) -> PyResult<String> {
        let hasher = self.inner.clone();
        let password = password.to_owned();
        guard_detached(py, move || hasher.hash(&password))
    }

    /// Whether `password` matches `hash` (`InvalidInput` if `hash` is not argon2 PHC).
    fn verify(&self, py: Python<'_>, password: &str, hash: &str) -> PyResult<bool> {
        let hasher = self.inner.clone();
        let (password, hash) = (password.to_owned(), hash.to_owned());
        guard_detached(py, move || hasher.verify(&password, &hash))
    }

    /// Whether `hash` was made with other parameters: hash again after the next login.
    fn needs_rehash(&self, py: Python<'_>, hash: &str) -> PyResult<bool> {
        guard(py, || self.inner.needs_rehash(hash))
    }
}
