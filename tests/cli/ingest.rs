//! `feedfold ingest` on the feed files of `tests/fixtures/`: which copies
//! share a story, what a re-ingest or a changed entry does, bad sources,
//! and that the order of ingestion does not matter.
//!
//! The fixtures carry one news story in four outlets' copies (the full wire
//! text in RSS 2.0, a two-paragraph summary in Atom, a retitled copy with
//! "Source: ..." and an author bio in RSS 1.0, a copy with a tracking link
//! in JSON Feed), one earnings brief copied by two outlets, a second brief
//! of the same template for another company, and unrelated entries.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::fixtures::{
    fixture, fixture_text, guid, GOOD_ENTRIES, GOOD_FEEDS, PORT_COPIES, PORT_TITLE,
};
use crate::common::TestStore;

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
    let store = TestStore::with_good_feeds();
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
    let store = TestStore::with_good_feeds();
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
        page.contains("this is a web page, not a feed"),
        "an HTML page is said to be a web page: {page}"
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
    let store = TestStore::with_good_feeds();
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
fn ingest_order_does_not_change_the_stories() {
    let forward = TestStore::with_good_feeds();
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
