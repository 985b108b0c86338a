//! The funding commands, run as a user runs them: real processes, real files, real pipes.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub fn tend(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tend"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(repo().join("tests/fixtures").join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn olas_report_of_every_fixture_equals_the_golden_file() {
    let files = fixtures("olas");
    assert!(files.len() >= 8);
    for f in files {
        let out = tend(&["funding", "olas", "--input", f.to_str().unwrap()], None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            f.display(),
            text(&out.stderr)
        );
        let golden = repo()
            .join("tests/golden/olas")
            .join(f.file_name().unwrap());
        assert_eq!(
            text(&out.stdout),
            std::fs::read_to_string(&golden).unwrap(),
            "{}",
            f.display()
        );
    }
}

#[test]
fn plan_json_of_every_fixture_equals_the_golden_file() {
    for f in fixtures("plan") {
        let out = tend(
            &["funding", "plan", "--json", "-i", f.to_str().unwrap()],
            None,
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let golden = repo()
            .join("tests/golden/plan")
            .join(f.file_name().unwrap());
        assert_eq!(text(&out.stdout), std::fs::read_to_string(&golden).unwrap());
    }
}

#[test]
fn stdin_is_read_with_a_dash() {
    let f = repo().join("tests/fixtures/olas/c-running-staked.json");
    let input = std::fs::read_to_string(&f).unwrap();
    let out = tend(
        &["funding", "olas", "--input", "-", "--compact"],
        Some(&input),
    );
    assert_eq!(out.status.code(), Some(0));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["allow_start_agent"], serde_json::json!(true));
    assert_eq!(text(&out.stdout).lines().count(), 1);
}

#[test]
fn diagnostics_go_to_stderr_and_stdout_stays_the_body() {
    let f = repo().join("tests/fixtures/olas/q4-unknown-address.json");
    let out = tend(&["funding", "olas", "--input", f.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).starts_with("warning: /funds-status names"));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_field() {
    let f = repo().join("tests/fixtures/olas/c-running-staked.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
    v["service"]["chains"]["gnosis"]["cost_of_bond"] = serde_json::json!("-5");
    let out = tend(&["funding", "olas", "-i", "-"], Some(&v.to_string()));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("$.service.chains.gnosis.cost_of_bond"),
        "{err}"
    );
    assert!(err.contains("negative"), "{err}");
    assert!(out.stdout.is_empty());

    let out = tend(&["funding", "olas", "-i", "-"], Some("{\"now\": 1,"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid JSON at line 1"));

    let out = tend(
        &["funding", "plan", "-i", "-"],
        Some("{\"chains\": {}, \"wallets\": [{}]}"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("$.wallets[0].chain: missing field"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn unreadable_input_exits_1() {
    let out = tend(
        &["funding", "olas", "--input", "/nonexistent/snapshot.json"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/snapshot.json"));
}

#[test]
fn usage_errors_exit_2_and_help_teaches() {
    let out = tend(&["funding", "olas"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--input"));
    // --snapshot belongs to --service (reading from the chains).
    let out = tend(
        &["funding", "olas", "--input", "-", "--snapshot"],
        Some("{}"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--service"),
        "{}",
        text(&out.stderr)
    );
    let out = tend(&["funding", "olas", "--help"], None);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    assert!(help.contains("funding_requirements"), "{help}");
    assert!(help.contains("--service"), "{help}");
    assert!(help.contains("Example"), "{help}");
    let out = tend(&["--help"], None);
    assert!(text(&out.stdout).contains("Exit codes"));
}

#[test]
fn plan_table_lists_transfers_shortfalls_and_runway() {
    let f = repo().join("tests/fixtures/plan/two-chains.json");
    let out = tend(&["funding", "plan", "-i", f.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    let t = text(&out.stdout);
    assert!(t.contains("Transfers (3):"), "{t}");
    assert!(t.contains("Shortfalls (1):"), "{t}");
    assert!(t.contains("no funding source on chain base"), "{t}");
    assert!(t.contains("6d 0h until low"), "{t}");
}
