//! Daemon poll-cycle benchmark: the real `feedfold` binary checking 10,000
//! feeds against a store of 1,000,000 entries.
//!
//! The benchmark serves 10,000 feeds itself, over HTTP/1.1 with keep-alive,
//! from 16 loopback addresses (127.0.0.1 … 127.0.0.16, so the daemon's
//! per-host limit does not serialize them); each feed answers 304 to a
//! matching `If-None-Match` or `If-Modified-Since`. It copies the cached
//! 1M-entry store of the growth benchmark (`support::cached_store`: real
//! Reuters text, 10,000 feeds, 180 days), points its 10,000 stored feeds at
//! the local URLs, subscribes to them as a user would (`feedfold opml
//! import`), and runs `feedfold run --once --now` (check every feed once,
//! now: without `--now`, cycle B would find every feed not due after cycle
//! A and check none) twice, with default settings otherwise, except
//! `[full_text] mode = "never"`: the entries link to `outletN.bench.test`
//! pages that do not exist, and fetching the articles of the short ones
//! would send thousands of name lookups off the machine and keep the cycle
//! waiting for them:
//!
//! - cycle A: every feed answers 200 with 20 new entries (varied Reuters
//!   text dated after the newest stored entry; stories carried by 1 to 6
//!   feeds, so copies across feeds are grouped);
//! - cycle B: every feed answers 304.
//!
//! For each cycle it prints the wall time and, for the daemon process, the
//! CPU seconds (user + sys) from `wait4(2)`'s rusage (`ru_utime`,
//! `ru_stime`) and its peak RSS (`VmHWM` in `/proc/PID/status`, read while
//! it runs: `ru_maxrss` counts the bench's own memory at the spawn too, 461
//! MB after cycle A's documents), next to the targets of issue #14 (all-304
//! cycle under 5 s of CPU; peak RSS under 150 MB), and the daemon's own
//! summary line.
//!
//! Run: `cargo bench --bench poll_cycle`; `-- --quick` for 1,000 feeds
//! against the 100,000-entry store; `-- --feeds N`, `-- --store N` and
//! `-- --entries N` (per feed) to choose; `-- --features-in-memory N` sets
//! `[grouping] features_in_memory` (how many window entries keep their
//! features in memory; the rest are read back from the store), to weigh
//! memory against CPU. `POLL_CYCLE_FEEDFOLD=PATH` runs
//! another build of the daemon (to compare two builds on the same bench).

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use feedfold::model::parse_time;
use rusqlite::Connection;
use support::{Item, Pool};

/// Loopback addresses the feeds are spread over.
const HOSTS: usize = 16;

const ETAG_PREFIX: &str = "\"ff-bench-";
const LAST_MODIFIED: &str = "Thu, 01 Jan 2026 12:00:00 GMT";

/// What the server answered.
#[derive(Default)]
struct Counts {
    ok: AtomicUsize,
    not_modified: AtomicUsize,
    other: AtomicUsize,
    connections: AtomicUsize,
}

impl Counts {
    fn take(&self) -> (usize, usize, usize, usize) {
        (
            self.ok.swap(0, Ordering::Relaxed),
            self.not_modified.swap(0, Ordering::Relaxed),
            self.other.swap(0, Ordering::Relaxed),
            self.connections.swap(0, Ordering::Relaxed),
        )
    }
}

/// Serves `/feeds/{i}.xml` from `docs` on every listener, a thread per
/// connection, keep-alive. Returns each host's base URL.
fn serve(docs: Arc<Vec<Vec<u8>>>, counts: Arc<Counts>) -> Vec<String> {
    (1..=HOSTS)
        .map(|h| {
            let listener =
                TcpListener::bind(format!("127.0.0.{h}:0")).expect("bind a loopback address");
            let base = format!("http://{}", listener.local_addr().expect("local address"));
            let (docs, counts) = (docs.clone(), counts.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let (docs, counts) = (docs.clone(), counts.clone());
                    counts.connections.fetch_add(1, Ordering::Relaxed);
                    std::thread::spawn(move || connection(stream, &docs, &counts));
                }
            });
            base
        })
        .collect()
}

