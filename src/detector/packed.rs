//! The features of an indexed entry, packed in one allocation.
//!
//! The candidate index keeps the features of every entry of the grouping
//! window, to verify candidates against: with 200,000 entries in the
//! window that is most of the daemon's memory. [`Features`] as extracted
//! holds eleven vectors, each with its own header, heap block and spare
//! capacity; [`Packed`] holds the same keys in one exactly sized block of
//! `u32` (the event terms' weights as their bits), and no second copy of
//! the narrative shingles when they are all the shingles (a text that
//! quotes nobody, as most wire copy). It reads back through
//! [`FeatureView`], key for key what it was made from.

use super::features::{FeatureView, Features};

/// The sections of [`Packed::data`], in order.
#[derive(Clone, Copy)]
enum Section {
    Shingles,
    /// Empty when the narrative shingles are all the shingles.
    Narrative,
    Lede,
    Numbers,
    Title,
    Names,
    Words,
    /// The sentences' words, one sentence after the other.
    SentenceWords,
    /// Where each sentence ends in `SentenceWords`.
    SentenceEnds,
    TermKeys,
    /// The event terms' weights, as `f32::to_bits`.
    TermWeights,
}

const SECTIONS: usize = Section::TermWeights as usize + 1;

/// An entry's [`Features`] in one allocation (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    simhash: u64,
    tokens: u32,
    /// Whether the narrative shingles are all the shingles (then the
    /// narrative section is empty).
    narrative_is_all: bool,
    /// Where each [`Section`] ends in `data`.
    ends: [u32; SECTIONS],
    data: Box<[u32]>,
}

/// Lays the sections out in order in one exactly sized block: the one
/// place that knows the layout, for [`Packed::new`] and [`Packed::decode`].
/// `lists` are the shingles, the narrative shingles (empty when
/// `narrative_is_all`), the lede, numbers, title, names and words; `terms`
/// the event terms' keys and their weights' bits.
fn pack<L, S, T>(
    simhash: u64,
    tokens: u32,
    narrative_is_all: bool,
    lists: [L; 7],
    sentences: S,
    terms: T,
) -> Packed
where
    L: ExactSizeIterator<Item = u32>,
    S: Iterator<Item = L> + Clone,
    T: ExactSizeIterator<Item = (u32, u32)> + Clone,
{
    // The sentences' count and words, in one pass (decoding walks the
    // encoding's sentence lengths on every pass).
    let (sentence_count, sentence_words) = sentences
        .clone()
        .fold((0, 0), |(n, words), s| (n + 1, words + s.len()));
    let len = lists.iter().map(ExactSizeIterator::len).sum::<usize>()
        + sentence_words
        + sentence_count
        + 2 * terms.len();
    let mut data = Vec::with_capacity(len);
    let mut ends = [0u32; SECTIONS];
    let mut end = |data: &Vec<u32>, section: Section| {
        // A text large enough to overflow this would not have passed the
        // normalizer's limits; saturate rather than wrap.
        ends[section as usize] = u32::try_from(data.len()).unwrap_or(u32::MAX);
    };
    let sections = [
        Section::Shingles,
        Section::Narrative,
        Section::Lede,
        Section::Numbers,
        Section::Title,
        Section::Names,
        Section::Words,
    ];
    for (list, section) in lists.into_iter().zip(sections) {
        data.extend(list);
        end(&data, section);
    }
    for s in sentences.clone() {
        data.extend(s);
    }
    end(&data, Section::SentenceWords);
    let mut at = 0u32;
    for s in sentences {
        at = at.saturating_add(u32::try_from(s.len()).unwrap_or(u32::MAX));
        data.push(at);
    }
    end(&data, Section::SentenceEnds);
    data.extend(terms.clone().map(|(k, _)| k));
    end(&data, Section::TermKeys);
    data.extend(terms.map(|(_, w)| w));
    end(&data, Section::TermWeights);
    Packed {
        simhash,
        tokens,
        narrative_is_all,
        ends,
        data: data.into_boxed_slice(),
    }
}

