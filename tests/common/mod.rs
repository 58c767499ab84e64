//! Helpers shared by the integration tests: run the real `feedfold` binary
//! into a SQLite file in a temporary directory, look at what the file
//! holds, and serve documents over HTTP on 127.0.0.1.

#![allow(dead_code)]

pub mod feeds;
pub mod server;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tempfile::TempDir;

/// Longest any single run of the binary may take before the test fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Guids of the fixtures (see `tests/fixtures/`).
pub mod guid {
    /// Example Wire (RSS 2.0): the full wire text of the port strike story.
    pub const WIRE_FULL: &str = "wire-2026-0311-port-strike";
    /// Example Wire: Acme's earnings brief.
    pub const WIRE_ACME: &str = "wire-2026-0311-acme-q1";
    /// Example Wire: unrelated.
    pub const WIRE_WHEAT: &str = "wire-2026-0311-italy-wheat";
    /// Example Wire: unrelated, no `<guid>`: its link stands in.
    pub const WIRE_NORWAY: &str = "https://wire.example.com/news/norway-central-bank-holds-rates";
    /// Morning Digest (Atom): a two-paragraph summary of the port strike story.
    pub const DIGEST_SUMMARY: &str = "tag:digest.example.org,2026:port-1";
    /// Morning Digest: a copy of Acme's brief.
    pub const DIGEST_ACME: &str = "tag:digest.example.org,2026:acme-q1";
    /// Morning Digest: unrelated.
    pub const DIGEST_LAPTOP: &str = "tag:digest.example.org,2026:laptop";
    /// Eurodesk (RSS 1.0): retitled copy with "Source: ..." and an author bio.
    pub const EURO_RETITLED: &str = "https://eurodesk.example.eu/item/4411";
    /// Eurodesk: unrelated, same author bio.
    pub const EURO_TUNNEL: &str = "https://eurodesk.example.eu/item/4412";
    /// Aggregator Now (JSON Feed): copy with a tracking-parameter link.
    pub const AGG_TRACKED: &str = "agg-98765";
    /// Aggregator Now: Basix's earnings brief (same template as Acme's).
    pub const AGG_BASIX: &str = "agg-98770";
    /// Aggregator Now: unrelated.
    pub const AGG_MARATHON: &str = "agg-98771";
    /// Local Notes (no self or home link): its only entry.
    pub const NOTES_LIBRARY: &str = "notes-library-hours";
}

/// The four copies of the port strike story, one per feed.
pub const PORT_COPIES: [&str; 4] = [
    guid::WIRE_FULL,
    guid::DIGEST_SUMMARY,
    guid::EURO_RETITLED,
    guid::AGG_TRACKED,
];

/// The four good feed fixtures that carry the port strike story.
pub const GOOD_FEEDS: [&str; 4] = ["wire.xml", "digest.atom", "eurodesk.rdf", "aggregator.json"];

/// Entries in [`GOOD_FEEDS`].
pub const GOOD_ENTRIES: i64 = 12;

/// Path of a fixture file.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// Text of a fixture file.
pub fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("fixture is readable")
}

/// A `feedfold` command with an environment that does not leak into the
/// test: no config, no log filter, no proxy (URL sources are on loopback).
pub fn feedfold() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_feedfold"));
    for var in [
        "FEEDFOLD_CONFIG",
        "FEEDFOLD_LOG",
        "RUST_LOG",
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        c.env_remove(var);
    }
    c.env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("NO_COLOR", "1");
    c
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// How long it took.
    pub elapsed: Duration,
}

impl Run {
    /// Panics with both streams unless the run exited 0.
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "feedfold failed\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The stdout line that starts with `prefix`.
    pub fn line(&self, prefix: &str) -> &str {
        self.stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| {
                panic!(
                    "no stdout line starting with {prefix:?} in\n{}",
                    self.stdout
                )
            })
    }

    /// The `total:` line.
    pub fn total(&self) -> &str {
        self.line("total: ")
    }
}

/// Runs a command to completion (stdin from `input`, else empty), failing
/// the test if it takes longer than [`RUN_TIMEOUT`].
pub fn run(cmd: &mut Command, input: Option<&[u8]>) -> Run {
    let start = Instant::now();
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("feedfold starts");
    if let Some(bytes) = input {
        let mut stdin = child.stdin.take().expect("stdin piped");
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
    }
    let mut out = child.stdout.take().expect("stdout piped");
    let mut err = child.stderr.take().expect("stderr piped");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for feedfold") {
            break status;
        }
        if start.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("feedfold did not finish within {RUN_TIMEOUT:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code(),
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
        elapsed: start.elapsed(),
    }
}

/// A store in a fresh temporary directory.
pub struct TestStore {
    /// The directory (removed when dropped).
    pub dir: TempDir,
    /// The database file in it.
    pub db: PathBuf,
}

impl TestStore {
    /// A temporary directory; the database does not exist yet.
    pub fn new() -> TestStore {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("store.db");
        TestStore { dir, db }
    }

