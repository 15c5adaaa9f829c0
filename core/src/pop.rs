//! Proof of possession: tokens bound to a key the caller must show it holds.
//!
//! - JWK thumbprints (RFC 7638), the name DPoP binds tokens to (`cnf.jkt`).
//! - DPoP proofs (RFC 9449): a JWT the client signs per request with the key whose
//!   thumbprint the access token carries; checked against the request's method and URI,
//!   its age, the access token's hash (`ath`), an optional server nonce, and used once.
//! - Certificate-bound tokens (RFC 8705): `cnf.x5t#S256`, the SHA-256 of the client's TLS
//!   certificate, as the TLS terminator passes it on (PEM, URL-encoded PEM, or DER).

use std::sync::Arc;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::clock::{Clock, SystemClock};
use crate::error::{err, Error, ErrorKind, Result};
use crate::jwt::{peek_unverified, Algorithm, Claims, Key, KeySet, KeyStatus};
use crate::store::Store;
use crate::util::{b64url_encode, ct_eq};

/// The RFC 7638 thumbprint of a public JWK: base64url(SHA-256) of its required members in
/// lexicographic order, without whitespace.
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Result<String> {
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or_default();
    let members: &[&str] = match kty {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => {
            return err(
                ErrorKind::InvalidKey,
                "a thumbprint needs an EC, RSA or OKP public key",
            )
        }
    };
    // serde_json writes strings escaped as RFC 7638 requires (its members are base64url
    // and names, which need no escaping).
    let mut canonical = String::from("{");
    for (i, name) in members.iter().enumerate() {
        let Some(Value::String(value)) = jwk.get(*name) else {
            return err(ErrorKind::InvalidKey, format!("the JWK has no `{name}`"));
        };
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&Value::String((*name).to_string()).to_string());
        canonical.push(':');
        canonical.push_str(&Value::String(value.clone()).to_string());
    }
    canonical.push('}');
    Ok(b64url_encode(&Sha256::digest(canonical.as_bytes())))
}

/// [`jwk_thumbprint`] of a JWK given as JSON text.
pub fn jwk_thumbprint_json(jwk: &str) -> Result<String> {
    match serde_json::from_str(jwk) {
        Ok(Value::Object(jwk)) => jwk_thumbprint(&jwk),
        _ => err(ErrorKind::InvalidKey, "a JWK is a JSON object"),
    }
}

/// The thumbprint of `key`'s public half (`None` for an HMAC secret).
pub fn key_thumbprint(key: &Key) -> Option<String> {
    key.public_jwk().and_then(|jwk| jwk_thumbprint(&jwk).ok())
}

/// The longest certificate accepted, as PEM or DER.
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;

/// The RFC 8705 `x5t#S256` of a client certificate: base64url(SHA-256 of its DER). Takes
/// PEM, URL-encoded PEM (nginx's `$ssl_client_escaped_cert`, Envoy's
/// `x-forwarded-client-cert` `Cert=`), or DER.
pub fn certificate_thumbprint(cert: &[u8]) -> Result<String> {
    if cert.len() > MAX_CERTIFICATE_BYTES {
        return err(ErrorKind::InvalidInput, "the certificate is too large");
    }
    let der = if cert.first() == Some(&0x30) {
        cert.to_vec()
    } else {
        let text = std::str::from_utf8(cert).or_else(|_| {
            err(
                ErrorKind::InvalidInput,
                "the certificate is neither DER nor PEM",
            )
        })?;
        let text = if text.contains("%2") || text.contains("%0A") || text.contains("%20") {
            crate::util::percent_decode(text.trim_matches('"'), "certificate")?
        } else {
            text.to_string()
        };
        let (label, der) = crate::jwt::parse_pem_block(&text).map_err(|_| {
            Error::new(
                ErrorKind::InvalidInput,
                "the certificate is neither DER nor PEM",
            )
        })?;
        if label != "CERTIFICATE" {
            return err(
                ErrorKind::InvalidInput,
                "the PEM block is not a CERTIFICATE",
            );
        }
        der
    };
    if der.len() < 16 || der[0] != 0x30 {
        return err(
            ErrorKind::InvalidInput,
            "the certificate is not a DER SEQUENCE",
        );
    }
    Ok(b64url_encode(&Sha256::digest(&der)))
}

