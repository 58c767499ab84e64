//! The one pipeline that both `feedfold ingest` and the daemon run:
//! fetch → normalize → (detect + store, in the writer).
//!
//! Sources are fetched and normalized concurrently (normalizing on tokio's
//! blocking pool), a bounded number ahead, but handed to the writer in the
//! order given, so the same sources in the same order always give the same
//! stories. A source that fails is reported and the others go on.

use std::collections::VecDeque;

use chrono::Utc;
use tokio::task::JoinHandle;

use crate::fetcher::{FetchError, Fetcher, Source};
use crate::model::{IngestReport, NormalizedFeed};
use crate::normalizer::{self, Identity, NormalizeError};
use crate::store::{Pending, Store, StoreError};

/// Why one source was not ingested.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Reading it failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// It is not a readable feed.
    #[error(transparent)]
    Normalize(#[from] NormalizeError),
    /// Storing it failed (nothing of it was stored).
    #[error("storing failed: {0}")]
    Store(#[from] StoreError),
    /// The normalizing task died.
    #[error("internal error: {0}")]
    Task(String),
}

/// What happened to one source.
#[derive(Debug)]
pub struct SourceOutcome {
    /// The source as named on the command line.
    pub name: String,
    /// The feed's identity (`feeds.url`) and the writer's report, or the error.
    pub result: Result<(String, IngestReport), SourceError>,
    /// Problems that did not stop the source.
    pub warnings: Vec<String>,
}

/// Options of a one-shot ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Identify every source as this feed URL (`--feed-url`).
    pub feed_url: Option<String>,
    /// How many sources may be fetched and normalized ahead of the writer.
    pub read_ahead: usize,
}

/// Fetches and normalizes one source.
pub async fn read_source(
    fetcher: &Fetcher,
    source: &Source,
    feed_url: Option<&str>,
) -> Result<NormalizedFeed, SourceError> {
    let doc = fetcher.fetch(source).await?;
    let feed_url = feed_url.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let identity = Identity {
            feed_url: feed_url.as_deref(),
            fetched_url: doc.fetched_url.as_deref(),
            path: doc.path.as_deref(),
        };
        normalizer::normalize(&doc, &identity, Utc::now())
    })
    .await
    .map_err(|e| SourceError::Task(e.to_string()))?
    .map_err(SourceError::from)
}

/// How many documents may wait at the writer: it stores those waiting
/// together in one transaction.
const STORE_AHEAD: usize = 8;

/// A source on its way: read and queued at the writer, or already failed.
enum InFlight {
    Stored {
        warnings: Vec<String>,
        url: String,
        pending: Pending,
    },
    Failed(SourceError),
}

/// Ingests `sources` in order, calling `on_outcome` as each one finishes.
pub async fn ingest_sources(
    store: &Store,
    fetcher: &Fetcher,
    sources: Vec<Source>,
    options: &IngestOptions,
    mut on_outcome: impl FnMut(&SourceOutcome),
) -> Vec<SourceOutcome> {
    let read_ahead = options.read_ahead.max(1);
    let mut reading: VecDeque<(String, JoinHandle<Result<NormalizedFeed, SourceError>>)> =
        VecDeque::new();
    let mut storing: VecDeque<(String, InFlight)> = VecDeque::new();
    let mut queue = sources.into_iter();
    let mut outcomes = Vec::new();
    loop {
        while reading.len() < read_ahead {
            let Some(source) = queue.next() else { break };
            let fetcher = fetcher.clone();
            let feed_url = options.feed_url.clone();
            let name = source.name();
            let task =
                tokio::spawn(
                    async move { read_source(&fetcher, &source, feed_url.as_deref()).await },
                );
            reading.push_back((name, task));
        }
        let Some((name, task)) = reading.pop_front() else {
            break;
        };
        let read = task
            .await
            .unwrap_or_else(|e| Err(SourceError::Task(e.to_string())));
        let flight = match read {
            Ok(feed) => {
                let warnings = feed.warnings.clone();
                let url = feed.url.clone();
                match store.submit(feed).await {
                    Ok(pending) => InFlight::Stored {
                        warnings,
                        url,
                        pending,
                    },
                    Err(e) => InFlight::Failed(e.into()),
                }
            }
            Err(e) => InFlight::Failed(e),
        };
        storing.push_back((name, flight));
        while storing.len() > STORE_AHEAD {
            if let Some((name, flight)) = storing.pop_front() {
                let outcome = finish(name, flight).await;
                on_outcome(&outcome);
                outcomes.push(outcome);
            }
        }
    }
    while let Some((name, flight)) = storing.pop_front() {
        let outcome = finish(name, flight).await;
        on_outcome(&outcome);
        outcomes.push(outcome);
    }
    outcomes
}

/// Waits for a source's result at the writer.
async fn finish(name: String, flight: InFlight) -> SourceOutcome {
    match flight {
        InFlight::Stored {
            warnings,
            url,
            pending,
        } => SourceOutcome {
            name,
            result: pending.await.map(|r| (url, r)).map_err(SourceError::from),
            warnings,
        },
        InFlight::Failed(e) => SourceOutcome {
            name,
            result: Err(e),
            warnings: Vec::new(),
        },
    }
}
