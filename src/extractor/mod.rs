//! Full text for summary-only feeds: the article behind an entry's link.
//!
//! Sits beside the normalizer in the pipeline. When an entry's feed gives
//! only a summary, the fetcher brings the page its link points to (the
//! fetcher's `HttpFetcher::get_article`); this module decodes the
//! page ([`decode_html`]: BOM, HTTP charset, `<meta charset>`, UTF-8, else
//! windows-1252), finds the article in it ([`readability`], Mozilla's
//! Readability with input caps), and turns the article into the same
//! sanitized HTML and plain text as feed content, through the normalizer's
//! own functions ([`crate::normalizer::html::sanitize_bounded`] and
//! [`crate::normalizer::html::html_to_text`]). The store then recomputes the
//! entry's features and places it again. Pure and synchronous: run it on
//! the blocking pool.
//!
//! `feedfold extract URL|FILE` prints what [`read_article`] finds in one page.
//! [`policy`] says when an entry's article is fetched (`[full_text]`).

pub mod policy;
pub mod readability;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::normalizer::html::{html_to_text, sanitize_bounded, text_to_html, HtmlBudget};

pub use policy::FullTextConfig;
pub use readability::{ExtractError, Extracted, Limits, Options};

/// The article of one page, as feedfold stores and groups it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Article {
    /// The article's title (site name removed), if the page has one.
    pub title: Option<String>,
    /// The author line, as found.
    pub byline: Option<String>,
    /// When the page says it was published (parsed with the feed date
    /// parser), if it says so readably.
    pub published: Option<DateTime<Utc>>,
    /// The publication time exactly as found in the page.
    pub published_raw: Option<String>,
    /// The article as sanitized HTML (the feed sanitizer's rules).
    pub html: String,
    /// The article as plain text, one paragraph a line (the feed text
    /// conversion).
    pub text: String,
    /// Words in `text` (letter and digit runs; each CJK character counts).
    pub word_count: usize,
    /// Whether the page looks like an article ([`Extracted::is_article`]);
    /// only then does the store use its text.
    pub looks_like_article: bool,
    /// The encoding the page was decoded from.
    pub encoding: &'static str,
}

/// Decodes an HTML page to text: a byte order mark, else `http_charset`
/// (the `charset` of the HTTP `Content-Type`), else a `<meta charset>` or
/// `<meta http-equiv="Content-Type">` in the first 1024 bytes, else UTF-8
/// if the bytes are valid UTF-8, else windows-1252. Labels encoding_rs does
/// not know are ignored; decoding is lossy.
pub fn decode_html(bytes: &[u8], http_charset: Option<&str>) -> (String, &'static str) {
    use encoding_rs::Encoding;
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(bytes.get(bom..).unwrap_or_default());
        return (text.into_owned(), enc.name());
    }
    let label = |l: &str| {
        Encoding::for_label(l.trim().as_bytes())
            .filter(|e| *e != encoding_rs::REPLACEMENT)
            // A page cannot really be UTF-16 without a BOM here.
            .map(|e| e.output_encoding())
    };
    let chosen = http_charset
        .and_then(label)
        .or_else(|| meta_charset(bytes).and_then(|l| label(&l)))
        .or_else(|| {
            std::str::from_utf8(bytes)
                .is_ok()
                .then_some(encoding_rs::UTF_8)
        })
        .unwrap_or(encoding_rs::WINDOWS_1252);
    let (text, _) = chosen.decode_without_bom_handling(bytes);
    (text.into_owned(), chosen.name())
}

