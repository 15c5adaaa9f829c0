//! The rate-limit check as a bare N-API function, without napi-rs's per-call machinery
//! (argument conversion into owned `String`s, borrow scopes, `this` unwrapping): a check
//! is about a tenth of a microsecond in the core, and a framework's middleware makes one
//! per request, so the crossing is most of its cost.
//!
//! `JsRateLimiter::checker(out)` returns a function bound to its limiter and to `out`,
//! the facade's `Float64Array`: `check(key, policy, cost, enforce)` writes the decision's
//! numbers into `out` as `checkInto` does and returns `undefined`, or with `enforce` a
//! refusal's message (its retry-after in `out[12]`). It returns `false`, having done
//! nothing, when an argument is not what the fast path reads (not a string, longer than
//! its buffer, a cost that is not a number): the facade then calls `checkInto`, whose
//! conversion errors are the binding's usual ones. Everything it decides is the core's.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

use authgate_core::ratelimit::{cost_from_number, RateLimiter, MAX_KEY_BYTES};
use napi::sys;

use crate::ratelimit::{write_decision, FIELDS};

/// What the bound function holds: its limiter, and a reference to the buffer it writes
/// (which keeps the array alive until the function is collected).
struct Checker {
    limiter: Arc<RateLimiter>,
    out_ref: sys::napi_ref,
}

