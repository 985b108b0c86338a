//! The planner's input from what the adapter knows: the configuration, the latest balances and
//! fees, and the transfers in flight. Shared by `tend fund --dry-run` (fresh reads) and the
//! daemon's `/v1/plan` (its latest reads).

use super::Daemon;

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use tend_core::address::Asset;
use tend_core::chain::ChainId;
use tend_core::chain_amounts::AssetAmounts;
use tend_core::engine::ChainConfig;
use tend_core::funding::plan::{GasParams, GasPayer, PlanInput, Policy, Source, Transfer, Wallet};

use crate::config::Config;

/// Builds the planner's input. Chains without a fee reading are left out; wallet assets
/// without a balance reading are left out (never planned on a guess).
pub fn plan_input<F>(
    config: &Config,
    max_fee: &BTreeMap<ChainId, u128>,
    balance: F,
    in_flight: Vec<Transfer>,
) -> PlanInput
where
    F: Fn(ChainId, Address, Asset) -> Option<U256>,
{
    let mut input = PlanInput {
        chains: tend_core::map::Map::new(),
        sources: Vec::new(),
        wallets: Vec::new(),
        in_flight,
    };
    for chain_cfg in &config.engine.chains {
        let chain = chain_cfg.chain;
        let Some(fee) = max_fee.get(&chain) else {
            continue;
        };
        let mut gas = GasParams::with_max_fee(U256::from(*fee));
        // The engine's reserve per top-up (from a Safe, paid by the funding key).
        let (native_gas, erc20_gas) = chain_cfg.planned_gas();
        gas.native_transfer_gas = U256::from(native_gas);
        gas.erc20_transfer_gas = U256::from(erc20_gas);
        let source = chain_cfg.source();
        input.chains.insert(chain, gas);
        let mut funder = AssetAmounts::new();
        let mut wallets: BTreeMap<
            Address,
            (
                String,
                u32,
                AssetAmounts,
                tend_core::map::Map<Asset, Policy>,
            ),
        > = BTreeMap::new();
        for s in &config.engine.services {
            for w in s.wallets.iter().filter(|w| w.chain == chain) {
                if let Some(b) = balance(chain, source, w.asset) {
                    funder.set(w.asset, b);
                }
                let Some(b) = balance(chain, w.address, w.asset) else {
                    continue;
                };
                let e = wallets.entry(w.address).or_insert_with(|| {
                    (
                        s.name.clone(),
                        w.priority,
                        AssetAmounts::new(),
                        tend_core::map::Map::new(),
                    )
                });
                e.1 = e.1.min(w.priority);
                e.2.set(w.asset, b);
                e.3.insert(w.asset, w.policy());
            }
        }
        if let Some(b) = balance(chain, source, Asset::NATIVE) {
            funder.set(Asset::NATIVE, b);
        }
        let gas_payer = chain_cfg.safe.map(|_| GasPayer {
            address: chain_cfg.funder,
            native: balance(chain, chain_cfg.funder, Asset::NATIVE).unwrap_or_default(),
        });
        input.sources.push(Source {
            chain,
            address: source,
            name: Some(
                if gas_payer.is_some() {
                    "safe"
                } else {
                    "funder"
                }
                .into(),
            ),
            balances: funder,
            gas_payer,
        });
        for (address, (name, priority, balances, policy)) in wallets {
            input.wallets.push(Wallet {
                chain,
                address,
                name: Some(name),
                priority,
                balances,
                policy,
            });
        }
    }
    input
}
impl Daemon {
    /// The plan the latest reads give, with what is in flight counted as done.
    /// Computed again only after balances, fees or the transfers in flight changed.
    pub(super) fn plan(&mut self) -> Option<serde_json::Value> {
        if self.plan_stale {
            self.plan = self.compute_plan();
            self.plan_stale = false;
        }
        self.plan.clone()
    }

    fn compute_plan(&self) -> Option<serde_json::Value> {
        if self.fees.len() < self.config.engine.chains.len() {
            return None;
        }
        let source = |chain: ChainId| {
            self.config
                .engine
                .chains
                .iter()
                .find(|c| c.chain == chain)
                .map_or(self.config.funder, ChainConfig::source)
        };
        let in_flight = self
            .intents
            .iter()
            .flat_map(|((chain, _), t)| t.top_ups().map(move |u| (*chain, u)))
            .map(|(chain, t)| tend_core::funding::plan::Transfer {
                chain,
                from: source(chain),
                to: t.to,
                asset: t.asset,
                amount: t.amount,
                gas_reserved: t.gas_reserved,
                reason: None,
            })
            .collect();
        let input = crate::daemon::plan::plan_input(
            &self.config,
            &self.fees,
            |c, h, a| self.balances.get(&(c, h, a)).map(|(v, _)| *v),
            in_flight,
        );
        let plan = tend_core::funding::plan::plan(&input).ok()?;
        serde_json::to_value(&plan).ok()
    }
}
