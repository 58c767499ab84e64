//! Full text in the store: which new entries wait for their article, the
//! queue of article fetches (`article_fetches`, one row per canonical
//! URL), and entries placed again when their article's text arrives.
//!
//! - As a document is stored, each new entry the feed's mode wants the
//!   article of ([`crate::extractor::policy::wants_article`]; at most
//!   `full_text.per_poll` per poll) gets `article_url`, and its URL a
//!   `pending` row unless it has one: each URL is fetched at most once. An
//!   entry whose URL was fetched already takes the stored article text at
//!   once, before it is placed.
//! - [`Writer::claim_articles`] hands out the due rows (`pending` whose
//!   `next_attempt_at` has come, or `fetching` ones abandoned for an hour)
//!   as `fetching`, counting the attempt; when the daemon starts, the rows
//!   a previous run left `fetching` are `pending` again.
//! - [`Writer::store_articles`] records what came of them in one
//!   transaction: a failure is retried after `full_text.retry_after`,
//!   doubled at each attempt, until `full_text.max_attempts`, then the row
//!   stays `failed`; a page that is no article fails for good. The text of
//!   an article goes to every entry waiting for that URL (`content_source
//!   = 'article'`), their features are computed again, and they are
//!   placed again together, in id order, as if new: they all leave the
//!   index (a batch of 256 or more, or a quarter of the index,
//!   by reloading it without them, events included; a smaller one by
//!   taking each out, and a story only they belong to out of its event,
//!   whose centroid keeps their words until the next load), then each is
//!   placed with the detector like a new entry (story and event); stories
//!   and events left empty go. The same entries and pages stored in the
//!   same batches give the same stories and events.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::rows::{
    delete_story_if_empty, exec, mark_folded, refresh_event, refresh_story, seed_story_of_one,
    set_story,
};
use super::{place_entry, StoreError, Touched, Writer};
use crate::detector::features::extract;
use crate::detector::outlet::link_key;
use crate::detector::{outlet_key, Arrival, Indexed};
use crate::extractor::policy::{carries_full_text, wants_article};
use crate::extractor::FullTextConfig;
use crate::model::{format_time, parse_time, FullTextMode, NormalizedEntry, NormalizedFeed};

/// From this many entries placed again at once, the index and its events
/// are rebuilt without them rather than the entries taken out one by one
/// (which leaves their words in their events' sums).
const RELOAD_FROM: usize = 256;

/// How long a claimed fetch may stay unanswered before it is handed out
/// again (the process that claimed it stopped).
const ABANDONED_SECS: i64 = 3600;

/// An article fetch the store has queued, handed out by
/// [`Writer::claim_articles`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleJob {
    /// The canonical URL to fetch.
    pub url: String,
    /// Which attempt this is (1 for the first).
    pub attempt: u32,
}

/// What came of one article fetch.
#[derive(Debug, Clone)]
pub struct ArticleOutcome {
    /// The job's URL.
    pub url: String,
    /// The article, or why there is none.
    pub result: Result<FetchedArticle, ArticleFailure>,
}

/// An article page's extracted text.
#[derive(Debug, Clone)]
pub struct FetchedArticle {
    /// The page's URL after redirects.
    pub final_url: String,
    /// The article as sanitized HTML.
    pub html: String,
    /// The article as plain text.
    pub text: String,
    /// Words in `text`.
    pub word_count: usize,
    /// Whether the page looks like an article; if not, its text is not used
    /// and the fetch counts as a permanent failure.
    pub looks_like_article: bool,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
}

/// Why an article fetch gave no text.
#[derive(Debug, Clone)]
pub struct ArticleFailure {
    /// The error, as recorded in `article_fetches.last_error`.
    pub message: String,
    /// Whether trying again cannot help (not HTML, refused address, a page
    /// the extractor refuses): no retry.
    pub permanent: bool,
}

/// What [`Writer::store_articles`] did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ArticlesReport {
    /// Articles whose text was stored.
    pub fetched: usize,
    /// Fetches that failed and will be tried again.
    pub retrying: usize,
    /// Fetches that failed for good.
    pub failed: usize,
    /// Entries placed again with their article's text.
    pub placed_again: usize,
}

