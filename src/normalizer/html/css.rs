//! Filtering of `style` attributes: which CSS declarations are kept.
//!
//! Part of [`super`]: [`filter_style`] keeps the declarations of known safe
//! properties with plain values, and sizes only when small
//! ([`size_value_is_small`]). Linear in the attribute's length.

/// CSS properties kept in `style` attributes (feedparser's
/// `acceptable_css_properties`, less those that take URLs).
pub(super) const CSS_PROPERTIES: &[&str] = &[
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
pub(super) const CSS_SHORTHANDS: &[&str] = &["background", "border", "margin", "padding"];

/// Whether a CSS value is free of anything that can fetch or run code:
/// no `url(`, `expression`, `javascript`, `@import`, `behavior`,
/// `-moz-binding`, backslash escapes, comments or angle brackets.
pub(super) fn css_value_is_safe(value: &str) -> bool {
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
pub(super) const CSS_KEYWORDS: &[&str] = &[
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
pub(super) fn css_word_is_plain(w: &str) -> bool {
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
pub(super) fn shorthand_value_is_plain(value: &str) -> bool {
    value.split_whitespace().all(css_word_is_plain)
}

/// Properties that size or space boxes and text: kept only with small
/// values ([`size_value_is_small`]), so that an entry cannot cover or
/// push away the page around it.
pub(super) const CSS_SIZING: &[&str] = &[
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
