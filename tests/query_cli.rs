//! Integration tests of querying: the real `feedfold` binary (`search`,
//! `stories`, `story`, `explain` in their JSON, CSV and table forms,
//! `prune`, `migrate`, `completions`, `man`) against the feed files of
//! `tests/samples/` and `tests/fixtures/` (plus small feeds written here
//! with dates relative to now) in a real SQLite file in a temporary
//! directory; and the numbered migrations, from a store made by the first
//! released schema.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use common::{feedfold, fixture, guid, run as run_cmd, Run, TestStore, GOOD_FEEDS, PORT_COPIES};
use rusqlite::{params, Connection};
use serde_json::Value;

const PORT_TITLE: &str = "Rotterdam port strike halts container traffic for second day";
const PUTIN_TITLE: &str =
    "Putin ready to halt Ukraine war with ceasefire recognising current lines";

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("samples")
        .join(name)
}

/// A store with the shipped samples and the four good fixtures.
fn full_store() -> TestStore {
    let store = TestStore::new();
    let mut files: Vec<PathBuf> = ["wire.xml", "skai.atom", "briefs.json"]
        .iter()
        .map(|s| sample(s))
        .collect();
    files.extend(GOOD_FEEDS.iter().map(|f| fixture(f)));
    store.ingest(&files).assert_ok();
    store
}

/// Parses JSON lines, failing on any line that is not one JSON object.
fn json_lines(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}"));
            assert!(v.is_object(), "{l}");
            v
        })
        .collect()
}

/// A strict RFC 4180 reader: quoted fields may hold commas, quotes (doubled)
/// and newlines.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    quoted = false;
                    assert!(
                        matches!(chars.peek(), None | Some(',') | Some('\n') | Some('\r')),
                        "text after a closing quote in {text:?}"
                    );
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' => panic!("bare quote inside an unquoted field in {text:?}"),
            ',' => {
                record.push(std::mem::take(&mut field));
                at_start = true;
            }
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                at_start = true;
            }
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    assert!(!quoted, "unterminated quote in {text:?}");
    assert!(field.is_empty() && record.is_empty(), "no final newline");
    records
}

/// CSV output as maps of header -> value.
fn csv_rows(run: &Run) -> Vec<std::collections::BTreeMap<String, String>> {
    let records = parse_csv(&run.stdout);
    let (header, rows) = records.split_first().expect("a header row");
    rows.iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "row {r:?} vs header {header:?}");
            header.iter().cloned().zip(r.iter().cloned()).collect()
        })
        .collect()
}

/// One RSS item of a feed written by a test.
struct Item<'a> {
    guid: &'a str,
    title: &'a str,
    text: &'a str,
    age: Duration,
}

/// Writes an RSS 2.0 feed whose items are dated `age` before now.
fn write_feed(path: &Path, title: &str, self_url: &str, items: &[Item<'_>]) {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>\n<title>{}</title><link>https://example.test/</link>\n<atom:link rel=\"self\" href=\"{}\"/>\n",
        esc(title),
        esc(self_url)
    );
    for it in items {
        xml.push_str(&format!(
            "<item><title>{}</title><guid isPermaLink=\"false\">{}</guid><link>https://example.test/{}</link><pubDate>{}</pubDate><description>{}</description></item>\n",
            esc(it.title),
            esc(it.guid),
            esc(it.guid),
            (Utc::now() - it.age).to_rfc2822(),
            esc(it.text)
        ));
    }
    xml.push_str("</channel></rss>\n");
    std::fs::write(path, xml).expect("write feed");
}

fn writable(store: &TestStore) -> Connection {
    let conn = Connection::open(&store.db).expect("open store");
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .expect("busy timeout");
    conn
}

