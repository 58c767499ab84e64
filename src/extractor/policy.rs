//! When an entry's article is fetched: the `[full_text]` table and the
//! rule of `full_text = "auto"`.
//!
//! The store applies the rule as it inserts a new entry ([`wants_article`]),
//! the runner and `feedfold ingest --full-text` apply the limits.

use serde::{Deserialize, Serialize};

use super::readability::count_words;
use crate::model::{FullTextMode, Interval};

/// The config's `[full_text]` table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FullTextConfig {
    /// The mode of feeds that set none (`full_text` in `[[feeds]]`,
    /// `feeds add --full-text`).
    pub mode: FullTextMode,
    /// With `auto`, an entry whose text has fewer words than this is too
    /// short to judge, and its article is fetched. Also: a feed at least
    /// half of whose entries have this many words (and do not look cut)
    /// carries full text, and none of its articles are fetched.
    pub min_words: usize,
    /// Most articles one poll of one feed queues (the entries after them
    /// keep their feed text).
    pub per_poll: usize,
    /// Most article fetches at once (with their own per-host and global
    /// permits: an article never holds a permit a feed poll waits for).
    pub concurrency: usize,
    /// Most fetched articles waiting for the writer; when it is full,
    /// fetching waits.
    pub queue: usize,
    /// Attempts per article before it is left alone.
    pub max_attempts: u32,
    /// Wait before the second attempt; it doubles at each failure.
    pub retry_after: Interval,
}

/// Default for [`FullTextConfig::min_words`].
pub const DEFAULT_MIN_WORDS: usize = 150;

impl Default for FullTextConfig {
    fn default() -> Self {
        FullTextConfig {
            mode: FullTextMode::Auto,
            min_words: DEFAULT_MIN_WORDS,
            per_poll: 10,
            concurrency: 2,
            queue: 32,
            max_attempts: 3,
            retry_after: Interval::secs(600),
        }
    }
}

impl FullTextConfig {
    /// Checks the values; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.concurrency == 0 || self.queue == 0 || self.max_attempts == 0 {
            return Err(
                "full_text.concurrency, full_text.queue and full_text.max_attempts must be at least 1"
                    .into(),
            );
        }
        if self.retry_after.0.is_zero() {
            return Err("full_text.retry_after must be longer than 0s".into());
        }
        Ok(())
    }

    /// When attempt `attempts` (1 for the first) failed at `now`
    /// (Unix seconds), the next is due; `None`: no more attempts.
    pub fn next_attempt(&self, attempts: u32, now: i64) -> Option<i64> {
        if attempts >= self.max_attempts {
            return None;
        }
        let base = self.retry_after.0.as_secs() as i64;
        let factor = 1i64 << attempts.saturating_sub(1).min(16);
        Some(now.saturating_add(base.saturating_mul(factor)))
    }
}

/// Endings that mark a summary cut short of its article.
const CUT_MARKERS: &[&str] = &[
    "read more",
    "continue reading",
    "read the full",
    "full story",
];

/// Whether a text looks cut: it ends with an ellipsis (`…`, `...`,
/// `[…]`) or its last line invites to read more ("Read more",
/// "Continue reading", "Read the full story", "Full story").
pub fn looks_cut(text: &str) -> bool {
    let t = text
        .trim_end()
        .trim_end_matches([']', ')', '»', '>', '→', ' ']);
    if t.ends_with('…') || t.ends_with("...") {
        return true;
    }
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_lowercase();
    let tail: String = last
        .chars()
        .rev()
        .take(60)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    CUT_MARKERS.iter().any(|m| tail.contains(m))
}

/// Whether an entry's text is too short to judge or looks cut.
pub fn is_summary(text: &str, min_words: usize) -> bool {
    count_words(text) < min_words || looks_cut(text)
}

/// Whether a document's entries carry full text: at least half of those
/// with any text have [`FullTextConfig::min_words`] words and do not look
/// cut. Such a feed's articles are never fetched in `auto` mode.
pub fn carries_full_text<'a>(texts: impl Iterator<Item = &'a str>, min_words: usize) -> bool {
    let (mut full, mut any) = (0usize, 0usize);
    for t in texts.filter(|t| !t.trim().is_empty()) {
        any += 1;
        full += usize::from(!is_summary(t, min_words));
    }
    any > 0 && full * 2 >= any
}

/// Whether the article behind an entry is wanted: never without an
/// http(s) link or in mode `never`; always in mode `always`; in `auto`,
/// when the feed does not carry full text (`feed_full`, from
/// [`carries_full_text`]) and the entry's text is a summary
/// ([`is_summary`]).
pub fn wants_article(
    mode: FullTextMode,
    link: Option<&str>,
    text: &str,
    feed_full: bool,
    min_words: usize,
) -> bool {
    let http = link.is_some_and(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("http://") || l.starts_with("https://")
    });
    match mode {
        _ if !http => false,
        FullTextMode::Never => false,
        FullTextMode::Always => true,
        FullTextMode::Auto => !feed_full && is_summary(text, min_words),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_summaries_are_recognized() {
        assert!(looks_cut("The council voted to close the bridge …"));
        assert!(looks_cut("The council voted to close the bridge [...]"));
        assert!(looks_cut("The council voted.\nRead more »"));
        assert!(looks_cut("The council voted. Continue reading..."));
        assert!(!looks_cut("The council voted to close the bridge."));
    }

    #[test]
    fn auto_fetches_summaries_of_summary_feeds_only() {
        let long = "word ".repeat(200);
        let link = Some("https://example.com/a");
        assert!(wants_article(
            FullTextMode::Auto,
            link,
            "A short summary.",
            false,
            150
        ));
        assert!(!wants_article(FullTextMode::Auto, link, &long, false, 150));
        assert!(!wants_article(
            FullTextMode::Auto,
            link,
            "Short.",
            true,
            150
        ));
        assert!(wants_article(FullTextMode::Always, link, &long, true, 150));
        assert!(!wants_article(
            FullTextMode::Never,
            link,
            "Short.",
            false,
            150
        ));
        assert!(!wants_article(
            FullTextMode::Always,
            Some("ftp://x/y"),
            "",
            false,
            150
        ));
        assert!(!wants_article(FullTextMode::Always, None, "", false, 150));
        assert!(carries_full_text(
            [long.as_str(), long.as_str(), "Short…"].into_iter(),
            150
        ));
        assert!(!carries_full_text(
            ["Short.", "Other…", long.as_str()].into_iter(),
            150
        ));
    }

    #[test]
    fn retries_back_off_then_stop() {
        let c = FullTextConfig::default();
        assert_eq!(c.next_attempt(1, 0), Some(600));
        assert_eq!(c.next_attempt(2, 0), Some(1200));
        assert_eq!(c.next_attempt(3, 0), None);
    }
}
