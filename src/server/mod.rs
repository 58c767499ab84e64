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
    let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
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

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let started = std::time::Instant::now();
    let response = route(&state, &req).await.unwrap_or_else(|e| e.response());
    tracing::debug!(
        method = %req.method(),
        path = %req.uri().path(),
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "HTTP request."
    );
    Ok(response)
}

/// The feed formats.
#[derive(Debug, Clone, Copy)]
enum Format {
    Atom,
    Json,
    Rss,
}

/// What a feed's entries are.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// One entry per story (`/stories.*`).
    Stories,
    /// One entry per event (`/events.*`).
    Events,
}

/// The parameters of the story feeds and `/api/stories`.
const FEED_PARAMS: &[&str] = &["since", "min_copies", "min_feeds", "q", "feed", "limit"];

/// The parameters of the event feeds and `/api/events`.
const EVENT_PARAMS: &[&str] = &["since", "min_stories", "q", "feed", "limit"];

/// Longest full-text query accepted.
const MAX_QUERY: usize = 1000;

fn filter(params: &Params, default_limit: i64) -> Result<Filter, ApiError> {
    let q = params.get("q").map(str::to_string);
    if q.as_ref().is_some_and(|q| q.len() > MAX_QUERY) {
        return Err(ApiError::bad(format!("q is longer than {MAX_QUERY} bytes")));
    }
    Ok(Filter {
        since: params.since(Utc::now())?,
        min_copies: params.number("min_copies", 1)?.unwrap_or(1),
        min_feeds: params.number("min_feeds", 1)?.unwrap_or(1),
        min_stories: params.number("min_stories", 1)?.unwrap_or(1),
        q,
        feed: params.get("feed").map(str::to_string),
        limit: params
            .number("limit", 1)?
            .unwrap_or(default_limit)
            .min(MAX_LIMIT),
    })
}

