//! One error type for the whole core. Every failure carries an [`ErrorKind`] whose
//! [`ErrorKind::code`] is a stable, machine-readable string that every binding exposes.
//! Messages name the problem and never contain a key, a token, a code or signed input.

use std::borrow::Cow;
use std::fmt;

macro_rules! error_kinds {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)+) => {
        /// What went wrong, as a stable code. New kinds may be added in minor versions.
        #[non_exhaustive]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorKind {
            /// Every kind, so bindings can test that each one maps to a specific exception.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant,)+];

            /// The stable snake_case code (`token_expired`, …).
            pub const fn code(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => $code,)+
                }
            }

            /// The kind for a code, the inverse of [`ErrorKind::code`].
            pub fn from_code(code: &str) -> Option<ErrorKind> {
                match code {
                    $($code => Some(ErrorKind::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

error_kinds! {
    /// The token is not three base64url parts with JSON header and payload.
    MalformedToken => "malformed_token",
    /// The request carries no token at all (no `Authorization` header): RFC 6750 §3.1's
    /// case for a challenge without an error code.
    MissingToken => "missing_token",
    /// The token is larger than the configured maximum.
    TokenTooLarge => "token_too_large",
    /// The signature does not match.
    InvalidSignature => "invalid_signature",
    /// The algorithm is not allowed for this key or by the validation policy (`none` never is).
    AlgorithmNotAllowed => "algorithm_not_allowed",
    /// The header lists a critical extension this library does not implement.
    UnsupportedCriticalHeader => "unsupported_critical_header",
    /// The `typ` header is not the expected token type.
    InvalidTokenType => "invalid_token_type",
    /// No usable key has the token's `kid`.
    KeyNotFound => "key_not_found",
    /// Key material is malformed or of the wrong type.
    InvalidKey => "invalid_key",
    /// The key is too short for its algorithm (RFC 8725 §3.5).
    WeakKey => "weak_key",
    /// `exp` has passed.
    TokenExpired => "token_expired",
    /// `nbf` (or `iat`) is in the future.
    TokenNotYetValid => "token_not_yet_valid",
    /// A claim has the wrong type or an out-of-range value.
    InvalidClaim => "invalid_claim",
    /// A required claim is absent.
    MissingClaim => "missing_claim",
    /// `iss` is not an accepted issuer.
    InvalidIssuer => "invalid_issuer",
    /// `aud` names none of the accepted audiences.
    InvalidAudience => "invalid_audience",
    /// The token or key lacks a required scope.
    InsufficientScope => "insufficient_scope",
    /// The refresh token is unknown, malformed or no longer tracked.
    InvalidRefreshToken => "invalid_refresh_token",
    /// An already-rotated refresh token was presented; the session has been revoked.
    RefreshTokenReused => "refresh_token_reused",
    /// The session was revoked (sign-out, "log out of all devices", reuse detection).
    SessionRevoked => "session_revoked",
    /// The session passed its idle timeout or absolute lifetime.
    SessionExpired => "session_expired",
    /// The API key is malformed, has a bad checksum, or is unknown.
    InvalidApiKey => "invalid_api_key",
    /// The request carries no API key (no `x-api-key` header).
    MissingApiKey => "missing_api_key",
    /// The API key's expiry has passed.
    ApiKeyExpired => "api_key_expired",
    /// The API key was revoked.
    ApiKeyRevoked => "api_key_revoked",
    /// The API key is disabled.
    ApiKeyDisabled => "api_key_disabled",
    /// The API key was rolled and its grace period has ended.
    ApiKeyRotated => "api_key_rotated",
    /// The API key has no usage credits left.
    ApiKeyCreditsExhausted => "api_key_credits_exhausted",
    /// The client token was issued for another user.
    UserMismatch => "user_mismatch",
    /// The request carries no signature (or none with the requested label or key id).
    MissingSignature => "missing_signature",
    /// A `Signature-Input`, `Signature`, `Content-Digest` or webhook header is malformed
    /// or larger than the limits.
    MalformedSignature => "malformed_signature",
    /// A request or webhook signature does not match its content.
    SignatureMismatch => "signature_mismatch",
    /// No key is known for the signature's `keyid`.
    UnknownKey => "unknown_key",
    /// The signature's algorithm is not the one bound to its key.
    AlgorithmMismatch => "algorithm_mismatch",
    /// `Content-Digest` does not match the body.
    DigestMismatch => "digest_mismatch",
    /// `created` (or the webhook timestamp) is outside the allowed clock-skew window.
    StaleTimestamp => "stale_timestamp",
    /// The signature's `expires` has passed.
    SignatureExpired => "signature_expired",
    /// The nonce (or webhook id) was already seen: a replay.
    ReplayDetected => "replay_detected",
    /// A component or signature parameter the policy requires is not covered, or a
    /// covered component is absent from the request.
    MissingComponent => "missing_component",
    /// A one-time code (TOTP, HOTP, SMS/email or recovery code) is wrong or malformed.
    InvalidCode => "invalid_code",
    /// The one-time code's time step was already used, or an earlier one was accepted.
    CodeReused => "code_reused",
    /// Too many wrong codes: attempts are refused for a while (see `retry_after`).
    TooManyAttempts => "too_many_attempts",
    /// The account's one-time-code checks are locked: too many failed in a row (NIST SP
    /// 800-63B §5.2.2's cap, 100 by default). Stays locked until the application unlocks it.
    AccountLocked => "account_locked",
    /// No live challenge or pending enrollment: never started, expired, or already used.
    CodeExpired => "code_expired",
    /// A new code was asked for before the resend cooldown ended (see `retry_after`).
    ResendTooSoon => "resend_too_soon",
    /// The application's sender could not deliver the code.
    DeliveryFailed => "delivery_failed",
    /// The client-side token manager holds no tokens: never signed in, signed out, or the
    /// server refused the refresh token.
    SignedOut => "signed_out",
    /// The stored tokens can no longer be read (storage keys lost, unreadable value): the
    /// user must sign in again.
    ReauthenticationRequired => "reauthentication_required",
    /// The app's fetcher could not get new tokens (network or server failure); the tokens
    /// are kept and the call can be retried.
    FetchFailed => "fetch_failed",
    /// The app's token storage failed to read, write or delete.
    StorageFailed => "storage_failed",
    /// A rate limit refused the request (see `retry_after`).
    RateLimited => "rate_limited",
    /// The client's IP address is not on the allowlist.
    IpNotAllowed => "ip_not_allowed",
    /// A password breaks the password policy (the message names every broken rule).
    WeakPassword => "weak_password",
    /// An argument is out of range or malformed.
    InvalidInput => "invalid_input",
    /// A bounded store is full of live entries.
    CapacityExceeded => "capacity_exceeded",
    /// The store backend failed (e.g. Redis unreachable).
    StoreUnavailable => "store_unavailable",
    /// An identity provider's key set (remote JWKS) could not be fetched and no cached copy
    /// young enough to serve is left.
    KeySetUnavailable => "key_set_unavailable",
    /// The DPoP proof lacks the server's current nonce: answer with a `DPoP-Nonce` header
    /// so the client can retry (RFC 9449 §8).
    UseDpopNonce => "use_dpop_nonce",
    /// An internal failure (e.g. the OS random source failed).
    Internal => "internal",
}

impl ErrorKind {
    /// The family an error belongs to, which bindings mirror as a base class:
    /// `token`, `key_material`, `session`, `api_key`, `signature`, `otp`, `client` (the
    /// client-side token manager), or `auth` for the rest.
    pub const fn family(self) -> &'static str {
        use ErrorKind::*;
        match self {
            MalformedToken
            | MissingToken
            | TokenTooLarge
            | InvalidSignature
            | AlgorithmNotAllowed
            | UnsupportedCriticalHeader
            | InvalidTokenType
            | KeyNotFound
            | TokenExpired
            | TokenNotYetValid
            | InvalidClaim
            | MissingClaim
            | InvalidIssuer
            | InvalidAudience
            | UserMismatch
            | UseDpopNonce => "token",
            InvalidKey | WeakKey => "key_material",
            InvalidRefreshToken | RefreshTokenReused | SessionRevoked | SessionExpired => "session",
            InvalidApiKey
            | MissingApiKey
            | ApiKeyExpired
            | ApiKeyRevoked
            | ApiKeyDisabled
            | ApiKeyRotated
            | ApiKeyCreditsExhausted => "api_key",
            MissingSignature | MalformedSignature | SignatureMismatch | UnknownKey
            | AlgorithmMismatch | DigestMismatch | StaleTimestamp | SignatureExpired
            | ReplayDetected | MissingComponent => "signature",
            InvalidCode | CodeReused | TooManyAttempts | CodeExpired | ResendTooSoon
            | DeliveryFailed | AccountLocked => "otp",
            SignedOut | ReauthenticationRequired | FetchFailed | StorageFailed => "client",
            InsufficientScope | RateLimited | IpNotAllowed | WeakPassword | InvalidInput
            | CapacityExceeded | StoreUnavailable | KeySetUnavailable | Internal => "auth",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The core's error: a kind with a stable code, a human-readable message, and its details
/// as data (what every binding exposes in its own naming and the HTTP body carries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
    retry_after: Option<u64>,
    violations: Vec<String>,
}

impl Error {
    /// An error of `kind` with a message (which must not contain secrets).
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            message: message.into(),
            retry_after: None,
            violations: Vec::new(),
        }
    }

    /// The same error, listing the broken rules' codes (`weak_password`).
    pub fn with_violations<S: Into<String>>(mut self, codes: impl IntoIterator<Item = S>) -> Self {
        self.violations = codes.into_iter().map(Into::into).collect();
        self
    }

    /// The codes of the rules a password broke (`too_short`, `common_password`, …), for
    /// `weak_password`; empty otherwise.
    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    /// The HTTP status a server answers with (see [`ErrorKind::http_status`]).
    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }

    /// The same error, saying the caller may try again in `seconds`.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Seconds until trying again can succeed, for throttling errors (`too_many_attempts`,
    /// `resend_too_soon`): what an HTTP `Retry-After` header carries.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable machine-readable code, e.g. `token_expired`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand constructor used throughout the core: `err(ErrorKind::X, "message")`.
pub(crate) fn err<T>(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Result<T> {
    Err(Error::new(kind, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            assert!(seen.insert(kind.code()), "duplicate code {}", kind.code());
            assert_eq!(ErrorKind::from_code(kind.code()), Some(*kind));
            assert!(kind
                .code()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        assert_eq!(ErrorKind::from_code("nope"), None);
    }
}
