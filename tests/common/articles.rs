//! Made-up news stories for the full-text tests: each has a wire text
//! (what a full-text feed carries and what its article page holds), a
//! teaser of other words (what a summary-only feed carries, cut with
//! "… Read more") and an article page around the text (navigation, share
//! bar, a list of other stories, footer). Words are made of syllables
//! drawn per story, so two stories share no word triple and a teaser
//! shares none with its own story's text: only the article page can
//! tell which story a summary belongs to.

use chrono::{DateTime, Utc};

use super::feeds::{xml, Feed, Item};

/// One made-up story.
#[derive(Debug, Clone)]
pub struct Story {
    /// The wire copy's headline.
    pub title: String,
    /// The summary feed's headline (other words).
    pub teaser_title: String,
    /// The text, in paragraphs.
    pub paragraphs: Vec<String>,
    /// The summary feed's teaser, ending "… Read more".
    pub teaser: String,
}

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "re", "tu", "sa", "ne", "vo", "di", "pa", "ro", "zu", "be", "fi", "go", "ha",
    "ju", "ke", "ly", "mo", "nu", "pe", "qui", "ta",
];

/// A pseudo-word, a function of (story, seed, position).
fn word(story: usize, seed: usize, n: usize) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in [story as u64, seed as u64, n as u64] {
        h ^= b;
        h = h.wrapping_mul(0x0100_0000_01b3);
        h ^= h >> 29;
    }
    (0..4)
        .map(|k| SYLLABLES[((h >> (k * 8)) % SYLLABLES.len() as u64) as usize])
        .collect()
}

fn sentence(story: usize, seed: usize, from: usize, len: usize) -> String {
    let words: Vec<String> = (from..from + len).map(|n| word(story, seed, n)).collect();
    let mut s = words.join(" ");
    if let Some(first) = s.get(..1) {
        s = first.to_uppercase() + s.get(1..).unwrap_or_default();
    }
    s + "."
}

/// Story number `i`: six paragraphs of three sentences, 140 words or so.
pub fn story(i: usize) -> Story {
    let paragraphs = (0..6)
        .map(|p| {
            (0..3)
                .map(|s| sentence(i, 1, (p * 3 + s) * 8, 8))
                .collect::<Vec<_>>()
                .join(" ")
                + &format!(" {} people.", 1000 + i * 37 + p)
        })
        .collect();
    let title = format!("{} {}", sentence(i, 2, 0, 6).trim_end_matches('.'), i);
    let teaser_title = sentence(i, 3, 0, 6).trim_end_matches('.').to_string();
    let teaser = format!("{} … Read more", sentence(i, 4, 0, 14));
    Story {
        title,
        teaser_title,
        paragraphs,
        teaser,
    }
}

impl Story {
    /// The whole text, one paragraph a line.
    pub fn text(&self) -> String {
        self.paragraphs.join("\n")
    }

    /// The article page: the text inside a site's furniture.
    pub fn page(&self, others: &[Story]) -> String {
        let related: String = others
            .iter()
            .take(5)
            .enumerate()
            .map(|(k, o)| format!("<li><a href=\"/other/{k}\">{}</a></li>", xml(&o.title)))
            .collect();
        let body: String = self
            .paragraphs
            .iter()
            .map(|p| format!("<p>{}</p>\n", xml(p)))
            .collect();
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t} | Daily Test</title></head>\
             <body><header><nav><a href=\"/\">Home</a> <a href=\"/world\">World</a> \
             <a href=\"/sport\">Sport</a></nav></header>\
             <main><article><h1>{t}</h1><div class=\"share\"><a href=\"/share\">Share</a></div>\n{body}\
             <aside><h2>Related</h2><ul>{related}</ul></aside></article></main>\
             <footer>Copyright Daily Test</footer></body></html>",
            t = xml(&self.title)
        )
    }
}

/// A full-text feed ("Wire") carrying each story's text as entry `w{i}`,
/// dated `dated(i)`.
pub fn wire_feed(stories: &[Story], dated: impl Fn(usize) -> DateTime<Utc>) -> String {
    Feed::new("Wire")
        .site("http://127.0.0.1:9/wire/")
        .items(
            stories
                .iter()
                .enumerate()
                .map(|(i, s)| Item::new(&format!("w{i}"), &s.title, &s.text(), dated(i))),
        )
        .rss()
}

/// A summary-only feed ("Summaries") carrying each story's teaser as
/// entry `s{i}`, dated `dated(i)` and linking to `link(i)`.
pub fn summary_feed(
    stories: &[Story],
    dated: impl Fn(usize) -> DateTime<Utc>,
    link: impl Fn(usize) -> String,
) -> String {
    Feed::new("Summaries")
        .items(stories.iter().enumerate().map(|(i, s)| {
            Item::new(&format!("s{i}"), &s.teaser_title, &s.teaser, dated(i)).link(&link(i))
        }))
        .rss()
}

/// The story number of an article page's path, `/a/{n}.html`.
pub fn page_number(path: &str) -> Option<usize> {
    path.strip_prefix("/a/")
        .and_then(|p| p.strip_suffix(".html"))
        .and_then(|n| n.parse().ok())
}
