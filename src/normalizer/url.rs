//! Link resolution and canonical URL form for feed entries.
//!
//! Part of the normalizer stage (feed bytes -> normalized entries) of the
//! pipeline fetcher -> normalizer -> near-duplicate detector -> store.
//! [`resolve`] turns the links found in a feed into absolute http(s) URLs,
//! and [`canonicalize`] gives the form under which syndicated copies of one
//! story compare equal (no fragment, no default port, no tracking
//! parameters, sorted query).
//!
//! Everything here is pure and never panics: the input comes from servers
//! we do not control.

use ::url::Url;

/// Exact names (lower-case) of query parameters that only track the reader.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "igshid",
    "yclid",
    "twclid",
    "ttclid",
    "li_fat_id",
    "_hsenc",
    "_hsmi",
    "__hstc",
    "__hssc",
    "__hsfp",
    "mkt_tok",
    "oly_enc_id",
    "oly_anon_id",
    "vero_id",
    "vero_conv",
    "ncid",
    "ocid",
    "cmpid",
    "sr_share",
    "wt.mc_id",
    "icid",
    "ref_src",
    "ref_url",
    "__twitter_impression",
    "s_kwcid",
    "ef_id",
    "spm",
    "srsltid",
    "at_medium",
    "at_campaign",
    "_openstat",
    "rss",
    "feed",
];

/// Resolves a link found in a feed to an absolute http(s) URL.
///
/// Surrounding whitespace and angle brackets (`<...>`) are removed. The
/// result is `raw` parsed as an absolute URL or, failing that, `raw` joined
/// against `base` when given. A protocol-relative `//host/path` takes the
/// scheme of `base`, or `https` without one. Only `http` and `https` URLs
/// are returned; anything else (`javascript:`, `file:`, `mailto:`, an
/// unparsable string) gives `None`.
pub fn resolve(raw: &str, base: Option<&Url>) -> Option<Url> {
    let trimmed = raw.trim();
    let trimmed = trimmed.strip_prefix('<').unwrap_or(trimmed);
    let trimmed = trimmed.strip_suffix('>').unwrap_or(trimmed).trim();
    if trimmed.is_empty() {
        return None;
    }
    let url = if trimmed.starts_with("//") && base.is_none() {
        Url::parse(&format!("https:{trimmed}")).ok()?
    } else {
        match (Url::parse(trimmed), base) {
            (Ok(url), _) => url,
            (Err(_), Some(base)) => base.join(trimmed).ok()?,
            (Err(_), None) => return None,
        }
    };
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// Whether a query parameter name only tracks the reader (compared ASCII
/// case-insensitively): any `utm_*` name, click ids such as `fbclid`,
/// `gclid` or `msclkid`, mailing-list ids such as `mc_cid`, and the like.
pub fn is_tracking_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("utm_") || TRACKING_PARAMS.contains(&lower.as_str())
}

