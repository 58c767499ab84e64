//! Conformance of the normalizer (parse + normalize + feature extraction)
//! on the feed test suites in `../shared/conformance` (see its README):
//! no document makes it panic, and it reads at least 99.5% of the files the
//! suites hold to be feeds (feedparser's `wellformed/`, and the W3C
//! validator's `rss/`, `rss20/` and `atom/` cases that are well-formed
//! XML). Calls the library directly, one thread, no binary per file.
//! Skipped, with a note, when the corpus is absent.
//!
//! The full report, with feedparser's `Expect:` checks, is
//! `tests/tools/conformance.py` (see tests/REPORTS.md, "Parsing conformance").
//!
//! `readability` does the same for the article extractor, on Mozilla
//! Readability's test pages.

#[path = "conformance/readability.rs"]
mod readability;

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use feedfold::model::RawDocument;
use feedfold::normalizer::{normalize, Identity, NormalizeError};

/// W3C validator messages that mark a case as not well-formed XML.
const W3C_NOT_WELL_FORMED: &[&str] = &[
    "SAXError",
    "BadXmlVersion",
    "UnicodeError",
    "InvalidEncoding",
    "UnknownEncoding",
];

const PARSE_BAR: f64 = 99.5;

fn corpus() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    root.is_dir().then_some(root)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
}

/// How one file fared.
enum Outcome {
    Parsed,
    Failed,
    /// A panic: inside feed-rs (contained, reported as ParserPanic) or
    /// anywhere else (caught here).
    Panicked(String),
}

fn run(path: &Path) -> Outcome {
    let Ok(bytes) = std::fs::read(path) else {
        return Outcome::Failed;
    };
    let name = path.display().to_string();
    let doc = RawDocument {
        name: name.clone(),
        fetched_url: None,
        path: Some(name.clone()),
        http_charset: None,
        bytes,
    };
    let identity = Identity {
        path: Some(&name),
        ..Default::default()
    };
    match catch_unwind(AssertUnwindSafe(|| normalize(&doc, &identity, now()))) {
        Ok(Ok(_)) => Outcome::Parsed,
        Ok(Err(NormalizeError::ParserPanic(m))) => Outcome::Panicked(m),
        Ok(Err(_)) => Outcome::Failed,
        Err(_) => Outcome::Panicked("panic outside feed-rs".into()),
    }
}

/// The W3C cases held to be feeds, as paths relative to the corpus root.
fn w3c_feeds(root: &Path) -> HashSet<PathBuf> {
    let index = root.join("w3c-feedvalidator/index.tsv");
    let Ok(text) = std::fs::read_to_string(index) else {
        return HashSet::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let (path, negated, expect) = (cols.first()?, cols.get(1)?, cols.get(2)?);
            let folder = path.split('/').next()?;
            if !["rss", "rss20", "atom"].contains(&folder) {
                return None;
            }
            if negated.is_empty() && W3C_NOT_WELL_FORMED.contains(expect) {
                return None;
            }
            Some(Path::new("w3c-feedvalidator/testcases").join(path))
        })
        .collect()
}

#[test]
fn conformance_corpus_parses_without_panics() {
    let Some(root) = corpus() else {
        eprintln!("skipped: ../shared/conformance not found");
        return;
    };
    // Silence the default hook's message for panics that are caught.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut files = Vec::new();
    walk(&root, &mut files);
    let w3c = w3c_feeds(&root);
    let mut panics = Vec::new();
    let (mut fp_tried, mut fp_parsed, mut w3c_tried, mut w3c_parsed) = (0, 0, 0, 0);
    let mut failed_feeds = Vec::new();
    for path in &files {
        let rel = path.strip_prefix(&root).unwrap_or(path).to_path_buf();
        let outcome = run(path);
        let parsed = matches!(outcome, Outcome::Parsed);
        if let Outcome::Panicked(m) = &outcome {
            panics.push(format!("{}: {m}", rel.display()));
        }
        let in_fp = rel.starts_with("feedparser/wellformed");
        let in_w3c = w3c.contains(&rel);
        if in_fp {
            fp_tried += 1;
            fp_parsed += usize::from(parsed);
        }
        if in_w3c {
            w3c_tried += 1;
            w3c_parsed += usize::from(parsed);
        }
        if (in_fp || in_w3c) && !parsed {
            failed_feeds.push(rel.display().to_string());
        }
    }
    std::panic::set_hook(hook);
    let rate = |a: usize, b: usize| {
        if b == 0 {
            0.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    eprintln!(
        "conformance: {} files, {} panics; feedparser wellformed/ {fp_parsed}/{fp_tried} ({:.2}%), \
         W3C rss/rss20/atom well-formed {w3c_parsed}/{w3c_tried} ({:.2}%)",
        files.len(),
        panics.len(),
        rate(fp_parsed, fp_tried),
        rate(w3c_parsed, w3c_tried)
    );
    assert!(panics.is_empty(), "panics:\n{}", panics.join("\n"));
    assert!(
        fp_tried > 1000 && w3c_tried > 1000,
        "corpus looks incomplete"
    );
    assert!(
        rate(fp_parsed, fp_tried) >= PARSE_BAR && rate(w3c_parsed, w3c_tried) >= PARSE_BAR,
        "parse rate below {PARSE_BAR}%; not parsed:\n{}",
        failed_feeds.join("\n")
    );
}
