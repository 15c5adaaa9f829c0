//! The HTTP pieces the middleware uses (all decided in the core).

use authgate_core::{http, Error, ErrorKind};
use napi_derive::napi;

use crate::errors::{core, invalid_arg, Result};

/// The absolute URL of a request from its scheme, `Host` and raw target (`INVALID_INPUT`
/// for a `Host` that is not a host).
#[napi(catch_unwind)]
pub fn request_url(scheme: String, host: String, target: String) -> Result<String> {
    core(http::request_url(&scheme, &host, &target))
}

/// The URL a gate checks a DPoP proof against (the core's `http::gate_url`): the
/// absolute URL without its query, or the bare path when `Host` is absent or not a host.
/// Never throws.
#[napi(catch_unwind)]
pub fn gate_url(scheme: String, host: Option<String>, target: String) -> String {
    http::gate_url(&scheme, host.as_deref(), &target)
}

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

/// A refused request's whole response, as every authgate runtime sends it.
#[napi(object)]
pub struct HttpRefusal {
    pub status: u32,
    /// `[name, value]` pairs, lower-case names.
    pub headers: Vec<Vec<String>>,
    /// `{"error":"<snake_case code>","message":"…"}` (and `retry_after`, `violations`).
    pub body: String,
}

/// The response to a request refused with `code` (either case), `message` and
/// `retryAfter`, with the RateLimit headers of a decision given by its policy and numbers.
/// Never throws for an unknown code (a fixed 500).
#[napi(catch_unwind)]
pub fn http_refusal(
    code: String,
    message: String,
    retry_after: Option<f64>,
    realm: Option<String>,
    rate_policy: Option<String>,
    rate_numbers: Option<Vec<f64>>,
    violations: Option<Vec<String>>,
) -> HttpRefusal {
    let rate = match (rate_policy, rate_numbers) {
        (Some(p), Some(n)) => crate::ratelimit::decision_from(p, &n).ok(),
        _ => None,
    };
    let retry = retry_after
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| s as u64);
    let r = http::refusal_for_code(
        &code,
        &message,
        retry,
        &violations.unwrap_or_default(),
        realm.as_deref(),
        rate.as_ref(),
    );
    HttpRefusal {
        status: u32::from(r.status),
        headers: r
            .headers
            .into_iter()
            .map(|(n, v)| vec![n.to_string(), v])
            .collect(),
        body: r.body,
    }
}

/// Each stable error code (upper case) with its family (`token`, `session`, …).
#[napi(catch_unwind)]
pub fn error_families() -> std::collections::HashMap<String, String> {
    ErrorKind::ALL
        .iter()
        .map(|k| (k.code().to_ascii_uppercase(), k.family().to_string()))
        .collect()
}

/// Each stable error code (upper case) with the HTTP status a server answers it with.
#[napi(catch_unwind)]
pub fn error_statuses() -> std::collections::HashMap<String, u32> {
    ErrorKind::ALL
        .iter()
        .map(|k| (k.code().to_ascii_uppercase(), u32::from(k.http_status())))
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
