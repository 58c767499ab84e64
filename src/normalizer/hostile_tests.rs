//! Tests of the normalizer on hostile documents: nesting, sizes, entry counts.

use super::limits::{MAX_DEPTH, MAX_ENTRIES};
use super::*;

fn doc(bytes: Vec<u8>) -> RawDocument {
    RawDocument {
        name: "hostile".into(),
        fetched_url: None,
        path: Some("/tmp/hostile.xml".into()),
        http_charset: None,
        bytes,
    }
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
}

fn norm(bytes: Vec<u8>) -> Result<NormalizedFeed, NormalizeError> {
    normalize(&doc(bytes), &Identity::default(), now())
}

/// An RSS 2.0 document with the media and iTunes namespaces around
/// `channel_inner` (inside `<channel>`).
fn rss(channel_inner: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\" \
         xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\"><channel><title>T</title>\
         <link>https://ex.org/</link>{channel_inner}</channel></rss>\n"
    )
    .into_bytes()
}

fn nested(open: &str, close: &str, n: usize) -> String {
    format!("{}{}", open.repeat(n), close.repeat(n))
}

/// Runs `f` on a thread with the stack tokio gives its blocking pool
/// (2 MiB), where the pipeline normalizes.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .map(|h| h.join())
    {
        Ok(Ok(v)) => v,
        Ok(Err(_)) => panic!("the thread panicked"),
        Err(e) => panic!("cannot start a thread: {e}"),
    }
}

fn item(inner: &str) -> String {
    format!("<item><title>A</title><guid>g1</guid>{inner}</item>")
}

#[test]
fn deep_documents_are_refused_before_feed_rs_recurses() {
    let cases = [
        (
            rss(&item(&nested("<media:group>", "</media:group>", 1000))),
            "<media:group>",
        ),
        (
            rss(&format!(
                "{}{}",
                nested("<itunes:category text=\"x\">", "</itunes:category>", 5000),
                item("")
            )),
            "<itunes:category>",
        ),
        (rss(&item(&nested("<x>", "</x>", 100_000))), "<x>"),
        // Unclosed: refused for its depth before it counts as truncated.
        (rss(&item(&"<media:group>".repeat(500))), "<media:group>"),
    ];
    for (bytes, element) in cases {
        let err = on_small_stack(move || norm(bytes)).expect_err("too deep");
        match &err {
            NormalizeError::TooDeep {
                element: e,
                depth,
                limit,
                ..
            } => {
                assert_eq!(e, element);
                assert_eq!((*depth, *limit), (MAX_DEPTH + 1, MAX_DEPTH));
            }
            other => panic!("{other}"),
        }
        let message = err.to_string();
        assert!(
            message.starts_with(&format!(
                "nested deeper than {MAX_DEPTH} levels: {element} at byte "
            )),
            "{message}"
        );
    }
    for (json, what) in [
        (format!("{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{{\"id\":\"1\",\"x\":{}}}]}}", nested("[", "]", 100_000)), "a JSON array"),
        (format!("{{\"items\":[{{\"id\":\"1\",\"x\":{}1{}}}]}}", "{\"a\":".repeat(10_000), "}".repeat(10_000)), "a JSON object"),
    ] {
        let err = on_small_stack(move || norm(json.into_bytes())).expect_err("too deep");
        assert!(
            matches!(&err, NormalizeError::TooDeep { element, .. } if element == what),
            "{err}"
        );
    }
}

#[test]
fn documents_at_the_depth_limit_fit_a_small_stack() {
    // rss, channel and item are the first three levels, media:content
    // the last.
    let groups = rss(&item(&format!(
        "{}<media:content url=\"https://ex.org/v.mp4\"/>{}",
        "<media:group>".repeat(MAX_DEPTH - 4),
        "</media:group>".repeat(MAX_DEPTH - 4)
    )));
    let feed = on_small_stack(move || norm(groups)).expect("at the limit");
    assert_eq!(feed.entries.len(), 1);
    let categories = rss(&format!(
        "{}{}",
        nested(
            "<itunes:category text=\"x\">",
            "</itunes:category>",
            MAX_DEPTH - 2
        ),
        item("")
    ));
    let feed = on_small_stack(move || norm(categories)).expect("at the limit");
    assert_eq!(feed.entries.len(), 1);
    let json = format!(
        "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{{\"id\":\"1\",\"content_text\":\"x\",\"_x\":{}}}]}}",
        nested("[", "]", MAX_DEPTH - 3)
    );
    let feed = on_small_stack(move || norm(json.into_bytes())).expect("at the limit");
    assert_eq!(feed.entries.len(), 1);
}

