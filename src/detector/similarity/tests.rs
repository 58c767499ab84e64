//! Unit tests of the story-level figures and rules.

use super::*;
use crate::detector::features::{extract, Features};

const FULL: &str = "Russian President Vladimir Putin is ready to end the war in Ukraine and negotiate a ceasefire that recognizes the current battle lines, four Russian sources told Reuters.\nThree of the sources said the veteran leader expressed frustration to a small group of advisers over what he sees as Western-backed attempts to derail negotiations.\nPutin's spokesman Dmitry Peskov said the Kremlin chief has repeatedly made clear that Russia is open to dialogue.";

fn verdict(a: &Features, b: &Features, pair: Pair) -> Option<Rule> {
    let mut s = compare(a, b, 0, &Uniform);
    decide(a, b, &mut s, pair, &Uniform, &GroupingConfig::default())
}

fn other() -> Pair {
    Pair::default()
}

#[test]
fn a_summary_is_contained_in_the_full_text() {
    let full = extract("Putin wants ceasefire on current lines", FULL);
    let lede = extract(
        "Exclusive: Putin ready for ceasefire",
        "Russian President Vladimir Putin is ready to end the war in Ukraine and negotiate a ceasefire that recognizes the current battle lines, four Russian sources told Reuters.",
    );
    let s = compare(&full, &lede, 3600, &Uniform);
    assert!(s.containment > 0.95, "{s:?}");
    assert_eq!(verdict(&full, &lede, other()), Some(Rule::Containment));
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
    assert_eq!(verdict(&a, &b, other()), None);
}

#[test]
fn unrelated_texts_do_not_match() {
    let a = extract("Gold", FULL);
    let b = extract("Wheat", "Italy's barley crop is generally in good condition and harvesting is expected to begin shortly, the board said in its monthly report.");
    assert_eq!(verdict(&a, &b, other()), None);
}

#[test]
fn sharing_a_quotation_is_not_a_copy() {
    let quote = "\"She has decided to seek treatment and asks for privacy for herself and her family at this time,\" her spokesman Daniel Reyes said in a statement.";
    let a = extract(
        "Lana Moretti enters rehab, spokesman says",
        &format!("Singer Lana Moretti has checked into a residential treatment centre in Arizona, her representative confirmed on Thursday.\n{quote}\nThe 31-year-old cancelled the last four dates of her European tour last month, citing exhaustion."),
    );
    let b = extract(
        "Lana Moretti enters rehab, says spokesman",
        &format!("Pop star Lana Moretti is in rehab, according to her spokesman, weeks after she abruptly called off the end of her tour.\n{quote}\nFans had voiced concern online after the singer appeared unsteady during a concert in Lisbon in September."),
    );
    let s = compare(&a, &b, 0, &Uniform);
    assert!(s.title > 0.8, "near-identical titles: {s:?}");
    assert!(shared_text(&a, &b, &Uniform) > 0.2, "they share the quote");
    assert_eq!(verdict(&a, &b, other()), None, "{s:?}");
}

#[test]
fn one_outlet_is_a_copy_of_itself_only_for_the_same_article() {
    let a = extract("Putin wants ceasefire", FULL);
    let b = extract("Putin wants ceasefire", FULL);
    let same_outlet = Pair {
        same_outlet: true,
        same_link: false,
    };
    assert_eq!(verdict(&a, &b, same_outlet), None);
    let republished = Pair {
        same_outlet: true,
        same_link: true,
    };
    assert_eq!(verdict(&a, &b, republished), Some(Rule::Containment));
}

#[test]
fn an_entry_without_text_is_its_link() {
    let a = extract("Fire destroys historic warehouse in Bergen", "");
    let b = extract("Fire destroys historic warehouse in Bergen", "");
    assert_eq!(
        verdict(&a, &b, other()),
        None,
        "a title alone is not enough"
    );
    let same = Pair {
        same_outlet: false,
        same_link: true,
    };
    assert_eq!(verdict(&a, &b, same), Some(Rule::SameLink));
}
