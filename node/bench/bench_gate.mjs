// A whole request through the gate — API key + HS256 Bearer token + rate limit — beside
// what a user writes with fast-jwt and rate-limiter-flexible (the key looked up by its
// SHA-256, the token verified with issuer and audience, one RateLimiterMemory consume per
// app), in one run. Also the gate's refusals: a forged token and an unknown API key.
// Writes its table into docs/benchmarks.md; run by `make bench`.
import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createVerifier } from 'fast-jwt'
import { RateLimiterMemory } from 'rate-limiter-flexible'
import * as ag from '../index.mjs'
import { Gate, GateRefusal } from '../http.js'
import { fmt, measure, writeSection } from './measure.mjs'

const versionOf = (name) =>
  JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version
const [BEGIN, END] = ['<!-- BEGIN NODE GATE (make bench) -->', '<!-- END NODE GATE -->']
const SECRET = Buffer.from('gate-bench-hs256-secret-0123456789abcdef')
const [ISS, AUD] = ['https://auth.example.com', 'api']

const now = Math.floor(Date.now() / 1000)
const keys = new ag.KeySet([ag.Key.hmac(SECRET)])
const token = keys.sign({ iss: ISS, aud: AUD, sub: 'user-1', iat: now, exp: now + 3600, scope: 'read write' })
const apiKeys = new ag.ApiKeyManager()
const { key: apiKey, record } = apiKeys.create({ scopes: ['orders'] })
const limiter = new ag.RateLimiter()
limiter.setPolicy('default', '1000000000/minute')
const gate = new Gate({ keys, verify: { issuer: ISS, audience: AUD }, apiKeys, limiter, clientRatePolicy: null })

// The glue: keys by their SHA-256, fast-jwt, rate-limiter-flexible.
const table = new Map([[createHash('sha256').update(apiKey).digest('hex'), record.id]])
const verify = createVerifier({ key: SECRET, algorithms: ['HS256'], allowedIss: ISS, allowedAud: AUD })
const theirs = new RateLimiterMemory({ points: 1_000_000_000, duration: 60 })
async function glue(h) {
  const presented = h['x-api-key']
  if (!presented) return 'missing_api_key'
  const digest = createHash('sha256').update(presented).digest()
  let app = null
  for (const [k, v] of table) if (timingSafeEqual(Buffer.from(k, 'hex'), digest)) app = v
  if (app === null) return 'invalid_api_key'
  const [scheme, tok] = (h.authorization ?? '').split(' ')
  if (scheme.toLowerCase() !== 'bearer') return 'malformed_token'
  try {
    verify(tok)
  } catch {
    return 'invalid_token'
  }
  try {
    await theirs.consume(app)
  } catch {
    return 'rate_limited'
  }
  return null
}

// What the Express, Fastify and Web adapters call: `check` answers a refusal with the
// response to send (a GateRefusal), without throwing.
function ours(h, on = gate) {
  const outcome = on.check((name) => h[name], '192.0.2.1')
  return outcome instanceof GateRefusal ? outcome.error.code : null
}
function oursCheck(h, on = gate) {
  const outcome = on.check((name) => h[name], '192.0.2.1')
  return outcome instanceof GateRefusal ? outcome.status : 200
}
function oursThrown(h, on = gate) {
  try {
    on.authenticate((name) => h[name], '192.0.2.1')
    return null
  } catch (error) {
    return error.code
  }
}

// A client over its per-client limit (the 429 every request of a flood gets), before any
// credential is read; the glue's is a RateLimiterMemory per client address that refuses.
const spentLimiter = new ag.RateLimiter()
spentLimiter.setPolicy('client', '1/hour')
const spent = new Gate({
  keys,
  verify: { issuer: ISS, audience: AUD },
  limiter: spentLimiter,
  clientRatePolicy: 'client',
})
const theirsPerClient = new RateLimiterMemory({ points: 1, duration: 3600 })
await theirsPerClient.consume('192.0.2.1')
async function glue429() {
  try {
    await theirsPerClient.consume('192.0.2.1')
    return null
  } catch {
    return 'rate_limited'
  }
}

const headers = { authorization: `Bearer ${token}`, 'x-api-key': apiKey }
const forged = { ...headers, authorization: `Bearer ${token.slice(0, -4)}AAAA` }
const unknown = { ...headers, 'x-api-key': apiKey.slice(0, -1) + (apiKey.endsWith('a') ? 'b' : 'a') }
for (const [h, want] of [
  [headers, null],
  [forged, 'INVALID_SIGNATURE'],
  [unknown, 'INVALID_API_KEY'],
]) {
  if (ours(h) !== want) throw new Error(`gate: ${ours(h)}, want ${want}`)
  if (oursThrown(h) !== want) throw new Error(`gate (authenticate): ${oursThrown(h)}, want ${want}`)
  if (((await glue(h)) === null) !== (want === null)) throw new Error('glue disagrees')
}
oursCheck(forged, spent) // the one request of the hour
if (oursCheck(forged, spent) !== 429 || oursThrown(forged, spent) !== 'RATE_LIMITED') throw new Error('no 429')
if ((await glue429()) !== 'rate_limited') throw new Error('glue: no 429')

const rows = []
for (const [name, h] of [
  ['admitted: API key + HS256 Bearer + limit', headers],
  ['refused: forged token', forged],
  ['refused: unknown API key', unknown],
]) {
  rows.push([name, await measure(() => oursCheck(h)), await measure(() => glue(h))])
}
const glue429Time = await measure(glue429)
rows.push([
  'refused: over the per-client limit (429), `check`',
  await measure(() => oursCheck(forged, spent)),
  glue429Time,
])
rows.push([
  'refused: over the per-client limit (429), `authenticate` (throws)',
  await measure(() => oursThrown(forged, spent)),
  glue429Time,
])
writeSection(
  [
    BEGIN,
    '',
    `Node ${process.version}; authgate ${versionOf('../')}, fast-jwt ${versionOf('fast-jwt')}, rate-limiter-flexible ${versionOf('rate-limiter-flexible')}. ` +
      'Median of 7 rounds, one request at a time. authgate is timed through `gate.check`, what the Express, ' +
      'Fastify and Web adapters call (a refusal is returned as the response to send, not thrown), except the row ' +
      'through `authenticate`. The glue is what a user writes without authgate (key by SHA-256, fast-jwt with issuer ' +
      'and audience, a RateLimiterMemory consume; for the 429, a RateLimiterMemory per client address rejecting its ' +
      'Promise).',
    '',
    '| request | authgate `Gate` | fast-jwt + rate-limiter-flexible glue | speed-up |',
    '|---|---|---|---|',
    ...rows.map(([name, a, b]) => `| ${name} | ${fmt(a)} | ${fmt(b)} | ${(b / a).toFixed(1)}× |`),
    '',
    END,
  ],
  '<!-- END NODE LIMITS -->',
)
