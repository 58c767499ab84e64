//! The routes of the server: which resource a request asks for, its
//! parameters, and the rendering of each resource on a read-only
//! connection (through the response cache of [`super::http`]). The server's
//! life (listening, connections, readers, stopping) is in the parent
//! module; what is read is in `data`, how feeds are written in `feeds`.

use super::*;

pub(super) async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
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
