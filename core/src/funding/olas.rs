//! The Olas middleware's `funding_requirements` report, reproduced exactly
//! (`shared/domain/olas-middleware.md` §2), and the pure pieces it is made of.
//!
//! Compatibility: for the same snapshot the report has the middleware's keys, holders, assets,
//! amounts and flags, including the quirks marked COPY in §9 (Q1 bonded-assets early return, Q2
//! `total_requirements = Ec + M`, Q15 excess and critical rules, Q16 cooldown, Q18 lenient deficits,
//! Q23 the Safe-tied start gate). Where the middleware raises or answers 500, the report is
//! well-formed and carries a [`Diagnostic`] instead (Q4). All arithmetic is integer (Q17).

use crate::map::{Map, Set};

use alloy_primitives::{Address, U256};
use serde::Serialize;
use serde_json::Value;

use crate::address::{Asset, Holder, parse_address};
use crate::amount::parse_python_int;
use crate::chain::Chain;
use crate::chain_amounts::{AssetAmounts, ChainAmounts, shortfall, shortfall_of};
use crate::funding::plan::Transfer;
use crate::funding::snapshot::{
    FundingSnapshot, FundsStatusBody, ObservedBalances, ServiceChain, ServiceSnapshot,
    StakingParams, WalletSnapshot, observed_balance,
};
use crate::lifecycle::{OnChainState, StakingState};
use tend_derive::ToJson;

/// The agent funding-request cooldown after a `POST …/fund`, in seconds.
pub const FUNDING_REQUESTS_COOLDOWN_SECS: u64 = 300;
/// `MIN_AGENT_BOND` and `MIN_SECURITY_DEPOSIT`, in wei.
pub const MIN_BOND: U256 = U256::from_limbs([1, 0, 0, 0]);
/// The Master-EOA top-up job runs when the last run is older than this, in seconds.
pub const MASTER_EOA_FUNDING_INTERVAL_SECS: u64 = 3600;

/// The `funding_requirements` response of one service.
///
/// Serialises to exactly the middleware's HTTP body; [`OlasReport::diagnostics`] is not part of
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "the middleware's body has four flags"
)]
pub struct OlasReport {
    /// `keep` (Master EOA) + `Mb` (the Master Safe's "future" balance, EOA excess included).
    pub balances: ChainAmounts,
    /// `Bd`: protocol balances under the Master Safe holder (or the Q1 bare map).
    pub bonded_assets: BondedAssets,
    /// `Ec + M` (Q2: a shortfall plus a threshold).
    pub total_requirements: ChainAmounts,
    /// `Ec + Ms`: what must be sent now.
    pub refill_requirements: ChainAmounts,
    /// `P`: what the protocol needs bonded, under the Master Safe holder.
    pub protocol_asset_requirements: ChainAmounts,
    /// Some refill amount is above zero.
    pub is_refill_required: bool,
    /// No chain lacks a Master Safe and no critical EOA shortfall is open.
    pub allow_start_agent: bool,
    /// `R`: the agent's own funding requests (never added to refill or total).
    pub agent_funding_requests: ChainAmounts,
    /// Requests are hidden by the post-funding cooldown.
    pub agent_funding_requests_cooldown: bool,
    /// A `POST …/fund` is running.
    pub agent_funding_in_progress: bool,
    /// What the middleware would have done differently or failed on; not part of the body.
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
}

/// `bonded_assets`: normally chain → holder → asset, but the middleware's early return (Q1)
/// replaces the whole value with one chain's bare asset map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson)]
#[serde(untagged)]
pub enum BondedAssets {
    /// chain → holder → asset → amount.
    PerChain(ChainAmounts),
    /// Q1: `{asset: amount}` of the first minted chain without a staking program; every other
    /// chain is lost and every protocol shortfall equals the full requirement.
    EarlyReturn(AssetAmounts),
}

