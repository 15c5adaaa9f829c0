//! The core's errors as the exception classes of `authgate.errors` (one per stable code,
//! all subclasses of `AuthError`), and the guard that keeps panics from crossing into Python.

use std::panic::{catch_unwind, AssertUnwindSafe};

use authgate_core::{Error, ErrorKind};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

static CLASSES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// `authgate.errors._BY_CODE`: code → exception class.
fn classes(py: Python<'_>) -> PyResult<&Bound<'_, PyDict>> {
    CLASSES
        .get_or_try_init(py, || {
            let by_code = py.import("authgate.errors")?.getattr("_BY_CODE")?;
            Ok::<_, PyErr>(by_code.cast_into::<PyDict>()?.unbind())
        })
        .map(|d| d.bind(py))
}

/// The exception for a core error: its class by code, with the core's message.
pub fn to_py(py: Python<'_>, err: &Error) -> PyErr {
    let raised = classes(py)
        .and_then(|by_code| by_code.get_item(err.code()))
        .and_then(|class| match class {
            Some(class) => {
                let value = class.call1((err.message(), err.retry_after()))?;
                if !err.violations().is_empty() {
                    value.setattr("violations", err.violations().to_vec())?;
                }
                Ok(PyErr::from_value(value))
            }
            None => Err(PyRuntimeError::new_err(format!(
                "authgate: no exception class for `{}`",
                err.code()
            ))),
        });
    raised.unwrap_or_else(|e| e)
}

fn panicked() -> Error {
    Error::new(
        ErrorKind::Internal,
        "internal error in authgate (the operation panicked)",
    )
}

/// Runs a core call: its error becomes the matching exception; a panic becomes
/// `authgate.InternalError` instead of unwinding into the interpreter.
pub fn guard<T>(py: Python<'_>, f: impl FnOnce() -> authgate_core::Result<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(to_py(py, &e)),
        Err(_) => Err(to_py(py, &panicked())),
    }
}

/// Like [`guard`], with the interpreter released while `f` runs (crypto, hashing).
pub fn guard_detached<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> authgate_core::Result<T> + Send,
) -> PyResult<T> {
    let result = py.detach(|| catch_unwind(AssertUnwindSafe(f)));
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(to_py(py, &e)),
        Err(_) => Err(to_py(py, &panicked())),
    }
}

/// [`guard_detached`] when `remote` (a network round trip to wait out without the GIL),
/// else [`guard`]: releasing the GIL costs more than an in-memory check takes.
pub fn guard_store<T: Send>(
    py: Python<'_>,
    remote: bool,
    f: impl FnOnce() -> authgate_core::Result<T> + Send,
) -> PyResult<T> {
    if remote {
        guard_detached(py, f)
    } else {
        guard(py, f)
    }
}

/// Raises the exception for `code` with `message` (used by the HTTP helpers and tests).
#[pyfunction]
pub fn error_for_code(py: Python<'_>, code: &str, message: String) -> PyResult<Py<PyAny>> {
    let kind = ErrorKind::from_code(code).ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err(format!("unknown error code `{code}`"))
    })?;
    Ok(to_py(py, &Error::new(kind, message))
        .into_value(py)
        .into_any())
}
