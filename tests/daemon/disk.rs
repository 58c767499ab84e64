//! Full and read-only disks under the running daemon, on a small tmpfs
//! (skipped, with a note, where mounting is not allowed): a full disk is
//! an error the daemon survives and recovers from; a read-only one is
//! refused at start and left intact.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use feedfold::store;

use super::crash::syndication_server;
use super::process::{
    check_store, count, last_error, statuses, wait_for_entries, write_config, Daemon, PER_HOST_8,
};
use crate::common::assert_consistent;
use crate::common::feeds::two_items;
use crate::common::server::{Response, Server};

/// A tmpfs mounted on a fresh directory, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a `size` tmpfs, or says why not (then the test is skipped).
    fn mount(dir: PathBuf, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(&dir).ok()?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir }),
            Ok(o) => {
                println!(
                    "SKIPPED: cannot mount a tmpfs: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                println!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }

    fn remount(&self, mode: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "remount {mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// SQLite's and the store's invariants on a read-only connection (while the
/// daemon runs).
fn check_store_read_only(db: &Path) -> i64 {
    let conn = store::open_reader(db).expect("reader");
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(ok, "ok");
    assert_consistent(&conn);
    count(&conn, "SELECT count(*) FROM entries")
}

/// Fills the file system holding `path` with one file, then leaves `free` bytes.
fn fill(path: &Path, free: u64) {
    let mut f = std::fs::File::create(path).expect("ballast");
    let block = vec![0u8; 64 << 10];
    let mut written = 0u64;
    while f.write_all(&block).is_ok() {
        written += block.len() as u64;
    }
    // A short write may have left a partial block.
    let _ = f.set_len(written.saturating_sub(free));
    let _ = f.sync_all();
}

#[test]
fn a_full_disk_is_an_error_the_daemon_survives_and_recovers_from() {
    const FEEDS: usize = 3;
    const STORIES: usize = 60;
    let want = (FEEDS * STORIES) as i64;
    let top = tempfile::tempdir().expect("tempdir");
    let Some(fs) = Tmpfs::mount(top.path().join("disk"), "6m") else {
        return;
    };
    let server = syndication_server(Arc::new(AtomicUsize::new(STORIES)), 150);
    let urls: Vec<String> = (0..FEEDS)
        .map(|f| server.url(&format!("/feed/{f}")))
        .collect();
    let (db, config) = (fs.dir.join("ff.db"), top.path().join("ff.toml"));
    write_config(&config, &db, &urls, PER_HOST_8);
    // Room for the schema, not for the entries.
    let ballast = fs.dir.join("ballast");
    fill(&ballast, 400 << 10);
    let mut daemon = Daemon::start(&config, top.path());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !daemon.log().contains("full") {
        assert!(
            Instant::now() < deadline,
            "no disk-full error: {}",
            daemon.log()
        );
        assert!(daemon.alive(), "the daemon died: {}", daemon.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let it retry against the full disk for a while.
    std::thread::sleep(Duration::from_secs(2));
    assert!(daemon.alive(), "the daemon died: {}", daemon.log());
    let during = check_store_read_only(&db);
    let recorded = statuses(&db)
        .unwrap_or_default()
        .iter()
        .filter(|s| last_error(s).contains("full"))
        .count();
    println!("disk full: {recorded} of {FEEDS} feeds show the error in `feedfold status`");
    assert!(recorded >= 1, "the error is recorded on the feeds");
    let log = daemon.log();
    let full: Vec<&str> = log.lines().filter(|l| l.contains("full")).collect();
    println!(
        "disk full: {} error lines, {during} entries stored meanwhile; first: {}",
        full.len(),
        full.first().copied().unwrap_or("")
    );
    // Space comes back: the daemon catches up by itself.
    std::fs::remove_file(&ballast).expect("remove ballast");
    let took = wait_for_entries(&db, want, Duration::from_secs(30), &mut daemon);
    println!("disk full: all {want} entries stored {took:?} after space came back");
    daemon.stop();
    assert_eq!(check_store(&db), want);
}

#[test]
fn a_read_only_disk_is_refused_at_start_with_a_clear_error_and_left_intact() {
    let top = tempfile::tempdir().expect("tempdir");
    let Some(fs) = Tmpfs::mount(top.path().join("disk"), "4m") else {
        return;
    };
    let server = Server::handler(|_| Response::ok(two_items()));
    let (db, config) = (fs.dir.join("ff.db"), top.path().join("ff.toml"));
    write_config(&config, &db, &[server.url("/feed")], PER_HOST_8);
    let mut daemon = Daemon::start(&config, top.path());
    wait_for_entries(&db, 2, Duration::from_secs(20), &mut daemon);
    daemon.stop();
    let before = std::fs::read(&db).expect("read store");

    fs.remount("ro");
    let mut daemon = Daemon::start(&config, top.path());
    let code = daemon.exit_code(Duration::from_secs(20));
    let log = daemon.log();
    println!("read-only disk: exit {code:?}: {}", log.trim());
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("readonly") || log.contains("read-only") || log.contains("Read-only"),
        "{log}"
    );
    fs.remount("rw");
    assert!(
        std::fs::read(&db).expect("read store") == before,
        "the store was not changed"
    );
    assert_eq!(check_store(&db), 2);
    // Writable again: it runs.
    let mut daemon = Daemon::start(&config, top.path());
    let hits = server.total_hits();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.total_hits() == hits {
        assert!(
            Instant::now() < deadline && daemon.alive(),
            "{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    daemon.stop();
    assert_eq!(check_store(&db), 2);
}
