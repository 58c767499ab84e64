//! Lax JSON Feeds.
//!
//! Part of [`super`]: [`fix_json_feed`] puts JSON Feeds with a lax
//! `version`, a missing title or items, or fields of the wrong type in the
//! shape feed-rs reads.

use serde_json::{Map, Value};

/// The JSON Feed version feed-rs reads.
pub(super) const JSON_FEED_VERSION: &str = "https://jsonfeed.org/version/1.1";

/// Keeps `key` only if it holds a string (numbers and booleans are
/// turned into strings); drops it otherwise.
pub(super) fn string_field(obj: &mut Map<String, Value>, key: &str) {
    let fixed = match obj.get(key) {
        None | Some(Value::String(_)) => return,
        Some(Value::Number(n)) => Some(Value::String(n.to_string())),
        Some(Value::Bool(b)) => Some(Value::String(b.to_string())),
        Some(_) => None,
    };
    match fixed {
        Some(v) => {
            obj.insert(key.to_string(), v);
        }
        None => {
            obj.remove(key);
        }
    }
}

pub(super) fn fix_author(v: &mut Value) -> bool {
    let Some(obj) = v.as_object_mut() else {
        return false;
    };
    string_field(obj, "name");
    string_field(obj, "url");
    true
}

pub(super) fn fix_authors(obj: &mut Map<String, Value>) {
    if let Some(a) = obj.get_mut("author") {
        if !fix_author(a) {
            obj.remove("author");
        }
    }
    if let Some(list) = obj.get_mut("authors") {
        match list.as_array_mut() {
            Some(items) => items.retain_mut(fix_author),
            None => {
                obj.remove("authors");
            }
        }
    }
}

/// Puts a JSON Feed in the shape feed-rs 3 reads: `version` is set to
/// 1.1 unless it names version 1 or 1.1 already (feed-rs refuses other
/// values, including `http://` URLs and a missing version), a missing or
/// non-string `title` becomes a string, missing `items` an empty list, and
/// known fields of the wrong JSON type are converted (numbers to strings)
/// or dropped, as are items that are not objects.
///
/// Only a JSON object that looks like a JSON Feed (an `items` array or a
/// `version` mentioning jsonfeed) is touched; `None` means "unchanged".
pub fn fix_json_feed(text: &str) -> Option<String> {
    let mut v: Value = serde_json::from_str(text).ok()?;
    let obj = v.as_object_mut()?;
    let version = obj
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let looks_like_feed = obj.get("items").is_some_and(Value::is_array)
        || version.to_ascii_lowercase().contains("jsonfeed");
    if !looks_like_feed {
        return None;
    }
    if !version.starts_with("https://jsonfeed.org/version/1") {
        obj.insert("version".into(), Value::String(JSON_FEED_VERSION.into()));
    }
    match obj.get("title") {
        Some(Value::String(_)) => {}
        Some(Value::Number(_)) | Some(Value::Bool(_)) => string_field(obj, "title"),
        _ => {
            obj.insert("title".into(), Value::String(String::new()));
        }
    }
    for key in [
        "home_page_url",
        "feed_url",
        "language",
        "description",
        "icon",
        "favicon",
    ] {
        string_field(obj, key);
    }
    fix_authors(obj);
    let items = match obj.remove("items") {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let items: Vec<Value> = items
        .into_iter()
        .filter_map(|mut item| {
            let it = item.as_object_mut()?;
            for key in [
                "id",
                "url",
                "external_url",
                "title",
                "content_html",
                "content_text",
                "summary",
                "date_published",
                "date_modified",
            ] {
                string_field(it, key);
            }
            fix_authors(it);
            if let Some(tags) = it.get_mut("tags") {
                match tags.as_array_mut() {
                    Some(t) => t.retain(Value::is_string),
                    None => {
                        it.remove("tags");
                    }
                }
            }
            if let Some(att) = it.get_mut("attachments") {
                match att.as_array_mut() {
                    Some(list) => list.retain_mut(|a| {
                        let Some(a) = a.as_object_mut() else {
                            return false;
                        };
                        string_field(a, "title");
                        if !a.get("size_in_bytes").is_none_or(Value::is_u64) {
                            a.remove("size_in_bytes");
                        }
                        a.get("url").is_some_and(Value::is_string)
                            && a.get("mime_type").is_some_and(Value::is_string)
                    }),
                    None => {
                        it.remove("attachments");
                    }
                }
            }
            Some(item)
        })
        .collect();
    obj.insert("items".into(), Value::Array(items));
    serde_json::to_string(&v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_feed_lax_versions() {
        let fixed = fix_json_feed(r#"{"version":"http://jsonfeed.org/version/1","items":[{"id":1,"title":"A","tags":["x",2]},3]}"#)
            .expect("fixed");
        let v: Value = serde_json::from_str(&fixed).expect("json");
        assert_eq!(v["version"], JSON_FEED_VERSION);
        assert_eq!(v["title"], "");
        assert_eq!(v["items"][0]["id"], "1");
        assert_eq!(v["items"][0]["tags"], serde_json::json!(["x"]));
        assert_eq!(v["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(fix_json_feed(r#"{"a":1}"#), None);
        assert_eq!(fix_json_feed("[1]"), None);
        assert_eq!(fix_json_feed("{"), None);
        let fixed =
            fix_json_feed(r#"{"version":"https://jsonfeed.org/version/1","title":"T","items":[]}"#)
                .expect("same");
        assert!(fixed.contains("version/1\""));
    }
}
