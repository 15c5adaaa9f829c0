//! argon2id version 0x13 (RFC 9106) with a compression function written for AVX-512, on
//! the x86-64 machines that have it. RustCrypto's `argon2` (what every other case uses:
//! other CPUs, argon2i, argon2d, version 0x10) compiles its portable compression with AVX2
//! enabled and leaves the vectorising to the compiler; here the two permutations of a
//! compression run side by side in the two halves of each 512-bit register, with the
//! rotations AVX-512 has as one instruction. Tests hold this module to the crate's output
//! and to RFC 9106's argon2id test vector.
//!
//! Only the compression is new; the rest (the initial hash H0, the variable-length hash H',
//! the order in which blocks are filled and the choice of reference blocks) follows RFC
//! 9106 §3.2–§3.4 as written.
//!
//! [`WorkArea`] is argon2's memory (for this module and for the crate alike) in 2 MiB
//! pages where Linux gives them: each block refers to a random earlier block, and with 4 KiB
//! pages most of those references also miss the TLB (19 MiB is about 4,900 pages).
//!
//! A crate of its own because it needs `unsafe` (the intrinsics, calling a function
//! compiled for AVX-512 once the CPU is known to have it, an aligned allocation and
//! `madvise`), which authgate-core forbids.
#![deny(unsafe_op_in_unsafe_fn)]

use std::alloc::{self, Layout};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use argon2::{Block, Params};
use blake2::digest::{Digest, Update, VariableOutput};
use blake2::{Blake2b512, Blake2bVar};

/// Slices of a lane (RFC 9106 §3.4: four synchronisation points).
const SYNC_POINTS: usize = 4;
/// Words of a block.
const WORDS: usize = 128;
/// argon2id's type number `y` in H0.
const TYPE_ARGON2ID: u32 = 2;
const VERSION: u32 = 0x13;

/// The size and alignment of a huge page on x86-64 and ARM64 Linux.
const HUGE_PAGE: usize = 2 << 20;

/// argon2's memory: zeroed blocks, aligned to 2 MiB, which Linux is asked to back with
/// huge pages (`MADV_HUGEPAGE`; where transparent huge pages are off, or elsewhere than
/// Linux, they are ordinary pages).
pub struct WorkArea {
    blocks: NonNull<Block>,
    len: usize,
}

// SAFETY: a WorkArea owns its blocks alone, like a Vec<Block>.
unsafe impl Send for WorkArea {}
// SAFETY: shared access only reads (through `Deref`), like a Vec<Block>.
unsafe impl Sync for WorkArea {}

impl WorkArea {
    /// `len` zeroed blocks, or `None` when the allocator has no room (or `len` is 0).
    pub fn new(len: usize) -> Option<WorkArea> {
        let layout = Self::layout(len)?;
        // SAFETY: the layout's size is not zero (checked by `layout`).
        let ptr = unsafe { alloc::alloc(layout) };
        let blocks = NonNull::new(ptr.cast::<Block>())?;
        // Advised before the first touch: the zeroing below faults the pages in, and only
        // pages faulted in after the advice come as huge ones (an aligned allocation is
        // not zeroed by the kernel for us, so `alloc_zeroed` would touch them first).
        advise_huge_pages(ptr, layout.size());
        // SAFETY: `ptr` is valid for `layout.size()` bytes, which we own.
        unsafe { ptr.write_bytes(0, layout.size()) };
        Some(WorkArea { blocks, len })
    }

