//! The daemon commands of the CLI: `run`, `init`, `config check`, and the clients of a running
//! daemon's API (`status`, `nonces`, `fund`, `stop`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use tend_core::address::Asset;
use tend_core::chain::ChainId;
use tend_core::engine::io::{RpcAnswer, RpcCall};
use tend_core::funding::plan::Plan;

use crate::cli::{self, ClientArgs, FundArgs, InitArgs, LogFormat};
use crate::config::{self, Config, ConfigError};
use crate::daemon::{Daemon, DaemonError, Snapshot};
use crate::rpc::Endpoint;

/// A failed command: the message and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// What to print after `error: `.
    pub message: String,
    /// The process exit code.
    pub code: u8,
}

impl Failure {
    /// Exit 1: the command could not run.
    pub fn io(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: cli::EXIT_FAILURE,
        }
    }
    /// Exit 2: bad usage, input or configuration.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: cli::EXIT_INVALID,
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        let code = match e {
            ConfigError::Read { .. } => cli::EXIT_FAILURE,
            ConfigError::Parse { .. } | ConfigError::Invalid { .. } => cli::EXIT_INVALID,
        };
        Self {
            message: e.to_string(),
            code,
        }
    }
}

impl From<DaemonError> for Failure {
    fn from(e: DaemonError) -> Self {
        Self {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

/// Sets up `tracing`: human-readable or JSON lines on stderr; `RUST_LOG` overrides the level.
pub fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// `tend run`: starts the daemon and its API, runs until stopped.
pub async fn run(config: Config, record: Option<&Path>) -> Result<(), Failure> {
    let daemon = Daemon::start(config, record).await?;
    serve_api(&daemon).await?;
    tracing::info!(
        home = %daemon.config().home.display(),
        services = daemon.config().services.len(),
        chains = daemon.config().chains.len(),
        "tend is running (Ctrl-C stops the agents and the daemon)"
    );
    daemon.run().await.map_err(Failure::from)
}

/// Starts the API for a daemon when configured.
pub async fn serve_api(daemon: &Daemon) -> Result<(), Failure> {
    let cfg = daemon.config();
    let Some(addr) = cfg.api_listen else {
        return Ok(());
    };
    let token = crate::api::token(&cfg.home, cfg.api_token_env.as_deref(), true)
        .map_err(Failure::invalid)?;
    let router = crate::api::router(
        daemon.shared(),
        daemon.requests(),
        token,
        daemon.olas_reader(),
    );
    crate::api::serve(addr, router).await.map_err(Failure::io)?;
    tracing::info!("API on http://{addr} (bearer token required)");
    Ok(())
}

/// `tend replay`.
pub fn replay(args: &cli::ReplayArgs) -> Result<String, Failure> {
    use crate::recording::RecordingError;
    let rec = crate::recording::load(&args.recording).map_err(|e| match e {
        RecordingError::Io { .. } => Failure::io(e.to_string()),
        RecordingError::Line { .. } => Failure::invalid(e.to_string()),
    })?;
    if let Some(policy) = &args.policy {
        return what_if(args, &rec, policy);
    }
    let outputs =
        tend_core::recording::replay(&rec).map_err(|e| Failure::invalid(e.to_string()))?;
    let text = tend_core::recording::outputs_text(&outputs);
    let lines: Vec<&str> = text.lines().collect();
    let Some(golden) = &args.check else {
        return Ok(text);
    };
    if args.bless || std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        std::fs::write(golden, &text)
            .map_err(|e| Failure::io(format!("cannot write {}: {e}", golden.display())))?;
        return Ok(format!(
            "blessed {} ({} outputs)\n",
            golden.display(),
            lines.len()
        ));
    }
    let want = std::fs::read_to_string(golden)
        .map_err(|e| Failure::io(format!("cannot read {}: {e}", golden.display())))?;
    let want: Vec<&str> = want.lines().collect();
    for (i, got) in lines.iter().enumerate() {
        match want.get(i) {
            Some(w) if w == got => {}
            Some(w) => {
                return Err(Failure::io(format!(
                    "output {} differs from {}:\n  expected: {w}\n  actual:   {got}",
                    i + 1,
                    golden.display()
                )));
            }
            None => {
                return Err(Failure::io(format!(
                    "output {} is extra (the golden file has {}):\n  actual: {got}",
                    i + 1,
                    want.len()
                )));
            }
        }
    }
    if want.len() > lines.len() {
        return Err(Failure::io(format!(
            "output {} is missing:\n  expected: {}",
            lines.len() + 1,
            want[lines.len()]
        )));
    }
    Ok(format!(
        "{} outputs match {}\n",
        lines.len(),
        golden.display()
    ))
}

/// `tend replay --policy`: the recorded history under another tend.toml's engine settings.
fn what_if(
    args: &cli::ReplayArgs,
    rec: &crate::recording::Recording,
    policy: &Path,
) -> Result<String, Failure> {
    let other = Config::load(policy)?;
    let w = tend_core::recording::what_if(rec, other.engine).map_err(|e| {
        Failure::invalid(format!(
            "{} cannot replay {}: {e}",
            policy.display(),
            args.recording.display()
        ))
    })?;
    if args.json {
        let mut s = serde_json::to_string_pretty(&w).map_err(|e| Failure::io(e.to_string()))?;
        s.push('\n');
        return Ok(s);
    }
    let mut s = format!(
        "What-if: {} (config {}) under {} (config {})\n",
        args.recording.display(),
        &w.baseline_config[..12],
        policy.display(),
        &w.what_if_config[..12],
    );
    let _ = writeln!(
        s,
        "Decisions: {} recorded, {} what-if.",
        w.baseline.len(),
        w.what_if.len()
    );
    match &w.first_difference {
        None => s.push_str("The same decisions at the same times.\n"),
        Some(d) => {
            let show = |x: &Option<tend_core::recording::Decision>| {
                x.as_ref()
                    .map_or_else(|| "(none)".to_owned(), |d| format!("{}  {}", d.at, d.kind))
            };
            let _ = writeln!(s, "First difference, decision {}:", d.index + 1);
            let _ = writeln!(s, "  recorded: {}", show(&d.baseline));
            let _ = writeln!(s, "  what-if:  {}", show(&d.what_if));
        }
    }
    if !w.differences.is_empty() {
        s.push_str("\nTaken a different number of times:\n  recorded  what-if  decision\n");
        for t in &w.differences {
            let _ = writeln!(s, "  {:>8}  {:>7}  {}", t.baseline, t.what_if, t.decision);
        }
    }
    if !w.transfers.is_empty() {
        s.push_str("\nFunding (smallest units):\n");
        for t in &w.transfers {
            let _ = writeln!(
                s,
                "  chain {} {}: recorded {} transfer(s), {}; what-if {} transfer(s), {}",
                t.chain,
                t.asset,
                t.baseline_count,
                t.baseline_amount,
                t.what_if_count,
                t.what_if_amount
            );
        }
    }
    let _ = writeln!(
        s,
        "\n{} recorded answer(s) went to calls the what-if run did not make; {} effect(s) the \
         recording lacks were assumed to succeed.",
        w.dropped, w.assumed
    );
    Ok(s)
}

/// `tend init`.
pub fn init(args: &InitArgs) -> Result<String, Failure> {
    if args.path.exists() && !args.force {
        return Err(Failure::invalid(format!(
            "{} exists: pass --force to overwrite it",
            args.path.display()
        )));
    }
    std::fs::write(&args.path, config::EXAMPLE)
        .map_err(|e| Failure::io(format!("cannot write {}: {e}", args.path.display())))?;
    Ok(format!(
        "wrote {}: edit it, then `tend config check --config {}`\n",
        args.path.display(),
        args.path.display()
    ))
}

/// `tend config check`.
pub fn check(path: &Path) -> Result<String, Failure> {
    let c = Config::load(path)?;
    let mut s = format!(
        "{}: ok — {} chain(s), {} service(s), {} wallet(s) to keep funded; funder {}\n",
        path.display(),
        c.chains.len(),
        c.services.len(),
        c.engine
            .services
            .iter()
            .map(|s| s.wallets.len())
            .sum::<usize>(),
        c.funder
    );
    for ch in &c.chains {
        let urls: Vec<String> = ch.rpc.iter().map(ToString::to_string).collect();
        let _ = writeln!(s, "  chain {}: {}", ch.chain, urls.join(", "));
    }
    Ok(s)
}

struct Client {
    base: String,
    token: crate::secret::Secret,
    http: reqwest::Client,
}

impl Client {
    fn new(config: &Config) -> Result<Self, Failure> {
        let addr = config.api_listen.ok_or_else(|| {
            Failure::invalid("the API is disabled in tend.toml ([api] enabled = false)")
        })?;
        let token = crate::api::token(&config.home, config.api_token_env.as_deref(), false)
            .map_err(Failure::io)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Failure::io(e.to_string()))?;
        Ok(Self {
            base: format!("http://{addr}"),
            token,
            http,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<serde_json::Value, Failure> {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| {
                Failure::io(format!(
                    "cannot reach tend at {}: {} (is `tend run` running?)",
                    self.base,
                    if e.is_connect() {
                        "connection refused".to_owned()
                    } else {
                        e.to_string()
                    }
                ))
            })?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
        if status.is_success() {
            Ok(body)
        } else {
            let msg = body
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("request failed");
            Err(Failure::io(format!("tend answered {status}: {msg}")))
        }
    }
}

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
    for svc in &snap.services {
        let status = serde_json::to_value(svc.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "{:<16} {:<12} {:>8} {:>8}  {}",
            svc.name,
            status,
            svc.pid.map_or("-".into(), |p| p.to_string()),
            svc.restarts,
            svc.reason
        );
    }
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
            "\nchain {}: head {}, funder {}, {} transaction(s) unconfirmed, endpoints {}",
            c.chain,
            c.head.map_or("?".into(), |h| h.to_string()),
            c.funder,
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
        if crate::pidfile::running_daemon(&config.home).is_none() {
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
    crate::rpc::first_answer(eps, call)
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
        let mut entries: Vec<(Address, Asset)> = vec![(config.funder, Asset::NATIVE)];
        for w in config
            .engine
            .services
            .iter()
            .flat_map(|s| &s.wallets)
            .filter(|w| w.chain == spec.chain)
        {
            for e in [(config.funder, w.asset), (w.address, w.asset)] {
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
    let input = crate::funding::plan_input(
        config,
        &fees,
        |c, h, a| balances.get(&(c, h, a)).copied(),
        Vec::new(),
    );
    tend_core::funding::plan::plan(&input).map_err(|e| Failure::invalid(e.to_string()))
}
