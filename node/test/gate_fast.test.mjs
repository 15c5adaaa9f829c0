// Gate.check calls a bare native function first (node/src/fast_gate.rs) and falls back to
// CoreGate.check for what it does not read. Both must answer every request alike: each
// request below goes to two gates built alike, one through each path, and the answers are
// compared whole.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as ag from '../index.mjs'
import { createHash } from 'node:crypto'
import http from '../http.js'

const { Gate, GateRefusal } = http
const NOW = 1_700_000_000
const SECRET = Buffer.from('gate-fast-path-test-secret-0123456789ab')

function build() {
  const clock = new ag.ManualClock(NOW)
  const store = new ag.MemoryStore()
  const keys = new ag.KeySet([ag.Key.hmac(SECRET, 'HS256')])
  const apiKeys = new ag.ApiKeyManager({ store, clock })
  const limiter = new ag.RateLimiter({ store, clock })
  limiter.setPolicy('per_client', '3/minute')
  const gate = new Gate({
    keys,
    verify: { issuer: 'https://issuer.example', audience: 'api' },
    limiter,
    clientIp: new ag.ClientIpResolver(['10.0.0.0/8']),
    // The proof covers the method and the URL: a path that mixed them up would differ.
    dpop: new ag.DpopVerifier({ store }),
    publicOrigin: 'https://api.example.com',
  })
  return { gate, keys, apiKeys, limiter }
}

/** A gate of API keys (with credits) only, holding the same key as `twin`'s, if given. */
function keyGate(twin) {
  const clock = new ag.ManualClock(NOW)
  const store = new ag.MemoryStore()
  const apiKeys = new ag.ApiKeyManager({ store, clock })
  const limiter = new ag.RateLimiter({ store, clock })
  let key = twin?.key
  if (twin) {
    const r = twin.record
    apiKeys.importKey({
      id: r.id,
      prefix: r.prefix,
      lastFour: r.lastFour,
      sha256: createHash('sha256').update(key).digest('hex'),
      scopes: r.scopes,
      credits: r.credits,
    })
  } else {
    ;({ key } = apiKeys.create({ scopes: ['orders'], credits: 2 }))
  }
  const record = apiKeys.list?.()[0] ?? null
  return { gate: new Gate({ apiKeys, limiter }), key, record: record ?? apiKeys.verify(key) }
}

/** The native function a gate holds, wrapped to count its calls and what it answered. */
function spy(gate) {
  const symbol = Object.getOwnPropertySymbols(gate).find((s) => s.description === 'authgate.gate.fast')
  const fast = gate[symbol]
  const seen = { calls: 0, declined: 0 }
  Object.defineProperty(gate, symbol, {
    value: (...args) => {
      seen.calls++
      const answer = fast(...args)
      if (answer === false) seen.declined++
      return answer
    },
  })
  return { fast, seen }
}

/** What a check answered, as plain data. */
function plain(outcome) {
  if (outcome instanceof GateRefusal) {
    const e = outcome.error
    return {
      refused: outcome.toJSON(),
      error: [e.constructor.name, e.code, e.message, e.retryAfter, JSON.stringify(e.rateLimit ?? null)],
    }
  }
  return JSON.parse(JSON.stringify(outcome))
}

/** Sends `requests` ([headers, peer, method, url]) to both gates, one path each. */
function compare(fastGate, slowGate, requests, rounds) {
  const codes = []
  for (let round = 0; round < rounds; round++) {
    for (const [headers, peer, method = 'POST', url = 'https://api.example.com/orders?x=1'] of requests) {
      const header = (name) => headers[name]
      const options = { method, url }
      http._fastGate = true
      const a = fastGate.check(header, peer, options)
      http._fastGate = false
      let b
      try {
        b = slowGate.check(header, peer, options)
      } finally {
        http._fastGate = true
      }
      assert.deepEqual(plain(a), plain(b), JSON.stringify([round, Object.keys(headers), peer, method, url]))
      codes.push(a instanceof GateRefusal ? a.error.code : 'ADMITTED')
    }
  }
  return codes
}

