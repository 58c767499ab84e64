//! Store maintenance through the binary: `prune` (by `--older-than` and by
//! `[retention] keep_days`), and `migrate` of a store made by the first
//! released schema.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{Duration, Utc};
use rusqlite::{params, Connection};
use serde_json::Value;

use super::output::json_lines;
use crate::common::feeds::{write_rss, Item};
use crate::common::fixtures::{fixture, guid};
use crate::common::{feedfold, run as run_cmd, TestStore};

#[test]
fn prune_removes_old_entries_their_text_rows_and_empty_stories() {
    let store = TestStore::with_samples_and_good_feeds();
    // Months pass: the fixtures were last carried when published, except
    // one copy of the port strike, which its feed still carries today.
    let conn = store.writable();
    conn.execute(
        "UPDATE entries SET first_seen = published, last_seen = published",
        [],
    )
    .expect("age the store");
    conn.execute(
        "UPDATE entries SET last_seen = ?2 WHERE guid = ?1",
        params![
            guid::AGG_TRACKED,
            Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
        ],
    )
    .expect("still carried");
    // An article an old entry took its text from, and one nobody refers to
    // any more: both go; one a kept entry waits for stays.
    for (url, guid) in [
        ("https://article.test/old", Some(guid::WIRE_FULL)),
        ("https://article.test/orphan", None),
        ("https://article.test/kept", Some(guid::AGG_TRACKED)),
    ] {
        conn.execute(
            "INSERT INTO article_fetches (url, state, queued_at) VALUES (?1, 'done', '2026-01-01T00:00:00Z')",
            [url],
        )
        .expect("article row");
        if let Some(guid) = guid {
            conn.execute(
                "UPDATE entries SET article_url = ?1 WHERE guid = ?2",
                [url, guid],
            )
            .expect("link the article");
        }
    }
    drop(conn);
    let feed = store.path("fresh.xml");
    write_rss(
        &feed,
        "Fresh News",
        "https://fresh.example.test/rss",
        &[
            Item::aged(
                "fresh-today",
                "Harbour ferry timetable changes",
                "The harbour ferry adds two evening crossings from Monday, the operator said.",
                Duration::hours(2),
            ),
            Item::aged(
                "fresh-old",
                "Library extends opening hours",
                "The city library is to stay open until nine on weekdays from next month.",
                Duration::days(45),
            ),
        ],
    );
    store.ingest([&feed]).assert_ok();
    let port = store.story_of(guid::WIRE_FULL);
    let (_, entries_before, _) = store.counts();

    let run = store.query("prune", &["--older-than", "30d", "--json"]);
    let report = json_lines(run.assert_ok());
    assert_eq!(report.len(), 1);
    // The library item was first seen today, so it stays: feedfold keeps an
    // entry until it is old *and* its feed stopped carrying it.
    let kept = ["fresh-today", "fresh-old", guid::AGG_TRACKED];
    let expected_gone = entries_before - kept.len() as i64;
    assert_eq!(report[0]["entries"], expected_gone, "{}", run.stdout);
    assert_eq!(report[0]["articles"], 2, "{}", run.stdout);
    assert_eq!(
        store.int("SELECT count(*) FROM article_fetches WHERE url = 'https://article.test/kept'"),
        1
    );
    assert_eq!(store.int("SELECT count(*) FROM article_fetches"), 1);
    let (_, entries, stories) = store.counts();
    assert_eq!(entries, kept.len() as i64);
    let left: BTreeSet<String> = store.assignment().into_keys().collect();
    assert_eq!(left, kept.iter().map(|s| s.to_string()).collect());
    assert_eq!(stories, 3, "emptied stories are removed");
    assert_eq!(store.int("SELECT count(*) FROM entries_fts"), 3);
    assert_eq!(
        store.int("SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'putin OR wheat'"),
        0
    );
    store.assert_consistent();

    // The port strike story keeps its remaining copy, recomputed.
    assert_eq!(store.story_of(guid::AGG_TRACKED), port);
    assert_eq!(
        store.int(&format!(
            "SELECT entry_count FROM stories WHERE id = {port}"
        )),
        1
    );
    let detail = store.query("story", &[&port.to_string(), "--json"]);
    let d: Value = serde_json::from_str(&detail.assert_ok().stdout).expect("json");
    assert_eq!(d["copies"], 1);
    assert_eq!(d["entries"][0]["representative"], true);
    assert!(d["entries"][0]["matched"]["entry_id"].is_null(), "{d}");
    let text = store.query("story", &[&port.to_string()]);
    assert!(
        text.assert_ok().stdout.contains("(since pruned)"),
        "{}",
        text.stdout
    );

    // Search no longer finds what was pruned; it finds what is left.
    let run = store.query("search", &["ceasefire", "--json"]);
    assert!(run.assert_ok().stdout.is_empty());
    let run = store.query("search", &["ferry", "--json"]);
    assert_eq!(json_lines(run.assert_ok()).len(), 1);

    // Nothing more to prune; without --older-than or keep_days it is an error.
    let again = store.query("prune", &["--older-than", "30d", "--json", "--vacuum"]);
    assert_eq!(json_lines(again.assert_ok())[0]["entries"], 0);
    let none = store.query("prune", &[]);
    assert_eq!(none.code, Some(1));
    assert!(none.stderr.contains("keep_days"), "{}", none.stderr);

    // [retention] keep_days from the config.
    let config = store.path("feedfold.toml");
    std::fs::write(&config, "[retention]\nkeep_days = 1\n").expect("config");
    store
        .writable()
        .execute(
            "UPDATE entries SET first_seen = published, last_seen = published",
            [],
        )
        .expect("age again");
    let mut cmd = feedfold();
    cmd.arg("--config")
        .arg(&config)
        .arg("prune")
        .arg("--db")
        .arg(&store.db);
    let run = run_cmd(&mut cmd, None);
    assert!(
        run.assert_ok().stdout.starts_with("pruned 2 entries"),
        "{}",
        run.stdout
    );
    let left: BTreeSet<String> = store.assignment().into_keys().collect();
    assert_eq!(left, BTreeSet::from(["fresh-today".to_string()]));
    store.assert_consistent();
    assert_eq!(store.int("SELECT count(*) FROM entries_fts"), 1);
    assert_eq!(
        store.int("PRAGMA auto_vacuum"),
        2,
        "new stores use incremental vacuum"
    );
}

