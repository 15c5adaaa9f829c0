// Limits users of express-rate-limit expect, through the gate: a route's own limit and
// scopes (Express route middleware, Fastify route config, Hono), a limit per user, an API
// key's own policy, and buckets per app that survive rolling the key.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import * as ag from '../index.mjs'
import { Gate } from '../http.js'
import { authgate, authgateErrors } from '../express.js'
import { authgatePlugin } from '../fastify.js'
import { honoAuthgate, withAuthgate } from '../web.js'

const SECRET = Buffer.from('route-tests-hs256-secret-0123456789abcdef')
const NOW = 1_700_000_000
const keys = () => new ag.KeySet([ag.Key.hmac(SECRET, 'HS256')])
const token = (claims = {}) => keys().sign({ sub: 'alice', exp: 4_102_444_800, ...claims })
const gate = (options = {}) =>
  new Gate({ keys: keys(), limiter: new ag.RateLimiter({ clock: new ag.ManualClock(NOW) }), ...options })
const bearer = (claims) => ({ authorization: `Bearer ${token(claims)}` })

async function statuses(base, path, headers, n) {
  const out = []
  for (let i = 0; i < n; i++) out.push((await fetch(`${base}${path}`, { method: 'POST', headers })).status)
  return out
}

test('Express: a route limit per user, apart from other routes, and route scopes', async () => {
  const g = gate()
  const app = express()
  app.post('/login', authgate(g, { limit: '2/minute' }), (_req, res) => res.json({ ok: true }))
  app.post('/other', authgate(g), (_req, res) => res.json({ ok: true }))
  app.post('/admin', authgate(g, { scopes: ['admin'] }), (_req, res) => res.json({ ok: true }))
  app.use(authgateErrors())
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  try {
    const base = `http://127.0.0.1:${server.address().port}`
    assert.deepEqual(await statuses(base, '/login', bearer({ scope: 'read' }), 3), [200, 200, 429])
    const r = await fetch(`${base}/login`, { method: 'POST', headers: bearer({ scope: 'read' }) })
    assert.ok(['29', '30'].includes(r.headers.get('retry-after')))
    assert.equal(r.headers.get('ratelimit-policy'), '"2/minute";q=2;w=60')
    assert.deepEqual(await statuses(base, '/login', bearer({ sub: 'bob' }), 1), [200])
    assert.deepEqual(await statuses(base, '/other', bearer(), 1), [200])
    const admin = await fetch(`${base}/admin`, { method: 'POST', headers: bearer({ scope: 'read' }) })
    assert.deepEqual([admin.status, (await admin.json()).error], [403, 'insufficient_scope'])
    assert.deepEqual(await statuses(base, '/admin', bearer({ scope: 'admin' }), 1), [200])
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})

test('Fastify: a route limit from the route config', async () => {
  const app = Fastify()
  app.register(authgatePlugin, { gate: gate() })
  app.post('/login', { config: { authgate: { limit: '1/minute' } } }, async () => ({ ok: true }))
  app.post('/other', async () => ({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  try {
    const base = `http://127.0.0.1:${app.server.address().port}`
    assert.deepEqual(await statuses(base, '/login', bearer(), 2), [200, 429])
    assert.deepEqual(await statuses(base, '/other', bearer(), 1), [200])
  } finally {
    await app.close()
  }
})

test('Fastify: registered inside an encapsulated context, the plugin protects that context only', async () => {
  const app = Fastify()
  app.register(
    async (api) => {
      api.register(authgatePlugin, { gate: gate() })
      api.get('/orders', async (request) => ({ user: request.auth.claims.sub }))
    },
    { prefix: '/api' },
  )
  app.get('/health', async () => ({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  try {
    const base = `http://127.0.0.1:${app.server.address().port}`
    assert.equal((await fetch(`${base}/health`)).status, 200)
    const refused = await fetch(`${base}/api/orders`)
    assert.deepEqual([refused.status, (await refused.json()).error], [401, 'missing_token'])
    const ok = await fetch(`${base}/api/orders`, { headers: bearer() })
    assert.deepEqual(await ok.json(), { user: 'alice' })
  } finally {
    await app.close()
  }
})

test('Hono: a route limit on one path', async () => {
  const app = new Hono()
  app.post('/login', honoAuthgate(gate(), { limit: '1/minute' }), (c) => c.json({ ok: true }))
  const send = () => app.request('/login', { method: 'POST', headers: bearer() })
  assert.deepEqual([(await send()).status, (await send()).status], [200, 429])
})

test('a route limit that is no policy is refused when declared', () => {
  assert.throws(() => authgate(gate(), { limit: 'gold', name: 'x' }), ag.InvalidInput)
})

test("buckets per app survive rolling; a key's own policy; a limit per user", () => {
  const store = new ag.MemoryStore()
  const clock = new ag.ManualClock(NOW)
  const limiter = new ag.RateLimiter({ store, clock })
  limiter.setPolicy('default', '2/minute')
  limiter.setPolicy('gold', '4/minute')
  const apiKeys = new ag.ApiKeyManager({ store, clock })
  const g = new Gate({ apiKeys, limiter })
  const check = (key) => {
    try {
      g.authenticate((name) => (name === 'x-api-key' ? key : undefined), '192.0.2.1')
      return 200
    } catch (error) {
      return g.errorResponse(error).status
    }
  }
  const { key: old, record } = apiKeys.create()
  assert.deepEqual([check(old), check(old)], [200, 200])
  const { key: rolled, record: next } = apiKeys.roll(record.id, 3600)
  assert.equal(next.app, record.id)
  assert.notEqual(next.id, record.id)
  assert.equal(check(rolled), 429)
  const { key: gold } = apiKeys.create({ rateLimitPolicy: 'gold' })
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => check(gold)),
    [200, 200, 200, 200, 429],
  )

  const users = new Gate({ keys: keys(), limiter, userRatePolicy: 'default', clientRatePolicy: null })
  const header = (name) => (name === 'authorization' ? `Bearer ${token()}` : undefined)
  const seen = ['192.0.2.10', '192.0.2.11', '192.0.2.12'].map((peer) => {
    try {
      return users.authenticate(header, peer).identity
    } catch (error) {
      return error.code
    }
  })
  assert.deepEqual(seen, ['user:alice', 'user:alice', 'RATE_LIMITED'])
})

test('an app-wide gate and a route rule run the pipeline once (one credit, one count, one DPoP proof use)', async () => {
  const device = ag.Key.fromPem(ag.Key.generatePem('ES256'), 'ES256')
  const bound = token({ cnf: { jkt: ag.jwkThumbprint(device.publicJwk()) } })
  const store = new ag.MemoryStore()
  const apiKeys = new ag.ApiKeyManager({ store })
  const { key, record } = apiKeys.create({ credits: 10 })
  const g = new Gate({
    keys: keys(),
    apiKeys,
    limiter: new ag.RateLimiter({ store }),
    dpop: new ag.DpopVerifier({ store }),
  })
  const app = express()
  app.use(authgate(g))
  app.post('/login', authgate(g, { limit: '5/minute' }), (req, res) => res.json({ identity: req.auth.identity }))
  app.use(authgateErrors())
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  try {
    const url = `http://127.0.0.1:${server.address().port}/login`
    const proof = ag.createDpopProof(device, 'POST', url, { accessToken: bound })
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'x-api-key': key, authorization: `DPoP ${bound}`, dpop: proof },
    })
    assert.equal(r.status, 200, await r.clone().text())
    assert.match(r.headers.get('ratelimit'), /^"5\/minute";r=4;t=1[12]$/)
    assert.equal(apiKeys.get(record.id).credits, 9)
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})

test('route buckets are named by route patterns, never by the URL', async () => {
  const g = gate()
  assert.throws(() => withAuthgate(g, () => Response.json({}), { limit: '1/minute' }), TypeError)
  const app = express()
  app.use(authgate(g, { limit: '100/minute' })) // app-wide: one bucket, whatever the path
  app.use((_req, res) => res.json({ ok: true }))
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  try {
    const base = `http://127.0.0.1:${server.address().port}`
    const r = await fetch(`${base}/${'x'.repeat(300)}`, { headers: bearer() })
    assert.equal(r.status, 200)
    assert.match(r.headers.get('ratelimit'), /^"100\/minute";r=99;/)
    const other = await fetch(`${base}/elsewhere`, { headers: bearer() })
    assert.match(other.headers.get('ratelimit'), /^"100\/minute";r=98;/)
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})

/** An Express app and a Fastify app, each behind a DPoP gate on `POST /:any`, on a free port. */
const dpopGate = () => new Gate({ keys: keys(), dpop: new ag.DpopVerifier({ store: new ag.MemoryStore() }) })
const DPOP_SERVERS = [
  () => {
    const app = express()
    app.post('/:any', authgate(dpopGate()), (_req, res) => res.json({ ok: true }))
    return new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () =>
        resolve({ port: s.address().port, close: () => new Promise((r) => s.close(r)) }),
      )
    })
  },
  async () => {
    const app = Fastify()
    await app.register(authgatePlugin, { gate: dpopGate() })
    app.post('/:any', async () => ({ ok: true }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    return { port: app.server.address().port, close: () => app.close() }
  },
]

test('a Host header that is not a host cannot move the path a DPoP proof is checked against (Express, Fastify)', async () => {
  const { request } = await import('node:http')
  const { gateUrl } = await import('../http.js')
  assert.equal(gateUrl('https', 'api.example.com', '/x?y'), 'https://api.example.com/x')
  assert.equal(gateUrl('http', 'h/admin?', '/other'), '/other')
  assert.equal(gateUrl('http', undefined, '/x'), '/x')
  assert.equal(gateUrl(undefined, 42, { toString: () => '/x' }), '')
  const device = ag.Key.fromPem(ag.Key.generatePem('ES256'), 'ES256')
  const bound = token({ cnf: { jkt: ag.jwkThumbprint(device.publicJwk()) } })
  const send = (port, host, proof) =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/other',
          method: 'POST',
          headers: { host, authorization: `DPoP ${bound}`, dpop: proof },
        },
        (res) => {
          res.resume()
          resolve(res.statusCode)
        },
      )
      req.on('error', reject)
      req.end()
    })
  for (const start of DPOP_SERVERS) {
    const server = await start()
    try {
      const authority = `127.0.0.1:${server.port}`
      // A proof made for /admin, sent to /other with a Host that would make the URL read /admin.
      const forAdmin = ag.createDpopProof(device, 'POST', `http://${authority}/admin`, { accessToken: bound })
      assert.notEqual(await send(server.port, `${authority}/admin?`, forAdmin), 200)
      // The same kind of proof made for /other is admitted with the real Host.
      const forOther = ag.createDpopProof(device, 'POST', `http://${authority}/other`, { accessToken: bound })
      assert.equal(await send(server.port, authority, forOther), 200)
    } finally {
      await server.close()
    }
  }
})

