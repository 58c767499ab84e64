//! The store's schema and its numbered migrations.
//!
//! The schema is a public interface (documented table by table in the
//! README): people query the SQLite file directly. It changes only by
//! appending a migration here; `PRAGMA user_version` records how many have
//! been applied, and [`migrate`] applies the missing ones in one
//! transaction when a store is opened for writing.

use rusqlite::Connection;

use super::StoreError;

/// Migrations, in order; migration `i` brings the store to version `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: feeds, stories, entries and the story_overview view.
    r#"
CREATE TABLE feeds (
    id            INTEGER PRIMARY KEY,
    url           TEXT NOT NULL UNIQUE,
    title         TEXT,
    site_url      TEXT,
    self_url      TEXT,
    description   TEXT,
    format        TEXT NOT NULL,
    first_seen    TEXT NOT NULL,
    last_ingested TEXT NOT NULL
);

CREATE TABLE stories (
    id                INTEGER PRIMARY KEY,
    title             TEXT NOT NULL,
    representative_id INTEGER,
    origin            TEXT,
    first_seen        TEXT NOT NULL,
    last_seen         TEXT NOT NULL,
    entry_count       INTEGER NOT NULL DEFAULT 0,
    feed_count        INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX stories_first_seen ON stories(first_seen);

CREATE TABLE entries (
    id                INTEGER PRIMARY KEY,
    feed_id           INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    guid              TEXT NOT NULL,
    guid_source       TEXT NOT NULL CHECK (guid_source IN ('document', 'link', 'hash')),
    url               TEXT,
    canonical_url     TEXT,
    title             TEXT NOT NULL,
    author            TEXT,
    summary_html      TEXT,
    summary_text      TEXT,
    content_html      TEXT,
    content_text      TEXT,
    text_length       INTEGER NOT NULL,
    credited_wire     TEXT,
    published         TEXT NOT NULL,
    published_source  TEXT NOT NULL CHECK (published_source IN ('published', 'updated', 'first_seen')),
    updated           TEXT,
    first_seen        TEXT NOT NULL,
    last_seen         TEXT NOT NULL,
    content_hash      INTEGER NOT NULL,
    fingerprint       INTEGER NOT NULL,
    features          BLOB NOT NULL,
    story_id          INTEGER NOT NULL REFERENCES stories(id),
    matched_entry_id  INTEGER REFERENCES entries(id) ON DELETE SET NULL,
    match_rule        TEXT,
    match_hamming     INTEGER,
    match_containment REAL,
    match_resemblance REAL,
    match_title       REAL,
    match_numbers     REAL,
    match_gap_seconds INTEGER,
    UNIQUE (feed_id, guid)
);
CREATE INDEX entries_story ON entries(story_id);
CREATE INDEX entries_published ON entries(published);
CREATE INDEX entries_canonical_url ON entries(canonical_url);

CREATE VIEW story_overview AS
SELECT s.id              AS story_id,
       s.title           AS title,
       s.first_seen      AS first_seen,
       s.last_seen       AS last_seen,
       s.entry_count     AS copies,
       s.feed_count      AS feed_count,
       s.origin          AS origin,
       r.url             AS url,
       (SELECT group_concat(name, ', ')
          FROM (SELECT DISTINCT coalesce(f.title, f.url) AS name
                  FROM entries e JOIN feeds f ON f.id = e.feed_id
                 WHERE e.story_id = s.id
                 ORDER BY name)) AS feeds
  FROM stories s
  LEFT JOIN entries r ON r.id = s.representative_id;
"#,
    // 2: subscriptions, the feeds the daemon polls, and their polling state.
    r#"
CREATE TABLE subscriptions (
    id                INTEGER PRIMARY KEY,
    url               TEXT NOT NULL UNIQUE,
    configured_url    TEXT NOT NULL UNIQUE,
    name              TEXT,
    interval_seconds  INTEGER,
    origin            TEXT NOT NULL CHECK (origin IN ('config', 'cli', 'opml')),
    feed_id           INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
    added_at          TEXT NOT NULL,
    next_check_at     TEXT,
    current_interval  INTEGER,
    etag              TEXT,
    last_modified     TEXT,
    last_check_at     TEXT,
    last_success_at   TEXT,
    last_status       INTEGER,
    last_error        TEXT,
    last_error_at     TEXT,
    error_count       INTEGER NOT NULL DEFAULT 0,
    gone_at           TEXT
);
CREATE INDEX subscriptions_next_check ON subscriptions(next_check_at);
"#,
    // Query interface: full-text search over entries (FTS5, kept in sync by
    // triggers, backfilled here) and the views recent_stories, entry_details
    // and story_copies. Uses only the objects of migration 1, so it applies
    // after any other migration.
    r#"
CREATE VIRTUAL TABLE entries_fts USING fts5(
    title, summary_text, content_text,
    content = 'entries', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO entries_fts(entries_fts) VALUES ('rebuild');

CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN
    INSERT INTO entries_fts(rowid, title, summary_text, content_text)
    VALUES (new.id, new.title, new.summary_text, new.content_text);
END;
CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
    INSERT INTO entries_fts(entries_fts, rowid, title, summary_text, content_text)
    VALUES ('delete', old.id, old.title, old.summary_text, old.content_text);
END;
CREATE TRIGGER entries_fts_update AFTER UPDATE OF title, summary_text, content_text ON entries BEGIN
    INSERT INTO entries_fts(entries_fts, rowid, title, summary_text, content_text)
    VALUES ('delete', old.id, old.title, old.summary_text, old.content_text);
    INSERT INTO entries_fts(rowid, title, summary_text, content_text)
    VALUES (new.id, new.title, new.summary_text, new.content_text);
END;

CREATE VIEW recent_stories AS
SELECT story_id, title, first_seen, last_seen, copies, feed_count, origin, url, feeds
  FROM story_overview
 WHERE last_seen >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day');

CREATE VIEW entry_details AS
SELECT e.id                         AS entry_id,
       e.title                      AS title,
       e.url                        AS url,
       e.canonical_url              AS canonical_url,
       e.author                     AS author,
       e.published                  AS published,
       e.published_source           AS published_source,
       e.updated                    AS updated,
       e.first_seen                 AS first_seen,
       e.last_seen                  AS last_seen,
       e.credited_wire              AS credited_wire,
       e.text_length                AS text_length,
       CASE WHEN length(coalesce(e.summary_text, '')) > length(coalesce(e.content_text, ''))
            THEN e.summary_text ELSE coalesce(e.content_text, e.summary_text) END AS text,
       e.feed_id                    AS feed_id,
       coalesce(f.title, f.url)     AS feed,
       f.url                        AS feed_url,
       e.story_id                   AS story_id,
       s.title                      AS story_title,
       s.entry_count                AS story_copies,
       e.id = s.representative_id   AS is_representative
  FROM entries e
  JOIN feeds f ON f.id = e.feed_id
  JOIN stories s ON s.id = e.story_id;

CREATE VIEW story_copies AS
SELECT e.story_id                   AS story_id,
       e.id                         AS entry_id,
       coalesce(f.title, f.url)     AS feed,
       f.url                        AS feed_url,
       e.title                      AS title,
       e.url                        AS url,
       e.published                  AS published,
       e.id = s.representative_id   AS is_representative,
       e.matched_entry_id           AS matched_entry_id,
       e.match_rule                 AS match_rule,
       e.match_containment          AS containment,
       e.match_resemblance          AS resemblance,
       e.match_title                AS title_overlap,
       e.match_numbers              AS figures,
       e.match_hamming              AS hamming,
       e.match_gap_seconds          AS gap_seconds,
       CASE WHEN e.match_rule IS NULL THEN 'started the story'
            ELSE e.match_rule || ' with entry ' || coalesce(e.matched_entry_id, '(pruned)')
                 || printf(': containment %.2f, title %.2f, figures %.2f',
                           e.match_containment, e.match_title, e.match_numbers)
       END                          AS why
  FROM entries e
  JOIN feeds f ON f.id = e.feed_id
  JOIN stories s ON s.id = e.story_id;
"#,
    // Feed health: each subscription with its feed and polling state.
    r#"
CREATE VIEW feed_health AS
SELECT s.id                                  AS subscription_id,
       s.url                                 AS url,
       coalesce(s.name, f.title, s.url)      AS name,
       CASE WHEN s.gone_at IS NOT NULL THEN 'gone'
            WHEN s.error_count > 0 THEN 'failing'
            WHEN s.last_success_at IS NULL THEN 'new'
            ELSE 'ok' END                    AS state,
       s.last_success_at                     AS last_success,
       s.last_error                          AS last_error,
       s.last_error_at                       AS last_error_at,
       s.error_count                         AS error_count,
       s.next_check_at                       AS next_check,
       s.current_interval                    AS interval_seconds,
       (s.etag IS NOT NULL OR s.last_modified IS NOT NULL) AS has_validators,
       (SELECT count(*) FROM entries e WHERE e.feed_id = s.feed_id) AS entries,
       s.gone_at                             AS gone_at
  FROM subscriptions s
  LEFT JOIN feeds f ON f.id = s.feed_id;
"#,
    // Speed at scale: the writer adds new entries to the full-text index in
    // one statement per transaction instead of a trigger per row (FTS5
    // writes a segment at every statement of a trigger), deleting an entry
    // finds the entries matched against it by index, not by a scan, and a
    // poll counts its feed's entries of the last week by index, not by
    // reading every entry the feed ever had.
    r#"
DROP TRIGGER entries_fts_insert;
CREATE INDEX entries_matched ON entries(matched_entry_id);
CREATE INDEX entries_feed_published ON entries(feed_id, published);
"#,
    // Two levels: events (the stories that report one happening), each
    // story in exactly one; the figures of each story's join to its event;
    // entries' new match figures (names, sentence alignment) and their
    // outlet within an aggregator feed. Stories are rebuilt to get their
    // NOT NULL event_id: each existing story becomes an event of its own
    // (`feedfold regroup` places them again). The views that read stories
    // are made again, with the event.
    r#"
DROP VIEW IF EXISTS recent_stories;
DROP VIEW IF EXISTS story_overview;
DROP VIEW IF EXISTS entry_details;
DROP VIEW IF EXISTS story_copies;

CREATE TABLE events (
    id                      INTEGER PRIMARY KEY,
    title                   TEXT NOT NULL,
    representative_story_id INTEGER,
    first_seen              TEXT NOT NULL,
    last_seen               TEXT NOT NULL,
    story_count             INTEGER NOT NULL DEFAULT 0,
    entry_count             INTEGER NOT NULL DEFAULT 0,
    feed_count              INTEGER NOT NULL DEFAULT 0,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL
);
CREATE INDEX events_first_seen ON events(first_seen);
CREATE INDEX events_last_seen ON events(last_seen);

INSERT INTO events (id, title, representative_story_id, first_seen, last_seen, story_count,
                    entry_count, feed_count, created_at, updated_at)
SELECT id, title, id, first_seen, last_seen, 1, entry_count, feed_count, created_at, updated_at
  FROM stories;

CREATE TABLE stories_new (
    id                     INTEGER PRIMARY KEY,
    title                  TEXT NOT NULL,
    representative_id      INTEGER,
    origin                 TEXT,
    first_seen             TEXT NOT NULL,
    last_seen              TEXT NOT NULL,
    entry_count            INTEGER NOT NULL DEFAULT 0,
    feed_count             INTEGER NOT NULL DEFAULT 0,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    event_id               INTEGER NOT NULL REFERENCES events(id),
    event_matched_story_id INTEGER REFERENCES stories(id) ON DELETE SET NULL,
    event_rule             TEXT,
    event_similarity       REAL,
    event_story_similarity REAL,
    event_shared_text      REAL
);
INSERT INTO stories_new (id, title, representative_id, origin, first_seen, last_seen,
                         entry_count, feed_count, created_at, updated_at, event_id)
SELECT id, title, representative_id, origin, first_seen, last_seen,
       entry_count, feed_count, created_at, updated_at, id
  FROM stories;
DROP TABLE stories;
ALTER TABLE stories_new RENAME TO stories;
CREATE INDEX stories_first_seen ON stories(first_seen);
CREATE INDEX stories_event ON stories(event_id);

ALTER TABLE entries ADD COLUMN match_names REAL;
ALTER TABLE entries ADD COLUMN match_alignment REAL;
ALTER TABLE entries ADD COLUMN outlet TEXT;

CREATE VIEW story_overview AS
SELECT s.id              AS story_id,
       s.title           AS title,
       s.first_seen      AS first_seen,
       s.last_seen       AS last_seen,
       s.entry_count     AS copies,
       s.feed_count      AS feed_count,
       s.origin          AS origin,
       r.url             AS url,
       (SELECT group_concat(name, ', ')
          FROM (SELECT DISTINCT coalesce(f.title, f.url) AS name
                  FROM entries e JOIN feeds f ON f.id = e.feed_id
                 WHERE e.story_id = s.id
                 ORDER BY name)) AS feeds,
       s.event_id        AS event_id
  FROM stories s
  LEFT JOIN entries r ON r.id = s.representative_id;

CREATE VIEW recent_stories AS
SELECT story_id, title, first_seen, last_seen, copies, feed_count, origin, url, feeds, event_id
  FROM story_overview
 WHERE last_seen >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day');

CREATE VIEW event_overview AS
SELECT v.id              AS event_id,
       v.title           AS title,
       v.first_seen      AS first_seen,
       v.last_seen       AS last_seen,
       v.story_count     AS stories,
       v.entry_count     AS copies,
       v.feed_count      AS feed_count,
       (SELECT group_concat(name, ', ')
          FROM (SELECT DISTINCT coalesce(f.title, f.url) AS name
                  FROM stories s JOIN entries e ON e.story_id = s.id JOIN feeds f ON f.id = e.feed_id
                 WHERE s.event_id = v.id
                 ORDER BY name)) AS feeds,
       v.representative_story_id AS story_id
  FROM events v;

CREATE VIEW entry_details AS
SELECT e.id                         AS entry_id,
       e.title                      AS title,
       e.url                        AS url,
       e.canonical_url              AS canonical_url,
       e.author                     AS author,
       e.published                  AS published,
       e.published_source           AS published_source,
       e.updated                    AS updated,
       e.first_seen                 AS first_seen,
       e.last_seen                  AS last_seen,
       e.credited_wire              AS credited_wire,
       e.text_length                AS text_length,
       CASE WHEN length(coalesce(e.summary_text, '')) > length(coalesce(e.content_text, ''))
            THEN e.summary_text ELSE coalesce(e.content_text, e.summary_text) END AS text,
       e.feed_id                    AS feed_id,
       coalesce(f.title, f.url)     AS feed,
       f.url                        AS feed_url,
       e.story_id                   AS story_id,
       s.title                      AS story_title,
       s.entry_count                AS story_copies,
       e.id = s.representative_id   AS is_representative,
       s.event_id                   AS event_id
  FROM entries e
  JOIN feeds f ON f.id = e.feed_id
  JOIN stories s ON s.id = e.story_id;

CREATE VIEW story_copies AS
SELECT e.story_id                   AS story_id,
       e.id                         AS entry_id,
       coalesce(f.title, f.url)     AS feed,
       f.url                        AS feed_url,
       e.title                      AS title,
       e.url                        AS url,
       e.published                  AS published,
       e.id = s.representative_id   AS is_representative,
       e.matched_entry_id           AS matched_entry_id,
       e.match_rule                 AS match_rule,
       e.match_containment          AS containment,
       e.match_resemblance          AS resemblance,
       e.match_title                AS title_overlap,
       e.match_numbers              AS figures,
       e.match_hamming              AS hamming,
       e.match_gap_seconds          AS gap_seconds,
       CASE WHEN e.match_rule IS NULL THEN 'started the story'
            WHEN e.match_rule LIKE 'fold:%' THEN
                 'folded in: entry ' || coalesce(e.matched_entry_id, '(pruned)')
                 || ' matched this story (' || substr(e.match_rule, 6)
                 || printf(', containment %.2f, title %.2f)', e.match_containment, e.match_title)
            ELSE e.match_rule || ' with entry ' || coalesce(e.matched_entry_id, '(pruned)')
                 || printf(': containment %.2f, title %.2f, figures %.2f',
                           e.match_containment, e.match_title, e.match_numbers)
       END                          AS why,
       e.match_names                AS names,
       e.match_alignment            AS alignment,
       s.event_id                   AS event_id
  FROM entries e
  JOIN feeds f ON f.id = e.feed_id
  JOIN stories s ON s.id = e.story_id;
"#,
    // Full text: where an entry's content comes from (its feed, or the
    // article page its link points to, and when that was fetched), the
    // article it waits for, each feed's full-text mode, and one row per
    // article URL: fetched at most once, failures retried with backoff.
    r#"
ALTER TABLE entries ADD COLUMN content_source TEXT NOT NULL DEFAULT 'feed'
    CHECK (content_source IN ('feed', 'article'));
ALTER TABLE entries ADD COLUMN article_url TEXT;
ALTER TABLE entries ADD COLUMN article_fetched_at TEXT;
CREATE INDEX entries_article_url ON entries(article_url);

ALTER TABLE subscriptions ADD COLUMN full_text TEXT
    CHECK (full_text IN ('auto', 'always', 'never'));

CREATE TABLE article_fetches (
    url             TEXT PRIMARY KEY,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'fetching', 'done', 'failed')),
    queued_at       TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TEXT,
    next_attempt_at TEXT,
    last_error      TEXT,
    fetched_at      TEXT,
    final_url       TEXT,
    word_count      INTEGER
);
CREATE INDEX article_fetches_due ON article_fetches(state, next_attempt_at);
"#,
    // Speed at scale: deleting a story (folded into another, or pruned)
    // sets `event_matched_story_id` to NULL in the stories that name it
    // (the foreign key's ON DELETE SET NULL); without an index SQLite
    // found them by reading every story, once per deleted story.
    r#"
