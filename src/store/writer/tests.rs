//! Unit tests of the writer's batches.

use chrono::Utc;
use rusqlite::Connection;

use super::Writer;
use crate::detector::GroupingConfig;
use crate::model::{NormalizedFeed, RawDocument};
use crate::normalizer::{normalize, Identity};
use crate::store::StoreError;

fn feed(name: &str, items: &[(&str, &str)]) -> NormalizedFeed {
    let mut xml = format!(
        "<rss version=\"2.0\"><channel><title>{name}</title><link>https://{name}.test/</link>"
    );
    for (guid, text) in items {
        xml.push_str(&format!(
            "<item><guid>{guid}</guid><title>{text}</title><description>{text}</description>\
             <pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    let doc = RawDocument {
        name: name.into(),
        fetched_url: Some(format!("https://{name}.test/rss")),
        path: None,
        http_charset: None,
        bytes: xml.into_bytes(),
    };
    let url = format!("https://{name}.test/rss");
    let identity = Identity {
        fetched_url: Some(&url),
        ..Default::default()
    };
    normalize(&doc, &identity, Utc::now()).expect("test feed normalizes")
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).expect("count")
}

#[test]
fn a_failing_document_of_a_batch_is_rolled_back_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w =
        Writer::open(&dir.path().join("t.db"), GroupingConfig::default()).expect("store opens");
    let text = "Dock workers in Rotterdam walked out on Monday over pay, halting container traffic at Europe's biggest port for the first time since 2002.";
    let a = feed("a", &[("a1", text)]);
    let b = feed(
        "b",
        &[("b1", "Wheat prices fell in Chicago on rain in the plains.")],
    );
    let c = feed("c", &[("c1", text)]);
    // The second document fails inside its savepoint.
    w.conn
        .execute_batch(
            "CREATE TEMP TRIGGER refuse_b BEFORE INSERT ON entries WHEN NEW.guid = 'b1'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
        )
        .expect("trigger");
    let results = w.ingest_batch(&[&a, &b, &c], Utc::now());
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(
        matches!(&results[1], Err(StoreError::Sqlite(e)) if e.to_string().contains("refused by the test")),
        "{results:?}"
    );
    w.conn
        .execute_batch("DROP TRIGGER refuse_b")
        .expect("drop trigger");
    // b left nothing behind; c still joined a's story.
    assert_eq!(count(&w.conn, "SELECT count(*) FROM entries"), 2);
    assert_eq!(count(&w.conn, "SELECT count(*) FROM feeds"), 2);
    assert_eq!(
        count(&w.conn, "SELECT count(DISTINCT story_id) FROM entries"),
        1
    );
    assert_eq!(
        count(&w.conn, "SELECT entry_count FROM stories"),
        2,
        "story counts refreshed"
    );
    assert_eq!(w.window.detector().len(), 2, "the index lost b's entry");
    // Both stored entries, and only they, are searchable.
    assert_eq!(
        count(
            &w.conn,
            "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'rotterdam'"
        ),
        2
    );
    assert_eq!(
        count(
            &w.conn,
            "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'wheat'"
        ),
        0
    );
    // An entry stored and then changed in one batch (a document that
    // carries one guid twice) leaves the full-text index sound.
    let twice = feed(
        "d",
        &[
            ("d1", "Cocoa futures rose in London."),
            ("d1", "Copper futures fell in Shanghai."),
        ],
    );
    let results = w.ingest_batch(&[&twice], Utc::now());
    assert_eq!(
        results[0].as_ref().map(|r| (r.new, r.updated)).ok(),
        Some((1, 1))
    );
    w.conn
        .execute(
            "INSERT INTO entries_fts(entries_fts, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .expect("the full-text index is sound");
    assert_eq!(
        count(
            &w.conn,
            "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'copper'"
        ),
        1
    );
    assert_eq!(
        count(
            &w.conn,
            "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'cocoa'"
        ),
        0
    );
    // A batch stores what single documents store.
    let again = w.ingest_batch(&[&b], Utc::now());
    assert_eq!(again[0].as_ref().map(|r| r.new).ok(), Some(1));
    // A story of one entry has that entry's figures.
    assert_eq!(
        count(
            &w.conn,
            "SELECT count(*) FROM stories s JOIN entries e ON e.story_id = s.id
              WHERE e.guid = 'b1' AND s.representative_id = e.id AND s.entry_count = 1
                AND s.feed_count = 1 AND s.first_seen = e.published AND s.last_seen = e.published"
        ),
        1
    );
    assert_eq!(
        count(
            &w.conn,
            "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'wheat'"
        ),
        1
    );
}

/// A feed of one summary entry (`guid`) linking to `link`.
#[test]
fn a_store_opened_without_its_window_loads_it_before_grouping() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    let text = "Dock workers in Rotterdam walked out on Monday over pay, halting container traffic at Europe's biggest port for the first time since 2002.";
    let mut w = Writer::open(&path, GroupingConfig::default()).expect("store opens");
    let stored = w.ingest_batch(&[&feed("a", &[("a1", text)])], Utc::now());
    assert!(stored[0].is_ok(), "{stored:?}");
    w.close();
    // Opened as the daemon's writer thread opens it: nothing loaded yet.
    let mut w = Writer::open_unloaded(&path, GroupingConfig::default()).expect("store opens");
    assert_eq!(w.window.detector().len(), 0);
    // The first document loads the window, and its copy joins the stored
    // story instead of starting one.
    let results = w.ingest_batch(&[&feed("c", &[("c1", text)])], Utc::now());
    assert_eq!(
        results[0].as_ref().map(|r| r.joined).ok(),
        Some(1),
        "{results:?}"
    );
    assert_eq!(w.window.detector().len(), 2);
    assert_eq!(count(&w.conn, "SELECT count(*) FROM stories"), 1);
    // A load that fails is tried again by the next document: the
    // documents fail meanwhile, and nothing stored is lost.
    w.loaded = false;
    w.conn
        .execute_batch("ALTER TABLE entries RENAME TO entries_away")
        .expect("hide the entries");
    let failed = w.ingest_batch(&[&feed("d", &[("d1", text)])], Utc::now());
    assert!(failed[0].is_err(), "{failed:?}");
    w.conn
        .execute_batch("ALTER TABLE entries_away RENAME TO entries")
        .expect("restore the entries");
    let results = w.ingest_batch(&[&feed("d", &[("d1", text)])], Utc::now());
    assert_eq!(
        results[0].as_ref().map(|r| r.joined).ok(),
        Some(1),
        "{results:?}"
    );
    assert_eq!(count(&w.conn, "SELECT count(*) FROM entries"), 3);
}

