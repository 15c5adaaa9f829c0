// authgate's rate limiter, allowlist and password hashing beside what Node users would
// otherwise pick, in one run: rate-limiter-flexible (RateLimiterMemory), node:net's
// BlockList, and @node-rs/argon2 with the same argon2id parameters. Writes its table into
// docs/benchmarks.md; run by `make bench`.
import { readFileSync } from 'node:fs'
import { BlockList } from 'node:net'
import { hash as nodeRsHash, verify as nodeRsVerify } from '@node-rs/argon2'
import { RateLimiterMemory } from 'rate-limiter-flexible'
import * as ag from '../index.mjs'
import { compare, fmt, ratio, writeSection } from './measure.mjs'

const versionOf = (name) =>
  JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version
const [BEGIN, END] = ['<!-- BEGIN NODE LIMITS (make bench) -->', '<!-- END NODE LIMITS -->']
const KEYS = Array.from({ length: 100_000 }, (_, i) => `app-${i}`)
const one = (median) => ({ median, lo: median, hi: median })
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

function roundRobin(hit, n = KEYS.length) {
  let i = 0
  return () => {
    i = (i + 1) % n
    return hit(KEYS[i])
  }
}

// A limit no check in the run reaches: every call is an allowed request.
const ours = new ag.RateLimiter()
ours.setPolicy('api', '1000000000/minute')
ours.setPolicy('spent', '1/hour')
const theirs = new RateLimiterMemory({ points: 1_000_000_000, duration: 60 })
const theirsSpent = new RateLimiterMemory({ points: 1, duration: 3600 })
if (!ours.check('app-1', { policy: 'api' }).allowed) throw new Error('refused')
await theirs.consume('app-1')
const options = { policy: 'api' }
const spent = { policy: 'spent' }
ours.check('spent-1', spent)
await theirsSpent.consume('spent-1')
if (ours.check('spent-1', spent).allowed) throw new Error('the spent key was allowed')
let refused = 0
const refusedEnforce = () => {
  try {
    ours.enforce('spent-1', spent)
  } catch (e) {
    if (e.code === 'RATE_LIMITED') refused++
  }
}
refusedEnforce()
if (refused !== 1) throw new Error('enforce did not throw RateLimited')
// rate-limiter-flexible refuses by rejecting its Promise: its users catch it.
const theirsRefused = () =>
  theirsSpent.consume('spent-1').then(
    () => {
      throw new Error('the spent key was allowed')
    },
    () => {},
  )
const pair = async (name, a, b, peer) => {
  const [x, y] = await compare([a, b])
  return { name, ours: x, theirs: y, peer }
}
const RLF = 'rate-limiter-flexible RateLimiterMemory'
const rows = [
  await pair(
    'rate limit check, one hot key, allowed',
    () => ours.check('app-1', options),
    () => theirs.consume('app-1'),
    RLF,
  ),
  await pair(
    'rate limit check, 10k keys in turn',
    roundRobin((k) => ours.check(k, options), 10_000),
    roundRobin((k) => theirs.consume(k), 10_000),
    RLF,
  ),
  await pair(
    'rate limit check, 100k keys in turn',
    roundRobin((k) => ours.check(k, options)),
    roundRobin((k) => theirs.consume(k)),
    RLF,
  ),
  await pair('rate limit check, refused (`check`: a decision)', () => ours.check('spent-1', spent), theirsRefused, RLF),
  await pair('rate limit refused by `enforce` (throws RateLimited)', refusedEnforce, theirsRefused, RLF),
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
rows.push(
  await pair(
    'allowlist lookup, 2,000 networks',
    () => allow.contains('10.3.200.7'),
    () => blocks.check('10.3.200.7'),
    'node:net BlockList',
  ),
)

const hasher = new ag.PasswordHasher()
const pw = 'correct horse battery staple'
const phc = await hasher.hash(pw)
if (!(await nodeRsVerify(phc, pw))) throw new Error('@node-rs/argon2 does not verify our hash')
const argon = { memoryCost: 19456, timeCost: 2, parallelism: 1 }
rows.push({
  name: 'argon2id hash, 19 MiB, t=2, p=1 (awaited)',
  ours: one(await slow(() => hasher.hash(pw))),
  theirs: one(await slow(() => nodeRsHash(pw, argon))),
  peer: '@node-rs/argon2',
})
rows.push({
  name: 'argon2id verify (awaited)',
  ours: one(await slow(() => hasher.verify(pw, phc))),
  theirs: one(await slow(() => nodeRsVerify(phc, pw))),
  peer: '@node-rs/argon2',
})

const lines = [
  BEGIN,
  '',
  `Node ${process.version}; rate-limiter-flexible ${versionOf('rate-limiter-flexible')}, @node-rs/argon2 ${versionOf('@node-rs/argon2')}. ` +
    'Median of 7 interleaved rounds, [slowest–fastest ratio over the rounds]; synchronous calls timed in a plain loop, ' +
    "Promises (rate-limiter-flexible's) awaited one at a time; argon2: the median of 15 awaited calls.",
  '',
  'Rate limits: a limit of 10^9 per minute, so every call is an allowed request. authgate is a token bucket',
  "(GCRA); rate-limiter-flexible's memory limiter is a fixed window.",
  '',
  '| operation | authgate | peer | speed-up |',
  '|---|---|---|---|',
  ...rows.map(
    ({ name, ours: a, theirs: p, peer }) =>
      `| ${name} | ${human(a.median)} | ${human(p.median)} (${peer}) | ${a.lo === a.hi ? `${(p.median / a.median).toFixed(2)}x` : ratio(a, p)} |`,
  ),
  '',
  END,
]
writeSection(lines, '<!-- END NODE OTP -->')
