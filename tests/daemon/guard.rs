//! One HTTP client for every command: the `[http]` table's size limit and
//! private-address guard apply alike to `ingest`, `parse`, `feeds add` and
//! the daemon's polls (`run --once`), with the same message. A second
//! loopback address (127.0.0.2, listed in `http.public_hosts`) stands for
//! a public host.

use std::path::{Path, PathBuf};

use feedfold::store::subscriptions::FeedStatus;

use super::process::{last_error, statuses};
use crate::common::feeds::{templated, two_items};
use crate::common::server::{Response, Server};
use crate::common::{feedfold, run, Run};

/// A config file in `dir`: the store `dir/ff.db`, `http` in its `[http]`
/// table, and `feeds` as `[[feeds]]`.
fn config(dir: &Path, http: &str, feeds: &[String]) -> (PathBuf, PathBuf) {
    let (path, db) = (dir.join("feedfold.toml"), dir.join("ff.db"));
    let mut text = format!(
        "database = {:?}\n[http]\ntimeout = \"10s\"\n{http}\n",
        db.display().to_string()
    );
    for f in feeds {
        text.push_str(&format!("[[feeds]]\nurl = {f:?}\n"));
    }
    std::fs::write(&path, text).expect("write config");
    (path, db)
}

/// `feedfold --config CONFIG --log-format plain ARGS...`.
fn with_config(config: &Path, args: &[&str]) -> Run {
    let mut cmd = feedfold();
    cmd.arg("--config")
        .arg(config)
        .args(["--log-format", "plain"])
        .args(args);
    run(&mut cmd, None)
}

/// The lines of stderr that start with `feedfold: error: `.
fn error_lines(r: &Run) -> Vec<&str> {
    r.stderr
        .lines()
        .filter(|l| l.starts_with("feedfold: error: "))
        .collect()
}

/// The one subscription whose URL is `url`.
fn status_of(db: &Path, url: &str) -> FeedStatus {
    let rows = statuses(db).expect("statuses");
    rows.iter()
        .find(|s| s.url == url)
        .cloned()
        .unwrap_or_else(|| panic!("no subscription {url} in {rows:?}"))
}

