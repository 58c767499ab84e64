//! Robustness tests (issue 6): hostile servers, crashes and concurrent
//! readers. Every server is started by its test on 127.0.0.1; nothing
//! else is contacted. Fetch behaviour goes through `daemon::poll_feed` (the
//! daemon's per-check code path) or the real `feedfold run` binary; crash
//! tests kill the binary with SIGKILL and check the SQLite file.
//!
//! Figures are printed (`cargo test --test robustness -- --nocapture`).

mod common;
#[path = "common/hostile.rs"]
mod hostile;
#[path = "common/poll.rs"]
mod poll;

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use feedfold::fetcher::HttpConfig;
use feedfold::model::Interval;
use feedfold::store;
use feedfold::store::subscriptions::{self, FeedStatus};
use hostile::{respond, two_items, RawServer};
use poll::Ctx;
use rusqlite::Connection;

// ---------------------------------------------------------------------------
// In-process polling (as in tests/daemon.rs)

fn http_config() -> HttpConfig {
    HttpConfig {
        timeout: Interval::secs(5),
        connect_timeout: Interval::secs(2),
        per_host: 8,
        ..HttpConfig::default()
    }
}

/// Polls the feed once; returns its status afterwards and how long the poll took.
async fn poll_timed(ctx: &Ctx, id: i64) -> (FeedStatus, Duration) {
    let started = Instant::now();
    ctx.poll(id).await;
    (ctx.status(id), started.elapsed())
}

fn last_error(s: &FeedStatus) -> &str {
    s.last_error.as_deref().unwrap_or("")
}

/// Asserts the poll failed (once, nothing stored) with a message containing `needle`.
fn assert_failed(what: &str, s: &FeedStatus, needle: &str) {
    assert_eq!(s.error_count, 1, "{what}: {s:?}");
    assert_eq!(s.entries, 0, "{what}: {s:?}");
    assert!(
        last_error(s).contains(needle),
        "{what}: expected {needle:?} in {:?}",
        last_error(s)
    );
}

// ---------------------------------------------------------------------------
// Hostile servers

