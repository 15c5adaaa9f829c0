//! The gate's check as a bare N-API function, as `fast_check` is for the limiter: without
//! napi-rs's per-call machinery (an owned `String` per argument and per header, borrow
//! scopes, `this` unwrapping). The gate answers every request of an API, refusals
//! included (a flood's 429s), so the crossing counts.
//!
//! `CoreGate.checker()` returns a function bound to its gate: `check(method, url, peer,
//! headers)` reads its strings into one reused buffer and answers as `CoreGate.check` does
//! (the same text, from the same `answer`). It returns `false`, having done nothing, when
//! an argument is not what it reads (not a string, `peer` neither a string nor null,
//! `headers` not an array of strings in pairs, or the strings longer than its buffer): the
//! facade then calls `CoreGate.check`, whose conversions and errors are the usual ones. A
//! route or a client certificate always goes that way. Everything it decides is the core's.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

use authgate_core::gate::{Gate, GateRequest};
use napi::sys;

use crate::fast_check::{boolean, bound_function, call_args, utf8_into, value_type};
use crate::gate::{answer, panicked};

/// Room for the request's strings together (method, URL, peer, header names and values):
/// larger requests go the slow way.
const ARGS_BUF: usize = 64 * 1024;
/// Headers read on the fast path (the gate reads a handful).
const MAX_HEADERS: usize = 16;

thread_local! {
    /// The strings of the call in progress, one after the other (one buffer per thread:
    /// each worker has its own). Reading an array element can run JavaScript (an index
    /// getter on an array passed straight to `CoreGate.checker()`, or a hole filled
    /// through `Array.prototype`), which could call in again: a call that finds the
    /// buffer in use goes the slow way, and the outer call goes on with its own reads.
    static ARGS: RefCell<Args> = const {
        RefCell::new(Args {
            utf8: Vec::new(),
            units: Vec::new(),
        })
    };
}

/// The strings' UTF-8, and room for one string's UTF-16 on its way there.
struct Args {
    utf8: Vec<u8>,
    units: Vec<u16>,
}

/// What the bound function holds.
struct GateChecker {
    gate: Arc<Gate>,
}

/// A string argument copied into `buf` at `*used` (through `units`): its span there, or
/// `None` when it is not a string or may not have fit.
unsafe fn read_into(
    env: sys::napi_env,
    v: sys::napi_value,
    units: &mut [u16],
    buf: &mut [u8],
    used: &mut usize,
) -> Option<(usize, usize)> {
    let rest = &mut buf[*used..];
    // No more units than could fit in what is left (each is at least one byte of UTF-8),
    // so an oversized string is not copied in full before it goes the slow way.
    let room = (rest.len() + 2).min(units.len());
    let units = &mut units[..room];
    // SAFETY: `v` is an argument, or an element of one, of the current call.
    let len = unsafe { utf8_into(env, v, units, rest) }?;
    let span = (*used, len);
    *used += len;
    Some(span)
}

/// The request's spans in the buffer: method, URL, peer, then names and values.
struct Spans {
    method: (usize, usize),
    url: (usize, usize),
    peer: Option<(usize, usize)>,
    headers: [(usize, usize); 2 * MAX_HEADERS],
    header_strings: usize,
}

/// Reads the arguments into `buf`; `None` for the slow path.
unsafe fn read_args(
    env: sys::napi_env,
    argv: &[sys::napi_value; 4],
    units: &mut [u16],
    buf: &mut [u8],
) -> Option<Spans> {
    let mut used = 0;
    // SAFETY (all calls below): the arguments of the current call, on its env.
    let method = unsafe { read_into(env, argv[0], units, buf, &mut used) }?;
    let url = unsafe { read_into(env, argv[1], units, buf, &mut used) }?;
    let peer = match unsafe { value_type(env, argv[2]) } {
        sys::ValueType::napi_null | sys::ValueType::napi_undefined => None,
        _ => Some(unsafe { read_into(env, argv[2], units, buf, &mut used) }?),
    };
    let mut is_array = false;
    if unsafe { sys::napi_is_array(env, argv[3], &mut is_array) } != sys::Status::napi_ok
        || !is_array
    {
        return None;
    }
    let mut n = 0u32;
    if unsafe { sys::napi_get_array_length(env, argv[3], &mut n) } != sys::Status::napi_ok {
        return None;
    }
    let n = n as usize;
    if !n.is_multiple_of(2) || n > 2 * MAX_HEADERS {
        return None;
    }
    let mut spans = Spans {
        method,
        url,
        peer,
        headers: [(0, 0); 2 * MAX_HEADERS],
        header_strings: n,
    };
    for (i, span) in spans.headers.iter_mut().enumerate().take(n) {
        let mut element = ptr::null_mut();
        // The facade's array holds plain strings; another array's getter may run
        // JavaScript (see `ARGS`), may throw (the exception stays pending and the call
        // throws it) or shrink the array (an `undefined` element: the slow way). `n` was
        // fixed above, so nothing is read past the spans.
        if unsafe { sys::napi_get_element(env, argv[3], i as u32, &mut element) }
            != sys::Status::napi_ok
        {
            return None;
        }
        *span = unsafe { read_into(env, element, units, buf, &mut used) }?;
    }
    Some(spans)
}

