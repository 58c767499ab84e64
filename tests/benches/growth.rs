//! Growth benchmark: does ingesting get slower as the store grows?
//!
//! Measures the per-entry cost of ingesting 10,000 more entries into stores
//! that already hold 10,000, 100,000 and 1,000,000 entries (target, issue
//! #14: the three figures within 1.3x of each other), and prints each
//! figure in µs/entry and entries/s, the ratio max/min, and each store's
//! file size and entries in the grouping window.
//!
//! On a shared 2-core machine one run of a size varies by up to 1.4x, so
//! the sizes are measured in 3 rounds (`-- --rounds N`), one size after the
//! other in each round so that a slow spell of the machine falls on all of
//! them, and the ratio is that of each size's median.
//!
//! The stores are the generated histories of `support` (real Reuters-21578
//! text, varied per copy, 10,000 feeds, a constant publishing rate, so a
//! bigger store is a longer history and the 72-hour grouping window holds
//! about the same ~16,000 entries in every store spanning 72 hours; the
//! 10,000-entry store spans 43, and its window holds all 10,000), built
//! once and cached under
//! `target/bench-cache/`; each run copies the cached file to a temporary
//! directory first. The 10,000 measured entries are dated just after the
//! newest stored entry, in 500 feed files (RSS 2.0 and Atom) of 20 entries
//! of 500 stored feeds; about 30% are copies of stories stored in the last
//! 24 hours (so grouping joins them) and the rest are new stories, some
//! carried by several feeds. They go through the real pipeline
//! (`pipeline::ingest_sources` with `Source::File`), grouping on, as
//! `feedfold ingest` runs it. Opening the store as the daemon does (until
//! `Store::open_deferred` returns: the daemon answers from then on),
//! loading the grouping window (`Store::load_window`) and closing it are
//! timed separately.
//!
//! Run: `cargo bench --bench growth` (building the 1M store the first time
//! takes a few minutes); `-- --quick` for stores of 10,000 and 100,000;
//! `-- --sizes 10000,300000`, `-- --measure 5000` and `-- --rounds 1` to
//! choose.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use feedfold::detector::GroupingConfig;
use feedfold::model::parse_time;
use feedfold::store::Store;
use rusqlite::Connection;
use support::{Item, Pool, FEEDS};

/// Entries per measured feed file.
const PER_FILE: usize = 20;

/// One size's figures.
struct Figures {
    size: usize,
    store_mb: f64,
    /// Stored entries dated within the grouping window before the newest.
    in_window: i64,
    open_s: f64,
    loaded_s: f64,
    ingest_s: f64,
    close_s: f64,
    new: usize,
    joined: usize,
    failed: usize,
}

impl Figures {
    /// The ingest time per new entry, in µs.
    fn us_per_entry(&self) -> f64 {
        self.ingest_s * 1e6 / self.new.max(1) as f64
    }
}

/// Recent stored stories: (event, feeds carrying it), and the newest date
/// and event of the store.
fn recent(db: &Path) -> (i64, u64, Vec<(u64, Vec<usize>)>) {
    let conn = Connection::open(db).expect("open the copied store");
    let newest: String = conn
        .query_row("SELECT max(published) FROM entries", [], |r| r.get(0))
        .expect("newest entry");
    let newest = parse_time(&newest).expect("a stored date").timestamp();
    let since = feedfold::model::format_time(
        chrono::DateTime::from_timestamp(newest - 86_400, 0).unwrap_or_default(),
    );
    let mut stmt = conn
        .prepare(
            "SELECT e.guid, (SELECT group_concat(o.feed_id) FROM entries o WHERE o.story_id = e.story_id)
               FROM entries e WHERE e.published >= ?1 AND e.matched_entry_id IS NULL ORDER BY e.id",
        )
        .expect("prepare");
    let rows: Vec<(String, String)> = stmt
        .query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mut last_event = 0;
    let stories = rows
        .into_iter()
        .filter_map(|(guid, feeds)| {
            let (e, _) = support::parse_link(&guid)?;
            last_event = last_event.max(e);
            let feeds = feeds
                .split(',')
                .filter_map(|f| f.parse::<usize>().ok())
                .map(|id| id - 1)
                .collect();
            Some((e, feeds))
        })
        .collect();
    (newest, last_event, stories)
}

/// Writes the measured entries as feed files into `dir`.
fn write_batch(pool: &Pool, db: &Path, total: usize, dir: &Path) -> Vec<PathBuf> {
    let (newest, last_event, recent) = recent(db);
    let files = total.div_ceil(PER_FILE);
    // Spread over the stored feeds, RSS and Atom alternately.
    let feeds: Vec<usize> = (0..files)
        .map(|k| (k * (FEEDS / files) + k % 2) % FEEDS)
        .collect();
    let mut per_feed: Vec<Vec<Item>> = (0..files).map(|_| Vec::new()).collect();
    // The store's rate: one entry every gap/2.5 seconds.
    let step = support::event_gap() / 2.5;
    let at = |pos: usize| newest + 60 + (pos as f64 * step) as i64;
    let (mut pos, mut next_event, mut r) = (0usize, last_event + 1, 0usize);
    while pos < total {
        if support::mix(pos as u64) % 10 < 3 && !recent.is_empty() {
            // A copy of a story stored in the last 24 hours, in a feed that
            // does not carry it yet.
            let f = feeds[pos % files];
            let (e, _) = (0..recent.len())
                .map(|k| &recent[(r + k) % recent.len()])
                .find(|(_, carried)| !carried.contains(&f))
                .unwrap_or(&recent[r % recent.len()]);
            r += 1;
            let item = pool.item(*e, 100 + pos as u64, f, at(pos), support::mix(pos as u64));
            per_feed[pos % files].push(item);
            pos += 1;
        } else {
            let e = next_event;
            next_event += 1;
            for j in 0..support::copies(e) as u64 {
                if pos >= total {
                    break;
                }
                let f = feeds[pos % files];
                let item = pool.item(e, j, f, at(pos), support::mix(e ^ (j << 40)));
                per_feed[pos % files].push(item);
                pos += 1;
            }
        }
    }
    per_feed
        .iter()
        .zip(&feeds)
        .enumerate()
        .map(|(k, (items, &f))| {
            let doc = support::render_feed(
                &format!("Outlet {f}"),
                &support::feed_url(f),
                f % 2 == 1,
                items,
            );
            let path = dir.join(format!("batch-{k:04}.xml"));
            std::fs::write(&path, doc).expect("write a feed file");
            path
        })
        .collect()
}

