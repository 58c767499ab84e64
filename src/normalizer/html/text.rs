//! HTML to plain text, and plain text to HTML.
//!
//! Part of [`super`]: [`html_to_text`] gives the paragraphs the detector
//! compares (invisible elements dropped, entities decoded, blocks ending
//! paragraphs) in one linear pass; [`text_to_html`] is its inverse for plain
//! fields.

/// Elements whose whole content is dropped by [`html_to_text`].
pub(super) const SKIPPED: &[&str] = &[
    "script", "style", "head", "template", "noscript", "iframe", "svg",
];

/// Skipped elements whose content is raw text (no tags inside).
pub(super) const RAW_TEXT: &[&str] = &["script", "style", "noscript", "iframe"];

/// Elements that end a paragraph in [`html_to_text`].
pub(super) const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "td",
    "th",
    "table",
    "blockquote",
    "figure",
    "figcaption",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "aside",
    "hr",
    "dt",
    "dd",
];

/// Finds `needle` in `hay` at or after `from`.
pub(super) fn find_from(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let rest = hay.get(from..)?;
    let first = *needle.first()?;
    let mut i = 0;
    while i + needle.len() <= rest.len() {
        i += rest.get(i..)?.iter().position(|&c| c == first)?;
        if rest.get(i..i + needle.len()) == Some(needle) {
            return Some(from + i);
        }
        i += 1;
    }
    None
}

/// Finds the next `</name` (ASCII case-insensitive, followed by a
/// non-name character or the end) at or after `from`.
pub(super) fn find_end_tag(hay: &[u8], from: usize, name: &str) -> Option<usize> {
    let mut i = from;
    loop {
        let at = find_from(hay, i, b"</")?;
        let name_start = at + 2;
        let name_end = name_start + name.len();
        if hay
            .get(name_start..name_end)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && !hay.get(name_end).is_some_and(u8::is_ascii_alphanumeric)
        {
            return Some(at);
        }
        i = at + 2;
    }
}

