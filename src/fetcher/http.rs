//! The daemon's HTTP fetcher: polite, conditional polling of feed URLs.
//!
//! Stage 1 of the daemon's pipeline (scheduler → **fetcher** → normalizer →
//! store writer). [`HttpFetcher::poll`] sends a conditional GET (stored
//! `ETag` → `If-None-Match`, stored `Last-Modified` → `If-Modified-Since`),
//! follows redirects itself (so it can tell a permanent 301/308 chain from
//! a temporary 302/303/307 and catch loops), reads the body in chunks and
//! stops at the size limit while streaming, and classifies the answer as a
//! [`FetchOutcome`]. Expected answers (304, 410, 429) are outcomes, not
//! errors. Concurrency is bounded twice: a global [`Semaphore`] and one per
//! host, both acquired before connecting; a feed waiting for a busy host
//! holds no global permit, so it never blocks another host's feeds.
//!
//! Hostile servers: the whole fetch (connect, redirects, headers, body)
//! runs under `http.timeout`, so an endless or trickling body ends there;
//! the body is counted after decompression, so a gzip bomb stops at
//! `http.max_body`; hyper refuses oversized response heads; redirects are
//! followed only to http(s) URLs, at most `http.max_redirects` times, and
//! never back to a URL already visited. With `http.deny_private_addresses`
//! every hop's host must be public: literal IPs are checked here, and names
//! go through a resolver (`PublicOnlyResolver`) that drops loopback, private,
//! link-local and other non-global addresses from what DNS answers (so the
//! address checked is the address connected to).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{charset_of, DEFAULT_MAX_BODY, USER_AGENT};
use crate::model::RawDocument;
use crate::scheduler::hints::{self, Hints};
use crate::scheduler::Interval;

/// The `Accept` header of feed requests.
const ACCEPT: &str = "application/atom+xml, application/rss+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8";

/// The config's `[http]` table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Most fetches in flight at once, over all hosts.
    pub concurrency: usize,
    /// Most fetches in flight at once to one host.
    pub per_host: usize,
    /// Timeout for establishing a connection.
    pub connect_timeout: Interval,
    /// Timeout for a whole fetch: connecting, redirects and the body.
    pub timeout: Interval,
    /// Largest accepted body in bytes (after decompression).
    pub max_body: u64,
    /// Most redirects followed per fetch.
    pub max_redirects: usize,
    /// The User-Agent header.
    pub user_agent: String,
    /// Refuse feeds and redirects whose host is, or resolves only to, a
    /// loopback, private, link-local or otherwise non-global address (IPv4
    /// and IPv6, IPv4-mapped included). Off by default so local feeds
    /// work; turn it on when feed URLs come from untrusted users. When on,
    /// proxies from the environment are not used.
    pub deny_private_addresses: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            concurrency: 16,
            per_host: 2,
            connect_timeout: Interval::secs(10),
            timeout: Interval::secs(30),
            max_body: DEFAULT_MAX_BODY,
            max_redirects: 5,
            user_agent: USER_AGENT.to_string(),
            deny_private_addresses: false,
        }
    }
}

impl HttpConfig {
    /// Checks the values; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.concurrency == 0 || self.per_host == 0 {
            return Err("http.concurrency and http.per_host must be at least 1".into());
        }
        if self.timeout.0.is_zero() || self.connect_timeout.0.is_zero() {
            return Err("http.timeout and http.connect_timeout must be longer than 0s".into());
        }
        if self.max_body == 0 {
            return Err("http.max_body must be at least 1 byte".into());
        }
        if self.user_agent.trim().is_empty() {
            return Err("http.user_agent must not be empty".into());
        }
        Ok(())
    }
}

/// The validators kept from the last full response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The `ETag` header.
    pub etag: Option<String>,
    /// The `Last-Modified` header.
    pub last_modified: Option<String>,
}

