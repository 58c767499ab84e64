//! Data that flows between the pipeline stages, and the leaf types every
//! stage shares.
//!
//! The fetcher produces a [`RawDocument`] (with the [`Validators`] and
//! [`Hints`] of its response); the normalizer turns it into a
//! [`NormalizedFeed`] of [`NormalizedEntry`] values (each carrying the
//! detector's [`Features`]); the store's writer groups and persists them and
//! answers with an [`IngestReport`]. A [`FeedSpec`] names a feed to
//! subscribe to; an [`Interval`] is a duration as the config writes it.
//! Nothing here does I/O or imports another stage (only the detector's
//! feature type).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::detector::features::Features;

/// The bytes of one feed document as a source delivered them.
#[derive(Debug, Clone)]
pub struct RawDocument {
    /// Human-readable name of the source, used in every message about it
    /// (a path, `-` for standard input, or a URL).
    pub name: String,
    /// The URL the document was fetched from, for http(s) sources.
    pub fetched_url: Option<String>,
    /// The absolute path of a file source.
    pub path: Option<String>,
    /// The charset named by an HTTP `Content-Type` header, if any.
    pub http_charset: Option<String>,
    /// The document itself.
    pub bytes: Vec<u8>,
}

/// Where an entry's stored `guid` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuidSource {
    /// The document gave an id (RSS `guid`, Atom `id`, JSON Feed `id`, RSS 1.0 `rdf:about`).
    Document,
    /// No id: the entry's link stands in.
    Link,
    /// No id and no link: a stable hash of title and date.
    Hash,
}

impl GuidSource {
    /// The value stored in `entries.guid_source`.
    pub fn as_str(self) -> &'static str {
        match self {
            GuidSource::Document => "document",
            GuidSource::Link => "link",
            GuidSource::Hash => "hash",
        }
    }
}

/// Which of the document's dates `published` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateSource {
    /// The entry's published date.
    Published,
    /// The entry's updated date (no published date given).
    Updated,
    /// No usable date: the time feedfold first saw the entry.
    FirstSeen,
}

impl DateSource {
    /// The value stored in `entries.published_source`.
    pub fn as_str(self) -> &'static str {
        match self {
            DateSource::Published => "published",
            DateSource::Updated => "updated",
            DateSource::FirstSeen => "first_seen",
        }
    }
}

/// One entry after normalization: identity, canonical links, sanitized HTML
/// and plain text, UTC dates and the detector's features.
#[derive(Debug, Clone, Serialize)]
pub struct NormalizedEntry {
    /// The id as the document gives it, or the fallback named by `guid_source`.
    pub guid: String,
    /// Where `guid` came from.
    pub guid_source: GuidSource,
    /// The entry's link, resolved against the feed's base.
    pub url: Option<String>,
    /// `url` in canonical form (see `normalizer::url::canonicalize`).
    pub canonical_url: Option<String>,
    /// Title as plain text (empty if the entry has none).
    pub title: String,
    /// Title as sanitized HTML, when the document marks it as HTML/XHTML
    /// (or, outside Atom, when it holds markup). Shown by `parse --json`
    /// only; not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_html: Option<String>,
    /// Author names, comma-separated.
    pub author: Option<String>,
    /// Authors with their e-mail addresses, when the document gives an
    /// address for any. Shown by `parse --json` only; not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authors: Option<Vec<Author>>,
    /// Categories (tags) as the document gives them. Shown by
    /// `parse --json` only; not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<Category>>,
    /// Enclosures (RSS `enclosure`, Atom `link rel="enclosure"`, Media RSS
    /// content). Shown by `parse --json` only; not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enclosures: Option<Vec<Enclosure>>,
    /// Summary as sanitized HTML.
    pub summary_html: Option<String>,
    /// Summary as plain text.
    pub summary_text: Option<String>,
    /// Full content as sanitized HTML.
    pub content_html: Option<String>,
    /// Full content as plain text.
    pub content_text: Option<String>,
    /// Published, else updated, else first-seen time (UTC).
    pub published: DateTime<Utc>,
    /// Which date `published` is.
    pub published_source: DateSource,
    /// The entry's updated date, if the document gives one.
    pub updated: Option<DateTime<Utc>>,
    /// The news agency the text credits ("(Reuters) -", "Source: AFP"...).
    pub credited_wire: Option<String>,
    /// Near-duplicate features (fingerprint, shingles, title words).
    #[serde(skip)]
    pub features: Features,
}

/// An entry's author, for `parse --json` ([`NormalizedEntry::authors`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Author {
    /// The name, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The e-mail address, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// An entry's enclosure, for `parse --json` ([`NormalizedEntry::enclosures`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enclosure {
    /// Where the enclosed file is.
    pub href: String,
    /// Its size in bytes, as the document gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<String>,
    /// Its MIME type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

