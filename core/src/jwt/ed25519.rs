//! Ed25519 verification (RFC 8032 §5.1.7) with the rules of ed25519-dalek's `verify`:
//! cofactorless, `S` canonical (below the group order), the recomputed `R` compared with
//! the signature's `R` as bytes (so a non-canonical `R` never matches). Small-order keys are
//! refused when the key is made.
//!
//! The check is `R == [S]B - [k]A`. ed25519-dalek computes it with one double-scalar
//! multiplication: 253 doublings, the base point from a static table, `A` from a table of
//! eight multiples built per call. A key that verifies again and again (a KeySet's key, a
//! service's webhook key) gets a table of its own instead: `-A` in the same radix-16 form
//! as curve25519-dalek's base-point table (32 × 8 points, 30 KiB), so both products are
//! 64 table additions and 4 doublings, with no doubling chain. That is about 1.3x faster
//! (docs/benchmarks.md), but building the table takes about as long as 30 verifications
//! (each of its 256 points is made affine, an inversion each): it is built on a key's
//! `TABLE_AFTER`th verification, when the time the table would have saved so far equals
//! what it costs (a key used less never pays for it; one used more pays at most twice).
//! A key used once (a DPoP proof's key, a key checked at import) never builds it.
//!
//! Everything here is public data (the key, the message, the signature), so nothing needs
//! to run in constant time; curve25519-dalek's table multiplication does anyway.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsBasepointTable, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::BasepointTable;
use sha2::{Digest, Sha512};

/// A key's verifications before its table is built: the table costs about 950 µs and
/// saves about 7.5 µs a verification (Intel Xeon; the ratio holds on other x86-64).
pub(crate) const TABLE_AFTER: u32 = 128;

/// An Ed25519 public key ready to verify.
pub(crate) struct Ed25519Public {
    /// The key as given: what goes into the challenge hash.
    compressed: [u8; 32],
    /// `-A`, decompressed once.
    minus_a: EdwardsPoint,
    /// Verifications so far, counted until `table` is built.
    uses: AtomicU32,
    table: OnceLock<Box<EdwardsBasepointTable>>,
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
        let table = match self.table.get() {
            Some(table) => Some(&**table),
            None if self.uses.fetch_add(1, Ordering::Relaxed) >= TABLE_AFTER => Some(
                &**self
                    .table
                    .get_or_init(|| Box::new(EdwardsBasepointTable::create(&self.minus_a))),
            ),
            None => None,
        };
        self.check(message, signature, table)
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
mod tests {
    use super::*;
    use ed25519_dalek::Verifier;

    /// The group order L, little-endian.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];

    fn add_le(a: &[u8], b: &[u8]) -> [u8; 32] {
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

    #[test]
    fn the_table_is_built_on_the_key_s_use_after_table_after() {
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[5u8; 32]).unwrap();
        use ring::signature::KeyPair;
        let key = Ed25519Public::new(pair.public_key().as_ref()).unwrap();
        let good = pair.sign(b"m").as_ref().to_vec();
        let mut bad = good.clone();
        bad[40] ^= 4;
        for use_ in 0..TABLE_AFTER {
            // Valid and invalid signatures both count.
            let signature = if use_ % 2 == 0 { &good } else { &bad };
            assert_eq!(key.verify(b"m", signature), use_ % 2 == 0);
            assert!(key.table.get().is_none(), "use {use_}");
        }
        assert!(key.verify(b"m", &good));
        assert!(key.table.get().is_some());
        assert!(!key.verify(b"m", &bad));
        assert!(!key.verify(b"n", &good));
        assert!(key.verify(b"m", &good));
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
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
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

    #[test]
    fn torsion_in_the_key_or_r() {
        // Keys and R with a small-order component: A + T and R + T for each of the 8 torsion
        // points T. The group arithmetic is the same in both paths; dalek's verdict holds.
        let torsion = curve25519_dalek::constants::EIGHT_TORSION;
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[9u8; 32]).unwrap();
        use ring::signature::KeyPair;
        let public = pair.public_key().as_ref().to_vec();
        let point = CompressedEdwardsY(public.clone().try_into().unwrap())
            .decompress()
            .unwrap();
        let message = b"torsion";
        let good = pair.sign(message).as_ref().to_vec();
        let r = CompressedEdwardsY(good[..32].try_into().unwrap())
            .decompress()
            .unwrap();
        let mut valid = 0;
        for t in torsion {
            let mixed_key = (point + t).compress().to_bytes();
            valid += usize::from(assert_agrees(&mixed_key, message, &good));
            let mut mixed_r = (r + t).compress().to_bytes().to_vec();
            mixed_r.extend_from_slice(&good[32..]);
            valid += usize::from(assert_agrees(&public, message, &mixed_r));
            // A small-order key alone is refused.
            assert!(Ed25519Public::new(t.compress().as_bytes()).is_none());
        }
        // Only T = identity leaves the signature valid (once for the key, once for R).
        assert_eq!(valid, 2);
    }
}
