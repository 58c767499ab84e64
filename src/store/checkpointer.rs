//! The WAL checkpointer: a thread and a connection of its own that copy the
//! writer's committed WAL frames back into the database file, so the
//! writer thread does not.
//!
//! The writer's connection runs with `wal_autocheckpoint` off; after a
//! command that changed the store, the writer thread signals the
//! checkpointer ([`Checkpointer::notify`], which never waits), and the
//! checkpointer runs `PRAGMA wal_checkpoint(PASSIVE)`: it copies what no
//! reader still needs and never waits for a lock, so neither the writer nor
//! the readers ever wait for it. Signals that arrive while a checkpoint
//! runs, or less than [`MIN_INTERVAL`] after the last one, are folded into
//! one. When the store closes, [`Checkpointer::stop`]
//! ends the thread after a last `PRAGMA wal_checkpoint(TRUNCATE)` (which
//! gives up at once if a reader holds an old snapshot).
//!
//! A checkpoint that has not caught up with the last commit when the
//! writer's next transaction begins keeps SQLite from restarting the WAL at
//! its start, so during a long run of back-to-back transactions the WAL
//! grows: the writer truncates it itself past [`WAL_TRUNCATE_SIZE`], which
//! then costs only the frames the checkpointer has not copied yet. Between
//! bursts the WAL restarts at the next transaction and
//! `journal_size_limit` brings the file back to [`super::WAL_SIZE_LIMIT`].
//!
//! Failures are logged and never stop the store: a checkpoint that fails
//! is tried again at the next signal, and if the checkpointer cannot start
//! the writer keeps SQLite's automatic checkpoint.

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::StoreError;

/// The WAL size (bytes) past which the writer, with a checkpointer beside
/// it, checkpoints and truncates the WAL itself after a document batch:
/// what a long run of back-to-back transactions may grow it to (64 MiB).
/// Each truncation waits for a sync of the database on the writer's
/// thread; at 16 MiB the ingest bench spent ~3% of its time in them.
pub(crate) const WAL_TRUNCATE_SIZE: i64 = 16 * super::WAL_SIZE_LIMIT;

/// The handle of the checkpointer thread, owned by the writer. Dropping it
/// stops the thread as [`Checkpointer::stop`] does.
pub(crate) struct Checkpointer {
    /// Signals that something was committed; `None` once stopping.
    tx: Option<SyncSender<()>>,
    /// The thread, joined when stopping.
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a connection of its own to the (existing, migrated) store at
    /// `path` and starts the checkpointer thread on it.
    pub(crate) fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = super::open_existing(path, false)?;
        // A checkpoint never waits for a lock: one that finds the
        // checkpoint lock taken (the writer truncating) is skipped.
        conn.busy_timeout(Duration::ZERO)?;
        // One pending signal is enough: a checkpoint copies every frame
        // committed before it starts.
        let (tx, rx) = sync_channel(1);
        let handle = std::thread::Builder::new()
            .name("feedfold-checkpointer".into())
            .spawn(move || run(conn, rx))
            .map_err(|_| StoreError::Internal("cannot start the checkpointer thread"))?;
        Ok(Checkpointer {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    /// Asks for a checkpoint after a commit, without waiting: if one is
    /// already asked for, it will copy this commit's frames too.
    pub(crate) fn notify(&self) {
        if let Some(tx) = &self.tx {
            match tx.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Disconnected(())) => {
                    tracing::warn!("the WAL checkpointer thread has stopped");
                }
            }
        }
    }

    /// Stops the thread after its last checkpoint (a `TRUNCATE`), and waits
    /// for it. Call it after the writer's last commit.
    pub(crate) fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        // Closing the channel ends the thread's loop.
        self.tx = None;
        if let Some(handle) = self.handle.take() {
            if handle.join().is_err() {
                tracing::error!("the WAL checkpointer thread panicked");
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The least time between two passive checkpoints. Each one syncs the WAL
/// and the database file: a daemon committing a poll record every few
/// seconds would otherwise sync twice per commit, where SQLite's automatic
/// checkpoint ran once per 1,000 pages. Signals that arrive meanwhile are
/// folded into the next checkpoint.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// The thread: a passive checkpoint per signal, at most one per
/// [`MIN_INTERVAL`], until the writer hangs up, then a truncating one.
fn run(conn: Connection, rx: Receiver<()>) {
    let mut last: Option<Instant> = None;
    'signals: while rx.recv().is_ok() {
        // Wait out the interval, folding the signals that arrive, unless
        // the writer hangs up meanwhile.
        if let Some(deadline) = last.map(|t| t + MIN_INTERVAL) {
            while let Some(wait) = deadline.checked_duration_since(Instant::now()) {
                match rx.recv_timeout(wait) {
                    Ok(()) => {}
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => break 'signals,
                }
            }
        }
        checkpoint(&conn, "PASSIVE");
        last = Some(Instant::now());
    }
    checkpoint(&conn, "TRUNCATE");
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the checkpointer's connection failed");
    }
}

/// Runs `PRAGMA wal_checkpoint(mode)` on `conn`: whether a lock kept it
/// from finishing (1) or not (0), the WAL's frames, and how many of them
/// are copied into the database file. The checkpointer and the writer
/// (which truncates a WAL grown too large) both checkpoint through it.
pub(crate) fn wal_checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64, i64)> {
    let sql = format!("PRAGMA wal_checkpoint({mode})");
    conn.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
}

/// Runs `PRAGMA wal_checkpoint(mode)` and logs what came of it.
fn checkpoint(conn: &Connection, mode: &str) {
    match wal_checkpoint(conn, mode) {
        Ok((0, frames, copied)) => tracing::trace!(mode, frames, copied, "WAL checkpointed"),
        Ok((_, frames, copied)) => tracing::debug!(
            mode,
            frames,
            copied,
            "WAL checkpoint incomplete: a reader or the writer holds a lock"
        ),
        Err(e) => tracing::warn!(mode, error = %e, "WAL checkpoint failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wal_len(db: &Path) -> u64 {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::metadata(wal).map_or(0, |m| m.len())
    }

    #[test]
    fn it_copies_the_writers_commits_back_and_truncates_the_wal_when_stopped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("c.db");
        let writer = Connection::open(&db).expect("open");
        let mode: String = writer
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .expect("WAL mode");
        assert_eq!(mode, "wal");
        writer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .expect("no automatic checkpoint");
        writer
            .execute_batch("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('one');")
            .expect("first commit");
        let checkpointer = Checkpointer::start(&db).expect("start");
        // Signals closer together than the interval are folded, never lost.
        for i in 0..200 {
            writer
                .execute("INSERT INTO t VALUES (?1)", [format!("row {i}")])
                .expect("commit");
            checkpointer.notify();
        }
        assert!(wal_len(&db) > 0, "the commits went to the WAL");
        checkpointer.stop();
        assert_eq!(wal_len(&db), 0, "the last checkpoint truncated the WAL");
        // Everything is in the database file (the writer still open): a
        // copy of the file alone has it.
        let copy = dir.path().join("copy.db");
        std::fs::copy(&db, &copy).expect("copy the database file");
        let n: i64 = Connection::open(&copy)
            .expect("open the copy")
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 201);
        drop(writer);
    }
}
