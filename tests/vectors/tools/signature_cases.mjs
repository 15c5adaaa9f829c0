// Writes tests/vectors/signature/cases.json and tests/vectors/webhook/cases.json.
//
// Independent of authgate: each signature base is spelled out line by line below (as
// RFC 9421 §2.5 defines it) and signed with node:crypto, so the Rust core and every binding
// are checked against values they did not produce. `node tests/vectors/tools/signature_cases.mjs
// --check` fails if the committed files differ from what this script writes.
import { createHmac, createHash, createPrivateKey, sign as edSign } from 'node:crypto'
import { writeVectors } from './write.mjs'

// A 32-byte conformance secret, and the RFC 9421 B.1.4 Ed25519 test key.
const HMAC_SECRET = Buffer.from('authgate-conformance-secret-0001')
const ED_PRIVATE = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
`
const ED_PUBLIC = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
`
const hmacKey = { alg: 'hmac-sha256', secret_b64: HMAC_SECRET.toString('base64') }
const edKey = { alg: 'ed25519', pem: ED_PUBLIC }
const keys = { 'client-1': hmacKey, 'client-ed': edKey }

const hmac = (base) => createHmac('sha256', HMAC_SECRET).update(base).digest('base64')
const ed = (base) => edSign(null, Buffer.from(base), createPrivateKey(ED_PRIVATE)).toString('base64')
const sha256 = (body) => `sha-256=:${createHash('sha256').update(body).digest('base64')}:`

const NOW = 1700000000
const BODY = '{"item":"book","qty":2}'
const DIGEST = sha256(BODY)
const URL = 'https://api.example.com/v1/orders?dry=1'
const COMPONENTS = '("@method" "@authority" "@path" "@query" "content-digest" "content-type")'
const PARAMS = `;created=${NOW};keyid="client-1";nonce="n-0001";alg="hmac-sha256"`
const baseLines = (digest = DIGEST) => [
  '"@method": POST',
  '"@authority": api.example.com',
  '"@path": /v1/orders',
  '"@query": ?dry=1',
  `"content-digest": ${digest}`,
  '"content-type": application/json',
]
const base = (lines, params) => `${lines.join('\n')}\n"@signature-params": ${params}`

function request({ body = BODY, digest = DIGEST, extra = [], url = URL, method = 'POST' } = {}) {
  const headers = [['Content-Type', 'application/json']]
  if (digest !== null) headers.push(['Content-Digest', digest])
  return { method, url, headers: headers.concat(extra), body }
}
function signed(sigInput, sigValue, opts = {}) {
  return request({
    ...opts,
    extra: [...(opts.extra ?? []), ['Signature-Input', sigInput], ['Signature', sigValue]],
  })
}

const mainParams = COMPONENTS + PARAMS
const mainSig = hmac(base(baseLines(), mainParams))
const main = signed(`sig1=${mainParams}`, `sig1=:${mainSig}:`)
const okMain = {
  label: 'sig1',
  keyid: 'client-1',
  algorithm: 'hmac-sha256',
  components: ['@method', '@authority', '@path', '@query', 'content-digest', 'content-type'],
}

const edParams = `${COMPONENTS};created=${NOW};keyid="client-ed";nonce="n-0002";alg="ed25519"`
const edSig = ed(base(baseLines(), edParams))

// Every derived component at once, and a field sent twice.
const allParams = `("@method" "@target-uri" "@authority" "@scheme" "@request-target" "@path" "@query" "x-list");created=${NOW};keyid="client-1";nonce="n-0003"`
const allUrl = 'https://API.Example.com:443/a/b?x=1&y=%20z'
const allBase = base(
  [
    '"@method": GET',
    '"@target-uri": https://api.example.com/a/b?x=1&y=%20z',
    '"@authority": api.example.com',
    '"@scheme": https',
    '"@request-target": /a/b?x=1&y=%20z',
    '"@path": /a/b',
    '"@query": ?x=1&y=%20z',
    '"x-list": one, two,three',
  ],
  allParams,
)
const allReq = {
  method: 'GET',
  url: allUrl,
  body: '',
  headers: [
    ['X-List', ' one '],
    ['x-list', 'two,three'],
    ['Signature-Input', `sig1=${allParams}`],
    ['Signature', `sig1=:${hmac(allBase)}:`],
  ],
}

