//! Command-line definitions (clap). No logic: arguments only.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// feedfold: folds syndicated copies of one news story, from many feeds, into one story.
#[derive(Debug, Parser)]
#[command(name = "feedfold", version, about, propagate_version = true)]
pub struct Cli {
    /// Configuration file (TOML). Without it every setting has its default.
    #[arg(long, global = true, env = "FEEDFOLD_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Log filter for messages on stderr (e.g. `info`, `feedfold=debug`); also FEEDFOLD_LOG.
    #[arg(long, global = true, env = "FEEDFOLD_LOG", value_name = "FILTER")]
    pub log: Option<String>,

    /// Log format on stderr (default: the config's `log_format`, else auto).
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<crate::telemetry::LogFormat>,

    /// Fetch from loopback, private and link-local addresses, redirects
    /// included (by default a public feed may not redirect into them, and
    /// `http.deny_private_addresses` refuses them altogether).
    #[arg(long, global = true)]
    pub allow_private: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The database to use.
#[derive(Debug, Args)]
pub struct DbArg {
    /// SQLite store (default: the config's `database`, else ./feedfold.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// How a listing is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table for people (sized to the terminal; colour only on a TTY without NO_COLOR).
    Table,
    /// One JSON object per line.
    Json,
    /// CSV with a header row (RFC 4180 quoting).
    Csv,
}

/// Output format options of a listing command.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// One JSON object per line (the same as `--format json`).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Output format.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Table)]
    pub format: Format,
}

