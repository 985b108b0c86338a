//! tend's deterministic replay and golden-file tests.
//!
//! Inputs live in `tests/fixtures/<kind>/*.json`; the expected outputs in
//! `tests/golden/<kind>/*.json`. [`check_dir`] runs a computation on every input and compares its
//! output with the golden file byte for byte; with `BLESS=1` in the environment it rewrites the
//! golden files instead. The same fixtures are replayed by the native CLI tests, so the library
//! and the binary are held to one answer.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use tend_core::funding::plan::{PlanInput, plan};
use tend_core::funding::{FundingSnapshot, funding_requirements};
use tend_core::json::InputError;

/// The repository's `tests/` folder.
pub fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture inputs of one kind (`olas`, `plan`), sorted by name.
///
/// # Panics
/// When the fixture folder cannot be listed (a broken checkout).
pub fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = tests_dir().join("fixtures").join(kind);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    out.sort();
    out
}

/// The golden file of a fixture.
pub fn golden_path(kind: &str, fixture: &Path) -> PathBuf {
    let name = fixture.file_name().unwrap_or_default();
    tests_dir().join("golden").join(kind).join(name)
}

/// The Olas report of a snapshot, as `tend funding olas` prints it.
pub fn olas_output(input: &str) -> Result<String, InputError> {
    let report = funding_requirements(&FundingSnapshot::from_json_str(input)?);
    let mut s = serde_json::to_string_pretty(&report).unwrap_or_default();
    s.push('\n');
    Ok(s)
}

/// The plan of a planner input, as `tend funding plan --json` prints it.
pub fn plan_output(input: &str) -> Result<String, InputError> {
    let p = plan(&PlanInput::from_json_str(input)?)?;
    let mut s = serde_json::to_string_pretty(&p).unwrap_or_default();
    s.push('\n');
    Ok(s)
}

/// Whether golden files are to be rewritten (`BLESS=1`).
pub fn blessing() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| v == "1")
}

/// Runs `compute` on every fixture of `kind` and compares with (or, when blessing, writes) the
/// golden files. Returns a report of every difference; empty means all matched.
///
/// # Panics
/// When there are no fixtures of `kind` (a test that checks nothing must not pass).
pub fn check_dir(kind: &str, compute: impl Fn(&str) -> Result<String, InputError>) -> String {
    let files = fixtures(kind);
    assert!(!files.is_empty(), "no fixtures of kind {kind}");
    let pairs = files
        .into_iter()
        .map(|f| {
            let g = golden_path(kind, &f);
            (f, g)
        })
        .collect();
    check_pairs(pairs, compute)
}

/// The replay corpus: `tests/corpus/recordings/*.jsonl` with their golden outputs in
/// `tests/corpus/golden/`, sorted by name.
///
/// # Panics
/// When the corpus folder cannot be listed (a broken checkout).
pub fn corpus() -> Vec<(PathBuf, PathBuf)> {
    let dir = tests_dir().join("corpus").join("recordings");
    let mut out: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| {
            let g = tests_dir()
                .join("corpus")
                .join("golden")
                .join(p.file_name().unwrap_or_default());
            (p, g)
        })
        .collect();
    out.sort();
    out
}

/// The outputs of a recording's replay, as `tend replay` prints them.
pub fn replay_output(recording: &str) -> Result<String, tend_core::recording::ReplayError> {
    tend_core::recording::replay_text(recording)
}

/// Runs `compute` on every (input, golden) pair and compares, or writes when blessing. Returns a
/// report of every difference (the first differing line of each); empty means all matched.
pub fn check_pairs<E: std::fmt::Display>(
    pairs: Vec<(PathBuf, PathBuf)>,
    compute: impl Fn(&str) -> Result<String, E>,
) -> String {
    let mut failures = String::new();
    for (f, golden) in pairs {
        let input = match std::fs::read_to_string(&f) {
            Ok(text) => text,
            Err(e) => {
                let _ = writeln!(failures, "{}: cannot read the input: {e}", f.display());
                continue;
            }
        };
        let actual = match compute(&input) {
            Ok(s) => s,
            Err(e) => {
                let _ = writeln!(failures, "{}: {e}", f.display());
                continue;
            }
        };
        if blessing() {
            let written = golden
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&golden, &actual));
            if let Err(e) = written {
                let _ = writeln!(failures, "{}: cannot write: {e}", golden.display());
            }
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => {
                let line = first_difference(&expected, &actual);
                let _ = writeln!(
                    failures,
                    "{}: output differs from {} at line {line} (rerun with BLESS=1 to accept)\n  \
                     expected: {}\n  actual:   {}",
                    f.display(),
                    golden.display(),
                    expected.lines().nth(line - 1).unwrap_or("(end)"),
                    actual.lines().nth(line - 1).unwrap_or("(end)"),
                );
            }
            Err(e) => {
                let _ = writeln!(
                    failures,
                    "{}: cannot read golden {} ({e}); run with BLESS=1 to create it",
                    f.display(),
                    golden.display()
                );
            }
        }
    }
    failures
}

/// The 1-based line of the first difference between two texts.
pub fn first_difference(a: &str, b: &str) -> usize {
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| a.lines().count().min(b.lines().count()))
        + 1
}
