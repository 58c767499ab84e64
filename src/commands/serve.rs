//! `feedfold serve`: the read-only HTTP server as its own process, over a
//! store that `feedfold run` (or `ingest`) writes. It reads on read-only
//! connections only, and stops on SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use tokio::signal::unix::{signal, SignalKind};

use feedfold::config::Config;
use feedfold::server::settings::DEFAULT_LISTEN;
use feedfold::server::{ServeOptions, Server};
use feedfold::store;

/// `feedfold serve [--listen ADDR]`.
pub fn serve(db: &Path, listen: Option<SocketAddr>, config: &Config) -> Result<ExitCode> {
    // Refuse a missing or foreign store now, not at the first request.
    drop(store::open_reader(db)?);
    let listen = match listen.or(config.server.listen) {
        Some(addr) => addr,
        None => DEFAULT_LISTEN.parse().context("the default address")?,
    };
    let options = ServeOptions::new(&config.server, listen, db, None)?;
    super::runtime()?.block_on(async move {
        let mut term = signal(SignalKind::terminate()).context("installing signal handlers")?;
        let mut int = signal(SignalKind::interrupt()).context("installing signal handlers")?;
        let server = Server::bind(options).await?;
        tracing::info!(
            url = %format!("http://{}/", server.local_addr()),
            database = %db.display(),
            "Serving the store read-only."
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut run = tokio::spawn(server.run(stopped));
        tokio::select! {
            _ = &mut run => {}
            _ = term.recv() => { let _ = stop.send(true); let _ = run.await; }
            _ = int.recv() => { let _ = stop.send(true); let _ = run.await; }
        }
        tracing::info!("feedfold serve stopped.");
        anyhow::Ok(ExitCode::SUCCESS)
    })
}