/// An entry's category, for `parse --json` ([`NormalizedEntry::categories`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Category {
    /// The category itself.
    pub term: String,
    /// The categorization scheme (RSS `domain`, Atom `scheme`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// A human-readable label (Atom `label`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl NormalizedEntry {
    /// The longest plain text the entry carries (content, else summary).
    pub fn best_text(&self) -> &str {
        match (&self.content_text, &self.summary_text) {
            (Some(c), Some(s)) if s.len() > c.len() => s,
            (Some(c), _) => c,
            (None, Some(s)) => s,
            (None, None) => "",
        }
    }
}

/// The feed format a document was recognized as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedFormat {
    /// RSS 2.0 (and undeclared RSS versions).
    Rss2,
    /// RSS 0.9x.
    Rss0,
    /// RSS 1.0 (RDF).
    Rss1,
    /// Atom 1.0.
    Atom,
    /// JSON Feed.
    Json,
}

impl FeedFormat {
    /// The value stored in `feeds.format`.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedFormat::Rss2 => "rss2",
            FeedFormat::Rss0 => "rss0",
            FeedFormat::Rss1 => "rss1",
            FeedFormat::Atom => "atom",
            FeedFormat::Json => "json",
        }
    }
}

/// A whole feed document after normalization.
#[derive(Debug, Clone, Serialize)]
pub struct NormalizedFeed {
    /// The feed's identity (`feeds.url`): `--feed-url`, else the fetched URL,
    /// else the self link, else the home link, else the file's path.
    pub url: String,
    /// Feed title as plain text.
    pub title: Option<String>,
    /// Feed title as sanitized HTML, under the rule of
    /// [`NormalizedEntry::title_html`]. Shown by `parse --json` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_html: Option<String>,
    /// The feed's home page.
    pub site_url: Option<String>,
    /// The feed's self link, if the document gives one.
    pub self_url: Option<String>,
    /// Feed description as plain text.
    pub description: Option<String>,
    /// Recognized format.
    pub format: FeedFormat,
    /// The character encoding the document was decoded from.
    pub encoding: &'static str,
    /// Entries in document order.
    pub entries: Vec<NormalizedEntry>,
    /// Problems that did not stop the document from being read.
    pub warnings: Vec<String>,
}

/// What the writer did with one feed document.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct IngestReport {
    /// `feeds.id` of the feed.
    pub feed_id: i64,
    /// Entries stored for the first time.
    pub new: usize,
    /// Entries already stored whose content changed.
    pub updated: usize,
    /// Entries already stored, unchanged.
    pub unchanged: usize,
    /// New entries that joined an existing story.
    pub joined: usize,
    /// Stories folded into another because a new entry matched both.
    pub merged: usize,
    /// New entries whose story started an event of its own.
    pub new_events: usize,
}

impl IngestReport {
    /// Adds another report's counts to this one (for totals).
    pub fn add(&mut self, other: &IngestReport) {
        self.new += other.new;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.joined += other.joined;
        self.merged += other.merged;
        self.new_events += other.new_events;
    }
}

/// A duration in the configuration, written like `90s`, `30m`, `24h`, `7d`
/// or `2w` (a bare number is seconds).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval(pub Duration);

impl Interval {
    /// Whole seconds.
    pub const fn secs(s: u64) -> Interval {
        Interval(Duration::from_secs(s))
    }

    /// Parses `90s`, `30m`, `24h`, `7d`, `2w` or a number of seconds.
    pub fn parse(s: &str) -> Option<Interval> {
        let s = s.trim();
        if let Ok(n) = s.parse::<u64>() {
            return Some(Interval::secs(n));
        }
        let d = parse_duration(s)?;
        let secs = u64::try_from(d.num_seconds()).ok()?;
        Some(Interval::secs(secs))
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Interval {
    /// The largest unit that divides the duration exactly (`90m`, `2h`, `7d`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs();
        for (unit, n) in [("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60)] {
            if s >= n && s % n == 0 {
                return write!(f, "{}{unit}", s / n);
            }
        }
        write!(f, "{s}s")
    }
}

impl Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Interval, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Interval;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like \"90s\", \"30m\", \"24h\", \"7d\" or \"2w\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Interval, E> {
                Interval::parse(v)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Interval, E> {
                u64::try_from(v)
                    .map(Interval::secs)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// The validators kept from the last full response, for the next
/// conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The `ETag` header.
    pub etag: Option<String>,
    /// The `Last-Modified` header.
    pub last_modified: Option<String>,
}

/// What a response asked for about when to come back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hints {
    /// RSS `<ttl>`.
    pub ttl: Option<Duration>,
    /// `Cache-Control: max-age` (or `s-maxage`).
    pub max_age: Option<Duration>,
    /// `Expires`.
    pub expires: Option<DateTime<Utc>>,
    /// `Retry-After` (on 429 and 503, and on any response that sends it).
    pub retry_after: Option<Duration>,
}

impl Hints {
    /// The longest delay the hints ask for at `now` (uncapped; the
    /// scheduler's policy caps it).
    pub fn longest(&self, now: DateTime<Utc>) -> Option<Duration> {
        let expires = self.expires.and_then(|e| (e - now).to_std().ok());
        [self.ttl, self.max_age, expires, self.retry_after]
            .into_iter()
            .flatten()
            .max()
    }
}

/// A feed to subscribe to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSpec {
    /// The feed's URL.
    pub url: String,
    /// A display name.
    pub name: Option<String>,
    /// Its own fixed interval.
    pub interval: Option<Duration>,
    /// Its own full-text mode (else `[full_text] mode`).
    pub full_text: Option<FullTextMode>,
}

