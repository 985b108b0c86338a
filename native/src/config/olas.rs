//! The Olas description of a service in `tend.toml` (`[services.olas]`): the parts of a funding
//! snapshot that are configured, the snapshot document built from them, and what the report
//! must read from the chains. Pure: the reads themselves are in [`crate::chain::olas`].

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use serde_json::{Map, Value, json};
use tend_core::address::{Asset, checksum};

/// A service as the Olas middleware describes it (the `service`, `wallet` and `bonded_assets`
/// parts of a funding snapshot; see the README's snapshot format).
#[derive(Debug, Clone, PartialEq)]
pub struct OlasSpec {
    /// `service`: `service_config_id`, `agent_addresses`, `chains`.
    pub service: serde_json::Value,
    /// `wallet`: `master_eoa`, `master_safes` (null: no master wallet).
    pub wallet: serde_json::Value,
    /// `bonded_assets` per chain.
    pub bonded_assets: serde_json::Value,
    /// The middleware's quickstart mode.
    pub quickstart: bool,
    /// Where the service's facts are read from the registries (`[services.olas.registry]`).
    pub registry: Option<OlasRegistry>,
}

/// An Olas service's identity on chain: the facts the report reads instead of taking them from
/// `tend.toml` (the Safe, the cost of bond, the agent instances, the staking parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OlasRegistry {
    /// The service's home chain.
    pub chain: tend_core::chain::ChainId,
    /// Its service id (the NFT's token id).
    pub service_id: u64,
    /// The agent id whose bond is its cost of bond.
    pub agent_id: u32,
    /// The staking program it is staked in (or meant for), when any.
    pub staking: Option<Address>,
    /// The chain's registry contracts.
    pub contracts: OlasContracts,
    /// Where tend takes the service on chain (`target = …`), and the contracts it writes to.
    pub lifecycle: Option<OlasLifecycle>,
}

/// Where the operator wants a service on chain (`[services.olas.registry] target`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OlasTarget {
    /// Deployed and staked in `staking`.
    DeployedAndStaked,
    /// Deployed, not staked (unstaked first when it is).
    Deployed,
    /// Out of its staking program; the registry left as it is.
    Unstaked,
    /// Terminated and unbonded (rewards claimed and unstaked first).
    Terminated,
}

impl OlasTarget {
    /// The name as `tend.toml` writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::DeployedAndStaked => "deployed_and_staked",
            Self::Deployed => "deployed",
            Self::Unstaked => "unstaked",
            Self::Terminated => "terminated",
        }
    }
}

/// A service's target and the contracts its life cycle writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OlasLifecycle {
    /// The target in tend.toml (`None`: only `tend olas …` commands move the service).
    pub target: Option<OlasTarget>,
    /// ServiceManager(Token), when configured (else read from the registry's `manager()`).
    pub service_manager: Option<Address>,
    /// The multisig implementation a new service Safe is made by (`None`: only reuse).
    pub multisig_implementation: Option<Address>,
    /// The RecoveryModule.
    pub recovery_module: Address,
    /// The fallback handler of a new service Safe.
    pub fallback_handler: Address,
}

/// `CompatibilityFallbackHandler` 1.3.0, the fallback handler of the middleware's service Safes.
pub const FALLBACK_HANDLER: Address =
    alloy::primitives::address!("f48f2B2d2a534e402487b3ee7C18c33Aec0Fe5e4");

/// Where a chain's Olas registry contracts are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OlasContracts {
    /// ServiceRegistry(L2).
    pub service_registry: Address,
    /// ServiceRegistryTokenUtility.
    pub token_utility: Address,
}

/// `[services.olas.registry]` as written.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegistry {
    pub(super) chain: super::TomlChain,
    pub(super) service_id: u64,
    #[serde(default = "one")]
    pub(super) agent_id: u32,
    pub(super) staking: Option<super::TomlAddress>,
    pub(super) target: Option<OlasTarget>,
}

fn one() -> u32 {
    1
}

/// A chain's `olas = { service_registry, token_utility }` override (devnets, new deployments).
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawContracts {
    pub(super) service_registry: super::TomlAddress,
    pub(super) token_utility: super::TomlAddress,
    pub(super) service_manager: Option<super::TomlAddress>,
    pub(super) multisig_implementation: Option<super::TomlAddress>,
    pub(super) recovery_module: Option<super::TomlAddress>,
    pub(super) fallback_handler: Option<super::TomlAddress>,
}

/// The registry identity of a service, its chain's contracts resolved: the chain's override, else
/// the middleware's constants for a known chain.
pub(super) fn registry(
    raw: RawRegistry,
    overrides: &BTreeMap<tend_core::chain::ChainId, RawContracts>,
) -> Result<OlasRegistry, String> {
    let chain = raw.chain.0;
    let contracts = match overrides.get(&chain) {
        Some(c) => OlasContracts {
            service_registry: c.service_registry.0,
            token_utility: c.token_utility.0,
        },
        None => match tend_core::chain::Chain::from_id(chain.0) {
            Some(c) => {
                let p = c.protocol_contracts();
                OlasContracts {
                    service_registry: p.service_registry,
                    token_utility: p.service_registry_token_utility,
                }
            }
            None => {
                return Err(format!(
                    "the Olas contract addresses of chain {chain} are unknown: give its [[chains]] \
                     entry olas = {{ service_registry = \"0x…\", token_utility = \"0x…\" }}"
                ));
            }
        },
    };
    if raw.service_id == 0 {
        return Err("registry.service_id must be 1 or more (the service's token id)".into());
    }
    let lifecycle = match lifecycle(
        raw.target,
        chain,
        raw.staking.is_some(),
        overrides.get(&chain),
    ) {
        Ok(l) => Some(l),
        // Without a target the contracts are only needed by `tend olas …` commands, which say
        // what is missing.
        Err(_) if raw.target.is_none() => None,
        Err(e) => return Err(e),
    };
    Ok(OlasRegistry {
        chain,
        service_id: raw.service_id,
        agent_id: raw.agent_id,
        staking: raw.staking.map(|a| a.0),
        contracts,
        lifecycle,
    })
}

