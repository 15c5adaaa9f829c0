// DPoP (RFC 9449) and certificate-bound tokens (RFC 8705) through the Node package, with
// jose and node:crypto as the independent other side.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { SignJWT, jwtVerify, importJWK, decodeProtectedHeader, exportJWK } from 'jose'
import * as ag from '../index.mjs'
import { redisStore, redisUrl } from './stores.mjs'

const NOW = 1_700_000_000
const URI = 'https://api.example.com/orders'
const b64 = (buf) => Buffer.from(buf).toString('base64url')
const clientKey = () => ag.Key.fromPem(ag.Key.generatePem('ES256'), 'ES256')

test('a created proof verifies once and binds to cnf.jkt', () => {
  const key = clientKey()
  const jkt = ag.jwkThumbprint(key.publicJwk())
  const token = 'eyJ.access.token'
  const proof = ag.createDpopProof(key, 'GET', `${URI}?page=2`, { accessToken: token, now: NOW })
  const verifier = new ag.DpopVerifier({ clock: new ag.ManualClock(NOW + 10) })
  const got = verifier.verify(proof, 'GET', URI, { accessToken: token, accessClaims: { sub: 'a', cnf: { jkt } } })
  assert.deepEqual([got.jkt, got.iat], [jkt, NOW])
  assert.throws(() => verifier.verify(proof, 'GET', URI, { accessToken: token }), ag.ReplayDetected)
  const other = ag.createDpopProof(key, 'GET', URI, { accessToken: token, now: NOW })
  assert.throws(
    () => verifier.verify(other, 'GET', URI, { accessToken: token, accessClaims: { cnf: { jkt: 'x'.repeat(43) } } }),
    ag.InvalidClaim,
  )
  assert.throws(
    () => verifier.verify(other, 'GET', URI, { accessToken: token, accessClaims: { sub: 'a' } }),
    ag.MissingClaim,
  )
  assert.throws(() => verifier.verify(other, 'GET', URI, { accesToken: token }), TypeError)
  assert.throws(() => ag.createDpopProof(ag.Key.hmac(Buffer.alloc(32, 1)), 'GET', URI), ag.InvalidKey)
  assert.throws(() => ag.createDpopProof(key, 'GET', '/relative'), ag.InvalidInput)
})

test('nonces: UseDpopNonce, and its HTTP answer', () => {
  const key = clientKey()
  const verifier = new ag.DpopVerifier({ clock: new ag.ManualClock(NOW) })
  const nonce = ag.generateDpopNonce()
  assert.equal(nonce.length, 22)
  assert.notEqual(nonce, ag.generateDpopNonce())
  const stale = ag.createDpopProof(key, 'POST', URI, { nonce: 'old', now: NOW })
  assert.throws(
    () => verifier.verify(stale, 'POST', URI, { nonce }),
    (e) => e instanceof ag.UseDpopNonce && e instanceof ag.TokenError,
  )
  const answer = ag.httpError('USE_DPOP_NONCE', 'x')
  assert.equal(answer.status, 401)
  assert.match(answer.challenge, /error="use_dpop_nonce"/)
  const fresh = ag.createDpopProof(key, 'POST', URI, { nonce, now: NOW })
  assert.equal(verifier.verify(fresh, 'POST', URI, { nonce }).iat, NOW)
})

test('jose proofs verify here, and ours verify with jose', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const { kty, crv, x, y } = await exportJWK(publicKey)
  const jwk = { kty, crv, x, y }
  const token = 'access-token-value'
  const ath = b64(createHash('sha256').update(token).digest())
  const theirs = await new SignJWT({ jti: 'jose-1', htm: 'DELETE', htu: URI, iat: NOW, ath })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
    .sign(privateKey)
  const got = new ag.DpopVerifier({ clock: new ag.ManualClock(NOW) }).verify(theirs, 'DELETE', URI, {
    accessToken: token,
  })
  // The thumbprint, computed independently (RFC 7638 §3.2).
  assert.equal(got.jkt, b64(createHash('sha256').update(`{"crv":"${crv}","kty":"EC","x":"${x}","y":"${y}"}`).digest()))

  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' })
  const ours = ag.createDpopProof(ag.Key.fromPem(pem, 'ES256'), 'PUT', URI, { accessToken: token, now: NOW })
  const header = decodeProtectedHeader(ours)
  assert.deepEqual([header.typ, header.jwk], ['dpop+jwt', jwk])
  const { payload } = await jwtVerify(ours, await importJWK(header.jwk, 'ES256'), { currentDate: new Date(NOW * 1000) })
  assert.deepEqual([payload.htm, payload.htu, payload.iat, payload.ath], ['PUT', URI, NOW, ath])
})

test('certificate thumbprints match node:crypto in every form', () => {
  const doc = JSON.parse(readFileSync(new URL('../../tests/vectors/pop/cases.json', import.meta.url), 'utf8'))
  const pem = doc.cases.find((c) => c.op === 'certificate_thumbprint' && c.certificate?.startsWith('-----')).certificate
  const cert = new X509Certificate(pem)
  const want = Buffer.from(cert.fingerprint256.replaceAll(':', ''), 'hex').toString('base64url')
  for (const form of [pem, Buffer.from(pem), cert.raw, encodeURIComponent(pem)]) {
    assert.equal(ag.certificateThumbprint(form), want)
  }
  ag.checkCertificateBinding({ cnf: { 'x5t#S256': want } }, encodeURIComponent(pem))
  assert.throws(
    () => ag.checkCertificateBinding({ cnf: { 'x5t#S256': want.split('').reverse().join('') } }, cert.raw),
    ag.InvalidClaim,
  )
  assert.throws(() => ag.checkCertificateBinding({ sub: 'svc' }, cert.raw), ag.MissingClaim)
  assert.throws(() => ag.checkCertificateBinding('claims', cert.raw), TypeError)
  assert.throws(() => ag.certificateThumbprint(Buffer.alloc(70_000, 0x30)), ag.InvalidInput)
  assert.throws(() => ag.certificateThumbprint(42), TypeError)
})

const url = redisUrl()
test('a replay is refused across servers sharing Redis', {
  skip: url ? false : 'AUTHGATE_REDIS_URL is not set',
}, async () => {
  const prefix = redisStore(url).prefix
  const one = new ag.DpopVerifier({ store: redisStore(url, prefix), clock: new ag.ManualClock(NOW) })
  const two = new ag.DpopVerifier({ store: redisStore(url, prefix), clock: new ag.ManualClock(NOW) })
  assert.ok(one.remoteStore)
  const proof = ag.createDpopProof(clientKey(), 'GET', URI, { now: NOW })
  await one.verifyAsync(proof, 'GET', URI)
  await assert.rejects(two.verifyAsync(proof, 'GET', URI), ag.ReplayDetected)
})
