//! Header values a client sends: an API key and a bearer token, checked before they leave
//! the device.

use authgate_core::http;

use crate::errors::{guard, Result};
use crate::signature::HttpHeader;

/// The `x-api-key` header for `key`, after its format and checksum check (a mistyped key
/// fails here, not as a 401).
#[uniffi::export]
pub fn api_key_header(key: String) -> Result<HttpHeader> {
    guard(|| {
        Ok(HttpHeader {
            name: http::API_KEY_HEADER.into(),
            value: http::api_key_header_value(&key)?.to_string(),
        })
    })
}

/// The `Authorization: Bearer …` header for an access token.
#[uniffi::export]
pub fn bearer_header(token: String) -> Result<HttpHeader> {
    guard(|| {
        Ok(HttpHeader {
            name: "Authorization".into(),
            value: http::bearer_header_value(&token)?,
        })
    })
}