/// Text of `words` pseudo-random words (a fixed sequence per `seed`), so
/// that generated entries differ from each other.
fn words(seed: u64, words: usize) -> String {
    const VOCABULARY: &[&str] = &[
        "harbour",
        "council",
        "budget",
        "bridge",
        "ferry",
        "strike",
        "river",
        "school",
        "library",
        "minister",
        "election",
        "weather",
        "market",
        "railway",
        "hospital",
        "museum",
        "festival",
        "airport",
        "factory",
        "farmers",
        "drought",
        "harvest",
        "tunnel",
        "stadium",
        "court",
        "parliament",
        "treaty",
        "border",
        "census",
        "pension",
        "tariff",
        "vaccine",
    ];
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..words)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            VOCABULARY[(x >> 33) as usize % VOCABULARY.len()]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn prune_gives_the_freed_pages_back_to_the_file_system() {
    let store = TestStore::new();
    let mut files = Vec::new();
    for f in 0..6u64 {
        let items: Vec<Item> = (0..120u64)
            .map(|i| {
                let seed = f * 1000 + i;
                Item::aged(
                    &format!("gen-{f}-{i}"),
                    &format!("{} {seed}", words(seed, 6)),
                    &words(seed + 7, 120),
                    Duration::hours(i as i64 + 1),
                )
            })
            .collect();
        let path = store.path(&format!("gen-{f}.xml"));
        write_rss(
            &path,
            &format!("Generated {f}"),
            &format!("https://gen{f}.example.test/rss"),
            &items,
        );
        files.push(path);
    }
    store.ingest(&files).assert_ok();
    let (_, entries, _) = store.counts();
    assert_eq!(entries, 720);
    // All but the newest entry of each feed are a year old and no longer carried.
    let conn = store.writable();
    let old = conn
        .execute(
            "UPDATE entries SET published = '2025-01-01T00:00:00Z',
                    first_seen = '2025-01-01T00:00:00Z', last_seen = '2025-01-01T00:00:00Z'
              WHERE guid NOT LIKE 'gen-%-0'",
            [],
        )
        .expect("age the store");
    assert_eq!(old, 714);
    drop(conn);
    let wal = store.path("store.db-wal");
    assert!(!wal.exists(), "the last connection checkpointed the WAL");
    let size_before = std::fs::metadata(&store.db).expect("store").len();

    let pruned = store.query("prune", &["--older-than", "30d", "--json"]);
    let report = json_lines(pruned.assert_ok());
    assert_eq!(report[0]["entries"], 714, "{}", pruned.stdout);
    assert_eq!(store.counts().1, 6);
    store.assert_consistent();
    assert_eq!(
        store.int("PRAGMA freelist_count"),
        0,
        "no free page is left in the file"
    );
    let size_after = std::fs::metadata(&store.db).expect("store").len();
    let wal_after = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    println!("prune: {size_before} bytes before, {size_after} after (WAL {wal_after})");
    assert!(
        size_after * 2 < size_before,
        "the file shrank: {size_before} -> {size_after} bytes"
    );
    assert_eq!(wal_after, 0, "the WAL was checkpointed and removed");
}

