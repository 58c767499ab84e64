//! Stage 4 of the pipeline: the SQLite store.
//!
//! One thread, started by [`Store::open`], owns the only write connection
//! and the detector's candidate index ([`writer`]); async code talks to it
//! through a bounded channel and never touches SQLite itself. Each feed
//! document is grouped and written in one transaction, so a reader (WAL
//! mode) sees all of a document's entries or none. Read-only connections
//! for queries come from [`open_reader`] and the functions of [`queries`].
//!
//! Crash safety rests on that transaction: a kill at any moment leaves a
//! document (with its poll record) stored whole or not at all. A reader's
//! long transaction never blocks the writer; the writer keeps the WAL near
//! [`WAL_SIZE_LIMIT`] once no reader holds an old snapshot. A read-only
//! database is refused at open ([`StoreError::ReadOnly`]); a full disk
//! fails the transaction, which rolls back, and the caller retries.

pub mod queries;
pub mod schema;
pub mod subscriptions;
pub mod writer;

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use crate::detector::GroupingConfig;
use crate::model::{IngestReport, NormalizedFeed};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database could not be opened.
    #[error("cannot open database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The database file (or its directory, where SQLite keeps the WAL)
    /// cannot be written.
    #[error("cannot open database {path} for writing: it is read-only (the file, its directory or the file system)")]
    ReadOnly {
        /// The database file.
        path: PathBuf,
    },
    /// The database was written by a newer feedfold.
    #[error("database schema version {found} is newer than this feedfold supports ({supported})")]
    TooNew {
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
    /// A story or entry that was asked for does not exist.
    #[error("no {what} with id {id}")]
    NotFound {
        /// "story" or "entry".
        what: &'static str,
        /// The id asked for.
        id: i64,
    },
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
            other => StoreError::BatchFailed(other.to_string()),
        }
    }
}

/// The WAL size (bytes) past which the writer checkpoints and truncates
/// it after a document (see `Writer::truncate_wal_if_large`), and the size
/// SQLite truncates it to when a checkpoint restarts it
/// (`PRAGMA journal_size_limit`).
pub const WAL_SIZE_LIMIT: i64 = 4 * 1024 * 1024;

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
                source,
            })
        }
    };
    // Setting up touches the file (and creates the WAL next to it): an error
    // here is still an error opening this database.
    setup_writer(&mut conn).map_err(|e| match e {
        StoreError::Sqlite(source) => StoreError::Open {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    })?;
    Ok(conn)
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
    // SQLite checkpoints the WAL by itself (every 1000 pages), but a reader
    // holding an old snapshot keeps it from restarting the WAL, which then
    // grows; once the reader lets go, the WAL restarts at the next write
    // and this limit truncates the file back (it never shrinks otherwise).
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    schema::migrate(conn)?;
    Ok(())
}

/// Opens the database read-only for queries. Refuses a file that is not a
/// feedfold store of a version this build can read.
pub fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    configure(&conn)?;
    let version = schema::version(&conn).map_err(|e| match e {
        StoreError::Sqlite(source) => StoreError::Open {
            path: path.to_path_buf(),
            source,
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
            found: version,
            supported: schema::latest_version(),
        });
    }
    Ok(conn)
}

enum Command {
    Ingest {
        feed: Box<NormalizedFeed>,
        reply: oneshot::Sender<Result<IngestReport, StoreError>>,
    },
    Regroup {
        progress: Box<dyn FnMut(usize, usize) + Send>,
        reply: oneshot::Sender<Result<writer::RegroupReport, StoreError>>,
    },
    /// Subscriptions and polling state (the daemon, `feeds`, `opml`).
    Feeds(subscriptions::Request),
    Prune {
        before: chrono::DateTime<chrono::Utc>,
        vacuum: bool,
        reply: oneshot::Sender<Result<writer::PruneReport, StoreError>>,
    },
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

/// Handle to the single writer thread. Cheap to clone.
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

/// How many commands may wait for the writer before senders wait.
const QUEUE: usize = 16;

/// Most documents the writer stores in one transaction.
const BATCH_DOCUMENTS: usize = 16;

/// A batch takes no further document once it holds this many entries.
const BATCH_ENTRIES: usize = 2_000;

/// A batch for the writer: `first` (storing `entries` entries) and the
/// commands queued right behind it that `take` accepts (giving what each
/// stores and how many entries), up to [`BATCH_DOCUMENTS`] and
/// [`BATCH_ENTRIES`], without waiting. The first command `take` refuses is
/// left in `next`, to run after the batch.
fn gather<T>(
    rx: &mut mpsc::Receiver<Command>,
    first: T,
    mut entries: usize,
    next: &mut Option<Command>,
    take: impl Fn(Command) -> Result<(T, usize), Command>,
) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < BATCH_DOCUMENTS && entries < BATCH_ENTRIES {
        let Ok(cmd) = rx.try_recv() else { break };
        match take(cmd) {
            Ok((item, n)) => {
                entries += n;
                batch.push(item);
            }
            Err(other) => {
                *next = Some(other);
                break;
            }
        }
    }
    batch
}

