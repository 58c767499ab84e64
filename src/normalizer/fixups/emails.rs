//! E-mail addresses touching non-ASCII characters.
//!
//! Part of [`super`]: [`space_out_emails`] spaces them out on a second
//! reading after a feed-rs panic.

use super::edit::{apply, Edit};
use std::borrow::Cow;

/// Puts a space between an e-mail address and a non-ASCII character, or
/// a numeric reference to one, touching it (`a@b.org§` -> `a@b.org §`,
/// `a@b.org&#160;` -> `a@b.org &#160;`): feed-rs 3 panics slicing the name
/// next to such an address. Used to read again a document feed-rs panicked
/// on; reads the bytes once, without copying the text.
pub fn space_out_emails(text: &str) -> Cow<'_, str> {
    // Address characters, and `mailto:`'s colon (feed-rs's match may
    // start there).
    let is_mail = |c: u8| {
        c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-' | b'@' | b':')
    };
    let b = text.as_bytes();
    let mut edits = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !is_mail(b[i]) {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < b.len() && is_mail(b[i]) {
            i += 1;
        }
        if !b.get(run_start..i).is_some_and(|run| run.contains(&b'@')) {
            continue;
        }
        // A non-ASCII character touches the address: a byte of one, or a
        // numeric reference to one (what `&nbsp;` becomes), which feed-rs
        // decodes before it looks for addresses.
        let before = b.get(..run_start).unwrap_or_default();
        if before.last().is_some_and(|&c| c >= 0x80) || ends_with_non_ascii_ref(before) {
            edits.push(Edit {
                start: run_start,
                end: run_start,
                with: " ".into(),
            });
        }
        let after = b.get(i..).unwrap_or_default();
        if after.first().is_some_and(|&c| c >= 0x80) || starts_with_non_ascii_ref(after) {
            edits.push(Edit {
                start: i,
                end: i,
                with: " ".into(),
            });
        }
    }
    apply(text, edits)
}

/// The code point of the numeric character reference `&#...;` (decimal or
/// `x` hexadecimal) that `b` starts with.
pub(super) fn numeric_ref(b: &[u8]) -> Option<u32> {
    let rest = b.strip_prefix(b"&#")?;
    let (digits, radix) = match rest.first() {
        Some(b'x' | b'X') => (rest.get(1..)?, 16),
        _ => (rest, 10),
    };
    let len = digits
        .iter()
        .take(8)
        .take_while(|c| c.is_ascii_hexdigit())
        .count();
    if digits.get(len) != Some(&b';') {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits.get(..len)?).ok()?, radix).ok()
}

/// Whether `b` starts with a numeric reference to a non-ASCII character.
pub(super) fn starts_with_non_ascii_ref(b: &[u8]) -> bool {
    numeric_ref(b).is_some_and(|c| c >= 0x80)
}

/// Whether `b` ends with a numeric reference to a non-ASCII character.
pub(super) fn ends_with_non_ascii_ref(b: &[u8]) -> bool {
    if b.last() != Some(&b';') {
        return false;
    }
    let from = b.len().saturating_sub(12);
    b.get(from..)
        .and_then(|tail| tail.windows(2).rposition(|w| w == b"&#").map(|p| from + p))
        .is_some_and(|amp| b.get(amp..).is_some_and(starts_with_non_ascii_ref))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_spaced_from_non_ascii() {
        assert_eq!(space_out_emails("§a@b.org§ x@y"), "§ a@b.org § x@y");
        assert_eq!(
            space_out_emails("(\u{FFFD}mailto:r@o.com)"),
            "(\u{FFFD} mailto:r@o.com)"
        );
        assert!(matches!(
            space_out_emails("a@b.org (Ann) é"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(space_out_emails(""), Cow::Borrowed(_)));
        // What `&nbsp;` becomes is a non-ASCII character to feed-rs.
        assert_eq!(
            space_out_emails("<w>email@example.org&#160;</w><x>&#xE9;a@b.org&#38;</x>"),
            "<w>email@example.org &#160;</w><x>&#xE9; a@b.org&#38;</x>"
        );
    }
}
