//! A raw HTTP server on 127.0.0.1 for the robustness tests: each request is
//! handed, with the socket, to a handler that may write anything (endless
//! bodies, bombs, huge heads, garbage). Every handler must end by itself
//! within seconds or when the client hangs up, so no test leaves a busy
//! thread behind for long.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Req {
    /// The path (with the query).
    pub path: String,
}

type Handler = dyn Fn(&Req, TcpStream) + Send + Sync;

/// The server; it lives until the test process exits.
pub struct RawServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: Arc<Mutex<Vec<Req>>>,
}

impl RawServer {
    /// Starts serving every request with `handler` (a thread per connection).
    pub fn start(handler: impl Fn(&Req, TcpStream) + Send + Sync + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let server_log = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (handler, log) = (handler.clone(), server_log.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
                    let Some(req) = read_request(&stream) else {
                        return;
                    };
                    if let Ok(mut log) = log.lock() {
                        log.push(req.clone());
                    }
                    handler(&req, stream);
                });
            }
        });
        RawServer { base, log }
    }

    /// The full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// How many requests came for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.log
            .lock()
            .map(|l| l.iter().filter(|r| r.path == path).count())
            .unwrap_or(0)
    }

    /// How many requests came in all.
    pub fn total_hits(&self) -> usize {
        self.log.lock().map(|l| l.len()).unwrap_or(0)
    }
}

fn read_request(stream: &TcpStream) -> Option<Req> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    Some(Req { path })
}

/// Writes a complete response with a Content-Length.
pub fn respond(mut stream: TcpStream, status: u16, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status} Whatever\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

/// An RSS 2.0 document with the given (guid, title, text) items, dated
/// `published` (RFC 822).
pub fn rss(title: &str, items: &[(String, String, String, String)]) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{title}</title><link>http://example.org/</link>"
    );
    for (guid, t, text, published) in items {
        s.push_str(&format!(
            "<item><guid>{guid}</guid><title>{t}</title><link>http://example.org/{guid}</link>\
             <description>{text}</description><pubDate>{published}</pubDate></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

/// A small valid feed of two items.
pub fn two_items() -> String {
    let item = |g: &str, t: &str| {
        (
            g.to_string(),
            t.to_string(),
            format!(
                "The city council of Springfield voted on {t} after a long debate about budgets, \
                 schools and the new bridge across the river on Tuesday evening."
            ),
            "Tue, 10 Mar 2026 10:00:00 GMT".to_string(),
        )
    };
    rss(
        "Wire",
        &[item("a1", "Budget vote one"), item("a2", "Bridge plan two")],
    )
}