/// A feed of a few hundred bytes, served with a `Content-Length` (refused
/// before its body is read) and chunked (refused while streaming).
#[test]
fn max_body_is_enforced_with_one_message_by_every_command() {
    let body = templated(
        "Big",
        &[
            ("b1", "Budget vote one"),
            ("b2", "Bridge plan two"),
            ("b3", "Ferry strike three"),
        ],
    )
    .rss();
    assert!(body.len() > 500, "the feed is well over the limit");
    let server = Server::routes([
        ("/big", vec![Response::ok(body.clone())]),
        ("/chunked", vec![Response::ok(body.clone()).chunked(64)]),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    let urls = [server.url("/big"), server.url("/chunked")];
    let (cfg, db) = config(dir.path(), "max_body = 100", &urls);
    let other = dir.path().join("other.db").display().to_string();
    let added = dir.path().join("added.db").display().to_string();
    let expected = "document larger than the 100-byte limit (http.max_body)";

    let once = with_config(&cfg, &["run", "--once"]);
    once.assert_ok();
    assert!(
        once.stdout
            .starts_with("checked 2 feeds: 0 modified (200), 0 not modified (304), 2 failed"),
        "{}",
        once.stdout
    );
    for url in &urls {
        let recorded = status_of(&db, url);
        assert_eq!(last_error(&recorded), expected, "{url}: {recorded:?}");
        assert_eq!(recorded.entries, 0);

        // ingest: one error line, the URL then the same message.
        let ingest = with_config(&cfg, &["ingest", "--db", &other, url]);
        assert_eq!(ingest.code, Some(1), "{ingest:?}");
        assert_eq!(
            error_lines(&ingest),
            [format!("feedfold: error: {url}: {}", last_error(&recorded))],
            "{}",
            ingest.stderr
        );
        // parse: the same.
        let parse = with_config(&cfg, &["parse", url]);
        assert_eq!(parse.code, Some(1), "{parse:?}");
        assert_eq!(
            parse.stderr.trim_end(),
            format!("feedfold: error: {url}: {expected}")
        );
        // feeds add checks the URL with the same client before subscribing.
        let add = with_config(&cfg, &["feeds", "add", "--db", &added, url]);
        add.assert_ok();
        assert!(
            add.stderr.contains(&format!(
                "feedfold: warning: {url}: could not check it now ({expected}); subscribed anyway"
            )),
            "{}",
            add.stderr
        );
    }
    // status --long prints what was recorded.
    let long = with_config(&cfg, &["status", "--long"]);
    long.assert_ok();
    let shown: Vec<&str> = long
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("last error"))
        .collect();
    assert_eq!(shown.len(), 2, "{}", long.stdout);
    for line in shown {
        assert!(
            line.starts_with(&format!("    last error    {expected} (")),
            "{line}"
        );
    }
    // A file is held to the same limit.
    let file = dir.path().join("big.xml");
    std::fs::write(&file, &body).expect("write");
    let ingest = with_config(
        &cfg,
        &["ingest", "--db", &other, file.to_str().expect("utf-8")],
    );
    assert_eq!(
        error_lines(&ingest),
        [format!("feedfold: error: {}: {expected}", file.display())]
    );
}

/// Two servers: 127.0.0.2 (public, listed in `http.public_hosts`)
/// redirecting `/moved` (301) and `/found` (302) to the feed of 127.0.0.1
/// (private).
struct Redirects {
    public: Server,
    private: Server,
}

impl Redirects {
    fn start() -> Redirects {
        let private = Server::routes([("/feed", vec![Response::ok(two_items())])]);
        let target = private.url("/feed");
        let public = Server::handler_on("127.0.0.2", move |req| match req.path.as_str() {
            "/moved" => Response::new(301).header("Location", &target),
            "/found" => Response::new(302).header("Location", &target),
            _ => Response::not_found(),
        });
        Redirects { public, private }
    }
}

const PUBLIC_127_0_0_2: &str = "public_hosts = [\"127.0.0.2\"]";

#[test]
fn a_public_host_may_not_redirect_to_a_private_one_unless_allowed() {
    let hosts = Redirects::start();
    let urls = [hosts.public.url("/moved"), hosts.public.url("/found")];
    let dir = tempfile::tempdir().expect("tempdir");
    let (cfg, db) = config(dir.path(), PUBLIC_127_0_0_2, &urls);
    let other = dir.path().join("other.db").display().to_string();
    let allowed = dir.path().join("allowed.db").display().to_string();
    let refused = "127.0.0.1 is a private or local address";

    // run --once: recorded failures; the feed is not moved to the target.
    let once = with_config(&cfg, &["run", "--once"]);
    once.assert_ok();
    assert!(
        once.stdout
            .starts_with("checked 2 feeds: 0 modified (200), 0 not modified (304), 2 failed"),
        "{}",
        once.stdout
    );
    for url in &urls {
        let s = status_of(&db, url);
        assert!(last_error(&s).starts_with(refused), "{url}: {s:?}");
        assert_eq!((s.error_count, s.entries), (1, 0), "{s:?}");
        assert_eq!(s.configured_url, None, "not moved: {s:?}");
    }
    // ingest and parse: an error naming the address.
    for url in &urls {
        let ingest = with_config(&cfg, &["ingest", "--db", &other, url]);
        assert_eq!(ingest.code, Some(1), "{ingest:?}");
        let lines = error_lines(&ingest);
        assert_eq!(lines.len(), 1, "{}", ingest.stderr);
        assert!(
            lines[0].starts_with(&format!("feedfold: error: {url}: {refused}")),
            "{}",
            lines[0]
        );
        let parse = with_config(&cfg, &["parse", url]);
        assert_eq!(parse.code, Some(1), "{parse:?}");
        assert!(
            parse
                .stderr
                .starts_with(&format!("feedfold: error: {url}: {refused}")),
            "{}",
            parse.stderr
        );
    }
    assert_eq!(
        hosts.private.total_hits(),
        0,
        "no refused redirect reached 127.0.0.1: {:?}",
        hosts.private.request_lines()
    );

    // --allow-private: followed, by every command.
    for url in &urls {
        let ingest = with_config(&cfg, &["--allow-private", "ingest", "--db", &allowed, url]);
        ingest.assert_ok();
        assert!(ingest.stderr.is_empty(), "{}", ingest.stderr);
        let parse = with_config(&cfg, &["--allow-private", "parse", url]);
        parse.assert_ok();
        assert!(parse.stdout.contains("Budget vote one"), "{}", parse.stdout);
    }
    let once = with_config(&cfg, &["--allow-private", "run", "--once", "--now"]);
    once.assert_ok();
    assert!(
        once.stdout
            .starts_with("checked 2 feeds: 2 modified (200), 0 not modified (304), 0 failed"),
        "{}",
        once.stdout
    );
    // A permanent redirect to a private host never becomes the feed's URL.
    for url in &urls {
        let s = status_of(&db, url);
        assert_eq!((s.error_count, s.entries), (0, 2), "{s:?}");
        assert_eq!(s.configured_url, None, "{s:?}");
    }
    let rows = statuses(&db).expect("statuses");
    assert!(
        rows.iter().all(|s| !s.url.starts_with("http://127.0.0.1")),
        "{rows:?}"
    );
    // Once more with the validators and permanent redirect on record.
    let again = with_config(&cfg, &["--allow-private", "run", "--once", "--now"]);
    again.assert_ok();
    assert_eq!(status_of(&db, &urls[0]).url, urls[0]);
    assert_eq!(
        hosts.public.hits("/moved"),
        7,
        "one request per command: 3 refused (run, ingest, parse), 4 allowed (ingest, parse, run twice)"
    );
}

#[test]
fn a_refused_redirect_does_not_blame_a_setting_that_is_off() {
    // Reproducer: [http] public_hosts = ["127.0.0.2"], a server on
    // 127.0.0.2 answering 301 to http://127.0.0.1:PORT/feed, then
    // `feedfold --config C ingest URL` prints "127.0.0.1 is a private or
    // local address (http.deny_private_addresses is on)": the setting is
    // off; the default guard (no public-to-private redirect) refused it.
    let hosts = Redirects::start();
    let url = hosts.public.url("/moved");
    let dir = tempfile::tempdir().expect("tempdir");
    let (cfg, _) = config(dir.path(), PUBLIC_127_0_0_2, &[]);
    let ingest = with_config(&cfg, &["ingest", &url]);
    assert_eq!(ingest.code, Some(1));
    assert!(
        ingest
            .stderr
            .contains("127.0.0.1 is a private or local address"),
        "{}",
        ingest.stderr
    );
    assert!(
        !ingest.stderr.contains("deny_private_addresses is on"),
        "{}",
        ingest.stderr
    );
}

#[test]
fn deny_private_addresses_refuses_a_loopback_feed_in_every_command() {
    let server = Server::routes([("/feed", vec![Response::ok(two_items())])]);
    let url = server.url("/feed");
    let dir = tempfile::tempdir().expect("tempdir");
    let (cfg, db) = config(
        dir.path(),
        "deny_private_addresses = true",
        std::slice::from_ref(&url),
    );
    let expected = "127.0.0.1 is a private or local address (http.deny_private_addresses is on)";

    let ingest = with_config(&cfg, &["ingest", &url]);
    assert_eq!(ingest.code, Some(1), "{ingest:?}");
    assert_eq!(
        error_lines(&ingest),
        [format!("feedfold: error: {url}: {expected}")]
    );
    let parse = with_config(&cfg, &["parse", &url]);
    assert_eq!(parse.code, Some(1), "{parse:?}");
    assert_eq!(
        parse.stderr.trim_end(),
        format!("feedfold: error: {url}: {expected}")
    );
    let once = with_config(&cfg, &["run", "--once"]);
    once.assert_ok();
    assert!(
        once.stdout
            .starts_with("checked 1 feeds: 0 modified (200), 0 not modified (304), 1 failed"),
        "{}",
        once.stdout
    );
    assert_eq!(last_error(&status_of(&db, &url)), expected);
    assert_eq!(server.total_hits(), 0, "nothing reached the server");

    // --allow-private overrides the setting, for this run only.
    let allowed = with_config(&cfg, &["--allow-private", "ingest", &url]);
    allowed.assert_ok();
    assert_eq!(server.hits("/feed"), 1);
}