#[cfg(test)]
impl FeedSpec {
    /// A subscription to `url` with every setting left to the defaults.
    pub(crate) fn of_url(url: &str) -> FeedSpec {
        FeedSpec {
            url: url.into(),
            name: None,
            interval: None,
            full_text: None,
        }
    }
}

/// When the article behind an entry's link is fetched (`full_text` of a
/// feed, `[full_text] mode`, `--full-text`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FullTextMode {
    /// When the entry's text is too short to judge or looks cut, unless
    /// the feed's entries carry full text.
    #[default]
    Auto,
    /// For every entry with an http(s) link.
    Always,
    /// Never.
    Never,
}

impl FullTextMode {
    /// The name in the config and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            FullTextMode::Auto => "auto",
            FullTextMode::Always => "always",
            FullTextMode::Never => "never",
        }
    }
}

impl std::str::FromStr for FullTextMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(FullTextMode::Auto),
            "always" => Ok(FullTextMode::Always),
            "never" => Ok(FullTextMode::Never),
            other => Err(format!("{other:?}: expected auto, always or never")),
        }
    }
}

/// Hides the passwords of URLs in a text (`https://user:secret@host/` →
/// `https://user:***@host/`): feed URLs may carry credentials, and logs,
/// `status`, `feeds list` and error messages show URLs.
pub fn redact_credentials(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("://") || !text.contains('@') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#' or whitespace.
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Formats a time the way the store and every output do: ISO-8601, UTC, seconds.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses a time written by [`format_time`] (or any RFC 3339 time).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Parses a duration like `90s`, `30m`, `24h`, `7d` or `2w`.
pub fn parse_duration(s: &str) -> Option<chrono::Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().ok()?;
    let seconds = match unit.trim() {
        "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 604_800,
        _ => return None,
    };
    chrono::Duration::try_seconds(n.checked_mul(seconds)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("24h"), chrono::Duration::try_hours(24));
        assert_eq!(parse_duration("7d"), chrono::Duration::try_days(7));
        assert_eq!(parse_duration("90s"), chrono::Duration::try_seconds(90));
        assert_eq!(parse_duration("2w"), chrono::Duration::try_weeks(2));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("3 fortnights"), None);
        assert_eq!(parse_duration("99999999999999999w"), None);
    }

    #[test]
    fn intervals_parse_and_print() {
        assert_eq!(Interval::parse("90m"), Some(Interval::secs(5400)));
        assert_eq!(Interval::parse("45"), Some(Interval::secs(45)));
        assert_eq!(Interval::parse("soon"), None);
        assert_eq!(Interval::secs(5400).to_string(), "90m");
        assert_eq!(Interval::secs(86_400).to_string(), "1d");
        assert_eq!(Interval::secs(61).to_string(), "61s");
    }

    #[test]
    fn the_longest_hint_wins() {
        let now = parse_time("2015-10-21T07:00:00Z").expect("time");
        let h = Hints {
            ttl: Some(Duration::from_secs(60)),
            expires: Some(now + chrono::Duration::hours(3)),
            max_age: Some(Duration::from_secs(3600)),
            retry_after: None,
        };
        assert_eq!(h.longest(now), Some(Duration::from_secs(3 * 3600)));
        let past = Hints {
            expires: Some(now - chrono::Duration::hours(3)),
            ..Hints::default()
        };
        assert_eq!(past.longest(now), None);
    }

    #[test]
    fn credentials_in_urls_are_hidden() {
        assert_eq!(
            redact_credentials("GET https://ann:s3cret@feeds.example/rss?x=1 failed"),
            "GET https://ann:***@feeds.example/rss?x=1 failed"
        );
        assert_eq!(
            redact_credentials("http://token@h/ and http://a:b:c@h2"),
            "http://token@h/ and http://a:***@h2"
        );
        assert_eq!(
            redact_credentials("mail ann@example.org"),
            "mail ann@example.org"
        );
        assert!(matches!(
            redact_credentials("https://h/a@b"),
            std::borrow::Cow::Owned(ref s) if s == "https://h/a@b"
        ));
    }

    #[test]
    fn times_round_trip() {
        let t = parse_time("2026-03-11T10:41:04Z").expect("parses");
        assert_eq!(format_time(t), "2026-03-11T10:41:04Z");
        assert_eq!(parse_time("yesterday"), None);
    }
}
