// Types of the `authgate` package. The option and result shapes come from the
// napi-rs-generated native.d.ts (regenerated and diffed by `make test`).
import type {
  ApiKeyRecord,
  ClientToken,
  CreateApiKeyOptions,
  CreatedApiKey,
  Defaults,
  HttpError,
  KeyInfo,
  LoginOptions,
  ImportApiKeyOptions,
  LoginResult,
  MintOptions,
  ParsedApiKey,
  RefreshOptions,
  SessionInfo,
  SessionOptions as NativeSessionOptions,
  SignOptions,
  TokenPair,
  VerifyOptions as NativeVerifyOptions,
  SignerOptions,
  VerifyPolicyOptions,
  VerifiedSignature,
  VerifiedWebhook,
  WebhookKeypair,
  WebhookVerifierOptions,
  SignRequestOptions as NativeSignRequestOptions,
  OtpOptionsInput,
  TotpVerifyOptions as NativeTotpVerifyOptions,
  OtpAuthUri,
  ThrottleOptions,
  TotpManagerOptions,
  Enrollment,
  ChallengeOptions,
  RecoveryOptions,
  RatePolicy,
  ResolverOptions,
  PasswordPolicyOptions,
  PasswordViolation,
  PasswordHasherOptions,
  DpopProof,
  DpopProofOptions,
  DpopVerifierOptions,
  RemoteJwksOptionsJs,
  RemoteJwksStatus as NativeRemoteJwksStatus,
} from './native'

export type {
  ApiKeyRecord,
  ClientToken,
  CreateApiKeyOptions,
  CreatedApiKey,
  Defaults,
  HttpError,
  KeyInfo,
  LoginOptions,
  LoginResult,
  MintOptions,
  ParsedApiKey,
  RefreshOptions,
  SessionInfo,
  SignOptions,
  TokenPair,
  SignerOptions,
  VerifyPolicyOptions,
  VerifiedSignature,
  VerifiedWebhook,
  WebhookKeypair,
  WebhookVerifierOptions,
  OtpOptionsInput,
  OtpAuthUri,
  ThrottleOptions,
  TotpManagerOptions,
  Enrollment,
  ChallengeOptions,
  RecoveryOptions,
  RatePolicy,
  ResolverOptions,
  PasswordPolicyOptions,
  PasswordViolation,
  PasswordHasherOptions,
  DpopProof,
  DpopProofOptions,
  DpopVerifierOptions,
}

/** Seconds since the epoch, or a Date. */
export type Time = number | Date
export type Claims = Record<string, unknown>
export type KeyStatus = 'active' | 'verify_only' | 'retired'
export type VerifyOptions = Omit<NativeVerifyOptions, 'now'> & { now?: Time }
/** A JWS whose signature was verified: its header (built by JSON.parse) and raw payload. */
export interface VerifiedJws {
  header: Record<string, unknown>
  payload: Buffer
}
/** A token's header and claims, read WITHOUT verification (for display only). */
export interface Peeked {
  header: Record<string, unknown>
  claims: Claims
}

export declare class Key {
  static hmac(secret: Buffer | Uint8Array | string, alg?: string, kid?: string): Key
  static fromPem(pem: string | Buffer, alg: string, kid?: string): Key
  static fromJwk(jwk: Record<string, unknown> | string, alg?: string): Key
  static generatePem(alg: string): string
  static generateHmacSecret(alg?: string): Buffer
  get kid(): string | null
  get alg(): string
  get canSign(): boolean
  publicJwk(): Record<string, string> | null
  sign(message: Buffer | Uint8Array | string): Buffer
  verify(message: Buffer | Uint8Array | string, signature: Buffer | Uint8Array | string): boolean
}

export declare class KeySet {
  constructor(keys?: Key[])
  add(key: Key, status?: KeyStatus): void
  activate(kid: string): void
  retire(kid: string): void
  remove(kid: string): void
  list(): KeyInfo[]
  jwks(): { keys: Record<string, string>[] }
  importJwks(jwks: Record<string, unknown> | string): string[]
  sign(claims: Claims, options?: SignOptions): string
  verify(token: string, options?: VerifyOptions): Claims
  verifier(options?: Omit<NativeVerifyOptions, 'now'>): Verifier
  verifyJws(token: string, algorithms?: string[]): VerifiedJws
}

