//! Subscriptions: the feeds the daemon polls, and each one's polling state
//! (table `subscriptions`, migration 2).
//!
//! Part of the store stage. Writes happen only on the writer thread: the
//! daemon and the `feeds`/`opml` commands send a request through the
//! [`Store`] handle and `handle` runs it there. A poll's result is
//! recorded in the same savepoint as the document it brought (see
//! `handle_documents`, which stores the documents waiting at the writer in
//! one transaction), so the stored entries, the validators and the next
//! check time always agree. The scheduler's
//! [`Policy`] is applied here, inside that transaction, because the
//! adaptive interval needs the feed's stored publishing rate. Reads for
//! `feedfold status` and `feeds list` use a read-only connection
//! ([`statuses`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use tokio::sync::oneshot;

use super::writer::Writer;
use super::{Command, Store, StoreError};
use crate::fetcher::http::Validators;
use crate::model::{format_time, parse_time, IngestReport, NormalizedFeed};
use crate::scheduler::{Hints, Policy, RATE_WINDOW};

/// Where a subscription came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The config file's `[[feeds]]` (removed again when the file drops it).
    Config,
    /// `feedfold feeds add`.
    Cli,
    /// `feedfold opml import`.
    Opml,
}

impl Origin {
    /// The value stored in `subscriptions.origin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Cli => "cli",
            Origin::Opml => "opml",
        }
    }

    fn parse(s: &str) -> Origin {
        match s {
            "config" => Origin::Config,
            "opml" => Origin::Opml,
            _ => Origin::Cli,
        }
    }
}

/// A feed to subscribe to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSpec {
    /// The feed's URL.
    pub url: String,
    /// A display name.
    pub name: Option<String>,
    /// Its own fixed interval.
    pub interval: Option<Duration>,
}

/// A subscription as the daemon needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// `subscriptions.id`.
    pub id: i64,
    /// The URL polled (after permanent redirects).
    pub url: String,
    /// The URL as configured or added.
    pub configured_url: String,
    /// Display name.
    pub name: Option<String>,
    /// Its own fixed interval.
    pub interval: Option<Duration>,
    /// The `feeds.id` its documents are stored under, once fetched.
    pub feed_id: Option<i64>,
    /// When it is due (none: never checked).
    pub next_check_at: Option<DateTime<Utc>>,
    /// Validators for the next conditional GET.
    pub validators: Validators,
    /// Consecutive failures.
    pub error_count: u32,
}

/// One line of `feedfold status` / `feedfold feeds list`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FeedStatus {
    /// `subscriptions.id`.
    pub id: i64,
    /// The URL polled.
    pub url: String,
    /// The URL as configured, if a permanent redirect changed it.
    pub configured_url: Option<String>,
    /// Display name, else the feed's own title.
    pub name: Option<String>,
    /// The feed's home page, once fetched.
    pub site_url: Option<String>,
    /// Where it came from.
    pub origin: Origin,
    /// Its own interval in seconds.
    pub interval_seconds: Option<i64>,
    /// The regular interval in use, in seconds.
    pub current_interval_seconds: Option<i64>,
    /// Next check (ISO-8601 UTC).
    pub next_check_at: Option<String>,
    /// Last check.
    pub last_check_at: Option<String>,
    /// Last check that brought a document or a 304.
    pub last_success_at: Option<String>,
    /// Last HTTP status.
    pub last_status: Option<i64>,
    /// Last error message.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<String>,
    /// Consecutive failures.
    pub error_count: i64,
    /// When the feed answered 410 Gone (it is no longer polled).
    pub gone_at: Option<String>,
    /// Whether an ETag or Last-Modified is stored.
    pub has_validators: bool,
    /// Entries stored from this feed.
    pub entries: i64,
}

/// What a poll brought, as recorded by the writer.
#[derive(Debug)]
pub enum PollRecord {
    /// A new document, to be grouped and stored.
    Modified {
        /// The normalized document.
        feed: Box<NormalizedFeed>,
        /// Validators of the response.
        validators: Validators,
        /// Server hints.
        hints: Hints,
        /// New URL after permanent redirects.
        moved_to: Option<String>,
    },
    /// 304.
    NotModified {
        /// A new ETag, if sent.
        etag: Option<String>,
        /// Server hints.
        hints: Hints,
        /// New URL after permanent redirects.
        moved_to: Option<String>,
    },
    /// 410: stop polling.
    Gone,
    /// Any failure (network, status, size, parse); retried with backoff.
    Failed {
        /// The message kept in `last_error`.
        error: String,
        /// The HTTP status, if one was received.
        status: Option<u16>,
        /// `Retry-After`, if the server sent one.
        retry_after: Option<Duration>,
    },
}

