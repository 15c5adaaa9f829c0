// Writes tests/vectors/otp/cases.json.
//
// Independent of authgate: every code below is computed here with node:crypto's HMAC and
// RFC 4226 §5.3 truncation, and base32 is written out by this script, so the Rust core and
// every binding are checked against values they did not produce. The scenarios hold no
// computed values. `node tests/vectors/tools/otp_cases.mjs --check` fails if the committed
// file differs from what this script writes.
import { createHmac } from 'node:crypto'
import { writeVectors } from './write.mjs'

const hotp = (secret, counter, digits = 6, alg = 'sha1') => {
  const msg = Buffer.alloc(8)
  msg.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac(alg, secret).update(msg).digest()
  const offset = mac[mac.length - 1] & 0x0f
  const bin = mac.readUInt32BE(offset) & 0x7fffffff
  return String(bin % 10 ** digits).padStart(digits, '0')
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
const base32 = (buf) => {
  let bits = ''
  for (const b of buf) bits += b.toString(2).padStart(8, '0')
  let out = ''
  for (let i = 0; i < bits.length; i += 5) out += B32[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)]
  return out
}

const S20 = Buffer.from('authgate-otp-test-01')
const S10 = Buffer.from('short-key!')
const hex = (b) => b.toString('hex')
const NOW = 1700000000
const STEP = Math.floor(NOW / 30)

const generation = [
  {
    name: 'default TOTP (SHA1, 6 digits, 30 s)',
    op: 'totp',
    secret_hex: hex(S20),
    time: NOW,
    expect: { code: hotp(S20, STEP), step: STEP },
  },
  {
    name: 'last second of a step',
    op: 'totp',
    secret_hex: hex(S20),
    time: (STEP + 1) * 30 - 1,
    expect: { code: hotp(S20, STEP), step: STEP },
  },
  {
    name: 'first second of the next step',
    op: 'totp',
    secret_hex: hex(S20),
    time: (STEP + 1) * 30,
    expect: { code: hotp(S20, STEP + 1), step: STEP + 1 },
  },
  {
    name: 'SHA256, 6 digits',
    op: 'totp',
    secret_hex: hex(S20),
    algorithm: 'SHA256',
    time: NOW,
    expect: { code: hotp(S20, STEP, 6, 'sha256'), step: STEP },
  },
  {
    name: 'SHA512, 7 digits',
    op: 'totp',
    secret_hex: hex(S20),
    algorithm: 'SHA512',
    digits: 7,
    time: NOW,
    expect: { code: hotp(S20, STEP, 7, 'sha512'), step: STEP },
  },
  {
    name: '60-second period',
    op: 'totp',
    secret_hex: hex(S20),
    period: 60,
    time: NOW,
    expect: { code: hotp(S20, Math.floor(NOW / 60)), step: Math.floor(NOW / 60) },
  },
  {
    name: 'secret given as lower-case base32 with spaces',
    op: 'totp',
    secret_base32: base32(S20)
      .toLowerCase()
      .replace(/(.{4})/g, '$1 '),
    time: NOW,
    expect: { code: hotp(S20, STEP), step: STEP },
  },
  {
    name: 'an 80-bit secret with allow_short_secret',
    op: 'totp',
    secret_hex: hex(S10),
    allow_short_secret: true,
    time: NOW,
    expect: { code: hotp(S10, STEP), step: STEP },
  },
  {
    name: 'an 80-bit secret without allow_short_secret',
    op: 'totp',
    secret_hex: hex(S10),
    time: NOW,
    expect: { error: 'weak_key' },
  },
  {
    name: 'a 72-bit secret even with allow_short_secret',
    op: 'totp',
    secret_hex: hex(S10.subarray(0, 9)),
    allow_short_secret: true,
    time: NOW,
    expect: { error: 'weak_key' },
  },
  {
    name: 'a secret longer than 1024 bits',
    op: 'totp',
    secret_hex: 'ab'.repeat(129),
    time: NOW,
    expect: { error: 'invalid_key' },
  },
  { name: '5 digits', op: 'totp', secret_hex: hex(S20), digits: 5, time: NOW, expect: { error: 'invalid_input' } },
  { name: '9 digits', op: 'totp', secret_hex: hex(S20), digits: 9, time: NOW, expect: { error: 'invalid_input' } },
  { name: 'a zero period', op: 'totp', secret_hex: hex(S20), period: 0, time: NOW, expect: { error: 'invalid_input' } },
  {
    name: 'an unknown algorithm',
    op: 'totp',
    secret_hex: hex(S20),
    algorithm: 'MD5',
    time: NOW,
    expect: { error: 'invalid_input' },
  },
  {
    name: 'a secret that is not base32',
    op: 'totp',
    secret_base32: 'JBSWY3DP18',
    time: NOW,
    expect: { error: 'invalid_key' },
  },
  {
    name: 'HOTP, 8 digits, SHA256',
    op: 'hotp',
    secret_hex: hex(S20),
    algorithm: 'SHA256',
    digits: 8,
    counter: 42,
    expect: { code: hotp(S20, 42, 8, 'sha256') },
  },
]

