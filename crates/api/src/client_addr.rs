//! The client address of a request, for per-address login limits: the
//! socket's peer, unless that peer is a reverse proxy listed in
//! `ANJIAN_TRUSTED_PROXIES`, whose `X-Forwarded-For` then names the client.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;

/// Addresses and networks (`10.0.0.0/8`, `::1`) of trusted reverse proxies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list; an empty string trusts nobody.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (addr, bits) = match part.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (part, None),
            };
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| format!("`{part}` is not an IP address or network"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => max,
                Some(b) => b
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("`{part}` has an invalid prefix length"))?,
            };
            nets.push((addr, bits));
        }
        Ok(TrustedProxies(nets))
    }
}

fn bits_of(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

impl TrustedProxies {
    /// Whether `ip` is one of the proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v) => v.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|(net, bits)| {
            if net.is_ipv4() != ip.is_ipv4() {
                return false;
            }
            let width = if ip.is_ipv4() { 32 } else { 128 };
            let shift = width - u32::from(*bits);
            if shift >= 128 {
                return true;
            }
            (bits_of(*net) >> shift) == (bits_of(ip) >> shift)
        })
    }

    /// The client: the peer, or, when the peer is a trusted proxy, the last
    /// address in `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let mut hops: Vec<IpAddr> = Vec::new();
        for v in headers.get_all("x-forwarded-for") {
            let Ok(v) = v.to_str() else { return peer };
            for h in v.split(',') {
                match h.trim().parse::<IpAddr>() {
                    Ok(ip) => hops.push(ip),
                    // A hop we can't read: trust nothing further left.
                    Err(_) => return hops.last().copied().unwrap_or(peer),
                }
            }
        }
        let mut client = peer;
        for ip in hops.into_iter().rev() {
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn the_header_counts_only_behind_a_trusted_proxy() {
        let none = TrustedProxies::default();
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        assert_eq!(none.client(peer, &xff("1.2.3.4")), peer);
        let t: TrustedProxies = "10.0.0.0/8, ::1".parse().unwrap();
        assert_eq!(
            t.client(peer, &xff("1.2.3.4")),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        // A client can prepend anything; the proxy appends what it saw.
        assert_eq!(
            t.client(peer, &xff("6.6.6.6, 1.2.3.4, 10.1.1.1")),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(t.client(peer, &HeaderMap::new()), peer);
        let outside: IpAddr = "192.168.1.9".parse().unwrap();
        assert_eq!(t.client(outside, &xff("1.2.3.4")), outside);
        assert!(t.contains("::ffff:10.2.3.4".parse().unwrap()));
        assert!(t.contains("::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("proxy".parse::<TrustedProxies>().is_err());
    }
}
