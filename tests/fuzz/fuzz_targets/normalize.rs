//! Fuzz target: arbitrary bytes through the whole normalizer stage
//! (decoding, pre-parse fix-ups, feed-rs, identity, links, sanitizing,
//! dates and the detector's feature extraction). Any panic that escapes
//! `normalize` is a finding; feed-rs panics are contained by `normalize`
//! and reported as errors.
#![no_main]

use chrono::DateTime;
use feedfold::model::RawDocument;
use feedfold::normalizer::{normalize, Identity};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let doc = RawDocument {
        name: "fuzz".into(),
        fetched_url: None,
        path: Some("/fuzz.xml".into()),
        http_charset: None,
        bytes: data.to_vec(),
    };
    let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let _ = normalize(&doc, &Identity::default(), now);
});
