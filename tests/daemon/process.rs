//! The real daemon: a config file polling loopback feeds every second or
//! two, a running `feedfold run` (its stderr in a log file, optionally an
//! sd_notify socket), and reading its store while it runs.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use feedfold::store;
use feedfold::store::subscriptions::{self, FeedStatus};
use rusqlite::Connection;

use crate::common::{assert_consistent, feedfold};

/// Writes a config polling `feeds` every second or two into `db`; `http`
/// goes into its `[http]` table (after a 5 s timeout). No articles are
/// fetched (`[full_text] mode = "never"`): these feeds' links lead nowhere.
pub fn write_config(path: &Path, db: &Path, feeds: &[String], http: &str) {
    let mut text = format!(
        "database = {:?}\n[polling]\nmin_interval = \"1s\"\ndefault_interval = \"1s\"\nmax_interval = \"2s\"\n\
         jitter = 0.0\nshutdown_grace = \"5s\"\n[full_text]\nmode = \"never\"\n[http]\ntimeout = \"5s\"\n{http}\n",
        db.display().to_string()
    );
    for f in feeds {
        text.push_str(&format!("[[feeds]]\nurl = {f:?}\n"));
    }
    std::fs::write(path, text).expect("write config");
}

/// `[http]` settings of the robustness tests: all their feeds are on one
/// host, 8 fetches at a time.
pub const PER_HOST_8: &str = "per_host = 8";

/// `feedfold --config CONFIG --log-format plain run`.
pub fn run_command(config: &Path) -> Command {
    let mut cmd = feedfold();
    cmd.args([
        "--config",
        config.to_str().expect("utf-8"),
        "--log-format",
        "plain",
        "run",
    ]);
    cmd
}

/// A running `feedfold run`, its stderr going to a file in the test's
/// directory; killed if the test ends first.
pub struct Daemon {
    pub child: Child,
    log: PathBuf,
    notify: Option<UnixDatagram>,
}

impl Daemon {
    /// Starts `feedfold run` on `config`.
    pub fn start(config: &Path, dir: &Path) -> Daemon {
        Daemon::spawn(run_command(config), dir, false)
    }

    /// Starts `feedfold run` on `config` with `NOTIFY_SOCKET` set to a
    /// socket in `dir` (read with [`Daemon::message`]).
    pub fn start_notifying(config: &Path, dir: &Path) -> Daemon {
        Daemon::spawn(run_command(config), dir, true)
    }

    /// Starts `cmd`, its stderr going to a log file in `dir`, and, if
    /// `notify`, with `NOTIFY_SOCKET` set to `dir/notify.sock`.
    pub fn spawn(mut cmd: Command, dir: &Path, notify: bool) -> Daemon {
        let log = dir.join(format!(
            "daemon-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let err = std::fs::File::create(&log).expect("log file");
        let notify = notify.then(|| {
            let sock = dir.join("notify.sock");
            let socket = UnixDatagram::bind(&sock).expect("bind notify socket");
            socket
                .set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            cmd.env("NOTIFY_SOCKET", &sock);
            socket
        });
        let child = cmd
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("start feedfold run");
        Daemon { child, log, notify }
    }

    /// The next sd_notify message (waits at most 20 s).
    pub fn message(&self) -> String {
        let notify = self.notify.as_ref().expect("started with a notify socket");
        let mut buf = [0u8; 512];
        let n = notify.recv(&mut buf).expect("an sd_notify message");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// Sends a signal by name (`TERM`, `HUP`, ...).
    pub fn signal(&self, name: &str) {
        // The shell's builtin `kill`: no procps needed.
        let script = format!("kill -{name} {}", self.child.id());
        let status = Command::new("sh").args(["-c", &script]).status();
        assert!(status.expect("kill").success());
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What it wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits (at most 20 s) for exit code 0.
    pub fn stop(mut self) {
        let script = format!("kill -TERM {}", self.child.id());
        let _ = Command::new("sh").args(["-c", &script]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert_eq!(status.code(), Some(0), "{}", self.log());
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("feedfold did not stop: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the exit (at most 20 s); the status and stderr.
    pub fn wait(mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("feedfold did not exit");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (status, self.log())
    }

    /// Waits (at most `within`) for the process to exit; its code.
    pub fn exit_code(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("feedfold did not exit: {}", self.log());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The subscriptions' state, if the store can be read yet.
pub fn statuses(db: &Path) -> Option<Vec<FeedStatus>> {
    let conn = store::open_reader(db).ok()?;
    subscriptions::statuses(&conn).ok()
}

/// One integer from a query.
pub fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Entries in the store (0 while it cannot be read).
pub fn entry_count(db: &Path) -> i64 {
    store::open_reader(db)
        .ok()
        .and_then(|c| {
            c.query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
                .ok()
        })
        .unwrap_or(0)
}

/// Waits (at most `within`) until the store holds `want` entries; how
/// long that took.
pub fn wait_for_entries(db: &Path, want: i64, within: Duration, daemon: &mut Daemon) -> Duration {
    let started = Instant::now();
    loop {
        if entry_count(db) >= want {
            return started.elapsed();
        }
        assert!(daemon.alive(), "the daemon died: {}", daemon.log());
        assert!(
            started.elapsed() < within,
            "only {} of {want} entries after {within:?}: {}",
            entry_count(db),
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The error a feed's last check recorded ("" if none).
pub fn last_error(s: &FeedStatus) -> &str {
    s.last_error.as_deref().unwrap_or("")
}

/// Checks the file after a crash: SQLite's and the full-text index's
/// integrity, foreign keys, and that nothing is half-written. Returns the
/// number of entries.
pub fn check_store(db: &Path) -> i64 {
    // A read-write connection recovers the WAL as SQLite would on restart.
    let conn = Connection::open(db).expect("open store");
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(ok, "ok");
    let fk: i64 = count(&conn, "SELECT count(*) FROM pragma_foreign_key_check");
    assert_eq!(fk, 0, "foreign key violations");
    conn.execute(
        "INSERT INTO entries_fts(entries_fts, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .expect("the full-text index matches the entries");
    assert_consistent(&conn);
    for (what, sql) in [
        (
            "entries without features or fingerprint",
            "SELECT count(*) FROM entries WHERE features IS NULL OR length(features) = 0 OR fingerprint IS NULL",
        ),
        (
            "stories whose representative entry is missing",
            "SELECT count(*) FROM stories WHERE representative_id NOT IN (SELECT id FROM entries)",
        ),
        (
            "feeds with entries but no successful poll recorded",
            "SELECT count(*) FROM feeds f WHERE EXISTS (SELECT 1 FROM entries e WHERE e.feed_id = f.id)
               AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.feed_id = f.id AND s.last_success_at IS NOT NULL)",
        ),
    ] {
        assert_eq!(count(&conn, sql), 0, "{what}");
    }
    count(&conn, "SELECT count(*) FROM entries")
}
