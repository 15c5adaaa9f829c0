//! JSON Web Tokens (RFC 7519) signed as compact JWS (RFC 7515), with the strict defaults
//! of RFC 8725: keys bound to one algorithm, `none` never accepted, unknown `crit`
//! refused, `jku`/`x5u`/`jwk` headers never followed, bounded token size.

mod algorithm;
mod claims;
mod der;
mod ed25519;
mod key;
mod keyset;
mod skim;

pub use algorithm::{Algorithm, KeyFamily};
pub use claims::{
    ClaimSink, Claims, NoSink, RegisteredValue, Validation, DEFAULT_LEEWAY_SECS,
    DEFAULT_MAX_TOKEN_BYTES, MAX_NESTING, MAX_NUMERIC_DATE, MAX_REQUIRED_CLAIMS,
};
pub(crate) use der::parse_pem as parse_pem_block;
pub use key::{check_hmac_key, hmac_sign_once, hmac_verify_once, Key, MIN_RSA_BITS};
use keyset::{HeaderMemo, MAX_MEMO_HEADER};
pub use keyset::{KeySet, KeyStatus, MAX_JWKS_KEYS};

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::error::{err, Error, ErrorKind, Result};
use crate::util::{b64url_decode, b64url_decode_to, b64url_decoded_len, b64url_encode_into};
pub(crate) use algorithm::truncate;
pub(crate) use claims::CaptureText;
use claims::Header;

/// The `typ` of access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// The three parts of a compact JWS, borrowed from the token.
struct Parts<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    signing_input: &'a str,
}

fn split(token: &str, max_bytes: usize) -> Result<Parts<'_>> {
    if token.len() > max_bytes {
        return err(
            ErrorKind::TokenTooLarge,
            format!("token is larger than {max_bytes} bytes"),
        );
    }
    let malformed = || {
        Error::new(
            ErrorKind::MalformedToken,
            "a JWT has three dot-separated parts",
        )
    };
    let last = token.rfind('.').ok_or_else(malformed)?;
    let signing_input = &token[..last];
    let (header, payload) = signing_input.split_once('.').ok_or_else(malformed)?;
    // memchr's SIMD search: the payload is most of a large token.
    if memchr::memchr(b'.', payload.as_bytes()).is_some() {
        return Err(malformed());
    }
    Ok(Parts {
        header,
        payload,
        signature: &token[last + 1..],
        signing_input,
    })
}

fn not_base64(what: &str) -> Error {
    Error::new(
        ErrorKind::MalformedToken,
        format!("the {what} is not base64url"),
    )
}

fn decode_part(part: &str, what: &str) -> Result<Vec<u8>> {
    b64url_decode(part.as_bytes()).ok_or_else(|| not_base64(what))
}

/// Decodes a part into `buf` when it fits (no allocation on the hot path), else the heap.
fn decode_part_buffered<'b>(part: &str, what: &str, buf: &'b mut [u8]) -> Result<Cow<'b, [u8]>> {
    match b64url_decoded_len(part.len()) {
        Some(n) if n <= buf.len() => {
            let n = b64url_decode_to(part.as_bytes(), buf).ok_or_else(|| not_base64(what))?;
            Ok(Cow::Borrowed(&buf[..n]))
        }
        _ => decode_part(part, what).map(Cow::Owned),
    }
}

fn decode_json_text(part: &str, what: &str) -> Result<String> {
    String::from_utf8(decode_part(part, what)?).map_err(|_| {
        Error::new(
            ErrorKind::MalformedToken,
            format!("the {what} is not UTF-8"),
        )
    })
}

/// The per-token checks once the header is known: algorithm allowed and bound to the
/// key, signature, then `typ`.
fn check_with_key(
    parts: &Parts<'_>,
    alg: Algorithm,
    key: &Key,
    typ: Option<&str>,
    algorithms: &[Algorithm],
    token_type: Option<&str>,
) -> Result<()> {
    if !algorithms.is_empty() && !alg.in_list(algorithms) {
        return err(
            ErrorKind::AlgorithmNotAllowed,
            format!("{alg} is not allowed here"),
        );
    }
    if !key.accepts(alg, algorithms) {
        if key.verifies_any_rsa_alg() && alg.family() == KeyFamily::Rsa {
            return err(
                ErrorKind::AlgorithmNotAllowed,
                format!(
                    "the key's JWK names no `alg`: it verifies {alg} only when the allowed algorithms name it"
                ),
            );
        }
        return err(
            ErrorKind::AlgorithmNotAllowed,
            format!("the key is bound to {}, not {alg}", key.algorithm()),
        );
    }
    // HMAC, ECDSA and Ed25519 signatures fit on the stack; RSA's go to the heap.
    let mut sig_buf = [0u8; 128];
    let signature = decode_part_buffered(parts.signature, "signature", &mut sig_buf)?;
    if !key.verify_as(alg, parts.signing_input.as_bytes(), &signature) {
        return err(ErrorKind::InvalidSignature, "the signature does not match");
    }
    if let Some(expected) = token_type {
        if !claims::typ_matches(typ, expected) {
            return err(
                ErrorKind::InvalidTokenType,
                format!("expected a `{expected}` token"),
            );
        }
    }
    Ok(())
}

/// Parses the header and names its algorithm.
fn parse_header(text: &str) -> Result<(Header<'_>, Algorithm)> {
    // serde's derived structs also accept a JSON array (fields by position): refuse it.
    let is_object = text.trim_start().starts_with('{');
    let header: Header<'_> = serde_json::from_str(text)
        .ok()
        .filter(|_| is_object)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::MalformedToken,
                "the header is not a JSON object with a string `alg` (and `typ`, `kid`, `crit` of their types when present)",
            )
        })?;
    let alg: Algorithm = header.alg.parse()?;
    if header.crit.is_some() {
        return err(
            ErrorKind::UnsupportedCriticalHeader,
            "the token has critical header extensions",
        );
    }
    Ok((header, alg))
}

