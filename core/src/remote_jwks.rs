//! Key sets of identity providers (Auth0, Cognito, Keycloak, Google…), fetched over HTTPS
//! and cached, for verifying tokens this service did not issue.
//!
//! - Cached for `ttl`; a token whose `kid` is not in the cache triggers one refetch, at
//!   most once per `cooldown`, so made-up kids cannot be used to hammer the provider.
//! - A failed fetch (refused, timed out, HTTP error, not a key set) never replaces the
//!   cached set: it is served for up to `max_stale` past its TTL while the provider is
//!   down, and retried at most once per `cooldown`. After that, `key_set_unavailable`.
//! - One fetch at a time: while it runs, callers with a usable cached set are served from
//!   it instead of waiting.
//! - HTTPS only (unless `allow_http`), no redirects, bounded time and size.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

use crate::clock::{Clock, SystemClock};
use crate::error::{err, Error, ErrorKind, Result};
use crate::jwt::{
    peek_unverified, ClaimSink, Claims, KeySet, NoSink, Validation, DEFAULT_MAX_TOKEN_BYTES,
};

/// How a [`RemoteJwks`] fetches and caches.
#[derive(Debug, Clone)]
pub struct RemoteJwksOptions {
    /// How long a fetched key set is used before it is fetched again (default 600 s).
    pub ttl: u64,
    /// The least time between two fetches caused by an unknown `kid` or a failure
    /// (default 30 s).
    pub cooldown: u64,
    /// How long past its TTL a key set is still served while fetching fails (default
    /// 86,400 s); `0` turns stale serving off.
    pub max_stale: u64,
    /// The whole request's time limit: connect, TLS, response (default 5 s).
    pub timeout: Duration,
    /// The largest response accepted (default 1 MiB).
    pub max_bytes: u64,
    /// Trust only this CA (PEM) instead of the Mozilla roots, e.g. a private IdP's.
    pub ca_cert_pem: Option<String>,
    /// Accept `http://` URLs (never for production; for a local IdP in development).
    pub allow_http: bool,
}

impl Default for RemoteJwksOptions {
    fn default() -> Self {
        RemoteJwksOptions {
            ttl: 600,
            cooldown: 30,
            max_stale: 86_400,
            timeout: Duration::from_secs(5),
            max_bytes: 1024 * 1024,
            ca_cert_pem: None,
            allow_http: false,
        }
    }
}

/// The longest URL accepted.
const MAX_URL_BYTES: usize = 2048;
const DISCOVERY_SUFFIX: &str = "/.well-known/openid-configuration";

/// What a [`RemoteJwks`] holds and when it last fetched, for health checks and logs.
#[derive(Debug, Clone, Default)]
pub struct RemoteJwksStatus {
    /// The kids of the cached key set (empty before the first successful fetch).
    pub kids: Vec<String>,
    /// Kids the provider published on more than one key: left out of the cached set.
    pub ambiguous_kids: Vec<String>,
    /// When the cached set was fetched (seconds since the epoch).
    pub fetched_at: Option<u64>,
    /// Whether the cached set is past its TTL (served because fetching fails).
    pub stale: bool,
    /// Successful and failed fetches so far.
    pub fetches: u64,
    pub failures: u64,
    /// Why the last fetch failed, if it did (cleared by the next success).
    pub last_error: Option<Error>,
    /// The key set's URL (for discovery, once the document has been read).
    pub jwks_uri: Option<String>,
    /// The issuer the discovery document names.
    pub issuer: Option<String>,
}

struct Cached {
    keys: Arc<KeySet>,
    kids: Vec<String>,
    /// Kids that more than one published key named: left out, and named in the error.
    ambiguous: Vec<String>,
    fetched_at: u64,
}

#[derive(Default)]
struct State {
    cached: Option<Arc<Cached>>,
    last_attempt: Option<u64>,
    last_error: Option<Error>,
    fetches: u64,
    failures: u64,
    jwks_uri: Option<String>,
    issuer: Option<String>,
}

enum Source {
    Jwks,
    /// The discovery document's URL and the issuer it must name.
    Discovery {
        issuer: String,
    },
}

/// A remote JWKS, fetched on demand and cached (see the module docs).
pub struct RemoteJwks {
    url: String,
    source: Source,
    options: RemoteJwksOptions,
    agent: ureq::Agent,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    /// Held while fetching: one fetch at a time.
    fetching: Mutex<()>,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("url", &self.url)
            .finish()
    }
}

