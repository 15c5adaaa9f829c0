//! Signing and verification keys. Each key is bound to exactly one algorithm, carries an
//! optional `kid`, and imports from PEM, JWK or raw secrets.

use hmac::{Hmac, Mac};
use ring::rand::SystemRandom;
use ring::signature::{self as rs, KeyPair};
use serde_json::{Map, Value};
use sha2::{Sha256, Sha384, Sha512};

use super::algorithm::{truncate, Algorithm, KeyFamily};
use super::der::{self, parse_pem, parse_rsa_public_key, parse_spki, strip_leading_zeros};
use super::ed25519::Ed25519Public;
use crate::error::{err, Error, ErrorKind, Result};
use crate::util::{b64url_decode, b64url_encode, random_bytes};

/// RSA moduli shorter than this are refused (NIST SP 800-131A; ring enforces it too).
pub const MIN_RSA_BITS: usize = 2048;

/// HMAC keys are kept pre-keyed: the ipad/opad blocks are computed once, not per token.
enum HmacKey {
    S256(Hmac<Sha256>),
    S384(Hmac<Sha384>),
    S512(Hmac<Sha512>),
}

enum Material {
    Hmac(HmacKey),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        private: Option<rs::RsaKeyPair>,
    },
    Ec {
        point: Vec<u8>,
        private: Option<rs::EcdsaKeyPair>,
    },
    Ed25519 {
        public: Vec<u8>,
        /// The public point, decompressed once (`None` when it is not a point: such a key
        /// verifies nothing).
        verifying: Option<Box<Ed25519Public>>,
        /// The signing key (ed25519-dalek's, which zeroizes it when dropped; copies made
        /// while importing, such as ring's key pair and the PEM or JWK text, are not).
        private: Option<Box<ed25519_dalek::SigningKey>>,
    },
}

/// An Ed25519 key's material. Verification is `super::ed25519`'s, on curve25519-dalek
/// (faster than ring's here, with the same rules: cofactorless, a canonical `S`, `R`
/// compared as bytes); signing is ed25519-dalek's (see `ed25519_private`). A key that is
/// not a point, or is a point of small order (which accepts forged signatures: `R` the
/// identity and `S` zero pass for any message), verifies nothing; public keys given alone
/// are refused at import for both.
fn ed25519_material(public: Vec<u8>, private: Option<Box<ed25519_dalek::SigningKey>>) -> Material {
    let verifying = Ed25519Public::new(&public).map(Box::new);
    Material::Ed25519 {
        public,
        verifying,
        private,
    }
}

/// A private Ed25519 key's material from ring's key pair, which has checked the document
/// (and the public key a PKCS#8 v2 document or a JWK carries), and the pair's 32-byte seed.
/// Signing is ed25519-dalek's: about 1.5x faster than ring's here, with the same bytes
/// (Ed25519 signatures are deterministic, RFC 8032 §5.1.6; a test compares the two).
fn ed25519_private(pair: &rs::Ed25519KeyPair, seed: &[u8]) -> Result<Material> {
    let seed = zeroize::Zeroizing::new(
        <[u8; 32]>::try_from(seed)
            .map_err(|_| Error::new(ErrorKind::InvalidKey, "Ed25519 seeds are 32 bytes"))?,
    );
    let signing = Box::new(ed25519_dalek::SigningKey::from_bytes(&seed));
    let public = pair.public_key().as_ref();
    if signing.verifying_key().as_bytes()[..] != public[..] {
        return err(
            ErrorKind::InvalidKey,
            "the Ed25519 private key does not match its public key",
        );
    }
    Ok(ed25519_material(public.to_vec(), Some(signing)))
}

/// A key bound to one algorithm.
pub struct Key {
    kid: Option<String>,
    alg: Algorithm,
    material: Material,
    /// An RSA key from a JWK that names no `alg`: besides its default RS256 it verifies
    /// the other RSA algorithms (RS384, RS512, PS256, PS384, PS512) a verifier allows
    /// explicitly, since the JWK binds it to none of them.
    any_rsa_alg: bool,
}

impl std::fmt::Debug for Key {
    // Never prints key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private", &self.can_sign())
            .field("any_rsa_alg", &self.any_rsa_alg)
            .finish()
    }
}

/// The tag of `message` under a pre-keyed HMAC state (cloned, so the key state is reused).
fn hmac_tag<M: Mac + Clone>(keyed: &M, message: &[u8]) -> Vec<u8> {
    let mut m = keyed.clone();
    m.update(message);
    m.finalize().into_bytes().to_vec()
}

/// Constant-time check of an HMAC tag.
fn hmac_check<M: Mac + Clone>(keyed: &M, message: &[u8], tag: &[u8]) -> bool {
    let mut m = keyed.clone();
    m.update(message);
    m.verify_slice(tag).is_ok()
}

