//! Integration tests of the polling daemon against a scripted HTTP server
//! on 127.0.0.1 that each test starts (no internet). Fetch behaviour is
//! driven through `daemon::poll_feed`, the one code path the daemon runs
//! per check; signals are tested on the real binary. Assertions are on the
//! store's contents and exit codes.

#[path = "common/poll.rs"]
mod poll;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use feedfold::fetcher::HttpConfig;
use feedfold::model::parse_time;
use feedfold::model::{FeedSpec, Interval};
use feedfold::store;
use feedfold::store::subscriptions::{self, Origin, Recorded};
use poll::Ctx;

// ---------------------------------------------------------------------------
// The scripted server

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Req {
    path: String,
    headers: HashMap<String, String>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// What the server answers.
enum Resp {
    /// A complete response.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Waits, then answers.
    Delayed(Duration, Box<Resp>),
    /// Sends the head and a few bytes of a long body, then stalls (up to
    /// 10 s, or until the client hangs up).
    Stall,
    /// A chunked body of `n` bytes (no Content-Length).
    Chunked(usize),
}

fn ok(body: &str) -> Resp {
    Resp::Full {
        status: 200,
        headers: vec![],
        body: body.as_bytes().to_vec(),
    }
}

fn with(status: u16, headers: &[(&str, &str)], body: &str) -> Resp {
    Resp::Full {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

type Handler = dyn Fn(&Req, usize) -> Resp + Send + Sync;

struct Server {
    base: String,
    log: Arc<Mutex<Vec<Req>>>,
    events: mpsc::Receiver<String>,
}

impl Server {
    /// Starts a server; `handler` gets each request and how many requests
    /// for the same path came before it.
    fn start(handler: impl Fn(&Req, usize) -> Resp + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, events) = mpsc::channel();
        let handler: Arc<Handler> = Arc::new(handler);
        let counts = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
        let server_log = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (handler, log, tx, counts) = (
                    handler.clone(),
                    server_log.clone(),
                    tx.clone(),
                    counts.clone(),
                );
                std::thread::spawn(move || serve(stream, &*handler, &log, &tx, &counts));
            }
        });
        Server { base, log, events }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn requests(&self, path: &str) -> Vec<Req> {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Waits (at most `within`) for a request to `path`.
    fn wait_for(&self, path: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(p) = self.events.recv_timeout(deadline - Instant::now()) {
                if p == path {
                    return;
                }
            }
        }
        panic!("no request for {path} within {within:?}");
    }
}

fn serve(
    stream: TcpStream,
    handler: &Handler,
    log: &Mutex<Vec<Req>>,
    events: &mpsc::Sender<String>,
    counts: &Mutex<HashMap<String, usize>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let req = Req {
        path: path.clone(),
        headers,
    };
    let nth = {
        let mut c = counts.lock().expect("counts");
        let n = c.entry(path.clone()).or_default();
        *n += 1;
        *n - 1
    };
    log.lock().expect("log").push(req.clone());
    let _ = events.send(path);
    respond(stream, handler(&req, nth));
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Whatever",
    }
}

fn respond(mut stream: TcpStream, resp: Resp) {
    match resp {
        Resp::Full {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nConnection: close\r\n",
                reason(status)
            );
            if status != 304 {
                head.push_str(&format!("Content-Length: {}\r\n", body.len()));
            }
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
        Resp::Delayed(d, inner) => {
            std::thread::sleep(d);
            respond(stream, *inner);
        }
        Resp::Stall => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n<rss>",
            );
            let _ = stream.flush();
            // Bounded: a test never leaves a thread behind for long.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut buf = [0u8; 64];
            let _ = stream.read(&mut buf);
        }
        Resp::Chunked(n) => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            );
            let chunk = vec![b'x'; 1000];
            let mut sent = 0;
            while sent < n {
                let len = chunk.len().min(n - sent);
                if stream.write_all(format!("{len:x}\r\n").as_bytes()).is_err()
                    || stream.write_all(&chunk[..len]).is_err()
                    || stream.write_all(b"\r\n").is_err()
                {
                    return;
                }
                sent += len;
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        }
    }
}