const code = (offset, digits = 6) => hotp(S20, STEP + offset, digits)
// Two neighbouring steps of S20 that share a code (found by scanning forward from STEP).
const TWIN = 57349742
if (hotp(S20, TWIN) !== hotp(S20, TWIN + 1)) throw new Error('TWIN steps no longer share a code')
const verify = (name, extra, expect) => ({ name, op: 'totp_verify', secret_hex: hex(S20), time: NOW, ...extra, expect })
const verification = [
  verify('the current code', { code: code(0) }, { step: STEP }),
  verify('the previous step, window 1', { code: code(-1) }, { step: STEP - 1 }),
  verify('the next step, window 1', { code: code(1) }, { step: STEP + 1 }),
  verify('two steps back, window 1', { code: code(-2) }, { error: 'invalid_code' }),
  verify('two steps back, window 2', { code: code(-2), window: 2 }, { step: STEP - 2 }),
  verify('the previous step, window 0', { code: code(-1), window: 0 }, { error: 'invalid_code' }),
  verify('a code typed with a space', { code: `${code(0).slice(0, 3)} ${code(0).slice(3)}` }, { step: STEP }),
  verify('the step already accepted', { code: code(0), last_step: STEP }, { error: 'code_reused' }),
  verify('a step before the one accepted', { code: code(-1), last_step: STEP }, { error: 'code_reused' }),
  verify('the step after the one accepted', { code: code(0), last_step: STEP - 1 }, { step: STEP }),
  verify('five digits', { code: code(0).slice(1) }, { error: 'invalid_code' }),
  verify('seven digits', { code: `${code(0)}1` }, { error: 'invalid_code' }),
  verify('letters', { code: 'abcdef' }, { error: 'invalid_code' }),
  verify('empty', { code: '' }, { error: 'invalid_code' }),
  verify('an 8-digit code', { digits: 8, code: code(0, 8) }, { step: STEP }),
  verify(
    'neighbouring steps share the code: the later one is reported',
    { code: hotp(S20, TWIN), time: (TWIN + 1) * 30 },
    { step: TWIN + 1 },
  ),
  verify(
    'neighbouring steps share the code, the earlier one accepted before',
    { code: hotp(S20, TWIN), time: (TWIN + 1) * 30, last_step: TWIN },
    { step: TWIN + 1 },
  ),
  verify(
    'neighbouring steps share the code, the later one accepted before',
    { code: hotp(S20, TWIN), time: (TWIN + 1) * 30, last_step: TWIN + 1 },
    { error: 'code_reused' },
  ),
  verify('a window too large', { code: code(0), window: 21 }, { error: 'invalid_input' }),
  {
    name: 'HOTP: the expected counter',
    op: 'hotp_verify',
    secret_hex: hex(S20),
    counter: 5,
    code: hotp(S20, 5),
    expect: { next_counter: 6 },
  },
  {
    name: 'HOTP: within the look-ahead',
    op: 'hotp_verify',
    secret_hex: hex(S20),
    counter: 5,
    look_ahead: 5,
    code: hotp(S20, 8),
    expect: { next_counter: 9 },
  },
  {
    name: 'HOTP: past the look-ahead',
    op: 'hotp_verify',
    secret_hex: hex(S20),
    counter: 5,
    look_ahead: 5,
    code: hotp(S20, 11),
    expect: { error: 'invalid_code' },
  },
  {
    name: 'HOTP: a counter already used',
    op: 'hotp_verify',
    secret_hex: hex(S20),
    counter: 5,
    code: hotp(S20, 4),
    expect: { error: 'invalid_code' },
  },
  {
    name: 'HOTP: a look-ahead too large',
    op: 'hotp_verify',
    secret_hex: hex(S20),
    counter: 5,
    look_ahead: 21,
    code: hotp(S20, 5),
    expect: { error: 'invalid_input' },
  },
]

