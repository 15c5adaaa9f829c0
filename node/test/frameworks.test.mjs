// The Express middleware and the Fastify plugin on real servers, called with fetch: API
// key and Bearer token together, JSON errors with the stable code and WWW-Authenticate.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import express from 'express'
const expressLatest = express
import express4 from 'express4'
import Fastify from 'fastify'
import * as ag from '../index.mjs'
import { authgate, authgateErrors, Gate } from '../express.js'
import { authgatePlugin } from '../fastify.js'
import { Hono } from 'hono'
import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { createServer } from 'node:http'
import { withAuthgate, honoAuthgate, honoAuthgateErrors } from '../web.js'

function world() {
  const clock = new ag.ManualClock(1_700_000_000)
  const store = new ag.MemoryStore()
  const keys = new ag.KeySet([ag.Key.hmac(ag.Key.generateHmacSecret(), 'HS256', 'k')])
  const sessions = new ag.SessionManager(keys, { issuer: 'https://auth.example', store, clock })
  const apiKeys = new ag.ApiKeyManager({ store, clock })
  const { key } = apiKeys.create({ scopes: ['orders:*'] })
  const token = sessions.login('alice', 'phone', { scope: 'read' }).tokens.accessToken
  const gate = new Gate({ keys: sessions, apiKeys, apiKeyScope: 'orders:read', realm: 'api' })
  const headers = ({ withKey = true, withToken = true } = {}) => ({
    ...(withKey ? { 'x-api-key': key } : {}),
    ...(withToken ? { authorization: `Bearer ${token}` } : {}),
  })
  return { clock, apiKeys, key, gate, headers }
}

// Tokens whose `alg` no HTTP stack could echo into a header: 17 characters (the error
// message truncated it with `…`), a snowman, and a 40-character name. The challenge holds
// only fixed text, and the server keeps serving.
const b64url = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
const HOSTILE_ALGS = ['A'.repeat(17), '\u2603', 'B'.repeat(40), 'caf\u00e9']
async function checkHostileTokens(base, headers = {}) {
  for (const alg of HOSTILE_ALGS) {
    const r = await fetch(`${base}/me`, {
      headers: { ...headers, authorization: `Bearer ${b64url({ alg })}.e30.AAAA` },
    })
    assert.equal(r.status, 401, alg)
    const challenge = r.headers.get('www-authenticate')
    assert.match(challenge, /^Bearer (realm="api", )?error="invalid_token", error_description="[a-z ]+"$/, alg)
    assert.ok(!challenge.includes(alg), alg)
    await r.json()
  }
}

async function checkRefusals(base, w) {
  await checkHostileTokens(base, w.headers({ withToken: false }))
  // Nothing sent: the API key is missing, which is no Bearer challenge.
  let r = await fetch(`${base}/me`)
  assert.equal(r.status, 401)
  assert.equal(r.headers.get('www-authenticate'), null)
  assert.equal((await r.json()).error, 'missing_api_key')
  // No token: the challenge carries no error (RFC 6750 §3.1).
  r = await fetch(`${base}/me`, { headers: w.headers({ withToken: false }) })
  assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="api"')
  assert.deepEqual([r.status, (await r.json()).error], [401, 'missing_token'])
  r = await fetch(`${base}/me`, { headers: { ...w.headers(), authorization: 'Bearer' } })
  assert.match(r.headers.get('www-authenticate'), /^Bearer realm="api", error="invalid_token"/)
  assert.deepEqual([r.status, (await r.json()).error], [401, 'malformed_token'])
  r = await fetch(`${base}/me`, { headers: { ...w.headers(), authorization: 'Basic dXNlcjpwdw==' } })
  assert.deepEqual([r.status, (await r.json()).error], [401, 'malformed_token'])
  r = await fetch(`${base}/me`, {
    headers: { ...w.headers(), 'x-api-key': w.key.slice(0, -1) + (w.key.endsWith('x') ? 'y' : 'x') },
  })
  assert.deepEqual([r.status, (await r.json()).error], [401, 'invalid_api_key'])
  r = await fetch(`${base}/me`, { headers: w.headers() })
  assert.equal(r.status, 200)
  assert.equal((await r.json()).sub, 'alice')
  const { key: billing } = w.apiKeys.create({ scopes: ['billing:read'] })
  r = await fetch(`${base}/me`, { headers: { ...w.headers(), 'x-api-key': billing } })
  assert.deepEqual([r.status, (await r.json()).error], [403, 'insufficient_scope'])
  assert.match(r.headers.get('www-authenticate'), /error="insufficient_scope"/)
  w.clock.advance(3600)
  r = await fetch(`${base}/me`, { headers: w.headers() })
  assert.deepEqual([r.status, (await r.json()).error], [401, 'token_expired'])
  r = await fetch(`${base}/health`)
  assert.equal(r.status, 200)
}

// An AuthError raised inside a route: the error handler answers with the gate's bytes.
const totp = new ag.TotpManager({ store: new ag.MemoryStore() })
const SECRET = Buffer.from('12345678901234567890')
async function checkRouteErrors(base) {
  const r = await fetch(`${base}/code`, { method: 'POST' })
  assert.equal(r.status, 401)
  const body = await r.text()
  assert.equal(body, `{"error":"invalid_code","message":${JSON.stringify(JSON.parse(body).message)}}`)
  assert.equal(r.headers.get('www-authenticate'), null)
  const other = await fetch(`${base}/boom`)
  assert.equal(other.status, 500)
}

