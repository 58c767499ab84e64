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
//! runs are folded into one. When the store closes, [`Checkpointer::stop`]
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
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// The WAL size (bytes) past which the writer, with a checkpointer beside
/// it, checkpoints and truncates the WAL itself after a document batch:
/// what a long run of back-to-back transactions may grow it to.
pub(crate) const WAL_TRUNCATE_SIZE: i64 = 4 * super::WAL_SIZE_LIMIT;

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
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|sqlite| StoreError::Open {
            path: path.to_path_buf(),
            sqlite,
        })?;
        // A checkpoint never waits for a lock: one that finds the
        // checkpoint lock taken (the writer truncating) is skipped.
        conn.busy_timeout(std::time::Duration::ZERO)?;
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

/// The thread: a passive checkpoint per signal until the writer hangs up,
/// then a truncating one.
fn run(conn: Connection, rx: Receiver<()>) {
    while rx.recv().is_ok() {
        checkpoint(&conn, "PASSIVE");
    }
    checkpoint(&conn, "TRUNCATE");
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the checkpointer's connection failed");
    }
}

/// Runs `PRAGMA wal_checkpoint(mode)` and logs what came of it.
fn checkpoint(conn: &Connection, mode: &str) {
    let sql = format!("PRAGMA wal_checkpoint({mode})");
    let result = conn.query_row(&sql, [], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    });
    match result {
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