#[test]
fn normalize_on_big_stack_gives_what_normalize_gives() {
    let bytes = rss(&item("<description>&lt;p&gt;Hello&lt;/p&gt;</description>"));
    let d = doc(bytes);
    let identity = Identity::default();
    let here = normalize(&d, &identity, now()).expect("parses");
    let there = normalize_on_big_stack(&d, &identity, now()).expect("parses");
    assert_eq!(here.entries.len(), there.entries.len());
    assert_eq!(here.entries[0].summary_text, there.entries[0].summary_text);
    let deep = doc(rss(&item(&nested("<media:group>", "</media:group>", 1000))));
    assert!(matches!(
        normalize_on_big_stack(&deep, &identity, now()),
        Err(NormalizeError::TooDeep { .. })
    ));
}

#[test]
fn entries_over_the_limit_are_dropped() {
    let items: String = (0..MAX_ENTRIES + 5)
        .map(|i| format!("<item><guid>g{i}</guid></item>"))
        .collect();
    let f = norm(rss(&items)).expect("parses");
    assert_eq!(f.entries.len(), MAX_ENTRIES);
    assert_eq!(
        f.entries[MAX_ENTRIES - 1].guid,
        format!("g{}", MAX_ENTRIES - 1)
    );
    assert!(
        f.warnings.iter().any(
            |w| w == &format!("dropped 5 entries over the limit of {MAX_ENTRIES} per document")
        ),
        "{:?}",
        f.warnings
    );
    let items: Vec<String> = (0..MAX_ENTRIES + 3)
        .map(|i| format!("{{\"id\":\"j{i}\",\"content_text\":\"x\"}}"))
        .collect();
    let json = format!(
        "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{}]}}",
        items.join(",")
    );
    let f = norm(json.into_bytes()).expect("parses");
    assert_eq!(f.entries.len(), MAX_ENTRIES);
    assert!(
        f.warnings
            .iter()
            .any(|w| w.starts_with("dropped 3 items over the limits")),
        "{:?}",
        f.warnings
    );
}

#[test]
fn html_too_costly_to_sanitize_is_kept_as_text() {
    let body = format!("{}Hello &amp; bye", "<div>".repeat(5_000));
    let f = norm(rss(&format!(
        "<item><title>A</title><guid>g1</guid><description><![CDATA[{body}]]></description></item>\
         <item><title>B</title><guid>g2</guid><description>&lt;p&gt;fine&lt;/p&gt;</description></item>"
    )))
    .expect("parses");
    let e = &f.entries[0];
    assert_eq!(e.summary_text.as_deref(), Some("Hello & bye"));
    assert_eq!(e.summary_html.as_deref(), Some("<p>Hello &amp; bye</p>"));
    assert!(
        f.warnings.contains(&format!(
            "entry \"g1\": summary kept as plain text: its HTML leaves over {} elements open",
            limits::MAX_HTML_DEPTH
        )),
        "{:?}",
        f.warnings
    );
    assert_eq!(f.entries[1].summary_html.as_deref(), Some("<p>fine</p>"));
    assert_eq!(f.warnings.len(), 1, "{:?}", f.warnings);
}

#[test]
fn long_texts_are_cut() {
    let word = "word ".repeat(limits::MAX_TEXT_BYTES / 5 + 100);
    let f = norm(rss(&item(&format!("<description>{word}</description>")))).expect("parses");
    let text = f.entries[0].summary_text.as_deref().unwrap_or_default();
    assert!(text.len() <= limits::MAX_TEXT_BYTES, "{}", text.len());
    assert!(
        f.warnings.iter().any(|w| w.contains("summary text cut to")),
        "{:?}",
        f.warnings
    );
}

/// About `len` bytes of pseudo-random words (from a few thousand).
fn words(len: usize, seed: u64) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.push_str(&format!("w{} ", state % 5_000));
    }
    out
}

