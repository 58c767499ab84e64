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