/// Index after the `>` that ends the tag whose name ends at `i`; quoted
/// attribute values may contain `>`. `None` if the tag is unclosed.
pub(super) fn tag_end(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(&c) = b.get(i) {
        match c {
            b'>' => return Some(i + 1),
            b'=' => {
                i += 1;
                while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
                if let Some(&q) = b.get(i).filter(|&&q| q == b'"' || q == b'\'') {
                    i += b.get(i + 1..)?.iter().position(|&c| c == q)? + 2;
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Collects text into paragraphs for [`html_to_text`].
#[derive(Default)]
pub(super) struct Paragraphs {
    done: Vec<String>,
    current: String,
}

impl Paragraphs {
    /// Adds raw text whose entities are still encoded.
    fn push_encoded(&mut self, raw: &str) {
        self.current
            .push_str(&html_escape::decode_html_entities(raw));
    }

    /// Adds literal text.
    fn push_literal(&mut self, text: &str) {
        self.current.push_str(text);
    }

    /// Ends the current paragraph.
    fn flush(&mut self) {
        let mut para = String::with_capacity(self.current.len());
        for word in self
            .current
            .split(|c: char| c.is_whitespace() || c == '\u{A0}')
            .filter(|w| !w.is_empty())
        {
            if !para.is_empty() {
                para.push(' ');
            }
            para.push_str(word);
        }
        self.current.clear();
        if !para.is_empty() {
            self.done.push(para);
        }
    }

    fn finish(mut self) -> String {
        self.flush();
        self.done.join("\n")
    }
}

/// The element name of a tag whose name starts at `i`, lower-cased, and
/// the index after it.
pub(super) fn tag_name(b: &[u8], i: usize) -> (String, usize) {
    let len = b
        .get(i..)
        .unwrap_or_default()
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b':' | b'_'))
        .count();
    let name = b
        .get(i..i + len)
        .map(|n| String::from_utf8_lossy(n).to_ascii_lowercase())
        .unwrap_or_default();
    (name, i + len)
}

/// Whether the `<` at `i` starts markup (a tag, end tag, comment,
/// declaration or processing instruction) rather than text.
pub(super) fn starts_markup(b: &[u8], i: usize) -> bool {
    match b.get(i + 1) {
        Some(c) if c.is_ascii_alphabetic() || *c == b'!' || *c == b'?' => true,
        Some(b'/') => b.get(i + 2).is_some_and(u8::is_ascii_alphabetic),
        _ => false,
    }
}

/// Converts HTML to plain text, one paragraph per line.
///
/// Tags are dropped, and so is the whole content of `script`, `style`,
/// `head`, `template`, `noscript`, `iframe` and `svg` elements; comments
/// are dropped and `<![CDATA[x]]>` gives the text `x`. Block-level tags
/// (`p`, `div`, `br`, `li`, headings, table cells, ...) end a paragraph.
/// Entities are decoded (named and numeric), non-breaking spaces become
/// spaces, whitespace runs collapse to one space, paragraphs are trimmed,
/// empty ones dropped, and the rest joined with `\n`. A `<` that does not
/// start a tag is text; an unclosed tag or comment at the end is dropped.
/// Input without any markup keeps its line structure: each non-empty line
/// is a paragraph.
pub fn html_to_text(html: &str) -> String {
    let b = html.as_bytes();
    let plain = !b
        .iter()
        .enumerate()
        .any(|(i, &c)| c == b'<' && starts_markup(b, i));
    let mut out = Paragraphs::default();
    if plain {
        for line in html.lines() {
            out.push_encoded(line);
            out.flush();
        }
        return out.finish();
    }

    // Element whose content is being dropped, and its nesting depth.
    let mut skipping: Option<(String, usize)> = None;
    let mut text_start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' || !starts_markup(b, i) {
            i += 1;
            continue;
        }
        if skipping.is_none() {
            out.push_encoded(html.get(text_start..i).unwrap_or_default());
        }
        let rest = &b[i..];
        let next = if rest.starts_with(b"<!--") {
            find_from(b, i + 2, b"-->").map(|p| p + 3)
        } else if rest.starts_with(b"<![CDATA[") {
            let end = find_from(b, i + 9, b"]]>");
            if skipping.is_none() {
                out.push_literal(html.get(i + 9..end.unwrap_or(b.len())).unwrap_or_default());
            }
            Some(end.map_or(b.len(), |p| p + 3))
        } else if rest.starts_with(b"<!") || rest.starts_with(b"<?") {
            find_from(b, i + 2, b">").map(|p| p + 1)
        } else {
            let closing = rest.get(1) == Some(&b'/');
            let (name, name_end) = tag_name(b, if closing { i + 2 } else { i + 1 });
            match tag_end(b, name_end) {
                None => None,
                Some(end) => {
                    let self_closing = end >= 2 && b.get(end - 2) == Some(&b'/');
                    Some(handle_tag(
                        b,
                        &mut out,
                        &mut skipping,
                        &name,
                        closing,
                        self_closing,
                        end,
                    ))
                }
            }
        };
        match next {
            Some(n) => {
                i = n;
                text_start = n;
            }
            None => {
                // Unclosed markup: drop the rest.
                text_start = b.len();
                break;
            }
        }
    }
    if skipping.is_none() {
        out.push_encoded(html.get(text_start..).unwrap_or_default());
    }
    out.finish()
}

/// Applies a tag to the text state; returns where scanning continues.
pub(super) fn handle_tag(
    b: &[u8],
    out: &mut Paragraphs,
    skipping: &mut Option<(String, usize)>,
    name: &str,
    closing: bool,
    self_closing: bool,
    end: usize,
) -> usize {
    if !closing && !self_closing && RAW_TEXT.contains(&name) {
        // Raw text: nothing inside is markup; skip to its end tag.
        return match find_end_tag(b, end, name) {
            Some(close) => tag_end(b, close + 2 + name.len()).unwrap_or(b.len()),
            None => b.len(),
        };
    }
    if let Some((skipped, depth)) = skipping {
        if name == skipped.as_str() && !self_closing {
            if closing {
                *depth -= 1;
            } else {
                *depth += 1;
            }
        } else if skipped == "head" && name == "body" && !closing {
            // `<body>` ends a head that was never closed.
            *depth = 0;
        }
        if *depth == 0 {
            *skipping = None;
        }
        return end;
    }
    if closing || self_closing {
        if BLOCKS.contains(&name) {
            out.flush();
        }
        return end;
    }
    if SKIPPED.contains(&name) {
        *skipping = Some((name.to_string(), 1));
        return end;
    }
    if BLOCKS.contains(&name) {
        out.flush();
    }
    end
}

/// Turns plain text into HTML: `&`, `<`, `>` and `"` are escaped, and each
/// line that is not blank becomes a trimmed `<p>…</p>`; lines are joined
/// with `\n`.
pub fn text_to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("<p>");
        for c in line.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                c => out.push(c),
            }
        }
        out.push_str("</p>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_basic_paragraphs() {
        assert_eq!(
            html_to_text("<p>Hello,   <b>world</b>!</p><p>Second\n line</p>"),
            "Hello, world!\nSecond line"
        );
        assert_eq!(
            html_to_text("one<br>two<br/>three<BR />four"),
            "one\ntwo\nthree\nfour"
        );
        assert_eq!(
            html_to_text("<ul><li>a</li><li>b</li></ul>after"),
            "a\nb\nafter"
        );
        assert_eq!(
            html_to_text("<h2>T</h2><table><tr><td>1</td><td>2</td></tr></table>"),
            "T\n1\n2"
        );
        assert_eq!(html_to_text("in<span>line</span> text"), "inline text");
    }

    #[test]
    fn text_drops_invisible_elements() {
        assert_eq!(
            html_to_text(
                "<head><title>T</title></head><script>if (a<b) { x = '</p>'; }</script>\
                 <style>p{}</style>A<template><p>t</p></template>\
                 <noscript>n</noscript><iframe src=x>i</iframe><svg><svg><text>s</text></svg>z</svg>B"
            ),
            "AB"
        );
        assert_eq!(
            html_to_text("<html><head><title>T</title><body>Body"),
            "Body"
        );
        assert_eq!(html_to_text("x<svg/>y<script src=a />z"), "xyz");
        assert_eq!(html_to_text("a<SCRIPT>b</SCRIPT >c"), "ac");
        assert_eq!(html_to_text("a<script>never closed"), "a");
        assert_eq!(html_to_text("a<svg><p>never closed"), "a");
    }

    #[test]
    fn text_comments_and_cdata() {
        assert_eq!(
            html_to_text("a<!-- <p>hidden</p> -->b<![CDATA[ x &amp; <y> ]]>c"),
            "ab x &amp; <y> c"
        );
        assert_eq!(html_to_text("a<!-->b<!--->c"), "abc");
        assert_eq!(html_to_text("a<!DOCTYPE html>b<?php echo 1 ?>c"), "abc");
    }

    #[test]
    fn text_entities() {
        assert_eq!(
            html_to_text("<p>Tom &amp; Jerry&nbsp;&#160;&#x263A; &lt;b&gt; &quot;q&quot; &#39;s&#39; &bogus; &#0;</p>"),
            "Tom & Jerry ☺ <b> \"q\" 's' &bogus; &#0;"
        );
    }

    #[test]
    fn text_lone_lt_is_text() {
        assert_eq!(
            html_to_text("<p>a < b and 1<2, x <= y</p>"),
            "a < b and 1<2, x <= y"
        );
        assert_eq!(html_to_text("a < b\nc"), "a < b\nc");
        assert_eq!(html_to_text("<p>x</ 3>"), "x</ 3>");
    }

    #[test]
    fn text_quoted_gt_in_attribute() {
        assert_eq!(html_to_text("<a title=\"a>b\" href='c>d'>link</a>"), "link");
        assert_eq!(html_to_text("<p don't>x</p>"), "x");
    }

    #[test]
    fn text_plain_keeps_lines() {
        assert_eq!(
            html_to_text("line one\n\n  line   two  \r\nthree &amp; four"),
            "line one\nline two\nthree & four"
        );
        assert_eq!(html_to_text(""), "");
        assert_eq!(html_to_text("   \n \t "), "");
    }

    #[test]
    fn text_unclosed_markup_does_not_panic() {
        for html in [
            "<",
            "<p",
            "<p class=\"x",
            "a<!--",
            "a<![CDATA[b",
            "</",
            "</p",
            "<!",
            "<?",
            "<a href='>",
            "é<é>é",
        ] {
            let _ = html_to_text(html);
        }
        assert_eq!(html_to_text("text<p class=\"x"), "text");
        assert_eq!(html_to_text("a<!-- b"), "a");
        assert_eq!(html_to_text("a<![CDATA[b"), "ab");
        assert_eq!(html_to_text("é<é>é"), "é<é>é");
    }

    #[test]
    fn text_is_linear_on_pathological_input() {
        let many_lt = "<a".repeat(50_000);
        assert_eq!(html_to_text(&many_lt), "");
        let many_script = "<script>".repeat(20_000);
        assert_eq!(html_to_text(&many_script), "");
        let many_comments = "<!--".repeat(20_000);
        assert_eq!(html_to_text(&many_comments), "");
        let many_end = "</".repeat(50_000) + "1";
        assert!(html_to_text(&many_end) == many_end);
        let many_end = "</".repeat(50_000) + "x";
        assert!(html_to_text(&many_end) == "</".repeat(49_999));
    }

    #[test]
    fn text_to_html_cases() {
        assert_eq!(
            text_to_html("a & b < c > d \"e\"\n\n  second  \r\nthird"),
            "<p>a &amp; b &lt; c &gt; d &quot;e&quot;</p>\n<p>second</p>\n<p>third</p>"
        );
        assert_eq!(text_to_html(""), "");
        assert_eq!(text_to_html(" \n\t\n"), "");
    }
}
