//! systemd's readiness protocol (`sd_notify`), for `feedfold run` under
//! `Type=notify`.
//!
//! Part of the daemon's wiring, outside the data pipeline: the daemon says
//! `READY=1` once the store is open and the scheduler runs, `STOPPING=1`
//! when it starts shutting down, `RELOADING=1`/`READY=1` around a SIGHUP
//! reload and `WATCHDOG=1` while the writer answers pings. The protocol is
//! one datagram per message to the Unix socket named by `$NOTIFY_SOCKET`
//! (a path, or an abstract name written with a leading `@`); see
//! sd_notify(3). Without the variable every call does nothing.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

/// Where notifications go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Path(PathBuf),
    Abstract(Vec<u8>),
}

/// Sends notifications to the service manager.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    target: Option<Target>,
}

impl Notifier {
    /// The notifier for `$NOTIFY_SOCKET` (a no-op when unset).
    pub fn from_env() -> Notifier {
        match std::env::var_os("NOTIFY_SOCKET") {
            Some(v) if !v.is_empty() => Notifier::new(v.to_string_lossy().as_ref()),
            _ => Notifier::default(),
        }
    }

    /// A notifier for a socket address as `$NOTIFY_SOCKET` writes it.
    pub fn new(socket: &str) -> Notifier {
        let target = match socket.strip_prefix('@') {
            Some(name) => Target::Abstract(name.as_bytes().to_vec()),
            None => Target::Path(PathBuf::from(socket)),
        };
        Notifier {
            target: Some(target),
        }
    }

    /// Whether a service manager listens.
    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends one message (`KEY=VALUE` lines). Failures are logged, never
    /// fatal: the daemon works the same without a service manager.
    pub fn notify(&self, message: &str) {
        let Some(target) = &self.target else { return };
        if let Err(e) = send(target, message) {
            tracing::warn!(error = %e, message, "Could not notify the service manager.");
        }
    }

    /// `READY=1` with a status line.
    pub fn ready(&self, status: &str) {
        self.notify(&format!("READY=1\nSTATUS={status}"));
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) {
        self.notify("STOPPING=1\nSTATUS=shutting down");
    }

    /// `WATCHDOG=1`.
    pub fn watchdog(&self) {
        self.notify("WATCHDOG=1");
    }
}

fn send(target: &Target, message: &str) -> std::io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    match target {
        Target::Path(p) => socket.send_to(message.as_bytes(), p)?,
        Target::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(message.as_bytes(), &addr)?
        }
    };
    Ok(())
}

/// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`, if the
/// watchdog is on and meant for this process (`$WATCHDOG_PID`).
pub fn watchdog_interval() -> Option<Duration> {
    if let Some(pid) = std::env::var_os("WATCHDOG_PID") {
        if pid.to_string_lossy().trim() != std::process::id().to_string() {
            return None;
        }
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_arrive_as_datagrams() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify.sock");
        let server = UnixDatagram::bind(&path).expect("bind");
        let n = Notifier::new(path.to_str().expect("utf-8 path"));
        assert!(n.is_enabled());
        n.ready("polling 3 feeds");
        n.stopping();
        let mut buf = [0u8; 256];
        let len = server.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..len], b"READY=1\nSTATUS=polling 3 feeds");
        let len = server.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..len], b"STOPPING=1\nSTATUS=shutting down");
    }

    #[test]
    fn abstract_sockets_work() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("feedfold-test-{}", std::process::id());
        let addr =
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("addr");
        let server = UnixDatagram::bind_addr(&addr).expect("bind");
        Notifier::new(&format!("@{name}")).watchdog();
        let mut buf = [0u8; 64];
        let len = server.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..len], b"WATCHDOG=1");
    }

    #[test]
    fn without_a_socket_nothing_happens() {
        let n = Notifier::default();
        assert!(!n.is_enabled());
        n.ready("x");
    }
}