const encoding = [
  { name: 'RFC 4648: foobar', op: 'base32_encode', hex: hex(Buffer.from('foobar')), expect: { text: 'MZXW6YTBOI' } },
  { name: 'RFC 4648: fooba', op: 'base32_encode', hex: hex(Buffer.from('fooba')), expect: { text: 'MZXW6YTB' } },
  { name: 'a 20-byte secret', op: 'base32_encode', hex: hex(S20), expect: { text: base32(S20) } },
  { name: 'RFC 4648 with padding', op: 'base32_decode', text: 'MZXW6YQ=', expect: { hex: hex(Buffer.from('foob')) } },
  { name: 'without padding', op: 'base32_decode', text: 'MZXW6YQ', expect: { hex: hex(Buffer.from('foob')) } },
  {
    name: 'lower case, spaces and hyphens',
    op: 'base32_decode',
    text: 'jbsw y3dp-ehpk 3pxp',
    expect: { hex: '48656c6c6f21deadbeef' },
  },
  { name: 'a digit outside the alphabet', op: 'base32_decode', text: 'JBSWY3DP1', expect: { error: 'invalid_key' } },
  { name: 'padding in the middle', op: 'base32_decode', text: 'MZ=XW6YQ', expect: { error: 'invalid_key' } },
  { name: 'an impossible length', op: 'base32_decode', text: 'MZX', expect: { error: 'invalid_key' } },
]

