//! Subscriptions: the feeds the daemon polls, and each one's polling state
//! (table `subscriptions`, migration 2): the types the store's callers
//! use, and the read-only query behind `feedfold status` and `feeds list`.
//!
//! Part of the store stage. Every write (adding and removing feeds,
//! recording a poll) runs on the writer thread, in
//! [`super::writer::polls`]: a poll's result is recorded in the same
//! savepoint as the document it brought, so the stored entries, the
//! validators and the next check time always agree.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;

use super::StoreError;
use crate::model::{redact_credentials, Hints, IngestReport, NormalizedFeed, Validators};
use crate::scheduler::policy::Policy;

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

    pub(crate) fn parse(s: &str) -> Origin {
        match s {
            "config" => Origin::Config,
            "opml" => Origin::Opml,
            _ => Origin::Cli,
        }
    }
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
impl FeedStatus {
    /// The same status with the passwords of its URLs and error hidden,
    /// for display (`status`, `feeds list`); OPML export keeps them.
    pub fn redacted(mut self) -> FeedStatus {
        let hide = |s: &mut String| {
            if let std::borrow::Cow::Owned(r) = redact_credentials(s) {
                *s = r;
            }
        };
        hide(&mut self.url);
        for s in [
            &mut self.configured_url,
            &mut self.last_error,
            &mut self.site_url,
        ]
        .into_iter()
        .flatten()
        {
            hide(s);
        }
        self
    }
}

/// What a poll brought, for the writer to record.
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
/// What the writer recorded for a poll. The subscription is as it is now
/// (its next check, error count and validators), for the scheduler to
/// queue it again; a feed that is gone or was unsubscribed has none.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// The document was grouped and stored.
    Stored {
        /// What storing it did.
        report: IngestReport,
        /// The subscription now.
        subscription: Subscription,
    },
    /// 304 Not Modified.
    NotModified {
        /// The subscription now.
        subscription: Subscription,
    },
    /// The poll failed (fetching, reading or storing); it is retried with backoff.
    Failed {
        /// The message kept in `last_error`.
        error: String,
        /// Whether storing failed (the fetch itself went well).
        storing: bool,
        /// The subscription now (`error_count` counts this failure).
        subscription: Subscription,
    },
    /// 410 Gone: the feed is no longer polled.
    Gone,
    /// The feed was unsubscribed (or went away) while the poll was under
    /// way: nothing was recorded.
    Unsubscribed,
}

impl Recorded {
    /// What storing the document did, if one was stored.
    pub fn report(&self) -> Option<&IngestReport> {
        match self {
            Recorded::Stored { report, .. } => Some(report),
            _ => None,
        }
    }

    /// Consecutive failures of the feed now (0 once it is no longer polled).
    pub fn error_count(&self) -> u32 {
        self.subscription().map_or(0, |s| s.error_count)
    }

    /// The subscription to queue again, if it is still polled.
    pub fn subscription(&self) -> Option<&Subscription> {
        match self {
            Recorded::Stored { subscription, .. }
            | Recorded::NotModified { subscription }
            | Recorded::Failed { subscription, .. } => Some(subscription),
            Recorded::Gone | Recorded::Unsubscribed => None,
        }
    }
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
    use crate::model::FeedSpec;
    use crate::scheduler::policy::PollingConfig;
    use crate::store::Store;

