//! Store maintenance: `feedfold prune`, `migrate` and `regroup`. Each runs
//! through the store's writer, in one transaction.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};

use feedfold::config::Config;
use feedfold::model::parse_duration;
use feedfold::render;
use feedfold::store;

use super::progress_bar;
use super::session::StoreSession;

fn existing(path: &Path) -> Result<()> {
    if path.exists() {
        Ok(())
    } else {
        Err(anyhow!("no database at {}", path.display()))
    }
}

/// `feedfold prune [--older-than D] [--vacuum] [--json]`.
pub fn prune(
    path: &Path,
    config: &Config,
    older_than: Option<String>,
    vacuum: bool,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    existing(path)?;
    let now = chrono::Utc::now();
    let before = match older_than {
        Some(s) => {
            let d = parse_duration(&s)
                .ok_or_else(|| anyhow!("--older-than {s:?}: expected a duration like 30d or 2w"))?;
            now - d
        }
        None => config.retention.cutoff(now).ok_or_else(|| {
            anyhow!("nothing to prune by: pass --older-than (e.g. 30d) or set [retention] keep_days in the config")
        })?,
    };
    let session = StoreSession::open(path, config)?;
    let report = session.run(|s| async move { s.prune(before, vacuum).await });
    session.close();
    let r = report.context("pruning")?;
    if json {
        render::json_lines(out, std::slice::from_ref(&r))?;
    } else {
        render::reports::prune(out, &r)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `feedfold migrate`: brings the store to this build's schema.
pub fn migrate(path: &Path, config: &Config, out: &mut impl Write) -> Result<ExitCode> {
    existing(path)?;
    let before =
        store::open_reader(path).map_or(0, |c| store::schema::version(&c).unwrap_or_default());
    StoreSession::open(path, config)?.close();
    writeln!(
        out,
        "{}: schema version {before} -> {}",
        path.display(),
        store::schema::latest_version()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `feedfold regroup`: places every stored entry again, in order.
pub fn regroup(path: &Path, config: &Config, out: &mut impl Write) -> Result<ExitCode> {
    existing(path)?;
    let session = StoreSession::open(path, config)?;
    let bar = progress_bar(0, "entries regrouped");
    let ticker = bar.clone();
    let report = session.run(|s| async move {
        s.regroup_with_progress(move |done, total| {
            ticker.set_length(total as u64);
            ticker.set_position(done as u64);
        })
        .await
    });
    session.close();
    bar.finish_and_clear();
    let r = report.context("regrouping")?;
    writeln!(
        out,
        "regrouped {} entries: {} stories before, {} after",
        r.entries, r.stories_before, r.stories_after
    )?;
    Ok(ExitCode::SUCCESS)
}
