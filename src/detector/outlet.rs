//! Who published an entry, and which article it is (pure, no I/O).
//!
//! An *outlet* publishes a story once, so two of its entries are copies
//! only when they are the same article. A feed is one outlet, except an
//! aggregator feed, whose entries link to several sites' articles: there
//! each entry's outlet is the host its link points to. The *article* is
//! named by its link without what varies between copies of one page:
//! scheme, `www.`/`m.`/`amp.` hosts, AMP and `.html` suffixes, tracking
//! parameters (already dropped by the normalizer's canonical link) and a
//! trailing slash.

use super::features::fnv1a;

/// The article key of a canonical link (0 for none).
pub fn link_key(canonical: Option<&str>) -> u64 {
    let Some(url) = canonical.map(str::trim).filter(|u| !u.is_empty()) else {
        return 0;
    };
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split('#').next().unwrap_or(rest);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    let host = ["www.", "www1.", "www2.", "m.", "amp.", "mobile."]
        .iter()
        .find_map(|p| host.strip_prefix(p))
        .unwrap_or(&host);
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    // `ref=` says where a reader came from, not which article: the
    // normalizer keeps it (some sites give it meaning), the article key not.
    let query: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some("ref"))
        .collect();
    let query = query.join("&");
    let mut path = format!("/{}", path.trim_end_matches('/')).replace("/amp/", "/");
    for suffix in ["/amp", ".amp", ".html", ".htm"] {
        if let Some(p) = path.strip_suffix(suffix) {
            path = p.to_string();
        }
    }
    let key = if query.is_empty() {
        format!("{host}{path}")
    } else {
        format!("{host}{path}?{query}")
    };
    // (Never 0, which means "no link".)
    fnv1a(key.as_bytes()) | 1
}

/// The host of a link, without `www.`-like prefixes, for outlets.
pub fn host(link: &str) -> Option<String> {
    let u = url::Url::parse(link).ok()?;
    let host = u.host_str()?.to_ascii_lowercase();
    let host = ["www.", "m.", "amp.", "mobile."]
        .iter()
        .find_map(|p| host.strip_prefix(p).map(str::to_string))
        .unwrap_or(host);
    Some(host)
}

/// Whether a feed document is an aggregator's: its entries link to at
/// least three hosts, none of which has more than half of them.
pub fn is_aggregator<'a>(links: impl Iterator<Item = Option<&'a str>>) -> bool {
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut n = 0;
    for link in links {
        n += 1;
        if let Some(h) = link.and_then(host) {
            *counts.entry(h).or_default() += 1;
        }
    }
    counts.len() >= 3 && counts.values().all(|c| c * 2 <= n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_article_under_its_variants_is_one_key() {
        let k = link_key(Some("https://www.paper.test/world/peru-bus.html"));
        for v in [
            "http://paper.test/world/peru-bus",
            "https://m.paper.test/world/peru-bus/",
            "https://amp.paper.test/world/peru-bus/amp",
            "https://paper.test/amp/world/peru-bus",
        ] {
            assert_eq!(link_key(Some(v)), k, "{v}");
        }
        assert_ne!(link_key(Some("https://paper.test/world/other")), k);
        assert_ne!(
            link_key(Some("https://paper.test/a?id=1")),
            link_key(Some("https://paper.test/a?id=2"))
        );
        assert_eq!(
            link_key(Some("https://paper.test/live/bergen?ref=rss")),
            link_key(Some("https://paper.test/live/bergen"))
        );
        assert_eq!(link_key(None), 0);
        assert_eq!(link_key(Some(" ")), 0);
    }

    #[test]
    fn aggregators_link_to_many_sites() {
        let hub = [
            Some("https://alpha.test/a"),
            Some("https://beta.test/b"),
            Some("https://www.gamma.test/c"),
            Some("https://delta.test/d"),
        ];
        assert!(is_aggregator(hub.iter().copied()));
        let paper = [
            Some("https://paper.test/a"),
            Some("https://paper.test/b"),
            Some("https://paper.test/c"),
            Some("https://cdn.test/c"),
            Some("https://other.test/d"),
        ];
        assert!(!is_aggregator(paper.iter().copied()), "most from one host");
        assert!(!is_aggregator(
            [Some("https://a.test/"), None].iter().copied()
        ));
    }
}
