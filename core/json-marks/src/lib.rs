//! The bytes of a JSON text that end a plain run inside a string — `"`, `\` and the bytes
//! below 0x20 (control characters, which a string may not hold raw) — as a bitmap: bit `j`
//! of word `w` stands for byte `64 * w + j`. authgate-core's claims scanner walks a large
//! payload's strings through it (a string without an escape is the next two marks), where
//! finding each closing quote by itself costs a chain of dependent steps per string.
//!
//! One pass, 64 bytes a step: AVX2 where the CPU has it (found at run time), SSE2 on every
//! other x86-64, a byte loop elsewhere (and for the last partial block). The three agree by
//! test, byte for byte, on every byte value and alignment.
//!
//! A crate of its own because the vector loads need `unsafe`, which authgate-core
//! forbids.
#![deny(unsafe_op_in_unsafe_fn)]

/// Sets `out` to the marks of `bytes`: `bytes.len().div_ceil(64)` words, bit `j` of word
/// `w` set exactly when byte `64 * w + j` is `"`, `\` or below 0x20 (the bits past the end
/// are clear).
pub fn mark(bytes: &[u8], out: &mut Vec<u64>) {
    out.clear();
    out.resize(bytes.len().div_ceil(64), 0);
    let whole = bytes.len() / 64;
    let (blocks, tail) = bytes.split_at(whole * 64);
    vector_blocks(blocks, &mut out[..whole]);
    if !tail.is_empty() {
        out[whole] = portable_word(tail);
    }
}

/// Whether [`mark`] runs vector code on this target (x86-64). Elsewhere it is a byte loop,
/// slower than the search it would replace: callers should not use it there.
pub const VECTORISED: bool = cfg!(target_arch = "x86_64");

/// Whether a byte is marked.
#[inline]
pub fn is_mark(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// The marks of up to 64 bytes, a byte at a time.
fn portable_word(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .enumerate()
        .fold(0, |w, (j, &b)| w | u64::from(is_mark(b)) << j)
}

/// The marks of whole 64-byte blocks, a byte at a time (what the vector routes must equal).
pub fn portable_blocks(blocks: &[u8], out: &mut [u64]) {
    for (block, w) in blocks.chunks_exact(64).zip(out) {
        *w = portable_word(block);
    }
}

#[cfg(target_arch = "x86_64")]
fn vector_blocks(blocks: &[u8], out: &mut [u64]) {
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { x86::blocks_avx2(blocks, out) }
    } else {
        x86::blocks_sse2(blocks, out)
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn vector_blocks(blocks: &[u8], out: &mut [u64]) {
    portable_blocks(blocks, out)
}

/// The vector routes, for tests that hold each to [`portable_blocks`] whatever the CPU
/// running them prefers. `None` when this CPU lacks the route's instructions.
pub mod routes {
    /// SSE2 (every x86-64).
    pub fn sse2(blocks: &[u8], out: &mut [u64]) -> Option<()> {
        #[cfg(target_arch = "x86_64")]
        {
            super::x86::blocks_sse2(blocks, out);
            Some(())
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (blocks, out);
            None
        }
    }

    /// AVX2, where the CPU has it.
    pub fn avx2(blocks: &[u8], out: &mut [u64]) -> Option<()> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { super::x86::blocks_avx2(blocks, out) };
            return Some(());
        }
        let _ = (blocks, out);
        None
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Marks of whole blocks with SSE2.
    pub(super) fn blocks_sse2(blocks: &[u8], out: &mut [u64]) {
        // SAFETY: SSE2 is part of x86-64 itself: every CPU this runs on has it.
        unsafe { blocks_sse2_enabled(blocks, out) }
    }

    #[target_feature(enable = "sse2")]
    fn blocks_sse2_enabled(blocks: &[u8], out: &mut [u64]) {
        for (block, w) in blocks.chunks_exact(64).zip(out) {
            let mut word = 0u64;
            for (k, part) in block.chunks_exact(16).enumerate() {
                // SAFETY: `part` is 16 readable bytes; the load is unaligned.
                let v = unsafe { _mm_loadu_si128(part.as_ptr().cast::<__m128i>()) };
                word |= u64::from(mask16(v)) << (16 * k);
            }
            *w = word;
        }
    }

    #[target_feature(enable = "sse2")]
    #[inline]
    fn mask16(v: __m128i) -> u32 {
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Unsigned `v <= 0x1f`: the minimum with 0x1f is `v` itself.
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, slash), control)) as u16 as u32
    }

    /// Marks of whole blocks with AVX2.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn blocks_avx2(blocks: &[u8], out: &mut [u64]) {
        let quote = _mm256_set1_epi8(b'"' as i8);
        let slash = _mm256_set1_epi8(b'\\' as i8);
        let top = _mm256_set1_epi8(0x1f);
        for (block, w) in blocks.chunks_exact(64).zip(out) {
            // SAFETY: `block` is 64 readable bytes; the loads are unaligned.
            let (lo, hi) = unsafe {
                let p = block.as_ptr().cast::<__m256i>();
                (_mm256_loadu_si256(p), _mm256_loadu_si256(p.add(1)))
            };
            let mask = |v: __m256i| {
                let hits = _mm256_or_si256(
                    _mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, slash)),
                    _mm256_cmpeq_epi8(_mm256_min_epu8(v, top), v),
                );
                u64::from(_mm256_movemask_epi8(hits) as u32)
            };
            *w = mask(lo) | mask(hi) << 32;
        }
    }
}
