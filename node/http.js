'use strict'
// What the Express and Fastify integrations share: which client may call (IP allowlist,
// rate limit), which credentials a request must carry, and the JSON error response. Every
// check is a call into the core.

const authgate = require('./index.js')
const CLIENT_RATE_POLICY = authgate.defaults.clientRatePolicy
const {
  KeySet, RemoteJwks, AuthError, MissingApiKey, MissingToken, IpNotAllowed, RateLimited, bearerToken, httpRefusal,
} = authgate

class Gate {
  /**
   * @param {object} options
   * @param {KeySet|SessionManager|RemoteJwks} [options.keys] verifies `Authorization: Bearer` tokens
   *   (a RemoteJwks, an identity provider's keys, makes the Gate asynchronous: `authenticateAsync`)
   * @param {import('./index').ApiKeyManager} [options.apiKeys] verifies the `x-api-key` header
   * @param {string} [options.apiKeyScope] scope the API key must grant
   * @param {string} [options.realm] realm of the `WWW-Authenticate` challenge
   * @param {object} [options.verify] verify options for a KeySet or RemoteJwks (issuer, audience, …)
   * @param {import('./index').IpAllowlist} [options.allowlist] refuses clients outside it (403) first
   * @param {import('./index').ClientIpResolver} [options.clientIp] finds the client behind your proxies
   * @param {import('./index').RateLimiter} [options.limiter] one request from the bucket of `app:<API key id>`,
   *   or `ip:<client>` without an API key (429 with Retry-After and the RateLimit headers when refused)
   * @param {string} [options.ratePolicy] the limiter's policy (its default: 1000 per minute)
   */
  constructor({
    keys, apiKeys, apiKeyScope, apiKeyHeader = 'x-api-key', realm, verify, allowlist, clientIp, limiter, ratePolicy,
    clientRatePolicy = CLIENT_RATE_POLICY,
  } = {}) {
    if (!keys && !apiKeys && !limiter && !allowlist) {
      throw new TypeError('a Gate needs keys (Bearer tokens), apiKeys (x-api-key), a limiter or an allowlist')
    }
    this.keys = keys
    this.apiKeys = apiKeys
    this.apiKeyScope = apiKeyScope
    this.apiKeyHeader = apiKeyHeader.toLowerCase()
    this.realm = realm
    this.verifier = keys instanceof KeySet ? keys.verifier(verify || {}) : null
    this.remoteJwks = keys instanceof RemoteJwks
    this.verifyOptions = verify || {}
    this.allowlist = allowlist
    this.clientIp = clientIp
    this.limiter = limiter
    this.ratePolicy = ratePolicy
    /**
     * With a limiter, every request is first metered per client address under this policy
     * (`per_client`: 600/minute unless the limiter sets it), before any credential is read —
     * so forged tokens and unknown keys count too. null: off.
     */
    this.clientRatePolicy = clientRatePolicy
    /** A check goes across the network (Redis, an identity provider): use `authenticateAsync`. */
    this.offload = this.remoteJwks || [keys, apiKeys, limiter].some((part) => part?.remoteStore === true)
  }

  /**
   * Checks a request: `header(name)` returns a header's value or undefined, `peer` is the
   * socket's address. Throws the AuthError of the first check that fails.
   */
  authenticate(header, peer) {
    if (this.remoteJwks) throw new TypeError('a Gate over a RemoteJwks is asynchronous: use authenticateAsync')
    const steps = this.#steps(header, peer)
    let next = steps.next()
    while (!next.done) {
      const [target, method, ...args] = next.value
      try {
        next = steps.next(target[method](...args))
      } catch (error) {
        next = steps.throw(error)
      }
    }
    return next.value
  }

  /**
   * Like `authenticate`, with each store-backed check (API key, session, rate limit) run by
   * its Promise variant on the libuv pool: for stores across the network (Redis), so the
   * event loop never waits on them. The Express and Fastify integrations use it when
   * `offload` is true.
   */
  async authenticateAsync(header, peer) {
    const steps = this.#steps(header, peer)
    let next = steps.next()
    while (!next.done) {
      const [target, method, ...args] = next.value
      try {
        next = steps.next(await target[`${method}Async`](...args))
      } catch (error) {
        next = steps.throw(error)
      }
    }
    return next.value
  }

  /** The checks, in order; each store-backed call is yielded as `[object, method, ...args]`. */
  * #steps(header, peer) {
    const client = peer && this.clientIp ? this.clientIp.resolve(peer, header(this.clientIp.header)) : peer ?? null
    if (this.allowlist) {
      if (!client) throw new IpNotAllowed("the client's address is unknown")
      this.allowlist.check(client)
    }
    if (this.limiter && this.clientRatePolicy != null) yield * this.#enforce(`ip:${client ?? 'unknown'}`, this.clientRatePolicy)
    let apiKey = null
    if (this.apiKeys) {
      const presented = header(this.apiKeyHeader)
      if (!presented) throw new MissingApiKey(`the request has no ${this.apiKeyHeader} header`)
      apiKey = yield [this.apiKeys, 'verify', presented, this.apiKeyScope]
    }
    let claims = null
    if (this.keys) {
      const authorization = header('authorization')
      if (!authorization) throw new MissingToken('the request has no Authorization: Bearer token')
      const token = bearerToken(authorization)
      if (this.verifier) claims = this.verifier.verify(token)
      else if (this.remoteJwks) claims = yield [this.keys, 'verify', token, this.verifyOptions]
      else claims = yield [this.keys, 'verifyAccess', token]
    }
    let rateLimit = null
    if (this.limiter) {
      const key = apiKey ? `app:${apiKey.id}` : `ip:${client ?? 'unknown'}`
      rateLimit = yield * this.#enforce(key, this.ratePolicy)
    }
    return { claims, apiKey, clientIp: client, rateLimit }
  }

  * #enforce(key, policy) {
    try {
      return yield [this.limiter, 'enforce', key, { policy }]
    } catch (error) {
      // The bucket's state (nothing was taken) for the RateLimit headers of the 429.
      if (error instanceof RateLimited) error.rateLimit = yield [this.limiter, 'peek', key, { policy }]
      throw error
    }
  }

  /** The headers an admitted request's response carries (the RateLimit headers). */
  responseHeaders(auth) {
    return auth.rateLimit ? auth.rateLimit.headers : {}
  }

  /**
   * `{ status, headers, body }` for a refused request, built by the core as every runtime
   * sends it: JSON `{"error","message"}` with the snake_case code (and `retry_after`), for
   * 401/403 a `WWW-Authenticate` challenge, `Retry-After` for throttling, the RateLimit
   * headers on a 429. Never throws.
   */
  errorResponse(error) {
    return refusalResponse(error, this.realm)
  }
}

/** `{ status, headers, body }` for an AuthError, built by the core. Never throws. */
function refusalResponse(error, realm) {
  const rate = error?.rateLimit
  const r = httpRefusal(String(error?.code ?? 'INTERNAL'), String(error?.message ?? ''), error?.retryAfter ?? null,
    realm ?? null, rate ? rate.policy : null, rate ? authgate._decisionNumbers(rate) : null)
  return { status: r.status, headers: Object.fromEntries(r.headers), body: r.body }
}

module.exports = { Gate, AuthError, refusalResponse }
