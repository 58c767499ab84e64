//! `feedfold serve`: the read-only HTTP server over a store that `ingest`
//! filled, on 127.0.0.1 (a free port the process logs).
//!
//! - The folded feeds (Atom, JSON Feed, RSS) parse in feed-rs and in
//!   Python's `feedparser` (Atom and RSS; the released feedparser reads no
//!   JSON Feed, which gets a check of the spec's rules instead), with an
//!   id, a link, a title and a date per entry; a second request with the
//!   validators answers 304, and a story that gains a copy changes its
//!   `updated` and the ETag.
//! - The JSON API answers what the CLI's `--json` prints.
//! - Bad requests get JSON errors (400, 404, 405), a huge `limit` is
//!   capped, requests never change the store's files, a token guards
//!   everything but `/healthz`, and a non-loopback address needs one.
//! - On wire-dev (`../shared/corpus/wire-dev`, skipped when absent),
//!   `/stories.atom?min_copies=2` has one entry per multi-copy story and
//!   one `related` link per other copy.
//! - `/metrics` passes a strict reader of the exposition format and
//!   `promtool check metrics` where it is installed.
//!
//! `feedparser` comes from pip (`.ci/run` installs it); without python3
//! or feedparser those checks print a note and pass.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::feeds::{Feed, Item};
use crate::common::fixtures::guid;
use crate::common::http::{get, get_with, request, Serve};
use crate::common::{feedfold, prometheus, run, TestStore};

