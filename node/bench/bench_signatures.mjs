import { createHash, createHmac, createSecretKey, randomUUID, timingSafeEqual } from 'node:crypto'
import { createRequire } from 'node:module'
import { httpbis, createSigner, createVerifier } from 'http-message-signatures'
import { Webhook } from 'standardwebhooks'
import * as ag from '../index.mjs'
import { fmt, measure, writeSection } from './measure.mjs'

const require = createRequire(import.meta.url)
const version = (name) => require(`${name}/package.json`).version
const [BEGIN, END] = ['<!-- BEGIN NODE SIGNATURES (make bench) -->', '<!-- END NODE SIGNATURES -->']
const SECRET = Buffer.from('0123456789abcdef0123456789abcdef')
const URL_ = 'https://api.example.com/v1/orders?dry=1'
// 1022 bytes of JSON.
const PAYLOAD = Buffer.from(`{"items":[${'"book",'.repeat(145)}"end"]}`)
const COMPONENTS = ['@method', '@authority', '@path', '@query', 'content-type']

// authgate
const key = ag.SignatureKey.hmacSha256(SECRET)
const signer = new ag.RequestSigner('client-1', key, { components: COMPONENTS })
const verifier = new ag.RequestVerifier({ 'client-1': key })
const base = { 'content-type': 'application/json' }
const agSign = () => signer.sign({ method: 'POST', url: URL_, headers: base, body: PAYLOAD })
const agBoth = () => {
  const headers = { ...base, ...agSign() }
  verifier.verify({ method: 'POST', url: URL_, headers, body: PAYLOAD })
}

// http-message-signatures
const peerKey = createSigner(SECRET, 'hmac-sha256', 'client-1')
const peerVerifier = createVerifier(SECRET, 'hmac-sha256')
const peerSign = async () => {
  const digest = `sha-256=:${createHash('sha256').update(PAYLOAD).digest('base64')}:`
  return httpbis.signMessage(
    {
      key: peerKey,
      fields: [...COMPONENTS, 'content-digest'],
      params: ['created', 'keyid', 'nonce', 'alg'],
      paramValues: { nonce: randomUUID() },
    },
    { method: 'POST', url: URL_, headers: { ...base, 'content-digest': digest } },
  )
}
const peerBoth = async () => {
  const signed = await peerSign()
  const digest = `sha-256=:${createHash('sha256').update(PAYLOAD).digest('base64')}:`
  if (signed.headers['content-digest'] !== digest) throw new Error('digest mismatch')
  const ok = await httpbis.verifyMessage(
    { keyLookup: async () => ({ id: 'client-1', algs: ['hmac-sha256'], verify: peerVerifier }) },
    signed,
  )
  if (!ok) throw new Error('peer verify failed')
}

// Standard Webhooks
const whSecret = ag.WebhookKey.generateSecret()
const ts = Math.floor(Date.now() / 1000)
const wh = new Webhook(whSecret)
const whHeaders = {
  'webhook-id': 'msg_1',
  'webhook-timestamp': String(ts),
  'webhook-signature': ag.signWebhook(whSecret, 'msg_1', ts, PAYLOAD),
}
const whVerifier = new ag.WebhookVerifier(whSecret, { checkReplay: false })
const text = PAYLOAD.toString()
const when = new Date(ts * 1000)

// A raw HMAC-SHA256 over 200 bytes, as a service checking each tenant's signature does.
const MESSAGE = Buffer.alloc(200, 0x61)
const TAG = createHmac('sha256', SECRET).update(MESSAGE).digest()
const hmacKey = ag.Key.hmac(SECRET)
const secretKey = createSecretKey(SECRET)

const rows = [
  [
    'HMAC-SHA256 of 200 B, key built per call: `Key.hmac(secret).sign(message)` (vs `createHmac(...).update(message).digest()`)',
    await measure(() => ag.Key.hmac(SECRET).sign(MESSAGE)),
    await measure(() => createHmac('sha256', SECRET).update(MESSAGE).digest()),
  ],
  [
    'HMAC-SHA256 check of 200 B, key built per call: `Key.hmac(secret).verify(message, tag)` (vs `createHmac` + `timingSafeEqual`)',
    await measure(() => ag.Key.hmac(SECRET).verify(MESSAGE, TAG)),
    await measure(() => timingSafeEqual(createHmac('sha256', SECRET).update(MESSAGE).digest(), TAG)),
  ],
  [
    'HMAC-SHA256 of 200 B, key built once: `key.sign(message)` (vs `createHmac` over a `KeyObject`)',
    await measure(() => hmacKey.sign(MESSAGE)),
    await measure(() => createHmac('sha256', secretKey).update(MESSAGE).digest()),
  ],
  ['RFC 9421 sign (vs http-message-signatures)', await measure(agSign), await measure(peerSign)],
  [
    'RFC 9421 sign + verify; authgate includes the nonce replay check (vs http-message-signatures, none)',
    await measure(agBoth),
    await measure(peerBoth),
  ],
  [
    'Standard Webhooks v1 sign, 1 KiB payload (vs standardwebhooks)',
    await measure(() => ag.signWebhook(whSecret, 'msg_1', ts, PAYLOAD)),
    await measure(() => wh.sign('msg_1', when, text)),
  ],
  [
    'Standard Webhooks v1 verify, 1 KiB payload (vs standardwebhooks)',
    await measure(() => whVerifier.verify(whHeaders, PAYLOAD)),
    await measure(() => wh.verify(text, whHeaders)),
  ],
]
const lines = [
  BEGIN,
  '',
  `Node ${process.version}; http-message-signatures ${version('http-message-signatures')}, standardwebhooks ${version('standardwebhooks')}. ` +
    'Median of 5 rounds, one call at a time; the peer is awaited; the HMAC rows are beside node:crypto. Request: POST with a query, `@method @authority @path @query content-type` + `content-digest` over a 1 KiB body, hmac-sha256.',
  '',
  '| operation | authgate | peer | speed-up |',
  '|---|---|---|---|',
  ...rows.map(([name, ours, theirs]) => `| ${name} | ${fmt(ours)} | ${fmt(theirs)} | ${(theirs / ours).toFixed(1)}x |`),
  '',
  END,
]
writeSection(lines, '<!-- END NODE -->')
