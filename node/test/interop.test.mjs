// jose and jsonwebtoken (libraries authgate did not write) verify authgate's tokens, and
// authgate verifies theirs, for every algorithm both support.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createPrivateKey, createPublicKey } from 'node:crypto'
import * as jose from 'jose'
import jsonwebtoken from 'jsonwebtoken'
import * as ag from '../index.mjs'

const data = (f) => readFileSync(new URL(`../../core/tests/data/${f}`, import.meta.url), 'utf8')
const SECRET = Buffer.from('0123456789abcdef0123456789abcdef')
const FILES = { RS256: 'rsa', PS256: 'rsa', ES256: 'ec', EdDSA: 'ed25519' }
const claims = () => ({ sub: 'user-1', iss: 'https://auth.example', aud: 'api', exp: Math.floor(Date.now() / 1000) + 600 })

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
    const { payload } = await jose.jwtVerify(signer.sign(claims()), pub, { issuer: 'https://auth.example', audience: 'api', algorithms: [alg] })
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
