//! OPML 2.0 import and export of subscriptions (the format feed readers
//! exchange lists in; <http://opml.org/spec2.opml>).
//!
//! Outside the data pipeline: it feeds the subscription list the scheduler
//! polls. Import walks nested outlines (folders) and takes every outline
//! with an `xmlUrl` as a feed, named by its `title` or `text`, with the
//! folder path kept as its category. Export writes one flat list. Pure:
//! text in, feeds out, and back; the CLI does the file I/O and the store.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};
use quick_xml::XmlVersion;

/// One feed of an OPML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    /// `xmlUrl`.
    pub url: String,
    /// `title`, else `text`.
    pub name: Option<String>,
    /// `htmlUrl`.
    pub site_url: Option<String>,
    /// The enclosing folders' names, outermost first, joined by `/`.
    pub category: Option<String>,
}

/// Why an OPML document could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpmlError {
    /// Not well-formed XML.
    #[error("not well-formed XML at byte {position}: {message}")]
    Xml {
        /// Byte offset of the problem.
        position: u64,
        /// What the parser said.
        message: String,
    },
    /// Well-formed, but not OPML.
    #[error("not an OPML document (the root element is <{0}>)")]
    NotOpml(String),
    /// Writing failed.
    #[error("cannot write OPML")]
    Write(#[from] std::io::Error),
}

fn attribute(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref().eq_ignore_ascii_case(name))
        .and_then(|a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.trim().to_string())
        })
        .filter(|v| !v.is_empty())
}

/// Reads the feeds of an OPML document, in document order.
pub fn parse(text: &str) -> Result<Vec<OpmlFeed>, OpmlError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut feeds = Vec::new();
    // The names of the open outline elements (None for unnamed ones).
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut root_seen = false;
    loop {
        let event = reader.read_event().map_err(|e| OpmlError::Xml {
            position: reader.error_position(),
            message: e.to_string(),
        })?;
        let (e, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) => {
                if e.local_name().as_ref() == "outline" {
                    folders.pop();
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let local = e.local_name();
        let name = local.as_ref().to_string();
        if !root_seen {
            root_seen = true;
            if !name.eq_ignore_ascii_case("opml") {
                return Err(OpmlError::NotOpml(name));
            }
        }
        if name != "outline" {
            continue;
        }
        let label = attribute(&e, "title").or_else(|| attribute(&e, "text"));
        if let Some(url) = attribute(&e, "xmlUrl") {
            let path: Vec<&str> = folders.iter().flatten().map(String::as_str).collect();
            feeds.push(OpmlFeed {
                url,
                name: label.clone(),
                site_url: attribute(&e, "htmlUrl"),
                category: (!path.is_empty()).then(|| path.join("/")),
            });
        }
        if !empty {
            folders.push(label);
        }
    }
    if !root_seen {
        return Err(OpmlError::NotOpml(String::new()));
    }
    Ok(feeds)
}

/// Writes an OPML 2.0 document listing `feeds`.
pub fn write(
    feeds: &[OpmlFeed],
    title: &str,
    created: chrono::DateTime<chrono::Utc>,
) -> Result<String, OpmlError> {
    let mut w = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.write_event(Event::Start(
        BytesStart::new("opml").with_attributes([("version", "2.0")]),
    ))?;
    w.create_element("head").write_inner_content(|w| {
        w.create_element("title")
            .write_text_content(quick_xml::events::BytesText::new(title))?;
        w.create_element("dateCreated")
            .write_text_content(quick_xml::events::BytesText::new(&created.to_rfc2822()))?;
        Ok(())
    })?;
    w.write_event(Event::Start(BytesStart::new("body")))?;
    for feed in feeds {
        let label = feed.name.as_deref().unwrap_or(&feed.url);
        let mut e = BytesStart::new("outline");
        e.push_attribute(("type", "rss"));
        e.push_attribute(("text", label));
        e.push_attribute(("title", label));
        e.push_attribute(("xmlUrl", feed.url.as_str()));
        if let Some(site) = &feed.site_url {
            e.push_attribute(("htmlUrl", site.as_str()));
        }
        if let Some(category) = &feed.category {
            e.push_attribute(("category", category.as_str()));
        }
        w.write_event(Event::Empty(e))?;
    }
    w.write_event(Event::End(BytesEnd::new("body")))?;
    w.write_event(Event::End(BytesEnd::new("opml")))?;
    let mut out = String::from_utf8_lossy(&w.into_inner()).into_owned();
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="News">
      <outline text="World" title="World &amp; Wires">
        <outline type="rss" text="Wire A" xmlUrl="https://a.example/feed.xml" htmlUrl="https://a.example/"/>
        <outline type="rss" text="Wire B" xmlUrl=" https://b.example/rss?x=1&amp;y=2 "></outline>
      </outline>
    </outline>
    <outline type="rss" title="Top level" text="ignored" xmlUrl="https://c.example/atom"/>
    <outline text="Empty folder"/>
    <outline type="link" text="Just a link" url="https://d.example/"/>
  </body>
</opml>"#;

    #[test]
    fn nested_outlines_are_flattened_with_their_folders() {
        let feeds = parse(NESTED).expect("parses");
        assert_eq!(feeds.len(), 3);
        assert_eq!(feeds[0].url, "https://a.example/feed.xml");
        assert_eq!(feeds[0].name.as_deref(), Some("Wire A"));
        assert_eq!(feeds[0].site_url.as_deref(), Some("https://a.example/"));
        assert_eq!(feeds[0].category.as_deref(), Some("News/World & Wires"));
        assert_eq!(
            feeds[1].url, "https://b.example/rss?x=1&y=2",
            "unescaped and trimmed"
        );
        assert_eq!(
            feeds[2].name.as_deref(),
            Some("Top level"),
            "title wins over text"
        );
        assert_eq!(feeds[2].category, None);
    }

    #[test]
    fn export_then_import_round_trips_and_escapes() {
        let feeds = vec![
            OpmlFeed {
                url: "https://x.example/f?a=1&b=<2>".into(),
                name: Some("Quotes \" & <angles>".into()),
                site_url: Some("https://x.example/".into()),
                category: None,
            },
            OpmlFeed {
                url: "http://y.example/rss".into(),
                name: None,
                site_url: None,
                category: None,
            },
        ];
        let text = write(&feeds, "feedfold subscriptions", chrono::Utc::now()).expect("writes");
        assert!(text.contains("version=\"2.0\""), "{text}");
        let back = parse(&text).expect("reparses");
        assert_eq!(back[0], feeds[0]);
        assert_eq!(back[1].url, feeds[1].url);
        assert_eq!(
            back[1].name.as_deref(),
            Some("http://y.example/rss"),
            "the URL labels a nameless feed"
        );
    }

    #[test]
    fn non_opml_and_broken_documents_are_refused() {
        assert!(matches!(parse("<rss><channel/></rss>"), Err(OpmlError::NotOpml(n)) if n == "rss"));
        assert!(matches!(
            parse("<opml><body><outline></body></opml>"),
            Err(OpmlError::Xml { .. })
        ));
        assert!(matches!(parse(""), Err(OpmlError::NotOpml(_))));
    }
}
