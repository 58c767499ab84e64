//! The real binary as a daemon: SIGTERM and SIGHUP, sd_notify and the
//! watchdog, a bad config, and `run --once`, against the loopback server.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

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
