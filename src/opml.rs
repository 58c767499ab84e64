//! OPML 2.0 import and export of subscriptions (the format feed readers
//! exchange lists in; <http://opml.org/spec2.opml>).
//!
//! Outside the data pipeline: it feeds the subscription list the scheduler
//! polls. Import walks nested outlines (folders) and takes every outline
//! with an `xmlUrl` as a feed, named by its `title` or `text`, with the
//! folder path kept as its category. Export writes one flat list. Pure:
//! text in, feeds out, and back; the CLI does the file I/O and the store.
//!
//! An imported document may come from anyone, so what it can cost is
//! bounded: at most [`MAX_OPML_BYTES`], [`MAX_OUTLINES`] outlines nested at
//! most [`MAX_OUTLINE_DEPTH`] deep, URLs of at most [`MAX_URL_BYTES`]
//! (over these the document is refused with an [`OpmlError`] saying
//! which); names are cut to [`MAX_NAME_BYTES`] and categories to
//! [`MAX_CATEGORY_BYTES`]. The folder path is kept as one string that
//! grows and shrinks with the nesting, so a feed's category costs at most
//! [`MAX_CATEGORY_BYTES`] whatever the depth.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};
use quick_xml::XmlVersion;

/// Largest OPML document [`parse`] reads, in bytes (a list of 20,000
/// feeds is about 3 MB); the CLI may check a file's size against it before
/// reading it.
pub const MAX_OPML_BYTES: usize = 8 << 20;

/// Most `outline` elements (feeds and folders) in one document.
pub const MAX_OUTLINES: usize = 50_000;

/// How deep outlines may nest (folders in folders); feed readers use two
/// or three levels.
pub const MAX_OUTLINE_DEPTH: usize = 32;

/// Longest `xmlUrl` or `htmlUrl`, in bytes: a feed with a longer one is
/// refused rather than cut (a cut URL is another URL).
pub const MAX_URL_BYTES: usize = 4096;

/// Longest feed or folder name kept, in bytes; longer ones are cut at a
/// character boundary.
pub const MAX_NAME_BYTES: usize = 256;

/// Longest category (folder path) kept, in bytes; longer ones are cut at a
/// character boundary.
pub const MAX_CATEGORY_BYTES: usize = 512;

