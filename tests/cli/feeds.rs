//! Subscriptions through the binary: the `feed_health` view.

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
