//! Byte decoding and pre-parse fix-ups for feed documents.
//!
//! Part of the normalizer stage (feed bytes -> normalized entries) of the
//! pipeline fetcher -> normalizer -> near-duplicate detector -> store.
//! It turns the raw bytes the fetcher got into UTF-8 text that feed-rs can
//! parse, and works around known gaps of feed-rs 3: UTF-16 documents,
//! unusual or missing `<rss version>`, bare `&` characters, and the
//! `rdf:about` identifiers of RSS 1.0 items that feed-rs drops.
//!
//! Everything here is pure, never panics and runs in linear time: the input
//! comes from servers we do not control.

use std::borrow::Cow;

use encoding_rs::{Encoding, REPLACEMENT, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;
use quick_xml::XmlVersion;

/// The RDF namespace that binds the `about` attribute of RSS 1.0 items.
const RDF_NS: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/// How far into the document the end of an XML declaration is looked for.
const MAX_DECL_LEN: usize = 1024;

/// A feed document decoded to UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The document as UTF-8, without byte order mark; an XML declaration
    /// that named an encoding now says `encoding="utf-8"`.
    pub text: String,
    /// The encoding_rs name of the encoding the bytes were decoded from
    /// (e.g. `"UTF-8"`, `"UTF-16LE"`, `"windows-1252"`).
    pub encoding: &'static str,
    /// Whether some bytes were invalid in that encoding and were replaced
    /// with U+FFFD.
    pub malformed: bool,
}

/// Decodes a feed document (XML or JSON) to UTF-8 text.
///
/// The encoding is chosen by, in order: a byte order mark (UTF-8, UTF-16LE,
/// UTF-16BE); a `<` in UTF-16 at the very start (XML autodetection without
/// a byte order mark); `http_charset` (the `charset` of the HTTP `Content-Type`) if
/// encoding_rs knows it; the `encoding` of an XML declaration at the start
/// of the document; UTF-8 if the bytes are valid UTF-8 (a multi-byte
/// sequence cut off at the very end still counts); windows-1252 otherwise.
/// A UTF-16 label without a byte order mark is only believed when the first
/// two bytes contain a NUL (ASCII text in UTF-16), and labels that
/// encoding_rs maps to its "replacement" encoding are ignored.
///
/// Decoding is lossy. The byte order mark and any NUL characters are
/// removed, and an XML
/// declaration that names an encoding is rewritten to `encoding="utf-8"`
/// so a downstream XML parser does not decode the text a second time.
pub fn decode_document(bytes: &[u8], http_charset: Option<&str>) -> Decoded {
    let (encoding, body) = choose_encoding(bytes, http_charset);
    let (text, malformed) = encoding.decode_without_bom_handling(body);
    // NUL is never allowed in XML or JSON text; feed-rs misreads documents
    // holding it (and panicked on a NUL-padded UTF-16 declaration).
    let text = if text.contains('\0') {
        Cow::Owned(text.replace('\0', ""))
    } else {
        text
    };
    let text = match rewrite_declared_encoding(&text) {
        Some(rewritten) => rewritten,
        None => text.into_owned(),
    };
    Decoded {
        text,
        encoding: encoding.name(),
        malformed,
    }
}

/// Picks the encoding and returns the bytes to decode (BOM removed).
fn choose_encoding<'a>(
    bytes: &'a [u8],
    http_charset: Option<&str>,
) -> (&'static Encoding, &'a [u8]) {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        return (encoding, bytes.get(bom_len..).unwrap_or_default());
    }
    // XML 1.0 appendix F: `<` as UTF-16 without a byte order mark.
    match bytes.get(..4) {
        Some([0, b'<', 0, c]) if *c != 0 => return (UTF_16BE, bytes),
        Some([b'<', 0, c, 0]) if *c != 0 => return (UTF_16LE, bytes),
        _ => {}
    }
    if let Some(encoding) = http_charset.and_then(|label| usable_encoding(label, bytes)) {
        return (encoding, bytes);
    }
    if let Some(encoding) = declared_encoding(bytes).and_then(|label| usable_encoding(label, bytes))
    {
        return (encoding, bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => (UTF_8, bytes),
        // `error_len() == None`: only an incomplete sequence at the very end
        // (e.g. a truncated download); the text is still UTF-8.
        Err(e) if e.error_len().is_none() => (UTF_8, bytes),
        Err(_) => (WINDOWS_1252, bytes),
    }
}

