//! Fetch behaviour of a poll, in process (`pipeline::poll`, the daemon's
//! per-check code path) against the loopback server: validators and 304s,
//! compression, rate limits, caching hints, backoff, redirects, 410,
//! timeouts, body limits and per-host concurrency. Assertions are on the
//! store's contents.

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::Utc;
use feedfold::fetcher::HttpConfig;
use feedfold::model::{parse_time, FeedSpec, Interval};
use feedfold::store::subscriptions::{self, Origin, Recorded};

use super::harness::Ctx;
use crate::common::feeds::{templated, two_items};
use crate::common::server::{Response, Server};

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

#[tokio::test]
async fn etag_200_then_304_stores_validators_and_writes_nothing_else() {
    let server = Server::handler(|req| match req.header("if-none-match") {
        Some("\"v1\"") => Response::new(304).header("ETag", "\"v1\""),
        _ => Response::ok(two_items())
            .headers(&[("ETag", "\"v1\""), ("Content-Type", "application/rss+xml")]),
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
    let server = Server::handler(|req| match req.header("if-modified-since") {
        Some(LM) => Response::new(304),
        _ => Response::ok(two_items()).header("Last-Modified", LM),
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
    let server = Server::handler(|req| {
        if !req.header("accept-encoding").unwrap_or("").contains("gzip") {
            return Response::new(400).body("gzip expected");
        }
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(two_items().as_bytes()).expect("gzip");
        let body = enc.finish().expect("gzip");
        Response::ok(body).header("Content-Encoding", "gzip")
    });
    let ctx = Ctx::new(http_config());
    let id = ctx.subscribe(&server.url("/gz")).await;
    assert_eq!(ctx.poll(id).await.report().map(|r| r.new), Some(2));
    assert_eq!(ctx.query_i64("SELECT count(*) FROM entries"), 2);
}

#[tokio::test]
async fn rate_limited_429_honours_retry_after() {
    let server = Server::handler(|_| {
        Response::new(429)
            .header("Retry-After", "1800")
            .body("slow down")
    });
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
    let server = Server::handler(|req| match req.path.as_str() {
        "/maint" => Response::new(503)
            .header("Retry-After", "900")
            .body("maintenance"),
        _ => Response::new(503).body("down"),
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
    let server = Server::handler(|req| {
        let ttl = templated("Wire", &[("a1", "Budget vote one")])
            .ttl(120)
            .rss();
        match req.path.as_str() {
            "/ttl" => Response::ok(ttl).header("Cache-Control", "max-age=60"),
            _ => Response::ok(two_items()).header("Cache-Control", "public, max-age=5400"),
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
    let oops = Response::new(500).body("oops");
    let server = Server::routes([(
        "/flaky",
        vec![oops.clone(), oops.clone(), oops, Response::ok(two_items())],
    )]);
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
    let server = Server::handler(|req| match req.path.as_str() {
        "/old" => Response::new(301).header("Location", "/new"),
        "/new" => Response::ok(two_items()),
        _ => Response::new(404),
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
    let server = Server::handler(|req| match req.path.as_str() {
        "/old" => Response::new(301).header("Location", "/new"),
        "/new" => Response::ok(two_items()),
        "/temp" => Response::new(302).header("Location", "/elsewhere"),
        "/elsewhere" => Response::ok(templated("Other", &[("b1", "Other story")]).rss()),
        _ => Response::new(404),
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
    let server = Server::handler(|_| Response::new(410).body("gone"));
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
        full_text: None,
    };
    let added = ctx.store().add_feed(spec, Origin::Cli).await.expect("add");
    assert_eq!(added, subscriptions::Added::Revived);
    assert!(ctx.sub(id).await.is_some());
}

#[tokio::test]
async fn a_body_that_never_finishes_times_out() {
    // The head and a few bytes of a long body, then nothing.
    let server = Server::handler(|_| Response::ok("<rss>").declared_length(100_000));
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
    let server = Server::handler(|req| match req.path.as_str() {
        "/chunked" => Response::ok("x".repeat(50_000)).chunked(1000),
        _ => Response::ok("x".repeat(50_000)),
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
    let server = Server::handler(|req| match req.path.as_str() {
        "/a" => Response::new(301).header("Location", "/b"),
        _ => Response::new(301).header("Location", "/a"),
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
    let server = Server::handler(|req| {
        if req.path.starts_with("/slow") {
            Response::ok(two_items()).delay(Duration::from_millis(2000))
        } else {
            Response::ok(templated("Fast", &[("f1", "Fast story")]).rss())
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