async fn route(state: &Arc<State>, req: &Request<Incoming>) -> Result<Response<Body>, ApiError> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: format!(
                "{} is not allowed: this server is read-only (GET, HEAD)",
                req.method()
            ),
        }
        .response();
        http::set(r.headers_mut(), header::ALLOW, "GET, HEAD");
        return Ok(r);
    }
    let path = req.uri().path();
    if path != "/healthz" {
        if let Some(token) = &state.token {
            if !http::authorized(req.headers(), token) {
                return Ok(http::unauthorized());
            }
        }
    }
    let query = req.uri().query();
    let headers = req.headers();
    let caching = Caching::MaxAge(MAX_AGE, state.token.is_some());
    match path {
        "/" => {
            Params::parse(query, &[])?;
            let page = Rendered::new("text/html; charset=utf-8", index_page(), None);
            Ok(http::respond(headers, &page, caching))
        }
        "/openapi.json" => {
            Params::parse(query, &[])?;
            let doc = Rendered::new("application/json", OPENAPI.to_string(), None);
            Ok(http::respond(headers, &doc, caching))
        }
        "/healthz" => health(state).await,
        "/metrics" => {
            Params::parse(query, &[])?;
            let text = state.read(metrics).await?;
            let r = Rendered::new("text/plain; version=0.0.4; charset=utf-8", text, None);
            Ok(http::respond(headers, &r, Caching::None))
        }
        "/stories.atom" | "/stories.json" | "/stories.rss" | "/events.atom" | "/events.json"
        | "/events.rss" => {
            let (kind, allowed) = if path.starts_with("/stories.") {
                (Kind::Stories, FEED_PARAMS)
            } else {
                (Kind::Events, EVENT_PARAMS)
            };
            let format = match path.rsplit('.').next() {
                Some("atom") => Format::Atom,
                Some("json") => Format::Json,
                _ => Format::Rss,
            };
            let params = Params::parse(query, allowed)?;
            let filter = filter(&params, DEFAULT_LIMIT)?;
            let base = state.base_url(headers);
            let self_url = match params.canonical() {
                c if c.is_empty() => format!("{base}{}", &path[1..]),
                c => format!("{base}{}?{c}", &path[1..]),
            };
            let key = format!("{self_url} {base}");
            cached(state, headers, key, caching, move |s, conn| {
                feed(s, conn, kind, format, &filter, &params, &base, &self_url)
            })
            .await
        }
        "/opml" => {
            Params::parse(query, &[])?;
            let base = state.base_url(headers);
            let key = format!("{base}opml");
            cached(state, headers, key, caching, move |s, conn| {
                opml(s, conn, &base)
            })
            .await
        }
        "/api/stories" => {
            let params = Params::parse(query, FEED_PARAMS)?;
            let filter = filter(&params, DEFAULT_LIMIT)?;
            let key = format!("/api/stories?{}", params.canonical());
            cached(state, headers, key, caching, move |_, conn| {
                let feed_id = resolve_feed(conn, &filter)?;
                json(&data::stories(conn, &filter, feed_id)?, None)
            })
            .await
        }
        "/api/events" => {
            let params = Params::parse(query, EVENT_PARAMS)?;
            let filter = filter(&params, DEFAULT_LIMIT)?;
            let key = format!("/api/events?{}", params.canonical());
            cached(state, headers, key, caching, move |_, conn| {
                let feed_id = resolve_feed(conn, &filter)?;
                json(&data::events(conn, &filter, feed_id)?, None)
            })
            .await
        }
        "/api/search" => {
            let params = Params::parse(query, &["q", "since", "limit"])?;
            let Some(q) = params.get("q").map(str::to_string) else {
                return Err(ApiError::bad(
                    "q is required: an FTS5 query, e.g. q=ceasefire%20NEAR%20putin",
                ));
            };
            if q.len() > MAX_QUERY {
                return Err(ApiError::bad(format!("q is longer than {MAX_QUERY} bytes")));
            }
            let search = queries::SearchQuery {
                query: q,
                since: params.since(Utc::now())?,
                limit: Some(params.number("limit", 1)?.unwrap_or(20).min(MAX_LIMIT)),
            };
            let key = format!("/api/search?{}", params.canonical());
            cached(state, headers, key, caching, move |_, conn| {
                let mut hits = queries::search(conn, &search)?;
                for hit in &mut hits {
                    hide_all(&mut hit.story.feeds);
                }
                json(&hits, None)
            })
            .await
        }
        "/api/feeds" => {
            Params::parse(query, &[])?;
            cached(state, headers, "/api/feeds".into(), caching, |_, conn| {
                let rows: Vec<_> = statuses(conn)?
                    .into_iter()
                    .map(subscriptions::FeedStatus::redacted)
                    .collect();
                json(&rows, None)
            })
            .await
        }
        p if p.starts_with("/api/stories/") => {
            Params::parse(query, &[])?;
            let id = path_id(&p["/api/stories/".len()..], "a story")?;
            cached(
                state,
                headers,
                format!("/api/stories/{id}"),
                caching,
                move |_, conn| {
                    let mut detail = queries::story(conn, id)?;
                    hide_all(&mut detail.story.feeds);
                    for e in &mut detail.entries {
                        e.feed = redact_credentials(&e.feed).into_owned();
                        e.feed_url = redact_credentials(&e.feed_url).into_owned();
                    }
                    json(&detail, None)
                },
            )
            .await
        }
        p if p.starts_with("/api/events/") => {
            Params::parse(query, &[])?;
            let id = path_id(&p["/api/events/".len()..], "an event")?;
            cached(
                state,
                headers,
                format!("/api/events/{id}"),
                caching,
                move |_, conn| {
                    let mut detail = queries::events::event(conn, id)?;
                    hide_all(&mut detail.event.feeds);
                    for s in &mut detail.stories {
                        hide_all(&mut s.story.feeds);
                    }
                    json(&detail, None)
                },
            )
            .await
        }
        _ => Err(ApiError::not_found(format!(
            "no resource at {path} (see / for the feeds, /openapi.json for the API)"
        ))),
    }
}