/// One feed of an OPML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    /// `xmlUrl`.
    pub url: String,
    /// `title`, else `text`.
    pub name: Option<String>,
    /// `htmlUrl`.
    pub site_url: Option<String>,
    /// The enclosing folders' names, outermost first, joined by `/` (at
    /// most [`MAX_CATEGORY_BYTES`]).
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
    /// Reading the document failed (or it is not UTF-8).
    #[error("cannot read the OPML document")]
    Read(#[source] std::io::Error),
    /// Writing failed.
    #[error("cannot write OPML")]
    Write(#[from] std::io::Error),
    /// Over [`MAX_OPML_BYTES`].
    #[error("the OPML document has {bytes} bytes or more, over the limit of {limit}")]
    TooLarge {
        /// The document's size.
        bytes: usize,
        /// [`MAX_OPML_BYTES`].
        limit: usize,
    },
    /// Over [`MAX_OUTLINES`] outlines.
    #[error("the OPML document has over {limit} outlines (at byte {position})")]
    TooManyOutlines {
        /// [`MAX_OUTLINES`].
        limit: usize,
        /// Where the one over the limit starts.
        position: u64,
    },
    /// Outlines nested deeper than [`MAX_OUTLINE_DEPTH`].
    #[error("outlines nested deeper than {limit} levels (at byte {position})")]
    TooDeep {
        /// [`MAX_OUTLINE_DEPTH`].
        limit: usize,
        /// Where the outline over the limit starts.
        position: u64,
    },
    /// An `xmlUrl` or `htmlUrl` longer than [`MAX_URL_BYTES`].
    #[error("an {attribute} of {bytes} bytes at byte {position} is over the limit of {limit}")]
    UrlTooLong {
        /// `xmlUrl` or `htmlUrl`.
        attribute: &'static str,
        /// Its length.
        bytes: usize,
        /// [`MAX_URL_BYTES`].
        limit: usize,
        /// Where its outline starts.
        position: u64,
    },
}

/// Cuts `s` to at most `max` bytes at a character boundary.
fn truncate_at_char(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while end > 0 && !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
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

/// Reads an OPML document from `source` (a file or standard input) without
/// holding more than [`MAX_OPML_BYTES`] + 1 bytes: a larger one is refused
/// as soon as the limit is passed, before it is all read.
pub fn read_document(source: impl std::io::Read) -> Result<String, OpmlError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    source
        .take(MAX_OPML_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(OpmlError::Read)?;
    if bytes.len() > MAX_OPML_BYTES {
        return Err(OpmlError::TooLarge {
            bytes: bytes.len(),
            limit: MAX_OPML_BYTES,
        });
    }
    String::from_utf8(bytes)
        .map_err(|e| OpmlError::Read(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

/// Reads the feeds of an OPML document, in document order, within the
/// limits of this module.
pub fn parse(text: &str) -> Result<Vec<OpmlFeed>, OpmlError> {
    if text.len() > MAX_OPML_BYTES {
        return Err(OpmlError::TooLarge {
            bytes: text.len(),
            limit: MAX_OPML_BYTES,
        });
    }
    let mut reader = quick_xml::Reader::from_str(text);
    let mut feeds = Vec::new();
    // The names of the open outline elements, joined by `/` (unnamed ones
    // add nothing), and the length of `path` before each was opened.
    let mut path = String::new();
    let mut marks: Vec<usize> = Vec::new();
    let mut outlines = 0usize;
    let mut root_seen = false;
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event().map_err(|e| OpmlError::Xml {
            position: reader.error_position(),
            message: e.to_string(),
        })?;
        let (e, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) => {
                if e.local_name().as_ref() == "outline" {
                    if let Some(len) = marks.pop() {
                        path.truncate(len);
                    }
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
        outlines += 1;
        if outlines > MAX_OUTLINES {
            return Err(OpmlError::TooManyOutlines {
                limit: MAX_OUTLINES,
                position,
            });
        }
        if marks.len() >= MAX_OUTLINE_DEPTH {
            return Err(OpmlError::TooDeep {
                limit: MAX_OUTLINE_DEPTH,
                position,
            });
        }
        let label = attribute(&e, "title")
            .or_else(|| attribute(&e, "text"))
            .map(|l| truncate_at_char(l, MAX_NAME_BYTES));
        let url_attribute = |attr: &'static str| match attribute(&e, attr) {
            Some(url) if url.len() > MAX_URL_BYTES => Err(OpmlError::UrlTooLong {
                attribute: attr,
                bytes: url.len(),
                limit: MAX_URL_BYTES,
                position,
            }),
            other => Ok(other),
        };
        if let Some(url) = url_attribute("xmlUrl")? {
            feeds.push(OpmlFeed {
                url,
                name: label.clone(),
                site_url: url_attribute("htmlUrl")?,
                category: (!path.is_empty())
                    .then(|| truncate_at_char(path.clone(), MAX_CATEGORY_BYTES)),
            });
        }
        if !empty {
            marks.push(path.len());
            if let Some(label) = &label {
                // Past the longest category kept, the path need not grow.
                if path.len() <= MAX_CATEGORY_BYTES {
                    if !path.is_empty() {
                        path.push('/');
                    }
                    path.push_str(label);
                }
            }
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

    fn nested_opml(depth: usize, name: &str) -> String {
        let mut text = String::from("<?xml version=\"1.0\"?><opml version=\"2.0\"><head/><body>");
        for i in 0..depth {
            text.push_str(&format!(
                "<outline text=\"{name}{i}\" xmlUrl=\"https://ex.org/{i}\">"
            ));
        }
        text.push_str(&"</outline>".repeat(depth));
        text.push_str("</body></opml>");
        text
    }

    #[test]
    fn deep_outlines_are_refused() {
        // The 20,000-deep document of issue #12 (1.4 MB; 2.19 GB to import
        // when each category was the whole joined path).
        let deep = nested_opml(20_000, "f");
        let err = parse(&deep).expect_err("too deep");
        assert!(matches!(err, OpmlError::TooDeep { limit, .. } if limit == MAX_OUTLINE_DEPTH));
        assert!(
            err.to_string().starts_with(&format!(
                "outlines nested deeper than {MAX_OUTLINE_DEPTH} levels (at byte "
            )),
            "{err}"
        );
        let feeds = parse(&nested_opml(MAX_OUTLINE_DEPTH, "f")).expect("at the limit");
        assert_eq!(feeds.len(), MAX_OUTLINE_DEPTH);
        assert_eq!(feeds[0].category, None);
        assert_eq!(feeds[2].category.as_deref(), Some("f0/f1"));
    }

    #[test]
    fn categories_and_names_stay_short() {
        let long = "n".repeat(MAX_NAME_BYTES * 3);
        let feeds = parse(&nested_opml(MAX_OUTLINE_DEPTH, &long)).expect("parses");
        for f in &feeds {
            assert!(f.name.as_ref().is_some_and(|n| n.len() <= MAX_NAME_BYTES));
            assert!(f
                .category
                .as_ref()
                .is_none_or(|c| c.len() <= MAX_CATEGORY_BYTES));
        }
        assert_eq!(
            feeds
                .last()
                .and_then(|f| f.category.as_ref())
                .map(String::len),
            Some(MAX_CATEGORY_BYTES)
        );
        // A multi-byte character is not cut in half.
        let accents = "é".repeat(MAX_NAME_BYTES);
        let text = format!(
            "<opml><body><outline text=\"{accents}\" xmlUrl=\"https://ex.org/\"/></body></opml>"
        );
        let feeds = parse(&text).expect("parses");
        assert_eq!(
            feeds[0].name.as_ref().map(String::len),
            Some(MAX_NAME_BYTES)
        );
    }

    #[test]
    fn oversized_documents_outlines_and_urls_are_refused() {
        let big = format!("<opml><body>{}</body></opml>", " ".repeat(MAX_OPML_BYTES));
        assert!(matches!(parse(&big), Err(OpmlError::TooLarge { .. })));
        // Reading stops one byte past the limit, whatever the source holds.
        let endless = std::io::repeat(b' ');
        match read_document(endless) {
            Err(OpmlError::TooLarge { bytes, limit }) => {
                assert_eq!((bytes, limit), (MAX_OPML_BYTES + 1, MAX_OPML_BYTES))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_document(&b"<opml>\xff</opml>"[..]),
            Err(OpmlError::Read(_))
        ));
        let many = format!(
            "<opml><body>{}</body></opml>",
            "<outline xmlUrl=\"https://ex.org/\"/>".repeat(MAX_OUTLINES + 1)
        );
        let err = parse(&many).expect_err("too many");
        assert!(matches!(err, OpmlError::TooManyOutlines { .. }), "{err}");
        let url = format!("https://ex.org/{}", "a".repeat(MAX_URL_BYTES));
        let err = parse(&format!(
            "<opml><body><outline xmlUrl=\"{url}\"/></body></opml>"
        ))
        .expect_err("too long");
        assert!(
            err.to_string()
                .starts_with(&format!("an xmlUrl of {} bytes at byte ", url.len())),
            "{err}"
        );
        let at_limit = format!("https://ex.org/{}", "a".repeat(MAX_URL_BYTES - 15));
        assert_eq!(
            parse(&format!(
                "<opml><body><outline xmlUrl=\"{at_limit}\"/></body></opml>"
            ))
            .expect("at the limit")[0]
                .url,
            at_limit
        );
    }
}
