// Every exported function, constructor, static and instance method, called with hostile
// arguments — wrong types, null/undefined, empty, huge (10 MB) and invalid UTF-16 values, in
// every position up to three arguments — returns, or throws (or rejects with) an Error.
// Never a crash of the process, a hang or a non-Error thrown. The package still works after.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as ag from '../index.mjs'

const HUGE = 10 * 1024 * 1024
// In the sweep, Buffers are 64 KiB: napi-rs JSON-encodes an object it cannot convert into
// its error message, ~0.6 s for 10 MB; the 10 MB Buffer has its own test below.
const HOSTILE = [
  // The huge string is made flat once (a repeat() rope would be flattened on every call).
  undefined,
  null,
  '',
  Buffer.alloc(0),
  Buffer.alloc(HUGE, 'x').toString(),
  Buffer.alloc(64 * 1024, 0xff),
  '\ud800',
  '\0',
  -1,
  2 ** 70,
  1.5,
  NaN,
  Infinity,
  10n,
  [],
  {},
  [null],
  { k: null },
  Symbol('s'),
  () => {},
  new Date(NaN),
]
const SECRET = Buffer.from('0123456789abcdef0123456789abcdef')

const keys = new ag.KeySet([ag.Key.hmac(SECRET, 'HS256', 'k')])
const store = new ag.MemoryStore()
// A valid instance of each class whose methods get called.
const SAMPLES = {
  Totp: () => new ag.Totp(SECRET),
  Hotp: () => new ag.Hotp(SECRET),
  QrCode: () => new ag.QrCode('hello'),
  TotpManager: () => new ag.TotpManager({ store }),
  Challenges: () => new ag.Challenges(() => {}),
  RecoveryCodes: () => new ag.RecoveryCodes({ store }),
  CodeLockout: () => new ag.CodeLockout({ store }),
  RateLimiter: () => new ag.RateLimiter(),
  IpAllowlist: () => new ag.IpAllowlist(['10.0.0.0/8']),
  IpAllowlists: () => new ag.IpAllowlists(),
  ClientIpResolver: () => new ag.ClientIpResolver(['10.0.0.0/8']),
  PasswordPolicy: () => new ag.PasswordPolicy(),
  PasswordHasher: () => new ag.PasswordHasher({ memoryKib: 1024, iterations: 1 }),
  Key: () => ag.Key.hmac(SECRET, 'HS256', 'k'),
  KeySet: () => keys,
  Verifier: () => keys.verifier(),
  MemoryStore: () => store,
  RedisStore: () => new ag.RedisStore('redis://127.0.0.1:1', { connectTimeout: 0.2 }),
  ManualClock: () => new ag.ManualClock(1_700_000_000),
  SessionManager: () => new ag.SessionManager(keys),
  ApiKeyManager: () => new ag.ApiKeyManager(),
  ClientTokens: () => new ag.ClientTokens(new ag.ApiKeyManager({ prefix: 'ag_srv_' }).create().key),
  ClientTokenVerifier: () => new ag.ClientTokenVerifier(new ag.ApiKeyManager({ prefix: 'ag_srv_' })),
  LegacyClientTokens: () => new ag.LegacyClientTokens(SECRET),
  SignatureKey: () => ag.SignatureKey.hmacSha256(SECRET),
  RequestSigner: () => new ag.RequestSigner('k', ag.SignatureKey.hmacSha256(SECRET)),
  RequestVerifier: () => new ag.RequestVerifier({ k: ag.SignatureKey.hmacSha256(SECRET) }),
  WebhookKey: () => new ag.WebhookKey(ag.WebhookKey.generateSecret()),
  WebhookVerifier: () => new ag.WebhookVerifier(ag.WebhookKey.generateSecret()),
  DpopVerifier: () => new ag.DpopVerifier(),
  RemoteJwks: () => new ag.RemoteJwks('https://127.0.0.1:1/jwks.json', { timeout: 0.2 }),
  RateDecision: () => new ag.RateLimiter().check('k'),
}

const isClass = (name, value) => /^[A-Z]/.test(name) && typeof value === 'function' && value.prototype !== undefined
const isError = (value) => value.prototype instanceof Error || value === ag.AuthError

/** Methods along the prototype chain (not getters), up to Object.prototype. */
function methods(instance) {
  const names = new Set()
  for (let p = Object.getPrototypeOf(instance); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const n of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, n)
      if (n !== 'constructor' && typeof d.value === 'function') names.add(n)
    }
  }
  return [...names]
}

async function hostile(label, call) {
  let calls = 0
  for (let arity = 0; arity <= 3; arity++) {
    for (const value of HOSTILE) {
      for (let position = 0; position < Math.max(arity, 1); position++) {
        const args = Array.from({ length: arity }, (_, i) => (i === position ? value : 'a'))
        const started = Date.now()
        try {
          const result = call(args)
          if (result && typeof result.then === 'function') await result
        } catch (e) {
          assert.ok(e instanceof Error, `${label} threw a non-Error: ${String(e)}`)
        }
        assert.ok(Date.now() - started < 10_000, `${label} took too long`)
        calls++
        if (arity === 0) break
      }
      if (arity === 0) break
    }
  }
  return calls
}

const entries = Object.entries(ag).filter(([_name, v]) => typeof v === 'function' && !isError(v))

test('every class with methods has a sample instance', () => {
  for (const [name, value] of entries) {
    if (isClass(name, value) && Object.getOwnPropertyNames(value.prototype).length > 1) {
      assert.ok(SAMPLES[name], `${name} has methods but no sample`)
    }
  }
})

for (const [name, value] of entries) {
  test(`hostile arguments: ${name}`, async () => {
    let calls = 0
    if (isClass(name, value)) {
      calls += await hostile(`new ${name}`, (args) => new value(...args))
      for (const s of Object.getOwnPropertyNames(value)) {
        if (!['length', 'name', 'prototype'].includes(s) && typeof value[s] === 'function') {
          calls += await hostile(`${name}.${s}`, (args) => value[s](...args))
        }
      }
      if (SAMPLES[name]) {
        const instance = SAMPLES[name]()
        for (const m of methods(instance)) {
          calls += await hostile(`${name}#${m}`, (args) => instance[m](...args))
        }
      }
    } else {
      calls += await hostile(name, (args) => value(...args))
    }
    assert.ok(calls > 0)
  })
}

test('a 10 MB Buffer anywhere gives an error, and no message repeats what it held', async () => {
  const big = Buffer.alloc(HUGE, 0x41)
  big.write('top-secret-key-material')
  const attempts = [
    () => keys.verify(big),
    () => new ag.RateLimiter().check(big),
    () => ag.parseApiKey(big),
    () => ag.bearerToken(big),
    () => ag.base32Decode(big),
    () => ag.Key.hmac(big),
    () => new ag.WebhookVerifier(big),
    () => ag.verifyContentDigest(big, big),
    () => ag.signWebhook([`whsec_${'A'.repeat(43)}`], 'id', 1, big),
    () => new ag.SessionManager(keys).refreshAsync(big),
  ]
  let errors = 0
  for (const attempt of attempts) {
    try {
      await attempt()
    } catch (e) {
      assert.ok(e instanceof Error)
      assert.ok(!e.message.includes('top-secret') && e.message.length < 1000, e.message.slice(0, 100))
      errors++
    }
  }
  assert.ok(errors >= 8, `${errors} of ${attempts.length} refused`)
})

test('the package still works afterwards', () => {
  const token = keys.sign({ exp: 4_000_000_000 })
  assert.equal(keys.verify(token).exp, 4_000_000_000)
})
