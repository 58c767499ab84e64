//! Atom fix-ups.
//!
//! Part of [`super`]: [`fix_atom`] turns Atom 0.3 into Atom 1.0 (namespace,
//! element names) and gives text constructs a type feed-rs accepts,
//! decoding base64 content.

use super::base64::base64_decode;
use super::edit::{apply, escape, local, root_tag, Edit};
use crate::normalizer::decode::{find_from, tag_attributes};
use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;
use std::borrow::Cow;

pub(super) const ATOM_10: &str = "http://www.w3.org/2005/Atom";
pub(super) const ATOM_03: &str = "http://purl.org/atom/ns#";

/// Which Atom text construct or content an element is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Construct {
    Text,
    Content,
}

/// The element names of Atom text constructs (1.0 and 0.3).
pub(super) fn construct_of(local: &str) -> Option<Construct> {
    match local {
        "title" | "subtitle" | "summary" | "rights" | "tagline" | "copyright" | "info" => {
            Some(Construct::Text)
        }
        "content" => Some(Construct::Content),
        _ => None,
    }
}

/// Atom 0.3 element names and their 1.0 names.
pub(super) fn atom03_rename(local: &str) -> Option<&'static str> {
    match local {
        "tagline" => Some("subtitle"),
        "copyright" => Some("rights"),
        "issued" => Some("published"),
        "modified" => Some("updated"),
        "url" => Some("uri"),
        _ => None,
    }
}

/// What to do with one text construct's `type`.
pub(super) enum TypeFix {
    /// Leave the element as it is.
    Keep,
    /// Set `type` to this value (and drop `mode`).
    Set(&'static str),
    /// The content is base64: decode it, then set `type` to this value.
    Base64(&'static str),
}

pub(super) fn type_fix(
    kind: Construct,
    ty: Option<&str>,
    mode: Option<&str>,
    has_src: bool,
    atom03: bool,
) -> TypeFix {
    // In Atom 0.3 an absent `mode` means inline XML.
    let mode = mode
        .map(|m| m.trim().to_ascii_lowercase())
        .or_else(|| (atom03 && ty.is_some_and(|t| t.contains("html"))).then(|| "xml".to_string()));
    let raw = ty.map(str::trim);
    let t = raw.map(str::to_ascii_lowercase);
    let t = t.as_deref();
    if has_src {
        // feed-rs needs a MIME type (`a/b`) or none with `src`.
        return match t {
            Some(t)
                if t.split_once('/')
                    .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains('/')) =>
            {
                TypeFix::Keep
            }
            None => TypeFix::Keep,
            _ => TypeFix::Set("text/html"),
        };
    }
    let html_ish = t.is_some_and(|t| t.contains("html"));
    if mode.as_deref() == Some("base64") {
        return TypeFix::Base64(if html_ish { "html" } else { "text" });
    }
    let escaped = mode.as_deref() == Some("escaped");
    let inline_xml = mode.as_deref() == Some("xml");
    let wanted = match t {
        None if inline_xml => "xhtml",
        None => return TypeFix::Keep,
        Some("text") | Some("html") | Some("xhtml") | Some("text/html") if mode.is_none() => {
            // Accepted as written (feed-rs compares case-sensitively).
            return if raw == t {
                TypeFix::Keep
            } else {
                TypeFix::Set(canonical(t))
            };
        }
        Some("xhtml") | Some("application/xhtml+xml") if escaped => "html",
        Some("text/html") | Some("html") if inline_xml => "xhtml",
        Some("text") | Some("html") | Some("xhtml") | Some("text/html") => canonical(t),
        Some(t) if t.contains("xhtml") => "xhtml",
        Some(t) if t.contains("html") => "html",
        Some(t) if t.starts_with("text/") || t.is_empty() || t == "plain" => "text",
        Some(t) if t.ends_with("+xml") || t.ends_with("/xml") => {
            if kind == Construct::Content {
                "xhtml"
            } else {
                "text"
            }
        }
        Some(t) if t.contains('/') => return TypeFix::Base64("text"),
        Some(_) => "text",
    };
    TypeFix::Set(wanted)
}

pub(super) fn canonical(t: Option<&str>) -> &'static str {
    match t {
        Some("html") => "html",
        Some("xhtml") => "xhtml",
        Some("text/html") => "text/html",
        _ => "text",
    }
}

