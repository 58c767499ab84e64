//! HTML sanitizing and HTML-to-text conversion for entry content.
//!
//! Part of the normalizer stage (feed bytes -> normalized entries) of the
//! pipeline fetcher -> normalizer -> near-duplicate detector -> store.
//! Entry bodies arrive as HTML of unknown quality: [`sanitize_html`] makes
//! them safe to show, [`html_to_text`] gives the plain text the
//! near-duplicate detector compares, and [`looks_like_html`] /
//! [`text_to_html`] handle fields that may hold either.
//!
//! Everything here is pure, never panics and runs in linear time: the input
//! comes from servers we do not control.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::OnceLock;

use ammonia::{Builder, UrlRelative, UrlRelativeEvaluate};

thread_local! {
    /// The base URL of the [`sanitize_html`] call running on this thread.
    static SANITIZE_BASE: RefCell<Option<::url::Url>> = const { RefCell::new(None) };
}

/// Resolves relative URLs against [`SANITIZE_BASE`] exactly as ammonia's
/// `UrlRelative::RewriteWithBase` does, and passes them through when there
/// is no base. This lets one shared [`Builder`] serve every base URL.
struct ThreadBase;

impl<'a> UrlRelativeEvaluate<'a> for ThreadBase {
    fn evaluate<'url>(&self, url: &'url str) -> Option<Cow<'url, str>> {
        SANITIZE_BASE.with(|base| match base.try_borrow().ok()?.as_ref() {
            Some(base) => base.join(url).ok().map(|u| Cow::Owned(String::from(u))),
            None => Some(Cow::Borrowed(url)),
        })
    }
}

/// Puts the base in [`SANITIZE_BASE`] and takes it out again when dropped.
struct BaseGuard;

impl BaseGuard {
    fn set(base: Option<&::url::Url>) -> Self {
        SANITIZE_BASE.with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                *slot = base.cloned();
            }
        });
        BaseGuard
    }
}

impl Drop for BaseGuard {
    fn drop(&mut self) {
        SANITIZE_BASE.with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                *slot = None;
            }
        });
    }
}

/// Elements kept besides ammonia's defaults: the presentational and
/// harmless ones feedparser keeps (its `acceptable_elements`), without
/// `form` and `noscript`.
const EXTRA_ELEMENTS: &[&str] = &[
    "address",
    "audio",
    "big",
    "button",
    "canvas",
    "caption",
    "center",
    "col",
    "colgroup",
    "command",
    "datagrid",
    "datalist",
    "details",
    "dialog",
    "dir",
    "event-source",
    "fieldset",
    "figcaption",
    "figure",
    "font",
    "footer",
    "header",
    "input",
    "keygen",
    "label",
    "legend",
    "m",
    "menu",
    "meter",
    "multicol",
    "nav",
    "nextid",
    "optgroup",
    "option",
    "output",
    "progress",
    "section",
    "select",
    "sound",
    "source",
    "spacer",
    "strike",
    "tbody",
    "td",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "tr",
    "tt",
    "video",
    "article",
    "aside",
    "time",
];

/// Attributes allowed on every kept element besides ammonia's defaults:
/// feedparser's `acceptable_attributes` without those holding URLs that
/// ammonia does not check (`action`, `background`, `cite`, `data`,
/// `datasrc`, `dynsrc`, `longdesc`, `lowsrc`, `ping`, `poster`,
/// `usemap`) and without `rel`, which ammonia sets on links itself.
/// `style` is kept and filtered by [`filter_style`].
const EXTRA_ATTRIBUTES: &[&str] = &[
    "abbr",
    "accept",
    "accept-charset",
    "accesskey",
    "align",
    "alt",
    "autocomplete",
    "autofocus",
    "axis",
    "balance",
    "bgcolor",
    "bgproperties",
    "border",
    "bordercolor",
    "bordercolordark",
    "bordercolorlight",
    "bottompadding",
    "cellpadding",
    "cellspacing",
    "ch",
    "challenge",
    "char",
    "charoff",
    "charset",
    "checked",
    "choff",
    "class",
    "clear",
    "color",
    "cols",
    "colspan",
    "compact",
    "contenteditable",
    "controls",
    "coords",
    "datafld",
    "datapagesize",
    "datetime",
    "default",
    "delay",
    "dir",
    "disabled",
    "draggable",
    "enctype",
    "end",
    "face",
    "for",
    "form",
    "frame",
    "galleryimg",
    "gutter",
    "headers",
    "height",
    "hidefocus",
    "hidden",
    "high",
    "hreflang",
    "hspace",
    "icon",
    "id",
    "inputmode",
    "ismap",
    "keytype",
    "label",
    "lang",
    "leftspacing",
    "list",
    "loop",
    "loopcount",
    "loopend",
    "loopstart",
    "low",
    "max",
    "maxlength",
    "media",
    "method",
    "min",
    "multiple",
    "name",
    "nohref",
    "noshade",
    "nowrap",
    "open",
    "optimum",
    "pattern",
    "point-size",
    "pqg",
    "preload",
    "prompt",
    "radiogroup",
    "readonly",
    "repeat-max",
    "repeat-min",
    "replace",
    "required",
    "rev",
    "rightspacing",
    "rows",
    "rowspan",
    "rules",
    "scope",
    "selected",
    "shape",
    "size",
    "span",
    "start",
    "step",
    "style",
    "summary",
    "suppress",
    "tabindex",
    "target",
    "template",
    "title",
    "toppadding",
    "type",
    "unselectable",
    "valign",
    "value",
    "variable",
    "volume",
    "vspace",
    "vrml",
    "width",
    "wrap",
    "xml:lang",
];

