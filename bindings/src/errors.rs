//! The core's errors as one UniFFI error enum: a variant per family (Kotlin
//! `AuthgateException.Client`, Swift `AuthgateError.Client`) carrying the stable code, the
//! message and, for throttling errors, the seconds to wait. Panics stop here too.

use std::panic::{catch_unwind, AssertUnwindSafe};

use authgate_core::{Error, ErrorKind};

macro_rules! error_codes {
    ($($kind:ident),+ $(,)?) => {
        /// The core's stable error codes. In Kotlin `ErrorCode.TOKEN_EXPIRED`, in Swift
        /// `.tokenExpired`; lower-cased, the Kotlin name is the code every runtime shares
        /// (`token_expired`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum ErrorCode {
            $($kind,)+
        }

        impl From<ErrorKind> for ErrorCode {
            fn from(kind: ErrorKind) -> Self {
                match kind {
                    $(ErrorKind::$kind => ErrorCode::$kind,)+
                    // A kind added to the core after this list: the test below fails.
                    _ => ErrorCode::Internal,
                }
            }
        }
    };
}

error_codes! {
    MalformedToken, MissingToken, TokenTooLarge, InvalidSignature, AlgorithmNotAllowed,
    UnsupportedCriticalHeader, InvalidTokenType, KeyNotFound, InvalidKey, WeakKey, TokenExpired,
    TokenNotYetValid, InvalidClaim, MissingClaim, InvalidIssuer, InvalidAudience,
    InsufficientScope, InvalidRefreshToken, RefreshTokenReused, SessionRevoked, SessionExpired,
    InvalidApiKey, MissingApiKey, ApiKeyExpired, ApiKeyRevoked, ApiKeyDisabled, ApiKeyRotated,
    ApiKeyCreditsExhausted, UserMismatch, MissingSignature, MalformedSignature,
    SignatureMismatch, UnknownKey, AlgorithmMismatch, DigestMismatch, StaleTimestamp,
    SignatureExpired, ReplayDetected, MissingComponent, InvalidCode, CodeReused,
    TooManyAttempts, AccountLocked, CodeExpired, ResendTooSoon, DeliveryFailed, SignedOut,
    ReauthenticationRequired, FetchFailed, StorageFailed, RateLimited, IpNotAllowed, WeakPassword,
    InvalidInput, CapacityExceeded,
    StoreUnavailable, KeySetUnavailable, UseDpopNonce, Internal,
}

/// Every authgate failure. Catch the whole enum, a family, or match on `code`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum AuthgateError {
    #[error("{detail}")]
    Token { code: ErrorCode, detail: String },
    #[error("{detail}")]
    KeyMaterial { code: ErrorCode, detail: String },
    #[error("{detail}")]
    Session { code: ErrorCode, detail: String },
    #[error("{detail}")]
    ApiKey { code: ErrorCode, detail: String },
    #[error("{detail}")]
    Signature { code: ErrorCode, detail: String },
    /// `retry_after_secs` is set for `too_many_attempts` and `resend_too_soon`.
    #[error("{detail}")]
    Otp {
        code: ErrorCode,
        detail: String,
        retry_after_secs: Option<u64>,
    },
    /// The token manager: `signed_out`, `reauthentication_required` (show the sign-in
    /// screen), `fetch_failed` (retry later), `storage_failed`.
    #[error("{detail}")]
    Client { code: ErrorCode, detail: String },
    /// Everything else: `invalid_input`, `internal`, …
    #[error("{detail}")]
    Other { code: ErrorCode, detail: String },
}

impl AuthgateError {
    /// The stable code, whatever the family.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthgateError::Token { code, .. }
            | AuthgateError::KeyMaterial { code, .. }
            | AuthgateError::Session { code, .. }
            | AuthgateError::ApiKey { code, .. }
            | AuthgateError::Signature { code, .. }
            | AuthgateError::Otp { code, .. }
            | AuthgateError::Client { code, .. }
            | AuthgateError::Other { code, .. } => *code,
        }
    }
}

impl From<Error> for AuthgateError {
    fn from(e: Error) -> Self {
        let code = ErrorCode::from(e.kind());
        let detail = e.message().to_string();
        match e.kind().family() {
            "token" => AuthgateError::Token { code, detail },
            "key_material" => AuthgateError::KeyMaterial { code, detail },
            "session" => AuthgateError::Session { code, detail },
            "api_key" => AuthgateError::ApiKey { code, detail },
            "signature" => AuthgateError::Signature { code, detail },
            "otp" => AuthgateError::Otp {
                code,
                detail,
                retry_after_secs: e.retry_after(),
            },
            "client" => AuthgateError::Client { code, detail },
            _ => AuthgateError::Other { code, detail },
        }
    }
}

pub type Result<T, E = AuthgateError> = std::result::Result<T, E>;

/// Runs a core call for an exported function: its error becomes an [`AuthgateError`] and a
/// panic becomes `internal` (Swift cannot recover from a panic in a non-throwing call).
pub fn guard<T>(f: impl FnOnce() -> authgate_core::Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(AuthgateError::from),
        Err(_) => Err(Error::new(
            ErrorKind::Internal,
            "internal error in authgate (the operation panicked)",
        )
        .into()),
    }
}

/// `invalid_input` for an argument the binding itself refuses.
pub fn invalid_input(detail: impl Into<String>) -> AuthgateError {
    AuthgateError::Other {
        code: ErrorCode::InvalidInput,
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `TokenExpired` → `token_expired`: what Kotlin's enum name gives lower-cased.
    fn snake(name: &str) -> String {
        let mut out = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    #[test]
    fn every_core_kind_has_its_own_code_and_family() {
        for kind in ErrorKind::ALL {
            let err = AuthgateError::from(Error::new(*kind, "m"));
            assert_eq!(snake(&format!("{:?}", err.code())), kind.code());
            let family = match err {
                AuthgateError::Token { .. } => "token",
                AuthgateError::KeyMaterial { .. } => "key_material",
                AuthgateError::Session { .. } => "session",
                AuthgateError::ApiKey { .. } => "api_key",
                AuthgateError::Signature { .. } => "signature",
                AuthgateError::Otp { .. } => "otp",
                AuthgateError::Client { .. } => "client",
                AuthgateError::Other { .. } => "auth",
            };
            assert_eq!(family, kind.family(), "{}", kind.code());
        }
    }

    #[test]
    fn retry_after_and_message_travel() {
        let e = Error::new(ErrorKind::TooManyAttempts, "too many wrong codes").with_retry_after(30);
        match AuthgateError::from(e) {
            AuthgateError::Otp {
                retry_after_secs,
                detail,
                ..
            } => {
                assert_eq!(retry_after_secs, Some(30));
                assert_eq!(detail, "too many wrong codes");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_panic_becomes_internal() {
        let got: Result<()> = guard(|| panic!("boom"));
        assert_eq!(got.unwrap_err().code(), ErrorCode::Internal);
    }
}
