//! A linear scan estimating what html5ever would do with a piece of HTML.
//!
//! Part of [`super`]: [`html_shape`] follows HTML's tree-building rules
//! closely enough to count the open elements, open formatting elements and
//! escapes that make html5ever slow, giving a [`Shape`].

use super::elements::{is_in, kind, kind_of};
use super::tags::{raw_end, scan_name, scan_tag, Tag};
use super::text::find_from;
use crate::normalizer::limits::{
    HTML_ESCAPE_BYTES_PER_NS, HTML_NS_PER_BYTE, HTML_NS_PER_FORMATTING, HTML_NS_PER_OPEN_ELEMENT,
    HTML_NS_PER_TAG, MAX_HTML_DEPTH,
};

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
    /// nanoseconds, from the `HTML_NS_*` figures of [`crate::normalizer::limits`]
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

/// Namespaces of the elements [`html_shape`] keeps open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ns {
    Html,
    Svg,
    MathMl,
}

/// An element [`html_shape`] keeps open.
#[derive(Debug, Clone, Copy)]
pub(super) struct Open<'a> {
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

/// The stack of elements [`html_shape`] keeps open, and the index below
/// which it no longer closes any ([`OpenStack::freeze`]).
pub(super) struct OpenStack<'a> {
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
pub(super) fn comment_end(b: &[u8], i: usize) -> usize {
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
pub(super) fn start_tag<'a>(
    b: &[u8],
    stack: &mut OpenStack<'a>,
    name: &'a str,
    tag: &Tag,
) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::super::bounded::sanitize_bounded;
    use super::super::bounded::HtmlBudget;
    use super::super::detect::looks_like_markup;
    use super::*;
    use crate::normalizer::limits::MAX_HTML_FORMATTING;
    use crate::normalizer::test_inputs::fuzz_inputs;

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
}