    fn layout(len: usize) -> Option<Layout> {
        let bytes = len.checked_mul(size_of::<Block>())?;
        if bytes == 0 {
            return None;
        }
        let bytes = bytes.checked_next_multiple_of(HUGE_PAGE)?;
        Layout::from_size_align(bytes, HUGE_PAGE).ok()
    }
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, bytes: usize) {
    // SAFETY: the range is one allocation of ours, 2 MiB-aligned; the advice changes how
    // pages are backed, never their contents. A refusal (THP off) leaves ordinary pages.
    unsafe {
        libc::madvise(ptr.cast(), bytes, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *mut u8, _bytes: usize) {}

impl Deref for WorkArea {
    type Target = [Block];
    fn deref(&self) -> &[Block] {
        // SAFETY: `len` zeroed (so initialised: a Block is plain words) blocks we own.
        unsafe { std::slice::from_raw_parts(self.blocks.as_ptr(), self.len) }
    }
}

impl DerefMut for WorkArea {
    fn deref_mut(&mut self) -> &mut [Block] {
        // SAFETY: as in `deref`, borrowed mutably through `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.blocks.as_ptr(), self.len) }
    }
}

impl Drop for WorkArea {
    fn drop(&mut self) {
        if let Some(layout) = Self::layout(self.len) {
            // SAFETY: allocated in `new` with this same layout.
            unsafe { alloc::dealloc(self.blocks.as_ptr().cast(), layout) }
        }
    }
}

/// Whether this machine runs [`hash_into`] (AVX-512 Foundation, detected at run time).
#[cfg(target_arch = "x86_64")]
pub fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

#[cfg(not(target_arch = "x86_64"))]
pub fn available() -> bool {
    false
}

/// Why [`hash_into`] did not hash: the caller then uses the `argon2` crate, which answers
/// for the inputs with its own errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotHere;

/// argon2id v0x13 of `password` and `salt` (with the optional `secret` and the params'
/// associated data) into `out`, filling `memory`. Declines ([`NotHere`], nothing written)
/// without AVX-512, and for inputs the `argon2` crate would refuse or treat otherwise: a
/// salt under 8 bytes, a length of 2^32 or more, an output under 4 bytes or of another
/// length than `params` names, or fewer blocks than `params.block_count()`.
pub fn hash_into(
    params: &Params,
    secret: Option<&[u8]>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut [Block],
) -> Result<(), NotHere> {
    let fits = |len: usize| u32::try_from(len).is_ok();
    let accepted = available()
        && salt.len() >= argon2::MIN_SALT_LEN
        && fits(salt.len())
        && fits(password.len())
        && secret.is_none_or(|s| fits(s.len()))
        && out.len() >= Params::MIN_OUTPUT_LEN
        && fits(out.len())
        && params.output_len().is_none_or(|len| len == out.len())
        && memory.len() >= params.block_count();
    if !accepted {
        return Err(NotHere);
    }
    let lanes = params.p_cost() as usize;
    // RFC 9106 §3.2: m' = 4·p·floor(m / 4p), and at least 8 blocks per lane.
    let segment = (params.m_cost() as usize).max(2 * SYNC_POINTS * lanes) / (SYNC_POINTS * lanes);
    let lane_length = segment * SYNC_POINTS;
    let memory = &mut memory[..lane_length * lanes];

    let h0 = initial_hash(params, secret, password, salt, out.len());
    let mut bytes = [0u8; WORDS * 8];
    for lane in 0..lanes {
        for column in 0..2u32 {
            h_prime(
                &mut bytes,
                &[&h0, &column.to_le_bytes(), &(lane as u32).to_le_bytes()],
            );
            let block = memory[lane * lane_length + column as usize].as_mut();
            for (word, chunk) in block.iter_mut().zip(bytes.chunks_exact(8)) {
                *word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            }
        }
    }

    let shape = Shape {
        lanes,
        segment,
        lane_length,
        passes: params.t_cost() as usize,
        blocks: (lane_length * lanes) as u64,
    };
    for pass in 0..shape.passes {
        for slice in 0..SYNC_POINTS {
            for lane in 0..lanes {
                fill_segment(memory, &shape, pass, slice, lane);
            }
        }
    }

    // The last block of every lane, XORed, hashed to the tag's length.
    let mut last = [0u64; WORDS];
    for lane in 0..lanes {
        let block = memory[lane * lane_length + lane_length - 1].as_ref();
        for (acc, word) in last.iter_mut().zip(block) {
            *acc ^= word;
        }
    }
    for (chunk, word) in bytes.chunks_exact_mut(8).zip(last) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    h_prime(out, &[&bytes]);
    Ok(())
}

/// RFC 9106 §3.2 step 1: H0 over the parameters and every input, each length-prefixed.
fn initial_hash(
    params: &Params,
    secret: Option<&[u8]>,
    password: &[u8],
    salt: &[u8],
    tag_length: usize,
) -> [u8; 64] {
    let le = |n: usize| (n as u32).to_le_bytes();
    let mut h = Blake2b512::new();
    for n in [
        params.p_cost(),
        tag_length as u32,
        params.m_cost(),
        params.t_cost(),
        VERSION,
        TYPE_ARGON2ID,
    ] {
        Digest::update(&mut h, n.to_le_bytes());
    }
    let secret = secret.unwrap_or_default();
    for input in [password, salt, secret, params.data()] {
        Digest::update(&mut h, le(input.len()));
        Digest::update(&mut h, input);
    }
    h.finalize().into()
}

/// RFC 9106 §3.3: the variable-length hash H' of `inputs` (one after the other) into `out`.
fn h_prime(out: &mut [u8], inputs: &[&[u8]]) {
    let length = (out.len() as u32).to_le_bytes();
    if out.len() <= 64 {
        let mut h = blake2b(out.len());
        h.update(&length);
        for input in inputs {
            h.update(input);
        }
        // The length was accepted by `blake2b`: this cannot fail.
        let _ = h.finalize_variable(out);
        return;
    }
    // V1 = H(T || X), V(i+1) = H(Vi); the first 32 bytes of each, then the whole last one.
    let mut h = Blake2b512::new();
    Digest::update(&mut h, length);
    for input in inputs {
        Digest::update(&mut h, input);
    }
    let mut v: [u8; 64] = h.finalize().into();
    let whole = out.len().div_ceil(32) - 2;
    for i in 0..whole {
        out[i * 32..i * 32 + 32].copy_from_slice(&v[..32]);
        if i + 1 < whole {
            v = Blake2b512::digest(v).into();
        }
    }
    let rest = &mut out[whole * 32..];
    let mut h = blake2b(rest.len());
    h.update(&v);
    let _ = h.finalize_variable(rest);
}

/// BLAKE2b with an output of `length` bytes (1 to 64, as every caller passes).
fn blake2b(length: usize) -> Blake2bVar {
    Blake2bVar::new(length).unwrap_or_else(|_| unreachable!("BLAKE2b outputs 1 to 64 bytes"))
}

/// The memory's layout and the number of passes.
struct Shape {
    lanes: usize,
    segment: usize,
    lane_length: usize,
    passes: usize,
    /// m', for the address generator's input block.
    blocks: u64,
}

/// RFC 9106 §3.4: fills the blocks of one segment (`slice` of `lane`) in `pass`.
fn fill_segment(memory: &mut [Block], shape: &Shape, pass: usize, slice: usize, lane: usize) {
    // argon2id: data-independent addresses in the first half of the first pass.
    let independent = pass == 0 && slice < SYNC_POINTS / 2;
    let memory_len = memory.len();
    let zero = [0u64; WORDS];
    let mut input = [0u64; WORDS];
    let mut addresses = [0u64; WORDS];
    if independent {
        input[..6].copy_from_slice(&[
            pass as u64,
            lane as u64,
            slice as u64,
            shape.blocks,
            shape.passes as u64,
            u64::from(TYPE_ARGON2ID),
        ]);
    }
    let next_addresses = |input: &mut [u64; WORDS], addresses: &mut [u64; WORDS]| {
        input[6] += 1;
        // SAFETY: three arrays of 128 words; `available` was checked by the caller.
        unsafe {
            compress(
                zero.as_ptr(),
                input.as_ptr(),
                addresses.as_mut_ptr(),
                false,
                |_| {},
            );
            let first = addresses.as_ptr();
            compress(zero.as_ptr(), first, addresses.as_mut_ptr(), false, |_| {});
        }
    };
    // The first two blocks of each lane were made from H0.
    let first = if pass == 0 && slice == 0 { 2 } else { 0 };
    if independent && first != 0 {
        next_addresses(&mut input, &mut addresses);
    }

    let lane_start = lane * shape.lane_length;
    let base = memory.as_mut_ptr();
    for index in first..shape.segment {
        let column = slice * shape.segment + index;
        let current = lane_start + column;
        let previous = if column == 0 {
            lane_start + shape.lane_length - 1
        } else {
            current - 1
        };
        let random = if independent {
            if index % WORDS == 0 {
                next_addresses(&mut input, &mut addresses);
            }
            addresses[index % WORDS]
        } else {
            // SAFETY: `previous` is below `memory.len()` (asserted when it was made).
            unsafe { (*base.add(previous)).as_ref()[0] }
        };
        let reference = shape.reference(pass, slice, lane, index, random);
        // The next block's reference, fetched while this block's columns are mixed: its
        // address comes from this block's first word (or the address block).
        let next = index + 1;
        let fetch_next = |first_word: u64| {
            if next < shape.segment && !(independent && next % WORDS == 0) {
                let random = if independent {
                    addresses[next % WORDS]
                } else {
                    first_word
                };
                let block = shape.reference(pass, slice, lane, next, random);
                if block < memory_len {
                    prefetch(base.wrapping_add(block).cast());
                }
            }
        };

        // Version 0x13: later passes XOR the new block into the old one. Pointers from one
        // base, as the new block is written while the two it is made of are read.
        assert!(current < memory_len && previous < memory_len && reference < memory_len);
        // SAFETY: the three indexes are in bounds; `compress` reads through raw pointers
        // only, all of `x` and `y` before it writes `out`, so even equal blocks are sound.
        unsafe {
            compress(
                base.add(previous).cast::<u64>(),
                base.add(reference).cast::<u64>(),
                base.add(current).cast::<u64>(),
                pass != 0,
                fetch_next,
            )
        }
    }
}

impl Shape {
    /// RFC 9106 §3.4.1–§3.4.2: the block that block `index` of the segment (`slice` of
    /// `lane`, in `pass`) refers to, from its pseudo-random word.
    fn reference(
        &self,
        pass: usize,
        slice: usize,
        lane: usize,
        index: usize,
        random: u64,
    ) -> usize {
        let column = slice * self.segment + index;
        // Its lane, then its position among the blocks allowed.
        let ref_lane = if pass == 0 && slice == 0 {
            lane
        } else {
            ((random >> 32) % self.lanes as u64) as usize
        };
        let same_lane = ref_lane == lane;
        let area = match (pass, same_lane) {
            (0, true) => column - 1,
            (0, false) => slice * self.segment - usize::from(index == 0),
            (_, true) => self.lane_length - self.segment + index - 1,
            (_, false) => self.lane_length - self.segment - usize::from(index == 0),
        } as u64;
        let x = ((random & 0xffff_ffff) * (random & 0xffff_ffff)) >> 32;
        let relative = area - 1 - ((area * x) >> 32);
        let start = if pass != 0 && slice != SYNC_POINTS - 1 {
            (slice + 1) * self.segment
        } else {
            0
        };
        ref_lane * self.lane_length + (start + relative as usize) % self.lane_length
    }
}

/// Asks for the 1 KiB block at `block` to be brought into the cache (a hint: no fault, no
/// effect on results).
#[cfg(target_arch = "x86_64")]
fn prefetch(block: *const u8) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    for line in 0..16 {
        // SAFETY: a prefetch never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(block.wrapping_add(line * 64).cast()) }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn prefetch(_block: *const u8) {}

/// G(x, y) into `out` (XORed into it when `xor`): 128 words at each pointer.
///
/// # Safety
/// Each pointer is valid for 128 words (a `Block` is exactly its 128 words, aligned to 64
/// bytes); the machine has AVX-512 ([`available`]).
/// `early` is called with the new block's first word as soon as it is known, before the
/// block is complete.
unsafe fn compress(x: *const u64, y: *const u64, out: *mut u64, xor: bool, early: impl FnMut(u64)) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as this function's own contract.
    unsafe {
        simd::compress(x, y, out, xor, early)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (x, y, out, xor, early);
        unreachable!("the AVX-512 argon2 runs on x86-64 only")
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    /// BLAKE2b's addition with argon2's multiplication (RFC 9106 §3.6): a + b + 2·lo(a)·lo(b).
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn bla_mka(a: __m512i, b: __m512i) -> __m512i {
        let product = _mm512_mul_epu32(a, b);
        _mm512_add_epi64(_mm512_add_epi64(a, b), _mm512_add_epi64(product, product))
    }

    /// GB on four columns of two permutations at once (each 256-bit half is one).
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn gb(a: &mut __m512i, b: &mut __m512i, c: &mut __m512i, d: &mut __m512i) {
        *a = bla_mka(*a, *b);
        *d = _mm512_ror_epi64::<32>(_mm512_xor_si512(*d, *a));
        *c = bla_mka(*c, *d);
        *b = _mm512_ror_epi64::<24>(_mm512_xor_si512(*b, *c));
        *a = bla_mka(*a, *b);
        *d = _mm512_ror_epi64::<16>(_mm512_xor_si512(*d, *a));
        *c = bla_mka(*c, *d);
        *b = _mm512_ror_epi64::<63>(_mm512_xor_si512(*b, *c));
    }

    /// The permutation P on the 16 words (a, b, c, d) of each half: GB on the columns,
    /// then on the diagonals (rows b, c, d turned by one, two and three words).
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn permute(a: &mut __m512i, b: &mut __m512i, c: &mut __m512i, d: &mut __m512i) {
        gb(a, b, c, d);
        *b = _mm512_permutex_epi64::<0x39>(*b);
        *c = _mm512_permutex_epi64::<0x4e>(*c);
        *d = _mm512_permutex_epi64::<0x93>(*d);
        gb(a, b, c, d);
        *b = _mm512_permutex_epi64::<0x93>(*b);
        *c = _mm512_permutex_epi64::<0x4e>(*c);
        *d = _mm512_permutex_epi64::<0x39>(*d);
    }

    /// A column pair's register from a row pair's: 128-bit pieces (row r column i, row r
    /// column i+1, row r+1 column i, row r+1 column i+1) reordered to (r i, r+1 i, r i+1,
    /// r+1 i+1), so each half holds one column's four words.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn swap_middle(v: __m512i) -> __m512i {
        _mm512_shuffle_i64x2::<0xd8>(v, v)
    }

    /// Two 128-bit pieces of `a` then two of `b`, as `IMM` picks them.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn pick<const IMM: i32>(a: __m512i, b: __m512i) -> __m512i {
        _mm512_shuffle_i64x2::<IMM>(a, b)
    }

    /// RFC 9106 §3.5: R = X ⊕ Y; P on each row, then on each column; out = (out ⊕) R ⊕ Q.
    /// The block stays in registers: register k of R holds words 8k..8k+7, so row j is
    /// registers 2j and 2j+1. Reads all of `x` and `y` before writing `out`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn compress(
        x: *const u64,
        y: *const u64,
        out: *mut u64,
        xor: bool,
        mut early: impl FnMut(u64),
    ) {
        let mut r = [_mm512_setzero_si512(); 16];
        for (k, rk) in r.iter_mut().enumerate() {
            // SAFETY: x and y hold 128 words (the caller's contract).
            *rk = unsafe {
                _mm512_xor_si512(
                    _mm512_loadu_si512(x.add(k * 8).cast()),
                    _mm512_loadu_si512(y.add(k * 8).cast()),
                )
            };
        }
        // Rows 2p and 2p+1 (one per half): a = words 0..3 of each, b = 4..7, c = 8..11,
        // d = 12..15.
        let mut rows = [[_mm512_setzero_si512(); 4]; 4];
        for (p, row) in rows.iter_mut().enumerate() {
            let (first, second) = (4 * p, 4 * p + 2);
            let mut a = pick::<0x44>(r[first], r[second]);
            let mut b = pick::<0xee>(r[first], r[second]);
            let mut c = pick::<0x44>(r[first + 1], r[second + 1]);
            let mut d = pick::<0xee>(r[first + 1], r[second + 1]);
            permute(&mut a, &mut b, &mut c, &mut d);
            *row = [a, b, c, d];
        }
        // Columns 2c and 2c+1 (column i is words 2i, 2i+1 of rows 0..7): their pieces are
        // register c of each row pair, rows 0–1 in a, 2–3 in b, 4–5 in c, 6–7 in d.
        let mut columns = [[_mm512_setzero_si512(); 4]; 4];
        for (c, column) in columns.iter_mut().enumerate() {
            let mut a = swap_middle(rows[0][c]);
            let mut b = swap_middle(rows[1][c]);
            let mut cc = swap_middle(rows[2][c]);
            let mut d = swap_middle(rows[3][c]);
            permute(&mut a, &mut b, &mut cc, &mut d);
            *column = [a, b, cc, d];
            if c == 0 {
                // Word 0 of the result: row 0, column 0, first word.
                let mut first =
                    _mm_cvtsi128_si64(_mm512_castsi512_si128(_mm512_xor_si512(a, r[0])));
                if xor {
                    // SAFETY: out holds 128 words; it is read here before it is written.
                    first ^= unsafe { out.read() } as i64;
                }
                early(first as u64);
            }
        }
        // Back to rows: register p of column pair c holds (row 2p column 2c, row 2p+1
        // column 2c, row 2p column 2c+1, row 2p+1 column 2c+1).
        let [c0, c1, c2, c3] = columns;
        let pairs = c0.into_iter().zip(c1).zip(c2.into_iter().zip(c3));
        for (p, ((c0, c1), (c2, c3))) in pairs.enumerate() {
            let words = [
                pick::<0x88>(c0, c1),
                pick::<0x88>(c2, c3),
                pick::<0xdd>(c0, c1),
                pick::<0xdd>(c2, c3),
            ];
            for (i, q) in words.into_iter().enumerate() {
                let k = 4 * p + i;
                let mut v = _mm512_xor_si512(q, r[k]);
                // SAFETY: out holds 128 words (the contract); x and y were read above.
                unsafe {
                    if xor {
                        v = _mm512_xor_si512(v, _mm512_loadu_si512(out.add(k * 8).cast()));
                    }
                    _mm512_storeu_si512(out.add(k * 8).cast(), v);
                }
            }
        }
    }
}
