//! The peers whose client certificate headers are taken: IP addresses and
//! CIDR networks.

use std::net::IpAddr;
use std::str::FromStr;

/// The TLS terminators (proxies, load balancers) trusted to say which client
/// certificate a request's connection presented: addresses (`10.0.0.7`,
/// `::1`) and CIDR networks (`10.0.0.0/8`, `fd00::/8`). An IPv4 peer seen as
/// an IPv4-mapped IPv6 address (a dual-stack listener) is matched as IPv4.
///
/// ```
/// use rampgate_tower::forwarded::TrustedProxies;
///
/// let proxies = TrustedProxies::parse(["10.1.0.0/16", "::1"]).unwrap();
/// assert!(proxies.contains("10.1.2.3".parse().unwrap()));
/// assert!(proxies.contains("::ffff:10.1.2.3".parse().unwrap()));
/// assert!(!proxies.contains("10.2.0.1".parse().unwrap()));
/// // Host bits after the prefix are refused: 10.1.0.0/16 was meant, or 10.1.2.3.
/// assert!(TrustedProxies::parse(["10.1.2.3/16"]).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<Network>,
}

/// An entry of [`TrustedProxies`] that is neither an IP address nor a CIDR
/// network; says which and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trusted proxy {entry:?}: {why}")]
pub struct InvalidProxy {
    entry: String,
    why: &'static str,
}

impl TrustedProxies {
    /// No proxy is trusted: every certificate header is ignored.
    pub fn none() -> Self {
        TrustedProxies::default()
    }

    /// The addresses and CIDR networks of `entries`.
    pub fn parse<I, S>(entries: I) -> Result<Self, InvalidProxy>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let networks = entries
            .into_iter()
            .map(|entry| entry.as_ref().trim().parse())
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { networks })
    }

    /// Whether `peer` is one of these proxies.
    pub fn contains(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.networks.iter().any(|network| network.contains(peer))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }
}

/// An address and the length of its network prefix, host bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix: u32,
}

impl Network {
    fn contains(self, peer: IpAddr) -> bool {
        match (self.address, peer) {
            (IpAddr::V4(net), IpAddr::V4(peer)) => {
                mask32(peer.to_bits(), self.prefix) == net.to_bits()
            }
            (IpAddr::V6(net), IpAddr::V6(peer)) => {
                mask128(peer.to_bits(), self.prefix) == net.to_bits()
            }
            _ => false,
        }
    }
}

impl FromStr for Network {
    type Err = InvalidProxy;

    fn from_str(entry: &str) -> Result<Self, InvalidProxy> {
        let invalid = |why| InvalidProxy {
            entry: entry.to_owned(),
            why,
        };
        let (address, prefix) = match entry.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (entry, None),
        };
        let address = IpAddr::from_str(address)
            .map_err(|_| invalid("not an IP address or a CIDR network (10.0.0.0/8, fd00::/8)"))?
            .to_canonical();
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u32>()
                .ok()
                .filter(|p| *p <= bits && !prefix.starts_with('+'))
                .ok_or_else(|| {
                    invalid("the prefix length is not a number of bits of the address")
                })?,
        };
        let host_bits_zero = match address {
            IpAddr::V4(a) => mask32(a.to_bits(), prefix) == a.to_bits(),
            IpAddr::V6(a) => mask128(a.to_bits(), prefix) == a.to_bits(),
        };
        if !host_bits_zero {
            return Err(invalid(
                "bits are set after the prefix; give the network's first address",
            ));
        }
        Ok(Network { address, prefix })
    }
}

fn mask32(bits: u32, prefix: u32) -> u32 {
    bits & u32::MAX.checked_shl(32 - prefix).unwrap_or(0)
}

fn mask128(bits: u128, prefix: u32) -> u128 {
    bits & u128::MAX.checked_shl(128 - prefix).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusts(entries: &[&str], peer: &str) -> bool {
        TrustedProxies::parse(entries)
            .unwrap()
            .contains(peer.parse().unwrap())
    }

    #[test]
    fn addresses_and_networks_are_matched_by_prefix() {
        assert!(trusts(&["127.0.0.1"], "127.0.0.1"));
        assert!(!trusts(&["127.0.0.1"], "127.0.0.2"));
        assert!(trusts(&["10.0.0.0/8"], "10.255.0.1"));
        assert!(!trusts(&["10.0.0.0/8"], "11.0.0.1"));
        assert!(trusts(&["0.0.0.0/0"], "192.0.2.1"));
        assert!(!trusts(&["0.0.0.0/0"], "2001:db8::1"));
        assert!(trusts(&["2001:db8::/32"], "2001:db8:ffff::1"));
        assert!(!trusts(&["2001:db8::/32"], "2001:db9::1"));
        assert!(trusts(&["::/0"], "::1"));
        // IPv4-mapped IPv6 peers and entries are IPv4.
        assert!(trusts(&["192.0.2.0/24"], "::ffff:192.0.2.9"));
        assert!(trusts(&["::ffff:192.0.2.9"], "192.0.2.9"));
        assert!(!TrustedProxies::none().contains("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn malformed_entries_are_refused() {
        for bad in [
            "",
            "localhost",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "10.0.0.1/8",
            "::1/129",
            "2001:db8::1/32",
            "10.0.0.0/8/8",
        ] {
            assert!(TrustedProxies::parse([bad]).is_err(), "{bad}");
        }
        let err = TrustedProxies::parse(["10.0.0.1/8"]).unwrap_err();
        assert!(err.to_string().contains("10.0.0.1/8"), "{err}");
    }
}
