//! Readability: finds the article in a web page (Mozilla's algorithm,
//! through the [`dom_smoothie`] port on html5ever and [`dom_query`]).
//!
//! Given the HTML of a fetched article page, [`extract`] returns its title,
//! byline, publication time, article HTML, plain text and word count, plus a
//! verdict on whether the page looks like an article at all
//! ([`Extracted::is_article`]). By default it also drops the link lists
//! ("related stories") that Readability leaves inside the article
//! ([`Options::drop_link_lists`]), so that other stories' titles do not leak
//! into the text used for grouping.
//!
//! # Robustness
//!
//! The extractor is synchronous and CPU-bound: call it from
//! `tokio::task::spawn_blocking`, never on an async worker. It cannot be
//! interrupted, so its running time is bounded by capping its input instead
//! (see [`Limits`]):
//!
//! 1. input longer than [`Limits::max_input_bytes`] is cut at a character
//!    boundary before parsing (recorded as [`Cap::InputTruncated`]);
//! 2. a linear lexical pre-scan ([`prescan`]) refuses pages with too deep an
//!    estimated nesting, too many start tags or too many `&` before
//!    html5ever parses them;
//! 3. the page is parsed once; one iterative walk ([`tree_shape`]) measures
//!    element count, nesting depth and text "escape work", and a page over
//!    the limits is refused with [`ExtractError::OverLimit`] before any
//!    Readability pass runs;
//! 4. a panic inside the library is caught and returned as
//!    [`ExtractError::Panicked`].
//!
//! With the default limits no input found takes more than ~0.5 s on one
//! core or ~120 MB of memory.
//!
//! The caller decodes bytes to `&str` (see [`super::decode_html`]). Binary
//! data or a wrong charset decoded lossily is still handled: it is refused
//! by a limit, yields [`ExtractError::NoContent`], or is reported with
//! `is_article == false` ([`looks_garbled`]).
//!
//! # Output safety
//!
//! [`Extracted::content_html`] is *not* sanitized: it can contain any
//! attribute or URL of the source page. [`super::read_article`] passes it
//! through the feed sanitizer before anything stores or shows it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use dom_query::{Document, NodeRef};
use dom_smoothie::{Config, Readability, ReadabilityError, TextMode};

/// Upper bounds applied to untrusted input before the Readability passes run.
///
/// Each bound closes one super-linear path found in the libraries: html5ever's tree builder is quadratic in nesting depth, html5ever 0.40's
/// serializer is quadratic in the number of `&`/U+0080..U+00BF characters of one text
/// node, and the Readability passes slow down with element count and depth. The
/// defaults leave at least 10x headroom over the largest of Mozilla's 130 Readability
/// test pages (2.5x for `max_input_bytes`: the largest page is 1.6 MB) and keep every
/// input tried under ~0.5 s on one core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of HTML kept; longer input is cut (at a UTF-8 character boundary) before
    /// parsing and [`Cap::InputTruncated`] is reported.
    pub max_input_bytes: usize,
    /// Most start tags (`<` followed by a letter, counted lexically before parsing).
    pub max_start_tags: usize,
    /// Most `&` characters (entity or character references, counted lexically before
    /// parsing; entity decoding is html5ever's slowest path, ~6 MB/s).
    pub max_ampersands: usize,
    /// Deepest element nesting, checked twice: estimated lexically before parsing
    /// (html5ever's tree builder is quadratic in depth) and measured exactly after it.
    pub max_depth: usize,
    /// Most elements in the parsed page.
    pub max_elements: usize,
    /// Most "escape work" in the parsed page, [`TreeShape::merged_escape_work`]: (number
    /// of `&` and U+0080..U+00BF characters in its text) x (bytes of text). This bounds
    /// the time html5ever 0.40's serializer can spend on the article HTML, here and in a
    /// sanitizer that parses it again, even when text nodes get merged.
    pub max_escape_work: u64,
}

