// Runners for the `pop` and `remote_jwks` vector areas (tests/vectors/README.md).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import * as ag from '../index.mjs'
import native from '../index.js'
import { HttpsServer } from './https_server.mjs'
import { newStore } from './stores.mjs'
import { Gate } from '../http.js'

const TOKENS = JSON.parse(
  readFileSync(new URL('../../tests/vectors/remote_jwks/scenarios.json', import.meta.url), 'utf8'),
).tokens

function checkError(e, code) {
  assert.ok(e instanceof ag.AuthError, `not an AuthError: ${e}`)
  assert.equal(e.code, code.toUpperCase(), e.message)
  assert.equal(e.constructor, native[e.constructor.name])
  return true
}

function expect(want, run, check = () => {}) {
  if (want?.error) assert.throws(run, (e) => checkError(e, want.error))
  else check(run(), want)
}

async function expectAsync(want, run, check = () => {}) {
  if (want?.error) await assert.rejects(run, (e) => checkError(e, want.error))
  else check(await run(), want)
}

const certificate = (c) => (c.certificate_der_b64 ? Buffer.from(c.certificate_der_b64, 'base64') : c.certificate)

export function runPop(c) {
  switch (c.op) {
    case 'jwk_thumbprint':
      return expect(
        c.expect,
        () => ag.jwkThumbprint(c.jwk),
        (got, want) => assert.equal(got, want.jkt),
      )
    case 'certificate_thumbprint':
      return expect(
        c.expect,
        () => ag.certificateThumbprint(certificate(c)),
        (got, want) => assert.equal(got, want.x5t),
      )
    case 'certificate_binding':
      return expect(c.expect, () => ag.checkCertificateBinding(c.claims, certificate(c)))
    case 'dpop_verify': {
      const p = c.policy || {}
      const verifier = new ag.DpopVerifier({
        maxAge: p.max_age,
        leeway: p.leeway,
        nonce: p.nonce,
        algorithms: p.algorithms,
        store: newStore(),
        clock: new ag.ManualClock(c.now),
      })
      c.requests.forEach(
        (r, i) =>
          void expect(
            r.expect,
            () =>
              verifier.verify(r.proof, r.method, r.uri, {
                accessToken: r.access_token,
                accessClaims: r.access_claims,
                nonce: r.nonce,
              }),
            (got, want) => assert.deepEqual({ ...got }, want, `request ${i}`),
          ),
      )
      return undefined
    }
    case 'gate_dpop_nonce': {
      const keys = new ag.KeySet([ag.Key.hmac(Buffer.from('gate-nonce-vector-secret-0123456789'), 'HS256')])
      return expect(
        c.expect,
        () => new Gate({ keys, dpop: new ag.DpopVerifier({ nonce: c.nonce, store: newStore() }) }),
      )
    }
    default:
      throw new Error(`unknown pop op ${c.op}`)
  }
}

const CAMEL = { issuers: 'issuer', audiences: 'audience', accept_any_audience: 'acceptAnyAudience' }

export async function runRemoteJwks(c) {
  assert.equal(c.op, 'scenario', `unknown remote_jwks op ${c.op}`)
  const server = await HttpsServer.start()
  try {
    const clock = new ag.ManualClock(c.start)
    const o = c.options
    const options = { ttl: o.ttl, cooldown: o.cooldown, maxStale: o.max_stale, caCert: server.ca, clock }
    if (o.timeout_ms) options.timeout = o.timeout_ms / 1000
    const client = c.discover
      ? ag.RemoteJwks.discover(server.url(c.discover), options)
      : new ag.RemoteJwks(server.url('/jwks.json'), options)
    const validation = Object.fromEntries(Object.entries(c.validation || {}).map(([k, v]) => [CAMEL[k] || k, v]))
    for (const [i, step] of c.steps.entries()) {
      const where = `step ${i} (${step.do})`
      switch (step.do) {
        case 'serve':
          await server.set(step.path, step.body.replaceAll('{base}', server.base), step.status, step.delay_ms)
          break
        case 'advance':
          clock.advance(step.seconds)
          break
        case 'verify':
          await expectAsync(
            step.expect,
            () => client.verify(TOKENS[step.token], { ...validation, now: clock.now() }),
            (got, want) => {
              for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, where)
            },
          )
          break
        case 'refresh':
          await expectAsync(step.expect, () => client.refresh())
          break
        case 'hits':
          assert.equal(await server.hits(step.path), step.expect, where)
          break
        case 'status': {
          const s = client.status()
          const w = step.expect
          assert.deepEqual([s.kids, s.stale, s.fetches, s.failures], [w.kids, w.stale, w.fetches, w.failures], where)
          if (w.last_error) assert.equal(s.lastError.code, w.last_error.toUpperCase(), where)
          break
        }
        default:
          throw new Error(`unknown step ${step.do}`)
      }
    }
  } finally {
    await server.close()
  }
}
