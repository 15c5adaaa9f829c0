//! The HTTP pieces the middleware uses (all decided in the core).

use authgate_core::{http, Error, ErrorKind};
use napi_derive::napi;

use crate::errors::{core, invalid_arg, Result};

/// The token of an `Authorization: Bearer …` header value.
#[napi(catch_unwind)]
pub fn bearer_token(header_value: String) -> Result<String> {
    core(http::bearer_token(&header_value).map(str::to_owned))
}

#[napi(object)]
pub struct HttpError {
    pub status: u32,
    pub challenge: Option<String>,
}

/// The HTTP status and `WWW-Authenticate` value for an error code (either spelling).
#[napi(catch_unwind)]
pub fn http_error(code: String, message: String, realm: Option<String>) -> Result<HttpError> {
    let kind = ErrorKind::from_code(&code.to_ascii_lowercase())
        .ok_or_else(|| invalid_arg(format!("unknown error code `{code}`")))?;
    let error = Error::new(kind, message);
    Ok(HttpError {
        status: u32::from(kind.http_status()),
        challenge: http::bearer_challenge(&error, realm.as_deref()),
    })
}

/// Each stable error code (upper case) with its family (`token`, `session`, …).
#[napi(catch_unwind)]
pub fn error_families() -> std::collections::HashMap<String, String> {
    ErrorKind::ALL
        .iter()
        .map(|k| (k.code().to_ascii_uppercase(), k.family().to_string()))
        .collect()
}

/// Every stable error code, upper case.
#[napi(catch_unwind)]
pub fn error_codes() -> Vec<String> {
    ErrorKind::ALL
        .iter()
        .map(|k| k.code().to_ascii_uppercase())
        .collect()
}
