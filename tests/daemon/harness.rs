//! In-process polling: a store in a temporary directory, the daemon's
//! HTTP fetcher and `pipeline::poll`, the one code path the daemon runs
//! per check.

use std::path::PathBuf;

use feedfold::detector::GroupingConfig;
use feedfold::fetcher::{Fetcher, HttpConfig};
use feedfold::model::{FeedSpec, Interval};
use feedfold::pipeline;
use feedfold::scheduler::PollingConfig;
use feedfold::store::subscriptions::{self, FeedStatus, Origin, Recorded, Subscription};
use feedfold::store::{self, Store, WriterThread};

/// A store, a fetcher and polling settings; the writer is joined on drop.
pub struct Ctx {
    _dir: tempfile::TempDir,
    db: PathBuf,
    store: Option<Store>,
    writer: Option<WriterThread>,
    http: Fetcher,
    polling: PollingConfig,
}

/// Polling settings for tests: fixed bounds, no jitter.
pub fn polling() -> PollingConfig {
    PollingConfig {
        default_interval: Interval::secs(600),
        min_interval: Interval::secs(60),
        max_interval: Interval::secs(3600),
        adaptive: true,
        jitter: 0.0,
        shutdown_grace: Interval::secs(5),
    }
}

impl Ctx {
    pub fn new(http: HttpConfig) -> Ctx {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("feedfold.db");
        let (store, writer) = Store::open(&db, GroupingConfig::default()).expect("open store");
        Ctx {
            _dir: dir,
            db,
            store: Some(store),
            writer: Some(writer),
            http: Fetcher::new(&http).expect("client"),
            polling: polling(),
        }
    }

    pub fn store(&self) -> &Store {
        self.store.as_ref().expect("store open")
    }

    pub async fn subscribe(&self, url: &str) -> i64 {
        let spec = FeedSpec {
            url: url.into(),
            name: None,
            interval: None,
            full_text: None,
        };
        self.store().add_feed(spec, Origin::Cli).await.expect("add");
        self.sub_by_configured(url).await.id
    }

    pub async fn sub_by_configured(&self, url: &str) -> Subscription {
        self.store()
            .active_feeds()
            .await
            .expect("active")
            .into_iter()
            .find(|s| s.configured_url == url)
            .expect("subscribed")
    }

    pub async fn sub(&self, id: i64) -> Option<Subscription> {
        self.store()
            .active_feeds()
            .await
            .expect("active")
            .into_iter()
            .find(|s| s.id == id)
    }

    pub async fn poll(&self, id: i64) -> Recorded {
        let sub = self.sub(id).await.expect("active subscription");
        pipeline::poll(self.store(), &self.http, &self.polling, &sub)
            .await
            .expect("recorded")
            .expect("polled (the fetcher is not stopping)")
    }

    pub fn status(&self, id: i64) -> FeedStatus {
        let conn = store::open_reader(&self.db).expect("reader");
        subscriptions::statuses(&conn)
            .expect("statuses")
            .into_iter()
            .find(|s| s.id == id)
            .expect("status row")
    }

    pub fn query_i64(&self, sql: &str) -> i64 {
        let conn = store::open_reader(&self.db).expect("reader");
        conn.query_row(sql, [], |r| r.get(0)).expect(sql)
    }

    pub fn query_str(&self, sql: &str) -> Option<String> {
        let conn = store::open_reader(&self.db).expect("reader");
        conn.query_row(sql, [], |r| r.get(0)).expect(sql)
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        drop(self.store.take());
        if let Some(w) = self.writer.take() {
            w.join();
        }
    }
}
