// Every conformance vector in tests/vectors (the files every runtime loads), through the
// Node package. An unknown area or op fails: a new kind of vector cannot be skipped.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import * as ag from '../index.mjs'
import native from '../index.js'
import { otp } from './otp_vectors.mjs'
import { runAllowlist, runPassword, runRatelimit } from './limits_vectors.mjs'
import { newStore, onRedis, redisUrl } from './stores.mjs'
import { runPop, runRemoteJwks } from './pop_vectors.mjs'
import * as gateVectors from './gate_vectors.mjs'
import { refusalResponse } from '../http.js'

const VECTORS = fileURLToPath(new URL('../../tests/vectors', import.meta.url))
const files = (dir) =>
  readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f)
      return statSync(p).isDirectory() ? files(p) : p.endsWith('.json') ? [p] : []
    })
const b64 = (buf) => Buffer.from(buf).toString('base64url')
const upper = (code) => code.toUpperCase()

function expect(c, run, check = () => {}) {
  if (c.expect?.error) {
    assert.throws(run, (e) => {
      assert.ok(e instanceof ag.AuthError, `not an AuthError: ${e}`)
      assert.equal(e.code, upper(c.expect.error), e.message)
      assert.equal(e.constructor, native[e.constructor.name])
      return true
    })
  } else {
    check(run(), c.expect)
  }
}

const key = (spec) =>
  spec.secret_b64
    ? ag.Key.hmac(Buffer.from(spec.secret_b64, 'base64'), spec.alg, spec.kid)
    : spec.pem
      ? ag.Key.fromPem(spec.pem, spec.alg, spec.kid)
      : ag.Key.fromJwk(spec.jwk, spec.alg)
function keyset(specs) {
  const ks = new ag.KeySet()
  for (const s of specs) ks.add(key(s), s.status || 'verify_only')
  return ks
}
const CAMEL = {
  issuers: 'issuer',
  audiences: 'audience',
  required_claims: 'requiredClaims',
  required_scopes: 'requiredScopes',
  token_type: 'tokenType',
  max_token_bytes: 'maxTokenBytes',
  accept_any_audience: 'acceptAnyAudience',
}
function options(v = {}) {
  const out = { now: 1_700_000_000 }
  for (const [k, val] of Object.entries(v)) out[CAMEL[k] || k] = val
  return out
}

const sigKey = (spec) =>
  spec.alg === 'hmac-sha256'
    ? ag.SignatureKey.hmacSha256(Buffer.from(spec.secret_b64, 'base64'))
    : ag.SignatureKey.ed25519Pem(spec.pem)
const camel = (o = {}) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z])/g, (_, x) => x.toUpperCase()), v]))

