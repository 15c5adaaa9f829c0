//! `Key`, `KeySet`, `Verifier` and the JWT functions.

use std::sync::Arc;

use authgate_core::clock::unix_now;
use authgate_core::jwt::{self, Algorithm, Key, KeySet, KeyStatus, Validation};
use napi::bindgen_prelude::{Buffer, BufferSlice, Either};
use napi::Env;
use napi_derive::napi;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::convert::{self, in_place, object, opt_seconds};
use crate::errors::{core, invalid_arg, Result};

pub(crate) fn algorithm(name: &str) -> Result<Algorithm> {
    core(name.parse::<Algorithm>())
}

/// An HMAC key's algorithm: the one named, HS256 when none is (as `Key.hmac` documents).
fn hmac_algorithm(name: Option<&str>) -> Result<Algorithm> {
    algorithm(name.unwrap_or("HS256"))
}

/// An object, or JSON text of one.
pub(crate) fn json_object(value: Value, what: &str) -> Result<Map<String, Value>> {
    match value {
        Value::String(text) => object(
            serde_json::from_str(&text).map_err(|_| invalid_arg(format!("{what} must be JSON")))?,
            what,
        ),
        v => object(v, what),
    }
}

/// A signing or verification key, bound to one algorithm.
#[napi(js_name = "Key")]
pub struct JsKey {
    pub(crate) inner: Arc<Key>,
}

#[napi]
impl JsKey {
    /// An HMAC key (HS256/384/512); the secret must be at least as long as the hash.
    #[napi(factory, catch_unwind)]
    pub fn hmac(
        secret: Either<Buffer, String>,
        alg: Option<String>,
        kid: Option<String>,
    ) -> Result<Self> {
        let alg = hmac_algorithm(alg.as_deref())?;
        let key = core(Key::hmac(kid.as_deref(), alg, &convert::bytes(&secret)))?;
        Ok(JsKey {
            inner: Arc::new(key),
        })
    }

    /// A key from PEM (PKCS#8 or PKCS#1 private, SubjectPublicKeyInfo or PKCS#1 public).
    #[napi(factory, catch_unwind)]
    pub fn from_pem(pem: Either<String, Buffer>, alg: String, kid: Option<String>) -> Result<Self> {
        let (alg, pem) = (algorithm(&alg)?, convert::text(pem)?);
        Ok(JsKey {
            inner: Arc::new(core(Key::from_pem(kid.as_deref(), alg, &pem))?),
        })
    }

    /// A key from a JWK (object or JSON text).
    #[napi(factory, catch_unwind)]
    pub fn from_jwk(jwk: Value, alg: Option<String>) -> Result<Self> {
        let alg = alg.as_deref().map(algorithm).transpose()?;
        Ok(JsKey {
            inner: Arc::new(core(Key::from_jwk(&json_object(jwk, "a JWK")?, alg))?),
        })
    }

    /// A new private key as PKCS#8 PEM (ES256, ES384, EdDSA).
    #[napi(catch_unwind)]
    pub fn generate_pem(alg: String) -> Result<String> {
        core(Key::generate_pem(algorithm(&alg)?))
    }

    /// A new random HMAC secret of the hash's length.
    #[napi(catch_unwind)]
    pub fn generate_hmac_secret(alg: Option<String>) -> Result<Buffer> {
        let alg = hmac_algorithm(alg.as_deref())?;
        Ok(core(Key::generate_hmac_secret(alg))?.into())
    }

    #[napi(getter)]
    pub fn kid(&self) -> Option<String> {
        self.inner.kid().map(str::to_owned)
    }

    #[napi(getter)]
    pub fn alg(&self) -> String {
        self.inner.algorithm().name().to_string()
    }

    #[napi(getter)]
    pub fn can_sign(&self) -> bool {
        self.inner.can_sign()
    }

    /// The public JWK, or null for HMAC keys.
    #[napi(catch_unwind)]
    pub fn public_jwk(&self) -> Option<Value> {
        self.inner.public_jwk().map(Value::Object)
    }

