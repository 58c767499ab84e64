//! Stage 2 of the pipeline: the normalizer (pure, no I/O).
//!
//! Turns one [`RawDocument`] into a [`NormalizedFeed`]: bytes decoded to
//! UTF-8 ([`decode`]), known feed-rs 3 gaps patched (an `<rss>` without a
//! usable `version`, bare `&`, RSS 1.0 `rdf:about` ids in [`decode`]; CDF,
//! Atom 0.3 and odd Atom types, HTML entities, lax JSON Feeds and more in
//! [`fixups`]), the document parsed by feed-rs with the lenient dates of
//! [`dates`] (an element it refuses is dropped and the document read
//! again), and every entry given its identity, resolved and canonical
//! links ([`url`]), sanitized HTML and plain text ([`html`]), a UTC date and
//! the detector's features. A panic inside the parser is caught and becomes
//! an error for this document only.
//!
//! Hostile documents are bounded ([`limits`]) before a parser that
//! recurses or can take more than linear time sees them. A walk over the
//! elements (JSON: over the bytes, [`limits::bound_json`]) refuses a
//! document nested deeper than [`limits::MAX_DEPTH`]
//! ([`NormalizeError::TooDeep`]) and drops the entries and elements over
//! [`limits::MAX_ENTRIES`], [`limits::MAX_ELEMENTS`] and
//! [`limits::MAX_TEXT_ELEMENTS`] (with a warning), before the fix-ups and
//! again, as the walk that also finds truncated documents, before feed-rs.
//! Entry HTML that could cost html5ever more than linear time, or more than
//! the document's budget, is kept as plain text
//! ([`html::sanitize_bounded`]); texts are cut to
//! [`limits::MAX_TEXT_BYTES`], and the features see at most
//! [`limits::DOCUMENT_FEATURE_BYTES`] of a document's text. Callers on
//! threads with small stacks (tokio's blocking pool: 2 MiB) can use
//! [`normalize_on_big_stack`].

pub mod credit;
pub mod dates;
pub mod decode;
pub mod fixups;
pub mod html;
pub mod limits;
#[cfg(test)]
mod test_inputs;
pub mod url;
mod walk;

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed, FeedType, Link, Text};

use self::walk::walk_xml;
use crate::detector::features::{extract_document, fnv1a, EntryText};
use crate::model::{
    DateSource, FeedFormat, GuidSource, NormalizedEntry, NormalizedFeed, RawDocument,
};

/// Why a document could not be normalized.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NormalizeError {
    /// The document holds nothing but whitespace.
    #[error("empty document")]
    Empty,
    /// The XML ends before its root element is closed.
    #[error("truncated XML: the document ends inside <{element}> (byte {offset})")]
    Truncated {
        /// The innermost element left open.
        element: String,
        /// Where the document ends.
        offset: u64,
    },
    /// feed-rs could not read the document as a feed.
    #[error("not a readable feed: {0}")]
    Parse(String),
    /// The parser panicked; the panic was contained to this document.
    #[error("the feed parser crashed on this document: {0}")]
    ParserPanic(String),
    /// Elements (or JSON arrays and objects) nest deeper than
    /// [`limits::MAX_DEPTH`]; refused before any parser recurses into them.
    #[error("nested deeper than {limit} levels: {element} at byte {offset} opens level {depth}")]
    TooDeep {
        /// What opens the level over the limit: `<name>` (XML) or
        /// `a JSON array` / `a JSON object`.
        element: String,
        /// The level it opens (the root is level 1).
        depth: usize,
        /// [`limits::MAX_DEPTH`].
        limit: usize,
        /// Where it opens.
        offset: u64,
    },
}

/// Where the feed's identity comes from, besides the document itself.
#[derive(Debug, Clone, Default)]
pub struct Identity<'a> {
    /// `--feed-url`: overrides everything.
    pub feed_url: Option<&'a str>,
    /// The URL the document was fetched from.
    pub fetched_url: Option<&'a str>,
    /// The absolute path of a file source.
    pub path: Option<&'a str>,
}