/// Something the report noticed about its input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson)]
pub struct Diagnostic {
    /// A stable code.
    pub code: DiagnosticCode,
    /// The chain concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// What happened, for a person.
    pub message: String,
}

/// Stable diagnostic codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticCode {
    /// Q1: a minted service without staking made the middleware return one chain's bare asset
    /// map as `bonded_assets`.
    BondedAssetsEarlyReturn,
    /// `/funds-status` named a chain that is not one of the service's; skipped.
    FundsStatusUnknownChain,
    /// Q4: `/funds-status` named an address that is neither an agent nor the service Safe; the
    /// middleware answers 500, tend drops the entry.
    FundsStatusUnknownAddress,
    /// `/funds-status` named an asset that is not an address; dropped.
    FundsStatusInvalidAsset,
    /// Q18: a deficit that is not a non-negative integer counts as 0.
    FundsStatusInvalidDeficit,
}

/// Resolves the wallet holders of each chain: real addresses where they exist, placeholders
/// otherwise (§1.2).
#[derive(Debug, Clone, Copy)]
pub struct WalletHolders<'a> {
    wallet: Option<&'a WalletSnapshot>,
}

impl<'a> WalletHolders<'a> {
    /// Resolution against `wallet` (`None`: no master wallet yet).
    pub fn new(wallet: Option<&'a WalletSnapshot>) -> Self {
        WalletHolders { wallet }
    }

    /// The Master EOA or `master_eoa`.
    pub fn master_eoa(&self) -> Holder {
        self.wallet
            .map_or(Holder::MasterEoa, |w| Holder::Address(w.master_eoa))
    }

    /// The chain's Master Safe or `master_safe`.
    pub fn master_safe(&self, chain: Chain) -> Holder {
        self.master_safe_address(chain)
            .map_or(Holder::MasterSafe, Holder::Address)
    }

    /// The chain's Master Safe address, if it exists.
    pub fn master_safe_address(&self, chain: Chain) -> Option<Address> {
        self.wallet
            .and_then(|w| w.master_safes.get(&chain).copied())
    }

    /// Whether the chain has a Master Safe.
    pub fn has_master_safe(&self, chain: Chain) -> bool {
        self.master_safe_address(chain).is_some()
    }
}

/// The service Safe or `service_safe`.
pub fn service_safe_holder(chain: &ServiceChain) -> Holder {
    chain
        .service_safe
        .map_or(Holder::ServiceSafe, Holder::Address)
}

/// Initial funding `I` (§2.3): per chain, the service Safe holder gets `safe` and each agent
/// gets `agent` of every asset of `fund_requirements`; while no service Safe exists the agent's
/// native amount is doubled so it can pay fees.
pub fn initial_funding(service: &ServiceSnapshot) -> ChainAmounts {
    let mut out = ChainAmounts::new();
    for (chain, sc) in &service.chains {
        let safe_holder = service_safe_holder(sc);
        let double = sc.service_safe.is_none();
        let holders = out.chain_entry(*chain);
        holders.entry(safe_holder).or_default();
        for agent in &service.agent_addresses {
            holders.entry(Holder::Address(*agent)).or_default();
        }
        for (asset, req) in &sc.fund_requirements {
            holders
                .entry(safe_holder)
                .or_default()
                .set(*asset, req.safe);
            let agent_amount = if double && asset.is_native() {
                req.agent.saturating_mul(U256::from(2))
            } else {
                req.agent
            };
            for agent in &service.agent_addresses {
                holders
                    .entry(Holder::Address(*agent))
                    .or_default()
                    .set(*asset, agent_amount);
            }
        }
    }
    out
}

