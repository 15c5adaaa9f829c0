'use strict'
// Fastify plugin: `app.register(authgatePlugin, { gate })`; then `request.auth`.

const { Gate, GateRefusal, AuthError, refusalResponse, gateUrl } = require('./http.js')
const { peerCertificate } = require('./express.js')

function authgatePlugin(fastify, { gate, exclude = [], handleErrors = true }, done) {
  const skip = new Set(exclude)
  fastify.decorateRequest('auth', null)
  // An AuthError thrown in a route answers like the hook's refusals; other errors keep
  // Fastify's handling.
  // Fastify's handling (`handleErrors: false` leaves the error handler alone).
  if (handleErrors) {
    fastify.setErrorHandler((error, _request, reply) => {
      if (!(error instanceof AuthError)) return reply.send(error)
      const { status, headers, body } = refusalResponse(error, gate.realm)
      return reply.code(status).headers(headers).send(Buffer.from(body))
    })
  }
  fastify.addHook('onRequest', async (request, reply) => {
    if (skip.has(request.routeOptions.url)) return
    try {
      // Every line of a repeated header: the core joins them, as every adapter's server does.
      const header = (name) => request.raw.headersDistinct?.[name] ?? request.headers[name]
      // A route's own rule: `{ config: { authgate: { scopes, limit, cost, name } } }`.
      const own = request.routeOptions.config?.authgate
      const route = own ? gate.routeFor(own.name ?? `${request.method} ${request.routeOptions.url}`, own) : null
      const options = {
        method: request.method,
        url: gateUrl(request.protocol, request.host, request.url),
        route,
        clientCertificate: peerCertificate(request.socket),
      }
      // With a store across the network (Redis), the checks run off the event loop.
      const outcome = gate.offload
        ? await gate.checkAsync(header, request.socket.remoteAddress, options)
        : gate.check(header, request.socket.remoteAddress, options)
      // A refusal comes back as the response to send: no exception on the 429 path.
      if (outcome instanceof GateRefusal) {
        return reply.code(outcome.status).headers(outcome.headers).send(Buffer.from(outcome.body))
      }
      request.auth = outcome
    } catch (error) {
      if (!(error instanceof AuthError)) throw error
      const { status, headers, body } = gate.errorResponse(error)
      return reply.code(status).headers(headers).send(Buffer.from(body))
    }
    reply.headers(gate.responseHeaders(request.auth))
  })
  done()
}
// Not encapsulated: the hook applies to the context the plugin is registered in — the whole
// app from the root, or only an encapsulated context's routes when registered inside it:
// `app.register(async (api) => { api.register(authgatePlugin, { gate }); … }, { prefix: '/api' })`.
authgatePlugin[Symbol.for('skip-override')] = true

module.exports = { authgatePlugin, Gate, GateRefusal }
