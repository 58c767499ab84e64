//! The folded feeds: one entry per story, in Atom 1.0 (RFC 4287), JSON
//! Feed 1.1 and RSS 2.0, and the OPML list of them. Pure: stories in,
//! text out.
//!
//! An entry is the story's representative (its earliest full copy): its
//! title, its content, and its link as `rel="alternate"`; every other copy
//! is a `rel="related"` link titled with its outlet (JSON Feed: the
//! `_feedfold.copies` extension), and the content ends with a line naming
//! the outlets, which any reader shows. The wire the copies credit is a
//! category. Ids are `tag:` URIs of the store's identity and the story id;
//! `updated` is when feedfold last changed the story (a copy joined), so a
//! reader that shows updates shows the new outlets.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::data::Story;
use crate::model::parse_time;

/// What the whole feed is.
#[derive(Debug, Clone)]
pub struct FeedMeta {
    /// The feed's own id (a `tag:` URI).
    pub id: String,
    /// The store's identity, the prefix of entry ids.
    pub identity: String,
    /// The feed's title.
    pub title: String,
    /// Which stories it holds, in words.
    pub subtitle: String,
    /// The URL it is served at (its self link).
    pub self_url: String,
    /// The server's root URL.
    pub home_url: String,
    /// The newest `updated` of its entries (ISO-8601 UTC).
    pub updated: String,
}

/// An entry's id: the store's identity and the story id.
pub fn entry_id(identity: &str, story: i64) -> String {
    format!("{identity}/story/{story}")
}

/// Drops what XML 1.0 may not hold (most control characters, lone
/// surrogates cannot occur in a `str`, U+FFFE and U+FFFF).
fn xml_chars(s: &str) -> std::borrow::Cow<'_, str> {
    let ok = |c: char| {
        matches!(c, '\t' | '\n' | '\r')
            || (c >= ' '
                && c != '\u{FFFE}'
                && c != '\u{FFFF}'
                && !('\u{7F}'..='\u{9F}').contains(&c))
    };
    if s.chars().all(ok) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.chars().filter(|&c| ok(c)).collect())
    }
}

/// Text content of an element.
fn text(s: &str) -> String {
    html_escape::encode_text(&xml_chars(s)).into_owned()
}

/// A double-quoted attribute value.
fn attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(&xml_chars(s))
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}

/// The line under an entry's content naming the outlets that carried it.
fn outlets_html(story: &Story) -> String {
    let mut seen = std::collections::HashSet::new();
    let links: Vec<String> = story
        .copies
        .iter()
        .filter(|c| seen.insert(c.feed.clone()))
        .map(|c| match &c.url {
            Some(u) => format!(
                "<a href=\"{}\">{}</a>",
                html_escape::encode_double_quoted_attribute(u),
                html_escape::encode_text(&c.feed)
            ),
            None => html_escape::encode_text(&c.feed).into_owned(),
        })
        .collect();
    let copies = story.row.copies;
    let mut line = format!(
        "<p><small>feedfold: {copies} {} in {} {}: {}",
        if copies == 1 { "copy" } else { "copies" },
        story.feed_count,
        if story.feed_count == 1 {
            "feed"
        } else {
            "feeds"
        },
        links.join(", ")
    );
    if let Some(origin) = &story.row.origin {
        let _ = write!(line, "; origin: {}", html_escape::encode_text(origin));
    }
    line.push_str(".</small></p>");
    line
}

/// The entry's HTML: the representative's content and the outlets line.
fn content_html(story: &Story) -> String {
    let body = story
        .representative()
        .and_then(|r| r.html.clone())
        .unwrap_or_default();
    format!("{body}\n<hr/>\n{}", outlets_html(story))
}

/// The link an entry points at: the representative's, else any copy's,
/// else the story in the JSON API.
fn entry_link(story: &Story, home_url: &str) -> String {
    story
        .representative()
        .and_then(|r| r.url.clone())
        .or_else(|| story.copies.iter().find_map(|c| c.url.clone()))
        .unwrap_or_else(|| format!("{home_url}api/stories/{}", story.row.id))
}

/// A stored time as RFC 2822 (RSS dates).
fn rfc2822(t: &str) -> String {
    parse_time(t)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        .to_rfc2822()
}

