//! A strict reader of the Prometheus text exposition format (0.0.4), for
//! `/metrics`: what `promtool check metrics` checks where it is installed,
//! and this wherever it is not. It refuses anything the format does not
//! allow and what `promtool` lints against.
//!
//! - every line is a `# HELP`, a `# TYPE` or a sample, and the text ends
//!   with a line feed;
//! - names are `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names
//!   `[a-zA-Z_][a-zA-Z0-9_]*`, label values use only the `\\`, `\"` and
//!   `\n` escapes, values are floats (or `+Inf`, `-Inf`, `NaN`);
//! - each family has one HELP and one TYPE (`counter`, `gauge`,
//!   `histogram`, `summary`, `untyped`) before its samples, and its samples
//!   are together; no series twice;
//! - counters are named `*_total`; a histogram has `_bucket` series with
//!   increasing `le` and non-decreasing counts, a `+Inf` bucket equal to
//!   `_count`, and `_sum`.

use std::collections::{BTreeMap, HashMap, HashSet};

/// The samples of an exposition: `name{labels}` (labels as written, sorted) → value.
pub type Samples = BTreeMap<String, f64>;

fn metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| format!("bad value {s:?}")),
    }
}

/// A sample's labels, in order.
type Labels = Vec<(String, String)>;

/// `{a="x",b="y"}` → pairs; the rest of the line after it.
fn labels(s: &str) -> Result<(Labels, &str), String> {
    let mut out = Vec::new();
    let mut rest = s.strip_prefix('{').ok_or("labels must start with {")?;
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((out, r));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value must be quoted")?;
        let mut v = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => v.push('\\'),
                    Some((_, '"')) => v.push('"'),
                    Some((_, 'n')) => v.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((i, '"')) => break i,
                Some((_, '\n')) => return Err("line feed in a label value".into()),
                Some((_, c)) => v.push(c),
                None => return Err("unterminated label value".into()),
            }
        };
        out.push((name.to_string(), v));
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err("labels must be separated by ,".into());
        }
    }
}

/// The family a sample belongs to (a histogram's `_bucket`, `_sum`,
/// `_count` belong to the histogram).
fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if types
                .get(base)
                .is_some_and(|t| t == "histogram" || t == "summary")
            {
                return base;
            }
        }
    }
    name
}

