//! Reading a token's claims on the device, for display and refresh decisions only.

use authgate_core::jwt::peek_unverified;

use crate::errors::{guard, Result};

/// A token's registered claims, read WITHOUT verifying the signature: show them in the UI
/// or decide when to refresh; never authorize anything with them.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UnverifiedClaims {
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub expires_at: Option<u64>,
    pub issued_at: Option<u64>,
    pub not_before: Option<u64>,
    pub scope: Option<String>,
    /// The whole payload as JSON text.
    pub json: String,
}

#[uniffi::export]
pub fn peek_claims(token: String) -> Result<UnverifiedClaims> {
    guard(|| {
        let (_, c) = peek_unverified(&token)?;
        Ok(UnverifiedClaims {
            subject: c.sub().map(str::to_string),
            issuer: c.iss().map(str::to_string),
            expires_at: c.exp(),
            issued_at: c.iat(),
            not_before: c.nbf(),
            scope: c.scope().map(str::to_string),
            json: c.json().to_string(),
        })
    })
}
