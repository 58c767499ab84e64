//! Micro-benchmarks of feedfold's hot pieces, on real Reuters-21578 text
//! (`../shared/corpus/reuters21578`), with [divan](https://docs.rs/divan).
//!
//! Run: `cargo bench --bench micro` (all groups), or pass divan's name
//! filter, e.g. `cargo bench --bench micro -- parse`.
//!
//! Groups (divan's table; bytes and items per second where a counter is set):
//! - `parse`: feed-rs 3 parsing (`feed_rs::parser::parse`, default settings)
//!   of a 50-entry RSS 2.0 and a 50-entry Atom document (full text, one
//!   Reuters story per entry), and feedfold's whole
//!   `feedfold::normalizer::normalize` of the same documents (decode,
//!   fix-ups, parse, sanitize, HTML to text, features).
//! - `sanitize`: `sanitize_html`, `html_to_text` and `looks_like_html` of
//!   `src/normalizer/html.rs` on one entry's HTML content (the story of
//!   median length).
//! - `fingerprint`: `detector::features::extract` of that entry (title +
//!   text) and `extract_document` of 50 entries.
//! - `lookup`: one `CandidateIndex::candidates` call and one
//!   `Detector::matches` call (candidates + verification) against an index
//!   of 1,000,000 entries, for a query that is a copy of an indexed story
//!   and for an unrelated one (a held-out story). The 1M entries are
//!   derived from the real stories' features (see [`derive_features`] and
//!   [`build_lookup_detector`]), spread over 2,000 feeds and over time.
//! - `events`: the event-level searches in a full grouping window, the
//!   window of `support`'s generated 20,000-entry store (~16,000 entries,
//!   ~6,400 events, loaded by `Window::reload` as the writer loads it;
//!   the store is built and cached under `target/bench-cache/` the first
//!   time): `place`, `Detector::place_event` of a new story (what the
//!   writer runs for every story an entry starts), and `merge_search`,
//!   `Events::mergeable` of an event of the window (what it runs after
//!   every join). One call per sample, 2,000 different stories or events;
//!   the mean is what a pipeline pays per call.
//! - `store`: `Store::ingest` of one normalized 50-entry document into a
//!   fresh store, and into a store already holding every Reuters story the loader keeps (~17.5k entries, built
//!   once per run); divan's items/s is entries per second.
//!
//! Before divan's table the bench prints the 1M index's build time and the
//! process's peak RSS (VmHWM), then one line per lookup kind with p50, p99
//! and max of 10,000 individually timed lookups (`std::time::Instant`):
//! `lookup percentiles (1M entries, 10000 lookups): candidates/copy p50 ...`.
//! The target is p99 under 50 µs. This measurement runs when the bench is
//! run by `cargo bench` with no name filter or a filter naming `lookup`;
//! set `MICRO_PERCENTILES=0` to skip it. A last line tells how many indexed
//! entries share a counted key with a query, which the lookup cost follows.
//! The loaded store is filled before the table too (its load time is printed).
//!
//! No network is used; stores live in temporary directories.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use divan::counter::{BytesCount, ItemsCount};
use divan::{black_box, Bencher};

use feedfold::detector::events::StoryVector;
use feedfold::detector::features::{extract, extract_document, EntryText, Features};
use feedfold::detector::{Arrival, CandidateIndex, Detector, GroupingConfig, Indexed};
use feedfold::model::{NormalizedFeed, RawDocument};
use feedfold::normalizer::html::{html_to_text, looks_like_html, sanitize_html};
use feedfold::normalizer::{normalize, Identity};
use feedfold::store::window::Window;
use feedfold::store::{Store, WriterThread};

const PER_FEED: usize = 50;

// ---------------------------------------------------------------------------
// Reuters loading (tests/benches/support) and feed wrapping.

#[path = "support/mod.rs"]
mod support;

use support::{load, peak_rss_mb, xml, Story};

