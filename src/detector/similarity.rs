//! The verification step of the near-duplicate detector: the figures that
//! compare two entries' features, and the rule that decides from them.
//!
//! Candidates come from the index by shared words; this module decides.
//! Containment (how much of the shorter text the longer one holds) lets a
//! two-paragraph summary join the full article; the figures check keeps
//! templated briefs ("Shr 12 cts vs 10 cts") that differ only in names and
//! numbers apart.

use serde::Serialize;

use super::features::Features;
use super::GroupingConfig;

/// The figures that compare two entries.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Similarity {
    /// Hamming distance of the two 64-bit SimHash fingerprints.
    pub hamming: u32,
    /// Shared word pairs / word pairs of the shorter text.
    pub containment: f64,
    /// Shared word pairs / word pairs of either text (Jaccard).
    pub resemblance: f64,
    /// Shared title words / words of the shorter title.
    pub title: f64,
    /// Shared figures / figures of the text with fewer of them (1 when it has none).
    pub numbers: f64,
    /// Word pairs of the shorter text.
    pub shorter: usize,
    /// Seconds between the two entries' dates.
    pub gap_seconds: i64,
}

/// Why two entries were judged copies of one story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Near-identical text (SimHash distance within the threshold).
    NearIdentical,
    /// The shorter text is mostly contained in the longer one.
    Containment,
    /// Titles agree and the texts share enough.
    TitleAndText,
}

impl Rule {
    /// The value stored in `entries.match_rule`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::NearIdentical => "near_identical",
            Rule::Containment => "containment",
            Rule::TitleAndText => "title_and_text",
        }
    }
}

fn shared(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Computes the figures for two entries `gap_seconds` apart.
pub fn compare(a: &Features, b: &Features, gap_seconds: i64) -> Similarity {
    let common = shared(&a.shingles, &b.shingles);
    let shorter = a.shingles.len().min(b.shingles.len());
    let union = a.shingles.len() + b.shingles.len() - common;
    let title_common = shared(&a.title, &b.title);
    let numbers_den = a.numbers.len().min(b.numbers.len());
    Similarity {
        hamming: simhash::hamming_distance(a.simhash, b.simhash),
        containment: ratio(common, shorter),
        resemblance: ratio(common, union),
        title: ratio(title_common, a.title.len().min(b.title.len())),
        numbers: if numbers_den == 0 {
            1.0
        } else {
            ratio(shared(&a.numbers, &b.numbers), numbers_den)
        },
        shorter,
        gap_seconds: gap_seconds.abs(),
    }
}

/// Decides whether the figures make two entries copies of one story.
pub fn decide(s: &Similarity, t: &GroupingConfig) -> Option<Rule> {
    if s.shorter == 0 || s.numbers < t.numbers {
        return None;
    }
    let long_enough = s.shorter >= t.min_shingles;
    if long_enough && s.hamming <= t.hamming && s.containment >= t.containment {
        return Some(Rule::NearIdentical);
    }
    if long_enough && s.containment >= t.containment {
        return Some(Rule::Containment);
    }
    if s.title >= t.title && s.containment >= t.containment_with_title {
        return Some(Rule::TitleAndText);
    }
    None
}

/// A single figure to rank matching candidates by (higher is closer).
pub fn strength(s: &Similarity) -> f64 {
    s.containment + 0.5 * s.title + 0.25 * s.resemblance
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::features::extract;

    const FULL: &str = "Russian President Vladimir Putin is ready to end the war in Ukraine and negotiate a ceasefire that recognizes the current battle lines, four Russian sources told Reuters.\nThree of the sources said the veteran leader expressed frustration to a small group of advisers over what he sees as Western-backed attempts to derail negotiations.\nPutin's spokesman Dmitry Peskov said the Kremlin chief has repeatedly made clear that Russia is open to dialogue.";

    #[test]
    fn a_summary_is_contained_in_the_full_text() {
        let full = extract("Putin wants ceasefire on current lines", FULL);
        let lede = extract(
            "Exclusive: Putin ready for ceasefire",
            "Russian President Vladimir Putin is ready to end the war in Ukraine and negotiate a ceasefire that recognizes the current battle lines, four Russian sources told Reuters.",
        );
        let s = compare(&full, &lede, 3600);
        assert!(s.containment > 0.95, "{s:?}");
        assert!(s.resemblance < 0.6, "{s:?}");
        assert_eq!(decide(&s, &GroupingConfig::default()), Some(Rule::Containment));
    }

    #[test]
    fn templated_briefs_with_other_figures_stay_apart() {
        let a = extract("Acme Corp 1st Qtr Net", "Shr 12 cts vs 10 cts\nNet 1,200,000 vs 1,000,000\nRevs 9,500,000 vs 8,100,000");
        let b = extract("Basix Corp 1st Qtr Net", "Shr 15 cts vs nine cts\nNet 2,300,000 vs 1,900,000\nRevs 7,400,000 vs 6,600,000");
        let s = compare(&a, &b, 0);
        assert_eq!(decide(&s, &GroupingConfig::default()), None, "{s:?}");
    }

    #[test]
    fn recurring_title_with_other_figures_stays_apart() {
        let a = extract("U.K. money market shortage forecast", "The Bank of England said it forecast a shortage of around 500 mln stg in the money market today.");
        let b = extract("U.K. money market shortage forecast", "The Bank of England said it forecast a shortage of around 300 mln stg in the money market today.");
        let s = compare(&a, &b, 86_400);
        assert_eq!(decide(&s, &GroupingConfig::default()), None, "{s:?}");
    }

    #[test]
    fn unrelated_texts_do_not_match() {
        let a = extract("Gold", FULL);
        let b = extract("Wheat", "Italy's barley crop is generally in good condition and harvesting is expected to begin shortly, the board said.");
        assert_eq!(decide(&compare(&a, &b, 0), &GroupingConfig::default()), None);
    }
}
