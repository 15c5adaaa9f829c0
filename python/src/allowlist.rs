//! IP allowlists and client-IP resolution behind trusted proxies.

use std::net::IpAddr;
use std::sync::Arc;

use authgate_core::allowlist::{
    parse_ip, parse_network as core_parse_network, Allowlist, Allowlists, ClientIpResolver,
    ForwardedHeader,
};
use pyo3::prelude::*;

use crate::errors::guard;

/// An address given as text or as an `ipaddress` object (anything whose `str()` is one).
fn ip_arg(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<IpAddr> {
    let text = obj.str()?.to_cow()?.into_owned();
    guard(py, || parse_ip(&text))
}

/// Header values: one string, a sequence of lines, or None.
fn header_values(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    match obj {
        None => Ok(Vec::new()),
        Some(o) if o.is_none() => Ok(Vec::new()),
        Some(o) => match o.extract::<String>() {
            Ok(one) => Ok(vec![one]),
            Err(_) => o.extract::<Vec<String>>(),
        },
    }
}

/// Normalises a network: `"10.0.0.0/8"`, `"192.0.2.7"` → `"192.0.2.7/32"`. Leading zeros,
/// host bits and other ambiguous forms raise `InvalidInput`.
#[pyfunction]
pub fn parse_network(py: Python<'_>, text: &str) -> PyResult<String> {
    guard(py, || core_parse_network(text)).map(|n| n.to_string())
}

/// A set of CIDR networks (IPv4 and IPv6).
#[pyclass(frozen, name = "IpAllowlist", module = "authgate")]
pub struct PyIpAllowlist {
    pub(crate) inner: Arc<Allowlist>,
}

#[pymethods]
impl PyIpAllowlist {
    /// `allow_any=True` accepts a list that lets every IPv4 or IPv6 address through
    /// (`0.0.0.0/0`, `::/0`); without it such a list raises `InvalidInput`.
    #[new]
    #[pyo3(signature = (networks, *, allow_any = false))]
    fn new(py: Python<'_>, networks: Vec<String>, allow_any: bool) -> PyResult<Self> {
        guard(py, || Allowlist::new_with(&networks, allow_any)).map(|inner| PyIpAllowlist {
            inner: Arc::new(inner),
        })
    }

    fn contains(&self, py: Python<'_>, ip: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.inner.contains(ip_arg(py, ip)?))
    }

    fn __contains__(&self, py: Python<'_>, ip: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.contains(py, ip)
    }

    /// Raises `IpNotAllowed` unless `ip` is on the list.
    fn check(&self, py: Python<'_>, ip: &Bound<'_, PyAny>) -> PyResult<()> {
        let ip = ip_arg(py, ip)?;
        guard(py, || self.inner.check(ip))
    }

    #[getter]
    fn networks(&self) -> Vec<String> {
        self.inner
            .networks()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn __len__(&self) -> usize {
        self.inner.networks().len()
    }
}

/// Several named allowlists, replaceable at run time.
#[pyclass(frozen, name = "IpAllowlists", module = "authgate")]
pub struct PyIpAllowlists {
    inner: Allowlists,
}

#[pymethods]
impl PyIpAllowlists {
    #[new]
    fn new() -> Self {
        PyIpAllowlists {
            inner: Allowlists::new(),
        }
    }

    #[pyo3(signature = (name, networks, *, allow_any = false))]
    fn set(
        &self,
        py: Python<'_>,
        name: &str,
        networks: Vec<String>,
        allow_any: bool,
    ) -> PyResult<()> {
        guard(py, || self.inner.set_with(name, &networks, allow_any))
    }

    fn remove(&self, name: &str) -> bool {
        self.inner.remove(name)
    }

    /// Raises `IpNotAllowed` unless `ip` is on the list `name` (`InvalidInput` for an
    /// unknown list).
    fn check(&self, py: Python<'_>, name: &str, ip: &Bound<'_, PyAny>) -> PyResult<()> {
        let ip = ip_arg(py, ip)?;
        guard(py, || self.inner.check(name, ip))
    }
}

/// Finds the client's address behind the proxies you trust: the right-most address in
/// `X-Forwarded-For` (or `Forwarded`) that is not one of them.
#[pyclass(frozen, name = "ClientIpResolver", module = "authgate")]
pub struct PyClientIpResolver {
    pub(crate) inner: Arc<ClientIpResolver>,
}

#[pymethods]
impl PyClientIpResolver {
    #[new]
    #[pyo3(signature = (trusted_proxies, *, header = "x-forwarded-for"))]
    fn new(py: Python<'_>, trusted_proxies: Vec<String>, header: &str) -> PyResult<Self> {
        let header = match header.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => ForwardedHeader::XForwardedFor,
            "forwarded" => ForwardedHeader::Forwarded,
            _ => {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "header must be \"x-forwarded-for\" or \"forwarded\"",
                ))
            }
        };
        guard(py, || ClientIpResolver::new(&trusted_proxies, header)).map(|inner| {
            PyClientIpResolver {
                inner: Arc::new(inner),
            }
        })
    }

    /// The header this resolver reads: `"x-forwarded-for"` or `"forwarded"`.
    #[getter]
    fn header(&self) -> &'static str {
        match self.inner.header() {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        }
    }

    /// The client's address as text. `headers`: the header's value, its lines, or None.
    #[pyo3(signature = (peer, headers = None))]
    fn resolve(
        &self,
        py: Python<'_>,
        peer: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        let peer = ip_arg(py, peer)?;
        let values = header_values(headers)?;
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        guard(py, || self.inner.resolve(peer, &values)).map(|ip| ip.to_string())
    }
}