/// CSS properties kept in `style` attributes (feedparser's
/// `acceptable_css_properties`, less those that take URLs).
const CSS_PROPERTIES: &[&str] = &[
    "azimuth",
    "background-color",
    "border-bottom-color",
    "border-collapse",
    "border-color",
    "border-left-color",
    "border-right-color",
    "border-top-color",
    "clear",
    "color",
    "cursor",
    "direction",
    "display",
    "elevation",
    "float",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-variant",
    "font-weight",
    "height",
    "letter-spacing",
    "line-height",
    "overflow",
    "pause",
    "pause-after",
    "pause-before",
    "pitch",
    "pitch-range",
    "richness",
    "speak",
    "speak-header",
    "speak-numeral",
    "speak-punctuation",
    "speech-rate",
    "stress",
    "text-align",
    "text-decoration",
    "text-indent",
    "unicode-bidi",
    "vertical-align",
    "voice-family",
    "volume",
    "white-space",
    "width",
];

/// Shorthand properties kept when their value is made only of keywords,
/// lengths and colours (feedparser's rule for them).
const CSS_SHORTHANDS: &[&str] = &["background", "border", "margin", "padding"];

/// Whether a CSS value is free of anything that can fetch or run code:
/// no `url(`, `expression`, `javascript`, `@import`, `behavior`,
/// `-moz-binding`, backslash escapes, comments or angle brackets.
fn css_value_is_safe(value: &str) -> bool {
    let v = value.to_ascii_lowercase();
    ![
        "url",
        "expression",
        "script",
        "@import",
        "behavior",
        "binding",
        "\\",
        "/*",
        "<",
        ">",
        "&",
        "image",
    ]
    .iter()
    .any(|bad| v.contains(bad))
}

/// The keywords a shorthand's value may use (feedparser's
/// `acceptable_css_keywords`).
const CSS_KEYWORDS: &[&str] = &[
    "aqua",
    "auto",
    "black",
    "block",
    "blue",
    "bold",
    "both",
    "bottom",
    "brown",
    "center",
    "collapse",
    "dashed",
    "dotted",
    "fuchsia",
    "gray",
    "green",
    "!important",
    "italic",
    "left",
    "lime",
    "maroon",
    "medium",
    "none",
    "navy",
    "normal",
    "nowrap",
    "olive",
    "pointer",
    "purple",
    "red",
    "right",
    "solid",
    "silver",
    "teal",
    "top",
    "transparent",
    "underline",
    "white",
    "yellow",
];

/// One word of a shorthand's value: a keyword, a `#hex` colour, the
/// pieces of `rgb(...)`, or a short length (`0`, `1.5em`, `50%`), as
/// feedparser accepts them.
fn css_word_is_plain(w: &str) -> bool {
    let w = w.to_ascii_lowercase();
    if CSS_KEYWORDS.contains(&w.as_str()) {
        return true;
    }
    if let Some(hex) = w.strip_prefix('#') {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    if let Some(rest) = w.strip_prefix("rgb(") {
        return rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '%' | ',' | ')'));
    }
    // \d{0,2}\.?\d{0,2}(unit)?
    let b = w.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && *i - start < 2 && b[*i].is_ascii_digit() {
            *i += 1;
        }
    };
    digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
    }
    digits(&mut i);
    matches!(
        w.get(i..),
        Some("" | "cm" | "em" | "ex" | "in" | "mm" | "pc" | "pt" | "px" | "%" | "," | ")")
    )
}

