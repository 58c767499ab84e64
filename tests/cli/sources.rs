//! What identifies a feed and an entry, and where documents come from:
//! `--feed-url`, self links in every format, a file's absolute path, RSS
//! 1.0's `rdf:about` and the link fallback, link canonicalization, standard
//! input, HTTP sources (on a loopback server), and `feedfold parse`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::feeds::templated;
use crate::common::fixtures::{fixture, guid, AGG_SELF, DIGEST_SELF, EURO_SELF, WIRE_SELF};
use crate::common::server::{Response, Server};
use crate::common::{feedfold, run, TestStore};

#[test]
fn feed_url_option_overrides_the_documents_identity() {
    let store = TestStore::new();
    let run = store.ingest([
        "--feed-url".as_ref(),
        "https://override.example.net/wire".as_ref(),
        fixture("wire.xml").as_os_str(),
    ]);
    run.assert_ok();
    assert!(run
        .line(&fixture("wire.xml").display().to_string())
        .ends_with("(feed https://override.example.net/wire)"));
    let conn = store.conn();
    let (url, self_url, title): (String, Option<String>, String) = conn
        .query_row("SELECT url, self_url, title FROM feeds", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("one feed");
    assert_eq!(url, "https://override.example.net/wire");
    assert_eq!(
        self_url.as_deref(),
        Some(WIRE_SELF),
        "the self link is still recorded"
    );
    assert_eq!(title, "Example Wire");
    assert_eq!(store.int("SELECT count(*) FROM entries"), 4);

    // Without the option the same document is another feed: its self link.
    store.ingest_fixtures(&["wire.xml"]).assert_ok();
    let urls: Vec<String> = conn
        .prepare("SELECT url FROM feeds ORDER BY id")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(urls, ["https://override.example.net/wire", WIRE_SELF]);
}

#[test]
fn documents_self_links_identify_feeds_of_every_format() {
    let store = TestStore::with_good_feeds();
    let conn = store.conn();
    let feeds: BTreeMap<String, (String, String)> = conn
        .prepare("SELECT title, url, format FROM feeds")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let expected: BTreeMap<String, (String, String)> = [
        ("Example Wire", WIRE_SELF, "rss2"),
        ("Morning Digest", DIGEST_SELF, "atom"),
        // RSS 1.0: the channel's rdf:about is the feed's own URL.
        ("Eurodesk", EURO_SELF, "rss1"),
        // JSON Feed: `feed_url` is the self link, `home_page_url` the site.
        ("Aggregator Now", AGG_SELF, "json"),
    ]
    .into_iter()
    .map(|(t, u, f)| (t.to_string(), (u.to_string(), f.to_string())))
    .collect();
    assert_eq!(feeds, expected);
    let site: String = conn
        .query_row(
            "SELECT site_url FROM feeds WHERE title = 'Aggregator Now'",
            [],
            |r| r.get(0),
        )
        .expect("site");
    assert_eq!(site, "https://agg.example.net/");
}

#[test]
fn a_file_without_self_or_home_link_is_identified_by_its_absolute_path() {
    let store = TestStore::new();
    let sub = store.path("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    std::fs::copy(fixture("noself.xml"), sub.join("notes.xml")).expect("copy");
    // A relative path on the command line; the identity is absolute.
    let mut cmd = feedfold();
    cmd.current_dir(store.dir.path())
        .args(["ingest", "--db", "store.db", "sub/notes.xml"]);
    let run = run(&mut cmd, None);
    run.assert_ok();
    let expected = store
        .dir
        .path()
        .canonicalize()
        .expect("canonical tempdir")
        .join("sub")
        .join("notes.xml");
    let url: String = store
        .conn()
        .query_row("SELECT url FROM feeds", [], |r| r.get(0))
        .expect("one feed");
    assert!(std::path::Path::new(&url).is_absolute(), "{url}");
    assert_eq!(url, expected.display().to_string());
    assert!(run
        .line("sub/notes.xml")
        .ends_with(&format!("(feed {url})")));
    assert_eq!(
        store.entry_text(guid::NOTES_LIBRARY, "url").as_deref(),
        Some("https://notes.example.org/library-hours")
    );
}

#[test]
fn entry_identity_rdf_about_and_link_fallback() {
    let store = TestStore::with_good_feeds();
    let conn = store.conn();
    let guids = |feed: &str| -> Vec<(String, String)> {
        conn.prepare(
            "SELECT e.guid, e.guid_source FROM entries e JOIN feeds f ON f.id = e.feed_id
              WHERE f.title = ?1 ORDER BY e.id",
        )
        .expect("prepare")
        .query_map([feed], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
    };
    // RSS 1.0 items keep their rdf:about, not an id feed-rs invents.
    assert_eq!(
        guids("Eurodesk"),
        [
            (guid::EURO_RETITLED.to_string(), "document".to_string()),
            (guid::EURO_TUNNEL.to_string(), "document".to_string())
        ]
    );
    // An RSS item without <guid>: its (resolved) link stands in.
    let wire = guids("Example Wire");
    assert_eq!(wire.len(), 4);
    assert_eq!(wire[3], (guid::WIRE_NORWAY.to_string(), "link".to_string()));
    assert!(wire[..3].iter().all(|(_, s)| s == "document"), "{wire:?}");
    assert_eq!(
        guids("Aggregator Now")
            .iter()
            .map(|(g, _)| g.as_str())
            .collect::<Vec<_>>(),
        [guid::AGG_TRACKED, guid::AGG_BASIX, guid::AGG_MARATHON]
    );
    // Dates are UTC: Eurodesk's +01:00 date moved by an hour.
    let published: String = conn
        .query_row(
            "SELECT published FROM entries WHERE guid = ?1",
            [guid::EURO_RETITLED],
            |r| r.get(0),
        )
        .expect("published");
    assert_eq!(published, "2026-03-11T11:05:00Z");
}

#[test]
fn links_are_resolved_against_the_feed_and_canonicalized() {
    let store = TestStore::with_good_feeds();
    let link = |g: &str| {
        (
            store.entry_text(g, "url").expect("url"),
            store.entry_text(g, "canonical_url").expect("canonical_url"),
        )
    };
    // A relative link with tracking parameters and a fragment.
    assert_eq!(
        link(guid::WIRE_FULL),
        (
            "https://wire.example.com/news/rotterdam-port-strike?utm_source=rss&utm_medium=feed&id=7#comments".to_string(),
            "https://wire.example.com/news/rotterdam-port-strike?id=7".to_string()
        )
    );
    assert_eq!(
        link(guid::WIRE_NORWAY).1,
        "https://wire.example.com/news/norway-central-bank-holds-rates"
    );
    // utm_* and fbclid go; nothing else was there.
    assert_eq!(
        link(guid::AGG_TRACKED),
        (
            "https://agg.example.net/world/rotterdam-strike?utm_source=feed&utm_medium=rss&fbclid=IwAR0xYz".to_string(),
            "https://agg.example.net/world/rotterdam-strike".to_string()
        )
    );
    assert_eq!(
        link(guid::AGG_BASIX).1,
        "https://agg.example.net/business/basix-q1"
    );
    // No canonical URL keeps a tracking parameter or a fragment.
    let dirty = store.int(
        "SELECT count(*) FROM entries WHERE canonical_url LIKE '%utm\\_%' ESCAPE '\\'
            OR canonical_url LIKE '%fbclid%' OR canonical_url LIKE '%#%'",
    );
    assert_eq!(dirty, 0);
    assert_eq!(
        store.int("SELECT count(*) FROM entries WHERE canonical_url IS NULL"),
        0
    );
}

#[test]
fn standard_input_is_a_source() {
    let store = TestStore::new();
    let atom = std::fs::read(fixture("digest.atom")).expect("fixture");
    let run = store.ingest_with(["-"], Some(&atom));
    run.assert_ok();
    assert_eq!(
        run.line("-: "),
        format!(
            "-: 3 new, 0 updated, 0 unchanged, 0 joined an existing story (feed {DIGEST_SELF})"
        )
    );
    let url: String = store
        .conn()
        .query_row("SELECT url FROM feeds", [], |r| r.get(0))
        .expect("one feed");
    assert_eq!(url, DIGEST_SELF);
    assert_eq!(store.int("SELECT count(*) FROM entries"), 3);
    assert!(store
        .entry_text(guid::DIGEST_SUMMARY, "summary_text")
        .is_some());

    // Standard input mixed with files, in the order given.
    let wire = std::fs::read(fixture("wire.xml")).expect("fixture");
    let run = store.ingest_with(
        [fixture("eurodesk.rdf").as_os_str(), "-".as_ref()],
        Some(&wire),
    );
    run.assert_ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&fixture("eurodesk.rdf").display().to_string()),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("-: 4 new"), "{lines:?}");
    assert_eq!(
        store.story_of(guid::WIRE_FULL),
        store.story_of(guid::DIGEST_SUMMARY)
    );

    // Naming it twice is refused before any work.
    let other = TestStore::new();
    let twice = other.ingest_with(["-", "-"], Some(b"".as_slice()));
    assert_ne!(twice.code, Some(0));
    assert!(
        twice
            .stderr
            .contains("standard input (-) can be named only once"),
        "{}",
        twice.stderr
    );
    assert!(!other.db.exists(), "a refused run created the store");
}

#[test]
fn http_sources_are_fetched_and_identified_by_their_url() {
    let server = Server::routes([(
        "/feeds/top.xml",
        vec![
            Response::ok(std::fs::read(fixture("wire.xml")).expect("fixture"))
                .header("Content-Type", "application/rss+xml; charset=utf-8"),
        ],
    )]);
    let ok = server.url("/feeds/top.xml");
    let gone = server.url("/feeds/gone.xml");
    let store = TestStore::new();
    let run = store.ingest([&ok, &gone]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(
        run.line(&ok),
        format!("{ok}: 4 new, 0 updated, 0 unchanged, 0 joined an existing story (feed {ok})")
    );
    let err: Vec<&str> = run.stderr.lines().filter(|l| l.contains(&gone)).collect();
    assert_eq!(err.len(), 1, "{}", run.stderr);
    assert!(err[0].contains("404"), "{}", err[0]);
    assert!(
        run.total()
            .starts_with("total: 2 sources (1 failed), 4 new"),
        "{}",
        run.total()
    );

    // The fetched URL is the identity, not the document's self link.
    let (url, self_url): (String, String) = store
        .conn()
        .query_row("SELECT url, self_url FROM feeds", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("one feed");
    assert_eq!(url, ok);
    assert_eq!(self_url, WIRE_SELF);
    // Relative links resolve against where the document came from.
    assert_eq!(
        store
            .entry_text(guid::WIRE_FULL, "canonical_url")
            .as_deref(),
        Some(format!("{}/news/rotterdam-port-strike?id=7", server.base).as_str())
    );
    let requests = server.request_lines();
    assert!(
        requests.contains(&"GET /feeds/top.xml HTTP/1.1".to_string()),
        "{requests:?}"
    );
    assert!(
        requests.contains(&"GET /feeds/gone.xml HTTP/1.1".to_string()),
        "{requests:?}"
    );
}

#[test]
fn parse_prints_normalized_entries_without_a_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let parse = |args: &[&str]| {
        let mut cmd = feedfold();
        cmd.current_dir(dir.path()).arg("parse").args(args);
        run(&mut cmd, None)
    };
    let rdf = fixture("eurodesk.rdf").display().to_string();
    let out = parse(&[&rdf, "--json"]);
    out.assert_ok();
    let feed: Value = serde_json::from_str(&out.stdout).expect("parse json");
    assert_eq!(feed["format"], "rss1");
    assert_eq!(feed["url"], EURO_SELF);
    assert_eq!(feed["title"], "Eurodesk");
    let entries = feed["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["guid"], guid::EURO_RETITLED);
    assert_eq!(entries[0]["guid_source"], "document");
    assert_eq!(entries[0]["published"], "2026-03-11T11:05:00Z");
    assert_eq!(entries[0]["author"], "Maria Keller");
    let html = entries[0]["summary_html"].as_str().expect("summary_html");
    assert!(
        html.contains("<p>Dock workers at the port of Rotterdam"),
        "{html}"
    );
    let text = entries[0]["summary_text"].as_str().expect("summary_text");
    assert!(
        text.contains("Source: Example Wire") && !text.contains("<p>"),
        "{text}"
    );

    let wire = fixture("wire.xml").display().to_string();
    let out = parse(&[
        &wire,
        "--json",
        "--feed-url",
        "https://elsewhere.example/feed",
    ]);
    out.assert_ok();
    let feed: Value = serde_json::from_str(&out.stdout).expect("parse json");
    assert_eq!(feed["url"], "https://elsewhere.example/feed");
    assert_eq!(feed["self_url"], WIRE_SELF);
    let entries = feed["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[3]["guid_source"], "link");
    assert!(entries[0]["canonical_url"]
        .as_str()
        .expect("canonical")
        .ends_with("/news/rotterdam-port-strike?id=7"));

    // The text form and a failing parse.
    let out = parse(&[&fixture("aggregator.json").display().to_string()]);
    out.assert_ok();
    assert!(
        out.stdout.contains("format:   json (UTF-8)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("canonical: https://agg.example.net/world/rotterdam-strike\n"),
        "{}",
        out.stdout
    );
    let bad = parse(&[&fixture("broken.xml").display().to_string()]);
    assert_ne!(bad.code, Some(0));
    assert!(
        bad.stderr.contains("broken.xml") && bad.stderr.contains("truncated"),
        "{}",
        bad.stderr
    );

    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("read_dir").collect();
    assert!(left.is_empty(), "parse created files: {left:?}");
}

#[test]
fn the_test_feed_builders_read_alike_in_every_format() {
    // tests/common/feeds.rs: one feed written as RSS, Atom and JSON Feed
    // is one feed to `feedfold parse`, whatever the format.
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = templated(
        "Builders & Co",
        &[("b-1", "Rates & \"bonds\""), ("b-2", "Second")],
    )
    .self_url("https://builders.example.test/feed");
    let mut seen = Vec::new();
    for (file, text, format) in [
        ("f.xml", feed.rss(), "rss2"),
        ("f.atom", feed.atom(), "atom"),
        ("f.json", feed.json(), "json"),
    ] {
        let path = dir.path().join(file);
        std::fs::write(&path, text).expect("write feed");
        let mut cmd = feedfold();
        cmd.arg("parse").arg(&path).arg("--json");
        let out = run(&mut cmd, None);
        out.assert_ok();
        let parsed: Value = serde_json::from_str(&out.stdout).expect("parse json");
        assert_eq!(parsed["format"], format, "{file}");
        assert_eq!(
            parsed["url"], "https://builders.example.test/feed",
            "{file}"
        );
        assert_eq!(parsed["title"], "Builders & Co", "{file}");
        let entries: Vec<(String, String, String, String)> = parsed["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| {
                let text = [&e["content_text"], &e["summary_text"]]
                    .iter()
                    .find_map(|t| t.as_str())
                    .expect("a text")
                    .to_string();
                let field = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                (
                    format!("{} {}", field("guid"), field("title")),
                    field("published"),
                    field("canonical_url"),
                    text,
                )
            })
            .collect();
        seen.push(entries);
    }
    assert_eq!(seen[0].len(), 2, "{:?}", seen[0]);
    assert_eq!(seen[0][0].0, "b-1 Rates & \"bonds\"");
    assert_eq!(seen[0][0].1, "2026-03-10T10:00:00Z");
    assert_eq!(seen[0][1].2, "http://example.org/b-2");
    assert!(
        seen[0][0]
            .3
            .starts_with("The city council of Springfield voted on Rates & \"bonds\""),
        "{:?}",
        seen[0][0]
    );
    assert_eq!(seen[1], seen[0], "Atom differs from RSS");
    assert_eq!(seen[2], seen[0], "JSON Feed differs from RSS");
}