/// The hostile documents of issue #12, generated: (name, bytes).
fn hostile_documents() -> Vec<(&'static str, Vec<u8>)> {
    let cdata = |html: &str| {
        rss(&format!(
            "<item><title>A</title><guid>g1</guid><description><![CDATA[{html}]]></description></item>"
        ))
    };
    let many = |n: usize, html: &str| {
        let items: String = (0..n)
            .map(|i| {
                format!("<item><title>A{i}</title><guid>g{i}</guid><description><![CDATA[{html}]]></description></item>")
            })
            .collect();
        rss(&items)
    };
    // Just within the per-entry limits: 120 open elements, then
    // elements opened and closed at that depth.
    let deep_within = format!("{}{}", "<div>".repeat(120), "<i>x</i>".repeat(2_000));
    let formatting_within: String = format!(
        "{}{}",
        (0..30).map(|i| format!("<b id={i}>")).collect::<String>(),
        "<p>x</p>".repeat(5_000)
    );
    let escapes_within = format!(
        "{}{}",
        "&amp;".repeat(1_900),
        "x".repeat((1 << 20) - 10_000)
    );
    vec![
        ("media:group x1000 (27 KB)", rss(&item(&nested("<media:group>", "</media:group>", 1000)))),
        ("itunes:category x5000", rss(&format!("{}{}", nested("<itunes:category text=\"x\">", "</itunes:category>", 5000), item("")))),
        ("200k unclosed <div> (1 MB)", cdata(&"<div>".repeat(200_000))),
        ("25k unclosed <div>", cdata(&"<div>".repeat(25_000))),
        ("1M &zz; (4 MB)", cdata(&"&zz;".repeat(1_000_000))),
        ("200k nested <table>", cdata(&"<table>".repeat(200_000))),
        ("200k nested <ul>", cdata(&"<ul>".repeat(200_000))),
        ("70k nested <table><tr><td>", cdata(&"<table><tr><td>".repeat(70_000))),
        ("100k nested <ul><li>", cdata(&"<ul><li>".repeat(100_000))),
        ("200k <span></zz>", cdata(&"<span></zz>".repeat(200_000))),
        ("2M <b>a</b> in one entry (16 MB)", cdata(&"<b>a</b>".repeat(2_000_000))),
        ("2M <b>a</b> as XML elements (16 MB)", rss(&item(&format!("<description>{}</description>", "<b>a</b>".repeat(2_000_000))))),
        ("9,500 entries of 200 <b>a</b> (16 MB)", many(9_500, &"<b>a</b>".repeat(200))),
        ("130 entries at the depth limit", many(130, &deep_within)),
        ("400 entries at the formatting limit", many(400, &formatting_within)),
        ("15 entries at the escape limit", many(15, &escapes_within)),
        ("64 entries of 250 KB of words (16 MB)", many(64, &words(250_000, 1))),
        ("14k entries of 1 KB of words (16 MB)", many(14_000, &words(1_000, 2))),
        ("1500 entries of 1000 <p>word</p>", many(1_500, &words(5_000, 3).split(' ').take(1000).map(|w| format!("<p>{w}</p>")).collect::<String>())),
        ("10k entries with 1.5 KB titles", rss(&(0..10_000).map(|i| format!("<item><guid>g{i}</guid><title>{}</title></item>", words(1_500, i))).collect::<String>())),
        ("one entry with a 15 MB link and guid", rss(&format!("<item><guid>{0}</guid><link>https://ex.org/{0}</link></item>", "a".repeat(7_500_000)))),
        ("2.3M <item/> (16 MB)", rss(&"<item/>".repeat(2_300_000))),
        ("700k <category> in one item (15 MB)", rss(&item(&"<category>c</category>".repeat(700_000)))),
        ("5M JSON items (15 MB)", format!("{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{}]}}", vec!["{}"; 5_000_000].join(",")).into_bytes()),
        ("10k JSON items of 150 members (16 MB)", {
            let item = format!("{{{}}}", (0..150).map(|i| format!("\"k{i}\":{i}")).collect::<Vec<_>>().join(","));
            format!("{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{}]}}", vec![item; 10_000].join(",")).into_bytes()
        }),
        ("4M JSON tags in one item (16 MB)", format!("{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{{\"id\":\"1\",\"tags\":[{}]}}]}}", vec!["\"t\""; 4_000_000].join(",")).into_bytes()),
    ]
}

/// Times `normalize` on each hostile document (a release build must
/// take under 2 s on each); with `FEEDFOLD_HOSTILE_DIR` set, also
/// writes them there (for `/usr/bin/time -v feedfold parse FILE`);
/// `FEEDFOLD_HOSTILE_ONLY=N` times document N only.
///
/// `cargo test --release --lib hostile_document_timings -- --ignored --nocapture`
#[test]
#[ignore]
fn hostile_document_timings() {
    let dir = std::env::var_os("FEEDFOLD_HOSTILE_DIR").map(std::path::PathBuf::from);
    let only: Option<usize> = std::env::var("FEEDFOLD_HOSTILE_ONLY")
        .ok()
        .and_then(|n| n.parse().ok());
    let mut slowest = std::time::Duration::ZERO;
    for (i, (name, bytes)) in hostile_documents().into_iter().enumerate() {
        if only.is_some_and(|n| n != i) {
            continue;
        }
        if let Some(dir) = &dir {
            let path = dir.join(format!(
                "hostile-{i:02}.{}",
                if bytes.first() == Some(&b'{') {
                    "json"
                } else {
                    "xml"
                }
            ));
            if let Err(e) = std::fs::write(&path, &bytes) {
                panic!("cannot write {}: {e}", path.display());
            }
        }
        let size = bytes.len();
        let d = doc(bytes);
        let started = std::time::Instant::now();
        let outcome = normalize_on_big_stack(&d, &Identity::default(), now());
        let took = started.elapsed();
        slowest = slowest.max(took);
        let what = match &outcome {
            Ok(f) => format!(
                "{} entries, {} warnings{}",
                f.entries.len(),
                f.warnings.len(),
                f.warnings
                    .first()
                    .map(|w| format!(" ({w})"))
                    .unwrap_or_default()
            ),
            Err(e) => format!("refused: {e}"),
        };
        println!(
            "hostile {i:02} {name:<40} {:>9} bytes {:>8.3} s  {what}",
            size,
            took.as_secs_f64()
        );
    }
    println!("slowest: {:.3} s", slowest.as_secs_f64());
    if !cfg!(debug_assertions) {
        assert!(slowest < std::time::Duration::from_secs(2), "{slowest:?}");
    }
}

