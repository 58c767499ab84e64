//! End-to-end one-shot ingest benchmark (issue: speed and scale, part 1).
//!
//! Wraps the real wire text of `../shared/corpus/reuters21578` into feed
//! files of 50 entries (RSS 2.0 and Atom alternately, full text), ingests
//! them into a fresh store with grouping on, through the same pipeline as
//! `feedfold ingest`, and prints entries/s, MB/s and peak RSS.
//!
//! Run: `cargo bench --bench ingest` (optionally `-- --limit N` stories;
//! `-- --features-in-memory N` sets `[grouping] features_in_memory`, how
//! many window entries keep their features in memory, to weigh memory
//! against CPU).

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use feedfold::detector::GroupingConfig;
use feedfold::store::Store;
use support::{ingest_files, load, peak_rss_mb, render_feed, Item, Story};

const PER_FEED: usize = 50;

fn write_feeds(stories: &[Story], dir: &Path) -> (Vec<PathBuf>, u64) {
    let mut files = Vec::new();
    let mut bytes = 0;
    for (n, chunk) in stories.chunks(PER_FEED).enumerate() {
        let atom = n % 2 == 1;
        let items: Vec<Item> = chunk
            .iter()
            .map(|s| Item {
                title: s.title.clone(),
                link: format!("https://outlet{n}.bench.test/news/{}", s.id),
                published: chrono::DateTime::parse_from_rfc3339(&s.date)
                    .map(|d| d.to_utc())
                    .unwrap_or_default(),
                paragraphs: s.paragraphs(),
            })
            .collect();
        let kind = if atom { "atom" } else { "rss" };
        let doc = render_feed(
            &format!("Outlet {n}"),
            &format!("https://outlet{n}.bench.test/{kind}"),
            atom,
            &items,
        );
        let path = dir.join(format!("feed-{n:04}.xml"));
        bytes += doc.len() as u64;
        std::fs::write(&path, doc).expect("write feed");
        files.push(path);
    }
    (files, bytes)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let limit = args
        .iter()
        .position(|a| a == "--limit")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let mut grouping = GroupingConfig::default();
    if let Some(n) = support::arg("--features-in-memory") {
        grouping.features_in_memory = n;
        println!("ingest: [grouping] features_in_memory = {n}");
    }
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/reuters21578");
    if !corpus.exists() {
        println!("ingest bench: {} not found; skipped", corpus.display());
        return;
    }
    let stories = load(&corpus, limit);
    let dir = tempfile::tempdir().expect("tempdir");
    let (files, bytes) = write_feeds(&stories, dir.path());
    let db = dir.path().join("bench.db");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let (store, writer) = Store::open(&db, grouping).expect("store");
    let outcomes = ingest_files(&rt, &store, &files);
    drop(store);
    writer.join();
    let secs = started.elapsed().as_secs_f64();
    let entries: usize = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().ok())
        .map(|(_, r)| r.new)
        .sum();
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    println!(
        "ingest: {} feeds ({} failed), {entries} entries, {:.1} MB in {secs:.2} s: {:.0} entries/s, {:.2} MB/s, peak RSS {:.0} MB",
        files.len(),
        failed,
        bytes as f64 / 1e6,
        entries as f64 / secs,
        bytes as f64 / 1e6 / secs,
        peak_rss_mb()
    );
}