/// Normalizes one document. `now` stands in for entries without a date.
///
/// Runs on the calling thread; the nesting limit ([`limits::MAX_DEPTH`])
/// keeps feed-rs's recursion within a 2 MiB stack, and
/// [`normalize_on_big_stack`] adds a thread with a large stack around it.
pub fn normalize(
    doc: &RawDocument,
    identity: &Identity<'_>,
    now: DateTime<Utc>,
) -> Result<NormalizedFeed, NormalizeError> {
    let decode::Decoded {
        text: decoded,
        encoding,
        malformed,
    } = decode::decode_document(&doc.bytes, doc.http_charset.as_deref());
    let mut warnings = Vec::new();
    if malformed {
        warnings.push(format!("invalid {encoding} byte sequences were replaced"));
    }
    let trimmed = decoded.trim_start();
    if trimmed.is_empty() {
        return Err(NormalizeError::Empty);
    }
    let is_json = trimmed.starts_with('{');
    let (mut text, rdf_ids) = if is_json {
        let bounded = limits::bound_json(&decoded).map_err(|e| NormalizeError::TooDeep {
            element: format!("a JSON {}", e.what),
            depth: limits::MAX_DEPTH + 1,
            limit: limits::MAX_DEPTH,
            offset: e.offset as u64,
        })?;
        if bounded.dropped_items > 0 {
            warnings.push(format!(
                "dropped {} items over the limits of {} entries and {} JSON values per document",
                bounded.dropped_items,
                limits::MAX_ENTRIES,
                limits::MAX_JSON_VALUES
            ));
        }
        if bounded.dropped_members > 0 {
            warnings.push(format!(
                "dropped {} JSON array elements or object members over the limits of {} per array or object and {} per document",
                bounded.dropped_members,
                limits::MAX_JSON_MEMBERS,
                limits::MAX_JSON_VALUES
            ));
        }
        let text = match fixups::fix_json_feed(&bounded.text) {
            Some(fixed) => fixed,
            None => bounded.text.into_owned(),
        };
        (text, Vec::new())
    } else {
        // The fix-ups keep stacks of open elements too, and each reads the
        // whole text: refuse a document nested too deep, and drop what is
        // over the limits, before they read it.
        let walked = walk_xml(&decoded, false)?;

        let mut dropped = (walked.dropped_entries, walked.dropped_elements);
        let decoded = walked.text.unwrap_or(decoded);
        let fixed = match fixups::cdf_to_rss(&decoded) {
            Some(rss) => rss,
            None => decoded,
        };
        let fixed = then(fixed, fixups::wrap_bare_channel);
        let fixed = then(fixed, fixups::fix_declarations);
        let fixed = then(fixed, fixups::close_final_tag);
        let fixed = then(fixed, decode::fix_rss_version);
        let fixed = then(fixed, fixups::fix_rss_channel);
        let fixed = then(fixed, fixups::fix_entities);
        let fixed = then(fixed, decode::fix_bare_ampersands);
        let fixed = then(fixed, fixups::fix_atom);
        let fixed = then(fixed, fixups::fix_rss_bodies);
        let fixed = then(fixed, fixups::fix_rss090);
        let fixed = then(fixed, fixups::fix_rss_aliases);
        // What feed-rs reads, again: nesting, truncation, and what is over
        // the limits now that the fix-ups are done.
        let walked = walk_xml(&fixed, true)?;
        dropped.0 += walked.dropped_entries;
        dropped.1 += walked.dropped_elements;
        if dropped.0 > 0 {
            warnings.push(format!(
                "dropped {} entries over the limit of {} per document",
                dropped.0,
                limits::MAX_ENTRIES
            ));
        }
        if dropped.1 > 0 {
            warnings.push(format!(
                "dropped {} elements over the limits of {} per document and {} inside texts",
                dropped.1,
                limits::MAX_ELEMENTS,
                limits::MAX_TEXT_ELEMENTS
            ));
        }
        let fixed = walked.text.unwrap_or(fixed);
        let ids = decode::rss1_item_ids(&fixed);
        (fixed, ids)
    };

    // feed-rs fails the whole document on a base that is not an absolute URL.
    let base = identity
        .feed_url
        .or(identity.fetched_url)
        .filter(|u| ::url::Url::parse(u).is_ok());
    // An element feed-rs refuses fails the whole document; it is dropped
    // and the document read again (a few times at most), so that one bad
    // element does not cost the feed its entries.
    // Mismatched end tags are repaired once, the same way.
    let mut attempts = 0;
    let mut repaired = false;
    let mut respaced = false;
    let mut feed = loop {
        let outcome = match parse_with_feed_rs(&text, base) {
            // feed-rs 3 panics slicing the name next to an e-mail address
            // that touches a non-ASCII character: read it once more with
            // such addresses spaced out.
            Err(NormalizeError::ParserPanic(m)) if !respaced && m.contains("char boundary") => {
                respaced = true;
                match fixups::space_out_emails(&text) {
                    std::borrow::Cow::Owned(t) => {
                        warnings.push("spaced out e-mail addresses feed-rs could not read".into());
                        text = t;
                        continue;
                    }
                    std::borrow::Cow::Borrowed(_) => return Err(NormalizeError::ParserPanic(m)),
                }
            }
            other => other?,
        };
        match outcome {
            Ok(feed) => break feed,
            Err((message, failure)) => {
                let retry = match failure {
                    Failure::Element(p) if !is_json && attempts < MAX_ELEMENT_DROPS => {
                        attempts += 1;
                        fixups::drop_element_ending_at(&text, p)
                            .map(|t| (t, "dropped an element feed-rs refused"))
                    }
                    Failure::Xml if !is_json && !repaired => {
                        repaired = true;
                        match fixups::repair_end_tags(&text) {
                            std::borrow::Cow::Owned(t) => Some((t, "repaired mismatched end tags")),
                            std::borrow::Cow::Borrowed(_) => None,
                        }
                    }
                    _ => None,
                };
                match retry {
                    Some((fixed, what)) => {
                        warnings.push(format!("{what}: {message}"));
                        text = fixed;
                    }
                    None => return Err(NormalizeError::Parse(message)),
                }
            }
        }
    };
    mark_self_link(&mut feed, &text, is_json);
    drop(text);
    Ok(build_feed(
        feed, &rdf_ids, identity, encoding, warnings, now,
    ))
}

