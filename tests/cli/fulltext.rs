//! Full-text fetching through the real binary, against article pages a
//! test server on 127.0.0.1 serves: `feedfold extract`, `ingest
//! --full-text` placing summary-only entries with the wire copies of
//! their stories (the same result however the pages come in), and hostile
//! article pages each ending in a recorded failure.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;

use crate::common::articles::{page_number, story, summary_feed, wire_feed, Story};
use crate::common::feeds::{Feed, Item};
use crate::common::server::{Response, Server};
use crate::common::{feedfold, run, TestStore};

const STORIES: usize = 6;

fn stories() -> Vec<Story> {
    (0..STORIES).map(story).collect()
}

/// A server with the wire feed (`/wire.xml`, full text), the summary feed
/// (`/summary.xml`, teasers linking to `/a/N.html`) and the article pages,
/// each answered after `delay` (the later ones sooner, so pages come in
/// out of order).
fn newsroom(delay: Duration) -> Server {
    let all = stories();
    let now = chrono::Utc::now();
    let wire = wire_feed(&all, |i| now - chrono::Duration::minutes(60 - i as i64));
    Server::handler(move |req| {
        let path = req.path.as_str();
        if path == "/wire.xml" {
            return Response::ok(wire.clone());
        }
        if path == "/summary.xml" {
            let base = format!("http://{}", req.header("host").unwrap_or_default());
            let summary = summary_feed(
                &all,
                |i| now - chrono::Duration::minutes(50 - i as i64),
                |i| format!("{base}/a/{i}.html"),
            );
            return Response::ok(summary);
        }
        let page = page_number(path).and_then(|n| all.get(n).map(|s| (n, s)));
        match page {
            Some((n, s)) => {
                let others: Vec<Story> =
                    all.iter().filter(|o| o.title != s.title).cloned().collect();
                Response::ok(s.page(&others))
                    .header("Content-Type", "text/html; charset=utf-8")
                    .delay(delay * (STORIES - n) as u32)
            }
            None => Response::not_found(),
        }
    })
}

/// guid -> the set of guids in its story.
fn partition(store: &TestStore) -> BTreeMap<String, BTreeSet<String>> {
    let a = store.assignment();
    a.iter()
        .map(|(g, s)| {
            let mates = a
                .iter()
                .filter(|(_, t)| *t == s)
                .map(|(h, _)| h.clone())
                .collect();
            (g.clone(), mates)
        })
        .collect()
}

fn ingest_full_text(store: &TestStore, server: &Server) -> String {
    let mut cmd = feedfold();
    cmd.args(["--allow-private", "ingest", "--full-text", "--db"])
        .arg(&store.db)
        .arg(server.url("/wire.xml"))
        .arg(server.url("/summary.xml"));
    let out = run(&mut cmd, None);
    out.assert_ok();
    out.stdout
}

