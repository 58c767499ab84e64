//! The verification step of the near-duplicate detector: the figures that
//! compare two entries' features, and the rules that decide from them
//! whether they are copies of one written source.
//!
//! Candidates come from the index by shared words; this module decides.
//! Every rule answers a way copies really differ, and a way independent
//! write-ups really look alike:
//! - Copies keep the writer's own sentences: *containment* of the shorter
//!   text's narrative shingles (word triples outside quotation marks,
//!   weighted by rarity) in the other decides. Two outlets quoting one
//!   statement or tweet share the quotation, not the narrative around it.
//! - A write-through rewrites the lede and adds paragraphs, so a moderate
//!   containment is a copy when the headlines agree or the shorter text's
//!   sentences each have a reworded counterpart (*alignment*), and the two
//!   ledes name the same people and places (*names*). Headline agreement
//!   is never enough on its own.
//! - Updated figures ("25 hurt" → "27 hurt") do not split a story; but a
//!   figures report (results, tallies, templated earnings briefs) with
//!   other figures is another report on the same template.
//! - An outlet publishes a story once: two of its entries are copies only
//!   when they are the same article (the same canonical link).
//! - An entry with no usable text (a title, a banner) is judged by its link
//!   (the same article), or, for a brief of a line or two, by its headline
//!   and its line contained whole in the other text.

use serde::Serialize;

use super::features::FeatureView;
use super::GroupingConfig;

/// Fewer narrative shingles than this in the shorter text: it has no
/// usable text, and only the brief and same-link rules apply.
pub const MIN_TEXT_SHINGLES: usize = 6;

/// The shorter text has fewer narrative shingles than this: a short text,
/// held to stricter containment.
pub const SHORT_SHINGLES: usize = 30;

/// The weighted word Jaccard at which two sentences are one, reworded.
const SENTENCE_JACCARD: f64 = 0.4;

/// Figures per word from which a text is a figures report.
pub const FIGURES_DENSE: f64 = 0.15;

/// The share of a figures report's figures another report of the same
/// happening carries.
pub const FIGURES_SHARE: f64 = 0.5;

/// The figures that compare two entries.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Default)]
pub struct Similarity {
    /// Hamming distance of the two 64-bit SimHash fingerprints.
    pub hamming: u32,
    /// Shared narrative shingles / narrative shingles of the shorter text,
    /// each weighted by its rarity among the indexed entries.
    pub containment: f64,
    /// Shared narrative shingles / narrative shingles of either text (Jaccard).
    pub resemblance: f64,
    /// Shared headline words / words of the shorter headline, weighted by
    /// rarity (0 when a headline has fewer than two words).
    pub title: f64,
    /// How much of each lede's names the other text carries (the lower).
    pub names: f64,
    /// Shared figures / figures of the text with fewer of them (1 when it has none).
    pub numbers: f64,
    /// Share (by weight) of the shorter text's sentences with a reworded
    /// counterpart in the other; computed only when a rule needs it.
    pub alignment: Option<f64>,
    /// Narrative shingles of the shorter text.
    pub shorter: usize,
    /// Seconds between the two entries' dates.
    pub gap_seconds: i64,
}

/// Why two entries were judged copies of one story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The same article (canonical link), one of them without usable text.
    SameLink,
    /// A brief (a headline and a line) whose line and figures the other
    /// text holds whole, under an agreeing headline.
    Brief,
    /// The shorter text's narrative is mostly contained in the longer one.
    Containment,
    /// A short text with moderate containment whose headline and sentences
    /// agree.
    ShortAligned,
    /// Moderate containment under agreeing headlines and names.
    TitleAndText,
    /// Moderate containment, agreeing names, and sentences that align.
    Aligned,
}

impl Rule {
    /// The value stored in `entries.match_rule`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::SameLink => "same_link",
            Rule::Brief => "brief",
            Rule::Containment => "containment",
            Rule::ShortAligned => "short_aligned",
            Rule::TitleAndText => "title_and_text",
            Rule::Aligned => "aligned",
        }
    }
}

/// How much a shared key counts: rare ones (a name, a figure, a phrase of
/// the story) weigh more than ones many entries carry ("qtr net", "said
/// on"), so templated texts do not look alike for their template.
pub trait Rarity {
    /// Weight of a shingle hash.
    fn shingle(&self, key: u32) -> f64;
    /// Weight of a headline-word hash.
    fn title(&self, key: u32) -> f64;
    /// Weight of a sentence-word hash.
    fn word(&self, key: u32) -> f64;
    /// Weight of an event-term hash.
    fn term(&self, key: u32) -> f64;
}

