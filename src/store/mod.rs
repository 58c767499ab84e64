//! Stage 4 of the pipeline: the SQLite store.
//!
//! One thread, started by [`Store::open`], owns the only write connection
//! and the detector's candidate index: `actor` runs the loop,
//! [`writer`] holds every statement that writes, [`window`] keeps the
//! index in step with the stored entries. Beside it, `checkpointer` runs a
//! thread with a connection of its own that copies the WAL back into the
//! database file after commits (at most once a second), off the writer's
//! path. Async code talks to it through
//! the [`Store`] handle (a bounded channel of commands, each answered on
//! its own oneshot channel) and never touches SQLite itself. Each feed
//! document is grouped and written in one transaction, so a reader (WAL
//! mode) sees all of a document's entries or none. Read-only connections
//! for queries come from [`open_reader`] and the functions of [`queries`]
//! and [`subscriptions::statuses`].
//!
//! Crash safety rests on that transaction: a kill at any moment leaves a
//! document (with its poll record) stored whole or not at all. A reader's
//! long transaction never blocks the writer, nor the checkpointer; the
//! WAL comes back to [`WAL_SIZE_LIMIT`] once no reader holds an old
//! snapshot and ingestion pauses. A read-only
//! database is refused at open ([`StoreError::ReadOnly`]); a full disk
//! fails the transaction, which rolls back, and the caller retries.

mod actor;
mod checkpointer;
pub mod queries;
pub mod schema;
mod stored_features;
pub mod subscriptions;
pub mod window;
pub mod writer;

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use self::actor::Command;
use self::subscriptions::{Added, Origin, Poll, Recorded, Subscription, Synced};
use self::writer::{
    ArticleJob, ArticleOutcome, ArticlesReport, FullTextSettings, PruneReport, RegroupReport,
};
use crate::detector::Settings;
use crate::model::{FeedSpec, IngestReport, NormalizedFeed};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused an operation. Its message is SQLite's (rusqlite's
    /// error would add SQLite's generic text for the code as a cause).
    #[error("{}", sqlite_message(.0))]
    Sqlite(rusqlite::Error),
    /// The database could not be opened.
    #[error("cannot open database {path}: {}", sqlite_message(.sqlite))]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said (its message is this error's: not a `source`).
        sqlite: rusqlite::Error,
    },
    /// There is no database file at the path given.
    #[error("no feedfold store at {path} yet: `feedfold ingest FILE|URL` or `feedfold run` creates one (or pass --db PATH)")]
    Missing {
        /// The path looked at.
        path: PathBuf,
    },
    /// A new database file could not be created.
    #[error("cannot create database {path}")]
    Create {
        /// The database file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database file (or its directory, where SQLite keeps the WAL)
    /// cannot be written.
    #[error("cannot open database {path} for writing: it is read-only (the file, its directory or the file system)")]
    ReadOnly {
        /// The database file.
        path: PathBuf,
    },
    /// The database was written by a newer feedfold.
    #[error("{path} has schema version {found}, newer than this feedfold supports ({supported}): use a newer feedfold")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The store's version.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The database is not a feedfold store (or predates migrations).
    #[error("{path} is not a feedfold database (schema version 0); run an ingest to create one")]
    NotAStore {
        /// The database file.
        path: PathBuf,
    },
    /// The writer thread has stopped.
    #[error("the store's writer thread has stopped")]
    WriterGone,
    /// A full-text query SQLite cannot parse.
    #[error("invalid search query {query:?}: {message} (FTS5 syntax: words, \"a phrase\", AND, OR, NOT, a NEAR b, NEAR(a b, 10), prefix*, title:word)")]
    BadQuery {
        /// The query as given.
        query: String,
        /// What SQLite said.
        message: String,
    },
    /// The store predates an object this command needs.
    #[error("{what} needs schema version {supported} but the store has version {found}; upgrade it with `feedfold migrate` (or any ingest)")]
    Outdated {
        /// What is missing ("full-text search").
        what: &'static str,
        /// The store's version.
        found: i64,
        /// The version this build writes.
        supported: i64,
    },
    /// The transaction that held this document together with others failed
    /// as a whole (see the first document's error).
    #[error("storing failed with the rest of its batch: {0}")]
    BatchFailed(String),
    /// A request the writer cannot serve (a bug, not bad input).
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// A story or entry that was asked for does not exist.
    #[error("no {what} with id {id}")]
    NotFound {
        /// "story" or "entry".
        what: &'static str,
        /// The id asked for.
        id: i64,
    },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

/// What SQLite said, once: the message of a failure if it has one, else
/// the text of its code.
fn sqlite_message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(message)) => message.clone(),
        other => other.to_string(),
    }
}

