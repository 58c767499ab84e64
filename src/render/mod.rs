//! How the CLI shows results: aligned tables for people (sized to the
//! terminal, relative times, colour only when asked for by a [`Style`]),
//! JSON lines and CSV for programs. All rendering lives here, one file per
//! kind of result: [`stories`] (stories, a story, search, explain),
//! [`events`] (events, an event, explain --stories),
//! [`feeds`] (status, feeds list) and [`reports`] (parse, ingest, eval,
//! prune). Presentation only: nothing here reads the store.

pub mod events;
pub mod feeds;
pub mod reports;
pub mod stories;

use std::borrow::Cow;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::parse_time;

/// How human output looks: colour, width and the time relative times count from.
#[derive(Debug, Clone)]
pub struct Style {
    /// Whether to use ANSI colour and bold.
    pub color: bool,
    /// Terminal width in columns; `None` never truncates.
    pub width: Option<usize>,
    /// "Now", for relative times.
    pub now: DateTime<Utc>,
}

impl Style {
    /// Plain output: no colour, no truncation.
    pub fn plain(now: DateTime<Utc>) -> Style {
        Style {
            color: false,
            width: None,
            now,
        }
    }

    /// The style for standard output: colour only if it is a terminal and
    /// `NO_COLOR` is not set (to any value); width from `COLUMNS`, else the
    /// terminal's, else unlimited (when piped).
    pub fn for_stdout(is_terminal: bool, terminal_width: Option<usize>) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some();
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c > 0);
        Style {
            color: is_terminal && !no_color,
            width: columns.or(if is_terminal { terminal_width } else { None }),
            now: Utc::now(),
        }
    }

    fn paint<'a>(&self, code: &str, text: &'a str) -> Cow<'a, str> {
        if self.color && !text.is_empty() {
            Cow::Owned(format!("\x1b[{code}m{text}\x1b[0m"))
        } else {
            Cow::Borrowed(text)
        }
    }

    pub(crate) fn bold<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.paint("1", text)
    }

    pub(crate) fn dim<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.paint("2", text)
    }

    /// An ISO-8601 time as "3 h ago" (or the date, for times long past).
    pub fn ago(&self, t: &str) -> String {
        match parse_time(t) {
            Some(t) => relative_time(t, self.now),
            None => t.to_string(),
        }
    }
}

/// "just now", "12 min ago", "3 h ago", "5 days ago", "in 2 h"; the date
/// past two weeks.
pub fn relative_time(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let (n, future) = (secs.unsigned_abs(), secs < 0);
    let amount = match n {
        0..60 => return "just now".to_string(),
        60..3600 => format!("{} min", n / 60),
        3600..172_800 => format!("{} h", n / 3600),
        172_800..1_209_600 => format!("{} days", n / 86_400),
        _ => return t.format("%Y-%m-%d").to_string(),
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// A text from a feed or the store, made safe to show: control
/// characters (C0, DEL, C1: escape sequences that clear the screen, set
/// the window title or forge hyperlinks) become U+FFFD, line breaks and
/// tabs a space, and the passwords of URLs `***`. Every human output
/// passes what it did not write itself through this; JSON and CSV escape
/// per their formats instead.
pub fn inert(s: &str) -> Cow<'_, str> {
    let s = crate::model::redact_credentials(s);
    if !s.chars().any(char::is_control) {
        return s;
    }
    Cow::Owned(
        s.chars()
            .map(|c| match c {
                '\n' | '\r' | '\t' => ' ',
                c if c.is_control() => '\u{fffd}',
                c => c,
            })
            .collect(),
    )
}

/// [`inert`] as a `Display` value, for `write!` arguments.
pub struct Inert<'a>(pub &'a str);

impl std::fmt::Display for Inert<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&inert(self.0))
    }
}

/// Cuts `s` to at most `width` characters, ending it with "…" if cut.
pub fn truncate(s: &str, width: usize) -> Cow<'_, str> {
    if s.chars().count() <= width {
        return Cow::Borrowed(s);
    }
    if width == 0 {
        return Cow::Borrowed("");
    }
    let mut t: String = s.chars().take(width - 1).collect();
    t.push('…');
    Cow::Owned(t)
}

