//! tend's own funding planner.
//!
//! Per `(chain, wallet, asset)` a [`Policy`]: when the balance is below `low`, refill up to
//! `target` (at most `max_transfer` per transfer). Funding [`Source`]s are tried in priority order
//! (their order in the input). Unlike the Olas middleware it:
//!
//! - never funds the same shortfall twice: transfers in flight count toward the recipient and are
//!   already spent from the source, and a `(wallet, asset)` with a transfer in flight gets no new
//!   one until it confirms;
//! - never plans to spend gas it does not have: each transfer's gas (gas limit × max fee per gas,
//!   plus the L1 data fee) is reserved from the source's native balance;
//! - reports every shortfall it cannot cover: who, which asset, how much is missing and why;
//! - is deterministic: the output does not depend on the order of maps or of the wallet list.

use crate::map::{Map, Set};

use alloy_primitives::{Address, U256};
use serde::Serialize;
use serde_json::Value;

use crate::address::Asset;
use crate::chain::ChainId;
use crate::chain_amounts::{AssetAmounts, shortfall_of};
use crate::json::{self, InputError, InputErrorKind, Node, Obj, Path};
use crate::ser;
use tend_derive::ToJson;

/// Seconds in a day, the unit of spend rates.
pub const SECS_PER_DAY: u64 = 86_400;
/// Default gas limit of a native transfer.
pub const NATIVE_TRANSFER_GAS: u64 = 21_000;
/// Default gas limit of an ERC-20 `transfer` (the middleware's fallback).
pub const ERC20_TRANSFER_GAS: u64 = 65_000;

/// Everything the planner needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanInput {
    /// Gas parameters of every chain a source or wallet is on.
    pub chains: Map<ChainId, GasParams>,
    /// Funding sources, highest priority first.
    pub sources: Vec<Source>,
    /// Wallets to keep funded.
    pub wallets: Vec<Wallet>,
    /// Transfers sent but not yet confirmed.
    pub in_flight: Vec<Transfer>,
}

/// What a transfer costs in gas on one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GasParams {
    /// The max fee per gas the transfer is signed with.
    pub max_fee_per_gas: U256,
    /// Gas limit of a native transfer.
    pub native_transfer_gas: U256,
    /// Gas limit of an ERC-20 transfer.
    pub erc20_transfer_gas: U256,
    /// L1 data fee per transfer (rollups), in wei.
    pub l1_fee: U256,
}

impl GasParams {
    /// Gas parameters with the default gas limits and no L1 fee.
    pub fn with_max_fee(max_fee_per_gas: U256) -> Self {
        GasParams {
            max_fee_per_gas,
            native_transfer_gas: U256::from(NATIVE_TRANSFER_GAS),
            erc20_transfer_gas: U256::from(ERC20_TRANSFER_GAS),
            l1_fee: U256::ZERO,
        }
    }

    /// The most one transfer of `asset` can cost: gas limit × max fee per gas + L1 fee.
    pub fn cost(&self, asset: &Asset) -> U256 {
        let limit = if asset.is_native() {
            self.native_transfer_gas
        } else {
            self.erc20_transfer_gas
        };
        limit
            .saturating_mul(self.max_fee_per_gas)
            .saturating_add(self.l1_fee)
    }
}

/// A funding source (a Master Safe, a Master EOA, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The chain.
    pub chain: ChainId,
    /// The address funds are sent from.
    pub address: Address,
    /// A label for people.
    pub name: Option<String>,
    /// Observed balances (missing = 0).
    pub balances: AssetAmounts,
    /// Who pays the gas of this source's transfers, when not the source itself (a Safe's
    /// owner sends `execTransaction` and pays its gas): gas is reserved from its native coin.
    pub gas_payer: Option<GasPayer>,
}

/// The account that pays a source's gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GasPayer {
    /// Its address.
    pub address: Address,
    /// Its observed native balance.
    pub native: U256,
}

/// A wallet to keep funded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    /// The chain.
    pub chain: ChainId,
    /// The address.
    pub address: Address,
    /// A label for people.
    pub name: Option<String>,
    /// Lower is served first when sources run short (default 0).
    pub priority: u32,
    /// Observed balances (missing = 0).
    pub balances: AssetAmounts,
    /// Per asset, when and how much to refill.
    pub policy: Map<Asset, Policy>,
}

