//! The core's errors as JavaScript errors whose `.code` is the stable code in upper case
//! (`token_expired` → `'TOKEN_EXPIRED'`); `index.js` turns them into `AuthError` subclasses.
//! Wrong argument types are `'INVALID_ARG'` errors, which `index.js` raises as `TypeError`.
//!
//! An error's details (retry-after, violations) are data, not text: a synchronous throw
//! leaves them in a per-thread slot that `index.js` takes (`takeErrorDetails`) as it
//! converts the error; a Promise variant's failure object carries them as fields.

use std::cell::RefCell;

use authgate_core::Error;
use napi_derive::napi;

/// The status of every error this binding throws: a stable code, with the details.
#[derive(Debug, Clone, Default)]
pub struct Code {
    pub code: String,
    pub retry_after: Option<u64>,
    pub violations: Vec<String>,
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        &self.code
    }
}

pub type Result<T> = std::result::Result<T, napi::Error<Code>>;

/// An error's details, for `index.js` to attach to the error it builds.
#[napi(object)]
#[derive(Clone)]
pub struct ErrorDetails {
    pub code: String,
    pub message: String,
    pub retry_after: Option<f64>,
    pub violations: Option<Vec<String>>,
}

thread_local! {
    static LAST: RefCell<Option<ErrorDetails>> = const { RefCell::new(None) };
}

/// The details of the error this thread threw last, if it had any and is the error
/// `code` and `message` name (so a stale slot is never taken for another error).
#[napi]
pub fn take_error_details(code: String, message: String) -> Option<ErrorDetails> {
    LAST.with(|slot| {
        let taken = slot.borrow_mut().take()?;
        (taken.code == code && taken.message == message).then_some(taken)
    })
}

/// A core error as a JavaScript error with `.code`.
pub fn js(err: Error) -> napi::Error<Code> {
    let code = Code {
        code: err.code().to_ascii_uppercase(),
        retry_after: err.retry_after(),
        violations: err.violations().to_vec(),
    };
    let details =
        (code.retry_after.is_some() || !code.violations.is_empty()).then(|| ErrorDetails {
            code: code.code.clone(),
            message: err.message().to_string(),
            retry_after: code.retry_after.map(|s| s as f64),
            violations: (!code.violations.is_empty()).then(|| code.violations.clone()),
        });
    LAST.with(|slot| *slot.borrow_mut() = details);
    napi::Error::new(code, err.message())
}

/// A wrong argument (type or value): `index.js` raises it as a `TypeError`.
pub fn invalid_arg(message: impl Into<String>) -> napi::Error<Code> {
    napi::Error::new(
        Code {
            code: "INVALID_ARG".into(),
            ..Code::default()
        },
        message.into(),
    )
}

/// Maps a core result.
pub fn core<T>(r: authgate_core::Result<T>) -> Result<T> {
    r.map_err(js)
}
