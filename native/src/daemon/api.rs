//! The HTTP API (axum) for dashboards and the CLI: loopback by default, a bearer token on every
//! route. Reads the snapshot the daemon publishes; writes go to the daemon as requests.
//! The routes are described in `native/openapi.yaml`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, Request as HttpRequest, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tend_core::engine::io::{Command, ServiceName};
use tend_core::nonce::RecordState;
use tokio::sync::mpsc::UnboundedSender;

use crate::daemon::{Request, Shared};
use crate::secret::Secret;

#[derive(Clone)]
struct AppState {
    shared: Arc<Shared>,
    olas: Arc<crate::chain::olas::OlasReader>,
    requests: UnboundedSender<Request>,
    token: Arc<Secret>,
}

/// The API token: from the configured environment variable, else `<home>/api-token` (created
/// with mode 0600 and a random value when missing).
pub fn token(home: &Path, env: Option<&str>, create: bool) -> Result<Secret, String> {
    if let Some(var) = env {
        return std::env::var(var)
            .map(Secret::new)
            .map_err(|_| format!("the API token is not set: export {var}"));
    }
    let path = token_path(home);
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_owned();
        if !t.is_empty() {
            return Ok(Secret::new(t));
        }
    }
    if !create {
        return Err(format!(
            "no API token at {}: is tend running on this home?",
            path.display()
        ));
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let t: String = bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    std::fs::create_dir_all(home).map_err(|e| format!("{}: {e}", home.display()))?;
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        f.write_all(t.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(Secret::new(t))
}

/// Where the token file lives.
pub fn token_path(home: &Path) -> PathBuf {
    home.join("api-token")
}

/// The router.
pub fn router(
    shared: Arc<Shared>,
    requests: UnboundedSender<Request>,
    token: Secret,
    olas: crate::chain::olas::OlasReader,
) -> Router {
    let state = AppState {
        shared,
        olas: Arc::new(olas),
        requests,
        token: Arc::new(token),
    };
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/services", get(services))
        .route("/v1/services/{name}/health", get(health_history))
        .route("/v1/services/{name}/funding", get(olas_funding))
        .route("/v1/services/{name}/olas", get(olas_status))
        .route("/v1/services/{name}/olas/plan", get(olas_plan))
        .route("/v1/services/{name}/olas/goal", post(olas_goal))
        .route("/v1/services/{name}/start", post(start))
        .route("/v1/services/{name}/stop", post(stop))
        .route("/v1/balances", get(balances))
        .route("/v1/plan", get(plan))
        .route("/v1/nonces", get(nonces))
        .route("/v1/nonces/{chain}/{record}/cancel", post(cancel))
        .route("/v1/events", get(events))
        .route("/v1/fund", post(fund))
        .route("/v1/shutdown", post(shutdown))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .with_state(state)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": code, "message": message })),
    )
        .into_response()
}

async fn auth(
    State(st): State<AppState>,
    headers: HeaderMap,
    req: HttpRequest,
    next: Next,
) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !constant_time_eq(given.as_bytes(), st.token.expose().as_bytes()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send Authorization: Bearer <token> (the token is in <home>/api-token or the configured variable)",
        );
    }
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn status(State(st): State<AppState>) -> Response {
    let snap = crate::daemon::lock(&st.shared.snapshot).clone();
    axum::Json(snap).into_response()
}

async fn services(State(st): State<AppState>) -> Response {
    let snap = crate::daemon::lock(&st.shared.snapshot);
    axum::Json(json!({ "services": snap.services })).into_response()
}

async fn health_history(State(st): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    let snap = crate::daemon::lock(&st.shared.snapshot);
    match snap.services.iter().find(|s| s.name == name) {
        Some(s) => axum::Json(json!({ "service": name, "history": s.history })).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "unknown_service",
            &format!("no service {name:?}"),
        ),
    }
}

#[derive(serde::Deserialize)]
struct FundingQuery {
    #[serde(default)]
    snapshot: bool,
}

