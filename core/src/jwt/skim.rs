//! The claims pass of plain verification ([`super::NoSink`]): a scanner that walks the
//! payload object itself and skips the claims nobody reads (a `permissions` array of a
//! few kilobytes, say) without serde's per-value dispatch, while the registered claims are
//! still read by the same serde seeds as the general path.
//!
//! It accepts and refuses exactly what the serde path does, with the same error: the
//! grammar of RFC 8259, strings without raw control characters, escapes whose `\u`
//! surrogates pair up (checked by serde_json itself for the rare string with an escape),
//! numbers that fit an `f64` (checked by serde_json for any number that is not a short
//! integer), serde_json's nesting limit counted the same way ([`MAX_NESTING`]), and
//! nothing but whitespace after the object. The differential tests below hold the two
//! together on generated and mutated payloads.

use std::borrow::Cow;

use serde::de::DeserializeSeed;

use super::claims::{registered_index, ClaimSink, Registered, RegisteredSeed, Skip, MAX_NESTING};
use crate::error::{Error, ErrorKind};

/// Why a scan stopped.
pub(super) enum Stop {
    /// Not JSON, or not a JSON object: `the payload is not a JSON object`.
    Malformed,
    /// Deeper than [`MAX_NESTING`].
    TooDeep,
    /// A registered claim of the wrong type, or repeated.
    Problem(Error),
}

struct Scan<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    /// For a large payload, where its strings' delimiters are (see [`Marks`]).
    marks: Option<Marks>,
}

/// Payloads from this size on have their strings found through [`Marks`]: one vector pass
/// over the text, after which a string without an escape is its next two marks, found by
/// bit arithmetic instead of a scan that each closing quote waits on. Below it, the pass
/// and its buffer cost more than they save.
const MARKS_FROM: usize = 1024;

/// The marked bytes of a payload (`"`, `\`, below 0x20: what ends a plain run in a
/// string), a bit per byte, and a cursor over them. Every mark at or after the cursor is
/// pending: the cursor only moves past marks it has returned, or to an exact position.
struct Marks {
    words: Vec<u64>,
    /// The 64-byte block the cursor is in, and its pending marks.
    block: usize,
    bits: u64,
}

impl Marks {
    fn new(bytes: &[u8]) -> Marks {
        let mut words = Vec::new();
        authgate_json_marks::mark(bytes, &mut words);
        let bits = words.first().copied().unwrap_or(0);
        Marks {
            words,
            block: 0,
            bits,
        }
    }

    /// The first pending mark (`usize::MAX` if none is left), passing empty blocks.
    #[inline(always)]
    fn first(&mut self) -> usize {
        first_mark(&self.words, &mut self.block, &mut self.bits)
    }

    /// Passes the first pending mark.
    #[inline(always)]
    fn pass(&mut self) {
        self.bits &= self.bits.wrapping_sub(1);
    }

    /// Moves the cursor to `i`: every mark from `i` on pending, none before.
    fn seek(&mut self, i: usize) {
        self.block = i / 64;
        self.bits = self
            .words
            .get(self.block)
            .map_or(0, |w| w & (u64::MAX << (i % 64)));
    }
}

/// The first pending mark of a cursor at `block` with pending `bits` (`usize::MAX` if none
/// is left), moving it past empty blocks.
#[inline(always)]
fn first_mark(words: &[u64], block: &mut usize, bits: &mut u64) -> usize {
    while *bits == 0 {
        match words.get(*block + 1) {
            Some(&w) => {
                *block += 1;
                *bits = w;
            }
            None => return usize::MAX,
        }
    }
    *block * 64 + bits.trailing_zeros() as usize
}

// serde_json's recursion limit is 128 levels and is not configurable here: the payload
// object plus 126 more. The scanner counts the same way.
const _: () = assert!(MAX_NESTING == 127);

const ONES: u64 = u64::MAX / 255;
const HIGHS: u64 = ONES << 7;

