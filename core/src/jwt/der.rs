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

/// The PKCS#8 v1 document of an Ed25519 private key, up to its 32-byte seed (RFC 8410 §7):
/// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }.
pub(crate) const ED25519_PKCS8_V1_PREFIX: &[u8] = &[
    0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

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

/// The 32-byte seed inside an Ed25519 PKCS#8 document (RFC 8410 §7, v1 or v2), read after
/// ring has accepted the document: SEQUENCE { INTEGER, SEQUENCE { OID }, OCTET STRING {
/// OCTET STRING seed }, ... }.
pub(crate) fn ed25519_pkcs8_seed(der: &[u8]) -> Result<&[u8]> {
    let (body, _) = read_tlv(der, 0x30)?;
    let (_version, rest) = read_tlv(body, 0x02)?;
    let (_algorithm, rest) = read_tlv(rest, 0x30)?;
    let (private, _) = read_tlv(rest, 0x04)?;
    match read_tlv(private, 0x04)? {
        (seed, []) if seed.len() == 32 => Ok(seed),
        _ => Err(bad("the Ed25519 private key is not a 32-byte seed")),
    }
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

/// A SEC1 ECPrivateKey (RFC 5915): the private scalar, the curve OID of `[0]` and the
/// public point of `[1]` when present.
pub(crate) struct Sec1<'a> {
    pub private: &'a [u8],
    pub curve: Option<&'a [u8]>,
    pub public: Option<&'a [u8]>,
}

pub(crate) fn parse_sec1(der: &[u8]) -> Result<Sec1<'_>> {
    let (seq, _) = read_tlv(der, SEQUENCE)?;
    let (version, rest) = read_tlv(seq, INTEGER)?;
    if version != [1] {
        return Err(bad("SEC1 EC private key version is not 1"));
    }
    let (private, mut rest) = read_tlv(rest, OCTET_STRING)?;
    let mut curve = None;
    let mut public = None;
    if rest.first() == Some(&0xA0) {
        let (params, after) = read_tlv(rest, 0xA0)?;
        curve = Some(read_tlv(params, OID)?.0);
        rest = after;
    }
    if rest.first() == Some(&0xA1) {
        let (bits, _) = read_tlv(rest, 0xA1)?;
        let (bits, _) = read_tlv(bits, BIT_STRING)?;
        match bits.split_first() {
            Some((0, point)) => public = Some(point),
            _ => return Err(bad("SEC1 public key bit string")),
        }
    }
    Ok(Sec1 {
        private,
        curve,
        public,
    })
}

/// Decodes the first PEM block (after any `EC PARAMETERS` block, which
/// `openssl ecparam -genkey` writes before the key): returns its label and DER bytes.
pub(crate) fn parse_pem(pem: &str) -> Result<(String, Vec<u8>)> {
    let mut from = 0;
    let (label, body, end) = loop {
        let start = pem[from..]
            .find("-----BEGIN ")
            .map(|i| from + i)
            .ok_or_else(|| bad("no PEM BEGIN line"))?;
        let after = &pem[start + 11..];
        let label_end = after.find("-----").ok_or_else(|| bad("PEM BEGIN line"))?;
        let label = &after[..label_end];
        let body = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let end = body
            .find(&end_marker)
            .ok_or_else(|| bad("no matching PEM END line"))?;
        if label != "EC PARAMETERS" {
            break (label, body, end);
        }
        from = pem.len() - body.len() + end + end_marker.len();
    };
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

/// Splits DER contents into its TLVs (tag, contents) when they tile it exactly.
fn children(mut contents: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while let Some(&tag) = contents.first() {
        let (value, rest) = read_tlv(contents, tag).ok()?;
        out.push((tag, value));
        contents = rest;
    }
    Some(out)
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;

/// What public- or private-key material `bytes` is, if it is any: the misconfiguration
/// where a key file (or a JWK) is passed as an HMAC secret, so that anyone holding the
/// public half could sign tokens. Recognised: PEM blocks (any label, as PyJWT does), SSH
/// public keys (OpenSSH and RFC 4716), JWK and JWK set JSON, and DER SubjectPublicKeyInfo,
/// X.509 certificates, PKCS#8, PKCS#1 and SEC1 keys. The DER forms are recognised by their
/// whole structure (every TLV tiling its parent exactly, the expected tags in order), which
/// a random secret matches with a probability far below 2^-40.
pub(crate) fn asymmetric_key_material(bytes: &[u8]) -> Option<&'static str> {
    let text = bytes.trim_ascii_start();
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    if contains(bytes, b"-----BEGIN ") || contains(bytes, b"---- BEGIN SSH2 ") {
        return Some("a PEM key or certificate");
    }
    const SSH: &[&[u8]] = &[
        b"ssh-rsa ",
        b"ssh-dss ",
        b"ssh-ed25519 ",
        b"ssh-ed448 ",
        b"ecdsa-sha2-",
        b"sk-ecdsa-sha2-",
        b"sk-ssh-ed25519",
    ];
    if SSH.iter().any(|p| text.starts_with(p)) {
        return Some("an SSH public key");
    }
    if text.first() == Some(&b'{') {
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(text) {
            if map.contains_key("kty") {
                return Some("a JWK");
            }
            if map.contains_key("keys") {
                return Some("a JWK set");
            }
        }
    }
    der_key_material(bytes)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn der_key_material(der: &[u8]) -> Option<&'static str> {
    let (outer, rest) = read_tlv(der, SEQUENCE).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let items = children(outer)?;
    let tags: Vec<u8> = items.iter().map(|(t, _)| *t).collect();
    // An AlgorithmIdentifier: a SEQUENCE that starts with an OID and is itself well formed.
    let algorithm_id = |contents: &[u8]| {
        children(contents).is_some_and(|c| c.first().is_some_and(|(t, _)| *t == OID))
    };
    match (tags.as_slice(), items.as_slice()) {
        ([SEQUENCE, BIT_STRING], [(_, alg), _]) if algorithm_id(alg) => {
            Some("a DER public key (SubjectPublicKeyInfo)")
        }
        ([SEQUENCE, SEQUENCE, BIT_STRING], [(_, tbs), (_, alg), _])
            if algorithm_id(alg) && children(tbs).is_some() =>
        {
            Some("a DER X.509 certificate")
        }
        ([INTEGER, SEQUENCE, OCTET_STRING, ..], [(_, version), (_, alg), ..])
            if version.len() == 1 && version[0] <= 1 && algorithm_id(alg) =>
        {
            Some("a DER private key (PKCS#8)")
        }
        ([INTEGER, OCTET_STRING, ..], [(_, version), ..]) if *version == [1] => {
            Some("a DER EC private key (SEC1)")
        }
        ([INTEGER, INTEGER], [(_, n), (_, e)]) if n.len() >= 64 && !e.is_empty() => {
            Some("a DER RSA public key (PKCS#1)")
        }
        (tags, [(_, version), ..])
            if tags.len() >= 9 && tags.iter().all(|t| *t == INTEGER) && version.len() == 1 =>
        {
            Some("a DER RSA private key (PKCS#1)")
        }
        _ => None,
    }
}