#[test]
fn search_returns_each_matching_story_once_best_first() {
    let store = full_store();
    let putin = store
        .int("SELECT story_id FROM entries WHERE title LIKE 'Putin ready%' ORDER BY id LIMIT 1");
    let run = store.query("search", &["ceasefire NEAR putin", "--json"]);
    run.assert_ok();
    let hits = json_lines(&run);
    assert_eq!(hits.len(), 1, "{}", run.stdout);
    assert_eq!(hits[0]["id"], putin);
    assert_eq!(hits[0]["title"], PUTIN_TITLE);
    assert_eq!(hits[0]["copies"], 3);
    assert_eq!(hits[0]["matching_copies"], 3);

    // Four copies of the port strike match: one story comes back.
    let port = store.story_of(guid::WIRE_FULL);
    let run = store.query("search", &["rotterdam strike", "--json"]);
    let hits = json_lines(run.assert_ok());
    let ids: Vec<i64> = hits.iter().map(|h| h["id"].as_i64().expect("id")).collect();
    assert_eq!(ids, [port]);
    assert_eq!(hits[0]["matching_copies"], 4);
    assert!(
        hits[0]["snippet"]
            .as_str()
            .expect("snippet")
            .contains("strike"),
        "{}",
        hits[0]
    );

    // Best first: the story titled with the word ranks above one that only mentions it.
    let run = store.query("search", &["corp", "--json"]);
    let hits = json_lines(run.assert_ok());
    assert!(hits.len() >= 3, "{}", run.stdout);
    let ranks: Vec<f64> = hits
        .iter()
        .map(|h| h["rank"].as_f64().expect("rank"))
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    let unique: BTreeSet<i64> = hits.iter().map(|h| h["id"].as_i64().expect("id")).collect();
    assert_eq!(unique.len(), hits.len(), "a story came back twice");

    // --limit and --since.
    let run = store.query("search", &["corp", "--json", "--limit", "1"]);
    assert_eq!(json_lines(run.assert_ok()).len(), 1);
    let run = store.query("search", &["corp", "--json", "--since", "1d"]);
    assert!(run.assert_ok().stdout.is_empty(), "{}", run.stdout);

    // The table shows the title once and the passage that matched.
    let run = store.query("search", &["ceasefire NEAR putin"]);
    run.assert_ok();
    assert_eq!(run.stdout.matches(PUTIN_TITLE).count(), 1, "{}", run.stdout);
    let none = store.query("search", &["zeppelin"]);
    assert_eq!(none.assert_ok().stdout, "no matching stories\n");

    // The README's SQL example works as written.
    let conn = store.conn();
    let stories: Vec<i64> = conn
        .prepare(
            "SELECT s.story_id, s.title, s.copies, min(m.rank) AS rank
               FROM (SELECT rowid AS entry_id, rank FROM entries_fts
                      WHERE entries_fts MATCH 'NEAR(ceasefire putin)') AS m
               JOIN entries e ON e.id = m.entry_id
               JOIN story_overview s ON s.story_id = e.story_id
              GROUP BY s.story_id ORDER BY rank",
        )
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(stories, [putin]);
}

