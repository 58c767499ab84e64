//! Crashes and readers against the running daemon: `kill -9` at random
//! moments of a heavy ingest loses nothing and converges on what an
//! uninterrupted run stores, and a long reader neither stops ingestion nor
//! keeps the WAL large once it lets go. The feeds are synthetic
//! syndication: F feeds carrying copies of the same stories.
//!
//! Figures are printed (`cargo test --test daemon crash -- --nocapture`).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::DateTime;
use feedfold::store;

use super::process::{
    check_store, count, entry_count, wait_for_entries, write_config, Daemon, PER_HOST_8,
};
use crate::common::feeds::{Feed, Item};
use crate::common::server::{Response, Server};

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "ba", "de", "fu", "go", "hi", "ja", "ke", "lu",
    "ma", "no", "pe", "qui", "sa", "te", "vu", "wo",
];

/// A deterministic pseudo-random word for (story, position).
fn word(story: u64, i: u64) -> String {
    let mut x = story
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(i.wrapping_mul(0xbf58_476d_1ce4_e5b9))
        ^ 0x94d0_49bb_1331_11eb;
    let mut w = String::new();
    for _ in 0..3 {
        x ^= x >> 29;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^= x >> 32;
        w.push_str(SYLLABLES[(x % SYLLABLES.len() as u64) as usize]);
    }
    w
}

/// Feed `f`'s document with stories `0..stories`: each story's copy has
/// the same title and text in every feed, dated a second apart per feed.
fn syndicated_feed(f: usize, stories: usize, words: u64) -> String {
    let items = (0..stories).map(|k| {
        let k64 = k as u64;
        let title: Vec<String> = (0..6).map(|i| word(k64, i)).collect();
        let text: Vec<String> = (0..words).map(|i| word(k64, 100 + i)).collect();
        let at =
            DateTime::from_timestamp(1_773_136_800 + k as i64 * 600 + f as i64, 0).expect("date");
        Item::new(&format!("f{f}-s{k}"), &title.join(" "), &text.join(" "), at)
    });
    Feed::new(&format!("Feed {f}"))
        .site("http://example.org/")
        .items(items)
        .rss()
}

/// Serves `/feed/F` with `stories` stories of `words` words.
pub fn syndication_server(stories: Arc<AtomicUsize>, words: u64) -> Server {
    Server::handler(move |req| {
        let f: usize = req
            .path
            .strip_prefix("/feed/")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let doc = syndicated_feed(f, stories.load(Ordering::SeqCst), words);
        Response::ok(doc).header("Content-Type", "application/rss+xml")
    })
}

/// Entries (feed URL, guid and content) and the story partition, in an
/// order-independent form.
type Snapshot = (
    Vec<(String, String, String, String, i64, Vec<u8>)>,
    Vec<Vec<String>>,
);

fn snapshot(db: &Path) -> Snapshot {
    let conn = store::open_reader(db).expect("reader");
    let mut stmt = conn
        .prepare(
            "SELECT f.url, e.guid, e.title, e.published, e.content_hash, e.features
               FROM entries e JOIN feeds f ON f.id = e.feed_id ORDER BY f.url, e.guid",
        )
        .expect("prepare");
    let entries = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    let mut stmt = conn
        .prepare(
            "SELECT e.story_id, f.url || ' ' || e.guid, s.representative_id = e.id
               FROM entries e JOIN feeds f ON f.id = e.feed_id JOIN stories s ON s.id = e.story_id
              ORDER BY e.story_id",
        )
        .expect("prepare");
    let mut stories: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    for (story, member, representative) in rows {
        let v = stories.entry(story).or_default();
        // The representative is marked, so it must agree too.
        v.push(if representative {
            format!("*{member}")
        } else {
            member
        });
    }
    let mut partition: Vec<Vec<String>> = stories
        .into_values()
        .map(|mut v| {
            v.sort();
            v
        })
        .collect();
    partition.sort();
    (entries, partition)
}