/// The protocol requirement `P` of one chain (§2.4), in the middleware's order of updates:
/// without staking `max(1,B)·n + max(1,B)` native; with staking 1-wei bonds and deposit in
/// native, `S·n + S` of the staking token, and each additional token *assigned* its amount.
pub fn protocol_requirement(
    n_agents: usize,
    cost_of_bond: U256,
    staking: Option<&StakingParams>,
) -> AssetAmounts {
    let n = U256::from(n_agents);
    let mut req = AssetAmounts::new();
    let (bonds, deposit) = match staking {
        None => {
            let b = cost_of_bond.max(MIN_BOND);
            (b.saturating_mul(n), b)
        }
        Some(st) => {
            let s = st.min_staking_deposit;
            req.add(st.staking_token, s.saturating_mul(n));
            req.add(st.staking_token, s);
            for (token, amount) in &st.additional_staking_tokens {
                req.set(*token, *amount);
            }
            (MIN_BOND.saturating_mul(n), MIN_BOND)
        }
    };
    req.add(Asset::NATIVE, bonds);
    req.add(Asset::NATIVE, deposit);
    req
}

/// `P` for every chain of the service, under each chain's Master Safe holder.
pub fn protocol_requirements(
    service: &ServiceSnapshot,
    holders: &WalletHolders<'_>,
) -> ChainAmounts {
    let mut out = ChainAmounts::new();
    for (chain, sc) in &service.chains {
        let req = protocol_requirement(
            service.agent_addresses.len(),
            sc.cost_of_bond,
            sc.staking.as_ref(),
        );
        out.chain_entry(*chain)
            .insert(holders.master_safe(*chain), req);
    }
    out
}

/// Raw registry and staking reads of one minted service (§2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondedAssetReads {
    /// `getService(id)[6]`.
    pub state: OnChainState,
    /// `getService(id)[0]`.
    pub security_deposit: U256,
    /// `getService(id)[5]`.
    pub num_agent_instances: U256,
    /// `ServiceRegistry.getOperatorBalance(masterSafe, id)`.
    pub operator_balance: U256,
    /// Reads of the staking program, `None` when no staking contract resolves.
    pub staking: Option<StakingReads>,
}

/// Reads of the service's staking program and token utility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StakingReads {
    /// `stakingToken()`.
    pub staking_token: Asset,
    /// Per agent id of the service: (`getInstancesForAgentId(id, agent)[0]`,
    /// `TokenUtility.getAgentBond(id, agent)`).
    pub agent_bonds: Vec<(U256, U256)>,
    /// `TokenUtility.getOperatorBalance(masterSafe, id)` (counted in `TERMINATED_BONDED`).
    pub token_operator_balance: U256,
    /// `TokenUtility.mapServiceIdTokenDeposit(id)[1]`.
    pub token_deposit: U256,
    /// `getStakingState(id)`.
    pub staking_state: StakingState,
    /// Dual-staking tokens and amounts.
    pub additional_staking_tokens: Map<Asset, U256>,
}

/// Bonded assets `Bd` of one chain from raw reads (§2.5). Without staking reads only the native
/// entry exists (the case that triggers the middleware's Q1 early return).
pub fn bonded_assets_from_reads(r: &BondedAssetReads) -> AssetAmounts {
    let mut out = AssetAmounts::new();
    if r.state.holds_security_deposit() {
        out.add(Asset::NATIVE, r.security_deposit);
    }
    out.add(Asset::NATIVE, r.operator_balance);
    let Some(st) = &r.staking else {
        return out;
    };
    let mut agent_bonds = st.agent_bonds.iter().fold(U256::ZERO, |acc, (n, b)| {
        acc.saturating_add(n.saturating_mul(*b))
    });
    if r.state == OnChainState::TerminatedBonded {
        agent_bonds = agent_bonds.saturating_add(
            r.num_agent_instances
                .saturating_mul(st.token_operator_balance),
        );
    }
    let deposit = if r.state.holds_security_deposit() {
        st.token_deposit
    } else {
        U256::ZERO
    };
    out.add(st.staking_token, agent_bonds);
    out.add(st.staking_token, deposit);
    if st.staking_state.holds_stake() {
        for (token, amount) in &st.additional_staking_tokens {
            out.add(*token, *amount);
        }
    }
    out
}