impl StoreError {
    /// The same error for another document of a batch that failed as a
    /// whole: SQLite's error as it was, anything else as its message.
    pub fn duplicate(&self) -> StoreError {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, message)) => {
                StoreError::Sqlite(rusqlite::Error::SqliteFailure(*code, message.clone()))
            }
            StoreError::WriterGone => StoreError::WriterGone,
            other => StoreError::BatchFailed(crate::telemetry::chain(other)),
        }
    }
}

/// The size (bytes) SQLite truncates the WAL to when it restarts it
/// (`PRAGMA journal_size_limit`), and, when the WAL checkpointer could not
/// start, the WAL size past which the writer checkpoints and truncates it
/// after a document (see `Writer::truncate_wal_if_large`).
pub const WAL_SIZE_LIMIT: i64 = 4 * 1024 * 1024;

/// The writer connection's page cache (`PRAGMA cache_size`), in KiB
/// (negative, as the pragma takes a size in KiB). The default 2 MiB spills
/// a batch's pages to the WAL before its commit. 8 MiB was as fast as
/// 16 MiB in the `ingest` and `growth` benches (up to 1M stored entries),
/// and the cache stays resident in a daemon that has filled it once.
const WRITER_CACHE_KIB: i64 = -8 * 1024;

/// How long a connection waits for a lock held by another one.
pub(crate) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Applies the connection settings every feedfold connection uses.
fn configure(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Opens (creating if needed) the database for writing: WAL mode,
/// `synchronous=NORMAL`, foreign keys on, migrations applied.
pub fn open_writer_connection(path: &Path) -> Result<Connection, StoreError> {
    create_private(path).map_err(|source| StoreError::Create {
        path: path.to_path_buf(),
        source,
    })?;
    let opened = Connection::open(path).and_then(|conn| {
        // SQLite falls back to read-only when the file cannot be written.
        let read_only = conn.is_readonly(rusqlite::MAIN_DB)?;
        Ok((conn, read_only))
    });
    let mut conn = match opened {
        Ok((_, true)) => {
            return Err(StoreError::ReadOnly {
                path: path.to_path_buf(),
            })
        }
        Ok((conn, false)) => conn,
        Err(source) => {
            return Err(StoreError::Open {
                path: path.to_path_buf(),
                sqlite: source,
            })
        }
    };
    // Setting up touches the file (and creates the WAL next to it): an error
    // here is still an error opening this database.
    setup_writer(&mut conn).map_err(|e| match e {
        StoreError::Sqlite(source) => StoreError::Open {
            path: path.to_path_buf(),
            sqlite: source,
        },
        other => other,
    })?;
    Ok(conn)
}

/// Creates a new store's file readable and writable by its owner only
/// (0600, whatever the umask): a store holds feed URLs, which may carry
/// credentials. SQLite gives the WAL and shared-memory files the database
/// file's permissions. An existing file is left as it is.
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn setup_writer(conn: &mut Connection) -> Result<(), StoreError> {
    let path = conn.path().unwrap_or_default().to_string();
    configure(conn)?;
    // A new store returns the pages that `prune` frees with `PRAGMA
    // incremental_vacuum`; this can only be chosen before the first table.
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    if tables == 0 {
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    }
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path, mode, "could not switch the database to WAL mode");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A document's savepoint keeps the pages it changes in a sub-journal,
    // which SQLite otherwise spills to a temporary file past 64 KiB: in
    // memory it is a copy instead of a write. (`VACUUM` sets it back to a
    // file while it runs: its temporary copy is the size of the store.)
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // A batch changes more pages than the default 2 MiB cache holds, which
    // then spills them to the WAL before the commit and reads them back.
    conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
    // The checkpointer (or SQLite by itself, every 1000 pages) checkpoints
    // the WAL, but a reader holding an old snapshot keeps it from
    // restarting the WAL, which then grows; once the reader lets go, the
    // WAL restarts at the next write and this limit truncates the file back
    // (it never shrinks otherwise).
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    schema::migrate(conn)?;
    // Only speed depends on it: a store whose samples cannot be dropped
    // now (another writer holds the lock) opens all the same.
    if let Err(e) = forget_value_samples(conn) {
        tracing::warn!(path, error = %e, "cannot empty sqlite_stat4; statements may be prepared again");
    }
    Ok(())
}

/// Empties `sqlite_stat4`, the per-value samples `ANALYZE` (which `PRAGMA
/// optimize` runs when the writer closes) keeps beside the per-index
/// figures of `sqlite_stat1`, and has the connection read its statistics
/// again. With samples, SQLite prepares a statement again each time a value
/// bound to a column with an index changes (the plan might depend on the
/// value): the writer, which runs the same statements for every entry with
/// other ids, spent 5% of the process preparing them again (the growth
/// bench's 10k store), and ran ~9% slower. Its
/// statements look rows up by id and key, for which `sqlite_stat1` picks
/// the same indexes. The writer calls it at open and after `PRAGMA
/// optimize`.
pub(crate) fn forget_value_samples(conn: &Connection) -> Result<(), rusqlite::Error> {
    let samples: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE name = 'sqlite_stat4'",
        [],
        |r| r.get(0),
    )?;
    if samples && conn.execute("DELETE FROM sqlite_stat4", [])? > 0 {
        conn.execute_batch("ANALYZE sqlite_schema")?;
    }
    Ok(())
}

