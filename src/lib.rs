//! # feedfold
//!
//! Folds syndicated copies of one news story, from many feeds, into one
//! story, and the stories different newsrooms wrote about one happening
//! into one event, kept in a SQLite file that people query directly.
//!
//! ## Bird's eye view
//!
//! ```text
//! scheduler ──due feed──▶ fetcher ──RawDocument──▶ normalizer ──NormalizedFeed──▶ store (writer thread)
//! (runner:    (files, stdin,       (decode, patch,      (detector: candidates,
//!  DueQueue,   http(s): [http]      parse with feed-rs,  verification, story placement,
//!  policy)     limits, validators)  sanitize, features)  event placement and merges;
//!                                                        SQL in one transaction) ──▶ SQLite
//!                                           server, read commands ◀── read-only connections
//! ```
//!
//! The unit of work is one read of one source, [`pipeline::read`]: fetch
//! (conditionally) and normalize. Every command goes through it:
//!
//! ```text
//! feedfold ingest URL  commands::ingest → pipeline::ingest_sources → pipeline::read_document → pipeline::read
//! daemon poll          scheduler::runner::Runner → pipeline::poll → pipeline::read
//! pipeline::read       → fetcher::Fetcher::fetch → fetcher::http::HttpFetcher::get (or a file, stdin)
//!                      → normalizer::normalize (on the blocking pool)
//! ingest               → store::Store::submit      ─┐
//! poll                 → store::Store::record_poll ─┴▶ store actor → store::writer::Writer::store_documents
//! articles (full text) scheduler::articles / ingest --full-text → store::Store::claim_articles
//!                      → fulltext::fetch_job → HttpFetcher::get_article → extractor::read_article (blocking pool)
//!                      → store::Store::store_articles → Writer::store_articles (entries placed again)
//! ```
//!
//! ## Code map
//!
//! - [`model`]: the data that flows between stages ([`model::RawDocument`],
//!   [`model::NormalizedFeed`], [`model::IngestReport`]) and the leaf types
//!   every stage shares (validators, hints, intervals, feed specs).
//! - [`fetcher`]: reads a file, standard input or an http(s) URL into a
//!   `RawDocument`, with `[http]`'s limits for every command: conditional
//!   GETs, redirects, size cap while streaming, per-host and global
//!   concurrency, the private-address guard, server hints.
//! - [`normalizer`]: decodes, patches and parses a document with feed-rs,
//!   and gives every entry identity, resolved and canonical links,
//!   sanitized HTML, plain text, a UTC date and its [`detector::Features`].
//! - [`extractor`]: the article behind a summary-only entry's link: the
//!   page decoded, its article found (Readability, with input caps) and
//!   turned into the normalizer's sanitized HTML and plain text.
//! - [`detector`]: proposes candidates from an inverted index over the
//!   grouping window, verifies them, and decides where an entry goes
//!   ([`detector::placement`]); above stories, the event level
//!   ([`detector::events`]): term vectors of stories, event centroids,
//!   which event a new story joins and which events merge. Pure: no I/O,
//!   no SQL.
//! - [`store`]: the writer thread ([`store::Store`] is its handle) that
//!   owns the SQLite connection and the grouping window, the schema and
//!   its migrations, and the read-only queries.
//! - [`pipeline`]: the one path from a source to the store.
//! - [`fulltext`]: article pages read and extracted for the entries the
//!   store queued (`ingest --full-text`; the daemon's loop is
//!   [`scheduler::articles`]), handed back to the store, which places the
//!   entries again.
//! - [`scheduler`]: when each feed is checked ([`scheduler::policy`],
//!   [`scheduler::queue`]) and the loop that checks it ([`scheduler::runner`]).
//! - [`daemon`]: `feedfold run` around the loop: signals, reload,
//!   sd_notify ([`notify`]) and the watchdog, the retention tick.
//! - [`render`]: every table, text, JSON and CSV output of the CLI.
//! - [`server`]: the read-only HTTP server of `feedfold run` (`[server]`)
//!   and `feedfold serve`: folded Atom/JSON/RSS feeds, the JSON API,
//!   `/metrics` (from [`metrics`], the atomic counters the stages record)
//!   and `/healthz`; it reads the store on read-only connections only.
//! - [`config`], [`cli`], [`telemetry`], [`eval`] (scoring against a
//!   labelled corpus), [`opml`] (subscription lists).
//! - The binary (`src/main.rs`, `src/commands/`) parses the command line
//!   and calls the library; it holds no pipeline logic.
//!
//! ## Dependency rules
//!
//! A module may use modules on its own layer or below, never above. A test
//! (`src/architecture.rs`) reads every `crate::`, `feedfold::` and `super::`
//! path of the non-test code and fails on an upward one.
//!
//! | layer | modules |
//! |---|---|
//! | 8 | the binary: `main`, `commands` |
//! | 7 | `cli` |
//! | 6 | `daemon`, `render`, `server` |
//! | 5 | `scheduler` (the loop, `scheduler::runner`) |
//! | 4 | `pipeline`, `fulltext`, `config` (puts together the tables the modules below own) |
//! | 3 | `fetcher`, `store` |
//! | 2 | `normalizer`, `extractor`, `scheduler::policy`, `scheduler::queue`, `eval`, `opml`, `notify`, `server::settings` |
//! | 1 | `model` |
//! | 0 | `detector`, `telemetry`, `metrics` |
//!
//! The scheduling policy sits below the store because the writer applies
//! it inside the transaction that records a poll; the scheduler's loop
//! sits above the pipeline it drives.
//!
//! ## Threads and tasks
//!
//! A tokio runtime runs fetches as tasks and normalization on its blocking
//! pool; the writer is a plain `std::thread` behind a bounded channel
//! ([`store::Store`]), a few documents queued ahead so it stores them in
//! one transaction, answering each command on a oneshot channel. `ingest`
//! reads a bounded number of sources ahead and hands them to the writer in
//! order. In the daemon the runner spawns a task per poll (at most one
//! per feed), and a poll holds a permit from fetch to store (at most
//! twice `http.concurrency` under way), so a slow writer holds back
//! fetching instead of growing memory. The runner starts no more polls
//! than there are permits: the other due feeds wait in its queue, not as
//! tasks. No async task touches SQLite.
//! Beside the writer, a WAL checkpointer thread (`store::checkpointer`),
//! with a connection of its own, copies the committed WAL frames into the
//! database file (`PRAGMA wal_checkpoint(PASSIVE)`, at most once a second),
//! so the writer does not. The writer's candidate index reads the features
//! of committed entries back through a read-only connection of its own
//! (`store::stored_features`), on the writer's thread. On glibc, `feedfold
//! run` caps malloc at two arenas before any thread starts (unless the
//! environment sets it): memory the fetch and normalize threads free
//! then goes back to an arena the writer also allocates from, instead of
//! staying resident in an arena of their own. It also fixes malloc's
//! mapping threshold at 1 MiB (unless the environment sets it), so
//! the writer's large tables keep mappings of their own, returned to the
//! system when freed.
//!
//! ## Where state lives
//!
//! All durable state is in the SQLite file (schema in [`store::schema`],
//! documented in the README): feeds, entries, stories, subscriptions with
//! their polling state (`next_check_at`, validators, error counts), so
//! restarts resume where they left off; stories and events with the
//! figures of each join. The writer's candidate index and event centroids
//! ([`store::window`]) are a cache of the stored features of the grouping
//! window, rebuilt from the store after a failed batch and
//! when the store opens; the daemon and the CLI's store sessions open it deferred
//! ([`store::Store::open_deferred`]): loaded before the first command that
//! groups, so opening (and the server) do not wait for it, and a poll
//! cycle of 304s never loads it. The index keeps in memory only the
//! features ([`detector::packed`]) of the entries not committed yet and a
//! bounded cache of the others ([`detector::resident`]); it reads the rest
//! back from the store when a candidate, or an entry leaving the window,
//! needs them.
//! The full-text index (`entries_fts`) gets each transaction's new entries
//! in one statement from the writer; triggers follow updates and deletes.
//!
//! ## Invariants
//!
//! - Only [`store::writer`] writes to SQLite, on the writer thread, each
//!   feed document atomically (a transaction, or a savepoint of a batch's
//!   transaction) together with the poll that fetched it: readers never
//!   see half a document, and a poll's entries, validators and next check
//!   always agree. (The WAL checkpointer only copies committed pages
//!   from the WAL into the database file.)
//! - The grouping decisions (story, event, folds and merges) and the
//!   inserts happen in the writer, in the same transaction. Every entry
//!   belongs to exactly one story, every story to exactly one event.
//! - Only [`fetcher`] does network or file I/O for sources, and there is
//!   one HTTP client ([`fetcher::Fetcher`], from `[http]`); [`normalizer`]
//!   and [`detector`] are pure and never panic on input (a panic inside
//!   feed-rs is caught and becomes that document's error); the detector
//!   reads stored features back only through the
//!   [`detector::FeatureSource`] the store's writer gives it.
//! - Feature hashes use a specified hash (FNV-1a; SipHash-2-4 with zero
//!   keys for the SimHash, bit for bit the `simhash` crate's), so stored
//!   features stay comparable across builds; changing them bumps
//!   [`detector::features::FEATURES_VERSION`].
//! - One bad source never stops the others; in the daemon, a failing feed
//!   backs off and keeps being retried, and only 410 Gone stops it.
//! - Each feed has at most one fetch in flight; fetches wait on the
//!   per-host semaphore before taking a global one.
//! - Nothing a server sends can outgrow `http.timeout` or `http.max_body`
//!   (counted after decompression); redirects go to http(s) URLs only, and
//!   with `http.deny_private_addresses` only to global addresses.
//! - Errors print their own message and leave causes to `source()`: the
//!   binary prints the chain with `{:#}`, logs with [`telemetry::chain`].

pub mod cli;
pub mod config;
pub mod daemon;
pub mod detector;
pub mod eval;
pub mod extractor;
pub mod fetcher;
pub mod fulltext;
pub mod metrics;
pub mod model;
pub mod normalizer;
pub mod notify;
pub mod opml;
pub mod pipeline;
pub mod render;
pub mod scheduler;
pub mod server;
pub mod store;
pub mod telemetry;

#[cfg(test)]
mod architecture;