/// Default for [`Limits::max_input_bytes`]: 4 MiB.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 4 * 1024 * 1024;
/// Default for [`Limits::max_start_tags`].
pub const DEFAULT_MAX_START_TAGS: usize = 100_000;
/// Default for [`Limits::max_ampersands`].
pub const DEFAULT_MAX_AMPERSANDS: usize = 200_000;
/// Default for [`Limits::max_depth`].
pub const DEFAULT_MAX_DEPTH: usize = 512;
/// Default for [`Limits::max_elements`].
pub const DEFAULT_MAX_ELEMENTS: usize = 100_000;
/// Default for [`Limits::max_escape_work`].
pub const DEFAULT_MAX_ESCAPE_WORK: u64 = 5_000_000_000;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_start_tags: DEFAULT_MAX_START_TAGS,
            max_ampersands: DEFAULT_MAX_AMPERSANDS,
            max_depth: DEFAULT_MAX_DEPTH,
            max_elements: DEFAULT_MAX_ELEMENTS,
            max_escape_work: DEFAULT_MAX_ESCAPE_WORK,
        }
    }
}

/// How [`extract_with`] works; [`Options::default`] is what [`extract`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Bounds on the input.
    pub limits: Limits,
    /// [`Extracted::word_count`] from which a page is an article whatever
    /// Readability's `isProbablyReaderable` says (see [`Extracted::is_article`]).
    pub min_article_words: usize,
    /// [`Extracted::word_count`] from which a page that `isProbablyReaderable` accepts
    /// is an article (see [`Extracted::is_article`]).
    pub min_readerable_article_words: usize,
    /// Remove from the article every `<ul>`/`<ol>` whose text is at least 80% link text
    /// ("related stories", "more from", tag lists that Readability keeps inside the
    /// article container). Those lists carry other stories' titles, which would make
    /// unrelated articles of one site look alike to grouping. On by default; it costs
    /// one re-parse of the article.
    pub drop_link_lists: bool,
}

/// Default for [`Options::min_article_words`].
pub const DEFAULT_MIN_ARTICLE_WORDS: usize = 80;
/// Default for [`Options::min_readerable_article_words`].
pub const DEFAULT_MIN_READERABLE_ARTICLE_WORDS: usize = 50;

impl Default for Options {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            min_article_words: DEFAULT_MIN_ARTICLE_WORDS,
            min_readerable_article_words: DEFAULT_MIN_READERABLE_ARTICLE_WORDS,
            drop_link_lists: true,
        }
    }
}

/// A limit that was applied to the input without refusing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// The input was cut to `kept_bytes` of its `original_bytes` before parsing.
    InputTruncated {
        /// Length of the HTML passed to [`extract`], in bytes.
        original_bytes: usize,
        /// Length actually parsed, in bytes.
        kept_bytes: usize,
    },
}

/// Which of the [`Limits`] a refused page exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`Limits::max_start_tags`] (lexical, before parsing).
    StartTags,
    /// [`Limits::max_ampersands`] (lexical, before parsing).
    Ampersands,
    /// [`Limits::max_depth`], estimated lexically before parsing.
    EstimatedDepth,
    /// [`Limits::max_depth`], measured on the parsed page.
    Depth,
    /// [`Limits::max_elements`] (parsed page).
    Elements,
    /// [`Limits::max_escape_work`] (parsed page).
    EscapeWork,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::StartTags => "start tags",
            Self::Ampersands => "ampersands",
            Self::EstimatedDepth => "estimated nesting depth",
            Self::Depth => "nesting depth",
            Self::Elements => "elements",
            Self::EscapeWork => "text escape work",
        })
    }
}

/// The article found in a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// Article title (from metadata or `<title>`, with the site-name part removed as
    /// Readability does); `None` if the page has none.
    pub title: Option<String>,
    /// Author line, as found (JSON-LD, `<meta name="author">`, or a byline element).
    pub byline: Option<String>,
    /// Publication time exactly as found in the page's metadata (JSON-LD
    /// `datePublished`, `article:published_time`, ...); not parsed or validated.
    pub published: Option<String>,
    /// The article as an HTML fragment (`<div id="readability-page-1" class="page">…`),
    /// without link lists if [`Options::drop_link_lists`] is set. Not sanitized: see the
    /// module documentation.
    pub content_html: String,
    /// The article as plain text: entities decoded, runs of whitespace collapsed,
    /// blocks separated by blank lines.
    pub text: String,
    /// Number of words in [`Extracted::text`], counted by [`count_words`].
    pub word_count: usize,
    /// Whether the page looks like an article, so that [`Extracted::text`] may stand for
    /// the entry: the extracted text has at least [`Options::min_article_words`] words
    /// (80), or at least [`Options::min_readerable_article_words`] (50) and Readability's
    /// `isProbablyReaderable` heuristic accepts the page (a visible `<p>`/`<pre>`/
    /// `<article>` block of 140+ characters, enough of them by its score); and the text
    /// does not look garbled (see [`looks_garbled`]: binary data or a wrong charset).
    /// Index pages,
    /// error pages and most paywall stubs are `false`. On Mozilla's test pages this
    /// agrees with their `readerable` flag on 128 of 130; on 922 real articles in
    /// invented site layouts it accepts 96% (`isProbablyReaderable` alone: 72%, as it
    /// ignores text in `<div>`s).
    pub is_article: bool,
    /// Readability's `isProbablyReaderable` heuristic alone (one input of
    /// [`Extracted::is_article`]), kept for diagnostics.
    pub readerable: bool,
    /// Limits applied to the input without refusing it (empty on ordinary pages).
    pub caps: Vec<Cap>,
}

