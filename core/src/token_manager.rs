//! The client side of a session, for mobile and desktop apps: holds the access and refresh
//! tokens, persists them through the app's secure storage, and refreshes them when — and
//! only when — they are expired or about to be.
//!
//! - Storage and fetching are the app's ([`TokenStorage`], [`TokenFetcher`]): the Keychain
//!   or Keystore, and its own HTTP call. The manager makes no network calls.
//! - Many callers asking at once cause one refresh (single flight); every one of them gets
//!   that refresh's result, success or error.
//! - Expiry is judged on a server-corrected clock: the offset between the server's time
//!   (reported by the fetcher, e.g. from the `Date` header) and the device's is kept and
//!   persisted, so a phone with a wrong clock neither refreshes in a loop nor sends expired
//!   tokens.
//! - Failures are typed: a refused refresh token signs out (`signed_out`), lost storage keys
//!   ask for a new sign-in (`reauthentication_required`), a network failure keeps the
//!   tokens and is retryable (`fetch_failed`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, ThreadId};

use serde::{Deserialize, Serialize};

use crate::clock::{Clock, SystemClock};
use crate::error::{err, Error, ErrorKind, Result};
use crate::jwt::peek_unverified;

/// Refresh this long before the access token expires, by default.
pub const DEFAULT_REFRESH_MARGIN_SECS: u64 = 60;
/// The longest token or stored value accepted, in bytes.
pub const MAX_STORED_BYTES: usize = 64 * 1024;
/// The version of the JSON written to storage.
const STORAGE_FORMAT: u32 = 1;

/// What the app's storage can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageError {
    /// The keys protecting the stored value are gone (Android Keystore invalidated by a new
    /// screen lock, iOS Keychain item unreadable after a restore): the user must sign in.
    KeysLost,
    /// Reading or writing failed for another reason; the message must hold no secret.
    Failed(String),
}

/// The app's secure storage for one opaque value (JSON the manager writes): the iOS
/// Keychain, Android EncryptedSharedPreferences or a Keystore-wrapped file. Called with the
/// manager's lock held, so it must not call the manager.
pub trait TokenStorage: Send + Sync {
    fn read(&self) -> Result<Option<String>, StorageError>;
    fn write(&self, value: &str) -> Result<(), StorageError>;
    fn delete(&self) -> Result<(), StorageError>;
}

/// What the app's fetcher can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The server refused the refresh token (invalid, reused, revoked, expired session):
    /// the stored tokens are cleared and the user is signed out.
    InvalidGrant(String),
    /// The server could not be reached or answered with a transient failure: the tokens
    /// are kept and the call can be retried.
    Network(String),
}

/// New tokens from the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenGrant {
    pub access_token: String,
    /// The new refresh token; `None` keeps the current one (servers that don't rotate) or
    /// means there is none (a server-minted client token in "secure mode").
    pub refresh_token: Option<String>,
    /// Seconds the access token lives (`expires_in` of an OAuth token response); `None`
    /// reads the JWT's `exp`.
    pub expires_in: Option<u64>,
    /// The server's time when it answered (e.g. from the `Date` header), Unix seconds;
    /// `None` takes the JWT's `iat` when it has one.
    pub server_time: Option<u64>,
}

/// The app's way of getting new tokens: its own HTTP call to its backend. Runs without the
/// manager's lock; a call from inside it back to the same manager's `access_token` or
/// `refresh` is `invalid_input` rather than a thread waiting for itself.
pub trait TokenFetcher: Send + Sync {
    /// Called with the refresh token held, or `None` when the session has none ("secure
    /// mode": the app mints a new server-signed client token by its own means).
    fn fetch(&self, refresh_token: Option<&str>) -> Result<TokenGrant, FetchError>;
}

/// Where the manager stands; every change is reported to the listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthState {
    SignedOut,
    SignedIn,
    Refreshing,
}

/// Told of every state change, outside the manager's lock, on the thread that caused it.
pub trait StateListener: Send + Sync {
    fn on_state_change(&self, state: AuthState);
}

/// How a [`TokenManager`] behaves. `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenManagerConfig {
    /// Refresh when the access token has fewer seconds than this left (at most half of the
    /// token's lifetime is used, so short-lived tokens don't refresh on every call).
    pub refresh_margin: u64,
}