async fn olas_funding(
    State(st): State<AppState>,
    UrlPath(name): UrlPath<String>,
    axum::extract::Query(q): axum::extract::Query<FundingQuery>,
) -> Response {
    let funds_status = {
        let snap = crate::daemon::lock(&st.shared.snapshot);
        match snap.services.iter().find(|s| s.name == name) {
            Some(s) => s.funds_status.clone(),
            None => {
                return error(
                    StatusCode::NOT_FOUND,
                    "unknown_service",
                    &format!("no service {name:?}"),
                );
            }
        }
    };
    let in_progress = funding_in_progress(&st);
    match crate::chain::olas::report(&st.olas, &name, funds_status, in_progress, q.snapshot).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(m) if m.contains("[services.olas]") => {
            error(StatusCode::NOT_FOUND, "no_olas_description", &m)
        }
        // tend.toml and the registry disagree, or the service is not in the registry.
        Err(m) if m.contains("the registry") || m.contains("in the registry") => {
            error(StatusCode::CONFLICT, "olas_registry_conflict", &m)
        }
        Err(m) => error(StatusCode::BAD_GATEWAY, "chain_unreachable", &m),
    }
}

/// `GET /v1/services/{name}/olas`: the service as its chain has it (`tend olas status`).
async fn olas_status(State(st): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    use crate::chain::olas_status::{StatusError, read_status};
    match read_status(&st.olas.config, &st.olas.endpoints, &name).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(StatusError::Config(m)) if m.starts_with("no service") => {
            error(StatusCode::NOT_FOUND, "unknown_service", &m)
        }
        Err(StatusError::Config(m)) => error(StatusCode::NOT_FOUND, "no_olas_registry", &m),
        Err(StatusError::Registry(m)) => error(StatusCode::CONFLICT, "olas_registry_conflict", &m),
        Err(StatusError::Chain(m)) => error(StatusCode::BAD_GATEWAY, "chain_unreachable", &m),
    }
}

/// `?goal=` of the life-cycle routes, or the JSON error that says which goals there are.
fn goal_of(
    q: &std::collections::BTreeMap<String, String>,
) -> Result<crate::daemon::lifecycle::Goal, Box<Response>> {
    let text = q.get("goal").map_or("", String::as_str);
    crate::daemon::lifecycle::Goal::parse(text).ok_or_else(|| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "bad_goal",
            &format!(
                "goal {text:?} is not one of deployed_and_staked, deployed, unstaked, terminated, \
                 claimed (?goal=…)"
            ),
        ))
    })
}

/// `GET /v1/services/{name}/olas/plan?goal=…`: what taking the service to the goal would send
/// from where the chain has it now (nothing is sent).
async fn olas_plan(
    State(st): State<AppState>,
    UrlPath(name): UrlPath<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    use crate::chain::olas_status::{StatusError, facts_now};
    let goal = match goal_of(&q) {
        Ok(g) => g,
        Err(r) => return *r,
    };
    let config = &st.olas.config;
    let now = match facts_now(config, &st.olas.endpoints, &name).await {
        Ok(n) => n,
        Err(StatusError::Config(m)) if m.starts_with("no service") => {
            return error(StatusCode::NOT_FOUND, "unknown_service", &m);
        }
        Err(StatusError::Config(m)) => return error(StatusCode::NOT_FOUND, "no_olas_registry", &m),
        Err(StatusError::Registry(m)) => {
            return error(StatusCode::CONFLICT, "olas_registry_conflict", &m);
        }
        Err(StatusError::Chain(m)) => {
            return error(StatusCode::BAD_GATEWAY, "chain_unreachable", &m);
        }
    };
    let agents = config
        .service(&name)
        .and_then(|s| s.olas.as_ref())
        .map(crate::daemon::lifecycle::agents_of)
        .unwrap_or_default();
    axum::Json(crate::daemon::lifecycle::preview(
        &name,
        &now,
        goal,
        &agents,
        config.lifecycle_owner(now.registry.chain),
    ))
    .into_response()
}