/// A poll to record.
#[derive(Debug)]
pub struct Poll {
    /// `subscriptions.id`.
    pub subscription: i64,
    /// When the check was made.
    pub checked_at: DateTime<Utc>,
    /// How to schedule the next one.
    pub policy: Policy,
    /// The result.
    pub record: PollRecord,
}

/// What the writer recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The next check; none once the feed is gone (or was removed meanwhile).
    pub next_check_at: Option<DateTime<Utc>>,
    /// Consecutive failures now.
    pub error_count: u32,
    /// What ingesting the document did.
    pub report: Option<IngestReport>,
    /// A storing error (the poll is then recorded as failed).
    pub store_error: Option<String>,
    /// The subscription as it is now; none if it is gone or was removed.
    pub subscription: Option<Subscription>,
}

/// The result of adding one feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// A new subscription.
    New,
    /// Already subscribed; nothing changed.
    Exists,
    /// It was gone; it is polled again.
    Revived,
}

/// The result of applying the config's feed list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Synced {
    /// Configured feeds not subscribed before.
    pub added: usize,
    /// Subscriptions from the config that it no longer lists.
    pub removed: usize,
    /// Every subscription to poll now (not gone).
    pub active: Vec<Subscription>,
}

/// A request for the writer thread.
pub(super) enum Request {
    Sync {
        feeds: Vec<FeedSpec>,
        reply: oneshot::Sender<Result<Synced, StoreError>>,
    },
    Add {
        spec: FeedSpec,
        origin: Origin,
        reply: oneshot::Sender<Result<Added, StoreError>>,
    },
    Remove {
        url: String,
        reply: oneshot::Sender<Result<bool, StoreError>>,
    },
    Active {
        reply: oneshot::Sender<Result<Vec<Subscription>, StoreError>>,
    },
    Record {
        poll: Box<Poll>,
        reply: oneshot::Sender<Result<Recorded, StoreError>>,
    },
    Ping {
        reply: oneshot::Sender<()>,
    },
}

impl Store {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Feeds(make(reply)))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)
    }

    /// Makes the config's feeds the `config` subscriptions: adds new ones,
    /// updates names and intervals, removes those the config dropped.
    pub async fn sync_config_feeds(&self, feeds: Vec<FeedSpec>) -> Result<Synced, StoreError> {
        self.ask(|reply| Request::Sync { feeds, reply }).await?
    }

    /// Subscribes to one feed (revives it if it was gone).
    pub async fn add_feed(&self, spec: FeedSpec, origin: Origin) -> Result<Added, StoreError> {
        self.ask(|reply| Request::Add {
            spec,
            origin,
            reply,
        })
        .await?
    }

    /// Unsubscribes the feed with this URL (polled or configured). The
    /// entries already stored stay.
    pub async fn remove_feed(&self, url: String) -> Result<bool, StoreError> {
        self.ask(|reply| Request::Remove { url, reply }).await?
    }

    /// Every subscription to poll.
    pub async fn active_feeds(&self) -> Result<Vec<Subscription>, StoreError> {
        self.ask(|reply| Request::Active { reply }).await?
    }

    /// Records a poll (and stores its document) in one transaction.
    pub async fn record_poll(&self, poll: Poll) -> Result<Recorded, StoreError> {
        self.ask(|reply| Request::Record {
            poll: Box::new(poll),
            reply,
        })
        .await?
    }

    /// A round trip through the writer: proves it is alive and not stuck.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.ask(|reply| Request::Ping { reply }).await
    }
}

