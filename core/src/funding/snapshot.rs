//! The funding snapshot: the one JSON document the Olas-compatible report is computed from.
//!
//! This schema is a public contract (dashboards and tests produce it). All amounts are decimal
//! strings; unknown fields are an error; every error names the JSON path of the bad field.

use crate::map::Map;

use alloy_primitives::{Address, U256};
use serde_json::Value;

use crate::address::Asset;
use crate::chain::Chain;
use crate::chain_amounts::AssetAmounts;
use crate::json::{self, InputError, InputErrorKind, Node, Obj, Path};

/// Everything the report needs about one service, its wallet and the chain, at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingSnapshot {
    /// The moment of the snapshot, in seconds since the Unix epoch.
    pub now: u64,
    /// The service's configuration.
    pub service: ServiceSnapshot,
    /// The master wallet, or `None` when none exists yet.
    pub wallet: Option<WalletSnapshot>,
    /// Observed balances: chain → address → asset → amount; a missing entry is 0.
    pub balances: ObservedBalances,
    /// Protocol balances read on chain (registry and staking reads), per chain.
    pub bonded_assets: Map<Chain, AssetAmounts>,
    /// The agent's `/funds-status` body, or `None` when the agent is not deployed or did not
    /// answer.
    pub agent_funds_status: Option<FundsStatusBody>,
    /// A `POST …/fund` is running.
    pub funding_in_progress: bool,
    /// Agent funding requests are hidden until this moment (seconds; 0 = no cooldown).
    pub funding_cooldown_until: u64,
    /// The middleware's quickstart path.
    pub quickstart: bool,
}

/// The service's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSnapshot {
    /// `sc-…`.
    pub service_config_id: String,
    /// The agent EOAs (one in practice).
    pub agent_addresses: Vec<Address>,
    /// Per chain, in the document's order (the order the middleware processes chains in).
    pub chains: Vec<(Chain, ServiceChain)>,
}

/// The service on one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceChain {
    /// The service multisig; `None` when null or the zero address.
    pub service_safe: Option<Address>,
    /// The service id, or `None` when not minted (`-1`).
    pub token: Option<u64>,
    /// `cost_of_bond`.
    pub cost_of_bond: U256,
    /// `fund_requirements`: asset → amounts for each agent and for the service Safe.
    pub fund_requirements: Map<Asset, FundRequirement>,
    /// The staking program's parameters, or `None` without staking.
    pub staking: Option<StakingParams>,
}

/// One asset's initial funding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundRequirement {
    /// For each agent EOA.
    pub agent: U256,
    /// For the service Safe.
    pub safe: U256,
}

/// A staking program's parameters as the middleware reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StakingParams {
    /// `minStakingDeposit()`.
    pub min_staking_deposit: U256,
    /// `stakingToken()` (normally OLAS).
    pub staking_token: Asset,
    /// Dual-staking tokens (`secondToken` → `secondTokenAmount`).
    pub additional_staking_tokens: Map<Asset, U256>,
}

/// The master wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletSnapshot {
    /// The master EOA.
    pub master_eoa: Address,
    /// The Master Safe of each chain that has one.
    pub master_safes: Map<Chain, Address>,
}

/// The agent's `/funds-status` body, kept as written: the report reads it as leniently as the
/// middleware does (unknown chains and addresses are dropped with a diagnostic, a non-numeric
/// deficit counts as 0).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FundsStatusBody {
    /// chain name → address → asset → entry, in document order.
    pub chains: Vec<(String, FundsStatusAddresses)>,
}

/// Address → asset → entry of one chain, as written.
pub type FundsStatusAddresses = Vec<(String, FundsStatusAssets)>;
/// Asset → entry of one address, as written.
pub type FundsStatusAssets = Vec<(String, FundsStatusEntry)>;

/// One `{deficit, balance, requirement}` entry; only `deficit` is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundsStatusEntry {
    /// The `deficit` value as written, or `None` when absent.
    pub deficit: Option<Value>,
}

const TOP: &[&str] = &[
    "now",
    "service",
    "wallet",
    "balances",
    "bonded_assets",
    "agent_funds_status",
    "funding_in_progress",
    "funding_cooldown_until",
    "quickstart",
];

impl FundingSnapshot {
    /// Parses a snapshot from JSON text.
    pub fn from_json_str(text: &str) -> Result<Self, InputError> {
        Self::read(json::parse_document(text)?)
    }