// Without `@path`, and without a nonce: refused by the default policy.
const noPathParams = `("@method" "@authority" "@query" "content-digest" "content-type")${PARAMS}`
const noPathBase = base(
  baseLines().filter((l) => !l.startsWith('"@path"')),
  noPathParams,
)
const noNonceParams = `${COMPONENTS};created=${NOW};keyid="client-1"`

// Expires a minute after creation.
const expParams = `${COMPONENTS};created=${NOW};expires=${NOW + 60};keyid="client-1";nonce="n-0004"`
const expSig = hmac(base(baseLines(), expParams))

// Expires before it was created: malformed, whatever the clock says (validly signed).
const invertedParams = `${COMPONENTS};created=${NOW};expires=${NOW - 10};keyid="client-1";nonce="n-0005"`
const invertedSig = hmac(base(baseLines(), invertedParams))

// A proxy's signature (unknown key) listed first, ours second.
const proxyParams = `("@method" "@authority");created=${NOW};keyid="proxy";nonce="p-1"`
const twoSigs = signed(`proxy=${proxyParams}, sig1=${mainParams}`, `proxy=:AAAA:, sig1=:${mainSig}:`)

// The body changed along with its digest: the digest is covered, so the signature fails.
const otherBody = '{"item":"book","qty":200}'