impl Default for TokenManagerConfig {
    fn default() -> Self {
        TokenManagerConfig {
            refresh_margin: DEFAULT_REFRESH_MARGIN_SECS,
        }
    }
}

/// What storage holds, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    format: u32,
    access_token: String,
    refresh_token: Option<String>,
    /// Server time when the access token was obtained and when it expires.
    issued_at: u64,
    expires_at: u64,
    /// Server time minus device time, in seconds.
    clock_offset: i64,
}

struct Inner {
    loaded: bool,
    tokens: Option<Stored>,
    /// Why there are no tokens: `signed_out` or `reauthentication_required`.
    signed_out_reason: ErrorKind,
    clock_offset: i64,
    state: AuthState,
    /// New tokens held in memory whose write to storage failed; written on the next call.
    unsaved: bool,
    /// Bumped by sign-in and sign-out, so a refresh that started before one is discarded.
    epoch: u64,
    flights_started: u64,
    flights_done: u64,
    /// The thread running the fetcher, so a call from inside the fetcher is refused
    /// instead of waiting for itself.
    flight_thread: Option<ThreadId>,
    last_outcome: Result<String>,
}

/// The client-side token manager. Share one per account (it is `Send + Sync`).
pub struct TokenManager {
    storage: Arc<dyn TokenStorage>,
    fetcher: Arc<dyn TokenFetcher>,
    clock: Arc<dyn Clock>,
    config: TokenManagerConfig,
    inner: Mutex<Inner>,
    flight_done: Condvar,
    listeners: Mutex<Vec<Arc<dyn StateListener>>>,
}

/// State changes collected under the lock and reported after it is released.
type Events = Vec<AuthState>;

fn signed_out_error(reason: ErrorKind) -> Error {
    match reason {
        ErrorKind::ReauthenticationRequired => Error::new(
            reason,
            "the stored tokens can no longer be read: sign in again",
        ),
        _ => Error::new(ErrorKind::SignedOut, "not signed in"),
    }
}

fn storage_error(e: StorageError, doing: &'static str) -> Error {
    match e {
        StorageError::KeysLost => Error::new(
            ErrorKind::ReauthenticationRequired,
            "the storage keys were lost: sign in again",
        ),
        StorageError::Failed(why) => Error::new(
            ErrorKind::StorageFailed,
            format!("could not {doing} the tokens: {why}"),
        ),
    }
}

impl TokenManager {
    pub fn new(
        storage: Arc<dyn TokenStorage>,
        fetcher: Arc<dyn TokenFetcher>,
        config: TokenManagerConfig,
    ) -> Self {
        TokenManager::with_clock(storage, fetcher, config, Arc::new(SystemClock))
    }

    pub fn with_clock(
        storage: Arc<dyn TokenStorage>,
        fetcher: Arc<dyn TokenFetcher>,
        config: TokenManagerConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        TokenManager {
            storage,
            fetcher,
            clock,
            config,
            inner: Mutex::new(Inner {
                loaded: false,
                tokens: None,
                signed_out_reason: ErrorKind::SignedOut,
                clock_offset: 0,
                state: AuthState::SignedOut,
                unsaved: false,
                epoch: 0,
                flights_started: 0,
                flights_done: 0,
                flight_thread: None,
                last_outcome: Err(signed_out_error(ErrorKind::SignedOut)),
            }),
            flight_done: Condvar::new(),
            listeners: Mutex::new(Vec::new()),
        }
    }

    pub fn add_listener(&self, listener: Arc<dyn StateListener>) {
        lock(&self.listeners).push(listener);
    }

    /// Reads the stored tokens (done by the first call that needs them otherwise) and
    /// returns the state. Lost keys or an unreadable value clear storage and give
    /// `reauthentication_required`; other storage failures give `storage_failed` and are
    /// retried by the next call.
    pub fn restore(&self) -> Result<AuthState> {
        let mut events = Events::new();
        let mut inner = lock(&self.inner);
        let loaded = self.load(&mut inner, &mut events);
        let state = inner.state;
        drop(inner);
        self.notify(events);
        loaded.map(|()| state)
    }

