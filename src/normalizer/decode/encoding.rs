//! Bytes to UTF-8: choosing the encoding of a feed document.
//!
//! Part of [`super`]: [`decode_document`] picks the encoding from a BOM, the
//! HTTP charset, the XML declaration or a UTF-16 guess, falls back to
//! windows-1252 for undeclared invalid UTF-8, and rewrites a declaration
//! that would make the parser switch encodings again.

use super::scan::{find_from, is_xml_space, skip_space, AttrSpan};
use encoding_rs::{Encoding, REPLACEMENT, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};
use std::borrow::Cow;

/// How far into the document the end of an XML declaration is looked for.
pub(super) const MAX_DECL_LEN: usize = 1024;

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
pub(super) fn choose_encoding<'a>(
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
pub(super) fn usable_encoding(label: &str, bytes: &[u8]) -> Option<&'static Encoding> {
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

/// The byte range of the body of an XML declaration at the start of `b`
/// (after optional whitespace): from after `<?xml` to before `?>`.
pub(super) fn xml_decl_body(b: &[u8]) -> Option<(usize, usize)> {
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
pub(super) fn pseudo_attributes(b: &[u8], start: usize, end: usize) -> Vec<AttrSpan> {
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
pub(super) fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    let (start, end) = xml_decl_body(bytes)?;
    let head = std::str::from_utf8(bytes.get(..end)?).ok()?;
    pseudo_attributes(bytes, start, end)
        .into_iter()
        .find(|a| a.name(head) == "encoding")
        .map(|a| a.value(head))
}

/// Rewrites the `encoding` pseudo-attribute of a leading XML declaration to
/// `encoding="utf-8"`; `None` when there is nothing to rewrite.
pub(super) fn rewrite_declared_encoding(text: &str) -> Option<String> {
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
}