/// An RSS 2.0 document with the given (guid, title) items.
fn rss(title: &str, items: &[(&str, &str)]) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{title}</title><link>http://example.org/</link>"
    );
    for (guid, t) in items {
        s.push_str(&format!(
            "<item><guid>{guid}</guid><title>{t}</title><link>http://example.org/{guid}</link>\
             <description>The city council of Springfield voted on {t} after a long debate about \
             budgets, schools and the new bridge across the river on Tuesday evening.</description>\
             <pubDate>Tue, 10 Mar 2026 10:00:00 GMT</pubDate></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

fn two_items() -> String {
    rss(
        "Wire",
        &[("a1", "Budget vote one"), ("a2", "Bridge plan two")],
    )
}

// ---------------------------------------------------------------------------
// Driving poll_feed against a store

fn http_config() -> HttpConfig {
    HttpConfig {
        timeout: Interval::secs(5),
        connect_timeout: Interval::secs(2),
        ..HttpConfig::default()
    }
}

fn secs_until(at: Option<&str>) -> i64 {
    let at = parse_time(at.expect("next check")).expect("time");
    (at - Utc::now()).num_seconds()
}

// ---------------------------------------------------------------------------
// Fetch behaviour

#[tokio::test]
async fn etag_200_then_304_stores_validators_and_writes_nothing_else() {
    let server = Server::start(|req, _| match req.header("if-none-match") {
        Some("\"v1\"") => with(304, &[("ETag", "\"v1\"")], ""),
        _ => with(
            200,
            &[("ETag", "\"v1\""), ("Content-Type", "application/rss+xml")],
            &two_items(),
        ),
    });
    let ctx = Ctx::new(http_config());
    let id = ctx.subscribe(&server.url("/feed")).await;

    let first = ctx.poll(id).await;
    assert_eq!(first.report().map(|r| r.new), Some(2));
    let s = ctx.status(id);
    assert_eq!(
        (s.last_status, s.has_validators, s.entries, s.error_count),
        (Some(200), true, 2, 0)
    );
    let checked = s.last_check_at.clone();
    let ingested = ctx.query_str("SELECT last_ingested FROM feeds");
    let last_seen = ctx.query_str("SELECT max(last_seen) FROM entries");

    std::thread::sleep(Duration::from_millis(1100)); // store times have whole seconds
    let second = ctx.poll(id).await;
    assert!(second.report().is_none(), "a 304 is not ingested");
    let reqs = server.requests("/feed");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header("if-none-match"), None);
    assert_eq!(reqs[1].header("if-none-match"), Some("\"v1\""));
    let s = ctx.status(id);
    assert_eq!((s.last_status, s.entries), (Some(304), 2));
    assert_eq!(
        ctx.query_str("SELECT last_ingested FROM feeds"),
        ingested,
        "feed row untouched"
    );
    assert_eq!(
        ctx.query_str("SELECT max(last_seen) FROM entries"),
        last_seen,
        "entries untouched"
    );
    assert!(s.last_check_at > checked, "check time recorded");
    // Entries dated months ago: no weekly rate, so max_interval, kept by the 304.
    let wait = secs_until(s.next_check_at.as_deref());
    assert!(
        (3595..=3600).contains(&wait),
        "the remembered interval stands: {wait}"
    );
}

#[tokio::test]
async fn last_modified_200_then_304() {
    const LM: &str = "Tue, 10 Mar 2026 10:00:00 GMT";
    let server = Server::start(|req, _| match req.header("if-modified-since") {
        Some(LM) => with(304, &[], ""),
        _ => with(200, &[("Last-Modified", LM)], &two_items()),
    });
    let ctx = Ctx::new(http_config());
    let id = ctx.subscribe(&server.url("/lm")).await;
    assert_eq!(ctx.poll(id).await.report().map(|r| r.new), Some(2));
    assert_eq!(
        ctx.query_str("SELECT last_modified FROM subscriptions")
            .as_deref(),
        Some(LM)
    );
    assert!(ctx.poll(id).await.report().is_none());
    let reqs = server.requests("/lm");
    assert_eq!(reqs[1].header("if-modified-since"), Some(LM));
    assert_eq!(reqs[1].header("if-none-match"), None);
    assert_eq!(ctx.status(id).last_status, Some(304));
}

#[tokio::test]
async fn gzip_bodies_are_decoded() {
    let server = Server::start(|req, _| {
        if !req.header("accept-encoding").unwrap_or("").contains("gzip") {
            return with(400, &[], "gzip expected");
        }
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(two_items().as_bytes()).expect("gzip");
        let body = enc.finish().expect("gzip");
        Resp::Full {
            status: 200,
            headers: vec![("Content-Encoding".into(), "gzip".into())],
            body,
        }
    });
    let ctx = Ctx::new(http_config());
    let id = ctx.subscribe(&server.url("/gz")).await;
    assert_eq!(ctx.poll(id).await.report().map(|r| r.new), Some(2));
    assert_eq!(ctx.query_i64("SELECT count(*) FROM entries"), 2);
}

#[tokio::test]
async fn rate_limited_429_honours_retry_after() {
    let server = Server::start(|_, _| with(429, &[("Retry-After", "1800")], "slow down"));
    let ctx = Ctx::new(http_config());
    let id = ctx.subscribe(&server.url("/busy")).await;
    let r = ctx.poll(id).await;
    assert_eq!(r.error_count(), 1);
    let s = ctx.status(id);
    assert_eq!(s.last_status, Some(429));
    assert!(
        s.last_error
            .as_deref()
            .unwrap_or("")
            .contains("rate limited"),
        "{s:?}"
    );
    let wait = secs_until(s.next_check_at.as_deref());
    assert!(
        (1795..=1800).contains(&wait),
        "Retry-After, not the 60s backoff: {wait}"
    );
}

#[tokio::test]
async fn unavailable_503_with_retry_after_is_rate_limiting_and_without_it_an_error() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/maint" => with(503, &[("Retry-After", "900")], "maintenance"),
        _ => with(503, &[], "down"),
    });
    let ctx = Ctx::new(http_config());
    let maint = ctx.subscribe(&server.url("/maint")).await;
    let down = ctx.subscribe(&server.url("/down")).await;
    ctx.poll(maint).await;
    ctx.poll(down).await;
    let (m, d) = (ctx.status(maint), ctx.status(down));
    assert!(
        m.last_error
            .as_deref()
            .unwrap_or("")
            .contains("rate limited (503)"),
        "{m:?}"
    );
    let wait = secs_until(m.next_check_at.as_deref());
    assert!((895..=900).contains(&wait), "{wait}");
    assert!(
        d.last_error
            .as_deref()
            .unwrap_or("")
            .contains("server answered 503"),
        "{d:?}"
    );
    let wait = secs_until(d.next_check_at.as_deref());
    assert!(
        (55..=60).contains(&wait),
        "plain backoff from min_interval: {wait}"
    );
}

