//! Serving under ingest: the real `feedfold run`, polling loopback feeds
//! as fast as it can store them, while Rust clients hammer its HTTP
//! server (`[server] listen`) for `/stories.atom` and `/api/stories`.
//!
//! The benchmark serves `--feeds` feeds (default 300) from one loopback
//! listener; every request for a feed gets `--entries` (default 20) new
//! entries of real Reuters-21578 text (copies of one story go to
//! consecutive feeds, three per story), so the daemon never runs out of
//! work: it polls every feed every second (`min_interval = "1s"`) and
//! stores what its writer can take. Its config sets `[full_text] mode =
//! "never"`: the entries link to `outletN.bench.test`, which must not be
//! looked up. After a warm-up it runs five phases of
//! `--seconds` each (default 20):
//!
//! - A, C, E: no HTTP load;
//! - B: `--rate` requests/s in all (default 200; paced, split over
//!   `--clients` keep-alive connections), as a large crowd of readers;
//! - D: the same clients with no pacing (closed loop: each sends its next
//!   request when the last answer is in).
//!
//! Clients send `Accept-Encoding: gzip`, as feed readers do, and alternate
//! the two paths. For each phase it prints the ingest throughput (new
//! entries/s, from the daemon's own `feedfold_entries_stored_total`), the
//! CPU the daemon and this process (feed server and clients) used, and
//! for B and D the requests/s, the p50/p99/max latency and the drop of
//! ingest against the mean of the idle phases around it (target: less
//! than 10%).
//!
//! Run: `cargo bench --bench serve`; `-- --quick` for 8-second phases;
//! `-- --feeds N --entries N --seconds N --rate N --clients N` to choose.
//! It needs `../shared/corpus/reuters21578` and prints a note without it.

#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{Item, Pool};

/// Copies per story.
const COPIES: u64 = 3;

/// What the feed server hands out.
struct Source {
    pool: Pool,
    feeds: usize,
    per_feed: usize,
    /// Dates start here (a day ago) and advance by a second per 10 entries.
    base: i64,
    /// How many documents each feed has served.
    rounds: Vec<AtomicUsize>,
    addr: String,
}

impl Source {
    /// Feed `f`'s next document: `per_feed` new entries.
    fn document(&self, f: usize) -> Vec<u8> {
        let round = self.rounds[f].fetch_add(1, Ordering::Relaxed);
        let items: Vec<Item> = (0..self.per_feed)
            .map(|j| {
                let slot = ((round * self.per_feed + j) * self.feeds + f) as u64;
                let (event, copy) = (slot / COPIES, slot % COPIES);
                let at = self.base + (slot / 10) as i64;
                self.pool
                    .item(event, copy, f, at, support::mix(slot ^ 0x5eed))
            })
            .collect();
        support::render_feed(
            &format!("Outlet {f}"),
            &format!("http://{}/feeds/{f}.xml", self.addr),
            f % 2 == 1,
            &items,
        )
        .into_bytes()
    }
}

/// Serves `/feeds/{i}.xml`, a thread per connection, keep-alive.
fn serve_feeds(listener: TcpListener, source: Arc<Source>) {
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let source = source.clone();
            std::thread::spawn(move || feed_connection(stream, &source));
        }
    });
}

fn feed_connection(stream: TcpStream, source: &Source) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if !matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        loop {
            let mut h = String::new();
            if !matches!(reader.read_line(&mut h), Ok(n) if n > 0) {
                return;
            }
            if h.trim().is_empty() {
                break;
            }
        }
        let feed = path
            .strip_prefix("/feeds/")
            .and_then(|p| p.strip_suffix(".xml"))
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|&i| i < source.feeds);
        let written = match feed {
            Some(f) => {
                let body = source.document(f);
                out.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .as_bytes(),
                )
                .and_then(|()| out.write_all(&body))
            }
            None => out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
        };
        if written.and_then(|()| out.flush()).is_err() {
            return;
        }
    }
}