/// The `cnf` member `name` of verified claims, if any.
fn confirmation(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims
        .get("cnf")
        .and_then(|cnf| cnf.get(name).and_then(Value::as_str).map(str::to_owned))
}

/// Checks that verified access-token claims are bound (`cnf.x5t#S256`) to the client
/// certificate the TLS terminator passed on.
pub fn check_certificate_binding(claims: &Claims, cert: &[u8]) -> Result<()> {
    check_certificate_binding_of(&claims.to_map(), cert)
}

/// [`check_certificate_binding`] for claims already held as a JSON object (bindings).
pub fn check_certificate_binding_of(claims: &Map<String, Value>, cert: &[u8]) -> Result<()> {
    let Some(bound) = confirmation(claims, "x5t#S256") else {
        return err(
            ErrorKind::MissingClaim,
            "the token is not bound to a certificate (no cnf.x5t#S256)",
        );
    };
    let presented = certificate_thumbprint(cert)?;
    if !ct_eq(bound.as_bytes(), presented.as_bytes()) {
        return err(
            ErrorKind::InvalidClaim,
            "the token is bound to another client certificate",
        );
    }
    Ok(())
}

/// A verified DPoP proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopProof {
    /// The thumbprint of the proof's key: what `cnf.jkt` must equal.
    pub jkt: String,
    pub jti: String,
    pub iat: u64,
}

/// How DPoP proofs are checked.
#[derive(Debug, Clone)]
pub struct DpopPolicy {
    /// How old a proof may be, in seconds (default 300).
    pub max_age: u64,
    /// How far in the future `iat` may be (clock skew), in seconds (default 5).
    pub leeway: u64,
    /// The nonce the server last gave out (RFC 9449 §8); `None` to not require one.
    pub nonce: Option<String>,
    /// Accepted algorithms; asymmetric only (default ES256, ES384, EdDSA, RS256, PS256).
    pub algorithms: Vec<Algorithm>,
}

impl Default for DpopPolicy {
    fn default() -> Self {
        DpopPolicy {
            max_age: 300,
            leeway: 5,
            nonce: None,
            algorithms: vec![
                Algorithm::ES256,
                Algorithm::ES384,
                Algorithm::EdDSA,
                Algorithm::RS256,
                Algorithm::PS256,
            ],
        }
    }
}

/// The longest DPoP proof accepted, in bytes (an RSA key in the header makes it long).
pub const MAX_PROOF_BYTES: usize = 8 * 1024;
const MAX_JTI_BYTES: usize = 256;

/// Verifies DPoP proofs, each `jti` once (through the store, so across servers with Redis).
pub struct DpopVerifier {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    policy: DpopPolicy,
}

/// The `htu` form of a URI: scheme and host lower-cased, default port dropped, no query
/// or fragment (RFC 9449 §4.3, RFC 3986 §6.2.2-3).
fn normalize_htu(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let mut authority = authority.to_ascii_lowercase();
    for default in [(":443", "https"), (":80", "http")] {
        if scheme == default.1 && authority.ends_with(default.0) {
            authority.truncate(authority.len() - default.0.len());
        }
    }
    Some(format!("{scheme}://{authority}{path}"))
}

fn claim_str<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    match claims.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => err(
            ErrorKind::InvalidClaim,
            format!("`{name}` must be a string"),
        ),
        None => err(
            ErrorKind::MissingClaim,
            format!("the DPoP proof has no `{name}`"),
        ),
    }
}