/// Runs one request on the writer thread.
pub(super) fn handle(writer: &mut Writer, request: Request) {
    let now = Utc::now();
    match request {
        Request::Sync { feeds, reply } => {
            let _ = reply.send(sync(writer.connection_mut(), &feeds, now));
        }
        Request::Add {
            spec,
            origin,
            reply,
        } => {
            let _ = reply.send(add(writer.connection_mut(), &spec, origin, now));
        }
        Request::Remove { url, reply } => {
            let r = writer.connection_mut().execute(
                "DELETE FROM subscriptions WHERE url = ?1 OR configured_url = ?1",
                [&url],
            );
            let _ = reply.send(r.map(|n| n > 0).map_err(StoreError::from));
        }
        Request::Active { reply } => {
            let _ = reply.send(active(writer.connection_mut()));
        }
        Request::Record { poll, reply } => {
            if matches!(poll.record, PollRecord::Modified { .. }) {
                handle_documents(writer, vec![Request::Record { poll, reply }]);
                return;
            }
            let id = poll.subscription;
            let result = record(writer, *poll).and_then(|mut r| {
                r.subscription = load(writer.connection_mut(), Some(id))?.pop();
                Ok(r)
            });
            let _ = reply.send(result);
        }
        Request::Ping { reply } => {
            let _ = reply.send(());
        }
    }
}

/// How many entries the document a request records has, if it records
/// one (a 200 poll): the writer stores those requests together, with
/// [`handle_documents`].
pub(super) fn document_entries(request: &Request) -> Option<usize> {
    match request {
        Request::Record { poll, .. } => match &poll.record {
            PollRecord::Modified { feed, .. } => Some(feed.entries.len()),
            _ => None,
        },
        _ => None,
    }
}

/// A 200 poll on its way into a batch.
struct Fetched {
    id: i64,
    cur: Current,
    checked_at: DateTime<Utc>,
    policy: Policy,
    feed: Box<NormalizedFeed>,
    validators: Validators,
    hints: Hints,
    moved_to: Option<String>,
    reply: oneshot::Sender<Result<Recorded, StoreError>>,
}

