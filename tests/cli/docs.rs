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

/// The README's offline Quick start, run as written in a directory holding
/// a copy of `tests/samples` (a fresh clone without network): every
/// command succeeds and shows data.
#[test]
fn the_readme_offline_quick_start_runs_as_written_and_shows_data() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let block = readme
        .split("Without network access")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("the README has an offline Quick start block");
    let dir = tempfile::tempdir().expect("tempdir");
    let samples = dir.path().join("tests/samples");
    std::fs::create_dir_all(&samples).expect("mkdir");
    for file in std::fs::read_dir(root.join("tests/samples")).expect("samples") {
        let file = file.expect("sample");
        std::fs::copy(file.path(), samples.join(file.file_name())).expect("copy sample");
    }
    let bin = env!("CARGO_BIN_EXE_feedfold");
    let mut commands = 0;
    for line in block.lines() {
        // Drop the comment (none of the commands holds a `#`).
        let command = line.split(" #").next().unwrap_or_default().trim();
        if let Some(args) = command.strip_prefix("cargo run --release -- ") {
            // A shell expands the glob and the quotes, as it would for the reader.
            let mut cmd = crate::common::feedfold_at(std::ffi::OsStr::new("sh"));
            cmd.arg("-c")
                .arg(format!("exec \"$0\" {args}"))
                .arg(bin)
                .current_dir(dir.path());
            let run = run_cmd(&mut cmd, None);
            run.assert_ok();
            assert!(
                !run.stdout.trim().is_empty() && !run.stdout.starts_with("no "),
                "`{command}` shows nothing: {}",
                run.stdout
            );
            commands += 1;
        } else if let Some(sql) = command.strip_prefix("sqlite3 feedfold.db ") {
            let sql = sql.trim_matches('\'');
            let conn = rusqlite::Connection::open(dir.path().join("feedfold.db")).expect("store");
            let rows: Vec<String> = conn
                .prepare(sql)
                .expect("the README's SQL prepares")
                .query_map([], |r| r.get(0))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows");
            assert!(rows.iter().any(|t| t.contains("Putin")), "{rows:?}");
            commands += 1;
        }
    }
    assert_eq!(commands, 6, "the block's commands: {block}");
}
