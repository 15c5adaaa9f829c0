// One-time codes through the Node package: interoperability with otplib, QR output,
// async senders and retryAfter (the vectors are in vectors.test.mjs).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateSync, verifySync, generateURI } from 'otplib'
import * as ag from '../index.mjs'

const NOW = 1_700_000_000

test('otplib and authgate compute and accept the same codes', () => {
  const secret = ag.generateOtpSecret()
  assert.equal(ag.base32Decode(secret).length, 20)
  const ours = new ag.Totp(secret)
  for (const t of [59, NOW, NOW + 29, NOW + 30, 2_000_000_000]) {
    const theirs = generateSync({ secret, epoch: t })
    assert.equal(ours.at(t), theirs)
    assert.equal(ours.verify(theirs, { time: t }), Math.floor(t / 30))
    assert.equal(verifySync({ secret, token: ours.at(t), epoch: t }).valid, true)
  }
  const sha = new ag.Totp(secret, { algorithm: 'SHA512', digits: 8, period: 60 })
  assert.equal(sha.at(NOW), generateSync({ secret, epoch: NOW, algorithm: 'sha512', digits: 8, period: 60 }))
  const hotp = new ag.Hotp(secret)
  for (let c = 0; c < 10; c++) assert.equal(hotp.at(c), generateSync({ secret, strategy: 'hotp', counter: c }))
  assert.equal(
    ag.Totp.fromUri(new ag.Totp(secret).provisioningUri('a@b.c', 'X')).at(new Date(NOW * 1000)),
    ours.at(NOW),
  )
})

test('URIs written by otplib are parsed', () => {
  const secret = ag.generateOtpSecret()
  const uri = generateURI({ issuer: 'ACME Co', label: 'john@example.com', secret })
  const parsed = ag.parseOtpauthUri(uri)
  assert.deepEqual(
    [parsed.kind, parsed.issuer, parsed.account, parsed.secret],
    ['totp', 'ACME Co', 'john@example.com', secret],
  )
  const hotpUri = generateURI({ strategy: 'hotp', issuer: 'ACME', label: 'x', secret, counter: 5 })
  assert.equal(ag.parseOtpauthUri(hotpUri).counter, 5)
})

test('an enrollment renders as PNG, SVG and terminal text', () => {
  const manager = new ag.TotpManager({ issuer: 'ACME' })
  const enrollment = manager.beginEnrollment('alice')
  const qr = new ag.QrCode(enrollment.uri)
  const png = qr.png(3)
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const side = (qr.width + 8) * 3
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [side, side])
  assert.match(qr.svg(), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/)
  assert.equal(qr.text().split('\n').filter(Boolean).length, Math.ceil((qr.width + 4) / 2))
  assert.throws(() => qr.png(0), ag.InvalidInput)
})

test('the manager confirms with the first code and refuses replays; throttling sets retryAfter', () => {
  const clock = new ag.ManualClock(NOW)
  const manager = new ag.TotpManager({ throttle: { freeFailures: 2, baseDelay: 45 }, clock })
  const enrollment = manager.beginEnrollment('alice')
  const secret = manager.confirmEnrollment('alice', generateSync({ secret: enrollment.secret, epoch: NOW }))
  assert.equal(secret, enrollment.secret)
  assert.throws(() => manager.verify('alice', secret, generateSync({ secret, epoch: NOW })), ag.CodeReused)
  clock.advance(30)
  const valid = new Set([0, 30, 60].map((d) => generateSync({ secret, epoch: NOW + d })))
  const wrong = ['000000', '111111', '222222', '333333'].find((c) => !valid.has(c))
  assert.throws(() => manager.verify('alice', secret, wrong), ag.InvalidCode)
  assert.throws(
    () => manager.verify('alice', secret, generateSync({ secret, epoch: NOW + 30 })),
    (e) => {
      assert.ok(e instanceof ag.TooManyAttempts && e instanceof ag.OtpError)
      assert.equal(e.retryAfter, 45)
      assert.equal(ag.httpError(e.code, e.message).status, 429)
      return true
    },
  )
})

test('async senders are awaited; a rejected send is DeliveryFailed with its cause', async () => {
  const outbox = []
  const challenges = new ag.Challenges(
    async (d) => {
      await new Promise((resolve) => setImmediate(resolve))
      outbox.push(d)
    },
    { digits: 8, clock: new ag.ManualClock(1_700_000_000) },
  )
  const issued = await challenges.issue('login:alice', '+15550100')
  assert.equal(issued.attemptsLeft, 5)
  assert.equal(outbox.length, 1)
  assert.match(outbox[0].code, /^\d{8}$/)
  await assert.rejects(
    challenges.issue('login:alice', '+15550100'),
    (e) => e instanceof ag.ResendTooSoon && e.retryAfter === 30,
  )
  challenges.verify('login:alice', outbox[0].code)

  const cause = new Error('gateway down')
  const broken = new ag.Challenges(() => {
    throw cause
  })
  await assert.rejects(
    broken.issue('login:bob', 'bob@example.com'),
    (e) => e instanceof ag.DeliveryFailed && e.cause === cause,
  )
  assert.throws(() => broken.verify('login:bob', '123456'), ag.CodeExpired)
  assert.throws(() => new ag.Challenges('nope'), TypeError)
})

test('recovery codes with a fixed key survive a new manager', () => {
  const store = new ag.MemoryStore()
  const hashKey = Buffer.alloc(32, 7)
  const codes = new ag.RecoveryCodes({ store, hashKey }).generate('alice')
  assert.equal(new ag.RecoveryCodes({ store, hashKey }).verify('alice', codes[0].toUpperCase()), 9)
  assert.throws(
    () => new ag.RecoveryCodes({ store, hashKey: Buffer.alloc(32, 8) }).verify('alice', codes[1]),
    ag.InvalidCode,
  )
  assert.throws(() => new ag.RecoveryCodes({ hashKey: 'short' }), ag.WeakKey)
})

test('bad arguments give typed errors', () => {
  assert.throws(() => new ag.Totp(12345), TypeError)
  assert.throws(() => new ag.Totp('not base32!'), ag.InvalidKey)
  assert.throws(() => new ag.Totp(ag.generateOtpSecret(), { algorithm: 'MD5' }), ag.InvalidInput)
  assert.throws(() => new ag.Totp(ag.generateOtpSecret(), { digits: 300 }), TypeError)
  assert.throws(() => new ag.Totp(ag.generateOtpSecret()).verify('1'.repeat(10_000_000)), ag.InvalidCode)
  assert.throws(() => ag.parseOtpauthUri(`otpauth://totp/${'a'.repeat(5000)}`), ag.InvalidInput)
})
