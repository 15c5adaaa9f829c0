//! The little DER and PEM reading that key import needs: SubjectPublicKeyInfo and PKCS#1
//! RSAPublicKey. Private keys are parsed by `ring` itself.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::error::{err, Error, ErrorKind, Result};

pub(crate) const OID_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
pub(crate) const OID_EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
pub(crate) const OID_P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
pub(crate) const OID_P384: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];
pub(crate) const OID_ED25519: &[u8] = &[0x2B, 0x65, 0x70];

fn bad(what: &str) -> Error {
    Error::new(ErrorKind::InvalidKey, format!("malformed key: {what}"))
}

/// Reads one TLV with the expected tag; returns (contents, rest).
fn read_tlv(input: &[u8], tag: u8) -> Result<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first().ok_or_else(|| bad("truncated DER"))?;
    if t != tag {
        return Err(bad("unexpected DER tag"));
    }
    let (&first, rest) = rest.split_first().ok_or_else(|| bad("truncated DER"))?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7F) as usize;
        if n == 0 || n > 3 || rest.len() < n {
            return Err(bad("unsupported DER length"));
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(bad("truncated DER"));
    }
    Ok(rest.split_at(len))
}

/// A parsed SubjectPublicKeyInfo: the algorithm OID, its parameter OID (curve) if any,
/// and the public key bytes.
pub(crate) struct Spki<'a> {
    pub algorithm: &'a [u8],
    pub parameter: Option<&'a [u8]>,
    pub key: &'a [u8],
}

pub(crate) fn parse_spki(der: &[u8]) -> Result<Spki<'_>> {
    let (spki, _) = read_tlv(der, 0x30)?;
    let (alg_id, rest) = read_tlv(spki, 0x30)?;
    let (algorithm, params) = read_tlv(alg_id, 0x06)?;
    let parameter = match params.first() {
        Some(0x06) => Some(read_tlv(params, 0x06)?.0),
        _ => None,
    };
    let (bits, _) = read_tlv(rest, 0x03)?;
    match bits.split_first() {
        Some((0, key)) => Ok(Spki {
            algorithm,
            parameter,
            key,
        }),
        _ => Err(bad("public key bit string")),
    }
}

/// PKCS#1 RSAPublicKey → (n, e), big-endian without leading zeros.
pub(crate) fn parse_rsa_public_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let (seq, _) = read_tlv(der, 0x30)?;
    let (n, rest) = read_tlv(seq, 0x02)?;
    let (e, _) = read_tlv(rest, 0x02)?;
    Ok((
        strip_leading_zeros(n).to_vec(),
        strip_leading_zeros(e).to_vec(),
    ))
}

pub(crate) fn strip_leading_zeros(mut b: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = b {
        b = rest;
    }
    b
}

/// Decodes the first PEM block: returns its label and DER bytes.
pub(crate) fn parse_pem(pem: &str) -> Result<(String, Vec<u8>)> {
    let start = pem
        .find("-----BEGIN ")
        .ok_or_else(|| bad("no PEM BEGIN line"))?;
    let after = &pem[start + 11..];
    let label_end = after.find("-----").ok_or_else(|| bad("PEM BEGIN line"))?;
    let label = &after[..label_end];
    let body = &after[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let end = body
        .find(&end_marker)
        .ok_or_else(|| bad("no matching PEM END line"))?;
    let b64: String = body[..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    match STANDARD.decode(b64) {
        Ok(der) => Ok((label.to_string(), der)),
        Err(_) => err(
            ErrorKind::InvalidKey,
            "malformed key: PEM body is not base64",
        ),
    }
}

pub(crate) fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
