//! One function per parser of untrusted input. Each takes any bytes and must return
//! without panicking, hanging or allocating without bound; where a result can be checked
//! against another path (a round trip, an unchanged input), it is. Used by the cargo-fuzz
//! targets (fuzz/fuzz_targets) and, over the committed corpora, by
//! core/tests/fuzz_corpus.rs in `make test`.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use authgate_core::allowlist::{
    parse_ip, parse_network, Allowlist, ClientIpResolver, ForwardedHeader,
};
use authgate_core::apikey;
use authgate_core::clock::ManualClock;
use authgate_core::jwt::{peek_unverified, Algorithm, Key, KeySet, KeyStatus, Validation};
use authgate_core::otp::{base32_decode, base32_encode, OtpUri};
use authgate_core::pop::{
    certificate_thumbprint, jwk_thumbprint, DpopPolicy, DpopRequest, DpopVerifier,
};
use authgate_core::signature::{
    self, KeyMap, Request, RequestVerifier, SignatureKey, VerifyPolicy,
};
use authgate_core::store::MemoryStore;
use authgate_core::webhook::{WebhookKey, WebhookVerifier};

/// The time every target checks at (the vectors' usual "now").
pub const NOW: u64 = 1_700_000_000;

/// A target: any bytes in, nothing out (it panics on a failed check).
pub type Target = fn(&[u8]);

/// The names of the targets, as the corpus folders and fuzz_targets files are named.
pub const TARGETS: &[(&str, Target)] = &[
    ("jwt", jwt),
    ("jwks", jwks),
    ("http_signature", http_signature),
    ("webhook", webhook),
    ("otpauth_uri", otpauth_uri),
    ("base32", base32),
    ("api_key", api_key),
    ("forwarded", forwarded),
    ("dpop", dpop),
];

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Splits `data` into `n` fields at newlines (the last takes the rest).
fn fields(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = data.splitn(n, |&b| b == b'\n').collect();
    out.resize(n, &[]);
    out
}

fn jwt_keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let set = KeySet::new();
        // The keys the vectors' tokens are signed with are not needed: any token reaching
        // the signature check exercises every parser before it.
        set.add(
            Key::hmac(Some("hs"), Algorithm::HS256, &[7u8; 32]).unwrap(),
            KeyStatus::VerifyOnly,
        )
        .unwrap();
        for alg in [Algorithm::ES256, Algorithm::EdDSA] {
            let pem = Key::generate_pem(alg).unwrap();
            set.add(
                Key::from_pem(Some(alg.name()), alg, &pem).unwrap(),
                KeyStatus::VerifyOnly,
            )
            .unwrap();
        }
        set
    })
}

/// JWT decode and verify: header and payload parsing, claims checks, the JWS path.
pub fn jwt(data: &[u8]) {
    let token = text(data);
    let keys = jwt_keys();
    let validation = Validation {
        audiences: vec!["api".into()],
        ..Validation::default()
    };
    if let Ok(claims) = keys.verify_at(&token, &validation, NOW) {
        // Only a token signed with one of the keys above can verify.
        let _ = claims.to_map();
    }
    let _ = keys.verify_jws(&token, &[]);
    if let Ok((_header, claims)) = peek_unverified(&token) {
        let _ = claims.get("exp");
    }
    let _ = authgate_core::client_token::needs_refresh(&token, NOW, 30);
    let _ = authgate_core::http::bearer_token(&token);
}

/// JWKS and single-JWK import.
pub fn jwks(data: &[u8]) {
    let json = text(data);
    let set = KeySet::new();
    if let Ok(kids) = set.import_jwks(&json) {
        // What was imported is listed and exports again.
        assert!(set.list().len() >= kids.len().min(1) || kids.is_empty());
        let _ = set.jwks();
    }
    for alg in [
        None,
        Some(Algorithm::RS256),
        Some(Algorithm::ES256),
        Some(Algorithm::EdDSA),
    ] {
        let _ = Key::from_jwk_json(&json, alg);
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn request_verifier() -> &'static RequestVerifier {
    static VERIFIER: OnceLock<RequestVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        // The keys of RFC 9421's examples and of the conformance vectors, so seeds taken
        // from them get through the signature check to what lies behind it.
        let keys = KeyMap::new();
        let rfc_secret = "bb3bc97c1e2edcdd09cb84fb359ef930355cafccd24c89de749b6481cbb8e985\
                          b85c1cb33498f105db635247493c1b5b9878480e2ea9725f23b1ab2395332d0d";
        let rfc_secret: String = rfc_secret.split_whitespace().collect();
        keys.insert("test-shared-secret", SignatureKey::hmac_sha256(&hex(&rfc_secret)).unwrap());
        keys.insert("client-1", SignatureKey::hmac_sha256(b"authgate-conformance-secret-0001").unwrap());
        let ed = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n";
        keys.insert("test-key-ed25519", SignatureKey::ed25519_pem(ed).unwrap());
        keys.insert("client-ed", SignatureKey::ed25519_pem(ed).unwrap());
        RequestVerifier::with_clock(
            Arc::new(keys),
            // Bounded: only a genuinely signed request records its nonce.
            Arc::new(MemoryStore::with_capacity(1024)),
            VerifyPolicy {
                require_nonce: false,
                require_keyid: false,
                require_digest_with_body: false,
                required_components: Vec::new(),
                require_query_when_present: false,
                // Ten years: the RFC examples are from 2021.
                max_skew: 315_360_000,
                max_future_skew: 315_360_000,
                ..VerifyPolicy::default()
            },
            Arc::new(ManualClock::new(NOW)),
        )
    })
}

