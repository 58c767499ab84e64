//! Base64 decoding for Atom content with `mode="base64"`.
//!
//! Part of [`super`]: a lenient decoder ([`base64_decode`]) that skips
//! whitespace and refuses anything else that is not base64.

/// Decodes base64 (standard or URL-safe alphabet, whitespace and padding
/// ignored). `None` on any other character or a dangling bit group.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut n = 0usize;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => continue,
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        n += 1;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if n % 4 == 1 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decoding() {
        assert_eq!(base64_decode("SGk=").as_deref(), Some(b"Hi".as_slice()));
        assert_eq!(base64_decode("SG k").as_deref(), Some(b"Hi".as_slice()));
        assert_eq!(base64_decode(""), Some(Vec::new()));
        assert_eq!(base64_decode("S"), None);
        assert_eq!(base64_decode("S!"), None);
    }
}
