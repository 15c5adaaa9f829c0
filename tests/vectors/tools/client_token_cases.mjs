// Writes tests/vectors/client_token/cases.json: client tokens minted with a server key.
//
// Independent of authgate: the server keys are assembled here (base62 body, CRC-32
// checksum from node:zlib written as 6 base62 digits), the Ed25519 seed is
// HMAC-SHA256(server key, "authgate client-token ed25519 v1") from node:crypto, and the
// tokens are signed with node:crypto (Ed25519 is deterministic; HS256 for legacy tokens).
// `node tests/vectors/tools/client_token_cases.mjs --check` fails if the file differs.
import { createHmac, createPrivateKey, createPublicKey, sign } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { writeVectors } from './write.mjs'

const b64u = (buf) => Buffer.from(buf).toString('base64url')
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const checksum = (text) => {
  let n = crc32(text)
  let out = ''
  for (let i = 0; i < 6; i++) {
    out = BASE62[n % 62] + out
    n = Math.floor(n / 62)
  }
  return out
}
// `ag_srv_` + 12-character id + 43-character secret + checksum.
const serverKey = (id, secret) => {
  const body = `ag_srv_${id}${secret}`
  return body + checksum(body)
}
const KEY = serverKey('CtVectorKey1', 'ClientTokenVectorsSecret0123456789abcdefghi')
const OTHER = serverKey('CtVectorKey2', 'AnotherServerKeySecret000123456789abcdefghi')
const idOf = (key) => key.slice(7, 19)

const LABEL = 'authgate client-token ed25519 v1'
const PKCS8_V1 = Buffer.from('302e020100300506032b657004220420', 'hex')
const signer = (key) => {
  const seed = createHmac('sha256', key).update(LABEL).digest()
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_V1, seed]), format: 'der', type: 'pkcs8' })
  return { privateKey, x: createPublicKey(privateKey).export({ format: 'jwk' }).x }
}
const S = signer(KEY)
const S_OTHER = signer(OTHER)

const NOW = 1700000000
const mint = (s, key, claims, header = {}) => {
  const input = `${b64u(JSON.stringify({ alg: 'EdDSA', typ: 'client+jwt', kid: idOf(key), ...header }))}.${b64u(JSON.stringify(claims))}`
  return `${input}.${b64u(sign(null, Buffer.from(input), s.privateKey))}`
}
const good = mint(S, KEY, { user: 'u-42', iat: NOW, exp: NOW + 300 })
const verify = (name, token, user, expect, extra = {}) => ({
  name,
  op: 'verify',
  server_key: KEY,
  token,
  user,
  now: NOW,
  ...extra,
  expect,
})
const stored = (name, token, user, expect, extra = {}) => ({
  name,
  op: 'verify_stored',
  server_key: KEY,
  client_token_key: S.x,
  token,
  user,
  now: NOW,
  ...extra,
  expect,
})

