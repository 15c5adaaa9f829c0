// RemoteJwks against the local HTTPS test server (private CA): an identity provider that
// rotates its keys, answers slowly, fails and returns garbage — while the event loop runs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as ag from '../index.mjs'
import { Gate } from '../http.js'
import { HttpsServer } from './https_server.mjs'

const NOW = 1_700_000_000
const JWKS = '/jwks.json'

function provider(kid) {
  const keys = new ag.KeySet([ag.Key.fromPem(ag.Key.generatePem('ES256'), 'ES256', kid)])
  keys.activate(kid)
  return {
    keys,
    token: (claims = {}) =>
      keys.sign({ iss: 'https://idp.example', sub: 'alice', aud: 'api', exp: NOW + 3600, ...claims }),
  }
}
const jwks = (...providers) => JSON.stringify({ keys: providers.flatMap((p) => p.keys.jwks().keys) })

async function withServer(fn) {
  const server = await HttpsServer.start()
  try {
    return await fn(server)
  } finally {
    await server.close()
  }
}

const client = (server, clock, options = {}) =>
  new ag.RemoteJwks(server.url(JWKS), { caCert: server.ca, clock, timeout: 0.8, ...options })

test('verifies, caches for the TTL and checks claims', () =>
  withServer(async (server) => {
    const a = provider('a')
    await server.set(JWKS, jwks(a))
    const clock = new ag.ManualClock(NOW)
    const c = client(server, clock, { ttl: 300 })
    for (let i = 0; i < 3; i++) {
      assert.equal(
        (await c.verify(a.token(), { issuer: 'https://idp.example', audience: 'api', now: NOW })).sub,
        'alice',
      )
    }
    assert.equal(await server.hits(JWKS), 1)
    clock.advance(300)
    await c.verify(a.token(), { audience: 'api', now: NOW })
    assert.equal(await server.hits(JWKS), 2)
    const s = c.status()
    assert.deepEqual([s.kids, s.stale, s.fetches, s.lastError, s.jwksUri], [['a'], false, 2, null, server.url(JWKS)])
    await assert.rejects(c.verify(a.token({ aud: 'other' }), { audience: 'api', now: NOW }), ag.InvalidAudience)
    await assert.rejects(c.verify(a.token(), { audiance: 'api' }), TypeError)
    // #20 item 8: a provider signs for many APIs: name this API's audience, or opt out by name.
    await assert.rejects(
      c.verify(a.token(), { now: NOW }),
      (e) => e instanceof ag.InvalidInput && /audience/.test(e.message),
    )
    assert.equal((await c.verify(a.token({ aud: 'other' }), { acceptAnyAudience: true, now: NOW })).aud, 'other')
    assert.throws(
      () => new Gate({ keys: c, verify: { issuer: 'https://idp.example' } }),
      (e) => /audience/.test(e.message),
    )
    assert.ok(new Gate({ keys: c, verify: { audience: 'api' } }))
  }))

test('a rotated key is fetched on its first token; unknown kids cannot hammer', () =>
  withServer(async (server) => {
    const [a, b, forger] = [provider('a'), provider('b'), provider('zzz')]
    await server.set(JWKS, jwks(a))
    const clock = new ag.ManualClock(NOW)
    const c = client(server, clock)
    await c.verify(a.token(), { audience: 'api', now: NOW })
    clock.advance(30)
    await server.set(JWKS, jwks(b))
    assert.equal((await c.verify(b.token(), { audience: 'api', now: NOW })).sub, 'alice')
    assert.equal(await server.hits(JWKS), 2)
    await assert.rejects(c.verify(a.token(), { audience: 'api', now: NOW }), ag.KeyNotFound)
    await Promise.all(
      Array.from({ length: 100 }, () =>
        assert.rejects(c.verify(forger.token(), { audience: 'api', now: NOW }), ag.KeyNotFound),
      ),
    )
    assert.equal(await server.hits(JWKS), 2)
  }))

