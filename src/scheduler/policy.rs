//! The scheduling policy: when each feed is checked next (pure, no I/O).
//!
//! Decides, from a poll's result, the feed's publishing rate and the
//! server's hints (RSS `ttl`, `Cache-Control: max-age`, `Expires`,
//! `Retry-After`, read by [`crate::fetcher::hints`]), the next check time
//! and the interval to remember. The store's writer applies a [`Policy`]
//! inside the transaction that records a poll (the adaptive interval needs
//! the feed's stored publishing rate), so the stored `next_check_at` and
//! the decision cannot disagree; this module sits below the store in the
//! dependency rules of `lib.rs` for that reason.
//!
//! Rules (the `[polling]` table of `config/feedfold.toml` says the same to
//! operators):
//! - Adaptive interval: one week divided by the entries published in the
//!   last week, clamped to `[min_interval, max_interval]`; a feed with no
//!   entry in a week is checked every `max_interval`. A feed's own
//!   `interval` replaces the adaptive one (still at least `min_interval`).
//! - Hints only lengthen the interval, never shorten it, and are capped at
//!   [`HINT_CAP`] so a misconfigured server cannot silence a feed for good.
//! - Errors back off exponentially from `min_interval`, doubling per
//!   consecutive error, capped at `max_interval`, and keep being retried at
//!   the cap: a feed is never dropped because of errors. Only 410 Gone
//!   stops a feed, and `feedfold status` shows it.
//! - Every delay gets up to `jitter` × delay of random extra time, so feeds
//!   on one host drift apart instead of firing together.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Hints, Interval};

/// The longest delay a server hint (`ttl`, `max-age`, `Expires`,
/// `Retry-After`) may impose: one week.
pub const HINT_CAP: Duration = Duration::from_secs(7 * 24 * 3600);

/// The most a new feed's first check is delayed for spreading: long enough
/// to stagger an imported list, short enough that `feedfold run` visibly
/// starts at once.
pub const FIRST_CHECK_SPREAD: Duration = Duration::from_secs(10);

/// The window over which the publishing rate is measured: one week.
pub const RATE_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// The longest delay the hints ask for at `now`, capped at [`HINT_CAP`].
pub fn hint_delay(hints: &Hints, now: DateTime<Utc>) -> Option<Duration> {
    hints.longest(now).map(|d| d.min(HINT_CAP))
}

/// The config's `[polling]` table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PollingConfig {
    /// Interval of a feed whose publishing rate is not known yet, and of
    /// every feed when `adaptive` is off.
    pub default_interval: Interval,
    /// The shortest interval between two checks of one feed.
    pub min_interval: Interval,
    /// The longest interval, and the cap of the error backoff.
    pub max_interval: Interval,
    /// Derive each feed's interval from how often it publishes.
    pub adaptive: bool,
    /// Random extra delay, as a share of the delay (0 to 1).
    pub jitter: f64,
    /// On SIGTERM, how long in-flight fetches may take to finish.
    pub shutdown_grace: Interval,
}

impl Default for PollingConfig {
    fn default() -> Self {
        PollingConfig {
            default_interval: Interval::secs(3600),
            min_interval: Interval::secs(600),
            max_interval: Interval::secs(12 * 3600),
            adaptive: true,
            jitter: 0.1,
            shutdown_grace: Interval::secs(30),
        }
    }
}

impl PollingConfig {
    /// Checks the table's values against each other; the message names the keys.
    pub fn validate(&self) -> Result<(), String> {
        let (min, def, max) = (
            self.min_interval.0,
            self.default_interval.0,
            self.max_interval.0,
        );
        if min < Duration::from_secs(1) {
            return Err("polling.min_interval must be at least 1s".into());
        }
        if !(min <= def && def <= max) {
            return Err(format!(
                "polling intervals must satisfy min_interval ({}) <= default_interval ({}) <= max_interval ({})",
                self.min_interval, self.default_interval, self.max_interval
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(format!(
                "polling.jitter must be between 0 and 1, not {}",
                self.jitter
            ));
        }
        Ok(())
    }

    /// The policy for one feed; `interval` is the feed's own interval, if
    /// it has one, and `seed` the randomness for jitter.
    pub fn policy(&self, interval: Option<Duration>, seed: u64) -> Policy {
        Policy {
            default: self.default_interval.0,
            min: self.min_interval.0,
            max: self.max_interval.0,
            fixed: interval.or((!self.adaptive).then_some(self.default_interval.0)),
            jitter: self.jitter,
            seed,
        }
    }
}

/// Everything needed to schedule one feed's next check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Interval when nothing else is known.
    pub default: Duration,
    /// Shortest interval.
    pub min: Duration,
    /// Longest interval and backoff cap.
    pub max: Duration,
    /// A fixed interval (the feed's own, or the default when adaptive is off).
    pub fixed: Option<Duration>,
    /// Jitter share.
    pub jitter: f64,
    /// Randomness for the jitter.
    pub seed: u64,
}

/// A decision: when to check next, and the interval to remember.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The next check.
    pub next_check_at: DateTime<Utc>,
    /// The feed's regular interval (without hints, backoff or jitter).
    pub interval: Duration,
}

