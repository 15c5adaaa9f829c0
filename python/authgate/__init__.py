"""authgate: API security primitives from one audited Rust core.

JWT key sets (HS*, RS*, PS*, ES256/384, EdDSA) with rotation and JWKS, sessions with
rotating refresh tokens and reuse detection, API keys and server keys, client tokens.
Every check runs in the Rust core shared with the Node, Kotlin and Swift packages.
"""

from authgate._authgate import (
    ACCESS_TOKEN_TYPE,
    ALGORITHMS,
    DEFAULT_ABSOLUTE_LIFETIME_SECS,
    DEFAULT_ACCESS_TTL_SECS,
    DEFAULT_CLIENT_TOKEN_TTL_SECS,
    DEFAULT_IDLE_TIMEOUT_SECS,
    DEFAULT_LEEWAY_SECS,
    DEFAULT_MAX_TOKEN_BYTES,
    ERROR_CODES,
    ApiKeyManager,
    ApiKeyRecord,
    ClientToken,
    ClientTokens,
    Key,
    KeySet,
    LoginResult,
    ManualClock,
    MemoryStore,
    ParsedApiKey,
    SessionInfo,
    SessionManager,
    TokenPair,
    Verifier,
    __version__,
    bearer_token,
    needs_refresh,
    parse_api_key,
    peek_unverified,
    scope_granted,
    sign_with,
)
from authgate import errors as _errors
from authgate.errors import *  # noqa: F403 (the exception classes, listed in errors.__all__)

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "ALGORITHMS",
    "DEFAULT_ABSOLUTE_LIFETIME_SECS",
    "DEFAULT_ACCESS_TTL_SECS",
    "DEFAULT_CLIENT_TOKEN_TTL_SECS",
    "DEFAULT_IDLE_TIMEOUT_SECS",
    "DEFAULT_LEEWAY_SECS",
    "DEFAULT_MAX_TOKEN_BYTES",
    "ERROR_CODES",
    "ApiKeyManager",
    "ApiKeyRecord",
    "ClientToken",
    "ClientTokens",
    "Key",
    "KeySet",
    "LoginResult",
    "ManualClock",
    "MemoryStore",
    "ParsedApiKey",
    "SessionInfo",
    "SessionManager",
    "TokenPair",
    "Verifier",
    "__version__",
    "bearer_token",
    "needs_refresh",
    "parse_api_key",
    "peek_unverified",
    "scope_granted",
    "sign_with",
]
__all__ += _errors.__all__
