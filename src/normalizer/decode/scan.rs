//! Byte-level XML scanning shared by the fix-ups.
//!
//! Part of [`super`]: where the root start tag is, a tag's attributes as
//! spans, name characters, and skipping comments, CDATA sections,
//! processing instructions and declarations, without a full parse.

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

pub(super) fn skip_space(b: &[u8], mut i: usize) -> usize {
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
pub(super) fn skip_markup_decl(b: &[u8], mut i: usize) -> Option<usize> {
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