export declare class Verifier {
  verify(token: string, now?: Time): Claims
}

export declare class MemoryStore {
  constructor(capacity?: number)
  /** Rate-limited keys held (live ones, and refilled ones not yet swept out). */
  readonly rateLimitKeys: number
  /** New rate-limited keys refused (`CapacityExceeded`) because the store was full of keys still being limited. */
  readonly rateLimitRefusals: number
}

export interface RedisStoreOptions {
  /** Put before every key (default `'authgate:'`). */
  prefix?: string
  /** Seconds (default 2). */
  connectTimeout?: number
  /** Seconds to wait for each reply (default 2). */
  timeout?: number
  /** Idle connections kept for reuse (default 16). */
  maxIdle?: number
  /** PEM certificates to trust for `rediss://` instead of the system's roots. */
  caCert?: string
}

/** The store shared by many processes, in Redis; use the `…Async` methods with it. */
export declare class RedisStore {
  constructor(url: string, options?: RedisStoreOptions)
  get prefix(): string
  /** Resolves when Redis answers; rejects with `StoreUnavailable` otherwise. */
  ping(): Promise<void>
}

export type Store = MemoryStore | RedisStore

export declare class ManualClock {
  constructor(now: Time)
  now(): number
  set(now: Time): void
  advance(seconds: number): void
  /** Moves the clock by `ms` milliseconds (rate limits count milliseconds). */
  advanceMs(ms: number): void
  nowMs(): number
}

export type SessionOptions = NativeSessionOptions & { store?: Store; clock?: ManualClock }

export declare class SessionManager {
  constructor(keys: KeySet, options?: SessionOptions)
  login(userId: string, deviceId: string, options?: LoginOptions): LoginResult
  refresh(refreshToken: string): TokenPair
  verifyAccess(token: string): Claims
  revoke(sessionId: string): boolean
  revokeAll(userId: string): number
  list(userId: string): SessionInfo[]
  /** True when its store is across the network (Redis). */
  readonly remoteStore: boolean
  loginAsync(userId: string, deviceId: string, options?: LoginOptions): Promise<LoginResult>
  refreshAsync(refreshToken: string): Promise<TokenPair>
  verifyAccessAsync(token: string): Promise<Claims>
  revokeAsync(sessionId: string): Promise<boolean>
  revokeAllAsync(userId: string): Promise<number>
  listAsync(userId: string): Promise<SessionInfo[]>
}

export declare class ApiKeyManager {
  /**
   * `prefix`: the prefix keys are created with (default `ag_live_`); `acceptPrefixes`:
   * those `verify` accepts (default: only `prefix`), so a test or server key kept in the
   * same store is refused.
   */
  constructor(options?: { store?: Store; clock?: ManualClock; prefix?: string; acceptPrefixes?: string[] })
  readonly prefix: string
  readonly acceptPrefixes: string[]
  create(options?: Omit<CreateApiKeyOptions, 'expiresAt'> & { expiresAt?: Time }): CreatedApiKey
  /** Stores a key made elsewhere (`authgate keygen api-key --json`) from its parts and SHA-256. */
  importKey(options: Omit<ImportApiKeyOptions, 'expiresAt'> & { expiresAt?: Time }): ApiKeyRecord
  /** Deletes a key's record for good (`revoke` keeps it); false if there was none. */
  delete(id: string): boolean
  verify(key: string, scope?: string): ApiKeyRecord
  verifyAsync(key: string, scope?: string): Promise<ApiKeyRecord>
  readonly remoteStore: boolean
  get(id: string): ApiKeyRecord | null
  list(): ApiKeyRecord[]
  revoke(id: string): void
  disable(id: string): void
  enable(id: string): void
  roll(id: string, graceSeconds?: number): CreatedApiKey
}

/** The backend's side: mints EdDSA client tokens with a server key (created with `clientTokens: true`). */
export declare class ClientTokens {
  constructor(serverKey: string)
  /** The Ed25519 public key the tokens are verified with (what the key's record keeps). */
  readonly publicKey: Buffer
  mint(user: string, options?: { ttl?: number; now?: Time }): string
  verify(token: string, user: string, now?: Time): ClientToken
}

/** The API's side: verifies client tokens against the server keys an ApiKeyManager keeps. */
export declare class ClientTokenVerifier {
  constructor(apiKeys: ApiKeyManager)
  verify(token: string, user: string, now?: Time): ClientToken
}

