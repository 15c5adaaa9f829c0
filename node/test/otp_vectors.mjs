// The `otp` area of the conformance vectors, through the Node package.
import assert from 'node:assert/strict'
import * as ag from '../index.mjs'
import { newStore } from './stores.mjs'
import native from '../index.js'

const RECOVERY_CODE = /^[0-9abcdefghjkmnpqrstvwxyz]{5}-[0-9abcdefghjkmnpqrstvwxyz]{5}$/

function checkError(c, e) {
  assert.ok(e instanceof ag.AuthError, `not an AuthError: ${e}`)
  assert.equal(e.code, c.expect.error.toUpperCase(), e.message)
  assert.equal(e.constructor, native[e.constructor.name])
  if (c.expect.retry_after !== undefined) assert.equal(e.retryAfter, c.expect.retry_after)
  return true
}

function expect(c, run, check = () => {}) {
  if (c.expect.error) assert.throws(run, (e) => checkError(c, e))
  else check(run(), c.expect)
}

async function expectAsync(c, run, check = () => {}) {
  if (c.expect.error) await assert.rejects(run, (e) => checkError(c, e))
  else check(await run(), c.expect)
}

const secret = (c) => (c.secret_base32 !== undefined ? c.secret_base32 : Buffer.from(c.secret_hex, 'hex'))
const options = (c) => ({
  algorithm: c.algorithm,
  digits: c.digits,
  period: c.period,
  allowShortSecret: c.allow_short_secret,
})
const totp = (c) => new ag.Totp(secret(c), options(c))
const hotp = (c) => new ag.Hotp(secret(c), { ...options(c), period: undefined })
const throttle = (t) => ({
  freeFailures: t.free_failures,
  baseDelay: t.base_delay,
  maxDelay: t.max_delay,
  forgetAfter: t.forget_after,
})

function totpScenario(c) {
  const clock = new ag.ManualClock(c.start)
  const cfg = c.config
  const store = newStore()
  const lockout = new ag.CodeLockout({ store, clock })
  const manager = new ag.TotpManager({
    issuer: cfg.issuer,
    window: cfg.window,
    throttle: throttle(cfg.throttle),
    enrollmentTtl: cfg.enrollment_ttl,
    maxFailures: cfg.max_failures,
    clock,
    store,
  })
  const pending = new Map()
  const active = new Map()
  for (const step of c.steps) {
    const account = step.account ?? ''
    const key = pending.get(account) ?? active.get(account)
    const code = () => {
      const spec = step.code
      const nowStep = Math.floor(clock.now() / 30)
      if (typeof spec === 'string' && spec !== 'wrong') return spec
      if (key === undefined) return '000000'
      const gen = new ag.Totp(key)
      if (spec === 'wrong') {
        const near = new Set([-2, -1, 0, 1, 2].map((d) => gen.atStep(nowStep + d)))
        for (let n = 0; ; n++) {
          const guess = String(n).padStart(6, '0')
          if (!near.has(guess)) return guess
        }
      }
      return gen.atStep(nowStep + spec.at)
    }
    switch (step.do) {
      case 'begin_enrollment':
        expect(
          step,
          () => manager.beginEnrollment(account),
          (e, want) => {
            assert.ok(e.uri.startsWith(want.uri_starts_with), e.uri)
            assert.equal(e.expiresAt - clock.now(), want.expires_in)
            assert.equal(ag.base32Decode(e.secret).length, want.secret_bytes)
            pending.set(account, e.secret)
          },
        )
        break
      case 'confirm_enrollment':
        expect(
          step,
          () => manager.confirmEnrollment(account, code()),
          (s) => {
            pending.delete(account)
            active.set(account, s)
          },
        )
        break
      case 'verify':
        expect(
          step,
          () => manager.verify(account, active.get(account) ?? '', code()),
          (s, want) => assert.equal(s, want.step),
        )
        break
      case 'failures':
      case 'unlock':
        lockoutStep(step, lockout)
        break
      case 'advance':
        clock.advance(step.seconds)
        break
      default:
        assert.fail(`unknown totp_scenario step ${step.do}`)
    }
  }
}

async function challengeScenario(c) {
  const clock = new ag.ManualClock(c.start)
  const cfg = c.config
  const sent = new Map()
  let failing = false
  const sender = async (d) => {
    assert.match(d.code, new RegExp(`^\\d{${cfg.digits}}$`))
    if (failing) throw new Error('gateway down')
    sent.set(d.subject, [...(sent.get(d.subject) ?? []), d.code])
  }
  const store = newStore()
  const lockout = new ag.CodeLockout({ store, clock })
  const challenges = new ag.Challenges(sender, {
    digits: cfg.digits,
    ttl: cfg.ttl,
    maxAttempts: cfg.max_attempts,
    resendCooldown: cfg.resend_cooldown,
    maxFailures: cfg.max_failures,
    clock,
    store,
  })
  for (const step of c.steps) {
    const subject = step.subject ?? ''
    switch (step.do) {
      case 'issue':
        failing = step.sender === 'fail'
        await expectAsync(
          step,
          () => challenges.issue(subject, step.destination),
          (i, want) => {
            assert.deepEqual(
              [i.expiresAt - clock.now(), i.resendAfter - clock.now(), i.attemptsLeft],
              [want.expires_in, want.resend_in, want.attempts_left],
            )
          },
        )
        break
      case 'verify': {
        const codes = sent.get(subject) ?? ['']
        const last = codes[codes.length - 1]
        const code =
          {
            sent: last,
            previous: codes[codes.length - 2],
            wrong: last.slice(0, -1) + String((Number(last.slice(-1)) + 1) % 10),
          }[step.code] ?? step.code
        expect(step, () => challenges.verify(subject, code))
        break
      }
      case 'failures':
      case 'unlock':
        lockoutStep(step, lockout)
        break
      case 'advance':
        clock.advance(step.seconds)
        break
      default:
        assert.fail(`unknown challenge_scenario step ${step.do}`)
    }
  }
}