test('the bare function and CoreGate.check answer every request alike', () => {
  const fast = build()
  const slow = build()
  const token = fast.keys.sign({
    iss: 'https://issuer.example',
    aud: 'api',
    sub: 'alice',
    exp: Math.floor(Date.now() / 1000) + 600,
  })
  assert.equal(slow.keys.verify(token, { issuer: 'https://issuer.example', audience: 'api' }).sub, 'alice')
  const { seen } = spy(fast.gate)
  const big = 'a'.repeat(20_000)
  const huge = 'a'.repeat(70_000) // past the bare function's buffer: the slow path
  const requests = [
    [{ authorization: `Bearer ${token}` }, '192.0.2.1'],
    [{ authorization: `Bearer ${token}` }, '2001:db8::7'],
    [{ authorization: `Bearer ${token}`, 'x-forwarded-for': '198.51.100.9, 10.1.2.3' }, '10.0.0.1'],
    [{ authorization: `Bearer ${token}` }, null],
    [{}, '192.0.2.2'],
    [{ authorization: 'Bearer not.a.token' }, '192.0.2.3'],
    [{ authorization: `Bearer ${token.slice(0, -4)}AAAA` }, '192.0.2.3'],
    [{ authorization: `Bearer ${big}` }, '192.0.2.4'],
    [{ authorization: `Bearer ${huge}` }, '192.0.2.4'],
    [{ authorization: 'Bearer caf\u00e9\ud800' }, '192.0.2.5'], // non-ASCII, a lone surrogate
    [{ authorization: ['Bearer a', 'Bearer b'] }, '192.0.2.6'], // two lines
    [{ authorization: `Bearer ${token}`, 'x-forwarded-for': 'not an address' }, '10.0.0.1'],
    [{ authorization: `Bearer ${token}` }, 'not an address'],
  ]
  // DPoP: one proof per request (each is used up at each gate, which have stores of their
  // own); the proof covers POST and the URL, so a method or URL read wrongly refuses.
  const device = ag.Key.fromPem(ag.Key.generatePem('ES256'), 'ES256')
  const bound = fast.keys.sign({
    iss: 'https://issuer.example',
    aud: 'api',
    sub: 'bob',
    exp: Math.floor(Date.now() / 1000) + 600,
    cnf: { jkt: ag.jwkThumbprint(device.publicJwk()) },
  })
  const target = 'https://api.example.com/orders'
  const proof = (method, url) => ag.createDpopProof(device, method, url, { accessToken: bound })
  requests.push(
    [{ authorization: `DPoP ${bound}`, dpop: proof('POST', target) }, '192.0.2.20', 'POST', `${target}?x=1`],
    [{ authorization: `DPoP ${bound}`, dpop: proof('GET', target) }, '192.0.2.21', 'POST', `${target}?x=1`],
    [{ authorization: `DPoP ${bound}`, dpop: proof('POST', `${target}/2`) }, '192.0.2.22', 'POST', target],
    [{ authorization: `DPoP ${bound}`, dpop: proof('DELETE', target) }, '192.0.2.23', 'DELETE', '/orders'],
  )
  // Three rounds: the per-client limit (3 a minute) is used up by the refusals, and each
  // DPoP proof is a replay after its first round.
  const codes = compare(fast.gate, slow.gate, requests, 3)
  // What the rounds went through, so the comparison covers each kind of answer.
  const dpop = codes.slice(requests.length - 4, requests.length)
  // The second and third proofs cover another method or URL than the request's.
  assert.deepEqual(dpop, ['ADMITTED', 'INVALID_CLAIM', 'INVALID_CLAIM', 'ADMITTED'])
  for (const code of [
    'ADMITTED',
    'MISSING_TOKEN',
    'MALFORMED_TOKEN',
    'INVALID_SIGNATURE',
    'RATE_LIMITED',
    'REPLAY_DETECTED',
  ]) {
    assert.ok(codes.includes(code), `${code} in ${codes}`)
  }
  assert.equal(seen.calls, 3 * requests.length)
  // Only the request past the buffer went the slow way.
  assert.equal(seen.declined, 3)
})

