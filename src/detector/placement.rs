//! Where a new entry goes, decided from the detector's verified matches:
//! join a story (folding in the other stories it also matched), or start
//! one. Pure: the store's writer applies the decision with SQL.
//!
//! Rules:
//! - No match: the entry starts a story.
//! - A story holds one entry per outlet: the strongest match whose story
//!   has no entry of the entry's outlet wins, or whose entry of that
//!   outlet is the same article (a feed that republishes it under a new
//!   id); failing that, the strongest match.
//! - The other stories the entry matched are folded into the winner (a
//!   copy can arrive before its original and bridge two stories), unless
//!   that would put two entries of one outlet (the new entry's included)
//!   in one story: then they are different stories that share text.

use super::index::Member;
use super::{Arrival, Match};

/// The decision for one new entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// Nothing matched: a new story.
    Start,
    /// Join the story of `best`, folding the stories of `fold` into it.
    Join {
        /// The match whose story the entry joins.
        best: Match,
        /// The matches whose stories are folded in, in the order decided.
        fold: Vec<Match>,
    },
}

/// Decides where an entry goes, given its `matches` (strongest first) and
/// the indexed entries of each story.
pub fn place<M: Iterator<Item = Member>>(
    matches: &[Match],
    arrival: Arrival,
    members: impl Fn(i64) -> M,
) -> Placement {
    let fits = |m: &Match| {
        !members(m.story_id).any(|e| e.outlet == arrival.outlet)
            || (arrival.link != 0 && members(m.story_id).any(|e| e.link == arrival.link))
    };
    let best = matches
        .iter()
        .find(|m| fits(m))
        .or(matches.first())
        .copied();
    let Some(best) = best else {
        return Placement::Start;
    };
    let mut outlets: Vec<i64> = members(best.story_id).map(|e| e.outlet).collect();
    outlets.push(arrival.outlet);
    let mut fold: Vec<Match> = Vec::new();
    for m in matches {
        if m.story_id == best.story_id || fold.iter().any(|f| f.story_id == m.story_id) {
            continue;
        }
        if members(m.story_id).any(|e| outlets.contains(&e.outlet)) {
            continue;
        }
        outlets.extend(members(m.story_id).map(|e| e.outlet));
        fold.push(*m);
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
            similarity: Similarity::default(),
            rule: Rule::Containment,
        }
    }

    /// Stories 10, 20, 30, 40 and their entries' outlets and links.
    fn members(story: i64) -> std::iter::Copied<std::slice::Iter<'static, Member>> {
        const S10: [Member; 2] = [
            Member {
                id: 100,
                outlet: 1,
                link: 11,
            },
            Member {
                id: 101,
                outlet: 2,
                link: 12,
            },
        ];
        const S20: [Member; 1] = [Member {
            id: 200,
            outlet: 3,
            link: 13,
        }];
        const S30: [Member; 1] = [Member {
            id: 300,
            outlet: 2,
            link: 14,
        }];
        const S40: [Member; 1] = [Member {
            id: 400,
            outlet: 4,
            link: 15,
        }];
        let all: &'static [Member] = match story {
            10 => &S10,
            20 => &S20,
            30 => &S30,
            40 => &S40,
            _ => &[],
        };
        all.iter().copied()
    }

    fn from(outlet: i64, link: u64) -> Arrival {
        Arrival {
            time: 0,
            outlet,
            link,
        }
    }

    #[test]
    fn no_match_starts_a_story() {
        assert_eq!(place(&[], from(9, 0), members), Placement::Start);
    }

    #[test]
    fn a_story_that_already_has_the_outlet_is_passed_over() {
        // Outlet 1 is in story 10 already: story 20 wins though 10 is stronger.
        let p = place(&[m(100, 10), m(200, 20)], from(1, 99), members);
        assert_eq!(
            p,
            Placement::Join {
                best: m(200, 20),
                fold: vec![]
            }
        );
    }

    #[test]
    fn the_same_article_republished_joins_its_story() {
        // Outlet 1 republishes its article (link 11) under a new id.
        let p = place(&[m(100, 10), m(200, 20)], from(1, 11), members);
        assert!(matches!(p, Placement::Join { best, .. } if best.story_id == 10));
    }

    #[test]
    fn other_matched_stories_fold_in_unless_an_outlet_would_repeat() {
        // Story 30 shares outlet 2 with story 10: not folded. Story 40 is.
        let p = place(&[m(100, 10), m(300, 30), m(400, 40)], from(9, 0), members);
        assert_eq!(
            p,
            Placement::Join {
                best: m(100, 10),
                fold: vec![m(400, 40)]
            }
        );
    }

    #[test]
    fn when_every_story_has_the_outlet_the_strongest_wins() {
        let p = place(&[m(100, 10), m(300, 30)], from(2, 0), members);
        assert_eq!(
            p,
            Placement::Join {
                best: m(100, 10),
                fold: vec![]
            }
        );
    }
}
