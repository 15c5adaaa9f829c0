//! Fakes of the app's side of the token manager: storage that can be made to fail, a
//! fetcher answering from a queue, a listener that records.

use std::collections::VecDeque;
use std::sync::Mutex;

use authgate_core::token_manager::{
    AuthState, FetchError, StateListener, StorageError, TokenFetcher, TokenGrant, TokenStorage,
};

/// Storage in memory whose every operation can be made to fail.
#[derive(Default)]
pub struct ScriptedStorage {
    pub value: Mutex<Option<String>>,
    pub failure: Mutex<Option<StorageError>>,
}

impl ScriptedStorage {
    fn fail(&self) -> Result<(), StorageError> {
        match self.failure.lock().unwrap().clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl TokenStorage for ScriptedStorage {
    fn read(&self) -> Result<Option<String>, StorageError> {
        self.fail()?;
        Ok(self.value.lock().unwrap().clone())
    }
    fn write(&self, value: &str) -> Result<(), StorageError> {
        self.fail()?;
        *self.value.lock().unwrap() = Some(value.to_string());
        Ok(())
    }
    fn delete(&self) -> Result<(), StorageError> {
        self.fail()?;
        *self.value.lock().unwrap() = None;
        Ok(())
    }
}

/// A fetcher answering from a queue, recording what it was sent.
#[derive(Default)]
pub struct ScriptedFetcher {
    pub answers: Mutex<VecDeque<Result<TokenGrant, FetchError>>>,
    pub sent: Mutex<Vec<Option<String>>>,
}

impl TokenFetcher for ScriptedFetcher {
    fn fetch(&self, refresh_token: Option<&str>) -> Result<TokenGrant, FetchError> {
        self.sent
            .lock()
            .unwrap()
            .push(refresh_token.map(str::to_string));
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Err(FetchError::Network("no answer scripted".into())))
    }
}

#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<AuthState>>);

impl StateListener for Recorder {
    fn on_state_change(&self, state: AuthState) {
        self.0.lock().unwrap().push(state);
    }
}
