import type {
  ApiKeyManager, ApiKeyRecord, AuthError, Claims, ClientIpResolver, IpAllowlist, KeySet, RateDecision, RateLimiter,
  SessionManager, VerifyOptions, RemoteJwks,
} from './index'

export interface AuthContext {
  claims: Claims | null
  apiKey: ApiKeyRecord | null
  /** The client's address (behind trusted proxies, with `clientIp`), or null without a peer. */
  clientIp: string | null
  /** The rate-limit decision, whose `headers` go on the response. */
  rateLimit: RateDecision | null
}

export interface GateOptions {
  /** A RemoteJwks (an identity provider's keys) makes the Gate asynchronous: `authenticateAsync`. */
  keys?: KeySet | SessionManager | RemoteJwks
  apiKeys?: ApiKeyManager
  apiKeyScope?: string
  apiKeyHeader?: string
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
}

export declare class Gate {
  constructor(options: GateOptions)
  authenticate(header: (name: string) => string | undefined, peer?: string): AuthContext
  /** `authenticate` with store-backed checks on the libuv pool (for Redis). */
  authenticateAsync(header: (name: string) => string | undefined, peer?: string): Promise<AuthContext>
  /** True when a check goes to a store across the network: the integrations then use `authenticateAsync`. */
  readonly offload: boolean
  /** The headers an admitted request's response carries (the RateLimit headers). */
  responseHeaders(auth: AuthContext): Record<string, string>
  errorResponse(error: AuthError): { status: number; headers: Record<string, string>; body: string }
}