#[tokio::test]
async fn rss_ttl_and_cache_control_lengthen_the_interval() {
    let server = Server::start(|req, _| {
        let ttl =
            rss("Wire", &[("a1", "Budget vote one")]).replace("<link>", "<ttl>120</ttl><link>");
        match req.path.as_str() {
            "/ttl" => with(200, &[("Cache-Control", "max-age=60")], &ttl),
            _ => with(
                200,
                &[("Cache-Control", "public, max-age=5400")],
                &two_items(),
            ),
        }
    });
    let ctx = Ctx::new(http_config());
    let ttl = ctx.subscribe(&server.url("/ttl")).await;
    let cc = ctx.subscribe(&server.url("/cc")).await;
    ctx.poll(ttl).await;
    ctx.poll(cc).await;
    // max_interval is 1h here; the hints ask for 2h and 90m.
    let wait = secs_until(ctx.status(ttl).next_check_at.as_deref());
    assert!(
        (7195..=7200).contains(&wait),
        "RSS ttl of 120 minutes: {wait}"
    );
    let wait = secs_until(ctx.status(cc).next_check_at.as_deref());
    assert!((5395..=5400).contains(&wait), "max-age: {wait}");
    assert_eq!(
        ctx.status(cc).current_interval_seconds,
        Some(3600),
        "the regular interval is kept"
    );
}

