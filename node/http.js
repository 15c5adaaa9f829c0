'use strict'
// What the Express, Fastify and Web integrations share: the request gate. The whole
// pipeline — client address behind proxies, allowlist, the limit per client, API key,
// Bearer or DPoP token, scopes, limits per app, user and route — and the refusal's
// response (status, headers, JSON body) are the core's (`authgate_core::gate`), one native
// call per request, so every runtime answers byte for byte alike.

const authgate = require('./index.js')
const CLIENT_RATE_POLICY = authgate.defaults.clientRatePolicy
const { KeySet, Verifier, SessionManager, RemoteJwks, RedisStore, RateDecision, AuthError, httpRefusal } = authgate
const { CoreGate, nativeOf, errorFor, convertError, refusalHeaderNames } = authgate._gateSupport
/** The header names a refusal's lines give by index (the core's `http::REFUSAL_HEADERS`). */
const REFUSAL_HEADERS = Object.freeze(refusalHeaderNames())

const GATE_OPTIONS = [
  'keys',
  'apiKeys',
  'apiKeyScope',
  'apiKeyHeader',
  'apiKeyInAuthorization',
  'realm',
  'verify',
  'allowlist',
  'clientIp',
  'limiter',
  'ratePolicy',
  'clientRatePolicy',
  'userRatePolicy',
  'dpop',
  'publicOrigin',
  'scopes',
  'ipv6Prefix',
  'clientCertificateHeader',
  'acceptIdTokens',
  'apiKeyPrefixes',
]
/** The gate that admitted a request, and what it granted: hidden fields of the AuthContext. */
const ADMITTED = Symbol('authgate.admitted')
const ROUTE_CACHE = 1024