/// One GET on a keep-alive connection (opened if needed); the body's size.
fn get(conn: &mut Option<BufReader<TcpStream>>, addr: &str, path: &str) -> std::io::Result<usize> {
    let reader = match conn {
        Some(r) => r,
        None => {
            let s = TcpStream::connect(addr)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(30)))?;
            conn.insert(BufReader::new(s))
        }
    };
    reader.get_mut().write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: gzip\r\n\r\n").as_bytes(),
    )?;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let ok = line.split_whitespace().nth(1) == Some("200");
    let mut length = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    if ok {
        Ok(length)
    } else {
        Err(std::io::Error::other(line))
    }
}

/// What the clients of a phase saw.
#[derive(Default)]
struct Load {
    micros: Vec<u32>,
    errors: usize,
    bytes: usize,
}

/// `clients` threads sending GETs to `addr` until `stop`; with `pace`,
/// each waits that long between the starts of its requests.
fn hammer(
    addr: &str,
    clients: usize,
    pace: Option<Duration>,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Load>> {
    (0..clients)
        .map(|c| {
            let (addr, stop) = (addr.to_string(), stop.clone());
            std::thread::spawn(move || {
                let paths = ["/stories.atom", "/api/stories"];
                let mut load = Load::default();
                let mut conn = None;
                let mut i = c;
                let mut next = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    if let Some(p) = pace {
                        let now = Instant::now();
                        if next > now {
                            std::thread::sleep(next - now);
                        }
                        next += p;
                    }
                    let started = Instant::now();
                    match get(&mut conn, &addr, paths[i % paths.len()]) {
                        Ok(n) => {
                            load.micros
                                .push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
                            load.bytes += n;
                        }
                        Err(_) => {
                            load.errors += 1;
                            conn = None;
                        }
                    }
                    i += 1;
                }
                load
            })
        })
        .collect()
}

