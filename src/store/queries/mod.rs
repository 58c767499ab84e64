//! Read-side queries behind `feedfold stories`, `story`, `search` and
//! `explain`; [`events`] has those behind `feedfold events`, `event` and
//! `explain --stories`.
//!
//! They run on read-only connections ([`super::open_reader`]) and see only
//! committed transactions, so a query during an ingest never sees half a
//! feed document.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

pub mod events;

use super::StoreError;
use crate::detector::outlet::link_key;
use crate::detector::{outlet_key, Detector, Features, Pair, Settings};

/// One line of `feedfold stories`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoryRow {
    /// `stories.id`.
    pub id: i64,
    /// The representative entry's title.
    pub title: String,
    /// Date of the earliest copy (ISO-8601 UTC).
    pub first_seen: String,
    /// Date of the latest copy (ISO-8601 UTC).
    pub last_seen: String,
    /// How many entries (copies) the story has.
    pub copies: i64,
    /// The representative entry's link.
    pub url: Option<String>,
    /// The wire the story's copies credit, if any ("Reuters", "AP", ...).
    pub origin: Option<String>,
    /// Titles (or URLs) of the feeds that carried it, sorted.
    pub feeds: Vec<String>,
    /// `events.id` of its event.
    pub event_id: i64,
}

/// Filters of `feedfold stories`.
#[derive(Debug, Clone, Default)]
pub struct StoryFilter {
    /// Only stories whose latest copy is dated at or after this (ISO-8601 UTC).
    pub since: Option<String>,
    /// Only stories with at least this many copies.
    pub min_copies: i64,
    /// At most this many stories.
    pub limit: Option<i64>,
}

pub(crate) fn split_feeds(s: Option<String>) -> Vec<String> {
    s.map(|s| s.split(", ").map(str::to_string).collect())
        .unwrap_or_default()
}

pub(crate) const STORY_COLUMNS: &str =
    "story_id, title, first_seen, last_seen, copies, url, feeds, origin, event_id";

/// [`STORY_COLUMNS`] as a store of this version has them: before the
/// event level (schema 6), each story is an event of its own, as the
/// migration makes it (read commands never migrate a store).
fn story_columns(conn: &Connection) -> Result<&'static str, StoreError> {
    Ok(
        if super::schema::version(conn)? >= super::schema::EVENTS_VERSION {
            STORY_COLUMNS
        } else {
            "story_id, title, first_seen, last_seen, copies, url, feeds, origin, story_id AS event_id"
        },
    )
}

pub(crate) fn story_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoryRow> {
    Ok(StoryRow {
        id: r.get(0)?,
        title: r.get(1)?,
        first_seen: r.get(2)?,
        last_seen: r.get(3)?,
        copies: r.get(4)?,
        url: r.get(5)?,
        feeds: split_feeds(r.get(6)?),
        origin: r.get(7)?,
        event_id: r.get(8)?,
    })
}

