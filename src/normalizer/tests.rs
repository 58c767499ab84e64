//! Tests of the normalizer: decoding, identity, links, dates, text.

use super::*;

fn doc(bytes: &[u8]) -> RawDocument {
    RawDocument {
        name: "test".into(),
        fetched_url: None,
        path: Some("/tmp/test.xml".into()),
        http_charset: None,
        bytes: bytes.to_vec(),
    }
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
}

fn norm(bytes: &[u8]) -> Result<NormalizedFeed, NormalizeError> {
    normalize(
        &doc(bytes),
        &Identity {
            path: Some("/tmp/test.xml"),
            ..Default::default()
        },
        now(),
    )
}

#[test]
fn rss_without_version_is_read() {
    let f = norm(b"<rss><channel><title>T</title><item><title>A</title><guid>g1</guid></item></channel></rss>")
        .expect("parses");
    assert_eq!(f.entries.len(), 1);
    assert_eq!(f.entries[0].guid, "g1");
    assert_eq!(f.entries[0].published_source, DateSource::FirstSeen);
    assert_eq!(f.url, "/tmp/test.xml");
}

#[test]
fn identity_falls_back_from_guid_to_link_to_hash() {
    let f = norm(
        br#"<rss version="2.0"><channel><title>T</title><link>https://ex.org/</link>
        <item><title>A</title><link>/a?utm_source=x&amp;id=3</link></item>
        <item><title>B</title><pubDate>Wed, 11 Mar 2026 10:41:04 +0000</pubDate></item>
        </channel></rss>"#,
    )
    .expect("parses");
    assert_eq!(f.url, "https://ex.org/");
    assert_eq!(f.entries[0].guid_source, GuidSource::Link);
    assert_eq!(f.entries[0].guid, "https://ex.org/a?utm_source=x&id=3");
    assert_eq!(
        f.entries[0].canonical_url.as_deref(),
        Some("https://ex.org/a?id=3")
    );
    assert_eq!(f.entries[1].guid_source, GuidSource::Hash);
    assert!(f.entries[1].guid.starts_with("hash:"));
    assert_eq!(
        crate::model::format_time(f.entries[1].published),
        "2026-03-11T10:41:04Z"
    );
}

#[test]
fn rss1_items_keep_rdf_about() {
    let f = norm(
        br#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://ex.eu/feed"><title>Eu</title><link>https://ex.eu/</link></channel>
<item rdf:about="https://ex.eu/item/1"><title>One</title><link>https://ex.eu/news/1</link></item>
<item rdf:about="https://ex.eu/item/2"><title>Two</title><link>https://ex.eu/news/2</link></item>
</rdf:RDF>"#,
    )
    .expect("parses");
    let ids: Vec<&str> = f.entries.iter().map(|e| e.guid.as_str()).collect();
    assert_eq!(ids, ["https://ex.eu/item/1", "https://ex.eu/item/2"]);
    assert_eq!(f.format, FeedFormat::Rss1);
    assert_eq!(
        f.url, "https://ex.eu/feed",
        "the channel's rdf:about is the feed's own URL"
    );
    assert_eq!(f.site_url.as_deref(), Some("https://ex.eu/"));
}

#[test]
fn html_is_sanitized_and_kept_as_text() {
    let f = norm(br#"<rss version="2.0"><channel><title>T</title><item><guid>g</guid><title>A</title>
        <description>&lt;p onclick="x()"&gt;Hello &lt;b&gt;world&lt;/b&gt;&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;a href="javascript:alert(2)"&gt;x&lt;/a&gt;</description>
        </item></channel></rss>"#)
    .expect("parses");
    let e = &f.entries[0];
    let html = e.summary_html.as_deref().unwrap_or_default();
    assert!(
        !html.contains("onclick") && !html.contains("script") && !html.contains("javascript"),
        "{html}"
    );
    assert!(html.contains("<b>world</b>"), "{html}");
    assert_eq!(e.summary_text.as_deref(), Some("Hello world\nx"));
}

#[test]
fn truncated_xml_is_an_error() {
    let err = norm(b"<rss version=\"2.0\"><channel><title>T</title><item><title>A</ti")
        .expect_err("truncated");
    assert!(matches!(err, NormalizeError::Truncated { .. }), "{err}");
    assert!(err.to_string().contains("truncated"));
}

#[test]
fn an_html_page_is_not_a_feed_rather_than_truncated() {
    let page = b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Home</title></head>\n<body><p>News<br>more</p></body></html>\n";
    let err = norm(page).expect_err("not a feed");
    assert!(matches!(err, NormalizeError::Parse(_)), "{err}");
}

#[test]
fn garbage_is_not_a_feed() {
    assert!(matches!(
        norm(b"hello world"),
        Err(NormalizeError::Parse(_))
    ));
    assert!(matches!(norm(b"  \n "), Err(NormalizeError::Empty)));
    assert!(matches!(
        norm(b"<html><body>hi</body></html>"),
        Err(NormalizeError::Parse(_))
    ));
}

#[test]
fn utf16_with_bom_is_decoded() {
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss version=\"2.0\"><channel><title>Caf\u{e9}</title><item><guid>g</guid><title>\u{c9}t\u{e9}</title></item></channel></rss>";
    let mut bytes = vec![0xFF, 0xFE];
    for u in xml.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let f = norm(&bytes).expect("parses");
    assert_eq!(f.title.as_deref(), Some("Caf\u{e9}"));
    assert_eq!(f.entries[0].title, "\u{c9}t\u{e9}");
}

#[test]
fn latin1_without_declaration_is_decoded() {
    let mut bytes = b"<rss version=\"2.0\"><channel><title>Caf".to_vec();
    bytes.push(0xE9);
    bytes.extend_from_slice(b"</title><item><guid>g</guid><title>x</title></item></channel></rss>");
    let f = norm(&bytes).expect("parses");
    assert_eq!(f.title.as_deref(), Some("Caf\u{e9}"));
}

#[test]
fn json_feed_is_read() {
    let f = norm(br#"{"version":"https://jsonfeed.org/version/1.1","title":"J","feed_url":"https://j.io/feed.json",
        "items":[{"id":"1","url":"https://j.io/a?fbclid=2","title":"A","content_text":"Body","date_published":"2026-03-11T11:37:00Z"}]}"#)
        .expect("parses");
    assert_eq!(f.format, FeedFormat::Json);
    assert_eq!(f.url, "https://j.io/feed.json", "feed_url is the self link");
    assert_eq!(f.self_url.as_deref(), Some("https://j.io/feed.json"));
    assert_eq!(f.entries[0].guid, "1");
    assert_eq!(
        f.entries[0].canonical_url.as_deref(),
        Some("https://j.io/a")
    );
    assert_eq!(f.entries[0].content_text.as_deref(), Some("Body"));
}
