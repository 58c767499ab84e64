//! The subscription list: `feedfold feeds add|remove|list` and `opml
//! import|export`. Changes go through the store's writer, so they are
//! safe while the daemon runs; the daemon picks them up on SIGHUP.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};

use feedfold::cli::{FeedsCommand, Format, OpmlCommand};
use feedfold::config::{Config, FeedUrl};
use feedfold::fetcher::Fetcher;
use feedfold::model::{redact_credentials, FeedSpec, Interval};
use feedfold::opml::{self, OpmlFeed};
use feedfold::pipeline::{self, Checked};
use feedfold::render::{self, Inert};
use feedfold::store::subscriptions::{Added, FeedStatus, Origin};
use feedfold::telemetry::chain;

use super::db_path;
use super::query::feed_statuses;
use super::session::StoreSession;

fn feed_spec(url: &str, name: Option<String>, interval: Option<&str>) -> Result<FeedSpec> {
    let url =
        FeedUrl::parse(url).ok_or_else(|| anyhow!("{url:?} is not an absolute http(s) URL"))?;
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
        full_text: None,
    })
}

/// `feedfold feeds ...`.
pub fn feeds(command: FeedsCommand, config: &Config, out: &mut impl Write) -> Result<ExitCode> {
    match command {
        FeedsCommand::Add {
            db,
            url,
            name,
            interval,
            full_text,
        } => {
            let mut spec = feed_spec(&url, name, interval.as_deref())?;
            spec.full_text = full_text;
            if spec
                .interval
                .is_some_and(|i| i < config.polling.min_interval.0)
            {
                return Err(anyhow!(
                    "--interval is shorter than polling.min_interval ({})",
                    config.polling.min_interval
                ));
            }
            let fetcher = Fetcher::new(&config.http).context("setting up the HTTP client")?;
            let session = StoreSession::open(&db_path(&db, config), config)?;
            let shown = redact_credentials(&url).into_owned();
            match session.block_on(pipeline::check_subscription(&fetcher, &spec.url)) {
                Ok(Checked::Feed) => {}
                Ok(Checked::Page(links)) => match links.as_slice() {
                    [] => {
                        return Err(anyhow!(
                            "{shown} is a web page, not a feed, and it links no feed (nor do {} on its site)",
                            feedfold::fetcher::discover::COMMON_PATHS.join(", ")
                        ))
                    }
                    [one] => {
                        writeln!(
                            out,
                            "{shown} is a web page; subscribing to the feed it links to: {}",
                            redact_credentials(&one.url)
                        )?;
                        spec.url = one.url.clone();
                    }
                    several => {
                        writeln!(
                            out,
                            "{shown} is a web page that links {} feeds; add the one you want:",
                            several.len()
                        )?;
                        for l in several {
                            writeln!(
                                out,
                                "  feedfold feeds add {}    # {} {}",
                                redact_credentials(&l.url),
                                l.kind,
                                l.title.as_deref().map(Inert).map_or(String::new(), |t| t.to_string())
                            )?;
                        }
                        return Ok(ExitCode::FAILURE);
                    }
                },
                Err(e) => eprintln!(
                    "feedfold: warning: {shown}: could not check it now ({}); subscribed anyway",
                    Inert(&redact_credentials(&chain(&e)))
                ),
            }
            let added = session.run(|s| async move { s.add_feed(spec, Origin::Cli).await })?;
            session.close();
            let what = match added {
                Added::New => "added",
                Added::Exists => "already subscribed",
                Added::Revived => "resumed (it was gone)",
            };
            writeln!(out, "{shown}: {what}")?;
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Remove { db, url } => {
            if config.feeds.iter().any(|f| f.url.0 == url) {
                eprintln!(
                    "feedfold: warning: {} is listed in the config file; the daemon adds it back on reload",
                    Inert(&url)
                );
            }
            let session = StoreSession::open(&db_path(&db, config), config)?;
            let target = url.clone();
            let removed = session.run(|s| async move { s.remove_feed(target).await })?;
            session.close();
            if removed {
                writeln!(out, "{}: removed", redact_credentials(&url))?;
                Ok(ExitCode::SUCCESS)
            } else {
                Err(anyhow!("{}: not subscribed", redact_credentials(&url)))
            }
        }
        FeedsCommand::List { db, format } => {
            let rows: Vec<_> = feed_statuses(&db_path(&db, config))?
                .into_iter()
                .map(FeedStatus::redacted)
                .collect();
            match format.format() {
                Format::Json => render::json_lines(out, &rows)?,
                Format::Csv => render::feeds::status_csv(out, &rows)?,
                Format::Table => render::feeds::feeds_list(out, &rows)?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `feedfold opml ...`.
pub fn opml(command: OpmlCommand, config: &Config, out: &mut impl Write) -> Result<ExitCode> {
    match command {
        OpmlCommand::Import { db, file } => {
            let text = if file.as_os_str() == "-" {
                opml::read_document(std::io::stdin().lock()).context("standard input")?
            } else {
                let f = std::fs::File::open(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                opml::read_document(f).with_context(|| file.display().to_string())?
            };
            let feeds = opml::parse(&text).with_context(|| file.display().to_string())?;
            let mut skipped = 0;
            let specs: Vec<FeedSpec> = feeds
                .into_iter()
                .filter_map(|f| match feed_spec(&f.url, f.name, None) {
                    Ok(spec) => Some(spec),
                    Err(e) => {
                        eprintln!("feedfold: warning: skipped: {}", Inert(&format!("{e:#}")));
                        skipped += 1;
                        None
                    }
                })
                .collect();
            let session = StoreSession::open(&db_path(&db, config), config)?;
            let counted = session.run(|s| async move {
                let (mut new, mut existing) = (0, 0);
                for spec in specs {
                    match s.add_feed(spec, Origin::Opml).await? {
                        Added::Exists => existing += 1,
                        _ => new += 1,
                    }
                }
                anyhow::Ok((new, existing))
            });
            session.close();
            let (new, existing) = counted?;
            writeln!(
                out,
                "imported {new} feeds ({existing} already subscribed, {skipped} skipped)"
            )?;
            Ok(ExitCode::SUCCESS)
        }
        OpmlCommand::Export { db, output } => {
            let rows = feed_statuses(&db_path(&db, config))?;
            let feeds: Vec<OpmlFeed> = rows
                .into_iter()
                .filter(|r| r.gone_at.is_none())
                .map(|r| OpmlFeed {
                    url: r.url,
                    name: r.name,
                    site_url: r.site_url,
                    category: None,
                })
                .collect();
            let text = opml::write(&feeds, "feedfold subscriptions", chrono::Utc::now())?;
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => out.write_all(text.as_bytes())?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
