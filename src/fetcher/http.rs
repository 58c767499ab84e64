//! HTTP fetching: polite, conditional GETs of feed URLs, for every command.
//!
//! [`HttpFetcher::get`] sends a conditional GET (stored `ETag` →
//! `If-None-Match`, stored `Last-Modified` → `If-Modified-Since`), follows
//! redirects itself (so it can tell a permanent 301/308 chain from a
//! temporary 302/303/307 and catch loops), reads the body in chunks and
//! stops at the size limit while streaming, and classifies the answer as a
//! [`Fetched`]. Expected answers (304, 410, 429) are outcomes, not errors.
//! Concurrency is bounded twice: a global [`Semaphore`] and one per host,
//! both acquired before connecting; a feed waiting for a busy host holds no
//! global permit, so it never blocks another host's feeds.
//!
//! Hostile servers: the whole fetch (connect, redirects, headers, body)
//! runs under `http.timeout`, so an endless or trickling body ends there;
//! the body is counted after decompression, so a gzip bomb stops at
//! `http.max_body`; hyper refuses oversized response heads; redirects are
//! followed only to http(s) URLs, at most `http.max_redirects` times, and
//! never back to a URL already visited. Redirects from a public host to a
//! private one are refused, and with `http.deny_private_addresses` every
//! hop's host must be public ([`super::address`]); a permanent redirect to
//! a non-public host never becomes the feed's new URL.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use super::address::{Classifier, PrivateHost, Reach};
use super::{charset_of, hints, FetchError, Fetched, DEFAULT_MAX_BODY, USER_AGENT};
use crate::model::{Hints, Interval, RawDocument, Validators};

/// The `Accept` header of feed requests.
const ACCEPT: &str = "application/atom+xml, application/rss+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8";

/// The `Accept` header of article requests.
const ACCEPT_HTML: &str = "text/html, application/xhtml+xml;q=0.9";

/// The largest article page read (bytes, after decompression), whatever
/// `http.max_body` allows: the extractor keeps 4 MiB of HTML anyway.
pub const ARTICLE_MAX_BODY: u64 = 8 * 1024 * 1024;

/// What a request is for: a feed, or the article page behind an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// A feed: conditional, any content type, the feed's reach.
    Feed,
    /// An article page: HTML only, at most [`ARTICLE_MAX_BODY`], and only
    /// public hosts unless `--allow-private` (a publisher's link may not
    /// point feedfold at the network it runs in).
    Article,
}

/// An article page as fetched ([`HttpFetcher::get_article`]).
#[derive(Debug, Clone)]
pub struct ArticlePage {
    /// The URL the page was read from, after redirects.
    pub url: String,
    /// The body, at most [`ARTICLE_MAX_BODY`] bytes.
    pub bytes: Vec<u8>,
    /// The `charset` of its `Content-Type`.
    pub http_charset: Option<String>,
}

/// Whether a `Content-Type` is HTML (`text/html`, `application/xhtml+xml`).
pub fn is_html_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(essence.as_str(), "text/html" | "application/xhtml+xml")
}

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
    /// work; turn it on when feed URLs come from untrusted users. Off or
    /// on, a redirect from a public host to a private one is refused.
    pub deny_private_addresses: bool,
    /// Hosts (names or literal addresses, as written in URLs) that count
    /// as public whatever they resolve to: split-horizon DNS, tests.
    pub public_hosts: Vec<String>,
    /// Allow every address, redirects included (`--allow-private`; not
    /// read from the config file).
    #[serde(skip)]
    pub allow_private: bool,
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
            public_hosts: Vec::new(),
            allow_private: false,
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