/// The stack size of the thread [`normalize_on_big_stack`] starts: far more
/// than normalizing needs within [`limits::MAX_DEPTH`] (the limit is the
/// defence; this is the margin behind it). Only the pages used are
/// allocated.
pub const NORMALIZE_STACK_BYTES: usize = 64 << 20;

/// [`normalize`] on a thread of its own with a [`NORMALIZE_STACK_BYTES`]
/// stack, for callers on threads with small stacks (tokio's blocking pool
/// gives 2 MiB). Blocks until it is done. If no thread can be started,
/// normalizes on the calling thread; a panic on the thread (none is
/// expected: feed-rs's are caught) becomes [`NormalizeError::ParserPanic`].
pub fn normalize_on_big_stack(
    doc: &RawDocument,
    identity: &Identity<'_>,
    now: DateTime<Utc>,
) -> Result<NormalizedFeed, NormalizeError> {
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("feedfold-normalize".into())
            .stack_size(NORMALIZE_STACK_BYTES)
            .spawn_scoped(scope, || normalize(doc, identity, now));
        match spawned {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| Err(NormalizeError::ParserPanic(panic_message(&*panic)))),
            Err(_) => normalize(doc, identity, now),
        }
    })
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// How many refused elements [`normalize`] drops before giving up.
const MAX_ELEMENT_DROPS: usize = 4;

/// Applies a borrowing fix-up to an owned text.
fn then(text: String, fix: impl Fn(&str) -> std::borrow::Cow<'_, str>) -> String {
    match fix(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(fixed) => fixed,
    }
}

/// What kind of feed-rs failure a document had.
enum Failure {
    /// It refused the element whose start tag ends at this byte.
    Element(usize),
    /// The XML is not well-formed.
    Xml,
    /// Anything else.
    Other,
}

