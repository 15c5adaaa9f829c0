//! What HTTP integrations in every runtime share: reading credentials from headers and
//! turning an error into a status code and a `WWW-Authenticate` challenge (RFC 6750 §3),
//! so Python and Node middleware answer identically.

use crate::error::{err, Error, ErrorKind, Result};
use crate::ratelimit::RateDecision;

/// The longest `Authorization` header value read.
pub const MAX_AUTHORIZATION_BYTES: usize = 16 * 1024;

/// The characters of a token68 (RFC 7235 §2.1) before its trailing `=`: letters, digits
/// and `-._~+/`.
static TOKEN68: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        i += 1;
    }
    t
};

/// The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive,
/// RFC 6750 §2.1). Anything else is `malformed_token`.
pub fn bearer_token(header_value: &str) -> Result<&str> {
    if header_value.len() > MAX_AUTHORIZATION_BYTES {
        return err(
            ErrorKind::TokenTooLarge,
            "the Authorization header is too large",
        );
    }
    if header_value.trim().is_empty() {
        return err(ErrorKind::MissingToken, "the request has no Bearer token");
    }
    let (scheme, token) = header_value.split_once(' ').unwrap_or((header_value, ""));
    let token = token.trim_matches(' ');
    let is_token68 = |t: &str| {
        !t.is_empty()
            && t.trim_end_matches('=')
                .bytes()
                .all(|b| TOKEN68[usize::from(b)])
    };
    if !scheme.eq_ignore_ascii_case("bearer") || !is_token68(token) {
        return err(
            ErrorKind::MalformedToken,
            "expected `Authorization: Bearer <token>`",
        );
    }
    Ok(token)
}

/// The header an API key travels in, read by the server gates and written by clients.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The `Authorization` value a client sends for `token`: `Bearer <token>`. Text that is
/// not a token68 (RFC 6750 §2.1) — spaces, line breaks, quotes — is `malformed_token`, so
/// no caller can smuggle a second header through it.
pub fn bearer_header_value(token: &str) -> Result<String> {
    let value = format!("Bearer {token}");
    bearer_token(&value)?;
    Ok(value)
}

/// The `x-api-key` value a client sends: the key itself, once its shape and checksum
/// pass, so a mistyped key fails on the device instead of as a 401 from the server.
pub fn api_key_header_value(key: &str) -> Result<&str> {
    crate::apikey::parse(key)?;
    Ok(key)
}

impl ErrorKind {
    /// The HTTP status a server answers with for this error.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorKind::InsufficientScope | ErrorKind::UserMismatch => 403,
            ErrorKind::InvalidInput | ErrorKind::MalformedSignature => 400,
            ErrorKind::TooManyAttempts | ErrorKind::ResendTooSoon | ErrorKind::RateLimited => 429,
            ErrorKind::IpNotAllowed | ErrorKind::AccountLocked => 403,
            ErrorKind::WeakPassword => 400,
            ErrorKind::DeliveryFailed => 502,
            ErrorKind::CapacityExceeded
            | ErrorKind::StoreUnavailable
            | ErrorKind::KeySetUnavailable => 503,
            ErrorKind::Internal => 500,
            _ => 401,
        }
    }

    /// The RFC 6750 `error` value: `invalid_token`, `insufficient_scope` or `invalid_request`
    /// (and RFC 9449's `use_dpop_nonce`).
    pub const fn bearer_error(self) -> &'static str {
        match self {
            ErrorKind::InsufficientScope => "insufficient_scope",
            ErrorKind::InvalidInput => "invalid_request",
            ErrorKind::UseDpopNonce => "use_dpop_nonce",
            _ => "invalid_token",
        }
    }
}

