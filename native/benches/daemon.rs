//! Daemon benchmarks on real anvil nodes and real processes (a bench binary: `cargo bench -p tend
//! --bench daemon [snapshot|restart|idle]`). Results go to BENCHMARKS.md.
//!
//! - `snapshot`: balances of 1,000 wallets × 2 assets (native and a token) read tend's way (one
//!   Multicall3 `aggregate3` `eth_call` pinned to a block) versus the middleware's way (one
//!   `eth_getBalance` / `balanceOf` call per pair), and tend's fallback (one JSON-RPC batch):
//!   wall time and HTTP requests, side by side.
//! - `restart`: crash-to-restart latency of an agent under `tend run` (SIGKILL to the agent →
//!   the new agent's PID in its PID file).
//! - `idle`: `tend run` supervising 50 idle agents for 2 minutes (`TEND_BENCH_IDLE_SECS` to
//!   change): the daemon's peak RSS and CPU share.
//! - `safe`: gas and transactions to top up N = 1, 5, 20 wallets from a Master Safe (Safe 1.3.0
//!   and MultiSend of the `open-autonomy` wheel on anvil): one Safe transaction for the batch
//!   (a MultiSend delegatecall when N ≥ 2; tend's encoding in `tend_core::safe`, which is also
//!   how the middleware's `fund_chain_amounts` dispatches) against one Safe transaction per
//!   wallet; plus the RPC calls each way sends (the middleware simulates every transfer with an
//!   `eth_call` from the Safe first).
//! - `record`: the cost of `tend run --record` on a busy daemon (300 wallets read every 100 ms,
//!   10 agents probed every 200 ms): CPU time of runs without and with the recorder,
//!   alternated, 30 s each (`TEND_BENCH_RECORD_SECS` to change).

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::disallowed_methods,
    clippy::cast_precision_loss,
    clippy::too_many_lines
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes, U64, U256};
use tend::chain::rpc::{Endpoint, RawStore};
use tend::devnet::{DEV_KEYS, Devnet};
use tend::secret::RpcUrl;
use tend_core::address::Asset;
use tend_core::engine::io::{RpcAnswer, RpcCall};

/// A stand-in token: its runtime answers any call with `storage[calldata[4..36]]`, which is
/// `balanceOf(owner)` when balances are stored at the owner's address (set with
/// `anvil_setStorageAt`). Enough for reading balances; it cannot transfer.
/// PUSH1 4 CALLDATALOAD SLOAD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
const STUB_TOKEN_RUNTIME: &str = "6004355460005260206000f3";

fn stub_token_code() -> Bytes {
    Bytes::from(alloy::primitives::hex::decode(STUB_TOKEN_RUNTIME).unwrap())
}

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench-tmp")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn anvil() -> PathBuf {
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools");
    tend::devnet::find_or_install_anvil(&tools).unwrap_or_else(|f| panic!("{f}"))
}

