//! Pre-parse fix-ups for documents feed-rs 3 refuses or misreads.
//!
//! Part of the normalizer stage (feed bytes -> normalized entries), run on
//! the decoded text after [`super::decode`]'s fix-ups and before feed-rs
//! parses it. Each function patches one known gap so that documents the
//! feed test suites hold to be feeds are read, with their entries:
//!
//! - [`fix_rss_channel`]: `<rss>` without a `<channel>` gets an empty one.
//! - [`cdf_to_rss`]: Microsoft CDF (`<CHANNEL>` root) becomes RSS 2.0.
//! - [`fix_entities`]: HTML named entities (`&nbsp;`, `&eacute;`) become
//!   numeric references; unknown ones are escaped.
//! - [`fix_atom`]: Atom 0.3 becomes Atom 1.0 (namespace, element names),
//!   text constructs with types feed-rs refuses (`text/plain`,
//!   `application/xhtml+xml`, empty, `application/octet-stream` or
//!   `mode="base64"`, which is decoded here) get one it accepts.
//! - [`fix_rss_bodies`]: RSS items' `<body>` (XHTML) and `<fullitem>`
//!   become `<content:encoded>`.
//! - [`fix_declarations`]: XML declarations that would make quick-xml
//!   switch encodings (a panic) are neutralized.
//! - [`space_out_emails`]: on a second reading after a feed-rs panic, an
//!   address touching a non-ASCII character is spaced out.
//! - [`fix_rss_aliases`]: Dublin Core / iTunes elements feed-rs ignores
//!   in RSS (`dc:title`, `dc:subject`, `dcterms:issued`...) become the RSS
//!   element they stand for.
//! - [`fix_rss090`]: RSS 0.90's namespace becomes RSS 1.0's.
//! - [`close_final_tag`]: `...</rss` at the very end gets its `>`.
//! - [`fix_json_feed`]: JSON Feeds with a lax `version`, a missing title or
//!   items, or fields of the wrong type are put in the shape feed-rs reads.
//!
//! Everything here is pure, never panics and runs in linear time; each
//! returns its input borrowed when there is nothing to fix.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;
use serde_json::{Map, Value};

use super::decode::{
    find_from, is_name_char, is_xml_space, root_start_tag, skip_unparsed, tag_attributes,
};

const ATOM_10: &str = "http://www.w3.org/2005/Atom";
const ATOM_03: &str = "http://purl.org/atom/ns#";

/// A replacement of `text[start..end]`.
#[derive(Debug)]
struct Edit {
    start: usize,
    end: usize,
    with: String,
}

/// Applies non-overlapping edits sorted by position; overlapping or out of
/// range ones are skipped.
fn apply(text: &str, mut edits: Vec<Edit>) -> Cow<'_, str> {
    if edits.is_empty() {
        return Cow::Borrowed(text);
    }
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for e in edits {
        if e.start < at || e.end < e.start {
            continue;
        }
        let (Some(keep), Some(_)) = (text.get(at..e.start), text.get(e.start..e.end)) else {
            continue;
        };
        out.push_str(keep);
        out.push_str(&e.with);
        at = e.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    Cow::Owned(out)
}

/// The root start tag: (index of `<`, end of its name, the name).
fn root_tag(text: &str) -> Option<(usize, usize, &str)> {
    let lt = root_start_tag(text)?;
    let b = text.as_bytes();
    let mut end = lt + 1;
    while b
        .get(end)
        .is_some_and(|&c| !is_xml_space(c) && !matches!(c, b'>' | b'/'))
    {
        end += 1;
    }
    Some((lt, end, text.get(lt + 1..end)?))
}

/// The local part of a qualified name.
fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

/// Escapes text for XML character data and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Gives an `<rss>` root without any `<channel>` one, so feed-rs reads it
/// instead of reporting "no root element": everything inside `<rss>` (items
/// included, as some feeds put them there) is wrapped in `<channel>`, up to
/// the last `</rss`. An `<rss/>` gets an empty channel.
pub fn fix_rss_channel(text: &str) -> Cow<'_, str> {
    let Some((_, name_end, name)) = root_tag(text) else {
        return Cow::Borrowed(text);
    };
    if name != "rss" {
        return Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let Some(gt) = tag_attributes(b, name_end)
        .map(|attrs| attrs.last().map_or(name_end, |a| a.value_end))
        .and_then(|from| find_from(b, from, b">"))
    else {
        return Cow::Borrowed(text);
    };
    if find_from(b, gt, b"<channel").is_some() {
        return Cow::Borrowed(text);
    }
    let self_closing = b.get(gt.wrapping_sub(1)) == Some(&b'/');
    if self_closing {
        return apply(
            text,
            vec![Edit {
                start: gt - 1,
                end: gt + 1,
                with: "><channel></channel></rss>".into(),
            }],
        );
    }
    let close = text.rfind("</rss").filter(|&p| p > gt);
    let mut edits = vec![Edit {
        start: gt + 1,
        end: gt + 1,
        with: "<channel>".into(),
    }];
    edits.push(match close {
        Some(p) => Edit {
            start: p,
            end: p,
            with: "</channel>".into(),
        },
        None => Edit {
            start: gt + 1,
            end: gt + 1,
            with: "</channel>".into(),
        },
    });
    apply(text, edits)
}

/// Wraps a document whose root is a bare `<channel>` (RSS without its
/// `<rss>` element) in `<rss version="2.0">`.
pub fn wrap_bare_channel(text: &str) -> Cow<'_, str> {
    match root_tag(text) {
        Some((lt, _, "channel")) => {
            let (Some(head), Some(body)) = (text.get(..lt), text.get(lt..)) else {
                return Cow::Borrowed(text);
            };
            Cow::Owned(format!("{head}<rss version=\"2.0\">{body}</rss>"))
        }
        _ => Cow::Borrowed(text),
    }
}

/// A CDF channel or item being collected.
#[derive(Default)]
struct CdfNode {
    title: String,
    href: Option<String>,
    abstract_: String,
    lastmod: Option<String>,
}

impl CdfNode {
    fn write(&self, out: &mut String, date_element: &str) {
        if !self.title.trim().is_empty() {
            out.push_str(&format!("<title>{}</title>", escape(self.title.trim())));
        }
        if let Some(h) = &self.href {
            out.push_str(&format!("<link>{}</link>", escape(h.trim())));
        }
        if !self.abstract_.trim().is_empty() {
            out.push_str(&format!(
                "<description>{}</description>",
                escape(self.abstract_.trim())
            ));
        }
        if let Some(d) = &self.lastmod {
            out.push_str(&format!(
                "<{date_element}>{}</{date_element}>",
                escape(d.trim())
            ));
        }
    }
}

fn cdf_attrs(e: &BytesStart<'_>, node: &mut CdfNode) {
    for attr in e.attributes().with_checks(false).flatten() {
        let key = attr.key.as_ref().to_ascii_lowercase();
        let value = html_escape::decode_html_entities(&*attr.value).into_owned();
        match key.as_str() {
            "href" => node.href = Some(value),
            "lastmod" => node.lastmod = Some(value),
            _ => {}
        }
    }
}