/// A target's contracts: the chain's override, else the middleware's RecoveryModule and the
/// Safe 1.3.0 fallback handler; a new Safe's multisig implementation only from the override.
fn lifecycle(
    target: Option<OlasTarget>,
    chain: tend_core::chain::ChainId,
    staking: bool,
    o: Option<&RawContracts>,
) -> Result<OlasLifecycle, String> {
    if target == Some(OlasTarget::DeployedAndStaked) && !staking {
        return Err(
            "registry.target = \"deployed_and_staked\" needs registry.staking = \"0x…\" (the \
             staking program)"
                .into(),
        );
    }
    let known =
        tend_core::chain::Chain::from_id(chain.0).map(tend_core::chain::Chain::protocol_contracts);
    let recovery_module = o
        .and_then(|o| o.recovery_module)
        .map(|a| a.0)
        .or(known.map(|k| k.recovery_module))
        .ok_or_else(|| {
            format!(
                "registry.target needs the RecoveryModule of chain {chain}: give its [[chains]] \
                 entry olas = {{ …, recovery_module = \"0x…\" }}"
            )
        })?;
    Ok(OlasLifecycle {
        target,
        service_manager: o.and_then(|o| o.service_manager).map(|a| a.0),
        multisig_implementation: o.and_then(|o| o.multisig_implementation).map(|a| a.0),
        recovery_module,
        fallback_handler: o
            .and_then(|o| o.fallback_handler)
            .map_or(FALLBACK_HANDLER, |a| a.0),
    })
}

impl super::Config {
    /// Who owns and operates the services tend drives on `chain`: where its top-ups come from
    /// ([`tend_core::engine::ChainConfig::source`]: its Safe, or the funding key).
    pub fn lifecycle_owner(&self, chain: tend_core::chain::ChainId) -> Address {
        self.engine
            .chains
            .iter()
            .find(|c| c.chain == chain)
            .map_or(self.funder, tend_core::engine::ChainConfig::source)
    }
}

/// The service document the snapshot parser checks at load time: the facts the registry will
/// give stand in as placeholders (the service id as `token`, a zero cost of bond).
pub(super) fn probe_service(spec: &OlasSpec) -> Value {
    let mut service = spec.service.clone();
    if let Some(r) = &spec.registry
        && let Some(c) = service["chains"].get_mut(r.chain.to_string())
        && let Some(o) = c.as_object_mut()
    {
        o.entry("token").or_insert(json!(r.service_id));
        o.entry("cost_of_bond").or_insert(json!("0"));
    }
    service
}

/// The snapshot document of a spec with the given balances and agent funds-status.
pub fn snapshot_json(
    spec: &OlasSpec,
    now_secs: u64,
    balances: &BTreeMap<String, BTreeMap<Address, BTreeMap<Asset, U256>>>,
    funds_status: Option<&Value>,
    in_progress: bool,
) -> Value {
    let balances: Map<String, Value> = balances
        .iter()
        .map(|(chain, holders)| {
            let h: Map<String, Value> = holders
                .iter()
                .map(|(holder, assets)| {
                    let a: Map<String, Value> = assets
                        .iter()
                        .map(|(asset, v)| (asset.to_string(), Value::String(v.to_string())))
                        .collect();
                    (checksum(holder), Value::Object(a))
                })
                .collect();
            (chain.clone(), Value::Object(h))
        })
        .collect();
    json!({
        "now": now_secs,
        "service": spec.service,
        "wallet": spec.wallet,
        "balances": balances,
        "bonded_assets": spec.bonded_assets,
        "agent_funds_status": funds_status.cloned().unwrap_or(Value::Null),
        "funding_in_progress": in_progress,
        "funding_cooldown_until": 0,
        "quickstart": spec.quickstart,
    })
}

fn address_of(v: &Value) -> Option<Address> {
    v.as_str()
        .and_then(|s| tend_core::address::parse_address(s).ok())
}

/// Every (holder, asset) the report reads, per chain name.
pub fn reads(spec: &OlasSpec) -> BTreeMap<String, Vec<(Address, Asset)>> {
    let mut out = BTreeMap::new();
    let agents: Vec<Address> = spec.service["agent_addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(address_of)
        .collect();
    for (name, c) in spec.service["chains"].as_object().into_iter().flatten() {
        let mut holders = agents.clone();
        holders.extend(address_of(&c["service_safe"]));
        holders.extend(address_of(&spec.wallet["master_eoa"]));
        holders.extend(address_of(&spec.wallet["master_safes"][name]));
        let mut assets = vec![Asset::NATIVE];
        let tokens = c["fund_requirements"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.as_str())
            .chain(c["staking"]["staking_token"].as_str())
            .chain(
                c["staking"]["additional_staking_tokens"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.as_str()),
            );
        for t in tokens {
            if let Ok(a) = t.parse::<Asset>()
                && !assets.contains(&a)
            {
                assets.push(a);
            }
        }
        let mut entries = Vec::new();
        for h in &holders {
            for a in &assets {
                if !entries.contains(&(*h, *a)) {
                    entries.push((*h, *a));
                }
            }
        }
        out.insert(name.clone(), entries);
    }
    out
}