/// Resolves a charset label, rejecting the ones that cannot be right.
fn usable_encoding(label: &str, bytes: &[u8]) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches(|c| c == '"' || c == '\'');
    let encoding = Encoding::for_label(label.as_bytes())?;
    if encoding == REPLACEMENT {
        return None;
    }
    if encoding == UTF_16LE || encoding == UTF_16BE {
        // Without a BOM, ASCII-range text in UTF-16 has a NUL in every code
        // unit; a document whose first two bytes have none is not UTF-16.
        let head = bytes.get(..2).unwrap_or(bytes);
        if !head.contains(&0) {
            return None;
        }
    }
    Some(encoding)
}

/// A pseudo-attribute of an XML declaration, or an attribute of a tag:
/// byte ranges into the scanned text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttrSpan {
    /// Start of the name.
    pub(crate) name_start: usize,
    /// End of the name (exclusive).
    pub(crate) name_end: usize,
    /// Start of the value, including its opening quote if any.
    pub(crate) value_start: usize,
    /// End of the value (exclusive), including its closing quote if any.
    pub(crate) value_end: usize,
    /// Whether the value is quoted.
    pub(crate) quoted: bool,
}

impl AttrSpan {
    /// The value without its quotes.
    pub(crate) fn value<'a>(&self, text: &'a str) -> &'a str {
        let (start, end) = if self.quoted {
            (self.value_start + 1, self.value_end.saturating_sub(1))
        } else {
            (self.value_start, self.value_end)
        };
        text.get(start..end).unwrap_or_default()
    }

    /// The name.
    pub(crate) fn name<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.name_start..self.name_end).unwrap_or_default()
    }
}

pub(crate) fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| is_xml_space(c)) {
        i += 1;
    }
    i
}

/// Finds `needle` in `hay` at or after `from`.
/// If a CDATA section, comment or processing instruction starts at `i`,
/// the index just past its end (the end of `b` if it is unterminated).
/// Markup scanners skip these: their content is not parsed as XML.
pub(crate) fn skip_unparsed(b: &[u8], i: usize) -> Option<usize> {
    let rest = b.get(i..)?;
    let (end, skip): (&[u8], usize) = if rest.starts_with(b"<![CDATA[") {
        (b"]]>", 9)
    } else if rest.starts_with(b"<!--") {
        (b"-->", 4)
    } else if rest.starts_with(b"<?") {
        (b"?>", 2)
    } else {
        return None;
    };
    Some(find_from(b, i + skip, end).map_or(b.len(), |p| p + end.len()))
}

pub(crate) fn find_from(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let rest = hay.get(from..)?;
    if needle.is_empty() || rest.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= rest.len() {
        match rest[i..].iter().position(|&c| c == first) {
            None => return None,
            Some(p) => {
                i += p;
                if rest.get(i..i + needle.len()) == Some(needle) {
                    return Some(from + i);
                }
                i += 1;
            }
        }
    }
    None
}

/// The byte range of the body of an XML declaration at the start of `b`
/// (after optional whitespace): from after `<?xml` to before `?>`.
fn xml_decl_body(b: &[u8]) -> Option<(usize, usize)> {
    let start = skip_space(b, 0);
    let after = start + 5;
    if b.get(start..after) != Some(b"<?xml".as_slice())
        || !b.get(after).is_some_and(|&c| is_xml_space(c))
    {
        return None;
    }
    let limit = b.len().min(start + MAX_DECL_LEN);
    let end = find_from(b.get(..limit)?, after, b"?>")?;
    Some((after, end))
}

/// Parses `name = "value"` pairs in `b[start..end]`; stops at the first
/// malformed one. Values must be quoted.
fn pseudo_attributes(b: &[u8], start: usize, end: usize) -> Vec<AttrSpan> {
    let mut out = Vec::new();
    let mut i = start;
    loop {
        i = skip_space(b, i);
        if i >= end {
            break;
        }
        let name_start = i;
        while i < end && !is_xml_space(b[i]) && b[i] != b'=' {
            i += 1;
        }
        let name_end = i;
        i = skip_space(b, i);
        if i >= end || b[i] != b'=' {
            break;
        }
        i = skip_space(b, i + 1);
        let quote = match b.get(i) {
            Some(&q) if i < end && (q == b'"' || q == b'\'') => q,
            _ => break,
        };
        let Some(close) = b
            .get(i + 1..end)
            .and_then(|s| s.iter().position(|&c| c == quote))
        else {
            break;
        };
        let value_end = i + 1 + close + 1;
        out.push(AttrSpan {
            name_start,
            name_end,
            value_start: i,
            value_end,
            quoted: true,
        });
        i = value_end;
    }
    out
}

/// The `encoding` label of an XML declaration at the start of the bytes.
fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    let (start, end) = xml_decl_body(bytes)?;
    let head = std::str::from_utf8(bytes.get(..end)?).ok()?;
    pseudo_attributes(bytes, start, end)
        .into_iter()
        .find(|a| a.name(head) == "encoding")
        .map(|a| a.value(head))
}

