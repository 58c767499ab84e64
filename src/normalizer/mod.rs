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

pub mod credit;
pub mod dates;
pub mod decode;
pub mod fixups;
pub mod html;
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
pub fn normalize(
    doc: &RawDocument,
    identity: &Identity<'_>,
    now: DateTime<Utc>,
) -> Result<NormalizedFeed, NormalizeError> {
    let decoded = decode::decode_document(&doc.bytes, doc.http_charset.as_deref());
    let mut warnings = Vec::new();
    if decoded.malformed {
        warnings.push(format!(
            "invalid {} byte sequences were replaced",
            decoded.encoding
        ));
    }
    let trimmed = decoded.text.trim_start();
    if trimmed.is_empty() {
        return Err(NormalizeError::Empty);
    }
    let is_json = trimmed.starts_with('{');
    let (mut text, rdf_ids) = if is_json {
        let text = fixups::fix_json_feed(&decoded.text).unwrap_or_else(|| decoded.text.clone());
        (text, Vec::new())
    } else {
        let fixed = fixups::cdf_to_rss(&decoded.text).unwrap_or_else(|| decoded.text.clone());
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
        check_complete(&fixed)?;
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
    Ok(build_feed(
        feed,
        &rdf_ids,
        identity,
        decoded.encoding,
        warnings,
        now,
    ))
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
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(NormalizeError::ParserPanic(msg))
        }
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

/// Fails if the XML ends with elements still open (a truncated download).
fn check_complete(text: &str) -> Result<(), NormalizeError> {
    // Only a document rooted in a feed element can be a truncated feed; an
    // HTML page (unclosed `<meta>`, `<br>`) is left to the parser, which
    // reports it as not a feed.
    if !root_is_feed(text) {
        return Ok(());
    }
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut open: Vec<String> = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                open.push(String::from_utf8_lossy(e.name().as_ref().as_bytes()).into_owned())
            }
            Ok(Event::End(_)) => {
                open.pop();
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            // Other well-formedness problems are left to the parser, which
            // may still read the feed.
            Err(_) => return check_eof_inside(text, &open, reader.buffer_position()),
        }
    }
    match open.last() {
        Some(element) => Err(NormalizeError::Truncated {
            element: element.clone(),
            offset: text.len() as u64,
        }),
        None => Ok(()),
    }
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

/// Plain text of a title or other short text construct.
fn plain(text: &Text) -> String {
    let is_html = text.content_type.subty().as_str().contains("html");
    if is_html && html::looks_like_html(&text.content) {
        collapse(&html::html_to_text(&text.content))
    } else if is_html {
        collapse(&html_escape::decode_html_entities(&text.content))
    } else {
        collapse(&text.content)
    }
}

/// Sanitized HTML of a title or other short text construct, when it is
/// declared HTML/XHTML, or holds markup in a format without declared types
/// (not Atom).
fn plain_html(text: &Text, format: FeedFormat, base: Option<&::url::Url>) -> Option<String> {
    let declared = text.content_type.subty().as_str().contains("html");
    let markup = format != FeedFormat::Atom && html::looks_like_html(&text.content);
    (declared || markup)
        .then(|| html::sanitize_html(text.content.trim(), base))
        .filter(|h| !h.is_empty())
}

/// Sanitized HTML and plain text of a body that may be HTML or text.
fn body(raw: &str, declared_html: bool, base: Option<&::url::Url>) -> Option<(String, String)> {
    if raw.trim().is_empty() {
        return None;
    }
    if declared_html || html::looks_like_html(raw) {
        let text = html::html_to_text(raw);
        Some((html::sanitize_html(raw.trim(), base), text))
    } else {
        let text: Vec<String> = raw
            .lines()
            .map(collapse)
            .filter(|l| !l.is_empty())
            .collect();
        let text = text.join("\n");
        Some((html::text_to_html(&text), text))
    }
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
    let title = feed.title.as_ref().map(plain).filter(|t| !t.is_empty());
    let title_html = feed
        .title
        .as_ref()
        .and_then(|t| plain_html(t, format, base.as_ref()));

    let rdf = format == FeedFormat::Rss1 && !rdf_ids.is_empty();
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
            build_entry(e, rdf_id, base.as_ref(), format, now)
        })
        .collect();

    let texts: Vec<EntryText<'_>> = entries
        .iter()
        .map(|e| EntryText {
            title: &e.title,
            text: e.best_text(),
        })
        .collect();
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
            .map(plain)
            .filter(|t| !t.is_empty()),
        format,
        encoding,
        entries,
        warnings,
    }
}

fn build_entry(
    e: Entry,
    rdf_id: Option<String>,
    base: Option<&::url::Url>,
    format: FeedFormat,
    now: DateTime<Utc>,
) -> NormalizedEntry {
    let link = home_link(&e.links).and_then(|l| url::resolve(&l.href, base));
    let title = e.title.as_ref().map(plain).unwrap_or_default();
    let title_html = e.title.as_ref().and_then(|t| plain_html(t, format, base));
    let summary = e.summary.as_ref().and_then(|t| {
        body(
            &t.content,
            t.content_type.subty().as_str().contains("html"),
            base,
        )
    });
    let content = e.content.as_ref().and_then(|c| {
        let raw = c.body.as_deref()?;
        body(raw, c.content_type.subty().as_str().contains("html"), base)
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
        .filter_map(|p| p.name.as_deref().map(collapse))
        .filter(|n| !n.is_empty())
        .collect();
    let with_email: Vec<crate::model::Author> = e
        .authors
        .iter()
        .map(|p| crate::model::Author {
            name: p.name.as_deref().map(collapse).filter(|n| !n.is_empty()),
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
        .filter(|c| !c.term.trim().is_empty())
        .map(|c| crate::model::Category {
            term: c.term.trim().to_string(),
            scheme: c.scheme.clone().filter(|s| !s.is_empty()),
            label: c.label.clone().filter(|s| !s.is_empty()),
        })
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
    let (summary_html, summary_text) = summary.map_or((None, None), |(h, t)| (Some(h), Some(t)));
    let (content_html, content_text) = content.map_or((None, None), |(h, t)| (Some(h), Some(t)));
    NormalizedEntry {
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
    }
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
