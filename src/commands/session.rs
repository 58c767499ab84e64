//! A command's time with the store's writer: the runtime, the [`Store`]
//! handle and its writer thread, closed cleanly (queue drained, last
//! transaction committed, database closed) when the session ends, whether
//! the command succeeded or not.

use std::future::Future;
use std::path::Path;

use anyhow::Result;

use feedfold::config::Config;
use feedfold::store::{Store, WriterThread};

/// The store opened for writing, with a runtime to talk to it.
pub struct StoreSession {
    rt: tokio::runtime::Runtime,
    store: Option<Store>,
    writer: Option<WriterThread>,
}

impl StoreSession {
    /// Opens (creating if needed) the store at `path` with the config's
    /// grouping settings. The grouping window is loaded before the first
    /// command that needs it ([`Store::open_deferred`]): `feeds add`,
    /// `opml import` and `migrate` never load it.
    pub fn open(path: &Path, config: &Config) -> Result<StoreSession> {
        let rt = super::runtime()?;
        // Every error of opening a store names it.
        let (store, writer) = Store::open_deferred(path, config.settings())?;
        Ok(StoreSession {
            rt,
            store: Some(store),
            writer: Some(writer),
        })
    }

    /// Runs `f` with the store handle on the session's runtime.
    pub fn run<T, F: Future<Output = T>>(&self, f: impl FnOnce(Store) -> F) -> T {
        let store = self
            .store
            .clone()
            .expect("the store stays open until close");
        self.rt.block_on(f(store))
    }

    /// Runs a future on the session's runtime.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Closes the store: waits for the writer to finish its queue.
    pub fn close(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        drop(self.store.take());
        if let Some(writer) = self.writer.take() {
            writer.join();
        }
    }
}

impl Drop for StoreSession {
    fn drop(&mut self) {
        self.shut();
    }
}