/// Writes an aligned table: the last column takes what is left of the
/// width and is truncated with "…"; the header is bold in colour.
pub(crate) fn table(
    out: &mut impl Write,
    style: &Style,
    header: &[&str],
    right_aligned: &[bool],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| inert(c).into_owned()).collect())
        .collect();
    let n = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate().take(n) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let fixed: usize = widths[..n - 1].iter().map(|w| w + 2).sum();
    let last = style.width.map(|w| w.saturating_sub(fixed).max(10));
    let line = |cells: &[String], bold: bool| -> String {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate().take(n) {
            if i + 1 == n {
                let cell = match last {
                    Some(w) => truncate(cell, w),
                    None => Cow::Borrowed(cell.as_str()),
                };
                text.push_str(&cell);
            } else if right_aligned.get(i).copied().unwrap_or(false) {
                text.push_str(&format!("{:>w$}  ", cell, w = widths[i]));
            } else {
                text.push_str(&format!("{:<w$}  ", cell, w = widths[i]));
            }
        }
        let text = text.trim_end().to_string();
        if bold {
            style.bold(&text).into_owned()
        } else {
            text
        }
    };
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    writeln!(out, "{}", line(&header, true))?;
    for row in &rows {
        writeln!(out, "{}", line(row, false))?;
    }
    Ok(())
}

/// One CSV field, quoted when it holds a comma, quote, CR or LF (RFC 4180).
pub fn csv_field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// Writes one CSV record (fields joined by commas, ended by a newline).
pub fn csv_record<S: AsRef<str>>(out: &mut impl Write, fields: &[S]) -> std::io::Result<()> {
    let line: Vec<Cow<'_, str>> = fields.iter().map(|f| csv_field(f.as_ref())).collect();
    writeln!(out, "{}", line.join(","))
}

pub(crate) fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_default()
}

/// Writes one JSON value per line.
pub fn json_lines<T: Serialize>(out: &mut impl Write, items: &[T]) -> std::io::Result<()> {
    for item in items {
        serde_json::to_writer(&mut *out, item)?;
        writeln!(out)?;
    }
    Ok(())
}

/// Writes one pretty-printed JSON value.
pub fn json<T: Serialize>(out: &mut impl Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// "2026-03-11T10:41:04Z" → "2026-03-11 10:41".
pub(crate) fn short_time(t: &str) -> String {
    let t = t.replacen('T', " ", 1);
    t.get(..16).map(str::to_string).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        let mut buf = Vec::new();
        csv_record(&mut buf, &["1", "x,y", ""]).expect("write");
        assert_eq!(String::from_utf8(buf).expect("utf-8"), "1,\"x,y\",\n");
    }

    #[test]
    fn control_characters_are_made_inert() {
        let hostile = "a\x1b[2Jb\x1b]0;title\x07c\u{9b}31md\x1b]8;;http://x\x1b\\e\nf";
        let clean = inert(hostile);
        assert!(!clean.chars().any(char::is_control), "{clean:?}");
        assert_eq!(
            clean,
            "a\u{fffd}[2Jb\u{fffd}]0;title\u{fffd}c\u{fffd}31md\u{fffd}]8;;http://x\u{fffd}\\e f"
        );
        assert!(matches!(inert("plain title"), Cow::Borrowed(_)));
    }

    #[test]
    fn truncates_with_an_ellipsis() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly10!", 10), "exactly10!");
        assert_eq!(truncate("a longer title", 8), "a longe…");
        assert_eq!(truncate("Ελλάδα σήμερα", 4), "Ελλ…");
    }

    #[test]
    fn relative_times_read_naturally() {
        let now = parse_time("2026-03-11T12:00:00Z").expect("time");
        let at = |s: &str| relative_time(parse_time(s).expect("time"), now);
        assert_eq!(at("2026-03-11T11:59:30Z"), "just now");
        assert_eq!(at("2026-03-11T11:15:00Z"), "45 min ago");
        assert_eq!(at("2026-03-11T09:00:00Z"), "3 h ago");
        assert_eq!(at("2026-03-08T12:00:00Z"), "3 days ago");
        assert_eq!(at("2026-03-11T14:00:00Z"), "in 2 h");
        assert_eq!(at("2025-12-01T00:00:00Z"), "2025-12-01");
    }
}
