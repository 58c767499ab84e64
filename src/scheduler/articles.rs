//! The daemon's article loop: fetches the articles the store queued for
//! summary-only entries, beside the polls and never in their way.
//!
//! ```text
//! Store::claim_articles ─▶ fetch tasks (≤ full_text.concurrency) ─▶ outcome queue (≤ full_text.queue) ─▶ Store::store_articles
//! ```
//!
//! It claims only as many due fetches as it has free permits, so the
//! store's queue (`article_fetches`) is the backlog and memory holds at
//! most `concurrency` pages being read plus `queue` outcomes waiting for
//! the writer; when that queue is full, fetch tasks wait (backpressure).
//! The fetches use an HTTP client of their own (same `[http]` rules, own
//! per-host and global permits), so a slow article site never holds a
//! permit a feed poll waits for; outcomes reach the writer in batches
//! (up to [`BATCH`]), each one transaction. When idle it looks for due
//! fetches every [`IDLE`]. On `stop` it ends at once: a fetch under way
//! is abandoned, and due again when the daemon next starts.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

use crate::extractor::FullTextConfig;
use crate::fetcher::HttpFetcher;
use crate::fulltext::fetch_job;
use crate::store::writer::ArticleOutcome;
use crate::store::{Store, StoreError};

/// How often an idle loop looks for due fetches.
pub const IDLE: Duration = Duration::from_secs(1);

/// Most outcomes stored in one transaction.
pub const BATCH: usize = 64;

/// Runs until `stop` changes or the store's writer is gone.
pub async fn run(
    store: Store,
    http: HttpFetcher,
    config: FullTextConfig,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let (tx, rx) = mpsc::channel::<ArticleOutcome>(config.queue.max(1));
    let writer = tokio::spawn(store_outcomes(store.clone(), rx));
    let mut tasks = JoinSet::new();
    loop {
        if *stop.borrow() {
            break;
        }
        let free = permits.available_permits();
        let mut claimed = 0;
        if free > 0 {
            match store.claim_articles(free, Utc::now()).await {
                Ok(jobs) => {
                    for job in jobs {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            break;
                        };
                        claimed += 1;
                        let (http, tx) = (http.clone(), tx.clone());
                        tasks.spawn(async move {
                            let outcome = fetch_job(&http, &job).await;
                            // Waits while the writer's queue is full.
                            let _ = tx.send(outcome).await;
                            drop(permit);
                        });
                    }
                }
                Err(StoreError::WriterGone) => break,
                Err(e) => {
                    tracing::error!(error = %crate::telemetry::chain(&e), "Claiming article fetches failed.")
                }
            }
        }
        while tasks.try_join_next().is_some() {}
        // All permits taken: look again when a fetch ends.
        let wait = if claimed > 0 && claimed == free {
            Duration::from_secs(3600)
        } else {
            IDLE
        };
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep(wait) => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    tasks.shutdown().await;
    drop(tx);
    let _ = writer.await;
}

/// Hands the outcomes to the writer, as many as are waiting (up to
/// [`BATCH`]) in one transaction.
async fn store_outcomes(store: Store, mut rx: mpsc::Receiver<ArticleOutcome>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(o) => batch.push(o),
                Err(_) => break,
            }
        }
        match store.store_articles(batch, Utc::now()).await {
            Ok(r) => {
                crate::metrics::articles_stored(r.fetched, r.retrying, r.failed, r.placed_again);
                tracing::info!(
                    fetched = r.fetched,
                    failed = r.failed,
                    retrying = r.retrying,
                    placed_again = r.placed_again,
                    "Articles stored."
                )
            }
            Err(StoreError::WriterGone) => return,
            Err(e) => {
                tracing::error!(error = %crate::telemetry::chain(&e), "Storing articles failed.")
            }
        }
    }
}