#[test]
fn bad_search_syntax_is_a_clear_error_naming_the_query() {
    let store = full_store();
    for q in ["ceasefire AND", "\"unclosed", "nosuchcolumn:word", "NEAR("] {
        let run = store.query("search", &[q]);
        assert_eq!(run.code, Some(1), "{q}: {}", run.stdout);
        assert!(
            run.stderr.contains("invalid search query") && run.stderr.contains(q),
            "{q}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn full_text_rows_follow_inserts_updates_and_the_views_work() {
    let store = full_store();
    let (_, entries, stories) = store.counts();
    assert_eq!(store.int("SELECT count(*) FROM entries_fts"), entries);
    assert_eq!(
        store.int("SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'rotterdam'"),
        4
    );

    // A fresh feed: a new story today, and later an update of its title.
    let feed = store.path("fresh.xml");
    let item = |title: &'static str| {
        Item {
        guid: "fresh-1",
        title,
        text: "The zeppelin museum in Friedrichshafen reopened its hangar after a renovation lasting two years, the city said.",
        age: Duration::hours(3),
    }
    };
    write_feed(
        &feed,
        "Fresh News",
        "https://fresh.example.test/rss",
        &[item("Zeppelin museum reopens")],
    );
    store.ingest([&feed]).assert_ok();
    let run = store.query("search", &["zeppelin", "--json"]);
    let hits = json_lines(run.assert_ok());
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["title"], "Zeppelin museum reopens");

    write_feed(
        &feed,
        "Fresh News",
        "https://fresh.example.test/rss",
        &[item("Airship hangar welcomes visitors again")],
    );
    store.ingest([&feed]).assert_ok();
    let count = |q: &str| {
        store.int(&format!(
            "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH '{q}'"
        ))
    };
    assert_eq!(count("title:zeppelin"), 0, "the old title is still indexed");
    assert_eq!(count("title:airship"), 1);
    assert_eq!(count("friedrichshafen"), 1);
    assert_eq!(store.int("SELECT count(*) FROM entries_fts"), entries + 1);
    // FTS5's own consistency check against the entries table.
    writable(&store)
        .execute(
            "INSERT INTO entries_fts(entries_fts, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .expect("full-text index matches the entries");

    // recent_stories: only today's story (the fixtures are months old).
    let conn = store.conn();
    let recent: Vec<(String, i64, String)> = conn
        .prepare("SELECT title, copies, feeds FROM recent_stories ORDER BY copies DESC")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(
        recent,
        [(
            "Airship hangar welcomes visitors again".to_string(),
            1,
            "Fresh News".to_string()
        )]
    );

    // entry_details: every entry once, with its feed, story and ISO times.
    assert_eq!(store.int("SELECT count(*) FROM entry_details"), entries + 1);
    let (feed_name, story_title, published, rep): (String, String, String, bool) = conn
        .query_row(
            "SELECT feed, story_title, published, is_representative FROM entry_details
              WHERE entry_id = (SELECT id FROM entries WHERE guid = ?1)",
            [guid::DIGEST_SUMMARY],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("entry_details row");
    assert_eq!(feed_name, "Morning Digest");
    assert_eq!(story_title, PORT_TITLE);
    assert!(!rep);
    assert!(
        published.len() == 20 && published.ends_with('Z') && &published[10..11] == "T",
        "{published}"
    );
    assert_eq!(
        store.int("SELECT count(*) FROM entry_details WHERE published NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z' OR first_seen NOT LIKE '____-__-__T__:__:__Z'"),
        0
    );

    // story_copies: the port story's four copies, one started it, three say why they joined.
    let port = store.story_of(guid::WIRE_FULL);
    let copies: Vec<(i64, Option<String>, String)> = conn
        .prepare("SELECT entry_id, match_rule, why FROM story_copies WHERE story_id = ?1 ORDER BY published")
        .expect("prepare")
        .query_map([port], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(copies.len(), PORT_COPIES.len());
    assert_eq!(copies[0].2, "started the story");
    for (_, rule, why) in &copies[1..] {
        let rule = rule.as_deref().expect("a rule");
        assert!(why.starts_with(&format!("{rule} with entry ")), "{why}");
        assert!(why.contains("containment "), "{why}");
    }
    assert_eq!(store.int("SELECT count(*) FROM story_copies"), entries + 1);
    assert_eq!(
        store.int("SELECT count(DISTINCT story_id) FROM story_copies"),
        stories + 1
    );
}

#[test]
fn json_lines_and_csv_agree_and_csv_quoting_round_trips() {
    let store = full_store();
    // A title with a comma, quotes and a feed name with a comma.
    let feed = store.path("quotes.xml");
    write_feed(
        &feed,
        "News, Views & \"More\"",
        "https://quotes.example.test/rss",
        &[Item {
            guid: "q-1",
            title: "Minister says \"no deal\", talks end",
            text: "Talks on the fisheries accord ended without agreement late on Tuesday, the minister said.",
            age: Duration::hours(1),
        }],
    );
    store.ingest([&feed]).assert_ok();

    let json = store.query("stories", &["--json"]);
    let json = json_lines(json.assert_ok());
    let csv = store.query("stories", &["--format", "csv"]);
    let csv = csv_rows(csv.assert_ok());
    assert_eq!(json.len(), csv.len());
    assert!(json.len() > 10);
    for (j, c) in json.iter().zip(&csv) {
        assert_eq!(j["id"].to_string(), c["id"]);
        assert_eq!(j["title"].as_str(), Some(c["title"].as_str()));
        assert_eq!(j["first_seen"].as_str(), Some(c["first_seen"].as_str()));
        assert_eq!(j["copies"].to_string(), c["copies"]);
        let feeds: Vec<&str> = j["feeds"]
            .as_array()
            .expect("feeds")
            .iter()
            .map(|f| f.as_str().expect("feed"))
            .collect();
        assert_eq!(feeds.join(", "), c["feeds"]);
    }
    assert!(csv
        .iter()
        .any(|r| r["title"] == "Minister says \"no deal\", talks end"
            && r["feeds"] == "News, Views & \"More\""));

    // --json is --format json.
    let a = store.query("stories", &["--json"]);
    let b = store.query("stories", &["--format", "json"]);
    assert_eq!(a.stdout, b.stdout);
    let both = store.query("stories", &["--json", "--format", "csv"]);
    assert_eq!(both.code, Some(2), "conflicting formats are a usage error");

    // search as CSV.
    let run = store.query("search", &["fisheries", "--format", "csv"]);
    let rows = csv_rows(run.assert_ok());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["title"], "Minister says \"no deal\", talks end");
    assert_eq!(rows[0]["matching_copies"], "1");

    // story as CSV: one row per entry, the same as its JSON.
    let port = store.story_of(guid::WIRE_FULL);
    let run = store.query("story", &[&port.to_string(), "--format", "csv"]);
    let rows = csv_rows(run.assert_ok());
    let detail: Value = serde_json::from_str(
        &store
            .query("story", &[&port.to_string(), "--json"])
            .assert_ok()
            .stdout,
    )
    .expect("story json");
    let entries = detail["entries"].as_array().expect("entries");
    assert_eq!(rows.len(), entries.len());
    for (r, e) in rows.iter().zip(entries) {
        assert_eq!(r["story_id"], port.to_string());
        assert_eq!(r["entry_id"], e["id"].to_string());
        assert_eq!(Some(r["url"].as_str()), e["url"].as_str());
        assert_eq!(r["rule"], e["matched"]["rule"].as_str().unwrap_or_default());
    }
    assert_eq!(rows.iter().filter(|r| r["rule"].is_empty()).count(), 1);

    // explain as CSV: one row of figures.
    let a = store.int(&format!(
        "SELECT id FROM entries WHERE guid = '{}'",
        guid::WIRE_FULL
    ));
    let b = store.int(&format!(
        "SELECT id FROM entries WHERE guid = '{}'",
        guid::DIGEST_SUMMARY
    ));
    let run = store.query(
        "explain",
        &[&a.to_string(), &b.to_string(), "--format", "csv"],
    );
    let rows = csv_rows(run.assert_ok());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["same_story"], "true");
    let containment: f64 = rows[0]["containment"].parse().expect("a number");
    assert!(containment > 0.9, "{containment}");
}

#[test]
fn human_tables_fit_the_width_and_have_no_colour_when_not_wanted() {
    let store = full_store();
    for no_color in [true, false] {
        let mut cmd = feedfold();
        if !no_color {
            // Not a terminal: no colour even without NO_COLOR.
            cmd.env_remove("NO_COLOR");
        }
        cmd.args(["stories", "--db"])
            .arg(&store.db)
            .env("COLUMNS", "60");
        let run = run_cmd(&mut cmd, None);
        run.assert_ok();
        assert!(
            !run.stdout.contains('\u{1b}'),
            "escape codes in {}",
            run.stdout
        );
        let mut lines = run.stdout.lines();
        let header = lines.next().expect("header");
        assert!(
            header.starts_with("ID") && header.ends_with("TITLE"),
            "{header}"
        );
        let title_at = header.find("TITLE").expect("title column");
        for line in lines {
            assert!(line.chars().count() <= 60, "too wide: {line:?}");
            // Aligned: every title starts in the TITLE column.
            assert!(
                line.chars().nth(title_at - 1) == Some(' '),
                "misaligned: {line:?}"
            );
        }
        let putin = run
            .stdout
            .lines()
            .find(|l| l.contains("Putin ready"))
            .expect("the Putin story");
        let shown: String = putin.chars().skip(title_at).collect();
        let cut = shown.strip_suffix('…').expect("a cut title ends with …");
        assert!(PUTIN_TITLE.starts_with(cut) && cut.len() >= 10, "{putin:?}");
    }
    // Without COLUMNS and not on a terminal nothing is cut.
    let mut cmd = feedfold();
    cmd.args(["stories", "--db"])
        .arg(&store.db)
        .env_remove("COLUMNS");
    let run = run_cmd(&mut cmd, None);
    assert!(run.assert_ok().stdout.contains(PUTIN_TITLE));
    assert!(!run.stdout.contains('…'));
    let story = store.query("story", &[&store.story_of(guid::WIRE_FULL).to_string()]);
    assert!(!story.assert_ok().stdout.contains('\u{1b}'));
}

#[test]
fn prune_removes_old_entries_their_text_rows_and_empty_stories() {
    let store = full_store();
    // Months pass: the fixtures were last carried when published, except
    // one copy of the port strike, which its feed still carries today.
    let conn = writable(&store);
    conn.execute(
        "UPDATE entries SET first_seen = published, last_seen = published",
        [],
    )
    .expect("age the store");
    conn.execute(
        "UPDATE entries SET last_seen = ?2 WHERE guid = ?1",
        params![
            guid::AGG_TRACKED,
            Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
        ],
    )
    .expect("still carried");
    drop(conn);
    let feed = store.path("fresh.xml");
    write_feed(
        &feed,
        "Fresh News",
        "https://fresh.example.test/rss",
        &[
            Item {
                guid: "fresh-today",
                title: "Harbour ferry timetable changes",
                text:
                    "The harbour ferry adds two evening crossings from Monday, the operator said.",
                age: Duration::hours(2),
            },
            Item {
                guid: "fresh-old",
                title: "Library extends opening hours",
                text: "The city library is to stay open until nine on weekdays from next month.",
                age: Duration::days(45),
            },
        ],
    );
    store.ingest([&feed]).assert_ok();
    let port = store.story_of(guid::WIRE_FULL);
    let (_, entries_before, _) = store.counts();

    let run = store.query("prune", &["--older-than", "30d", "--json"]);
    let report = json_lines(run.assert_ok());
    assert_eq!(report.len(), 1);
    // The library item was first seen today, so it stays: feedfold keeps an
    // entry until it is old *and* its feed stopped carrying it.
    let kept = ["fresh-today", "fresh-old", guid::AGG_TRACKED];
    let expected_gone = entries_before - kept.len() as i64;
    assert_eq!(report[0]["entries"], expected_gone, "{}", run.stdout);
    let (_, entries, stories) = store.counts();
    assert_eq!(entries, kept.len() as i64);
    let left: BTreeSet<String> = store.assignment().into_keys().collect();
    assert_eq!(left, kept.iter().map(|s| s.to_string()).collect());
    assert_eq!(stories, 3, "emptied stories are removed");
    assert_eq!(store.int("SELECT count(*) FROM entries_fts"), 3);
    assert_eq!(
        store.int("SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'putin OR wheat'"),
        0
    );
    store.assert_consistent();

    // The port strike story keeps its remaining copy, recomputed.
    assert_eq!(store.story_of(guid::AGG_TRACKED), port);
    assert_eq!(
        store.int(&format!(
            "SELECT entry_count FROM stories WHERE id = {port}"
        )),
        1
    );
    let detail = store.query("story", &[&port.to_string(), "--json"]);
    let d: Value = serde_json::from_str(&detail.assert_ok().stdout).expect("json");
    assert_eq!(d["copies"], 1);
    assert_eq!(d["entries"][0]["representative"], true);
    assert!(d["entries"][0]["matched"]["entry_id"].is_null(), "{d}");
    let text = store.query("story", &[&port.to_string()]);
    assert!(
        text.assert_ok().stdout.contains("(since pruned)"),
        "{}",
        text.stdout
    );

    // Search no longer finds what was pruned; it finds what is left.
    let run = store.query("search", &["ceasefire", "--json"]);
    assert!(run.assert_ok().stdout.is_empty());
    let run = store.query("search", &["ferry", "--json"]);
    assert_eq!(json_lines(run.assert_ok()).len(), 1);

    // Nothing more to prune; without --older-than or keep_days it is an error.
    let again = store.query("prune", &["--older-than", "30d", "--json", "--vacuum"]);
    assert_eq!(json_lines(again.assert_ok())[0]["entries"], 0);
    let none = store.query("prune", &[]);
    assert_eq!(none.code, Some(1));
    assert!(none.stderr.contains("keep_days"), "{}", none.stderr);

    // [retention] keep_days from the config.
    let config = store.path("feedfold.toml");
    std::fs::write(&config, "[retention]\nkeep_days = 1\n").expect("config");
    writable(&store)
        .execute(
            "UPDATE entries SET first_seen = published, last_seen = published",
            [],
        )
        .expect("age again");
    let mut cmd = feedfold();
    cmd.arg("--config")
        .arg(&config)
        .arg("prune")
        .arg("--db")
        .arg(&store.db);
    let run = run_cmd(&mut cmd, None);
    assert!(
        run.assert_ok().stdout.starts_with("pruned 2 entries"),
        "{}",
        run.stdout
    );
    let left: BTreeSet<String> = store.assignment().into_keys().collect();
    assert_eq!(left, BTreeSet::from(["fresh-today".to_string()]));
    store.assert_consistent();
    assert_eq!(store.int("SELECT count(*) FROM entries_fts"), 1);
    assert_eq!(
        store.int("PRAGMA auto_vacuum"),
        2,
        "new stores use incremental vacuum"
    );
}

#[test]
fn completions_and_man_page_cover_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let mut cmd = feedfold();
        cmd.args(["completions", shell]);
        let run = run_cmd(&mut cmd, None);
        run.assert_ok();
        for sub in ["ingest", "stories", "search", "prune", "completions"] {
            assert!(run.stdout.contains(sub), "{shell} completions lack {sub}");
        }
    }
    let mut cmd = feedfold();
    cmd.arg("man");
    let run = run_cmd(&mut cmd, None);
    run.assert_ok();
    assert!(
        run.stdout.contains(".TH feedfold 1"),
        "{}",
        &run.stdout[..200.min(run.stdout.len())]
    );
    for sub in ["search", "prune", "stories"] {
        assert!(run.stdout.contains(sub), "man page lacks {sub}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = feedfold();
    cmd.args(["man", "--out-dir"]).arg(dir.path());
    run_cmd(&mut cmd, None).assert_ok();
    let page = std::fs::read_to_string(dir.path().join("feedfold-search.1")).expect("search page");
    assert!(
        page.contains("\\-\\-since") || page.contains("--since"),
        "{page}"
    );
}

/// Inserts one normalized feed document into a store of schema version 1,
/// by hand, each entry its own story (as the first release stored them).
fn insert_v1(conn: &Connection, path: &Path) {
    let bytes = std::fs::read(path).expect("fixture");
    let abs = path.display().to_string();
    let doc = feedfold::model::RawDocument {
        name: abs.clone(),
        fetched_url: None,
        path: Some(abs.clone()),
        http_charset: None,
        bytes,
    };
    let identity = feedfold::normalizer::Identity {
        feed_url: None,
        fetched_url: None,
        path: Some(&abs),
    };
    let feed = feedfold::normalizer::normalize(&doc, &identity, Utc::now()).expect("normalizes");
    let now = "2026-03-12T00:00:00Z";
    conn.execute(
        "INSERT INTO feeds (url, title, format, first_seen, last_ingested) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![feed.url, feed.title, feed.format.as_str(), now],
    )
    .expect("feed");
    let feed_id = conn.last_insert_rowid();
    for e in &feed.entries {
        let published = feedfold::model::format_time(e.published);
        conn.execute(
            "INSERT INTO stories (title, first_seen, last_seen, entry_count, feed_count, created_at, updated_at)
             VALUES (?1, ?2, ?2, 1, 1, ?3, ?3)",
            params![e.title, published, now],
        )
        .expect("story");
        let story = conn.last_insert_rowid();
        conn.execute(
            "INSERT INTO entries (feed_id, guid, guid_source, url, canonical_url, title, summary_html,
                summary_text, content_html, content_text, text_length, published, published_source,
                first_seen, last_seen, content_hash, fingerprint, features, story_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, 0, ?15, ?16, ?17)",
            params![
                feed_id,
                e.guid,
                e.guid_source.as_str(),
                e.url,
                e.canonical_url,
                e.title,
                e.summary_html,
                e.summary_text,
                e.content_html,
                e.content_text,
                e.best_text().chars().count() as i64,
                published,
                e.published_source.as_str(),
                now,
                e.features.simhash as i64,
                e.features.encode(),
                story,
            ],
        )
        .expect("entry");
        conn.execute(
            "UPDATE stories SET representative_id = ?1 WHERE id = ?2",
            params![conn.last_insert_rowid(), story],
        )
        .expect("representative");
    }
}

