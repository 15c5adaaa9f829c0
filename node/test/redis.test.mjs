// The Redis backend from Node against a real server: two processes sharing one limit, two
// instances racing on one refresh token and one webhook id, Promise variants that leave
// the event loop free while Redis is slow, and a server stopped and restarted mid-test.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as ag from '../index.mjs'
import { redisStore, redisUrl } from './stores.mjs'

const url = redisUrl()
const skip = url ? false : 'AUTHGATE_REDIS_URL is not set'
const INDEX = fileURLToPath(new URL('../index.js', import.meta.url))

function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited with ${code}`))))
  })
}

test('two processes share one limit', { skip }, async () => {
  const prefix = redisStore(url).prefix
  const script = `
    const ag = require(${JSON.stringify(INDEX)})
    const limiter = new ag.RateLimiter({ store: new ag.RedisStore(process.argv[1], { prefix: process.argv[2] }) })
    limiter.setPolicy('p', '40/hour')
    ;(async () => {
      let allowed = 0
      for (let i = 0; i < 60; i++) if ((await limiter.checkAsync('shared', { policy: 'p' })).allowed) allowed++
      console.log(allowed)
    })()`
  const outs = await Promise.all([run(['-e', script, url, prefix]), run(['-e', script, url, prefix])])
  const counts = outs.map(Number)
  assert.equal(counts[0] + counts[1], 40, `${counts}`)
  const limiter = new ag.RateLimiter({ store: new ag.RedisStore(url, { prefix }) })
  limiter.setPolicy('p', '40/hour')
  assert.equal((await limiter.peekAsync('shared', { policy: 'p' })).remaining, 0)
})

test('one refresh token raced on two instances has one winner', { skip }, async () => {
  const prefix = redisStore(url).prefix
  const keys = new ag.KeySet([ag.Key.hmac(ag.Key.generateHmacSecret(), 'HS256', 'k')])
  const managers = [0, 1].map(() => new ag.SessionManager(keys, { store: new ag.RedisStore(url, { prefix }) }))
  for (let round = 0; round < 5; round++) {
    const login = await managers[0].loginAsync('alice', 'phone')
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => managers[i % 2].refreshAsync(login.tokens.refreshToken)),
    )
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
    for (const r of results.filter((r) => r.status === 'rejected')) {
      assert.ok(r.reason instanceof ag.SessionError, r.reason)
      assert.ok(['REFRESH_TOKEN_REUSED', 'SESSION_REVOKED'].includes(r.reason.code), r.reason.code)
    }
  }
  assert.deepEqual(await managers[1].listAsync('alice'), [])
})

test('a webhook replayed on another instance is refused', { skip }, async () => {
  const prefix = redisStore(url).prefix
  const secret = ag.WebhookKey.generateSecret()
  const verifiers = [0, 1].map(() => new ag.WebhookVerifier(secret, { store: new ag.RedisStore(url, { prefix }) }))
  const ts = Math.floor(Date.now() / 1000)
  const headers = {
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(ts),
    'webhook-signature': ag.signWebhook(secret, 'msg_1', ts, '{}'),
  }
  assert.equal((await verifiers[0].verifyAsync(headers, '{}')).id, 'msg_1')
  await assert.rejects(verifiers[1].verifyAsync(headers, '{}'), ag.ReplayDetected)
  assert.throws(() => verifiers[1].verify(headers, '{}'), ag.ReplayDetected)
})

test('Promise variants of keys, codes and signatures work on Redis', { skip }, async () => {
  const store = redisStore(url)
  const keys = new ag.ApiKeyManager({ store })
  const { key } = keys.create({ scopes: ['read'] })
  assert.equal((await keys.verifyAsync(key, 'read')).scopes[0], 'read')
  await assert.rejects(keys.verifyAsync(`${key}x`), ag.ApiKeyError)
  const codes = new ag.RecoveryCodes({ store })
  const [first] = codes.generate('u')
  assert.equal(await codes.verifyAsync('u', first), 9)
  await assert.rejects(codes.verifyAsync('u', first), ag.OtpError)
  const { key: sigKey, secret } = ag.SignatureKey.generate('hmac-sha256')
  const signer = new ag.RequestSigner('c1', sigKey)
  const verifier = new ag.RequestVerifier({ c1: ag.SignatureKey.hmacSha256(secret) }, { store })
  const request = {
    method: 'POST',
    url: 'https://api.example.com/x',
    headers: { 'content-type': 'text/plain' },
    body: 'hi',
  }
  const signed = { ...request, headers: { ...request.headers, ...signer.sign(request) } }
  assert.equal((await verifier.verifyAsync(signed)).keyid, 'c1')
  await assert.rejects(verifier.verifyAsync(signed), ag.ReplayDetected)
})

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

async function waitForPort(port) {
  const deadline = Date.now() + 10_000
  for (;;) {
    const ok = await new Promise((resolve) => {
      const c = connect(port, '127.0.0.1', () => {
        c.end()
        resolve(true)
      })
      c.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error('redis-server did not start')
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A redis-server of this test's own on a free loopback port. */
async function privateRedis() {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'authgate-redis-'))
  const server = {
    port,
    url: `redis://127.0.0.1:${port}`,
    proc: null,
    async start() {
      this.proc = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: 'ignore' },
      )
      await waitForPort(port)
    },
    async stop() {
      if (!this.proc) return
      const exited = new Promise((r) => this.proc.once('exit', r))
      this.proc.kill('SIGKILL')
      await exited
      this.proc = null
    },
    async close() {
      await this.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  await server.start()
  return server
}

