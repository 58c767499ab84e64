//! The daemon's timer queue: which feed is due next, on tokio's clock.
//!
//! Feeds are kept in a heap ordered by due instant; [`DueQueue::next_due`]
//! sleeps until the earliest one (`sleep_until`, not a ticking interval, so
//! missed ticks never pile up). Rescheduling or removing a feed bumps its
//! generation so stale heap entries are skipped instead of searched for.
//! Each feed is in the queue at most once, and not at all while a fetch of
//! it is in flight, so a feed never has two fetches at a time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// A feed's id in the queue (`subscriptions.id`).
pub type FeedKey = i64;

/// Feeds ordered by when they are due.
#[derive(Debug, Default)]
pub struct DueQueue {
    heap: BinaryHeap<Reverse<(Instant, u64, FeedKey)>>,
    /// The live generation of each queued feed; heap entries with another
    /// generation are stale.
    live: HashMap<FeedKey, u64>,
    next_generation: u64,
}

/// The tokio instant for a wall-clock time (now, if it is in the past).
pub fn instant_for(at: DateTime<Utc>, now: DateTime<Utc>) -> Instant {
    Instant::now() + (at - now).to_std().unwrap_or(Duration::ZERO)
}

impl DueQueue {
    /// An empty queue.
    pub fn new() -> DueQueue {
        DueQueue::default()
    }

    /// Puts `feed` in the queue, due at `at` (replacing an earlier entry).
    pub fn schedule(&mut self, feed: FeedKey, at: Instant) {
        self.next_generation += 1;
        self.live.insert(feed, self.next_generation);
        self.heap.push(Reverse((at, self.next_generation, feed)));
    }

    /// Takes `feed` out of the queue. True if it was queued.
    pub fn remove(&mut self, feed: FeedKey) -> bool {
        self.live.remove(&feed).is_some()
    }

    /// Whether `feed` is queued.
    pub fn contains(&self, feed: FeedKey) -> bool {
        self.live.contains_key(&feed)
    }

    /// How many feeds are queued.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether no feed is queued.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    fn drop_stale(&mut self) {
        while let Some(Reverse((_, generation, feed))) = self.heap.peek() {
            if self.live.get(feed) == Some(generation) {
                break;
            }
            self.heap.pop();
        }
    }

    /// When the earliest queued feed is due.
    pub fn peek(&mut self) -> Option<(Instant, FeedKey)> {
        self.drop_stale();
        self.heap.peek().map(|Reverse((at, _, feed))| (*at, *feed))
    }

    /// Removes and returns the earliest feed if it is due by `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<FeedKey> {
        let (at, feed) = self.peek()?;
        if at > now {
            return None;
        }
        self.heap.pop();
        self.live.remove(&feed);
        Some(feed)
    }

    /// Waits until the earliest feed is due and takes it out of the queue.
    /// Pending forever while the queue is empty (use it in `select!` with
    /// whatever adds feeds).
    pub async fn next_due(&mut self) -> FeedKey {
        loop {
            match self.peek() {
                Some((at, _)) => {
                    tokio::time::sleep_until(at).await;
                    if let Some(feed) = self.pop_due(Instant::now()) {
                        return feed;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn feeds_come_out_in_due_order_at_their_time() {
        let start = Instant::now();
        let mut q = DueQueue::new();
        q.schedule(1, start + Duration::from_secs(300));
        q.schedule(2, start + Duration::from_secs(60));
        q.schedule(3, start + Duration::from_secs(3600));
        assert_eq!(q.next_due().await, 2);
        assert_eq!(Instant::now() - start, Duration::from_secs(60));
        assert_eq!(q.next_due().await, 1);
        assert_eq!(Instant::now() - start, Duration::from_secs(300));
        assert_eq!(q.next_due().await, 3);
        assert_eq!(Instant::now() - start, Duration::from_secs(3600));
        assert!(q.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn rescheduling_and_removing_skip_stale_entries() {
        let start = Instant::now();
        let mut q = DueQueue::new();
        q.schedule(1, start + Duration::from_secs(10));
        q.schedule(2, start + Duration::from_secs(20));
        q.schedule(1, start + Duration::from_secs(30));
        assert!(q.remove(2));
        assert_eq!(q.len(), 1);
        assert_eq!(q.next_due().await, 1);
        assert_eq!(
            Instant::now() - start,
            Duration::from_secs(30),
            "the later schedule wins"
        );
        assert!(q.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_queue_waits_for_a_new_feed() {
        let mut q = DueQueue::new();
        let waited = tokio::time::timeout(Duration::from_secs(3600), q.next_due()).await;
        assert!(waited.is_err(), "nothing is due in an empty queue");
        q.schedule(9, Instant::now() + Duration::from_secs(5));
        assert_eq!(q.next_due().await, 9);
    }

    #[tokio::test(start_paused = true)]
    async fn past_times_are_due_now() {
        let now = Utc::now();
        let start = Instant::now();
        let mut q = DueQueue::new();
        q.schedule(4, instant_for(now - chrono::Duration::hours(5), now));
        q.schedule(5, instant_for(now + chrono::Duration::minutes(2), now));
        assert_eq!(q.next_due().await, 4);
        assert_eq!(Instant::now(), start);
        assert_eq!(q.next_due().await, 5);
        assert_eq!(Instant::now() - start, Duration::from_secs(120));
    }
}
