//! The writer thread: one loop that owns the [`Writer`] and runs the
//! [`Command`]s the [`super::Store`] handle sends, in order.
//!
//! Documents (from `feedfold ingest`, and polls that fetched one) waiting
//! in the queue behind the first are taken together, up to
//! [`BATCH_DOCUMENTS`] documents or [`BATCH_ENTRIES`] entries, and stored
//! in one transaction ([`Writer::store_documents`]). Polls that brought no
//! document (304, 410, failures) waiting together are recorded in one
//! transaction too, up to [`BATCH_RECORDS`] ([`Writer::record_polls`]).
//! Every other command runs alone. Each command answers on its own
//! oneshot channel, after its transaction commits, and a command that
//! wrote signals the WAL checkpointer. The loop ends when every handle is
//! dropped, after the last command, and closes the database (the
//! checkpointer stops with it).
//!
//! The grouping window is loaded when the store opens
//! ([`WindowLoad::AtOpen`]), or, for the daemon, before the first command
//! that groups or places entries ([`WindowLoad::OnDemand`]): a poll cycle
//! in which every feed answers 304 never needs it.

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

/// Most polls without a document recorded in one transaction.
const BATCH_RECORDS: usize = 64;

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

/// When the writer loads the grouping window (the detector's index of
/// the entries new ones may join).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WindowLoad {
    /// Before the store is handed out: opening fails if loading does.
    AtOpen,
    /// Before the first command that needs it ([`Command::needs_window`]).
    /// If loading fails, that command is answered with the error and the
    /// next one that needs the window tries again.
    OnDemand,
}

/// Which commands run together in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Batched {
    /// A document to store, with its number of entries.
    Document(usize),
    /// A poll that brought no document.
    Record,
}

impl Command {
    /// Whether the command groups or places entries, and so needs the
    /// grouping window loaded.
    fn needs_window(&self) -> bool {
        match self {
            Command::Ingest { .. }
            | Command::Regroup { .. }
            | Command::Prune { .. }
            | Command::StoreArticles { .. }
            | Command::LoadWindow { .. } => true,
            Command::Poll { poll, .. } => matches!(poll.record, PollRecord::Modified { .. }),
            Command::SyncFeeds { .. }
            | Command::AddFeed { .. }
            | Command::RemoveFeed { .. }
            | Command::ActiveFeeds { .. }
            | Command::Ping { .. }
            | Command::SetFullText { .. }
            | Command::ClaimArticles { .. } => false,
        }
    }

    /// Answers the command with `error` instead of running it.
    fn refuse(self, error: &StoreError) {
        fn fail<T>(reply: Reply<T>, error: &StoreError) {
            let _ = reply.send(Err(error.duplicate()));
        }
        match self {
            Command::Ingest { reply, .. } => fail(reply, error),
            Command::Poll { reply, .. } => fail(reply, error),
            Command::Regroup { reply, .. } => fail(reply, error),
            Command::Prune { reply, .. } => fail(reply, error),
            Command::SyncFeeds { reply, .. } => fail(reply, error),
            Command::AddFeed { reply, .. } => fail(reply, error),
            Command::RemoveFeed { reply, .. } => fail(reply, error),
            Command::ActiveFeeds { reply } => fail(reply, error),
            Command::Ping { reply } => fail(reply, error),
            Command::LoadWindow { reply } => fail(reply, error),
            Command::SetFullText { reply, .. } => fail(reply, error),
            Command::ClaimArticles { reply, .. } => fail(reply, error),
            Command::StoreArticles { reply, .. } => fail(reply, error),
        }
    }

    /// Whether the command runs in a batch, and in which kind.
    fn batched(&self) -> Option<Batched> {
        match self {
            Command::Ingest { feed, .. } => Some(Batched::Document(feed.entries.len())),
            Command::Poll { poll, .. } => Some(match &poll.record {
                PollRecord::Modified { feed, .. } => Batched::Document(feed.entries.len()),
                _ => Batched::Record,
            }),
            _ => None,
        }
    }
}

