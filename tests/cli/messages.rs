//! Error messages as people and journald see them: one line, naming the
//! thing that failed (a path, a URL, a query) and what to do next, each
//! cause once, without SQLite's generic "Error code" text; a config error
//! at a terminal (`--log-format human`) adds the offending line with a
//! caret under it.

use crate::common::fixtures::fixture;
use crate::common::{feedfold, run, Run, TestStore};

fn ff(args: &[&str]) -> Run {
    run(feedfold().args(args), None)
}

/// The one line of stderr of a failed run (exit 1), without the
/// `feedfold: error: ` prefix.
fn one_error(what: &str, r: &Run) -> String {
    assert_eq!(r.code, Some(1), "{what}: {r:?}");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{what}: one line:\n{}", r.stderr);
    let message = lines[0]
        .strip_prefix("feedfold: error: ")
        .unwrap_or_else(|| panic!("{what}: {:?}", lines[0]));
    assert_clean(what, message);
    message.to_string()
}

/// No clause (the parts between ": ") twice, and no SQLite code text.
fn assert_clean(what: &str, message: &str) {
    assert!(!message.contains("Error code"), "{what}: {message}");
    let clauses: Vec<&str> = message.split(": ").collect();
    for (i, c) in clauses.iter().enumerate() {
        assert!(
            !clauses[i + 1..].contains(c),
            "{what}: {c:?} twice in {message}"
        );
    }
}

/// How many times `needle` occurs in `haystack`.
fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn a_missing_store_is_named_with_the_command_that_creates_one() {
    let expected = "no feedfold store at /nonexistent.db yet: `feedfold ingest FILE|URL` or \
                    `feedfold run` creates one (or pass --db PATH)";
    for args in [
        &["stories"][..],
        &["story", "1"],
        &["search", "budget"],
        &["status"],
        &["feeds", "list"],
    ] {
        let mut all = args.to_vec();
        all.extend(["--db", "/nonexistent.db"]);
        let r = ff(&all);
        assert_eq!(one_error(&args.join(" "), &r), expected);
    }
    assert!(
        !std::path::Path::new("/nonexistent.db").exists(),
        "a read command creates no store"
    );
}

#[test]
fn a_missing_config_is_named_once_with_the_reason_once() {
    let store = TestStore::with_good_feeds();
    let db = store.db.display().to_string();
    let r = ff(&["--config", "/nonexistent.toml", "stories", "--db", &db]);
    let message = one_error("--config", &r);
    assert_eq!(
        message,
        "cannot read config /nonexistent.toml: No such file or directory (os error 2)"
    );
    assert_eq!(count(&message, "/nonexistent.toml"), 1);
    assert_eq!(count(&message, "No such file or directory"), 1);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn an_invalid_search_query_quotes_the_query_and_the_reason_once() {
    let store = TestStore::with_good_feeds();
    let r = store.query("search", &["NEAR(a b, x)"]);
    let message = one_error("search", &r);
    assert!(
        message.starts_with(r#"invalid search query "NEAR(a b, x)": expected integer, got "x""#),
        "{message}"
    );
    assert_eq!(count(&message, r#"expected integer, got "x""#), 1);
    assert_eq!(count(&message, "NEAR(a b, x)"), 1);
    assert!(message.contains("FTS5 syntax:"), "a next step: {message}");
}

#[test]
fn a_refused_connection_names_the_url_and_the_cause_once() {
    let url = "http://127.0.0.1:1/feed";
    let store = TestStore::new();
    let ingest = store.ingest([url]);
    assert_eq!(ingest.code, Some(1), "{ingest:?}");
    let errors: Vec<&str> = ingest
        .stderr
        .lines()
        .filter(|l| l.starts_with("feedfold: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", ingest.stderr);
    assert!(
        errors[0].starts_with(&format!("feedfold: error: {url}: request failed: ")),
        "{}",
        errors[0]
    );
    assert_clean("ingest", errors[0]);
    assert_eq!(
        count(&ingest.stderr, "Connection refused"),
        1,
        "{}",
        ingest.stderr
    );
    assert_eq!(count(&ingest.stderr, "127.0.0.1:1"), 1, "{}", ingest.stderr);
    assert!(ingest.total().starts_with("total: 1 sources (1 failed)"));

    let parse = ff(&["parse", url]);
    let message = one_error("parse", &parse);
    assert_eq!(message, errors[0].trim_start_matches("feedfold: error: "));
    assert_eq!(count(&message, "Connection refused"), 1);
    assert_eq!(count(&message, "127.0.0.1:1"), 1);
}

#[test]
fn a_config_error_is_one_line_in_logs_and_has_a_caret_at_a_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[polling]\nmin_interval = \"1s\"\nevery = \"2h\"\n",
    )
    .expect("write");
    let config_s = config.display().to_string();
    let store = TestStore::with_good_feeds();
    let db = store.db.display().to_string();
    let expected = format!(
        "invalid config {config_s}: line 3, column 1: unknown field `every`, expected one of \
         `default_interval`, `min_interval`, `max_interval`, `adaptive`, `jitter`, `shutdown_grace`"
    );
    for format in ["plain", "json"] {
        let r = ff(&[
            "--config",
            &config_s,
            "--log-format",
            format,
            "stories",
            "--db",
            &db,
        ]);
        assert_eq!(one_error(format, &r), expected, "{format}");
    }
    let human = ff(&[
        "--config",
        &config_s,
        "--log-format",
        "human",
        "stories",
        "--db",
        &db,
    ]);
    assert_eq!(human.code, Some(1));
    assert_eq!(
        human.stderr,
        format!("feedfold: error: {expected}\n  |\n3 | every = \"2h\"\n  | ^^^^^\n")
    );
}

#[test]
fn a_file_that_is_not_a_database_is_reported_once() {
    // Reproducer: echo hello > x.db; feedfold stories --db x.db prints
    // "cannot open database x.db: file is not a database: file is not a
    // database: Error code 26: File opened that is not a database file".
    let store = TestStore::new();
    std::fs::write(&store.db, "hello, not SQLite\n").expect("write");
    let db = store.db.display().to_string();
    let r = ff(&["stories", "--db", &db]);
    let message = one_error("stories", &r);
    assert_eq!(count(&message, "file is not a database"), 1, "{message}");
}

#[test]
fn a_store_that_cannot_be_opened_for_writing_is_named_once() {
    // Reproducer: feedfold ingest --db /tmp/no-such-dir/x.db feed.xml prints
    // "opening the store /tmp/no-such-dir/x.db: cannot create database
    // /tmp/no-such-dir/x.db: No such file or directory (os error 2)".
    let store = TestStore::new();
    let db = store.path("no-such-dir").join("x.db");
    let r = ff(&[
        "ingest",
        "--db",
        &db.display().to_string(),
        fixture("wire.xml").to_str().expect("utf-8"),
    ]);
    let message = one_error("ingest", &r);
    assert!(message.contains("No such file or directory"), "{message}");
    assert_eq!(count(&message, &db.display().to_string()), 1, "{message}");
}
