//! Grouping evaluation against a labelled corpus (`feedfold eval`).
//!
//! A corpus directory holds `files.txt` (the feed files to ingest, in
//! order) and `truth.tsv` (`guid  link  story  outlet  transform`, and
//! optionally an `event` column named by a `# guid ... event` header). The
//! evaluation ingests the files into a fresh store through the ordinary
//! pipeline, matches truth rows to stored entries (by guid, else by link
//! without its query), and scores the stories: pairwise and B-cubed
//! precision/recall/F1 (the figures `shared/tools/score-groups` prints),
//! plus a breakdown by the truth's `transform` column and the list of
//! wrong merges and missed copies; and, when the truth labels events, the
//! events (`stories.event_id`) the same way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Why a corpus could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A corpus file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line of `truth.tsv` is malformed.
    #[error("{path}:{line}: expected 'guid<TAB>link<TAB>story[<TAB>outlet<TAB>transform]'")]
    Truth {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
}

/// One labelled entry of `truth.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthRow {
    /// The id the document gives the entry.
    pub guid: String,
    /// The entry's link as published.
    pub link: String,
    /// The story label: same label, same story.
    pub story: String,
    /// The outlet (may be empty).
    pub outlet: String,
    /// How the copy was made (may be empty).
    pub transform: String,
    /// The event label, when the truth has an `event` column.
    pub event: Option<String>,
}

/// A labelled corpus.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Feed files, in ingest order, as paths usable from the working directory.
    pub files: Vec<PathBuf>,
    /// The labels.
    pub truth: Vec<TruthRow>,
}

fn read(path: &Path) -> Result<String, EvalError> {
    std::fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: path.to_path_buf(),
        source,
    })
}

impl Corpus {
    /// Reads `files.txt` and `truth.tsv` from a corpus directory.
    pub fn load(dir: &Path) -> Result<Corpus, EvalError> {
        let files_path = dir.join("files.txt");
        let files = read(&files_path)?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| dir.join(l))
            .collect();
        let truth_path = dir.join("truth.tsv");
        let mut truth = Vec::new();
        let mut event_column = None;
        for (n, line) in read(&truth_path)?.lines().enumerate() {
            if let Some(header) = line.strip_prefix('#') {
                // "# guid<TAB>link<TAB>story<TAB>...<TAB>event" names the columns.
                if n == 0 {
                    event_column = header.split('\t').position(|c| c.trim() == "event");
                }
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 3 {
                return Err(EvalError::Truth {
                    path: truth_path,
                    line: n + 1,
                });
            }
            truth.push(TruthRow {
                guid: cols[0].to_string(),
                link: cols[1].to_string(),
                story: cols[2].to_string(),
                outlet: cols.get(3).unwrap_or(&"").to_string(),
                transform: cols.get(4).unwrap_or(&"").to_string(),
                event: event_column
                    .and_then(|i| cols.get(i))
                    .map(|e| e.to_string())
                    .filter(|e| !e.is_empty()),
            });
        }
        Ok(Corpus { files, truth })
    }
}

/// A link without query, fragment or trailing slash (how truth rows are
/// matched to stored entries when guids differ).
pub fn strip_query(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].trim_end_matches('/')
}

/// A stored entry, as the evaluation sees it.
#[derive(Debug, Clone)]
pub struct Predicted {
    /// `entries.id`.
    pub id: i64,
    /// `entries.guid`.
    pub guid: String,
    /// `entries.url`.
    pub url: Option<String>,
    /// `entries.story_id`.
    pub story_id: i64,
    /// `stories.event_id` of its story.
    pub event_id: i64,
    /// `entries.title`.
    pub title: String,
}

/// Precision, recall and F1.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Prf {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
}

impl Prf {
    fn new(precision: f64, recall: f64) -> Prf {
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Prf {
            precision,
            recall,
            f1,
        }
    }
}

/// Figures for the entries of one transform.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TransformScore {
    /// The truth's transform value.
    pub transform: String,
    /// Entries with it.
    pub entries: usize,
    /// Mean B-cubed precision and recall over those entries.
    pub bcubed: Prf,
    /// Entries that should have joined a story but stand alone or apart.
    pub missed: usize,
    /// Entries placed with at least one entry of another story.
    pub wrongly_merged: usize,
}