    /// Parses a snapshot from a JSON value.
    pub fn from_json(v: &Value) -> Result<Self, InputError> {
        Self::from_json_str(&tend_json::write::to_string(v))
    }

    fn read(v: Node<'_>) -> Result<Self, InputError> {
        let root = Path::ROOT;
        let o = Obj::new(v, &root, TOP)?;
        let now = json::uint(o.required("now")?, &root.key("now"))?;
        let service = parse_service(o.required("service")?, &root.key("service"))?;
        let wallet = match o.optional("wallet") {
            Some(w) => Some(parse_wallet(w, &root.key("wallet"))?),
            None => None,
        };
        let balances = match o.optional("balances") {
            Some(b) => parse_balances(b, &root.key("balances"))?,
            None => Map::new(),
        };
        let bonded_assets = match o.optional("bonded_assets") {
            Some(b) => {
                let p = root.key("bonded_assets");
                let mut out = Map::new();
                for (c, assets) in json::entries(b, &p)? {
                    let pc = p.key(&c);
                    let chain = json::chain_text(&c, &pc)?;
                    out.insert(chain, AssetAmounts::from_json(assets, &pc)?);
                }
                out
            }
            None => Map::new(),
        };
        let agent_funds_status = match o.optional("agent_funds_status") {
            Some(b) => Some(parse_funds_status(b, &root.key("agent_funds_status"))?),
            None => None,
        };
        let flag = |key: &'static str| -> Result<bool, InputError> {
            o.optional(key)
                .map_or(Ok(false), |v| json::boolean(v, &root.key(key)))
        };
        let funding_cooldown_until = match o.optional("funding_cooldown_until") {
            Some(v) => json::uint(v, &root.key("funding_cooldown_until"))?,
            None => 0,
        };
        Ok(FundingSnapshot {
            now,
            service,
            wallet,
            balances,
            bonded_assets,
            agent_funds_status,
            funding_in_progress: flag("funding_in_progress")?,
            funding_cooldown_until,
            quickstart: flag("quickstart")?,
        })
    }

    /// The observed balance of `address`, 0 when absent.
    pub fn balance(&self, chain: Chain, address: &Address, asset: &Asset) -> U256 {
        observed_balance(&self.balances, chain, address, asset)
    }
}

/// Observed balances: chain → address → asset → amount.
pub type ObservedBalances = Map<Chain, Map<Address, AssetAmounts>>;

/// The observed balance of `address` in `balances`, 0 when absent.
pub fn observed_balance(
    balances: &ObservedBalances,
    chain: Chain,
    address: &Address,
    asset: &Asset,
) -> U256 {
    balances
        .get(&chain)
        .and_then(|a| a.get(address))
        .map(|a| a.get(asset))
        .unwrap_or_default()
}

fn parse_service(v: Node<'_>, path: &Path<'_>) -> Result<ServiceSnapshot, InputError> {
    let o = Obj::new(v, path, &["service_config_id", "agent_addresses", "chains"])?;
    let p_id = path.key("service_config_id");
    let service_config_id = json::string(o.required("service_config_id")?, &p_id)?;
    let valid_id = (1..=128).contains(&service_config_id.len())
        && service_config_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid_id {
        return Err(p_id.error(InputErrorKind::Invalid(format!(
            "{service_config_id:?} is not a service config id (1 to 128 of A-Z a-z 0-9 _ -)"
        ))));
    }
    let p_agents = path.key("agent_addresses");
    let agent_addresses = json::array(o.required("agent_addresses")?, &p_agents)?
        .into_iter()
        .enumerate()
        .map(|(i, a)| json::address(a, &p_agents.index(i)))
        .collect::<Result<Vec<_>, _>>()?;
    let p_chains = path.key("chains");
    let mut chains = Vec::new();
    for (c, cfg) in json::entries(o.required("chains")?, &p_chains)? {
        let pc = p_chains.key(&c);
        let chain = json::chain_text(&c, &pc)?;
        chains.push((chain, parse_service_chain(cfg, &pc)?));
    }
    Ok(ServiceSnapshot {
        service_config_id: service_config_id.into_owned(),
        agent_addresses,
        chains,
    })
}

