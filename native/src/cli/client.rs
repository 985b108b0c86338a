//! The client of a running daemon's HTTP API (bearer token from the home or the environment),
//! for the commands that ask the daemon.

use std::time::Duration;

use crate::cli::Failure;
use crate::config::Config;

pub(super) struct Client {
    base: String,
    token: crate::secret::Secret,
    http: reqwest::Client,
}

impl Client {
    pub(super) fn new(config: &Config) -> Result<Self, Failure> {
        let addr = config.api_listen.ok_or_else(|| {
            Failure::invalid("the API is disabled in tend.toml ([api] enabled = false)")
        })?;
        let token = crate::daemon::api::token(&config.home, config.api_token_env.as_deref(), false)
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

    pub(super) async fn call(
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