/// The entries of a feed as feed-rs reads it: (id, first link, title, updated or published).
fn feed_rs_entries(body: &str) -> Vec<(String, String, String, String)> {
    let feed = feed_rs::parser::parse(body.as_bytes())
        .unwrap_or_else(|e| panic!("feed-rs cannot parse it ({e}):\n{body}"));
    feed.entries
        .iter()
        .map(|e| {
            (
                e.id.clone(),
                e.links.first().map(|l| l.href.clone()).unwrap_or_default(),
                e.title
                    .as_ref()
                    .map(|t| t.content.clone())
                    .unwrap_or_default(),
                e.updated
                    .or(e.published)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// What Python's feedparser makes of a served feed, fetched by feedparser
/// itself (so with its own Accept-Encoding and validators): `None` when
/// python3 or feedparser is missing.
fn feedparser(url: &str) -> Option<Value> {
    let script = r#"
import json, sys
try:
    import feedparser
except ImportError:
    print(json.dumps(None)); sys.exit(0)
d = feedparser.parse(sys.argv[1])
again = feedparser.parse(sys.argv[1], etag=d.get("etag"), modified=d.get("modified"))
print(json.dumps({
    "bozo": bool(d.bozo), "exception": str(d.get("bozo_exception", "")), "version": d.version,
    "status": d.get("status"), "again": again.get("status"),
    "entries": [{k: e.get(k) for k in ("id", "link", "title", "updated", "published")}
                for e in d.entries],
    "related": [[l.get("href") for l in e.get("links", []) if l.get("rel") == "related"]
                for e in d.entries],
}))
"#;
    let out = Command::new("python3")
        .args(["-c", script, url])
        .env("no_proxy", "127.0.0.1")
        .env("NO_PROXY", "127.0.0.1")
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    (!v.is_null()).then_some(v)
}

fn rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

/// The rules of JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>) that a
/// feed and its items must follow.
fn check_json_feed(v: &Value) {
    assert_eq!(v["version"], "https://jsonfeed.org/version/1.1");
    assert!(v["title"].as_str().is_some_and(|t| !t.is_empty()));
    for key in ["home_page_url", "feed_url"] {
        let u = v[key].as_str().expect(key);
        assert!(url::Url::parse(u).is_ok(), "{key} {u}");
    }
    let items = v["items"].as_array().expect("items is an array");
    let mut ids = HashSet::new();
    for item in items {
        let id = item["id"].as_str().expect("every item has a string id");
        assert!(!id.is_empty() && ids.insert(id.to_string()), "{id}");
        assert!(
            item["content_html"].is_string() || item["content_text"].is_string(),
            "{item}"
        );
        assert!(url::Url::parse(item["url"].as_str().expect("url")).is_ok());
        assert!(item["title"].is_string());
        assert!(
            rfc3339(&item["date_published"]) && rfc3339(&item["date_modified"]),
            "{item}"
        );
        for (key, _) in item.as_object().expect("an object") {
            let known = [
                "id",
                "url",
                "external_url",
                "title",
                "content_html",
                "content_text",
                "summary",
                "image",
                "banner_image",
                "date_published",
                "date_modified",
                "authors",
                "tags",
                "language",
                "attachments",
            ];
            assert!(
                known.contains(&key.as_str()) || key.starts_with('_'),
                "{key}"
            );
        }
    }
}

#[test]
fn served_feeds_parse_in_feed_rs_and_feedparser_and_revalidate() {
    let store = TestStore::with_samples_and_good_feeds();
    let stories = store.int("SELECT count(*) FROM stories") as usize;
    let serve = Serve::start(&store.db, &[]);
    let mut ids: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (format, ctype) in [
        ("atom", "application/atom+xml"),
        ("json", "application/feed+json"),
        ("rss", "application/rss+xml"),
    ] {
        let reply = get(&serve.addr, &format!("/stories.{format}"));
        reply.expect(200);
        assert!(reply
            .header("content-type")
            .unwrap_or_default()
            .starts_with(ctype));
        let body = reply.text();
        let entries = feed_rs_entries(&body);
        assert_eq!(entries.len(), stories, "{format}: one entry per story");
        for (id, link, title, date) in &entries {
            assert!(id.starts_with("tag:feedfold,"), "{format}: id {id}");
            assert!(link.starts_with("http"), "{format}: link {link:?}");
            assert!(
                !title.is_empty() && !date.is_empty(),
                "{format}: {title:?} {date:?}"
            );
        }
        ids.insert(format, entries.into_iter().map(|e| e.0).collect());
        if format == "json" {
            check_json_feed(&serde_json::from_str(&body).expect("JSON"));
        }
    }
    assert_eq!(ids["atom"], ids["json"], "the same ids in every format");
    assert_eq!(ids["atom"], ids["rss"]);

    for format in ["atom", "rss"] {
        let url = format!("http://{}/stories.{format}", serve.addr);
        let Some(parsed) = feedparser(&url) else {
            println!("note: python3 or feedparser is missing; the feedparser check of {format} is skipped");
            return;
        };
        assert_eq!(parsed["bozo"], false, "{format}: {parsed}");
        assert_eq!(parsed["status"], 200);
        assert_eq!(
            parsed["again"], 304,
            "{format}: revalidation with the validators"
        );
        let entries = parsed["entries"].as_array().expect("entries");
        assert_eq!(entries.len(), stories);
        let date = if format == "atom" {
            "updated"
        } else {
            "published"
        };
        for e in entries {
            for key in ["id", "link", "title", date] {
                assert!(
                    e[key].as_str().is_some_and(|v| !v.is_empty()),
                    "{format}: {key} in {e}"
                );
            }
        }
        if format == "atom" {
            let related: usize = parsed["related"]
                .as_array()
                .expect("related")
                .iter()
                .map(|r| r.as_array().map_or(0, Vec::len))
                .sum();
            let others = store.int("SELECT count(*) FROM entries e JOIN stories s ON s.id = e.story_id WHERE e.id <> s.representative_id AND e.url IS NOT NULL");
            assert_eq!(related as i64, others, "one related link per other copy");
        }
    }
}

#[test]
fn a_story_that_gains_a_copy_changes_its_updated_and_the_etag() {
    let store = TestStore::with_samples_and_good_feeds();
    let story = store.story_of(guid::WIRE_FULL);
    let copies = store.int(&format!(
        "SELECT entry_count FROM stories WHERE id = {story}"
    ));
    let serve = Serve::start(&store.db, &[]);
    let path = "/stories.atom?min_copies=2";
    let first = get(&serve.addr, path);
    first.expect(200);
    let etag = first.header("etag").expect("an ETag").to_string();
    let modified = first
        .header("last-modified")
        .expect("Last-Modified")
        .to_string();
    get_with(&serve.addr, path, &[("If-None-Match", &etag)]).expect(304);
    get_with(&serve.addr, path, &[("If-Modified-Since", &modified)]).expect(304);
    let again = get_with(
        &serve.addr,
        path,
        &[("If-None-Match", "\"something-else\"")],
    );
    again.expect(200);
    assert_eq!(
        again.header("etag"),
        Some(etag.as_str()),
        "the same body, the same ETag"
    );
    let id = format!("/story/{story}");
    let updated_of = |body: &str| -> String {
        let feed = feed_rs::parser::parse(body.as_bytes()).expect("parses");
        let entry = feed
            .entries
            .iter()
            .find(|e| e.id.ends_with(&id))
            .expect("the story is in the feed");
        entry.updated.expect("updated").to_rfc3339()
    };
    let before = updated_of(&first.text());

    // The store keeps times to the second: let one pass.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let title = store.entry_text(guid::WIRE_FULL, "title").expect("title");
    let text = store
        .entry_text(guid::WIRE_FULL, "content_text")
        .expect("text");
    let published = store
        .entry_text(guid::WIRE_FULL, "published")
        .expect("date");
    let late = Feed::new("Late Outlet")
        .site("https://late.example.net/")
        .self_url("https://late.example.net/feed.xml")
        .items([Item::new(
            "late-port",
            &title,
            &text,
            published.parse().expect("a date"),
        )]);
    let file = store.path("late.xml");
    std::fs::write(&file, late.rss()).expect("write the feed");
    store.ingest([&file]).assert_ok();
    assert_eq!(
        store.int(&format!(
            "SELECT entry_count FROM stories WHERE id = {story}"
        )),
        copies + 1,
        "the copy joined the story"
    );

    let after = get_with(&serve.addr, path, &[("If-None-Match", &etag)]);
    after.expect(200);
    assert_ne!(after.header("etag"), Some(etag.as_str()));
    assert_ne!(updated_of(&after.text()), before, "updated moved on");
    assert!(
        after.text().contains("https://late.example.net/late-port"),
        "the new copy is linked"
    );
}

#[test]
fn gzip_head_and_cache_headers() {
    let store = TestStore::with_samples_and_good_feeds();
    let serve = Serve::start(&store.db, &[]);
    let plain = get(&serve.addr, "/stories.json");
    let zipped = get_with(
        &serve.addr,
        "/stories.json",
        &[("Accept-Encoding", "gzip, br")],
    );
    zipped.expect(200);
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert!(zipped.body.len() < plain.body.len());
    assert_eq!(zipped.text(), plain.text());
    assert_eq!(zipped.header("vary"), Some("Accept-Encoding"));
    assert_eq!(plain.header("cache-control"), Some("public, max-age=60"));
    // The gzipped representation's ETag revalidates it, and the plain one's too.
    let tag = zipped.header("etag").expect("etag");
    get_with(&serve.addr, "/stories.json", &[("If-None-Match", tag)]).expect(304);
    let head = request(&serve.addr, "HEAD", "/stories.json", &[]);
    head.expect(200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("etag"), plain.header("etag"));
}

/// The JSON lines a CLI command prints, as one JSON array.
fn cli_lines(store: &TestStore, args: &[&str]) -> Value {
    let out = store.query(args[0], &args[1..]);
    out.assert_ok();
    Value::Array(
        out.stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect(),
    )
}

#[test]
fn the_json_api_answers_what_the_cli_prints() {
    let store = TestStore::with_samples_and_good_feeds();
    let opml = store.path("subs.opml");
    std::fs::write(
        &opml,
        r#"<opml version="2.0"><body>
<outline text="Wire" xmlUrl="https://wire.example.com/feed.xml"/>
<outline text="Private" xmlUrl="https://reader:hunter2@private.example.com/feed"/>
</body></opml>"#,
    )
    .expect("write OPML");
    let mut cmd = feedfold();
    cmd.args(["opml", "import", "--db"])
        .arg(&store.db)
        .arg(&opml);
    run(&mut cmd, None).assert_ok();
    let serve = Serve::start(&store.db, &[]);

    let api = get(&serve.addr, "/api/stories?limit=500").json();
    assert_eq!(api, cli_lines(&store, &["stories", "--json"]));
    let api = get(&serve.addr, "/api/stories?min_copies=2").json();
    assert_eq!(
        api,
        cli_lines(&store, &["stories", "--json", "--min-copies", "2"])
    );

    let story = store.story_of(guid::WIRE_FULL);
    let api = get(&serve.addr, &format!("/api/stories/{story}")).json();
    let cli = store.query("story", &[&story.to_string(), "--json"]);
    cli.assert_ok();
    assert_eq!(
        api,
        serde_json::from_str::<Value>(&cli.stdout).expect("JSON")
    );
    assert!(api["entries"].as_array().is_some_and(|e| e.len() >= 4));

    let api = get(&serve.addr, "/api/search?q=rotterdam%20NEAR%20strike").json();
    assert_eq!(
        api,
        cli_lines(&store, &["search", "rotterdam NEAR strike", "--json"])
    );
    assert!(!api.as_array().expect("hits").is_empty());

    let api = get(&serve.addr, "/api/feeds").json();
    assert_eq!(api, cli_lines(&store, &["status", "--json"]));
    let text = api.to_string();
    assert!(
        text.contains("reader:***@private.example.com") && !text.contains("hunter2"),
        "{text}"
    );

    // Only the stories a feed carried.
    let digest = get(
        &serve.addr,
        "/api/stories?feed=https%3A%2F%2Fdigest.example.org%2Fatom.xml",
    )
    .json();
    let carried = store.int("SELECT count(DISTINCT e.story_id) FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE f.url = 'https://digest.example.org/atom.xml'");
    assert!(carried > 0);
    assert_eq!(
        digest.as_array().map(Vec::len),
        Some(carried as usize),
        "{digest}"
    );
    let q = get(&serve.addr, "/api/stories?q=rotterdam&min_feeds=3").json();
    assert_eq!(q.as_array().map(Vec::len), Some(1), "{q}");
    assert_eq!(q[0]["id"], story);
}

#[test]
fn bad_requests_get_json_errors_and_a_huge_limit_is_capped() {
    let store = TestStore::with_samples_and_good_feeds();
    let serve = Serve::start(&store.db, &[]);
    let error = |path: &str, status: u16, needle: &str| {
        let r = get(&serve.addr, path);
        r.expect(status);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let v = r.json();
        assert_eq!(v["status"], status);
        let message = v["error"].as_str().expect("an error message");
        assert!(message.contains(needle), "{path}: {message}");
    };
    error("/stories.atom?limit=ten", 400, "limit");
    error("/stories.atom?limit=0", 400, "limit=0");
    error("/stories.atom?since=yesterday", 400, "since");
    error("/stories.atom?min_copies=-1", 400, "min_copies");
    error("/stories.atom?colour=red", 400, "\"colour\"");
    error("/stories.atom?limit=1&limit=2", 400, "twice");
    error("/stories.atom?q=%22unterminated", 400, "\"unterminated");
    error("/api/search?q=%22", 400, "invalid search query");
    error("/api/search", 400, "q is required");
    error("/api/stories/999999", 404, "no story with id 999999");
    error("/api/stories/abc", 400, "\"abc\"");
    error(
        "/stories.atom?feed=https%3A%2F%2Fnowhere.example%2F",
        404,
        "no feed",
    );
    error("/nothing-here", 404, "/nothing-here");
    let r = request(&serve.addr, "POST", "/api/stories", &[]);
    r.expect(405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    let r = request(&serve.addr, "DELETE", "/api/stories/1", &[]);
    r.expect(405);

    let all = get(&serve.addr, "/api/stories?limit=99999999999999999999").json();
    assert_eq!(
        all.as_array().map(Vec::len),
        Some(store.int("SELECT count(*) FROM stories") as usize)
    );
    let one = get(&serve.addr, "/stories.atom?limit=1");
    assert_eq!(feed_rs_entries(&one.text()).len(), 1);
}

/// The bytes of the store's database file and WAL (a reader may create an
/// empty WAL, as any SQLite reader of a WAL-mode file does).
fn files(db: &Path) -> Vec<Vec<u8>> {
    ["", "-wal"]
        .iter()
        .map(|s| {
            let mut p = db.as_os_str().to_owned();
            p.push(s);
            std::fs::read(p).unwrap_or_default()
        })
        .collect()
}

#[test]
fn requests_never_change_the_store() {
    let store = TestStore::with_samples_and_good_feeds();
    let before = files(&store.db);
    let serve = Serve::start(&store.db, &[]);
    for path in [
        "/",
        "/stories.atom",
        "/stories.json?min_copies=2",
        "/stories.rss?q=strike",
        "/opml",
        "/api/stories",
        "/api/stories/1",
        "/api/search?q=acme",
        "/api/feeds",
        "/metrics",
        "/healthz",
        "/openapi.json",
    ] {
        let r = get(&serve.addr, path);
        assert!(r.status == 200, "{path}: {}", r.status);
    }
    assert_eq!(serve.stop(), Some(0), "SIGTERM stops it cleanly");
    assert!(files(&store.db) == before, "the store's files changed");
}

#[test]
fn a_token_guards_everything_but_healthz() {
    let store = TestStore::new();
    store.ingest_fixtures(&["wire.xml"]).assert_ok();
    let token = store.path("token");
    std::fs::write(&token, "s3cret-token\n").expect("token");
    let config = store.path("feedfold.toml");
    std::fs::write(
        &config,
        format!("[server]\ntoken_file = {:?}\n", token.display().to_string()),
    )
    .expect("config");
    let serve = Serve::start(&store.db, &["--config", config.to_str().expect("utf-8")]);
    let r = get(&serve.addr, "/stories.atom");
    r.expect(401);
    assert!(r
        .headers("www-authenticate")
        .iter()
        .any(|c| c.starts_with("Bearer")));
    get_with(
        &serve.addr,
        "/stories.atom",
        &[("Authorization", "Bearer wrong")],
    )
    .expect(401);
    let ok = get_with(
        &serve.addr,
        "/stories.atom",
        &[("Authorization", "Bearer s3cret-token")],
    );
    ok.expect(200);
    assert_eq!(ok.header("cache-control"), Some("private, max-age=60"));
    // reader:s3cret-token, as a reader with https://reader:TOKEN@host/ URLs sends it.
    get_with(
        &serve.addr,
        "/api/stories",
        &[("Authorization", "Basic cmVhZGVyOnMzY3JldC10b2tlbg==")],
    )
    .expect(200);
    get(&serve.addr, "/healthz").expect(200);
}

#[test]
fn listening_beyond_loopback_needs_a_token() {
    let store = TestStore::new();
    store.ingest_fixtures(&["wire.xml"]).assert_ok();
    let out = store.query("serve", &["--listen", "0.0.0.0:0"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("0.0.0.0:0 is not a loopback address")
            && out.stderr.contains("token_file"),
        "{}",
        out.stderr
    );
    let config = store.path("feedfold.toml");
    std::fs::write(&config, "[server]\nlisten = \"0.0.0.0:8080\"\n").expect("config");
    let mut cmd = feedfold();
    cmd.arg("--config")
        .arg(&config)
        .args(["run", "--once", "--db"])
        .arg(&store.db);
    let out = run(&mut cmd, None);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("server.listen 0.0.0.0:8080"),
        "{}",
        out.stderr
    );
    let nowhere = TestStore::new();
    let out = nowhere.query("serve", &["--listen", "127.0.0.1:0"]);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("no feedfold store"), "{}", out.stderr);
}

#[test]
fn metrics_pass_a_strict_reader_and_promtool() {
    let store = TestStore::with_samples_and_good_feeds();
    let serve = Serve::start(&store.db, &[]);
    let r = get(&serve.addr, "/metrics");
    r.expect(200);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")));
    let text = r.text();
    let samples = prometheus::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(samples["feedfold_store_size_bytes"] > 0.0);
    assert_eq!(samples["feedfold_feeds{state=\"ok\"}"], 0.0);
    assert!(
        !samples.contains_key("feedfold_entries_stored_total"),
        "a separate serve has no daemon counters"
    );
    match prometheus::promtool(&text) {
        Some(verdict) => verdict.unwrap_or_else(|e| panic!("promtool: {e}\n{text}")),
        None => {
            println!("note: promtool is not installed; the strict reader alone checked /metrics")
        }
    }
    // The reader is strict.
    for bad in [
        "feedfold_x 1\n",
        "# HELP a A.\n# TYPE a counter\na 1\n",
        "# HELP a_total A.\n# TYPE a_total counter\na_total{l=\"x} 1\n",
        "# HELP g G.\n# TYPE g gauge\ng one\n",
        "# HELP g G.\n# TYPE g gauge\ng 1\n# HELP h H.\n# TYPE h gauge\nh 1\ng 2\n",
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        "# HELP g G.\n# TYPE g gauge\ng 1",
    ] {
        assert!(prometheus::parse(bad).is_err(), "accepted: {bad:?}");
    }
}

#[test]
fn opml_and_the_root_page_lead_a_reader_to_the_feeds() {
    let store = TestStore::with_samples_and_good_feeds();
    let opml = store.path("subs.opml");
    std::fs::write(
        &opml,
        r#"<opml version="2.0"><body><outline text="Wire" xmlUrl="https://wire.example.com/feeds/top.xml"/></body></opml>"#,
    )
    .expect("write OPML");
    let mut cmd = feedfold();
    cmd.args(["opml", "import", "--db"])
        .arg(&store.db)
        .arg(&opml);
    run(&mut cmd, None).assert_ok();
    let serve = Serve::start(&store.db, &[]);
    let r = get(&serve.addr, "/opml");
    r.expect(200);
    let feeds = feedfold::opml::parse(&r.text()).expect("OPML");
    assert_eq!(feeds.len(), 3, "{feeds:?}");
    for f in &feeds {
        let path = f
            .url
            .strip_prefix(&format!("http://{}", serve.addr))
            .expect("a URL of this server");
        let reply = get(&serve.addr, path);
        reply.expect(200);
        assert!(!feed_rs_entries(&reply.text()).is_empty(), "{}", f.url);
    }
    let page = get(&serve.addr, "/").text();
    assert!(page.contains("rel=\"alternate\" type=\"application/atom+xml\""));
}

#[test]
fn wire_dev_gives_one_entry_per_multi_copy_story_with_its_copies_related() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../shared/corpus/wire-dev");
    let Ok(list) = std::fs::read_to_string(corpus.join("files.txt")) else {
        println!(
            "note: {} is absent; the wire-dev feed check is skipped",
            corpus.display()
        );
        return;
    };
    let files: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let store = TestStore::new();
    let mut cmd = feedfold();
    cmd.current_dir(&corpus)
        .arg("ingest")
        .arg("--db")
        .arg(&store.db)
        .args(&files);
    run(&mut cmd, None).assert_ok();
    let multi = store.int("SELECT count(*) FROM stories WHERE entry_count >= 2");
    // The truth's story of every link.
    let truth = std::fs::read_to_string(corpus.join("truth.tsv")).expect("truth.tsv");
    let story_of: HashMap<&str, &str> = truth
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols.len() >= 3).then(|| (cols[1], cols[2]))
        })
        .collect();
    let truth_multi = {
        let mut n: HashMap<&str, usize> = HashMap::new();
        for s in story_of.values() {
            *n.entry(s).or_default() += 1;
        }
        n.values().filter(|&&c| c > 1).count()
    };

    let serve = Serve::start(&store.db, &[]);
    let r = get(&serve.addr, "/stories.atom?min_copies=2&limit=500");
    r.expect(200);
    let feed = feed_rs::parser::parse(r.text().as_bytes()).expect("feed-rs parses it");
    println!(
        "wire-dev: {} entries, {multi} multi-copy stories in the store, {truth_multi} in the truth",
        feed.entries.len()
    );
    assert!(
        multi <= 500,
        "the check needs every multi-copy story in one page"
    );
    assert_eq!(
        feed.entries.len() as i64,
        multi,
        "one entry per multi-copy story"
    );
    let copies: HashMap<String, i64> = {
        let conn = store.conn();
        let mut stmt = conn
            .prepare("SELECT id, entry_count FROM stories WHERE entry_count >= 2")
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| {
                Ok((format!("/story/{}", r.get::<_, i64>(0)?), r.get(1)?))
            })
            .expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    };
    // The links of every story's copies, as the store holds them.
    let links: HashMap<String, HashSet<String>> = {
        let conn = store.conn();
        let mut stmt = conn
            .prepare("SELECT story_id, url FROM entries WHERE url IS NOT NULL")
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    format!("/story/{}", r.get::<_, i64>(0)?),
                    r.get::<_, String>(1)?,
                ))
            })
            .expect("query");
        let mut links: HashMap<String, HashSet<String>> = HashMap::new();
        for row in rows {
            let (story, url) = row.expect("row");
            links.entry(story).or_default().insert(url);
        }
        links
    };
    let mut mixed = Vec::new();
    for entry in &feed.entries {
        let story = entry
            .id
            .rsplit_once("/story/")
            .map(|(_, id)| format!("/story/{id}"))
            .expect("an id");
        let alternate: Vec<_> = entry
            .links
            .iter()
            .filter(|l| l.rel.as_deref() == Some("alternate"))
            .collect();
        let related: Vec<_> = entry
            .links
            .iter()
            .filter(|l| l.rel.as_deref() == Some("related"))
            .collect();
        assert_eq!(alternate.len(), 1, "{}", entry.id);
        assert_eq!(
            related.len() as i64,
            copies[&story] - 1,
            "{}: one related link per other copy",
            entry.id
        );
        let hrefs: HashSet<String> = alternate
            .iter()
            .chain(&related)
            .map(|l| l.href.clone())
            .collect();
        assert_eq!(
            hrefs, links[&story],
            "{}: its links are the links of its story's copies",
            entry.id
        );
        let stories: HashSet<&str> = hrefs
            .iter()
            .filter_map(|l| story_of.get(l.as_str()).copied())
            .collect();
        if stories.len() != 1 {
            mixed.push((entry.id.clone(), stories));
        }
    }
    // The grouping itself is measured by `feedfold eval` (pair precision
    // 0.997 on this corpus); here it only has to be near that.
    assert!(
        mixed.len() * 100 <= feed.entries.len(),
        "more than 1% of the entries mix the truth's stories: {mixed:?}"
    );
    if multi as usize != truth_multi {
        println!(
            "note: grouping found {multi} multi-copy stories where the truth has {truth_multi}"
        );
    }
}

