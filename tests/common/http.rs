//! A client for feedfold's own HTTP server (`feedfold serve`, `[server]`
//! in `feedfold run`): one request per connection, on loopback; a running
//! `feedfold serve` that is killed when dropped; and the address a process
//! logged that it serves on.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::feedfold;

/// An answer of the server.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The body as sent (gzipped if the server gzipped it).
    pub body: Vec<u8>,
}

impl Reply {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header.
    pub fn headers(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body, gunzipped if it was gzipped, as text.
    pub fn text(&self) -> String {
        if self.header("content-encoding") == Some("gzip") {
            let mut out = String::new();
            flate2::read::GzDecoder::new(&self.body[..])
                .read_to_string(&mut out)
                .expect("a gzip body");
            out
        } else {
            String::from_utf8(self.body.clone()).expect("a UTF-8 body")
        }
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// Panics unless the status is `status`.
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "{:?}\n{}",
            self.headers,
            String::from_utf8_lossy(&self.body)
        );
        self
    }
}

/// `METHOD path` to `addr` (`127.0.0.1:PORT`) with extra headers.
pub fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send the request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the answer");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    }
}

/// `GET path`.
pub fn get(addr: &str, path: &str) -> Reply {
    request(addr, "GET", path, &[])
}

/// `GET path` with headers.
pub fn get_with(addr: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    request(addr, "GET", path, headers)
}

/// The `host:port` in a log line `... url=http://HOST:PORT/ ...` that
/// contains `marker`, waiting for `read_log` to show it (20 s at most).
pub fn logged_address(marker: &str, mut read_log: impl FnMut() -> String) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = read_log();
        if let Some(line) = log.lines().find(|l| l.contains(marker)) {
            let url = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("url=http://"))
                .unwrap_or_else(|| panic!("no url= in {line:?}"));
            return url.trim_end_matches('/').to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no {marker:?} in the log within 20 s:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running `feedfold serve`, killed when dropped.
pub struct Serve {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Serve {
    /// `feedfold serve --db DB --listen 127.0.0.1:0`, plus `args` (before
    /// `serve`: `--config PATH`), once it listens.
    pub fn start(db: &Path, global_args: &[&str]) -> Serve {
        let mut cmd = feedfold();
        cmd.args(global_args)
            .args(["--log-format", "plain", "--log", "info", "serve", "--db"])
            .arg(db)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("feedfold serve starts");
        let err = child.stderr.take().expect("stderr piped");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let reader = log.clone();
        let addr = logged_address("Serving the store read-only", || {
            reader.lock().map(|l| l.clone()).unwrap_or_default()
        });
        Serve { child, addr, log }
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// SIGTERM, then the exit code (waits 20 s at most).
    pub fn stop(mut self) -> Option<i32> {
        let script = format!("kill -TERM {}", self.child.id());
        let _ = std::process::Command::new("sh")
            .args(["-c", &script])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "feedfold serve did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