/// `Bd` of the snapshot (§2.5): per chain under the Master Safe holder; empty where there is no
/// wallet, no Master Safe or no minted service; and the Q1 early return on the first minted
/// chain (in document order) that has a Master Safe but no staking program.
pub fn bonded_assets(s: &FundingSnapshot, holders: &WalletHolders<'_>) -> BondedAssets {
    let mut out = ChainAmounts::new();
    for (chain, sc) in &s.service.chains {
        let holder = holders.master_safe(*chain);
        let counted = holders.has_master_safe(*chain) && sc.token.is_some();
        if !counted {
            out.chain_entry(*chain).insert(holder, AssetAmounts::new());
            continue;
        }
        let assets = s.bonded_assets.get(chain).cloned().unwrap_or_default();
        if sc.staking.is_none() {
            return BondedAssets::EarlyReturn(assets);
        }
        out.chain_entry(*chain).insert(holder, assets);
    }
    BondedAssets::PerChain(out)
}

/// The Master EOA top-ups `t_E` (§2.6 step 5): the native top-up (with-Safe or doubled) plus a
/// 0 entry for every asset of `P` and `I` on the chain.
pub fn eoa_topups(
    service: &ServiceSnapshot,
    holders: &WalletHolders<'_>,
    protocol: &ChainAmounts,
    initial: &ChainAmounts,
) -> ChainAmounts {
    let mut out = ChainAmounts::new();
    let eoa = holders.master_eoa();
    for (chain, _) in &service.chains {
        let topup = chain
            .funding_constants()
            .eoa_topup(holders.has_master_safe(*chain));
        let mut assets: Set<Asset> = Set::new();
        for source in [protocol, initial] {
            if let Some(hs) = source.0.get(chain) {
                assets.extend(hs.values().flat_map(AssetAmounts::assets));
            }
        }
        let entry = out.entry(*chain, eoa);
        entry.set(Asset::NATIVE, topup);
        for a in assets {
            entry.entry(a);
        }
    }
    out
}

/// The excess split (§2.6 step 6, Q15): on chains without a Master Safe the EOA keeps at most the
/// with-Safe top-up of native (0 of any ERC-20) and the rest counts as excess under the Master
/// Safe holder; on chains with a Safe it keeps everything. Returns `(excess, keep)`.
pub fn split_excess(
    eoa_balances: &ChainAmounts,
    holders: &WalletHolders<'_>,
) -> (ChainAmounts, ChainAmounts) {
    let mut excess = ChainAmounts::new();
    let mut keep = ChainAmounts::new();
    for (chain, hs) in &eoa_balances.0 {
        let safe = holders.master_safe(*chain);
        let has_safe = holders.has_master_safe(*chain);
        let with_safe = chain.funding_constants().eoa_topup_with_safe;
        for (holder, assets) in hs {
            for (asset, amount) in assets.iter() {
                let kept = if has_safe {
                    *amount
                } else if asset.is_native() {
                    (*amount).min(with_safe)
                } else {
                    U256::ZERO
                };
                excess.entry(*chain, safe).set(*asset, *amount - kept);
                keep.entry(*chain, *holder).set(*asset, kept);
            }
        }
    }
    (excess, keep)
}

/// The critical split (§2.6 step 8): a native shortfall whose kept balance is below the critical
/// floor (a quarter of the with-Safe top-up) is critical; everything else, every ERC-20 included,
/// is not. The other side gets an explicit 0. Returns `(critical, remaining)`.
pub fn split_critical(
    keep: &ChainAmounts,
    shortfalls: &ChainAmounts,
) -> (ChainAmounts, ChainAmounts) {
    let mut critical = ChainAmounts::new();
    let mut remaining = ChainAmounts::new();
    for (chain, holder, asset, amount) in shortfalls.iter() {
        let is_critical = asset.is_native()
            && keep.get(chain, holder, asset) < chain.funding_constants().critical_floor();
        let (c, r) = if is_critical {
            (*amount, U256::ZERO)
        } else {
            (U256::ZERO, *amount)
        };
        critical.entry(chain, *holder).set(*asset, c);
        remaining.entry(chain, *holder).set(*asset, r);
    }
    (critical, remaining)
}

