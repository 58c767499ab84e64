//! The scheduler's loop: keeps every subscription either queued or with
//! exactly one poll under way, and reschedules it from what the store
//! recorded.
//!
//! ```text
//!  Control::Reload ─▶ Runner ── due feed ──▶ poll task (pipeline::poll) ──▶ Store::record_poll
//!  stop (watch)    ─▶ DueQueue ◀── Recorded (its next check) ────────────────────┘
//! ```
//!
//! In [`Mode::Forever`] (`feedfold run`) each feed is queued for its stored
//! next check and queued again after every poll; the loop ends when `stop`
//! changes or the store's writer is gone. [`Mode::Once`] (`feedfold run
//! --once`) is the same loop primed with every feed due now (a failing or
//! rate-limited feed waits out its backoff; `--now` takes every feed) and
//! never requeuing: it ends when every poll has finished. Either way, on `stop`
//! no new poll starts, the polls under way get `polling.shutdown_grace`,
//! and the rest are abandoned (each store write is one transaction, so an
//! abandoned poll leaves nothing half-written).

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::policy::{seed, PollingConfig};
use super::queue::{instant_for, DueQueue};
use crate::fetcher::Fetcher;
use crate::pipeline;
use crate::store::subscriptions::{Recorded, Subscription};
use crate::store::{Store, StoreError};

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

/// How long the loop runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Poll each feed when it is due, again and again (`feedfold run`).
    Forever,
    /// Poll every feed that is due now (every feed with `all`) once, and
    /// end (`feedfold run --once [--now]`).
    Once {
        /// Poll feeds that are not due too (`--now`).
        all: bool,
    },
}

/// What the polls of a run did (the summary of `feedfold run --once`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CycleReport {
    /// Subscribed feeds checked.
    pub feeds: usize,
    /// Subscribed feeds left alone because their next check has not come
    /// (backoff, `Retry-After`, or simply not due).
    pub not_due: usize,
    /// Feeds that answered with a document (200) that was stored.
    pub modified: usize,
    /// Feeds that answered 304 Not Modified.
    pub not_modified: usize,
    /// Feeds whose check failed (network, status, parse or store error).
    pub failed: usize,
    /// Feeds that answered 410 Gone, or were unsubscribed meanwhile (no
    /// longer polled).
    pub gone: usize,
    /// New entries stored.
    pub new_entries: usize,
    /// Stored entries that changed.
    pub updated_entries: usize,
    /// New entries that joined an existing story.
    pub joined: usize,
    /// Whether SIGTERM/SIGINT cut the run short (the checks not finished
    /// within `polling.shutdown_grace` were abandoned).
    pub interrupted: bool,
}

impl CycleReport {
    fn add(&mut self, recorded: &Recorded) {
        match recorded {
            Recorded::Stored { report, .. } => {
                self.modified += 1;
                self.new_entries += report.new;
                self.updated_entries += report.updated;
                self.joined += report.joined;
            }
            Recorded::NotModified { .. } => self.not_modified += 1,
            Recorded::Failed { .. } => self.failed += 1,
            Recorded::Gone | Recorded::Unsubscribed => self.gone += 1,
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
        if self.not_due > 0 {
            write!(f, "; {} not due yet (--now checks them too)", self.not_due)?;
        }
        if self.interrupted {
            write!(f, "; interrupted")?;
        }
        Ok(())
    }
}

/// Why the loop had to stop without being asked to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchedulerError {
    /// The store's writer thread has stopped: polls cannot be recorded.
    #[error("the store's writer thread has stopped")]
    WriterGone,
}

/// What a poll task returns: the feed and what the writer recorded (none
/// if the poll stopped before its request).
type PollDone = (i64, Result<Option<Recorded>, StoreError>);

/// Owns the timer queue and the poll tasks.
pub struct Runner {
    store: Store,
    fetcher: Fetcher,
    polling: PollingConfig,
    mode: Mode,
    feeds: HashMap<i64, Subscription>,
    queue: DueQueue,
    /// Poll tasks under way, at most one per feed and at most
    /// [`Fetcher::polls_at_once`] in all.
    in_flight: JoinSet<PollDone>,
    /// [`Fetcher::polls_at_once`]: a feed that comes due while that many
    /// polls are under way waits in the queue, not as a task.
    at_once: usize,
    polling_now: HashSet<i64>,
    /// Which feed each poll task polls, to reschedule it if the task panics.
    tasks: HashMap<tokio::task::Id, i64>,
    report: CycleReport,
    /// Set when the store's writer is gone: polling cannot go on.
    writer_gone: bool,
}

