//! Client addresses for the anomaly signals: behind which proxies
//! `X-Forwarded-For` / `Forwarded` can be believed, and how IPv6 addresses
//! are grouped.

use http::HeaderMap;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

/// A bad `trusted_proxies` entry: what it was and what is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trusted proxy {0:?} is not an IP address or CIDR range (e.g. \"10.0.0.0/8\", \"::1\")")]
pub struct ProxyRangeError(pub String);

/// One trusted proxy range: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    addr: IpAddr,
    prefix: u8,
}

impl Range {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u128::from(u32::from(net)) << 96,
                u128::from(u32::from(ip)) << 96,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether `a` and `b` agree on their first `prefix` bits.
fn prefix_eq(a: u128, b: u128, prefix: u8) -> bool {
    prefix == 0 || (a ^ b) >> (128 - u32::from(prefix.min(128))) == 0
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl FromStr for Range {
    type Err = ProxyRangeError;

    fn from_str(text: &str) -> Result<Range, ProxyRangeError> {
        let err = || ProxyRangeError(text.to_owned());
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().map_err(|_| err())?)),
            None => (text.trim(), None),
        };
        let addr = canonical(addr.parse::<IpAddr>().map_err(|_| err())?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(err());
        }
        Ok(Range { addr, prefix })
    }
}

/// The proxies whose `X-Forwarded-For` / `Forwarded` headers name the client.
///
/// Without any (the default), the client is the peer of the connection and
/// those headers, which anyone can send, are ignored. With them, the client
/// is the rightmost address of the chain that is not a trusted proxy, and
/// only when the peer itself is one.
///
/// ```
/// use rampgate_core::anomaly::TrustedProxies;
/// use http::HeaderMap;
///
/// let proxies = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", "203.0.113.9, 10.1.2.3".parse().unwrap());
/// let via_proxy = proxies.client_ip("10.0.0.1".parse().unwrap(), &headers);
/// assert_eq!(via_proxy, "203.0.113.9".parse::<std::net::IpAddr>().unwrap());
/// // From anyone else, the header is ignored.
/// let direct = proxies.client_ip("198.51.100.7".parse().unwrap(), &headers);
/// assert_eq!(direct, "198.51.100.7".parse::<std::net::IpAddr>().unwrap());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Range>);

impl TrustedProxies {
    /// Proxies given as addresses or CIDR ranges (`"10.0.0.0/8"`, `"::1"`).
    ///
    /// # Errors
    ///
    /// [`ProxyRangeError`] naming the first entry that is neither.
    pub fn parse<I, S>(entries: I) -> Result<Self, ProxyRangeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        entries
            .into_iter()
            .map(|e| e.as_ref().parse())
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|r| r.contains(ip))
    }

    /// The client's address: `peer`, unless `peer` is a trusted proxy; then
    /// the rightmost address of `X-Forwarded-For` (else of `Forwarded`'s
    /// `for=`) that is not a trusted proxy. An entry that is not an address
    /// (`unknown`, an obfuscated name, garbage) ends the walk at the hop that
    /// added it: a client's own spelling is never believed further.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if self.is_empty() || !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_for(headers);
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) if self.trusts(*ip) => client = *ip,
                Some(ip) => return *ip,
                None => return client,
            }
        }
        client
    }
}

/// The hops of `X-Forwarded-For`, else of `Forwarded`'s `for=`, left to
/// right, `None` for an entry that is not an address.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff: Vec<Option<IpAddr>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("?").split(','))
        .map(|hop| parse_hop(hop.trim()))
        .collect();
    if !xff.is_empty() {
        return xff;
    }
    headers
        .get_all(http::header::FORWARDED)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("for=?").split(','))
        .filter_map(|element| {
            element
                .split(';')
                .find_map(|pair| {
                    let (k, v) = pair.trim().split_once('=')?;
                    k.eq_ignore_ascii_case("for").then_some(v)
                })
                .map(|v| parse_hop(v.trim_matches('"')))
        })
        .collect()
}

