//! The core's request gate (`authgate_core::gate`) for the Node adapters: one native call
//! per request (or one task on the libuv pool when a store or key set is remote) runs the
//! whole pipeline and answers an admission or the refusal's complete response.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use authgate_core::gate::{Gate, GateConfig, GateOutcome, GateRequest, Route, TokenVerifier};
use authgate_core::{Error, ErrorKind};
use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi_derive::napi;

use crate::allowlist::{JsClientIpResolver, JsIpAllowlist};
use crate::apikey::{record, ApiKeyRecord, JsApiKeyManager};
use crate::errors::{core, invalid_arg, Result};
use crate::jwt::{validation_json, JsKeySet, JsVerifier};
use crate::offload::{offload, Offload};
use crate::pop::{JsDpopVerifier, JsRemoteJwks};
use crate::ratelimit::{write_decision, JsRateLimiter, FIELDS};
use crate::session::JsSessionManager;

/// The gate's settings besides the objects it checks with.
#[napi(object)]
#[derive(Default)]
pub struct GateSettings {
    pub realm: Option<String>,
    pub api_key_scope: Option<String>,
    pub api_key_header: Option<String>,
    pub api_key_in_authorization: Option<bool>,
    pub rate_policy: Option<String>,
    /// The per-client policy; `clientRateLimitOff` turns it off.
    pub client_rate_policy: Option<String>,
    pub client_rate_limit_off: Option<bool>,
    pub user_rate_policy: Option<String>,
    pub public_origin: Option<String>,
    pub scopes: Option<Vec<String>>,
    /// Verify options for a KeySet or RemoteJwks, as JSON (as `KeySet.verifyJson` takes).
    pub verify_json: Option<String>,
    /// A store is across the network (Redis): checks run on the libuv pool.
    pub remote_stores: Option<bool>,
}

struct Parts<'a> {
    key_set: Option<&'a JsKeySet>,
    verifier: Option<&'a JsVerifier>,
    sessions: Option<&'a JsSessionManager>,
    remote_jwks: Option<&'a JsRemoteJwks>,
    api_keys: Option<&'a JsApiKeyManager>,
    allowlist: Option<&'a JsIpAllowlist>,
    client_ip: Option<&'a JsClientIpResolver>,
    limiter: Option<&'a JsRateLimiter>,
    dpop: Option<&'a JsDpopVerifier>,
}

/// What the gate answered. Admitted: `claimsJson`, `apiKey`, `clientIp`, `identity`, the
/// headers to add and the rate decision. Refused: `status`, `headers` and `body` — the
/// whole response — with the error's `code` (snake_case), `message` and `retryAfter`.
#[napi(object)]
pub struct GateAnswer {
    pub admitted: bool,
    pub status: u32,
    /// Header names and values, alternating (lower-case names).
    pub headers: Vec<String>,
    pub body: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub retry_after: Option<f64>,
    pub claims_json: Option<String>,
    pub api_key: Option<ApiKeyRecord>,
    pub client_ip: Option<String>,
    pub identity: Option<String>,
    pub dpop_jkt: Option<String>,
    /// The rate decision (admitted: the bucket with the fewest left; refused: the one that
    /// refused), as the numbers `RateDecision` reads, and its policy.
    pub rate_policy: Option<String>,
    pub rate_numbers: Option<Vec<f64>>,
}