/// The body as HTML paragraphs, as the feeds carry it.
fn html(story: &Story) -> String {
    story
        .paragraphs()
        .iter()
        .map(|p| format!("<p>{}</p>", xml(p)))
        .collect()
}

/// The body as plain text, one paragraph per line.
fn text(story: &Story) -> String {
    story.paragraphs().join("\n")
}

fn unix_time(story: &Story) -> i64 {
    DateTime::parse_from_rfc3339(&story.date).map_or(0, |d| d.timestamp())
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/reuters21578")
}

/// One feed document of `stories` (RSS 2.0 or Atom, full text) from outlet `n`.
fn feed_document(stories: &[Story], n: usize, atom: bool) -> String {
    let mut doc = String::new();
    if atom {
        doc.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">");
        doc.push_str(&format!("<title>Outlet {n}</title><id>urn:outlet:{n}</id><link rel=\"self\" href=\"https://outlet{n}.bench.test/atom\"/>\n"));
    } else {
        doc.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>");
        doc.push_str(&format!("<title>Outlet {n}</title><link>https://outlet{n}.bench.test/</link><atom:link rel=\"self\" href=\"https://outlet{n}.bench.test/rss\"/>\n"));
    }
    for s in stories {
        let link = format!("https://outlet{n}.bench.test/news/{}", s.id);
        let html = html(s);
        if atom {
            doc.push_str(&format!(
                "<entry><title>{}</title><id>{link}</id><link href=\"{link}\"/><published>{}</published><content type=\"html\">{}</content></entry>\n",
                xml(&s.title), s.date, xml(&html)
            ));
        } else {
            doc.push_str(&format!(
                "<item><title>{}</title><link>{link}</link><guid>{link}</guid><pubDate>{}</pubDate><description>{}</description></item>\n",
                xml(&s.title),
                DateTime::parse_from_rfc3339(&s.date).map(|d| d.to_rfc2822()).unwrap_or_default(),
                xml(&html)
            ));
        }
    }
    doc.push_str(if atom {
        "</feed>\n"
    } else {
        "</channel></rss>\n"
    });
    doc
}

fn raw_document(text: &str, name: &str) -> RawDocument {
    RawDocument {
        name: name.to_string(),
        fetched_url: None,
        path: None,
        http_charset: None,
        bytes: text.as_bytes().to_vec(),
    }
}

fn normalize_document(text: &str, feed_url: &str, now: DateTime<Utc>) -> NormalizedFeed {
    let identity = Identity {
        feed_url: Some(feed_url),
        ..Identity::default()
    };
    normalize(&raw_document(text, feed_url), &identity, now).expect("the bench document normalizes")
}

// ---------------------------------------------------------------------------
// Shared fixtures, built lazily once per process.

struct Fixtures {
    stories: Vec<Story>,
    /// 50-entry RSS document of stories 0..50, and Atom of stories 50..100.
    rss: String,
    atom: String,
    /// Index of the story of median body length.
    median: usize,
}

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let stories = load(&corpus_dir(), usize::MAX);
        assert!(
            stories.len() >= 2 * PER_FEED,
            "reuters21578 gave only {} stories",
            stories.len()
        );
        let rss = feed_document(&stories[..PER_FEED], 0, false);
        let atom = feed_document(&stories[PER_FEED..2 * PER_FEED], 1, true);
        let mut by_len: Vec<usize> = (0..stories.len()).collect();
        by_len.sort_by_key(|i| stories[*i].body.len());
        let median = by_len[by_len.len() / 2];
        Fixtures {
            stories,
            rss,
            atom,
            median,
        }
    })
}

fn document(format: &str) -> &'static str {
    match format {
        "rss" => &fixtures().rss,
        "atom" => &fixtures().atom,
        other => panic!("unknown format {other}"),
    }
}

// ---------------------------------------------------------------------------
// 1. parse

mod parse {
    use super::*;