/// Parses and checks an exposition; returns its samples.
pub fn parse(text: &str) -> Result<Samples, String> {
    if !text.ends_with('\n') {
        return Err("the text must end with a line feed".into());
    }
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helps: HashSet<String> = HashSet::new();
    let mut done: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut sampled: HashSet<String> = HashSet::new();
    let mut samples = Samples::new();
    // Histogram name → [(le, count)], sum, count.
    let mut buckets: HashMap<String, Vec<(f64, f64)>> = HashMap::new();
    let mut sums: HashSet<String> = HashSet::new();
    let mut counts: HashMap<String, f64> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if line.is_empty() {
            return Err(at("empty line".into()));
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name, arg) = (parts.next(), parts.next(), parts.next());
            let name = name.ok_or_else(|| at("no metric name".into()))?;
            if !metric_name(name) {
                return Err(at(format!("bad metric name {name:?}")));
            }
            if done.contains(name) || sampled.contains(name) {
                return Err(at(format!("{name} is described after its samples")));
            }
            match kind {
                Some("HELP") => {
                    if !helps.insert(name.to_string()) {
                        return Err(at(format!("second HELP for {name}")));
                    }
                }
                Some("TYPE") => {
                    let t = arg.ok_or_else(|| at("TYPE without a type".into()))?;
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&t) {
                        return Err(at(format!("unknown type {t:?}")));
                    }
                    if types.insert(name.to_string(), t.to_string()).is_some() {
                        return Err(at(format!("second TYPE for {name}")));
                    }
                    if t == "counter" && !name.ends_with("_total") {
                        return Err(at(format!("counter {name} should end in _total")));
                    }
                }
                _ => return Err(at("a comment line other than HELP or TYPE".into())),
            }
            if let Some(prev) = current.replace(name.to_string()) {
                if prev != name {
                    done.insert(prev);
                }
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| at("no value".into()))?;
        let name = &line[..name_end];
        if !metric_name(name) {
            return Err(at(format!("bad metric name {name:?}")));
        }
        let (pairs, rest) = if line[name_end..].starts_with('{') {
            labels(&line[name_end..]).map_err(at)?
        } else {
            (Vec::new(), &line[name_end..])
        };
        let mut fields = rest.split_whitespace();
        let v = value(fields.next().ok_or_else(|| at("no value".into()))?).map_err(at)?;
        if let Some(ts) = fields.next() {
            ts.parse::<i64>()
                .map_err(|_| at(format!("bad timestamp {ts:?}")))?;
        }
        if fields.next().is_some() {
            return Err(at("trailing text".into()));
        }
        let family = family_of(name, &types).to_string();
        if !types.contains_key(&family) || !helps.contains(&family) {
            return Err(at(format!("{family} has samples before its HELP and TYPE")));
        }
        if current.as_deref() != Some(family.as_str()) {
            return Err(at(format!("samples of {family} are not together")));
        }
        sampled.insert(family.clone());
        let mut names = HashSet::new();
        for (k, _) in &pairs {
            if !names.insert(k) {
                return Err(at(format!("label {k} twice")));
            }
        }
        let mut sorted = pairs.clone();
        sorted.sort();
        let key = if sorted.is_empty() {
            name.to_string()
        } else {
            let inner: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            format!("{name}{{{}}}", inner.join(","))
        };
        if samples.insert(key.clone(), v).is_some() {
            return Err(at(format!("series {key} twice")));
        }
        if types.get(&family).map(String::as_str) == Some("histogram") {
            if name.ends_with("_bucket") {
                let le = pairs
                    .iter()
                    .find(|(k, _)| k == "le")
                    .ok_or_else(|| at("bucket without le".into()))?;
                let le = value(&le.1).map_err(at)?;
                let list = buckets.entry(family.clone()).or_default();
                if let Some(&(prev_le, prev_n)) = list.last() {
                    if le <= prev_le || v < prev_n {
                        return Err(at("buckets must grow in le and count".into()));
                    }
                }
                list.push((le, v));
            } else if name.ends_with("_sum") {
                sums.insert(family.clone());
            } else if name.ends_with("_count") {
                counts.insert(family.clone(), v);
            } else {
                return Err(at(format!("{name} is not a histogram series")));
            }
        }
    }
    for (name, t) in &types {
        if t != "histogram" {
            continue;
        }
        let list = buckets.get(name).ok_or(format!("{name}: no buckets"))?;
        let last = list.last().ok_or(format!("{name}: no buckets"))?;
        if last.0 != f64::INFINITY {
            return Err(format!("{name}: no +Inf bucket"));
        }
        if counts.get(name) != Some(&last.1) {
            return Err(format!("{name}: _count differs from the +Inf bucket"));
        }
        if !sums.contains(name) {
            return Err(format!("{name}: no _sum"));
        }
    }
    Ok(samples)
}

/// Checks with `promtool check metrics` too, when it is installed (on the
/// `PATH`, or in `target/tools/` where `.ci/run` puts it): `None` when it
/// is not, else its verdict (its output on failure).
pub fn promtool(text: &str) -> Option<Result<(), String>> {
    use std::io::Write;
    let local = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/promtool");
    let spawn = |program: &std::ffi::OsStr| {
        std::process::Command::new(program)
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
    };
    let mut child = spawn("promtool".as_ref())
        .or_else(|_| spawn(local.as_os_str()))
        .ok()?;
    child
        .stdin
        .take()
        .expect("stdin piped")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool runs");
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    })
}
