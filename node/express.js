'use strict'
// Express middleware: `app.use(authgate(new Gate({ keys, apiKeys })))`; then `req.auth`.

const { Gate, GateRefusal, AuthError, refusalResponse, gateUrl } = require('./http.js')

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
/** The client's TLS certificate (DER) on a mutual-TLS connection, else null. */
function peerCertificate(socket) {
  if (!socket?.encrypted || typeof socket.getPeerCertificate !== 'function') return null
  const raw = socket.getPeerCertificate()?.raw
  return raw?.length ? raw : null
}

function authgate(gate, { exclude = [], scopes, limit, cost, name } = {}) {
  const skip = new Set(exclude)
  const perRoute = (scopes && scopes.length > 0) || limit != null
  if (perRoute && name != null) gate.routeFor(name, { scopes, limit, cost }) // checked now
  return function authgateMiddleware(req, res, next) {
    if (skip.has(req.path)) return next()
    // Every line of a repeated header (Node keeps only the first Authorization line in
    // req.headers): the core joins them, as every other adapter's server does.
    const header = (headerName) => req.headersDistinct?.[headerName] ?? req.headers[headerName]
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
    let request
    try {
      // The route's path pattern (bounded, chosen by the developer), never the URL.
      const route = perRoute
        ? gate.routeFor(name ?? (req.route ? `${req.method} ${req.route.path}` : 'app'), { scopes, limit, cost })
        : null
      if (gate.admitted(req.auth)) {
        // The app-wide middleware already ran this gate: only the route's own rule.
        if (route) {
          req.auth = gate.authorizeRoute(req.auth, route)
          res.set(gate.responseHeaders(req.auth))
        }
        return next()
      }
      request = {
        method: req.method,
        url: gateUrl(req.protocol, req.get('host'), req.originalUrl),
        route,
        clientCertificate: peerCertificate(req.socket),
      }
    } catch (error) {
      if (error instanceof AuthError) return refuse(error)
      return next(error)
    }
    // A refusal comes back as the response to send: no exception on the 429 path.
    const settle = (outcome) =>
      outcome instanceof GateRefusal ? write(res, outcome.status, outcome.headers, outcome.body) : admit(outcome)
    // With a store across the network (Redis), the checks run off the event loop.
    if (gate.offload) return gate.checkAsync(header, req.socket.remoteAddress, request).then(settle, refuse)
    let outcome
    try {
      outcome = gate.check(header, req.socket.remoteAddress, request)
    } catch (error) {
      return refuse(error)
    }
    settle(outcome)
  }
}

/**
 * Express error middleware, last in the chain: an `AuthError` thrown or passed to `next`
 * anywhere in a route (`totp.verify`, `limiter.enforce`, `keys.verify` …) answers with the
 * response the middleware sends — the core's status, headers and JSON body. Anything else
 * goes on to the next error handler. Express 4 and 5.
 */
function authgateErrors({ realm } = {}) {
  return function authgateErrorHandler(error, _req, res, next) {
    if (!(error instanceof AuthError) || res.headersSent) return next(error)
    const { status, headers, body } = refusalResponse(error, realm)
    return write(res, status, headers, body)
  }
}

module.exports = { authgate, authgateErrors, Gate, GateRefusal, peerCertificate }