/// Opens a connection to the existing database at `path`, read-only or
/// read-write (never creating it), without a mutex of its own: each
/// connection stays on one thread.
pub(crate) fn open_existing(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let access = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    };
    Connection::open_with_flags(
        path,
        access | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|sqlite| StoreError::Open {
        path: path.to_path_buf(),
        sqlite,
    })
}

/// Opens the database read-only for queries. Refuses a file that is not a
/// feedfold store of a version this build can read.
pub fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing {
            path: path.to_path_buf(),
        });
    }
    let conn = open_existing(path, true)?;
    configure(&conn)?;
    let version = schema::version(&conn).map_err(|e| match e {
        StoreError::Sqlite(source) => StoreError::Open {
            path: path.to_path_buf(),
            sqlite: source,
        },
        other => other,
    })?;
    if version == 0 {
        return Err(StoreError::NotAStore {
            path: path.to_path_buf(),
        });
    }
    if version > schema::latest_version() {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            supported: schema::latest_version(),
        });
    }
    Ok(conn)
}

/// The `[retention]` table: how long entries are kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Keep entries this many days after their date and after a feed last
    /// carried them; `None` (the default) keeps them forever.
    pub keep_days: Option<u32>,
}

impl RetentionConfig {
    /// The cutoff as of `now`: entries dated and last seen before it go.
    pub fn cutoff(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.keep_days
            .map(|d| now - chrono::Duration::days(i64::from(d)))
    }
}

/// The result of a document queued with [`Store::submit`]: await it.
pub struct Pending {
    rx: oneshot::Receiver<Result<IngestReport, StoreError>>,
}

impl std::future::Future for Pending {
    type Output = Result<IngestReport, StoreError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(StoreError::WriterGone)))
    }
}

/// Handle to the single writer thread. Cheap to clone. Every method sends
/// one command and waits for its answer.
#[derive(Clone)]
pub struct Store {
    tx: mpsc::Sender<Command>,
}

/// Owns the writer thread; dropping every [`Store`] and calling
/// [`WriterThread::join`] waits for the last transaction to commit.
pub struct WriterThread {
    handle: JoinHandle<()>,
}

impl WriterThread {
    /// Waits for the writer to finish its queue and close the database.
    pub fn join(self) {
        if self.handle.join().is_err() {
            tracing::error!("the store's writer thread panicked");
        }
    }
}

impl Store {
    /// Opens the database at `path` on a new writer thread and waits until
    /// it is migrated and its grouping window (the candidate index and the
    /// events) is loaded.
    pub fn open(
        path: &Path,
        grouping: impl Into<Settings>,
    ) -> Result<(Store, WriterThread), StoreError> {
        Store::spawn(path, grouping.into(), actor::WindowLoad::AtOpen)
    }

    /// [`Store::open`] for the daemon: returns once the database is
    /// migrated, and the writer loads the candidate index only before the
    /// first command that groups or places entries (a document to store,
    /// `regroup`, `prune`, articles to place again). A poll cycle in which
    /// every feed answers 304 never loads it. A failure to load it is the
    /// error of that command, and the next one tries again.
    pub fn open_deferred(
        path: &Path,
        grouping: impl Into<Settings>,
    ) -> Result<(Store, WriterThread), StoreError> {
        Store::spawn(path, grouping.into(), actor::WindowLoad::OnDemand)
    }

    fn spawn(
        path: &Path,
        grouping: Settings,
        load: actor::WindowLoad,
    ) -> Result<(Store, WriterThread), StoreError> {
        let (tx, handle) = actor::spawn(path.to_path_buf(), grouping, load)?;
        Ok((Store { tx }, WriterThread { handle }))
    }

