//! HTML sanitizing and HTML-to-text conversion for entry content.
//!
//! Part of the normalizer stage (feed bytes -> normalized entries) of the
//! pipeline fetcher -> normalizer -> near-duplicate detector -> store.
//! Entry bodies arrive as HTML of unknown quality: [`sanitize_html`] makes
//! them safe to show, [`html_to_text`] gives the plain text the
//! near-duplicate detector compares, and [`looks_like_html`] /
//! [`text_to_html`] handle fields that may hold either.
//!
//! html5ever (behind ammonia) takes quadratic time or memory on some HTML
//! (deep nesting, many open formatting elements, long texts with many `&`),
//! so the normalizer sanitizes through [`sanitize_bounded`]: a linear scan
//! ([`html_shape`]) estimates what html5ever would do, and HTML over the
//! limits of [`super::limits`] is kept as plain text instead.
//!
//! Everything here is pure and never panics; everything but
//! [`sanitize_html`] runs in linear time: the input comes from servers we
//! do not control.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::OnceLock;

use ammonia::{Builder, UrlRelative, UrlRelativeEvaluate};

use super::limits::{
    DOCUMENT_HTML_COST_NS, HTML_ESCAPE_BYTES_PER_NS, HTML_NS_PER_BYTE, HTML_NS_PER_FORMATTING,
    HTML_NS_PER_OPEN_ELEMENT, HTML_NS_PER_TAG, MAX_HTML_BYTES, MAX_HTML_COST_NS, MAX_HTML_DEPTH,
    MAX_HTML_FORMATTING,
};

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
/// `form`, `noscript`, form controls (`input`, `button`, `select`,
/// `option`, `optgroup`, `textarea`, `keygen`, `datalist`, `output`,
/// `label`, `command`) and `dialog`: a feed entry has no use for them, and
/// they can steal focus, submit or pose as the reader's own UI. Their text
/// is kept.
const EXTRA_ELEMENTS: &[&str] = &[
    "address",
    "audio",
    "big",
    "canvas",
    "caption",
    "center",
    "col",
    "colgroup",
    "datagrid",
    "details",
    "dir",
    "event-source",
    "fieldset",
    "figcaption",
    "figure",
    "font",
    "footer",
    "header",
    "legend",
    "m",
    "menu",
    "meter",
    "multicol",
    "nav",
    "nextid",
    "progress",
    "section",
    "sound",
    "source",
    "spacer",
    "strike",
    "tbody",
    "td",
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
/// `usemap`, `icon`, `vrml`), without `rel`, which ammonia sets on links
/// itself, without
/// those of form controls and forms (`name`, `form`, `for`, `value` of
/// inputs aside, `checked`, `disabled`, `method`, `enctype`, `accept`...),
/// and without those that take focus or make content interactive
/// (`autofocus`, `accesskey`, `tabindex`, `contenteditable`, `draggable`,
/// `datafld`...). `id` is kept with the prefix `feedfold-` (ammonia's
/// `id_prefix`), so that it cannot clobber the page's own ids; `target`
/// only as `_blank` on links ([`filter_attribute`]); `style` is filtered
/// by [`filter_style`].
const EXTRA_ATTRIBUTES: &[&str] = &[
    "abbr",
    "align",
    "alt",
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
    "char",
    "charoff",
    "charset",
    "choff",
    "class",
    "clear",
    "color",
    "cols",
    "colspan",
    "compact",
    "controls",
    "coords",
    "datetime",
    "default",
    "delay",
    "dir",
    "end",
    "face",
    "frame",
    "galleryimg",
    "gutter",
    "headers",
    "height",
    "hidden",
    "high",
    "hreflang",
    "hspace",
    "id",
    "ismap",
    "label",
    "lang",
    "leftspacing",
    "loop",
    "loopcount",
    "loopend",
    "loopstart",
    "low",
    "max",
    "media",
    "min",
    "nohref",
    "noshade",
    "nowrap",
    "open",
    "optimum",
    "point-size",
    "preload",
    "rev",
    "rightspacing",
    "rows",
    "rowspan",
    "rules",
    "scope",
    "shape",
    "size",
    "span",
    "start",
    "style",
    "summary",
    "suppress",
    "title",
    "toppadding",
    "type",
    "valign",
    "value",
    "variable",
    "volume",
    "vspace",
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

/// Properties that size or space boxes and text: kept only with small
/// values ([`size_value_is_small`]), so that an entry cannot cover or
/// push away the page around it.
const CSS_SIZING: &[&str] = &[
    "width",
    "height",
    "line-height",
    "letter-spacing",
    "text-indent",
    "font-size",
    "font",
    "margin",
    "padding",
    "border",
];

/// Whether every length in a CSS value is small: at most 100px (75pt,
/// 6.25em...), a percentage at most 100%, a number without unit at most 3
/// (a line height), none negative; keywords and other words (font names,
/// colours, `auto`, `solid`) pass. `width:10000px`, `margin:-50px` and
/// `font-size:40em` do not.
pub fn size_value_is_small(value: &str) -> bool {
    // Function arguments (`rgb(0, 128, 0)`) are not sizes.
    let mut depth = 0usize;
    let outside: String = value
        .chars()
        .map(|c| match c {
            '(' => {
                depth += 1;
                ' '
            }
            ')' => {
                depth = depth.saturating_sub(1);
                ' '
            }
            _ if depth > 0 => ' ',
            c => c,
        })
        .collect();
    outside
        .split(|c: char| c.is_whitespace() || c == ',' || c == '/')
        .filter(|w| !w.is_empty())
        .all(|word| {
            let w = word.to_ascii_lowercase();
            let w = w.strip_prefix('+').unwrap_or(&w);
            let numeric_start = w.starts_with(|c: char| c.is_ascii_digit() || c == '.');
            if w.starts_with('-') {
                return false;
            }
            if !numeric_start {
                return true;
            }
            let num_len = w
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(w.len());
            let Ok(n) = w[..num_len].parse::<f64>() else {
                return false;
            };
            // The most of each unit that is 100px or less.
            let max = match &w[num_len..] {
                "" => 3.0,
                "px" => 100.0,
                "pt" => 75.0,
                "pc" => 6.25,
                "em" | "rem" => 6.25,
                "ex" | "ch" => 12.5,
                "in" => 1.04,
                "cm" => 2.65,
                "mm" => 26.5,
                "%" => 100.0,
                _ => return false,
            };
            n <= max
        })
}

/// Keeps the safe declarations of a `style` attribute, as
/// `property: value;` joined by spaces; `None` when none is left. Sizing
/// properties (`CSS_SIZING`, with their `-top`... variants) keep only
/// small values ([`size_value_is_small`]).
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
        let sizing = CSS_SIZING.contains(&prop.as_str()) || CSS_SIZING.contains(&base);
        if ok && (!sizing || size_value_is_small(value)) {
            kept.push(format!("{prop}: {value};"));
        }
    }
    (!kept.is_empty()).then(|| kept.join(" "))
}