/// What the writer does about full text: the `[full_text]` table, and
/// which documents it applies to.
#[derive(Debug, Clone, Default)]
pub struct FullTextSettings {
    /// The `[full_text]` table.
    pub config: FullTextConfig,
    /// The mode of documents from `feedfold ingest` (`--full-text`);
    /// `None`: no articles for them.
    pub ingest: Option<FullTextMode>,
    /// Whether polled documents queue articles (the daemon, which fetches
    /// them); each feed's mode is its own `full_text`, else the config's.
    pub polls: bool,
}

/// How one document's entries queue articles.
pub(crate) struct DocArticles {
    mode: FullTextMode,
    /// The feed carries full text (`auto` fetches nothing then).
    feed_full: bool,
    min_words: usize,
    /// Articles this document may still queue.
    budget: usize,
}

impl DocArticles {
    /// The plan of a document of `feed` with `mode`; `budget` articles at most.
    pub(crate) fn new(
        feed: &NormalizedFeed,
        mode: FullTextMode,
        config: &FullTextConfig,
        budget: usize,
    ) -> DocArticles {
        let feed_full = mode == FullTextMode::Auto
            && carries_full_text(
                feed.entries.iter().map(NormalizedEntry::best_text),
                config.min_words,
            );
        DocArticles {
            mode,
            feed_full,
            min_words: config.min_words,
            budget,
        }
    }

    /// No articles at all.
    pub(crate) fn none() -> DocArticles {
        DocArticles {
            mode: FullTextMode::Never,
            feed_full: false,
            min_words: 0,
            budget: 0,
        }
    }

    /// The article URL a new entry waits for, if it wants one (and the
    /// document's budget allows).
    pub(crate) fn wanted(&mut self, entry: &NormalizedEntry) -> Option<String> {
        if self.budget == 0 || self.mode == FullTextMode::Never {
            return None;
        }
        let url = entry.canonical_url.as_deref()?;
        if !wants_article(
            self.mode,
            Some(url),
            entry.best_text(),
            self.feed_full,
            self.min_words,
        ) {
            return None;
        }
        self.budget -= 1;
        Some(url.to_string())
    }
}

/// The article text already stored for `url`, taken from an entry that
/// has it: (HTML, text, when fetched).
pub(crate) fn stored_article(
    conn: &Connection,
    url: &str,
) -> Result<Option<(String, String, String)>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT e.content_html, e.content_text, e.article_fetched_at
               FROM article_fetches a
               JOIN entries e ON e.article_url = a.url AND e.content_source = 'article'
              WHERE a.url = ?1 AND a.state = 'done'
              ORDER BY e.id LIMIT 1",
        )?
        .query_row([url], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            ))
        })
        .optional()?)
}

/// A copy of `entry` with an article's text as its content, its features
/// computed from it.
pub(crate) fn with_article(entry: &NormalizedEntry, html: String, text: String) -> NormalizedEntry {
    let mut e = entry.clone();
    e.features = extract(&e.title, &text);
    e.content_html = Some(html);
    e.content_text = Some(text);
    e
}

/// Marks a stored entry as waiting for (or, with `fetched_at`, holding)
/// the article at `url`, and queues the URL unless it is known.
pub(crate) fn mark_wanted(
    conn: &Connection,
    id: i64,
    url: &str,
    fetched_at: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE entries SET article_url = ?2,
                content_source = CASE WHEN ?3 IS NULL THEN 'feed' ELSE 'article' END,
                article_fetched_at = ?3
          WHERE id = ?1",
        params![id, url, fetched_at],
    )?;
    exec(
        conn,
        "INSERT INTO article_fetches (url, state, queued_at, next_attempt_at)
         VALUES (?1, 'pending', ?2, ?2) ON CONFLICT (url) DO NOTHING",
        params![url, now],
    )?;
    Ok(())
}

impl Writer {
    /// Sets what the writer does about full text (see [`FullTextSettings`]).
    /// For the daemon (`polls`), fetches a previous run left under way are
    /// due again at once.
    pub fn set_full_text(&mut self, settings: FullTextSettings) -> Result<(), StoreError> {
        if settings.polls {
            exec(
                &self.conn,
                "UPDATE article_fetches SET state = 'pending', attempts = max(attempts - 1, 0)
                  WHERE state = 'fetching'",
                [],
            )?;
        }
        self.full_text = settings;
        Ok(())
    }

