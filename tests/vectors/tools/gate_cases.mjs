// Writes tests/vectors/http/gate.json: requests through a configured gate and the exact
// HTTP answer every runtime's every adapter must give (status, headers, body bytes).
//
// Independent of authgate: the tokens are assembled here and signed with node:crypto
// (HMAC-SHA256); the expected responses are written out by hand below from RFC 6750 §3
// (challenges), RFC 9110 (Retry-After) and the GCRA arithmetic of the rate-limit vectors
// (2/minute: one request every 30 s; 3/minute: one every 20 s).
// `node tests/vectors/tools/gate_cases.mjs --check` fails if the committed file differs.
import { createHmac } from 'node:crypto'
import { writeVectors } from './write.mjs'

const b64u = (v) => Buffer.from(v).toString('base64url')
const SECRET = 'authgate-gate-vectors-hs256-secret-0123456789'
const hs256 = (header, claims, payloadText = JSON.stringify(claims)) => {
  const input = `${b64u(typeof header === 'string' ? header : JSON.stringify(header))}.${b64u(payloadText)}`
  return `${input}.${b64u(createHmac('sha256', SECRET).update(input).digest())}`
}
const ISS = 'https://issuer.example'
const claims = (extra = {}) => ({ iss: ISS, sub: 'alice', aud: 'api', iat: 1700000000, exp: 4102444800, ...extra })
const GOOD = hs256({ alg: 'HS256', typ: 'JWT' }, claims({ scope: 'read write' }))
const WRITE_ONLY = hs256({ alg: 'HS256', typ: 'JWT' }, claims({ scope: 'write' }))
const EXPIRED = hs256({ alg: 'HS256', typ: 'JWT' }, claims({ exp: 1600000000 }))
const OTHER_AUDIENCE = hs256({ alg: 'HS256', typ: 'JWT' }, claims({ aud: 'billing' }))
// An OpenID Connect ID token: a sign-in for a client, with the claims only ID tokens carry.
const ID_TOKEN = hs256(
  { alg: 'HS256', typ: 'JWT' },
  claims({ nonce: 'n-0S6_WzA2Mj', at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q' }),
)
const DPOP_BOUND = hs256(
  { alg: 'HS256', typ: 'JWT' },
  claims({ cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' } }),
)
// Scopes as an array in `scp` (as some identity providers issue them), and what is not read
// as scopes: a string `scp`. A repeated claim counts once, as its last value (a JSON object
// keeps the last); names count as parsed, `\u` escapes seen through.
const SCP_ARRAY = hs256({ alg: 'HS256', typ: 'JWT' }, claims({ scp: ['orders', 'read'] }))
const SCP_STRING = hs256({ alg: 'HS256', typ: 'JWT' }, claims({ scp: 'read' }))
const payloadWith = (tail) => JSON.stringify(claims()).replace(/}$/, `,${tail}}`)
const SCP_REPEATED = hs256({ alg: 'HS256', typ: 'JWT' }, null, payloadWith('"scp":["read"],"scp":["write"]'))
const SCP_ESCAPED = hs256({ alg: 'HS256', typ: 'JWT' }, null, payloadWith('"\\u0073cp":["read"]'))
const CNF_ESCAPED = hs256({ alg: 'HS256', typ: 'JWT' }, null, payloadWith('"\\u0063nf":{"jkt":"abc"}'))
const FORGED = `${GOOD.slice(0, GOOD.lastIndexOf('.'))}.${b64u(Buffer.alloc(32))}`
// Hostile headers that once reached WWW-Authenticate: a long and a non-Latin-1 `alg`.
const hostile = (alg) => `${b64u(JSON.stringify({ alg }))}.e30.AAAA`
const ALG_17 = hostile('A'.repeat(17))
const ALG_40 = hostile('A'.repeat(40))
const ALG_SNOWMAN = hostile('HS256\u2603')
const ALG_NONE = `${b64u(JSON.stringify({ alg: 'none' }))}.${b64u(JSON.stringify(claims()))}.`

const PROXIES = ['127.0.0.1/32', '::1/128']
const JSON_TYPE = { 'content-type': 'application/json' }
const body = (error, message, retryAfter) =>
  JSON.stringify(retryAfter === undefined ? { error, message } : { error, message, retry_after: retryAfter })
const challenge = (error, description) => `Bearer realm="api", error="${error}", error_description="${description}"`
const refused = (status, error, message, { challenge: c, headers = {}, retryAfter } = {}) => ({
  status,
  headers: { ...JSON_TYPE, ...(c ? { 'www-authenticate': c } : {}), ...headers },
  absent: c ? [] : ['www-authenticate'],
  body: body(error, message, retryAfter),
})
const admitted = (headers = {}, absent = []) => ({ status: 200, headers, absent })
const NO_RATE_HEADERS = ['ratelimit', 'ratelimit-policy', 'retry-after']
const request = (headers, { method = 'GET', path = '/resource', client = '203.0.113.7' } = {}) => ({
  method,
  path,
  headers: [['x-forwarded-for', client], ...headers],
})
const bearer = (token) => [['authorization', `Bearer ${token}`]]
// What the `scoped` gate answers a token without the scope `read`.
const needsRead = () =>
  refused(403, 'insufficient_scope', 'the request needs the scope `read`', {
    challenge: 'Bearer realm="api", error="insufficient_scope", error_description="insufficient scope"',
  })
const invalidToken = (code, description, message) =>
  refused(401, code, message, { challenge: challenge('invalid_token', description) })

const gates = {
  bearer: { realm: 'api', trusted_proxies: PROXIES, tokens: { hs256_secret: SECRET, issuer: ISS, audience: 'api' } },
  // #20 item 8: no audience named — a token carrying one is refused — and the named opt-out.
  no_audience: { realm: 'api', trusted_proxies: PROXIES, tokens: { hs256_secret: SECRET, issuer: ISS } },
  any_audience: {
    realm: 'api',
    trusted_proxies: PROXIES,
    tokens: { hs256_secret: SECRET, issuer: ISS, accept_any_audience: true },
  },
  id_tokens: {
    realm: 'api',
    trusted_proxies: PROXIES,
    tokens: { hs256_secret: SECRET, issuer: ISS, audience: 'api', accept_id_tokens: true },
  },
  scoped: {
    realm: 'api',
    trusted_proxies: PROXIES,
    tokens: { hs256_secret: SECRET, issuer: ISS, audience: 'api' },
    scopes: ['read'],
  },
  api_key: { realm: 'api', trusted_proxies: PROXIES, api_keys: {} },
  api_key_in_authorization: { realm: 'api', trusted_proxies: PROXIES, api_keys: { in_authorization: true } },
  limited: {
    realm: 'api',
    trusted_proxies: PROXIES,
    api_keys: {},
    limiter: { now: 1700000000, policies: { default: '2/minute', per_client: '3/minute' } },
  },
  allowlist: { realm: 'api', trusted_proxies: PROXIES, allowlist: ['203.0.113.0/24'] },
  client_quota: {
    realm: 'api',
    trusted_proxies: PROXIES,
    api_keys: {},
    limiter: { now: 1700000000, policies: { default: '100/minute', per_client: '2/minute' } },
  },
}

const one = (name, gate, req, expect) => ({ name, gate, steps: [{ request: req, expect }] })
const MISSING_TOKEN = refused(401, 'missing_token', 'the request has no access token', {
  challenge: 'Bearer realm="api"',
})
const MALFORMED = invalidToken('malformed_token', 'malformed token', 'expected `Authorization: Bearer <token>`')

const cases = [
  one('a valid token is admitted', 'bearer', request(bearer(GOOD)), admitted({}, NO_RATE_HEADERS)),
  one('the scheme is case-insensitive', 'bearer', request([['authorization', `bEARER ${GOOD}`]]), admitted()),
  one('no Authorization header: a challenge without an error (RFC 6750 §3.1)', 'bearer', request([]), MISSING_TOKEN),
  one('an empty Authorization header is no token', 'bearer', request([['authorization', '']]), MISSING_TOKEN),
  one('Basic credentials are no Bearer token', 'bearer', request([['authorization', 'Basic dXNlcjpwYXNz']]), MALFORMED),
  one(
    'an expired token',
    'bearer',
    request(bearer(EXPIRED)),
    invalidToken('token_expired', 'token expired', 'the token has expired'),
  ),
  one(
    'a token for another audience',
    'bearer',
    request(bearer(OTHER_AUDIENCE)),
    invalidToken('invalid_audience', 'invalid audience', 'the token is not for this audience'),
  ),
  one(
    'a token naming an audience, and the gate names none',
    'no_audience',
    request(bearer(GOOD)),
    invalidToken(
      'invalid_audience',
      'invalid audience',
      "the token names an audience but none is configured here: name this service's audience (or opt out with accept_any_audience)",
    ),
  ),
  one(
    'accept_any_audience: the same token is admitted',
    'any_audience',
    request(bearer(GOOD)),
    admitted({}, NO_RATE_HEADERS),
  ),
  one(
    'an OpenID Connect ID token is not an access token',
    'bearer',
    request(bearer(ID_TOKEN)),
    invalidToken('invalid_token_type', 'invalid token type', 'an OpenID Connect ID token is not an access token'),
  ),
  one(
    'accept_id_tokens: the ID token is admitted',
    'id_tokens',
    request(bearer(ID_TOKEN)),
    admitted({}, NO_RATE_HEADERS),
  ),
  one(
    'a forged signature',
    'bearer',
    request(bearer(FORGED)),
    invalidToken('invalid_signature', 'invalid signature', 'the signature does not match'),
  ),
  one(
    'alg none is never accepted',
    'bearer',
    request(bearer(ALG_NONE)),
    invalidToken('algorithm_not_allowed', 'algorithm not allowed', 'the `none` algorithm is never accepted'),
  ),
  one(
    'a 17-character alg stays out of the challenge',
    'bearer',
    request(bearer(ALG_17)),
    invalidToken('algorithm_not_allowed', 'algorithm not allowed', 'unsupported algorithm `AAAAAAAAAAAAAAAA…`'),
  ),
  one(
    'a 40-character alg stays out of the challenge',
    'bearer',
    request(bearer(ALG_40)),
    invalidToken('algorithm_not_allowed', 'algorithm not allowed', 'unsupported algorithm `AAAAAAAAAAAAAAAA…`'),
  ),
  one(
    'a non-Latin-1 alg stays out of the challenge',
    'bearer',
    request(bearer(ALG_SNOWMAN)),
    invalidToken('algorithm_not_allowed', 'algorithm not allowed', 'unsupported algorithm `HS256\u2603`'),
  ),
  one(
    'a header that is not UTF-8 (read as Latin-1) is malformed',
    'bearer',
    request([['authorization', 'Bearer \u00ff\u00fe\u00e9']]),
    MALFORMED,
  ),
  one(
    'two Authorization lines are one malformed credential (RFC 9110 §5.3 joins them)',
    'bearer',
    request([
      ['authorization', `Bearer ${GOOD}`],
      ['authorization', 'Bearer junk'],
    ]),
    MALFORMED,
  ),
  one(
    'an oversized Authorization header',
    'bearer',
    request([['authorization', `Bearer ${'a'.repeat(16 * 1024)}`]]),
    invalidToken('token_too_large', 'token too large', 'the Authorization header is too large'),
  ),
  one(
    'an API key sent as a Bearer token to a token gate',
    'bearer',
    request(bearer('{api_key}')),
    invalidToken('malformed_token', 'malformed token', 'a JWT has three dot-separated parts'),
  ),
  one(
    'a token bound to a DPoP key is no bearer token',
    'bearer',
    request(bearer(DPOP_BOUND)),
    invalidToken(
      'invalid_claim',
      'invalid claim',
      'the token is bound to a key (cnf) and this request does not prove it',
    ),
  ),
  one('a token with the scope the gate needs', 'scoped', request(bearer(GOOD)), admitted()),
  one('a token without the scope the gate needs', 'scoped', request(bearer(WRITE_ONLY)), needsRead()),
  one("a token's `scp` array grants its scopes", 'scoped', request(bearer(SCP_ARRAY)), admitted()),
  one('a string `scp` grants nothing (only an array is read)', 'scoped', request(bearer(SCP_STRING)), needsRead()),
  one('a repeated `scp` counts as its last value', 'scoped', request(bearer(SCP_REPEATED)), needsRead()),
  one('an escaped `scp` name is read as `scp`', 'scoped', request(bearer(SCP_ESCAPED)), admitted()),
  one(
    'an escaped `cnf` name still binds the token',
    'bearer',
    request(bearer(CNF_ESCAPED)),
    invalidToken(
      'invalid_claim',
      'invalid claim',
      'the token is bound to a key (cnf) and this request does not prove it',
    ),
  ),
  one('a valid API key is admitted', 'api_key', request([['x-api-key', '{api_key}']]), admitted({}, NO_RATE_HEADERS)),
  one(
    'no API key: 401 without a Bearer challenge',
    'api_key',
    request([]),
    refused(401, 'missing_api_key', 'the request has no API key'),
  ),
  one(
    'an API key with a wrong checksum',
    'api_key',
    request([['x-api-key', '{api_key_typo}']]),
    invalidToken('invalid_api_key', 'invalid api key', "the API key's checksum does not match (a typo?)"),
  ),
  one(
    'an API key in Authorization is not read unless asked',
    'api_key',
    request(bearer('{api_key}')),
    refused(401, 'missing_api_key', 'the request has no API key'),
  ),
  one(
    'an API key in Authorization: Bearer when the gate reads it there',
    'api_key_in_authorization',
    request(bearer('{api_key}')),
    admitted(),
  ),
  one(
    'the x-api-key header first when the gate reads both',
    'api_key_in_authorization',
    request([['x-api-key', '{api_key_typo}'], ...bearer('{api_key}')]),
    invalidToken('invalid_api_key', 'invalid api key', "the API key's checksum does not match (a typo?)"),
  ),
  {
    name: 'per app: two requests a minute, then 429 with Retry-After and the RateLimit headers',
    gate: 'limited',
    steps: [
      {
        request: request([['x-api-key', '{api_key}']]),
        expect: admitted(
          {
            'ratelimit-policy': '"default";q=2;w=60',
            ratelimit: '"default";r=1;t=30',
            'x-ratelimit-limit': '2',
            'x-ratelimit-remaining': '1',
            'x-ratelimit-reset': '1700000030',
          },
          ['retry-after'],
        ),
      },
      {
        request: request([['x-api-key', '{api_key}']]),
        expect: admitted({ ratelimit: '"default";r=0;t=30', 'x-ratelimit-remaining': '0' }, ['retry-after']),
      },
      {
        request: request([['x-api-key', '{api_key}']], { client: '203.0.113.8' }),
        expect: refused(429, 'rate_limited', 'rate limit of policy `default` exceeded', {
          retryAfter: 30,
          headers: {
            'retry-after': '30',
            'ratelimit-policy': '"default";q=2;w=60',
            ratelimit: '"default";r=0;t=30',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': '1700000060',
          },
        }),
      },
    ],
  },
  {
    name: 'per client before credentials: unknown keys are metered too',
    gate: 'limited',
    steps: [
      ...[1, 2, 3].map(() => ({
        request: request([['x-api-key', '{api_key_typo}']]),
        expect: invalidToken('invalid_api_key', 'invalid api key', "the API key's checksum does not match (a typo?)"),
      })),
      {
        request: request([['x-api-key', '{api_key_typo}']]),
        expect: refused(429, 'rate_limited', 'rate limit of policy `per_client` exceeded', {
          retryAfter: 20,
          headers: {
            'retry-after': '20',
            'ratelimit-policy': '"per_client";q=3;w=60',
            ratelimit: '"per_client";r=0;t=20',
            'x-ratelimit-limit': '3',
          },
        }),
      },
      {
        request: request([['x-api-key', '{api_key}']], { client: '203.0.113.9' }),
        expect: admitted({ ratelimit: '"default";r=1;t=30' }),
      },
    ],
  },
  {
    name: 'admitted requests do not use the client quota; failed ones do, then the client is refused',
    gate: 'client_quota',
    steps: [
      ...[1, 2, 3].map(() => ({
        request: request([['x-api-key', '{api_key}']]),
        expect: admitted({}, ['retry-after']),
      })),
      ...[1, 2].map(() => ({
        request: request([['x-api-key', '{api_key_typo}']]),
        expect: invalidToken('invalid_api_key', 'invalid api key', "the API key's checksum does not match (a typo?)"),
      })),
      {
        request: request([['x-api-key', '{api_key}']]),
        expect: refused(429, 'rate_limited', 'rate limit of policy `per_client` exceeded', {
          retryAfter: 30,
          headers: {
            'retry-after': '30',
            'ratelimit-policy': '"per_client";q=2;w=60',
            ratelimit: '"per_client";r=0;t=30',
          },
        }),
      },
    ],
  },
  {
    name: 'IPv6 clients are counted per /64',
    gate: 'client_quota',
    steps: [
      ...['2001:db8:1:2::1', '2001:db8:1:2::2'].map((client) => ({
        request: request([['x-api-key', '{api_key_typo}']], { client }),
        expect: invalidToken('invalid_api_key', 'invalid api key', "the API key's checksum does not match (a typo?)"),
      })),
      {
        request: request([['x-api-key', '{api_key}']], { client: '2001:db8:1:2:ffff::3' }),
        expect: refused(429, 'rate_limited', 'rate limit of policy `per_client` exceeded', {
          retryAfter: 30,
          headers: { 'retry-after': '30' },
        }),
      },
      { request: request([['x-api-key', '{api_key}']], { client: '2001:db8:1:3::1' }), expect: admitted() },
    ],
  },
  one('a client inside the allowlist', 'allowlist', request([]), admitted()),
  one(
    'a client outside the allowlist: 403 without a challenge',
    'allowlist',
    request([], { client: '198.51.100.1' }),
    refused(403, 'ip_not_allowed', 'this IP address is not allowed'),
  ),
  one(
    'a forwarding header that is no address',
    'allowlist',
    request([], { client: 'not-an-address' }),
    refused(400, 'invalid_input', 'a forwarding hop is not an IP address'),
  ),
]

writeVectors(
  {
    'http/gate.json': {
      area: 'gate',
      source:
        'tools/gate_cases.mjs: HS256 tokens signed with node:crypto; responses written by hand (RFC 6750 §3, RFC 9110, GCRA arithmetic)',
      description:
        'Requests through a gate and the exact response: status, the listed headers (lower-case names; others may be added by the server), headers that must be absent, and the body byte for byte. Every step of a case runs against one fresh gate; the peer is 127.0.0.1 (a trusted proxy) and the client is the x-forwarded-for address. {api_key} is a key the runner creates (scopes ["read"]); {api_key_typo} is that key with its last character changed.',
      gates,
      cases,
    },
  },
  'gate_cases.mjs',
)
