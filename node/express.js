'use strict'
// Express middleware: `app.use(authgate(new Gate({ keys, apiKeys })))`; then `req.auth`.

const { Gate, AuthError, refusalResponse } = require('./http.js')

function authgate(gate, { exclude = [] } = {}) {
  const skip = new Set(exclude)
  return function authgateMiddleware(req, res, next) {
    if (skip.has(req.path)) return next()
    const header = (name) => req.get(name)
    const admit = (auth) => {
      req.auth = auth
      res.set(gate.responseHeaders(auth))
      next()
    }
    const refuse = (error) => {
      if (!(error instanceof AuthError)) return next(error)
      const { status, headers, body } = gate.errorResponse(error)
      return res.status(status).set(headers).send(body)
    }
    // With a store across the network (Redis), the checks run off the event loop.
    if (gate.offload) return gate.authenticateAsync(header, req.socket.remoteAddress).then(admit, refuse)
    let auth
    try {
      auth = gate.authenticate(header, req.socket.remoteAddress)
    } catch (error) {
      return refuse(error)
    }
    admit(auth)
  }
}

/**
 * Express error middleware, last in the chain: an `AuthError` thrown or passed to `next`
 * anywhere in a route (`totp.verify`, `limiter.enforce`, `keys.verify` …) answers with the
 * response the middleware sends — the core's status, headers and JSON body. Anything else
 * goes on to the next error handler. Express 4 and 5.
 */
function authgateErrors({ realm } = {}) {
  return function authgateErrorHandler(error, req, res, next) {
    if (!(error instanceof AuthError) || res.headersSent) return next(error)
    const { status, headers, body } = refusalResponse(error, realm)
    return res.status(status).set(headers).send(body)
  }
}

module.exports = { authgate, authgateErrors, Gate }