class Gate {
  /**
   * @param {object} options
   * @param {KeySet|Verifier|SessionManager|RemoteJwks} [options.keys] verifies `Authorization: Bearer` tokens
   * @param {object} [options.verify] verify options for a KeySet or RemoteJwks (issuer, audience, …)
   * @param {import('./index').ApiKeyManager} [options.apiKeys] verifies the `x-api-key` header
   * @param {string} [options.apiKeyScope] scope every API key must grant
   * @param {string} [options.apiKeyHeader] the API key's header (default `x-api-key`)
   * @param {boolean} [options.apiKeyInAuthorization] also read the key from `Authorization: Bearer` (not with keys)
   * @param {string} [options.realm] realm of the `WWW-Authenticate` challenge
   * @param {import('./index').IpAllowlist} [options.allowlist] refuses clients outside it (403) first
   * @param {import('./index').ClientIpResolver} [options.clientIp] finds the client behind your proxies
   * @param {import('./index').RateLimiter} [options.limiter] meters each client first, then each app (the API
   *   key's app, surviving rolls, under the key's own policy if it names one) or client, and each user
   * @param {string} [options.ratePolicy] the policy per app / client (the limiter's `default`: 1000 per minute)
   * @param {string|null} [options.clientRatePolicy] the policy per client before credentials (`per_client`); null: off
   * @param {string} [options.userRatePolicy] also meter each user (the token's `sub`) under this policy
   * @param {import('./index').DpopVerifier} [options.dpop] admits `Authorization: DPoP` tokens with their proof
   * @param {string} [options.publicOrigin] the scheme and host clients address, when a proxy changes them
   * @param {string[]} [options.scopes] scopes every request needs
   * @param {boolean} [options.acceptIdTokens] admit OpenID Connect ID tokens as access tokens (off by default)
   * @param {string[]} [options.apiKeyPrefixes] the API-key prefixes admitted (default: those the manager accepts)
   */
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    const unknown = Object.keys(options).filter((k) => !GATE_OPTIONS.includes(k))
    if (unknown.length) throw new TypeError(`unknown Gate option ${unknown[0]}`)
    const {
      keys,
      apiKeys,
      apiKeyScope,
      apiKeyHeader,
      apiKeyInAuthorization,
      realm,
      verify,
      allowlist,
      clientIp,
      limiter,
      ratePolicy,
      clientRatePolicy = CLIENT_RATE_POLICY,
      userRatePolicy,
      dpop,
      publicOrigin,
      scopes,
      ipv6Prefix,
      clientCertificateHeader,
      acceptIdTokens,
      apiKeyPrefixes,
    } = options
    if (!keys && !apiKeys && !limiter && !allowlist) {
      throw new TypeError('a Gate needs keys (Bearer tokens), apiKeys (x-api-key), a limiter or an allowlist')
    }
    const is = (Class) => keys instanceof Class
    if (keys && !is(KeySet) && !is(Verifier) && !is(SessionManager) && !is(RemoteJwks)) {
      throw new TypeError('keys is a KeySet, a Verifier, a SessionManager or a RemoteJwks')
    }
    const remoteStores = [keys, apiKeys, limiter, dpop].some((part) => part?.remoteStore === true)
    const settings = {
      realm: realm ?? undefined,
      apiKeyScope: apiKeyScope ?? undefined,
      apiKeyHeader: apiKeyHeader ?? undefined,
      apiKeyInAuthorization: apiKeyInAuthorization ?? undefined,
      ratePolicy: ratePolicy ?? undefined,
      clientRatePolicy: clientRatePolicy ?? undefined,
      clientRateLimitOff: clientRatePolicy === null,
      userRatePolicy: userRatePolicy ?? undefined,
      publicOrigin: publicOrigin ?? undefined,
      scopes: scopes ?? undefined,
      verifyJson: verify === undefined || verify === null ? undefined : JSON.stringify(verify),
      remoteStores,
      ipv6Prefix: ipv6Prefix ?? undefined,
      clientCertificateHeader: clientCertificateHeader ?? undefined,
      acceptIdTokens: acceptIdTokens ?? undefined,
      apiKeyPrefixes: apiKeyPrefixes ?? undefined,
    }
    const part = (Class) => (keys instanceof Class ? nativeOf(keys) : null)
    try {
      this[CORE] = new CoreGate(
        settings,
        part(KeySet),
        part(Verifier),
        part(SessionManager),
        part(RemoteJwks),
        nativeOf(apiKeys),
        nativeOf(allowlist),
        nativeOf(clientIp),
        nativeOf(limiter),
        nativeOf(dpop),
      )
    } catch (error) {
      throw convertError(error)
    }
    this.keys = keys
    this.apiKeys = apiKeys
    this.limiter = limiter
    this.realm = realm
    try {
      // The bound native check; not writable, as no answer may be forged.
      Object.defineProperty(this, FAST, { value: this[CORE].checker(), writable: false, configurable: true })
    } catch (error) {
      throw convertError(error)
    }
    this.headerNames = Object.freeze([...this[CORE].headerNames])
    /** A check may wait on the network (Redis, an identity provider): use `authenticateAsync`. */
    this.offload = this[CORE].offload
    this[ROUTES] = new Map()
  }

  /**
   * A route's own rule, checked now: `scopes` beyond the gate's, and `limit` — a policy of
   * the gate's limiter or a policy's text such as `'5/minute'` — metered per user, else per
   * app, else per client, apart from other routes.
   */
  route(name, { scopes, limit, cost } = {}) {
    try {
      return this[CORE].route(name, scopes ?? undefined, limit ?? undefined, cost ?? undefined)
    } catch (error) {
      throw convertError(error)
    }
  }

  /** `route`, cached by its settings (for adapters that learn the route per request). */
  routeFor(name, options = {}) {
    const key = JSON.stringify([name, options.scopes ?? null, options.limit ?? null, options.cost ?? null])
    let route = this[ROUTES].get(key)
    if (!route) {
      route = this.route(name, options)
      // Bounded: names come from route patterns, but a cache must never grow without end.
      if (this[ROUTES].size < ROUTE_CACHE) this[ROUTES].set(key, route)
    }
    return route
  }

  /**
   * Checks a request: `header(name)` returns a header's value or undefined, `peer` is the
   * socket's address; `method` and `url` (absolute when known) are what a DPoP proof
   * covers. Throws the AuthError of the first check that fails, with `.response` (the
   * refusal's status, headers and body) attached.
   */
  authenticate(header, peer, request) {
    return admittedOrThrow(this.check(header, peer, request))
  }

  /**
   * `authenticate` without throwing: the AuthContext of an admitted request, or the
   * `GateRefusal` to answer with (`status`, `headers`, `body`; its `error` is the AuthError
   * `authenticate` throws). What the framework adapters call: a refusal (a 429 under a
   * flood, say) costs no exception and no JSON parse.
   */
  check(header, peer, { method = 'GET', url = '/', route, clientCertificate } = {}) {
    if (this.keys instanceof RemoteJwks) {
      throw new TypeError('a Gate over a RemoteJwks is asynchronous: use checkAsync or authenticateAsync')
    }
    const headers = this.#headers(header)
    // The bare native function first (no route, no certificate); `false`: not for it.
    let answer =
      fastGate && route == null && clientCertificate == null ? this[FAST](method, url, peer ?? null, headers) : false
    if (answer === false) {
      answer = this[CORE].check(method, url, peer ?? null, headers, route ?? null, clientCertificate ?? null)
    } else if (typeof answer !== 'string') {
      throw new Error('authgate: the gate could not make its answer')
    }
    return outcome(answer, this)
  }

  /** Whether `auth` is an AuthContext this gate admitted. */
  admitted(auth) {
    return auth?.[ADMITTED]?.gate === this
  }

  /**
   * A route's own rule for a request this gate already admitted (the app-wide middleware
   * ran it): only the route's scopes and limit, not the pipeline again (no second credit,
   * no second use of a DPoP proof, no second count). Returns the AuthContext with the
   * route's rate decision when it has fewer requests left; throws the refusal.
   */
  authorizeRoute(auth, route) {
    const held = auth?.[ADMITTED]
    if (!held || held.gate !== this) throw new TypeError('authorizeRoute takes an AuthContext this gate admitted')
    const rate = auth.rateLimit
    const routed = admittedOrThrow(
      outcome(
        this[CORE].checkRouteFor(
          auth.identity,
          held.grants.scopes,
          held.grants.patterns,
          rate ? rate.policy : null,
          rate ? authgate._decisionNumbers(rate) : null,
          route,
        ),
        this,
      ),
    )
    const merged = { ...auth, rateLimit: routed.rateLimit, headers: routed.headers }
    Object.defineProperty(merged, ADMITTED, { value: held, enumerable: false })
    return merged
  }

  /** `authenticate` on the libuv pool: for stores and key sets across the network. */
  async authenticateAsync(header, peer, request) {
    return admittedOrThrow(await this.checkAsync(header, peer, request))
  }

  /** `check` on the libuv pool: resolves to the AuthContext or the GateRefusal. */
  async checkAsync(header, peer, { method = 'GET', url = '/', route, clientCertificate } = {}) {
    const answer = await this[CORE].checkAsync(
      method,
      url,
      peer ?? null,
      this.#headers(header),
      route ?? null,
      clientCertificate ?? null,
    )
    if (answer && answer.failed === true) throw convertError(answer)
    return outcome(answer, this)
  }

  #headers(header) {
    const out = []
    for (const name of this.headerNames) {
      let value = header(name)
      if (Array.isArray(value)) value = value.join(', ')
      if (typeof value === 'string') out.push(name, value)
    }
    return out
  }

  /** The headers an admitted request's response carries (the RateLimit headers). */
  responseHeaders(auth) {
    return auth?.headers ?? {}
  }

  /**
   * `{ status, headers, body }` for a refused request, as every runtime sends it: the
   * gate's own refusals carry it; for an AuthError thrown elsewhere (in a route) it is
   * built by the core from the error. Never throws.
   */
  errorResponse(error) {
    return refusalResponse(error, this.realm)
  }
}
const CORE = Symbol('authgate.gate')
const FAST = Symbol('authgate.gate.fast')
/** Whether `check` calls the bare native function first (the tests turn it off to compare). */
let fastGate = true
const ROUTES = Symbol('authgate.routes')