/// Runs feed-rs with feedfold's settings (lenient dates, no generated ids)
/// and contains its panics. The inner error is feed-rs's message and what
/// kind of failure it is.
#[allow(clippy::type_complexity)]
fn parse_with_feed_rs(
    text: &str,
    base: Option<&str>,
) -> Result<Result<Feed, (String, Failure)>, NormalizeError> {
    use feed_rs::parser::{ParseErrorKind, ParseFeedError};
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        feed_rs::parser::Builder::new()
            .base_uri(base)
            .id_generator(|_, _, _| String::new())
            .timestamp_parser(dates::parse_date)
            .build()
            .parse(text.as_bytes())
    }));
    match parsed {
        Ok(Ok(feed)) => Ok(Ok(feed)),
        Ok(Err(e)) => {
            let failure = match &e {
                ParseFeedError::ParseError(
                    ParseErrorKind::UnknownMimeType { position, .. }
                    | ParseErrorKind::MissingContent { position, .. }
                    | ParseErrorKind::UnknownEnumVariant { position, .. }
                    | ParseErrorKind::IllegalState { position, .. },
                ) => usize::try_from(*position).map_or(Failure::Other, Failure::Element),
                ParseFeedError::XmlReader(_) => Failure::Xml,
                _ => Failure::Other,
            };
            Ok(Err((e.to_string(), failure)))
        }
        Err(panic) => Err(NormalizeError::ParserPanic(panic_message(&*panic))),
    }
}

/// Gives the document's own URL the `self` relation where feed-rs 3 does
/// not: JSON Feed's `feed_url` (which it keeps as a link without a
/// relation, like `home_page_url`) and RSS 1.0's channel `rdf:about`
/// (which it drops).
fn mark_self_link(feed: &mut Feed, text: &str, is_json: bool) {
    if link_of(&feed.links, "self").is_some() {
        return;
    }
    let own = if is_json {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("feed_url")?.as_str().map(str::to_string))
    } else if feed.feed_type == FeedType::RSS1 {
        decode::rss1_channel_about(text)
    } else {
        None
    };
    let Some(own) = own.map(|u| u.trim().to_string()).filter(|u| !u.is_empty()) else {
        return;
    };
    feed.links.push(Link {
        href: own,
        target: None,
        rel: Some("self".into()),
        media_type: None,
        href_lang: None,
        title: None,
        length: None,
    });
}