/// Converts a Microsoft CDF document (root `<CHANNEL>`, any case but all
/// lower-case, which [`wrap_bare_channel`] handles, with
/// `<ITEM HREF=... LASTMOD=...>`, `<TITLE>` and `<ABSTRACT>`) into RSS 2.0:
/// `HREF` becomes `link`, `ABSTRACT` `description`, an item's `LASTMOD`
/// `pubDate` and the channel's `lastBuildDate`. `None` for other
/// documents. Reading stops at the first XML error, keeping what was read.
pub fn cdf_to_rss(text: &str) -> Option<String> {
    let (_, _, name) = root_tag(text)?;
    if !name.eq_ignore_ascii_case("channel") || name == "channel" {
        return None;
    }
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut channel = CdfNode::default();
    let mut items: Vec<CdfNode> = Vec::new();
    // Open elements: lower-cased local names.
    let mut path: Vec<String> = Vec::new();
    let mut in_item = false;
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        match event {
            Event::Start(e) if path.is_empty() => {
                // The root channel.
                cdf_attrs(&e, &mut channel);
                path.push("channel".into());
            }
            Event::Empty(e) if path.is_empty() => {
                cdf_attrs(&e, &mut channel);
                break;
            }
            Event::Start(e) => {
                let l = e.local_name().as_ref().to_ascii_lowercase();
                if l == "item" {
                    let mut node = CdfNode::default();
                    cdf_attrs(&e, &mut node);
                    items.push(node);
                    in_item = true;
                }
                path.push(l);
            }
            Event::Empty(e) => {
                let l = e.local_name().as_ref().to_ascii_lowercase();
                if l == "item" {
                    let mut node = CdfNode::default();
                    cdf_attrs(&e, &mut node);
                    items.push(node);
                }
            }
            Event::End(_) => {
                path.pop();
                in_item = path.iter().any(|p| p == "item");
            }
            Event::Text(t) => push_cdf_text(&path, in_item, &mut channel, &mut items, &t),
            Event::CData(t) => {
                let s = t.to_string();
                push_cdf_str(&path, in_item, &mut channel, &mut items, &s);
            }
            Event::GeneralRef(r) => {
                let s = html_escape::decode_html_entities(&format!("&{};", &*r)).into_owned();
                push_cdf_str(&path, in_item, &mut channel, &mut items, &s);
            }
            _ => {}
        }
    }
    let mut out = String::with_capacity(text.len() + 128);
    out.push_str("<rss version=\"2.0\"><channel>");
    channel.write(&mut out, "lastBuildDate");
    for item in &items {
        out.push_str("<item>");
        item.write(&mut out, "pubDate");
        out.push_str("</item>");
    }
    out.push_str("</channel></rss>");
    Some(out)
}

fn push_cdf_text(
    path: &[String],
    in_item: bool,
    channel: &mut CdfNode,
    items: &mut [CdfNode],
    t: &quick_xml::events::BytesText<'_>,
) {
    let s = t.to_string();
    push_cdf_str(path, in_item, channel, items, &s);
}

fn push_cdf_str(
    path: &[String],
    in_item: bool,
    channel: &mut CdfNode,
    items: &mut [CdfNode],
    s: &str,
) {
    let node = if in_item {
        match items.last_mut() {
            Some(n) => n,
            None => return,
        }
    } else {
        channel
    };
    match path.last().map(String::as_str) {
        Some("title") => node.title.push_str(s),
        Some("abstract") => node.abstract_.push_str(s),
        _ => {}
    }
}

/// The names XML itself defines.
const XML_ENTITIES: &[&str] = &["amp", "lt", "gt", "quot", "apos"];

/// Names of entities declared in an internal DTD subset (`<!ENTITY name`).
fn declared_entities(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    // Only the prolog can declare entities.
    let limit = root_start_tag(text).unwrap_or(0);
    while let Some(p) = find_from(b.get(..limit).unwrap_or_default(), from, b"<!ENTITY") {
        let mut i = p + 8;
        while b.get(i).is_some_and(|&c| is_xml_space(c)) {
            i += 1;
        }
        if b.get(i) == Some(&b'%') {
            from = i;
            continue;
        }
        let start = i;
        while b.get(i).is_some_and(|&c| !is_xml_space(c)) {
            i += 1;
        }
        if let Some(name) = text.get(start..i) {
            out.push(name);
        }
        from = i.max(p + 1);
    }
    out
}

/// Replaces HTML named entity references, which XML does not define, by
/// numeric references: `&nbsp;` becomes `&#160;`. References to the five
/// XML entities and to entities the internal DTD subset declares are
/// kept; any other named reference is escaped (`&foo;` -> `&amp;foo;`) so
/// it shows as written instead of breaking the document. CDATA sections,
/// comments and processing instructions are left alone.
pub fn fix_entities(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    if !b.contains(&b'&') {
        return Cow::Borrowed(text);
    }
    let declared = declared_entities(text);
    let mut edits = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' => {
                let rest = &b[i..];
                i = if let Some(end) = skip_unparsed(b, i) {
                    end
                } else if rest.starts_with(b"<!DOCTYPE") {
                    // Its entity values are its own business.
                    match text.get(i..).and_then(|r| doctype_end(r.as_bytes())) {
                        Some(len) => i + len,
                        None => find_from(b, i + 2, b">").map_or(b.len(), |p| p + 1),
                    }
                } else if rest.starts_with(b"<!") {
                    find_from(b, i + 2, b">").map_or(b.len(), |p| p + 1)
                } else {
                    i + 1
                };
            }
            b'&' => {
                let name_start = i + 1;
                let mut j = name_start;
                if b.get(j) == Some(&b'#') {
                    i += 1;
                    continue;
                }
                let rest = text.get(name_start..).unwrap_or_default();
                let name_len = rest
                    .char_indices()
                    .find(|&(_, c)| !is_name_char(c))
                    .map_or(rest.len(), |(k, _)| k);
                j += name_len;
                if name_len == 0 || b.get(j) != Some(&b';') {
                    i += 1;
                    continue;
                }
                let name = text.get(name_start..j).unwrap_or_default();
                if XML_ENTITIES.contains(&name) || declared.contains(&name) {
                    i = j + 1;
                    continue;
                }
                let reference = format!("&{name};");
                let decoded = html_escape::decode_html_entities(&reference);
                let with = if decoded != reference {
                    decoded
                        .chars()
                        .map(|c| format!("&#{};", u32::from(c)))
                        .collect()
                } else {
                    format!("&amp;{name};")
                };
                edits.push(Edit {
                    start: i,
                    end: j + 1,
                    with,
                });
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    apply(text, edits)
}

