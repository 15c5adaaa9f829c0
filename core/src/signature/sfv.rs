//! The subset of RFC 8941 Structured Field Values that message signatures use —
//! dictionaries whose members are items or inner lists, with parameters — parsed strictly
//! and serialized canonically. Stricter than the RFC in one way: a repeated dictionary key
//! or parameter name is refused rather than silently overwritten, so two implementations
//! can never read different signatures out of one header.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// RFC 8941 §3.3.5: standard alphabet; padding optional on input, always written.
const BYTES_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a field could not be parsed (the caller turns it into its own error kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub &'static str);

type Parsed<T> = Result<T, ParseError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BareItem {
    Integer(i64),
    /// A decimal in thousandths (RFC 8941 decimals have at most three fractional digits).
    Decimal(i64),
    String(String),
    Token(String),
    ByteSeq(Vec<u8>),
    Boolean(bool),
}

pub type Params = Vec<(String, BareItem)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub value: BareItem,
    pub params: Params,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerList {
    pub items: Vec<Item>,
    pub params: Params,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    Item(Item),
    InnerList(InnerList),
}

pub type Dictionary = Vec<(String, Member)>;

/// Looks up a parameter by name.
pub fn param<'p>(params: &'p Params, name: &str) -> Option<&'p BareItem> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn key(&mut self) -> Parsed<String> {
        let start = self.i;
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => self.i += 1,
            _ => {
                return Err(ParseError(
                    "a key must start with a lower-case letter or `*`",
                ))
            }
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || matches!(c, b'_' | b'-' | b'.' | b'*')
            {
                self.i += 1;
            } else {
                break;
            }
        }
        Ok(ascii(&self.s[start..self.i]))
    }

    fn params(&mut self) -> Parsed<Params> {
        let mut params: Params = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare_item()?
            } else {
                BareItem::Boolean(true)
            };
            if params.iter().any(|(k, _)| *k == key) {
                return Err(ParseError("a parameter is repeated"));
            }
            if params.len() >= MAX_PARAMS {
                return Err(ParseError("too many parameters"));
            }
            params.push((key, value));
        }
        Ok(params)
    }

    fn item(&mut self) -> Parsed<Item> {
        let value = self.bare_item()?;
        let params = self.params()?;
        Ok(Item { value, params })
    }

    fn inner_list(&mut self) -> Parsed<InnerList> {
        // The caller has seen '('.
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.eat(b')') {
                let params = self.params()?;
                return Ok(InnerList { items, params });
            }
            if items.len() >= MAX_LIST_ITEMS {
                return Err(ParseError("too many items in an inner list"));
            }
            items.push(self.item()?);
            match self.peek() {
                Some(b' ' | b')') => {}
                _ => return Err(ParseError("inner-list items must be separated by spaces")),
            }
        }
    }

    fn bare_item(&mut self) -> Parsed<BareItem> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"') => self.string(),
            Some(b':') => self.byte_seq(),
            Some(b'?') => self.boolean(),
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => Ok(self.token()),
            _ => Err(ParseError(
                "expected an integer, decimal, string, token, byte sequence or boolean",
            )),
        }
    }

    fn number(&mut self) -> Parsed<BareItem> {
        let negative = self.eat(b'-');
        let start = self.i;
        let mut dot = None;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() {
                self.i += 1;
            } else if c == b'.' && dot.is_none() {
                dot = Some(self.i);
                self.i += 1;
            } else {
                break;
            }
            let len = self.i - start;
            if (dot.is_none() && len > 15) || len > 16 {
                return Err(ParseError("number too long"));
            }
        }
        let digits = &self.s[start..self.i];
        let sign = if negative { -1 } else { 1 };
        match dot {
            None => {
                if digits.is_empty() {
                    return Err(ParseError("expected digits"));
                }
                Ok(BareItem::Integer(sign * digits_value(digits)))
            }
            Some(at) => {
                let (int, frac) = (&self.s[start..at], &self.s[at + 1..self.i]);
                if int.is_empty() || int.len() > 12 || frac.is_empty() || frac.len() > 3 {
                    return Err(ParseError("malformed decimal"));
                }
                let mut thousandths = digits_value(frac);
                for _ in frac.len()..3 {
                    thousandths *= 10;
                }
                Ok(BareItem::Decimal(
                    sign * (digits_value(int) * 1000 + thousandths),
                ))
            }
        }
    }

    fn string(&mut self) -> Parsed<BareItem> {
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(ParseError("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(BareItem::String(out));
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c as char);
                            self.i += 1;
                        }
                        _ => return Err(ParseError("invalid escape in a string")),
                    }
                }
                Some(c @ 0x20..=0x7e) => {
                    out.push(c as char);
                    self.i += 1;
                }
                Some(_) => return Err(ParseError("invalid character in a string")),
            }
        }
    }

    fn token(&mut self) -> BareItem {
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            if is_tchar(c) || c == b':' || c == b'/' {
                self.i += 1;
            } else {
                break;
            }
        }
        BareItem::Token(ascii(&self.s[start..self.i]))
    }

    fn byte_seq(&mut self) -> Parsed<BareItem> {
        self.i += 1;
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=') {
                self.i += 1;
            } else {
                break;
            }
        }
        let encoded = &self.s[start..self.i];
        if !self.eat(b':') {
            return Err(ParseError("unterminated byte sequence"));
        }
        BYTES_B64
            .decode(encoded)
            .map(BareItem::ByteSeq)
            .map_err(|_| ParseError("invalid base64 in a byte sequence"))
    }

    fn boolean(&mut self) -> Parsed<BareItem> {
        self.i += 1;
        let value = match self.peek() {
            Some(b'1') => true,
            Some(b'0') => false,
            _ => return Err(ParseError("a boolean must be ?0 or ?1")),
        };
        self.i += 1;
        Ok(BareItem::Boolean(value))
    }
}

