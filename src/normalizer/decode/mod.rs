//! Byte decoding and pre-parse fix-ups for feed documents.
//!
//! Part of the normalizer stage (feed bytes -> normalized entries) of the
//! pipeline fetcher -> normalizer -> near-duplicate detector -> store.
//! It turns the raw bytes the fetcher got into UTF-8 text that feed-rs can
//! parse, and works around known gaps of feed-rs 3: UTF-16 documents,
//! unusual or missing `<rss version>`, bare `&` characters, and the
//! `rdf:about` identifiers of RSS 1.0 items that feed-rs drops.
//!
//! Everything here is pure, never panics and runs in linear time: the input
//! comes from servers we do not control.

mod ampersands;
mod encoding;
mod rss1;
mod rss_version;
mod scan;

pub use ampersands::fix_bare_ampersands;
pub use encoding::{decode_document, Decoded};
pub use rss1::{rss1_channel_about, rss1_item_ids};
pub use rss_version::fix_rss_version;
pub(crate) use scan::{
    find_from, is_name_char, is_name_start_char, is_xml_space, root_start_tag, skip_unparsed,
    tag_attributes, AttrSpan,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalizer::test_inputs::fuzz_inputs;

    #[test]
    fn fuzz_never_panics() {
        let pieces = [
            "<",
            ">",
            "/",
            "?",
            "!",
            "-",
            "[",
            "]",
            "\"",
            "'",
            "=",
            " ",
            "\n",
            "&",
            ";",
            "#",
            "x",
            "1",
            "é",
            "\u{FEFF}",
            "<?xml ",
            "?>",
            "encoding=",
            "version=",
            "<rss",
            "<rdf:RDF",
            "<RDF",
            "<item",
            "</item>",
            "rdf:about=",
            "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"",
            "<!--",
            "-->",
            "<![CDATA[",
            "]]>",
            "<!DOCTYPE",
            "&amp;",
            "&#x",
            "\u{0}",
        ];
        for doc in fuzz_inputs(&pieces, 3000) {
            let _ = decode_document(doc.as_bytes(), None);
            let _ = decode_document(doc.as_bytes(), Some("utf-16"));
            let fixed = fix_rss_version(&doc);
            let _ = fix_bare_ampersands(&fixed);
            let _ = rss1_item_ids(&doc);
        }
        for bytes in fuzz_inputs(&pieces, 500) {
            let mut raw = bytes.into_bytes();
            raw.insert(0, 0xFE);
            let _ = decode_document(&raw, None);
        }
    }
}