/// The prefix ammonia puts on every kept `id` (its `id_prefix`).
pub const ID_PREFIX: &str = "feedfold-";

/// Rewrites the kept attributes: `style` through [`filter_style`];
/// `target` (kept on links only) only as `_blank`, which ammonia's
/// `rel="noopener noreferrer"` makes safe.
fn filter_attribute<'v>(element: &str, attr: &str, value: &'v str) -> Option<Cow<'v, str>> {
    match attr {
        "style" => filter_style(value).map(Cow::Owned),
        "target" => (element == "a" && value.trim().eq_ignore_ascii_case("_blank"))
            .then_some(Cow::Borrowed("_blank")),
        _ => Some(Cow::Borrowed(value)),
    }
}

fn sanitizer() -> &'static Builder<'static> {
    static BUILDER: OnceLock<Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut builder = Builder::default();
        builder
            .link_rel(Some("noopener noreferrer"))
            .id_prefix(Some(ID_PREFIX))
            .url_relative(UrlRelative::Custom(Box::new(ThreadBase)))
            .add_tags(EXTRA_ELEMENTS)
            .add_generic_attributes(EXTRA_ATTRIBUTES)
            .add_tag_attributes("a", &["target"])
            .attribute_filter(filter_attribute);
        builder
    })
}

/// Sanitizes untrusted HTML for display.
///
/// Uses ammonia's safe defaults, widened to the harmless elements and
/// attributes feedparser keeps (`EXTRA_ELEMENTS`, `EXTRA_ATTRIBUTES`), less
/// forms, form controls, `dialog` and the attributes that take focus or
/// make content interactive: `<script>` and `<style>` are removed with
/// their content, as are `on*` event handlers and URLs with schemes such as
/// `javascript:`, `data:` or `vbscript:`; `style` attributes keep only safe
/// declarations, sizes only small ([`filter_style`]); `id`s get the prefix
/// [`ID_PREFIX`]; `target` stays only as `_blank` on links. Relative
/// URLs are resolved against `base` when given (like ammonia's
/// `UrlRelative::RewriteWithBase`) and kept as they are otherwise. Links
/// get `rel="noopener noreferrer"`. The ammonia builder is built once and
/// shared.
pub fn sanitize_html(html: &str, base: Option<&::url::Url>) -> String {
    let _guard = BaseGuard::set(base);
    sanitizer().clean(html).to_string()
}

/// Why [`sanitize_bounded`] kept an entry's HTML as plain text instead of
/// sanitizing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsanitized {
    /// Longer than [`MAX_HTML_BYTES`].
    TooLarge,
    /// Elements left open deeper than [`MAX_HTML_DEPTH`].
    TooDeep,
    /// More than [`MAX_HTML_FORMATTING`] formatting elements left open.
    TooMuchFormatting,
    /// An estimated cost ([`Shape::cost_ns`]) over [`MAX_HTML_COST_NS`].
    TooCostly,
    /// The document's budget ([`HtmlBudget`]) is spent.
    DocumentBudget,
    /// The sanitized HTML is longer than [`MAX_HTML_BYTES`].
    OutputTooLarge,
}

impl std::fmt::Display for Unsanitized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsanitized::TooLarge => write!(f, "its HTML is over {MAX_HTML_BYTES} bytes"),
            Unsanitized::TooDeep => {
                write!(f, "its HTML leaves over {MAX_HTML_DEPTH} elements open")
            }
            Unsanitized::TooMuchFormatting => write!(
                f,
                "its HTML leaves over {MAX_HTML_FORMATTING} formatting elements open"
            ),
            Unsanitized::TooCostly => write!(
                f,
                "sanitizing its HTML would take over {} ms (estimated)",
                MAX_HTML_COST_NS / 1_000_000
            ),
            Unsanitized::DocumentBudget => write!(
                f,
                "the document's {} ms for sanitizing HTML are spent",
                DOCUMENT_HTML_COST_NS / 1_000_000
            ),
            Unsanitized::OutputTooLarge => {
                write!(f, "its sanitized HTML is over {MAX_HTML_BYTES} bytes")
            }
        }
    }
}

/// What is left of one document's time for sanitizing HTML
/// ([`DOCUMENT_HTML_COST_NS`], as estimated by [`Shape::cost_ns`]); one
/// per document, passed to every [`sanitize_bounded`] call for it.
#[derive(Debug, Clone)]
pub struct HtmlBudget {
    cost_ns: u64,
}

impl Default for HtmlBudget {
    fn default() -> Self {
        HtmlBudget {
            cost_ns: DOCUMENT_HTML_COST_NS,
        }
    }
}

