//! Readers of a store while `feedfold ingest` writes to it: an open read
//! transaction neither blocks the writer nor sees its work, and no reader
//! ever sees half a feed document.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::DateTime;

use crate::common::feeds::{Feed, Item};
use crate::common::fixtures::GOOD_ENTRIES;
use crate::common::{assert_consistent, feedfold, TestStore, RUN_TIMEOUT};

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
    assert_consistent(&reader);
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
    // 2026-03-12T00:00:00Z: items are a minute apart within the day.
    let day = DateTime::from_timestamp(1_773_273_600, 0).expect("2026-03-12");
    let items: Vec<Item> = (0..n)
        .map(|i| {
            let words: Vec<String> = (0..60)
                .map(|k| format!("{}{}", WORDS[next() % WORDS.len()], (next() + k) % 97))
                .collect();
            let at = chrono::Duration::minutes((((i / 60) % 24) * 60 + i % 60) as i64);
            Item::new(
                &format!("{name}-{i}"),
                &format!("{name} item {i} {}", words[..4].join(" ")),
                &format!("{}.", words.join(" ")),
                day + at,
            )
        })
        .collect();
    Feed::new(name)
        .self_url(&format!("https://{name}.example.com/feed"))
        .items(items)
        .rss()
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
        assert!(start.elapsed() < RUN_TIMEOUT, "ingest hangs");
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
