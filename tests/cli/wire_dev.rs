//! Grouping quality on the labelled corpora next to the crate, scored by
//! `../shared/tools/score-groups`: the syndication corpus `wire-dev`
//! (B-cubed F1 >= 0.93, pair precision >= 0.95), and the real articles of
//! `real-dev` at both levels (`ecbplus`, `basil`). Skipped, with a note,
//! where a corpus is absent.
//!
//! Run alone with `cargo test --test cli wire_dev -- --nocapture` to see
//! the scores.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::common::{feedfold, run, TestStore};

const MIN_BCUBED_F1: f64 = 0.93;
const MIN_PAIR_PRECISION: f64 = 0.95;

#[test]
fn wire_dev_grouping_quality() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../shared/corpus/wire-dev");
    let list = corpus.join("files.txt");
    if !list.exists() {
        println!(
            "note: {} is absent; wire-dev quality test skipped",
            list.display()
        );
        return;
    }
    let files: Vec<String> = std::fs::read_to_string(&list)
        .expect("files.txt is readable")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    assert!(!files.is_empty(), "{} lists no files", list.display());

    let store = TestStore::new();
    let mut cmd = feedfold();
    cmd.current_dir(&corpus)
        .arg("ingest")
        .arg("--db")
        .arg(&store.db)
        .args(&files);
    let ingest = run(&mut cmd, None);
    ingest.assert_ok();
    println!("wire-dev: {} ({:.1?})", ingest.total(), ingest.elapsed);
    assert!(
        ingest
            .total()
            .starts_with(&format!("total: {} sources (0 failed)", files.len())),
        "{}",
        ingest.total()
    );
    store.assert_consistent();

    let output = Command::new("python3")
        .arg(root.join("../shared/tools/score-groups"))
        .arg(corpus.join("truth.tsv"))
        .arg("--db")
        .arg(&store.db)
        .output()
        .expect("python3 runs score-groups");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "score-groups failed: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    let scores: BTreeMap<&str, &str> = text
        .lines()
        .filter_map(|l| l.split_once(char::is_whitespace))
        .map(|(k, v)| (k, v.trim()))
        .collect();
    let score = |name: &str| -> f64 {
        scores
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in score-groups output:\n{text}"))
    };
    let (f1, precision) = (score("bcubed_f1"), score("pair_precision"));
    println!("wire-dev scores:\n{text}");
    println!("wire-dev: bcubed_f1 {f1} (>= {MIN_BCUBED_F1}), pair_precision {precision} (>= {MIN_PAIR_PRECISION})");
    assert_eq!(
        score("missing"),
        0.0,
        "entries of the truth missing from the store"
    );
    assert!(f1 >= MIN_BCUBED_F1, "B-cubed F1 {f1} < {MIN_BCUBED_F1}");
    assert!(
        precision >= MIN_PAIR_PRECISION,
        "pair precision {precision} < {MIN_PAIR_PRECISION}"
    );
}

/// Real articles from real outlets (`../shared/corpus/real-dev`), scored by
/// `../shared/tools/score-groups` at both levels. The bars sit a little
/// under the figures in `tests/REPORTS.md`, so a change that loses quality
/// on real news fails here, not only in a report.
#[test]
fn real_dev_grouping_quality_at_both_levels() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let real_dev = root.join("../shared/corpus/real-dev");
    if !real_dev.join("ecbplus/files.txt").exists() {
        println!(
            "note: {} is absent; real-dev quality test skipped",
            real_dev.display()
        );
        return;
    }
    // (corpus, story pair precision, story pair recall, event B-cubed F1)
    for (name, story_precision, story_recall, event_f1) in
        [("ecbplus", 0.92, 0.84, 0.86), ("basil", 1.0, 1.0, 0.95)]
    {
        let corpus = real_dev.join(name);
        let store = TestStore::new();
        let mut cmd = feedfold();
        cmd.arg("eval")
            .arg(&corpus)
            .arg("--db")
            .arg(store.path("eval.db"));
        run(&mut cmd, None).assert_ok();
        let db = store.path("eval.db");
        let level = |level: &str| -> BTreeMap<String, f64> {
            let output = Command::new("python3")
                .arg(root.join("../shared/tools/score-groups"))
                .arg(corpus.join("truth.tsv"))
                .arg("--db")
                .arg(&db)
                .args(["--level", level])
                .output()
                .expect("python3 runs score-groups");
            let text = String::from_utf8_lossy(&output.stdout).to_string();
            assert!(output.status.success(), "score-groups failed: {text}");
            println!("{name} {level}:\n{text}");
            text.lines()
                .filter_map(|l| l.split_once(char::is_whitespace))
                .filter_map(|(k, v)| Some((k.to_string(), v.trim().parse().ok()?)))
                .collect()
        };
        let stories = level("story");
        let events = level("event");
        let get = |m: &BTreeMap<String, f64>, k: &str| {
            *m.get(k)
                .unwrap_or_else(|| panic!("no {k} for {name}: {m:?}"))
        };
        assert_eq!(get(&stories, "missing"), 0.0, "{name}: entries missing");
        let p = get(&stories, "pair_precision");
        let r = get(&stories, "pair_recall");
        let f1 = get(&events, "bcubed_f1");
        println!("{name}: stories pair P {p} R {r}; events B-cubed F1 {f1}");
        assert!(
            p >= story_precision,
            "{name}: story pair precision {p} < {story_precision}"
        );
        assert!(
            r >= story_recall,
            "{name}: story pair recall {r} < {story_recall}"
        );
        assert!(f1 >= event_f1, "{name}: event B-cubed F1 {f1} < {event_f1}");
    }
}