const _defaultPolicy = {}
const sigCases = [
  {
    name: 'hmac-sha256 request with body, query and digest verifies',
    op: 'verify',
    keys,
    request: main,
    now: NOW + 10,
    expect: okMain,
  },
  {
    name: 'ed25519 request verifies with the public key',
    op: 'verify',
    keys,
    request: signed(`sig1=${edParams}`, `sig1=:${edSig}:`),
    now: NOW,
    expect: { ...okMain, keyid: 'client-ed', algorithm: 'ed25519' },
  },
  {
    name: 'every derived component and a repeated field',
    op: 'verify',
    keys,
    request: allReq,
    now: NOW,
    expect: {
      label: 'sig1',
      keyid: 'client-1',
      algorithm: 'hmac-sha256',
      components: ['@method', '@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query', 'x-list'],
    },
  },
  {
    name: 'the same request twice: the second is a replay',
    op: 'replay',
    keys,
    request: main,
    now: NOW,
    expect: { error: 'replay_detected' },
  },
  {
    name: 'first of two signatures has an unknown key: the second is used',
    op: 'verify',
    keys,
    request: twoSigs,
    now: NOW,
    expect: okMain,
  },
  {
    name: 'select by label',
    op: 'verify',
    keys,
    request: twoSigs,
    now: NOW,
    select: { label: 'sig1' },
    expect: okMain,
  },
  {
    name: 'select by keyid',
    op: 'verify',
    keys,
    request: twoSigs,
    now: NOW,
    select: { keyid: 'client-1' },
    expect: okMain,
  },
  {
    name: 'selecting the proxy signature: its key is unknown',
    op: 'verify',
    keys,
    request: twoSigs,
    now: NOW,
    select: { label: 'proxy' },
    expect: { error: 'unknown_key' },
  },
  {
    name: 'selecting an absent label',
    op: 'verify',
    keys,
    request: main,
    now: NOW,
    select: { label: 'nope' },
    expect: { error: 'missing_signature' },
  },
  {
    name: 'body changed, digest kept: digest mismatch',
    op: 'verify',
    keys,
    request: { ...main, body: otherBody },
    now: NOW,
    expect: { error: 'digest_mismatch' },
  },
  {
    name: 'body and digest changed: the covered digest breaks the signature',
    op: 'verify',
    keys,
    request: signed(`sig1=${mainParams}`, `sig1=:${mainSig}:`, { body: otherBody, digest: sha256(otherBody) }),
    now: NOW,
    expect: { error: 'signature_mismatch' },
  },
  {
    name: 'method changed',
    op: 'verify',
    keys,
    request: { ...main, method: 'PUT' },
    now: NOW,
    expect: { error: 'signature_mismatch' },
  },
  {
    name: 'query changed',
    op: 'verify',
    keys,
    request: { ...main, url: 'https://api.example.com/v1/orders?dry=0' },
    now: NOW,
    expect: { error: 'signature_mismatch' },
  },
  {
    name: 'signature bytes of another request',
    op: 'verify',
    keys,
    request: signed(`sig1=${mainParams}`, `sig1=:${hmac('other')}:`),
    now: NOW,
    expect: { error: 'signature_mismatch' },
  },
  {
    name: 'created 301 s ago',
    op: 'verify',
    keys,
    request: main,
    now: NOW + 301,
    expect: { error: 'stale_timestamp' },
  },
  {
    name: 'created 301 s in the future',
    op: 'verify',
    keys,
    request: main,
    now: NOW - 301,
    expect: { error: 'stale_timestamp' },
  },
  {
    name: 'created 300 s ago is still inside the window',
    op: 'verify',
    keys,
    request: main,
    now: NOW + 300,
    expect: okMain,
  },
  {
    name: 'created 61 s in the future: past the 60 s allowed ahead',
    op: 'verify',
    keys,
    request: main,
    now: NOW - 61,
    expect: { error: 'stale_timestamp' },
  },
  {
    name: 'created 60 s in the future is allowed (clock drift)',
    op: 'verify',
    keys,
    request: main,
    now: NOW - 60,
    expect: okMain,
  },
  {
    name: 'a wider allowance ahead, set apart from the maximum age',
    op: 'verify',
    keys,
    request: main,
    now: NOW - 100,
    policy: { max_future_skew: 120 },
    expect: okMain,
  },
  {
    name: 'a wider maximum age does not widen the allowance ahead',
    op: 'verify',
    keys,
    request: main,
    now: NOW - 100,
    policy: { max_skew: 1000 },
    expect: { error: 'stale_timestamp' },
  },
  {
    name: 'expires earlier than created is malformed',
    op: 'verify',
    keys,
    request: signed(`sig1=${invertedParams}`, `sig1=:${invertedSig}:`),
    now: NOW - 20,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'a wider skew window accepts an older request',
    op: 'verify',
    keys,
    request: main,
    now: NOW + 900,
    policy: { max_skew: 1000 },
    expect: okMain,
  },
  {
    name: 'expires has passed',
    op: 'verify',
    keys,
    request: signed(`sig1=${expParams}`, `sig1=:${expSig}:`),
    now: NOW + 60,
    expect: { error: 'signature_expired' },
  },
  {
    name: 'before expires',
    op: 'verify',
    keys,
    request: signed(`sig1=${expParams}`, `sig1=:${expSig}:`),
    now: NOW + 59,
    expect: okMain,
  },
  {
    name: 'policy requires expires',
    op: 'verify',
    keys,
    request: main,
    now: NOW,
    policy: { require_expires: true },
    expect: { error: 'missing_component' },
  },
  {
    name: 'unknown keyid',
    op: 'verify',
    keys: { 'client-ed': edKey },
    request: main,
    now: NOW,
    expect: { error: 'unknown_key' },
  },
  {
    name: 'alg names another algorithm than the key has',
    op: 'verify',
    keys: { 'client-1': edKey },
    request: main,
    now: NOW,
    expect: { error: 'algorithm_mismatch' },
  },
  {
    name: 'an hmac signature checked with an ed25519 key of that keyid',
    op: 'verify',
    keys: { 'client-1': edKey },
    request: signed(`sig1=${noNonceParams};nonce="x"`, `sig1=:${mainSig}:`),
    now: NOW,
    expect: { error: 'signature_mismatch' },
  },
  {
    name: 'alg is not a known algorithm',
    op: 'verify',
    keys,
    request: signed(
      `sig1=${COMPONENTS};created=${NOW};keyid="client-1";nonce="n";alg="hmac-sha512"`,
      `sig1=:${mainSig}:`,
    ),
    now: NOW,
    expect: { error: 'algorithm_mismatch' },
  },
  {
    name: '@path not covered',
    op: 'verify',
    keys,
    request: signed(`sig1=${noPathParams}`, `sig1=:${hmac(noPathBase)}:`),
    now: NOW,
    expect: { error: 'missing_component' },
  },
  {
    name: '@path not covered but not required',
    op: 'verify',
    keys,
    request: signed(`sig1=${noPathParams}`, `sig1=:${hmac(noPathBase)}:`),
    now: NOW,
    policy: { required_components: ['@method', '@authority'] },
    expect: { ...okMain, components: ['@method', '@authority', '@query', 'content-digest', 'content-type'] },
  },
  {
    name: 'no nonce',
    op: 'verify',
    keys,
    request: signed(`sig1=${noNonceParams}`, `sig1=:${hmac(base(baseLines(), noNonceParams))}:`),
    now: NOW,
    expect: { error: 'missing_component' },
  },
  {
    name: 'no nonce, nonce not required',
    op: 'verify',
    keys,
    request: signed(`sig1=${noNonceParams}`, `sig1=:${hmac(base(baseLines(), noNonceParams))}:`),
    now: NOW,
    policy: { require_nonce: false },
    expect: okMain,
  },
  {
    name: 'no created',
    op: 'verify',
    keys,
    request: signed(`sig1=${COMPONENTS};keyid="client-1";nonce="n"`, `sig1=:AAAA:`),
    now: NOW,
    expect: { error: 'missing_component' },
  },
  {
    name: 'no keyid',
    op: 'verify',
    keys,
    request: signed(`sig1=${COMPONENTS};created=${NOW};nonce="n"`, `sig1=:AAAA:`),
    now: NOW,
    expect: { error: 'missing_component' },
  },
  {
    name: 'content-digest not covered although there is a body',
    op: 'verify',
    keys,
    request: signed(
      `sig1=("@method" "@authority" "@path" "@query");created=${NOW};keyid="client-1";nonce="n"`,
      'sig1=:AAAA:',
    ),
    now: NOW,
    expect: { error: 'missing_component' },
  },
  {
    name: 'covered field absent from the request',
    op: 'verify',
    keys,
    request: signed(
      `sig1=("@method" "@authority" "@path" "@query" "content-digest" "x-request-id");created=${NOW};keyid="client-1";nonce="n"`,
      'sig1=:AAAA:',
    ),
    now: NOW,
    expect: { error: 'missing_component' },
  },
  {
    name: 'tag required by policy, signature has another',
    op: 'verify',
    keys,
    request: signed(`sig1=${mainParams};tag="other"`, `sig1=:${mainSig}:`),
    now: NOW,
    policy: { tag: 'app' },
    expect: { error: 'missing_signature' },
  },
  {
    name: 'no signature headers',
    op: 'verify',
    keys,
    request: request(),
    now: NOW,
    expect: { error: 'missing_signature' },
  },
  {
    name: 'Signature-Input without Signature',
    op: 'verify',
    keys,
    request: request({ extra: [['Signature-Input', `sig1=${mainParams}`]] }),
    now: NOW,
    expect: { error: 'missing_signature' },
  },
  {
    name: 'Signature lacks the label',
    op: 'verify',
    keys,
    request: signed(`sig1=${mainParams}`, `sig2=:${mainSig}:`),
    now: NOW,
    expect: { error: 'missing_signature' },
  },
  {
    name: 'Signature-Input is not a structured dictionary',
    op: 'verify',
    keys,
    request: signed('sig1=("@method" "@path";created=1', `sig1=:${mainSig}:`),
    now: NOW,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'a label appears twice',
    op: 'verify',
    keys,
    request: signed(`sig1=${mainParams}, sig1=${mainParams}`, `sig1=:${mainSig}:`),
    now: NOW,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'Signature value is not a byte sequence',
    op: 'verify',
    keys,
    request: signed(`sig1=${mainParams}`, `sig1="${mainSig}"`),
    now: NOW,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'created is a string',
    op: 'verify',
    keys,
    request: signed(`sig1=${COMPONENTS};created="${NOW}";keyid="client-1";nonce="n"`, 'sig1=:AAAA:'),
    now: NOW,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'a component is covered twice',
    op: 'verify',
    keys,
    request: signed(
      `sig1=("@method" "@method" "@authority" "@path" "@query" "content-digest");created=${NOW};keyid="client-1";nonce="n"`,
      'sig1=:AAAA:',
    ),
    now: NOW,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'an unsupported derived component',
    op: 'verify',
    keys,
    request: signed(
      `sig1=("@status" "@method" "@authority" "@path" "@query" "content-digest");created=${NOW};keyid="client-1";nonce="n"`,
      'sig1=:AAAA:',
    ),
    now: NOW,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'a component with parameters',
    op: 'verify',
    keys,
    request: signed(
      `sig1=("@method" "@authority" "@path" "@query" "content-digest";sf);created=${NOW};keyid="client-1";nonce="n"`,
      'sig1=:AAAA:',
    ),
    now: NOW,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'Signature-Input larger than 8 KiB',
    op: 'verify',
    keys,
    request: signed(`sig1=${mainParams};tag="${'x'.repeat(8200)}"`, `sig1=:${mainSig}:`),
    now: NOW,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'a header value with a line break cannot reach the signature base',
    op: 'verify',
    keys,
    request: signed(
      `sig1=("@method" "@authority" "@path" "@query" "content-digest" "x-evil");created=${NOW};keyid="client-1";nonce="n"`,
      'sig1=:AAAA:',
      { extra: [['X-Evil', 'a\n"@method": GET']] },
    ),
    now: NOW,
    expect: { error: 'invalid_input' },
  },
  {
    name: 'Content-Digest with no known algorithm',
    op: 'verify_content_digest',
    field: 'md5=:AAAA:',
    body: BODY,
    expect: { error: 'digest_mismatch' },
  },
  {
    name: 'Content-Digest that is not a dictionary',
    op: 'verify_content_digest',
    field: 'sha-256=abc def',
    body: BODY,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'Content-Digest with both known algorithms',
    op: 'verify_content_digest',
    field: `${DIGEST}, sha-512=:${createHash('sha512').update(BODY).digest('base64')}:`,
    body: BODY,
    expect: {},
  },
]

