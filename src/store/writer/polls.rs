//! The writer's subscription writes: the feed list (config sync, `feeds
//! add|remove`, OPML import) and every poll's result.
//!
//! A poll that fetched a document is recorded inside that document's
//! savepoint (`record_fetched`, called by the batch in [`super`]), with
//! the next check the scheduler's [`Policy`] decides from the feed's stored
//! publishing rate, so the stored entries, the validators and the next
//! check time always agree. Other outcomes (304, 410, failures) are
//! recorded without a document: those waiting at the writer together, in
//! one transaction, each in a savepoint of its own
//! ([`Writer::record_polls`]), so a cycle of 10,000 answers of 304 is not
//! 10,000 commits. None of these needs the grouping window: the daemon's
//! writer opens without it and loads it before the first document
//! (`Writer::open_unloaded`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::Writer;
use crate::model::{
    format_time, parse_time, redact_credentials, FeedSpec, Hints, IngestReport, Validators,
};
use crate::scheduler::policy::{Policy, RATE_WINDOW};
use crate::store::subscriptions::{
    Added, Origin, Poll, PollRecord, Recorded, Subscription, Synced,
};
use crate::store::StoreError;

/// A poll that fetched a document, on its way into the writer's batch.
#[derive(Debug)]
pub(crate) struct FetchedPoll {
    /// `subscriptions.id`.
    pub id: i64,
    /// The subscription's state when the batch began.
    pub cur: Current,
    /// When the check was made.
    pub checked_at: DateTime<Utc>,
    /// How to schedule the next one.
    pub policy: Policy,
    /// Validators of the response.
    pub validators: Validators,
    /// Server hints.
    pub hints: Hints,
    /// New URL after permanent redirects.
    pub moved_to: Option<String>,
}

impl Writer {
    /// Makes the config's feeds the `config` subscriptions: adds new ones,
    /// updates names and intervals, removes those the config dropped.
    pub fn sync_feeds(&mut self, feeds: &[FeedSpec]) -> Result<Synced, StoreError> {
        sync(&mut self.conn, feeds, Utc::now())
    }

    /// Subscribes to one feed (revives it if it was gone).
    pub fn add_feed(&mut self, spec: &FeedSpec, origin: Origin) -> Result<Added, StoreError> {
        add(&mut self.conn, spec, origin, Utc::now())
    }

    /// Unsubscribes the feed with this URL (polled or configured); the
    /// entries already stored stay. Whether there was one.
    pub fn remove_feed(&mut self, url: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "DELETE FROM subscriptions WHERE url = ?1 OR configured_url = ?1",
            [url],
        )?;
        Ok(n > 0)
    }

    /// Every subscription to poll.
    pub fn active_feeds(&self) -> Result<Vec<Subscription>, StoreError> {
        load(&self.conn, None)
    }

    /// The subscription a fetched document is recorded for, if it is
    /// still polled (it may have been removed while the fetch was under way).
    pub(crate) fn poll_target(&self, id: i64) -> Result<Option<Current>, StoreError> {
        current(&self.conn, id)
    }

    /// Records a poll that brought no document (304, 410, a failure).
    pub fn record_poll(&mut self, poll: Poll) -> Result<Recorded, StoreError> {
        self.record_polls(vec![poll])
            .pop()
            .unwrap_or(Err(StoreError::Internal("a recorded poll gave no result")))
    }

    /// Records polls that brought no document (304, 410, failures) in one
    /// transaction, each in a savepoint of its own: a poll whose writes
    /// fail is rolled back alone and answered with its error, and the
    /// others are recorded. The answers come after the commit (if it fails,
    /// every poll of the batch gets its error). One result per poll, in
    /// order.
    pub fn record_polls(&mut self, polls: Vec<Poll>) -> Vec<Result<Recorded, StoreError>> {
        let n = polls.len();
        match record_in_one_transaction(&mut self.conn, polls) {
            Ok(results) => results,
            Err(e) => (0..n).map(|_| Err(e.duplicate())).collect(),
        }
    }

    /// Records that a fetched document could not be stored: a failed poll.
    pub(crate) fn record_store_failure(
        &mut self,
        poll: &FetchedPoll,
        error: &StoreError,
    ) -> Result<Recorded, StoreError> {
        let message = format!("storing failed: {}", crate::telemetry::chain(error));
        fail(
            &self.conn,
            poll.id,
            &poll.cur,
            &poll.policy,
            poll.checked_at,
            &message,
            None,
            None,
        )?;
        failed(&self.conn, poll.id, message, true)
    }

    /// The answer for a stored document's poll.
    pub(crate) fn recorded_stored(
        &self,
        id: i64,
        report: IngestReport,
    ) -> Result<Recorded, StoreError> {
        Ok(match self.subscription(id)? {
            Some(subscription) => Recorded::Stored {
                report,
                subscription,
            },
            None => Recorded::Unsubscribed,
        })
    }

    fn subscription(&self, id: i64) -> Result<Option<Subscription>, StoreError> {
        Ok(load(&self.conn, Some(id))?.pop())
    }
}