impl Runner {
    /// A loop over `feeds`, scheduled by `polling`.
    pub fn new(
        store: Store,
        fetcher: Fetcher,
        polling: PollingConfig,
        feeds: Vec<Subscription>,
        mode: Mode,
    ) -> Runner {
        let now = Utc::now();
        let (feeds, not_due): (Vec<Subscription>, Vec<Subscription>) = match mode {
            Mode::Once { all: false } => feeds
                .into_iter()
                .partition(|s| s.next_check_at.is_none_or(|at| at <= now)),
            _ => (feeds, Vec::new()),
        };
        let at_once = fetcher.polls_at_once();
        let mut runner = Runner {
            store,
            fetcher,
            at_once,
            polling,
            mode,
            feeds: HashMap::new(),
            queue: DueQueue::new(),
            in_flight: JoinSet::new(),
            polling_now: HashSet::new(),
            tasks: HashMap::new(),
            report: CycleReport {
                feeds: feeds.len(),
                not_due: not_due.len(),
                ..CycleReport::default()
            },
            writer_gone: false,
        };
        runner.set_feeds(feeds);
        runner
    }

    fn schedule(&mut self, sub: &Subscription) {
        let now = Utc::now();
        let at = match self.mode {
            Mode::Once { .. } => now,
            Mode::Forever => sub.next_check_at.unwrap_or_else(|| {
                self.polling
                    .policy(sub.interval, seed(sub.id))
                    .first_check(now)
            }),
        };
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
        let (store, fetcher, polling) = (
            self.store.clone(),
            self.fetcher.clone(),
            self.polling.clone(),
        );
        self.polling_now.insert(id);
        if self.in_flight.is_empty() {
            crate::metrics::cycle_started();
        }
        let handle = self
            .in_flight
            .spawn(async move { (id, pipeline::poll(&store, &fetcher, &polling, &sub).await) });
        self.tasks.insert(handle.id(), id);
    }