#[tokio::test]
async fn server_errors_back_off_and_recover() {
    let server = Server::start(|_, nth| {
        if nth < 3 {
            with(500, &[], "oops")
        } else {
            ok(&two_items())
        }
    });
    let ctx = Ctx::new(http_config());
    let id = ctx.subscribe(&server.url("/flaky")).await;
    let mut waits = Vec::new();
    for n in 1..=3 {
        let r = ctx.poll(id).await;
        assert_eq!(r.error_count(), n);
        let s = ctx.status(id);
        assert_eq!(s.last_status, Some(500));
        waits.push(secs_until(s.next_check_at.as_deref()));
    }
    for (wait, expect) in waits.iter().zip([60, 120, 240]) {
        assert!((expect - 5..=expect).contains(wait), "{waits:?}");
    }
    let r = ctx.poll(id).await;
    assert_eq!((r.error_count(), r.report().map(|r| r.new)), (0, Some(2)));
    let s = ctx.status(id);
    assert_eq!((s.error_count, s.last_status, s.entries), (0, Some(200), 2));
    assert!(
        s.last_error.as_deref().unwrap_or("").contains("500"),
        "the last error stays visible"
    );
    assert!(s.last_success_at.is_some());
}

#[tokio::test]
async fn a_permanent_redirect_to_a_private_host_does_not_move_the_feed() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/old" => with(301, &[("Location", "/new")], ""),
        "/new" => ok(&two_items()),
        _ => with(404, &[], ""),
    });
    let ctx = Ctx::new(http_config());
    let old = server.url("/old");
    let id = ctx.subscribe(&old).await;
    assert_eq!(ctx.poll(id).await.report().map(|r| r.new), Some(2));
    let sub = ctx.sub(id).await.expect("sub");
    assert_eq!(sub.url, old, "127.0.0.1 is not public: the URL stays");
}

#[tokio::test]
async fn permanent_redirect_updates_the_stored_url_and_temporary_does_not() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/old" => with(301, &[("Location", "/new")], ""),
        "/new" => ok(&two_items()),
        "/temp" => with(302, &[("Location", "/elsewhere")], ""),
        "/elsewhere" => ok(&rss("Other", &[("b1", "Other story")])),
        _ => with(404, &[], ""),
    });
    // A move to a non-public host never becomes the feed's URL: here
    // 127.0.0.1 stands for a public host.
    let ctx = Ctx::new(HttpConfig {
        public_hosts: vec!["127.0.0.1".into()],
        ..http_config()
    });
    let old = server.url("/old");
    let id = ctx.subscribe(&old).await;
    assert_eq!(ctx.poll(id).await.report().map(|r| r.new), Some(2));
    let sub = ctx.sub(id).await.expect("sub");
    assert_eq!(sub.url, server.url("/new"));
    assert_eq!(sub.configured_url, old);
    assert_eq!(
        ctx.query_str("SELECT url FROM feeds").as_deref(),
        Some(server.url("/new").as_str())
    );
    ctx.poll(id).await;
    assert_eq!(
        server.requests("/old").len(),
        1,
        "the old URL is not asked again"
    );
    assert_eq!(server.requests("/new").len(), 2);
    assert_eq!(
        ctx.query_i64("SELECT count(*) FROM feeds"),
        1,
        "still one feed"
    );

    let temp = server.url("/temp");
    let tid = ctx.subscribe(&temp).await;
    assert_eq!(ctx.poll(tid).await.report().map(|r| r.new), Some(1));
    assert_eq!(
        ctx.sub(tid).await.expect("sub").url,
        temp,
        "302 keeps the URL"
    );
}

#[tokio::test]
async fn gone_410_stops_polling_visibly_and_add_resumes() {
    let server = Server::start(|_, _| with(410, &[], "gone"));
    let ctx = Ctx::new(http_config());
    let url = server.url("/retired");
    let id = ctx.subscribe(&url).await;
    let r = ctx.poll(id).await;
    assert_eq!(r, Recorded::Gone);
    assert!(r.subscription().is_none(), "no longer active");
    assert!(ctx.sub(id).await.is_none());
    let s = ctx.status(id);
    assert!(s.gone_at.is_some() && s.next_check_at.is_none(), "{s:?}");
    assert_eq!(s.last_status, Some(410));
    let spec = FeedSpec {
        url: url.clone(),
        name: None,
        interval: None,
    };
    let added = ctx.store().add_feed(spec, Origin::Cli).await.expect("add");
    assert_eq!(added, subscriptions::Added::Revived);
    assert!(ctx.sub(id).await.is_some());
}