fn add(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(now)
}

impl Policy {
    /// The regular interval given how many entries the feed published in
    /// the last [`RATE_WINDOW`].
    pub fn regular_interval(&self, published_last_week: u64) -> Duration {
        if let Some(fixed) = self.fixed {
            return fixed.max(self.min);
        }
        let raw = match u32::try_from(published_last_week) {
            Ok(0) => self.max,
            Ok(n) => RATE_WINDOW / n,
            Err(_) => self.min,
        };
        raw.clamp(self.min, self.max)
    }

    /// Adds the random extra delay: up to `jitter` × `d`.
    pub fn jittered(&self, d: Duration) -> Duration {
        // splitmix64 finalizer: spreads consecutive seeds over the range.
        let mut z = self.seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
        d + d.mul_f64(self.jitter.clamp(0.0, 1.0) * unit)
    }

    /// After a fetch that brought a document.
    pub fn after_success(
        &self,
        now: DateTime<Utc>,
        published_last_week: u64,
        hints: &Hints,
    ) -> Plan {
        let interval = self.regular_interval(published_last_week);
        let delay = interval.max(hint_delay(hints, now).unwrap_or_default());
        Plan {
            next_check_at: add(now, self.jittered(delay)),
            interval,
        }
    }

    /// After a 304 Not Modified: the remembered interval (or the default) stands.
    pub fn after_not_modified(
        &self,
        now: DateTime<Utc>,
        remembered: Option<Duration>,
        hints: &Hints,
    ) -> Plan {
        let interval = match self.fixed {
            Some(f) => f.max(self.min),
            None => remembered.unwrap_or(self.default).clamp(self.min, self.max),
        };
        let delay = interval.max(hint_delay(hints, now).unwrap_or_default());
        Plan {
            next_check_at: add(now, self.jittered(delay)),
            interval,
        }
    }

    /// The backoff after `errors` consecutive failures (1 for the first):
    /// `min_interval` × 2^(errors-1), capped at `max_interval`.
    pub fn backoff(&self, errors: u32) -> Duration {
        let doublings = errors.saturating_sub(1).min(32);
        self.min
            .saturating_mul(1u32 << doublings.min(31))
            .min(self.max)
    }

    /// After a failure (the `errors`-th in a row). A `Retry-After` replaces
    /// the backoff, but never below `min_interval` nor above [`HINT_CAP`].
    pub fn after_failure(
        &self,
        now: DateTime<Utc>,
        errors: u32,
        retry_after: Option<Duration>,
        remembered: Option<Duration>,
    ) -> Plan {
        let delay = match retry_after {
            Some(r) => r.clamp(self.min, HINT_CAP),
            None => self.backoff(errors),
        };
        let interval = remembered.unwrap_or(self.default);
        Plan {
            next_check_at: add(now, self.jittered(delay)),
            interval,
        }
    }

    /// When a feed never checked before is first due: now plus up to
    /// `jitter` × `min_interval` (at most [`FIRST_CHECK_SPREAD`]), so a
    /// list of new feeds does not fire at once.
    pub fn first_check(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let spread = self.min.min(FIRST_CHECK_SPREAD);
        add(now, self.jittered(spread) - spread)
    }
}