impl Packed {
    /// Packs `f`.
    pub fn new(f: &Features) -> Packed {
        let narrative_is_all = f.narrative == f.shingles;
        let narrative: &[u32] = if narrative_is_all { &[] } else { &f.narrative };
        let lists = [
            &f.shingles[..],
            narrative,
            &f.lede,
            &f.numbers,
            &f.title,
            &f.names,
            &f.words,
        ];
        pack(
            f.simhash,
            f.tokens,
            narrative_is_all,
            lists.map(|l| l.iter().copied()),
            f.sentences.iter().map(|s| s.iter().copied()),
            f.event_terms.iter().map(|(k, w)| (*k, w.to_bits())),
        )
    }

    /// Packs the features [`Features::encode`] wrote, without decoding
    /// them into [`Features`] first (the index reads features back from
    /// the store so): the same as `Packed::new(&Features::decode(bytes)?)`,
    /// and `None` where that is.
    pub fn decode(bytes: &[u8]) -> Option<Packed> {
        use super::features::{list_values, Encoded};
        let e = Encoded::parse(bytes)?;
        let mut lists = e.lists;
        let narrative_is_all = lists[1] == lists[0];
        if narrative_is_all {
            lists[1] = &[];
        }
        let terms = e.terms.chunks_exact(8).map(|t| {
            (
                u32::from_le_bytes([t[0], t[1], t[2], t[3]]),
                u32::from_le_bytes([t[4], t[5], t[6], t[7]]),
            )
        });
        Some(pack(
            e.simhash,
            e.tokens,
            narrative_is_all,
            lists.map(list_values),
            e.sentences().map(list_values),
            terms,
        ))
    }

    /// One section of `data`.
    fn section(&self, section: Section) -> &[u32] {
        let i = section as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = self.ends[i] as usize;
        self.data.get(start..end).unwrap_or(&[])
    }

    /// The heap bytes it holds.
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.data.len() * size_of::<u32>()
    }

    /// The features it was packed from.
    #[cfg(test)]
    fn unpack(&self) -> Features {
        Features {
            simhash: self.simhash,
            tokens: self.tokens,
            shingles: self.shingles().to_vec(),
            narrative: self.narrative().to_vec(),
            lede: self.lede().to_vec(),
            numbers: self.numbers().to_vec(),
            title: self.title().to_vec(),
            names: self.names().to_vec(),
            words: self.words().to_vec(),
            sentences: self.sentences().map(<[u32]>::to_vec).collect(),
            event_terms: self.event_terms().collect(),
        }
    }
}

