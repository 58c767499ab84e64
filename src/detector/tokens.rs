//! Tokenization for the detector (pure, no I/O): text cut into folded
//! word tokens that survive the ways syndicated copies differ (case,
//! punctuation, thousands separators, wire abbreviations and spelling
//! variants, function words), each marked with what the rules need:
//! whether it is a figure, whether it stands inside quotation marks
//! (someone's words, not the writer's), whether it was written with a
//! capital inside a sentence (a cheap proper-noun signal), and the
//! sentence it belongs to.

/// Words too common to carry meaning; retranslation adds and drops them freely.
/// [`is_stopword`] matches these words; the tests check the two agree.
#[cfg(test)]
pub(crate) const STOPWORDS: &[&str] = &[
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
    // The words of STOPWORDS (words too common to carry meaning), as a
    // match (a few length and byte comparisons, like `fold_variant`)
    // rather than a binary search of string comparisons: it runs for every
    // word of every entry.
    matches!(
        word,
        "a" | "about"
            | "after"
            | "also"
            | "an"
            | "and"
            | "are"
            | "as"
            | "at"
            | "be"
            | "been"
            | "but"
            | "by"
            | "for"
            | "from"
            | "had"
            | "has"
            | "have"
            | "he"
            | "her"
            | "his"
            | "i"
            | "if"
            | "in"
            | "into"
            | "is"
            | "it"
            | "its"
            | "more"
            | "not"
            | "of"
            | "on"
            | "or"
            | "our"
            | "over"
            | "s"
            | "said"
            | "says"
            | "she"
            | "so"
            | "than"
            | "that"
            | "the"
            | "their"
            | "them"
            | "there"
            | "they"
            | "this"
            | "to"
            | "up"
            | "was"
            | "we"
            | "were"
            | "which"
            | "while"
            | "who"
            | "will"
            | "with"
            | "would"
            | "you"
    )
}

/// Opening quotation marks other than `"`.
const OPEN_QUOTES: [char; 3] = ['\u{201c}', '\u{ab}', '\u{201e}'];
/// Closing quotation marks other than `"`.
const CLOSE_QUOTES: [char; 2] = ['\u{201d}', '\u{bb}'];

/// What is known about one token besides its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    /// A figure (digits, with a decimal point or a letter suffix kept).
    pub number: bool,
    /// Inside quotation marks.
    pub quoted: bool,
    /// Written with a capital letter, not as the first word of its sentence.
    pub cap: bool,
    /// The running number of its sentence in the text.
    pub sentence: u32,
}

/// The tokens of a text, in one buffer: no allocation per word.
#[derive(Debug, Default, Clone)]
pub struct Tokens {
    text: String,
    /// Start and end in `text`, and the token's flags.
    spans: Vec<(u32, u32, Flags)>,
}