#[test]
fn ingest_full_text_puts_summaries_with_their_wire_copies() {
    let server = newsroom(Duration::from_millis(40));

    // Without fetching, a teaser shares nothing with its story's text.
    let plain = TestStore::new();
    plain
        .ingest([server.url("/wire.xml"), server.url("/summary.xml")])
        .assert_ok();
    for i in 0..STORIES {
        assert_ne!(
            plain.story_of(&format!("s{i}")),
            plain.story_of(&format!("w{i}"))
        );
    }
    assert_eq!(plain.int("SELECT count(*) FROM article_fetches"), 0);

    let store = TestStore::new();
    let out = ingest_full_text(&store, &server);
    assert!(
        out.contains(&format!("articles: {STORIES} fetched, 0 failed")),
        "{out}"
    );
    for i in 0..STORIES {
        assert_eq!(
            store.story_of(&format!("s{i}")),
            store.story_of(&format!("w{i}")),
            "summary {i} is with its wire copy"
        );
        assert_eq!(
            store
                .entry_text(&format!("s{i}"), "content_source")
                .as_deref(),
            Some("article")
        );
        // The wire feed carries full text: its links are never fetched.
        assert_eq!(
            store.entry_text(&format!("w{i}"), "article_url"),
            None,
            "wire entry {i}"
        );
    }
    let stories: BTreeSet<i64> = (0..STORIES)
        .map(|i| store.story_of(&format!("w{i}")))
        .collect();
    assert_eq!(stories.len(), STORIES, "one story per made-up story");
    assert_eq!(store.int("SELECT count(*) FROM stories"), STORIES as i64);
    assert_eq!(
        store.int("SELECT count(*) FROM events WHERE id NOT IN (SELECT event_id FROM stories)"),
        0,
        "no empty event is left"
    );
    store.assert_consistent();
    // Each page was fetched once.
    for i in 0..STORIES {
        assert_eq!(server.hits(&format!("/a/{i}.html")), 1);
    }
    // The text (not only the title or the extractor's furniture) arrived.
    let text = store.entry_text("s0", "content_text").unwrap_or_default();
    assert!(text.contains(&story(0).paragraphs[5]), "{text}");
    assert!(
        !text.contains("Home") && !text.contains("Copyright"),
        "{text}"
    );

    // `story` says which text a match used.
    let id = store.story_of("s0").to_string();
    let shown = store.query("story", &[&id]);
    shown.assert_ok();
    assert!(
        shown.stdout.contains("text:  the article page"),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains("text:  the feed's"),
        "{}",
        shown.stdout
    );
    let json: Value =
        serde_json::from_str(&store.query("story", &[&id, "--json"]).stdout).expect("story JSON");
    // (JSON names the article's text only; feed text is the default.)
    let sources: Vec<Option<&str>> = json["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["text"].as_str())
        .collect();
    assert!(
        sources.contains(&Some("article")) && sources.contains(&None),
        "{json}"
    );

    // The same feeds and pages, answered in another order, give the same stories.
    let slow_first = newsroom(Duration::ZERO);
    let again = TestStore::new();
    ingest_full_text(&again, &slow_first);
    assert_eq!(partition(&again), partition(&store));

    // Ingesting the summaries again neither fetches the pages again nor
    // loses the articles' text.
    ingest_full_text(&store, &server);
    for i in 0..STORIES {
        assert_eq!(server.hits(&format!("/a/{i}.html")), 1);
    }
    assert_eq!(
        store.int("SELECT count(*) FROM entries WHERE content_source = 'article'"),
        STORIES as i64
    );
}

#[test]
fn extract_prints_the_article_of_a_page() {
    let store = TestStore::new();
    let s = story(3);
    let page = store.path("page.html");
    std::fs::write(&page, s.page(&[story(4), story(5)])).expect("write page");
    let out = run(feedfold().arg("extract").arg(&page), None);
    out.assert_ok();
    assert!(
        out.stdout.contains(&format!("title:      {}", s.title)),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("article:    yes"), "{}", out.stdout);
    assert!(out.stdout.contains(&s.paragraphs[0]), "{}", out.stdout);
    assert!(
        !out.stdout.contains(&story(4).title),
        "related list dropped"
    );
    let json: Value =
        serde_json::from_str(&run(feedfold().arg("extract").arg("--json").arg(&page), None).stdout)
            .expect("JSON");
    assert_eq!(json["title"], s.title.as_str());
    assert_eq!(json["looks_like_article"], true);
    assert!(json["word_count"].as_u64().unwrap_or(0) > 100, "{json}");

    // A URL is fetched like an article link: loopback only with --allow-private.
    let server = Server::routes([(
        "/p.html",
        vec![Response::ok(s.page(&[])).header("Content-Type", "text/html")],
    )]);
    let refused = run(feedfold().args(["extract", &server.url("/p.html")]), None);
    assert_eq!(refused.code, Some(1));
    assert!(
        refused.stderr.contains("private or local address"),
        "{}",
        refused.stderr
    );
    let fetched = run(
        feedfold().args(["--allow-private", "extract", &server.url("/p.html")]),
        None,
    );
    fetched.assert_ok();
    assert!(
        fetched.stdout.contains(&s.paragraphs[2]),
        "{}",
        fetched.stdout
    );
}

#[test]
fn hostile_article_pages_end_in_recorded_failures() {
    let nested = format!("<html><body>{}</body></html>", "<div>".repeat(100_000));
    // Declared UTF-8, sent in Latin-1 with an accented letter in every
    // word: a page of replacement characters.
    let others: Vec<Story> = Vec::new();
    let wrong_charset: Vec<u8> = story(1)
        .page(&others)
        .bytes()
        .map(|b| if b == b'a' { 0xE4 } else { b })
        .collect();
    let server = Server::raw(move |req, stream| {
        let host = req.header("host").unwrap_or_default().to_string();
        let private = host.replacen("127.0.0.1", "127.0.0.2", 1);
        let html = "text/html; charset=utf-8";
        let response = match req.path.as_str() {
            "/huge" => Response::ok(vec![b'a'; 9 << 20]).header("Content-Type", "text/html"),
            "/nested" => Response::ok(nested.clone()).header("Content-Type", html),
            "/charset" => Response::ok(wrong_charset.clone()).header("Content-Type", html),
            "/redirect" => {
                Response::new(302).header("Location", &format!("http://{private}/nested"))
            }
            "/pdf" => Response::ok("%PDF-1.4").header("Content-Type", "application/pdf"),
            "/summary.xml" => {
                let base = format!("http://{host}");
                let feed = Feed::new("Hostile").items(
                    ["huge", "nested", "charset", "redirect", "missing", "pdf"]
                        .iter()
                        .enumerate()
                        .map(|(i, p)| {
                            Item::aged(
                                &format!("h{i}"),
                                &format!("Teaser {p}"),
                                "A line. Read more",
                                chrono::Duration::minutes(i as i64),
                            )
                            .link(&format!("{base}/{p}"))
                        }),
                );
                Response::ok(feed.rss())
            }
            _ => Response::not_found(),
        };
        response.send(stream);
    });
    let store = TestStore::new();
    // The test server counts as public: the guard stays on for redirects.
    let config = store.path("ff.toml");
    std::fs::write(&config, "[http]\npublic_hosts = [\"127.0.0.1\"]\n").expect("config");
    let mut cmd = feedfold();
    cmd.arg("--config")
        .arg(&config)
        .args(["ingest", "--full-text", "--db"])
        .arg(&store.db)
        .arg(server.url("/summary.xml"));
    let out = run(&mut cmd, None);
    out.assert_ok();
    assert!(
        out.stdout.contains("articles: 0 fetched, 6 failed"),
        "{}",
        out.stdout
    );
    let conn = store.conn();
    let mut stmt = conn
        .prepare("SELECT url, state, attempts, last_error FROM article_fetches ORDER BY url")
        .expect("prepare");
    let rows: Vec<(String, String, i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let expect = [
        ("/charset", "not an article"),
        ("/huge", "limit (the article page limit)"),
        ("/missing", "404"),
        ("/nested", "nesting depth"),
        ("/pdf", "not an HTML page"),
        ("/redirect", "private or local address"),
    ];
    assert_eq!(rows.len(), expect.len(), "{rows:?}");
    for ((url, state, attempts, error), (path, why)) in rows.iter().zip(expect) {
        assert!(url.ends_with(path), "{url} vs {path}");
        assert_eq!((state.as_str(), *attempts), ("failed", 1), "{url}: {error}");
        assert!(error.contains(why), "{url}: {error}");
    }
    // The entries keep their feed text and are stored and grouped.
    assert_eq!(
        store.int("SELECT count(*) FROM entries WHERE content_source = 'feed'"),
        6
    );
    store.assert_consistent();
}

#[test]
fn feeds_add_keeps_a_feed_s_full_text_mode() {
    let server = Server::routes([(
        "/feed.xml",
        vec![Response::ok(
            Feed::new("F")
                .items([Item::aged(
                    "f1",
                    "Title",
                    "Text.",
                    chrono::Duration::minutes(5),
                )])
                .rss(),
        )],
    )]);
    let store = TestStore::new();
    let url = server.url("/feed.xml");
    let add = |mode: &str| {
        let mut cmd = feedfold();
        cmd.args([
            "--allow-private",
            "feeds",
            "add",
            &url,
            "--full-text",
            mode,
            "--db",
        ])
        .arg(&store.db);
        run(&mut cmd, None)
    };
    let refused = add("sometimes");
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    add("never").assert_ok();
    assert_eq!(
        store.int("SELECT count(*) FROM subscriptions WHERE full_text = 'never'"),
        1
    );
}
