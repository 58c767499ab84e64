//! Sanitizing within a time budget.
//!
//! Part of [`super`]: [`sanitize_bounded`] sanitizes only HTML whose
//! estimated cost ([`super::Shape::cost_ns`]) is within the limits of
//! [`crate::normalizer::limits`] and what is left of the document's
//! [`HtmlBudget`]; the reason it refuses is an [`Unsanitized`].

use super::sanitize::sanitize_html;
use super::shape::html_shape;
use crate::normalizer::limits::{
    DOCUMENT_HTML_COST_NS, HTML_NS_PER_BYTE, MAX_HTML_BYTES, MAX_HTML_COST_NS, MAX_HTML_DEPTH,
    MAX_HTML_FORMATTING,
};

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
    /// An estimated cost ([`Shape::cost_ns`](super::Shape::cost_ns)) over [`MAX_HTML_COST_NS`].
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
/// ([`DOCUMENT_HTML_COST_NS`], as estimated by [`Shape::cost_ns`](super::Shape::cost_ns)); one
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
/// ([`Shape::cost_ns`](super::Shape::cost_ns)) is over [`MAX_HTML_COST_NS`] or what is left of
/// the document's `budget`, is not sanitized and the reason is returned;
/// the caller keeps the plain text ([`html_to_text`](super::html_to_text), which is linear)
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

#[cfg(test)]
mod tests {
    use super::super::shape::html_shape;
    use super::*;

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
}
