//! HTTP details of the server: query parameters, the JSON error body,
//! validators and conditional GET, gzip, the bearer token, and the cache
//! of rendered responses.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

/// A response body.
pub type Body = Full<Bytes>;

/// A request the server refuses or could not answer: its status and a
/// message for the JSON body `{"error": ..., "status": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, in one line.
    pub message: String,
}

impl ApiError {
    /// 400 Bad Request.
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// 500 (or 503 while the store cannot be read).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }

    /// The JSON response.
    pub fn response(&self) -> Response<Body> {
        let body = serde_json::json!({
            "error": self.message,
            "status": self.status.as_u16(),
        });
        let mut text = serde_json::to_string(&body).unwrap_or_default();
        text.push('\n');
        let mut r = Response::new(Full::new(Bytes::from(text)));
        *r.status_mut() = self.status;
        set(r.headers_mut(), header::CONTENT_TYPE, "application/json");
        set(r.headers_mut(), header::CACHE_CONTROL, "no-store");
        r
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        let message = crate::telemetry::chain(&e);
        match e {
            StoreError::BadQuery { .. } => ApiError::bad(message),
            StoreError::NotFound { .. } => ApiError::not_found(message),
            StoreError::Missing { .. } | StoreError::Open { .. } => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message,
            },
            _ => ApiError::internal(message),
        }
    }
}

/// Sets a header whose value is known to be valid (else leaves it out).
pub fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// The query parameters of a request, each given at most once.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses a query string, allowing only the names in `allowed`.
    pub fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Params, ApiError> {
        let mut map = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if !allowed.contains(&k.as_ref()) {
                return Err(ApiError::bad(if allowed.is_empty() {
                    format!("unknown query parameter {k:?}: this resource takes none")
                } else {
                    format!(
                        "unknown query parameter {k:?} (this resource takes {})",
                        allowed.join(", ")
                    )
                }));
            }
            if map.insert(k.to_string(), v.to_string()).is_some() {
                return Err(ApiError::bad(format!(
                    "query parameter {k:?} is given twice"
                )));
            }
        }
        Ok(Params(map))
    }

    /// A parameter's value, if given (and not empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A whole number of at least `min`, if given.
    pub fn number(&self, name: &str, min: i64) -> Result<Option<i64>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        match v.trim().parse::<i64>() {
            Ok(n) if n >= min => Ok(Some(n)),
            Ok(_) => Err(ApiError::bad(format!("{name}={v}: must be at least {min}"))),
            // Digits beyond i64: as large as it gets (limits are capped).
            Err(_) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(i64::MAX)),
            Err(_) => Err(ApiError::bad(format!(
                "{name}={v:?}: expected a whole number"
            ))),
        }
    }

    /// `since` (`90m`, `24h`, `7d`, `2w`) as an ISO-8601 UTC time.
    pub fn since(&self, now: DateTime<Utc>) -> Result<Option<String>, ApiError> {
        let Some(v) = self.get("since") else {
            return Ok(None);
        };
        let d = crate::model::parse_duration(v).ok_or_else(|| {
            ApiError::bad(format!(
                "since={v:?}: expected a duration like 90m, 24h, 7d or 2w"
            ))
        })?;
        let t = now
            .checked_sub_signed(d)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        Ok(Some(crate::model::format_time(t)))
    }

    /// The parameters sorted by name, URL-encoded (a cache key and the
    /// query of self links).
    pub fn canonical(&self) -> String {
        self.canonical_without("")
    }

    /// [`Params::canonical`] without the parameter `skip`.
    pub fn canonical_without(&self, skip: &str) -> String {
        let mut pairs: Vec<(&String, &String)> = self
            .0
            .iter()
            .filter(|(k, v)| !v.is_empty() && k.as_str() != skip)
            .collect();
        pairs.sort();
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        s.finish()
    }
}

