//! The scheduler: when each feed is checked, and the loop that checks it.
//!
//! - [`policy`] decides a feed's next check from a poll's result (pure).
//! - [`queue`] turns check times into a tokio timer queue.
//! - [`runner`] owns the loop: it keeps every subscription either queued
//!   or with exactly one poll under way ([`crate::pipeline::poll`]), and
//!   reschedules it from what the store recorded. `feedfold run --once`
//!   is the same loop primed with every feed due now, ending when none is
//!   left.
//! - [`articles`] fetches the articles the store queued for summary-only
//!   entries, beside the polls.

pub mod articles;
pub mod policy;
pub mod queue;
pub mod runner;

pub use policy::{seed, Plan, Policy, PollingConfig, RATE_WINDOW};
