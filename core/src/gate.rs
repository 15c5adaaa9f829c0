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

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::allowlist::{parse_ip, Allowlist, ClientIpResolver, ForwardedHeader};
use crate::apikey::{scope_granted, ApiKeyManager, ApiKeyRecord};
use crate::error::{err, Error, ErrorKind, Result};
use crate::http::{bearer_token, refusal, Refusal, API_KEY_HEADER, MAX_AUTHORIZATION_BYTES};
use crate::jwt::{ClaimSink, Claims, KeySet, NoSink, RegisteredValue, Validation};
use crate::pop::{DpopProof, DpopRequest, DpopVerifier, MAX_PROOF_BYTES};
use crate::ratelimit::{Policy, RateDecision, RateLimiter, CLIENT_POLICY, DEFAULT_POLICY};
#[cfg(feature = "remote-jwks")]
use crate::remote_jwks::check_remote_audience;
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
    fn verify<S: ClaimSink>(&self, token: &str, sink: &mut S) -> Result<Claims> {
        match self {
            TokenVerifier::Keys { keys, validation } => {
                keys.verify_into(token, validation, crate::clock::unix_now(), sink)
            }
            TokenVerifier::Sessions(sessions) => sessions.verify_access_into(token, sink),
            #[cfg(feature = "remote-jwks")]
            TokenVerifier::Remote { jwks, validation } => {
                jwks.verify_into(token, validation, crate::clock::unix_now(), sink)
            }
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
    /// The key prefixes this gate admits (empty: those its manager accepts, by default the
    /// one it issues). A gate can only narrow its manager's list: `["ag_live_"]` keeps test
    /// keys out of production even when one manager serves both.
    pub api_key_prefixes: Vec<String>,
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
    /// The IPv6 network size clients are metered by (default 64: one subscriber).
    pub ipv6_prefix: u8,
    /// A header your TLS terminator sets to the client's certificate (PEM, URL-encoded PEM
    /// or base64 DER — e.g. nginx `$ssl_client_escaped_cert`), for tokens bound to it
    /// (RFC 8705). Only name a header the terminator always sets or removes.
    pub client_certificate_header: Option<String>,
    /// Admit OpenID Connect ID tokens as access tokens. Off by default: a token carrying
    /// an ID token's own claims (`nonce`, `at_hash`, `c_hash`, `s_hash`; OpenID Connect
    /// Core §2, §3.3.2.11) proves a sign-in to a client, not access to this API.
    pub accept_id_tokens: bool,
}

/// Claims only OpenID Connect ID tokens carry (never an RFC 9068 access token).
const ID_TOKEN_CLAIMS: [&str; 4] = ["nonce", "at_hash", "c_hash", "s_hash"];

/// Notes, during the payload's one parse, whether a claim only ID tokens carry is present
/// (names as parsed, so `\u` escapes are seen through), and keeps the two claims the gate
/// reads after it (`cnf`, `scp`; the last one when repeated, as a JSON object keeps it),
/// so the payload is not parsed again; every other value is skipped as plain verification
/// skips it.
#[derive(Default)]
struct IdTokenClaims {
    found: bool,
    cnf: Option<Value>,
    scp: Option<Value>,
}

impl ClaimSink for IdTokenClaims {
    fn registered(&mut self, _: &str, _: RegisteredValue<'_>) {}
    fn other<'de, D: serde::Deserializer<'de>>(
        &mut self,
        name: &str,
        value: D,
    ) -> std::result::Result<(), D::Error> {
        use serde::Deserialize as _;
        match name {
            "cnf" => self.cnf = Some(Value::deserialize(value)?),
            "scp" => self.scp = Some(Value::deserialize(value)?),
            _ => {
                self.found |= ID_TOKEN_CLAIMS.contains(&name);
                return NoSink.other(name, value);
            }
        }
        Ok(())
    }
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
            api_key_prefixes: Vec::new(),
            api_key_in_authorization: false,
            tokens: None,
            dpop: None,
            public_origin: None,
            scopes: Vec::new(),
            ipv6_prefix: 64,
            client_certificate_header: None,
            accept_id_tokens: false,
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
    /// A header's value; lines repeated under one name are joined with `, ` as RFC 9110
    /// §5.3 reads them, so every adapter gives the core the same text (two `Authorization`
    /// lines are one malformed credential whether the server joined them or not).
    fn header(&self, name: &str) -> Option<Cow<'a, str>> {
        let mut found = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        let (_, first) = found.next()?;
        let mut joined: Option<String> = None;
        for (_, more) in found {
            let text = joined.get_or_insert_with(|| first.to_string());
            text.push_str(", ");
            text.push_str(more);
        }
        Some(joined.map_or(Cow::Borrowed(*first), Cow::Owned))
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
    /// The scopes the request was granted, for a route's rule checked later
    /// ([`Gate::check_route_for`]).
    pub grants: Grants,
}

/// What a request's credentials proved.
struct Credentials {
    api_key: Option<ApiKeyRecord>,
    claims: Option<Claims>,
    dpop: Option<DpopProof>,
    grants: Grants,
}

/// The scopes an admitted request holds: the token's (`scope`, space-separated, or `scp`,
/// a list; exact names) when it carried one, else the API key's (where `orders:*` grants
/// every `orders:…` scope and `*` all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub scopes: Vec<String>,
    /// The scopes are an API key's: patterns (`orders:*`, `*`).
    pub patterns: bool,
}

impl Grants {
    /// `insufficient_scope` unless `scope` is granted.
    pub fn require(&self, scope: &str) -> Result<()> {
        let granted = if self.patterns {
            scope_granted(&self.scopes, scope)
        } else {
            self.scopes.iter().any(|s| s == scope)
        };
        if granted {
            return Ok(());
        }
        err(
            ErrorKind::InsufficientScope,
            format!("the request needs the scope `{}`", printable(scope)),
        )
    }
}

/// The scopes a request holds: a token's `scope` and `scp` (an array, as some identity
/// providers issue it), else the API key's.
fn grants(claims: Option<&Claims>, scp: Option<&Value>, api_key: Option<&ApiKeyRecord>) -> Grants {
    match (claims, api_key) {
        (Some(claims), _) => {
            let mut scopes: Vec<String> = claims.scopes().map(str::to_string).collect();
            if let Some(Value::Array(items)) = scp {
                scopes.extend(items.iter().filter_map(Value::as_str).map(str::to_string));
            }
            Grants {
                scopes,
                patterns: false,
            }
        }
        (None, Some(record)) => Grants {
            scopes: record.scopes.clone(),
            patterns: true,
        },
        (None, None) => Grants::default(),
    }
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
        if let Some(manager) = &config.api_keys {
            if let Some(p) = config
                .api_key_prefixes
                .iter()
                .find(|p| !manager.accepted_prefixes().contains(p))
            {
                return err(
                    ErrorKind::InvalidInput,
                    format!(
                        "the gate admits `{}` keys but its manager does not accept them",
                        printable(p)
                    ),
                );
            }
        } else if !config.api_key_prefixes.is_empty() {
            return err(
                ErrorKind::InvalidInput,
                "api_key_prefixes needs api_keys: without it the setting would do nothing",
            );
        }
        if config.api_key_in_authorization && config.tokens.is_some() {
            return err(
                ErrorKind::InvalidInput,
                "the API key cannot travel in Authorization when the gate also reads tokens there",
            );
        }
        #[cfg(feature = "remote-jwks")]
        if let Some(TokenVerifier::Remote { validation, .. }) = &config.tokens {
            check_remote_audience(validation)?;
        }
        if config.dpop.is_some() && config.tokens.is_none() {
            return err(
                ErrorKind::InvalidInput,
                "DPoP proofs bind access tokens: give the gate tokens too",
            );
        }
        // The nonce goes into the `DPoP-Nonce` header of a `use_dpop_nonce` refusal as it
        // is: RFC 9449 §8's NQCHAR only (printable ASCII other than `"` and `\`), not empty.
        if let Some(nonce) = config.dpop.as_ref().and_then(|d| d.nonce()) {
            let nqchar = |b: u8| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e);
            if nonce.is_empty() || nonce.len() > 1024 || !nonce.bytes().all(nqchar) {
                return err(
                    ErrorKind::InvalidInput,
                    "the DPoP nonce is 1 to 1024 characters of printable ASCII other than \
                     space, `\"` and `\\` (RFC 9449 §8): it is sent in the DPoP-Nonce header",
                );
            }
        }
        let needs = |set: bool, what: &str, needed: &str| -> Result<()> {
            if set {
                return err(
                    ErrorKind::InvalidInput,
                    format!("{what} needs {needed}: without it the setting would do nothing"),
                );
            }
            Ok(())
        };
        let no_keys = config.api_keys.is_none();
        needs(
            no_keys && config.api_key_scope.is_some(),
            "api_key_scope",
            "api_keys",
        )?;
        needs(
            no_keys && config.api_key_in_authorization,
            "api_key_in_authorization",
            "api_keys",
        )?;
        needs(
            no_keys && !config.api_key_header.eq_ignore_ascii_case(API_KEY_HEADER),
            "api_key_header",
            "api_keys",
        )?;
        needs(
            config.tokens.is_none() && config.user_rate_policy.is_some(),
            "user_rate_policy",
            "tokens",
        )?;
        needs(
            config.dpop.is_none() && config.public_origin.is_some(),
            "public_origin",
            "dpop",
        )?;
        needs(
            config.tokens.is_none() && config.client_certificate_header.is_some(),
            "client_certificate_header",
            "tokens",
        )?;
        needs(
            config.tokens.is_none() && !config.scopes.is_empty() && no_keys,
            "scopes",
            "tokens or api_keys",
        )?;
        if let Some(name) = &mut config.client_certificate_header {
            *name = name.to_ascii_lowercase();
            if !is_header_name(name) {
                return err(
                    ErrorKind::InvalidInput,
                    "the client certificate header must be a valid header name",
                );
            }
        }
        if config.ipv6_prefix > 128 {
            return err(ErrorKind::InvalidInput, "ipv6_prefix is 0 to 128");
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
            // A scheme and a host with an optional port, as `http::request_url` takes them
            // (no path, userinfo, query or spaces).
            let valid = o
                .split_once("://")
                .filter(|(scheme, _)| *scheme == "https" || *scheme == "http")
                .is_some_and(|(scheme, host)| crate::http::request_url(scheme, host, "/").is_ok());
            if !valid {
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
        if let Some(name) = &config.client_certificate_header {
            header_names.push(name.clone());
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
            if limiter.policy(policy).is_some_and(|p| route.cost > p.burst) {
                return err(
                    ErrorKind::InvalidInput,
                    "the route's cost is larger than its policy's burst: no request could go through",
                );
            }
        }
        Ok(())
    }

    /// Runs the pipeline for `request` (and `route`, when the route asks for more).
    /// Never panics and never fails: every problem is a refusal with its response.
    pub fn check(&self, request: &GateRequest<'_>, route: Option<&Route>) -> GateOutcome {
        let mut rate = None;
        let outcome = self.run(request, route, &mut rate);
        self.outcome(outcome, rate)
    }

    fn outcome(&self, outcome: Result<Admission>, rate: Option<RateDecision>) -> GateOutcome {
        match outcome {
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
            let Some(ip) = client else {
                return err(ErrorKind::IpNotAllowed, "the client's address is unknown");
            };
            allowlist.check(ip)?;
        }
        let client_key = client.map(|ip| self.client_bucket(ip));
        // Failures per client address: looked at before any credential is read (a client
        // that used its quota is refused without a signature check or a store round trip),
        // and charged when the credentials then fail. Admitted requests do not use it up:
        // they are metered per app, user and route. Without a known address there is no
        // client to meter (a shared `unknown` bucket would let one client refuse everyone).
        let per_client = match (&c.limiter, &c.client_rate_policy, &client_key) {
            (Some(limiter), Some(policy), Some(key)) => {
                let seen = limiter.check(policy, &bucket_key(key), 0)?;
                if !seen.degraded && seen.remaining == 0 {
                    let secs = seen.next_unit_ms.div_ceil(1000).max(1);
                    let error = crate::ratelimit::limited(policy, secs);
                    *last_rate = Some(RateDecision {
                        allowed: false,
                        outcome: crate::ratelimit::RateOutcome::Limited,
                        retry_after_ms: Some(seen.next_unit_ms.max(1)),
                        ..seen
                    });
                    return Err(error);
                }
                Some((limiter, policy, key))
            }
            _ => None,
        };
        let credentials = self.credentials(request, route);
        let Credentials {
            api_key,
            claims,
            dpop,
            grants,
        } = match credentials {
            Ok(found) => found,
            Err(error) => {
                // Refused credentials cost the client one request of its failure quota.
                if let Some((limiter, policy, key)) = per_client {
                    if matches!(error.http_status(), 400 | 401 | 403) {
                        let _ = limiter.check(policy, &bucket_key(key), 1);
                    }
                }
                return Err(error);
            }
        };

        let app_key = api_key.as_ref().map(|r| format!("app:{}", r.app_id()));
        let user_key = claims
            .as_ref()
            .and_then(|c| c.sub())
            .map(|sub| format!("user:{sub}"));
        // Who the request is from: the API key's app, else the token's user, else the
        // client address.
        let identity = user_key
            .clone()
            .or_else(|| app_key.clone())
            .or_else(|| client_key.clone());
        let mut decisions: Vec<RateDecision> = Vec::new();
        if let Some(limiter) = &c.limiter {
            let primary = match &api_key {
                Some(record) => app_key.clone().map(|k| {
                    (
                        k,
                        record
                            .rate_limit_policy
                            .as_deref()
                            .or(c.rate_policy.as_deref())
                            .unwrap_or(DEFAULT_POLICY),
                    )
                }),
                None => user_key
                    .clone()
                    .or_else(|| client_key.clone())
                    .map(|k| (k, c.rate_policy.as_deref().unwrap_or(DEFAULT_POLICY))),
            };
            if let Some((key, policy)) = &primary {
                self.take(limiter, policy, key, 1, &mut decisions, last_rate)?;
            }
            if let (Some(policy), Some(user)) = (&c.user_rate_policy, &user_key) {
                // Not twice in one bucket (a token-only request's primary bucket is its user's).
                let same = primary
                    .as_ref()
                    .is_some_and(|(key, p)| key == user && *p == policy.as_str());
                if !same {
                    self.take(limiter, policy, user, 1, &mut decisions, last_rate)?;
                }
            }
        }
        if let Some(route) = route {
            self.take_route(route, identity.as_deref(), &mut decisions, last_rate)?;
        }
        if let (Some(manager), Some(record)) = (&c.api_keys, &api_key) {
            // The credit is spent last: a request refused for its scope or a limit costs none.
            manager.spend(record)?;
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
            client_ip: client.map(|ip| ip.to_string()),
            claims,
            api_key,
            dpop,
            identity: identity.unwrap_or_else(|| "ip:unknown".to_string()),
            rate_limit,
            headers,
            grants,
        })
    }

    /// The API key, the token and the scopes: every check a client's credentials answer.
    fn credentials(&self, request: &GateRequest<'_>, route: Option<&Route>) -> Result<Credentials> {
        let c = &self.config;
        let api_key = match &c.api_keys {
            Some(manager) => Some(self.api_key(manager, request)?),
            None => None,
        };
        let (claims, dpop, scp) = match &c.tokens {
            Some(verifier) => {
                let (claims, dpop, scp) = self.token(verifier, request)?;
                (Some(claims), dpop, scp)
            }
            None => (None, None, None),
        };
        let grants = grants(claims.as_ref(), scp.as_ref(), api_key.as_ref());
        let route_scopes = route.map(|r| r.scopes.as_slice()).unwrap_or_default();
        for scope in c.scopes.iter().chain(route_scopes) {
            grants.require(scope)?;
        }
        Ok(Credentials {
            api_key,
            claims,
            dpop,
            grants,
        })
    }

    fn take_route(
        &self,
        route: &Route,
        identity: Option<&str>,
        decisions: &mut Vec<RateDecision>,
        last_rate: &mut Option<RateDecision>,
    ) -> Result<()> {
        let Some(policy) = &route.rate_policy else {
            return Ok(());
        };
        let Some(limiter) = &self.config.limiter else {
            return err(
                ErrorKind::InvalidInput,
                "a route limit needs the gate's limiter",
            );
        };
        let key = format!("route:{}|{}", route.name, identity.unwrap_or("anyone"));
        self.take(limiter, policy, &key, route.cost, decisions, last_rate)
    }

    /// A route's own rule for a request this gate already admitted (the app-wide
    /// middleware ran it): the route's scopes against what the admission was granted, and
    /// the route's limit under its identity — without running the pipeline again (no second
    /// credit, no second use of a DPoP proof, no second count in the app's buckets). `held`
    /// is the admission's rate decision: the answer's `rate_limit` and `headers` are the
    /// route's when it has fewer requests left. The other fields of the answer are empty.
    pub fn check_route_for(
        &self,
        identity: &str,
        grants: &Grants,
        held: Option<&RateDecision>,
        route: &Route,
    ) -> GateOutcome {
        let mut rate = None;
        let outcome = (|| {
            for scope in &route.scopes {
                grants.require(scope)?;
            }
            let mut decisions = Vec::new();
            self.take_route(route, Some(identity), &mut decisions, &mut rate)?;
            let rate_limit = match (decisions.pop(), held) {
                (Some(d), Some(h)) if h.remaining <= d.remaining => Some(h.clone()),
                (Some(d), _) => Some(d),
                (None, h) => h.cloned(),
            };
            Ok(Admission {
                client_ip: None,
                claims: None,
                api_key: None,
                dpop: None,
                identity: identity.to_string(),
                headers: rate_limit
                    .as_ref()
                    .map(RateDecision::wire_headers)
                    .unwrap_or_default(),
                rate_limit,
                grants: grants.clone(),
            })
        })();
        self.outcome(outcome, rate)
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
        // An allowed decision (the hot path) is cloned once; a refusal builds its error.
        let outcome = if decision.allowed {
            Ok(())
        } else {
            decision.clone().into_result().map(|_| ())
        };
        decisions.push(decision.clone());
        *last = Some(decision);
        outcome
    }

    /// The bucket key of a client address: `ip:<address>` for IPv4, and for IPv6 the
    /// address's network of `ipv6_prefix` bits (a /64 by default: one subscriber's
    /// allocation holds 2^64 addresses, each a fresh bucket otherwise).
    fn client_bucket(&self, ip: IpAddr) -> String {
        match ip {
            IpAddr::V4(v4) => ipv4_bucket(v4),
            IpAddr::V6(v6) => {
                let bits = u32::from(self.config.ipv6_prefix.min(128));
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                let network = std::net::Ipv6Addr::from(u128::from(v6) & mask);
                format!("ip:{network}/{bits}")
            }
        }
    }

    fn client_address(&self, request: &GateRequest<'_>) -> Result<Option<IpAddr>> {
        let forwarded = |name: &str| -> Result<Vec<&str>> {
            let values = request.header_values(name);
            if values.iter().map(|v| v.len()).sum::<usize>() > MAX_HEADER_BYTES {
                return err(
                    ErrorKind::InvalidInput,
                    "the forwarding header is too large",
                );
            }
            Ok(values)
        };
        let peer = request.peer.filter(|p| !p.is_empty());
        let resolver = self.config.client_ip.as_deref();
        match (peer.map(parse_ip), resolver) {
            (Some(Ok(ip)), Some(resolver)) => {
                let values = forwarded(&self.header_names[0])?;
                Ok(Some(resolver.resolve(ip, &values)?))
            }
            (Some(Ok(ip)), None) => Ok(Some(crate::allowlist::canonical(ip))),
            // A peer that is not an IP address is a Unix socket (only a local proxy can
            // connect to it): with a resolver, the client is the one the proxy forwarded.
            (Some(Err(_)), Some(resolver)) => {
                let values = forwarded(&self.header_names[0])?;
                resolver.resolve_local(&values)
            }
            // No address at all (a test client, a Web Request without its socket): no client
            // is known. The allowlist refuses it; the limits per client do not apply.
            _ => Ok(None),
        }
    }

    fn api_key(&self, manager: &ApiKeyManager, request: &GateRequest<'_>) -> Result<ApiKeyRecord> {
        let c = &self.config;
        let header = request.header(&c.api_key_header);
        let authorization = request.header("authorization");
        let presented: &str = match header.as_deref().filter(|v| !v.trim().is_empty()) {
            Some(value) => value.trim_matches(|ch| ch == ' ' || ch == '\t'),
            None if c.api_key_in_authorization => match authorization.as_deref() {
                Some(value) if !value.trim().is_empty() => bearer_token(value)?,
                _ => return err(ErrorKind::MissingApiKey, "the request has no API key"),
            },
            None => return err(ErrorKind::MissingApiKey, "the request has no API key"),
        };
        if presented.len() > MAX_HEADER_BYTES {
            return err(ErrorKind::InvalidApiKey, "the API key is too long");
        }
        if !c.api_key_prefixes.is_empty() {
            let parsed = crate::apikey::parse(presented)?;
            if !c.api_key_prefixes.contains(&parsed.prefix) {
                return err(
                    ErrorKind::InvalidApiKey,
                    "the API key's prefix is not accepted here (a test or server key?)",
                );
            }
        }
        manager.authenticate(presented, c.api_key_scope.as_deref())
    }

    fn token(
        &self,
        verifier: &TokenVerifier,
        request: &GateRequest<'_>,
    ) -> Result<(Claims, Option<DpopProof>, Option<Value>)> {
        let header = request.header("authorization");
        let Some(authorization) = header.as_deref().filter(|v| !v.trim().is_empty()) else {
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
        let mut id_token = IdTokenClaims::default();
        let claims = verifier.verify(&token, &mut id_token)?;
        if !self.config.accept_id_tokens && id_token.found {
            return err(
                ErrorKind::InvalidTokenType,
                "an OpenID Connect ID token is not an access token",
            );
        }
        let binding = id_token.cnf.take();
        let scp = id_token.scp.take();
        let proof_header = request.header("dpop");
        let proof_header = proof_header.as_deref();
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
                let url = self.dpop_url(request)?;
                // The proof is checked against the token's `cnf` alone: the one the verify's
                // parse kept (the last, as a whole parse keeps it), not a second parse.
                let map = cnf_only(&binding);
                let proof = dpop.verify_request(&DpopRequest {
                    proof,
                    method: request.method,
                    uri: &url,
                    access_token: Some(&token),
                    access_claims: Some(&map),
                    nonce: None,
                })?;
                Ok((claims, Some(proof), scp))
            }
            _ if binding
                .as_ref()
                .is_some_and(|b| b.get("x5t#S256").is_some()) =>
            {
                let forwarded = self
                    .config
                    .client_certificate_header
                    .as_deref()
                    .and_then(|name| request.header(name));
                let cert = request
                    .client_certificate
                    .or_else(|| forwarded.as_deref().map(str::as_bytes));
                match cert.filter(|c| !c.is_empty()) {
                    Some(cert) => {
                        crate::pop::check_certificate_binding_of(&cnf_only(&binding), cert)?;
                        Ok((claims, None, scp))
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
            _ => Ok((claims, None, scp)),
        }
    }

    /// The URL a DPoP proof's `htu` must name: the adapter's URL ([`crate::http::gate_url`]),
    /// or its path under `public_origin`. A URL that is not absolute (no `Host` header,
    /// or one that is not a host) refuses the proof: no proof can name it.
    fn dpop_url(&self, request: &GateRequest<'_>) -> Result<String> {
        if let Some(origin) = &self.config.public_origin {
            let Some(path) = crate::http::target_path(request.url) else {
                return err(
                    ErrorKind::InvalidInput,
                    "the request target is not a path, so no DPoP proof can match it",
                );
            };
            return Ok(format!("{origin}{path}"));
        }
        let url = request.url;
        let absolute = ["http://", "https://"].iter().any(|p| {
            url.get(..p.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(p))
        });
        if !absolute {
            return err(
                ErrorKind::InvalidInput,
                "the request's URL is not known (no Host header, one that is not a host, or a target that is not a path), so no DPoP proof can match it; behind a proxy, set the gate's public_origin",
            );
        }
        Ok(url.to_string())
    }
}

/// Claims holding only `cnf` (when the token has one): what the proof-of-possession checks
/// read.
fn cnf_only(cnf: &Option<Value>) -> Map<String, Value> {
    cnf.iter().map(|c| ("cnf".to_string(), c.clone())).collect()
}

/// `ip:` and the dotted quad, as `format!("ip:{v4}")` writes it, without the formatting
/// machinery (this runs on every request, refused or not).
fn ipv4_bucket(v4: std::net::Ipv4Addr) -> String {
    let mut key = String::with_capacity(18);
    key.push_str("ip:");
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            key.push('.');
        }
        crate::util::push_decimal(&mut key, u64::from(octet));
    }
    key
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
    use crate::allowlist::{Allowlist, ClientIpResolver, ForwardedHeader};
    use crate::apikey::ApiKeyOptions;
    use crate::clock::{Clock, ManualClock, SystemClock};
    use crate::jwt::{sign_with, Algorithm, Key};
    use crate::pop::{create_proof, key_thumbprint, DpopPolicy};
    use crate::store::{MemoryStore, Store};
    use serde_json::json;

    const SECRET: &[u8] = b"gate-unit-test-secret-0123456789abcdef";

    #[test]
    fn ipv4_bucket_is_what_format_writes() {
        // Every octet value in every position, and a fixed-seed walk over the rest.
        let mut x: u32 = 0x9e37_79b9;
        let mut addresses: Vec<u32> = (0..=255u32)
            .flat_map(|o| [o, o << 8, o << 16, o << 24, o * 0x0101_0101])
            .collect();
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            addresses.push(x);
        }
        for a in addresses {
            let v4 = std::net::Ipv4Addr::from(a);
            assert_eq!(ipv4_bucket(v4), format!("ip:{v4}"));
        }
    }

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
    fn id_token_claims_are_found_even_when_escaped() {
        let key = crate::jwt::Key::hmac(
            None,
            crate::jwt::Algorithm::HS256,
            b"0123456789abcdef0123456789abcdef",
        )
        .unwrap();
        let input = |payload: &str| {
            format!(
                "eyJhbGciOiJIUzI1NiJ9.{}",
                crate::util::b64url_encode(payload.as_bytes())
            )
        };
        let set = KeySet::single(
            crate::jwt::Key::hmac(
                None,
                crate::jwt::Algorithm::HS256,
                b"0123456789abcdef0123456789abcdef",
            )
            .unwrap(),
        );
        let found = |payload: &str| {
            let input = input(payload);
            let sig = crate::util::b64url_encode(&key.sign(input.as_bytes()).unwrap());
            let mut sink = IdTokenClaims::default();
            let validation = Validation {
                required_claims: Vec::new(),
                ..Validation::default()
            };
            set.verify_into(&format!("{input}.{sig}"), &validation, 0, &mut sink)
                .unwrap();
            sink.found
        };
        assert!(found(r#"{"sub":"a","nonce":"n"}"#));
        assert!(found(r#"{"sub":"a","at_hash":"h"}"#));
        assert!(found(r#"{"sub":"a","c_hash":"h","s_hash":"h"}"#));
        assert!(found(r#"{"sub":"a","\u006eonce":"n"}"#));
        // The name as a value, or nested, is not the claim.
        assert!(!found(r#"{"sub":"nonce","x":"\u0041"}"#));
        assert!(!found(r#"{"sub":"a","x":{"nonce":"n"},"scope":"read"}"#));
    }

    #[test]
    fn a_gate_admits_only_the_key_prefixes_it_is_pinned_to() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let both = ApiKeyManager::new(store.clone())
            .with_prefixes(
                crate::apikey::PREFIX_LIVE,
                &[
                    crate::apikey::PREFIX_LIVE.to_string(),
                    crate::apikey::PREFIX_TEST.to_string(),
                ],
            )
            .unwrap();
        let (live, _) = both.create(&both.options()).unwrap();
        let (test, _) = both
            .create(&ApiKeyOptions {
                prefix: crate::apikey::PREFIX_TEST.into(),
                ..ApiKeyOptions::default()
            })
            .unwrap();
        let manager = Arc::new(both);
        let gate = |prefixes: Vec<String>| {
            Gate::new(GateConfig {
                api_keys: Some(manager.clone()),
                api_key_prefixes: prefixes,
                ..GateConfig::default()
            })
        };
        let open = gate(Vec::new()).unwrap();
        assert_eq!(
            code(&check(&open, &[("x-api-key", &test)], None)),
            "admitted"
        );
        let live_only = gate(vec![crate::apikey::PREFIX_LIVE.into()]).unwrap();
        assert_eq!(
            code(&check(&live_only, &[("x-api-key", &live)], None)),
            "admitted"
        );
        assert_eq!(
            code(&check(&live_only, &[("x-api-key", &test)], None)),
            "invalid_api_key"
        );
        // A gate cannot admit a prefix its manager refuses, nor pin without a manager.
        let e = gate(vec![crate::apikey::PREFIX_SERVER.into()])
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = Gate::new(GateConfig {
            limiter: Some(Arc::new(RateLimiter::new(store))),
            api_key_prefixes: vec![crate::apikey::PREFIX_LIVE.into()],
            ..GateConfig::default()
        })
        .err()
        .unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn configurations_that_cannot_work_are_refused() {
        let bad = |config: GateConfig| Gate::new(config).err().map(|e| e.kind());
        assert_eq!(bad(GateConfig::default()), Some(ErrorKind::InvalidInput));
        // An identity provider's tokens need this API's audience, or the named opt-out.
        #[cfg(feature = "remote-jwks")]
        {
            let remote = |validation: Validation| GateConfig {
                tokens: Some(TokenVerifier::Remote {
                    jwks: Arc::new(
                        RemoteJwks::new("https://idp.example/jwks.json", Default::default())
                            .unwrap(),
                    ),
                    validation,
                }),
                ..GateConfig::default()
            };
            let e = Gate::new(remote(Validation::default())).err().unwrap();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            assert!(e.message().contains("audience"), "{e}");
            for validation in [
                Validation {
                    audiences: vec!["api".into()],
                    ..Validation::default()
                },
                Validation {
                    accept_any_audience: true,
                    ..Validation::default()
                },
            ] {
                assert!(Gate::new(remote(validation)).is_ok());
            }
        }
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
        let dpop = || -> Option<Arc<DpopVerifier>> {
            Some(Arc::new(DpopVerifier::new(
                Arc::new(MemoryStore::new()),
                DpopPolicy::default(),
            )))
        };
        let with_origin = |origin: &str| {
            bad(GateConfig {
                tokens: Some(tokens()),
                dpop: dpop(),
                public_origin: Some(origin.into()),
                ..GateConfig::default()
            })
        };
        for origin in [
            "api.example.com",
            "https://",
            "https://api.example.com/api",
            "https://user@api.example.com",
            "https://api.example.com?x",
            "https://api.example.com:",
            "ftp://api.example.com",
            "https://api example.com",
        ] {
            assert_eq!(
                with_origin(origin),
                Some(ErrorKind::InvalidInput),
                "{origin}"
            );
        }
        for origin in ["https://api.example.com/", "http://[::1]:8080"] {
            assert_eq!(with_origin(origin), None, "{origin}");
        }
        // The DPoP nonce is sent as a header value: NQCHAR only, not empty.
        let with_nonce = |nonce: &str| {
            bad(GateConfig {
                tokens: Some(tokens()),
                dpop: Some(Arc::new(DpopVerifier::new(
                    Arc::new(MemoryStore::new()),
                    DpopPolicy {
                        nonce: Some(nonce.into()),
                        ..DpopPolicy::default()
                    },
                ))),
                ..GateConfig::default()
            })
        };
        let long = "n".repeat(1025);
        for nonce in [
            "",
            "a b",
            "a\nb",
            "a\r\nx-injected: 1",
            "q\"",
            "b\\",
            "caf\u{e9}",
            &long,
        ] {
            assert_eq!(
                with_nonce(nonce),
                Some(ErrorKind::InvalidInput),
                "{nonce:?}"
            );
        }
        for nonce in ["eyJ7S_zG.eyJH0-Z.HNi", "!#[]~", &"n".repeat(1024)] {
            assert_eq!(with_nonce(nonce), None, "{nonce:?}");
        }
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
        // A bare path that holds `://` (an adapter's fallback when Host is not a host) is a
        // path as it is: a proof for `/things` does not cover `/proxy/https://x/things`.
        let at = |url: &str, proof: &str| {
            gate.check(
                &GateRequest {
                    method: "GET",
                    url,
                    peer: Some("192.0.2.1"),
                    headers: &[("authorization", &dpop_auth), ("dpop", proof)],
                    client_certificate: None,
                },
                None,
            )
        };
        let bare = "/proxy/https://x/things";
        assert_eq!(
            code(&at(bare, &proof("https://api.example.com/things"))),
            "invalid_claim"
        );
        let whole = proof("https://api.example.com/proxy/https://x/things");
        assert_eq!(code(&at(bare, &whole)), "admitted");
        // A target that is no path (`*`, a raw `#`, too long: `http::gate_url` gives "")
        // never falls back to `/`: a proof for `/` is not admitted on it.
        let root = proof("https://api.example.com/");
        assert_eq!(code(&at("", &root)), "invalid_input");
        let no_path = crate::http::gate_url("https", Some("h"), "/files/a#/../../etc");
        assert_eq!(code(&at(&no_path, &root)), "invalid_input");
        // Any scheme's absolute-form gives its path (Express routes `ftp://x/admin` by `/admin`).
        let admin = crate::http::gate_url("http", Some("internal:8080"), "ftp://x/admin?y");
        assert_eq!(code(&at(&admin, &root)), "invalid_claim");
        let for_admin = proof("https://api.example.com/admin");
        assert_eq!(code(&at(&admin, &for_admin)), "admitted");
        // Without a public origin, a URL the adapter could not make absolute (no Host, or
        // one that is not a host: `http::gate_url` gives the bare path) admits no proof.
        let direct = Gate::new(GateConfig {
            tokens: Some(tokens()),
            dpop: Some(Arc::new(DpopVerifier::new(
                Arc::new(MemoryStore::new()),
                DpopPolicy::default(),
            ))),
            ..GateConfig::default()
        })
        .unwrap();
        let at_direct = |url: &str, proof: &str| {
            direct.check(
                &GateRequest {
                    method: "GET",
                    url,
                    peer: None,
                    headers: &[("authorization", &dpop_auth), ("dpop", proof)],
                    client_certificate: None,
                },
                None,
            )
        };
        let url = crate::http::gate_url("https", Some("api.example.com/things?"), "/other");
        assert_eq!(url, "/other");
        let refused = at_direct(&url, &proof("https://api.example.com/things"));
        let GateOutcome::Refused(r) = &refused else {
            panic!("admitted: {refused:?}")
        };
        assert_eq!((r.response.status, code(&refused)), (400, "invalid_input"));
        assert!(
            r.response.body.contains("public_origin"),
            "{}",
            r.response.body
        );
        let url = crate::http::gate_url("https", Some("api.example.com"), "/things?x=1");
        assert_eq!(
            code(&at_direct(&url, &proof("https://api.example.com/things"))),
            "admitted"
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

    fn with_peer<'a>(
        gate: &Gate,
        peer: Option<&'a str>,
        headers: &'a [(&'a str, &'a str)],
        route: Option<&Route>,
    ) -> GateOutcome {
        gate.check(
            &GateRequest {
                method: "GET",
                url: "/",
                peer,
                headers,
                client_certificate: None,
            },
            route,
        )
    }

    #[test]
    fn credits_are_spent_only_by_admitted_requests() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(1_700_000_000));
        let limiter = RateLimiter::with_clock(store.clone(), clock.clone());
        limiter
            .set_policy("default", Policy::per_minute(2).unwrap())
            .unwrap();
        let keys = Arc::new(ApiKeyManager::with_clock(store, clock));
        let gate = Gate::new(GateConfig {
            api_keys: Some(keys.clone()),
            limiter: Some(Arc::new(limiter)),
            ..GateConfig::default()
        })
        .unwrap();
        let (key, record) = keys
            .create(&ApiKeyOptions {
                credits: Some(10),
                scopes: vec!["read".into()],
                ..ApiKeyOptions::default()
            })
            .unwrap();
        let admin = Route {
            scopes: vec!["admin".into()],
            ..Route::default()
        };
        for _ in 0..3 {
            assert_eq!(
                code(&check(&gate, &[("x-api-key", &key)], Some(&admin))),
                "insufficient_scope"
            );
        }
        let codes: Vec<_> = (0..4)
            .map(|_| code(&check(&gate, &[("x-api-key", &key)], None)))
            .collect();
        assert_eq!(
            codes,
            ["admitted", "admitted", "rate_limited", "rate_limited"]
        );
        assert_eq!(keys.get(&record.id).unwrap().unwrap().credits, Some(8));
    }

    #[test]
    fn the_client_limit_counts_failures_and_refuses_before_checking() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(1_700_000_000));
        let limiter = RateLimiter::with_clock(store.clone(), clock.clone());
        limiter
            .set_policy(CLIENT_POLICY, Policy::per_minute(3).unwrap())
            .unwrap();
        limiter
            .set_policy("gold", Policy::per_minute(50).unwrap())
            .unwrap();
        let keys = Arc::new(ApiKeyManager::with_clock(store, clock));
        let gate = Gate::new(GateConfig {
            api_keys: Some(keys.clone()),
            limiter: Some(Arc::new(limiter)),
            ..GateConfig::default()
        })
        .unwrap();
        let (gold, _) = keys
            .create(&ApiKeyOptions {
                rate_limit_policy: Some("gold".into()),
                ..ApiKeyOptions::default()
            })
            .unwrap();
        // A busy server behind one address: its key's own policy, not the client limit.
        let admitted = (0..20)
            .filter(|_| code(&check(&gate, &[("x-api-key", &gold)], None)) == "admitted")
            .count();
        assert_eq!(admitted, 20);
        // Forged keys from one address: three failures, then refused before any lookup —
        // even the valid key, until the quota refills.
        let mut typo = gold.clone();
        let last = typo.pop().unwrap();
        typo.push(if last == 'a' { 'b' } else { 'a' });
        let codes: Vec<_> = (0..4)
            .map(|_| code(&check(&gate, &[("x-api-key", &typo)], None)))
            .collect();
        assert_eq!(
            codes,
            [
                "invalid_api_key",
                "invalid_api_key",
                "invalid_api_key",
                "rate_limited"
            ]
        );
        let refused = check(&gate, &[("x-api-key", &gold)], None);
        let GateOutcome::Refused(r) = &refused else {
            panic!("admitted")
        };
        assert_eq!(r.error.code(), "rate_limited");
        assert!(r
            .response
            .headers
            .contains(&("retry-after", "20".to_string())));
        // IPv6 clients are one client per /64.
        let ipv6 = |n: u32| format!("2001:db8:1:2::{n:x}");
        let peers: Vec<String> = (1..=5).map(ipv6).collect();
        let codes: Vec<_> = peers
            .iter()
            .map(|p| code(&with_peer(&gate, Some(p), &[("x-api-key", &typo)], None)))
            .collect();
        assert_eq!(codes[3], "rate_limited");
        // Another /64 is another client.
        assert_eq!(
            code(&with_peer(
                &gate,
                Some("2001:db8:1:3::1"),
                &[("x-api-key", &gold)],
                None
            )),
            "admitted"
        );
        // No known address: no client bucket (one shared `unknown` bucket would let one
        // client refuse every other).
        let nobody: Vec<_> = (0..6)
            .map(|_| code(&with_peer(&gate, None, &[("x-api-key", &typo)], None)))
            .collect();
        assert!(nobody.iter().all(|c| *c == "invalid_api_key"), "{nobody:?}");
    }

    #[test]
    fn a_unix_socket_peer_is_a_local_proxy() {
        let gate = Gate::new(GateConfig {
            allowlist: Some(Arc::new(Allowlist::new(&["203.0.113.0/24"]).unwrap())),
            client_ip: Some(Arc::new(
                ClientIpResolver::new(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor).unwrap(),
            )),
            ..GateConfig::default()
        })
        .unwrap();
        let from = |xff: &str| {
            code(&with_peer(
                &gate,
                Some("/run/app.sock"),
                &[("x-forwarded-for", xff)],
                None,
            ))
        };
        assert_eq!(from("203.0.113.9"), "admitted");
        assert_eq!(from("198.51.100.1"), "ip_not_allowed");
        assert_eq!(from("203.0.113.9, 10.1.2.3"), "admitted");
        assert_eq!(
            code(&with_peer(&gate, Some("/run/app.sock"), &[], None)),
            "ip_not_allowed"
        );
    }

    #[test]
    fn repeated_credential_lines_are_one_malformed_credential() {
        let gate = Gate::new(GateConfig {
            tokens: Some(tokens()),
            ..GateConfig::default()
        })
        .unwrap();
        let good = format!("Bearer {}", token(json!({})));
        assert_eq!(
            code(&check(&gate, &[("authorization", &good)], None)),
            "admitted"
        );
        let two = [
            ("authorization", good.as_str()),
            ("authorization", "Bearer junk"),
        ];
        assert_eq!(code(&check(&gate, &two, None)), "malformed_token");
        let joined = format!("{good}, Bearer junk");
        assert_eq!(
            code(&check(&gate, &[("authorization", &joined)], None)),
            "malformed_token"
        );
    }

    #[test]
    fn a_route_rule_for_an_admitted_request_runs_alone() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let limiter = RateLimiter::new(store);
        let gate = Gate::new(GateConfig {
            tokens: Some(tokens()),
            limiter: Some(Arc::new(limiter)),
            ..GateConfig::default()
        })
        .unwrap();
        let bearer = format!("Bearer {}", token(json!({"scope": "read"})));
        let GateOutcome::Admitted(a) = check(&gate, &[("authorization", &bearer)], None) else {
            panic!("refused")
        };
        let login = gate.route("login", vec![], Some("1/minute"), 1).unwrap();
        let admin = gate.route("admin", vec!["admin".into()], None, 1).unwrap();
        let first = gate.check_route_for(&a.identity, &a.grants, a.rate_limit.as_ref(), &login);
        let GateOutcome::Admitted(first) = first else {
            panic!("refused")
        };
        assert_eq!(first.rate_limit.as_ref().unwrap().policy, "1/minute");
        let again = gate.check_route_for(&a.identity, &a.grants, a.rate_limit.as_ref(), &login);
        assert_eq!(code(&again), "rate_limited");
        let scoped = gate.check_route_for(&a.identity, &a.grants, a.rate_limit.as_ref(), &admin);
        assert_eq!(code(&scoped), "insufficient_scope");
        // A cost no bucket can hold is refused when the route is declared.
        assert!(gate.route("export", vec![], Some("2/minute"), 5).is_err());
    }

    #[test]
    fn settings_without_their_prerequisite_are_refused() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let limiter = Some(Arc::new(RateLimiter::new(store)));
        for config in [
            GateConfig {
                limiter: limiter.clone(),
                api_key_scope: Some("x".into()),
                ..GateConfig::default()
            },
            GateConfig {
                limiter: limiter.clone(),
                api_key_header: "x-key".into(),
                ..GateConfig::default()
            },
            GateConfig {
                limiter: limiter.clone(),
                user_rate_policy: Some("default".into()),
                ..GateConfig::default()
            },
            GateConfig {
                tokens: Some(tokens()),
                public_origin: Some("https://api.example.com".into()),
                ..GateConfig::default()
            },
            GateConfig {
                limiter: limiter.clone(),
                scopes: vec!["read".into()],
                ..GateConfig::default()
            },
        ] {
            assert_eq!(
                Gate::new(config).err().map(|e| e.kind()),
                Some(ErrorKind::InvalidInput)
            );
        }
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
        // Behind a TLS terminator: the certificate from the header it sets (here PEM).
        let behind = Gate::new(GateConfig {
            tokens: Some(tokens()),
            client_certificate_header: Some("X-Client-Cert".into()),
            ..GateConfig::default()
        })
        .unwrap();
        let pem = |der: &[u8]| {
            use base64::Engine as _;
            let body = base64::engine::general_purpose::STANDARD.encode(der);
            format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")
        };
        let (good, bad) = (pem(&cert), pem(&other));
        let headers = |c: &str| {
            [("authorization", bound.as_str()), ("x-client-cert", c)]
                .map(|(n, v)| (n, v.to_string()))
        };
        for (certificate, want) in [(good.as_str(), "admitted"), (bad.as_str(), "invalid_claim")] {
            let owned = headers(certificate);
            let pairs: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (*n, v.as_str())).collect();
            assert_eq!(code(&with_peer(&behind, None, &pairs, None)), want);
        }
    }
}
