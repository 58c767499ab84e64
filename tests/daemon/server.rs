//! `feedfold run` with `[server] listen`: while it polls loopback feeds it
//! serves `/metrics` (checked by a strict reader of the exposition format
//! and by `promtool check metrics` where it is installed), `/healthz` from
//! the writer's ping, and the folded feeds (stories and events, each
//! event entry holding the stories the store puts in it); SIGTERM stops
//! both cleanly.

use std::io::Write;
use std::time::{Duration, Instant};

use super::process::{write_config, Daemon};
use crate::common::feeds::two_items;
use crate::common::http::{get, logged_address};
use crate::common::prometheus;
use crate::common::server::{Response, Server};

/// `/metrics`, parsed, once `ready` holds of it (waits 20 s at most).
fn metrics_when(
    addr: &str,
    daemon: &Daemon,
    ready: impl Fn(&prometheus::Samples) -> bool,
) -> (String, prometheus::Samples) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = get(addr, "/metrics");
        reply.expect(200);
        let text = reply.text();
        let samples = prometheus::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        if ready(&samples) {
            return (text, samples);
        }
        assert!(
            Instant::now() < deadline,
            "metrics never got there:\n{text}\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn run_serves_metrics_health_and_feeds_while_it_polls() {
    let server = Server::handler(|req| match req.path.as_str() {
        "/a" if req.header("if-none-match") == Some("\"a1\"") => Response::new(304),
        "/a" => Response::ok(two_items()).header("ETag", "\"a1\""),
        _ => Response::new(500),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, db) = (dir.path().join("feedfold.toml"), dir.path().join("s.db"));
    write_config(&config, &db, &[server.url("/a"), server.url("/broken")], "");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&config)
        .and_then(|mut f| f.write_all(b"[server]\nlisten = \"127.0.0.1:0\"\n"))
        .expect("add [server]");
    let daemon = Daemon::start(&config, dir.path());
    let addr = logged_address("Serving the folded feeds", || daemon.log());

    let (text, m) = metrics_when(&addr, &daemon, |m| {
        m.get("feedfold_polls_total{outcome=\"304\"}")
            .is_some_and(|&n| n >= 1.0)
            && m.get("feedfold_polls_total{outcome=\"error\"}")
                .is_some_and(|&n| n >= 1.0)
    });
    println!("{text}");
    assert!(m["feedfold_entries_stored_total"] > 0.0, "{text}");
    assert_eq!(m["feedfold_entries_stored_total"], 2.0);
    assert!(m["feedfold_polls_total{outcome=\"200\"}"] >= 1.0);
    assert!(m["feedfold_stories_created_total"] >= 1.0);
    assert!(m["feedfold_events_created_total"] >= 1.0);
    assert!(m["feedfold_fetch_duration_seconds_count"] >= 3.0);
    assert!(m["feedfold_fetched_bytes_total"] > 0.0);
    assert!(m["feedfold_writer_batch_duration_seconds_count"] >= 1.0);
    assert!(m["feedfold_cycles_total"] >= 1.0);
    assert!(m["feedfold_store_size_bytes"] > 0.0);
    assert_eq!(m["feedfold_feeds{state=\"failing\"}"], 1.0);
    assert_eq!(m["feedfold_feeds{state=\"ok\"}"], 1.0);
    match prometheus::promtool(&text) {
        Some(verdict) => verdict.unwrap_or_else(|e| panic!("promtool: {e}\n{text}")),
        None => {
            println!("note: promtool is not installed; the strict reader alone checked /metrics")
        }
    }

    let health = get(&addr, "/healthz");
    health.expect(200);
    assert_eq!(health.json()["detail"], "the writer answers");
    let feed = get(&addr, "/stories.atom");
    feed.expect(200);
    let parsed = feed_rs::parser::parse(feed.text().as_bytes()).expect("feed-rs parses it");
    assert_eq!(parsed.entries.len(), 2, "{}", feed.text());

    // The event feed: one entry per event of the store, linking its stories.
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the store");
    let mut stmt = conn
        .prepare("SELECT s.event_id, e.url FROM entries e JOIN stories s ON s.id = e.story_id")
        .expect("prepare");
    let mut stored: std::collections::BTreeMap<i64, std::collections::BTreeSet<String>> =
        std::collections::BTreeMap::new();
    for row in stmt
        .query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
        })
        .expect("query")
    {
        let (event, url) = row.expect("row");
        stored.entry(event).or_default().extend(url);
    }
    assert_eq!(
        m["feedfold_events_created_total"],
        stored.len() as f64,
        "every event counted once"
    );
    let events = get(&addr, "/events.atom");
    events.expect(200);
    let parsed = feed_rs::parser::parse(events.text().as_bytes()).expect("feed-rs parses it");
    let served: std::collections::BTreeMap<i64, std::collections::BTreeSet<String>> = parsed
        .entries
        .iter()
        .map(|e| {
            let id =
                e.id.rsplit_once("/event/")
                    .and_then(|(_, id)| id.parse().ok())
                    .unwrap_or_else(|| panic!("{} is not an event id", e.id));
            (id, e.links.iter().map(|l| l.href.clone()).collect())
        })
        .collect();
    assert_eq!(served, stored, "{}", events.text());
    daemon.stop();
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "the server stopped with the daemon"
    );
}

#[test]
fn run_stops_with_a_clear_error_when_its_address_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("address");
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, db) = (dir.path().join("feedfold.toml"), dir.path().join("s.db"));
    write_config(&config, &db, &[], "");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&config)
        .and_then(|mut f| writeln!(f, "[server]\nlisten = \"{addr}\""))
        .expect("add [server]");
    let mut daemon = Daemon::start(&config, dir.path());
    assert_eq!(daemon.exit_code(Duration::from_secs(20)), Some(1));
    assert!(
        daemon.log().contains(&format!("cannot listen on {addr}")),
        "{}",
        daemon.log()
    );
}
