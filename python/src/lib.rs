//! `authgate._authgate`: the Python binding of authgate-core. Each module mirrors a
//! module of the core and only converts arguments, calls the core and maps errors.

mod allowlist;
mod apikey;
mod client_token;
mod convert;
mod errors;
mod gate;
mod http;
mod jwt;
mod otp;
mod password;
mod pop;
mod ratelimit;
mod session;
mod signature;

use authgate_core::{client_token as ct, jwt as core_jwt, session as core_session, ErrorKind};
use pyo3::prelude::*;

#[pymodule]
fn _authgate(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "ERROR_CODES",
        ErrorKind::ALL.iter().map(|k| k.code()).collect::<Vec<_>>(),
    )?;
    let families: std::collections::HashMap<_, _> = ErrorKind::ALL
        .iter()
        .map(|k| (k.code(), k.family()))
        .collect();
    m.add("ERROR_FAMILIES", families)?;
    m.add(
        "ALGORITHMS",
        core_jwt::Algorithm::ALL
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>(),
    )?;
    m.add("DEFAULT_LEEWAY_SECS", core_jwt::DEFAULT_LEEWAY_SECS)?;
    m.add(
        "CLIENT_RATE_POLICY",
        authgate_core::ratelimit::CLIENT_POLICY,
    )?;
    m.add("DEFAULT_MAX_TOKEN_BYTES", core_jwt::DEFAULT_MAX_TOKEN_BYTES)?;
    m.add(
        "DEFAULT_ACCESS_TTL_SECS",
        core_session::DEFAULT_ACCESS_TTL_SECS,
    )?;
    m.add(
        "DEFAULT_IDLE_TIMEOUT_SECS",
        core_session::DEFAULT_IDLE_TIMEOUT_SECS,
    )?;
    m.add(
        "DEFAULT_ABSOLUTE_LIFETIME_SECS",
        core_session::DEFAULT_ABSOLUTE_LIFETIME_SECS,
    )?;
    m.add(
        "DEFAULT_CLIENT_TOKEN_TTL_SECS",
        ct::DEFAULT_CLIENT_TOKEN_TTL_SECS,
    )?;
    m.add("ACCESS_TOKEN_TYPE", core_jwt::ACCESS_TOKEN_TYPE)?;
    m.add_class::<jwt::PyKey>()?;
    m.add_class::<jwt::PyKeySet>()?;
    m.add_class::<jwt::PyVerifier>()?;
    m.add_function(wrap_pyfunction!(jwt::peek_unverified, m)?)?;
    m.add_function(wrap_pyfunction!(jwt::sign_with, m)?)?;
    m.add_class::<session::PyMemoryStore>()?;
    m.add_class::<session::PyRedisStore>()?;
    m.add_class::<session::PyManualClock>()?;
    m.add_class::<session::PyTokenPair>()?;
    m.add_class::<session::PyLoginResult>()?;
    m.add_class::<session::PySessionInfo>()?;
    m.add_class::<session::PySessionManager>()?;
    m.add_class::<apikey::PyApiKeyRecord>()?;
    m.add_class::<apikey::PyParsedApiKey>()?;
    m.add_class::<apikey::PyApiKeyManager>()?;
    m.add_function(wrap_pyfunction!(apikey::parse_api_key, m)?)?;
    m.add_function(wrap_pyfunction!(apikey::scope_granted, m)?)?;
    m.add_class::<client_token::PyClientToken>()?;
    m.add_class::<client_token::PyClientTokens>()?;
    m.add_class::<client_token::PyClientTokenVerifier>()?;
    m.add_class::<client_token::PyLegacyClientTokens>()?;
    m.add_function(wrap_pyfunction!(client_token::needs_refresh, m)?)?;
    m.add_class::<gate::PyCoreGate>()?;
    m.add_class::<gate::PyGateRoute>()?;
    m.add_class::<gate::PyAdmission>()?; // AuthContext
    m.add_class::<gate::PyGateRefusal>()?;
    m.add_function(wrap_pyfunction!(http::bearer_token, m)?)?;
    m.add_function(wrap_pyfunction!(http::request_url, m)?)?;
    m.add_function(wrap_pyfunction!(http::gate_url, m)?)?;
    m.add_function(wrap_pyfunction!(http::http_error, m)?)?;
    m.add_function(wrap_pyfunction!(http::http_refusal, m)?)?;
    m.add_function(wrap_pyfunction!(http::error_statuses, m)?)?;
    m.add_function(wrap_pyfunction!(errors::error_for_code, m)?)?;
    m.add_class::<signature::PySignatureKey>()?;
    m.add_class::<signature::PyRequestSigner>()?;
    m.add_class::<signature::PyRequestVerifier>()?;
    m.add_class::<signature::PyVerifiedSignature>()?;
    m.add_function(wrap_pyfunction!(signature::sign_request, m)?)?;
    m.add_function(wrap_pyfunction!(signature::content_digest, m)?)?;
    m.add_function(wrap_pyfunction!(signature::verify_content_digest, m)?)?;
    m.add_class::<signature::PyWebhookKey>()?;
    m.add_class::<signature::PyWebhookVerifier>()?;
    m.add_class::<signature::PyVerifiedWebhook>()?;
    m.add_function(wrap_pyfunction!(signature::sign_webhook, m)?)?;
    m.add_class::<otp::PyTotp>()?;
    m.add_class::<otp::PyHotp>()?;
    m.add_class::<otp::PyOtpAuthUri>()?;
    m.add_class::<otp::PyQrCode>()?;
    m.add_class::<otp::PyThrottlePolicy>()?;
    m.add_class::<otp::PyEnrollment>()?;
    m.add_class::<otp::PyTotpManager>()?;
    m.add_class::<otp::PyCodeDelivery>()?;
    m.add_class::<otp::PyIssuedChallenge>()?;
    m.add_class::<otp::PyChallenges>()?;
    m.add_class::<otp::PyRecoveryCodes>()?;
    m.add_class::<otp::PyCodeLockout>()?;
    m.add_function(wrap_pyfunction!(otp::generate_otp_secret, m)?)?;
    m.add_function(wrap_pyfunction!(otp::base32_encode, m)?)?;
    m.add_function(wrap_pyfunction!(otp::base32_decode, m)?)?;
    m.add_function(wrap_pyfunction!(otp::parse_otpauth_uri, m)?)?;
    m.add_class::<ratelimit::PyRatePolicy>()?;
    m.add_class::<ratelimit::PyRateDecision>()?;
    m.add_class::<ratelimit::PyRateLimiter>()?;
    m.add_class::<allowlist::PyIpAllowlist>()?;
    m.add_class::<allowlist::PyIpAllowlists>()?;
    m.add_class::<allowlist::PyClientIpResolver>()?;
    m.add_function(wrap_pyfunction!(allowlist::parse_network, m)?)?;
    m.add_class::<password::PyViolation>()?;
    m.add_class::<password::PyPasswordPolicy>()?;
    m.add_class::<password::PyPasswordHasher>()?;
    m.add_function(wrap_pyfunction!(pop::jwk_thumbprint, m)?)?;
    m.add_function(wrap_pyfunction!(pop::certificate_thumbprint, m)?)?;
    m.add_function(wrap_pyfunction!(pop::check_certificate_binding, m)?)?;
    m.add_function(wrap_pyfunction!(pop::generate_dpop_nonce, m)?)?;
    m.add_function(wrap_pyfunction!(pop::create_dpop_proof, m)?)?;
    m.add_class::<pop::PyDpopProof>()?;
    m.add_class::<pop::PyDpopVerifier>()?;
    m.add_class::<pop::PyRemoteJwks>()?;
    Ok(())
}
