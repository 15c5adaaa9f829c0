// Verifies the tokens from `bench_tokens` with jose, fast-jwt and jsonwebtoken, with the
// same checks authgate makes (signature, exp, iss, aud), and prints one JSON line per row.
import { readFileSync } from 'node:fs'
import { createPublicKey, createSecretKey } from 'node:crypto'
import { createRequire } from 'node:module'
import * as jose from 'jose'
import { createVerifier } from 'fast-jwt'
import jsonwebtoken from 'jsonwebtoken'

const require = createRequire(import.meta.url)
const version = (name) => require(`${name}/package.json`).version
const input = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const pem = (file) => readFileSync(new URL(`../../../core/tests/data/${file}`, import.meta.url), 'utf8')
const publicPem = { ES256: pem('ec-public.pem'), RS256: pem('rsa-public.pem'), EdDSA: pem('ed25519-public.pem') }
const opts = { issuer: input.issuer, audience: input.audience }

async function measure(fn) {
  for (let i = 0; i < 200; i++) await fn()
  let n = 0
  const start = process.hrtime.bigint()
  let elapsed = 0n
  while (elapsed < 1_000_000_000n) {
    for (let i = 0; i < 100; i++) await fn()
    n += 100
    elapsed = process.hrtime.bigint() - start
  }
  return Number(elapsed) / n
}

const report = (lib, alg, op, ns) =>
  console.log(JSON.stringify({ runtime: 'node', lib: `${lib}@${version(lib)}`, alg, op, ns }))

for (const [alg, token] of Object.entries(input.tokens)) {
  const keyText = alg === 'HS256' ? input.hs_secret : publicPem[alg]
  const keyObject = alg === 'HS256' ? createSecretKey(Buffer.from(input.hs_secret)) : createPublicKey(keyText)
  // jose's documented idiom: import the key once (CryptoKey / Uint8Array), then verify.
  const joseKey = alg === 'HS256' ? new TextEncoder().encode(input.hs_secret) : await jose.importSPKI(keyText, alg)
  const joseOpts = { ...opts, algorithms: [alg] }
  report('jose', alg, 'verify', await measure(() => jose.jwtVerify(token, joseKey, joseOpts)))
  const fast = createVerifier({ key: keyText, algorithms: [alg], allowedIss: input.issuer, allowedAud: input.audience })
  report('fast-jwt', alg, 'verify', await measure(() => fast(token)))
  if (alg !== 'EdDSA') {
    // jsonwebtoken 9 does not implement EdDSA
    const jwtOpts = { ...opts, algorithms: [alg] }
    report('jsonwebtoken', alg, 'verify', await measure(() => jsonwebtoken.verify(token, keyObject, jwtOpts)))
  }
}