/// The buffer's numbers as they are now: the array is looked up on every call, since
/// JavaScript may have detached or shrunk its memory since the last one (a detached or
/// out-of-bounds array has length 0). `None` when it is not a usable `Float64Array`.
unsafe fn out_slice<'a>(env: sys::napi_env, out_ref: sys::napi_ref) -> Option<&'a mut [f64]> {
    let mut array = ptr::null_mut();
    // SAFETY: `out_ref` was made on this env and lives as long as the function.
    if unsafe { sys::napi_get_reference_value(env, out_ref, &mut array) } != sys::Status::napi_ok
        || array.is_null()
    {
        return None;
    }
    let mut kind = 0;
    let mut len = 0usize;
    let mut data: *mut c_void = ptr::null_mut();
    // SAFETY: N-API checks that `array` is a typed array and reports its current memory.
    let status = unsafe {
        sys::napi_get_typedarray_info(
            env,
            array,
            &mut kind,
            &mut len,
            &mut data,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok
        || kind != sys::TypedarrayType::float64_array
        || len <= FIELDS
        || data.is_null()
        || data.align_offset(std::mem::align_of::<f64>()) != 0
    {
        return None;
    }
    // SAFETY: `len` f64s at `data`, as V8 reports them during this call; no JavaScript runs
    // until the call returns, so nothing can detach or resize them meanwhile.
    Some(unsafe { std::slice::from_raw_parts_mut(data.cast::<f64>(), len) })
}

/// Room for a key at its longest ([`MAX_KEY_BYTES`]) with a margin: a string whose UTF-8
/// copy comes close to the end may have been cut (V8 stops before a character that does
/// not fit), and goes the slow way.
const KEY_BUF: usize = MAX_KEY_BYTES + 16;
/// Policy names are at most 64 bytes.
const POLICY_BUF: usize = 96;

/// A string argument copied into `buf`; `None` when it is not a string or may not have
/// fit.
pub(crate) unsafe fn read_str(
    env: sys::napi_env,
    v: sys::napi_value,
    buf: &mut [u8],
) -> Option<&str> {
    let mut len = 0usize;
    // SAFETY: `buf` is writable for its length; N-API writes at most `buf.len()` bytes
    // (the copy and a terminating NUL) and fails on a value that is not a string.
    let status = unsafe {
        sys::napi_get_value_string_utf8(env, v, buf.as_mut_ptr().cast(), buf.len(), &mut len)
    };
    if status != sys::Status::napi_ok || len + 4 >= buf.len() {
        return None;
    }
    // N-API writes UTF-8 (lone surrogates replaced), as the slow path receives it.
    std::str::from_utf8(&buf[..len]).ok()
}

pub(crate) unsafe fn value_type(env: sys::napi_env, v: sys::napi_value) -> sys::napi_valuetype {
    let mut t = sys::ValueType::napi_undefined;
    // SAFETY: `v` is an argument of the current call.
    if unsafe { sys::napi_typeof(env, v, &mut t) } != sys::Status::napi_ok {
        return -1;
    }
    t
}

unsafe fn undefined(env: sys::napi_env) -> sys::napi_value {
    let mut v = ptr::null_mut();
    // SAFETY: a plain N-API call on the current env.
    unsafe { sys::napi_get_undefined(env, &mut v) };
    v
}

pub(crate) unsafe fn boolean(env: sys::napi_env, b: bool) -> sys::napi_value {
    let mut v = ptr::null_mut();
    // SAFETY: as above.
    unsafe { sys::napi_get_boolean(env, b, &mut v) };
    v
}

/// The outcome of one call, before it becomes a JavaScript value.
enum Answer {
    Written,
    Refused(String),
    SlowPath,
    Failed(authgate_core::Error),
}

unsafe extern "C" fn check(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: the current call's env and info.
    let Some((argv, data)) = (unsafe { call_args::<4>(env, info) }) else {
        // SAFETY: the current env.
        return unsafe { boolean(env, false) };
    };
    // SAFETY: `data` is the `Checker` this function was made with; it lives until the
    // function's finalizer, which cannot run while the function is being called.
    let checker = unsafe { &*(data as *const Checker) };
    let answer = catch_unwind(AssertUnwindSafe(|| {
        let mut key_buf = [0u8; KEY_BUF];
        let mut policy_buf = [0u8; POLICY_BUF];
        // SAFETY: the arguments of the current call.
        let Some(key) = (unsafe { read_str(env, argv[0], &mut key_buf) }) else {
            return Answer::SlowPath;
        };
        let Some(policy) = (unsafe { read_str(env, argv[1], &mut policy_buf) }) else {
            return Answer::SlowPath;
        };
        let cost = match unsafe { value_type(env, argv[2]) } {
            sys::ValueType::napi_undefined | sys::ValueType::napi_null => 1,
            sys::ValueType::napi_number => {
                let mut n = 0f64;
                // SAFETY: a number argument of the current call.
                unsafe { sys::napi_get_value_double(env, argv[2], &mut n) };
                match cost_from_number(n) {
                    Ok(c) => c,
                    Err(e) => return Answer::Failed(e),
                }
            }
            _ => return Answer::SlowPath,
        };
        let mut enforce = false;
        // SAFETY: as above; a value that is not a boolean leaves `enforce` false.
        unsafe { sys::napi_get_value_bool(env, argv[3], &mut enforce) };
        // The buffer is checked before the limiter is: a check that cannot write its
        // answer must not take from the bucket (the slow path then reports the buffer).
        let Some(out) = (unsafe { out_slice(env, checker.out_ref) }) else {
            return Answer::SlowPath;
        };
        let d = match checker.limiter.check(policy, key, cost) {
            Ok(d) => d,
            Err(e) => return Answer::Failed(e),
        };
        if write_decision(&d, out).is_err() {
            return Answer::SlowPath;
        }
        if !enforce || d.allowed {
            return Answer::Written;
        }
        match d.into_result() {
            Ok(_) => Answer::Written,
            Err(e) => {
                out[FIELDS] = e.retry_after().map_or(-1.0, |s| s as f64);
                Answer::Refused(e.message().to_string())
            }
        }
    }))
    .unwrap_or_else(|_| {
        Answer::Failed(authgate_core::Error::new(
            authgate_core::ErrorKind::Internal,
            "internal error in authgate (the rate-limit check panicked)",
        ))
    });
    match answer {
        // SAFETY: the current env.
        Answer::Written => unsafe { undefined(env) },
        Answer::SlowPath => unsafe { boolean(env, false) },
        Answer::Refused(message) => {
            let mut v = ptr::null_mut();
            // SAFETY: `message` is valid UTF-8 of the given length.
            unsafe {
                sys::napi_create_string_utf8(
                    env,
                    message.as_ptr().cast(),
                    message.len() as isize,
                    &mut v,
                )
            };
            v
        }
        Answer::Failed(e) => {
            // The binding's usual error (code, message, details), thrown as napi-rs throws.
            // SAFETY: the current env, on the JavaScript thread.
            unsafe { napi::JsError::from(crate::errors::js(e)).throw_into(env) };
            ptr::null_mut()
        }
    }
}

unsafe extern "C" fn finalize(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Box<Checker>` leaked when the function was made; the
    // finalizer runs once.
    let checker = unsafe { Box::from_raw(data as *mut Checker) };
    // SAFETY: the reference was made on this env.
    unsafe { sys::napi_delete_reference(env, checker.out_ref) };
}

/// The bound check function over `limiter`, writing into the `Float64Array` `out` (at
/// least `FIELDS + 1` numbers).
pub(crate) fn make(
    env: sys::napi_env,
    limiter: Arc<RateLimiter>,
    out: sys::napi_value,
) -> napi::Result<sys::napi_value> {
    let fail = |what: &str| napi::Error::from_reason(format!("checker: {what}"));
    let mut out_ref = ptr::null_mut();
    // SAFETY: a strong reference keeps the array alive; its memory is looked up per call.
    if unsafe { sys::napi_create_reference(env, out, 1, &mut out_ref) } != sys::Status::napi_ok {
        return Err(fail("could not hold the buffer"));
    }
    // SAFETY: the reference was just made on this env.
    if unsafe { out_slice(env, out_ref) }.is_none() {
        // SAFETY: as above; nothing else holds the reference.
        unsafe { sys::napi_delete_reference(env, out_ref) };
        return Err(fail("expected a Float64Array of 13 numbers"));
    }
    let checker = Box::into_raw(Box::new(Checker { limiter, out_ref }));
    // SAFETY: `checker` outlives the function: it is freed by the function's finalizer.
    let f = match unsafe { bound_function(env, Some(check), checker.cast(), Some(finalize)) } {
        Ok(f) => f,
        Err(made) => {
            if !made {
                // SAFETY: nothing else holds the box or the reference.
                unsafe {
                    sys::napi_delete_reference(env, out_ref);
                    drop(Box::from_raw(checker));
                }
            }
            return Err(fail("could not make the function"));
        }
    };
    Ok(f)
}

/// A function named `check` that calls `callback` with `data`, and `finalize` with it when
/// the function is collected. On failure, `Err(made)`: when the function was made but its
/// finalizer could not be added, `data` must be left allocated (the unreachable function
/// still points at it); otherwise the caller frees it.
///
/// # Safety
/// `data` must stay valid until `finalize` runs, and `callback` must expect it.
pub(crate) unsafe fn bound_function(
    env: sys::napi_env,
    callback: sys::napi_callback,
    data: *mut c_void,
    finalize: sys::napi_finalize,
) -> Result<sys::napi_value, bool> {
    let mut f = ptr::null_mut();
    let name = "check";
    // SAFETY: `data` outlives the function (the caller's promise).
    let status = unsafe {
        sys::napi_create_function(
            env,
            name.as_ptr().cast(),
            name.len() as isize,
            callback,
            data,
            &mut f,
        )
    };
    if status != sys::Status::napi_ok {
        return Err(false);
    }
    // SAFETY: `f` was just made on this env; `finalize` frees `data` once.
    let status = unsafe {
        sys::napi_add_finalizer(env, f, data, finalize, ptr::null_mut(), ptr::null_mut())
    };
    if status != sys::Status::napi_ok {
        return Err(true);
    }
    Ok(f)
}

/// The current call's first `N` arguments and the function's data pointer; `None` when
/// fewer were given or N-API fails.
///
/// # Safety
/// `env` and `info` are those of the call in progress.
pub(crate) unsafe fn call_args<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> Option<([sys::napi_value; N], *mut c_void)> {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    let mut data: *mut c_void = ptr::null_mut();
    // SAFETY: N-API fills at most `argc` values and the function's data pointer.
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            &mut data,
        )
    };
    (status == sys::Status::napi_ok && !data.is_null() && argc >= N).then_some((argv, data))
}
