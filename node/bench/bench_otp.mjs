// authgate's TOTP beside otplib, in one run: generate a code, and verify one with a window
// of ±1 step (otplib's epochTolerance of one period). The TotpManager row adds what otplib
// leaves to the application: the throttle and replay checks in the store. Writes its table
// into docs/benchmarks.md; run by `make bench`.
import { readFileSync } from 'node:fs'
import { generateSync, verifySync } from 'otplib'
import * as ag from '../index.mjs'
import { fmt, measure, writeSection } from './measure.mjs'

const otplibVersion = JSON.parse(
  readFileSync(new URL('../node_modules/otplib/package.json', import.meta.url), 'utf8'),
).version
const [BEGIN, END] = ['<!-- BEGIN NODE OTP (make bench) -->', '<!-- END NODE OTP -->']
const NOW = 1_700_000_000

const secret = ag.generateOtpSecret()
const totp = new ag.Totp(secret)
const code = totp.at(NOW)
if (
  generateSync({ secret, epoch: NOW }) !== code ||
  !verifySync({ secret, token: code, epoch: NOW, epochTolerance: 30 }).valid
) {
  throw new Error('otplib and authgate disagree')
}

const clock = new ag.ManualClock(NOW)
const manager = new ag.TotpManager({ clock })
const managed =
  (await measure(() => {
    clock.advance(30) // each accepted code must be of a later step
    try {
      manager.verify('alice', secret, totp.at(clock.now()))
    } catch (e) {
      if (!(e instanceof ag.CodeReused)) throw e // neighbouring steps share a code one time in a million
    }
  })) - (await measure(() => totp.at(NOW)))

const rows = [
  ['TOTP generate', await measure(() => totp.at(NOW)), await measure(() => generateSync({ secret, epoch: NOW }))],
  [
    'TOTP verify, window ±1',
    await measure(() => totp.verify(code, { time: NOW, window: 1 })),
    await measure(() => verifySync({ secret, token: code, epoch: NOW, epochTolerance: 30 })),
  ],
]
const lines = [
  BEGIN,
  '',
  `Node ${process.version}; otplib ${otplibVersion}. Median of 5 rounds, one call at a time. SHA1, 6 digits, 30 s.`,
  '',
  '| operation | authgate | otplib | speed-up |',
  '|---|---|---|---|',
  ...rows.map(([name, ours, theirs]) => `| ${name} | ${fmt(ours)} | ${fmt(theirs)} | ${(theirs / ours).toFixed(1)}x |`),
  `| TotpManager.verify (throttle + replay in the in-memory store) | ${fmt(managed)} | – | |`,
  '',
  END,
]
writeSection(lines, '<!-- END NODE SIGNATURES -->')