/// Answers requests on one connection until the client closes it.
fn connection(stream: TcpStream, docs: &[Vec<u8>], counts: &Counts) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers: HashMap<String, String> = HashMap::new();
        loop {
            let mut h = String::new();
            match reader.read_line(&mut h) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let close = headers
            .get("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let index = path
            .strip_prefix("/feeds/")
            .and_then(|p| p.strip_suffix(".xml"))
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|&i| i < docs.len());
        let written = match index {
            None => {
                counts.other.fetch_add(1, Ordering::Relaxed);
                out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            }
            Some(i) => {
                let etag = format!("{ETAG_PREFIX}{i}\"");
                let fresh = headers.get("if-none-match") == Some(&etag)
                    || (!headers.contains_key("if-none-match")
                        && headers.get("if-modified-since").map(String::as_str)
                            == Some(LAST_MODIFIED));
                if fresh {
                    counts.not_modified.fetch_add(1, Ordering::Relaxed);
                    out.write_all(
                        format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nLast-Modified: {LAST_MODIFIED}\r\n\r\n")
                            .as_bytes(),
                    )
                } else {
                    counts.ok.fetch_add(1, Ordering::Relaxed);
                    let body = &docs[i];
                    out.write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/xml; charset=utf-8\r\nContent-Length: {}\r\nETag: {etag}\r\nLast-Modified: {LAST_MODIFIED}\r\n\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .and_then(|()| out.write_all(body))
                }
            }
        };
        if written.and_then(|()| out.flush()).is_err() || close {
            return;
        }
    }
}

