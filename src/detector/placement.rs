//! Where a new entry goes, decided from the detector's verified matches:
//! join a story (folding in the other stories it also matched), or start
//! one. Pure: the store's writer applies the decision with SQL.
//!
//! Rules:
//! - No match: the entry starts a story.
//! - A feed does not carry one story twice: the best match whose story has
//!   no entry of the entry's feed yet wins (matches come strongest first);
//!   if every matched story already has one, the strongest match wins.
//! - The other stories the entry matched are folded into the winner (a
//!   copy can arrive before its original and bridge two stories), unless
//!   that would put two entries of one feed in one story: then they are
//!   different stories that share text.

use super::Match;

/// The decision for one new entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// Nothing matched: a new story.
    Start,
    /// Join the story of `best`, folding the stories in `fold` into it.
    Join {
        /// The match whose story the entry joins.
        best: Match,
        /// Other stories to fold into that one, in the order decided.
        fold: Vec<i64>,
    },
}

/// Decides where an entry of `feed_id` goes, given its `matches`
/// (strongest first) and the feeds of each story's entries.
pub fn place<I: Iterator<Item = i64>>(
    matches: &[Match],
    feed_id: i64,
    story_feeds: impl Fn(i64) -> I,
) -> Placement {
    let best = matches
        .iter()
        .find(|m| !story_feeds(m.story_id).any(|f| f == feed_id))
        .or(matches.first())
        .copied();
    let Some(best) = best else {
        return Placement::Start;
    };
    let mut feeds: Vec<i64> = story_feeds(best.story_id).collect();
    feeds.push(feed_id);
    let mut fold = Vec::new();
    for m in matches {
        if m.story_id == best.story_id || fold.contains(&m.story_id) {
            continue;
        }
        let other: Vec<i64> = story_feeds(m.story_id).collect();
        if other.iter().any(|f| feeds.contains(f)) {
            continue;
        }
        fold.push(m.story_id);
        feeds.extend(other);
    }
    Placement::Join { best, fold }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::{Rule, Similarity};

    fn m(entry_id: i64, story_id: i64) -> Match {
        Match {
            entry_id,
            story_id,
            similarity: Similarity {
                hamming: 0,
                containment: 1.0,
                resemblance: 1.0,
                title: 1.0,
                lede: 1.0,
                numbers: 1.0,
                shorter: 20,
                gap_seconds: 0,
            },
            rule: Rule::Containment,
        }
    }

    /// Stories 10, 20, 30, 40 and the feeds their entries come from.
    fn feeds(story: i64) -> std::vec::IntoIter<i64> {
        match story {
            10 => vec![1, 2],
            20 => vec![3],
            30 => vec![2],
            40 => vec![4],
            _ => vec![],
        }
        .into_iter()
    }

    #[test]
    fn no_match_starts_a_story() {
        assert_eq!(place(&[], 9, feeds), Placement::Start);
    }

    #[test]
    fn a_story_that_already_has_the_feed_is_passed_over() {
        // Feed 1 is in story 10 already: story 20 wins though 10 is stronger.
        let p = place(&[m(100, 10), m(200, 20)], 1, feeds);
        assert_eq!(
            p,
            Placement::Join {
                best: m(200, 20),
                fold: vec![]
            }
        );
    }

    #[test]
    fn other_matched_stories_fold_in_unless_a_feed_would_repeat() {
        // Story 30 shares feed 2 with story 10: not folded. Story 40 is.
        let p = place(&[m(100, 10), m(300, 30), m(400, 40)], 9, feeds);
        assert_eq!(
            p,
            Placement::Join {
                best: m(100, 10),
                fold: vec![40]
            }
        );
    }

    #[test]
    fn when_every_story_has_the_feed_the_strongest_wins() {
        let p = place(&[m(100, 10), m(300, 30)], 2, feeds);
        assert_eq!(
            p,
            Placement::Join {
                best: m(100, 10),
                fold: vec![]
            }
        );
    }
}