/// Length of a `<!DOCTYPE ...>` at the start of `b`, internal subset
/// included.
fn doctype_end(b: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 2;
    while let Some(&c) = b.get(i) {
        match c {
            b'"' | b'\'' => {
                i += b.get(i + 1..)?.iter().position(|&q| q == c)? + 2;
                continue;
            }
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b'>' if depth == 0 => return Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Decodes base64 (standard or URL-safe alphabet, whitespace and padding
/// ignored). `None` on any other character or a dangling bit group.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut n = 0usize;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => continue,
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        n += 1;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if n % 4 == 1 {
        return None;
    }
    Some(out)
}

/// Which Atom text construct or content an element is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Construct {
    Text,
    Content,
}

/// The element names of Atom text constructs (1.0 and 0.3).
fn construct_of(local: &str) -> Option<Construct> {
    match local {
        "title" | "subtitle" | "summary" | "rights" | "tagline" | "copyright" | "info" => {
            Some(Construct::Text)
        }
        "content" => Some(Construct::Content),
        _ => None,
    }
}

/// Atom 0.3 element names and their 1.0 names.
fn atom03_rename(local: &str) -> Option<&'static str> {
    match local {
        "tagline" => Some("subtitle"),
        "copyright" => Some("rights"),
        "issued" => Some("published"),
        "modified" => Some("updated"),
        "url" => Some("uri"),
        _ => None,
    }
}

/// What to do with one text construct's `type`.
enum TypeFix {
    /// Leave the element as it is.
    Keep,
    /// Set `type` to this value (and drop `mode`).
    Set(&'static str),
    /// The content is base64: decode it, then set `type` to this value.
    Base64(&'static str),
}

fn type_fix(
    kind: Construct,
    ty: Option<&str>,
    mode: Option<&str>,
    has_src: bool,
    atom03: bool,
) -> TypeFix {
    // In Atom 0.3 an absent `mode` means inline XML.
    let mode = mode
        .map(|m| m.trim().to_ascii_lowercase())
        .or_else(|| (atom03 && ty.is_some_and(|t| t.contains("html"))).then(|| "xml".to_string()));
    let raw = ty.map(str::trim);
    let t = raw.map(str::to_ascii_lowercase);
    let t = t.as_deref();
    if has_src {
        // feed-rs needs a MIME type (`a/b`) or none with `src`.
        return match t {
            Some(t)
                if t.split_once('/')
                    .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains('/')) =>
            {
                TypeFix::Keep
            }
            None => TypeFix::Keep,
            _ => TypeFix::Set("text/html"),
        };
    }
    let html_ish = t.is_some_and(|t| t.contains("html"));
    if mode.as_deref() == Some("base64") {
        return TypeFix::Base64(if html_ish { "html" } else { "text" });
    }
    let escaped = mode.as_deref() == Some("escaped");
    let inline_xml = mode.as_deref() == Some("xml");
    let wanted = match t {
        None if inline_xml => "xhtml",
        None => return TypeFix::Keep,
        Some("text") | Some("html") | Some("xhtml") | Some("text/html") if mode.is_none() => {
            // Accepted as written (feed-rs compares case-sensitively).
            return if raw == t {
                TypeFix::Keep
            } else {
                TypeFix::Set(canonical(t))
            };
        }
        Some("xhtml") | Some("application/xhtml+xml") if escaped => "html",
        Some("text/html") | Some("html") if inline_xml => "xhtml",
        Some("text") | Some("html") | Some("xhtml") | Some("text/html") => canonical(t),
        Some(t) if t.contains("xhtml") => "xhtml",
        Some(t) if t.contains("html") => "html",
        Some(t) if t.starts_with("text/") || t.is_empty() || t == "plain" => "text",
        Some(t) if t.ends_with("+xml") || t.ends_with("/xml") => {
            if kind == Construct::Content {
                "xhtml"
            } else {
                "text"
            }
        }
        Some(t) if t.contains('/') => return TypeFix::Base64("text"),
        Some(_) => "text",
    };
    TypeFix::Set(wanted)
}

fn canonical(t: Option<&str>) -> &'static str {
    match t {
        Some("html") => "html",
        Some("xhtml") => "xhtml",
        Some("text/html") => "text/html",
        _ => "text",
    }
}

/// Whether an element resolved to `ns` is read as Atom by feed-rs (which
/// makes Atom the default namespace of an Atom document).
fn atomish(ns: &ResolveResult<'_>) -> bool {
    match ns {
        ResolveResult::Bound(Namespace(uri)) => *uri == ATOM_10 || *uri == ATOM_03,
        ResolveResult::Unbound => true,
        ResolveResult::Unknown(_) => false,
    }
}

/// An Atom element opened and not yet closed.
struct Open {
    /// The new local name for the end tag, if renamed.
    rename: Option<&'static str>,
    /// Base64 content: where the content starts and the type to set.
    base64: Option<(usize, usize, &'static str)>,
    /// Atom 0.3 inline XML: where the content starts, and whether it is
    /// XML already (`Some(true)`) or only if it holds elements
    /// (`Some(false)`, no `type` given). Wrapped in an XHTML `<div>` that
    /// feed-rs strips, so the markup is kept as written.
    inline_03: Option<(usize, bool)>,
    /// Where a `type` attribute would go.
    name_end: usize,
    /// Child elements seen.
    children: usize,
}

/// The XHTML wrapper Atom 1.0 puts around `type="xhtml"` content.
const XHTML_DIV: &str = "<div xmlns=\"http://www.w3.org/1999/xhtml\">";

/// Makes an Atom document readable by feed-rs 3.
///
/// For a document whose root's local name is `feed` or `entry`:
/// - the Atom 0.3 namespace URI becomes Atom 1.0's, and in Atom 0.3
///   documents `tagline`, `copyright`, `issued`, `modified` and author
///   `url` are renamed to `subtitle`, `rights`, `published`, `updated` and
///   `uri`;
/// - the `type` of text constructs (`title`, `subtitle`, `summary`,
///   `rights`) and `content` is set to one feed-rs accepts: `text` for
///   `text/plain` and other text types, an empty or unknown value; `html`
///   for HTML types and escaped XHTML; `xhtml` for `application/xhtml+xml`
///   and inline XML (`mode="xml"`); values differing only in case are
///   lower-cased;
/// - a `mode="base64"` body, or a body of a non-text MIME type such as
///   `application/octet-stream`, is decoded; UTF-8 text replaces the body,
///   escaped, and the type becomes `text` (`html` if the type was HTML).
///   A body that is not base64 of UTF-8 text is kept and typed `text`.
///
/// Other documents are returned borrowed. Reading stops at the first XML
/// error; the fixes found before it are applied.
pub fn fix_atom(text: &str) -> Cow<'_, str> {
    let Some((root_at, _, root)) = root_tag(text) else {
        return Cow::Borrowed(text);
    };
    if !matches!(local(root), "feed" | "entry") {
        return Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let is_03 = find_from(b, 0, ATOM_03.as_bytes()).is_some() || root_version_is_03(text);
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut edits: Vec<Edit> = Vec::new();
    let mut stack: Vec<Option<Open>> = Vec::new();
    loop {
        let before = to_usize(reader.buffer_position());
        let (is_atom, event) = match reader.read_resolved_event() {
            Ok((_, Event::Eof)) | Err(_) => break,
            Ok((ns, e)) => (atomish(&ns), e),
        };
        let after = to_usize(reader.buffer_position());
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let empty = b.get(after.saturating_sub(2)..after) == Some(b"/>".as_slice());
                let qname = e.name().as_ref().to_string();
                let name_end = before + 1 + qname.len();
                let attrs = tag_attributes(b, name_end).unwrap_or_default();
                // Namespace declarations of Atom 0.3, and an unknown default
                // namespace on the root `feed` (read as Atom, like feedparser).
                let is_root = stack.is_empty() && before <= root_at;
                for a in &attrs {
                    let n = a.name(text);
                    let v = a.value(text).trim();
                    let unknown_root_ns =
                        is_root && n == "xmlns" && qname == "feed" && v != ATOM_10 && v != ATOM_03;
                    if ((n == "xmlns" || n.starts_with("xmlns:")) && v == ATOM_03)
                        || unknown_root_ns
                    {
                        edits.push(Edit {
                            start: a.value_start,
                            end: a.value_end,
                            with: format!("\"{ATOM_10}\""),
                        });
                    }
                }
                if let Some(Some(parent)) = stack.last_mut() {
                    parent.children += 1;
                }
                let mut open = Open {
                    rename: None,
                    base64: None,
                    inline_03: None,
                    name_end,
                    children: 0,
                };
                let l = local(&qname);
                if is_atom && is_03 {
                    if let Some(new) = atom03_rename(l) {
                        let prefix_len = qname.len() - l.len();
                        edits.push(Edit {
                            start: before + 1 + prefix_len,
                            end: name_end,
                            with: new.to_string(),
                        });
                        open.rename = Some(new);
                    }
                }
                if let Some(kind) = construct_of(l).filter(|_| is_atom) {
                    let get = |name: &str| {
                        attrs
                            .iter()
                            .find(|a| a.name(text) == name)
                            .map(|a| (a, a.value(text)))
                    };
                    let ty = get("type");
                    let mode = get("mode");
                    let has_src = kind == Construct::Content && get("src").is_some();
                    let fix = type_fix(kind, ty.map(|t| t.1), mode.map(|m| m.1), has_src, is_03);
                    let set = match fix {
                        TypeFix::Keep => None,
                        TypeFix::Set(v) => Some(v),
                        TypeFix::Base64(v) if empty => Some(v),
                        TypeFix::Base64(v) => {
                            open.base64 = Some((after, 0, v));
                            None
                        }
                    };
                    if is_03 {
                        if set == Some("xhtml") {
                            open.inline_03 = Some((after, true));
                        } else if ty.is_none() && mode.is_none() {
                            open.inline_03 = Some((after, false));
                        }
                    }
                    if let Some(v) = set {
                        set_type(&mut edits, ty.map(|t| t.0), mode.map(|m| m.0), name_end, v);
                    }
                    if let Some((_, ref mut slot, _)) = open.base64 {
                        // Remember where the type attribute goes.
                        *slot = name_end;
                        if let Some((a, _)) = ty {
                            edits.push(Edit {
                                start: a.name_start,
                                end: a.value_end,
                                with: String::new(),
                            });
                        }
                        if let Some((a, _)) = mode {
                            edits.push(Edit {
                                start: a.name_start,
                                end: a.value_end,
                                with: String::new(),
                            });
                        }
                    }
                }
                if !empty {
                    stack.push(Some(open));
                }
            }
            Event::End(e) => {
                let Some(Some(open)) = stack.pop() else {
                    continue;
                };
                match open.inline_03 {
                    Some((content_start, known)) if known || open.children > 0 => {
                        if !known {
                            edits.push(Edit {
                                start: open.name_end,
                                end: open.name_end,
                                with: " type=\"xhtml\"".into(),
                            });
                        }
                        edits.push(Edit {
                            start: content_start,
                            end: content_start,
                            with: XHTML_DIV.into(),
                        });
                        edits.push(Edit {
                            start: before,
                            end: before,
                            with: "</div>".into(),
                        });
                    }
                    _ => {}
                }
                if let Some(new) = open.rename {
                    let qname = e.name().as_ref().to_string();
                    let prefix_len = qname.len() - local(&qname).len();
                    let start = before + 2 + prefix_len;
                    edits.push(Edit {
                        start,
                        end: before + 2 + qname.len(),
                        with: new.to_string(),
                    });
                }
                if let Some((content_start, name_end, ty)) = open.base64 {
                    let raw = text.get(content_start..before).unwrap_or_default();
                    let (body, ty) = decode_base64_body(raw, ty);
                    edits.push(Edit {
                        start: name_end,
                        end: name_end,
                        with: format!(" type=\"{ty}\""),
                    });
                    if let Some(body) = body {
                        edits.push(Edit {
                            start: content_start,
                            end: before,
                            with: body,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    apply(text, edits)
}

fn to_usize(pos: u64) -> usize {
    usize::try_from(pos).unwrap_or(usize::MAX)
}

/// Whether the root tag says `version="0.3"`.
fn root_version_is_03(text: &str) -> bool {
    let Some((_, name_end, _)) = root_tag(text) else {
        return false;
    };
    tag_attributes(text.as_bytes(), name_end)
        .unwrap_or_default()
        .iter()
        .any(|a| a.name(text) == "version" && a.value(text).trim() == "0.3")
}

/// Sets the `type` attribute (replacing the old one or adding one after the
/// name) and drops `mode`.
fn set_type(
    edits: &mut Vec<Edit>,
    ty: Option<&super::decode::AttrSpan>,
    mode: Option<&super::decode::AttrSpan>,
    name_end: usize,
    value: &str,
) {
    match ty {
        Some(a) if a.value_start < a.value_end => edits.push(Edit {
            start: a.value_start,
            end: a.value_end,
            with: format!("\"{value}\""),
        }),
        Some(a) => edits.push(Edit {
            start: a.name_start,
            end: a.value_end,
            with: format!("type=\"{value}\""),
        }),
        None => edits.push(Edit {
            start: name_end,
            end: name_end,
            with: format!(" type=\"{value}\""),
        }),
    }
    if let Some(m) = mode {
        edits.push(Edit {
            start: m.name_start,
            end: m.value_end,
            with: String::new(),
        });
    }
}

/// The new body and type of a base64 text construct: the decoded text,
/// escaped, when the body is base64 of UTF-8 without markup inside; the
/// body unchanged (typed `text`) otherwise.
fn decode_base64_body(raw: &str, ty: &'static str) -> (Option<String>, &'static str) {
    if raw.contains('<') && !raw.trim_start().starts_with("<![CDATA[") {
        return (None, "text");
    }
    let inner = raw
        .trim()
        .strip_prefix("<![CDATA[")
        .and_then(|r| r.strip_suffix("]]>"))
        .unwrap_or(raw);
    let inner = html_escape::decode_html_entities(inner);
    match base64_decode(&inner).and_then(|v| String::from_utf8(v).ok()) {
        Some(s) => (Some(escape(&s)), ty),
        None => (None, "text"),
    }
}

/// Removes the element whose start tag ends at byte `pos` (feed-rs's
/// position of an element it refused), with everything inside it.
/// `None` when there is no such tag or its end cannot be found.
pub fn drop_element_ending_at(text: &str, pos: usize) -> Option<String> {
    let b = text.as_bytes();
    if pos == 0 || b.get(pos - 1) != Some(&b'>') {
        return None;
    }
    let lt = b.get(..pos)?.iter().rposition(|&c| c == b'<')?;
    if b.get(lt + 1)
        .is_some_and(|&c| matches!(c, b'/' | b'!' | b'?'))
    {
        return None;
    }
    let end = if b.get(pos - 2) == Some(&b'/') {
        pos
    } else {
        // Read from the element's own start tag, so that its end tag is
        // matched (quick-xml refuses an end tag it did not see open).
        let rest = text.get(lt..)?;
        let mut reader = quick_xml::Reader::from_str(rest);
        reader.config_mut().check_end_names = false;
        let mut depth = 0usize;
        loop {
            match reader.read_event() {
                Ok(Event::Start(_)) => depth += 1,
                Ok(Event::End(_)) if depth <= 1 => {
                    break lt + to_usize(reader.buffer_position());
                }
                Ok(Event::End(_)) => depth -= 1,
                Ok(Event::Eof) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    };
    Some(format!("{}{}", text.get(..lt)?, text.get(end..)?))
}

/// Repairs mismatched end tags: an end tag that closes an element opened
/// further out also closes the ones left open inside it (their end tags
/// are inserted), and an end tag that matches no open element is renamed
/// to close the innermost one. Reading stops at the first other XML
/// error; the repairs found before it are applied.
pub fn repair_end_tags(text: &str) -> Cow<'_, str> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut open: Vec<String> = Vec::new();
    let mut edits = Vec::new();
    loop {
        let before = to_usize(reader.buffer_position());
        match reader.read_event() {
            Ok(Event::Start(e)) => open.push(e.name().as_ref().to_string()),
            Ok(Event::End(e)) => {
                let name = e.name().as_ref().to_string();
                match open.iter().rposition(|o| *o == name) {
                    Some(i) => {
                        let inner: String = open
                            .drain(i..)
                            .skip(1)
                            .rev()
                            .map(|o| format!("</{o}>"))
                            .collect();
                        if !inner.is_empty() {
                            edits.push(Edit {
                                start: before,
                                end: before,
                                with: inner,
                            });
                        }
                    }
                    None => {
                        let Some(top) = open.pop() else { break };
                        edits.push(Edit {
                            start: before + 2,
                            end: before + 2 + name.len(),
                            with: top,
                        });
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    apply(text, edits)
}

/// The RSS content module's namespace.
const CONTENT_NS: &str = "http://purl.org/rss/1.0/modules/content/";

/// Turns the bodies feed-rs ignores in RSS items into
/// `<content:encoded>`: `<body>` / `<xhtml:body>` (inline XHTML, escaped
/// into text here) and `<fullitem>` (escaped HTML, kept as it is). Only
/// for documents rooted in `rss` or `RDF`; reading stops at the first XML
/// error, keeping the fixes found before it.
pub fn fix_rss_bodies(text: &str) -> Cow<'_, str> {
    let Some((_, _, root)) = root_tag(text) else {
        return Cow::Borrowed(text);
    };
    if !matches!(local(root), "rss" | "RDF") {
        return Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    if find_from(b, 0, b"body").is_none() && find_from(b, 0, b"fullitem").is_none() {
        return Cow::Borrowed(text);
    }
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut path: Vec<String> = Vec::new();
    // The body being read: (start of its start tag, end of it, is XHTML, depth).
    let mut body: Option<(usize, usize, bool, usize)> = None;
    let mut edits = Vec::new();
    loop {
        let before = to_usize(reader.buffer_position());
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        let after = to_usize(reader.buffer_position());
        match event {
            Event::Start(e) => {
                let l = local(e.name().as_ref()).to_string();
                if body.is_none()
                    && matches!(l.as_str(), "body" | "fullitem")
                    && path.iter().any(|p| p == "item")
                {
                    body = Some((before, after, l == "body", path.len()));
                }
                path.push(l);
            }
            Event::End(_) => {
                path.pop();
                if let Some((start, inner, xhtml, depth)) = body {
                    if path.len() == depth {
                        let raw = text.get(inner..before).unwrap_or_default();
                        let content = if xhtml { escape(raw) } else { raw.to_string() };
                        edits.push(Edit {
                            start,
                            end: after,
                            with: format!(
                                "<content:encoded xmlns:content=\"{CONTENT_NS}\">{content}</content:encoded>"
                            ),
                        });
                        body = None;
                    }
                }
            }
            _ => {}
        }
    }
    apply(text, edits)
}

/// Completes an end tag cut off at the very end of the document
/// (`...</rss` becomes `...</rss>`), the last byte of a feed that is
/// otherwise whole.
pub fn close_final_tag(text: &str) -> Cow<'_, str> {
    let trimmed = text.trim_end();
    let Some(lt) = trimmed.rfind("</") else {
        return Cow::Borrowed(text);
    };
    let name = trimmed.get(lt + 2..).unwrap_or_default();
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(super::decode::is_name_start_char) && chars.all(is_name_char);
    if !ok {
        return Cow::Borrowed(text);
    }
    Cow::Owned(format!(
        "{trimmed}>{}",
        text.get(trimmed.len()..).unwrap_or_default()
    ))
}

/// The RSS 0.90 namespace, which feed-rs does not know.
const RSS_090: &str = "http://my.netscape.com/rdf/simple/0.9/";

/// Reads RSS 0.90 as RSS 1.0 (same structure): in a document rooted in
/// `RDF`, the RSS 0.90 namespace URI becomes RSS 1.0's.
pub fn fix_rss090(text: &str) -> Cow<'_, str> {
    match root_tag(text) {
        Some((_, _, root)) if local(root) == "RDF" && text.contains(RSS_090) => {
            Cow::Owned(text.replace(RSS_090, "http://purl.org/rss/1.0/"))
        }
        _ => Cow::Borrowed(text),
    }
}

/// Makes XML declarations harmless to feed-rs, which reads UTF-8 text
/// from us: a declaration at the start that still names an encoding other
/// than UTF-8 (one the decoder could not rewrite) is replaced by
/// `<?xml version="1.0" encoding="utf-8"?>`, and declarations anywhere
/// else (not well-formed) are replaced by a space (not by nothing, which
/// could join the text around into a new `<?xml`). Either made quick-xml try to switch
/// encodings mid-stream, which panics.
pub fn fix_declarations(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let start = b.iter().position(|c| !is_xml_space(*c)).unwrap_or(b.len());
    let mut edits = Vec::new();
    let mut from = 0;
    while let Some(p) = find_from(b, from, b"<?xml") {
        let is_decl = b.get(p + 5).is_some_and(|&c| is_xml_space(c) || c == b'?');
        let end = find_from(b, p + 5, b"?>").map_or(b.len(), |e| e + 2);
        if is_decl {
            let decl = text.get(p..end).unwrap_or_default().to_ascii_lowercase();
            if p != start {
                edits.push(Edit {
                    start: p,
                    end,
                    with: " ".into(),
                });
            } else if decl.replace("encoding=\"utf-8\"", "").contains("encoding") {
                edits.push(Edit {
                    start: p,
                    end,
                    with: "<?xml version=\"1.0\" encoding=\"utf-8\"?>".into(),
                });
            }
        }
        from = end.max(p + 5);
    }
    apply(text, edits)
}

/// Puts a space between an e-mail address and a non-ASCII character, or
/// a numeric reference to one, touching it (`a@b.org§` -> `a@b.org §`,
/// `a@b.org&#160;` -> `a@b.org &#160;`): feed-rs 3 panics slicing the name
/// next to such an address. Used to read again a document feed-rs panicked
/// on; reads the bytes once, without copying the text.
pub fn space_out_emails(text: &str) -> Cow<'_, str> {
    // Address characters, and `mailto:`'s colon (feed-rs's match may
    // start there).
    let is_mail = |c: u8| {
        c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-' | b'@' | b':')
    };
    let b = text.as_bytes();
    let mut edits = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !is_mail(b[i]) {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < b.len() && is_mail(b[i]) {
            i += 1;
        }
        if !b.get(run_start..i).is_some_and(|run| run.contains(&b'@')) {
            continue;
        }
        // A non-ASCII character touches the address: a byte of one, or a
        // numeric reference to one (what `&nbsp;` becomes), which feed-rs
        // decodes before it looks for addresses.
        let before = b.get(..run_start).unwrap_or_default();
        if before.last().is_some_and(|&c| c >= 0x80) || ends_with_non_ascii_ref(before) {
            edits.push(Edit {
                start: run_start,
                end: run_start,
                with: " ".into(),
            });
        }
        let after = b.get(i..).unwrap_or_default();
        if after.first().is_some_and(|&c| c >= 0x80) || starts_with_non_ascii_ref(after) {
            edits.push(Edit {
                start: i,
                end: i,
                with: " ".into(),
            });
        }
    }
    apply(text, edits)
}

/// The code point of the numeric character reference `&#...;` (decimal or
/// `x` hexadecimal) that `b` starts with.
fn numeric_ref(b: &[u8]) -> Option<u32> {
    let rest = b.strip_prefix(b"&#")?;
    let (digits, radix) = match rest.first() {
        Some(b'x' | b'X') => (rest.get(1..)?, 16),
        _ => (rest, 10),
    };
    let len = digits
        .iter()
        .take(8)
        .take_while(|c| c.is_ascii_hexdigit())
        .count();
    if digits.get(len) != Some(&b';') {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits.get(..len)?).ok()?, radix).ok()
}

/// Whether `b` starts with a numeric reference to a non-ASCII character.
fn starts_with_non_ascii_ref(b: &[u8]) -> bool {
    numeric_ref(b).is_some_and(|c| c >= 0x80)
}

/// Whether `b` ends with a numeric reference to a non-ASCII character.
fn ends_with_non_ascii_ref(b: &[u8]) -> bool {
    if b.last() != Some(&b';') {
        return false;
    }
    let from = b.len().saturating_sub(12);
    b.get(from..)
        .and_then(|tail| tail.windows(2).rposition(|w| w == b"&#").map(|p| from + p))
        .is_some_and(|amp| b.get(amp..).is_some_and(starts_with_non_ascii_ref))
}

/// Dublin Core, iTunes and Media RSS elements feed-rs 3 ignores in RSS
/// (or, for Media RSS, keeps only as media), and the RSS
/// element each stands for: (namespace, local name, RSS name).
const RSS_ALIASES: &[(&str, &str, &str)] = &[
    ("http://purl.org/dc/elements/1.1/", "title", "title"),
    (
        "http://purl.org/dc/elements/1.1/",
        "description",
        "description",
    ),
    ("http://purl.org/dc/elements/1.1/", "subject", "category"),
    ("http://purl.org/dc/elements/1.1/", "author", "author"),
    ("http://purl.org/dc/terms/", "issued", "pubDate"),
    ("http://purl.org/dc/terms/", "created", "pubDate"),
    ("http://purl.org/dc/terms/", "modified", "updated"),
    (
        "http://www.itunes.com/dtds/podcast-1.0.dtd",
        "summary",
        "description",
    ),
    (
        "http://www.itunes.com/dtds/podcast-1.0.dtd",
        "author",
        "author",
    ),
    (
        "http://www.itunes.com/DTDs/Podcast-1.0.dtd",
        "summary",
        "description",
    ),
    (
        "http://www.itunes.com/DTDs/Podcast-1.0.dtd",
        "author",
        "author",
    ),
    ("http://search.yahoo.com/mrss/", "title", "title"),
    ("http://search.yahoo.com/mrss/", "category", "category"),
];

/// An aliased child: (RSS name, start-tag name range, end-tag name range
/// unless self-closing).
type Alias = (&'static str, (usize, usize), Option<(usize, usize)>);

/// An element whose children are being collected by [`fix_rss_aliases`].
#[derive(Default)]
struct AliasFrame {
    /// Local names of the children in no or the default namespace.
    plain: Vec<String>,
    /// Aliased children.
    aliases: Vec<Alias>,
    /// This element's own alias and start-tag name range, if it is one.
    own: Option<(&'static str, (usize, usize))>,
}

/// Renames the Dublin Core and iTunes elements of RSS documents that
/// feed-rs 3 ignores to the RSS element they stand for (`dc:title` ->
/// `title`, `dc:subject` -> `category`, `dcterms:issued` -> `pubDate`,
/// `itunes:summary` -> `description`...), when their parent has no such RSS
/// element already (the first alias wins, except for `category`, which may
/// repeat). Only for documents rooted in `rss` or `RDF`; reading stops at
/// the first XML error, keeping the renames decided before it.
pub fn fix_rss_aliases(text: &str) -> Cow<'_, str> {
    let Some((_, _, root)) = root_tag(text) else {
        return Cow::Borrowed(text);
    };
    if !matches!(local(root), "rss" | "RDF")
        || !RSS_ALIASES.iter().any(|(ns, _, _)| text.contains(ns))
    {
        return Cow::Borrowed(text);
    }
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut stack: Vec<AliasFrame> = Vec::new();
    let mut edits = Vec::new();
    loop {
        let before = to_usize(reader.buffer_position());
        let (alias, plain, event) = match reader.read_resolved_event() {
            Ok((_, Event::Eof)) | Err(_) => break,
            Ok((ns, e)) => {
                let l = match &e {
                    Event::Start(s) | Event::Empty(s) => local(s.name().as_ref()).to_string(),
                    _ => String::new(),
                };
                let (alias, plain) = match ns {
                    ResolveResult::Bound(Namespace(uri)) => (
                        RSS_ALIASES
                            .iter()
                            .find(|(n, name, _)| *n == uri && *name == l)
                            .map(|a| a.2),
                        false,
                    ),
                    _ => (None, true),
                };
                (alias, plain.then_some(l), e)
            }
        };
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(event_kind_empty(text, before), Some(true));
                let qlen = e.name().as_ref().len();
                let name_range = (before + 1, before + 1 + qlen);
                if let (Some(parent), Some(l)) = (stack.last_mut(), plain.as_ref()) {
                    parent.plain.push(l.clone());
                }
                if empty {
                    if let (Some(parent), Some(a)) = (stack.last_mut(), alias) {
                        parent.aliases.push((a, name_range, None));
                    }
                } else {
                    stack.push(AliasFrame {
                        own: alias.map(|a| (a, name_range)),
                        ..Default::default()
                    });
                }
            }
            Event::End(e) => {
                let Some(frame) = stack.pop() else { break };
                let mut taken: Vec<&str> = Vec::new();
                for (target, start, end) in &frame.aliases {
                    let repeatable = *target == "category";
                    if frame.plain.iter().any(|p| p == target) && !repeatable {
                        continue;
                    }
                    if taken.contains(target) && !repeatable {
                        continue;
                    }
                    taken.push(target);
                    edits.push(Edit {
                        start: start.0,
                        end: start.1,
                        with: target.to_string(),
                    });
                    if let Some(end) = end {
                        edits.push(Edit {
                            start: end.0,
                            end: end.1,
                            with: target.to_string(),
                        });
                    }
                }
                if let (Some((a, start)), Some(parent)) = (frame.own, stack.last_mut()) {
                    let qlen = e.name().as_ref().len();
                    parent
                        .aliases
                        .push((a, start, Some((before + 2, before + 2 + qlen))));
                }
            }
            _ => {}
        }
    }
    apply(text, edits)
}

/// Whether the tag starting at `at` is self-closing (`.../>`).
fn event_kind_empty(text: &str, at: usize) -> Option<bool> {
    let b = text.as_bytes();
    let gt = tag_attributes(b, at + 1)
        .map(|attrs| attrs.last().map_or(at + 1, |a| a.value_end))
        .and_then(|from| find_from(b, from, b">"))?;
    Some(b.get(gt.checked_sub(1)?) == Some(&b'/'))
}

/// The JSON Feed version feed-rs reads.
const JSON_FEED_VERSION: &str = "https://jsonfeed.org/version/1.1";

/// Keeps `key` only if it holds a string (numbers and booleans are
/// turned into strings); drops it otherwise.
fn string_field(obj: &mut Map<String, Value>, key: &str) {
    let fixed = match obj.get(key) {
        None | Some(Value::String(_)) => return,
        Some(Value::Number(n)) => Some(Value::String(n.to_string())),
        Some(Value::Bool(b)) => Some(Value::String(b.to_string())),
        Some(_) => None,
    };
    match fixed {
        Some(v) => {
            obj.insert(key.to_string(), v);
        }
        None => {
            obj.remove(key);
        }
    }
}

fn fix_author(v: &mut Value) -> bool {
    let Some(obj) = v.as_object_mut() else {
        return false;
    };
    string_field(obj, "name");
    string_field(obj, "url");
    true
}

fn fix_authors(obj: &mut Map<String, Value>) {
    if let Some(a) = obj.get_mut("author") {
        if !fix_author(a) {
            obj.remove("author");
        }
    }
    if let Some(list) = obj.get_mut("authors") {
        match list.as_array_mut() {
            Some(items) => items.retain_mut(fix_author),
            None => {
                obj.remove("authors");
            }
        }
    }
}

/// Puts a JSON Feed in the shape feed-rs 3 reads: `version` is set to
/// 1.1 unless it names version 1 or 1.1 already (feed-rs refuses other
/// values, including `http://` URLs and a missing version), a missing or
/// non-string `title` becomes a string, missing `items` an empty list, and
/// known fields of the wrong JSON type are converted (numbers to strings)
/// or dropped, as are items that are not objects.
///
/// Only a JSON object that looks like a JSON Feed (an `items` array or a
/// `version` mentioning jsonfeed) is touched; `None` means "unchanged".
pub fn fix_json_feed(text: &str) -> Option<String> {
    let mut v: Value = serde_json::from_str(text).ok()?;
    let obj = v.as_object_mut()?;
    let version = obj
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let looks_like_feed = obj.get("items").is_some_and(Value::is_array)
        || version.to_ascii_lowercase().contains("jsonfeed");
    if !looks_like_feed {
        return None;
    }
    if !version.starts_with("https://jsonfeed.org/version/1") {
        obj.insert("version".into(), Value::String(JSON_FEED_VERSION.into()));
    }
    match obj.get("title") {
        Some(Value::String(_)) => {}
        Some(Value::Number(_)) | Some(Value::Bool(_)) => string_field(obj, "title"),
        _ => {
            obj.insert("title".into(), Value::String(String::new()));
        }
    }
    for key in [
        "home_page_url",
        "feed_url",
        "language",
        "description",
        "icon",
        "favicon",
    ] {
        string_field(obj, key);
    }
    fix_authors(obj);
    let items = match obj.remove("items") {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let items: Vec<Value> = items
        .into_iter()
        .filter_map(|mut item| {
            let it = item.as_object_mut()?;
            for key in [
                "id",
                "url",
                "external_url",
                "title",
                "content_html",
                "content_text",
                "summary",
                "date_published",
                "date_modified",
            ] {
                string_field(it, key);
            }
            fix_authors(it);
            if let Some(tags) = it.get_mut("tags") {
                match tags.as_array_mut() {
                    Some(t) => t.retain(Value::is_string),
                    None => {
                        it.remove("tags");
                    }
                }
            }
            if let Some(att) = it.get_mut("attachments") {
                match att.as_array_mut() {
                    Some(list) => list.retain_mut(|a| {
                        let Some(a) = a.as_object_mut() else {
                            return false;
                        };
                        string_field(a, "title");
                        if !a.get("size_in_bytes").is_none_or(Value::is_u64) {
                            a.remove("size_in_bytes");
                        }
                        a.get("url").is_some_and(Value::is_string)
                            && a.get("mime_type").is_some_and(Value::is_string)
                    }),
                    None => {
                        it.remove("attachments");
                    }
                }
            }
            Some(item)
        })
        .collect();
    obj.insert("items".into(), Value::Array(items));
    serde_json::to_string(&v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_without_channel_gets_one() {
        assert_eq!(
            fix_rss_channel("<rss version=\"2.0\"></rss>"),
            "<rss version=\"2.0\"><channel></channel></rss>"
        );
        assert_eq!(
            fix_rss_channel("<?xml version=\"1.0\"?>\n<rss version=\"2.0\"/>"),
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel></channel></rss>"
        );
        assert_eq!(
            fix_rss_channel("<rss a=\"x>\"><item><title>t</title></item></rss>\n"),
            "<rss a=\"x>\"><channel><item><title>t</title></item></channel></rss>\n"
        );
        assert_eq!(
            fix_rss_channel("<rss version=\"2.0\">"),
            "<rss version=\"2.0\"><channel></channel>"
        );
        for doc in [
            "<rss version=\"2.0\"><channel/></rss>",
            "<feed/>",
            "",
            "<rss",
            "<rss a=\"\"/",
        ] {
            assert!(matches!(fix_rss_channel(doc), Cow::Borrowed(_)), "{doc}");
        }
        assert_eq!(
            wrap_bare_channel("<?xml version=\"1.0\"?><channel><item/></channel>"),
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item/></channel></rss>"
        );
        assert!(matches!(wrap_bare_channel("<CHANNEL/>"), Cow::Borrowed(_)));
    }

    #[test]
    fn cdf_becomes_rss() {
        let doc = "<!-- x --><CHANNEL HREF=\"http://ex.org/\" LASTMOD=\"2004-04-06T23:05:43-05:00\"><TITLE>Chan &amp; co</TITLE>\
                   <ABSTRACT>About</ABSTRACT><ITEM HREF=\"http://ex.org/1\" LASTMOD=\"2004-04-07\"><TITLE>One</TITLE>\
                   <ABSTRACT>First &lt;b&gt;</ABSTRACT></ITEM><ITEM HREF=\"http://ex.org/2\"/></CHANNEL>";
        let rss = cdf_to_rss(doc).expect("CDF");
        assert_eq!(
            rss,
            "<rss version=\"2.0\"><channel><title>Chan &amp; co</title><link>http://ex.org/</link>\
             <description>About</description><lastBuildDate>2004-04-06T23:05:43-05:00</lastBuildDate>\
             <item><title>One</title><link>http://ex.org/1</link><description>First &lt;b&gt;</description>\
             <pubDate>2004-04-07</pubDate></item><item><link>http://ex.org/2</link></item></channel></rss>"
        );
        assert_eq!(cdf_to_rss("<rss/>"), None);
        assert!(cdf_to_rss("<CHANNEL>").is_some());
        assert!(cdf_to_rss("<CHANNEL><ITEM><TITLE>a<").is_some());
    }

    #[test]
    fn html_entities_become_numeric() {
        assert_eq!(
            fix_entities("<t>a&nbsp;b &eacute; &amp; &lt; &#39; &bogus; &; & x</t>"),
            "<t>a&#160;b &#233; &amp; &lt; &#39; &amp;bogus; &; & x</t>"
        );
        let doc =
            "<!DOCTYPE rss [<!ENTITY mine \"m\"> <!ENTITY % p \"x\">]><rss>&mine; &hellip;</rss>";
        assert_eq!(
            fix_entities(doc),
            "<!DOCTYPE rss [<!ENTITY mine \"m\"> <!ENTITY % p \"x\">]><rss>&mine; &#8230;</rss>"
        );
        let doc = "<x><![CDATA[&nbsp;]]><!-- &nbsp; --><?pi &nbsp;?></x>";
        assert!(matches!(fix_entities(doc), Cow::Borrowed(_)));
        assert_eq!(fix_entities("&nbsp"), "&nbsp");
    }

    #[test]
    fn atom_types_are_fixed() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="text/plain">T</title>
<entry><title type="">E</title><summary type="application/xhtml+xml"><div xmlns="http://www.w3.org/1999/xhtml">S</div></summary>
<content type="TEXT">C</content><rights type="image/png" mode="base64">SGVsbG8gJiB3b3JsZA==</rights></entry></feed>"#;
        let want = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">T</title>
<entry><title type="text">E</title><summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">S</div></summary>
<content type="text">C</content><rights type="text"  >Hello &amp; world</rights></entry></feed>"#;
        assert_eq!(fix_atom(doc), want);
    }

    #[test]
    fn atom_base64_content_is_decoded() {
        let doc = "<feed><entry><content type=\"application/octet-stream\">PHA+aGk8L3A+</content>\
                   <summary mode=\"base64\" type=\"text/html\">PGI+Yjwv\nYj4=</summary></entry></feed>";
        assert_eq!(
            fix_atom(doc),
            "<feed><entry><content type=\"text\" >&lt;p&gt;hi&lt;/p&gt;</content>\
             <summary type=\"html\"  >&lt;b&gt;b&lt;/b&gt;</summary></entry></feed>"
        );
        // Not base64: kept, typed text.
        let doc = "<feed><entry><content type=\"image/png\">!!</content></entry></feed>";
        assert_eq!(
            fix_atom(doc),
            "<feed><entry><content type=\"text\" >!!</content></entry></feed>"
        );
    }

    #[test]
    fn atom03_is_renamed() {
        let doc = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><tagline mode="escaped" type="text/html">&lt;b&gt;</tagline>
<entry><issued>2004-01-01T00:00:00Z</issued><modified>2004-01-02T00:00:00Z</modified><author><url>http://a/</url></author>
<content type="application/xhtml+xml" mode="xml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></content></entry></feed>"#;
        let want = r#"<feed version="0.3" xmlns="http://www.w3.org/2005/Atom"><subtitle  type="text/html">&lt;b&gt;</subtitle>
<entry><published>2004-01-01T00:00:00Z</published><updated>2004-01-02T00:00:00Z</updated><author><uri>http://a/</uri></author>
<content type="xhtml" ><div xmlns="http://www.w3.org/1999/xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></div></content></entry></feed>"#;
        assert_eq!(fix_atom(doc), want);
    }

    #[test]
    fn atom_accepted_types_are_borrowed() {
        for doc in [
            "<feed><title type=\"html\">x</title><content type=\"text/html\">y</content></feed>",
            "<feed><content type=\"image/png\" src=\"http://x/a.png\"/></feed>",
            "<rss><title type=\"weird\">x</title></rss>",
            "<feed><media:title xmlns:media=\"http://search.yahoo.com/mrss/\" type=\"plain\">x</media:title></feed>",
            "",
            "<feed",
        ] {
            assert!(matches!(fix_atom(doc), Cow::Borrowed(_)), "{doc}");
        }
    }

    #[test]
    fn refused_elements_are_dropped() {
        let doc =
            "<feed><entry><content type=\"x\">a<b>c</b></content><title>T</title></entry></feed>";
        let pos = doc.find("\">").map(|p| p + 2).unwrap_or_default();
        assert_eq!(
            drop_element_ending_at(doc, pos).as_deref(),
            Some("<feed><entry><title>T</title></entry></feed>")
        );
        let doc = "<feed><content src=\"a\"/><x/></feed>";
        let pos = doc.find("/>").map(|p| p + 2).unwrap_or_default();
        assert_eq!(
            drop_element_ending_at(doc, pos).as_deref(),
            Some("<feed><x/></feed>")
        );
        assert_eq!(drop_element_ending_at(doc, 0), None);
        assert_eq!(drop_element_ending_at(doc, 3), None);
        assert_eq!(drop_element_ending_at("<a><b>", 6), None);
        assert_eq!(drop_element_ending_at("<a>", 99), None);
    }

    #[test]
    fn end_tags_are_repaired() {
        assert_eq!(
            repair_end_tags("<feed><copyright><code>x</code></rights><entry/></feed>"),
            "<feed><copyright><code>x</code></copyright><entry/></feed>"
        );
        assert_eq!(
            repair_end_tags("<rss><channel><item><b>x</item></channel></rss>"),
            "<rss><channel><item><b>x</b></item></channel></rss>"
        );
        assert!(matches!(repair_end_tags("<a><b/></a>"), Cow::Borrowed(_)));
        assert!(matches!(repair_end_tags("</a>"), Cow::Borrowed(_)));
    }

    #[test]
    fn rss_bodies_become_content() {
        let doc = "<rss><channel><item><body xmlns=\"http://www.w3.org/1999/xhtml\"><p>a &amp; b</p></body>\
                   <fullitem>&lt;b&gt;x&lt;/b&gt;</fullitem></item><body>not in an item</body></channel></rss>";
        let c = "<content:encoded xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">";
        assert_eq!(
            fix_rss_bodies(doc),
            format!(
                "<rss><channel><item>{c}&lt;p&gt;a &amp;amp; b&lt;/p&gt;</content:encoded>\
                 {c}&lt;b&gt;x&lt;/b&gt;</content:encoded></item><body>not in an item</body></channel></rss>"
            )
        );
        assert!(matches!(
            fix_rss_bodies("<feed><entry><body/></entry></feed>"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            fix_rss_bodies("<rss><item><body>"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn final_tag_is_closed() {
        assert_eq!(
            close_final_tag("<rss><channel/></rss\n"),
            "<rss><channel/></rss>\n"
        );
        for doc in ["<rss></rss>", "<rss></", "<rss></ rss", "", "</é"] {
            let out = close_final_tag(doc);
            assert!(matches!(out, Cow::Borrowed(_)) || doc == "</é", "{doc}");
        }
    }

    #[test]
    fn atom_unknown_root_namespace_becomes_atom() {
        assert_eq!(
            fix_atom("<feed version=\"0.3\" xmlns=\"http://example.com/newformat#\"><title>T</title></feed>"),
            "<feed version=\"0.3\" xmlns=\"http://www.w3.org/2005/Atom\"><title>T</title></feed>"
        );
        assert_eq!(
            fix_atom("<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><title type=\"text/html\"><b>x</b></title></feed>"),
            "<feed version=\"0.3\" xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><b>x</b></div></title></feed>"
        );
    }

    #[test]
    fn rss090_is_read_as_rss1() {
        assert_eq!(
            fix_rss090(
                "<rdf:RDF xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"><channel/></rdf:RDF>"
            ),
            "<rdf:RDF xmlns=\"http://purl.org/rss/1.0/\"><channel/></rdf:RDF>"
        );
        assert!(matches!(
            fix_rss090("<rss xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"/>"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn declarations_are_made_harmless() {
        assert_eq!(
            fix_declarations("junk<?xml version=\"1.0\" encoding=\"utf-16\"?><rss/>"),
            "junk <rss/>"
        );
        assert_eq!(
            fix_declarations(" <?xml version=1.0 encoding=\"utf-16\"?><rss/>"),
            " <?xml version=\"1.0\" encoding=\"utf-8\"?><rss/>"
        );
        for doc in [
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>",
            "<?xml-stylesheet x?><a/>",
            "",
            "<?xml",
        ] {
            assert!(matches!(fix_declarations(doc), Cow::Borrowed(_)), "{doc}");
        }
        assert_eq!(fix_declarations("<a/><?xml "), "<a/> ");
        assert_eq!(
            fix_declarations("<?x<?xml encoding=\"utf-16\"?>ml version=\"1.0\"?>"),
            "<?x ml version=\"1.0\"?>"
        );
        assert_eq!(
            fix_declarations(
                "<?xml version=\"1.0\" encoding=\"utf-8\"<id>x<?xml encoding=\"utf-16\"?><a/>"
            ),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>"
        );
    }

    #[test]
    fn emails_are_spaced_from_non_ascii() {
        assert_eq!(space_out_emails("§a@b.org§ x@y"), "§ a@b.org § x@y");
        assert_eq!(
            space_out_emails("(\u{FFFD}mailto:r@o.com)"),
            "(\u{FFFD} mailto:r@o.com)"
        );
        assert!(matches!(
            space_out_emails("a@b.org (Ann) é"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(space_out_emails(""), Cow::Borrowed(_)));
        // What `&nbsp;` becomes is a non-ASCII character to feed-rs.
        assert_eq!(
            space_out_emails("<w>email@example.org&#160;</w><x>&#xE9;a@b.org&#38;</x>"),
            "<w>email@example.org &#160;</w><x>&#xE9; a@b.org&#38;</x>"
        );
    }

    #[test]
    fn rss_aliases_are_renamed() {
        let doc = "<rss xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\"><channel><dc:title>C</dc:title>\
                   <item><title>T</title><dc:title>D</dc:title><dc:subject>a</dc:subject><dc:subject>b</dc:subject>\
                   <dcterms:issued>2003-12-31T10:14:55Z</dcterms:issued></item></channel></rss>";
        assert_eq!(
            fix_rss_aliases(doc),
            "<rss xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\"><channel><title>C</title>\
             <item><title>T</title><dc:title>D</dc:title><category>a</category><category>b</category>\
             <pubDate>2003-12-31T10:14:55Z</pubDate></item></channel></rss>"
        );
        assert!(matches!(
            fix_rss_aliases("<feed><dc:title/></feed>"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            fix_rss_aliases("<rss><dc:title>x</dc:title></rss>"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn base64_decoding() {
        assert_eq!(base64_decode("SGk=").as_deref(), Some(b"Hi".as_slice()));
        assert_eq!(base64_decode("SG k").as_deref(), Some(b"Hi".as_slice()));
        assert_eq!(base64_decode(""), Some(Vec::new()));
        assert_eq!(base64_decode("S"), None);
        assert_eq!(base64_decode("S!"), None);
    }

    #[test]
    fn json_feed_lax_versions() {
        let fixed = fix_json_feed(r#"{"version":"http://jsonfeed.org/version/1","items":[{"id":1,"title":"A","tags":["x",2]},3]}"#)
            .expect("fixed");
        let v: Value = serde_json::from_str(&fixed).expect("json");
        assert_eq!(v["version"], JSON_FEED_VERSION);
        assert_eq!(v["title"], "");
        assert_eq!(v["items"][0]["id"], "1");
        assert_eq!(v["items"][0]["tags"], serde_json::json!(["x"]));
        assert_eq!(v["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(fix_json_feed(r#"{"a":1}"#), None);
        assert_eq!(fix_json_feed("[1]"), None);
        assert_eq!(fix_json_feed("{"), None);
        let fixed =
            fix_json_feed(r#"{"version":"https://jsonfeed.org/version/1","title":"T","items":[]}"#)
                .expect("same");
        assert!(fixed.contains("version/1\""));
    }

    /// Deterministic pseudo-random documents built from tricky fragments.
    #[test]
    fn fuzz_never_panics() {
        let pieces = [
            "<",
            ">",
            "/",
            "\"",
            "'",
            "=",
            " ",
            "&",
            ";",
            "#",
            "x",
            "é",
            "<feed",
            "<entry",
            "</entry>",
            "<title",
            "</title>",
            "<content",
            "</content>",
            " type=",
            "\"html\"",
            "\"application/octet-stream\"",
            " mode=\"base64\"",
            "SGk=",
            "<CHANNEL",
            "<ITEM",
            "<rss",
            "<channel",
            "&nbsp;",
            "&bogus;",
            "<![CDATA[",
            "]]>",
            "<!DOCTYPE x [",
            "<!ENTITY a \"b\">",
            "]>",
            "xmlns=\"http://purl.org/atom/ns#\"",
            "<tagline",
            "</tagline>",
            "<!--",
            "-->",
            "{",
            "}",
            "\"items\":[",
            "]",
            ",",
            "\"version\":",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..4000 {
            let mut doc = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 30) as usize;
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                doc.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            let _ = fix_rss_channel(&doc);
            let _ = cdf_to_rss(&doc);
            let _ = fix_entities(&doc);
            let _ = fix_atom(&doc);
            let _ = fix_json_feed(&doc);
        }
    }
}