impl FormatArgs {
    /// The format chosen.
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            self.format
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline once over feed documents: parse, normalize, group, store.
    Ingest {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// Identify every source as this feed URL (instead of its self link, home link or path).
        #[arg(long, value_name = "URL")]
        feed_url: Option<String>,
        /// How many sources to read and parse ahead of the writer.
        #[arg(long, default_value_t = 4, value_name = "N")]
        jobs: usize,
        /// Also fetch the article behind each entry's link (mode auto, the default here: a
        /// short or cut summary, unless the feed carries full text; or always), extract its
        /// text and place the entry again with it, before exiting.
        #[arg(long, value_name = "MODE", num_args = 0..=1, default_missing_value = "auto")]
        full_text: Option<crate::model::FullTextMode>,
        /// Feed files, `-` for standard input, or http(s) URLs; processed in this order.
        #[arg(required = true, value_name = "SOURCE")]
        sources: Vec<String>,
    },
    /// List stories, newest first, with their copy counts and the feeds that carried them.
    Stories {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// Only stories seen within this long (e.g. 90m, 24h, 7d, 2w).
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
        /// Only stories with at least this many copies.
        #[arg(long, default_value_t = 1, value_name = "N")]
        min_copies: i64,
        /// At most this many stories.
        #[arg(long, value_name = "N")]
        limit: Option<i64>,
        /// The output format (`--json`, `--format`).
        #[command(flatten)]
        output: FormatArgs,
    },
    /// Events, newest first: the stories different newsrooms wrote about one happening.
    Events {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// Only events with a copy dated within this long (90m, 24h, 7d, 2w).
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
        /// Only events of at least this many stories.
        #[arg(long, default_value_t = 1, value_name = "N")]
        min_stories: i64,
        /// At most this many events.
        #[arg(long, value_name = "N")]
        limit: Option<i64>,
        /// The output format (`--json`, `--format`).
        #[command(flatten)]
        output: FormatArgs,
    },
    /// One event: its stories, their outlets and copies, and why each joined.
    Event {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// The event's id.
        id: i64,
        /// The output format (`--json`, `--format`).
        #[command(flatten)]
        output: FormatArgs,
    },
    /// Show one story's entries and why each joined it.
    Story {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// The story's id (as `feedfold stories` shows it).
        id: i64,
        /// JSON (one object with the story and its entries), CSV (one row per entry) or text.
        /// The output format (`--json`, `--format`).
        #[command(flatten)]
        output: FormatArgs,
    },
    /// Full-text search: the stories with a copy matching an FTS5 query, best first, each once.
    Search {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// FTS5 query: words (all must occur), "a phrase", OR, NOT, a NEAR b, NEAR(a b, 10), prefix*, title:word.
        query: String,
        /// Only stories seen within this long (e.g. 90m, 24h, 7d, 2w).
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
        /// At most this many stories.
        #[arg(long, default_value_t = 20, value_name = "N")]
        limit: i64,
        /// The output format (`--json`, `--format`).
        #[command(flatten)]
        output: FormatArgs,
    },
    /// Remove old entries, their full-text rows and the stories left empty, in one transaction.
    Prune {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// Remove entries dated, and last carried by their feed, longer ago than this (e.g. 30d, 2w);
        /// default: the config's `[retention] keep_days`.
        #[arg(long, value_name = "DURATION")]
        older_than: Option<String>,
        /// Afterwards rewrite the file to its smallest size (VACUUM; needs free disk space of its size).
        #[arg(long)]
        vacuum: bool,
        /// A JSON report instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the polling daemon: check every subscribed feed on its schedule until SIGTERM.
    ///
    /// With --once: check every subscribed feed once, now, regardless of its schedule, wait
    /// for all of them, print a one-line summary (feeds checked; how many answered 200, 304,
    /// failed; new entries) and exit (for cron jobs and backfills).
    Run {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// Check every subscribed feed that is due (never checked, or its next check has come: a failing or rate-limited feed waits out its backoff and Retry-After) once, print a one-line summary and exit 0; for cron jobs and backfills.
        #[arg(long)]
        once: bool,
        /// With --once: check every feed now, whether it is due or not.
        #[arg(long, requires = "once")]
        now: bool,
    },
    /// Serve the store read-only over HTTP: folded Atom/JSON/RSS feeds, the JSON API, /metrics.
    ///
    /// A separate process beside (or without) `feedfold run`, on read-only SQLite connections:
    /// it never blocks the daemon's writer. Listens on --listen, else the config's `[server]
    /// listen`, else 127.0.0.1:8080; an address beyond loopback needs `[server] token_file`.
    Serve {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// Address to listen on (e.g. `127.0.0.1:8080`, `[::1]:8080`).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Show each subscribed feed's last success, last error, error count and next check.
    Status {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// A block of every detail per feed instead of one line per feed.
        #[arg(long)]
        long: bool,
        /// The output format (`--json`, `--format`).
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Manage subscriptions without editing the config file (a running daemon applies them on SIGHUP).
    Feeds {
        /// What to do.
        #[command(subcommand)]
        command: FeedsCommand,
    },
    /// Import or export subscriptions as OPML 2.0.
    Opml {
        /// What to do.
        #[command(subcommand)]
        command: OpmlCommand,
    },
    /// Bring a store to this feedfold's schema version (read commands never change a store).
    Migrate {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
    },
    /// Print a shell completion script (e.g. `feedfold completions bash > ~/.local/share/bash-completion/completions/feedfold`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a directory.
    Man {
        /// Write feedfold.1 and feedfold-COMMAND.1 here instead of printing feedfold.1.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Print a feed document as feedfold normalizes it, without storing anything.
    Parse {
        /// Feed file (`-` for standard input) or http(s) URL.
        source: String,
        /// Identify the feed as this URL.
        #[arg(long, value_name = "URL")]
        feed_url: Option<String>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the article feedfold finds in one web page: title, byline, published time, word
    /// count, whether it looks like an article, and its text.
    ///
    /// A URL is fetched like an article link (HTML only; public addresses only unless
    /// --allow-private); a file is read as it is.
    Extract {
        /// The page: an http(s) URL, a file, or `-` for standard input.
        source: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Score grouping on a labelled corpus (files.txt + truth.tsv) ingested into a fresh store.
    Eval {
        /// The corpus directory.
        corpus: PathBuf,
        /// Keep the store here (must not exist yet) instead of a temporary file.
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// Ingest the files in reverse order (to check order independence).
        #[arg(long)]
        reverse: bool,
        /// Fetch the entries' articles as `ingest --full-text` does (links must reach a
        /// server; loopback ones need --allow-private).
        #[arg(long, value_name = "MODE", num_args = 0..=1, default_missing_value = "auto")]
        full_text: Option<crate::model::FullTextMode>,
        /// How many wrong merges and missed copies to list.
        #[arg(long, default_value_t = 10, value_name = "N")]
        show: usize,
        /// JSON (the whole report) or CSV (one row per transform) instead of text.
        /// The output format (`--json`, `--format`).
        #[command(flatten)]
        output: FormatArgs,
    },
    /// Compute the grouping figures for any two stored entries (or, with
    /// --stories, the event-level figures for two stories).
    Explain {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// A and B are story ids: compare them as the event level does.
        #[arg(long)]
        stories: bool,
        /// First entry (or story) id.
        a: i64,
        /// Second entry (or story) id.
        b: i64,
        /// JSON or CSV (one row of figures) instead of text.
        /// The output format (`--json`, `--format`).
        #[command(flatten)]
        output: FormatArgs,
    },
    /// Recompute all stories from stored entries (after changing `[grouping]`), in one transaction.
    Regroup {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
    },
}

/// `feedfold feeds …`
#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Subscribe to a feed (or resume one that was gone).
    Add {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// The feed's http(s) URL.
        url: String,
        /// A display name.
        #[arg(long)]
        name: Option<String>,
        /// A fixed interval instead of the adaptive one (e.g. 30m, 2h).
        #[arg(long, value_name = "DURATION")]
        interval: Option<String>,
        /// When to fetch the article behind an entry's link: auto (a short or cut summary,
        /// unless the feed carries full text), always, never (default: `[full_text] mode`).
        #[arg(long, value_name = "MODE")]
        full_text: Option<crate::model::FullTextMode>,
    },
    /// Unsubscribe (stored entries stay).
    Remove {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// The feed's URL (as polled or as added).
        url: String,
    },
    /// List subscriptions.
    List {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// The output format (`--json`, `--format`).
        #[command(flatten)]
        format: FormatArgs,
    },
}

/// `feedfold opml …`
#[derive(Debug, Subcommand)]
pub enum OpmlCommand {
    /// Subscribe to every feed of an OPML file (nested folders included).
    Import {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// The OPML file (`-` for standard input).
        file: PathBuf,
    },
    /// Write the subscriptions as OPML 2.0.
    Export {
        /// The store (`--db`).
        #[command(flatten)]
        db: DbArg,
        /// Write here instead of standard output.
        #[arg(long, short, value_name = "PATH")]
        output: Option<PathBuf>,
    },
}
