//! The one HTTP server of the integration tests: HTTP/1.1 on 127.0.0.1
//! (port 0, so tests never collide), started by each test that needs one;
//! [`Server::handler_on`] binds another loopback address (127.0.0.2) for
//! a second host. Nothing else is contacted.
//!
//! Three ways to start it:
//!
//! - [`Server::routes`]: scripted responses per path. Each path answers
//!   its responses in turn and repeats the last one (so `[200, 304]` is
//!   "200, then 304 from then on"); other paths get a 404.
//! - [`Server::handler`]: a closure picks the [`Response`] for each
//!   [`Request`] (its headers, and how many requests for the same path
//!   came before it), e.g. a 304 when `If-None-Match` matches.
//! - [`Server::raw`]: a closure gets the request and the socket, and may
//!   write anything (endless bodies, huge heads, garbage) for the hostile
//!   cases. [`Response::send`] writes an ordinary response from there.
//!
//! Responses may wait before answering ([`Response::delay`]), send their
//! body a few bytes at a time ([`Response::trickle`]), announce more body
//! than they send and then hold the connection ([`Response::declared_length`]),
//! or be chunked ([`Response::chunked`]).
//!
//! Every request is logged before it is answered: [`Server::requests`]
//! (with their headers), [`Server::hits`], [`Server::wait_for`]. A
//! connection thread ends by itself within seconds, or when the client
//! hangs up; the accepting thread ends when the [`Server`] is dropped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a connection may wait on the client (for its request, or for
/// it to read or hang up) before the server gives up on it.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request line, e.g. `GET /feeds/top.xml HTTP/1.1`.
    pub line: String,
    /// The path, with the query.
    pub path: String,
    /// Headers, by lower-case name.
    pub headers: HashMap<String, String>,
    /// How many requests for the same path came before this one.
    pub nth: usize,
}

impl Request {
    /// A header's value (the name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// How the body is framed.
#[derive(Debug, Clone)]
enum Framing {
    /// `Content-Length` of the body (none on a 304).
    Length,
    /// `Content-Length: n`, more than the body: after the body the
    /// connection stays open until the client hangs up.
    Declared(usize),
    /// `Transfer-Encoding: chunked`, in chunks of this many bytes.
    Chunked(usize),
}

/// A scripted response.
#[derive(Debug, Clone)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Duration,
    framing: Framing,
    /// Send the body this many bytes at a time, pausing in between.
    trickle: Option<(usize, Duration)>,
}

impl Response {
    /// A response with this status and no body.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
            framing: Framing::Length,
            trickle: None,
        }
    }

    /// 200 with this body.
    pub fn ok(body: impl Into<Vec<u8>>) -> Response {
        Response::new(200).body(body)
    }

    /// 404 with a small HTML page.
    pub fn not_found() -> Response {
        Response::new(404).body("<html><body>not found</body></html>")
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Adds headers.
    pub fn headers(mut self, headers: &[(&str, &str)]) -> Response {
        for (name, value) in headers {
            self = self.header(name, value);
        }
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }

    /// Waits this long before answering.
    pub fn delay(mut self, delay: Duration) -> Response {
        self.delay = delay;
        self
    }

    /// Sends the body `bytes` at a time, `every` apart (a slow body).
    pub fn trickle(mut self, bytes: usize, every: Duration) -> Response {
        self.trickle = Some((bytes.max(1), every));
        self
    }

    /// Announces `n` bytes of body: with a shorter body, the response
    /// never finishes (the connection is held until the client hangs up,
    /// at most 10 s).
    pub fn declared_length(mut self, n: usize) -> Response {
        self.framing = Framing::Declared(n);
        self
    }

    /// Sends the body chunked (no `Content-Length`), `chunk` bytes a chunk.
    pub fn chunked(mut self, chunk: usize) -> Response {
        self.framing = Framing::Chunked(chunk.max(1));
        self
    }

    /// Writes the response to `stream` (for raw handlers; a write error
    /// means the client hung up, and ends it quietly).
    pub fn send(self, mut stream: TcpStream) {
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nConnection: close\r\n",
            self.status,
            reason(self.status)
        );
        match self.framing {
            Framing::Length if self.status == 304 => {}
            Framing::Length => head.push_str(&format!("Content-Length: {}\r\n", self.body.len())),
            Framing::Declared(n) => head.push_str(&format!("Content-Length: {n}\r\n")),
            Framing::Chunked(_) => head.push_str("Transfer-Encoding: chunked\r\n"),
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let sent = match self.framing {
            Framing::Chunked(size) => {
                let mut ok = true;
                for chunk in self.body.chunks(size) {
                    ok = stream
                        .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                        .is_ok()
                        && write_paced(&mut stream, chunk, self.trickle)
                        && stream.write_all(b"\r\n").is_ok();
                    if !ok {
                        break;
                    }
                }
                ok && stream.write_all(b"0\r\n\r\n").is_ok()
            }
            _ => write_paced(&mut stream, &self.body, self.trickle),
        };
        let _ = stream.flush();
        if let (true, Framing::Declared(n)) = (sent, self.framing) {
            if n > self.body.len() {
                // Hold the connection until the client hangs up (bounded).
                let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
                let mut buf = [0u8; 64];
                let _ = stream.read(&mut buf);
            }
        }
    }
}