/// A compact JWS whose signature was verified: its header and raw payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Jws {
    pub header: Map<String, Value>,
    pub payload: Vec<u8>,
}

impl KeySet {
    /// The checks every verification shares: size, shape, header, algorithm, key,
    /// signature, then `typ`. Returns the parts.
    fn check_signature<'t>(
        &self,
        token: &'t str,
        max_bytes: usize,
        algorithms: &[Algorithm],
        token_type: Option<&str>,
    ) -> Result<Parts<'t>> {
        let parts = split(token, max_bytes)?;
        let snapshot = self.snapshot();
        if let Some(memo) = snapshot
            .header_memo
            .get()
            .filter(|m| *m.segment == *parts.header)
        {
            check_with_key(
                &parts,
                memo.alg,
                &memo.key,
                memo.typ.as_deref(),
                algorithms,
                token_type,
            )?;
            return Ok(parts);
        }
        let mut header_buf = [0u8; 512];
        let header_bytes = decode_part_buffered(parts.header, "header", &mut header_buf)?;
        let header_text = std::str::from_utf8(&header_bytes)
            .map_err(|_| Error::new(ErrorKind::MalformedToken, "the header is not UTF-8"))?;
        let (header, alg) = parse_header(header_text)?;
        if !algorithms.is_empty() && !alg.in_list(algorithms) {
            return err(
                ErrorKind::AlgorithmNotAllowed,
                format!("{alg} is not allowed here"),
            );
        }
        let key = snapshot.key_for(header.kid.as_deref(), alg, algorithms)?;
        let typ = header.typ.as_deref();
        check_with_key(&parts, alg, &key, typ, algorithms, token_type)?;
        if parts.header.len() <= MAX_MEMO_HEADER {
            let _ = snapshot.header_memo.set(HeaderMemo {
                segment: parts.header.into(),
                alg,
                key,
                typ: typ.map(Into::into),
            });
        }
        Ok(parts)
    }

    /// Verifies a token's signature and then its claims, at the system time.
    pub fn verify(&self, token: &str, validation: &Validation) -> Result<Claims> {
        self.verify_at(token, validation, crate::clock::unix_now())
    }

    /// Verifies a token at time `now` (seconds since the epoch).
    pub fn verify_at(&self, token: &str, validation: &Validation, now: u64) -> Result<Claims> {
        self.verify_into(token, validation, now, &mut claims::NoSink)
    }

    /// [`KeySet::verify_at`], handing every claim to `sink` during the payload's single
    /// parse (for bindings that build a native object of the claims).
    pub fn verify_into<S: ClaimSink>(
        &self,
        token: &str,
        validation: &Validation,
        now: u64,
        sink: &mut S,
    ) -> Result<Claims> {
        let parts = self.check_signature(
            token,
            validation.max_token_bytes,
            &validation.algorithms,
            validation.token_type.as_deref(),
        )?;
        let payload = decode_json_text(parts.payload, "payload")?;
        claims::validate_into(payload, validation, now, sink)
    }

    /// Verifies only the signature of a compact JWS whose payload need not be JWT claims
    /// (same header, algorithm and key rules as [`KeySet::verify`]).
    pub fn verify_jws(&self, token: &str, algorithms: &[Algorithm]) -> Result<Jws> {
        let parts = self.check_signature(token, DEFAULT_MAX_TOKEN_BYTES, algorithms, None)?;
        let header =
            serde_json::from_str(&decode_json_text(parts.header, "header")?).map_err(|_| {
                Error::new(ErrorKind::MalformedToken, "the header is not a JSON object")
            })?;
        Ok(Jws {
            header,
            payload: decode_part(parts.payload, "payload")?,
        })
    }

    /// Signs `claims` with the active key. `typ` defaults to `JWT`.
    pub fn sign(&self, claims: &Map<String, Value>, typ: Option<&str>) -> Result<String> {
        let key = self.active_key()?;
        sign_with(&key, claims, typ)
    }
}

/// Signs `claims` with `key`, writing `alg`, `typ` and `kid` into the header.
pub fn sign_with(key: &Key, claims: &Map<String, Value>, typ: Option<&str>) -> Result<String> {
    claims::check_before_signing(claims)?;
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(key.algorithm().name()));
    header.insert("typ".into(), Value::from(typ.unwrap_or("JWT")));
    if let Some(kid) = key.kid() {
        header.insert("kid".into(), Value::from(kid));
    }
    let encode = |v: &Map<String, Value>| {
        serde_json::to_vec(v)
            .map_err(|_| Error::new(ErrorKind::InvalidClaim, "claims are not JSON"))
    };
    let mut token = String::with_capacity(256);
    b64url_encode_into(&encode(&header)?, &mut token);
    token.push('.');
    b64url_encode_into(&encode(claims)?, &mut token);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    b64url_encode_into(&signature, &mut token);
    Ok(token)
}

/// Reads a token's header and claims WITHOUT verifying anything — for display and
/// for deciding when to refresh on a client. Never use the result for authorization.
pub fn peek_unverified(token: &str) -> Result<(Map<String, Value>, Claims)> {
    let parts = split(token, DEFAULT_MAX_TOKEN_BYTES)?;
    let header: Map<String, Value> =
        serde_json::from_str(&decode_json_text(parts.header, "header")?).map_err(|_| {
            Error::new(ErrorKind::MalformedToken, "the header is not a JSON object")
        })?;
    let claims = claims::peek(decode_json_text(parts.payload, "payload")?)?;
    Ok((header, claims))
}
