//! Stage 1 of the pipeline: the fetcher.
//!
//! Reads one [`Source`] (a file, standard input, or an http(s) URL) into a
//! [`RawDocument`], for every command alike: `feedfold ingest`, `parse` and
//! the daemon's polls all go through [`Fetcher::fetch`], built once from
//! the config's `[http]` table, so the same timeouts, size cap, user agent,
//! per-host limits and private-address guard apply everywhere. Only this
//! module does network or file I/O for sources. Bodies are read in chunks
//! and cut off at `http.max_body` while streaming, never after.
//!
//! - [`http`]: conditional GETs, redirects, the concurrency limits.
//! - [`hints`]: when the server asks us to come back (headers, RSS `ttl`).
//! - [`address`]: the private-address guard.
//! - [`discover`]: the feeds a web page links to.

pub mod address;
pub mod discover;
pub mod hints;
pub mod http;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::OwnedSemaphorePermit;

pub use http::{ArticlePage, HttpConfig, HttpFetcher};

use crate::model::{Hints, Interval, RawDocument, Validators};

/// The largest document accepted, by default (bytes).
pub const DEFAULT_MAX_BODY: u64 = 16 * 1024 * 1024;

/// The User-Agent feedfold sends.
pub const USER_AGENT: &str = concat!(
    "feedfold/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/feedfold/feedfold)"
);

/// Where a feed document comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file.
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// An http(s) URL.
    Url(String),
}

impl Source {
    /// Reads a command-line argument: `-`, an `http://`/`https://` URL, or a path.
    pub fn from_arg(arg: &str) -> Source {
        let lower = arg.to_ascii_lowercase();
        if arg == "-" {
            Source::Stdin
        } else if lower.starts_with("http://") || lower.starts_with("https://") {
            Source::Url(arg.to_string())
        } else {
            Source::File(PathBuf::from(arg))
        }
    }

    /// How messages name the source.
    pub fn name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Stdin => "-".to_string(),
            Source::Url(u) => u.clone(),
        }
    }
}

