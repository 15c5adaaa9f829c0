//! The client-side token manager under concurrency and failure: one refresh for many
//! callers, its result shared, sign-out racing a refresh, and app code that panics.
//! (The single-threaded behaviour is in tests/vectors/token_manager/.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

use authgate_core::clock::ManualClock;
use authgate_core::token_manager::{
    AuthState, FetchError, StateListener, TokenFetcher, TokenGrant, TokenManager,
    TokenManagerConfig,
};
use authgate_core::ErrorKind;

#[path = "support/token_manager_fakes.rs"]
#[allow(dead_code)]
mod fakes;
use fakes::{Recorder, ScriptedStorage};

const START: u64 = 1_700_000_000;
const THREADS: usize = 16;

/// A fetcher that takes a while (so callers pile up behind it), counts its calls and
/// answers with numbered tokens, or with the failure it was given.
struct SlowFetcher {
    calls: AtomicUsize,
    failure: Option<FetchError>,
    panics: bool,
    /// Runs inside the fetch, before it answers.
    during: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl SlowFetcher {
    fn new() -> Self {
        SlowFetcher {
            calls: AtomicUsize::new(0),
            failure: None,
            panics: false,
            during: Mutex::new(None),
        }
    }
}

impl TokenFetcher for SlowFetcher {
    fn fetch(&self, refresh_token: Option<&str>) -> Result<TokenGrant, FetchError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        thread::sleep(Duration::from_millis(30));
        if let Some(f) = self.during.lock().unwrap().take() {
            f();
        }
        if self.panics {
            panic!("the app's fetcher panicked");
        }
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        assert!(refresh_token.is_some());
        Ok(TokenGrant {
            access_token: format!("A{}", n + 1),
            refresh_token: Some(format!("R{}", n + 1)),
            expires_in: Some(900),
            server_time: None,
        })
    }
}

fn signed_in(
    fetcher: Arc<SlowFetcher>,
) -> (Arc<TokenManager>, Arc<ManualClock>, Arc<ScriptedStorage>) {
    let clock = Arc::new(ManualClock::new(START));
    let storage = Arc::new(ScriptedStorage::default());
    let manager = Arc::new(TokenManager::with_clock(
        storage.clone(),
        fetcher,
        TokenManagerConfig::default(),
        clock.clone(),
    ));
    manager
        .sign_in(TokenGrant {
            access_token: "A1".into(),
            refresh_token: Some("R1".into()),
            expires_in: Some(900),
            server_time: Some(START),
        })
        .unwrap();
    (manager, clock, storage)
}

/// Calls `access_token` from THREADS threads released together; returns their results.
fn race(manager: &Arc<TokenManager>) -> Vec<authgate_core::Result<String>> {
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (m, b) = (manager.clone(), barrier.clone());
            thread::spawn(move || {
                b.wait();
                m.access_token()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn an_expired_token_asked_for_by_16_threads_is_refreshed_once() {
    let fetcher = Arc::new(SlowFetcher::new());
    let (manager, clock, storage) = signed_in(fetcher.clone());
    for round in 1..=5 {
        clock.advance(900);
        let results = race(&manager);
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), round);
        let want = format!("A{}", round + 1);
        assert!(
            results.iter().all(|r| r.as_deref() == Ok(want.as_str())),
            "{results:?}"
        );
        let stored = storage.value.lock().unwrap().clone().unwrap();
        assert!(stored.contains(&format!("\"R{}\"", round + 1)));
    }
}

#[test]
fn a_failed_refresh_is_shared_by_every_waiting_caller() {
    for (failure, code, signed_out) in [
        (
            FetchError::Network("offline".into()),
            ErrorKind::FetchFailed,
            false,
        ),
        (
            FetchError::InvalidGrant("reused".into()),
            ErrorKind::SignedOut,
            true,
        ),
    ] {
        let fetcher = Arc::new(SlowFetcher {
            failure: Some(failure),
            ..SlowFetcher::new()
        });
        let (manager, clock, storage) = signed_in(fetcher.clone());
        clock.advance(900);
        let results = race(&manager);
        let calls = fetcher.calls.load(Ordering::SeqCst);
        if signed_out {
            // Once signed out nobody fetches again.
            assert_eq!(calls, 1);
            assert!(storage.value.lock().unwrap().is_none());
            assert_eq!(manager.state(), AuthState::SignedOut);
        } else {
            // Each failed refresh is shared by the callers waiting on it; a caller that
            // arrives after it ended may start the next one, never more at once.
            assert!((1..=THREADS).contains(&calls));
            assert!(storage.value.lock().unwrap().is_some());
            assert_eq!(manager.state(), AuthState::SignedIn);
        }
        for r in &results {
            assert_eq!(r.as_ref().unwrap_err().kind(), code, "{r:?}");
        }
    }
}

#[test]
fn callers_waiting_on_one_refresh_all_get_its_failure() {
    // The fetch is held open until every other caller is waiting on it, so exactly one
    // refresh runs and all THREADS callers get its error.
    let gate = Arc::new(Barrier::new(2));
    let fetcher = Arc::new(SlowFetcher {
        failure: Some(FetchError::Network("offline".into())),
        ..SlowFetcher::new()
    });
    let g = gate.clone();
    *fetcher.during.lock().unwrap() = Some(Box::new(move || {
        g.wait();
    }));
    let (manager, clock, _) = signed_in(fetcher.clone());
    clock.advance(900);
    let first = {
        let m = manager.clone();
        thread::spawn(move || m.access_token())
    };
    while fetcher.calls.load(Ordering::SeqCst) == 0 {
        thread::yield_now();
    }
    let waiters: Vec<_> = (1..THREADS)
        .map(|_| {
            let m = manager.clone();
            thread::spawn(move || m.access_token())
        })
        .collect();
    // Give the waiters time to block on the running refresh, then let it finish.
    thread::sleep(Duration::from_millis(100));
    gate.wait();
    let mut results = vec![first.join().unwrap()];
    results.extend(waiters.into_iter().map(|h| h.join().unwrap()));
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);
    for r in results {
        assert_eq!(r.unwrap_err().kind(), ErrorKind::FetchFailed);
    }
}