#[test]
fn a_store_of_the_first_schema_migrates_with_its_data() {
    let store = TestStore::new();
    {
        let conn = Connection::open(&store.db).expect("create");
        conn.execute_batch(feedfold::store::schema::MIGRATIONS[0])
            .expect("migration 1");
        conn.pragma_update(None, "user_version", 1)
            .expect("version 1");
        insert_v1(&conn, &fixture("wire.xml"));
        insert_v1(&conn, &fixture("eurodesk.rdf"));
    }
    let (feeds, entries, stories) = store.counts();
    assert_eq!((feeds, entries), (2, 6));
    let titles = |store: &TestStore| -> BTreeSet<(String, String)> {
        let conn = store.conn();
        let mut stmt = conn
            .prepare("SELECT guid, title FROM entries")
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        rows
    };
    let before = titles(&store);

    // Read commands never change a store; search says how to upgrade.
    let run = store.query("search", &["rotterdam"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("feedfold migrate") && run.stderr.contains("version 1"),
        "{}",
        run.stderr
    );
    assert_eq!(store.int("PRAGMA user_version"), 1);
    store.query("stories", &["--json"]).assert_ok();

    let run = store.query("migrate", &[]);
    run.assert_ok();
    let latest = feedfold::store::schema::latest_version();
    assert!(
        run.stdout
            .contains(&format!("schema version 1 -> {latest}")),
        "{}",
        run.stdout
    );
    assert_eq!(store.int("PRAGMA user_version"), latest);
    assert_eq!(store.counts(), (feeds, entries, stories));
    assert_eq!(titles(&store), before);

    // The pre-existing entries were indexed by the migration.
    assert_eq!(store.int("SELECT count(*) FROM entries_fts"), entries);
    let run = store.query("search", &["rotterdam", "--json"]);
    let hits = json_lines(run.assert_ok());
    assert_eq!(
        hits.len(),
        2,
        "the wire text and Eurodesk's retitled copy: {}",
        run.stdout
    );
    assert_eq!(store.int("SELECT count(*) FROM entry_details"), entries);
    assert_eq!(store.int("SELECT count(*) FROM story_copies"), entries);
    store.int("SELECT count(*) FROM recent_stories");

    // The migrated store takes new entries: the digest's summary joins the
    // port strike story stored by the first schema, and is searchable.
    store.ingest_fixtures(&["digest.atom"]).assert_ok();
    let port = store.story_of(guid::WIRE_FULL);
    assert_eq!(store.story_of(guid::DIGEST_SUMMARY), port);
    assert_eq!(
        store.int("SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'rotterdam'"),
        3
    );
    assert_eq!(store.int("SELECT count(*) FROM entries_fts"), entries + 3);
    // Opening it again migrates nothing and changes nothing.
    store.query("migrate", &[]).assert_ok();
    assert_eq!(store.int("SELECT count(*) FROM entries_fts"), entries + 3);
}

#[test]
fn feed_health_view_lists_subscriptions_with_their_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("h.db");
    let db_s = db.display().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedfold"))
        .args([
            "feeds",
            "add",
            "https://news.example.org/rss.xml",
            "--name",
            "Example",
            "--db",
            &db_s,
        ])
        .output()
        .expect("run feeds add");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = Connection::open(&db).expect("open");
    let (url, name, state, errors, entries): (String, String, String, i64, i64) = conn
        .query_row(
            "SELECT url, name, state, error_count, entries FROM feed_health",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .expect("one row");
    assert_eq!(url, "https://news.example.org/rss.xml");
    assert_eq!(name, "Example");
    assert_eq!((state.as_str(), errors, entries), ("new", 0, 0));
    for cmd in [vec!["feeds", "list"], vec!["status"]] {
        let mut args = cmd.clone();
        args.extend(["--format", "csv", "--db", &db_s]);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedfold"))
            .args(&args)
            .output()
            .expect("run");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{cmd:?}: {text}");
        assert!(
            lines[0].starts_with("id,url,configured_url,name,"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("1,https://news.example.org/rss.xml,,Example,"),
            "{text}"
        );
    }
}