function decision(rate) {
  return rate ? new RateDecision(rate.policy, rate.numbers) : null
}

/**
 * A request the gate refused: the response every runtime sends for it — `status`,
 * `headers` (lower-case names) and `body` (JSON text) — and `error`, the AuthError that
 * `Gate.authenticate` throws for it (built when first read).
 */
class GateRefusal {
  #status
  #headers
  #body
  #answer
  #details
  #error = null

  /** From the native answer's lines (see `answer` in node/src/gate.rs); not for callers. */
  constructor(token, answer) {
    if (token !== MADE_HERE) throw new TypeError('a GateRefusal comes from Gate.check')
    let end = answer.indexOf('\n')
    const status = Number(answer.slice(0, end))
    const headers = {}
    let at = end + 1
    while (end >= 0 && at < answer.length && answer.charCodeAt(at) !== 10) {
      const name = answer.indexOf('\n', at)
      end = name < 0 ? -1 : answer.indexOf('\n', name + 1)
      if (end < 0) break
      // One digit: a name of the core's list, held here already (no new string to intern).
      const known = name === at + 1 ? REFUSAL_HEADERS[answer.charCodeAt(at) - 48] : undefined
      headers[known ?? answer.slice(at, name)] = answer.slice(name + 1, end)
      at = end + 1
    }
    end = end < 0 ? -1 : answer.indexOf('\n', at + 1)
    // The lines always hold the blank line and the body; anything else is a bug of ours.
    if (end < 0 || !(status >= 400 && status <= 599)) throw new Error('authgate: a malformed gate answer')
    this.#status = status
    this.#headers = headers
    this.#body = answer.slice(at + 1, end)
    this.#answer = answer
    this.#details = end + 1
  }

  /** The HTTP status. */
  get status() {
    return this.#status
  }

  /** The headers, lower-case names (an object of your own: the error's `response` has a copy). */
  get headers() {
    return this.#headers
  }

  /** The JSON body, as text. */
  get body() {
    return this.#body
  }