/// A rendered representation, before content negotiation.
#[derive(Debug)]
pub struct Rendered {
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: Bytes,
    /// When what it shows last changed, if known.
    pub last_modified: Option<DateTime<Utc>>,
    /// Its strong validator (a hash of the body, quoted).
    pub etag: String,
    /// The body gzipped, made on first demand.
    gzipped: OnceLock<Option<Bytes>>,
}

impl Rendered {
    /// A body and its type; the ETag is computed here.
    pub fn new(
        content_type: &'static str,
        body: String,
        last_modified: Option<DateTime<Utc>>,
    ) -> Rendered {
        let body = Bytes::from(body);
        Rendered {
            content_type,
            etag: etag_of(&body),
            body,
            last_modified,
            gzipped: OnceLock::new(),
        }
    }

    fn gzipped(&self) -> Option<&Bytes> {
        self.gzipped
            .get_or_init(|| {
                use std::io::Write;
                let mut enc = flate2::write::GzEncoder::new(
                    Vec::with_capacity(self.body.len() / 3),
                    flate2::Compression::fast(),
                );
                enc.write_all(&self.body).ok()?;
                enc.finish().ok().map(Bytes::from)
            })
            .as_ref()
    }
}

/// `"` + 128-bit SipHash of the body in hex + `"`.
fn etag_of(body: &[u8]) -> String {
    use std::hash::Hasher;
    let mut h = siphasher::sip128::SipHasher::new();
    h.write(body);
    format!(
        "\"{:032x}\"",
        siphasher::sip128::Hasher128::finish128(&h).as_u128()
    )
}

/// The opaque part of an entity tag (without `W/`, quotes and the gzip
/// suffix), for the weak comparison `If-None-Match` calls for.
fn opaque(tag: &str) -> &str {
    let t = tag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    let t = t.trim_matches('"');
    t.strip_suffix("-gzip").unwrap_or(t)
}

/// Whether the client's validators show it has this representation.
fn fresh(req: &HeaderMap, etag: &str, last_modified: Option<DateTime<Utc>>) -> bool {
    if let Some(inm) = req.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        return inm.trim() == "*" || inm.split(',').any(|t| opaque(t) == opaque(etag));
    }
    match (
        req.get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok()),
        last_modified,
    ) {
        (Some(since), Some(modified)) => {
            let since: DateTime<Utc> = since.into();
            modified.timestamp() <= since.timestamp()
        }
        _ => false,
    }
}

/// Whether the client accepts gzip (`Accept-Encoding`, with q > 0).
fn accepts_gzip(req: &HeaderMap) -> bool {
    req.get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            (name.eq_ignore_ascii_case("gzip") || name == "*") && q > 0.0
        })
}

/// Bodies smaller than this are sent as they are.
const GZIP_MIN: usize = 512;

/// How a response may be cached by readers and proxies.
#[derive(Debug, Clone, Copy)]
pub enum Caching {
    /// `max-age` seconds (`private` when a token guards the server).
    MaxAge(u32, bool),
    /// `no-store`.
    None,
}

