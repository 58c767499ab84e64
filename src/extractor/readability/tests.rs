//! Tests of the readability extractor: limits, verdicts and output.

use super::*;

fn article_html() -> String {
    let para = "<p>The quick brown fox jumps over the lazy dog, again and again, \
                because that is what foxes in sentences are for, and nobody minds. \
                It keeps jumping, it keeps running, and the dog keeps lying there.</p>";
    format!(
        "<html><head><title>Fox news</title></head><body><article>{}</article></body></html>",
        para.repeat(8)
    )
}

#[test]
fn counts_words() {
    assert_eq!(count_words("Hello, world! It's 2024."), 5);
    assert_eq!(count_words("日本語 text"), 4);
    assert_eq!(count_words("カタ・カナ"), 4);
    assert_eq!(count_words(""), 0);
}

#[test]
fn truncates_on_char_boundary() {
    let s = "aé"; // 'é' is 2 bytes
    assert_eq!(truncate_at_char_boundary(s, 2), "a");
    assert_eq!(truncate_at_char_boundary(s, 3), "aé");
}

#[test]
fn extracts_simple_article() {
    let got = extract(&article_html(), Some("https://example.com/a")).expect("article");
    assert_eq!(got.title.as_deref(), Some("Fox news"));
    assert!(got.word_count > 200, "{}", got.word_count);
    assert!(got.is_article);
    assert!(got.caps.is_empty());
    assert!(got.text.starts_with("The quick brown fox"));
}

#[test]
fn drops_related_link_lists() {
    let html = article_html().replace(
        "</article>",
        "<h2>You may also like</h2><ul><li><a href=\"/1\">Cats win election in landslide</a></li>\
         <li><a href=\"/2\">Dogs demand recount of the cat election</a></li></ul></article>",
    );
    let got = extract(&html, None).expect("article");
    assert!(!got.text.contains("landslide"), "{}", got.text);
    let kept = extract_with(
        &html,
        None,
        &Options {
            drop_link_lists: false,
            ..Options::default()
        },
    )
    .expect("article");
    assert!(kept.text.contains("landslide"));
}

#[test]
fn truncation_is_reported() {
    let html = article_html();
    let options = Options {
        limits: Limits {
            max_input_bytes: html.len() - 100,
            ..Limits::default()
        },
        ..Options::default()
    };
    let got = extract_with(&html, None, &options).expect("article");
    assert_eq!(
        got.caps,
        vec![Cap::InputTruncated {
            original_bytes: html.len(),
            kept_bytes: html.len() - 100
        }]
    );
}

#[test]
fn prescan_estimates_depth() {
    let p = |s: &str| prescan(s.as_bytes(), 512);
    assert_eq!(p("<div><div><span>x</span></div></div>").depth, 3);
    // Optional end tags and void elements do not nest.
    assert_eq!(
        p("<ul><li>a<li>b<li>c</ul><p>x<p>y<br><img src=x>").depth,
        1
    );
    // Unmatched end tags are ignored, as the tree builder does.
    assert_eq!(p("<div></b><div></b><div>").depth, 3);
    // Self-closing only counts in SVG/MathML.
    assert_eq!(p("<svg><path/><path/></svg>").depth, 1);
    assert_eq!(p("<div/><div/><div/>").depth, 3);
    // Script, style and comments are skipped.
    assert_eq!(
        p("<script>if (a<b) { x = '<div><div>' }</script><!-- <div><div> -->").depth,
        0
    );
    assert_eq!(p("<p>&amp; &zz;</p>").ampersands, 2);
    assert_eq!(
        p("<a href='?a=1&amp;b=2'>x</a><script>a && b</script><!-- & -->").ampersands,
        1
    );
    // Stops tracking just past the limit.
    assert_eq!(prescan("<div>".repeat(10_000).as_bytes(), 100).depth, 101);
}

#[test]
fn refuses_deep_nesting_before_parsing() {
    let html = format!(
        "<body>{}x{}</body>",
        "<div>".repeat(100_000),
        "</div>".repeat(100_000)
    );
    assert!(matches!(
        extract(&html, None),
        Err(ExtractError::OverLimit {
            limit: Limit::EstimatedDepth,
            ..
        })
    ));
}

#[test]
fn refuses_deep_tables_after_parsing() {
    // Not nested lexically (tr/td are not counted) but 3 levels per repetition.
    let html = format!("<body>{}x</body>", "<table><tr><td>".repeat(400));
    assert!(matches!(
        extract(&html, None),
        Err(ExtractError::OverLimit {
            limit: Limit::Depth,
            ..
        })
    ));
}

#[test]
fn refuses_escape_bombs() {
    let html = format!("<body><p>{}</p></body>", "&amp;".repeat(150_000));
    assert!(matches!(
        extract(&html, None),
        Err(ExtractError::OverLimit {
            limit: Limit::EscapeWork,
            ..
        })
    ));
    // Separate text nodes that Readability merges once the comments are gone.
    let html = format!("<body><p>{}</p></body>", "&amp;x<!---->".repeat(150_000));
    assert!(matches!(
        extract(&html, None),
        Err(ExtractError::OverLimit {
            limit: Limit::EscapeWork,
            ..
        })
    ));
    let html = format!("<body><p>{}</p></body>", "&zz;".repeat(1_000_000));
    assert!(matches!(
        extract(&html, None),
        Err(ExtractError::OverLimit {
            limit: Limit::Ampersands,
            ..
        })
    ));
}

#[test]
fn garbled_text() {
    assert!(!looks_garbled(
        "Plain text, with accents: é, ü, and CJK 日本."
    ));
    assert!(looks_garbled("a\u{FFFD}b\u{FFFD}c"));
    assert!(looks_garbled("h\0e\0l\0l\0o\0"));
}

#[test]
fn garbage_is_not_an_article() {
    let bytes: Vec<u8> = (0u32..200_000)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let html = String::from_utf8_lossy(&bytes);
    match extract(&html, None) {
        Ok(e) => assert!(!e.is_article, "garbage taken for an article"),
        Err(ExtractError::NoContent | ExtractError::OverLimit { .. }) => {}
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[test]
fn empty_and_tiny_inputs_do_not_panic() {
    for html in [
        "",
        " ",
        "<",
        "&",
        "<!--",
        "<script>",
        "<svg><math></svg>",
        "\0\0",
    ] {
        if let Ok(e) = extract(html, None) {
            assert!(!e.is_article, "{html:?}");
        }
    }
}

#[test]
fn bad_url_is_an_error() {
    assert!(matches!(
        extract("<p>x</p>", Some("not a url")),
        Err(ExtractError::BadUrl)
    ));
}