  /** `{ status, headers, body }`, for logs and `JSON.stringify`. */
  toJSON() {
    return { status: this.#status, headers: this.#headers, body: this.#body }
  }

  [Symbol.for('nodejs.util.inspect.custom')](_depth, options, inspect) {
    return `GateRefusal ${inspect(this.toJSON(), options)}`
  }

  get error() {
    if (this.#error === null) {
      this.#error = refusalError(
        { status: this.#status, headers: { ...this.#headers }, body: this.#body },
        this.#answer,
        this.#details,
      )
    }
    return this.#error
  }
}
/** Only this module makes GateRefusals. */
const MADE_HERE = Symbol('authgate.refusal')

/** The AuthError of a refusal (its `response` given), from the answer's lines after the body. */
function refusalError(response, answer, at) {
  const lines = []
  for (let i = 0; i < 4; i++) {
    const end = answer.indexOf('\n', at)
    lines.push(end < 0 ? '' : answer.slice(at, end))
    at = end < 0 ? answer.length : end + 1
  }
  const [code, retryAfter, policy, numbers] = lines
  // A refusal is an answer, not a bug: no stack is captured (it costs more than the checks).
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  let error
  try {
    error = errorFor(code, answer.slice(at), retryAfter === '' ? null : Number(retryAfter))
  } finally {
    Error.stackTraceLimit = limit
  }
  Object.defineProperty(error, 'response', { value: Object.freeze(response), enumerable: false })
  if (policy !== '') error.rateLimit = decision({ policy, numbers: numbers.split(',').map(Number) })
  return error
}

/** An AuthContext as it is; a GateRefusal's AuthError thrown. */
function admittedOrThrow(outcome) {
  if (outcome instanceof GateRefusal) throw outcome.error
  return outcome
}

/** The native answer as an AuthContext, or a GateRefusal. */
function outcome(answer, gate) {
  // An admission is a JSON object; a refusal's lines begin with its status.
  return answer.charCodeAt(0) === 123 ? admitted(JSON.parse(answer), gate) : new GateRefusal(MADE_HERE, answer)
}

/** The native answer for an admitted request as an AuthContext. */
function admitted(answer, gate) {
  const auth = {
    claims: answer.claims ?? null,
    apiKey: answer.apiKey ?? null,
    clientIp: answer.clientIp ?? null,
    identity: answer.identity ?? null,
    rateLimit: decision(answer.rate),
    dpopJkt: answer.dpopJkt ?? null,
    headers: answer.headers,
  }
  Object.defineProperty(auth, ADMITTED, { value: { gate, grants: answer.grants }, enumerable: false })
  return auth
}

/**
 * What the adapters give a gate as the request's URL (what a DPoP proof's `htu` covers),
 * built by the core (`http::gate_url`): the absolute URL without its query, the bare path
 * when Host is absent or not a host, nothing when the target is no path. Never throws.
 */
function gateUrl(protocol, host, target) {
  // The core decides (http::gate_url); it never throws for strings. Anything else a
  // framework might hand over is made a string or dropped first.
  return authgate.gateUrl(
    String(protocol ?? 'http'),
    typeof host === 'string' ? host : null,
    typeof target === 'string' ? target : '', // not a target: no URL, never `/`
  )
}

/** `{ status, headers, body }` for an AuthError, built by the core. Never throws. */
function refusalResponse(error, realm) {
  try {
    const built = error?.response
    if (built && typeof built.status === 'number' && typeof built.body === 'string') {
      return { status: built.status, headers: { ...built.headers }, body: built.body }
    }
    const rate = error?.rateLimit instanceof RateDecision ? error.rateLimit : null
    const retry = Number.isInteger(error?.retryAfter) ? error.retryAfter : null
    const violations = Array.isArray(error?.violations) && error.violations.length ? error.violations.map(String) : null
    const r = httpRefusal(
      String(error?.code ?? 'INTERNAL'),
      String(error?.message ?? ''),
      retry,
      realm ?? null,
      rate ? rate.policy : null,
      rate ? authgate._decisionNumbers(rate) : null,
      violations,
    )
    return { status: r.status, headers: Object.fromEntries(r.headers), body: r.body }
  } catch {
    return {
      status: 500,
      headers: { 'content-type': 'application/json' },
      body: '{"error":"internal","message":"internal error"}',
    }
  }
}

module.exports = { Gate, GateRefusal, AuthError, RedisStore, refusalResponse, gateUrl }
// For the tests: whether `check` takes the bare native function first (every gate of the
// process; the tests turn it off around one call to compare the two paths).
Object.defineProperty(module.exports, '_fastGate', {
  get: () => fastGate,
  set: (on) => {
    fastGate = on === true
  },
  enumerable: false,
})
// For the tests: a GateRefusal from a native answer's lines.
Object.defineProperty(module.exports, '_refusalFromLines', {
  value: (answer) => new GateRefusal(MADE_HERE, answer),
  enumerable: false,
})
