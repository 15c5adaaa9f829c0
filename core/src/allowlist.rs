//! IP allowlists and client-IP resolution behind proxies.
//!
//! - [`Allowlist`]: CIDR networks (IPv4 and IPv6) merged into sorted ranges, checked by
//!   binary search. Parsing is strict: leading zeros (`010.0.0.0/8`, octal to some parsers),
//!   a network with host bits set (`10.1.2.3/8`), zone ids and shorthand forms are refused
//!   with an error that names the entry, never guessed at. IPv4-mapped IPv6 addresses
//!   (`::ffff:10.1.2.3`) are matched against the IPv4 rules.
//! - [`Allowlists`]: several named lists (one for the API, one for the admin panel).
//! - [`ClientIpResolver`]: the client's address from `X-Forwarded-For` or `Forwarded`
//!   given the proxies you trust — the right-most address that is not a trusted proxy, so
//!   an entry a client wrote on the left cannot pass for its address.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, RwLock};

use crate::error::{err, Error, ErrorKind, Result};

/// The most entries one list may hold.
pub const MAX_ENTRIES: usize = 100_000;
/// The longest forwarding header read (all its lines together), in bytes.
pub const MAX_FORWARDED_BYTES: usize = 8 * 1024;
/// The most hops of a forwarding chain considered.
pub const MAX_HOPS: usize = 64;

/// One network: an address with its prefix length (host bits zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNetwork {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl std::fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn bad(what: String) -> Error {
    Error::new(ErrorKind::InvalidInput, what)
}

/// Parses one address strictly: dotted-quad IPv4 without leading zeros, or IPv6 without a
/// zone. IPv4-mapped IPv6 becomes the IPv4 address.
pub fn parse_ip(text: &str) -> Result<IpAddr> {
    if text.len() > 64 {
        return Err(bad("an IP address is at most 64 characters".into()));
    }
    if !text.contains(':') && has_leading_zero(text) {
        return Err(bad(format!(
            "`{text}` has a leading zero, which some parsers read as octal: write it without"
        )));
    }
    let ip: IpAddr = text
        .parse()
        .map_err(|_| bad(format!("`{}` is not an IP address", printable(text))))?;
    Ok(canonical(ip))
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as the IPv4 address it carries.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn has_leading_zero(dotted: &str) -> bool {
    dotted
        .split('.')
        .any(|part| part.len() > 1 && part.starts_with('0'))
}

/// Text echoed in an error: printable ASCII only, and short.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}

/// Parses `a.b.c.d/n`, `v6::/n`, or a single address (a /32 or /128).
pub fn parse_network(text: &str) -> Result<IpNetwork> {
    let (addr_text, prefix_text) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let raw: IpAddr = {
        if !addr_text.contains(':') && has_leading_zero(addr_text) {
            return Err(bad(format!(
                "`{}` has a leading zero, which some parsers read as octal: write it without",
                printable(text)
            )));
        }
        addr_text
            .parse()
            .map_err(|_| bad(format!("`{}` is not an IP network", printable(text))))?
    };
    let max = if raw.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix_text {
        None => max,
        Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
            if p.len() > 1 && p.starts_with('0') {
                return Err(bad(format!(
                    "`{}` has a leading zero in its prefix",
                    printable(text)
                )));
            }
            let n: u8 = p
                .parse()
                .map_err(|_| bad(format!("`{}` has a bad prefix", printable(text))))?;
            if n > max {
                return Err(bad(format!(
                    "`{}`: the prefix is longer than {max} bits",
                    printable(text)
                )));
            }
            n
        }
        Some(_) => return Err(bad(format!("`{}` has a bad prefix", printable(text)))),
    };
    // `::ffff:10.0.0.0/104` is the IPv4 network 10.0.0.0/8.
    let (addr, prefix) = match raw {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() && prefix >= 96 => (
            IpAddr::V4(v6.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED)),
            prefix - 96,
        ),
        other => (other, prefix),
    };
    let net = IpNetwork { addr, prefix };
    let (start, _) = range(&net);
    if start != bits(addr) {
        return Err(bad(format!(
            "`{}` has host bits set: did you mean {}/{}?",
            printable(text),
            from_bits(addr.is_ipv4(), start),
            prefix
        )));
    }
    Ok(net)
}

fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_bits(v4: bool, n: u128) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(n as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(n))
    }
}

/// The first and last address of a network, as numbers.
fn range(net: &IpNetwork) -> (u128, u128) {
    let width: u32 = if net.addr.is_ipv4() { 32 } else { 128 };
    let host_bits = width - u32::from(net.prefix);
    let host_mask: u128 = if host_bits == 0 {
        0
    } else if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    let start = bits(net.addr) & !host_mask;
    (start, start | host_mask)
}