/// [`Writer::record_polls`]: every poll in a savepoint of its own, in one
/// transaction. Fails only if the transaction itself fails.
fn record_in_one_transaction(
    conn: &mut Connection,
    polls: Vec<Poll>,
) -> Result<Vec<Result<Recorded, StoreError>>, StoreError> {
    let mut tx = conn.transaction()?;
    let mut results = Vec::with_capacity(polls.len());
    for poll in polls {
        let sp = tx.savepoint()?;
        let result = record_one(&sp, poll);
        if result.is_ok() {
            sp.commit()?;
        }
        // Dropping the savepoint uncommitted rolls its writes back.
        results.push(result);
    }
    tx.commit()?;
    Ok(results)
}

/// Records one poll that brought no document through `conn` (a savepoint).
fn record_one(conn: &Connection, poll: Poll) -> Result<Recorded, StoreError> {
    let Poll {
        subscription: id,
        checked_at: now,
        policy,
        record,
    } = poll;
    let Some(cur) = current(conn, id)? else {
        return Ok(Recorded::Unsubscribed);
    };
    let now_s = format_time(now);
    match record {
        PollRecord::Modified { .. } => Err(StoreError::Internal(
            "a fetched document reached the single-poll path",
        )),
        PollRecord::NotModified {
            etag,
            hints,
            moved_to,
        } => {
            let plan = policy.after_not_modified(now, cur.interval, &hints);
            conn.prepare_cached(
                "UPDATE subscriptions SET next_check_at = ?2, current_interval = ?3, etag = coalesce(?4, etag),
                        last_check_at = ?5, last_success_at = ?5, last_status = 304, error_count = 0
                  WHERE id = ?1",
            )?
            .execute(params![id, format_time(plan.next_check_at), secs(plan.interval), etag, now_s])?;
            if let Some(to) = &moved_to {
                move_to(conn, id, cur.feed_id, &cur.url, to)?;
            }
            Ok(match load(conn, Some(id))?.pop() {
                Some(subscription) => Recorded::NotModified { subscription },
                None => Recorded::Unsubscribed,
            })
        }
        PollRecord::Gone => {
            conn.prepare_cached(
                "UPDATE subscriptions SET gone_at = ?2, next_check_at = NULL, last_check_at = ?2,
                        last_status = 410, last_error = 'gone (410): no longer polled', last_error_at = ?2
                  WHERE id = ?1",
            )?
            .execute(params![id, now_s])?;
            tracing::warn!(url = %redact_credentials(&cur.url), "Feed is gone (410); it is no longer polled. `feedfold feeds add` resumes it.");
            Ok(Recorded::Gone)
        }
        PollRecord::Failed {
            error,
            status,
            retry_after,
        } => {
            fail(conn, id, &cur, &policy, now, &error, status, retry_after)?;
            failed(conn, id, error, false)
        }
    }
}

/// The answer for a failed poll: the subscription as it is now.
fn failed(
    conn: &Connection,
    id: i64,
    error: String,
    storing: bool,
) -> Result<Recorded, StoreError> {
    Ok(match load(conn, Some(id))?.pop() {
        Some(subscription) => Recorded::Failed {
            error,
            storing,
            subscription,
        },
        None => Recorded::Unsubscribed,
    })
}