/// Opens the store on a new thread and runs the loop there; returns once
/// the store is migrated and, with [`WindowLoad::AtOpen`], its grouping
/// window loaded (or failed to be).
pub(super) fn spawn(
    path: PathBuf,
    grouping: impl Into<Settings>,
    load: WindowLoad,
) -> Result<(mpsc::Sender<Command>, JoinHandle<()>), StoreError> {
    let (tx, rx) = mpsc::channel::<Command>(QUEUE);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let grouping: Settings = grouping.into();
    let handle = std::thread::Builder::new()
        .name("feedfold-writer".into())
        .spawn(move || {
            let opened = match load {
                WindowLoad::AtOpen => Writer::open(&path, grouping),
                WindowLoad::OnDemand => Writer::open_unloaded(&path, grouping),
            };
            match opened {
                Ok(writer) => {
                    let _ = ready_tx.send(Ok(()));
                    run(writer, rx);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
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

/// The loop: commands in order, documents and poll records in batches,
/// until every sender is gone. The grouping window is loaded before the
/// first command that needs it, unless it is.
fn run(mut writer: Writer, mut rx: mpsc::Receiver<Command>) {
    let mut next = None;
    while let Some(cmd) = next.take().or_else(|| rx.blocking_recv()) {
        crate::metrics::METRICS.writer_queue.set(rx.len() as u64);
        if cmd.needs_window() {
            if let Err(e) = writer.ensure_loaded() {
                tracing::error!(error = %crate::telemetry::chain(&e), "Loading the grouping window failed; will try again at the next document.");
                cmd.refuse(&e);
                continue;
            }
        }
        // A batch holds commands of the first one's kind: all need the
        // window, or none does.
        match cmd.batched() {
            Some(kind) => {
                let batch = gather(&mut rx, cmd, kind, &mut next);
                let started = std::time::Instant::now();
                match kind {
                    Batched::Document(_) => store_batch(&mut writer, batch),
                    Batched::Record => record_batch(&mut writer, batch),
                }
                crate::metrics::METRICS
                    .writer_batch_seconds
                    .observe(started.elapsed());
            }
            None => handle(&mut writer, cmd),
        }
        writer.committed();
    }
    writer.close();
}

/// A batch: `first` (of `kind`) and the commands of the same kind queued
/// right behind it, without waiting: documents up to [`BATCH_DOCUMENTS`]
/// and [`BATCH_ENTRIES`], poll records up to [`BATCH_RECORDS`]. The first
/// command of another kind is left in `next`, to run after the batch.
fn gather(
    rx: &mut mpsc::Receiver<Command>,
    first: Command,
    kind: Batched,
    next: &mut Option<Command>,
) -> Vec<Command> {
    let mut batch = vec![first];
    let mut entries = match kind {
        Batched::Document(n) => n,
        Batched::Record => 0,
    };
    loop {
        let room = match kind {
            Batched::Document(_) => batch.len() < BATCH_DOCUMENTS && entries < BATCH_ENTRIES,
            Batched::Record => batch.len() < BATCH_RECORDS,
        };
        if !room {
            break;
        }
        let Ok(cmd) = rx.try_recv() else { break };
        match (kind, cmd.batched()) {
            (Batched::Document(_), Some(Batched::Document(n))) => {
                entries += n;
                batch.push(cmd);
            }
            (Batched::Record, Some(Batched::Record)) => batch.push(cmd),
            _ => {
                *next = Some(cmd);
                break;
            }
        }
    }
    batch
}

/// Records a batch of polls that brought no document in one transaction
/// and answers each with what was recorded.
fn record_batch(writer: &mut Writer, batch: Vec<Command>) {
    let mut polls = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    for cmd in batch {
        match cmd {
            Command::Poll { poll, reply } => {
                polls.push(*poll);
                replies.push(reply);
            }
            // `gather` takes only poll records into such a batch.
            other => handle(writer, other),
        }
    }
    for (reply, result) in replies.into_iter().zip(writer.record_polls(polls)) {
        let _ = reply.send(result);
    }
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
            // (Loaded before the command ran: see `run`.)
            let _ = reply.send(Ok(()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Hints;
    use crate::scheduler::policy::PollingConfig;

    fn poll(record: PollRecord) -> (Command, oneshot::Receiver<Result<Recorded, StoreError>>) {
        let (reply, rx) = oneshot::channel();
        let poll = Poll {
            subscription: 1,
            checked_at: Utc::now(),
            policy: PollingConfig::default().policy(None, 1),
            record,
        };
        (
            Command::Poll {
                poll: Box::new(poll),
                reply,
            },
            rx,
        )
    }

    fn not_modified() -> PollRecord {
        PollRecord::NotModified {
            etag: None,
            hints: Hints::default(),
            moved_to: None,
        }
    }

    #[test]
    fn only_commands_that_group_or_place_entries_need_the_window() {
        let (cmd, _rx) = poll(not_modified());
        assert!(!cmd.needs_window());
        assert_eq!(cmd.batched(), Some(Batched::Record));
        let (cmd, _rx) = poll(PollRecord::Gone);
        assert!(!cmd.needs_window());
        let (reply, _rx) = oneshot::channel();
        assert!(!Command::Ping { reply }.needs_window());
        let (reply, _rx) = oneshot::channel();
        let prune = Command::Prune {
            before: Utc::now(),
            vacuum: false,
            reply,
        };
        assert!(prune.needs_window());
    }

    #[test]
    fn poll_records_are_batched_apart_from_other_commands() {
        let (tx, mut rx) = mpsc::channel::<Command>(QUEUE);
        let mut answers = Vec::new();
        for _ in 0..3 {
            let (cmd, answer) = poll(not_modified());
            answers.push(answer);
            assert!(tx.try_send(cmd).is_ok());
        }
        let (reply, _ping) = oneshot::channel();
        assert!(tx.try_send(Command::Ping { reply }).is_ok());
        let (cmd, _last) = poll(not_modified());
        assert!(tx.try_send(cmd).is_ok());
        let (first, _first) = poll(not_modified());
        let mut next = None;
        let batch = gather(&mut rx, first, Batched::Record, &mut next);
        assert_eq!(batch.len(), 4, "the first and the three queued behind it");
        assert!(matches!(next, Some(Command::Ping { .. })), "the ping waits");
        assert!(matches!(rx.try_recv(), Ok(Command::Poll { .. })));
        drop(answers);
    }
}