/// Stories, newest first.
pub fn stories(conn: &Connection, filter: &StoryFilter) -> Result<Vec<StoryRow>, StoreError> {
    let columns = story_columns(conn)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {columns} FROM story_overview
          WHERE (?1 IS NULL OR last_seen >= ?1) AND copies >= ?2
          ORDER BY first_seen DESC, story_id DESC
          LIMIT ?3"
    ))?;
    let rows = stmt.query_map(
        params![filter.since, filter.min_copies, filter.limit.unwrap_or(-1)],
        story_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Why an entry joined its story: the entry it matched and the figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MatchInfo {
    /// `entries.id` of the matched entry (`None` if it has since been pruned).
    pub entry_id: Option<i64>,
    /// The rule that decided (`containment`, `title_and_text`, `aligned`,
    /// `short_aligned`, `brief`, `same_link`), or `fold:RULE` for an entry
    /// that started a story folded into this one: `entry_id` is then the
    /// entry that bridged the two, and the figures its match.
    pub rule: String,
    /// SimHash Hamming distance.
    pub hamming: i64,
    /// Containment of the shorter text's word pairs in the longer's.
    pub containment: f64,
    /// Jaccard resemblance of the word pairs.
    pub resemblance: f64,
    /// Title word overlap.
    pub title: f64,
    /// Share of figures in common.
    pub numbers: f64,
    /// Share of each lede's names the other carries (the lower).
    pub names: Option<f64>,
    /// Share of the shorter text's sentences with a counterpart.
    pub alignment: Option<f64>,
    /// Seconds between the two entries' dates.
    pub gap_seconds: i64,
}

/// One entry of `feedfold story`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EntryRow {
    /// `entries.id`.
    pub id: i64,
    /// The feed's title, else its URL.
    pub feed: String,
    /// The feed's URL (identity).
    pub feed_url: String,
    /// Title.
    pub title: String,
    /// Link.
    pub url: Option<String>,
    /// Date (ISO-8601 UTC).
    pub published: String,
    /// Whether this entry is the story's representative.
    pub representative: bool,
    /// Why it joined; `None` for the entry that started the story.
    pub matched: Option<MatchInfo>,
    /// Which text its features, and so its matches, come from: `feed`, or
    /// `article` (the page its link points to; `entries.content_source`).
    /// Left out of JSON when it is `feed`.
    #[serde(skip_serializing_if = "is_feed")]
    pub text: String,
    /// When its article page was fetched, if its text is the article's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub article_fetched_at: Option<String>,
}

fn is_feed(text: &str) -> bool {
    text == "feed"
}

/// The columns of `entries.content_source` and `article_fetched_at`, or
/// their values in a store older than schema 7.
fn text_columns(conn: &Connection) -> Result<&'static str, StoreError> {
    Ok(
        if super::schema::version(conn)? >= super::schema::FULL_TEXT_VERSION {
            "e.content_source, e.article_fetched_at"
        } else {
            "'feed', NULL"
        },
    )
}

/// A story with all its entries, oldest first.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoryDetail {
    /// The story.
    #[serde(flatten)]
    pub story: StoryRow,
    /// Its entries.
    pub entries: Vec<EntryRow>,
}

