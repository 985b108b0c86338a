//! `tend run --record` on a real anvil, then `tend replay`: the same decisions, every time, and
//! no secret in the file.

use std::time::Duration;

use crate::support::{
    Tend, devnet, eventually, funder, scratch, tend_cmd, transactions_from, wallet, write_config,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_run_replays_to_the_same_decisions_and_holds_no_secret() {
    let dir = scratch("record");
    let net = devnet(&dir, 31337, 0).await;
    let secret_url = net.url.replace("http://", "http://tend:s3cretpass@");
    let config = write_config(
        &dir,
        &format!(
            "[[chains]]\nchain = 31337\nrpc = [\"{secret_url}\"]\nconfirmations = 1\npoll_ms = 300\n\n\
             [[services]]\nname = \"funded\"\ncommand = [\"sleep\", \"3600\"]\n\
             [[services.wallets]]\nchain = 31337\naddress = \"{}\"\nlow = \"0.01 ether\"\ntarget = \"0.02 ether\"\n\
             [[services.wallets]]\nchain = 31337\naddress = \"{}\"\nlow = \"0.01 ether\"\ntarget = \"0.03 ether\"\n",
            wallet(1),
            wallet(2)
        ),
    );
    let recording = dir.join("run.jsonl");
    let mut tend = Tend::start_with(
        &config,
        "tend.log",
        &["--record", recording.to_str().unwrap()],
    );
    eventually(
        Duration::from_secs(30),
        "both transfers confirmed",
        || async { tend.log().matches("transaction confirmed").count() == 2 },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    tend.stop();
    tend.keep("topup-two-wallets");

    let text = std::fs::read_to_string(&recording).unwrap();
    assert!(text.lines().count() > 10, "{text}");
    for secret in [
        "s3cretpass",
        tend::devnet::DEV_KEYS[0].trim_start_matches("0x"),
    ] {
        assert!(!text.contains(secret), "a secret is in the recording");
        assert!(!tend.log().contains(secret), "a secret is in the log");
    }

    // Replayed twice: byte-identical; the decisions match the chain.
    let rec = recording.to_str().unwrap();
    let a = tend_cmd(&["replay", rec], &[]);
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    let b = tend_cmd(&["replay", rec], &[]);
    assert_eq!(a.stdout, b.stdout);
    let outputs = String::from_utf8_lossy(&a.stdout);
    let mined = transactions_from(&net, funder().address()).await;
    assert_eq!(mined.len(), 2);
    let confirmed: Vec<&str> = outputs
        .lines()
        .filter(|l| l.contains("\"event\":\"tx_confirmed\""))
        .collect();
    assert_eq!(confirmed.len(), 2, "{outputs}");
    let signs = outputs
        .lines()
        .filter(|l| l.contains("\"output\":\"sign\""))
        .count();
    assert_eq!(signs, 2, "{outputs}");
    for (to, value, _) in &mined {
        assert!(
            outputs.contains(&format!(
                "\"to\":\"{}\",\"value\":\"{value}\"",
                to.to_string().to_lowercase()
            )) || outputs.contains(&format!("\"to\":\"{to}\",\"value\":\"{value}\"")),
            "no sign request for {to} {value}:\n{outputs}"
        );
    }

    // Golden files: bless, check, and a difference named with its step.
    let golden = dir.join("golden.jsonl");
    let g = golden.to_str().unwrap();
    let out = tend_cmd(&["replay", rec, "--check", g, "--bless"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let out = tend_cmd(&["replay", rec, "--check", g], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let edited =
        std::fs::read_to_string(&golden)
            .unwrap()
            .replacen("tx_confirmed", "tx_confirmeD", 1);
    std::fs::write(&golden, edited).unwrap();
    let out = tend_cmd(&["replay", rec, "--check", g], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("differs") && err.contains("expected:") && err.contains("actual:"),
        "{err}"
    );

    // What-if: the same settings change nothing; a higher target sends more.
    let same = tend_cmd(&["replay", rec, "--policy", config.to_str().unwrap()], &[]);
    let text_out = String::from_utf8_lossy(&same.stdout);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );
    assert!(
        text_out.contains("The same decisions at the same times."),
        "{text_out}"
    );
    let other = dir.join("other.toml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("target = \"0.02 ether\"", "target = \"0.05 ether\""),
    )
    .unwrap();
    let w =
        crate::support::tend_json(&["replay", rec, "--policy", other.to_str().unwrap(), "--json"]);
    let first = &w["first_difference"];
    assert_eq!(first["baseline"]["decision"], "transfer", "{w:#}");
    assert_eq!(first["what_if"]["decision"], "transfer", "{w:#}");
    let wei = |v: &serde_json::Value| v.as_str().unwrap().parse::<u128>().unwrap();
    let recorded = w["transfers"][0]["baseline_amount"].clone();
    let what_if = w["transfers"][0]["what_if_amount"].clone();
    assert_eq!(
        wei(&what_if) - wei(&recorded),
        30_000_000_000_000_000,
        "{w:#}"
    );
    let human = tend_cmd(&["replay", rec, "--policy", other.to_str().unwrap()], &[]);
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(
        human.contains("First difference") && human.contains("recorded:"),
        "{human}"
    );
    let bad = tend_cmd(&["replay", rec, "--policy", "/nonexistent/tend.toml"], &[]);
    assert_ne!(bad.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/nonexistent/tend.toml"));

    // A truncated recording names its bad line.
    let cut = dir.join("cut.jsonl");
    std::fs::write(&cut, &text[..text.len() - 20]).unwrap();
    let out = tend_cmd(&["replay", cut.to_str().unwrap()], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(":{}:", text.lines().count())),
        "{err}"
    );
}
