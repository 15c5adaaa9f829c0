//! The core's request gate (`authgate_core::gate`) for the Node adapters: one native call
//! per request (or one task on the libuv pool when a store or key set is remote) runs the
//! whole pipeline and answers an admission or the refusal's complete response.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use authgate_core::gate::{
    Gate, GateConfig, GateOutcome, GateRequest, Grants, Route, TokenVerifier,
};
use authgate_core::http::REFUSAL_HEADERS;
use authgate_core::{Error, ErrorKind};
use napi::bindgen_prelude::{AsyncTask, Buffer, Unknown};
use napi::Env;
use napi_derive::napi;

use crate::allowlist::{JsClientIpResolver, JsIpAllowlist};
use crate::apikey::JsApiKeyManager;
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
    /// The IPv6 network size clients are metered by (default 64).
    pub ipv6_prefix: Option<u32>,
    /// A header the TLS terminator sets to the client's certificate (RFC 8705 tokens).
    pub client_certificate_header: Option<String>,
    /// Admit OpenID Connect ID tokens as access tokens (off by default).
    pub accept_id_tokens: Option<bool>,
    /// The API-key prefixes this gate admits (default: those its manager accepts).
    pub api_key_prefixes: Option<Vec<String>>,
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

/// What the gate answered, as one text (one napi string; `JSON.parse` builds an admission
/// faster than napi sets properties one by one).
///
/// Admitted, JSON: `{"admitted":true,"headers":{…},"claims":{…},"apiKey":{…},"clientIp":…,
/// "identity":…,"dpopJkt":…,"rate":{"policy":…,"numbers":[…]}}`.
///
/// Refused, lines (http.js reads them with `indexOf`, no `JSON.parse`, so a 429 costs the
/// event loop little): the status; each header's name (or, for the names in
/// `http::REFUSAL_HEADERS`, its index there, one digit) and value; an empty line; the body;
/// the error's code; its retry-after (or nothing); the refusing limit's policy (or
/// nothing); that decision's numbers, comma-separated (or nothing); and last the message,
/// which runs to the end. Only the message may hold a line break: the status, names,
/// values and code are printable ASCII (`http::refusal` writes them so) and the body is
/// compact JSON, whose strings escape line breaks.
pub(crate) fn answer(outcome: GateOutcome) -> String {
    let mut w = Json(Vec::new());
    match outcome {
        GateOutcome::Admitted(a) => {
            w.0.reserve(512);
            w.raw("{\"admitted\":true,\"headers\":");
            w.headers(&a.headers);
            if let Some(r) = &a.api_key {
                w.raw(",\"apiKey\":");
                w.api_key(r);
            }
            if let Some(ip) = &a.client_ip {
                w.field("clientIp", ip);
            }
            w.field("identity", &a.identity);
            if let Some(d) = &a.dpop {
                w.field("dpopJkt", &d.jkt);
            }
            if let Some(d) = &a.rate_limit {
                w.rate(d);
            }
            w.raw(",\"grants\":{\"patterns\":");
            w.raw(if a.grants.patterns { "true" } else { "false" });
            w.raw(",\"scopes\":[");
            for (i, scope) in a.grants.scopes.iter().enumerate() {
                if i > 0 {
                    w.raw(",");
                }
                w.string(scope);
            }
            w.raw("]}");
            // The claims go in as the token carried them (already JSON): no second encoding.
            if let Some(c) = &a.claims {
                w.raw(",\"claims\":");
                w.raw(c.json());
            }
        }
        GateOutcome::Refused(r) => return refusal_lines(&r),
    }
    w.raw("}");
    // Only valid UTF-8 was written (strings through serde_json, the rest ASCII).
    String::from_utf8(w.0).unwrap_or_default()
}

