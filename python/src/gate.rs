//! The core's request gate (`authgate_core::gate`) for the Python adapters: one native call
//! per request runs the whole pipeline and answers an admission or the refusal's response.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use authgate_core::gate::{
    Admission, Gate, GateConfig, GateOutcome, GateRequest, Grants, Route, TokenVerifier,
};
use authgate_core::http::Refusal;
use authgate_core::{Error, ErrorKind};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::allowlist::{PyClientIpResolver, PyIpAllowlist};
use crate::apikey::{record, PyApiKeyManager};
use crate::convert::json_text_to_py;
use crate::errors::{guard, to_py};
use crate::jwt::{validation, PyKeySet, PyVerifier};
use crate::pop::{PyDpopVerifier, PyRemoteJwks};
use crate::ratelimit::{PyRateDecision, PyRateLimiter};
use crate::session::PySessionManager;

const VALIDATION_OPTIONS: &[&str] = &[
    "issuer",
    "audience",
    "subject",
    "required_claims",
    "required_scopes",
    "token_type",
    "algorithms",
    "leeway",
    "max_token_bytes",
    "accept_any_audience",
];

fn tokens(
    py: Python<'_>,
    keys: &Bound<'_, PyAny>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<(TokenVerifier, bool)> {
    let has_options = options.is_some_and(|o| !o.is_empty());
    if let Ok(sessions) = keys.cast::<PySessionManager>() {
        if has_options {
            return Err(PyValueError::new_err(
                "verify options apply to a KeySet or a RemoteJwks; a SessionManager has its own",
            ));
        }
        let s = sessions.get();
        return Ok((TokenVerifier::Sessions(s.inner.clone()), s.remote));
    }
    if let Ok(verifier) = keys.cast::<PyVerifier>() {
        if has_options {
            return Err(PyValueError::new_err(
                "a Verifier has its checks built in: give the options to KeySet.verifier()",
            ));
        }
        let (keys, validation) = verifier.get().parts();
        return Ok((TokenVerifier::Keys { keys, validation }, false));
    }
    let validation = match options {
        Some(o) => {
            for key in o.keys() {
                let name: String = key.extract()?;
                if !VALIDATION_OPTIONS.contains(&name.as_str()) {
                    return Err(PyTypeError::new_err(format!(
                        "unknown verify option `{name}`"
                    )));
                }
            }
            let get = |name: &str| o.get_item(name).ok().flatten().filter(|v| !v.is_none());
            let text = |name: &str| get(name).map(|v| v.extract::<String>()).transpose();
            validation(
                get("issuer").as_ref(),
                get("audience").as_ref(),
                text("subject")?,
                get("required_claims").as_ref(),
                get("required_scopes").as_ref(),
                text("token_type")?,
                get("algorithms").as_ref(),
                get("leeway").as_ref(),
                get("max_token_bytes")
                    .map(|v| v.extract::<usize>())
                    .transpose()?,
                get("accept_any_audience")
                    .map(|v| v.extract::<bool>())
                    .transpose()?
                    .unwrap_or(false),
                py,
            )?
        }
        None => Default::default(),
    };
    if let Ok(set) = keys.cast::<PyKeySet>() {
        return Ok((
            TokenVerifier::Keys {
                keys: set.get().inner.clone(),
                validation,
            },
            false,
        ));
    }
    if let Ok(remote) = keys.cast::<PyRemoteJwks>() {
        return Ok((
            TokenVerifier::Remote {
                jwks: remote.get().inner.clone(),
                validation,
            },
            true,
        ));
    }
    Err(PyTypeError::new_err(
        "keys is a KeySet, a Verifier, a SessionManager or a RemoteJwks",
    ))
}

/// A route's own rule: more scopes, a limit (see `CoreGate.route`).
#[pyclass(frozen, name = "GateRoute", module = "authgate")]
pub struct PyGateRoute {
    inner: Route,
}

#[pymethods]
impl PyGateRoute {
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }
    #[getter]
    fn scopes(&self) -> Vec<String> {
        self.inner.scopes.clone()
    }
    #[getter]
    fn limit(&self) -> Option<&str> {
        self.inner.rate_policy.as_deref()
    }
}

