//! Full-text fetching in the daemon (`feedfold run`), against loopback
//! servers: a summary-only feed of 20 entries whose article pages take
//! 2 s each. The poll is stored at once, the articles come in later
//! (beside the polls, which go on every second), and each summary entry
//! moves into the story of its wire copy.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::process::{count, wait_for_entries, Daemon};
use crate::common::articles::{page_number, story, summary_feed, wire_feed, Story};
use crate::common::http::{get, logged_address};
use crate::common::server::{Response, Server};
use crate::common::{assignment, feedfold};

const N: usize = 20;
const PAGE_DELAY: Duration = Duration::from_secs(2);

fn reader(db: &Path) -> Connection {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open");
    conn.busy_timeout(Duration::from_secs(5)).expect("busy");
    conn
}

fn stories_of(db: &Path) -> BTreeMap<String, i64> {
    assignment(&reader(db))
}

fn done(db: &Path) -> i64 {
    count(
        &reader(db),
        "SELECT count(*) FROM article_fetches WHERE state = 'done'",
    )
}

#[test]
fn slow_article_pages_arrive_after_the_poll_without_delaying_the_next() {
    let all: Vec<Story> = (0..N).map(story).collect();
    let pages = all.clone();
    let articles =
        Server::handler(
            move |req| match page_number(&req.path).and_then(|n| pages.get(n)) {
                Some(s) => Response::ok(s.page(&[]))
                    .header("Content-Type", "text/html; charset=utf-8")
                    .delay(PAGE_DELAY),
                None => Response::not_found(),
            },
        );
    let now = chrono::Utc::now();
    let wire = wire_feed(&all, |i| now - chrono::Duration::minutes(90 - i as i64));
    let summary = summary_feed(
        &all,
        |i| now - chrono::Duration::minutes(80 - i as i64),
        |i| articles.url(&format!("/a/{i}.html")),
    );
    let feeds = Server::routes([
        ("/wire.xml", vec![Response::ok(wire)]),
        ("/summary.xml", vec![Response::ok(summary)]),
    ]);

    let dir = tempfile::tempdir().expect("tempdir");
    let (db, config) = (dir.path().join("ff.db"), dir.path().join("ff.toml"));
    std::fs::write(
        &config,
        format!(
            "database = {:?}\n[polling]\nmin_interval = \"1s\"\ndefault_interval = \"1s\"\n\
             max_interval = \"1s\"\njitter = 0.0\nshutdown_grace = \"2s\"\n\
             [http]\nper_host = 4\ntimeout = \"10s\"\n\
             [full_text]\nper_poll = {N}\nconcurrency = 4\n\
             [server]\nlisten = \"127.0.0.1:0\"\n\
             [[feeds]]\nurl = {:?}\n[[feeds]]\nurl = {:?}\n",
            db.display().to_string(),
            feeds.url("/wire.xml"),
            feeds.url("/summary.xml"),
        ),
    )
    .expect("config");
    let mut cmd = feedfold();
    cmd.arg("--allow-private")
        .arg("--config")
        .arg(&config)
        .args(["--log-format", "plain", "run"]);
    let mut daemon = Daemon::spawn(cmd, dir.path(), false);

    // The polls are stored at once: 20 article pages at 2 s, 4 at a
    // time, take 10 s.
    let stored = wait_for_entries(&db, 2 * N as i64, Duration::from_secs(8), &mut daemon);
    let fetched_then = done(&db);
    println!("polls stored after {stored:?}, {fetched_then} articles in by then");
    assert!(fetched_then < N as i64, "the poll waited for the articles");
    let before = stories_of(&db);
    let apart = (0..N)
        .filter(|i| before[&format!("s{i}")] != before[&format!("w{i}")])
        .count();
    assert!(apart > 0, "some summaries wait for their articles");

    // The feed is polled again every second while the articles come in.
    let hits = feeds.hits("/summary.xml");
    let watch = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let polled = feeds.hits("/summary.xml") - hits;
    let fetched_now = done(&db);
    println!(
        "{polled} polls of the summary feed in 3 s while {fetched_now} of {N} articles were in"
    );
    assert!(fetched_now < N as i64, "articles still coming in");
    assert!(
        polled >= 2,
        "polls delayed: {polled} in {:?}",
        watch.elapsed()
    );

    // Every article comes in, and each summary joins its wire copy's story.
    let started = Instant::now();
    while done(&db) < N as i64 {
        assert!(daemon.alive(), "the daemon died: {}", daemon.log());
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} of {N} articles: {}",
            done(&db),
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("all {N} articles in after {:?} more", started.elapsed());
    let after = stories_of(&db);
    for i in 0..N {
        assert_eq!(
            after[&format!("s{i}")],
            after[&format!("w{i}")],
            "summary {i} is with its wire copy"
        );
    }
    let conn = reader(&db);
    assert_eq!(
        count(&conn, "SELECT count(DISTINCT story_id) FROM entries"),
        N as i64
    );
    assert_eq!(
        count(&conn, "SELECT count(*) FROM stories"),
        N as i64,
        "the stories the summaries left are gone"
    );
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM entries WHERE content_source = 'article'"
        ),
        N as i64
    );
    for i in 0..N {
        assert_eq!(articles.hits(&format!("/a/{i}.html")), 1, "page {i} once");
    }
    drop(conn);
    // Operators see the articles in /metrics.
    let addr = logged_address("Serving the folded feeds", || daemon.log());
    let metrics = get(&addr, "/metrics").text();
    for line in [
        format!("feedfold_articles_total{{outcome=\"fetched\"}} {N}"),
        "feedfold_articles_total{outcome=\"failed\"} 0".to_string(),
        format!("feedfold_entries_placed_again_total {N}"),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in\n{metrics}"
        );
    }
    daemon.stop();
}