    /// feed-rs alone, default settings.
    #[divan::bench(args = ["rss", "atom"])]
    fn feed_rs(bencher: Bencher, format: &str) {
        let doc = document(format);
        bencher
            .counter(BytesCount::of_str(doc))
            .counter(ItemsCount::new(PER_FEED))
            .bench(|| {
                feed_rs::parser::parse(black_box(doc.as_bytes())).expect("feed-rs parses it")
            });
    }

    /// feedfold's whole normalizer: decode, fix-ups, parse, sanitize, text, features.
    #[divan::bench(args = ["rss", "atom"])]
    fn normalize(bencher: Bencher, format: &str) {
        let doc = document(format);
        let raw = raw_document(doc, "bench");
        let identity = Identity {
            feed_url: Some("https://outlet.bench.test/feed"),
            ..Identity::default()
        };
        let now = Utc::now();
        bencher
            .counter(BytesCount::of_str(doc))
            .counter(ItemsCount::new(PER_FEED))
            .bench(|| {
                feedfold::normalizer::normalize(black_box(&raw), &identity, now)
                    .expect("the bench document normalizes")
            });
    }
}

// ---------------------------------------------------------------------------
// 2. sanitize (src/normalizer/html.rs)

mod sanitize {
    use super::*;

    fn entry_html() -> String {
        let f = fixtures();
        html(&f.stories[f.median])
    }

    #[divan::bench]
    fn sanitize_html(bencher: Bencher) {
        let html = entry_html();
        let base = url::Url::parse("https://outlet.bench.test/news/1").expect("base URL");
        bencher
            .counter(BytesCount::of_str(&html))
            .bench(|| super::sanitize_html(black_box(&html), Some(&base)));
    }

    #[divan::bench]
    fn html_to_text(bencher: Bencher) {
        let html = entry_html();
        bencher
            .counter(BytesCount::of_str(&html))
            .bench(|| super::html_to_text(black_box(&html)));
    }

    #[divan::bench]
    fn looks_like_html(bencher: Bencher) {
        let html = entry_html();
        bencher
            .counter(BytesCount::of_str(&html))
            .bench(|| super::looks_like_html(black_box(&html)));
    }
}

// ---------------------------------------------------------------------------
// 3. fingerprint (src/detector/features.rs)

mod fingerprint {
    use super::*;

    #[divan::bench]
    fn extract(bencher: Bencher) {
        let f = fixtures();
        let story = &f.stories[f.median];
        let text = text(story);
        bencher
            .counter(BytesCount::new(story.title.len() + text.len()))
            .bench(|| super::extract(black_box(&story.title), black_box(&text)));
    }

    #[divan::bench]
    fn extract_document(bencher: Bencher) {
        let f = fixtures();
        let texts: Vec<(String, String)> = f.stories[..PER_FEED]
            .iter()
            .map(|s| (s.title.clone(), text(s)))
            .collect();
        let entries: Vec<EntryText<'_>> = texts
            .iter()
            .map(|(title, text)| EntryText { title, text })
            .collect();
        let bytes: usize = texts.iter().map(|(t, x)| t.len() + x.len()).sum();
        bencher
            .counter(BytesCount::new(bytes))
            .counter(ItemsCount::new(PER_FEED))
            .bench(|| super::extract_document(black_box(&entries), Some("Outlet 0")));
    }
}

// ---------------------------------------------------------------------------
// 4. candidate lookup at 1M entries

/// Entries in the lookup benchmark's index.
const INDEX_ENTRIES: usize = 1_000_000;
/// Feeds the indexed entries are spread over.
const INDEX_FEEDS: u64 = 2_000;
/// The feed of every query: no indexed entry belongs to it.
const QUERY_FEED: i64 = 0;
/// Lookups timed one by one for the percentiles.
const TIMED_LOOKUPS: usize = 10_000;