/// The newest stored date and the last stored event.
fn newest(db: &Path) -> (i64, u64) {
    let conn = Connection::open(db).expect("open the copied store");
    let (published, guid): (String, String) = conn
        .query_row(
            "SELECT published, (SELECT guid FROM entries ORDER BY id DESC LIMIT 1)
               FROM entries ORDER BY published DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("newest entry");
    let t = parse_time(&published).expect("a stored date").timestamp();
    let (event, _) = support::parse_link(&guid).expect("a generated guid");
    (t, event)
}

/// The feed documents of cycle A: `per_feed` new entries per feed, dated
/// over the 24 hours after the newest stored entry; consecutive copies of
/// one story go to consecutive feeds.
fn documents(pool: &Pool, db: &Path, feeds: usize, per_feed: usize) -> Vec<Vec<u8>> {
    let (newest, last_event) = newest(db);
    let total = feeds * per_feed;
    let mut items: Vec<Vec<Item>> = (0..feeds).map(|_| Vec::with_capacity(per_feed)).collect();
    let (mut pos, mut e) = (0usize, last_event + 1);
    while pos < total {
        for j in 0..support::copies(e) as u64 {
            if pos >= total {
                break;
            }
            let f = pos % feeds;
            let at = newest + 60 + (pos as f64 * 86_400.0 / total as f64) as i64;
            items[f].push(pool.item(e, j, f, at, support::mix(e ^ (j << 40))));
            pos += 1;
        }
        e += 1;
    }
    items
        .iter()
        .enumerate()
        .map(|(f, it)| {
            support::render_feed(
                &format!("Outlet {f}"),
                &support::feed_url(f),
                f % 2 == 1,
                it,
            )
            .into_bytes()
        })
        .collect()
}

/// What one child process used, from `wait4`.
struct Usage {
    wall: f64,
    cpu_user: f64,
    cpu_sys: f64,
    /// `ru_maxrss`: on Linux it counts the bench process's own resident
    /// set at the spawn too (the child's accounting starts from the
    /// parent's memory map before `exec`), so it is at least this
    /// process's size.
    max_rss_mb: f64,
    /// The daemon's own peak: its `VmHWM`, read from `/proc` every 50 ms
    /// while it runs (the last reading before it exits; `ru_maxrss` if it
    /// exited before the first reading).
    hwm_mb: f64,
    code: i32,
    stdout: String,
}

fn timeval(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

/// Runs `cmd` to completion and measures it with `wait4(2)`, which reaps
/// the child (so `Child::wait` is not called).
#[allow(clippy::zombie_processes)]
#[allow(unsafe_code)] // wait4(2) through libc: the only way to read a child's rusage.
fn measured(cmd: &mut Command) -> Usage {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start feedfold");
    let mut out = child.stdout.take().expect("stdout piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    // VmHWM only grows; the last reading is the peak (a zombie has none).
    let status_path = format!("/proc/{pid}/status");
    let sampler = std::thread::spawn(move || {
        let mut hwm_kb = 0u64;
        while let Ok(text) = std::fs::read_to_string(&status_path) {
            let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            else {
                break;
            };
            hwm_kb = hwm_kb.max(kb);
            std::thread::sleep(Duration::from_millis(50));
        }
        hwm_kb
    });
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for; the pointers are valid.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    let wall = started.elapsed().as_secs_f64();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Usage {
        wall,
        cpu_user: timeval(usage.ru_utime),
        cpu_sys: timeval(usage.ru_stime),
        max_rss_mb: usage.ru_maxrss as f64 / 1024.0,
        hwm_mb: match sampler.join().unwrap_or_default() {
            0 => usage.ru_maxrss as f64 / 1024.0,
            kb => kb as f64 / 1024.0,
        },
        code,
        stdout: reader.join().unwrap_or_default(),
    }
}

fn feedfold() -> Command {
    let binary = std::env::var_os("POLL_CYCLE_FEEDFOLD")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_feedfold").into());
    let mut cmd = Command::new(binary);
    for var in [
        "FEEDFOLD_CONFIG",
        "FEEDFOLD_LOG",
        "RUST_LOG",
        "NOTIFY_SOCKET",
    ] {
        cmd.env_remove(var);
    }
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
        .expect("count")
}

fn main() {
    let Some(pool) = Pool::load() else {
        println!("poll_cycle bench: ../shared/corpus/reuters21578 not found; skipped");
        return;
    };
    let quick = support::flag("--quick");
    let feeds: usize = support::arg("--feeds").unwrap_or(if quick { 1_000 } else { 10_000 });
    let size: usize = support::arg("--store").unwrap_or(if quick { 100_000 } else { 1_000_000 });
    let per_feed: usize = support::arg("--entries").unwrap_or(20);
    let features_in_memory: Option<usize> = support::arg("--features-in-memory");
    assert!(feeds <= support::FEEDS, "at most {} feeds", support::FEEDS);

    let cached = support::cached_store(&pool, size);
    let dir = tempfile::tempdir_in(support::cache_dir()).expect("temporary directory");
    let db = support::copy_store(&cached, dir.path());
    let docs = Arc::new(documents(&pool, &db, feeds, per_feed));
    let served_mb = docs.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    let counts = Arc::new(Counts::default());
    let bases = serve(docs.clone(), counts.clone());
    let url = |f: usize| format!("{}/feeds/{f}.xml", bases[f % HOSTS]);

    // The stored feeds now live at the local URLs (feed f is feeds.id f + 1).
    {
        let mut conn = Connection::open(&db).expect("open the copied store");
        let t = conn.transaction().expect("transaction");
        for f in 0..feeds {
            t.execute(
                "UPDATE feeds SET url = ?2, self_url = ?2 WHERE id = ?1",
                rusqlite::params![f as i64 + 1, url(f)],
            )
            .expect("point a feed at its local URL");
        }
        t.commit().expect("commit");
    }
    let opml = dir.path().join("subscriptions.opml");
    let mut text = String::from(
        "<?xml version=\"1.0\"?>\n<opml version=\"2.0\"><head><title>bench</title></head><body>\n",
    );
    for f in 0..feeds {
        text.push_str(&format!(
            "<outline type=\"rss\" text=\"Outlet {f}\" xmlUrl=\"{}\"/>\n",
            url(f)
        ));
    }
    text.push_str("</body></opml>\n");
    std::fs::write(&opml, text).expect("write the OPML file");
    let config = dir.path().join("feedfold.toml");
    let mut settings = format!(
        "database = {:?}\n\n[full_text]\nmode = \"never\"\n",
        db.display().to_string()
    );
    if let Some(n) = features_in_memory {
        settings.push_str(&format!("\n[grouping]\nfeatures_in_memory = {n}\n"));
        println!("poll_cycle: [grouping] features_in_memory = {n}");
    }
    std::fs::write(&config, settings).expect("write the config");
    let entries_before = count(&db, "SELECT count(*) FROM entries");
    println!(
        "poll_cycle: {feeds} feeds on {HOSTS} loopback addresses ({served_mb:.0} MB of feed documents, {per_feed} new entries each), store of {entries_before} entries ({:.0} MB), default [http] and [polling] settings, [full_text] mode = \"never\"",
        support::file_mb(&db)
    );

    let started = Instant::now();
    let import = feedfold()
        .arg("--config")
        .arg(&config)
        .args(["opml", "import"])
        .arg(&opml)
        .output()
        .expect("run feedfold opml import");
    assert!(
        import.status.success(),
        "opml import failed: {}",
        String::from_utf8_lossy(&import.stderr)
    );
    println!(
        "poll_cycle: `feedfold opml import` of {feeds} feeds: {:.2} s: {}",
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&import.stdout).trim()
    );

    for (cycle, what) in [
        ("A", "every feed answers 200"),
        ("B", "every feed answers 304"),
    ] {
        let log = std::fs::File::create(dir.path().join(format!("cycle-{cycle}.log")))
            .expect("create the log file");
        let usage = measured(
            feedfold()
                .arg("--config")
                .arg(&config)
                .args(["--log-format", "plain", "run", "--once", "--now"])
                .stderr(Stdio::from(log)),
        );
        let (ok, not_modified, other, connections) = counts.take();
        let cpu = usage.cpu_user + usage.cpu_sys;
        println!(
            "poll_cycle: cycle {cycle} ({what}): wall {:.1} s, CPU {cpu:.1} s (user {:.1} + sys {:.1}; rusage of the daemon process via wait4), peak RSS {:.0} MB (the daemon's VmHWM; wait4's ru_maxrss says {:.0} MB, which counts this bench's own memory at the spawn); server answered {ok}x200, {not_modified}x304, {other} other on {connections} new connections; exit {}",
            usage.wall,
            usage.cpu_user,
            usage.cpu_sys,
            usage.hwm_mb,
            usage.max_rss_mb,
            usage.code
        );
        println!(
            "poll_cycle: cycle {cycle}: feedfold says: {}",
            usage.stdout.trim()
        );
        let targets = if cycle == "B" {
            format!(
                "CPU {} 5 s target, peak RSS {} 150 MB target",
                if cpu < 5.0 {
                    "meets the <"
                } else {
                    "MISSES the <"
                },
                if usage.hwm_mb < 150.0 {
                    "meets the <"
                } else {
                    "MISSES the <"
                }
            )
        } else {
            format!(
                "peak RSS {} 150 MB target",
                if usage.hwm_mb < 150.0 {
                    "meets the <"
                } else {
                    "MISSES the <"
                }
            )
        };
        println!("poll_cycle: cycle {cycle}: {targets}");
    }
    println!(
        "poll_cycle: store now {} entries ({} new), {} feeds, {:.0} MB",
        count(&db, "SELECT count(*) FROM entries"),
        count(&db, "SELECT count(*) FROM entries") - entries_before,
        count(&db, "SELECT count(*) FROM feeds"),
        support::file_mb(&db)
    );
}
