//! Promise variants of store-backed calls: the same core call runs on the libuv thread
//! pool, so a Redis round trip never blocks the event loop. A task settles with its value
//! or a `TaskFailure` (code and message), which `index.js` throws as its `AuthError`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::{AsyncTask, Either, ToNapiValue, TypeName};
use napi::{Env, Task};
use napi_derive::napi;

use crate::errors::Result;

/// How a task failed: `failed` is always true, so `index.js` tells it from a value.
#[napi(object)]
pub struct TaskFailure {
    pub failed: bool,
    /// The error code in upper case.
    pub code: String,
    pub message: String,
    /// Seconds until trying again can succeed, for throttling errors.
    pub retry_after: Option<f64>,
    /// The broken rules' codes, for `WEAK_PASSWORD`.
    pub violations: Option<Vec<String>>,
}

type Job<T> = Box<dyn FnOnce() -> Result<T> + Send>;

pub struct Offload<T> {
    job: Option<Job<T>>,
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for Offload<T> {
    type Output = Either<T, TaskFailure>;
    type JsValue = Either<T, TaskFailure>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let failure = |code: &str, message: &str| {
            Either::B(TaskFailure {
                failed: true,
                code: code.to_string(),
                message: message.to_string(),
                retry_after: None,
                violations: None,
            })
        };
        let Some(job) = self.job.take() else {
            return Ok(failure("INTERNAL", "the task ran twice"));
        };
        // A panic on a libuv thread would abort the process: it becomes an error here.
        Ok(match catch_unwind(AssertUnwindSafe(job)) {
            Ok(Ok(value)) => Either::A(value),
            Ok(Err(e)) => Either::B(TaskFailure {
                failed: true,
                code: e.status.code.clone(),
                message: e.reason.clone(),
                retry_after: e.status.retry_after.map(|s| s as f64),
                violations: (!e.status.violations.is_empty()).then(|| e.status.violations.clone()),
            }),
            Err(_) => failure("INTERNAL", "an internal error occurred"),
        })
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output)
    }
}

/// Runs `job` on the thread pool; the Promise settles with its value or a failure.
pub fn offload<T: ToNapiValue + TypeName + Send + 'static>(
    job: impl FnOnce() -> Result<T> + Send + 'static,
) -> AsyncTask<Offload<T>> {
    AsyncTask::new(Offload {
        job: Some(Box::new(job)),
    })
}
