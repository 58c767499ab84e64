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
pub mod url;

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed, FeedType, Link, Text};
use quick_xml::events::Event;

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

/// Elements whose content feed-rs keeps as a string (text constructs,
/// descriptions, bodies): the elements inside them do not count against
/// [`limits::MAX_ELEMENTS`].
const TEXT_ELEMENTS: &[&str] = &[
    "title",
    "subtitle",
    "summary",
    "content",
    "rights",
    "description",
    "encoded",
    "body",
    "fullitem",
    "tagline",
    "copyright",
    "info",
];

/// What [`walk_xml`] found.
struct Walked {
    /// The text without the entries and elements over the limits, when
    /// any were dropped.
    text: Option<String>,
    /// Entries dropped over [`limits::MAX_ENTRIES`].
    dropped_entries: usize,
    /// Other elements dropped over [`limits::MAX_ELEMENTS`].
    dropped_elements: usize,
}

/// Copies a text without the byte ranges removed from it, in order.
struct Cut<'a> {
    text: &'a str,
    out: Option<String>,
    copied: usize,
}

impl Cut<'_> {
    fn remove(&mut self, start: usize, end: usize) {
        if start < self.copied || end < start {
            return;
        }
        let out = self
            .out
            .get_or_insert_with(|| String::with_capacity(self.text.len()));
        out.push_str(self.text.get(self.copied..start).unwrap_or_default());
        self.copied = end;
    }

    fn finish(self) -> Option<String> {
        let mut out = self.out?;
        out.push_str(self.text.get(self.copied..).unwrap_or_default());
        Some(out)
    }
}

/// Walks the elements of an XML document, keeping the stack of open ones.
///
/// Fails with [`NormalizeError::TooDeep`] at the first element opening a
/// level over [`limits::MAX_DEPTH`] (reading on after an ill-formedness
/// quick-xml can continue from, and stopping at a syntax error, where
/// feed-rs, reading with the same quick-xml, stops too). Drops the entries
/// (`item`, `entry` on the second or third level) over
/// [`limits::MAX_ENTRIES`], the other elements over
/// [`limits::MAX_ELEMENTS`], and the elements inside [`TEXT_ELEMENTS`]
/// over [`limits::MAX_TEXT_ELEMENTS`] (only whole ones: an element the
/// text ends in is left for the parser), and returns the text without
/// them.
///
/// With `truncation` (the text feed-rs is about to read), also fails if
/// the XML ends with elements still open (a truncated download).
fn walk_xml(text: &str, truncation: bool) -> Result<Walked, NormalizeError> {
    // Only a document rooted in a feed element can be a truncated feed; an
    // HTML page (unclosed `<meta>`, `<br>`) is left to the parser, which
    // reports it as not a feed.
    let feed_root = truncation && root_is_feed(text);
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut open: Vec<String> = Vec::new();
    // The verdict on truncation, taken at the first error if there is one.
    let mut verdict: Option<Result<(), NormalizeError>> = None;
    // The depth of the text element being read, if any.
    let mut in_text: Option<usize> = None;
    // The element being dropped: where it starts, and its depth.
    let mut dropping: Option<(usize, usize)> = None;
    let mut cut = Cut {
        text,
        out: None,
        copied: 0,
    };
    let (mut entries, mut elements, mut text_elements) = (0usize, 0usize, 0usize);
    let (mut dropped_entries, mut dropped_elements) = (0usize, 0usize);
    loop {
        let before = reader.buffer_position();
        let event = reader.read_event();
        let after = reader.buffer_position();
        let (e, empty) = match event {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(_)) => {
                let depth = open.len();
                open.pop();
                if in_text == Some(depth) {
                    in_text = None;
                }
                if let Some((start, _)) = dropping.filter(|&(_, d)| d == depth) {
                    cut.remove(start, to_usize(after));
                    dropping = None;
                }
                continue;
            }
            Ok(Event::Eof) => break,
            Ok(_) => continue,
            Err(err) => {
                if verdict.is_none() {
                    verdict = Some(if feed_root {
                        check_eof_inside(text, &open, after)
                    } else {
                        Ok(())
                    });
                }
                // Other well-formedness problems are left to the parser,
                // which may still read the feed; the walk goes on where
                // quick-xml can.
                if matches!(err, quick_xml::Error::IllFormed(_)) && after > before {
                    continue;
                }
                break;
            }
        };
        let depth = open.len() + 1;
        if depth > limits::MAX_DEPTH {
            return Err(NormalizeError::TooDeep {
                element: format!("<{}>", e.name().as_ref()),
                depth,
                limit: limits::MAX_DEPTH,
                offset: before,
            });
        }
        if dropping.is_none() && depth > 1 {
            let local = e.local_name();
            let local = local.as_ref();
            let is_entry = in_text.is_none()
                && (depth == 2 || depth == 3)
                && (local.eq_ignore_ascii_case("item") || local.eq_ignore_ascii_case("entry"));
            let over = if in_text.is_some() {
                text_elements += 1;
                text_elements > limits::MAX_TEXT_ELEMENTS
            } else if is_entry {
                entries += 1;
                entries > limits::MAX_ENTRIES
            } else {
                elements += 1;
                elements > limits::MAX_ELEMENTS
            };
            if over {
                if is_entry {
                    dropped_entries += 1;
                } else {
                    dropped_elements += 1;
                }
                if empty {
                    cut.remove(to_usize(before), to_usize(after));
                } else {
                    dropping = Some((to_usize(before), depth));
                }
            } else if in_text.is_none() && !empty && TEXT_ELEMENTS.contains(&local) {
                in_text = Some(depth);
            }
        }
        if !empty {
            open.push(e.name().as_ref().to_string());
        }
    }
    match verdict {
        Some(v) => v?,
        None => {
            if let Some(element) = open.last().filter(|_| feed_root) {
                return Err(NormalizeError::Truncated {
                    element: element.clone(),
                    offset: text.len() as u64,
                });
            }
        }
    }
    Ok(Walked {
        text: cut.finish(),
        dropped_entries,
        dropped_elements,
    })
}

