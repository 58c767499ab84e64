//! The normalizer's limits on hostile documents, and the bounding of JSON
//! Feeds.
//!
//! Part of the normalizer stage (feed bytes -> normalized entries). A feed
//! document comes from a server feedfold does not control, so what one
//! document may cost is bounded before any parser that recurses, or that
//! can take more than linear time or memory, sees it:
//!
//! - **Nesting** ([`MAX_DEPTH`]): a document whose elements (XML) or
//!   arrays and objects (JSON) nest deeper is refused; feed-rs recurses
//!   into nested elements and would overflow the stack.
//! - **Size** ([`MAX_ENTRIES`], [`MAX_ELEMENTS`], [`MAX_TEXT_ELEMENTS`],
//!   [`MAX_JSON_MEMBERS`], [`MAX_JSON_VALUES`]):
//!   entries and elements beyond these are dropped from the text before
//!   feed-rs reads it (with a warning), so that its in-memory model stays
//!   small whatever the document holds.
//! - **Entry HTML** ([`MAX_HTML_BYTES`], [`MAX_HTML_DEPTH`],
//!   [`MAX_HTML_FORMATTING`], [`MAX_HTML_COST_NS`] per entry and
//!   [`DOCUMENT_HTML_COST_NS`] per document, from a cost model with the
//!   `HTML_NS_*` figures): HTML that could make html5ever (behind ammonia)
//!   take more than linear time or memory, or more time than the document
//!   has left, is not sanitized; the entry keeps its plain text (see
//!   [`super::html::sanitize_bounded`]).
//! - **Kept text** ([`MAX_TEXT_BYTES`], [`MAX_FIELD_BYTES`]): what one entry
//!   stores; [`DOCUMENT_FEATURE_BYTES`]: how much of a document's text the
//!   detector's features are computed from.
//!
//! [`bound_json`] applies the nesting and size limits to a JSON document in
//! one linear pass over its bytes, without parsing it into memory.

use std::borrow::Cow;

/// How deep elements (XML) or arrays and objects (JSON) may nest: a
/// document nested deeper is refused. Real feeds nest 5 to 20 levels
/// (Atom with inline XHTML the most). feed-rs recurses into nested
/// `media:group` and `itunes:category` elements with about 5 KB of stack
/// per level in a debug build (2 KB in a release build): a 2 MiB thread
/// (tokio's blocking pool) overflowed between 300 and 400 levels in a
/// debug build, so 128 leaves a margin of 2 in the worst case. serde_json
/// refuses JSON nested deeper than 128 too.
pub const MAX_DEPTH: usize = 128;

/// Array elements and object members kept per JSON document, all arrays
/// and objects together; later ones are dropped with a warning. The JSON
/// fix-ups hold the whole document as a `serde_json::Value`, about 100
/// bytes per member.
pub const MAX_JSON_VALUES: usize = 250_000;

/// Entries kept per document; later ones are dropped with a warning.
pub const MAX_ENTRIES: usize = 10_000;

/// Elements kept per XML document outside the text of titles, summaries,
/// content and descriptions (which feed-rs keeps as strings). Later ones
/// are dropped with a warning. feed-rs keeps a struct of 100 to 1,000
/// bytes per element it understands (an entry, a link, a category), so
/// this bounds its memory whatever a 16 MiB document holds; a real feed of
/// 10,000 entries has about 20 elements each.
pub const MAX_ELEMENTS: usize = 250_000;

/// Elements kept per XML document inside the text of titles, summaries,
/// content and descriptions (inline XHTML, or markup that should have been
/// escaped); later ones are dropped with a warning. feed-rs reads each of
/// them (about 0.3 µs apiece), and so does each fix-up.
pub const MAX_TEXT_ELEMENTS: usize = 200_000;

/// Elements kept per JSON array or members per JSON object, except the
/// feed's `items` ([`MAX_ENTRIES`]); the rest are dropped with a warning.
pub const MAX_JSON_MEMBERS: usize = 1_000;

/// Largest entry HTML (a summary, a content, a title marked HTML) that is
/// sanitized, in bytes; larger HTML is kept as plain text. Sanitized HTML
/// longer than this is not kept either.
pub const MAX_HTML_BYTES: usize = 1 << 20;

