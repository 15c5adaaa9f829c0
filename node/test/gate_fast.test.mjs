// Gate.check calls a bare native function first (node/src/fast_gate.rs) and falls back to
// CoreGate.check for what it does not read. Both must answer every request alike: each
// request below goes to two gates built alike, one through each path, and the answers are
// compared whole.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as ag from '../index.mjs'
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
  })
  return { gate, keys, apiKeys }
}

/** The native function a gate holds, wrapped to count its calls and what it answered. */
function spy(gate) {
  const symbol = Object.getOwnPropertySymbols(gate).find((s) => s.description === 'authgate.gate.fast')
  const fast = gate[symbol]
  const seen = { calls: 0, declined: 0 }
  gate[symbol] = (...args) => {
    seen.calls++
    const answer = fast(...args)
    if (answer === false) seen.declined++
    return answer
  }
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
  // Three rounds: the per-client limit (3 a minute) is used up by the refusals.
  for (let round = 0; round < 3; round++) {
    for (const [headers, peer] of requests) {
      const header = (name) => headers[name]
      const options = { method: 'POST', url: 'https://api.example.com/orders?x=1' }
      http._fastGate = true
      const a = fast.gate.check(header, peer, options)
      http._fastGate = false
      let b
      try {
        b = slow.gate.check(header, peer, options)
      } finally {
        http._fastGate = true
      }
      assert.deepEqual(plain(a), plain(b), JSON.stringify([round, Object.keys(headers), peer]))
    }
  }
  assert.equal(seen.calls, 3 * requests.length)
  // Only the request past the buffer went the slow way.
  assert.equal(seen.declined, 3)
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