/// Rewrites the `encoding` pseudo-attribute of a leading XML declaration to
/// `encoding="utf-8"`; `None` when there is nothing to rewrite.
fn rewrite_declared_encoding(text: &str) -> Option<String> {
    const UTF8_DECL: &str = "encoding=\"utf-8\"";
    let b = text.as_bytes();
    let (start, end) = xml_decl_body(b)?;
    let attr = pseudo_attributes(b, start, end)
        .into_iter()
        .find(|a| a.name(text) == "encoding")?;
    let old = text.get(attr.name_start..attr.value_end)?;
    if old == UTF8_DECL {
        return None;
    }
    let mut out = String::with_capacity(text.len() + UTF8_DECL.len());
    out.push_str(text.get(..attr.name_start)?);
    out.push_str(UTF8_DECL);
    out.push_str(text.get(attr.value_end..)?);
    Some(out)
}

/// Whether `c` may start an XML name (XML 1.0 fifth edition, `NameStartChar`).
pub(crate) fn is_name_start_char(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// Whether `c` may continue an XML name (`NameChar`).
pub(crate) fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Skips a `<!DOCTYPE ...>` (or other `<!...>` declaration) whose body
/// starts at `i` (after `<!`); returns the index after its closing `>`.
/// Quotes, an internal subset in `[...]` and comments inside it are
/// honoured.
fn skip_markup_decl(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    while let Some(&c) = b.get(i) {
        match c {
            b'"' | b'\'' => {
                let close = b.get(i + 1..)?.iter().position(|&q| q == c)?;
                i += close + 2;
                continue;
            }
            b'<' if b.get(i..i + 4) == Some(b"<!--".as_slice()) => {
                i = find_from(b, i + 4, b"-->")? + 3;
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

/// Index of the `<` of the root element's start tag: the first start tag
/// after the XML declaration, processing instructions, comments and
/// DOCTYPE.
pub(crate) fn root_start_tag(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = 0;
    loop {
        i += b.get(i..)?.iter().position(|&c| c == b'<')?;
        let rest = b.get(i..)?;
        if let Some(end) = skip_unparsed(b, i) {
            i = end;
        } else if rest.starts_with(b"<!") {
            i = skip_markup_decl(b, i + 2)?;
        } else if text
            .get(i + 1..)?
            .chars()
            .next()
            .is_some_and(is_name_start_char)
        {
            return Some(i);
        } else {
            i += 1;
        }
    }
}

/// Parses the attributes of the start tag whose name ends at `i`; stops at
/// `>` or at the first malformed attribute (`None` for an unterminated
/// quoted value). Unquoted and valueless attributes are accepted.
pub(crate) fn tag_attributes(b: &[u8], mut i: usize) -> Option<Vec<AttrSpan>> {
    let mut out = Vec::new();
    loop {
        i = skip_space(b, i);
        match b.get(i) {
            None | Some(b'>') => return Some(out),
            Some(b'/') => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let name_start = i;
        while b
            .get(i)
            .is_some_and(|&c| !is_xml_space(c) && !matches!(c, b'=' | b'>' | b'/'))
        {
            i += 1;
        }
        let name_end = i;
        let j = skip_space(b, i);
        if b.get(j) != Some(&b'=') {
            out.push(AttrSpan {
                name_start,
                name_end,
                value_start: name_end,
                value_end: name_end,
                quoted: false,
            });
            continue;
        }
        i = skip_space(b, j + 1);
        match b.get(i) {
            Some(&q) if q == b'"' || q == b'\'' => {
                let close = b.get(i + 1..)?.iter().position(|&c| c == q)?;
                let value_end = i + 1 + close + 1;
                out.push(AttrSpan {
                    name_start,
                    name_end,
                    value_start: i,
                    value_end,
                    quoted: true,
                });
                i = value_end;
            }
            _ => {
                let value_start = i;
                while b.get(i).is_some_and(|&c| !is_xml_space(c) && c != b'>') {
                    i += 1;
                }
                out.push(AttrSpan {
                    name_start,
                    name_end,
                    value_start,
                    value_end: i,
                    quoted: false,
                });
            }
        }
    }
}

/// Makes `<rss>` acceptable to feed-rs 3 by giving it `version="2.0"`.
///
/// feed-rs 3 only parses `<rss>` roots whose `version` is `"2.0"`, `""`,
/// `"0.91"` or `"0.92"` and reports "no root element" otherwise. If the
/// root element (the first start tag after the XML declaration, comments,
/// processing instructions and DOCTYPE) is `rss` and its `version` is
/// missing or not one of `"2.0"`, `"0.91"`, `"0.92"`, its value is set to
/// `"2.0"` (replaced in place, or inserted right after the element name);
/// other attributes are kept as they are. Any other document is returned
/// borrowed and unchanged.
pub fn fix_rss_version(text: &str) -> Cow<'_, str> {
    const VERSION: &str = "\"2.0\"";
    let Some(lt) = root_start_tag(text) else {
        return Cow::Borrowed(text);
    };
    let b = text.as_bytes();
    let name_start = lt + 1;
    let mut name_end = name_start;
    while b
        .get(name_end)
        .is_some_and(|&c| !is_xml_space(c) && !matches!(c, b'>' | b'/'))
    {
        name_end += 1;
    }
    if text.get(name_start..name_end) != Some("rss") {
        return Cow::Borrowed(text);
    }
    let Some(attrs) = tag_attributes(b, name_end) else {
        return Cow::Borrowed(text);
    };
    let (at, end, insert) = match attrs.iter().find(|a| a.name(text) == "version") {
        Some(a) if matches!(a.value(text), "2.0" | "0.91" | "0.92") => return Cow::Borrowed(text),
        Some(a) if a.value_start == a.name_end => {
            // `<rss version>` without a value.
            (a.name_end, a.name_end, format!("={VERSION}"))
        }
        Some(a) => (a.value_start, a.value_end, VERSION.to_string()),
        None => (name_end, name_end, format!(" version={VERSION}")),
    };
    let (Some(head), Some(tail)) = (text.get(..at), text.get(end..)) else {
        return Cow::Borrowed(text);
    };
    Cow::Owned(format!("{head}{insert}{tail}"))
}

/// Length of a well-formed reference starting with the `&` at `s[0]`
/// (`&name;`, `&#123;`, `&#x1F;`), or `None`.
fn reference_len(s: &str) -> Option<usize> {
    let rest = s.get(1..)?;
    let body_len = if let Some(num) = rest.strip_prefix('#') {
        if let Some(hex) = num.strip_prefix(['x', 'X']) {
            let n = hex.bytes().take_while(u8::is_ascii_hexdigit).count();
            (n > 0).then_some(n + 2)?
        } else {
            let n = num.bytes().take_while(u8::is_ascii_digit).count();
            (n > 0).then_some(n + 1)?
        }
    } else {
        let mut chars = rest.chars();
        if !chars.next().is_some_and(is_name_start_char) {
            return None;
        }
        rest.char_indices()
            .skip(1)
            .find(|&(_, c)| !is_name_char(c))
            .map_or(rest.len(), |(i, _)| i)
    };
    (rest.as_bytes().get(body_len) == Some(&b';')).then_some(body_len + 2)
}

/// Escapes `&` characters that do not start a well-formed reference.
///
/// Every `&` that does not begin `&name;` (name made of XML name
/// characters), `&#123;` or `&#x1F;` becomes `&amp;`. References to names
/// only HTML knows, like `&nbsp;`, count as well-formed and stay. Nothing
/// inside `<![CDATA[...]]>` sections, `<!--...-->` comments or `<?...?>`
/// processing instructions is touched; an unterminated one extends to the
/// end of the text. Returns the input borrowed when nothing changes.
pub fn fix_bare_ampersands(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0; // text[..copied] has been handled in `out`
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' => {
                i = skip_unparsed(b, i).unwrap_or(i + 1);
            }
            b'&' => {
                let rest = text.get(i..).unwrap_or_default();
                match reference_len(rest) {
                    Some(len) => i += len,
                    None => {
                        let buf = out.get_or_insert_with(|| String::with_capacity(text.len() + 16));
                        buf.push_str(text.get(copied..i).unwrap_or_default());
                        buf.push_str("&amp;");
                        i += 1;
                        copied = i;
                    }
                }
            }
            _ => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(text.get(copied..).unwrap_or_default());
            Cow::Owned(buf)
        }
    }
}

/// The `rdf:about` of an `item` start tag, unescaped.
fn rdf_about<R>(reader: &NsReader<R>, start: &BytesStart<'_>) -> Option<String> {
    for attr in start.attributes() {
        let Ok(attr) = attr else { break };
        let (ns, local) = reader.resolver().resolve_attribute(attr.key);
        let (in_rdf, bound) = match ns {
            ResolveResult::Bound(Namespace(uri)) => (uri == RDF_NS, true),
            _ => (false, false),
        };
        // A literal `rdf:about` counts only when `rdf` is not bound elsewhere.
        let literal = !bound && attr.key.as_ref() == "rdf:about";
        if local.as_ref() == "about" && (in_rdf || literal) {
            let value = match attr.normalized_value(XmlVersion::Implicit1_0) {
                Ok(v) => v.into_owned(),
                Err(_) => attr.value.into_owned(),
            };
            return Some(value);
        }
    }
    None
}

/// The `rdf:about` identifiers of the items of an RSS 1.0 document.
///
/// If the root element's local name is `RDF`, returns, in document order,
/// one slot for each element whose local name is `item` (any prefix): the
/// unescaped value of its `about` attribute in the RDF namespace (any
/// prefix bound to `http://www.w3.org/1999/02/22-rdf-syntax-ns#`, or a
/// literal `rdf:about`), or `None` when it has none. Any other root gives
/// an empty `Vec`. On a parse error the ids collected so far are returned.
/// feed-rs 3 drops these ids; this recovers them.
pub fn rss1_item_ids(text: &str) -> Vec<Option<String>> {
    let mut reader = NsReader::from_str(text);
    let mut ids = Vec::new();
    let mut seen_root = false;
    loop {
        let start = match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => e,
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => continue,
        };
        if !seen_root {
            if start.local_name().as_ref() != "RDF" {
                break;
            }
            seen_root = true;
            continue;
        }
        if start.local_name().as_ref() == "item" {
            ids.push(rdf_about(&reader, &start));
        }
    }
    ids
}

/// The `rdf:about` of the `channel` of an RSS 1.0 document (the feed's
/// own URL), under the same rules as [`rss1_item_ids`].
pub fn rss1_channel_about(text: &str) -> Option<String> {
    let mut reader = NsReader::from_str(text);
    let mut seen_root = false;
    loop {
        let start = match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => e,
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => continue,
        };
        if !seen_root {
            if start.local_name().as_ref() != "RDF" {
                return None;
            }
            seen_root = true;
            continue;
        }
        if start.local_name().as_ref() == "channel" {
            return rdf_about(&reader, &start);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if big_endian {
                &[0xFE, 0xFF]
            } else {
                &[0xFF, 0xFE]
            });
        }
        for unit in s.encode_utf16() {
            let bytes = if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            };
            out.extend_from_slice(&bytes);
        }
        out
    }

    #[test]
    fn decode_plain_utf8() {
        let d = decode_document("<rss>café</rss>".as_bytes(), None);
        assert_eq!(
            d,
            Decoded {
                text: "<rss>café</rss>".into(),
                encoding: "UTF-8",
                malformed: false
            }
        );
    }

    #[test]
    fn decode_utf8_bom_is_stripped() {
        let d = decode_document(b"\xEF\xBB\xBF<rss/>", Some("iso-8859-1"));
        assert_eq!(
            d,
            Decoded {
                text: "<rss/>".into(),
                encoding: "UTF-8",
                malformed: false
            }
        );
    }

    #[test]
    fn decode_utf16_le_and_be_with_bom() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss>é€</rss>";
        let want = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss>é€</rss>";
        let le = decode_document(&utf16(doc, false, true), None);
        assert_eq!(
            le,
            Decoded {
                text: want.into(),
                encoding: "UTF-16LE",
                malformed: false
            }
        );
        let be = decode_document(&utf16(doc, true, true), Some("utf-8"));
        assert_eq!(
            be,
            Decoded {
                text: want.into(),
                encoding: "UTF-16BE",
                malformed: false
            }
        );
    }

    #[test]
    fn decode_http_charset_wins_over_declaration() {
        let doc = b"<?xml version='1.0' encoding='utf-8'?><a>\xE9</a>";
        let d = decode_document(doc, Some(" \"ISO-8859-1\" "));
        assert_eq!(d.text, "<?xml version='1.0' encoding=\"utf-8\"?><a>é</a>");
        assert_eq!(d.encoding, "windows-1252");
        assert!(!d.malformed);
    }

    #[test]
    fn decode_unknown_http_charset_falls_back_to_declaration() {
        let doc = b"<?xml version=\"1.0\" encoding=\"koi8-r\" standalone=\"yes\"?><a>\xC1</a>";
        let d = decode_document(doc, Some("bogus-charset"));
        assert_eq!(
            d.text,
            "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?><a>а</a>"
        );
        assert_eq!(d.encoding, "KOI8-R");
    }

    #[test]
    fn decode_declared_utf8_with_bad_bytes_is_malformed() {
        let d = decode_document(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>\xFF</a>",
            None,
        );
        assert_eq!(
            d.text,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><a>\u{FFFD}</a>"
        );
        assert_eq!(d.encoding, "UTF-8");
        assert!(d.malformed);
    }

    #[test]
    fn decode_undeclared_invalid_utf8_is_windows_1252() {
        let d = decode_document(b"<a>\x93hi\x94 \x80</a>", None);
        assert_eq!(
            d,
            Decoded {
                text: "<a>\u{201C}hi\u{201D} \u{20AC}</a>".into(),
                encoding: "windows-1252",
                malformed: false
            }
        );
    }

    #[test]
    fn decode_truncated_utf8_stays_utf8() {
        let d = decode_document(b"<a>caf\xC3", None);
        assert_eq!(
            d,
            Decoded {
                text: "<a>caf\u{FFFD}".into(),
                encoding: "UTF-8",
                malformed: true
            }
        );
    }

    #[test]
    fn decode_json_uses_same_rules() {
        let d = decode_document(b"  {\"title\": \"caf\xE9\"}", None);
        assert_eq!(d.text, "  {\"title\": \"café\"}");
        assert_eq!(d.encoding, "windows-1252");
        let d = decode_document(&utf16("{\"a\":1}", false, true), None);
        assert_eq!(
            d,
            Decoded {
                text: "{\"a\":1}".into(),
                encoding: "UTF-16LE",
                malformed: false
            }
        );
    }

    #[test]
    fn decode_ignores_impossible_labels() {
        // A UTF-16 label on ASCII-compatible bytes, and a label encoding_rs
        // maps to "replacement".
        let d = decode_document(
            b"<?xml version=\"1.0\" encoding=\"utf-16\"?><a/>",
            Some("iso-2022-kr"),
        );
        assert_eq!(
            d,
            Decoded {
                text: "<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>".into(),
                encoding: "UTF-8",
                malformed: false
            }
        );
    }

    #[test]
    fn decode_utf16_without_bom_is_detected() {
        let doc = "<?xml version=\"1.0\" encoding=\"utf-16\"?><a>é</a>";
        let want = "<?xml version=\"1.0\" encoding=\"utf-8\"?><a>é</a>";
        let be = decode_document(&utf16(doc, true, false), None);
        assert_eq!((be.text.as_str(), be.encoding), (want, "UTF-16BE"));
        let le = decode_document(&utf16(doc, false, false), Some("utf-8"));
        assert_eq!((le.text.as_str(), le.encoding), (want, "UTF-16LE"));
    }

    #[test]
    fn decode_drops_nul_characters() {
        let d = decode_document(b"<a>x\0y</a>\0", None);
        assert_eq!(d.text, "<a>xy</a>");
    }

    #[test]
    fn decode_utf16_without_bom_by_http_charset() {
        let d = decode_document(&utf16("<a>é</a>", false, false), Some("utf-16le"));
        assert_eq!(
            d,
            Decoded {
                text: "<a>é</a>".into(),
                encoding: "UTF-16LE",
                malformed: false
            }
        );
    }

    #[test]
    fn decode_hostile_inputs_do_not_panic() {
        for bytes in [
            &b""[..],
            b"\xEF\xBB",
            b"\xFF\xFE\x00",
            b"<?xml",
            b"<?xml ",
            b"<?xml encoding=",
            b"<?xml encoding=\"",
            b"<?xml encoding=\"utf-8?>",
            b"<?xml encoding ?>",
            b"\xFE\xFF\xD8\x00",
        ] {
            let d = decode_document(bytes, Some(""));
            assert!(d.text.len() <= bytes.len() * 3 + 3);
        }
        assert_eq!(decode_document(b"", None).text, "");
        assert_eq!(
            decode_document(b"<?xml encoding=\"utf-8?>", None).text,
            "<?xml encoding=\"utf-8?>"
        );
    }

    #[test]
    fn decode_declaration_without_encoding_is_kept() {
        let doc = "<?xml version=\"1.0\"?><a/>";
        assert_eq!(decode_document(doc.as_bytes(), None).text, doc);
        // Not a declaration: `<?xml-stylesheet`.
        let doc = "<?xml-stylesheet encoding=\"latin1\"?><a/>";
        assert_eq!(decode_document(doc.as_bytes(), None).text, doc);
    }

    #[test]
    fn rss_version_accepted_values_are_borrowed() {
        for doc in [
            "<rss version=\"2.0\"><channel/></rss>",
            "<?xml version=\"1.0\"?><rss version='0.91'/>",
            "<rss version=\"0.92\">",
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"/>",
            "<rdf:RDF/>",
            "",
            "no markup at all",
            "<!-- <rss> -->",
        ] {
            assert!(
                matches!(fix_rss_version(doc), Cow::Borrowed(s) if s == doc),
                "{doc}"
            );
        }
    }

    #[test]
    fn rss_version_missing_is_inserted() {
        assert_eq!(
            fix_rss_version("<rss><channel/></rss>"),
            "<rss version=\"2.0\"><channel/></rss>"
        );
        assert_eq!(fix_rss_version("<rss/>"), "<rss version=\"2.0\"/>");
        assert_eq!(
            fix_rss_version("<rss\n  xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"),
            "<rss version=\"2.0\"\n  xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
        );
    }

    #[test]
    fn rss_version_unusual_is_replaced() {
        assert_eq!(
            fix_rss_version("<rss xmlns:a=\"x\" version=\"2.00\" b='c'>"),
            "<rss xmlns:a=\"x\" version=\"2.0\" b='c'>"
        );
        assert_eq!(
            fix_rss_version("<rss version='0.94'>"),
            "<rss version=\"2.0\">"
        );
        assert_eq!(
            fix_rss_version("<rss version = \"2\">"),
            "<rss version = \"2.0\">"
        );
        assert_eq!(
            fix_rss_version("<rss version=\"\">"),
            "<rss version=\"2.0\">"
        );
        assert_eq!(
            fix_rss_version("<rss version=2.0.1>"),
            "<rss version=\"2.0\">"
        );
        assert_eq!(fix_rss_version("<rss version>"), "<rss version=\"2.0\">");
    }

    #[test]
    fn rss_version_skips_prolog() {
        let doc = "\u{FEFF}<?xml version=\"1.0\"?>\n<?xml-stylesheet href=\"a.xsl\"?>\n<!-- <rss version=\"9\"> -->\n\
                   <!DOCTYPE rss PUBLIC \"-//Netscape Communications//DTD RSS 0.91//EN\" \"http://x/rss-0.91.dtd\" [<!ENTITY a \">\"> <!-- ] > -->]>\n\
                   <rss version=\"0.90\">";
        let want = doc.replace("\"0.90\"", "\"2.0\"");
        assert_eq!(fix_rss_version(doc), want);
    }

    #[test]
    fn rss_version_hostile_inputs() {
        for doc in [
            "<",
            "<rss",
            "<rss version=\"2.00",
            "<!DOCTYPE rss [",
            "<?xml",
            "<!--",
            "<rss a=",
            "< rss>",
            "<rssx>",
            "<RSS>",
        ] {
            let out = fix_rss_version(doc);
            assert!(
                matches!(out, Cow::Borrowed(_)) || doc == "<rss" || doc == "<rss a=",
                "{doc}"
            );
        }
        assert_eq!(fix_rss_version("<rss"), "<rss version=\"2.0\"");
        assert_eq!(fix_rss_version("<rss a="), "<rss version=\"2.0\" a=");
    }

    #[test]
    fn ampersands_well_formed_are_borrowed() {
        let doc = "<a href=\"?x=1&amp;y=2\">&lt;b&gt; &#39; &#x1F600; &nbsp; &Eacute; &é;</a>";
        assert!(matches!(fix_bare_ampersands(doc), Cow::Borrowed(_)));
    }

    #[test]
    fn ampersands_bare_are_escaped() {
        assert_eq!(
            fix_bare_ampersands("<a href=\"?x=1&y=2\">Tom & Jerry &amp; co &#; &#x; &#12 &1a; &a b;</a>&"),
            "<a href=\"?x=1&amp;y=2\">Tom &amp; Jerry &amp; co &amp;#; &amp;#x; &amp;#12 &amp;1a; &amp;a b;</a>&amp;"
        );
    }

    #[test]
    fn ampersands_in_cdata_comments_and_pis_are_kept() {
        let doc = "<?xml-stylesheet href=\"a?b&c\"?><x><![CDATA[a & b]]><!-- c & d -->e & f</x>";
        assert_eq!(
            fix_bare_ampersands(doc),
            "<?xml-stylesheet href=\"a?b&c\"?><x><![CDATA[a & b]]><!-- c & d -->e &amp; f</x>"
        );
        // Unterminated sections extend to the end.
        let doc = "a & b <![CDATA[ c & d";
        assert_eq!(fix_bare_ampersands(doc), "a &amp; b <![CDATA[ c & d");
        let doc = "a <!-- & ";
        assert_eq!(fix_bare_ampersands(doc), doc);
    }

    #[test]
    fn ampersands_edge_cases() {
        assert_eq!(fix_bare_ampersands(""), "");
        assert_eq!(fix_bare_ampersands("&"), "&amp;");
        assert_eq!(fix_bare_ampersands("&&&;"), "&amp;&amp;&amp;;");
        assert_eq!(fix_bare_ampersands("&amp"), "&amp;amp");
        assert_eq!(fix_bare_ampersands("é&é"), "é&amp;é");
        let long = "&".to_string() + &"a".repeat(100_000);
        assert_eq!(fix_bare_ampersands(&long).len(), long.len() + 4);
    }

    const RDF: &str = r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
  <channel rdf:about="http://x/">
    <items><rdf:Seq><rdf:li rdf:resource="http://x/1"/></rdf:Seq></items>
  </channel>
  <item rdf:about="http://x/1?a=1&amp;b=2"><title>One</title></item>
  <item><title>Two</title></item>
  <rss:item xmlns:rss="http://purl.org/rss/1.0/" r:about="http://x/3" xmlns:r="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>
  <item about="http://x/4"/>