impl DpopVerifier {
    pub fn new(store: Arc<dyn Store>, policy: DpopPolicy) -> Self {
        DpopVerifier::with_clock(store, policy, Arc::new(SystemClock))
    }

    pub fn with_clock(store: Arc<dyn Store>, policy: DpopPolicy, clock: Arc<dyn Clock>) -> Self {
        DpopVerifier {
            store,
            clock,
            policy,
        }
    }

    /// Verifies the `DPoP` header `proof` for a request of `method` to `uri` (absolute),
    /// with `access_token` when one is presented beside it (its hash must be the proof's
    /// `ath`). The proof's `jti` is then used up.
    pub fn verify(
        &self,
        proof: &str,
        method: &str,
        uri: &str,
        access_token: Option<&str>,
    ) -> Result<DpopProof> {
        self.check(
            proof,
            method,
            uri,
            access_token,
            self.policy.nonce.as_deref(),
        )
    }

    /// The nonce proofs must carry (RFC 9449 §8), when the policy sets one: what a
    /// `use_dpop_nonce` refusal sends in its `DPoP-Nonce` header.
    pub fn nonce(&self) -> Option<&str> {
        self.policy.nonce.as_deref()
    }

    /// Verifies a request's proof as [`DpopRequest`] describes it: with the access token's
    /// verified claims, also that the token is bound to the proof's key (`cnf.jkt`); with a
    /// nonce, that the proof carries it (else `use_dpop_nonce`).
    pub fn verify_request(&self, request: &DpopRequest<'_>) -> Result<DpopProof> {
        let nonce = request.nonce.or(self.policy.nonce.as_deref());
        let Some(claims) = request.access_claims else {
            return self.check(
                request.proof,
                request.method,
                request.uri,
                request.access_token,
                nonce,
            );
        };
        let Some(bound) = confirmation(claims, "jkt") else {
            return err(
                ErrorKind::MissingClaim,
                "the access token is not DPoP-bound (no cnf.jkt)",
            );
        };
        let Some(token) = request.access_token else {
            return err(
                ErrorKind::InvalidInput,
                "checking a DPoP binding needs the access token itself (for ath)",
            );
        };
        let verified = self.check(
            request.proof,
            request.method,
            request.uri,
            Some(token),
            nonce,
        )?;
        if !ct_eq(bound.as_bytes(), verified.jkt.as_bytes()) {
            return err(
                ErrorKind::InvalidClaim,
                "the access token is bound to another key",
            );
        }
        Ok(verified)
    }