/// The first index at or after `i` holding `"`, `\` or a byte below 0x20, or `b.len()`.
/// Eight bytes per step (the lowest flagged byte of each step is exact).
#[inline]
fn plain_run_end(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let ctrl = x.wrapping_sub(ONES * 0x20) & !x;
        let q = x ^ (ONES * u64::from(b'"'));
        let quote = q.wrapping_sub(ONES) & !q;
        let s = x ^ (ONES * u64::from(b'\\'));
        let slash = s.wrapping_sub(ONES) & !s;
        let hit = (ctrl | quote | slash) & HIGHS;
        if hit != 0 {
            return i + hit.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

impl<'a> Scan<'a> {
    fn peek(&self) -> u8 {
        // 0 is never valid where a token is expected, so the end reads as malformed.
        self.b.get(self.i).copied().unwrap_or(0)
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// Asks serde_json for its verdict on `text[start..self.i]`, one complete value.
    fn serde_accepts(&self, start: usize) -> bool {
        let mut de = serde_json::Deserializer::from_str(&self.text[start..self.i]);
        Skip.deserialize(&mut de).is_ok()
    }

    /// A string at `self.i` (which holds `"`): [`Scan::string`], with the common case (no
    /// escape: a plain run up to the closing quote) inline in the caller.
    #[inline(always)]
    fn string_fast(&mut self, strict: bool) -> Result<(), Stop> {
        if let Some(marks) = &mut self.marks {
            // The opening quote is a mark: the first pending one unless the cursor was
            // left behind (a string read by `string`, whitespace between tokens).
            if marks.first() != self.i {
                marks.seek(self.i);
            }
            marks.pass();
            let end = marks.first();
            if self.b.get(end) == Some(&b'"') {
                marks.pass();
                self.i = end + 1;
                return Ok(());
            }
            return self.string(strict).map(drop);
        }
        let end = plain_run_end(self.b, self.i + 1);
        if self.b.get(end) == Some(&b'"') {
            self.i = end + 1;
            return Ok(());
        }
        self.string(strict).map(drop)
    }

    /// With marks, after a string in an array: the plain strings that follow it with bare
    /// commas between them (`,"b","c"`), as [`Scan::string_fast`] reads each, in a loop that
    /// keeps the cursor in registers. Stops before the first comma it does not pass (one
    /// followed by anything else, or by a string with an escape or a raw control
    /// character, which the general steps then read).
    #[inline(always)]
    fn string_run(&mut self) {
        let Some(marks) = &mut self.marks else {
            return;
        };
        let (b, mut i) = (self.b, self.i);
        let (mut block, mut bits) = (marks.block, marks.bits);
        let words = &marks.words[..];
        while b.get(i) == Some(&b',')
            && b.get(i + 1) == Some(&b'"')
            && first_mark(words, &mut block, &mut bits) == i + 1
        {
            // Past the opening quote (the first pending mark), then the next mark.
            let (mut next_block, mut next_bits) = (block, bits & bits.wrapping_sub(1));
            let end = first_mark(words, &mut next_block, &mut next_bits);
            if b.get(end) != Some(&b'"') {
                break;
            }
            (block, bits) = (next_block, next_bits & next_bits.wrapping_sub(1));
            i = end + 1;
        }
        marks.block = block;
        marks.bits = bits;
        self.i = i;
    }

    /// A string at `self.i` (which holds `"`); returns whether it had an escape. `strict`
    /// also checks that `\u` surrogates pair up.
    #[inline(never)]
    fn string(&mut self, strict: bool) -> Result<bool, Stop> {
        let start = self.i;
        self.i += 1;
        let mut escaped = false;
        loop {
            self.i = plain_run_end(self.b, self.i);
            match self.peek() {
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    escaped = true;
                    match self.b.get(self.i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 2,
                        Some(b'u') => {
                            let hex = self.b.get(self.i + 2..self.i + 6).ok_or(Stop::Malformed)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(Stop::Malformed);
                            }
                            self.i += 6;
                        }
                        _ => return Err(Stop::Malformed),
                    }
                }
                // A raw control character, or the end of the payload.
                _ => return Err(Stop::Malformed),
            }
        }
        // serde_json reads every string as text, refusing unpaired surrogates (\ud800).
        if strict && escaped && !self.serde_accepts(start) {
            return Err(Stop::Malformed);
        }
        Ok(escaped)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_ascii_digit() {
            self.i += 1;
        }
        self.i - start
    }

    /// A number: RFC 8259's grammar here; serde_json decides whether one that is not a
    /// short integer fits (`1e400` does not).
    fn number(&mut self, strict: bool) -> Result<(), Stop> {
        let start = self.i;
        if self.peek() == b'-' {
            self.i += 1;
        }
        let int_start = self.i;
        let n = self.digits();
        if n == 0 || (n > 1 && self.b[int_start] == b'0') {
            return Err(Stop::Malformed);
        }
        let mut simple = n <= 18;
        if self.peek() == b'.' {
            self.i += 1;
            if self.digits() == 0 {
                return Err(Stop::Malformed);
            }
            simple = false;
        }
        if let b'e' | b'E' = self.peek() {
            self.i += 1;
            if let b'+' | b'-' = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(Stop::Malformed);
            }
            simple = false;
        }
        if strict && !simple && !self.serde_accepts(start) {
            return Err(Stop::Malformed);
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Stop> {
        if self.b.get(self.i..self.i + word.len()) != Some(word) {
            return Err(Stop::Malformed);
        }
        self.i += word.len();
        Ok(())
    }

    /// An object member's name and its colon, at `self.i`.
    fn member_name(&mut self, strict: bool) -> Result<(), Stop> {
        if self.peek() != b'"' {
            return Err(Stop::Malformed);
        }
        self.string_fast(strict)?;
        self.ws();
        if self.peek() != b':' {
            return Err(Stop::Malformed);
        }
        self.i += 1;
        Ok(())
    }

    /// Skips one value at nesting level 1 (a member of the payload object), without
    /// recursion: `kinds` holds one bit per open container (1 = object), `deep` the bits
    /// of containers below the 128th (only a lenient skip goes that deep).
    ///
    /// `strict` is what serde_json's `deserialize_any` checks (an unregistered claim);
    /// lenient is its `IgnoredAny` (grammar only: no nesting limit, no surrogate pairing,
    /// no number range), used to find the extent of a registered claim's value, which
    /// serde_json then reads itself.
    fn skip_value(&mut self, strict: bool) -> Result<(), Stop> {
        let mut kinds: u128 = 0;
        let mut deep: Vec<bool> = Vec::new();
        let mut open = 0usize;
        loop {
            self.ws();
            match self.peek() {
                b'"' => {
                    self.string_fast(strict)?;
                    // An array's run of strings with bare commas between them (`"a","b"`,
                    // what large claims hold) stays in this loop: what the general steps
                    // below would do for each, without their whitespace and kind checks.
                    if kinds & 1 == 0 && open > 0 {
                        self.string_run();
                        while self.peek() == b',' && self.b.get(self.i + 1) == Some(&b'"') {
                            self.i += 1;
                            self.string_fast(strict)?;
                        }
                    }
                }
                c @ (b'{' | b'[') => {
                    // The payload object is level 1.
                    if strict && 1 + open + 1 > MAX_NESTING {
                        return Err(Stop::TooDeep);
                    }
                    let object = c == b'{';
                    self.i += 1;
                    self.ws();
                    if self.peek() != if object { b'}' } else { b']' } {
                        if open >= 128 {
                            deep.push(kinds >> 127 == 1);
                        }
                        kinds = kinds << 1 | u128::from(object);
                        open += 1;
                        if object {
                            self.member_name(strict)?;
                        }
                        continue;
                    }
                    self.i += 1;
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number(strict)?,
                _ => return Err(Stop::Malformed),
            }
            // After a value: close what ends here, or go on after a comma.
            loop {
                if open == 0 {
                    return Ok(());
                }
                self.ws();
                let object = kinds & 1 == 1;
                match self.peek() {
                    b',' => {
                        self.i += 1;
                        if object {
                            self.ws();
                            self.member_name(strict)?;
                        }
                        break;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return Err(Stop::Malformed),
                }
                self.i += 1;
                kinds >>= 1;
                open -= 1;
                if open >= 128 {
                    kinds |= u128::from(deep.pop() == Some(true)) << 127;
                }
            }
        }
    }
}

/// Where the marks are a byte loop (no vector route for this CPU: arm64 for now), the
/// scanner never uses them.
#[cfg(not(test))]
fn marks_from() -> usize {
    if authgate_json_marks::VECTORISED {
        MARKS_FROM
    } else {
        usize::MAX
    }
}

/// Tests run the scanner both ways on payloads of every size.
#[cfg(test)]
fn marks_from() -> usize {
    tests::MARKS_FROM.with(std::cell::Cell::get)
}

/// The payload object's single pass for a sink that skips unregistered claims.
pub(super) fn parse<'a, S: ClaimSink>(
    payload: &'a str,
    required: &[String],
    out: &mut Registered<'a>,
    sink: &mut S,
) -> Result<(), Stop> {
    let mut s = Scan {
        text: payload,
        b: payload.as_bytes(),
        i: 0,
        marks: (payload.len() >= marks_from()).then(|| Marks::new(payload.as_bytes())),
    };
    s.ws();
    if s.peek() != b'{' {
        return Err(Stop::Malformed);
    }
    s.i += 1;
    s.ws();
    let mut seen = 0u8;
    if s.peek() == b'}' {
        s.i += 1;
    } else {
        loop {
            if s.peek() != b'"' {
                return Err(Stop::Malformed);
            }
            let start = s.i;
            let name: Cow<'a, str> = if s.string(true)? {
                serde_json::from_str(&payload[start..s.i]).map_err(|_| Stop::Malformed)?
            } else {
                Cow::Borrowed(&payload[start + 1..s.i - 1])
            };
            for (i, req) in required.iter().enumerate() {
                if *req == name {
                    out.required_found |= 1 << i;
                }
            }
            let index = registered_index(&name);
            if let Some(index) = index {
                // Before the colon, as serde_json's map access checks it.
                if seen & (1 << index) != 0 {
                    return Err(Stop::Problem(Error::new(
                        ErrorKind::MalformedToken,
                        format!("claim `{name}` appears more than once"),
                    )));
                }
                seen |= 1 << index;
            }
            s.ws();
            if s.peek() != b':' {
                return Err(Stop::Malformed);
            }
            s.i += 1;
            match index {
                None => s.skip_value(true)?,
                Some(index) => {
                    // The value's extent, then serde_json reads exactly that value
                    // (as the general path does: same checks, same verdict).
                    s.ws();
                    let start = s.i;
                    s.skip_value(false)?;
                    let mut de = serde_json::Deserializer::from_str(&payload[start..s.i]);
                    let read = RegisteredSeed {
                        index,
                        name: &name,
                        out: &mut *out,
                        sink: &mut *sink,
                    }
                    .deserialize(&mut de);
                    match read {
                        Ok(None) => {}
                        Ok(Some(problem)) => return Err(Stop::Problem(problem)),
                        Err(_) => return Err(Stop::Malformed),
                    }
                }
            }
            s.ws();
            match s.peek() {
                b',' => {
                    s.i += 1;
                    s.ws();
                }
                b'}' => {
                    s.i += 1;
                    break;
                }
                _ => return Err(Stop::Malformed),
            }
        }
    }
    s.ws();
    if s.i != s.b.len() {
        return Err(Stop::Malformed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde::de::{DeserializeSeed, Deserializer};

    use std::cell::Cell;

    use super::super::claims::{validate_into, ClaimSink, NoSink, RegisteredValue, Skip};
    use crate::jwt::Validation;

    thread_local! {
        /// The payload size from which this thread's scans use marks.
        pub(super) static MARKS_FROM: Cell<usize> = const { Cell::new(super::MARKS_FROM) };
    }

    /// The scanner's verdict, with the marks and without (which must agree).
    fn scan_both_ways(p: &str, v: &Validation, now: u64) -> crate::Result<super::super::Claims> {
        MARKS_FROM.with(|m| m.set(0));
        let marked = validate_into(p.to_string(), v, now, &mut NoSink);
        MARKS_FROM.with(|m| m.set(usize::MAX));
        let plain = validate_into(p.to_string(), v, now, &mut NoSink);
        MARKS_FROM.with(|m| m.set(super::MARKS_FROM));
        assert_eq!(marked, plain, "payload {p:?}");
        marked
    }

    /// The general path: unregistered claims skipped through serde, as a binding's sink
    /// that builds them would read them.
    struct SerdeSkip;

    impl ClaimSink for SerdeSkip {
        fn registered(&mut self, _: &str, _: RegisteredValue<'_>) {}
        fn other<'de, D: Deserializer<'de>>(&mut self, _: &str, d: D) -> Result<(), D::Error> {
            Skip.deserialize(d)
        }
    }

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.below(from.len())]
        }
    }

    const NAMES: &[&str] = &[
        "\"exp\"",
        "\"nbf\"",
        "\"iat\"",
        "\"iss\"",
        "\"sub\"",
        "\"aud\"",
        "\"jti\"",
        "\"scope\"",
        "\"\\u0065xp\"",
        "\"a\"",
        "\"permissions\"",
        "\"x\\ud800\"",
        "\"\\ud83d\\ude00\"",
        "\"caf\u{e9}\"",
        "\"\"",
        "\"a\\\"b\"",
    ];
    const SCALARS: &[&str] = &[
        "0",
        "-0",
        "7",
        "1700000000",
        "253402300799",
        "253402300800",
        "-5",
        "1.5",
        "1e3",
        "-1E+2",
        "1e-400",
        "123456789012345678",
        "0.0e99999999999999999999",
        "true",
        "false",
        "null",
        "\"\"",
        "\"api\"",
        "\"https://auth.example\"",
        "\"a\\u00e9\\n\\t\\\\ \\/\"",
        "\"\\ud83d\\ude00\"",
        "\"\u{e9}t\u{e9} \u{1f600}\"",
        "\"orders:read:region-001\"",
        "\"long string without any escape in it at all.....\"",
        "\"a\\\"b\"",
        "\"\\\\\"",
    ];
    /// Values serde_json refuses (or reads as a float) where they stand.
    const ODD_SCALARS: &[&str] = &[
        "1e400",
        "-1e400",
        "12345678901234567890",
        "99999999999999999999999999999999999",
        "1e99999999999999999999",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800x\"",
        "\"\\ud800\\u0041\"",
        "\"x\\u12g4\"",
        "01",
        "1.",
        "\"\u{1}\"",
    ];

    fn scalar<'a>(r: &mut Rng) -> &'a str {
        if r.below(12) == 0 {
            r.pick(ODD_SCALARS)
        } else {
            r.pick(SCALARS)
        }
    }

    fn value(r: &mut Rng, depth: usize, out: &mut String) {
        match r.below(if depth > 4 { 3 } else { 6 }) {
            0..=2 => out.push_str(scalar(r)),
            3 | 4 => {
                out.push('[');
                for i in 0..r.below(5) {
                    if i > 0 {
                        out.push_str(if r.below(8) == 0 { " ,\n" } else { "," });
                    }
                    value(r, depth + 1, out);
                }
                out.push(']');
            }
            _ => {
                out.push('{');
                for i in 0..r.below(4) {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(r.pick(NAMES));
                    out.push_str(if r.below(4) == 0 { " : " } else { ":" });
                    value(r, depth + 1, out);
                }
                out.push('}');
            }
        }
    }

    fn payload(r: &mut Rng) -> String {
        let mut out = String::from(if r.below(10) == 0 { " {" } else { "{" });
        for i in 0..r.below(7) {
            if i > 0 {
                out.push(',');
            }
            out.push_str(r.pick(NAMES));
            out.push(':');
            if r.below(40) == 0 {
                // A large claim of long plain strings, as the 2–8 KB tokens carry.
                out.push('[');
                for k in 0..50 + r.below(250) {
                    if k > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    for _ in 0..r.below(90) {
                        if r.below(60) == 0 {
                            out.push_str(r.pick(&["\\\"", "\\\\", "\\u00e9"]));
                        }
                        out.push(['a', 'Z', ':', '-', '0', ' ', '\u{e9}', '\u{1f600}'][r.below(8)]);
                    }
                    out.push('"');
                }
                out.push(']');
            } else if r.below(12) == 0 {
                // Around serde_json's nesting limit.
                let n = 120 + r.below(12);
                let (open, close) = if r.below(2) == 0 {
                    ("[", "]")
                } else {
                    ("{\"k\":", "}")
                };
                out.push_str(&open.repeat(n));
                out.push_str(scalar(r));
                out.push_str(&close.repeat(n));
            } else {
                value(r, 1, &mut out);
            }
        }
        out.push('}');
        if r.below(10) == 0 {
            out.push_str(" \n");
        }
        // Mutations: most payloads get a few edits, at character boundaries.
        let mut chars: Vec<char> = out.chars().collect();
        let alphabet: Vec<char> =
            "{}[],:\"\\ \t\n\r0123456789eE.+-atrufnlsxu/bABCDEF\u{1}\u{b}\u{c}\u{7f}\u{a0}\u{e9}\u{feff}"
            .chars()
            .collect();
        let edits = if r.below(2) == 0 { 0 } else { 1 + r.below(3) };
        for _ in 0..edits {
            if chars.is_empty() {
                break;
            }
            let at = r.below(chars.len());
            match r.below(3) {
                0 => {
                    chars.remove(at);
                }
                1 => chars.insert(at, alphabet[r.below(alphabet.len())]),
                _ => chars[at] = alphabet[r.below(alphabet.len())],
            }
        }
        chars.into_iter().collect()
    }

    /// The scanner and the serde path give the same result (claims or the same error,
    /// message included) on generated payloads, valid and mutated.
    #[test]
    fn skim_agrees_with_the_serde_path() {
        let mut r = Rng(0x2545_F491_4F6C_DD1D);
        let validations = [
            Validation::default(),
            Validation {
                required_claims: vec!["exp".into(), "a".into(), "sub".into()],
                audiences: vec!["api".into()],
                issuers: vec!["https://auth.example".into()],
                ..Validation::default()
            },
            Validation {
                required_claims: vec![],
                accept_any_audience: true,
                leeway: u64::MAX,
                ..Validation::default()
            },
        ];
        let (mut accepted, mut refused) = (0, 0);
        let mut outcomes = std::collections::BTreeSet::new();
        for n in 0..300_000 {
            let p = payload(&mut r);
            let v = &validations[n % validations.len()];
            let fast = scan_both_ways(&p, v, 1_700_000_000);
            let general = validate_into(p.clone(), v, 1_700_000_000, &mut SerdeSkip);
            assert_eq!(fast, general, "payload {p:?}");
            if let Err(e) = &fast {
                let m = e.message();
                outcomes.insert(if m.contains("nest deeper") {
                    "nesting"
                } else if m.contains("more than once") {
                    "duplicate"
                } else if m.contains("not a JSON object") {
                    "not json"
                } else if m.contains("must be") {
                    "wrong type"
                } else {
                    "claims check"
                });
            }
            // Read to the end (claims, or a claims check refusing them) or refused as JSON.
            match &fast {
                Err(e) if e.kind() == crate::error::ErrorKind::MalformedToken => refused += 1,
                _ => accepted += 1,
            }
        }
        // Both kinds of outcome were exercised in numbers, and every kind of refusal.
        assert!(
            accepted > 40_000 && refused > 40_000,
            "{accepted} / {refused}"
        );
        assert_eq!(outcomes.len(), 5, "{outcomes:?}");
    }

    /// Strings on and across the 64-byte blocks of the marks: a run of strings in an array,
    /// shifted byte by byte, then each way a run can end (an escape, a raw control
    /// character, whitespace, an empty string, a payload cut short), with and without the
    /// marks, against serde.
    #[test]
    fn string_runs_across_mark_blocks() {
        let v = Validation {
            required_claims: vec![],
            accept_any_audience: true,
            leeway: u64::MAX,
            ..Validation::default()
        };
        let tails = [
            "\"b\\\"c\",\"d\"]",
            "\"b\u{1}c\",\"d\"]",
            "\"\",\"\",\" x\"]",
            "\"b\"\n,\"c\"]",
            "\"b\\\\\",\"c\"]",
            "\"b",
            "\"b\",\"",
            "\"b\",",
            "\"\\\"\",\"c\"]",
            "\"b\n\",\"c\"]",
            "\",\",\" \"]",
            "[\"a\",\"b\"],\"c\"]",
            "{\"k\":\"a\",\"b\":\"c\"},\"d\"]",
            "\"b\",\"\\u00e9\",\"\",\"x\"]",
            "\"b\",\"\u{e9}\u{1f600}\",\"\"]",
            "\"b\",,\"c\"]",
            "\"b\",\"c\",]",
            "\"b\"\"c\"]",
            "\"b\",\"c\\u00",
            "\"b\",\"\\ud800\",\"x\"]",
            "\"b\",\"c\u{7f}\",\"\u{1f}\"]",
            "\"b\", \"c\",\"d\"]",
            "\"b\",\"c\",\"d\",\"e\",\"f\"]",
        ];
        for shift in 0..64 {
            for mid in [0, 1, 2, 30, 60, 61, 62, 63, 64, 65] {
                for tail in tails {
                    for end in ["}", "} x", ",\"z\":[\"q\",\"r\"]}"] {
                        let p = format!(
                            "{}{{\"a\":[\"{}\",\"{}\",{tail}{end}",
                            " ".repeat(shift),
                            "p".repeat(shift),
                            "m".repeat(mid),
                        );
                        let fast = scan_both_ways(&p, &v, 1_700_000_000);
                        let general = validate_into(p.clone(), &v, 1_700_000_000, &mut SerdeSkip);
                        assert_eq!(fast, general, "payload {p:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn nesting_limit_and_deep_registered_values() {
        let v = Validation {
            required_claims: vec![],
            accept_any_audience: true,
            ..Validation::default()
        };
        let check = |p: String| {
            let fast = scan_both_ways(&p, &v, 0);
            assert_eq!(fast, validate_into(p.clone(), &v, 0, &mut SerdeSkip), "{p}");
            fast
        };
        for n in [125usize, 126, 127, 128, 300] {
            let nested = format!("{{\"a\":{}1{}}}", "[".repeat(n), "]".repeat(n));
            let got = check(nested);
            assert_eq!(got.is_ok(), n <= 126, "{n}");
            // A registered claim is read by serde's seeds: deep is a type error there.
            let aud = format!("{{\"aud\":{}\"x\"{}}}", "[".repeat(n), "]".repeat(n));
            assert_eq!(
                check(aud).unwrap_err().kind(),
                crate::error::ErrorKind::InvalidClaim
            );
            let exp = format!("{{\"exp\":{}{}}}", "{\"k\":".repeat(n), "}".repeat(n));
            assert!(check(exp.replacen("}", "1}", 1)).is_err());
            // Past 128 levels the scanner keeps the kinds of the outer containers aside:
            // mixed arrays and objects must come back in the right order.
            let (open, close) = ("[{\"k\":".repeat(n), "}]".repeat(n));
            let mixed = format!("{{\"aud\":{open}\"x\"{close}, \"sub\":\"s\"}}");
            assert_eq!(
                check(mixed).unwrap_err().kind(),
                crate::error::ErrorKind::InvalidClaim
            );
            // The outermost pair closed in the wrong order: found only if the kinds kept
            // aside were restored right.
            let swapped = format!("{}]}}", &close[..close.len() - 2]);
            let broken = format!("{{\"aud\":{open}\"x\"{swapped}}}");
            assert_eq!(
                check(broken).unwrap_err().message(),
                "the payload is not a JSON object"
            );
        }
    }
}
