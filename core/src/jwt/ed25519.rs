//! Ed25519 verification (RFC 8032 §5.1.7) with the rules of ed25519-dalek's `verify`:
//! cofactorless, `S` canonical (below the group order), the recomputed `R` compared with
//! the signature's `R` as bytes (so a non-canonical `R` never matches). Small-order keys are
//! refused when the key is made.
//!
//! The check is `R == [S]B - [k]A`. ed25519-dalek computes it with one double-scalar
//! multiplication: 253 doublings shared by both products, the base point from a static
//! table, `A` from a table of eight multiples made per call. A key that verifies again and
//! again (a KeySet's key, a webhook or request-signature key) gets a table of its own
//! instead: `-A` in the same radix-16 form as curve25519-dalek's base-point table (32 × 8
//! points, 30 KiB), so both products are 64 table additions and 4 doublings, with no
//! doubling chain: 24 against 32 µs (docs/benchmarks.md, "EdDSA: where the time went").
//!
//! Building the table takes about as long as 125 verifications save (each of its 256 points
//! is made affine, an inversion each), so:
//! - a key builds it after `TABLE_AFTER` signatures it found valid: forged, malformed or
//!   replayed-garbage signatures never count, so only the key's holder can make a key
//!   build one; a key used less never pays, one used more pays at most twice;
//! - at most `MAX_TABLES` tables exist in the process at once (30 MiB); beyond that, keys
//!   keep the double-scalar route. A table is freed with its key;
//! - the build runs on a thread of its own with a known stack (the table is 30 KiB by
//!   value, and the caller's stack may be small), and the call that triggers it waits for
//!   it (about 1 ms, once per key). If no thread can be made, the key keeps the
//!   double-scalar route.
//!
//! A key used once (a DPoP proof's key, a key checked at import) never builds a table;
//! `ClientTokenVerifier` keeps its server keys, so theirs can.
//!
//! Everything here is public data (the key, the message, the signature), so nothing needs
//! to run in constant time; curve25519-dalek's table multiplication does anyway.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::OnceLock;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsBasepointTable, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::BasepointTable;
use sha2::{Digest, Sha512};

/// Valid signatures a key checks before it builds its table: the table costs about 950 µs
/// and saves about 7.5 µs a verification (Intel Xeon, AVX2 backend).
pub(crate) const TABLE_AFTER: u32 = 128;

/// Tables that may exist at once in the process (30 KiB each).
pub(crate) const MAX_TABLES: usize = 1024;

/// Tables alive now (counted by `Table`'s constructor and `Drop`).
static TABLES: AtomicUsize = AtomicUsize::new(0);

/// The stack of the thread that builds a table: the table by value, twice, and room.
const BUILD_STACK: usize = 512 * 1024;

/// A key's table, counted in `TABLES` while it lives.
struct Table(Box<EdwardsBasepointTable>);