/** The earlier HS256 client tokens, for migrating; each opt-out is named. */
export declare class LegacyClientTokens {
  constructor(secret: string | Buffer, options?: { allowMissingExp?: boolean; allowShortSecret?: boolean })
  mint(user: string, options?: { ttl?: number; now?: Time }): string
  /** `exp` is 0 when the token has none (`allowMissingExp`). */
  verify(token: string, user: string, now?: Time): ClientToken
}

export declare function peekUnverified(token: string): Peeked
export declare function parseApiKey(key: string): ParsedApiKey
export declare function scopeGranted(granted: string[], required: string): boolean
export declare function needsRefresh(token: string, options?: { now?: Time; margin?: number }): boolean
export declare function bearerToken(headerValue: string): string
/** The absolute URL of a request (`scheme://host/target`) from its scheme, its Host header and its raw
 * request target, as every authgate runtime builds it; INVALID_INPUT for a Host that is not a host. */
export declare function requestUrl(scheme: string, host: string, target: string): string
/** The URL a gate checks a DPoP proof against, as every authgate runtime builds it: the absolute URL
 * without its query, or the bare path when Host is absent or not a host (an absolute-form target gives
 * its path, never its authority). Never throws. */
export declare function gateUrl(scheme: string, host: string | null | undefined, target: string): string
export declare function httpError(code: ErrorCode, message: string, realm?: string): HttpError
/** A refused request's whole response as every authgate runtime sends it: lower-case header names, the JSON body. */
export declare function httpRefusal(
  code: string,
  message: string,
  retryAfter?: number | null,
  realm?: string | null,
  ratePolicy?: string | null,
  rateNumbers?: number[] | null,
): { status: number; headers: string[][]; body: string }
export declare const defaults: Defaults
export declare const ERROR_CODES: ErrorCode[]

/** Every stable error code (the core's codes in upper case). */
export type ErrorCode =
  | 'MALFORMED_TOKEN'
  | 'MISSING_TOKEN'
  | 'TOKEN_TOO_LARGE'
  | 'INVALID_SIGNATURE'
  | 'ALGORITHM_NOT_ALLOWED'
  | 'UNSUPPORTED_CRITICAL_HEADER'
  | 'INVALID_TOKEN_TYPE'
  | 'KEY_NOT_FOUND'
  | 'INVALID_KEY'
  | 'WEAK_KEY'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'INVALID_CLAIM'
  | 'MISSING_CLAIM'
  | 'INVALID_ISSUER'
  | 'INVALID_AUDIENCE'
  | 'INSUFFICIENT_SCOPE'
  | 'INVALID_REFRESH_TOKEN'
  | 'REFRESH_TOKEN_REUSED'
  | 'SESSION_REVOKED'
  | 'SESSION_EXPIRED'
  | 'INVALID_API_KEY'
  | 'MISSING_API_KEY'
  | 'API_KEY_EXPIRED'
  | 'API_KEY_REVOKED'
  | 'API_KEY_DISABLED'
  | 'API_KEY_ROTATED'
  | 'API_KEY_CREDITS_EXHAUSTED'
  | 'USER_MISMATCH'
  | 'INVALID_INPUT'
  | 'CAPACITY_EXCEEDED'
  | 'STORE_UNAVAILABLE'
  | 'KEY_SET_UNAVAILABLE'
  | 'USE_DPOP_NONCE'
  | 'INTERNAL'
  | 'MISSING_SIGNATURE'
  | 'MALFORMED_SIGNATURE'
  | 'SIGNATURE_MISMATCH'
  | 'UNKNOWN_KEY'
  | 'ALGORITHM_MISMATCH'
  | 'DIGEST_MISMATCH'
  | 'STALE_TIMESTAMP'
  | 'SIGNATURE_EXPIRED'
  | 'REPLAY_DETECTED'
  | 'MISSING_COMPONENT'
  | 'INVALID_CODE'
  | 'CODE_REUSED'
  | 'TOO_MANY_ATTEMPTS'
  | 'ACCOUNT_LOCKED'
  | 'CODE_EXPIRED'
  | 'RESEND_TOO_SOON'
  | 'DELIVERY_FAILED'
  | 'SIGNED_OUT'
  | 'REAUTHENTICATION_REQUIRED'
  | 'FETCH_FAILED'
  | 'STORAGE_FAILED'
  | 'RATE_LIMITED'
  | 'IP_NOT_ALLOWED'
  | 'WEAK_PASSWORD'

