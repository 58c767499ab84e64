//! Grouping quality on the labelled syndication corpus `wire-dev`
//! (`../shared/corpus/wire-dev`, next to the crate): ingest the files of
//! `files.txt` in order into a fresh store, score it with
//! `../shared/tools/score-groups`, and require B-cubed F1 >= 0.93 and pair
//! precision >= 0.95. Skipped, with a note, where the corpus is absent.
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
