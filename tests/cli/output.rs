//! Readers of the binary's machine output: JSON lines and CSV.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::Run;

/// Parses JSON lines, failing on any line that is not one JSON object.
pub fn json_lines(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}"));
            assert!(v.is_object(), "{l}");
            v
        })
        .collect()
}

/// A strict RFC 4180 reader: quoted fields may hold commas, quotes (doubled)
/// and newlines.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    quoted = false;
                    assert!(
                        matches!(chars.peek(), None | Some(',') | Some('\n') | Some('\r')),
                        "text after a closing quote in {text:?}"
                    );
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' => panic!("bare quote inside an unquoted field in {text:?}"),
            ',' => {
                record.push(std::mem::take(&mut field));
                at_start = true;
            }
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                at_start = true;
            }
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    assert!(!quoted, "unterminated quote in {text:?}");
    assert!(field.is_empty() && record.is_empty(), "no final newline");
    records
}

/// CSV output as maps of header -> value.
pub fn csv_rows(run: &Run) -> Vec<BTreeMap<String, String>> {
    let records = parse_csv(&run.stdout);
    let (header, rows) = records.split_first().expect("a header row");
    rows.iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "row {r:?} vs header {header:?}");
            header.iter().cloned().zip(r.iter().cloned()).collect()
        })
        .collect()
}
