//! The token manager for Kotlin and Swift: the app implements [`TokenStorage`] (Keychain,
//! Keystore), [`TokenFetcher`] (its HTTP calls) and optionally [`AuthStateListener`]; the
//! logic is the core's `token_manager`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use authgate_core::clock::{unix_now, Clock};
use authgate_core::token_manager as core;

use crate::errors::{guard, Result};

/// What the app's storage can fail with.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum StorageError {
    /// The keys protecting the stored value are gone (Android Keystore invalidated, iOS
    /// Keychain item unreadable): the manager signs out and asks for a new sign-in.
    #[error("the storage keys were lost")]
    KeysLost,
    /// Any other failure; `detail` must not hold a token.
    #[error("{detail}")]
    Failed { detail: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for StorageError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        StorageError::Failed {
            detail: "the storage threw an unexpected exception".into(),
        }
    }
}

/// What the app's fetcher can fail with.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FetchError {
    /// The server refused the refresh token (invalid, reused, revoked): sign out.
    #[error("{detail}")]
    InvalidGrant { detail: String },
    /// No answer or a transient server failure: keep the tokens, retry later.
    #[error("{detail}")]
    Network { detail: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for FetchError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        FetchError::Network {
            detail: "the fetcher threw an unexpected exception".into(),
        }
    }
}

/// The app's secure storage for one opaque string (the manager's JSON). Called with the
/// manager's lock held: it must not call the manager.
#[uniffi::export(with_foreign)]
pub trait TokenStorage: Send + Sync {
    fn read(&self) -> std::result::Result<Option<String>, StorageError>;
    fn write(&self, value: String) -> std::result::Result<(), StorageError>;
    fn delete(&self) -> std::result::Result<(), StorageError>;
}

/// New tokens from the app's backend.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TokenGrant {
    pub access_token: String,
    /// `None` keeps the current refresh token (or there is none: "secure mode").
    #[uniffi(default = None)]
    pub refresh_token: Option<String>,
    /// Seconds the access token lives; `None` reads the JWT's `exp`.
    #[uniffi(default = None)]
    pub expires_in: Option<u64>,
    /// The server's time, Unix seconds (e.g. from the `Date` header); `None` takes the
    /// JWT's `iat`.
    #[uniffi(default = None)]
    pub server_time: Option<u64>,
}

impl From<TokenGrant> for core::TokenGrant {
    fn from(g: TokenGrant) -> Self {
        core::TokenGrant {
            access_token: g.access_token,
            refresh_token: g.refresh_token,
            expires_in: g.expires_in,
            server_time: g.server_time,
        }
    }
}