/// How deep one entry's HTML may leave elements open (as
/// [`super::html::html_shape`] counts them, which is never fewer than
/// html5ever keeps open, but for the few elements html5ever adds itself,
/// such as `tbody`) for it to be sanitized. html5ever scans its stack of
/// open elements for many tags, so deeply nested HTML costs it quadratic
/// time: 25,000 unclosed `<div>` took 2.4 s.
pub const MAX_HTML_DEPTH: usize = 128;

/// Most formatting elements (`a`, `b`, `em`, `font`...) one entry's HTML
/// may leave open for it to be sanitized: html5ever re-creates the open
/// formatting elements inside every new block, so many of them cost it
/// time and memory for every block.
pub const MAX_HTML_FORMATTING: usize = 32;

/// Estimated html5ever (and ammonia) time per tag, in nanoseconds, for
/// [`super::html::Shape::cost_ns`]: 2 million `<b>a</b>` tags took about
/// 1.2 s in a release build on the 2-core build machine.
pub const HTML_NS_PER_TAG: u64 = 1_200;

/// Estimated time per byte of HTML, in nanoseconds (text-heavy entries
/// sanitize at about 200 MB/s).
pub const HTML_NS_PER_BYTE: u64 = 5;

/// Estimated time per element html5ever may scan on its stack of open
/// elements, per tag, in nanoseconds (25,000 nested `<div>` cost 2.4 s for
/// 312 million scanned elements).
pub const HTML_NS_PER_OPEN_ELEMENT: u64 = 8;

/// Estimated time per formatting element html5ever may re-create, per
/// tag, in nanoseconds (5,000 paragraphs inside 30 open `<b>` took 70 ms).
pub const HTML_NS_PER_FORMATTING: u64 = 500;

/// Bytes html5ever's serializer scans per nanosecond (memchr). html5ever
/// 0.40's serializer looks for the next `<`, `>` (or `"`) from each
/// character it escapes (`&`, and U+0080..U+00BF such as the no-break
/// space) to the end of the text: quadratic in a long text with many of
/// them (1 million `&zz;` took 33 s).
pub const HTML_ESCAPE_BYTES_PER_NS: u64 = 50;

/// Most estimated time ([`super::html::Shape::cost_ns`]) one entry's HTML
/// may cost for it to be sanitized, in nanoseconds: 150 ms.
pub const MAX_HTML_COST_NS: u64 = 150_000_000;

/// Estimated time one document may spend sanitizing HTML, in nanoseconds:
/// 300 ms (the estimate runs about twice the time measured). The HTML of
/// later entries is kept as plain text once it is spent; a feed of 50
/// entries of 10 KB each uses about 10 ms. Everything else normalizing
/// does is linear: a 16 MiB document takes 0.3 to 0.8 s besides (feed-rs,
/// fix-ups, text, features) on the build machine.
pub const DOCUMENT_HTML_COST_NS: u64 = 300_000_000;

/// Text the detector's features are computed from, per document, in
/// bytes, each line counting [`FEATURE_BYTES_PER_LINE`] more: 4 MiB. The
/// features of later entries are computed from as much of their text as
/// is left (their title and none of it at worst), with a warning; their
/// text is stored whole. Features take about 80 ns per byte of words and
/// 0.9 µs per line in a release build on the build machine, so a 16 MiB
/// document of text took 1.3 s and 3 million one-word paragraphs 2.8 s.
pub const DOCUMENT_FEATURE_BYTES: usize = 4 << 20;

/// What one line of text costs the features, in bytes of text.
pub const FEATURE_BYTES_PER_LINE: usize = 12;

/// Longest plain text (summary or content) kept per entry, in bytes; the
/// rest is cut at a character boundary with a warning.
pub const MAX_TEXT_BYTES: usize = 256 << 10;

/// Longest title, author name, category or feed description kept, in
/// bytes; the rest is cut at a character boundary.
pub const MAX_FIELD_BYTES: usize = 4 << 10;

/// Cuts `s` to at most `max` bytes at a character boundary; true if it cut.
pub fn truncate_at_char(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    true
}

/// A JSON document nested deeper than [`MAX_DEPTH`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonTooDeep {
    /// `"array"` or `"object"`: what opens the level over the limit.
    pub what: &'static str,
    /// The byte at which it opens.
    pub offset: usize,
}

/// A JSON document within the limits.
#[derive(Debug)]
pub struct BoundedJson<'a> {
    /// The document, without what was dropped.
    pub text: Cow<'a, str>,
    /// Items of the top-level `items` array dropped over [`MAX_ENTRIES`].
    pub dropped_items: usize,
    /// Other array elements and object members dropped over
    /// [`MAX_JSON_MEMBERS`] or [`MAX_JSON_VALUES`] (a container emptied
    /// counts once).
    pub dropped_members: usize,
}