const B = base32(S20)
const uris = [
  {
    name: 'issuer as label prefix and parameter, escaped',
    op: 'uri_build',
    secret_hex: hex(S20),
    account: 'alice@example.com',
    issuer: 'ACME Co',
    expect: { uri: `otpauth://totp/ACME%20Co:alice%40example.com?secret=${B}&issuer=ACME%20Co` },
  },
  {
    name: 'no issuer',
    op: 'uri_build',
    secret_hex: hex(S20),
    account: 'alice',
    expect: { uri: `otpauth://totp/alice?secret=${B}` },
  },
  {
    name: 'an account starting with a space (a parser would drop it)',
    op: 'uri_build',
    secret_hex: hex(S20),
    account: ' alice',
    expect: { error: 'invalid_input' },
  },
  {
    name: 'non-default parameters',
    op: 'uri_build',
    secret_hex: hex(S20),
    account: 'bob',
    issuer: 'Ex&ample',
    algorithm: 'SHA256',
    digits: 8,
    period: 60,
    expect: { uri: `otpauth://totp/Ex%26ample:bob?secret=${B}&issuer=Ex%26ample&algorithm=SHA256&digits=8&period=60` },
  },
  {
    name: 'non-ASCII names are UTF-8 escaped',
    op: 'uri_build',
    secret_hex: hex(S20),
    account: 'zoë',
    issuer: 'Café',
    expect: { uri: `otpauth://totp/Caf%C3%A9:zo%C3%AB?secret=${B}&issuer=Caf%C3%A9` },
  },
  {
    name: 'a colon in the issuer',
    op: 'uri_build',
    secret_hex: hex(S20),
    account: 'alice',
    issuer: 'a:b',
    expect: { error: 'invalid_input' },
  },
  { name: 'an empty account', op: 'uri_build', secret_hex: hex(S20), account: '', expect: { error: 'invalid_input' } },
  { name: 'a short secret', op: 'uri_build', secret_hex: hex(S10), account: 'alice', expect: { error: 'weak_key' } },
  {
    name: 'the Key URI format example (80-bit secret, opted in)',
    op: 'uri_parse',
    allow_short_secret: true,
    uri: 'otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example',
    expect: {
      kind: 'totp',
      account: 'alice@google.com',
      issuer: 'Example',
      secret_hex: '48656c6c6f21deadbeef',
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    },
  },
  {
    name: 'the same without opting in to short secrets',
    op: 'uri_parse',
    uri: 'otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example',
    expect: { error: 'weak_key' },
  },
  {
    name: 'a built URI parses back',
    op: 'uri_parse',
    uri: `otpauth://totp/Ex%26ample:bob?secret=${B}&issuer=Ex%26ample&algorithm=SHA256&digits=8&period=60`,
    expect: {
      kind: 'totp',
      account: 'bob',
      issuer: 'Ex&ample',
      secret_hex: hex(S20),
      algorithm: 'SHA256',
      digits: 8,
      period: 60,
    },
  },
  {
    name: 'issuer only in the label, escaped separator, space before the account',
    op: 'uri_parse',
    uri: `otpauth://TOTP/ACME%20Co%3A%20alice?secret=${B.toLowerCase()}`,
    expect: {
      kind: 'totp',
      account: 'alice',
      issuer: 'ACME Co',
      secret_hex: hex(S20),
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    },
  },
  {
    name: 'issuer only as a parameter; unknown parameters ignored',
    op: 'uri_parse',
    uri: `otpauth://totp/alice?secret=${B}&issuer=ACME&image=https%3A%2F%2Fexample.com%2Fa.png`,
    expect: {
      kind: 'totp',
      account: 'alice',
      issuer: 'ACME',
      secret_hex: hex(S20),
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    },
  },
  {
    name: 'hotp with a counter',
    op: 'uri_parse',
    uri: `otpauth://hotp/ACME:alice?secret=${B}&issuer=ACME&counter=7&algorithm=sha512`,
    expect: {
      kind: 'hotp',
      counter: 7,
      account: 'alice',
      issuer: 'ACME',
      secret_hex: hex(S20),
      algorithm: 'SHA512',
      digits: 6,
      period: 30,
    },
  },
  {
    name: 'hotp without a counter',
    op: 'uri_parse',
    uri: `otpauth://hotp/alice?secret=${B}`,
    expect: { error: 'invalid_input' },
  },
  {
    name: 'issuers that differ',
    op: 'uri_parse',
    uri: `otpauth://totp/ACME:alice?secret=${B}&issuer=Evil`,
    expect: { error: 'invalid_input' },
  },
  {
    name: 'no secret',
    op: 'uri_parse',
    uri: 'otpauth://totp/ACME:alice?issuer=ACME',
    expect: { error: 'invalid_input' },
  },
  {
    name: 'a repeated secret',
    op: 'uri_parse',
    uri: `otpauth://totp/alice?secret=${B}&secret=${B}`,
    expect: { error: 'invalid_input' },
  },
  {
    name: 'another scheme',
    op: 'uri_parse',
    uri: `https://totp/alice?secret=${B}`,
    expect: { error: 'invalid_input' },
  },
  {
    name: 'an unknown type',
    op: 'uri_parse',
    uri: `otpauth://motp/alice?secret=${B}`,
    expect: { error: 'invalid_input' },
  },
  {
    name: 'an unknown algorithm',
    op: 'uri_parse',
    uri: `otpauth://totp/alice?secret=${B}&algorithm=MD5`,
    expect: { error: 'invalid_input' },
  },
  {
    name: 'ten digits',
    op: 'uri_parse',
    uri: `otpauth://totp/alice?secret=${B}&digits=10`,
    expect: { error: 'invalid_input' },
  },
  {
    name: 'a period that is not a number',
    op: 'uri_parse',
    uri: `otpauth://totp/alice?secret=${B}&period=3O`,
    expect: { error: 'invalid_input' },
  },
  {
    name: 'a broken %-escape',
    op: 'uri_parse',
    uri: `otpauth://totp/al%zzice?secret=${B}`,
    expect: { error: 'invalid_input' },
  },
  {
    name: 'a secret that is not base32',
    op: 'uri_parse',
    uri: 'otpauth://totp/alice?secret=JBSWY3DP18JBSWY3DP18JBSWY3DP18',
    expect: { error: 'invalid_key' },
  },
  {
    name: 'spaces before an account without an issuer prefix are dropped too (found by fuzzing)',
    op: 'uri_parse',
    uri: `otpauth://totp/%20%20alice?secret=${B}&issuer=ACME`,
    expect: {
      kind: 'totp',
      account: 'alice',
      issuer: 'ACME',
      secret_hex: hex(S20),
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    },
  },
  {
    name: 'an empty account',
    op: 'uri_parse',
    uri: `otpauth://totp/ACME:?secret=${B}`,
    expect: { error: 'invalid_input' },
  },
]

