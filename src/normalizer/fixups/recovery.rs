//! Recovery after feed-rs refuses a document.
//!
//! Part of [`super`]: [`drop_element_ending_at`] removes the element the
//! parser stopped at and [`repair_end_tags`] fixes mismatched end tags, so
//! the document can be read again.

use super::atom::to_usize;
use super::edit::{apply, Edit};
use quick_xml::events::Event;
use std::borrow::Cow;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
