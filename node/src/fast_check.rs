//! The rate-limit check as a bare N-API function, without napi-rs's per-call machinery
//! (argument conversion into owned `String`s, borrow scopes, `this` unwrapping): a check
//! is about a tenth of a microsecond in the core, and a framework's middleware makes one
//! per request, so the crossing is most of its cost.
//!
//! `JsRateLimiter::checker()` returns `[check, enforce, out]`: two functions bound to its
//! limiter, and `out`, a `Float64Array` over memory this module owns (so the functions
//! write to it without asking V8 where it is, and nothing JavaScript does to the array can
//! make a write land anywhere else). `check(key, policy, cost)` writes the decision's
//! numbers into `out` as `checkInto` does and returns `undefined`; `enforce` does the same,
//! or for a refusal returns its message (its retry-after in `out[12]`). Both return
//! `false`, having done nothing, when an argument is not what the fast path reads (not a
//! string, longer than its buffer, a cost that is not a number): the facade then calls
//! `checkInto`, whose conversion errors are the binding's usual ones. Everything they
//! decide is the core's. `checker()` returns `null` where the runtime allows no memory
//! from outside V8 in an `ArrayBuffer` (Electron's sandbox): the facade then always takes
//! `checkInto`.
//!
//! Strings are copied out of V8 as UTF-16 (a plain copy, or a widening of one-byte
//! strings) and turned into UTF-8 here: V8's UTF-8 writer was about a fifth of a check.

use std::cell::{RefCell, UnsafeCell};
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;

use authgate_core::ratelimit::{cost_from_number, RateLimiter, MAX_KEY_BYTES};
use napi::sys;

use crate::ratelimit::{write_decision, FIELDS};

/// The numbers of a decision, then an `enforce` refusal's retry-after.
const OUT_LEN: usize = FIELDS + 1;

/// The memory behind the facade's `Float64Array`: written only on the JavaScript thread,
/// during a call of a bound function (no JavaScript runs meanwhile), and read by
/// JavaScript after it returns. Shared by both functions and the `ArrayBuffer` (an `Rc`:
/// all of them live and die on the JavaScript thread), and freed when the last of them is
/// collected.
struct Out(UnsafeCell<[f64; OUT_LEN]>);

/// Room for a key at its longest ([`MAX_KEY_BYTES`] bytes of UTF-8, so at most as many
/// UTF-16 units) and one more unit: a string that fills the buffer may have been cut, and
/// goes the slow way (which names it too long).
const UNITS: usize = MAX_KEY_BYTES + 2;
/// A key's UTF-8, at most [`MAX_KEY_BYTES`]; one that does not fit goes the slow way.
const KEY_BUF: usize = MAX_KEY_BYTES;
/// Policy names are at most 64 bytes; a longer one goes the slow way (which names it).
const POLICY_BUF: usize = 96;

/// Buffers a call reads its strings into, kept with the function so that no call clears
/// a kilobyte of stack first.
struct Scratch {
    units: [u16; UNITS],
    key: [u8; KEY_BUF],
    policy: [u8; POLICY_BUF],
}

/// What a bound function holds.
struct Checker {
    limiter: Arc<RateLimiter>,
    out: Rc<Out>,
    enforce: bool,
    scratch: RefCell<Scratch>,
}