impl Tokens {
    /// Empties the buffer (keeping its memory).
    pub fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
    }

    /// How many tokens.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there is no token.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The `i`th token's text.
    pub fn word(&self, i: usize) -> &str {
        let (start, end, _) = self.spans[i];
        &self.text[start as usize..end as usize]
    }

    /// The `i`th token's flags.
    pub fn flags(&self, i: usize) -> Flags {
        self.spans[i].2
    }

    /// Every token with its flags.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Flags)> + '_ {
        self.spans
            .iter()
            .map(|&(start, end, flags)| (&self.text[start as usize..end as usize], flags))
    }

    /// Appends a token.
    pub fn push_token(&mut self, word: &str, flags: Flags) {
        self.push(word, flags);
    }

    fn push(&mut self, word: &str, flags: Flags) {
        let start = self.text.len() as u32;
        self.text.push_str(word);
        self.spans.push((start, self.text.len() as u32, flags));
    }

    /// A hash of the words as a sequence: equal for lines that fold to the
    /// same words (flags are left out).
    pub fn key(&self) -> u64 {
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

/// Tokenizes a text line by line into `out` (cleared first), carrying the
/// quotation state across lines: a quotation that runs over paragraphs
/// re-opens each with a quote mark (the usual convention), and one left
/// open for more than two lines is taken for a stray mark and closed.
/// Sentences are numbered across the whole text.
pub fn tokenize_text<'a>(lines: impl Iterator<Item = &'a str>, out: &mut Tokens) {
    out.clear();
    let mut chars = Vec::new();
    let mut quoted = false;
    let mut open_lines = 0;
    // Raw sentence numbers: each line starts a new one, and each sentence
    // end within a line another; renumbered densely below.
    let mut sentence: u32 = 0;
    for line in lines {
        let mut line = line;
        if quoted {
            let stripped = line.trim_start();
            if let Some(c) = stripped.chars().next() {
                if c == '"' || OPEN_QUOTES.contains(&c) {
                    line = &stripped[c.len_utf8()..];
                }
            }
            open_lines += 1;
            if open_lines > 2 {
                quoted = false;
                open_lines = 0;
            }
        }
        let (end_quoted, saw_mark, sentences) =
            tokenize_line(line, quoted, sentence, &mut chars, out);
        sentence += sentences + 1;
        if saw_mark {
            open_lines = 0;
        }
        quoted = end_quoted;
    }
    // A sentence is the run of tokens with one raw number.
    let mut last = None;
    let mut next: u32 = 0;
    for span in &mut out.spans {
        let s = span.2.sentence;
        if last != Some(s) {
            last = Some(s);
            next += 1;
        }
        span.2.sentence = next - 1;
    }
}

/// Tokenizes one line onto `out`, starting inside a quotation if `quoted`,
/// numbering its sentences from `sentence`. Returns whether a quotation is
/// still open at its end, whether it has a quote mark, and how many
/// sentence ends it had.
fn tokenize_line(
    line: &str,
    mut quoted: bool,
    sentence: u32,
    chars: &mut Vec<char>,
    out: &mut Tokens,
) -> (bool, bool, u32) {
    chars.clear();
    chars.extend(line.chars());
    let chars = &chars[..];
    let n = chars.len();
    let mut s = String::new();
    let mut i = 0;
    let mut saw_mark = false;
    let mut sent_start = true;
    let mut si: u32 = 0;
    while i < n {
        let c = chars[i];
        if c.is_ascii_digit() || (c.is_numeric() && !c.is_alphabetic()) {
            // A number: digits, with ',' or '.' between digit runs.
            s.clear();
            while i < n {
                let d = chars[i];
                if d.is_ascii_digit() || (d.is_numeric() && !d.is_alphabetic()) {
                    s.push(d);
                    i += 1;
                } else if (d == ',' || d == '.') && i + 1 < n && chars[i + 1].is_ascii_digit() {
                    if d == '.' {
                        s.push('.');
                    }
                    i += 1;
                } else {
                    break;
                }
            }
            // "1st", "4th", "1990s": keep a letter suffix glued on.
            while i < n && chars[i].is_alphabetic() {
                push_lower(&mut s, chars[i]);
                i += 1;
            }
            if !s.is_empty() {
                out.push(
                    &s,
                    Flags {
                        number: true,
                        quoted,
                        cap: false,
                        sentence: sentence + si,
                    },
                );
            }
            sent_start = false;
            continue;
        }
        if c.is_alphabetic() {
            let start = i;
            s.clear();
            // Dotted abbreviation: single letters separated by dots (U.S., U.K.).
            let mut j = i;
            let mut letters = 0;
            while j + 1 < n && chars[j].is_alphabetic() && chars[j + 1] == '.' {
                if j > i && chars[j - 1] != '.' {
                    break;
                }
                push_lower(&mut s, chars[j]);
                letters += 1;
                j += 2;
                if j >= n
                    || !chars[j].is_alphabetic()
                    || (j + 1 < n && chars[j + 1].is_alphabetic())
                {
                    break;
                }
            }
            if letters >= 2 {
                i = j;
            } else {
                s.clear();
                while i < n && chars[i].is_alphanumeric() {
                    push_lower(&mut s, chars[i]);
                    i += 1;
                }
            }
            // Possessive / contraction: drop "'s", "'t" and the like.
            if i + 1 < n && matches!(chars[i], '\'' | '\u{2019}') && chars[i + 1].is_alphabetic() {
                i += 1;
                while i < n && chars[i].is_alphanumeric() {
                    i += 1;
                }
            }
            let folded = fold_variant(&s);
            let cap = chars[start].is_uppercase() && !sent_start;
            sent_start = false;
            if !is_stopword(folded) {
                out.push(
                    folded,
                    Flags {
                        number: false,
                        quoted,
                        cap,
                        sentence: sentence + si,
                    },
                );
            }
            continue;
        }
        if c == '"' || OPEN_QUOTES.contains(&c) || CLOSE_QUOTES.contains(&c) {
            saw_mark = true;
        }
        if c == '"' {
            quoted = !quoted;
            if quoted {
                sent_start = true;
            }
        } else if OPEN_QUOTES.contains(&c) {
            quoted = true;
            sent_start = true;
        } else if CLOSE_QUOTES.contains(&c) {
            quoted = false;
        } else if matches!(c, '.' | '!' | '?') {
            if !sent_start
                && (i + 1 >= n
                    || matches!(
                        chars[i + 1],
                        ' ' | '\t' | '"' | '\u{201d}' | '\'' | '\u{2019}' | ')'
                    ))
            {
                si += 1;
            }
            sent_start = true;
        } else if c == ':' {
            sent_start = true;
        }
        i += 1;
    }
    (quoted, saw_mark, si)
}

