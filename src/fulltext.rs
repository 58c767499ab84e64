//! Full-text fetching: the article page behind a summary-only entry, read
//! through the fetcher's rules and the extractor, on the way to the store.
//!
//! Part of the pipeline (layer 4). [`read_article`] reads one page (a URL
//! with [`HttpFetcher::get_article`], or a file) and extracts its article
//! on the blocking pool; `feedfold extract` prints it.

use std::path::Path;

use tokio::io::AsyncReadExt;

use crate::extractor::{self, Article, ExtractError};
use crate::fetcher::http::ARTICLE_MAX_BODY;
use crate::fetcher::{FetchError, HttpFetcher, Source};

/// Why an article page gave no text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArticleError {
    /// Fetching the page failed (status, timeout, size, not HTML, refused
    /// address...).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The extractor refused the page or found no article in it.
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// The extractor's task ended without an answer (it panicked).
    #[error("the extraction task failed")]
    Task,
}

/// An article page read and extracted: where from, and what it holds.
#[derive(Debug, Clone)]
pub struct ReadArticle {
    /// The page's URL after redirects (a file: its path).
    pub url: String,
    /// What extraction found.
    pub article: Article,
}

/// Reads one article page: an http(s) URL with
/// [`HttpFetcher::get_article`] (HTML only, the private-address guard, the
/// size cap), a file up to [`ARTICLE_MAX_BODY`] bytes; then extracts its
/// article on the blocking pool.
pub async fn read_article(
    http: &HttpFetcher,
    source: &Source,
) -> Result<ReadArticle, ArticleError> {
    let (url, bytes, charset) = match source {
        Source::Url(u) => {
            let page = http.get_article(u).await?;
            (page.url, page.bytes, page.http_charset)
        }
        Source::File(path) => (path.display().to_string(), read_file(path).await?, None),
        Source::Stdin => {
            let mut bytes = Vec::new();
            tokio::io::stdin()
                .take(ARTICLE_MAX_BODY)
                .read_to_end(&mut bytes)
                .await
                .map_err(|source| ArticleError::Io {
                    path: "-".into(),
                    source,
                })?;
            ("-".to_string(), bytes, None)
        }
    };
    let base = matches!(source, Source::Url(_)).then(|| url.clone());
    let article = tokio::task::spawn_blocking(move || {
        extractor::read_article(&bytes, charset.as_deref(), base.as_deref())
    })
    .await
    .map_err(|_| ArticleError::Task)??;
    Ok(ReadArticle { url, article })
}

async fn read_file(path: &Path) -> Result<Vec<u8>, ArticleError> {
    let io = |source| ArticleError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut bytes = Vec::new();
    file.take(ARTICLE_MAX_BODY)
        .read_to_end(&mut bytes)
        .await
        .map_err(io)?;
    Ok(bytes)
}