/// A key `ring` refused, with its reason in words (ring names reasons such as
/// `WrongAlgorithm`; users see a sentence, and a small key is `weak_key`).
fn rejected(e: ring::error::KeyRejected) -> Error {
    let reason = e.to_string();
    let (kind, words) = match reason.as_str() {
        "TooSmall" => (ErrorKind::WeakKey, "the key is too small"),
        "TooLarge" => (ErrorKind::InvalidKey, "the key is too large"),
        "WrongAlgorithm" => (
            ErrorKind::InvalidKey,
            "the key is of another type or curve than the algorithm needs",
        ),
        "InvalidEncoding" => (ErrorKind::InvalidKey, "the key is not well formed"),
        "InconsistentComponents" => (
            ErrorKind::InvalidKey,
            "the key's parts do not belong together (the public part is not the private part's)",
        ),
        "InvalidComponent" => (ErrorKind::InvalidKey, "a part of the key is out of range"),
        "PublicKeyIsMissing" => (
            ErrorKind::InvalidKey,
            "the key does not include its public part",
        ),
        "VersionNotSupported" => (
            ErrorKind::InvalidKey,
            "this version of the key format is not supported",
        ),
        "PrivateModulusLenNotMultipleOf512Bits" => (
            ErrorKind::InvalidKey,
            "the RSA modulus length is not a multiple of 512 bits",
        ),
        _ => (ErrorKind::InvalidKey, "the key is not usable"),
    };
    Error::new(kind, format!("key rejected: {words}"))
}

fn family_mismatch(alg: Algorithm, what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidKey,
        format!("{what} cannot be used with {alg}"),
    )
}

fn ecdsa_signing(alg: Algorithm) -> &'static rs::EcdsaSigningAlgorithm {
    match alg {
        Algorithm::ES384 => &rs::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => &rs::ECDSA_P256_SHA256_FIXED_SIGNING,
    }
}

fn curve_oid(alg: Algorithm) -> &'static [u8] {
    match alg {
        Algorithm::ES384 => der::OID_P384,
        _ => der::OID_P256,
    }
}

/// The size in bytes of one coordinate (and of the field) of the algorithm's curve.
fn ec_coordinate_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::ES384 => 48,
        _ => 32,
    }
}

/// Whether an uncompressed `point` lies on the curve of `alg`: ring validates a peer's
/// point (on the curve, not the identity) before an ECDH agreement, so one agreement with
/// a fresh ephemeral key is the check. Run once per imported key.
fn check_on_curve(alg: Algorithm, point: &[u8]) -> Result<()> {
    use ring::agreement;
    let curve = match alg {
        Algorithm::ES384 => &agreement::ECDH_P384,
        _ => &agreement::ECDH_P256,
    };
    let mine = agreement::EphemeralPrivateKey::generate(curve, &SystemRandom::new())
        .map_err(|_| Error::new(ErrorKind::Internal, "key generation failed"))?;
    agreement::agree_ephemeral(
        mine,
        &agreement::UnparsedPublicKey::new(curve, point),
        |_| (),
    )
    .map_err(|_| {
        Error::new(
            ErrorKind::InvalidKey,
            format!("the EC public key is not a point on {}", curve_name(alg)),
        )
    })
}

fn curve_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES384 => "P-384",
        _ => "P-256",
    }
}

fn check_rsa_modulus(n: &[u8]) -> Result<()> {
    let n = strip_leading_zeros(n);
    // An all-zero modulus strips to nothing (found by fuzzing: `n.len() * 8 - 8` underflowed).
    let bits = n
        .first()
        .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
    if bits < MIN_RSA_BITS {
        return err(
            ErrorKind::WeakKey,
            format!("RSA keys must have at least {MIN_RSA_BITS} bits"),
        );
    }
    Ok(())
}

/// The public exponent rule of the private keys (ring's), applied to public keys too: odd,
/// at least 65537 (`weak_key` below: e = 3 invites the low-exponent attacks on signature
/// checks, RFC 8017 §3.1 and every major library's default), at most 2^33 − 1.
fn check_rsa_exponent(e: &[u8]) -> Result<()> {
    let e = strip_leading_zeros(e);
    if e.len() > 5 {
        return err(
            ErrorKind::InvalidKey,
            "the RSA public exponent is too large",
        );
    }
    let value = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    if value % 2 == 0 {
        return err(ErrorKind::InvalidKey, "the RSA public exponent must be odd");
    }
    if value < 65_537 {
        return err(
            ErrorKind::WeakKey,
            "the RSA public exponent must be at least 65537",
        );
    }
    if value > (1 << 33) - 1 {
        return err(
            ErrorKind::InvalidKey,
            "the RSA public exponent is too large",
        );
    }
    Ok(())
}

/// The longest key id accepted, in bytes: far above what providers use (a UUID or a
/// thumbprint), and a bound on what a key set holds and publishes.
pub const MAX_KID_BYTES: usize = 256;

fn check_kid(kid: Option<&str>) -> Result<()> {
    match kid {
        Some(k) if k.len() > MAX_KID_BYTES => err(
            ErrorKind::InvalidKey,
            format!("a key id is at most {MAX_KID_BYTES} bytes"),
        ),
        _ => Ok(()),
    }
}

/// The checks of an HMAC secret for `alg` ([`Key::hmac`] and the one-shot functions).
fn check_hmac_secret(alg: Algorithm, secret: &[u8]) -> Result<()> {
    if alg.family() != KeyFamily::Hmac {
        return Err(family_mismatch(alg, "an HMAC secret"));
    }
    if let Some(what) = der::asymmetric_key_material(secret) {
        return err(
            ErrorKind::InvalidKey,
            format!(
                "the HMAC secret is {what}, not a secret: load it as a key (from PEM \
                 or JWK) with an asymmetric algorithm"
            ),
        );
    }
    if secret.len() < alg.min_hmac_key_len() {
        return err(
            ErrorKind::WeakKey,
            format!(
                "{alg} secrets must be at least {} bytes",
                alg.min_hmac_key_len()
            ),
        );
    }
    Ok(())
}

