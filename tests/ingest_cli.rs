//! Integration tests of the one-shot pipeline: the real `feedfold` binary
//! (`ingest`, `stories`, `story`, `parse`) on the feed files of
//! `tests/fixtures/` into a real SQLite file in a temporary directory.
//!
//! The fixtures carry one news story in four outlets' copies (the full wire
//! text in RSS 2.0, a two-paragraph summary in Atom, a retitled copy with
//! "Source: ..." and an author bio in RSS 1.0, a copy with a tracking link
//! in JSON Feed), one earnings brief copied by two outlets, a second brief
//! of the same template for another company, and unrelated entries.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{
    feedfold, fixture, fixture_text, guid, run, HttpServer, Route, TestStore, GOOD_ENTRIES,
    GOOD_FEEDS, PORT_COPIES,
};
use serde_json::Value;

const WIRE_SELF: &str = "https://wire.example.com/feeds/top.xml";
const DIGEST_SELF: &str = "https://digest.example.org/atom.xml";
const EURO_SELF: &str = "https://eurodesk.example.eu/rss.rdf";
const AGG_SELF: &str = "https://agg.example.net/feed.json";
const PORT_TITLE: &str = "Rotterdam port strike halts container traffic for second day";

/// Ingests the four good feeds and checks the run succeeded.
fn store_with_good_feeds() -> TestStore {
    let store = TestStore::new();
    store.ingest_fixtures(&GOOD_FEEDS).assert_ok();
    store
}