/// The app's way of getting new tokens. Called on the thread that asked for a token, at
/// most once at a time per manager. Its own HTTP call must not ask the same manager for a
/// token (that call fails with `invalid_input`).
#[uniffi::export(with_foreign)]
pub trait TokenFetcher: Send + Sync {
    /// With the refresh token held, or `None` in "secure mode" (mint a new client token).
    fn fetch(&self, refresh_token: Option<String>) -> std::result::Result<TokenGrant, FetchError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AuthState {
    SignedOut,
    SignedIn,
    Refreshing,
}

impl From<core::AuthState> for AuthState {
    fn from(s: core::AuthState) -> Self {
        match s {
            core::AuthState::SignedOut => AuthState::SignedOut,
            core::AuthState::SignedIn => AuthState::SignedIn,
            core::AuthState::Refreshing => AuthState::Refreshing,
        }
    }
}

/// Told of every state change, on the thread that caused it (not the main thread).
#[uniffi::export(with_foreign)]
pub trait AuthStateListener: Send + Sync {
    fn on_state_change(&self, state: AuthState);
}

/// A source of the current time in Unix seconds, for tests and for apps that keep a
/// trusted time. The manager uses the system clock when none is given.
#[uniffi::export(with_foreign)]
pub trait TimeSource: Send + Sync {
    fn now_unix(&self) -> u64;
}

struct Storage(Arc<dyn TokenStorage>);

fn storage_error(e: StorageError) -> core::StorageError {
    match e {
        StorageError::KeysLost => core::StorageError::KeysLost,
        StorageError::Failed { detail } => core::StorageError::Failed(detail),
    }
}

impl core::TokenStorage for Storage {
    fn read(&self) -> std::result::Result<Option<String>, core::StorageError> {
        self.0.read().map_err(storage_error)
    }
    fn write(&self, value: &str) -> std::result::Result<(), core::StorageError> {
        self.0.write(value.to_string()).map_err(storage_error)
    }
    fn delete(&self) -> std::result::Result<(), core::StorageError> {
        self.0.delete().map_err(storage_error)
    }
}

struct Fetcher(Arc<dyn TokenFetcher>);

impl core::TokenFetcher for Fetcher {
    fn fetch(
        &self,
        refresh_token: Option<&str>,
    ) -> std::result::Result<core::TokenGrant, core::FetchError> {
        match self.0.fetch(refresh_token.map(str::to_string)) {
            Ok(grant) => Ok(grant.into()),
            Err(FetchError::InvalidGrant { detail }) => Err(core::FetchError::InvalidGrant(detail)),
            Err(FetchError::Network { detail }) => Err(core::FetchError::Network(detail)),
        }
    }
}

struct Listener(Arc<dyn AuthStateListener>);

impl core::StateListener for Listener {
    fn on_state_change(&self, state: core::AuthState) {
        self.0.on_state_change(state.into())
    }
}

/// The app's time source as the core's clock. An exception in it (a panic here) falls
/// back to the system clock rather than breaking a refresh half-way.
pub(crate) struct ForeignClock(pub Arc<dyn TimeSource>);

impl Clock for ForeignClock {
    fn now(&self) -> u64 {
        catch_unwind(AssertUnwindSafe(|| self.0.now_unix())).unwrap_or_else(|_| unix_now())
    }
}

pub(crate) fn clock_of(time: Option<Arc<dyn TimeSource>>) -> Arc<dyn Clock> {
    match time {
        Some(t) => Arc::new(ForeignClock(t)),
        None => Arc::new(authgate_core::clock::SystemClock),
    }
}

/// Holds an account's tokens and refreshes them only when needed. Share one instance;
/// its methods block while the fetcher runs, so call them off the main thread (Kotlin:
/// `withContext(Dispatchers.IO)`, Swift: a background task).
#[derive(uniffi::Object)]
pub struct TokenManager(core::TokenManager);

#[uniffi::export]
impl TokenManager {
    /// `refresh_margin_secs`: refresh this long before expiry (default 60; at most half of
    /// a token's lifetime is used). `time_source`: the system clock when `None`.
    #[uniffi::constructor(default(refresh_margin_secs = None, time_source = None))]
    pub fn new(
        storage: Arc<dyn TokenStorage>,
        fetcher: Arc<dyn TokenFetcher>,
        refresh_margin_secs: Option<u64>,
        time_source: Option<Arc<dyn TimeSource>>,
    ) -> Result<Arc<Self>> {
        guard(|| {
            let mut config = core::TokenManagerConfig::default();
            if let Some(margin) = refresh_margin_secs {
                config.refresh_margin = margin;
            }
            Ok(Arc::new(TokenManager(core::TokenManager::with_clock(
                Arc::new(Storage(storage)),
                Arc::new(Fetcher(fetcher)),
                config,
                clock_of(time_source),
            ))))
        })
    }

    pub fn add_listener(&self, listener: Arc<dyn AuthStateListener>) -> Result<()> {
        guard(|| {
            self.0.add_listener(Arc::new(Listener(listener)));
            Ok(())
        })
    }

    /// Reads storage (the first call that needs it does so otherwise) and returns the state.
    pub fn restore(&self) -> Result<AuthState> {
        guard(|| self.0.restore().map(AuthState::from))
    }

    pub fn state(&self) -> Result<AuthState> {
        guard(|| Ok(self.0.state().into()))
    }

    /// Stores the tokens of the sign-in the app performed.
    pub fn sign_in(&self, grant: TokenGrant) -> Result<()> {
        guard(|| self.0.sign_in(grant.into()))
    }

    /// A valid access token, refreshed first when expired or within the margin; many
    /// callers at once share one refresh.
    pub fn access_token(&self) -> Result<String> {
        guard(|| self.0.access_token())
    }

    /// Refreshes now (e.g. after a 401), joining a refresh already running.
    pub fn refresh(&self) -> Result<String> {
        guard(|| self.0.refresh())
    }

    /// Clears storage and memory. Revoking the session on the server is the app's call.
    pub fn sign_out(&self) -> Result<()> {
        guard(|| self.0.sign_out())
    }

    /// The server's time from any response (its `Date` header), in Unix seconds.
    pub fn report_server_time(&self, server_time: u64) -> Result<()> {
        guard(|| {
            self.0.report_server_time(server_time);
            Ok(())
        })
    }

    /// The device's time corrected by the last server time seen.
    pub fn server_now(&self) -> Result<u64> {
        guard(|| Ok(self.0.server_now()))
    }

    /// When the held access token expires (server time), or `None` when signed out.
    pub fn access_expires_at(&self) -> Result<Option<u64>> {
        guard(|| Ok(self.0.access_expires_at()))
    }
}
