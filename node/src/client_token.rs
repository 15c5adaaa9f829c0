//! Client tokens ("secure mode").

use authgate_core::client_token::{
    self, ClientTokens, DEFAULT_CLIENT_TOKEN_TTL_SECS, DEFAULT_REFRESH_MARGIN_SECS,
};
use authgate_core::clock::unix_now;
use napi_derive::napi;

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

/// Mints and verifies short-lived HS256 tokens for one user with a server key.
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
