//! `tend demo`: a complete local demo on a fresh machine, and `tend demo-agent`, the agent it
//! runs.
//!
//! The demo installs anvil from the npm package `@foundry-rs/anvil-linux-amd64` into
//! `<dir>/tools` when it is missing, runs two anvil devnets (chain ids 100 and 8453) on free
//! loopback ports, installs Multicall3 on both (`anvil_setCode` with the canonical runtime code
//! at `0xcA11bde05977b3631167028862bE2a173976CA11`), writes a keystore for anvil's dev account 0
//! (the funder) and a `tend.toml`, and runs the daemon on it with three demo agents: one
//! healthy, one that crashes now and then, one that hangs. Status is printed every few seconds;
//! Ctrl-C stops everything.

// The demo talks to the person at the terminal, and a demo agent's stdout is its log.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alloy::primitives::{Address, B256, U64, U256, address};
use alloy::signers::local::PrivateKeySigner;
use tend_core::chain::ChainId;
use tend_core::engine::io::{TxBody, TxRequest};
use tend_core::fees::Fees;

use crate::chain::rpc::Endpoint;
use crate::cli::Failure;
use crate::cli::{DemoAgentArgs, DemoArgs};
use crate::config::Config;
use crate::daemon::{Daemon, Request};
use crate::devnet::{DEV_KEYS, Devnet, find_or_install_anvil, free_port};
use crate::secret::RpcUrl;

/// Where demo agents burn their spend.
pub const BURN: Address = address!("000000000000000000000000000000000000dEaD");

/// How a demo agent behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AgentMode {
    /// Always healthy.
    Healthy,
    /// Exits with code 1 after 15 to 45 seconds.
    Crashy,
    /// Stops answering its healthcheck after 20 seconds (the process stays alive).
    Hang,
    /// Exits with code 1 after 1 second, every time.
    CrashLoop,
}

/// What a demo runs on: its devnets (killed when dropped), its `tend.toml`, and what to tell the
/// person at the terminal.
pub(super) struct Setup {
    pub(super) nets: Vec<Devnet>,
    pub(super) toml: String,
    pub(super) banner: String,
}

/// The demo's funding key (anvil dev account 0) in a keystore, and the config's `[api]` and
/// `[funder]` tables.
pub(super) fn head(dir: &std::path::Path, api_port: u16, what: &str) -> Result<String, Failure> {
    let funder: PrivateKeySigner = DEV_KEYS[0]
        .parse()
        .map_err(|_| Failure::io("bad dev key"))?;
    let password = "tend-demo";
    let keys = dir.join("keys");
    let keystore = keys.join("funder.json");
    if !keystore.is_file() {
        crate::chain::keys::write_keystore(&keystore, &funder, password)
            .map_err(|e| Failure::io(e.to_string()))?;
    }
    std::fs::write(keys.join("password"), password).map_err(|e| Failure::io(e.to_string()))?;
    Ok(format!(
        "# Written by `tend demo`: {what}.\n\
         home = \"home\"\n\n[api]\nlisten = \"127.0.0.1:{api_port}\"\n\n\
         [funder]\nkeystore = \"keys/funder.json\"\npassword_file = \"keys/password\"\n\n"
    ))
}

/// This binary, as a TOML string (quoted and escaped), for the agents' commands.
pub(super) fn exe_toml() -> Result<String, Failure> {
    let exe = std::env::current_exe().map_err(|e| Failure::io(e.to_string()))?;
    Ok(toml::Value::String(exe.display().to_string()).to_string())
}

/// The `[[services]]` table of a demo agent (without its wallets).
pub(super) fn agent_service(
    exe: &str,
    name: &str,
    mode: AgentMode,
    key: &str,
    rpcs: &[&str],
) -> Result<String, Failure> {
    let port = free_port().map_err(|e| Failure::io(e.to_string()))?;
    let mode_name = match mode {
        AgentMode::Healthy => "healthy",
        AgentMode::Crashy => "crashy",
        AgentMode::Hang => "hang",
        AgentMode::CrashLoop => "crash-loop",
    };
    let mut rpc_args = String::new();
    for u in rpcs {
        let _ = write!(rpc_args, ", \"--rpc\", \"{u}\"");
    }
    Ok(format!(
        "[[services]]\nname = \"{name}\"\ncommand = [{exe}, \"demo-agent\", \"--port\", \"{port}\", \"--mode\", \"{mode_name}\"{rpc_args}]\n\
         env = {{ DEMO_AGENT_KEY = \"{key}\" }}\n\
         health_url = \"http://127.0.0.1:{port}/healthcheck\"\n\
         funds_status_url = \"http://127.0.0.1:{port}/funds-status\"\n\
         [services.health]\nperiod_ms = 2000\nprobe_timeout_ms = 1000\nstartup_budget_ms = 15000\nfailure_threshold = 3\nstop_grace_ms = 3000\n\n"
    ))
}

