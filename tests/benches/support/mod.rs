//! Shared code of the benchmarks (`ingest`, `growth`, `poll_cycle`):
//! loading the Reuters-21578 wire stories, varying them into distinct
//! copies, rendering feed documents, and building (and caching) large
//! realistic stores.
//!
//! Included by each benchmark with `#[path = "support/mod.rs"] mod support;`;
//! not every benchmark uses every item.
//!
//! ## The synthetic history
//!
//! A store of `n` entries holds the copies of a stream of *events*: event
//! `e` is Reuters story `e mod P` (P = the stories with a body, ~19,000),
//! carried by 1 to 6 of [`FEEDS`] feeds (2.5 on average), each copy with
//! its own guid, link, feed and date, and its own variation of the text
//! (paragraphs dropped, swapped, cut short; see [`vary`]). Events come at a
//! constant rate, 1,000,000 entries per [`DAYS_PER_MILLION`] days, ending
//! at [`END`], so a bigger store is a longer history at the same rate: the
//! 72-hour grouping window holds the same ~16,000 entries in every store
//! that spans 72 hours (20,000 entries and more; a 10,000-entry store spans
//! 43 hours, all of it in the window), and a Reuters story recurs (as a new
//! event) every ~8.6 days, never twice within a window.
//!
//! Stores are written by bulk insert (one transaction, rusqlite) into the
//! schema `Store::open` creates, every column filled as the writer fills it
//! (features from `detector::features::extract`, content hash as the writer
//! computes it, story rows with counts, dates and representative, and an
//! event row per story). Copies of one event form one story, alone in its
//! event, as grouping would make them. They are
//! cached under `target/bench-cache/` by [`GENERATOR`] and size.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use feedfold::detector::features::{self, fnv1a};
use feedfold::detector::GroupingConfig;
use feedfold::fetcher::{Fetcher, HttpConfig, Source};
use feedfold::model::format_time;
use feedfold::pipeline::{ingest_sources, IngestOptions, SourceOutcome};
use feedfold::store::Store;
use rusqlite::{params, Connection};

/// Version of the store generator: part of the cache key, bumped whenever
/// the generated content changes.
pub const GENERATOR: u32 = 2;

/// Feeds in a generated store.
pub const FEEDS: usize = 10_000;

/// Days of history per million entries (the publishing rate).
pub const DAYS_PER_MILLION: f64 = 180.0;

/// The newest event of a generated store: 2026-01-01T00:00:00Z.
pub const END: i64 = 1_767_225_600;

/// Copies per event, picked by hash (mean 2.5).
const COPIES: [usize; 8] = [1, 1, 1, 2, 2, 3, 4, 6];

/// Seconds between two events at the store's rate.
pub fn event_gap() -> f64 {
    DAYS_PER_MILLION * 86_400.0 / 1e6 * 2.5
}

/// One Reuters-21578 story.
pub struct Story {
    /// `NEWID`.
    pub id: String,
    /// Headline.
    pub title: String,
    /// Body text (paragraphs separated by `"\n    "`).
    pub body: String,
    /// Its date moved to 2026 (ISO-8601).
    pub date: String,
}

impl Story {
    /// The body's paragraphs, trimmed, without empty ones.
    pub fn paragraphs(&self) -> Vec<String> {
        self.body
            .split("\n    ")
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|p| !p.is_empty())
            .collect()
    }
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let end = s[start..].find(close)? + start;
    Some(&s[start..end])
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&#3;", "")
}

/// Escapes text for XML.
pub fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn month(m: &str) -> u32 {
    [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ]
    .iter()
    .position(|x| *x == m)
    .map_or(1, |i| i as u32 + 1)
}

/// The Reuters-21578 directory (`../shared/corpus/reuters21578`), if present.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/reuters21578");
    dir.exists().then_some(dir)
}

