//! A set of keys with rotation: sign with the active key, verify with any key that is
//! not retired. Thread-safe: readers take a snapshot, so rotation never blocks verifies.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use serde_json::{Map, Value};

use super::algorithm::Algorithm;
use super::key::Key;
use crate::error::{err, Error, ErrorKind, Result};

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Signs new tokens (one key at a time) and verifies.
    Active,
    /// Verifies only: a previous or a future signing key.
    VerifyOnly,
    /// Neither signs nor verifies; kept so it is listed, until removed.
    Retired,
}

impl KeyStatus {
    /// The name bindings use: `active`, `verify_only`, `retired`.
    pub const fn name(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::VerifyOnly => "verify_only",
            KeyStatus::Retired => "retired",
        }
    }
}

impl std::str::FromStr for KeyStatus {
    type Err = Error;
    fn from_str(name: &str) -> Result<Self> {
        [KeyStatus::Active, KeyStatus::VerifyOnly, KeyStatus::Retired]
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidInput,
                    "a key status is 'active', 'verify_only' or 'retired'",
                )
            })
    }
}

#[derive(Clone)]
struct Entry {
    key: Arc<Key>,
    status: KeyStatus,
}

/// One version of the set. Verification works on a snapshot, so rotation never blocks it.
#[derive(Default)]
pub(crate) struct Snapshot {
    entries: Vec<Entry>,
    /// The first header that verified against this snapshot, parsed. Nearly every token a
    /// server sees has the same header bytes, so later tokens skip decoding, JSON parsing
    /// and key lookup when their header segment is byte-identical. Reset on every change.
    pub(crate) header_memo: OnceLock<HeaderMemo>,
}

/// A header already parsed and matched to its key.
pub(crate) struct HeaderMemo {
    pub segment: Box<str>,
    pub alg: Algorithm,
    pub key: Arc<Key>,
    pub typ: Option<Box<str>>,
}

/// Headers longer than this are not memoized.
pub(crate) const MAX_MEMO_HEADER: usize = 512;

/// A rotating set of keys, shared between threads.
#[derive(Default)]
pub struct KeySet {
    current: RwLock<Arc<Snapshot>>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list: Vec<_> = self
            .snapshot()
            .entries
            .iter()
            .map(|e| (e.key.kid().map(str::to_owned), e.status))
            .collect();
        f.debug_struct("KeySet").field("keys", &list).finish()
    }
}

impl KeySet {
    pub fn new() -> Self {
        KeySet::default()
    }

    /// A set holding one key: the active signing key, or a verify-only key when it is a
    /// public key (which cannot sign).
    pub fn single(key: Key) -> Self {
        let set = KeySet::new();
        let status = if key.can_sign() {
            KeyStatus::Active
        } else {
            KeyStatus::VerifyOnly
        };
        // A fresh set has no kid to collide with, and the status fits the key.
        let _ = set.add(key, status);
        set
    }

    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn update<T>(&self, f: impl FnOnce(&mut Vec<Entry>) -> Result<T>) -> Result<T> {
        let mut guard = self.current.write().unwrap_or_else(|p| p.into_inner());
        let mut next = guard.entries.clone();
        let out = f(&mut next)?;
        *guard = Arc::new(Snapshot {
            entries: next,
            header_memo: OnceLock::new(),
        });
        Ok(out)
    }

    /// Adds a key. Adding an `Active` key demotes the previous active key to verify-only.
    /// Kids must be unique; at most one key may lack a kid.
    pub fn add(&self, key: impl Into<Arc<Key>>, status: KeyStatus) -> Result<()> {
        let key = key.into();
        if status == KeyStatus::Active && !key.can_sign() {
            return err(
                ErrorKind::InvalidKey,
                "a public key cannot be the active signing key",
            );
        }
        self.update(|entries| {
            if entries.iter().any(|e| e.key.kid() == key.kid()) {
                return err(
                    ErrorKind::InvalidInput,
                    "a key with this kid is already in the set",
                );
            }
            if status == KeyStatus::Active {
                demote_active(entries);
            }
            entries.push(Entry { key, status });
            Ok(())
        })
    }

    /// Makes the key with `kid` the signing key; the previous one keeps verifying.
    pub fn activate(&self, kid: &str) -> Result<()> {
        self.update(|entries| {
            let i = find(entries, kid)?;
            if !entries[i].key.can_sign() {
                return err(
                    ErrorKind::InvalidKey,
                    "a public key cannot be the active signing key",
                );
            }
            demote_active(entries);
            entries[i].status = KeyStatus::Active;
            Ok(())
        })
    }