#[tokio::test]
async fn a_body_that_never_finishes_times_out() {
    let server = Server::start(|_, _| Resp::Stall);
    let ctx = Ctx::new(HttpConfig {
        timeout: Interval::secs(1),
        ..http_config()
    });
    let id = ctx.subscribe(&server.url("/stall")).await;
    let started = Instant::now();
    let r = ctx.poll(id).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.error_count(), 1);
    let s = ctx.status(id);
    assert!(
        s.last_error.as_deref().unwrap_or("").contains("timed out"),
        "{s:?}"
    );
    assert_eq!(s.entries, 0);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_while_streaming() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/chunked" => Resp::Chunked(50_000),
        _ => ok(&"x".repeat(50_000)),
    });
    let ctx = Ctx::new(HttpConfig {
        max_body: 10_000,
        ..http_config()
    });
    for path in ["/chunked", "/sized"] {
        let id = ctx.subscribe(&server.url(path)).await;
        let r = ctx.poll(id).await;
        assert_eq!(r.error_count(), 1, "{path}");
        let s = ctx.status(id);
        assert!(
            s.last_error
                .as_deref()
                .unwrap_or("")
                .contains("10000-byte limit"),
            "{path}: {s:?}"
        );
    }
    assert_eq!(ctx.query_i64("SELECT count(*) FROM entries"), 0);
}

#[tokio::test]
async fn a_redirect_loop_is_an_error_and_keeps_the_url() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/a" => with(301, &[("Location", "/b")], ""),
        _ => with(301, &[("Location", "/a")], ""),
    });
    let ctx = Ctx::new(http_config());
    let url = server.url("/a");
    let id = ctx.subscribe(&url).await;
    let r = ctx.poll(id).await;
    assert_eq!(r.error_count(), 1);
    let s = ctx.status(id);
    assert!(
        s.last_error
            .as_deref()
            .unwrap_or("")
            .contains("redirect loop"),
        "{s:?}"
    );
    assert_eq!(s.url, url);
    assert_eq!(server.requests("/a").len() + server.requests("/b").len(), 2);
}

#[tokio::test]
async fn a_slow_host_does_not_hold_up_another_host() {
    // Same server, two host names: 127.0.0.1 stalls, localhost answers.
    let server = Server::start(|req, _| {
        if req.path.starts_with("/slow") {
            Resp::Delayed(Duration::from_millis(2000), Box::new(ok(&two_items())))
        } else {
            ok(&rss("Fast", &[("f1", "Fast story")]))
        }
    });
    let ctx = Ctx::new(HttpConfig {
        per_host: 1,
        concurrency: 4,
        ..http_config()
    });
    let slow = ctx.subscribe(&server.url("/slow")).await;
    let slow2 = ctx.subscribe(&server.url("/slow?2")).await;
    let fast = ctx
        .subscribe(&server.url("/fast").replace("127.0.0.1", "localhost"))
        .await;
    let started = Instant::now();
    let (a, b, c) = tokio::join!(ctx.poll(slow), ctx.poll(slow2), async {
        let r = ctx.poll(fast).await;
        (r, started.elapsed())
    });
    assert!(
        c.1 < Duration::from_millis(1800),
        "the fast host waited: {:?}",
        c.1
    );
    assert!(
        started.elapsed() >= Duration::from_millis(3900),
        "one at a time per host: {:?}",
        started.elapsed()
    );
    assert_eq!(
        (a.error_count(), b.error_count(), c.0.error_count()),
        (0, 0, 0)
    );
}

// ---------------------------------------------------------------------------
// The real binary: signals, sd_notify, CLI

struct Daemon {
    child: Child,
    notify: UnixDatagram,
}

fn feedfold() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedfold"));
    cmd.env_remove("FEEDFOLD_CONFIG")
        .env_remove("FEEDFOLD_LOG")
        .env_remove("NOTIFY_SOCKET");
    cmd
}