/// SplitMix64: a small, fixed pseudo-random generator (deterministic runs).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A derived entry's features: a real story's features with 10–40% of its
/// word pairs replaced by fresh pseudo-random hashes (the same replacement
/// in the lede, so the lede stays a subset of the pairs) and 0–3 SimHash
/// bits flipped. Title words, figures and length are kept.
fn derive_features(base: &Features, seed: u64) -> Features {
    let mut rng = SplitMix(seed);
    let share = 0.10 + 0.30 * (rng.next() % 1_000) as f64 / 1_000.0;
    let threshold = (share * f64::from(u32::MAX)) as u64;
    let salt = rng.next();
    let replace = |k: &u32| -> u32 {
        let h = mix(u64::from(*k) ^ salt);
        if h & 0xffff_ffff < threshold {
            (h >> 32) as u32
        } else {
            *k
        }
    };
    let mut shingles: Vec<u32> = base.shingles.iter().map(replace).collect();
    shingles.sort_unstable();
    shingles.dedup();
    let mut lede: Vec<u32> = base.lede.iter().map(replace).collect();
    lede.sort_unstable();
    lede.dedup();
    let mut narrative: Vec<u32> = base.narrative.iter().map(replace).collect();
    narrative.sort_unstable();
    narrative.dedup();
    let mut simhash = base.simhash;
    for _ in 0..rng.next() % 4 {
        simhash ^= 1 << (rng.next() % 64);
    }
    Features {
        simhash,
        shingles,
        narrative,
        lede,
        ..base.clone()
    }
}

/// A real story the index is derived from.
struct Base {
    features: Features,
    time: i64,
}

/// Builds the detector whose index holds `entries` entries derived from
/// `bases`. This is the only code that knows how entries are put into the
/// index (`Indexed`, `Detector::index`), so that it alone follows the
/// index's rewrite.
///
/// Entry `i` derives from base `i % bases.len()` (so each story has about
/// `entries / bases.len()` copies, ~64 for the ~15.7k bases); copy `c` of a story
/// is dated `c - copies/2` days (±6 h) from the story's date, so a 72 h
/// window holds about 6 of them; feeds are spread pseudo-randomly over
/// 2,000 feeds; copies dated within the same 3 days form one story.
fn build_lookup_detector(bases: &[Base], entries: usize) -> Detector {
    let mut detector = Detector::new(GroupingConfig::default());
    let copies = entries.div_ceil(bases.len());
    for i in 0..entries {
        let b = i % bases.len();
        let copy = i / bases.len();
        let base = &bases[b];
        let mut rng = SplitMix(i as u64 ^ 0x5eed);
        let jitter = (rng.next() % 43_200) as i64 - 21_600;
        let time = base.time + (copy as i64 - (copies / 2) as i64) * 86_400 + jitter;
        let id = i as i64 + 1;
        let feed = (rng.next() % INDEX_FEEDS) as i64 + 1;
        detector.insert(
            id,
            Indexed {
                outlet: feed,
                link: 0,
                story_id: (b * 1_000 + copy / 3) as i64 + 1,
                time,
                features: derive_features(&base.features, i as u64),
            },
        );
    }
    detector
}

/// The index of a detector.
fn lookup_index(detector: &Detector) -> &CandidateIndex {
    detector.index()
}

/// One lookup query.
struct Query {
    features: Features,
    time: i64,
}

struct Lookup {
    detector: Detector,
    /// Copies of indexed stories: the story with its last paragraph cut and
    /// " - Outlet" on the title, dated 3 h after it.
    copies: Vec<Query>,
    /// Held-out stories (every tenth), never indexed.
    unrelated: Vec<Query>,
}

