//! The pipeline: source → fetch → normalize → store (detector and writer),
//! one code path for every command.
//!
//! The unit is one read of one source ([`read`]): a conditional fetch
//! ([`Fetcher::fetch`], built from `[http]`), then normalizing on tokio's
//! blocking pool. Two drivers hand what it reads to the store's writer:
//!
//! ```text
//! feedfold ingest FILE|URL|-   commands::ingest → ingest_sources ─┐
//!                                                                  ├─▶ read → Fetcher::fetch → normalizer::normalize
//! feedfold run (each due feed) scheduler::runner → poll ──────────┘
//!
//! ingest_sources → Store::submit      ─┐
//!                                       ├─▶ store actor → Writer::store_documents (detector + SQL, one transaction)
//! poll           → Store::record_poll ─┘
//! ```
//!
//! [`ingest_sources`] reads sources a bounded number ahead but hands them
//! to the writer in the order given, so the same sources in the same order
//! always give the same stories; a source that fails is reported and the
//! others go on. [`poll`] reads one subscribed feed with its stored
//! validators and records the outcome (document, 304, 410 or failure) with
//! the feed's next check.

use std::collections::VecDeque;

use chrono::Utc;
use tokio::task::JoinHandle;

use crate::fetcher::discover::{self, FeedLink};
use crate::fetcher::{FetchError, Fetched, Fetcher, Source};
use crate::model::{
    redact_credentials, Hints, IngestReport, Interval, NormalizedFeed, RawDocument, Validators,
};
use crate::normalizer::{self, Identity, NormalizeError};
use crate::scheduler::policy::{self, PollingConfig};
use crate::store::subscriptions::{Poll, PollRecord, Recorded, Subscription};
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
    /// The server says the feed is gone for good.
    #[error("the feed is gone (410)")]
    Gone,
    /// The server asked us to come back later.
    #[error("rate limited ({status}); try again later")]
    RateLimited {
        /// The status (429 or 503).
        status: u16,
    },
    /// Storing it failed (nothing of it was stored).
    #[error("storing failed")]
    Store(#[source] StoreError),
    /// The source is a web page that links no feed (and none answers at
    /// the common feed paths).
    #[error("this is a web page, not a feed, and it links no feed (nor does {tried})")]
    WebPage {
        /// The common paths that were tried.
        tried: String,
    },
    /// The source is a web page, and it was not looked into for feeds (a
    /// file, or a subscribed feed that now answers with a page).
    #[error("this is a web page, not a feed")]
    NotAFeed,
    /// Normalizing took longer than its budget (`http.timeout`): the
    /// document is refused (a hostile one must not hold a poll's permit).
    #[error("reading the document took longer than {0} (http.timeout); it is refused")]
    TooSlow(Interval),
    /// The normalizing task died.
    #[error("internal error: {0}")]
    Task(String),
}

impl From<StoreError> for SourceError {
    fn from(e: StoreError) -> Self {
        SourceError::Store(e)
    }
}

/// What reading a source gave.
#[derive(Debug)]
pub enum Read {
    /// A normalized document.
    Document {
        /// The document.
        feed: Box<NormalizedFeed>,
        /// Validators for the next conditional GET.
        validators: Validators,
        /// When to come back, per the server.
        hints: Hints,
        /// The feed's new URL after permanent redirects.
        moved_to: Option<String>,
    },
    /// A web page instead of a feed (see [`discover_feeds`]).
    WebPage {
        /// The page.
        doc: RawDocument,
    },
    /// 304 Not Modified.
    NotModified {
        /// A new `ETag`, if sent.
        etag: Option<String>,
        /// When to come back, per the server.
        hints: Hints,
        /// The feed's new URL after permanent redirects.
        moved_to: Option<String>,
    },
    /// 410 Gone.
    Gone,
    /// 429, or 503 with `Retry-After`.
    RateLimited {
        /// The status.
        status: u16,
        /// `Retry-After`, if given.
        retry_after: Option<std::time::Duration>,
    },
}

/// Reads one source: fetches it (conditionally, with `validators`) and
/// normalizes what it brought. `feed_url` is the feed's identity when the
/// caller knows it (a subscription's URL, or `--feed-url`).
pub async fn read(
    fetcher: &Fetcher,
    source: &Source,
    validators: &Validators,
    feed_url: Option<&str>,
) -> Result<Read, SourceError> {
    let started = std::time::Instant::now();
    let fetched = fetcher.fetch(source, validators).await;
    let bytes = match &fetched {
        Ok(Fetched::Document { doc, .. }) => doc.bytes.len(),
        _ => 0,
    };
    crate::metrics::fetched(started.elapsed(), bytes);
    Ok(match fetched? {
        Fetched::Document { doc, .. } if discover::looks_like_html(&doc.bytes) => {
            Read::WebPage { doc }
        }
        Fetched::Document {
            doc,
            validators,
            hints,
            moved_to,
        } => Read::Document {
            feed: Box::new(normalize(doc, feed_url, fetcher.timeout()).await?),
            validators,
            hints,
            moved_to,
        },
        Fetched::NotModified {
            etag,
            hints,
            moved_to,
        } => Read::NotModified {
            etag,
            hints,
            moved_to,
        },
        Fetched::Gone => Read::Gone,
        Fetched::RateLimited {
            status,
            retry_after,
        } => Read::RateLimited {
            status,
            retry_after,
        },
    })
}