</rdf:RDF>"#;

    #[test]
    fn rss1_channel_about_is_found() {
        let doc = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://ex.eu/feed"><title>T</title></channel><item rdf:about="https://ex.eu/1"/></rdf:RDF>"#;
        assert_eq!(
            rss1_channel_about(doc).as_deref(),
            Some("https://ex.eu/feed")
        );
        assert_eq!(
            rss1_channel_about("<rss><channel about=\"x\"/></rss>"),
            None
        );
    }

    #[test]
    fn rss1_ids_in_document_order() {
        assert_eq!(
            rss1_item_ids(RDF),
            vec![
                Some("http://x/1?a=1&b=2".to_string()),
                None,
                Some("http://x/3".to_string()),
                None
            ]
        );
    }

    #[test]
    fn rss1_ids_literal_prefix_without_binding() {
        let doc = "<RDF><item rdf:about=\"a\"/><item rdf:about=\"b&nbsp;\"/></RDF>";
        assert_eq!(
            rss1_item_ids(doc),
            vec![Some("a".to_string()), Some("b&nbsp;".to_string())]
        );
    }

    #[test]
    fn rss1_ids_rdf_prefix_bound_elsewhere_is_not_rdf() {
        let doc = "<r:RDF xmlns:r=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns:rdf=\"urn:other\">\
                   <item rdf:about=\"no\" r:about=\"yes\"/><item rdf:about=\"no\"/></r:RDF>";
        assert_eq!(rss1_item_ids(doc), vec![Some("yes".to_string()), None]);
    }

    #[test]
    fn rss1_ids_other_roots_are_empty() {
        assert!(rss1_item_ids(
            "<rss version=\"2.0\"><channel><item rdf:about=\"a\"/></channel></rss>"
        )
        .is_empty());
        assert!(rss1_item_ids("").is_empty());
        assert!(rss1_item_ids("not xml").is_empty());
    }

    #[test]
    fn rss1_ids_stop_at_parse_error() {
        let doc = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
                   <item rdf:about=\"a\"></item><item rdf:about=\"b\"></wrong><item rdf:about=\"c\"/>";
        assert_eq!(
            rss1_item_ids(doc),
            vec![Some("a".to_string()), Some("b".to_string())]
        );
        let doc = "<rdf:RDF><item rdf:about=\"a\"/><item rdf:about=\"unterminated";
        assert_eq!(rss1_item_ids(doc), vec![Some("a".to_string())]);
    }

    /// Deterministic pseudo-random documents built from tricky fragments.
    fn fuzz_inputs(pieces: &[&str], count: usize) -> Vec<String> {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let len = (next() % 24) as usize;
                (0..len)
                    .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn fuzz_never_panics() {
        let pieces = [
            "<",
            ">",
            "/",
            "?",
            "!",
            "-",
            "[",
            "]",
            "\"",
            "'",
            "=",
            " ",
            "\n",
            "&",
            ";",
            "#",
            "x",
            "1",
            "é",
            "\u{FEFF}",
            "<?xml ",
            "?>",
            "encoding=",
            "version=",
            "<rss",
            "<rdf:RDF",
            "<RDF",
            "<item",
            "</item>",
            "rdf:about=",
            "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"",
            "<!--",
            "-->",
            "<![CDATA[",
            "]]>",
            "<!DOCTYPE",
            "&amp;",
            "&#x",
            "\u{0}",
        ];
        for doc in fuzz_inputs(&pieces, 3000) {
            let _ = decode_document(doc.as_bytes(), None);
            let _ = decode_document(doc.as_bytes(), Some("utf-16"));
            let fixed = fix_rss_version(&doc);
            let _ = fix_bare_ampersands(&fixed);
            let _ = rss1_item_ids(&doc);
        }
        for bytes in fuzz_inputs(&pieces, 500) {
            let mut raw = bytes.into_bytes();
            raw.insert(0, 0xFE);
            let _ = decode_document(&raw, None);
        }
    }
}