    /// A path inside the temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `feedfold ingest --db STORE ARGS...`.
    pub fn ingest<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.ingest_with(args, None)
    }

    /// `feedfold ingest --db STORE ARGS...` with `input` on standard input.
    pub fn ingest_with<I, S>(&self, args: I, input: Option<&[u8]>) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = feedfold();
        cmd.arg("ingest").arg("--db").arg(&self.db).args(args);
        run(&mut cmd, input)
    }

    /// `feedfold ingest` of fixtures by name.
    pub fn ingest_fixtures(&self, names: &[&str]) -> Run {
        self.ingest(names.iter().map(|n| fixture(n)))
    }

    /// `feedfold SUBCOMMAND --db STORE ARGS...`.
    pub fn query(&self, subcommand: &str, args: &[&str]) -> Run {
        let mut cmd = feedfold();
        cmd.arg(subcommand).arg("--db").arg(&self.db).args(args);
        run(&mut cmd, None)
    }

    /// A read-only connection to the store.
    pub fn conn(&self) -> Connection {
        Connection::open_with_flags(&self.db, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("store opens read-only")
    }

    /// One integer from a query.
    pub fn int(&self, sql: &str) -> i64 {
        self.conn()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// `story_id` of the entry with this guid (which must exist exactly once).
    pub fn story_of(&self, guid: &str) -> i64 {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT story_id FROM entries WHERE guid = ?1")
            .expect("prepare");
        let ids: Vec<i64> = stmt
            .query_map([guid], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(
            ids.len(),
            1,
            "expected one entry with guid {guid}, found {ids:?}"
        );
        ids[0]
    }

    /// A text column of the entry with this guid.
    pub fn entry_text(&self, guid: &str, column: &str) -> Option<String> {
        self.conn()
            .query_row(
                &format!("SELECT {column} FROM entries WHERE guid = ?1"),
                [guid],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("{column} of {guid}: {e}"))
    }

    /// guid -> story_id of every entry.
    pub fn assignment(&self) -> BTreeMap<String, i64> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT guid, story_id FROM entries")
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        rows
    }

    /// Row counts of feeds, entries and stories.
    pub fn counts(&self) -> (i64, i64, i64) {
        (
            self.int("SELECT count(*) FROM feeds"),
            self.int("SELECT count(*) FROM entries"),
            self.int("SELECT count(*) FROM stories"),
        )
    }

    /// Checks the invariants every store must keep (see [`assert_consistent`]).
    pub fn assert_consistent(&self) {
        assert_consistent(&self.conn());
    }
}

/// Every entry belongs to exactly one existing story, every story has
/// entries, and each story's counts and representative match its entries.
pub fn assert_consistent(conn: &Connection) {
    let checks = [
        (
            "entries whose story does not exist",
            "SELECT count(*) FROM entries WHERE story_id NOT IN (SELECT id FROM stories)",
        ),
        (
            "stories without entries",
            "SELECT count(*) FROM stories s WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.story_id = s.id)",
        ),
        (
            "stories whose entry_count is wrong",
            "SELECT count(*) FROM stories s
              WHERE entry_count <> (SELECT count(*) FROM entries e WHERE e.story_id = s.id)",
        ),
        (
            "stories whose feed_count is wrong",
            "SELECT count(*) FROM stories s
              WHERE feed_count <> (SELECT count(DISTINCT feed_id) FROM entries e WHERE e.story_id = s.id)",
        ),
        (
            "stories whose representative is not one of their entries",
            "SELECT count(*) FROM stories s
              WHERE representative_id IS NULL
                 OR representative_id NOT IN (SELECT id FROM entries e WHERE e.story_id = s.id)",
        ),
        (
            "entries whose matched entry is in another story",
            "SELECT count(*) FROM entries e JOIN entries m ON m.id = e.matched_entry_id
              WHERE m.story_id <> e.story_id",
        ),
    ];
    for (what, sql) in checks {
        let n: i64 = conn
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(n, 0, "{n} {what}");
    }
}

/// One HTTP route: path, status and body.
pub struct Route {
    /// Request path, e.g. `/feeds/top.xml`.
    pub path: String,
    /// Status code.
    pub status: u16,
    /// Response body.
    pub body: Vec<u8>,
}

/// A tiny HTTP/1.1 server on 127.0.0.1 (a thread per test; it lives until
/// the test process exits). Unknown paths get 404.
pub struct HttpServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Request lines received, e.g. `GET /feeds/top.xml HTTP/1.1`.
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl HttpServer {
    /// Starts serving `routes`.
    pub fn start(routes: Vec<Route>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let request_line = head.lines().next().unwrap_or_default().to_string();
                let path = request_line
                    .split(' ')
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                if let Ok(mut seen) = seen.lock() {
                    seen.push(request_line);
                }
                let (status, body) = routes
                    .iter()
                    .find(|r| r.path == path)
                    .map(|r| (r.status, r.body.clone()))
                    .unwrap_or((404, b"<html><body>not found</body></html>".to_vec()));
                let reason = match status {
                    200 => "OK",
                    404 => "Not Found",
                    _ => "Other",
                };
                let head = format!(
                    "HTTP/1.1 {status} {reason}\r\nContent-Type: application/rss+xml; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                let _ = stream.flush();
            }
        });
        HttpServer { base, requests }
    }

    /// The full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}
