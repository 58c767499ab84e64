//! Pre-parse fix-ups for documents feed-rs 3 refuses or misreads.
//!
//! Part of the normalizer stage (feed bytes -> normalized entries), run on
//! the decoded text after [`super::decode`]'s fix-ups and before feed-rs
//! parses it. Each function patches one known gap so that documents the
//! feed test suites hold to be feeds are read, with their entries:
//!
//! - [`fix_rss_channel`]: `<rss>` without a `<channel>` gets an empty one.
//! - [`cdf_to_rss`]: Microsoft CDF (`<CHANNEL>` root) becomes RSS 2.0.
//! - [`fix_entities`]: HTML named entities (`&nbsp;`, `&eacute;`) become
//!   numeric references; unknown ones are escaped.
//! - [`fix_atom`]: Atom 0.3 becomes Atom 1.0 (namespace, element names),
//!   text constructs with types feed-rs refuses (`text/plain`,
//!   `application/xhtml+xml`, empty, `application/octet-stream` or
//!   `mode="base64"`, which is decoded here) get one it accepts.
//! - [`fix_rss_bodies`]: RSS items' `<body>` (XHTML) and `<fullitem>`
//!   become `<content:encoded>`.
//! - [`fix_declarations`]: XML declarations that would make quick-xml
//!   switch encodings (a panic) are neutralized.
//! - [`space_out_emails`]: on a second reading after a feed-rs panic, an
//!   address touching a non-ASCII character is spaced out.
//! - [`fix_rss_aliases`]: Dublin Core / iTunes elements feed-rs ignores
//!   in RSS (`dc:title`, `dc:subject`, `dcterms:issued`...) become the RSS
//!   element they stand for.
//! - [`fix_rss090`]: RSS 0.90's namespace becomes RSS 1.0's.
//! - [`close_final_tag`]: `...</rss` at the very end gets its `>`.
//! - [`fix_json_feed`]: JSON Feeds with a lax `version`, a missing title or
//!   items, or fields of the wrong type are put in the shape feed-rs reads.
//!
//! Everything here is pure, never panics and runs in linear time; each
//! returns its input borrowed when there is nothing to fix.

mod aliases;
mod atom;
mod base64;
mod cdf;
mod declarations;
mod edit;
mod emails;
mod entities;
mod json_feed;
mod recovery;
mod rss;

pub use aliases::fix_rss_aliases;
pub use atom::fix_atom;
pub use base64::base64_decode;
pub use cdf::cdf_to_rss;
pub use declarations::fix_declarations;
pub use emails::space_out_emails;
pub use entities::fix_entities;
pub use json_feed::fix_json_feed;
pub use recovery::{drop_element_ending_at, repair_end_tags};
pub use rss::{close_final_tag, fix_rss090, fix_rss_bodies, fix_rss_channel, wrap_bare_channel};

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random documents built from tricky fragments.
    #[test]
    fn fuzz_never_panics() {
        let pieces = [
            "<",
            ">",
            "/",
            "\"",
            "'",
            "=",
            " ",
            "&",
            ";",
            "#",
            "x",
            "é",
            "<feed",
            "<entry",
            "</entry>",
            "<title",
            "</title>",
            "<content",
            "</content>",
            " type=",
            "\"html\"",
            "\"application/octet-stream\"",
            " mode=\"base64\"",
            "SGk=",
            "<CHANNEL",
            "<ITEM",
            "<rss",
            "<channel",
            "&nbsp;",
            "&bogus;",
            "<![CDATA[",
            "]]>",
            "<!DOCTYPE x [",
            "<!ENTITY a \"b\">",
            "]>",
            "xmlns=\"http://purl.org/atom/ns#\"",
            "<tagline",
            "</tagline>",
            "<!--",
            "-->",
            "{",
            "}",
            "\"items\":[",
            "]",
            ",",
            "\"version\":",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..4000 {
            let mut doc = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 30) as usize;
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                doc.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            let _ = fix_rss_channel(&doc);
            let _ = cdf_to_rss(&doc);
            let _ = fix_entities(&doc);
            let _ = fix_atom(&doc);
            let _ = fix_json_feed(&doc);
        }
    }
}