/// Loads up to `limit` stories (with a title, body and date), in file order.
pub fn load(dir: &Path, limit: usize) -> Vec<Story> {
    let mut out = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("reuters21578 directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sgm"))
        .collect();
    names.sort();
    for name in names {
        let raw = String::from_utf8_lossy(&std::fs::read(&name).expect("read sgm")).into_owned();
        for doc in raw.split("</REUTERS>") {
            let (Some(id), Some(title), Some(body), Some(date)) = (
                between(doc, "NEWID=\"", "\""),
                between(doc, "<TITLE>", "</TITLE>"),
                between(doc, "<BODY>", "</BODY>"),
                between(doc, "<DATE>", "</DATE>"),
            ) else {
                continue;
            };
            // "26-FEB-1987 15:01:01.79" -> 2026-02-26T15:01:01Z
            let d = date.trim();
            let parts: Vec<&str> = d.split([' ', '-', ':', '.']).collect();
            if parts.len() < 6 {
                continue;
            }
            let (Ok(day), Ok(h), Ok(mi), Ok(s)) = (
                parts[0].parse::<u32>(),
                parts[3].parse::<u32>(),
                parts[4].parse::<u32>(),
                parts[5].parse::<u32>(),
            ) else {
                continue;
            };
            if h > 23 || mi > 59 || s > 59 || day > 28 {
                continue;
            }
            out.push(Story {
                id: id.to_string(),
                title: unescape(title),
                body: unescape(body).replace("Reuter\n", ""),
                date: format!(
                    "2026-{:02}-{:02}T{h:02}:{mi:02}:{s:02}Z",
                    month(parts[1]),
                    day
                ),
            });
            if out.len() >= limit {
                return out;
            }
        }
    }
    out
}

/// A stateless 64-bit mix (splitmix64's finalizer): the generators'
/// only randomness, so every run produces the same content.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn mix2(a: u64, b: u64) -> u64 {
    mix(mix(a) ^ b.rotate_left(17))
}

/// One copy's text: the lede paragraph always kept; later paragraphs
/// dropped (15%) or swapped with the next (15%); the last sentence of a
/// paragraph cut (10%); and in 30% of copies the tail cut off, keeping
/// 60-90% of the paragraphs. `seed` picks the variation.
pub fn vary(paragraphs: &[String], seed: u64) -> Vec<String> {
    let mut rng = seed;
    let mut roll = |n: u64| {
        rng = mix(rng);
        rng % n
    };
    let mut out: Vec<String> = Vec::with_capacity(paragraphs.len());
    for (i, p) in paragraphs.iter().enumerate() {
        if i > 0 && roll(100) < 15 {
            continue;
        }
        let mut p = p.clone();
        if i > 0 && roll(100) < 10 {
            if let Some(cut) = p.trim_end_matches('.').rfind(". ") {
                p.truncate(cut + 1);
            }
        }
        out.push(p);
    }
    for i in 1..out.len().saturating_sub(1) {
        if roll(100) < 15 {
            out.swap(i, i + 1);
        }
    }
    if out.len() > 3 && roll(100) < 30 {
        let keep = out.len() * (60 + roll(31) as usize) / 100;
        out.truncate(keep.max(2));
    }
    out
}

/// One entry of a generated feed document.
pub struct Item {
    /// Headline.
    pub title: String,
    /// Link, also the guid.
    pub link: String,
    /// Published date.
    pub published: DateTime<Utc>,
    /// Body paragraphs (plain text).
    pub paragraphs: Vec<String>,
}

impl Item {
    /// The body as HTML, one `<p>` per paragraph.
    pub fn html(&self) -> String {
        self.paragraphs
            .iter()
            .map(|p| format!("<p>{}</p>", xml(p)))
            .collect()
    }

    /// The body as plain text, one paragraph per line (as the normalizer stores it).
    pub fn text(&self) -> String {
        self.paragraphs.join("\n")
    }
}

/// Feed `f`'s identity in generated stores: RSS 2.0 for even `f`, Atom for odd.
pub fn feed_url(f: usize) -> String {
    let kind = if f % 2 == 0 { "rss" } else { "atom" };
    format!("https://outlet{f}.bench.test/{kind}")
}

