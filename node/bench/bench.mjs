// authgate's Node package beside jsonwebtoken, jose and fast-jwt, in one run, on the same
// tokens with the same checks (signature, exp, iss, aud). Writes its table into
// docs/benchmarks.md. Run by `make bench`; TOTP and rate-limit rows come with those issues.
import { readFileSync } from 'node:fs'
import { createPublicKey, createSecretKey } from 'node:crypto'
import { createRequire } from 'node:module'
import * as jose from 'jose'
import { createSigner, createVerifier } from 'fast-jwt'
import jsonwebtoken from 'jsonwebtoken'
import * as ag from '../index.mjs'
import { fmt, measure, writeSection } from './measure.mjs'

const require = createRequire(import.meta.url)
const version = (name) => require(`${name}/package.json`).version
const data = (f) => readFileSync(new URL(`../../core/tests/data/${f}`, import.meta.url), 'utf8')
const [BEGIN, END] = ['<!-- BEGIN NODE (make bench) -->', '<!-- END NODE -->']
const ISS = 'https://auth.example'
const AUD = 'api'
const SECRET = Buffer.from('0123456789abcdef0123456789abcdef')

const now = Math.floor(Date.now() / 1000)
const claims = { iss: ISS, aud: AUD, sub: 'user-1', iat: now, exp: now + 3600, scope: 'read write', jti: 'b3f1c2' }
const rows = []

{
  const ks = new ag.KeySet([ag.Key.hmac(SECRET, 'HS256', 'k')])
  const token = ks.sign(claims)
  const joseKey = new Uint8Array(SECRET)
  const fastSign = createSigner({ key: SECRET, algorithm: 'HS256' })
  const fastVerify = createVerifier({ key: SECRET, algorithms: ['HS256'], allowedIss: ISS, allowedAud: AUD })
  rows.push([
    'HS256 sign',
    {
      authgate: await measure(() => ks.sign(claims)),
      jsonwebtoken: await measure(() => jsonwebtoken.sign(claims, createSecretKey(SECRET), { algorithm: 'HS256' })),
      jose: await measure(() => new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(joseKey)),
      'fast-jwt': await measure(() => fastSign(claims)),
    },
  ])
  const secretKey = createSecretKey(SECRET)
  const peers = {
    jsonwebtoken: await measure(() =>
      jsonwebtoken.verify(token, secretKey, { algorithms: ['HS256'], issuer: ISS, audience: AUD }),
    ),
    jose: await measure(() => jose.jwtVerify(token, joseKey, { issuer: ISS, audience: AUD, algorithms: ['HS256'] })),
    'fast-jwt': await measure(() => fastVerify(token)),
  }
  rows.push([
    'HS256 verify (exp, iss, aud), `keys.verify(token, { issuer, audience })`',
    { authgate: await measure(() => ks.verify(token, { issuer: ISS, audience: AUD })), ...peers },
  ])
  const verifier = ks.verifier({ issuer: ISS, audience: AUD })
  rows.push([
    'HS256 verify (exp, iss, aud), prebuilt `verifier.verify(token)`',
    { authgate: await measure(() => verifier.verify(token)), ...peers },
  ])
}

for (const [alg, stem] of [
  ['ES256', 'ec'],
  ['RS256', 'rsa'],
  ['EdDSA', 'ed25519'],
]) {
  const signer = new ag.KeySet([ag.Key.fromPem(data(`${stem}-private.pem`), alg, 'k')])
  const verifier = new ag.KeySet()
  verifier.add(ag.Key.fromPem(data(`${stem}-public.pem`), alg, 'k'))
  const token = signer.sign(claims)
  const pem = data(`${stem}-public.pem`)
  const keyObject = createPublicKey(pem)
  const joseKey = await jose.importSPKI(pem, alg)
  const fastVerify = createVerifier({ key: pem, algorithms: [alg], allowedIss: ISS, allowedAud: AUD })
  const row = {
    authgate: await measure(() => verifier.verify(token, { issuer: ISS, audience: AUD })),
    jose: await measure(() => jose.jwtVerify(token, joseKey, { issuer: ISS, audience: AUD, algorithms: [alg] })),
    'fast-jwt': await measure(() => fastVerify(token)),
  }
  if (alg !== 'EdDSA')
    row.jsonwebtoken = await measure(() =>
      jsonwebtoken.verify(token, keyObject, { algorithms: [alg], issuer: ISS, audience: AUD }),
    )
  rows.push([`${alg} verify (exp, iss, aud)`, row])
}

const peers = ['jsonwebtoken', 'jose', 'fast-jwt']
const lines = [BEGIN, '']
lines.push(
  `Node ${process.version}; ${peers.map((p) => `${p} ${version(p)}`).join(', ')}. Median of 5 rounds, one call at a time; jose is awaited.`,
  '',
)
lines.push('| operation | authgate | jsonwebtoken | jose | fast-jwt | vs fastest peer |', '|---|---|---|---|---|---|')
for (const [name, r] of rows) {
  const best = Math.min(...peers.filter((p) => r[p] !== undefined).map((p) => r[p]))
  lines.push(
    `| ${name} | ${fmt(r.authgate)} | ${fmt(r.jsonwebtoken)} | ${fmt(r.jose)} | ${fmt(r['fast-jwt'])} | ${(best / r.authgate).toFixed(1)}x |`,
  )
}
lines.push('', END)
writeSection(lines)