export declare class AuthError extends Error {
  readonly code: ErrorCode
  /** Seconds until trying again can succeed (`TooManyAttempts`, `ResendTooSoon`), else null. */
  readonly retryAfter: number | null
}
export declare class TokenError extends AuthError {}
export declare class KeyMaterialError extends AuthError {}
export declare class SessionError extends AuthError {}
export declare class ApiKeyError extends AuthError {}
export declare class SignatureError extends AuthError {}
export declare class OtpError extends AuthError {}
/** The client-side token manager's errors (it ships in the mobile crate; listed for parity). */
export declare class ClientError extends AuthError {}
export declare class SignedOut extends ClientError {
  readonly code: 'SIGNED_OUT'
}
export declare class ReauthenticationRequired extends ClientError {
  readonly code: 'REAUTHENTICATION_REQUIRED'
}
export declare class FetchFailed extends ClientError {
  readonly code: 'FETCH_FAILED'
}
export declare class StorageFailed extends ClientError {
  readonly code: 'STORAGE_FAILED'
}
/** A rate limit refused the request; `retryAfter` is the `Retry-After` value in seconds. */
export declare class RateLimited extends AuthError {
  readonly code: 'RATE_LIMITED'
  readonly retryAfter: number
}
export declare class IpNotAllowed extends AuthError {
  readonly code: 'IP_NOT_ALLOWED'
}
/** The password breaks the policy; `violations` lists the broken rules' codes. */
export declare class WeakPassword extends AuthError {
  readonly code: 'WEAK_PASSWORD'
  readonly violations: string[]
}
export declare class InvalidCode extends OtpError {
  readonly code: 'INVALID_CODE'
}
export declare class CodeReused extends OtpError {
  readonly code: 'CODE_REUSED'
}
export declare class TooManyAttempts extends OtpError {
  readonly code: 'TOO_MANY_ATTEMPTS'
  readonly retryAfter: number
}
/** Too many one-time codes failed in a row for the account: locked until `CodeLockout.unlock`. */
export declare class AccountLocked extends OtpError {
  readonly code: 'ACCOUNT_LOCKED'
}
export declare class CodeExpired extends OtpError {
  readonly code: 'CODE_EXPIRED'
}
export declare class ResendTooSoon extends OtpError {
  readonly code: 'RESEND_TOO_SOON'
  readonly retryAfter: number
}
export declare class DeliveryFailed extends OtpError {
  readonly code: 'DELIVERY_FAILED'
  readonly cause?: unknown
}
export declare class MissingSignature extends SignatureError {
  readonly code: 'MISSING_SIGNATURE'
}
export declare class MalformedSignature extends SignatureError {
  readonly code: 'MALFORMED_SIGNATURE'
}
export declare class SignatureMismatch extends SignatureError {
  readonly code: 'SIGNATURE_MISMATCH'
}
export declare class UnknownKey extends SignatureError {
  readonly code: 'UNKNOWN_KEY'
}
export declare class AlgorithmMismatch extends SignatureError {
  readonly code: 'ALGORITHM_MISMATCH'
}
export declare class DigestMismatch extends SignatureError {
  readonly code: 'DIGEST_MISMATCH'
}
export declare class StaleTimestamp extends SignatureError {
  readonly code: 'STALE_TIMESTAMP'
}
export declare class SignatureExpired extends SignatureError {
  readonly code: 'SIGNATURE_EXPIRED'
}
export declare class ReplayDetected extends SignatureError {
  readonly code: 'REPLAY_DETECTED'
}
export declare class MissingComponent extends SignatureError {
  readonly code: 'MISSING_COMPONENT'
}
export declare class MalformedToken extends TokenError {
  readonly code: 'MALFORMED_TOKEN'
}
/** The request carries no token at all (no Authorization header). */
export declare class MissingToken extends TokenError {
  readonly code: 'MISSING_TOKEN'
}
export declare class TokenTooLarge extends TokenError {
  readonly code: 'TOKEN_TOO_LARGE'
}
export declare class InvalidSignature extends TokenError {
  readonly code: 'INVALID_SIGNATURE'
}
export declare class AlgorithmNotAllowed extends TokenError {
  readonly code: 'ALGORITHM_NOT_ALLOWED'
}
export declare class UnsupportedCriticalHeader extends TokenError {
  readonly code: 'UNSUPPORTED_CRITICAL_HEADER'
}
export declare class InvalidTokenType extends TokenError {
  readonly code: 'INVALID_TOKEN_TYPE'
}
export declare class KeyNotFound extends TokenError {
  readonly code: 'KEY_NOT_FOUND'
}
export declare class InvalidKey extends KeyMaterialError {
  readonly code: 'INVALID_KEY'
}
export declare class WeakKey extends KeyMaterialError {
  readonly code: 'WEAK_KEY'
}
export declare class TokenExpired extends TokenError {
  readonly code: 'TOKEN_EXPIRED'
}
export declare class TokenNotYetValid extends TokenError {
  readonly code: 'TOKEN_NOT_YET_VALID'
}
export declare class InvalidClaim extends TokenError {
  readonly code: 'INVALID_CLAIM'
}
export declare class MissingClaim extends TokenError {
  readonly code: 'MISSING_CLAIM'
}
export declare class InvalidIssuer extends TokenError {
  readonly code: 'INVALID_ISSUER'
}
export declare class InvalidAudience extends TokenError {
  readonly code: 'INVALID_AUDIENCE'
}
/** The DPoP proof lacks the server's current nonce: answer with a `DPoP-Nonce` header. */
export declare class UseDpopNonce extends TokenError {
  readonly code: 'USE_DPOP_NONCE'
}
/** An identity provider's key set could not be fetched and no cached copy may be served (503). */
export declare class KeySetUnavailable extends AuthError {
  readonly code: 'KEY_SET_UNAVAILABLE'
}
export declare class InsufficientScope extends AuthError {
  readonly code: 'INSUFFICIENT_SCOPE'
}
export declare class InvalidRefreshToken extends SessionError {
  readonly code: 'INVALID_REFRESH_TOKEN'
}
export declare class RefreshTokenReused extends SessionError {
  readonly code: 'REFRESH_TOKEN_REUSED'
}
export declare class SessionRevoked extends SessionError {
  readonly code: 'SESSION_REVOKED'
}
export declare class SessionExpired extends SessionError {
  readonly code: 'SESSION_EXPIRED'
}
export declare class InvalidApiKey extends ApiKeyError {
  readonly code: 'INVALID_API_KEY'
}
/** The request carries no API key. */
export declare class MissingApiKey extends ApiKeyError {
  readonly code: 'MISSING_API_KEY'
}
export declare class ApiKeyExpired extends ApiKeyError {
  readonly code: 'API_KEY_EXPIRED'
}
export declare class ApiKeyRevoked extends ApiKeyError {
  readonly code: 'API_KEY_REVOKED'
}
export declare class ApiKeyDisabled extends ApiKeyError {
  readonly code: 'API_KEY_DISABLED'
}
export declare class ApiKeyRotated extends ApiKeyError {
  readonly code: 'API_KEY_ROTATED'
}
export declare class ApiKeyCreditsExhausted extends ApiKeyError {
  readonly code: 'API_KEY_CREDITS_EXHAUSTED'
}
export declare class UserMismatch extends TokenError {
  readonly code: 'USER_MISMATCH'
}
export declare class InvalidInput extends AuthError {
  readonly code: 'INVALID_INPUT'
}
export declare class CapacityExceeded extends AuthError {
  readonly code: 'CAPACITY_EXCEEDED'
}
export declare class StoreUnavailable extends AuthError {
  readonly code: 'STORE_UNAVAILABLE'
}
export declare class InternalError extends AuthError {
  readonly code: 'INTERNAL'
}