/// At most this many members in a dictionary (signatures or digests in one header).
pub const MAX_MEMBERS: usize = 32;
/// At most this many items in an inner list (covered components).
pub const MAX_LIST_ITEMS: usize = 64;
/// At most this many parameters on one item or inner list.
pub const MAX_PARAMS: usize = 16;

fn digits_value(digits: &[u8]) -> i64 {
    // At most 15 digits: no overflow.
    digits
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'))
}

fn ascii(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Parses a Dictionary (RFC 8941 §4.2.2).
pub fn parse_dictionary(input: &str) -> Parsed<Dictionary> {
    if !input.is_ascii() {
        return Err(ParseError("structured fields are ASCII"));
    }
    let trimmed = input.trim_matches(' ');
    let mut p = Parser {
        s: trimmed.as_bytes(),
        i: 0,
    };
    let mut dict: Dictionary = Vec::new();
    if trimmed.is_empty() {
        return Err(ParseError("empty field"));
    }
    loop {
        let key = p.key()?;
        let member = if p.eat(b'=') {
            if p.peek() == Some(b'(') {
                Member::InnerList(p.inner_list()?)
            } else {
                Member::Item(p.item()?)
            }
        } else {
            Member::Item(Item {
                value: BareItem::Boolean(true),
                params: p.params()?,
            })
        };
        if dict.iter().any(|(k, _)| *k == key) {
            return Err(ParseError("a dictionary key is repeated"));
        }
        if dict.len() >= MAX_MEMBERS {
            return Err(ParseError("too many dictionary members"));
        }
        dict.push((key, member));
        p.skip_ows();
        if p.peek().is_none() {
            return Ok(dict);
        }
        if !p.eat(b',') {
            return Err(ParseError("dictionary members must be separated by commas"));
        }
        p.skip_ows();
        if p.peek().is_none() {
            return Err(ParseError("trailing comma"));
        }
    }
}

/// Whether `key` is a valid RFC 8941 key (dictionary key or parameter name).
pub fn is_key(key: &str) -> bool {
    let mut p = Parser {
        s: key.as_bytes(),
        i: 0,
    };
    p.key().is_ok() && p.i == key.len()
}

pub fn write_bare_item(out: &mut String, item: &BareItem) {
    use std::fmt::Write as _;
    match item {
        BareItem::Integer(n) => {
            let _ = write!(out, "{n}");
        }
        BareItem::Decimal(t) => {
            if *t < 0 {
                out.push('-');
            }
            let t = t.unsigned_abs();
            let _ = write!(out, "{}.", t / 1000);
            let frac = format!("{:03}", t % 1000);
            let frac = frac.trim_end_matches('0');
            out.push_str(if frac.is_empty() { "0" } else { frac });
        }
        BareItem::String(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        BareItem::Token(t) => out.push_str(t),
        BareItem::ByteSeq(b) => {
            out.push(':');
            out.push_str(&BYTES_B64.encode(b));
            out.push(':');
        }
        BareItem::Boolean(b) => out.push_str(if *b { "?1" } else { "?0" }),
    }
}

pub fn write_params(out: &mut String, params: &Params) {
    for (k, v) in params {
        out.push(';');
        out.push_str(k);
        if *v != BareItem::Boolean(true) {
            out.push('=');
            write_bare_item(out, v);
        }
    }
}

pub fn write_item(out: &mut String, item: &Item) {
    write_bare_item(out, &item.value);
    write_params(out, &item.params);
}

pub fn write_inner_list(out: &mut String, list: &InnerList) {
    out.push('(');
    for (i, item) in list.items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_item(out, item);
    }
    out.push(')');
    write_params(out, &list.params);
}

/// Whether a string can be sent as an sf-string (printable ASCII).
pub fn is_sf_string(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(input: &str) -> String {
        let dict = parse_dictionary(input).unwrap();
        let mut out = String::new();
        for (i, (k, m)) in dict.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(k);
            out.push('=');
            match m {
                Member::Item(item) => write_item(&mut out, item),
                Member::InnerList(list) => write_inner_list(&mut out, list),
            }
        }
        out
    }

    #[test]
    fn parses_and_serializes_canonically() {
        assert_eq!(
            round_trip(r#"sig1=("@method"  "@path");created=1;keyid="k", sig2=:AAE=:"#),
            r#"sig1=("@method" "@path");created=1;keyid="k", sig2=:AAE=:"#
        );
        assert_eq!(
            round_trip("a=1.50, b=-0.001, c=?0, d=tok/en:x"),
            "a=1.5, b=-0.001, c=?0, d=tok/en:x"
        );
        assert_eq!(round_trip(r#"a="q\"b\\""#), r#"a="q\"b\\""#);
        // Padding is optional on input.
        assert_eq!(round_trip("a=:AAE:"), "a=:AAE=:");
    }

    #[test]
    fn refuses_malformed_fields() {
        for bad in [
            "",
            "A=1",
            "a=1,",
            "a=1 b=2",
            "a=1, a=2",
            "a=(1;x;x)",
            "a=(1 2",
            "a=(12)(3)",
            "a=\"unterminated",
            "a=\"bad\\escape\"",
            "a=:not base64!:",
            "a=:AAE",
            "a=?2",
            "a=1234567890123456",
            "a=1.2345",
            "a=1.",
            "a=é",
            "a=\"tab\there\"",
        ] {
            assert!(parse_dictionary(bad).is_err(), "{bad:?} should fail");
        }
    }
}
