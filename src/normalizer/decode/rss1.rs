//! The `rdf:about` identifiers of RSS 1.0 documents.
//!
//! Part of [`super`]: feed-rs drops them, so [`rss1_item_ids`] and
//! [`rss1_channel_about`] read them with quick-xml.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;
use quick_xml::XmlVersion;

/// The RDF namespace that binds the `about` attribute of RSS 1.0 items.
pub(super) const RDF_NS: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/// The `rdf:about` of an `item` start tag, unescaped.
pub(super) fn rdf_about<R>(reader: &NsReader<R>, start: &BytesStart<'_>) -> Option<String> {
    for attr in start.attributes() {
        let Ok(attr) = attr else { break };
        let (ns, local) = reader.resolver().resolve_attribute(attr.key);
        let (in_rdf, bound) = match ns {
            ResolveResult::Bound(Namespace(uri)) => (uri == RDF_NS, true),
            _ => (false, false),
        };
        // A literal `rdf:about` counts only when `rdf` is not bound elsewhere.
        let literal = !bound && attr.key.as_ref() == "rdf:about";
        if local.as_ref() == "about" && (in_rdf || literal) {
            let value = match attr.normalized_value(XmlVersion::Implicit1_0) {
                Ok(v) => v.into_owned(),
                Err(_) => attr.value.into_owned(),
            };
            return Some(value);
        }
    }
    None
}

/// The `rdf:about` identifiers of the items of an RSS 1.0 document.
///
/// If the root element's local name is `RDF`, returns, in document order,
/// one slot for each element whose local name is `item` (any prefix): the
/// unescaped value of its `about` attribute in the RDF namespace (any
/// prefix bound to `http://www.w3.org/1999/02/22-rdf-syntax-ns#`, or a
/// literal `rdf:about`), or `None` when it has none. Any other root gives
/// an empty `Vec`. On a parse error the ids collected so far are returned.
/// feed-rs 3 drops these ids; this recovers them.
pub fn rss1_item_ids(text: &str) -> Vec<Option<String>> {
    let mut reader = NsReader::from_str(text);
    let mut ids = Vec::new();
    let mut seen_root = false;
    loop {
        let start = match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => e,
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => continue,
        };
        if !seen_root {
            if start.local_name().as_ref() != "RDF" {
                break;
            }
            seen_root = true;
            continue;
        }
        if start.local_name().as_ref() == "item" {
            ids.push(rdf_about(&reader, &start));
        }
    }
    ids
}

/// The `rdf:about` of the `channel` of an RSS 1.0 document (the feed's
/// own URL), under the same rules as [`rss1_item_ids`].
pub fn rss1_channel_about(text: &str) -> Option<String> {
    let mut reader = NsReader::from_str(text);
    let mut seen_root = false;
    loop {
        let start = match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => e,
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => continue,
        };
        if !seen_root {
            if start.local_name().as_ref() != "RDF" {
                return None;
            }
            seen_root = true;
            continue;
        }
        if start.local_name().as_ref() == "channel" {
            return rdf_about(&reader, &start);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RDF: &str = r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
  <channel rdf:about="http://x/">
    <items><rdf:Seq><rdf:li rdf:resource="http://x/1"/></rdf:Seq></items>
  </channel>
  <item rdf:about="http://x/1?a=1&amp;b=2"><title>One</title></item>
  <item><title>Two</title></item>
  <rss:item xmlns:rss="http://purl.org/rss/1.0/" r:about="http://x/3" xmlns:r="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>
  <item about="http://x/4"/>
</rdf:RDF>"#;

    #[test]
    fn rss1_channel_about_is_found() {
        let doc = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://ex.eu/feed"><title>T</title></channel><item rdf:about="https://ex.eu/1"/></rdf:RDF>"#;
        assert_eq!(
            rss1_channel_about(doc).as_deref(),
            Some("https://ex.eu/feed")
        );
        assert_eq!(
            rss1_channel_about("<rss><channel about=\"x\"/></rss>"),
            None
        );
    }

    #[test]
    fn rss1_ids_in_document_order() {
        assert_eq!(
            rss1_item_ids(RDF),
            vec![
                Some("http://x/1?a=1&b=2".to_string()),
                None,
                Some("http://x/3".to_string()),
                None
            ]
        );
    }

    #[test]
    fn rss1_ids_literal_prefix_without_binding() {
        let doc = "<RDF><item rdf:about=\"a\"/><item rdf:about=\"b&nbsp;\"/></RDF>";
        assert_eq!(
            rss1_item_ids(doc),
            vec![Some("a".to_string()), Some("b&nbsp;".to_string())]
        );
    }

    #[test]
    fn rss1_ids_rdf_prefix_bound_elsewhere_is_not_rdf() {
        let doc = "<r:RDF xmlns:r=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns:rdf=\"urn:other\">\
                   <item rdf:about=\"no\" r:about=\"yes\"/><item rdf:about=\"no\"/></r:RDF>";
        assert_eq!(rss1_item_ids(doc), vec![Some("yes".to_string()), None]);
    }

    #[test]
    fn rss1_ids_other_roots_are_empty() {
        assert!(rss1_item_ids(
            "<rss version=\"2.0\"><channel><item rdf:about=\"a\"/></channel></rss>"
        )
        .is_empty());
        assert!(rss1_item_ids("").is_empty());
        assert!(rss1_item_ids("not xml").is_empty());
    }

    #[test]
    fn rss1_ids_stop_at_parse_error() {
        let doc = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
                   <item rdf:about=\"a\"></item><item rdf:about=\"b\"></wrong><item rdf:about=\"c\"/>";
        assert_eq!(
            rss1_item_ids(doc),
            vec![Some("a".to_string()), Some("b".to_string())]
        );
        let doc = "<rdf:RDF><item rdf:about=\"a\"/><item rdf:about=\"unterminated";
        assert_eq!(rss1_item_ids(doc), vec![Some("a".to_string())]);
    }
}