/// One hop: `192.0.2.1`, `192.0.2.1:80`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest
            .split_once(']')?
            .0
            .parse::<Ipv6Addr>()
            .ok()
            .map(|ip| canonical(IpAddr::V6(ip)));
    }
    let (ip, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The anomaly key of a client address: an IPv4 address as itself, an IPv6
/// address as its /64, the block one subscriber usually holds (a client that
/// rotates through its /64 stays one key).
///
/// ```
/// use rampgate_core::anomaly::address_key;
///
/// assert_eq!(address_key("192.0.2.7".parse().unwrap()), "192.0.2.7");
/// assert_eq!(address_key("2001:db8:1:2:aaaa::1".parse().unwrap()), "2001:db8:1:2::/64");
/// ```
pub fn address_key(ip: IpAddr) -> String {
    match address_block(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(block) => format!("{block}/64"),
    }
}

/// The address group [`address_key`] names, as an address: the IPv4 address,
/// or the IPv6 address with its last 64 bits zero. For counting distinct
/// groups by hash without writing each one out.
pub(crate) fn address_block(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn ranges_parse_or_say_what_is_wrong() {
        let p = TrustedProxies::parse(["10.0.0.0/8", "::1", "2001:db8::/32", "192.0.2.5"]).unwrap();
        assert!(p.trusts(ip("10.200.1.1")));
        assert!(p.trusts(ip("::1")));
        assert!(p.trusts(ip("2001:db8:ffff::9")));
        assert!(p.trusts(ip("192.0.2.5")));
        assert!(p.trusts(ip("::ffff:10.0.0.1")), "IPv4-mapped");
        assert!(!p.trusts(ip("11.0.0.1")));
        assert!(!p.trusts(ip("192.0.2.6")));
        for bad in ["10.0.0.0/33", "example.com", "10.0.0.0/x", "", "::/129"] {
            let err = TrustedProxies::parse([bad]).unwrap_err();
            assert!(err.to_string().contains("CIDR"), "{err}");
        }
        assert!(
            TrustedProxies::parse(["0.0.0.0/0"])
                .unwrap()
                .trusts(ip("8.8.8.8"))
        );
    }

    #[test]
    fn headers_are_believed_only_from_trusted_proxies() {
        let p = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
        let xff = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.2")]);
        // Rightmost untrusted hop: the client cannot prepend its way in.
        assert_eq!(p.client_ip(ip("10.0.0.1"), &xff), ip("203.0.113.9"));
        // Not from a proxy: the peer, whatever the header says.
        assert_eq!(p.client_ip(ip("198.51.100.1"), &xff), ip("198.51.100.1"));
        // No proxies configured: the peer.
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(ip("10.0.0.1"), &xff), ip("10.0.0.1"));
        // Garbage stops the walk at the proxy that passed it on.
        let junk = headers(&[("x-forwarded-for", "203.0.113.9, evil, 10.0.0.2")]);
        assert_eq!(p.client_ip(ip("10.0.0.1"), &junk), ip("10.0.0.2"));
        // Forwarded, with ports and brackets.
        let fwd = headers(&[(
            "forwarded",
            r#"for="[2001:db8::7]:443";proto=https, for=10.0.0.3:80"#,
        )]);
        assert_eq!(p.client_ip(ip("10.0.0.1"), &fwd), ip("2001:db8::7"));
        // Several X-Forwarded-For headers are one list.
        let split = headers(&[
            ("x-forwarded-for", "203.0.113.1"),
            ("x-forwarded-for", "10.0.0.9"),
        ]);
        assert_eq!(p.client_ip(ip("10.0.0.1"), &split), ip("203.0.113.1"));
    }

    #[test]
    fn ipv6_addresses_are_grouped_by_their_64() {
        assert_eq!(address_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(
            address_key(ip("2001:db8:1:2:bbbb:cccc:dddd:eeee")),
            address_key(ip("2001:db8:1:2::9"))
        );
        assert_ne!(
            address_key(ip("2001:db8:1:3::1")),
            address_key(ip("2001:db8:1:2::1"))
        );
        assert_eq!(address_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
    }
}