/// When and how much to refill one asset of one wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Refill when the balance is below this.
    pub low: U256,
    /// Refill up to this.
    pub target: U256,
    /// At most this much per transfer.
    pub max_transfer: Option<U256>,
    /// Expected spend per day, for the runway.
    pub spend_per_day: Option<U256>,
}

/// A transfer: planned, or in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson)]
pub struct Transfer {
    /// The chain.
    pub chain: ChainId,
    /// The source.
    #[serde(serialize_with = "ser::address")]
    pub from: Address,
    /// The recipient.
    #[serde(serialize_with = "ser::address")]
    pub to: Address,
    /// The asset.
    pub asset: Asset,
    /// The amount.
    #[serde(serialize_with = "ser::amount")]
    pub amount: U256,
    /// Native reserved from the source for this transfer's gas.
    #[serde(serialize_with = "ser::amount")]
    pub gas_reserved: U256,
    /// Why it is planned (absent on transfers read back as in flight).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<TransferReason>,
}

/// Why a transfer is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson)]
pub struct TransferReason {
    /// `below_low`.
    pub code: &'static str,
    /// The wallet's balance, in-flight transfers included.
    #[serde(serialize_with = "ser::amount")]
    pub balance: U256,
    /// The policy's `low`.
    #[serde(serialize_with = "ser::amount")]
    pub low: U256,
    /// The policy's `target`.
    #[serde(serialize_with = "ser::amount")]
    pub target: U256,
    /// The refill was cut to `max_transfer`.
    pub capped_by_max_transfer: bool,
}

/// A need the sources cannot cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson)]
pub struct Shortfall {
    /// The chain.
    pub chain: ChainId,
    /// The wallet that stays short.
    #[serde(serialize_with = "ser::address")]
    pub holder: Address,
    /// The asset.
    pub asset: Asset,
    /// How much is missing.
    #[serde(serialize_with = "ser::amount")]
    pub missing: U256,
    /// Why.
    pub reason: ShortfallReason,
    /// The same, for a person.
    pub message: String,
}

/// Why a need cannot be covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson)]
#[serde(rename_all = "snake_case")]
pub enum ShortfallReason {
    /// No source on the chain.
    NoSource,
    /// The sources hold too little of the asset.
    InsufficientBalance,
    /// A source holds the asset but not the native coin to pay the transfer's gas.
    InsufficientGas,
}

/// How long a wallet lasts at its spend rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson)]
pub struct Runway {
    /// The chain.
    pub chain: ChainId,
    /// The wallet.
    #[serde(serialize_with = "ser::address")]
    pub address: Address,
    /// The asset.
    pub asset: Asset,
    /// The balance once in-flight and planned transfers land.
    #[serde(serialize_with = "ser::amount")]
    pub balance: U256,
    /// The policy's `low`.
    #[serde(serialize_with = "ser::amount")]
    pub low: U256,
    /// The spend rate.
    #[serde(serialize_with = "ser::amount")]
    pub spend_per_day: U256,
    /// Seconds until the balance falls below `low` (0: already below); `None` when nothing is
    /// spent.
    pub seconds_until_low: Option<u64>,
}

/// The planner's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Default)]
pub struct Plan {
    /// Transfers to send, in the order they were allocated.
    pub transfers: Vec<Transfer>,
    /// Needs left uncovered.
    pub shortfalls: Vec<Shortfall>,
    /// Runway of every wallet asset with a spend rate.
    pub runway: Vec<Runway>,
}

type Key = (ChainId, Address);

