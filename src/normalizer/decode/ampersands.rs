//! Bare `&` characters.
//!
//! Part of [`super`]: [`fix_bare_ampersands`] escapes a `&` that starts no
//! reference, outside CDATA sections, comments and processing instructions.

use super::scan::{is_name_char, is_name_start_char, skip_unparsed};
use std::borrow::Cow;

/// Length of a well-formed reference starting with the `&` at `s[0]`
/// (`&name;`, `&#123;`, `&#x1F;`), or `None`.
pub(super) fn reference_len(s: &str) -> Option<usize> {
    let rest = s.get(1..)?;
    let body_len = if let Some(num) = rest.strip_prefix('#') {
        if let Some(hex) = num.strip_prefix(['x', 'X']) {
            let n = hex.bytes().take_while(u8::is_ascii_hexdigit).count();
            (n > 0).then_some(n + 2)?
        } else {
            let n = num.bytes().take_while(u8::is_ascii_digit).count();
            (n > 0).then_some(n + 1)?
        }
    } else {
        let mut chars = rest.chars();
        if !chars.next().is_some_and(is_name_start_char) {
            return None;
        }
        rest.char_indices()
            .skip(1)
            .find(|&(_, c)| !is_name_char(c))
            .map_or(rest.len(), |(i, _)| i)
    };
    (rest.as_bytes().get(body_len) == Some(&b';')).then_some(body_len + 2)
}

/// Escapes `&` characters that do not start a well-formed reference.
///
/// Every `&` that does not begin `&name;` (name made of XML name
/// characters), `&#123;` or `&#x1F;` becomes `&amp;`. References to names
/// only HTML knows, like `&nbsp;`, count as well-formed and stay. Nothing
/// inside `<![CDATA[...]]>` sections, `<!--...-->` comments or `<?...?>`
/// processing instructions is touched; an unterminated one extends to the
/// end of the text. Returns the input borrowed when nothing changes.
pub fn fix_bare_ampersands(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0; // text[..copied] has been handled in `out`
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' => {
                i = skip_unparsed(b, i).unwrap_or(i + 1);
            }
            b'&' => {
                let rest = text.get(i..).unwrap_or_default();
                match reference_len(rest) {
                    Some(len) => i += len,
                    None => {
                        let buf = out.get_or_insert_with(|| String::with_capacity(text.len() + 16));
                        buf.push_str(text.get(copied..i).unwrap_or_default());
                        buf.push_str("&amp;");
                        i += 1;
                        copied = i;
                    }
                }
            }
            _ => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(text.get(copied..).unwrap_or_default());
            Cow::Owned(buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ampersands_well_formed_are_borrowed() {
        let doc = "<a href=\"?x=1&amp;y=2\">&lt;b&gt; &#39; &#x1F600; &nbsp; &Eacute; &é;</a>";
        assert!(matches!(fix_bare_ampersands(doc), Cow::Borrowed(_)));
    }

    #[test]
    fn ampersands_bare_are_escaped() {
        assert_eq!(
            fix_bare_ampersands("<a href=\"?x=1&y=2\">Tom & Jerry &amp; co &#; &#x; &#12 &1a; &a b;</a>&"),
            "<a href=\"?x=1&amp;y=2\">Tom &amp; Jerry &amp; co &amp;#; &amp;#x; &amp;#12 &amp;1a; &amp;a b;</a>&amp;"
        );
    }

    #[test]
    fn ampersands_in_cdata_comments_and_pis_are_kept() {
        let doc = "<?xml-stylesheet href=\"a?b&c\"?><x><![CDATA[a & b]]><!-- c & d -->e & f</x>";
        assert_eq!(
            fix_bare_ampersands(doc),
            "<?xml-stylesheet href=\"a?b&c\"?><x><![CDATA[a & b]]><!-- c & d -->e &amp; f</x>"
        );
        // Unterminated sections extend to the end.
        let doc = "a & b <![CDATA[ c & d";
        assert_eq!(fix_bare_ampersands(doc), "a &amp; b <![CDATA[ c & d");
        let doc = "a <!-- & ";
        assert_eq!(fix_bare_ampersands(doc), doc);
    }

    #[test]
    fn ampersands_edge_cases() {
        assert_eq!(fix_bare_ampersands(""), "");
        assert_eq!(fix_bare_ampersands("&"), "&amp;");
        assert_eq!(fix_bare_ampersands("&&&;"), "&amp;&amp;&amp;;");
        assert_eq!(fix_bare_ampersands("&amp"), "&amp;amp");
        assert_eq!(fix_bare_ampersands("é&é"), "é&amp;é");
        let long = "&".to_string() + &"a".repeat(100_000);
        assert_eq!(fix_bare_ampersands(&long).len(), long.len() + 4);
    }
}