/// The response to a request for `rendered`: 304 when the client's
/// validators match, else 200, gzipped if the client takes it.
pub fn respond(req: &HeaderMap, rendered: &Rendered, caching: Caching) -> Response<Body> {
    let gzip = rendered.body.len() >= GZIP_MIN && accepts_gzip(req);
    let gzipped = if gzip { rendered.gzipped() } else { None };
    let etag = match gzipped {
        Some(_) => format!("{}-gzip\"", rendered.etag.trim_end_matches('"')),
        None => rendered.etag.clone(),
    };
    let not_modified = fresh(req, &rendered.etag, rendered.last_modified);
    let body = match (not_modified, gzipped) {
        (true, _) => Bytes::new(),
        (false, Some(z)) => z.clone(),
        (false, None) => rendered.body.clone(),
    };
    let mut r = Response::new(Full::new(body));
    if not_modified {
        *r.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let h = r.headers_mut();
    if !not_modified {
        set(h, header::CONTENT_TYPE, rendered.content_type);
        if gzipped.is_some() {
            set(h, header::CONTENT_ENCODING, "gzip");
        }
    }
    set(h, header::ETAG, &etag);
    if let Some(t) = rendered.last_modified {
        set(h, header::LAST_MODIFIED, &httpdate::fmt_http_date(t.into()));
    }
    if rendered.body.len() >= GZIP_MIN {
        set(h, header::VARY, "Accept-Encoding");
    }
    match caching {
        Caching::MaxAge(secs, private) => set(
            h,
            header::CACHE_CONTROL,
            &format!(
                "{}, max-age={secs}",
                if private { "private" } else { "public" }
            ),
        ),
        Caching::None => set(h, header::CACHE_CONTROL, "no-store"),
    }
    r
}

/// Compares a presented token with the expected one in constant time.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Decodes standard base64 (with or without padding).
fn base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim().trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Whether the request carries the token: `Authorization: Bearer TOKEN`,
/// or `Basic` with the token as password (any user name), for readers
/// that only know `https://user:TOKEN@host/` URLs.
pub fn authorized(req: &HeaderMap, token: &str) -> bool {
    let Some(value) = req.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        same(credentials.trim().as_bytes(), token.as_bytes())
    } else if scheme.eq_ignore_ascii_case("basic") {
        base64(credentials)
            .and_then(|d| {
                let colon = d.iter().position(|&b| b == b':')?;
                Some(same(&d[colon + 1..], token.as_bytes()))
            })
            .unwrap_or(false)
    } else {
        false
    }
}

/// 401 with the challenges.
pub fn unauthorized() -> Response<Body> {
    let mut r = ApiError {
        status: StatusCode::UNAUTHORIZED,
        message: "this server needs a token: send `Authorization: Bearer TOKEN` \
                  (or HTTP Basic auth with the token as password)"
            .into(),
    }
    .response();
    let h = r.headers_mut();
    h.append(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"feedfold\""),
    );
    h.append(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"feedfold\""),
    );
    r
}

/// What the store's files look like now: a response rendered from it
/// stays good while this does not change. Every commit writes the WAL
/// (and a checkpoint the database file), changing a size or a time.
pub type Stamp = Vec<(u64, Option<SystemTime>)>;

/// The stamp of the database at `path` (the file and its `-wal`).
pub fn stamp(path: &Path) -> Stamp {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path.to_path_buf(), PathBuf::from(wal)]
        .iter()
        .map(|p| match std::fs::metadata(p) {
            Ok(m) => (m.len(), m.modified().ok()),
            Err(_) => (0, None),
        })
        .collect()
}

/// The longest a rendered response is served from the cache (`since`
/// filters move with the clock even when the store does not change).
pub const CACHE_FOR: Duration = Duration::from_secs(30);

/// How long a rendered response is served even if the store changed: a
/// store that commits many times a second is rendered from once a second
/// per resource, not once per commit.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// How many rendered responses the cache keeps.
const CACHE_ENTRIES: usize = 64;

struct CacheEntry {
    stamp: Stamp,
    at: Instant,
    rendered: Arc<Rendered>,
}

/// Rendered responses by resource (path, canonical query and base URL),
/// each good for [`FRESH_FOR`], and after that while the store's [`Stamp`]
/// is unchanged, for at most [`CACHE_FOR`]: readers polling the same feed
/// cost a lookup, and a busy store re-renders a feed at most once a second.
#[derive(Default)]
pub struct Cache {
    entries: Mutex<HashMap<String, CacheEntry>>,
}

impl Cache {
    /// The cached response for `key`, if still good at `stamp`.
    pub fn get(&self, key: &str, stamp: &Stamp) -> Option<Arc<Rendered>> {
        let entries = self.entries.lock().ok()?;
        let e = entries.get(key)?;
        let age = e.at.elapsed();
        (age < FRESH_FOR || (e.stamp == *stamp && age < CACHE_FOR)).then(|| e.rendered.clone())
    }

