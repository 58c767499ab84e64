//! Generated documentation: shell completions and man pages.

use crate::common::{feedfold, run as run_cmd};

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
    // The synopsis names the values the global options take.
    let synopsis = run
        .stdout
        .split(".SH SYNOPSIS\n")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_default();
    for option in ["[\\-\\-config <PATH>]", "[\\-\\-log <FILTER>]", "<COMMAND>"] {
        assert!(
            synopsis.contains(option),
            "synopsis lacks {option}: {synopsis}"
        );
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
    let ingest =
        std::fs::read_to_string(dir.path().join("feedfold-ingest.1")).expect("ingest page");
    assert!(
        ingest.contains("feedfold ingest\\fR [\\-\\-db <PATH>]") && ingest.contains("<SOURCE>..."),
        "{ingest}"
    );
}