/// Sanitizes HTML like [`sanitize_html`], unless it could cost html5ever
/// more than linear time or memory, or more time than the document has
/// left: HTML over [`MAX_HTML_BYTES`], or whose [`html_shape`] is over
/// [`MAX_HTML_DEPTH`] or [`MAX_HTML_FORMATTING`], or whose estimated cost
/// ([`Shape::cost_ns`]) is over [`MAX_HTML_COST_NS`] or what is left of
/// the document's `budget`, is not sanitized and the reason is returned;
/// the caller keeps the plain text ([`html_to_text`], which is linear)
/// instead. Sanitized HTML over [`MAX_HTML_BYTES`] is refused too. What a
/// sanitized piece costs is taken from `budget`.
pub fn sanitize_bounded(
    html: &str,
    base: Option<&::url::Url>,
    budget: &mut HtmlBudget,
) -> Result<String, Unsanitized> {
    if html.len() > MAX_HTML_BYTES {
        return Err(Unsanitized::TooLarge);
    }
    // Its bytes alone would cost more than is left: no need to scan it.
    if (html.len() as u64).saturating_mul(HTML_NS_PER_BYTE) > budget.cost_ns {
        return Err(Unsanitized::DocumentBudget);
    }
    let shape = html_shape(html);
    if shape.max_depth > MAX_HTML_DEPTH {
        return Err(Unsanitized::TooDeep);
    }
    if shape.max_formatting > MAX_HTML_FORMATTING {
        return Err(Unsanitized::TooMuchFormatting);
    }
    let cost = shape.cost_ns(html.len());
    if cost > MAX_HTML_COST_NS {
        return Err(Unsanitized::TooCostly);
    }
    if cost > budget.cost_ns {
        return Err(Unsanitized::DocumentBudget);
    }
    budget.cost_ns -= cost;
    let clean = sanitize_html(html, base);
    if clean.len() > MAX_HTML_BYTES {
        return Err(Unsanitized::OutputTooLarge);
    }
    Ok(clean)
}

/// What [`html_shape`] found in a piece of HTML: the figures that bound
/// what html5ever does with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// Tags, end tags, comments, doctypes and processing instructions.
    pub tags: usize,
    /// The most elements left open at once (the scan stops at
    /// [`MAX_HTML_DEPTH`] + 1).
    pub max_depth: usize,
    /// The most formatting elements (`a`, `b`, `font`...) left open at once.
    pub max_formatting: usize,
    /// The sum over all tags of how many elements are open at the tag: how
    /// much of its stack html5ever may scan.
    pub depth_work: u64,
    /// The sum over all tags of how many formatting elements are open at
    /// the tag: how many html5ever may re-create.
    pub formatting_work: u64,
    /// `&` and U+0080..U+00BF characters (the bytes html5ever's serializer
    /// stops at to escape).
    pub escapes: usize,
}

impl Shape {
    /// An upper bound of html5ever's serializer work on this HTML of `len`
    /// bytes, in bytes scanned: each character it escapes may cost a scan
    /// to the end.
    pub fn escape_work(&self, len: usize) -> u64 {
        (self.escapes as u64).saturating_mul(len as u64)
    }

    /// The estimated time to sanitize this HTML of `len` bytes, in
    /// nanoseconds, from the `HTML_NS_*` figures of [`super::limits`]
    /// (measured in a release build on the 2-core build machine).
    pub fn cost_ns(&self, len: usize) -> u64 {
        (self.tags as u64)
            .saturating_mul(HTML_NS_PER_TAG)
            .saturating_add((len as u64).saturating_mul(HTML_NS_PER_BYTE))
            .saturating_add(self.depth_work.saturating_mul(HTML_NS_PER_OPEN_ELEMENT))
            .saturating_add(self.formatting_work.saturating_mul(HTML_NS_PER_FORMATTING))
            .saturating_add(self.escape_work(len) / HTML_ESCAPE_BYTES_PER_NS)
    }
}

/// Elements without content (HTML's void elements and the obsolete ones
/// parsed as such): never left open.
const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
    "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
];

/// HTML's formatting elements (kept in html5ever's list of active
/// formatting elements and re-created in new blocks).
const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];

/// Elements whose end tag may be left out: an end tag of an element
/// further out closes them (html5ever's "implied end tags").
const IMPLIED_END: &[&str] = &[
    "p", "li", "dt", "dd", "option", "optgroup", "rb", "rp", "rt", "rtc",
];

/// Table parts an end tag of an enclosing table part closes.
const TABLE_PARTS: &[&str] = &[
    "td", "th", "tr", "tbody", "thead", "tfoot", "caption", "colgroup",
];

/// Start tags that close an open `p` (when it is the innermost element).
const CLOSES_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dd",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "li",
    "listing",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "search",
    "section",
    "summary",
    "table",
    "ul",
];

/// Start tags that end SVG or MathML content (html5ever pops the foreign
/// elements and reads them as HTML); `font` only with `color`, `face` or
/// `size`.
const BREAKOUT: &[&str] = &[
    "b",
    "big",
    "blockquote",
    "body",
    "br",
    "center",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "i",
    "img",
    "li",
    "listing",
    "menu",
    "meta",
    "nobr",
    "ol",
    "p",
    "pre",
    "ruby",
    "s",
    "small",
    "span",
    "strong",
    "strike",
    "sub",
    "sup",
    "table",
    "tt",
    "u",
    "ul",
    "var",
];

/// Elements whose content html5ever reads as text up to their end tag
/// (RAWTEXT and RCDATA), outside SVG, MathML and `select`.
const RAW: &[&str] = &[
    "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title",
];