for (const [name, make] of [
  ['Express 5', express],
  ['Express 4', express4],
]) {
  test(`${name} middleware and error handler`, async () => {
    const w = world()
    const app = make()
    app.use(authgate(w.gate, { exclude: ['/health', '/code', '/boom'] }))
    app.get('/me', (req, res) => res.json({ sub: req.auth.claims.sub, key: req.auth.apiKey.id }))
    app.get('/health', (_req, res) => res.json({ ok: true }))
    app.post('/code', (_req, res) => {
      totp.verify('alice', SECRET, '000000x')
      res.json({})
    })
    app.get('/boom', () => {
      throw new Error('not ours')
    })
    app.use(authgateErrors({ realm: 'api' }))
    app.use((_error, _req, res, next) => {
      void next
      res.status(500).send('other')
    })
    const server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s))
    })
    const base = `http://127.0.0.1:${server.address().port}`
    try {
      await checkRefusals(base, w)
      await checkRouteErrors(base)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
}

test('Fastify plugin', async () => {
  const w = world()
  const app = Fastify()
  await app.register(authgatePlugin, { gate: w.gate, exclude: ['/health', '/code', '/boom'] })
  app.get('/me', async (request) => ({ sub: request.auth.claims.sub }))
  app.get('/health', async () => ({ ok: true }))
  app.post('/code', async () => {
    totp.verify('alice', SECRET, '000000x')
    return {}
  })
  app.get('/boom', async () => {
    throw new Error('not ours')
  })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  try {
    await checkRefusals(base, w)
    await checkRouteErrors(base)
  } finally {
    await app.close()
  }
})

test('a Gate needs a credential', () => {
  assert.throws(() => new Gate({}), TypeError)
})

for (const [name, express] of [
  ['Express 5', expressLatest],
  ['Express 4', express4],
])
  test(`an identity provider's tokens through the ${name} middleware`, async () => {
    const { HttpsServer } = await import('./https_server.mjs')
    const idp = await HttpsServer.start()
    const keys = new ag.KeySet([ag.Key.fromPem(ag.Key.generatePem('ES256'), 'ES256', 'k1')])
    keys.activate('k1')
    const exp = Math.floor(Date.now() / 1000) + 600
    const token = keys.sign({ iss: 'https://idp.example', sub: 'alice', aud: 'api', exp })
    const remote = new ag.RemoteJwks(idp.url('/jwks'), { caCert: idp.ca, timeout: 1 })
    const gate = new Gate({ keys: remote, verify: { issuer: 'https://idp.example', audience: 'api' } })
    assert.ok(gate.offload)
    assert.throws(() => gate.authenticate(() => `Bearer ${token}`), TypeError)
    const app = express()
    app.use(authgate(gate))
    app.get('/me', (req, res) => res.json({ sub: req.auth.claims.sub }))
    const server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s))
    })
    const base = `http://127.0.0.1:${server.address().port}`
    try {
      await idp.set('/jwks', '', 503)
      let r = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` } })
      assert.deepEqual([r.status, (await r.json()).error], [503, 'key_set_unavailable'])
      await idp.set('/jwks', JSON.stringify(keys.jwks()))
      await remote.refresh()
      r = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` } })
      assert.deepEqual([r.status, await r.json()], [200, { sub: 'alice' }])
      const other = keys.sign({ iss: 'https://idp.example', sub: 'x', aud: 'web', exp })
      r = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${other}` } })
      assert.deepEqual([r.status, (await r.json()).error], [401, 'invalid_audience'])
      // The offloaded gate (the setup one hostile request used to bring down): still serving.
      await checkHostileTokens(base)
      r = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` } })
      assert.equal(r.status, 200)
    } finally {
      await new Promise((resolve) => server.close(resolve))
      await idp.close()
    }
  })

test('Hono middleware (Web Request/Response) on @hono/node-server', async () => {
  const w = world()
  const app = new Hono()
  app.use('/me', honoAuthgate(w.gate, { peer: (c) => getConnInfo(c).remote.address }))
  app.get('/me', (c) => c.json({ sub: c.get('auth').claims.sub }))
  app.get('/health', (c) => c.json({ ok: true }))
  app.post('/code', () => {
    totp.verify('alice', SECRET, '000000x')
  })
  app.get('/boom', () => {
    throw new Error('not ours')
  })
  app.onError(honoAuthgateErrors({ realm: 'api' }))
  const server = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  try {
    const base = `http://127.0.0.1:${server.address().port}`
    await checkRefusals(base, w)
    await checkRouteErrors(base)
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})

// A fetch-style handler (what a Next.js route handler is) behind node:http, with the bridge
// an adapter would provide.
test('withAuthgate: a fetch-style handler answers like the other integrations', async () => {
  const w = world()
  const me = withAuthgate(w.gate, (_request, auth) => Response.json({ sub: auth.claims.sub }), {
    peer: (_r, peer) => peer,
  })
  const code = withAuthgate(w.gate, () => {
    totp.verify('alice', SECRET, '000000x')
  })
  const server = createServer(async (req, res) => {
    const url = `http://${req.headers.host}${req.url}`
    const request = new Request(url, { method: req.method, headers: req.headers })
    let response
    if (req.url === '/me') response = await me(request, req.socket.remoteAddress)
    else if (req.url === '/health') response = Response.json({ ok: true })
    else response = await code(request, req.socket.remoteAddress)
    res.writeHead(response.status, Object.fromEntries(response.headers))
    res.end(Buffer.from(await response.arrayBuffer()))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const base = `http://127.0.0.1:${server.address().port}`
    await checkRefusals(base, w)
    // An AuthError thrown inside the handler, after the gate admitted the request.
    const fresh = world()
    const inner = withAuthgate(fresh.gate, () => {
      totp.verify('alice', SECRET, '000000x')
    })
    const r = await inner(new Request('http://x/code', { headers: fresh.headers() }), '127.0.0.1')
    assert.equal(r.status, 401)
    assert.equal((await r.json()).error, 'invalid_code')
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})