/// The id at the end of `/api/stories/ID` or `/api/events/ID` (400 unless
/// a positive whole number); `what` is "a story" or "an event".
fn path_id(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|&id| id > 0).ok_or_else(|| {
        ApiError::bad(format!(
            "{raw:?} is not {what} id (a positive whole number)"
        ))
    })
}

fn hide_all(names: &mut [String]) {
    for n in names {
        if let std::borrow::Cow::Owned(r) = redact_credentials(n) {
            *n = r;
        }
    }
}

/// A cached resource: from the cache while the store is unchanged, else
/// rendered on a read-only connection.
async fn cached(
    state: &Arc<State>,
    headers: &HeaderMap,
    key: String,
    caching: Caching,
    render: impl FnOnce(&State, &Connection) -> Result<Rendered, ApiError> + Send + 'static,
) -> Result<Response<Body>, ApiError> {
    let stamp = http::stamp(&state.database);
    if let Some(r) = state.cache.get(&key, &stamp) {
        return Ok(http::respond(headers, &r, caching));
    }
    let rendered = {
        let state2 = state.clone();
        let key2 = key.clone();
        state
            .read(move |s, conn| {
                // Another request may have rendered it while this one waited.
                let stamp = http::stamp(&s.database);
                if let Some(r) = state2.cache.get(&key2, &stamp) {
                    return Ok(r);
                }
                let r = Arc::new(render(s, conn)?);
                state2.cache.put(key2, stamp, r.clone());
                Ok(r)
            })
            .await?
    };
    Ok(http::respond(headers, &rendered, caching))
}

fn json<T: serde::Serialize + ?Sized>(
    value: &T,
    last_modified: Option<DateTime<Utc>>,
) -> Result<Rendered, ApiError> {
    let mut text = serde_json::to_string(value).map_err(|e| ApiError::internal(e.to_string()))?;
    text.push('\n');
    Ok(Rendered::new("application/json", text, last_modified))
}

/// `filter.feed` as a `feeds.id` (404 for a URL the store does not know).
fn resolve_feed(conn: &Connection, filter: &Filter) -> Result<Option<i64>, ApiError> {
    let Some(url) = &filter.feed else {
        return Ok(None);
    };
    match data::feed_id(conn, url)? {
        Some(id) => Ok(id),
        None => Err(ApiError::not_found(format!(
            "no feed with URL {:?} in the store (see /api/feeds)",
            redact_credentials(url)
        ))),
    }
}

fn statuses(conn: &Connection) -> Result<Vec<subscriptions::FeedStatus>, ApiError> {
    if store::schema::version(conn)? < 2 {
        return Ok(Vec::new());
    }
    Ok(subscriptions::statuses(conn)?)
}

/// What a filter selects, in words (the feeds' titles).
fn describe(filter: &Filter, params: &Params) -> Vec<String> {
    let mut parts = Vec::new();
    if filter.min_copies > 1 {
        parts.push(format!("{}+ copies", filter.min_copies));
    }
    if filter.min_feeds > 1 {
        parts.push(format!("{}+ feeds", filter.min_feeds));
    }
    if filter.min_stories > 1 {
        parts.push(format!("{}+ stories", filter.min_stories));
    }
    if let Some(since) = params.get("since") {
        parts.push(format!("seen within {since}"));
    }
    if let Some(q) = &filter.q {
        parts.push(format!("matching {q:?}"));
    }
    if let Some(feed) = &filter.feed {
        parts.push(format!("carried by {}", redact_credentials(feed)));
    }
    parts
}

