// The Gate's IP allowlist, client address behind proxies and rate limit, through the
// Express middleware and the Fastify plugin on real servers, called with fetch.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import express from 'express'
import Fastify from 'fastify'
import * as ag from '../index.mjs'
import { authgate, Gate } from '../express.js'
import { authgatePlugin } from '../fastify.js'

function world(gateOptions) {
  const clock = new ag.ManualClock(1_700_000_000)
  const store = new ag.MemoryStore()
  const keys = new ag.KeySet([ag.Key.hmac(ag.Key.generateHmacSecret(), 'HS256', 'k')])
  const sessions = new ag.SessionManager(keys, { store, clock })
  const apiKeys = new ag.ApiKeyManager({ store, clock })
  const { key } = apiKeys.create({ scopes: ['orders:*'] })
  const token = sessions.login('alice', 'phone').tokens.accessToken
  const gate = new Gate({ keys: sessions, apiKeys, ...gateOptions(clock) })
  return { clock, apiKeys, gate, headers: { 'x-api-key': key, authorization: `Bearer ${token}` } }
}

async function express_(w, body) {
  const app = express()
  app.use(authgate(w.gate))
  app.get('/me', (req, res) => res.json({ sub: req.auth.claims.sub, client: req.auth.clientIp }))
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  try {
    await body(`http://127.0.0.1:${server.address().port}`)
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
}

async function fastify_(w, body) {
  const app = Fastify()
  await app.register(authgatePlugin, { gate: w.gate })
  app.get('/me', async (request) => ({ sub: request.auth.claims.sub, client: request.auth.clientIp }))
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  try {
    await body(base)
  } finally {
    await app.close()
  }
}

for (const [name, serve] of [
  ['Express', express_],
  ['Fastify', fastify_],
]) {
  test(`${name}: rate limit per API key, with the RateLimit headers`, async () => {
    const w = world((clock) => {
      const limiter = new ag.RateLimiter({ clock })
      limiter.setPolicy('default', '3/minute')
      return { limiter }
    })
    await serve(w, async (base) => {
      for (const remaining of [2, 1, 0]) {
        const r = await fetch(`${base}/me`, { headers: w.headers })
        assert.equal(r.status, 200)
        // t: until the bucket is full while some are left; with none left, until the next one.
        assert.equal(r.headers.get('ratelimit'), `"default";r=${remaining};t=${remaining ? 20 * (3 - remaining) : 20}`)
        assert.equal(r.headers.get('ratelimit-policy'), '"default";q=3;w=60')
      }
      const r = await fetch(`${base}/me`, { headers: w.headers })
      assert.equal(r.status, 429)
      assert.equal((await r.json()).error, 'rate_limited')
      assert.equal(r.headers.get('retry-after'), '20')
      assert.equal(r.headers.get('x-ratelimit-remaining'), '0')
      assert.equal(r.headers.get('www-authenticate'), null)
      w.clock.advance(20)
      assert.equal((await fetch(`${base}/me`, { headers: w.headers })).status, 200)
      const { key: other } = w.apiKeys.create({ scopes: ['orders:*'] })
      const o = await fetch(`${base}/me`, { headers: { ...w.headers, 'x-api-key': other } })
      assert.equal(o.status, 200)
      assert.equal(o.headers.get('x-ratelimit-remaining'), '2', 'another API key has its own bucket')
    })
  })

  test(`${name}: allowlist and the client address behind a trusted proxy`, async () => {
    // The test client connects from 127.0.0.1, which plays the trusted proxy.
    const w = world(() => ({
      allowlist: new ag.IpAllowlist(['10.0.0.0/8']),
      clientIp: new ag.ClientIpResolver(['127.0.0.0/8']),
    }))
    await serve(w, async (base) => {
      const r = await fetch(`${base}/me`, { headers: w.headers })
      assert.equal(r.status, 403)
      assert.equal((await r.json()).error, 'ip_not_allowed')
      assert.equal(r.headers.get('www-authenticate'), null)
      const ok = await fetch(`${base}/me`, { headers: { ...w.headers, 'x-forwarded-for': '10.1.2.3' } })
      assert.equal(ok.status, 200)
      assert.equal((await ok.json()).client, '10.1.2.3')
      const spoofed = await fetch(`${base}/me`, {
        headers: { ...w.headers, 'x-forwarded-for': '10.9.9.9, 203.0.113.5' },
      })
      assert.equal(spoofed.status, 403)
    })
  })
}

for (const [name, serve] of [
  ['Express', express_],
  ['Fastify', fastify_],
]) {
  test(`${name}: forged credentials are metered per address before any check`, async () => {
    let limiter
    const w = world((clock) => {
      limiter = new ag.RateLimiter({ clock })
      assert.deepEqual(limiter.policy(ag.defaults.clientRatePolicy), { limit: 600, periodMs: 60000, burst: 600 })
      limiter.setPolicy(ag.defaults.clientRatePolicy, '5/minute')
      return { limiter }
    })
    const key = w.headers['x-api-key']
    const forged = { 'x-api-key': key, authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA' }
    const unknown = { 'x-api-key': key.slice(0, -1) + (key.endsWith('x') ? 'y' : 'x') }
    await serve(w, async (base) => {
      for (let i = 0; i < 5; i++)
        assert.equal((await fetch(`${base}/me`, { headers: i % 2 ? forged : unknown })).status, 401)
      const r = await fetch(`${base}/me`, { headers: forged })
      assert.equal(r.status, 429)
      assert.equal((await r.json()).error, 'rate_limited')
      assert.equal(r.headers.get('retry-after'), '12')
      assert.equal(r.headers.get('ratelimit-policy'), '"per_client";q=5;w=60')
      assert.equal((await fetch(`${base}/me`, { headers: w.headers })).status, 429)
      w.clock.advance(12)
      assert.equal((await fetch(`${base}/me`, { headers: w.headers })).status, 200)
    })
    const off = new Gate({ keys: w.gate.keys, limiter, clientRatePolicy: null })
    for (let i = 0; i < 10; i++) assert.throws(() => off.authenticate(() => undefined, '192.0.2.1'), ag.MissingToken)
  })
}

test('a Gate limits anonymous clients by address; errorResponse carries Retry-After', () => {
  const clock = new ag.ManualClock(1_700_000_000)
  const limiter = new ag.RateLimiter({ clock })
  limiter.setPolicy('anon', '2/hour')
  const gate = new Gate({ limiter, ratePolicy: 'anon', clientIp: new ag.ClientIpResolver(['127.0.0.0/8']) })
  assert.equal(gate.authenticate(() => '198.51.100.7', '127.0.0.1').clientIp, '198.51.100.7')
  assert.equal(gate.authenticate(() => '198.51.100.7', '127.0.0.1').rateLimit.remaining, 0)
  assert.throws(
    () => gate.authenticate(() => '198.51.100.7', '127.0.0.1'),
    (e) => {
      const { status, headers } = gate.errorResponse(e)
      return e instanceof ag.RateLimited && status === 429 && headers['retry-after'] === '1800'
    },
  )
})
