//! The request gate: one implementation of the checks an API runs on every request, so
//! each runtime's middleware is an adapter that makes one call and writes what it gets.
//!
//! The pipeline, in order (each step only when configured):
//!
//! 1. the client's address: the socket's peer, or behind trusted proxies the address they
//!    forwarded ([`ClientIpResolver`]);
//! 2. the IP allowlist (`ip_not_allowed`, 403);
//! 3. a limit per client address *before* any credential is read (policy
//!    [`CLIENT_POLICY`], on whenever a limiter is given), so floods of forged tokens and
//!    unknown keys are metered too;
//! 4. the API key, from its header (`x-api-key`) or, when configured, from
//!    `Authorization: Bearer <key>`;
//! 5. the access token: `Authorization: Bearer <token>`, or `Authorization: DPoP <token>`
//!    with its `DPoP` proof; a key-bound token (`cnf`) is only admitted with its proof;
//! 6. the scopes the route requires (the token's `scope`/`scp`, else the API key's);
//! 7. the limits per app (the API key's app, which survives rolling, under the key's own
//!    policy when it has one), per user (the token's `sub`) and per route;
//!
//! then the request is admitted ([`Admission`]: identity, claims, API-key record, the
//! headers to add), or refused with its whole HTTP response ([`Refusal`]), built by
//! [`crate::http::refusal`] and identical in every runtime.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::allowlist::{parse_ip, Allowlist, ClientIpResolver, ForwardedHeader};
use crate::apikey::{scope_granted, ApiKeyManager, ApiKeyRecord};
use crate::error::{err, Error, ErrorKind, Result};
use crate::http::{bearer_token, refusal, Refusal, API_KEY_HEADER, MAX_AUTHORIZATION_BYTES};
use crate::jwt::{Claims, KeySet, Validation};
use crate::pop::{DpopProof, DpopRequest, DpopVerifier, MAX_PROOF_BYTES};
use crate::ratelimit::{Policy, RateDecision, RateLimiter, CLIENT_POLICY, DEFAULT_POLICY};
#[cfg(feature = "remote-jwks")]
use crate::remote_jwks::RemoteJwks;
use crate::session::SessionManager;

/// What verifies the access tokens of a gate.
#[derive(Clone)]
pub enum TokenVerifier {
    /// Tokens signed by one of these keys, checked against `validation`.
    Keys {
        keys: Arc<KeySet>,
        validation: Validation,
    },
    /// A session manager's own access tokens (its key set, issuer and audience).
    Sessions(Arc<SessionManager>),
    /// An identity provider's tokens, verified with its published keys.
    #[cfg(feature = "remote-jwks")]
    Remote {
        jwks: Arc<RemoteJwks>,
        validation: Validation,
    },
}

impl TokenVerifier {
    fn verify(&self, token: &str) -> Result<Claims> {
        match self {
            TokenVerifier::Keys { keys, validation } => keys.verify(token, validation),
            TokenVerifier::Sessions(sessions) => sessions.verify_access(token),
            #[cfg(feature = "remote-jwks")]
            TokenVerifier::Remote { jwks, validation } => jwks.verify(token, validation),
        }
    }
}

/// How a gate is set up. Every field is optional; a gate needs at least one check.
#[derive(Clone)]
pub struct GateConfig {
    /// The realm of the `WWW-Authenticate` challenge.
    pub realm: Option<String>,
    /// Refuses clients outside these networks before anything else.
    pub allowlist: Option<Arc<Allowlist>>,
    /// Finds the client behind your proxies; without it the socket's peer is the client.
    pub client_ip: Option<Arc<ClientIpResolver>>,
    /// Meters requests (see `client_rate_policy`, `rate_policy`, `user_rate_policy`).
    pub limiter: Option<Arc<RateLimiter>>,
    /// The policy every request is first metered under, per client address, before any
    /// credential is read. `None` turns it off. Default: [`CLIENT_POLICY`].
    pub client_rate_policy: Option<String>,
    /// The policy of the bucket per app (an API key's app) or, without an API key, per
    /// client address. An API key whose record names a policy is metered under that one.
    /// Default: the limiter's `default` policy.
    pub rate_policy: Option<String>,
    /// When set, admitted tokens are also metered per user (`sub`) under this policy.
    pub user_rate_policy: Option<String>,
    /// Verifies API keys; when given, every request needs one.
    pub api_keys: Option<Arc<ApiKeyManager>>,
    /// The header an API key travels in (lower case). Default `x-api-key`.
    pub api_key_header: String,
    /// The scope every API key must grant.
    pub api_key_scope: Option<String>,
    /// Also read the API key from `Authorization: Bearer <key>` when its header is absent
    /// (as Stripe and OpenAI clients send it). Only without `tokens`.
    pub api_key_in_authorization: bool,
    /// Verifies access tokens; when given, every request needs one.
    pub tokens: Option<TokenVerifier>,
    /// Verifies DPoP proofs (RFC 9449): `Authorization: DPoP <token>` with a `DPoP`
    /// header is accepted, and a DPoP-bound token (`cnf.jkt`) only that way.
    pub dpop: Option<Arc<DpopVerifier>>,
    /// The scheme and host clients address (`https://api.example.com`), when a proxy in
    /// front changes them: the URI a DPoP proof covers is this plus the request's path.
    pub public_origin: Option<String>,
    /// Scopes every request needs (routes can ask for more, see [`Route`]).
    pub scopes: Vec<String>,
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            realm: None,
            allowlist: None,
            client_ip: None,
            limiter: None,
            client_rate_policy: Some(CLIENT_POLICY.to_string()),
            rate_policy: None,
            user_rate_policy: None,
            api_keys: None,
            api_key_header: API_KEY_HEADER.to_string(),
            api_key_scope: None,
            api_key_in_authorization: false,
            tokens: None,
            dpop: None,
            public_origin: None,
            scopes: Vec::new(),
        }
    }
}