    fn failed(id: i64, retry_after: Option<Duration>) -> Poll {
        use chrono::SubsecRound;
        Poll {
            subscription: id,
            // Whole seconds, as the store keeps times.
            checked_at: Utc::now().trunc_subsecs(0),
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
                .add_feed(FeedSpec::of_url("http://h/cli"), Origin::Cli)
                .await
                .expect("add"),
            Added::New
        );
        assert_eq!(
            store
                .add_feed(FeedSpec::of_url("http://h/cli"), Origin::Cli)
                .await
                .expect("add"),
            Added::Exists
        );
        let s = store
            .sync_config_feeds(vec![
                FeedSpec::of_url("http://h/a"),
                FeedSpec::of_url("http://h/b"),
            ])
            .await
            .expect("sync");
        assert_eq!((s.added, s.removed, s.active.len()), (2, 0, 3));
        let named = FeedSpec {
            name: Some("B".into()),
            ..FeedSpec::of_url("http://h/b")
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
                FeedSpec::of_url("http://h/a"),
                FeedSpec::of_url("http://h/b"),
                FeedSpec::of_url("http://h/c"),
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
        let Recorded::Stored {
            report: ra,
            subscription: sa,
        } = a
        else {
            panic!("a was not stored: {a:?}");
        };
        let Recorded::Stored {
            report: rb,
            subscription: sb,
        } = b
        else {
            panic!("b was not stored: {b:?}");
        };
        assert_eq!(ra.new, 1);
        assert_eq!(rb.joined, 1, "b's copy joined a's story");
        assert!(sa.next_check_at.is_some() && sb.next_check_at.is_some());
        assert_eq!(sa.validators.etag.as_deref(), Some("\"a\""));
        // The removed subscription records nothing.
        assert_eq!(c, Recorded::Unsubscribed);
        drop(store);
        writer.join();
    }

    #[tokio::test]
    async fn a_store_opened_for_the_daemon_records_304s_and_groups_documents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let text = "Dock workers in Rotterdam walked out over pay, halting container traffic at Europe's biggest port for a day.";
        let ids: Vec<i64> = {
            let (store, writer) = Store::open(&path, GroupingConfig::default()).expect("open");
            let s = store
                .sync_config_feeds(vec![
                    FeedSpec::of_url("http://h/a"),
                    FeedSpec::of_url("http://h/b"),
                ])
                .await
                .expect("sync");
            let ids = s.active.iter().map(|a| a.id).collect::<Vec<_>>();
            let a = store
                .record_poll(fetched(ids[0], "a", text))
                .await
                .expect("a");
            assert_eq!(a.report().map(|r| r.new), Some(1), "{a:?}");
            drop(store);
            writer.join();
            ids
        };
        let (store, writer) = Store::open_deferred(&path, GroupingConfig::default()).expect("open");
        // A 304 is recorded without the window.
        let poll = Poll {
            subscription: ids[0],
            checked_at: Utc::now(),
            policy: PollingConfig::default().policy(None, 1),
            record: PollRecord::NotModified {
                etag: Some("\"a2\"".into()),
                hints: Hints::default(),
                moved_to: None,
            },
        };
        let r = store.record_poll(poll).await.expect("304");
        let Recorded::NotModified { subscription } = r else {
            panic!("not recorded as 304: {r:?}");
        };
        assert_eq!(subscription.validators.etag.as_deref(), Some("\"a2\""));
        // b's copy of a's story joins it.
        let b = store
            .record_poll(fetched(ids[1], "b", text))
            .await
            .expect("b");
        let report = b.report().expect("b was stored");
        assert_eq!((report.new, report.joined), (1, 1), "{b:?}");
        drop(store);
        writer.join();
        let conn = Connection::open(&path).expect("open");
        let stories: i64 = conn
            .query_row("SELECT count(DISTINCT story_id) FROM entries", [], |r| {
                r.get(0)
            })
            .expect("count");
        assert_eq!(stories, 1);
    }

    #[tokio::test]
    async fn failures_back_off_and_count_and_retry_after_is_honoured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, writer) =
            Store::open(&dir.path().join("s.db"), GroupingConfig::default()).expect("open");
        store
            .add_feed(FeedSpec::of_url("http://h/a"), Origin::Cli)
            .await
            .expect("add");
        let id = store.active_feeds().await.expect("active")[0].id;
        let mut delays = Vec::new();
        for _ in 0..3 {
            let poll = failed(id, None);
            let at = poll.checked_at;
            let r = store.record_poll(poll).await.expect("record");
            let sub = r.subscription().expect("still polled");
            delays.push((sub.next_check_at.expect("next") - at).num_minutes());
        }
        assert_eq!(delays, [10, 20, 40]);
        let poll = failed(id, Some(Duration::from_secs(7200)));
        let at = poll.checked_at;
        let r = store.record_poll(poll).await.expect("record");
        assert!(
            matches!(r, Recorded::Failed { storing: false, .. }),
            "{r:?}"
        );
        let sub = r.subscription().expect("still polled");
        assert_eq!(sub.error_count, 4);
        assert_eq!((sub.next_check_at.expect("next") - at).num_minutes(), 120);
        drop(store);
        writer.join();
    }
}