/// Sums every holder's amounts per chain and asset under the chain's Master Safe holder.
pub fn aggregate_under_master_safe(
    parts: &[&ChainAmounts],
    holders: &WalletHolders<'_>,
) -> ChainAmounts {
    let mut out = ChainAmounts::new();
    for part in parts {
        for (chain, hs) in &part.0 {
            let safe = holders.master_safe(*chain);
            let entry = out.entry(*chain, safe);
            for assets in hs.values() {
                for (asset, amount) in assets.iter() {
                    entry.add(*asset, *amount);
                }
            }
        }
    }
    out
}

/// The observed balances of every `(chain, holder, asset)` key of `keys`; a placeholder holds 0.
fn observed(s: &FundingSnapshot, keys: &ChainAmounts) -> ChainAmounts {
    let mut out = ChainAmounts::new();
    for (chain, holder, asset, _) in keys.iter() {
        let b = holder
            .address()
            .map_or(U256::ZERO, |a| s.balance(chain, &a, asset));
        out.entry(chain, *holder).set(*asset, b);
    }
    out
}

/// Service balances for the quickstart path: the holders and assets of `I`, with the
/// wrapped-native balance folded into native (unless wrapped native is itself required).
fn service_balances(s: &FundingSnapshot, initial: &ChainAmounts) -> ChainAmounts {
    let mut out = observed(s, initial);
    for (chain, hs) in &mut out.0 {
        let wrapped = Asset(chain.tokens().wrapped_native);
        let required = initial
            .0
            .get(chain)
            .is_some_and(|ih| ih.values().any(|a| a.contains(&wrapped)));
        if required {
            continue;
        }
        for (holder, assets) in hs.iter_mut() {
            if let (Some(addr), Some(native)) = (holder.address(), assets.get_mut(&Asset::NATIVE)) {
                *native = native.saturating_add(s.balance(*chain, &addr, &wrapped));
            }
        }
    }
    out
}

/// Reads the agent's funding requests `R` from its `/funds-status` body (§2.3), as leniently as
/// the middleware: unknown chains and (Q4, fixed) unknown addresses are dropped with a
/// diagnostic; a non-numeric deficit counts as 0 (Q18).
pub fn agent_funding_requests(
    service: &ServiceSnapshot,
    body: &FundsStatusBody,
    diagnostics: &mut Vec<Diagnostic>,
) -> ChainAmounts {
    let mut out = ChainAmounts::new();
    for (chain_name, addresses) in &body.chains {
        let Some((chain, sc)) = chain_name
            .parse::<Chain>()
            .ok()
            .and_then(|c| service.chains.iter().find(|(k, _)| *k == c))
        else {
            diagnostics.push(Diagnostic {
                code: DiagnosticCode::FundsStatusUnknownChain,
                chain: Some(chain_name.clone()),
                message: format!(
                    "/funds-status names chain {chain_name:?}, which is not a chain of this service; skipped"
                ),
            });
            continue;
        };
        for (addr_text, assets) in addresses {
            let known = parse_address(addr_text)
                .ok()
                .filter(|a| service.agent_addresses.contains(a) || sc.service_safe == Some(*a));
            let Some(address) = known else {
                diagnostics.push(Diagnostic {
                    code: DiagnosticCode::FundsStatusUnknownAddress,
                    chain: Some(chain.name().to_owned()),
                    message: format!(
                        "/funds-status names {addr_text:?}, which is neither an agent EOA nor the service Safe; dropped (the Olas middleware answers HTTP 500 here)"
                    ),
                });
                continue;
            };
            for (asset_text, entry) in assets {
                let Ok(asset) = parse_address(asset_text).map(Asset) else {
                    diagnostics.push(Diagnostic {
                        code: DiagnosticCode::FundsStatusInvalidAsset,
                        chain: Some(chain.name().to_owned()),
                        message: format!(
                            "/funds-status entry of {addr_text} has asset key {asset_text:?}, which is not an address; dropped"
                        ),
                    });
                    continue;
                };
                let deficit = lenient_deficit(entry.deficit.as_ref()).unwrap_or_else(|| {
                    diagnostics.push(Diagnostic {
                        code: DiagnosticCode::FundsStatusInvalidDeficit,
                        chain: Some(chain.name().to_owned()),
                        message: format!(
                            "/funds-status deficit of {addr_text} for {asset} is {}, not a non-negative integer; counted as 0",
                            entry
                                .deficit
                                .as_ref()
                                .map_or_else(|| "missing".to_owned(), tend_json::write::to_string)
                        ),
                    });
                    U256::ZERO
                });
                out.entry(*chain, Holder::Address(address))
                    .set(asset, deficit);
            }
        }
    }
    out
}

