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

mod allowed;
mod bounded;
mod css;
mod detect;
mod elements;
mod sanitize;
mod shape;
mod tags;
mod text;

pub use bounded::{sanitize_bounded, HtmlBudget, Unsanitized};
pub use css::{filter_style, size_value_is_small};
pub use detect::{looks_like_html, looks_like_markup};
pub use sanitize::{sanitize_html, ID_PREFIX};
pub use shape::{html_shape, Shape};
pub use text::{html_to_text, text_to_html};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalizer::test_inputs::fuzz_inputs;

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
