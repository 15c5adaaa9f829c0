//! Webhook signatures per the Standard Webhooks specification: `webhook-id`,
//! `webhook-timestamp` and `webhook-signature` over `{id}.{timestamp}.{payload}`, with
//! symmetric `v1` (HMAC-SHA256, `whsec_` secrets) and asymmetric `v1a` (Ed25519, `whsk_`
//! secret keys and `whpk_` public keys). Several signatures in one header allow key
//! rotation; ids go through the [`Store`] so a redelivered webhook is recognised.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::clock::{Clock, SystemClock};
use crate::error::{err, Error, ErrorKind, Result};
use crate::jwt::Key;
use crate::store::Store;
use crate::util::{ct_eq, random_bytes};

/// Default tolerance between `webhook-timestamp` and now, either way (spec: 5 minutes).
pub const DEFAULT_TOLERANCE: u64 = 300;
/// Default time a seen `webhook-id` is remembered, to recognise redeliveries.
pub const DEFAULT_ID_RETENTION: u64 = 3600;
/// Largest `webhook-signature` header accepted, and most signatures tried from it.
pub const MAX_SIGNATURE_HEADER_BYTES: usize = 8 * 1024;
pub const MAX_SIGNATURES: usize = 16;
/// Largest `webhook-id` accepted.
pub const MAX_ID_BYTES: usize = 256;
/// Symmetric secrets: at least 24 bytes, at most 64 (spec: 192 to 512 bits).
pub const MIN_SECRET_BYTES: usize = 24;
pub const MAX_SECRET_BYTES: usize = 64;

const SECRET_PREFIX: &str = "whsec_";
const PRIVATE_PREFIX: &str = "whsk_";
const PUBLIC_PREFIX: &str = "whpk_";

enum Material {
    Secret(Hmac<Sha256>),
    /// Ed25519; the key knows whether it holds the private half.
    Ed25519(Key),
}

/// A `whsec_` secret, a `whsk_` Ed25519 secret key or a `whpk_` Ed25519 public key.
pub struct WebhookKey {
    material: Material,
}

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookKey")
            .field("version", &self.version())
            .field("can_sign", &self.can_sign())
            .finish()
    }
}

fn decode_b64(text: &str, what: &str) -> Result<Vec<u8>> {
    STANDARD
        .decode(text.trim())
        .map_err(|_| Error::new(ErrorKind::InvalidKey, format!("{what} is not valid base64")))
}

