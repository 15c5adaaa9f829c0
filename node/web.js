'use strict'
// Web-standard Request/Response integration (Hono, Next.js route handlers, any fetch-style
// handler on Node): `withAuthgate(gate, handler)` or `authenticateRequest(gate, request)`,
// and a Hono middleware. Refusals are the core's response, the same bytes as Express,
// Fastify, ASGI, WSGI and Django send.

const { Gate, GateRefusal, AuthError, refusalResponse } = require('./http.js')

/** The core's refusal as a Web `Response`. Never throws. */
function refusal(error, realm) {
  const { status, headers, body } = refusalResponse(error, realm)
  return new Response(body, { status, headers })
}

/**
 * Checks a Web `Request`: resolves with `{ auth }` when admitted or `{ response }` (the
 * refusal to return) when not. `peer` is the client's socket address, which the Web API
 * does not carry (Hono: `getConnInfo(c).remote.address`; behind a proxy, give the gate a
 * `clientIp` resolver).
 */
async function authenticateRequest(gate, request, { peer, route } = {}) {
  const header = (name) => request.headers.get(name) ?? undefined
  try {
    const options = { method: request.method, url: request.url, route }
    const outcome = gate.offload ? await gate.checkAsync(header, peer, options) : gate.check(header, peer, options)
    if (outcome instanceof GateRefusal) {
      return { response: new Response(outcome.body, { status: outcome.status, headers: outcome.headers }) }
    }
    return { auth: outcome }
  } catch (error) {
    if (!(error instanceof AuthError)) throw error
    return { response: refusal(error, gate.realm) }
  }
}

/** Adds the admitted request's headers (RateLimit) to a handler's `Response`. */
function withHeaders(gate, auth, response) {
  for (const [name, value] of Object.entries(gate.responseHeaders(auth))) response.headers.set(name, value)
  return response
}

/**
 * Wraps a fetch-style handler `(request, auth, ...rest) => Response` (a Next.js route
 * handler, a Deno/Bun-style server): refused requests get the gate's response, an
 * `AuthError` thrown by the handler too. `peer(request, ...rest)` may return the socket
 * address.
 */
function withAuthgate(gate, handler, { peer, scopes, limit, cost, name } = {}) {
  const perRoute = (scopes && scopes.length > 0) || limit != null
  // A route's buckets need a name of their own: anonymous handlers would share one.
  if (perRoute && !name)
    throw new TypeError("withAuthgate with scopes or a limit needs a name (e.g. 'POST /api/login')")
  const route = perRoute ? gate.route(name, { scopes, limit, cost }) : null
  return async function authgateHandler(request, ...rest) {
    const checked = await authenticateRequest(gate, request, { peer: peer?.(request, ...rest), route })
    if (checked.response) return checked.response
    try {
      return withHeaders(gate, checked.auth, await handler(request, checked.auth, ...rest))
    } catch (error) {
      if (error instanceof AuthError) return refusal(error, gate.realm)
      throw error
    }
  }
}

/**
 * Hono middleware: `app.use('/api/*', honoAuthgate(gate))`; then `c.get('auth')`. An
 * AuthError thrown by a route answers with the gate's refusal too (Hono's `onError`
 * sees it first only if you set one: use `honoAuthgateErrors` there).
 */
function honoAuthgate(gate, { peer, scopes, limit, cost, name } = {}) {
  const perRoute = (scopes && scopes.length > 0) || limit != null
  return async function authgateHono(c, next) {
    let route = null
    let checked
    try {
      // The route's path pattern (bounded, chosen by the developer), never the URL.
      if (perRoute) route = gate.routeFor(name ?? `${c.req.method} ${c.req.routePath}`, { scopes, limit, cost })
      const held = c.get('auth')
      if (gate.admitted(held)) {
        // An app-wide honoAuthgate already ran this gate: only the route's own rule.
        checked = { auth: route ? gate.authorizeRoute(held, route) : held }
      }
    } catch (error) {
      if (!(error instanceof AuthError)) throw error
      return refusal(error, gate.realm)
    }
    checked ??= await authenticateRequest(gate, c.req.raw, { peer: peer?.(c), route })
    if (checked.response) return checked.response
    c.set('auth', checked.auth)
    await next()
    if (c.error instanceof AuthError) {
      c.res = refusal(c.error, gate.realm)
      return
    }
    for (const [name, value] of Object.entries(gate.responseHeaders(checked.auth))) c.res.headers.set(name, value)
  }
}

/** For Hono's `app.onError`: the gate's refusal for an AuthError, else `fallback(error, c)`. */
function honoAuthgateErrors({ realm, fallback } = {}) {
  return function onError(error, c) {
    if (error instanceof AuthError) return refusal(error, realm)
    if (fallback) return fallback(error, c)
    return new Response('Internal Server Error', { status: 500 })
  }
}

module.exports = { Gate, GateRefusal, authenticateRequest, withAuthgate, honoAuthgate, honoAuthgateErrors }
