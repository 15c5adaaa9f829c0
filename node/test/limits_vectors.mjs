// The ratelimit, allowlist and password areas of the conformance vectors, through the Node package.
import assert from 'node:assert/strict'
import * as ag from '../index.mjs'
import { newStore } from './stores.mjs'

function expect(c, run, check = () => {}) {
  if (c.expect.error) {
    assert.throws(run, (e) => {
      assert.ok(e instanceof ag.AuthError, `not an AuthError: ${e}`)
      assert.equal(e.code, c.expect.error.toUpperCase(), e.message)
      if (c.expect.retry_after !== undefined) assert.equal(e.retryAfter ?? null, c.expect.retry_after)
      return true
    })
  } else {
    check(run(), c.expect)
  }
}

const policyOf = (p) => ({ limit: p.limit ?? 0, periodMs: p.period_ms ?? 0, burst: p.burst })

function decisionMatches(d, want) {
  const got = {
    allowed: d.allowed,
    outcome: d.outcome,
    remaining: d.remaining,
    reset_after_ms: d.resetAfterMs,
    retry_after_ms: d.retryAfterMs ?? null,
  }
  for (const k of Object.keys(got)) if (k in want) assert.equal(got[k], want[k], k)
  for (const [name, value] of Object.entries(want.headers ?? {})) assert.equal(d.headers[name] ?? null, value, name)
}

export function runRatelimit(c) {
  if (c.op === 'policy') return expect(c, () => new ag.RateLimiter().setPolicy('p', policyOf(c.policy)))
  assert.equal(c.op, 'scenario')
  const clock = new ag.ManualClock(0)
  clock.advanceMs(c.start_ms)
  const limiter = new ag.RateLimiter({ clock, store: newStore() })
  for (const [name, p] of Object.entries(c.policies ?? {})) limiter.setPolicy(name, policyOf(p))
  for (const o of c.overrides ?? []) limiter.setOverride(o.policy, o.key, policyOf(o))
  for (const step of c.steps) {
    const options = { policy: step.policy, cost: step.cost }
    if (step.do === 'check') expect(step, () => limiter.check(step.key, options), decisionMatches)
    else if (step.do === 'peek') expect(step, () => limiter.peek(step.key, { policy: step.policy }), decisionMatches)
    else if (step.do === 'enforce') expect(step, () => limiter.enforce(step.key, options))
    else if (step.do === 'set_policy') expect(step, () => limiter.setPolicy(step.name, policyOf(step.policy)))
    else if (step.do === 'advance_ms') clock.advanceMs(step.ms)
    else assert.fail(`unknown step ${step.do}`)
  }
}

export function runAllowlist(c) {
  switch (c.op) {
    case 'parse_network':
      return expect(
        c,
        () => ag.parseNetwork(c.text),
        (n, w) => assert.equal(n, w.network),
      )
    case 'contains':
      return expect(
        c,
        () => new ag.IpAllowlist(c.entries, { allowAny: c.allow_any }).contains(c.ip),
        (r, w) => assert.equal(r, w.result),
      )
    case 'check':
      return expect(c, () => new ag.IpAllowlist(c.entries, { allowAny: c.allow_any }).check(c.ip))
    case 'client_ip':
      return expect(
        c,
        () => new ag.ClientIpResolver(c.trusted, { header: c.header }).resolve(c.peer, c.values),
        (ip, w) => assert.equal(ip, w.ip),
      )
    default:
      assert.fail(`unknown allowlist op ${c.op}`)
  }
}

function passwordPolicy(c) {
  const blocklist = c.blocklist ?? []
  if (c.policy === 'nist') return ag.PasswordPolicy.nist({ blocklist })
  if (typeof c.policy === 'object') {
    const p = c.policy
    return new ag.PasswordPolicy({
      minLength: p.min_length,
      maxLength: p.max_length,
      requireUppercase: p.require_uppercase,
      requireLowercase: p.require_lowercase,
      requireDigit: p.require_digit,
      requireSymbol: p.require_symbol,
      commonPasswords: p.common_passwords,
      blocklist,
    })
  }
  return new ag.PasswordPolicy({ blocklist })
}

const hasher = new ag.PasswordHasher()

export async function runPassword(c) {
  switch (c.op) {
    case 'policy_check':
      return expect(
        c,
        () => passwordPolicy(c).check(c.password, c.context),
        (got, want) =>
          assert.deepEqual(
            got.map((v) => v.code),
            want.violations,
          ),
      )
    case 'enforce':
      return expect(c, () => passwordPolicy(c).enforce(c.password, c.context))
    case 'verify':
    case 'needs_rehash': {
      const run = c.op === 'verify' ? () => hasher.verify(c.password, c.hash) : async () => hasher.needsRehash(c.hash)
      if (c.expect.error) {
        await assert.rejects(run, (e) => e instanceof ag.AuthError && e.code === c.expect.error.toUpperCase())
      } else {
        assert.equal(await run(), c.expect.result)
      }
      return undefined
    }
    default:
      assert.fail(`unknown password op ${c.op}`)
  }
}