/// The keyed HMAC state of a checked secret.
fn hmac_state(alg: Algorithm, secret: &[u8]) -> Result<HmacKey> {
    // new_from_slice accepts any length for HMAC; the error arm cannot happen.
    let invalid = |_| Error::new(ErrorKind::InvalidKey, "invalid HMAC secret");
    Ok(match alg {
        Algorithm::HS384 => HmacKey::S384(Hmac::new_from_slice(secret).map_err(invalid)?),
        Algorithm::HS512 => HmacKey::S512(Hmac::new_from_slice(secret).map_err(invalid)?),
        _ => HmacKey::S256(Hmac::new_from_slice(secret).map_err(invalid)?),
    })
}

/// Checks `secret` as [`Key::hmac`] does; for a binding that holds a secret and signs
/// with [`hmac_sign_once`] instead of keeping a [`Key`].
pub fn check_hmac_key(kid: Option<&str>, alg: Algorithm, secret: &[u8]) -> Result<()> {
    check_kid(kid)?;
    check_hmac_secret(alg, secret)
}

/// The HMAC tag of `message` under `secret`, with the checks of [`Key::hmac`], without
/// keeping a key: for a secret that changes from call to call (a tenant's). A [`Key`]
/// prepares the key's state once and is cheaper for a secret used again.
pub fn hmac_sign_once(alg: Algorithm, secret: &[u8], message: &[u8]) -> Result<Vec<u8>> {
    check_hmac_secret(alg, secret)?;
    Ok(hmac_state(alg, secret)?.tag(message))
}

/// Whether `tag` is the HMAC of `message` under `secret` (compared in constant time),
/// with the checks of [`Key::hmac`] on the secret.
pub fn hmac_verify_once(alg: Algorithm, secret: &[u8], message: &[u8], tag: &[u8]) -> Result<bool> {
    check_hmac_secret(alg, secret)?;
    Ok(hmac_state(alg, secret)?.check(message, tag))
}

impl HmacKey {
    fn tag(&self, message: &[u8]) -> Vec<u8> {
        match self {
            HmacKey::S256(m) => hmac_tag(m, message),
            HmacKey::S384(m) => hmac_tag(m, message),
            HmacKey::S512(m) => hmac_tag(m, message),
        }
    }

    fn check(&self, message: &[u8], tag: &[u8]) -> bool {
        match self {
            HmacKey::S256(m) => hmac_check(m, message, tag),
            HmacKey::S384(m) => hmac_check(m, message, tag),
            HmacKey::S512(m) => hmac_check(m, message, tag),
        }
    }
}

impl Key {
    /// An HMAC key. The secret must be at least as long as the hash output.
    pub fn hmac(kid: Option<&str>, alg: Algorithm, secret: &[u8]) -> Result<Key> {
        check_hmac_key(kid, alg, secret)?;
        Ok(Key::new(kid, alg, Material::Hmac(hmac_state(alg, secret)?)))
    }

    fn new(kid: Option<&str>, alg: Algorithm, material: Material) -> Key {
        Key {
            kid: kid.map(str::to_owned),
            alg,
            material,
            any_rsa_alg: false,
        }
    }

    /// A key from PEM: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1),
    /// `EC PRIVATE KEY` (SEC1, as `openssl ecparam -genkey` writes it, with or without
    /// its `EC PARAMETERS` block), `PUBLIC KEY` (SubjectPublicKeyInfo) or
    /// `RSA PUBLIC KEY` (PKCS#1).
    pub fn from_pem(kid: Option<&str>, alg: Algorithm, pem: &str) -> Result<Key> {
        check_kid(kid)?;
        let (label, der) = parse_pem(pem)?;
        match label.as_str() {
            "PRIVATE KEY" => Key::from_pkcs8_der(kid, alg, &der),
            "RSA PRIVATE KEY" if alg.family() == KeyFamily::Rsa => {
                let pair = rs::RsaKeyPair::from_der(&der).map_err(rejected)?;
                Ok(Key::rsa_from_pair(kid, alg, pair))
            }
            "PUBLIC KEY" => Key::from_spki_der(kid, alg, &der),
            "RSA PUBLIC KEY" if alg.family() == KeyFamily::Rsa => {
                let (n, e) = parse_rsa_public_key(&der)?;
                Key::rsa_public(kid, alg, n, e)
            }
            "EC PRIVATE KEY" => Key::from_sec1_der(kid, alg, &der),
            other => err(
                ErrorKind::InvalidKey,
                format!("PEM `{}` cannot be used with {alg}", truncate(other, 32)),
            ),
        }
    }

    /// A SEC1 EC private key: its curve (when named) must be the algorithm's, and it must
    /// carry its public point (OpenSSL always writes it), which must match the scalar.
    fn from_sec1_der(kid: Option<&str>, alg: Algorithm, der: &[u8]) -> Result<Key> {
        if alg.family() != KeyFamily::Ec {
            return Err(family_mismatch(alg, "an EC private key"));
        }
        let sec1 = der::parse_sec1(der)?;
        if sec1.curve.is_some_and(|c| c != curve_oid(alg)) {
            return Err(family_mismatch(alg, "an EC key on this curve"));
        }
        let Some(public) = sec1.public else {
            return err(
                ErrorKind::InvalidKey,
                "the SEC1 EC private key has no public key; convert it to PKCS#8 \
                 (openssl pkcs8 -topk8 -nocrypt)",
            );
        };
        Key::ec_private(kid, alg, sec1.private, public.to_vec())
    }

