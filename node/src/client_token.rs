//! Client tokens ("secure mode").

use authgate_core::client_token::{
    self, ClientTokenVerifier, ClientTokens, LegacyClientTokens, LegacyOptions,
    DEFAULT_CLIENT_TOKEN_TTL_SECS, DEFAULT_REFRESH_MARGIN_SECS,
};
use authgate_core::clock::unix_now;
use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;

use crate::apikey::JsApiKeyManager;
use crate::convert::opt_seconds;
use crate::errors::{core, Result};

#[napi(object)]
pub struct ClientToken {
    pub user: String,
    pub exp: i64,
}

#[napi(object)]
#[derive(Default)]
pub struct MintOptions {
    /// Seconds the token lives (default: the core's).
    pub ttl: Option<f64>,
    pub now: Option<f64>,
}

/// The backend's side: mints short-lived EdDSA tokens for one user with its server key
/// (an `ag_srv_` key created with `clientTokens: true`), and verifies its own.
#[napi(js_name = "ClientTokens")]
pub struct JsClientTokens {
    inner: ClientTokens,
}

#[napi]
impl JsClientTokens {
    #[napi(constructor, catch_unwind)]
    pub fn new(server_key: String) -> Result<Self> {
        Ok(JsClientTokens {
            inner: core(ClientTokens::new(&server_key))?,
        })
    }

    /// The Ed25519 public key the tokens are verified with (what the key's record keeps).
    #[napi(getter)]
    pub fn public_key(&self) -> Buffer {
        self.inner.public_key().to_vec().into()
    }

    #[napi(catch_unwind)]
    pub fn mint(&self, user: String, options: Option<MintOptions>) -> Result<String> {
        let o = options.unwrap_or_default();
        let ttl = opt_seconds(o.ttl, "ttl")?.unwrap_or(DEFAULT_CLIENT_TOKEN_TTL_SECS);
        let now = opt_seconds(o.now, "now")?.unwrap_or_else(unix_now);
        core(self.inner.mint(&user, ttl, now))
    }

    #[napi(catch_unwind)]
    pub fn verify(&self, token: String, user: String, now: Option<f64>) -> Result<ClientToken> {
        let now = opt_seconds(now, "now")?.unwrap_or_else(unix_now);
        let t = core(self.inner.verify(&token, &user, now))?;
        Ok(ClientToken {
            user: t.user,
            exp: t.exp as i64,
        })
    }
}

/// The API's side: verifies client tokens against the server keys an ApiKeyManager keeps
/// (only their public keys are stored); the key must be usable.
#[napi(js_name = "ClientTokenVerifier")]
pub struct JsClientTokenVerifier {
    inner: ClientTokenVerifier,
}

#[napi]
impl JsClientTokenVerifier {
    #[napi(constructor)]
    pub fn new(api_keys: &JsApiKeyManager) -> Self {
        JsClientTokenVerifier {
            inner: ClientTokenVerifier::new(api_keys.inner.clone()),
        }
    }

    #[napi(catch_unwind)]
    pub fn verify(&self, token: String, user: String, now: Option<f64>) -> Result<ClientToken> {
        let now = opt_seconds(now, "now")?.unwrap_or_else(unix_now);
        let t = core(self.inner.verify(&token, &user, now))?;
        Ok(ClientToken {
            user: t.user,
            exp: t.exp as i64,
        })
    }
}

/// Options of the earlier HS256 client tokens: each opt-out named.
#[napi(object)]
#[derive(Default)]
pub struct LegacyClientTokenOptions {
    /// Accept `{"user": id}` payloads without `exp`.
    pub allow_missing_exp: Option<bool>,
    /// Accept secrets of 16 to 31 bytes.
    pub allow_short_secret: Option<bool>,
}

/// The earlier HS256 client tokens (a shared secret), for migrating.
#[napi(js_name = "LegacyClientTokens")]
pub struct JsLegacyClientTokens {
    inner: LegacyClientTokens,
}

#[napi]
impl JsLegacyClientTokens {
    #[napi(constructor, catch_unwind)]
    pub fn new(
        secret: Either<String, Buffer>,
        options: Option<LegacyClientTokenOptions>,
    ) -> Result<Self> {
        let o = options.unwrap_or_default();
        let secret: Vec<u8> = match secret {
            Either::A(text) => text.into_bytes(),
            Either::B(bytes) => bytes.to_vec(),
        };
        let options = LegacyOptions {
            allow_missing_exp: o.allow_missing_exp.unwrap_or(false),
            allow_short_secret: o.allow_short_secret.unwrap_or(false),
        };
        Ok(JsLegacyClientTokens {
            inner: core(LegacyClientTokens::new(&secret, options))?,
        })
    }

    #[napi(catch_unwind)]
    pub fn mint(&self, user: String, options: Option<MintOptions>) -> Result<String> {
        let o = options.unwrap_or_default();
        let ttl = opt_seconds(o.ttl, "ttl")?.unwrap_or(DEFAULT_CLIENT_TOKEN_TTL_SECS);
        let now = opt_seconds(o.now, "now")?.unwrap_or_else(unix_now);
        core(self.inner.mint(&user, ttl, now))
    }

    /// Verifies a legacy token; `exp` is 0 when the token has none (`allowMissingExp`).
    #[napi(catch_unwind)]
    pub fn verify(&self, token: String, user: String, now: Option<f64>) -> Result<ClientToken> {
        let now = opt_seconds(now, "now")?.unwrap_or_else(unix_now);
        let t = core(self.inner.verify(&token, &user, now))?;
        Ok(ClientToken {
            user: t.user,
            exp: t.exp as i64,
        })
    }
}

#[napi(object)]
#[derive(Default)]
pub struct RefreshOptions {
    pub now: Option<f64>,
    pub margin: Option<f64>,
}

/// Whether a client token should be replaced (unreadable, or expiring within `margin`).
#[napi(catch_unwind)]
pub fn needs_refresh(token: String, options: Option<RefreshOptions>) -> Result<bool> {
    let o = options.unwrap_or_default();
    let now = opt_seconds(o.now, "now")?.unwrap_or_else(unix_now);
    let margin = opt_seconds(o.margin, "margin")?.unwrap_or(DEFAULT_REFRESH_MARGIN_SECS);
    Ok(client_token::needs_refresh(&token, now, margin))
}