    /// The current state, after reading storage if nothing was read yet.
    pub fn state(&self) -> AuthState {
        // A failed read leaves the state it had (signed out until something is read).
        let _ = self.restore();
        lock(&self.inner).state
    }

    /// Stores the tokens of a sign-in the app performed (its login call, after MFA).
    pub fn sign_in(&self, grant: TokenGrant) -> Result<()> {
        let mut events = Events::new();
        let mut inner = lock(&self.inner);
        let installed = stored_from_grant(grant, None, inner.clock_offset, self.clock.now())
            .and_then(|stored| {
                inner.loaded = true;
                inner.epoch += 1;
                self.install(&mut inner, stored, &mut events)
            });
        drop(inner);
        self.notify(events);
        installed.map(|_| ())
    }

    /// A valid access token: the held one, or a new one when it is expired or within the
    /// refresh margin. Concurrent callers share one refresh. Blocks while the app's fetcher
    /// runs: call it off the UI thread.
    pub fn access_token(&self) -> Result<String> {
        self.token(false)
    }

    /// Refreshes now, whatever the expiry says (e.g. after the server answered 401), and
    /// returns the new access token. Joins a refresh already running instead of starting
    /// another.
    pub fn refresh(&self) -> Result<String> {
        self.token(true)
    }

    /// Forgets the tokens: clears storage and memory. A refresh still running is discarded.
    /// (Revoking the session on the server is the app's call to its backend.)
    pub fn sign_out(&self) -> Result<()> {
        let mut events = Events::new();
        let mut inner = lock(&self.inner);
        let deleted = self
            .storage
            .delete()
            .map_err(|e| storage_error(e, "delete"));
        inner.loaded = true;
        inner.epoch += 1;
        inner.tokens = None;
        inner.unsaved = false;
        inner.signed_out_reason = ErrorKind::SignedOut;
        set_state(&mut inner, AuthState::SignedOut, &mut events);
        drop(inner);
        self.notify(events);
        deleted
    }

    /// Records the server's time (Unix seconds), e.g. from any response's `Date` header.
    pub fn report_server_time(&self, server_time: u64) {
        let offset = offset_of(server_time, self.clock.now());
        let mut inner = lock(&self.inner);
        inner.clock_offset = offset;
        if let Some(t) = inner.tokens.as_mut() {
            t.clock_offset = offset;
        }
    }

    /// The device's time corrected by the last server time seen.
    pub fn server_now(&self) -> u64 {
        let offset = lock(&self.inner).clock_offset;
        shift(self.clock.now(), offset)
    }

    /// When the held access token expires, in server time; `None` when signed out.
    pub fn access_expires_at(&self) -> Option<u64> {
        let _ = self.restore();
        lock(&self.inner).tokens.as_ref().map(|t| t.expires_at)
    }

    fn token(&self, force: bool) -> Result<String> {
        let mut events = Events::new();
        let mut inner = lock(&self.inner);
        if let Err(e) = self.load(&mut inner, &mut events) {
            drop(inner);
            self.notify(events);
            return Err(e);
        }
        if inner.flights_started > inner.flights_done {
            if inner.flight_thread == Some(thread::current().id()) {
                return err(
                    ErrorKind::InvalidInput,
                    "the token manager was called from inside its own fetcher (it would wait for itself)",
                );
            }
            // Someone is refreshing: wait for that refresh and share its result.
            let target = inner.flights_started;
            while inner.flights_done < target {
                inner = self
                    .flight_done
                    .wait(inner)
                    .unwrap_or_else(|p| p.into_inner());
            }
            return inner.last_outcome.clone();
        }
        if inner.unsaved {
            if let Some(t) = &inner.tokens {
                inner.unsaved = self.save(t).is_err();
            }
        }
        let Some(tokens) = inner.tokens.as_ref() else {
            return Err(signed_out_error(inner.signed_out_reason));
        };
        if !force && self.is_fresh(tokens) {
            return Ok(tokens.access_token.clone());
        }
        let refresh_token = tokens.refresh_token.clone();
        let epoch = inner.epoch;
        inner.flights_started += 1;
        inner.flight_thread = Some(thread::current().id());
        set_state(&mut inner, AuthState::Refreshing, &mut events);
        drop(inner);
        self.notify(events);

        // The app's code runs without the lock; a panic in it must not leave waiters hanging.
        let fetched = catch_unwind(AssertUnwindSafe(|| {
            self.fetcher.fetch(refresh_token.as_deref())
        }))
        .unwrap_or_else(|_| Err(FetchError::Network("the fetcher panicked".into())));

        let mut events = Events::new();
        let mut inner = lock(&self.inner);
        let outcome = if inner.epoch != epoch {
            // Signed out or in again meanwhile: this refresh's tokens belong to a session
            // that is gone, and the waiters get what is held now.
            match &inner.tokens {
                Some(t) => Ok(t.access_token.clone()),
                None => Err(signed_out_error(inner.signed_out_reason)),
            }
        } else {
            self.apply(&mut inner, fetched, refresh_token, &mut events)
        };
        inner.flights_done += 1;
        inner.flight_thread = None;
        inner.last_outcome = outcome.clone();
        self.flight_done.notify_all();
        drop(inner);
        self.notify(events);
        outcome
    }

