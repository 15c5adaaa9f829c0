//! Python ⇄ JSON and the argument conventions: seconds or `datetime`/`timedelta`,
//! a string or a sequence of strings, `str` or `bytes`.

use std::fmt;

use authgate_core::jwt::{ClaimSink, RegisteredValue};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Claims nest at most this deep (a cycle or a hostile structure stops here).
const MAX_DEPTH: usize = 64;

/// A Python value as JSON: dict (str keys), list/tuple, str, int, float, bool, None.
pub fn to_json(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err("claims nest too deeply"));
    }
    if obj.is_none() {
        Ok(Value::Null)
    } else if let Ok(b) = obj.cast::<PyBool>() {
        Ok(Value::Bool(b.is_true()))
    } else if obj.is_instance_of::<PyInt>() {
        if let Ok(v) = obj.extract::<u64>() {
            Ok(Value::from(v))
        } else if let Ok(v) = obj.extract::<i64>() {
            Ok(Value::from(v))
        } else {
            Err(PyValueError::new_err("integer claims must fit in 64 bits"))
        }
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err("claims cannot hold NaN or infinity"))
    } else if let Ok(s) = obj.cast::<PyString>() {
        Ok(Value::String(s.to_cow()?.into_owned()))
    } else if let Ok(d) = obj.cast::<PyDict>() {
        Ok(Value::Object(to_json_map(d, depth)?))
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items: PyResult<Vec<Value>> = obj
            .try_iter()?
            .map(|item| to_json(&item?, depth + 1))
            .collect();
        Ok(Value::Array(items?))
    } else {
        Err(PyTypeError::new_err(format!(
            "cannot put a {} into a token (use dict, list, str, int, float, bool or None)",
            obj.get_type().name()?
        )))
    }
}

/// A dict with string keys as a JSON object.
pub fn to_json_map(d: &Bound<'_, PyDict>, depth: usize) -> PyResult<Map<String, Value>> {
    let mut map = Map::new();
    for (k, v) in d.iter() {
        let key = k
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("claim names must be str"))?
            .to_cow()?
            .into_owned();
        map.insert(key, to_json(&v, depth + 1)?);
    }
    Ok(map)
}

/// JSON text straight into Python objects (no intermediate tree): the verify hot path.
pub fn json_text_to_py<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_str(text);
    match (PySeed {
        py,
        failure: &mut failure,
    })
    .deserialize(&mut de)
    {
        Ok(obj) => Ok(obj),
        Err(_) => Err(failure.unwrap_or_else(|| PyValueError::new_err("invalid JSON"))),
    }
}

/// Builds the claims dict during the core's single parse of the payload.
pub struct DictSink<'py> {
    py: Python<'py>,
    dict: Bound<'py, PyDict>,
    failure: Option<PyErr>,
}

impl<'py> DictSink<'py> {
    pub fn new(py: Python<'py>) -> Self {
        DictSink {
            py,
            dict: PyDict::new(py),
            failure: None,
        }
    }

    /// The dict, once the verification that filled it succeeded (a Python error raised
    /// while building it comes first).
    pub fn finish<T>(self, verified: PyResult<T>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(failure) = self.failure {
            return Err(failure);
        }
        verified?;
        Ok(self.dict.into_any())
    }

    fn put(&mut self, name: &str, value: PyResult<Bound<'py, PyAny>>) {
        if self.failure.is_none() {
            if let Err(e) = value.and_then(|v| self.dict.set_item(claim_name(self.py, name), v)) {
                self.failure = Some(e);
            }
        }
    }
}

impl ClaimSink for DictSink<'_> {
    fn registered(&mut self, name: &str, value: RegisteredValue<'_>) {
        let py = self.py;
        let obj = match value {
            RegisteredValue::Time(t) => Ok(PyInt::new(py, t).into_any()),
            RegisteredValue::Text(s) => Ok(PyString::new(py, s).into_any()),
            RegisteredValue::Audience(list, false) => Ok(PyString::new(py, &list[0]).into_any()),
            RegisteredValue::Audience(list, true) => {
                PyList::new(py, list.iter().map(|s| s.as_ref())).map(Bound::into_any)
            }
        };
        self.put(name, obj);
    }

    fn other<'de, D: Deserializer<'de>>(&mut self, name: &str, value: D) -> Result<(), D::Error> {
        let mut failure = None;
        let parsed = (PySeed {
            py: self.py,
            failure: &mut failure,
        })
        .deserialize(value);
        match parsed {
            Ok(obj) => {
                self.put(name, Ok(obj));
                Ok(())
            }
            Err(e) => {
                self.failure = self.failure.take().or(failure);
                Err(e)
            }
        }
    }
}

/// A `serde_json::Value` as a Python object.
pub fn value_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    json_text_to_py(py, &value.to_string())
}

struct PySeed<'py, 'f> {
    py: Python<'py>,
    failure: &'f mut Option<PyErr>,
}