// Scenarios: one manager on an in-memory store and a manual clock starting at `start`.
// Code specs: {"at": k} is the account's code k steps from now (its pending secret while one
// is pending, else its confirmed one); "wrong" is the first six-digit string that no step
// within the window ±1 of now accepts; any other string is sent as typed.
const throttle = { free_failures: 3, base_delay: 30, max_delay: 120, forget_after: 3600 }
const totpScenario = {
  name: 'enrollment, replay prevention and throttling',
  op: 'totp_scenario',
  start: NOW,
  config: { issuer: 'ACME Co', window: 1, throttle, enrollment_ttl: 600 },
  steps: [
    { do: 'confirm_enrollment', account: 'alice', code: '123456', expect: { error: 'code_expired' } },
    {
      do: 'begin_enrollment',
      account: 'alice',
      expect: { uri_starts_with: 'otpauth://totp/ACME%20Co:alice?secret=', expires_in: 600, secret_bytes: 20 },
    },
    { do: 'confirm_enrollment', account: 'alice', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'confirm_enrollment', account: 'alice', code: { at: 0 }, expect: {} },
    { do: 'confirm_enrollment', account: 'alice', code: { at: 0 }, expect: { error: 'code_expired' } },
    { do: 'verify', account: 'alice', code: { at: 0 }, expect: { error: 'code_reused' } },
    { do: 'advance', seconds: 30 },
    { do: 'verify', account: 'alice', code: { at: -1 }, expect: { error: 'code_reused' } },
    { do: 'verify', account: 'alice', code: { at: 0 }, expect: { step: STEP + 1 } },
    { do: 'verify', account: 'alice', code: { at: 0 }, expect: { error: 'code_reused' } },
    { do: 'verify', account: 'alice', code: { at: 1 }, expect: { step: STEP + 2 } },
    { do: 'verify', account: 'alice', code: { at: 0 }, expect: { error: 'code_reused' } },
    { do: 'verify', account: 'alice', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'verify', account: 'alice', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'verify', account: 'alice', code: { at: 2 }, expect: { error: 'too_many_attempts', retry_after: 30 } },
    { do: 'advance', seconds: 10 },
    { do: 'verify', account: 'alice', code: { at: 0 }, expect: { error: 'too_many_attempts', retry_after: 20 } },
    { do: 'advance', seconds: 20 },
    { do: 'verify', account: 'alice', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'verify', account: 'alice', code: { at: 1 }, expect: { error: 'too_many_attempts', retry_after: 60 } },
    { do: 'advance', seconds: 60 },
    { do: 'verify', account: 'alice', code: { at: 0 }, expect: { step: STEP + 4 } },
    { do: 'verify', account: 'alice', code: 'wrong', expect: { error: 'invalid_code' } },
    {
      do: 'begin_enrollment',
      account: 'bob',
      expect: { uri_starts_with: 'otpauth://totp/ACME%20Co:bob?secret=', expires_in: 600, secret_bytes: 20 },
    },
    { do: 'advance', seconds: 601 },
    { do: 'confirm_enrollment', account: 'bob', code: { at: 0 }, expect: { error: 'code_expired' } },
    { do: 'begin_enrollment', account: '', expect: { error: 'invalid_input' } },
  ],
}

