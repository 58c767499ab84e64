//! The `feedfold` binary: parses arguments, sets up logging, runs one
//! command ([`commands`]) and turns errors into one-line messages and exit
//! codes. All pipeline logic lives in the library.

mod commands;

use std::process::ExitCode;

use clap::Parser;

use feedfold::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    limit_malloc_arenas(&cli.command);
    let human = commands::init_logging(&cli);
    match commands::run(cli) {
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
            // A message may quote what a feed sent (inert on a terminal)
            // and name a feed URL with a password (hidden).
            let message = format!("{e:#}");
            let message = feedfold::model::redact_credentials(&message);
            eprintln!("feedfold: error: {}", feedfold::render::inert(&message));
            // Plain and JSON logs keep one line per message (journald).
            let excerpt = e
                .downcast_ref::<feedfold::config::ConfigError>()
                .and_then(|c| c.excerpt());
            if let Some(excerpt) = excerpt.filter(|_| human) {
                eprintln!("{excerpt}");
            }
            ExitCode::FAILURE
        }
    }
}

/// How many malloc arenas glibc may keep in the daemon (unless
/// `MALLOC_ARENA_MAX` says otherwise). glibc gives threads that contend for
/// the allocator arenas of their own, up to 8 per core, and memory freed
/// into an arena stays resident for the next thread that allocates from
/// it: the fetch and normalize threads parse a feed document, free it, and
/// leave its pages in their arenas while the writer's memory grows in
/// another. With two, `poll_cycle`'s cycle A (200,000 new entries) peaked
/// at ~26 MB less. The `ingest` bench (`feedfold ingest`'s pipeline, whose
/// normalize threads and writer contend harder) ran ~8% slower with two,
/// so only `run` sets it (see `tests/benches/README.md`).
const DAEMON_MALLOC_ARENAS: i32 = 2;

/// Caps glibc's malloc arenas at [`DAEMON_MALLOC_ARENAS`] for the daemon,
/// before any thread starts, unless the environment sets
/// `MALLOC_ARENA_MAX` (glibc has read it already).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas(command: &Command) {
    if matches!(command, Command::Run { .. }) && std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: `mallopt` only sets a parameter of the allocator; it is
        // called before any other thread exists, and a refusal (0) leaves
        // the default, which is harmless.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, DAEMON_MALLOC_ARENAS);
        }
    }
}

/// Other allocators keep their own defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas(_: &Command) {}