impl Table {
    /// Takes a place in the budget and builds `-A`'s table on a thread of its own; `None`
    /// when the budget is spent or no thread can be made.
    fn build(minus_a: EdwardsPoint) -> Option<Table> {
        TABLES
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_TABLES).then_some(n + 1)
            })
            .ok()?;
        let built = std::thread::Builder::new()
            .name("authgate-ed25519-table".into())
            .stack_size(BUILD_STACK)
            .spawn(move || Box::new(EdwardsBasepointTable::create(&minus_a)))
            .ok()
            .and_then(|thread| thread.join().ok());
        match built {
            Some(table) => Some(Table(table)),
            None => {
                TABLES.fetch_sub(1, Ordering::AcqRel);
                None
            }
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        TABLES.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An Ed25519 public key ready to verify.
pub(crate) struct Ed25519Public {
    /// The key as given: what goes into the challenge hash.
    compressed: [u8; 32],
    /// `-A`, decompressed once.
    minus_a: EdwardsPoint,
    /// Valid signatures checked so far, up to `TABLE_AFTER`.
    uses: AtomicU32,
    table: OnceLock<Table>,
}

impl Ed25519Public {
    /// `None` unless `public` is 32 bytes encoding a point outside the small-order
    /// subgroup (a small-order key accepts forgeries: `R` the identity and `S` zero pass
    /// for any message).
    pub(crate) fn new(public: &[u8]) -> Option<Self> {
        let compressed = <[u8; 32]>::try_from(public).ok()?;
        let point = CompressedEdwardsY(compressed).decompress()?;
        if point.is_small_order() {
            return None;
        }
        Some(Self {
            compressed,
            minus_a: -point,
            uses: AtomicU32::new(0),
            table: OnceLock::new(),
        })
    }

    /// Whether `signature` (64 bytes: `R ‖ S`) signs `message` under this key.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        if let Some(table) = self.table.get() {
            return self.check(message, signature, Some(&table.0));
        }
        let valid = self.check(message, signature, None);
        if valid {
            self.count_valid();
        }
        valid
    }

    /// Counts one valid signature; the `TABLE_AFTER`th builds the table. Exactly one
    /// caller sees that count; the others go on without the table meanwhile.
    fn count_valid(&self) {
        let before = self
            .uses
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < TABLE_AFTER).then_some(n + 1)
            });
        if before == Ok(TABLE_AFTER - 1) {
            if let Some(table) = Table::build(self.minus_a) {
                let _ = self.table.set(table);
            }
        }
    }

    /// The check itself, with `-A`'s table or without it.
    fn check(
        &self,
        message: &[u8],
        signature: &[u8],
        table: Option<&EdwardsBasepointTable>,
    ) -> bool {
        let Ok(signature) = <&[u8; 64]>::try_from(signature) else {
            return false;
        };
        let (r, s) = signature.split_at(32);
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(s);
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
            return false;
        };
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(r)
                .chain_update(self.compressed)
                .chain_update(message),
        );
        let expected = match table {
            Some(table) => EdwardsPoint::mul_base(&s) + table.mul_base(&k),
            None => EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &self.minus_a, &s),
        };
        expected.compress().as_bytes() == r
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use curve25519_dalek::traits::IsIdentity;
    use ed25519_dalek::Verifier;

    /// The group order L, little-endian.
    pub(in crate::jwt) const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];

    pub(in crate::jwt) use crate::util::xorshift;

    /// `a + b` for 32-byte little-endian numbers (the carry out dropped).
    pub(in crate::jwt) fn add_le(a: &[u8], b: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
            out[i] = sum as u8;
            carry = sum >> 8;
        }
        out
    }

    fn dalek(public: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let (Ok(public), Ok(signature)) = (
            <[u8; 32]>::try_from(public),
            <[u8; 64]>::try_from(signature),
        ) else {
            return false;
        };
        ed25519_dalek::VerifyingKey::from_bytes(&public).is_ok_and(|key| {
            key.verify(message, &ed25519_dalek::Signature::from_bytes(&signature))
                .is_ok()
        })
    }

    /// Both paths (with and without the key's table), and `verify` on a key's first uses,
    /// give ed25519-dalek's verdict.
    fn assert_agrees(public: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let want = dalek(public, message, signature);
        let Some(key) = Ed25519Public::new(public) else {
            // Only keys dalek cannot use or calls weak.
            let weak = <[u8; 32]>::try_from(public)
                .ok()
                .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
                .is_none_or(|k| k.is_weak());
            assert!(weak, "key {public:02x?} refused");
            return false;
        };
        let table = EdwardsBasepointTable::create(&key.minus_a);
        assert_eq!(key.check(message, signature, None), want, "no table");
        assert_eq!(key.check(message, signature, Some(&table)), want, "table");
        for use_ in 0..3 {
            assert_eq!(key.verify(message, signature), want, "use {use_}");
        }
        assert!(key.table.get().is_none());
        want
    }

    fn signer(seed: u8) -> (ring::signature::Ed25519KeyPair, Vec<u8>) {
        use ring::signature::KeyPair;
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
        let public = pair.public_key().as_ref().to_vec();
        (pair, public)
    }

    /// The one test that builds tables (so it alone moves `TABLES` in this binary): the
    /// count of valid signatures, the build, the budget, and threads crossing the count.
    #[test]
    fn tables_are_built_after_valid_signatures_within_the_budget() {
        let (pair, public) = signer(5);
        let key = Ed25519Public::new(&public).unwrap();
        let good = pair.sign(b"m").as_ref().to_vec();
        let mut bad = good.clone();
        bad[40] ^= 4;
        let before = TABLES.load(Ordering::Acquire);
        for use_ in 0..TABLE_AFTER - 1 {
            assert!(key.verify(b"m", &good));
            // Forged, malformed and wrong-message signatures do not count.
            assert!(!key.verify(b"m", &bad));
            assert!(!key.verify(b"m", &good[..63]));
            assert!(!key.verify(b"n", &good));
            assert!(key.table.get().is_none(), "use {use_}");
        }
        assert_eq!(key.uses.load(Ordering::Relaxed), TABLE_AFTER - 1);
        assert!(key.verify(b"m", &good));
        assert!(key.table.get().is_some());
        assert_eq!(TABLES.load(Ordering::Acquire), before + 1);
        assert!(!key.verify(b"m", &bad));
        assert!(!key.verify(b"n", &good));
        assert!(key.verify(b"m", &good));
        drop(key);
        assert_eq!(TABLES.load(Ordering::Acquire), before);

        // The budget spent: the key keeps the double-scalar route and stops counting.
        let room = MAX_TABLES - before;
        TABLES.fetch_add(room, Ordering::AcqRel);
        let key = Ed25519Public::new(&public).unwrap();
        for _ in 0..TABLE_AFTER + 3 {
            assert!(key.verify(b"m", &good));
            assert!(!key.verify(b"m", &bad));
        }
        assert!(key.table.get().is_none());
        assert_eq!(key.uses.load(Ordering::Relaxed), TABLE_AFTER);
        assert_eq!(TABLES.load(Ordering::Acquire), MAX_TABLES);
        TABLES.fetch_sub(room, Ordering::AcqRel);

        // Four threads crossing the count together: one table, every verdict right.
        let key = Ed25519Public::new(&public).unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..TABLE_AFTER {
                        assert!(key.verify(b"m", &good));
                        assert!(!key.verify(b"m", &bad));
                    }
                });
            }
        });
        assert!(key.table.get().is_some());
        assert_eq!(TABLES.load(Ordering::Acquire), before + 1);
        drop(key);
        assert_eq!(TABLES.load(Ordering::Acquire), before);
    }

    #[test]
    fn rfc_8032_test_vectors() {
        // RFC 8032 §7.1, TEST 1, 2 and 3: (public key, message, signature).
        let cases = [
            (
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                "",
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            ),
            (
                "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                "72",
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
            ),
            (
                "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
                "af82",
                "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
            ),
        ];
        let hex = |t: &str| -> Vec<u8> {
            (0..t.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&t[i..i + 2], 16).unwrap())
                .collect()
        };
        for (public, message, signature) in cases {
            let (public, message, signature) = (hex(public), hex(message), hex(signature));
            assert!(assert_agrees(&public, &message, &signature));
            let mut other = message.clone();
            other.push(0);
            assert!(!assert_agrees(&public, &other, &signature));
        }
    }

    #[test]
    fn both_paths_give_dalek_verdicts() {
        // Seeded: the same keys, messages and mutations every run.
        let mut next = xorshift(0x2545_f491_4f6c_dd1du64);
        let (mut valid, mut invalid) = (0, 0);
        for round in 0..48 {
            let seed: [u8; 32] = std::array::from_fn(|_| next() as u8);
            let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
            use ring::signature::KeyPair;
            let public = pair.public_key().as_ref().to_vec();
            let message: Vec<u8> = (0..(round * 11)).map(|_| next() as u8).collect();
            let good = pair.sign(&message).as_ref().to_vec();
            let mut cases = vec![(public.clone(), good.clone())];
            // S + L: the same point with a non-canonical scalar (malleability).
            let mut high_s = good.clone();
            high_s[32..].copy_from_slice(&add_le(&good[32..], &L));
            cases.push((public.clone(), high_s));
            // S with its top bits set, S = L, S = L - 1 (canonical, wrong).
            let mut top = good.clone();
            top[63] |= 0xe0;
            cases.push((public.clone(), top));
            let mut at_l = good.clone();
            at_l[32..].copy_from_slice(&L);
            cases.push((public.clone(), at_l));
            let mut below_l = good.clone();
            below_l[32..].copy_from_slice(&L);
            below_l[32] -= 1;
            cases.push((public.clone(), below_l));
            // R's sign bit flipped: the other point with the same y.
            let mut sign = good.clone();
            sign[31] ^= 0x80;
            cases.push((public.clone(), sign));
            // One random bit flipped in R or S, and in the key.
            let bit = (next() % 512) as usize;
            let mut flipped = good.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            cases.push((public.clone(), flipped));
            let mut other_key = public.clone();
            other_key[(next() % 32) as usize] ^= 1 << (next() % 8);
            cases.push((other_key, good.clone()));
            // The key with its sign bit flipped (-A): a point, not the signer.
            let mut minus = public.clone();
            minus[31] ^= 0x80;
            cases.push((minus, good.clone()));
            // Wrong lengths.
            cases.push((public.clone(), good[..63].to_vec()));
            cases.push((public.clone(), [&good[..], &[0]].concat()));
            for (key, signature) in cases {
                if assert_agrees(&key, &message, &signature) {
                    valid += 1;
                } else {
                    invalid += 1;
                }
            }
        }
        assert_eq!((valid, invalid), (48, 48 * 10));
    }

    /// `R` for scalar `r`, a key `a·B + t`, and the cofactorless signature of `message`
    /// under it made with `a` (valid for the key exactly when `[k]t` is the identity).
    fn sign_mixed(
        r: Scalar,
        a: Scalar,
        t: EdwardsPoint,
        message: &[u8],
    ) -> ([u8; 32], Vec<u8>, Scalar) {
        let key = (EdwardsPoint::mul_base(&a) + t).compress().to_bytes();
        let big_r = EdwardsPoint::mul_base(&r).compress().to_bytes();
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(big_r)
                .chain_update(key)
                .chain_update(message),
        );
        let s = r + k * a;
        let mut signature = big_r.to_vec();
        signature.extend_from_slice(s.as_bytes());
        (key, signature, k)
    }

    #[test]
    fn keys_with_a_torsion_component() {
        // A = a·B + T for each torsion point T of order 2, 4 and 8, and signatures made with
        // `a`: [S]B - [k]A = R - [k]T, so a signature is valid exactly when [k]T is the
        // identity (k a multiple of T's order). dalek's verdict, on both routes.
        let torsion = curve25519_dalek::constants::EIGHT_TORSION;
        let a = Scalar::from_bytes_mod_order([0x3b; 32]);
        let (mut valid, mut invalid) = (0, 0);
        for (i, t) in torsion.iter().enumerate().skip(1) {
            for round in 0u8..24 {
                let r = Scalar::from_bytes_mod_order([round ^ (i as u8 * 31); 32]);
                let message = [round, i as u8];
                let (key, signature, k) = sign_mixed(r, a, *t, &message);
                let expect = (t * k).is_identity();
                assert_eq!(assert_agrees(&key, &message, &signature), expect);
                if expect {
                    valid += 1;
                } else {
                    invalid += 1;
                }
            }
        }
        // Both outcomes occur (for T of order 2, about half the k are even).
        assert!(
            valid >= 8 && invalid >= 100,
            "{valid} valid, {invalid} invalid"
        );
    }

    #[test]
    fn r_compared_as_bytes() {
        // With `a` known, S = k·a makes [S]B - [k]A the identity, whose encoding is 01 00…00.
        // The same point encoded with y = p + 1 (ee ff…ff 7f) is refused, as is R + T.
        let (pair, public) = signer(9);
        let a_seed = [9u8; 32];
        let expanded: [u8; 64] = Sha512::digest(a_seed).into();
        let mut lower = [0u8; 32];
        lower.copy_from_slice(&expanded[..32]);
        lower[0] &= 248;
        lower[31] &= 127;
        lower[31] |= 64;
        let a = Scalar::from_bytes_mod_order(lower);
        assert_eq!(
            EdwardsPoint::mul_base(&a).compress().as_bytes()[..],
            public[..]
        );
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        assert!(CompressedEdwardsY(non_canonical)
            .decompress()
            .is_some_and(|p| p.is_identity()));
        for (r, valid) in [(identity, true), (non_canonical, false)] {
            let message = b"identity R";
            let k = Scalar::from_hash(
                Sha512::new()
                    .chain_update(r)
                    .chain_update(&public)
                    .chain_update(message),
            );
            let mut signature = r.to_vec();
            signature.extend_from_slice((k * a).as_bytes());
            assert_eq!(assert_agrees(&public, message, &signature), valid);
        }
        // A real signature with its R's point moved by each nonzero torsion point.
        let good = pair.sign(b"torsion").as_ref().to_vec();
        let r = CompressedEdwardsY(good[..32].try_into().unwrap())
            .decompress()
            .unwrap();
        for t in &curve25519_dalek::constants::EIGHT_TORSION[1..] {
            let mut moved = (r + t).compress().to_bytes().to_vec();
            moved.extend_from_slice(&good[32..]);
            assert!(!assert_agrees(&public, b"torsion", &moved));
        }
        assert!(assert_agrees(&public, b"torsion", &good));
    }
}