/// Every key counts the same.
pub struct Uniform;

impl Rarity for Uniform {
    fn shingle(&self, _: u32) -> f64 {
        1.0
    }
    fn title(&self, _: u32) -> f64 {
        1.0
    }
    fn word(&self, _: u32) -> f64 {
        1.0
    }
    fn term(&self, _: u32) -> f64 {
        1.0
    }
}

/// What two sorted key sets share: how many keys, and the weight of the
/// shared keys and of each set.
#[derive(Debug, Default, Clone, Copy)]
struct Overlap {
    shared: usize,
    w_shared: f64,
    w_a: f64,
    w_b: f64,
}

fn overlap(a: &[u32], b: &[u32], weight: impl Fn(u32) -> f64) -> Overlap {
    overlap_with(a, |i| weight(a[i]), b, &weight)
}

/// [`overlap`] with the weight of `a[i]` given by `a_weight(i)` (the same
/// figures, summed in the same order, when `a_weight(i)` is
/// `weight(a[i])`): `a`'s weights can be computed once for many `b`.
fn overlap_with(
    a: &[u32],
    a_weight: impl Fn(usize) -> f64,
    b: &[u32],
    weight: impl Fn(u32) -> f64,
) -> Overlap {
    let (mut i, mut j) = (0, 0);
    let mut o = Overlap::default();
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                o.w_a += a_weight(i);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                o.w_b += weight(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let w = a_weight(i);
                o.shared += 1;
                o.w_shared += w;
                o.w_a += w;
                o.w_b += w;
                i += 1;
                j += 1;
            }
        }
    }
    o.w_a += (i..a.len()).map(&a_weight).sum::<f64>();
    o.w_b += b[j..].iter().map(|k| weight(*k)).sum::<f64>();
    o
}

/// The rarity weights of one entry's shingle keys (`narrative` and
/// `shingles`), computed once to compare the entry with many others
/// ([`compare_weighted`], [`shared_text_weighted`]), and their sums.
#[derive(Debug, Clone, Default)]
pub struct Weights {
    narrative: Vec<f64>,
    shingles: Vec<f64>,
    sums: TextWeights,
}

impl Weights {
    /// The weights of `f`'s keys.
    pub fn of(f: &impl FeatureView, rarity: &impl Rarity) -> Weights {
        let narrative: Vec<f64> = f.narrative().iter().map(|k| rarity.shingle(*k)).collect();
        let shingles: Vec<f64> = f.shingles().iter().map(|k| rarity.shingle(*k)).collect();
        let sums = TextWeights {
            narrative: narrative.iter().sum(),
            shingles: shingles.iter().sum(),
        };
        Weights {
            narrative,
            shingles,
            sums,
        }
    }
}

/// The summed rarity weights of an entry's narrative shingles and of all
/// its shingles: the denominators of containment and of shared text.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TextWeights {
    /// The sum over `Features::narrative`.
    pub narrative: f64,
    /// The sum over `Features::shingles`.
    pub shingles: f64,
}

/// [`overlap`] of `a`, whose keys weigh `a_weights` (summing to `a_sum`),
/// with `b`, whose keys sum to `b_sum`: only the shared keys are looked at.
fn overlap_summed(a: &[u32], a_weights: &[f64], a_sum: f64, b: &[u32], b_sum: f64) -> Overlap {
    let (mut i, mut j) = (0, 0);
    let mut o = Overlap {
        w_a: a_sum,
        w_b: b_sum,
        ..Overlap::default()
    };
    // Branch-free: the comparison of two hashes is a coin toss, which a
    // branch predictor loses half the time.
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        let equal = x == y;
        let w = a_weights.get(i).copied().unwrap_or(0.0);
        o.shared += usize::from(equal);
        o.w_shared += if equal { w } else { 0.0 };
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    o
}

/// How many keys two sorted sets share.
pub(super) fn shared(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    // Branch-free, as in `overlap_summed`.
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        n += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    n
}

/// Whether sorted set `a` is contained in sorted set `b`.
fn subset(a: &[u32], b: &[u32]) -> bool {
    shared(a, b) == a.len()
}

fn ratio(num: f64, den: f64) -> f64 {
    if den <= 0.0 {
        0.0
    } else {
        (num / den).min(1.0)
    }
}

/// Share of `a`'s names that `b`'s text carries anywhere (1 when `a`'s
/// lede names nobody).
fn name_share(a: &impl FeatureView, b: &impl FeatureView) -> f64 {
    if a.names().is_empty() {
        return 1.0;
    }
    shared(a.names(), b.words()) as f64 / a.names().len() as f64
}