/** Header fields as a plain object (arrays for repeated fields), a Headers/Map, or pairs. */
export type HeaderInput =
  | Record<string, string | string[] | number | undefined>
  | (Iterable<[string, string]> & { entries?: never })
  | { entries(): Iterable<[string, string]> }
  | Array<[string, string]>
/** A request to sign or verify; `url` is absolute. */
export interface HttpMessage {
  method: string
  url: string
  headers?: HeaderInput
  body?: Buffer | Uint8Array | string | null
}
export interface SignedHeaderFields {
  'Signature-Input': string
  Signature: string
  'Content-Digest'?: string
}
export type SignatureAlgorithm = 'hmac-sha256' | 'ed25519'

export declare class SignatureKey {
  static hmacSha256(secret: Buffer | Uint8Array | string): SignatureKey
  static ed25519Pem(pem: string | Buffer): SignatureKey
  static ed25519Public(publicKey: Buffer | Uint8Array): SignatureKey
  static ed25519Seed(seed: Buffer | Uint8Array): SignatureKey
  /** A new key and the 32 bytes to keep (HMAC secret or Ed25519 seed). */
  static generate(algorithm: SignatureAlgorithm): { key: SignatureKey; secret: Buffer }
  get algorithm(): string
  get canSign(): boolean
  get publicKeyBytes(): Buffer | null
}