fn summary_feed(guid: &str, link: &str) -> NormalizedFeed {
    let xml = format!(
        "<rss version=\"2.0\"><channel><title>s</title><link>https://s.test/</link>\
         <item><guid>{guid}</guid><title>Teaser</title><link>{link}</link>\
         <description>A line about it. Read more</description>\
         <pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item></channel></rss>"
    );
    let doc = RawDocument {
        name: "s".into(),
        fetched_url: Some("https://s.test/rss".into()),
        path: None,
        http_charset: None,
        bytes: xml.into_bytes(),
    };
    let identity = Identity {
        fetched_url: Some("https://s.test/rss"),
        ..Default::default()
    };
    normalize(&doc, &identity, Utc::now()).expect("test feed normalizes")
}

#[test]
fn article_fetches_are_retried_with_backoff_then_left_alone() {
    use super::articles::{ArticleFailure, ArticleOutcome, FullTextSettings};
    use crate::extractor::FullTextConfig;
    use crate::model::{FullTextMode, Interval};

    let dir = tempfile::tempdir().expect("tempdir");
    let mut w =
        Writer::open(&dir.path().join("t.db"), GroupingConfig::default()).expect("store opens");
    w.set_full_text(FullTextSettings {
        config: FullTextConfig {
            max_attempts: 2,
            retry_after: Interval::secs(60),
            ..FullTextConfig::default()
        },
        ingest: Some(FullTextMode::Auto),
        polls: false,
    })
    .expect("settings");
    let url = "https://news.test/a";
    let t0 = Utc::now();
    for r in w.ingest_batch(
        &[
            &summary_feed("s1", url),
            &summary_feed("s2", "https://news.test/b"),
        ],
        t0,
    ) {
        r.expect("stored");
    }
    let fail = |url: &str, permanent: bool| ArticleOutcome {
        url: url.into(),
        result: Err(ArticleFailure {
            message: "timed out".into(),
            permanent,
        }),
    };
    let claimed = w.claim_articles(10, t0).expect("claim");
    assert_eq!(claimed.len(), 2, "{claimed:?}");
    assert!(claimed.iter().all(|j| j.attempt == 1));
    assert!(
        w.claim_articles(10, t0).expect("claim").is_empty(),
        "under way"
    );

    let r = w
        .store_articles(&[fail(url, false), fail("https://news.test/b", true)], t0)
        .expect("store");
    assert_eq!((r.retrying, r.failed, r.fetched), (1, 1, 0));
    let later = |s: i64| t0 + chrono::Duration::seconds(s);
    assert!(w.claim_articles(10, later(30)).expect("claim").is_empty());
    let again = w.claim_articles(10, later(61)).expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].url.as_str(), again[0].attempt), (url, 2));
    let r = w
        .store_articles(&[fail(url, false)], later(61))
        .expect("store");
    assert_eq!((r.retrying, r.failed), (0, 1), "max_attempts reached");
    assert!(w
        .claim_articles(10, later(86_400))
        .expect("claim")
        .is_empty());
    assert_eq!(
        count(
            &w.conn,
            "SELECT count(*) FROM article_fetches WHERE state = 'failed' AND last_error = 'timed out'"
        ),
        2
    );
    // The entries keep their feed text, in their stories.
    assert_eq!(
        count(
            &w.conn,
            "SELECT count(*) FROM entries WHERE content_source = 'feed'"
        ),
        2
    );
}

