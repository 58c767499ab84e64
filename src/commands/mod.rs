//! One module per group of commands, and the dispatch from the parsed
//! command line to them. The binary's glue: it reads the config, opens
//! the store ([`session::StoreSession`]), calls the library, renders with
//! [`feedfold::render`] and reports errors with context (anyhow).
//!
//! - [`ingest`]: `ingest`, `parse`, `eval` (the one-shot pipeline).
//! - [`query`]: `stories`, `story`, `events`, `event`, `search`, `explain`, `status`.
//! - [`feeds`]: `feeds add|remove|list`, `opml import|export`.
//! - [`maintain`]: `prune`, `migrate`, `regroup`.
//! - [`docs`]: `completions`, `man`.
//! - [`serve`]: `serve` (the read-only HTTP server).

mod docs;
mod feeds;
mod ingest;
mod maintain;
mod owner;
mod query;
mod serve;
mod session;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use feedfold::cli::{Cli, Command, DbArg};
use feedfold::config::Config;
use feedfold::daemon::{self, DaemonOptions};
use feedfold::model::{format_time, parse_duration};
use feedfold::render;

/// Sets up logging from `--log`, `--log-format` and the config's
/// `log_format`; returns whether messages are for people (the `human`
/// format), who also get a caret excerpt under a config error.
pub fn init_logging(cli: &Cli) -> bool {
    // The config is read again (and its errors reported) by the command.
    let from_config = cli
        .config
        .as_deref()
        .and_then(|p| Config::load(p).ok())
        .map(|c| c.log_format);
    let format = cli.log_format.or(from_config).unwrap_or_default();
    let default = if matches!(cli.command, Command::Run { .. } | Command::Serve { .. }) {
        "info"
    } else {
        "warn"
    };
    feedfold::telemetry::init(cli.log.as_deref(), default, format)
}