/// A refusal as [`answer`]'s lines. A header named in `http::REFUSAL_HEADERS` is named by
/// its index there, one digit (`refusalHeaderNames` gives http.js the list): JavaScript
/// then sets the header under a name it holds already.
fn refusal_lines(r: &authgate_core::gate::Refused) -> String {
    const _: () = assert!(REFUSAL_HEADERS.len() <= 10, "an index is one digit");
    let mut w = Json(Vec::with_capacity(512));
    w.unsigned(u64::from(r.response.status));
    w.newline();
    for (name, value) in &r.response.headers {
        match REFUSAL_HEADERS.iter().position(|known| known == name) {
            Some(i) => {
                w.unsigned(i as u64);
                w.newline();
            }
            None => w.line(name),
        }
        w.line(value);
    }
    w.newline();
    w.line(&r.response.body);
    w.line(r.error.code());
    if let Some(secs) = r.error.retry_after() {
        w.unsigned(secs);
    }
    w.newline();
    match &r.rate_limit {
        Some(d) => {
            w.line(&d.policy);
            w.numbers(d);
            w.newline();
        }
        None => w.raw("\n\n"),
    }
    w.raw(r.error.message());
    // Only whole UTF-8 strings and ASCII were written.
    String::from_utf8(w.0).unwrap_or_default()
}

/// The header names a refusal's lines name by index (`http::REFUSAL_HEADERS`).
#[napi]
pub fn refusal_header_names() -> Vec<&'static str> {
    REFUSAL_HEADERS.to_vec()
}

/// A JSON writer for the answer: strings escaped by serde_json, the rest written out.
struct Json(Vec<u8>);

impl Json {
    fn raw(&mut self, text: &str) {
        self.0.extend_from_slice(text.as_bytes());
    }

