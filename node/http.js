'use strict'
// What the Express and Fastify integrations share: which credentials a request must
// carry, and the JSON error response. Every check is a call into the core.

const { KeySet, AuthError, InvalidApiKey, MalformedToken, bearerToken, httpError } = require('./index.js')

class Gate {
  /**
   * @param {object} options
   * @param {KeySet|SessionManager} [options.keys] verifies `Authorization: Bearer` tokens
   * @param {import('./index').ApiKeyManager} [options.apiKeys] verifies the `x-api-key` header
   * @param {string} [options.apiKeyScope] scope the API key must grant
   * @param {string} [options.realm] realm of the `WWW-Authenticate` challenge
   * @param {object} [options.verify] verify options for a KeySet (issuer, audience, …)
   */
  constructor({ keys, apiKeys, apiKeyScope, apiKeyHeader = 'x-api-key', realm, verify } = {}) {
    if (!keys && !apiKeys) throw new TypeError('a Gate needs keys (Bearer tokens), apiKeys (x-api-key), or both')
    this.keys = keys
    this.apiKeys = apiKeys
    this.apiKeyScope = apiKeyScope
    this.apiKeyHeader = apiKeyHeader.toLowerCase()
    this.realm = realm
    this.verifier = keys instanceof KeySet ? keys.verifier(verify || {}) : null
  }

  /** Checks a request's headers (`header(name)` returns a string or undefined); throws an AuthError. */
  authenticate(header) {
    let apiKey = null
    if (this.apiKeys) {
      const presented = header(this.apiKeyHeader)
      if (!presented) throw new InvalidApiKey(`the request has no ${this.apiKeyHeader} header`)
      apiKey = this.apiKeys.verify(presented, this.apiKeyScope)
    }
    let claims = null
    if (this.keys) {
      const authorization = header('authorization')
      if (!authorization) throw new MalformedToken('the request has no Authorization: Bearer token')
      const token = bearerToken(authorization)
      claims = this.verifier ? this.verifier.verify(token) : this.keys.verifyAccess(token)
    }
    return { claims, apiKey }
  }

  /** `{ status, headers, body }` for a refused request. */
  errorResponse(error) {
    const { status, challenge } = httpError(error.code, error.message, this.realm)
    const headers = { 'content-type': 'application/json' }
    if (challenge) headers['www-authenticate'] = challenge
    return { status, headers, body: JSON.stringify({ error: error.code, message: error.message }) }
  }
}

module.exports = { Gate, AuthError }