    /// Retires a key: tokens signed with it stop verifying.
    pub fn retire(&self, kid: &str) -> Result<()> {
        self.update(|entries| {
            let i = find(entries, kid)?;
            entries[i].status = KeyStatus::Retired;
            Ok(())
        })
    }

    /// Removes a key from the set.
    pub fn remove(&self, kid: &str) -> Result<()> {
        self.update(|entries| {
            let i = find(entries, kid)?;
            entries.remove(i);
            Ok(())
        })
    }

    /// True when every usable key is an HMAC key: verification is then cheap enough that
    /// bindings need not release their interpreter lock for it.
    pub fn only_hmac(&self) -> bool {
        self.snapshot()
            .entries
            .iter()
            .filter(|e| e.status != KeyStatus::Retired)
            .all(|e| e.key.algorithm().family() == super::algorithm::KeyFamily::Hmac)
    }

    /// (kid, algorithm, status) of each key, in insertion order.
    pub fn list(&self) -> Vec<(Option<String>, Algorithm, KeyStatus)> {
        self.snapshot()
            .entries
            .iter()
            .map(|e| (e.key.kid().map(str::to_owned), e.key.algorithm(), e.status))
            .collect()
    }

    pub(crate) fn active_key(&self) -> Result<Arc<Key>> {
        self.snapshot()
            .entries
            .iter()
            .find(|e| e.status == KeyStatus::Active)
            .map(|e| e.key.clone())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::KeyNotFound,
                    "the key set has no active signing key",
                )
            })
    }
}

impl Snapshot {
    /// The key for a token: by `kid`, or — without a kid — the only usable key for `alg`.
    pub(crate) fn key_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        allowed: &[Algorithm],
    ) -> Result<Arc<Key>> {
        let mut usable = self
            .entries
            .iter()
            .filter(|e| e.status != KeyStatus::Retired);
        let found = match kid {
            Some(kid) => usable.find(|e| e.key.kid() == Some(kid)),
            None => {
                // The one key bound to this algorithm; else the one key that accepts it
                // (an RSA key published without `alg`); else, if the set has one key at
                // all, that key, so the caller reports the algorithm mismatch precisely.
                let usable: Vec<&Entry> = usable.collect();
                let same_alg: Vec<&Entry> = usable
                    .iter()
                    .copied()
                    .filter(|e| e.key.accepts(alg, allowed))
                    .collect();
                let bound: Vec<&Entry> = same_alg
                    .iter()
                    .copied()
                    .filter(|e| !e.key.verifies_any_rsa_alg())
                    .collect();
                match (bound.as_slice(), same_alg.as_slice(), usable.as_slice()) {
                    ([only], _, _) | ([], [only], _) | ([], [], [only]) => Some(*only),
                    _ => None,
                }
            }
        };
        found.map(|e| e.key.clone()).ok_or_else(|| {
            let msg = if kid.is_some() {
                "no usable key has the token's kid"
            } else {
                "the token has no kid and no single key matches its algorithm"
            };
            Error::new(ErrorKind::KeyNotFound, msg)
        })
    }
}

