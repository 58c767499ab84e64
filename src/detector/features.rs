//! Feature extraction for the near-duplicate detector (pure, no I/O).
//!
//! Runs in the normalizer's blocking stage, so the writer only compares.
//! Text is cut into word tokens that survive the ways syndicated copies
//! differ: case, punctuation, thousands separators, wire abbreviations and
//! spelling variants (`pct`/`percent`, `U.S.`/`US`, `Kiev`/`Kyiv`) and
//! function words. From the tokens come:
//! - a 64-bit SimHash (the `simhash` crate) of the content words,
//! - the set of word-pair shingles, for containment and resemblance,
//! - the set of figures (numbers), which tell templated briefs apart,
//! - the set of title words.
//!
//! Boilerplate that feeds stick on (author bios, "Source: X", share links,
//! copyright lines, "Read more") is left out of the features: lines that
//! recur in several entries of one document, and lines that match a short
//! list of boilerplate openings.

use std::collections::HashMap;

/// Version of the feature encoding stored in `entries.features`.
/// Changing tokenization or hashing changes this and needs a regroup.
pub const FEATURES_VERSION: u8 = 1;

/// Near-duplicate features of one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// 64-bit SimHash of the content words of the text.
    pub simhash: u64,
    /// Sorted, unique hashes of consecutive content-word pairs of the text.
    pub shingles: Vec<u32>,
    /// Sorted, unique hashes of the first [`LEDE_SHINGLES`] word pairs of
    /// the text: its lede, which every copy of a story keeps.
    pub lede: Vec<u32>,
    /// Sorted, unique hashes of the figures in the text.
    pub numbers: Vec<u32>,
    /// Sorted, unique hashes of the content words of the title.
    pub title: Vec<u32>,
    /// How many content words the text has.
    pub words: u32,
}

/// How many leading word pairs make up the lede.
pub const LEDE_SHINGLES: usize = 16;

/// What the extractor needs to know about one entry.
#[derive(Debug, Clone, Copy)]
pub struct EntryText<'a> {
    /// Title as plain text.
    pub title: &'a str,
    /// The longest plain text of the entry (content, else summary).
    pub text: &'a str,
}

/// FNV-1a, 64 bits: a specified hash, so stored features stay comparable
/// across builds and platforms.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn hash32(s: &str) -> u32 {
    let h = fnv1a(s.as_bytes());
    (h ^ (h >> 32)) as u32
}

/// Words too common to carry meaning; retranslation adds and drops them freely.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "also", "an", "and", "are", "as", "at", "be", "been", "but", "by",
    "for", "from", "had", "has", "have", "he", "her", "his", "i", "if", "in", "into", "is", "it",
    "its", "more", "not", "of", "on", "or", "our", "over", "s", "said", "says", "she", "so",
    "than", "that", "the", "their", "them", "there", "they", "this", "to", "up", "was", "we",
    "were", "which", "while", "who", "will", "with", "would", "you",
];

/// Wire-service abbreviations and spelling variants, folded to one form.
fn fold_variant(word: &str) -> &str {
    // (A match compiles to a few length and byte comparisons; it runs for
    // every word of every entry.)
    match word {
        "pct" => "percent",
        "per cent" => "percent",
        "cts" => "cents",
        "ct" => "cent",
        "shr" => "share",
        "shrs" => "shares",
        "dlrs" => "dollars",
        "dlr" => "dollar",
        "usd" => "dollars",
        "mln" => "million",
        "mn" => "million",
        "bln" => "billion",
        "bn" => "billion",
        "vs" => "versus",
        "v" => "versus",
        "qtr" => "quarter",
        "rev" => "revenue",
        "revs" => "revenues",
        "yr" => "year",
        "yrs" => "years",
        "avg" => "average",
        "corp" => "corporation",
        "inc" => "incorporated",
        "co" => "company",
        "ltd" => "limited",
        "govt" => "government",
        "intl" => "international",
        "natl" => "national",
        "kiev" => "kyiv",
        "usa" => "us",
        "uk" => "britain",
        "gb" => "britain",
        "colour" => "color",
        "favour" => "favor",
        "labour" => "labor",
        "defence" => "defense",
        "centre" => "center",
        "programme" => "program",
        "organisation" => "organization",
        "stg" => "sterling",
        "pts" => "points",
        "pt" => "point",
        other => other,
    }
}

fn is_stopword(word: &str) -> bool {
    word.len() <= 5 && STOPWORDS.binary_search(&word).is_ok()
}

