//! Issue 18: the daemon takes an Olas service to its `target` on the real contracts (anvil with
//! the `open-autonomy` stack): approve + activate, approve + register, deploy the service Safe,
//! approve + stake — and back: unstake once the minimum staking duration allows, terminate,
//! unbond. Every transaction is counted from the chain.

use alloy::primitives::{Address, U256};
use serde_json::Value;
use tend::devnet::olas::{self, OlasStack, ServiceAccounts};

use alloy::sol_types::SolCall;
use tend_core::lifecycle::calls::{IServiceManager, IStaking};

use crate::olas::olas_devnet;

/// `tend.toml` for one service `olas` of registry id `id` on chain 100 at `rpc`, owned and
/// operated by tend's funding key, driven to `target`, its agent instance `agent`.
fn lifecycle_toml(
    dir: &std::path::Path,
    rpc: &str,
    stack: &OlasStack,
    id: u64,
    agent: Address,
    target: &str,
) -> std::path::PathBuf {
    lifecycle_toml_with(dir, rpc, stack, id, agent, target, "")
}

/// [`lifecycle_toml`] with `chain_extra` lines in the chain's table (`safe = …`).
pub(crate) fn lifecycle_toml_with(
    dir: &std::path::Path,
    rpc: &str,
    stack: &OlasStack,
    id: u64,
    agent: Address,
    target: &str,
    chain_extra: &str,
) -> std::path::PathBuf {
    let text = format!(
        "{}[[chains]]\nchain = 100\nrpc = [\"{rpc}\"]\nconfirmations = 1\npoll_ms = 500\n{chain_extra}\
         olas = {{ service_registry = \"{}\", token_utility = \"{}\", multisig_implementation = \
         \"{}\", recovery_module = \"{}\", fallback_handler = \"{}\" }}\n\n\
         [[services]]\nname = \"olas\"\n\
         [services.olas.registry]\nchain = 100\nservice_id = {id}\nstaking = \"{}\"\n\
         {target}\
         [services.olas.service]\nservice_config_id = \"sc-1\"\nagent_addresses = [\"{agent}\"]\n\
         [services.olas.service.chains.gnosis]\n\
         [services.olas.service.chains.gnosis.fund_requirements.\"0x0000000000000000000000000000000000000000\"]\n\
         agent = \"100000000000000000\"\nsafe = \"0\"\n",
        crate::support::config_head(&dir.join("home")),
        stack.service_registry,
        stack.token_utility,
        stack.multisig_implementation,
        stack.recovery_module,
        Address::ZERO,
        stack.staking,
        target = if target.is_empty() {
            String::new()
        } else {
            format!("target = \"{target}\"\n")
        },
    );
    let path = dir.join("tend.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A devnet with the Olas stack and a service created by tend's funding key (pre-registration),
/// with OLAS for its deposit and bond on the key when `olas`: (folder, devnet, stack, the
/// devnet's roles, the key's address, the service id).
async fn minted(
    name: &str,
    olas: bool,
) -> (
    std::path::PathBuf,
    tend::devnet::Devnet,
    OlasStack,
    ServiceAccounts,
    Address,
    u64,
) {
    let (dir, net, stack) = olas_devnet(name).await;
    let who = ServiceAccounts::of_devnet(&net).await.unwrap();
    let funder = crate::support::funder().address();
    let id = stack.create_service(&net, funder).await.unwrap();
    if olas {
        let bond = U256::from(olas::program::MIN_STAKING_DEPOSIT);
        stack
            .mint_olas(&net, funder, bond * U256::from(2))
            .await
            .unwrap();
    }
    (dir, net, stack, who, funder, id)
}

/// The transactions `from` sent to the Olas contracts, in chain order: (to, selector, gas used).
pub(crate) async fn olas_calls(
    net: &tend::devnet::Devnet,
    stack: &OlasStack,
    from: Address,
) -> Vec<(Address, [u8; 4], u64)> {
    let olas = [
        stack.olas,
        stack.service_registry,
        stack.service_manager,
        stack.staking,
        stack.recovery_module,
    ];
    let mut out = Vec::new();
    for tx in crate::support::mined_from(net, from).await {
        let Some(to) = tx["to"].as_str().and_then(|t| t.parse::<Address>().ok()) else {
            continue;
        };
        if !olas.contains(&to) {
            continue;
        }
        let input = tx["input"].as_str().unwrap_or("0x");
        let bytes = alloy::primitives::hex::decode(input).unwrap_or_default();
        let mut sel = [0u8; 4];
        if bytes.len() >= 4 {
            sel.copy_from_slice(&bytes[..4]);
        }
        let (_, gas) = crate::support::receipt_of(net, &tx).await;
        out.push((to, sel, gas));
    }
    out
}

/// Polls the chain until the service is in registry state `state` and staking state `staking`.
pub(crate) async fn wait_for(
    net: &tend::devnet::Devnet,
    stack: &OlasStack,
    id: u64,
    state: u8,
    staking: u8,
    tend: &crate::support::Tend,
) {
    for _ in 0..240 {
        let s = stack.service(net, id).await.unwrap().state;
        let st = stack.staking_state(net, id).await.unwrap();
        if s == state && st == staking {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let s = stack.service(net, id).await.unwrap().state;
    panic!(
        "service {id} never reached state {state}/{staking} (now {s}): {}",
        tend.log()
    );
}

/// A minted service (pre-registration, owned by tend's key, OLAS for its deposit and bond on the
/// key) goes to deployed-and-staked through the daemon alone, one transaction per call, nothing
/// sent twice; then, with the target changed to `terminated`, back out once the minimum staking
/// duration has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_takes_a_minted_service_to_staked_and_back_to_terminated() {
    let (dir, net, stack, who, funder, id) = minted("lifecycle-forward", true).await;
    let config = lifecycle_toml(&dir, &net.url, &stack, id, who.agent, "deployed_and_staked");
    let check = crate::support::tend_cmd(
        &["config", "check", "--config", config.to_str().unwrap()],
        &[],
    );
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let tend = crate::support::Tend::start(&config, "tend.log");
    wait_for(&net, &stack, id, 4, 1, &tend).await;
    let service = stack.service(&net, id).await.unwrap();
    assert_ne!(service.multisig, Address::ZERO, "the service Safe exists");
    // After the test's own `create`, seven calls: approve + activate, approve + register,
    // deploy, approve + stake.
    let calls = olas_calls(&net, &stack, funder).await;
    let to: Vec<Address> = calls.iter().skip(1).map(|c| c.0).collect();
    assert_eq!(
        to,
        vec![
            stack.olas,
            stack.service_manager,
            stack.olas,
            stack.service_manager,
            stack.service_manager,
            stack.service_registry,
            stack.staking,
        ],
        "{}",
        tend.log()
    );
    let gas: Vec<u64> = calls.iter().skip(1).map(|c| c.2).collect();
    eprintln!(
        "to deployed-and-staked: {} transactions, {} gas ({gas:?})",
        gas.len(),
        gas.iter().sum::<u64>()
    );
    // Rounds go on at the target: nothing more is sent.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(olas_calls(&net, &stack, funder).await.len(), 8);
    // The API shows where it is.
    let token = crate::support::api_token(&dir.join("home")).await;
    let listen = crate::support::listen_of(&std::fs::read_to_string(&config).unwrap());
    let (_, body) = crate::support::api_get(&format!("http://{listen}/v1/status"), &token).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    let lc = &v["services"][0]["lifecycle"];
    assert_eq!(lc["target"], "deployed_and_staked", "{v}");
    assert_eq!(lc["state"], "at_target", "{v}");
    let out = crate::support::tend_cmd(&["status", "--config", config.to_str().unwrap()], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("on chain → deployed_and_staked: at_target"),
        "{text}"
    );
    drop(tend);

    // Back out: unstake is refused while the minimum staking duration holds (the unlock time is
    // shown), then goes through once the devnet's clock passes it.
    let config = lifecycle_toml(&dir, &net.url, &stack, id, who.agent, "terminated");
    let _ = std::fs::remove_file(dir.join("home").join("api-token"));
    let tend = crate::support::Tend::start(&config, "tend-back.log");
    let token = crate::support::api_token(&dir.join("home")).await;
    let listen = crate::support::listen_of(&std::fs::read_to_string(&config).unwrap());
    let status = format!("http://{listen}/v1/status");
    let mut waiting = Value::Null;
    for _ in 0..40 {
        let (_, body) = crate::support::api_get(&status, &token).await;
        let v: Value = serde_json::from_str(&body).unwrap_or_default();
        if v["services"][0]["lifecycle"]["state"] == "waiting" {
            waiting = v["services"][0]["lifecycle"].clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(
        waiting["message"]
            .as_str()
            .unwrap_or_default()
            .contains("minimum staking duration"),
        "{waiting} {}",
        tend.log()
    );
    assert_eq!(
        olas_calls(&net, &stack, funder).await.len(),
        8,
        "nothing sent while locked"
    );
    let info = stack.service(&net, id).await.unwrap();
    assert_eq!(info.state, 4);
    stack
        .advance_time(&net, 2 * olas::program::LIVENESS_PERIOD + 10)
        .await
        .unwrap();
    // Unstaked, terminated, unbonded: pre-registration with the Safe kept on record.
    wait_for(&net, &stack, id, 1, 0, &tend).await;
    let calls = olas_calls(&net, &stack, funder).await;
    let back: Vec<[u8; 4]> = calls[8..].iter().map(|c| c.1).collect();
    eprintln!(
        "back to terminated: gas {:?}",
        calls[8..].iter().map(|c| c.2).collect::<Vec<_>>()
    );
    // A claim first only when a reward accrued (the devnet's agent made no Safe transactions).
    let expected = [
        IStaking::unstakeCall::SELECTOR,
        IServiceManager::terminateCall::SELECTOR,
        IServiceManager::unbondCall::SELECTOR,
    ];
    assert!(
        back == expected || back[1..] == expected,
        "(claim,) unstake, terminate, unbond: {back:?} {}",
        tend.log()
    );
    drop(tend);
}

/// Issue 18 item 3: kill -9 after every life-cycle transaction on the way to staked; each new
/// daemon reads the chain and its journal and goes on. The transactions sent equal the
/// uninterrupted run's seven: no step twice, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_after_every_step_sends_no_step_twice() {
    let (dir, net, stack, who, funder, id) = minted("lifecycle-kill", true).await;
    let config = lifecycle_toml(&dir, &net.url, &stack, id, who.agent, "deployed_and_staked");
    let (kills, logs) = kill_9_on_progress(&config, || async {
        (
            olas_calls(&net, &stack, funder).await.len(),
            stack.staking_state(&net, id).await.unwrap() == 1,
        )
    })
    .await;
    assert_eq!(stack.staking_state(&net, id).await.unwrap(), 1, "{logs}");
    // The test's own create, then the seven calls of the uninterrupted run.
    let calls = olas_calls(&net, &stack, funder).await;
    assert_eq!(calls.len(), 8, "{kills} kills: {logs}");
    assert!(
        kills >= 4,
        "{kills} kills: the daemon was killed at most steps"
    );
    eprintln!("{kills} daemons killed with -9 on the way to staked; 7 transactions sent");
    // A daemon after the last kill stays at the target and sends nothing.
    let tend = crate::support::Tend::start(&config, "tend-last.log");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        olas_calls(&net, &stack, funder).await.len(),
        8,
        "{}",
        tend.log()
    );
    drop(tend);
}

/// Starts the daemon on `config` again and again (at most 20 times), killing it with -9 as soon
/// as `progress()` — (transactions sent, goal reached) — shows one transaction more than before,
/// until it shows the goal reached: (kills, the daemons' logs). A daemon that makes no progress
/// within 6 s fails the test.
pub(crate) async fn kill_9_on_progress<F, Fut>(
    config: &std::path::Path,
    progress: F,
) -> (usize, String)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (usize, bool)>,
{
    let (mut seen, _) = progress().await;
    let mut kills = 0;
    let mut logs = String::new();
    'run: for round in 0..20 {
        let mut tend = crate::support::Tend::start(config, &format!("tend-{round}.log"));
        for _ in 0..300 {
            let (now, done) = progress().await;
            if now > seen || done {
                seen = now;
                tend.kill9();
                kills += 1;
                logs.push_str(&tend.log());
                if done {
                    break 'run;
                }
                continue 'run;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no progress after a restart: {}", tend.log());
    }
    (kills, logs)
}

/// The daemon's lifecycle view of service `olas` (`Null` until it shows one).
async fn lifecycle_view(config: &std::path::Path, home: &std::path::Path) -> Value {
    let token = crate::support::api_token(home).await;
    let listen = crate::support::listen_of(&std::fs::read_to_string(config).unwrap());
    let (_, body) = crate::support::api_get(&format!("http://{listen}/v1/status"), &token).await;
    serde_json::from_str::<Value>(&body).unwrap_or_default()["services"][0]["lifecycle"].clone()
}

/// Polls the view until `pred` holds (10 s).
async fn view_until(
    config: &std::path::Path,
    home: &std::path::Path,
    pred: impl Fn(&Value) -> bool,
    tend: &crate::support::Tend,
) -> Value {
    for _ in 0..40 {
        let v = lifecycle_view(config, home).await;
        if pred(&v) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    panic!("{} — {}", lifecycle_view(config, home).await, tend.log());
}

/// Bad input stops a step before anything is sent, with what to do: too little OLAS for the
/// deposit (then, with the OLAS there, it goes on), a service someone else owns, an unknown
/// target, a staking program that is not one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_errors_say_what_is_missing_and_send_nothing() {
    let (dir, net, stack, who, funder, id) = minted("lifecycle-guards", false).await;
    let home = dir.join("home");
    let config = lifecycle_toml(&dir, &net.url, &stack, id, who.agent, "deployed_and_staked");
    let tend = crate::support::Tend::start(&config, "tend.log");
    let v = view_until(
        &config,
        &home,
        |v| v["blocked"]["blocked"] == "token_short",
        &tend,
    )
    .await;
    let bond = U256::from(olas::program::MIN_STAKING_DEPOSIT);
    assert_eq!(v["next_step"], "activate_registration", "{v}");
    assert_eq!(v["blocked"]["needs"], bond.to_string(), "{v}");
    assert_eq!(v["blocked"]["has"], "0", "{v}");
    assert!(v["message"].as_str().unwrap().contains("send it"), "{v}");
    assert_eq!(
        olas_calls(&net, &stack, funder).await.len(),
        1,
        "only the test's create"
    );
    // With the OLAS there, it goes on by itself.
    stack
        .mint_olas(&net, funder, bond * U256::from(2))
        .await
        .unwrap();
    wait_for(&net, &stack, id, 4, 1, &tend).await;
    drop(tend);

    // A service whose NFT another address holds.
    let theirs = stack.create_service(&net, who.owner).await.unwrap();
    let _ = std::fs::remove_file(home.join("api-token"));
    let config = lifecycle_toml(&dir, &net.url, &stack, theirs, who.agent, "deployed");
    let before = olas_calls(&net, &stack, funder).await.len();
    let tend = crate::support::Tend::start(&config, "tend-theirs.log");
    let v = view_until(
        &config,
        &home,
        |v| v["blocked"]["blocked"] == "not_owner",
        &tend,
    )
    .await;
    assert_eq!(
        v["blocked"]["owner"].as_str().unwrap().to_lowercase(),
        who.owner.to_string().to_lowercase(),
        "{v}"
    );
    assert_eq!(olas_calls(&net, &stack, funder).await.len(), before);
    drop(tend);
    // `tend olas deploy` without a daemon says so before it sends anything.
    let out = crate::support::tend_cmd(
        &[
            "olas",
            "deploy",
            "olas",
            "--config",
            config.to_str().unwrap(),
        ],
        &[("TEND_TEST_KEY", tend::devnet::DEV_KEYS[0])],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nothing sent") && err.contains("is owned by"),
        "{err}"
    );
    assert_eq!(olas_calls(&net, &stack, funder).await.len(), before);

    // An unknown target and a staking program that is not one: `tend config check` refuses.
    let text = std::fs::read_to_string(&config).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        text.replace("target = \"deployed\"", "target = \"parked\""),
    )
    .unwrap();
    let out =
        crate::support::tend_cmd(&["config", "check", "--config", bad.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("parked") && err.contains("deployed_and_staked"),
        "{err}"
    );
    std::fs::write(
        &bad,
        text.replace(
            &format!("staking = \"{}\"", stack.staking),
            &format!("staking = \"{}\"", stack.olas),
        ),
    )
    .unwrap();
    let out =
        crate::support::tend_cmd(&["config", "check", "--config", bad.to_str().unwrap()], &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("StakingToken"), "{err}");
}

/// Issue 18 item 4: `tend olas deploy|stake|unstake|claim|terminate` print the plan first;
/// `--dry-run` sends nothing; with no daemon tend runs the steps itself, with one it asks it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tend_olas_commands_print_the_plan_and_take_the_service_there() {
    let (dir, net, stack, who, funder, id) = minted("lifecycle-cli", true).await;
    let config = lifecycle_toml(&dir, &net.url, &stack, id, who.agent, "");
    let c = config.to_str().unwrap();
    let olas_cmd = |args: &[&str]| {
        let mut all = vec!["olas"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--config", c]);
        crate::support::tend_cmd(&all, &[("TEND_TEST_KEY", tend::devnet::DEV_KEYS[0])])
    };
    // The plan, nothing sent.
    let out = olas_cmd(&["deploy", "olas", "--dry-run", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["goal"], "deployed_and_staked", "{plan}");
    let steps: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "activate_registration",
            "register_agents",
            "deploy",
            "stake"
        ],
        "{plan}"
    );
    assert_eq!(plan["transactions"], 7, "{plan}");
    let text = olas_cmd(&["deploy", "olas", "--dry-run"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("1. activate_registration") && text.contains("--dry-run: nothing sent"),
        "{text}"
    );
    assert_eq!(
        olas_calls(&net, &stack, funder).await.len(),
        1,
        "only the test's create"
    );
    // No daemon: tend runs the steps itself and stops at the goal.
    let out = olas_cmd(&["stake", "olas"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stack.staking_state(&net, id).await.unwrap(), 1);
    assert_eq!(olas_calls(&net, &stack, funder).await.len(), 8);
    // With a daemon: unstake is refused with the unlock time while locked, then terminate goes
    // through the daemon once the time has passed.
    let tend = crate::support::Tend::start(&config, "tend.log");
    let _ = crate::support::api_token(&dir.join("home")).await;
    let out = olas_cmd(&["unstake", "olas"]);
    assert_eq!(out.status.code(), Some(2), "{}", tend.log());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unstaking is possible from"), "{err}");
    assert_eq!(olas_calls(&net, &stack, funder).await.len(), 8);
    stack
        .advance_time(&net, 2 * olas::program::LIVENESS_PERIOD + 10)
        .await
        .unwrap();
    let out = olas_cmd(&["terminate", "olas", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{} {}",
        String::from_utf8_lossy(&out.stderr),
        tend.log()
    );
    assert_eq!(
        stack.service(&net, id).await.unwrap().state,
        1,
        "unbonded: pre-registration"
    );
    assert!(tend.log().contains("life-cycle goal set"), "{}", tend.log());
    drop(tend);
}

/// Issue 18 item 2 (eviction): a staked service the program evicts (no activity through a
/// liveness period, then a checkpoint) is unstaked and staked again by the daemon, once the
/// minimum staking duration allows the unstake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evicted_service_is_staked_again() {
    let (dir, net, stack, who, funder, id) = minted("lifecycle-evict", true).await;
    let config = lifecycle_toml(&dir, &net.url, &stack, id, who.agent, "deployed_and_staked");
    let tend = crate::support::Tend::start(&config, "tend.log");
    wait_for(&net, &stack, id, 4, 1, &tend).await;
    drop(tend);
    // Idle past the liveness period and the minimum staking duration; anyone's checkpoint
    // evicts it.
    stack
        .advance_time(&net, 2 * olas::program::LIVENESS_PERIOD + 10)
        .await
        .unwrap();
    stack.checkpoint(&net).await.unwrap();
    assert_eq!(stack.staking_state(&net, id).await.unwrap(), 2, "evicted");
    let before = olas_calls(&net, &stack, funder).await.len();
    let _ = std::fs::remove_file(dir.join("home").join("api-token"));
    let tend = crate::support::Tend::start(&config, "tend-evicted.log");
    wait_for(&net, &stack, id, 4, 1, &tend).await;
    let again: Vec<Address> = olas_calls(&net, &stack, funder).await[before..]
        .iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(
        again,
        vec![stack.staking, stack.service_registry, stack.staking],
        "unstake, approve, stake: {}",
        tend.log()
    );
    drop(tend);
}