/// The HTTP client (the only one feedfold has). Cheap to clone; clones
/// share the client and the concurrency limits.
#[derive(Clone)]
pub struct HttpFetcher {
    /// The client for hops that may reach any address.
    open: reqwest::Client,
    /// The client for hops that must reach public addresses only (its
    /// resolver drops the others; it uses no proxy, which would resolve
    /// names itself, unchecked).
    guarded: reqwest::Client,
    reach: Reach,
    classifier: Classifier,
    config: Arc<HttpConfig>,
    /// Bounds fetches in flight over all hosts (`http.concurrency`).
    global: Arc<Semaphore>,
    /// Bounds the polls under way, from fetch to stored (twice
    /// `http.concurrency`): see [`HttpFetcher::hold`].
    in_hand: Arc<Semaphore>,
    /// One semaphore per host (`http.per_host` permits each), created on
    /// first use. A std mutex: it is held only to look up or insert.
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// Set when the daemon stops: no request starts after it.
    stop: Option<watch::Receiver<bool>>,
}

impl std::fmt::Debug for HttpFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFetcher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// How many polls may hold a permit of [`HttpFetcher::hold`] at once:
/// twice `http.concurrency`, so a poll's document can be normalized and
/// wait for the writer while the next ones download.
fn polls_at_once(config: &HttpConfig) -> usize {
    config.concurrency.max(1).saturating_mul(2)
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
    /// Builds the clients and the limits.
    pub fn new(config: &HttpConfig) -> Result<HttpFetcher, FetchError> {
        let classifier = Classifier::new(&config.public_hosts);
        let builder = || {
            reqwest::Client::builder()
                .user_agent(config.user_agent.clone())
                .connect_timeout(config.connect_timeout.0)
                .timeout(config.timeout.0)
                .redirect(reqwest::redirect::Policy::none())
        };
        let open = builder().build().map_err(FetchError::Client)?;
        let guarded = builder()
            .no_proxy()
            .dns_resolver(Arc::new(classifier.resolver()))
            .build()
            .map_err(FetchError::Client)?;
        let reach = if config.allow_private {
            Reach::Anything
        } else if config.deny_private_addresses {
            Reach::PublicOnly
        } else {
            Reach::NoPublicToPrivate
        };
        Ok(HttpFetcher {
            open,
            guarded,
            reach,
            classifier,
            config: Arc::new(config.clone()),
            global: Arc::new(Semaphore::new(config.concurrency.max(1))),
            in_hand: Arc::new(Semaphore::new(polls_at_once(config))),
            hosts: Arc::new(Mutex::new(HashMap::new())),
            stop: None,
        })
    }

    /// The same fetcher, refusing to start requests once `stop` is true
    /// (fetches waiting for a permit then end with [`FetchError::Stopped`]).
    pub fn stopping_on(mut self, stop: watch::Receiver<bool>) -> HttpFetcher {
        self.stop = Some(stop);
        self
    }

    /// Waits until the stop signal is given (forever without one).
    async fn stopped(&self) {
        match self.stop.clone() {
            Some(mut stop) => {
                let _ = stop.wait_for(|s| *s).await;
            }
            None => std::future::pending().await,
        }
    }

    fn is_stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| *s.borrow())
    }

    /// Waits for `wait` unless the stop signal comes first.
    async fn unless_stopped<T>(
        &self,
        wait: impl std::future::Future<Output = T>,
    ) -> Result<T, FetchError> {
        if self.is_stopped() {
            return Err(FetchError::Stopped);
        }
        tokio::select! {
            t = wait => Ok(t),
            () = self.stopped() => Err(FetchError::Stopped),
        }
    }

    /// Why a private address is refused, as the error says it.
    fn refusal_rule(&self) -> &'static str {
        match self.reach {
            Reach::PublicOnly => "http.deny_private_addresses is on",
            Reach::NoPublicToPrivate | Reach::Anything => {
                "a public feed may not redirect into a private network; --allow-private allows it"
            }
        }
    }

    /// The client for the next hop, after refusing a literal address the
    /// hop may not reach. `guard` says whether only public hosts may be
    /// reached.
    fn client_for(&self, url: &url::Url, guard: bool) -> Result<&reqwest::Client, FetchError> {
        if !guard {
            return Ok(&self.open);
        }
        if self.classifier.refuses_literal(url) {
            return Err(FetchError::PrivateAddress {
                host: url.host_str().unwrap_or_default().to_string(),
                rule: self.refusal_rule(),
            });
        }
        Ok(&self.guarded)
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
    pub async fn hold(&self) -> Result<Option<OwnedSemaphorePermit>, FetchError> {
        self.unless_stopped(self.in_hand.clone().acquire_owned())
            .await
            .map(Result::ok)
    }

    /// How many polls can hold [`HttpFetcher::hold`]'s permit at once.
    pub fn polls_at_once(&self) -> usize {
        polls_at_once(&self.config)
    }

    /// How many requests are under way (holding a global permit).
    pub fn requests_under_way(&self) -> usize {
        self.config
            .concurrency
            .max(1)
            .saturating_sub(self.global.available_permits())
    }

    /// Fetches `url` with the stored validators, within `http.timeout`.
    pub async fn get(&self, url: &str, validators: &Validators) -> Result<Fetched, FetchError> {
        self.fetch(url, validators, Purpose::Feed).await
    }

    /// Fetches an http(s) `url` for `purpose` under this fetcher's per-host
    /// and global permits, within `http.timeout`.
    async fn fetch(
        &self,
        url: &str,
        validators: &Validators,
        purpose: Purpose,
    ) -> Result<Fetched, FetchError> {
        let parsed = url::Url::parse(url).map_err(|_| FetchError::BadUrl(url.to_string()))?;
        let host = match (parsed.scheme(), parsed.host_str()) {
            ("http" | "https", Some(h)) => h.to_string(),
            _ => return Err(FetchError::BadUrl(url.to_string())),
        };
        let _permits = self.unless_stopped(self.permits(&host)).await?;
        let timeout = self.config.timeout;
        tokio::time::timeout(timeout.0, self.get_inner(parsed, validators, purpose))
            .await
            .unwrap_or(Err(FetchError::Timeout(timeout)))
    }

    /// Fetches the article page at `url` under the same rules as feeds
    /// (`http.timeout`, the per-host and global limits of this fetcher,
    /// redirects), with three more: every hop must be public unless
    /// `--allow-private` (whatever `http.deny_private_addresses` says), the
    /// answer must be HTML ([`is_html_type`]; anything else is refused
    /// before its body is read), and the body is cut off at
    /// [`ARTICLE_MAX_BODY`] or `http.max_body`, whichever is smaller.
    /// Not conditional; any answer but a 2xx is an error.
    pub async fn get_article(&self, url: &str) -> Result<ArticlePage, FetchError> {
        let fetched = self
            .fetch(url, &Validators::default(), Purpose::Article)
            .await?;
        match fetched {
            Fetched::Document { doc, .. } => Ok(ArticlePage {
                url: doc.fetched_url.unwrap_or(doc.name),
                bytes: doc.bytes,
                http_charset: doc.http_charset,
            }),
            Fetched::NotModified { .. } => Err(FetchError::Status { status: 304 }),
            Fetched::Gone => Err(FetchError::Status { status: 410 }),
            Fetched::RateLimited { status, .. } => Err(FetchError::Status { status }),
        }
    }

    async fn get_inner(
        &self,
        start: url::Url,
        validators: &Validators,
        purpose: Purpose,
    ) -> Result<Fetched, FetchError> {
        // Whether every hop from here on must be public.
        let mut guard = match self.reach {
            Reach::PublicOnly => true,
            Reach::Anything => false,
            Reach::NoPublicToPrivate => purpose == Purpose::Article,
        };
        let mut url = start;
        let mut visited: HashSet<String> = HashSet::new();
        let mut all_permanent = true;
        let mut redirects = 0usize;
        loop {
            visited.insert(url.to_string());
            if self.is_stopped() {
                return Err(FetchError::Stopped);
            }
            let client = self.client_for(&url, guard)?;
            let accept = match purpose {
                Purpose::Feed => ACCEPT,
                Purpose::Article => ACCEPT_HTML,
            };
            let mut request = client.get(url.clone()).header(header::ACCEPT, accept);
            if let Some(etag) = &validators.etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                request = request.header(header::IF_MODIFIED_SINCE, lm);
            }
            let response = request.send().await.map_err(|e| self.request_error(e))?;
            let status = response.status();
            let now = Utc::now();
            // A feed does not move for good to a host that is not public.
            let moved_to = if redirects > 0 && all_permanent {
                if self.classifier.is_public(&url).await {
                    Some(url.to_string())
                } else {
                    tracing::debug!(to = %url, "Permanent redirect to a non-public host; the feed's URL is kept.");
                    None
                }
            } else {
                None
            };
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let location = header_str(response.headers(), header::LOCATION)
                    .and_then(|l| url.join(l).ok())
                    .ok_or(FetchError::BadRedirect {
                        status: status.as_u16(),
                    })?;
                if !matches!(location.scheme(), "http" | "https") || location.host_str().is_none() {
                    let mut shown = location.to_string();
                    if shown.len() > 200 {
                        let cut = (0..=200).rev().find(|&i| shown.is_char_boundary(i));
                        shown.truncate(cut.unwrap_or(0));
                        shown.push_str("...");
                    }
                    return Err(FetchError::ForbiddenRedirect {
                        status: status.as_u16(),
                        location: shown,
                    });
                }
                if visited.contains(location.as_str()) {
                    return Err(FetchError::RedirectLoop {
                        url: location.to_string(),
                    });
                }
                if self.reach == Reach::NoPublicToPrivate && !guard {
                    // After a public hop, only public hops.
                    guard = self.classifier.is_public(&url).await;
                }
                redirects += 1;
                if redirects > self.config.max_redirects {
                    return Err(FetchError::TooManyRedirects {
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
                StatusCode::NOT_MODIFIED => Ok(Fetched::NotModified {
                    etag: header_str(&headers, header::ETAG).map(str::to_string),
                    hints: response_hints(&headers, now),
                    moved_to,
                }),
                StatusCode::GONE => Ok(Fetched::Gone),
                StatusCode::TOO_MANY_REQUESTS => Ok(Fetched::RateLimited {
                    status: status.as_u16(),
                    retry_after: response_hints(&headers, now).retry_after,
                }),
                StatusCode::SERVICE_UNAVAILABLE if headers.contains_key(header::RETRY_AFTER) => {
                    Ok(Fetched::RateLimited {
                        status: status.as_u16(),
                        retry_after: response_hints(&headers, now).retry_after,
                    })
                }
                s if s.is_success() => {
                    let final_url = url.to_string();
                    let (limit, setting) = match purpose {
                        Purpose::Feed => (self.config.max_body, super::MAX_BODY_SETTING),
                        Purpose::Article => {
                            let content_type =
                                header_str(&headers, header::CONTENT_TYPE).unwrap_or_default();
                            if !is_html_type(content_type) {
                                return Err(FetchError::NotHtml {
                                    content_type: content_type.chars().take(100).collect(),
                                });
                            }
                            if ARTICLE_MAX_BODY < self.config.max_body {
                                (ARTICLE_MAX_BODY, "the article page limit")
                            } else {
                                (self.config.max_body, super::MAX_BODY_SETTING)
                            }
                        }
                    };
                    let bytes = self.read_body(response, limit, setting).await?;
                    let mut hints = response_hints(&headers, now);
                    hints.retry_after = None;
                    hints.ttl = hints::rss_ttl(&bytes);
                    Ok(Fetched::Document {
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
                s => Err(FetchError::Status { status: s.as_u16() }),
            };
        }
    }

    fn request_error(&self, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout(self.config.timeout);
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if let Some(p) = s.downcast_ref::<PrivateHost>() {
                return FetchError::PrivateAddress {
                    host: p.0.clone(),
                    rule: self.refusal_rule(),
                };
            }
            source = s.source();
        }
        // The URL is named by whoever reports the error; reqwest's
        // message would repeat it.
        FetchError::Request(e.without_url())
    }

    /// Reads the (decompressed) body chunk by chunk, refusing it as soon as
    /// it passes `limit` (which `setting` names).
    async fn read_body(
        &self,
        mut response: reqwest::Response,
        limit: u64,
        setting: &'static str,
    ) -> Result<Vec<u8>, FetchError> {
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge { limit, setting });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.request_error(e))? {
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(FetchError::TooLarge { limit, setting });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
        // Production refuses 127.0.0.1 itself; here it is listed as public
        // so that where the redirect goes is what is tested: a literal
        // address the check refuses, and a name (localhost) whose every
        // resolved address the resolver drops.
        let config = HttpConfig {
            timeout: Interval::secs(5),
            deny_private_addresses: true,
            public_hosts: vec!["127.0.0.1".into()],
            ..HttpConfig::default()
        };
        let f = HttpFetcher::new(&config).expect("client");
        let (base, hits) = redirecting_server("http://127.0.0.2/feed".into());
        let err = f
            .get(&format!("{base}/a"), &Validators::default())
            .await
            .expect_err("refused");
        assert!(
            matches!(&err, FetchError::PrivateAddress { host, .. } if host == "127.0.0.2"),
            "{err}"
        );
        assert_eq!(*hits.lock().expect("hits"), 1);
        let port = base.rsplit(':').next().expect("port").to_string();
        let (base, hits) = redirecting_server(format!("http://localhost:{port}/feed"));
        let err = f
            .get(&format!("{base}/a"), &Validators::default())
            .await
            .expect_err("refused");
        assert!(
            matches!(&err, FetchError::PrivateAddress { host, .. } if host == "localhost"),
            "{err}"
        );
        assert_eq!(
            *hits.lock().expect("hits"),
            1,
            "the redirect was not followed"
        );
    }

    #[tokio::test]
    async fn a_public_host_may_not_redirect_into_the_private_network_by_default() {
        // 127.0.0.1 stands for a public host; its redirect to 127.0.0.2
        // (private) is refused without deny_private_addresses, and followed
        // with --allow-private (it fails to connect, or reaches whatever
        // listens: either way not a PrivateAddress refusal).
        let public = HttpConfig {
            timeout: Interval::secs(5),
            public_hosts: vec!["127.0.0.1".into()],
            ..HttpConfig::default()
        };
        let (base, _) = redirecting_server("http://127.0.0.2:9/feed".into());
        let err = HttpFetcher::new(&public)
            .expect("client")
            .get(&format!("{base}/a"), &Validators::default())
            .await
            .expect_err("refused");
        assert!(
            matches!(&err, FetchError::PrivateAddress { host, .. } if host == "127.0.0.2"),
            "{err}"
        );
        let allowed = HttpConfig {
            allow_private: true,
            ..public
        };
        let (base, hits) = redirecting_server("http://127.0.0.2:9/feed".into());
        let result = HttpFetcher::new(&allowed)
            .expect("client")
            .get(&format!("{base}/a"), &Validators::default())
            .await;
        assert!(
            !matches!(result, Err(FetchError::PrivateAddress { .. })),
            "{result:?}"
        );
        assert_eq!(*hits.lock().expect("hits"), 1);
        // A private host (127.0.0.1, not listed) may redirect within the
        // private network by default.
        let (base, _) = redirecting_server("http://127.0.0.2:9/feed".into());
        let result = HttpFetcher::new(&HttpConfig {
            timeout: Interval::secs(5),
            ..HttpConfig::default()
        })
        .expect("client")
        .get(&format!("{base}/a"), &Validators::default())
        .await;
        assert!(
            !matches!(result, Err(FetchError::PrivateAddress { .. })),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn non_http_urls_are_refused_without_a_request() {
        let f = HttpFetcher::new(&HttpConfig::default()).expect("client");
        let err = f
            .get("file:///etc/passwd", &Validators::default())
            .await
            .expect_err("refused");
        assert!(matches!(err, FetchError::BadUrl(_)), "{err}");
    }
}