impl KeySet {
    /// The public keys as a JWKS document (`{"keys": [...]}`); HMAC and retired keys are left out.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .snapshot()
            .entries
            .iter()
            .filter(|e| e.status != KeyStatus::Retired)
            .filter_map(|e| e.key.public_jwk().map(Value::Object))
            .collect();
        let mut doc = Map::new();
        doc.insert("keys".into(), Value::Array(keys));
        Value::Object(doc)
    }

    /// Imports the signing keys of a JWKS document as verify-only keys and returns their
    /// kids. Symmetric (`oct`) keys, keys whose `use` is not `sig`, and kinds this library
    /// does not support are skipped; private parts are dropped. No network access.
    ///
    /// All or nothing: two keys of the document sharing a kid (or both without one), or a
    /// kid the set already holds, is an error and no key is added.
    pub fn import_jwks(&self, jwks: &str) -> Result<Vec<String>> {
        let parsed = parse_jwks(jwks)?;
        if !parsed.ambiguous.is_empty() {
            return err(
                ErrorKind::InvalidKey,
                "the JWKS has two keys with one kid (or two without a kid); nothing was imported",
            );
        }
        self.add_all(parsed.keys)
    }

    /// [`KeySet::import_jwks`] for a document fetched from a provider: keys whose kid
    /// is ambiguous are left out (a token naming that kid gets `key_not_found`) and the
    /// rest stay usable. Returns the imported kids and the ambiguous ones.
    #[cfg(feature = "remote-jwks")]
    pub(crate) fn import_jwks_skipping_ambiguous(
        &self,
        jwks: &str,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let parsed = parse_jwks(jwks)?;
        let kids = self.add_all(parsed.keys)?;
        let ambiguous = parsed
            .ambiguous
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect();
        Ok((kids, ambiguous))
    }

    /// Adds verify-only keys in one update: all of them, or none if one's kid is taken.
    fn add_all(&self, keys: Vec<Key>) -> Result<Vec<String>> {
        if keys.is_empty() {
            return err(
                ErrorKind::InvalidKey,
                "the JWKS holds no usable signing key",
            );
        }
        let kids: Vec<String> = keys
            .iter()
            .map(|k| k.kid().unwrap_or_default().to_string())
            .collect();
        self.update(move |entries| {
            if keys
                .iter()
                .any(|k| entries.iter().any(|e| e.key.kid() == k.kid()))
            {
                return err(
                    ErrorKind::InvalidInput,
                    "a key of the JWKS has a kid already in the set; nothing was imported",
                );
            }
            entries.extend(keys.into_iter().map(|key| Entry {
                key: Arc::new(key),
                status: KeyStatus::VerifyOnly,
            }));
            Ok(())
        })?;
        Ok(kids)
    }
}

/// The most keys a JWKS document may list: providers publish a handful, and each EC key
/// costs a curve check at import.
pub const MAX_JWKS_KEYS: usize = 256;

/// The usable keys of a JWKS document with a unique kid, and the kids (`None`: no kid)
/// that more than one usable key named.
struct ParsedJwks {
    keys: Vec<Key>,
    ambiguous: Vec<Option<String>>,
}

fn parse_jwks(jwks: &str) -> Result<ParsedJwks> {
    let doc: Value = serde_json::from_str(jwks)
        .map_err(|_| Error::new(ErrorKind::InvalidKey, "the JWKS is not JSON"))?;
    let Some(Value::Array(documents)) = doc.get("keys") else {
        return err(
            ErrorKind::InvalidKey,
            "a JWKS is an object with a `keys` array",
        );
    };
    if documents.len() > MAX_JWKS_KEYS {
        return err(
            ErrorKind::InvalidKey,
            format!("a JWKS holds at most {MAX_JWKS_KEYS} keys"),
        );
    }
    let mut keys: Vec<Key> = Vec::new();
    for jwk in documents {
        let Value::Object(jwk) = jwk else { continue };
        let usable = jwk.get("kty").and_then(Value::as_str) != Some("oct")
            && jwk
                .get("use")
                .and_then(Value::as_str)
                .is_none_or(|u| u == "sig");
        if !usable {
            continue;
        }
        let public: Map<String, Value> = jwk
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "d" | "p" | "q" | "dp" | "dq" | "qi" | "oth"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Ok(key) = Key::from_jwk(&public, None) {
            keys.push(key);
        }
    }
    let kids: Vec<Option<String>> = keys.iter().map(|k| k.kid().map(str::to_owned)).collect();
    let mut seen: HashMap<&Option<String>, usize> = HashMap::new();
    for kid in &kids {
        *seen.entry(kid).or_default() += 1;
    }
    let mut ambiguous: Vec<Option<String>> = Vec::new();
    let mut unique = Vec::with_capacity(keys.len());
    for (key, kid) in keys.into_iter().zip(&kids) {
        if seen[kid] == 1 {
            unique.push(key);
        } else if !ambiguous.contains(kid) {
            ambiguous.push(kid.clone());
        }
    }
    let keys = unique;
    Ok(ParsedJwks { keys, ambiguous })
}

fn find(entries: &[Entry], kid: &str) -> Result<usize> {
    entries
        .iter()
        .position(|e| e.key.kid() == Some(kid))
        .ok_or_else(|| Error::new(ErrorKind::KeyNotFound, "no key has this kid"))
}

fn demote_active(entries: &mut [Entry]) {
    for e in entries.iter_mut().filter(|e| e.status == KeyStatus::Active) {
        e.status = KeyStatus::VerifyOnly;
    }
}
