//! The Olas-compatible funding report of a service (`GET /v1/services/{name}/funding`): the body
//! the Olas middleware serves at `/api/v2/service/{id}/funding_requirements`, computed by the
//! core from the service's `[services.olas]` description, balances read now (one Multicall3 call
//! per chain, pinned to the head), and the agent's funds-status document.

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy::primitives::{Address, U256};
use serde_json::{Value, json};
use tend_core::address::Asset;
use tend_core::chain::ChainId;
use tend_core::engine::io::{RpcAnswer, RpcCall};
use tend_core::funding::{FundingSnapshot, funding_requirements};

use crate::chain::rpc::Endpoint;
use crate::config::{Config, reads, snapshot_json};

/// What the report needs of the daemon: the configuration and the chains' endpoints.
#[derive(Debug, Clone)]
pub struct OlasReader {
    /// The configuration.
    pub config: Arc<Config>,
    /// Endpoints per chain.
    pub endpoints: BTreeMap<ChainId, Vec<Arc<Endpoint>>>,
}

/// Reads the balances and computes the report. Returns `{snapshot, report}` when
/// `with_snapshot`, else the report alone (the middleware's exact body).
pub async fn report(
    reader: &OlasReader,
    service: &str,
    funds_status: Option<Value>,
    in_progress: bool,
    with_snapshot: bool,
) -> Result<Value, String> {
    let spec = reader
        .config
        .service(service)
        .ok_or_else(|| format!("no service {service:?}"))?
        .olas
        .as_ref()
        .ok_or_else(|| {
            format!("service {service:?} has no [services.olas] section in tend.toml")
        })?;
    let mut balances = BTreeMap::new();
    for (name, entries) in reads(spec) {
        let chain: ChainId = name.parse().map_err(|e| format!("{e}"))?;
        let eps = reader
            .endpoints
            .get(&chain)
            .ok_or_else(|| format!("chain {name} is not configured in [[chains]]"))?;
        let values = read_at_head(eps, &entries).await?;
        let by_holder: &mut BTreeMap<Address, BTreeMap<Asset, U256>> =
            balances.entry(name).or_default();
        for ((h, a), v) in entries.into_iter().zip(values) {
            by_holder.entry(h).or_default().insert(a, v);
        }
    }
    let now = crate::clock::now().as_secs();
    let mut doc = snapshot_json(spec, now, &balances, funds_status.as_ref(), in_progress);
    let mut warning = None;
    let snapshot = match FundingSnapshot::from_json_str(&doc.to_string()) {
        Ok(s) => s,
        // The agent's document does not have the Olas shape: report without it.
        Err(e) if funds_status.is_some() => {
            warning = Some(format!("the agent's funds-status was ignored: {e}"));
            doc = snapshot_json(spec, now, &balances, None, in_progress);
            FundingSnapshot::from_json_str(&doc.to_string()).map_err(|e| e.to_string())?
        }
        Err(e) => return Err(e.to_string()),
    };
    let report =
        serde_json::to_value(funding_requirements(&snapshot)).map_err(|e| e.to_string())?;
    if with_snapshot {
        Ok(json!({ "snapshot": doc, "report": report, "warning": warning }))
    } else {
        Ok(report)
    }
}

async fn read_at_head(
    eps: &[Arc<Endpoint>],
    entries: &[(Address, Asset)],
) -> Result<Vec<U256>, String> {
    let eps = || eps.iter().map(AsRef::as_ref);
    let RpcAnswer::Head { number, .. } =
        crate::chain::rpc::first_answer(eps(), &RpcCall::Head).await?
    else {
        return Err("unexpected answer to a head request".into());
    };
    let call = RpcCall::Balances {
        block: number,
        entries: entries.to_vec(),
    };
    let RpcAnswer::Balances { values, .. } = crate::chain::rpc::first_answer(eps(), &call).await?
    else {
        return Err("unexpected answer to a balance request".into());
    };
    Ok(values)
}
