//! Feed documents built by tests: a [`Feed`] of a few [`Item`]s, written
//! as RSS 2.0, Atom or JSON Feed. Text is escaped as each format needs.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};

/// One entry.
#[derive(Debug, Clone)]
pub struct Item {
    /// The guid (Atom `id`, JSON Feed `id`).
    pub guid: String,
    /// Title.
    pub title: String,
    /// Plain text (RSS `description`, Atom `summary`, JSON Feed `content_text`).
    pub text: String,
    /// Publication date.
    pub published: DateTime<Utc>,
    /// Its own link (default: the feed's site followed by its guid).
    pub link: Option<String>,
}

impl Item {
    /// An item.
    pub fn new(guid: &str, title: &str, text: &str, published: DateTime<Utc>) -> Item {
        Item {
            guid: guid.to_string(),
            title: title.to_string(),
            text: text.to_string(),
            published,
            link: None,
        }
    }

    /// Sets the item's own link.
    pub fn link(mut self, url: &str) -> Item {
        self.link = Some(url.to_string());
        self
    }

    /// An item published `age` ago.
    pub fn aged(guid: &str, title: &str, text: &str, age: Duration) -> Item {
        Item::new(guid, title, text, Utc::now() - age)
    }
}

/// A feed document's content.
#[derive(Debug, Clone, Default)]
pub struct Feed {
    /// Title.
    pub title: String,
    /// The site (RSS channel `link`, Atom alternate link, JSON Feed
    /// `home_page_url`); each item links to it followed by its guid.
    /// Without it, items have no link.
    pub site: Option<String>,
    /// The document's own URL (`atom:link rel="self"`, Atom self link,
    /// JSON Feed `feed_url`).
    pub self_url: Option<String>,
    /// RSS `ttl`, in minutes.
    pub ttl: Option<u32>,
    /// Entries, in document order.
    pub items: Vec<Item>,
}

impl Feed {
    /// A feed with this title and nothing else.
    pub fn new(title: &str) -> Feed {
        Feed {
            title: title.to_string(),
            ..Feed::default()
        }
    }

    /// Sets the site.
    pub fn site(mut self, url: &str) -> Feed {
        self.site = Some(url.to_string());
        self
    }

    /// Sets the self link.
    pub fn self_url(mut self, url: &str) -> Feed {
        self.self_url = Some(url.to_string());
        self
    }

    /// Sets the RSS ttl (minutes).
    pub fn ttl(mut self, minutes: u32) -> Feed {
        self.ttl = Some(minutes);
        self
    }

    /// Adds items.
    pub fn items(mut self, items: impl IntoIterator<Item = Item>) -> Feed {
        self.items.extend(items);
        self
    }

    /// An item's link: its own, else the feed's site and its guid.
    fn link(&self, item: &Item) -> Option<String> {
        item.link.clone().or_else(|| {
            self.site
                .as_ref()
                .map(|site| format!("{site}{}", item.guid))
        })
    }