/// One story and its entries.
pub fn story(conn: &Connection, id: i64) -> Result<StoryDetail, StoreError> {
    let story = conn
        .query_row(
            &format!(
                "SELECT {} FROM story_overview WHERE story_id = ?1",
                story_columns(conn)?
            ),
            [id],
            story_row,
        )
        .optional()?
        .ok_or(StoreError::NotFound { what: "story", id })?;
    // (Names and alignment are figures of schema 6 on.)
    let newer = super::schema::version(conn)? >= super::schema::EVENTS_VERSION;
    let mut stmt = conn.prepare(&format!(
        "SELECT e.id, coalesce(f.title, f.url), f.url, e.title, e.url, e.published,
                e.id = s.representative_id,
                e.matched_entry_id, e.match_rule, e.match_hamming, e.match_containment,
                e.match_resemblance, e.match_title, e.match_numbers, e.match_gap_seconds,
                {}, {}
           FROM entries e
           JOIN feeds f ON f.id = e.feed_id
           JOIN stories s ON s.id = e.story_id
          WHERE e.story_id = ?1
          ORDER BY e.published, e.id",
        if newer {
            "e.match_names, e.match_alignment"
        } else {
            "NULL, NULL"
        },
        text_columns(conn)?
    ))?;
    let entries = stmt
        .query_map([id], |r| {
            let matched = match r.get::<_, Option<String>>(8)? {
                Some(rule) => Some(MatchInfo {
                    entry_id: r.get(7)?,
                    rule,
                    hamming: r.get::<_, Option<i64>>(9)?.unwrap_or_default(),
                    containment: r.get::<_, Option<f64>>(10)?.unwrap_or_default(),
                    resemblance: r.get::<_, Option<f64>>(11)?.unwrap_or_default(),
                    title: r.get::<_, Option<f64>>(12)?.unwrap_or_default(),
                    numbers: r.get::<_, Option<f64>>(13)?.unwrap_or_default(),
                    gap_seconds: r.get::<_, Option<i64>>(14)?.unwrap_or_default(),
                    names: r.get(15)?,
                    alignment: r.get(16)?,
                }),
                None => None,
            };
            Ok(EntryRow {
                id: r.get(0)?,
                feed: r.get(1)?,
                feed_url: r.get(2)?,
                title: r.get(3)?,
                url: r.get(4)?,
                published: r.get(5)?,
                representative: r.get(6)?,
                matched,
                text: r.get(17)?,
                article_fetched_at: r.get(18)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(StoryDetail { story, entries })
}

/// One story found by `feedfold search`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SearchHit {
    /// The story.
    #[serde(flatten)]
    pub story: StoryRow,
    /// FTS5's bm25 rank of its best-matching copy (lower is better).
    pub rank: f64,
    /// How many of its copies match.
    pub matching_copies: i64,
    /// The best-matching copy (`entries.id`).
    pub entry_id: i64,
    /// A passage of the best-matching copy around the matched words.
    pub snippet: String,
    /// `snippet` with the matched words between `\u{2}` and `\u{3}`, for highlighting.
    #[serde(skip)]
    pub marked_snippet: String,
}

/// Arguments of `feedfold search`.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// An FTS5 query (`ceasefire NEAR putin`, `"port strike"`, `title:acme`).
    pub query: String,
    /// Only stories whose latest copy is dated at or after this (ISO-8601 UTC).
    pub since: Option<String>,
    /// At most this many stories.
    pub limit: Option<i64>,
}

/// Rewrites FTS3/4-style infix proximity (`a NEAR b`, `a NEAR/5 b`), which
/// FTS5 would read as three words, into FTS5's `NEAR(a b)` / `NEAR(a b, 5)`.
/// Operands are single words (with an optional `*`) or quoted phrases; any
/// other query is returned unchanged.
pub fn fts5_near(query: &str) -> String {
    // Split into tokens, keeping quoted phrases whole.
    let mut tokens: Vec<String> = Vec::new();
    let mut chars = query.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            let mut t = String::from('"');
            chars.next();
            for c in chars.by_ref() {
                t.push(c);
                if c == '"' {
                    break;
                }
            }
            tokens.push(t);
        } else {
            let mut t = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '"' {
                    break;
                }
                t.push(c);
                chars.next();
            }
            tokens.push(t);
        }
    }
    let operand = |t: &str| {
        (t.starts_with('"') && t.len() > 1 && t.ends_with('"'))
            || t.trim_end_matches('*')
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '\'' || c == '-')
                && !t.is_empty()
                && !["AND", "OR", "NOT"].contains(&t)
    };
    let near = |t: &str| -> Option<Option<u32>> {
        if t == "NEAR" {
            Some(None)
        } else {
            t.strip_prefix("NEAR/")
                .and_then(|n| n.parse().ok())
                .map(Some)
        }
    };
    if !tokens.iter().any(|t| near(t).is_some()) {
        return query.to_string();
    }
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // A chain: operand (NEAR[/n] operand)+, all with one distance.
        if operand(&tokens[i]) && i + 2 < tokens.len() && near(&tokens[i + 1]).is_some() {
            let distance = near(&tokens[i + 1]).flatten();
            let mut group = vec![tokens[i].clone()];
            let mut j = i + 1;
            while j + 1 < tokens.len()
                && near(&tokens[j]) == Some(distance)
                && operand(&tokens[j + 1])
            {
                group.push(tokens[j + 1].clone());
                j += 2;
            }
            if group.len() > 1 {
                out.push(match distance {
                    Some(n) => format!("NEAR({}, {n})", group.join(" ")),
                    None => format!("NEAR({})", group.join(" ")),
                });
                i = j;
                continue;
            }
        }
        out.push(tokens[i].clone());
        i += 1;
    }
    out.join(" ")
}

