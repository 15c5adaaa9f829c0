//! Small shared helpers: base64url, the OS random source, SHA-256, constant-time equality.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{err, ErrorKind, Result};

const NOT_B64: u8 = 0xFF;

const fn b64url_table() -> [u8; 256] {
    let mut table = [NOT_B64; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
}
static B64URL: [u8; 256] = b64url_table();

/// How many bytes `len` base64url characters decode to, or `None` for an impossible length.
pub(crate) fn b64url_decoded_len(len: usize) -> Option<usize> {
    match len % 4 {
        1 => None,
        r => Some(len / 4 * 3 + r.saturating_sub(1)),
    }
}

/// Strict base64url without padding (RFC 7515 §2) into `out`, which must hold
/// [`b64url_decoded_len`] bytes. Padding, other characters and non-zero trailing bits
/// are refused, so one value has exactly one encoding. Returns the length written.
pub(crate) fn b64url_decode_to(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let len = b64url_decoded_len(input.len())?;
    let out = out.get_mut(..len)?;
    // Long inputs (token payloads, RSA signatures): whole 4-character groups through
    // base64-simd (AVX2/SSE4.1/NEON chosen at run time; it refuses padding and every
    // character outside the alphabet), the last 0, 2 or 3 characters below, where the
    // trailing-bits check lives.
    if input.len() >= SIMD_FROM {
        let whole = input.len() / 4 * 4;
        let (head, rest) = input.split_at(whole);
        let (out_head, out_rest) = out.split_at_mut(whole / 4 * 3);
        base64_simd::URL_SAFE_NO_PAD
            .decode(head, base64_simd::Out::from_slice(out_head))
            .ok()?;
        return b64url_decode_scalar(rest, out_rest).map(|_| len);
    }
    b64url_decode_scalar(input, out).map(|_| len)
}

/// Below this many characters the table-driven loop is as fast as the SIMD decoder's
/// dispatch.
const SIMD_FROM: usize = 64;

/// [`b64url_decode_to`] without SIMD; `out` is exactly the decoded length.
fn b64url_decode_scalar(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let len = out.len();
    let v = |c: u8| B64URL[c as usize] as u32;
    let w = |c: u8| B64URL[c as usize] as u64;
    let mut bad = 0u32;
    let mut wide_bad = 0u64;
    // Eight characters (48 bits) per step, then four at a time.
    let wide = input.len() / 8;
    for (c, o) in input
        .chunks_exact(8)
        .zip(out.chunks_exact_mut(6))
        .take(wide)
    {
        let n = (w(c[0]) << 42)
            | (w(c[1]) << 36)
            | (w(c[2]) << 30)
            | (w(c[3]) << 24)
            | (w(c[4]) << 18)
            | (w(c[5]) << 12)
            | (w(c[6]) << 6)
            | w(c[7]);
        wide_bad |= w(c[0]) | w(c[1]) | w(c[2]) | w(c[3]) | w(c[4]) | w(c[5]) | w(c[6]) | w(c[7]);
        o.copy_from_slice(&n.to_be_bytes()[2..]);
    }
    bad |= (wide_bad & 0xFF) as u32;
    let input = &input[wide * 8..];
    let out = &mut out[wide * 6..];
    let len_rest = out.len();
    let chunks = input.chunks_exact(4);
    let rest = chunks.remainder();
    for (c, o) in chunks.zip(out.chunks_exact_mut(3)) {
        let (a, b, x, d) = (v(c[0]), v(c[1]), v(c[2]), v(c[3]));
        bad |= a | b | x | d;
        let n = (a << 18) | (b << 12) | (x << 6) | d;
        o[0] = (n >> 16) as u8;
        o[1] = (n >> 8) as u8;
        o[2] = n as u8;
    }
    let tail = &mut out[len_rest / 3 * 3..];
    match *rest {
        [a, b] => {
            let (a, b) = (v(a), v(b));
            bad |= a | b;
            tail[0] = ((a << 2) | (b >> 4)) as u8;
        }
        [a, b, x] => {
            let (a, b, x) = (v(a), v(b), v(x));
            bad |= a | b | x;
            let n = (a << 10) | (b << 4) | (x >> 2);
            tail[0] = (n >> 8) as u8;
            tail[1] = n as u8;
        }
        _ => {}
    }
    // Valid sextets are < 64, so any NOT_B64 shows in `bad & !63`. The last character
    // must not carry bits that fall off the end (non-canonical encodings).
    let trailing_ok = match *rest {
        [_, b] => v(b) & 0x0F == 0,
        [_, _, x] => v(x) & 0x03 == 0,
        _ => true,
    };
    (bad & !63 == 0 && trailing_ok).then_some(len)
}

/// Strict base64url without padding (RFC 7515 §2): padding and non-canonical trailing
/// bits are rejected, so one token has exactly one encoding.
pub fn b64url_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0u8; b64url_decoded_len(input.len())?];
    b64url_decode_to(input, &mut out)?;
    Some(out)
}