/// A seed for jitter: the clock's nanoseconds mixed with a feed id.
pub fn seed(feed: i64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (feed as u64).rotate_left(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        PollingConfig::default().policy(None, 7)
    }

    fn t0() -> DateTime<Utc> {
        crate::model::parse_time("2026-01-01T00:00:00Z").expect("time")
    }

    #[test]
    fn adaptive_interval_follows_the_rate_within_bounds() {
        let p = Policy {
            jitter: 0.0,
            ..policy()
        };
        assert_eq!(p.regular_interval(0), p.max, "silent feed: max interval");
        assert_eq!(p.regular_interval(7), p.max, "one a day: clamped to 12h");
        assert_eq!(
            p.regular_interval(84),
            Duration::from_secs(7200),
            "12 a day: every 2h"
        );
        assert_eq!(p.regular_interval(100_000), p.min, "firehose: min interval");
        let fixed = PollingConfig::default().policy(Some(Duration::from_secs(1800)), 1);
        assert_eq!(fixed.regular_interval(0), Duration::from_secs(1800));
        let too_short = PollingConfig::default().policy(Some(Duration::from_secs(5)), 1);
        assert_eq!(too_short.regular_interval(0), too_short.min);
    }

    #[test]
    fn hint_delays_are_capped() {
        let huge = Hints {
            ttl: Some(Duration::from_secs(u64::MAX / 2)),
            ..Hints::default()
        };
        assert_eq!(hint_delay(&huge, t0()), Some(HINT_CAP));
    }

    #[test]
    fn hints_lengthen_but_never_shorten() {
        let p = Policy {
            jitter: 0.0,
            ..policy()
        };
        let long = Hints {
            max_age: Some(Duration::from_secs(86_400)),
            ..Hints::default()
        };
        let plan = p.after_success(t0(), 84, &long);
        assert_eq!(plan.next_check_at, t0() + chrono::Duration::hours(24));
        assert_eq!(
            plan.interval,
            Duration::from_secs(7200),
            "the regular interval is kept"
        );
        let short = Hints {
            ttl: Some(Duration::from_secs(60)),
            ..Hints::default()
        };
        assert_eq!(
            p.after_success(t0(), 84, &short).next_check_at,
            t0() + chrono::Duration::hours(2)
        );
        let absurd = Hints {
            max_age: Some(Duration::from_secs(365 * 86_400)),
            ..Hints::default()
        };
        assert_eq!(
            p.after_success(t0(), 84, &absurd).next_check_at,
            t0() + chrono::Duration::days(7)
        );
    }

    #[test]
    fn errors_back_off_exponentially_up_to_the_cap_and_stay_there() {
        let p = Policy {
            jitter: 0.0,
            ..policy()
        };
        let mins: Vec<u64> = (1..=9).map(|n| p.backoff(n).as_secs() / 60).collect();
        assert_eq!(mins, [10, 20, 40, 80, 160, 320, 640, 720, 720]);
        assert_eq!(
            p.backoff(10_000),
            p.max,
            "no overflow, still retried at the cap"
        );
        let plan = p.after_failure(t0(), 3, None, None);
        assert_eq!(plan.next_check_at, t0() + chrono::Duration::minutes(40));
    }

    #[test]
    fn retry_after_replaces_the_backoff_within_bounds() {
        let p = Policy {
            jitter: 0.0,
            ..policy()
        };
        let at = |r| {
            p.after_failure(t0(), 1, Some(Duration::from_secs(r)), None)
                .next_check_at
        };
        assert_eq!(at(7200), t0() + chrono::Duration::hours(2));
        assert_eq!(
            at(1),
            t0() + chrono::Duration::minutes(10),
            "not below min_interval"
        );
        assert_eq!(at(10_000_000), t0() + chrono::Duration::days(7), "capped");
    }

    #[test]
    fn jitter_stays_within_its_share_and_varies() {
        let d = Duration::from_secs(1000);
        let spread: std::collections::BTreeSet<u64> = (0..50)
            .map(|seed| {
                let j = Policy { seed, ..policy() }.jittered(d).as_secs();
                assert!((1000..=1100).contains(&j), "{j}");
                j
            })
            .collect();
        assert!(spread.len() > 10, "{spread:?}");
        assert_eq!(
            Policy {
                jitter: 0.0,
                ..policy()
            }
            .jittered(d),
            d
        );
    }

    #[test]
    fn not_modified_keeps_the_remembered_interval() {
        let p = Policy {
            jitter: 0.0,
            ..policy()
        };
        let plan = p.after_not_modified(t0(), Some(Duration::from_secs(7200)), &Hints::default());
        assert_eq!(plan.interval, Duration::from_secs(7200));
        assert_eq!(
            p.after_not_modified(t0(), None, &Hints::default()).interval,
            p.default
        );
    }

    #[test]
    fn validation_names_the_keys() {
        let bad = PollingConfig {
            min_interval: Interval::secs(7200),
            ..PollingConfig::default()
        };
        assert!(bad
            .validate()
            .expect_err("min > default")
            .contains("min_interval"));
        let bad = PollingConfig {
            jitter: 2.0,
            ..PollingConfig::default()
        };
        assert!(bad.validate().expect_err("jitter").contains("jitter"));
        PollingConfig::default()
            .validate()
            .expect("defaults are valid");
    }
}