/// Runs the command the line asks for.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let mut config = load_config(cli.config.as_deref())?;
    config.http.allow_private = cli.allow_private;
    if let Some(db) = writes_to(&cli.command) {
        if let Some(code) = owner::as_store_owner(&db_path(db, &config))? {
            return Ok(code);
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Ingest {
            db,
            feed_url,
            jobs,
            full_text,
            sources,
        } => ingest::ingest(
            &db_path(&db, &config),
            &config,
            feed_url,
            jobs,
            full_text,
            sources,
            &mut out,
        ),
        Command::Parse {
            source,
            feed_url,
            json,
        } => ingest::parse(&config, &source, feed_url, json, &mut out),
        Command::Extract { source, json } => ingest::extract(&config, &source, json, &mut out),
        Command::Eval {
            corpus,
            db,
            reverse,
            full_text,
            show,
            output,
        } => ingest::eval(
            &corpus,
            db,
            ingest::EvalHow {
                reverse,
                full_text,
                show,
                format: output.format(),
            },
            &config,
            &mut out,
        ),
        Command::Stories {
            db,
            since,
            min_copies,
            limit,
            output,
        } => query::stories(
            &db_path(&db, &config),
            since,
            min_copies,
            limit,
            output.format(),
            &mut out,
        ),
        Command::Story { db, id, output } => {
            query::story(&db_path(&db, &config), id, output.format(), &mut out)
        }
        Command::Search {
            db,
            query: q,
            since,
            limit,
            output,
        } => query::search(
            &db_path(&db, &config),
            q,
            since,
            limit,
            output.format(),
            &mut out,
        ),
        Command::Explain {
            db,
            stories,
            a,
            b,
            output,
        } => {
            let db = db_path(&db, &config);
            if stories {
                query::explain_stories(&db, a, b, &config, output.format(), &mut out)
            } else {
                query::explain(&db, a, b, &config, output.format(), &mut out)
            }
        }
        Command::Events {
            db,
            since,
            min_stories,
            limit,
            output,
        } => query::events(
            &db_path(&db, &config),
            since,
            min_stories,
            limit,
            output.format(),
            &mut out,
        ),
        Command::Event { db, id, output } => {
            query::event(&db_path(&db, &config), id, output.format(), &mut out)
        }
        Command::Status { db, long, format } => {
            query::status(&db_path(&db, &config), long, format.format(), &mut out)
        }
        Command::Serve { db, listen } => serve::serve(&db_path(&db, &config), listen, &config),
        Command::Feeds { command } => feeds::feeds(command, &config, &mut out),
        Command::Opml { command } => feeds::opml(command, &config, &mut out),
        Command::Prune {
            db,
            older_than,
            vacuum,
            json,
        } => maintain::prune(
            &db_path(&db, &config),
            &config,
            older_than,
            vacuum,
            json,
            &mut out,
        ),
        Command::Migrate { db } => maintain::migrate(&db_path(&db, &config), &config, &mut out),
        Command::Regroup { db } => maintain::regroup(&db_path(&db, &config), &config, &mut out),
        Command::Completions { shell } => docs::completions(shell, &mut out),
        Command::Man { out_dir } => docs::man(out_dir, &mut out),
        Command::Run { db, once, now } => {
            let options = DaemonOptions {
                config_path: cli.config.clone(),
                database: db_path(&db, &config),
            };
            if once {
                let report = runtime()?.block_on(daemon::run_once(config, options, now))?;
                // Per-feed failures are counted, recorded and retried with
                // backoff, as in `run`; they are not errors of the command.
                writeln!(out, "{report}")?;
            } else {
                runtime()?.block_on(daemon::run(config, options))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The store a command writes to, if it writes to one.
fn writes_to(command: &Command) -> Option<&DbArg> {
    use feedfold::cli::{FeedsCommand, OpmlCommand};
    match command {
        Command::Ingest { db, .. }
        | Command::Run { db, .. }
        | Command::Prune { db, .. }
        | Command::Migrate { db }
        | Command::Regroup { db }
        | Command::Feeds {
            command: FeedsCommand::Add { db, .. } | FeedsCommand::Remove { db, .. },
        }
        | Command::Opml {
            command: OpmlCommand::Import { db, .. },
        } => Some(db),
        _ => None,
    }
}

fn load_config(path: Option<&Path>) -> Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => Ok(Config::default()),
    }
}

/// `--db`, else the config's `database`.
fn db_path(db: &DbArg, config: &Config) -> PathBuf {
    db.db.clone().unwrap_or_else(|| config.database.clone())
}

/// Threads of tokio's blocking pool (normalizing, DNS lookups): at most
/// `2 × http.concurrency` polls hold a document, so 64 is plenty, and it
/// keeps the unit's `TasksMax` meaningful.
const BLOCKING_THREADS: usize = 64;

/// The stack of every runtime thread: documents are checked for depth
/// before any recursive parser sees them, and a generous stack is the
/// defence behind that check (reserved address space, not memory used).
const THREAD_STACK: usize = 16 * 1024 * 1024;

/// The tokio runtime a command runs its async work on.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_stack_size(THREAD_STACK)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// `--since 24h` as an ISO-8601 UTC time.
fn since_time(since: Option<String>) -> Result<Option<String>> {
    match since {
        Some(s) => {
            let d = parse_duration(&s).ok_or_else(|| {
                anyhow!("--since {s:?}: expected a duration like 90m, 24h, 7d or 2w")
            })?;
            Ok(Some(format_time(chrono::Utc::now() - d)))
        }
        None => Ok(None),
    }
}

/// The style of human output on standard output.
fn stdout_style() -> render::Style {
    let tty = std::io::stdout().is_terminal();
    let width = console::Term::stdout()
        .size_checked()
        .map(|(_, w)| usize::from(w));
    render::Style::for_stdout(tty, width)
}

/// A progress bar on stderr for `len` steps, hidden unless stderr is a terminal.
fn progress_bar(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let template = format!("{{bar:30}} {{pos}}/{{len}} {what} {{elapsed}} {{wide_msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