#[test]
fn signing_out_during_a_refresh_discards_its_tokens() {
    let fetcher = Arc::new(SlowFetcher::new());
    let (manager, clock, storage) = signed_in(fetcher.clone());
    let m = manager.clone();
    *fetcher.during.lock().unwrap() = Some(Box::new(move || {
        m.sign_out().unwrap();
    }));
    clock.advance(900);
    let got = manager.access_token();
    assert_eq!(got.unwrap_err().kind(), ErrorKind::SignedOut);
    assert!(storage.value.lock().unwrap().is_none());
    assert_eq!(manager.state(), AuthState::SignedOut);
}

#[test]
fn a_panicking_fetcher_gives_an_error_and_no_caller_hangs() {
    let fetcher = Arc::new(SlowFetcher {
        panics: true,
        ..SlowFetcher::new()
    });
    let (manager, clock, _) = signed_in(fetcher.clone());
    clock.advance(900);
    for r in race(&manager) {
        assert_eq!(r.unwrap_err().kind(), ErrorKind::FetchFailed);
    }
    // The tokens are kept, so the next call tries again.
    let before = fetcher.calls.load(Ordering::SeqCst);
    assert!(manager.access_token().is_err());
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), before + 1);
}

struct PanickingListener;
impl StateListener for PanickingListener {
    fn on_state_change(&self, _: AuthState) {
        panic!("the app's listener panicked");
    }
}

#[test]
fn a_panicking_listener_does_not_stop_the_others() {
    let fetcher = Arc::new(SlowFetcher::new());
    let (manager, clock, _) = signed_in(fetcher);
    let recorder = Arc::new(Recorder::default());
    manager.add_listener(Arc::new(PanickingListener));
    manager.add_listener(recorder.clone());
    clock.advance(900);
    assert_eq!(manager.access_token().unwrap(), "A2");
    assert_eq!(
        *recorder.0.lock().unwrap(),
        [AuthState::Refreshing, AuthState::SignedIn]
    );
}

/// A fetcher that (wrongly) asks its own manager for a token, as an HTTP interceptor adding
/// the bearer header to every request, the refresh call included, would.
struct ReentrantFetcher(std::sync::OnceLock<std::sync::Weak<TokenManager>>);

impl TokenFetcher for ReentrantFetcher {
    fn fetch(&self, _: Option<&str>) -> Result<TokenGrant, FetchError> {
        let manager = self.0.get().unwrap().upgrade().unwrap();
        let inner = manager.access_token();
        assert_eq!(inner.unwrap_err().kind(), ErrorKind::InvalidInput);
        Err(FetchError::Network("gave up".into()))
    }
}

#[test]
fn a_fetcher_calling_its_own_manager_gets_an_error_instead_of_hanging() {
    let fetcher = Arc::new(ReentrantFetcher(std::sync::OnceLock::new()));
    let clock = Arc::new(ManualClock::new(START));
    let manager = Arc::new(TokenManager::with_clock(
        Arc::new(ScriptedStorage::default()),
        fetcher.clone(),
        TokenManagerConfig::default(),
        clock.clone(),
    ));
    fetcher.0.set(Arc::downgrade(&manager)).ok().unwrap();
    manager
        .sign_in(TokenGrant {
            access_token: "A1".into(),
            refresh_token: Some("R1".into()),
            expires_in: Some(900),
            server_time: None,
        })
        .unwrap();
    clock.advance(900);
    assert_eq!(
        manager.access_token().unwrap_err().kind(),
        ErrorKind::FetchFailed
    );
}

#[test]
fn the_manager_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<TokenManager>();
}