fn lookup_fixture() -> &'static Lookup {
    static L: OnceLock<Lookup> = OnceLock::new();
    L.get_or_init(|| {
        let f = fixtures();
        let started = Instant::now();
        let mut bases = Vec::new();
        let mut copies = Vec::new();
        let mut unrelated = Vec::new();
        for (i, s) in f.stories.iter().enumerate() {
            let text = text(s);
            let time = unix_time(s);
            if i % 10 == 9 {
                unrelated.push(Query {
                    features: extract(&s.title, &text),
                    time,
                });
                continue;
            }
            bases.push(Base {
                features: extract(&s.title, &text),
                time,
            });
            if copies.len() < TIMED_LOOKUPS && i % 10 < 7 {
                let mut lines: Vec<&str> = text.lines().collect();
                if lines.len() > 2 {
                    lines.pop();
                }
                copies.push(Query {
                    features: extract(&format!("{} - Outlet", s.title), &lines.join("\n")),
                    time: time + 3 * 3_600,
                });
            }
        }
        let extracted = started.elapsed();
        let started = Instant::now();
        let detector = build_lookup_detector(&bases, INDEX_ENTRIES);
        println!(
            "lookup index: {} entries derived from {} Reuters stories ({} copy and {} unrelated queries; features extracted in {:.1} s), built in {:.1} s; peak RSS {:.0} MB",
            lookup_index(&detector).len(),
            bases.len(),
            copies.len(),
            unrelated.len(),
            extracted.as_secs_f64(),
            started.elapsed().as_secs_f64(),
            peak_rss_mb()
        );
        Lookup {
            detector,
            copies,
            unrelated,
        }
    })
}

fn queries(kind: &str) -> &'static [Query] {
    let l = lookup_fixture();
    match kind {
        "copy" => &l.copies,
        "unrelated" => &l.unrelated,
        other => panic!("unknown query kind {other}"),
    }
}

fn candidates(detector: &Detector, q: &Query) -> Vec<i64> {
    let config = detector.config();
    lookup_index(detector).candidates(
        &q.features,
        q.time,
        config.window_seconds(),
        config.max_candidates,
    )
}

mod lookup {
    use super::*;

    /// Cycles through the queries of one kind, one per iteration.
    fn bench_queries(bencher: Bencher, kind: &str, run: impl Fn(&Detector, &Query) -> usize) {
        let detector = &lookup_fixture().detector;
        let qs = queries(kind);
        let next = AtomicUsize::new(0);
        bencher
            .with_inputs(|| &qs[next.fetch_add(1, Ordering::Relaxed) % qs.len()])
            .bench_local_refs(|q| run(detector, q));
    }

    /// `CandidateIndex::candidates` alone.
    #[divan::bench(args = ["copy", "unrelated"])]
    fn candidates(bencher: Bencher, kind: &str) {
        bench_queries(bencher, kind, |d, q| {
            super::candidates(d, black_box(q)).len()
        });
    }

    /// `Detector::matches`: candidates and their verification.
    #[divan::bench(args = ["copy", "unrelated"])]
    fn matches(bencher: Bencher, kind: &str) {
        bench_queries(bencher, kind, |d, q| {
            d.matches(
                black_box(&q.features),
                Arrival {
                    time: q.time,
                    outlet: QUERY_FEED,
                    link: 0,
                },
            )
            .matches
            .len()
        });
    }
}