/// A string argument as UTF-8 in `buf`, copied out of V8 through `units`; `None` when it is
/// not a string or its UTF-8 may not fit in `buf`.
pub(crate) unsafe fn read_str<'a>(
    env: sys::napi_env,
    v: sys::napi_value,
    units: &mut [u16],
    buf: &'a mut [u8],
) -> Option<&'a str> {
    // SAFETY: the caller's.
    let len = unsafe { utf8_into(env, v, units, buf) }?;
    let bytes = buf.get(..len)?;
    debug_assert!(std::str::from_utf8(bytes).is_ok());
    // SAFETY: `utf8_into` wrote the first `len` bytes as ASCII bytes or as whole
    // characters' `encode_utf8`: UTF-8. (Checking again would read them back in words
    // while the byte stores that wrote them are still on their way to the cache.)
    Some(unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// A string argument's UTF-8 written at the start of `buf`, copied out of V8 through
/// `units`: its length in bytes, or `None` when it is not a string, or it or its UTF-8 may
/// not fit. A lone surrogate becomes U+FFFD, as N-API's own UTF-8 conversion (the slow
/// path's) makes it.
///
/// # Safety
/// `env` is the current call's and `v` a value of it.
pub(crate) unsafe fn utf8_into(
    env: sys::napi_env,
    v: sys::napi_value,
    units: &mut [u16],
    buf: &mut [u8],
) -> Option<usize> {
    let mut len = 0usize;
    // SAFETY: `units` is writable for its length; N-API writes at most `units.len()` units
    // (the copy and a terminating NUL) and fails on a value that is not a string.
    let status = unsafe {
        sys::napi_get_value_string_utf16(env, v, units.as_mut_ptr(), units.len(), &mut len)
    };
    if status != sys::Status::napi_ok || len + 1 >= units.len() {
        return None;
    }
    let units = &units[..len];
    // ASCII, one unit at a time: V8 has just written the units two bytes at a time, and a
    // wider load of them would wait for those stores to reach the cache.
    let ascii = buf.get_mut(..len)?;
    let mut n = 0;
    for (o, &u) in ascii.iter_mut().zip(units) {
        if u >= 0x80 {
            break;
        }
        *o = u as u8;
        n += 1;
    }
    if n == len {
        return Some(len);
    }
    let mut n = 0;
    for c in char::decode_utf16(units.iter().copied()) {
        let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
        let at = buf.get_mut(n..n + c.len_utf8())?;
        n += c.encode_utf8(at).len();
    }
    Some(n)
}

pub(crate) unsafe fn value_type(env: sys::napi_env, v: sys::napi_value) -> sys::napi_valuetype {
    let mut t = sys::ValueType::napi_undefined;
    // SAFETY: `v` is an argument of the current call.
    if unsafe { sys::napi_typeof(env, v, &mut t) } != sys::Status::napi_ok {
        return -1;
    }
    t
}

pub(crate) unsafe fn boolean(env: sys::napi_env, b: bool) -> sys::napi_value {
    let mut v = ptr::null_mut();
    // SAFETY: a plain N-API call on the current env.
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

/// One check by the bound function `checker`, with its arguments `argv`.
unsafe fn answer(env: sys::napi_env, checker: &Checker, argv: &[sys::napi_value; 3]) -> Answer {
    let Ok(mut scratch) = checker.scratch.try_borrow_mut() else {
        return Answer::SlowPath;
    };
    let Scratch { units, key, policy } = &mut *scratch;
    // SAFETY: the arguments of the current call.
    let Some(key) = (unsafe { read_str(env, argv[0], units, key) }) else {
        return Answer::SlowPath;
    };
    // SAFETY: as above.
    let Some(policy) = (unsafe { read_str(env, argv[1], units, policy) }) else {
        return Answer::SlowPath;
    };
    // The facade passes 1 for a cost left out; anything but a number goes the slow way.
    let mut n = 0f64;
    // SAFETY: as above; a value that is not a number fails and leaves `n` alone.
    if unsafe { sys::napi_get_value_double(env, argv[2], &mut n) } != sys::Status::napi_ok {
        return Answer::SlowPath;
    }
    let cost = match cost_from_number(n) {
        Ok(c) => c,
        Err(e) => return Answer::Failed(e),
    };
    // The decision is read where `check` wrote it: moved out of its `Result`, its 144
    // bytes would be copied while they are still on their way to the cache.
    let decided = checker.limiter.check(policy, key, cost);
    let d = match decided {
        Ok(ref d) => d,
        Err(e) => return Answer::Failed(e),
    };
    // SAFETY: the JavaScript thread, during a call: nothing else reads or writes `out`
    // until it returns (see `Out`), and no other reference to it is alive.
    let out = unsafe { &mut *checker.out.0.get() };
    // `out` is always long enough; if it were not, the bucket has been taken from, so the
    // slow path (which would take again) is no answer.
    if write_decision(d, out).is_err() {
        return Answer::Failed(authgate_core::Error::new(
            authgate_core::ErrorKind::Internal,
            "internal error in authgate (the decision buffer is too small)",
        ));
    }
    if !checker.enforce || d.allowed {
        return Answer::Written;
    }
    match d.clone().into_result() {
        Ok(_) => Answer::Written,
        Err(e) => {
            out[FIELDS] = e.retry_after().map_or(-1.0, |s| s as f64);
            Answer::Refused(e.message().to_string())
        }
    }
}

unsafe extern "C" fn check(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: the current call's env and info.
    let Some((argv, data)) = (unsafe { call_args::<3>(env, info) }) else {
        // SAFETY: the current env.
        return unsafe { boolean(env, false) };
    };
    // SAFETY: `data` is the `Checker` this function was made with; it lives until the
    // function's finalizer, which cannot run while the function is being called.
    let checker = unsafe { &*(data as *const Checker) };
    // SAFETY: the current call's env and arguments.
    let answer = catch_unwind(AssertUnwindSafe(|| unsafe { answer(env, checker, &argv) }))
        .unwrap_or_else(|_| {
            Answer::Failed(authgate_core::Error::new(
                authgate_core::ErrorKind::Internal,
                "internal error in authgate (the rate-limit check panicked)",
            ))
        });
    match answer {
        // A callback's null is `undefined` to its caller.
        Answer::Written => ptr::null_mut(),
        // SAFETY: the current env.
        Answer::SlowPath => unsafe { boolean(env, false) },
        Answer::Refused(message) => {
            let mut v = ptr::null_mut();
            // SAFETY: `message` is valid UTF-8 of the given length.
            let status = unsafe {
                sys::napi_create_string_utf8(
                    env,
                    message.as_ptr().cast(),
                    message.len() as isize,
                    &mut v,
                )
            };
            if status == sys::Status::napi_ok && !v.is_null() {
                return v;
            }
            // A refusal must never read as `undefined` (allowed): throw instead.
            let e = authgate_core::Error::new(
                authgate_core::ErrorKind::Internal,
                "internal error in authgate (a refusal could not be returned)",
            );
            // SAFETY: the current env, on the JavaScript thread.
            unsafe { napi::JsError::from(crate::errors::js(e)).throw_into(env) };
            ptr::null_mut()
        }
        Answer::Failed(e) => {
            // The binding's usual error (code, message, details), thrown as napi-rs throws.
            // SAFETY: the current env, on the JavaScript thread.
            unsafe { napi::JsError::from(crate::errors::js(e)).throw_into(env) };
            ptr::null_mut()
        }
    }
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Box<Checker>` leaked when the function was made; the
    // finalizer runs once.
    drop(unsafe { Box::from_raw(data as *mut Checker) });
}

unsafe extern "C" fn release_out(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the `Rc<Out>` given to the `ArrayBuffer`; its finalizer runs once,
    // on the JavaScript thread, as every finalizer of these functions does (N-API's
    // contract), so the count is never touched from two threads.
    drop(unsafe { Rc::from_raw(hint as *const Out) });
}

/// `[check, enforce, out]` over `limiter` (see the module's doc), or `null` where the
/// runtime allows no external `ArrayBuffer`.
pub(crate) fn make(env: sys::napi_env, limiter: Arc<RateLimiter>) -> napi::Result<sys::napi_value> {
    let fail = |what: &str| napi::Error::from_reason(format!("checker: {what}"));
    let out = Rc::new(Out(UnsafeCell::new([0.0; OUT_LEN])));
    let hint = Rc::into_raw(out.clone()) as *mut c_void;
    let mut buffer = ptr::null_mut();
    // SAFETY: the memory lives as long as `hint`'s `Rc`, which the finalizer releases.
    let status = unsafe {
        sys::napi_create_external_arraybuffer(
            env,
            out.0.get().cast(),
            std::mem::size_of::<[f64; OUT_LEN]>(),
            Some(release_out),
            hint,
            &mut buffer,
        )
    };
    if status != sys::Status::napi_ok {
        // SAFETY: the buffer was not made, so its finalizer will not run.
        drop(unsafe { Rc::from_raw(hint as *const Out) });
        if status == sys::Status::napi_no_external_buffers_allowed {
            let mut null = ptr::null_mut();
            // SAFETY: a plain N-API call on the current env.
            unsafe { sys::napi_get_null(env, &mut null) };
            return Ok(null);
        }
        return Err(fail("could not make the buffer"));
    }
    let mut array = ptr::null_mut();
    let mut list = ptr::null_mut();
    // SAFETY: plain N-API calls on the current env, with the buffer just made.
    let made = unsafe {
        sys::napi_create_typedarray(
            env,
            sys::TypedarrayType::float64_array,
            OUT_LEN,
            buffer,
            0,
            &mut array,
        ) == sys::Status::napi_ok
            && sys::napi_create_array_with_length(env, 3, &mut list) == sys::Status::napi_ok
    };
    if !made {
        return Err(fail("could not make the buffer"));
    }
    for (i, enforce) in [false, true].into_iter().enumerate() {
        let checker = Box::into_raw(Box::new(Checker {
            limiter: limiter.clone(),
            out: out.clone(),
            enforce,
            scratch: RefCell::new(Scratch {
                units: [0; UNITS],
                key: [0; KEY_BUF],
                policy: [0; POLICY_BUF],
            }),
        }));
        // SAFETY: `checker` outlives the function: it is freed by the function's finalizer.
        let f = match unsafe { bound_function(env, Some(check), checker.cast(), Some(finalize)) } {
            Ok(f) => f,
            Err(made) => {
                if !made {
                    // SAFETY: nothing else holds the box.
                    drop(unsafe { Box::from_raw(checker) });
                }
                return Err(fail("could not make the function"));
            }
        };
        // SAFETY: `list` was made above with room for three.
        if unsafe { sys::napi_set_element(env, list, i as u32, f) } != sys::Status::napi_ok {
            return Err(fail("could not make the function"));
        }
    }
    // SAFETY: as above.
    if unsafe { sys::napi_set_element(env, list, 2, array) } != sys::Status::napi_ok {
        return Err(fail("could not make the buffer"));
    }
    Ok(list)
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