/// Inserts one normalized feed document into a store of schema version 1,
/// by hand, each entry its own story (as the first release stored them).
fn insert_v1(conn: &Connection, path: &Path) {
    let bytes = std::fs::read(path).expect("fixture");
    let abs = path.display().to_string();
    let doc = feedfold::model::RawDocument {
        name: abs.clone(),
        fetched_url: None,
        path: Some(abs.clone()),
        http_charset: None,
        bytes,
    };
    let identity = feedfold::normalizer::Identity {
        feed_url: None,
        fetched_url: None,
        path: Some(&abs),
    };
    let feed = feedfold::normalizer::normalize(&doc, &identity, Utc::now()).expect("normalizes");
    let now = "2026-03-12T00:00:00Z";
    conn.execute(
        "INSERT INTO feeds (url, title, format, first_seen, last_ingested) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![feed.url, feed.title, feed.format.as_str(), now],
    )
    .expect("feed");
    let feed_id = conn.last_insert_rowid();
    for e in &feed.entries {
        let published = feedfold::model::format_time(e.published);
        conn.execute(
            "INSERT INTO stories (title, first_seen, last_seen, entry_count, feed_count, created_at, updated_at)
             VALUES (?1, ?2, ?2, 1, 1, ?3, ?3)",
            params![e.title, published, now],
        )
        .expect("story");
        let story = conn.last_insert_rowid();
        conn.execute(
            "INSERT INTO entries (feed_id, guid, guid_source, url, canonical_url, title, summary_html,
                summary_text, content_html, content_text, text_length, published, published_source,
                first_seen, last_seen, content_hash, fingerprint, features, story_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, 0, ?15, ?16, ?17)",
            params![
                feed_id,
                e.guid,
                e.guid_source.as_str(),
                e.url,
                e.canonical_url,
                e.title,
                e.summary_html,
                e.summary_text,
                e.content_html,
                e.content_text,
                e.best_text().chars().count() as i64,
                published,
                e.published_source.as_str(),
                now,
                e.features.simhash as i64,
                e.features.encode(),
                story,
            ],
        )
        .expect("entry");
        conn.execute(
            "UPDATE stories SET representative_id = ?1 WHERE id = ?2",
            params![conn.last_insert_rowid(), story],
        )
        .expect("representative");
    }
}

#[test]
fn a_store_of_the_first_schema_migrates_with_its_data() {
    let store = TestStore::new();
    {
        let conn = Connection::open(&store.db).expect("create");
        conn.execute_batch(feedfold::store::schema::MIGRATIONS[0])
            .expect("migration 1");
        conn.pragma_update(None, "user_version", 1)
            .expect("version 1");
        insert_v1(&conn, &fixture("wire.xml"));
        insert_v1(&conn, &fixture("eurodesk.rdf"));
    }
    let (feeds, entries, stories) = store.counts();
    assert_eq!((feeds, entries), (2, 6));
    let titles = |store: &TestStore| -> BTreeSet<(String, String)> {
        let conn = store.conn();
        let mut stmt = conn
            .prepare("SELECT guid, title FROM entries")
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        rows
    };
    let before = titles(&store);

    // Read commands never change a store; search says how to upgrade.
    let run = store.query("search", &["rotterdam"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("feedfold migrate") && run.stderr.contains("version 1"),
        "{}",
        run.stderr
    );
    assert_eq!(store.int("PRAGMA user_version"), 1);
    store.query("stories", &["--json"]).assert_ok();

    let run = store.query("migrate", &[]);
    run.assert_ok();
    let latest = feedfold::store::schema::latest_version();
    assert!(
        run.stdout
            .contains(&format!("schema version 1 -> {latest}")),
        "{}",
        run.stdout
    );
    assert_eq!(store.int("PRAGMA user_version"), latest);
    assert_eq!(store.counts(), (feeds, entries, stories));
    assert_eq!(titles(&store), before);

    // The pre-existing entries were indexed by the migration.
    assert_eq!(store.int("SELECT count(*) FROM entries_fts"), entries);
    let run = store.query("search", &["rotterdam", "--json"]);
    let hits = json_lines(run.assert_ok());
    assert_eq!(
        hits.len(),
        2,
        "the wire text and Eurodesk's retitled copy: {}",
        run.stdout
    );
    assert_eq!(store.int("SELECT count(*) FROM entry_details"), entries);
    assert_eq!(store.int("SELECT count(*) FROM story_copies"), entries);
    store.int("SELECT count(*) FROM recent_stories");

    // The migrated store takes new entries: the digest's summary joins the
    // port strike story stored by the first schema, and is searchable.
    store.ingest_fixtures(&["digest.atom"]).assert_ok();
    let port = store.story_of(guid::WIRE_FULL);
    assert_eq!(store.story_of(guid::DIGEST_SUMMARY), port);
    assert_eq!(
        store.int("SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'rotterdam'"),
        3
    );
    assert_eq!(store.int("SELECT count(*) FROM entries_fts"), entries + 3);
    // Opening it again migrates nothing and changes nothing.
    store.query("migrate", &[]).assert_ok();
    assert_eq!(store.int("SELECT count(*) FROM entries_fts"), entries + 3);
}