/// What an admitted request carries: the token's claims and/or the API key's record, the
/// client's address, who it is from (`user:<sub>`, `app:<app>` or `ip:<address>`), the
/// rate-limit decision and the headers to add (lower-case names), and for a DPoP-bound
/// token the thumbprint of the proof's key.
#[pyclass(frozen, name = "AuthContext", module = "authgate")]
pub struct PyAdmission {
    #[pyo3(get)]
    claims: Option<Py<PyAny>>,
    #[pyo3(get)]
    api_key: Option<Py<PyAny>>,
    #[pyo3(get)]
    client_ip: Option<String>,
    #[pyo3(get)]
    identity: String,
    #[pyo3(get)]
    rate_limit: Option<Py<PyRateDecision>>,
    #[pyo3(get)]
    headers: Vec<(&'static str, String)>,
    #[pyo3(get)]
    dpop_jkt: Option<String>,
    grants: Grants,
    rate: Option<authgate_core::ratelimit::RateDecision>,
}

#[pymethods]
impl PyAdmission {
    fn __repr__(&self) -> String {
        format!(
            "AuthContext(identity={:?}, client_ip={:?})",
            self.identity, self.client_ip
        )
    }
}

fn admission(py: Python<'_>, a: Admission) -> PyResult<PyAdmission> {
    Ok(PyAdmission {
        claims: a
            .claims
            .map(|c| json_text_to_py(py, c.json()).map(Bound::unbind))
            .transpose()?,
        api_key: a
            .api_key
            .map(|r| Py::new(py, record(py, r)).map(|r| r.into_any()))
            .transpose()?,
        client_ip: a.client_ip,
        identity: a.identity,
        rate_limit: a
            .rate_limit
            .clone()
            .map(|inner| Py::new(py, PyRateDecision { inner }))
            .transpose()?,
        headers: a.headers,
        dpop_jkt: a.dpop.map(|d| d.jkt),
        grants: a.grants,
        rate: a.rate_limit,
    })
}

/// The exception for a refusal, carrying `response` = `(status, headers, body)` as the
/// core built it and `rate_limit` (the refusing decision, or None).
fn refusal_error(
    py: Python<'_>,
    error: &Error,
    response: Refusal,
    rate: Option<authgate_core::ratelimit::RateDecision>,
) -> PyErr {
    let err = to_py(py, error);
    let value = err.value(py);
    let body = PyBytes::new(py, response.body.as_bytes());
    let set = || -> PyResult<()> {
        value.setattr("response", (response.status, response.headers, body))?;
        let rate = rate
            .map(|inner| Py::new(py, PyRateDecision { inner }))
            .transpose()?;
        value.setattr("rate_limit", rate)?;
        Ok(())
    };
    match set() {
        Ok(()) => err,
        Err(e) => e,
    }
}

fn refused(py: Python<'_>, r: authgate_core::gate::Refused) -> PyErr {
    refusal_error(py, &r.error, r.response, r.rate_limit)
}

/// A refused request as `CoreGate.decide` returns it, with no exception raised: the
/// response the core built (`status`, `headers`, `body`, as `AuthError.response` holds
/// them), the error's `code`, `message` and `retry_after`, the refusing `rate_limit`, and
/// `error`, the exception `check` would have raised, made when read.
#[pyclass(frozen, name = "GateRefusal", module = "authgate")]
pub struct PyGateRefusal {
    refused: authgate_core::gate::Refused,
}

#[pymethods]
impl PyGateRefusal {
    #[getter]
    fn status(&self) -> u16 {
        self.refused.response.status
    }

    /// The response's headers (lower-case names), a new list on each read.
    #[getter]
    fn headers(&self) -> Vec<(&'static str, String)> {
        self.refused.response.headers.clone()
    }

    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.refused.response.body.as_bytes())
    }

    /// `(status, headers, body)`, as `AuthError.response` holds it.
    #[getter]
    fn response<'py>(
        &self,
        py: Python<'py>,
    ) -> (u16, Vec<(&'static str, String)>, Bound<'py, PyBytes>) {
        (self.status(), self.headers(), self.body(py))
    }

    #[getter]
    fn code(&self) -> &'static str {
        self.refused.error.code()
    }

    #[getter]
    fn message(&self) -> String {
        self.refused.error.message().to_string()
    }

    #[getter]
    fn retry_after(&self) -> Option<u64> {
        self.refused.error.retry_after()
    }

    #[getter]
    fn rate_limit(&self) -> Option<PyRateDecision> {
        self.refused
            .rate_limit
            .clone()
            .map(|inner| PyRateDecision { inner })
    }

    /// The `AuthError` subclass `check` raises for this refusal, with `response` and
    /// `rate_limit` attached (a new exception object on each read).
    #[getter]
    fn error(&self, py: Python<'_>) -> Py<PyAny> {
        let r = &self.refused;
        refusal_error(py, &r.error, r.response.clone(), r.rate_limit.clone())
            .into_value(py)
            .into_any()
    }

    fn __repr__(&self) -> String {
        format!(
            "GateRefusal(status={}, code='{}')",
            self.refused.response.status,
            self.refused.error.code()
        )
    }
}