impl WebhookKey {
    /// Parses a key as the spec serialises it. A bare base64 string (no prefix) is read
    /// as a `whsec_` secret, as the reference libraries do.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if let Some(b64) = text.strip_prefix(PUBLIC_PREFIX) {
            let raw = decode_b64(b64, "the whpk_ key")?;
            return Ok(WebhookKey {
                material: Material::Ed25519(Key::ed25519_from_public(None, &raw)?),
            });
        }
        if let Some(b64) = text.strip_prefix(PRIVATE_PREFIX) {
            let raw = decode_b64(b64, "the whsk_ key")?;
            // A 32-byte seed, or the 64-byte seed‖public form of libsodium and Go.
            let key = match raw.len() {
                32 => Key::ed25519_from_seed(None, &raw)?,
                64 => {
                    let key = Key::ed25519_from_seed(None, &raw[..32])?;
                    if key.ed25519_public_bytes() != Some(&raw[32..]) {
                        return err(
                            ErrorKind::InvalidKey,
                            "the whsk_ key's public half does not match its seed",
                        );
                    }
                    key
                }
                _ => {
                    return err(
                        ErrorKind::InvalidKey,
                        "a whsk_ key is a 32-byte seed or a 64-byte seed and public key",
                    )
                }
            };
            return Ok(WebhookKey {
                material: Material::Ed25519(key),
            });
        }
        let b64 = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        let secret = decode_b64(b64, "the whsec_ secret")?;
        WebhookKey::from_secret_bytes(&secret)
    }

    /// A symmetric key from raw secret bytes (24 to 64).
    pub fn from_secret_bytes(secret: &[u8]) -> Result<Self> {
        if secret.len() < MIN_SECRET_BYTES {
            return err(
                ErrorKind::WeakKey,
                format!("webhook secrets must be at least {MIN_SECRET_BYTES} bytes"),
            );
        }
        if secret.len() > MAX_SECRET_BYTES {
            return err(
                ErrorKind::InvalidKey,
                format!("webhook secrets must be at most {MAX_SECRET_BYTES} bytes"),
            );
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|_| Error::new(ErrorKind::InvalidKey, "invalid webhook secret"))?;
        Ok(WebhookKey {
            material: Material::Secret(mac),
        })
    }

    /// A new `whsec_` secret (32 bytes from the OS CSPRNG).
    pub fn generate_secret() -> Result<String> {
        let mut raw = [0u8; 32];
        random_bytes(&mut raw)?;
        Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(raw)))
    }

    /// A new Ed25519 key pair as (`whsk_…`, `whpk_…`). The secret key is written as the
    /// 64-byte seed‖public form, which libsodium and Go read directly.
    pub fn generate_keypair() -> Result<(String, String)> {
        let mut seed = [0u8; 32];
        random_bytes(&mut seed)?;
        let key = Key::ed25519_from_seed(None, &seed)?;
        let public = key
            .ed25519_public_bytes()
            .ok_or_else(|| Error::new(ErrorKind::Internal, "no public key"))?
            .to_vec();
        let mut full = seed.to_vec();
        full.extend_from_slice(&public);
        Ok((
            format!("{PRIVATE_PREFIX}{}", STANDARD.encode(full)),
            format!("{PUBLIC_PREFIX}{}", STANDARD.encode(public)),
        ))
    }

    /// `v1` for secrets, `v1a` for Ed25519 keys.
    pub fn version(&self) -> &'static str {
        match self.material {
            Material::Secret(_) => "v1",
            Material::Ed25519(_) => "v1a",
        }
    }

    pub fn can_sign(&self) -> bool {
        match &self.material {
            Material::Secret(_) => true,
            Material::Ed25519(key) => key.can_sign(),
        }
    }

    /// The `whpk_` public key of an Ed25519 key; `None` for secrets.
    pub fn public_key(&self) -> Option<String> {
        match &self.material {
            Material::Secret(_) => None,
            Material::Ed25519(key) => key
                .ed25519_public_bytes()
                .map(|p| format!("{PUBLIC_PREFIX}{}", STANDARD.encode(p))),
        }
    }

    fn sign(&self, content: &[u8]) -> Result<String> {
        let raw = match &self.material {
            Material::Secret(mac) => {
                let mut m = mac.clone();
                m.update(content);
                m.finalize().into_bytes().to_vec()
            }
            Material::Ed25519(key) => key.sign(content)?,
        };
        Ok(format!("{},{}", self.version(), STANDARD.encode(raw)))
    }
}

#[cfg(test)]
thread_local! {
    /// HMAC tags computed by `verify` on this thread (for the test of item #18.8).
    static MACS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The HMAC-SHA256 tag of `content` under a prepared key.
fn hmac_tag(mac: &Hmac<Sha256>, content: &[u8]) -> [u8; 32] {
    #[cfg(test)]
    MACS.with(|n| n.set(n.get() + 1));
    let mut m = mac.clone();
    m.update(content);
    let mut tag = [0u8; 32];
    tag.copy_from_slice(&m.finalize().into_bytes());
    tag
}

fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_BYTES || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return err(
            ErrorKind::MalformedSignature,
            format!("webhook-id must be 1 to {MAX_ID_BYTES} printable ASCII characters"),
        );
    }
    Ok(())
}

