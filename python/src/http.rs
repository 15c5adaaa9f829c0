//! The HTTP pieces the framework integrations use (all decided in the core).

use authgate_core::{http, Error, ErrorKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::guard;

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