impl FeatureView for Packed {
    fn simhash(&self) -> u64 {
        self.simhash
    }
    fn tokens(&self) -> u32 {
        self.tokens
    }
    fn shingles(&self) -> &[u32] {
        self.section(Section::Shingles)
    }
    fn narrative(&self) -> &[u32] {
        if self.narrative_is_all {
            self.section(Section::Shingles)
        } else {
            self.section(Section::Narrative)
        }
    }
    fn lede(&self) -> &[u32] {
        self.section(Section::Lede)
    }
    fn numbers(&self) -> &[u32] {
        self.section(Section::Numbers)
    }
    fn title(&self) -> &[u32] {
        self.section(Section::Title)
    }
    fn names(&self) -> &[u32] {
        self.section(Section::Names)
    }
    fn words(&self) -> &[u32] {
        self.section(Section::Words)
    }
    fn sentences(&self) -> impl Iterator<Item = &[u32]> + Clone + '_ {
        let words = self.section(Section::SentenceWords);
        let ends = self.section(Section::SentenceEnds);
        std::iter::once(0)
            .chain(ends.iter().copied())
            .zip(ends.iter().copied())
            .map(move |(start, end)| words.get(start as usize..end as usize).unwrap_or(&[]))
    }
    fn event_terms(&self) -> impl Iterator<Item = (u32, f32)> + Clone + '_ {
        self.section(Section::TermKeys)
            .iter()
            .zip(self.section(Section::TermWeights))
            .map(|(k, w)| (*k, f32::from_bits(*w)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::features::extract;

    #[test]
    fn reads_back_what_it_was_packed_from() {
        for (title, text) in [
            ("", ""),
            ("Oil rises", "Oil prices rose 3% on Monday."),
            (
                "Putin ready to end war, sources say",
                "Russian President Vladimir Putin is ready to end the war in Ukraine, four \
                 sources told Reuters.\n\"We are open to dialogue,\" spokesman Dmitry Peskov \
                 said on Friday in Moscow, adding that talks could start within 30 days.\n\
                 The Kremlin did not comment further on the 2,267 troops.",
            ),
        ] {
            let f = extract(title, text);
            let p = Packed::new(&f);
            assert_eq!(p.unpack(), f, "{title}");
            assert_eq!(Packed::decode(&f.encode()), Some(p.clone()), "{title}");
            assert_eq!(p.narrative(), f.narrative.as_slice());
            assert_eq!(p.sentences().count(), f.sentences.len());
        }
    }

    #[test]
    fn decodes_what_features_decode_and_nothing_else() {
        let f = extract(
            "Minister says",
            "\"We will not resign,\" the minister said on Tuesday in Rome.\n\
             The coalition has 201 seats of 400 after the vote, officials said.",
        );
        let mut bytes = f.encode();
        for cut in 0..=bytes.len() {
            let part = &bytes[..cut];
            assert_eq!(
                Packed::decode(part),
                Features::decode(part).map(|f| Packed::new(&f)),
                "cut at {cut}"
            );
            // Only the whole encoding reads.
            assert_eq!(
                Packed::decode(part).is_some(),
                cut == bytes.len(),
                "cut at {cut}"
            );
        }
        bytes[0] = bytes[0].wrapping_add(1);
        assert_eq!(Packed::decode(&bytes), None);
    }

    #[test]
    fn figures_against_packed_features_are_the_same() {
        use crate::detector::similarity::{alignment, compare, decide, Pair, Uniform};
        use crate::detector::GroupingConfig;
        let lede = "Russian President Vladimir Putin is ready to end the war in Ukraine and \
                    negotiate a ceasefire that recognizes the current battle lines, four \
                    Russian sources told Reuters.";
        let rest = "Three of the sources said the veteran leader expressed frustration to a \
                    small group of advisers.\n\"Russia is open to dialogue,\" spokesman \
                    Dmitry Peskov said, adding that 2,267 prisoners could be exchanged.";
        let texts = [
            (
                "Putin ready to end war - sources",
                format!("{lede}\n{rest}"),
            ),
            ("Putin ready for ceasefire, sources say", lede.to_string()),
            ("Kremlin says open to dialogue", rest.to_string()),
        ];
        let all: Vec<Features> = texts.iter().map(|(t, x)| extract(t, x)).collect();
        let config = GroupingConfig::default();
        for a in &all {
            for b in &all {
                let p = Packed::new(b);
                let mut s = compare(a, b, 60, &Uniform);
                let mut sp = compare(a, &p, 60, &Uniform);
                assert_eq!(s, sp);
                assert_eq!(alignment(a, b, &Uniform), alignment(a, &p, &Uniform));
                assert_eq!(alignment(b, a, &Uniform), alignment(&p, a, &Uniform));
                for pair in [
                    Pair::default(),
                    Pair {
                        same_outlet: true,
                        same_link: true,
                    },
                ] {
                    assert_eq!(
                        decide(a, b, &mut s, pair, &Uniform, &config),
                        decide(a, &p, &mut sp, pair, &Uniform, &config)
                    );
                    assert_eq!(s, sp);
                }
            }
        }
    }

    #[test]
    fn quoted_text_keeps_its_own_narrative() {
        let f = extract(
            "Minister quoted",
            "The minister spoke to reporters in the capital on Tuesday morning.\n\
             \"We will not raise taxes this year or next year under any circumstances,\" \
             she said.",
        );
        assert!(f.narrative.len() < f.shingles.len(), "{f:?}");
        let p = Packed::new(&f);
        assert!(!p.narrative_is_all);
        assert_eq!(p.narrative(), f.narrative.as_slice());
        assert_eq!(p.unpack(), f);
        // One block: every key once, the narrative twice (it differs).
        let keys = f.shingles.len()
            + f.narrative.len()
            + f.lede.len()
            + f.numbers.len()
            + f.title.len()
            + f.names.len()
            + f.words.len()
            + f.sentences.iter().map(Vec::len).sum::<usize>()
            + f.sentences.len()
            + 2 * f.event_terms.len();
        assert_eq!(p.heap_bytes(), 4 * keys);
    }
}
