// Rate limits, IP allowlists and passwords through the Node package: idioms, type edges,
// the event loop during hashing, and interop (the shared behaviour is in the vectors).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { hash as nodeRsHash, verify as nodeRsVerify } from '@node-rs/argon2'
import * as ag from '../index.mjs'

const fast = new ag.PasswordHasher({ memoryKib: 1024, iterations: 1 })

test('policies as text or objects; headers; enforce throws RateLimited with retryAfter', () => {
  const clock = new ag.ManualClock(1_700_000_000)
  const limiter = new ag.RateLimiter({ clock })
  limiter.setPolicy('login', '2/minute')
  assert.deepEqual(limiter.policy('login'), { limit: 2, periodMs: 60000, burst: 2 })
  const first = limiter.check('alice', { policy: 'login' })
  assert.equal(first.remaining, 1)
  assert.equal(first.headers['RateLimit-Policy'], '"login";q=2;w=60')
  limiter.enforce('alice', { policy: 'login' })
  assert.throws(
    () => limiter.enforce('alice', { policy: 'login' }),
    (e) => e instanceof ag.RateLimited && e instanceof ag.AuthError && e.retryAfter === 30 && e.code === 'RATE_LIMITED',
  )
  assert.equal(limiter.check('alice', { policy: 'login' }).headers['Retry-After'], '30')
  clock.advance(30)
  assert.ok(limiter.check('alice', { policy: 'login' }).allowed)
  assert.equal(limiter.check('bob').remaining, 999, 'the default policy is 1000 per minute')
})

test('an enforce refusal is one RateLimited with the core message, thrown without a stack capture', () => {
  const clock = new ag.ManualClock(1_700_000_000)
  const limiter = new ag.RateLimiter({ clock })
  limiter.setPolicy('login', '2/minute')
  limiter.enforce('alice', { policy: 'login' })
  limiter.enforce('alice', { policy: 'login' })
  const refused = (fn) => {
    try {
      fn()
    } catch (e) {
      return e
    }
    assert.fail('not refused')
  }
  const e = refused(() => limiter.enforce('alice', { policy: 'login' }))
  assert.ok(e instanceof ag.RateLimited && e instanceof ag.AuthError && e instanceof Error)
  assert.deepEqual(
    [e.code, e.httpStatus, e.retryAfter, e.message],
    ['RATE_LIMITED', 429, 30, 'rate limit of policy `login` exceeded'],
  )
  // A refusal is an answer: its stack names the error only (the capture cost 10x the check).
  assert.equal(e.stack.split('\n').length, 1, e.stack)
  // Other errors keep their stacks, and the setting is restored.
  assert.ok(Error.stackTraceLimit > 0)
  assert.ok(new Error('x').stack.split('\n').length > 1)
  // The refusal took nothing and the decision buffer is the refused decision's.
  assert.equal(limiter.peek('alice', { policy: 'login' }).remaining, 0)
  // A cost above the burst can never go through: no retry-after.
  const never = refused(() => limiter.enforce('bob', { policy: 'login', cost: 3 }))
  assert.equal(never.code, 'RATE_LIMITED')
  assert.equal(never.retryAfter, null)
  assert.match(never.message, /larger than the burst of policy `login`/)
  // An allowed enforce returns its decision.
  clock.advance(30)
  const ok = limiter.enforce('alice', { policy: 'login' })
  assert.deepEqual([ok.allowed, ok.remaining], [true, 0])
})

test('wrong types are TypeErrors, bad values InvalidInput', () => {
  const limiter = new ag.RateLimiter()
  assert.throws(() => limiter.setPolicy('p', 5), TypeError)
  assert.throws(() => limiter.check(42), TypeError)
  // Negative and fractional costs are the core's invalid_input, as in every runtime.
  for (const bad of [1.5, -1, NaN, 1e10]) assert.throws(() => limiter.check('k', { cost: bad }), ag.InvalidInput)
  assert.throws(() => limiter.check('k', { cost: '1' }), TypeError)
  // Cost 0 is a peek; a cost above the burst can never go through.
  assert.equal(limiter.check('k', { cost: 0 }).remaining, 1000)
  const tooBig = limiter.check('k', { cost: 1001 })
  assert.equal(tooBig.allowed, false)
  assert.equal(tooBig.outcome, 'insufficient_capacity')
  assert.equal(tooBig.retryAfter, null)
  assert.throws(() => limiter.setPolicy('p', '100 per fortnight'), ag.InvalidInput)
  assert.throws(() => new ag.IpAllowlist('10.0.0.0/8'), TypeError)
  assert.throws(() => new ag.ClientIpResolver([], { header: 'x-real-ip' }), TypeError)
})

