// Redis-backed checks per second from Node, in one run against one server
// (AUTHGATE_REDIS_URL): authgate's limiter (Promise variant, on the libuv pool) beside
// rate-limiter-flexible's RateLimiterRedis over ioredis, one call in flight and 32; and
// authgate's nonce check (a webhook verified with replay protection) beside a bare ioredis
// `SET NX EX`. Writes its table into docs/benchmarks.md; run by `make bench`.
import { readFileSync } from 'node:fs'
import Redis from 'ioredis'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import * as ag from '../index.mjs'
import { writeSection } from './measure.mjs'

const versionOf = (name) =>
  JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version
const [BEGIN, END] = ['<!-- BEGIN NODE REDIS (make bench) -->', '<!-- END NODE REDIS -->']
const url = process.env.AUTHGATE_REDIS_URL
const SECONDS = 1.5

/** Calls per second of `op(worker, i)` with `concurrency` calls in flight. */
async function throughput(concurrency, op) {
  const start = performance.now()
  let done = 0
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; performance.now() - start < SECONDS * 1000; i++) {
        await op(w, i)
        done++
      }
    }),
  )
  return done / ((performance.now() - start) / 1000)
}

const key = (w, i) => `app-${(w * 7919 + i) % 10_000}`
const ours = new ag.RateLimiter({ store: new ag.RedisStore(url, { prefix: 'bench-node:', maxIdle: 64 }) })
ours.setPolicy('api', '1000000000/minute')
const client = new Redis(url)
const theirs = new RateLimiterRedis({
  storeClient: client,
  points: 1_000_000_000,
  duration: 60,
  keyPrefix: 'bench-rlf',
})
if (!(await ours.checkAsync('app-1', { policy: 'api' })).allowed) throw new Error('refused')
await theirs.consume('app-1')
const options = { policy: 'api' }

const rows = []
for (const c of [1, 32]) {
  rows.push([
    c,
    await throughput(c, (w, i) => ours.checkAsync(key(w, i), options)),
    await throughput(c, (w, i) => theirs.consume(key(w, i))),
  ])
}

const secret = ag.WebhookKey.generateSecret()
const hooks = new ag.WebhookVerifier(secret, { store: new ag.RedisStore(url, { prefix: 'bench-node:' }) })
const ts = Math.floor(Date.now() / 1000)
const signed = Array.from({ length: 100_000 }, (_, i) => [`m${i}`, ag.signWebhook(secret, `m${i}`, ts, '{}')])
let next = 0
const verify = async () => {
  const [id, sig] = signed[next++ % signed.length]
  try {
    await hooks.verifyAsync({ 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': sig }, '{}')
  } catch (e) {
    // Past 100,000 ids the run wraps around: the check still makes its round trip.
    if (!(e instanceof ag.ReplayDetected)) throw e
  }
}
const nonceRows = []
for (const c of [1, 32]) {
  nonceRows.push([
    c,
    await throughput(c, verify),
    await throughput(c, (w, i) => client.set(`bench-raw:${c}:${w}:${i}`, 1, 'EX', 300, 'NX')),
  ])
}
client.disconnect()

const f = (x) => `${Math.round(x).toLocaleString('en-US')}/s`
writeSection(
  [
    BEGIN,
    '',
    `Node ${process.version}; authgate ${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}, ` +
      `rate-limiter-flexible ${versionOf('rate-limiter-flexible')}, ioredis ${versionOf('ioredis')}; Redis on loopback. Calls per second over ${SECONDS} s; ` +
      'every check is allowed (a limit of 10^9 per minute) over 10,000 keys.',
    '',
    '| calls in flight | authgate `checkAsync` | rate-limiter-flexible RateLimiterRedis | authgate ÷ peer |',
    '|---|---|---|---|',
    ...rows.map(([c, a, t]) => `| ${c} | ${f(a)} | ${f(t)} | ${(a / t).toFixed(2)}x |`),
    '',
    '| calls in flight | authgate nonce check (webhook `verifyAsync` + replay) | ioredis `SET NX EX` alone |',
    '|---|---|---|',
    ...nonceRows.map(([c, a, r]) => `| ${c} | ${f(a)} | ${f(r)} |`),
    '',
    END,
  ],
  '<!-- END NODE LIMITS -->',
)
