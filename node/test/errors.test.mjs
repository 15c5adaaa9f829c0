// Error mapping, JavaScript type edges and hostile input: errors, never a crash.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as ag from '../index.mjs'
import cjs from '../index.js'

const secret = Buffer.alloc(32, 7)
const keys = () => new ag.KeySet([ag.Key.hmac(secret, 'HS256', 'k')])

test('every core code has its own AuthError subclass with that code', () => {
  const families = {
    TOKEN_EXPIRED: ag.TokenError,
    REFRESH_TOKEN_REUSED: ag.SessionError,
    API_KEY_REVOKED: ag.ApiKeyError,
    WEAK_KEY: ag.KeyMaterialError,
    INSUFFICIENT_SCOPE: ag.AuthError,
  }
  const seen = new Set()
  for (const code of ag.ERROR_CODES) {
    const cls = Object.values(cjs).find(
      (v) =>
        typeof v === 'function' &&
        v.prototype &&
        v.prototype.code === code &&
        Object.getOwnPropertyDescriptor(v.prototype, 'code'),
    )
    assert.ok(cls, `no class for ${code}`)
    assert.ok(new cls('m') instanceof ag.AuthError)
    assert.ok(new cls('m') instanceof Error)
    assert.equal(new cls('m').code, code)
    seen.add(cls)
  }
  assert.equal(seen.size, ag.ERROR_CODES.length)
  for (const [code, base] of Object.entries(families)) {
    const cls = Object.values(cjs).find(
      (v) => v.prototype && Object.getOwnPropertyDescriptor(v.prototype, 'code')?.value === code,
    )
    assert.ok(new cls('m') instanceof base, code)
  }
})

test('a thrown error carries class, code and a message without secrets', () => {
  const ks = keys()
  const token = ks.sign({ exp: 1 })
  assert.throws(
    () => ks.verify(token),
    (e) =>
      e instanceof cjs.TokenExpired &&
      e.code === 'TOKEN_EXPIRED' &&
      e.name === 'TokenExpired' &&
      !e.message.includes(token.split('.')[2]),
  )
})

test('wrong argument types throw TypeError', () => {
  const ks = keys()
  for (const bad of [undefined, null, 42, {}, [], Symbol('x')]) {
    assert.throws(() => ks.verify(bad), TypeError, String(bad?.toString?.() ?? bad))
  }
  assert.throws(() => ks.sign('not an object'), TypeError)
  assert.throws(() => ks.sign([1, 2]), TypeError)
  assert.throws(() => ag.Key.hmac(42), TypeError)
  assert.throws(() => ks.verify(ks.sign({ exp: 4e9 }), { now: -5 }), TypeError)
  assert.throws(() => ks.verify(ks.sign({ exp: 4e9 }), { now: 1.5 }), TypeError)
  assert.throws(() => ks.verify(ks.sign({ exp: 4e9 }), { leeway: 'soon' }), TypeError)
})

test('hostile input gives errors, never a crash', () => {
  const ks = keys()
  assert.throws(() => ks.verify('a'.repeat(10_000_000)), ag.TokenError)
  for (const t of ['', '.', 'a.b', 'a.b.c.d', '\u00e9.\u00e9.\u00e9', '\uD800.x.y'])
    assert.throws(() => ks.verify(t), ag.TokenError)
  assert.throws(() => ag.Key.fromPem(Buffer.from([0xff, 0xfe, 0x00]), 'ES256'), TypeError)
  assert.throws(() => ag.Key.fromJwk('[1,2]'), TypeError)
  assert.throws(() => ag.Key.fromJwk('{"kty":"oct","k":"short"}', 'HS256'), ag.KeyMaterialError)
})

