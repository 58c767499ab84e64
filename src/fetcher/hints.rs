//! Server hints about when to come back, read from a fetch's response:
//! `Cache-Control: max-age`, `Expires`, `Retry-After` (RFC 9110 §10.2.3,
//! RFC 9111 §5.2.2.1 and §5.3) and RSS 2.0's `<ttl>` (minutes). Pure
//! parsing, next to the fetcher that reads the headers; the fetcher fills
//! a [`crate::model::Hints`] and the scheduler's policy turns it into a
//! delay.

use std::time::Duration;

use chrono::{DateTime, Utc};
use quick_xml::events::Event;

/// Parses an HTTP date (IMF-fixdate, RFC 9110 §5.6.7; the obsolete formats
/// as far as RFC 2822 parsing accepts them).
pub fn http_date(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `Retry-After`: delay-seconds or an HTTP date (relative to `now`; a date
/// in the past means no delay).
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = http_date(value)?;
    Some((at - now).to_std().unwrap_or_default())
}

/// `max-age` (or `s-maxage`, whichever is larger) of a `Cache-Control`
/// value. `no-cache`/`no-store` ask for nothing beyond our own interval.
pub fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control
        .split(',')
        .filter_map(|d| {
            let (name, value) = d.split_once('=')?;
            let name = name.trim().to_ascii_lowercase();
            (name == "max-age" || name == "s-maxage")
                .then(|| value.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
        })
        .max()
        .map(Duration::from_secs)
}

/// The `<ttl>` (minutes) of an RSS 2.0 `<channel>`, read from the
/// document's bytes up to its first `<item>`. Any other document, or a
/// broken one, has none.
pub fn rss_ttl(bytes: &[u8]) -> Option<Duration> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut in_ttl = false;
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_ascii_lowercase();
                if name == "item" || name == "entry" {
                    return None;
                }
                in_ttl = name == "ttl" && path.len() == 2 && path[1] == "channel";
                path.push(name);
            }
            Event::End(_) => {
                in_ttl = false;
                path.pop();
            }
            Event::Text(t) if in_ttl => {
                let text: &str = t.as_ref();
                let minutes: u64 = text.trim().parse().ok()?;
                return Some(Duration::from_secs(minutes.saturating_mul(60)));
            }
            Event::Eof => return None,
            _ => {}
        }
        buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        crate::model::parse_time("2015-10-21T07:00:00Z").expect("time")
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after("120", now()), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now()),
            Some(Duration::from_secs(28 * 60))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 06:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("later", now()), None);
    }

    #[test]
    fn cache_control_max_age() {
        assert_eq!(
            max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            max_age("max-age=60, s-maxage=900"),
            Some(Duration::from_secs(900))
        );
        assert_eq!(max_age("no-cache"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn rss_ttl_is_read_from_the_channel_only() {
        let rss = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><ttl> 90 </ttl><item><ttl>1</ttl></item></channel></rss>";
        assert_eq!(rss_ttl(rss), Some(Duration::from_secs(5400)));
        let late = b"<rss><channel><item><title>x</title></item><ttl>5</ttl></channel></rss>";
        assert_eq!(
            rss_ttl(late),
            None,
            "a ttl after the items is not looked for"
        );
        assert_eq!(
            rss_ttl(b"<feed xmlns='http://www.w3.org/2005/Atom'><ttl>5</ttl></feed>"),
            None
        );
        assert_eq!(rss_ttl(b"\xff\xfe garbage <<<"), None);
        assert_eq!(
            rss_ttl(b"{\"version\": \"https://jsonfeed.org/version/1.1\"}"),
            None
        );
    }
}