/// Whether a shorthand's value is made only of plain words
/// ([`css_word_is_plain`]).
fn shorthand_value_is_plain(value: &str) -> bool {
    value.split_whitespace().all(css_word_is_plain)
}

/// Keeps the safe declarations of a `style` attribute, as
/// `property: value;` joined by spaces; `None` when none is left.
pub fn filter_style(style: &str) -> Option<String> {
    let mut kept = Vec::new();
    for decl in style.split(';') {
        let Some((prop, value)) = decl.split_once(':') else {
            continue;
        };
        let prop = prop.trim().to_ascii_lowercase();
        let value = value.trim_start();
        if value.trim().is_empty() || !css_value_is_safe(value) {
            continue;
        }
        let base = prop.split('-').next().unwrap_or_default();
        let ok = CSS_PROPERTIES.contains(&prop.as_str())
            || (CSS_SHORTHANDS.contains(&base) && shorthand_value_is_plain(value));
        if ok {
            kept.push(format!("{prop}: {value};"));
        }
    }
    (!kept.is_empty()).then(|| kept.join(" "))
}

fn sanitizer() -> &'static Builder<'static> {
    static BUILDER: OnceLock<Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut builder = Builder::default();
        builder
            .link_rel(Some("noopener noreferrer"))
            .url_relative(UrlRelative::Custom(Box::new(ThreadBase)))
            .add_tags(EXTRA_ELEMENTS)
            .add_generic_attributes(EXTRA_ATTRIBUTES)
            .attribute_filter(|_, attr, value| {
                if attr == "style" {
                    filter_style(value).map(Cow::Owned)
                } else {
                    Some(Cow::Borrowed(value))
                }
            });
        builder
    })
}

/// Sanitizes untrusted HTML for display.
///
/// Uses ammonia's safe defaults, widened to the harmless elements and
/// attributes feedparser keeps (`EXTRA_ELEMENTS`, `EXTRA_ATTRIBUTES`):
/// `<script>` and `<style>` are removed with their content, as are `on*`
/// event handlers and URLs with schemes such as `javascript:`, `data:` or
/// `vbscript:`; `style` attributes keep only safe declarations
/// ([`filter_style`]). Relative
/// URLs are resolved against `base` when given (like ammonia's
/// `UrlRelative::RewriteWithBase`) and kept as they are otherwise. Links
/// get `rel="noopener noreferrer"`. The ammonia builder is built once and
/// shared.
pub fn sanitize_html(html: &str, base: Option<&::url::Url>) -> String {
    let _guard = BaseGuard::set(base);
    sanitizer().clean(html).to_string()
}

/// Elements whose whole content is dropped by [`html_to_text`].
const SKIPPED: &[&str] = &[
    "script", "style", "head", "template", "noscript", "iframe", "svg",
];

/// Skipped elements whose content is raw text (no tags inside).
const RAW_TEXT: &[&str] = &["script", "style", "noscript", "iframe"];