/// Weights of `entries_fts`'s columns (title, summary, content) in the rank.
const RANK: &str = "bm25(entries_fts, 5.0, 1.0, 1.0)";

/// Stories with a copy matching a full-text query, best first; each story
/// once, represented by its best-matching copy.
pub fn search(conn: &Connection, q: &SearchQuery) -> Result<Vec<SearchHit>, StoreError> {
    let has_fts: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'entries_fts'",
        [],
        |r| r.get(0),
    )?;
    if !has_fts {
        return Err(StoreError::Outdated {
            what: "full-text search",
            found: super::schema::version(conn)?,
            supported: super::schema::latest_version(),
        });
    }
    // The statement is fixed: a plain SQL error (SQLITE_ERROR) while it
    // runs comes from the FTS5 query the user wrote.
    let bad = |e: rusqlite::Error| match &e {
        rusqlite::Error::SqliteFailure(f, Some(msg)) if f.code == rusqlite::ErrorCode::Unknown => {
            StoreError::BadQuery {
                query: q.query.clone(),
                message: msg.trim_start_matches("fts5: ").to_string(),
            }
        }
        _ => StoreError::Sqlite(e),
    };
    let sql = format!(
        "WITH matched AS MATERIALIZED (
             SELECT rowid AS entry_id, {RANK} AS rank,
                    snippet(entries_fts, -1, char(2), char(3), '…', 16) AS marked
               FROM entries_fts
              WHERE entries_fts MATCH ?1
         ),
         best AS (
             SELECT e.story_id AS story_id, min(m.rank) AS rank, m.entry_id AS entry_id,
                    m.marked AS marked, count(*) AS n
               FROM matched m JOIN entries e ON e.id = m.entry_id
              GROUP BY e.story_id
         )
         SELECT o.{cols}, b.rank, b.n, b.entry_id, b.marked
           FROM best b JOIN story_overview o ON o.story_id = b.story_id
          WHERE (?2 IS NULL OR o.last_seen >= ?2)
          ORDER BY b.rank, o.last_seen DESC, o.story_id DESC
          LIMIT ?3",
        cols = story_columns(conn)?.replace(", ", ", o."),
    );
    let mut stmt = conn.prepare(&sql).map_err(bad)?;
    let rows = stmt
        .query_map(
            params![fts5_near(&q.query), q.since, q.limit.unwrap_or(-1)],
            |r| {
                let marked: String = r.get::<_, Option<String>>(12)?.unwrap_or_default();
                Ok(SearchHit {
                    story: story_row(r)?,
                    rank: r.get(9)?,
                    matching_copies: r.get(10)?,
                    entry_id: r.get(11)?,
                    snippet: marked.replace(['\u{2}', '\u{3}'], ""),
                    marked_snippet: marked,
                })
            },
        )
        .map_err(bad)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(bad)
}

/// One side of `feedfold explain`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExplainedEntry {
    /// `entries.id`.
    pub id: i64,
    /// The feed's title, else its URL.
    pub feed: String,
    /// Title.
    pub title: String,
    /// Date (ISO-8601 UTC).
    pub published: String,
    /// `stories.id`.
    pub story_id: i64,
    /// Which text the figures come from: `feed`, or `article` (the page
    /// its link points to).
    pub text: String,
}

/// The figures for any two stored entries, and what the current settings decide.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Explanation {
    /// The first entry.
    pub a: ExplainedEntry,
    /// The second entry.
    pub b: ExplainedEntry,
    /// The figures, with words weighted by their rarity among the entries
    /// of the grouping window around `a`, as during ingest.
    pub similarity: crate::detector::Similarity,
    /// The rule that makes them copies under the current settings, if any.
    pub rule: Option<crate::detector::Rule>,
    /// Whether they are within the grouping window of each other.
    pub within_window: bool,
    /// Whether they come from one outlet (copies only if the same article).
    pub same_outlet: bool,
    /// Whether they have the same canonical link (the same article).
    pub same_link: bool,
    /// Whether they are in one story now.
    pub same_story: bool,
}

