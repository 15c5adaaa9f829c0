//! DPoP (RFC 9449) on the device: a key that stays in the app, and a proof for each request
//! that shows the server this app holds it. Tokens the server binds to the key's
//! thumbprint (`cnf.jkt`) are useless to whoever copies them without the key.

use std::sync::Arc;

use authgate_core::clock::Clock;
use authgate_core::jwt::{Algorithm, Key};
use authgate_core::pop;
use authgate_core::{Error, ErrorKind};

use crate::errors::{guard, Result};
use crate::token_manager::{clock_of, TimeSource};

/// The RFC 7638 thumbprint of a public JWK given as JSON text: to compare with a token's
/// `cnf.jkt` or an authorization request's `dpop_jkt`.
#[uniffi::export]
pub fn jwk_thumbprint(jwk_json: String) -> Result<String> {
    guard(|| pop::jwk_thumbprint_json(&jwk_json))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DpopAlgorithm {
    Es256,
    Es384,
    EdDsa,
}

impl From<DpopAlgorithm> for Algorithm {
    fn from(a: DpopAlgorithm) -> Self {
        match a {
            DpopAlgorithm::Es256 => Algorithm::ES256,
            DpopAlgorithm::Es384 => Algorithm::ES384,
            DpopAlgorithm::EdDsa => Algorithm::EdDSA,
        }
    }
}

/// The app's DPoP key. Keep `private_key_pem()` in the platform's secure storage (Android
/// Keystore-wrapped, iOS Keychain) and load it again with `from_pem`.
#[derive(uniffi::Object)]
pub struct DpopKey {
    key: Key,
    pem: String,
    clock: Arc<dyn Clock>,
}

#[uniffi::export]
impl DpopKey {
    /// A new key from the OS CSPRNG (ES256 is what most servers accept).
    #[uniffi::constructor(default(time_source = None))]
    pub fn generate(
        algorithm: DpopAlgorithm,
        time_source: Option<Arc<dyn TimeSource>>,
    ) -> Result<Arc<Self>> {
        guard(|| {
            let pem = Key::generate_pem(algorithm.into())?;
            DpopKey::load(pem, algorithm.into(), clock_of(time_source))
        })
    }

    /// A key saved with `private_key_pem()` (PKCS#8).
    #[uniffi::constructor(default(time_source = None))]
    pub fn from_pem(
        pem: String,
        algorithm: DpopAlgorithm,
        time_source: Option<Arc<dyn TimeSource>>,
    ) -> Result<Arc<Self>> {
        guard(|| DpopKey::load(pem, algorithm.into(), clock_of(time_source)))
    }

    /// The private key as PKCS#8 PEM, for the app's secure storage only.
    pub fn private_key_pem(&self) -> String {
        self.pem.clone()
    }

    /// The RFC 7638 thumbprint the server binds tokens to (`cnf.jkt`); also what an
    /// authorization request's `dpop_jkt` parameter carries.
    pub fn thumbprint(&self) -> Result<String> {
        guard(|| {
            pop::key_thumbprint(&self.key)
                .ok_or_else(|| Error::new(ErrorKind::InvalidKey, "the key has no public half"))
        })
    }

    /// The `DPoP` header value for one request: `method` and `uri` as sent, the access
    /// token when one goes with it (`Authorization: DPoP <token>`), and the server's last
    /// `DPoP-Nonce` if it sent one. A fresh `jti` each call.
    #[uniffi::method(default(access_token = None, nonce = None))]
    pub fn proof(
        &self,
        method: String,
        uri: String,
        access_token: Option<String>,
        nonce: Option<String>,
    ) -> Result<String> {
        guard(|| {
            pop::create_proof(
                &self.key,
                &method,
                &uri,
                access_token.as_deref(),
                nonce.as_deref(),
                self.clock.now(),
            )
        })
    }
}

impl DpopKey {
    fn load(
        pem: String,
        alg: Algorithm,
        clock: Arc<dyn Clock>,
    ) -> authgate_core::Result<Arc<Self>> {
        let key = Key::from_pem(None, alg, &pem)?;
        if !key.can_sign() {
            return Err(Error::new(
                ErrorKind::InvalidKey,
                "a DPoP key must be a private key",
            ));
        }
        Ok(Arc::new(DpopKey { key, pem, clock }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authgate_core::clock::ManualClock;
    use authgate_core::pop::{DpopPolicy, DpopVerifier};
    use authgate_core::store::MemoryStore;

    struct Fixed(u64);
    impl TimeSource for Fixed {
        fn now_unix(&self) -> u64 {
            self.0
        }
    }

    /// What the app sends is what the server's verifier (the same core) accepts, once.
    #[test]
    fn proofs_from_the_app_verify_on_the_server() {
        for alg in [
            DpopAlgorithm::Es256,
            DpopAlgorithm::Es384,
            DpopAlgorithm::EdDsa,
        ] {
            let key = DpopKey::generate(alg, Some(Arc::new(Fixed(1_700_000_000)))).unwrap();
            let again = DpopKey::from_pem(key.private_key_pem(), alg, None).unwrap();
            assert_eq!(key.thumbprint().unwrap(), again.thumbprint().unwrap());
            let proof = key
                .proof(
                    "POST".into(),
                    "https://api.example.com/token".into(),
                    Some("at".into()),
                    Some("n-1".into()),
                )
                .unwrap();
            let server = DpopVerifier::with_clock(
                Arc::new(MemoryStore::new()),
                DpopPolicy {
                    nonce: Some("n-1".into()),
                    ..DpopPolicy::default()
                },
                Arc::new(ManualClock::new(1_700_000_003)),
            );
            let ok = server
                .verify(&proof, "POST", "https://api.example.com/token", Some("at"))
                .unwrap();
            assert_eq!(ok.jkt, key.thumbprint().unwrap());
            let replay = server
                .verify(&proof, "POST", "https://api.example.com/token", Some("at"))
                .unwrap_err();
            assert_eq!(replay.kind(), ErrorKind::ReplayDetected);
        }
        let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n";
        assert!(DpopKey::from_pem(public.into(), DpopAlgorithm::EdDsa, None).is_err());
    }
}
