//! API keys and server keys.

use authgate_core::apikey::{
    self, ApiKeyManager, ApiKeyOptions, ApiKeyRecord as CoreRecord, ImportedApiKey,
};
use napi::bindgen_prelude::Either;
use napi_derive::napi;
use serde_json::{Map, Value};
use std::sync::Arc;

use crate::convert::opt_seconds;
use napi::bindgen_prelude::AsyncTask;

use crate::errors::{core, Result};
use crate::offload::{offload, Offload};
use crate::session::{clock_or_system, store_or_default, JsManualClock, JsStore};

/// What is stored for a key (never the key itself). Times and credits are JavaScript
/// numbers: a count above 2^53 (a key made from Python, in a shared store) comes out as its
/// nearest double, as in the gate's answer, never negative.
#[napi(object)]
pub struct ApiKeyRecord {
    pub id: String,
    pub prefix: String,
    pub last_four: String,
    pub name: Option<String>,
    pub scopes: Vec<String>,
    pub created_at: f64,
    pub expires_at: Option<f64>,
    pub status: String,
    pub credits: Option<f64>,
    pub rate_limit_policy: Option<String>,
    pub replaced_by: Option<String>,
    pub grace_until: Option<f64>,
    /// The app the key belongs to: the first key id of its line of rolls.
    pub app: String,
    /// Who the key belongs to (yours to set).
    pub owner: Option<String>,
    /// Your data about the key.
    pub metadata: Value,
    /// When the key last admitted a request (to the minute).
    pub last_used_at: Option<f64>,
    /// A server key's client-token public key (32 bytes), when it mints client tokens.
    pub client_token_key: Option<napi::bindgen_prelude::Buffer>,
}

pub(crate) fn record(r: CoreRecord) -> ApiKeyRecord {
    ApiKeyRecord {
        app: r.app_id().to_string(),
        owner: r.owner,
        metadata: Value::Object(r.metadata),
        last_used_at: r.last_used_at.map(|t| t as f64),
        client_token_key: r.client_token_key.map(|k| k.to_vec().into()),
        id: r.id,
        prefix: r.prefix,
        last_four: r.last_four,
        name: r.name,
        scopes: r.scopes,
        created_at: r.created_at as f64,
        expires_at: r.expires_at.map(|t| t as f64),
        status: r.status.name().into(),
        credits: r.credits.map(|c| c as f64),
        rate_limit_policy: r.rate_limit_policy,
        replaced_by: r.replaced_by,
        grace_until: r.grace_until.map(|t| t as f64),
    }
}

#[napi(object)]
pub struct CreatedApiKey {
    /// The plaintext key: show it once.
    pub key: String,
    pub record: ApiKeyRecord,
}

#[napi(object)]
#[derive(Default)]
pub struct CreateApiKeyOptions {
    pub prefix: Option<String>,
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    /// Seconds since the epoch.
    pub expires_at: Option<f64>,
    pub credits: Option<u32>,
    pub rate_limit_policy: Option<String>,
    pub owner: Option<String>,
    pub metadata: Option<Value>,
    /// Make a server key that mints client tokens (its record keeps their public key).
    pub client_tokens: Option<bool>,
}

/// A key made elsewhere (`authgate keygen api-key --json` prints these), plus its options.
#[napi(object)]
#[derive(Default)]
pub struct ImportApiKeyOptions {
    pub id: String,
    pub prefix: String,
    pub last_four: String,
    /// The key's SHA-256: 64 hex characters or 32 bytes.
    pub sha256: Option<Either<String, napi::bindgen_prelude::Buffer>>,
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    /// Seconds since the epoch.
    pub expires_at: Option<f64>,
    pub credits: Option<u32>,
    pub rate_limit_policy: Option<String>,
    pub owner: Option<String>,
    pub metadata: Option<Value>,
    /// A server key's client-token public key: 32 bytes, or their base64url.
    pub client_token_key: Option<Either<String, napi::bindgen_prelude::Buffer>>,
}

/// Options for `new ApiKeyManager`: the prefix keys are created with and those accepted.
#[napi(object)]
#[derive(Default)]
pub struct ApiKeyManagerOptions {
    pub prefix: Option<String>,
    pub accept_prefixes: Option<Vec<String>>,
}

fn metadata(value: Option<Value>) -> Result<Map<String, Value>> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(crate::errors::invalid_arg("metadata must be an object")),
    }
}

fn public_key(value: Either<String, napi::bindgen_prelude::Buffer>) -> Result<[u8; 32]> {
    let raw = match value {
        Either::A(text) => authgate_core::util::b64url_decode(text.as_bytes()).unwrap_or_default(),
        Either::B(bytes) => bytes.to_vec(),
    };
    raw.try_into()
        .map_err(|_| crate::errors::invalid_arg("clientTokenKey is 32 bytes (or their base64url)"))
}

fn sha256(value: Option<Either<String, napi::bindgen_prelude::Buffer>>) -> Result<[u8; 32]> {
    let raw: Vec<u8> = match value {
        Some(Either::A(text))
            if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0))
                .collect()
        }
        Some(Either::B(bytes)) => bytes.to_vec(),
        _ => Vec::new(),
    };
    raw.try_into()
        .map_err(|_| crate::errors::invalid_arg("sha256 is 64 hex characters or 32 bytes"))
}

#[napi(object)]
pub struct ParsedApiKey {
    pub prefix: String,
    pub id: String,
    pub last_four: String,
}

/// Checks a key's shape and checksum offline.
#[napi(catch_unwind)]
pub fn parse_api_key(key: String) -> Result<ParsedApiKey> {
    let p = core(apikey::parse(&key))?;
    Ok(ParsedApiKey {
        prefix: p.prefix,
        id: p.id,
        last_four: p.last_four,
    })
}