    /// Takes a refresh's result under the lock: new tokens are stored, a refused grant
    /// signs out, a network failure keeps what was there.
    fn apply(
        &self,
        inner: &mut Inner,
        fetched: Result<TokenGrant, FetchError>,
        previous_refresh: Option<String>,
        events: &mut Events,
    ) -> Result<String> {
        match fetched {
            Ok(grant) => {
                let now = self.clock.now();
                match stored_from_grant(grant, previous_refresh, inner.clock_offset, now) {
                    Ok(stored) => self.install(inner, stored, events),
                    Err(e) => {
                        set_state(inner, AuthState::SignedIn, events);
                        Err(e)
                    }
                }
            }
            Err(FetchError::InvalidGrant(why)) => {
                self.forget(inner, ErrorKind::SignedOut, events);
                Err(Error::new(
                    ErrorKind::SignedOut,
                    format!("the server refused the refresh: {why}"),
                ))
            }
            Err(FetchError::Network(why)) => {
                set_state(inner, AuthState::SignedIn, events);
                Err(Error::new(
                    ErrorKind::FetchFailed,
                    format!("could not get new tokens: {why}"),
                ))
            }
        }
    }

    /// Makes new tokens the held ones and writes them to storage. A failed write keeps
    /// them in memory (the old refresh token may already be spent) and is retried by the
    /// next call; lost keys sign out.
    fn install(&self, inner: &mut Inner, stored: Stored, events: &mut Events) -> Result<String> {
        let saved = self.save(&stored);
        if let Err(e) = &saved {
            if e.kind() == ErrorKind::ReauthenticationRequired {
                self.forget(inner, ErrorKind::ReauthenticationRequired, events);
                return Err(e.clone());
            }
        }
        let access = stored.access_token.clone();
        inner.clock_offset = stored.clock_offset;
        inner.tokens = Some(stored);
        inner.unsaved = saved.is_err();
        set_state(inner, AuthState::SignedIn, events);
        saved.map(|()| access)
    }

    /// Loads the stored tokens once. Storage is the app's and quick (a Keychain read), so
    /// it is read under the lock: no caller sees a half-restored manager.
    fn load(&self, inner: &mut Inner, events: &mut Events) -> Result<()> {
        if inner.loaded {
            return Ok(());
        }
        let read = self.storage.read();
        let text = match read {
            Ok(text) => text,
            Err(StorageError::KeysLost) => {
                self.forget(inner, ErrorKind::ReauthenticationRequired, events);
                return Err(signed_out_error(ErrorKind::ReauthenticationRequired));
            }
            Err(e) => return Err(storage_error(e, "read")),
        };
        inner.loaded = true;
        let Some(text) = text else {
            return Ok(());
        };
        match parse_stored(&text) {
            Some(stored) => {
                inner.clock_offset = stored.clock_offset;
                inner.tokens = Some(stored);
                set_state(inner, AuthState::SignedIn, events);
                Ok(())
            }
            None => {
                self.forget(inner, ErrorKind::ReauthenticationRequired, events);
                Err(signed_out_error(ErrorKind::ReauthenticationRequired))
            }
        }
    }