fn parse_service_chain(v: Node<'_>, path: &Path<'_>) -> Result<ServiceChain, InputError> {
    let o = Obj::new(
        v,
        path,
        &[
            "service_safe",
            "token",
            "cost_of_bond",
            "fund_requirements",
            "staking",
        ],
    )?;
    let service_safe = match o.optional("service_safe") {
        None => None,
        Some(s) => Some(json::address(s, &path.key("service_safe"))?).filter(|a| !a.is_zero()),
    };
    let p_token = path.key("token");
    let token = match json::int(o.required("token")?, &p_token)? {
        -1 => None,
        t => Some(u64::try_from(t).map_err(|_| {
            p_token.error(InputErrorKind::OutOfRange {
                value: t.to_string(),
                expected: "a service id (0 or more), or -1 when not minted",
            })
        })?),
    };
    let cost_of_bond = json::amount(o.required("cost_of_bond")?, &path.key("cost_of_bond"))?;
    let p_fr = path.key("fund_requirements");
    let mut fund_requirements = Map::new();
    for (a, req) in json::entries(o.required("fund_requirements")?, &p_fr)? {
        let pa = p_fr.key(&a);
        let asset = json::asset_text(&a, &pa)?;
        let r = Obj::new(req, &pa, &["agent", "safe"])?;
        fund_requirements.insert(
            asset,
            FundRequirement {
                agent: json::amount(r.required("agent")?, &pa.key("agent"))?,
                safe: json::amount(r.required("safe")?, &pa.key("safe"))?,
            },
        );
    }
    let staking = match o.optional("staking") {
        None => None,
        Some(s) => Some(parse_staking(s, &path.key("staking"))?),
    };
    Ok(ServiceChain {
        service_safe,
        token,
        cost_of_bond,
        fund_requirements,
        staking,
    })
}

fn parse_staking(v: Node<'_>, path: &Path<'_>) -> Result<StakingParams, InputError> {
    let o = Obj::new(
        v,
        path,
        &[
            "min_staking_deposit",
            "staking_token",
            "additional_staking_tokens",
        ],
    )?;
    let min_staking_deposit = json::amount(
        o.required("min_staking_deposit")?,
        &path.key("min_staking_deposit"),
    )?;
    let staking_token = Asset(json::address(
        o.required("staking_token")?,
        &path.key("staking_token"),
    )?);
    let additional_staking_tokens = match o.optional("additional_staking_tokens") {
        Some(v) => AssetAmounts::from_json(v, &path.key("additional_staking_tokens"))?.into(),
        None => Map::new(),
    };
    Ok(StakingParams {
        min_staking_deposit,
        staking_token,
        additional_staking_tokens,
    })
}

fn parse_wallet(v: Node<'_>, path: &Path<'_>) -> Result<WalletSnapshot, InputError> {
    let o = Obj::new(v, path, &["master_eoa", "master_safes"])?;
    let master_eoa = json::address(o.required("master_eoa")?, &path.key("master_eoa"))?;
    let mut master_safes = Map::new();
    if let Some(safes) = o.optional("master_safes") {
        let p = path.key("master_safes");
        for (c, a) in json::entries(safes, &p)? {
            let pc = p.key(&c);
            master_safes.insert(json::chain_text(&c, &pc)?, json::address(a, &pc)?);
        }
    }
    Ok(WalletSnapshot {
        master_eoa,
        master_safes,
    })
}

fn parse_balances(v: Node<'_>, path: &Path<'_>) -> Result<ObservedBalances, InputError> {
    let mut out: Map<Chain, Map<Address, AssetAmounts>> = Map::new();
    for (c, holders) in json::entries(v, path)? {
        let pc = path.key(&c);
        let chain = json::chain_text(&c, &pc)?;
        let by_address = out.entry(chain).or_default();
        for (h, assets) in json::entries(holders, &pc)? {
            let ph = pc.key(&h);
            let address = json::address_text(&h, &ph)?;
            // Two spellings of one address (different letter case) must not silently replace
            // each other.
            if by_address.contains_key(&address) {
                return Err(ph.error(InputErrorKind::Invalid(format!(
                    "address {h} appears twice (addresses are compared case-insensitively)"
                ))));
            }
            by_address.insert(address, AssetAmounts::from_json(assets, &ph)?);
        }
    }
    Ok(out)
}