    /// The raw signature of `message`.
    #[napi(catch_unwind)]
    pub fn sign<'e>(
        &self,
        env: &'e Env,
        message: Either<BufferSlice, String>,
    ) -> Result<BufferSlice<'e>> {
        convert::buffer(env, &core(self.inner.sign(in_place(&message)))?)
    }

    /// Whether `signature` is a valid raw signature of `message`.
    #[napi(catch_unwind)]
    pub fn verify(
        &self,
        message: Either<BufferSlice, String>,
        signature: Either<BufferSlice, String>,
    ) -> bool {
        self.inner.verify(in_place(&message), in_place(&signature))
    }
}

// The facade's HMAC keys (`Key.hmac`): a secret that changes per call (a tenant's) is
// checked and used without building a native `Key` object, which costs napi more than the
// HMAC itself. The facade keeps a copy of the secret (in a private field, off V8's heap,
// outside Node's shared Buffer pool) and builds the native `Key` from it when the key is
// passed to a `KeySet` or a getter is read.

/// Checks an HMAC secret as `Key.hmac` does; answers the algorithm's name.
#[napi(catch_unwind)]
pub fn hmac_key_check(
    secret: Either<BufferSlice, String>,
    alg: Option<String>,
    kid: Option<String>,
) -> Result<String> {
    let alg = hmac_algorithm(alg.as_deref())?;
    core(jwt::check_hmac_key(kid.as_deref(), alg, in_place(&secret)))?;
    Ok(alg.name().to_string())
}

/// Writes the HMAC tag of `message` under a secret `hmacKeyCheck` accepted into `out` (a scratch Buffer the facade reuses: a Buffer made
/// here would cost V8 a new backing store, more than the HMAC) and answers its length.
#[napi(catch_unwind)]
pub fn hmac_sign_once(
    alg: String,
    secret: BufferSlice,
    message: Either<BufferSlice, String>,
    mut out: BufferSlice,
) -> Result<u32> {
    let tag = core(jwt::hmac_sign_once(
        algorithm(&alg)?,
        &secret,
        in_place(&message),
    ))?;
    let Some(room) = out.get_mut(..tag.len()) else {
        return Err(invalid_arg("the output Buffer is too short"));
    };
    room.copy_from_slice(&tag);
    Ok(tag.len() as u32)
}

/// Whether `signature` is the HMAC tag of `message` (compared in constant time), under a
/// secret `hmacKeyCheck` accepted.
#[napi(catch_unwind)]
pub fn hmac_verify_once(
    alg: String,
    secret: BufferSlice,
    message: Either<BufferSlice, String>,
    signature: Either<BufferSlice, String>,
) -> Result<bool> {
    core(jwt::hmac_verify_once(
        algorithm(&alg)?,
        &secret,
        in_place(&message),
        in_place(&signature),
    ))
}

/// Verification options; unset fields take the core's defaults.
#[napi(object)]
#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyOptions {
    #[serde(default, deserialize_with = "one_or_many")]
    pub issuer: Option<Either<String, Vec<String>>>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub audience: Option<Either<String, Vec<String>>>,
    pub subject: Option<String>,
    pub required_claims: Option<Vec<String>>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub required_scopes: Option<Either<String, Vec<String>>>,
    pub token_type: Option<String>,
    pub algorithms: Option<Vec<String>>,
    /// Seconds of clock skew allowed.
    pub leeway: Option<f64>,
    pub max_token_bytes: Option<u32>,
    /// With no audience named, accept a token whose `aud` names any (the named opt-out;
    /// by default such a token is refused).
    pub accept_any_audience: Option<bool>,
    /// Seconds since the epoch to verify at (default: now).
    pub now: Option<f64>,
}

/// A string or an array of strings, from JSON.
fn one_or_many<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Either<String, Vec<String>>>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<OneOrMany>::deserialize(d)?.map(|v| match v {
        OneOrMany::One(s) => Either::A(s),
        OneOrMany::Many(list) => Either::B(list),
    }))
}

