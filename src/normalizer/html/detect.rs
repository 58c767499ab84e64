//! Deciding whether a field holds HTML or plain text.
//!
//! Part of [`super`]: [`looks_like_html`] for bodies (a known element or an
//! entity HTML knows) and [`looks_like_markup`] for short fields such as
//! titles, where `<U>` in a wire headline is a ticker, not markup.

use super::elements::is_in;
use super::tags::is_space;
use super::text::tag_name;

/// Known HTML elements for [`looks_like_html`].
pub(super) const KNOWN_ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "article",
    "aside",
    "audio",
    "b",
    "big",
    "blockquote",
    "body",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "figcaption",
    "figure",
    "font",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "i",
    "iframe",
    "img",
    "ins",
    "kbd",
    "li",
    "main",
    "mark",
    "nav",
    "noscript",
    "object",
    "ol",
    "p",
    "picture",
    "pre",
    "q",
    "s",
    "script",
    "section",
    "small",
    "source",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "template",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "tt",
    "u",
    "ul",
    "video",
];

/// Whether a string looks like HTML rather than plain text.
///
/// True if it contains a start or end tag of a known HTML element (`<p>`,
/// `</div>`, `<br/>`, `<a href=...>`, `<img ...>`, `<em>`, `<h1>` ...,
/// ASCII case-insensitive) or an entity reference that HTML knows (`&amp;`,
/// `&#39;`, `&quot;` ...).
pub fn looks_like_html(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' => {
                let name_start = if b.get(i + 1) == Some(&b'/') {
                    i + 2
                } else {
                    i + 1
                };
                let (name, name_end) = tag_name(b, name_start);
                let delimited = matches!(b.get(name_end), Some(c) if c.is_ascii_whitespace() || matches!(c, b'>' | b'/'));
                if delimited && KNOWN_ELEMENTS.contains(&name.as_str()) {
                    return true;
                }
                i = name_end.max(i + 1);
            }
            b'&' => {
                let len = b
                    .get(i + 1..)
                    .unwrap_or_default()
                    .iter()
                    .take(32)
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'#')
                    .count();
                if b.get(i + 1 + len) == Some(&b';') {
                    let reference = s.get(i..i + len + 2).unwrap_or_default();
                    if html_escape::decode_html_entities(reference) != reference {
                        return true;
                    }
                }
                i += len + 1;
            }
            _ => i += 1,
        }
    }
    false
}

/// Elements whose start tag alone makes a short field
/// ([`looks_like_markup`]) HTML: they never stand for prose (scripts,
/// embedded content, line breaks, form controls, document elements, the
/// obsolete ones browsers still act on). A start tag of another element
/// alone does not: `USAIR <U> SEEKS ORDER AGAINST TWA <TWA>` names stock
/// tickers.
pub(super) const NEVER_PROSE: &[&str] = &[
    "applet",
    "audio",
    "base",
    "basefont",
    "bgsound",
    "body",
    "br",
    "button",
    "canvas",
    "datalist",
    "dialog",
    "embed",
    "fieldset",
    "form",
    "frame",
    "frameset",
    "head",
    "hr",
    "html",
    "iframe",
    "image",
    "img",
    "input",
    "isindex",
    "keygen",
    "label",
    "legend",
    "link",
    "listing",
    "marquee",
    "math",
    "meta",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "optgroup",
    "option",
    "output",
    "param",
    "picture",
    "plaintext",
    "script",
    "select",
    "source",
    "style",
    "svg",
    "template",
    "textarea",
    "title",
    "video",
    "wbr",
    "xmp",
];

/// Whether a short field (a title, a name, a category) of a format that
/// does not declare its text types holds markup: an end tag of a known
/// element (`</b>`), a start tag of one that never stands for prose
/// (`NEVER_PROSE`: `<script>`, `<img`, `<br>`, `<keygen`...), any start
/// tag with an attribute value (`<x onfocus=...>`), or an entity reference
/// HTML knows (`&amp;`, left from escaping twice). Prose with `<` (`a < b`,
/// `1<2`, `Vec<T>`, `x <= y`, tickers such as `<U>`) does not.
pub fn looks_like_markup(s: &str) -> bool {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(at) = b
        .get(from..)
        .and_then(|r| r.iter().position(|&c| c == b'<' || c == b'&'))
        .map(|p| from + p)
    {
        from = at + 1;
        if b[at] == b'&' {
            let len = b
                .get(at + 1..)
                .unwrap_or_default()
                .iter()
                .take(32)
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'#')
                .count();
            if b.get(at + 1 + len) == Some(&b';') {
                let reference = s.get(at..at + len + 2).unwrap_or_default();
                if html_escape::decode_html_entities(reference) != reference {
                    return true;
                }
            }
            continue;
        }
        let closing = b.get(at + 1) == Some(&b'/');
        let name_start = if closing { at + 2 } else { at + 1 };
        if !b.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        let (name, name_end) = tag_name(b, name_start);
        let delimited = b
            .get(name_end)
            .is_some_and(|&c| is_space(c) || c == b'>' || c == b'/');
        if !delimited {
            continue;
        }
        if closing {
            if b.get(name_end) == Some(&b'>')
                && (KNOWN_ELEMENTS.contains(&name.as_str()) || is_in(&name, NEVER_PROSE))
            {
                return true;
            }
            continue;
        }
        if is_in(&name, NEVER_PROSE) {
            return true;
        }
        // An attribute with a value before the tag's end.
        let rest = b.get(name_end..).unwrap_or_default();
        if let Some(end) = rest.iter().position(|&c| c == b'>' || c == b'<') {
            if rest.get(end) == Some(&b'>') && rest.get(..end).is_some_and(|t| t.contains(&b'=')) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_like_html_cases() {
        for s in [
            "<p>x",
            "a</P>",
            "line<br/>",
            "<br>",
            "<div class=a>",
            "<a href=x>",
            "<img src=x>",
            "<b>x</b>",
            "<EM>x",
            "<h3>t",
            "<table>",
            "<blockquote>",
            "Tom &amp; Jerry",
            "it&#39;s",
            "&quot;q&quot;",
            "&#x27;",
        ] {
            assert!(looks_like_html(s), "{s}");
        }
        for s in [
            "",
            "plain text",
            "a < b",
            "1<2",
            "<pizza>",
            "<p",
            "Tom & Jerry",
            "&bogus;",
            "<ab>",
            "x&#;",
            "<html",
        ] {
            assert!(!looks_like_html(s), "{s}");
        }
    }

    #[test]
    fn markup_in_short_fields_is_found() {
        for s in [
            "<keygen autofocus onfocus=alert(1)>",
            "><img src=x onerror=alert(1)>",
            "<script>alert(\"feed\")</script>",
            "<x onmouseover=\"y\">hi",
            "<input>",
            "<svg/onload=alert(1)>",
            "Tom <b>and</b> Jerry",
            "one<br>two",
            "Tom &amp; Jerry",
        ] {
            assert!(looks_like_markup(s), "{s}");
        }
        for s in [
            "a < b",
            "1<2",
            "Vec<T> in Rust",
            "x <= y && y > z",
            "List<Foo bar>",
            "<3 you",
            "",
            "USAIR <U> SEEKS ORDER AGAINST TWA <TWA>",
            "Twa <twa> in Court Settlement With Usair <u>",
            "AT&T & co",
        ] {
            assert!(!looks_like_markup(s), "{s}");
        }
    }
}
