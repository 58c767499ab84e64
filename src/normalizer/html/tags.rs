//! Low-level scanning of HTML tags for the shape scan.
//!
//! Part of [`super`]: where a tag, a name or a raw-text element ends, in
//! linear time and without panicking on any input.

use super::text::find_from;

/// A tag as [`scan_tag`] read it.
pub(super) struct Tag {
    /// The index after its `>`.
    pub(super) end: usize,
    /// It ends with `/>`.
    pub(super) self_closing: bool,
    /// It has a `color`, `face` or `size` attribute (a `font` that ends
    /// SVG or MathML content).
    pub(super) font_breakout: bool,
    /// It has `encoding="text/html"` or `"application/xhtml+xml"`.
    pub(super) html_encoding: bool,
}

pub(super) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0C')
}

/// Reads the attributes of a tag whose name ends at `i`, as html5ever's
/// tokenizer does (quoted values may hold `>`; `/>` after an unquoted
/// value is part of it); `None` when the document ends inside the tag
/// (html5ever drops such a tag).
pub(super) fn scan_tag(b: &[u8], mut i: usize) -> Option<Tag> {
    let mut tag = Tag {
        end: 0,
        self_closing: false,
        font_breakout: false,
        html_encoding: false,
    };
    loop {
        while b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        match *b.get(i)? {
            b'>' => {
                tag.end = i + 1;
                return Some(tag);
            }
            b'/' => {
                if b.get(i + 1) == Some(&b'>') {
                    tag.self_closing = true;
                    tag.end = i + 2;
                    return Some(tag);
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        // An attribute name: its first character may be `=`.
        let name_start = i;
        i += 1;
        while b
            .get(i)
            .is_some_and(|&c| !is_space(c) && !matches!(c, b'/' | b'>' | b'='))
        {
            i += 1;
        }
        let name = b.get(name_start..i).unwrap_or_default();
        while b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            if ["color", "face", "size"]
                .iter()
                .any(|a| name.eq_ignore_ascii_case(a.as_bytes()))
            {
                tag.font_breakout = true;
            }
            continue;
        }
        i += 1;
        while b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        let (value_start, value_end) = match *b.get(i)? {
            q @ (b'"' | b'\'') => {
                let close = i + 1 + b.get(i + 1..)?.iter().position(|&c| c == q)?;
                let v = (i + 1, close);
                i = close + 1;
                v
            }
            b'>' => continue,
            _ => {
                let start = i;
                while b.get(i).is_some_and(|&c| !is_space(c) && c != b'>') {
                    i += 1;
                }
                (start, i)
            }
        };
        if ["color", "face", "size"]
            .iter()
            .any(|a| name.eq_ignore_ascii_case(a.as_bytes()))
        {
            tag.font_breakout = true;
        }
        if name.eq_ignore_ascii_case(b"encoding") {
            let v = b.get(value_start..value_end).unwrap_or_default();
            tag.html_encoding = v.eq_ignore_ascii_case(b"text/html")
                || v.eq_ignore_ascii_case(b"application/xhtml+xml");
        }
    }
}

/// The end of the tag name starting at `i` (html5ever: up to a space, `/`
/// or `>`).
pub(super) fn scan_name(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i)
        .is_some_and(|&c| !is_space(c) && !matches!(c, b'/' | b'>'))
    {
        i += 1;
    }
    i
}

/// The start of the first `</name` at or after `from` that html5ever
/// takes for the end of a RAWTEXT, RCDATA or script element named `name`
/// (followed by a space, `/` or `>`).
pub(super) fn raw_end(b: &[u8], from: usize, name: &str) -> Option<usize> {
    let mut i = from;
    loop {
        let at = find_from(b, i, b"</")?;
        let name_end = at + 2 + name.len();
        if b.get(at + 2..name_end)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && b.get(name_end)
                .is_some_and(|&c| is_space(c) || matches!(c, b'/' | b'>'))
        {
            return Some(at);
        }
        i = at + 2;
    }
}
