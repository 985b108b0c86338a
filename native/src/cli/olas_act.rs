//! `tend olas deploy|stake|unstake|claim|terminate NAME [--dry-run]`: the plan from where the
//! chain has the service now (every step with its calls) is printed first; then, unless
//! `--dry-run`, the running daemon is given the goal (`POST /v1/services/{name}/olas/goal`) and
//! watched until the plan is empty — or, with no daemon running, tend runs the steps itself on
//! this home (the daemon's journal, nonces and rounds, with no agent started and no wallet
//! funded) and stops when the service is there.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::chain::olas_status::{StatusError, facts_now};
use crate::cli::client::Client;
use crate::cli::{Failure, OlasActionArgs};
use crate::config::{Config, OlasTarget};
use crate::daemon::lifecycle::{Goal, agents_of, preview};

/// A `tend olas` action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Deployed (and staked when a program is named).
    Deploy,
    /// Deployed and staked.
    Stake,
    /// Unstaked.
    Unstake,
    /// Rewards claimed.
    Claim,
    /// Terminated and unbonded.
    Terminate,
}

/// Runs the action; the text (or JSON) to print.
pub async fn act(args: &OlasActionArgs, action: Action) -> Result<String, Failure> {
    let config = Config::load(&args.config.config)?;
    let name = &args.service;
    let registry = config
        .service(name)
        .ok_or_else(|| Failure::invalid(format!("no service {name:?} in tend.toml")))?
        .olas
        .as_ref()
        .and_then(|o| o.registry)
        .ok_or_else(|| {
            Failure::invalid(format!(
                "service {name:?} has no [services.olas.registry] (chain, service_id)"
            ))
        })?;
    let goal = match action {
        Action::Deploy if registry.staking.is_some() => Goal::Target(OlasTarget::DeployedAndStaked),
        Action::Deploy => Goal::Target(OlasTarget::Deployed),
        Action::Stake if registry.staking.is_none() => {
            return Err(Failure::invalid(format!(
                "service {name:?} names no staking program: set [services.olas.registry] \
                 staking = \"0x…\""
            )));
        }
        Action::Stake => Goal::Target(OlasTarget::DeployedAndStaked),
        Action::Unstake => Goal::Target(OlasTarget::Unstaked),
        Action::Claim => Goal::Claimed,
        Action::Terminate => Goal::Target(OlasTarget::Terminated),
    };
    let client = Client::new(&config).ok();
    let path = format!("/v1/services/{name}/olas/plan?goal={}", goal.name());
    let from_daemon = match &client {
        Some(c) => c.get_if_running(&path).await?,
        None => None,
    };
    let daemon = from_daemon.is_some();
    let plan = match from_daemon {
        Some(p) => p,
        None => plan_now(&config, name, goal).await?,
    };
    let mut out = if args.json {
        format!("{plan:#}\n")
    } else {
        plan_text(&plan)
    };
    if args.dry_run || plan["at_goal"] == true {
        if !args.json && args.dry_run {
            out.push_str("--dry-run: nothing sent\n");
        }
        return Ok(out);
    }
    if let Some(why) = plan["blocked"].as_str() {
        return Err(Failure::invalid(format!("{out}nothing sent: {why}")));
    }
    // What the plan says goes to stderr now: the sending may take a while.
    let _ = std::io::stderr().write_all(out.as_bytes());
    let deadline = crate::clock::instant() + Duration::from_secs(args.wait);
    let last = match client.filter(|_| daemon) {
        Some(c) => {
            c.call(
                reqwest::Method::POST,
                &format!("/v1/services/{name}/olas/goal?goal={}", goal.name()),
            )
            .await?;
            let view = || async {
                let status = c.call(reqwest::Method::GET, "/v1/status").await?;
                Ok(lifecycle_of(&status, name))
            };
            watch(
                deadline,
                || async { c.call(reqwest::Method::GET, &path).await },
                view,
            )
            .await?
        }
        None => run_here(config, name, goal, deadline).await?,
    };
    Ok(if args.json {
        format!("{last:#}\n")
    } else {
        format!("{name}: {}\n", goal.name())
    })
}

/// The plan from the chain now (no daemon).
async fn plan_now(config: &Config, name: &str, goal: Goal) -> Result<Value, Failure> {
    let endpoints = crate::chain::rpc::endpoints_of(config).map_err(Failure::io)?;
    let now = facts_now(config, &endpoints, name)
        .await
        .map_err(|e| match e {
            StatusError::Config(m) | StatusError::Registry(m) => Failure::invalid(m),
            StatusError::Chain(m) => Failure::io(m),
        })?;
    let agents = config
        .service(name)
        .and_then(|s| s.olas.as_ref())
        .map(agents_of)
        .unwrap_or_default();
    Ok(preview(
        name,
        &now,
        goal,
        &agents,
        config.lifecycle_owner(now.registry.chain),
    ))
}