fn to_usize(pos: u64) -> usize {
    usize::try_from(pos).unwrap_or(usize::MAX)
}

/// Whether the document's root element is a feed's (`rss`, `feed`,
/// `RDF`, `channel`, any prefix); true too when no root can be read.
fn root_is_feed(text: &str) -> bool {
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let local = e.local_name();
                let local = local.as_ref();
                return ["rss", "feed", "RDF", "channel"]
                    .iter()
                    .any(|root| local.eq_ignore_ascii_case(root));
            }
            Ok(Event::Eof) | Err(_) => return true,
            Ok(_) => {}
        }
    }
}

/// After a reader error: the document counts as truncated if the error is
/// at its very end with elements open (an unclosed tag or CDATA section).
fn check_eof_inside(text: &str, open: &[String], position: u64) -> Result<(), NormalizeError> {
    let at_end = text.trim_end().len() as u64 <= position;
    match open.last() {
        Some(element) if at_end => Err(NormalizeError::Truncated {
            element: element.clone(),
            offset: text.len() as u64,
        }),
        _ => Ok(()),
    }
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
mod tests {
    use super::*;

    fn doc(bytes: &[u8]) -> RawDocument {
        RawDocument {
            name: "test".into(),
            fetched_url: None,
            path: Some("/tmp/test.xml".into()),
            http_charset: None,
            bytes: bytes.to_vec(),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    fn norm(bytes: &[u8]) -> Result<NormalizedFeed, NormalizeError> {
        normalize(
            &doc(bytes),
            &Identity {
                path: Some("/tmp/test.xml"),
                ..Default::default()
            },
            now(),
        )
    }

    #[test]
    fn rss_without_version_is_read() {
        let f = norm(b"<rss><channel><title>T</title><item><title>A</title><guid>g1</guid></item></channel></rss>")
            .expect("parses");
        assert_eq!(f.entries.len(), 1);
        assert_eq!(f.entries[0].guid, "g1");
        assert_eq!(f.entries[0].published_source, DateSource::FirstSeen);
        assert_eq!(f.url, "/tmp/test.xml");
    }

    #[test]
    fn identity_falls_back_from_guid_to_link_to_hash() {
        let f = norm(
            br#"<rss version="2.0"><channel><title>T</title><link>https://ex.org/</link>
            <item><title>A</title><link>/a?utm_source=x&amp;id=3</link></item>
            <item><title>B</title><pubDate>Wed, 11 Mar 2026 10:41:04 +0000</pubDate></item>
            </channel></rss>"#,
        )
        .expect("parses");
        assert_eq!(f.url, "https://ex.org/");
        assert_eq!(f.entries[0].guid_source, GuidSource::Link);
        assert_eq!(f.entries[0].guid, "https://ex.org/a?utm_source=x&id=3");
        assert_eq!(
            f.entries[0].canonical_url.as_deref(),
            Some("https://ex.org/a?id=3")
        );
        assert_eq!(f.entries[1].guid_source, GuidSource::Hash);
        assert!(f.entries[1].guid.starts_with("hash:"));
        assert_eq!(
            crate::model::format_time(f.entries[1].published),
            "2026-03-11T10:41:04Z"
        );
    }

    #[test]
    fn rss1_items_keep_rdf_about() {
        let f = norm(
            br#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://ex.eu/feed"><title>Eu</title><link>https://ex.eu/</link></channel>
<item rdf:about="https://ex.eu/item/1"><title>One</title><link>https://ex.eu/news/1</link></item>
<item rdf:about="https://ex.eu/item/2"><title>Two</title><link>https://ex.eu/news/2</link></item>
</rdf:RDF>"#,
        )
        .expect("parses");
        let ids: Vec<&str> = f.entries.iter().map(|e| e.guid.as_str()).collect();
        assert_eq!(ids, ["https://ex.eu/item/1", "https://ex.eu/item/2"]);
        assert_eq!(f.format, FeedFormat::Rss1);
        assert_eq!(
            f.url, "https://ex.eu/feed",
            "the channel's rdf:about is the feed's own URL"
        );
        assert_eq!(f.site_url.as_deref(), Some("https://ex.eu/"));
    }

    #[test]
    fn html_is_sanitized_and_kept_as_text() {
        let f = norm(br#"<rss version="2.0"><channel><title>T</title><item><guid>g</guid><title>A</title>
            <description>&lt;p onclick="x()"&gt;Hello &lt;b&gt;world&lt;/b&gt;&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;a href="javascript:alert(2)"&gt;x&lt;/a&gt;</description>
            </item></channel></rss>"#)
        .expect("parses");
        let e = &f.entries[0];
        let html = e.summary_html.as_deref().unwrap_or_default();
        assert!(
            !html.contains("onclick") && !html.contains("script") && !html.contains("javascript"),
            "{html}"
        );
        assert!(html.contains("<b>world</b>"), "{html}");
        assert_eq!(e.summary_text.as_deref(), Some("Hello world\nx"));
    }

    #[test]
    fn truncated_xml_is_an_error() {
        let err = norm(b"<rss version=\"2.0\"><channel><title>T</title><item><title>A</ti")
            .expect_err("truncated");
        assert!(matches!(err, NormalizeError::Truncated { .. }), "{err}");
        assert!(err.to_string().contains("truncated"));
    }

    #[test]
    fn an_html_page_is_not_a_feed_rather_than_truncated() {
        let page = b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Home</title></head>\n<body><p>News<br>more</p></body></html>\n";
        let err = norm(page).expect_err("not a feed");
        assert!(matches!(err, NormalizeError::Parse(_)), "{err}");
    }

    #[test]
    fn garbage_is_not_a_feed() {
        assert!(matches!(
            norm(b"hello world"),
            Err(NormalizeError::Parse(_))
        ));
        assert!(matches!(norm(b"  \n "), Err(NormalizeError::Empty)));
        assert!(matches!(
            norm(b"<html><body>hi</body></html>"),
            Err(NormalizeError::Parse(_))
        ));
    }

    #[test]
    fn utf16_with_bom_is_decoded() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss version=\"2.0\"><channel><title>Caf\u{e9}</title><item><guid>g</guid><title>\u{c9}t\u{e9}</title></item></channel></rss>";
        let mut bytes = vec![0xFF, 0xFE];
        for u in xml.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let f = norm(&bytes).expect("parses");
        assert_eq!(f.title.as_deref(), Some("Caf\u{e9}"));
        assert_eq!(f.entries[0].title, "\u{c9}t\u{e9}");
    }

    #[test]
    fn latin1_without_declaration_is_decoded() {
        let mut bytes = b"<rss version=\"2.0\"><channel><title>Caf".to_vec();
        bytes.push(0xE9);
        bytes.extend_from_slice(
            b"</title><item><guid>g</guid><title>x</title></item></channel></rss>",
        );
        let f = norm(&bytes).expect("parses");
        assert_eq!(f.title.as_deref(), Some("Caf\u{e9}"));
    }

    #[test]
    fn json_feed_is_read() {
        let f = norm(br#"{"version":"https://jsonfeed.org/version/1.1","title":"J","feed_url":"https://j.io/feed.json",
            "items":[{"id":"1","url":"https://j.io/a?fbclid=2","title":"A","content_text":"Body","date_published":"2026-03-11T11:37:00Z"}]}"#)
            .expect("parses");
        assert_eq!(f.format, FeedFormat::Json);
        assert_eq!(f.url, "https://j.io/feed.json", "feed_url is the self link");
        assert_eq!(f.self_url.as_deref(), Some("https://j.io/feed.json"));
        assert_eq!(f.entries[0].guid, "1");
        assert_eq!(
            f.entries[0].canonical_url.as_deref(),
            Some("https://j.io/a")
        );
        assert_eq!(f.entries[0].content_text.as_deref(), Some("Body"));
    }
}

#[cfg(test)]
mod hostile_tests {
    use super::limits::{MAX_DEPTH, MAX_ENTRIES};
    use super::*;

    fn doc(bytes: Vec<u8>) -> RawDocument {
        RawDocument {
            name: "hostile".into(),
            fetched_url: None,
            path: Some("/tmp/hostile.xml".into()),
            http_charset: None,
            bytes,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    fn norm(bytes: Vec<u8>) -> Result<NormalizedFeed, NormalizeError> {
        normalize(&doc(bytes), &Identity::default(), now())
    }

    /// An RSS 2.0 document with the media and iTunes namespaces around
    /// `channel_inner` (inside `<channel>`).
    fn rss(channel_inner: &str) -> Vec<u8> {
        format!(
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\" \
             xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\"><channel><title>T</title>\
             <link>https://ex.org/</link>{channel_inner}</channel></rss>\n"
        )
        .into_bytes()
    }

    fn nested(open: &str, close: &str, n: usize) -> String {
        format!("{}{}", open.repeat(n), close.repeat(n))
    }

    /// Runs `f` on a thread with the stack tokio gives its blocking pool
    /// (2 MiB), where the pipeline normalizes.
    fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        match std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .map(|h| h.join())
        {
            Ok(Ok(v)) => v,
            Ok(Err(_)) => panic!("the thread panicked"),
            Err(e) => panic!("cannot start a thread: {e}"),
        }
    }

    fn item(inner: &str) -> String {
        format!("<item><title>A</title><guid>g1</guid>{inner}</item>")
    }

    #[test]
    fn deep_documents_are_refused_before_feed_rs_recurses() {
        let cases = [
            (
                rss(&item(&nested("<media:group>", "</media:group>", 1000))),
                "<media:group>",
            ),
            (
                rss(&format!(
                    "{}{}",
                    nested("<itunes:category text=\"x\">", "</itunes:category>", 5000),
                    item("")
                )),
                "<itunes:category>",
            ),
            (rss(&item(&nested("<x>", "</x>", 100_000))), "<x>"),
            // Unclosed: refused for its depth before it counts as truncated.
            (rss(&item(&"<media:group>".repeat(500))), "<media:group>"),
        ];
        for (bytes, element) in cases {
            let err = on_small_stack(move || norm(bytes)).expect_err("too deep");
            match &err {
                NormalizeError::TooDeep {
                    element: e,
                    depth,
                    limit,
                    ..
                } => {
                    assert_eq!(e, element);
                    assert_eq!((*depth, *limit), (MAX_DEPTH + 1, MAX_DEPTH));
                }
                other => panic!("{other}"),
            }
            let message = err.to_string();
            assert!(
                message.starts_with(&format!(
                    "nested deeper than {MAX_DEPTH} levels: {element} at byte "
                )),
                "{message}"
            );
        }
        for (json, what) in [
            (format!("{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{{\"id\":\"1\",\"x\":{}}}]}}", nested("[", "]", 100_000)), "a JSON array"),
            (format!("{{\"items\":[{{\"id\":\"1\",\"x\":{}1{}}}]}}", "{\"a\":".repeat(10_000), "}".repeat(10_000)), "a JSON object"),
        ] {
            let err = on_small_stack(move || norm(json.into_bytes())).expect_err("too deep");
            assert!(
                matches!(&err, NormalizeError::TooDeep { element, .. } if element == what),
                "{err}"
            );
        }
    }

    #[test]
    fn documents_at_the_depth_limit_fit_a_small_stack() {
        // rss, channel and item are the first three levels, media:content
        // the last.
        let groups = rss(&item(&format!(
            "{}<media:content url=\"https://ex.org/v.mp4\"/>{}",
            "<media:group>".repeat(MAX_DEPTH - 4),
            "</media:group>".repeat(MAX_DEPTH - 4)
        )));
        let feed = on_small_stack(move || norm(groups)).expect("at the limit");
        assert_eq!(feed.entries.len(), 1);
        let categories = rss(&format!(
            "{}{}",
            nested(
                "<itunes:category text=\"x\">",
                "</itunes:category>",
                MAX_DEPTH - 2
            ),
            item("")
        ));
        let feed = on_small_stack(move || norm(categories)).expect("at the limit");
        assert_eq!(feed.entries.len(), 1);
        let json = format!(
            "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{{\"id\":\"1\",\"content_text\":\"x\",\"_x\":{}}}]}}",
            nested("[", "]", MAX_DEPTH - 3)
        );
        let feed = on_small_stack(move || norm(json.into_bytes())).expect("at the limit");
        assert_eq!(feed.entries.len(), 1);
    }

    #[test]
    fn normalize_on_big_stack_gives_what_normalize_gives() {
        let bytes = rss(&item("<description>&lt;p&gt;Hello&lt;/p&gt;</description>"));
        let d = doc(bytes);
        let identity = Identity::default();
        let here = normalize(&d, &identity, now()).expect("parses");
        let there = normalize_on_big_stack(&d, &identity, now()).expect("parses");
        assert_eq!(here.entries.len(), there.entries.len());
        assert_eq!(here.entries[0].summary_text, there.entries[0].summary_text);
        let deep = doc(rss(&item(&nested("<media:group>", "</media:group>", 1000))));
        assert!(matches!(
            normalize_on_big_stack(&deep, &identity, now()),
            Err(NormalizeError::TooDeep { .. })
        ));
    }

    #[test]
    fn entries_over_the_limit_are_dropped() {
        let items: String = (0..MAX_ENTRIES + 5)
            .map(|i| format!("<item><guid>g{i}</guid></item>"))
            .collect();
        let f = norm(rss(&items)).expect("parses");
        assert_eq!(f.entries.len(), MAX_ENTRIES);
        assert_eq!(
            f.entries[MAX_ENTRIES - 1].guid,
            format!("g{}", MAX_ENTRIES - 1)
        );
        assert!(
            f.warnings
                .iter()
                .any(|w| w
                    == &format!("dropped 5 entries over the limit of {MAX_ENTRIES} per document")),
            "{:?}",
            f.warnings
        );
        let items: Vec<String> = (0..MAX_ENTRIES + 3)
            .map(|i| format!("{{\"id\":\"j{i}\",\"content_text\":\"x\"}}"))
            .collect();
        let json = format!(
            "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{}]}}",
            items.join(",")
        );
        let f = norm(json.into_bytes()).expect("parses");
        assert_eq!(f.entries.len(), MAX_ENTRIES);
        assert!(
            f.warnings
                .iter()
                .any(|w| w.starts_with("dropped 3 items over the limits")),
            "{:?}",
            f.warnings
        );
    }

    #[test]
    fn html_too_costly_to_sanitize_is_kept_as_text() {
        let body = format!("{}Hello &amp; bye", "<div>".repeat(5_000));
        let f = norm(rss(&format!(
            "<item><title>A</title><guid>g1</guid><description><![CDATA[{body}]]></description></item>\
             <item><title>B</title><guid>g2</guid><description>&lt;p&gt;fine&lt;/p&gt;</description></item>"
        )))
        .expect("parses");
        let e = &f.entries[0];
        assert_eq!(e.summary_text.as_deref(), Some("Hello & bye"));
        assert_eq!(e.summary_html.as_deref(), Some("<p>Hello &amp; bye</p>"));
        assert!(
            f.warnings.contains(&format!(
                "entry \"g1\": summary kept as plain text: its HTML leaves over {} elements open",
                limits::MAX_HTML_DEPTH
            )),
            "{:?}",
            f.warnings
        );
        assert_eq!(f.entries[1].summary_html.as_deref(), Some("<p>fine</p>"));
        assert_eq!(f.warnings.len(), 1, "{:?}", f.warnings);
    }

    #[test]
    fn long_texts_are_cut() {
        let word = "word ".repeat(limits::MAX_TEXT_BYTES / 5 + 100);
        let f = norm(rss(&item(&format!("<description>{word}</description>")))).expect("parses");
        let text = f.entries[0].summary_text.as_deref().unwrap_or_default();
        assert!(text.len() <= limits::MAX_TEXT_BYTES, "{}", text.len());
        assert!(
            f.warnings.iter().any(|w| w.contains("summary text cut to")),
            "{:?}",
            f.warnings
        );
    }

    /// About `len` bytes of pseudo-random words (from a few thousand).
    fn words(len: usize, seed: u64) -> String {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut out = String::with_capacity(len + 16);
        while out.len() < len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            out.push_str(&format!("w{} ", state % 5_000));
        }
        out
    }

    /// The hostile documents of issue #12, generated: (name, bytes).
    fn hostile_documents() -> Vec<(&'static str, Vec<u8>)> {
        let cdata = |html: &str| {
            rss(&format!(
                "<item><title>A</title><guid>g1</guid><description><![CDATA[{html}]]></description></item>"
            ))
        };
        let many = |n: usize, html: &str| {
            let items: String = (0..n)
                .map(|i| {
                    format!("<item><title>A{i}</title><guid>g{i}</guid><description><![CDATA[{html}]]></description></item>")
                })
                .collect();
            rss(&items)
        };
        // Just within the per-entry limits: 120 open elements, then
        // elements opened and closed at that depth.
        let deep_within = format!("{}{}", "<div>".repeat(120), "<i>x</i>".repeat(2_000));
        let formatting_within: String = format!(
            "{}{}",
            (0..30).map(|i| format!("<b id={i}>")).collect::<String>(),
            "<p>x</p>".repeat(5_000)
        );
        let escapes_within = format!(
            "{}{}",
            "&amp;".repeat(1_900),
            "x".repeat((1 << 20) - 10_000)
        );
        vec![
            ("media:group x1000 (27 KB)", rss(&item(&nested("<media:group>", "</media:group>", 1000)))),
            ("itunes:category x5000", rss(&format!("{}{}", nested("<itunes:category text=\"x\">", "</itunes:category>", 5000), item("")))),
            ("200k unclosed <div> (1 MB)", cdata(&"<div>".repeat(200_000))),
            ("25k unclosed <div>", cdata(&"<div>".repeat(25_000))),
            ("1M &zz; (4 MB)", cdata(&"&zz;".repeat(1_000_000))),
            ("200k nested <table>", cdata(&"<table>".repeat(200_000))),
            ("200k nested <ul>", cdata(&"<ul>".repeat(200_000))),
            ("70k nested <table><tr><td>", cdata(&"<table><tr><td>".repeat(70_000))),
            ("100k nested <ul><li>", cdata(&"<ul><li>".repeat(100_000))),
            ("200k <span></zz>", cdata(&"<span></zz>".repeat(200_000))),
            ("2M <b>a</b> in one entry (16 MB)", cdata(&"<b>a</b>".repeat(2_000_000))),
            ("2M <b>a</b> as XML elements (16 MB)", rss(&item(&format!("<description>{}</description>", "<b>a</b>".repeat(2_000_000))))),
            ("9,500 entries of 200 <b>a</b> (16 MB)", many(9_500, &"<b>a</b>".repeat(200))),
            ("130 entries at the depth limit", many(130, &deep_within)),
            ("400 entries at the formatting limit", many(400, &formatting_within)),
            ("15 entries at the escape limit", many(15, &escapes_within)),
            ("64 entries of 250 KB of words (16 MB)", many(64, &words(250_000, 1))),
            ("14k entries of 1 KB of words (16 MB)", many(14_000, &words(1_000, 2))),
            ("1500 entries of 1000 <p>word</p>", many(1_500, &words(5_000, 3).split(' ').take(1000).map(|w| format!("<p>{w}</p>")).collect::<String>())),
            ("10k entries with 1.5 KB titles", rss(&(0..10_000).map(|i| format!("<item><guid>g{i}</guid><title>{}</title></item>", words(1_500, i))).collect::<String>())),
            ("one entry with a 15 MB link and guid", rss(&format!("<item><guid>{0}</guid><link>https://ex.org/{0}</link></item>", "a".repeat(7_500_000)))),
            ("2.3M <item/> (16 MB)", rss(&"<item/>".repeat(2_300_000))),
            ("700k <category> in one item (15 MB)", rss(&item(&"<category>c</category>".repeat(700_000)))),
            ("5M JSON items (15 MB)", format!("{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{}]}}", vec!["{}"; 5_000_000].join(",")).into_bytes()),
            ("10k JSON items of 150 members (16 MB)", {
                let item = format!("{{{}}}", (0..150).map(|i| format!("\"k{i}\":{i}")).collect::<Vec<_>>().join(","));
                format!("{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{}]}}", vec![item; 10_000].join(",")).into_bytes()
            }),
            ("4M JSON tags in one item (16 MB)", format!("{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{{\"id\":\"1\",\"tags\":[{}]}}]}}", vec!["\"t\""; 4_000_000].join(",")).into_bytes()),
        ]
    }

    /// Times `normalize` on each hostile document (a release build must
    /// take under 2 s on each); with `FEEDFOLD_HOSTILE_DIR` set, also
    /// writes them there (for `/usr/bin/time -v feedfold parse FILE`);
    /// `FEEDFOLD_HOSTILE_ONLY=N` times document N only.
    ///
    /// `cargo test --release --lib hostile_document_timings -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn hostile_document_timings() {
        let dir = std::env::var_os("FEEDFOLD_HOSTILE_DIR").map(std::path::PathBuf::from);
        let only: Option<usize> = std::env::var("FEEDFOLD_HOSTILE_ONLY")
            .ok()
            .and_then(|n| n.parse().ok());
        let mut slowest = std::time::Duration::ZERO;
        for (i, (name, bytes)) in hostile_documents().into_iter().enumerate() {
            if only.is_some_and(|n| n != i) {
                continue;
            }
            if let Some(dir) = &dir {
                let path = dir.join(format!(
                    "hostile-{i:02}.{}",
                    if bytes.first() == Some(&b'{') {
                        "json"
                    } else {
                        "xml"
                    }
                ));
                if let Err(e) = std::fs::write(&path, &bytes) {
                    panic!("cannot write {}: {e}", path.display());
                }
            }
            let size = bytes.len();
            let d = doc(bytes);
            let started = std::time::Instant::now();
            let outcome = normalize_on_big_stack(&d, &Identity::default(), now());
            let took = started.elapsed();
            slowest = slowest.max(took);
            let what = match &outcome {
                Ok(f) => format!(
                    "{} entries, {} warnings{}",
                    f.entries.len(),
                    f.warnings.len(),
                    f.warnings
                        .first()
                        .map(|w| format!(" ({w})"))
                        .unwrap_or_default()
                ),
                Err(e) => format!("refused: {e}"),
            };
            println!(
                "hostile {i:02} {name:<40} {:>9} bytes {:>8.3} s  {what}",
                size,
                took.as_secs_f64()
            );
        }
        println!("slowest: {:.3} s", slowest.as_secs_f64());
        if !cfg!(debug_assertions) {
            assert!(slowest < std::time::Duration::from_secs(2), "{slowest:?}");
        }
    }

    #[test]
    fn titles_and_feed_fields_hold_text() {
        let atom = br#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
<title type="html">&lt;b&gt;Feed&lt;/b&gt; &amp;amp; co</title><id>urn:f</id>
<subtitle type="html">&lt;keygen autofocus onfocus=alert(1)&gt;About</subtitle>
<entry><id>urn:1</id><title type="html">&lt;keygen autofocus onfocus=alert(1)&gt;</title></entry>
<entry><id>urn:2</id><title type="html">&gt;&lt;img src=x onerror=alert(1)&gt;</title></entry>
<entry><id>urn:3</id><title type="text">a &lt; b and c &gt; d</title></entry>
<entry><id>urn:4</id><title type="html">Tom &amp;amp; Jerry: 1 &amp;lt; 2</title></entry>
<entry><id>urn:5</id><title>Example &lt;b&gt;Atom&lt;/b&gt;</title></entry>
</feed>"#;
        let f = norm(atom.to_vec()).expect("parses");
        assert_eq!(f.title.as_deref(), Some("Feed & co"));
        assert_eq!(f.description.as_deref(), Some("About"));
        assert_eq!(f.entries[0].title, "");
        assert_eq!(f.entries[1].title, ">");
        assert_eq!(f.entries[2].title, "a < b and c > d");
        assert_eq!(f.entries[3].title, "Tom & Jerry: 1 < 2");
        // Atom declares its text types: a title of type text is text.
        assert_eq!(f.entries[4].title, "Example <b>Atom</b>");

        let rss2 = rss(
            "<description>&lt;script&gt;alert(\"d\")&lt;/script&gt;Daily</description>\
             <item><guid>1</guid><title>&lt;keygen autofocus onfocus=alert(1)&gt;</title>\
             <author>&lt;b onmouseover=alert(1)&gt;Ann&lt;/b&gt;</author>\
             <category>&lt;img src=x onerror=alert(1)&gt;News</category></item>\
             <item><guid>2</guid><title>&gt;&lt;img src=x onerror=alert(1)&gt;</title></item>\
             <item><guid>3</guid><title>a &lt; b, 1&lt;2 and Vec&lt;T&gt; in Rust</title></item>\
             <item><guid>4</guid><title>x &lt;= y &amp;&amp; y &gt; z</title></item>\
             <item><guid>5</guid><title>USAIR &lt;U&gt; SEEKS ORDER AGAINST TWA &lt;TWA&gt;</title></item>",
        );
        let mut bytes = rss2;
        let at = bytes
            .windows(8)
            .position(|w| w == b"<title>T")
            .unwrap_or_default();
        bytes.splice(
            at + 7..at + 8,
            b"&lt;script&gt;alert(\"feed\")&lt;/script&gt;T"
                .iter()
                .copied(),
        );
        let f = norm(bytes).expect("parses");
        assert_eq!(f.title.as_deref(), Some("T"));
        assert_eq!(f.description.as_deref(), Some("Daily"));
        assert_eq!(f.entries[0].title, "");
        assert_eq!(f.entries[0].author.as_deref(), Some("Ann"));
        let cats = f.entries[0].categories.clone().unwrap_or_default();
        assert_eq!(cats[0].term, "News");
        assert_eq!(f.entries[1].title, ">");
        assert_eq!(f.entries[2].title, "a < b, 1<2 and Vec<T> in Rust");
        assert_eq!(f.entries[3].title, "x <= y && y > z");
        // Stock tickers, not markup.
        assert_eq!(
            f.entries[4].title,
            "USAIR <U> SEEKS ORDER AGAINST TWA <TWA>"
        );
        for e in &f.entries {
            assert!(
                !e.title.contains("<keygen") && !e.title.contains("<img"),
                "{}",
                e.title
            );
        }
    }
}
