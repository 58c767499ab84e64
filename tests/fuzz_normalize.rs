//! Stable-toolchain fuzzing of the normalizer stage (parse + normalize +
//! feature extraction), for machines without nightly/cargo-fuzz (the
//! cargo-fuzz target is `tests/fuzz`).
//!
//! Feeds random bytes and mutations (bit flips, byte and chunk edits,
//! splices, truncations, repeats, tricky markup fragments) of seed
//! documents (`../shared/conformance` when present, `tests/fixtures`, and a
//! few built-in ones) through `feedfold::normalizer::normalize`. A panic
//! that escapes `normalize`, a contained feed-rs panic, or one input taking
//! over 5 s is a finding: the input is written to `target/fuzz-findings/`
//! and the test fails.
//!
//! - `fuzz_smoke` (always run): 300 deterministic inputs, well under a
//!   second.
//! - `fuzz_normalize_timed` (ignored): runs for FEEDFOLD_FUZZ_SECONDS
//!   (default 120) from seed FEEDFOLD_FUZZ_SEED; see tests/REPORTS.md, "Parsing conformance".

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::DateTime;
use feedfold::model::RawDocument;
use feedfold::normalizer::{normalize, Identity, NormalizeError};

/// Largest input tried.
const MAX_INPUT: usize = 256 * 1024;
/// Slowest a single input may be.
const SLOW: Duration = Duration::from_secs(5);

const FRAGMENTS: &[&str] = &[
    "<",
    ">",
    "</",
    "/>",
    "&",
    "&amp;",
    "&nbsp;",
    "&#x0;",
    "&#99999999;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?xml version=\"1.0\" encoding=\"utf-16\"?>",
    "<!DOCTYPE rss [<!ENTITY a \"&a;&a;\">]>",
    "<rss version=\"2.0\">",
    "<channel>",
    "<item>",
    "</item>",
    "<feed xmlns=\"http://purl.org/atom/ns#\">",
    "<entry>",
    "<content type=\"application/octet-stream\" mode=\"base64\">",
    "<title type=\"xhtml\">",
    "<summary type=\"\">",
    "<CHANNEL HREF=\"x\">",
    "<ITEM LASTMOD=\"2004-13-45\">",
    "<body xmlns=\"http://www.w3.org/1999/xhtml\">",
    "<pubDate>",
    "Thu, 99 Jan 0000 99:99:99 +9999",
    "9999-12-31T23:59:59-23:59",
    "<script>alert(1)</script>",
    "<a href=\"javascript:x\" onclick=\"y\">",
    "style=\"background:url(javascript:x)\"",
    "\u{0}",
    "\u{FEFF}",
    "\u{FFFD}",
    "{\"version\":\"x\",\"items\":[{\"id\":1}]}",
    "xml:base=\"../../\"",
    "rdf:about=\"",
];