/// Writes `bytes`, in pieces with pauses if `trickle` says so; false once
/// the client is gone.
fn write_paced(stream: &mut TcpStream, bytes: &[u8], trickle: Option<(usize, Duration)>) -> bool {
    let Some((piece, every)) = trickle else {
        return stream.write_all(bytes).is_ok();
    };
    for (i, part) in bytes.chunks(piece).enumerate() {
        if i > 0 {
            std::thread::sleep(every);
        }
        if stream.write_all(part).is_err() || stream.flush().is_err() {
            return false;
        }
    }
    true
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

type Respond = dyn Fn(&Request) -> Response + Send + Sync;
type Raw = dyn Fn(&Request, TcpStream) + Send + Sync;

enum Handler {
    Respond(Box<Respond>),
    Raw(Box<Raw>),
}

/// What all the server's threads share.
struct Shared {
    log: Mutex<Vec<Request>>,
    arrived: Condvar,
    closed: AtomicBool,
}

/// The server; requests are answered until it is dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT` (or the address it was started on).
    pub base: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Server {
    /// Scripted responses per path: the nth request for a path gets its
    /// nth response, or its last; other paths get a 404.
    pub fn routes<'a>(routes: impl IntoIterator<Item = (&'a str, Vec<Response>)>) -> Server {
        let routes: HashMap<String, Vec<Response>> = routes
            .into_iter()
            .map(|(path, responses)| {
                assert!(!responses.is_empty(), "no responses for {path}");
                (path.to_string(), responses)
            })
            .collect();
        Server::handler(move |req| match routes.get(&req.path) {
            Some(responses) => responses[req.nth.min(responses.len() - 1)].clone(),
            None => Response::not_found(),
        })
    }

    /// Every request answered by `respond`.
    pub fn handler(respond: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Server {
        Server::start("127.0.0.1", Handler::Respond(Box::new(respond)))
    }

    /// [`Server::handler`] on another loopback address (`127.0.0.2`: on
    /// Linux all of 127.0.0.0/8 reaches the loopback interface), for a
    /// second host.
    pub fn handler_on(
        ip: &str,
        respond: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Server {
        Server::start(ip, Handler::Respond(Box::new(respond)))
    }

    /// Every request handed, with the socket, to `handler`, which writes
    /// what it likes. It must end within seconds, or when the client
    /// hangs up (a write fails).
    pub fn raw(handler: impl Fn(&Request, TcpStream) + Send + Sync + 'static) -> Server {
        Server::start("127.0.0.1", Handler::Raw(Box::new(handler)))
    }

    fn start(ip: &str, handler: Handler) -> Server {
        let listener = TcpListener::bind((ip, 0)).unwrap_or_else(|e| panic!("bind {ip}: {e}"));
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            log: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            closed: AtomicBool::new(false),
        });
        let handler = Arc::new(handler);
        let server = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if server.closed.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (handler, shared) = (Arc::clone(&handler), Arc::clone(&server));
                std::thread::spawn(move || serve(stream, &handler, &shared));
            }
        });
        Server {
            base: format!("http://{addr}"),
            addr,
            shared,
        }
    }

    /// The full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The requests for `path` so far, in order.
    pub fn requests(&self, path: &str) -> Vec<Request> {
        self.log()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Every request line so far, e.g. `GET /feeds/top.xml HTTP/1.1`.
    pub fn request_lines(&self) -> Vec<String> {
        self.log().iter().map(|r| r.line.clone()).collect()
    }

    /// How many requests came for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.log().iter().filter(|r| r.path == path).count()
    }

    /// How many requests came in all.
    pub fn total_hits(&self) -> usize {
        self.log().len()
    }

    /// Waits (at most `within`) until `n` requests for `path` have come.
    pub fn wait_for(&self, path: &str, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        let mut log = self.log();
        loop {
            if log.iter().filter(|r| r.path == path).count() >= n {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no request number {n} for {path} within {within:?}"
            );
            log = self
                .shared
                .arrived
                .wait_timeout(log, left)
                .expect("request log")
                .0;
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Vec<Request>> {
        self.shared.log.lock().expect("request log")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Wake the accepting thread so that it sees the flag and ends.
        self.shared.closed.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// Reads one request, logs it, then answers it.
fn serve(stream: TcpStream, handler: &Handler, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let Some(mut req) = read_request(&stream) else {
        return;
    };
    {
        let mut log = shared.log.lock().expect("request log");
        req.nth = log.iter().filter(|r| r.path == req.path).count();
        log.push(req.clone());
        shared.arrived.notify_all();
    }
    match handler {
        Handler::Respond(respond) => respond(&req).send(stream),
        Handler::Raw(raw) => raw(&req, stream),
    }
}

/// The request line and headers; `None` if the client sent no request.
fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let line = line.trim_end().to_string();
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
    Some(Request {
        line,
        path,
        headers,
        nth: 0,
    })
}