    fn check(
        &self,
        proof: &str,
        method: &str,
        uri: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<DpopProof> {
        if proof.len() > MAX_PROOF_BYTES {
            return err(ErrorKind::TokenTooLarge, "the DPoP proof is too large");
        }
        let (header, _) = peek_unverified(proof)?;
        let typ = header
            .get("typ")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !typ.eq_ignore_ascii_case("dpop+jwt") {
            return err(ErrorKind::InvalidTokenType, "a DPoP proof has typ dpop+jwt");
        }
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(|a| a.parse::<Algorithm>().ok())
            .filter(|a| a.in_list(&self.policy.algorithms) && !a.name().starts_with("HS"))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::AlgorithmNotAllowed,
                    "the DPoP proof's algorithm is not an allowed asymmetric one",
                )
            })?;
        let Some(Value::Object(jwk)) = header.get("jwk") else {
            return err(ErrorKind::InvalidKey, "the DPoP proof has no jwk header");
        };
        if ["d", "p", "q", "dp", "dq", "qi", "k"]
            .iter()
            .any(|m| jwk.contains_key(*m))
        {
            return err(
                ErrorKind::InvalidKey,
                "the DPoP proof's jwk holds private key material",
            );
        }
        let key = Key::from_jwk_for_one_use(jwk, Some(alg))?;
        let jkt = jwk_thumbprint(jwk)?;
        let keys = KeySet::new();
        keys.add(key, KeyStatus::VerifyOnly)?;
        let jws = keys.verify_jws(proof, &[alg])?;
        let claims: Map<String, Value> = serde_json::from_slice(&jws.payload).or_else(|_| {
            err(
                ErrorKind::MalformedToken,
                "the DPoP proof's payload is not a JSON object",
            )
        })?;

        let jti = claim_str(&claims, "jti")?;
        if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
            return err(
                ErrorKind::InvalidClaim,
                "the DPoP proof's jti must be 1 to 256 bytes",
            );
        }
        if claim_str(&claims, "htm")? != method {
            return err(
                ErrorKind::InvalidClaim,
                "the DPoP proof is for another HTTP method",
            );
        }
        let htu = claim_str(&claims, "htu")?;
        match (normalize_htu(htu), normalize_htu(uri)) {
            (Some(a), Some(b)) if a == b => {}
            (_, None) => {
                return err(
                    ErrorKind::InvalidInput,
                    "the request URI is not an absolute http(s) URI",
                )
            }
            _ => return err(ErrorKind::InvalidClaim, "the DPoP proof is for another URI"),
        }
        let iat = match claims.get("iat") {
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidClaim,
                    "`iat` must be a whole number of seconds",
                )
            })?,
            Some(_) => return err(ErrorKind::InvalidClaim, "`iat` must be a number"),
            None => return err(ErrorKind::MissingClaim, "the DPoP proof has no `iat`"),
        };
        let now = self.clock.now();
        if iat > now.saturating_add(self.policy.leeway) {
            return err(
                ErrorKind::TokenNotYetValid,
                "the DPoP proof is from the future",
            );
        }
        if now.saturating_sub(iat) > self.policy.max_age {
            return err(ErrorKind::TokenExpired, "the DPoP proof is too old");
        }
        if let Some(expected) = nonce {
            let presented = claims
                .get("nonce")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !ct_eq(presented.as_bytes(), expected.as_bytes()) {
                return err(
                    ErrorKind::UseDpopNonce,
                    "the DPoP proof lacks the server's current nonce",
                );
            }
        }
        if let Some(token) = access_token {
            let ath = claims
                .get("ath")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let expected = b64url_encode(&Sha256::digest(token.as_bytes()));
            if !ct_eq(ath.as_bytes(), expected.as_bytes()) {
                return err(
                    ErrorKind::InvalidClaim,
                    "the DPoP proof's ath is not the access token's hash",
                );
            }
        }
        // Used once: remembered until it could no longer pass the age check.
        // The age check accepts `now - iat == max_age`: keep the jti one second past that,
        // whatever the leeway (with leeway 0 it was dropped at once and replayable).
        let until = iat.saturating_add(self.policy.max_age).saturating_add(1);
        if !self
            .store
            .nonce_insert(&format!("dpop:{jkt}"), jti, until, now)?
        {
            return err(
                ErrorKind::ReplayDetected,
                "this DPoP proof was already used",
            );
        }
        Ok(DpopProof {
            jkt,
            jti: jti.to_string(),
            iat,
        })
    }

    /// Verifies the proof and that the access token's verified claims are bound to its key
    /// (`cnf.jkt`).
    pub fn verify_bound(
        &self,
        proof: &str,
        method: &str,
        uri: &str,
        access_token: &str,
        access_claims: &Claims,
    ) -> Result<DpopProof> {
        self.verify_request(&DpopRequest {
            proof,
            method,
            uri,
            access_token: Some(access_token),
            access_claims: Some(&access_claims.to_map()),
            nonce: None,
        })
    }
}