/// Python's `int(deficit)`: an integer, an integral-valued float (truncated), or a decimal string.
fn lenient_deficit(v: Option<&Value>) -> Option<U256> {
    match v? {
        Value::String(s) => parse_python_int(s).ok(),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Some(U256::from(u))
            } else if n.is_i64() {
                None
            } else {
                let f = n.as_f64()?;
                // `as` saturates; 2^128 is far above any amount that reaches a JSON float.
                (0.0..3.4e38).contains(&f).then(|| {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let whole = f.trunc() as u128;
                    U256::from(whole)
                })
            }
        }
        Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Computes the middleware's `funding_requirements` response for the snapshot (§2.6).
pub fn funding_requirements(s: &FundingSnapshot) -> OlasReport {
    let holders = WalletHolders::new(s.wallet.as_ref());
    let mut diagnostics = Vec::new();

    // Step 1–2: protocol requirement, bonded assets, protocol shortfall.
    let protocol = protocol_requirements(&s.service, &holders);
    let bonded = bonded_assets(s, &holders);
    let bonded_for_shortfall = match &bonded {
        BondedAssets::PerChain(m) => m.clone(),
        BondedAssets::EarlyReturn(_) => {
            diagnostics.push(Diagnostic {
                code: DiagnosticCode::BondedAssetsEarlyReturn,
                chain: None,
                message: "Q1: a minted service without a staking program makes the Olas middleware return one chain's bare asset map as bonded_assets; every protocol shortfall equals the full requirement".to_owned(),
            });
            ChainAmounts::new()
        }
    };
    let protocol_shortfall = shortfall(&bonded_for_shortfall, &protocol, &protocol);

    // Step 3: initial service shortfall.
    let initial = initial_funding(&s.service);
    let initial_shortfall = if s.quickstart {
        shortfall(&service_balances(s, &initial), &initial, &initial)
    } else if initial
        .0
        .values()
        .all(|hs| hs.contains_key(&Holder::ServiceSafe))
    {
        initial.clone()
    } else {
        ChainAmounts::new()
    };

    // Step 4: agent funding requests and their flags.
    let (requests, cooldown, in_progress) = if s.funding_in_progress {
        (ChainAmounts::new(), false, true)
    } else if s.now < s.funding_cooldown_until {
        (ChainAmounts::new(), true, false)
    } else if s.quickstart {
        (ChainAmounts::new(), false, false)
    } else {
        let r = s
            .agent_funds_status
            .as_ref()
            .map_or_else(ChainAmounts::new, |body| {
                agent_funding_requests(&s.service, body, &mut diagnostics)
            });
        (r, false, false)
    };

    // Steps 5–8: Master EOA top-up, excess split, shortfall, critical split.
    let eoa_topup = eoa_topups(&s.service, &holders, &protocol, &initial);
    let eoa_threshold = eoa_topup.div_floor(2);
    let eoa_balances = observed(s, &eoa_threshold);
    let (excess, keep) = split_excess(&eoa_balances, &holders);
    let eoa_shortfall = shortfall(&keep, &eoa_threshold, &eoa_topup);
    let (critical, remaining) = split_critical(&keep, &eoa_shortfall);

    // Step 9: the Master Safe.
    let safe_threshold = aggregate_under_master_safe(
        &[&remaining, &protocol_shortfall, &initial_shortfall],
        &holders,
    );
    let safe_balances =
        observed(s, &safe_threshold).plus(&aggregate_under_master_safe(&[&excess], &holders));
    let safe_shortfall = shortfall(&safe_balances, &safe_threshold, &safe_threshold);

    let refill = critical.clone().plus(&safe_shortfall);
    let total = critical.clone().plus(&safe_threshold);
    let balances = keep.plus(&safe_balances);
    let is_refill_required = refill.any_positive();
    let allow_start_agent = !refill
        .0
        .values()
        .any(|hs| hs.contains_key(&Holder::MasterSafe))
        && !critical.any_positive();

    OlasReport {
        balances,
        bonded_assets: bonded,
        total_requirements: total,
        refill_requirements: refill,
        protocol_asset_requirements: protocol,
        is_refill_required,
        allow_start_agent,
        agent_funding_requests: requests,
        agent_funding_requests_cooldown: cooldown,
        agent_funding_in_progress: in_progress,
        diagnostics,
    }
}

