// The wire vectors (tests/vectors/http/gate.json) through every Node adapter on a real
// server, sent with node:http (header bytes as Latin-1, as on the wire): Express 5 and 4,
// Fastify, Hono on @hono/node-server, and a fetch-style handler (withAuthgate) behind
// node:http. Each answer must be the vector's bytes — the same the Python adapters send —
// and after every case, the hostile ones included, the server still serves.
import { test } from 'node:test'
import { createServer, request as httpRequest } from 'node:http'
import express5 from 'express'
import express4 from 'express4'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { authgate, authgateErrors } from '../express.js'
import { authgatePlugin } from '../fastify.js'
import { honoAuthgate, withAuthgate } from '../web.js'
import * as vectors from './gate_vectors.mjs'

// Room for the vectors' oversized Authorization header: the gate refuses it, not Node.
const MAX_HEADER = 64 * 1024

/** A gate whose configuration each case replaces: the apps are built once around it. */
function switchGate(holder) {
  return new Proxy(
    {},
    {
      get(_target, key) {
        const value = holder.gate[key]
        return typeof value === 'function' ? value.bind(holder.gate) : value
      },
    },
  )
}

function ok(_req, res) {
  res.json({ ok: true })
}

const adapters = {
  'express 5': (gate) => {
    const app = express5()
    app.use(authgate(gate))
    app.get('/resource', ok)
    app.use(authgateErrors())
    return createServer({ maxHeaderSize: MAX_HEADER }, app)
  },
  'express 4': (gate) => {
    const app = express4()
    app.use(authgate(gate))
    app.get('/resource', ok)
    app.use(authgateErrors())
    return createServer({ maxHeaderSize: MAX_HEADER }, app)
  },
  fastify: async (gate) => {
    let server
    const app = Fastify({
      serverFactory: (handler) => {
        server = createServer({ maxHeaderSize: MAX_HEADER }, handler)
        return server
      },
    })
    app.register(authgatePlugin, { gate })
    app.get('/resource', async () => ({ ok: true }))
    await app.ready()
    return server
  },
  hono: (gate) => {
    const app = new Hono()
    app.use('*', honoAuthgate(gate, { peer: (c) => getConnInfo(c).remote.address }))
    app.get('/resource', (c) => c.json({ ok: true }))
    return { hono: app }
  },
  'fetch handler (withAuthgate)': (gate) => {
    const handler = withAuthgate(gate, () => Response.json({ ok: true }), { peer: (_r, peer) => peer })
    return createServer({ maxHeaderSize: MAX_HEADER }, async (req, res) => {
      // Every line of every header, as a fetch-style runtime hands them over.
      const headers = Object.entries(req.headersDistinct).flatMap(([k, values]) => values.map((v) => [k, v]))
      const request = new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers })
      const response = await handler(request, req.socket.remoteAddress)
      res.writeHead(response.status, Object.fromEntries(response.headers))
      res.end(Buffer.from(await response.arrayBuffer()))
    })
  },
}

async function listen(made) {
  if (made.hono) {
    return new Promise((resolve) => {
      const s = serve(
        {
          fetch: made.hono.fetch,
          port: 0,
          hostname: '127.0.0.1',
          serverOptions: { maxHeaderSize: MAX_HEADER },
        },
        () => resolve(s),
      )
    })
  }
  await new Promise((resolve) => made.listen(0, '127.0.0.1', resolve))
  return made
}

function send(port) {
  return (method, path, headers) =>
    new Promise((resolve, reject) => {
      // A flat list of names and values: repeated lines stay repeated.
      const req = httpRequest(
        { host: '127.0.0.1', port, method, path, headers: ['host', `127.0.0.1:${port}`, ...headers.flat()] },
        (res) => {
          const chunks = []
          res.on('data', (c) => chunks.push(c))
          res.on('end', () => {
            const got = {}
            for (let i = 0; i < res.rawHeaders.length; i += 2) {
              const name = res.rawHeaders[i].toLowerCase()
              got[name] = got[name] ?? []
              got[name].push(res.rawHeaders[i + 1])
            }
            resolve({ status: res.statusCode, headers: got, body: Buffer.concat(chunks).toString('utf8') })
          })
        },
      )
      req.on('error', reject)
      req.end()
    })
}

for (const [name, make] of Object.entries(adapters)) {
  test(`every wire vector through ${name}`, async () => {
    const holder = { gate: vectors.build(vectors.GATES.bearer).gate }
    const server = await listen(await make(switchGate(holder)))
    try {
      const post = send(server.address().port)
      const hold = (gate) => {
        holder.gate = gate
      }
      for (const c of vectors.CASES) await vectors.run(c, post, hold)
      // Still serving after the hostile cases.
      await vectors.run(vectors.CASES[0], post, hold)
    } finally {
      server.closeAllConnections?.()
      await new Promise((resolve) => server.close(resolve))
    }
  })
}
