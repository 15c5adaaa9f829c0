// The README's Node quick tour runs as written (importing the package by its own name).
import { test } from 'node:test'
import { readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { redisUrl } from './stores.mjs'
import { HttpsServer } from './https_server.mjs'
import * as ag from '../index.mjs'

/** A local OpenID Connect provider for the README's RemoteJwks block, in its environment variables. */
async function identityProvider() {
  const server = await HttpsServer.start()
  const issuer = server.url('/idp')
  const keys = new ag.KeySet([ag.Key.fromPem(ag.Key.generatePem('ES256'), 'ES256', 'idp-1')])
  keys.activate('idp-1')
  await server.set(
    '/idp/.well-known/openid-configuration',
    JSON.stringify({ issuer, jwks_uri: server.url('/idp/jwks') }),
  )
  await server.set('/idp/jwks', JSON.stringify(keys.jwks()))
  process.env.OIDC_ISSUER = issuer
  process.env.OIDC_CA_PEM = server.ca
  process.env.ACCESS_TOKEN = keys.sign({
    iss: issuer,
    sub: 'alice',
    aud: 'https://api.example.com',
    exp: Math.floor(Date.now() / 1000) + 600,
  })
  return server
}

// The README and every page of docs/: each ```js block runs (```js fragment blocks are excerpts).
const DOCS = new URL('../../docs/', import.meta.url)
const documents = [
  new URL('../../README.md', import.meta.url),
  ...readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => new URL(f, DOCS)),
]

for (const document of documents)
  test(`js blocks run: ${document.pathname.split('/').pop()}`, async () => {
    const readme = readFileSync(document, 'utf8')
    const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])
    if (blocks.length === 0 && document.pathname.endsWith('README.md'))
      throw new Error('the README has no Node example')
    for (const [i, code] of blocks.entries()) {
      // The Redis examples need a server: `make test` starts one (and requires it).
      if (code.includes('RedisStore')) {
        const url = redisUrl()
        if (!url) continue
        process.env.REDIS_URL ??= url
      }
      const name = document.pathname.split('/').pop().replace('.md', '')
      const file = fileURLToPath(new URL(`./.readme-${name}-${i}.mjs`, import.meta.url))
      writeFileSync(file, code)
      const idp = code.includes('RemoteJwks') ? await identityProvider() : null
      try {
        await import(pathToFileURL(file).href)
      } finally {
        rmSync(file)
        if (idp) await idp.close()
      }
    }
  })
