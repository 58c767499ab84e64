//! The `[server]` table: where `feedfold run` (and `feedfold serve`)
//! listen, and the token that guards anything beyond loopback.
//!
//! Owned by the server, read by `config` (which sits below the server,
//! hence this module's lower layer): plain data and its checks, no I/O.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The address `feedfold serve` listens on without `--listen` or
/// `[server] listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The `[server]` table.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Where `feedfold run` serves the folded feeds, the JSON API and
    /// `/metrics` (`127.0.0.1:8080`); unset (the default), it serves
    /// nothing. `feedfold serve` uses it too, unless `--listen` is given.
    pub listen: Option<SocketAddr>,
    /// A file holding the bearer token every request must carry
    /// (`Authorization: Bearer TOKEN`, or HTTP Basic auth with the token as
    /// password), except `/healthz`. Required to listen on any address but
    /// loopback.
    pub token_file: Option<PathBuf>,
    /// The URL readers reach the server at, when it is not the `Host` they
    /// send (behind a reverse proxy, `https://news.example.org/feedfold/`):
    /// the base of the feeds' self links and of the OPML's URLs.
    pub base_url: Option<String>,
}

impl ServerConfig {
    /// Checks the table's values against each other.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(addr) = self.listen {
            check_listen(addr, self.token_file.is_some()).map_err(|e| format!("server.{e}"))?;
        }
        if let Some(base) = &self.base_url {
            let ok = url::Url::parse(base)
                .ok()
                .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            if !ok {
                return Err(format!(
                    "server.base_url {base:?} is not an absolute http(s) URL"
                ));
            }
        }
        Ok(())
    }
}

/// Refuses to listen beyond loopback without a token. The message starts
/// with `listen`, for the caller to prefix (`server.`, `--`).
pub fn check_listen(addr: SocketAddr, has_token: bool) -> Result<(), String> {
    if addr.ip().is_loopback() || has_token {
        Ok(())
    } else {
        Err(format!(
            "listen {addr} is not a loopback address: anyone who can reach it could read the store, \
             so set server.token_file (a file holding the token readers must send) or listen on 127.0.0.1"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_needs_no_token_and_anything_else_does() {
        let ok = |s: &str, token: bool| check_listen(s.parse().expect("addr"), token).is_ok();
        assert!(ok("127.0.0.1:8080", false));
        assert!(ok("[::1]:8080", false));
        assert!(ok("127.0.0.2:0", false));
        assert!(!ok("0.0.0.0:8080", false));
        assert!(!ok("[::]:8080", false));
        assert!(!ok("192.168.1.2:80", false));
        assert!(ok("0.0.0.0:8080", true));
    }

    #[test]
    fn a_base_url_must_be_absolute() {
        let c = ServerConfig {
            base_url: Some("/feeds".into()),
            ..ServerConfig::default()
        };
        assert!(c.validate().is_err());
        let c = ServerConfig {
            base_url: Some("https://news.example.org/ff/".into()),
            ..ServerConfig::default()
        };
        assert!(c.validate().is_ok());
    }
}
