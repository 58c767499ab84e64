//! Feed autodiscovery: what to do when a URL gives a web page instead of a
//! feed, as every mainstream reader does.
//!
//! A page names its feeds with `<link rel="alternate"
//! type="application/rss+xml|application/atom+xml|application/feed+json"
//! href="...">` in its head ([`feed_links`]); a page that names none may
//! still have one at a common path ([`COMMON_PATHS`], tried by the
//! pipeline only then). Pure: bytes in, URLs out.

/// Paths where sites commonly serve their feed, tried in this order when a
/// page links none.
pub const COMMON_PATHS: &[&str] = &[
    "/feed",
    "/rss",
    "/atom.xml",
    "/feed.xml",
    "/rss.xml",
    "/index.xml",
];

/// How much of a page is searched for `<link>` elements: they belong in
/// its head.
const HEAD_BYTES: usize = 512 * 1024;

/// A feed a page links to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedLink {
    /// The feed's absolute URL.
    pub url: String,
    /// The link's `title`, if any.
    pub title: Option<String>,
    /// `rss`, `atom` or `json`.
    pub kind: &'static str,
}

/// Whether a document is a web page rather than a feed: after a BOM and
/// whitespace (and comments), it opens with `<!DOCTYPE html` or `<html`.
pub fn looks_like_html(bytes: &[u8]) -> bool {
    let mut rest = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    loop {
        let start = rest
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(rest.len());
        rest = &rest[start..];
        if let Some(comment) = rest.strip_prefix(b"<!--") {
            match comment.windows(3).position(|w| w == b"-->") {
                Some(end) => {
                    rest = &comment[end + 3..];
                    continue;
                }
                None => return false,
            }
        }
        break;
    }
    let head: Vec<u8> = rest.iter().take(14).map(u8::to_ascii_lowercase).collect();
    head.starts_with(b"<!doctype html") || head.starts_with(b"<html")
}

/// The feeds a page links to, in page order, each once, resolved against
/// `base` (or the page's `<base href>`).
pub fn feed_links(page: &[u8], base: &url::Url) -> Vec<FeedLink> {
    let text = String::from_utf8_lossy(&page[..page.len().min(HEAD_BYTES)]);
    let mut base = base.clone();
    let mut out: Vec<FeedLink> = Vec::new();
    for tag in tags(&text) {
        let name = tag.name.to_ascii_lowercase();
        if name == "base" {
            if let Some(b) = tag.attr("href").and_then(|h| base.join(h).ok()) {
                base = b;
            }
            continue;
        }
        if name != "link" && name != "a" {
            continue;
        }
        let rel = tag.attr("rel").unwrap_or_default().to_ascii_lowercase();
        if !rel.split_ascii_whitespace().any(|r| r == "alternate") {
            continue;
        }
        let mime = tag.attr("type").unwrap_or_default().to_ascii_lowercase();
        let kind = match mime.split(';').next().unwrap_or_default().trim() {
            "application/rss+xml" | "application/rdf+xml" => "rss",
            "application/atom+xml" => "atom",
            "application/feed+json" | "application/json" => "json",
            _ => continue,
        };
        let Some(url) = tag
            .attr("href")
            .and_then(|h| base.join(h.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
        else {
            continue;
        };
        let url = url.to_string();
        if out.iter().any(|l| l.url == url) {
            continue;
        }
        out.push(FeedLink {
            url,
            title: tag
                .attr("title")
                .map(|t| html_escape::decode_html_entities(t).trim().to_string())
                .filter(|t| !t.is_empty()),
            kind,
        });
    }
    out
}

/// One start tag: its name and raw attributes.
struct Tag<'a> {
    name: &'a str,
    attrs: Vec<(&'a str, String)>,
}

impl Tag<'_> {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The start tags of an HTML text, skipping comments, scripts and styles.
/// A forgiving scanner: good enough for `<link>` and `<base>` in a head,
/// never quadratic, never panicking.
fn tags(text: &str) -> Vec<Tag<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt + 1..];
        if let Some(after) = rest.strip_prefix("!--") {
            rest = after.find("-->").map_or("", |e| &after[e + 3..]);
            continue;
        }
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(rest.len());
        if name_len == 0 {
            continue;
        }
        let name = &rest[..name_len];
        let (attrs, consumed) = attributes(&rest[name_len..]);
        rest = &rest[name_len + consumed..];
        let lower = name.to_ascii_lowercase();
        if lower == "script" || lower == "style" {
            let close = format!("</{lower}");
            let found = rest.to_ascii_lowercase().find(&close);
            rest = found.map_or("", |i| &rest[i..]);
        }
        out.push(Tag { name, attrs });
    }
    out
}