/// The refusal for a panic in the gate (a bug): `internal`, answered with a fixed 500.
fn panic_refusal() -> authgate_core::gate::Refused {
    let error = Error::new(
        ErrorKind::Internal,
        "internal error in authgate (the gate panicked)",
    );
    let response = authgate_core::http::refusal(&error, None, None);
    authgate_core::gate::Refused {
        error,
        response,
        rate_limit: None,
    }
}

/// A panic in the gate, raised: an `InternalError` carrying the fixed 500.
fn panicked(py: Python<'_>) -> PyErr {
    refused(py, panic_refusal())
}

/// The request pipeline of `authgate_core::gate`, configured once.
#[pyclass(frozen, name = "CoreGate", module = "authgate")]
pub struct PyCoreGate {
    inner: Arc<Gate>,
    offload: bool,
}

impl PyCoreGate {
    /// The pipeline on one request (without the GIL when `offload`), a panic caught.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        py: Python<'_>,
        method: String,
        url: String,
        peer: Option<String>,
        headers: Vec<(String, String)>,
        route: Option<PyRef<'_, PyGateRoute>>,
        client_certificate: Option<Vec<u8>>,
    ) -> std::thread::Result<GateOutcome> {
        let route = route.map(|r| r.inner.clone());
        let gate = self.inner.clone();
        let run = move || {
            let pairs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let request = GateRequest {
                method: &method,
                url: &url,
                peer: peer.as_deref(),
                headers: &pairs,
                client_certificate: client_certificate.as_deref(),
            };
            catch_unwind(AssertUnwindSafe(|| gate.check(&request, route.as_ref())))
        };
        if self.offload {
            py.detach(run)
        } else {
            run()
        }
    }
}