/// A token of text: a folded word, or a number with separators removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The folded form.
    pub text: String,
    /// Whether it is a figure.
    pub number: bool,
}

/// Cuts text into folded tokens (stopwords removed).
///
/// `2,267,000` becomes `2267000`; `1.5` stays; `U.S.` becomes `us`;
/// `Putin's` becomes `putin`; words are lower-cased and variants folded.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Tokens::default();
    tokenize_into(text, &mut Vec::new(), &mut tokens);
    tokens
        .iter()
        .map(|(text, number)| Token {
            text: text.to_string(),
            number,
        })
        .collect()
}

/// Tokens of a text in one buffer: no allocation per word.
#[derive(Debug, Default)]
struct Tokens {
    text: String,
    /// Start and end in `text`, and whether it is a figure.
    spans: Vec<(usize, usize, bool)>,
}

impl Tokens {
    fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
    }

    fn len(&self) -> usize {
        self.spans.len()
    }

    fn word(&self, i: usize) -> &str {
        let (start, end, _) = self.spans[i];
        &self.text[start..end]
    }

    fn iter(&self) -> impl Iterator<Item = (&str, bool)> + '_ {
        self.spans
            .iter()
            .map(|&(start, end, number)| (&self.text[start..end], number))
    }

    fn push(&mut self, word: &str, number: bool) {
        let start = self.text.len();
        self.text.push_str(word);
        self.spans.push((start, self.text.len(), number));
    }

    /// Appends the tokens of `other`.
    fn extend(&mut self, other: &Tokens) {
        for (word, number) in other.iter() {
            self.push(word, number);
        }
    }

    /// A hash of the tokens as a sequence: equal for lines that fold to
    /// the same words.
    fn key(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (word, _) in self.iter() {
            for b in word.bytes().chain(std::iter::once(0xff)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        h
    }
}

fn push_lower(s: &mut String, c: char) {
    if c.is_ascii() {
        s.push(c.to_ascii_lowercase());
    } else {
        s.extend(c.to_lowercase());
    }
}

/// [`tokenize`] into `out` (cleared first), with `chars` as scratch space.
fn tokenize_into(text: &str, chars: &mut Vec<char>, out: &mut Tokens) {
    out.clear();
    chars.clear();
    chars.extend(text.chars());
    let chars = &chars[..];
    let mut s = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || (c.is_numeric() && c.is_alphanumeric() && !c.is_alphabetic()) {
            // A number: digits, with ',' or '.' between digit runs.
            s.clear();
            while i < chars.len() {
                let d = chars[i];
                if d.is_ascii_digit() {
                    s.push(d);
                    i += 1;
                } else if (d == ',' || d == '.')
                    && i + 1 < chars.len()
                    && chars[i + 1].is_ascii_digit()
                {
                    if d == '.' {
                        s.push('.');
                    }
                    i += 1;
                } else {
                    break;
                }
            }
            // "1st", "4th", "1990s": keep a letter suffix glued on.
            while i < chars.len() && chars[i].is_alphabetic() {
                push_lower(&mut s, chars[i]);
                i += 1;
            }
            if s.is_empty() {
                i += 1;
                continue;
            }
            out.push(&s, true);
        } else if c.is_alphabetic() {
            s.clear();
            // Dotted abbreviation: single letters separated by dots (U.S., U.K.).
            let mut j = i;
            while j + 1 < chars.len() && chars[j].is_alphabetic() && chars[j + 1] == '.' {
                if j > i && chars[j - 1] != '.' {
                    break;
                }
                push_lower(&mut s, chars[j]);
                j += 2;
                if j >= chars.len()
                    || !chars[j].is_alphabetic()
                    || (j + 1 < chars.len() && chars[j + 1].is_alphabetic())
                {
                    break;
                }
            }
            if s.chars().count() >= 2 {
                i = j;
            } else {
                s.clear();
                while i < chars.len() && (chars[i].is_alphanumeric()) {
                    push_lower(&mut s, chars[i]);
                    i += 1;
                }
            }
            // Possessive / contraction: drop "'s", "'t" and the like.
            if i + 1 < chars.len()
                && matches!(chars[i], '\'' | '\u{2019}')
                && chars[i + 1].is_alphabetic()
            {
                i += 1;
                while i < chars.len() && chars[i].is_alphanumeric() {
                    i += 1;
                }
            }
            let folded = fold_variant(&s);
            if !is_stopword(folded) {
                out.push(folded, false);
            }
        } else {
            i += 1;
        }
    }
}

