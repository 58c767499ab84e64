//! The read-only HTTP server: the folded feeds, the JSON API, `/metrics`
//! and `/healthz`, inside `feedfold run` (`[server] listen`) or as
//! `feedfold serve`, a separate process over the same store.
//!
//! | path | what |
//! |---|---|
//! | `/stories.atom`, `/stories.json`, `/stories.rss` | one entry per story (filters `since`, `min_copies`, `min_feeds`, `q`, `feed`, `limit`) |
//! | `/events.atom`, `/events.json`, `/events.rss` | one entry per event, listing its stories and the outlets that carried each (filters `since`, `min_stories`, `q`, `feed`, `limit`) |
//! | `/opml` | the served feeds as OPML |
//! | `/api/stories`, `/api/stories/{id}` | what `feedfold stories --json` and `story ID --json` print |
//! | `/api/events`, `/api/events/{id}` | what `feedfold events --json` and `event ID --json` print |
//! | `/api/search`, `/api/feeds` | what `feedfold search --json` and `status --json` print |
//! | `/metrics`, `/healthz`, `/openapi.json`, `/` | Prometheus metrics, health, the OpenAPI document ([`OPENAPI`]), a page linking everything |
//!
//! An event filter selects the events one of whose stories it would
//! select (a copy dated since, matching `q`, carried by `feed`).
//!
//! ```text
//!  TcpListener ─▶ connection task (hyper, HTTP/1.1) ─▶ handle ─▶ route
//!                                                        │
//!        cache hit (store unchanged) ◀── http::Cache ◀───┤
//!        render: spawn_blocking ─▶ read-only connection ─▶ data / queries ─▶ feeds / JSON
//! ```
//!
//! Every resource is read on a read-only SQLite connection (a small pool,
//! at most [`WORKERS`] reading at once, each request in one read
//! transaction) on tokio's blocking pool: a request never touches the
//! writer's connection and never holds a lock the writer waits for (WAL).
//! Rendered responses are kept while the store's files are unchanged
//! (`http::Cache`), so readers polling a feed cost a lookup, and a busy
//! store re-renders a feed at most once a second. Responses carry an
//! ETag (a hash of the body) and, for feeds, Last-Modified, answer
//! conditional requests with 304, and are gzipped for clients that take
//! it.
//!
//! Nothing here writes: the only write path of the crate stays
//! [`crate::store::writer`]. `/healthz` asks the writer for a ping in the
//! daemon (as the watchdog does) and reads the store in `feedfold serve`.

mod data;
mod feeds;
mod http;
mod routes;
pub mod settings;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request, Response, StatusCode};
use rusqlite::Connection;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use self::data::Filter;
use self::feeds::FeedMeta;
use self::http::{ApiError, Body, Cache, Caching, Params, Rendered};
use self::settings::{check_listen, ServerConfig};
use crate::metrics::{Exposition, METRICS};
use crate::model::{format_time, parse_time, redact_credentials};
use crate::store::{self, queries, subscriptions, Store};

/// Requests reading the store at once (the rest wait their turn).
pub const WORKERS: usize = 2;

/// Stories in a feed or a list without `limit`.
pub const DEFAULT_LIMIT: i64 = 50;

/// The most stories one response holds: a larger `limit` is capped.
pub const MAX_LIMIT: i64 = 500;

/// Open connections at most; more are closed at once.
const MAX_CONNECTIONS: usize = 512;

/// How long connections get to finish their requests at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How long `/healthz` waits for the writer's answer.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// How long readers and proxies may keep a response without asking again.
const MAX_AGE: u32 = 60;

/// The OpenAPI 3 description of the server, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The address cannot be listened on.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A non-loopback address without a token.
    #[error("{0}")]
    NotLoopback(String),
    /// The token file cannot be read.
    #[error("cannot read the server's token file {path}")]
    Token {
        /// `server.token_file`.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The token file holds no token.
    #[error("the server's token file {0} is empty")]
    EmptyToken(PathBuf),
}

/// What a server serves, and how.
pub struct ServeOptions {
    /// The SQLite store.
    pub database: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The token requests must carry, if any.
    pub token: Option<String>,
    /// The URL readers reach the server at, if not `http://HOST/`.
    pub base_url: Option<String>,
    /// The daemon's writer: `/healthz` pings it and `/metrics` adds the
    /// daemon's counters. `None` in `feedfold serve`.
    pub writer: Option<Store>,
}

impl ServeOptions {
    /// The options of `[server]` (reading its token file), listening on
    /// `listen`.
    pub fn new(
        config: &ServerConfig,
        listen: SocketAddr,
        database: &Path,
        writer: Option<Store>,
    ) -> Result<ServeOptions, ServerError> {
        let token = match &config.token_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ServerError::Token {
                    path: path.clone(),
                    source,
                })?;
                let token = text.trim().to_string();
                if token.is_empty() {
                    return Err(ServerError::EmptyToken(path.clone()));
                }
                Some(token)
            }
            None => None,
        };
        Ok(ServeOptions {
            database: database.to_path_buf(),
            listen,
            token,
            base_url: config.base_url.as_ref().map(|b| {
                if b.ends_with('/') {
                    b.clone()
                } else {
                    format!("{b}/")
                }
            }),
            writer,
        })
    }
}