/// Whether `granted` scopes cover `required` (`sms:*` covers `sms:send`, `*` covers all).
#[napi(catch_unwind)]
pub fn scope_granted(granted: Vec<String>, required: String) -> bool {
    apikey::scope_granted(&granted, &required)
}

/// Creates, verifies, rolls and revokes API keys.
#[napi(js_name = "ApiKeyManager")]
pub struct JsApiKeyManager {
    pub(crate) inner: Arc<ApiKeyManager>,
}

#[napi]
impl JsApiKeyManager {
    #[napi(constructor, catch_unwind)]
    pub fn new(
        store: Option<&JsStore>,
        clock: Option<&JsManualClock>,
        options: Option<ApiKeyManagerOptions>,
    ) -> Result<Self> {
        let o = options.unwrap_or_default();
        let manager = ApiKeyManager::with_clock(store_or_default(store), clock_or_system(clock));
        let accept = o.accept_prefixes.unwrap_or_default();
        let manager = match o.prefix {
            None if accept.is_empty() => manager,
            prefix => {
                let issue = prefix.unwrap_or_else(|| manager.prefix().to_string());
                core(manager.with_prefixes(&issue, &accept))?
            }
        };
        Ok(JsApiKeyManager {
            inner: Arc::new(manager),
        })
    }

    /// The prefix keys are created with.
    #[napi(getter)]
    pub fn prefix(&self) -> String {
        self.inner.prefix().to_string()
    }

    /// The prefixes `verify` accepts.
    #[napi(getter)]
    pub fn accept_prefixes(&self) -> Vec<String> {
        self.inner.accepted_prefixes().to_vec()
    }

    #[napi(catch_unwind)]
    pub fn create(&self, options: Option<CreateApiKeyOptions>) -> Result<CreatedApiKey> {
        let o = options.unwrap_or_default();
        let options = ApiKeyOptions {
            prefix: o.prefix.unwrap_or_else(|| self.inner.prefix().to_string()),
            name: o.name,
            scopes: o.scopes.unwrap_or_default(),
            expires_at: opt_seconds(o.expires_at, "expiresAt")?,
            credits: o.credits.map(u64::from),
            rate_limit_policy: o.rate_limit_policy,
            owner: o.owner,
            metadata: metadata(o.metadata)?,
            client_tokens: o.client_tokens.unwrap_or(false),
        };
        let (key, r) = core(self.inner.create(&options))?;
        Ok(CreatedApiKey {
            key,
            record: record(r),
        })
    }

    /// Stores a key made elsewhere from its parts and SHA-256; returns its record.
    #[napi(catch_unwind)]
    pub fn import_key(&self, options: ImportApiKeyOptions) -> Result<ApiKeyRecord> {
        let key = ImportedApiKey {
            id: options.id,
            prefix: options.prefix.clone(),
            last_four: options.last_four,
            hash: sha256(options.sha256)?,
            client_token_key: options.client_token_key.map(public_key).transpose()?,
        };
        let settings = ApiKeyOptions {
            prefix: options.prefix,
            name: options.name,
            scopes: options.scopes.unwrap_or_default(),
            expires_at: opt_seconds(options.expires_at, "expiresAt")?,
            credits: options.credits.map(u64::from),
            rate_limit_policy: options.rate_limit_policy,
            owner: options.owner,
            metadata: metadata(options.metadata)?,
            client_tokens: false,
        };
        Ok(record(core(self.inner.import(&key, &settings))?))
    }

    /// Deletes a key's record for good (`revoke` keeps it); false if there was none.
    #[napi(catch_unwind)]
    pub fn delete(&self, id: String) -> Result<bool> {
        core(self.inner.delete(&id))
    }

    #[napi(catch_unwind)]
    pub fn verify(&self, key: String, scope: Option<String>) -> Result<ApiKeyRecord> {
        Ok(record(core(self.inner.verify(&key, scope.as_deref()))?))
    }

    /// `verify` on the thread pool, for a store on the network (Redis).
    #[napi(catch_unwind, ts_return_type = "Promise<ApiKeyRecord | TaskFailure>")]
    pub fn verify_async(
        &self,
        key: String,
        scope: Option<String>,
    ) -> AsyncTask<Offload<ApiKeyRecord>> {
        let m = self.inner.clone();
        offload(move || Ok(record(core(m.verify(&key, scope.as_deref()))?)))
    }

    #[napi(catch_unwind)]
    pub fn get(&self, id: String) -> Result<Option<ApiKeyRecord>> {
        Ok(core(self.inner.get(&id))?.map(record))
    }

    #[napi(catch_unwind)]
    pub fn list(&self) -> Result<Vec<ApiKeyRecord>> {
        Ok(core(self.inner.list())?.into_iter().map(record).collect())
    }

    #[napi(catch_unwind)]
    pub fn revoke(&self, id: String) -> Result<()> {
        core(self.inner.revoke(&id))
    }

    #[napi(catch_unwind)]
    pub fn disable(&self, id: String) -> Result<()> {
        core(self.inner.disable(&id))
    }

    #[napi(catch_unwind)]
    pub fn enable(&self, id: String) -> Result<()> {
        core(self.inner.enable(&id))
    }

    /// Issues a replacement; the old key works for `graceSeconds` more.
    #[napi(catch_unwind)]
    pub fn roll(&self, id: String, grace_seconds: Option<f64>) -> Result<CreatedApiKey> {
        let grace = opt_seconds(grace_seconds, "graceSeconds")?.unwrap_or(0);
        let (key, r) = core(self.inner.roll(&id, grace))?;
        Ok(CreatedApiKey {
            key,
            record: record(r),
        })
    }
}
