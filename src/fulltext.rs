//! Full-text fetching: the article page behind a summary-only entry, read
//! through the fetcher's rules and the extractor, on the way to the store.
//!
//! Part of the pipeline (layer 4). [`read_article`] reads one page (a URL
//! with [`HttpFetcher::get_article`], or a file) and extracts its article
//! on the blocking pool; `feedfold extract` prints it. [`fetch_job`] reads
//! one article fetch the store queued ([`Store::claim_articles`]) into the
//! outcome the store records ([`Store::store_articles`]), telling failures
//! worth retrying (timeouts, connection errors, 5xx, 408, 429) from the
//! others. [`fetch_queued`] is the one-shot driver of `feedfold ingest
//! --full-text`: it fetches every due article, then stores all outcomes in
//! one batch (so the entries are placed again in id order, whatever the
//! order the pages came in), until none is due. The daemon's driver is
//! `scheduler::articles`.

use std::path::Path;

use tokio::io::AsyncReadExt;

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::Semaphore;

use crate::extractor::{self, Article, ExtractError};
use crate::fetcher::http::ARTICLE_MAX_BODY;
use crate::fetcher::{FetchError, HttpFetcher, Source};
use crate::store::writer::{
    ArticleFailure, ArticleJob, ArticleOutcome, ArticlesReport, FetchedArticle,
};
use crate::store::{Store, StoreError};

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

impl ArticleError {
    /// Whether trying again later cannot help: the page is not HTML, is
    /// refused (address, size, redirects), is gone or forbidden (4xx but
    /// 408 and 429), or the extractor refuses it.
    pub fn is_permanent(&self) -> bool {
        match self {
            ArticleError::Fetch(e) => match e {
                FetchError::Timeout(_) | FetchError::Request(_) | FetchError::Stopped => false,
                FetchError::Status { status } => {
                    (400..500).contains(status) && *status != 408 && *status != 429
                }
                _ => true,
            },
            ArticleError::Io { .. } | ArticleError::Task => false,
            ArticleError::Extract(_) => true,
        }
    }
}

/// Reads the article of one queued fetch into the outcome the store
/// records.
pub async fn fetch_job(http: &HttpFetcher, job: &ArticleJob) -> ArticleOutcome {
    let result = match read_article(http, &Source::Url(job.url.clone())).await {
        Ok(read) => Ok(FetchedArticle {
            final_url: read.url,
            html: read.article.html,
            text: read.article.text,
            word_count: read.article.word_count,
            looks_like_article: read.article.looks_like_article,
            fetched_at: Utc::now(),
        }),
        Err(e) => {
            tracing::debug!(url = %job.url, error = %crate::telemetry::chain(&e), "article fetch failed");
            Err(ArticleFailure {
                message: crate::telemetry::chain(&e),
                permanent: e.is_permanent(),
            })
        }
    };
    ArticleOutcome {
        url: job.url.clone(),
        result,
    }
}

/// Fetches every article fetch the store has due, `concurrency` at once,
/// and stores their outcomes in one batch; again until none is due (a
/// failure is due again only after `full_text.retry_after`). Returns the
/// sum of what was stored.
pub async fn fetch_queued(
    store: &Store,
    http: &HttpFetcher,
    concurrency: usize,
) -> Result<ArticlesReport, StoreError> {
    let mut total = ArticlesReport::default();
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    loop {
        let jobs = store.claim_articles(100_000, Utc::now()).await?;
        if jobs.is_empty() {
            return Ok(total);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (i, job) in jobs.into_iter().enumerate() {
            let (http, permits) = (http.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                (i, fetch_job(&http, &job).await)
            });
        }
        let mut outcomes = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(o) = done {
                outcomes.push(o);
            }
        }
        outcomes.sort_by_key(|(i, _)| *i);
        let outcomes = outcomes.into_iter().map(|(_, o)| o).collect();
        let report = store.store_articles(outcomes, Utc::now()).await?;
        total.fetched += report.fetched;
        total.retrying += report.retrying;
        total.failed += report.failed;
        total.placed_again += report.placed_again;
    }
}
