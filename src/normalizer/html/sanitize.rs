//! Sanitizing untrusted HTML with ammonia.
//!
//! Part of [`super`]: one shared ammonia builder ([`sanitize_html`]) with
//! the allowlists of [`super::allowed`] and the style filter of
//! [`super::css`], resolving relative URLs against a base URL passed
//! through a thread-local slot.

use super::allowed::{EXTRA_ATTRIBUTES, EXTRA_ELEMENTS};
use super::css::filter_style;
use ammonia::{Builder, UrlRelative, UrlRelativeEvaluate};
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::OnceLock;

thread_local! {
    /// The base URL of the [`sanitize_html`] call running on this thread.
    pub(super) static SANITIZE_BASE: RefCell<Option<::url::Url>> = const { RefCell::new(None) };
}

/// Resolves relative URLs against [`SANITIZE_BASE`] exactly as ammonia's
/// `UrlRelative::RewriteWithBase` does, and passes them through when there
/// is no base. This lets one shared [`Builder`] serve every base URL.
pub(super) struct ThreadBase;

impl<'a> UrlRelativeEvaluate<'a> for ThreadBase {
    fn evaluate<'url>(&self, url: &'url str) -> Option<Cow<'url, str>> {
        SANITIZE_BASE.with(|base| match base.try_borrow().ok()?.as_ref() {
            Some(base) => base.join(url).ok().map(|u| Cow::Owned(String::from(u))),
            None => Some(Cow::Borrowed(url)),
        })
    }
}

/// Puts the base in [`SANITIZE_BASE`] and takes it out again when dropped.
pub(super) struct BaseGuard;

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

/// The prefix ammonia puts on every kept `id` (its `id_prefix`).
pub const ID_PREFIX: &str = "feedfold-";

/// Rewrites the kept attributes: `style` through [`filter_style`];
/// `target` (kept on links only) only as `_blank`, which ammonia's
/// `rel="noopener noreferrer"` makes safe.
pub(super) fn filter_attribute<'v>(
    element: &str,
    attr: &str,
    value: &'v str,
) -> Option<Cow<'v, str>> {
    match attr {
        "style" => filter_style(value).map(Cow::Owned),
        "target" => (element == "a" && value.trim().eq_ignore_ascii_case("_blank"))
            .then_some(Cow::Borrowed("_blank")),
        _ => Some(Cow::Borrowed(value)),
    }
}

pub(super) fn sanitizer() -> &'static Builder<'static> {
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

#[cfg(test)]
mod tests {
    use super::super::css::filter_style;
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
}