impl<'py> PySeed<'py, '_> {
    fn reborrow(&mut self) -> PySeed<'py, '_> {
        PySeed {
            py: self.py,
            failure: self.failure,
        }
    }

    fn fail<E: de::Error>(&mut self, err: PyErr) -> E {
        *self.failure = Some(err);
        E::custom("python error")
    }
}

impl<'de, 'py> DeserializeSeed<'de> for PySeed<'py, '_> {
    type Value = Bound<'py, PyAny>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'py> Visitor<'de> for PySeed<'py, '_> {
    type Value = Bound<'py, PyAny>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(PyInt::new(self.py, v).into_any())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(PyInt::new(self.py, v).into_any())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(PyFloat::new(self.py, v).into_any())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(PyString::new(self.py, v).into_any())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Self::Value, A::Error> {
        let list = PyList::empty(self.py);
        while let Some(item) = seq.next_element_seed(self.reborrow())? {
            list.append(item).map_err(|e| self.fail(e))?;
        }
        Ok(list.into_any())
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.py);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let value = map.next_value_seed(self.reborrow())?;
            let key = claim_name(self.py, &key);
            dict.set_item(key, value).map_err(|e| self.fail(e))?;
        }
        Ok(dict.into_any())
    }
}

/// The registered claim names, interned once: interned strings carry their hash, so
/// building a claims dict neither allocates nor hashes these keys.
const COMMON_NAMES: [&str; 10] = [
    "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "sid", "user",
];
static INTERNED: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();

fn claim_name<'py>(py: Python<'py>, name: &str) -> Bound<'py, PyString> {
    let interned = INTERNED.get_or_init(py, || {
        COMMON_NAMES
            .iter()
            .map(|n| PyString::intern(py, n).unbind())
            .collect()
    });
    match COMMON_NAMES.iter().position(|n| *n == name) {
        Some(i) => interned[i].bind(py).clone(),
        None => PyString::new(py, name),
    }
}

/// Seconds since the epoch from an `int` or an aware `datetime`.
/// An optional time argument, or the system's time.
pub fn now_or_system(now: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
    Ok(now
        .map(timestamp)
        .transpose()?
        .unwrap_or_else(authgate_core::clock::unix_now))
}

pub fn timestamp(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return obj
            .extract::<u64>()
            .map_err(|_| PyValueError::new_err("times are seconds since 1970, from 0 to 2^64-1"));
    }
    if obj.hasattr("timestamp")? && obj.hasattr("tzinfo")? {
        if obj.getattr("tzinfo")?.is_none() {
            return Err(PyValueError::new_err(
                "use an aware datetime (with tzinfo), or seconds since the epoch",
            ));
        }
        let secs: f64 = obj.call_method0("timestamp")?.extract()?;
        if secs < 0.0 {
            return Err(PyValueError::new_err("times before 1970 are not supported"));
        }
        return Ok(secs.floor() as u64);
    }
    Err(PyTypeError::new_err(
        "expected seconds since the epoch (int) or a datetime",
    ))
}

/// Seconds from an `int` or a `timedelta`.
pub fn seconds(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return obj
            .extract::<u64>()
            .map_err(|_| PyValueError::new_err("durations are 0 to 2^64-1 seconds"));
    }
    if obj.hasattr("total_seconds")? {
        let secs: f64 = obj.call_method0("total_seconds")?.extract()?;
        if secs < 0.0 {
            return Err(PyValueError::new_err("durations cannot be negative"));
        }
        return Ok(secs.floor() as u64);
    }
    Err(PyTypeError::new_err(
        "expected a number of seconds (int) or a timedelta",
    ))
}

/// A string, or a sequence of strings, as a list.
pub fn strings(obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return with_str(s, |text| vec![text.to_owned()]);
    }
    if obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(
            "expected str or a sequence of str, not bytes",
        ));
    }
    obj.try_iter()
        .map_err(|_| PyTypeError::new_err("expected str or a sequence of str"))?
        .map(|item| item?.extract::<String>())
        .collect()
}

/// Calls `f` with the UTF-8 text of a `str`, borrowed without a copy (the 3.10 stable ABI
/// has `PyUnicode_AsUTF8AndSize`). A `str` with lone surrogates raises
/// `UnicodeEncodeError`, as encoding it would.
pub fn with_str<R>(s: &Bound<'_, PyString>, f: impl FnOnce(&str) -> R) -> PyResult<R> {
    Ok(f(s.to_str()?))
}

/// Text from `str` or UTF-8 `bytes`.
pub fn text(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return String::from_utf8(b.as_bytes().to_vec())
            .map_err(|_| PyValueError::new_err("bytes are not UTF-8"));
    }
    Err(PyTypeError::new_err(format!(
        "expected str or bytes, not {}",
        obj.get_type().name()?
    )))
}

/// Bytes from `bytes` (or `str`, taken as UTF-8).
pub fn bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "expected bytes or str, not {}",
        obj.get_type().name()?
    )))
}
