//! # feedfold
//!
//! Folds syndicated copies of one news story, from many feeds, into one
//! story kept in a SQLite file that people query directly.
//!
//! ## Bird's eye view
//!
//! ```text
//! sources ──▶ fetcher ──RawDocument──▶ normalizer ──NormalizedFeed──▶ store::writer ──▶ SQLite
//!  (files,     (fetcher/)               (normalizer/, on the            (owns the detector:
//!   stdin,                               blocking pool; computes          detector/ finds and
//!   URLs)                                detector features)               verifies near-duplicates)
//! ```
//!
//! - [`fetcher`] reads a file, standard input or an http(s) URL into a
//!   [`model::RawDocument`] (size-limited while streaming).
//! - [`normalizer`] decodes, patches and parses it with feed-rs, and gives
//!   every entry identity, resolved and canonical links, sanitized HTML,
//!   plain text, a UTC date and its [`detector::Features`]
//!   ([`model::NormalizedFeed`]).
//! - [`detector`] proposes candidates from an inverted index over the
//!   grouping window (sampled word pairs, title words and SimHash bands,
//!   in three-day stretches, so a lookup reads only its window) and
//!   verifies them (containment, resemblance, title, figures, SimHash
//!   distance).
//! - [`store`] runs one writer thread that owns the SQLite connection and
//!   the detector's index; the documents waiting in its queue are grouped
//!   and written in one transaction, each in a savepoint of its own.
//!   [`store::queries`] reads on separate read-only connections.
//! - [`pipeline`] is the one code path from sources to the writer, used by
//!   `feedfold ingest`.
//!
//! ## The daemon (`feedfold run`)
//!
//! ```text
//! scheduler ──due feed──▶ fetcher::http ──FetchOutcome──▶ normalizer ──▶ store::writer
//! (DueQueue,              (conditional GET, global +                     (records the poll and
//!  Policy)                 per-host semaphores, size cap)                 the next check in the
//!                                                                         document's transaction)
//! ```
//!
//! - [`scheduler`] is pure policy (adaptive interval, hints, backoff,
//!   jitter) plus a tokio timer queue; `next_check_at` lives in the store
//!   (table `subscriptions`), so restarts resume where they left off.
//! - [`fetcher::http`] polls one URL politely and classifies the answer
//!   (200, 304, 410, 429/503, permanent redirects) without erroring on the
//!   expected ones.
//! - [`daemon`] wires it: signals, reload, graceful shutdown, [`notify`]
//!   (sd_notify) and the watchdog. [`store::subscriptions`] holds the feed
//!   list and polling state; [`opml`] imports and exports it.
//! - [`telemetry`] sets up logging (human, plain for journald, or JSON).
//!
//! ## Threads and tasks
//!
//! A tokio runtime runs fetches as tasks and normalization on its blocking
//! pool, a bounded number of sources ahead; results go, in source order,
//! through a bounded channel to the writer thread (a plain `std::thread`),
//! a few queued ahead ([`store::Store::submit`]) so the writer can take
//! them in one transaction, and it replies on a oneshot channel per
//! document. In the daemon a poll holds a permit from fetch to store (at
//! most twice `http.concurrency` under way), so a slow writer holds back
//! fetching instead of growing memory. No async task touches SQLite.
//!
//! ## Where state lives
//!
//! All durable state is in the SQLite file (schema in [`store::schema`],
//! documented in the README). The writer's candidate index is a cache of
//! the stored features of the grouping window, rebuilt from the store when
//! it opens and after a failed document. The full-text index
//! (`entries_fts`) gets each transaction's new entries in one statement
//! from the writer (per-row inserts made FTS5 write a segment per entry),
//! and SQLite triggers on `entries` follow updates and deletes.
//!
//! ## Invariants
//!
//! - Only [`store::writer`] writes to SQLite, each feed document atomically
//!   (a transaction, or a savepoint of a batch's transaction): readers
//!   never see half a document.
//! - The grouping decision and the insert happen in the writer, in the same
//!   transaction. Every entry belongs to exactly one story.
//! - Only [`fetcher`] does network or file I/O for sources; [`normalizer`]
//!   and [`detector`] are pure and never panic on input (a panic inside
//!   feed-rs is caught and becomes that document's error).
//! - Feature hashes use a specified hash (FNV-1a; SipHash-2-4 with zero
//!   keys for the SimHash, bit for bit the `simhash` crate's), so stored
//!   features stay comparable across builds;
//!   changing them bumps [`detector::features::FEATURES_VERSION`].
//! - One bad source never stops the others; in the daemon, a failing feed
//!   backs off and keeps being retried, and only 410 Gone stops it.
//! - Each feed has at most one fetch in flight; fetches wait on the
//!   per-host semaphore before taking a global one.
//! - Nothing a server sends can outgrow `http.timeout` or `http.max_body`
//!   (counted after decompression); redirects go to http(s) URLs only, and
//!   with `http.deny_private_addresses` only to global addresses.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod detector;
pub mod eval;
pub mod fetcher;
pub mod model;
pub mod normalizer;
pub mod notify;
pub mod opml;
pub mod pipeline;
pub mod render;
pub mod scheduler;
pub mod store;
pub mod telemetry;