fn is_in(name: &str, set: &[&str]) -> bool {
    set.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// What [`html_shape`] needs to know about an element name, as bits: one
/// per list above, and one per element it treats specially.
mod kind {
    pub const VOID: u32 = 1;
    pub const FORMATTING: u32 = 1 << 1;
    pub const IMPLIED_END: u32 = 1 << 2;
    pub const TABLE_PART: u32 = 1 << 3;
    pub const CLOSES_P: u32 = 1 << 4;
    pub const BREAKOUT: u32 = 1 << 5;
    pub const RAW: u32 = 1 << 6;
    pub const P: u32 = 1 << 7;
    pub const LI: u32 = 1 << 8;
    pub const DT_DD: u32 = 1 << 9;
    pub const OPTION: u32 = 1 << 10;
    pub const OPTGROUP: u32 = 1 << 11;
    pub const TD_TH: u32 = 1 << 12;
    pub const TR: u32 = 1 << 13;
    pub const HEADING: u32 = 1 << 14;
    pub const A: u32 = 1 << 15;
    pub const NOBR: u32 = 1 << 16;
    pub const SELECT: u32 = 1 << 17;
    pub const SVG: u32 = 1 << 18;
    pub const MATH: u32 = 1 << 19;
    pub const SCRIPT: u32 = 1 << 20;
    pub const PLAINTEXT: u32 = 1 << 21;
    pub const TEXTAREA: u32 = 1 << 22;
    pub const FONT: u32 = 1 << 23;
    pub const TABLE: u32 = 1 << 24;
    pub const BR: u32 = 1 << 25;
}

/// The [`kind`] bits of an element name (ASCII case-insensitive).
fn kind_of(name: &str) -> u32 {
    static KINDS: OnceLock<std::collections::HashMap<&'static str, u32>> = OnceLock::new();
    let kinds = KINDS.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        for (set, bit) in [
            (VOID, kind::VOID),
            (FORMATTING, kind::FORMATTING),
            (IMPLIED_END, kind::IMPLIED_END),
            (TABLE_PARTS, kind::TABLE_PART),
            (CLOSES_P, kind::CLOSES_P),
            (BREAKOUT, kind::BREAKOUT),
            (RAW, kind::RAW),
        ] {
            for name in set {
                *m.entry(*name).or_insert(0) |= bit;
            }
        }
        for (name, bit) in [
            ("p", kind::P),
            ("li", kind::LI),
            ("dt", kind::DT_DD),
            ("dd", kind::DT_DD),
            ("option", kind::OPTION),
            ("optgroup", kind::OPTGROUP),
            ("td", kind::TD_TH),
            ("th", kind::TD_TH),
            ("tr", kind::TR),
            ("h1", kind::HEADING),
            ("h2", kind::HEADING),
            ("h3", kind::HEADING),
            ("h4", kind::HEADING),
            ("h5", kind::HEADING),
            ("h6", kind::HEADING),
            ("a", kind::A),
            ("nobr", kind::NOBR),
            ("select", kind::SELECT),
            ("svg", kind::SVG),
            ("math", kind::MATH),
            ("script", kind::SCRIPT),
            ("plaintext", kind::PLAINTEXT),
            ("textarea", kind::TEXTAREA),
            ("font", kind::FONT),
            ("table", kind::TABLE),
            ("br", kind::BR),
        ] {
            *m.entry(name).or_insert(0) |= bit;
        }
        m
    });
    let b = name.as_bytes();
    let mut lower = [0u8; 16];
    let Some(buf) = lower.get_mut(..b.len()) else {
        return 0;
    };
    for (l, c) in buf.iter_mut().zip(b) {
        *l = c.to_ascii_lowercase();
    }
    std::str::from_utf8(buf)
        .ok()
        .and_then(|n| kinds.get(n))
        .copied()
        .unwrap_or(0)
}

/// Namespaces of the elements [`html_shape`] keeps open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Html,
    Svg,
    MathMl,
}

/// An element [`html_shape`] keeps open.
#[derive(Debug, Clone, Copy)]
struct Open<'a> {
    name: &'a str,
    /// Its [`kind`] bits.
    kind: u32,
    ns: Ns,
    /// An SVG or MathML element whose content is read as HTML
    /// (`foreignObject`, `desc`, `title`; `mi`, `mo`, `mn`, `ms`,
    /// `mtext`, `annotation-xml` with an HTML encoding).
    integration: bool,
}

impl Open<'_> {
    fn formatting(&self) -> bool {
        self.ns == Ns::Html && self.kind & kind::FORMATTING != 0
    }
}

/// A tag as [`scan_tag`] read it.
struct Tag {
    /// The index after its `>`.
    end: usize,
    /// It ends with `/>`.
    self_closing: bool,
    /// It has a `color`, `face` or `size` attribute (a `font` that ends
    /// SVG or MathML content).
    font_breakout: bool,
    /// It has `encoding="text/html"` or `"application/xhtml+xml"`.
    html_encoding: bool,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0C')
}