/// `feedfold_entries_stored_total` of the daemon.
fn stored(addr: &str) -> f64 {
    let mut text = String::new();
    // A plain request (no gzip) for the exposition.
    if let Ok(mut s) = TcpStream::connect(addr) {
        let _ = s.write_all(
            format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        let _ = s.read_to_string(&mut text);
    }
    text.lines()
        .find_map(|l| l.strip_prefix("feedfold_entries_stored_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

/// CPU seconds (user + system) a process has used so far, from
/// `/proc/PID/stat` (in USER_HZ, 100 per second on Linux).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command's closing parenthesis; utime and stime
    // are the 12th and 13th of them.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

/// What a phase measured.
struct Phase {
    /// New entries stored per second.
    ingest: f64,
    /// Cores the daemon used (CPU seconds per second).
    daemon_cpu: f64,
    /// Cores this process used: the feed server, and the clients if any.
    bench_cpu: f64,
    /// What the clients saw, and over how many seconds.
    load: Option<(Load, f64)>,
}

/// Runs a phase of `seconds`; with `load`, the clients hammer meanwhile.
fn phase(addr: &str, daemon: u32, seconds: u64, load: Option<(usize, Option<Duration>)>) -> Phase {
    let stop = Arc::new(AtomicBool::new(false));
    let before = stored(addr);
    let (daemon_before, bench_before) = (cpu_seconds(&daemon.to_string()), cpu_seconds("self"));
    let started = Instant::now();
    let clients = load.map(|(n, pace)| hammer(addr, n, pace, &stop));
    std::thread::sleep(Duration::from_secs(seconds));
    let after = stored(addr);
    let elapsed = started.elapsed().as_secs_f64();
    let (daemon_after, bench_after) = (cpu_seconds(&daemon.to_string()), cpu_seconds("self"));
    stop.store(true, Ordering::Relaxed);
    let seen = clients.map(|threads| {
        let mut all = Load::default();
        for t in threads {
            if let Ok(l) = t.join() {
                all.micros.extend(l.micros);
                all.errors += l.errors;
                all.bytes += l.bytes;
            }
        }
        all.micros.sort_unstable();
        (all, started.elapsed().as_secs_f64())
    });
    Phase {
        ingest: (after - before) / elapsed,
        daemon_cpu: (daemon_after - daemon_before) / elapsed,
        bench_cpu: (bench_after - bench_before) / elapsed,
        load: seen,
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn start_daemon(dir: &std::path::Path, feeds: &[String], listen: &str) -> Child {
    let config = dir.join("feedfold.toml");
    let mut text = format!(
        "database = {:?}\n[polling]\nmin_interval = \"1s\"\ndefault_interval = \"1s\"\nmax_interval = \"1s\"\njitter = 0.0\n\
         [http]\nper_host = 16\ntimeout = \"60s\"\n[server]\nlisten = {listen:?}\n\
         [full_text]\nmode = \"never\"\n",
        dir.join("bench.db").display().to_string()
    );
    for f in feeds {
        text.push_str(&format!("[[feeds]]\nurl = {f:?}\n"));
    }
    std::fs::write(&config, text).expect("write the config");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedfold"));
    for var in [
        "FEEDFOLD_CONFIG",
        "FEEDFOLD_LOG",
        "RUST_LOG",
        "NOTIFY_SOCKET",
        "WATCHDOG_USEC",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_PROXY", "127.0.0.1")
        .args(["--config"])
        .arg(&config)
        .args(["--log", "warn", "--log-format", "plain", "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start feedfold run")
}

fn main() {
    let Some(pool) = Pool::load() else {
        println!("serve bench: ../shared/corpus/reuters21578 not found; skipped");
        return;
    };
    let quick = support::flag("--quick");
    let feeds: usize = support::arg("--feeds").unwrap_or(300);
    let per_feed: usize = support::arg("--entries").unwrap_or(20);
    let seconds: u64 = support::arg("--seconds").unwrap_or(if quick { 8 } else { 20 });
    let rate: f64 = support::arg("--rate").unwrap_or(200.0);
    let clients: usize = support::arg("--clients").unwrap_or(4);
    let warmup = seconds.max(10);

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the feed server");
    let feed_addr = listener.local_addr().expect("address").to_string();
    let source = Arc::new(Source {
        pool,
        feeds,
        per_feed,
        base: chrono::Utc::now().timestamp() - 86_400,
        rounds: (0..feeds).map(|_| AtomicUsize::new(0)).collect(),
        addr: feed_addr.clone(),
    });
    serve_feeds(listener, source.clone());
    let urls: Vec<String> = (0..feeds)
        .map(|f| format!("http://{feed_addr}/feeds/{f}.xml"))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = format!("127.0.0.1:{}", free_port());
    let mut daemon = start_daemon(dir.path(), &urls, &addr);
    let deadline = Instant::now() + Duration::from_secs(30);
    while stored(&addr).is_nan() {
        assert!(
            Instant::now() < deadline,
            "the daemon's server did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "serve bench: {feeds} feeds x {per_feed} new entries per poll (every 1 s), phases of {seconds} s, \
         load B: {rate} req/s over {clients} connections, load D: {clients} connections unpaced"
    );
    std::thread::sleep(Duration::from_secs(warmup));

    let pace = Some(Duration::from_secs_f64(clients as f64 / rate.max(0.001)));
    let mut rows = Vec::new();
    let mut ingest = Vec::new();
    for (name, load) in [
        ("A idle", None),
        ("B paced", Some((clients, pace))),
        ("C idle", None),
        ("D unpaced", Some((clients, None))),
        ("E idle", None),
    ] {
        let p = phase(&addr, daemon.id(), seconds, load);
        println!(
            "  {name:<10} ingest {:>7.0} entries/s; CPU: daemon {:.2} cores, bench process (feeds, clients) {:.2} cores",
            p.ingest, p.daemon_cpu, p.bench_cpu
        );
        ingest.push(p.ingest);
        rows.push((name, p.ingest, p.load));
    }
    for (i, (name, rate, seen)) in rows.iter().enumerate() {
        let Some((load, elapsed)) = seen else {
            continue;
        };
        let baseline = (ingest[i - 1] + ingest[i + 1]) / 2.0;
        println!(
            "{name}: {:.0} req/s ({} requests, {} errors, {:.1} MB/s gzipped), latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
             ingest {rate:.0} entries/s vs {baseline:.0} idle: {:+.1}% (target: drop < 10%)",
            load.micros.len() as f64 / elapsed,
            load.micros.len(),
            load.errors,
            load.bytes as f64 / elapsed / 1e6,
            percentile(&load.micros, 0.5),
            percentile(&load.micros, 0.99),
            percentile(&load.micros, 1.0),
            (rate / baseline - 1.0) * 100.0,
        );
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
}
