//! The store the scenario runners use: in memory, or Redis when a test selects it, so the
//! same vectors run against both backends.

use std::cell::RefCell;
use std::sync::Arc;

use authgate_core::store::{MemoryStore, Store};

thread_local! {
    static REDIS_URL: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The Redis URL of the test run: `AUTHGATE_REDIS_URL`. Without it the Redis tests are
/// skipped, unless `AUTHGATE_REQUIRE_REDIS` is set (as `make test` does), which fails them.
#[allow(dead_code)]
pub fn redis_url() -> Option<String> {
    match std::env::var("AUTHGATE_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("AUTHGATE_REQUIRE_REDIS").is_none(),
                "AUTHGATE_REQUIRE_REDIS is set but AUTHGATE_REDIS_URL is not"
            );
            eprintln!("AUTHGATE_REDIS_URL is not set: Redis tests skipped");
            None
        }
    }
}

/// Runs `f` with every store the runners make backed by Redis at `url`.
#[allow(dead_code)]
pub fn on_redis<T>(url: &str, f: impl FnOnce() -> T) -> T {
    REDIS_URL.with(|u| *u.borrow_mut() = Some(url.to_string()));
    let out = f();
    REDIS_URL.with(|u| *u.borrow_mut() = None);
    out
}

#[allow(dead_code)]
pub fn on_redis_now() -> bool {
    REDIS_URL.with(|u| u.borrow().is_some())
}

/// A fresh Redis store under its own random prefix.
#[allow(dead_code)]
pub fn redis_store(url: &str) -> Arc<authgate_core::store::RedisStore> {
    let mut tag = [0u8; 8];
    authgate_core::util::random_bytes(&mut tag).unwrap();
    let mut config = authgate_core::store::RedisConfig::new(url);
    config.prefix = format!("test:{}:", u64::from_le_bytes(tag));
    Arc::new(authgate_core::store::RedisStore::new(config).expect("Redis store"))
}

/// A new, empty store of the selected backend.
#[allow(dead_code)]
pub fn store() -> Arc<dyn Store> {
    match REDIS_URL.with(|u| u.borrow().clone()) {
        Some(url) => redis_store(&url),
        None => Arc::new(MemoryStore::new()),
    }
}

/// A store bounded to `capacity` entries: memory only (Redis is bounded by its own
/// `maxmemory`), so the caller skips such cases on Redis.
#[allow(dead_code)]
pub fn bounded_store(capacity: usize) -> Arc<dyn Store> {
    Arc::new(MemoryStore::with_capacity(capacity))
}