const runners = {
  gate: async (c) => {
    // Twice, each on a gate of its own: through `authenticate` (a thrown AuthError) and
    // through `check` (a GateRefusal, what the adapters send).
    for (const via of [gateVectors.direct, gateVectors.checked]) {
      const holder = {}
      await gateVectors.run(c, via(holder), (gate) => {
        holder.gate = gate
      })
    }
  },
  otp,
  pop: runPop,
  remote_jwks: runRemoteJwks,
  ratelimit: runRatelimit,
  allowlist: runAllowlist,
  password: runPassword,
  signature(c) {
    switch (c.op) {
      case 'sign':
        return expect(
          c,
          () =>
            ag.signRequest(sigKey(c.key), c.request, {
              label: c.label,
              components: c.components,
              digest: c.digest,
              ...c.params,
            }),
          (h, e) => {
            assert.equal(h['Signature-Input'], e.signature_input)
            assert.equal(h.Signature, e.signature)
          },
        )
      case 'verify':
      case 'replay': {
        const keys = Object.fromEntries(Object.entries(c.keys).map(([id, spec]) => [id, sigKey(spec)]))
        const v = new ag.RequestVerifier(keys, {
          ...camel(c.policy),
          store: newStore(),
          clock: new ag.ManualClock(c.now),
        })
        const run = () => v.verify(c.request, c.select)
        if (c.op === 'replay') run()
        return expect(c, run, (r, e) =>
          assert.deepEqual({ label: r.label, keyid: r.keyid, algorithm: r.algorithm, components: r.components }, e),
        )
      }
      case 'content_digest':
        return assert.equal(ag.contentDigest(c.body, c.algorithm), c.expect.value)
      case 'verify_content_digest':
        return expect(c, () => ag.verifyContentDigest(c.field, c.body))
      default:
        assert.fail(`unknown signature op ${c.op}`)
    }
  },
  webhook(c) {
    switch (c.op) {
      case 'sign':
        return expect(
          c,
          () => ag.signWebhook(c.keys, c.id, c.timestamp, c.payload),
          (sig, e) => assert.equal(sig, e.signature),
        )
      case 'verify':
      case 'replay': {
        const store = newStore()
        const verifier = (now) =>
          new ag.WebhookVerifier(c.keys, {
            tolerance: c.tolerance ?? 300,
            idRetention: c.id_retention,
            store,
            clock: new ag.ManualClock(now),
          })
        let at = c.now
        if (c.op === 'replay') {
          verifier(at).verify(c.headers, c.payload)
          at = c.replay_now ?? at
        }
        return expect(
          c,
          () => verifier(at).verify(c.headers, c.payload),
          (r, e) => assert.deepEqual({ id: r.id, timestamp: r.timestamp, version: r.version }, e),
        )
      }
      case 'parse_key':
        return expect(
          c,
          () => new ag.WebhookKey(c.key),
          (k, e) => assert.deepEqual({ version: k.version, can_sign: k.canSign, public_key: k.publicKey ?? null }, e),
        )
      default:
        assert.fail(`unknown webhook op ${c.op}`)
    }
  },
  jwt(c) {
    switch (c.op) {
      case 'verify':
        return expect(
          c,
          () => keyset(c.keys).verify(c.token, options(c.validation)),
          (claims, e) => assert.deepEqual(claims, e.claims),
        )
      case 'verify_jws':
        return expect(
          c,
          () => keyset(c.keys).verifyJws(c.token, c.algorithms),
          (r, e) => {
            assert.deepEqual(r.header, e.header)
            assert.equal(b64(r.payload), e.payload_b64)
          },
        )
      case 'sign':
        return expect(
          c,
          () => key(c.key).sign(c.signing_input),
          (sig, e) => assert.equal(b64(sig), e.signature),
        )
      case 'verify_signature':
        // 130 times with one key: a key's first and later verifications take different
        // routes in the core (Ed25519 builds a table of the key after 128 valid signatures).
        return expect(
          c,
          () => {
            const k = key(c.key)
            const signature = Buffer.from(c.signature, 'base64url')
            return Array.from({ length: 130 }, () => k.verify(c.signing_input, signature))
          },
          (valid, e) => assert.deepEqual(valid, Array(130).fill(e.valid)),
        )
      case 'import_key':
        return expect(
          c,
          () => key(c.key),
          (k, e) => assert.deepEqual(k.publicJwk(), e.public_jwk),
        )
      case 'import_jwks':
        return expect(
          c,
          () => new ag.KeySet().importJwks(c.jwks),
          (kids, e) => assert.deepEqual(kids, e.kids),
        )
      default:
        assert.fail(`unknown jwt op ${c.op}`)
    }
  },
  session(c) {
    const { store_capacity: capacity, ...cfg } = c.config
    const config = {}
    for (const [k, v] of Object.entries(cfg)) config[k.replace(/_([a-z])/g, (_, x) => x.toUpperCase())] = v
    const clock = new ag.ManualClock(c.start)
    if (c.expect?.error) {
      assert.throws(
        () => new ag.SessionManager(keyset(c.keys), { ...config, store: newStore(capacity), clock }),
        (e) => e.code === c.expect.error.toUpperCase(),
      )
      return
    }
    const m = new ag.SessionManager(keyset(c.keys), { ...config, store: newStore(capacity), clock })
    const saved = {}
    c.steps.forEach((s, i) => {
      const save = (name, pair) => {
        if (name) saved[name] = pair
      }
      try {
        switch (s.do) {
          case 'advance':
            return clock.advance(s.seconds)
          case 'login':
            return expect(
              s,
              () => m.login(s.user, s.device, { deviceName: s.device_name, scope: s.scope }),
              (r, e) => {
                save(s.save, r.tokens)
                if ('new_device' in e) assert.equal(r.newDevice, e.new_device)
              },
            )
          case 'refresh':
            return expect(
              s,
              () => m.refresh(saved[s.pair].refreshToken),
              (p) => save(s.save, p),
            )
          case 'refresh_text':
            return expect(s, () => m.refresh(s.token))
          case 'verify_access':
            return expect(
              s,
              () => m.verifyAccess(saved[s.pair].accessToken),
              (claims, e) => {
                for (const [k, v] of Object.entries(e.claims)) assert.deepEqual(claims[k], v)
              },
            )
          case 'revoke':
            return expect(
              s,
              () => m.revoke(saved[s.pair].sessionId),
              (r, e) => assert.equal(r, e.result),
            )
          case 'revoke_all':
            return expect(
              s,
              () => m.revokeAll(s.user),
              (n, e) => assert.equal(n, e.count),
            )
          case 'list':
            return expect(
              s,
              () => m.list(s.user),
              (l, e) =>
                assert.deepEqual(
                  l.map((x) => x.deviceId),
                  e.devices,
                ),
            )
          default:
            assert.fail(`unknown session step ${s.do}`)
        }
      } catch (err) {
        err.message = `step ${i} (${s.do}): ${err.message}`
        throw err
      }
    })
  },
  apikey(c) {
    switch (c.op) {
      case 'parse':
        return expect(
          c,
          () => ag.parseApiKey(c.key),
          (p, e) => assert.deepEqual([p.prefix, p.id, p.lastFour], [e.prefix, e.id, e.last_four]),
        )
      case 'scope_granted':
        return assert.equal(ag.scopeGranted(c.granted, c.required), c.expect.result)
      case 'scenario': {
        const clock = new ag.ManualClock(c.start)
        const store = newStore()
        const pins = (config = {}) => ({ prefix: config.prefix, acceptPrefixes: config.accept_prefixes })
        const m = new ag.ApiKeyManager({ clock, store, ...pins(c.manager) })
        // `issuer`: a second manager on the same store; `elsewhere`: one with its own store.
        const by = {
          issuer: new ag.ApiKeyManager({ clock, store, ...pins(c.issuer) }),
          elsewhere: new ag.ApiKeyManager({ clock, store: new ag.MemoryStore(), ...pins(c.elsewhere) }),
        }
        const saved = {}
        for (const s of c.steps) {
          switch (s.do) {
            case 'advance':
              clock.advance(s.seconds)
              break
            case 'create':
              expect(
                s,
                () =>
                  (by[s.by] ?? m).create({
                    prefix: s.prefix,
                    scopes: s.scopes,
                    expiresAt: s.expires_in !== undefined ? clock.now() + s.expires_in : undefined,
                    credits: s.credits,
                    owner: s.owner,
                    metadata: s.metadata,
                  }),
                (r, e) => {
                  saved[s.save] = r
                  if (e.prefix) assert.equal(r.record.prefix, e.prefix)
                },
              )
              break
            case 'get': {
              const r = m.get(saved[s.key].record.id)
              const camel = { last_used_at: 'lastUsedAt' }
              for (const [name, want] of Object.entries(s.expect))
                assert.deepEqual(r[camel[name] ?? name] ?? null, want, name)
              break
            }
            case 'delete':
              expect(
                s,
                () => m.delete(saved[s.key].record.id),
                (deleted, e) => assert.equal(deleted, e.result),
              )
              break
            case 'import': {
              // The parts and SHA-256 `authgate keygen api-key --json` prints, computed here.
              const text = saved[s.key].key
              const p = ag.parseApiKey(text)
              const sha256 = createHash('sha256').update(text).digest('hex')
              expect(s, () =>
                m.importKey({
                  id: p.id,
                  prefix: p.prefix,
                  lastFour: p.lastFour,
                  sha256,
                  scopes: s.scopes,
                  credits: s.credits,
                  owner: s.owner,
                }),
              )
              break
            }
            case 'verify':
              expect(s, () => m.verify(saved[s.key].key, s.scope))
              break
            case 'verify_text':
              expect(s, () => m.verify(s.text))
              break
            case 'revoke':
            case 'disable':
            case 'enable':
              expect(s, () => m[s.do](saved[s.key].record.id))
              break
            case 'roll':
              expect(
                s,
                () => m.roll(saved[s.key].record.id, s.grace),
                (r) => {
                  saved[s.save] = r
                },
              )
              break
            default:
              assert.fail(`unknown apikey step ${s.do}`)
          }
        }
        return
      }
      default:
        assert.fail(`unknown apikey op ${c.op}`)
    }
  },
  client_token(c) {
    switch (c.op) {
      case 'verify':
        return expect(
          c,
          () => new ag.ClientTokens(c.server_key).verify(c.token, c.user, c.now),
          (t, e) => assert.deepEqual([t.user, t.exp], [e.user, e.exp]),
        )
      case 'needs_refresh':
        return assert.equal(ag.needsRefresh(c.token, { now: c.now, margin: c.margin }), c.expect.result)
      case 'new':
        return expect(c, () => new ag.ClientTokens(c.server_key))
      case 'public_key':
        return expect(
          c,
          () => new ag.ClientTokens(c.server_key).publicKey,
          (k, e) => assert.equal(k.toString('base64url'), e.x),
        )
      case 'verify_stored': {
        // The API's store holds the server key by its parts, SHA-256 and public key.
        const m = new ag.ApiKeyManager({ store: newStore(), clock: new ag.ManualClock(c.now), prefix: 'ag_srv_' })
        const p = ag.parseApiKey(c.server_key)
        const record = m.importKey({
          id: p.id,
          prefix: p.prefix,
          lastFour: p.lastFour,
          sha256: createHash('sha256').update(c.server_key).digest('hex'),
          clientTokenKey: c.client_token_key ?? undefined,
        })
        if (c.then) m[c.then](record.id)
        const verifier = new ag.ClientTokenVerifier(m)
        return expect(
          c,
          () => verifier.verify(c.token, c.user, c.now),
          (t, e) => assert.deepEqual([t.user, t.exp], [e.user, e.exp]),
        )
      }
      case 'verify_legacy': {
        const options = { allowMissingExp: c.options.allow_missing_exp, allowShortSecret: c.options.allow_short_secret }
        return expect(
          c,
          () => new ag.LegacyClientTokens(Buffer.from(c.secret_b64, 'base64'), options).verify(c.token, c.user, c.now),
          (t, e) => assert.deepEqual([t.user, t.exp], [e.user, e.exp]),
        )
      }
      default:
        assert.fail(`unknown client_token op ${c.op}`)
    }
  },
  http(c) {
    switch (c.op) {
      case 'bearer_token':
        return expect(
          c,
          () => ag.bearerToken(c.header),
          (t, e) => assert.equal(t, e.token),
        )
      case 'http_status': {
        const r = ag.httpError(c.code, 'x')
        assert.equal(r.status, c.expect.status)
        if (r.challenge) assert.ok(r.challenge.includes(`error="${c.expect.bearer_error}"`))
        return
      }
      case 'challenge':
        return assert.equal(ag.httpError(c.code, c.message, c.realm ?? undefined).challenge ?? null, c.expect.challenge)
      case 'refusal': {
        const r = ag.httpRefusal(c.code, c.message, c.retry_after, c.realm, null, null, c.violations ?? null)
        assert.deepEqual([r.status, r.headers, r.body], [c.expect.status, c.expect.headers, c.expect.body])
        // The same through the adapters' path: an AuthError whose details are fields.
        const error = {
          code: c.code.toUpperCase(),
          message: c.message,
          retryAfter: c.retry_after,
          violations: c.violations,
        }
        const w = refusalResponse(error, c.realm)
        return assert.deepEqual(
          [w.status, Object.entries(w.headers), w.body],
          [c.expect.status, c.expect.headers, c.expect.body],
        )
      }
      case 'request_url':
        return expect(
          c,
          () => ag.requestUrl(c.scheme, c.host, c.target),
          (u, e) => assert.equal(u, e.url),
        )
      case 'gate_url':
        return assert.equal(ag.gateUrl(c.scheme, c.host, c.target), c.expect.url)
      default:
        assert.fail(`unknown http op ${c.op}`)
    }
  },
}

