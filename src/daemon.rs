//! `feedfold run`: the polling daemon's wiring.
//!
//! ```text
//!  signals ─▶ run() ── stop (watch) ──▶ Scheduler task ──spawns──▶ poll tasks (one per due feed)
//!  SIGHUP  ─▶ reload ── Control (mpsc) ─▶  DueQueue                 HttpFetcher (global + per-host
//!                                                                    semaphores) → normalize on the
//!  watchdog task ── Store::ping ─▶ WATCHDOG=1                        blocking pool → Store::record_poll
//!                                                                              │ bounded queue
//!                                                                              ▼
//!                                                                    writer thread (SQLite)
//! ```
//!
//! The scheduler owns the timer queue and the in-memory copy of every
//! subscription; each feed is either queued or has exactly one poll task in
//! flight. A poll task fetches, normalizes and hands the result to the
//! writer, which stores the document and the next check time atomically
//! (the documents waiting at the writer share a transaction, a savepoint
//! each) and answers with the subscription's new state. At most twice
//! `http.concurrency` polls are under way between fetch and store
//! (`HttpFetcher::hold`), so a slow writer makes the other due feeds wait
//! before they are fetched instead of piling up fetched documents in
//! memory. Per-feed failures end in the store as backoff; they never end
//! the daemon.
//!
//! Shutdown (SIGTERM/SIGINT): `STOPPING=1`, the scheduler stops starting
//! polls, in-flight polls get `polling.shutdown_grace` to finish (each
//! store write is one transaction, so an abandoned poll leaves nothing
//! half-written), the writer drains its queue and closes the database, and
//! the process exits 0. SIGHUP re-reads the config file and applies its
//! feed list and `[polling]` table; other changes need a restart.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use chrono::Utc;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::config::{Config, ConfigError};
use crate::fetcher::http::{FetchOutcome, HttpFetcher, PollError};
use crate::normalizer::{self, Identity};
use crate::notify::{self, Notifier};
use crate::scheduler::queue::{instant_for, DueQueue};
use crate::scheduler::{self, PollingConfig};
use crate::store::subscriptions::{Poll, PollRecord, Recorded, Subscription, Synced};
use crate::store::{Store, StoreError, WriterThread};

/// Why the daemon could not start, or had to stop without a signal (the
/// store's writer died). Per-feed failures are never daemon errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The store could not be opened or refused a request.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Http(#[from] PollError),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signal(#[source] std::io::Error),
    /// A task of the daemon (the scheduler, or the writer's join) failed.
    #[error("an internal task of the daemon failed")]
    Task,
}

/// Where the daemon's inputs are.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// The config file re-read on SIGHUP (none: nothing to reload).
    pub config_path: Option<PathBuf>,
    /// The SQLite store.
    pub database: PathBuf,
}