fn format_of(t: &FeedType) -> FeedFormat {
    match t {
        FeedType::Atom => FeedFormat::Atom,
        FeedType::JSON => FeedFormat::Json,
        FeedType::RSS0 => FeedFormat::Rss0,
        FeedType::RSS1 => FeedFormat::Rss1,
        FeedType::RSS2 => FeedFormat::Rss2,
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Plain text of a short field (a title, a name, a category): converted
/// from HTML (tags removed, entities decoded) when it is declared HTML, or
/// when it holds markup ([`html::looks_like_markup`]) in a format that
/// does not declare its text types (all but Atom, whose text constructs,
/// names and categories are plain text unless typed HTML, and are kept
/// literally: `<b>` in a title of type text is text); whitespace
/// collapsed, cut to [`limits::MAX_FIELD_BYTES`]. Prose with `<` (`a < b`)
/// stays as it is.
fn plain_str(s: &str, declared_html: bool, format: FeedFormat) -> String {
    let detected = format != FeedFormat::Atom && html::looks_like_markup(s);
    let mut text = if declared_html || detected {
        collapse(&html::html_to_text(s))
    } else {
        collapse(s)
    };
    limits::truncate_at_char(&mut text, limits::MAX_FIELD_BYTES);
    text
}

/// Plain text of a title or other short text construct ([`plain_str`]).
fn plain(text: &Text, format: FeedFormat) -> String {
    let declared = text.content_type.subty().as_str().contains("html");
    plain_str(&text.content, declared, format)
}

/// Sanitized HTML of a title or other short text construct, when it is
/// declared HTML/XHTML, or holds markup in a format without declared types
/// (not Atom). Within the document's HTML budget only.
fn plain_html(
    text: &Text,
    format: FeedFormat,
    base: Option<&::url::Url>,
    budget: &mut html::HtmlBudget,
) -> Option<String> {
    let declared = text.content_type.subty().as_str().contains("html");
    let markup = format != FeedFormat::Atom && html::looks_like_html(&text.content);
    if !(declared || markup) {
        return None;
    }
    html::sanitize_bounded(text.content.trim(), base, budget)
        .ok()
        .filter(|h| !h.is_empty())
}

/// Sanitized HTML and plain text of a body that may be HTML or text, and
/// what was left out of them (for a warning). HTML that
/// [`html::sanitize_bounded`] refuses keeps its plain text only (as HTML
/// paragraphs); text is cut to [`limits::MAX_TEXT_BYTES`].
fn body(
    raw: &str,
    declared_html: bool,
    base: Option<&::url::Url>,
    budget: &mut html::HtmlBudget,
) -> Option<(String, String, Vec<String>)> {
    if raw.trim().is_empty() {
        return None;
    }
    let mut notes = Vec::new();
    if declared_html || html::looks_like_html(raw) {
        let mut text = html::html_to_text(raw);
        if limits::truncate_at_char(&mut text, limits::MAX_TEXT_BYTES) {
            notes.push(format!("text cut to {} bytes", limits::MAX_TEXT_BYTES));
        }
        let html = match html::sanitize_bounded(raw.trim(), base, budget) {
            Ok(h) => h,
            Err(why) => {
                notes.push(format!("kept as plain text: {why}"));
                html::text_to_html(&text)
            }
        };
        Some((html, text, notes))
    } else {
        let text: Vec<String> = raw
            .lines()
            .map(collapse)
            .filter(|l| !l.is_empty())
            .collect();
        let mut text = text.join("\n");
        if limits::truncate_at_char(&mut text, limits::MAX_TEXT_BYTES) {
            notes.push(format!("text cut to {} bytes", limits::MAX_TEXT_BYTES));
        }
        Some((html::text_to_html(&text), text, notes))
    }
}

/// The longest prefix of `text` (whole lines) whose features cost (bytes,
/// plus [`limits::FEATURE_BYTES_PER_LINE`] per line) fits `budget`, and
/// that cost.
fn feature_prefix(text: &str, budget: usize) -> (&str, usize) {
    let lines = text.bytes().filter(|&c| c == b'\n').count() + 1;
    let cost = text.len() + lines * limits::FEATURE_BYTES_PER_LINE;
    if cost <= budget {
        return (text, cost);
    }
    let mut end = 0;
    let mut spent = 0;
    for line in text.split_inclusive('\n') {
        let more = line.len() + limits::FEATURE_BYTES_PER_LINE;
        if spent + more > budget {
            break;
        }
        spent += more;
        end += line.len();
    }
    (text.get(..end).unwrap_or_default(), spent)
}

fn link_of<'a>(links: &'a [Link], rel: &str) -> Option<&'a Link> {
    links.iter().find(|l| l.rel.as_deref() == Some(rel))
}

fn home_link(links: &[Link]) -> Option<&Link> {
    link_of(links, "alternate")
        .or_else(|| links.iter().find(|l| l.rel.is_none()))
        .or_else(|| links.iter().find(|l| l.rel.as_deref() != Some("self")))
}

