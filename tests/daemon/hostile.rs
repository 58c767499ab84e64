//! Hostile servers (issue 6), on 127.0.0.1 in raw mode where HTTP itself
//! is broken: endless and trickling bodies, heads that never end or are
//! huge or garbage, compression bombs (in process and against the running
//! daemon, whose memory is measured), redirect loops and non-HTTP
//! redirects, and `deny_private_addresses`. In-process polls go through
//! `pipeline::poll`, the daemon's per-check code path.
//!
//! Figures are printed (`cargo test --test daemon hostile -- --nocapture`).

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use feedfold::fetcher::HttpConfig;
use feedfold::model::Interval;
use feedfold::store::subscriptions::FeedStatus;

use super::harness::Ctx;
use super::process::{check_store, last_error, statuses, write_config, Daemon, PER_HOST_8};
use crate::common::feeds::two_items;
use crate::common::server::{Response, Server};

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

#[tokio::test]
async fn endless_and_trickling_responses_end_at_the_timeout() {
    let server = Server::raw(|req, mut s| {
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
            // One byte per second of a 100 kB body (for 20 s at most).
            "/trickle" => Response::ok(vec![b'<'; cap.as_secs() as usize])
                .declared_length(100_000)
                .trickle(1, Duration::from_secs(1))
                .send(s),
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
    let server = Server::raw(move |req, s| {
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
    let server = Server::raw(move |req, s| {
        if req.path == "/bomb" {
            // 4 GiB of spaces once decompressed.
            let n = send_bomb(s, "gzip", &gzip, 4096);
            counter.fetch_add(n, Ordering::SeqCst);
        } else {
            Response::ok(two_items()).send(s);
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("ff.db");
    let config = dir.path().join("ff.toml");
    // The default max_body: 16 MiB.
    write_config(
        &config,
        &db,
        &[server.url("/bomb"), server.url("/ok")],
        PER_HOST_8,
    );
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
    let server = Server::raw(|req, mut s| {
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
    let server = Server::handler(|req| {
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
        Response::new(301).header("Location", &location)
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
    let server = Server::handler(|_| Response::ok(two_items()));
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
