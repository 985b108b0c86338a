//! Golden-file tests: every fixture's output equals its golden file byte for byte.

#![allow(missing_docs, clippy::unwrap_used)]

use std::fmt::Write as _;

use tend_replay::{check_dir, olas_output, plan_output};

#[test]
fn olas_reports_match_golden() {
    let failures = check_dir("olas", olas_output);
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn plans_match_golden() {
    let failures = check_dir("plan", plan_output);
    assert!(failures.is_empty(), "{failures}");
}

/// Every recording of the corpus (real anvil sessions) replays to its golden outputs, byte for
/// byte; the hashes of the outputs are listed in `tests/corpus/outputs.keccak` for the wasm
/// replay (Node) to compare with.
#[test]
fn the_corpus_replays_to_its_golden_outputs() {
    let pairs = tend_replay::corpus();
    assert!(
        pairs.len() >= 10,
        "the corpus has {} recordings",
        pairs.len()
    );
    let failures = tend_replay::check_pairs(pairs.clone(), tend_replay::replay_output);
    assert!(failures.is_empty(), "{failures}");
    let mut hashes = String::new();
    for (rec, _) in &pairs {
        let out = tend_replay::replay_output(&std::fs::read_to_string(rec).unwrap()).unwrap();
        let name = rec.file_name().unwrap().to_string_lossy();
        let _ = writeln!(hashes, "{}  {name}", tend_core::recording::text_hash(&out));
    }
    let listed = tend_replay::tests_dir()
        .join("corpus")
        .join("outputs.keccak");
    if tend_replay::blessing() {
        std::fs::write(&listed, &hashes).unwrap();
    }
    assert_eq!(std::fs::read_to_string(&listed).unwrap(), hashes);
}

#[test]
fn first_difference_finds_the_line() {
    assert_eq!(tend_replay::first_difference("a\nb\nc", "a\nx\nc"), 2);
    assert_eq!(tend_replay::first_difference("a", "a\nb"), 2);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    /// Damaged recordings never panic the parser or the engine: a typed error or a replay.
    /// Digits changed in place (numbers that still parse but mean something else: times going
    /// back, unknown ids, huge balances), files cut at a line end, and now and then any byte.
    #[test]
    fn damaged_recordings_never_panic(
        which in 0usize..100,
        edits in proptest::collection::vec((0usize..1_000_000, 0u8..=255), 1..12),
        cut in proptest::option::of(0usize..1_000_000),
    ) {
        let pairs = tend_replay::corpus();
        let text = std::fs::read_to_string(&pairs[which % pairs.len()].0).unwrap();
        let mut bytes = text.into_bytes();
        // Past the header (line 1): its configuration is guarded by a hash.
        let body = bytes.iter().position(|b| *b == b'\n').unwrap_or(0) + 1;
        let mut replayed_as_json = true;
        for (at, b) in edits {
            let i = body + at % (bytes.len() - body).max(1);
            if i >= bytes.len() {
                continue;
            }
            if b >= 250 {
                bytes[i] = b;
                replayed_as_json = false;
            } else if bytes[i].is_ascii_digit() {
                bytes[i] = b'0' + b % 10;
            }
        }
        if let Some(c) = cut {
            let c = c % (bytes.len() + 1);
            let end = bytes[..c].iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
            bytes.truncate(end.max(body));
        }
        let damaged = String::from_utf8_lossy(&bytes);
        let r = tend_replay::replay_output(&damaged);
        // Digit edits keep the JSON valid; a wrong value may still be refused by its type.
        if replayed_as_json && let Err(e) = &r {
            proptest::prop_assert!(e.to_string().contains("line"), "{e}");
        }
    }
}