/// The default demo: two devnets (chains 100 and 8453) and three demo agents.
async fn setup(dir: &std::path::Path, api_port: u16) -> Result<Setup, Failure> {
    let anvil = find_or_install_anvil(&dir.join("tools")).map_err(Failure::io)?;
    eprintln!("starting two anvil devnets (chains 100 and 8453) …");
    let gnosis = Devnet::start(&anvil, 100, 1, &dir.join("anvil-100.log"))
        .await
        .map_err(Failure::io)?;
    let base = Devnet::start(&anvil, 8453, 1, &dir.join("anvil-8453.log"))
        .await
        .map_err(Failure::io)?;
    let exe = exe_toml()?;
    let modes = [
        ("demo-healthy", AgentMode::Healthy, DEV_KEYS[1]),
        ("demo-crashy", AgentMode::Crashy, DEV_KEYS[2]),
        ("demo-hang", AgentMode::Hang, DEV_KEYS[3]),
    ];
    let mut toml = head(dir, api_port, "two anvil devnets and three demo agents")?;
    for net in [&gnosis, &base] {
        let _ = write!(
            toml,
            "[[chains]]\nchain = {}\nrpc = [\"{}\"]\nconfirmations = 2\npoll_ms = 2000\nmax_fee = \"100 gwei\"\n\n",
            net.chain, net.url
        );
    }
    for (name, mode, key) in modes {
        let signer: PrivateKeySigner = key.parse().map_err(|_| Failure::io("bad dev key"))?;
        toml.push_str(&agent_service(
            &exe,
            name,
            mode,
            key,
            &[&gnosis.url, &base.url],
        )?);
        for net in [&gnosis, &base] {
            net.set_balance(signer.address(), U256::from(60_000_000_000_000_000u128))
                .await
                .map_err(Failure::io)?;
            let _ = write!(
                toml,
                "[[services.wallets]]\nchain = {}\naddress = \"{}\"\nlow = \"0.05 ether\"\ntarget = \"0.2 ether\"\n\n",
                net.chain,
                signer.address()
            );
        }
    }
    let banner = format!(
        "tend is supervising 3 demo agents and funding their wallets on chains 100 ({}) and 8453 ({}).",
        gnosis.url, base.url
    );
    Ok(Setup {
        nets: vec![gnosis, base],
        toml,
        banner,
    })
}

/// `tend demo`.
pub async fn run(args: &DemoArgs) -> Result<(), Failure> {
    let cwd = std::env::current_dir().map_err(|e| Failure::io(e.to_string()))?;
    let dir = cwd.join(&args.dir);
    std::fs::create_dir_all(&dir).map_err(|e| Failure::io(format!("{}: {e}", dir.display())))?;
    let api_port = free_port().map_err(|e| Failure::io(e.to_string()))?;
    let setup = if args.olas {
        super::demo_olas::setup(&dir, api_port).await?
    } else {
        setup(&dir, api_port).await?
    };
    let config_path = dir.join("tend.toml");
    std::fs::write(&config_path, &setup.toml).map_err(|e| Failure::io(e.to_string()))?;
    let config = Config::load(&config_path)?;
    // A previous demo's journal belongs to devnets that are gone.
    let _ = std::fs::remove_file(config.home.join("journal.sqlite"));
    let _ = std::fs::remove_file(config.home.join("journal.sqlite-wal"));
    let _ = std::fs::remove_file(config.home.join("journal.sqlite-shm"));

    let daemon = Daemon::start(config.clone(), None).await?;
    super::run::serve_api(&daemon).await?;
    let shared = daemon.shared();
    let requests = daemon.requests();
    eprintln!(
        "{}\nConfig: {}\nAPI: http://127.0.0.1:{api_port} (token in {})\n\
         Another terminal: tend status --config {}\nCtrl-C stops everything.",
        setup.banner,
        config_path.display(),
        crate::daemon::api::token_path(&config.home).display(),
        config_path.display(),
    );
    let done = Arc::new(AtomicBool::new(false));
    let printer = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            tick.tick().await;
            while !done.load(Ordering::Relaxed) {
                tick.tick().await;
                let snap = crate::daemon::lock(&shared.snapshot).clone();
                println!("\n{}", super::status::render_status(&snap));
            }
        })
    };
    if let Some(secs) = args.duration {
        let requests = requests.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            let _ = requests.send(Request::Shutdown);
        });
    }
    let result = daemon.run().await;
    done.store(true, Ordering::Relaxed);
    printer.abort();
    drop(setup.nets);
    result.map_err(Failure::from)
}