fn build_feed(
    feed: Feed,
    rdf_ids: &[Option<String>],
    identity: &Identity<'_>,
    encoding: &'static str,
    warnings: Vec<String>,
    now: DateTime<Utc>,
) -> NormalizedFeed {
    let self_url = link_of(&feed.links, "self").and_then(|l| url::resolve(&l.href, None));
    let site_url = home_link(&feed.links).and_then(|l| url::resolve(&l.href, self_url.as_ref()));
    let feed_id = identity
        .feed_url
        .map(str::to_string)
        .or_else(|| identity.fetched_url.map(str::to_string))
        .or_else(|| self_url.as_ref().map(|u| u.to_string()))
        .or_else(|| site_url.as_ref().map(|u| u.to_string()))
        .or_else(|| identity.path.map(str::to_string))
        .unwrap_or_else(|| "-".to_string());
    let base = identity
        .feed_url
        .or(identity.fetched_url)
        .and_then(|u| url::resolve(u, None))
        .or_else(|| self_url.clone())
        .or_else(|| site_url.clone());
    let format = format_of(&feed.feed_type);
    let mut budget = html::HtmlBudget::default();
    let title = feed
        .title
        .as_ref()
        .map(|t| plain(t, format))
        .filter(|t| !t.is_empty());
    let title_html = feed
        .title
        .as_ref()
        .and_then(|t| plain_html(t, format, base.as_ref(), &mut budget));

    let rdf = format == FeedFormat::Rss1 && !rdf_ids.is_empty();
    let mut notes = EntryNotes::default();
    let mut entries: Vec<NormalizedEntry> = feed
        .entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let rdf_id = if rdf {
                rdf_ids.get(i).cloned().flatten()
            } else {
                None
            };
            let (entry, entry_notes) =
                build_entry(e, rdf_id, base.as_ref(), format, now, &mut budget);
            notes.add(&entry.guid, entry_notes);
            entry
        })
        .collect();
    let mut warnings = warnings;
    notes.into_warnings(&mut warnings);

    // The detector's features cost time for every byte and every line:
    // within the document's budget only.
    let mut feature_budget = limits::DOCUMENT_FEATURE_BYTES;
    let mut partial = 0;
    let texts: Vec<EntryText<'_>> = entries
        .iter()
        .map(|e| {
            let text = e.best_text();
            let (kept, cost) = feature_prefix(text, feature_budget);
            feature_budget -= cost;
            if kept.len() < text.len() {
                partial += 1;
            }
            EntryText {
                title: &e.title,
                text: kept,
            }
        })
        .collect();
    if partial > 0 {
        warnings.push(format!(
            "the features of {partial} entries were computed from part of their text (the document's {} bytes for features were spent)",
            limits::DOCUMENT_FEATURE_BYTES
        ));
    }
    let features = extract_document(&texts, title.as_deref());
    for (entry, f) in entries.iter_mut().zip(features) {
        entry.features = f;
        entry.credited_wire = credit::credited_wire(entry.best_text()).map(str::to_string);
    }

    NormalizedFeed {
        url: feed_id,
        title,
        title_html,
        site_url: site_url.map(|u| u.to_string()),
        self_url: self_url.map(|u| u.to_string()),
        description: feed
            .description
            .as_ref()
            .map(|t| plain(t, format))
            .filter(|t| !t.is_empty()),
        format,
        encoding,
        entries,
        warnings,
    }
}

/// The per-entry warnings of a document: the first
/// [`MAX_ENTRY_WARNINGS`] in full, then a count.
#[derive(Default)]
struct EntryNotes {
    kept: Vec<String>,
    more: usize,
}

/// How many per-entry warnings a document lists before counting the rest.
const MAX_ENTRY_WARNINGS: usize = 20;

impl EntryNotes {
    fn add(&mut self, guid: &str, notes: Vec<String>) {
        for note in notes {
            if self.kept.len() < MAX_ENTRY_WARNINGS {
                let mut id = guid.to_string();
                if limits::truncate_at_char(&mut id, 100) {
                    id.push('…');
                }
                self.kept.push(format!("entry {id:?}: {note}"));
            } else {
                self.more += 1;
            }
        }
    }

    fn into_warnings(self, warnings: &mut Vec<String>) {
        warnings.extend(self.kept);
        if self.more > 0 {
            warnings.push(format!(
                "{} more warnings about entries like the ones above",
                self.more
            ));
        }
    }
}

