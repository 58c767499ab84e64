//! `feedfold completions SHELL` and `feedfold man [--out-dir DIR]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use feedfold::cli::Cli;

/// Writes the shell completion script.
pub fn completions(shell: clap_complete::Shell, out: &mut impl Write) -> Result<ExitCode> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "feedfold", out);
    Ok(ExitCode::SUCCESS)
}

/// Writes the man page to standard output, or one page per command into a directory.
pub fn man(out_dir: Option<PathBuf>, out: &mut impl Write) -> Result<ExitCode> {
    let cmd = Cli::command();
    match out_dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            writeln!(out, "wrote man pages into {}", dir.display())?;
        }
        None => clap_mangen::Man::new(cmd).render(out)?,
    }
    Ok(ExitCode::SUCCESS)
}
