//! Times one argon2id hash with the default parameters (19 MiB, t=2, p=1), this crate
//! against RustCrypto's `argon2`, alternating, the median of 15 each:
//! `cargo run --release -p authgate-argon2-avx512 --example timing`.
use std::time::Instant;

use argon2::{Algorithm, Argon2, Block, Params, Version};

fn main() {
    if !authgate_argon2_avx512::available() {
        println!("no AVX-512 here");
        return;
    }
    let params = Params::new(19 * 1024, 2, 1, Some(32)).expect("params");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut memory = authgate_argon2_avx512::WorkArea::new(params.block_count()).expect("memory");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut out = [0u8; 32];
    for _ in 0..15 {
        let t = Instant::now();
        authgate_argon2_avx512::hash_into(
            &params,
            None,
            b"password",
            b"somesalt",
            &mut out,
            &mut memory,
        );
        a.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        argon
            .hash_password_into_with_memory(b"password", b"somesalt", &mut out, &mut memory[..])
            .expect("hash");
        b.push(t.elapsed().as_secs_f64() * 1e3);
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    println!(
        "avx512 {:.2} ms, argon2 crate {:.2} ms, {:.2}x",
        a[7],
        b[7],
        b[7] / a[7]
    );
    let smaps = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    println!(
        "{}",
        smaps
            .lines()
            .filter(|l| l.contains("AnonHuge"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if std::env::args().any(|a| a == "--blocks") {
        for (m, t) in [(256, 152), (2048, 19), (19 * 1024, 2)] {
            println!("m={m} KiB: {:.0} ns a block", per_block(m, t));
            println!(
                "m={m} KiB, huge pages: {:.0} ns a block",
                per_block_huge(m, t)
            );
        }
    }
}

#[allow(dead_code)]
fn per_block(m: u32, t: u32) -> f64 {
    let params = Params::new(m, t, 1, Some(32)).expect("params");
    let mut memory = vec![Block::default(); params.block_count()];
    let mut out = [0u8; 32];
    let mut v = Vec::new();
    for _ in 0..9 {
        let s = Instant::now();
        authgate_argon2_avx512::hash_into(
            &params,
            None,
            b"password",
            b"somesalt",
            &mut out,
            &mut memory,
        );
        v.push(s.elapsed().as_secs_f64() * 1e9 / f64::from(m * t));
    }
    v.sort_by(f64::total_cmp);
    v[4]
}

#[allow(dead_code)]
fn per_block_huge(m: u32, t: u32) -> f64 {
    let params = Params::new(m, t, 1, Some(32)).expect("params");
    let need = params.block_count();
    let mut backing: Vec<Block> = Vec::with_capacity(need + 2048);
    let p = backing.as_mut_ptr() as usize;
    let start = (p + (1 << 21) - 1) & !((1 << 21) - 1);
    let offset = (start - p) / 1024;
    let len = (need * 1024 + (1 << 21) - 1) & !((1 << 21) - 1);
    let r = unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
    println!("madvise {r} offset {offset}");
    backing.resize(offset + need, Block::default());
    let memory = &mut backing[offset..];
    let mut out = [0u8; 32];
    let mut v = Vec::new();
    for _ in 0..9 {
        let s = Instant::now();
        authgate_argon2_avx512::hash_into(
            &params,
            None,
            b"password",
            b"somesalt",
            &mut out,
            memory,
        );
        v.push(s.elapsed().as_secs_f64() * 1e9 / f64::from(m * t));
    }
    v.sort_by(f64::total_cmp);
    v[4]
}