/// An entry placed with entries of another story, or kept from its own.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Mistake {
    /// `entries.id` (0 if the entry is not in the store).
    pub entry_id: i64,
    /// The truth's story label.
    pub story: String,
    /// The truth's transform.
    pub transform: String,
    /// The entry's title.
    pub title: String,
    /// The stored story it is in.
    pub story_id: i64,
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scores {
    /// Labelled entries.
    pub entries: usize,
    /// Distinct true stories.
    pub true_stories: usize,
    /// Distinct predicted stories among the labelled entries.
    pub predicted_stories: usize,
    /// Labelled entries not found in the store.
    pub missing: usize,
    /// Over pairs of entries placed in one story.
    pub pairs: Prf,
    /// B-cubed (per entry, averaged).
    pub bcubed: Prf,
    /// Breakdown by transform.
    pub by_transform: Vec<TransformScore>,
    /// Entries merged with another story's entries.
    pub wrong_merges: Vec<Mistake>,
    /// Entries kept apart from their story.
    pub missed_copies: Vec<Mistake>,
    /// The events, when the truth labels them.
    pub events: Option<EventScores>,
}

/// How the events (groups of stories about one happening) score.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventScores {
    /// Distinct true events.
    pub true_events: usize,
    /// Distinct predicted events among the labelled entries.
    pub predicted_events: usize,
    /// Over pairs of entries placed in one event.
    pub pairs: Prf,
    /// B-cubed (per entry, averaged).
    pub bcubed: Prf,
}

/// Pairwise and B-cubed figures of a grouping against labels (one label
/// and one predicted group per entry), and the B-cubed precision and
/// recall of each entry.
struct Grouped {
    pairs: Prf,
    bcubed: Prf,
    per_entry: Vec<(f64, f64)>,
    true_groups: usize,
    predicted_groups: usize,
}

fn grouped(labels: &[&str], groups: &[i64]) -> Grouped {
    let mut cells: HashMap<(&str, i64), usize> = HashMap::new();
    let mut true_sizes: HashMap<&str, usize> = HashMap::new();
    let mut pred_sizes: HashMap<i64, usize> = HashMap::new();
    for (label, group) in labels.iter().zip(groups) {
        *cells.entry((label, *group)).or_default() += 1;
        *true_sizes.entry(label).or_default() += 1;
        *pred_sizes.entry(*group).or_default() += 1;
    }
    let tp: u64 = cells.values().map(|n| pairs(*n)).sum();
    let pred_pairs: u64 = pred_sizes.values().map(|n| pairs(*n)).sum();
    let true_pairs: u64 = true_sizes.values().map(|n| pairs(*n)).sum();
    let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let per_entry: Vec<(f64, f64)> = labels
        .iter()
        .zip(groups)
        .map(|(label, group)| {
            let cell = cells[&(*label, *group)] as f64;
            (
                cell / pred_sizes[group] as f64,
                cell / true_sizes[label] as f64,
            )
        })
        .collect();
    let n = labels.len().max(1) as f64;
    let (bp, br) = per_entry
        .iter()
        .fold((0.0, 0.0), |(p, r), (ep, er)| (p + ep, r + er));
    Grouped {
        pairs: Prf::new(ratio(tp, pred_pairs), ratio(tp, true_pairs)),
        bcubed: Prf::new(bp / n, br / n),
        per_entry,
        true_groups: true_sizes.len(),
        predicted_groups: pred_sizes.len(),
    }
}

fn pairs(n: usize) -> u64 {
    (n as u64) * (n as u64).saturating_sub(1) / 2
}

