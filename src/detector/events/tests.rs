//! Tests of the event level: placement, figures, merges, and the bounded search against the exhaustive one.

use std::collections::BTreeMap;

use super::*;

fn uniform(_: u32) -> f32 {
    1.0
}

fn story(terms: &[(u32, f32)], numbers: &[u32], report: bool) -> StoryVector {
    StoryVector {
        vector: unit_top(terms.iter().copied(), 64),
        numbers: numbers.to_vec(),
        report,
    }
}

#[test]
fn vectors_are_unit_and_cosine_is_one_for_the_same() {
    let v = unit_top([(3, 3.0), (1, 4.0), (9, 0.0)], 64);
    assert_eq!(v.len(), 2, "a zero weight is dropped");
    assert!((cosine(&v, &v) - 1.0).abs() < 1e-6);
    let top = unit_top([(1, 1.0), (2, 3.0), (3, 2.0)], 2);
    assert_eq!(top.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [2, 3]);
}

#[test]
fn a_story_joins_the_event_it_matches_and_starts_one_otherwise() {
    let config = EventsConfig::default();
    let mut events = Events::new();
    let quake = story(&[(1, 3.0), (2, 2.0), (3, 1.0)], &[], false);
    events.add_story(100, 10, quake.clone(), 0);
    let same = story(&[(1, 3.0), (2, 1.0), (4, 1.0)], &[], false);
    assert!(matches!(
        events.place(&same, 3_600, &[], &config, &uniform),
        EventPlacement::Join {
            event: 100,
            closest: Some((10, _)),
            ..
        }
    ));
    let other = story(&[(7, 1.0), (8, 1.0)], &[], false);
    assert_eq!(
        events.place(&other, 3_600, &[], &config, &uniform),
        EventPlacement::Start
    );
    // Too late: outside the window of the event's stories.
    assert_eq!(
        events.place(&same, 10 * 86_400, &[], &config, &uniform),
        EventPlacement::Start
    );
}

#[test]
fn shared_text_tips_a_weak_match() {
    let config = EventsConfig::default();
    let mut events = Events::new();
    let five = |a| [(a, 1.0), (2, 1.0), (3, 1.0), (4, 1.0), (5, 1.0)];
    events.add_story(100, 10, story(&five(1), &[], false), 0);
    // One term in five shared: cosine 0.2, below the threshold alone.
    let weak = story(
        &[(1, 1.0), (6, 1.0), (7, 1.0), (8, 1.0), (9, 1.0)],
        &[],
        false,
    );
    let alone = events.place(&weak, 0, &[], &config, &uniform);
    assert_eq!(alone, EventPlacement::Start);
    let with_text = events.place(&weak, 0, &[(10, 0.3)], &config, &uniform);
    assert!(
        matches!(with_text, EventPlacement::Join { event: 100, .. }),
        "{with_text:?}"
    );
}

#[test]
fn figures_reports_with_other_figures_are_other_events() {
    let config = EventsConfig::default();
    let mut events = Events::new();
    let terms = [(1, 2.0), (2, 2.0), (3, 1.0)];
    events.add_story(100, 10, story(&terms, &[11, 12, 13], true), 0);
    let other_tally = story(&terms, &[21, 22, 23], true);
    assert_eq!(
        events.place(&other_tally, 0, &[], &config, &uniform),
        EventPlacement::StartApart { closest: 100 }
    );
    let same_tally = story(&terms, &[11, 12, 24], true);
    assert!(matches!(
        events.place(&same_tally, 0, &[], &config, &uniform),
        EventPlacement::Join { event: 100, .. }
    ));
    // A write-up without those figures does not join an event made
    // only of reports...
    let write_up = story(&terms, &[], false);
    assert_eq!(
        events.place(&write_up, 0, &[], &config, &uniform),
        EventPlacement::StartApart { closest: 100 }
    );
    // ... but once the event holds a write-up, a report in it (a
    // tally in a story about a flood) no longer stands in the way.
    events.add_story(100, 11, story(&terms, &[], false), 0);
    assert!(matches!(
        events.place(&write_up, 0, &[], &config, &uniform),
        EventPlacement::Join { event: 100, .. }
    ));
}

#[test]
fn folding_the_last_story_away_empties_the_event() {
    let mut events = Events::new();
    events.add_story(100, 10, story(&[(1, 1.0)], &[], false), 0);
    events.add_story(200, 20, story(&[(2, 1.0)], &[], false), 0);
    assert_eq!(events.fold(20, 10), Some(200));
    assert_eq!(events.event_of(10), Some(100));
    assert_eq!(events.event_of(20), None);
    assert_eq!(events.len(), 1);
    assert_eq!(events.evict_before(1), 1);
    assert!(events.is_empty());
}