/// The hourly Master-EOA top-up (§2.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterEoaTopUp {
    /// Whether the job runs at `now` (`last_run + 3600 < now`).
    pub due: bool,
    /// When it runs next, if not now.
    pub next_run_after: u64,
    /// The transfers to send: per chain with a Master Safe, the shortfall of §2.2 against the
    /// with-Safe top-up and half of it, capped at the Safe's balance (Safe → Master EOA, native;
    /// the Safe's gas is paid by its signer, so none is reserved).
    pub transfers: Vec<Transfer>,
    /// Per chain, what the Safe could not cover.
    pub uncovered: Map<Chain, U256>,
}

/// Plans the Master-EOA top-up job at `now`, given when it last ran (0 = never).
pub fn master_eoa_topup_plan(
    wallet: &WalletSnapshot,
    balances: &ObservedBalances,
    now: u64,
    last_run: u64,
) -> MasterEoaTopUp {
    let due = last_run.saturating_add(MASTER_EOA_FUNDING_INTERVAL_SECS) < now;
    let mut plan = MasterEoaTopUp {
        due,
        next_run_after: last_run.saturating_add(MASTER_EOA_FUNDING_INTERVAL_SECS),
        transfers: Vec::new(),
        uncovered: Map::new(),
    };
    if !due {
        return plan;
    }
    let balance = |chain: Chain, a: &Address| observed_balance(balances, chain, a, &Asset::NATIVE);
    for (chain, safe) in &wallet.master_safes {
        let topup = chain.funding_constants().eoa_topup_with_safe;
        let have = balance(*chain, &wallet.master_eoa);
        let need = shortfall_of(have, topup / U256::from(2), topup);
        let amount = need.min(balance(*chain, safe));
        if !amount.is_zero() {
            plan.transfers.push(Transfer {
                chain: (*chain).into(),
                from: *safe,
                to: wallet.master_eoa,
                asset: Asset::NATIVE,
                amount,
                gas_reserved: U256::ZERO,
                reason: None,
            });
        }
        if need > amount {
            plan.uncovered.insert(*chain, need - amount);
        }
    }
    plan
}
