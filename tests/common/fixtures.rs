//! The shipped feed files: `tests/fixtures/` (one news story in four
//! outlets' copies, plus briefs and unrelated entries; see the guids) and
//! `tests/samples/` (a wire story, its re-translated copy and its summary).

use std::path::{Path, PathBuf};

/// Guids of the fixtures (see `tests/fixtures/`).
pub mod guid {
    /// Example Wire (RSS 2.0): the full wire text of the port strike story.
    pub const WIRE_FULL: &str = "wire-2026-0311-port-strike";
    /// Example Wire: Acme's earnings brief.
    pub const WIRE_ACME: &str = "wire-2026-0311-acme-q1";
    /// Example Wire: unrelated.
    pub const WIRE_WHEAT: &str = "wire-2026-0311-italy-wheat";
    /// Example Wire: unrelated, no `<guid>`: its link stands in.
    pub const WIRE_NORWAY: &str = "https://wire.example.com/news/norway-central-bank-holds-rates";
    /// Morning Digest (Atom): a two-paragraph summary of the port strike story.
    pub const DIGEST_SUMMARY: &str = "tag:digest.example.org,2026:port-1";
    /// Morning Digest: a copy of Acme's brief.
    pub const DIGEST_ACME: &str = "tag:digest.example.org,2026:acme-q1";
    /// Morning Digest: unrelated.
    pub const DIGEST_LAPTOP: &str = "tag:digest.example.org,2026:laptop";
    /// Eurodesk (RSS 1.0): retitled copy with "Source: ..." and an author bio.
    pub const EURO_RETITLED: &str = "https://eurodesk.example.eu/item/4411";
    /// Eurodesk: unrelated, same author bio.
    pub const EURO_TUNNEL: &str = "https://eurodesk.example.eu/item/4412";
    /// Aggregator Now (JSON Feed): copy with a tracking-parameter link.
    pub const AGG_TRACKED: &str = "agg-98765";
    /// Aggregator Now: Basix's earnings brief (same template as Acme's).
    pub const AGG_BASIX: &str = "agg-98770";
    /// Aggregator Now: unrelated.
    pub const AGG_MARATHON: &str = "agg-98771";
    /// Local Notes (no self or home link): its only entry.
    pub const NOTES_LIBRARY: &str = "notes-library-hours";
}

/// The four copies of the port strike story, one per feed.
pub const PORT_COPIES: [&str; 4] = [
    guid::WIRE_FULL,
    guid::DIGEST_SUMMARY,
    guid::EURO_RETITLED,
    guid::AGG_TRACKED,
];

/// The four good feed fixtures that carry the port strike story.
pub const GOOD_FEEDS: [&str; 4] = ["wire.xml", "digest.atom", "eurodesk.rdf", "aggregator.json"];

/// Entries in [`GOOD_FEEDS`].
pub const GOOD_ENTRIES: i64 = 12;

/// Path of a fixture file.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// Text of a fixture file.
pub fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("fixture is readable")
}

/// Self link of Example Wire.
pub const WIRE_SELF: &str = "https://wire.example.com/feeds/top.xml";
/// Self link of Morning Digest.
pub const DIGEST_SELF: &str = "https://digest.example.org/atom.xml";
/// Self link of Eurodesk (its channel's `rdf:about`).
pub const EURO_SELF: &str = "https://eurodesk.example.eu/rss.rdf";
/// Self link of Aggregator Now (its `feed_url`).
pub const AGG_SELF: &str = "https://agg.example.net/feed.json";

/// Title of the port strike story (the full wire text's).
pub const PORT_TITLE: &str = "Rotterdam port strike halts container traffic for second day";

/// The sample feeds of `tests/samples/`.
pub const SAMPLES: [&str; 3] = ["wire.xml", "skai.atom", "briefs.json"];

/// Title of the story the three samples carry.
pub const PUTIN_TITLE: &str =
    "Putin ready to halt Ukraine war with ceasefire recognising current lines";

/// Path of a sample file.
pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("samples")
        .join(name)
}

/// Paths of the three samples, in [`SAMPLES`] order.
pub fn samples() -> Vec<PathBuf> {
    SAMPLES.iter().map(|s| sample(s)).collect()
}