export declare class RequestSigner {
  constructor(keyid: string, key: SignatureKey, options?: SignerOptions & { clock?: ManualClock })
  sign(request: HttpMessage): SignedHeaderFields
}

export declare class RequestVerifier {
  constructor(
    keys: Record<string, SignatureKey> | Map<string, SignatureKey>,
    options?: VerifyPolicyOptions & { store?: Store; clock?: ManualClock },
  )
  addKey(keyid: string, key: SignatureKey): void
  removeKey(keyid: string): boolean
  verify(request: HttpMessage, select?: { label?: string; keyid?: string }): VerifiedSignature
  verifyAsync(request: HttpMessage, select?: { label?: string; keyid?: string }): Promise<VerifiedSignature>
}

export type SignRequestOptions = Omit<NativeSignRequestOptions, 'created' | 'expires'> & {
  created?: Time
  expires?: Time
}
export declare function signRequest(
  key: SignatureKey,
  request: HttpMessage,
  options: SignRequestOptions,
): SignedHeaderFields
export declare function contentDigest(body: Buffer | Uint8Array | string, algorithm?: 'sha-256' | 'sha-512'): string
export declare function verifyContentDigest(field: string, body: Buffer | Uint8Array | string): void

export declare class WebhookKey {
  constructor(key: string)
  static generateSecret(): string
  static generateKeypair(): WebhookKeypair
  get version(): string
  get canSign(): boolean
  get publicKey(): string | null
}

export declare class WebhookVerifier {
  constructor(keys: string | string[], options?: WebhookVerifierOptions & { store?: Store; clock?: ManualClock })
  verify(headers: HeaderInput, payload: Buffer | Uint8Array | string): VerifiedWebhook
  verifyAsync(headers: HeaderInput, payload: Buffer | Uint8Array | string): Promise<VerifiedWebhook>
}

export declare function signWebhook(
  keys: string | string[],
  id: string,
  timestamp: Time,
  payload: Buffer | Uint8Array | string,
): string

// One-time codes.
export type OtpSecret = string | Buffer
export type TotpVerifyOptions = Omit<NativeTotpVerifyOptions, 'time'> & { time?: Time }

export declare function generateOtpSecret(): string
export declare function base32Encode(data: Buffer | Uint8Array | string): string
export declare function base32Decode(text: string): Buffer
export declare function parseOtpauthUri(uri: string, allowShortSecret?: boolean): OtpAuthUri

export declare class Totp {
  constructor(secret: OtpSecret, options?: OtpOptionsInput)
  static fromUri(uri: string, allowShortSecret?: boolean): Totp
  now(time?: Time): string
  at(time: Time): string
  atStep(step: number): string
  step(time?: Time): number
  remainingSeconds(time?: Time): number
  verify(code: string, options?: TotpVerifyOptions): number
  provisioningUri(account: string, issuer?: string): string
  get secret(): string
  get algorithm(): string
  get digits(): number
  get period(): number
}

export declare class Hotp {
  constructor(secret: OtpSecret, options?: Omit<OtpOptionsInput, 'period'>)
  at(counter: number): string
  verify(code: string, counter: number, lookAhead?: number): number
  get secret(): string
}

export declare class QrCode {
  constructor(text: string)
  svg(scale?: number): string
  png(scale?: number): Buffer
  text(): string
  get width(): number
}