/// An open array or object while [`bound_json`] reads.
struct Frame {
    /// How many elements (or members) it may keep.
    limit: usize,
    /// How many have started.
    started: usize,
    /// An object waiting for a member's key (after `{` or `,`).
    expects_key: bool,
    /// An object (else an array).
    object: bool,
}

/// Applies [`MAX_DEPTH`], [`MAX_ENTRIES`], [`MAX_JSON_MEMBERS`] and
/// [`MAX_JSON_VALUES`] to a JSON document: refuses it when nested too deep,
/// and drops the elements and members over the limits (the top-level
/// `items` array keeps [`MAX_ENTRIES`] items, every other array and object
/// [`MAX_JSON_MEMBERS`], the whole document [`MAX_JSON_VALUES`]). One pass over the bytes, nothing parsed into
/// memory; text that is not valid JSON is left for the JSON parser to
/// refuse.
pub fn bound_json(text: &str) -> Result<BoundedJson<'_>, JsonTooDeep> {
    let b = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut out: Option<String> = None;
    let mut copied = 0;
    // While dropping: where the drop started and the depth whose closing
    // bracket ends it.
    let mut dropping: Option<(usize, usize)> = None;
    let mut dropped_items = 0;
    let mut dropped_members = 0;
    // The top-level object's last key was `items`.
    let mut items_key = false;
    // Array elements and object members kept so far.
    let mut values = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                // `i` is at the closing quote (or past the end).
                if dropping.is_none() && stack.len() == 1 {
                    if let Some(top) = stack.last_mut().filter(|f| f.object && f.expects_key) {
                        top.expects_key = false;
                        let raw = text.get(start..(i + 1).min(b.len())).unwrap_or_default();
                        items_key = raw == "\"items\""
                            || (raw.contains('\\')
                                && serde_json::from_str::<String>(raw).is_ok_and(|k| k == "items"));
                    }
                } else if let Some(top) = stack.last_mut() {
                    top.expects_key = false;
                }
            }
            b'[' | b'{' => {
                if stack.len() >= MAX_DEPTH {
                    return Err(JsonTooDeep {
                        what: if c == b'[' { "array" } else { "object" },
                        offset: i,
                    });
                }
                let limit = if c == b'[' && stack.len() == 1 && items_key {
                    MAX_ENTRIES
                } else {
                    MAX_JSON_MEMBERS
                };
                if let Some(top) = stack.last_mut() {
                    top.expects_key = false;
                }
                // Whether the new container has a first element is only known
                // at its next non-space byte: count it there.
                stack.push(Frame {
                    limit,
                    started: 0,
                    expects_key: c == b'{',
                    object: c == b'{',
                });
                items_key = false;
                let next = b
                    .get(i + 1..)
                    .and_then(|rest| rest.iter().position(|c| !c.is_ascii_whitespace()))
                    .map(|p| i + 1 + p);
                let empty = next.is_some_and(|n| matches!(b[n], b']' | b'}'));
                if !empty && dropping.is_none() {
                    if values >= MAX_JSON_VALUES {
                        // Over the document's values: this container stays
                        // empty.
                        dropping = Some((i + 1, stack.len()));
                        dropped_members += 1;
                    } else if let Some(top) = stack.last_mut() {
                        top.started = 1;
                        values += 1;
                    }
                }
            }
            b']' | b'}' => {
                if let Some((from, depth)) = dropping {
                    if stack.len() == depth {
                        let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                        o.push_str(text.get(copied..from).unwrap_or_default());
                        copied = i;
                        dropping = None;
                    }
                }
                stack.pop();
            }
            b',' => {
                let depth = stack.len();
                if let Some(top) = stack.last_mut() {
                    top.expects_key = top.object;
                    if dropping.is_none() {
                        if top.started >= top.limit || values >= MAX_JSON_VALUES {
                            dropping = Some((i, depth));
                        } else {
                            top.started += 1;
                            values += 1;
                        }
                    }
                    if matches!(dropping, Some((_, d)) if d == depth) {
                        if depth == 2 && top.limit == MAX_ENTRIES {
                            dropped_items += 1;
                        } else {
                            dropped_members += 1;
                        }
                    }
                }
                if depth == 1 {
                    items_key = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let text = match out {
        Some(mut o) => {
            o.push_str(text.get(copied..).unwrap_or_default());
            Cow::Owned(o)
        }
        None => Cow::Borrowed(text),
    };
    Ok(BoundedJson {
        text,
        dropped_items,
        dropped_members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_json_is_borrowed() {
        let doc = r#"{"items":[{"id":"1","tags":["a","b"]},{"id":"2"}],"title":"T"}"#;
        let b = bound_json(doc).expect("within limits");
        assert!(matches!(b.text, Cow::Borrowed(_)));
        assert_eq!((b.dropped_items, b.dropped_members), (0, 0));
    }

    #[test]
    fn deep_json_is_refused() {
        let deep = format!(
            "{{\"items\":[{{\"x\":{}1{}}}]}}",
            "[".repeat(300),
            "]".repeat(300)
        );
        let err = bound_json(&deep).expect_err("too deep");
        assert_eq!(err.what, "array");
        let objects = format!(
            "{}1{}",
            "{\"a\":".repeat(MAX_DEPTH + 1),
            "}".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(bound_json(&objects).expect_err("too deep").what, "object");
        let at_limit = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(bound_json(&at_limit).is_ok());
        // Brackets inside strings do not count.
        let quoted = format!("{{\"a\":\"{}\\\"{}\"}}", "[".repeat(1000), "{".repeat(1000));
        assert!(bound_json(&quoted).is_ok());
    }

    #[test]
    fn items_and_members_over_the_limits_are_dropped() {
        let items: Vec<String> = (0..MAX_ENTRIES + 5)
            .map(|i| format!("{{\"id\":\"{i}\"}}"))
            .collect();
        let tags: Vec<String> = (0..MAX_JSON_MEMBERS + 3)
            .map(|i| format!("\"t{i}\""))
            .collect();
        let doc = format!(
            "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"items\": [ {} ],\"tags\":[{}],\"title\":\"T\"}}",
            items.join(" , "),
            tags.join(",")
        );
        let b = bound_json(&doc).expect("within depth");
        assert_eq!(b.dropped_items, 5);
        assert_eq!(b.dropped_members, 3);
        let v: serde_json::Value = serde_json::from_str(&b.text).expect("still JSON");
        let kept = v["items"].as_array().map(Vec::len);
        assert_eq!(kept, Some(MAX_ENTRIES));
        assert_eq!(
            v["items"][MAX_ENTRIES - 1]["id"],
            format!("{}", MAX_ENTRIES - 1)
        );
        assert_eq!(v["tags"].as_array().map(Vec::len), Some(MAX_JSON_MEMBERS));
        assert_eq!(v["title"], "T");
        // An escaped key is the same key.
        let escaped = doc.replacen("\"items\"", "\"\\u0069tems\"", 1);
        assert_eq!(bound_json(&escaped).expect("ok").dropped_items, 5);
    }

    #[test]
    fn values_over_the_document_limit_are_dropped() {
        let item = format!(
            "{{{}}}",
            (0..100)
                .map(|i| format!("\"k{i}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let n = MAX_JSON_VALUES / 100 + 10;
        let doc = format!(
            "{{\"items\":[{}],\"title\":\"T\"}}",
            vec![item; n].join(",")
        );
        let b = bound_json(&doc).expect("within depth");
        let v: serde_json::Value = serde_json::from_str(&b.text).expect("still JSON");
        let items = v["items"].as_array().cloned().unwrap_or_default();
        let members: usize = items
            .iter()
            .map(|i| i.as_object().map_or(0, |o| o.len()))
            .sum();
        // The root's `items` member, the items and their members.
        assert_eq!(1 + items.len() + members, MAX_JSON_VALUES);
        assert!(b.dropped_items > 0 || b.dropped_members > 0);
        assert!(
            v.get("title").is_none(),
            "dropped with the rest of the root object"
        );
    }

    #[test]
    fn broken_json_does_not_panic() {
        for s in [
            "",
            "[",
            "]",
            "}}}",
            "{\"a\":[1,2",
            "\"",
            "\"\\",
            "{\"items\":[,,,]}",
            "[,]",
        ] {
            let _ = bound_json(s);
        }
    }

    #[test]
    fn truncate_keeps_whole_characters() {
        let mut s = "aé".to_string();
        assert!(truncate_at_char(&mut s, 2));
        assert_eq!(s, "a");
        let mut s = "abc".to_string();
        assert!(!truncate_at_char(&mut s, 3));
    }
}