    /// Sends a command built around its reply channel and waits for the answer.
    async fn ask<T>(&self, make: impl FnOnce(actor::Reply<T>) -> Command) -> Result<T, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Groups and stores one normalized feed document (in one transaction,
    /// which it may share with other documents waiting for the writer).
    pub async fn ingest(&self, feed: NormalizedFeed) -> Result<IngestReport, StoreError> {
        self.submit(feed).await?.await
    }

    /// Queues a document for the writer and returns at once with its
    /// [`Pending`] result, so a caller can queue the next documents while
    /// this one is stored (the writer then stores them together).
    /// Documents are stored in the order they are queued.
    pub async fn submit(&self, feed: NormalizedFeed) -> Result<Pending, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Ingest {
                feed: Box::new(feed),
                reply,
            })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        Ok(Pending { rx })
    }

    /// Records a poll, and stores the document it fetched (in one
    /// transaction with it, shared with the documents waiting beside it).
    pub async fn record_poll(&self, poll: Poll) -> Result<Recorded, StoreError> {
        self.ask(|reply| Command::Poll {
            poll: Box::new(poll),
            reply,
        })
        .await
    }

    /// Recomputes every story from the stored entries, in one transaction.
    pub async fn regroup(&self) -> Result<RegroupReport, StoreError> {
        self.regroup_with_progress(|_, _| {}).await
    }

    /// [`Store::regroup`], calling `progress(done, total)` (on the writer
    /// thread) as entries are re-placed.
    pub async fn regroup_with_progress(
        &self,
        progress: impl FnMut(usize, usize) + Send + 'static,
    ) -> Result<RegroupReport, StoreError> {
        self.ask(|reply| Command::Regroup {
            progress: Box::new(progress),
            reply,
        })
        .await
    }

    /// Removes the entries dated before `before` that no feed has carried
    /// since, their full-text rows and the stories left empty, in one
    /// transaction (see [`writer::Writer::prune`]); `vacuum` then rewrites
    /// the file to its smallest size.
    pub async fn prune(
        &self,
        before: DateTime<Utc>,
        vacuum: bool,
    ) -> Result<PruneReport, StoreError> {
        self.ask(|reply| Command::Prune {
            before,
            vacuum,
            reply,
        })
        .await
    }

    /// Applies the `[retention]` setting as of `now`: prunes what is older
    /// than `keep_days`, or does nothing (`None`) when entries are kept
    /// forever. The daemon calls this periodically.
    pub async fn prune_expired(
        &self,
        retention: &RetentionConfig,
        now: DateTime<Utc>,
    ) -> Result<Option<PruneReport>, StoreError> {
        match retention.cutoff(now) {
            Some(before) => self.prune(before, false).await.map(Some),
            None => Ok(None),
        }
    }

    /// Makes the config's feeds the `config` subscriptions: adds new ones,
    /// updates names and intervals, removes those the config dropped.
    pub async fn sync_config_feeds(&self, feeds: Vec<FeedSpec>) -> Result<Synced, StoreError> {
        self.ask(|reply| Command::SyncFeeds { feeds, reply }).await
    }

    /// Subscribes to one feed (revives it if it was gone).
    pub async fn add_feed(&self, spec: FeedSpec, origin: Origin) -> Result<Added, StoreError> {
        self.ask(|reply| Command::AddFeed {
            spec,
            origin,
            reply,
        })
        .await
    }

    /// Unsubscribes the feed with this URL (polled or configured). The
    /// entries already stored stay.
    pub async fn remove_feed(&self, url: String) -> Result<bool, StoreError> {
        self.ask(|reply| Command::RemoveFeed { url, reply }).await
    }

    /// Every subscription to poll.
    pub async fn active_feeds(&self) -> Result<Vec<Subscription>, StoreError> {
        self.ask(|reply| Command::ActiveFeeds { reply }).await
    }

    /// Sets what the writer does about full text: which documents queue
    /// article fetches, and `[full_text]`'s limits.
    pub async fn set_full_text(&self, settings: FullTextSettings) -> Result<(), StoreError> {
        self.ask(|reply| Command::SetFullText {
            settings: Box::new(settings),
            reply,
        })
        .await
    }

    /// Hands out at most `limit` article fetches due at `now`, each marked
    /// as under way (see [`writer::Writer::claim_articles`]).
    pub async fn claim_articles(
        &self,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<ArticleJob>, StoreError> {
        self.ask(|reply| Command::ClaimArticles { limit, now, reply })
            .await
    }

    /// Records what came of article fetches and places the entries that
    /// got their article's text again, in one transaction (see
    /// [`writer::Writer::store_articles`]).
    pub async fn store_articles(
        &self,
        outcomes: Vec<ArticleOutcome>,
        now: DateTime<Utc>,
    ) -> Result<ArticlesReport, StoreError> {
        self.ask(|reply| Command::StoreArticles {
            outcomes,
            now,
            reply,
        })
        .await
    }

    /// A round trip through the writer: proves it is alive and not stuck.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.ask(|reply| Command::Ping { reply }).await
    }

    /// Has the writer of a store opened with [`Store::open_deferred`] load
    /// its grouping window now (the entries dated within the window before
    /// the newest stored entry, and their events) unless it holds it: what
    /// the first document stored would otherwise wait for. Commands sent
    /// meanwhile wait in the queue.
    pub async fn load_window(&self) -> Result<(), StoreError> {
        self.ask(|reply| Command::LoadWindow { reply }).await
    }
}
