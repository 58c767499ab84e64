//! Wire credit: which news agency an entry's text says it came from.
//!
//! Part of the normalizer stage. Looks for the ways copies credit a wire:
//! a dateline credit "(Reuters) -", "Source: AFP", "told Reuters",
//! "according to the Associated Press", "AP reports", "via Bloomberg",
//! "Reporting by ...; Editing by ..." (Reuters' sign-off). Only agencies of
//! a fixed list count, so "Source: Skai" (a broadcaster that reposted the
//! story) credits no wire. The store keeps the credit per entry and names
//! the story's origin from its entries.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

/// Agencies recognized, each with its spellings. Short acronyms match only
/// in their usual capitals.
const WIRES: &[(&str, &[&str])] = &[
    ("Reuters", &["Reuters", "REUTERS", "Thomson Reuters"]),
    ("AP", &["AP", "Associated Press", "The Associated Press"]),
    (
        "AFP",
        &["AFP", "Agence France-Presse", "Agence France Presse"],
    ),
    ("Bloomberg", &["Bloomberg", "Bloomberg News"]),
    ("dpa", &["dpa", "DPA", "Deutsche Presse-Agentur"]),
    ("ANSA", &["ANSA"]),
    ("EFE", &["EFE"]),
    ("Kyodo", &["Kyodo", "Kyodo News"]),
    ("Xinhua", &["Xinhua"]),
    ("TASS", &["TASS", "Tass"]),
    ("Interfax", &["Interfax"]),
    ("UPI", &["UPI", "United Press International"]),
    ("PA Media", &["PA Media", "Press Association"]),
    ("PTI", &["PTI", "Press Trust of India"]),
    ("ANI", &["ANI"]),
    ("Yonhap", &["Yonhap"]),
    ("Anadolu", &["Anadolu Agency", "Anadolu"]),
    ("RIA Novosti", &["RIA Novosti", "RIA"]),
    ("Jiji", &["Jiji Press", "Jiji"]),
    ("Europa Press", &["Europa Press"]),
    ("Lusa", &["Lusa"]),
    ("AAP", &["AAP", "Australian Associated Press"]),
    ("CP", &["Canadian Press", "The Canadian Press"]),
];

/// Words before a name that make it a credit.
const BEFORE: &[&str] = &[
    "(",
    "source: ",
    "sources: ",
    "source :",
    "source - ",
    "told ",
    "according to ",
    "via ",
    "\u{a9} ",
    "(c) ",
    "copyright ",
    "courtesy of ",
    "credit: ",
    "photo: ",
    "wrote ",
    "reported by ",
];

/// Words after a name that make it a credit.
const AFTER: &[&str] = &[
    ")",
    " reports",
    " reported",
    " contributed",
    " news agency",
    " said in a report",
    " wire",
];

fn is_word_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric())
}

/// Every spelling of every agency, searched for at once, with the index
/// in [`WIRES`] of the agency each names.
static NAMES: LazyLock<Option<(AhoCorasick, Vec<usize>)>> = LazyLock::new(|| {
    let mut names = Vec::new();
    let mut wires = Vec::new();
    for (i, (_, spellings)) in WIRES.iter().enumerate() {
        for name in *spellings {
            names.push(*name);
            wires.push(i);
        }
    }
    AhoCorasick::new(names).ok().map(|ac| (ac, wires))
});

/// Reuters' sign-off ("Reporting by ...; Editing by ...").
static SIGN_OFF: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(["reporting by", "editing by"])
        .ok()
});

/// The wire the text credits, the earliest credit in the text winning.
pub fn credited_wire(text: &str) -> Option<&'static str> {
    let signed = SIGN_OFF.as_ref().is_some_and(|ac| {
        let mut found = [false; 2];
        for m in ac.find_overlapping_iter(text) {
            found[m.pattern().as_usize()] = true;
        }
        found == [true, true]
    });
    // The earliest credit; at one position, the agency listed first.
    let mut best: Option<(usize, usize)> = None;
    if let Some((ac, wires)) = NAMES.as_ref() {
        for m in ac.find_overlapping_iter(text) {
            let (start, end) = (m.start(), m.end());
            let wire = wires[m.pattern().as_usize()];
            if best.is_some_and(|b| b <= (start, wire))
                || is_word_char(text[..start].chars().next_back())
                || is_word_char(text[end..].chars().next())
            {
                continue;
            }
            // A little context either side, lower-cased.
            let before: String = text[..start]
                .chars()
                .rev()
                .take(24)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let before = before.to_lowercase();
            let before = before.strip_suffix("the ").unwrap_or(&before);
            let after: String = text[end..]
                .chars()
                .take(24)
                .collect::<String>()
                .to_lowercase();
            let credited = BEFORE.iter().any(|b| before.ends_with(b))
                || AFTER.iter().any(|a| after.starts_with(a))
                || (signed && WIRES[wire].0 == "Reuters");
            if credited {
                best = Some((start, wire));
            }
        }
    }
    match best {
        Some((_, wire)) => Some(WIRES[wire].0),
        None if signed => Some("Reuters"),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_are_found() {
        assert_eq!(
            credited_wire("LONDON (Reuters) - Oil rose."),
            Some("Reuters")
        );
        assert_eq!(
            credited_wire("four Russian sources told Reuters that Putin is ready"),
            Some("Reuters")
        );
        assert_eq!(credited_wire("Prices fell.\nSource: AFP"), Some("AFP"));
        assert_eq!(
            credited_wire("The quake hit at dawn, AP reports."),
            Some("AP")
        );
        assert_eq!(
            credited_wire("according to the Associated Press, the vote"),
            Some("AP")
        );
        assert_eq!(credited_wire("BERLIN (dpa) - Die Regierung"), Some("dpa"));
    }

    #[test]
    fn non_credits_and_non_wires_are_not() {
        assert_eq!(credited_wire("Source: Skai"), None);
        assert_eq!(
            credited_wire("Reuters shares rose 3 pct on the news."),
            None
        );
        assert_eq!(credited_wire("The map app was updated."), None);
        assert_eq!(credited_wire("an APPLE a day"), None);
        assert_eq!(credited_wire(""), None);
    }

    #[test]
    fn the_earliest_credit_wins() {
        assert_eq!(
            credited_wire("(AFP) - Talks began. Later, officials told Reuters more."),
            Some("AFP")
        );
    }
}