// Webhooks: the spec's example, plus v1a with the RFC 8032 §7.1 test 1 key.
const WH_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const WH_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek'
const WH_TS = 1614265330
const WH_PAYLOAD = '{"test": 2432232314}'
const WH_SIG = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex')
const pub = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex')
const whsk = `whsk_${seed.toString('base64')}`
const whskFull = `whsk_${Buffer.concat([seed, pub]).toString('base64')}`
const whpk = `whpk_${pub.toString('base64')}`
const edWebhookKey = createPrivateKey({
  key: { kty: 'OKP', crv: 'Ed25519', d: seed.toString('base64url'), x: pub.toString('base64url') },
  format: 'jwk',
})
const v1a = (content) => `v1a,${edSign(null, Buffer.from(content), edWebhookKey).toString('base64')}`
const V1A_SIG = v1a(`${WH_ID}.${WH_TS}.${WH_PAYLOAD}`)
const otherSecret = `whsec_${Buffer.from('another-endpoint-secret-32-bytes').toString('base64')}`
const headers = (sig, ts = String(WH_TS), id = WH_ID) => [
  ['webhook-id', id],
  ['webhook-timestamp', ts],
  ['webhook-signature', sig],
]
const okWh = (version) => ({ id: WH_ID, timestamp: WH_TS, version })