/// The property names of a schema of the OpenAPI document (through `$ref`
/// and `allOf`).
fn properties(doc: &Value, schema: &Value) -> BTreeSet<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().expect("a name");
        return properties(doc, &doc["components"]["schemas"][name]);
    }
    let mut out: BTreeSet<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        out.extend(properties(doc, part));
    }
    out
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_openapi_document_describes_what_is_served() {
    let store = TestStore::with_samples_and_good_feeds();
    let opml = store.path("subs.opml");
    std::fs::write(
        &opml,
        r#"<opml version="2.0"><body><outline text="Wire" xmlUrl="https://wire.example.com/feeds/top.xml"/></body></opml>"#,
    )
    .expect("write OPML");
    let mut cmd = feedfold();
    cmd.args(["opml", "import", "--db"])
        .arg(&store.db)
        .arg(&opml);
    run(&mut cmd, None).assert_ok();
    let serve = Serve::start(&store.db, &[]);
    let doc = get(&serve.addr, "/openapi.json").json();
    assert_eq!(doc["openapi"], "3.0.3");
    let story = store.story_of(guid::WIRE_FULL);
    let event = store.int(&format!("SELECT event_id FROM stories WHERE id = {story}"));
    for (path, example) in [
        ("/", "/".to_string()),
        ("/stories.atom", "/stories.atom".into()),
        ("/stories.json", "/stories.json".into()),
        ("/stories.rss", "/stories.rss".into()),
        ("/events.atom", "/events.atom?min_stories=1".into()),
        ("/events.json", "/events.json".into()),
        ("/events.rss", "/events.rss".into()),
        ("/opml", "/opml".into()),
        ("/api/stories", "/api/stories".into()),
        ("/api/stories/{id}", format!("/api/stories/{story}")),
        ("/api/events", "/api/events?min_stories=1".into()),
        ("/api/events/{id}", format!("/api/events/{event}")),
        ("/api/search", "/api/search?q=strike".into()),
        ("/api/feeds", "/api/feeds".into()),
        ("/metrics", "/metrics".into()),
        ("/healthz", "/healthz".into()),
        ("/openapi.json", "/openapi.json".into()),
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not described");
        get(&serve.addr, &example).expect(200);
    }
    assert_eq!(
        doc["paths"].as_object().map(|p| p.len()),
        Some(17),
        "nothing undocumented, nothing extra"
    );
    // The event feeds and /api/events take exactly the parameters described.
    let described = |path: &str| -> BTreeSet<String> {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has parameters"))
            .iter()
            .map(|p| match p["$ref"].as_str() {
                Some(r) => &doc["components"]["parameters"][r.rsplit('/').next().unwrap_or("")],
                None => p,
            })
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect()
    };
    let event_params: BTreeSet<String> = ["since", "min_stories", "q", "feed", "limit"]
        .map(String::from)
        .into();
    for path in ["/events.atom", "/events.json", "/events.rss", "/api/events"] {
        assert_eq!(described(path), event_params, "{path}");
        get(
            &serve.addr,
            &format!("{path}?since=30d&min_stories=1&q=strike&limit=5"),
        )
        .expect(200);
        get(&serve.addr, &format!("{path}?min_copies=2")).expect(400);
    }
    let schema = |name: &str| properties(&doc, &doc["components"]["schemas"][name]);
    let stories = get(&serve.addr, "/api/stories").json();
    assert_eq!(keys(&stories[0]), schema("StoryRow"));
    let detail = get(&serve.addr, &format!("/api/stories/{story}")).json();
    assert_eq!(keys(&detail), schema("StoryDetail"));
    let entries = detail["entries"].as_array().expect("entries");
    assert_eq!(keys(&entries[0]), schema("EntryRow"));
    let matched = entries
        .iter()
        .find(|e| e["matched"].is_object())
        .expect("a copy that joined");
    assert_eq!(keys(&matched["matched"]), schema("MatchInfo"));
    let hits = get(&serve.addr, "/api/search?q=strike").json();
    assert_eq!(keys(&hits[0]), schema("SearchHit"));
    let feeds = get(&serve.addr, "/api/feeds").json();
    assert_eq!(keys(&feeds[0]), schema("FeedStatus"));
    let events = get(&serve.addr, "/api/events").json();
    assert_eq!(keys(&events[0]), schema("EventRow"));
    let detail = get(&serve.addr, &format!("/api/events/{event}")).json();
    assert_eq!(keys(&detail), schema("EventDetail"));
    let members = detail["story_list"].as_array().expect("story_list");
    assert_eq!(keys(&members[0]), schema("EventStory"));
    let error = get(&serve.addr, "/api/events/0").json();
    assert_eq!(keys(&error), schema("Error"));
    let error = get(&serve.addr, "/api/stories/0").json();
    assert_eq!(keys(&error), schema("Error"));
}
