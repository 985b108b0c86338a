//! The funding Safes of the configuration, checked on chain before anything is signed: code at
//! the address, a Safe 1.3.0 (`VERSION`, `getOwners`, `getThreshold`, `nonce`), the funding key
//! among its owners, a threshold the local keys meet, and code at the MultiSend address.

use std::sync::Arc;

use alloy::primitives::{Address, Bytes};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use alloy::sol_types::SolCall;
use tend_core::chain::ChainId;
use tend_core::engine::SafeSource;

use crate::chain::rpc::{Endpoint, Endpoints};
use crate::config::Config;

sol! {
    /// The Safe 1.3.0 views the check reads.
    interface ISafeViews {
        function VERSION() external view returns (string);
        function getOwners() external view returns (address[]);
        function getThreshold() external view returns (uint256);
        function nonce() external view returns (uint256);
    }
}

/// What the chain says about a funding Safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeFacts {
    /// `VERSION()`.
    pub version: String,
    /// `getOwners()`.
    pub owners: Vec<Address>,
    /// `getThreshold()`.
    pub threshold: u64,
    /// `nonce()`.
    pub nonce: u64,
}

/// Why a funding Safe cannot be used: the configuration's fault (`ours`), or the chain could not
/// be asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SafeError {
    /// The chain did not answer.
    #[error("chain {chain}: the Safe {safe} could not be read: {message}")]
    Unreachable {
        /// The chain.
        chain: ChainId,
        /// The Safe.
        safe: Address,
        /// The last failure.
        message: String,
    },
    /// The configuration names something that is not a usable Safe.
    #[error("chain {chain}: safe = \"{safe}\": {message}")]
    Unusable {
        /// The chain.
        chain: ChainId,
        /// The Safe.
        safe: Address,
        /// What is wrong and what to do.
        message: String,
    },
}

impl SafeError {
    /// The configuration's fault (a wrong address or a Safe the keys cannot sign for).
    pub fn is_config(&self) -> bool {
        matches!(self, Self::Unusable { .. })
    }
}

/// One request, given up after 10 s.
async fn timed<P: alloy::rpc::json_rpc::RpcSend>(
    ep: &Endpoint,
    method: &'static str,
    params: P,
) -> Result<Bytes, String> {
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        ep.request::<_, Bytes>(method, params),
    )
    .await
    .map_err(|_| "timed out".to_owned())?
    .map_err(|e| e.to_string())
}

async fn call(ep: &Endpoint, to: Address, data: Vec<u8>) -> Result<Bytes, String> {
    let req = serde_json::json!({ "to": to, "input": Bytes::from(data) });
    timed(ep, "eth_call", (req, "latest")).await
}

async fn code(ep: &Endpoint, at: Address) -> Result<Bytes, String> {
    timed(ep, "eth_getCode", (at, "latest")).await
}

/// Reads the Safe's facts from one endpoint. `Ok(Err(message))`: the address answers, but not
/// as a Safe.
async fn read(ep: &Endpoint, safe: Address) -> Result<Result<SafeFacts, String>, String> {
    if code(ep, safe).await?.is_empty() {
        return Ok(Err(
            "no contract at this address on this chain (a Safe's address differs per chain: \
             take it from the Safe app or the middleware's wallet.json master_safes)"
                .into(),
        ));
    }
    let not_safe = |what: &str| {
        format!("the contract does not answer {what} like a Safe 1.3.0: this is not a Safe")
    };
    let Ok(owners) = call(ep, safe, ISafeViews::getOwnersCall {}.abi_encode()).await else {
        return Ok(Err(not_safe("getOwners()")));
    };
    let Ok(owners) = ISafeViews::getOwnersCall::abi_decode_returns(&owners) else {
        return Ok(Err(not_safe("getOwners()")));
    };
    let threshold = call(ep, safe, ISafeViews::getThresholdCall {}.abi_encode())
        .await
        .ok()
        .and_then(|b| ISafeViews::getThresholdCall::abi_decode_returns(&b).ok());
    let nonce = call(ep, safe, ISafeViews::nonceCall {}.abi_encode())
        .await
        .ok()
        .and_then(|b| ISafeViews::nonceCall::abi_decode_returns(&b).ok());
    let (Some(threshold), Some(nonce)) = (threshold, nonce) else {
        return Ok(Err(not_safe("getThreshold() and nonce()")));
    };
    let version = call(ep, safe, ISafeViews::VERSIONCall {}.abi_encode())
        .await
        .ok()
        .and_then(|b| ISafeViews::VERSIONCall::abi_decode_returns(&b).ok())
        .unwrap_or_default();
    Ok(Ok(SafeFacts {
        version,
        owners,
        threshold: threshold.saturating_to(),
        nonce: nonce.saturating_to(),
    }))
}