/// Records a poll that fetched a document, inside the document's
/// savepoint (`conn`), after the document was stored as `report`.
pub(crate) fn record_fetched(
    conn: &Connection,
    f: &FetchedPoll,
    report: &IngestReport,
) -> Result<(), StoreError> {
    let recent = published_last_week(conn, report.feed_id, f.checked_at)?;
    let plan = f.policy.after_success(f.checked_at, recent, &f.hints);
    conn.prepare_cached(
        "UPDATE subscriptions SET feed_id = ?2, next_check_at = ?3, current_interval = ?4,
                etag = ?5, last_modified = ?6, last_check_at = ?7, last_success_at = ?7,
                last_status = 200, error_count = 0
          WHERE id = ?1",
    )?
    .execute(params![
        f.id,
        report.feed_id,
        format_time(plan.next_check_at),
        secs(plan.interval),
        f.validators.etag,
        f.validators.last_modified,
        format_time(f.checked_at)
    ])?;
    if let Some(to) = &f.moved_to {
        move_to(conn, f.id, Some(report.feed_id), &f.cur.url, to)?;
    }
    Ok(())
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn find(conn: &Connection, url: &str) -> Result<Option<(i64, bool)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT id, gone_at IS NOT NULL FROM subscriptions WHERE url = ?1 OR configured_url = ?1
              ORDER BY url = ?1 DESC LIMIT 1",
            [url],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

fn insert(
    conn: &Connection,
    spec: &FeedSpec,
    origin: Origin,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO subscriptions (url, configured_url, name, interval_seconds, origin, added_at, full_text)
         VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            spec.url,
            spec.name,
            spec.interval.map(secs),
            origin.as_str(),
            format_time(now),
            spec.full_text.map(|m| m.as_str()),
        ],
    )?;
    Ok(())
}

fn sync(
    conn: &mut Connection,
    feeds: &[FeedSpec],
    now: DateTime<Utc>,
) -> Result<Synced, StoreError> {
    let tx = conn.transaction()?;
    let mut keep = std::collections::BTreeSet::new();
    let mut out = Synced::default();
    for spec in feeds {
        match find(&tx, &spec.url)? {
            Some((id, _)) => {
                tx.execute(
                    "UPDATE subscriptions SET name = ?2, interval_seconds = ?3, origin = 'config', full_text = ?4
                      WHERE id = ?1",
                    params![id, spec.name, spec.interval.map(secs), spec.full_text.map(|m| m.as_str())],
                )?;
                keep.insert(id);
            }
            None => {
                insert(&tx, spec, Origin::Config, now)?;
                keep.insert(tx.last_insert_rowid());
                out.added += 1;
            }
        }
    }
    let configured: Vec<i64> = tx
        .prepare("SELECT id FROM subscriptions WHERE origin = 'config'")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in configured.into_iter().filter(|id| !keep.contains(id)) {
        tx.execute("DELETE FROM subscriptions WHERE id = ?1", [id])?;
        out.removed += 1;
    }
    tx.commit()?;
    out.active = load(conn, None)?;
    Ok(out)
}

fn add(
    conn: &mut Connection,
    spec: &FeedSpec,
    origin: Origin,
    now: DateTime<Utc>,
) -> Result<Added, StoreError> {
    match find(conn, &spec.url)? {
        None => {
            insert(conn, spec, origin, now)?;
            Ok(Added::New)
        }
        Some((id, true)) => {
            conn.execute(
                "UPDATE subscriptions SET gone_at = NULL, error_count = 0, next_check_at = NULL,
                        name = coalesce(?2, name), interval_seconds = coalesce(?3, interval_seconds),
                        full_text = coalesce(?4, full_text)
                  WHERE id = ?1",
                params![id, spec.name, spec.interval.map(secs), spec.full_text.map(|m| m.as_str())],
            )?;
            Ok(Added::Revived)
        }
        Some((_, false)) => Ok(Added::Exists),
    }
}

fn duration(secs: Option<i64>) -> Option<Duration> {
    secs.and_then(|s| u64::try_from(s).ok())
        .map(Duration::from_secs)
}

