//! IP allowlists and client-IP resolution behind trusted proxies.

use std::sync::Arc;

use authgate_core::allowlist::{
    parse_ip, parse_network as core_parse_network, Allowlist, Allowlists, ClientIpResolver,
    ForwardedHeader,
};
use napi::bindgen_prelude::Either;
use napi_derive::napi;

use crate::errors::{core, invalid_arg, Result};

/// Normalises a network (`'192.0.2.7'` → `'192.0.2.7/32'`); ambiguous forms throw.
#[napi(catch_unwind)]
pub fn parse_network(text: String) -> Result<String> {
    core(core_parse_network(&text)).map(|n| n.to_string())
}

/// Options of an allowlist.
#[napi(object)]
pub struct AllowlistOptions {
    /// Accept a list that lets every address of a family through (default false).
    pub allow_any: Option<bool>,
}

#[napi(js_name = "IpAllowlist")]
pub struct JsIpAllowlist {
    pub(crate) inner: Arc<Allowlist>,
}

#[napi]
impl JsIpAllowlist {
    /// `allowAny` accepts a list that lets every IPv4 or IPv6 address through
    /// (`0.0.0.0/0`, `::/0`); without it such a list throws `InvalidInput`.
    #[napi(constructor, catch_unwind)]
    pub fn new(networks: Vec<String>, options: Option<AllowlistOptions>) -> Result<Self> {
        let allow_any = options.and_then(|o| o.allow_any).unwrap_or(false);
        core(Allowlist::new_with(&networks, allow_any)).map(|inner| JsIpAllowlist {
            inner: Arc::new(inner),
        })
    }

    /// Whether `ip` is on the list (a malformed address throws `InvalidInput`).
    #[napi(catch_unwind)]
    pub fn contains(&self, ip: String) -> Result<bool> {
        core(self.inner.contains_str(&ip))
    }

    /// Throws `IpNotAllowed` unless `ip` is on the list.
    #[napi(catch_unwind)]
    pub fn check(&self, ip: String) -> Result<()> {
        core(parse_ip(&ip).and_then(|ip| self.inner.check(ip)))
    }

    #[napi(getter)]
    pub fn networks(&self) -> Vec<String> {
        self.inner
            .networks()
            .iter()
            .map(ToString::to_string)
            .collect()
    }
}

#[napi(js_name = "IpAllowlists")]
pub struct JsIpAllowlists {
    inner: Allowlists,
}

#[napi]
impl JsIpAllowlists {
    #[napi(constructor, catch_unwind)]
    pub fn new() -> Self {
        JsIpAllowlists {
            inner: Allowlists::new(),
        }
    }

    #[napi(catch_unwind)]
    pub fn set(
        &self,
        name: String,
        networks: Vec<String>,
        options: Option<AllowlistOptions>,
    ) -> Result<()> {
        let allow_any = options.and_then(|o| o.allow_any).unwrap_or(false);
        core(self.inner.set_with(&name, &networks, allow_any))
    }

    #[napi(catch_unwind)]
    pub fn remove(&self, name: String) -> bool {
        self.inner.remove(&name)
    }

    /// Throws `IpNotAllowed` unless `ip` is on the list `name` (`InvalidInput` for an
    /// unknown list).
    #[napi(catch_unwind)]
    pub fn check(&self, name: String, ip: String) -> Result<()> {
        core(parse_ip(&ip).and_then(|ip| self.inner.check(&name, ip)))
    }
}

#[napi(object)]
pub struct ResolverOptions {
    /// `'x-forwarded-for'` (default) or `'forwarded'`.
    pub header: Option<String>,
}

#[napi(js_name = "ClientIpResolver")]
pub struct JsClientIpResolver {
    pub(crate) inner: Arc<ClientIpResolver>,
}

#[napi]
impl JsClientIpResolver {
    #[napi(constructor, catch_unwind)]
    pub fn new(trusted_proxies: Vec<String>, options: Option<ResolverOptions>) -> Result<Self> {
        let header = match options
            .and_then(|o| o.header)
            .as_deref()
            .map(str::to_ascii_lowercase)
        {
            None => ForwardedHeader::XForwardedFor,
            Some(h) if h == "x-forwarded-for" => ForwardedHeader::XForwardedFor,
            Some(h) if h == "forwarded" => ForwardedHeader::Forwarded,
            Some(_) => {
                return Err(invalid_arg(
                    "header must be 'x-forwarded-for' or 'forwarded'",
                ))
            }
        };
        core(ClientIpResolver::new(&trusted_proxies, header)).map(|inner| JsClientIpResolver {
            inner: Arc::new(inner),
        })
    }

    /// The header this resolver reads: `'x-forwarded-for'` or `'forwarded'`.
    #[napi(getter)]
    pub fn header(&self) -> &'static str {
        match self.inner.header() {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        }
    }

    /// The client's address. `header`: the header's value as Node gives it (a string, an
    /// array of lines, or undefined).
    #[napi(catch_unwind)]
    pub fn resolve(
        &self,
        peer: String,
        header: Option<Either<String, Vec<String>>>,
    ) -> Result<String> {
        let values: Vec<String> = match header {
            None => Vec::new(),
            Some(Either::A(one)) => vec![one],
            Some(Either::B(lines)) => lines,
        };
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        core(parse_ip(&peer).and_then(|peer| self.inner.resolve(peer, &values)))
            .map(|ip| ip.to_string())
    }
}