/// Line openings that mark boilerplate rather than story text.
const BOILERPLATE_OPENINGS: &[&str] = &[
    "source:",
    "source :",
    "sources:",
    "read more",
    "continue reading",
    "full story",
    "read the full",
    "share this",
    "share:",
    "follow us",
    "click here",
    "copyright",
    "\u{a9}",
    "(c) ",
    "all rights reserved",
    "about the author",
    "the author",
    "subscribe",
    "sign up",
    "related:",
    "related articles",
    "advertisement",
    "photo:",
    "file photo",
    "image:",
    "[...]",
    "\u{2026}",
    "...",
    "the post ",
    "this article",
];

fn is_boilerplate_line(line: &str) -> bool {
    let l = line.trim().to_lowercase();
    if l.is_empty() {
        return true;
    }
    BOILERPLATE_OPENINGS.iter().any(|p| l.starts_with(p)) || l.contains("all rights reserved")
}

fn line_key(line: &str) -> String {
    tokenize(line)
        .into_iter()
        .map(|t| t.text)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lines (paragraphs) that recur in many entries of one document: bios,
/// sign-offs and share bars that a feed sticks on every entry. "Many" is at
/// least two entries and at least 30% of them, so two duplicate stories in
/// a long feed keep their text. Lines are compared by their tokens' key.
fn repeated_lines(entries: &[Vec<(u64, Tokens)>]) -> std::collections::HashSet<u64> {
    let mut counts: HashMap<u64, usize> = HashMap::new();
    for lines in entries {
        let mut seen = std::collections::HashSet::new();
        for (key, tokens) in lines {
            if tokens.len() > 0 && seen.insert(*key) {
                *counts.entry(*key).or_default() += 1;
            }
        }
    }
    let needed = (entries.len() * 3).div_ceil(10).max(2);
    counts
        .into_iter()
        .filter(|(_, n)| *n >= needed)
        .map(|(k, _)| k)
        .collect()
}

/// A feed's title decorations: a leading or trailing segment (" - Outlet",
/// "Outlet | ", "Analysis: ") that recurs in most titles of the document or
/// names the feed.
pub fn title_affixes(titles: &[&str], feed_title: Option<&str>) -> Vec<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for title in titles {
        for seg in affix_segments(title) {
            *counts.entry(seg).or_default() += 1;
        }
    }
    let feed_key = feed_title.map(line_key).unwrap_or_default();
    let needed = (titles.len() / 3).max(2);
    counts
        .into_iter()
        .filter(|(seg, n)| *n >= needed || (!feed_key.is_empty() && *seg == feed_key))
        .map(|(seg, _)| seg)
        .collect()
}

const TITLE_SEPARATORS: &[&str] = &[" - ", " | ", " \u{2013} ", " \u{2014} ", ": ", " :: "];

fn affix_segments(title: &str) -> Vec<String> {
    let mut out = Vec::new();
    for sep in TITLE_SEPARATORS {
        if let Some(pos) = title.find(sep) {
            out.push(line_key(&title[..pos]));
        }
        if let Some(pos) = title.rfind(sep) {
            out.push(line_key(&title[pos + sep.len()..]));
        }
    }
    out.retain(|s| !s.is_empty() && s.split(' ').count() <= 4);
    out.sort();
    out.dedup();
    out
}

fn strip_title_affixes(title: &str, affixes: &[String]) -> String {
    let mut t = title.to_string();
    for sep in TITLE_SEPARATORS {
        if let Some(pos) = t.rfind(sep) {
            if affixes.contains(&line_key(&t[pos + sep.len()..])) {
                t.truncate(pos);
            }
        }
        if let Some(pos) = t.find(sep) {
            if affixes.contains(&line_key(&t[..pos])) {
                t = t[pos + sep.len()..].to_string();
            }
        }
    }
    t
}