/// Checks the input's rules beyond types; errors name the JSON path of the bad field.
pub fn validate(input: &PlanInput) -> Result<(), InputError> {
    let root = Path::ROOT;
    let mut seen: Set<Key> = Set::new();
    let sources = root.key("sources");
    for (i, s) in input.sources.iter().enumerate() {
        let p = sources.index(i);
        if !seen.insert((s.chain, s.address)) {
            return Err(p.key("address").error(InputErrorKind::Invalid(format!(
                "source {} appears twice on chain {}",
                s.address, s.chain
            ))));
        }
        if !input.chains.contains_key(&s.chain) {
            return Err(missing_gas(&p, s.chain));
        }
    }
    let wallets = root.key("wallets");
    let mut seen_wallets: Set<Key> = Set::new();
    for (i, w) in input.wallets.iter().enumerate() {
        let p = wallets.index(i);
        if seen.contains(&(w.chain, w.address)) {
            return Err(p.key("address").error(InputErrorKind::Invalid(format!(
                "{} on chain {} is both a source and a funded wallet; plan its own top-up in a separate run",
                w.address, w.chain
            ))));
        }
        if !seen_wallets.insert((w.chain, w.address)) {
            return Err(p.key("address").error(InputErrorKind::Invalid(format!(
                "wallet {} appears twice on chain {}",
                w.address, w.chain
            ))));
        }
        if !input.chains.contains_key(&w.chain) {
            return Err(missing_gas(&p, w.chain));
        }
        for (asset, policy) in &w.policy {
            // The path (an EIP-55 key) is only built for an error: checksums cost a hash each.
            let at = |field: &str, message: String| {
                let key = asset.to_string();
                let pp = p.key("policy");
                let pa = pp.key(&key);
                pa.key(field).error(InputErrorKind::Invalid(message))
            };
            if policy.low > policy.target {
                return Err(at(
                    "low",
                    format!("low ({}) is above target ({})", policy.low, policy.target),
                ));
            }
            if policy.max_transfer.is_some_and(|m| m.is_zero()) {
                return Err(at(
                    "max_transfer",
                    "max_transfer must be above 0 (omit it for no cap)".to_owned(),
                ));
            }
        }
    }
    Ok(())
}

fn missing_gas(p: &Path<'_>, chain: ChainId) -> InputError {
    p.key("chain").error(InputErrorKind::Invalid(format!(
        "no gas parameters for chain {chain}: add \"chains\": {{\"{chain}\": {{\"max_fee_per_gas\": \"…\"}}}}"
    )))
}

/// Plans the transfers that bring every wallet back to its policy.
pub fn plan(input: &PlanInput) -> Result<Plan, InputError> {
    validate(input)?;

    // Native and token amounts each source can still spend, after what is in flight.
    let mut available: Map<Key, AssetAmounts> = Map::new();
    for s in &input.sources {
        available.insert((s.chain, s.address), s.balances.clone());
    }
    // A gas payer that is not also a source holds only its native coin for the planner.
    for s in &input.sources {
        if let Some(p) = s.gas_payer {
            available.entry((s.chain, p.address)).or_insert_with(|| {
                let mut a = AssetAmounts::new();
                a.add(Asset::NATIVE, p.native);
                a
            });
        }
    }
    let mut incoming: Flows = Map::new();
    for t in &input.in_flight {
        if let Some(a) = available.get_mut(&(t.chain, t.from)) {
            spend(a, t.asset, t.amount);
        }
        if let Some(a) = available.get_mut(&(t.chain, payer_of(&input.sources, t.chain, t.from))) {
            spend(a, Asset::NATIVE, t.gas_reserved);
        }
        let e = incoming.entry((t.chain, t.to, t.asset)).or_default();
        *e = e.saturating_add(t.amount);
    }

    let wallets = crate::order::sorted_by(input.wallets.iter().collect(), |a: &&Wallet, b| {
        (a.chain, a.priority, a.address).cmp(&(b.chain, b.priority, b.address))
    });

    let mut out = Plan::default();
    let mut planned_in: Flows = Map::new();
    for w in &wallets {
        let Some(gas) = input.chains.get(&w.chain).copied() else {
            continue;
        };
        for (asset, policy) in &w.policy {
            let key = (w.chain, w.address, *asset);
            let in_flight = incoming.get(&key).copied();
            let balance = w
                .balances
                .get(asset)
                .saturating_add(in_flight.unwrap_or_default());
            let need = shortfall_of(balance, policy.low, policy.target);
            if need.is_zero() || in_flight.is_some() {
                continue;
            }
            let amount = policy.max_transfer.map_or(need, |m| need.min(m));
            let reason = TransferReason {
                code: "below_low",
                balance,
                low: policy.low,
                target: policy.target,
                capped_by_max_transfer: amount < need,
            };
            let need = Need {
                chain: w.chain,
                to: w.address,
                asset: *asset,
                amount,
                reason,
            };
            let (transfers, short) = allocate(&need, &input.sources, &mut available, &gas);
            for t in transfers {
                *planned_in.entry(key).or_default() += t.amount;
                out.transfers.push(t);
            }
            out.shortfalls.extend(short);
        }
    }

    out.runway = runway(&wallets, &incoming, &planned_in);
    Ok(out)
}

