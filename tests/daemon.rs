//! The polling daemon, against loopback HTTP servers that each test starts
//! (no internet): fetch behaviour in process through `pipeline::poll`, the
//! one code path the daemon runs per check; signals, sd_notify, crashes
//! and full disks on the real binary; hostile servers both ways (issue 6).
//! Assertions are on the store's contents and exit codes. One test binary;
//! a module per subject, in `tests/daemon/`. See `tests/README.md`.
//!
//! Figures are printed (`cargo test --test daemon -- --nocapture`).

mod common;

mod daemon {
    mod crash;
    mod disk;
    mod fetch;
    mod fulltext;
    mod guard;
    mod harness;
    mod hostile;
    mod process;
    mod server;
    mod signals;
}