/// `POST /v1/services/{name}/olas/goal?goal=…`: the daemon takes the service there (until it
/// restarts; tend.toml's target then).
async fn olas_goal(
    State(st): State<AppState>,
    UrlPath(name): UrlPath<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    let goal = match goal_of(&q) {
        Ok(g) => g,
        Err(r) => return *r,
    };
    let known = st
        .olas
        .config
        .service(&name)
        .and_then(|s| s.olas.as_ref())
        .and_then(|o| o.registry);
    match known {
        None => error(
            StatusCode::NOT_FOUND,
            "no_olas_registry",
            &format!("service {name:?} is not an Olas service with [services.olas.registry]"),
        ),
        Some(r) if r.lifecycle.is_none() => error(
            StatusCode::CONFLICT,
            "no_lifecycle_contracts",
            &format!(
                "the life-cycle contracts of chain {} are unknown: give its [[chains]] entry \
                 olas = {{ …, recovery_module = \"0x…\", multisig_implementation = \"0x…\" }}",
                r.chain
            ),
        ),
        Some(_) => match st.requests.send(Request::Goal {
            service: name,
            goal,
        }) {
            Ok(()) => (
                StatusCode::ACCEPTED,
                axum::Json(json!({ "accepted": true, "goal": goal.name() })),
            )
                .into_response(),
            Err(_) => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "stopping",
                "the daemon is stopping",
            ),
        },
    }
}

/// Hands a command to the daemon: 202, or 503 while it stops.
fn send(st: &AppState, command: Command) -> Response {
    match st.requests.send(Request::Command(command)) {
        Ok(()) => (
            StatusCode::ACCEPTED,
            axum::Json(json!({ "accepted": true })),
        )
            .into_response(),
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "stopping",
            "the daemon is stopping",
        ),
    }
}

fn service_command(st: &AppState, name: &str, start: bool) -> Response {
    let agent = crate::daemon::lock(&st.shared.snapshot)
        .services
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.agent);
    match agent {
        None => {
            return error(
                StatusCode::NOT_FOUND,
                "unknown_service",
                &format!("no service {name:?}"),
            );
        }
        Some(false) => {
            return error(
                StatusCode::CONFLICT,
                "funding_only",
                &format!(
                    "service {name:?} has no command in tend.toml: it only keeps its wallets \
                     funded, there is no agent to start or stop"
                ),
            );
        }
        Some(true) => {}
    }
    let service = ServiceName::from(name);
    let command = if start {
        Command::Start { service }
    } else {
        Command::Stop { service }
    };
    send(st, command)
}

async fn start(State(st): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    service_command(&st, &name, true)
}

async fn stop(State(st): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    service_command(&st, &name, false)
}

async fn balances(State(st): State<AppState>) -> Response {
    let snap = crate::daemon::lock(&st.shared.snapshot);
    axum::Json(json!({ "balances": snap.balances })).into_response()
}

async fn plan(State(st): State<AppState>) -> Response {
    let snap = crate::daemon::lock(&st.shared.snapshot);
    match &snap.plan {
        Some(p) => axum::Json(p.clone()).into_response(),
        None => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_read_yet",
            "no plan yet: every chain must be read once (a poll period)",
        ),
    }
}

async fn nonces(State(st): State<AppState>) -> Response {
    let snap = crate::daemon::lock(&st.shared.snapshot);
    axum::Json(json!({ "chains": snap.chains })).into_response()
}

async fn events(State(st): State<AppState>) -> Response {
    let events: Vec<serde_json::Value> = crate::daemon::lock(&st.shared.events)
        .iter()
        .map(|(at, e)| json!({ "at_ms": at, "event": e }))
        .collect();
    axum::Json(json!({ "events": events })).into_response()
}

/// Whether any of our transactions is still unconfirmed.
fn funding_in_progress(st: &AppState) -> bool {
    crate::daemon::lock(&st.shared.snapshot)
        .chains
        .iter()
        .flat_map(|c| &c.records)
        .any(|r| {
            matches!(
                r.state,
                RecordState::Reserved | RecordState::InFlight | RecordState::Mined { .. }
            )
        })
}

