// ESM entry: the same objects as the CommonJS one (the list is checked by test/types.test.mjs).
import authgate from './index.js'

export const {
  Key, KeySet, Verifier, MemoryStore, RedisStore, ManualClock, SessionManager,
  ApiKeyManager, ClientTokens, ClientTokenVerifier, LegacyClientTokens, peekUnverified, parseApiKey, scopeGranted, needsRefresh,
  bearerToken, requestUrl, httpError, httpRefusal, defaults, ERROR_CODES, AuthError, TokenError,
  KeyMaterialError, SessionError, ApiKeyError, InvalidClaim, InvalidAudience, ApiKeyExpired,
  UnsupportedCriticalHeader, ApiKeyDisabled, InvalidKey, TokenNotYetValid, InvalidTokenType, UserMismatch,
  RefreshTokenReused, SessionExpired, InvalidApiKey, TokenTooLarge, InsufficientScope, ApiKeyRevoked,
  AlgorithmNotAllowed, CapacityExceeded, InternalError, InvalidSignature, InvalidInput, ApiKeyRotated,
  StoreUnavailable, TokenExpired, MalformedToken, SessionRevoked, ApiKeyCreditsExhausted, MissingClaim,
  InvalidIssuer, InvalidRefreshToken, WeakKey, KeyNotFound, MissingToken, MissingApiKey,
  SignatureKey, RequestSigner, RequestVerifier, WebhookKey, WebhookVerifier, signRequest, signWebhook,
  contentDigest, verifyContentDigest, SignatureError, MissingSignature, MalformedSignature,
  SignatureMismatch, UnknownKey, AlgorithmMismatch, DigestMismatch, StaleTimestamp, SignatureExpired,
  ReplayDetected, MissingComponent,
  Totp, Hotp, QrCode, TotpManager, Challenges, RecoveryCodes, CodeLockout, generateOtpSecret, base32Encode,
  base32Decode, parseOtpauthUri, OtpError, InvalidCode, CodeReused, TooManyAttempts, AccountLocked, CodeExpired,
  ResendTooSoon, DeliveryFailed, ClientError, SignedOut, ReauthenticationRequired, FetchFailed, StorageFailed,
  RateLimiter, RateDecision, IpAllowlist, IpAllowlists, ClientIpResolver, parseNetwork, PasswordPolicy, PasswordHasher,
  RateLimited, IpNotAllowed, WeakPassword,
  DpopVerifier, RemoteJwks, jwkThumbprint, certificateThumbprint, checkCertificateBinding, createDpopProof,
  generateDpopNonce, UseDpopNonce, KeySetUnavailable,
} = authgate
export default authgate
