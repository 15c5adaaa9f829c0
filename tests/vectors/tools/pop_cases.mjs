// Writes tests/vectors/pop/cases.json and tests/vectors/remote_jwks/scenarios.json.
//
// Independent of authgate: proofs and tokens are assembled here and signed with node:crypto
// (Ed25519 with the RFC 8032 §7.1 test keys, RS256 with the RFC 7515 A.2 key: both
// deterministic), thumbprints are SHA-256 over RFC 7638 JSON written out here, and the
// certificate's x5t#S256 comes from node:crypto's X509Certificate. The RFC 9449 §4.1 and
// §7.1 proofs, the RFC 7638 §3.1 thumbprint and the RFC 9449 jkt are verbatim.
// `node tests/vectors/tools/pop_cases.mjs --check` fails if a committed file differs.
import { createHash, createPrivateKey, sign, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeVectors } from './write.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const b64u = (buf) => Buffer.from(buf).toString('base64url')
const sha256 = (text) => createHash('sha256').update(text).digest()

// RFC 8032 §7.1 tests 1 and 2.
const ed = (seedHex, publicHex) => {
  const x = b64u(Buffer.from(publicHex, 'hex'))
  const key = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', x, d: b64u(Buffer.from(seedHex, 'hex')) },
    format: 'jwk',
  })
  return { key, alg: 'EdDSA', jwk: { kty: 'OKP', crv: 'Ed25519', x } }
}
const ED1 = ed(
  '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
)
const ED2 = ed(
  '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
  '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
)
// The same key under its RFC 9864 name.
const ED1_NAMED = { ...ED1, alg: 'Ed25519' }
// RFC 7515 A.2.
const rfc7515 = JSON.parse(readFileSync(join(root, 'jwt/rfc7515.json'), 'utf8'))
const rsaJwk = rfc7515.cases.find((c) => c.name === 'A.2 RS256 signature reproduces').key.jwk
const RSA = {
  key: createPrivateKey({ key: rsaJwk, format: 'jwk' }),
  alg: 'RS256',
  jwk: { kty: 'RSA', n: rsaJwk.n, e: rsaJwk.e },
}

// RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
const thumbprint = (jwk) => {
  const members = { EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'], OKP: ['crv', 'kty', 'x'] }[jwk.kty]
  return b64u(sha256(`{${members.map((m) => `"${m}":"${jwk[m]}"`).join(',')}}`))
}

const jws = (signer, header, payload) => {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`
  const alg = ['EdDSA', 'Ed25519'].includes(signer.alg) ? null : 'sha256'
  return `${input}.${b64u(sign(alg, Buffer.from(input), signer.key))}`
}

const NOW = 1700000000
const URI = 'https://api.example.com/orders'
const TOKEN = 'an.access.token'
const ath = (token) => b64u(sha256(token))
const dpop = (signer, claims, header = {}) =>
  jws(
    signer,
    { typ: 'dpop+jwt', alg: signer.alg, jwk: signer.jwk, ...header },
    { jti: 'j-1', htm: 'POST', htu: URI, iat: NOW, ...claims },
  )

// RFC 9449 §4.1 (Figure 3) and §7.1 (Figure 13), and the jkt of their key (§6.1).
const RFC_TOKEN_REQUEST =
  'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg'
const RFC_RESOURCE =
  'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA'
const RFC_ACCESS_TOKEN = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU'
const RFC_JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I'
const RFC_JWK = {
  kty: 'EC',
  x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs',
  y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA',
  crv: 'P-256',
}
const RFC7638_JWK = {
  kty: 'RSA',
  n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
}

// A self-signed P-256 client certificate (openssl, valid until 2126); no key is kept.
const CERT = `-----BEGIN CERTIFICATE-----
MIIBxzCCAW2gAwIBAgIUZOmvVOD/ZjCA7yJ6v1gclXxGT+swCgYIKoZIzj0EAwIw
ODEXMBUGA1UEAwwOY2xpZW50LmV4YW1wbGUxHTAbBgNVBAoMFGF1dGhnYXRlIHRl
c3QgY2xpZW50MCAXDTI2MTEzMDA3NDQ1OFoYDzIxMjYxMTA2MDc0NDU4WjA4MRcw
FQYDVQQDDA5jbGllbnQuZXhhbXBsZTEdMBsGA1UECgwUYXV0aGdhdGUgdGVzdCBj
bGllbnQwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATywF3M3mQIPm7r1KmsJkV3
Mh14RzO4NNviesyPe0dzovu0Llc9iiWa5H4sEerZ32heRZ3SF6QDYukoZII/9kdt
o1MwUTAdBgNVHQ4EFgQU1Io02zmwkrPBZvMpydOPiMTmte0wHwYDVR0jBBgwFoAU
1Io02zmwkrPBZvMpydOPiMTmte0wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQD
AgNIADBFAiEA+AU0jubBWZafynUAH1J48yJObKtSSpUbXyC8Egx/RjwCIApddZJI
2KjrNU1npAlG9xX7Xs9t5Rvd8mfGoz8rMgS/
-----END CERTIFICATE-----
`
const CERT_DER = new X509Certificate(CERT).raw
const X5T = b64u(createHash('sha256').update(CERT_DER).digest())

const req = (proof, expect, extra = {}) => ({ proof, method: 'POST', uri: URI, ...extra, expect })
const ok = (signer, jti = 'j-1', iat = NOW) => ({ jkt: thumbprint(signer.jwk), jti, iat })
const verifyCase = (name, requests, extra = {}) => ({ name, op: 'dpop_verify', now: NOW, ...extra, requests })
const tamper = (token) => {
  const [h, p, s] = token.split('.')
  const sig = Buffer.from(s, 'base64url')
  sig[0] ^= 1
  return `${h}.${p}.${b64u(sig)}`
}

const popCases = [
  {
    name: 'RFC 7638 §3.1 RSA key',
    op: 'jwk_thumbprint',
    jwk: RFC7638_JWK,
    expect: { jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' },
  },
  { name: 'RFC 9449 §6.1 EC key', op: 'jwk_thumbprint', jwk: RFC_JWK, expect: { jkt: RFC_JKT } },
  { name: 'Ed25519 key (RFC 8032 test 1)', op: 'jwk_thumbprint', jwk: ED1.jwk, expect: { jkt: thumbprint(ED1.jwk) } },
  {
    name: 'members beyond the required ones do not count',
    op: 'jwk_thumbprint',
    jwk: { ...ED1.jwk, kid: 'k', use: 'sig' },
    expect: { jkt: thumbprint(ED1.jwk) },
  },
  {
    name: 'a symmetric key has no thumbprint here',
    op: 'jwk_thumbprint',
    jwk: { kty: 'oct', k: 'c2VjcmV0' },
    expect: { error: 'invalid_key' },
  },
  {
    name: 'an EC key without y',
    op: 'jwk_thumbprint',
    jwk: { kty: 'EC', crv: 'P-256', x: RFC_JWK.x },
    expect: { error: 'invalid_key' },
  },

  verifyCase(
    'RFC 9449 §4.1 token request proof, then its replay',
    [
      req(
        RFC_TOKEN_REQUEST,
        { jkt: RFC_JKT, jti: '-BwC3ESc6acc2lTc', iat: 1562262616 },
        { uri: 'https://server.example.com/token' },
      ),
      req(RFC_TOKEN_REQUEST, { error: 'replay_detected' }, { uri: 'https://server.example.com/token' }),
    ],
    { now: 1562262616 },
  ),
  verifyCase(
    'RFC 9449 §7.1 resource proof with ath: a wrong token, then the right one',
    [
      req(
        RFC_RESOURCE,
        { error: 'invalid_claim' },
        { method: 'GET', uri: 'https://resource.example.org/protectedresource', access_token: 'another.token' },
      ),
      req(
        RFC_RESOURCE,
        { jkt: RFC_JKT, jti: 'e1j3V_bKic8-LAEB', iat: 1562262618 },
        { method: 'GET', uri: 'https://resource.example.org/protectedresource', access_token: RFC_ACCESS_TOKEN },
      ),
    ],
    { now: 1562262620 },
  ),
  verifyCase(
    'RFC 9449 proof bound to an access token by cnf.jkt',
    [
      req(
        RFC_RESOURCE,
        { jkt: RFC_JKT, jti: 'e1j3V_bKic8-LAEB', iat: 1562262618 },
        {
          method: 'GET',
          uri: 'https://resource.example.org/protectedresource',
          access_token: RFC_ACCESS_TOKEN,
          access_claims: { sub: 'someone@example.com', cnf: { jkt: RFC_JKT } },
        },
      ),
    ],
    { now: 1562262618 },
  ),
  verifyCase(
    'a proof older than max_age (300 s)',
    [req(RFC_TOKEN_REQUEST, { error: 'token_expired' }, { uri: 'https://server.example.com/token' })],
    { now: 1562262616 + 301 },
  ),
  verifyCase(
    'a proof exactly max_age old',
    [
      req(
        RFC_TOKEN_REQUEST,
        { jkt: RFC_JKT, jti: '-BwC3ESc6acc2lTc', iat: 1562262616 },
        { uri: 'https://server.example.com/token' },
      ),
    ],
    { now: 1562262616 + 300 },
  ),
  // With leeway 0 the jti was stored until iat + max_age, which the store treats as already
  // gone at that second: the proof could be replayed at exactly max_age.
  verifyCase(
    'leeway 0: a proof exactly max_age old, then replayed within that second',
    [
      req(
        RFC_TOKEN_REQUEST,
        { jkt: RFC_JKT, jti: '-BwC3ESc6acc2lTc', iat: 1562262616 },
        { uri: 'https://server.example.com/token' },
      ),
      req(RFC_TOKEN_REQUEST, { error: 'replay_detected' }, { uri: 'https://server.example.com/token' }),
    ],
    { now: 1562262616 + 300, policy: { leeway: 0 } },
  ),
  verifyCase(
    'a proof from beyond the leeway (5 s) in the future',
    [req(RFC_TOKEN_REQUEST, { error: 'token_not_yet_valid' }, { uri: 'https://server.example.com/token' })],
    { now: 1562262616 - 6 },
  ),
  verifyCase(
    'another method',
    [req(RFC_TOKEN_REQUEST, { error: 'invalid_claim' }, { method: 'GET', uri: 'https://server.example.com/token' })],
    { now: 1562262616 },
  ),
  verifyCase(
    'another path',
    [req(RFC_TOKEN_REQUEST, { error: 'invalid_claim' }, { uri: 'https://server.example.com/token/2' })],
    { now: 1562262616 },
  ),
  verifyCase(
    'another scheme',
    [req(RFC_TOKEN_REQUEST, { error: 'invalid_claim' }, { uri: 'http://server.example.com/token' })],
    { now: 1562262616 },
  ),
  verifyCase(
    'query, fragment, host case and default port do not count',
    [
      req(
        RFC_TOKEN_REQUEST,
        { jkt: RFC_JKT, jti: '-BwC3ESc6acc2lTc', iat: 1562262616 },
        { uri: 'https://Server.Example.COM:443/token?code=1#x' },
      ),
    ],
    { now: 1562262616 },
  ),
  verifyCase('a relative request URI', [req(RFC_TOKEN_REQUEST, { error: 'invalid_input' }, { uri: '/token' })], {
    now: 1562262616,
  }),
  verifyCase(
    'a tampered signature',
    [req(tamper(RFC_TOKEN_REQUEST), { error: 'invalid_signature' }, { uri: 'https://server.example.com/token' })],
    { now: 1562262616 },
  ),

  verifyCase('Ed25519 proof, then the same jti in another proof', [
    req(dpop(ED1, {}), ok(ED1)),
    req(dpop(ED1, { iat: NOW - 1 }), { error: 'replay_detected' }),
  ]),
  verifyCase('the same jti from two keys is two proofs', [req(dpop(ED1, {}), ok(ED1)), req(dpop(ED2, {}), ok(ED2))]),
  verifyCase('RS256 proof (RFC 7515 A.2 key)', [req(dpop(RSA, {}), ok(RSA))]),
  verifyCase('a server nonce: missing, stale, then current', [
    req(dpop(ED1, { jti: 'n-0' }), { error: 'use_dpop_nonce' }, { nonce: 'nonce-2' }),
    req(dpop(ED1, { jti: 'n-1', nonce: 'nonce-1' }), { error: 'use_dpop_nonce' }, { nonce: 'nonce-2' }),
    req(dpop(ED1, { jti: 'n-2', nonce: 'nonce-2' }), ok(ED1, 'n-2'), { nonce: 'nonce-2' }),
  ]),
  verifyCase('a nonce in the proof is ignored when none is required', [req(dpop(ED1, { nonce: 'whatever' }), ok(ED1))]),
  verifyCase(
    'a policy nonce',
    [
      req(dpop(ED1, { jti: 'p-1' }), { error: 'use_dpop_nonce' }),
      req(dpop(ED1, { jti: 'p-2', nonce: 'policy-nonce' }), ok(ED1, 'p-2')),
    ],
    { policy: { nonce: 'policy-nonce' } },
  ),
  verifyCase('bound: cnf.jkt matches the proof key', [
    req(dpop(ED1, { ath: ath(TOKEN) }), ok(ED1), {
      access_token: TOKEN,
      access_claims: { sub: 'alice', cnf: { jkt: thumbprint(ED1.jwk) } },
    }),
  ]),
  verifyCase('bound to another key', [
    req(
      dpop(ED1, { ath: ath(TOKEN) }),
      { error: 'invalid_claim' },
      { access_token: TOKEN, access_claims: { sub: 'alice', cnf: { jkt: thumbprint(ED2.jwk) } } },
    ),
  ]),
  verifyCase('a token without cnf.jkt is not DPoP-bound', [
    req(
      dpop(ED1, { ath: ath(TOKEN) }),
      { error: 'missing_claim' },
      { access_token: TOKEN, access_claims: { sub: 'alice' } },
    ),
  ]),
  verifyCase('an access token but no ath', [req(dpop(ED1, {}), { error: 'invalid_claim' }, { access_token: TOKEN })]),
  verifyCase('typ JWT', [req(dpop(ED1, {}, { typ: 'JWT' }), { error: 'invalid_token_type' })]),
  verifyCase('no typ', [req(dpop(ED1, {}, { typ: undefined }), { error: 'invalid_token_type' })]),
  verifyCase('alg HS256', [req(dpop(ED1, {}, { alg: 'HS256' }), { error: 'algorithm_not_allowed' })]),
  verifyCase('alg none', [
    req(
      `${b64u(JSON.stringify({ typ: 'dpop+jwt', alg: 'none', jwk: ED1.jwk }))}.${b64u(JSON.stringify({ jti: 'j', htm: 'POST', htu: URI, iat: NOW }))}.`,
      { error: 'algorithm_not_allowed' },
    ),
  ]),
  verifyCase('an Ed25519-named proof (RFC 9864)', [req(dpop(ED1_NAMED, { jti: 'named-1' }), ok(ED1_NAMED, 'named-1'))]),
  verifyCase(
    'an Ed25519-named proof where the policy names EdDSA',
    [req(dpop(ED1_NAMED, { jti: 'named-2' }), ok(ED1_NAMED, 'named-2'))],
    { policy: { algorithms: ['EdDSA'] } },
  ),
  verifyCase(
    'an EdDSA-named proof where the policy names Ed25519',
    [req(dpop(ED1, { jti: 'named-3' }), ok(ED1, 'named-3'))],
    { policy: { algorithms: ['Ed25519'] } },
  ),
  verifyCase(
    'an Ed25519-named proof where the policy names neither',
    [req(dpop(ED1_NAMED, {}), { error: 'algorithm_not_allowed' })],
    { policy: { algorithms: ['ES256'] } },
  ),
  verifyCase('EdDSA not on the policy list', [req(dpop(ED1, {}), { error: 'algorithm_not_allowed' })], {
    policy: { algorithms: ['ES256'] },
  }),
  verifyCase('no jwk header', [req(dpop(ED1, {}, { jwk: undefined }), { error: 'invalid_key' })]),
  verifyCase('a jwk holding the private key', [
    req(dpop(ED1, {}, { jwk: { ...ED1.jwk, d: b64u(Buffer.alloc(32, 1)) } }), { error: 'invalid_key' }),
  ]),
  verifyCase('a jwk of another key than the signer', [
    req(dpop(ED1, {}, { jwk: ED2.jwk }), { error: 'invalid_signature' }),
  ]),
  verifyCase('no jti', [req(dpop(ED1, { jti: undefined }), { error: 'missing_claim' })]),
  verifyCase('an empty jti', [req(dpop(ED1, { jti: '' }), { error: 'invalid_claim' })]),
  verifyCase('no htm', [req(dpop(ED1, { htm: undefined }), { error: 'missing_claim' })]),
  verifyCase('no iat', [req(dpop(ED1, { iat: undefined }), { error: 'missing_claim' })]),
  verifyCase('iat as a string', [req(dpop(ED1, { iat: String(NOW) }), { error: 'invalid_claim' })]),
  verifyCase('a proof over 8 KiB', [req(dpop(ED1, { pad: 'x'.repeat(8192) }), { error: 'token_too_large' })]),
  verifyCase('not a JWT', [req('not-a-proof', { error: 'malformed_token' })]),

  { name: 'x5t#S256 of a PEM certificate', op: 'certificate_thumbprint', certificate: CERT, expect: { x5t: X5T } },
  {
    name: 'x5t#S256 of the DER',
    op: 'certificate_thumbprint',
    certificate_der_b64: CERT_DER.toString('base64'),
    expect: { x5t: X5T },
  },
  {
    name: 'x5t#S256 of URL-encoded PEM (nginx $ssl_client_escaped_cert)',
    op: 'certificate_thumbprint',
    certificate: encodeURIComponent(CERT),
    expect: { x5t: X5T },
  },
  { name: 'not a certificate', op: 'certificate_thumbprint', certificate: 'hello', expect: { error: 'invalid_input' } },
  {
    name: 'a bound token and its certificate',
    op: 'certificate_binding',
    claims: { sub: 'svc', cnf: { 'x5t#S256': X5T } },
    certificate: CERT,
    expect: {},
  },
  {
    name: 'a token bound to another certificate',
    op: 'certificate_binding',
    claims: { sub: 'svc', cnf: { 'x5t#S256': thumbprint(ED1.jwk) } },
    certificate: CERT,
    expect: { error: 'invalid_claim' },
  },
  {
    name: 'a token without cnf.x5t#S256',
    op: 'certificate_binding',
    claims: { sub: 'svc', cnf: { jkt: X5T } },
    certificate: CERT,
    expect: { error: 'missing_claim' },
  },
  // A gate sends its verifier's nonce as the DPoP-Nonce header: RFC 9449 §8's NQCHAR only
  // (printable ASCII other than space, `"` and `\`), 1 to 1,024 characters.
  ...[
    ['empty', ''],
    ['a space', 'a b'],
    ['a line break', 'a\nb'],
    ['a header injected', 'a\r\nx-injected: 1'],
    ['a quote', 'q"'],
    ['a backslash', 'b\\'],
    ['non-ASCII', 'caf\u00e9'],
    ['1,025 characters', 'n'.repeat(1025)],
  ].map(([what, nonce]) => ({
    name: `a gate refuses a DPoP nonce with ${what}: it is sent as the DPoP-Nonce header (RFC 9449 §8 NQCHAR)`,
    op: 'gate_dpop_nonce',
    nonce,
    expect: { error: 'invalid_input' },
  })),
  ...[
    ['base64url and dots', 'eyJ7S_zG.eyJH0-Z.HNi'],
    ['the edges of NQCHAR', '!#[]~'],
    ['1,024 characters', 'n'.repeat(1024)],
  ].map(([what, nonce]) => ({
    name: `a gate takes a DPoP nonce of ${what}`,
    op: 'gate_dpop_nonce',
    nonce,
    expect: {},
  })),
]

// Remote key sets: tokens signed here by the two Ed25519 keys, as an identity provider would.
const idpToken = (signer, kid, claims = {}) =>
  jws(
    signer,
    { alg: 'EdDSA', typ: 'JWT', kid },
    { iss: 'https://idp.example', sub: 'alice', aud: 'api', exp: NOW + 10 * 86400, ...claims },
  )
const jwksOf = (...pairs) =>
  JSON.stringify({ keys: pairs.map(([signer, kid]) => ({ ...signer.jwk, kid, use: 'sig', alg: 'EdDSA' })) })
const tokens = {
  a: idpToken(ED1, 'key-a'),
  b: idpToken(ED2, 'key-b'),
  forged: idpToken(ED2, 'key-a'),
  unknown: idpToken(ED2, 'key-zzz'),
  other_issuer: idpToken(ED1, 'key-a', { iss: 'https://evil.example' }),
}
const documents = {
  a: jwksOf([ED1, 'key-a']),
  b: jwksOf([ED2, 'key-b']),
  ab: jwksOf([ED1, 'key-a'], [ED2, 'key-b']),
  // Two keys published under one kid (a provider's mistake) beside a good one.
  dup: jwksOf([ED1, 'key-a'], [ED2, 'key-a'], [ED2, 'key-b']),
}
const serve = (body, status = 200, delay_ms = 0, path = '/jwks.json') => ({ do: 'serve', path, status, delay_ms, body })
const verify = (token, expect) => ({ do: 'verify', token, expect })
const hits = (n, path = '/jwks.json') => ({ do: 'hits', path, expect: n })
const scenario = (name, steps, extra = {}) => ({
  name,
  op: 'scenario',
  start: NOW,
  options: { ttl: 600, cooldown: 30, max_stale: 3600 },
  validation: { audiences: ['api'] },
  ...extra,
  steps,
})
const alice = { sub: 'alice' }

const remoteCases = [
  scenario('fetched once, then cached for the TTL', [
    serve(documents.a),
    verify('a', alice),
    verify('a', alice),
    hits(1),
    { do: 'advance', seconds: 599 },
    verify('a', alice),
    hits(1),
    { do: 'advance', seconds: 1 },
    verify('a', alice),
    hits(2),
    { do: 'status', expect: { kids: ['key-a'], stale: false, fetches: 2, failures: 0 } },
  ]),
  scenario('a rotated key: refetched on its first token', [
    serve(documents.a),
    verify('a', alice),
    { do: 'advance', seconds: 30 },
    serve(documents.b),
    verify('b', alice),
    hits(2),
    verify('a', { error: 'key_not_found' }),
  ]),
  scenario('unknown kids refetch at most once a cooldown', [
    serve(documents.a),
    verify('a', alice),
    verify('unknown', { error: 'key_not_found' }),
    verify('unknown', { error: 'key_not_found' }),
    hits(1),
    { do: 'advance', seconds: 30 },
    verify('unknown', { error: 'key_not_found' }),
    verify('unknown', { error: 'key_not_found' }),
    hits(2),
  ]),
  scenario('a forged token under a known kid', [
    serve(documents.a),
    verify('forged', { error: 'invalid_signature' }),
    hits(1),
  ]),
  scenario('claims are checked as usual', [serve(documents.a), verify('other_issuer', { error: 'invalid_issuer' })], {
    validation: { issuers: ['https://idp.example'], audiences: ['api'] },
  }),
  scenario('the provider fails: the last good set is served stale', [
    serve(documents.a),
    verify('a', alice),
    { do: 'advance', seconds: 601 },
    serve('oops', 500),
    verify('a', alice),
    hits(2),
    {
      do: 'status',
      expect: { kids: ['key-a'], stale: true, fetches: 1, failures: 1, last_error: 'key_set_unavailable' },
    },
    verify('a', alice),
    hits(2),
    { do: 'advance', seconds: 30 },
    serve('<html>maintenance</html>'),
    verify('a', alice),
    hits(3),
    { do: 'advance', seconds: 30 },
    serve('{"keys": []}'),
    verify('a', alice),
    hits(4),
    { do: 'advance', seconds: 30 },
    serve('', 0),
    verify('a', alice),
    hits(5),
    { do: 'advance', seconds: 30 },
    serve(documents.b),
    verify('a', { error: 'key_not_found' }),
    verify('b', alice),
  ]),
  scenario('stale no longer than max_stale', [
    serve(documents.a),
    verify('a', alice),
    serve('', 503),
    { do: 'advance', seconds: 600 + 3599 },
    verify('a', alice),
    { do: 'advance', seconds: 1 },
    verify('a', { error: 'key_set_unavailable' }),
    serve(documents.a),
    { do: 'advance', seconds: 30 },
    verify('a', alice),
  ]),
  scenario('nothing cached and the provider answers garbage', [
    serve('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}'),
    verify('a', { error: 'key_set_unavailable' }),
    verify('a', { error: 'key_set_unavailable' }),
    hits(1),
    { do: 'advance', seconds: 30 },
    serve(documents.ab),
    verify('a', alice),
    verify('b', alice),
    hits(2),
  ]),
  scenario('a kid published twice is left out; the rest of the set stays usable', [
    serve(documents.dup),
    verify('b', alice),
    verify('a', { error: 'key_not_found' }),
    verify('forged', { error: 'key_not_found' }),
    hits(1),
    { do: 'advance', seconds: 60 },
    verify('a', { error: 'key_not_found' }),
    hits(1),
    { do: 'advance', seconds: 600 },
    serve(documents.ab),
    verify('a', alice),
    hits(2),
  ]),
  // #20 item 8: an identity provider signs for many APIs; its keys verify for a named one.
  scenario(
    'no audience configured: refused before any fetch',
    [serve(documents.a), verify('a', { error: 'invalid_input' }), hits(0)],
    { validation: {} },
  ),
  scenario('the named opt-out accepts any audience', [serve(documents.a), verify('a', alice)], {
    validation: { accept_any_audience: true },
  }),
  scenario('a token for another API', [serve(documents.a), verify('a', { error: 'invalid_audience' })], {
    validation: { audiences: ['billing'] },
  }),
  scenario('a redirect is not followed', [serve('', 302), { do: 'refresh', expect: { error: 'key_set_unavailable' } }]),
  scenario(
    'a slow provider times out',
    [serve(documents.a, 200, 2500), { do: 'refresh', expect: { error: 'key_set_unavailable' } }],
    { options: { ttl: 600, cooldown: 30, max_stale: 3600, timeout_ms: 500 } },
  ),
  scenario(
    'discovery: the document names the key set',
    [
      serve(
        JSON.stringify({ issuer: '{base}/idp', jwks_uri: '{base}/idp/certs' }),
        200,
        0,
        '/idp/.well-known/openid-configuration',
      ),
      serve(documents.a, 200, 0, '/idp/certs'),
      verify('a', alice),
      hits(1, '/idp/certs'),
    ],
    { discover: '/idp', validation: { issuers: ['https://idp.example'], audiences: ['api'] } },
  ),
  scenario(
    'discovery: a document naming another issuer',
    [
      serve(
        JSON.stringify({ issuer: 'https://evil.example', jwks_uri: '{base}/idp/certs' }),
        200,
        0,
        '/idp/.well-known/openid-configuration',
      ),
      serve(documents.a, 200, 0, '/idp/certs'),
      verify('a', { error: 'key_set_unavailable' }),
      hits(0, '/idp/certs'),
    ],
    { discover: '/idp' },
  ),
  scenario(
    'discovery: an http:// jwks_uri',
    [
      serve(
        JSON.stringify({ issuer: '{base}/idp', jwks_uri: 'http://127.0.0.1:1/certs' }),
        200,
        0,
        '/idp/.well-known/openid-configuration',
      ),
      verify('a', { error: 'key_set_unavailable' }),
    ],
    { discover: '/idp' },
  ),
]

const files = {
  'pop/cases.json': {
    area: 'pop',
    source:
      'RFC 9449 §4.1/§7.1 proofs and jkt, RFC 7638 §3.1 thumbprint, verbatim; the rest from tests/vectors/tools/pop_cases.mjs (node:crypto, RFC 8032 and RFC 7515 A.2 keys, an openssl-made certificate)',
    description:
      'Proof of possession: JWK thumbprints, DPoP proof verification (each case one verifier with an in-memory replay store, its requests in order), certificate thumbprints and certificate-bound tokens, and the DPoP nonce a gate accepts.',
    cases: popCases,
  },
  'remote_jwks/scenarios.json': {
    area: 'remote_jwks',
    source: 'tests/vectors/tools/pop_cases.mjs: tokens signed with node:crypto by the RFC 8032 §7.1 test keys',
    description:
      "A remote JWKS client against the local HTTPS test server (tests/https-server): each scenario one client with a manual clock from `start`; `{base}` in a body is the server's https://127.0.0.1:<port>.",
    tokens,
    cases: remoteCases,
  },
}

writeVectors(files, 'pop_cases.mjs')