/// Atom 1.0.
pub fn atom(meta: &FeedMeta, stories: &[Story]) -> String {
    let mut out = String::with_capacity(4096 + stories.len() * 4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    let _ = writeln!(out, "  <id>{}</id>", text(&meta.id));
    let _ = writeln!(out, "  <title type=\"text\">{}</title>", text(&meta.title));
    let _ = writeln!(
        out,
        "  <subtitle type=\"text\">{}</subtitle>",
        text(&meta.subtitle)
    );
    let _ = writeln!(out, "  <updated>{}</updated>", text(&meta.updated));
    let _ = writeln!(
        out,
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>",
        attr(&meta.self_url)
    );
    let _ = writeln!(
        out,
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
        attr(&meta.home_url)
    );
    out.push_str("  <author><name>feedfold</name></author>\n");
    let _ = writeln!(
        out,
        "  <generator uri=\"https://github.com/feedfold/feedfold\" version=\"{}\">feedfold</generator>",
        env!("CARGO_PKG_VERSION")
    );
    for story in stories {
        let rep = story.representative();
        out.push_str("  <entry>\n");
        let _ = writeln!(
            out,
            "    <id>{}</id>",
            text(&entry_id(&meta.identity, story.row.id))
        );
        let _ = writeln!(
            out,
            "    <title type=\"text\">{}</title>",
            text(&story.row.title)
        );
        let _ = writeln!(out, "    <updated>{}</updated>", text(&story.updated_at));
        let _ = writeln!(
            out,
            "    <published>{}</published>",
            text(&story.row.first_seen)
        );
        let _ = writeln!(
            out,
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
            attr(&entry_link(story, &meta.home_url))
        );
        for copy in story.copies.iter().filter(|c| !c.representative) {
            if let Some(url) = &copy.url {
                let _ = writeln!(
                    out,
                    "    <link rel=\"related\" type=\"text/html\" href=\"{}\" title=\"{}\"/>",
                    attr(url),
                    attr(&copy.feed)
                );
            }
        }
        let author = rep
            .and_then(|r| r.author.clone().filter(|a| !a.trim().is_empty()))
            .or_else(|| rep.map(|r| r.feed.clone()))
            .unwrap_or_else(|| "feedfold".into());
        let _ = writeln!(out, "    <author><name>{}</name></author>", text(&author));
        if let Some(origin) = &story.row.origin {
            let _ = writeln!(
                out,
                "    <category term=\"{}\" label=\"{}\" scheme=\"https://github.com/feedfold/feedfold#origin\"/>",
                attr(origin),
                attr(origin)
            );
        }
        if let Some(summary) = rep.and_then(|r| r.summary.as_deref()) {
            let first = summary.lines().next().unwrap_or_default().trim();
            if !first.is_empty() {
                let _ = writeln!(out, "    <summary type=\"text\">{}</summary>", text(first));
            }
        }
        let _ = writeln!(
            out,
            "    <content type=\"html\">{}</content>",
            text(&content_html(story))
        );
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

/// JSON Feed 1.1, with the copies in a `_feedfold` extension.
pub fn json_feed(meta: &FeedMeta, stories: &[Story]) -> String {
    let items: Vec<Value> = stories
        .iter()
        .map(|story| {
            let rep = story.representative();
            let mut item = json!({
                "id": entry_id(&meta.identity, story.row.id),
                "url": entry_link(story, &meta.home_url),
                "title": story.row.title,
                "content_html": content_html(story),
                "date_published": story.row.first_seen,
                "date_modified": story.updated_at,
            });
            if let Some(summary) = rep
                .and_then(|r| r.summary.as_deref())
                .and_then(|s| s.lines().next())
                .filter(|s| !s.trim().is_empty())
            {
                item["summary"] = json!(summary.trim());
            }
            if let Some(author) = rep
                .and_then(|r| r.author.as_deref())
                .filter(|a| !a.trim().is_empty())
            {
                item["authors"] = json!([{ "name": author }]);
            }
            if let Some(origin) = &story.row.origin {
                item["tags"] = json!([origin]);
            }
            let copies: Vec<Value> = story
                .copies
                .iter()
                .map(|c| {
                    json!({
                        "entry_id": c.id,
                        "title": c.title,
                        "url": c.url,
                        "feed": c.feed,
                        "feed_url": c.feed_url,
                        "site_url": c.site_url,
                        "published": c.published,
                        "representative": c.representative,
                    })
                })
                .collect();
            item["_feedfold"] = json!({
                "about": "https://github.com/feedfold/feedfold#serving-the-folded-news",
                "story_id": story.row.id,
                "copies": story.row.copies,
                "feeds": story.feed_count,
                "origin": story.row.origin,
                "first_seen": story.row.first_seen,
                "last_seen": story.row.last_seen,
                "related": copies,
            });
            item
        })
        .collect();
    let feed = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": meta.title,
        "description": meta.subtitle,
        "home_page_url": meta.home_url,
        "feed_url": meta.self_url,
        "authors": [{ "name": "feedfold" }],
        "_feedfold": {
            "about": "https://github.com/feedfold/feedfold#serving-the-folded-news",
            "id": meta.id,
            "updated": meta.updated,
        },
        "items": items,
    });
    let mut text = serde_json::to_string_pretty(&feed).unwrap_or_default();
    text.push('\n');
    text
}

/// RSS 2.0 (`guid` is the entry's `tag:` id, not a permalink; the other
/// copies are only in the description's outlets line).
pub fn rss(meta: &FeedMeta, stories: &[Story]) -> String {
    let mut out = String::with_capacity(4096 + stories.len() * 4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n");
    let _ = writeln!(out, "  <title>{}</title>", text(&meta.title));
    let _ = writeln!(out, "  <link>{}</link>", text(&meta.home_url));
    let _ = writeln!(out, "  <description>{}</description>", text(&meta.subtitle));
    let _ = writeln!(
        out,
        "  <atom:link rel=\"self\" type=\"application/rss+xml\" href=\"{}\"/>",
        attr(&meta.self_url)
    );
    let _ = writeln!(
        out,
        "  <lastBuildDate>{}</lastBuildDate>",
        rfc2822(&meta.updated)
    );
    let _ = writeln!(
        out,
        "  <generator>feedfold {}</generator>",
        env!("CARGO_PKG_VERSION")
    );
    for story in stories {
        out.push_str("  <item>\n");
        let _ = writeln!(out, "    <title>{}</title>", text(&story.row.title));
        let _ = writeln!(
            out,
            "    <link>{}</link>",
            text(&entry_link(story, &meta.home_url))
        );
        let _ = writeln!(
            out,
            "    <guid isPermaLink=\"false\">{}</guid>",
            text(&entry_id(&meta.identity, story.row.id))
        );
        let _ = writeln!(
            out,
            "    <pubDate>{}</pubDate>",
            rfc2822(&story.row.first_seen)
        );
        if let Some(origin) = &story.row.origin {
            let _ = writeln!(out, "    <category>{}</category>", text(origin));
        }
        let _ = writeln!(
            out,
            "    <description>{}</description>",
            text(&content_html(story))
        );
        if let Some(rep) = story.representative() {
            let _ = writeln!(
                out,
                "    <source url=\"{}\">{}</source>",
                attr(&rep.feed_url),
                text(&rep.feed)
            );
        }
        out.push_str("  </item>\n");
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::data::Copy;
    use crate::store::queries::StoryRow;

    fn copy(id: i64, feed: &str, rep: bool) -> Copy {
        Copy {
            id,
            feed: feed.into(),
            feed_url: format!("http://h/{feed}"),
            site_url: None,
            title: "Port strike <halts> traffic".into(),
            url: Some(format!("http://h/{feed}/a?x=1&y=2")),
            published: "2026-03-02T10:00:00Z".into(),
            author: None,
            representative: rep,
            html: rep.then(|| "<p>Dock workers walked out.</p>".into()),
            summary: rep.then(|| "Dock workers walked out.".into()),
        }
    }

    fn story() -> Story {
        Story {
            row: StoryRow {
                id: 7,
                title: "Port strike <halts> traffic\u{1}".into(),
                first_seen: "2026-03-02T10:00:00Z".into(),
                last_seen: "2026-03-02T11:00:00Z".into(),
                copies: 2,
                url: Some("http://h/a/a".into()),
                origin: Some("Reuters".into()),
                feeds: vec!["a".into(), "b".into()],
                event_id: 3,
            },
            feed_count: 2,
            updated_at: "2026-03-02T11:05:00Z".into(),
            copies: vec![copy(1, "a", true), copy(2, "b & c", false)],
        }
    }

    fn meta() -> FeedMeta {
        FeedMeta {
            id: "tag:feedfold,2026-03-01:abc/stories".into(),
            identity: "tag:feedfold,2026-03-01:abc".into(),
            title: "feedfold: stories".into(),
            subtitle: "every story".into(),
            self_url: "http://127.0.0.1:8080/stories.atom?min_copies=2&since=1d".into(),
            home_url: "http://127.0.0.1:8080/".into(),
            updated: "2026-03-02T11:05:00Z".into(),
        }
    }

    #[test]
    fn atom_escapes_and_links_every_copy() {
        let xml = atom(&meta(), &[story()]);
        assert!(
            xml.contains("<title type=\"text\">Port strike &lt;halts&gt; traffic</title>"),
            "{xml}"
        );
        assert!(!xml.contains('\u{1}'));
        assert!(
            xml.contains("href=\"http://h/b &amp; c/a?x=1&amp;y=2\" title=\"b &amp; c\""),
            "{xml}"
        );
        assert!(xml.contains("<id>tag:feedfold,2026-03-01:abc/story/7</id>"));
        assert!(xml.contains("min_copies=2&amp;since=1d"));
        assert!(xml.contains("term=\"Reuters\""));
        let parsed = feed_rs::parser::parse(xml.as_bytes()).expect("feed-rs parses it");
        assert_eq!(parsed.entries.len(), 1);
        assert_eq!(parsed.entries[0].links.len(), 2);
    }

    #[test]
    fn json_feed_carries_the_copies_in_its_extension() {
        let text = json_feed(&meta(), &[story()]);
        let v: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["version"], "https://jsonfeed.org/version/1.1");
        assert_eq!(v["items"][0]["_feedfold"]["related"][1]["feed"], "b & c");
        assert_eq!(v["items"][0]["tags"][0], "Reuters");
        feed_rs::parser::parse(text.as_bytes()).expect("feed-rs parses it");
    }

    #[test]
    fn rss_parses() {
        let xml = rss(&meta(), &[story()]);
        let parsed = feed_rs::parser::parse(xml.as_bytes()).expect("feed-rs parses it");
        assert_eq!(parsed.entries.len(), 1);
    }
}