/// Reads the attributes of a tag whose name ends at `i`, as html5ever's
/// tokenizer does (quoted values may hold `>`; `/>` after an unquoted
/// value is part of it); `None` when the document ends inside the tag
/// (html5ever drops such a tag).
fn scan_tag(b: &[u8], mut i: usize) -> Option<Tag> {
    let mut tag = Tag {
        end: 0,
        self_closing: false,
        font_breakout: false,
        html_encoding: false,
    };
    loop {
        while b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        match *b.get(i)? {
            b'>' => {
                tag.end = i + 1;
                return Some(tag);
            }
            b'/' => {
                if b.get(i + 1) == Some(&b'>') {
                    tag.self_closing = true;
                    tag.end = i + 2;
                    return Some(tag);
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        // An attribute name: its first character may be `=`.
        let name_start = i;
        i += 1;
        while b
            .get(i)
            .is_some_and(|&c| !is_space(c) && !matches!(c, b'/' | b'>' | b'='))
        {
            i += 1;
        }
        let name = b.get(name_start..i).unwrap_or_default();
        while b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            if ["color", "face", "size"]
                .iter()
                .any(|a| name.eq_ignore_ascii_case(a.as_bytes()))
            {
                tag.font_breakout = true;
            }
            continue;
        }
        i += 1;
        while b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        let (value_start, value_end) = match *b.get(i)? {
            q @ (b'"' | b'\'') => {
                let close = i + 1 + b.get(i + 1..)?.iter().position(|&c| c == q)?;
                let v = (i + 1, close);
                i = close + 1;
                v
            }
            b'>' => continue,
            _ => {
                let start = i;
                while b.get(i).is_some_and(|&c| !is_space(c) && c != b'>') {
                    i += 1;
                }
                (start, i)
            }
        };
        if ["color", "face", "size"]
            .iter()
            .any(|a| name.eq_ignore_ascii_case(a.as_bytes()))
        {
            tag.font_breakout = true;
        }
        if name.eq_ignore_ascii_case(b"encoding") {
            let v = b.get(value_start..value_end).unwrap_or_default();
            tag.html_encoding = v.eq_ignore_ascii_case(b"text/html")
                || v.eq_ignore_ascii_case(b"application/xhtml+xml");
        }
    }
}

/// The end of the tag name starting at `i` (html5ever: up to a space, `/`
/// or `>`).
fn scan_name(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i)
        .is_some_and(|&c| !is_space(c) && !matches!(c, b'/' | b'>'))
    {
        i += 1;
    }
    i
}

/// The start of the first `</name` at or after `from` that html5ever
/// takes for the end of a RAWTEXT, RCDATA or script element named `name`
/// (followed by a space, `/` or `>`).
fn raw_end(b: &[u8], from: usize, name: &str) -> Option<usize> {
    let mut i = from;
    loop {
        let at = find_from(b, i, b"</")?;
        let name_end = at + 2 + name.len();
        if b.get(at + 2..name_end)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && b.get(name_end)
                .is_some_and(|&c| is_space(c) || matches!(c, b'/' | b'>'))
        {
            return Some(at);
        }
        i = at + 2;
    }
}

/// The stack of elements [`html_shape`] keeps open, and the index below
/// which it no longer closes any ([`OpenStack::freeze`]).
struct OpenStack<'a> {
    open: Vec<Open<'a>>,
    frozen: usize,
    formatting: usize,
}

impl<'a> OpenStack<'a> {
    fn top(&self) -> Option<&Open<'a>> {
        self.open.last().filter(|_| self.open.len() > self.frozen)
    }

    /// Whether the innermost element is an HTML element of one of the
    /// [`kind`]s in `bits`.
    fn top_is(&self, bits: u32) -> bool {
        self.top()
            .is_some_and(|t| t.ns == Ns::Html && t.kind & bits != 0)
    }

    fn pop(&mut self) {
        if self.open.len() > self.frozen {
            if let Some(o) = self.open.pop() {
                if o.formatting() {
                    self.formatting -= 1;
                }
            }
        }
    }

    fn truncate(&mut self, len: usize) {
        while self.open.len() > len.max(self.frozen) {
            self.pop();
        }
    }

    fn push(&mut self, o: Open<'a>) {
        if o.formatting() {
            self.formatting += 1;
        }
        self.open.push(o);
    }

    /// Keeps every element open now open for good: after markup whose
    /// effect on html5ever's stack is not certain, an end tag must not
    /// count as closing one of them.
    fn freeze(&mut self) {
        self.frozen = self.open.len();
    }

    /// Whether start tags are read as SVG or MathML (the innermost element
    /// is foreign and not an integration point).
    fn foreign(&self) -> bool {
        self.open
            .last()
            .is_some_and(|t| t.ns != Ns::Html && !t.integration)
    }

    fn namespace(&self) -> Ns {
        self.open.last().map_or(Ns::Html, |t| t.ns)
    }

    /// A start tag that ends foreign content: html5ever pops the foreign
    /// elements; they stay here (frozen) but count as HTML from now on.
    fn break_out(&mut self) {
        self.freeze();
        for o in self.open.iter_mut().rev() {
            if o.ns == Ns::Html || o.integration {
                break;
            }
            o.ns = Ns::Html;
            o.name = "";
            o.kind = 0;
        }
    }

    /// An end tag: closes the element it names if that is the innermost
    /// one, or if only elements it certainly closes too (implied end tags;
    /// table parts inside a table part) are inside it. Anything else leaves
    /// the stack as it is: more elements open than html5ever keeps, never
    /// fewer.
    fn end(&mut self, name: &str) {
        let k = kind_of(name);
        let formatting = k & kind::FORMATTING != 0;
        let table = k & (kind::TABLE_PART | kind::TABLE) != 0;
        let mut i = self.open.len();
        while i > self.frozen {
            i -= 1;
            let o = self.open[i];
            if o.name.eq_ignore_ascii_case(name) && !o.name.is_empty() {
                self.truncate(i);
                return;
            }
            let passable = o.ns == Ns::Html
                && !formatting
                && (o.kind & kind::IMPLIED_END != 0 || (table && o.kind & kind::TABLE_PART != 0));
            if !passable {
                return;
            }
        }
    }
}

