//! The folded feeds in Atom 1.0 (RFC 4287), JSON Feed 1.1 and RSS 2.0:
//! one entry per story, or one per event. Pure: stories or events in,
//! text out. A story or an event first becomes an [`Entry`] (what every
//! format needs of it), and one writer per format writes entries of
//! either.
//!
//! A story's entry is its representative (its earliest full copy): its
//! title, its content, and its link as `rel="alternate"`; every other copy
//! is a `rel="related"` link titled with its outlet (JSON Feed: the
//! `_feedfold.related` extension), and the content ends with a line naming
//! the outlets, which any reader shows. The wire the copies credit is a
//! category. An event's entry is titled as its representative story; its
//! content lists its stories (each linked, with its outlets and copies),
//! the first story's link is `rel="alternate"` and every other story's
//! `rel="related"`. Ids are `tag:` URIs of the store's identity and the
//! story or event id; `updated` is when feedfold last changed the story
//! (a copy joined) or one of the event's stories (a story or a copy
//! joined), so a reader that shows updates shows the new outlets.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::data::{Event, Story};
use crate::model::parse_time;

/// What the whole feed is.
#[derive(Debug, Clone)]
pub struct FeedMeta {
    /// The feed's own id (a `tag:` URI).
    pub id: String,
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

/// What the README says of the served feeds (JSON Feed's `_feedfold.about`).
const ABOUT: &str = "https://github.com/feedfold/feedfold#serving-the-folded-news";

/// An entry of a feed, a story or an event: what every format writes of it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its id (a `tag:` URI).
    pub id: String,
    /// Its title (plain text).
    pub title: String,
    /// When it was first seen (ISO-8601 UTC).
    pub published: String,
    /// When feedfold last changed it (ISO-8601 UTC).
    pub updated: String,
    /// The link it stands for (`rel="alternate"`).
    pub link: String,
    /// Other links it covers (`rel="related"`): the URL and its title.
    pub related: Vec<(String, String)>,
    /// Its author's name, if one is known.
    pub author: Option<String>,
    /// The feed it comes from, if one: its URL and its name (the Atom
    /// author when there is no other, the RSS `source`).
    pub source: Option<(String, String)>,
    /// A category (the wire a story's copies credit).
    pub category: Option<String>,
    /// A one-line summary.
    pub summary: Option<String>,
    /// Its content, HTML.
    pub content_html: String,
    /// The JSON Feed item's `_feedfold` extension.
    pub extension: Value,
}

/// A story's entry id: the store's identity and the story id.
pub fn entry_id(identity: &str, story: i64) -> String {
    format!("{identity}/story/{story}")
}