const whCases = [
  {
    name: 'spec example: sign',
    op: 'sign',
    keys: [WH_SECRET],
    id: WH_ID,
    timestamp: WH_TS,
    payload: WH_PAYLOAD,
    expect: { signature: WH_SIG },
  },
  {
    name: 'spec example: verify',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(WH_SIG),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: okWh('v1'),
  },
  {
    name: 'spec example: secret without its prefix',
    op: 'verify',
    keys: ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    headers: headers(WH_SIG),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: okWh('v1'),
  },
  {
    name: 'v1a: sign with a whsk_ seed',
    op: 'sign',
    keys: [whsk],
    id: WH_ID,
    timestamp: WH_TS,
    payload: WH_PAYLOAD,
    expect: { signature: V1A_SIG },
  },
  {
    name: 'v1a: sign with a 64-byte whsk_ key',
    op: 'sign',
    keys: [whskFull],
    id: WH_ID,
    timestamp: WH_TS,
    payload: WH_PAYLOAD,
    expect: { signature: V1A_SIG },
  },
  {
    name: 'v1a: verify with the whpk_ public key',
    op: 'verify',
    keys: [whpk],
    headers: headers(V1A_SIG),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: okWh('v1a'),
  },
  {
    name: 'rotation: two keys sign, in order',
    op: 'sign',
    keys: [otherSecret, WH_SECRET],
    id: WH_ID,
    timestamp: WH_TS,
    payload: WH_PAYLOAD,
    expect: {
      signature: `v1,${createHmac('sha256', Buffer.from('another-endpoint-secret-32-bytes')).update(`${WH_ID}.${WH_TS}.${WH_PAYLOAD}`).digest('base64')} ${WH_SIG}`,
    },
  },
  {
    name: 'rotation: any matching signature passes; unknown versions are skipped',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(`v2,AAAA v1,bm90LXRoZS1zaWduYXR1cmU= ${WH_SIG}`),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: okWh('v1'),
  },
  {
    name: 'trust list with both kinds',
    op: 'verify',
    keys: [otherSecret, whpk],
    headers: headers(`${WH_SIG} ${V1A_SIG}`),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: okWh('v1a'),
  },
  {
    name: 'a v1 signature is never checked against a whpk_ key',
    op: 'verify',
    keys: [whpk],
    headers: headers(WH_SIG),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'signature_mismatch' },
  },
  {
    name: 'payload changed',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(WH_SIG),
    payload: '{"test": 2432232315}',
    now: WH_TS,
    expect: { error: 'signature_mismatch' },
  },
  {
    name: 'id changed',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(WH_SIG, String(WH_TS), 'msg_other'),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'signature_mismatch' },
  },
  {
    name: 'timestamp changed',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(WH_SIG, String(WH_TS + 1)),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'signature_mismatch' },
  },
  {
    name: 'another secret',
    op: 'verify',
    keys: [otherSecret],
    headers: headers(WH_SIG),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'signature_mismatch' },
  },
  {
    name: 'timestamp 301 s old',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(WH_SIG),
    payload: WH_PAYLOAD,
    now: WH_TS + 301,
    expect: { error: 'stale_timestamp' },
  },
  {
    name: 'timestamp 301 s ahead',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(WH_SIG),
    payload: WH_PAYLOAD,
    now: WH_TS - 301,
    expect: { error: 'stale_timestamp' },
  },
  {
    name: 'timestamp 300 s old is within tolerance',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(WH_SIG),
    payload: WH_PAYLOAD,
    now: WH_TS + 300,
    expect: okWh('v1'),
  },
  {
    name: 'a wider tolerance',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(WH_SIG),
    payload: WH_PAYLOAD,
    now: WH_TS + 3000,
    tolerance: 3600,
    expect: okWh('v1'),
  },
  {
    name: 'the same webhook twice: the second is a redelivery',
    op: 'replay',
    keys: [WH_SECRET],
    headers: headers(WH_SIG),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'replay_detected' },
  },
  {
    name: 'no webhook-signature header',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(WH_SIG).slice(0, 2),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'missing_signature' },
  },
  {
    name: 'webhook-id twice',
    op: 'verify',
    keys: [WH_SECRET],
    headers: [...headers(WH_SIG), ['Webhook-Id', 'msg_2']],
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'malformed_signature' },
  },
  // Svix sends the same three fields under its own names; its libraries read either.
  {
    name: 'svix-branded headers are aliases',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(WH_SIG).map(([n, v]) => [n.replace('webhook-', 'Svix-'), v]),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: okWh('v1'),
  },
  {
    name: 'both names of a field with one value',
    op: 'verify',
    keys: [WH_SECRET],
    headers: [...headers(WH_SIG), ['svix-id', WH_ID], ['svix-signature', WH_SIG]],
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: okWh('v1'),
  },
  {
    name: 'webhook-id and svix-id that differ',
    op: 'verify',
    keys: [WH_SECRET],
    headers: [...headers(WH_SIG), ['svix-id', 'msg_other']],
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'svix-signature twice',
    op: 'verify',
    keys: [WH_SECRET],
    headers: [
      ['svix-id', WH_ID],
      ['svix-timestamp', String(WH_TS)],
      ['svix-signature', WH_SIG],
      ['svix-signature', WH_SIG],
    ],
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'svix-branded headers: payload changed',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(WH_SIG).map(([n, v]) => [n.replace('webhook-', 'svix-'), v]),
    payload: '{"test": 2432232315}',
    now: WH_TS,
    expect: { error: 'signature_mismatch' },
  },
  {
    name: 'timestamp is not whole seconds',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(WH_SIG, '1614265330.5'),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'timestamp with a sign',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(WH_SIG, '+1614265330'),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'signature entry without a version',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers('g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'empty signature header',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers('  '),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'malformed_signature' },
  },
  {
    name: 'secret shorter than 24 bytes',
    op: 'parse_key',
    key: `whsec_${Buffer.alloc(23, 7).toString('base64')}`,
    expect: { error: 'weak_key' },
  },
  { name: 'secret that is not base64', op: 'parse_key', key: 'whsec_not base64!', expect: { error: 'invalid_key' } },
  {
    name: 'whpk_ of 31 bytes',
    op: 'parse_key',
    key: `whpk_${Buffer.alloc(31, 1).toString('base64')}`,
    expect: { error: 'invalid_key' },
  },
  {
    name: 'whsk_ whose public half does not match',
    op: 'parse_key',
    key: `whsk_${Buffer.concat([seed, Buffer.alloc(32, 1)]).toString('base64')}`,
    expect: { error: 'invalid_key' },
  },
  {
    name: 'whsk_ key exposes its public key',
    op: 'parse_key',
    key: whsk,
    expect: { version: 'v1a', can_sign: true, public_key: whpk },
  },
  {
    name: 'whpk_ key cannot sign',
    op: 'parse_key',
    key: whpk,
    expect: { version: 'v1a', can_sign: false, public_key: whpk },
  },
  { name: 'whsec_ key', op: 'parse_key', key: WH_SECRET, expect: { version: 'v1', can_sign: true, public_key: null } },
  {
    name: 'signing with a public key',
    op: 'sign',
    keys: [whpk],
    id: WH_ID,
    timestamp: WH_TS,
    payload: WH_PAYLOAD,
    expect: { error: 'invalid_key' },
  },
  {
    name: 'signing an id that contains a dot',
    op: 'sign',
    keys: [WH_SECRET],
    id: 'msg.1',
    timestamp: WH_TS,
    payload: WH_PAYLOAD,
    expect: { error: 'invalid_input' },
  },
  // The verifier refuses what the signer refuses: with `.` in the id, `id.timestamp.body` is
  // ambiguous (this signature is valid HMAC over `msg.1.<ts>.<payload>`).
  {
    name: 'verifying an id that contains a dot',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(
      `v1,${createHmac('sha256', Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64')).update(`msg.1.${WH_TS}.${WH_PAYLOAD}`).digest('base64')}`,
      String(WH_TS),
      'msg.1',
    ),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'malformed_signature' },
  },
  // A webhook is acceptable while its timestamp is within ±tolerance, so its id is kept at
  // least that long, even when id_retention is shorter.
  {
    name: 'a short id_retention: redelivered at the last acceptable second, still a replay',
    op: 'replay',
    keys: [WH_SECRET],
    headers: headers(WH_SIG),
    payload: WH_PAYLOAD,
    now: WH_TS - 300,
    replay_now: WH_TS + 300,
    tolerance: 300,
    id_retention: 10,
    expect: { error: 'replay_detected' },
  },
  {
    name: 'a short id_retention: once the timestamp is out of tolerance, it is stale, not a replay',
    op: 'replay',
    keys: [WH_SECRET],
    headers: headers(WH_SIG),
    payload: WH_PAYLOAD,
    now: WH_TS - 300,
    replay_now: WH_TS + 301,
    tolerance: 300,
    id_retention: 10,
    expect: { error: 'stale_timestamp' },
  },
  // 16 forged entries and the real one last: still found (each key's MAC is computed once).
  {
    name: 'many forged entries before the real one',
    op: 'verify',
    keys: [otherSecret, WH_SECRET],
    headers: headers(
      `${Array.from({ length: 15 }, (_, i) => `v1,${Buffer.alloc(32, i).toString('base64')}`).join(' ')} ${WH_SIG}`,
    ),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: okWh('v1'),
  },
  {
    name: 'entries past the sixteenth are not read',
    op: 'verify',
    keys: [WH_SECRET],
    headers: headers(
      `${Array.from({ length: 16 }, (_, i) => `v1,${Buffer.alloc(32, i).toString('base64')}`).join(' ')} ${WH_SIG}`,
    ),
    payload: WH_PAYLOAD,
    now: WH_TS,
    expect: { error: 'signature_mismatch' },
  },
]

const files = {
  'signature/cases.json': {
    area: 'signature',
    source:
      'tests/vectors/tools/signature_cases.mjs: signature bases written out by hand and signed with node:crypto (HMAC-SHA256; Ed25519 with the RFC 9421 B.1.4 test key)',
    description: 'Edge and attack cases for RFC 9421 verification under the default policy unless a case sets one.',
    cases: sigCases,
  },
  'webhook/cases.json': {
    area: 'webhook',
    source:
      'Standard Webhooks specification example (whsec_MfKQ…, msg_p5jX…, 1614265330); v1a with the RFC 8032 §7.1 test 1 key signed by node:crypto; the rest from tests/vectors/tools/signature_cases.mjs',
    description: 'Standard Webhooks signing and verification, v1 and v1a; Svix-branded header names as aliases.',
    cases: whCases,
  },
}

writeVectors(files, 'signature_cases.mjs')
