//! Every route of the marks against a byte-by-byte reading of the definition: each byte
//! value at each position of a block, and seeded random texts of every length up to a few
//! blocks, at every alignment.

use authgate_json_marks::{mark, portable_blocks, routes};

/// The definition, written out: `"`, `\` or a byte below 0x20.
fn oracle(bytes: &[u8]) -> Vec<u64> {
    let mut out = vec![0u64; bytes.len().div_ceil(64)];
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(b, b'"' | b'\\' | 0x00..=0x1f) {
            out[i / 64] |= 1 << (i % 64);
        }
    }
    out
}

// The core's test generator (xorshift64*), shared with its hostile-input tests.
#[path = "../../tests/support/rng.rs"]
mod rng;
use rng::Rng;

/// Mostly JSON-ish text, with every byte value turning up.
fn byte(r: &mut Rng) -> u8 {
    const SPECIAL: &[u8] = b"\"\\\n\t\x00\x1f\x20\x7f\x80\xff\x21\x5b\x5d\x22";
    const TEXT: &[u8] = b"orders:read-01,[]{} \xc3\xa9";
    match r.below(8) {
        0 => SPECIAL[r.below(SPECIAL.len())],
        1 => r.next() as u8,
        _ => TEXT[r.below(TEXT.len())],
    }
}

/// Every whole-block route (those this CPU has) on `blocks`, against the oracle.
fn every_route(blocks: &[u8]) {
    let want = oracle(blocks);
    let mut got = vec![0u64; want.len()];
    portable_blocks(blocks, &mut got);
    assert_eq!(got, want, "portable");
    got.fill(0);
    if routes::sse2(blocks, &mut got).is_some() {
        assert_eq!(got, want, "sse2");
    }
    got.fill(0);
    if routes::avx2(blocks, &mut got).is_some() {
        assert_eq!(got, want, "avx2");
    } else {
        // Said once per run: a CPU without AVX2 leaves that route untested.
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| eprintln!("no AVX2 on this CPU: the AVX2 route was not tested"));
    }
}

#[test]
fn each_byte_value_at_each_position() {
    for value in 0..=255u8 {
        for at in 0..64 {
            let mut block = [b'a'; 128];
            block[at] = value;
            block[127 - at] = value;
            every_route(&block);
            let mut out = Vec::new();
            mark(&block[..at + 1], &mut out);
            assert_eq!(out, oracle(&block[..at + 1]), "{value} at {at}");
        }
    }
}

#[test]
fn random_texts_of_every_length_and_alignment() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let text: Vec<u8> = (0..4096).map(|_| byte(&mut r)).collect();
    let mut out = vec![1, 2, 3];
    for len in 0..=400 {
        for offset in [0, 1, 7, 31, 63] {
            let bytes = &text[offset + len..offset + 2 * len];
            mark(bytes, &mut out);
            assert_eq!(out, oracle(bytes), "length {len}, offset {offset}");
            let whole = len / 64 * 64;
            every_route(&bytes[..whole]);
        }
    }
    // A long text in one call, as a large token's payload.
    mark(&text[3..], &mut out);
    assert_eq!(out, oracle(&text[3..]));
}