export declare class TotpManager {
  constructor(options?: TotpManagerOptions & { store?: Store; clock?: ManualClock })
  beginEnrollment(account: string): Enrollment
  confirmEnrollment(account: string, code: string): string
  cancelEnrollment(account: string): boolean
  verify(account: string, secret: OtpSecret, code: string): number
  verifyAsync(account: string, secret: OtpSecret, code: string): Promise<number>
}

export interface CodeDelivery {
  subject: string
  destination: string
  code: string
  expiresAt: number
}
export interface IssuedChallenge {
  expiresAt: number
  resendAfter: number
  attemptsLeft: number
}

export declare class Challenges {
  constructor(
    sender: (delivery: CodeDelivery) => void | Promise<void>,
    options?: ChallengeOptions & { store?: Store; clock?: ManualClock },
  )
  issue(subject: string, destination: string): Promise<IssuedChallenge>
  verify(subject: string, code: string): void
  verifyAsync(subject: string, code: string): Promise<void>
}

/** The account-wide cap on one-time-code checks (100 failed in a row by default, shared by TotpManager, Challenges and RecoveryCodes on one store). */
export declare class CodeLockout {
  constructor(options?: { store?: Store; clock?: ManualClock })
  /** Code checks of `account` that failed in a row. */
  failures(account: string): number
  /** Resets `account`'s count, unlocking its code checks; true if it had failures. */
  unlock(account: string): boolean
}

export declare class RecoveryCodes {
  constructor(options?: RecoveryOptions & { store?: Store; clock?: ManualClock })
  generate(user: string): string[]
  verify(user: string, code: string): number
  verifyAsync(user: string, code: string): Promise<number>
  remaining(user: string): number
}

/** A rate limit: an object, or text such as `'100/minute'`, `'5/second'`, `'10/5 minutes'`. */
export type Rate = RatePolicy | string
export interface CheckOptions {
  /** The policy's name (default `'default'`: 1000 per minute). */
  policy?: string
  /** Requests this one counts for (default 1). */
  cost?: number
}

/** One rate-limit decision; `headers` are formatted when first read. */
export declare class RateDecision {
  readonly policy: string
  readonly allowed: boolean
  /** Requests per window, and the window in seconds. */
  readonly limit: number
  readonly window: number
  readonly burst: number
  readonly remaining: number
  readonly resetAfterMs: number
  readonly retryAfterMs: number | null
  /** Seconds to wait (rounded up) when refused: the `Retry-After` value. */
  readonly retryAfter: number | null
  /** The time of the decision, Unix milliseconds. */
  readonly nowMs: number
  /** The store failed and the limiter fails open: let through unmetered, no headers. */
  readonly degraded: boolean
  /** `limited`: wait `retryAfter`; `insufficient_capacity`: the cost is above the burst, waiting never helps. */
  readonly outcome: 'allowed' | 'limited' | 'insufficient_capacity'
  /** Milliseconds until one more request of cost 1 goes through (0 while some are left). */
  readonly nextUnitMs: number
  /** `RateLimit-Policy`, `RateLimit`, `X-RateLimit-*` and, when refused, `Retry-After`. */
  get headers(): Record<string, string>
}

/** Named policies over a store (in memory by default), starting with `default`: 1000 per minute. */
export declare class RateLimiter {
  constructor(options?: { store?: Store; clock?: ManualClock; failureMode?: 'closed' | 'open' })
  /** `'closed'` (default): a store failure throws `StoreUnavailable`; `'open'`: let through, `degraded`. */
  failureMode: 'closed' | 'open'
  setPolicy(name: string, policy: Rate): void
  removePolicy(name: string): boolean
  policy(name: string): RatePolicy | null
  /** Grants `key` its own policy under `policy` (an app on a bigger plan). */
  setOverride(policy: string, key: string, granted: Rate): void
  removeOverride(policy: string, key: string): boolean
  /** Takes `cost` (default 1) from `key`'s bucket; a refusal has `allowed: false`. */
  check(key: string, options?: CheckOptions): RateDecision
  /** Like `check`, throwing `RateLimited` when refused. */
  enforce(key: string, options?: CheckOptions): RateDecision
  /** The state of `key` without taking anything. */
  peek(key: string, options?: Pick<CheckOptions, 'policy'>): RateDecision
  readonly remoteStore: boolean
  checkAsync(key: string, options?: CheckOptions): Promise<RateDecision>
  enforceAsync(key: string, options?: CheckOptions): Promise<RateDecision>
  peekAsync(key: string, options?: Pick<CheckOptions, 'policy'>): Promise<RateDecision>
}

