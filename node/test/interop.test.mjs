// jose and jsonwebtoken (libraries authgate did not write) verify authgate's tokens, and
// authgate verifies theirs, for every algorithm both support.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import * as jose from 'jose'
import jsonwebtoken from 'jsonwebtoken'
import * as ag from '../index.mjs'

const data = (f) => readFileSync(new URL(`../../core/tests/data/${f}`, import.meta.url), 'utf8')
const SECRET = Buffer.from('0123456789abcdef0123456789abcdef')
const FILES = { RS256: 'rsa', PS256: 'rsa', ES256: 'ec', EdDSA: 'ed25519' }
const claims = () => ({
  sub: 'user-1',
  iss: 'https://auth.example',
  aud: 'api',
  exp: Math.floor(Date.now() / 1000) + 600,
})

function ours(alg) {
  if (alg === 'HS256') {
    const k = ag.Key.hmac(SECRET, 'HS256', 'k')
    return [new ag.KeySet([k]), new ag.KeySet([k])]
  }
  const verifier = new ag.KeySet()
  verifier.add(ag.Key.fromPem(data(`${FILES[alg]}-public.pem`), alg, 'k'))
  return [new ag.KeySet([ag.Key.fromPem(data(`${FILES[alg]}-private.pem`), alg, 'k')]), verifier]
}

function theirs(alg) {
  if (alg === 'HS256') return [SECRET, SECRET]
  return [createPrivateKey(data(`${FILES[alg]}-private.pem`)), createPublicKey(data(`${FILES[alg]}-public.pem`))]
}

for (const alg of ['HS256', 'RS256', 'PS256', 'ES256', 'EdDSA']) {
  test(`jose and authgate verify each other (${alg})`, async () => {
    const [signer, verifier] = ours(alg)
    const [priv, pub] = theirs(alg)
    const { payload } = await jose.jwtVerify(signer.sign(claims()), pub, {
      issuer: 'https://auth.example',
      audience: 'api',
      algorithms: [alg],
    })
    assert.equal(payload.sub, 'user-1')
    const token = await new jose.SignJWT(claims()).setProtectedHeader({ alg, kid: 'k' }).sign(priv)
    assert.equal(verifier.verify(token, { issuer: 'https://auth.example', audience: 'api' }).sub, 'user-1')
  })
}

for (const alg of ['HS256', 'RS256', 'PS256', 'ES256']) {
  test(`jsonwebtoken and authgate verify each other (${alg})`, () => {
    const [signer, verifier] = ours(alg)
    const [priv, pub] = theirs(alg)
    assert.equal(jsonwebtoken.verify(signer.sign(claims()), pub, { algorithms: [alg], audience: 'api' }).sub, 'user-1')
    const token = jsonwebtoken.sign(claims(), priv, { algorithm: alg, keyid: 'k' })
    assert.equal(verifier.verify(token, { audience: 'api' }).sub, 'user-1')
  })
}

// #20 item 14: the generated Ed25519 PEM is PKCS#8 v1, which node:crypto and jose read.
test('a generated Ed25519 PEM is read by node:crypto and jose, and theirs by authgate', async () => {
  const pem = ag.Key.generatePem('EdDSA')
  const theirKey = createPrivateKey(pem)
  assert.equal(theirKey.asymmetricKeyType, 'ed25519')
  const joseKey = await jose.importPKCS8(pem, 'EdDSA')
  const ours = ag.Key.fromPem(pem, 'EdDSA', 'k')
  const token = await new jose.SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA', kid: 'k' }).sign(joseKey)
  assert.equal(new ag.KeySet([ours]).verify(token, { audience: 'api' }).sub, 'user-1')
  // The other way: node:crypto writes PKCS#8 (v1) and authgate signs with it.
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const signer = ag.Key.fromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }), 'EdDSA', 'k')
  const { payload } = await jose.jwtVerify(new ag.KeySet([signer]).sign(claims()), publicKey, { audience: 'api' })
  assert.equal(payload.sub, 'user-1')
})

// #20 item 15, RFC 9864: jose emits `Ed25519`; either name verifies with an Ed25519 key, and
// a key signs with the name it was loaded under.
for (const ourAlg of ['EdDSA', 'Ed25519']) {
  test(`jose's Ed25519 algorithm name and authgate (${ourAlg} key) verify each other`, async () => {
    const [priv, pub] = theirs('EdDSA')
    const verifier = new ag.KeySet()
    verifier.add(ag.Key.fromPem(data('ed25519-public.pem'), ourAlg, 'k'))
    const token = await new jose.SignJWT(claims()).setProtectedHeader({ alg: 'Ed25519', kid: 'k' }).sign(priv)
    assert.equal(verifier.verify(token, { audience: 'api', algorithms: [ourAlg] }).sub, 'user-1')
    const signer = new ag.KeySet([ag.Key.fromPem(data('ed25519-private.pem'), 'Ed25519', 'k')])
    const ours = signer.sign(claims())
    assert.equal(jose.decodeProtectedHeader(ours).alg, 'Ed25519')
    const { payload } = await jose.jwtVerify(ours, pub, { audience: 'api', algorithms: ['Ed25519'] })
    assert.equal(payload.sub, 'user-1')
  })
}