pub fn b64url_encode(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(input)
}

pub(crate) fn b64url_encode_into(input: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(input, out)
}

/// `n` in decimal, written at the end of `buf`: the digits, with no allocation.
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    // Two digits per division (a 13-digit time in milliseconds is 7 steps, not 13).
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut at = buf.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + n as u8;
    }
    &buf[at..]
}

/// Appends `n` in decimal to `out`, with no allocation of its own.
pub fn push_decimal(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    // Decimal digits are ASCII.
    out.push_str(std::str::from_utf8(decimal(n, &mut digits)).unwrap_or("0"));
}

/// Fill `buf` from the operating system's CSPRNG.
pub fn random_bytes(buf: &mut [u8]) -> Result<()> {
    getrandom::getrandom(buf).or_else(|_| {
        err(
            ErrorKind::Internal,
            "the operating system's random source failed",
        )
    })
}

/// `n` random bytes as base64url text.
pub(crate) fn random_b64url(n: usize) -> Result<String> {
    let mut buf = vec![0u8; n];
    random_bytes(&mut buf)?;
    Ok(b64url_encode(&buf))
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Decodes `%XX` escapes (RFC 3986) into UTF-8 text; `what` names the input in errors.
pub(crate) fn percent_decode(value: &str, what: &str) -> Result<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(b) = hex else {
                return err(
                    ErrorKind::InvalidInput,
                    format!("the {what} has a malformed %-escape"),
                );
            };
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .or_else(|_| err(ErrorKind::InvalidInput, format!("the {what} is not UTF-8")))
}

/// Constant-time equality for secrets and their hashes.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A seeded xorshift64 sequence for tests: the same inputs every run.
#[cfg(test)]
pub(crate) fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn decimals() {
        let mut buf = [0u8; 20];
        // Every power of ten and its neighbours (each digit count, both sides of each
        // pair boundary), every number below 100,000, and a fixed-seed walk.
        let mut values: Vec<u64> = (0..100_000).collect();
        let mut p = 1u64;
        while let Some(next) = p.checked_mul(10) {
            values.extend([p - 1, p, p + 1, next - 1]);
            p = next;
        }
        values.extend([u64::MAX, u64::MAX - 1, 1_796_386_342_484]);
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.extend([x, x >> (x % 64)]);
        }
        for n in values {
            assert_eq!(decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }

    use super::*;

    #[test]
    fn base64url_matches_the_reference_engine_and_is_strict() {
        for len in 0..200usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let text = URL_SAFE_NO_PAD.encode(&data);
            assert_eq!(b64url_decode(text.as_bytes()), Some(data), "len {len}");
        }
        for bad in [
            "A", "AB=", "AB==", "A+BC", "A/BC", "AB C", "AB.C", "AB\u{e9}", "AF", "AAB",
        ] {
            assert_eq!(b64url_decode(bad.as_bytes()), None, "{bad:?}");
        }
        // Same bytes, canonical forms only: "AA" and "AAA" decode, "AB" and "AAB" do not.
        assert_eq!(b64url_decode(b"AA"), Some(vec![0]));
        assert_eq!(b64url_decode(b"AAA"), Some(vec![0, 0]));
    }

    /// The SIMD path (inputs of 64 characters and more) and the scalar path give the
    /// reference engine's verdict, including one bad character at every position and
    /// non-canonical last characters after a SIMD-decoded head.
    #[test]
    fn base64url_long_inputs_agree_with_the_reference_engine() {
        let reference = |t: &[u8]| URL_SAFE_NO_PAD.decode(t).ok();
        let bad_bytes = [b'=', b'+', b'/', b' ', b'.', b'\n', 0, 0x80, 0xC3, 0xFF];
        for len in [48usize, 63, 64, 65, 66, 95, 96, 97, 98, 130, 257, 700] {
            let data: Vec<u8> = (0..len).map(|i| (i * 131 + 7) as u8).collect();
            let text = URL_SAFE_NO_PAD.encode(&data).into_bytes();
            assert_eq!(b64url_decode(&text), Some(data), "len {len}");
            for at in 0..text.len() {
                for &bad in &bad_bytes {
                    let mut t = text.clone();
                    t[at] = bad;
                    assert_eq!(b64url_decode(&t), None, "len {len}, {bad:#x} at {at}");
                }
            }
            // Every value of the last character: only canonical ones decode.
            for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
                let mut t = text.clone();
                *t.last_mut().unwrap() = *c;
                assert_eq!(b64url_decode(&t), reference(&t), "len {len}, last {c}");
            }
        }
        // Seeded random strings, mostly from the alphabet.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ ";
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let len = (next() % 200) as usize;
            let noisy = next() % 4 == 0;
            let t: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next() as usize;
                    alphabet[r % if noisy { alphabet.len() } else { 64 }]
                })
                .collect();
            assert_eq!(
                b64url_decode(&t),
                reference(&t),
                "{:?}",
                String::from_utf8_lossy(&t)
            );
        }
    }
}
