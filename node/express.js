'use strict'
// Express middleware: `app.use(authgate(new Gate({ keys, apiKeys })))`; then `req.auth`.

const { Gate, AuthError, refusalResponse } = require('./http.js')

/**
 * Writes a refusal as the core built it. Not `res.set`/`res.send`: Express would add
 * `; charset=utf-8` to the content type, and every runtime must send the same bytes.
 */
function write(res, status, headers, body) {
  res.statusCode = status
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
  res.end(Buffer.from(body))
}

/**
 * `app.use(authgate(gate))` protects every route; `app.post('/login', authgate(gate, {
 * limit: '5/minute' }), handler)` one route, with its own `scopes` and `limit` (a policy
 * name or text), metered apart from other routes (named by `name`, by default the
 * method and route path).
 */
function authgate(gate, { exclude = [], scopes, limit, cost, name } = {}) {
  const skip = new Set(exclude)
  const perRoute = (scopes && scopes.length > 0) || limit != null
  if (perRoute && name != null) gate.routeFor(name, { scopes, limit, cost }) // checked now
  return function authgateMiddleware(req, res, next) {
    if (skip.has(req.path)) return next()
    const header = (headerName) => req.headers[headerName]
    let request
    try {
      const route = perRoute
        ? gate.routeFor(name ?? `${req.method} ${req.route?.path ?? req.path}`, { scopes, limit, cost })
        : null
      request = { method: req.method, url: `${req.protocol}://${req.get('host') ?? 'localhost'}${req.originalUrl}`, route }
    } catch (error) {
      return next(error)
    }
    const admit = (auth) => {
      req.auth = auth
      res.set(gate.responseHeaders(auth))
      next()
    }
    const refuse = (error) => {
      if (!(error instanceof AuthError)) return next(error)
      const { status, headers, body } = gate.errorResponse(error)
      return write(res, status, headers, body)
    }
    // With a store across the network (Redis), the checks run off the event loop.
    if (gate.offload) return gate.authenticateAsync(header, req.socket.remoteAddress, request).then(admit, refuse)
    let auth
    try {
      auth = gate.authenticate(header, req.socket.remoteAddress, request)
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
    return write(res, status, headers, body)
  }
}

module.exports = { authgate, authgateErrors, Gate }