/// Polls one feed once: fetch, normalize, record. The one code path the
/// daemon runs for every check; tests call it directly.
pub async fn poll_feed(
    store: &Store,
    http: &HttpFetcher,
    polling: &PollingConfig,
    sub: &Subscription,
) -> Result<Recorded, StoreError> {
    // Held until the result is stored: fetching runs only so far ahead of the writer.
    let _hold = http.hold().await;
    let checked_at = Utc::now();
    let policy = polling.policy(sub.interval, scheduler::seed(sub.id));
    let record = match http.poll(&sub.url, &sub.validators).await {
        Ok(FetchOutcome::Modified {
            doc,
            validators,
            hints,
            moved_to,
        }) => {
            let feed_url = sub.url.clone();
            let normalized = tokio::task::spawn_blocking(move || {
                let identity = Identity {
                    feed_url: Some(&feed_url),
                    fetched_url: doc.fetched_url.as_deref(),
                    path: None,
                };
                normalizer::normalize(&doc, &identity, Utc::now())
            })
            .await;
            match normalized {
                Ok(Ok(feed)) => {
                    for w in &feed.warnings {
                        tracing::debug!(url = %sub.url, warning = %w, "Feed document warning.");
                    }
                    PollRecord::Modified {
                        feed: Box::new(feed),
                        validators,
                        hints,
                        moved_to,
                    }
                }
                Ok(Err(e)) => PollRecord::Failed {
                    error: e.to_string(),
                    status: None,
                    retry_after: None,
                },
                Err(e) => PollRecord::Failed {
                    error: format!("internal error: {e}"),
                    status: None,
                    retry_after: None,
                },
            }
        }
        Ok(FetchOutcome::NotModified {
            etag,
            hints,
            moved_to,
        }) => PollRecord::NotModified {
            etag,
            hints,
            moved_to,
        },
        Ok(FetchOutcome::Gone) => PollRecord::Gone,
        Ok(FetchOutcome::RateLimited {
            status,
            retry_after,
        }) => PollRecord::Failed {
            error: format!("rate limited ({status})"),
            status: Some(status),
            retry_after,
        },
        Err(e) => PollRecord::Failed {
            error: error_chain(&e),
            status: e.status(),
            retry_after: None,
        },
    };
    let failed = match &record {
        PollRecord::Failed { error, .. } => Some(error.clone()),
        _ => None,
    };
    let not_modified = matches!(record, PollRecord::NotModified { .. });
    let recorded = store
        .record_poll(Poll {
            subscription: sub.id,
            checked_at,
            policy,
            record,
        })
        .await?;
    let next = recorded
        .next_check_at
        .map(crate::model::format_time)
        .unwrap_or_else(|| "never".into());
    match (&failed, &recorded.report, &recorded.store_error) {
        (_, _, Some(e)) => tracing::error!(url = %sub.url, error = %e, "Storing a feed failed."),
        (Some(e), _, _) => tracing::warn!(
            url = %sub.url, error = %e, errors = recorded.error_count, next = %next,
            "Feed check failed; retrying later."
        ),
        (None, Some(r), _) if r.new > 0 || r.updated > 0 => tracing::info!(
            url = %sub.url, new = r.new, updated = r.updated, joined = r.joined, next = %next,
            "Feed fetched."
        ),
        (None, Some(_), _) => {
            tracing::debug!(url = %sub.url, next = %next, "Feed fetched, nothing new.")
        }
        (None, None, _) if not_modified => {
            tracing::debug!(url = %sub.url, next = %next, "Feed not modified.")
        }
        (None, None, _) => {}
    }
    Ok(recorded)
}

/// An error and its causes on one line ("request failed: error sending
/// request for url (...): message head is too large"), each cause once:
/// reqwest's own message does not say what went wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !part.is_empty() && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// A change for the running scheduler.
#[derive(Debug)]
pub enum Control {
    /// Poll exactly these subscriptions from now on, with this policy.
    Reload {
        /// The active subscriptions.
        feeds: Vec<Subscription>,
        /// The `[polling]` table.
        polling: PollingConfig,
    },
}

/// What a poll task returns: the feed and what the writer recorded.
type PollDone = (i64, Result<Recorded, StoreError>);

/// Owns the timer queue and the poll tasks.
struct Scheduler {
    store: Store,
    http: HttpFetcher,
    polling: PollingConfig,
    feeds: HashMap<i64, Subscription>,
    queue: DueQueue,
    /// Poll tasks in flight, at most one per feed.
    in_flight: JoinSet<PollDone>,
    polling_now: HashSet<i64>,
    /// Which feed each poll task polls, to reschedule it if the task panics.
    tasks: HashMap<tokio::task::Id, i64>,
    /// Set when the store's writer is gone: polling cannot go on.
    writer_gone: bool,
}

impl Scheduler {
    fn schedule(&mut self, sub: &Subscription) {
        let now = Utc::now();
        let at = sub.next_check_at.unwrap_or_else(|| {
            self.polling
                .policy(sub.interval, scheduler::seed(sub.id))
                .first_check(now)
        });
        self.queue.schedule(sub.id, instant_for(at, now));
    }

    fn set_feeds(&mut self, feeds: Vec<Subscription>) {
        let new: HashMap<i64, Subscription> = feeds.into_iter().map(|s| (s.id, s)).collect();
        for id in self
            .feeds
            .keys()
            .filter(|id| !new.contains_key(id))
            .copied()
            .collect::<Vec<_>>()
        {
            self.queue.remove(id);
        }
        for sub in new.values() {
            if !self.queue.contains(sub.id) && !self.polling_now.contains(&sub.id) {
                self.schedule(sub);
            }
        }
        self.feeds = new;
    }

    fn start(&mut self, id: i64) {
        let Some(sub) = self.feeds.get(&id).cloned() else {
            return;
        };
        let (store, http, polling) = (self.store.clone(), self.http.clone(), self.polling.clone());
        self.polling_now.insert(id);
        let handle = self
            .in_flight
            .spawn(async move { (id, poll_feed(&store, &http, &polling, &sub).await) });
        self.tasks.insert(handle.id(), id);
    }

