//! Stage 1 of the pipeline: the fetcher.
//!
//! Reads one source (a file, standard input, or an http(s) URL) into a
//! [`RawDocument`]. Only this module does network I/O. Bodies are read in
//! chunks and cut off at a size limit while streaming, never after.

pub mod http;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::model::RawDocument;

/// The largest document accepted, by default (bytes).
pub const DEFAULT_MAX_BODY: u64 = 16 * 1024 * 1024;

/// The User-Agent feedfold sends.
pub const USER_AGENT: &str = concat!(
    "feedfold/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/feedfold/feedfold)"
);

/// A source named on the command line.
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

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// A file or standard input could not be read (messages name the
    /// source already, so the path is not repeated here).
    #[error("cannot read: {source}")]
    Io {
        /// The file (`-` for standard input).
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP request failed (connection, TLS, timeout, redirects).
    #[error("request failed: {0}")]
    Http(#[source] reqwest::Error),
    /// The server answered with a non-success status.
    #[error("server answered {0}")]
    Status(reqwest::StatusCode),
    /// The document exceeds the size limit.
    #[error("document larger than the {limit}-byte limit")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
}

/// Settings of the HTTP client.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// Timeout for establishing a connection.
    pub connect_timeout: Duration,
    /// Timeout for the whole request, body included.
    pub timeout: Duration,
    /// Largest accepted body, in bytes.
    pub max_body: u64,
    /// Most redirects followed.
    pub max_redirects: usize,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body: DEFAULT_MAX_BODY,
            max_redirects: 10,
        }
    }
}

/// Reads sources; holds the shared HTTP client.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body: u64,
}

impl Fetcher {
    /// Builds the HTTP client.
    pub fn new(settings: &FetchSettings) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::limited(settings.max_redirects))
            .build()
            .map_err(FetchError::Http)?;
        Ok(Fetcher {
            client,
            max_body: settings.max_body,
        })
    }

    /// Reads one source into memory.
    pub async fn fetch(&self, source: &Source) -> Result<RawDocument, FetchError> {
        match source {
            Source::File(path) => self.read_file(path).await,
            Source::Stdin => {
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
            Source::Url(url) => self.get(url).await,
        }
    }

    fn check_size(&self, len: usize) -> Result<(), FetchError> {
        if len as u64 > self.max_body {
            Err(FetchError::TooLarge {
                limit: self.max_body,
            })
        } else {
            Ok(())
        }
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

    async fn get(&self, url: &str) -> Result<RawDocument, FetchError> {
        let mut response = self
            .client
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "application/atom+xml, application/rss+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8",
            )
            .send()
            .await
            .map_err(FetchError::Http)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status));
        }
        if response.content_length().is_some_and(|n| n > self.max_body) {
            return Err(FetchError::TooLarge {
                limit: self.max_body,
            });
        }
        let http_charset = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(charset_of);
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(FetchError::Http)? {
            bytes.extend_from_slice(&chunk);
            self.check_size(bytes.len())?;
        }
        Ok(RawDocument {
            name: url.to_string(),
            fetched_url: Some(url.to_string()),
            path: None,
            http_charset,
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
}