// Code specs: "sent" is the last code the sender got for the subject, "previous" the one
// before it, "wrong" the sent code with its last digit changed; other strings as typed.
const challengeScenario = {
  name: 'SMS codes: consume, lock, resend cooldown, failed delivery',
  op: 'challenge_scenario',
  start: NOW,
  config: { digits: 6, ttl: 300, max_attempts: 3, resend_cooldown: 30 },
  steps: [
    { do: 'verify', subject: 'login:alice', code: '123456', expect: { error: 'code_expired' } },
    {
      do: 'issue',
      subject: 'login:alice',
      destination: '+15550100',
      expect: { expires_in: 300, resend_in: 30, attempts_left: 3 },
    },
    {
      do: 'issue',
      subject: 'login:alice',
      destination: '+15550100',
      expect: { error: 'resend_too_soon', retry_after: 30 },
    },
    { do: 'verify', subject: 'login:alice', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'verify', subject: 'login:alice', code: 'sent', expect: {} },
    { do: 'verify', subject: 'login:alice', code: 'sent', expect: { error: 'code_expired' } },
    { do: 'advance', seconds: 30 },
    {
      do: 'issue',
      subject: 'login:alice',
      destination: '+15550100',
      expect: { expires_in: 300, resend_in: 30, attempts_left: 3 },
    },
    { do: 'advance', seconds: 300 },
    { do: 'verify', subject: 'login:alice', code: 'sent', expect: { error: 'code_expired' } },
    {
      do: 'issue',
      subject: 'login:alice',
      destination: '+15550100',
      expect: { expires_in: 300, resend_in: 30, attempts_left: 3 },
    },
    { do: 'verify', subject: 'login:alice', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'verify', subject: 'login:alice', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'verify', subject: 'login:alice', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'verify', subject: 'login:alice', code: 'sent', expect: { error: 'too_many_attempts', retry_after: 300 } },
    { do: 'advance', seconds: 100 },
    {
      do: 'issue',
      subject: 'login:alice',
      destination: '+15550100',
      expect: { error: 'too_many_attempts', retry_after: 200 },
    },
    { do: 'advance', seconds: 200 },
    {
      do: 'issue',
      subject: 'login:alice',
      destination: '+15550100',
      expect: { expires_in: 300, resend_in: 30, attempts_left: 3 },
    },
    { do: 'verify', subject: 'login:alice', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'advance', seconds: 30 },
    {
      do: 'issue',
      subject: 'login:alice',
      destination: '+15550100',
      expect: { expires_in: 300, resend_in: 30, attempts_left: 2 },
    },
    { do: 'verify', subject: 'login:alice', code: 'previous', expect: { error: 'invalid_code' } },
    { do: 'verify', subject: 'login:alice', code: 'sent', expect: {} },
    {
      do: 'issue',
      subject: 'login:bob',
      destination: 'bob@example.com',
      sender: 'fail',
      expect: { error: 'delivery_failed' },
    },
    { do: 'verify', subject: 'login:bob', code: '000000', expect: { error: 'code_expired' } },
    {
      do: 'issue',
      subject: 'login:bob',
      destination: 'bob@example.com',
      expect: { expires_in: 300, resend_in: 30, attempts_left: 3 },
    },
    { do: 'verify', subject: 'login:bob', code: 'sent', expect: {} },
    { do: 'issue', subject: 'login:carol', destination: '', expect: { error: 'invalid_input' } },
  ],
}