fn signed_content(id: &str, timestamp: u64, payload: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(id.len() + 22 + payload.len());
    content.extend_from_slice(id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.to_string().as_bytes());
    content.push(b'.');
    content.extend_from_slice(payload);
    content
}

/// The `webhook-signature` value for a message: one signature per key, space-separated.
/// Ids must not contain `.` (the spec's advice, so the signed content is unambiguous).
pub fn sign(keys: &[WebhookKey], id: &str, timestamp: u64, payload: &[u8]) -> Result<String> {
    check_id(id).map_err(|e| Error::new(ErrorKind::InvalidInput, e.message().to_string()))?;
    if id.contains('.') {
        return err(ErrorKind::InvalidInput, "webhook ids must not contain `.`");
    }
    if keys.is_empty() {
        return err(ErrorKind::InvalidInput, "no signing key given");
    }
    let content = signed_content(id, timestamp, payload);
    let mut parts = Vec::with_capacity(keys.len());
    for key in keys {
        if !key.can_sign() {
            return err(ErrorKind::InvalidKey, "a whpk_ public key cannot sign");
        }
        parts.push(key.sign(&content)?);
    }
    Ok(parts.join(" "))
}

/// A webhook that passed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedWebhook {
    pub id: String,
    pub timestamp: u64,
    /// The version (`v1` or `v1a`) of the signature that matched.
    pub version: &'static str,
}

/// Verifies incoming webhooks against a trust list of keys.
pub struct WebhookVerifier {
    keys: Vec<WebhookKey>,
    tolerance: u64,
    id_retention: u64,
    store: Option<Arc<dyn Store>>,
    clock: Arc<dyn Clock>,
}

impl WebhookVerifier {
    /// A verifier trusting `keys` (secrets or public keys). With a store, each id is
    /// accepted once within `id_retention` (default one hour).
    pub fn new(keys: Vec<WebhookKey>, store: Option<Arc<dyn Store>>) -> Result<Self> {
        WebhookVerifier::with_clock(keys, store, Arc::new(SystemClock))
    }

    pub fn with_clock(
        keys: Vec<WebhookKey>,
        store: Option<Arc<dyn Store>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        if keys.is_empty() {
            return err(
                ErrorKind::InvalidInput,
                "a webhook verifier needs at least one key",
            );
        }
        Ok(WebhookVerifier {
            keys,
            tolerance: DEFAULT_TOLERANCE,
            id_retention: DEFAULT_ID_RETENTION,
            store,
            clock,
        })
    }

    /// Sets the timestamp tolerance in seconds (default 300).
    pub fn tolerance(mut self, seconds: u64) -> Self {
        self.tolerance = seconds;
        self
    }

    /// Sets how long seen ids are remembered, in seconds (default 3600).
    pub fn id_retention(mut self, seconds: u64) -> Self {
        self.id_retention = seconds;
        self
    }

    /// Verifies from a list of header fields (names case-insensitive). Svix's names
    /// (`svix-id`, `svix-timestamp`, `svix-signature`) are read as aliases of the
    /// standard ones; a message carrying both names of one field must give them one value.
    pub fn verify_headers(
        &self,
        headers: &[(&str, &str)],
        payload: &[u8],
    ) -> Result<VerifiedWebhook> {
        let lookup = |name: &str| -> Result<Option<&str>> {
            let mut found = headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
            match (found.next(), found.next()) {
                (Some(_), Some(_)) => err(
                    ErrorKind::MalformedSignature,
                    format!("the `{name}` header is repeated"),
                ),
                (found, _) => Ok(found.map(|(_, v)| *v)),
            }
        };
        let one = |field: &str| -> Result<&str> {
            let standard = format!("webhook-{field}");
            let svix = format!("svix-{field}");
            match (lookup(&standard)?, lookup(&svix)?) {
                (Some(a), Some(b)) if a != b => err(
                    ErrorKind::MalformedSignature,
                    format!("the `{standard}` and `{svix}` headers differ"),
                ),
                (Some(v), _) | (None, Some(v)) => Ok(v),
                (None, None) => err(
                    ErrorKind::MissingSignature,
                    format!("the `{standard}` header is missing"),
                ),
            }
        };
        let id = one("id")?;
        let timestamp = one("timestamp")?;
        let signature = one("signature")?;
        self.verify(id, timestamp, signature, payload)
    }

