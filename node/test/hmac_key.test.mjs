// `Key.hmac` keeps its checked secret in the facade and signs and verifies with one native
// call each (no native object per key); the native `Key` is built when something needs it.
// Tags are compared with node:crypto's, computed here.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import v8 from 'node:v8'
import * as ag from '../index.mjs'

const HASH = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }
const mac = (alg, secret, message) => createHmac(HASH[alg], secret).update(message).digest()
// Seeded: every run checks the same lengths and bytes.
function* seeded(seed) {
  let x = seed
  for (;;) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    yield x >>> 0
  }
}

test('Key.hmac signs as node:crypto does, for each hash, secret and message form', () => {
  const rand = seeded(0x5eed)
  for (const alg of ['HS256', 'HS384', 'HS512']) {
    for (let i = 0; i < 40; i++) {
      const secret = Buffer.alloc(64 + (rand.next().value % 100), rand.next().value & 0xff)
      const message = Buffer.alloc(rand.next().value % 300, rand.next().value & 0xff)
      const want = mac(alg, secret, message)
      const key = ag.Key.hmac(secret, alg)
      const got = key.sign(message)
      assert.ok(Buffer.isBuffer(got))
      assert.equal(got.length, want.length)
      assert.deepEqual(got, want)
      assert.deepEqual(key.sign(new Uint8Array(message)), want)
      assert.deepEqual(ag.Key.hmac(new Uint8Array(secret), alg).sign(message), want)
      assert.equal(key.verify(message, want), true)
    }
  }
  const text = 'a string secret of at least thirty-two bytes'
  assert.deepEqual(ag.Key.hmac(text).sign('message text'), mac('HS256', Buffer.from(text), Buffer.from('message text')))
})

test('Key.hmac verifies the whole tag in constant time: no prefix, no extra byte, no other hash', () => {
  const secret = randomBytes(64)
  const key = ag.Key.hmac(secret, 'HS256')
  const good = mac('HS256', secret, 'm')
  assert.equal(key.verify('m', good), true)
  assert.equal(key.verify('m', good.subarray(0, 31)), false)
  assert.equal(key.verify('m', Buffer.concat([good, Buffer.alloc(1)])), false)
  assert.equal(key.verify('m', Buffer.alloc(0)), false)
  assert.equal(key.verify('n', good), false)
  assert.equal(key.verify('m', mac('HS512', secret, 'm')), false)
  for (let i = 0; i < good.length; i++) {
    const bad = Buffer.from(good)
    bad[i] ^= 0x80
    assert.equal(key.verify('m', bad), false, `byte ${i}`)
  }
})

test('Key.hmac checks the secret when the key is made, with the core errors', () => {
  assert.throws(
    () => ag.Key.hmac(Buffer.alloc(31, 1)),
    (e) => e instanceof ag.WeakKey,
  )
  assert.throws(
    () => ag.Key.hmac(Buffer.alloc(47, 1), 'HS384'),
    (e) => e instanceof ag.WeakKey,
  )
  assert.throws(
    () => ag.Key.hmac(Buffer.alloc(64, 1), 'RS256'),
    (e) => e.code === 'INVALID_KEY',
  )
  assert.throws(
    () => ag.Key.hmac(Buffer.alloc(64, 1), 'none'),
    (e) => e instanceof ag.AuthError,
  )
  assert.throws(
    () => ag.Key.hmac(Buffer.alloc(64, 1), 'HS256', 'k'.repeat(257)),
    (e) => e.code === 'INVALID_KEY',
  )
  const pem = `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(64)}\n-----END PUBLIC KEY-----\n`
  assert.throws(
    () => ag.Key.hmac(pem),
    (e) => e.code === 'INVALID_KEY',
  )
  assert.throws(() => ag.Key.hmac(42), TypeError)
  assert.throws(() => ag.Key.hmac(Buffer.alloc(64, 1), 42), TypeError)
})

test('Key.hmac: wrong argument types to sign and verify are TypeErrors', () => {
  const key = ag.Key.hmac(randomBytes(32))
  assert.throws(() => key.sign(42), TypeError)
  assert.throws(() => key.sign(), TypeError)
  assert.throws(() => key.verify('m', 42), TypeError)
  assert.throws(() => key.verify({}, Buffer.alloc(32)), TypeError)
})

test('Key.hmac copies the secret: changing the caller buffer later changes nothing', () => {
  const secret = randomBytes(32)
  const before = mac('HS256', secret, 'm')
  const key = ag.Key.hmac(secret)
  secret.fill(0)
  assert.deepEqual(key.sign('m'), before)
  assert.equal(key.verify('m', before), true)
  // A view into a larger buffer: only its own bytes are the secret.
  const big = randomBytes(100)
  const view = new Uint8Array(big.buffer, big.byteOffset + 10, 40)
  const want = mac('HS256', Buffer.from(view), 'm')
  const viewKey = ag.Key.hmac(view)
  big.fill(7)
  assert.deepEqual(viewKey.sign('m'), want)
})

