// ESM entry: the same objects as the CommonJS one.
import authgate from './index.js'

export const {
  Key, KeySet, Verifier, MemoryStore, ManualClock, SessionManager, ApiKeyManager, ClientTokens,
  peekUnverified, parseApiKey, scopeGranted, needsRefresh, bearerToken, httpError, defaults, ERROR_CODES,
  AuthError, TokenError, KeyMaterialError, SessionError, ApiKeyError,
} = authgate
export default authgate
