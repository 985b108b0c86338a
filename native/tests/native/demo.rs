//! README command 1: `tend demo` runs the devnets and the demo agents, funds them, and stops
//! everything cleanly.

use std::process::Command;

use crate::support::scratch;

#[test]
fn the_demo_funds_its_agents_and_stops_cleanly() {
    let dir = scratch("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_tend"))
        .current_dir(&dir)
        .args([
            "demo",
            "--dir",
            "d",
            "--duration",
            "25",
            "--log-format",
            "json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The status tables: the healthy agent healthy, the funder paying.
    assert!(
        stdout.contains("demo-healthy") && stdout.contains("healthy"),
        "{stdout}"
    );
    assert!(stdout.contains("transactions confirmed"), "{stdout}");
    // JSON logs with fields: every line parses; transfers were confirmed on both chains.
    let mut confirmed = std::collections::BTreeSet::new();
    for line in stderr.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["message"] == "transaction confirmed" {
            confirmed.insert(v["chain"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        confirmed.into_iter().collect::<Vec<_>>(),
        vec!["base".to_owned(), "gnosis".to_owned()],
        "{stderr}"
    );
    // Nothing left running: no agent and no devnet of this demo (found by their ports).
    let config = std::fs::read_to_string(dir.join("d/tend.toml")).unwrap();
    let mut ports: Vec<String> = config
        .split("\"--port\", \"")
        .skip(1)
        .map(|t| t.split('"').next().unwrap().to_owned())
        .collect();
    ports.extend(
        config
            .split("rpc = [\"http://127.0.0.1:")
            .skip(1)
            .map(|t| t.split('"').next().unwrap().to_owned()),
    );
    assert_eq!(ports.len(), 5, "{config}");
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    for p in &ports {
        let needle = format!("--port {p} ");
        assert!(
            !ps.lines().any(|l| format!("{l} ").contains(&needle)),
            "a process on port {p} outlived the demo:\n{ps}"
        );
    }
}

/// `tend demo --olas`: the real Olas contracts on a devnet, a service minted, deployed and
/// staked, its agent supervised, and its Safe (a contract wallet) funded to its target from the
/// Master Safe.
#[test]
fn the_olas_demo_stakes_a_service_and_funds_its_safe() {
    let dir = scratch("demo-olas");
    let wheel = crate::support::olas_wheel();
    let out = Command::new(env!("CARGO_BIN_EXE_tend"))
        .current_dir(&dir)
        .env("TEND_OLAS_WHEEL", &wheel)
        .env("TEND_SAFE_HANDLER", crate::support::safe_handler())
        .args(["demo", "--olas", "--dir", "d", "--duration", "15"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let banner = stderr
        .lines()
        .find(|l| l.starts_with("Olas service 1 is minted, deployed and staked"))
        .unwrap_or_else(|| panic!("no banner: {stderr}"));
    let safe = banner
        .split("its Safe ")
        .nth(1)
        .and_then(|t| t.split(',').next())
        .unwrap();
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("olas-service") && l.contains("healthy")),
        "{stdout}"
    );
    // The last status table shows the Safe at its target (1 xDAI).
    let last = stdout.rsplit("CHAIN    WALLET").next().unwrap();
    let row = last
        .lines()
        .find(|l| l.contains(safe))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(row.split_whitespace().nth(3), Some("1"), "{row}");
    let config = std::fs::read_to_string(dir.join("d/tend.toml")).unwrap();
    assert!(
        config.contains("[services.olas.service.chains.gnosis]"),
        "{config}"
    );
    // Every top-up came from the Master Safe (the chain's only source).
    let master = stderr
        .split("from the Master Safe ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no Master Safe in: {stderr}"))
        .trim_end_matches('.');
    assert!(config.contains(&format!("safe = \"{master}\"")), "{config}");
}
