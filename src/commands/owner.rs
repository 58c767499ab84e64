//! Commands that write to a store act as the store's owner.
//!
//! An operator who runs `sudo feedfold feeds add URL` on the service's
//! store (owned by the service's user) would otherwise leave root-owned
//! `-wal`/`-shm` files behind that the service then cannot open. So a
//! command run as root on a store owned by another user runs again as that
//! user (same arguments and environment) and exits with its status.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

/// The effective user id of this process (the owner of `/proc/self`).
fn effective_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// If this process is root and the store at `path` belongs to another
/// user, runs this command again as that user and returns its exit code;
/// `None` means go on here.
pub fn as_store_owner(path: &Path) -> Result<Option<ExitCode>> {
    if effective_uid() != Some(0) {
        return Ok(None);
    }
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    if meta.uid() == 0 {
        return Ok(None);
    }
    let exe = std::env::current_exe().context("finding the feedfold executable")?;
    tracing::info!(
        store = %path.display(),
        uid = meta.uid(),
        gid = meta.gid(),
        "Running as the store's owner, so the files SQLite creates beside it stay theirs."
    );
    let status = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .uid(meta.uid())
        .gid(meta.gid())
        .status()
        .with_context(|| {
            format!(
                "running as the owner (uid {}) of the store {}; run the command as that user instead",
                meta.uid(),
                path.display()
            )
        })?;
    Ok(Some(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    }))
}
