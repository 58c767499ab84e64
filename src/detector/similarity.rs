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
    /// Shared word pairs / word pairs of the shorter text, each weighted by
    /// its rarity among the indexed entries.
    pub containment: f64,
    /// Shared word pairs / word pairs of either text (Jaccard).
    pub resemblance: f64,
    /// Shared title words / words of the shorter title, weighted by rarity.
    pub title: f64,
    /// How much of each text's lede the other text holds (the lower of the
    /// two): copies keep the lede, a story that quotes another does not.
    pub lede: f64,
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

/// How much a shared word pair or title word counts: rare ones (a company
/// name, a figure) weigh more than ones many entries carry ("qtr net",
/// "said on"), so templated texts do not look alike for their template.
pub trait Rarity {
    /// Weight of a word-pair hash.
    fn shingle(&self, key: u32) -> f64;
    /// Weight of a title-word hash.
    fn title(&self, key: u32) -> f64;
    /// No word pair weighs less than this (it bounds the figures before
    /// they are computed in full; 0 bounds nothing).
    fn shingle_floor(&self) -> f64 {
        0.0
    }
    /// No word pair weighs more than this.
    fn shingle_ceiling(&self) -> f64 {
        f64::INFINITY
    }
}

/// Every word counts the same.
pub struct Uniform;

impl Rarity for Uniform {
    fn shingle(&self, _: u32) -> f64 {
        1.0
    }
    fn title(&self, _: u32) -> f64 {
        1.0
    }
    fn shingle_floor(&self) -> f64 {
        1.0
    }
    fn shingle_ceiling(&self) -> f64 {
        1.0
    }
}

/// Counts of two sorted sets: (shared, only weights) and weighted sums.
struct Overlap {
    shared: usize,
    w_shared: f64,
    w_a: f64,
    w_b: f64,
}

fn overlap(a: &[u32], b: &[u32], weight: impl Fn(u32) -> f64) -> Overlap {
    overlap_by(a, b, |i| weight(a[i]), &weight)
}

/// [`overlap`] with `a`'s weights computed beforehand (once per query).
fn overlap_with(a: &[u32], wa: &[f64], b: &[u32], weight: impl Fn(u32) -> f64) -> Overlap {
    overlap_by(a, b, |i| wa.get(i).copied().unwrap_or(0.0), weight)
}

/// Merges two sorted key sets; `wa(i)` weighs `a[i]`, `wb(k)` weighs a key of `b`.
fn overlap_by(a: &[u32], b: &[u32], wa: impl Fn(usize) -> f64, wb: impl Fn(u32) -> f64) -> Overlap {
    let (mut i, mut j) = (0, 0);
    let mut o = Overlap {
        shared: 0,
        w_shared: 0.0,
        w_a: 0.0,
        w_b: 0.0,
    };
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                o.w_a += wa(i);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                o.w_b += wb(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let w = wa(i);
                o.shared += 1;
                o.w_shared += w;
                o.w_a += w;
                o.w_b += w;
                i += 1;
                j += 1;
            }
        }
    }
    o.w_a += (i..a.len()).map(&wa).sum::<f64>();
    o.w_b += b[j..].iter().map(|k| wb(*k)).sum::<f64>();
    o
}

fn ratio(num: f64, den: f64) -> f64 {
    if den <= 0.0 {
        0.0
    } else {
        (num / den).min(1.0)
    }
}

/// Whether a candidate that shares `shared_pairs` word pairs with `a` can
/// be dismissed without the weighted figures: its figures disagree (the
/// decision requires them), or it shares neither a word pair nor two title
/// words.
fn dismiss(a: &Features, b: &Features, shared_pairs: usize, t: &GroupingConfig) -> bool {
    let numbers_den = a.numbers.len().min(b.numbers.len());
    if numbers_den > 0
        && (overlap(&a.numbers, &b.numbers, |_| 1.0).shared as f64) < t.numbers * numbers_den as f64
    {
        return true;
    }
    shared_pairs == 0 && overlap(&a.title, &b.title, |_| 0.0).shared < 2
}