/// What one route asks beyond the gate's own checks: more scopes, and a limit of its own
/// (a policy of the gate's limiter), metered per user, else per app, else per client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// Names the route's buckets (e.g. `POST /login`): two routes with one policy are
    /// metered apart. Printable ASCII, at most 128 bytes.
    pub name: String,
    pub scopes: Vec<String>,
    pub rate_policy: Option<String>,
    /// Requests taken from the route's bucket (default 1; 0 only looks).
    pub cost: u64,
}

/// One request, as the adapter sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct GateRequest<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The URL the client addressed: absolute (`https://host/path?query`) when the adapter
    /// knows the scheme and host, else the path. Only DPoP reads it.
    pub url: &'a str,
    /// The socket's peer address, when known.
    pub peer: Option<&'a str>,
    /// The request's headers the gate reads ([`Gate::header_names`]), as `(name, value)`
    /// with lower-case names, in the order received. Others are ignored.
    pub headers: &'a [(&'a str, &'a str)],
    /// The client's TLS certificate (DER) when the connection is mutual TLS: a token
    /// bound to a certificate (`cnf.x5t#S256`, RFC 8705) is only admitted with it.
    pub client_certificate: Option<&'a [u8]>,
}

impl<'a> GateRequest<'a> {
    fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    fn header_values(&self, name: &str) -> Vec<&'a str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .collect()
    }
}

/// An admitted request.
#[derive(Debug, Clone)]
pub struct Admission {
    /// The client's address (after trusted proxies), when known.
    pub client_ip: Option<String>,
    /// The verified token's claims.
    pub claims: Option<Claims>,
    /// The verified API key's record.
    pub api_key: Option<ApiKeyRecord>,
    /// The verified DPoP proof, when the token came with one.
    pub dpop: Option<DpopProof>,
    /// Who the request is from: `user:<sub>`, else `app:<app>`, else `ip:<address>`.
    pub identity: String,
    /// The rate-limit decision whose headers go on the response (the bucket with the
    /// fewest requests left).
    pub rate_limit: Option<RateDecision>,
    /// Headers to add to the response (lower-case names).
    pub headers: Vec<(&'static str, String)>,
}

/// A refused request: the error, and the response to send (see [`crate::http::refusal`]).
#[derive(Debug, Clone)]
pub struct Refused {
    pub error: Error,
    pub response: Refusal,
    /// The decision of the limit that refused, when one did.
    pub rate_limit: Option<RateDecision>,
}

/// What a gate decides.
#[derive(Debug, Clone)]
pub enum GateOutcome {
    Admitted(Box<Admission>),
    Refused(Box<Refused>),
}

impl GateOutcome {
    pub fn is_admitted(&self) -> bool {
        matches!(self, GateOutcome::Admitted(_))
    }
}

/// The longest route name.
pub const MAX_ROUTE_NAME_BYTES: usize = 128;
/// The longest value read from an API-key or `DPoP` header, and the forwarding header.
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The request pipeline, configured once and shared (`Send + Sync`).
pub struct Gate {
    config: GateConfig,
    header_names: Vec<String>,
}

impl Gate {
    /// Checks the configuration: a gate needs at least one check; every policy it names
    /// exists in its limiter; the API key cannot come from `Authorization` while tokens do.
    pub fn new(mut config: GateConfig) -> Result<Gate> {
        if config.tokens.is_none()
            && config.api_keys.is_none()
            && config.limiter.is_none()
            && config.allowlist.is_none()
        {
            return err(
                ErrorKind::InvalidInput,
                "a gate needs tokens, API keys, a limiter or an allowlist",
            );
        }
        if config.api_key_in_authorization && config.tokens.is_some() {
            return err(
                ErrorKind::InvalidInput,
                "the API key cannot travel in Authorization when the gate also reads tokens there",
            );
        }
        if config.dpop.is_some() && config.tokens.is_none() {
            return err(
                ErrorKind::InvalidInput,
                "DPoP proofs bind access tokens: give the gate tokens too",
            );
        }
        config.api_key_header = config.api_key_header.to_ascii_lowercase();
        if !is_header_name(&config.api_key_header) {
            return err(
                ErrorKind::InvalidInput,
                "the API-key header must be a valid header name",
            );
        }
        if let Some(origin) = &config.public_origin {
            let o = origin.trim_end_matches('/');
            if !(o.starts_with("https://") || o.starts_with("http://"))
                || o.split_once("://")
                    .is_some_and(|(_, h)| h.is_empty() || h.contains('/'))
            {
                return err(
                    ErrorKind::InvalidInput,
                    "public_origin is a scheme and host, e.g. https://api.example.com",
                );
            }
            config.public_origin = Some(o.to_string());
        }
        match &config.limiter {
            Some(limiter) => {
                for policy in [
                    &config.client_rate_policy,
                    &config.rate_policy,
                    &config.user_rate_policy,
                ]
                .into_iter()
                .flatten()
                {
                    require_policy(limiter, policy)?;
                }
            }
            None if config.rate_policy.is_some() || config.user_rate_policy.is_some() => {
                return err(ErrorKind::InvalidInput, "a rate policy needs a limiter");
            }
            None => {}
        }
        let mut header_names = Vec::new();
        if let Some(resolver) = &config.client_ip {
            header_names.push(
                match resolver.header() {
                    ForwardedHeader::XForwardedFor => "x-forwarded-for",
                    ForwardedHeader::Forwarded => "forwarded",
                }
                .to_string(),
            );
        }
        if config.api_keys.is_some() {
            header_names.push(config.api_key_header.clone());
        }
        if config.tokens.is_some() || config.api_key_in_authorization {
            header_names.push("authorization".to_string());
        }
        if config.dpop.is_some() {
            header_names.push("dpop".to_string());
        }
        Ok(Gate {
            config,
            header_names,
        })
    }