    /// Drops the tokens from memory and (as far as it can) from storage.
    fn forget(&self, inner: &mut Inner, reason: ErrorKind, events: &mut Events) {
        // Storage may be what failed; signing out goes ahead either way.
        let _ = self.storage.delete();
        inner.loaded = true;
        inner.tokens = None;
        inner.unsaved = false;
        inner.signed_out_reason = reason;
        set_state(inner, AuthState::SignedOut, events);
    }

    fn save(&self, stored: &Stored) -> Result<()> {
        let text = serde_json::to_string(stored)
            .map_err(|_| Error::new(ErrorKind::Internal, "could not encode the tokens"))?;
        self.storage
            .write(&text)
            .map_err(|e| storage_error(e, "write"))
    }

    fn is_fresh(&self, tokens: &Stored) -> bool {
        let lifetime = tokens.expires_at.saturating_sub(tokens.issued_at);
        let margin = self.config.refresh_margin.min(lifetime / 2);
        let now = shift(self.clock.now(), tokens.clock_offset);
        now.saturating_add(margin) < tokens.expires_at
    }

    fn notify(&self, events: Events) {
        if events.is_empty() {
            return;
        }
        let listeners = lock(&self.listeners).clone();
        for state in events {
            for listener in &listeners {
                // A listener's failure is the app's; it must not break token handling.
                let _ = catch_unwind(AssertUnwindSafe(|| listener.on_state_change(state)));
            }
        }
    }
}

fn set_state(inner: &mut Inner, state: AuthState, events: &mut Events) {
    if inner.state != state {
        inner.state = state;
        events.push(state);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn offset_of(server_time: u64, device_time: u64) -> i64 {
    let diff = i128::from(server_time) - i128::from(device_time);
    diff.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

fn shift(device_time: u64, offset: i64) -> u64 {
    device_time.saturating_add_signed(offset)
}

fn check_token_text(token: &str, what: &'static str) -> Result<()> {
    if token.is_empty() || token.len() > MAX_STORED_BYTES {
        return err(
            ErrorKind::InvalidInput,
            format!("the {what} must be 1 to {MAX_STORED_BYTES} bytes"),
        );
    }
    Ok(())
}

/// Turns a grant into what is stored: expiry from `expires_in` or the JWT's `exp`, the
/// clock offset from the server time or the JWT's `iat`.
fn stored_from_grant(
    grant: TokenGrant,
    previous_refresh: Option<String>,
    clock_offset: i64,
    device_now: u64,
) -> Result<Stored> {
    check_token_text(&grant.access_token, "access token")?;
    if let Some(r) = &grant.refresh_token {
        check_token_text(r, "refresh token")?;
    }
    // Reading an unverified claim is fine here: it only decides when to refresh.
    let claims = peek_unverified(&grant.access_token).ok().map(|(_, c)| c);
    let server_time = grant
        .server_time
        .or_else(|| claims.as_ref().and_then(|c| c.iat()));
    let clock_offset = server_time.map_or(clock_offset, |t| offset_of(t, device_now));
    let issued_at = shift(device_now, clock_offset);
    let expires_at = match (grant.expires_in, claims.as_ref().and_then(|c| c.exp())) {
        (Some(secs), _) => issued_at.saturating_add(secs),
        (None, Some(exp)) => exp,
        (None, None) => {
            return err(
                ErrorKind::InvalidInput,
                "the grant has no expires_in and the access token has no exp claim",
            )
        }
    };
    Ok(Stored {
        format: STORAGE_FORMAT,
        access_token: grant.access_token,
        refresh_token: grant.refresh_token.or(previous_refresh),
        issued_at,
        expires_at,
        clock_offset,
    })
}

fn parse_stored(text: &str) -> Option<Stored> {
    if text.len() > 3 * MAX_STORED_BYTES {
        return None;
    }
    let stored: Stored = serde_json::from_str(text).ok()?;
    (stored.format == STORAGE_FORMAT && !stored.access_token.is_empty()).then_some(stored)
}
