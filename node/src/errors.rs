//! The core's errors as JavaScript errors whose `.code` is the stable code in upper case
//! (`token_expired` → `'TOKEN_EXPIRED'`); `index.js` turns them into `AuthError` subclasses.
//! Wrong argument types are `'INVALID_ARG'` errors, which `index.js` raises as `TypeError`.

use authgate_core::Error;

/// The status of every error this binding throws: a stable code.
#[derive(Debug, Clone)]
pub struct Code(pub String);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

pub type Result<T> = std::result::Result<T, napi::Error<Code>>;

/// A core error as a JavaScript error with `.code`. A retry delay travels as a
/// `;retry_after=N` suffix of the code, which `index.js` turns into `.retryAfter`.
pub fn js(err: Error) -> napi::Error<Code> {
    let mut code = err.code().to_ascii_uppercase();
    if let Some(seconds) = err.retry_after() {
        code.push_str(&format!(";retry_after={seconds}"));
    }
    napi::Error::new(Code(code), err.message())
}

/// A wrong argument (type or value): `index.js` raises it as a `TypeError`.
pub fn invalid_arg(message: impl Into<String>) -> napi::Error<Code> {
    napi::Error::new(Code("INVALID_ARG".into()), message.into())
}

/// Maps a core result.
pub fn core<T>(r: authgate_core::Result<T>) -> Result<T> {
    r.map_err(js)
}