    pub fn config(&self) -> &GateConfig {
        &self.config
    }

    /// The headers the gate reads (lower case): an adapter passes only these.
    pub fn header_names(&self) -> &[String] {
        &self.header_names
    }

    /// Whether a check may wait on the network (a Redis store, a remote key set): async
    /// adapters then run [`Gate::check`] off their event loop.
    pub fn blocks(&self, remote_stores: bool) -> bool {
        #[cfg(feature = "remote-jwks")]
        if matches!(self.config.tokens, Some(TokenVerifier::Remote { .. })) {
            return true;
        }
        remote_stores
    }

    /// A route's rule, checked against the gate: `limit` names a policy of the gate's
    /// limiter, or is a policy's text (`5/minute`), added to the limiter under that name
    /// the first time. `cost` is what one request takes from the route's bucket.
    pub fn route(
        &self,
        name: &str,
        scopes: Vec<String>,
        limit: Option<&str>,
        cost: u64,
    ) -> Result<Route> {
        if let (Some(limit), Some(limiter)) = (limit, &self.config.limiter) {
            if limiter.policy(limit).is_none() {
                if let Ok(policy) = Policy::parse(limit) {
                    limiter.set_policy(limit, policy)?;
                }
            }
        }
        let route = Route {
            name: name.to_string(),
            scopes,
            rate_policy: limit.map(str::to_string),
            cost,
        };
        self.check_route(&route)?;
        Ok(route)
    }

    /// Checks a route's settings against the gate (its policy exists, its name is
    /// printable): done once, when the route is declared.
    pub fn check_route(&self, route: &Route) -> Result<()> {
        if route.name.len() > MAX_ROUTE_NAME_BYTES
            || !route.name.bytes().all(|b| (b' '..=b'~').contains(&b))
        {
            return err(
                ErrorKind::InvalidInput,
                "a route name is at most 128 characters of printable ASCII",
            );
        }
        if let Some(policy) = &route.rate_policy {
            let Some(limiter) = &self.config.limiter else {
                return err(
                    ErrorKind::InvalidInput,
                    "a route limit needs the gate's limiter",
                );
            };
            require_policy(limiter, policy)?;
        }
        Ok(())
    }

    /// Runs the pipeline for `request` (and `route`, when the route asks for more).
    /// Never panics and never fails: every problem is a refusal with its response.
    pub fn check(&self, request: &GateRequest<'_>, route: Option<&Route>) -> GateOutcome {
        let mut rate = None;
        match self.run(request, route, &mut rate) {
            Ok(admission) => GateOutcome::Admitted(Box::new(admission)),
            Err(error) => {
                let decision = rate.filter(|d: &RateDecision| !d.allowed);
                let mut response = refusal(&error, self.config.realm.as_deref(), decision.as_ref());
                if error.kind() == ErrorKind::UseDpopNonce {
                    if let Some(nonce) = self.config.dpop.as_ref().and_then(|d| d.nonce()) {
                        response.headers.push(("dpop-nonce", nonce.to_string()));
                    }
                }
                GateOutcome::Refused(Box::new(Refused {
                    error,
                    response,
                    rate_limit: decision,
                }))
            }
        }
    }