/// What [`DpopVerifier::verify_request`] checks a proof against.
#[derive(Debug, Clone, Copy, Default)]
pub struct DpopRequest<'a> {
    /// The `DPoP` header.
    pub proof: &'a str,
    /// The request's method, e.g. `POST`.
    pub method: &'a str,
    /// The request's absolute URI as the client addressed it.
    pub uri: &'a str,
    /// The access token from `Authorization: DPoP <token>`, when one came with the proof.
    pub access_token: Option<&'a str>,
    /// The access token's verified claims, to check its `cnf.jkt` binding.
    pub access_claims: Option<&'a Map<String, Value>>,
    /// The nonce the server currently requires (overrides the policy's).
    pub nonce: Option<&'a str>,
}

/// A fresh server nonce for DPoP (RFC 9449 §8): 128 random bits, base64url.
pub fn generate_nonce() -> Result<String> {
    let mut bytes = [0u8; 16];
    crate::util::random_bytes(&mut bytes)?;
    Ok(b64url_encode(&bytes))
}

/// Creates the DPoP proof a client sends in the `DPoP` header (RFC 9449 §4): signed by
/// `key` (an asymmetric private key), for `method` and `uri` (query and fragment left out),
/// at `now`, with `ath` when `access_token` is given and the server's `nonce` if it sent one.
pub fn create_proof(
    key: &Key,
    method: &str,
    uri: &str,
    access_token: Option<&str>,
    nonce: Option<&str>,
    now: u64,
) -> Result<String> {
    if !key.can_sign() || key.algorithm().name().starts_with("HS") {
        return err(
            ErrorKind::InvalidKey,
            "a DPoP proof is signed with an asymmetric private key",
        );
    }
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return err(ErrorKind::InvalidInput, "the HTTP method must be letters");
    }
    let Some(htu) = normalize_htu(uri) else {
        return err(
            ErrorKind::InvalidInput,
            "the request URI is not an absolute http(s) URI",
        );
    };
    // The jwk header carries the public key's members only (RFC 9449 §4.2).
    let mut jwk = key
        .public_jwk()
        .ok_or_else(|| Error::new(ErrorKind::InvalidKey, "the key has no public half"))?;
    jwk.retain(|name, _| matches!(name.as_str(), "kty" | "crv" | "x" | "y" | "n" | "e"));
    let header = serde_json::json!({"typ": "dpop+jwt", "alg": key.algorithm().name(), "jwk": jwk});
    let mut jti = [0u8; 16];
    crate::util::random_bytes(&mut jti)?;
    let mut claims = serde_json::json!({
        "jti": b64url_encode(&jti),
        "htm": method,
        "htu": htu,
        "iat": now,
    });
    if let Some(token) = access_token {
        claims["ath"] = Value::String(b64url_encode(&Sha256::digest(token.as_bytes())));
    }
    if let Some(nonce) = nonce {
        claims["nonce"] = Value::String(nonce.to_string());
    }
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(claims.to_string().as_bytes())
    );
    let signature = key.sign(input.as_bytes())?;
    Ok(format!("{input}.{}", b64url_encode(&signature)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let jwk: Map<String, Value> = serde_json::from_str(r#"{
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }"#).unwrap();
        assert_eq!(
            jwk_thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let text = Value::Object(jwk).to_string();
        assert_eq!(
            jwk_thumbprint_json(&text).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let e = jwk_thumbprint_json("[1]").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidKey);
    }

    #[test]
    fn htu_ignores_query_fragment_case_and_default_ports() {
        let n = |u| normalize_htu(u).unwrap();
        assert_eq!(
            n("HTTPS://Server.Example.com:443/token?x=1#f"),
            "https://server.example.com/token"
        );
        assert_eq!(
            n("https://server.example.com"),
            "https://server.example.com/"
        );
        assert_ne!(
            n("https://server.example.com/Token"),
            n("https://server.example.com/token")
        );
        assert_ne!(
            n("https://server.example.com:8443/t"),
            n("https://server.example.com/t")
        );
        assert!(normalize_htu("ftp://x/").is_none() && normalize_htu("https://u@x/").is_none());
    }
}