// #20 item 1: a public key passed as an HMAC secret is refused, as jsonwebtoken refuses it.
test('an HMAC secret that is a public key is refused with what it is', () => {
  const pem = data('ec-public.pem')
  for (const secret of [pem, Buffer.from(pem), createPublicKey(pem).export({ type: 'spki', format: 'der' })]) {
    assert.throws(
      () => ag.Key.hmac(secret, 'HS256'),
      (e) => e.code === 'INVALID_KEY' && /PEM key or certificate|SubjectPublicKeyInfo/.test(e.message),
    )
  }
  assert.throws(() => jsonwebtoken.sign({ sub: 'x' }, createPublicKey(pem), { algorithm: 'HS256' }))
})

// #20 item 17: an RSA JWK published without `alg` verifies jose's PS256 tokens when the
// verifier's allow-list names PS256 (RS256 by default); jose verifies authgate's PS256.
test('an RSA JWK without alg verifies jose PS256 tokens when the allow-list names PS256', async () => {
  const [priv, pub] = theirs('PS256')
  const { alg: _alg, ...jwk } = pub.export({ format: 'jwk' })
  const verifier = new ag.KeySet()
  verifier.importJwks({ keys: [{ ...jwk, kid: 'k' }] })
  for (const alg of ['PS256', 'PS512', 'RS256']) {
    const token = await new jose.SignJWT(claims()).setProtectedHeader({ alg, kid: 'k' }).sign(priv)
    assert.equal(verifier.verify(token, { audience: 'api', algorithms: ['RS256', alg] }).sub, 'user-1')
  }
  const ps = await new jose.SignJWT(claims()).setProtectedHeader({ alg: 'PS256', kid: 'k' }).sign(priv)
  assert.throws(
    () => verifier.verify(ps, { audience: 'api' }),
    (e) => e.code === 'ALGORITHM_NOT_ALLOWED',
  )
  const signer = new ag.KeySet([ag.Key.fromPem(data('rsa-private.pem'), 'PS256', 'k')])
  const { payload } = await jose.jwtVerify(signer.sign(claims()), pub, { audience: 'api', algorithms: ['PS256'] })
  assert.equal(payload.sub, 'user-1')
})

// #20 item 18: SEC1 `EC PRIVATE KEY` PEM (node:crypto's sec1 export, as openssl ecparam
// -genkey writes) signs tokens jose verifies, and authgate verifies jose's.
for (const [curve, alg] of [
  ['prime256v1', 'ES256'],
  ['secp384r1', 'ES384'],
]) {
  test(`a SEC1 ${curve} key from node:crypto signs for jose`, async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve })
    const pem = privateKey.export({ type: 'sec1', format: 'pem' })
    assert.match(pem, /^-----BEGIN EC PRIVATE KEY-----/)
    const signer = new ag.KeySet([ag.Key.fromPem(pem, alg, 'k')])
    const { payload } = await jose.jwtVerify(signer.sign(claims()), publicKey, { audience: 'api', algorithms: [alg] })
    assert.equal(payload.sub, 'user-1')
    const token = await new jose.SignJWT(claims()).setProtectedHeader({ alg, kid: 'k' }).sign(privateKey)
    assert.equal(signer.verify(token, { audience: 'api' }).sub, 'user-1')
  })
}

// #20 item 19: Svix's library signs and verifies with svix-id, svix-timestamp and
// svix-signature; authgate reads them as aliases of the webhook-* names.
test('svix and authgate verify each other with svix-branded headers', async () => {
  const { Webhook } = await import('svix')
  const secret = ag.WebhookKey.generateSecret()
  const payload = '{"type":"invoice.paid"}'
  const now = new Date(Math.floor(Date.now() / 1000) * 1000)
  const ts = String(now.getTime() / 1000)
  const theirs = new Webhook(secret)
  const headers = { 'svix-id': 'msg_1', 'svix-timestamp': ts, 'svix-signature': theirs.sign('msg_1', now, payload) }
  const ours = new ag.WebhookVerifier(secret)
  assert.equal(ours.verify(headers, payload).id, 'msg_1')
  const mine = ag.signWebhook(secret, 'msg_2', Number(ts), payload)
  assert.equal(theirs.verify(payload, { 'svix-id': 'msg_2', 'svix-timestamp': ts, 'svix-signature': mine }), undefined)
  assert.throws(
    () => ours.verify({ ...headers, 'svix-id': 'msg_3', 'webhook-id': 'msg_4' }, payload),
    (e) => e.code === 'MALFORMED_SIGNATURE',
  )
})
