//! authgate-core: API-security primitives implemented once — JWT sessions with refresh
//! rotation, API keys, client tokens, HTTP message signatures, webhook signatures, one-time
//! codes and a client-side token manager — for every authgate runtime (Python, Node,
//! Kotlin, Swift). Pure Rust with no FFI code; bindings only convert types and errors.
#![forbid(unsafe_code)]

pub mod allowlist;
pub mod apikey;
pub mod client_token;
pub mod clock;
pub mod error;
pub mod gate;
pub mod http;
pub mod jwt;
pub mod otp;
pub mod password;
pub mod pop;
pub mod ratelimit;
#[cfg(feature = "remote-jwks")]
pub mod remote_jwks;
pub mod session;
pub mod signature;
pub mod store;
pub mod token_manager;
pub mod util;
pub mod webhook;

pub use error::{Error, ErrorKind, Result};

/// The README's Rust quick tour, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeQuickTour;

/// The crate's README (its crates.io page), compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadme;

/// The Rust example of docs/identity-providers.md, compiled as a doctest.
#[cfg(all(doctest, feature = "remote-jwks"))]
#[doc = include_str!("../../docs/identity-providers.md")]
struct IdentityProvidersDoc;

/// The Rust example of docs/api-keys.md, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../docs/api-keys.md")]
struct ApiKeysDoc;

/// The Rust example of docs/redis.md, compiled as a doctest.
#[cfg(all(doctest, feature = "redis"))]
#[doc = include_str!("../../docs/redis.md")]
struct RedisDoc;