#[test]
fn titles_and_feed_fields_hold_text() {
    let atom = br#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
<title type="html">&lt;b&gt;Feed&lt;/b&gt; &amp;amp; co</title><id>urn:f</id>
<subtitle type="html">&lt;keygen autofocus onfocus=alert(1)&gt;About</subtitle>
<entry><id>urn:1</id><title type="html">&lt;keygen autofocus onfocus=alert(1)&gt;</title></entry>
<entry><id>urn:2</id><title type="html">&gt;&lt;img src=x onerror=alert(1)&gt;</title></entry>
<entry><id>urn:3</id><title type="text">a &lt; b and c &gt; d</title></entry>
<entry><id>urn:4</id><title type="html">Tom &amp;amp; Jerry: 1 &amp;lt; 2</title></entry>
<entry><id>urn:5</id><title>Example &lt;b&gt;Atom&lt;/b&gt;</title></entry>
</feed>"#;
    let f = norm(atom.to_vec()).expect("parses");
    assert_eq!(f.title.as_deref(), Some("Feed & co"));
    assert_eq!(f.description.as_deref(), Some("About"));
    assert_eq!(f.entries[0].title, "");
    assert_eq!(f.entries[1].title, ">");
    assert_eq!(f.entries[2].title, "a < b and c > d");
    assert_eq!(f.entries[3].title, "Tom & Jerry: 1 < 2");
    // Atom declares its text types: a title of type text is text.
    assert_eq!(f.entries[4].title, "Example <b>Atom</b>");

    let rss2 = rss(
        "<description>&lt;script&gt;alert(\"d\")&lt;/script&gt;Daily</description>\
         <item><guid>1</guid><title>&lt;keygen autofocus onfocus=alert(1)&gt;</title>\
         <author>&lt;b onmouseover=alert(1)&gt;Ann&lt;/b&gt;</author>\
         <category>&lt;img src=x onerror=alert(1)&gt;News</category></item>\
         <item><guid>2</guid><title>&gt;&lt;img src=x onerror=alert(1)&gt;</title></item>\
         <item><guid>3</guid><title>a &lt; b, 1&lt;2 and Vec&lt;T&gt; in Rust</title></item>\
         <item><guid>4</guid><title>x &lt;= y &amp;&amp; y &gt; z</title></item>\
         <item><guid>5</guid><title>USAIR &lt;U&gt; SEEKS ORDER AGAINST TWA &lt;TWA&gt;</title></item>",
    );
    let mut bytes = rss2;
    let at = bytes
        .windows(8)
        .position(|w| w == b"<title>T")
        .unwrap_or_default();
    bytes.splice(
        at + 7..at + 8,
        b"&lt;script&gt;alert(\"feed\")&lt;/script&gt;T"
            .iter()
            .copied(),
    );
    let f = norm(bytes).expect("parses");
    assert_eq!(f.title.as_deref(), Some("T"));
    assert_eq!(f.description.as_deref(), Some("Daily"));
    assert_eq!(f.entries[0].title, "");
    assert_eq!(f.entries[0].author.as_deref(), Some("Ann"));
    let cats = f.entries[0].categories.clone().unwrap_or_default();
    assert_eq!(cats[0].term, "News");
    assert_eq!(f.entries[1].title, ">");
    assert_eq!(f.entries[2].title, "a < b, 1<2 and Vec<T> in Rust");
    assert_eq!(f.entries[3].title, "x <= y && y > z");
    // Stock tickers, not markup.
    assert_eq!(
        f.entries[4].title,
        "USAIR <U> SEEKS ORDER AGAINST TWA <TWA>"
    );
    for e in &f.entries {
        assert!(
            !e.title.contains("<keygen") && !e.title.contains("<img"),
            "{}",
            e.title
        );
    }
}