/// `tend demo-agent`: serves `/healthcheck` (an Olas healthcheck body) and `/funds-status`, and
/// burns `spend_wei` every `spend_every` seconds on each chain, so tend has wallets to top up.
pub async fn agent(args: &DemoAgentArgs) -> Result<(), Failure> {
    let key = std::env::var(&args.key_env).map_err(|_| {
        Failure::io(format!(
            "demo-agent: set {} to its private key",
            args.key_env
        ))
    })?;
    let signer: PrivateKeySigner = key
        .trim()
        .parse()
        .map_err(|_| Failure::io(format!("demo-agent: {} is not a private key", args.key_env)))?;
    let started = crate::clock::instant();
    let hang_after = Duration::from_secs(args.hang_after);
    let mode = args.mode;
    let crash_after = Duration::from_secs(match mode {
        AgentMode::Crashy => 15 + rand::random::<u64>() % 30,
        AgentMode::CrashLoop => 1,
        AgentMode::Healthy | AgentMode::Hang => u64::MAX / 4,
    });
    let app = axum::Router::new()
        .route(
            "/healthcheck",
            axum::routing::get(move || async move {
                if mode == AgentMode::Hang && started.elapsed() > hang_after {
                    tokio::time::sleep(Duration::from_hours(24)).await;
                }
                axum::Json(serde_json::json!({
                    "is_healthy": true,
                    "seconds_since_last_transition": started.elapsed().as_secs(),
                    "is_transitioning_fast": false,
                    "period": 5,
                    "reset_pause_duration": 10,
                }))
            }),
        )
        .route(
            "/funds-status",
            axum::routing::get(|| async { axum::Json(serde_json::json!({})) }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| {
            Failure::io(format!(
                "demo-agent: cannot listen on port {}: {e}",
                args.port
            ))
        })?;
    println!(
        "demo agent {} ({mode:?}) on port {}",
        signer.address(),
        args.port
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut eps = Vec::new();
    for url in &args.rpc {
        eps.push(
            Endpoint::new(RpcUrl::parse(url).map_err(Failure::io)?, false).map_err(Failure::io)?,
        );
    }
    let mut tick = tokio::time::interval(Duration::from_secs(args.spend_every.max(1)));
    loop {
        tick.tick().await;
        if started.elapsed() > crash_after {
            println!("demo agent: crashing on purpose");
            std::process::exit(1);
        }
        for ep in &eps {
            match spend(ep, &signer, args.spend_wei).await {
                Ok(hash) => println!("spent {} wei: {hash}", args.spend_wei),
                Err(e) => println!("spend failed: {e}"),
            }
        }
    }
}

async fn spend(ep: &Endpoint, signer: &PrivateKeySigner, wei: u128) -> Result<B256, String> {
    let chain: U64 = ep
        .request("eth_chainId", ())
        .await
        .map_err(|e| e.to_string())?;
    let nonce: U64 = ep
        .request("eth_getTransactionCount", (signer.address(), "pending"))
        .await
        .map_err(|e| e.to_string())?;
    let gas_price: alloy::primitives::U128 = ep
        .request("eth_gasPrice", ())
        .await
        .map_err(|e| e.to_string())?;
    let tip = 1_000_000_000u128;
    let req = TxRequest {
        from: signer.address(),
        nonce: nonce.to(),
        body: TxBody::Native {
            to: BURN,
            value: U256::from(wei),
        },
        gas_limit: 21_000,
        fees: Fees::new(gas_price.to::<u128>() * 2 + tip, tip),
        top_ups: Vec::new(),
        calls: Vec::new(),
    };
    let (raw, hash) = crate::chain::sign::sign_eip1559(signer, ChainId(chain.to()), &req)?;
    ep.request::<_, B256>("eth_sendRawTransaction", (raw,))
        .await
        .map_err(|e| e.to_string())?;
    Ok(hash)
}