/// Share of `a`'s lede found anywhere in `b` (of as much lede as `b` could hold).
fn lede_in(a: &Features, b: &Features) -> f64 {
    let den = a.lede.len().min(b.shingles.len());
    ratio(
        overlap(&a.lede, &b.shingles, |_| 1.0).shared as f64,
        den as f64,
    )
}

/// A new entry's features with their rarity weights, computed once (when
/// a candidate first needs them) and compared with every candidate.
pub struct Query<'a> {
    features: &'a Features,
    weights: std::cell::OnceCell<Weights>,
}

struct Weights {
    shingles: Vec<f64>,
    shingle_total: f64,
    title: Vec<f64>,
}

impl<'a> Query<'a> {
    /// Weighs `features` by `rarity`.
    pub fn new(features: &'a Features, rarity: &impl Rarity) -> Query<'a> {
        let q = Query::lazy(features);
        q.weights(rarity);
        q
    }

    /// A query whose weights are computed when first needed.
    pub fn lazy(features: &'a Features) -> Query<'a> {
        Query {
            features,
            weights: std::cell::OnceCell::new(),
        }
    }

    fn weights(&self, rarity: &impl Rarity) -> &Weights {
        self.weights.get_or_init(|| {
            let shingles: Vec<f64> = self
                .features
                .shingles
                .iter()
                .map(|k| rarity.shingle(*k))
                .collect();
            Weights {
                shingle_total: shingles.iter().sum(),
                shingles,
                title: self
                    .features
                    .title
                    .iter()
                    .map(|k| rarity.title(*k))
                    .collect(),
            }
        })
    }
}

/// Decides whether a candidate is a copy of the query, with the figures
/// that decided; `None` if it is not. The same verdict as [`compare_query`]
/// then [`decide`], but a candidate that cannot reach the lowest
/// containment any rule needs is turned down early: first from how many
/// word pairs the texts share (every pair weighing between the rarity's
/// floor and ceiling), then from the weight of the shared pairs, before
/// the candidate's own pairs are weighed (the costly part: one frequency
/// lookup per pair).
pub fn verify(
    q: &Query<'_>,
    b: &Features,
    gap_seconds: i64,
    rarity: &impl Rarity,
    t: &GroupingConfig,
) -> Option<(Similarity, Rule)> {
    let a = q.features;
    let shared = overlap(&a.shingles, &b.shingles, |_| 0.0).shared;
    if dismiss(a, b, shared, t) {
        return None;
    }
    let lowest = t.containment.min(t.containment_with_title);
    let (floor, ceiling) = (rarity.shingle_floor(), rarity.shingle_ceiling());
    // Shared pairs weigh at most the ceiling; each text's other pairs at
    // least the floor; the ratio grows with the shared weight.
    let unshared = a.shingles.len().min(b.shingles.len()) - shared;
    let most = shared as f64 * ceiling;
    if most.is_finite() && ratio(most, most + unshared as f64 * floor) < lowest {
        return None;
    }
    let w = q.weights(rarity);
    let (mut i, mut j) = (0, 0);
    let mut w_shared = 0.0;
    while i < a.shingles.len() && j < b.shingles.len() {
        match a.shingles[i].cmp(&b.shingles[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                w_shared += w.shingles.get(i).copied().unwrap_or(0.0);
                i += 1;
                j += 1;
            }
        }
    }
    let w_b_floor = w_shared + (b.shingles.len() - shared) as f64 * floor;
    if ratio(w_shared, w.shingle_total.min(w_b_floor)) < lowest {
        return None;
    }
    let s = compare_query(q, b, gap_seconds, rarity);
    decide(&s, t).map(|rule| (s, rule))
}

/// Computes the figures for two entries `gap_seconds` apart, weighting
/// shared words by `rarity`.
pub fn compare(a: &Features, b: &Features, gap_seconds: i64, rarity: &impl Rarity) -> Similarity {
    compare_query(&Query::new(a, rarity), b, gap_seconds, rarity)
}

/// [`compare`] for a prepared query.
pub fn compare_query(
    q: &Query<'_>,
    b: &Features,
    gap_seconds: i64,
    rarity: &impl Rarity,
) -> Similarity {
    let a = q.features;
    let w = q.weights(rarity);
    let body = overlap_with(&a.shingles, &w.shingles, &b.shingles, |k| rarity.shingle(k));
    let union = a.shingles.len() + b.shingles.len() - body.shared;
    let title = overlap_with(&a.title, &w.title, &b.title, |k| rarity.title(k));
    let numbers = overlap(&a.numbers, &b.numbers, |_| 1.0);
    let numbers_den = a.numbers.len().min(b.numbers.len());
    Similarity {
        hamming: simhash::hamming_distance(a.simhash, b.simhash),
        containment: ratio(body.w_shared, body.w_a.min(body.w_b)),
        resemblance: ratio(body.shared as f64, union as f64),
        title: ratio(title.w_shared, title.w_a.min(title.w_b)),
        numbers: if numbers_den == 0 {
            1.0
        } else {
            ratio(numbers.shared as f64, numbers_den as f64)
        },
        lede: lede_in(a, b).min(lede_in(b, a)),
        shorter: a.shingles.len().min(b.shingles.len()),
        gap_seconds: gap_seconds.abs(),
    }
}

/// Decides whether the figures make two entries copies of one story.
pub fn decide(s: &Similarity, t: &GroupingConfig) -> Option<Rule> {
    if s.shorter == 0 || s.numbers < t.numbers {
        return None;
    }
    // Containment measured on few word pairs is noisy: the shorter the
    // text, the more of it must be found (all of it at `min_shingles`,
    // approaching `containment` as texts grow).
    let long_enough = s.shorter >= t.min_shingles;
    let needed = t.containment
        + (1.0 - t.containment) * t.min_shingles as f64 / s.shorter.max(1) as f64 / 2.0;
    if long_enough && s.lede >= t.lede && s.containment >= needed.min(1.0) {
        if s.hamming <= t.hamming {
            return Some(Rule::NearIdentical);
        }
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
        let s = compare(&full, &lede, 3600, &Uniform);
        assert!(s.containment > 0.95, "{s:?}");
        assert!(s.resemblance < 0.6, "{s:?}");
        assert_eq!(
            decide(&s, &GroupingConfig::default()),
            Some(Rule::Containment)
        );
    }

    #[test]
    fn templated_briefs_with_other_figures_stay_apart() {
        let a = extract(
            "Acme Corp 1st Qtr Net",
            "Shr 12 cts vs 10 cts\nNet 1,200,000 vs 1,000,000\nRevs 9,500,000 vs 8,100,000",
        );
        let b = extract(
            "Basix Corp 1st Qtr Net",
            "Shr 15 cts vs nine cts\nNet 2,300,000 vs 1,900,000\nRevs 7,400,000 vs 6,600,000",
        );
        let s = compare(&a, &b, 0, &Uniform);
        assert_eq!(decide(&s, &GroupingConfig::default()), None, "{s:?}");
    }

    #[test]
    fn recurring_title_with_other_figures_stays_apart() {
        let a = extract("U.K. money market shortage forecast", "The Bank of England said it forecast a shortage of around 500 mln stg in the money market today.");
        let b = extract("U.K. money market shortage forecast", "The Bank of England said it forecast a shortage of around 300 mln stg in the money market today.");
        let s = compare(&a, &b, 86_400, &Uniform);
        assert_eq!(decide(&s, &GroupingConfig::default()), None, "{s:?}");
    }

    #[test]
    fn unrelated_texts_do_not_match() {
        let a = extract("Gold", FULL);
        let b = extract("Wheat", "Italy's barley crop is generally in good condition and harvesting is expected to begin shortly, the board said.");
        assert_eq!(
            decide(&compare(&a, &b, 0, &Uniform), &GroupingConfig::default()),
            None
        );
    }
}
