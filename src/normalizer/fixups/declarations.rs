//! XML declarations inside the document.
//!
//! Part of [`super`]: [`fix_declarations`] neutralizes declarations after
//! the first, which would make quick-xml switch encodings.

use super::edit::{apply, Edit};
use crate::normalizer::decode::{find_from, is_xml_space};
use std::borrow::Cow;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
