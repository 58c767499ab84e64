//! Article extraction against Mozilla Readability's test pages
//! (`../shared/conformance/readability/`, 130 real pages, each a folder
//! with `source.html`, the `expected.html` Readability.js extracts and
//! `expected-metadata.json`): the text feedfold's extractor gives an
//! entry ([`feedfold::extractor::read_article`], sanitizer and text
//! conversion included) against the text of `expected.html`, the title
//! against the expected title, and the time per page. Prints the figures;
//! fails under a mean token F1 of 0.90, a title agreement of 0.95, on a
//! crash, or on a page over 1 s (in a release build; a debug build, which
//! runs the HTML parser many times slower, gets 10 s). The release figure:
//! `cargo test --release --locked --test conformance readability -- --nocapture`.
//!
//! Tokens are lowercase runs of letters and digits, each CJK character a
//! token of its own; F1 is per page (bag of words), then averaged. Titles
//! agree when their letters and digits, lowercased, are equal.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

use feedfold::extractor::{read_article, readability::is_cjk};
use feedfold::normalizer::html::html_to_text;

const F1_BAR: f64 = 0.90;
const TITLE_BAR: f64 = 0.95;

fn tokens(text: &str) -> HashMap<String, usize> {
    let mut bag = HashMap::new();
    let mut word = String::new();
    for ch in text.chars() {
        if is_cjk(ch) {
            if !word.is_empty() {
                *bag.entry(std::mem::take(&mut word)).or_insert(0) += 1;
            }
            *bag.entry(ch.to_string()).or_insert(0) += 1;
        } else if ch.is_alphanumeric() {
            word.extend(ch.to_lowercase());
        } else if !word.is_empty() {
            *bag.entry(std::mem::take(&mut word)).or_insert(0) += 1;
        }
    }
    if !word.is_empty() {
        *bag.entry(word).or_insert(0) += 1;
    }
    bag
}

fn f1(got: &str, want: &str) -> f64 {
    let (g, w) = (tokens(got), tokens(want));
    let (ng, nw): (usize, usize) = (g.values().sum(), w.values().sum());
    if ng == 0 && nw == 0 {
        return 1.0;
    }
    let common: usize = g
        .iter()
        .map(|(t, n)| (*n).min(w.get(t).copied().unwrap_or(0)))
        .sum();
    if common == 0 {
        return 0.0;
    }
    let p = common as f64 / ng as f64;
    let r = common as f64 / nw as f64;
    2.0 * p * r / (p + r)
}

fn lenient(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[test]
fn readability_pages_meet_the_bars() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/readability");
    let Ok(dirs) = std::fs::read_dir(&root) else {
        eprintln!("skipped: {} not found", root.display());
        return;
    };
    let mut pages: Vec<_> = dirs.flatten().map(|d| d.path()).collect();
    pages.sort();
    let bound = if cfg!(debug_assertions) {
        Duration::from_secs(10)
    } else {
        Duration::from_secs(1)
    };
    let (mut f1_sum, mut titles, mut n) = (0.0, 0usize, 0usize);
    let mut slowest = (Duration::ZERO, String::new());
    let mut failures = Vec::new();
    for page in &pages {
        let (Ok(source), Ok(expected)) = (
            std::fs::read(page.join("source.html")),
            std::fs::read_to_string(page.join("expected.html")),
        ) else {
            continue;
        };
        let name = page
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let meta: serde_json::Value = std::fs::read_to_string(page.join("expected-metadata.json"))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        let want_title = meta["title"].as_str().unwrap_or_default();
        n += 1;
        let start = Instant::now();
        let got = catch_unwind(AssertUnwindSafe(|| {
            read_article(&source, None, Some("http://fakehost/test/page.html"))
        }));
        let took = start.elapsed();
        if took > slowest.0 {
            slowest = (took, name.clone());
        }
        if took > bound {
            failures.push(format!("{name}: {took:?}"));
        }
        match got {
            Ok(Ok(article)) => {
                f1_sum += f1(&article.text, &html_to_text(&expected));
                if lenient(article.title.as_deref().unwrap_or_default()) == lenient(want_title) {
                    titles += 1;
                }
            }
            Ok(Err(e)) => failures.push(format!("{name}: {e}")),
            Err(_) => failures.push(format!("{name}: panicked")),
        }
    }
    if n == 0 {
        eprintln!("skipped: no pages in {}", root.display());
        return;
    }
    let mean_f1 = f1_sum / n as f64;
    let title_rate = titles as f64 / n as f64;
    println!(
        "readability: {n} pages, mean token F1 {mean_f1:.3}, title agreement {title_rate:.3}, \
         slowest {} ({:.0} ms, {} build)",
        slowest.1,
        slowest.0.as_secs_f64() * 1000.0,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    assert!(
        failures.is_empty(),
        "failed pages:\n{}",
        failures.join("\n")
    );
    assert!(mean_f1 >= F1_BAR, "mean token F1 {mean_f1:.3} < {F1_BAR}");
    assert!(
        title_rate >= TITLE_BAR,
        "title agreement {title_rate:.3} < {TITLE_BAR}"
    );
}