fn wallet(i: u64) -> Address {
    Address::from_word(B256::from(U256::from(0xbe00_0000u64 + i)))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn snapshot() {
    let dir = scratch("snapshot");
    let net = Devnet::start(&anvil(), 31337, 0, &dir.join("anvil.log"))
        .await
        .unwrap();
    let ep = Endpoint::new(RpcUrl::parse(&net.url).unwrap(), true).unwrap();
    let token = Address::repeat_byte(0x77);
    let _: serde_json::Value = ep
        .request("anvil_setCode", (token, stub_token_code()))
        .await
        .unwrap();
    let n = 1000u64;
    let mut entries = Vec::new();
    for i in 0..n {
        let w = wallet(i);
        let _: serde_json::Value = ep
            .request("anvil_setBalance", (w, U256::from(i + 1)))
            .await
            .unwrap();
        let _: serde_json::Value = ep
            .request(
                "anvil_setStorageAt",
                (
                    token,
                    B256::left_padding_from(w.as_slice()),
                    B256::from(U256::from(i + 7)),
                ),
            )
            .await
            .unwrap();
        entries.push((w, Asset::NATIVE));
        entries.push((w, Asset(token)));
    }
    let _: serde_json::Value = ep.request("evm_mine", ()).await.unwrap();
    let head: U64 = ep.request("eth_blockNumber", ()).await.unwrap();
    let block = head.to::<u64>();
    let raws = RawStore::default();
    let call = RpcCall::Balances {
        block,
        entries: entries.clone(),
        safe: None,
    };
    let runs = 5;

    // tend: one aggregate3 eth_call.
    let mut tend_times = Vec::new();
    let mut values = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let a = ep
            .execute(&call, &raws, Duration::from_mins(1))
            .await
            .unwrap();
        tend_times.push(t.elapsed());
        if let RpcAnswer::Balances { values: v, .. } = a {
            values = v;
        }
    }
    assert_eq!(values.len(), entries.len());
    assert_eq!(values[0], U256::from(1));
    assert_eq!(values[1], U256::from(7));
    assert_eq!(values[1999], U256::from(1006));

    // tend's fallback: one JSON-RPC batch (Multicall3 disabled).
    let batch_ep = Endpoint::new(RpcUrl::parse(&net.url).unwrap(), false).unwrap();
    let mut batch_times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let a = batch_ep
            .execute(&call, &raws, Duration::from_mins(1))
            .await
            .unwrap();
        batch_times.push(t.elapsed());
        if let RpcAnswer::Balances { values: v, .. } = a {
            assert_eq!(v, values);
        }
    }

    // The middleware's way: one call per (holder, asset), in sequence.
    let mut mw_times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let tag = U64::from(block);
        for (i, (holder, asset)) in entries.iter().enumerate() {
            let v: U256 = if asset.is_native() {
                ep.request("eth_getBalance", (holder, tag)).await.unwrap()
            } else {
                let data = Bytes::from(
                    [
                        &[0x70u8, 0xa0, 0x82, 0x31][..],
                        B256::left_padding_from(holder.as_slice()).as_slice(),
                    ]
                    .concat(),
                );
                let out: Bytes = ep
                    .request(
                        "eth_call",
                        (serde_json::json!({ "to": token, "input": data }), tag),
                    )
                    .await
                    .unwrap();
                U256::from_be_slice(&out)
            };
            assert_eq!(v, values[i]);
        }
        mw_times.push(t.elapsed());
    }
    let (a, b, c) = (median(tend_times), median(batch_times), median(mw_times));
    println!("snapshot of {n} wallets x 2 assets (2,000 balances) on anvil, median:");
    println!("  tend, Multicall3 aggregate3 at one block: {a:>10.1?}  1 HTTP request, 1 eth_call");
    println!("  tend fallback, JSON-RPC batch:           {b:>10.1?}  1 HTTP request, 2,000 calls");
    println!("  one call per pair (the middleware):      {c:>10.1?}  2,000 HTTP requests");
    println!(
        "  ratio middleware / tend: {:.1}x wall time, 2000x requests",
        c.as_secs_f64() / a.as_secs_f64()
    );
}

fn write_config(dir: &Path, services: &str) -> PathBuf {
    let config = dir.join("tend.toml");
    std::fs::write(
        &config,
        format!(
            "home = \"{}\"\n[api]\nenabled = false\n[funder]\nprivate_key_env = \"TEND_BENCH_KEY\"\naddress = \"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\"\n\n{services}",
            dir.join("home").display()
        ),
    )
    .unwrap();
    config
}

fn start_tend(config: &Path) -> std::process::Child {
    start_tend_with(config, &[])
}