    /// The queued article fetches that are due at `now`, at most `limit`,
    /// oldest first; each is marked `fetching` and its attempt counted.
    pub fn claim_articles(
        &mut self,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<ArticleJob>, StoreError> {
        let now_s = format_time(now);
        let stale = DateTime::from_timestamp(now.timestamp() - ABANDONED_SECS, 0)
            .map(format_time)
            .unwrap_or_default();
        let tx = self.conn.transaction()?;
        let jobs: Vec<(String, u32)> = {
            let mut stmt = tx.prepare_cached(
                "SELECT url, attempts FROM article_fetches
                  WHERE (state = 'pending' AND next_attempt_at <= ?1)
                     OR (state = 'fetching' AND last_attempt_at < ?2)
                  ORDER BY next_attempt_at, url LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![now_s, stale, i64::try_from(limit).unwrap_or(i64::MAX)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            rows.collect::<Result<_, _>>()?
        };
        for (url, _) in &jobs {
            exec(
                &tx,
                "UPDATE article_fetches SET state = 'fetching', attempts = attempts + 1,
                        last_attempt_at = ?2
                  WHERE url = ?1",
                params![url, now_s],
            )?;
        }
        tx.commit()?;
        Ok(jobs
            .into_iter()
            .map(|(url, attempts)| ArticleJob {
                url,
                attempt: attempts + 1,
            })
            .collect())
    }

    /// Records what came of article fetches, stores the articles' text on
    /// the entries waiting for them and places those entries again, in
    /// one transaction (see the module documentation).
    pub fn store_articles(
        &mut self,
        outcomes: &[ArticleOutcome],
        now: DateTime<Utc>,
    ) -> Result<ArticlesReport, StoreError> {
        self.ensure_loaded()?;
        let result = self.store_articles_tx(outcomes, now);
        if result.is_err() {
            // The index may hold what was rolled back.
            if let Err(e) = self.reload() {
                tracing::error!(error = %e, "reloading the candidate index failed");
            }
        }
        self.window.evict();
        result
    }

    fn store_articles_tx(
        &mut self,
        outcomes: &[ArticleOutcome],
        now: DateTime<Utc>,
    ) -> Result<ArticlesReport, StoreError> {
        let now_s = format_time(now);
        let config = self.full_text.config.clone();
        let Writer { conn, window, .. } = self;
        let tx = conn.transaction()?;
        let mut report = ArticlesReport::default();
        // The entries that get an article's text, with it.
        let mut changed: Vec<(i64, String, String, String)> = Vec::new();
        for o in outcomes {
            let attempts: Option<u32> = tx
                .prepare_cached("SELECT attempts FROM article_fetches WHERE url = ?1")?
                .query_row([&o.url], |r| r.get(0))
                .optional()?;
            let Some(attempts) = attempts else {
                continue;
            };
            let failure = match &o.result {
                Ok(a) if a.looks_like_article && a.word_count > 0 => {
                    let fetched_at = format_time(a.fetched_at);
                    exec(
                        &tx,
                        "UPDATE article_fetches SET state = 'done', fetched_at = ?2, final_url = ?3,
                                word_count = ?4, last_error = NULL, next_attempt_at = NULL
                          WHERE url = ?1",
                        params![o.url, fetched_at, a.final_url, a.word_count as i64],
                    )?;
                    let mut stmt = tx.prepare_cached(
                        "SELECT id FROM entries WHERE article_url = ?1 AND content_source = 'feed'
                          ORDER BY id",
                    )?;
                    let ids = stmt.query_map([&o.url], |r| r.get::<_, i64>(0))?;
                    for id in ids {
                        changed.push((id?, a.html.clone(), a.text.clone(), fetched_at.clone()));
                    }
                    report.fetched += 1;
                    None
                }
                Ok(a) => Some(ArticleFailure {
                    message: format!("not an article ({} words found)", a.word_count),
                    permanent: true,
                }),
                Err(f) => Some(f.clone()),
            };
            if let Some(f) = failure {
                let next = if f.permanent {
                    None
                } else {
                    config
                        .next_attempt(attempts, now.timestamp())
                        .and_then(|t| DateTime::from_timestamp(t, 0))
                };
                let mut message = f.message;
                crate::normalizer::limits::truncate_at_char(&mut message, 500);
                exec(
                    &tx,
                    "UPDATE article_fetches SET state = ?2, next_attempt_at = ?3, last_error = ?4
                      WHERE url = ?1",
                    params![
                        o.url,
                        if next.is_some() { "pending" } else { "failed" },
                        next.map(format_time),
                        message
                    ],
                )?;
                if next.is_some() {
                    report.retrying += 1;
                } else {
                    report.failed += 1;
                }
            }
        }
        changed.sort_by_key(|c| c.0);
        changed.dedup_by_key(|c| c.0);
        if !changed.is_empty() {
            let ids: BTreeSet<i64> = changed.iter().map(|c| c.0).collect();
            // Many at once (`ingest --full-text`): rebuild the index and
            // the events without them; a few (the daemon): take them out.
            if ids.len() >= RELOAD_FROM || ids.len() * 4 >= window.detector().len() {
                window.reload_without(&tx, &ids)?;
            } else {
                window.set_aside(&tx, &ids)?;
            }
            let mut touched = Touched::default();
            let mut old_stories = BTreeSet::new();
            for (id, html, text, fetched_at) in &changed {
                let row = place_again(&tx, window, *id, html, text, fetched_at, &now_s)?;
                old_stories.insert(row.old_story);
                touched.events.insert(row.old_event);
                touched.stories.extend(row.touched.stories);
                touched.events.extend(row.touched.events);
                report.placed_again += 1;
            }
            for story in old_stories {
                if delete_story_if_empty(&tx, story)? {
                    touched.stories.remove(&story);
                } else {
                    touched.stories.insert(story);
                }
            }
            for story in &touched.stories {
                refresh_story(&tx, *story, &now_s)?;
            }
            for event in &touched.events {
                refresh_event(&tx, *event, &now_s)?;
            }
        }
        tx.commit()?;
        Ok(report)
    }
}

/// Where an entry placed again was, and what its new place changed.
struct Replaced {
    old_story: i64,
    old_event: i64,
    touched: Touched,
}

/// Gives entry `id` an article's text, computes its features again and
/// places it like a new entry (it is out of the index).
fn place_again(
    conn: &Connection,
    window: &mut super::Window,
    id: i64,
    html: &str,
    text: &str,
    fetched_at: &str,
    now: &str,
) -> Result<Replaced, StoreError> {
    type Row = (
        i64,
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        i64,
        Option<String>,
    );
    let (feed_id, old_story, title, published, outlet, canonical, old_event, credited): Row = conn
        .query_row(
            "SELECT e.feed_id, e.story_id, e.title, e.published, e.outlet, e.canonical_url,
                    s.event_id, e.credited_wire
               FROM entries e JOIN stories s ON s.id = e.story_id WHERE e.id = ?1",
            [id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )?;
    let features = extract(&title, text);
    let summary_len: i64 = conn.query_row(
        "SELECT length(coalesce(summary_text, '')) FROM entries WHERE id = ?1",
        [id],
        |r| r.get(0),
    )?;
    let text_length = (text.chars().count() as i64).max(summary_len);
    exec(
        conn,
        "UPDATE entries SET content_html = ?2, content_text = ?3, text_length = ?4,
                fingerprint = ?5, features = ?6, content_source = 'article',
                article_fetched_at = ?7
          WHERE id = ?1",
        params![
            id,
            html,
            text,
            text_length,
            features.simhash as i64,
            features.encode(),
            fetched_at
        ],
    )?;
    let time = parse_time(&published)
        .map(|t| t.timestamp())
        .unwrap_or_default();
    let arrival = Arrival {
        time,
        outlet: outlet_key(feed_id, outlet.as_deref()),
        link: link_key(canonical.as_deref()),
    };
    window.cover(conn, time)?;
    let placed = place_entry(conn, window, arrival, &features, &title, now)?;
    set_story(conn, id, placed.story_id, placed.best.as_ref())?;
    let mut touched = Touched::default();
    for (m, starters) in &placed.folded {
        mark_folded(conn, starters, id, m)?;
    }
    touched.events.extend(&placed.events);
    window.insert(
        id,
        Indexed {
            outlet: arrival.outlet,
            link: arrival.link,
            story_id: placed.story_id,
            time,
            features,
        },
    );
    if placed.best.is_none() {
        seed_story_of_one(conn, placed.story_id, id, credited.as_deref())?;
    } else {
        touched.stories.insert(placed.story_id);
    }
    for (m, _) in &placed.folded {
        touched.stories.remove(&m.story_id);
    }
    Ok(Replaced {
        old_story,
        old_event,
        touched,
    })
}