    fn retry_later(&mut self, id: i64) {
        if self.feeds.contains_key(&id) {
            let now = Utc::now();
            let at =
                now + chrono::Duration::from_std(self.polling.min_interval.0).unwrap_or_default();
            self.queue.schedule(id, instant_for(at, now));
        }
    }

    fn finished(&mut self, done: Result<(tokio::task::Id, PollDone), tokio::task::JoinError>) {
        let (id, result) = match done {
            Ok((task, d)) => {
                self.tasks.remove(&task);
                d
            }
            Err(e) => {
                tracing::error!(error = %e, "A poll task failed; retrying its feed after min_interval.");
                if let Some(id) = self.tasks.remove(&e.id()) {
                    self.polling_now.remove(&id);
                    self.retry_later(id);
                }
                return;
            }
        };
        self.polling_now.remove(&id);
        match result {
            Ok(recorded) => match (recorded.subscription, self.feeds.contains_key(&id)) {
                (Some(sub), true) => {
                    self.schedule(&sub);
                    self.feeds.insert(id, sub);
                }
                _ => {
                    self.feeds.remove(&id);
                }
            },
            Err(StoreError::WriterGone) => {
                tracing::error!("The store's writer thread has stopped; the daemon stops.");
                self.writer_gone = true;
            }
            Err(e) => {
                tracing::error!(error = %e, "Recording a poll failed; retrying the feed after min_interval.");
                self.retry_later(id);
            }
        }
    }

    /// Polls until `stop` changes (or the writer is gone, an error).
    async fn run(
        mut self,
        mut control: mpsc::Receiver<Control>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), DaemonError> {
        while !self.writer_gone {
            tokio::select! {
                _ = stop.changed() => break,
                Some(c) = control.recv() => match c {
                    Control::Reload { feeds, polling } => {
                        self.polling = polling;
                        self.set_feeds(feeds);
                        tracing::info!(feeds = self.feeds.len(), "Feed list reloaded.");
                    }
                },
                Some(done) = self.in_flight.join_next_with_id(), if !self.in_flight.is_empty() => self.finished(done),
                id = self.queue.next_due() => self.start(id),
            }
        }
        let grace = self.polling.shutdown_grace.0;
        if !self.in_flight.is_empty() {
            tracing::info!(
                in_flight = self.in_flight.len(),
                ?grace,
                "Waiting for in-flight polls to finish."
            );
        }
        let drained = tokio::time::timeout(grace, async {
            while let Some(done) = self.in_flight.join_next_with_id().await {
                self.finished(done);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                abandoned = self.in_flight.len(),
                "Shutdown grace over; abandoning in-flight polls."
            );
            self.in_flight.shutdown().await;
        }
        if self.writer_gone {
            return Err(DaemonError::Store(StoreError::WriterGone));
        }
        Ok(())
    }
}

fn install(kind: SignalKind) -> Result<tokio::signal::unix::Signal, DaemonError> {
    signal(kind).map_err(DaemonError::Signal)
}

/// Re-reads the config file and the store's subscriptions and applies the
/// feed list and the `[polling]` table.
async fn reload(
    options: &DaemonOptions,
    running: &mut Config,
    store: &Store,
    control: &mpsc::Sender<Control>,
) -> Result<(), String> {
    // Without a config file, a reload still picks up `feedfold feeds add`.
    let config = match &options.config_path {
        Some(path) => Config::load(path).map_err(|e: ConfigError| e.to_string())?,
        None => running.clone(),
    };
    if config.http != running.http
        || config.database != running.database
        || config.grouping != running.grouping
    {
        tracing::warn!("Changes outside [[feeds]] and [polling] take effect after a restart.");
    }
    let synced = store
        .sync_config_feeds(config.feed_specs())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(
        added = synced.added,
        removed = synced.removed,
        "Config reloaded."
    );
    control
        .send(Control::Reload {
            feeds: synced.active,
            polling: config.polling.clone(),
        })
        .await
        .map_err(|_| "the scheduler has stopped".to_string())?;
    *running = config;
    Ok(())
}

/// What one `feedfold run --once` cycle did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CycleReport {
    /// Subscribed feeds checked.
    pub feeds: usize,
    /// Feeds that answered with a document (200) that was stored.
    pub modified: usize,
    /// Feeds that answered 304 Not Modified.
    pub not_modified: usize,
    /// Feeds whose check failed (network, status, parse or store error).
    pub failed: usize,
    /// Feeds that answered 410 Gone (no longer polled).
    pub gone: usize,
    /// New entries stored.
    pub new_entries: usize,
    /// Stored entries that changed.
    pub updated_entries: usize,
    /// New entries that joined an existing story.
    pub joined: usize,
    /// Whether SIGTERM/SIGINT cut the cycle short (the checks not finished
    /// within `polling.shutdown_grace` were abandoned).
    pub interrupted: bool,
}