/// Elements that end a paragraph in [`html_to_text`].
const BLOCKS: &[&str] = &[
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

/// Known HTML elements for [`looks_like_html`].
const KNOWN_ELEMENTS: &[&str] = &[
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

/// Finds `needle` in `hay` at or after `from`.
fn find_from(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
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
fn find_end_tag(hay: &[u8], from: usize, name: &str) -> Option<usize> {
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
fn tag_end(b: &[u8], mut i: usize) -> Option<usize> {
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
struct Paragraphs {
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
fn tag_name(b: &[u8], i: usize) -> (String, usize) {
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
fn starts_markup(b: &[u8], i: usize) -> bool {
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
fn handle_tag(
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

    fn base() -> ::url::Url {
        match ::url::Url::parse("https://example.com/blog/post/") {
            Ok(u) => u,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn sanitize_removes_dangerous_content() {
        let html = "<p onclick=\"x()\" style=\"color:red\">Hi<script>alert(1)</script><style>p{}</style></p>\
                    <a href=\"javascript:alert(1)\">j</a><img src=\"data:image/png;base64,AAAA\">\
                    <a href=\"vbscript:x\">v</a>";
        assert_eq!(
            sanitize_html(html, None),
            "<p style=\"color: red;\">Hi</p><a rel=\"noopener noreferrer\">j</a><img><a rel=\"noopener noreferrer\">v</a>"
        );
    }

    #[test]
    fn sanitize_keeps_harmless_markup_and_safe_css_only() {
        assert_eq!(
            sanitize_html("<table><tr><td align=\"left\" colspan=\"2\">x</td></tr></table><font face=\"Arial\">f</font>", None),
            "<table><tbody><tr><td align=\"left\" colspan=\"2\">x</td></tr></tbody></table><font face=\"Arial\">f</font>"
        );
        assert_eq!(
            sanitize_html("<form action=\"javascript:x\"><input formaction=\"javascript:y\"></form><noscript>n</noscript>", None),
            "<input>n"
        );
        assert_eq!(
            sanitize_html("<span background=\"javascript:x\" cite=\"javascript:y\" style=\"color: red; background: url(javascript:z); width: expression(alert(1)); margin: 0 auto; -moz-binding: url(x); border: 1px solid rgb(0, 0, 0)\">s</span>", None),
            "<span style=\"color: red; margin: 0 auto; border: 1px solid rgb(0, 0, 0);\">s</span>"
        );
        assert_eq!(filter_style("behavior: url(a.htc)"), None);
        assert_eq!(filter_style("color: \\72 ed"), None);
        assert_eq!(
            filter_style("background: yellow"),
            Some("background: yellow;".into())
        );
        assert_eq!(filter_style("background: yellow url(x)"), None);
        assert_eq!(filter_style(""), None);
    }

    #[test]
    fn sanitize_resolves_relative_urls_with_base() {
        let html = "<a href=\"../other\">o</a><img src=\"/i.png\"><a href=\"https://x.org/\">x</a><a href=\"//cdn.org/a\">c</a>";
        assert_eq!(
            sanitize_html(html, Some(&base())),
            "<a href=\"https://example.com/blog/other\" rel=\"noopener noreferrer\">o</a>\
             <img src=\"https://example.com/i.png\">\
             <a href=\"https://x.org/\" rel=\"noopener noreferrer\">x</a>\
             <a href=\"https://cdn.org/a\" rel=\"noopener noreferrer\">c</a>"
        );
    }

    #[test]
    fn sanitize_passes_relative_urls_without_base() {
        let html = "<a href=\"../other\">o</a><img src=\"/i.png\">";
        assert_eq!(
            sanitize_html(html, None),
            "<a href=\"../other\" rel=\"noopener noreferrer\">o</a><img src=\"/i.png\">"
        );
        // The base of an earlier call does not leak into a later one.
        let _ = sanitize_html("<a href=\"x\">x</a>", Some(&base()));
        assert_eq!(
            sanitize_html("<a href=\"x\">x</a>", None),
            "<a href=\"x\" rel=\"noopener noreferrer\">x</a>"
        );
    }

    #[test]
    fn sanitize_hostile_markup() {
        assert_eq!(
            sanitize_html("<div><b>unclosed", None),
            "<div><b>unclosed</b></div>"
        );
        assert_eq!(sanitize_html("", None), "");
        assert_eq!(sanitize_html("<<script>script>x", None), "&lt;");
        assert_eq!(sanitize_html("<img src=x onerror=alert(1)//", None), "");
    }

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
    fn text_to_html_cases() {
        assert_eq!(
            text_to_html("a & b < c > d \"e\"\n\n  second  \r\nthird"),
            "<p>a &amp; b &lt; c &gt; d &quot;e&quot;</p>\n<p>second</p>\n<p>third</p>"
        );
        assert_eq!(text_to_html(""), "");
        assert_eq!(text_to_html(" \n\t\n"), "");
    }

    /// Deterministic pseudo-random documents built from tricky fragments.
    fn fuzz_inputs(pieces: &[&str], count: usize) -> Vec<String> {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let len = (next() % 24) as usize;
                (0..len)
                    .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn fuzz_never_panics() {
        let pieces = [
            "<",
            ">",
            "/",
            "!",
            "?",
            "-",
            "\"",
            "'",
            "=",
            " ",
            "\n",
            "&",
            ";",
            "#",
            "é",
            "\u{A0}",
            "<p",
            "<br",
            "<script",
            "</script",
            "<svg",
            "</svg",
            "<head",
            "<body",
            "<!--",
            "-->",
            "<![CDATA[",
            "]]>",
            "&amp;",
            "&#x",
            "href=",
            "javascript:",
            "//",
            "<a ",
            "</",
            "x",
        ];
        let base = ::url::Url::parse("https://example.com/a/").ok();
        for doc in fuzz_inputs(&pieces, 3000) {
            let _ = html_to_text(&doc);
            let _ = looks_like_html(&doc);
            let _ = text_to_html(&doc);
        }
        for doc in fuzz_inputs(&pieces, 200) {
            let _ = sanitize_html(&doc, base.as_ref());
        }
    }
}