const BUILT_IN: &[&str] = &[
    "<rss version=\"2.0\"><channel><title>T</title><item><title>A</title><guid>g</guid><description>&lt;p&gt;x&lt;/p&gt;</description><pubDate>Wed, 11 Mar 2026 10:41:04 +0000</pubDate></item></channel></rss>",
    "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"html\">&lt;b&gt;T&lt;/b&gt;</title><entry><id>1</id><title>E</title><content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">x</div></content><updated>2026-03-11T10:41:04Z</updated></entry></feed>",
    "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\"><channel rdf:about=\"x\"/><item rdf:about=\"y\"><title>t</title></item></rdf:RDF>",
    "{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{\"id\":\"1\",\"content_html\":\"<p>x</p>\"}]}",
    "<CHANNEL HREF=\"http://x/\"><ITEM HREF=\"http://x/1\"><TITLE>t</TITLE><ABSTRACT>a</ABSTRACT></ITEM></CHANNEL>",
];

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = BUILT_IN.iter().map(|s| s.as_bytes().to_vec()).collect();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in [
        manifest.join("tests/fixtures"),
        manifest.join("tests/samples"),
        manifest.join("../shared/conformance"),
    ] {
        let mut files = Vec::new();
        walk(&dir, &mut files);
        for f in files {
            if let Ok(bytes) = std::fs::read(&f) {
                if bytes.len() <= MAX_INPUT {
                    out.push(bytes);
                }
            }
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// One mutated input.
fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = if rng.below(20) == 0 {
        (0..rng.below(512)).map(|_| rng.next() as u8).collect()
    } else {
        seeds[rng.below(seeds.len())].clone()
    };
    for _ in 0..=rng.below(8) {
        let len = data.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                let frag = FRAGMENTS[rng.below(FRAGMENTS.len())].as_bytes();
                data.splice(i..i, frag.iter().copied());
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(len - i + 1).min(64);
                data.drain(i..i + n);
            }
            4 if len > 0 => data.truncate(rng.below(len)),
            5 if len > 0 => {
                // Repeat a chunk (deep nesting, long runs).
                let i = rng.below(len);
                let n = rng.below(len - i + 1).min(32);
                let chunk: Vec<u8> = data[i..i + n].to_vec();
                for _ in 0..rng.below(200) {
                    data.splice(i..i, chunk.iter().copied());
                }
            }
            6 => {
                // Splice in part of another seed.
                let other = &seeds[rng.below(seeds.len())];
                let j = rng.below(other.len() + 1);
                let n = rng.below(other.len() - j + 1);
                let i = rng.below(len + 1);
                data.splice(i..i, other[j..j + n].iter().copied());
            }
            7 if len > 1 => {
                // Swap two bytes.
                let (i, j) = (rng.below(len), rng.below(len));
                data.swap(i, j);
            }
            _ => {
                let i = rng.below(len + 1);
                data.insert(i, rng.next() as u8);
            }
        }
        data.truncate(MAX_INPUT);
    }
    data
}

fn save_finding(data: &[u8], what: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-findings");
    let _ = std::fs::create_dir_all(&dir);
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("{hash:016x}.bin"));
    let _ = std::fs::write(&path, data);
    format!("{what}: {}", path.display())
}

/// Runs inputs until `budget` is spent or `max_inputs` are tried; returns
/// (inputs tried, findings).
fn fuzz(seed: u64, budget: Duration, max_inputs: usize) -> (usize, Vec<String>) {
    let seeds = seeds();
    let mut rng = Rng(seed | 1);
    let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    let mut tried = 0;
    let mut findings = Vec::new();
    while tried < max_inputs && start.elapsed() < budget {
        let data = mutate(&mut rng, &seeds);
        let doc = RawDocument {
            name: "fuzz".into(),
            fetched_url: None,
            path: Some("/fuzz.xml".into()),
            http_charset: None,
            bytes: data.clone(),
        };
        let t = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            normalize(&doc, &Identity::default(), now)
        }));
        let took = t.elapsed();
        match outcome {
            Err(_) => findings.push(save_finding(&data, "panic escaped normalize")),
            Ok(Err(NormalizeError::ParserPanic(m))) => {
                findings.push(save_finding(&data, &format!("feed-rs panicked ({m})")))
            }
            Ok(_) if took > SLOW => {
                findings.push(save_finding(&data, &format!("slow input ({took:?})")))
            }
            Ok(_) => {}
        }
        tried += 1;
    }
    std::panic::set_hook(hook);
    (tried, findings)
}

#[test]
fn fuzz_smoke() {
    let (tried, findings) = fuzz(0x5EED, Duration::from_secs(60), 300);
    assert!(tried > 0);
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

#[test]
#[ignore = "long-running; see tests/REPORTS.md, section Parsing conformance"]
fn fuzz_normalize_timed() {
    let secs = std::env::var("FEEDFOLD_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let seed = std::env::var("FEEDFOLD_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00C0_FFEE);
    let (tried, findings) = fuzz(seed, Duration::from_secs(secs), usize::MAX);
    eprintln!(
        "fuzz: {tried} inputs in {secs} s (seed {seed}), {} findings",
        findings.len()
    );
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}