    fn string(&mut self, text: &str) {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.0, text);
    }

    /// An unsigned integer in decimal, in full, with no allocation.
    fn unsigned(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        self.0
            .extend_from_slice(authgate_core::util::decimal(n, &mut digits));
    }

    /// An integer in decimal, with no allocation.
    fn integer(&mut self, n: i64) {
        let mut digits = [0u8; 20];
        if n < 0 {
            self.0.push(b'-');
        }
        self.0
            .extend_from_slice(authgate_core::util::decimal(n.unsigned_abs(), &mut digits));
    }

    fn field(&mut self, name: &str, value: &str) {
        self.raw(",\"");
        self.raw(name);
        self.raw("\":");
        self.string(value);
    }

    fn number(&mut self, name: &str, value: u64) {
        self.raw(",\"");
        self.raw(name);
        self.raw("\":");
        self.unsigned(value);
    }

    fn headers(&mut self, headers: &[(&'static str, String)]) {
        self.raw("{");
        for (i, (name, value)) in headers.iter().enumerate() {
            if i > 0 {
                self.raw(",");
            }
            self.string(name);
            self.raw(":");
            self.string(value);
        }
        self.raw("}");
    }

    fn rate(&mut self, d: &authgate_core::ratelimit::RateDecision) {
        self.raw(",\"rate\":{\"policy\":");
        self.string(&d.policy);
        self.raw(",\"numbers\":[");
        self.numbers(d);
        self.raw("]}");
    }

    /// A decision's numbers (as `write_decision` gives them), comma-separated.
    fn numbers(&mut self, d: &authgate_core::ratelimit::RateDecision) {
        let mut numbers = [0.0; FIELDS];
        // The buffer is FIELDS long: writing cannot fail.
        let _ = write_decision(d, &mut numbers);
        for (i, n) in numbers.iter().enumerate() {
            if i > 0 {
                self.raw(",");
            }
            // Whole numbers of milliseconds or counts, or -1: written as integers.
            self.integer(*n as i64);
        }
    }

    /// `text` and a line break, for a refusal's lines. A line break inside would shift
    /// every line after it: never sent.
    fn line(&mut self, text: &str) {
        if text.as_bytes().contains(&b'\n') {
            self.raw(&text.replace('\n', " "));
        } else {
            self.raw(text);
        }
        self.newline();
    }

    fn newline(&mut self) {
        self.0.push(b'\n');
    }

    /// An API key's record as the other Node calls give it (`ApiKeyRecord`): camelCase,
    /// absent fields left out.
    fn api_key(&mut self, r: &authgate_core::apikey::ApiKeyRecord) {
        self.raw("{\"app\":");
        self.string(r.app_id());
        self.field("id", &r.id);
        self.field("prefix", &r.prefix);
        self.field("lastFour", &r.last_four);
        if let Some(name) = &r.name {
            self.field("name", name);
        }
        self.raw(",\"scopes\":[");
        for (i, scope) in r.scopes.iter().enumerate() {
            if i > 0 {
                self.raw(",");
            }
            self.string(scope);
        }
        self.raw("]");
        self.number("createdAt", r.created_at);
        if let Some(x) = r.expires_at {
            self.number("expiresAt", x);
        }
        self.field("status", r.status.name());
        if let Some(x) = r.credits {
            self.number("credits", x);
        }
        if let Some(x) = &r.rate_limit_policy {
            self.field("rateLimitPolicy", x);
        }
        if let Some(x) = &r.replaced_by {
            self.field("replacedBy", x);
        }
        if let Some(x) = r.grace_until {
            self.number("graceUntil", x);
        }
        self.raw("}");
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
    if !headers.len().is_multiple_of(2) {
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
) -> Result<String> {
    let pairs = request_parts(headers)?;
    let request = GateRequest {
        method,
        url,
        peer,
        headers: &pairs,
        client_certificate: certificate,
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| gate.check(&request, route)))
        .unwrap_or_else(|_| panicked());
    Ok(answer(outcome))
}

pub(crate) fn panicked() -> GateOutcome {
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
            ipv6_prefix: match settings.ipv6_prefix {
                Some(bits) if bits <= 128 => bits as u8,
                Some(_) => return Err(invalid_arg("ipv6Prefix is 0 to 128")),
                None => defaults.ipv6_prefix,
            },
            client_certificate_header: settings.client_certificate_header,
            accept_id_tokens: settings.accept_id_tokens.unwrap_or(false),
            api_key_prefixes: settings.api_key_prefixes.unwrap_or_default(),
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

    /// A route's own rule for a request this gate already admitted: its `identity`, the
    /// `grantScopes` it holds (`grantPatterns`: an API key's), and its rate decision
    /// (policy and numbers). Answers as `check` does.
    #[napi(catch_unwind)]
    #[allow(clippy::too_many_arguments)]
    pub fn check_route_for(
        &self,
        identity: String,
        grant_scopes: Vec<String>,
        grant_patterns: bool,
        held_policy: Option<String>,
        held_numbers: Option<Vec<f64>>,
        route: &JsGateRoute,
    ) -> Result<String> {
        let grants = Grants {
            scopes: grant_scopes,
            patterns: grant_patterns,
        };
        let held = match (held_policy, held_numbers) {
            (Some(p), Some(n)) => Some(crate::ratelimit::decision_from(p, &n)?),
            _ => None,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            self.inner
                .check_route_for(&identity, &grants, held.as_ref(), &route.inner)
        }))
        .unwrap_or_else(|_| panicked());
        Ok(answer(outcome))
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
    ) -> Result<String> {
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

    /// `check` as a bare function bound to this gate (see `fast_gate`), for requests with
    /// no route and no client certificate: what the facade calls first.
    #[napi(
        catch_unwind,
        ts_return_type = "(method: unknown, url: unknown, peer: unknown, headers: unknown) => string | false | null"
    )]
    pub fn checker<'env>(&self, env: Env) -> napi::Result<Unknown<'env>> {
        let f = crate::fast_gate::make(env.raw(), self.inner.clone())?;
        // SAFETY: `f` is a function just made on this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), f) })
    }

    /// `check` on the libuv pool, for stores and key sets across the network.
    #[napi(catch_unwind, ts_return_type = "Promise<string>")]
    pub fn check_async(
        &self,
        method: String,
        url: String,
        peer: Option<String>,
        headers: Vec<String>,
        route: Option<&JsGateRoute>,
        client_certificate: Option<Buffer>,
    ) -> AsyncTask<Offload<String>> {
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