/// What a fetch brought, when the source answered something meaningful.
#[derive(Debug)]
pub enum Fetched {
    /// A document (a file, standard input, or a 2xx with a body).
    Document {
        /// The document (for a URL, its `fetched_url` is the final URL).
        doc: RawDocument,
        /// Validators for the next conditional GET (none for files).
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
    /// 410 Gone: the feed is retired.
    Gone,
    /// 429, or 503 with `Retry-After`: come back later.
    RateLimited {
        /// The status.
        status: u16,
        /// `Retry-After`, if given.
        retry_after: Option<Duration>,
    },
}

/// The setting a feed document's size limit comes from.
pub(crate) const MAX_BODY_SETTING: &str = "http.max_body";

/// Why a source could not be read. In the daemon every one of these is
/// retried with backoff.
///
/// Each variant's message says what went wrong at this level only; the
/// underlying error is its `source()`, so a report that walks the chain
/// (`{:#}` with anyhow, [`crate::telemetry::chain`]) prints each cause once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// A file or standard input could not be read (messages name the
    /// source already, so the path is not repeated here).
    #[error("cannot read it")]
    Io {
        /// The file (`-` for standard input).
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Connecting, TLS or reading failed.
    #[error("request failed")]
    Request(#[source] reqwest::Error),
    /// The fetch took longer than `http.timeout`.
    #[error("timed out after {0} (http.timeout)")]
    Timeout(Interval),
    /// The server answered with an error status.
    #[error("server answered {status}")]
    Status {
        /// The status code.
        status: u16,
    },
    /// The document exceeds `http.max_body` (or, for an article page,
    /// the smaller article limit).
    #[error("document larger than the {limit}-byte limit ({setting})")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// Where the limit comes from: `http.max_body`, or the article limit.
        setting: &'static str,
    },
    /// A redirect led back to a URL already visited.
    #[error("redirect loop at {url}")]
    RedirectLoop {
        /// The URL seen twice.
        url: String,
    },
    /// More redirects than `http.max_redirects`.
    #[error("more than {max} redirects (http.max_redirects)")]
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
    /// The host is (or resolves only to) a loopback, private, link-local
    /// or other non-global address, and may not be reached here.
    #[error("{host} is a private or local address ({rule})")]
    PrivateAddress {
        /// The host of the refused URL.
        host: String,
        /// Which rule refused it.
        rule: &'static str,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// An article page answered with something other than HTML.
    #[error("not an HTML page (Content-Type: {content_type:?})")]
    NotHtml {
        /// The `Content-Type` given (empty if none), cut to 100 characters.
        content_type: String,
    },
    /// The daemon is stopping: the request was not sent.
    #[error("not fetched: feedfold is stopping")]
    Stopped,
}

impl FetchError {
    /// The HTTP status behind the error, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status }
            | FetchError::BadRedirect { status }
            | FetchError::ForbiddenRedirect { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Reads sources: the HTTP client built from `[http]`, and files and
/// standard input under the same size cap. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Fetcher {
    http: HttpFetcher,
    max_body: u64,
    timeout: Interval,
}

impl Fetcher {
    /// Builds the HTTP client and its limits from the `[http]` table.
    pub fn new(config: &HttpConfig) -> Result<Fetcher, FetchError> {
        Ok(Fetcher {
            http: HttpFetcher::new(config)?,
            max_body: config.max_body,
            timeout: config.timeout,
        })
    }

    /// The same fetcher, starting no request once `stop` is true: fetches
    /// still waiting for a permit end with [`FetchError::Stopped`].
    pub fn stopping_on(self, stop: tokio::sync::watch::Receiver<bool>) -> Fetcher {
        Fetcher {
            http: self.http.stopping_on(stop),
            max_body: self.max_body,
            timeout: self.timeout,
        }
    }

    /// Waits for room to start a poll and returns its permit, to hold until
    /// the poll's result is stored (see [`HttpFetcher::hold`]); fails once
    /// the fetcher is stopping.
    pub async fn hold(&self) -> Result<Option<OwnedSemaphorePermit>, FetchError> {
        self.http.hold().await
    }

    /// How many polls can hold [`Fetcher::hold`]'s permit at once (twice
    /// `http.concurrency`): the scheduler starts no more polls than that.
    pub fn polls_at_once(&self) -> usize {
        self.http.polls_at_once()
    }

    /// `http.timeout`: the budget of one fetch, and of normalizing what it
    /// brought.
    pub fn timeout(&self) -> Interval {
        self.timeout
    }

    /// The HTTP client, for article pages
    /// ([`HttpFetcher::get_article`]).
    pub fn http(&self) -> &HttpFetcher {
        &self.http
    }

    /// How many requests are under way.
    pub fn requests_under_way(&self) -> usize {
        self.http.requests_under_way()
    }

    /// Reads one source. A URL gets a conditional GET with `validators`
    /// (pass the default for an unconditional one); a file or standard
    /// input is always a [`Fetched::Document`].
    pub async fn fetch(
        &self,
        source: &Source,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        let doc = match source {
            Source::Url(url) => return self.http.get(url, validators).await,
            Source::File(path) => self.read_file(path).await?,
            Source::Stdin => self.read_stdin().await?,
        };
        Ok(Fetched::Document {
            doc,
            validators: Validators::default(),
            hints: Hints::default(),
            moved_to: None,
        })
    }

    fn check_size(&self, len: usize) -> Result<(), FetchError> {
        if len as u64 > self.max_body {
            Err(FetchError::TooLarge {
                limit: self.max_body,
                setting: MAX_BODY_SETTING,
            })
        } else {
            Ok(())
        }
    }

    async fn read_stdin(&self) -> Result<RawDocument, FetchError> {
        let mut bytes = Vec::new();
        tokio::io::stdin()
            .take(self.max_body + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|source| FetchError::Io {
                path: "-".into(),
                source,
            })?;
        self.check_size(bytes.len())?;
        Ok(RawDocument {
            name: "-".into(),
            fetched_url: None,
            path: None,
            http_charset: None,
            bytes,
        })
    }

    async fn read_file(&self, path: &Path) -> Result<RawDocument, FetchError> {
        let io = |source| FetchError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = tokio::fs::File::open(path).await.map_err(io)?;
        let mut bytes = Vec::new();
        file.take(self.max_body + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(io)?;
        self.check_size(bytes.len())?;
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        Ok(RawDocument {
            name: path.display().to_string(),
            fetched_url: None,
            path: Some(absolute.display().to_string()),
            http_charset: None,
            bytes,
        })
    }
}

/// The `charset` parameter of a `Content-Type` value.
pub fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_string())
            .filter(|v| !v.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_told_apart() {
        assert_eq!(Source::from_arg("-"), Source::Stdin);
        assert_eq!(
            Source::from_arg("HTTPS://x.org/f"),
            Source::Url("HTTPS://x.org/f".into())
        );
        assert_eq!(
            Source::from_arg("feeds/a.xml"),
            Source::File("feeds/a.xml".into())
        );
    }

    #[test]
    fn charset_is_read_from_content_type() {
        assert_eq!(
            charset_of("text/xml; charset=\"ISO-8859-1\""),
            Some("ISO-8859-1".into())
        );
        assert_eq!(charset_of("application/rss+xml"), None);
        assert_eq!(charset_of("text/xml; charset="), None);
    }

    #[tokio::test]
    async fn files_are_held_to_the_same_size_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.xml");
        std::fs::write(&path, vec![b' '; 200]).expect("write");
        let f = Fetcher::new(&HttpConfig {
            max_body: 100,
            ..HttpConfig::default()
        })
        .expect("fetcher");
        let err = f
            .fetch(&Source::File(path), &Validators::default())
            .await
            .expect_err("too large");
        assert!(
            matches!(err, FetchError::TooLarge { limit: 100, .. }),
            "{err}"
        );
    }
}
