//! The `feedfold` binary: parses arguments, sets up logging, runs one
//! command ([`commands`]) and turns errors into one-line messages and exit
//! codes. All pipeline logic lives in the library.

mod commands;

use std::process::ExitCode;

use clap::Parser;

use feedfold::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tune_malloc(&cli.command);
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
/// `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES` says otherwise). glibc gives
/// threads that contend for the allocator arenas of their own, up to 8 per
/// core, and memory freed into an arena stays resident for the next thread
/// that allocates from it: the fetch and normalize threads parse a feed
/// document, free it, and leave its pages in their arenas while the
/// writer's memory grows in another. With two, `poll_cycle`'s cycle A
/// (200,000 new entries) peaked at ~26 MB less. The `ingest` bench
/// (`feedfold ingest`'s pipeline, whose normalize threads and writer
/// contend harder) ran ~8% slower with two, so only `run` sets it (see
/// `tests/benches/README.md`).
const DAEMON_MALLOC_ARENAS: i32 = 2;

/// The size from which glibc serves an allocation with its own mapping in
/// the daemon (unless `MALLOC_MMAP_THRESHOLD_` or `GLIBC_TUNABLES` says
/// otherwise). By default glibc raises this threshold (up to 32 MiB) each
/// time a mapped block is freed, so once the writer's tables have grown and
/// released a few large blocks, the next ones come from the heap, where a
/// freed block can stay resident. Fixed at 1 MiB, the large tables and
/// buffers keep their own mappings, and a freed one goes back to the system
/// at once: `poll_cycle`'s cycle A peaked at 183–184 MB instead of
/// 188–190 MB (see `tests/benches/README.md`).
const DAEMON_MMAP_THRESHOLD: i32 = 1 << 20;

/// Caps glibc's malloc arenas at [`DAEMON_MALLOC_ARENAS`] and fixes its
/// mapping threshold at [`DAEMON_MMAP_THRESHOLD`] for the daemon, before
/// any thread starts, each unless the environment sets it (glibc has read
/// the environment already).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc(command: &Command) {
    if !matches!(command, Command::Run { .. }) {
        return;
    }
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    for (variable, tunable, parameter, value) in [
        (
            "MALLOC_ARENA_MAX",
            "arena_max",
            libc::M_ARENA_MAX,
            DAEMON_MALLOC_ARENAS,
        ),
        (
            "MALLOC_MMAP_THRESHOLD_",
            "mmap_threshold",
            libc::M_MMAP_THRESHOLD,
            DAEMON_MMAP_THRESHOLD,
        ),
    ] {
        if std::env::var_os(variable).is_none() && !tunables.contains(tunable) {
            set_malloc_parameter(parameter, value);
        }
    }
}

/// Sets one of glibc's malloc parameters (`mallopt`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_malloc_parameter(parameter: libc::c_int, value: libc::c_int) {
    // SAFETY: `mallopt` only sets a parameter of the allocator; it is
    // called only by `tune_malloc`, before any other thread exists, and a
    // refusal (0) leaves the default, which is harmless.
    unsafe {
        libc::mallopt(parameter, value);
    }
}

/// Other allocators keep their own defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc(_: &Command) {}