/// Parses attributes up to the tag's `>`; returns them and the bytes used.
fn attributes(s: &str) -> (Vec<(&str, String)>, usize) {
    let bytes = s.as_bytes();
    let mut attrs = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return (attrs, i);
        }
        if bytes[i] == b'>' {
            return (attrs, i + 1);
        }
        let start = i;
        while i < bytes.len()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
            && !bytes[i].is_ascii_whitespace()
        {
            i += 1;
        }
        let key = &s[start..i];
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let value = if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i];
                let from = i + 1;
                let to = bytes[from..]
                    .iter()
                    .position(|&b| b == quote)
                    .map_or(bytes.len(), |p| from + p);
                i = (to + 1).min(bytes.len());
                &s[from..to]
            } else {
                let from = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                    i += 1;
                }
                &s[from..i]
            };
            attrs.push((key, html_escape::decode_html_entities(value).into_owned()));
        } else if !key.is_empty() {
            attrs.push((key, String::new()));
        } else {
            // A stray character: step over it.
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> url::Url {
        url::Url::parse("https://news.example/world/index.html").expect("url")
    }

    #[test]
    fn web_pages_are_told_from_feeds() {
        assert!(looks_like_html(b"\xEF\xBB\xBF  <!DOCTYPE html><html>"));
        assert!(looks_like_html(b"<!-- generated --><HTML lang=en>"));
        assert!(!looks_like_html(
            b"<?xml version='1.0'?><rss version='2.0'>"
        ));
        assert!(!looks_like_html(
            b"{\"version\": \"https://jsonfeed.org/version/1.1\"}"
        ));
        assert!(!looks_like_html(b"<!-- unterminated"));
    }

    #[test]
    fn alternate_links_are_found_and_resolved() {
        let page = br#"<!doctype html><html><head>
            <link rel="stylesheet" href="/s.css">
            <script>var x = '<link rel="alternate" type="application/rss+xml" href="/fake">';</script>
            <link rel="alternate" type="application/rss+xml" title="World &amp; more" href="/world/rss">
            <LINK REL='alternate' TYPE='application/atom+xml' HREF='https://cdn.example/atom.xml'>
            <link rel="alternate" type="application/rss+xml" href="/world/rss">
            <link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
            <link rel="alternate" type="application/feed+json" href="feed.json"/>
            <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
            </head><body></body></html>"#;
        let links = feed_links(page, &base());
        let urls: Vec<&str> = links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://news.example/world/rss",
                "https://cdn.example/atom.xml",
                "https://news.example/world/feed.json"
            ]
        );
        assert_eq!(links[0].title.as_deref(), Some("World & more"));
        assert_eq!(
            links.iter().map(|l| l.kind).collect::<Vec<_>>(),
            ["rss", "atom", "json"]
        );
    }

    #[test]
    fn a_base_element_moves_relative_links() {
        let page = br#"<html><head><base href="https://other.example/a/"><link rel=alternate type=application/rss+xml href=rss></head>"#;
        assert_eq!(
            feed_links(page, &base())[0].url,
            "https://other.example/a/rss"
        );
    }

    #[test]
    fn broken_markup_ends_without_panicking() {
        for page in [
            &b"<link rel=\"alternate"[..],
            b"<<<<>>>>",
            b"<link rel=alternate type=application/rss+xml href='",
            b"<a",
            b"<script>never closed",
        ] {
            let _ = feed_links(page, &base());
        }
    }
}
