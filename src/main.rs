//! The `feedfold` binary: parses arguments, sets up logging, runs one
//! command and turns errors into messages and exit codes. All logic lives
//! in the library.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use clap::Parser;

use clap::CommandFactory;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use feedfold::cli::{Cli, Command, DbArg, Format};
use feedfold::cli::{FeedsCommand, OpmlCommand};
use feedfold::config::Config;
use feedfold::daemon::{self, DaemonOptions};
use feedfold::eval::{Corpus, Predicted, Scores};
use feedfold::fetcher::{FetchSettings, Fetcher, Source};
use feedfold::model::{format_time, parse_duration};
use feedfold::output;
use feedfold::pipeline::{self, IngestOptions};
use feedfold::scheduler::Interval;
use feedfold::status;
use feedfold::store::subscriptions::{self, Added, FeedSpec, Origin};
use feedfold::store::{self, queries, Store, WriterThread};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    match run(cli) {
        Ok(code) => code,
        // A closed pipe (`feedfold stories | head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("feedfold: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(cli: &Cli) {
    // The config is read again (and its errors reported) by the command.
    let from_config = cli
        .config
        .as_deref()
        .and_then(|p| Config::load(p).ok())
        .map(|c| c.log_format);
    let format = cli.log_format.or(from_config).unwrap_or_default();
    let default = if matches!(cli.command, Command::Run { .. }) {
        "info"
    } else {
        "warn"
    };
    feedfold::telemetry::init(cli.log.as_deref(), default, format);
}

fn load_config(path: Option<&Path>) -> Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => Ok(Config::default()),
    }
}

fn db_path(db: &DbArg, config: &Config) -> PathBuf {
    db.db.clone().unwrap_or_else(|| config.database.clone())
}

