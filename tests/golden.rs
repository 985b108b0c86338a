//! Golden-file tests: every fixture's output equals its golden file byte for byte.

#![allow(missing_docs, clippy::unwrap_used)]

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

#[test]
fn first_difference_finds_the_line() {
    assert_eq!(tend_replay::first_difference("a\nb\nc", "a\nx\nc"), 2);
    assert_eq!(tend_replay::first_difference("a", "a\nb"), 2);
}