test('an absolute-form target is never the URL a DPoP proof is checked against (Express, Fastify)', async () => {
  const { request } = await import('node:http')
  const { gateUrl } = await import('../http.js')
  assert.equal(gateUrl('http', '127.0.0.1:1', 'https://other.example/transfer'), 'http://127.0.0.1:1/transfer')
  assert.equal(gateUrl('http', 'h/admin?', '/proxy/https://x/y'), '/proxy/https://x/y')
  const device = ag.Key.fromPem(ag.Key.generatePem('ES256'), 'ES256')
  const bound = token({ cnf: { jkt: ag.jwkThumbprint(device.publicJwk()) } })
  for (const start of DPOP_SERVERS) {
    const server = await start()
    try {
      // A proof made for another server's URL, sent here in absolute-form.
      const target = 'https://other.example/transfer'
      const proof = ag.createDpopProof(device, 'POST', target, { accessToken: bound })
      const status = await new Promise((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: server.port,
            path: target,
            method: 'POST',
            headers: { authorization: `DPoP ${bound}`, dpop: proof },
          },
          (res) => {
            res.resume()
            resolve(res.statusCode)
          },
        )
        req.on('error', reject)
        req.end()
      })
      assert.notEqual(status, 200)
    } finally {
      await server.close()
    }
  }
})
