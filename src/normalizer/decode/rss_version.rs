//! The `version` attribute of an `<rss>` root.
//!
//! Part of [`super`]: [`fix_rss_version`] gives feed-rs a version it accepts
//! when the root has none or an unusual one.

use super::scan::{is_xml_space, root_start_tag, tag_attributes};
use std::borrow::Cow;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
