//! The `feedfold` binary: parses arguments, sets up logging, runs one
//! command ([`commands`]) and turns errors into one-line messages and exit
//! codes. All pipeline logic lives in the library.

mod commands;

use std::process::ExitCode;

use clap::Parser;

use feedfold::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
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