#[pymethods]
impl PyCoreGate {
    #[new]
    #[pyo3(signature = (*, keys = None, verify_options = None, api_keys = None, api_key_scope = None,
        api_key_header = "x-api-key", api_key_in_authorization = false, realm = None, allowlist = None,
        client_ip = None, limiter = None, rate_policy = None, client_rate_policy = Some("per_client".to_string()),
        user_rate_policy = None, dpop = None, public_origin = None, scopes = None, ipv6_prefix = 64,
        client_certificate_header = None, accept_id_tokens = false, api_key_prefixes = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        keys: Option<&Bound<'_, PyAny>>,
        verify_options: Option<&Bound<'_, PyDict>>,
        api_keys: Option<PyRef<'_, PyApiKeyManager>>,
        api_key_scope: Option<String>,
        api_key_header: &str,
        api_key_in_authorization: bool,
        realm: Option<String>,
        allowlist: Option<PyRef<'_, PyIpAllowlist>>,
        client_ip: Option<PyRef<'_, PyClientIpResolver>>,
        limiter: Option<PyRef<'_, PyRateLimiter>>,
        rate_policy: Option<String>,
        client_rate_policy: Option<String>,
        user_rate_policy: Option<String>,
        dpop: Option<PyRef<'_, PyDpopVerifier>>,
        public_origin: Option<String>,
        scopes: Option<Vec<String>>,
        ipv6_prefix: u8,
        client_certificate_header: Option<String>,
        accept_id_tokens: bool,
        api_key_prefixes: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let mut remote = false;
        let tokens = match keys {
            Some(k) => {
                let (t, r) = tokens(py, k, verify_options)?;
                remote |= r;
                Some(t)
            }
            None if verify_options.is_some_and(|o| !o.is_empty()) => {
                return Err(PyValueError::new_err(
                    "verify options apply to a KeySet or a RemoteJwks",
                ))
            }
            None => None,
        };
        remote |= api_keys.as_ref().is_some_and(|a| a.remote)
            || limiter.as_ref().is_some_and(|l| l.remote)
            || dpop.as_ref().is_some_and(|d| d.remote);
        let config = GateConfig {
            realm,
            allowlist: allowlist.map(|a| a.inner.clone()),
            client_ip: client_ip.map(|c| c.inner.clone()),
            limiter: limiter.map(|l| l.inner.clone()),
            client_rate_policy,
            rate_policy,
            user_rate_policy,
            api_keys: api_keys.map(|a| a.inner.clone()),
            api_key_header: api_key_header.to_string(),
            api_key_scope,
            api_key_prefixes: api_key_prefixes.unwrap_or_default(),
            api_key_in_authorization,
            tokens,
            dpop: dpop.map(|d| d.inner.clone()),
            public_origin,
            scopes: scopes.unwrap_or_default(),
            ipv6_prefix,
            client_certificate_header,
            accept_id_tokens,
        };
        let gate = guard(py, || Gate::new(config))?;
        let offload = gate.blocks(remote);
        Ok(PyCoreGate {
            inner: Arc::new(gate),
            offload,
        })
    }

    /// The request headers the gate reads (lower case): pass these to `check`.
    #[getter]
    fn header_names(&self) -> Vec<String> {
        self.inner.header_names().to_vec()
    }

    /// A check may wait on the network (Redis, a remote key set): async servers run
    /// `check` on a worker thread. It releases the GIL while it runs.
    #[getter]
    fn offload(&self) -> bool {
        self.offload
    }

    /// A route's rule: `scopes` it needs beyond the gate's, and `limit`, a policy name of
    /// the gate's limiter or a policy's text (`"5/minute"`), metered per user, else per
    /// app, else per client, apart from other routes.
    #[pyo3(signature = (name, *, scopes = None, limit = None, cost = 1))]
    fn route(
        &self,
        py: Python<'_>,
        name: &str,
        scopes: Option<Vec<String>>,
        limit: Option<&str>,
        cost: u64,
    ) -> PyResult<PyGateRoute> {
        let inner = guard(py, || {
            self.inner
                .route(name, scopes.unwrap_or_default(), limit, cost)
        })?;
        Ok(PyGateRoute { inner })
    }

    /// A route's own rule for a request this gate already admitted (`context`): the
    /// route's scopes and limit only, not the whole pipeline again. Returns the context
    /// with the route's rate decision when it has fewer requests left; raises the refusal.
    fn check_route_for(
        &self,
        py: Python<'_>,
        context: PyRef<'_, PyAdmission>,
        route: PyRef<'_, PyGateRoute>,
    ) -> PyResult<PyAdmission> {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            self.inner.check_route_for(
                &context.identity,
                &context.grants,
                context.rate.as_ref(),
                &route.inner,
            )
        }));
        match outcome {
            Ok(GateOutcome::Admitted(a)) => Ok(PyAdmission {
                claims: context.claims.as_ref().map(|c| c.clone_ref(py)),
                api_key: context.api_key.as_ref().map(|c| c.clone_ref(py)),
                client_ip: context.client_ip.clone(),
                identity: context.identity.clone(),
                rate_limit: a
                    .rate_limit
                    .clone()
                    .map(|inner| Py::new(py, PyRateDecision { inner }))
                    .transpose()?,
                headers: a.headers,
                dpop_jkt: context.dpop_jkt.clone(),
                grants: context.grants.clone(),
                rate: a.rate_limit,
            }),
            Ok(GateOutcome::Refused(r)) => Err(refused(py, *r)),
            Err(_) => Err(panicked(py)),
        }
    }

    /// Runs the pipeline: returns an `Admission`, or raises the refusing `AuthError` with
    /// `response` (status, headers, body) and `rate_limit` attached. `headers` are the
    /// `(name, value)` pairs of the headers the gate reads, in the order received.
    #[pyo3(signature = (method, url, peer, headers, route = None, client_certificate = None))]
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        py: Python<'_>,
        method: String,
        url: String,
        peer: Option<String>,
        headers: Vec<(String, String)>,
        route: Option<PyRef<'_, PyGateRoute>>,
        client_certificate: Option<Vec<u8>>,
    ) -> PyResult<PyAdmission> {
        let outcome = self.run(py, method, url, peer, headers, route, client_certificate);
        match outcome {
            Ok(GateOutcome::Admitted(a)) => admission(py, *a),
            Ok(GateOutcome::Refused(r)) => Err(refused(py, *r)),
            Err(_) => Err(panicked(py)),
        }
    }

    /// `check`, with a refusal returned as a `GateRefusal` instead of raised (no exception
    /// object, attributes or traceback on the refusal path). A panic in the gate is a
    /// refusal too: `internal`, the fixed 500.
    #[pyo3(signature = (method, url, peer, headers, route = None, client_certificate = None))]
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &self,
        py: Python<'_>,
        method: String,
        url: String,
        peer: Option<String>,
        headers: Vec<(String, String)>,
        route: Option<PyRef<'_, PyGateRoute>>,
        client_certificate: Option<Vec<u8>>,
    ) -> PyResult<Py<PyAny>> {
        let outcome = self.run(py, method, url, peer, headers, route, client_certificate);
        let refused = match outcome {
            Ok(GateOutcome::Admitted(a)) => {
                return Ok(Py::new(py, admission(py, *a)?)?.into_any());
            }
            Ok(GateOutcome::Refused(r)) => *r,
            Err(_) => panic_refusal(),
        };
        Ok(Py::new(py, PyGateRefusal { refused })?.into_any())
    }
}