/// Starts the store's writer thread on `path` with the config's grouping settings.
fn open_store(path: &Path, config: &Config) -> Result<(Store, WriterThread)> {
    Store::open(path, config.grouping.clone())
        .with_context(|| format!("opening the store {}", path.display()))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
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
fn stdout_style() -> output::Style {
    let tty = std::io::stdout().is_terminal();
    let width = console::Term::stdout()
        .size_checked()
        .map(|(_, w)| usize::from(w));
    output::Style::for_stdout(tty, width)
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

fn run(cli: Cli) -> Result<ExitCode> {
    let config = load_config(cli.config.as_deref())?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Ingest {
            db,
            feed_url,
            jobs,
            sources,
        } => {
            let path = db_path(&db, &config);
            ingest(&path, &config, feed_url, jobs, sources, &mut out)
        }
        Command::Stories {
            db,
            since,
            min_copies,
            limit,
            output: fmt,
        } => {
            let conn = store::open_reader(&db_path(&db, &config))?;
            let filter = queries::StoryFilter {
                since: since_time(since)?,
                min_copies,
                limit,
            };
            let rows = queries::stories(&conn, &filter)?;
            match fmt.format() {
                Format::Json => output::json_lines(&mut out, &rows)?,
                Format::Csv => output::stories_csv(&mut out, &rows)?,
                Format::Table => output::stories(&mut out, &stdout_style(), &rows)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Story {
            db,
            id,
            output: fmt,
        } => {
            let conn = store::open_reader(&db_path(&db, &config))?;
            let detail = queries::story(&conn, id)?;
            match fmt.format() {
                Format::Json => output::json(&mut out, &detail)?,
                Format::Csv => output::story_csv(&mut out, &detail)?,
                Format::Table => output::story(&mut out, &stdout_style(), &detail)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Search {
            db,
            query,
            since,
            limit,
            output: fmt,
        } => {
            let conn = store::open_reader(&db_path(&db, &config))?;
            let q = queries::SearchQuery {
                query,
                since: since_time(since)?,
                limit: Some(limit),
            };
            let hits = queries::search(&conn, &q)?;
            match fmt.format() {
                Format::Json => output::json_lines(&mut out, &hits)?,
                Format::Csv => output::search_csv(&mut out, &hits)?,
                Format::Table => output::search(&mut out, &stdout_style(), &hits)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            corpus,
            db,
            reverse,
            show,
            output: fmt,
        } => eval(&corpus, db, reverse, show, fmt.format(), &config, &mut out),
        Command::Explain {
            db,
            a,
            b,
            output: fmt,
        } => {
            let conn = store::open_reader(&db_path(&db, &config))?;
            let e = queries::explain(&conn, a, b, &config.grouping)?;
            match fmt.format() {
                Format::Json => output::json(&mut out, &e)?,
                Format::Csv => output::explanation_csv(&mut out, &e)?,
                Format::Table => output::explanation(&mut out, &e)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Prune {
            db,
            older_than,
            vacuum,
            json,
        } => {
            let path = db_path(&db, &config);
            if !path.exists() {
                return Err(anyhow!("no database at {}", path.display()));
            }
            let now = chrono::Utc::now();
            let before = match older_than {
                Some(s) => {
                    let d = parse_duration(&s).ok_or_else(|| {
                        anyhow!("--older-than {s:?}: expected a duration like 30d or 2w")
                    })?;
                    now - d
                }
                None => config.retention.cutoff(now).ok_or_else(|| {
                    anyhow!("nothing to prune by: pass --older-than (e.g. 30d) or set [retention] keep_days in the config")
                })?,
            };
            let rt = runtime()?;
            let (store, writer) = open_store(&path, &config)?;
            let report = rt.block_on(store.prune(before, vacuum));
            drop(store);
            writer.join();
            let r = report.context("pruning")?;
            if json {
                output::json_lines(&mut out, std::slice::from_ref(&r))?;
            } else {
                output::prune(&mut out, &r)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { db } => {
            let path = db_path(&db, &config);
            if !path.exists() {
                return Err(anyhow!("no database at {}", path.display()));
            }
            let before = store::open_reader(&path)
                .map_or(0, |c| store::schema::version(&c).unwrap_or_default());
            let (store, writer) = open_store(&path, &config)?;
            drop(store);
            writer.join();
            writeln!(
                out,
                "{}: schema version {before} -> {}",
                path.display(),
                store::schema::latest_version()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "feedfold", &mut out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { out_dir } => {
            let cmd = Cli::command();
            match out_dir {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                    clap_mangen::generate_to(cmd, &dir)
                        .with_context(|| format!("writing man pages into {}", dir.display()))?;
                    writeln!(out, "wrote man pages into {}", dir.display())?;
                }
                None => clap_mangen::Man::new(cmd).render(&mut out)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Regroup { db } => {
            let path = db_path(&db, &config);
            if !path.exists() {
                return Err(anyhow!("no database at {}", path.display()));
            }
            let rt = runtime()?;
            let (store, writer) = open_store(&path, &config)?;
            let bar = progress_bar(0, "entries regrouped");
            let ticker = bar.clone();
            let report = rt.block_on(store.regroup_with_progress(move |done, total| {
                ticker.set_length(total as u64);
                ticker.set_position(done as u64);
            }));
            drop(store);
            writer.join();
            bar.finish_and_clear();
            let r = report.context("regrouping")?;
            writeln!(
                out,
                "regrouped {} entries: {} stories before, {} after",
                r.entries, r.stories_before, r.stories_after
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { db, once } => {
            let options = DaemonOptions {
                config_path: cli.config.clone(),
                database: db_path(&db, &config),
            };
            if once {
                let report = runtime()?.block_on(daemon::run_once(config, options))?;
                // Per-feed failures are counted, recorded and retried with
                // backoff, as in `run`; they are not errors of the command.
                writeln!(out, "{report}")?;
                return Ok(ExitCode::SUCCESS);
            }
            runtime()?.block_on(daemon::run(config, options))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { db, format } => {
            let rows = feed_statuses(&db_path(&db, &config))?;
            match format.format() {
                Format::Json => output::json_lines(&mut out, &rows)?,
                Format::Csv => status::status_csv(&mut out, &rows)?,
                Format::Table => status::status(&mut out, &rows)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Feeds { command } => feeds(command, &config, &mut out),
        Command::Opml { command } => opml(command, &config, &mut out),
        Command::Parse {
            source,
            feed_url,
            json,
        } => {
            let rt = runtime()?;
            let fetcher = Fetcher::new(&FetchSettings::default())?;
            let src = Source::from_arg(&source);
            let feed = rt
                .block_on(pipeline::read_source(&fetcher, &src, feed_url.as_deref()))
                .with_context(|| source.clone())?;
            if json {
                output::json(&mut out, &feed)?;
            } else {
                output::parsed(&mut out, &feed)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn ingest(
    path: &Path,
    config: &Config,
    feed_url: Option<String>,
    jobs: usize,
    sources: Vec<String>,
    out: &mut impl Write,
) -> Result<ExitCode> {
    if sources.iter().filter(|s| *s == "-").count() > 1 {
        return Err(anyhow!("standard input (-) can be named only once"));
    }
    let rt = runtime()?;
    let fetcher = Fetcher::new(&FetchSettings::default())?;
    let (store, writer) = open_store(path, config)?;
    let sources: Vec<Source> = sources.iter().map(|s| Source::from_arg(s)).collect();
    let options = IngestOptions {
        feed_url,
        read_ahead: jobs,
    };
    // A bar for many sources, on a terminal only; messages print above it.
    let bar = if sources.len() > 1 {
        progress_bar(sources.len() as u64, "sources")
    } else {
        ProgressBar::hidden()
    };
    let outcomes = rt.block_on(async {
        pipeline::ingest_sources(&store, &fetcher, sources, &options, |o| {
            bar.suspend(|| {
                for w in &o.warnings {
                    eprintln!("feedfold: warning: {}: {w}", o.name);
                }
                match output::ingest_line(o) {
                    Some(line) => {
                        let _ = writeln!(out, "{line}");
                    }
                    None => {
                        if let Err(e) = &o.result {
                            eprintln!("feedfold: error: {}: {e}", o.name);
                        }
                    }
                }
            });
            bar.inc(1);
        })
        .await
    });
    bar.finish_and_clear();
    drop(store);
    writer.join();
    let mut total = feedfold::model::IngestReport::default();
    let mut failed = 0;
    for o in &outcomes {
        match &o.result {
            Ok((_, r)) => total.add(r),
            Err(_) => failed += 1,
        }
    }
    writeln!(
        out,
        "total: {} sources ({} failed), {} new, {} updated, {} unchanged, {} joined an existing story, {} stories merged",
        outcomes.len(),
        failed,
        total.new,
        total.updated,
        total.unchanged,
        total.joined,
        total.merged
    )?;
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn eval(
    corpus_dir: &Path,
    db: Option<PathBuf>,
    reverse: bool,
    show: usize,
    format: Format,
    config: &Config,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let corpus = Corpus::load(corpus_dir)?;
    let (path, temporary) = match db {
        Some(p) if p.exists() => {
            return Err(anyhow!("{} exists; eval needs a fresh store", p.display()))
        }
        Some(p) => (p, false),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            (
                std::env::temp_dir()
                    .join(format!("feedfold-eval-{}-{nanos}.db", std::process::id())),
                true,
            )
        }
    };
    let mut files = corpus.files.clone();
    if reverse {
        files.reverse();
    }
    let sources: Vec<Source> = files.iter().map(|f| Source::File(f.clone())).collect();
    let rt = runtime()?;
    let fetcher = Fetcher::new(&FetchSettings::default())?;
    let (store, writer) = open_store(&path, config)?;
    let started = std::time::Instant::now();
    let bar = progress_bar(files.len() as u64, "files");
    let outcomes = rt.block_on(pipeline::ingest_sources(
        &store,
        &fetcher,
        sources,
        &IngestOptions {
            feed_url: None,
            read_ahead: 4,
        },
        |o| {
            if let Err(e) = &o.result {
                bar.suspend(|| eprintln!("feedfold: error: {}: {e}", o.name));
            }
            bar.inc(1);
        },
    ));
    bar.finish_and_clear();
    drop(store);
    writer.join();
    let elapsed = started.elapsed().as_secs_f64();
    let result = (|| -> Result<Scores> {
        let conn = store::open_reader(&path)?;
        let mut stmt = conn.prepare("SELECT id, guid, url, story_id, title FROM entries")?;
        let stored = stmt
            .query_map([], |r| {
                Ok(Predicted {
                    id: r.get(0)?,
                    guid: r.get(1)?,
                    url: r.get(2)?,
                    story_id: r.get(3)?,
                    title: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(feedfold::eval::score(&corpus.truth, &stored))
    })();
    if temporary {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    let scores = result?;
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    if format == Format::Json {
        output::json(out, &scores)?;
    } else if format == Format::Csv {
        output::eval_csv(out, &scores)?;
    } else {
        writeln!(
            out,
            "corpus {} ({} files{}, {} failed), ingested in {:.2} s",
            corpus_dir.display(),
            files.len(),
            if reverse { ", reversed" } else { "" },
            failed,
            elapsed
        )?;
        output::eval(out, &scores, show)?;
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads the subscriptions on a read-only connection.
fn feed_statuses(path: &Path) -> Result<Vec<subscriptions::FeedStatus>> {
    let conn = store::open_reader(path)?;
    if store::schema::version(&conn)? < 2 {
        return Err(anyhow!(
            "{} has no subscriptions yet (schema before version 2); `feedfold feeds add` or `feedfold run` upgrades it",
            path.display()
        ));
    }
    Ok(subscriptions::statuses(&conn)?)
}

/// Opens the store's writer for a short command and runs `f` against it.
fn with_store<T, F: std::future::Future<Output = Result<T>>>(
    path: &Path,
    config: &Config,
    f: impl FnOnce(Store) -> F,
) -> Result<T> {
    let rt = runtime()?;
    let (store, writer) = open_store(path, config)?;
    let result = rt.block_on(f(store.clone()));
    drop(store);
    writer.join();
    result
}

fn feed_spec(url: &str, name: Option<String>, interval: Option<&str>) -> Result<FeedSpec> {
    let url = feedfold::config::FeedUrl::parse(url)
        .ok_or_else(|| anyhow!("{url:?} is not an absolute http(s) URL"))?;
    let interval = match interval {
        Some(i) => Some(
            Interval::parse(i)
                .ok_or_else(|| anyhow!("--interval {i:?}: expected a duration like 30m, 2h or 1d"))?
                .0,
        ),
        None => None,
    };
    Ok(FeedSpec {
        url: url.0,
        name,
        interval,
    })
}

fn feeds(command: FeedsCommand, config: &Config, out: &mut impl Write) -> Result<ExitCode> {
    match command {
        FeedsCommand::Add {
            db,
            url,
            name,
            interval,
        } => {
            let spec = feed_spec(&url, name, interval.as_deref())?;
            if spec
                .interval
                .is_some_and(|i| i < config.polling.min_interval.0)
            {
                return Err(anyhow!(
                    "--interval is shorter than polling.min_interval ({})",
                    config.polling.min_interval
                ));
            }
            let added = with_store(&db_path(&db, config), config, |s| async move {
                Ok(s.add_feed(spec, Origin::Cli).await?)
            })?;
            let what = match added {
                Added::New => "added",
                Added::Exists => "already subscribed",
                Added::Revived => "resumed (it was gone)",
            };
            writeln!(out, "{url}: {what}")?;
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Remove { db, url } => {
            if config.feeds.iter().any(|f| f.url.0 == url) {
                eprintln!("feedfold: warning: {url} is listed in the config file; the daemon adds it back on reload");
            }
            let removed = with_store(&db_path(&db, config), config, |s| {
                let url = url.clone();
                async move { Ok(s.remove_feed(url).await?) }
            })?;
            if removed {
                writeln!(out, "{url}: removed")?;
                Ok(ExitCode::SUCCESS)
            } else {
                Err(anyhow!("{url}: not subscribed"))
            }
        }
        FeedsCommand::List { db, format } => {
            let rows = feed_statuses(&db_path(&db, config))?;
            match format.format() {
                Format::Json => output::json_lines(out, &rows)?,
                Format::Csv => status::status_csv(out, &rows)?,
                Format::Table => status::feeds_list(out, &rows)?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn opml(command: OpmlCommand, config: &Config, out: &mut impl Write) -> Result<ExitCode> {
    match command {
        OpmlCommand::Import { db, file } => {
            let mut text = String::new();
            if file.as_os_str() == "-" {
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading standard input")?;
            } else {
                text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
            }
            let feeds = feedfold::opml::parse(&text).with_context(|| file.display().to_string())?;
            let mut skipped = 0;
            let specs: Vec<FeedSpec> = feeds
                .into_iter()
                .filter_map(|f| match feed_spec(&f.url, f.name, None) {
                    Ok(spec) => Some(spec),
                    Err(e) => {
                        eprintln!("feedfold: warning: skipped: {e:#}");
                        skipped += 1;
                        None
                    }
                })
                .collect();
            let (new, existing) = with_store(&db_path(&db, config), config, |s| async move {
                let (mut new, mut existing) = (0, 0);
                for spec in specs {
                    match s.add_feed(spec, Origin::Opml).await? {
                        Added::Exists => existing += 1,
                        _ => new += 1,
                    }
                }
                Ok((new, existing))
            })?;
            writeln!(
                out,
                "imported {new} feeds ({existing} already subscribed, {skipped} skipped)"
            )?;
            Ok(ExitCode::SUCCESS)
        }
        OpmlCommand::Export { db, output } => {
            let rows = feed_statuses(&db_path(&db, config))?;
            let feeds: Vec<feedfold::opml::OpmlFeed> = rows
                .into_iter()
                .filter(|r| r.gone_at.is_none())
                .map(|r| feedfold::opml::OpmlFeed {
                    url: r.url,
                    name: r.name,
                    site_url: r.site_url,
                    category: None,
                })
                .collect();
            let text = feedfold::opml::write(&feeds, "feedfold subscriptions", chrono::Utc::now())?;
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => out.write_all(text.as_bytes())?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