test('the bare check function agrees with the full conversion at its edges', () => {
  const limiter = new ag.RateLimiter()
  limiter.setPolicy('one', '1/hour')
  // Keys up to the core's 512 bytes go through; longer ones are the core's invalid_input,
  // whichever path read them (ASCII, or 3-byte characters near the fast path's buffer).
  for (const key of ['k'.repeat(512), '€'.repeat(170), 'a' + '€'.repeat(170), '😀'.repeat(128), 'é'.repeat(256)]) {
    assert.equal(limiter.check(key, { policy: 'one' }).allowed, true, `${key.length} characters`)
    assert.equal(limiter.check(key, { policy: 'one' }).allowed, false, 'the same bucket the second time')
  }
  // The fast path copies up to 514 UTF-16 units; lengths around that, and past 512 bytes of
  // UTF-8 by a multi-byte character at the end.
  const nearBuffer = [511, 512, 513, 514, 515, 516].flatMap((n) => [
    ...(n > 512 ? ['k'.repeat(n)] : []),
    `${'k'.repeat(n - 1)}€`,
    `${'k'.repeat(n - 2)}😀`,
  ])
  for (const key of [
    'k'.repeat(513),
    '€'.repeat(171),
    '€'.repeat(200),
    '😀'.repeat(129),
    '',
    'x'.repeat(10_000),
    ...nearBuffer,
  ])
    assert.throws(
      () => limiter.check(key, { policy: 'one' }),
      (e) => e instanceof ag.InvalidInput && /1 to 512 bytes/.test(e.message),
    )
  // A lone surrogate reaches the core as U+FFFD, the same bucket by either path.
  assert.equal(limiter.check('a\uD800', { policy: 'one' }).allowed, true)
  assert.equal(limiter.check('a\uFFFD', { policy: 'one' }).allowed, false)
  assert.equal(limiter.check('\uDC00b\uD800', { policy: 'one' }).allowed, true)
  assert.equal(limiter.check('\uFFFDb\uFFFD', { policy: 'one' }).allowed, false)
  // A pair is one character: not two replacements.
  assert.equal(limiter.check('\uD83D\uDE00', { policy: 'one' }).allowed, true)
  assert.equal(limiter.check('\uFFFD\uFFFD', { policy: 'one' }).allowed, true)
  assert.equal(limiter.check('😀', { policy: 'one' }).allowed, false)
  // Arguments the bare function does not read take the full conversion and its TypeErrors.
  for (const key of [42, null, undefined, {}, Symbol('k'), ['k']]) assert.throws(() => limiter.check(key), TypeError)
  for (const policy of [42, {}, true]) assert.throws(() => limiter.check('k', { policy }), TypeError)
  for (const cost of ['1', {}, 1n, true]) assert.throws(() => limiter.check('k', { cost }), TypeError)
  // A policy name too long for the fast path's buffer is named in the core's error.
  assert.throws(
    () => limiter.check('k', { policy: 'p'.repeat(200) }),
    (e) => e instanceof ag.InvalidInput && e.message.includes('p'.repeat(200)),
  )
  assert.throws(
    () => limiter.check('k', { policy: 'nope' }),
    (e) => e instanceof ag.InvalidInput && /`nope`/.test(e.message),
  )
  // null and undefined options mean the defaults.
  assert.equal(limiter.check('k', { policy: undefined, cost: null }).policy, 'default')
  assert.equal(limiter.check('k', { cost: undefined }).remaining, 998)
  // A refused enforce by the bare function is the RateLimited of the full one.
  assert.throws(
    () => limiter.enforce('k'.repeat(512), { policy: 'one' }),
    (e) => e instanceof ag.RateLimited && e.retryAfter === 3600 && e.stack.split('\n').length === 1,
  )
  assert.equal(limiter.check('k').remaining, 997)
  // The bound function is the facade's own: not on the limiter, nor on the native class.
  const native = limiter[Object.getOwnPropertySymbols(limiter)[0]]
  assert.equal(limiter.checker, undefined)
  assert.equal(native.checker, undefined)
})

test("code that captures a limiter's buffer and detaches it does not break the limiter", () => {
  const script = `
    const assert = require('node:assert/strict')
    const ag = require(${JSON.stringify(new URL('../index.js', import.meta.url).pathname)})
    const limiter = new ag.RateLimiter()
    const native = Object.getPrototypeOf(limiter[Object.getOwnPropertySymbols(limiter)[0]])
    // Code in the process that captures the limiter's decision buffer...
    const peek = native.peekInto
    let captured
    native.peekInto = function (key, policy, out) {
      captured = out
      return peek.call(this, key, policy, out)
    }
    limiter.peek('k')
    native.peekInto = peek
    assert.equal(captured.length, 13)
    // ... and transfers it away: Node 20 copies it (the addon's memory cannot be
    // detached that way); from Node 21, ArrayBuffer.prototype.transfer detaches it.
    try {
      structuredClone(captured.buffer, { transfer: [captured.buffer] })
    } catch {}
    if (typeof captured.buffer.transfer === 'function') {
      captured.buffer.transfer()
      assert.equal(captured.length, 0)
    }
    // The limiter's checks, enforces and peeks stay right, on the same buckets.
    for (let i = 1; i <= 3; i++) assert.equal(limiter.check('k').remaining, 1000 - i)
    assert.equal(limiter.enforce('k').remaining, 996)
    assert.equal(limiter.peek('k').remaining, 996)
    process.stdout.write('ok')`
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  assert.equal(run.stdout, 'ok')
})