/// Checks one chain's funding Safe: the facts, or why it cannot fund. `owner` is the funding key
/// (it sends the Safe's transactions); `more` are the other local owner keys' addresses
/// (`safe_owner_keys_env`).
pub async fn check_safe(
    chain: ChainId,
    eps: &[Arc<Endpoint>],
    source: &SafeSource,
    owner: Address,
    more: &[Address],
) -> Result<SafeFacts, SafeError> {
    let safe = source.address;
    let unusable = |message: String| SafeError::Unusable {
        chain,
        safe,
        message,
    };
    let mut last = String::from("no endpoint");
    for ep in eps {
        let facts = match read(ep, safe).await {
            Ok(Ok(f)) => f,
            Ok(Err(m)) => return Err(unusable(m)),
            Err(e) => {
                last = e;
                continue;
            }
        };
        if facts.version != "1.3.0" {
            return Err(unusable(format!(
                "the Safe reports VERSION {:?}; tend signs Safe 1.3.0 transactions (the \
                 middleware's Master Safes are 1.3.0)",
                facts.version
            )));
        }
        if !facts.owners.contains(&owner) {
            return Err(unusable(format!(
                "the funding key {owner} is not one of its owners ({}): make the key an owner, \
                 or set [funder] to an owner's key",
                list(&facts.owners)
            )));
        }
        if let Some(stranger) = more.iter().find(|a| !facts.owners.contains(a)) {
            return Err(unusable(format!(
                "safe_owner_keys_env holds the key of {stranger}, which is not one of its owners \
                 ({})",
                list(&facts.owners)
            )));
        }
        let local = 1 + more.iter().filter(|a| **a != owner).count() as u64;
        if facts.threshold > local {
            return Err(unusable(format!(
                "the Safe needs {} of its {} owners' signatures and tend holds {local} owner \
                 key(s) (the funding key{}): give the other owners' keys in \
                 safe_owner_keys_env, or lower the threshold",
                facts.threshold,
                facts.owners.len(),
                if more.is_empty() {
                    ""
                } else {
                    " and safe_owner_keys_env"
                }
            )));
        }
        match code(ep, source.multisend).await {
            Ok(c) if c.is_empty() => {
                return Err(unusable(format!(
                    "multisend = \"{}\" has no code on this chain: give the chain's MultiSend \
                     1.3.0 (0xA238CBeb142c10Ef7Ad8442C6D1f9E89e07e7761 on the chains the \
                     middleware knows)",
                    source.multisend
                )));
            }
            Ok(_) => {}
            Err(e) => {
                last = e;
                continue;
            }
        }
        return Ok(facts);
    }
    Err(SafeError::Unreachable {
        chain,
        safe,
        message: last,
    })
}

/// A Safe's owners and threshold (the first endpoint that answers; `None` when it is no Safe or
/// nobody answers).
pub async fn read_owners(eps: &[Arc<Endpoint>], safe: Address) -> Option<(Vec<Address>, u64)> {
    for ep in eps {
        if let Ok(Ok(f)) = read(ep, safe).await {
            return Some((f.owners, f.threshold));
        }
    }
    None
}

fn list(a: &[Address]) -> String {
    a.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every chain's funding Safe of `config`, checked with the extra owner keys `owners` (per
/// chain): the chain, the Safe and what the check found. Without `owners` (their variables are
/// not at hand), a chain that names more owner keys is left out.
pub async fn check_safes(
    config: &Config,
    endpoints: &Endpoints,
    owners: Option<&std::collections::BTreeMap<ChainId, Vec<PrivateKeySigner>>>,
) -> Vec<(ChainId, SafeSource, Result<SafeFacts, SafeError>)> {
    let mut out = Vec::new();
    for (c, spec) in config.engine.chains.iter().zip(&config.chains) {
        let (Some(source), Some(eps)) = (c.safe, endpoints.get(&c.chain)) else {
            continue;
        };
        let more: Vec<Address> = match owners {
            Some(o) => o
                .get(&c.chain)
                .into_iter()
                .flatten()
                .map(PrivateKeySigner::address)
                .collect(),
            None if !spec.safe_owner_keys_env.is_empty() => continue,
            None => Vec::new(),
        };
        let checked = check_safe(c.chain, eps, &source, c.funder, &more).await;
        out.push((c.chain, source, checked));
    }
    out
}

/// Loads the extra Safe owner keys of every chain (`safe_owner_keys_env`).
pub fn owner_keys(
    config: &Config,
) -> Result<std::collections::BTreeMap<ChainId, Vec<PrivateKeySigner>>, crate::chain::keys::KeyError>
{
    let mut out = std::collections::BTreeMap::new();
    for spec in &config.chains {
        let keys = spec
            .safe_owner_keys_env
            .iter()
            .map(|v| crate::chain::keys::load_env(v))
            .collect::<Result<Vec<_>, _>>()?;
        if !keys.is_empty() {
            out.insert(spec.chain, keys);
        }
    }
    Ok(out)
}