test('Buffer and string inputs; claims round-trip as plain objects', () => {
  const ks = new ag.KeySet([ag.Key.hmac(secret.toString('latin1'), 'HS256', 'k')])
  const claims = {
    exp: 4_000_000_000,
    n: -5,
    f: 0.5,
    t: true,
    z: null,
    list: [1, 'a', [2]],
    nested: { x: { y: 'z' } },
    uni: 'h\u00e9llo \u2603',
  }
  assert.deepEqual(keys().verify(ks.sign(claims)), claims)
  const k = ag.Key.hmac(secret)
  assert.ok(k.verify(Buffer.from('msg'), k.sign('msg')))
  assert.equal(ag.Key.generateHmacSecret().length, 32)
})

test('integers above 2^53 lose precision exactly as JSON.parse does', () => {
  const ks = keys()
  const big = 2 ** 60
  assert.equal(ks.verify(ks.sign({ exp: 4e9, big })).big, JSON.parse(JSON.stringify({ big })).big)
})

test('times can be Dates', () => {
  const ks = keys()
  const token = ks.sign({ exp: 1_700_000_060 })
  assert.equal(ks.verify(token, { now: new Date(1_700_000_000_000) }).exp, 1_700_000_060)
  assert.throws(() => ks.verify(token, { now: new Date(1_700_000_100_000), leeway: 0 }), cjs.TokenExpired)
  const clock = new ag.ManualClock(new Date(1_700_000_000_000))
  assert.equal(clock.now(), 1_700_000_000)
})

test('defaults come from the core', () => {
  assert.equal(ag.defaults.leewaySecs, 30)
  assert.equal(ag.defaults.maxTokenBytes, 8192)
  assert.equal(ag.defaults.accessTokenType, 'at+jwt')
})

test('a prebuilt verifier checks like verify', () => {
  const ks = keys()
  const v = ks.verifier({ issuer: 'https://auth.example', audience: ['api'], requiredScopes: 'read' })
  const good = ks.sign({ iss: 'https://auth.example', aud: 'api', scope: 'read', exp: 1_700_000_060 })
  assert.deepEqual(
    v.verify(good, 1_700_000_000),
    ks.verify(good, { issuer: 'https://auth.example', audience: 'api', now: 1_700_000_000 }),
  )
  assert.throws(() => v.verify(good, 1_700_000_100), cjs.TokenExpired)
  assert.throws(
    () => v.verify(ks.sign({ iss: 'x', aud: 'api', scope: 'read', exp: 1_700_000_060 }), 1_700_000_000),
    cjs.InvalidIssuer,
  )
})

test('errors carry their details as fields, not parsed from text', async () => {
  // The HTTP status of each class is the core's table.
  assert.deepEqual([new ag.TokenExpired('x').httpStatus, new ag.InsufficientScope('x').httpStatus], [401, 403])
  assert.deepEqual([new ag.RateLimited('x').httpStatus, new ag.WeakPassword('x').httpStatus], [429, 400])
  assert.equal(new ag.StoreUnavailable('x').httpStatus, 503)
  // The code is the code alone.
  const limiter = new ag.RateLimiter({ clock: new ag.ManualClock(1_700_000_000) })
  limiter.setPolicy('one', '1/minute')
  limiter.enforce('k', { policy: 'one' })
  const sync = (() => {
    try {
      limiter.enforce('k', { policy: 'one' })
    } catch (e) {
      return e
    }
  })()
  assert.ok(sync instanceof ag.RateLimited)
  assert.deepEqual([sync.code, sync.retryAfter], ['RATE_LIMITED', 60])
  // The Promise variant carries the same fields.
  const later = await limiter.enforceAsync('k', { policy: 'one' }).catch((e) => e)
  assert.deepEqual([later.code, later.retryAfter], ['RATE_LIMITED', 60])
  // Violations come from the core with the error, once.
  const weak = (() => {
    try {
      new ag.PasswordPolicy().enforce('abc')
    } catch (e) {
      return e
    }
  })()
  assert.ok(weak.violations.includes('too_short'))
  // A later error without details never takes an earlier error's.
  const other = (() => {
    try {
      new ag.KeySet([]).verify('a.b.c')
    } catch (e) {
      return e
    }
  })()
  assert.ok(other instanceof ag.AuthError)
  assert.deepEqual([other.retryAfter, other.violations], [null, undefined])
})
