//! The daemon against real anvil nodes and real processes: funding, crash safety, start-up
//! failures, one daemon per home.

use std::fmt::Write as _;
use std::time::Duration;

use alloy::primitives::{U64, U256};
use tend::chain::rpc::Endpoint;

use crate::support::{
    Tend, balance, chain_toml, devnet, eventually, funder, scratch, tend_cmd, transactions_from,
    wallet, write_config,
};

const LOW: u128 = 10_000_000_000_000_000; // 0.01 ether
const TARGET: u128 = 20_000_000_000_000_000; // 0.02 ether

fn wallets_toml(chain: u64, n: u64) -> String {
    let mut s = String::from(
        "[[services]]\nname = \"funded\"\ncommand = [\"sleep\", \"3600\"]\nautostart = false\n",
    );
    for i in 0..n {
        let _ = write!(
            s,
            "[[services.wallets]]\nchain = {chain}\naddress = \"{}\"\nlow = \"{LOW}\"\ntarget = \"{TARGET}\"\n",
            wallet(i)
        );
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_transfers_from_one_sender_all_mined_without_collisions_then_a_drained_wallet_is_topped_up_within_a_poll()
 {
    let dir = scratch("hundred");
    let net = devnet(&dir, 31337, 0).await;
    let n = 100;
    let config = write_config(
        &dir,
        &format!("{}{}", chain_toml(&net, ""), wallets_toml(31337, n)),
    );
    let mut tend = Tend::start(&config, "tend.log");
    eventually(
        Duration::from_secs(90),
        "every wallet funded to target",
        || crate::support::all_at(&net, n, TARGET),
    )
    .await;
    // Counted on chain: one transfer per wallet, nonces 0..n each used once.
    let txs = transactions_from(&net, funder().address()).await;
    let mut nonces: Vec<u64> = txs.iter().map(|t| t.2).collect();
    nonces.sort_unstable();
    nonces.dedup();
    assert_eq!(nonces.len(), txs.len(), "a nonce was used twice: {txs:?}");
    for i in 0..n {
        let to_i: Vec<_> = txs.iter().filter(|t| t.0 == wallet(i)).collect();
        assert_eq!(to_i.len(), 1, "wallet {i} got {} transfers", to_i.len());
        assert_eq!(to_i[0].1, U256::from(TARGET));
    }
    assert_eq!(txs.len(), usize::try_from(n).unwrap(), "{}", tend.log());

    // Drain one wallet below low: topped up within one poll (300 ms) plus the round trips.
    net.set_balance(wallet(7), U256::from(LOW / 2))
        .await
        .unwrap();
    let drained = std::time::Instant::now();
    eventually(
        Duration::from_secs(5),
        "the drained wallet topped up",
        || async { balance(&net, wallet(7)).await == U256::from(TARGET) },
    )
    .await;
    let took = drained.elapsed();
    assert!(took < Duration::from_secs(3), "top-up took {took:?}");
    assert!(!tend.log().contains("ERROR"), "{}", tend.log());
    tend.stop();
    let replayed = tend.keep("concurrent-transfers");
    assert_eq!(
        replayed.matches("\"event\":\"transfer_planned\"").count(),
        usize::try_from(n).unwrap() + 1
    );
}

/// A tiny deterministic generator for the kill moments (reproducible runs).
fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_during_funding_sends_every_transfer_exactly_once() {
    let dir = scratch("kill9");
    // One-second blocks: transactions sit in the pool while the daemon is killed;
    // one at a time, so funding outlasts the 20 rounds.
    let net = devnet(&dir, 31337, 1).await;
    let n = 30;
    let config = write_config(
        &dir,
        &format!(
            "{}{}",
            chain_toml(&net, "nonce = { max_in_flight = 1 }"),
            wallets_toml(31337, n)
        ),
    );
    let mut seed = 0x7e4d_u64;
    for round in 0..20 {
        let mut tend = Tend::start(&config, "tend.log");
        let wait = 150 + lcg(&mut seed) % 1500;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        assert!(
            tend.child.try_wait().unwrap().is_none(),
            "round {round}: tend exited early: {}",
            tend.log()
        );
        tend.kill9();
    }
    // The kills landed while funding was under way.
    let funded_before = {
        let mut k = 0;
        for i in 0..n {
            if balance(&net, wallet(i)).await == U256::from(TARGET) {
                k += 1;
            }
        }
        k
    };
    assert!(
        funded_before < n,
        "funding ended before the last kill: the kills tested nothing"
    );
    let tend = Tend::start(&config, "tend.log");
    eventually(
        Duration::from_mins(2),
        "every wallet funded to target",
        || crate::support::all_at(&net, n, TARGET),
    )
    .await;
    // Let anything still planned go out: nothing more must arrive.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let txs = transactions_from(&net, funder().address()).await;
    for i in 0..n {
        let to_i: Vec<_> = txs.iter().filter(|t| t.0 == wallet(i)).collect();
        assert_eq!(
            to_i.len(),
            1,
            "wallet {i} got {} transfers: {to_i:?}\n{}",
            to_i.len(),
            tend.log()
        );
    }
    // Gap fills and cancels are 0-value self-sends; everything else went to a wallet once.
    let others: Vec<_> = txs
        .iter()
        .filter(|t| t.0 != funder().address() && !(0..n).any(|i| t.0 == wallet(i)))
        .collect();
    assert!(others.is_empty(), "{others:?}");
    let mut nonces: Vec<u64> = txs.iter().map(|t| t.2).collect();
    nonces.sort_unstable();
    let expected: Vec<u64> = (0..u64::try_from(txs.len()).unwrap()).collect();
    assert_eq!(nonces, expected, "nonces reused or skipped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_tend_on_the_same_home_exits_3_naming_the_running_pid() {
    let dir = scratch("twice");
    let net = devnet(&dir, 31337, 0).await;
    let config = write_config(&dir, &chain_toml(&net, ""));
    let first = Tend::start(&config, "first.log");
    let token = dir.join("home/api-token");
    eventually(Duration::from_secs(20), "the first tend is up", || async {
        token.is_file()
    })
    .await;
    let mut second = Tend::start(&config, "second.log");
    assert_eq!(
        second.wait(Duration::from_secs(20)),
        Some(3),
        "{}",
        second.log()
    );
    let pid = first.child.id().to_string();
    assert!(
        second.log().contains("already running") && second.log().contains(&pid),
        "{}",
        second.log()
    );
    // The first one is unharmed and answers.
    let v = crate::support::tend_json(&["status", "--json", "--config", config.to_str().unwrap()]);
    assert_eq!(v["pid"].as_u64().unwrap().to_string(), pid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_failures_are_clear_exit_non_zero_and_write_nothing() {
    let dir = scratch("startup");
    let net = devnet(&dir, 31337, 0).await;

    // A wrong keystore password.
    let ks = dir.join("keys/funder.json");
    tend::chain::keys::write_keystore(&ks, &funder(), "right horse").unwrap();
    let home = dir.join("home-pw");
    let config = dir.join("pw.toml");
    std::fs::write(
        &config,
        format!(
            "home = \"{}\"\n[funder]\nkeystore = \"keys/funder.json\"\npassword_env = \"TEND_TEST_PW\"\n\n{}",
            home.display(),
            chain_toml(&net, "")
        ),
    )
    .unwrap();
    let out = tend_cmd(
        &["run", "--config", config.to_str().unwrap()],
        &[("TEND_TEST_PW", "wrong battery")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("wrong password for keystore"), "{err}");
    assert!(!err.contains("wrong battery"), "the password leaked: {err}");
    assert!(!home.exists(), "the home was written");
    // `tend config check` tries the key when the password is at hand, and says when it is not.
    let check = |pw: Option<&str>| {
        let env: Vec<(&str, &str)> = pw.map(|p| ("TEND_TEST_PW", p)).into_iter().collect();
        let out = tend_cmd(
            &["config", "check", "--config", config.to_str().unwrap()],
            &env,
        );
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = check(Some("wrong battery"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("wrong password for keystore"), "{err}");
    assert!(!err.contains("wrong battery"), "the password leaked: {err}");
    let (code, out, err) = check(None);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("not checked") && out.contains("TEND_TEST_PW"),
        "{out}"
    );
    // The right one decrypts (and the funder address comes from the keystore).
    let (code, out, err) = check(Some("right horse"));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("decrypts"), "{out}");
    assert!(out.contains(&funder().address().to_string()), "{out}");

    // An unreachable RPC (with an API key in its path, which must not be printed).
    let home = dir.join("home-rpc");
    let config = dir.join("rpc.toml");
    let port = tend::devnet::free_port().unwrap();
    std::fs::write(
        &config,
        format!(
            "home = \"{}\"\n[funder]\nprivate_key_env = \"TEND_TEST_KEY\"\naddress = \"{}\"\n\n[[chains]]\nchain = 31337\nrpc = [\"http://127.0.0.1:{port}/v3/9aa3d95b3bc440fa88ea12eaa4456161\"]\n",
            home.display(),
            funder().address()
        ),
    )
    .unwrap();
    let out = tend_cmd(
        &["run", "--config", config.to_str().unwrap()],
        &[("TEND_TEST_KEY", tend::devnet::DEV_KEYS[0])],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no RPC endpoint answered"), "{err}");
    assert!(!err.contains("9aa3d95b"), "the API key leaked: {err}");
    assert!(!home.exists(), "the home was written");

    // An endpoint that serves another chain.
    let config = dir.join("wrong-chain.toml");
    std::fs::write(
        &config,
        format!(
            "home = \"{}\"\n[funder]\nprivate_key_env = \"TEND_TEST_KEY\"\naddress = \"{}\"\n\n[[chains]]\nchain = 100\nrpc = [\"{}\"]\n",
            home.display(),
            funder().address(),
            net.url
        ),
    )
    .unwrap();
    let out = tend_cmd(
        &["run", "--config", config.to_str().unwrap()],
        &[("TEND_TEST_KEY", tend::devnet::DEV_KEYS[0])],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("serves chain id 31337, not 100"), "{err}");
    assert!(!home.exists());

    // A missing private key variable.
    let out = tend_cmd(&["run", "--config", config.to_str().unwrap()], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("TEND_TEST_KEY") && err.contains("not set"),
        "{err}"
    );

    // A bad configuration: the key and its line.
    let config = dir.join("bad.toml");
    std::fs::write(
        &config,
        format!(
            "home = \"{}\"\n[funder]\nprivate_key_env = \"K\"\naddress = \"{}\"\n\n[[chains]]\nchain = 100\nrpc = [\"{}\"]\nconfirmatons = 3\n",
            home.display(),
            funder().address(),
            net.url
        ),
    )
    .unwrap();
    let out = tend_cmd(&["run", "--config", config.to_str().unwrap()], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("confirmatons") && err.contains("line 9"),
        "{err}"
    );
    assert!(!home.exists());
}

/// A fault-injecting JSON-RPC proxy on loopback in front of anvil: `slow` answers after 3 s,
/// `429` always answers HTTP 429, `lag` answers every `latest` query at the block that was
/// latest when it started (a node that stopped syncing).
async fn proxy(mode: &'static str, upstream: String) -> String {
    let port = tend::devnet::free_port().unwrap();
    let http = reqwest::Client::new();
    let frozen = if mode == "lag" {
        let head: U64 = Endpoint::new(tend::secret::RpcUrl::parse(&upstream).unwrap(), true)
            .unwrap()
            .request("eth_blockNumber", ())
            .await
            .unwrap();
        format!("\"{head:#x}\"")
    } else {
        String::new()
    };
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |body: String| {
            let http = http.clone();
            let upstream = upstream.clone();
            let frozen = frozen.clone();
            async move {
                if mode == "429" {
                    return (
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        "rate limited".to_owned(),
                    );
                }
                let body = if mode == "lag" {
                    body.replace("\"latest\"", &frozen)
                } else {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    body
                };
                let resp = http
                    .post(&upstream)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                (axum::http::StatusCode::OK, resp.text().await.unwrap())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://127.0.0.1:{port}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_endpoint_dead_one_slow_and_one_rate_limited_reads_and_sends_succeed_and_the_bad_ones_are_benched()
 {
    let dir = scratch("failover");
    let net = devnet(&dir, 31337, 0).await;
    let dead = format!("http://127.0.0.1:{}", tend::devnet::free_port().unwrap());
    let slow = proxy("slow", net.url.clone()).await;
    let limited = proxy("429", net.url.clone()).await;
    let n = 5;
    let config = write_config(
        &dir,
        &format!(
            "[[chains]]\nchain = 31337\nrpc = [\"{dead}\", \"{slow}\", \"{limited}\", \"{}\"]\nconfirmations = 1\npoll_ms = 300\nrpc_policy = {{ request_timeout_ms = 1000 }}\n\n{}",
            net.url,
            wallets_toml(31337, n)
        ),
    );
    // Start-up needs one endpoint answering: the good one is last.
    let mut tend = Tend::start(&config, "tend.log");
    eventually(Duration::from_mins(1), "every wallet funded", || {
        crate::support::all_at(&net, n, TARGET)
    })
    .await;
    let benched = |v: &serde_json::Value, i: usize| {
        v["chains"][0]["endpoints"][i]["status"]["breaker"]["breaker"]
            .as_str()
            .is_some_and(|s| s != "closed")
    };
    let mut seen = [false; 4];
    let mut good_score = 0;
    let mut slow_score = u64::MAX;
    eventually(
        Duration::from_secs(30),
        "the dead and the rate-limited endpoints benched",
        || {
            let v = crate::support::status(&config);
            for (i, s) in seen.iter_mut().enumerate() {
                *s |= benched(&v, i);
            }
            good_score = v["chains"][0]["endpoints"][3]["status"]["score_bps"]
                .as_u64()
                .unwrap_or(0);
            slow_score = v["chains"][0]["endpoints"][1]["status"]["score_bps"]
                .as_u64()
                .unwrap_or(u64::MAX);
            let done = seen[0] && seen[2];
            async move { done }
        },
    )
    .await;
    assert!(!seen[3], "the good endpoint was benched");
    assert!(
        slow_score < good_score,
        "slow {slow_score} vs good {good_score}"
    );
    let log = tend.log();
    assert!(!log.contains("ERROR"), "{log}");
    tend.stop();
    let replayed = tend.keep("failover-dead-slow-429");
    assert!(replayed.contains("\"event\":\"transfer_planned\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_stuck_at_an_old_block_is_left_behind_and_no_wallet_is_funded_twice() {
    let dir = scratch("lagging");
    let net = devnet(&dir, 31337, 1).await;
    let lagging = proxy("lag", net.url.clone()).await;
    let n = 3;
    let config = write_config(
        &dir,
        &format!(
            "[[chains]]\nchain = 31337\nrpc = [\"{lagging}\", \"{}\"]\nconfirmations = 1\npoll_ms = 300\n\
             rpc_policy = {{ max_head_lag_blocks = 2 }}\n\n{}",
            net.url,
            wallets_toml(31337, n)
        ),
    );
    let mut tend = Tend::start(&config, "tend.log");
    eventually(Duration::from_mins(1), "every wallet funded", || {
        crate::support::all_at(&net, n, TARGET)
    })
    .await;
    eventually(
        Duration::from_secs(30),
        "the lagging endpoint seen behind",
        || {
            let v = crate::support::status(&config);
            async move {
                v["chains"][0]["endpoints"][0]["status"]["lag"]
                    .as_u64()
                    .is_some_and(|l| l > 2)
            }
        },
    )
    .await;
    // Two more polls on the stale answers: still one transfer per wallet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let txs = transactions_from(&net, funder().address()).await;
    assert_eq!(
        txs.len(),
        usize::try_from(n).unwrap(),
        "{txs:?}\n{}",
        tend.log()
    );
    tend.stop();
    let replayed = tend.keep("lagging-endpoint");
    assert_eq!(
        replayed.matches("\"event\":\"transfer_planned\"").count(),
        usize::try_from(n).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erc20_wallet_is_topped_up_with_a_token_transfer() {
    let dir = scratch("erc20");
    let net = devnet(&dir, 31337, 0).await;
    let token = alloy::primitives::Address::repeat_byte(0x42);
    let supply = U256::from(1_000u64) * U256::from(10u64).pow(U256::from(18));
    crate::support::deploy_token(&net, token, funder().address(), supply).await;
    let config = write_config(
        &dir,
        &format!(
            "{}[[services]]\nname = \"t\"\ncommand = [\"sleep\", \"3600\"]\nautostart = false\n\
             [[services.wallets]]\nchain = 31337\naddress = \"{}\"\nasset = \"{token}\"\nlow = \"5 ether\"\ntarget = \"12.5 ether\"\n\
             [[services.wallets]]\nchain = 31337\naddress = \"{}\"\nlow = \"{LOW}\"\ntarget = \"{TARGET}\"\n",
            chain_toml(&net, ""),
            wallet(1),
            wallet(1)
        ),
    );
    let mut tend = Tend::start(&config, "tend.log");
    let want = U256::from(12_500_000_000_000_000_000u128);
    eventually(
        Duration::from_secs(30),
        "the token wallet topped up",
        || async {
            crate::support::token_balance(&net, token, wallet(1)).await == want
                && balance(&net, wallet(1)).await == U256::from(TARGET)
        },
    )
    .await;
    assert_eq!(
        crate::support::token_balance(&net, token, funder().address()).await,
        supply - want
    );
    let txs = transactions_from(&net, funder().address()).await;
    assert_eq!(txs.len(), 2, "{txs:?}\n{}", tend.log());
    assert!(txs.iter().any(|t| t.0 == token && t.1.is_zero()), "{txs:?}");
    tend.stop();
    let replayed = tend.keep("erc20-topup");
    assert!(replayed.contains(&format!(
        "\"asset\":\"{}\"",
        token.to_string().to_lowercase()
    )));
}
