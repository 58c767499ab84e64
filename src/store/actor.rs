//! The writer thread: one loop that owns the [`Writer`] and runs the
//! [`Command`]s the [`super::Store`] handle sends, in order.
//!
//! Documents (from `feedfold ingest`, and polls that fetched one) waiting
//! in the queue behind the first are taken together, up to
//! [`BATCH_DOCUMENTS`] documents or [`BATCH_ENTRIES`] entries, and stored
//! in one transaction ([`Writer::store_documents`]); every other command
//! runs alone. Each command answers on its own oneshot channel. The loop
//! ends when every handle is dropped, after the last command, and closes
//! the database.

use std::path::PathBuf;
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use super::subscriptions::{Added, Origin, Poll, PollRecord, Recorded, Subscription, Synced};
use super::writer::polls::FetchedPoll;
use super::writer::{
    ArticleJob, ArticleOutcome, ArticlesReport, Document, FullTextSettings, PruneReport,
    RegroupReport, Writer,
};
use super::StoreError;
use crate::detector::Settings;
use crate::model::{FeedSpec, IngestReport, NormalizedFeed};

/// How many commands may wait for the writer before senders wait.
pub(super) const QUEUE: usize = 16;

/// Most documents the writer stores in one transaction.
const BATCH_DOCUMENTS: usize = 16;

/// A batch takes no further document once it holds this many entries.
const BATCH_ENTRIES: usize = 2_000;

/// Where a command's answer goes.
pub(super) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// What the writer thread is asked to do.
pub(super) enum Command {
    /// Group and store a document (`feedfold ingest`).
    Ingest {
        feed: Box<NormalizedFeed>,
        reply: Reply<IngestReport>,
    },
    /// Record a poll, storing the document it fetched, if any.
    Poll {
        poll: Box<Poll>,
        reply: Reply<Recorded>,
    },
    /// Place every stored entry again.
    Regroup {
        progress: Box<dyn FnMut(usize, usize) + Send>,
        reply: Reply<RegroupReport>,
    },
    /// Drop entries past a cutoff.
    Prune {
        before: DateTime<Utc>,
        vacuum: bool,
        reply: Reply<PruneReport>,
    },
    /// Make the config's feed list the `config` subscriptions.
    SyncFeeds {
        feeds: Vec<FeedSpec>,
        reply: Reply<Synced>,
    },
    /// Subscribe to a feed.
    AddFeed {
        spec: FeedSpec,
        origin: Origin,
        reply: Reply<Added>,
    },
    /// Unsubscribe from a feed.
    RemoveFeed { url: String, reply: Reply<bool> },
    /// Every subscription to poll.
    ActiveFeeds { reply: Reply<Vec<Subscription>> },
    /// A round trip, to prove the writer is alive.
    Ping { reply: Reply<()> },
    /// Load the grouping window now, unless it is loaded.
    LoadWindow { reply: Reply<()> },
    /// Set what the writer does about full text.
    SetFullText {
        settings: Box<FullTextSettings>,
        reply: Reply<()>,
    },
    /// Hand out due article fetches.
    ClaimArticles {
        limit: usize,
        now: DateTime<Utc>,
        reply: Reply<Vec<ArticleJob>>,
    },
    /// Record article fetches and place their entries again.
    StoreArticles {
        outcomes: Vec<ArticleOutcome>,
        now: DateTime<Utc>,
        reply: Reply<ArticlesReport>,
    },
}