    /// Keeps a response rendered from the store as of `stamp`.
    pub fn put(&self, key: String, stamp: Stamp, rendered: Arc<Rendered>) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= CACHE_ENTRIES && !entries.contains_key(&key) {
            if let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.at)
                .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            key,
            CacheEntry {
                stamp,
                at: Instant::now(),
                rendered,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn params_refuse_unknown_and_repeated_names_and_cap_nothing_themselves() {
        let p = Params::parse(Some("limit=5&min_copies=2"), &["limit", "min_copies"]).expect("ok");
        assert_eq!(p.number("limit", 1).expect("n"), Some(5));
        assert_eq!(p.canonical(), "limit=5&min_copies=2");
        let e = Params::parse(Some("lim=5"), &["limit"]).expect_err("unknown");
        assert!(e.message.contains("\"lim\""), "{e:?}");
        assert!(Params::parse(Some("limit=1&limit=2"), &["limit"]).is_err());
        let p = Params::parse(Some("limit=99999999999999999999999"), &["limit"]).expect("ok");
        assert_eq!(p.number("limit", 1).expect("huge"), Some(i64::MAX));
        let p = Params::parse(Some("limit=ten"), &["limit"]).expect("ok");
        assert!(p.number("limit", 1).is_err());
        let p = Params::parse(Some("limit=0"), &["limit"]).expect("ok");
        assert!(p.number("limit", 1).is_err());
    }

    #[test]
    fn validators_match_weakly_and_across_encodings() {
        let r = Rendered::new("text/plain", "x".repeat(1000), None);
        let tag = r.etag.clone();
        let gz = format!("{}-gzip\"", tag.trim_end_matches('"'));
        assert!(fresh(&headers(&[("if-none-match", &tag)]), &r.etag, None));
        assert!(fresh(
            &headers(&[("if-none-match", &format!("W/{gz}"))]),
            &r.etag,
            None
        ));
        assert!(fresh(
            &headers(&[("if-none-match", &format!("\"other\", {tag}"))]),
            &r.etag,
            None
        ));
        assert!(!fresh(
            &headers(&[("if-none-match", "\"other\"")]),
            &r.etag,
            None
        ));
        let lm: DateTime<Utc> = "2026-03-02T10:00:00Z".parse().expect("time");
        let ims = httpdate::fmt_http_date(lm.into());
        assert!(fresh(
            &headers(&[("if-modified-since", &ims)]),
            &r.etag,
            Some(lm)
        ));
        assert!(!fresh(
            &headers(&[("if-modified-since", &ims)]),
            &r.etag,
            Some(lm + chrono::Duration::seconds(1))
        ));
        let resp = respond(
            &headers(&[("accept-encoding", "br, gzip;q=0.5")]),
            &r,
            Caching::None,
        );
        assert_eq!(resp.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(resp.headers()[header::ETAG], gz.as_str());
        let resp = respond(
            &headers(&[("accept-encoding", "gzip;q=0")]),
            &r,
            Caching::None,
        );
        assert!(resp.headers().get(header::CONTENT_ENCODING).is_none());
    }

    #[test]
    fn tokens_are_accepted_as_bearer_or_basic_password() {
        assert!(authorized(
            &headers(&[("authorization", "Bearer s3cret")]),
            "s3cret"
        ));
        assert!(!authorized(
            &headers(&[("authorization", "Bearer s3cre")]),
            "s3cret"
        ));
        // "reader:s3cret"
        assert!(authorized(
            &headers(&[("authorization", "Basic cmVhZGVyOnMzY3JldA==")]),
            "s3cret"
        ));
        assert!(!authorized(
            &headers(&[("authorization", "Basic cmVhZGVyOnd3")]),
            "s3cret"
        ));
        assert!(!authorized(&headers(&[]), "s3cret"));
    }
}