/// Read-only connections to the store, reused across requests.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn open(&self) -> Result<Connection, ApiError> {
        let conn = store::open_reader(&self.path)?;
        conn.pragma_update(None, "query_only", true)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(conn)
    }

    /// Runs `f` in one read transaction on an idle connection (or a new one).
    fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match idle {
            Some(c) => c,
            None => self.open()?,
        };
        let result = match conn.unchecked_transaction() {
            // Dropped at the end: a read transaction rolls back.
            Ok(tx) => f(&tx),
            Err(e) => Err(ApiError::internal(e.to_string())),
        };
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < WORKERS {
                idle.push(conn);
            }
        }
        result
    }
}

/// What every request shares.
struct State {
    database: PathBuf,
    readers: Readers,
    work: Semaphore,
    cache: Cache,
    token: Option<String>,
    base_url: Option<String>,
    writer: Option<Store>,
    identity: OnceLock<String>,
    listen: SocketAddr,
}

impl State {
    /// Runs `f` on a read-only connection on the blocking pool, at most
    /// [`WORKERS`] at once.
    async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&State, &Connection) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .work
            .acquire()
            .await
            .map_err(|_| ApiError::internal("the server is stopping"))?;
        let state = self.clone();
        tokio::task::spawn_blocking(move || state.readers.with(|conn| f(&state, conn)))
            .await
            .map_err(|e| ApiError::internal(format!("a request's task failed: {e}")))?
    }

    /// The store's identity, the `tag:` prefix of every id the feeds give:
    /// `tag:feedfold,DATE:HASH`, where DATE is the day its first feed was
    /// stored and HASH a hash of that feed's URL and `first_seen`. Both are
    /// kept forever (feeds are never deleted), so the identity survives
    /// restarts, moves of the file and `serve` beside `run`.
    fn identity(&self, conn: &Connection) -> Result<String, ApiError> {
        if let Some(id) = self.identity.get() {
            return Ok(id.clone());
        }
        let Some((url, first_seen)) = data::first_feed(conn)? else {
            return Ok("tag:feedfold,1970-01-01:empty".into());
        };
        use std::hash::Hasher;
        let mut h = siphasher::sip::SipHasher::new();
        h.write(url.as_bytes());
        h.write(b"\n");
        h.write(first_seen.as_bytes());
        let date = first_seen.get(..10).unwrap_or("1970-01-01");
        let id = format!("tag:feedfold,{date}:{:016x}", h.finish());
        Ok(self.identity.get_or_init(|| id).clone())
    }

    /// The root URL responses link to: `[server] base_url`, else the
    /// request's `Host`, else the address listened on.
    fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(base) = &self.base_url {
            return base.clone();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
            })
            .map(str::to_string)
            .unwrap_or_else(|| self.listen.to_string());
        format!("http://{host}/")
    }
}

/// A server bound to its address, ready to [`Server::run`].
pub struct Server {
    listener: TcpListener,
    state: Arc<State>,
}

impl Server {
    /// Listens on `options.listen` (refusing an address beyond loopback
    /// without a token).
    pub async fn bind(options: ServeOptions) -> Result<Server, ServerError> {
        check_listen(options.listen, options.token.is_some()).map_err(ServerError::NotLoopback)?;
        let listener =
            TcpListener::bind(options.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: options.listen,
                    source,
                })?;
        let listen = listener.local_addr().unwrap_or(options.listen);
        Ok(Server {
            listener,
            state: Arc::new(State {
                readers: Readers {
                    path: options.database.clone(),
                    idle: Mutex::new(Vec::new()),
                },
                database: options.database,
                work: Semaphore::new(WORKERS),
                cache: Cache::default(),
                token: options.token,
                base_url: options.base_url,
                writer: options.writer,
                identity: OnceLock::new(),
                listen,
            }),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.state.listen
    }

    /// Serves until `stop` changes; then the connections get a few seconds
    /// to finish their requests.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut tasks = JoinSet::new();
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let Ok(permit) = connections.clone().try_acquire_owned() else {
                            tracing::warn!("Too many connections; closing a new one.");
                            continue;
                        };
                        let _ = stream.set_nodelay(true);
                        let (state, stop) = (self.state.clone(), stop.clone());
                        tasks.spawn(async move {
                            connection(stream, state, stop).await;
                            drop(permit);
                        });
                    }
                    Err(e) => {
                        // Out of file descriptors, most likely: wait a little.
                        tracing::warn!(error = %e, "Accepting a connection failed.");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tasks.shutdown().await;
        }
    }
}

/// The server inside the daemon: started with the store, stopped before
/// the writer closes.
pub struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    /// Starts serving if `[server] listen` is set.
    pub async fn start(
        config: &ServerConfig,
        database: &Path,
        writer: &Store,
    ) -> Result<Option<Running>, ServerError> {
        let Some(listen) = config.listen else {
            return Ok(None);
        };
        let server = Server::bind(ServeOptions::new(
            config,
            listen,
            database,
            Some(writer.clone()),
        )?)
        .await?;
        tracing::info!(url = %format!("http://{}/", server.local_addr()), "Serving the folded feeds.");
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(server.run(rx));
        Ok(Some(Running { stop, task }))
    }

    /// Stops serving and waits for the connections (a few seconds at most).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Serves one connection (HTTP/1.1, keep-alive) until it closes or `stop`.
async fn connection(
    stream: tokio::net::TcpStream,
    state: Arc<State>,
    mut stop: watch::Receiver<bool>,
) {
    let io = hyper_util::rt::TokioIo::new(stream);
    let service = hyper::service::service_fn(move |req| routes::handle(state.clone(), req));
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
        }
    }
}
