//! Dublin Core and iTunes elements read as RSS elements.
//!
//! Part of [`super`]: [`fix_rss_aliases`] renames `dc:title`, `dc:subject`,
//! `dcterms:issued` and the like to the RSS element they stand for, when the
//! item lacks it.

use super::atom::to_usize;
use super::edit::{apply, local, root_tag, Edit};
use crate::normalizer::decode::{find_from, tag_attributes};
use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;
use std::borrow::Cow;

/// Dublin Core, iTunes and Media RSS elements feed-rs 3 ignores in RSS
/// (or, for Media RSS, keeps only as media), and the RSS
/// element each stands for: (namespace, local name, RSS name).
pub(super) const RSS_ALIASES: &[(&str, &str, &str)] = &[
    ("http://purl.org/dc/elements/1.1/", "title", "title"),
    (
        "http://purl.org/dc/elements/1.1/",
        "description",
        "description",
    ),
    ("http://purl.org/dc/elements/1.1/", "subject", "category"),
    ("http://purl.org/dc/elements/1.1/", "author", "author"),
    ("http://purl.org/dc/terms/", "issued", "pubDate"),
    ("http://purl.org/dc/terms/", "created", "pubDate"),
    ("http://purl.org/dc/terms/", "modified", "updated"),
    (
        "http://www.itunes.com/dtds/podcast-1.0.dtd",
        "summary",
        "description",
    ),
    (
        "http://www.itunes.com/dtds/podcast-1.0.dtd",
        "author",
        "author",
    ),
    (
        "http://www.itunes.com/DTDs/Podcast-1.0.dtd",
        "summary",
        "description",
    ),
    (
        "http://www.itunes.com/DTDs/Podcast-1.0.dtd",
        "author",
        "author",
    ),
    ("http://search.yahoo.com/mrss/", "title", "title"),
    ("http://search.yahoo.com/mrss/", "category", "category"),
];

/// An aliased child: (RSS name, start-tag name range, end-tag name range
/// unless self-closing).
pub(super) type Alias = (&'static str, (usize, usize), Option<(usize, usize)>);

/// An element whose children are being collected by [`fix_rss_aliases`].
#[derive(Default)]
pub(super) struct AliasFrame {
    /// Local names of the children in no or the default namespace.
    plain: Vec<String>,
    /// Aliased children.
    aliases: Vec<Alias>,
    /// This element's own alias and start-tag name range, if it is one.
    own: Option<(&'static str, (usize, usize))>,
}

/// Renames the Dublin Core and iTunes elements of RSS documents that
/// feed-rs 3 ignores to the RSS element they stand for (`dc:title` ->
/// `title`, `dc:subject` -> `category`, `dcterms:issued` -> `pubDate`,
/// `itunes:summary` -> `description`...), when their parent has no such RSS
/// element already (the first alias wins, except for `category`, which may
/// repeat). Only for documents rooted in `rss` or `RDF`; reading stops at
/// the first XML error, keeping the renames decided before it.
pub fn fix_rss_aliases(text: &str) -> Cow<'_, str> {
    let Some((_, _, root)) = root_tag(text) else {
        return Cow::Borrowed(text);
    };
    if !matches!(local(root), "rss" | "RDF")
        || !RSS_ALIASES.iter().any(|(ns, _, _)| text.contains(ns))
    {
        return Cow::Borrowed(text);
    }
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut stack: Vec<AliasFrame> = Vec::new();
    let mut edits = Vec::new();
    loop {
        let before = to_usize(reader.buffer_position());
        let (alias, plain, event) = match reader.read_resolved_event() {
            Ok((_, Event::Eof)) | Err(_) => break,
            Ok((ns, e)) => {
                let l = match &e {
                    Event::Start(s) | Event::Empty(s) => local(s.name().as_ref()).to_string(),
                    _ => String::new(),
                };
                let (alias, plain) = match ns {
                    ResolveResult::Bound(Namespace(uri)) => (
                        RSS_ALIASES
                            .iter()
                            .find(|(n, name, _)| *n == uri && *name == l)
                            .map(|a| a.2),
                        false,
                    ),
                    _ => (None, true),
                };
                (alias, plain.then_some(l), e)
            }
        };
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(event_kind_empty(text, before), Some(true));
                let qlen = e.name().as_ref().len();
                let name_range = (before + 1, before + 1 + qlen);
                if let (Some(parent), Some(l)) = (stack.last_mut(), plain.as_ref()) {
                    parent.plain.push(l.clone());
                }
                if empty {
                    if let (Some(parent), Some(a)) = (stack.last_mut(), alias) {
                        parent.aliases.push((a, name_range, None));
                    }
                } else {
                    stack.push(AliasFrame {
                        own: alias.map(|a| (a, name_range)),
                        ..Default::default()
                    });
                }
            }
            Event::End(e) => {
                let Some(frame) = stack.pop() else { break };
                let mut taken: Vec<&str> = Vec::new();
                for (target, start, end) in &frame.aliases {
                    let repeatable = *target == "category";
                    if frame.plain.iter().any(|p| p == target) && !repeatable {
                        continue;
                    }
                    if taken.contains(target) && !repeatable {
                        continue;
                    }
                    taken.push(target);
                    edits.push(Edit {
                        start: start.0,
                        end: start.1,
                        with: target.to_string(),
                    });
                    if let Some(end) = end {
                        edits.push(Edit {
                            start: end.0,
                            end: end.1,
                            with: target.to_string(),
                        });
                    }
                }
                if let (Some((a, start)), Some(parent)) = (frame.own, stack.last_mut()) {
                    let qlen = e.name().as_ref().len();
                    parent
                        .aliases
                        .push((a, start, Some((before + 2, before + 2 + qlen))));
                }
            }
            _ => {}
        }
    }
    apply(text, edits)
}

/// Whether the tag starting at `at` is self-closing (`.../>`).
pub(super) fn event_kind_empty(text: &str, at: usize) -> Option<bool> {
    let b = text.as_bytes();
    let gt = tag_attributes(b, at + 1)
        .map(|attrs| attrs.last().map_or(at + 1, |a| a.value_end))
        .and_then(|from| find_from(b, from, b">"))?;
    Some(b.get(gt.checked_sub(1)?) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_aliases_are_renamed() {
        let doc = "<rss xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\"><channel><dc:title>C</dc:title>\
                   <item><title>T</title><dc:title>D</dc:title><dc:subject>a</dc:subject><dc:subject>b</dc:subject>\
                   <dcterms:issued>2003-12-31T10:14:55Z</dcterms:issued></item></channel></rss>";
        assert_eq!(
            fix_rss_aliases(doc),
            "<rss xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\"><channel><title>C</title>\
             <item><title>T</title><dc:title>D</dc:title><category>a</category><category>b</category>\
             <pubDate>2003-12-31T10:14:55Z</pubDate></item></channel></rss>"
        );
        assert!(matches!(
            fix_rss_aliases("<feed><dc:title/></feed>"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            fix_rss_aliases("<rss><dc:title>x</dc:title></rss>"),
            Cow::Borrowed(_)
        ));
    }
}