type Flows = Map<(ChainId, Address, Asset), U256>;

/// Who pays the gas of transfers from `from`: its source's gas payer, else itself.
fn payer_of(sources: &[Source], chain: ChainId, from: Address) -> Address {
    sources
        .iter()
        .find(|s| s.chain == chain && s.address == from)
        .and_then(|s| s.gas_payer)
        .map_or(from, |p| p.address)
}

/// One wallet asset to refill.
struct Need {
    chain: ChainId,
    to: Address,
    asset: Asset,
    amount: U256,
    reason: TransferReason,
}

/// Covers `need` from the sources of its chain in priority order, reserving each transfer's gas;
/// returns the transfers and what stays uncovered.
fn allocate(
    need: &Need,
    sources: &[Source],
    available: &mut Map<Key, AssetAmounts>,
    gas: &GasParams,
) -> (Vec<Transfer>, Option<Shortfall>) {
    let asset = need.asset;
    let cost = gas.cost(&asset);
    let mut transfers = Vec::new();
    let mut remaining = need.amount;
    let mut gas_blocked = false;
    let mut any_source = false;
    for s in sources.iter().filter(|s| s.chain == need.chain) {
        any_source = true;
        let payer = s.gas_payer.map_or(s.address, |p| p.address);
        let gas_native = available
            .get(&(s.chain, payer))
            .map_or(U256::ZERO, |a| a.get(&Asset::NATIVE));
        let Some(a) = available.get_mut(&(s.chain, s.address)) else {
            continue;
        };
        let held = a.get(&asset);
        let take = if payer != s.address {
            // Another account pays the gas: the source can send all it holds.
            if gas_native < cost {
                gas_blocked |= !held.is_zero();
                U256::ZERO
            } else {
                remaining.min(held)
            }
        } else if asset.is_native() {
            // The coin pays for its own gas: what is left after the fee can be sent.
            remaining.min(held.saturating_sub(cost))
        } else if gas_native < cost {
            gas_blocked |= !held.is_zero();
            U256::ZERO
        } else {
            remaining.min(held)
        };
        if take.is_zero() {
            continue;
        }
        spend(a, asset, take);
        if let Some(p) = available.get_mut(&(s.chain, payer)) {
            spend(p, Asset::NATIVE, cost);
        }
        remaining -= take;
        transfers.push(Transfer {
            chain: need.chain,
            from: s.address,
            to: need.to,
            asset,
            amount: take,
            gas_reserved: cost,
            reason: Some(need.reason),
        });
        if remaining.is_zero() {
            return (transfers, None);
        }
    }
    let chain = need.chain;
    let (reason, message) = if !any_source {
        (
            ShortfallReason::NoSource,
            format!("no funding source on chain {chain}"),
        )
    } else if gas_blocked {
        (
            ShortfallReason::InsufficientGas,
            format!(
                "sources on chain {chain} hold {asset} but not enough native coin to pay the transfer's gas ({cost} each)"
            ),
        )
    } else {
        (
            ShortfallReason::InsufficientBalance,
            format!(
                "sources on chain {chain} cover {} of the {} needed",
                need.amount - remaining,
                need.amount
            ),
        )
    };
    let short = Shortfall {
        chain,
        holder: need.to,
        asset,
        missing: remaining,
        reason,
        message,
    };
    (transfers, Some(short))
}

