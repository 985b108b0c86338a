//! The commands that ask a running daemon (`tend status`, `tend nonces`, `tend fund`, `tend
//! stop`) and how their answers are shown; `tend fund --dry-run` plans from fresh chain reads
//! without a daemon.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use tend_core::address::Asset;
use tend_core::chain::ChainId;
use tend_core::engine::io::{RpcAnswer, RpcCall};
use tend_core::funding::plan::Plan;

use super::client::Client;
use crate::chain::rpc::Endpoint;
use crate::cli::{self, ClientArgs, Failure, FundArgs};
use crate::config::Config;
use crate::daemon::Snapshot;

/// `tend status`.
pub async fn status(config: &Config, args: &ClientArgs) -> Result<String, Failure> {
    let v = Client::new(config)?
        .call(reqwest::Method::GET, "/v1/status")
        .await?;
    if args.json {
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        ));
    }
    let snap: Snapshot = serde_json::from_value(v).map_err(|e| {
        Failure::io(format!(
            "the daemon's status does not decode ({e}): is it another tend version?"
        ))
    })?;
    Ok(render_status(&snap))
}

/// A service's life-cycle line under its row.
fn lifecycle_line(l: &crate::daemon::lifecycle::LifecycleView) -> String {
    format!(
        "{:<16} on chain → {}: {}{} — {}\n",
        "",
        l.target,
        l.state,
        l.next_step
            .as_deref()
            .map(|n| format!(" (next: {n})"))
            .unwrap_or_default(),
        l.message
    )
}