/// Why no article could be extracted.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// `url` was given but is not an absolute URL.
    #[error("the page URL must be absolute")]
    BadUrl,
    /// The page exceeds one of the [`Limits`] and was not processed.
    #[error("page refused: {found} {limit}, more than the limit of {max}")]
    OverLimit {
        /// Which limit.
        limit: Limit,
        /// What the page has (a lower bound when counting stopped at the limit).
        found: u64,
        /// The limit in force.
        max: u64,
    },
    /// Readability found no article content in the page.
    #[error("no article content found in the page")]
    NoContent,
    /// The extraction library panicked (a bug in it); the page should be skipped.
    #[error("the extractor panicked: {0}")]
    Panicked(String),
}

/// Extracts the article from `html` with the default [`Options`].
///
/// `url` is the page's absolute URL, used to make the links and images of
/// [`Extracted::content_html`] absolute; pass `None` to leave them as they are.
///
/// # Errors
///
/// See [`ExtractError`]: a bad `url`, a page over the limits, a page with no article
/// content, or a panic inside the library (caught here, never propagated).
pub fn extract(html: &str, url: Option<&str>) -> Result<Extracted, ExtractError> {
    extract_with(html, url, &Options::default())
}

/// Extracts the article from `html` with explicit [`Options`]; see [`extract`].
///
/// # Errors
///
/// As for [`extract`].
pub fn extract_with(
    html: &str,
    url: Option<&str>,
    options: &Options,
) -> Result<Extracted, ExtractError> {
    match catch_unwind(AssertUnwindSafe(|| extract_inner(html, url, options))) {
        Ok(result) => result,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(ExtractError::Panicked(msg))
        }
    }
}

fn over(limit: Limit, found: usize, max: usize) -> ExtractError {
    ExtractError::OverLimit {
        limit,
        found: found as u64,
        max: max as u64,
    }
}

fn extract_inner(
    html: &str,
    url: Option<&str>,
    options: &Options,
) -> Result<Extracted, ExtractError> {
    let limits = &options.limits;
    let mut caps = Vec::new();
    let kept = truncate_at_char_boundary(html, limits.max_input_bytes);
    if kept.len() < html.len() {
        caps.push(Cap::InputTruncated {
            original_bytes: html.len(),
            kept_bytes: kept.len(),
        });
    }

    // 1. Lexical checks, before paying for the parse.
    let pre = prescan(kept.as_bytes(), limits.max_depth);
    if pre.depth > limits.max_depth {
        return Err(over(Limit::EstimatedDepth, pre.depth, limits.max_depth));
    }
    if pre.start_tags > limits.max_start_tags {
        return Err(over(
            Limit::StartTags,
            pre.start_tags,
            limits.max_start_tags,
        ));
    }
    if pre.ampersands > limits.max_ampersands {
        return Err(over(
            Limit::Ampersands,
            pre.ampersands,
            limits.max_ampersands,
        ));
    }

    // 2. Parse once; exact checks on the tree.
    let doc = Document::from(kept);
    let shape = tree_shape(&doc.root());
    if shape.elements > limits.max_elements {
        return Err(over(Limit::Elements, shape.elements, limits.max_elements));
    }
    if shape.depth > limits.max_depth {
        return Err(over(Limit::Depth, shape.depth, limits.max_depth));
    }
    if shape.merged_escape_work() > limits.max_escape_work {
        return Err(ExtractError::OverLimit {
            limit: Limit::EscapeWork,
            found: shape.merged_escape_work(),
            max: limits.max_escape_work,
        });
    }

    // 3. Readability.
    let config = Config {
        text_mode: TextMode::Formatted,
        ..Config::default()
    };
    let mut readability = Readability::with_document(doc, url, Some(config)).map_err(map_error)?;
    // Must run before `parse`, which rewrites the document.
    let readerable = readability.is_probably_readable();
    let article = readability.parse().map_err(map_error)?;

    let (content_html, text) = if options.drop_link_lists {
        drop_link_lists(&article.content)
    } else {
        (
            article.content.to_string(),
            article.text_content.to_string(),
        )
    };
    let word_count = count_words(&text);
    Ok(Extracted {
        title: non_empty(Some(article.title)),
        byline: non_empty(article.byline),
        published: non_empty(article.published_time),
        content_html,
        is_article: !looks_garbled(&text)
            && (word_count >= options.min_article_words
                || (readerable && word_count >= options.min_readerable_article_words)),
        readerable,
        word_count,
        text,
        caps,
    })
}