/// Extracts features of every entry of one document at once, so that lines
/// and title decorations shared across the document are recognized.
pub fn extract_document(entries: &[EntryText<'_>], feed_title: Option<&str>) -> Vec<Features> {
    // Each line is tokenized once: tokens never span lines, so a text's
    // tokens are its lines' tokens, and the kept lines' tokens are those of
    // the text without the left-out lines.
    let mut chars = Vec::new();
    let lines: Vec<Vec<(u64, Tokens)>> = entries
        .iter()
        .map(|e| {
            e.text
                .lines()
                .map(|line| {
                    let mut tokens = Tokens::default();
                    tokenize_into(line, &mut chars, &mut tokens);
                    (tokens.key(), tokens)
                })
                .collect()
        })
        .collect();
    let repeated = repeated_lines(&lines);
    let titles: Vec<&str> = entries.iter().map(|e| e.title).collect();
    let affixes = title_affixes(&titles, feed_title);
    let mut body = Tokens::default();
    let mut title_tokens = Tokens::default();
    entries
        .iter()
        .zip(&lines)
        .map(|(e, lines)| {
            let title = strip_title_affixes(e.title, &affixes);
            body.clear();
            let mut kept_any = false;
            for (line, (key, tokens)) in e.text.lines().zip(lines) {
                if !is_boilerplate_line(line) && !repeated.contains(key) {
                    body.extend(tokens);
                    kept_any = true;
                }
            }
            if !kept_any {
                // Everything looked like boilerplate: better the whole text than none.
                for (_, tokens) in lines {
                    body.extend(tokens);
                }
            }
            tokenize_into(&title, &mut chars, &mut title_tokens);
            from_tokens(&body, &title_tokens)
        })
        .collect()
}

/// Extracts the features of one entry from its (cleaned) title and text.
pub fn extract(title: &str, text: &str) -> Features {
    let mut chars = Vec::new();
    let mut body = Tokens::default();
    let mut title_tokens = Tokens::default();
    tokenize_into(text, &mut chars, &mut body);
    tokenize_into(title, &mut chars, &mut title_tokens);
    from_tokens(&body, &title_tokens)
}

/// The 64-bit SimHash of a stream of words, bit for bit what
/// `simhash::simhash_stream` computes (SipHash-2-4 of each word as `Hash`
/// feeds it, bits voted by every word), with the vote counted in a form
/// the compiler vectorizes: it runs for every word of every entry.
pub fn simhash_of<'w>(words: impl Iterator<Item = &'w str>) -> u64 {
    use std::hash::Hasher;
    let mut votes = [0_i64; 64];
    for word in words {
        let mut hasher = siphasher::sip::SipHasher::new();
        hasher.write(word.as_bytes());
        hasher.write_u8(0xff);
        let h = hasher.finish();
        for (i, vote) in votes.iter_mut().enumerate() {
            *vote += (((h >> i) & 1) as i64) * 2 - 1;
        }
    }
    votes
        .iter()
        .enumerate()
        .filter(|(_, vote)| **vote > 0)
        .fold(0, |hash, (i, _)| hash | 1 << i)
}

fn from_tokens(tokens: &Tokens, title: &Tokens) -> Features {
    let simhash = simhash_of(tokens.iter().map(|(word, _)| word));
    let mut shingles: Vec<u32> = if tokens.len() == 1 {
        vec![hash32(tokens.word(0))]
    } else {
        let mut pair = String::new();
        (1..tokens.len())
            .map(|i| {
                pair.clear();
                pair.push_str(tokens.word(i - 1));
                pair.push(' ');
                pair.push_str(tokens.word(i));
                hash32(&pair)
            })
            .collect()
    };
    let mut lede: Vec<u32> = shingles.iter().take(LEDE_SHINGLES).copied().collect();
    lede.sort_unstable();
    lede.dedup();
    shingles.sort_unstable();
    shingles.dedup();
    let mut numbers: Vec<u32> = tokens
        .iter()
        .filter(|(_, number)| *number)
        .map(|(word, _)| hash32(word))
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    let mut title: Vec<u32> = title.iter().map(|(word, _)| hash32(word)).collect();
    title.sort_unstable();
    title.dedup();
    Features {
        simhash,
        shingles,
        lede,
        numbers,
        title,
        words: u32::try_from(tokens.len()).unwrap_or(u32::MAX),
    }
}