/// Whether an element resolved to `ns` is read as Atom by feed-rs (which
/// makes Atom the default namespace of an Atom document).
pub(super) fn atomish(ns: &ResolveResult<'_>) -> bool {
    match ns {
        ResolveResult::Bound(Namespace(uri)) => *uri == ATOM_10 || *uri == ATOM_03,
        ResolveResult::Unbound => true,
        ResolveResult::Unknown(_) => false,
    }
}

/// An Atom element opened and not yet closed.
pub(super) struct Open {
    /// The new local name for the end tag, if renamed.
    rename: Option<&'static str>,
    /// Base64 content: where the content starts and the type to set.
    base64: Option<(usize, usize, &'static str)>,
    /// Atom 0.3 inline XML: where the content starts, and whether it is
    /// XML already (`Some(true)`) or only if it holds elements
    /// (`Some(false)`, no `type` given). Wrapped in an XHTML `<div>` that
    /// feed-rs strips, so the markup is kept as written.
    inline_03: Option<(usize, bool)>,
    /// Where a `type` attribute would go.
    name_end: usize,
    /// Child elements seen.
    children: usize,
}

/// The XHTML wrapper Atom 1.0 puts around `type="xhtml"` content.
pub(super) const XHTML_DIV: &str = "<div xmlns=\"http://www.w3.org/1999/xhtml\">";

/// Makes an Atom document readable by feed-rs 3.
///
/// For a document whose root's local name is `feed` or `entry`:
/// - the Atom 0.3 namespace URI becomes Atom 1.0's, and in Atom 0.3
///   documents `tagline`, `copyright`, `issued`, `modified` and author
///   `url` are renamed to `subtitle`, `rights`, `published`, `updated` and
///   `uri`;
/// - the `type` of text constructs (`title`, `subtitle`, `summary`,
///   `rights`) and `content` is set to one feed-rs accepts: `text` for
///   `text/plain` and other text types, an empty or unknown value; `html`
///   for HTML types and escaped XHTML; `xhtml` for `application/xhtml+xml`
///   and inline XML (`mode="xml"`); values differing only in case are
///   lower-cased;
/// - a `mode="base64"` body, or a body of a non-text MIME type such as
///   `application/octet-stream`, is decoded; UTF-8 text replaces the body,
///   escaped, and the type becomes `text` (`html` if the type was HTML).
///   A body that is not base64 of UTF-8 text is kept and typed `text`.
///
/// Other documents are returned borrowed. Reading stops at the first XML
/// error; the fixes found before it are applied.
pub fn fix_atom(text: &str) -> Cow<'_, str> {
    let Some((root_at, _, root)) = root_tag(text) else {
        return Cow::Borrowed(text);
    };
    if !matches!(local(root), "feed" | "entry") {
        return Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let is_03 = find_from(b, 0, ATOM_03.as_bytes()).is_some() || root_version_is_03(text);
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut edits: Vec<Edit> = Vec::new();
    let mut stack: Vec<Option<Open>> = Vec::new();
    loop {
        let before = to_usize(reader.buffer_position());
        let (is_atom, event) = match reader.read_resolved_event() {
            Ok((_, Event::Eof)) | Err(_) => break,
            Ok((ns, e)) => (atomish(&ns), e),
        };
        let after = to_usize(reader.buffer_position());
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let empty = b.get(after.saturating_sub(2)..after) == Some(b"/>".as_slice());
                let qname = e.name().as_ref().to_string();
                let name_end = before + 1 + qname.len();
                let attrs = tag_attributes(b, name_end).unwrap_or_default();
                // Namespace declarations of Atom 0.3, and an unknown default
                // namespace on the root `feed` (read as Atom, like feedparser).
                let is_root = stack.is_empty() && before <= root_at;
                for a in &attrs {
                    let n = a.name(text);
                    let v = a.value(text).trim();
                    let unknown_root_ns =
                        is_root && n == "xmlns" && qname == "feed" && v != ATOM_10 && v != ATOM_03;
                    if ((n == "xmlns" || n.starts_with("xmlns:")) && v == ATOM_03)
                        || unknown_root_ns
                    {
                        edits.push(Edit {
                            start: a.value_start,
                            end: a.value_end,
                            with: format!("\"{ATOM_10}\""),
                        });
                    }
                }
                if let Some(Some(parent)) = stack.last_mut() {
                    parent.children += 1;
                }
                let mut open = Open {
                    rename: None,
                    base64: None,
                    inline_03: None,
                    name_end,
                    children: 0,
                };
                let l = local(&qname);
                if is_atom && is_03 {
                    if let Some(new) = atom03_rename(l) {
                        let prefix_len = qname.len() - l.len();
                        edits.push(Edit {
                            start: before + 1 + prefix_len,
                            end: name_end,
                            with: new.to_string(),
                        });
                        open.rename = Some(new);
                    }
                }
                if let Some(kind) = construct_of(l).filter(|_| is_atom) {
                    let get = |name: &str| {
                        attrs
                            .iter()
                            .find(|a| a.name(text) == name)
                            .map(|a| (a, a.value(text)))
                    };
                    let ty = get("type");
                    let mode = get("mode");
                    let has_src = kind == Construct::Content && get("src").is_some();
                    let fix = type_fix(kind, ty.map(|t| t.1), mode.map(|m| m.1), has_src, is_03);
                    let set = match fix {
                        TypeFix::Keep => None,
                        TypeFix::Set(v) => Some(v),
                        TypeFix::Base64(v) if empty => Some(v),
                        TypeFix::Base64(v) => {
                            open.base64 = Some((after, 0, v));
                            None
                        }
                    };
                    if is_03 {
                        if set == Some("xhtml") {
                            open.inline_03 = Some((after, true));
                        } else if ty.is_none() && mode.is_none() {
                            open.inline_03 = Some((after, false));
                        }
                    }
                    if let Some(v) = set {
                        set_type(&mut edits, ty.map(|t| t.0), mode.map(|m| m.0), name_end, v);
                    }
                    if let Some((_, ref mut slot, _)) = open.base64 {
                        // Remember where the type attribute goes.
                        *slot = name_end;
                        if let Some((a, _)) = ty {
                            edits.push(Edit {
                                start: a.name_start,
                                end: a.value_end,
                                with: String::new(),
                            });
                        }
                        if let Some((a, _)) = mode {
                            edits.push(Edit {
                                start: a.name_start,
                                end: a.value_end,
                                with: String::new(),
                            });
                        }
                    }
                }
                if !empty {
                    stack.push(Some(open));
                }
            }
            Event::End(e) => {
                let Some(Some(open)) = stack.pop() else {
                    continue;
                };
                match open.inline_03 {
                    Some((content_start, known)) if known || open.children > 0 => {
                        if !known {
                            edits.push(Edit {
                                start: open.name_end,
                                end: open.name_end,
                                with: " type=\"xhtml\"".into(),
                            });
                        }
                        edits.push(Edit {
                            start: content_start,
                            end: content_start,
                            with: XHTML_DIV.into(),
                        });
                        edits.push(Edit {
                            start: before,
                            end: before,
                            with: "</div>".into(),
                        });
                    }
                    _ => {}
                }
                if let Some(new) = open.rename {
                    let qname = e.name().as_ref().to_string();
                    let prefix_len = qname.len() - local(&qname).len();
                    let start = before + 2 + prefix_len;
                    edits.push(Edit {
                        start,
                        end: before + 2 + qname.len(),
                        with: new.to_string(),
                    });
                }
                if let Some((content_start, name_end, ty)) = open.base64 {
                    let raw = text.get(content_start..before).unwrap_or_default();
                    let (body, ty) = decode_base64_body(raw, ty);
                    edits.push(Edit {
                        start: name_end,
                        end: name_end,
                        with: format!(" type=\"{ty}\""),
                    });
                    if let Some(body) = body {
                        edits.push(Edit {
                            start: content_start,
                            end: before,
                            with: body,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    apply(text, edits)
}

pub(super) fn to_usize(pos: u64) -> usize {
    usize::try_from(pos).unwrap_or(usize::MAX)
}

/// Whether the root tag says `version="0.3"`.
pub(super) fn root_version_is_03(text: &str) -> bool {
    let Some((_, name_end, _)) = root_tag(text) else {
        return false;
    };
    tag_attributes(text.as_bytes(), name_end)
        .unwrap_or_default()
        .iter()
        .any(|a| a.name(text) == "version" && a.value(text).trim() == "0.3")
}

/// Sets the `type` attribute (replacing the old one or adding one after the
/// name) and drops `mode`.
pub(super) fn set_type(
    edits: &mut Vec<Edit>,
    ty: Option<&crate::normalizer::decode::AttrSpan>,
    mode: Option<&crate::normalizer::decode::AttrSpan>,
    name_end: usize,
    value: &str,
) {
    match ty {
        Some(a) if a.value_start < a.value_end => edits.push(Edit {
            start: a.value_start,
            end: a.value_end,
            with: format!("\"{value}\""),
        }),
        Some(a) => edits.push(Edit {
            start: a.name_start,
            end: a.value_end,
            with: format!("type=\"{value}\""),
        }),
        None => edits.push(Edit {
            start: name_end,
            end: name_end,
            with: format!(" type=\"{value}\""),
        }),
    }
    if let Some(m) = mode {
        edits.push(Edit {
            start: m.name_start,
            end: m.value_end,
            with: String::new(),
        });
    }
}

/// The new body and type of a base64 text construct: the decoded text,
/// escaped, when the body is base64 of UTF-8 without markup inside; the
/// body unchanged (typed `text`) otherwise.
pub(super) fn decode_base64_body(raw: &str, ty: &'static str) -> (Option<String>, &'static str) {
    if raw.contains('<') && !raw.trim_start().starts_with("<![CDATA[") {
        return (None, "text");
    }
    let inner = raw
        .trim()
        .strip_prefix("<![CDATA[")
        .and_then(|r| r.strip_suffix("]]>"))
        .unwrap_or(raw);
    let inner = html_escape::decode_html_entities(inner);
    match base64_decode(&inner).and_then(|v| String::from_utf8(v).ok()) {
        Some(s) => (Some(escape(&s)), ty),
        None => (None, "text"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atom_types_are_fixed() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="text/plain">T</title>
<entry><title type="">E</title><summary type="application/xhtml+xml"><div xmlns="http://www.w3.org/1999/xhtml">S</div></summary>
<content type="TEXT">C</content><rights type="image/png" mode="base64">SGVsbG8gJiB3b3JsZA==</rights></entry></feed>"#;
        let want = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">T</title>
<entry><title type="text">E</title><summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">S</div></summary>
<content type="text">C</content><rights type="text"  >Hello &amp; world</rights></entry></feed>"#;
        assert_eq!(fix_atom(doc), want);
    }

    #[test]
    fn atom_base64_content_is_decoded() {
        let doc = "<feed><entry><content type=\"application/octet-stream\">PHA+aGk8L3A+</content>\
                   <summary mode=\"base64\" type=\"text/html\">PGI+Yjwv\nYj4=</summary></entry></feed>";
        assert_eq!(
            fix_atom(doc),
            "<feed><entry><content type=\"text\" >&lt;p&gt;hi&lt;/p&gt;</content>\
             <summary type=\"html\"  >&lt;b&gt;b&lt;/b&gt;</summary></entry></feed>"
        );
        // Not base64: kept, typed text.
        let doc = "<feed><entry><content type=\"image/png\">!!</content></entry></feed>";
        assert_eq!(
            fix_atom(doc),
            "<feed><entry><content type=\"text\" >!!</content></entry></feed>"
        );
    }

    #[test]
    fn atom03_is_renamed() {
        let doc = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><tagline mode="escaped" type="text/html">&lt;b&gt;</tagline>
<entry><issued>2004-01-01T00:00:00Z</issued><modified>2004-01-02T00:00:00Z</modified><author><url>http://a/</url></author>
<content type="application/xhtml+xml" mode="xml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></content></entry></feed>"#;
        let want = r#"<feed version="0.3" xmlns="http://www.w3.org/2005/Atom"><subtitle  type="text/html">&lt;b&gt;</subtitle>
<entry><published>2004-01-01T00:00:00Z</published><updated>2004-01-02T00:00:00Z</updated><author><uri>http://a/</uri></author>
<content type="xhtml" ><div xmlns="http://www.w3.org/1999/xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></div></content></entry></feed>"#;
        assert_eq!(fix_atom(doc), want);
    }

    #[test]
    fn atom_accepted_types_are_borrowed() {
        for doc in [
            "<feed><title type=\"html\">x</title><content type=\"text/html\">y</content></feed>",
            "<feed><content type=\"image/png\" src=\"http://x/a.png\"/></feed>",
            "<rss><title type=\"weird\">x</title></rss>",
            "<feed><media:title xmlns:media=\"http://search.yahoo.com/mrss/\" type=\"plain\">x</media:title></feed>",
            "",
            "<feed",
        ] {
            assert!(matches!(fix_atom(doc), Cow::Borrowed(_)), "{doc}");
        }
    }

    #[test]
    fn atom_unknown_root_namespace_becomes_atom() {
        assert_eq!(
            fix_atom("<feed version=\"0.3\" xmlns=\"http://example.com/newformat#\"><title>T</title></feed>"),
            "<feed version=\"0.3\" xmlns=\"http://www.w3.org/2005/Atom\"><title>T</title></feed>"
        );
        assert_eq!(
            fix_atom("<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><title type=\"text/html\"><b>x</b></title></feed>"),
            "<feed version=\"0.3\" xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><b>x</b></div></title></feed>"
        );
    }
}