fn write_config(path: &Path, db: &Path, feeds: &[String]) {
    let mut text = format!(
        "database = {:?}\n[polling]\nmin_interval = \"1s\"\ndefault_interval = \"1s\"\nmax_interval = \"2s\"\n\
         jitter = 0.0\nshutdown_grace = \"5s\"\n[http]\ntimeout = \"5s\"\n",
        db.display().to_string()
    );
    for f in feeds {
        text.push_str(&format!("[[feeds]]\nurl = {f:?}\n"));
    }
    std::fs::write(path, text).expect("write config");
}

impl Daemon {
    fn start(dir: &Path, config: &Path) -> Daemon {
        let sock = dir.join("notify.sock");
        let notify = UnixDatagram::bind(&sock).expect("bind notify socket");
        notify
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let child = feedfold()
            .args([
                "--config",
                config.to_str().expect("utf-8"),
                "--log-format",
                "plain",
                "run",
            ])
            .env("NOTIFY_SOCKET", &sock)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start feedfold run");
        Daemon { child, notify }
    }

    /// The next sd_notify message.
    fn message(&self) -> String {
        let mut buf = [0u8; 512];
        let n = self.notify.recv(&mut buf).expect("an sd_notify message");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    fn signal(&self, name: &str) {
        // The shell's builtin `kill`: no procps needed.
        let script = format!("kill -{name} {}", self.child.id());
        let status = Command::new("sh").args(["-c", &script]).status();
        assert!(status.expect("kill").success());
    }

    /// Waits for the exit (at most 20 s) and returns the status and stderr.
    fn wait(mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("feedfold did not exit");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        (status, err)
    }
}

fn consistent_store(db: &Path) {
    let conn = store::open_reader(db).expect("reader");
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(ok, "ok");
    let bad: i64 = conn
        .query_row(
            "SELECT count(*) FROM stories s WHERE entry_count <> (SELECT count(*) FROM entries e WHERE e.story_id = s.id)",
            [],
            |r| r.get(0),
        )
        .expect("query");
    assert_eq!(bad, 0, "story counts match their entries");
}

#[test]
fn sigterm_during_polling_finishes_the_fetch_and_exits_cleanly() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/slow" => Resp::Delayed(
            Duration::from_millis(800),
            Box::new(ok(&rss(
                "Slow",
                &[("s1", "Slow one"), ("s2", "Slow two"), ("s3", "Slow three")],
            ))),
        ),
        _ => ok(&two_items()),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, db) = (dir.path().join("feedfold.toml"), dir.path().join("ff.db"));
    write_config(&config, &db, &[server.url("/a"), server.url("/slow")]);
    let daemon = Daemon::start(dir.path(), &config);
    assert!(daemon.message().starts_with("READY=1"));
    server.wait_for("/slow", Duration::from_secs(10));
    daemon.signal("TERM"); // while /slow is being answered
    assert!(daemon.message().starts_with("STOPPING=1"));
    let (status, err) = daemon.wait();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("feedfold stopped"), "{err}");
    consistent_store(&db);
    let conn = store::open_reader(&db).expect("reader");
    let rows = subscriptions::statuses(&conn).expect("statuses");
    let slow = rows
        .iter()
        .find(|r| r.url.ends_with("/slow"))
        .expect("slow feed");
    assert_eq!(
        slow.entries, 3,
        "the in-flight fetch finished within the grace: {rows:?}"
    );
    assert!(slow.last_success_at.is_some());
}

#[test]
fn sighup_applies_an_added_feed() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/b" => ok(&rss("B", &[("b1", "Harbour ferry strike ends")])),
        _ => ok(&two_items()),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, db) = (dir.path().join("feedfold.toml"), dir.path().join("ff.db"));
    write_config(&config, &db, &[server.url("/a")]);
    let daemon = Daemon::start(dir.path(), &config);
    assert!(daemon.message().starts_with("READY=1"));
    server.wait_for("/a", Duration::from_secs(10));
    assert!(server.requests("/b").is_empty());
    write_config(&config, &db, &[server.url("/a"), server.url("/b")]);
    daemon.signal("HUP");
    assert_eq!(daemon.message(), "RELOADING=1");
    assert!(daemon.message().starts_with("READY=1"));
    server.wait_for("/b", Duration::from_secs(10));
    // Wait until /b's result is recorded (its next poll proves it), then stop.
    server.wait_for("/b", Duration::from_secs(10));
    daemon.signal("TERM");
    let (status, err) = daemon.wait();
    assert_eq!(status.code(), Some(0), "{err}");
    consistent_store(&db);
    let conn = store::open_reader(&db).expect("reader");
    let rows = subscriptions::statuses(&conn).expect("statuses");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let b = rows.iter().find(|r| r.url.ends_with("/b")).expect("b");
    assert_eq!((b.entries, b.error_count), (1, 0), "{rows:?}");
}