    fn run(
        &self,
        request: &GateRequest<'_>,
        route: Option<&Route>,
        last_rate: &mut Option<RateDecision>,
    ) -> Result<Admission> {
        let c = &self.config;
        let client = self.client_address(request)?;
        if let Some(allowlist) = &c.allowlist {
            let Some(ip) = &client else {
                return err(ErrorKind::IpNotAllowed, "the client's address is unknown");
            };
            allowlist.check(parse_ip(ip)?)?;
        }
        let client_key = format!("ip:{}", client.as_deref().unwrap_or("unknown"));
        let mut decisions: Vec<RateDecision> = Vec::new();
        if let (Some(limiter), Some(policy)) = (&c.limiter, &c.client_rate_policy) {
            self.take(limiter, policy, &client_key, 1, &mut decisions, last_rate)?;
        }

        let api_key = match &c.api_keys {
            Some(manager) => Some(self.api_key(manager, request)?),
            None => None,
        };

        let (claims, dpop) = match &c.tokens {
            Some(verifier) => {
                let (claims, dpop) = self.token(verifier, request)?;
                (Some(claims), dpop)
            }
            None => (None, None),
        };

        let mut required: Vec<&str> = c.scopes.iter().map(String::as_str).collect();
        if let Some(route) = route {
            required.extend(route.scopes.iter().map(String::as_str));
        }
        for scope in required {
            let granted = match (&claims, &api_key) {
                (Some(claims), _) => has_scope(claims, scope),
                (None, Some(record)) => scope_granted(&record.scopes, scope),
                (None, None) => false,
            };
            if !granted {
                return err(
                    ErrorKind::InsufficientScope,
                    format!("the request needs the scope `{}`", printable(scope)),
                );
            }
        }

        let app_key = api_key.as_ref().map(|r| format!("app:{}", r.app_id()));
        let user_key = claims
            .as_ref()
            .and_then(|c| c.sub())
            .map(|sub| format!("user:{sub}"));
        if let Some(limiter) = &c.limiter {
            let (key, policy) = match &api_key {
                Some(record) => (
                    app_key.clone().unwrap_or_default(),
                    record
                        .rate_limit_policy
                        .as_deref()
                        .or(c.rate_policy.as_deref())
                        .unwrap_or(DEFAULT_POLICY),
                ),
                None => (
                    client_key.clone(),
                    c.rate_policy.as_deref().unwrap_or(DEFAULT_POLICY),
                ),
            };
            self.take(limiter, policy, &key, 1, &mut decisions, last_rate)?;
            if let (Some(policy), Some(user)) = (&c.user_rate_policy, &user_key) {
                self.take(limiter, policy, user, 1, &mut decisions, last_rate)?;
            }
        }
        let identity = user_key.or(app_key).unwrap_or_else(|| client_key.clone());
        if let Some(route) = route {
            if let Some(policy) = &route.rate_policy {
                let Some(limiter) = &c.limiter else {
                    return err(
                        ErrorKind::InvalidInput,
                        "a route limit needs the gate's limiter",
                    );
                };
                let key = format!("route:{}|{identity}", route.name);
                self.take(limiter, policy, &key, route.cost, &mut decisions, last_rate)?;
            }
        }
        let rate_limit = decisions
            .into_iter()
            .filter(|d| !d.degraded)
            .min_by_key(|d| (d.remaining, std::cmp::Reverse(d.reset_after_ms)));
        let headers = rate_limit
            .as_ref()
            .map(RateDecision::wire_headers)
            .unwrap_or_default();
        Ok(Admission {
            client_ip: client,
            claims,
            api_key,
            dpop,
            identity,
            rate_limit,
            headers,
        })
    }

    fn take(
        &self,
        limiter: &RateLimiter,
        policy: &str,
        key: &str,
        cost: u64,
        decisions: &mut Vec<RateDecision>,
        last: &mut Option<RateDecision>,
    ) -> Result<()> {
        let decision = limiter.check(policy, &bucket_key(key), cost)?;
        *last = Some(decision.clone());
        decisions.push(decision.clone());
        decision.into_result().map(|_| ())
    }

