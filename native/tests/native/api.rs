//! The HTTP API and the CLI clients of a running daemon, against a real anvil.

use std::time::Duration;

use crate::support::{Tend, config_head, devnet, ep, eventually, scratch, tend_cmd, wallet};

async fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn post(url: &str, token: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_needs_its_token_reports_status_and_metrics_refuses_a_second_funding_run_and_stops()
{
    let dir = scratch("api");
    let net = devnet(&dir, 31337, 0).await;
    let _: serde_json::Value = ep(&net).request("evm_setAutomine", (false,)).await.unwrap();
    let head = config_head(&dir.join("home"));
    let listen = crate::support::listen_of(&head);
    let config = dir.join("tend.toml");
    std::fs::write(
        &config,
        format!(
            "{head}[[chains]]\nchain = 31337\nrpc = [\"{}\"]\nconfirmations = 1\npoll_ms = 300\n\n\
             [[services]]\nname = \"funded\"\ncommand = [\"sleep\", \"3600\"]\n\
             [[services.wallets]]\nchain = 31337\naddress = \"{}\"\nlow = \"0.01 ether\"\ntarget = \"0.02 ether\"\n\
             [[services]]\nname = \"treasury\"\n",
            net.url,
            wallet(1)
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();

    // Before the daemon: the dry run plans from the chain and sends nothing.
    let out = tend_cmd(&["fund", "--dry-run", "--config", cfg], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Dry run") && text.contains("Transfers (1)"),
        "{text}"
    );
    assert!(text.contains(&wallet(1).to_string()), "{text}");
    // Without a daemon, the clients say so.
    let out = tend_cmd(&["status", "--config", cfg], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is tend running"));

    let mut tend = Tend::start(&config, "tend.log");
    let token = crate::support::api_token(&dir.join("home")).await;
    let base = format!("http://{listen}");
    eventually(Duration::from_secs(20), "the API answers", || async {
        reqwest::Client::new()
            .get(format!("{base}/metrics"))
            .send()
            .await
            .is_ok()
    })
    .await;

    let (status, body) = get(&format!("{base}/v1/status"), None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("unauthorized"));
    let (status, _) = get(&format!("{base}/v1/status"), Some("not-the-token")).await;
    assert_eq!(status, 401);
    let (status, body) = get(&format!("{base}/v1/status"), Some(&token)).await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["pid"].as_u64(), Some(u64::from(tend.child.id())));
    let (status, _) = get(&format!("{base}/v1/services/nope/health"), Some(&token)).await;
    assert_eq!(status, 404);
    // A service without a command has no agent: it is shown as such, and not started.
    let treasury = v["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "treasury"))
        .cloned();
    let treasury = treasury.expect("the funding-only service is listed");
    assert_eq!(treasury["agent"], false, "{treasury}");
    assert!(treasury["pid"].is_null(), "{treasury}");
    let (status, body) = post(&format!("{base}/v1/services/treasury/start"), &token).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("funding_only") && body.contains("no command"),
        "{body}"
    );
    let out = tend_cmd(&["status", "--config", cfg], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("treasury") && l.contains("funding-only")),
        "{text}"
    );
    // The plan counts the transfer in flight: nothing more to send for the wallet.
    eventually(Duration::from_secs(20), "a plan", || async {
        get(&format!("{base}/v1/plan"), Some(&token)).await.0 == 200
    })
    .await;

    // The transfer sits in the pool (mining paused): a second funding run is refused.
    eventually(Duration::from_secs(20), "a transfer in flight", || async {
        let (_, body) = post(&format!("{base}/v1/fund"), &token).await;
        body.contains("funding_in_progress")
    })
    .await;
    let (status, _) = post(&format!("{base}/v1/fund"), &token).await;
    assert_eq!(status, 409);
    let (_, plan) = get(&format!("{base}/v1/plan"), Some(&token)).await;
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    assert_eq!(plan["transfers"], serde_json::json!([]), "{plan}");
    let out = tend_cmd(&["nonces", "--config", cfg], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("nonce      0") && text.contains("in_flight"),
        "{text}"
    );

    // Cancel it: a 0-value self-send replaces it at its nonce.
    let (status, _) = post(&format!("{base}/v1/nonces/31337/999/cancel"), &token).await;
    assert_eq!(status, 404);
    let (status, body) = post(&format!("{base}/v1/nonces/31337/0/cancel"), &token).await;
    assert_eq!(status, 202, "{body}");
    let funder = crate::support::funder()
        .address()
        .to_string()
        .to_lowercase();
    eventually(
        Duration::from_secs(20),
        "the cancel in the pool",
        || async {
            let pool: serde_json::Value = ep(&net).request("txpool_content", ()).await.unwrap();
            pool["pending"]
                .to_string()
                .to_lowercase()
                .contains(&format!("\"to\":\"{funder}\""))
        },
    )
    .await;
    let _: serde_json::Value = ep(&net).request("evm_setAutomine", (true,)).await.unwrap();
    eventually(Duration::from_secs(20), "the cancel confirmed", || async {
        let _: serde_json::Value = ep(&net).request("evm_mine", ()).await.unwrap();
        let (_, events) = get(&format!("{base}/v1/events"), Some(&token)).await;
        events.contains("\"cancelled\":true")
    })
    .await;
    // The wallet still needs its top-up: a new transfer follows the cancel.
    eventually(
        Duration::from_secs(20),
        "the wallet funded after the cancel",
        || async {
            crate::support::balance(&net, wallet(1)).await
                == alloy::primitives::U256::from(20_000_000_000_000_000u128)
        },
    )
    .await;
    eventually(
        Duration::from_secs(20),
        "funding accepted again",
        || async { post(&format!("{base}/v1/fund"), &token).await.0 == 202 },
    )
    .await;
    let (status, metrics) = get(&format!("{base}/metrics"), Some(&token)).await;
    assert_eq!(status, 200);
    assert!(metrics.contains("tend_up 1"), "{metrics}");
    assert!(
        metrics.contains("tend_transfers_confirmed_total "),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "tend_wallet_balance{{chain=\"31337\",holder=\"{}\"",
            wallet(1)
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("tend_service_healthy{service=\"funded\"}"),
        "{metrics}"
    );

    // The daemon's own view catches up at its next poll.
    eventually(
        Duration::from_secs(10),
        "the status table shows the top-up",
        || async {
            let out = tend_cmd(&["status", "--config", cfg], &[]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.contains("funded")
                && text.contains(" 0.02 ")
                && text.contains("2 transactions confirmed")
        },
    )
    .await;

    let out = tend_cmd(&["stop", "--config", cfg], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(tend.wait(Duration::from_secs(10)), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_olas_funding_report_of_a_service_is_the_clis_answer_on_balances_read_from_the_chain() {
    let dir = scratch("olas");
    let net = devnet(&dir, 100, 0).await;
    let agent = wallet(1);
    let safe = wallet(2);
    net.set_balance(
        agent,
        alloy::primitives::U256::from(1_000_000_000_000_000_000u128),
    )
    .await
    .unwrap();
    let head = config_head(&dir.join("home"));
    let listen = crate::support::listen_of(&head);
    let config = dir.join("tend.toml");
    std::fs::write(
        &config,
        format!(
            "{head}[[chains]]\nchain = \"gnosis\"\nrpc = [\"{}\"]\npoll_ms = 500\n\n\
             [[services]]\nname = \"trader\"\ncommand = [\"sleep\", \"3600\"]\n\
             [services.olas.service]\nservice_config_id = \"sc-1\"\nagent_addresses = [\"{agent}\"]\n\
             [services.olas.service.chains.gnosis]\nservice_safe = \"{safe}\"\ntoken = 7\ncost_of_bond = \"10000000000000000\"\n\
             [services.olas.service.chains.gnosis.fund_requirements.\"0x0000000000000000000000000000000000000000\"]\n\
             agent = \"2000000000000000000\"\nsafe = \"5000000000000000000\"\n\n\
             [[services]]\nname = \"plain\"\ncommand = [\"sleep\", \"3600\"]\n",
            net.url
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let out = tend_cmd(&["config", "check", "--config", cfg], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let _tend = Tend::start(&config, "tend.log");
    let token = crate::support::api_token(&dir.join("home")).await;
    let base = format!("http://{listen}");
    let url = format!("{base}/v1/services/trader/funding?snapshot=true");
    eventually(Duration::from_secs(20), "the report", || async {
        get(&url, Some(&token)).await.0 == 200
    })
    .await;
    let (_, body) = get(&url, Some(&token)).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    // The balances it read are the chain's.
    assert_eq!(
        v["snapshot"]["balances"]["gnosis"][agent.to_string()]["0x0000000000000000000000000000000000000000"],
        "1000000000000000000",
        "{body}"
    );
    // The same snapshot through the CLI gives the same body, byte for byte as JSON.
    let snap = dir.join("snap.json");
    std::fs::write(&snap, v["snapshot"].to_string()).unwrap();
    let out = tend_cmd(&["funding", "olas", "--input", snap.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0));
    let cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli, v["report"]);
    // No master wallet yet: the middleware asks for a refill and does not allow a start.
    assert_eq!(v["report"]["is_refill_required"], true, "{}", v["report"]);
    assert_eq!(v["report"]["allow_start_agent"], false, "{}", v["report"]);
    let (status, plain) = get(&format!("{base}/v1/services/trader/funding"), Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&plain).unwrap(),
        v["report"]
    );
    let (status, body) = get(&format!("{base}/v1/services/plain/funding"), Some(&token)).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("[services.olas]"));
}