/// An entry as `explain` compares it.
struct Explained {
    entry: ExplainedEntry,
    outlet: i64,
    link: u64,
    time: i64,
    features: Features,
}

fn explained_entry(conn: &Connection, id: i64) -> Result<Explained, StoreError> {
    conn.query_row(
        &format!("SELECT e.id, coalesce(f.title, f.url), e.title, e.published, e.story_id, e.feed_id, e.features,
                e.outlet, e.canonical_url, coalesce(nullif(e.content_text, ''), e.summary_text, ''), {}
           FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE e.id = ?1", text_columns(conn)?),
        [id],
        |r| {
            let published: String = r.get(3)?;
            let blob: Vec<u8> = r.get(6)?;
            let title: String = r.get(2)?;
            let feed_id: i64 = r.get(5)?;
            let outlet: Option<String> = r.get(7)?;
            let canonical: Option<String> = r.get(8)?;
            let text: String = r.get(9)?;
            Ok(Explained {
                features: Features::decode(&blob)
                    .unwrap_or_else(|| crate::detector::features::extract(&title, &text)),
                entry: ExplainedEntry {
                    id: r.get(0)?,
                    feed: r.get(1)?,
                    title,
                    published: published.clone(),
                    story_id: r.get(4)?,
                    text: r.get(10)?,
                },
                outlet: outlet_key(feed_id, outlet.as_deref()),
                link: link_key(canonical.as_deref()),
                time: crate::model::parse_time(&published).map_or(0, |t| t.timestamp()),
            })
        },
    )
    .optional()?
    .ok_or(StoreError::NotFound { what: "entry", id })
}

/// Computes the grouping figures for two stored entries.
pub fn explain(
    conn: &Connection,
    a: i64,
    b: i64,
    settings: &Settings,
) -> Result<Explanation, StoreError> {
    let ea = explained_entry(conn, a)?;
    let eb = explained_entry(conn, b)?;
    let window = settings.stories.window_seconds();
    let mut detector = Detector::new(settings.clone());
    super::window::load_range(
        conn,
        &mut detector,
        ea.time.saturating_sub(window),
        ea.time.saturating_add(1),
        &Default::default(),
    )?;
    let mut similarity = detector.compare(&ea.features, &eb.features, ea.time - eb.time);
    let pair = Pair {
        same_outlet: ea.outlet == eb.outlet,
        same_link: ea.link != 0 && ea.link == eb.link,
    };
    let rule = detector.decide(&ea.features, &eb.features, &mut similarity, pair);
    Ok(Explanation {
        same_story: ea.entry.story_id == eb.entry.story_id,
        within_window: (ea.time - eb.time).abs() <= window,
        same_outlet: pair.same_outlet,
        same_link: pair.same_link,
        a: ea.entry,
        b: eb.entry,
        rule,
        similarity,
    })
}

#[cfg(test)]
mod tests {
    use super::fts5_near;

    #[test]
    fn infix_near_becomes_fts5_near() {
        assert_eq!(fts5_near("ceasefire NEAR putin"), "NEAR(ceasefire putin)");
        assert_eq!(
            fts5_near("ceasefire NEAR/5 putin"),
            "NEAR(ceasefire putin, 5)"
        );
        assert_eq!(
            fts5_near("\"port strike\" NEAR rotterdam OR wheat"),
            "NEAR(\"port strike\" rotterdam) OR wheat"
        );
        assert_eq!(fts5_near("a NEAR b NEAR c"), "NEAR(a b c)");
        assert_eq!(fts5_near("NEAR(a b, 3)"), "NEAR(a b, 3)");
        assert_eq!(fts5_near("plain words"), "plain words");
        assert_eq!(fts5_near("dangling NEAR"), "dangling NEAR");
    }
}