/// A small xorshift generator, seeded from the clock (the seed is printed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Waits until the server has answered more than `hits` requests.
fn wait_for_fetch(server: &Server, hits: usize, daemon: &mut Daemon) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.total_hits() == hits {
        assert!(
            Instant::now() < deadline && daemon.alive(),
            "{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn kill_9_during_heavy_ingest_loses_nothing_and_converges() {
    const FEEDS: usize = 4;
    const PER_ROUND: usize = 30;
    const KILLS: usize = 5;
    let total_stories = PER_ROUND * (KILLS + 1);
    let want = (FEEDS * total_stories) as i64;
    let stories = Arc::new(AtomicUsize::new(total_stories));
    let server = syndication_server(stories.clone(), 60);
    let urls: Vec<String> = (0..FEEDS)
        .map(|f| server.url(&format!("/feed/{f}")))
        .collect();

    // The uninterrupted run into a fresh store.
    let dir = tempfile::tempdir().expect("tempdir");
    let (ref_db, ref_config) = (dir.path().join("ref.db"), dir.path().join("ref.toml"));
    write_config(&ref_config, &ref_db, &urls, PER_HOST_8);
    let hits = server.total_hits();
    let mut daemon = Daemon::start(&ref_config, dir.path());
    wait_for_fetch(&server, hits, &mut daemon);
    // From the first fetch to the last entry stored: the ingest itself.
    let ref_time = wait_for_entries(&ref_db, want, Duration::from_secs(60), &mut daemon);
    daemon.stop();
    check_store(&ref_db);
    let reference = snapshot(&ref_db);
    assert_eq!(
        reference.1.len(),
        total_stories,
        "one story per syndicated story"
    );
    assert!(reference.1.iter().all(|s| s.len() == FEEDS));

    // Rounds that each add PER_ROUND stories to every feed, killed at a
    // random moment of their ingest.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    let mut rng = Rng(seed);
    let (db, config) = (dir.path().join("crash.db"), dir.path().join("crash.toml"));
    write_config(&config, &db, &urls, PER_HOST_8);
    // Round r's documents hold (r + 1) / (KILLS + 1) of the reference's
    // stories: its kill lands within that share of the time the reference
    // took from its first fetch to its last entry stored.
    let ref_ms = ref_time.as_millis() as u64;
    let round_ms = |round: usize| (ref_ms * (round as u64 + 1) / (KILLS as u64 + 1)).clamp(10, 800);
    let mut mid_ingest = 0;
    let mut killed_at = Vec::new();
    for round in 0..KILLS {
        stories.store(PER_ROUND * (round + 1), Ordering::SeqCst);
        let before = entry_count(&db);
        let round_want = (FEEDS * PER_ROUND * (round + 1)) as i64;
        let hits = server.total_hits();
        let mut daemon = Daemon::start(&config, dir.path());
        // Wait for the round's first fetch, then a random part of a round's ingest.
        wait_for_fetch(&server, hits, &mut daemon);
        let delay = rng.next() % round_ms(round);
        std::thread::sleep(Duration::from_millis(delay));
        daemon.kill9();
        let stored = check_store(&db);
        assert_eq!(
            stored % PER_ROUND as i64,
            0,
            "every feed document is stored whole or not at all"
        );
        if stored < round_want {
            mid_ingest += 1;
        }
        killed_at.push(format!("+{delay}ms: {before}->{stored}/{round_want}"));
    }
    // The final run completes.
    stories.store(total_stories, Ordering::SeqCst);
    let mut daemon = Daemon::start(&config, dir.path());
    wait_for_entries(&db, want, Duration::from_secs(60), &mut daemon);
    daemon.stop();
    check_store(&db);
    println!(
        "kill -9: seed {seed}, reference ingest {ref_time:?}, {KILLS} kills survived \
         ({mid_ingest} during an ingest): {killed_at:?}"
    );
    assert!(
        mid_ingest >= 1,
        "no kill landed during an ingest: {killed_at:?}"
    );
    let after = snapshot(&db);
    assert_eq!(after.0.len(), reference.0.len());
    assert!(
        after.0 == reference.0,
        "the stored entries differ from the uninterrupted run"
    );
    assert_eq!(
        after.1, reference.1,
        "the stories differ from the uninterrupted run"
    );
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn a_long_reader_does_not_stop_ingestion_and_the_wal_is_truncated_after() {
    const FEEDS: usize = 4;
    const STORIES: usize = 100;
    let want = (FEEDS * STORIES) as i64;
    let server = syndication_server(Arc::new(AtomicUsize::new(STORIES)), 300);
    let urls: Vec<String> = (0..FEEDS)
        .map(|f| server.url(&format!("/feed/{f}")))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, config) = (dir.path().join("wal.db"), dir.path().join("wal.toml"));
    let wal = dir.path().join("wal.db-wal");
    write_config(&config, &db, &urls, PER_HOST_8);
    let mut daemon = Daemon::start(&config, dir.path());
    // The reader takes its snapshot as soon as the store exists.
    let deadline = Instant::now() + Duration::from_secs(10);
    let reader = loop {
        if let Ok(c) = store::open_reader(&db) {
            break c;
        }
        assert!(
            Instant::now() < deadline && daemon.alive(),
            "{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    reader.execute_batch("BEGIN").expect("begin");
    let seen = count(&reader, "SELECT count(*) FROM entries");
    // Ingestion goes on: another connection sees everything arrive.
    let took = wait_for_entries(&db, want, Duration::from_secs(60), &mut daemon);
    // Every re-poll rewrites last_seen; the WAL cannot restart meanwhile.
    let bound = store::WAL_SIZE_LIMIT as u64 + (2 << 20);
    let mut wal_held = 0;
    let held_until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < held_until && wal_held <= bound + (1 << 20) {
        wal_held = wal_held.max(file_len(&wal));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        count(&reader, "SELECT count(*) FROM entries"),
        seen,
        "the reader kept its snapshot"
    );
    reader.execute_batch("COMMIT").expect("end the read");
    drop(reader);
    // After the reader lets go, writes go on for a few seconds. The WAL is
    // truncated at the next document stored; polls come at most
    // `max_interval` (2 s) apart, plus their ingest on a busy machine, so
    // the last 2 s of 6 come after it.
    let mut wal_after = Vec::new();
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        wal_after.push(file_len(&wal));
        std::thread::sleep(Duration::from_millis(50));
    }
    let last = *wal_after.last().unwrap_or(&0);
    let max_after_settle = wal_after[wal_after.len() * 2 / 3..]
        .iter()
        .copied()
        .max()
        .unwrap_or(0);
    println!(
        "long reader: saw {seen} entries while {want} were ingested in {took:?}; WAL {} KiB while held, \
         {} KiB max in the last 2 s after release, {} KiB at the end (limit {} KiB)",
        wal_held / 1024,
        max_after_settle / 1024,
        last / 1024,
        store::WAL_SIZE_LIMIT / 1024
    );
    assert!(daemon.alive());
    daemon.stop();
    check_store(&db);
    // Without readers the writer truncates the WAL after any document
    // that takes it past the limit: it stays within the limit plus one
    // document's pages. The reader kept it from doing so.
    assert!(
        wal_held > bound,
        "the test did not grow the WAL past {bound}: {wal_held}"
    );
    assert!(
        max_after_settle <= bound,
        "the WAL stayed large after the reader let go: {wal_after:?}"
    );
}
