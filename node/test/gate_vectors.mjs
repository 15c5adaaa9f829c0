// The `gate` area of the conformance vectors (tests/vectors/http/gate.json): a gate built
// from each case's spec, every step's request sent by a caller-given function, and the
// answer compared with the vector: status, the listed headers, absent headers, body bytes.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as ag from '../index.mjs'
import { Gate, GateRefusal } from '../http.js'

const FILE = fileURLToPath(new URL('../../tests/vectors/http/gate.json', import.meta.url))
const DOC = JSON.parse(readFileSync(FILE, 'utf8'))
export const GATES = DOC.gates
export const CASES = DOC.cases

/** The vector's gate, and the API key made for it (scopes ["read"]). */
export function build(spec) {
  const options = { realm: spec.realm }
  if (spec.trusted_proxies) options.clientIp = new ag.ClientIpResolver(spec.trusted_proxies)
  if (spec.allowlist) options.allowlist = new ag.IpAllowlist(spec.allowlist)
  if (spec.tokens) {
    options.keys = new ag.KeySet([ag.Key.hmac(Buffer.from(spec.tokens.hs256_secret), 'HS256')])
    options.verify = {
      issuer: spec.tokens.issuer,
      audience: spec.tokens.audience,
      acceptAnyAudience: spec.tokens.accept_any_audience,
    }
    if (spec.tokens.accept_id_tokens) options.acceptIdTokens = true
  }
  if (spec.scopes) options.scopes = spec.scopes
  const store = new ag.MemoryStore()
  const manager = new ag.ApiKeyManager({ store })
  const { key } = manager.create({ scopes: ['read'] })
  if (spec.api_keys) {
    options.apiKeys = manager
    options.apiKeyInAuthorization = spec.api_keys.in_authorization ?? false
  }
  if (spec.limiter) {
    const limiter = new ag.RateLimiter({ store, clock: new ag.ManualClock(spec.limiter.now) })
    for (const [name, text] of Object.entries(spec.limiter.policies)) limiter.setPolicy(name, text)
    options.limiter = limiter
  }
  return { gate: new Gate(options), apiKey: key }
}

export function fill(text, apiKey) {
  const typo = apiKey.slice(0, -1) + (apiKey.endsWith('a') ? 'b' : 'a')
  return text.replaceAll('{api_key_typo}', typo).replaceAll('{api_key}', apiKey)
}

/**
 * Runs a case: `send(method, path, headers)` resolves with `{ status, headers, body }`
 * (headers: lower-case name → array of values); `hold(gate)` gets the fresh gate first.
 */
export async function run(c, send, hold) {
  const { gate, apiKey } = build(GATES[c.gate])
  hold(gate)
  let i = 0
  for (const step of c.steps) {
    i += 1
    const r = step.request
    const headers = r.headers.map(([n, v]) => [n, fill(v, apiKey)])
    const got = await send(r.method, r.path, headers)
    const want = step.expect
    const at = `${c.name}, step ${i}`
    assert.equal(got.status, want.status, `${at}: ${got.body}`)
    for (const [name, value] of Object.entries(want.headers ?? {})) {
      assert.deepEqual(got.headers[name], [value], `${at}: ${name}`)
    }
    for (const name of want.absent ?? []) assert.equal(got.headers[name], undefined, `${at}: ${name} must be absent`)
    if (want.body !== undefined) assert.equal(got.body, want.body, at)
  }
}

/** A header lookup over `[name, value]` pairs: every line of a header, as a server hands them over. */
function lookupOf(headers) {
  return (name) => {
    const values = headers.filter(([n]) => n === name).map(([, v]) => v)
    return values.length ? values : undefined
  }
}

/** Through `Gate.authenticate` and `Gate.errorResponse`, no server: peer 127.0.0.1. */
export function direct(holder) {
  return async (method, path, headers) => {
    const gate = holder.gate
    const lookup = lookupOf(headers)
    try {
      const auth = gate.authenticate(lookup, '127.0.0.1', { method, url: `http://localhost${path}` })
      return { status: 200, headers: multi(gate.responseHeaders(auth)), body: '' }
    } catch (error) {
      const { status, headers: out, body } = gate.errorResponse(error)
      return { status, headers: multi(out), body }
    }
  }
}

/**
 * Through `Gate.check`, no server: the refusal comes back as a GateRefusal (what the
 * adapters send), whose error's `response` must be the same response.
 */
export function checked(holder) {
  return async (method, path, headers) => {
    const gate = holder.gate
    const lookup = lookupOf(headers)
    const outcome = gate.check(lookup, '127.0.0.1', { method, url: `http://localhost${path}` })
    if (!(outcome instanceof GateRefusal)) {
      return { status: 200, headers: multi(gate.responseHeaders(outcome)), body: '' }
    }
    const again = gate.errorResponse(outcome.error)
    assert.deepEqual(again, { status: outcome.status, headers: outcome.headers, body: outcome.body })
    assert.equal(outcome.error, outcome.error, 'the error is built once')
    return { status: outcome.status, headers: multi(outcome.headers), body: outcome.body }
  }
}

function multi(headers) {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), [String(v)]]))
}