/// Subscriptions not gone; all of them, or the one with id `only`.
///
/// Two statements, not one with `(?1 IS NULL OR id = ?1)`: SQLite cannot
/// use the primary key for that condition, so looking up one subscription
/// (after every poll) scanned the whole table, which made a poll cycle
/// quadratic in the number of feeds.
pub(crate) fn load(conn: &Connection, only: Option<i64>) -> Result<Vec<Subscription>, StoreError> {
    const COLUMNS: &str =
        "SELECT id, url, configured_url, name, interval_seconds, feed_id, next_check_at,
                etag, last_modified, error_count
           FROM subscriptions WHERE gone_at IS NULL";
    let mut stmt = match only {
        Some(_) => conn.prepare_cached(&format!("{COLUMNS} AND id = ?1"))?,
        None => conn.prepare_cached(&format!("{COLUMNS} AND ?1 IS NULL ORDER BY id"))?,
    };
    let rows = stmt.query_map([only], |r| {
        Ok(Subscription {
            id: r.get(0)?,
            url: r.get(1)?,
            configured_url: r.get(2)?,
            name: r.get(3)?,
            interval: duration(r.get(4)?),
            feed_id: r.get(5)?,
            next_check_at: r
                .get::<_, Option<String>>(6)?
                .as_deref()
                .and_then(parse_time),
            validators: Validators {
                etag: r.get(7)?,
                last_modified: r.get(8)?,
            },
            error_count: u32::try_from(r.get::<_, i64>(9)?).unwrap_or(u32::MAX),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The state a poll is decided from.
#[derive(Debug)]
pub(crate) struct Current {
    url: String,
    feed_id: Option<i64>,
    error_count: u32,
    interval: Option<Duration>,
}

pub(crate) fn current(conn: &Connection, id: i64) -> Result<Option<Current>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT url, feed_id, error_count, current_interval FROM subscriptions
              WHERE id = ?1 AND gone_at IS NULL",
        )?
        .query_row([id], |r| {
            Ok(Current {
                url: r.get(0)?,
                feed_id: r.get(1)?,
                error_count: u32::try_from(r.get::<_, i64>(2)?).unwrap_or(u32::MAX),
                interval: duration(r.get(3)?),
            })
        })
        .optional()?)
}

/// Follows a permanent redirect: the subscription and its stored feed take
/// the new URL (unless another one already has it).
fn move_to(
    conn: &Connection,
    id: i64,
    feed_id: Option<i64>,
    from: &str,
    to: &str,
) -> Result<(), StoreError> {
    let moved = conn
        .prepare_cached("UPDATE OR IGNORE subscriptions SET url = ?2 WHERE id = ?1")?
        .execute(params![id, to])?;
    if moved == 0 {
        tracing::warn!(
            from = %redact_credentials(from),
            to = %redact_credentials(to),
            "Feed moved permanently to a URL another subscription polls; keeping the old URL."
        );
        return Ok(());
    }
    if let Some(feed_id) = feed_id {
        conn.prepare_cached("UPDATE OR IGNORE feeds SET url = ?2 WHERE id = ?1")?
            .execute(params![feed_id, to])?;
    }
    tracing::info!(
        from = %redact_credentials(from),
        to = %redact_credentials(to),
        "Feed moved permanently; its URL is updated."
    );
    Ok(())
}

fn published_last_week(
    conn: &Connection,
    feed_id: i64,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let since = chrono::Duration::from_std(RATE_WINDOW)
        .ok()
        .and_then(|w| now.checked_sub_signed(w))
        .unwrap_or(now);
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM entries WHERE feed_id = ?1 AND published >= ?2 AND published <= ?3",
        )?
        .query_row(params![feed_id, format_time(since), format_time(now)], |r| {
            r.get(0)
        })?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[allow(clippy::too_many_arguments)]
fn fail(
    conn: &Connection,
    id: i64,
    cur: &Current,
    policy: &Policy,
    now: DateTime<Utc>,
    error: &str,
    status: Option<u16>,
    retry_after: Option<Duration>,
) -> Result<(), StoreError> {
    let errors = cur.error_count.saturating_add(1);
    let plan = policy.after_failure(now, errors, retry_after, cur.interval);
    let now_s = format_time(now);
    conn.prepare_cached(
        "UPDATE subscriptions SET next_check_at = ?2, error_count = ?3, last_error = ?4, last_error_at = ?5,
                last_check_at = ?5, last_status = ?6
          WHERE id = ?1",
    )?.execute(
        params![id, format_time(plan.next_check_at), errors, error, now_s, status],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::GroupingConfig;
    use crate::scheduler::policy::PollingConfig;

    fn poll(id: i64, record: PollRecord) -> Poll {
        Poll {
            subscription: id,
            checked_at: Utc::now(),
            policy: PollingConfig::default().policy(None, 1),
            record,
        }
    }

    fn not_modified(etag: &str) -> PollRecord {
        PollRecord::NotModified {
            etag: Some(etag.into()),
            hints: Hints::default(),
            moved_to: None,
        }
    }

    fn status(conn: &Connection, id: i64) -> (Option<i64>, Option<String>, Option<String>) {
        conn.query_row(
            "SELECT last_status, etag, last_error FROM subscriptions WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("subscription row")
    }

    #[test]
    fn a_batch_of_polls_is_recorded_and_one_that_fails_is_rolled_back_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w =
            Writer::open(&dir.path().join("t.db"), GroupingConfig::default()).expect("store opens");
        let urls = [
            "http://h/a",
            "http://h/b",
            "http://h/c",
            "http://h/d",
            "http://h/e",
        ];
        for url in urls {
            w.add_feed(&FeedSpec::of_url(url), Origin::Cli)
                .expect("add");
        }
        let ids: Vec<i64> = w
            .active_feeds()
            .expect("active")
            .iter()
            .map(|s| s.id)
            .collect();
        assert!(w.remove_feed("http://h/e").expect("remove"));
        // b's write fails inside its savepoint.
        w.conn
            .execute_batch(&format!(
                "CREATE TEMP TRIGGER refuse_b BEFORE UPDATE ON subscriptions WHEN NEW.id = {}
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
                ids[1]
            ))
            .expect("trigger");
        let results = w.record_polls(vec![
            poll(ids[0], not_modified("\"a2\"")),
            poll(ids[1], not_modified("\"b2\"")),
            poll(
                ids[2],
                PollRecord::Failed {
                    error: "server answered 500".into(),
                    status: Some(500),
                    retry_after: None,
                },
            ),
            poll(ids[3], PollRecord::Gone),
            poll(ids[4], not_modified("\"e2\"")),
        ]);
        assert_eq!(results.len(), 5);
        match &results[0] {
            Ok(Recorded::NotModified { subscription }) => {
                assert_eq!(subscription.id, ids[0]);
                assert_eq!(subscription.validators.etag.as_deref(), Some("\"a2\""));
                assert!(subscription.next_check_at.is_some());
            }
            other => panic!("a: {other:?}"),
        }
        assert!(
            matches!(&results[1], Err(StoreError::Sqlite(e)) if e.to_string().contains("refused by the test")),
            "b: {:?}",
            results[1]
        );
        match &results[2] {
            Ok(Recorded::Failed {
                error,
                storing: false,
                subscription,
            }) => {
                assert_eq!(error, "server answered 500");
                assert_eq!(subscription.error_count, 1);
            }
            other => panic!("c: {other:?}"),
        }
        assert!(matches!(results[3], Ok(Recorded::Gone)), "{:?}", results[3]);
        assert!(
            matches!(results[4], Ok(Recorded::Unsubscribed)),
            "{:?}",
            results[4]
        );
        // What was committed: everything but b.
        assert_eq!(
            status(&w.conn, ids[0]),
            (Some(304), Some("\"a2\"".into()), None)
        );
        assert_eq!(status(&w.conn, ids[1]), (None, None, None));
        assert_eq!(
            status(&w.conn, ids[2]),
            (Some(500), None, Some("server answered 500".into()))
        );
        assert_eq!(status(&w.conn, ids[3]).0, Some(410));
        let polled: Vec<i64> = w
            .active_feeds()
            .expect("active")
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(polled, [ids[0], ids[1], ids[2]], "d is gone, e was removed");
    }

    #[test]
    fn a_writer_opened_without_its_window_loads_it_when_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let xml = "<rss version=\"2.0\"><channel><title>a</title><item><guid>a1</guid>\
                   <title>Dock workers in Rotterdam walked out over pay</title>\
                   <pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item></channel></rss>";
        let doc = crate::model::RawDocument {
            name: "a".into(),
            fetched_url: Some("http://h/a".into()),
            path: None,
            http_charset: None,
            bytes: xml.as_bytes().to_vec(),
        };
        let identity = crate::normalizer::Identity {
            feed_url: Some("http://h/a"),
            ..Default::default()
        };
        let feed = crate::normalizer::normalize(&doc, &identity, Utc::now()).expect("normalizes");
        {
            let mut w = Writer::open(&path, GroupingConfig::default()).expect("store opens");
            let stored = w.ingest_batch(&[&feed], Utc::now());
            assert_eq!(
                stored[0].as_ref().map(|r| r.new).ok(),
                Some(1),
                "{stored:?}"
            );
            w.add_feed(&FeedSpec::of_url("http://h/a"), Origin::Cli)
                .expect("add");
            w.close();
        }
        let mut w = Writer::open_unloaded(&path, GroupingConfig::default()).expect("store opens");
        assert_eq!(w.window.detector().len(), 0);
        let id = w.active_feeds().expect("active")[0].id;
        let recorded = w
            .record_poll(poll(id, not_modified("\"a2\"")))
            .expect("304");
        assert!(
            matches!(recorded, Recorded::NotModified { .. }),
            "{recorded:?}"
        );
        assert_eq!(w.window.detector().len(), 0, "a 304 leaves it unloaded");
        w.ensure_loaded().expect("loads");
        assert_eq!(w.window.detector().len(), 1, "the stored entry is indexed");
    }
}