/** Normalises a network (`'192.0.2.7'` → `'192.0.2.7/32'`); ambiguous forms throw `InvalidInput`. */
export declare function parseNetwork(text: string): string

export declare class IpAllowlist {
  /** `allowAny` accepts a list that lets every IPv4 or IPv6 address through (`0.0.0.0/0`, `::/0`); without it such a list throws `InvalidInput`. */
  constructor(networks: string[], options?: { allowAny?: boolean })
  contains(ip: string): boolean
  /** Throws `IpNotAllowed` unless `ip` is on the list. */
  check(ip: string): void
  get networks(): string[]
}

export declare class IpAllowlists {
  constructor()
  set(name: string, networks: string[], options?: { allowAny?: boolean }): void
  remove(name: string): boolean
  check(name: string, ip: string): void
}

/** The client's address behind trusted proxies: the right-most hop that is not one of them. */
export declare class ClientIpResolver {
  constructor(trustedProxies: string[], options?: { header?: 'x-forwarded-for' | 'forwarded' })
  /** The header this resolver reads. */
  get header(): 'x-forwarded-for' | 'forwarded'
  /** `header`: the header's value as Node gives it (`req.headers['x-forwarded-for']`). */
  resolve(peer: string, header?: string | string[] | null): string
}

export declare class PasswordPolicy {
  constructor(options?: PasswordPolicyOptions)
  static nist(options?: Pick<PasswordPolicyOptions, 'blocklist'>): PasswordPolicy
  /** `context`: the user's name, username, e-mail … the password must not contain (`contains_user_info`). */
  check(password: string, context?: string[]): PasswordViolation[]
  /** Throws `WeakPassword` whose `violations` names every broken rule. */
  enforce(password: string, context?: string[]): void
  /** Whether the built-in list of common passwords is refused (on in `nist()`). */
  readonly commonPasswords: boolean
}

/** argon2id (OWASP's parameters by default); `hash` and `verify` run off the event loop. */
export declare class PasswordHasher {
  constructor(options?: PasswordHasherOptions)
  hash(password: string): Promise<string>
  verify(password: string, hash: string): Promise<boolean>
  hashSync(password: string): string
  verifySync(password: string, hash: string): boolean
  needsRehash(hash: string): boolean
}

// Proof of possession and identity providers' key sets.
export type RemoteJwksOptions = RemoteJwksOptionsJs & { clock?: ManualClock }
export type RemoteJwksStatus = Omit<NativeRemoteJwksStatus, 'lastErrorCode' | 'lastErrorMessage'> & {
  lastError: AuthError | null
}
/** What a request presents beside its DPoP proof. */
export interface DpopRequest {
  /** The access token from `Authorization: DPoP <token>` (its hash must be the proof's `ath`). */
  accessToken?: string
  /** The access token's verified claims: its `cnf.jkt` must be the proof key's thumbprint. */
  accessClaims?: Claims
  /** The nonce the server requires now (else `UseDpopNonce`). */
  nonce?: string
}

export declare function jwkThumbprint(jwk: Record<string, unknown> | string): string
export declare function certificateThumbprint(certificate: Buffer | string): string
export declare function checkCertificateBinding(claims: Claims, certificate: Buffer | string): void
export declare function createDpopProof(key: Key, method: string, uri: string, options?: DpopProofOptions): string
export declare function generateDpopNonce(): string

export declare class DpopVerifier {
  constructor(options?: DpopVerifierOptions & { store?: Store; clock?: ManualClock })
  readonly remoteStore: boolean
  verify(proof: string, method: string, uri: string, request?: DpopRequest): DpopProof
  verifyAsync(proof: string, method: string, uri: string, request?: DpopRequest): Promise<DpopProof>
}

export declare class RemoteJwks {
  constructor(url: string, options?: RemoteJwksOptions)
  static discover(issuer: string, options?: RemoteJwksOptions): RemoteJwks
  get url(): string
  verify(token: string, options?: VerifyOptions): Promise<Claims>
  /** The same as `verify`. */
  verifyAsync(token: string, options?: VerifyOptions): Promise<Claims>
  refresh(): Promise<string[]>
  status(): RemoteJwksStatus
}