pub(crate) fn validation(o: VerifyOptions) -> Result<(Validation, Option<u64>)> {
    let mut v = Validation {
        accept_any_audience: o.accept_any_audience.unwrap_or(false),
        ..Validation::default()
    };
    if let Some(x) = convert::strings(o.issuer) {
        v.issuers = x;
    }
    if let Some(x) = convert::strings(o.audience) {
        v.audiences = x;
    }
    v.subject = o.subject;
    if let Some(x) = o.required_claims {
        v.required_claims = x;
    }
    if let Some(x) = convert::strings(o.required_scopes) {
        v.required_scopes = x;
    }
    v.token_type = o.token_type;
    if let Some(algs) = o.algorithms {
        v.algorithms = algs.iter().map(|a| algorithm(a)).collect::<Result<_>>()?;
    }
    if let Some(x) = opt_seconds(o.leeway, "leeway")? {
        v.leeway = x;
    }
    if let Some(x) = o.max_token_bytes {
        v.max_token_bytes = x as usize;
    }
    Ok((v, opt_seconds(o.now, "now")?))
}

/// [`validation`] of options given as JSON text (`index.js` stringifies them: reading an
/// object field by field through napi costs more than V8's stringify and serde's parse).
pub(crate) fn validation_json(options: Option<String>) -> Result<(Validation, Option<u64>)> {
    let options: VerifyOptions = match options {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| invalid_arg(format!("invalid verify options: {e}")))?,
        None => VerifyOptions::default(),
    };
    validation(options)
}

/// Verifies and returns the payload JSON text: `index.js` parses it with V8's JSON.parse,
/// which is faster than building the object property by property through napi (and has
/// JSON.parse's semantics for large integers).
fn verify_token(set: &KeySet, token: &str, v: &Validation, now: Option<u64>) -> Result<String> {
    let claims = core(set.verify_at(token, v, now.unwrap_or_else(unix_now)))?;
    Ok(claims.json().to_string())
}

#[napi(object)]
pub struct KeyInfo {
    pub kid: Option<String>,
    pub alg: String,
    pub status: String,
}

#[napi(object)]
pub struct SignOptions {
    pub typ: Option<String>,
}

/// A verified JWS as it crosses napi: the header as JSON text, which `index.js` parses
/// with `JSON.parse` (a `__proto__` member stays an own property, never a prototype, as
/// it would if napi set the members one by one).
#[napi(object)]
pub struct NativeVerifiedJws {
    pub header_json: String,
    pub payload: Buffer,
}

/// A rotating set of keys: signs with the active key, verifies with any not retired.
#[napi(js_name = "KeySet")]
pub struct JsKeySet {
    pub(crate) inner: Arc<KeySet>,
}

#[napi]
impl JsKeySet {
    /// The first key that can sign becomes active; the others verify only.
    #[napi(constructor, catch_unwind)]
    pub fn new(keys: Option<Vec<&JsKey>>) -> Result<Self> {
        let set = KeySet::new();
        let mut active = false;
        for key in keys.unwrap_or_default() {
            let s = if !active && key.inner.can_sign() {
                KeyStatus::Active
            } else {
                KeyStatus::VerifyOnly
            };
            active |= s == KeyStatus::Active;
            core(set.add(key.inner.clone(), s))?;
        }
        Ok(JsKeySet {
            inner: Arc::new(set),
        })
    }

    #[napi(catch_unwind)]
    pub fn add(&self, key: &JsKey, status: Option<String>) -> Result<()> {
        core(
            self.inner.add(
                key.inner.clone(),
                core(
                    status
                        .as_deref()
                        .unwrap_or("verify_only")
                        .parse::<KeyStatus>(),
                )?,
            ),
        )
    }

    #[napi(catch_unwind)]
    pub fn activate(&self, kid: String) -> Result<()> {
        core(self.inner.activate(&kid))
    }

    #[napi(catch_unwind)]
    pub fn retire(&self, kid: String) -> Result<()> {
        core(self.inner.retire(&kid))
    }

    #[napi(catch_unwind)]
    pub fn remove(&self, kid: String) -> Result<()> {
        core(self.inner.remove(&kid))
    }

