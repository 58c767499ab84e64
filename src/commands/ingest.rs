//! The one-shot pipeline: `feedfold ingest`, `parse` and `eval`. Each goes
//! through [`pipeline`] with the fetcher built from the config's `[http]`
//! table, as the daemon does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use indicatif::ProgressBar;

use feedfold::cli::Format;
use feedfold::config::Config;
use feedfold::eval::{Corpus, Predicted, Scores};
use feedfold::fetcher::{Fetcher, Source};
use feedfold::fulltext;
use feedfold::model::{FullTextMode, IngestReport};
use feedfold::pipeline::{self, IngestOptions, SourceOutcome};
use feedfold::render::{self, Inert};
use feedfold::store;
use feedfold::store::writer::{ArticlesReport, FullTextSettings};

use super::session::StoreSession;
use super::{progress_bar, runtime};

/// The fetcher every one-shot command uses: `[http]` from the config.
fn fetcher(config: &Config) -> Result<Fetcher> {
    Fetcher::new(&config.http).context("setting up the HTTP client")
}

/// `feedfold ingest SOURCE...`: fails (exit 1) if any source failed.
pub fn ingest(
    path: &Path,
    config: &Config,
    feed_url: Option<String>,
    jobs: usize,
    full_text: Option<FullTextMode>,
    sources: Vec<String>,
    out: &mut impl Write,
) -> Result<ExitCode> {
    if sources.iter().filter(|s| *s == "-").count() > 1 {
        return Err(anyhow!("standard input (-) can be named only once"));
    }
    let fetcher = fetcher(config)?;
    let session = StoreSession::open(path, config)?;
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
    let sink = &mut *out;
    let (outcomes, articles) = session.run(|store| async move {
        let settings = full_text_settings(config, full_text);
        if let Err(e) = store.set_full_text(settings).await {
            return (Vec::new(), Err(e));
        }
        let outcomes = pipeline::ingest_sources(&store, &fetcher, sources, &options, |o| {
            bar.suspend(|| report_outcome(o, sink));
            bar.inc(1);
        })
        .await;
        let articles = queued_articles(&store, &fetcher, config, full_text).await;
        (outcomes, articles)
    });
    session.close();
    if let Some(a) = articles.context("fetching articles")? {
        report_articles(&a, out)?;
    }
    let mut total = IngestReport::default();
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

/// What the writer does about full text in a one-shot command:
/// `--full-text`'s mode for the documents ingested, none without it.
/// With `--full-text`, fetches the articles the ingest queued and stores
/// their outcomes; `None` without it.
async fn queued_articles(
    store: &store::Store,
    fetcher: &Fetcher,
    config: &Config,
    full_text: Option<FullTextMode>,
) -> Result<Option<ArticlesReport>, store::StoreError> {
    match full_text {
        Some(_) => fulltext::fetch_queued(store, fetcher.http(), config.full_text.concurrency)
            .await
            .map(Some),
        None => Ok(None),
    }
}

fn full_text_settings(config: &Config, mode: Option<FullTextMode>) -> FullTextSettings {
    FullTextSettings {
        config: config.full_text.clone(),
        ingest: mode,
        polls: false,
    }
}

/// The line about the articles `--full-text` fetched.
fn report_articles(a: &ArticlesReport, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "articles: {} fetched, {} failed, {} to retry later; {} entries placed again with their article's text",
        a.fetched, a.failed, a.retrying, a.placed_again
    )
}

/// One source's line on stdout, or its error and warnings on stderr.
fn report_outcome(o: &SourceOutcome, out: &mut impl Write) {
    for w in &o.warnings {
        eprintln!("feedfold: warning: {}: {}", Inert(&o.name), Inert(w));
    }
    match render::reports::ingest_line(o) {
        Some(line) => {
            let _ = writeln!(out, "{line}");
        }
        None => {
            if let Err(e) = &o.result {
                let message = feedfold::telemetry::chain(e);
                eprintln!("feedfold: error: {}: {}", Inert(&o.name), Inert(&message));
            }
        }
    }
}