/// Normalizes a document on the blocking pool, within `budget`. Past it
/// the document is refused and the caller goes on (the thread finishes in
/// the background: the normalizer's caps bound how long that takes).
async fn normalize(
    doc: RawDocument,
    feed_url: Option<&str>,
    budget: Interval,
) -> Result<NormalizedFeed, SourceError> {
    let feed_url = feed_url.map(str::to_string);
    let task = tokio::task::spawn_blocking(move || {
        let identity = Identity {
            feed_url: feed_url.as_deref(),
            fetched_url: doc.fetched_url.as_deref(),
            path: doc.path.as_deref(),
        };
        normalizer::normalize(&doc, &identity, Utc::now())
    });
    tokio::time::timeout(budget.0, task)
        .await
        .map_err(|_| SourceError::TooSlow(budget))?
        .map_err(|e| SourceError::Task(e.to_string()))?
        .map_err(SourceError::from)
}

/// Reads one source for a one-shot command (`ingest`, `parse`): an
/// unconditional fetch that must bring a document. A URL that gives a web
/// page is read through the first feed the page links to (or that answers
/// at a common path), with a warning saying so.
pub async fn read_document(
    fetcher: &Fetcher,
    source: &Source,
    feed_url: Option<&str>,
) -> Result<NormalizedFeed, SourceError> {
    match read(fetcher, source, &Validators::default(), feed_url).await? {
        Read::WebPage { doc } if matches!(source, Source::Url(_)) => {
            let links = discover_feeds(fetcher, &doc).await?;
            let Some(first) = links.first() else {
                return Err(SourceError::WebPage {
                    tried: discover::COMMON_PATHS.join(", "),
                });
            };
            let found = Source::Url(first.url.clone());
            let mut feed = match read(fetcher, &found, &Validators::default(), feed_url).await? {
                Read::Document { feed, .. } => *feed,
                _ => return Err(SourceError::NotAFeed),
            };
            let others = links.len() - 1;
            feed.warnings.push(format!(
                "{} is a web page; read the feed it links to, {}{}",
                doc.name,
                first.url,
                if others > 0 {
                    format!(" (it links {others} more: `feedfold parse` shows each)")
                } else {
                    String::new()
                }
            ));
            Ok(feed)
        }
        Read::WebPage { .. } => Err(SourceError::NotAFeed),
        Read::Document { feed, .. } => Ok(*feed),
        Read::Gone => Err(SourceError::Gone),
        Read::RateLimited { status, .. } => Err(SourceError::RateLimited { status }),
        // An unconditional GET is never answered 304 by a correct server.
        Read::NotModified { .. } => Err(SourceError::Fetch(FetchError::Status { status: 304 })),
    }
}

/// What a URL about to be subscribed to gives.
#[derive(Debug)]
pub enum Checked {
    /// A feed.
    Feed,
    /// A web page, and the feeds it offers (none, one or several).
    Page(Vec<FeedLink>),
}

/// Fetches a URL someone wants to subscribe to and says whether it is a
/// feed, or a page and which feeds it offers (`feedfold feeds add`).
pub async fn check_subscription(fetcher: &Fetcher, url: &str) -> Result<Checked, SourceError> {
    match read(
        fetcher,
        &Source::Url(url.to_string()),
        &Validators::default(),
        None,
    )
    .await?
    {
        Read::WebPage { doc } => Ok(Checked::Page(discover_feeds(fetcher, &doc).await?)),
        Read::Document { .. } | Read::NotModified { .. } => Ok(Checked::Feed),
        Read::Gone => Err(SourceError::Gone),
        Read::RateLimited { status, .. } => Err(SourceError::RateLimited { status }),
    }
}

/// The feeds a web page fetched from a URL offers: the ones it links to,
/// else those of [`discover::COMMON_PATHS`] on its host that answer with
/// a feed. Fetched through the same fetcher and rules as feeds.
pub async fn discover_feeds(
    fetcher: &Fetcher,
    page: &RawDocument,
) -> Result<Vec<FeedLink>, SourceError> {
    let Some(base) = page
        .fetched_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
    else {
        return Ok(Vec::new());
    };
    let links = discover::feed_links(&page.bytes, &base);
    if !links.is_empty() {
        return Ok(links);
    }
    let mut found = Vec::new();
    for path in discover::COMMON_PATHS {
        let Ok(url) = base.join(path) else { continue };
        let source = Source::Url(url.to_string());
        if let Ok(Read::Document { feed, .. }) =
            read(fetcher, &source, &Validators::default(), None).await
        {
            found.push(FeedLink {
                url: url.to_string(),
                title: feed.title.clone(),
                kind: feed.format.as_str(),
            });
            break;
        }
    }
    Ok(found)
}

