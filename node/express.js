'use strict'
// Express middleware: `app.use(authgate(new Gate({ keys, apiKeys })))`; then `req.auth`.

const { Gate, AuthError } = require('./http.js')

function authgate(gate, { exclude = [] } = {}) {
  const skip = new Set(exclude)
  return function authgateMiddleware(req, res, next) {
    if (skip.has(req.path)) return next()
    try {
      req.auth = gate.authenticate((name) => req.get(name), req.socket.remoteAddress)
    } catch (error) {
      if (!(error instanceof AuthError)) return next(error)
      const { status, headers, body } = gate.errorResponse(error)
      return res.status(status).set(headers).send(body)
    }
    res.set(gate.responseHeaders(req.auth))
    next()
  }
}

module.exports = { authgate, Gate }