/// How a poll went, when the server answered something meaningful.
#[derive(Debug)]
pub enum FetchOutcome {
    /// 2xx with a body: a new document.
    Modified {
        /// The document (its `fetched_url` is the final URL).
        doc: RawDocument,
        /// Validators for the next conditional GET.
        validators: Validators,
        /// When to come back, per the server.
        hints: Hints,
        /// The feed's new URL if every redirect followed was permanent.
        moved_to: Option<String>,
    },
    /// 304: nothing changed since the validators were issued.
    NotModified {
        /// A new `ETag`, if the 304 carried one.
        etag: Option<String>,
        /// When to come back, per the server.
        hints: Hints,
        /// The feed's new URL if every redirect followed was permanent.
        moved_to: Option<String>,
    },
    /// 410 Gone: the feed is retired; polling stops.
    Gone,
    /// 429, or 503 with `Retry-After`: come back later.
    RateLimited {
        /// The status.
        status: u16,
        /// `Retry-After`, if given.
        retry_after: Option<Duration>,
    },
}

/// Why a poll failed. Every one of these is retried with backoff.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// Connecting, TLS or reading failed.
    #[error("request failed: {0}")]
    Request(#[source] reqwest::Error),
    /// The fetch took longer than `http.timeout`.
    #[error("timed out after {0}")]
    Timeout(Interval),
    /// The server answered with an error status.
    #[error("server answered {status}")]
    Status {
        /// The status code.
        status: u16,
    },
    /// The body exceeds `http.max_body`.
    #[error("document larger than the {limit}-byte limit")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// A redirect led back to a URL already visited.
    #[error("redirect loop at {url}")]
    RedirectLoop {
        /// The URL seen twice.
        url: String,
    },
    /// More redirects than `http.max_redirects`.
    #[error("more than {max} redirects")]
    TooManyRedirects {
        /// The limit.
        max: usize,
    },
    /// A redirect without a usable `Location`.
    #[error("redirect ({status}) without a usable Location")]
    BadRedirect {
        /// The status code.
        status: u16,
    },
    /// The URL is not an http(s) URL.
    #[error("not an http(s) URL: {0}")]
    BadUrl(String),
    /// A redirect to something other than an http(s) URL (`file:`, `ftp:`...).
    #[error("redirect ({status}) to a non-http(s) URL refused: {location}")]
    ForbiddenRedirect {
        /// The status code.
        status: u16,
        /// The `Location`, resolved against the request URL.
        location: String,
    },
    /// `http.deny_private_addresses` is on and the host is (or resolves
    /// only to) a loopback, private, link-local or other non-global address.
    #[error("{host} is a private or local address (http.deny_private_addresses is on)")]
    PrivateAddress {
        /// The host of the refused URL.
        host: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

impl PollError {
    /// The HTTP status behind the error, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            PollError::Status { status }
            | PollError::BadRedirect { status }
            | PollError::ForbiddenRedirect { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The polling HTTP client. Cheap to clone; clones share the client and
/// the concurrency limits.
#[derive(Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
    config: Arc<HttpConfig>,
    /// Bounds fetches in flight over all hosts (`http.concurrency`).
    global: Arc<Semaphore>,
    /// Bounds the polls under way, from fetch to stored (twice
    /// `http.concurrency`): see [`HttpFetcher::hold`].
    in_hand: Arc<Semaphore>,
    /// One semaphore per host (`http.per_host` permits each), created on
    /// first use. A std mutex: it is held only to look up or insert.
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// Refuses literal IP hosts (`http.deny_private_addresses`).
    deny_literal: Option<Deny>,
}

/// Whether `http.deny_private_addresses` refuses an address.
type Deny = fn(IpAddr) -> bool;

impl std::fmt::Debug for HttpFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFetcher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn response_hints(headers: &HeaderMap, now: DateTime<Utc>) -> Hints {
    Hints {
        ttl: None,
        max_age: header_str(headers, header::CACHE_CONTROL).and_then(hints::max_age),
        expires: header_str(headers, header::EXPIRES).and_then(hints::http_date),
        retry_after: header_str(headers, header::RETRY_AFTER)
            .and_then(|v| hints::retry_after(v, now)),
    }
}

impl HttpFetcher {
    /// Builds the client and the limits.
    pub fn new(config: &HttpConfig) -> Result<HttpFetcher, PollError> {
        let deny = config.deny_private_addresses.then_some((
            is_non_global as fn(IpAddr) -> bool,
            is_non_global as fn(IpAddr) -> bool,
        ));
        HttpFetcher::build(config, deny)
    }

    /// [`HttpFetcher::new`] with the address checks given: `deny` is
    /// (refuse this literal IP host, drop this resolved address).
    fn build(config: &HttpConfig, deny: Option<(Deny, Deny)>) -> Result<HttpFetcher, PollError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout.0)
            .timeout(config.timeout.0)
            .redirect(reqwest::redirect::Policy::none());
        if let Some((_, resolved)) = deny {
            // A proxy would resolve the feed's host itself, unchecked.
            builder = builder
                .no_proxy()
                .dns_resolver(Arc::new(PublicOnlyResolver { deny: resolved }));
        }
        let client = builder.build().map_err(PollError::Client)?;
        Ok(HttpFetcher {
            client,
            config: Arc::new(config.clone()),
            global: Arc::new(Semaphore::new(config.concurrency.max(1))),
            in_hand: Arc::new(Semaphore::new(config.concurrency.max(1).saturating_mul(2))),
            hosts: Arc::new(Mutex::new(HashMap::new())),
            deny_literal: deny.map(|(literal, _)| literal),
        })
    }

    /// Refuses a literal IP host that `http.deny_private_addresses` forbids
    /// (names are checked by the resolver when connecting).
    fn check_host(&self, url: &url::Url) -> Result<(), PollError> {
        let Some(deny) = self.deny_literal else {
            return Ok(());
        };
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            _ => return Ok(()),
        };
        if deny(ip) {
            return Err(PollError::PrivateAddress {
                host: url.host_str().unwrap_or_default().to_string(),
            });
        }
        Ok(())
    }

    fn host_semaphore(&self, host: &str) -> Arc<Semaphore> {
        // A poisoned lock only means another fetch panicked mid-insert; the
        // map itself is still usable.
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(host.to_ascii_lowercase())
            .or_insert_with(|| Arc::new(Semaphore::new(self.config.per_host.max(1))))
            .clone()
    }

    async fn permits(&self, host: &str) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        // The host permit first: waiting for a busy host must not hold one
        // of the global permits other hosts could use. The semaphores are
        // never closed, so acquiring fails only if that changes.
        let host_permit = self.host_semaphore(host).acquire_owned().await.ok()?;
        let global = self.global.clone().acquire_owned().await.ok()?;
        Some((host_permit, global))
    }

    /// Waits for room to start a poll and returns its permit, to hold until
    /// the poll's result is stored. Fetch permits are released once a body
    /// is read, so without this every due feed would be fetched and
    /// normalized ahead of a slow writer, and the documents waiting for it
    /// would grow memory without bound (10,000 due feeds: 10,000
    /// documents). `None` only if the limiter were closed, which it never is.
    pub async fn hold(&self) -> Option<OwnedSemaphorePermit> {
        self.in_hand.clone().acquire_owned().await.ok()
    }

    /// Polls `url` with the stored validators, within `http.timeout`.
    pub async fn poll(
        &self,
        url: &str,
        validators: &Validators,
    ) -> Result<FetchOutcome, PollError> {
        let parsed = url::Url::parse(url).map_err(|_| PollError::BadUrl(url.to_string()))?;
        let host = match (parsed.scheme(), parsed.host_str()) {
            ("http" | "https", Some(h)) => h.to_string(),
            _ => return Err(PollError::BadUrl(url.to_string())),
        };
        let _permits = self.permits(&host).await;
        let timeout = self.config.timeout;
        tokio::time::timeout(timeout.0, self.poll_inner(parsed, validators))
            .await
            .unwrap_or(Err(PollError::Timeout(timeout)))
    }

    async fn poll_inner(
        &self,
        start: url::Url,
        validators: &Validators,
    ) -> Result<FetchOutcome, PollError> {
        let mut url = start;
        let mut visited: HashSet<String> = HashSet::new();
        let mut all_permanent = true;
        let mut redirects = 0usize;
        loop {
            visited.insert(url.to_string());
            self.check_host(&url)?;
            let mut request = self.client.get(url.clone()).header(header::ACCEPT, ACCEPT);
            if let Some(etag) = &validators.etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                request = request.header(header::IF_MODIFIED_SINCE, lm);
            }
            let response = request.send().await.map_err(|e| self.request_error(e))?;
            let status = response.status();
            let now = Utc::now();
            let moved_to = || (redirects > 0 && all_permanent).then(|| url.to_string());
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let location = header_str(response.headers(), header::LOCATION)
                    .and_then(|l| url.join(l).ok())
                    .ok_or(PollError::BadRedirect {
                        status: status.as_u16(),
                    })?;
                if !matches!(location.scheme(), "http" | "https") || location.host_str().is_none() {
                    let mut shown = location.to_string();
                    if shown.len() > 200 {
                        let cut = (0..=200).rev().find(|&i| shown.is_char_boundary(i));
                        shown.truncate(cut.unwrap_or(0));
                        shown.push_str("...");
                    }
                    return Err(PollError::ForbiddenRedirect {
                        status: status.as_u16(),
                        location: shown,
                    });
                }
                if visited.contains(location.as_str()) {
                    return Err(PollError::RedirectLoop {
                        url: location.to_string(),
                    });
                }
                redirects += 1;
                if redirects > self.config.max_redirects {
                    return Err(PollError::TooManyRedirects {
                        max: self.config.max_redirects,
                    });
                }
                all_permanent &= matches!(
                    status,
                    StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
                );
                url = location;
                continue;
            }
            let headers = response.headers().clone();
            return match status {
                StatusCode::NOT_MODIFIED => Ok(FetchOutcome::NotModified {
                    etag: header_str(&headers, header::ETAG).map(str::to_string),
                    hints: response_hints(&headers, now),
                    moved_to: moved_to(),
                }),
                StatusCode::GONE => Ok(FetchOutcome::Gone),
                StatusCode::TOO_MANY_REQUESTS => Ok(FetchOutcome::RateLimited {
                    status: status.as_u16(),
                    retry_after: response_hints(&headers, now).retry_after,
                }),
                StatusCode::SERVICE_UNAVAILABLE if headers.contains_key(header::RETRY_AFTER) => {
                    Ok(FetchOutcome::RateLimited {
                        status: status.as_u16(),
                        retry_after: response_hints(&headers, now).retry_after,
                    })
                }
                s if s.is_success() => {
                    let moved_to = moved_to();
                    let final_url = url.to_string();
                    let bytes = self.read_body(response).await?;
                    let mut hints = response_hints(&headers, now);
                    hints.retry_after = None;
                    hints.ttl = hints::rss_ttl(&bytes);
                    Ok(FetchOutcome::Modified {
                        doc: RawDocument {
                            name: final_url.clone(),
                            fetched_url: Some(final_url),
                            path: None,
                            http_charset: header_str(&headers, header::CONTENT_TYPE)
                                .and_then(charset_of),
                            bytes,
                        },
                        validators: Validators {
                            etag: header_str(&headers, header::ETAG).map(str::to_string),
                            last_modified: header_str(&headers, header::LAST_MODIFIED)
                                .map(str::to_string),
                        },
                        hints,
                        moved_to,
                    })
                }
                s => Err(PollError::Status { status: s.as_u16() }),
            };
        }
    }

    fn request_error(&self, e: reqwest::Error) -> PollError {
        if e.is_timeout() {
            return PollError::Timeout(self.config.timeout);
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if let Some(p) = s.downcast_ref::<PrivateHost>() {
                return PollError::PrivateAddress { host: p.0.clone() };
            }
            source = s.source();
        }
        PollError::Request(e)
    }

    /// Reads the (decompressed) body chunk by chunk, refusing it as soon as
    /// it passes `http.max_body`.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, PollError> {
        let limit = self.config.max_body;
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(PollError::TooLarge { limit });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.request_error(e))? {
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(PollError::TooLarge { limit });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

/// The resolver's error when every address of a name is refused.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves only to private or local addresses")]
struct PrivateHost(String);

/// A DNS resolver for reqwest that drops the addresses `deny` refuses and
/// fails when none is left, so a connection never reaches them whatever
/// DNS answers (also for redirects, and at connect time, not before).
struct PublicOnlyResolver {
    deny: Deny,
}

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let deny = self.deny;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let lookup = host.clone();
            // getaddrinfo blocks: on the blocking pool, like reqwest's own resolver.
            let addrs: Vec<SocketAddr> =
                tokio::task::spawn_blocking(move || (lookup.as_str(), 0).to_socket_addrs())
                    .await??
                    .filter(|a| !deny(a.ip()))
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
    fn defaults_are_valid_and_zero_limits_are_not() {
        HttpConfig::default().validate().expect("defaults");
        let bad = HttpConfig {
            per_host: 0,
            ..HttpConfig::default()
        };
        assert!(bad.validate().expect_err("zero").contains("per_host"));
        assert!(HttpConfig::default().user_agent.starts_with("feedfold/"));
    }

    #[test]
    fn hints_come_from_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CACHE_CONTROL,
            "public, max-age=900".parse().expect("value"),
        );
        h.insert(header::RETRY_AFTER, "30".parse().expect("value"));
        let hints = response_hints(&h, Utc::now());
        assert_eq!(hints.max_age, Some(Duration::from_secs(900)));
        assert_eq!(hints.retry_after, Some(Duration::from_secs(30)));
        assert_eq!(hints.expires, None);
    }

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

    /// A one-route server on 127.0.0.1 answering every request with `head`.
    fn redirecting_server(location: String) -> (String, Arc<Mutex<usize>>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let hits = Arc::new(Mutex::new(0usize));
        let seen = hits.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten().take(8) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                if let Ok(mut n) = seen.lock() {
                    *n += 1;
                }
                let head = format!(
                    "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = stream.write_all(head.as_bytes());
            }
        });
        (base, hits)
    }

    #[tokio::test]
    async fn redirects_are_checked_like_the_first_hop() {
        // Production refuses 127.0.0.1 itself; here the first hop's literal
        // 127.0.0.1 is allowed so that where the redirect goes is what is
        // tested: a literal address the check refuses, and a name
        // (localhost) whose every resolved address the resolver drops.
        let config = HttpConfig {
            timeout: Interval::secs(5),
            ..HttpConfig::default()
        };
        let deny_literal: fn(IpAddr) -> bool = |ip| ip != IpAddr::V4(Ipv4Addr::LOCALHOST);
        let deny_resolved: fn(IpAddr) -> bool = |_| true;
        let f = HttpFetcher::build(&config, Some((deny_literal, deny_resolved))).expect("client");
        let (base, hits) = redirecting_server("http://127.0.0.2/feed".into());
        let err = f
            .poll(&format!("{base}/a"), &Validators::default())
            .await
            .expect_err("refused");
        assert!(
            matches!(&err, PollError::PrivateAddress { host } if host == "127.0.0.2"),
            "{err}"
        );
        assert_eq!(*hits.lock().expect("hits"), 1);
        let port = base.rsplit(':').next().expect("port").to_string();
        let (base, hits) = redirecting_server(format!("http://localhost:{port}/feed"));
        let err = f
            .poll(&format!("{base}/a"), &Validators::default())
            .await
            .expect_err("refused");
        assert!(
            matches!(&err, PollError::PrivateAddress { host } if host == "localhost"),
            "{err}"
        );
        assert_eq!(
            *hits.lock().expect("hits"),
            1,
            "the redirect was not followed"
        );
    }

    #[tokio::test]
    async fn non_http_urls_are_refused_without_a_request() {
        let f = HttpFetcher::new(&HttpConfig::default()).expect("client");
        let err = f
            .poll("file:///etc/passwd", &Validators::default())
            .await
            .expect_err("refused");
        assert!(matches!(err, PollError::BadUrl(_)), "{err}");
    }
}
