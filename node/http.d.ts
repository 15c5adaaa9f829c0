import type {
  ApiKeyManager,
  ApiKeyRecord,
  AuthError,
  Claims,
  ClientIpResolver,
  DpopVerifier,
  IpAllowlist,
  KeySet,
  RateDecision,
  RateLimiter,
  SessionManager,
  Verifier,
  VerifyOptions,
  RemoteJwks,
} from './index'
export { AuthError, RedisStore } from './index'

export interface AuthContext {
  claims: Claims | null
  apiKey: ApiKeyRecord | null
  /** The client's address (behind trusted proxies, with `clientIp`), or null without a peer. */
  clientIp: string | null
  /** The rate-limit decision of the bucket with the fewest requests left. */
  rateLimit: RateDecision | null
  /** Who the request is from: `user:<sub>`, else `app:<app>`, else `ip:<address>`. */
  identity: string | null
  /** The thumbprint of the DPoP proof's key, for a DPoP-bound token. */
  dpopJkt: string | null
  /** The headers to add to the response (the RateLimit headers, lower-case names). */
  headers: Record<string, string>
}

/** A route's own rule, made by `gate.route(name, { scopes, limit, cost })`. */
export declare class GateRoute {
  readonly name: string
  readonly scopes: string[]
  readonly limit: string | null
}

export interface RouteOptions {
  /** Scopes this route needs beyond the gate's (the token's `scope`/`scp`, else the API key's). */
  scopes?: string[]
  /** A policy of the gate's limiter, or a policy's text such as `'5/minute'`. */
  limit?: string
  /** Requests one call takes from the route's bucket (default 1). */
  cost?: number
}

export interface AuthenticateOptions {
  method?: string
  /** The request's URL, absolute when known (what a DPoP proof covers). */
  url?: string
  route?: GateRoute | null
  /** The client's TLS certificate (DER), for certificate-bound tokens (RFC 8705). */
  clientCertificate?: Buffer
}

export interface GateOptions {
  /** A RemoteJwks (an identity provider's keys) makes the Gate asynchronous: `authenticateAsync`. */
  keys?: KeySet | Verifier | SessionManager | RemoteJwks
  apiKeys?: ApiKeyManager
  apiKeyScope?: string
  apiKeyHeader?: string
  /** Also read the API key from `Authorization: Bearer` (not with `keys`). */
  apiKeyInAuthorization?: boolean
  realm?: string
  verify?: Omit<VerifyOptions, 'now'>
  /** Clients outside it are refused (IpNotAllowed, 403) before any credential is read. */
  allowlist?: IpAllowlist
  /** Finds the client behind your proxies; otherwise the socket's peer is the client. */
  clientIp?: ClientIpResolver
  /** One request from the bucket of `app:<API key id>`, or `ip:<client>` without an API key. */
  limiter?: RateLimiter
  /** The limiter's policy (default: its `default` policy, 1000 per minute). */
  ratePolicy?: string
  /** Meter each client address under this policy before any credential (default `'per_client'`, 600/minute); null: off. */
  clientRatePolicy?: string | null
  /** Also meter each user (the token's `sub`) under this policy. */
  userRatePolicy?: string
  /** Admits `Authorization: DPoP` tokens with their proof, and DPoP-bound tokens only that way. */
  dpop?: DpopVerifier
  /** The scheme and host clients address (`https://api.example.com`) when a proxy changes them. */
  publicOrigin?: string
  /** Scopes every request needs. */
  scopes?: string[]
  /** The IPv6 network size clients are metered by (default 64). */
  ipv6Prefix?: number
  /** A header your TLS terminator sets to the client's certificate, for RFC 8705 tokens. */
  clientCertificateHeader?: string
  /**
   * Admit OpenID Connect ID tokens (claims `nonce`, `at_hash`, `c_hash`, `s_hash`) as
   * access tokens. Off by default: they are refused with `INVALID_TOKEN_TYPE`.
   */
  acceptIdTokens?: boolean
  /** The API-key prefixes admitted (default: those the manager accepts, by default only `ag_live_`). */
  apiKeyPrefixes?: string[]
}

/**
 * A request the gate refused: the response every runtime sends for it, and the AuthError
 * `authenticate` throws for it (built when first read). `Gate.check` returns it.
 */
export declare class GateRefusal {
  /** Made by `Gate.check` only. */
  private constructor()
  readonly status: number
  /** Lower-case names. */
  readonly headers: Record<string, string>
  /** The JSON body, as text. */
  readonly body: string
  /** The refusing AuthError, with `.response` and, for a limit, `.rateLimit`. */
  readonly error: AuthError
  toJSON(): { status: number; headers: Record<string, string>; body: string }
}

export declare class Gate {
  constructor(options: GateOptions)
  /** Throws the refusing AuthError, with `.response` ({ status, headers, body }) attached. */
  authenticate(
    header: (name: string) => string | string[] | undefined,
    peer?: string,
    options?: AuthenticateOptions,
  ): AuthContext
  /** `authenticate` on the libuv pool (for Redis stores and remote key sets). */
  authenticateAsync(
    header: (name: string) => string | string[] | undefined,
    peer?: string,
    options?: AuthenticateOptions,
  ): Promise<AuthContext>
  /**
   * `authenticate` without throwing for a refusal: the AuthContext, or the GateRefusal to
   * answer with (no exception, no JSON parse: what the framework adapters call).
   */
  check(
    header: (name: string) => string | string[] | undefined,
    peer?: string,
    options?: AuthenticateOptions,
  ): AuthContext | GateRefusal
  /** `check` on the libuv pool (for Redis stores and remote key sets). */
  checkAsync(
    header: (name: string) => string | string[] | undefined,
    peer?: string,
    options?: AuthenticateOptions,
  ): Promise<AuthContext | GateRefusal>
  /** A route's own rule, checked now. */
  route(name: string, options?: RouteOptions): GateRoute
  /** `route`, cached by name and options. */
  routeFor(name: string, options?: RouteOptions): GateRoute
  /** The request headers the gate reads (lower case). */
  readonly headerNames: readonly string[]
  readonly realm: string | undefined
  /** True when a check goes to a store across the network: the integrations then use `authenticateAsync`. */
  readonly offload: boolean
  /** The headers an admitted request's response carries (the RateLimit headers). */
  responseHeaders(auth: AuthContext): Record<string, string>
  errorResponse(error: AuthError): { status: number; headers: Record<string, string>; body: string }
}

/**
 * The URL the adapters give a gate: the absolute URL without its query the core builds from the
 * scheme, the Host header and the raw target (`http::gate_url`), or the bare path when Host is absent
 * or not a host. Never throws.
 */
/**
 * `{ status, headers, body }` for an AuthError, built by the core (the error's own
 * `response` when the gate refused with it). Never throws.
 */
export declare function refusalResponse(
  error: unknown,
  realm?: string,
): { status: number; headers: Record<string, string>; body: string }

export declare function gateUrl(protocol: string, host: string | undefined, target: string): string