/// `feedfold parse SOURCE`: normalizes one document and shows it; stores nothing.
pub fn parse(
    config: &Config,
    source: &str,
    feed_url: Option<String>,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let fetcher = fetcher(config)?;
    let src = Source::from_arg(source);
    let feed = runtime()?
        .block_on(pipeline::read_document(&fetcher, &src, feed_url.as_deref()))
        .with_context(|| source.to_string())?;
    if json {
        render::json(out, &feed)?;
    } else {
        render::reports::parsed(out, &feed)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `feedfold extract URL|FILE`: the article of one page.
pub fn extract(
    config: &Config,
    source: &str,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let fetcher = fetcher(config)?;
    let src = Source::from_arg(source);
    let read = runtime()?
        .block_on(fulltext::read_article(fetcher.http(), &src))
        .with_context(|| source.to_string())?;
    if json {
        render::json(out, &render::reports::ArticleReport::new(&read))?;
    } else {
        render::reports::article(out, &read)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// How `feedfold eval` ingests and reports.
pub struct EvalHow {
    /// Ingest the files in reverse order.
    pub reverse: bool,
    /// `--full-text`'s mode.
    pub full_text: Option<FullTextMode>,
    /// How many wrong merges and missed copies to list.
    pub show: usize,
    /// The output format.
    pub format: Format,
}

/// `feedfold eval CORPUS`: ingests a labelled corpus into a fresh store
/// and scores the stories against its truth.
pub fn eval(
    corpus_dir: &Path,
    db: Option<PathBuf>,
    how: EvalHow,
    config: &Config,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let EvalHow {
        reverse,
        full_text,
        show,
        format,
    } = how;
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
    let fetcher = fetcher(config)?;
    let session = StoreSession::open(&path, config)?;
    let started = std::time::Instant::now();
    let bar = progress_bar(files.len() as u64, "files");
    let options = IngestOptions {
        feed_url: None,
        read_ahead: 4,
    };
    let (outcomes, articles) = session.run(|store| async move {
        let settings = full_text_settings(config, full_text);
        if let Err(e) = store.set_full_text(settings).await {
            return (Vec::new(), Err(e));
        }
        let outcomes = pipeline::ingest_sources(&store, &fetcher, sources, &options, |o| {
            if let Err(e) = &o.result {
                let message = feedfold::telemetry::chain(e);
                bar.suspend(|| {
                    eprintln!("feedfold: error: {}: {}", Inert(&o.name), Inert(&message))
                });
            }
            bar.inc(1);
        })
        .await;
        let articles = queued_articles(&store, &fetcher, config, full_text).await;
        (outcomes, articles)
    });
    session.close();
    let articles = articles.context("fetching articles")?;
    let elapsed = started.elapsed().as_secs_f64();
    let result = score(&path, &corpus);
    if temporary {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    let scores = result?;
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    match format {
        Format::Json => render::json(out, &scores)?,
        Format::Csv => render::reports::eval_csv(out, &scores)?,
        Format::Table => {
            writeln!(
                out,
                "corpus {} ({} files{}, {} failed), ingested in {:.2} s",
                corpus_dir.display(),
                files.len(),
                if reverse { ", reversed" } else { "" },
                failed,
                elapsed
            )?;
            if let Some(a) = &articles {
                report_articles(a, out)?;
            }
            render::reports::eval(out, &scores, show)?;
        }
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Scores the stories of the store at `path` against the corpus's truth.
fn score(path: &Path, corpus: &Corpus) -> Result<Scores> {
    let conn = store::open_reader(path)?;
    let mut stmt = conn.prepare(
        "SELECT e.id, e.guid, e.url, e.story_id, s.event_id, e.title
           FROM entries e JOIN stories s ON s.id = e.story_id",
    )?;
    let stored = stmt
        .query_map([], |r| {
            Ok(Predicted {
                id: r.get(0)?,
                guid: r.get(1)?,
                url: r.get(2)?,
                story_id: r.get(3)?,
                event_id: r.get(4)?,
                title: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(feedfold::eval::score(&corpus.truth, &stored))
}