/// Records polls that fetched a document (requests for which
/// [`document_entries`] is `Some`; any other is handled alone): the
/// documents are grouped and stored in one transaction, each with its
/// subscription's new state in the same savepoint, so a document that
/// fails to store is recorded as a failed poll and the others stand.
pub(super) fn handle_documents(writer: &mut Writer, requests: Vec<Request>) {
    let mut batch: Vec<Fetched> = Vec::with_capacity(requests.len());
    for request in requests {
        if document_entries(&request).is_none() {
            handle(writer, request);
            continue;
        }
        let Request::Record { poll, reply } = request else {
            continue;
        };
        let Poll {
            subscription: id,
            checked_at,
            policy,
            record:
                PollRecord::Modified {
                    feed,
                    validators,
                    hints,
                    moved_to,
                },
        } = *poll
        else {
            continue;
        };
        match current(writer.connection_mut(), id) {
            Ok(Some(cur)) => batch.push(Fetched {
                id,
                cur,
                checked_at,
                policy,
                feed,
                validators,
                hints,
                moved_to,
                reply,
            }),
            // Removed (or gone) while the fetch was in flight: nothing to record.
            Ok(None) => {
                let _ = reply.send(Ok(Recorded {
                    next_check_at: None,
                    error_count: 0,
                    report: None,
                    store_error: None,
                    subscription: None,
                }));
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }
    if batch.is_empty() {
        return;
    }
    let feeds: Vec<&NormalizedFeed> = batch.iter().map(|f| f.feed.as_ref()).collect();
    let now = batch
        .iter()
        .map(|f| f.checked_at)
        .max()
        .unwrap_or_else(Utc::now);
    let mut next = vec![None; batch.len()];
    let results = writer.ingest_batch_with(&feeds, now, |conn, i, report| {
        let f = &batch[i];
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
        next[i] = Some(plan.next_check_at);
        Ok(())
    });
    drop(feeds);
    for ((f, result), next) in batch.into_iter().zip(results).zip(next) {
        let conn = writer.connection_mut();
        let recorded = match result {
            Ok(report) => Ok(Recorded {
                next_check_at: next,
                error_count: 0,
                report: Some(report),
                store_error: None,
                subscription: None,
            }),
            Err(e) => {
                let error = format!("storing failed: {e}");
                fail(
                    conn,
                    f.id,
                    &f.cur,
                    &f.policy,
                    f.checked_at,
                    &error,
                    None,
                    None,
                )
                .map(|mut r| {
                    r.store_error = Some(error);
                    r
                })
            }
        };
        let recorded = recorded.and_then(|mut r| {
            r.subscription = load(conn, Some(f.id))?.pop();
            Ok(r)
        });
        let _ = f.reply.send(recorded);
    }
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
        "INSERT INTO subscriptions (url, configured_url, name, interval_seconds, origin, added_at)
         VALUES (?1, ?1, ?2, ?3, ?4, ?5)",
        params![
            spec.url,
            spec.name,
            spec.interval.map(secs),
            origin.as_str(),
            format_time(now)
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
                    "UPDATE subscriptions SET name = ?2, interval_seconds = ?3, origin = 'config' WHERE id = ?1",
                    params![id, spec.name, spec.interval.map(secs)],
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
    out.active = active(conn)?;
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
                        name = coalesce(?2, name), interval_seconds = coalesce(?3, interval_seconds)
                  WHERE id = ?1",
                params![id, spec.name, spec.interval.map(secs)],
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

fn active(conn: &Connection) -> Result<Vec<Subscription>, StoreError> {
    load(conn, None)
}

/// Subscriptions not gone; all of them, or the one with id `only`.
///
/// Two statements, not one with `(?1 IS NULL OR id = ?1)`: SQLite cannot
/// use the primary key for that condition, so looking up one subscription
/// (after every poll) scanned the whole table, which made a poll cycle
/// quadratic in the number of feeds.
fn load(conn: &Connection, only: Option<i64>) -> Result<Vec<Subscription>, StoreError> {
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
struct Current {
    url: String,
    feed_id: Option<i64>,
    error_count: u32,
    interval: Option<Duration>,
}

fn current(conn: &Connection, id: i64) -> Result<Option<Current>, StoreError> {
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
            from,
            to,
            "Feed moved permanently to a URL another subscription polls; keeping the old URL."
        );
        return Ok(());
    }
    if let Some(feed_id) = feed_id {
        conn.prepare_cached("UPDATE OR IGNORE feeds SET url = ?2 WHERE id = ?1")?
            .execute(params![feed_id, to])?;
    }
    tracing::info!(from, to, "Feed moved permanently; its URL is updated.");
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

fn record(writer: &mut Writer, poll: Poll) -> Result<Recorded, StoreError> {
    let Poll {
        subscription: id,
        checked_at: now,
        policy,
        record,
    } = poll;
    let Some(cur) = current(writer.connection_mut(), id)? else {
        // Removed (or gone) while the fetch was in flight: nothing to record.
        return Ok(Recorded {
            next_check_at: None,
            error_count: 0,
            report: None,
            store_error: None,
            subscription: None,
        });
    };
    let now_s = format_time(now);
    match record {
        PollRecord::Modified { .. } => {
            // Stored with the other fetched documents (`handle_documents`).
            Err(StoreError::BatchFailed(
                "a fetched document reached the single-poll path".into(),
            ))
        }
        PollRecord::NotModified {
            etag,
            hints,
            moved_to,
        } => {
            let plan = policy.after_not_modified(now, cur.interval, &hints);
            let tx = writer.connection_mut().transaction()?;
            tx.prepare_cached(
                "UPDATE subscriptions SET next_check_at = ?2, current_interval = ?3, etag = coalesce(?4, etag),
                        last_check_at = ?5, last_success_at = ?5, last_status = 304, error_count = 0
                  WHERE id = ?1",
            )?.execute(
                params![id, format_time(plan.next_check_at), secs(plan.interval), etag, now_s],
            )?;
            if let Some(to) = &moved_to {
                move_to(&tx, id, cur.feed_id, &cur.url, to)?;
            }
            tx.commit()?;
            Ok(Recorded {
                next_check_at: Some(plan.next_check_at),
                error_count: 0,
                report: None,
                store_error: None,
                subscription: None,
            })
        }
        PollRecord::Gone => {
            writer.connection_mut().prepare_cached(
                "UPDATE subscriptions SET gone_at = ?2, next_check_at = NULL, last_check_at = ?2,
                        last_status = 410, last_error = 'gone (410): no longer polled', last_error_at = ?2
                  WHERE id = ?1",
            )?.execute(
                params![id, now_s],
            )?;
            tracing::warn!(url = %cur.url, "Feed is gone (410); it is no longer polled. `feedfold feeds add` resumes it.");
            Ok(Recorded {
                next_check_at: None,
                error_count: cur.error_count,
                report: None,
                store_error: None,
                subscription: None,
            })
        }
        PollRecord::Failed {
            error,
            status,
            retry_after,
        } => fail(
            writer.connection_mut(),
            id,
            &cur,
            &policy,
            now,
            &error,
            status,
            retry_after,
        ),
    }
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
) -> Result<Recorded, StoreError> {
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
    Ok(Recorded {
        next_check_at: Some(plan.next_check_at),
        error_count: errors,
        report: None,
        store_error: None,
        subscription: None,
    })
}

/// Every subscription with its state, for `feedfold status` and `feeds list`
/// (on a read-only connection).
pub fn statuses(conn: &Connection) -> Result<Vec<FeedStatus>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.id, s.url, nullif(s.configured_url, s.url), coalesce(s.name, f.title), f.site_url, s.origin,
                s.interval_seconds, s.current_interval, s.next_check_at, s.last_check_at, s.last_success_at,
                s.last_status, s.last_error, s.last_error_at, s.error_count, s.gone_at,
                s.etag IS NOT NULL OR s.last_modified IS NOT NULL,
                (SELECT count(*) FROM entries e WHERE e.feed_id = s.feed_id)
           FROM subscriptions s LEFT JOIN feeds f ON f.id = s.feed_id
          ORDER BY s.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(FeedStatus {
            id: r.get(0)?,
            url: r.get(1)?,
            configured_url: r.get(2)?,
            name: r.get(3)?,
            site_url: r.get(4)?,
            origin: Origin::parse(&r.get::<_, String>(5)?),
            interval_seconds: r.get(6)?,
            current_interval_seconds: r.get(7)?,
            next_check_at: r.get(8)?,
            last_check_at: r.get(9)?,
            last_success_at: r.get(10)?,
            last_status: r.get(11)?,
            last_error: r.get(12)?,
            last_error_at: r.get(13)?,
            error_count: r.get(14)?,
            gone_at: r.get(15)?,
            has_validators: r.get(16)?,
            entries: r.get(17)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::GroupingConfig;
    use crate::scheduler::PollingConfig;

    fn spec(url: &str) -> FeedSpec {
        FeedSpec {
            url: url.into(),
            name: None,
            interval: None,
        }
    }

    fn failed(id: i64, retry_after: Option<Duration>) -> Poll {
        Poll {
            subscription: id,
            checked_at: Utc::now(),
            policy: PollingConfig {
                jitter: 0.0,
                ..PollingConfig::default()
            }
            .policy(None, 1),
            record: PollRecord::Failed {
                error: "server answered 500".into(),
                status: Some(500),
                retry_after,
            },
        }
    }

    #[test]
    fn a_version_1_store_gains_subscriptions_and_keeps_its_data() {
        let mut conn = Connection::open_in_memory().expect("db");
        conn.execute_batch(crate::store::schema::MIGRATIONS[0])
            .expect("v1 schema");
        conn.pragma_update(None, "user_version", 1)
            .expect("version");
        conn.execute(
            "INSERT INTO feeds (url, format, first_seen, last_ingested) VALUES ('http://h/f', 'rss2', 'x', 'x')",
            [],
        )
        .expect("v1 row");
        crate::store::schema::migrate(&mut conn).expect("migrate");
        assert!(crate::store::schema::version(&conn).expect("version") >= 2);
        let feeds: i64 = conn
            .query_row("SELECT count(*) FROM feeds", [], |r| r.get(0))
            .expect("feeds");
        assert_eq!(feeds, 1);
        assert!(statuses(&conn).expect("subscriptions table").is_empty());
    }

    #[tokio::test]
    async fn config_sync_adds_updates_and_removes_only_config_feeds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, writer) =
            Store::open(&dir.path().join("s.db"), GroupingConfig::default()).expect("open");
        assert_eq!(
            store
                .add_feed(spec("http://h/cli"), Origin::Cli)
                .await
                .expect("add"),
            Added::New
        );
        assert_eq!(
            store
                .add_feed(spec("http://h/cli"), Origin::Cli)
                .await
                .expect("add"),
            Added::Exists
        );
        let s = store
            .sync_config_feeds(vec![spec("http://h/a"), spec("http://h/b")])
            .await
            .expect("sync");
        assert_eq!((s.added, s.removed, s.active.len()), (2, 0, 3));
        let named = FeedSpec {
            name: Some("B".into()),
            ..spec("http://h/b")
        };
        let s = store.sync_config_feeds(vec![named]).await.expect("sync");
        assert_eq!((s.added, s.removed), (0, 1));
        let urls: Vec<_> = s
            .active
            .iter()
            .map(|a| (a.url.as_str(), a.name.as_deref()))
            .collect();
        assert_eq!(urls, [("http://h/cli", None), ("http://h/b", Some("B"))]);
        assert!(store
            .remove_feed("http://h/cli".into())
            .await
            .expect("remove"));
        assert!(!store
            .remove_feed("http://h/cli".into())
            .await
            .expect("remove"));
        drop(store);
        writer.join();
    }

    fn fetched(id: i64, name: &str, text: &str) -> Poll {
        let xml = format!(
            "<rss version=\"2.0\"><channel><title>{name}</title><item><guid>{name}-1</guid>\
             <title>{text}</title><description>{text}</description>\
             <pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item></channel></rss>"
        );
        let url = format!("http://h/{name}");
        let doc = crate::model::RawDocument {
            name: name.into(),
            fetched_url: Some(url.clone()),
            path: None,
            http_charset: None,
            bytes: xml.into_bytes(),
        };
        let identity = crate::normalizer::Identity {
            feed_url: Some(&url),
            ..Default::default()
        };
        let feed = crate::normalizer::normalize(&doc, &identity, Utc::now()).expect("normalizes");
        Poll {
            subscription: id,
            checked_at: Utc::now(),
            policy: PollingConfig::default().policy(None, 1),
            record: PollRecord::Modified {
                feed: Box::new(feed),
                validators: Validators {
                    etag: Some(format!("\"{name}\"")),
                    last_modified: None,
                },
                hints: Hints::default(),
                moved_to: None,
            },
        }
    }

    #[tokio::test]
    async fn polls_that_fetched_documents_are_recorded_together() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, writer) =
            Store::open(&dir.path().join("s.db"), GroupingConfig::default()).expect("open");
        let s = store
            .sync_config_feeds(vec![
                spec("http://h/a"),
                spec("http://h/b"),
                spec("http://h/c"),
            ])
            .await
            .expect("sync");
        let ids: Vec<i64> = s.active.iter().map(|a| a.id).collect();
        assert!(store
            .remove_feed("http://h/c".into())
            .await
            .expect("remove"));
        let text = "Dock workers in Rotterdam walked out over pay, halting container traffic at Europe's biggest port for a day.";
        // Queued together, so the writer takes them in one batch.
        let (a, b, c) = tokio::join!(
            store.record_poll(fetched(ids[0], "a", text)),
            store.record_poll(fetched(ids[1], "b", text)),
            store.record_poll(fetched(ids[2], "c", text)),
        );
        let (a, b, c) = (a.expect("a"), b.expect("b"), c.expect("c"));
        assert_eq!(a.report.as_ref().map(|r| r.new), Some(1));
        assert_eq!(
            b.report.as_ref().map(|r| r.joined),
            Some(1),
            "b's copy joined a's story"
        );
        assert!(a.next_check_at.is_some() && b.next_check_at.is_some());
        assert_eq!(
            a.subscription
                .as_ref()
                .and_then(|s| s.validators.etag.clone()),
            Some("\"a\"".to_string())
        );
        // The removed subscription records nothing.
        assert!(c.report.is_none() && c.next_check_at.is_none() && c.subscription.is_none());
        drop(store);
        writer.join();
    }

    #[tokio::test]
    async fn failures_back_off_and_count_and_retry_after_is_honoured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, writer) =
            Store::open(&dir.path().join("s.db"), GroupingConfig::default()).expect("open");
        store
            .add_feed(spec("http://h/a"), Origin::Cli)
            .await
            .expect("add");
        let id = store.active_feeds().await.expect("active")[0].id;
        let mut delays = Vec::new();
        for _ in 0..3 {
            let poll = failed(id, None);
            let at = poll.checked_at;
            let r = store.record_poll(poll).await.expect("record");
            delays.push((r.next_check_at.expect("next") - at).num_minutes());
        }
        assert_eq!(delays, [10, 20, 40]);
        let poll = failed(id, Some(Duration::from_secs(7200)));
        let at = poll.checked_at;
        let r = store.record_poll(poll).await.expect("record");
        assert_eq!(r.error_count, 4);
        assert_eq!((r.next_check_at.expect("next") - at).num_minutes(), 120);
        drop(store);
        writer.join();
    }
}