// Areas whose capability this package does not ship, with where they are tested instead.
const ELSEWHERE = {
  token_manager: 'the client-side token manager ships in the mobile crate; Rust and Kotlin run these',
}

let count = 0
for (const file of files(VECTORS)) {
  const doc = JSON.parse(readFileSync(file, 'utf8'))
  for (const c of doc.cases) {
    count++
    test(`${relative(VECTORS, file)}: ${c.name}`, { skip: ELSEWHERE[doc.area] }, () => {
      const run = runners[doc.area]
      assert.ok(run, `unknown vector area ${doc.area}`)
      return run(c)
    })
  }
}
test('vectors were found', () => assert.ok(count > 150))

// The areas whose vectors keep state in a store, run again with every store on Redis.
const STATEFUL = ['pop', 'session', 'apikey', 'signature', 'webhook', 'otp', 'ratelimit']
const url = redisUrl()
for (const file of files(VECTORS)) {
  const doc = JSON.parse(readFileSync(file, 'utf8'))
  if (!STATEFUL.includes(doc.area)) continue
  for (const c of doc.cases) {
    if (c.config && 'store_capacity' in c.config) continue
    test(
      `on Redis: ${relative(VECTORS, file)}: ${c.name}`,
      { skip: url ? false : 'AUTHGATE_REDIS_URL is not set' },
      () => onRedis(url, () => runners[doc.area](c)),
    )
  }
}