    /// An EC private key from its scalar and its uncompressed public point (ring checks
    /// that they belong together).
    fn ec_private(kid: Option<&str>, alg: Algorithm, scalar: &[u8], point: Vec<u8>) -> Result<Key> {
        let pair = rs::EcdsaKeyPair::from_private_key_and_public_key(
            ecdsa_signing(alg),
            scalar,
            &point,
            &SystemRandom::new(),
        )
        .map_err(rejected)?;
        Ok(Key::new(
            kid,
            alg,
            Material::Ec {
                point,
                private: Some(pair),
            },
        ))
    }

    fn from_pkcs8_der(kid: Option<&str>, alg: Algorithm, der: &[u8]) -> Result<Key> {
        let rng = SystemRandom::new();
        let material = match alg.family() {
            KeyFamily::Hmac => return Err(family_mismatch(alg, "a PKCS#8 key")),
            KeyFamily::Rsa => {
                let pair = rs::RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
                return Ok(Key::rsa_from_pair(kid, alg, pair));
            }
            KeyFamily::Ec => {
                let pair = rs::EcdsaKeyPair::from_pkcs8(ecdsa_signing(alg), der, &rng)
                    .map_err(rejected)?;
                Material::Ec {
                    point: pair.public_key().as_ref().to_vec(),
                    private: Some(pair),
                }
            }
            KeyFamily::Ed25519 => {
                let pair = rs::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?;
                ed25519_private(&pair, der::ed25519_pkcs8_seed(der)?)?
            }
        };
        Ok(Key::new(kid, alg, material))
    }

    fn rsa_from_pair(kid: Option<&str>, alg: Algorithm, pair: rs::RsaKeyPair) -> Key {
        let public: rs::RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
        Key::new(
            kid,
            alg,
            Material::Rsa {
                n: public.n,
                e: public.e,
                private: Some(pair),
            },
        )
    }

    fn rsa_public(kid: Option<&str>, alg: Algorithm, n: Vec<u8>, e: Vec<u8>) -> Result<Key> {
        if alg.family() != KeyFamily::Rsa {
            return Err(family_mismatch(alg, "an RSA key"));
        }
        check_rsa_modulus(&n)?;
        check_rsa_exponent(&e)?;
        let (n, e) = (
            strip_leading_zeros(&n).to_vec(),
            strip_leading_zeros(&e).to_vec(),
        );
        Ok(Key::new(
            kid,
            alg,
            Material::Rsa {
                n,
                e,
                private: None,
            },
        ))
    }

    fn from_spki_der(kid: Option<&str>, alg: Algorithm, der: &[u8]) -> Result<Key> {
        let spki = parse_spki(der)?;
        match (alg.family(), spki.algorithm) {
            (KeyFamily::Rsa, der::OID_RSA) => {
                let (n, e) = parse_rsa_public_key(spki.key)?;
                Key::rsa_public(kid, alg, n, e)
            }
            (KeyFamily::Ec, der::OID_EC_PUBLIC_KEY) if spki.parameter == Some(curve_oid(alg)) => {
                Key::ec_public(kid, alg, spki.key.to_vec())
            }
            (KeyFamily::Ed25519, der::OID_ED25519) => {
                Key::ed25519_public(kid, alg, spki.key.to_vec())
            }
            _ => Err(family_mismatch(alg, "this public key")),
        }
    }

    /// An EC public key: an uncompressed point that lies on the key's curve (checked here,
    /// so a bad key fails at import with a clear error instead of failing every verify).
    fn ec_public(kid: Option<&str>, alg: Algorithm, point: Vec<u8>) -> Result<Key> {
        let key = Key::ec_public_unchecked(kid, alg, point)?;
        if let Material::Ec { point, .. } = &key.material {
            check_on_curve(alg, point)?;
        }
        Ok(key)
    }

    /// An EC public key whose curve membership is left to the signature check (ring
    /// validates the point on every verify): for a DPoP proof's key, used once, right away.
    fn ec_public_unchecked(kid: Option<&str>, alg: Algorithm, point: Vec<u8>) -> Result<Key> {
        let len = 1 + 2 * ec_coordinate_len(alg);
        if point.len() != len || point[0] != 4 {
            return err(
                ErrorKind::InvalidKey,
                "EC public keys must be uncompressed points",
            );
        }
        Ok(Key::new(
            kid,
            alg,
            Material::Ec {
                point,
                private: None,
            },
        ))
    }

    /// An Ed25519 (EdDSA) public key from its 32 raw bytes.
    pub fn ed25519_from_public(kid: Option<&str>, public: &[u8]) -> Result<Key> {
        check_kid(kid)?;
        Key::ed25519_public(kid, Algorithm::EdDSA, public.to_vec())
    }