fn flat(headers: Vec<(&'static str, String)>) -> Vec<String> {
    let mut out = Vec::with_capacity(headers.len() * 2);
    for (name, value) in headers {
        out.push(name.to_string());
        out.push(value);
    }
    out
}

fn numbers(d: &authgate_core::ratelimit::RateDecision) -> Vec<f64> {
    let mut out = vec![0.0; FIELDS];
    // The buffer is FIELDS long: writing cannot fail.
    let _ = write_decision(d, &mut out);
    out
}

fn answer(outcome: GateOutcome) -> GateAnswer {
    let empty = GateAnswer {
        admitted: false,
        status: 200,
        headers: Vec::new(),
        body: None,
        code: None,
        message: None,
        retry_after: None,
        claims_json: None,
        api_key: None,
        client_ip: None,
        identity: None,
        dpop_jkt: None,
        rate_policy: None,
        rate_numbers: None,
    };
    match outcome {
        GateOutcome::Admitted(a) => GateAnswer {
            admitted: true,
            headers: flat(a.headers),
            claims_json: a.claims.map(|c| c.json().to_string()),
            api_key: a.api_key.map(record),
            client_ip: a.client_ip,
            identity: Some(a.identity),
            dpop_jkt: a.dpop.map(|d| d.jkt),
            rate_policy: a.rate_limit.as_ref().map(|d| d.policy.clone()),
            rate_numbers: a.rate_limit.as_ref().map(numbers),
            ..empty
        },
        GateOutcome::Refused(r) => GateAnswer {
            status: u32::from(r.response.status),
            headers: flat(r.response.headers),
            body: Some(r.response.body),
            code: Some(r.error.code().to_string()),
            message: Some(r.error.message().to_string()),
            retry_after: r.error.retry_after().map(|s| s as f64),
            rate_policy: r.rate_limit.as_ref().map(|d| d.policy.clone()),
            rate_numbers: r.rate_limit.as_ref().map(numbers),
            ..empty
        },
    }
}

/// A route's own rule (see `CoreGate.route`).
#[napi(js_name = "GateRoute")]
pub struct JsGateRoute {
    inner: Route,
}

#[napi]
impl JsGateRoute {
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.inner.name.clone()
    }
    #[napi(getter)]
    pub fn scopes(&self) -> Vec<String> {
        self.inner.scopes.clone()
    }
    #[napi(getter)]
    pub fn limit(&self) -> Option<String> {
        self.inner.rate_policy.clone()
    }
}

/// The request pipeline of `authgate_core::gate`, configured once.
#[napi(js_name = "CoreGate")]
pub struct JsCoreGate {
    inner: Arc<Gate>,
    offload: bool,
}

fn request_parts(headers: &[String]) -> Result<Vec<(&str, &str)>> {
    if headers.len() % 2 != 0 {
        return Err(invalid_arg("headers alternate names and values"));
    }
    Ok(headers
        .chunks_exact(2)
        .map(|p| (p[0].as_str(), p[1].as_str()))
        .collect())
}

fn run(
    gate: &Gate,
    method: &str,
    url: &str,
    peer: Option<&str>,
    headers: &[String],
    route: Option<&Route>,
    certificate: Option<&[u8]>,
) -> Result<GateAnswer> {
    let pairs = request_parts(headers)?;
    let request = GateRequest {
        method,
        url,
        peer,
        headers: &pairs,
        client_certificate: certificate,
    };
    let outcome = match catch_unwind(AssertUnwindSafe(|| gate.check(&request, route))) {
        Ok(outcome) => outcome,
        Err(_) => {
            let error = Error::new(
                ErrorKind::Internal,
                "internal error in authgate (the gate panicked)",
            );
            let response = authgate_core::http::refusal(&error, None, None);
            GateOutcome::Refused(Box::new(authgate_core::gate::Refused {
                error,
                response,
                rate_limit: None,
            }))
        }
    };
    Ok(answer(outcome))
}

