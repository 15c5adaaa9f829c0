//! authgate for mobile apps (Kotlin and Swift through UniFFI): the client side of the core
//! — a token manager backed by the app's secure storage, an RFC 9421 request signer, DPoP proofs,
//! authenticator codes, the password policy and header helpers. Every check runs in `authgate-core`; this crate
//! converts types and errors, and keeps panics from crossing into the app.

uniffi::setup_scaffolding!();

pub mod errors;
pub mod http;
pub mod jwt;
pub mod otp;
pub mod password;
pub mod pop;
pub mod signature;
pub mod token_manager;

pub use errors::{AuthgateError, ErrorCode};