/// An identity provider signs tokens for many APIs (and ID tokens for its clients): its
/// keys verify tokens for this service only when the validation names this service's
/// audience, or opts out explicitly with `accept_any_audience`.
pub(crate) fn check_remote_audience(validation: &Validation) -> Result<()> {
    if validation.audiences.is_empty() && !validation.accept_any_audience {
        return err(
            ErrorKind::InvalidInput,
            "tokens from an identity provider are verified for a named audience: set this \
             API's audience (or accept_any_audience)",
        );
    }
    Ok(())
}

fn check_url(url: &str, allow_http: bool) -> Result<()> {
    let scheme_ok = url.starts_with("https://") || (allow_http && url.starts_with("http://"));
    if url.len() > MAX_URL_BYTES || !scheme_ok || url.chars().any(char::is_whitespace) {
        return err(
            ErrorKind::InvalidInput,
            if allow_http {
                "a key set URL is an http(s):// URL of at most 2048 bytes"
            } else {
                "a key set URL is an https:// URL of at most 2048 bytes"
            },
        );
    }
    Ok(())
}

/// The URL without its query, for messages (a query may carry a credential).
fn shown(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or_default()
}

fn unavailable(message: String) -> Error {
    Error::new(ErrorKind::KeySetUnavailable, message)
}

impl RemoteJwks {
    /// A client for the key set at `jwks_url`. Nothing is fetched until it is needed.
    pub fn new(jwks_url: &str, options: RemoteJwksOptions) -> Result<Self> {
        RemoteJwks::build(jwks_url.to_string(), Source::Jwks, options)
    }

    /// A client that finds the key set through OpenID Connect discovery: `issuer` is the
    /// issuer URL (its `/.well-known/openid-configuration` is read) or that document's URL.
    /// The document must name this issuer, and tokens must then carry it as `iss` unless
    /// the validation lists issuers of its own.
    pub fn discover(issuer: &str, options: RemoteJwksOptions) -> Result<Self> {
        let issuer = issuer.strip_suffix(DISCOVERY_SUFFIX).unwrap_or(issuer);
        let url = format!("{}{DISCOVERY_SUFFIX}", issuer.trim_end_matches('/'));
        let source = Source::Discovery {
            issuer: issuer.to_string(),
        };
        RemoteJwks::build(url, source, options)
    }