/// Re-parses the article fragment, removes every `<ul>`/`<ol>` whose non-space text is
/// at least 80% inside links (innermost lists first), and returns the new HTML and its
/// formatted text.
fn drop_link_lists(content: &str) -> (String, String) {
    let doc = Document::fragment(content);
    let lists = doc.select("ul, ol");
    for list in lists.nodes().iter().rev() {
        let visible = |n: &NodeRef<'_>| n.text().chars().filter(|c| !c.is_whitespace()).count();
        let total = visible(list);
        let linked: usize = list
            .descendants_it()
            .filter(|n| n.has_name("a"))
            .map(|a| visible(&a))
            .sum();
        if total > 0 && linked * 10 >= total * 8 {
            list.remove_from_parent();
        }
    }
    (doc.html().to_string(), doc.formatted_text().to_string())
}

fn map_error(err: ReadabilityError) -> ExtractError {
    match err {
        ReadabilityError::BadDocumentURL => ExtractError::BadUrl,
        ReadabilityError::TooManyElements(found, max) => over(Limit::Elements, found, max),
        ReadabilityError::GrabFailed => ExtractError::NoContent,
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_at_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Lexical pre-scan.

/// What [`prescan`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prescan {
    /// `<` followed by an ASCII letter, outside comments and raw-text elements.
    pub start_tags: usize,
    /// `&` bytes outside comments and raw-text elements (`<script>`, `<style>`, ...),
    /// where the tokenizer would decode entities.
    pub ampersands: usize,
    /// Deepest estimated element nesting (stops counting just past `max_depth`).
    pub depth: usize,
}

/// Elements that never have children.
const VOID: &[&[u8]] = &[
    b"area",
    b"base",
    b"basefont",
    b"bgsound",
    b"br",
    b"col",
    b"embed",
    b"frame",
    b"hr",
    b"image",
    b"img",
    b"input",
    b"keygen",
    b"link",
    b"meta",
    b"param",
    b"source",
    b"track",
    b"wbr",
];
/// Elements whose end tag is optional (closed implicitly by a sibling), or that the
/// tree builder never nests; not counted, so sloppy real pages are not over-estimated.
const NOT_NESTING: &[&[u8]] = &[
    b"body",
    b"caption",
    b"colgroup",
    b"dd",
    b"dt",
    b"head",
    b"html",
    b"li",
    b"optgroup",
    b"option",
    b"p",
    b"rb",
    b"rp",
    b"rt",
    b"rtc",
    b"tbody",
    b"td",
    b"tfoot",
    b"th",
    b"thead",
    b"tr",
];
/// Elements whose content is not markup (skipped up to the matching end tag).
const RAW_TEXT: &[&[u8]] = &[
    b"iframe",
    b"noembed",
    b"noframes",
    b"noscript",
    b"script",
    b"style",
    b"textarea",
    b"title",
    b"xmp",
];

/// Longest tag name kept on the estimate stack; longer names are cut (still matched
/// consistently, since start and end tags are cut the same way).
const NAME_LEN: usize = 16;

/// One linear pass over the raw bytes: counts start tags and ampersands, and estimates
/// the element nesting depth the way the HTML tree builder would build it, closely
/// enough to refuse pathological nesting before html5ever (quadratic in depth) sees it.
///
/// The estimate keeps a stack of open element names: a start tag pushes (except void
/// elements, elements with optional end tags, raw-text elements whose content is
/// skipped, and `/>` inside `<svg>`/`<math>`); an end tag pops back to the nearest
/// open element of that name and is ignored when there is none (as the tree builder
/// ignores it). Comments, doctypes and processing instructions are skipped. Once the
/// stack passes `max_depth` nesting is no longer tracked, so the pass stays linear.
pub fn prescan(b: &[u8], max_depth: usize) -> Prescan {
    let amps = |from: usize, to: usize| {
        b.get(from..to)
            .map_or(0, |s| s.iter().filter(|&&c| c == b'&').count())
    };
    let mut out = Prescan {
        ampersands: amps(0, b.len()),
        ..Prescan::default()
    };
    let mut stack: Vec<([u8; NAME_LEN], usize)> = Vec::new();
    let mut foreign = 0usize; // open <svg>/<math> elements
    let mut i = 0usize;
    while let Some(off) = b
        .get(i..)
        .and_then(|rest| rest.iter().position(|&c| c == b'<'))
    {
        let lt = i + off;
        let next = b.get(lt + 1).copied().unwrap_or(0);
        if next.is_ascii_alphabetic() {
            out.start_tags += 1;
            let (name, len, name_end) = tag_name(b, lt + 1);
            let tag_end = find(b, name_end, b">").map_or(b.len(), |p| p + 1);
            let self_closing = tag_end >= 2 && b.get(tag_end - 2) == Some(&b'/');
            i = tag_end;
            let n = name.get(..len).unwrap_or_default();
            if RAW_TEXT.contains(&n) {
                i = skip_raw_text(b, tag_end, n);
                out.ampersands = out.ampersands.saturating_sub(amps(tag_end, i));
                continue;
            }
            if out.depth > max_depth
                || VOID.contains(&n)
                || NOT_NESTING.contains(&n)
                || (self_closing && foreign > 0)
            {
                continue;
            }
            if n == b"svg" || n == b"math" {
                foreign += 1;
            }
            stack.push((name, len));
            out.depth = out.depth.max(stack.len());
        } else if next == b'/' {
            let (name, len, name_end) = tag_name(b, lt + 2);
            i = find(b, name_end, b">").map_or(b.len(), |p| p + 1);
            if len == 0 || out.depth > max_depth {
                continue;
            }
            if let Some(pos) = stack.iter().rposition(|(n, l)| *l == len && *n == name) {
                let closed_foreign = stack
                    .get(pos..)
                    .unwrap_or_default()
                    .iter()
                    .filter(|(n, l)| {
                        let s = n.get(..*l).unwrap_or_default();
                        s == b"svg" || s == b"math"
                    })
                    .count();
                foreign = foreign.saturating_sub(closed_foreign);
                stack.truncate(pos);
            }
        } else if b.get(lt..lt + 4) == Some(b"<!--") {
            i = find(b, lt + 4, b"-->").map_or(b.len(), |p| p + 3);
            out.ampersands = out.ampersands.saturating_sub(amps(lt, i));
        } else if next == b'!' || next == b'?' {
            i = find(b, lt + 2, b">").map_or(b.len(), |p| p + 1);
        } else {
            i = lt + 1;
        }
    }
    out
}

/// Lowercased tag name starting at `start` (cut to [`NAME_LEN`] bytes), its kept length,
/// and the index just past the whole name.
fn tag_name(b: &[u8], start: usize) -> ([u8; NAME_LEN], usize, usize) {
    let mut name = [0u8; NAME_LEN];
    let mut len = 0usize;
    let mut j = start;
    while let Some(&c) = b.get(j) {
        if c.is_ascii_whitespace() || c == b'/' || c == b'>' {
            break;
        }
        if let Some(slot) = name.get_mut(len) {
            *slot = c.to_ascii_lowercase();
            len += 1;
        }
        j += 1;
    }
    (name, len, j)
}

/// Index of the first occurrence of `needle` at or after `from`.
fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Index just past the `</name ...>` that ends a raw-text element opened before `from`
/// (ASCII case-insensitive), or the end of input.
fn skip_raw_text(b: &[u8], from: usize, name: &[u8]) -> usize {
    let mut i = from;
    while let Some(p) = find(b, i, b"</") {
        let after = p + 2;
        let matches = b
            .get(after..after + name.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(name));
        if matches {
            return find(b, after, b">").map_or(b.len(), |q| q + 1);
        }
        i = after;
    }
    b.len()
}

// ---------------------------------------------------------------------------------------
// Exact checks on the parsed tree.

/// What [`tree_shape`] measured on a parsed page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeShape {
    /// Element nodes.
    pub elements: usize,
    /// Deepest element nesting.
    pub depth: usize,
    /// Sum over text nodes (outside `<script>`/`<style>`) of (number of `&` and
    /// U+0080..U+00BF characters) x (length in bytes): proportional to the worst-case
    /// time html5ever 0.40 takes to serialize them as they are.
    pub escape_work: u64,
    /// Number of `&` and U+0080..U+00BF characters in all those text nodes.
    pub text_specials: u64,
    /// Bytes in all those text nodes.
    pub text_bytes: u64,
}

