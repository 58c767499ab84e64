//! Microsoft CDF documents read as RSS 2.0.
//!
//! Part of [`super`]: [`cdf_to_rss`] rewrites a `<CHANNEL>` root and its
//! items as an RSS 2.0 document.

use super::edit::{escape, root_tag};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::NsReader;

/// A CDF channel or item being collected.
#[derive(Default)]
pub(super) struct CdfNode {
    title: String,
    href: Option<String>,
    abstract_: String,
    lastmod: Option<String>,
}

impl CdfNode {
    fn write(&self, out: &mut String, date_element: &str) {
        if !self.title.trim().is_empty() {
            out.push_str(&format!("<title>{}</title>", escape(self.title.trim())));
        }
        if let Some(h) = &self.href {
            out.push_str(&format!("<link>{}</link>", escape(h.trim())));
        }
        if !self.abstract_.trim().is_empty() {
            out.push_str(&format!(
                "<description>{}</description>",
                escape(self.abstract_.trim())
            ));
        }
        if let Some(d) = &self.lastmod {
            out.push_str(&format!(
                "<{date_element}>{}</{date_element}>",
                escape(d.trim())
            ));
        }
    }
}

pub(super) fn cdf_attrs(e: &BytesStart<'_>, node: &mut CdfNode) {
    for attr in e.attributes().with_checks(false).flatten() {
        let key = attr.key.as_ref().to_ascii_lowercase();
        let value = html_escape::decode_html_entities(&*attr.value).into_owned();
        match key.as_str() {
            "href" => node.href = Some(value),
            "lastmod" => node.lastmod = Some(value),
            _ => {}
        }
    }
}

/// Converts a Microsoft CDF document (root `<CHANNEL>`, any case but all
/// lower-case, which [`wrap_bare_channel`](super::wrap_bare_channel) handles, with
/// `<ITEM HREF=... LASTMOD=...>`, `<TITLE>` and `<ABSTRACT>`) into RSS 2.0:
/// `HREF` becomes `link`, `ABSTRACT` `description`, an item's `LASTMOD`
/// `pubDate` and the channel's `lastBuildDate`. `None` for other
/// documents. Reading stops at the first XML error, keeping what was read.
pub fn cdf_to_rss(text: &str) -> Option<String> {
    let (_, _, name) = root_tag(text)?;
    if !name.eq_ignore_ascii_case("channel") || name == "channel" {
        return None;
    }
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut channel = CdfNode::default();
    let mut items: Vec<CdfNode> = Vec::new();
    // Open elements: lower-cased local names.
    let mut path: Vec<String> = Vec::new();
    let mut in_item = false;
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        match event {
            Event::Start(e) if path.is_empty() => {
                // The root channel.
                cdf_attrs(&e, &mut channel);
                path.push("channel".into());
            }
            Event::Empty(e) if path.is_empty() => {
                cdf_attrs(&e, &mut channel);
                break;
            }
            Event::Start(e) => {
                let l = e.local_name().as_ref().to_ascii_lowercase();
                if l == "item" {
                    let mut node = CdfNode::default();
                    cdf_attrs(&e, &mut node);
                    items.push(node);
                    in_item = true;
                }
                path.push(l);
            }
            Event::Empty(e) => {
                let l = e.local_name().as_ref().to_ascii_lowercase();
                if l == "item" {
                    let mut node = CdfNode::default();
                    cdf_attrs(&e, &mut node);
                    items.push(node);
                }
            }
            Event::End(_) => {
                path.pop();
                in_item = path.iter().any(|p| p == "item");
            }
            Event::Text(t) => push_cdf_text(&path, in_item, &mut channel, &mut items, &t),
            Event::CData(t) => {
                let s = t.to_string();
                push_cdf_str(&path, in_item, &mut channel, &mut items, &s);
            }
            Event::GeneralRef(r) => {
                let s = html_escape::decode_html_entities(&format!("&{};", &*r)).into_owned();
                push_cdf_str(&path, in_item, &mut channel, &mut items, &s);
            }
            _ => {}
        }
    }
    let mut out = String::with_capacity(text.len() + 128);
    out.push_str("<rss version=\"2.0\"><channel>");
    channel.write(&mut out, "lastBuildDate");
    for item in &items {
        out.push_str("<item>");
        item.write(&mut out, "pubDate");
        out.push_str("</item>");
    }
    out.push_str("</channel></rss>");
    Some(out)
}

pub(super) fn push_cdf_text(
    path: &[String],
    in_item: bool,
    channel: &mut CdfNode,
    items: &mut [CdfNode],
    t: &quick_xml::events::BytesText<'_>,
) {
    let s = t.to_string();
    push_cdf_str(path, in_item, channel, items, &s);
}

pub(super) fn push_cdf_str(
    path: &[String],
    in_item: bool,
    channel: &mut CdfNode,
    items: &mut [CdfNode],
    s: &str,
) {
    let node = if in_item {
        match items.last_mut() {
            Some(n) => n,
            None => return,
        }
    } else {
        channel
    };
    match path.last().map(String::as_str) {
        Some("title") => node.title.push_str(s),
        Some("abstract") => node.abstract_.push_str(s),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_becomes_rss() {
        let doc = "<!-- x --><CHANNEL HREF=\"http://ex.org/\" LASTMOD=\"2004-04-06T23:05:43-05:00\"><TITLE>Chan &amp; co</TITLE>\
                   <ABSTRACT>About</ABSTRACT><ITEM HREF=\"http://ex.org/1\" LASTMOD=\"2004-04-07\"><TITLE>One</TITLE>\
                   <ABSTRACT>First &lt;b&gt;</ABSTRACT></ITEM><ITEM HREF=\"http://ex.org/2\"/></CHANNEL>";
        let rss = cdf_to_rss(doc).expect("CDF");
        assert_eq!(
            rss,
            "<rss version=\"2.0\"><channel><title>Chan &amp; co</title><link>http://ex.org/</link>\
             <description>About</description><lastBuildDate>2004-04-06T23:05:43-05:00</lastBuildDate>\
             <item><title>One</title><link>http://ex.org/1</link><description>First &lt;b&gt;</description>\
             <pubDate>2004-04-07</pubDate></item><item><link>http://ex.org/2</link></item></channel></rss>"
        );
        assert_eq!(cdf_to_rss("<rss/>"), None);
        assert!(cdf_to_rss("<CHANNEL>").is_some());
        assert!(cdf_to_rss("<CHANNEL><ITEM><TITLE>a<").is_some());
    }
}