/// The `lifecycle` of service `name` in a status snapshot (`Null` when it has none).
fn lifecycle_of(status: &Value, name: &str) -> Value {
    status["services"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == name)
        .map_or(Value::Null, |s| s["lifecycle"].clone())
}

/// Polls the plan until it is empty. A held step, a plan or a driver's view that stays blocked
/// (locked, token short, not the owner) for 5 polls, or the deadline, is a failure with its
/// reason.
async fn watch<F, Fut, V, VFut>(
    deadline: Instant,
    mut plan: F,
    mut view: V,
) -> Result<Value, Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Value, Failure>>,
    V: FnMut() -> VFut,
    VFut: std::future::Future<Output = Result<Value, Failure>>,
{
    let mut said = String::new();
    let mut blocked = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let p = plan().await?;
        if p["at_goal"] == true {
            return Ok(p);
        }
        let now = match p["steps"][0]["step"].as_str() {
            Some(step) => format!("next: {step}"),
            None => String::new(),
        };
        if now != said && !now.is_empty() {
            let _ = writeln!(std::io::stderr(), "  … {now}");
            said = now;
        }
        let v = view().await?;
        if v["state"] == "held" {
            return Err(Failure::io(format!(
                "stopped: {}",
                v["message"].as_str().unwrap_or("a step reverted")
            )));
        }
        let typed = v["blocked"]["blocked"]
            .as_str()
            .filter(|b| *b != "other")
            .and(v["message"].as_str());
        if let Some(why) = p["blocked"].as_str().or(typed) {
            blocked += 1;
            if blocked >= 5 {
                return Err(Failure::io(format!("stopped: {why}")));
            }
        } else {
            blocked = 0;
        }
        if crate::clock::instant() > deadline {
            return Err(Failure::io(format!(
                "the goal is not reached after --wait; the steps sent go on: {p}"
            )));
        }
    }
}

/// No daemon runs: the daemon's machinery on this home takes the service to `goal` (no agent
/// started, no wallet funded), then stops.
async fn run_here(
    mut config: Config,
    name: &str,
    goal: Goal,
    deadline: Instant,
) -> Result<Value, Failure> {
    for s in &mut config.services {
        s.command.clear();
    }
    for s in &mut config.engine.services {
        s.autostart = false;
        s.wallets.clear();
    }
    config.api_listen = None;
    let daemon = crate::daemon::Daemon::start(config.clone(), None).await?;
    let requests = daemon.requests();
    let _ = requests.send(crate::daemon::Request::Goal {
        service: name.to_owned(),
        goal,
    });
    let shared = daemon.shared();
    let running = tokio::spawn(daemon.run());
    let view = || {
        let snapshot =
            serde_json::to_value(&*crate::daemon::lock(&shared.snapshot)).unwrap_or_default();
        async move { Ok(lifecycle_of(&snapshot, name)) }
    };
    let result = watch(deadline, || plan_now(&config, name, goal), view).await;
    let _ = requests.send(crate::daemon::Request::Shutdown);
    let _ = running.await;
    result
}

fn plan_text(plan: &Value) -> String {
    let mut s = format!(
        "service {} on chain {} at block {}: {}{} → {}\n",
        plan["service"].as_str().unwrap_or_default(),
        plan["chain"]
            .as_str()
            .map_or_else(|| plan["chain"].to_string(), str::to_owned),
        plan["block"],
        plan["state"].as_str().unwrap_or_default(),
        plan["staking"]
            .as_str()
            .map(|st| format!(", {st}"))
            .unwrap_or_default(),
        plan["goal"].as_str().unwrap_or_default(),
    );
    if plan["at_goal"] == true {
        s.push_str("  already there: nothing to send\n");
        return s;
    }
    for (i, step) in plan["steps"].as_array().into_iter().flatten().enumerate() {
        let _ = writeln!(
            s,
            "  {}. {}",
            i + 1,
            step["step"].as_str().unwrap_or_default()
        );
        for c in step["calls"].as_array().into_iter().flatten() {
            let data = c["data"].as_str().unwrap_or_default();
            let _ = writeln!(
                s,
                "     call {} value {} gas {} data {}…",
                c["to"].as_str().unwrap_or_default(),
                c["value"].as_str().unwrap_or_default(),
                c["gas"],
                data.get(..10).unwrap_or(data)
            );
        }
    }
    let _ = writeln!(s, "  {} transaction(s)", plan["transactions"]);
    if let Some(why) = plan["blocked"].as_str() {
        let _ = writeln!(s, "  blocked: {why}");
    }
    s
}