test('a stopped Redis fails closed fast, fails open when asked, and recovers', { skip }, async () => {
  const server = await privateRedis()
  try {
    const store = new ag.RedisStore(server.url, { connectTimeout: 0.5, timeout: 0.5 })
    await store.ping()
    const limiter = new ag.RateLimiter({ store })
    limiter.setPolicy('p', '3/hour')
    assert.ok((await limiter.checkAsync('k', { policy: 'p' })).allowed)
    await server.stop()
    const started = Date.now()
    await assert.rejects(
      limiter.checkAsync('k', { policy: 'p' }),
      (e) => e instanceof ag.StoreUnavailable && e.code === 'STORE_UNAVAILABLE',
    )
    assert.throws(() => limiter.check('k', { policy: 'p' }), ag.StoreUnavailable)
    await assert.rejects(store.ping(), ag.StoreUnavailable)
    assert.ok(Date.now() - started < 3000, 'no hang')
    limiter.failureMode = 'open'
    const d = await limiter.checkAsync('k', { policy: 'p' })
    assert.ok(d.allowed && d.degraded)
    assert.deepEqual(d.headers, {})
    limiter.failureMode = 'closed'
    await server.start()
    const after = await limiter.checkAsync('k', { policy: 'p' })
    assert.ok(after.allowed && !after.degraded)
    assert.equal(after.remaining, 2)
  } finally {
    await server.close()
  }
})

test('a slow Redis does not block the event loop', { skip }, async () => {
  const server = await privateRedis()
  try {
    const limiter = new ag.RateLimiter({ store: new ag.RedisStore(server.url) })
    await limiter.checkAsync('warm')
    execFileSync('redis-cli', ['-p', String(server.port), 'CLIENT', 'PAUSE', '400', 'ALL'])
    let ticks = 0
    const timer = setInterval(() => {
      ticks++
    }, 10)
    const started = Date.now()
    await limiter.checkAsync('k')
    const waited = Date.now() - started
    clearInterval(timer)
    assert.ok(waited >= 300, `the check waited for the paused server (${waited} ms)`)
    assert.ok(ticks >= 10, `the loop ran only ${ticks} ticks while Redis was paused`)
  } finally {
    await server.close()
  }
})

test('RedisStore arguments are checked', () => {
  assert.throws(() => new ag.RedisStore('http://localhost'), ag.InvalidInput)
  assert.throws(() => new ag.RedisStore('redis://localhost', { timeout: 0 }), ag.InvalidInput)
  assert.throws(() => new ag.RateLimiter({ failureMode: 'sometimes' }), ag.InvalidInput)
  const store = new ag.RedisStore('redis://:hunter2@localhost:1', { prefix: 'app:' })
  assert.equal(store.prefix, 'app:')
  assert.ok(!JSON.stringify(store).includes('hunter2'))
})

test('Express and Fastify gates on Redis check off the event loop: 200, 401 and 429 as in memory', {
  skip,
}, async () => {
  const { default: express } = await import('express')
  const { default: Fastify } = await import('fastify')
  const { authgate, Gate } = await import('../express.js')
  const { authgatePlugin } = await import('../fastify.js')
  const store = redisStore(url)
  const keys = new ag.KeySet([ag.Key.hmac(ag.Key.generateHmacSecret(), 'HS256', 'k')])
  const sessions = new ag.SessionManager(keys, { store })
  const apiKeys = new ag.ApiKeyManager({ store })
  const limiter = new ag.RateLimiter({ store })
  limiter.setPolicy('tiny', '2/hour')
  const gate = new Gate({ keys: sessions, apiKeys, limiter, ratePolicy: 'tiny' })
  assert.ok(gate.offload && sessions.remoteStore && !new Gate({ keys }).offload)
  for (const serve of ['express', 'fastify']) {
    const { key } = apiKeys.create()
    const token = (await sessions.loginAsync('alice', serve)).tokens.accessToken
    const headers = { 'x-api-key': key, authorization: `Bearer ${token}` }
    let base, close
    if (serve === 'express') {
      const app = express()
      app.use(authgate(gate))
      app.get('/me', (req, res) => res.json({ sub: req.auth.claims.sub }))
      const server = await new Promise((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s))
      })
      base = `http://127.0.0.1:${server.address().port}`
      close = () => new Promise((resolve) => server.close(resolve))
    } else {
      const app = Fastify()
      await app.register(authgatePlugin, { gate })
      app.get('/me', async (request) => ({ sub: request.auth.claims.sub }))
      base = await app.listen({ port: 0, host: '127.0.0.1' })
      close = () => app.close()
    }
    try {
      const ok = await fetch(`${base}/me`, { headers })
      assert.equal(ok.status, 200, serve)
      assert.deepEqual(await ok.json(), { sub: 'alice' })
      assert.match(ok.headers.get('ratelimit'), /"tiny";r=1/)
      assert.equal((await fetch(`${base}/me`, { headers: { 'x-api-key': key } })).status, 401)
      assert.equal((await fetch(`${base}/me`, { headers })).status, 200)
      const refused = await fetch(`${base}/me`, { headers })
      assert.equal(refused.status, 429, serve)
      assert.ok(Number(refused.headers.get('retry-after')) > 0)
    } finally {
      await close()
    }
  }
})
