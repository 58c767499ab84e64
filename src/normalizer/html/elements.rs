//! Element classes of HTML's tree-building rules used by the shape scan.
//!
//! Part of [`super`]: void, formatting, table, paragraph-closing and
//! breakout elements, as bit flags per element name ([`kind_of`]).

use std::sync::OnceLock;

/// Elements without content (HTML's void elements and the obsolete ones
/// parsed as such): never left open.
pub(super) const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
    "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
];

/// HTML's formatting elements (kept in html5ever's list of active
/// formatting elements and re-created in new blocks).
pub(super) const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];

/// Elements whose end tag may be left out: an end tag of an element
/// further out closes them (html5ever's "implied end tags").
pub(super) const IMPLIED_END: &[&str] = &[
    "p", "li", "dt", "dd", "option", "optgroup", "rb", "rp", "rt", "rtc",
];

/// Table parts an end tag of an enclosing table part closes.
pub(super) const TABLE_PARTS: &[&str] = &[
    "td", "th", "tr", "tbody", "thead", "tfoot", "caption", "colgroup",
];

/// Start tags that close an open `p` (when it is the innermost element).
pub(super) const CLOSES_P: &[&str] = &[
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
pub(super) const BREAKOUT: &[&str] = &[
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
pub(super) const RAW: &[&str] = &[
    "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title",
];

pub(super) fn is_in(name: &str, set: &[&str]) -> bool {
    set.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// What [`html_shape`] needs to know about an element name, as bits: one
/// per list above, and one per element it treats specially.
pub(super) mod kind {
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
pub(super) fn kind_of(name: &str) -> u32 {
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