function lockoutStep(step, lockout) {
  const account = step.account ?? step.subject ?? step.user ?? ''
  if (step.do === 'failures')
    expect(
      step,
      () => lockout.failures(account),
      (n, want) => assert.equal(n, want.count),
    )
  else
    expect(
      step,
      () => lockout.unlock(account),
      (r, want) => assert.equal(r, want.result),
    )
}

function recoveryScenario(c) {
  const clock = new ag.ManualClock(c.start)
  const store = newStore()
  const lockout = new ag.CodeLockout({ store, clock })
  const codes = new ag.RecoveryCodes({
    count: c.config.count,
    throttle: throttle(c.config.throttle),
    maxFailures: c.config.max_failures,
    clock,
    store,
  })
  const sets = new Map()
  for (const step of c.steps) {
    const user = step.user ?? ''
    switch (step.do) {
      case 'generate':
        expect(
          step,
          () => codes.generate(user),
          (set, want) => {
            assert.ok(
              set.every((x) => RECOVERY_CODE.test(x)),
              String(set),
            )
            assert.equal(new Set(set).size, want.count)
            sets.set(user, [...(sets.get(user) ?? []), set])
          },
        )
        break
      case 'verify': {
        let code = step.code
        if (typeof code !== 'string') {
          const shown = sets.get(user)[code.set][code.index]
          code = {
            shown,
            upper_no_hyphen: shown.replace('-', '').toUpperCase(),
            spaces: ` ${shown.replace('-', ' ')} `,
          }[code.form]
        }
        expect(
          step,
          () => codes.verify(user, code),
          (n, want) => assert.equal(n, want.remaining),
        )
        break
      }
      case 'remaining':
        expect(
          step,
          () => codes.remaining(user),
          (n, want) => assert.equal(n, want.remaining),
        )
        break
      case 'failures':
      case 'unlock':
        lockoutStep(step, lockout)
        break
      case 'advance':
        clock.advance(step.seconds)
        break
      default:
        assert.fail(`unknown recovery_scenario step ${step.do}`)
    }
  }
}

export function otp(c) {
  switch (c.op) {
    case 'hotp':
      return expect(
        c,
        () => hotp(c).at(c.counter),
        (g, e) => assert.equal(g, e.code),
      )
    case 'totp':
      return expect(
        c,
        () => totp(c),
        (g, e) => assert.deepEqual([g.at(c.time), g.step(c.time)], [e.code, e.step]),
      )
    case 'totp_verify':
      return expect(
        c,
        () => totp(c).verify(c.code, { time: c.time, window: c.window, lastStep: c.last_step }),
        (g, e) => assert.equal(g, e.step),
      )
    case 'hotp_verify':
      return expect(
        c,
        () => hotp(c).verify(c.code, c.counter, c.look_ahead),
        (g, e) => assert.equal(g, e.next_counter),
      )
    case 'base32_encode':
      return assert.equal(ag.base32Encode(Buffer.from(c.hex, 'hex')), c.expect.text)
    case 'base32_decode':
      return expect(
        c,
        () => ag.base32Decode(c.text),
        (g, e) => assert.equal(g.toString('hex'), e.hex),
      )
    case 'uri_build':
      return expect(
        c,
        () => new ag.Totp(Buffer.from(c.secret_hex, 'hex'), options(c)).provisioningUri(c.account, c.issuer),
        (g, e) => assert.equal(g, e.uri),
      )
    case 'uri_parse':
      return expect(
        c,
        () => ag.parseOtpauthUri(c.uri, c.allow_short_secret),
        (p, e) => {
          const got = {
            kind: p.kind,
            account: p.account,
            issuer: p.issuer ?? null,
            secret_hex: ag.base32Decode(p.secret).toString('hex'),
            algorithm: p.algorithm,
            digits: p.digits,
            period: p.period,
          }
          if (p.counter !== undefined && p.counter !== null) got.counter = p.counter
          assert.deepEqual(got, { ...e, issuer: e.issuer ?? null })
        },
      )
    case 'totp_scenario':
      return totpScenario(c)
    case 'challenge_scenario':
      return challengeScenario(c)
    case 'recovery_scenario':
      return recoveryScenario(c)
    default:
      assert.fail(`unknown otp op ${c.op}`)
  }
}