#[napi]
impl JsCoreGate {
    /// The objects it checks with follow the settings, each optional: a key set, a
    /// verifier, a session manager or a remote key set (one of them), API keys, an
    /// allowlist, a client-address resolver, a limiter and a DPoP verifier.
    #[napi(constructor, catch_unwind)]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: GateSettings,
        key_set: Option<&JsKeySet>,
        verifier: Option<&JsVerifier>,
        sessions: Option<&JsSessionManager>,
        remote_jwks: Option<&JsRemoteJwks>,
        api_keys: Option<&JsApiKeyManager>,
        allowlist: Option<&JsIpAllowlist>,
        client_ip: Option<&JsClientIpResolver>,
        limiter: Option<&JsRateLimiter>,
        dpop: Option<&JsDpopVerifier>,
    ) -> Result<Self> {
        let parts = Parts {
            key_set,
            verifier,
            sessions,
            remote_jwks,
            api_keys,
            allowlist,
            client_ip,
            limiter,
            dpop,
        };
        let given = [
            parts.key_set.is_some(),
            parts.verifier.is_some(),
            parts.sessions.is_some(),
            parts.remote_jwks.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(invalid_arg(
                "a gate takes one of a KeySet, a Verifier, a SessionManager or a RemoteJwks",
            ));
        }
        let options = settings.verify_json.clone();
        let has_options = options.is_some();
        let tokens = if let Some(set) = parts.key_set {
            let (validation, _) = validation_json(options)?;
            Some(TokenVerifier::Keys {
                keys: set.inner.clone(),
                validation,
            })
        } else if let Some(remote) = parts.remote_jwks {
            let (validation, _) = validation_json(options)?;
            Some(TokenVerifier::Remote {
                jwks: remote.inner.clone(),
                validation,
            })
        } else if has_options {
            return Err(invalid_arg(
                "verify options apply to a KeySet or a RemoteJwks (a Verifier and a SessionManager have their own)",
            ));
        } else if let Some(v) = parts.verifier {
            Some(TokenVerifier::Keys {
                keys: v.keys.clone(),
                validation: v.validation.clone(),
            })
        } else {
            parts
                .sessions
                .map(|s| TokenVerifier::Sessions(s.inner.clone()))
        };
        let defaults = GateConfig::default();
        let config = GateConfig {
            realm: settings.realm,
            allowlist: parts.allowlist.map(|a| a.inner.clone()),
            client_ip: parts.client_ip.map(|c| c.inner.clone()),
            limiter: parts.limiter.map(|l| l.inner.clone()),
            client_rate_policy: if settings.client_rate_limit_off == Some(true) {
                None
            } else {
                settings.client_rate_policy.or(defaults.client_rate_policy)
            },
            rate_policy: settings.rate_policy,
            user_rate_policy: settings.user_rate_policy,
            api_keys: parts.api_keys.map(|a| a.inner.clone()),
            api_key_header: settings.api_key_header.unwrap_or(defaults.api_key_header),
            api_key_scope: settings.api_key_scope,
            api_key_in_authorization: settings.api_key_in_authorization.unwrap_or(false),
            tokens,
            dpop: parts.dpop.map(|d| d.inner.clone()),
            public_origin: settings.public_origin,
            scopes: settings.scopes.unwrap_or_default(),
        };
        let gate = core(Gate::new(config))?;
        let offload = gate.blocks(settings.remote_stores.unwrap_or(false));
        Ok(JsCoreGate {
            inner: Arc::new(gate),
            offload,
        })
    }

    /// The request headers the gate reads (lower case).
    #[napi(getter)]
    pub fn header_names(&self) -> Vec<String> {
        self.inner.header_names().to_vec()
    }

    /// A check may wait on the network: use `checkAsync`.
    #[napi(getter)]
    pub fn offload(&self) -> bool {
        self.offload
    }

    /// A route's rule: scopes beyond the gate's and a limit (a policy name of the gate's
    /// limiter, or a policy's text such as `5/minute`), metered per user, else per app,
    /// else per client, apart from other routes.
    #[napi(catch_unwind)]
    pub fn route(
        &self,
        name: String,
        scopes: Option<Vec<String>>,
        limit: Option<String>,
        cost: Option<u32>,
    ) -> Result<JsGateRoute> {
        let inner = core(self.inner.route(
            &name,
            scopes.unwrap_or_default(),
            limit.as_deref(),
            u64::from(cost.unwrap_or(1)),
        ))?;
        Ok(JsGateRoute { inner })
    }

    /// Runs the pipeline. `headers` alternate the names (lower case) and values of the
    /// headers the gate reads. Never throws for a refusal: it is the answer.
    #[napi(catch_unwind)]
    pub fn check(
        &self,
        method: String,
        url: String,
        peer: Option<String>,
        headers: Vec<String>,
        route: Option<&JsGateRoute>,
        client_certificate: Option<Buffer>,
    ) -> Result<GateAnswer> {
        run(
            &self.inner,
            &method,
            &url,
            peer.as_deref(),
            &headers,
            route.map(|r| &r.inner),
            client_certificate.as_deref(),
        )
    }

    /// `check` on the libuv pool, for stores and key sets across the network.
    #[napi(catch_unwind, ts_return_type = "Promise<GateAnswer>")]
    pub fn check_async(
        &self,
        method: String,
        url: String,
        peer: Option<String>,
        headers: Vec<String>,
        route: Option<&JsGateRoute>,
        client_certificate: Option<Buffer>,
    ) -> AsyncTask<Offload<GateAnswer>> {
        let gate = self.inner.clone();
        let route = route.map(|r| r.inner.clone());
        let certificate = client_certificate.map(|b| b.to_vec());
        offload(move || {
            run(
                &gate,
                &method,
                &url,
                peer.as_deref(),
                &headers,
                route.as_ref(),
                certificate.as_deref(),
            )
        })
    }
}