    fn build(url: String, source: Source, options: RemoteJwksOptions) -> Result<Self> {
        check_url(&url, options.allow_http)?;
        if options.ttl == 0 || options.timeout.is_zero() || options.max_bytes == 0 {
            return err(
                ErrorKind::InvalidInput,
                "ttl, timeout and max_bytes must be positive",
            );
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(pem) = &options.ca_cert_pem {
            let certs: Vec<_> = ureq::tls::parse_pem(pem.as_bytes())
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return err(
                    ErrorKind::InvalidInput,
                    "ca_cert_pem holds no PEM certificate",
                );
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(options.timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .https_only(!options.allow_http)
            .user_agent(concat!("authgate/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build()
            .into();
        Ok(RemoteJwks {
            url,
            source,
            options,
            agent,
            clock: Arc::new(SystemClock),
            state: Mutex::new(State::default()),
            fetching: Mutex::new(()),
        })
    }

    /// The same client reading time from `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The URL this client was made with (the discovery document's, for `discover`).
    pub fn url(&self) -> &str {
        &self.url
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic cannot leave `State` half-written (each update is one assignment).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The key set to verify with: the cached one while fresh, else fetched (or the stale
    /// one while fetching fails, within `max_stale`).
    pub fn key_set(&self) -> Result<Arc<KeySet>> {
        self.current(false, None).map(|c| c.keys.clone())
    }

    /// Fetches the key set now, whatever the cache holds (no cooldown). A failure leaves
    /// the cached set in place and is returned.
    pub fn refresh(&self) -> Result<Arc<KeySet>> {
        let _one = self.fetching.lock().unwrap_or_else(|p| p.into_inner());
        self.fetch_into_cache().map(|c| c.keys.clone())
    }

    /// Verifies `token` with the provider's keys (refetching once if its `kid` is new) and
    /// then its claims, at the system time.
    pub fn verify(&self, token: &str, validation: &Validation) -> Result<Claims> {
        self.verify_at(token, validation, crate::clock::unix_now())
    }

    /// [`RemoteJwks::verify`] with the claims checked at `now`.
    pub fn verify_at(&self, token: &str, validation: &Validation, now: u64) -> Result<Claims> {
        self.verify_into(token, validation, now, &mut NoSink)
    }

    /// [`RemoteJwks::verify_at`], handing every claim to `sink` during the payload's one
    /// parse (see [`KeySet::verify_into`]).
    pub fn verify_into<S: ClaimSink>(
        &self,
        token: &str,
        validation: &Validation,
        now: u64,
        sink: &mut S,
    ) -> Result<Claims> {
        check_remote_audience(validation)?;
        // Garbage costs no fetch: the size and the shape are checked before the key set.
        if token.len() > validation.max_token_bytes {
            return err(ErrorKind::TokenTooLarge, "the token is too large");
        }
        if token.len() <= DEFAULT_MAX_TOKEN_BYTES {
            peek_unverified(token)?;
        }
        let cached = self.current(false, None)?;
        // A discovered provider's tokens must name it (as its document spells it).
        let discovered;
        let validation = match (&self.source, validation.issuers.is_empty()) {
            (Source::Discovery { issuer }, true) => {
                let named = self.state().issuer.clone();
                discovered = Validation {
                    issuers: vec![named.unwrap_or_else(|| issuer.clone())],
                    ..validation.clone()
                };
                &discovered
            }
            _ => validation,
        };
        match cached.keys.verify_into(token, validation, now, sink) {
            Err(e) if e.kind() == ErrorKind::KeyNotFound => {
                // A kid the cache does not know: perhaps the provider rotated.
                let (header, _) = peek_unverified(token)?;
                let kid = header.get("kid").and_then(Value::as_str);
                let fresh = self.current(true, kid)?;
                let outcome = if Arc::ptr_eq(&fresh, &cached) {
                    Err(e)
                } else {
                    fresh.keys.verify_into(token, validation, now, sink)
                };
                match outcome {
                    Err(e)
                        if e.kind() == ErrorKind::KeyNotFound
                            && fresh.ambiguous.iter().any(|a| Some(a.as_str()) == kid) =>
                    {
                        err(
                            ErrorKind::KeyNotFound,
                            "the provider publishes more than one key with the token's kid, \
                             so none of them is used",
                        )
                    }
                    other => other,
                }
            }
            other => other,
        }
    }

    /// What is cached and how fetching went.
    pub fn status(&self) -> RemoteJwksStatus {
        let now = self.clock.now();
        let state = self.state();
        RemoteJwksStatus {
            kids: state
                .cached
                .as_ref()
                .map(|c| c.kids.clone())
                .unwrap_or_default(),
            ambiguous_kids: state
                .cached
                .as_ref()
                .map(|c| c.ambiguous.clone())
                .unwrap_or_default(),
            fetched_at: state.cached.as_ref().map(|c| c.fetched_at),
            stale: state
                .cached
                .as_ref()
                .is_some_and(|c| now >= c.fetched_at.saturating_add(self.options.ttl)),
            fetches: state.fetches,
            failures: state.failures,
            last_error: state.last_error.clone(),
            jwks_uri: match self.source {
                Source::Jwks => Some(self.url.clone()),
                Source::Discovery { .. } => state.jwks_uri.clone(),
            },
            issuer: state.issuer.clone(),
        }
    }

    /// The cached set if it will do, else the result of a fetch. `unknown_kid` asks for a
    /// refetch because a token named a kid the cache lacks (`kid`, if it had one).
    fn current(&self, unknown_kid: bool, kid: Option<&str>) -> Result<Arc<Cached>> {
        let now = self.clock.now();
        let cached = {
            let state = self.state();
            match &state.cached {
                Some(c) if !unknown_kid && now < c.fetched_at.saturating_add(self.options.ttl) => {
                    return Ok(c.clone())
                }
                _ => state.cached.clone(),
            }
        };
        // While another caller fetches, serve a usable cached set rather than wait.
        let _one = match self.fetching.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::WouldBlock) => match &cached {
                Some(c) if self.servable(c, now) => return Ok(c.clone()),
                _ => self.fetching.lock().unwrap_or_else(|p| p.into_inner()),
            },
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        };
        // Someone may have fetched while this caller waited for the lock.
        let (cached, cooling) = {
            let state = self.state();
            let cooling = state
                .last_attempt
                .is_some_and(|t| now < t.saturating_add(self.options.cooldown));
            (state.cached.clone(), cooling)
        };
        if let Some(c) = &cached {
            let fresh = now < c.fetched_at.saturating_add(self.options.ttl);
            let has_kid =
                kid.is_some_and(|k| c.kids.iter().chain(&c.ambiguous).any(|have| have == k));
            if fresh && (!unknown_kid || has_kid || cooling) {
                return Ok(c.clone());
            }
            if cooling && self.servable(c, now) {
                return Ok(c.clone());
            }
        }
        if cooling {
            let state = self.state();
            let why = state
                .last_error
                .as_ref()
                .map(|e| e.message().to_string())
                .unwrap_or_else(|| "no key set is cached".to_string());
            return Err(unavailable(format!(
                "no usable key set, and the last fetch was less than {} s ago: {why}",
                self.options.cooldown
            )));
        }
        match self.fetch_into_cache() {
            Ok(fresh) => Ok(fresh),
            Err(e) => match cached {
                Some(c) if self.servable(&c, now) => Ok(c),
                Some(_) => Err(unavailable(format!(
                    "the cached key set is older than max_stale allows and fetching failed: {}",
                    e.message()
                ))),
                None => Err(e),
            },
        }
    }

    /// Whether a cached set may still be served: within its TTL plus `max_stale`.
    fn servable(&self, cached: &Cached, now: u64) -> bool {
        let limit = cached
            .fetched_at
            .saturating_add(self.options.ttl)
            .saturating_add(self.options.max_stale);
        now < limit
    }

    /// Fetches and, on success only, replaces the cache. Called with `fetching` held.
    fn fetch_into_cache(&self) -> Result<Arc<Cached>> {
        let now = self.clock.now();
        self.state().last_attempt = Some(now);
        let outcome = self.fetch();
        let mut state = self.state();
        match outcome {
            Ok((keys, kids, ambiguous, found)) => {
                let cached = Arc::new(Cached {
                    keys: Arc::new(keys),
                    kids,
                    ambiguous,
                    fetched_at: now,
                });
                state.cached = Some(cached.clone());
                state.fetches += 1;
                state.last_error = None;
                if let Some((jwks_uri, issuer)) = found {
                    state.jwks_uri = Some(jwks_uri);
                    state.issuer = Some(issuer);
                }
                Ok(cached)
            }
            Err(e) => {
                state.failures += 1;
                state.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// One fetch: the discovery document first when there is one (each time: its
    /// `jwks_uri` may move), then the key set.
    #[allow(clippy::type_complexity)]
    fn fetch(&self) -> Result<(KeySet, Vec<String>, Vec<String>, Option<(String, String)>)> {
        let (jwks_uri, found) = match &self.source {
            Source::Jwks => (self.url.clone(), None),
            Source::Discovery { issuer } => {
                let (uri, named) = self.discover_jwks_uri(issuer)?;
                (uri.clone(), Some((uri, named)))
            }
        };
        let body = self.get(&jwks_uri)?;
        let keys = KeySet::new();
        let (kids, ambiguous) = keys.import_jwks_skipping_ambiguous(&body).map_err(|e| {
            unavailable(format!(
                "{} did not return a usable key set: {}",
                shown(&jwks_uri),
                e.message()
            ))
        })?;
        Ok((keys, kids, ambiguous, found))
    }

    fn discover_jwks_uri(&self, issuer: &str) -> Result<(String, String)> {
        let body = self.get(&self.url)?;
        let not_discovery = || {
            unavailable(format!(
                "{} is not an OpenID Connect discovery document",
                shown(&self.url)
            ))
        };
        let doc: Value = serde_json::from_str(&body).map_err(|_| not_discovery())?;
        let named = doc
            .get("issuer")
            .and_then(Value::as_str)
            .ok_or_else(not_discovery)?;
        // OpenID Connect Discovery §4.3: the document names the issuer asked for (a
        // trailing slash aside, which people add or drop when configuring).
        if named.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(unavailable(format!(
                "the discovery document names another issuer than {issuer}"
            )));
        }
        let uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(not_discovery)?;
        check_url(uri, self.options.allow_http).map_err(|_| {
            unavailable(format!(
                "the discovery document's jwks_uri is not an {}URL",
                if self.options.allow_http {
                    "http(s) "
                } else {
                    "https:// "
                }
            ))
        })?;
        Ok((uri.to_string(), named.to_string()))
    }

    fn get(&self, url: &str) -> Result<String> {
        let failed = |why: String| unavailable(format!("fetching {} failed: {why}", shown(url)));
        let mut response = self
            .agent
            .get(url)
            .header("accept", "application/json, application/jwk-set+json")
            .call()
            .map_err(|e| {
                failed(match e {
                    ureq::Error::Timeout(_) => {
                        format!("no answer within {:?}", self.options.timeout)
                    }
                    other => other.to_string(),
                })
            })?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(failed(format!("HTTP {status}")));
        }
        response
            .body_mut()
            .with_config()
            .limit(self.options.max_bytes)
            .read_to_string()
            .map_err(|e| {
                failed(match e {
                    ureq::Error::BodyExceedsLimit(_) => {
                        format!("the response is over {} bytes", self.options.max_bytes)
                    }
                    ureq::Error::Timeout(_) => {
                        format!("no answer within {:?}", self.options.timeout)
                    }
                    other => other.to_string(),
                })
            })
    }
}
