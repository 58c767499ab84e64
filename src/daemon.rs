//! `feedfold run`: the daemon's process concerns around the scheduler.
//!
//! ```text
//!  SIGTERM/SIGINT ─▶ stop (watch) ─────────▶ scheduler::runner::Runner ─▶ pipeline::poll ─▶ store
//!  SIGHUP ─▶ reload ─▶ Control (mpsc) ──────▶        (the loop)
//!  watchdog task ── Store::ping ─▶ WATCHDOG=1
//!  retention tick ── Store::prune_expired (hourly)
//! ```
//!
//! This module starts the store and the fetcher, syncs the config's feed
//! list into the subscriptions, hands them to the scheduler's loop and
//! keeps only what a service needs around it: signals, config reload,
//! sd_notify ([`crate::notify`]) with the watchdog, and the retention tick.
//! Per-feed failures end in the store as backoff; they never end the
//! daemon.
//!
//! Shutdown (SIGTERM/SIGINT): `STOPPING=1`, the loop stops starting polls,
//! polls under way get `polling.shutdown_grace` to finish, the writer
//! drains its queue and closes the database, and the process exits 0.
//! SIGHUP re-reads the config file and applies its feed list and
//! `[polling]` table; other changes need a restart.

use std::path::PathBuf;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::fetcher::{FetchError, Fetcher, HttpFetcher};
use crate::notify::{self, Notifier};
use crate::scheduler::articles;
use crate::scheduler::runner::{Control, CycleReport, Mode, Runner, SchedulerError};
use crate::server::{Running, ServerError};
use crate::store::subscriptions::Synced;
use crate::store::writer::FullTextSettings;
use crate::store::{Store, StoreError, WriterThread};
use crate::telemetry::chain;

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
    Fetch(#[from] FetchError),
    /// The scheduler's loop stopped by itself.
    #[error(transparent)]
    Scheduler(#[from] SchedulerError),
    /// The HTTP server (`[server]`) could not start.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers")]
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

fn install(kind: SignalKind) -> Result<tokio::signal::unix::Signal, DaemonError> {
    signal(kind).map_err(DaemonError::Signal)
}

/// The store opened on its writer thread, the fetcher, and the
/// subscriptions synced with the config's feed list.
struct Started {
    store: Store,
    writer: WriterThread,
    fetcher: Fetcher,
    /// The client for article pages: the same `[http]` rules, its own
    /// permits.
    articles: HttpFetcher,
    synced: Synced,
}

async fn start(config: &Config, options: &DaemonOptions) -> Result<Started, DaemonError> {
    let (database, grouping) = (options.database.clone(), config.settings());
    // The grouping window is loaded at the first fetched document: a cycle
    // of 304s never needs it.
    let (store, writer) =
        tokio::task::spawn_blocking(move || Store::open_deferred(&database, grouping))
            .await
            .map_err(|_| DaemonError::Task)??;
    let fetcher = Fetcher::new(&config.http)?;
    let articles = HttpFetcher::new(&config.http)?;
    store
        .set_full_text(FullTextSettings {
            config: config.full_text.clone(),
            ingest: None,
            polls: true,
        })
        .await?;
    let synced = store.sync_config_feeds(config.feed_specs()).await?;
    if synced.active.is_empty() {
        tracing::warn!(
            "No feeds to poll: add [[feeds]] to the config or use `feedfold feeds add URL`."
        );
    }
    Ok(Started {
        store,
        writer,
        fetcher,
        articles,
        synced,
    })
}

/// Drops the last handle and waits for the writer to commit and close.
async fn close(store: Store, writer: WriterThread) -> Result<(), DaemonError> {
    drop(store);
    tokio::task::spawn_blocking(move || writer.join())
        .await
        .map_err(|_| DaemonError::Task)
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
        Some(path) => {
            let mut config = Config::load(path).map_err(|e| chain(&e))?;
            config.http.allow_private = running.http.allow_private;
            config
        }
        None => running.clone(),
    };
    if config.http != running.http
        || config.database != running.database
        || config.grouping != running.grouping
        || config.events != running.events
        || config.server != running.server
        || config.full_text != running.full_text
    {
        tracing::warn!("Changes outside [[feeds]] and [polling] take effect after a restart.");
    }
    let synced = store
        .sync_config_feeds(config.feed_specs())
        .await
        .map_err(|e| chain(&e))?;
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

/// `feedfold run --once`: checks every subscribed feed that is due (all of
/// them with `all`) once, through the scheduler's loop ([`Mode::Once`])
/// with the daemon's limits, and returns what happened. Each check records
/// its next check time as usual, so a later `feedfold run` (or `--once`)
/// carries on from there. SIGTERM/SIGINT stop the run (checks under way
/// get `polling.shutdown_grace`).
pub async fn run_once(
    config: Config,
    options: DaemonOptions,
    all: bool,
) -> Result<CycleReport, DaemonError> {
    let mut term = install(SignalKind::terminate())?;
    let mut int = install(SignalKind::interrupt())?;
    let s = start(&config, &options).await?;
    tracing::info!(feeds = s.synced.active.len(), database = %options.database.display(), "Checking every feed once.");
    let (stop_tx, stop_rx) = watch::channel(false);
    let (_control_tx, control_rx) = mpsc::channel(1);
    let runner = Runner::new(
        s.store.clone(),
        s.fetcher.stopping_on(stop_rx.clone()),
        config.polling.clone(),
        s.synced.active,
        Mode::Once { all },
    );
    let mut run = tokio::spawn(runner.run(control_rx, stop_rx));
    let outcome = loop {
        tokio::select! {
            ended = &mut run => break ended,
            _ = term.recv() => { tracing::info!("Signal received; stopping the cycle."); let _ = stop_tx.send(true); }
            _ = int.recv() => { tracing::info!("Signal received; stopping the cycle."); let _ = stop_tx.send(true); }
        }
    };
    let report = outcome.map_err(|_| DaemonError::Task)??;
    // Then the articles the polls queued, unless the run was cut short.
    if !report.interrupted {
        let http = s.articles.clone();
        let fetched = tokio::select! {
            r = crate::fulltext::fetch_queued(&s.store, &http, config.full_text.concurrency) => Some(r),
            _ = term.recv() => None,
            _ = int.recv() => None,
        };
        match fetched {
            Some(Ok(r)) if r.fetched + r.failed + r.retrying > 0 => tracing::info!(
                fetched = r.fetched,
                failed = r.failed,
                retrying = r.retrying,
                placed_again = r.placed_again,
                "Articles fetched."
            ),
            Some(Err(e)) => tracing::error!(error = %chain(&e), "Fetching articles failed."),
            _ => {}
        }
    }
    close(s.store, s.writer).await?;
    Ok(report)
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(config: Config, options: DaemonOptions) -> Result<(), DaemonError> {
    let notifier = Notifier::from_env();
    // Installed first, so a signal during start-up is not lost.
    let mut term = install(SignalKind::terminate())?;
    let mut int = install(SignalKind::interrupt())?;
    let mut hup = install(SignalKind::hangup())?;

    let s = start(&config, &options).await?;
    let server = match Running::start(&config.server, &options.database, &s.store).await {
        Ok(server) => server,
        Err(e) => {
            close(s.store, s.writer).await?;
            return Err(e.into());
        }
    };
    let count = s.synced.active.len();
    let (stop_tx, stop_rx) = watch::channel(false);
    let (control_tx, control_rx) = mpsc::channel(4);
    let runner = Runner::new(
        s.store.clone(),
        s.fetcher.stopping_on(stop_rx.clone()),
        config.polling.clone(),
        s.synced.active,
        Mode::Forever,
    );
    let mut scheduler = tokio::spawn(runner.run(control_rx, stop_rx.clone()));
    let articles = tokio::spawn(articles::run(
        s.store.clone(),
        s.articles.clone().stopping_on(stop_rx.clone()),
        config.full_text.clone(),
        stop_rx,
    ));
    let watchdog = notify::watchdog_interval().map(|every| {
        let (store, notifier) = (s.store.clone(), notifier.clone());
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
    // Retention: prune a minute after start, then hourly (a no-op unless
    // `[retention] keep_days` is set).
    let mut prune_tick = tokio::time::interval_at(
        tokio::time::Instant::now() + std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(3600),
    );
    prune_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ended_by_itself = loop {
        tokio::select! {
            _ = prune_tick.tick() => {
                match s.store.prune_expired(&running.retention, chrono::Utc::now()).await {
                    Ok(Some(r)) if r.entries > 0 => tracing::info!(
                        entries = r.entries, stories_removed = r.stories_removed, before = %r.before,
                        "Pruned entries past the retention period."
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %chain(&e), "Pruning failed; will try again in an hour."),
                }
            }
            // The loop stops by itself only when it cannot go on.
            ended = &mut scheduler => break Some(ended),
            _ = term.recv() => { tracing::info!("SIGTERM received; shutting down."); break None }
            _ = int.recv() => { tracing::info!("SIGINT received; shutting down."); break None }
            _ = hup.recv() => {
                notifier.notify("RELOADING=1");
                if let Err(e) = reload(&options, &mut running, &s.store, &control_tx).await {
                    tracing::error!(error = %e, "Reload failed; keeping the running configuration.");
                }
                notifier.ready("reloaded");
            }
        }
    };
    notifier.stopping();
    let by_signal = ended_by_itself.is_none();
    let ended = match ended_by_itself {
        Some(ended) => ended,
        None => {
            let _ = stop_tx.send(true);
            scheduler.await
        }
    };
    let _ = articles.await;
    if let Some(w) = watchdog {
        w.abort();
    }
    // The server holds a handle to the writer (for /healthz): it stops first.
    if let Some(server) = server {
        server.stop().await;
    }
    close(s.store, s.writer).await?;
    let outcome = match ended {
        Ok(Ok(_)) if by_signal => Ok(()),
        Ok(Ok(_)) => Err(DaemonError::Task),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(DaemonError::Task),
    };
    if outcome.is_ok() {
        tracing::info!("feedfold stopped.");
    }
    outcome
}
