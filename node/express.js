'use strict'
// Express middleware: `app.use(authgate(new Gate({ keys, apiKeys })))`; then `req.auth`.

const { Gate, AuthError } = require('./http.js')

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

module.exports = { authgate, Gate }
