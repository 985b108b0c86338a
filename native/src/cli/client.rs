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
        match self.ask(method, path).await {
            Asked::Answer(v) => Ok(v),
            Asked::Refused(status, msg) => {
                Err(Failure::io(format!("tend answered {status}: {msg}")))
            }
            Asked::NotRunning(e) => Err(Failure::io(format!(
                "cannot reach tend at {}: {e} (is `tend run` running?)",
                self.base
            ))),
        }
    }

    /// `GET path` of a daemon that may not run: `None` when none answers; a refusal (4xx) is
    /// bad input (exit 2), other failures exit 1.
    pub(super) async fn get_if_running(
        &self,
        path: &str,
    ) -> Result<Option<serde_json::Value>, Failure> {
        match self.ask(reqwest::Method::GET, path).await {
            Asked::Answer(v) => Ok(Some(v)),
            Asked::Refused(status, msg) if status.is_client_error() => {
                Err(Failure::invalid(format!("tend answered {status}: {msg}")))
            }
            Asked::Refused(status, msg) => {
                Err(Failure::io(format!("tend answered {status}: {msg}")))
            }
            Asked::NotRunning(_) => Ok(None),
        }
    }

    async fn ask(&self, method: reqwest::Method, path: &str) -> Asked {
        let resp = match self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token.expose())
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) if e.is_connect() => return Asked::NotRunning("connection refused".into()),
            Err(e) => return Asked::NotRunning(e.to_string()),
        };
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
        if status.is_success() {
            return Asked::Answer(body);
        }
        let msg = body
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or("request failed")
            .to_owned();
        Asked::Refused(status, msg)
    }
}

/// What a request to the daemon came to.
enum Asked {
    /// A 2xx answer's body.
    Answer(serde_json::Value),
    /// Another status and the daemon's message.
    Refused(reqwest::StatusCode, String),
    /// No answer (no daemon, or it did not respond).
    NotRunning(String),
}
