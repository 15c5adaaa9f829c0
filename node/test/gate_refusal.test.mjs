// Gate.check: a refusal is returned as a GateRefusal (the response to send and a lazily
// built AuthError), not thrown; the same response and error as Gate.authenticate's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import * as ag from '../index.mjs'
import http from '../http.js'

const { Gate, GateRefusal } = http

function gates() {
  const build = () => {
    const limiter = new ag.RateLimiter({ clock: new ag.ManualClock(1_700_000_000) })
    limiter.setPolicy('client', '2/hour')
    const keys = new ag.KeySet([ag.Key.hmac(Buffer.from('gate-refusal-test-secret-0123456789ab'), 'HS256')])
    return new Gate({ keys, verify: { issuer: 'i', audience: 'a' }, limiter, clientRatePolicy: 'client', realm: 'api' })
  }
  return [build(), build()]
}

const bad = (name) => (name === 'authorization' ? 'Bearer not.a.token' : undefined)

test('check returns what authenticate throws, step by step', () => {
  const [viaCheck, viaThrow] = gates()
  // Two forged tokens use the per-client quota (2/hour), the third request is a 429.
  for (const want of ['MALFORMED_TOKEN', 'MALFORMED_TOKEN', 'RATE_LIMITED', 'RATE_LIMITED']) {
    const refusal = viaCheck.check(bad, '192.0.2.7')
    assert.ok(refusal instanceof GateRefusal)
    let thrown = null
    try {
      viaThrow.authenticate(bad, '192.0.2.7')
    } catch (error) {
      thrown = error
    }
    assert.ok(thrown instanceof ag.AuthError)
    assert.equal(refusal.error.code, want)
    assert.equal(thrown.code, want)
    assert.ok(refusal.error instanceof thrown.constructor)
    assert.equal(refusal.error.message, thrown.message)
    assert.equal(refusal.error.retryAfter, thrown.retryAfter)
    assert.deepEqual(refusal.error.response, thrown.response)
    assert.deepEqual({ status: refusal.status, headers: refusal.headers, body: refusal.body }, thrown.response)
    assert.deepEqual(refusal.error.rateLimit, thrown.rateLimit)
    assert.equal(refusal.error, refusal.error, 'built once')
  }
})

test('a 429 from check carries the limit: headers, retry-after and the decision', () => {
  const [gate] = gates()
  gate.check(bad, '192.0.2.8')
  gate.check(bad, '192.0.2.8')
  const refusal = gate.check(bad, '192.0.2.8')
  assert.equal(refusal.status, 429)
  // Written literally here: the names come from the core's list by index.
  assert.deepEqual(Object.keys(refusal.headers), [
    'content-type',
    'retry-after',
    'ratelimit-policy',
    'ratelimit',
    'x-ratelimit-limit',
    'x-ratelimit-remaining',
    'x-ratelimit-reset',
  ])
  assert.equal(refusal.headers['retry-after'], '1800')
  assert.equal(refusal.headers.ratelimit, '"client";r=0;t=1800')
  assert.equal(
    refusal.body,
    '{"error":"rate_limited","message":"rate limit of policy `client` exceeded","retry_after":1800}',
  )
  const { error } = refusal
  assert.ok(error instanceof ag.RateLimited)
  assert.equal(error.retryAfter, 1800)
  assert.equal(error.rateLimit.policy, 'client')
  assert.equal(error.rateLimit.remaining, 0)
  assert.equal(error.rateLimit.allowed, false)
  assert.equal(error.stack.split('\n').length, 1, 'no stack captured for a refusal')
})

test('a 401 from check has the challenge and no rate decision', () => {
  const [gate] = gates()
  const refusal = gate.check(() => undefined, '192.0.2.9')
  assert.equal(refusal.status, 401)
  assert.equal(refusal.headers['www-authenticate'], 'Bearer realm="api"')
  assert.equal(refusal.error.code, 'MISSING_TOKEN')
  assert.equal(refusal.error.retryAfter, null)
  assert.equal(refusal.error.rateLimit, undefined)
})

test('the refusal lines: names outside the list, a message with line breaks', () => {
  // As node/src/gate.rs writes them: status, headers (index or name), body, code,
  // retry-after, policy, numbers, message to the end.
  const text =
    '403\n0\napplication/json\nx-extra\nv 1\n\n{"error":"insufficient_scope","message":"a\\nb"}\ninsufficient_scope\n\n\n\na\nb'
  const refusal = http._refusalFromLines(text)
  assert.equal(refusal.status, 403)
  assert.deepEqual(refusal.headers, { 'content-type': 'application/json', 'x-extra': 'v 1' })
  assert.equal(refusal.body, '{"error":"insufficient_scope","message":"a\\nb"}')
  assert.ok(refusal.error instanceof ag.InsufficientScope)
  assert.equal(refusal.error.message, 'a\nb')
  assert.equal(refusal.error.retryAfter, null)
})

test('a GateRefusal is made by the gate only, and malformed lines throw instead of hanging', () => {
  assert.throws(() => new GateRefusal('401\n\n{}\n'), TypeError)
  for (const text of ['', '401', '401\n0\napplication/json', '401\n0', '401\n\n', 'x\n\n{}\n', '200\n\n{}\n']) {
    assert.throws(() => http._refusalFromLines(text), /malformed gate answer/, JSON.stringify(text))
  }
  // The shortest well-formed answer: no headers, a body, no details.
  const bare = http._refusalFromLines('500\n\n{}\n')
  assert.deepEqual([bare.status, bare.headers, bare.body], [500, {}, '{}'])
  assert.ok(bare.error instanceof ag.InternalError)
  assert.throws(() => {
    bare.status = 200
  }, TypeError)
  bare.headers['x-mine'] = '1'
  assert.equal(bare.error.response.headers['x-mine'], undefined, 'the error has its own copy')
  assert.equal(JSON.stringify(bare), '{"status":500,"headers":{"x-mine":"1"},"body":"{}"}')
  assert.match(inspect(bare), /^GateRefusal \{ status: 500,/)
})