#[test]
fn the_writer_keeps_index_statistics_but_no_value_samples() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    let mut w = Writer::open(&path, GroupingConfig::default()).expect("store opens");
    let items: Vec<(String, String)> = (0..40)
        .map(|i| {
            (
                format!("g{i}"),
                format!("Story number {i} about the harbour strike"),
            )
        })
        .collect();
    let items: Vec<(&str, &str)> = items
        .iter()
        .map(|(g, t)| (g.as_str(), t.as_str()))
        .collect();
    let a = feed("a", &items);
    for r in w.ingest_batch(&[&a], Utc::now()) {
        r.expect("stored");
    }
    // A full ANALYZE, as an older feedfold's `PRAGMA optimize` left it.
    w.conn.execute_batch("ANALYZE").expect("analyze");
    let samples = "SELECT count(*) FROM sqlite_stat4";
    assert!(count(&w.conn, samples) > 0, "ANALYZE keeps samples");
    w.close();

    // Closing ran `PRAGMA optimize` and dropped what it sampled.
    let look = Connection::open(&path).expect("open");
    assert_eq!(count(&look, samples), 0);
    look.execute_batch("ANALYZE").expect("analyze");
    assert!(count(&look, samples) > 0);
    drop(look);

    // Opening the writer empties the samples an ANALYZE left, and keeps
    // the per-index figures.
    let w = Writer::open(&path, GroupingConfig::default()).expect("store opens again");
    assert_eq!(count(&w.conn, samples), 0);
    assert!(
        count(
            &w.conn,
            "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'entries'"
        ) > 0
    );
    w.close();
}