/// The charset a `<meta>` in the first 1024 bytes declares.
fn meta_charset(bytes: &[u8]) -> Option<String> {
    let head = bytes.get(..bytes.len().min(1024)).unwrap_or_default();
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(i) = find(&lower, from, b"<meta") {
        let end = find(&lower, i, b">").unwrap_or(lower.len());
        let tag = lower.get(i..end).unwrap_or_default();
        if let Some(c) = find(tag, 0, b"charset=") {
            let rest = tag.get(c + 8..).unwrap_or_default();
            let value: Vec<u8> = rest
                .iter()
                .copied()
                .skip_while(|b| *b == b'"' || *b == b'\'' || *b == b' ')
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'))
                .collect();
            if !value.is_empty() {
                return String::from_utf8(value).ok();
            }
        }
        from = end;
    }
    None
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Reads the article of a page: decodes `bytes` ([`decode_html`]), extracts
/// the article ([`readability::extract`]), and sanitizes and converts it like
/// feed content. `url` (the page's final URL) makes links absolute.
///
/// # Errors
///
/// [`ExtractError`]: a page over the limits, no article content, or a panic
/// inside the extraction library (caught).
pub fn read_article(
    bytes: &[u8],
    http_charset: Option<&str>,
    url: Option<&str>,
) -> Result<Article, ExtractError> {
    let (html, encoding) = decode_html(bytes, http_charset);
    let url = url.filter(|u| ::url::Url::parse(u).is_ok());
    let found = readability::extract(&html, url)?;
    Ok(article_of(found, url, encoding))
}

/// Turns what Readability found into an [`Article`]: the feed sanitizer
/// and text conversion, the date parsed with the feed date parser.
fn article_of(found: Extracted, url: Option<&str>, encoding: &'static str) -> Article {
    let base = url.and_then(|u| ::url::Url::parse(u).ok());
    let mut text = html_to_text(&found.content_html);
    // The feed's bounds apply: HTML that could cost the sanitizer more than
    // linear time is kept as plain text.
    let html = match sanitize_bounded(
        &found.content_html,
        base.as_ref(),
        &mut HtmlBudget::default(),
    ) {
        Ok(h) => h,
        Err(_) => text_to_html(&text),
    };
    crate::normalizer::limits::truncate_at_char(
        &mut text,
        crate::normalizer::limits::MAX_TEXT_BYTES,
    );
    let published = found
        .published
        .as_deref()
        .and_then(crate::normalizer::dates::parse_date);
    Article {
        title: found.title,
        byline: found.byline,
        published,
        published_raw: found.published,
        word_count: readability::count_words(&text),
        html,
        text,
        looks_like_article: found.is_article,
        encoding,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_comes_from_bom_header_meta_then_content() {
        assert_eq!(decode_html(b"\xEF\xBB\xBFcaf\xC3\xA9", None).0, "café");
        assert_eq!(decode_html(b"caf\xE9", Some("iso-8859-1")).0, "café");
        let meta = b"<html><head><meta charset=\"windows-1251\"></head>\xE4\xE0";
        assert_eq!(decode_html(meta, None).1, "windows-1251");
        let equiv = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">";
        assert_eq!(decode_html(equiv, None).1, "Shift_JIS");
        assert_eq!(decode_html("café".as_bytes(), None).1, "UTF-8");
        assert_eq!(decode_html(b"caf\xE9", None).1, "windows-1252");
        // An unknown label is ignored.
        assert_eq!(decode_html(b"abc", Some("x-nonsense")).1, "UTF-8");
    }

    #[test]
    fn an_article_comes_out_sanitized_as_text_lines() {
        let para = "<p>The council voted on Tuesday to close the old bridge for repairs, \
                    the mayor said, after engineers found cracks in two of its piers.</p>";
        let page = format!(
            "<html><head><title>Bridge closed - Daily</title>\
             <meta property=\"article:published_time\" content=\"2026-01-06T09:51:00Z\"></head>\
             <body><nav><a href=\"/\">Home</a></nav><article><h1>Bridge closed</h1>{}\
             <script>alert(1)</script><p onclick=\"x()\">Last line.</p></article></body></html>",
            para.repeat(6)
        );
        let a =
            read_article(page.as_bytes(), None, Some("https://example.com/a")).expect("an article");
        assert!(a.looks_like_article);
        assert!(a.word_count > 80, "{}", a.word_count);
        assert!(!a.html.contains("script") && !a.html.contains("onclick"));
        assert!(a.text.lines().count() >= 6, "{}", a.text);
        assert!(!a.text.contains("Home"));
        assert_eq!(
            a.published.map(crate::model::format_time).as_deref(),
            Some("2026-01-06T09:51:00Z")
        );
    }
}