/// Scans HTML for the figures that bound html5ever's work on it
/// ([`Shape`]), in linear time, reading tags, comments and raw text the way
/// html5ever's tokenizer does. The elements left open are counted
/// conservatively: an end tag closes an element only when html5ever
/// certainly closes it too, so deep or misnested markup counts at least
/// as deep as html5ever builds it (up to the few elements it adds itself,
/// such as `tbody`). The scan stops once [`MAX_HTML_DEPTH`] is exceeded.
pub fn html_shape(html: &str) -> Shape {
    let b = html.as_bytes();
    let mut shape = Shape {
        escapes: b.iter().filter(|&&c| c == b'&' || c == 0xC2).count(),
        ..Shape::default()
    };
    let mut stack = OpenStack {
        open: Vec::new(),
        frozen: 0,
        formatting: 0,
    };
    let mut i = 0;
    while let Some(p) = b.get(i..).and_then(|r| r.iter().position(|&c| c == b'<')) {
        let lt = i + p;
        i = lt + 1;
        let is_tag = match b.get(lt + 1) {
            Some(b'!') => {
                i = if b.get(lt..).is_some_and(|r| r.starts_with(b"<!--")) {
                    comment_end(b, lt + 4)
                } else if stack.foreign()
                    && b.get(lt..).is_some_and(|r| r.starts_with(b"<![CDATA["))
                {
                    find_from(b, lt + 9, b"]]>").map_or(b.len(), |e| e + 3)
                } else {
                    find_from(b, lt + 2, b">").map_or(b.len(), |e| e + 1)
                };
                true
            }
            Some(b'?') => {
                i = find_from(b, lt + 2, b">").map_or(b.len(), |e| e + 1);
                true
            }
            Some(b'/') => match b.get(lt + 2) {
                Some(c) if c.is_ascii_alphabetic() => {
                    let name_end = scan_name(b, lt + 2);
                    let Some(tag) = scan_tag(b, name_end) else {
                        break;
                    };
                    i = tag.end;
                    let name = html.get(lt + 2..name_end).unwrap_or_default();
                    if kind_of(name) & kind::BR == 0 {
                        stack.end(name);
                    }
                    true
                }
                Some(b'>') => {
                    i = lt + 3;
                    true
                }
                Some(_) => {
                    i = find_from(b, lt + 2, b">").map_or(b.len(), |e| e + 1);
                    true
                }
                None => break,
            },
            Some(c) if c.is_ascii_alphabetic() => {
                let name_end = scan_name(b, lt + 1);
                let Some(tag) = scan_tag(b, name_end) else {
                    break;
                };
                let name = html.get(lt + 1..name_end).unwrap_or_default();
                match start_tag(b, &mut stack, name, &tag) {
                    Some(next) => i = next,
                    None => {
                        // `<plaintext>`: the rest is text.
                        shape.tags += 1;
                        break;
                    }
                }
                true
            }
            _ => false,
        };
        if is_tag {
            shape.tags += 1;
            shape.depth_work += stack.open.len() as u64;
            shape.formatting_work += stack.formatting as u64;
            shape.max_depth = shape.max_depth.max(stack.open.len());
            shape.max_formatting = shape.max_formatting.max(stack.formatting);
            if shape.max_depth > MAX_HTML_DEPTH {
                break;
            }
        }
    }
    shape.max_depth = shape.max_depth.max(stack.open.len());
    shape
}

/// Where the comment whose text starts at `i` (after `<!--`) ends, as
/// html5ever reads it: `<!-->` and `<!--->` are empty comments, otherwise
/// the comment ends at `-->` or `--!>`, or at the end.
fn comment_end(b: &[u8], i: usize) -> usize {
    match b.get(i..) {
        Some(r) if r.starts_with(b">") => return i + 1,
        Some(r) if r.starts_with(b"->") => return i + 2,
        _ => {}
    }
    let mut j = i;
    while let Some(d) = find_from(b, j, b"--") {
        match b.get(d + 2) {
            Some(b'>') => return d + 3,
            Some(b'!') if b.get(d + 3) == Some(&b'>') => return d + 4,
            _ => j = d + 1,
        }
    }
    b.len()
}

/// Applies a start tag to the stack; returns where scanning continues
/// (after the content of a raw text element), `None` for `<plaintext>`.
fn start_tag<'a>(b: &[u8], stack: &mut OpenStack<'a>, name: &'a str, tag: &Tag) -> Option<usize> {
    let k = kind_of(name);
    if stack.foreign() {
        let breakout = k & kind::BREAKOUT != 0 || (k & kind::FONT != 0 && tag.font_breakout);
        if !breakout {
            if !tag.self_closing {
                let ns = if k & kind::SVG != 0 {
                    Ns::Svg
                } else if k & kind::MATH != 0 {
                    Ns::MathMl
                } else {
                    stack.namespace()
                };
                let integration = match ns {
                    Ns::Svg => is_in(name, &["foreignobject", "desc", "title"]),
                    Ns::MathMl => {
                        is_in(name, &["mi", "mo", "mn", "ms", "mtext"])
                            || (name.eq_ignore_ascii_case("annotation-xml") && tag.html_encoding)
                    }
                    Ns::Html => false,
                };
                stack.push(Open {
                    name,
                    kind: 0,
                    ns,
                    integration,
                });
            }
            return Some(tag.end);
        }
        stack.break_out();
    }
    if k & (kind::SVG | kind::MATH) != 0 {
        if !tag.self_closing {
            let ns = if k & kind::SVG != 0 {
                Ns::Svg
            } else {
                Ns::MathMl
            };
            stack.push(Open {
                name,
                kind: 0,
                ns,
                integration: false,
            });
        }
        return Some(tag.end);
    }
    if k & kind::VOID != 0 {
        return Some(tag.end);
    }
    if k & kind::PLAINTEXT != 0 {
        return None;
    }
    // The end of a raw text element's content, and the index after its end
    // tag (or the end of the HTML).
    let after_raw = |name: &str| match raw_end(b, tag.end, name) {
        Some(e) => (
            e,
            scan_tag(b, scan_name(b, e + 2)).map_or(b.len(), |t| t.end),
        ),
        None => (b.len(), b.len()),
    };
    if k & kind::SCRIPT != 0 {
        let (end, next) = after_raw("script");
        let content = b.get(tag.end..end).unwrap_or_default();
        // `<!--` in a script may make html5ever read past the first
        // `</script>` (its escaped states): what follows is not certain.
        if find_from(content, 0, b"<!--").is_some() {
            stack.freeze();
        }
        return Some(next);
    }
    if k & kind::RAW != 0 {
        // In a `select`, html5ever ignores these start tags (but for
        // `textarea`) and reads what follows as markup.
        let in_select = stack
            .open
            .iter()
            .any(|o| o.ns == Ns::Html && o.kind & kind::SELECT != 0);
        if !in_select || k & kind::TEXTAREA != 0 {
            return Some(after_raw(name).1);
        }
    }
    // The end tags html5ever implies before this start tag.
    if k & kind::CLOSES_P != 0 && stack.top_is(kind::P) {
        stack.pop();
    }
    let closes: &[u32] = if k & kind::LI != 0 {
        &[kind::LI]
    } else if k & kind::DT_DD != 0 {
        &[kind::DT_DD]
    } else if k & kind::OPTION != 0 {
        &[kind::OPTION]
    } else if k & kind::OPTGROUP != 0 {
        &[kind::OPTION, kind::OPTGROUP]
    } else if k & kind::TR != 0 {
        &[kind::TD_TH, kind::TR]
    } else if k & kind::TD_TH != 0 {
        &[kind::TD_TH]
    } else if k & kind::HEADING != 0 {
        &[kind::HEADING]
    } else if k & kind::A != 0 {
        &[kind::A]
    } else if k & kind::NOBR != 0 {
        &[kind::NOBR]
    } else {
        &[]
    };
    for &bits in closes {
        if stack.top_is(bits) {
            stack.pop();
        }
    }
    stack.push(Open {
        name,
        kind: k,
        ns: Ns::Html,
        integration: false,
    });
    Some(tag.end)
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