    fn client_address(&self, request: &GateRequest<'_>) -> Result<Option<String>> {
        let Some(peer) = request.peer.filter(|p| !p.is_empty()) else {
            return Ok(None);
        };
        let peer = match parse_ip(peer) {
            Ok(ip) => ip,
            // A peer that is not an IP address (a Unix socket path, a test client's name)
            // is no client address: the allowlist refuses it, the limiter meters it as
            // `unknown`.
            Err(_) => return Ok(None),
        };
        let ip = match &self.config.client_ip {
            Some(resolver) => {
                let name = &self.header_names[0];
                let values = request.header_values(name);
                if values.iter().map(|v| v.len()).sum::<usize>() > MAX_HEADER_BYTES {
                    return err(
                        ErrorKind::InvalidInput,
                        "the forwarding header is too large",
                    );
                }
                resolver.resolve(peer, &values)?
            }
            None => crate::allowlist::canonical(peer),
        };
        Ok(Some(ip.to_string()))
    }

    fn api_key(&self, manager: &ApiKeyManager, request: &GateRequest<'_>) -> Result<ApiKeyRecord> {
        let c = &self.config;
        let presented = match request
            .header(&c.api_key_header)
            .filter(|v| !v.trim().is_empty())
        {
            Some(value) => value.trim_matches(|ch| ch == ' ' || ch == '\t'),
            None if c.api_key_in_authorization => match request.header("authorization") {
                Some(value) if !value.trim().is_empty() => bearer_token(value)?,
                _ => return err(ErrorKind::MissingApiKey, "the request has no API key"),
            },
            None => return err(ErrorKind::MissingApiKey, "the request has no API key"),
        };
        if presented.len() > MAX_HEADER_BYTES {
            return err(ErrorKind::InvalidApiKey, "the API key is too long");
        }
        manager.verify(presented, c.api_key_scope.as_deref())
    }

    fn token(
        &self,
        verifier: &TokenVerifier,
        request: &GateRequest<'_>,
    ) -> Result<(Claims, Option<DpopProof>)> {
        let Some(authorization) = request
            .header("authorization")
            .filter(|v| !v.trim().is_empty())
        else {
            return err(ErrorKind::MissingToken, "the request has no access token");
        };
        if authorization.len() > MAX_AUTHORIZATION_BYTES {
            return err(
                ErrorKind::TokenTooLarge,
                "the Authorization header is too large",
            );
        }
        let (scheme, rest) = authorization.split_once(' ').unwrap_or((authorization, ""));
        let dpop_scheme = scheme.eq_ignore_ascii_case("dpop");
        let token = match (&self.config.dpop, dpop_scheme) {
            (Some(_), true) => bearer_token(&format!("Bearer {rest}"))?.to_string(),
            _ => bearer_token(authorization)?.to_string(),
        };
        let claims = verifier.verify(&token)?;
        let binding = claims.get("cnf");
        let proof_header = request.header("dpop");
        match &self.config.dpop {
            Some(dpop) if dpop_scheme || proof_header.is_some() => {
                let Some(proof) = proof_header.filter(|p| !p.is_empty()) else {
                    return err(
                        ErrorKind::MalformedToken,
                        "a DPoP token needs its proof in the DPoP header",
                    );
                };
                if proof.len() > MAX_PROOF_BYTES {
                    return err(ErrorKind::TokenTooLarge, "the DPoP proof is too large");
                }
                if !dpop_scheme {
                    return err(
                        ErrorKind::MalformedToken,
                        "a DPoP-bound token is sent as `Authorization: DPoP <token>`",
                    );
                }
                let url = self.dpop_url(request);
                let map: Map<String, Value> = claims.to_map();
                let proof = dpop.verify_request(&DpopRequest {
                    proof,
                    method: request.method,
                    uri: &url,
                    access_token: Some(&token),
                    access_claims: Some(&map),
                    nonce: None,
                })?;
                Ok((claims, Some(proof)))
            }
            _ if binding
                .as_ref()
                .is_some_and(|b| b.get("x5t#S256").is_some()) =>
            {
                match request.client_certificate {
                    Some(cert) => {
                        crate::pop::check_certificate_binding(&claims, cert)?;
                        Ok((claims, None))
                    }
                    None => err(
                        ErrorKind::InvalidClaim,
                        "the token is bound to a client certificate and the request has none",
                    ),
                }
            }
            _ if binding.is_some() => err(
                ErrorKind::InvalidClaim,
                "the token is bound to a key (cnf) and this request does not prove it",
            ),
            _ => Ok((claims, None)),
        }
    }

