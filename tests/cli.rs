//! The one-shot commands through the real `feedfold` binary, on the feed
//! files of `tests/fixtures/` and `tests/samples/` (and documents written
//! or served on 127.0.0.1 by the tests), each into a real SQLite file in a
//! temporary directory. One test binary; a module per subject, in
//! `tests/cli/`. See `tests/README.md`.

mod common;

mod cli {
    mod cases;
    mod discovery;
    mod docs;
    mod feeds;
    mod fulltext;
    mod grouping;
    mod ingest;
    mod maintain;
    mod messages;
    mod output;
    mod query;
    mod readers;
    mod security;
    mod server;
    mod sources;
    mod wire_dev;
}