test('API keys and their credits, through both paths', () => {
  const fast = keyGate()
  const slow = keyGate(fast)
  const { seen } = spy(fast.gate)
  const typo = fast.key.slice(0, -1) + (fast.key.endsWith('a') ? 'b' : 'a')
  const requests = [
    [{ 'x-api-key': fast.key }, '192.0.2.1'],
    [{ 'x-api-key': typo }, '192.0.2.1'],
    [{}, '192.0.2.1'],
    [{ 'x-api-key': `${fast.key} ` }, '192.0.2.1'],
  ]
  // Two credits, taken by the key and by the key with a space after it (a header value's
  // surrounding space is not part of it): from the second round on, none is left.
  const codes = compare(fast.gate, slow.gate, requests, 3)
  assert.deepEqual(codes.slice(0, 5), [
    'ADMITTED',
    'INVALID_API_KEY',
    'MISSING_API_KEY',
    'ADMITTED',
    'API_KEY_CREDITS_EXHAUSTED',
  ])
  assert.equal(seen.calls, 12)
  assert.equal(seen.declined, 0)
})

test('strings that end at the edge of the buffer', () => {
  const fast = build()
  const slow = build()
  const { seen } = spy(fast.gate)
  // The request's strings (method, URL, peer, names and values) fill the 64 KiB buffer to
  // within a few bytes, the last value ending in a 3- or 4-byte character: the bare
  // function either fits them whole or declines; both paths answer alike.
  const fixed = 'POST'.length + 'https://api.example.com/orders?x=1'.length + '192.0.2.1'.length
  const room = 64 * 1024 - fixed - 'authorization'.length
  for (const tail of ['\u20ac', '\u{1F600}']) {
    const bytes = Buffer.byteLength(tail)
    for (let gap = -2; gap <= 8; gap++) {
      const value = `Bearer ${'a'.repeat(room - gap - 'Bearer '.length - bytes)}${tail}`
      compare(fast.gate, slow.gate, [[{ authorization: value }, '192.0.2.1']], 1)
    }
  }
  // The largest that fit went the fast way, the others the slow way.
  assert.ok(seen.declined > 0 && seen.declined < seen.calls, JSON.stringify(seen))
})

test('the bare function declines what it does not read, having done nothing', () => {
  const { gate } = build()
  const { fast } = spy(gate)
  const declined = [
    [1, '/', null, []],
    ['GET', {}, null, []],
    ['GET', '/', 7, []],
    ['GET', '/', null, ['authorization']],
    ['GET', '/', null, ['authorization', 7]],
    ['GET', '/', null, 'authorization'],
    ['GET', '/', null, Array.from({ length: 34 }, () => 'x')],
    ['GET', '/'],
  ]
  for (const args of declined) assert.equal(fast(...args), false, JSON.stringify(args))
  // Nothing was counted: the per-client limit (3 a minute) still has its three.
  for (let i = 0; i < 3; i++) {
    assert.equal(gate.check(() => 'Bearer x', '192.0.2.1').error.code, 'MALFORMED_TOKEN')
  }
  assert.equal(gate.check(() => 'Bearer x', '192.0.2.1').error.code, 'RATE_LIMITED')
  assert.equal(typeof fast('GET', '/', '192.0.2.9', ['authorization', 'Bearer x']), 'string')
})

test('routes and client certificates go through CoreGate.check', () => {
  const { gate } = build()
  const { seen } = spy(gate)
  const route = gate.route('POST /login', { limit: '5/minute' })
  gate.check(() => undefined, '192.0.2.1', { route })
  gate.check(() => undefined, '192.0.2.1', { clientCertificate: Buffer.from('not a certificate') })
  assert.equal(seen.calls, 0)
})