/// The gate's answer for the call's arguments, or `None` for the slow path. `ran` is set
/// once the gate has checked the request (from then on, the slow path would count it
/// twice).
fn run(
    env: sys::napi_env,
    gate: &Gate,
    argv: &[sys::napi_value; 4],
    ran: &Cell<bool>,
) -> Option<String> {
    ARGS.with(|cell| {
        let mut args = cell.try_borrow_mut().ok()?;
        let Args { utf8, units } = &mut *args;
        if utf8.len() < ARGS_BUF {
            utf8.resize(ARGS_BUF, 0);
            units.resize(ARGS_BUF, 0);
        }
        // SAFETY: the arguments of the current call, on its env.
        let spans = unsafe { read_args(env, argv, units, utf8) }?;
        let buf = &*utf8;
        // UTF-8 with lone surrogates replaced, as the slow path receives it.
        let text = |(at, len): (usize, usize)| std::str::from_utf8(&buf[at..at + len]).ok();
        let mut pairs = [("", ""); MAX_HEADERS];
        for (i, pair) in pairs.iter_mut().enumerate().take(spans.header_strings / 2) {
            *pair = (text(spans.headers[2 * i])?, text(spans.headers[2 * i + 1])?);
        }
        let peer = match spans.peer {
            Some(span) => Some(text(span)?),
            None => None,
        };
        let request = GateRequest {
            method: text(spans.method)?,
            url: text(spans.url)?,
            peer,
            headers: &pairs[..spans.header_strings / 2],
            client_certificate: None,
        };
        ran.set(true);
        let outcome = catch_unwind(AssertUnwindSafe(|| gate.check(&request, None)))
            .unwrap_or_else(|_| panicked());
        Some(answer(outcome))
    })
}

unsafe extern "C" fn check(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: the current call's env and info.
    let Some((argv, data)) = (unsafe { call_args::<4>(env, info) }) else {
        // SAFETY: the current env.
        return unsafe { boolean(env, false) };
    };
    // SAFETY: `data` is the `GateChecker` this function was made with; it lives until the
    // function's finalizer, which cannot run while the function is being called.
    let checker = unsafe { &*(data as *const GateChecker) };
    // A panic outside the gate's own check: before it, the slow path; after it (writing
    // the answer), `null`, which the facade reports (the request was counted).
    let ran = Cell::new(false);
    let answer = catch_unwind(AssertUnwindSafe(|| run(env, &checker.gate, &argv, &ran)));
    let answer = match answer {
        Ok(answer) => answer,
        // SAFETY: the current env.
        Err(_) if ran.get() => return unsafe { null(env) },
        Err(_) => None,
    };
    match answer {
        Some(text) => {
            let mut v = ptr::null_mut();
            // SAFETY: `text` is valid UTF-8 of the given length.
            let made = unsafe {
                sys::napi_create_string_utf8(env, text.as_ptr().cast(), text.len() as isize, &mut v)
            };
            if made != sys::Status::napi_ok {
                // SAFETY: the current env. The gate has run: the slow path would count the
                // request twice, so the facade reports this instead.
                return unsafe { null(env) };
            }
            v
        }
        // SAFETY: the current env.
        None => unsafe { boolean(env, false) },
    }
}

unsafe fn null(env: sys::napi_env) -> sys::napi_value {
    let mut v = ptr::null_mut();
    // SAFETY: a plain N-API call on the current env.
    unsafe { sys::napi_get_null(env, &mut v) };
    v
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Box<GateChecker>` leaked when the function was made; the
    // finalizer runs once.
    drop(unsafe { Box::from_raw(data as *mut GateChecker) });
}

/// The bound check function over `gate`.
pub(crate) fn make(env: sys::napi_env, gate: Arc<Gate>) -> napi::Result<sys::napi_value> {
    let checker = Box::into_raw(Box::new(GateChecker { gate }));
    // SAFETY: `checker` outlives the function: it is freed by the function's finalizer.
    match unsafe { bound_function(env, Some(check), checker.cast(), Some(finalize)) } {
        Ok(f) => Ok(f),
        Err(made) => {
            if !made {
                // SAFETY: nothing else holds the box.
                drop(unsafe { Box::from_raw(checker) });
            }
            Err(napi::Error::from_reason(
                "checker: could not make the function",
            ))
        }
    }
}