/// What happened to one source of an ingest.
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
                    async move { read_document(&fetcher, &source, feed_url.as_deref()).await },
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

/// Polls one subscribed feed once: reads it with its stored validators and
/// records the outcome with its next check. The daemon runs this for every
/// check; a failure of the feed is recorded (and backed off), so the only
/// error is the store's. `None`: the fetcher was stopping before the
/// request was sent, and nothing was recorded.
pub async fn poll(
    store: &Store,
    fetcher: &Fetcher,
    polling: &PollingConfig,
    sub: &Subscription,
) -> Result<Option<Recorded>, StoreError> {
    // Held until the result is stored: fetching runs only so far ahead of the writer.
    let Ok(_hold) = fetcher.hold().await else {
        return Ok(None);
    };
    let checked_at = Utc::now();
    let policy = polling.policy(sub.interval, policy::seed(sub.id));
    let source = Source::Url(sub.url.clone());
    let record = match read(fetcher, &source, &sub.validators, Some(&sub.url)).await {
        Ok(Read::Document {
            feed,
            validators,
            hints,
            moved_to,
        }) => {
            for w in &feed.warnings {
                tracing::debug!(url = %sub.url, warning = %w, "Feed document warning.");
            }
            PollRecord::Modified {
                feed,
                validators,
                hints,
                moved_to,
            }
        }
        Ok(Read::NotModified {
            etag,
            hints,
            moved_to,
        }) => PollRecord::NotModified {
            etag,
            hints,
            moved_to,
        },
        Ok(Read::WebPage { .. }) => PollRecord::Failed {
            error: "the feed URL answers with a web page, not a feed \
                    (`feedfold feeds add URL` finds the feeds a page links to)"
                .into(),
            status: None,
            retry_after: None,
        },
        Ok(Read::Gone) => PollRecord::Gone,
        Ok(Read::RateLimited {
            status,
            retry_after,
        }) => PollRecord::Failed {
            error: format!("rate limited ({status})"),
            status: Some(status),
            retry_after,
        },
        Err(SourceError::Fetch(FetchError::Stopped)) => return Ok(None),
        Err(e) => PollRecord::Failed {
            status: match &e {
                SourceError::Fetch(f) => f.status(),
                _ => None,
            },
            error: redact_credentials(&crate::telemetry::chain(&e)).into_owned(),
            retry_after: None,
        },
    };
    let recorded = store
        .record_poll(Poll {
            subscription: sub.id,
            checked_at,
            policy,
            record,
        })
        .await?;
    record_metrics(&recorded);
    log_recorded(&redact_credentials(&sub.url), &recorded);
    Ok(Some(recorded))
}

/// Counts a recorded poll in [`crate::metrics`].
fn record_metrics(recorded: &Recorded) {
    use crate::metrics::{poll_recorded, PollOutcome};
    let r = recorded.report().cloned().unwrap_or_default();
    let outcome = match recorded {
        Recorded::Stored { .. } => PollOutcome::Modified,
        Recorded::NotModified { .. } => PollOutcome::NotModified,
        Recorded::Failed { .. } => PollOutcome::Error,
        Recorded::Gone => PollOutcome::Gone,
        Recorded::Unsubscribed => return,
    };
    poll_recorded(outcome, r.new, r.updated, r.joined, r.new_events);
}

/// One log line per poll: info when it brought something, a warning when
/// it failed, an error when storing failed, debug otherwise.
fn log_recorded(url: &str, recorded: &Recorded) {
    let next = |s: &Subscription| {
        s.next_check_at
            .map(crate::model::format_time)
            .unwrap_or_else(|| "never".into())
    };
    match recorded {
        Recorded::Failed {
            error,
            storing: true,
            ..
        } => tracing::error!(url, error = %error, "Storing a feed failed."),
        Recorded::Failed {
            error,
            subscription,
            ..
        } => tracing::warn!(
            url, error = %error, errors = subscription.error_count, next = %next(subscription),
            "Feed check failed; retrying later."
        ),
        Recorded::Stored {
            report,
            subscription,
        } if report.new > 0 || report.updated > 0 => tracing::info!(
            url, new = report.new, updated = report.updated, joined = report.joined,
            next = %next(subscription), "Feed fetched."
        ),
        Recorded::Stored { subscription, .. } => {
            tracing::debug!(url, next = %next(subscription), "Feed fetched, nothing new.")
        }
        Recorded::NotModified { subscription } => {
            tracing::debug!(url, next = %next(subscription), "Feed not modified.")
        }
        Recorded::Gone | Recorded::Unsubscribed => {}
    }
}
