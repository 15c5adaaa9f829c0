//! Times one argon2id hash with the default parameters (19 MiB, t=2, p=1), this crate
//! against RustCrypto's `argon2` in the same work area, alternating, the median of 15 each:
//! `cargo run --release -p authgate-argon2-avx512 --example timing`.
use std::time::Instant;

use argon2::{Algorithm, Argon2, Params, Version};
use authgate_argon2_avx512::{hash_into, WorkArea};

fn main() {
    let params = Params::new(19 * 1024, 2, 1, Some(32)).expect("params");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut memory = WorkArea::new(params.block_count()).expect("memory");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut out = [0u8; 32];
    for _ in 0..15 {
        let t = Instant::now();
        if hash_into(
            &params,
            None,
            b"password",
            b"somesalt",
            &mut out,
            &mut memory,
        )
        .is_err()
        {
            println!("no AVX-512 here");
            return;
        }
        ours.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        argon
            .hash_password_into_with_memory(b"password", b"somesalt", &mut out, &mut memory[..])
            .expect("hash");
        theirs.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ours.sort_by(f64::total_cmp);
    theirs.sort_by(f64::total_cmp);
    let (a, b) = (ours[7], theirs[7]);
    println!("AVX-512 {a:.2} ms, argon2 crate {b:.2} ms: {:.2}x", b / a);
}
