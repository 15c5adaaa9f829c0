//! The AVX-512 argon2id against RFC 9106's test vector and against RustCrypto's `argon2`
//! over seeded parameters and inputs. On a machine without AVX-512 there is nothing to run
//! (authgate-core then uses the crate alone); the test says so on stderr.

use argon2::{Algorithm, Argon2, AssociatedData, Block, ParamsBuilder, Version};
use authgate_argon2_avx512::{available, hash_into};

fn params(m: u32, t: u32, p: u32, out: usize, ad: &[u8]) -> argon2::Params {
    let mut b = ParamsBuilder::new();
    b.m_cost(m).t_cost(t).p_cost(p).output_len(out);
    if !ad.is_empty() {
        b.data(AssociatedData::new(ad).expect("associated data of 32 bytes or fewer"));
    }
    b.build().expect("valid parameters")
}

fn ours(
    params: &argon2::Params,
    secret: Option<&[u8]>,
    pwd: &[u8],
    salt: &[u8],
    len: usize,
) -> Vec<u8> {
    let mut memory = vec![Block::default(); params.block_count()];
    let mut out = vec![0u8; len];
    hash_into(params, secret, pwd, salt, &mut out, &mut memory).expect("hashed here");
    out
}

fn crate_hash(
    params: &argon2::Params,
    secret: Option<&[u8]>,
    pwd: &[u8],
    salt: &[u8],
    len: usize,
) -> Vec<u8> {
    let argon = match secret {
        Some(s) => Argon2::new_with_secret(s, Algorithm::Argon2id, Version::V0x13, params.clone())
            .expect("secret"),
        None => Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()),
    };
    let mut out = vec![0u8; len];
    argon
        .hash_password_into(pwd, salt, &mut out)
        .expect("the crate hashes");
    out
}

fn skip() -> bool {
    if !available() {
        eprintln!("no AVX-512 on this machine: nothing to compare");
        return true;
    }
    false
}

/// RFC 9106 §5.3 (argon2id, version 0x13): m=32, t=3, p=4, 32-byte tag, password 32 × 0x01,
/// salt 16 × 0x02, secret 8 × 0x03, associated data 12 × 0x04.
#[test]
fn rfc9106_argon2id_test_vector() {
    if skip() {
        return;
    }
    let p = params(32, 3, 4, 32, &[4; 12]);
    let tag = ours(&p, Some(&[3; 8]), &[1; 32], &[2; 16], 32);
    let want = "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659";
    let got: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got, want);
}

/// xorshift64*, seeded: the same cases on every run.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn agrees_with_the_argon2_crate_on_seeded_inputs() {
    if skip() {
        return;
    }
    let mut r = Seeded(0x0a26_0e2d_5eed_0001);
    for case in 0..120 {
        let lanes = 1 + r.below(4) as u32;
        // Below 8 blocks per lane, at the minimum, odd sizes (rounded down to 4·p), and up
        // to 1 MiB; one to four passes (the second pass XORs into the first).
        let m = match case % 4 {
            0 => 8 * lanes,
            1 => 8 * lanes + r.below(64) as u32,
            2 => 64 + r.below(1024) as u32,
            _ => 256 + r.below(768) as u32,
        };
        let t = 1 + r.below(4) as u32;
        // Tags of 4 to 64 bytes take one BLAKE2b; longer ones take H''s chain.
        let len = match case % 3 {
            0 => 32,
            1 => 4 + r.below(61) as usize,
            _ => 65 + r.below(200) as usize,
        };
        let n = r.below(80) as usize;
        let pwd = r.bytes(n);
        let n = 8 + r.below(40) as usize;
        let salt = r.bytes(n);
        let n = r.below(48) as usize;
        let secret = (case % 2 == 0).then(|| r.bytes(n));
        let n = if case % 5 == 0 {
            1 + r.below(32) as usize
        } else {
            0
        };
        let ad = r.bytes(n);
        let p = params(m, t, lanes, len, &ad);
        assert_eq!(
            ours(&p, secret.as_deref(), &pwd, &salt, len),
            crate_hash(&p, secret.as_deref(), &pwd, &salt, len),
            "case {case}: m={m} t={t} p={lanes} len={len}"
        );
    }
}

/// The default parameters (19 MiB, two passes), and a work area reused from a larger hash
/// with stale blocks in it: the result depends on the inputs only.
#[test]
fn agrees_at_the_default_parameters_in_a_reused_area() {
    if skip() {
        return;
    }
    let p = params(19 * 1024, 2, 1, 32, &[]);
    let mut memory = vec![Block::default(); 20 * 1024];
    for block in &mut memory {
        block.as_mut().fill(0x5a5a_5a5a_5a5a_5a5a);
    }
    let mut out = [0u8; 32];
    hash_into(
        &p,
        Some(b"pepper-of-sixteen-bytes"),
        b"correct horse",
        b"saltsaltsalt",
        &mut out,
        &mut memory,
    )
    .expect("hashed here");
    assert_eq!(
        out.to_vec(),
        crate_hash(
            &p,
            Some(b"pepper-of-sixteen-bytes"),
            b"correct horse",
            b"saltsaltsalt",
            32
        )
    );
}

/// What the crate refuses or reads otherwise is declined, with nothing written.
#[test]
fn declines_what_the_crate_would_refuse() {
    let p = params(64, 1, 1, 32, &[]);
    let mut memory = vec![Block::default(); 64];
    let mut out = [7u8; 32];
    let mut short = [7u8; 3];
    let mut other = [7u8; 16];
    let mut few = vec![Block::default(); 63];
    use authgate_argon2_avx512::NotHere;
    assert_eq!(
        hash_into(&p, None, b"pw", b"short", &mut out, &mut memory),
        Err(NotHere)
    );
    assert_eq!(
        hash_into(&p, None, b"pw", b"saltsalt", &mut short, &mut memory),
        Err(NotHere)
    );
    assert_eq!(
        hash_into(&p, None, b"pw", b"saltsalt", &mut other, &mut memory),
        Err(NotHere)
    );
    assert_eq!(
        hash_into(&p, None, b"pw", b"saltsalt", &mut out, &mut few),
        Err(NotHere)
    );
    assert_eq!(out, [7u8; 32]);
    assert_eq!(
        hash_into(&p, None, b"pw", b"saltsalt", &mut out, &mut memory).is_ok(),
        available()
    );
}