const LEGACY_SECRET = KEY
const hs256 = (secret, claims) => {
  const input = `${b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64u(JSON.stringify(claims))}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}
const legacy = (name, secret, token, options, expect) => ({
  name,
  op: 'verify_legacy',
  secret_b64: Buffer.from(secret).toString('base64'),
  token,
  user: 'u-42',
  now: NOW,
  options,
  expect,
})
const SHORT = 'twenty-byte-secret!!'
const refresh = (name, token, now, result) => ({
  name,
  op: 'needs_refresh',
  token,
  now,
  margin: 30,
  expect: { result },
})

const cases = [
  { name: 'the public key a server key determines', op: 'public_key', server_key: KEY, expect: { x: S.x } },
  {
    name: 'a secret that is not an authgate key makes no minter',
    op: 'new',
    server_key: 'a-shared-secret-of-forty-bytes-000000000',
    expect: { error: 'invalid_key' },
  },
  verify('a valid token for the user', good, 'u-42', { user: 'u-42', exp: NOW + 300 }),
  verify('a token for another user', good, 'u-43', { error: 'user_mismatch' }),
  verify('an expired token', mint(S, KEY, { user: 'u-42', iat: NOW - 400, exp: NOW - 60 }), 'u-42', {
    error: 'token_expired',
  }),
  verify('signed with another server key', mint(S_OTHER, KEY, { user: 'u-42', iat: NOW, exp: NOW + 300 }), 'u-42', {
    error: 'invalid_signature',
  }),
  verify(
    'no typ: not a client token',
    mint(S, KEY, { user: 'u-42', iat: NOW, exp: NOW + 300 }, { typ: undefined }),
    'u-42',
    { error: 'invalid_token_type' },
  ),
  verify('living longer than a day', mint(S, KEY, { user: 'u-42', iat: NOW, exp: NOW + 86401 }), 'u-42', {
    error: 'invalid_claim',
  }),
  verify('no iat', mint(S, KEY, { user: 'u-42', exp: NOW + 300 }), 'u-42', { error: 'missing_claim' }),
  verify('no exp', mint(S, KEY, { user: 'u-42', iat: NOW }), 'u-42', { error: 'missing_claim' }),
  verify('no user', mint(S, KEY, { iat: NOW, exp: NOW + 300 }), 'u-42', { error: 'missing_claim' }),
  verify('a user that is a number', mint(S, KEY, { user: 42, iat: NOW, exp: NOW + 300 }), '42', {
    error: 'invalid_claim',
  }),
  verify(
    'an HS256 token of the earlier design is not accepted here',
    hs256(KEY, { user: 'u-42', exp: NOW + 300 }),
    'u-42',
    { error: 'algorithm_not_allowed' },
  ),
  stored('the API verifies with the stored public key', good, 'u-42', { user: 'u-42', exp: NOW + 300 }),
  stored('the server key was revoked', good, 'u-42', { error: 'api_key_revoked' }, { then: 'revoke' }),
  stored('the server key was disabled', good, 'u-42', { error: 'api_key_disabled' }, { then: 'disable' }),
  stored(
    'a token naming an unknown server key',
    mint(S_OTHER, OTHER, { user: 'u-42', iat: NOW, exp: NOW + 300 }),
    'u-42',
    { error: 'key_not_found' },
  ),
  stored(
    'a server key stored without a client-token key',
    good,
    'u-42',
    { error: 'key_not_found' },
    { client_token_key: null },
  ),
  stored('a forged token under a stored kid', mint(S_OTHER, KEY, { user: 'u-42', iat: NOW, exp: NOW + 300 }), 'u-42', {
    error: 'invalid_signature',
  }),
  legacy(
    'legacy HS256 token with exp',
    LEGACY_SECRET,
    hs256(LEGACY_SECRET, { user: 'u-42', exp: NOW + 300 }),
    {},
    { user: 'u-42', exp: NOW + 300 },
  ),
  legacy(
    'legacy token without exp is refused by default',
    LEGACY_SECRET,
    hs256(LEGACY_SECRET, { user: 'u-42' }),
    {},
    { error: 'missing_claim' },
  ),
  legacy(
    'legacy token without exp with allow_missing_exp',
    LEGACY_SECRET,
    hs256(LEGACY_SECRET, { user: 'u-42' }),
    { allow_missing_exp: true },
    { user: 'u-42', exp: 0 },
  ),
  legacy(
    'a 20-byte legacy secret is refused by default',
    SHORT,
    hs256(SHORT, { user: 'u-42', exp: NOW + 300 }),
    {},
    { error: 'weak_key' },
  ),
  legacy(
    'a 20-byte legacy secret with allow_short_secret',
    SHORT,
    hs256(SHORT, { user: 'u-42', exp: NOW + 300 }),
    { allow_short_secret: true },
    { user: 'u-42', exp: NOW + 300 },
  ),
  legacy(
    'a 10-byte legacy secret even with allow_short_secret',
    'ten-bytes!',
    hs256('ten-bytes!', { user: 'u-42', exp: NOW + 300 }),
    { allow_short_secret: true },
    { error: 'weak_key' },
  ),
  refresh('fresh token needs no refresh', good, NOW, false),
  refresh('token inside the margin needs refresh', good, NOW + 271, true),
  refresh('expired token needs refresh', good, NOW + 301, true),
  refresh('unreadable token needs refresh', 'garbage', NOW, true),
]

writeVectors(
  {
    'client_token/cases.json': {
      area: 'client_token',
      source:
        'tools/client_token_cases.mjs: server keys assembled with node:zlib CRC-32 checksums, the Ed25519 seed HMAC-SHA256(server key, "authgate client-token ed25519 v1") and every signature from node:crypto',
      description:
        'Client tokens: EdDSA JWS (typ client+jwt, kid = the server key id) with user, iat and exp (at most 24 h); minted and checked with the server key (`verify`), or checked by the API against the public key its API-key store keeps (`verify_stored`: the runner imports the server key by its id, prefix, last four and SHA-256 plus `client_token_key`, then applies `then` — revoke or disable). Legacy HS256 tokens only through LegacyClientTokens with named opt-outs (`verify_legacy`). The refresh helper.',
      cases,
    },
  },
  'client_token_cases.mjs',
)