CREATE INDEX stories_event_matched ON stories(event_matched_story_id);
"#,
    // Speed at scale: the writer refreshes a story's figures (entries,
    // feeds, dates, representative, origin) and its event's feed count
    // from its entries at every batch that touches it. With `story_id`
    // alone in the index, each entry's row was read for them, and its
    // dates and text length sit after its text, in overflow pages: a story
    // carried by many feeds cost a page read per entry per batch. The
    // index carries them.
    r#"
DROP INDEX entries_story;
CREATE INDEX entries_story ON entries(story_id, feed_id, published, text_length, credited_wire);
"#,
];

/// The first schema version with full-text provenance
/// (`entries.content_source`, `article_fetches`).
pub const FULL_TEXT_VERSION: i64 = 7;

/// The first schema version with the event level (`events`,
/// `stories.event_id`).
pub const EVENTS_VERSION: i64 = 6;

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// The store's current schema version.
pub fn version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Applies the missing migrations in one transaction. Refuses a store
/// written by a newer feedfold.
///
/// A migration may rebuild a table (the SQLite way to change a column):
/// foreign keys are checked once, at the end, rather than while a table is
/// dropped and its copy renamed, and renaming leaves references to the
/// table's name alone.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current = version(conn)?;
    let latest = latest_version();
    if current > latest {
        return Err(StoreError::TooNew {
            path: conn.path().unwrap_or_default().into(),
            found: current,
            supported: latest,
        });
    }
    if current == latest {
        return Ok(());
    }
    let foreign_keys: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    conn.pragma_update(None, "legacy_alter_table", true)?;
    let result = (|| {
        let tx = conn.transaction()?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        let broken: i64 =
            tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
        if broken > 0 {
            return Err(StoreError::Internal(
                "a migration left rows whose references point nowhere",
            ));
        }
        tx.commit()?;
        Ok(())
    })();
    conn.pragma_update(None, "legacy_alter_table", false)?;
    conn.pragma_update(None, "foreign_keys", foreign_keys)?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_an_empty_store_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        migrate(&mut conn).expect("first migration");
        assert_eq!(version(&conn).expect("version"), latest_version());
        migrate(&mut conn).expect("second run is a no-op");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM story_overview", [], |r| r.get(0))
            .expect("view works");
        assert_eq!(n, 0);
    }

    #[test]
    fn a_story_and_its_event_are_refreshed_from_the_index_alone() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        migrate(&mut conn).expect("migration");
        // The subqueries of the writer's story and event refreshes.
        for query in [
            "SELECT count(*), count(DISTINCT feed_id), min(published), max(published)
               FROM entries WHERE story_id = 1",
            "SELECT id FROM entries WHERE story_id = 1
                AND text_length * 5 >= 4 * (SELECT max(text_length) FROM entries WHERE story_id = 1)
              ORDER BY published, id LIMIT 1",
            "SELECT credited_wire FROM entries WHERE story_id = 1 AND credited_wire IS NOT NULL
              GROUP BY credited_wire ORDER BY count(*) DESC, min(published), credited_wire LIMIT 1",
            "SELECT count(DISTINCT e.feed_id) FROM stories s JOIN entries e ON e.story_id = s.id
              WHERE s.event_id = 1",
        ] {
            let mut stmt = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {query}"))
                .expect("plan");
            let plan: Vec<String> = stmt
                .query_map([], |r| r.get(3))
                .expect("plan rows")
                .collect::<Result<_, _>>()
                .expect("plan rows");
            let entries: Vec<&String> = plan
                .iter()
                .filter(|p| p.contains(" entries ") || p.contains(" e "))
                .collect();
            assert!(!entries.is_empty(), "{query}: {plan:?}");
            for step in entries {
                assert!(
                    step.contains("USING COVERING INDEX entries_story"),
                    "{query}: {plan:?}"
                );
            }
        }
    }

    #[test]
    fn deleting_a_story_finds_the_stories_naming_it_by_index() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        migrate(&mut conn).expect("migration");
        conn.pragma_update(None, "foreign_keys", true)
            .expect("foreign keys");
        conn.execute_batch(
            "INSERT INTO events (id, title, first_seen, last_seen, created_at, updated_at)
                  VALUES (1, 'e', 't', 't', 't', 't');
             INSERT INTO stories (id, title, first_seen, last_seen, created_at, updated_at, event_id)
                  VALUES (1, 'a', 't', 't', 't', 't', 1), (2, 'b', 't', 't', 't', 't', 1);
             UPDATE stories SET event_matched_story_id = 1, event_rule = 'centroid' WHERE id = 2;
             DELETE FROM stories WHERE id = 1;",
        )
        .expect("delete a story another one names");
        let named: Option<i64> = conn
            .query_row(
                "SELECT event_matched_story_id FROM stories WHERE id = 2",
                [],
                |r| r.get(0),
            )
            .expect("the other story stays");
        assert_eq!(named, None, "ON DELETE SET NULL");
        // The lookup the foreign key's action runs.
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM stories WHERE event_matched_story_id = 1",
                [],
                |r| r.get(3),
            )
            .expect("plan");
        assert!(plan.contains("stories_event_matched"), "{plan}");
    }

    #[test]
    fn refuses_a_newer_store() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        conn.pragma_update(None, "user_version", 99)
            .expect("set version");
        assert!(matches!(
            migrate(&mut conn),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }
}
