//! The HTTP pieces the framework integrations use (all decided in the core).

use authgate_core::{http, Error, ErrorKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::guard;

/// The absolute URL of a request from its scheme, `Host` and raw target; raises
/// `InvalidInput` for a `Host` that is not a host (see the core's `http::request_url`).
#[pyfunction]
pub fn request_url(py: Python<'_>, scheme: &str, host: &str, target: &str) -> PyResult<String> {
    guard(py, || http::request_url(scheme, host, target))
}

/// The URL a gate checks a DPoP proof against (the core's `http::gate_url`): the absolute
/// URL without its query, or the bare path when `Host` is absent or not a host. Never raises.
#[pyfunction]
#[pyo3(signature = (scheme, host, target))]
pub fn gate_url(scheme: &str, host: Option<&str>, target: &str) -> String {
    http::gate_url(scheme, host, target)
}

/// The token of an `Authorization: Bearer …` header value; raises `MalformedToken`.
#[pyfunction]
pub fn bearer_token(py: Python<'_>, header_value: &str) -> PyResult<String> {
    guard(py, || http::bearer_token(header_value).map(str::to_owned))
}

/// `(status, www_authenticate)` for an error code and message.
#[pyfunction]
#[pyo3(signature = (code, message, realm = None))]
pub fn http_error(
    code: &str,
    message: String,
    realm: Option<&str>,
) -> PyResult<(u16, Option<String>)> {
    let kind = ErrorKind::from_code(code)
        .ok_or_else(|| PyValueError::new_err(format!("unknown error code `{code}`")))?;
    let error = Error::new(kind, message);
    Ok((kind.http_status(), http::bearer_challenge(&error, realm)))
}

/// Each stable error code with the HTTP status a server answers it with.
#[pyfunction]
pub fn error_statuses() -> std::collections::HashMap<&'static str, u16> {
    ErrorKind::ALL
        .iter()
        .map(|k| (k.code(), k.http_status()))
        .collect()
}

/// `(status, headers, body)` of a request refused with `code` (either case), `message` and
/// `retry_after`: lower-case header names, the JSON body as bytes — what every authgate
/// runtime sends. Never raises for an unknown code (a fixed 500).
#[pyfunction]
#[pyo3(signature = (code, message, retry_after = None, realm = None, rate = None, violations = None))]
pub fn http_refusal<'py>(
    py: Python<'py>,
    code: &str,
    message: &str,
    retry_after: Option<u64>,
    realm: Option<&str>,
    rate: Option<PyRef<'py, crate::ratelimit::PyRateDecision>>,
    violations: Option<Vec<String>>,
) -> (
    u16,
    Vec<(&'static str, String)>,
    Bound<'py, pyo3::types::PyBytes>,
) {
    let r = http::refusal_for_code(
        code,
        message,
        retry_after,
        &violations.unwrap_or_default(),
        realm,
        rate.as_deref().map(|d| &d.inner),
    );
    (
        r.status,
        r.headers,
        pyo3::types::PyBytes::new(py, r.body.as_bytes()),
    )
}