impl CycleReport {
    fn add(&mut self, recorded: &Recorded) {
        match (&recorded.report, &recorded.store_error) {
            (_, Some(_)) => self.failed += 1,
            (Some(r), None) => {
                self.modified += 1;
                self.new_entries += r.new;
                self.updated_entries += r.updated;
                self.joined += r.joined;
            }
            // Failures always count an error; 410 and a feed removed
            // meanwhile leave no next check; what is left is a 304.
            (None, None) if recorded.error_count > 0 => self.failed += 1,
            (None, None) if recorded.next_check_at.is_none() => self.gone += 1,
            (None, None) => self.not_modified += 1,
        }
    }
}

impl std::fmt::Display for CycleReport {
    /// The one-line summary `feedfold run --once` prints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "checked {} feeds: {} modified (200), {} not modified (304), {} failed, {} gone; \
             {} new entries ({} joined a story), {} updated",
            self.feeds,
            self.modified,
            self.not_modified,
            self.failed,
            self.gone,
            self.new_entries,
            self.joined,
            self.updated_entries
        )?;
        if self.interrupted {
            write!(f, "; interrupted")?;
        }
        Ok(())
    }
}

/// `feedfold run --once`: checks every subscribed feed once, now, whatever
/// its schedule, through the same fetch, normalize and store path as the
/// daemon ([`poll_feed`]) and the same concurrency limits (`http.concurrency`,
/// `http.per_host`), waits for all of them and returns what happened. Each
/// check records its next check time as usual, so a later `feedfold run`
/// carries on from there. SIGTERM/SIGINT stop the cycle: checks in flight
/// get `polling.shutdown_grace`, the rest are abandoned (each store write is
/// one transaction, so nothing is left half-written).
pub async fn run_once(config: Config, options: DaemonOptions) -> Result<CycleReport, DaemonError> {
    let mut term = install(SignalKind::terminate())?;
    let mut int = install(SignalKind::interrupt())?;
    let (store, writer, http, synced) = start(&config, &options).await?;
    let mut report = CycleReport {
        feeds: synced.active.len(),
        ..CycleReport::default()
    };
    if synced.active.is_empty() {
        tracing::warn!(
            "No feeds to poll: add [[feeds]] to the config or use `feedfold feeds add URL`."
        );
    }
    tracing::info!(feeds = report.feeds, database = %options.database.display(), "Checking every feed once.");
    let mut checks = JoinSet::new();
    for sub in synced.active {
        let (store, http, polling) = (store.clone(), http.clone(), config.polling.clone());
        checks.spawn(async move { poll_feed(&store, &http, &polling, &sub).await });
    }
    let mut outcome = Ok(());
    let mut stopping = false;
    while !checks.is_empty() {
        let done = tokio::select! {
            d = checks.join_next() => d,
            _ = term.recv(), if !stopping => { stopping = true; None }
            _ = int.recv(), if !stopping => { stopping = true; None }
        };
        if stopping && done.is_none() {
            tracing::info!(
                in_flight = checks.len(),
                "Signal received; stopping the cycle."
            );
            report.interrupted = true;
            let grace = config.polling.shutdown_grace.0;
            let drained = tokio::time::timeout(grace, async {
                while let Some(done) = checks.join_next().await {
                    if let Ok(Ok(recorded)) = done {
                        report.add(&recorded);
                    }
                }
            })
            .await;
            if drained.is_err() {
                checks.shutdown().await;
            }
            break;
        }
        match done {
            Some(Ok(Ok(recorded))) => report.add(&recorded),
            Some(Ok(Err(StoreError::WriterGone))) => {
                tracing::error!("The store's writer thread has stopped.");
                outcome = Err(DaemonError::Store(StoreError::WriterGone));
                checks.shutdown().await;
            }
            Some(Ok(Err(e))) => {
                tracing::error!(error = %e, "Recording a poll failed.");
                report.failed += 1;
            }
            Some(Err(e)) => {
                tracing::error!(error = %e, "A poll task failed.");
                report.failed += 1;
            }
            None => {}
        }
    }
    drop(store);
    tokio::task::spawn_blocking(move || writer.join())
        .await
        .map_err(|_| DaemonError::Task)?;
    outcome.map(|()| report)
}