/// The runway of every wallet asset with a spend rate, once in-flight and planned transfers land.
fn runway(wallets: &[&Wallet], incoming: &Flows, planned_in: &Flows) -> Vec<Runway> {
    let mut runway: Vec<Runway> = Vec::new();
    for w in wallets {
        for (asset, policy) in &w.policy {
            let Some(rate) = policy.spend_per_day else {
                continue;
            };
            let key = (w.chain, w.address, *asset);
            let balance = w
                .balances
                .get(asset)
                .saturating_add(incoming.get(&key).copied().unwrap_or_default())
                .saturating_add(planned_in.get(&key).copied().unwrap_or_default());
            runway.push(Runway {
                chain: w.chain,
                address: w.address,
                asset: *asset,
                balance,
                low: policy.low,
                spend_per_day: rate,
                seconds_until_low: seconds_until_low(balance, policy.low, rate),
            });
        }
    }
    crate::order::sorted_by(runway, |a, b| {
        (a.chain, a.address, a.asset).cmp(&(b.chain, b.address, b.asset))
    })
}

fn spend(a: &mut AssetAmounts, asset: Asset, amount: U256) {
    let have = a.get(&asset);
    a.set(asset, have.saturating_sub(amount));
}

/// Seconds until `balance` falls below `low` when `rate` is spent per day:
/// `⌊(balance − low) × 86400 / rate⌋`, 0 when already below, `None` when nothing is spent.
fn seconds_until_low(balance: U256, low: U256, rate: U256) -> Option<u64> {
    if rate.is_zero() {
        return None;
    }
    if balance < low {
        return Some(0);
    }
    let secs = (balance - low).saturating_mul(U256::from(SECS_PER_DAY)) / rate;
    Some(u64::try_from(secs).unwrap_or(u64::MAX))
}

impl PlanInput {
    /// Parses and validates a planner input from JSON text.
    pub fn from_json_str(text: &str) -> Result<Self, InputError> {
        Self::read(json::parse_document(text)?)
    }

    /// Parses and validates a planner input from a JSON value.
    pub fn from_json(v: &Value) -> Result<Self, InputError> {
        Self::from_json_str(&tend_json::write::to_string(v))
    }

    fn read(v: Node<'_>) -> Result<Self, InputError> {
        let root = Path::ROOT;
        let o = Obj::new(v, &root, &["chains", "sources", "wallets", "in_flight"])?;
        let mut input = PlanInput::default();
        let pc = root.key("chains");
        for (c, g) in json::entries(o.required("chains")?, &pc)? {
            let p = pc.key(&c);
            let chain = json::chain_id_text(&c, &p)?;
            input.chains.insert(chain, parse_gas(g, &p)?);
        }
        let ps = root.key("sources");
        if let Some(list) = o.optional("sources") {
            for (i, s) in json::array(list, &ps)?.into_iter().enumerate() {
                input.sources.push(parse_source(s, &ps.index(i))?);
            }
        }
        let pw = root.key("wallets");
        for (i, w) in json::array(o.required("wallets")?, &pw)?
            .into_iter()
            .enumerate()
        {
            input.wallets.push(parse_wallet(w, &pw.index(i))?);
        }
        let pf = root.key("in_flight");
        if let Some(list) = o.optional("in_flight") {
            for (i, t) in json::array(list, &pf)?.into_iter().enumerate() {
                input.in_flight.push(parse_transfer(t, &pf.index(i))?);
            }
        }
        validate(&input)?;
        Ok(input)
    }
}

fn opt_amount(o: &Obj<'_, '_>, key: &'static str) -> Result<Option<U256>, InputError> {
    o.optional(key)
        .map(|v| json::amount(v, &o.path().key(key)))
        .transpose()
}

fn parse_gas(v: Node<'_>, p: &Path<'_>) -> Result<GasParams, InputError> {
    let o = Obj::new(
        v,
        p,
        &[
            "max_fee_per_gas",
            "native_transfer_gas",
            "erc20_transfer_gas",
            "l1_fee",
        ],
    )?;
    let mut g = GasParams::with_max_fee(json::amount(
        o.required("max_fee_per_gas")?,
        &p.key("max_fee_per_gas"),
    )?);
    if let Some(x) = opt_amount(&o, "native_transfer_gas")? {
        g.native_transfer_gas = x;
    }
    if let Some(x) = opt_amount(&o, "erc20_transfer_gas")? {
        g.erc20_transfer_gas = x;
    }
    if let Some(x) = opt_amount(&o, "l1_fee")? {
        g.l1_fee = x;
    }
    Ok(g)
}

