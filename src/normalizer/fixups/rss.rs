//! RSS structure fix-ups.
//!
//! Part of [`super`]: a missing `<channel>` ([`fix_rss_channel`],
//! [`wrap_bare_channel`]), `<body>` and `<fullitem>` bodies
//! ([`fix_rss_bodies`]), RSS 0.90's namespace ([`fix_rss090`]) and an
//! unclosed final tag ([`close_final_tag`]).

use super::atom::to_usize;
use super::edit::{apply, escape, local, root_tag, Edit};
use crate::normalizer::decode::{find_from, is_name_char, tag_attributes};
use quick_xml::events::Event;
use std::borrow::Cow;

/// Gives an `<rss>` root without any `<channel>` one, so feed-rs reads it
/// instead of reporting "no root element": everything inside `<rss>` (items
/// included, as some feeds put them there) is wrapped in `<channel>`, up to
/// the last `</rss`. An `<rss/>` gets an empty channel.
pub fn fix_rss_channel(text: &str) -> Cow<'_, str> {
    let Some((_, name_end, name)) = root_tag(text) else {
        return Cow::Borrowed(text);
    };
    if name != "rss" {
        return Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let Some(gt) = tag_attributes(b, name_end)
        .map(|attrs| attrs.last().map_or(name_end, |a| a.value_end))
        .and_then(|from| find_from(b, from, b">"))
    else {
        return Cow::Borrowed(text);
    };
    if find_from(b, gt, b"<channel").is_some() {
        return Cow::Borrowed(text);
    }
    let self_closing = b.get(gt.wrapping_sub(1)) == Some(&b'/');
    if self_closing {
        return apply(
            text,
            vec![Edit {
                start: gt - 1,
                end: gt + 1,
                with: "><channel></channel></rss>".into(),
            }],
        );
    }
    let close = text.rfind("</rss").filter(|&p| p > gt);
    let mut edits = vec![Edit {
        start: gt + 1,
        end: gt + 1,
        with: "<channel>".into(),
    }];
    edits.push(match close {
        Some(p) => Edit {
            start: p,
            end: p,
            with: "</channel>".into(),
        },
        None => Edit {
            start: gt + 1,
            end: gt + 1,
            with: "</channel>".into(),
        },
    });
    apply(text, edits)
}

/// Wraps a document whose root is a bare `<channel>` (RSS without its
/// `<rss>` element) in `<rss version="2.0">`.
pub fn wrap_bare_channel(text: &str) -> Cow<'_, str> {
    match root_tag(text) {
        Some((lt, _, "channel")) => {
            let (Some(head), Some(body)) = (text.get(..lt), text.get(lt..)) else {
                return Cow::Borrowed(text);
            };
            Cow::Owned(format!("{head}<rss version=\"2.0\">{body}</rss>"))
        }
        _ => Cow::Borrowed(text),
    }
}

/// The RSS content module's namespace.
pub(super) const CONTENT_NS: &str = "http://purl.org/rss/1.0/modules/content/";

/// Turns the bodies feed-rs ignores in RSS items into
/// `<content:encoded>`: `<body>` / `<xhtml:body>` (inline XHTML, escaped
/// into text here) and `<fullitem>` (escaped HTML, kept as it is). Only
/// for documents rooted in `rss` or `RDF`; reading stops at the first XML
/// error, keeping the fixes found before it.
pub fn fix_rss_bodies(text: &str) -> Cow<'_, str> {
    let Some((_, _, root)) = root_tag(text) else {
        return Cow::Borrowed(text);
    };
    if !matches!(local(root), "rss" | "RDF") {
        return Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    if find_from(b, 0, b"body").is_none() && find_from(b, 0, b"fullitem").is_none() {
        return Cow::Borrowed(text);
    }
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut path: Vec<String> = Vec::new();
    // The body being read: (start of its start tag, end of it, is XHTML, depth).
    let mut body: Option<(usize, usize, bool, usize)> = None;
    let mut edits = Vec::new();
    loop {
        let before = to_usize(reader.buffer_position());
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        let after = to_usize(reader.buffer_position());
        match event {
            Event::Start(e) => {
                let l = local(e.name().as_ref()).to_string();
                if body.is_none()
                    && matches!(l.as_str(), "body" | "fullitem")
                    && path.iter().any(|p| p == "item")
                {
                    body = Some((before, after, l == "body", path.len()));
                }
                path.push(l);
            }
            Event::End(_) => {
                path.pop();
                if let Some((start, inner, xhtml, depth)) = body {
                    if path.len() == depth {
                        let raw = text.get(inner..before).unwrap_or_default();
                        let content = if xhtml { escape(raw) } else { raw.to_string() };
                        edits.push(Edit {
                            start,
                            end: after,
                            with: format!(
                                "<content:encoded xmlns:content=\"{CONTENT_NS}\">{content}</content:encoded>"
                            ),
                        });
                        body = None;
                    }
                }
            }
            _ => {}
        }
    }
    apply(text, edits)
}