/// An event's entry id: the store's identity and the event id.
pub fn event_entry_id(identity: &str, event: i64) -> String {
    format!("{identity}/event/{event}")
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

/// `href="URL"` and the text of a link in an entry's HTML.
fn html_link(url: &str, text: &str) -> String {
    format!(
        "<a href=\"{}\">{}</a>",
        html_escape::encode_double_quoted_attribute(url),
        html_escape::encode_text(text)
    )
}

/// "1 copy", "2 copies".
fn count(n: impl Into<i64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The line under an entry's content naming the outlets that carried it.
fn outlets_html(story: &Story) -> String {
    let mut seen = std::collections::HashSet::new();
    let links: Vec<String> = story
        .copies
        .iter()
        .filter(|c| seen.insert(c.feed.clone()))
        .map(|c| match &c.url {
            Some(u) => html_link(u, &c.feed),
            None => html_escape::encode_text(&c.feed).into_owned(),
        })
        .collect();
    let mut line = format!(
        "<p><small>feedfold: {} in {}: {}",
        count(story.row.copies, "copy", "copies"),
        count(story.feed_count, "feed", "feeds"),
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

/// A link, else the story (or event) in the JSON API.
fn link_or_api(link: Option<String>, home_url: &str, what: &str, id: i64) -> String {
    link.unwrap_or_else(|| format!("{home_url}api/{what}/{id}"))
}

/// The link an entry points at: the representative's, else any copy's,
/// else the story in the JSON API.
fn entry_link(story: &Story, home_url: &str) -> String {
    link_or_api(
        story
            .representative()
            .and_then(|r| r.url.clone())
            .or_else(|| story.copies.iter().find_map(|c| c.url.clone())),
        home_url,
        "stories",
        story.row.id,
    )
}

/// A story's entry.
pub fn story_entry(identity: &str, home_url: &str, story: &Story) -> Entry {
    let rep = story.representative();
    let related = story
        .copies
        .iter()
        .filter(|c| !c.representative)
        .filter_map(|c| c.url.clone().map(|u| (u, c.feed.clone())))
        .collect();
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
    Entry {
        id: entry_id(identity, story.row.id),
        title: story.row.title.clone(),
        published: story.row.first_seen.clone(),
        updated: story.updated_at.clone(),
        link: entry_link(story, home_url),
        related,
        author: rep
            .and_then(|r| r.author.clone())
            .filter(|a| !a.trim().is_empty()),
        source: rep.map(|r| (r.feed_url.clone(), r.feed.clone())),
        category: story.row.origin.clone(),
        summary: rep
            .and_then(|r| r.summary.as_deref())
            .and_then(|s| s.lines().next())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        content_html: content_html(story),
        extension: json!({
            "about": ABOUT,
            "story_id": story.row.id,
            "copies": story.row.copies,
            "feeds": story.feed_count,
            "origin": story.row.origin,
            "first_seen": story.row.first_seen,
            "last_seen": story.row.last_seen,
            "related": copies,
        }),
    }
}

/// An event's HTML: its stories, each linked, with its outlets and
/// copies, and a line of counts.
fn event_html(event: &Event, home_url: &str) -> String {
    let mut out = String::from("<ul>\n");
    for s in &event.stories {
        let link = link_or_api(s.link.clone(), home_url, "stories", s.row.id);
        let _ = writeln!(
            out,
            "<li>{}<br/><small>{}; {}</small></li>",
            html_link(&link, &s.row.title),
            html_escape::encode_text(&s.row.feeds.join(", ")),
            count(s.row.copies, "copy", "copies"),
        );
    }
    let e = &event.row;
    let _ = write!(
        out,
        "</ul>\n<hr/>\n<p><small>feedfold: {}, {} in {}.</small></p>",
        count(e.stories, "story", "stories"),
        count(e.copies, "copy", "copies"),
        count(e.feeds.len() as i64, "feed", "feeds"),
    );
    out
}

/// An event's entry.
pub fn event_entry(identity: &str, home_url: &str, event: &Event) -> Entry {
    let e = &event.row;
    let mut links = event
        .stories
        .iter()
        .map(|s| link_or_api(s.link.clone(), home_url, "stories", s.row.id));
    let link = links
        .next()
        .unwrap_or_else(|| link_or_api(None, home_url, "events", e.id));
    let related = links
        .zip(event.stories.iter().skip(1))
        .map(|(l, s)| (l, s.row.title.clone()))
        .collect();
    let stories: Vec<Value> = event
        .stories
        .iter()
        .map(|s| {
            json!({
                "story_id": s.row.id,
                "title": s.row.title,
                "url": s.link,
                "feeds": s.row.feeds,
                "copies": s.row.copies,
                "first_seen": s.row.first_seen,
                "representative": Some(s.row.id) == e.story_id,
            })
        })
        .collect();
    Entry {
        id: event_entry_id(identity, e.id),
        title: e.title.clone(),
        published: e.first_seen.clone(),
        updated: event.updated_at.clone(),
        link,
        related,
        author: None,
        source: None,
        category: None,
        summary: None,
        content_html: event_html(event, home_url),
        extension: json!({
            "about": ABOUT,
            "event_id": e.id,
            "stories": e.stories,
            "copies": e.copies,
            "feeds": e.feeds.len(),
            "first_seen": e.first_seen,
            "last_seen": e.last_seen,
            "related": stories,
        }),
    }
}

/// A stored time as RFC 2822 (RSS dates).
fn rfc2822(t: &str) -> String {
    parse_time(t)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        .to_rfc2822()
}

/// Atom 1.0.
pub fn atom(meta: &FeedMeta, entries: &[Entry]) -> String {
    let mut out = String::with_capacity(4096 + entries.len() * 4096);
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
    for entry in entries {
        out.push_str("  <entry>\n");
        let _ = writeln!(out, "    <id>{}</id>", text(&entry.id));
        let _ = writeln!(
            out,
            "    <title type=\"text\">{}</title>",
            text(&entry.title)
        );
        let _ = writeln!(out, "    <updated>{}</updated>", text(&entry.updated));
        let _ = writeln!(out, "    <published>{}</published>", text(&entry.published));
        let _ = writeln!(
            out,
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
            attr(&entry.link)
        );
        for (url, title) in &entry.related {
            let _ = writeln!(
                out,
                "    <link rel=\"related\" type=\"text/html\" href=\"{}\" title=\"{}\"/>",
                attr(url),
                attr(title)
            );
        }
        let author = entry
            .author
            .as_deref()
            .or(entry.source.as_ref().map(|(_, name)| name.as_str()))
            .unwrap_or("feedfold");
        let _ = writeln!(out, "    <author><name>{}</name></author>", text(author));
        if let Some(category) = &entry.category {
            let _ = writeln!(
                out,
                "    <category term=\"{}\" label=\"{}\" scheme=\"https://github.com/feedfold/feedfold#origin\"/>",
                attr(category),
                attr(category)
            );
        }
        if let Some(summary) = &entry.summary {
            let _ = writeln!(
                out,
                "    <summary type=\"text\">{}</summary>",
                text(summary)
            );
        }
        let _ = writeln!(
            out,
            "    <content type=\"html\">{}</content>",
            text(&entry.content_html)
        );
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

/// JSON Feed 1.1, with what the other formats cannot say in a `_feedfold`
/// extension of each item.
pub fn json_feed(meta: &FeedMeta, entries: &[Entry]) -> String {
    let items: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let mut item = json!({
                "id": entry.id,
                "url": entry.link,
                "title": entry.title,
                "content_html": entry.content_html,
                "date_published": entry.published,
                "date_modified": entry.updated,
            });
            if let Some(summary) = &entry.summary {
                item["summary"] = json!(summary);
            }
            if let Some(author) = &entry.author {
                item["authors"] = json!([{ "name": author }]);
            }
            if let Some(category) = &entry.category {
                item["tags"] = json!([category]);
            }
            item["_feedfold"] = entry.extension.clone();
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
            "about": ABOUT,
            "id": meta.id,
            "updated": meta.updated,
        },
        "items": items,
    });
    let mut text = serde_json::to_string_pretty(&feed).unwrap_or_default();
    text.push('\n');
    text
}

/// RSS 2.0 (`guid` is the entry's `tag:` id, not a permalink; the related
/// links are only in the description).
pub fn rss(meta: &FeedMeta, entries: &[Entry]) -> String {
    let mut out = String::with_capacity(4096 + entries.len() * 4096);
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
    for entry in entries {
        out.push_str("  <item>\n");
        let _ = writeln!(out, "    <title>{}</title>", text(&entry.title));
        let _ = writeln!(out, "    <link>{}</link>", text(&entry.link));
        let _ = writeln!(
            out,
            "    <guid isPermaLink=\"false\">{}</guid>",
            text(&entry.id)
        );
        let _ = writeln!(out, "    <pubDate>{}</pubDate>", rfc2822(&entry.published));
        if let Some(category) = &entry.category {
            let _ = writeln!(out, "    <category>{}</category>", text(category));
        }
        let _ = writeln!(
            out,
            "    <description>{}</description>",
            text(&entry.content_html)
        );
        if let Some((url, name)) = &entry.source {
            let _ = writeln!(
                out,
                "    <source url=\"{}\">{}</source>",
                attr(url),
                text(name)
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
    use crate::server::data::{Copy, Member};
    use crate::store::queries::events::EventRow;
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
            title: "feedfold: stories".into(),
            subtitle: "every story".into(),
            self_url: "http://127.0.0.1:8080/stories.atom?min_copies=2&since=1d".into(),
            home_url: "http://127.0.0.1:8080/".into(),
            updated: "2026-03-02T11:05:00Z".into(),
        }
    }

    const IDENTITY: &str = "tag:feedfold,2026-03-01:abc";

    fn entries() -> Vec<Entry> {
        vec![story_entry(IDENTITY, &meta().home_url, &story())]
    }

    fn member(id: i64, title: &str, link: Option<&str>) -> Member {
        Member {
            row: StoryRow {
                id,
                title: title.into(),
                first_seen: format!("2026-03-02T1{id}:00:00Z"),
                last_seen: format!("2026-03-02T1{id}:30:00Z"),
                copies: id,
                url: link.map(str::to_string),
                origin: None,
                feeds: vec!["Daily <Planet>".into(), "b & c".into()],
                event_id: 3,
            },
            link: link.map(str::to_string),
        }
    }

    fn event() -> Event {
        Event {
            row: EventRow {
                id: 3,
                title: "Port strike <halts> traffic".into(),
                first_seen: "2026-03-02T10:00:00Z".into(),
                last_seen: "2026-03-02T12:30:00Z".into(),
                stories: 2,
                copies: 3,
                feeds: vec!["Daily <Planet>".into(), "b & c".into()],
                story_id: Some(1),
            },
            updated_at: "2026-03-02T12:31:00Z".into(),
            stories: vec![
                member(1, "Port strike <halts> traffic", Some("http://h/a?x=1&y=2")),
                member(2, "Dockers \"stay out\"", None),
            ],
        }
    }

    #[test]
    fn an_event_links_its_stories_and_escapes_as_a_story_does() {
        let m = meta();
        let entry = event_entry(IDENTITY, &m.home_url, &event());
        assert_eq!(entry.id, "tag:feedfold,2026-03-01:abc/event/3");
        assert_eq!(entry.link, "http://h/a?x=1&y=2");
        assert_eq!(
            entry.related,
            vec![(
                "http://127.0.0.1:8080/api/stories/2".to_string(),
                "Dockers \"stay out\"".to_string()
            )]
        );
        assert_eq!(entry.updated, "2026-03-02T12:31:00Z");
        let html = &entry.content_html;
        assert!(
            html.contains(
                "<a href=\"http://h/a?x=1&amp;y=2\">Port strike &lt;halts&gt; traffic</a>"
            ),
            "{html}"
        );
        assert!(
            html.contains("Daily &lt;Planet&gt;, b &amp; c; 1 copy"),
            "{html}"
        );
        assert!(html.contains("2 stories, 3 copies in 2 feeds."), "{html}");
        let xml = atom(&m, std::slice::from_ref(&entry));
        let parsed = feed_rs::parser::parse(xml.as_bytes()).expect("feed-rs parses it");
        assert_eq!(parsed.entries[0].links.len(), 2);
        assert!(
            xml.contains("title=\"Dockers &quot;stay out&quot;\""),
            "{xml}"
        );
        let v: Value =
            serde_json::from_str(&json_feed(&m, std::slice::from_ref(&entry))).expect("json");
        assert_eq!(v["items"][0]["_feedfold"]["related"][1]["story_id"], 2);
        assert_eq!(
            v["items"][0]["_feedfold"]["related"][0]["representative"],
            true
        );
        feed_rs::parser::parse(rss(&m, &[entry]).as_bytes()).expect("feed-rs parses it");
    }

    #[test]
    fn atom_escapes_and_links_every_copy() {
        let xml = atom(&meta(), &entries());
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
        let text = json_feed(&meta(), &entries());
        let v: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["version"], "https://jsonfeed.org/version/1.1");
        assert_eq!(v["items"][0]["_feedfold"]["related"][1]["feed"], "b & c");
        assert_eq!(v["items"][0]["tags"][0], "Reuters");
        feed_rs::parser::parse(text.as_bytes()).expect("feed-rs parses it");
    }

    #[test]
    fn rss_parses() {
        let xml = rss(&meta(), &entries());
        let parsed = feed_rs::parser::parse(xml.as_bytes()).expect("feed-rs parses it");
        assert_eq!(parsed.entries.len(), 1);
    }
}