/// How many stored entries are dated within the default grouping window
/// before the newest: what the detector holds when the measured entries
/// arrive. (A store shorter than the window holds fewer.)
fn in_window(db: &Path) -> i64 {
    let window = GroupingConfig::default().window_seconds();
    Connection::open(db)
        .and_then(|c| {
            c.query_row(
                "SELECT count(*) FROM entries WHERE unixepoch(published) >=
                   (SELECT max(unixepoch(published)) FROM entries) - ?1",
                [window],
                |r| r.get(0),
            )
        })
        .expect("count the entries in the window")
}

fn measure(pool: &Pool, size: usize, total: usize, rt: &tokio::runtime::Runtime) -> Figures {
    let cached = support::cached_store(pool, size);
    let dir = tempfile::tempdir_in(support::cache_dir()).expect("temporary directory");
    let db = support::copy_store(&cached, dir.path());
    support::migrate(&db);
    let store_mb = support::file_mb(&db);
    let in_window = in_window(&db);
    let files = write_batch(pool, &db, total, dir.path());

    let started = Instant::now();
    let (store, writer) =
        Store::open_deferred(&db, GroupingConfig::default()).expect("open the store");
    let open_s = started.elapsed().as_secs_f64();
    rt.block_on(store.load_window()).expect("the window loads");
    let loaded_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let outcomes = support::ingest_files(rt, &store, &files);
    let ingest_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    drop(store);
    writer.join();
    let close_s = started.elapsed().as_secs_f64();

    let ok = outcomes.iter().filter_map(|o| o.result.as_ref().ok());
    let (new, joined) = ok.fold((0, 0), |(n, j), (_, r)| (n + r.new, j + r.joined));
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    for o in outcomes.iter().filter(|o| o.result.is_err()).take(3) {
        eprintln!("failed: {}: {:?}", o.name, o.result.as_ref().err());
    }
    let feeds: i64 = Connection::open(&db)
        .and_then(|c| c.query_row("SELECT count(*) FROM feeds", [], |r| r.get(0)))
        .expect("count feeds");
    assert_eq!(
        feeds, FEEDS as i64,
        "the measured files were stored under the existing feeds"
    );
    Figures {
        size,
        store_mb,
        in_window,
        open_s,
        loaded_s,
        ingest_s,
        close_s,
        new,
        joined,
        failed,
    }
}

fn main() {
    let Some(pool) = Pool::load() else {
        println!("growth bench: ../shared/corpus/reuters21578 not found; skipped");
        return;
    };
    let sizes: Vec<usize> = match support::arg::<String>("--sizes") {
        Some(list) => list
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .expect("--sizes takes numbers like 10000,100000")
            })
            .collect(),
        None if support::flag("--quick") => vec![10_000, 100_000],
        None => vec![10_000, 100_000, 1_000_000],
    };
    let total: usize = support::arg("--measure").unwrap_or(10_000);
    let rounds: usize = support::arg::<usize>("--rounds").unwrap_or(3).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "growth: ingesting {total} more entries ({} files of {PER_FILE}, grouping on) into stores of {sizes:?} entries ({} Reuters stories, {FEEDS} feeds, {} days per million entries), {rounds} round(s)",
        total.div_ceil(PER_FILE),
        pool.stories.len(),
        support::DAYS_PER_MILLION
    );
    // µs/entry of each size, one per round.
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); sizes.len()];
    for round in 1..=rounds {
        for (i, &size) in sizes.iter().enumerate() {
            let f = measure(&pool, size, total, &rt);
            print_figures(round, &f);
            per[i].push(f.us_per_entry());
        }
    }
    let medians: Vec<f64> = per.iter_mut().map(|v| median(v)).collect();
    for (size, (m, v)) in sizes.iter().zip(medians.iter().zip(&per)) {
        let (lo, hi) = spread(v);
        println!(
            "growth: store {size:>9} entries: median {m:.1} µs/entry over {rounds} round(s) (range {lo:.1}–{hi:.1})"
        );
    }
    let (min, max) = spread(&medians);
    println!(
        "growth: ratio max/min of the median µs/entry = {:.2} (target <= 1.3); peak RSS {:.0} MB",
        max / min,
        support::peak_rss_mb()
    );
}

/// The median of `v` (sorted in place); the mean of the middle two when
/// `v` has an even length.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The smallest and largest of `v`.
fn spread(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)))
}

/// One measurement's line.
fn print_figures(round: usize, f: &Figures) {
    println!(
        "growth: round {round}, store {:>9} entries ({:>6.0} MB, {:>6} in the window): {:>6.1} µs/entry, {:>6.0} entries/s; {} new, {} joined a story, {} files failed; open {:.2} s (window loaded at {:.2} s), close {:.2} s",
        f.size,
        f.store_mb,
        f.in_window,
        f.us_per_entry(),
        f.new as f64 / f.ingest_s,
        f.new,
        f.joined,
        f.failed,
        f.open_s,
        f.loaded_s,
        f.close_s
    );
}