    /// Verifies a webhook from its three header values and the raw payload bytes.
    pub fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signature: &str,
        payload: &[u8],
    ) -> Result<VerifiedWebhook> {
        check_id(id)?;
        if id.contains('.') {
            // The signer refuses such ids: `id.timestamp.body` would be ambiguous.
            return err(
                ErrorKind::MalformedSignature,
                "webhook-id must not contain `.`",
            );
        }
        // Digits only (no sign, no spaces), at most 12 of them.
        let digits_only =
            (1..=12).contains(&timestamp.len()) && timestamp.bytes().all(|b| b.is_ascii_digit());
        let Some(ts) = digits_only.then(|| timestamp.parse::<u64>().ok()).flatten() else {
            return err(
                ErrorKind::MalformedSignature,
                "webhook-timestamp must be whole seconds since the epoch",
            );
        };
        if signature.len() > MAX_SIGNATURE_HEADER_BYTES {
            return err(
                ErrorKind::MalformedSignature,
                format!("webhook-signature is larger than {MAX_SIGNATURE_HEADER_BYTES} bytes"),
            );
        }
        let now = self.clock.now();
        if ts.abs_diff(now) > self.tolerance {
            return err(
                ErrorKind::StaleTimestamp,
                format!(
                    "webhook-timestamp is more than {} s from now",
                    self.tolerance
                ),
            );
        }
        let mut entries = Vec::new();
        for entry in signature.split(' ').filter(|e| !e.is_empty()) {
            let Some((version, b64)) = entry.split_once(',') else {
                return err(
                    ErrorKind::MalformedSignature,
                    "webhook-signature entries are `version,base64`",
                );
            };
            entries.push((version, b64));
        }
        if entries.is_empty() {
            return err(ErrorKind::MalformedSignature, "webhook-signature is empty");
        }
        let content = signed_content(id, ts, payload);
        // Each key's entries, decoded into a stack buffer as they are compared (a v1 tag is
        // 32 bytes, a v1a signature 64; anything longer or undecodable is another key's).
        let for_version = |version: &'static str, each: &mut dyn FnMut(&[u8]) -> bool| {
            let mut buf = [0u8; 64];
            let mut hit = false;
            for (v, b64) in entries.iter().take(MAX_SIGNATURES) {
                if *v == version {
                    if let Ok(len) = STANDARD.decode_slice(b64, &mut buf) {
                        hit |= each(&buf[..len]);
                    }
                }
            }
            hit
        };
        let mut matched = None;
        for key in &self.keys {
            let version = key.version();
            if !entries
                .iter()
                .take(MAX_SIGNATURES)
                .any(|(v, _)| *v == version)
            {
                continue;
            }
            let hit = match &key.material {
                // One MAC per key, compared (in constant time) with every `v1` entry: a
                // forged request with many entries costs one MAC per key, not one per pair.
                Material::Secret(mac) => {
                    let tag = hmac_tag(mac, &content);
                    for_version(version, &mut |raw| ct_eq(&tag, raw))
                }
                Material::Ed25519(public) => {
                    for_version(version, &mut |raw| public.verify(&content, raw))
                }
            };
            if hit {
                matched = Some(version);
                break;
            }
        }
        let Some(version) = matched else {
            return err(
                ErrorKind::SignatureMismatch,
                "no webhook signature matches a trusted key",
            );
        };
        if let Some(store) = &self.store {
            // Kept at least as long as the message can still be accepted (its timestamp
            // plus the tolerance, inclusive), and at least `id_retention` from now.
            let until = ts
                .saturating_add(self.tolerance)
                .max(now.saturating_add(self.id_retention))
                .saturating_add(1);
            if !store.nonce_insert("webhook", id, until, now)? {
                return err(
                    ErrorKind::ReplayDetected,
                    "this webhook-id was already accepted (a redelivery or a replay)",
                );
            }
        }
        Ok(VerifiedWebhook {
            id: id.to_string(),
            timestamp: ts,
            version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::MemoryStore;

    // The Standard Webhooks reference example (libraries' shared test vector).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: u64 = 1614265330;
    const PAYLOAD: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn verifier(keys: Vec<WebhookKey>, store: bool) -> WebhookVerifier {
        let store: Option<Arc<dyn Store>> = store.then(|| Arc::new(MemoryStore::new()) as _);
        WebhookVerifier::with_clock(keys, store, Arc::new(ManualClock::new(TS))).unwrap()
    }

    #[test]
    fn a_forged_request_costs_one_mac_per_key_not_one_per_entry() {
        let keys = vec![
            WebhookKey::parse(SECRET).unwrap(),
            WebhookKey::from_secret_bytes(&[7; 32]).unwrap(),
        ];
        let verifier =
            WebhookVerifier::with_clock(keys, None, Arc::new(ManualClock::new(TS))).unwrap();
        let forged: Vec<String> = (0..MAX_SIGNATURES)
            .map(|i| format!("v1,{}", STANDARD.encode([i as u8; 32])))
            .collect();
        MACS.with(|n| n.set(0));
        let e = verifier
            .verify(ID, &TS.to_string(), &forged.join(" "), b"{}")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SignatureMismatch);
        assert_eq!(MACS.with(std::cell::Cell::get), 2, "one MAC per key");
        // No v1 entry at all: no MAC.
        MACS.with(|n| n.set(0));
        let e = verifier
            .verify(ID, &TS.to_string(), "v1a,AAAA v2,AAAA", b"{}")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SignatureMismatch);
        assert_eq!(MACS.with(std::cell::Cell::get), 0);
    }

    #[test]
    fn reproduces_and_verifies_the_spec_example() {
        let key = WebhookKey::parse(SECRET).unwrap();
        assert_eq!(sign(&[key], ID, TS, PAYLOAD).unwrap(), SIG);
        let v = verifier(vec![WebhookKey::parse(SECRET).unwrap()], true);
        let ok = v.verify(ID, "1614265330", SIG, PAYLOAD).unwrap();
        assert_eq!((ok.id.as_str(), ok.timestamp, ok.version), (ID, TS, "v1"));
        assert_eq!(
            v.verify(ID, "1614265330", SIG, PAYLOAD).unwrap_err().code(),
            "replay_detected"
        );
    }

    #[test]
    fn asymmetric_round_trip_and_rotation() {
        let (sk, pk) = WebhookKey::generate_keypair().unwrap();
        let signer = WebhookKey::parse(&sk).unwrap();
        assert_eq!(signer.public_key().unwrap(), pk);
        let old = WebhookKey::parse(&WebhookKey::generate_secret().unwrap()).unwrap();
        let header = sign(&[old, signer], "msg_1", TS, b"{}").unwrap();
        assert!(header.starts_with("v1,") && header.contains(" v1a,"));
        let v = verifier(vec![WebhookKey::parse(&pk).unwrap()], false);
        assert_eq!(
            v.verify("msg_1", "1614265330", &header, b"{}")
                .unwrap()
                .version,
            "v1a"
        );
        assert_eq!(
            v.verify("msg_1", "1614265330", &header, b"{ }")
                .unwrap_err()
                .code(),
            "signature_mismatch"
        );
        assert!(!WebhookKey::parse(&pk).unwrap().can_sign());
    }
}