    /// An Ed25519 (EdDSA) private key from its 32-byte seed (RFC 8032 §5.1.5).
    pub fn ed25519_from_seed(kid: Option<&str>, seed: &[u8]) -> Result<Key> {
        check_kid(kid)?;
        let pair = rs::Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| Error::new(ErrorKind::InvalidKey, "Ed25519 seeds are 32 bytes"))?;
        Ok(Key::new(
            kid,
            Algorithm::EdDSA,
            ed25519_private(&pair, seed)?,
        ))
    }

    /// The raw 32-byte public key of an Ed25519 key; `None` for other keys.
    pub fn ed25519_public_bytes(&self) -> Option<&[u8]> {
        match &self.material {
            Material::Ed25519 { public, .. } => Some(public),
            _ => None,
        }
    }

    fn ed25519_public(kid: Option<&str>, alg: Algorithm, public: Vec<u8>) -> Result<Key> {
        if public.len() != 32 {
            return err(ErrorKind::InvalidKey, "Ed25519 public keys are 32 bytes");
        }
        if Ed25519Public::new(&public).is_none() {
            return err(
                ErrorKind::WeakKey,
                "the Ed25519 public key is not a point of large order (a small-order key \
                 would accept forged signatures)",
            );
        }
        Ok(Key::new(kid, alg, ed25519_material(public, None)))
    }

    /// A key from a JWK (RFC 7517) given as a JSON object. The algorithm comes from the
    /// JWK's `alg`, else from `alg`, else is inferred from the curve (EC, OKP). A public
    /// RSA key named by neither signs nothing and verifies RS256 by default, and any other
    /// RSA algorithm a verifier's allow-list names ([`Key::accepts`]): providers publish
    /// RSA keys without `alg` and sign with RS256 or PS256. A JWK `alg` that disagrees
    /// with `alg` is an error.
    pub fn from_jwk(jwk: &Map<String, Value>, alg: Option<Algorithm>) -> Result<Key> {
        Key::from_jwk_checked(jwk, alg, true)
    }

    /// [`Key::from_jwk`] for a key that verifies one signature right away (a DPoP proof's
    /// `jwk`): an EC point's curve membership is then checked by the verification itself
    /// instead of an extra scalar multiplication at import.
    pub(crate) fn from_jwk_for_one_use(
        jwk: &Map<String, Value>,
        alg: Option<Algorithm>,
    ) -> Result<Key> {
        Key::from_jwk_checked(jwk, alg, false)
    }

    fn from_jwk_checked(
        jwk: &Map<String, Value>,
        alg: Option<Algorithm>,
        check_point: bool,
    ) -> Result<Key> {
        let field = |name: &str| -> Result<Option<&str>> {
            match jwk.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => err(
                    ErrorKind::InvalidKey,
                    format!("JWK `{name}` must be a string"),
                ),
            }
        };
        let bytes = |name: &str| -> Result<Option<Vec<u8>>> {
            match field(name)? {
                None => Ok(None),
                Some(s) => b64url_decode(s.as_bytes()).map(Some).ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidKey,
                        format!("JWK `{name}` is not base64url"),
                    )
                }),
            }
        };
        let required = |name: &str| -> Result<Vec<u8>> {
            bytes(name)?.ok_or_else(|| {
                Error::new(ErrorKind::InvalidKey, format!("JWK is missing `{name}`"))
            })
        };
        // A key published for encryption, or for operations other than signing, must
        // not verify signatures (RFC 7517 §4.2, §4.3).
        if field("use")?.is_some_and(|u| u != "sig") {
            return err(ErrorKind::InvalidKey, "the JWK's `use` is not `sig`");
        }
        if let Some(ops) = jwk.get("key_ops") {
            let signs = ops.as_array().is_some_and(|ops| {
                ops.iter()
                    .any(|op| op.as_str().is_some_and(|op| op == "sign" || op == "verify"))
            });
            if !signs {
                return err(
                    ErrorKind::InvalidKey,
                    "the JWK's `key_ops` allow neither sign nor verify",
                );
            }
        }
        let kid = field("kid")?;
        check_kid(kid)?;
        let kty = field("kty")?.unwrap_or_default();
        let crv = field("crv")?;
        let declared = field("alg")?.map(str::parse::<Algorithm>).transpose()?;
        let rsa_without_alg = declared.is_none() && alg.is_none() && kty == "RSA";
        let alg = match (declared, alg) {
            (Some(a), Some(b)) if !a.same_as(b) => {
                return err(
                    ErrorKind::AlgorithmNotAllowed,
                    format!("JWK is for {a}, not {b}"),
                )
            }
            // The caller's name wins between `EdDSA` and `Ed25519`: the key signs with it.
            (_, Some(a)) | (Some(a), None) => a,
            (None, None) => match (kty, crv) {
                ("EC", Some("P-256")) => Algorithm::ES256,
                ("EC", Some("P-384")) => Algorithm::ES384,
                ("OKP", Some("Ed25519")) => Algorithm::EdDSA,
                ("RSA", _) => Algorithm::RS256,
                _ => {
                    return err(
                        ErrorKind::InvalidKey,
                        "JWK has no `alg` and none can be inferred",
                    )
                }
            },
        };
        match (alg.family(), kty) {
            (KeyFamily::Hmac, "oct") => Key::hmac(kid, alg, &required("k")?),
            (KeyFamily::Rsa, "RSA") => {
                let (n, e) = (required("n")?, required("e")?);
                let Some(d) = bytes("d")? else {
                    let mut key = Key::rsa_public(kid, alg, n, e)?;
                    key.any_rsa_alg = rsa_without_alg;
                    return Ok(key);
                };
                check_rsa_modulus(&n)?;
                let components = ring::rsa::KeyPairComponents {
                    public_key: ring::rsa::PublicKeyComponents { n, e },
                    d,
                    p: required("p")?,
                    q: required("q")?,
                    dP: required("dp")?,
                    dQ: required("dq")?,
                    qInv: required("qi")?,
                };
                let pair = rs::RsaKeyPair::from_components(&components).map_err(rejected)?;
                Ok(Key::rsa_from_pair(kid, alg, pair))
            }
            (KeyFamily::Ec, "EC") => {
                if crv != Some(curve_name(alg)) {
                    return Err(family_mismatch(alg, "a JWK on this curve"));
                }
                // Each coordinate is the full size of the field (RFC 7518 §6.2.1.2): a point
                // split 33/31 would be the same key under another RFC 7638 thumbprint.
                let size = ec_coordinate_len(alg);
                let (x, y) = (required("x")?, required("y")?);
                if x.len() != size || y.len() != size {
                    return err(
                        ErrorKind::InvalidKey,
                        format!(
                            "{} JWK coordinates `x` and `y` are {size} bytes each",
                            curve_name(alg)
                        ),
                    );
                }
                let mut point = Vec::with_capacity(1 + 2 * size);
                point.push(4u8);
                point.extend(x);
                point.extend(y);
                match bytes("d")? {
                    None if !check_point => Key::ec_public_unchecked(kid, alg, point),
                    None => Key::ec_public(kid, alg, point),
                    Some(d) => Key::ec_private(kid, alg, &d, point),
                }
            }
            (KeyFamily::Ed25519, "OKP") if crv == Some("Ed25519") => {
                let public = required("x")?;
                match bytes("d")? {
                    None => Key::ed25519_public(kid, alg, public),
                    Some(seed) => {
                        let pair = rs::Ed25519KeyPair::from_seed_and_public_key(&seed, &public)
                            .map_err(rejected)?;
                        Ok(Key::new(kid, alg, ed25519_private(&pair, &seed)?))
                    }
                }
            }
            _ => Err(family_mismatch(alg, "this JWK")),
        }
    }

    /// Parses a JWK from JSON text.
    pub fn from_jwk_json(json: &str, alg: Option<Algorithm>) -> Result<Key> {
        match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(map)) => Key::from_jwk(&map, alg),
            _ => err(ErrorKind::InvalidKey, "a JWK must be a JSON object"),
        }
    }

    /// Generates a new private key in PKCS#8 PEM for ES256, ES384 or EdDSA, from the OS
    /// CSPRNG. (RSA key generation is left to OpenSSL; import the PEM.)
    pub fn generate_pem(alg: Algorithm) -> Result<String> {
        let rng = SystemRandom::new();
        let doc = match alg.family() {
            KeyFamily::Ec => rs::EcdsaKeyPair::generate_pkcs8(ecdsa_signing(alg), &rng),
            KeyFamily::Ed25519 => {
                // The PKCS#8 v1 form (RFC 8410 §7: the seed only), which OpenSSL 3.0,
                // node:crypto, Python's cryptography and jose all read; ring's own
                // generator writes v2 with the public key, which they refuse.
                let mut seed = [0u8; 32];
                random_bytes(&mut seed)?;
                let mut doc = der::ED25519_PKCS8_V1_PREFIX.to_vec();
                doc.extend_from_slice(&seed);
                // Read back as a check that the document is well formed.
                rs::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&doc).map_err(rejected)?;
                return Ok(der::to_pem("PRIVATE KEY", &doc));
            }
            _ => {
                return err(
                    ErrorKind::InvalidInput,
                    format!("cannot generate {alg} keys here; use generate_hmac_secret for HS*, OpenSSL for RSA"),
                )
            }
        }
        .map_err(|_| Error::new(ErrorKind::Internal, "key generation failed"))?;
        Ok(der::to_pem("PRIVATE KEY", doc.as_ref()))
    }

    /// A new random HMAC secret of the hash's output length (the recommended size).
    pub fn generate_hmac_secret(alg: Algorithm) -> Result<Vec<u8>> {
        if alg.family() != KeyFamily::Hmac {
            return Err(family_mismatch(alg, "an HMAC secret"));
        }
        let mut secret = vec![0u8; alg.min_hmac_key_len()];
        random_bytes(&mut secret)?;
        Ok(secret)
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm the key is bound to (RS256 for an RSA JWK that names none).
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Whether this is an RSA key from a JWK without `alg` (see [`Key::accepts`]).
    pub fn verifies_any_rsa_alg(&self) -> bool {
        self.any_rsa_alg
    }

    /// Whether a token signed with `alg` may be checked with this key, when the verifier
    /// allows `allowed` (empty: no list). A key verifies its own algorithm (EdDSA and
    /// Ed25519 being one); an RSA JWK published without `alg` also verifies the other RSA
    /// algorithms the list names explicitly.
    pub fn accepts(&self, alg: Algorithm, allowed: &[Algorithm]) -> bool {
        self.alg.same_as(alg)
            || (self.any_rsa_alg && alg.family() == KeyFamily::Rsa && alg.in_list(allowed))
    }

    /// Whether this key holds private (or secret) material and so can sign.
    pub fn can_sign(&self) -> bool {
        match &self.material {
            Material::Hmac(_) => true,
            Material::Rsa { private, .. } => private.is_some(),
            Material::Ec { private, .. } => private.is_some(),
            Material::Ed25519 { private, .. } => private.is_some(),
        }
    }

    /// The public JWK (never private parts); `None` for HMAC keys, which have no public half.
    pub fn public_jwk(&self) -> Option<Map<String, Value>> {
        let mut jwk = Map::new();
        let mut put = |k: &str, v: String| {
            jwk.insert(k.to_string(), Value::String(v));
        };
        match &self.material {
            Material::Hmac(_) => return None,
            Material::Rsa { n, e, .. } => {
                put("kty", "RSA".into());
                put("n", b64url_encode(n));
                put("e", b64url_encode(e));
            }
            Material::Ec { point, .. } => {
                let half = (point.len() - 1) / 2;
                put("kty", "EC".into());
                put("crv", curve_name(self.alg).into());
                put("x", b64url_encode(&point[1..1 + half]));
                put("y", b64url_encode(&point[1 + half..]));
            }
            Material::Ed25519 { public, .. } => {
                put("kty", "OKP".into());
                put("crv", "Ed25519".into());
                put("x", b64url_encode(public));
            }
        }
        if !self.any_rsa_alg {
            // A key imported without `alg` is published without it, as it came.
            put("alg", self.alg.name().into());
        }
        put("use", "sig".into());
        if let Some(kid) = &self.kid {
            put("kid", kid.clone());
        }
        Some(jwk)
    }

    /// Signs `message` (the JWS signing input) and returns the raw signature.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let no_private = || {
            Error::new(
                ErrorKind::InvalidKey,
                "this key has no private part and cannot sign",
            )
        };
        let failed = |_| Error::new(ErrorKind::Internal, "signing failed");
        match &self.material {
            Material::Hmac(key) => Ok(key.tag(message)),
            Material::Rsa { private, .. } => {
                let pair = private.as_ref().ok_or_else(no_private)?;
                let padding: &'static dyn rs::RsaEncoding = match self.alg {
                    Algorithm::RS384 => &rs::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &rs::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &rs::RSA_PSS_SHA256,
                    Algorithm::PS384 => &rs::RSA_PSS_SHA384,
                    Algorithm::PS512 => &rs::RSA_PSS_SHA512,
                    _ => &rs::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0u8; pair.public().modulus_len()];
                pair.sign(padding, &SystemRandom::new(), message, &mut sig)
                    .map_err(failed)?;
                Ok(sig)
            }
            Material::Ec { private, .. } => {
                let pair = private.as_ref().ok_or_else(no_private)?;
                let sig = pair.sign(&SystemRandom::new(), message).map_err(failed)?;
                Ok(sig.as_ref().to_vec())
            }
            Material::Ed25519 { private, .. } => {
                use ed25519_dalek::Signer;
                let key = private.as_ref().ok_or_else(no_private)?;
                Ok(key.sign(message).to_bytes().to_vec())
            }
        }
    }

    /// Verifies a raw `signature` over `message`. HMAC tags are compared in constant time.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verify_as(self.alg, message, signature)
    }

    /// [`Key::verify`] for a token whose `alg` the key [`Key::accepts`]: an RSA key then
    /// checks the padding and hash that `alg` names.
    pub(crate) fn verify_as(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        let alg = if self.any_rsa_alg && alg.family() == KeyFamily::Rsa {
            alg
        } else {
            self.alg
        };
        match &self.material {
            Material::Hmac(key) => key.check(message, signature),
            Material::Rsa { n, e, .. } => {
                let params: &rs::RsaParameters = match alg {
                    Algorithm::RS384 => &rs::RSA_PKCS1_2048_8192_SHA384,
                    Algorithm::RS512 => &rs::RSA_PKCS1_2048_8192_SHA512,
                    Algorithm::PS256 => &rs::RSA_PSS_2048_8192_SHA256,
                    Algorithm::PS384 => &rs::RSA_PSS_2048_8192_SHA384,
                    Algorithm::PS512 => &rs::RSA_PSS_2048_8192_SHA512,
                    _ => &rs::RSA_PKCS1_2048_8192_SHA256,
                };
                rs::RsaPublicKeyComponents { n, e }
                    .verify(params, message, signature)
                    .is_ok()
            }
            Material::Ec { point, .. } => {
                let alg: &rs::EcdsaVerificationAlgorithm = match alg {
                    Algorithm::ES384 => &rs::ECDSA_P384_SHA384_FIXED,
                    _ => &rs::ECDSA_P256_SHA256_FIXED,
                };
                rs::UnparsedPublicKey::new(alg, point)
                    .verify(message, signature)
                    .is_ok()
            }
            Material::Ed25519 { verifying, .. } => verifying
                .as_ref()
                .is_some_and(|key| key.verify(message, signature)),
        }
    }
}