#[tokio::test]
async fn endless_and_trickling_responses_end_at_the_timeout() {
    let server = RawServer::start(|req, mut s| {
        let started = Instant::now();
        let cap = Duration::from_secs(20);
        match req.path.as_str() {
            // A body that never ends, 100 KB/s of feed items.
            "/endless" => {
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n<rss version=\"2.0\"><channel><title>x</title>",
                );
                let item =
                    "<item><title>again</title><description>more and more</description></item>"
                        .repeat(30);
                while started.elapsed() < cap {
                    if s.write_all(item.as_bytes()).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            // One byte per second of a 100 kB body.
            "/trickle" => {
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n",
                );
                while started.elapsed() < cap {
                    if s.write_all(b"<").is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
            // A head that never ends: a header line every 100 ms.
            _ => {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
                let mut n = 0;
                while started.elapsed() < cap {
                    n += 1;
                    if s.write_all(format!("X-Slow-{n}: y\r\n").as_bytes())
                        .is_err()
                    {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    });
    let ctx = Ctx::new(HttpConfig {
        timeout: Interval::secs(2),
        ..http_config()
    });
    let endless = ctx.subscribe(&server.url("/endless")).await;
    let trickle = ctx.subscribe(&server.url("/trickle")).await;
    let slow_head = ctx.subscribe(&server.url("/slow-head")).await;
    let (a, b, c) = tokio::join!(
        poll_timed(&ctx, endless),
        poll_timed(&ctx, trickle),
        poll_timed(&ctx, slow_head)
    );
    for (what, (s, took)) in [("endless", a), ("1 byte/s", b), ("slow head", c)] {
        println!("{what}: ended after {took:?}: {}", last_error(&s));
        assert!(
            took < Duration::from_millis(3500),
            "{what} took {took:?} with a 2s timeout"
        );
        assert_failed(what, &s, "timed out after 2s");
    }
}

/// A compressed body: a start, then a segment that, repeated, keeps
/// adding 1 MiB of spaces to an RSS description (the stream is never
/// finished: no client gets that far).
struct Bomb {
    start: Vec<u8>,
    segment: Vec<u8>,
}

/// Builds the bomb by compressing 1 MiB blocks with sync flushes until the
/// flushed output of a block repeats (it does once the window is all
/// spaces), so serving gigabytes costs no compression.
fn bomb(encoding: &str) -> Bomb {
    fn stable<W: Write>(mut enc: W, out: impl Fn(&mut W) -> Vec<u8>) -> Bomb {
        let block = vec![b' '; 1 << 20];
        let prefix =
            b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>bomb</title><description>";
        enc.write_all(prefix).expect("compress");
        let mut previous = Vec::new();
        let mut start = Vec::new();
        for _ in 0..8 {
            enc.write_all(&block).expect("compress");
            enc.flush().expect("flush");
            let segment = out(&mut enc);
            if segment == previous {
                return Bomb { start, segment };
            }
            start.extend_from_slice(&previous);
            previous = segment;
        }
        panic!("the compressed blocks never repeat");
    }
    let level = flate2::Compression::default();
    if encoding == "gzip" {
        stable(flate2::write::GzEncoder::new(Vec::new(), level), |e| {
            std::mem::take(e.get_mut())
        })
    } else {
        stable(flate2::write::ZlibEncoder::new(Vec::new(), level), |e| {
            std::mem::take(e.get_mut())
        })
    }
}

/// Sends `mib` MiB of spaces compressed as `encoding`; returns the bytes sent.
fn send_bomb(mut stream: TcpStream, encoding: &str, bomb: &Bomb, mib: usize) -> usize {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Encoding: {encoding}\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(head.as_bytes()).is_err() || stream.write_all(&bomb.start).is_err() {
        return 0;
    }
    let mut sent = bomb.start.len();
    for _ in 0..mib {
        if stream.write_all(&bomb.segment).is_err() {
            break;
        }
        sent += bomb.segment.len();
    }
    sent
}

#[tokio::test]
async fn bombs_stop_at_max_body_in_process() {
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let (gzip, deflate) = (bomb("gzip"), bomb("deflate"));
    let server = RawServer::start(move |req, s| {
        let n = if req.path == "/deflate" {
            send_bomb(s, "deflate", &deflate, 4096)
        } else {
            send_bomb(s, "gzip", &gzip, 4096)
        };
        counter.fetch_add(n, Ordering::SeqCst);
    });
    let ctx = Ctx::new(HttpConfig {
        max_body: 2 << 20,
        ..http_config()
    });
    for path in ["/gzip", "/deflate"] {
        let id = ctx.subscribe(&server.url(path)).await;
        let (s, took) = poll_timed(&ctx, id).await;
        println!("{path} bomb: {took:?}: {}", last_error(&s));
        assert_failed(path, &s, "2097152-byte limit");
    }
}

fn vm_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn a_gzip_bomb_leaves_the_daemon_alive_with_bounded_memory() {
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let gzip = bomb("gzip");
    println!(
        "gzip bomb: {} bytes of gzip per MiB of spaces; 4 GiB = {} KiB",
        gzip.segment.len(),
        (gzip.start.len() + 4096 * gzip.segment.len()) / 1024
    );
    let server = RawServer::start(move |req, s| {
        if req.path == "/bomb" {
            // 4 GiB of spaces once decompressed.
            let n = send_bomb(s, "gzip", &gzip, 4096);
            counter.fetch_add(n, Ordering::SeqCst);
        } else {
            respond(s, 200, &[], two_items().as_bytes());
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("ff.db");
    let config = dir.path().join("ff.toml");
    // The default max_body: 16 MiB.
    write_config(&config, &db, &[server.url("/bomb"), server.url("/ok")], "");
    let mut daemon = Daemon::start(&config, dir.path());
    let deadline = Instant::now() + Duration::from_secs(20);
    let bomb = loop {
        assert!(Instant::now() < deadline, "the bomb was not recorded");
        assert!(daemon.alive(), "the daemon died: {}", daemon.log());
        if let Some(rows) = statuses(&db) {
            let bomb = rows.iter().find(|r| r.url.ends_with("/bomb")).cloned();
            let ok = rows.iter().find(|r| r.url.ends_with("/ok"));
            if let (Some(b), Some(o)) = (bomb, ok) {
                if b.error_count > 0 && o.entries == 2 {
                    break b;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let hwm = vm_kb(daemon.child.id(), "VmHWM:").expect("VmHWM");
    println!(
        "gzip bomb: {} KiB of gzip sent; daemon peak RSS (VmHWM) {} MiB; error: {}",
        sent.load(Ordering::SeqCst) / 1024,
        hwm / 1024,
        last_error(&bomb)
    );
    assert!(
        last_error(&bomb).contains("16777216-byte limit"),
        "{bomb:?}"
    );
    assert_eq!(bomb.entries, 0);
    assert!(hwm < 200 * 1024, "peak RSS {hwm} KiB");
    assert!(daemon.alive());
    daemon.stop();
    check_store(&db);
}

#[tokio::test]
async fn huge_and_garbage_response_heads_are_refused() {
    let server = RawServer::start(|req, mut s| {
        let head = match req.path.as_str() {
            // One 4 MiB header.
            "/huge-header" => format!(
                "HTTP/1.1 200 OK\r\nX-Junk: {}\r\nContent-Length: 0\r\n\r\n",
                "a".repeat(4 << 20)
            ),
            // 20,000 small headers.
            "/many-headers" => {
                let mut h = String::from("HTTP/1.1 200 OK\r\n");
                for i in 0..20_000 {
                    h.push_str(&format!("X-H{i}: v\r\n"));
                }
                h + "Content-Length: 0\r\n\r\n"
            }
            "/not-http" => "SSH-2.0-OpenSSH_9.6\r\n\r\n".to_string(),
            "/bad-status" => "HTTP/1.1 9999 Nope\r\nContent-Length: 0\r\n\r\n".to_string(),
            // Promises 1000 bytes, sends 10, hangs up.
            _ => "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<rss versi".to_string(),
        };
        let _ = s.write_all(head.as_bytes());
    });
    let ctx = Ctx::new(http_config());
    for (path, needle) in [
        ("/huge-header", "request failed"),
        ("/many-headers", "request failed"),
        ("/not-http", "request failed"),
        ("/bad-status", "request failed"),
        ("/truncated", "request failed"),
    ] {
        let id = ctx.subscribe(&server.url(path)).await;
        let (s, took) = poll_timed(&ctx, id).await;
        println!("{path}: {took:?}: {}", last_error(&s));
        assert!(took < Duration::from_secs(4), "{path}: {took:?}");
        assert_failed(path, &s, needle);
    }
}

#[tokio::test]
async fn redirect_loops_and_non_http_redirects_are_refused() {
    let server = RawServer::start(|req, s| {
        let path = req.path.clone();
        let location = if let Some(n) = path.strip_prefix("/chain/") {
            format!("/chain/{}", n.parse::<u32>().unwrap_or(0) + 1)
        } else {
            match path.as_str() {
                "/self" => "/self".to_string(),
                "/file" => "file:///etc/passwd".to_string(),
                "/ftp" => "ftp://127.0.0.1/feed.xml".to_string(),
                "/gopher" => "gopher://127.0.0.1:70/1".to_string(),
                "/data" => "data:application/rss+xml,<rss/>".to_string(),
                "/javascript" => "javascript:alert(1)".to_string(),
                "/no-host" => "http://".to_string(),
                _ => String::new(),
            }
        };
        respond(s, 301, &[("Location", &location)], b"");
    });
    let ctx = Ctx::new(http_config());
    let cases = [
        ("/chain/0", "more than 5 redirects"),
        ("/self", "redirect loop"),
        ("/file", "non-http(s) URL refused: file:///etc/passwd"),
        ("/ftp", "non-http(s) URL refused: ftp://"),
        ("/gopher", "non-http(s) URL refused: gopher://"),
        ("/data", "non-http(s) URL refused: data:"),
        ("/javascript", "non-http(s) URL refused: javascript:"),
        ("/no-host", "redirect (301) without a usable Location"),
    ];
    for (path, needle) in cases {
        let url = server.url(path);
        let id = ctx.subscribe(&url).await;
        let (s, _) = poll_timed(&ctx, id).await;
        println!("{path}: {}", last_error(&s));
        assert_failed(path, &s, needle);
        assert_eq!(s.url, url, "{path}: a refused 301 does not move the feed");
    }
    assert_eq!(server.hits("/file"), 1);
    assert_eq!(
        (0..8)
            .map(|n| server.hits(&format!("/chain/{n}")))
            .sum::<usize>(),
        6,
        "the first request and 5 redirects"
    );
}

#[tokio::test]
async fn deny_private_addresses_refuses_loopback_feeds_when_on() {
    let server = RawServer::start(|_, s| respond(s, 200, &[], two_items().as_bytes()));
    let port = server.base.rsplit(':').next().expect("port").to_string();
    let on = Ctx::new(HttpConfig {
        deny_private_addresses: true,
        ..http_config()
    });
    let urls = [
        server.url("/v4"),
        format!("http://localhost:{port}/name"),
        format!("http://[::ffff:127.0.0.1]:{port}/mapped"),
        format!("http://[::1]:{port}/v6"),
        format!("http://2130706433:{port}/decimal"),
    ];
    for url in &urls {
        let id = on.subscribe(url).await;
        let (s, _) = poll_timed(&on, id).await;
        println!("deny on, {url}: {}", last_error(&s));
        assert_failed(url, &s, "private or local address");
    }
    assert_eq!(server.total_hits(), 0, "no request reached the server");

    let off = Ctx::new(http_config());
    let id = off.subscribe(&server.url("/v4")).await;
    let (s, _) = poll_timed(&off, id).await;
    assert_eq!((s.error_count, s.entries), (0, 2), "{s:?}");
    let id = off
        .subscribe(&format!("http://localhost:{port}/name"))
        .await;
    let (s, _) = poll_timed(&off, id).await;
    assert_eq!((s.error_count, s.entries), (0, 2), "{s:?}");
}

// ---------------------------------------------------------------------------
// The real binary

fn feedfold() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedfold"));
    for var in [
        "FEEDFOLD_CONFIG",
        "FEEDFOLD_LOG",
        "NOTIFY_SOCKET",
        "RUST_LOG",
        "http_proxy",
        "HTTP_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost");
    cmd
}

/// A config polling `feeds` every second or two; `extra` goes into `[http]`.
fn write_config(path: &Path, db: &Path, feeds: &[String], extra: &str) {
    let mut text = format!(
        "database = {:?}\n[polling]\nmin_interval = \"1s\"\ndefault_interval = \"1s\"\nmax_interval = \"2s\"\n\
         jitter = 0.0\nshutdown_grace = \"5s\"\n[http]\ntimeout = \"5s\"\nper_host = 8\n{extra}\n",
        db.display().to_string()
    );
    for f in feeds {
        text.push_str(&format!("[[feeds]]\nurl = {f:?}\n"));
    }
    std::fs::write(path, text).expect("write config");
}

/// A running `feedfold run`, its stderr going to a file.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(config: &Path, dir: &Path) -> Daemon {
        let log = dir.join(format!(
            "daemon-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let err = std::fs::File::create(&log).expect("log file");
        let child = feedfold()
            .args([
                "--config",
                config.to_str().expect("utf-8"),
                "--log-format",
                "plain",
                "run",
            ])
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("start feedfold run");
        Daemon { child, log }
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no chance to finish anything.
    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits (at most 20 s) for exit code 0.
    fn stop(mut self) {
        let script = format!("kill -TERM {}", self.child.id());
        let _ = Command::new("sh").args(["-c", &script]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert_eq!(status.code(), Some(0), "{}", self.log());
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("feedfold did not stop: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (at most `within`) for the process to exit; its code.
    fn exit_code(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("feedfold did not exit: {}", self.log());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The subscriptions' state, if the store can be read yet.
fn statuses(db: &Path) -> Option<Vec<FeedStatus>> {
    let conn = store::open_reader(db).ok()?;
    subscriptions::statuses(&conn).ok()
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn entry_count(db: &Path) -> i64 {
    store::open_reader(db)
        .ok()
        .and_then(|c| {
            c.query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
                .ok()
        })
        .unwrap_or(0)
}

/// Checks the file after a crash: SQLite's and the full-text index's
/// integrity, foreign keys, and that nothing is half-written. Returns the
/// number of entries.
fn check_store(db: &Path) -> i64 {
    // A read-write connection recovers the WAL as SQLite would on restart.
    let conn = Connection::open(db).expect("open store");
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(ok, "ok");
    let fk: i64 = count(&conn, "SELECT count(*) FROM pragma_foreign_key_check");
    assert_eq!(fk, 0, "foreign key violations");
    conn.execute(
        "INSERT INTO entries_fts(entries_fts, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .expect("the full-text index matches the entries");
    common::assert_consistent(&conn);
    for (what, sql) in [
        (
            "entries without features or fingerprint",
            "SELECT count(*) FROM entries WHERE features IS NULL OR length(features) = 0 OR fingerprint IS NULL",
        ),
        (
            "stories whose representative entry is missing",
            "SELECT count(*) FROM stories WHERE representative_id NOT IN (SELECT id FROM entries)",
        ),
        (
            "feeds with entries but no successful poll recorded",
            "SELECT count(*) FROM feeds f WHERE EXISTS (SELECT 1 FROM entries e WHERE e.feed_id = f.id)
               AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.feed_id = f.id AND s.last_success_at IS NOT NULL)",
        ),
    ] {
        assert_eq!(count(&conn, sql), 0, "{what}");
    }
    count(&conn, "SELECT count(*) FROM entries")
}

// ---------------------------------------------------------------------------
// Synthetic syndication: F feeds carrying copies of the same stories

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "ba", "de", "fu", "go", "hi", "ja", "ke", "lu",
    "ma", "no", "pe", "qui", "sa", "te", "vu", "wo",
];

/// A deterministic pseudo-random word for (story, position).
fn word(story: u64, i: u64) -> String {
    let mut x = story
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(i.wrapping_mul(0xbf58_476d_1ce4_e5b9))
        ^ 0x94d0_49bb_1331_11eb;
    let mut w = String::new();
    for _ in 0..3 {
        x ^= x >> 29;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^= x >> 32;
        w.push_str(SYLLABLES[(x % SYLLABLES.len() as u64) as usize]);
    }
    w
}

/// Feed `f`'s document with stories `0..stories`: each story's copy has
/// the same title and text in every feed, dated a second apart per feed.
fn syndicated_feed(f: usize, stories: usize, words: u64) -> String {
    let items: Vec<(String, String, String, String)> = (0..stories)
        .map(|k| {
            let k64 = k as u64;
            let title: Vec<String> = (0..6).map(|i| word(k64, i)).collect();
            let text: Vec<String> = (0..words).map(|i| word(k64, 100 + i)).collect();
            let at = chrono::DateTime::from_timestamp(1_773_136_800 + k as i64 * 600 + f as i64, 0)
                .expect("date")
                .to_rfc2822();
            (format!("f{f}-s{k}"), title.join(" "), text.join(" "), at)
        })
        .collect();
    hostile::rss(&format!("Feed {f}"), &items)
}

/// Serves `/feed/F` with `stories` stories of `words` words.
fn syndication_server(stories: Arc<AtomicUsize>, words: u64) -> RawServer {
    RawServer::start(move |req, s| {
        let f: usize = req
            .path
            .strip_prefix("/feed/")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let doc = syndicated_feed(f, stories.load(Ordering::SeqCst), words);
        respond(
            s,
            200,
            &[("Content-Type", "application/rss+xml")],
            doc.as_bytes(),
        );
    })
}

/// Entries (feed URL, guid and content) and the story partition, in an
/// order-independent form.
type Snapshot = (
    Vec<(String, String, String, String, i64, Vec<u8>)>,
    Vec<Vec<String>>,
);

fn snapshot(db: &Path) -> Snapshot {
    let conn = store::open_reader(db).expect("reader");
    let mut stmt = conn
        .prepare(
            "SELECT f.url, e.guid, e.title, e.published, e.content_hash, e.features
               FROM entries e JOIN feeds f ON f.id = e.feed_id ORDER BY f.url, e.guid",
        )
        .expect("prepare");
    let entries = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    let mut stmt = conn
        .prepare(
            "SELECT e.story_id, f.url || ' ' || e.guid, s.representative_id = e.id
               FROM entries e JOIN feeds f ON f.id = e.feed_id JOIN stories s ON s.id = e.story_id
              ORDER BY e.story_id",
        )
        .expect("prepare");
    let mut stories: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    for (story, member, representative) in rows {
        let v = stories.entry(story).or_default();
        // The representative is marked, so it must agree too.
        v.push(if representative {
            format!("*{member}")
        } else {
            member
        });
    }
    let mut partition: Vec<Vec<String>> = stories
        .into_values()
        .map(|mut v| {
            v.sort();
            v
        })
        .collect();
    partition.sort();
    (entries, partition)
}

/// Waits (at most `within`) until the store holds `want` entries.
fn wait_for_entries(db: &Path, want: i64, within: Duration, daemon: &mut Daemon) -> Duration {
    let started = Instant::now();
    loop {
        if entry_count(db) >= want {
            return started.elapsed();
        }
        assert!(daemon.alive(), "the daemon died: {}", daemon.log());
        assert!(
            started.elapsed() < within,
            "only {} of {want} entries after {within:?}: {}",
            entry_count(db),
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A small xorshift generator, seeded from the clock (the seed is printed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Waits until the server has answered more than `hits` requests.
fn wait_for_fetch(server: &RawServer, hits: usize, daemon: &mut Daemon) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.total_hits() == hits {
        assert!(
            Instant::now() < deadline && daemon.alive(),
            "{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn kill_9_during_heavy_ingest_loses_nothing_and_converges() {
    const FEEDS: usize = 4;
    const PER_ROUND: usize = 30;
    const KILLS: usize = 5;
    let total_stories = PER_ROUND * (KILLS + 1);
    let want = (FEEDS * total_stories) as i64;
    let stories = Arc::new(AtomicUsize::new(total_stories));
    let server = syndication_server(stories.clone(), 60);
    let urls: Vec<String> = (0..FEEDS)
        .map(|f| server.url(&format!("/feed/{f}")))
        .collect();

    // The uninterrupted run into a fresh store.
    let dir = tempfile::tempdir().expect("tempdir");
    let (ref_db, ref_config) = (dir.path().join("ref.db"), dir.path().join("ref.toml"));
    write_config(&ref_config, &ref_db, &urls, "");
    let hits = server.total_hits();
    let mut daemon = Daemon::start(&ref_config, dir.path());
    wait_for_fetch(&server, hits, &mut daemon);
    // From the first fetch to the last entry stored: the ingest itself.
    let ref_time = wait_for_entries(&ref_db, want, Duration::from_secs(60), &mut daemon);
    daemon.stop();
    check_store(&ref_db);
    let reference = snapshot(&ref_db);
    assert_eq!(
        reference.1.len(),
        total_stories,
        "one story per syndicated story"
    );
    assert!(reference.1.iter().all(|s| s.len() == FEEDS));

    // Rounds that each add PER_ROUND stories to every feed, killed at a
    // random moment of their ingest.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    let mut rng = Rng(seed);
    let (db, config) = (dir.path().join("crash.db"), dir.path().join("crash.toml"));
    write_config(&config, &db, &urls, "");
    // Round r's documents hold (r + 1) / (KILLS + 1) of the reference's
    // stories: its kill lands within that share of the time the reference
    // took from its first fetch to its last entry stored.
    let ref_ms = ref_time.as_millis() as u64;
    let round_ms = |round: usize| (ref_ms * (round as u64 + 1) / (KILLS as u64 + 1)).clamp(10, 800);
    let mut mid_ingest = 0;
    let mut killed_at = Vec::new();
    for round in 0..KILLS {
        stories.store(PER_ROUND * (round + 1), Ordering::SeqCst);
        let before = entry_count(&db);
        let round_want = (FEEDS * PER_ROUND * (round + 1)) as i64;
        let hits = server.total_hits();
        let mut daemon = Daemon::start(&config, dir.path());
        // Wait for the round's first fetch, then a random part of a round's ingest.
        wait_for_fetch(&server, hits, &mut daemon);
        let delay = rng.next() % round_ms(round);
        std::thread::sleep(Duration::from_millis(delay));
        daemon.kill9();
        let stored = check_store(&db);
        assert_eq!(
            stored % PER_ROUND as i64,
            0,
            "every feed document is stored whole or not at all"
        );
        if stored < round_want {
            mid_ingest += 1;
        }
        killed_at.push(format!("+{delay}ms: {before}->{stored}/{round_want}"));
    }
    // The final run completes.
    stories.store(total_stories, Ordering::SeqCst);
    let mut daemon = Daemon::start(&config, dir.path());
    wait_for_entries(&db, want, Duration::from_secs(60), &mut daemon);
    daemon.stop();
    check_store(&db);
    println!(
        "kill -9: seed {seed}, reference ingest {ref_time:?}, {KILLS} kills survived \
         ({mid_ingest} during an ingest): {killed_at:?}"
    );
    assert!(
        mid_ingest >= 1,
        "no kill landed during an ingest: {killed_at:?}"
    );
    let after = snapshot(&db);
    assert_eq!(after.0.len(), reference.0.len());
    assert!(
        after.0 == reference.0,
        "the stored entries differ from the uninterrupted run"
    );
    assert_eq!(
        after.1, reference.1,
        "the stories differ from the uninterrupted run"
    );
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn a_long_reader_does_not_stop_ingestion_and_the_wal_is_truncated_after() {
    const FEEDS: usize = 4;
    const STORIES: usize = 100;
    let want = (FEEDS * STORIES) as i64;
    let server = syndication_server(Arc::new(AtomicUsize::new(STORIES)), 300);
    let urls: Vec<String> = (0..FEEDS)
        .map(|f| server.url(&format!("/feed/{f}")))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, config) = (dir.path().join("wal.db"), dir.path().join("wal.toml"));
    let wal = dir.path().join("wal.db-wal");
    write_config(&config, &db, &urls, "");
    let mut daemon = Daemon::start(&config, dir.path());
    // The reader takes its snapshot as soon as the store exists.
    let deadline = Instant::now() + Duration::from_secs(10);
    let reader = loop {
        if let Ok(c) = store::open_reader(&db) {
            break c;
        }
        assert!(
            Instant::now() < deadline && daemon.alive(),
            "{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    reader.execute_batch("BEGIN").expect("begin");
    let seen = count(&reader, "SELECT count(*) FROM entries");
    // Ingestion goes on: another connection sees everything arrive.
    let took = wait_for_entries(&db, want, Duration::from_secs(60), &mut daemon);
    // Every re-poll rewrites last_seen; the WAL cannot restart meanwhile.
    let bound = store::WAL_SIZE_LIMIT as u64 + (2 << 20);
    let mut wal_held = 0;
    let held_until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < held_until && wal_held <= bound + (1 << 20) {
        wal_held = wal_held.max(file_len(&wal));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        count(&reader, "SELECT count(*) FROM entries"),
        seen,
        "the reader kept its snapshot"
    );
    reader.execute_batch("COMMIT").expect("end the read");
    drop(reader);
    // After the reader lets go, writes go on for a few seconds. The WAL is
    // truncated at the next document stored; polls come at most
    // `max_interval` (2 s) apart, plus their ingest on a busy machine, so
    // the last 2 s of 6 come after it.
    let mut wal_after = Vec::new();
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        wal_after.push(file_len(&wal));
        std::thread::sleep(Duration::from_millis(50));
    }
    let last = *wal_after.last().unwrap_or(&0);
    let max_after_settle = wal_after[wal_after.len() * 2 / 3..]
        .iter()
        .copied()
        .max()
        .unwrap_or(0);
    println!(
        "long reader: saw {seen} entries while {want} were ingested in {took:?}; WAL {} KiB while held, \
         {} KiB max in the last 2 s after release, {} KiB at the end (limit {} KiB)",
        wal_held / 1024,
        max_after_settle / 1024,
        last / 1024,
        store::WAL_SIZE_LIMIT / 1024
    );
    assert!(daemon.alive());
    daemon.stop();
    check_store(&db);
    // Without readers the writer truncates the WAL after any document
    // that takes it past the limit: it stays within the limit plus one
    // document's pages. The reader kept it from doing so.
    assert!(
        wal_held > bound,
        "the test did not grow the WAL past {bound}: {wal_held}"
    );
    assert!(
        max_after_settle <= bound,
        "the WAL stayed large after the reader let go: {wal_after:?}"
    );
}

// ---------------------------------------------------------------------------
// Full and read-only disks (a small tmpfs; skipped where mounting is not allowed)

/// A tmpfs mounted on a fresh directory, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a `size` tmpfs, or says why not (then the test is skipped).
    fn mount(dir: PathBuf, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(&dir).ok()?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir }),
            Ok(o) => {
                println!(
                    "SKIPPED: cannot mount a tmpfs: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                println!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }

    fn remount(&self, mode: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "remount {mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// SQLite's and the store's invariants on a read-only connection (while the
/// daemon runs).
fn check_store_read_only(db: &Path) -> i64 {
    let conn = store::open_reader(db).expect("reader");
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(ok, "ok");
    common::assert_consistent(&conn);
    count(&conn, "SELECT count(*) FROM entries")
}

/// Fills the file system holding `path` with one file, then leaves `free` bytes.
fn fill(path: &Path, free: u64) {
    let mut f = std::fs::File::create(path).expect("ballast");
    let block = vec![0u8; 64 << 10];
    let mut written = 0u64;
    while f.write_all(&block).is_ok() {
        written += block.len() as u64;
    }
    // A short write may have left a partial block.
    let _ = f.set_len(written.saturating_sub(free));
    let _ = f.sync_all();
}

#[test]
fn a_full_disk_is_an_error_the_daemon_survives_and_recovers_from() {
    const FEEDS: usize = 3;
    const STORIES: usize = 60;
    let want = (FEEDS * STORIES) as i64;
    let top = tempfile::tempdir().expect("tempdir");
    let Some(fs) = Tmpfs::mount(top.path().join("disk"), "6m") else {
        return;
    };
    let server = syndication_server(Arc::new(AtomicUsize::new(STORIES)), 150);
    let urls: Vec<String> = (0..FEEDS)
        .map(|f| server.url(&format!("/feed/{f}")))
        .collect();
    let (db, config) = (fs.dir.join("ff.db"), top.path().join("ff.toml"));
    write_config(&config, &db, &urls, "");
    // Room for the schema, not for the entries.
    let ballast = fs.dir.join("ballast");
    fill(&ballast, 400 << 10);
    let mut daemon = Daemon::start(&config, top.path());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !daemon.log().contains("full") {
        assert!(
            Instant::now() < deadline,
            "no disk-full error: {}",
            daemon.log()
        );
        assert!(daemon.alive(), "the daemon died: {}", daemon.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let it retry against the full disk for a while.
    std::thread::sleep(Duration::from_secs(2));
    assert!(daemon.alive(), "the daemon died: {}", daemon.log());
    let during = check_store_read_only(&db);
    let recorded = statuses(&db)
        .unwrap_or_default()
        .iter()
        .filter(|s| last_error(s).contains("full"))
        .count();
    println!("disk full: {recorded} of {FEEDS} feeds show the error in `feedfold status`");
    assert!(recorded >= 1, "the error is recorded on the feeds");
    let log = daemon.log();
    let full: Vec<&str> = log.lines().filter(|l| l.contains("full")).collect();
    println!(
        "disk full: {} error lines, {during} entries stored meanwhile; first: {}",
        full.len(),
        full.first().copied().unwrap_or("")
    );
    // Space comes back: the daemon catches up by itself.
    std::fs::remove_file(&ballast).expect("remove ballast");
    let took = wait_for_entries(&db, want, Duration::from_secs(30), &mut daemon);
    println!("disk full: all {want} entries stored {took:?} after space came back");
    daemon.stop();
    assert_eq!(check_store(&db), want);
}

#[test]
fn a_read_only_disk_is_refused_at_start_with_a_clear_error_and_left_intact() {
    let top = tempfile::tempdir().expect("tempdir");
    let Some(fs) = Tmpfs::mount(top.path().join("disk"), "4m") else {
        return;
    };
    let server = RawServer::start(|_, s| respond(s, 200, &[], two_items().as_bytes()));
    let (db, config) = (fs.dir.join("ff.db"), top.path().join("ff.toml"));
    write_config(&config, &db, &[server.url("/feed")], "");
    let mut daemon = Daemon::start(&config, top.path());
    wait_for_entries(&db, 2, Duration::from_secs(20), &mut daemon);
    daemon.stop();
    let before = std::fs::read(&db).expect("read store");

    fs.remount("ro");
    let mut daemon = Daemon::start(&config, top.path());
    let code = daemon.exit_code(Duration::from_secs(20));
    let log = daemon.log();
    println!("read-only disk: exit {code:?}: {}", log.trim());
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("readonly") || log.contains("read-only") || log.contains("Read-only"),
        "{log}"
    );
    fs.remount("rw");
    assert!(
        std::fs::read(&db).expect("read store") == before,
        "the store was not changed"
    );
    assert_eq!(check_store(&db), 2);
    // Writable again: it runs.
    let mut daemon = Daemon::start(&config, top.path());
    let hits = server.total_hits();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.total_hits() == hits {
        assert!(
            Instant::now() < deadline && daemon.alive(),
            "{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    daemon.stop();
    assert_eq!(check_store(&db), 2);
}