    /// RSS 2.0.
    pub fn rss(&self) -> String {
        let mut s = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>\n",
        );
        s.push_str(&format!("<title>{}</title>", xml(&self.title)));
        if let Some(site) = &self.site {
            s.push_str(&format!("<link>{}</link>", xml(site)));
        }
        if let Some(url) = &self.self_url {
            s.push_str(&format!(
                "\n<atom:link rel=\"self\" href=\"{}\"/>",
                xml(url)
            ));
        }
        if let Some(ttl) = self.ttl {
            s.push_str(&format!("<ttl>{ttl}</ttl>"));
        }
        s.push('\n');
        for item in &self.items {
            s.push_str(&format!(
                "<item><guid isPermaLink=\"false\">{}</guid><title>{}</title>",
                xml(&item.guid),
                xml(&item.title)
            ));
            if let Some(link) = self.link(item) {
                s.push_str(&format!("<link>{}</link>", xml(&link)));
            }
            s.push_str(&format!(
                "<description>{}</description><pubDate>{}</pubDate></item>\n",
                xml(&item.text),
                item.published.to_rfc2822()
            ));
        }
        s.push_str("</channel></rss>\n");
        s
    }

    /// Atom 1.0.
    pub fn atom(&self) -> String {
        let id = self
            .self_url
            .clone()
            .or_else(|| self.site.clone())
            .unwrap_or_else(|| format!("urn:feedfold-test:{}", self.title));
        let updated = self
            .items
            .iter()
            .map(|i| i.published)
            .max()
            .unwrap_or_default();
        let mut s = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
             <title>{}</title><id>{}</id><updated>{}</updated>\n",
            xml(&self.title),
            xml(&id),
            updated.to_rfc3339()
        );
        if let Some(url) = &self.self_url {
            s.push_str(&format!("<link rel=\"self\" href=\"{}\"/>\n", xml(url)));
        }
        if let Some(site) = &self.site {
            s.push_str(&format!(
                "<link rel=\"alternate\" href=\"{}\"/>\n",
                xml(site)
            ));
        }
        for item in &self.items {
            s.push_str(&format!(
                "<entry><id>{}</id><title>{}</title>",
                xml(&item.guid),
                xml(&item.title)
            ));
            if let Some(link) = self.link(item) {
                s.push_str(&format!(
                    "<link rel=\"alternate\" href=\"{}\"/>",
                    xml(&link)
                ));
            }
            s.push_str(&format!(
                "<published>{0}</published><updated>{0}</updated><summary>{1}</summary></entry>\n",
                item.published.to_rfc3339(),
                xml(&item.text)
            ));
        }
        s.push_str("</feed>\n");
        s
    }

    /// JSON Feed 1.1.
    pub fn json(&self) -> String {
        let items: Vec<serde_json::Value> = self
            .items
            .iter()
            .map(|item| {
                let mut v = serde_json::json!({
                    "id": item.guid,
                    "title": item.title,
                    "content_text": item.text,
                    "date_published": item.published.to_rfc3339(),
                });
                if let Some(link) = self.link(item) {
                    v["url"] = link.into();
                }
                v
            })
            .collect();
        let mut feed = serde_json::json!({
            "version": "https://jsonfeed.org/version/1.1",
            "title": self.title,
            "items": items,
        });
        if let Some(site) = &self.site {
            feed["home_page_url"] = site.as_str().into();
        }
        if let Some(url) = &self.self_url {
            feed["feed_url"] = url.as_str().into();
        }
        format!("{feed:#}\n")
    }
}

/// Writes an RSS feed of `https://example.test/` with this title, self
/// link and items to `path`.
pub fn write_rss(path: &Path, title: &str, self_url: &str, items: &[Item]) {
    let feed = Feed::new(title)
        .site("https://example.test/")
        .self_url(self_url)
        .items(items.iter().cloned());
    std::fs::write(path, feed.rss()).expect("write feed");
}

/// Escapes text for XML content and attribute values.
pub fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A feed of `http://example.org/` whose items, given as (guid, title),
/// share one text template (the city council of Springfield voted on
/// TITLE ...) and one date, 2026-03-10 10:00 UTC.
pub fn templated(title: &str, items: &[(&str, &str)]) -> Feed {
    let published = DateTime::from_timestamp(1_773_136_800, 0).expect("2026-03-10T10:00:00Z");
    Feed::new(title)
        .site("http://example.org/")
        .items(items.iter().map(|(guid, t)| {
            let text = format!(
                "The city council of Springfield voted on {t} after a long debate about budgets, \
                 schools and the new bridge across the river on Tuesday evening."
            );
            Item::new(guid, t, &text, published)
        }))
}

/// A small valid RSS feed of two items (`a1`, `a2`).
pub fn two_items() -> String {
    templated(
        "Wire",
        &[("a1", "Budget vote one"), ("a2", "Bridge plan two")],
    )
    .rss()
}