// Code specs: {"set": n, "index": i, "form": "shown" | "upper_no_hyphen" | "spaces"} is code
// i of the n-th set generated for the user; other strings as typed.
const recoveryScenario = {
  name: 'recovery codes: single use, forms, throttling, replacement',
  op: 'recovery_scenario',
  start: NOW,
  config: { count: 10, throttle },
  steps: [
    { do: 'remaining', user: 'alice', expect: { remaining: 0 } },
    { do: 'verify', user: 'alice', code: 'abcd-efgh', expect: { error: 'invalid_code' } },
    { do: 'generate', user: 'alice', expect: { count: 10 } },
    { do: 'verify', user: 'alice', code: { set: 0, index: 0, form: 'shown' }, expect: { remaining: 9 } },
    { do: 'verify', user: 'alice', code: { set: 0, index: 0, form: 'shown' }, expect: { error: 'invalid_code' } },
    { do: 'verify', user: 'alice', code: { set: 0, index: 1, form: 'upper_no_hyphen' }, expect: { remaining: 8 } },
    { do: 'verify', user: 'alice', code: { set: 0, index: 2, form: 'spaces' }, expect: { remaining: 7 } },
    { do: 'verify', user: 'alice', code: 'not-a-code!', expect: { error: 'invalid_code' } },
    { do: 'verify', user: 'alice', code: 'zzzz-zzzz', expect: { error: 'invalid_code' } },
    { do: 'verify', user: 'alice', code: 'zzzz-zzzy', expect: { error: 'invalid_code' } },
    {
      do: 'verify',
      user: 'alice',
      code: { set: 0, index: 3, form: 'shown' },
      expect: { error: 'too_many_attempts', retry_after: 30 },
    },
    { do: 'advance', seconds: 30 },
    { do: 'verify', user: 'alice', code: { set: 0, index: 3, form: 'shown' }, expect: { remaining: 6 } },
    { do: 'remaining', user: 'alice', expect: { remaining: 6 } },
    { do: 'generate', user: 'alice', expect: { count: 10 } },
    { do: 'verify', user: 'alice', code: { set: 0, index: 4, form: 'shown' }, expect: { error: 'invalid_code' } },
    { do: 'verify', user: 'alice', code: { set: 1, index: 9, form: 'shown' }, expect: { remaining: 9 } },
    { do: 'remaining', user: 'bob', expect: { remaining: 0 } },
  ],
}

// The account-wide cap (NIST SP 800-63B §5.2.2): `max_failures` checks failed in a row lock
// the account's code checks until `unlock`; a success resets the count; no expiry.
const roomy = { free_failures: 10, base_delay: 30, max_delay: 120, forget_after: 3600 }
const FORTY_DAYS = 40 * 86400
const totpLockout = {
  name: 'the account cap: failures in a row lock TOTP checks until unlocked, a success resets the count',
  op: 'totp_scenario',
  start: NOW,
  config: { issuer: 'ACME Co', window: 1, throttle: roomy, enrollment_ttl: 600, max_failures: 4 },
  steps: [
    {
      do: 'begin_enrollment',
      account: 'dana',
      expect: { uri_starts_with: 'otpauth://totp/ACME%20Co:dana?secret=', expires_in: 600, secret_bytes: 20 },
    },
    { do: 'confirm_enrollment', account: 'dana', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'failures', account: 'dana', expect: { count: 1 } },
    { do: 'confirm_enrollment', account: 'dana', code: { at: 0 }, expect: {} },
    { do: 'failures', account: 'dana', expect: { count: 0 } },
    { do: 'verify', account: 'dana', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'verify', account: 'dana', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'verify', account: 'dana', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'advance', seconds: 30 },
    { do: 'verify', account: 'dana', code: { at: 0 }, expect: { step: STEP + 1 } },
    { do: 'failures', account: 'dana', expect: { count: 0 } },
    { do: 'verify', account: 'dana', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'verify', account: 'dana', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'verify', account: 'dana', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'verify', account: 'dana', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'advance', seconds: 30 },
    { do: 'verify', account: 'dana', code: { at: 0 }, expect: { error: 'account_locked' } },
    { do: 'advance', seconds: FORTY_DAYS },
    { do: 'verify', account: 'dana', code: { at: 0 }, expect: { error: 'account_locked' } },
    { do: 'failures', account: 'dana', expect: { count: 4 } },
    { do: 'unlock', account: 'dana', expect: { result: true } },
    { do: 'failures', account: 'dana', expect: { count: 0 } },
    { do: 'verify', account: 'dana', code: { at: 0 }, expect: { step: STEP + 2 + FORTY_DAYS / 30 } },
    { do: 'unlock', account: 'dana', expect: { result: false } },
    { do: 'unlock', account: '', expect: { error: 'invalid_input' } },
  ],
}