/// Sorted, merged ranges: membership is a binary search.
fn merge(mut ranges: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    ranges.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match out.last_mut() {
            Some(last) if s <= last.1.saturating_add(1) => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn in_ranges(ranges: &[(u128, u128)], n: u128) -> bool {
    let i = ranges.partition_point(|&(s, _)| s <= n);
    i > 0 && n <= ranges[i - 1].1
}

/// A set of networks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    v4: Vec<(u128, u128)>,
    v6: Vec<(u128, u128)>,
    networks: Vec<IpNetwork>,
}

impl Allowlist {
    /// From CIDR entries (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`). The first bad entry
    /// fails the whole list, naming it. A list that lets every IPv4 or every IPv6 address
    /// through (`0.0.0.0/0`, `::/0`, or entries that add up to it) is `invalid_input`: an
    /// allowlist that allows anyone is nearly always a mistake; say so with
    /// [`Allowlist::new_with`] and `allow_any`.
    pub fn new<S: AsRef<str>>(entries: &[S]) -> Result<Self> {
        Allowlist::new_with(entries, false)
    }

    /// [`Allowlist::new`], with `allow_any` set to accept a list that lets every address of
    /// a family through.
    pub fn new_with<S: AsRef<str>>(entries: &[S], allow_any: bool) -> Result<Self> {
        let list = Allowlist::parse(entries)?;
        if !allow_any {
            if let Some(family) = list.allows_any_of() {
                return err(
                    ErrorKind::InvalidInput,
                    format!(
                        "the allowlist lets every {family} address through (0.0.0.0/0 or ::/0, \
                         or entries adding up to it): pass allow_any to mean that"
                    ),
                );
            }
        }
        Ok(list)
    }

    /// `IPv4` or `IPv6` if the list covers that whole family.
    pub fn allows_any_of(&self) -> Option<&'static str> {
        if self.v4.first() == Some(&(0, u128::from(u32::MAX))) {
            Some("IPv4")
        } else if self.v6.first() == Some(&(0, u128::MAX)) {
            Some("IPv6")
        } else {
            None
        }
    }

    fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self> {
        if entries.len() > MAX_ENTRIES {
            return err(
                ErrorKind::InvalidInput,
                format!("an allowlist holds at most {MAX_ENTRIES} entries"),
            );
        }
        let mut networks = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let net = parse_network(e.as_ref()).map_err(|x| {
                Error::new(x.kind(), format!("allowlist entry {i}: {}", x.message()))
            })?;
            networks.push(net);
        }
        Ok(Allowlist::from_networks(networks))
    }

    pub fn from_networks(networks: Vec<IpNetwork>) -> Self {
        let (v4, v6): (Vec<_>, Vec<_>) = networks.iter().partition(|n| n.addr.is_ipv4());
        Allowlist {
            v4: merge(v4.iter().map(range).collect()),
            v6: merge(v6.iter().map(range).collect()),
            networks,
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match canonical(ip) {
            IpAddr::V4(v4) => in_ranges(&self.v4, u128::from(u32::from(v4))),
            IpAddr::V6(v6) => in_ranges(&self.v6, u128::from(v6)),
        }
    }

    /// `contains` for an address in text (strictly parsed).
    pub fn contains_str(&self, ip: &str) -> Result<bool> {
        parse_ip(ip).map(|ip| self.contains(ip))
    }

    /// `Ok` if `ip` is on the list, else `ip_not_allowed`.
    pub fn check(&self, ip: IpAddr) -> Result<()> {
        if self.contains(ip) {
            Ok(())
        } else {
            err(ErrorKind::IpNotAllowed, "this IP address is not allowed")
        }
    }

    /// The networks as given (after normalisation).
    pub fn networks(&self) -> &[IpNetwork] {
        &self.networks
    }

    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }
}

/// Named allowlists, replaceable at run time.
#[derive(Default)]
pub struct Allowlists {
    lists: RwLock<HashMap<String, Arc<Allowlist>>>,
}

impl Allowlists {
    pub fn new() -> Self {
        Allowlists::default()
    }

    /// Sets (or replaces) the list `name` (refusing a list that allows anyone: see
    /// [`Allowlist::new`]).
    pub fn set<S: AsRef<str>>(&self, name: &str, entries: &[S]) -> Result<()> {
        self.set_with(name, entries, false)
    }

    /// [`Allowlists::set`], with `allow_any` as in [`Allowlist::new_with`].
    pub fn set_with<S: AsRef<str>>(
        &self,
        name: &str,
        entries: &[S],
        allow_any: bool,
    ) -> Result<()> {
        if name.is_empty() || name.len() > 256 {
            return err(
                ErrorKind::InvalidInput,
                "a list name must be 1 to 256 bytes",
            );
        }
        let list = Arc::new(Allowlist::new_with(entries, allow_any)?);
        self.lists
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), list);
        Ok(())
    }

    pub fn remove(&self, name: &str) -> bool {
        self.lists
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
            .is_some()
    }

    pub fn get(&self, name: &str) -> Option<Arc<Allowlist>> {
        self.lists
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// `Ok` if `ip` is on the list `name`; `ip_not_allowed` if not; `invalid_input` for a
    /// list that does not exist (a typo must not open or close everything).
    pub fn check(&self, name: &str, ip: IpAddr) -> Result<()> {
        match self.get(name) {
            Some(list) => list.check(ip),
            None => err(
                ErrorKind::InvalidInput,
                format!("no allowlist named `{}`", printable(name)),
            ),
        }
    }
}