#[cfg(test)]
mod ed25519_tests {
    use super::super::ed25519::tests::{add_le, xorshift, L};
    use super::*;

    /// ring's verdict, the implementation the core verified with before.
    fn ring_verdict(public: &[u8], message: &[u8], signature: &[u8]) -> bool {
        rs::UnparsedPublicKey::new(&rs::ED25519, public)
            .verify(message, signature)
            .is_ok()
    }

    fn ours(public: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let key = Key::new(
            None,
            Algorithm::EdDSA,
            ed25519_material(public.to_vec(), None),
        );
        key.verify(message, signature)
    }

    #[test]
    fn dalek_signs_the_bytes_ring_signs() {
        // Seeded seeds and messages; the key made from a seed, a PKCS#8 v1 document, a
        // PKCS#8 v2 document (ring's, with the public key) and a JWK with `d`.
        let mut next = xorshift(0x1234_5678_9abc_def1u64);
        let rng = SystemRandom::new();
        for round in 0..24 {
            let seed: [u8; 32] = std::array::from_fn(|_| next() as u8);
            let pair = rs::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
            let message: Vec<u8> = (0..(round * 13)).map(|_| next() as u8).collect();
            let want = pair.sign(&message).as_ref().to_vec();
            let mut v1 = der::ED25519_PKCS8_V1_PREFIX.to_vec();
            v1.extend_from_slice(&seed);
            let jwk = serde_json::json!({
                "kty": "OKP", "crv": "Ed25519",
                "x": b64url_encode(pair.public_key().as_ref()),
                "d": b64url_encode(&seed),
            });
            let keys = [
                Key::ed25519_from_seed(None, &seed).unwrap(),
                Key::from_pem(None, Algorithm::EdDSA, &der::to_pem("PRIVATE KEY", &v1)).unwrap(),
                Key::from_jwk(jwk.as_object().unwrap(), None).unwrap(),
            ];
            for key in &keys {
                assert_eq!(key.sign(&message).unwrap(), want, "round {round}");
                assert!(key.verify(&message, &want));
            }
        }
        // ring's own PKCS#8 v2 (random seed, the public key inside).
        let v2 = rs::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = rs::Ed25519KeyPair::from_pkcs8(v2.as_ref()).unwrap();
        let key = Key::from_pem(
            None,
            Algorithm::EdDSA,
            &der::to_pem("PRIVATE KEY", v2.as_ref()),
        )
        .unwrap();
        assert_eq!(key.sign(b"v2").unwrap(), pair.sign(b"v2").as_ref());
    }