/// A feed document: RSS 2.0 (`atom` false) or Atom, full text, with this
/// self link (which is the feed's identity when ingested from a file).
pub fn render_feed(title: &str, self_url: &str, atom: bool, items: &[Item]) -> String {
    let mut doc = String::new();
    if atom {
        doc.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">");
        doc.push_str(&format!(
            "<title>{}</title><id>{}</id><link rel=\"self\" href=\"{}\"/>\n",
            xml(title),
            xml(self_url),
            xml(self_url)
        ));
    } else {
        doc.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>");
        doc.push_str(&format!(
            "<title>{}</title><link>{}</link><atom:link rel=\"self\" href=\"{}\"/>\n",
            xml(title),
            xml(self_url),
            xml(self_url)
        ));
    }
    for it in items {
        let link = xml(&it.link);
        let html = xml(&it.html());
        if atom {
            doc.push_str(&format!(
                "<entry><title>{}</title><id>{link}</id><link href=\"{link}\"/><published>{}</published><content type=\"html\">{html}</content></entry>\n",
                xml(&it.title),
                format_time(it.published),
            ));
        } else {
            doc.push_str(&format!(
                "<item><title>{}</title><link>{link}</link><guid>{link}</guid><pubDate>{}</pubDate><description>{html}</description></item>\n",
                xml(&it.title),
                it.published.to_rfc2822(),
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

/// The Reuters stories used as event texts (those with a body), as paragraphs.
pub struct Pool {
    /// (title, paragraphs) per story.
    pub stories: Vec<(String, Vec<String>)>,
}

impl Pool {
    /// Loads the whole corpus (`None` when `../shared` is absent).
    pub fn load() -> Option<Pool> {
        let dir = corpus_dir()?;
        let stories = load(&dir, usize::MAX)
            .into_iter()
            .map(|s| {
                let p = s.paragraphs();
                (s.title.trim().to_string(), p)
            })
            .filter(|(t, p)| !t.is_empty() && !p.is_empty())
            .collect();
        Some(Pool { stories })
    }

    /// Copy `copy` of event `event` in feed `feed`, dated `at`, with the
    /// variation `seed`.
    pub fn item(&self, event: u64, copy: u64, feed: usize, at: i64, seed: u64) -> Item {
        let (title, paragraphs) = &self.stories[(event % self.stories.len() as u64) as usize];
        Item {
            title: title.clone(),
            link: format!("https://outlet{feed}.bench.test/news/{event}-{copy}"),
            published: DateTime::from_timestamp(at, 0).unwrap_or_default(),
            paragraphs: vary(paragraphs, seed),
        }
    }
}

/// How many copies event `e` has.
pub fn copies(e: u64) -> usize {
    COPIES[(mix2(e, 1) % COPIES.len() as u64) as usize]
}

/// The event and copy a generated link or guid names (`.../news/E-J`).
pub fn parse_link(link: &str) -> Option<(u64, u64)> {
    let tail = link.rsplit('/').next()?;
    let (e, j) = tail.split_once('-')?;
    Some((e.parse().ok()?, j.parse().ok()?))
}

/// The directory of cached stores: `target/bench-cache`.
pub fn cache_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("bench-cache");
    std::fs::create_dir_all(&dir).expect("create target/bench-cache");
    dir
}

/// A cached store of `n` entries, built first if needed (a few minutes
/// per million entries).
pub fn cached_store(pool: &Pool, n: usize) -> PathBuf {
    let path = cache_dir().join(format!("store-g{GENERATOR}-{n}.db"));
    if path.exists() {
        return path;
    }
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    for ext in ["partial-wal", "partial-shm"] {
        let _ = std::fs::remove_file(path.with_extension(ext));
    }
    let started = Instant::now();
    eprintln!("building {} ({n} entries)...", path.display());
    build_store(pool, n, &partial);
    std::fs::rename(&partial, &path).expect("rename the built store into the cache");
    eprintln!(
        "built {} in {:.0} s ({:.0} MB)",
        path.display(),
        started.elapsed().as_secs_f64(),
        file_mb(&path)
    );
    path
}

/// Copies a cached store into `dir` (the cache stays pristine).
pub fn copy_store(cached: &Path, dir: &Path) -> PathBuf {
    let to = dir.join("store.db");
    std::fs::copy(cached, &to).expect("copy the cached store");
    // Written out before anything is timed: otherwise the kernel writes the
    // copy's dirty pages back (4.8 GB for the 1M store) during the
    // measurement that follows.
    std::fs::File::open(&to)
        .and_then(|f| f.sync_all())
        .expect("write the copied store to disk");
    to
}

/// Brings a copied store to this build's schema: a cached store may have
/// been built before the last migration, and opening it should then time
/// loading it, not migrating it.
pub fn migrate(db: &Path) {
    let mut conn = Connection::open(db).expect("open the copied store");
    feedfold::store::schema::migrate(&mut conn).expect("migrate the copied store");
}

/// Size of a file in MB (0 if missing).
pub fn file_mb(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1e6)
}

/// One entry row as the writer would insert it.
struct Row {
    feed: usize,
    item: Item,
    html: String,
    text: String,
    features: features::Features,
}

/// The writer's content hash (see `store::writer::content_hash`).
fn content_hash(
    title: &str,
    url: &str,
    summary_html: Option<&str>,
    content_html: Option<&str>,
    published: &str,
) -> i64 {
    let mut buf = String::new();
    for part in [Some(title), Some(url), None, summary_html, content_html] {
        buf.push_str(part.unwrap_or(""));
        buf.push('\u{1f}');
    }
    buf.push_str(published);
    fnv1a(buf.as_bytes()) as i64
}

/// The copies of event `e` (at most `left` of them), dated from `start`.
fn event_rows(pool: &Pool, e: u64, start: i64, left: usize) -> Vec<Row> {
    let n = copies(e).min(left);
    let at = start + (e as f64 * event_gap()) as i64;
    let mut feeds: Vec<usize> = Vec::with_capacity(n);
    (0..n as u64)
        .map(|j| {
            let mut f = (mix2(e, 100 + j) % FEEDS as u64) as usize;
            while feeds.contains(&f) {
                f = (f + 1) % FEEDS;
            }
            feeds.push(f);
            // Later copies follow within six hours.
            let delay = if j == 0 {
                0
            } else {
                (mix2(e, 200 + j) % 21_600) as i64
            };
            let item = pool.item(e, j, f, at + delay, mix2(e, 300 + j));
            let (html, text) = (item.html(), item.text());
            let features = features::extract(&item.title, &text);
            Row {
                feed: f,
                item,
                html,
                text,
                features,
            }
        })
        .collect()
}

/// Builds a store of `n` entries at `path` (which must not exist).
fn build_store(pool: &Pool, n: usize, path: &Path) {
    // The schema, exactly as feedfold creates it.
    let (store, writer) = Store::open(path, GroupingConfig::default()).expect("create the store");
    drop(store);
    writer.join();
    let start = END - (n as f64 / 1e6 * DAYS_PER_MILLION * 86_400.0) as i64;
    let first_seen = format_time(DateTime::from_timestamp(start, 0).unwrap_or_default());
    let last = format_time(DateTime::from_timestamp(END, 0).unwrap_or_default());

    // Texts and features on a second thread; inserts on this one.
    let (tx, rx) = mpsc::sync_channel::<Vec<Row>>(256);
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut left = n;
            let mut e = 0u64;
            while left > 0 {
                let rows = event_rows(pool, e, start, left);
                left -= rows.len();
                e += 1;
                if tx.send(rows).is_err() {
                    return;
                }
            }
        });
        let mut conn = Connection::open(path).expect("open the new store");
        conn.execute_batch(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-1000000;",
        )
        .expect("bulk-load pragmas");
        let t = conn.transaction().expect("transaction");
        {
            let mut feed = t
                .prepare(
                    "INSERT INTO feeds (id, url, title, site_url, self_url, format, first_seen, last_ingested)
                     VALUES (?1, ?2, ?3, ?4, ?2, ?5, ?6, ?7)",
                )
                .expect("prepare feeds");
            for f in 0..FEEDS {
                feed.execute(params![
                    f as i64 + 1,
                    feed_url(f),
                    format!("Outlet {f}"),
                    format!("https://outlet{f}.bench.test/"),
                    if f % 2 == 0 { "rss2" } else { "atom" },
                    first_seen,
                    last
                ])
                .expect("insert feed");
            }
            let mut event = t
                .prepare(
                    "INSERT INTO events (id, title, representative_story_id, first_seen, last_seen,
                        story_count, entry_count, feed_count, created_at, updated_at)
                     VALUES (?1, ?2, ?1, ?3, ?4, 1, ?5, ?5, ?3, ?4)",
                )
                .expect("prepare events");
            let mut story = t
                .prepare(
                    "INSERT INTO stories (id, title, representative_id, origin, first_seen, last_seen,
                        entry_count, feed_count, created_at, updated_at, event_id)
                     VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, ?6, ?4, ?5, ?1)",
                )
                .expect("prepare stories");
            let mut entry = t
                .prepare(
                    "INSERT INTO entries (id, feed_id, guid, guid_source, url, canonical_url, title, author,
                        summary_html, summary_text, content_html, content_text, text_length, credited_wire,
                        published, published_source, updated, first_seen, last_seen,
                        content_hash, fingerprint, features, story_id,
                        matched_entry_id, match_rule, match_hamming, match_containment,
                        match_resemblance, match_title, match_numbers, match_gap_seconds)
                     VALUES (?1, ?2, ?3, 'document', ?3, ?3, ?4, NULL, ?5, ?6, ?7, ?8, ?9, NULL,
                             ?10, 'published', NULL, ?10, ?10, ?11, ?12, ?13, ?14,
                             ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
                )
                .expect("prepare entries");
            let (mut next_entry, mut next_story) = (1i64, 1i64);
            let mut done = 0usize;
            let started = Instant::now();
            for rows in rx {
                let first = next_entry;
                let story_id = next_story;
                next_story += 1;
                let lengths: Vec<i64> =
                    rows.iter().map(|r| r.text.chars().count() as i64).collect();
                let longest = lengths.iter().copied().max().unwrap_or(0);
                // The earliest copy at least 80% as long as the longest.
                let rep = (0..rows.len())
                    .filter(|&i| lengths[i] * 5 >= 4 * longest)
                    .min_by_key(|&i| (rows[i].item.published, i))
                    .unwrap_or(0);
                let dates: Vec<String> =
                    rows.iter().map(|r| format_time(r.item.published)).collect();
                let (min, max) = (
                    dates.iter().min().cloned().unwrap_or_default(),
                    dates.iter().max().cloned().unwrap_or_default(),
                );
                event
                    .execute(params![
                        story_id,
                        rows[rep].item.title,
                        min,
                        max,
                        rows.len() as i64
                    ])
                    .expect("insert event");
                story
                    .execute(params![
                        story_id,
                        rows[rep].item.title,
                        first + rep as i64,
                        min,
                        max,
                        rows.len() as i64
                    ])
                    .expect("insert story");
                for (i, r) in rows.iter().enumerate() {
                    let rss = r.feed % 2 == 0;
                    let (summary_html, summary_text, content_html, content_text) = if rss {
                        (Some(&r.html), Some(&r.text), None, None)
                    } else {
                        (None, None, Some(&r.html), Some(&r.text))
                    };
                    let hash = content_hash(
                        &r.item.title,
                        &r.item.link,
                        summary_html.map(String::as_str),
                        content_html.map(String::as_str),
                        &dates[i],
                    );
                    let m = (i > 0).then(|| {
                        let f0 = &rows[0].features;
                        (
                            first,
                            (f0.simhash ^ r.features.simhash).count_ones() as i64,
                            r.item.published.timestamp() - rows[0].item.published.timestamp(),
                        )
                    });
                    entry
                        .execute(params![
                            next_entry,
                            r.feed as i64 + 1,
                            r.item.link,
                            r.item.title,
                            summary_html,
                            summary_text,
                            content_html,
                            content_text,
                            lengths[i],
                            dates[i],
                            hash,
                            r.features.simhash as i64,
                            r.features.encode(),
                            story_id,
                            m.map(|m| m.0),
                            m.map(|_| "containment"),
                            m.map(|m| m.1),
                            m.map(|_| 0.9),
                            m.map(|_| 0.8),
                            m.map(|_| 1.0),
                            m.map(|_| 1.0),
                            m.map(|m| m.2),
                        ])
                        .expect("insert entry");
                    next_entry += 1;
                }
                let before = done;
                done += rows.len();
                if done / 100_000 != before / 100_000 {
                    eprintln!(
                        "  {done} entries ({:.0}/s)",
                        done as f64 / started.elapsed().as_secs_f64()
                    );
                }
            }
        }
        t.commit().expect("commit the bulk load");
        // The writer indexes the full text of what it inserts itself (no
        // trigger does, since schema 5): index the bulk-loaded rows.
        conn.execute_batch("INSERT INTO entries_fts(entries_fts) VALUES ('rebuild');")
            .expect("index the full text");
        conn.execute_batch("PRAGMA journal_mode=WAL; ANALYZE;")
            .expect("back to WAL");
    });
}

/// The process's peak resident set (VmHWM) in MB.
/// Ingests feed files in order through the one-shot pipeline, as `feedfold
/// ingest` does (four read ahead), into the store behind `store`.
pub fn ingest_files(
    rt: &tokio::runtime::Runtime,
    store: &Store,
    files: &[PathBuf],
) -> Vec<SourceOutcome> {
    let fetcher = Fetcher::new(&HttpConfig::default()).expect("fetcher");
    let sources: Vec<Source> = files.iter().cloned().map(Source::File).collect();
    rt.block_on(ingest_sources(
        store,
        &fetcher,
        sources,
        &IngestOptions {
            feed_url: None,
            read_ahead: 4,
        },
        |_| {},
    ))
}

pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The value after `flag` on the command line, parsed.
pub fn arg<T: std::str::FromStr>(flag: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

/// Whether `flag` is on the command line.
pub fn flag(flag: &str) -> bool {
    std::env::args().any(|a| a == flag)
}