/// The folded words of a text, without flags (for keys and tests).
pub fn words(text: &str) -> Vec<String> {
    let mut tokens = Tokens::default();
    tokenize_text(text.lines(), &mut tokens);
    tokens.iter().map(|(w, _)| w.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Tokens {
        let mut t = Tokens::default();
        tokenize_text(text.lines(), &mut t);
        t
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
    fn figures_quotes_capitals_and_sentences_are_marked() {
        let t = tokens(
            "Police said 25 people were hurt. \"We are shocked,\" Mayor Adams said.\nRescuers searched Brooklyn.",
        );
        let get = |w: &str| {
            t.iter()
                .find(|(x, _)| *x == w)
                .map(|(_, f)| f)
                .unwrap_or_else(|| panic!("no token {w}"))
        };
        assert!(get("25").number);
        assert!(!get("police").cap, "the first word of a sentence");
        assert!(get("shocked").quoted && !get("mayor").quoted);
        assert!(get("mayor").cap && get("adams").cap && get("brooklyn").cap);
        assert!(!get("rescuers").cap);
        let (a, b, c) = (
            get("people").sentence,
            get("mayor").sentence,
            get("brooklyn").sentence,
        );
        assert!(a < b && b < c, "{a} {b} {c}");
    }

    #[test]
    fn a_quotation_over_paragraphs_stays_open_and_a_stray_mark_closes() {
        let t = tokens("\"The first part\nand the second part.\"\nThe writer again.");
        let q: Vec<bool> = t.iter().map(|(_, f)| f.quoted).collect();
        assert_eq!(q, [true, true, true, true, false, false]);
        let stray = tokens("A stray \" mark\nline two\nline three\nline four\nline five");
        assert!(!stray.iter().last().expect("tokens").1.quoted);
    }

    #[test]
    fn stopwords_are_the_list() {
        for w in STOPWORDS {
            assert!(is_stopword(w), "{w}");
        }
        let text = "Abouts aboutt the THE their theirs them themselves i if ii s ss so son \
                    which whiche will willow with within would wouldn't you your a an and andes";
        for w in text
            .split_whitespace()
            .chain(["", "b", "aa", "said.", "says"])
        {
            assert_eq!(
                is_stopword(w),
                w.len() <= 5 && STOPWORDS.binary_search(&w).is_ok(),
                "{w}"
            );
        }
    }
}
