//! The private-address guard of the fetcher: how far a fetch may reach
//! into loopback, private and link-local address space.
//!
//! Three reaches ([`Reach`]):
//! - `http.deny_private_addresses = true`: every hop of every fetch must be
//!   public (for feed URLs from untrusted users).
//! - the default: a feed URL may point at your own network, but once a hop
//!   is public, the redirects after it must be public too. A feed's
//!   publisher controls its redirects; it may not point feedfold at the
//!   network it runs in (a cloud metadata service, a router, localhost).
//! - `--allow-private`: anything, for fetching your own intranet feed
//!   through a redirect explicitly.
//!
//! Literal IP hosts are checked before a request ([`is_non_global`]);
//! names go through `PublicOnlyResolver`, which drops non-global
//! addresses from what DNS answers, so the address checked is the address
//! connected to (no rebinding window). `http.public_hosts` names hosts (as
//! written in URLs) that count as public whatever they resolve to
//! (split-horizon DNS, and tests on loopback).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

/// How far a fetch may reach into non-public address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Every hop must be public (`http.deny_private_addresses`).
    PublicOnly,
    /// The first hop may be anything; after a public hop, only public
    /// hops (the default).
    NoPublicToPrivate,
    /// Anything (`--allow-private`).
    Anything,
}

/// Which hosts count as public: global addresses, and the hosts of
/// `http.public_hosts`.
#[derive(Debug, Clone, Default)]
pub struct Classifier {
    public_hosts: Arc<HashSet<String>>,
}

impl Classifier {
    /// A classifier that also counts `public_hosts` (names or literal
    /// addresses, as written in URLs) as public.
    pub fn new(public_hosts: &[String]) -> Classifier {
        Classifier {
            public_hosts: Arc::new(
                public_hosts
                    .iter()
                    .map(|h| h.trim().trim_matches(['[', ']']).to_ascii_lowercase())
                    .collect(),
            ),
        }
    }

    fn listed(&self, host: &str) -> bool {
        self.public_hosts
            .contains(&host.trim_matches(['[', ']']).to_ascii_lowercase())
    }

    /// Whether a URL's host, if it is a literal address, is refused where
    /// only public hosts are allowed. Names are left to the resolver.
    pub fn refuses_literal(&self, url: &url::Url) -> bool {
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            _ => return false,
        };
        is_non_global(ip) && !self.listed(url.host_str().unwrap_or_default())
    }

    /// Whether a URL's host is public: a global literal address, a listed
    /// host, or a name with at least one global address (resolved now; a
    /// name that does not resolve counts as public, so what follows it is
    /// checked).
    pub async fn is_public(&self, url: &url::Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        if self.listed(host) {
            return true;
        }
        match url.host() {
            Some(url::Host::Ipv4(v4)) => !is_non_global(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => !is_non_global(IpAddr::V6(v6)),
            _ => match tokio::net::lookup_host((host, url.port_or_known_default().unwrap_or(80)))
                .await
            {
                Ok(mut addrs) => addrs.any(|a| !is_non_global(a.ip())),
                Err(_) => true,
            },
        }
    }

    /// The resolver that connects only to public addresses.
    pub(crate) fn resolver(&self) -> PublicOnlyResolver {
        PublicOnlyResolver {
            classifier: self.clone(),
        }
    }
}

/// The resolver's error when every address of a name is refused.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves only to private or local addresses")]
pub(crate) struct PrivateHost(pub(crate) String);

/// A DNS resolver for reqwest that drops non-global addresses (unless the
/// name is one of `http.public_hosts`) and fails when none is left, so a
/// connection never reaches them whatever DNS answers (also for redirects,
/// and at connect time, not before).
pub(crate) struct PublicOnlyResolver {
    classifier: Classifier,
}

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let listed = self.classifier.listed(&host);
        Box::pin(async move {
            let lookup = host.clone();
            // getaddrinfo blocks: on the blocking pool, like reqwest's own resolver.
            let addrs: Vec<SocketAddr> =
                tokio::task::spawn_blocking(move || (lookup.as_str(), 0).to_socket_addrs())
                    .await??
                    .filter(|a| listed || !is_non_global(a.ip()))
                    .collect();
            if addrs.is_empty() {
                return Err(Box::new(PrivateHost(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether an address is not a global unicast address: unspecified,
/// loopback, private (RFC 1918, unique local), shared (CGNAT), link-local,
/// multicast, broadcast, documentation, benchmarking or reserved. IPv6
/// addresses that embed an IPv4 one (mapped, compatible, NAT64, 6to4) are
/// judged by it.
pub fn is_non_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_non_global(v4),
        IpAddr::V6(v6) => v6_non_global(v6),
    }
}

fn v4_non_global(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn v6_non_global(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_non_global(v4);
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // IPv4-compatible (deprecated) ::a.b.c.d, but not :: and ::1.
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        return v4_non_global(embedded(s[6], s[7]));
    }
    // NAT64 well-known prefix 64:ff9b::/96.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4_non_global(embedded(s[6], s[7]));
    }
    // Local-use NAT64 64:ff9b:1::/48 (RFC 8215): translated inside a
    // network, never global.
    if s[..3] == [0x64, 0xff9b, 1] {
        return true;
    }
    // 6to4 2002::/16 carries an IPv4 address in bits 16..48.
    if s[0] == 0x2002 {
        return v4_non_global(embedded(s[1], s[2]));
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only 100::/64
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: the IPv4 inside is hidden
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_global_addresses_are_told_apart() {
        let denied = [
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "127.0.0.1",
            "127.9.9.9",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::808:808",
            "64:ff9b:1:ffff::1",
            "2002:c0a8:101::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001:0:4136:e378::1",
            "100::1",
        ];
        for ip in denied {
            let addr: IpAddr = ip.parse().expect("address");
            assert!(is_non_global(addr), "{ip} should be refused");
        }
        let allowed = [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "192.169.0.1",
            "198.20.0.1",
            "2a00:1450:4001::200e",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ];
        for ip in allowed {
            let addr: IpAddr = ip.parse().expect("address");
            assert!(!is_non_global(addr), "{ip} should be allowed");
        }
    }
}