impl Command {
    /// How many entries the command stores, if it stores a document: such
    /// commands are batched together.
    fn document_entries(&self) -> Option<usize> {
        match self {
            Command::Ingest { feed, .. } => Some(feed.entries.len()),
            Command::Poll { poll, .. } => match &poll.record {
                PollRecord::Modified { feed, .. } => Some(feed.entries.len()),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Opens the store on a new thread and runs the loop there; returns once
/// the store is opened and migrated (or failed to be). The grouping
/// window is loaded by the first command that groups, or by
/// [`Command::LoadWindow`].
pub(super) fn spawn(
    path: PathBuf,
    grouping: impl Into<Settings>,
) -> Result<(mpsc::Sender<Command>, JoinHandle<()>), StoreError> {
    let (tx, rx) = mpsc::channel::<Command>(QUEUE);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let grouping: Settings = grouping.into();
    let handle = std::thread::Builder::new()
        .name("feedfold-writer".into())
        .spawn(move || match Writer::open_unloaded(&path, grouping) {
            Ok(writer) => {
                let _ = ready_tx.send(Ok(()));
                run(writer, rx);
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
            }
        })
        .map_err(|_| StoreError::WriterGone)?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok((tx, handle)),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(_) => Err(StoreError::WriterGone),
    }
}

/// The loop: commands in order, documents in batches, until every sender
/// is gone.
fn run(mut writer: Writer, mut rx: mpsc::Receiver<Command>) {
    let mut next = None;
    while let Some(cmd) = next.take().or_else(|| rx.blocking_recv()) {
        crate::metrics::METRICS.writer_queue.set(rx.len() as u64);
        match cmd.document_entries() {
            Some(entries) => {
                let batch = gather(&mut rx, cmd, entries, &mut next);
                let started = std::time::Instant::now();
                store_batch(&mut writer, batch);
                crate::metrics::METRICS
                    .writer_batch_seconds
                    .observe(started.elapsed());
            }
            None => handle(&mut writer, cmd),
        }
    }
    writer.close();
}

/// A batch: `first` (storing `entries` entries) and the document commands
/// queued right behind it, up to [`BATCH_DOCUMENTS`] and [`BATCH_ENTRIES`],
/// without waiting. The first other command is left in `next`, to run
/// after the batch.
fn gather(
    rx: &mut mpsc::Receiver<Command>,
    first: Command,
    mut entries: usize,
    next: &mut Option<Command>,
) -> Vec<Command> {
    let mut batch = vec![first];
    while batch.len() < BATCH_DOCUMENTS && entries < BATCH_ENTRIES {
        let Ok(cmd) = rx.try_recv() else { break };
        match cmd.document_entries() {
            Some(n) => {
                entries += n;
                batch.push(cmd);
            }
            None => {
                *next = Some(cmd);
                break;
            }
        }
    }
    batch
}

/// Runs one command that stores no document.
fn handle(writer: &mut Writer, cmd: Command) {
    match cmd {
        Command::Ingest { feed, reply } => {
            let result = writer.ingest_batch(&[&feed], Utc::now()).pop();
            let _ = reply.send(result.unwrap_or(Err(StoreError::WriterGone)));
        }
        Command::Poll { poll, reply } => {
            let _ = reply.send(writer.record_poll(*poll));
        }
        Command::Regroup {
            mut progress,
            reply,
        } => {
            let _ = reply.send(writer.regroup_with_progress(Utc::now(), &mut *progress));
        }
        Command::Prune {
            before,
            vacuum,
            reply,
        } => {
            let _ = reply.send(writer.prune(before, vacuum, Utc::now()));
        }
        Command::SyncFeeds { feeds, reply } => {
            let _ = reply.send(writer.sync_feeds(&feeds));
        }
        Command::AddFeed {
            spec,
            origin,
            reply,
        } => {
            let _ = reply.send(writer.add_feed(&spec, origin));
        }
        Command::RemoveFeed { url, reply } => {
            let _ = reply.send(writer.remove_feed(&url));
        }
        Command::ActiveFeeds { reply } => {
            let _ = reply.send(writer.active_feeds());
        }
        Command::Ping { reply } => {
            let _ = reply.send(Ok(()));
        }
        Command::LoadWindow { reply } => {
            let _ = reply.send(writer.ensure_loaded());
        }
        Command::SetFullText { settings, reply } => {
            let _ = reply.send(writer.set_full_text(*settings));
        }
        Command::ClaimArticles { limit, now, reply } => {
            let _ = reply.send(writer.claim_articles(limit, now));
        }
        Command::StoreArticles {
            outcomes,
            now,
            reply,
        } => {
            let _ = reply.send(writer.store_articles(&outcomes, now));
        }
    }
}

/// A document of a batch on its way to the writer, and where its answer goes.
struct Queued {
    feed: Box<NormalizedFeed>,
    from: From,
}

/// Who sent a queued document.
enum From {
    /// `feedfold ingest`: answered with the report.
    Ingest(Reply<IngestReport>),
    /// A poll: recorded with the document, answered with what was recorded.
    Poll(Box<FetchedPoll>, Reply<Recorded>),
}

impl Queued {
    fn poll(&self) -> Option<&FetchedPoll> {
        match &self.from {
            From::Poll(poll, _) => Some(poll),
            From::Ingest(_) => None,
        }
    }
}

/// Stores a batch of document commands in one transaction and answers
/// each: an ingest with its report, a poll with what was recorded (a
/// document that failed to store is recorded as a failed poll).
fn store_batch(writer: &mut Writer, batch: Vec<Command>) {
    let mut queued = Vec::with_capacity(batch.len());
    for cmd in batch {
        match cmd {
            Command::Ingest { feed, reply } => queued.push(Queued {
                feed,
                from: From::Ingest(reply),
            }),
            Command::Poll { poll, reply } => {
                let Poll {
                    subscription: id,
                    checked_at,
                    policy,
                    record,
                } = *poll;
                let PollRecord::Modified {
                    feed,
                    validators,
                    hints,
                    moved_to,
                } = record
                else {
                    // `gather` takes only polls that fetched a document.
                    let poll = Poll {
                        subscription: id,
                        checked_at,
                        policy,
                        record,
                    };
                    let _ = reply.send(writer.record_poll(poll));
                    continue;
                };
                match writer.poll_target(id) {
                    Ok(Some(cur)) => {
                        let poll = FetchedPoll {
                            id,
                            cur,
                            checked_at,
                            policy,
                            validators,
                            hints,
                            moved_to,
                        };
                        queued.push(Queued {
                            feed,
                            from: From::Poll(Box::new(poll), reply),
                        });
                    }
                    // Removed (or gone) while the fetch was under way.
                    Ok(None) => {
                        let _ = reply.send(Ok(Recorded::Unsubscribed));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            other => handle(writer, other),
        }
    }
    if queued.is_empty() {
        return;
    }
    // A daemon batch is dated by its latest check; an ingest by the clock.
    let now = queued
        .iter()
        .filter_map(|q| q.poll().map(|p| p.checked_at))
        .max()
        .unwrap_or_else(Utc::now);
    let docs: Vec<Document<'_>> = queued
        .iter()
        .map(|q| Document {
            feed: &q.feed,
            poll: q.poll(),
        })
        .collect();
    let results = writer.store_documents(&docs, now);
    drop(docs);
    for (q, result) in queued.into_iter().zip(results) {
        match q.from {
            From::Ingest(reply) => {
                let _ = reply.send(result);
            }
            From::Poll(poll, reply) => {
                let recorded = match result {
                    Ok(report) => writer.recorded_stored(poll.id, report),
                    Err(e) => writer.record_store_failure(&poll, &e),
                };
                let _ = reply.send(recorded);
            }
        }
    }
}
