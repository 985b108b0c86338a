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