fn build_entry(
    e: Entry,
    rdf_id: Option<String>,
    base: Option<&::url::Url>,
    format: FeedFormat,
    now: DateTime<Utc>,
    budget: &mut html::HtmlBudget,
) -> (NormalizedEntry, Vec<String>) {
    let mut notes = Vec::new();
    let link = home_link(&e.links).and_then(|l| url::resolve(&l.href, base));
    let title = e
        .title
        .as_ref()
        .map(|t| plain(t, format))
        .unwrap_or_default();
    let title_html = e
        .title
        .as_ref()
        .and_then(|t| plain_html(t, format, base, budget));
    let summary = e.summary.as_ref().and_then(|t| {
        body(
            &t.content,
            t.content_type.subty().as_str().contains("html"),
            base,
            budget,
        )
    });
    let content = e.content.as_ref().and_then(|c| {
        let raw = c.body.as_deref()?;
        body(
            raw,
            c.content_type.subty().as_str().contains("html"),
            base,
            budget,
        )
    });
    let (published, published_source) = match (e.published, e.updated) {
        (Some(p), _) => (p, DateSource::Published),
        (None, Some(u)) => (u, DateSource::Updated),
        (None, None) => (now, DateSource::FirstSeen),
    };
    let doc_id = rdf_id.or_else(|| Some(e.id.trim().to_string()).filter(|s| !s.is_empty()));
    let (guid, guid_source) = match (doc_id, &link) {
        (Some(id), _) => (id, GuidSource::Document),
        (None, Some(l)) => (l.to_string(), GuidSource::Link),
        (None, None) => {
            let date = e
                .published
                .or(e.updated)
                .map(crate::model::format_time)
                .unwrap_or_default();
            let key = format!("{title}\u{1f}{date}");
            (
                format!("hash:{:016x}", fnv1a(key.as_bytes())),
                GuidSource::Hash,
            )
        }
    };
    let authors: Vec<String> = e
        .authors
        .iter()
        .filter_map(|p| p.name.as_deref().map(|n| plain_str(n, false, format)))
        .filter(|n| !n.is_empty())
        .collect();
    let with_email: Vec<crate::model::Author> = e
        .authors
        .iter()
        .map(|p| crate::model::Author {
            name: p
                .name
                .as_deref()
                .map(|n| plain_str(n, false, format))
                .filter(|n| !n.is_empty()),
            email: p
                .email
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_string),
        })
        .collect();
    let authors_detail = with_email
        .iter()
        .any(|a| a.email.is_some())
        .then_some(with_email);
    let categories: Vec<crate::model::Category> = e
        .categories
        .iter()
        .map(|c| crate::model::Category {
            term: plain_str(&c.term, false, format),
            scheme: c.scheme.clone().filter(|s| !s.is_empty()),
            label: c
                .label
                .as_deref()
                .map(|l| plain_str(l, false, format))
                .filter(|s| !s.is_empty()),
        })
        .filter(|c| !c.term.is_empty())
        .collect();
    let mut enclosures: Vec<crate::model::Enclosure> = e
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("enclosure"))
        .filter_map(|l| {
            Some(crate::model::Enclosure {
                href: url::resolve(&l.href, base)?.to_string(),
                length: l.length.map(|n| n.to_string()),
                media_type: l.media_type.clone().filter(|t| !t.is_empty()),
            })
        })
        .collect();
    for m in &e.media {
        for c in &m.content {
            let Some(u) = &c.url else { continue };
            enclosures.push(crate::model::Enclosure {
                href: u.to_string(),
                length: c.size.map(|n| n.to_string()),
                media_type: c.content_type.as_ref().map(|t| t.to_string()),
            });
        }
    }
    let mut part = |name: &str, part: Option<(String, String, Vec<String>)>| match part {
        Some((h, t, n)) => {
            notes.extend(n.into_iter().map(|n| format!("{name} {n}")));
            (Some(h), Some(t))
        }
        None => (None, None),
    };
    let (summary_html, summary_text) = part("summary", summary);
    let (content_html, content_text) = part("content", content);
    let entry = NormalizedEntry {
        guid,
        guid_source,
        canonical_url: link.as_ref().map(url::canonicalize),
        url: link.map(|l| l.to_string()),
        title,
        title_html,
        author: (!authors.is_empty()).then(|| authors.join(", ")),
        authors: authors_detail,
        categories: (!categories.is_empty()).then_some(categories),
        enclosures: (!enclosures.is_empty()).then_some(enclosures),
        summary_html,
        summary_text,
        content_html,
        content_text,
        published,
        published_source,
        updated: e.updated,
        features: Default::default(),
        credited_wire: None,
    };
    (entry, notes)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod hostile_tests;