impl TreeShape {
    /// `text_specials` x `text_bytes`: the escape work if every text node ended up
    /// merged into one (which happens when Readability drops the comments or empty
    /// elements between them and the article is parsed again, e.g. by a sanitizer).
    /// An upper bound of [`TreeShape::escape_work`] for any later form of the text.
    pub fn merged_escape_work(&self) -> u64 {
        self.text_specials.saturating_mul(self.text_bytes)
    }
}

/// Measures a parsed page by one iterative pre-order walk (no recursion, so a deep
/// tree cannot overflow the stack).
pub fn tree_shape(root: &NodeRef<'_>) -> TreeShape {
    let mut shape = TreeShape::default();
    // (node, depth of its children, inside script/style)
    let mut stack: Vec<(NodeRef<'_>, usize, bool)> = vec![(*root, 0, false)];
    while let Some((node, depth, in_raw)) = stack.pop() {
        let mut child = node.first_child();
        while let Some(c) = child {
            if c.is_element() {
                shape.elements += 1;
                let d = depth + 1;
                shape.depth = shape.depth.max(d);
                let raw = in_raw || c.has_name("script") || c.has_name("style");
                child = c.next_sibling();
                stack.push((c, d, raw));
            } else {
                if !in_raw && c.is_text() {
                    let text = c.text();
                    let specials = text
                        .as_bytes()
                        .iter()
                        .filter(|&&b| b == b'&' || b == 0xC2)
                        .count() as u64;
                    shape.escape_work = shape
                        .escape_work
                        .saturating_add(specials.saturating_mul(text.len() as u64));
                    shape.text_specials += specials;
                    shape.text_bytes += text.len() as u64;
                }
                child = c.next_sibling();
            }
        }
    }
    shape
}

// ---------------------------------------------------------------------------------------
// Words.

/// Whether more than 1% of the characters of `text` are U+FFFD (what lossy UTF-8
/// decoding leaves of invalid bytes) or control characters other than tab and line
/// breaks (NULs of UTF-16 read as UTF-8): the page was binary or decoded with the
/// wrong charset, and its words are not to be trusted.
pub fn looks_garbled(text: &str) -> bool {
    let mut total = 0usize;
    let mut bad = 0usize;
    for ch in text.chars() {
        total += 1;
        if ch == char::REPLACEMENT_CHARACTER
            || (ch.is_control() && !matches!(ch, '\t' | '\n' | '\r'))
        {
            bad += 1;
        }
    }
    bad * 100 > total
}

/// Counts words in plain text: each maximal run of letters/digits is one word, except
/// that every Han, Hiragana, Katakana or Hangul character counts as a word of its own
/// (those scripts do not separate words with spaces).
pub fn count_words(text: &str) -> usize {
    let mut count = 0usize;
    let mut in_word = false;
    for ch in text.chars() {
        if is_cjk(ch) {
            count += 1;
            in_word = false;
        } else if ch.is_alphanumeric() {
            if !in_word {
                count += 1;
                in_word = true;
            }
        } else {
            in_word = false;
        }
    }
    count
}

/// Whether `ch` is a letter of a script written without spaces between words (Han,
/// Hiragana, Katakana, Hangul); punctuation such as `・` is not.
pub fn is_cjk(ch: char) -> bool {
    ch.is_alphabetic()
        && matches!(ch as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F) // CJK Extensions B-F, Compatibility Supplement
}

#[cfg(test)]
mod tests;
