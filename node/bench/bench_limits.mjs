// authgate's rate limiter, allowlist and password hashing beside what Node users would
// otherwise pick, in one run: rate-limiter-flexible (RateLimiterMemory), node:net's
// BlockList, and @node-rs/argon2 with the same argon2id parameters. Writes its table into
// docs/benchmarks.md; run by `make bench`.
import { readFileSync } from 'node:fs'
import { BlockList } from 'node:net'
import { hash as nodeRsHash, verify as nodeRsVerify } from '@node-rs/argon2'
import { RateLimiterMemory } from 'rate-limiter-flexible'
import * as ag from '../index.mjs'
import { fmt, measure, writeSection } from './measure.mjs'

const versionOf = (name) =>
  JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version
const [BEGIN, END] = ['<!-- BEGIN NODE LIMITS (make bench) -->', '<!-- END NODE LIMITS -->']
const KEYS = Array.from({ length: 100_000 }, (_, i) => `app-${i}`)
const human = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(1)} ms` : fmt(ns))

/** Median ns of `n` awaited calls, for operations of milliseconds. */
async function slow(fn, n = 15) {
  await fn()
  const samples = []
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint()
    await fn()
    samples.push(Number(process.hrtime.bigint() - start))
  }
  return samples.sort((a, b) => a - b)[Math.floor(n / 2)]
}

function roundRobin(hit) {
  let i = 0
  return () => {
    i = (i + 1) % KEYS.length
    return hit(KEYS[i])
  }
}

// A limit no check in the run reaches: every call is an allowed request.
const ours = new ag.RateLimiter()
ours.setPolicy('api', '1000000000/minute')
const theirs = new RateLimiterMemory({ points: 1_000_000_000, duration: 60 })
if (!ours.check('app-1', { policy: 'api' }).allowed) throw new Error('refused')
await theirs.consume('app-1')
const options = { policy: 'api' }
const rows = [
  [
    'rate limit check, one hot key',
    await measure(() => ours.check('app-1', options)),
    await measure(() => theirs.consume('app-1')),
  ],
  [
    'rate limit check, 100k keys in turn',
    await measure(roundRobin((k) => ours.check(k, options))),
    await measure(roundRobin((k) => theirs.consume(k))),
  ],
]

// 1,000 IPv4 /24s and 1,000 IPv6 /48s with gaps between them (so none merge).
const nets = [
  ...Array.from({ length: 1000 }, (_, i) => `10.${(2 * i) >> 8}.${(2 * i) & 255}.0/24`),
  ...Array.from({ length: 1000 }, (_, i) => `2001:db8:${(2 * i).toString(16)}::/48`),
]
const allow = new ag.IpAllowlist(nets)
const blocks = new BlockList()
for (const n of nets) {
  const [addr, prefix] = n.split('/')
  blocks.addSubnet(addr, Number(prefix), n.includes(':') ? 'ipv6' : 'ipv4')
}
if (!allow.contains('10.3.200.7') || !blocks.check('10.3.200.7')) throw new Error('allowlists disagree')
rows.push([
  'allowlist lookup, 2,000 networks',
  await measure(() => allow.contains('10.3.200.7')),
  await measure(() => blocks.check('10.3.200.7'), 500),
])

const hasher = new ag.PasswordHasher()
const pw = 'correct horse battery staple'
const phc = await hasher.hash(pw)
if (!(await nodeRsVerify(phc, pw))) throw new Error('@node-rs/argon2 does not verify our hash')
const argon = { memoryCost: 19456, timeCost: 2, parallelism: 1 }
rows.push([
  'argon2id hash, 19 MiB, t=2, p=1 (awaited)',
  await slow(() => hasher.hash(pw)),
  await slow(() => nodeRsHash(pw, argon)),
])
rows.push([
  'argon2id verify (awaited)',
  await slow(() => hasher.verify(pw, phc)),
  await slow(() => nodeRsVerify(phc, pw)),
])

const peers = [
  'rate-limiter-flexible RateLimiterMemory',
  'rate-limiter-flexible RateLimiterMemory',
  'node:net BlockList',
  '@node-rs/argon2',
  '@node-rs/argon2',
]
const lines = [
  BEGIN,
  '',
  `Node ${process.version}; rate-limiter-flexible ${versionOf('rate-limiter-flexible')}, @node-rs/argon2 ${versionOf('@node-rs/argon2')}. ` +
    'Median of 5 rounds (argon2: of 15 calls), one call at a time, each awaited (rate-limiter-flexible returns Promises).',
  '',
  'Rate limits: a limit of 10^9 per minute, so every call is an allowed request. authgate is a token bucket',
  "(GCRA); rate-limiter-flexible's memory limiter is a fixed window.",
  '',
  '| operation | authgate | peer | speed-up |',
  '|---|---|---|---|',
  ...rows.map(
    ([name, a, p], i) => `| ${name} | ${human(a)} | ${human(p)} (${peers[i]}) | ${(p / a).toFixed(a > 1e6 ? 2 : 1)}x |`,
  ),
  '',
  END,
]
writeSection(lines, '<!-- END NODE OTP -->')