    #[test]
    fn the_pkcs8_seed_reader_takes_only_a_32_byte_seed() {
        let mut v1 = der::ED25519_PKCS8_V1_PREFIX.to_vec();
        v1.extend_from_slice(&[7u8; 32]);
        assert_eq!(der::ed25519_pkcs8_seed(&v1).unwrap(), &[7u8; 32]);
        // The inner OCTET STRING one byte short, and one byte long.
        let mut short = v1.clone();
        short.pop();
        (short[1], short[13], short[15]) = (0x2d, 0x21, 0x1f);
        assert!(der::ed25519_pkcs8_seed(&short).is_err());
        let mut long = v1.clone();
        long.push(0);
        (long[1], long[13], long[15]) = (0x2f, 0x23, 0x21);
        assert!(der::ed25519_pkcs8_seed(&long).is_err());
        // Trailing bytes inside the private key's OCTET STRING.
        let mut trailing = v1.clone();
        trailing.extend_from_slice(&[0x05, 0x00]);
        (trailing[1], trailing[13]) = (0x30, 0x24);
        assert!(der::ed25519_pkcs8_seed(&trailing).is_err());
        assert!(der::ed25519_pkcs8_seed(&v1[..20]).is_err());
    }

    #[test]
    fn ours_and_ring_give_the_same_verdicts() {
        // Seeded: the same keys, messages and mutations every run.
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15u64);
        let mut checked = 0;
        for round in 0..64 {
            let seed: [u8; 32] = std::array::from_fn(|_| next() as u8);
            let pair = rs::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
            let public = pair.public_key().as_ref().to_vec();
            let message: Vec<u8> = (0..(round * 7)).map(|_| next() as u8).collect();
            let good = pair.sign(&message).as_ref().to_vec();
            let mut cases: Vec<(Vec<u8>, Vec<u8>)> = vec![(public.clone(), good.clone())];
            // S + L: the same point, a non-canonical scalar (malleability).
            let mut high_s = good.clone();
            high_s[32..].copy_from_slice(&add_le(&good[32..], &L));
            cases.push((public.clone(), high_s));
            // Single bit flips in R, in S, and in the key.
            let bit = (next() % 512) as usize;
            let mut flipped = good.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            cases.push((public.clone(), flipped));
            let mut other_key = public.clone();
            other_key[(next() % 32) as usize] ^= 1 << (next() % 8);
            cases.push((other_key, good.clone()));
            // Wrong lengths.
            cases.push((public.clone(), good[..63].to_vec()));
            cases.push((public[..31].to_vec(), good.clone()));
            for (key, sig) in cases {
                assert_eq!(
                    ours(&key, &message, &sig),
                    ring_verdict(&key, &message, &sig),
                    "round {round}: key {key:02x?}, signature {sig:02x?}"
                );
                checked += 1;
            }
            assert!(ours(&public, &message, &good), "a good signature verifies");
        }
        // Small-order and non-canonical encodings of the key and of R: the identity, the
        // point of order 2, y = p and y = p + 1 (non-canonical encodings of 0 and 1), and
        // the sign bit set on each.
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        let mut p1 = p;
        p1[0] = 0xee;
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut order2 = [0xffu8; 32];
        order2[0] = 0xec;
        order2[31] = 0x7f;
        let mut points = vec![identity, order2, p, p1, [0u8; 32]];
        for i in 0..points.len() {
            let mut signed = points[i];
            signed[31] |= 0x80;
            points.push(signed);
        }
        for a in &points {
            for r in &points {
                for s in [[0u8; 32], L, {
                    let mut one = [0u8; 32];
                    one[0] = 1;
                    one
                }] {
                    let mut sig = r.to_vec();
                    sig.extend_from_slice(&s);
                    for message in [&b""[..], b"any message"] {
                        // A small-order key (or not a point) verifies nothing here; ring
                        // gives its own verdict, which for the identity can be a forgery.
                        let weak = Ed25519Public::new(a).is_none();
                        let expected = !weak && ring_verdict(a, message, &sig);
                        assert_eq!(
                            ours(a, message, &sig),
                            expected,
                            "key {a:02x?}, R {r:02x?}, S {s:02x?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 64 * 6 + 10 * 10 * 3 * 2);
        // What refusing small-order keys prevents: ring accepts R = identity, S = 0 under the
        // identity key for any message; the core refuses that key at import.
        let mut forged = identity.to_vec();
        forged.extend_from_slice(&[0u8; 32]);
        assert!(ring_verdict(&identity, b"any message", &forged));
        assert!(!ours(&identity, b"any message", &forged));
        let e = Key::ed25519_public(None, Algorithm::EdDSA, identity.to_vec()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WeakKey);
    }
}
