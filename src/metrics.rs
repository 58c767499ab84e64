//! The daemon's counters, in one process-wide registry of atomics, and the
//! Prometheus text format (version 0.0.4) that `/metrics` serves them in.
//!
//! Recording is one relaxed atomic add (a histogram: two adds and a
//! bucket's), so the stages call it inline: the fetch in
//! `pipeline::read`, each poll's outcome in `pipeline::poll`, the writer's
//! queue and batches in the store's actor, the scheduler's busy periods in
//! `scheduler::runner`. What a scrape reads from the store itself (feeds by
//! state, the file's size) is added by the server when it renders
//! ([`Exposition`]). Nothing here does I/O, and it uses no other module
//! (layer 0), so any stage may record.
//!
//! The counters count from the process's start; only the process that
//! polls (`feedfold run`) records them, and a separate `feedfold serve`
//! leaves them out.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// A counter at zero.
    pub const fn new() -> Counter {
        Counter(AtomicU64::new(0))
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (an integer).
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    /// A gauge at zero.
    pub const fn new() -> Gauge {
        Gauge(AtomicU64::new(0))
    }

    /// Sets the value.
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// The value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds (seconds) of the latency histograms' buckets.
pub const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A latency histogram with the [`BUCKETS`] bounds (counts per bucket,
/// not cumulative; the sum in microseconds).
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub const fn new() -> Histogram {
        Histogram {
            buckets: [const { AtomicU64::new(0) }; BUCKETS.len()],
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// How many observations.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// What a poll of a subscribed feed came to (the `outcome` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    /// 200: a document, stored.
    Modified,
    /// 304 Not Modified.
    NotModified,
    /// Any failure: network, status, parse, rate limit or storing.
    Error,
    /// 410 Gone.
    Gone,
}

impl PollOutcome {
    const ALL: [PollOutcome; 4] = [
        PollOutcome::Modified,
        PollOutcome::NotModified,
        PollOutcome::Error,
        PollOutcome::Gone,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            PollOutcome::Modified => "200",
            PollOutcome::NotModified => "304",
            PollOutcome::Error => "error",
            PollOutcome::Gone => "gone",
        }
    }
}

/// Every counter of the process.
#[derive(Debug)]
pub struct Registry {
    polls: [Counter; 4],
    /// Time of each fetch, from the request to the whole body (or the error).
    pub fetch_seconds: Histogram,
    /// Bytes of the documents fetched (after decompression).
    pub fetched_bytes: Counter,
    /// New entries stored.
    pub entries_stored: Counter,
    /// Stored entries whose content changed.
    pub entries_updated: Counter,
    /// New entries that joined an existing story.
    pub entries_joined: Counter,
    /// Stories created (new entries that started one).
    pub stories_created: Counter,
    /// Events created (new stories that started one).
    pub events_created: Counter,
    /// Article fetches stored: text stored, failed to be tried again,
    /// failed for good.
    articles: [Counter; 3],
    /// Entries placed again with their article's text.
    pub entries_placed_again: Counter,
    /// Commands waiting for the writer, as of its last command.
    pub writer_queue: Gauge,
    /// Features of indexed entries read back from the store.
    pub window_features_read: Counter,
    /// Indexed entries whose features are in memory.
    pub window_features_in_memory: Gauge,
    /// Time of each writer batch (one transaction of documents).
    pub writer_batch_seconds: Histogram,
    /// Duration of the scheduler's last busy period (µs).
    last_cycle_micros: Gauge,
    /// Completed busy periods.
    cycles: Counter,
    cycle_started: Mutex<Option<Instant>>,
}

/// The process's registry.
pub static METRICS: Registry = Registry {
    polls: [const { Counter::new() }; 4],
    fetch_seconds: Histogram::new(),
    fetched_bytes: Counter::new(),
    entries_stored: Counter::new(),
    entries_updated: Counter::new(),
    entries_joined: Counter::new(),
    stories_created: Counter::new(),
    events_created: Counter::new(),
    articles: [const { Counter::new() }; 3],
    entries_placed_again: Counter::new(),
    writer_queue: Gauge::new(),
    window_features_read: Counter::new(),
    window_features_in_memory: Gauge::new(),
    writer_batch_seconds: Histogram::new(),
    last_cycle_micros: Gauge::new(),
    cycles: Counter::new(),
    cycle_started: Mutex::new(None),
};

/// A fetch finished after `elapsed`, bringing `bytes` (0 for a 304 or an error).
pub fn fetched(elapsed: Duration, bytes: usize) {
    METRICS.fetch_seconds.observe(elapsed);
    METRICS.fetched_bytes.add(bytes as u64);
}

/// A poll was recorded; `new`, `updated`, `joined` and `new_events` are
/// what storing its document did (zeros without one).
pub fn poll_recorded(
    outcome: PollOutcome,
    new: usize,
    updated: usize,
    joined: usize,
    new_events: usize,
) {
    let i = PollOutcome::ALL
        .iter()
        .position(|&o| o == outcome)
        .unwrap_or(0);
    METRICS.polls[i].add(1);
    METRICS.entries_stored.add(new as u64);
    METRICS.entries_updated.add(updated as u64);
    METRICS.entries_joined.add(joined as u64);
    METRICS
        .stories_created
        .add(new.saturating_sub(joined) as u64);
    METRICS.events_created.add(new_events as u64);
}

/// The outcomes of article fetches the writer stored: `fetched` texts,
/// `retrying` failures to be tried again, `failed` failures for good, and
/// the entries `placed_again` with their article's text.
pub fn articles_stored(fetched: usize, retrying: usize, failed: usize, placed_again: usize) {
    for (counter, n) in METRICS.articles.iter().zip([fetched, retrying, failed]) {
        counter.add(n as u64);
    }
    METRICS.entries_placed_again.add(placed_again as u64);
}

/// The label values of the article outcomes, in the order of
/// `Registry::articles`.
const ARTICLE_OUTCOMES: [&str; 3] = ["fetched", "retrying", "failed"];

/// The scheduler started a poll while none was under way: a busy period
/// (a "cycle": the polls that came due together) begins.
pub fn cycle_started() {
    if let Ok(mut started) = METRICS.cycle_started.lock() {
        started.get_or_insert_with(Instant::now);
    }
}

/// The scheduler's last poll under way finished: the busy period ends.
pub fn cycle_finished() {
    if let Ok(mut started) = METRICS.cycle_started.lock() {
        if let Some(t) = started.take() {
            METRICS
                .last_cycle_micros
                .set(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
            METRICS.cycles.add(1);
        }
    }
}

/// Builds a Prometheus text-format exposition: one `# HELP` and `# TYPE`
/// line per family, then its samples. Names get the `feedfold_` prefix.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

/// Escapes a label value (backslash, double quote, line feed).
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Escapes HELP text (backslash, line feed).
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A float as Prometheus writes it.
fn number(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else if v.is_nan() {
        "NaN".to_string()
    } else {
        format!("{v}")
    }
}

impl Exposition {
    /// An empty exposition.
    pub fn new() -> Exposition {
        Exposition::default()
    }

    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP feedfold_{name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE feedfold_{name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let _ = write!(self.out, "feedfold_{name}");
        if !labels.is_empty() {
            let inner: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = write!(self.out, "{{{}}}", inner.join(","));
        }
        let _ = writeln!(self.out, " {}", number(value));
    }

    /// A counter family (`name` without `_total`, which is added) with one
    /// sample per label set.
    pub fn counter(&mut self, name: &str, help: &str, samples: &[(&[(&str, &str)], u64)]) {
        self.family(&format!("{name}_total"), "counter", help);
        for (labels, v) in samples {
            self.sample(&format!("{name}_total"), labels, *v as f64);
        }
    }

    /// A gauge family with one sample per label set.
    pub fn gauge(&mut self, name: &str, help: &str, samples: &[(&[(&str, &str)], f64)]) {
        self.family(name, "gauge", help);
        for (labels, v) in samples {
            self.sample(name, labels, *v);
        }
    }

    /// A histogram family (cumulative buckets, sum in seconds, count).
    pub fn histogram(&mut self, name: &str, help: &str, h: &Histogram) {
        self.family(name, "histogram", help);
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(&h.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let le = number(*bound);
            self.sample(
                &format!("{name}_bucket"),
                &[("le", le.as_str())],
                cumulative as f64,
            );
        }
        let count = h.count.load(Ordering::Relaxed);
        self.sample(&format!("{name}_bucket"), &[("le", "+Inf")], count as f64);
        self.sample(
            &format!("{name}_sum"),
            &[],
            h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        );
        self.sample(&format!("{name}_count"), &[], count as f64);
    }

    /// Adds the registry's families: polls, fetches, entries, stories,
    /// events, the writer and the scheduler.
    pub fn registry(&mut self, m: &Registry) {
        let polls: Vec<(&[(&str, &str)], u64)> = PollOutcome::ALL
            .iter()
            .zip(&m.polls)
            .map(|(o, c)| (outcome_label(*o), c.get()))
            .collect();
        self.counter(
            "polls",
            "Polls of subscribed feeds, by outcome (200, 304, error, gone).",
            &polls,
        );
        self.histogram(
            "fetch_duration_seconds",
            "Time of each fetch, from the request to the whole body or the error.",
            &m.fetch_seconds,
        );
        self.counter(
            "fetched_bytes",
            "Bytes of the documents fetched, after decompression.",
            &[(&[], m.fetched_bytes.get())],
        );
        self.counter(
            "entries_stored",
            "New entries stored.",
            &[(&[], m.entries_stored.get())],
        );
        self.counter(
            "entries_updated",
            "Stored entries whose content changed.",
            &[(&[], m.entries_updated.get())],
        );
        self.counter(
            "entries_joined",
            "New entries that joined an existing story.",
            &[(&[], m.entries_joined.get())],
        );
        self.counter(
            "stories_created",
            "Stories created (new entries that started a story).",
            &[(&[], m.stories_created.get())],
        );
        self.counter(
            "events_created",
            "Events created (new stories that started an event).",
            &[(&[], m.events_created.get())],
        );
        let articles: Vec<(&[(&str, &str)], u64)> = ARTICLE_LABELS
            .iter()
            .zip(&m.articles)
            .map(|(l, c)| (*l, c.get()))
            .collect();
        self.counter(
            "articles",
            "Article fetches of summary-only entries, stored by outcome (fetched, retrying, failed).",
            &articles,
        );
        self.counter(
            "entries_placed_again",
            "Entries placed again (story and event) with their article's text.",
            &[(&[], m.entries_placed_again.get())],
        );
        self.gauge(
            "writer_queue_depth",
            "Commands waiting for the store's writer, as of its last command.",
            &[(&[], m.writer_queue.get() as f64)],
        );
        self.counter(
            "window_features_read",
            "Features of entries in the grouping window read back from the store (not in memory).",
            &[(&[], m.window_features_read.get())],
        );
        self.gauge(
            "window_features_in_memory",
            "Entries of the grouping window whose features are in memory (cached, or not committed yet).",
            &[(&[], m.window_features_in_memory.get() as f64)],
        );
        self.histogram(
            "writer_batch_duration_seconds",
            "Time of each writer batch: the documents stored in one transaction.",
            &m.writer_batch_seconds,
        );
        self.gauge(
            "last_cycle_duration_seconds",
            "Duration of the scheduler's last cycle: from a poll started while none was under way to the moment none is.",
            &[(&[], m.last_cycle_micros.get() as f64 / 1e6)],
        );
        self.counter(
            "cycles",
            "Cycles the scheduler completed.",
            &[(&[], m.cycles.get())],
        );
    }

    /// The text, ending with a line feed.
    pub fn finish(self) -> String {
        self.out
    }
}

/// [`ARTICLE_OUTCOMES`] as label sets.
const ARTICLE_LABELS: [&[(&str, &str)]; 3] = [
    &[("outcome", ARTICLE_OUTCOMES[0])],
    &[("outcome", ARTICLE_OUTCOMES[1])],
    &[("outcome", ARTICLE_OUTCOMES[2])],
];

fn outcome_label(o: PollOutcome) -> &'static [(&'static str, &'static str)] {
    match o {
        PollOutcome::Modified => &[("outcome", "200")],
        PollOutcome::NotModified => &[("outcome", "304")],
        PollOutcome::Error => &[("outcome", "error")],
        PollOutcome::Gone => &[("outcome", "gone")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_inf() {
        let h = Histogram::new();
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(70));
        h.observe(Duration::from_secs(60));
        let mut e = Exposition::new();
        e.histogram("x_seconds", "X.", &h);
        let text = e.finish();
        assert!(
            text.contains("feedfold_x_seconds_bucket{le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("feedfold_x_seconds_bucket{le=\"0.1\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("feedfold_x_seconds_bucket{le=\"30\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("feedfold_x_seconds_bucket{le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("feedfold_x_seconds_count 3\n"), "{text}");
        assert!(text.contains("feedfold_x_seconds_sum 60.073\n"), "{text}");
    }

    #[test]
    fn labels_and_help_are_escaped() {
        let mut e = Exposition::new();
        e.gauge("g", "a \\ b\nc", &[(&[("k", "x\"y\\z\nw")], 1.5)]);
        assert_eq!(
            e.finish(),
            "# HELP feedfold_g a \\\\ b\\nc\n# TYPE feedfold_g gauge\nfeedfold_g{k=\"x\\\"y\\\\z\\nw\"} 1.5\n"
        );
    }

    #[test]
    fn outcome_labels_match_the_documented_ones() {
        for o in PollOutcome::ALL {
            assert_eq!(outcome_label(o)[0].1, o.label());
        }
    }
}
