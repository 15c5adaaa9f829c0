//! The request as RFC 9421 sees it: derived components (`@method`, `@authority`, …) and
//! header fields, each turned into the one canonical value a signature base holds.

use std::borrow::Cow;

use crate::error::{err, Error, ErrorKind, Result};
use crate::jwt::truncate;

/// At most this many header fields per request, and this many bytes per value.
pub const MAX_HEADERS: usize = 256;
pub const MAX_HEADER_VALUE_BYTES: usize = 16 * 1024;
/// At most this many bytes of target URI.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// An HTTP request to sign or verify. Header names match case-insensitively; a field sent
/// several times is given as several `(name, value)` pairs.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    method: &'a str,
    scheme: Cow<'a, str>,
    authority: Cow<'a, str>,
    path: &'a str,
    query: Option<&'a str>,
    headers: Vec<(&'a str, &'a str)>,
    body: &'a [u8],
}

fn invalid(message: impl Into<Cow<'static, str>>) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// A value may go into a signature base only if it cannot start a new line there.
fn check_line_safe(what: &str, value: &str) -> Result<()> {
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return err(
            ErrorKind::InvalidInput,
            format!("{what} contains a line break or NUL"),
        );
    }
    Ok(())
}

impl<'a> Request<'a> {
    /// A request for an absolute URL such as `https://example.com/foo?x=1`.
    pub fn new(method: &'a str, url: &'a str) -> Result<Self> {
        if url.len() > MAX_URI_BYTES {
            return Err(invalid("the URL is too long"));
        }
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("the URL must be absolute (scheme://authority/path)"))?;
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at(end);
        Request::from_parts(method, scheme, authority, path_and_query)
    }

    /// A request from the parts a server framework gives: scheme, `Host` (authority) and
    /// the raw request target (`/path?query`).
    pub fn from_parts(
        method: &'a str,
        scheme: &'a str,
        authority: &'a str,
        path_and_query: &'a str,
    ) -> Result<Self> {
        if method.is_empty()
            || !method
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
        {
            return Err(invalid("the method must be an HTTP token"));
        }
        if scheme.is_empty()
            || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(invalid("the scheme is not valid"));
        }
        if authority.is_empty()
            || authority.len() > 1024
            || !authority.bytes().all(|b| b.is_ascii_graphic())
            || authority.contains(['/', '?', '#', '@'])
        {
            return Err(invalid("the authority (host[:port]) is not valid"));
        }
        if path_and_query.len() > MAX_URI_BYTES
            || !path_and_query.bytes().all(|b| b.is_ascii_graphic())
            || path_and_query.contains('#')
        {
            return Err(invalid(
                "the request target must be printable ASCII without a fragment",
            ));
        }
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        if !path.is_empty() && !path.starts_with('/') {
            return Err(invalid("the path must start with `/`"));
        }
        Ok(Request {
            method,
            scheme: lower(scheme),
            authority: normalize_authority(scheme, authority),
            path,
            query,
            headers: Vec::new(),
            body: &[],
        })
    }

    /// Adds a header field (repeat the name for a field sent several times).
    pub fn header(mut self, name: &'a str, value: &'a str) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn add_header(&mut self, name: &'a str, value: &'a str) {
        self.headers.push((name, value));
    }

    /// A request from what a binding holds: method, absolute URL, header pairs and body.
    pub fn from_message(
        method: &'a str,
        url: &'a str,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
        body: &'a [u8],
    ) -> Result<Self> {
        let mut req = Request::new(method, url)?;
        req.headers.extend(headers);
        req.body = body;
        Ok(req)
    }

    /// Sets the body (empty when absent).
    pub fn body(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self
    }

    pub fn set_body(&mut self, body: &'a [u8]) {
        self.body = body;
    }

    pub fn body_bytes(&self) -> &'a [u8] {
        self.body
    }

    pub fn method(&self) -> &str {
        self.method
    }

    pub fn has_query(&self) -> bool {
        self.query.is_some()
    }

    pub(crate) fn check_headers(&self) -> Result<()> {
        if self.headers.len() > MAX_HEADERS {
            return Err(invalid(format!("more than {MAX_HEADERS} header fields")));
        }
        for (name, value) in &self.headers {
            if value.len() > MAX_HEADER_VALUE_BYTES {
                return Err(invalid(format!(
                    "header `{}` is larger than {MAX_HEADER_VALUE_BYTES} bytes",
                    truncate(name, 64)
                )));
            }
        }
        Ok(())
    }

    /// The values of a header field, in order, or `None` if it is absent.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The canonical value of a header field (RFC 9421 §2.1): each value trimmed, several
    /// values joined with `, `. `None` if the field is absent. Borrowed when sent once.
    pub fn field_value(&self, name: &str) -> Result<Option<Cow<'a, str>>> {
        let mut out: Option<Cow<'a, str>> = None;
        for v in self.header_values(name) {
            check_line_safe("a header value", v)?;
            let v = v.trim_matches([' ', '\t']);
            match &mut out {
                None => out = Some(Cow::Borrowed(v)),
                Some(s) => {
                    let s = s.to_mut();
                    s.push_str(", ");
                    s.push_str(v);
                }
            }
        }
        Ok(out)
    }

    /// The value of a derived component (RFC 9421 §2.2), or `None` for an unknown name.
    /// Borrowed where the request already holds it.
    pub fn derived(&self, name: &str) -> Option<Cow<'_, str>> {
        let path = if self.path.is_empty() { "/" } else { self.path };
        Some(match name {
            "@method" => Cow::Borrowed(self.method),
            "@scheme" => Cow::Borrowed(&*self.scheme),
            "@authority" => Cow::Borrowed(&*self.authority),
            "@path" => Cow::Borrowed(path),
            "@query" => Cow::Owned(format!("?{}", self.query.unwrap_or(""))),
            "@request-target" => match self.query {
                Some(q) => Cow::Owned(format!("{path}?{q}")),
                None => Cow::Borrowed(path),
            },
            "@target-uri" => {
                let mut uri = format!("{}://{}{}", self.scheme, self.authority, path);
                if let Some(q) = self.query {
                    uri.push('?');
                    uri.push_str(q);
                }
                Cow::Owned(uri)
            }
            _ => return None,
        })
    }
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// HTTP §4.2.3 normalisation: lower-case host, default port dropped.
fn normalize_authority<'a>(scheme: &str, authority: &'a str) -> Cow<'a, str> {
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => Some(":80"),
        "https" | "wss" => Some(":443"),
        _ => None,
    };
    let trimmed = match default_port {
        Some(port) if authority.ends_with(port) && !authority.ends_with("]") => {
            &authority[..authority.len() - port.len()]
        }
        _ => authority,
    };
    lower(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_components_per_rfc_9421_section_2_2() {
        let r = Request::new("POST", "HTTPS://www.Example.com:443/path?param=value").unwrap();
        assert_eq!(r.derived("@method").unwrap(), "POST");
        assert_eq!(r.derived("@scheme").unwrap(), "https");
        assert_eq!(r.derived("@authority").unwrap(), "www.example.com");
        assert_eq!(r.derived("@path").unwrap(), "/path");
        assert_eq!(r.derived("@query").unwrap(), "?param=value");
        assert_eq!(r.derived("@request-target").unwrap(), "/path?param=value");
        assert_eq!(
            r.derived("@target-uri").unwrap(),
            "https://www.example.com/path?param=value"
        );
        let r = Request::new("GET", "http://example.com:8080").unwrap();
        assert_eq!(r.derived("@path").unwrap(), "/");
        assert_eq!(r.derived("@query").unwrap(), "?");
        assert_eq!(r.derived("@authority").unwrap(), "example.com:8080");
        assert_eq!(r.derived("@status"), None);
    }

    #[test]
    fn field_values_are_trimmed_and_joined() {
        let r = Request::new("GET", "https://e.com/")
            .unwrap()
            .header("X-Multi", " a ")
            .header("x-multi", "b,c\t");
        assert_eq!(r.field_value("x-multi").unwrap().unwrap(), "a, b,c");
        assert_eq!(r.field_value("absent").unwrap(), None);
        let bad = Request::new("GET", "https://e.com/")
            .unwrap()
            .header("x", "a\r\n\"@method\": GET");
        assert_eq!(
            bad.field_value("x").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn refuses_bad_urls() {
        for url in [
            "/relative",
            "https://",
            "https://host/pa th",
            "https://host/#frag",
            "https://user@host/",
            "1http://host/",
            "https://host/\u{e9}",
        ] {
            assert!(Request::new("GET", url).is_err(), "{url}");
        }
        assert!(Request::new("GE T", "https://h/").is_err());
    }
}