    fn dpop_url(&self, request: &GateRequest<'_>) -> String {
        let path_of = |url: &str| -> String {
            match url.split_once("://") {
                Some((_, rest)) => match rest.find('/') {
                    Some(i) => rest[i..].to_string(),
                    None => "/".to_string(),
                },
                None => url.to_string(),
            }
        };
        match &self.config.public_origin {
            Some(origin) => format!("{origin}{}", path_of(request.url)),
            None => request.url.to_string(),
        }
    }
}

/// A bucket's key as the limiter stores it: as it is up to 256 bytes; a longer one (a
/// long `sub` from an identity provider) by its SHA-256, so no identity is refused for its
/// length and none can make a key the store refuses.
fn bucket_key(key: &str) -> std::borrow::Cow<'_, str> {
    if key.len() <= 256 {
        return std::borrow::Cow::Borrowed(key);
    }
    let digest = crate::util::sha256(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    std::borrow::Cow::Owned(format!("sha256:{hex}"))
}

fn require_policy(limiter: &RateLimiter, policy: &str) -> Result<()> {
    if limiter.policy(policy).is_none() {
        return err(
            ErrorKind::InvalidInput,
            format!(
                "the limiter has no policy `{}`: add it with set_policy first",
                printable(policy)
            ),
        );
    }
    Ok(())
}

fn has_scope(claims: &Claims, scope: &str) -> bool {
    if claims.has_scope(scope) {
        return true;
    }
    // `scp` as a list (Azure AD, Okta).
    matches!(claims.get("scp"), Some(Value::Array(items))
        if items.iter().any(|v| v.as_str() == Some(scope)))
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Configuration text shown in a message: printable ASCII only, 64 characters at most.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| (' '..='~').contains(c))
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apikey::ApiKeyOptions;
    use crate::clock::{Clock, ManualClock, SystemClock};
    use crate::jwt::{sign_with, Algorithm, Key};
    use crate::pop::{create_proof, key_thumbprint, DpopPolicy};
    use crate::store::{MemoryStore, Store};
    use serde_json::json;

    const SECRET: &[u8] = b"gate-unit-test-secret-0123456789abcdef";

    fn hs256() -> Key {
        Key::hmac(None, Algorithm::HS256, SECRET).unwrap()
    }

    fn token(extra: Value) -> String {
        let mut claims = json!({"sub": "alice", "exp": SystemClock.now() + 600});
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        sign_with(&hs256(), claims.as_object().unwrap(), None).unwrap()
    }

    fn tokens() -> TokenVerifier {
        TokenVerifier::Keys {
            keys: Arc::new(KeySet::single(hs256())),
            validation: Validation::default(),
        }
    }

    fn check(gate: &Gate, headers: &[(&str, &str)], route: Option<&Route>) -> GateOutcome {
        gate.check(
            &GateRequest {
                method: "GET",
                url: "http://internal:8080/things?page=2",
                peer: Some("192.0.2.1"),
                headers,
                client_certificate: None,
            },
            route,
        )
    }