/// The `WWW-Authenticate` value for a request refused with `error` (RFC 6750 §3), e.g.
/// `Bearer realm="api", error="invalid_token", error_description="token expired"`.
/// `None` when the status is not 401 or 403, for a one-time-code error (the second
/// factor is not a bearer credential), for an IP refusal (no credential fixes it), and for
/// a missing API key (not a bearer credential either). A request with no token at all
/// (`missing_token`) gets the challenge without an error, as RFC 6750 §3.1 asks:
/// `Bearer realm="api"`.
///
/// Only fixed text reaches the header: the description is the error's stable code in words
/// (`token expired`), never its message, which may hold text from the request (an `alg`
/// name, say). Every character is printable ASCII other than `"` and `\` (RFC 6750 §3's
/// `error_description` and RFC 9110's quoted-string), so every HTTP stack can write it.
pub fn bearer_challenge(error: &Error, realm: Option<&str>) -> Option<String> {
    if !matches!(error.kind().http_status(), 401 | 403)
        || error.kind().family() == "otp"
        || matches!(
            error.kind(),
            ErrorKind::IpNotAllowed | ErrorKind::MissingApiKey
        )
    {
        return None;
    }
    let mut out = String::from("Bearer ");
    if let Some(realm) = realm {
        // The realm is configuration, but a stray character must not make the header
        // unwritable: keep what a quoted-string may hold.
        let realm: String = realm
            .chars()
            .filter(|&c| (' '..='~').contains(&c) && c != '"' && c != '\\')
            .take(128)
            .collect();
        out.push_str("realm=\"");
        out.push_str(&realm);
        out.push('"');
        if error.kind() == ErrorKind::MissingToken {
            return Some(out);
        }
        out.push_str(", ");
    } else if error.kind() == ErrorKind::MissingToken {
        return Some("Bearer".to_string());
    }
    out.push_str("error=\"");
    out.push_str(error.kind().bearer_error());
    out.push_str("\", error_description=\"");
    out.extend(error.code().chars().map(|c| if c == '_' { ' ' } else { c }));
    out.push('"');
    Some(out)
}

/// Every header name a refusal can carry, in the order [`refusal`] writes them (the gate
/// adds `dpop-nonce` to a `use_dpop_nonce` refusal). A binding may name them by their
/// index in this list.
pub const REFUSAL_HEADERS: [&str; 9] = [
    "content-type",
    "www-authenticate",
    "retry-after",
    "ratelimit-policy",
    "ratelimit",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "dpop-nonce",
];

/// A refused request's whole HTTP response, as every runtime sends it byte for byte:
/// the status, lower-case header names, and the JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    /// `{"error":"<snake_case code>","message":"…"}`, with `"retry_after":N` when waiting
    /// helps and `"violations":[…]` for a weak password.
    pub body: String,
}

/// The response for a request refused with `error`: its status; `content-type`;
/// `www-authenticate` for 401/403 ([`bearer_challenge`]); `retry-after` when the error
/// carries one; and, when a rate-limit decision is given, its RateLimit headers.
pub fn refusal(error: &Error, realm: Option<&str>, rate: Option<&RateDecision>) -> Refusal {
    let kind = error.kind();
    let mut headers = Vec::with_capacity(8);
    headers.push(("content-type", "application/json".to_string()));
    if let Some(c) = bearer_challenge(error, realm) {
        headers.push(("www-authenticate", c));
    }
    if let Some(secs) = error.retry_after() {
        let mut text = String::with_capacity(20);
        crate::util::push_decimal(&mut text, secs);
        headers.push(("retry-after", text));
    }
    if let Some(d) = rate {
        d.push_wire_headers(&mut headers, false);
    }
    let mut body = Vec::with_capacity(64 + error.message().len());
    // The code is snake_case ASCII: no escaping.
    body.extend_from_slice(b"{\"error\":\"");
    body.extend_from_slice(kind.code().as_bytes());
    body.extend_from_slice(b"\",\"message\":");
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut body, error.message());
    if let Some(secs) = error.retry_after() {
        let mut digits = [0u8; 20];
        body.extend_from_slice(b",\"retry_after\":");
        body.extend_from_slice(crate::util::decimal(secs, &mut digits));
    }
    if !error.violations().is_empty() {
        body.extend_from_slice(b",\"violations\":");
        let _ = serde_json::to_writer(&mut body, error.violations());
    }
    body.push(b'}');
    Refusal {
        status: kind.http_status(),
        headers,
        // serde_json writes UTF-8, the rest is ASCII.
        body: String::from_utf8(body).unwrap_or_default(),
    }
}