impl Store {
    /// Opens the database at `path` on a new writer thread and waits until
    /// it is migrated and its candidate index is loaded.
    pub fn open(
        path: &Path,
        grouping: GroupingConfig,
    ) -> Result<(Store, WriterThread), StoreError> {
        let (tx, mut rx) = mpsc::channel::<Command>(QUEUE);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let path = path.to_path_buf();
        let handle =
            std::thread::Builder::new()
                .name("feedfold-writer".into())
                .spawn(move || {
                    let mut writer = match writer::Writer::open(&path, grouping) {
                        Ok(w) => {
                            let _ = ready_tx.send(Ok(()));
                            w
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let mut next = None;
                    while let Some(cmd) = next.take().or_else(|| rx.blocking_recv()) {
                        match cmd {
                            Command::Ingest { feed, reply } => {
                                // The documents waiting behind this one share its transaction.
                                let entries = feed.entries.len();
                                let batch =
                                    gather(&mut rx, (feed, reply), entries, &mut next, |cmd| {
                                        match cmd {
                                            Command::Ingest { feed, reply } => {
                                                let entries = feed.entries.len();
                                                Ok(((feed, reply), entries))
                                            }
                                            other => Err(other),
                                        }
                                    });
                                let feeds: Vec<&NormalizedFeed> =
                                    batch.iter().map(|(feed, _)| feed.as_ref()).collect();
                                let results = writer.ingest_batch(&feeds, chrono::Utc::now());
                                for ((_, reply), result) in batch.into_iter().zip(results) {
                                    let _ = reply.send(result);
                                }
                            }
                            Command::Regroup {
                                mut progress,
                                reply,
                            } => {
                                let _ = reply.send(
                                    writer
                                        .regroup_with_progress(chrono::Utc::now(), &mut *progress),
                                );
                            }
                            Command::Prune {
                                before,
                                vacuum,
                                reply,
                            } => {
                                let _ =
                                    reply.send(writer.prune(before, vacuum, chrono::Utc::now()));
                            }
                            Command::Feeds(request) => {
                                let Some(first) = subscriptions::document_entries(&request) else {
                                    subscriptions::handle(&mut writer, request);
                                    continue;
                                };
                                // Polls that fetched a document, waiting behind
                                // this one, share its transaction.
                                let batch =
                                    gather(&mut rx, request, first, &mut next, |cmd| match cmd {
                                        Command::Feeds(request) => {
                                            match subscriptions::document_entries(&request) {
                                                Some(entries) => Ok((request, entries)),
                                                None => Err(Command::Feeds(request)),
                                            }
                                        }
                                        other => Err(other),
                                    });
                                subscriptions::handle_documents(&mut writer, batch);
                            }
                        }
                    }
                    writer.close();
                })
                .map_err(|_| StoreError::WriterGone)?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok((Store { tx }, WriterThread { handle })),
            Ok(Err(e)) => {
                let _ = handle.join();
                Err(e)
            }
            Err(_) => Err(StoreError::WriterGone),
        }
    }

    /// Recomputes every story from the stored entries, in one transaction.
    pub async fn regroup(&self) -> Result<writer::RegroupReport, StoreError> {
        self.regroup_with_progress(|_, _| {}).await
    }

    /// [`Store::regroup`], calling `progress(done, total)` (on the writer
    /// thread) as entries are re-placed.
    pub async fn regroup_with_progress(
        &self,
        progress: impl FnMut(usize, usize) + Send + 'static,
    ) -> Result<writer::RegroupReport, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Regroup {
                progress: Box::new(progress),
                reply,
            })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Removes the entries dated before `before` that no feed has carried
    /// since, their full-text rows and the stories left empty, in one
    /// transaction (see [`writer::Writer::prune`]); `vacuum` then rewrites
    /// the file to its smallest size.
    pub async fn prune(
        &self,
        before: chrono::DateTime<chrono::Utc>,
        vacuum: bool,
    ) -> Result<writer::PruneReport, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Prune {
                before,
                vacuum,
                reply,
            })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Applies the `[retention]` setting as of `now`: prunes what is older
    /// than `keep_days`, or does nothing (`None`) when entries are kept
    /// forever. The daemon calls this periodically.
    pub async fn prune_expired(
        &self,
        retention: &crate::config::RetentionConfig,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<writer::PruneReport>, StoreError> {
        match retention.cutoff(now) {
            Some(before) => self.prune(before, false).await.map(Some),
            None => Ok(None),
        }
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
}
