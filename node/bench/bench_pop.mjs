// Verifying an identity provider's token (RS256, as Auth0, Google and Cognito issue them)
// through a cached remote key set: authgate's RemoteJwks beside jose's createRemoteJWKSet +
// jwtVerify, both fetching from the same local HTTPS server (tests/https-server) once and then
// from cache; and a DPoP proof check beside the same checks written over jose. Writes its
// table into docs/benchmarks.md; run by `make bench`.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { createRequire } from 'node:module'
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, importJWK, jwtVerify } from 'jose'
import * as ag from '../index.mjs'
import { HttpsServer } from '../test/https_server.mjs'
import { fmt, measure, writeSection } from './measure.mjs'

const require = createRequire(import.meta.url)
const [BEGIN, END] = ['<!-- BEGIN NODE IDENTITY PROVIDERS (make bench) -->', '<!-- END NODE IDENTITY PROVIDERS -->']
const DATA = new URL('../../core/tests/data/', import.meta.url)
const AUD = 'https://api.example.com'
const URI = 'https://api.example.com/orders'
const b64 = (buf) => Buffer.from(buf).toString('base64url')

const server = await HttpsServer.start()
const keys = new ag.KeySet([ag.Key.fromPem(readFileSync(new URL('rsa-private.pem', DATA), 'utf8'), 'RS256', 'idp-1')])
keys.activate('idp-1')
await server.set('/jwks.json', JSON.stringify(keys.jwks()))
const iss = server.url('/')
const token = keys.sign({ iss, sub: 'alice', aud: AUD, exp: Math.floor(Date.now() / 1000) + 3600 })

const ours = new ag.RemoteJwks(server.url('/jwks.json'), { caCert: server.ca })
// jose fetches with `fetch`; this one trusts the test CA, as `caCert` does for authgate.
const fetchWithCa = (url) =>
  new Promise((resolve, reject) => {
    request(url, { ca: server.ca }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () =>
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers: res.headers })),
      )
    })
      .on('error', reject)
      .end()
  })
const theirs = createRemoteJWKSet(new URL(server.url('/jwks.json')), { [customFetch]: fetchWithCa })

const agRemote = () => ours.verify(token, { issuer: iss, audience: AUD })
const joseRemote = () => jwtVerify(token, theirs, { issuer: iss, audience: AUD, algorithms: ['RS256'] })
if ((await agRemote()).sub !== (await joseRemote()).payload.sub) throw new Error('the two disagree')
const remote = [await measure(agRemote), await measure(joseRemote)]
await server.close()

// DPoP: the same proofs (made by authgate), checked by each.
const dpopKey = ag.Key.fromPem(readFileSync(new URL('ec-private.pem', DATA), 'utf8'), 'ES256')
const access = 'access-token'
const ath = b64(createHash('sha256').update(access).digest())
const proof = () => ag.createDpopProof(dpopKey, 'GET', URI, { accessToken: access })
const verifier = new ag.DpopVerifier()
const agDpop = () => verifier.verify(proof(), 'GET', URI, { accessToken: access })
const seen = new Set()
const joseDpop = async () => {
  // What a jose user writes: key from the header, then each RFC 9449 check by hand.
  const p = proof()
  const header = decodeProtectedHeader(p)
  if (header.typ !== 'dpop+jwt' || !['ES256', 'EdDSA', 'RS256'].includes(header.alg)) throw new Error('header')
  const { payload } = await jwtVerify(p, await importJWK(header.jwk, header.alg), { algorithms: [header.alg] })
  if (payload.htm !== 'GET' || payload.htu !== URI || payload.ath !== ath) throw new Error('claims')
  if (Math.abs(Date.now() / 1000 - payload.iat) > 300 || seen.has(payload.jti)) throw new Error('replay')
  seen.add(payload.jti)
}
const making = await measure(proof)
const dpop = [(await measure(agDpop)) - making, (await measure(joseDpop)) - making]

writeSection(
  [
    BEGIN,
    '',
    `Node ${process.version}; authgate, jose ${require('jose/package.json').version}. Median of 5 rounds, one call at a time ` +
      "(awaited). Both key sets are fetched once from a local HTTPS server, then served from their caches; authgate's " +
      '`verify` is a Promise that runs on the libuv pool.',
    '',
    '| operation | authgate | jose | speed-up |',
    '|---|---|---|---|',
    `| RS256 identity-provider token, cached remote JWKS, iss + aud checked (vs createRemoteJWKSet + jwtVerify) | ${fmt(remote[0])} | ${fmt(remote[1])} | ${(remote[1] / remote[0]).toFixed(1)}x |`,
    `| DPoP proof check, ES256, with \`ath\` and jti once (vs the same checks over jose; proof creation subtracted) | ${fmt(dpop[0])} | ${fmt(dpop[1])} | ${(dpop[1] / dpop[0]).toFixed(1)}x |`,
    '',
    END,
  ],
  '<!-- END NODE SIGNATURES -->',
)
