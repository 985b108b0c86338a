//! `tend olas status NAME`: an Olas service as its chain has it ([`crate::chain::olas_status`]),
//! asked of the running daemon (`GET /v1/services/{name}/olas`) when one answers, else read
//! directly.

use std::fmt::Write as _;

use serde_json::Value;

use crate::chain::olas_status::{StatusError, read_status};
use crate::cli::{Failure, OlasStatusArgs};
use crate::config::Config;

/// Reads and prints the service's on-chain status.
pub async fn status(args: &OlasStatusArgs) -> Result<String, Failure> {
    let path = &args.config.config;
    let config = Config::load(path)?;
    let name = &args.service;
    // A running daemon answers (it refuses what the chain refuses); else read directly.
    let from_daemon = match crate::cli::client::Client::new(&config) {
        Ok(c) => {
            c.get_if_running(&format!("/v1/services/{name}/olas"))
                .await?
        }
        Err(_) => None,
    };
    let v = if let Some(v) = from_daemon {
        v
    } else {
        let endpoints = crate::chain::rpc::endpoints_of(&config).map_err(Failure::io)?;
        read_status(&config, &endpoints, name)
            .await
            .map_err(|e| match e {
                StatusError::Config(m) => Failure::invalid(format!("{}: {m}", path.display())),
                StatusError::Registry(m) => Failure::invalid(m),
                StatusError::Chain(m) => Failure::io(m),
            })?
    };
    if args.json {
        return Ok(format!("{v:#}\n"));
    }
    Ok(text(&v))
}

fn text(v: &Value) -> String {
    let mut s = format!(
        "service {} (id {} on chain {}, block {}): {}\n",
        v["service"].as_str().unwrap_or_default(),
        v["service_id"],
        v["chain"]
            .as_str()
            .map_or_else(|| v["chain"].to_string(), str::to_owned),
        v["block"],
        v["state"].as_str().unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "  NFT held by {}",
        v["owner"].as_str().unwrap_or("nobody")
    );
    match v["safe"].as_object() {
        Some(safe) => {
            let owners: Vec<&str> = safe["owners"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let _ = writeln!(
                s,
                "  Safe {}: {} of [{}]",
                safe["address"].as_str().unwrap_or_default(),
                safe["threshold"],
                owners.join(", ")
            );
        }
        None => {
            let _ = writeln!(s, "  no Safe yet");
        }
    }
    let _ = writeln!(s, "  agent instances: {}", v["agent_instances"]);
    if let Some(st) = v["staking"].as_object() {
        let _ = writeln!(
            s,
            "  staking {}: {}, reward {} (program has {} left)",
            st["program"].as_str().unwrap_or_default(),
            st["state"].as_str().unwrap_or_default(),
            st["reward"].as_str().unwrap_or_default(),
            st["available_rewards"].as_str().unwrap_or_default()
        );
        if let Some(u) = st["unlock_at"].as_u64() {
            let _ = writeln!(
                s,
                "  may unstake: {} (from block time {u} on)",
                if st["may_unstake"] == true {
                    "yes"
                } else {
                    "not yet"
                }
            );
        }
    }
    s
}
