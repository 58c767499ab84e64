//! Querying through the binary: `stories`, `story`, `search` and
//! `explain` in their JSON, CSV and table forms, the full-text index and
//! the SQL views, against the samples and fixtures (plus small feeds
//! written here with dates relative to now).

use std::collections::BTreeSet;

use chrono::Duration;
use serde_json::Value;

use super::output::{csv_rows, json_lines};
use crate::common::feeds::{write_rss, Item};
use crate::common::fixtures::{
    guid, AGG_SELF, DIGEST_SELF, EURO_SELF, PORT_COPIES, PORT_TITLE, PUTIN_TITLE, WIRE_SELF,
};
use crate::common::{feedfold, run as run_cmd, TestStore};

#[test]
fn stories_and_story_show_copies_feeds_and_why() {
    let store = TestStore::with_good_feeds();
    let port = store.story_of(guid::WIRE_FULL);

    let run = store.query("stories", &["--json"]);
    run.assert_ok();
    let rows: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(rows.len(), 8);
    let firsts: Vec<&str> = rows
        .iter()
        .map(|r| r["first_seen"].as_str().expect("first_seen"))
        .collect();
    assert!(
        firsts.windows(2).all(|w| w[0] >= w[1]),
        "not newest first: {firsts:?}"
    );
    let row = rows
        .iter()
        .find(|r| r["id"] == port)
        .expect("port story listed");
    assert_eq!(row["title"], PORT_TITLE);
    assert_eq!(row["copies"], 4);
    assert_eq!(row["first_seen"], "2026-03-11T09:40:00Z");
    assert_eq!(row["last_seen"], "2026-03-11T12:30:00Z");
    assert_eq!(
        row["feeds"],
        serde_json::json!([
            "Aggregator Now",
            "Eurodesk",
            "Example Wire",
            "Morning Digest"
        ])
    );

    let multi = store.query("stories", &["--json", "--min-copies", "2"]);
    multi.assert_ok();
    let copies: Vec<(i64, i64)> = multi
        .stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json line");
            (
                v["id"].as_i64().expect("id"),
                v["copies"].as_i64().expect("copies"),
            )
        })
        .collect();
    assert_eq!(copies, [(store.story_of(guid::WIRE_ACME), 2), (port, 4)]);

    let detail = store.query("story", &[&port.to_string(), "--json"]);
    detail.assert_ok();
    let d: Value = serde_json::from_str(&detail.stdout).expect("story json");
    assert_eq!(d["id"], port);
    assert_eq!(d["copies"], 4);
    let entries = d["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 4);
    let ids: BTreeSet<i64> = entries
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect();
    let feeds: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["feed_url"].as_str().expect("feed_url"))
        .collect();
    assert_eq!(
        feeds,
        BTreeSet::from([WIRE_SELF, DIGEST_SELF, EURO_SELF, AGG_SELF])
    );
    assert_eq!(entries[0]["title"], PORT_TITLE, "oldest first");
    assert_eq!(entries[0]["feed"], "Example Wire");
    assert_eq!(entries[0]["representative"], true);
    assert!(
        entries[0]["matched"].is_null(),
        "the first entry started the story"
    );
    for e in &entries[1..] {
        let m = &e["matched"];
        assert!(m.is_object(), "{e}");
        assert!(
            ids.contains(&m["entry_id"].as_i64().expect("entry_id")),
            "{e}"
        );
        assert_ne!(m["entry_id"], e["id"]);
        let rule = m["rule"].as_str().expect("rule");
        assert!(
            [
                "containment",
                "title_and_text",
                "aligned",
                "short_aligned",
                "brief",
                "same_link"
            ]
            .contains(&rule),
            "{rule}"
        );
        for figure in ["containment", "resemblance", "title", "numbers"] {
            let x = m[figure].as_f64().expect("figure");
            assert!((0.0..=1.0).contains(&x), "{figure} = {x}");
        }
        assert!(m["hamming"].as_i64().expect("hamming") <= 64);
        assert!(m["gap_seconds"].as_i64().expect("gap") >= 0);
        assert_eq!(e["representative"], false);
    }
    let summary = entries
        .iter()
        .find(|e| e["feed_url"] == DIGEST_SELF)
        .expect("summary");
    assert_eq!(summary["matched"]["entry_id"], entries[0]["id"]);
    assert_eq!(summary["matched"]["gap_seconds"], 35 * 60);
    assert!(
        summary["matched"]["containment"]
            .as_f64()
            .expect("containment")
            > 0.9
    );

    // The text form says the same for people.
    let text = store.query("story", &[&port.to_string()]);
    text.assert_ok();
    assert!(
        text.stdout
            .starts_with(&format!("story {port}: {PORT_TITLE}\n4 copies in 4 feeds")),
        "{}",
        text.stdout
    );
    assert_eq!(text.stdout.matches("why:   started the story").count(), 1);
    assert_eq!(text.stdout.matches(" with entry ").count(), 3);

    // An unknown story is an error.
    let none = store.query("story", &["9999"]);
    assert_ne!(none.code, Some(0));
    assert!(
        none.stderr.contains("no story with id 9999"),
        "{}",
        none.stderr
    );
}

#[test]
fn search_returns_each_matching_story_once_best_first() {
    let store = TestStore::with_samples_and_good_feeds();
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
    let store = TestStore::with_samples_and_good_feeds();
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
    let store = TestStore::with_samples_and_good_feeds();
    let (_, entries, stories) = store.counts();
    assert_eq!(store.int("SELECT count(*) FROM entries_fts"), entries);
    assert_eq!(
        store.int("SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'rotterdam'"),
        4
    );

    // A fresh feed: a new story today, and later an update of its title.
    let feed = store.path("fresh.xml");
    let item = |title: &str| {
        Item::aged(
            "fresh-1",
            title,
            "The zeppelin museum in Friedrichshafen reopened its hangar after a renovation lasting two years, the city said.",
            Duration::hours(3),
        )
    };
    write_rss(
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

    write_rss(
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
    store
        .writable()
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
    let store = TestStore::with_samples_and_good_feeds();
    // A title with a comma, quotes and a feed name with a comma.
    let feed = store.path("quotes.xml");
    write_rss(
        &feed,
        "News, Views & \"More\"",
        "https://quotes.example.test/rss",
        &[Item::aged(
            "q-1",
            "Minister says \"no deal\", talks end",
            "Talks on the fisheries accord ended without agreement late on Tuesday, the minister said.",
            Duration::hours(1),
        )],
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
    let store = TestStore::with_samples_and_good_feeds();
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