async fn fund(State(st): State<AppState>) -> Response {
    if funding_in_progress(&st) {
        return error(
            StatusCode::CONFLICT,
            "funding_in_progress",
            "a funding run is in progress (transactions not yet confirmed); try again when it ends",
        );
    }
    send(&st, Command::FundNow)
}

async fn cancel(
    State(st): State<AppState>,
    UrlPath((chain, record)): UrlPath<(String, u64)>,
) -> Response {
    let Ok(chain) = chain.parse::<tend_core::chain::ChainId>() else {
        return error(
            StatusCode::NOT_FOUND,
            "unknown_chain",
            &format!("no chain {chain:?}"),
        );
    };
    let known = crate::daemon::lock(&st.shared.snapshot)
        .chains
        .iter()
        .filter(|c| c.chain == chain)
        .flat_map(|c| &c.records)
        .any(|r| {
            r.id == record && matches!(r.state, RecordState::Reserved | RecordState::InFlight)
        });
    if !known {
        return error(
            StatusCode::NOT_FOUND,
            "no_such_transaction",
            "no unmined transaction with that record on that chain (see GET /v1/nonces)",
        );
    }
    send(&st, Command::Cancel { chain, tx: record })
}

async fn shutdown(State(st): State<AppState>) -> Response {
    let _ = st.requests.send(Request::Shutdown);
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({ "accepted": true })),
    )
        .into_response()
}

/// One metric family in the Prometheus text format: HELP, TYPE, then one line per
/// (labels, value); labels are `name="value"` pairs.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, String)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

async fn metrics(State(st): State<AppState>) -> Response {
    let snap = crate::daemon::lock(&st.shared.snapshot).clone();
    let one = |v: u64| vec![(String::new(), v.to_string())];
    let mut out = String::new();
    family(
        &mut out,
        "tend_up",
        "gauge",
        "1 while the daemon runs.",
        &one(1),
    );
    for (name, help, v) in [
        (
            "tend_inputs_total",
            "Inputs the engine handled.",
            snap.inputs,
        ),
        ("tend_rpc_calls_total", "RPC calls made.", snap.rpc_calls),
        (
            "tend_rpc_failures_total",
            "RPC calls that failed.",
            snap.rpc_failures,
        ),
        (
            "tend_transfers_confirmed_total",
            "Transactions confirmed.",
            snap.transfers_confirmed,
        ),
    ] {
        family(&mut out, name, "counter", help, &one(v));
    }
    let per_service = |f: &dyn Fn(&crate::daemon::ServiceView) -> String| {
        snap.services
            .iter()
            .map(|s| (format!("service=\"{}\"", s.name), f(s)))
            .collect::<Vec<_>>()
    };
    family(
        &mut out,
        "tend_service_healthy",
        "gauge",
        "1 when the service is healthy.",
        &per_service(&|s| u8::from(s.status == tend_core::health::Status::Healthy).to_string()),
    );
    family(
        &mut out,
        "tend_service_restarts_total",
        "counter",
        "Restarts of the service's agent.",
        &per_service(&|s| s.restarts.to_string()),
    );
    let balances: Vec<(String, String)> = snap
        .balances
        .iter()
        .map(|b| {
            (
                format!(
                    "chain=\"{}\",holder=\"{}\",asset=\"{}\"",
                    b.chain, b.holder, b.asset
                ),
                b.balance.clone(),
            )
        })
        .collect();
    family(
        &mut out,
        "tend_wallet_balance",
        "gauge",
        "Wallet balance in the asset's smallest unit.",
        &balances,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// Serves the API until the process ends.
pub async fn serve(
    addr: std::net::SocketAddr,
    router: Router,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        format!("cannot listen on {addr} for the API: {e} (set [api] listen, or enabled = false)")
    })?;
    Ok(tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    }))
}