fn parse_funds_status(v: Node<'_>, path: &Path<'_>) -> Result<FundsStatusBody, InputError> {
    let mut chains = Vec::new();
    for (c, addresses) in json::entries(v, path)? {
        let pc = path.key(&c);
        let mut by_address = Vec::new();
        for (a, assets) in json::entries(addresses, &pc)? {
            let pa = pc.key(&a);
            let mut by_asset = Vec::new();
            for (asset, entry) in json::entries(assets, &pa)? {
                let pe = pa.key(&asset);
                // The agent's body may carry more fields (`balance`, `requirement`, …); only
                // `deficit` is read, as the middleware does.
                if entry.kind() != json::Kind::Object {
                    return Err(pe.error(InputErrorKind::WrongType {
                        expected: "an object with a deficit",
                        found: json::type_name(entry),
                    }));
                }
                by_asset.push((
                    asset,
                    FundsStatusEntry {
                        deficit: entry.get("deficit").and_then(|d| d.read::<Value>().ok()),
                    },
                ));
            }
            by_address.push((a, by_asset));
        }
        chains.push((c, by_address));
    }
    Ok(FundsStatusBody { chains })
}

impl FundingSnapshot {
    /// Writes the snapshot in its JSON schema (amounts as decimal strings, addresses in EIP-55
    /// form); [`FundingSnapshot::from_json`] reads it back unchanged.
    pub fn to_json(&self) -> Value {
        use serde_json::{Map, json};
        let amounts = |a: &AssetAmounts| serde_json::to_value(a).unwrap_or_default();
        let addr = |a: &Address| Value::String(crate::address::checksum(a));
        let mut chains = Map::new();
        for (chain, sc) in &self.service.chains {
            let mut fr = Map::new();
            for (asset, r) in &sc.fund_requirements {
                fr.insert(
                    asset.to_string(),
                    json!({ "agent": r.agent.to_string(), "safe": r.safe.to_string() }),
                );
            }
            let staking = sc.staking.as_ref().map_or(Value::Null, |st| {
                json!({
                    "min_staking_deposit": st.min_staking_deposit.to_string(),
                    "staking_token": st.staking_token.to_string(),
                    "additional_staking_tokens": amounts(&AssetAmounts::from(&st.additional_staking_tokens)),
                })
            });
            chains.insert(
                chain.name().to_owned(),
                json!({
                    "service_safe": sc.service_safe.as_ref().map_or(Value::Null, addr),
                    "token": sc.token.map_or(json!(-1), |t| json!(t)),
                    "cost_of_bond": sc.cost_of_bond.to_string(),
                    "fund_requirements": fr,
                    "staking": staking,
                }),
            );
        }
        let wallet = self.wallet.as_ref().map_or(Value::Null, |w| {
            let safes: Map<String, Value> = w
                .master_safes
                .iter()
                .map(|(c, a)| (c.name().to_owned(), addr(a)))
                .collect();
            json!({ "master_eoa": addr(&w.master_eoa), "master_safes": safes })
        });
        let balances: Map<String, Value> = self
            .balances
            .iter()
            .map(|(c, by)| {
                let m: Map<String, Value> = by
                    .iter()
                    .map(|(a, am)| (crate::address::checksum(a), amounts(am)))
                    .collect();
                (c.name().to_owned(), Value::Object(m))
            })
            .collect();
        let bonded: Map<String, Value> = self
            .bonded_assets
            .iter()
            .map(|(c, am)| (c.name().to_owned(), amounts(am)))
            .collect();
        let status = self.agent_funds_status.as_ref().map_or(Value::Null, |b| {
            let mut out = Map::new();
            for (c, addresses) in &b.chains {
                let mut by_addr = Map::new();
                for (a, assets) in addresses {
                    let mut by_asset = Map::new();
                    for (asset, e) in assets {
                        let mut entry = Map::new();
                        if let Some(d) = &e.deficit {
                            entry.insert("deficit".to_owned(), d.clone());
                        }
                        by_asset.insert(asset.clone(), Value::Object(entry));
                    }
                    by_addr.insert(a.clone(), Value::Object(by_asset));
                }
                out.insert(c.clone(), Value::Object(by_addr));
            }
            Value::Object(out)
        });
        json!({
            "now": self.now,
            "service": {
                "service_config_id": self.service.service_config_id,
                "agent_addresses": self.service.agent_addresses.iter().map(addr).collect::<Vec<_>>(),
                "chains": chains,
            },
            "wallet": wallet,
            "balances": balances,
            "bonded_assets": bonded,
            "agent_funds_status": status,
            "funding_in_progress": self.funding_in_progress,
            "funding_cooldown_until": self.funding_cooldown_until,
            "quickstart": self.quickstart,
        })
    }
}
