//! HTML named entities in XML documents.
//!
//! Part of [`super`]: [`fix_entities`] turns the entities HTML knows into
//! numeric references and escapes unknown ones, leaving those the document
//! declares.

use super::edit::{apply, Edit};
use crate::normalizer::decode::{
    find_from, is_name_char, is_xml_space, root_start_tag, skip_unparsed,
};
use std::borrow::Cow;

/// The names XML itself defines.
pub(super) const XML_ENTITIES: &[&str] = &["amp", "lt", "gt", "quot", "apos"];

/// Names of entities declared in an internal DTD subset (`<!ENTITY name`).
pub(super) fn declared_entities(text: &str) -> Vec<&str> {
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
pub(super) fn doctype_end(b: &[u8]) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