fn start_tend_with(config: &Path, extra: &[&std::ffi::OsStr]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_tend"))
        .args(["run", "--config"])
        .arg(config)
        .args(extra)
        .env("TEND_BENCH_KEY", DEV_KEYS[0])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn stop(mut child: std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn pid_in(file: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(file).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    u32::try_from(v["pid"].as_u64()?).ok()
}

fn restart() {
    let dir = scratch("restart");
    // The default policy's first restart delay (`backoff_initial_ms`) after a healthy run: a
    // demo agent probed every 200 ms is healthy at once; a healthy second resets the backoff.
    let port = tend::devnet::free_port().unwrap();
    let config = write_config(
        &dir,
        &format!(
            "[[services]]\nname = \"agent\"\ncommand = [\"{}\", \"demo-agent\", \"--port\", \"{port}\"]\n\
             env = {{ DEMO_AGENT_KEY = \"{}\" }}\nhealth_url = \"http://127.0.0.1:{port}/healthcheck\"\n\
             [services.health]\nperiod_ms = 200\nsuccess_threshold = 1\nbackoff_reset_after_ms = 1000\nflap_max_restarts = 100\n",
            env!("CARGO_BIN_EXE_tend"),
            DEV_KEYS[1]
        ),
    );
    let tend = start_tend(&config);
    let file = dir.join("home/run/agent.pid");
    let mut latencies = Vec::new();
    for _ in 0..10 {
        let mut pid = None;
        let t = Instant::now();
        while pid.is_none() && t.elapsed() < Duration::from_secs(20) {
            pid = pid_in(&file);
            std::thread::sleep(Duration::from_millis(5));
        }
        let old = pid.unwrap();
        // Past the backoff reset: each crash follows a clean (healthy) second.
        std::thread::sleep(Duration::from_secs(2));
        let _ = Command::new("kill").args(["-9", &old.to_string()]).status();
        let killed = Instant::now();
        loop {
            if let Some(p) = pid_in(&file)
                && p != old
            {
                break;
            }
            assert!(killed.elapsed() < Duration::from_secs(30), "no restart");
            std::thread::sleep(Duration::from_millis(1));
        }
        latencies.push(killed.elapsed());
    }
    stop(tend);
    let max = *latencies.iter().max().unwrap();
    println!(
        "crash-to-restart (SIGKILL -> new PID file), 10 crashes: median {:.1?}, max {max:.1?} (the middleware: about 5 minutes)",
        median(latencies)
    );
}

fn idle() {
    let secs: u64 = std::env::var("TEND_BENCH_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let dir = scratch("idle");
    let mut services = String::new();
    for i in 0..50 {
        let _ = write!(
            services,
            "[[services]]\nname = \"idle-{i}\"\ncommand = [\"sleep\", \"100000\"]\n"
        );
    }
    let config = write_config(&dir, &services);
    let tend = start_tend(&config);
    let pid = tend.id();
    let ticks = |pid: u32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 1..];
        let f: Vec<&str> = after.split_whitespace().collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    // Let it start the agents, then measure a quiet window.
    std::thread::sleep(Duration::from_secs(5));
    let t0 = ticks(pid);
    let w = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let cpu_ticks = ticks(pid) - t0;
    let wall = w.elapsed().as_secs_f64();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?")
        .to_owned();
    let running = std::fs::read_dir(dir.join("home/run"))
        .unwrap()
        .filter(|e| pid_in(&e.as_ref().unwrap().path()).is_some())
        .count();
    stop(tend);
    // Clock ticks are 100 per second on Linux.
    println!(
        "50 idle agents ({running} running) for {secs} s: peak RSS {}, CPU {:.3}% of a core",
        hwm.trim_start_matches("VmHWM:").trim(),
        cpu_ticks as f64 / 100.0 / wall * 100.0
    );
}

/// CPU ticks (user + system, 100 per second) a process has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

async fn record() {
    let secs: u64 = std::env::var("TEND_BENCH_RECORD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let dir = scratch("record");
    let net = Devnet::start(&anvil(), 31337, 1, &dir.join("anvil.log"))
        .await
        .unwrap();
    let target = U256::from(20_000_000_000_000_000u128);
    let mut services = format!(
        "[[chains]]\nchain = 31337\nrpc = [\"{}\"]\npoll_ms = 100\n\n[[services]]\nname = \"wallets\"\ncommand = [\"sleep\", \"100000\"]\n",
        net.url
    );
    for i in 0..300 {
        net.set_balance(wallet(i), target).await.unwrap();
        let _ = write!(
            services,
            "[[services.wallets]]\nchain = 31337\naddress = \"{}\"\nlow = \"10000000000000000\"\ntarget = \"{target}\"\n",
            wallet(i)
        );
    }
    for i in 0..10 {
        let port = tend::devnet::free_port().unwrap();
        let _ = write!(
            services,
            "[[services]]\nname = \"agent-{i}\"\ncommand = [\"{}\", \"demo-agent\", \"--port\", \"{port}\"]\n\
             env = {{ DEMO_AGENT_KEY = \"{}\" }}\nhealth_url = \"http://127.0.0.1:{port}/healthcheck\"\n\
             [services.health]\nperiod_ms = 200\n",
            env!("CARGO_BIN_EXE_tend"),
            DEV_KEYS[1]
        );
    }
    let config = write_config(&dir, &services);
    let rec = dir.join("run.jsonl");
    let mut runs: Vec<(bool, f64, u64)> = Vec::new();
    for with in [false, true, false, true, false, true] {
        let _ = std::fs::remove_dir_all(dir.join("home"));
        let record = [std::ffi::OsStr::new("--record"), rec.as_os_str()];
        let child = start_tend_with(&config, if with { &record } else { &[] });
        let pid = child.id();
        // Start-up and the agents' warm-up, then a measured window.
        std::thread::sleep(Duration::from_secs(5));
        let t0 = cpu_ticks(pid);
        let w = Instant::now();
        std::thread::sleep(Duration::from_secs(secs));
        let used = cpu_ticks(pid) - t0;
        let wall = w.elapsed().as_secs_f64();
        stop(child);
        let lines = if with {
            std::fs::read_to_string(&rec).unwrap().lines().count() as u64
        } else {
            0
        };
        runs.push((with, used as f64 / 100.0 / wall * 100.0, lines));
    }
    let avg = |w: bool| {
        let v: Vec<f64> = runs.iter().filter(|r| r.0 == w).map(|r| r.1).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    for (with, cpu, lines) in &runs {
        println!(
            "  {} {cpu:.2}% of a core{}",
            if *with {
                "with --record:   "
            } else {
                "without --record:"
            },
            if *with {
                format!(" ({lines} lines recorded in {secs} s + start-up)")
            } else {
                String::new()
            }
        );
    }
    let (off, on) = (avg(false), avg(true));
    println!(
        "recording overhead, 300 wallets every 100 ms + 10 agents every 200 ms, {secs} s runs: \
         {off:.2}% -> {on:.2}% of a core = {:+.1}% CPU",
        (on / off - 1.0) * 100.0
    );
}

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let all = which.is_empty();
    let want = |name: &str| all || which.iter().any(|w| w == name);
    let rt = tokio::runtime::Runtime::new().unwrap();
    if want("snapshot") {
        rt.block_on(snapshot());
    }
    if want("restart") {
        restart();
    }
    if want("idle") {
        idle();
    }
    if want("record") {
        rt.block_on(record());
    }
    if want("safe") {
        rt.block_on(safe_gas());
    }
}

/// `tend run` funding `wallets` (0 → 0.1 ETH each) from the Master Safe `safe`: the gas its
/// funding key's transactions used and how many there were (read from the chain).
async fn daemon_gas(
    net: &Devnet,
    stack: &tend::devnet::olas::OlasStack,
    safe: Address,
    wallets: &[Address],
    dir: &Path,
) -> (u64, u64) {
    use std::fmt::Write as _;
    let ep = net.endpoint().unwrap();
    let from: Address = DEV_KEYS[0]
        .parse::<alloy::signers::local::PrivateKeySigner>()
        .unwrap()
        .address();
    let start: alloy::primitives::U64 = ep.request("eth_blockNumber", ()).await.unwrap();
    let run = dir.join(format!("daemon-{}", wallets.len()));
    std::fs::create_dir_all(&run).unwrap();
    let mut body = format!(
        "[[chains]]\nchain = 100\nrpc = [\"{}\"]\nconfirmations = 1\npoll_ms = 200\nsafe = \"{safe}\"\nmultisend = \"{}\"\n\n[[services]]\nname = \"funded\"\n",
        net.url, stack.multisend
    );
    for w in wallets {
        let _ = write!(
            body,
            "[[services.wallets]]\nchain = 100\naddress = \"{w}\"\nlow = \"1\"\ntarget = \"100000000000000000\"\n"
        );
    }
    let config = write_config(&run, &body);
    let child = start_tend(&config);
    let target = U256::from(10u128.pow(17));
    for _ in 0..600 {
        let mut all = true;
        for w in wallets {
            let b: U256 = ep.request("eth_getBalance", (*w, "latest")).await.unwrap();
            all &= b == target;
        }
        if all {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop(child);
    let end: alloy::primitives::U64 = ep.request("eth_blockNumber", ()).await.unwrap();
    let (mut gas, mut txs) = (0u64, 0u64);
    for n in start.to::<u64>() + 1..=end.to::<u64>() {
        let receipts: serde_json::Value = ep
            .request("eth_getBlockReceipts", (alloy::primitives::U64::from(n),))
            .await
            .unwrap();
        for r in receipts.as_array().into_iter().flatten() {
            if r["from"].as_str().and_then(|f| f.parse::<Address>().ok()) == Some(from) {
                assert_eq!(r["status"], "0x1", "tend's Safe transaction reverted");
                let g = r["gasUsed"].as_str().unwrap().trim_start_matches("0x");
                gas += u64::from_str_radix(g, 16).unwrap();
                txs += 1;
            }
        }
    }
    for w in wallets {
        let b: U256 = ep.request("eth_getBalance", (*w, "latest")).await.unwrap();
        assert_eq!(b, target, "tend did not fund {w}");
    }
    (gas, txs)
}

/// Sends `data` to `to` from anvil's unlocked account 0; the gas used (panics on a revert).
async fn gas_of(net: &Devnet, to: Address, data: Vec<u8>) -> u64 {
    let ep = net.endpoint().unwrap();
    let from: Address = DEV_KEYS[0]
        .parse::<alloy::signers::local::PrivateKeySigner>()
        .unwrap()
        .address();
    let tx = serde_json::json!({ "from": from, "to": to, "data": Bytes::from(data), "gas": "0x1000000" });
    let h: B256 = ep.request("eth_sendTransaction", (tx,)).await.unwrap();
    for _ in 0..200 {
        let r: serde_json::Value = ep.request("eth_getTransactionReceipt", (h,)).await.unwrap();
        if !r.is_null() {
            assert_eq!(r["status"], "0x1", "a Safe transaction reverted");
            let g = r["gasUsed"].as_str().unwrap().trim_start_matches("0x");
            return u64::from_str_radix(g, 16).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no receipt");
}

async fn safe_gas() {
    use alloy::signers::SignerSync;
    use tend_core::safe::{
        MultiSendCall, Operation, SafeTx, exec_transaction_data, multisend_data, pack_signatures,
        safe_tx_hash,
    };
    let dir = scratch("safe-gas");
    let net = Devnet::start(&anvil(), 100, 0, &dir.join("anvil.log"))
        .await
        .unwrap();
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools");
    let wheel = tend::devnet::olas::find_or_fetch_wheel(&tools).unwrap();
    let handler = tend::devnet::fallback::find_or_fetch(&tools).unwrap();
    let stack = tend::devnet::olas::deploy(&net, &wheel, &handler)
        .await
        .unwrap();
    let owner: alloy::signers::local::PrivateKeySigner = DEV_KEYS[0].parse().unwrap();
    let safe = stack
        .create_safe(&net, owner.address(), vec![owner.address()], 1, 1)
        .await
        .unwrap();
    net.set_balance(safe, U256::from(10u128.pow(24)))
        .await
        .unwrap();
    let mut nonce = 0u64;
    let exec = |tx: SafeTx| {
        let hash = safe_tx_hash(100, safe, &tx);
        let sig = owner.sign_hash_sync(&hash).unwrap().as_bytes();
        exec_transaction_data(&tx, &pack_signatures(vec![(owner.address(), sig)]))
    };
    let amount = U256::from(10u128.pow(17));
    let mut next_wallet = 0x5afe_0000u64;
    let mut fresh = |n: usize| -> Vec<Address> {
        (0..n)
            .map(|_| {
                next_wallet += 1;
                wallet(next_wallet)
            })
            .collect()
    };
    // A first Safe transaction (its nonce 0 → 1 costs a fresh storage slot) before measuring.
    let warm = SafeTx {
        to: fresh(1)[0],
        value: amount,
        data: Vec::new(),
        operation: Operation::Call,
        safe_tx_gas: U256::ZERO,
        nonce: U256::from(nonce),
    };
    gas_of(&net, safe, exec(warm)).await;
    nonce += 1;
    let mut table = String::from(
        "| N wallets | one Safe tx for the batch: gas / txs / RPC sends | `tend run` from the Safe: gas / txs | one Safe tx per wallet: gas / txs | ratio (gas, per wallet / batch) | the middleware: RPC calls (N simulations + 1 send) |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for n in [1usize, 5, 20] {
        // Every strategy pays fresh recipients (each a new account), so the costs compare.
        let batch = fresh(n);
        let tx = if n == 1 {
            SafeTx {
                to: batch[0],
                value: amount,
                data: Vec::new(),
                operation: Operation::Call,
                safe_tx_gas: U256::ZERO,
                nonce: U256::from(nonce),
            }
        } else {
            let calls: Vec<MultiSendCall> = batch
                .iter()
                .map(|w| MultiSendCall {
                    operation: Operation::Call,
                    to: *w,
                    value: amount,
                    data: Vec::new(),
                })
                .collect();
            SafeTx {
                to: stack.multisend,
                value: U256::ZERO,
                data: multisend_data(&calls),
                operation: Operation::DelegateCall,
                safe_tx_gas: U256::ZERO,
                nonce: U256::from(nonce),
            }
        };
        let one = gas_of(&net, safe, exec(tx)).await;
        nonce += 1;
        let mut each = 0u64;
        for w in fresh(n) {
            let tx = SafeTx {
                to: w,
                value: amount,
                data: Vec::new(),
                operation: Operation::Call,
                safe_tx_gas: U256::ZERO,
                nonce: U256::from(nonce),
            };
            each += gas_of(&net, safe, exec(tx)).await;
            nonce += 1;
        }
        let (daemon, daemon_txs) = daemon_gas(&net, &stack, safe, &fresh(n), &dir).await;
        nonce += daemon_txs;
        let _ = writeln!(
            table,
            "| {n} | {one} / 1 / 1 | {daemon} / {daemon_txs} | {each} / {n} | {:.2} | {} |",
            each as f64 / one as f64,
            n + 1
        );
    }
    println!(
        "safe: top-ups from a Master Safe (GnosisSafeL2 1.3.0, 1 owner; MultiSend of the wheel), fresh recipients, 0.1 ETH each\n{table}"
    );
}
