//! HTTP health probes: `GET` the agent's health URL with a connect and a total timeout; the body
//! is read as an Olas healthcheck document when it is one.

use std::time::Duration;

use tend_core::health::{HealthBody, ProbeResult};

/// The most of a body a probe reads.
const MAX_BODY: usize = 64 * 1024;

/// A prober (one HTTP client, connection reuse across probes).
#[derive(Debug, Clone)]
pub struct Prober {
    http: reqwest::Client,
}

impl Prober {
    /// A prober with a 1 s connect timeout.
    pub fn new() -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .pool_max_idle_per_host(1)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Self { http })
    }

    /// Probes `url`, giving up after `timeout`.
    pub async fn probe(&self, url: &str, timeout: Duration) -> ProbeResult {
        let started = crate::clock::instant();
        let fut = async {
            let resp = self.http.get(url).send().await?;
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await?;
            Ok::<_, reqwest::Error>((status, bytes))
        };
        match tokio::time::timeout(timeout, fut).await {
            Err(_) => ProbeResult::Timeout,
            Ok(Err(e)) if e.is_timeout() => ProbeResult::Timeout,
            Ok(Err(e)) if e.is_connect() => ProbeResult::Refused,
            Ok(Err(e)) => ProbeResult::Error {
                message: crate::secret::redact_url(&e.to_string()),
            },
            Ok(Ok((status, bytes))) => {
                let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_BODY)]);
                ProbeResult::Http {
                    status,
                    latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    body: HealthBody::parse(&text).ok(),
                }
            }
        }
    }

    /// Reads a JSON document (the agent's funds-status), `None` on any failure.
    pub async fn fetch_json(&self, url: &str, timeout: Duration) -> Option<serde_json::Value> {
        let fut = async { self.http.get(url).send().await?.json().await };
        tokio::time::timeout(timeout, fut).await.ok()?.ok()
    }
}
