//! `tend run`: the daemon and its API on a configuration, until Ctrl-C, SIGTERM or `tend stop`;
//! and the log set-up every long-running command shares.

use std::path::Path;

use crate::cli::{Failure, LogFormat};
use crate::config::Config;
use crate::daemon::Daemon;

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
    let token = crate::daemon::api::token(&cfg.home, cfg.api_token_env.as_deref(), true)
        .map_err(Failure::invalid)?;
    let router = crate::daemon::api::router(
        daemon.shared(),
        daemon.requests(),
        token,
        daemon.olas_reader(),
    );
    crate::daemon::api::serve(addr, router)
        .await
        .map_err(Failure::io)?;
    tracing::info!("API on http://{addr} (bearer token required)");
    Ok(())
}