    #[napi(catch_unwind)]
    pub fn list(&self) -> Vec<KeyInfo> {
        self.inner
            .list()
            .into_iter()
            .map(|(kid, alg, s)| KeyInfo {
                kid,
                alg: alg.name().into(),
                status: s.name().into(),
            })
            .collect()
    }

    /// The public keys as a JWKS object.
    #[napi(catch_unwind)]
    pub fn jwks(&self) -> Value {
        self.inner.jwks()
    }

    /// Imports the signing keys of a JWKS (object or JSON text) as verify-only keys.
    #[napi(catch_unwind)]
    pub fn import_jwks(&self, jwks: Value) -> Result<Vec<String>> {
        let text = Value::Object(json_object(jwks, "a JWKS")?).to_string();
        core(self.inner.import_jwks(&text))
    }

    /// Signs claims given as JSON text (`index.js` passes `JSON.stringify(claims)`).
    #[napi(catch_unwind)]
    pub fn sign_json(&self, claims: String, options: Option<SignOptions>) -> Result<String> {
        let claims: Value =
            serde_json::from_str(&claims).map_err(|_| invalid_arg("claims are not JSON"))?;
        let claims = object(claims, "claims")?;
        core(
            self.inner
                .sign(&claims, options.and_then(|o| o.typ).as_deref()),
        )
    }

    /// Verifies a token's signature, then its claims; returns the claims as JSON text.
    /// The options come as JSON text too (`index.js` stringifies them): reading an object
    /// field by field through napi costs more than V8's stringify and serde's parse.
    #[napi(catch_unwind)]
    pub fn verify_json(&self, token: String, options: Option<String>) -> Result<String> {
        let (v, now) = validation_json(options)?;
        verify_token(&self.inner, &token, &v, now)
    }

    /// A verifier with these checks built once (same options as `verify`, without `now`).
    #[napi(catch_unwind)]
    pub fn verifier(&self, options: Option<VerifyOptions>) -> Result<JsVerifier> {
        let (validation, _) = validation(options.unwrap_or_default())?;
        Ok(JsVerifier {
            keys: self.inner.clone(),
            validation,
        })
    }

    /// Verifies only the signature of a compact JWS.
    #[napi(catch_unwind)]
    pub fn verify_jws(
        &self,
        token: String,
        algorithms: Option<Vec<String>>,
    ) -> Result<NativeVerifiedJws> {
        let algs: Vec<Algorithm> = algorithms
            .unwrap_or_default()
            .iter()
            .map(|a| algorithm(a))
            .collect::<Result<_>>()?;
        let jws = core(self.inner.verify_jws(&token, &algs))?;
        Ok(NativeVerifiedJws {
            header_json: Value::Object(jws.header).to_string(),
            payload: jws.payload.into(),
        })
    }
}

/// A key set with a fixed set of checks (see `KeySet.verifier`).
#[napi(js_name = "Verifier")]
pub struct JsVerifier {
    pub(crate) keys: Arc<KeySet>,
    pub(crate) validation: Validation,
}

#[napi]
impl JsVerifier {
    /// Verifies a token; returns its claims as JSON text. `now` is seconds since the epoch.
    #[napi(catch_unwind)]
    pub fn verify_json(&self, token: String, now: Option<f64>) -> Result<String> {
        verify_token(
            &self.keys,
            &token,
            &self.validation,
            opt_seconds(now, "now")?,
        )
    }
}

/// A peeked token as JSON texts, parsed by `index.js` with `JSON.parse` (see
/// [`NativeVerifiedJws`]).
#[napi(object)]
pub struct NativePeeked {
    pub header_json: String,
    pub claims_json: String,
}

/// Reads a token's header and claims WITHOUT verifying anything (for display only).
#[napi(catch_unwind)]
pub fn peek_unverified(token: String) -> Result<NativePeeked> {
    let (header, claims) = core(jwt::peek_unverified(&token))?;
    Ok(NativePeeked {
        header_json: Value::Object(header).to_string(),
        claims_json: claims.json().to_string(),
    })
}
