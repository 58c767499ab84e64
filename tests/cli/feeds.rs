//! Subscriptions through the binary: `feeds add|list|remove`, `opml
//! import|export`, `status`, and the `feed_health` view.

use crate::common::feedfold;

#[test]
fn feed_health_view_lists_subscriptions_with_their_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("h.db");
    let db_s = db.display().to_string();
    let out = feedfold()
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
    let conn = rusqlite::Connection::open(&db).expect("open");
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
        let out = feedfold().args(&args).output().expect("run");
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

#[test]
fn feeds_and_opml_commands_manage_subscriptions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("ff.db");
    let db_arg = db.to_str().expect("utf-8");
    let run = |args: &[&str]| {
        let out = feedfold().args(args).output().expect("run feedfold");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&[
        "feeds",
        "add",
        "https://a.example/feed",
        "--name",
        "Wire A",
        "--db",
        db_arg,
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("added"));
    let (code, out, _) = run(&["feeds", "add", "https://a.example/feed", "--db", db_arg]);
    assert_eq!((code, out.contains("already subscribed")), (Some(0), true));
    assert_eq!(
        run(&["feeds", "add", "ftp://nope/", "--db", db_arg]).0,
        Some(1)
    );
    assert_eq!(
        run(&[
            "feeds",
            "add",
            "https://b.example/x",
            "--interval",
            "1m",
            "--db",
            db_arg
        ])
        .0,
        Some(1)
    );

    let opml = dir.path().join("in.opml");
    std::fs::write(
        &opml,
        r#"<opml version="2.0"><body><outline text="News"><outline text="B" xmlUrl="https://b.example/rss"/>
           <outline text="Dup" xmlUrl="https://a.example/feed"/></outline></body></opml>"#,
    )
    .expect("write opml");
    let (code, out, err) = run(&[
        "opml",
        "import",
        opml.to_str().expect("utf-8"),
        "--db",
        db_arg,
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("imported 1 feeds (1 already subscribed, 0 skipped)"),
        "{out}"
    );

    let (code, out, _) = run(&["feeds", "list", "--db", db_arg]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("https://a.example/feed  (Wire A)")
            && out.contains("opml")
            && out.contains("new"),
        "{out}"
    );

    let (code, out, _) = run(&["opml", "export", "--db", db_arg]);
    assert_eq!(code, Some(0));
    let exported = feedfold::opml::parse(&out).expect("valid OPML");
    let urls: Vec<&str> = exported.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(urls, ["https://a.example/feed", "https://b.example/rss"]);

    let (code, out, _) = run(&["status", "--long", "--db", db_arg]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("next check    as soon as the daemon runs")
            && out.contains("validators    no"),
        "{out}"
    );
    // The default is a table: a header and one line per feed.
    let (code, out, _) = run(&["status", "--db", db_arg]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("ID  STATE") && lines[0].ends_with("FEED"),
        "{out}"
    );
    assert!(
        lines[1].contains("new")
            && lines[1].contains("never")
            && lines[1].contains("when the daemon runs"),
        "{out}"
    );
    assert!(!out.contains('\x1b'), "no colour when piped: {out}");
    let (code, out, _) = run(&["status", "--json", "--db", db_arg]);
    assert_eq!(code, Some(0));
    assert_eq!(out.lines().count(), 2);

    assert_eq!(
        run(&["feeds", "remove", "https://b.example/rss", "--db", db_arg]).0,
        Some(0)
    );
    assert_eq!(
        run(&["feeds", "remove", "https://b.example/rss", "--db", db_arg]).0,
        Some(1)
    );
    let (_, out, _) = run(&["feeds", "list", "--db", db_arg]);
    assert_eq!(out.lines().count(), 1);
}
