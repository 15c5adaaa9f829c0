"""authgate's exceptions: one class per stable error code, all subclasses of AuthError.

Catch ``AuthError`` for everything, a group (``TokenError``, ``SessionError``,
``ApiKeyError``, ``SignatureError``, ``OtpError``, ``ClientError``) for a family, or one class. Every instance
has ``.code``, the stable machine-readable code shared by every authgate runtime, a message
that never holds a key, a token, a code or signed input, and ``.retry_after`` (seconds, or
``None``) for the throttling errors.
"""

from __future__ import annotations

from typing import ClassVar


class AuthError(Exception):
    """Base class of every authgate error."""

    code: ClassVar[str] = "auth_error"
    #: The HTTP status a server answers this error with (the core's table).
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: Seconds until trying again can succeed (``TooManyAttempts``, ``ResendTooSoon``).
        self.retry_after = retry_after
        #: The broken rules' codes, for ``WeakPassword``; empty otherwise.
        self.violations: list[str] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class TokenError(AuthError):
    """A token (JWT, JWS, client token) was refused."""


class KeyMaterialError(AuthError):
    """Key material is malformed or too weak."""


class SessionError(AuthError):
    """A refresh token or session was refused."""


class ApiKeyError(AuthError):
    """An API key was refused."""


class SignatureError(AuthError):
    """A signed request (RFC 9421) or webhook signature was refused."""


class OtpError(AuthError):
    """A one-time code (authenticator app, SMS/email, recovery code) was refused."""


class ClientError(AuthError):
    """The client-side token manager (mobile crate) could not give a token."""


class MalformedToken(TokenError):
    code = "malformed_token"


class MissingToken(TokenError):
    """The request carries no token at all (no ``Authorization`` header)."""

    code = "missing_token"


class TokenTooLarge(TokenError):
    code = "token_too_large"


class InvalidSignature(TokenError):
    code = "invalid_signature"


class AlgorithmNotAllowed(TokenError):
    code = "algorithm_not_allowed"


class UnsupportedCriticalHeader(TokenError):
    code = "unsupported_critical_header"


class InvalidTokenType(TokenError):
    code = "invalid_token_type"


class KeyNotFound(TokenError):
    code = "key_not_found"


class TokenExpired(TokenError):
    code = "token_expired"


class TokenNotYetValid(TokenError):
    code = "token_not_yet_valid"


class InvalidClaim(TokenError):
    code = "invalid_claim"


class MissingClaim(TokenError):
    code = "missing_claim"


class InvalidIssuer(TokenError):
    code = "invalid_issuer"


class InvalidAudience(TokenError):
    code = "invalid_audience"


class UseDpopNonce(TokenError):
    """The DPoP proof lacks the server's current nonce: answer with a ``DPoP-Nonce``
    header so the client retries with it (RFC 9449 §8)."""

    code = "use_dpop_nonce"


class UserMismatch(TokenError):
    code = "user_mismatch"


class InvalidKey(KeyMaterialError):
    code = "invalid_key"


class WeakKey(KeyMaterialError):
    code = "weak_key"


class InsufficientScope(AuthError):
    code = "insufficient_scope"


class CapacityExceeded(AuthError):
    code = "capacity_exceeded"


class StoreUnavailable(AuthError):
    code = "store_unavailable"


class KeySetUnavailable(AuthError):
    """An identity provider's key set could not be fetched and no cached copy young enough
    to serve is left (answer 503: the token may well be good)."""

    code = "key_set_unavailable"


class InternalError(AuthError):
    code = "internal"


class InvalidRefreshToken(SessionError):
    code = "invalid_refresh_token"


class RefreshTokenReused(SessionError):
    code = "refresh_token_reused"


class SessionRevoked(SessionError):
    code = "session_revoked"


class SessionExpired(SessionError):
    code = "session_expired"


class InvalidApiKey(ApiKeyError):
    code = "invalid_api_key"


class MissingApiKey(ApiKeyError):
    """The request carries no API key."""

    code = "missing_api_key"


class ApiKeyExpired(ApiKeyError):
    code = "api_key_expired"


class ApiKeyRevoked(ApiKeyError):
    code = "api_key_revoked"


class ApiKeyDisabled(ApiKeyError):
    code = "api_key_disabled"


class ApiKeyRotated(ApiKeyError):
    code = "api_key_rotated"


class ApiKeyCreditsExhausted(ApiKeyError):
    code = "api_key_credits_exhausted"


class MissingSignature(SignatureError):
    code = "missing_signature"