/// Times `TIMED_LOOKUPS` lookups one by one per kind and prints p50/p99/max.
fn lookup_percentiles() {
    let l = lookup_fixture();
    let d = &l.detector;
    let mut line = format!("lookup percentiles (1M entries, {TIMED_LOOKUPS} lookups):");
    let mut found = Vec::new();
    for (op, kind) in [
        ("candidates", "copy"),
        ("candidates", "unrelated"),
        ("matches", "copy"),
        ("matches", "unrelated"),
    ] {
        let qs = queries(kind);
        let mut times: Vec<Duration> = Vec::with_capacity(TIMED_LOOKUPS);
        let mut hits = 0usize;
        for q in qs.iter().cycle().take(TIMED_LOOKUPS) {
            let started = Instant::now();
            let n = if op == "candidates" {
                black_box(candidates(d, black_box(q))).len()
            } else {
                black_box(d.matches(
                    black_box(&q.features),
                    Arrival {
                        time: q.time,
                        outlet: QUERY_FEED,
                        link: 0,
                    },
                ))
                .matches
                .len()
            };
            times.push(started.elapsed());
            hits += usize::from(n > 0);
        }
        times.sort_unstable();
        let us = |p: f64| {
            let i = ((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1;
            times[i].as_secs_f64() * 1e6
        };
        line.push_str(&format!(
            " {op}/{kind} p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs;",
            us(0.50),
            us(0.99),
            us(1.0)
        ));
        found.push(format!("{op}/{kind} {hits}"));
    }
    println!("{}", line.trim_end_matches(';'));
    println!(
        "lookups with a non-empty result (of {TIMED_LOOKUPS}): {}",
        found.join(", ")
    );
    // What the lookup cost follows: how many indexed entries share a
    // counted key with the query (any feed, any date, no limit), and how
    // many of them are within the window.
    for kind in ["copy", "unrelated"] {
        let qs = queries(kind);
        let mut all: Vec<usize> = Vec::new();
        let mut in_window: Vec<usize> = Vec::new();
        for q in qs.iter().take(1_000) {
            let index = lookup_index(d);
            all.push(
                index
                    .candidates(&q.features, q.time, i64::MAX / 2, usize::MAX)
                    .len(),
            );
            in_window.push(
                index
                    .candidates(&q.features, q.time, d.config().window_seconds(), usize::MAX)
                    .len(),
            );
        }
        all.sort_unstable();
        in_window.sort_unstable();
        let pct = |v: &[usize], p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
        println!(
            "entries sharing a counted key with a {kind} query ({} queries): p50 {}, p99 {}; of them within the window: p50 {}, p99 {}",
            all.len(),
            pct(&all, 0.5),
            pct(&all, 0.99),
            pct(&in_window, 0.5),
            pct(&in_window, 0.99)
        );
    }
}

// ---------------------------------------------------------------------------
// 5. store batch insert

/// A store in a temporary directory; dropping it closes the writer (joined)
/// before the directory is removed.
struct TempStore {
    store: Option<Store>,
    writer: Option<WriterThread>,
    _dir: tempfile::TempDir,
}

impl TempStore {
    fn open() -> TempStore {
        let dir = tempfile::tempdir().expect("temp dir for the store");
        let (store, writer) = Store::open(&dir.path().join("bench.db"), GroupingConfig::default())
            .expect("open the bench store");
        TempStore {
            store: Some(store),
            writer: Some(writer),
            _dir: dir,
        }
    }

    fn store(&self) -> &Store {
        self.store.as_ref().expect("store is open")
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        self.store.take();
        if let Some(w) = self.writer.take() {
            w.join();
        }
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// The normalized 50-entry RSS document the store benches ingest (stories
/// 0..50, which the loaded store already holds from another feed: the entries
/// join those stories).
fn bench_feed() -> &'static NormalizedFeed {
    static FEED: OnceLock<NormalizedFeed> = OnceLock::new();
    FEED.get_or_init(|| {
        normalize_document(
            &fixtures().rss,
            "https://newcomer.bench.test/rss",
            Utc::now(),
        )
    })
}

/// A copy of [`bench_feed`] under a feed URL not used before in this process,
/// so that every ingest stores 50 new entries.
fn fresh_feed() -> NormalizedFeed {
    static N: AtomicUsize = AtomicUsize::new(0);
    let mut feed = bench_feed().clone();
    feed.url = format!(
        "https://newcomer{}.bench.test/rss",
        N.fetch_add(1, Ordering::Relaxed)
    );
    feed
}

/// The store already holding every Reuters story the loader keeps (~17.5k entries), ingested
/// as 50-entry documents of alternating RSS and Atom; taken out and closed
/// at the end of `main`.
static LOADED: Mutex<Option<TempStore>> = Mutex::new(None);

fn with_loaded_store<T>(f: impl FnOnce(&Store) -> T) -> T {
    let mut slot = LOADED.lock().expect("loaded store lock");
    let loaded = slot.get_or_insert_with(|| {
        let started = Instant::now();
        let s = TempStore::open();
        let now = Utc::now();
        let mut entries = 0;
        for (n, chunk) in fixtures().stories.chunks(PER_FEED).enumerate() {
            let doc = feed_document(chunk, n, n % 2 == 1);
            let feed = normalize_document(&doc, &format!("https://outlet{n}.bench.test/"), now);
            let report = runtime()
                .block_on(s.store().ingest(feed))
                .expect("ingest into the loaded store");
            entries += report.new;
        }
        println!(
            "store: {entries} entries loaded in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        s
    });
    f(loaded.store())
}

mod store {
    use super::*;

    /// One 50-entry document into a fresh, empty store.
    #[divan::bench(sample_count = 30)]
    fn ingest_fresh(bencher: Bencher) {
        bencher
            .counter(ItemsCount::new(PER_FEED))
            .with_inputs(|| (TempStore::open(), fresh_feed()))
            .bench_local_values(|(s, feed)| {
                let report = runtime()
                    .block_on(s.store().ingest(feed))
                    .expect("ingest into a fresh store");
                assert_eq!(report.new, PER_FEED);
                s
            });
    }

    /// One 50-entry document into the store holding the ~17.5k loaded stories.
    #[divan::bench(sample_count = 30)]
    fn ingest_into_loaded(bencher: Bencher) {
        with_loaded_store(|store| {
            bencher
                .counter(ItemsCount::new(PER_FEED))
                .with_inputs(fresh_feed)
                .bench_local_values(|feed| {
                    let report = runtime()
                        .block_on(store.ingest(feed))
                        .expect("ingest into the loaded store");
                    assert_eq!(report.new, PER_FEED);
                });
        });
    }
}

// ---------------------------------------------------------------------------
// 6. event search in a full grouping window

/// Stories placed, and events searched, per fixture.
const EVENT_QUERIES: usize = 2_000;

/// The grouping window of a generated store, as the writer holds it, with
/// new stories to place and the window's events to search for merges.
struct EventsFixture {
    window: Window,
    /// New stories (generated as `growth` does: the next events of the
    /// store, not yet stored): their event vectors and dates.
    stories: Vec<(StoryVector, i64)>,
    /// The events of the window, in id order.
    events: Vec<i64>,
}

/// The window of the generated 20,000-entry store of `support` (built and
/// cached under `target/bench-cache/` the first time): its last 72 hours
/// hold ~16,000 entries, as in every larger store (see `growth`).
fn events_fixture() -> &'static EventsFixture {
    static E: OnceLock<EventsFixture> = OnceLock::new();
    E.get_or_init(|| {
        let started = Instant::now();
        let pool = support::Pool::load().expect("the Reuters corpus");
        let cached = support::cached_store(&pool, 20_000);
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = support::copy_store(&cached, dir.path());
        support::migrate(&db);
        let conn = rusqlite::Connection::open(&db).expect("open the copied store");
        let mut window = Window::new(GroupingConfig::default().into());
        window.reload(&conn).expect("load the window");
        let (newest, last_event): (i64, String) = conn
            .query_row(
                "SELECT max(unixepoch(published)), max(guid) FROM entries",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("the newest entry");
        let last_event = support::parse_link(&last_event).map_or(0, |(e, _)| e);
        let mut stmt = conn
            .prepare("SELECT DISTINCT story_id FROM entries WHERE unixepoch(published) >= ?1")
            .expect("prepare");
        let from = newest - GroupingConfig::default().window_seconds();
        let stories: Vec<i64> = stmt
            .query_map([from], |r| r.get(0))
            .expect("stories of the window")
            .collect::<Result<_, _>>()
            .expect("story ids");
        let detector = window.detector();
        let mut events: Vec<i64> = stories.iter().filter_map(|s| detector.event_of(*s)).collect();
        events.sort_unstable();
        events.dedup();
        let new: Vec<(StoryVector, i64)> = (0..EVENT_QUERIES as u64)
            .map(|k| {
                let e = last_event + 1 + k;
                let item = pool.item(e, 0, (k as usize * 7) % support::FEEDS, newest + 60, mix(e));
                let features = extract(&item.title, &item.text());
                (detector.story_vector(&features), newest + 60)
            })
            .collect();
        println!(
            "events window: {} entries, {} events of {} stories in the last 72 hours, {} new stories; built in {:.1} s",
            detector.len(),
            events.len(),
            stories.len(),
            new.len(),
            started.elapsed().as_secs_f64()
        );
        drop(stmt);
        drop(conn);
        EventsFixture {
            window,
            stories: new,
            events,
        }
    })
}

mod events {
    use super::*;
    use feedfold::detector::similarity::Rarity;

    /// `Detector::place_event` of a new story (no shared text): the event
    /// search the writer runs for every story an entry starts.
    #[divan::bench(sample_count = EVENT_QUERIES as u32, sample_size = 1)]
    fn place(bencher: Bencher) {
        let f = events_fixture();
        let detector = f.window.detector();
        let next = AtomicUsize::new(0);
        bencher.bench(|| {
            let (vector, time) = &f.stories[next.fetch_add(1, Ordering::Relaxed) % f.stories.len()];
            detector.place_event(black_box(vector), *time, &[])
        });
    }

    /// `Events::mergeable` of an event of the window: the merge search the
    /// writer runs after every entry or story joins an event.
    #[divan::bench(sample_count = EVENT_QUERIES as u32, sample_size = 1)]
    fn merge_search(bencher: Bencher) {
        let f = events_fixture();
        let detector = f.window.detector();
        let weight = |k: u32| detector.index().term(k) as f32;
        let next = AtomicUsize::new(0);
        bencher.bench(|| {
            let event = f.events[next.fetch_add(1, Ordering::Relaxed) % f.events.len()];
            detector
                .events()
                .mergeable(black_box(event), detector.events_config(), &weight)
        });
    }
}

/// Whether divan's arguments select the benchmarks under `path` (e.g.
/// `lookup::`): no name filter, or one that `path` contains or that
/// contains `path`'s last part; and no `--skip` that does. Divan's filters
/// are the arguments that are not options or option values; they are
/// regular expressions, so this is an approximation for plain names.
fn selected(args: &[String], path: &str) -> bool {
    const WITH_VALUE: &[&str] = &[
        "--format",
        "--color",
        "--skip",
        "--sort",
        "--sortr",
        "--timer",
        "--sample-count",
        "--sample-size",
        "--threads",
        "--min-time",
        "--max-time",
        "--skip-ext-time",
        "--items-count",
        "--bytes-count",
        "--bytes-format",
        "--chars-count",
        "--cycles-count",
    ];
    let last = path
        .trim_end_matches(':')
        .rsplit("::")
        .next()
        .unwrap_or(path);
    let hits = |f: &str| path.contains(f) || f.contains(last);
    let mut filters = Vec::new();
    let mut after: Option<&str> = None;
    for a in args.iter().skip(1) {
        if let Some(option) = after.take() {
            if option == "--skip" && hits(a) {
                return false;
            }
        } else if let Some(skipped) = a.strip_prefix("--skip=") {
            if hits(skipped) {
                return false;
            }
        } else if a.starts_with('-') {
            after = WITH_VALUE.iter().find(|o| **o == a.as_str()).copied();
        } else {
            filters.push(a.as_str());
        }
    }
    filters.is_empty() || filters.iter().any(|f| hits(f))
}

fn main() {
    if !corpus_dir().exists() {
        println!("micro bench: {} not found; skipped", corpus_dir().display());
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let benching = args.iter().any(|a| a == "--bench");
    let wanted = std::env::var("MICRO_PERCENTILES").as_deref() != Ok("0");
    if benching && wanted && selected(&args, "lookup::") {
        lookup_percentiles();
    }
    if benching && selected(&args, "events::") {
        // Load the window now, so its line does not land inside divan's table.
        events_fixture();
    }
    if benching && selected(&args, "store::ingest_into_loaded") {
        // Load the store of every story now, so its line does not land inside divan's table.
        with_loaded_store(|_| ());
    }
    divan::main();
    // Close the loaded store (joins its writer, removes its directory).
    if let Ok(mut loaded) = LOADED.lock() {
        drop(loaded.take());
    }
}