#[test]
fn the_watchdog_is_petted_while_the_writer_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, db) = (dir.path().join("feedfold.toml"), dir.path().join("ff.db"));
    write_config(&config, &db, &[]);
    let sock = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&sock).expect("bind");
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let child = feedfold()
        .args(["--config", config.to_str().expect("utf-8"), "run"])
        .env("NOTIFY_SOCKET", &sock)
        .env("WATCHDOG_USEC", "200000")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let daemon = Daemon { child, notify };
    assert!(daemon.message().starts_with("READY=1"));
    assert_eq!(daemon.message(), "WATCHDOG=1");
    assert_eq!(daemon.message(), "WATCHDOG=1");
    daemon.signal("INT");
    let (status, err) = daemon.wait();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("No feeds to poll"), "{err}");
}

#[test]
fn a_bad_config_is_refused_at_start_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[polling]\nmin_interval = \"1s\"\nevery = \"2h\"\n",
    )
    .expect("write");
    let out = feedfold()
        .args(["--config", config.to_str().expect("utf-8"), "run"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("line 3") && err.contains("every"),
        "{err}"
    );
}

#[test]
fn feeds_and_opml_commands_manage_subscriptions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("ff.db");
    let db_arg = db.to_str().expect("utf-8");
    let run = |args: &[&str]| {
        let out = feedfold().args(args).output().expect("run feedfold");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&[
        "feeds",
        "add",
        "https://a.example/feed",
        "--name",
        "Wire A",
        "--db",
        db_arg,
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("added"));
    let (code, out, _) = run(&["feeds", "add", "https://a.example/feed", "--db", db_arg]);
    assert_eq!((code, out.contains("already subscribed")), (Some(0), true));
    assert_eq!(
        run(&["feeds", "add", "ftp://nope/", "--db", db_arg]).0,
        Some(1)
    );
    assert_eq!(
        run(&[
            "feeds",
            "add",
            "https://b.example/x",
            "--interval",
            "1m",
            "--db",
            db_arg
        ])
        .0,
        Some(1)
    );

    let opml = dir.path().join("in.opml");
    std::fs::write(
        &opml,
        r#"<opml version="2.0"><body><outline text="News"><outline text="B" xmlUrl="https://b.example/rss"/>
           <outline text="Dup" xmlUrl="https://a.example/feed"/></outline></body></opml>"#,
    )
    .expect("write opml");
    let (code, out, err) = run(&[
        "opml",
        "import",
        opml.to_str().expect("utf-8"),
        "--db",
        db_arg,
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("imported 1 feeds (1 already subscribed, 0 skipped)"),
        "{out}"
    );

    let (code, out, _) = run(&["feeds", "list", "--db", db_arg]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("https://a.example/feed  (Wire A)")
            && out.contains("opml")
            && out.contains("new"),
        "{out}"
    );

    let (code, out, _) = run(&["opml", "export", "--db", db_arg]);
    assert_eq!(code, Some(0));
    let exported = feedfold::opml::parse(&out).expect("valid OPML");
    let urls: Vec<&str> = exported.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(urls, ["https://a.example/feed", "https://b.example/rss"]);

    let (code, out, _) = run(&["status", "--long", "--db", db_arg]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("next check    as soon as the daemon runs")
            && out.contains("validators    no"),
        "{out}"
    );
    // The default is a table: a header and one line per feed.
    let (code, out, _) = run(&["status", "--db", db_arg]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("ID  STATE") && lines[0].ends_with("FEED"),
        "{out}"
    );
    assert!(
        lines[1].contains("new")
            && lines[1].contains("never")
            && lines[1].contains("when the daemon runs"),
        "{out}"
    );
    assert!(!out.contains('\x1b'), "no colour when piped: {out}");
    let (code, out, _) = run(&["status", "--json", "--db", db_arg]);
    assert_eq!(code, Some(0));
    assert_eq!(out.lines().count(), 2);

    assert_eq!(
        run(&["feeds", "remove", "https://b.example/rss", "--db", db_arg]).0,
        Some(0)
    );
    assert_eq!(
        run(&["feeds", "remove", "https://b.example/rss", "--db", db_arg]).0,
        Some(1)
    );
    let (_, out, _) = run(&["feeds", "list", "--db", db_arg]);
    assert_eq!(out.lines().count(), 1);
}

#[test]
fn run_once_checks_every_feed_once_then_gets_304s_and_exits() {
    let server = Server::start(|req, _| {
        let body = match req.path.as_str() {
            "/a" => two_items(),
            "/b" => rss("B", &[("b1", "Harbour ferry strike ends")]),
            _ => return with(500, &[], "down"),
        };
        let etag = format!("\"v1{}\"", req.path);
        if req.header("if-none-match") == Some(etag.as_str()) {
            with(304, &[("ETag", &etag)], "")
        } else {
            with(200, &[("ETag", &etag)], &body)
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, db) = (dir.path().join("feedfold.toml"), dir.path().join("ff.db"));
    write_config(
        &config,
        &db,
        &[server.url("/a"), server.url("/b"), server.url("/down")],
    );
    let once = |extra: &[&str]| {
        let out = feedfold()
            .args(["--config", config.to_str().expect("utf-8"), "run", "--once"])
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .expect("run feedfold run --once");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        stdout
    };
    let entries = || {
        let conn = store::open_reader(&db).expect("reader");
        conn.query_row("SELECT count(*) FROM entries", [], |r| r.get::<_, i64>(0))
            .expect("count")
    };

    let first = once(&[]);
    // How many joined depends on which feed is stored first (the test
    // items share a template text); the rest does not.
    assert!(
        first.starts_with(
            "checked 3 feeds: 2 modified (200), 0 not modified (304), 1 failed, 0 gone; \
             3 new entries ("
        ) && first.trim_end().ends_with("joined a story), 0 updated"),
        "{first}"
    );
    assert_eq!(first.lines().count(), 1, "one summary line: {first}");
    assert_eq!(entries(), 3);
    consistent_store(&db);
    let conn = store::open_reader(&db).expect("reader");
    let rows = subscriptions::statuses(&conn).expect("statuses");
    let down = rows
        .iter()
        .find(|r| r.url.ends_with("/down"))
        .expect("down");
    assert_eq!(down.error_count, 1, "{rows:?}");
    let b = rows.iter().find(|r| r.url.ends_with("/b")).expect("b");
    assert_eq!((b.entries, b.last_status), (1, Some(200)), "{rows:?}");
    assert!(
        b.next_check_at.is_some(),
        "the next check is scheduled as usual"
    );

    // Nothing is due yet (the failing feed backs off): a cron job running
    // --once often does not hammer the servers.
    let early = once(&[]);
    assert_eq!(
        early.trim(),
        "checked 0 feeds: 0 modified (200), 0 not modified (304), 0 failed, 0 gone; \
         0 new entries (0 joined a story), 0 updated; 3 not due yet (--now checks them too)"
    );
    for path in ["/a", "/b", "/down"] {
        assert_eq!(server.requests(path).len(), 1, "not asked again: {path}");
    }

    let second = once(&["--now"]);
    assert_eq!(
        second.trim(),
        "checked 3 feeds: 0 modified (200), 2 not modified (304), 1 failed, 0 gone; \
         0 new entries (0 joined a story), 0 updated"
    );
    assert_eq!(entries(), 3, "a 304 stores nothing");
    for path in ["/a", "/b", "/down"] {
        let reqs = server.requests(path);
        assert_eq!(
            reqs.len(),
            2,
            "each feed is checked exactly once per run: {path}"
        );
    }
    assert_eq!(
        server.requests("/a")[1].header("if-none-match"),
        Some("\"v1/a\"")
    );
}