/// [`refusal`] for an error given by its code (either case: `token_expired`,
/// `TOKEN_EXPIRED`), message and retry-after, as the bindings hold it. Never fails: an
/// unknown code is answered as `internal` (500) with a fixed message.
pub fn refusal_for_code(
    code: &str,
    message: &str,
    retry_after: Option<u64>,
    violations: &[String],
    realm: Option<&str>,
    rate: Option<&RateDecision>,
) -> Refusal {
    let error = match ErrorKind::from_code(&code.to_ascii_lowercase()) {
        Some(kind) => {
            let e =
                Error::new(kind, message.to_string()).with_violations(violations.iter().cloned());
            match retry_after {
                Some(secs) => e.with_retry_after(secs),
                None => e,
            }
        }
        None => Error::new(ErrorKind::Internal, "internal error"),
    };
    refusal(&error, realm, rate)
}

/// The longest request target [`request_url`] takes.
pub const MAX_REQUEST_TARGET_BYTES: usize = 16 * 1024;

/// The absolute URL of a request from its scheme, its `Host` header and its raw request
/// target (`/path?query`, as sent): what a DPoP proof's `htu` and an RFC 9421 signature's
/// `@authority`/`@path` cover. Every adapter builds it here, so a `Host` that is not a host
/// (`api.example.com/admin?`, with `@`, spaces or control characters) cannot move the path
/// another way in one runtime than in another: it is `invalid_input`, as is a scheme other
/// than http(s) or a target that does not start with `/`.
pub fn request_url(scheme: &str, host: &str, target: &str) -> Result<String> {
    let scheme_ok = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    if !scheme_ok {
        return err(ErrorKind::InvalidInput, "the scheme must be http or https");
    }
    if !valid_host(host) {
        return err(
            ErrorKind::InvalidInput,
            "the Host header is not a host with an optional port",
        );
    }
    if target.len() > MAX_REQUEST_TARGET_BYTES {
        return err(ErrorKind::InvalidInput, "the request target is too long");
    }
    if !target_is_path(target) {
        return err(
            ErrorKind::InvalidInput,
            "the request target must be a path (/...) without spaces, control characters or a fragment",
        );
    }
    Ok(format!("{}://{host}{target}", scheme.to_ascii_lowercase()))
}

/// A target that is a path: starts with `/`, no fragment, no space and no ASCII control
/// character. Other bytes are left alone (a server hands raw UTF-8 bytes on as Latin-1
/// text, one character per byte; a proof made over the encoded form then does not match).
fn target_is_path(target: &str) -> bool {
    target.starts_with('/') && target.bytes().all(|b| b > b' ' && b != 0x7f && b != b'#')
}

/// After `scheme://` when `target` is in absolute-form (RFC 9112 §3.2.2): any RFC 3986
/// scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`), as servers route it — Express
/// routes `ftp://x/admin` by `/admin`. `/fetch/https://x/y` is a path, not absolute-form.
fn absolute_form_rest(target: &str) -> Option<&str> {
    let (scheme, rest) = target.split_once("://")?;
    let mut bytes = scheme.bytes();
    let first = bytes.next()?;
    (first.is_ascii_alphabetic()
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
    .then_some(rest)
}

/// The path of a request target, without its query; an absolute-form target gives its
/// path (`/` when it has none), never its authority. `None` when the target is no path:
/// empty or `*`, longer than [`MAX_REQUEST_TARGET_BYTES`], or holding a space, an ASCII
/// control character or a raw `#` (some servers hand `#…` on to the app's router, which
/// would then see another path than the gate).
pub(crate) fn target_path(target: &str) -> Option<&str> {
    if target.len() > MAX_REQUEST_TARGET_BYTES
        || !target.bytes().all(|b| b > b' ' && b != 0x7f && b != b'#')
    {
        return None;
    }
    let path = match absolute_form_rest(target) {
        Some(rest) => match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => &rest[i..],
            _ => "/",
        },
        None => target,
    };
    let path = path.split('?').next().unwrap_or_default();
    path.starts_with('/').then_some(path)
}