/// What [`run`] and [`run_once`] start from: the store opened on its writer
/// thread, the HTTP poller, and the subscriptions synced with the config's
/// feed list.
async fn start(
    config: &Config,
    options: &DaemonOptions,
) -> Result<(Store, WriterThread, HttpFetcher, Synced), DaemonError> {
    let (database, grouping) = (options.database.clone(), config.grouping.clone());
    let (store, writer) = tokio::task::spawn_blocking(move || Store::open(&database, grouping))
        .await
        .map_err(|_| DaemonError::Task)??;
    let http = HttpFetcher::new(&config.http)?;
    let synced = store.sync_config_feeds(config.feed_specs()).await?;
    Ok((store, writer, http, synced))
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(config: Config, options: DaemonOptions) -> Result<(), DaemonError> {
    let notifier = Notifier::from_env();
    // Installed first, so a signal during start-up is not lost.
    let mut term = install(SignalKind::terminate())?;
    let mut int = install(SignalKind::interrupt())?;
    let mut hup = install(SignalKind::hangup())?;

    let (store, writer, http, synced) = start(&config, &options).await?;
    let count = synced.active.len();
    if count == 0 {
        tracing::warn!(
            "No feeds to poll: add [[feeds]] to the config or use `feedfold feeds add URL`."
        );
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let (control_tx, control_rx) = mpsc::channel(4);
    let mut scheduler = Scheduler {
        store: store.clone(),
        http,
        polling: config.polling.clone(),
        feeds: HashMap::new(),
        queue: DueQueue::new(),
        in_flight: JoinSet::new(),
        polling_now: HashSet::new(),
        tasks: HashMap::new(),
        writer_gone: false,
    };
    scheduler.set_feeds(synced.active);
    let mut scheduler = tokio::spawn(scheduler.run(control_rx, stop_rx));

    let watchdog = notify::watchdog_interval().map(|every| {
        let (store, notifier) = (store.clone(), notifier.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // Pet the watchdog only while the writer answers: a stuck
                // writer lets systemd restart the service.
                match tokio::time::timeout(every, store.ping()).await {
                    Ok(Ok(())) => notifier.watchdog(),
                    _ => tracing::error!("The store's writer did not answer a ping."),
                }
            }
        })
    });

    tracing::info!(feeds = count, database = %options.database.display(), "feedfold is running.");
    notifier.ready(&format!("polling {count} feeds"));
    let mut running = config;
    let mut outcome = Ok(());
    // Retention: prune a minute after start, then hourly (a no-op unless
    // `[retention] keep_days` is set).
    let mut prune_tick = tokio::time::interval_at(
        tokio::time::Instant::now() + std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(3600),
    );
    prune_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = prune_tick.tick() => {
                match store.prune_expired(&running.retention, chrono::Utc::now()).await {
                    Ok(Some(r)) if r.entries > 0 => tracing::info!(
                        entries = r.entries, stories_removed = r.stories_removed, before = %r.before,
                        "Pruned entries past the retention period."
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "Pruning failed; will try again in an hour."),
                }
            }
            ended = &mut scheduler => {
                // The scheduler stops by itself only when it cannot go on.
                outcome = match ended {
                    Ok(Err(e)) => Err(e),
                    _ => Err(DaemonError::Task),
                };
                notifier.stopping();
                break;
            }
            _ = term.recv() => { tracing::info!("SIGTERM received; shutting down."); break }
            _ = int.recv() => { tracing::info!("SIGINT received; shutting down."); break }
            _ = hup.recv() => {
                notifier.notify("RELOADING=1");
                if let Err(e) = reload(&options, &mut running, &store, &control_tx).await {
                    tracing::error!(error = %e, "Reload failed; keeping the running configuration.");
                }
                notifier.ready("reloaded");
            }
        }
    }
    if outcome.is_ok() {
        notifier.stopping();
        let _ = stop_tx.send(true);
        outcome = match scheduler.await {
            Ok(result) => result,
            Err(_) => Err(DaemonError::Task),
        };
    }
    if let Some(w) = watchdog {
        w.abort();
    }
    drop(store);
    tokio::task::spawn_blocking(move || writer.join())
        .await
        .map_err(|_| DaemonError::Task)?;
    if outcome.is_ok() {
        tracing::info!("feedfold stopped.");
    }
    outcome
}