/// Weighted containment of all shingles, quotations included, of the
/// shorter text in the other: how much text two entries share at all (a
/// quoted statement, a pasted paragraph) — evidence of one happening at
/// the event level, not of a copy.
pub fn shared_text(a: &impl FeatureView, b: &impl FeatureView, rarity: &impl Rarity) -> f64 {
    if a.shingles().is_empty() || b.shingles().is_empty() {
        return 0.0;
    }
    let o = overlap(a.shingles(), b.shingles(), |k| rarity.shingle(k));
    ratio(o.w_shared, o.w_a.min(o.w_b))
}

/// [`shared_text`] with `a`'s weights computed beforehand (`a_weights` is
/// `Weights::of(a, rarity)`) and the sums of `b`'s (`b_sums`, from the
/// index's cache, see `CandidateIndex::text_weights`): the same figure,
/// but for how far that cache lags behind the index.
pub fn shared_text_weighted(
    a: &impl FeatureView,
    a_weights: &Weights,
    b: &impl FeatureView,
    b_sums: TextWeights,
) -> f64 {
    if a.shingles().is_empty() || b.shingles().is_empty() {
        return 0.0;
    }
    let o = overlap_summed(
        a.shingles(),
        &a_weights.shingles,
        a_weights.sums.shingles,
        b.shingles(),
        b_sums.shingles,
    );
    ratio(o.w_shared, o.w_a.min(o.w_b))
}

/// Share (by weight) of the shorter text's sentences that have a reworded
/// counterpart in the other: a sentence whose weighted word Jaccard with
/// it reaches `SENTENCE_JACCARD`.
pub fn alignment(a: &impl FeatureView, b: &impl FeatureView, rarity: &impl Rarity) -> f64 {
    let size_a: usize = a.sentences().map(<[u32]>::len).sum();
    let size_b: usize = b.sentences().map(<[u32]>::len).sum();
    if size_a > size_b {
        aligned_share(b, a, rarity)
    } else {
        aligned_share(a, b, rarity)
    }
}

/// [`alignment`] given which text is the shorter.
fn aligned_share(short: &impl FeatureView, long: &impl FeatureView, rarity: &impl Rarity) -> f64 {
    let long_weights: Vec<f64> = long
        .sentences()
        .map(|t| t.iter().map(|k| rarity.word(*k)).sum())
        .collect();
    let (mut total, mut hit) = (0.0, 0.0);
    for s in short.sentences() {
        let ws: f64 = s.iter().map(|k| rarity.word(*k)).sum();
        total += ws;
        for (t, wt) in long.sentences().zip(&long_weights) {
            let inter = overlap(s, t, |k| rarity.word(k)).w_shared;
            if inter >= SENTENCE_JACCARD * (ws + wt - inter) {
                hit += ws;
                break;
            }
        }
    }
    ratio(hit, total)
}

/// Computes the figures for two entries `gap_seconds` apart (alignment
/// is left for [`decide`] to compute when a rule needs it).
pub fn compare(
    a: &impl FeatureView,
    b: &impl FeatureView,
    gap_seconds: i64,
    rarity: &impl Rarity,
) -> Similarity {
    let body = overlap(a.narrative(), b.narrative(), |k| rarity.shingle(k));
    figures(a, b, body, gap_seconds, rarity)
}

/// [`compare`] with `a`'s weights computed beforehand (`a_weights` is
/// `Weights::of(a, rarity)`) and the sums of `b`'s (`b_sums`, from the
/// index's cache, see `CandidateIndex::text_weights`): the same figures,
/// but for how far that cache lags behind the index.
pub fn compare_weighted(
    a: &impl FeatureView,
    a_weights: &Weights,
    b: &impl FeatureView,
    b_sums: TextWeights,
    gap_seconds: i64,
    rarity: &impl Rarity,
) -> Similarity {
    let body = overlap_summed(
        a.narrative(),
        &a_weights.narrative,
        a_weights.sums.narrative,
        b.narrative(),
        b_sums.narrative,
    );
    figures(a, b, body, gap_seconds, rarity)
}

