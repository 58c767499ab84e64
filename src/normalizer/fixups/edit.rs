//! Helpers shared by the fix-ups: edits applied in one pass, the root tag,
//! local names and XML escaping.
//!
//! Part of [`super`]: a fix-up collects [`Edit`]s while scanning and
//! [`apply`] builds the patched text once, or borrows the input when there
//! is nothing to change.

use crate::normalizer::decode::{is_xml_space, root_start_tag};
use std::borrow::Cow;

/// A replacement of `text[start..end]`.
#[derive(Debug)]
pub(super) struct Edit {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) with: String,
}

/// Applies non-overlapping edits sorted by position; overlapping or out of
/// range ones are skipped.
pub(super) fn apply(text: &str, mut edits: Vec<Edit>) -> Cow<'_, str> {
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
pub(super) fn root_tag(text: &str) -> Option<(usize, usize, &str)> {
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
pub(super) fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

/// Escapes text for XML character data and attribute values.
pub(super) fn escape(s: &str) -> String {
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