/// Scores stored entries against the truth.
pub fn score(truth: &[TruthRow], stored: &[Predicted]) -> Scores {
    let by_guid: HashMap<&str, &Predicted> = stored.iter().map(|p| (p.guid.as_str(), p)).collect();
    let by_link: HashMap<&str, &Predicted> = stored
        .iter()
        .filter_map(|p| p.url.as_deref().map(|u| (strip_query(u), p)))
        .collect();
    // For each truth row: its predicted story (a unique negative id if missing).
    let mut missing = 0;
    let placed: Vec<(i64, Option<&Predicted>)> = truth
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let p = by_guid
                .get(t.guid.as_str())
                .or_else(|| by_link.get(strip_query(&t.link)))
                .copied();
            match p {
                Some(p) => (p.story_id, Some(p)),
                None => {
                    missing += 1;
                    (-(i as i64) - 1, None)
                }
            }
        })
        .collect();
    let labels: Vec<&str> = truth.iter().map(|t| t.story.as_str()).collect();
    let stories: Vec<i64> = placed.iter().map(|(story, _)| *story).collect();
    let story_level = grouped(&labels, &stories);
    let events = truth.iter().all(|t| t.event.is_some()).then(|| {
        let labels: Vec<&str> = truth
            .iter()
            .map(|t| t.event.as_deref().unwrap_or(""))
            .collect();
        // A missing entry is an event of its own, as it is a story of its own.
        let groups: Vec<i64> = placed
            .iter()
            .map(|(story, p)| p.map_or(*story, |p| p.event_id))
            .collect();
        let g = grouped(&labels, &groups);
        EventScores {
            true_events: g.true_groups,
            predicted_events: g.predicted_groups,
            pairs: g.pairs,
            bcubed: g.bcubed,
        }
    });

    let mut by_transform: HashMap<&str, (usize, f64, f64, usize, usize)> = HashMap::new();
    let mut wrong_merges = Vec::new();
    let mut missed_copies = Vec::new();
    for ((t, (story, p)), (bp, br)) in truth.iter().zip(&placed).zip(&story_level.per_entry) {
        let (bp, br) = (*bp, *br);
        let slot = by_transform.entry(t.transform.as_str()).or_default();
        slot.0 += 1;
        slot.1 += bp;
        slot.2 += br;
        let mistake = || Mistake {
            entry_id: p.map_or(0, |p| p.id),
            story: t.story.clone(),
            transform: t.transform.clone(),
            title: p.map(|p| p.title.clone()).unwrap_or_default(),
            story_id: *story,
        };
        if br < 1.0 {
            slot.3 += 1;
            missed_copies.push(mistake());
        }
        if bp < 1.0 {
            slot.4 += 1;
            wrong_merges.push(mistake());
        }
    }
    let mut by_transform: Vec<TransformScore> = by_transform
        .into_iter()
        .map(
            |(transform, (entries, bp, br, missed, wrong))| TransformScore {
                transform: transform.to_string(),
                entries,
                bcubed: Prf::new(bp / entries as f64, br / entries as f64),
                missed,
                wrongly_merged: wrong,
            },
        )
        .collect();
    by_transform.sort_by(|a, b| a.transform.cmp(&b.transform));
    wrong_merges.sort_by(|a, b| (a.story_id, &a.story).cmp(&(b.story_id, &b.story)));
    missed_copies.sort_by(|a, b| (&a.story, a.story_id).cmp(&(&b.story, b.story_id)));
    Scores {
        entries: truth.len(),
        true_stories: story_level.true_groups,
        predicted_stories: story_level.predicted_groups,
        missing,
        pairs: story_level.pairs,
        bcubed: story_level.bcubed,
        by_transform,
        wrong_merges,
        missed_copies,
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(guid: &str, story: &str, transform: &str) -> TruthRow {
        TruthRow {
            guid: guid.into(),
            link: format!("https://x.org/{guid}?utm_source=rss"),
            story: story.into(),
            outlet: String::new(),
            transform: transform.into(),
            event: None,
        }
    }

    fn stored(id: i64, guid: &str, story_id: i64) -> Predicted {
        Predicted {
            id,
            guid: guid.into(),
            url: None,
            story_id,
            event_id: story_id,
            title: guid.into(),
        }
    }

    #[test]
    fn perfect_grouping_scores_one() {
        let truth = [
            row("a", "s1", "original"),
            row("b", "s1", "lede"),
            row("c", "s2", "original"),
        ];
        let s = score(
            &truth,
            &[stored(1, "a", 10), stored(2, "b", 10), stored(3, "c", 11)],
        );
        assert_eq!(
            s.pairs,
            Prf {
                precision: 1.0,
                recall: 1.0,
                f1: 1.0
            }
        );
        assert_eq!(s.bcubed.f1, 1.0);
        assert!(s.wrong_merges.is_empty() && s.missed_copies.is_empty());
    }

    #[test]
    fn merges_and_misses_are_counted_like_score_groups() {
        // truth: {a,b,c} {d}; predicted: {a,b} {c,d}
        let truth = [
            row("a", "s1", "o"),
            row("b", "s1", "x"),
            row("c", "s1", "y"),
            row("d", "s2", "o"),
        ];
        let s = score(
            &truth,
            &[
                stored(1, "a", 1),
                stored(2, "b", 1),
                stored(3, "c", 2),
                stored(4, "d", 2),
            ],
        );
        // pairs: predicted {ab, cd}, true {ab, ac, bc}: tp = 1
        assert_eq!(s.pairs.precision, 0.5);
        assert!((s.pairs.recall - 1.0 / 3.0).abs() < 1e-9);
        // B-cubed precision: a 1, b 1, c 1/2, d 1/2 -> 0.75; recall: a 2/3, b 2/3, c 1/3, d 1 -> 2/3
        assert!((s.bcubed.precision - 0.75).abs() < 1e-9);
        assert!((s.bcubed.recall - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.wrong_merges.len(), 2);
        assert_eq!(s.missed_copies.len(), 3);
        let y = s
            .by_transform
            .iter()
            .find(|t| t.transform == "y")
            .expect("y");
        assert_eq!((y.entries, y.missed, y.wrongly_merged), (1, 1, 1));
    }

    #[test]
    fn entries_match_by_link_without_query_and_missing_ones_are_singletons() {
        let truth = [row("a", "s1", "o"), row("b", "s1", "o")];
        let mut p = stored(1, "other-guid", 5);
        p.url = Some("https://x.org/a?utm_medium=feed".into());
        let s = score(&truth, &[p]);
        assert_eq!(s.missing, 1);
        assert_eq!(s.pairs.recall, 0.0);
        assert_eq!(s.predicted_stories, 2);
    }

    #[test]
    fn events_are_scored_from_the_stories_events() {
        // truth events: {a,b,c} {d}; stories {a,b} {c} {d}; events {a,b,c,d}
        let mut truth = vec![
            row("a", "s1", "o"),
            row("b", "s1", "o"),
            row("c", "s2", "o"),
            row("d", "s3", "o"),
        ];
        for (t, e) in truth.iter_mut().zip(["e1", "e1", "e1", "e2"]) {
            t.event = Some(e.into());
        }
        let mut p = vec![
            stored(1, "a", 1),
            stored(2, "b", 1),
            stored(3, "c", 2),
            stored(4, "d", 3),
        ];
        for x in &mut p {
            x.event_id = 9;
        }
        let s = score(&truth, &p);
        let e = s.events.expect("events scored");
        assert_eq!((e.true_events, e.predicted_events), (2, 1));
        assert_eq!(e.pairs.recall, 1.0);
        assert!((e.pairs.precision - 0.5).abs() < 1e-9, "3 of 6 pairs");
        assert_eq!(s.bcubed.precision, 1.0, "stories stay as they were");
    }

    #[test]
    fn the_event_column_is_found_by_its_header() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("files.txt"), "a.xml\n").expect("write");
        std::fs::write(
            dir.path().join("truth.tsv"),
            "# guid\tlink\tstory\toutlet\ttransform\tevent\tnote\ng1\thttp://x/1\ts1\to\treal\tev:1\t\n",
        )
        .expect("write");
        let c = Corpus::load(dir.path()).expect("loads");
        assert_eq!(c.truth[0].event.as_deref(), Some("ev:1"));
    }

    #[test]
    fn corpus_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("files.txt"), "a.xml\n").expect("write");
        std::fs::write(dir.path().join("truth.tsv"), "# header\nonly-one-column\n").expect("write");
        let err = Corpus::load(dir.path()).expect_err("bad truth");
        assert!(err.to_string().contains("truth.tsv:2"), "{err}");
    }
}