/// The URL a gate checks a DPoP proof's `htu` against, from the request's scheme, its
/// `Host` header (`None` when the request has none) and its raw target. Never fails:
///
/// - `scheme://host/path`, without the query, when `Host` is a host ([`request_url`]);
///   an absolute-form target (`ftp://other/p`, `https://other/p`) gives its path under
///   the `Host` header, never its own authority (a proof made for the server it names is
///   not admitted here);
/// - the bare path when `Host` is absent or not a host;
/// - the empty string when the target is no path (see above): no URL at all.
///
/// Only an absolute URL can match a proof: with a bare path or nothing, a DPoP-bound
/// request is refused (`invalid_input`, 400) — with `public_origin`, only when there is
/// no path — and a request without DPoP is unaffected. Every adapter (WSGI, ASGI, Django,
/// Flask, Express, Fastify) calls this, so the URL is the same in every runtime.
pub fn gate_url(scheme: &str, host: Option<&str>, target: &str) -> String {
    let Some(path) = target_path(target) else {
        return String::new();
    };
    match host.map(|h| request_url(scheme, h, path)) {
        Some(Ok(url)) => url,
        _ => path.to_string(),
    }
}

/// RFC 3986 §3.2.2-3: a reg-name or IPv4 address, or an IP literal in brackets, then an
/// optional `:port` of up to five digits.
fn valid_host(host: &str) -> bool {
    if host.is_empty() || host.len() > 262 {
        return false;
    }
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let Some((literal, after)) = rest.split_once(']') else {
            return false;
        };
        let literal_ok = !literal.is_empty()
            && literal
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !literal_ok {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("x", port),
                None => return false,
            },
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => (name, port),
            None => (host, ""),
        }
    };
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b));
    // A `:` with no port (`h:`) or a port above 65535 is refused: `h:` and `h` would be
    // two spellings of one origin.
    let port_ok = port.is_empty() && !host.ends_with(':')
        || (port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| p <= 65535));
    name_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_headers_lists_every_name_a_refusal_carries() {
        use crate::ratelimit::{Policy, RateLimiter};
        let limiter = RateLimiter::new(std::sync::Arc::new(crate::store::MemoryStore::new()));
        limiter
            .set_policy("p", Policy::per_second(1).unwrap())
            .unwrap();
        limiter.check("p", "k", 1).unwrap();
        let limited = limiter.check("p", "k", 1).unwrap();
        assert!(!limited.allowed && limited.retry_after_secs().is_some());
        let mut seen = std::collections::BTreeSet::new();
        for kind in ErrorKind::ALL {
            for retry in [None, Some(7)] {
                let mut error = Error::new(*kind, "m");
                if let Some(secs) = retry {
                    error = error.with_retry_after(secs);
                }
                for realm in [None, Some("api")] {
                    for rate in [None, Some(&limited)] {
                        for (name, _) in refusal(&error, realm, rate).headers {
                            assert!(REFUSAL_HEADERS.contains(&name), "{name} is not listed");
                            seen.insert(name);
                        }
                    }
                }
            }
        }
        // The gate adds dpop-nonce itself; every other name is written here.
        seen.insert("dpop-nonce");
        assert_eq!(seen.len(), REFUSAL_HEADERS.len());
    }

    #[test]
    fn statuses_and_challenges() {
        let expired = Error::new(ErrorKind::TokenExpired, "the token has expired");
        assert_eq!(expired.kind().http_status(), 401);
        assert_eq!(
            bearer_challenge(&expired, Some("api")).unwrap(),
            r#"Bearer realm="api", error="invalid_token", error_description="token expired""#
        );
        let scope = Error::new(ErrorKind::InsufficientScope, "needs \"admin\"");
        assert_eq!(scope.kind().http_status(), 403);
        assert_eq!(
            bearer_challenge(&scope, None).unwrap(),
            r#"Bearer error="insufficient_scope", error_description="insufficient scope""#
        );
        // Text from the request never reaches the header.
        let alg = Error::new(
            ErrorKind::AlgorithmNotAllowed,
            "unsupported algorithm `AAAAAAAAAAAAAAAA…` \u{2603}\r\nX-Evil: 1",
        );
        let c = bearer_challenge(&alg, Some("caf\u{e9} \"api\"")).unwrap();
        assert_eq!(
            c,
            r#"Bearer realm="caf api", error="invalid_token", error_description="algorithm not allowed""#
        );
        assert_eq!(
            bearer_challenge(&Error::new(ErrorKind::Internal, "x"), None),
            None
        );
    }

    #[test]
    fn refusals_are_whole_responses() {
        let e = Error::new(ErrorKind::RateLimited, "slow \"down\"\u{2603}").with_retry_after(12);
        let r = refusal(&e, Some("api"), None);
        assert_eq!(r.status, 429);
        assert_eq!(
            r.headers,
            vec![
                ("content-type", "application/json".to_string()),
                ("retry-after", "12".to_string())
            ]
        );
        assert_eq!(
            r.body,
            "{\"error\":\"rate_limited\",\"message\":\"slow \\\"down\\\"\u{2603}\",\"retry_after\":12}"
        );
        let unknown = refusal_for_code("NOPE", "secret", None, &[], None, None);
        assert_eq!(unknown.status, 500);
        assert_eq!(
            unknown.body,
            "{\"error\":\"internal\",\"message\":\"internal error\"}"
        );
        let upper = refusal_for_code(
            "INVALID_API_KEY",
            "no such key",
            None,
            &[],
            Some("api"),
            None,
        );
        assert_eq!(upper.status, 401);
        assert!(upper.body.starts_with("{\"error\":\"invalid_api_key\""));
    }

    #[test]
    fn gate_urls_never_fail() {
        assert_eq!(target_path("/a/b?c"), Some("/a/b"));
        assert_eq!(target_path("HTTPS://other/x/y?z"), Some("/x/y"));
        assert_eq!(target_path("ftp://x/admin/users/1"), Some("/admin/users/1"));
        assert_eq!(target_path("a+b.c-d://x/p"), Some("/p"));
        assert_eq!(target_path("http://other?z"), Some("/"));
        assert_eq!(target_path("http://[x/a"), Some("/a"));
        assert_eq!(target_path("/p/https://x/y"), Some("/p/https://x/y"));
        assert_eq!(target_path("1http://x/y"), None);
        for no_path in [
            "",
            "*",
            "/a b",
            "/a#b",
            "http://x/a#b",
            "/\u{1}",
            "/\u{7f}",
            "x",
        ] {
            assert_eq!(target_path(no_path), None, "{no_path:?}");
            assert_eq!(gate_url("https", Some("h"), no_path), "", "{no_path:?}");
        }
        assert_eq!(gate_url("https", Some("h"), "/x?y"), "https://h/x");
        assert_eq!(gate_url("https", None, "/x?y"), "/x");
        assert_eq!(gate_url("https", Some("h:"), "/x"), "/x");
        let long = format!("/{}", "a".repeat(MAX_REQUEST_TARGET_BYTES));
        assert_eq!(gate_url("https", Some("h"), &long), "");
        let longest = &long[..MAX_REQUEST_TARGET_BYTES];
        assert!(gate_url("https", Some("h"), longest) == format!("https://h{longest}"));
        // Multi-byte text at every cut: no panic.
        assert_eq!(gate_url("https", Some("h"), "h\u{e9}tp://x"), "");
        assert_eq!(target_path("\u{e9}://x/y"), None);
        assert_eq!(target_path("/\u{e9}://x/y"), Some("/\u{e9}://x/y"));
    }

    #[test]
    fn hosts_and_ports() {
        for good in ["h", "h:1", "h:65535", "[::1]", "[::1]:0", "a.b-c_d~:443"] {
            assert!(valid_host(good), "{good}");
        }
        for bad in [
            "h:", "[::1]:", "h:65536", "h:123456", "h:1a", ":80", "[]", "[::1]x",
        ] {
            assert!(!valid_host(bad), "{bad}");
        }
    }

    #[test]
    fn client_header_values() {
        assert_eq!(
            bearer_header_value("abc.def-_~+/=").unwrap(),
            "Bearer abc.def-_~+/="
        );
        for bad in ["", "a b", "a\r\nX-Evil: 1", "\"q\""] {
            assert_eq!(
                bearer_header_value(bad).unwrap_err().kind(),
                ErrorKind::MalformedToken,
                "{bad:?}"
            );
        }
        let (key, _) = crate::apikey::generate(&Default::default(), 0).unwrap();
        assert_eq!(api_key_header_value(&key).unwrap(), key);
        let mut typo = key.clone().into_bytes();
        let last = typo.len() - 1;
        typo[last] = if typo[last] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap();
        assert_eq!(
            api_key_header_value(&typo).unwrap_err().kind(),
            ErrorKind::InvalidApiKey
        );
    }
}
