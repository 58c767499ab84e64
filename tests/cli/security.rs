//! What the binary keeps private and what it refuses to pass on: a new
//! store's files are readable by their owner only, passwords in feed URLs
//! are hidden wherever subscriptions are shown (but kept in the OPML
//! backup), what feeds send cannot drive the terminal, and a command run
//! as root on another user's store runs as that user.

use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::output::{json_lines, parse_csv};
use crate::common::feeds::{templated, Feed, Item};
use crate::common::server::{Response, Server};
use crate::common::{feedfold, feedfold_at, run, Run, TestStore};

/// `feedfold ARGS...` run to completion.
fn ff(args: &[&str]) -> Run {
    run(feedfold().args(args), None)
}

/// `feedfold ARGS...` started by `sh` after `umask MASK`, in the same
/// clean environment.
fn with_umask(mask: &str, args: &[&OsStr]) -> Command {
    let mut cmd = feedfold_at(OsStr::new("sh"));
    cmd.arg("-c")
        .arg(format!("umask {mask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_feedfold"))
        .args(args);
    cmd
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_new_store_and_its_wal_are_private_whatever_the_umask() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The umask really is 000 in the shell that starts feedfold.
    let probe = dir.path().join("probe");
    let status = Command::new("sh")
        .arg("-c")
        .arg("umask 000 && : > \"$0\"")
        .arg(&probe)
        .status()
        .expect("sh");
    assert!(status.success());
    assert_eq!(mode(&probe), 0o666, "umask 000 leaves files world-writable");

    // The feed is answered after 3 s: meanwhile ingest holds the new
    // store open, with its WAL and shared-memory files beside it.
    let server = Server::routes([(
        "/slow",
        vec![Response::ok(templated("Slow", &[("s1", "Slow one")]).rss())
            .delay(Duration::from_secs(3))],
    )]);
    let db = dir.path().join("new.db");
    let (wal, shm) = (dir.path().join("new.db-wal"), dir.path().join("new.db-shm"));
    let url = server.url("/slow");
    let mut child = with_umask(
        "000",
        &[
            OsStr::new("ingest"),
            OsStr::new("--db"),
            db.as_os_str(),
            OsStr::new(&url),
        ],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("start ingest");
    server.wait_for("/slow", 1, Duration::from_secs(20));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(wal.exists() && shm.exists()) {
        assert!(
            Instant::now() < deadline,
            "no -wal and -shm beside the store"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for path in [&db, &wal, &shm] {
        assert_eq!(mode(path), 0o600, "{} while open", path.display());
    }
    let status = child.wait().expect("ingest ends");
    assert!(status.success(), "ingest failed");
    assert_eq!(mode(&db), 0o600, "after ingest");

    // The daemon creates its new store the same way.
    let config = dir.path().join("feedfold.toml");
    let polled = dir.path().join("polled.db");
    std::fs::write(
        &config,
        format!(
            "database = {:?}\n[[feeds]]\nurl = {url:?}\n",
            polled.display().to_string()
        ),
    )
    .expect("config");
    let once = run(
        &mut with_umask(
            "000",
            &[
                OsStr::new("--config"),
                config.as_os_str(),
                OsStr::new("run"),
                OsStr::new("--once"),
            ],
        ),
        None,
    );
    once.assert_ok();
    let mut stores = Vec::new();
    for entry in std::fs::read_dir(dir.path()).expect("list") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().contains(".db") {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            stores.push(path);
        }
    }
    assert!(stores.contains(&polled), "{stores:?}");
}

/// Fails if `text` holds a secret that should have been hidden.
fn assert_hidden(what: &str, r: &Run) {
    for (stream, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
        assert!(
            !text.contains("s3cret"),
            "{what} prints the password on {stream}:\n{text}"
        );
    }
}

#[test]
fn passwords_in_feed_urls_are_hidden_except_in_the_opml_backup() {
    // /feed is a feed; /loop redirects to itself, with the password in
    // its Location, so the recorded error names a URL with a password.
    let server = Server::handler(|req| match req.path.as_str() {
        "/feed" => {
            Response::ok(templated("Private wire", &[("p1", "Harbour ferry strike ends")]).rss())
        }
        "/loop" => {
            let host = req.header("host").unwrap_or_default().to_string();
            Response::new(301).header("Location", &format!("http://ann:s3cret@{host}/loop"))
        }
        _ => Response::not_found(),
    });
    let store = TestStore::new();
    let db = store.db.display().to_string();
    let port = server.base.rsplit(':').next().expect("port").to_string();
    let feed = format!("http://ann:s3cret@127.0.0.1:{port}/feed");
    let looping = format!("http://ann:s3cret@127.0.0.1:{port}/loop");
    let (feed_shown, loop_shown) = (
        format!("http://ann:***@127.0.0.1:{port}/feed"),
        format!("http://ann:***@127.0.0.1:{port}/loop"),
    );

    let add = ff(&["feeds", "add", "--db", &db, &feed]);
    add.assert_ok();
    assert_hidden("feeds add", &add);
    assert_eq!(add.stdout.trim(), format!("{feed_shown}: added"));
    let add = ff(&["feeds", "add", "--db", &db, &looping]);
    add.assert_ok();
    assert_hidden("feeds add", &add);
    assert!(
        add.stderr.contains(&format!(
            "feedfold: warning: {loop_shown}: could not check it now (redirect loop at {loop_shown}); subscribed anyway"
        )),
        "{}",
        add.stderr
    );
    // Before any poll the table names the feeds by URL.
    let status = ff(&["status", "--db", &db]);
    status.assert_ok();
    assert_hidden("status", &status);
    assert!(status.stdout.contains(&feed_shown), "{}", status.stdout);

    let once = ff(&["run", "--once", "--db", &db, "--log", "info"]);
    once.assert_ok();
    assert_hidden("run --once", &once);
    assert!(
        once.stdout.starts_with("checked 2 feeds: 1 modified (200)"),
        "{}",
        once.stdout
    );
    // The password was used: the server got it as Basic credentials.
    let auth = server.requests("/feed");
    assert_eq!(
        auth.last().and_then(|r| r.header("authorization")),
        Some("Basic YW5uOnMzY3JldA==")
    );

    for args in [
        &["status"][..],
        &["status", "--long"],
        &["status", "--json"],
        &["status", "--format", "csv"],
        &["feeds", "list"],
        &["feeds", "list", "--json"],
    ] {
        let mut all = args.to_vec();
        all.extend(["--db", &db]);
        let r = ff(&all);
        r.assert_ok();
        assert_hidden(&args.join(" "), &r);
        assert!(
            r.stdout.contains("ann:***@127.0.0.1"),
            "{args:?}: {}",
            r.stdout
        );
    }
    let long = ff(&["status", "--long", "--db", &db]);
    assert!(
        long.stdout.contains(&format!(
            "    last error    redirect loop at {loop_shown} ("
        )),
        "{}",
        long.stdout
    );
    let rows = json_lines(&ff(&["status", "--json", "--db", &db]));
    let urls: Vec<&str> = rows.iter().filter_map(|r| r["url"].as_str()).collect();
    assert_eq!(urls, [feed_shown.as_str(), loop_shown.as_str()]);
    let csv = parse_csv(&ff(&["feeds", "list", "--format", "csv", "--db", &db]).stdout);
    assert_eq!(csv[1][1], feed_shown);

    // The OPML export is a backup: it keeps what is needed to fetch.
    let opml = ff(&["opml", "export", "--db", &db]);
    opml.assert_ok();
    assert!(
        opml.stdout.contains(&format!("xmlUrl=\"{feed}\"")),
        "{}",
        opml.stdout
    );
    assert!(opml.stdout.contains(&looping), "{}", opml.stdout);
}

#[test]
fn ingest_hides_the_password_of_a_failing_url() {
    // Reproducer: `feedfold ingest --db x.db http://ann:s3cret@127.0.0.1:PORT/missing`
    // (a 404) prints "feedfold: error: http://ann:s3cret@127.0.0.1:PORT/missing:
    // server answered 404", where every other message hides it (ann:***@).
    let server = Server::handler(|_| Response::not_found());
    let port = server.base.rsplit(':').next().expect("port").to_string();
    let url = format!("http://ann:s3cret@127.0.0.1:{port}/missing");
    let store = TestStore::new();
    let r = store.ingest([&url]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("server answered 404"), "{}", r.stderr);
    assert_hidden("ingest", &r);
}

/// Titles that would clear the screen, set the window title, forge a
/// hyperlink and start a C1 control sequence on a terminal.
const CLEAR: &str = "Clear \x1b[2J screen zebra";
const LINK: &str = "C1 \u{9b}31m red zebra \x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\";
const FEED_TITLE: &str = "Evil \x1b]0;pwned\x07 Feed";

fn hostile_feed() -> Feed {
    let at = chrono::DateTime::from_timestamp(1_773_136_800, 0).expect("time");
    Feed::new(FEED_TITLE).site("http://example.org/").items([
        Item::new(
            "e1",
            CLEAR,
            "A zebra crossing on the bridge \x1b[31mwas painted red\x1b[0m by the council.",
            at,
        ),
        Item::new(
            "e2",
            LINK,
            "Another zebra story \u{9b}2J about the harbour and the ferry timetable.",
            at + chrono::Duration::hours(1),
        ),
    ])
}

/// Fails if `r` prints a control character other than a line break.
fn assert_inert(what: &str, r: &Run) {
    for (stream, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
        assert!(!text.as_bytes().contains(&0x1b), "{what}: ESC on {stream}");
        if let Some(c) = text.chars().find(|&c| c.is_control() && c != '\n') {
            panic!("{what}: {c:?} on {stream}:\n{text:?}");
        }
    }
}

#[test]
fn what_feeds_send_cannot_drive_the_terminal() {
    let feed = hostile_feed();
    let served = feed.json();
    let server = Server::routes([("/evil.json", vec![Response::ok(served.clone())])]);
    let store = TestStore::new();
    let db = store.db.display().to_string();
    let url = server.url("/evil.json");
    ff(&["feeds", "add", "--db", &db, &url]).assert_ok();
    let once = ff(&["run", "--once", "--db", &db, "--log", "info"]);
    once.assert_ok();
    assert_inert("run --once", &once);
    assert!(once.stdout.contains("2 new entries"), "{}", once.stdout);

    let file = store.path("evil.json");
    std::fs::write(&file, &served).expect("write");
    let file = file.display().to_string();
    let ids: Vec<String> = json_lines(&ff(&["stories", "--json", "--db", &db]))
        .iter()
        .map(|s| s["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    let mut human: Vec<(String, Run)> = Vec::new();
    for args in [
        vec!["stories"],
        vec!["story", &ids[0]],
        vec!["story", &ids[1]],
        vec!["search", "zebra"],
        vec!["status"],
        vec!["status", "--long"],
        vec!["feeds", "list"],
    ] {
        let mut all = args.clone();
        all.extend(["--db", &db]);
        human.push((args.join(" "), ff(&all)));
    }
    human.push(("parse FILE".into(), ff(&["parse", &file])));
    human.push(("parse URL".into(), ff(&["parse", &url])));
    for (what, r) in &human {
        r.assert_ok();
        assert_inert(what, r);
    }
    // The text is still there, its control characters shown as U+FFFD.
    let shown = |s: &str| s.replace(['\x1b', '\u{9b}', '\x07'], "\u{fffd}");
    let stories = &human[0].1.stdout;
    assert!(stories.contains(&shown(CLEAR)), "{stories}");
    assert!(stories.contains(&shown(LINK)), "{stories}");
    assert!(human[4].1.stdout.contains(&shown(FEED_TITLE)), "status");
    assert!(
        human[5].1.stdout.contains(&shown(FEED_TITLE)),
        "status --long"
    );
    assert!(human[6].1.stdout.contains(&shown(FEED_TITLE)), "feeds list");
    assert!(human[7].1.stdout.contains(&shown(FEED_TITLE)), "parse FILE");

    // JSON escapes per JSON and gives back the exact text.
    let stories = ff(&["stories", "--json", "--db", &db]);
    assert!(!stories.stdout.as_bytes().contains(&0x1b));
    assert!(stories.stdout.contains("\\u001b[2J"), "{}", stories.stdout);
    let mut titles: Vec<String> = json_lines(&stories)
        .iter()
        .map(|s| s["title"].as_str().expect("title").to_string())
        .collect();
    titles.sort();
    assert_eq!(titles, [LINK, CLEAR]);
    let story = ff(&["story", &ids[0], "--json", "--db", &db]);
    assert!(!story.stdout.as_bytes().contains(&0x1b));
    let story: Value = serde_json::from_str(&story.stdout).expect("one JSON value");
    assert_eq!(story["feeds"][0], FEED_TITLE, "{story}");
    assert_eq!(story["entries"][0]["feed"], FEED_TITLE, "{story}");
    assert!([LINK, CLEAR].contains(&story["title"].as_str().unwrap_or_default()));
    let hits = json_lines(&ff(&["search", "zebra", "--json", "--db", &db]));
    assert_eq!(hits.len(), 2);
    let status = json_lines(&ff(&["status", "--json", "--db", &db]));
    assert_eq!(status[0]["name"], FEED_TITLE);
    let parsed: Value =
        serde_json::from_str(&ff(&["parse", &file, "--json"]).stdout).expect("json");
    assert_eq!(parsed["title"], FEED_TITLE);

    // CSV keeps the text as it is (quoted by RFC 4180 rules only).
    let csv = parse_csv(&ff(&["stories", "--format", "csv", "--db", &db]).stdout);
    let title_col = csv[0].iter().position(|h| h == "title").expect("title");
    let mut titles: Vec<&str> = csv[1..].iter().map(|r| r[title_col].as_str()).collect();
    titles.sort();
    assert_eq!(titles, [LINK, CLEAR]);
}

#[test]
fn ingest_errors_quoting_a_document_are_inert() {
    // Reproducer: printf '<?xml version="1.0"?><rss version="2.0"><channel>
    // <title>x</title><item\x1b]0;pwned\x07>' > t.xml; feedfold ingest --db x.db t.xml
    // prints "truncated XML: the document ends inside <item ESC]0;pwned BEL>"
    // with the raw bytes (a window-title change); `feedfold parse t.xml`
    // shows them as U+FFFD.
    let store = TestStore::new();
    let file = store.path("truncated.xml");
    std::fs::write(
        &file,
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>x</title><item\x1b]0;pwned\x07>",
    )
    .expect("write");
    let parse = ff(&["parse", file.to_str().expect("utf-8")]);
    assert_eq!(parse.code, Some(1));
    assert!(parse.stderr.contains("truncated XML"), "{}", parse.stderr);
    assert_inert("parse", &parse);
    let ingest = store.ingest([&file]);
    assert_eq!(ingest.code, Some(1));
    assert!(ingest.stderr.contains("truncated XML"), "{}", ingest.stderr);
    assert_inert("ingest", &ingest);
}

/// The effective user id, as `commands::owner` reads it.
fn euid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

const NOBODY: u32 = 65534;

#[test]
fn feeds_add_as_root_runs_as_the_stores_owner() {
    if euid() != Some(0) {
        println!("SKIPPED: feeds_add_as_root_runs_as_the_stores_owner needs root");
        return;
    }
    let top = tempfile::tempdir().expect("tempdir");
    let open = |p: &Path| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod")
    };
    open(top.path());
    // The binary where the store's owner can run it (the re-executed
    // process runs this same file).
    let bin = top.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    open(&bin);
    let exe = bin.join("feedfold");
    std::fs::copy(env!("CARGO_BIN_EXE_feedfold"), &exe).expect("copy feedfold");
    open(&exe);
    // A store owned by 65534 in a directory owned by 65534.
    let dir = top.path().join("store");
    std::fs::create_dir(&dir).expect("mkdir");
    let db = dir.join("ff.db");
    let db_s = db.display().to_string();
    let ingest = run(
        feedfold_at(exe.as_os_str()).args(["ingest", "--db", &db_s, "-"]),
        Some(
            templated("Seed", &[("s1", "Budget vote one")])
                .rss()
                .as_bytes(),
        ),
    );
    ingest.assert_ok();
    for entry in std::fs::read_dir(&dir).expect("list") {
        let path = entry.expect("entry").path();
        std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).expect("chown");
    }
    std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).expect("chown");

    let server = Server::routes([(
        "/feed",
        vec![Response::ok(
            templated("Wire", &[("w1", "Bridge plan two")]).rss(),
        )],
    )]);
    let url = server.url("/feed");
    let add = run(
        feedfold_at(exe.as_os_str()).args(["--log", "info", "feeds", "add", "--db", &db_s, &url]),
        None,
    );
    add.assert_ok();
    assert_eq!(add.stdout.trim(), format!("{url}: added"));
    assert!(
        add.stderr.contains("Running as the store's owner") && add.stderr.contains("uid=65534"),
        "{}",
        add.stderr
    );
    assert_eq!(server.hits("/feed"), 1, "the feed was checked once");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("list") {
        let entry = entry.expect("entry");
        let meta = entry.metadata().expect("metadata");
        seen.push(entry.file_name().to_string_lossy().into_owned());
        assert_eq!(
            (meta.uid(), meta.gid()),
            (NOBODY, NOBODY),
            "{} is not the store owner's",
            entry.path().display()
        );
    }
    assert!(seen.contains(&"ff.db".to_string()), "{seen:?}");
    // The subscription is there, read as the owner.
    let list = run(
        feedfold_at(exe.as_os_str())
            .args(["feeds", "list", "--db", &db_s])
            .uid(NOBODY)
            .gid(NOBODY),
        None,
    );
    list.assert_ok();
    assert!(
        list.stdout
            .starts_with(&format!("   1  new      cli     {url}")),
        "{}",
        list.stdout
    );
}
