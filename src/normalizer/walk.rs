//! The walk over a feed document's elements before it is parsed: it
//! refuses a document nested deeper than [`limits::MAX_DEPTH`], cuts the
//! entries and elements over the limits of [`super::limits`] out of the
//! text, and finds documents that end inside an element (truncated).
//! Part of the normalizer stage; pure, linear in the document.

use quick_xml::events::Event;

use super::limits;
use super::NormalizeError;

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
pub(super) struct Walked {
    /// The text without the entries and elements over the limits, when
    /// any were dropped.
    pub(super) text: Option<String>,
    /// Entries dropped over [`limits::MAX_ENTRIES`].
    pub(super) dropped_entries: usize,
    /// Other elements dropped over [`limits::MAX_ELEMENTS`].
    pub(super) dropped_elements: usize,
}

/// Copies a text without the byte ranges removed from it, in order.
pub(super) struct Cut<'a> {
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
pub(super) fn walk_xml(text: &str, truncation: bool) -> Result<Walked, NormalizeError> {
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

pub(super) fn to_usize(pos: u64) -> usize {
    usize::try_from(pos).unwrap_or(usize::MAX)
}

/// Whether the document's root element is a feed's (`rss`, `feed`,
/// `RDF`, `channel`, any prefix); true too when no root can be read.
pub(super) fn root_is_feed(text: &str) -> bool {
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
pub(super) fn check_eof_inside(
    text: &str,
    open: &[String],
    position: u64,
) -> Result<(), NormalizeError> {
    let at_end = text.trim_end().len() as u64 <= position;
    match open.last() {
        Some(element) if at_end => Err(NormalizeError::Truncated {
            element: element.clone(),
            offset: text.len() as u64,
        }),
        _ => Ok(()),
    }
}
