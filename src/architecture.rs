//! Enforces the dependency rules of the crate docs (`lib.rs`, "Dependency
//! rules"): every `crate::`/`feedfold::`/`super::` path in the non-test
//! code of `src/` must point at a module on the same layer or below.

use std::path::{Path, PathBuf};

/// Module path prefix → layer; the longest matching prefix decides. Keep
/// in step with the table in `lib.rs`.
const LAYERS: &[(&str, u8)] = &[
    ("detector", 0),
    ("telemetry", 0),
    ("metrics", 0),
    ("model", 1),
    ("normalizer", 2),
    ("extractor", 2),
    ("scheduler::policy", 2),
    ("scheduler::queue", 2),
    ("eval", 2),
    ("opml", 2),
    ("notify", 2),
    ("server::settings", 2),
    ("fetcher", 3),
    ("store", 3),
    ("pipeline", 4),
    ("fulltext", 4),
    ("config", 4),
    ("scheduler", 5),
    ("daemon", 6),
    ("render", 6),
    ("server", 6),
    ("cli", 7),
    ("commands", 8),
    ("main", 8),
    ("lib", 9),
    ("architecture", 9),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS
        .iter()
        .filter(|(prefix, _)| {
            module == *prefix
                || module
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with("::"))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, l)| *l)
}

/// `src/store/writer/mod.rs` → `store::writer`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

/// The module paths a line of code names (`crate::a::b`, `feedfold::a`,
/// `super::x` resolved against `module`, which is a file's module).
fn targets(line: &str, module: &str) -> Vec<String> {
    let mut out = Vec::new();
    for prefix in ["crate::", "feedfold::"] {
        let mut rest = line;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            out.push(path_head(rest));
        }
    }
    if let Some(i) = line.find("super::") {
        // `super` of module `a::b` (file `a/b.rs` or `a/b/mod.rs`) is `a`.
        let mut parent: Vec<&str> = module.split("::").collect();
        parent.pop();
        let mut rest = &line[i..];
        while let Some(r) = rest.strip_prefix("super::") {
            rest = r;
            if rest.starts_with("super::") {
                parent.pop();
            }
        }
        let head = path_head(rest);
        if !head.is_empty() {
            parent.push(head.as_str());
        }
        out.push(parent.join("::"));
    }
    out.retain(|t| !t.is_empty());
    out
}

/// The leading `a::b::c` of a path (lowercase segments: modules).
fn path_head(s: &str) -> String {
    let mut segments = Vec::new();
    let mut rest = s;
    loop {
        let end = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        segments.push(&rest[..end]);
        match rest[end..].strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
    }
    segments.join("::")
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found the sources in {}", src.display());
    let mut violations = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some(own) = layer(&module) else {
            violations.push(format!("{module}: not in the layer table"));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if line.starts_with("#[cfg(test)]") {
                break;
            }
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for target in targets(code, &module) {
                match layer(&target) {
                    Some(l) if l <= own => {}
                    Some(l) => violations.push(format!(
                        "{}:{}: {module} (layer {own}) uses {target} (layer {l})",
                        file.display(),
                        n + 1
                    )),
                    None => {}
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "dependency rules broken:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_rules_see_what_they_check() {
    assert_eq!(layer("scheduler::runner"), Some(5));
    assert_eq!(layer("scheduler::policy"), Some(2));
    assert_eq!(layer("store::writer::polls"), Some(3));
    assert_eq!(layer("storex"), None);
    assert_eq!(
        targets("use crate::store::writer::Writer;", "pipeline"),
        ["store::writer"]
    );
    assert_eq!(
        targets("use super::runner::Runner;", "scheduler::policy"),
        ["scheduler::runner"]
    );
    assert_eq!(
        targets("use feedfold::daemon::run;", "commands::query"),
        ["daemon::run"]
    );
}
