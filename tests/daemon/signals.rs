//! The real binary as a daemon: SIGTERM and SIGHUP, sd_notify and the
//! watchdog, a bad config, and `run --once`, against the loopback server.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use feedfold::store;
use feedfold::store::subscriptions;

use super::process::{write_config, Daemon};
use crate::common::feedfold;
use crate::common::feeds::{templated, two_items};
use crate::common::server::{Response, Server};

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
    let server = Server::handler(|req| match req.path.as_str() {
        "/slow" => Response::ok(
            templated(
                "Slow",
                &[("s1", "Slow one"), ("s2", "Slow two"), ("s3", "Slow three")],
            )
            .rss(),
        )
        .delay(Duration::from_millis(800)),
        _ => Response::ok(two_items()),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, db) = (dir.path().join("feedfold.toml"), dir.path().join("ff.db"));
    write_config(&config, &db, &[server.url("/a"), server.url("/slow")], "");
    let daemon = Daemon::start_notifying(&config, dir.path());
    assert!(daemon.message().starts_with("READY=1"));
    server.wait_for("/slow", 1, Duration::from_secs(10));
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
    let server = Server::handler(|req| match req.path.as_str() {
        "/b" => Response::ok(templated("B", &[("b1", "Harbour ferry strike ends")]).rss()),
        _ => Response::ok(two_items()),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, db) = (dir.path().join("feedfold.toml"), dir.path().join("ff.db"));
    write_config(&config, &db, &[server.url("/a")], "");
    let daemon = Daemon::start_notifying(&config, dir.path());
    assert!(daemon.message().starts_with("READY=1"));
    server.wait_for("/a", 1, Duration::from_secs(10));
    assert!(server.requests("/b").is_empty());
    write_config(&config, &db, &[server.url("/a"), server.url("/b")], "");
    daemon.signal("HUP");
    assert_eq!(daemon.message(), "RELOADING=1");
    assert!(daemon.message().starts_with("READY=1"));
    server.wait_for("/b", 1, Duration::from_secs(10));
    // Wait until /b's result is recorded (its next poll proves it), then stop.
    server.wait_for("/b", 2, Duration::from_secs(10));
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
    write_config(&config, &db, &[], "");
    let mut cmd = feedfold();
    cmd.args(["--config", config.to_str().expect("utf-8"), "run"])
        .env("WATCHDOG_USEC", "200000");
    let daemon = Daemon::spawn(cmd, dir.path(), true);
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
fn run_once_checks_every_feed_once_then_gets_304s_and_exits() {
    let server = Server::handler(|req| {
        let body = match req.path.as_str() {
            "/a" => two_items(),
            "/b" => templated("B", &[("b1", "Harbour ferry strike ends")]).rss(),
            _ => return Response::new(500).body("down"),
        };
        let etag = format!("\"v1{}\"", req.path);
        if req.header("if-none-match") == Some(etag.as_str()) {
            Response::new(304).header("ETag", &etag)
        } else {
            Response::ok(body).header("ETag", &etag)
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, db) = (dir.path().join("feedfold.toml"), dir.path().join("ff.db"));
    write_config(
        &config,
        &db,
        &[server.url("/a"), server.url("/b"), server.url("/down")],
        "",
    );
    // Intervals of minutes, so that "nothing is due yet" below holds however
    // slowly a loaded machine runs the two commands.
    let text = std::fs::read_to_string(&config)
        .expect("read config")
        .replace("min_interval = \"1s\"", "min_interval = \"10m\"")
        .replace("default_interval = \"1s\"", "default_interval = \"10m\"")
        .replace("max_interval = \"2s\"", "max_interval = \"1h\"");
    assert!(text.contains("min_interval = \"10m\""), "{text}");
    std::fs::write(&config, text).expect("write config");
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

/// `feedfold --config CONFIG run --once ARGS...`: its stdout (exit 0).
fn run_once(config: &Path, extra: &[&str]) -> String {
    let out = feedfold()
        .args(["--config", config.to_str().expect("utf-8"), "run", "--once"])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("run feedfold run --once");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    stdout
}

#[test]
fn run_once_waits_out_retry_after_unless_now() {
    let server = Server::routes([(
        "/busy",
        vec![Response::new(429)
            .header("Retry-After", "300")
            .body("slow down")],
    )]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, db) = (dir.path().join("feedfold.toml"), dir.path().join("ff.db"));
    // min_interval is 1 s: without Retry-After the feed would be due again
    // within seconds.
    write_config(&config, &db, &[server.url("/busy")], "");

    let first = run_once(&config, &[]);
    assert_eq!(
        first.trim(),
        "checked 1 feeds: 0 modified (200), 0 not modified (304), 1 failed, 0 gone; \
         0 new entries (0 joined a story), 0 updated"
    );
    assert_eq!(server.hits("/busy"), 1);
    let conn = store::open_reader(&db).expect("reader");
    let rows = subscriptions::statuses(&conn).expect("statuses");
    drop(conn);
    let busy = &rows[0];
    assert_eq!(busy.last_status, Some(429), "{busy:?}");
    assert_eq!(busy.last_error.as_deref(), Some("rate limited (429)"));
    let checked =
        feedfold::model::parse_time(busy.last_check_at.as_deref().expect("checked")).expect("time");
    let next =
        feedfold::model::parse_time(busy.next_check_at.as_deref().expect("next")).expect("time");
    assert!(
        next - checked >= chrono::Duration::seconds(299),
        "the next check honours Retry-After: {busy:?}"
    );

    let second = run_once(&config, &[]);
    assert_eq!(
        second.trim(),
        "checked 0 feeds: 0 modified (200), 0 not modified (304), 0 failed, 0 gone; \
         0 new entries (0 joined a story), 0 updated; 1 not due yet (--now checks them too)"
    );
    assert_eq!(
        server.hits("/busy"),
        1,
        "not asked again before Retry-After"
    );

    let forced = run_once(&config, &["--now"]);
    assert!(
        forced.starts_with("checked 1 feeds: 0 modified (200), 0 not modified (304), 1 failed"),
        "{forced}"
    );
    assert_eq!(server.hits("/busy"), 2, "--now asks again");
}

/// Total requests the server has seen, once at least `n` have come (at
/// most 20 s).
fn wait_for_total(server: &Server, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let hits = server.total_hits();
        if hits >= n {
            return hits;
        }
        assert!(
            Instant::now() < deadline,
            "only {hits} requests: {:?}",
            server.request_lines()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn after_sigterm_no_new_request_starts() {
    // Twelve feeds on one host, one request at a time, each answered
    // after 2 s: when the signal comes, one request is under way and
    // eleven feeds wait for the host.
    let server = Server::handler(|req| {
        let title = format!("Slow {}", req.path);
        Response::ok(templated(&title, &[("s1", "Slow one")]).rss()).delay(Duration::from_secs(2))
    });
    let feeds: Vec<String> = (0..12).map(|i| server.url(&format!("/f{i}"))).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, db) = (dir.path().join("feedfold.toml"), dir.path().join("ff.db"));
    write_config(&config, &db, &feeds, "per_host = 1");
    let mut daemon = Daemon::start_notifying(&config, dir.path());
    assert!(daemon.message().starts_with("READY=1"));
    // The second request has just arrived: it is answered in 2 s.
    wait_for_total(&server, 2);
    let at_signal = server.total_hits();
    let signalled = Instant::now();
    daemon.signal("TERM");
    let code = daemon.exit_code(Duration::from_secs(20));
    let took = signalled.elapsed();
    assert_eq!(code, Some(0), "{}", daemon.log());
    std::thread::sleep(Duration::from_millis(300));
    println!(
        "SIGTERM with {at_signal} requests made: exit after {took:?}, {} requests in all",
        server.total_hits()
    );
    assert_eq!(
        server.total_hits(),
        at_signal,
        "no request after the signal: {:?}\n{}",
        server.request_lines(),
        daemon.log()
    );
    assert!(
        took < Duration::from_secs(5),
        "the request under way (2 s) was waited for, not the grace: {took:?}"
    );
    let conn = store::open_reader(&db).expect("reader");
    let rows = subscriptions::statuses(&conn).expect("statuses");
    let fetched = rows.iter().filter(|r| r.entries > 0).count();
    assert_eq!(
        fetched, at_signal,
        "every request made, the one under way included, was stored: {rows:?}"
    );
    assert!(
        rows.iter().all(|r| r.error_count == 0),
        "the feeds not fetched recorded no failure: {rows:?}"
    );
}

#[test]
fn an_idle_daemon_exits_at_once_on_sigterm() {
    let server = Server::handler(|_| Response::ok(two_items()));
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, db) = (dir.path().join("feedfold.toml"), dir.path().join("ff.db"));
    let feeds: Vec<String> = (0..3).map(|i| server.url(&format!("/f{i}"))).collect();
    let mut text = format!(
        "database = {:?}\n[polling]\nmin_interval = \"30m\"\ndefault_interval = \"1h\"\n\
         max_interval = \"2h\"\njitter = 0.0\nshutdown_grace = \"10s\"\n",
        db.display().to_string()
    );
    for f in &feeds {
        text.push_str(&format!("[[feeds]]\nurl = {f:?}\n"));
    }
    std::fs::write(&config, text).expect("write config");
    // Every feed checked now: none is due for half an hour.
    run_once(&config, &[]);
    assert_eq!(server.total_hits(), 3);

    let mut daemon = Daemon::start_notifying(&config, dir.path());
    assert!(daemon.message().starts_with("READY=1"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.total_hits(), 3, "nothing is due");
    let signalled = Instant::now();
    daemon.signal("TERM");
    let code = loop {
        if let Some(status) = daemon.child.try_wait().expect("wait") {
            break status.code();
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(20),
            "did not exit: {}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let took = signalled.elapsed();
    println!("idle daemon: exit {took:?} after SIGTERM");
    assert_eq!(code, Some(0), "{}", daemon.log());
    assert!(
        took <= Duration::from_millis(200),
        "an idle daemon exits within 200 ms of SIGTERM, took {took:?}: {}",
        daemon.log()
    );
}