    fn code(outcome: &GateOutcome) -> &'static str {
        match outcome {
            GateOutcome::Admitted(_) => "admitted",
            GateOutcome::Refused(r) => r.error.code(),
        }
    }

    #[test]
    fn configurations_that_cannot_work_are_refused() {
        let bad = |config: GateConfig| Gate::new(config).err().map(|e| e.kind());
        assert_eq!(bad(GateConfig::default()), Some(ErrorKind::InvalidInput));
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let api_keys = Some(Arc::new(ApiKeyManager::new(store.clone())));
        assert_eq!(
            bad(GateConfig {
                tokens: Some(tokens()),
                api_keys: api_keys.clone(),
                api_key_in_authorization: true,
                ..GateConfig::default()
            }),
            Some(ErrorKind::InvalidInput)
        );
        let limiter = Some(Arc::new(RateLimiter::new(store.clone())));
        assert_eq!(
            bad(GateConfig {
                limiter: limiter.clone(),
                user_rate_policy: Some("nope".into()),
                ..GateConfig::default()
            }),
            Some(ErrorKind::InvalidInput)
        );
        assert_eq!(
            bad(GateConfig {
                api_keys: api_keys.clone(),
                api_key_header: "x api key".into(),
                ..GateConfig::default()
            }),
            Some(ErrorKind::InvalidInput)
        );
        assert_eq!(
            bad(GateConfig {
                tokens: Some(tokens()),
                public_origin: Some("api.example.com".into()),
                ..GateConfig::default()
            }),
            Some(ErrorKind::InvalidInput)
        );
        let gate = Gate::new(GateConfig {
            tokens: Some(tokens()),
            api_keys,
            limiter,
            ..GateConfig::default()
        })
        .unwrap();
        assert_eq!(gate.header_names(), ["x-api-key", "authorization"]);
        let route = |policy: &str| Route {
            name: "GET /x".into(),
            rate_policy: Some(policy.into()),
            cost: 1,
            ..Route::default()
        };
        assert!(gate.check_route(&route("default")).is_ok());
        assert_eq!(
            gate.check_route(&route("missing")).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert!(gate
            .check_route(&Route {
                name: "caf\u{e9}".into(),
                ..Route::default()
            })
            .is_err());
    }

    #[test]
    fn dpop_bound_tokens_need_their_proof() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let device = Key::from_pem(
            None,
            Algorithm::ES256,
            &Key::generate_pem(Algorithm::ES256).unwrap(),
        )
        .unwrap();
        let jkt = key_thumbprint(&device).unwrap();
        let bound = token(json!({"cnf": {"jkt": jkt}}));
        let gate = Gate::new(GateConfig {
            tokens: Some(tokens()),
            dpop: Some(Arc::new(DpopVerifier::new(store, DpopPolicy::default()))),
            public_origin: Some("https://api.example.com/".into()),
            ..GateConfig::default()
        })
        .unwrap();
        let now = SystemClock.now();
        // The proof covers the URI the client addressed: the public origin and the path.
        let proof = |uri: &str| create_proof(&device, "GET", uri, Some(&bound), None, now).unwrap();
        let good = proof("https://api.example.com/things");
        let dpop_auth = format!("DPoP {bound}");
        let admitted = check(
            &gate,
            &[("authorization", &dpop_auth), ("dpop", &good)],
            None,
        );
        let GateOutcome::Admitted(a) = &admitted else {
            panic!("refused: {admitted:?}")
        };
        assert_eq!(a.dpop.as_ref().unwrap().jkt, jkt);
        assert_eq!(a.identity, "user:alice");
        // The same proof again is a replay.
        assert_eq!(
            code(&check(
                &gate,
                &[("authorization", &dpop_auth), ("dpop", &good)],
                None
            )),
            "replay_detected"
        );
        // A proof for the internal URI does not cover the public one.
        let internal = proof("http://internal:8080/things");
        assert_eq!(
            code(&check(
                &gate,
                &[("authorization", &dpop_auth), ("dpop", &internal)],
                None
            )),
            "invalid_claim"
        );
        // Bound tokens are no bearer tokens; DPoP without a proof is malformed.
        let bearer = format!("Bearer {bound}");
        assert_eq!(
            code(&check(&gate, &[("authorization", &bearer)], None)),
            "invalid_claim"
        );
        let fresh = proof("https://api.example.com/things");
        assert_eq!(
            code(&check(
                &gate,
                &[("authorization", &bearer), ("dpop", &fresh)],
                None
            )),
            "malformed_token"
        );
        assert_eq!(
            code(&check(&gate, &[("authorization", &dpop_auth)], None)),
            "malformed_token"
        );
        // A plain token still works as a bearer token.
        let plain = format!("Bearer {}", token(json!({})));
        assert_eq!(
            code(&check(&gate, &[("authorization", &plain)], None)),
            "admitted"
        );
    }

    #[test]
    fn buckets_per_app_user_and_route() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(1_700_000_000));
        let limiter = RateLimiter::with_clock(store.clone(), clock.clone());
        limiter
            .set_policy("default", Policy::per_minute(3).unwrap())
            .unwrap();
        limiter
            .set_policy("gold", Policy::per_minute(5).unwrap())
            .unwrap();
        limiter
            .set_policy("login", Policy::per_minute(1).unwrap())
            .unwrap();
        limiter
            .set_policy("per_user", Policy::per_minute(2).unwrap())
            .unwrap();
        let keys = Arc::new(ApiKeyManager::with_clock(store.clone(), clock));
        let gate = Gate::new(GateConfig {
            api_keys: Some(keys.clone()),
            limiter: Some(Arc::new(limiter)),
            ..GateConfig::default()
        })
        .unwrap();
        // The app's bucket survives rolling: the new key draws from the same one.
        let (old, record) = keys.create(&ApiKeyOptions::default()).unwrap();
        assert_eq!(
            code(&check(&gate, &[("x-api-key", &old)], None)),
            "admitted"
        );
        assert_eq!(
            code(&check(&gate, &[("x-api-key", &old)], None)),
            "admitted"
        );
        let (new, rolled) = keys.roll(&record.id, 3600).unwrap();
        assert_eq!(rolled.app_id(), record.id);
        assert_eq!(
            code(&check(&gate, &[("x-api-key", &new)], None)),
            "admitted"
        );
        let refused = check(&gate, &[("x-api-key", &new)], None);
        assert_eq!(code(&refused), "rate_limited");
        let GateOutcome::Refused(r) = refused else {
            unreachable!()
        };
        assert!(r
            .response
            .headers
            .contains(&("retry-after", "20".to_string())));
        // A key whose record names a policy is metered under it.
        let (gold, _) = keys
            .create(&ApiKeyOptions {
                rate_limit_policy: Some("gold".into()),
                ..ApiKeyOptions::default()
            })
            .unwrap();
        let outcomes: Vec<_> = (0..6)
            .map(|_| code(&check(&gate, &[("x-api-key", &gold)], None)))
            .collect();
        assert_eq!(outcomes.iter().filter(|c| **c == "admitted").count(), 5);
        // A route's own limit, per app and route.
        let (other, _) = keys.create(&ApiKeyOptions::default()).unwrap();
        let login = gate
            .route("POST /login", vec![], Some("1/minute"), 1)
            .unwrap();
        assert!(gate.route("x", vec![], Some("no such policy"), 1).is_err());
        assert_eq!(
            code(&check(&gate, &[("x-api-key", &other)], Some(&login))),
            "admitted"
        );
        let limited = check(&gate, &[("x-api-key", &other)], Some(&login));
        let GateOutcome::Refused(r) = &limited else {
            panic!("admitted")
        };
        assert_eq!(r.rate_limit.as_ref().unwrap().policy, "1/minute");
        // Another route of the same app is not affected.
        assert_eq!(
            code(&check(&gate, &[("x-api-key", &other)], None)),
            "admitted"
        );

        // Per user: the token's subject, across apps.
        let limiter = RateLimiter::new(store.clone());
        limiter
            .set_policy("per_user", Policy::per_minute(2).unwrap())
            .unwrap();
        let gate = Gate::new(GateConfig {
            tokens: Some(tokens()),
            limiter: Some(Arc::new(limiter)),
            user_rate_policy: Some("per_user".into()),
            ..GateConfig::default()
        })
        .unwrap();
        let bearer = format!("Bearer {}", token(json!({})));
        let codes: Vec<_> = (0..3)
            .map(|_| code(&check(&gate, &[("authorization", &bearer)], None)))
            .collect();
        assert_eq!(codes, ["admitted", "admitted", "rate_limited"]);
    }

    #[test]
    fn long_subjects_are_metered_by_their_hash() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let limiter = RateLimiter::new(store);
        limiter
            .set_policy("per_user", Policy::per_minute(1).unwrap())
            .unwrap();
        let gate = Gate::new(GateConfig {
            tokens: Some(tokens()),
            limiter: Some(Arc::new(limiter)),
            user_rate_policy: Some("per_user".into()),
            client_rate_policy: None,
            ..GateConfig::default()
        })
        .unwrap();
        let long = |c: char| {
            format!(
                "Bearer {}",
                token(json!({"sub": c.to_string().repeat(2000)}))
            )
        };
        let (a, b) = (long('a'), long('b'));
        assert_eq!(
            code(&check(&gate, &[("authorization", &a)], None)),
            "admitted"
        );
        assert_eq!(
            code(&check(&gate, &[("authorization", &a)], None)),
            "rate_limited"
        );
        assert_eq!(
            code(&check(&gate, &[("authorization", &b)], None)),
            "admitted"
        );
    }

    #[test]
    fn scopes_from_the_token_or_the_key() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let gate = Gate::new(GateConfig {
            tokens: Some(tokens()),
            ..GateConfig::default()
        })
        .unwrap();
        let admin = Route {
            name: "admin".into(),
            scopes: vec!["admin".into()],
            ..Route::default()
        };
        let scp = format!("Bearer {}", token(json!({"scp": ["read", "admin"]})));
        let scope = format!("Bearer {}", token(json!({"scope": "read"})));
        assert_eq!(
            code(&check(&gate, &[("authorization", &scp)], Some(&admin))),
            "admitted"
        );
        assert_eq!(
            code(&check(&gate, &[("authorization", &scope)], Some(&admin))),
            "insufficient_scope"
        );
        let keys = Arc::new(ApiKeyManager::new(store));
        let gate = Gate::new(GateConfig {
            api_keys: Some(keys.clone()),
            ..GateConfig::default()
        })
        .unwrap();
        let (key, _) = keys
            .create(&ApiKeyOptions {
                scopes: vec!["admin:*".into()],
                ..ApiKeyOptions::default()
            })
            .unwrap();
        let route = Route {
            scopes: vec!["admin:users".into()],
            ..Route::default()
        };
        assert_eq!(
            code(&check(&gate, &[("x-api-key", &key)], Some(&route))),
            "admitted"
        );
        assert_eq!(
            code(&check(&gate, &[("x-api-key", &key)], Some(&admin))),
            "insufficient_scope"
        );
    }

    #[test]
    fn certificate_bound_tokens_need_the_certificate() {
        let gate = Gate::new(GateConfig {
            tokens: Some(tokens()),
            ..GateConfig::default()
        })
        .unwrap();
        let der = |name: &str| {
            let key = rcgen::KeyPair::generate().unwrap();
            let params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
            params.self_signed(&key).unwrap().der().to_vec()
        };
        let (cert, other) = (der("client.example"), der("other.example"));
        let thumb = crate::pop::certificate_thumbprint(&cert).unwrap();
        let bound = format!("Bearer {}", token(json!({"cnf": {"x5t#S256": thumb}})));
        let headers = [("authorization", bound.as_str())];
        let with = |cert: Option<&[u8]>| {
            gate.check(
                &GateRequest {
                    method: "GET",
                    url: "/",
                    peer: None,
                    headers: &headers,
                    client_certificate: cert,
                },
                None,
            )
        };
        assert_eq!(code(&with(Some(&cert))), "admitted");
        assert_eq!(code(&with(None)), "invalid_claim");
        assert_eq!(code(&with(Some(&other))), "invalid_claim");
    }
}