#[allow(clippy::too_many_arguments)]
fn feed(
    state: &State,
    conn: &Connection,
    kind: Kind,
    format: Format,
    filter: &Filter,
    params: &Params,
    base: &str,
    self_url: &str,
) -> Result<Rendered, ApiError> {
    let feed_id = resolve_feed(conn, filter)?;
    let identity = state.identity(conn)?;
    let (noun, what) = match kind {
        Kind::Stories => (
            "stories",
            "Syndicated copies folded into one entry per story, newest first",
        ),
        Kind::Events => (
            "events",
            "The stories different newsrooms wrote about one happening, one entry per event, \
             newest first (by its latest story)",
        ),
    };
    let entries: Vec<feeds::Entry> = match kind {
        Kind::Stories => data::folded(conn, filter, feed_id)?
            .iter()
            .map(|s| feeds::story_entry(&identity, base, s))
            .collect(),
        Kind::Events => data::folded_events(conn, filter, feed_id)?
            .iter()
            .map(|e| feeds::event_entry(&identity, base, e))
            .collect(),
    };
    let updated = match entries.iter().map(|e| e.updated.as_str()).max() {
        Some(u) => Some(u.to_string()),
        None => data::last_change(conn)?,
    }
    .unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    let described = describe(filter, params);
    let title = if described.is_empty() {
        format!("feedfold: {noun}")
    } else {
        format!("feedfold: {noun} ({})", described.join(", "))
    };
    let meta = FeedMeta {
        // The same feed whatever its length.
        id: match params.canonical_without("limit") {
            c if c.is_empty() => format!("{identity}/{noun}"),
            c => format!("{identity}/{noun}?{c}"),
        },
        subtitle: format!(
            "{what}{}.",
            if described.is_empty() {
                String::new()
            } else {
                format!(": {}", described.join(", "))
            }
        ),
        title,
        self_url: self_url.to_string(),
        home_url: base.to_string(),
        updated: updated.clone(),
    };
    let last_modified = parse_time(&updated);
    Ok(match format {
        Format::Atom => Rendered::new(
            "application/atom+xml; charset=utf-8",
            feeds::atom(&meta, &entries),
            last_modified,
        ),
        Format::Json => Rendered::new(
            "application/feed+json; charset=utf-8",
            feeds::json_feed(&meta, &entries),
            last_modified,
        ),
        Format::Rss => Rendered::new(
            "application/rss+xml; charset=utf-8",
            feeds::rss(&meta, &entries),
            last_modified,
        ),
    })
}

/// The OPML of the served feeds: every story, the stories several feeds
/// carried, and, per subscribed feed, the stories it carried (feeds whose
/// URL holds a password are left out).
fn opml(state: &State, conn: &Connection, base: &str) -> Result<Rendered, ApiError> {
    let mut feeds = vec![
        crate::opml::OpmlFeed {
            url: format!("{base}stories.atom"),
            name: Some("feedfold: stories".into()),
            site_url: Some(base.to_string()),
            category: None,
        },
        crate::opml::OpmlFeed {
            url: format!("{base}stories.atom?min_copies=2"),
            name: Some("feedfold: stories (2+ copies)".into()),
            site_url: Some(base.to_string()),
            category: None,
        },
    ];
    for s in statuses(conn)? {
        if s.gone_at.is_some() || redact_credentials(&s.url) != s.url {
            continue;
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("feed", &s.url)
            .finish();
        feeds.push(crate::opml::OpmlFeed {
            url: format!("{base}stories.atom?{query}"),
            name: Some(format!(
                "feedfold: stories carried by {}",
                s.name.as_deref().unwrap_or(&s.url)
            )),
            site_url: s.site_url,
            category: Some("By feed".into()),
        });
    }
    let identity = state.identity(conn)?;
    let created = identity
        .get("tag:feedfold,".len()..)
        .and_then(|d| d.get(..10))
        .and_then(|d| parse_time(&format!("{d}T00:00:00Z")))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let text = crate::opml::write(&feeds, "feedfold: the folded feeds", created)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Rendered::new("text/x-opml; charset=utf-8", text, None))
}