/// The canonical string form of a URL, for comparing links.
///
/// Scheme and host are lower-case and a default port is dropped (the url
/// crate already does both), the fragment is dropped, tracking parameters
/// (see [`is_tracking_param`]) are removed, and the remaining query pairs
/// are sorted by name (keeping the order of equal names) and re-encoded as
/// `application/x-www-form-urlencoded`. A query left empty leaves no `?`.
///
/// `HTTPS://Example.COM:443/a/b?utm_source=rss&b=2&a=1#frag` becomes
/// `https://example.com/a/b?a=1&b=2`.
pub fn canonicalize(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    // Scheme, host and default port: the url crate normalizes these when it
    // parses, so `url` is already lower-case and without a default port.
    if url.query().is_some() {
        let mut pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(name, _)| !is_tracking_param(name))
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        if pairs.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalizer::test_inputs::fuzz_inputs;

    fn url(s: &str) -> Url {
        match Url::parse(s) {
            Ok(u) => u,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn resolved(raw: &str, base: Option<&str>) -> Option<String> {
        let base = base.map(url);
        resolve(raw, base.as_ref()).map(String::from)
    }

    #[test]
    fn resolve_absolute() {
        assert_eq!(
            resolved("  https://Example.com/a b  ", None),
            Some("https://example.com/a%20b".into())
        );
        assert_eq!(
            resolved("<http://x.org/p>", None),
            Some("http://x.org/p".into())
        );
        assert_eq!(
            resolved(" < http://x.org/p > ", None),
            Some("http://x.org/p".into())
        );
        assert_eq!(
            resolved("http://x.org/\n\tp", Some("https://b.org/")),
            Some("http://x.org/p".into())
        );
    }

    #[test]
    fn resolve_relative() {
        let base = Some("https://example.com/blog/post/");
        assert_eq!(
            resolved("../other?q=1#f", base),
            Some("https://example.com/blog/other?q=1#f".into())
        );
        assert_eq!(
            resolved("/root", base),
            Some("https://example.com/root".into())
        );
        assert_eq!(
            resolved("?page=2", base),
            Some("https://example.com/blog/post/?page=2".into())
        );
        assert_eq!(resolved("relative", None), None);
        assert_eq!(resolved("/root", None), None);
    }

    #[test]
    fn resolve_protocol_relative() {
        assert_eq!(
            resolved("//cdn.org/a", Some("http://x.org/")),
            Some("http://cdn.org/a".into())
        );
        assert_eq!(
            resolved("//cdn.org/a", None),
            Some("https://cdn.org/a".into())
        );
        assert_eq!(resolved("//", None), None);
    }

    #[test]
    fn resolve_rejects_other_schemes() {
        let base = Some("https://example.com/");
        for raw in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "file:///etc/passwd",
            "mailto:a@b.org",
            "data:text/html,x",
            "ftp://x.org/",
        ] {
            assert_eq!(resolved(raw, base), None, "{raw}");
        }
        assert_eq!(resolved("", base), None);
        assert_eq!(resolved("  <>  ", base), None);
        assert_eq!(resolved("http://exa mple.com/", base), None);
        assert_eq!(resolved("http://[::1", base), None);
        assert_eq!(resolved("x", Some("mailto:a@b.org")), None);
        assert_eq!(resolved("x", Some("file:///tmp/")), None);
    }

    #[test]
    fn canonicalize_examples() {
        assert_eq!(
            canonicalize(&url(
                "HTTPS://Example.COM:443/a/b?utm_source=rss&b=2&a=1#frag"
            )),
            "https://example.com/a/b?a=1&b=2"
        );
        assert_eq!(
            canonicalize(&url("http://x.org:80/?fbclid=1")),
            "http://x.org/"
        );
        assert_eq!(canonicalize(&url("http://x.org")), "http://x.org/");
        assert_eq!(canonicalize(&url("http://x.org/p?")), "http://x.org/p");
        assert_eq!(
            canonicalize(&url("http://x.org:8080/p#")),
            "http://x.org:8080/p"
        );
    }

    #[test]
    fn canonicalize_query_sorting_is_stable_and_reencoded() {
        assert_eq!(
            canonicalize(&url(
                "https://x.org/?b=2&a=z&UTM_Medium=x&a=y&Wt.mc_id=q&q=a%20b+c&flag&gclid=1"
            )),
            "https://x.org/?a=z&a=y&b=2&flag=&q=a+b+c"
        );
        assert_eq!(
            canonicalize(&url("https://x.org/?q=C%2B%2B&r=%2F")),
            "https://x.org/?q=C%2B%2B&r=%2F"
        );
        assert_eq!(
            canonicalize(&url("https://x.org/?q=%FF")),
            "https://x.org/?q=%EF%BF%BD"
        );
    }

    #[test]
    fn canonicalize_is_idempotent() {
        let once = canonicalize(&url("https://x.org/a?z=1&b=%C3%A9&utm_x=1#f"));
        assert_eq!(once, "https://x.org/a?b=%C3%A9&z=1");
        assert_eq!(canonicalize(&url(&once)), once);
    }

    #[test]
    fn tracking_params() {
        for name in [
            "utm_source",
            "UTM_CAMPAIGN",
            "utm_",
            "fbclid",
            "GCLID",
            "_ga",
            "WT.mc_id",
            "mc_eid",
            "rss",
            "feed",
            "__twitter_impression",
        ] {
            assert!(is_tracking_param(name), "{name}");
        }
        for name in [
            "",
            "utm",
            "id",
            "page",
            "q",
            "ref",
            "fbclid2",
            "xutm_source",
        ] {
            assert!(!is_tracking_param(name), "{name}");
        }
    }

    #[test]
    fn fuzz_never_panics() {
        let pieces = [
            "http",
            "https",
            ":",
            "/",
            "//",
            "?",
            "#",
            "&",
            "=",
            "%",
            "%2",
            "utm_a",
            "a",
            "é",
            " ",
            "<",
            ">",
            "[",
            "]",
            "@",
            ".",
            "..",
            "\\",
            "\t",
            "javascript:",
            "1",
            "+",
        ];
        let base = ::url::Url::parse("https://example.com/a/b").ok();
        for raw in fuzz_inputs(&pieces, 3000) {
            if let Some(u) = resolve(&raw, base.as_ref()) {
                let once = canonicalize(&u);
                assert!(once.starts_with("http"), "{once}");
                let again = ::url::Url::parse(&once).map(|u| canonicalize(&u));
                assert_eq!(again.as_deref(), Ok(once.as_str()), "{raw}");
            }
            let _ = resolve(&raw, None);
            let _ = is_tracking_param(&raw);
        }
    }
}