#[test]
fn events_that_come_to_resemble_each_other_merge_into_the_older() {
    let config = EventsConfig::default();
    let mut events = Events::new();
    events.add_story(1, 10, story(&[(1, 3.0), (2, 2.0)], &[], false), 0);
    events.add_story(2, 20, story(&[(3, 3.0), (4, 2.0)], &[], false), 0);
    events.add_story(3, 30, story(&[(8, 1.0), (9, 1.0)], &[], false), 0);
    assert!(events.mergeable(2, &config, &uniform).is_empty());
    // A story in event 2 that also tells event 1's side of it.
    events.add_story(2, 21, story(&[(1, 3.0), (2, 2.0), (3, 1.0)], &[], false), 0);
    events.add_entry(2, &story(&[(1, 3.0), (2, 2.0)], &[], false).vector, 0);
    let found = events.mergeable(2, &config, &uniform);
    assert_eq!(found.iter().map(|(e, _)| *e).collect::<Vec<_>>(), [1]);
    events.merge(2, 1);
    assert_eq!(events.len(), 2);
    assert_eq!(events.event_of(20), Some(1));
    assert_eq!(events.event_of(21), Some(1));
    assert_eq!(events.event_of(30), Some(3));
    // Too far apart in time: never merged.
    events.add_story(4, 40, story(&[(1, 3.0), (2, 2.0)], &[], false), 30 * 86_400);
    assert!(events.mergeable(4, &config, &uniform).is_empty());
    // Off.
    let off = EventsConfig {
        merge: 0.0,
        ..EventsConfig::default()
    };
    events.add_story(5, 50, story(&[(8, 1.0), (9, 1.0)], &[], false), 0);
    assert!(events.mergeable(5, &off, &uniform).is_empty());
    assert!(!events.mergeable(5, &config, &uniform).is_empty());
}

/// Every list of `by_term` holds exactly the events whose sum carries the
/// term, with that sum, at the place the event records; every event's slot
/// holds its dates, and its top terms are its largest sums, as computed
/// from all of them.
fn assert_lists_match(events: &Events) {
    let slots = events.slots.lock().expect("the slots' lock");
    for (id, e) in &events.events {
        assert_eq!(events.holders[e.slot as usize], *id);
        assert_eq!(
            slots[e.slot as usize].span(),
            (e.tmin, e.tmax),
            "dates of event {id}"
        );
        let mut top = e.top().to_vec();
        top.sort_by(before);
        let mut full: Vec<(u32, f32)> = e.sum.iter().map(|(k, (w, _))| (*k, *w)).collect();
        full.sort_by(before);
        full.truncate(TOP_TERMS);
        assert_eq!(top, full, "top terms of event {id}");
        for (k, (sum, at)) in e.sum.iter() {
            assert_eq!(events.by_term[k][*at as usize], (e.slot, *sum), "term {k}");
        }
    }
    let listed: usize = events.by_term.values().map(|l| l.len()).sum();
    let carried: usize = events.events.values().map(|e| e.sum.len()).sum();
    assert_eq!(listed, carried);
    assert!(events.by_term.values().all(|l| !l.is_empty()));
}

/// `place`'s search as it was before the bounds (every candidate's
/// centroid sorted in full), to check the bounds change nothing; what the
/// best event makes of the story is `place`'s own `Events::settle`.
fn place_in_full(
    events: &Events,
    story: &StoryVector,
    time: i64,
    shared_text: &[(i64, f64)],
    config: &EventsConfig,
    weight: &impl TermWeight,
) -> EventPlacement {
    let window = config.window_seconds();
    let vector = weighted(&story.vector, weight, config.terms);
    let candidates: BTreeSet<i64> = vector
        .iter()
        .filter_map(|(k, _)| events.by_term.get(k))
        .flat_map(|l| l.iter().map(|(slot, _)| events.holders[*slot as usize]))
        .collect();
    let mut best: Option<(i64, f64, f64)> = None;
    for id in candidates {
        let event = &events.events[&id];
        if !event.near(time, window) {
            continue;
        }
        let mut similarity = cosine(&vector, &event.centroid(weight, config.terms));
        let text = Events::text_shared(event, shared_text);
        if text >= config.shared_text {
            similarity += config.shared_text_bonus;
        }
        if best.is_none_or(|(_, b, _)| similarity > b) {
            best = Some((id, similarity, text));
        }
    }
    events.settle(best, story, &vector, config, weight)
}

