//! Argument conventions: seconds as non-negative integers, bytes as Buffer or string,
//! one string or an array of strings.

use authgate_core::{Error, ErrorKind};
use napi::bindgen_prelude::{Buffer, BufferSlice, Either};
use napi::Env;
use serde_json::{Map, Value};

use crate::errors::{invalid_arg, js, Result};

/// Seconds (a timestamp or a duration) from a JS number: a non-negative safe integer.
pub fn seconds(value: f64, what: &str) -> Result<u64> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= 9_007_199_254_740_991.0
    {
        Ok(value as u64)
    } else {
        Err(invalid_arg(format!(
            "{what} must be a non-negative whole number of seconds"
        )))
    }
}

pub fn opt_seconds(value: Option<f64>, what: &str) -> Result<Option<u64>> {
    value.map(|v| seconds(v, what)).transpose()
}

/// Bytes from a Buffer/Uint8Array or a string (UTF-8).
pub fn bytes(value: &Either<Buffer, String>) -> Vec<u8> {
    match value {
        Either::A(b) => b.to_vec(),
        Either::B(s) => s.as_bytes().to_vec(),
    }
}

/// Bytes of a Buffer/Uint8Array or a string (UTF-8), read in place: a `BufferSlice`
/// argument takes no napi reference, unlike a `Buffer` (for synchronous calls).
pub fn in_place<'a>(value: &'a Either<BufferSlice<'_>, String>) -> &'a [u8] {
    match value {
        Either::A(b) => b,
        Either::B(s) => s.as_bytes(),
    }
}

/// A Buffer holding a copy of `bytes`, owned by V8. For short results this is much cheaper
/// than napi-rs's `Buffer` from a `Vec` (an external buffer: about 1.3 µs more, for its
/// finalizer).
pub fn buffer<'e>(env: &'e Env, bytes: &[u8]) -> Result<BufferSlice<'e>> {
    BufferSlice::copy_from(env, bytes)
        .map_err(|_| js(Error::new(ErrorKind::Internal, "could not make a Buffer")))
}

/// Text from a string or a Buffer holding UTF-8.
pub fn text(value: Either<String, Buffer>) -> Result<String> {
    match value {
        Either::A(s) => Ok(s),
        Either::B(b) => {
            String::from_utf8(b.to_vec()).map_err(|_| invalid_arg("the Buffer is not UTF-8"))
        }
    }
}

pub fn strings(value: Option<Either<String, Vec<String>>>) -> Option<Vec<String>> {
    value.map(|v| match v {
        Either::A(s) => vec![s],
        Either::B(list) => list,
    })
}

/// A claims object: JSON with string keys at the top.
pub fn object(value: Value, what: &str) -> Result<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(invalid_arg(format!("{what} must be a plain object"))),
    }
}