const challengeLockout = {
  name: 'the account cap on SMS/email codes: locked across new codes until unlocked',
  op: 'challenge_scenario',
  start: NOW,
  config: { digits: 6, ttl: 300, max_attempts: 5, resend_cooldown: 30, max_failures: 2 },
  steps: [
    {
      do: 'issue',
      subject: 'user-7',
      destination: '+15550107',
      expect: { expires_in: 300, resend_in: 30, attempts_left: 5 },
    },
    { do: 'verify', subject: 'user-7', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'verify', subject: 'user-7', code: 'wrong', expect: { error: 'invalid_code' } },
    { do: 'verify', subject: 'user-7', code: 'sent', expect: { error: 'account_locked' } },
    { do: 'advance', seconds: 400 },
    {
      do: 'issue',
      subject: 'user-7',
      destination: '+15550107',
      expect: { expires_in: 300, resend_in: 30, attempts_left: 5 },
    },
    { do: 'verify', subject: 'user-7', code: 'sent', expect: { error: 'account_locked' } },
    { do: 'failures', subject: 'user-7', expect: { count: 2 } },
    { do: 'unlock', subject: 'user-7', expect: { result: true } },
    { do: 'verify', subject: 'user-7', code: 'sent', expect: {} },
  ],
}

const recoveryLockout = {
  name: 'recovery codes of 50 bits (xxxxx-xxxxx), and the account cap on them',
  op: 'recovery_scenario',
  start: NOW,
  config: { count: 4, throttle: roomy, max_failures: 3 },
  steps: [
    { do: 'generate', user: 'erin', expect: { count: 4 } },
    { do: 'verify', user: 'erin', code: 'zzzzz-zzzzz', expect: { error: 'invalid_code' } },
    { do: 'verify', user: 'erin', code: 'zzzz-zzzz', expect: { error: 'invalid_code' } },
    { do: 'verify', user: 'erin', code: 'zzzzz-zzzz', expect: { error: 'invalid_code' } },
    { do: 'verify', user: 'erin', code: { set: 0, index: 0, form: 'shown' }, expect: { error: 'account_locked' } },
    { do: 'failures', user: 'erin', expect: { count: 3 } },
    { do: 'unlock', user: 'erin', expect: { result: true } },
    { do: 'verify', user: 'erin', code: { set: 0, index: 0, form: 'upper_no_hyphen' }, expect: { remaining: 3 } },
    { do: 'failures', user: 'erin', expect: { count: 0 } },
  ],
}

const doc = {
  area: 'otp',
  source:
    'tests/vectors/tools/otp_cases.mjs (codes computed with node:crypto; RFC 4648 §10 base32 examples; the Key URI format example)',
  description:
    'TOTP/HOTP generation and verification, base32, otpauth:// URIs, and scenarios for enrollment, SMS/email challenges and recovery codes.',
  cases: [
    ...generation,
    ...verification,
    ...encoding,
    ...uris,
    totpScenario,
    challengeScenario,
    recoveryScenario,
    totpLockout,
    challengeLockout,
    recoveryLockout,
  ],
}

writeVectors({ 'otp/cases.json': doc }, 'otp_cases.mjs')