impl Features {
    /// Encodes the features for `entries.features` (little-endian, versioned).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            1 + 8
                + 4
                + 12
                + 4 * (self.shingles.len()
                    + self.lede.len()
                    + self.numbers.len()
                    + self.title.len()),
        );
        out.push(FEATURES_VERSION);
        out.extend_from_slice(&self.simhash.to_le_bytes());
        out.extend_from_slice(&self.words.to_le_bytes());
        for list in [&self.shingles, &self.lede, &self.numbers, &self.title] {
            let n = u32::try_from(list.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&n.to_le_bytes());
            for v in list.iter().take(n as usize) {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    /// Decodes [`Features::encode`] output; `None` if it is not of this version or is cut short.
    pub fn decode(bytes: &[u8]) -> Option<Features> {
        let (&version, mut rest) = bytes.split_first()?;
        if version != FEATURES_VERSION {
            return None;
        }
        fn take<const N: usize>(rest: &mut &[u8]) -> Option<[u8; N]> {
            if rest.len() < N {
                return None;
            }
            let (head, tail) = rest.split_at(N);
            *rest = tail;
            head.try_into().ok()
        }
        let simhash = u64::from_le_bytes(take::<8>(&mut rest)?);
        let words = u32::from_le_bytes(take::<4>(&mut rest)?);
        let mut lists: [Vec<u32>; 4] = Default::default();
        for list in lists.iter_mut() {
            let n = u32::from_le_bytes(take::<4>(&mut rest)?) as usize;
            if rest.len() < n.checked_mul(4)? {
                return None;
            }
            list.reserve(n);
            for _ in 0..n {
                list.push(u32::from_le_bytes(take::<4>(&mut rest)?));
            }
        }
        let [shingles, lede, numbers, title] = lists;
        Some(Features {
            simhash,
            shingles,
            lede,
            numbers,
            title,
            words,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokenize(text).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn simhash_is_the_simhash_crates() {
        for text in [
            "",
            "oil",
            "Oil prices rose sharply on Monday after the cartel met in Vienna",
            "Путин готов к прекращению огня 停火 2,267,000 dlrs",
        ] {
            let words: Vec<&str> = text.split_whitespace().collect();
            assert_eq!(
                simhash_of(words.iter().copied()),
                simhash::simhash_stream(words.iter().copied()),
                "{text}"
            );
        }
    }

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        let mut sorted = STOPWORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, STOPWORDS);
    }

    #[test]
    fn tokens_fold_case_numbers_and_variants() {
        assert_eq!(
            words("Revs 2,267,000 vs 791,000 dlrs, up 1.5 pct in the U.S."),
            ["revenues", "2267000", "versus", "791000", "dollars", "1.5", "percent", "us"]
        );
        assert_eq!(
            words("Putin’s forces near Kiev"),
            ["putin", "forces", "near", "kyiv"]
        );
        assert_eq!(words("1st Qtr NET"), ["1st", "quarter", "net"]);
        assert_eq!(words("U.K. money"), ["britain", "money"]);
    }

    #[test]
    fn numbers_are_marked() {
        let t = tokenize("shr 12 cts");
        assert!(!t[0].number);
        assert!(t[1].number);
    }

    #[test]
    fn repeated_lines_and_boilerplate_are_left_out() {
        let a = "Oil prices rose sharply on Monday after the cartel met.\nAbout the author: a reporter.";
        let b =
            "Gold fell in early trade in London on heavy selling.\nAbout the author: a reporter.";
        let with = extract_document(
            &[
                EntryText {
                    title: "Oil",
                    text: a,
                },
                EntryText {
                    title: "Gold",
                    text: b,
                },
            ],
            None,
        );
        let plain = extract(
            "Oil",
            "Oil prices rose sharply on Monday after the cartel met.",
        );
        assert_eq!(with[0].shingles, plain.shingles);
        let src = extract_document(
            &[EntryText {
                title: "x",
                text: "Gold fell.\nSource: Skai",
            }],
            None,
        );
        assert_eq!(src[0].shingles, extract("x", "Gold fell.").shingles);
    }

    #[test]
    fn title_decorations_of_the_feed_are_stripped() {
        let titles = [
            "Oil rises - Dailybrief",
            "Gold falls - Dailybrief",
            "Wheat steady - Dailybrief",
        ];
        let entries: Vec<EntryText> = titles
            .iter()
            .map(|t| EntryText {
                title: t,
                text: "x",
            })
            .collect();
        let f = extract_document(&entries, Some("Dailybrief"));
        assert_eq!(f[0].title, extract("Oil rises", "").title);
    }

    #[test]
    fn encoding_round_trips_and_rejects_garbage() {
        let f = extract(
            "Putin ready for ceasefire",
            "Putin is ready to negotiate a ceasefire, sources said 4 times.",
        );
        assert_eq!(Features::decode(&f.encode()), Some(f.clone()));
        assert_eq!(Features::decode(&[]), None);
        assert_eq!(Features::decode(&[FEATURES_VERSION, 1, 2]), None);
        let mut bad = f.encode();
        bad.truncate(bad.len() - 2);
        assert_eq!(Features::decode(&bad), None);
    }
}
