//! Helpers shared by the integration tests (`tests/cli.rs`,
//! `tests/daemon.rs`): run the real `feedfold` binary into a SQLite file in
//! a temporary directory and look at what the file holds. Submodules: the
//! shipped [`fixtures`], [`feeds`] built by tests, the loopback HTTP
//! [`server`], a client for feedfold's own server and a running
//! `feedfold serve` ([`http`]), and a strict reader of `/metrics`
//! ([`prometheus`]).

#![allow(dead_code)]

pub mod articles;
pub mod feeds;
pub mod fixtures;
pub mod http;
pub mod prometheus;
pub mod server;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tempfile::TempDir;

use fixtures::{fixture, sample, GOOD_FEEDS, SAMPLES};

/// Longest any single run of the binary may take before the test fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A `feedfold` command with an environment that does not leak into the
/// test: no config, no log filter, no systemd sockets, no proxy (URL
/// sources are on loopback).
pub fn feedfold() -> Command {
    feedfold_at(OsStr::new(env!("CARGO_BIN_EXE_feedfold")))
}

/// [`feedfold()`] with the binary at `program` (a copy of it, or a shell
/// that executes it), in the same clean environment.
pub fn feedfold_at(program: &OsStr) -> Command {
    let mut c = Command::new(program);
    for var in [
        "FEEDFOLD_CONFIG",
        "FEEDFOLD_LOG",
        "RUST_LOG",
        "NOTIFY_SOCKET",
        "WATCHDOG_USEC",
        "WATCHDOG_PID",
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

    /// A store holding the four good fixtures ([`GOOD_FEEDS`]).
    pub fn with_good_feeds() -> TestStore {
        let store = TestStore::new();
        store.ingest_fixtures(&GOOD_FEEDS).assert_ok();
        store
    }

    /// A store holding the three samples and the four good fixtures.
    pub fn with_samples_and_good_feeds() -> TestStore {
        let store = TestStore::new();
        let mut files: Vec<PathBuf> = SAMPLES.iter().map(|s| sample(s)).collect();
        files.extend(GOOD_FEEDS.iter().map(|f| fixture(f)));
        store.ingest(&files).assert_ok();
        store
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

    /// A store holding a labelled corpus next to the crate
    /// (`../shared/corpus/...`, its `files.txt` ingested in order), and the
    /// corpus's folder; `None`, with a note naming `what` is skipped, where
    /// the corpus is absent.
    pub fn with_corpus(relative: &str, what: &str) -> Option<(TestStore, PathBuf)> {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        let Ok(list) = std::fs::read_to_string(corpus.join("files.txt")) else {
            println!("note: {} is absent; {what}", corpus.display());
            return None;
        };
        let files: Vec<&str> = list
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let store = TestStore::new();
        let mut cmd = feedfold();
        cmd.current_dir(&corpus)
            .arg("ingest")
            .arg("--db")
            .arg(&store.db)
            .args(&files);
        run(&mut cmd, None).assert_ok();
        Some((store, corpus))
    }

    /// A read-only connection to the store.
    pub fn conn(&self) -> Connection {
        Connection::open_with_flags(&self.db, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("store opens read-only")
    }

    /// A read-write connection to the store (waits up to 10 s for the
    /// writer's lock).
    pub fn writable(&self) -> Connection {
        let conn = Connection::open(&self.db).expect("open store");
        conn.busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
        conn
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
        assignment(&self.conn())
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

/// guid -> story_id of every entry of the store `conn` reads.
pub fn assignment(conn: &Connection) -> BTreeMap<String, i64> {
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