/// A request in HTTP's own shape: `METHOD URL`, header lines `Name: value`, an empty
/// line, the body; its `Signature-Input`, `Signature` and `Content-Digest` are parsed
/// and verified, and every derived component is computed.
pub fn http_signature(data: &[u8]) {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let head = text(head);
    let mut lines = head.lines();
    let first = lines.next().unwrap_or_default();
    let (method, url) = first.split_once(' ').unwrap_or(("POST", first));
    let headers: Vec<(&str, &str)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim(), v.trim()))
        .collect();
    for (name, value) in &headers {
        if name.eq_ignore_ascii_case("content-digest") {
            let _ = signature::verify_content_digest(value, body);
        }
    }
    let Ok(req) = Request::from_message(method, url, headers.iter().copied(), body) else {
        return;
    };
    let _ = request_verifier().verify(&req);
    for name in [
        "@method",
        "@authority",
        "@path",
        "@query",
        "@target-uri",
        "@scheme",
        "@request-target",
    ] {
        let _ = req.derived(name);
    }
}

/// Standard Webhooks headers and keys. Fields: key, id, timestamp, signature, payload.
pub fn webhook(data: &[u8]) {
    let f = fields(data, 5);
    let key = text(f[0]);
    let _ = WebhookKey::parse(&key);
    let fixed = WebhookKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let verifier =
        WebhookVerifier::with_clock(vec![fixed], None, Arc::new(ManualClock::new(NOW))).unwrap();
    let (id, ts, sig) = (text(f[1]), text(f[2]), text(f[3]));
    let _ = verifier.verify(&id, &ts, &sig, f[4]);
    let headers = [
        ("webhook-id", &*id),
        ("webhook-timestamp", &*ts),
        ("webhook-signature", &*sig),
    ];
    let _ = verifier.verify_headers(&headers, f[4]);
}

/// `otpauth://` URIs; a parsed URI prints back to one that parses the same.
pub fn otpauth_uri(data: &[u8]) {
    let uri = text(data);
    for allow_short in [false, true] {
        if let Ok(parsed) = OtpUri::parse(&uri, allow_short) {
            let again = OtpUri::parse(&parsed.to_uri(), allow_short).expect("a printed URI parses");
            assert_eq!(again.to_uri(), parsed.to_uri());
            let _ = parsed.to_totp();
            let _ = parsed.to_hotp();
        }
    }
}

/// Tolerant base32: whatever decodes encodes back to the same bytes.
pub fn base32(data: &[u8]) {
    if let Ok(bytes) = base32_decode(&text(data)) {
        assert_eq!(base32_decode(&base32_encode(&bytes)).unwrap(), bytes);
    }
}

/// API-key parsing (prefix, id, secret, checksum).
pub fn api_key(data: &[u8]) {
    let key = text(data);
    if let Ok(parsed) = apikey::parse(&key) {
        assert!(key.starts_with(&parsed.prefix) && key.ends_with(&parsed.last_four));
    }
}

/// Client IPs behind proxies (`X-Forwarded-For`, `Forwarded`), addresses and networks.
/// Fields: peer, header value, allowlist entry.
pub fn forwarded(data: &[u8]) {
    let f = fields(data, 3);
    let (peer, value, entry) = (text(f[0]), text(f[1]), text(f[2]));
    let _ = parse_ip(&peer);
    let _ = parse_network(&entry);
    if let Ok(list) = Allowlist::new(&[&*entry]) {
        if let Ok(ip) = parse_ip(&peer) {
            let _ = list.contains(ip);
        }
    }
    let peer: IpAddr = parse_ip(&peer).unwrap_or_else(|_| "10.0.0.1".parse().unwrap());
    for header in [ForwardedHeader::XForwardedFor, ForwardedHeader::Forwarded] {
        let resolver = ClientIpResolver::new(&["10.0.0.0/8", "2001:db8::/32"], header).unwrap();
        let _ = resolver.resolve(peer, &[&value]);
        let _ = resolver.resolve(peer, &[&value, &value]);
    }
}

/// DPoP proofs (RFC 9449), JWK thumbprints and client certificates. Fields: method, URI,
/// proof (also read as a certificate and as a JWK).
pub fn dpop(data: &[u8]) {
    let f = fields(data, 3);
    let (method, uri, proof) = (text(f[0]), text(f[1]), text(f[2]));
    let verifier = DpopVerifier::with_clock(
        Arc::new(MemoryStore::new()),
        DpopPolicy::default(),
        Arc::new(ManualClock::new(NOW)),
    );
    let request = DpopRequest {
        proof: &proof,
        method: &method,
        uri: &uri,
        ..DpopRequest::default()
    };
    if let Ok(ok) = verifier.verify_request(&request) {
        // The thumbprint is the one of the header's key, and the proof is good once.
        let (header, _) = peek_unverified(&proof).unwrap();
        let jwk = header["jwk"].as_object().unwrap();
        assert_eq!(ok.jkt, jwk_thumbprint(jwk).unwrap());
        assert!(verifier.verify_request(&request).is_err());
    }
    let _ = certificate_thumbprint(f[2]);
    let _ = certificate_thumbprint(data);
    if let Ok(serde_json::Value::Object(jwk)) = serde_json::from_slice(data) {
        let _ = jwk_thumbprint(&jwk);
    }
}