#[test]
fn copies_across_feeds_share_one_story_and_the_rest_stay_apart() {
    let store = TestStore::new();
    let run = store.ingest_fixtures(&GOOD_FEEDS);
    run.assert_ok();
    assert!(
        run.stderr.trim().is_empty(),
        "unexpected stderr: {}",
        run.stderr
    );
    assert_eq!(
        run.total(),
        "total: 4 sources (0 failed), 12 new, 0 updated, 0 unchanged, 4 joined an existing story, 0 stories merged"
    );
    let wire_line = run.line(&fixture("wire.xml").display().to_string());
    assert!(
        wire_line.contains("4 new, 0 updated, 0 unchanged, 0 joined"),
        "{wire_line}"
    );
    let digest_line = run.line(&fixture("digest.atom").display().to_string());
    assert!(
        digest_line.contains("3 new, 0 updated, 0 unchanged, 2 joined"),
        "{digest_line}"
    );

    // The four copies of the port strike story share one story.
    let port = store.story_of(guid::WIRE_FULL);
    for g in PORT_COPIES {
        assert_eq!(
            store.story_of(g),
            port,
            "{g} is not in the port strike story"
        );
    }
    // The Acme brief and its copy share one; Basix's brief (same template,
    // other figures) stays apart.
    let acme = store.story_of(guid::WIRE_ACME);
    assert_eq!(store.story_of(guid::DIGEST_ACME), acme);
    let basix = store.story_of(guid::AGG_BASIX);
    assert_ne!(basix, acme, "templated briefs of two companies were merged");
    assert_ne!(basix, port);

    // Every unrelated entry is a story of its own.
    let mut stories = BTreeSet::from([port, acme, basix]);
    for g in [
        guid::WIRE_WHEAT,
        guid::WIRE_NORWAY,
        guid::DIGEST_LAPTOP,
        guid::EURO_TUNNEL,
        guid::AGG_MARATHON,
    ] {
        assert!(
            stories.insert(store.story_of(g)),
            "{g} was put into another entry's story"
        );
    }

    // Every entry has exactly one story, and there are no others.
    assert_eq!(store.counts(), (4, GOOD_ENTRIES, 8));
    assert_eq!(store.int("SELECT count(DISTINCT story_id) FROM entries"), 8);
    store.assert_consistent();

    // The view lists copy counts and feeds.
    let conn = store.conn();
    let (title, copies, feed_count, feeds, url): (String, i64, i64, String, String) = conn
        .query_row(
            "SELECT title, copies, feed_count, feeds, url FROM story_overview WHERE story_id = ?1",
            [port],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .expect("port story in story_overview");
    assert_eq!(
        title, PORT_TITLE,
        "the full wire text is the representative"
    );
    assert_eq!((copies, feed_count), (4, 4));
    assert_eq!(
        feeds,
        "Aggregator Now, Eurodesk, Example Wire, Morning Digest"
    );
    assert_eq!(
        url,
        "https://wire.example.com/news/rotterdam-port-strike?utm_source=rss&utm_medium=feed&id=7#comments"
    );
    let acme_row: (i64, String) = conn
        .query_row(
            "SELECT copies, feeds FROM story_overview WHERE story_id = ?1",
            [acme],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("acme story");
    assert_eq!(acme_row, (2, "Example Wire, Morning Digest".to_string()));
    let singles: i64 = conn
        .query_row(
            "SELECT count(*) FROM story_overview WHERE copies = 1",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(singles, 6);

    // The summary joined the full text by containment, and says so.
    let (matched, rule, containment): (String, String, f64) = conn
        .query_row(
            "SELECT m.guid, e.match_rule, e.match_containment FROM entries e
               JOIN entries m ON m.id = e.matched_entry_id WHERE e.guid = ?1",
            [guid::DIGEST_SUMMARY],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("summary has a match");
    assert_eq!(
        matched,
        guid::WIRE_FULL,
        "the summary matched the full text"
    );
    assert_eq!(rule, "containment");
    assert!(containment > 0.9, "containment {containment}");
    let starter: Option<i64> = conn
        .query_row(
            "SELECT matched_entry_id FROM entries WHERE guid = ?1",
            [guid::WIRE_FULL],
            |r| r.get(0),
        )
        .expect("wire entry");
    assert_eq!(
        starter, None,
        "the entry that started the story matched nothing"
    );
}

#[test]
fn reingesting_the_same_files_adds_nothing() {
    let store = store_with_good_feeds();
    let before = store.assignment();
    let counts = store.counts();

    let again = store.ingest_fixtures(&GOOD_FEEDS);
    again.assert_ok();
    assert_eq!(
        again.total(),
        "total: 4 sources (0 failed), 0 new, 0 updated, 12 unchanged, 0 joined an existing story, 0 stories merged"
    );
    for (name, n) in GOOD_FEEDS.iter().zip([4, 3, 2, 3]) {
        let line = again.line(&fixture(name).display().to_string());
        assert!(
            line.contains(&format!(": 0 new, 0 updated, {n} unchanged, 0 joined")),
            "{line}"
        );
    }
    assert_eq!(store.counts(), counts);
    assert_eq!(store.assignment(), before);
    store.assert_consistent();
}

#[test]
fn a_changed_entry_is_updated_in_its_row() {
    let store = store_with_good_feeds();
    let story = store.story_of(guid::WIRE_WHEAT);
    let counts = store.counts();

    // The same feed with one entry's text changed (same guid).
    let original = fixture_text("wire.xml");
    let changed = original.replace(
        "mostly from Canada.",
        "mostly from Canada and Kazakhstan. An earlier version of this story misnamed the association.",
    );
    // And a late addition to the full text of the story four feeds carry.
    let changed = changed.replace(
        "in 2016, lasted three days.</p>",
        "in 2016, lasted three days.</p>\n<p>Talks are due to resume on Thursday under a government mediator.</p>",
    );
    assert_eq!(changed.matches("Kazakhstan").count(), 1);
    assert_eq!(changed.matches("government mediator").count(), 1);
    let path = store.path("wire-corrected.xml");
    std::fs::write(&path, changed).expect("write changed feed");

    let run = store.ingest([&path]);
    run.assert_ok();
    let line = run.line(&path.display().to_string());
    assert!(
        line.contains(": 0 new, 2 updated, 2 unchanged, 0 joined an existing story (feed https://wire.example.com/feeds/top.xml)"),
        "{line}"
    );
    assert_eq!(store.counts(), counts, "an update made new rows");
    assert_eq!(
        store.int("SELECT count(*) FROM entries WHERE guid = 'wire-2026-0311-italy-wheat'"),
        1
    );
    let text = store
        .entry_text(guid::WIRE_WHEAT, "summary_text")
        .expect("summary text");
    assert!(text.contains("Canada and Kazakhstan"), "{text}");
    assert_eq!(store.story_of(guid::WIRE_WHEAT), story);
    let full = store
        .entry_text(guid::WIRE_FULL, "content_text")
        .expect("content text");
    assert!(full.ends_with("under a government mediator."), "{full}");
    let port = store.story_of(guid::WIRE_FULL);
    for g in PORT_COPIES {
        assert_eq!(
            store.story_of(g),
            port,
            "{g} left the story after an update"
        );
    }
    let copies: i64 = store
        .conn()
        .query_row(
            "SELECT copies FROM story_overview WHERE story_id = ?1",
            [port],
            |r| r.get(0),
        )
        .expect("port story");
    assert_eq!(copies, 4);
    store.assert_consistent();

    // Ingesting the corrected file once more changes nothing.
    let again = store.ingest([&path]);
    again.assert_ok();
    assert!(
        again.total().contains("0 new, 0 updated, 4 unchanged"),
        "{}",
        again.total()
    );
}

#[test]
fn bad_sources_are_reported_and_the_good_ones_still_land() {
    let store = TestStore::new();
    let missing = fixture("no-such-feed.xml");
    let run = store.ingest([
        fixture("wire.xml"),
        fixture("broken.xml"),
        missing.clone(),
        fixture("page.html"),
        fixture("digest.atom"),
    ]);
    assert_ne!(
        run.code,
        Some(0),
        "a run with failed sources must not exit 0"
    );
    assert!(run.code.is_some(), "killed by a signal: {run:?}");
    assert!(
        run.total()
            .starts_with("total: 5 sources (3 failed), 7 new,"),
        "{}",
        run.total()
    );

    // Each failure: one stderr line naming the file and the reason.
    let stderr_line = |name: &str| -> String {
        let lines: Vec<&str> = run.stderr.lines().filter(|l| l.contains(name)).collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one stderr line about {name}:\n{}",
            run.stderr
        );
        lines[0].to_lowercase()
    };
    let broken = stderr_line("broken.xml");
    assert!(broken.contains("truncated"), "{broken}");
    let missing_line = stderr_line("no-such-feed.xml");
    assert!(
        missing_line.contains("cannot read") && missing_line.contains("no such file"),
        "{missing_line}"
    );
    let page = stderr_line("page.html");
    assert!(
        page.contains("not a readable feed"),
        "an HTML page is not a feed: {page}"
    );
    assert!(
        !page.contains("truncated"),
        "an HTML page is not a truncated feed: {page}"
    );
    assert!(
        !run.stderr.contains("wire.xml") && !run.stderr.contains("digest.atom"),
        "{}",
        run.stderr
    );

    // The good ones are stored, nothing of the bad ones.
    assert!(run
        .line(&fixture("wire.xml").display().to_string())
        .contains("4 new"));
    assert!(run
        .line(&fixture("digest.atom").display().to_string())
        .contains("3 new"));
    assert_eq!(store.counts(), (2, 7, 5));
    assert_eq!(
        store.int("SELECT count(*) FROM feeds WHERE title = 'Broken Feed'"),
        0
    );
    assert_eq!(
        store.int("SELECT count(*) FROM entries WHERE guid = 'broken-1'"),
        0
    );
    assert_eq!(
        store.story_of(guid::DIGEST_SUMMARY),
        store.story_of(guid::WIRE_FULL)
    );
    store.assert_consistent();
}

#[test]
fn a_run_with_bad_sources_loses_nothing_already_stored() {
    let store = store_with_good_feeds();
    let before = store.assignment();
    let counts = store.counts();

    let run = store.ingest([
        fixture("broken.xml"),
        fixture("page.html"),
        fixture("gone.xml"),
    ]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.total()
            .starts_with("total: 3 sources (3 failed), 0 new"),
        "{}",
        run.total()
    );
    assert_eq!(
        run.stderr.lines().filter(|l| l.contains("error")).count(),
        3,
        "{}",
        run.stderr
    );
    assert_eq!(store.counts(), counts);
    assert_eq!(store.assignment(), before);
    store.assert_consistent();

    // The store still answers queries.
    let stories = store.query("stories", &["--json"]);
    stories.assert_ok();
    assert_eq!(stories.stdout.lines().count(), 8);
}

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
    let store = store_with_good_feeds();
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
    let store = store_with_good_feeds();
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
    let store = store_with_good_feeds();
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
    let server = HttpServer::start(vec![Route {
        path: "/feeds/top.xml".into(),
        status: 200,
        body: std::fs::read(fixture("wire.xml")).expect("fixture"),
    }]);
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
    let requests = server.requests.lock().expect("requests").clone();
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
fn ingest_order_does_not_change_the_stories() {
    let forward = store_with_good_feeds();
    // The summary before the full text, everything in reverse.
    let reverse = TestStore::new();
    reverse
        .ingest_fixtures(&["aggregator.json", "eurodesk.rdf", "digest.atom", "wire.xml"])
        .assert_ok();
    let summary_first = TestStore::new();
    for name in ["digest.atom", "wire.xml"] {
        summary_first.ingest_fixtures(&[name]).assert_ok();
    }

    assert_eq!(
        summary_first.story_of(guid::DIGEST_SUMMARY),
        summary_first.story_of(guid::WIRE_FULL),
        "a summary ingested before its full text was not joined by it"
    );
    let port = reverse.story_of(guid::WIRE_FULL);
    for g in PORT_COPIES {
        assert_eq!(reverse.story_of(g), port, "{g}");
    }
    // The same partition of entries into stories, whatever the order.
    let partition = |store: &TestStore| -> BTreeSet<BTreeSet<String>> {
        let mut groups: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
        for (g, s) in store.assignment() {
            groups.entry(s).or_default().insert(g);
        }
        groups.into_values().collect()
    };
    assert_eq!(partition(&reverse), partition(&forward));
    // The full text, not the summary that came first, represents the story.
    for store in [&reverse, &summary_first] {
        let title: String = store
            .conn()
            .query_row(
                "SELECT title FROM story_overview WHERE story_id = ?1",
                [store.story_of(guid::WIRE_FULL)],
                |r| r.get(0),
            )
            .expect("story");
        assert_eq!(title, PORT_TITLE);
        store.assert_consistent();
    }
}

#[test]
fn stories_and_story_show_copies_feeds_and_why() {
    let store = store_with_good_feeds();
    let port = store.story_of(guid::WIRE_FULL);

    let run = store.query("stories", &["--json"]);
    run.assert_ok();
    let rows: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(rows.len(), 8);
    let firsts: Vec<&str> = rows
        .iter()
        .map(|r| r["first_seen"].as_str().expect("first_seen"))
        .collect();
    assert!(
        firsts.windows(2).all(|w| w[0] >= w[1]),
        "not newest first: {firsts:?}"
    );
    let row = rows
        .iter()
        .find(|r| r["id"] == port)
        .expect("port story listed");
    assert_eq!(row["title"], PORT_TITLE);
    assert_eq!(row["copies"], 4);
    assert_eq!(row["first_seen"], "2026-03-11T09:40:00Z");
    assert_eq!(row["last_seen"], "2026-03-11T12:30:00Z");
    assert_eq!(
        row["feeds"],
        serde_json::json!([
            "Aggregator Now",
            "Eurodesk",
            "Example Wire",
            "Morning Digest"
        ])
    );

    let multi = store.query("stories", &["--json", "--min-copies", "2"]);
    multi.assert_ok();
    let copies: Vec<(i64, i64)> = multi
        .stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json line");
            (
                v["id"].as_i64().expect("id"),
                v["copies"].as_i64().expect("copies"),
            )
        })
        .collect();
    assert_eq!(copies, [(store.story_of(guid::WIRE_ACME), 2), (port, 4)]);

    let detail = store.query("story", &[&port.to_string(), "--json"]);
    detail.assert_ok();
    let d: Value = serde_json::from_str(&detail.stdout).expect("story json");
    assert_eq!(d["id"], port);
    assert_eq!(d["copies"], 4);
    let entries = d["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 4);
    let ids: BTreeSet<i64> = entries
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect();
    let feeds: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["feed_url"].as_str().expect("feed_url"))
        .collect();
    assert_eq!(
        feeds,
        BTreeSet::from([WIRE_SELF, DIGEST_SELF, EURO_SELF, AGG_SELF])
    );
    assert_eq!(entries[0]["title"], PORT_TITLE, "oldest first");
    assert_eq!(entries[0]["feed"], "Example Wire");
    assert_eq!(entries[0]["representative"], true);
    assert!(
        entries[0]["matched"].is_null(),
        "the first entry started the story"
    );
    for e in &entries[1..] {
        let m = &e["matched"];
        assert!(m.is_object(), "{e}");
        assert!(
            ids.contains(&m["entry_id"].as_i64().expect("entry_id")),
            "{e}"
        );
        assert_ne!(m["entry_id"], e["id"]);
        let rule = m["rule"].as_str().expect("rule");
        assert!(
            ["near_identical", "containment", "title_and_text"].contains(&rule),
            "{rule}"
        );
        for figure in ["containment", "resemblance", "title", "numbers"] {
            let x = m[figure].as_f64().expect("figure");
            assert!((0.0..=1.0).contains(&x), "{figure} = {x}");
        }
        assert!(m["hamming"].as_i64().expect("hamming") <= 64);
        assert!(m["gap_seconds"].as_i64().expect("gap") >= 0);
        assert_eq!(e["representative"], false);
    }
    let summary = entries
        .iter()
        .find(|e| e["feed_url"] == DIGEST_SELF)
        .expect("summary");
    assert_eq!(summary["matched"]["entry_id"], entries[0]["id"]);
    assert_eq!(summary["matched"]["gap_seconds"], 35 * 60);
    assert!(
        summary["matched"]["containment"]
            .as_f64()
            .expect("containment")
            > 0.9
    );

    // The text form says the same for people.
    let text = store.query("story", &[&port.to_string()]);
    text.assert_ok();
    assert!(
        text.stdout
            .starts_with(&format!("story {port}: {PORT_TITLE}\n4 copies in 4 feeds")),
        "{}",
        text.stdout
    );
    assert_eq!(text.stdout.matches("why:   started the story").count(), 1);
    assert_eq!(text.stdout.matches(" with entry ").count(), 3);

    // An unknown story is an error.
    let none = store.query("story", &["9999"]);
    assert_ne!(none.code, Some(0));
    assert!(
        none.stderr.contains("no story with id 9999"),
        "{}",
        none.stderr
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
fn an_open_read_transaction_neither_blocks_nor_sees_an_ingest() {
    let store = TestStore::new();
    store.ingest_fixtures(&["wire.xml"]).assert_ok();

    let reader = rusqlite::Connection::open(&store.db).expect("reader");
    reader.execute_batch("BEGIN").expect("begin");
    let count = |c: &rusqlite::Connection| -> i64 {
        c.query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .expect("count")
    };
    assert_eq!(count(&reader), 4);

    let run = store.ingest_fixtures(&["digest.atom", "eurodesk.rdf", "aggregator.json"]);
    run.assert_ok();
    // busy_timeout is 10 s: a blocked writer would have waited that long.
    assert!(
        run.elapsed < Duration::from_secs(8),
        "ingest took {:?}",
        run.elapsed
    );
    assert!(run.total().contains("8 new"), "{}", run.total());

    // The reader's snapshot is unchanged until it ends its transaction.
    assert_eq!(count(&reader), 4);
    let copies: i64 = reader
        .query_row("SELECT max(copies) FROM story_overview", [], |r| r.get(0))
        .expect("copies");
    assert_eq!(copies, 1);
    reader.execute_batch("COMMIT").expect("commit");
    assert_eq!(count(&reader), GOOD_ENTRIES);
    common::assert_consistent(&reader);
}

/// An RSS document of `n` distinct entries.
fn big_feed(name: &str, n: usize) -> String {
    const WORDS: &[&str] = &[
        "harbour",
        "council",
        "budget",
        "railway",
        "festival",
        "election",
        "vaccine",
        "drought",
        "satellite",
        "museum",
        "factory",
        "tariff",
        "glacier",
        "orchestra",
        "startup",
        "bridge",
        "pension",
        "wildfire",
        "telescope",
        "vineyard",
        "airline",
        "refinery",
        "stadium",
        "archive",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ name.len() as u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    let mut items = String::new();
    for i in 0..n {
        let words: Vec<String> = (0..60)
            .map(|k| format!("{}{}", WORDS[next() % WORDS.len()], (next() + k) % 97))
            .collect();
        items.push_str(&format!(
            "<item><title>{name} item {i} {}</title><guid>{name}-{i}</guid>\
             <pubDate>Thu, 12 Mar 2026 {:02}:{:02}:00 +0000</pubDate>\
             <description>{}.</description></item>\n",
            words[..4].join(" "),
            (i / 60) % 24,
            i % 60,
            words.join(" ")
        ));
    }
    format!(
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>\
         <title>{name}</title><atom:link rel=\"self\" href=\"https://{name}.example.com/feed\"/>\n{items}</channel></rss>\n"
    )
}

#[test]
fn readers_never_see_half_a_document() {
    let store = TestStore::new();
    store.ingest_fixtures(&["noself.xml"]).assert_ok();
    const N: i64 = 300;
    let a = store.path("bulk-a.xml");
    let b = store.path("bulk-b.xml");
    std::fs::write(&a, big_feed("bulka", N as usize)).expect("write");
    std::fs::write(&b, big_feed("bulkb", N as usize)).expect("write");

    let mut child = feedfold()
        .arg("ingest")
        .arg("--db")
        .arg(&store.db)
        .arg(&a)
        .arg(&b)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ingest");
    let mut conn = rusqlite::Connection::open(&store.db).expect("reader");
    conn.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    let start = Instant::now();
    let mut seen: BTreeMap<(i64, i64), usize> = BTreeMap::new();
    let status = loop {
        let tx = conn.transaction().expect("begin");
        let entries: i64 = tx
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .expect("count");
        let feeds: i64 = tx
            .query_row("SELECT count(*) FROM feeds", [], |r| r.get(0))
            .expect("count");
        let counted: i64 = tx
            .query_row(
                "SELECT coalesce(sum(entry_count), 0) FROM stories",
                [],
                |r| r.get(0),
            )
            .expect("sum");
        tx.commit().expect("end");
        assert_eq!(
            counted, entries,
            "stories' counts disagree with the entries a reader sees"
        );
        *seen.entry((feeds, entries)).or_default() += 1;
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(start.elapsed() < common::RUN_TIMEOUT, "ingest hangs");
        // Leave the writer a core of the two a CI box may have.
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(status.success(), "{status:?}");
    println!("snapshots seen while ingesting (feeds, entries) -> times: {seen:?}");
    for (feeds, entries) in seen.keys() {
        assert!(
            [(1, 1), (2, 1 + N), (3, 1 + 2 * N)].contains(&(*feeds, *entries)),
            "a reader saw {entries} entries in {feeds} feeds: half a document"
        );
    }
    assert_eq!(store.counts().1, 1 + 2 * N);
    store.assert_consistent();
}