/// Elements whose start tag alone makes a short field
/// ([`looks_like_markup`]) HTML: they never stand for prose (scripts,
/// embedded content, line breaks, form controls, document elements, the
/// obsolete ones browsers still act on). A start tag of another element
/// alone does not: `USAIR <U> SEEKS ORDER AGAINST TWA <TWA>` names stock
/// tickers.
const NEVER_PROSE: &[&str] = &[
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
            "n"
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
    fn sanitize_removes_controls_focus_and_layout_payloads() {
        let payloads = [
            "<img name=getElementById src=x>",
            "<input type=password name=p>",
            "<button type=submit>Buy</button>",
            "<select><option>a</option></select>",
            "<textarea>t</textarea>",
            "<keygen name=k>",
            "<dialog open>d</dialog>",
            "<div contenteditable>c</div>",
            "<p autofocus>a</p>",
            "<a href=\"https://x.org/\" accesskey=s>k</a>",
            "<span tabindex=1>t</span>",
            "<a href=\"https://x.org/\" target=_top>t</a>",
            "<div style=\"width:10000px\">w</div>",
            "<p id=x>i</p>",
            "<span form=f>f</span>",
            "<label for=i>l</label>",
            "<form id=f><p>in a form</p></form>",
            "<fieldset disabled name=n>f</fieldset>",
            "<div style=\"margin-top:-200px; font-size: 40em; height: 100vh\">m</div>",
        ];
        let forbidden = [
            "name=",
            "<input",
            "<button",
            "<select",
            "<option",
            "<textarea",
            "<keygen",
            "<dialog",
            "contenteditable",
            "autofocus",
            "accesskey",
            "tabindex",
            "_top",
            "10000px",
            "id=\"x\"",
            "form=",
            "<form",
            "<label",
            "for=",
            "disabled",
            "-200px",
            "40em",
            "100vh",
        ];
        for payload in payloads {
            let clean = sanitize_html(payload, None);
            for bad in forbidden {
                assert!(!clean.contains(bad), "{payload} -> {clean}");
            }
        }
        assert_eq!(
            sanitize_html("<textarea>kept text</textarea>", None),
            "kept text"
        );
        assert_eq!(
            sanitize_html("<p id=x>i</p>", None),
            "<p id=\"feedfold-x\">i</p>"
        );
        assert_eq!(
            sanitize_html("<a href=\"https://x.org/\" target=_blank>b</a><a href=\"https://x.org/\" target=_top>t</a>", None),
            "<a href=\"https://x.org/\" target=\"_blank\" rel=\"noopener noreferrer\">b</a>\
             <a href=\"https://x.org/\" rel=\"noopener noreferrer\">t</a>"
        );
        assert_eq!(
            sanitize_html("<span target=_blank>s</span>", None),
            "<span>s</span>"
        );
    }

    #[test]
    fn sizes_are_kept_only_small() {
        for (style, kept) in [
            ("width: 100%", Some("width: 100%;")),
            ("width: 300px", None),
            ("width:10000px", None),
            ("height: 100px", Some("height: 100px;")),
            ("font-size: 10pt", Some("font-size: 10pt;")),
            ("font-size: 40em", None),
            ("line-height: 1.4", Some("line-height: 1.4;")),
            ("line-height: 40", None),
            ("margin: 0 15px 0 0", Some("margin: 0 15px 0 0;")),
            ("margin-top: -50px", None),
            ("padding: 99em", None),
            ("height: 100vh", None),
            ("text-indent: 0.5in", Some("text-indent: 0.5in;")),
            (
                "border: 1px solid rgb(0, 128, 0)",
                Some("border: 1px solid rgb(0, 128, 0);"),
            ),
            ("border: 90pt solid", None),
            (
                "font: bold 12px/1.5 Arial, sans-serif",
                Some("font: bold 12px/1.5 Arial, sans-serif;"),
            ),
            ("color: red; width: 5000px", Some("color: red;")),
        ] {
            assert_eq!(filter_style(style).as_deref(), kept, "{style}");
        }
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

    #[test]
    fn shape_of_ordinary_html_is_shallow() {
        let article = "<h2>T</h2><p>One <a href=\"x\">link</a> and <b>bold</b>.<p>Two<br>lines\
                       <ul><li>a<li>b</ul><table><tr><td>1<td>2<tr><td>3</table>\
                       <div><p>unclosed p in a div</div><img src=x><!-- <div><div> -->\
                       <script>if (a<b) document.write('</div>')</script><style>p{}</style>\
                       <svg><path d=\"M0\"/><g><circle/></g></svg><p>end";
        let shape = html_shape(article);
        assert!(shape.max_depth <= 4, "{shape:?}");
        assert!(shape.max_formatting <= 1, "{shape:?}");
        assert_eq!(shape.escapes, 0);
        assert!(sanitize_bounded(article, None, &mut HtmlBudget::default()).is_ok());
    }

    #[test]
    fn shape_counts_what_html5ever_keeps_open() {
        let depth = |h: &str| html_shape(h).max_depth;
        assert!(depth(&"<div>".repeat(300)) > MAX_HTML_DEPTH);
        assert!(depth(&"<ul>".repeat(300)) > MAX_HTML_DEPTH);
        assert!(depth(&"<table>".repeat(300)) > MAX_HTML_DEPTH);
        assert!(depth(&"<span>".repeat(300)) > MAX_HTML_DEPTH);
        // Self-closing syntax does not close an HTML element...
        assert!(depth(&"<div/>".repeat(300)) > MAX_HTML_DEPTH);
        // ...but does close SVG ones, until an HTML tag breaks out.
        assert_eq!(depth(&format!("<svg>{}</svg>", "<path/>".repeat(300))), 1);
        assert!(depth(&format!("<svg><p>{}", "<x/>".repeat(300))) > MAX_HTML_DEPTH);
        assert!(depth(&format!("<svg><desc>{}", "<x/>".repeat(300))) > MAX_HTML_DEPTH);
        assert_eq!(depth(&format!("<svg>{}", "<font/>".repeat(300))), 1);
        assert!(depth(&format!("<svg>{}", "<font color=red/>".repeat(300))) > MAX_HTML_DEPTH);
        // End tags html5ever does not see, or ignores, close nothing.
        for hidden in [
            "<div><!--</div>-->",
            "<div><!-- a -- </div> --!>",
            "<div><textarea></div></textarea>",
            "<div><title></div></title>",
            "<div><style></div></style>",
            "<div><p title='</div>'>",
            "<div><td></div>",
            "<div><b></div>",
            "<div><script><!--<script></script></div></script>",
        ] {
            assert!(depth(&hidden.repeat(200)) > MAX_HTML_DEPTH, "{hidden}");
        }
        // Comments that end early, and implied end tags, close as html5ever does.
        assert!(depth(&"<div><!--></div>".repeat(200)) <= 2);
        assert!(depth(&"<div><p></div x='>'>".repeat(200)) <= 2);
        assert!(depth(&"<div><p>x<li>y</div>".repeat(200)) <= 3);
        assert!(depth(&"<tr><td>x</tr>".repeat(200)) <= 2);
        assert!(depth(&"<p>x<p>y".repeat(200)) <= 1);
        // A comment that never ends hides the rest; so does <plaintext>.
        assert_eq!(depth(&format!("<!--{}", "<div>".repeat(300))), 0);
        assert_eq!(depth(&format!("<plaintext>{}", "<div>".repeat(300))), 0);
        // Formatting elements left open.
        let many: String = (0..100).map(|i| format!("<p><b id={i}>x</p>")).collect();
        assert!(html_shape(&many).max_formatting > MAX_HTML_FORMATTING);
        let closed: String = (0..100)
            .map(|i| format!("<p><b id={i}>x</b></p>"))
            .collect();
        assert_eq!(html_shape(&closed).max_formatting, 1);
    }

    #[test]
    fn costly_html_is_not_sanitized() {
        let mut budget = HtmlBudget::default();
        let check = |h: &str, budget: &mut HtmlBudget| sanitize_bounded(h, None, budget);
        assert_eq!(
            check(&"<div>".repeat(250_000), &mut budget),
            Err(Unsanitized::TooLarge)
        );
        assert_eq!(
            check(&"<div>".repeat(1000), &mut budget),
            Err(Unsanitized::TooDeep)
        );
        assert_eq!(
            check(&"<b>a</b>".repeat(100_000), &mut budget),
            Err(Unsanitized::TooCostly)
        );
        let formatting: String = (0..40).map(|i| format!("<p><i id={i}>x</p>")).collect();
        assert_eq!(
            check(&formatting, &mut budget),
            Err(Unsanitized::TooMuchFormatting)
        );
        assert_eq!(
            check(&"&zz;".repeat(200_000), &mut budget),
            Err(Unsanitized::TooCostly)
        );
        assert_eq!(
            check("<p>fine &amp; well</p>", &mut budget).as_deref(),
            Ok("<p>fine &amp; well</p>")
        );
        // A document's budget runs out.
        let entry = "<p>x</p>".repeat(10_000);
        let mut budget = HtmlBudget::default();
        let sanitized = (0..200)
            .filter(|_| check(&entry, &mut budget).is_ok())
            .count();
        let cost = html_shape(&entry).cost_ns(entry.len());
        assert_eq!(sanitized as u64, DOCUMENT_HTML_COST_NS / cost);
        assert_eq!(check(&entry, &mut budget), Err(Unsanitized::DocumentBudget));
        assert_eq!(
            Unsanitized::TooDeep.to_string(),
            format!("its HTML leaves over {MAX_HTML_DEPTH} elements open")
        );
    }

    #[test]
    fn shape_never_panics() {
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
            "&",
            "é",
            "\u{A0}",
            "<p",
            "<svg",
            "<math",
            "<mi",
            "<desc",
            "<font color",
            "<script",
            "</script",
            "<style",
            "</style",
            "<textarea",
            "<select",
            "<plaintext",
            "<!--",
            "-->",
            "--!>",
            "<![CDATA[",
            "]]>",
            "<b",
            "</b",
            "<td",
            "<tr",
            "</table",
            "<li",
            "</div",
            "<div",
            "x",
        ];
        for doc in fuzz_inputs(&pieces, 3000) {
            let _ = html_shape(&doc);
            let _ = looks_like_markup(&doc);
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