/// `/metrics`: the daemon's counters (in `feedfold run`), and what the
/// store says now (feeds by state, its size).
fn metrics(state: &State, conn: &Connection) -> Result<String, ApiError> {
    let mut e = Exposition::new();
    e.gauge(
        "build_info",
        "The running feedfold's version (always 1).",
        &[(&[("version", env!("CARGO_PKG_VERSION"))], 1.0)],
    );
    if state.writer.is_some() {
        e.registry(&METRICS);
    }
    let states = data::feed_states(conn)?;
    let samples: Vec<([(&str, &str); 1], f64)> = states
        .iter()
        .map(|(s, n)| ([("state", *s)], *n as f64))
        .collect();
    let samples: Vec<(&[(&str, &str)], f64)> =
        samples.iter().map(|(l, n)| (l.as_slice(), *n)).collect();
    e.gauge(
        "feeds",
        "Subscribed feeds by state (ok, failing, new, gone), as the view feed_health classes them.",
        &samples,
    );
    let size: u64 = http::stamp(&state.database)
        .iter()
        .map(|(len, _)| len)
        .sum();
    e.gauge(
        "store_size_bytes",
        "Size of the SQLite store: the database file and its WAL.",
        &[(&[], size as f64)],
    );
    Ok(e.finish())
}

/// `/healthz`: the writer answers a ping (daemon), or the store can be
/// read (`feedfold serve`).
async fn health(state: &Arc<State>) -> Result<Response<Body>, ApiError> {
    let checked = match &state.writer {
        Some(store) => match tokio::time::timeout(PING_TIMEOUT, store.ping()).await {
            Ok(Ok(())) => Ok("the writer answers"),
            Ok(Err(e)) => Err(crate::telemetry::chain(&e)),
            Err(_) => Err(format!(
                "the store's writer did not answer within {}s",
                PING_TIMEOUT.as_secs()
            )),
        },
        None => state
            .read(|_, conn| Ok(store::schema::version(conn)?))
            .await
            .map(|_| "the store can be read")
            .map_err(|e| e.message),
    };
    match checked {
        Ok(detail) => {
            let body = format!(
                "{}\n",
                serde_json::json!({ "status": "ok", "detail": detail, "time": format_time(Utc::now()) })
            );
            let mut r = Response::new(http_body_util::Full::new(Bytes::from(body)));
            http::set(r.headers_mut(), header::CONTENT_TYPE, "application/json");
            http::set(r.headers_mut(), header::CACHE_CONTROL, "no-store");
            Ok(r)
        }
        Err(message) => Err(ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message,
        }),
    }
}

/// `/`: links to everything, with the feeds for autodiscovery (a reader
/// given the server's root URL finds them).
fn index_page() -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>feedfold</title>
<link rel="alternate" type="application/atom+xml" title="feedfold: stories" href="stories.atom">
<link rel="alternate" type="application/feed+json" title="feedfold: stories (JSON Feed)" href="stories.json">
<link rel="alternate" type="application/rss+xml" title="feedfold: stories (RSS)" href="stories.rss">
<link rel="alternate" type="application/atom+xml" title="feedfold: events" href="events.atom">
</head>
<body>
<h1>feedfold {version}</h1>
<p>The folded news: one entry per story, however many feeds carried it.</p>
<ul>
<li><a href="stories.atom">stories.atom</a>, <a href="stories.json">stories.json</a>, <a href="stories.rss">stories.rss</a>:
the folded feeds (filters: <code>since</code>, <code>min_copies</code>, <code>min_feeds</code>, <code>q</code>, <code>feed</code>, <code>limit</code>)</li>
<li><a href="stories.atom?min_copies=2">stories.atom?min_copies=2</a>: the stories several feeds carried</li>
<li><a href="events.atom">events.atom</a>, <a href="events.json">events.json</a>, <a href="events.rss">events.rss</a>:
one entry per event, the stories different newsrooms wrote about one happening (filters: <code>since</code>, <code>min_stories</code>, <code>q</code>, <code>feed</code>, <code>limit</code>)</li>
<li><a href="opml">opml</a>: these feeds as OPML, to import into a reader</li>
<li><a href="api/stories">api/stories</a>, api/stories/ID, <a href="api/events">api/events</a>, api/events/ID, api/search?q=, <a href="api/feeds">api/feeds</a>: the JSON API (<a href="openapi.json">openapi.json</a>)</li>
<li><a href="metrics">metrics</a> (Prometheus), <a href="healthz">healthz</a></li>
</ul>
</body>
</html>
"#,
        version = env!("CARGO_PKG_VERSION")
    )
}