class MalformedSignature(SignatureError):
    code = "malformed_signature"


class SignatureMismatch(SignatureError):
    code = "signature_mismatch"


class UnknownKey(SignatureError):
    code = "unknown_key"


class AlgorithmMismatch(SignatureError):
    code = "algorithm_mismatch"


class DigestMismatch(SignatureError):
    code = "digest_mismatch"


class StaleTimestamp(SignatureError):
    code = "stale_timestamp"


class SignatureExpired(SignatureError):
    code = "signature_expired"


class ReplayDetected(SignatureError):
    code = "replay_detected"


class MissingComponent(SignatureError):
    code = "missing_component"


class InvalidCode(OtpError):
    code = "invalid_code"


class CodeReused(OtpError):
    code = "code_reused"


class TooManyAttempts(OtpError):
    code = "too_many_attempts"


class AccountLocked(OtpError):
    """Too many one-time codes failed in a row for this account: its code checks stay locked
    until the application unlocks them (``CodeLockout.unlock``)."""

    code = "account_locked"


class CodeExpired(OtpError):
    code = "code_expired"


class ResendTooSoon(OtpError):
    code = "resend_too_soon"


class DeliveryFailed(OtpError):
    code = "delivery_failed"


class SignedOut(ClientError):
    code = "signed_out"


class ReauthenticationRequired(ClientError):
    code = "reauthentication_required"


class FetchFailed(ClientError):
    code = "fetch_failed"


class StorageFailed(ClientError):
    code = "storage_failed"


class RateLimited(AuthError):
    """A rate limit refused the request; ``retry_after`` is the ``Retry-After`` value."""

    code = "rate_limited"


class IpNotAllowed(AuthError):
    code = "ip_not_allowed"


class WeakPassword(AuthError, ValueError):
    """The password breaks the policy; ``violations`` lists the broken rules' codes."""

    code = "weak_password"


class InvalidInput(AuthError, ValueError):
    code = "invalid_input"


def _leaf_classes() -> dict[str, type[AuthError]]:
    found: dict[str, type[AuthError]] = {}
    pending: list[type[AuthError]] = [AuthError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "code" in cls.__dict__ and cls is not AuthError:
            found[cls.code] = cls
    return found


#: code → exception class; the Rust extension raises through this table.
_BY_CODE: dict[str, type[AuthError]] = _leaf_classes()


def _set_statuses() -> None:
    from authgate._authgate import error_statuses

    for code, status in error_statuses().items():
        if code in _BY_CODE:
            _BY_CODE[code].http_status = status


_set_statuses()

__all__ = [
    "AuthError",
    "TokenError",
    "KeyMaterialError",
    "SessionError",
    "ApiKeyError",
    "SignatureError",
    "OtpError",
    "InvalidCode",
    "CodeReused",
    "TooManyAttempts",
    "AccountLocked",
    "CodeExpired",
    "ResendTooSoon",
    "DeliveryFailed",
    "ClientError",
    "SignedOut",
    "ReauthenticationRequired",
    "FetchFailed",
    "StorageFailed",
    "MalformedToken",
    "MissingToken",
    "TokenTooLarge",
    "InvalidSignature",
    "AlgorithmNotAllowed",
    "UnsupportedCriticalHeader",
    "InvalidTokenType",
    "KeyNotFound",
    "TokenExpired",
    "TokenNotYetValid",
    "InvalidClaim",
    "MissingClaim",
    "InvalidIssuer",
    "InvalidAudience",
    "UserMismatch",
    "InvalidKey",
    "WeakKey",
    "InsufficientScope",
    "CapacityExceeded",
    "StoreUnavailable",
    "KeySetUnavailable",
    "UseDpopNonce",
    "InternalError",
    "InvalidRefreshToken",
    "RefreshTokenReused",
    "SessionRevoked",
    "SessionExpired",
    "InvalidApiKey",
    "MissingApiKey",
    "ApiKeyExpired",
    "ApiKeyRevoked",
    "ApiKeyDisabled",
    "ApiKeyRotated",
    "ApiKeyCreditsExhausted",
    "MissingSignature",
    "MalformedSignature",
    "SignatureMismatch",
    "UnknownKey",
    "AlgorithmMismatch",
    "DigestMismatch",
    "StaleTimestamp",
    "SignatureExpired",
    "ReplayDetected",
    "MissingComponent",
    "RateLimited",
    "IpNotAllowed",
    "WeakPassword",
    "InvalidInput",
]