/// The placement of every entry (guid, story, event, rule), in id order.
fn placements(conn: &Connection) -> Vec<(String, i64, i64, Option<String>)> {
    let mut stmt = conn
        .prepare(
            "SELECT e.guid, e.story_id, s.event_id, e.match_rule
               FROM entries e JOIN stories s ON s.id = e.story_id ORDER BY e.id",
        )
        .expect("prepare");
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query");
    rows.collect::<Result<_, _>>().expect("rows")
}

#[test]
fn features_read_back_from_the_store_place_entries_as_features_kept_in_memory() {
    let stories = [
        "Dock workers in Rotterdam walked out on Monday over pay, halting container traffic at Europe's biggest port. The union said the strike would last 48 hours unless operators improved their offer. Shipping lines diverted several vessels to Antwerp and Hamburg, a port spokesman said.",
        "Wheat futures fell sharply in Chicago on Tuesday as heavy rain across the southern plains eased fears for the winter crop. Traders said funds sold after the weather service forecast more showers for Kansas. Corn and soybeans followed wheat lower in thin trade.",
        "A magnitude 6.1 earthquake struck off the coast of northern Chile on Wednesday, shaking buildings in Iquique and Arica. The national emergency office said there were no immediate reports of damage. Residents of Iquique fled to higher ground as sirens sounded.",
        "The central bank of Norway raised its key interest rate by a quarter point to 4.75 percent on Thursday, citing stubborn inflation. Governor Ida Wolden Bache said further increases could not be ruled out. The crown strengthened against the euro after the decision.",
        "Firefighters in southern France battled a wildfire that forced the evacuation of 3,000 campers near Argeles on Friday. Strong winds fanned the flames across 500 hectares of scrubland, the prefecture said. No injuries were reported.",
    ];
    // Five outlets carry every story: the wire text, or its last two
    // sentences; two documents each.
    let mut docs = Vec::new();
    for outlet in 0..5 {
        for half in 0..2 {
            let items: Vec<(String, String)> = stories
                .iter()
                .enumerate()
                .filter(|(s, _)| s % 2 == half)
                .map(|(s, text)| {
                    let text = if outlet % 2 == 0 {
                        text.to_string()
                    } else {
                        text.split_once(". ")
                            .map_or(*text, |(_, rest)| rest)
                            .to_string()
                    };
                    (format!("o{outlet}s{s}"), text)
                })
                .collect();
            let items: Vec<(&str, &str)> = items
                .iter()
                .map(|(g, t)| (g.as_str(), t.as_str()))
                .collect();
            docs.push(feed(&format!("outlet{outlet}"), &items));
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |name: &str, in_memory: usize| {
        let path = dir.path().join(name);
        let grouping = GroupingConfig {
            features_in_memory: in_memory,
            ..GroupingConfig::default()
        };
        let mut w = Writer::open(&path, grouping).expect("store opens");
        for doc in &docs {
            let result = w.ingest_batch(&[doc], Utc::now()).pop();
            assert!(matches!(result, Some(Ok(_))), "{result:?}");
            w.committed();
        }
        let (in_memory, loads) = w.window.detector().index().features_in_memory();
        let placed = placements(&w.conn);
        w.close();
        (placed, in_memory, loads)
    };
    let (kept, kept_in_memory, kept_loads) = run("kept.db", 1_000);
    let (read_back, in_memory, loads) = run("read-back.db", 0);
    assert_eq!(kept_loads, 0);
    assert_eq!(kept_in_memory, 25);
    assert!(in_memory <= 2, "{in_memory} entries' features in memory");
    assert!(loads >= 25, "only {loads} features read back");
    assert_eq!(read_back, kept);
    // The copies were grouped: one story per wire story.
    let stories: std::collections::BTreeSet<i64> = kept.iter().map(|p| p.1).collect();
    assert_eq!(stories.len(), 5, "{kept:?}");
}
