//! End-to-end one-shot ingest benchmark (issue: speed and scale, part 1).
//!
//! Wraps the real wire text of `../shared/corpus/reuters21578` into feed
//! files of 50 entries (RSS 2.0 and Atom alternately, full text), ingests
//! them into a fresh store with grouping on, through the same pipeline as
//! `feedfold ingest`, and prints entries/s, MB/s and peak RSS.
//!
//! Run: `cargo bench --bench ingest` (optionally `-- --limit N` stories).

use std::path::{Path, PathBuf};
use std::time::Instant;

use feedfold::detector::GroupingConfig;
use feedfold::fetcher::{FetchSettings, Fetcher, Source};
use feedfold::pipeline::{ingest_sources, IngestOptions};
use feedfold::store::Store;

const PER_FEED: usize = 50;

struct Story {
    id: String,
    title: String,
    body: String,
    date: String,
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

fn xml(s: &str) -> String {
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

fn load(dir: &Path, limit: usize) -> Vec<Story> {
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

fn write_feeds(stories: &[Story], dir: &Path) -> (Vec<PathBuf>, u64) {
    let mut files = Vec::new();
    let mut bytes = 0;
    for (n, chunk) in stories.chunks(PER_FEED).enumerate() {
        let atom = n % 2 == 1;
        let mut doc = String::new();
        if atom {
            doc.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">");
            doc.push_str(&format!("<title>Outlet {n}</title><id>urn:outlet:{n}</id><link rel=\"self\" href=\"https://outlet{n}.bench.test/atom\"/>\n"));
        } else {
            doc.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>");
            doc.push_str(&format!("<title>Outlet {n}</title><link>https://outlet{n}.bench.test/</link><atom:link rel=\"self\" href=\"https://outlet{n}.bench.test/rss\"/>\n"));
        }
        for s in chunk {
            let link = format!("https://outlet{n}.bench.test/news/{}", s.id);
            let html: String = s
                .body
                .split("\n    ")
                .map(|p| format!("<p>{}</p>", xml(p.trim())))
                .collect();
            if atom {
                doc.push_str(&format!(
                    "<entry><title>{}</title><id>{link}</id><link href=\"{link}\"/><published>{}</published><content type=\"html\">{}</content></entry>\n",
                    xml(&s.title), s.date, xml(&html)
                ));
            } else {
                doc.push_str(&format!(
                    "<item><title>{}</title><link>{link}</link><guid>{link}</guid><pubDate>{}</pubDate><description>{}</description></item>\n",
                    xml(&s.title),
                    chrono::DateTime::parse_from_rfc3339(&s.date).map(|d| d.to_rfc2822()).unwrap_or_default(),
                    xml(&html)
                ));
            }
        }
        doc.push_str(if atom {
            "</feed>\n"
        } else {
            "</channel></rss>\n"
        });
        let path = dir.join(format!("feed-{n:04}.xml"));
        bytes += doc.len() as u64;
        std::fs::write(&path, doc).expect("write feed");
        files.push(path);
    }
    (files, bytes)
}

fn peak_rss_mb() -> f64 {
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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let limit = args
        .iter()
        .position(|a| a == "--limit")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
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
    let fetcher = Fetcher::new(&FetchSettings::default()).expect("fetcher");
    let started = Instant::now();
    let (store, writer) = Store::open(&db, GroupingConfig::default()).expect("store");
    let sources: Vec<Source> = files.iter().map(|f| Source::File(f.clone())).collect();
    let outcomes = rt.block_on(ingest_sources(
        &store,
        &fetcher,
        sources,
        &IngestOptions {
            feed_url: None,
            read_ahead: 4,
        },
        |_| {},
    ));
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
