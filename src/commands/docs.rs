//! `feedfold completions SHELL` and `feedfold man [--out-dir DIR]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Arg, Command, CommandFactory};

use feedfold::cli::Cli;

/// Writes the shell completion script.
pub fn completions(shell: clap_complete::Shell, out: &mut impl Write) -> Result<ExitCode> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "feedfold", out);
    Ok(ExitCode::SUCCESS)
}

/// Writes the man page to standard output, or one page per command into a directory.
pub fn man(out_dir: Option<PathBuf>, out: &mut impl Write) -> Result<ExitCode> {
    let cmd = with_synopsis(Cli::command(), "feedfold");
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

/// Gives `cmd` and its subcommands a synopsis that names each option's value
/// (`[--config <FILE>]`): the man page generator prints bare flags otherwise.
fn with_synopsis(cmd: Command, name: &str) -> Command {
    let usage = synopsis(&cmd, name);
    let subcommands: Vec<String> = cmd
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    let mut cmd = cmd.override_usage(usage);
    for sub in subcommands {
        let full = format!("{name} {sub}");
        cmd = cmd.mut_subcommand(&sub, |c| with_synopsis(c, &full));
    }
    cmd
}

/// One usage line: options (with their value names), then positionals, then
/// `<COMMAND>` when there are subcommands.
fn synopsis(cmd: &Command, name: &str) -> String {
    let mut parts = vec![name.to_string()];
    let args: Vec<&Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && a.get_id() != "help" && a.get_id() != "version")
        .collect();
    for arg in args.iter().filter(|a| !a.is_positional()) {
        let flag = match (arg.get_long(), arg.get_short()) {
            (Some(long), _) => format!("--{long}"),
            (None, Some(short)) => format!("-{short}"),
            (None, None) => continue,
        };
        let value = if arg.get_action().takes_values() {
            format!(" <{}>", value_name(arg))
        } else {
            String::new()
        };
        parts.push(if arg.is_required_set() {
            format!("{flag}{value}")
        } else {
            format!("[{flag}{value}]")
        });
    }
    for arg in args.iter().filter(|a| a.is_positional()) {
        let many = matches!(arg.get_num_args(), Some(n) if n.max_values() > 1);
        let dots = if many { "..." } else { "" };
        parts.push(if arg.is_required_set() {
            format!("<{}>{dots}", value_name(arg))
        } else {
            format!("[{}]{dots}", value_name(arg))
        });
    }
    if cmd.has_subcommands() {
        parts.push("<COMMAND>".to_string());
    }
    parts.join(" ")
}

/// The name an argument's value goes by: its value name, or its id in capitals.
fn value_name(arg: &Arg) -> String {
    match arg.get_value_names() {
        Some(names) if !names.is_empty() => names
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => arg.get_id().as_str().to_uppercase(),
    }
}