test('limiters come and go: their bound functions are freed when collected', () => {
  const script = `
    const ag = require(${JSON.stringify(new URL('../index.js', import.meta.url).pathname)})
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 2000; i++) new ag.RateLimiter().check('k' + i)
      globalThis.gc()
    }
    const l = new ag.RateLimiter()
    process.stdout.write(String(l.check('k').remaining))`
  const run = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  assert.equal(run.stdout, '999')
})

test('allowlists and the client address from req.headers', () => {
  const office = new ag.IpAllowlist(['10.0.0.0/8', '2001:db8::/32'])
  assert.ok(office.contains('::ffff:10.1.2.3'))
  assert.throws(() => office.check('192.0.2.1'), ag.IpNotAllowed)
  assert.throws(
    () => new ag.IpAllowlist(['10.1.0.0/8']),
    (e) => e instanceof ag.InvalidInput && /host bits/.test(e.message),
  )
  const resolver = new ag.ClientIpResolver(['10.0.0.0/8'])
  assert.equal(resolver.resolve('10.0.0.1', '6.6.6.6, 203.0.113.7'), '203.0.113.7')
  assert.equal(resolver.resolve('10.0.0.1', ['6.6.6.6', '203.0.113.7']), '203.0.113.7')
  assert.equal(resolver.resolve('10.0.0.1', undefined), '10.0.0.1')
  const lists = new ag.IpAllowlists()
  lists.set('admin', ['192.0.2.0/24'])
  lists.check('admin', '192.0.2.9')
  assert.throws(() => lists.check('admn', '192.0.2.9'), ag.InvalidInput)
})

test('WeakPassword names every broken rule', () => {
  const policy = new ag.PasswordPolicy({ blocklist: ['Password1'] })
  assert.deepEqual(
    policy.check('pass').map((v) => v.code),
    ['too_short', 'missing_uppercase', 'missing_digit'],
  )
  assert.throws(
    () => policy.enforce('password1'),
    (e) =>
      e instanceof ag.WeakPassword &&
      JSON.stringify(e.violations) === '["missing_uppercase","common_password"]' &&
      !e.message.includes('password1'),
  )
  policy.enforce('Correct7horse')
  assert.deepEqual(ag.PasswordPolicy.nist().check('alllowercase'), [])
})

test('hashing runs off the event loop', async () => {
  const hasher = new ag.PasswordHasher()
  let ticks = 0
  const timer = setInterval(() => {
    ticks++
  }, 1)
  const hashes = await Promise.all([1, 2, 3, 4].map(() => hasher.hash('pw')))
  clearInterval(timer)
  assert.ok(ticks > 0, 'timers ran while four 19 MiB hashes were computed')
  assert.equal(new Set(hashes).size, 4)
  assert.equal(await hasher.verify('pw', hashes[0]), true)
  assert.equal(await hasher.verify('pX', hashes[0]), false)
  await assert.rejects(hasher.verify('pw', '$2b$12$notargon'), ag.InvalidInput)
})

test('pepper, rehash and the sync variants', async () => {
  const peppered = new ag.PasswordHasher({ memoryKib: 1024, iterations: 1, pepper: Buffer.alloc(32, 7) })
  const phc = await peppered.hash('hunter2')
  assert.equal(peppered.verifySync('hunter2', phc), true)
  assert.equal(fast.verifySync('hunter2', phc), false)
  assert.equal(new ag.PasswordHasher().needsRehash(phc), true)
  assert.equal(fast.needsRehash(fast.hashSync('x')), false)
  assert.throws(() => new ag.PasswordHasher({ pepper: 'short' }), ag.WeakKey)
})

test('hashes verify both ways with @node-rs/argon2', async () => {
  const ours = await new ag.PasswordHasher().hash('correct horse battery staple')
  assert.equal(await nodeRsVerify(ours, 'correct horse battery staple'), true)
  const theirs = await nodeRsHash('Pässwörd-1')
  assert.equal(await new ag.PasswordHasher().verify('Pässwörd-1', theirs), true)
})