test('a failing provider: the good set is kept and served stale, within max_stale', () =>
  withServer(async (server) => {
    const a = provider('a')
    await server.set(JWKS, jwks(a))
    const clock = new ag.ManualClock(NOW)
    const c = client(server, clock, { maxStale: 3600 })
    await c.verify(a.token(), { audience: 'api', now: NOW })
    for (const [body, status] of [
      ['boom', 500],
      ['<html>', 200],
      ['{"keys": []}', 200],
      ['', 0],
      ['{"keys": [', 200],
    ]) {
      clock.advance(601)
      await server.set(JWKS, body, status)
      assert.equal((await c.verify(a.token(), { audience: 'api', now: NOW })).sub, 'alice', `${status} ${body}`)
      const s = c.status()
      assert.ok(s.stale)
      assert.ok(s.lastError instanceof ag.KeySetUnavailable)
      await assert.rejects(c.refresh(), ag.KeySetUnavailable)
      await server.set(JWKS, jwks(a))
      clock.advance(31)
      assert.deepEqual(await c.refresh(), ['a'])
    }
    await server.set(JWKS, '', 503)
    clock.advance(600 + 3600)
    await assert.rejects(
      c.verify(a.token(), { audience: 'api', now: NOW }),
      (e) => e instanceof ag.KeySetUnavailable && /HTTP 503/.test(e.message),
    )
  }))

test('a slow provider times out while the event loop keeps running', () =>
  withServer(async (server) => {
    const a = provider('a')
    await server.set(JWKS, jwks(a), 200, 3000)
    const c = client(server, new ag.ManualClock(NOW), { timeout: 0.5 })
    let ticks = 0
    const timer = setInterval(() => ticks++, 10)
    const started = Date.now()
    try {
      await assert.rejects(
        c.verify(a.token(), { audience: 'api', now: NOW }),
        (e) => e instanceof ag.KeySetUnavailable && /no answer within/.test(e.message),
      )
    } finally {
      clearInterval(timer)
    }
    assert.ok(Date.now() - started < 2500)
    assert.ok(ticks >= 20, `the event loop ticked ${ticks} times`)
  }))

test('TLS and URLs are checked', () =>
  withServer(async (server) => {
    await server.set(JWKS, jwks(provider('a')))
    await assert.rejects(new ag.RemoteJwks(server.url(JWKS)).refresh(), ag.KeySetUnavailable)
    assert.equal(await server.hits(JWKS), 0)
    for (const url of ['http://127.0.0.1/jwks', 'file:///etc/passwd', 'https://idp/ x', 'x'.repeat(3000)]) {
      assert.throws(() => new ag.RemoteJwks(url), ag.InvalidInput, url)
    }
    assert.throws(() => new ag.RemoteJwks(server.url(JWKS), { caCert: 'nope' }), ag.InvalidInput)
    assert.throws(() => new ag.RemoteJwks(server.url(JWKS), { timeout: 0 }), TypeError)
    assert.throws(() => new ag.RemoteJwks(server.url(JWKS), { ttl: 'ten' }), TypeError)
    assert.throws(() => new ag.RemoteJwks(server.url(JWKS), 'options'), TypeError)
    assert.throws(() => new ag.RemoteJwks(server.url(JWKS), { maxstale: 10 }), /unknown RemoteJwks option maxstale/)
    assert.throws(() => ag.RemoteJwks.discover(server.url('/x'), { ca: server.ca }), TypeError)
    assert.throws(() => new ag.DpopVerifier({ maxage: 10 }), /unknown DpopVerifier option maxage/)
  }))

test('discovery binds the issuer', () =>
  withServer(async (server) => {
    const a = provider('a')
    const issuer = server.url('/realms/main')
    await server.set(
      '/realms/main/.well-known/openid-configuration',
      JSON.stringify({ issuer, jwks_uri: server.url('/realms/main/certs') }),
    )
    await server.set('/realms/main/certs', jwks(a))
    const c = ag.RemoteJwks.discover(issuer, { caCert: server.ca })
    assert.ok(c instanceof ag.RemoteJwks)
    assert.equal((await c.verify(a.token({ iss: issuer }), { audience: 'api', now: NOW })).iss, issuer)
    await assert.rejects(
      c.verify(a.token({ iss: 'https://elsewhere.example' }), { audience: 'api', now: NOW }),
      ag.InvalidIssuer,
    )
    assert.ok(
      await c.verify(a.token({ iss: 'https://alias.example' }), {
        issuer: 'https://alias.example',
        audience: 'api',
        now: NOW,
      }),
    )
    const s = c.status()
    assert.deepEqual([s.issuer, s.jwksUri], [issuer, server.url('/realms/main/certs')])
  }))