/// The figures of two entries whose narrative shingles overlap as `body`
/// says.
fn figures(
    a: &impl FeatureView,
    b: &impl FeatureView,
    body: Overlap,
    gap_seconds: i64,
    rarity: &impl Rarity,
) -> Similarity {
    let union = a.narrative().len() + b.narrative().len() - body.shared;
    let title = if a.title().len().min(b.title().len()) >= 2 {
        let t = overlap(a.title(), b.title(), |k| rarity.title(k));
        ratio(t.w_shared, t.w_a.min(t.w_b))
    } else {
        0.0
    };
    let few = a.numbers().len().min(b.numbers().len());
    Similarity {
        hamming: simhash::hamming_distance(a.simhash(), b.simhash()),
        containment: ratio(body.w_shared, body.w_a.min(body.w_b)),
        resemblance: ratio(body.shared as f64, union as f64),
        title,
        names: name_share(a, b).min(name_share(b, a)),
        numbers: if few == 0 {
            1.0
        } else {
            shared(a.numbers(), b.numbers()) as f64 / few as f64
        },
        alignment: None,
        shorter: a.narrative().len().min(b.narrative().len()),
        gap_seconds: gap_seconds.abs(),
    }
}

/// What is known of a pair besides its texts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pair {
    /// Both entries come from one outlet.
    pub same_outlet: bool,
    /// Both entries have the same canonical link: the same article.
    pub same_link: bool,
}

/// Whether a text is a figures report: results, tallies, tables, earnings
/// briefs, whose figures are what they report.
pub fn figures_report(f: &impl FeatureView) -> bool {
    f.numbers().len() >= 2
        && f.tokens() > 0
        && f.numbers().len() as f64 / f.tokens() as f64 >= FIGURES_DENSE
}

/// Decides whether two entries are copies of one story, and by which rule;
/// fills in `s.alignment` when a rule needed it.
pub fn decide(
    a: &impl FeatureView,
    b: &impl FeatureView,
    s: &mut Similarity,
    pair: Pair,
    rarity: &impl Rarity,
    t: &GroupingConfig,
) -> Option<Rule> {
    if pair.same_outlet && !pair.same_link {
        // An outlet publishes a story once: its new article is a new story,
        // even when it reuses text.
        return None;
    }
    if pair.same_link && (a.shingles().is_empty() || b.shingles().is_empty()) {
        // A text-less entry: its link is all that identifies the article.
        return Some(Rule::SameLink);
    }
    if s.shorter < MIN_TEXT_SHINGLES {
        return brief_copy(a, b, s).then_some(Rule::Brief);
    }
    // The entry with fewer figures (the first of equals).
    let (few, few_report) = if a.numbers().len() <= b.numbers().len() {
        (a.numbers().len(), figures_report(a))
    } else {
        (b.numbers().len(), figures_report(b))
    };
    if few >= 3 && few_report && s.numbers < FIGURES_SHARE {
        // A figures report with other figures: another report on the
        // same template.
        return None;
    }
    let aligned = |s: &mut Similarity| *s.alignment.get_or_insert_with(|| alignment(a, b, rarity));
    if s.shorter < SHORT_SHINGLES {
        if s.containment >= t.containment_short {
            return Some(Rule::Containment);
        }
        if s.containment >= t.containment_mid
            && s.title >= t.short_agree
            && s.names >= t.names
            && aligned(s) >= t.short_agree
        {
            return Some(Rule::ShortAligned);
        }
        return None;
    }
    if s.containment >= t.containment {
        return Some(Rule::Containment);
    }
    if s.containment < t.containment_mid || s.names < t.names {
        return None;
    }
    if s.title >= t.title {
        return Some(Rule::TitleAndText);
    }
    (aligned(s) >= t.alignment).then_some(Rule::Aligned)
}

/// A text-less brief (a headline and a line or two) is a copy of the other
/// entry when their headlines agree and all of its line, figures included,
/// is in the other text.
fn brief_copy(a: &impl FeatureView, b: &impl FeatureView, s: &Similarity) -> bool {
    if a.shingles().len() <= b.shingles().len() {
        brief_in(a, b, s)
    } else {
        brief_in(b, a, s)
    }
}

/// [`brief_copy`] given which entry is the shorter.
fn brief_in(short: &impl FeatureView, long: &impl FeatureView, s: &Similarity) -> bool {
    const BRIEF_TITLE: f64 = 0.8;
    !short.shingles().is_empty()
        && s.title >= BRIEF_TITLE
        && subset(short.shingles(), long.shingles())
        && subset(short.numbers(), long.numbers())
}

/// A single figure to rank matching candidates by (higher is closer):
/// shared text, then agreeing headline and figures.
pub fn strength(s: &Similarity) -> f64 {
    s.containment + 0.5 * s.title + 0.25 * s.numbers
}

#[cfg(test)]
mod tests;
