//! Inputs shared by the normalizer's tests.

/// Deterministic pseudo-random documents built from tricky fragments:
/// `count` documents of up to 23 of `pieces` each (xorshift, fixed seed).
pub(crate) fn fuzz_inputs(pieces: &[&str], count: usize) -> Vec<String> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let len = (next() % 24) as usize;
            (0..len)
                .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                .collect()
        })
        .collect()
}