/// `run --once` polls, then fetches the articles its polls queued, and
/// exits with the summaries placed with their wire copies.
#[test]
fn run_once_fetches_the_articles_its_polls_queued() {
    const M: usize = 4;
    let all: Vec<Story> = (0..M).map(story).collect();
    let pages = all.clone();
    let articles =
        Server::handler(
            move |req| match page_number(&req.path).and_then(|n| pages.get(n)) {
                Some(s) => {
                    Response::ok(s.page(&[])).header("Content-Type", "text/html; charset=utf-8")
                }
                None => Response::not_found(),
            },
        );
    let now = chrono::Utc::now();
    let wire = wire_feed(&all, |_| now - chrono::Duration::minutes(90));
    let summary = summary_feed(
        &all,
        |_| now - chrono::Duration::minutes(80),
        |i| articles.url(&format!("/a/{i}.html")),
    );
    let feeds = Server::routes([
        ("/wire.xml", vec![Response::ok(wire)]),
        ("/summary.xml", vec![Response::ok(summary)]),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, config) = (dir.path().join("ff.db"), dir.path().join("ff.toml"));
    std::fs::write(
        &config,
        format!(
            "database = {:?}\n[[feeds]]\nurl = {:?}\n[[feeds]]\nurl = {:?}\n",
            db.display().to_string(),
            feeds.url("/wire.xml"),
            feeds.url("/summary.xml"),
        ),
    )
    .expect("config");
    let out = feedfold()
        .arg("--allow-private")
        .arg("--config")
        .arg(&config)
        .args(["run", "--once"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run --once");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        done(&db),
        M as i64,
        "every queued article fetched: {stderr}"
    );
    let after = stories_of(&db);
    for i in 0..M {
        assert_eq!(
            after[&format!("s{i}")],
            after[&format!("w{i}")],
            "summary {i} is with its wire copy"
        );
        assert_eq!(articles.hits(&format!("/a/{i}.html")), 1, "page {i} once");
    }
    let conn = reader(&db);
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM entries WHERE content_source = 'article'"
        ),
        M as i64
    );
}