/// Completes an end tag cut off at the very end of the document
/// (`...</rss` becomes `...</rss>`), the last byte of a feed that is
/// otherwise whole.
pub fn close_final_tag(text: &str) -> Cow<'_, str> {
    let trimmed = text.trim_end();
    let Some(lt) = trimmed.rfind("</") else {
        return Cow::Borrowed(text);
    };
    let name = trimmed.get(lt + 2..).unwrap_or_default();
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(crate::normalizer::decode::is_name_start_char)
        && chars.all(is_name_char);
    if !ok {
        return Cow::Borrowed(text);
    }
    Cow::Owned(format!(
        "{trimmed}>{}",
        text.get(trimmed.len()..).unwrap_or_default()
    ))
}

/// The RSS 0.90 namespace, which feed-rs does not know.
pub(super) const RSS_090: &str = "http://my.netscape.com/rdf/simple/0.9/";

/// Reads RSS 0.90 as RSS 1.0 (same structure): in a document rooted in
/// `RDF`, the RSS 0.90 namespace URI becomes RSS 1.0's.
pub fn fix_rss090(text: &str) -> Cow<'_, str> {
    match root_tag(text) {
        Some((_, _, root)) if local(root) == "RDF" && text.contains(RSS_090) => {
            Cow::Owned(text.replace(RSS_090, "http://purl.org/rss/1.0/"))
        }
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_without_channel_gets_one() {
        assert_eq!(
            fix_rss_channel("<rss version=\"2.0\"></rss>"),
            "<rss version=\"2.0\"><channel></channel></rss>"
        );
        assert_eq!(
            fix_rss_channel("<?xml version=\"1.0\"?>\n<rss version=\"2.0\"/>"),
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel></channel></rss>"
        );
        assert_eq!(
            fix_rss_channel("<rss a=\"x>\"><item><title>t</title></item></rss>\n"),
            "<rss a=\"x>\"><channel><item><title>t</title></item></channel></rss>\n"
        );
        assert_eq!(
            fix_rss_channel("<rss version=\"2.0\">"),
            "<rss version=\"2.0\"><channel></channel>"
        );
        for doc in [
            "<rss version=\"2.0\"><channel/></rss>",
            "<feed/>",
            "",
            "<rss",
            "<rss a=\"\"/",
        ] {
            assert!(matches!(fix_rss_channel(doc), Cow::Borrowed(_)), "{doc}");
        }
        assert_eq!(
            wrap_bare_channel("<?xml version=\"1.0\"?><channel><item/></channel>"),
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item/></channel></rss>"
        );
        assert!(matches!(wrap_bare_channel("<CHANNEL/>"), Cow::Borrowed(_)));
    }

    #[test]
    fn rss_bodies_become_content() {
        let doc = "<rss><channel><item><body xmlns=\"http://www.w3.org/1999/xhtml\"><p>a &amp; b</p></body>\
                   <fullitem>&lt;b&gt;x&lt;/b&gt;</fullitem></item><body>not in an item</body></channel></rss>";
        let c = "<content:encoded xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">";
        assert_eq!(
            fix_rss_bodies(doc),
            format!(
                "<rss><channel><item>{c}&lt;p&gt;a &amp;amp; b&lt;/p&gt;</content:encoded>\
                 {c}&lt;b&gt;x&lt;/b&gt;</content:encoded></item><body>not in an item</body></channel></rss>"
            )
        );
        assert!(matches!(
            fix_rss_bodies("<feed><entry><body/></entry></feed>"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            fix_rss_bodies("<rss><item><body>"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn final_tag_is_closed() {
        assert_eq!(
            close_final_tag("<rss><channel/></rss\n"),
            "<rss><channel/></rss>\n"
        );
        for doc in ["<rss></rss>", "<rss></", "<rss></ rss", "", "</é"] {
            let out = close_final_tag(doc);
            assert!(matches!(out, Cow::Borrowed(_)) || doc == "</é", "{doc}");
        }
    }

    #[test]
    fn rss090_is_read_as_rss1() {
        assert_eq!(
            fix_rss090(
                "<rdf:RDF xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"><channel/></rdf:RDF>"
            ),
            "<rdf:RDF xmlns=\"http://purl.org/rss/1.0/\"><channel/></rdf:RDF>"
        );
        assert!(matches!(
            fix_rss090("<rss xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"/>"),
            Cow::Borrowed(_)
        ));
    }
}