/// Which header the trusted proxies set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for="[2001:db8::1]:4711"`.
    Forwarded,
}

/// Finds the client's address behind proxies you trust.
#[derive(Debug, Clone)]
pub struct ClientIpResolver {
    trusted: Allowlist,
    header: ForwardedHeader,
}

impl ClientIpResolver {
    /// `trusted_proxies`: the networks of your load balancers and reverse proxies.
    pub fn new<S: AsRef<str>>(trusted_proxies: &[S], header: ForwardedHeader) -> Result<Self> {
        Ok(ClientIpResolver {
            // Trusted proxies are not an allowlist: every address may be one.
            trusted: Allowlist::new_with(trusted_proxies, true)?,
            header,
        })
    }

    pub fn header(&self) -> ForwardedHeader {
        self.header
    }

    /// The client's address: the peer itself unless it is a trusted proxy; otherwise the
    /// right-most address of the header's chain that is not a trusted proxy (the left-most
    /// when all are). `header_values` are the header's lines in the order received. A
    /// malformed or non-address hop where the walk needs an address is `invalid_input`.
    pub fn resolve(&self, peer: IpAddr, header_values: &[&str]) -> Result<IpAddr> {
        let peer = canonical(peer);
        if !self.trusted.contains(peer) {
            return Ok(peer);
        }
        Ok(self.walk(header_values)?.unwrap_or(peer))
    }

    /// The client behind a peer that has no IP address but is trusted by construction (a
    /// Unix socket, which only a local proxy can connect to): the forwarding header's walk
    /// as for a trusted peer; `None` when the header names no one.
    pub fn resolve_local(&self, header_values: &[&str]) -> Result<Option<IpAddr>> {
        self.walk(header_values)
    }

    fn walk(&self, header_values: &[&str]) -> Result<Option<IpAddr>> {
        let total: usize = header_values.iter().map(|v| v.len() + 1).sum();
        if total > MAX_FORWARDED_BYTES {
            return err(
                ErrorKind::InvalidInput,
                "the forwarding header is too large",
            );
        }
        let hops: Vec<&str> = header_values
            .iter()
            .flat_map(|v| split_list(v))
            .filter(|h| !h.is_empty())
            .collect();
        let mut client = None;
        for hop in hops.iter().rev().take(MAX_HOPS) {
            let ip = match self.header {
                ForwardedHeader::XForwardedFor => parse_hop(hop),
                ForwardedHeader::Forwarded => forwarded_for(hop).and_then(parse_hop),
            }
            .ok_or_else(|| bad("a forwarding hop is not an IP address".into()))?;
            client = Some(ip);
            if !self.trusted.contains(ip) {
                return Ok(Some(ip));
            }
        }
        Ok(client)
    }
}

/// Splits a header list on commas outside quoted strings.
fn split_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, b) in value.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                out.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value[start..].trim());
    out
}

/// The `for=` value of one `Forwarded` element, unquoted.
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        let value = value.trim();
        Some(
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value),
        )
    })
}

/// An address as a hop writes it: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let host = if let Some(rest) = hop.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        inside
    } else if hop.matches(':').count() == 1 {
        let (h, port) = hop.split_once(':')?;
        if !is_port(port) {
            return None;
        }
        h
    } else {
        hop
    };
    parse_ip(host).ok()
}

fn is_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_match() {
        let list =
            Allowlist::new(&["10.0.0.0/9", "10.128.0.0/9", "192.0.2.7", "2001:db8::/32"]).unwrap();
        assert_eq!(list.v4.len(), 2, "the two /9 halves merge");
        assert!(list.contains("10.255.255.255".parse().unwrap()));
        assert!(!list.contains("11.0.0.0".parse().unwrap()));
        assert!(list.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(list.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!list.contains("2001:db9::".parse().unwrap()));
        let all = Allowlist::new_with(&["0.0.0.0/0", "::/0"], true).unwrap();
        assert!(all.contains("255.255.255.255".parse().unwrap()));
        assert!(all.contains("ffff::".parse().unwrap()));
    }

    #[test]
    fn mapped_networks_are_ipv4_networks() {
        assert_eq!(
            parse_network("::ffff:10.0.0.0/104").unwrap(),
            parse_network("10.0.0.0/8").unwrap()
        );
    }
}