test('Key.hmac keys work in a KeySet and answer their getters (the native key is built then)', () => {
  const secret = randomBytes(48)
  const key = ag.Key.hmac(secret, 'HS384', 'tenant-7')
  assert.equal(key.alg, 'HS384')
  assert.equal(key.kid, 'tenant-7')
  assert.equal(key.canSign, true)
  assert.equal(key.publicJwk(), null)
  assert.ok(key instanceof ag.Key)
  const keys = new ag.KeySet([key])
  const token = keys.sign({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 60 })
  const [h, p, s] = token.split('.')
  assert.equal(s, mac('HS384', secret, `${h}.${p}`).toString('base64url'))
  assert.equal(keys.verify(token).sub, 'alice')
  // After the native key is built, sign and verify still agree with node:crypto.
  assert.deepEqual(key.sign('m'), mac('HS384', secret, 'm'))
  assert.equal(key.verify('m', mac('HS384', secret, 'm')), true)
  // A key never used keeps no native object: adding it later still works.
  const later = ag.Key.hmac(secret, 'HS384', 'k2')
  keys.add(later)
  assert.deepEqual(
    keys.list().map((k) => k.kid),
    ['tenant-7', 'k2'],
  )
})

test('Key.hmac keeps its secret out of sight: inspection, JSON, spreading, own keys', () => {
  const text = 'tenant-A-secret-0123456789abcdef!'
  const bytes = Buffer.from('tenant-B-secret-0123456789abcdef!')
  for (const key of [ag.Key.hmac(text), ag.Key.hmac(bytes)]) {
    const shown = inspect(key, { showHidden: true, depth: 5 })
    assert.ok(!shown.includes('tenant-'), shown)
    assert.ok(!shown.includes(bytes.toString('hex').slice(0, 16)), shown)
    assert.equal(JSON.stringify(key), '{}')
    assert.deepEqual(Object.keys(key), [])
    assert.deepEqual({ ...key }, {})
    for (const own of Reflect.ownKeys(key)) {
      const value = inspect(key[own], { showHidden: true, depth: 5 })
      assert.ok(!value.includes('tenant-') && !value.includes('74 65 6e'), value)
    }
  }
})

test('Key.hmac signatures own their memory: no shared pool behind `.buffer`', () => {
  const secret = Buffer.from('a secret that must not leak 0123456789')
  const other = ag.Key.hmac(secret)
  const sig = ag.Key.hmac(randomBytes(32)).sign('hello')
  assert.equal(sig.buffer.byteLength, sig.length)
  assert.equal(other.sign('x').buffer.byteLength, 32)
  assert.ok(!Buffer.from(sig.buffer).includes(secret))
  // Two signatures are two Buffers: the second does not overwrite the first.
  const first = other.sign('one')
  const second = other.sign('two')
  assert.notDeepEqual(first, second)
  assert.deepEqual(first, mac('HS256', secret, 'one'))
})

test('Key.hmac keys still work frozen, sealed or not extensible', () => {
  for (const close of [Object.freeze, Object.seal, Object.preventExtensions]) {
    const secret = randomBytes(32)
    const key = close(ag.Key.hmac(secret, 'HS256', 'frozen'))
    assert.deepEqual(key.sign('m'), mac('HS256', secret, 'm'))
    assert.equal(key.kid, 'frozen')
    const keys = new ag.KeySet([key])
    assert.equal(keys.verify(keys.sign({ sub: 'a', exp: Math.floor(Date.now() / 1000) + 60 })).sub, 'a')
  }
})

test('Key.hmac works through a Proxy of the key, as other keys do', () => {
  const secret = randomBytes(32)
  const key = new Proxy(ag.Key.hmac(secret, 'HS256', 'p'), {})
  assert.deepEqual(key.sign('m'), mac('HS256', secret, 'm'))
  assert.equal(key.verify('m', mac('HS256', secret, 'm')), true)
  assert.equal(key.kid, 'p')
  const keys = new ag.KeySet([key])
  assert.equal(keys.verify(keys.sign({ sub: 'a', exp: Math.floor(Date.now() / 1000) + 60 })).sub, 'a')
})

test("Key.hmac's copy of a Buffer secret is not in a heap snapshot", () => {
  // Letters made byte by byte: no JavaScript string ever holds them.
  const random = randomBytes(40)
  const secret = Buffer.alloc(40)
  for (let i = 0; i < 40; i++) secret[i] = 0x61 + (random[i] % 26)
  const needle = Buffer.from(secret)
  const key = ag.Key.hmac(secret)
  secret.fill(0)
  const file = join(tmpdir(), `authgate-hmac-${process.pid}.heapsnapshot`)
  try {
    v8.writeHeapSnapshot(file)
    assert.ok(!readFileSync(file).includes(needle))
  } finally {
    rmSync(file, { force: true })
  }
  assert.deepEqual(key.sign('m'), mac('HS256', needle, 'm'))
})