fn chain_field(o: &Obj<'_, '_>) -> Result<ChainId, InputError> {
    let p = o.path().key("chain");
    json::chain_id_text(&json::string(o.required("chain")?, &p)?, &p)
}

fn name_field(o: &Obj<'_, '_>) -> Result<Option<String>, InputError> {
    o.optional("name")
        .map(|v| json::string(v, &o.path().key("name")).map(std::borrow::Cow::into_owned))
        .transpose()
}

fn balances_field(o: &Obj<'_, '_>) -> Result<AssetAmounts, InputError> {
    o.optional("balances").map_or(Ok(AssetAmounts::new()), |v| {
        AssetAmounts::from_json(v, &o.path().key("balances"))
    })
}

fn parse_source(v: Node<'_>, p: &Path<'_>) -> Result<Source, InputError> {
    let o = Obj::new(v, p, &["chain", "address", "name", "balances", "gas_payer"])?;
    let gas_payer = match o.optional("gas_payer") {
        Some(v) => {
            let pp = p.key("gas_payer");
            let g = Obj::new(v, &pp, &["address", "native"])?;
            Some(GasPayer {
                address: json::address(g.required("address")?, &pp.key("address"))?,
                native: json::amount(g.required("native")?, &pp.key("native"))?,
            })
        }
        None => None,
    };
    Ok(Source {
        chain: chain_field(&o)?,
        address: json::address(o.required("address")?, &p.key("address"))?,
        name: name_field(&o)?,
        balances: balances_field(&o)?,
        gas_payer,
    })
}

fn parse_wallet(v: Node<'_>, p: &Path<'_>) -> Result<Wallet, InputError> {
    let o = Obj::new(
        v,
        p,
        &["chain", "address", "name", "priority", "balances", "policy"],
    )?;
    let chain = chain_field(&o)?;
    let address = json::address(o.required("address")?, &p.key("address"))?;
    let priority = match o.optional("priority") {
        Some(v) => {
            let pp = p.key("priority");
            u32::try_from(json::uint(v, &pp)?).map_err(|_| {
                pp.error(InputErrorKind::OutOfRange {
                    value: json::text(v),
                    expected: "0 to 4294967295",
                })
            })?
        }
        None => 0,
    };
    let pp = p.key("policy");
    let mut policy = Map::new();
    for (a, pol) in json::entries(o.required("policy")?, &pp)? {
        let pa = pp.key(&a);
        let asset = json::asset_text(&a, &pa)?;
        let po = Obj::new(
            pol,
            &pa,
            &["low", "target", "max_transfer", "spend_per_day"],
        )?;
        policy.insert(
            asset,
            Policy {
                low: json::amount(po.required("low")?, &pa.key("low"))?,
                target: json::amount(po.required("target")?, &pa.key("target"))?,
                max_transfer: opt_amount(&po, "max_transfer")?,
                spend_per_day: opt_amount(&po, "spend_per_day")?,
            },
        );
    }
    Ok(Wallet {
        chain,
        address,
        name: name_field(&o)?,
        priority,
        balances: balances_field(&o)?,
        policy,
    })
}

fn parse_transfer(v: Node<'_>, p: &Path<'_>) -> Result<Transfer, InputError> {
    // `reason` is accepted and ignored so a plan's transfers can be fed back as in flight.
    let o = Obj::new(
        v,
        p,
        &[
            "chain",
            "from",
            "to",
            "asset",
            "amount",
            "gas_reserved",
            "reason",
        ],
    )?;
    let asset_p = p.key("asset");
    Ok(Transfer {
        chain: chain_field(&o)?,
        from: json::address(o.required("from")?, &p.key("from"))?,
        to: json::address(o.required("to")?, &p.key("to"))?,
        asset: json::asset_text(&json::string(o.required("asset")?, &asset_p)?, &asset_p)?,
        amount: json::amount(o.required("amount")?, &p.key("amount"))?,
        gas_reserved: opt_amount(&o, "gas_reserved")?.unwrap_or_default(),
        reason: None,
    })
}
