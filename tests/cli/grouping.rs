//! Grouping through the binary on the shipped sample feeds: order
//! independence, representative and origin, `explain`, `regroup` after a
//! config change, and `eval` on a small labelled corpus.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::fixtures::samples;

/// Runs the binary, which must succeed.
fn feedfold(args: &[&str]) -> Output {
    let out = crate::common::feedfold()
        .args(args)
        .output()
        .expect("run feedfold");
    assert!(
        out.status.success(),
        "feedfold {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ingest(db: &Path, files: &[PathBuf]) {
    let mut args = vec![
        "ingest".to_string(),
        "--db".into(),
        db.display().to_string(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    feedfold(&args);
}

/// The stories as sets of entry guids (independent of story ids).
fn partition(db: &Path) -> BTreeSet<BTreeSet<String>> {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let mut stmt = conn
        .prepare("SELECT story_id, guid FROM entries ORDER BY story_id")
        .expect("prepare");
    let rows: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mut groups: std::collections::BTreeMap<i64, BTreeSet<String>> = Default::default();
    for (story, guid) in rows {
        groups.entry(story).or_default().insert(guid);
    }
    groups.into_values().collect()
}

const WIRE_PUTIN: &str = "https://wire.sample.test/world/putin-ceasefire-current-lines";
const SKAI_PUTIN: &str = "tag:skai.sample.test,2024:812345";
const BRIEF_PUTIN: &str = "briefs-2024-05-24-1";

#[test]
fn any_order_gives_the_same_stories() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = samples();
    let orders = [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]];
    let mut seen = Vec::new();
    for (i, order) in orders.iter().enumerate() {
        let db = dir.path().join(format!("o{i}.db"));
        let ordered: Vec<PathBuf> = order.iter().map(|j| files[*j].clone()).collect();
        ingest(&db, &ordered);
        seen.push(partition(&db));
    }
    for p in &seen[1..] {
        assert_eq!(p, &seen[0]);
    }
    // The summary (briefs), the re-translated copy (skai) and the wire original are one story;
    // the two templated earnings briefs and the Athens heatwave stand alone.
    let putin: BTreeSet<String> = [WIRE_PUTIN, SKAI_PUTIN, BRIEF_PUTIN]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(seen[0].contains(&putin), "{:#?}", seen[0]);
    assert_eq!(seen[0].len(), 5, "{:#?}", seen[0]);
    for brief in [
        "https://wire.sample.test/business/acme-widgets-1st-qtr",
        "https://wire.sample.test/business/basix-tools-1st-qtr",
    ] {
        assert!(
            seen[0].contains(&BTreeSet::from([brief.to_string()])),
            "{brief} should stand alone"
        );
    }
}

#[test]
fn representative_is_the_full_text_and_origin_the_credited_wire() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    // Summary first, full text last.
    let mut files = samples();
    files.reverse();
    ingest(&db, &files);
    let conn = rusqlite::Connection::open(&db).expect("open");
    let (title, origin, rep_guid, copies): (String, Option<String>, String, i64) = conn
        .query_row(
            "SELECT s.title, s.origin, r.guid, s.entry_count FROM stories s
               JOIN entries r ON r.id = s.representative_id
              WHERE s.id = (SELECT story_id FROM entries WHERE guid = ?1)",
            [BRIEF_PUTIN],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("story");
    assert_eq!(copies, 3);
    assert_eq!(rep_guid, WIRE_PUTIN);
    assert_eq!(
        title,
        "Putin ready to halt Ukraine war with ceasefire recognising current lines"
    );
    assert_eq!(origin.as_deref(), Some("Reuters"));
    let out = feedfold(&[
        "stories",
        "--db",
        &db.display().to_string(),
        "--min-copies",
        "2",
        "--json",
    ]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let first: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("a line")).expect("json");
    assert!(text.lines().count() >= 2);
    assert!(text.contains("\"origin\":\"Reuters\""), "{text}");
    assert!(first["copies"].as_i64().expect("copies") >= 2);
}

#[test]
fn explain_gives_the_figures_and_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    ingest(&db, &samples());
    let conn = rusqlite::Connection::open(&db).expect("open");
    let id = |guid: &str| -> i64 {
        conn.query_row("SELECT id FROM entries WHERE guid = ?1", [guid], |r| {
            r.get(0)
        })
        .expect("id")
    };
    let (wire, brief) = (id(WIRE_PUTIN), id(BRIEF_PUTIN));
    let acme = id("https://wire.sample.test/business/acme-widgets-1st-qtr");
    let basix = id("https://wire.sample.test/business/basix-tools-1st-qtr");
    let db_s = db.display().to_string();
    let out = feedfold(&[
        "explain",
        "--db",
        &db_s,
        &wire.to_string(),
        &brief.to_string(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["same_story"], true);
    assert_eq!(v["rule"], "containment");
    assert!(
        v["similarity"]["containment"]
            .as_f64()
            .expect("containment")
            > 0.8,
        "{v}"
    );
    let out = feedfold(&[
        "explain",
        "--db",
        &db_s,
        &acme.to_string(),
        &basix.to_string(),
    ]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.contains("verdict      not copies: one outlet publishes a story once"),
        "{text}"
    );
    assert!(text.contains("figures"), "{text}");
}

#[test]
fn regroup_applies_a_new_config_and_reverts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    let db_s = db.display().to_string();
    ingest(&db, &samples());
    let before = partition(&db);
    let strict = dir.path().join("strict.toml");
    std::fs::write(
        &strict,
        "[grouping]\ncontainment = 1.0\ncontainment_short = 1.0\ncontainment_mid = 1.0\n",
    )
    .expect("write");
    let out = feedfold(&[
        "--config",
        &strict.display().to_string(),
        "regroup",
        "--db",
        &db_s,
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("regrouped 8 entries"));
    let strict_groups = partition(&db);
    assert!(strict_groups.len() > before.len(), "{strict_groups:#?}");
    feedfold(&["regroup", "--db", &db_s]);
    assert_eq!(partition(&db), before);
    // Every entry still has exactly one existing story.
    let conn = rusqlite::Connection::open(&db).expect("open");
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM entries WHERE story_id NOT IN (SELECT id FROM stories)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(orphans, 0);
}

#[test]
fn eval_scores_a_labelled_corpus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = dir.path();
    let mut files = String::new();
    for f in samples() {
        let name = f.file_name().expect("name").to_string_lossy().to_string();
        std::fs::copy(&f, corpus.join(&name)).expect("copy");
        files.push_str(&name);
        files.push('\n');
    }
    std::fs::write(corpus.join("files.txt"), files).expect("write");
    let truth = format!(
        "# guid\tlink\tstory\toutlet\ttransform\n\
         {WIRE_PUTIN}\t{WIRE_PUTIN}\tputin\twire\toriginal\n\
         {SKAI_PUTIN}\thttps://skai.sample.test/en/news/putin-ceasefire\tputin\tskai\tretranslated\n\
         {BRIEF_PUTIN}\thttps://briefs.sample.test/2024/05/24/putin-ceasefire\tputin\tbriefs\tsummary\n\
         x\thttps://wire.sample.test/business/acme-widgets-1st-qtr?utm_source=a\tacme\twire\toriginal\n\
         y\thttps://wire.sample.test/business/basix-tools-1st-qtr\tbasix\twire\toriginal\n"
    );
    std::fs::write(corpus.join("truth.tsv"), truth).expect("write");
    let out = feedfold(&["eval", &corpus.display().to_string()]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.contains("pairs    precision 1.0000  recall 1.0000  F1 1.0000"),
        "{text}"
    );
    assert!(
        text.contains("B-cubed  precision 1.0000  recall 1.0000  F1 1.0000"),
        "{text}"
    );
    assert!(text.contains("retranslated"), "{text}");
    let out = feedfold(&["eval", &corpus.display().to_string(), "--json", "--reverse"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["bcubed"]["f1"], 1.0);
    assert_eq!(v["missing"], 0);
}