    fn retry_later(&mut self, id: i64) {
        if self.mode == Mode::Forever && self.feeds.contains_key(&id) {
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
                self.report.failed += 1;
                if let Some(id) = self.tasks.remove(&e.id()) {
                    self.polling_now.remove(&id);
                    self.retry_later(id);
                }
                return;
            }
        };
        self.polling_now.remove(&id);
        if self.in_flight.is_empty() && !self.feed_waiting() {
            crate::metrics::cycle_finished();
        }
        match result {
            // Stopped before its request: nothing happened to the feed.
            Ok(None) => {}
            Ok(Some(recorded)) => {
                self.report.add(&recorded);
                match (recorded.subscription(), self.feeds.contains_key(&id)) {
                    (Some(sub), true) => {
                        if self.mode == Mode::Forever {
                            self.schedule(sub);
                        }
                        self.feeds.insert(id, sub.clone());
                    }
                    _ => {
                        self.feeds.remove(&id);
                    }
                }
            }
            Err(StoreError::WriterGone) => {
                tracing::error!("The store's writer thread has stopped; polling stops.");
                self.writer_gone = true;
            }
            Err(e) => {
                tracing::error!(error = %crate::telemetry::chain(&e), "Recording a poll failed; retrying the feed after min_interval.");
                self.report.failed += 1;
                self.retry_later(id);
            }
        }
    }

    /// Whether a feed is due but waits for room among the polls under way.
    fn feed_waiting(&mut self) -> bool {
        self.queue
            .peek()
            .is_some_and(|(at, _)| at <= tokio::time::Instant::now())
    }

    /// Whether another poll may start: fewer than
    /// [`Fetcher::polls_at_once`] are under way. A poll past that many
    /// would only wait for [`Fetcher::hold`], holding its task (and a copy
    /// of its subscription) meanwhile: 10,000 feeds due at once were
    /// 10,000 tasks.
    fn room(&self) -> bool {
        self.in_flight.len() < self.at_once
    }

    /// Whether a run of [`Mode::Once`] has nothing left to do.
    fn done(&self) -> bool {
        matches!(self.mode, Mode::Once { .. }) && self.queue.is_empty() && self.in_flight.is_empty()
    }

    /// Polls until `stop` changes, or (in [`Mode::Once`]) until every feed
    /// was polled; returns what the polls did.
    pub async fn run(
        mut self,
        mut control: mpsc::Receiver<Control>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<CycleReport, SchedulerError> {
        while !self.writer_gone && !self.done() {
            tokio::select! {
                _ = stop.changed() => {
                    self.report.interrupted = matches!(self.mode, Mode::Once { .. });
                    break;
                }
                Some(c) = control.recv() => match c {
                    Control::Reload { feeds, polling } => {
                        self.polling = polling;
                        self.set_feeds(feeds);
                        tracing::info!(feeds = self.feeds.len(), "Feed list reloaded.");
                    }
                },
                Some(done) = self.in_flight.join_next_with_id(), if !self.in_flight.is_empty() => self.finished(done),
                id = self.queue.next_due(), if !self.queue.is_empty() && self.room() => self.start(id),
            }
        }
        self.drain().await;
        if self.writer_gone {
            return Err(SchedulerError::WriterGone);
        }
        Ok(self.report)
    }

    /// Gives the polls under way `polling.shutdown_grace` to finish, then
    /// abandons the rest.
    async fn drain(&mut self) {
        let grace = self.polling.shutdown_grace.0;
        // Polls still waiting for a permit end at once (the fetcher starts
        // no request once stopping); count those whose request is out.
        tokio::task::yield_now().await;
        let under_way = self.fetcher.requests_under_way();
        if under_way > 0 {
            tracing::info!(
                requests = under_way,
                ?grace,
                "Waiting for the requests under way to finish."
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
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::detector::GroupingConfig;
    use crate::fetcher::http::HttpConfig;
    use crate::model::FeedSpec;
    use crate::store::subscriptions::Origin;

    /// A feed server on 127.0.0.1 that holds every answer until `open`
    /// is set: each poll that reached it waits there.
    fn held_server(open: Arc<(Mutex<bool>, Condvar)>, requests: Arc<AtomicUsize>) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (open, requests) = (open.clone(), requests.clone());
                std::thread::spawn(move || answer(stream, &open, &requests));
            }
        });
        base
    }

    fn answer(
        mut stream: std::net::TcpStream,
        open: &(Mutex<bool>, Condvar),
        requests: &AtomicUsize,
    ) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                return;
            }
            let line = String::from_utf8_lossy(&buf[..n]);
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            requests.fetch_add(1, Ordering::SeqCst);
            let (lock, cvar) = open;
            let mut is_open = lock.lock().expect("gate");
            while !*is_open {
                is_open = cvar.wait(is_open).expect("gate");
            }
            drop(is_open);
            let body = format!(
                "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{path}</title>\
                 <link>http://example.com{path}</link><item><title>Item of {path}</title>\
                 <guid>{path}/1</guid><description>Text of the feed {path}.</description>\
                 </item></channel></rss>"
            );
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            if stream.write_all(head.as_bytes()).is_err()
                || stream.write_all(body.as_bytes()).is_err()
            {
                return;
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn feeds_due_together_wait_in_the_queue_not_as_tasks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, writer) =
            Store::open_deferred(&dir.path().join("t.db"), GroupingConfig::default())
                .expect("store opens");
        let open = Arc::new((Mutex::new(false), Condvar::new()));
        let requests = Arc::new(AtomicUsize::new(0));
        let base = held_server(open.clone(), requests.clone());
        const FEEDS: usize = 40;
        for i in 0..FEEDS {
            store
                .add_feed(FeedSpec::of_url(&format!("{base}/f{i}")), Origin::Cli)
                .await
                .expect("subscribed");
        }
        let feeds = store.active_feeds().await.expect("feeds");
        assert_eq!(feeds.len(), FEEDS);
        let config = HttpConfig {
            concurrency: 2,
            per_host: 2,
            deny_private_addresses: false,
            ..HttpConfig::default()
        };
        let fetcher = Fetcher::new(&config).expect("client");
        let at_once = fetcher.polls_at_once();
        assert_eq!(at_once, 4);
        let runtime = tokio::runtime::Handle::current().metrics();
        let before = runtime.num_alive_tasks();
        let runner = Runner::new(
            store.clone(),
            fetcher,
            PollingConfig::default(),
            feeds,
            Mode::Once { all: true },
        );
        let (_control_tx, control_rx) = mpsc::channel(1);
        let (_stop_tx, stop_rx) = watch::channel(false);
        let run = tokio::spawn(runner.run(control_rx, stop_rx));
        // Every feed is due; the server holds the first requests.
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            while requests.load(Ordering::SeqCst) < 2 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "no request reached the server");
        tokio::time::sleep(Duration::from_millis(200)).await;
        // The runner, its polls, and the HTTP client's connection tasks:
        // not a task per due feed.
        let alive = runtime.num_alive_tasks().saturating_sub(before);
        assert!(
            alive <= 1 + at_once + config.concurrency,
            "{alive} tasks alive with {FEEDS} feeds due"
        );
        assert_eq!(requests.load(Ordering::SeqCst), config.concurrency);
        {
            let (lock, cvar) = &*open;
            *lock.lock().expect("gate") = true;
            cvar.notify_all();
        }
        let report = tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .expect("the cycle ends")
            .expect("no panic")
            .expect("the writer stays");
        assert_eq!(
            (report.feeds, report.modified, report.failed),
            (FEEDS, FEEDS, 0)
        );
        assert_eq!(report.new_entries, FEEDS);
        drop(store);
        writer.join();
    }
}