/// `mergeable` as it was before the bounds.
fn mergeable_in_full(
    events: &Events,
    event: i64,
    config: &EventsConfig,
    weight: &impl TermWeight,
) -> Vec<(i64, f64)> {
    let e = &events.events[&event];
    let window = config.window_seconds();
    let centroid = e.centroid(weight, config.terms);
    let candidates: BTreeSet<i64> = centroid
        .iter()
        .filter_map(|(k, _)| events.by_term.get(k))
        .flat_map(|l| l.iter().map(|(slot, _)| events.holders[*slot as usize]))
        .filter(|id| *id != event)
        .collect();
    let mut found: Vec<(i64, f64)> = candidates
        .into_iter()
        .filter_map(|id| {
            let other = events.events.get(&id)?;
            let overlaps = other.tmin.saturating_sub(window) <= e.tmax
                && e.tmin <= other.tmax.saturating_add(window);
            if !overlaps {
                return None;
            }
            let c = cosine(&centroid, &other.centroid(weight, config.terms));
            (c >= config.merge && events.events_figures_agree(event, id)).then_some((id, c))
        })
        .collect();
    found.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    found
}

#[test]
fn bounds_change_no_placement_and_no_merge() {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    // Rarities from 0 (a term in every entry) to about 5, fixed per term.
    let rarity = |k: u32| -> f32 {
        let h = (u64::from(k).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % 1000;
        if h < 30 {
            0.0
        } else {
            (h as f32) / 200.0
        }
    };
    for config in [
        EventsConfig::default(),
        EventsConfig {
            terms: 8,
            join: 0.1,
            merge: 0.2,
            ..EventsConfig::default()
        },
    ] {
        let mut events = Events::new();
        let mut story_id = 0;
        let random_story = |next: &mut dyn FnMut() -> u64| {
            // Topics: terms near a topic's base, plus common terms.
            let topic = (next() % 40) as u32 * 20;
            let n = 3 + (next() % 40) as usize;
            let terms: Vec<(u32, f32)> = (0..n)
                .map(|_| {
                    let k = if next() % 4 == 0 {
                        (next() % 30) as u32
                    } else {
                        1000 + topic + (next() % 25) as u32
                    };
                    (k, 1.0 + (next() % 100) as f32 / 10.0)
                })
                .collect::<BTreeMap<u32, f32>>()
                .into_iter()
                .collect();
            let numbers: Vec<u32> = (0..(next() % 4))
                .map(|_| (next() % 6) as u32)
                .collect::<BTreeSet<u32>>()
                .into_iter()
                .collect();
            story(&terms, &numbers, next() % 5 == 0)
        };
        let (mut joins, mut merges) = (0, 0);
        for round in 0..600 {
            let time = (round as i64) * 600 + (next() % 3600) as i64;
            let new = random_story(&mut next);
            let shared: Vec<(i64, f64)> = (0..(next() % 3))
                .map(|_| {
                    (
                        (next() % (story_id + 1)) as i64,
                        (next() % 40) as f64 / 100.0,
                    )
                })
                .collect::<BTreeMap<i64, f64>>()
                .into_iter()
                .collect();
            let fast = events.place(&new, time, &shared, &config, &rarity);
            let full = place_in_full(&events, &new, time, &shared, &config, &rarity);
            assert_eq!(fast, full, "round {round}");
            story_id += 1;
            let event = match fast {
                EventPlacement::Join { event, .. } => {
                    joins += 1;
                    event
                }
                EventPlacement::Start | EventPlacement::StartApart { .. } => 10_000 + round as i64,
            };
            events.add_story(event, story_id as i64, new.clone(), time);
            if fast == EventPlacement::Start {
                // What the writer relies on to skip the merge search.
                assert!(
                    mergeable_in_full(&events, event, &config, &rarity).is_empty(),
                    "round {round}"
                );
            }
            if next() % 3 == 0 {
                let extra = random_story(&mut next);
                events.add_entry(event, &extra.vector, time);
            }
            let fast = events.mergeable(event, &config, &rarity);
            let full = mergeable_in_full(&events, event, &config, &rarity);
            assert_eq!(fast, full, "round {round}");
            if let Some((other, _)) = fast.first() {
                merges += 1;
                events.merge(event.max(*other), event.min(*other));
            }
            if next() % 7 == 0 {
                // A story folded into another (its event may be left
                // empty and forgotten).
                let from = (next() % (story_id + 1)) as i64;
                events.fold(from, story_id as i64);
            }
            if round % 100 == 99 {
                events.evict_before(time - 3 * 86_400);
            }
            assert_lists_match(&events);
        }
        // Both outcomes were checked, and merges.
        assert!(joins > 50 && joins < 550 && merges > 5, "{joins} {merges}");
    }
}
