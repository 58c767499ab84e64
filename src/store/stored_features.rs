//! The detector's way back to the features of the entries it indexes.
//!
//! Part of the store stage. The candidate index keeps the features of only
//! a bounded number of its entries in memory (see
//! [`crate::detector::resident`]); it reads the others back through this
//! [`FeatureSource`]: a read-only connection of its own to the store, which
//! sees what the writer has committed. The writer's window tells the index
//! when a commit made the entries it indexed readable (until then their
//! features stay in memory).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::StoreError;
use crate::detector::{FeatureSource, Packed, SourceError};

/// A read-only connection that reads stored entries' features.
pub(crate) struct StoredFeatures {
    conn: Connection,
}

impl StoredFeatures {
    /// Opens the store at `path` (which the writer has opened and
    /// migrated) for reading features.
    pub(crate) fn open(path: &Path) -> Result<StoredFeatures, StoreError> {
        let conn = super::open_existing(path, true)?;
        // The writer never holds its lock long enough to matter, but a
        // checkpoint that truncates the WAL may be under way.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(StoredFeatures { conn })
    }
}

impl FeatureSource for StoredFeatures {
    /// The stored features of entry `id`; features of an older version (or
    /// unreadable) are extracted again from the stored text, as the window
    /// does when it loads the entry.
    fn load(&mut self, id: i64) -> Result<Option<Packed>, SourceError> {
        let decoded: Option<Option<Packed>> = self
            .conn
            .prepare_cached("SELECT features FROM entries WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(r.get_ref(0)?.as_blob().ok().and_then(Packed::decode))
            })
            .optional()?;
        match decoded {
            None => return Ok(None),
            Some(Some(f)) => return Ok(Some(f)),
            Some(None) => {}
        }
        let (title, text) = super::window::stored_text(&self.conn, id)?;
        Ok(Some(Packed::new(&crate::detector::features::extract(
            &title, &text,
        ))))
    }
}