/// One row per service (and its life-cycle line).
fn services_rows(snap: &Snapshot, s: &mut String) {
    for svc in &snap.services {
        let status = if svc.agent {
            serde_json::to_value(svc.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        } else {
            "funding-only".to_owned()
        };
        let _ = writeln!(
            *s,
            "{:<16} {:<12} {:>8} {:>8}  {}",
            svc.name,
            status,
            svc.pid.map_or("-".into(), |p| p.to_string()),
            svc.restarts,
            svc.reason
        );
        if let Some(l) = &svc.lifecycle {
            s.push_str(&lifecycle_line(l));
        }
    }
}

/// The status table.
pub fn render_status(snap: &Snapshot) -> String {
    let mut s = String::new();
    let up = snap.now_ms.saturating_sub(snap.started_at_ms) / 1000;
    let _ = writeln!(
        s,
        "tend PID {}, up {}s, {} inputs, {} RPC calls ({} failed), {} transactions confirmed",
        snap.pid, up, snap.inputs, snap.rpc_calls, snap.rpc_failures, snap.transfers_confirmed
    );
    let _ = writeln!(
        s,
        "\n{:<16} {:<12} {:>8} {:>8}  REASON",
        "SERVICE", "STATUS", "PID", "RESTARTS"
    );
    services_rows(snap, &mut s);
    if !snap.balances.is_empty() {
        let _ = writeln!(
            s,
            "\n{:<8} {:<53} {:<8} {:>24}  BLOCK",
            "CHAIN", "WALLET", "ASSET", "BALANCE"
        );
        for b in &snap.balances {
            let asset = if b.asset.is_native() {
                "native".to_owned()
            } else {
                b.asset.to_string()
            };
            let _ = writeln!(
                s,
                "{:<8} {:<53} {:<8} {:>24}  {}",
                b.chain.to_string(),
                if snap.chains.iter().any(|c| c.funder == b.holder) {
                    format!("{} (funder)", b.holder)
                } else if snap
                    .chains
                    .iter()
                    .any(|c| c.safe.as_ref().is_some_and(|s| s.address == b.holder))
                {
                    format!("{} (Safe)", b.holder)
                } else {
                    b.holder.to_string()
                },
                asset,
                format_units(&b.balance),
                b.block
            );
        }
    }
    for c in &snap.chains {
        let open = c
            .records
            .iter()
            .filter(|r| {
                matches!(
                    r.state,
                    tend_core::nonce::RecordState::Reserved
                        | tend_core::nonce::RecordState::InFlight
                        | tend_core::nonce::RecordState::Mined { .. }
                )
            })
            .count();
        let _ = writeln!(
            s,
            "\nchain {}: head {}, funder {}{}, {} transaction(s) unconfirmed, endpoints {}",
            c.chain,
            c.head.map_or("?".into(), |h| h.to_string()),
            c.funder,
            c.safe.as_ref().map_or(String::new(), |s| format!(
                ", paying from Safe {} (nonce {})",
                s.address,
                s.nonce.map_or("?".into(), |n| n.to_string())
            )),
            open,
            c.endpoints
                .iter()
                .map(|e| match e.status.map(|s| s.breaker) {
                    Some(tend_core::rpc::Breaker::Closed) | None => e.url.clone(),
                    Some(_) => format!("{} (benched)", e.url),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    s
}

/// `1234500000000000000` → `1.2345` (18 decimals), exact.
pub fn format_units(wei: &str) -> String {
    let digits = wei.trim_start_matches('0');
    if digits.is_empty() {
        return "0".into();
    }
    let padded = format!("{digits:0>19}");
    let (int, frac) = padded.split_at(padded.len() - 18);
    let frac = frac.trim_end_matches('0');
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    if frac.is_empty() {
        int.to_owned()
    } else {
        format!("{int}.{frac}")
    }
}

/// `tend nonces`.
pub async fn nonces(config: &Config, args: &ClientArgs) -> Result<String, Failure> {
    let v = Client::new(config)?
        .call(reqwest::Method::GET, "/v1/nonces")
        .await?;
    if args.json {
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        ));
    }
    let chains: Vec<crate::daemon::ChainView> = serde_json::from_value(v["chains"].clone())
        .map_err(|e| Failure::io(format!("the daemon's nonce book does not decode: {e}")))?;
    let mut s = String::new();
    for c in chains {
        let _ = writeln!(s, "chain {} (funder {}):", c.chain, c.funder);
        if c.records.is_empty() {
            s.push_str("  no transactions\n");
        }
        for r in &c.records {
            let tag = |v: serde_json::Value, key: &str| {
                v.get(key)
                    .and_then(|x| x.as_str().map(str::to_owned))
                    .or_else(|| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| v.to_string())
            };
            let state = tag(serde_json::to_value(r.state).unwrap_or_default(), "state");
            let purpose = tag(
                serde_json::to_value(r.purpose).unwrap_or_default(),
                "purpose",
            );
            let _ = writeln!(
                s,
                "  nonce {:>6}  record {:>5}  {:<10} {:<12} attempts {}",
                r.nonce,
                r.id,
                purpose,
                state,
                r.attempts.len()
            );
        }
    }
    Ok(s)
}

/// `tend stop`.
pub async fn stop(config: &Config) -> Result<String, Failure> {
    Client::new(config)?
        .call(reqwest::Method::POST, "/v1/shutdown")
        .await?;
    // Wait for the lock to go (the daemon stops its agents first).
    for _ in 0..600 {
        if crate::agents::pidfile::running_daemon(&config.home).is_none() {
            return Ok("tend stopped\n".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(Failure::io(
        "tend is still stopping after 60 s (agents slow to exit?)",
    ))
}

/// `tend fund`: asks the daemon to fund now, or (`--dry-run`) plans from the chains' current
/// balances without sending anything (no daemon needed).
pub async fn fund(config: &Config, args: &FundArgs) -> Result<String, Failure> {
    if !args.dry_run {
        Client::new(config)?
            .call(reqwest::Method::POST, "/v1/fund")
            .await?;
        return Ok("funding run requested: watch `tend status` or the daemon's log\n".into());
    }
    let plan = dry_run_plan(config).await?;
    if args.client.json {
        Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&plan).unwrap_or_default()
        ))
    } else {
        Ok(format!(
            "Dry run: nothing is sent.\n{}",
            cli::render_plan(&plan)
        ))
    }
}

async fn first_answer(eps: &[Endpoint], call: &RpcCall) -> Result<RpcAnswer, Failure> {
    crate::chain::rpc::first_answer(eps, call)
        .await
        .map_err(Failure::io)
}

/// Reads every chain once and runs the planner.
pub async fn dry_run_plan(config: &Config) -> Result<Plan, Failure> {
    let mut balances: BTreeMap<(ChainId, Address, Asset), U256> = BTreeMap::new();
    let mut fees = BTreeMap::new();
    for (spec, chain_cfg) in config.chains.iter().zip(&config.engine.chains) {
        let eps = spec
            .rpc
            .iter()
            .map(|u| Endpoint::new(u.clone(), spec.multicall))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Failure::io)?;
        let RpcAnswer::Head { number, .. } = first_answer(&eps, &RpcCall::Head).await? else {
            return Err(Failure::io("unexpected answer to a head request"));
        };
        let source = chain_cfg.source();
        let mut entries: Vec<(Address, Asset)> = vec![(config.funder, Asset::NATIVE)];
        if source != config.funder {
            entries.push((source, Asset::NATIVE));
        }
        for w in config
            .engine
            .services
            .iter()
            .flat_map(|s| &s.wallets)
            .filter(|w| w.chain == spec.chain)
        {
            for e in [(source, w.asset), (w.address, w.asset)] {
                if !entries.contains(&e) {
                    entries.push(e);
                }
            }
        }
        let RpcAnswer::Balances { values, .. } = first_answer(
            &eps,
            &RpcCall::Balances {
                block: number,
                entries: entries.clone(),
                safe: None,
            },
        )
        .await?
        else {
            return Err(Failure::io("unexpected answer to a balance request"));
        };
        for ((holder, asset), v) in entries.into_iter().zip(values) {
            balances.insert((spec.chain, holder, asset), v);
        }
        let RpcAnswer::FeeHistory(history) = first_answer(
            &eps,
            &RpcCall::FeeHistory {
                blocks: chain_cfg.fees.history_blocks,
                percentile: chain_cfg.fees.reward_percentile,
            },
        )
        .await?
        else {
            return Err(Failure::io("unexpected answer to a fee request"));
        };
        let est = tend_core::fees::estimate(&history, &chain_cfg.fees)
            .map_err(|e| Failure::io(format!("chain {}: {e}", spec.chain)))?;
        fees.insert(spec.chain, est.fees.max_fee_per_gas);
    }
    let input = crate::daemon::plan::plan_input(
        config,
        &fees,
        |c, h, a| balances.get(&(c, h, a)).copied(),
        Vec::new(),
    );
    tend_core::funding::plan::plan(&input).map_err(|e| Failure::invalid(e.to_string()))
}
