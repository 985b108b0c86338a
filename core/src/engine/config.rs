//! The engine's configuration: chains, their funding key and policies, services and the wallets
//! to keep funded. Serde data, so a recording's header can carry it and a browser can send it.

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use crate::address::Asset;
use crate::chain::ChainId;
use crate::fees::FeePolicy;
use crate::funding::plan::{ERC20_TRANSFER_GAS, NATIVE_TRANSFER_GAS};
use crate::health::HealthPolicy;
use crate::nonce::NoncePolicy;
use crate::rpc::RpcPolicy;
use crate::ser;

/// Everything the engine runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// The seed of every random choice (retry jitter).
    #[serde(default)]
    pub seed: u64,
    /// The chains.
    pub chains: Vec<ChainConfig>,
    /// The services.
    pub services: Vec<ServiceConfig>,
}

/// One chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// The chain.
    pub chain: ChainId,
    /// How many RPC endpoints the adapter holds for it (at least 1).
    pub endpoints: usize,
    /// The funding key's address (the source of every transfer on this chain).
    pub funder: Address,
    /// Read balances, counts and fees this often, ms.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// Gas limit of a native transfer.
    #[serde(default = "default_native_gas")]
    pub native_transfer_gas: u64,
    /// Gas limit of an ERC-20 transfer.
    #[serde(default = "default_erc20_gas")]
    pub erc20_transfer_gas: u64,
    /// RPC policy.
    #[serde(default)]
    pub rpc: RpcPolicy,
    /// Nonce policy.
    #[serde(default)]
    pub nonce: NoncePolicy,
    /// Fee policy.
    #[serde(default)]
    pub fees: FeePolicy,
    /// Pay top-ups from this Safe (the funding key, an owner, sends `execTransaction` and pays
    /// its gas); absent: the funding key pays them itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe: Option<SafeSource>,
}

/// A Safe 1.3.0 that pays a chain's top-ups: one Safe transaction per round, a MultiSend
/// delegatecall when it carries two or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(deny_unknown_fields)]
pub struct SafeSource {
    /// The Safe.
    pub address: Address,
    /// The MultiSend contract (1.3.0's `0xA238CBeb142c10Ef7Ad8442C6D1f9E89e07e7761` on live
    /// chains).
    pub multisend: Address,
    /// Gas of `execTransaction` beyond its top-ups.
    #[serde(default = "default_safe_exec_gas")]
    pub exec_gas: u64,
    /// Gas of one native top-up inside it (a fresh recipient included).
    #[serde(default = "default_safe_native_gas")]
    pub native_gas: u64,
    /// Gas of one ERC-20 top-up inside it.
    #[serde(default = "default_safe_erc20_gas")]
    pub erc20_gas: u64,
}

/// The canonical MultiSend 1.3.0 address (the same on every chain the middleware knows).
pub const MULTISEND_1_3_0: Address =
    alloy_primitives::address!("A238CBeb142c10Ef7Ad8442C6D1f9E89e07e7761");

fn default_safe_exec_gas() -> u64 {
    SAFE_EXEC_GAS
}
fn default_safe_native_gas() -> u64 {
    SAFE_NATIVE_GAS
}
fn default_safe_erc20_gas() -> u64 {
    SAFE_ERC20_GAS
}

/// Default gas of `execTransaction` beyond its top-ups: intrinsic gas, the signature check, the
/// nonce write and the Safe's event, measured at about 55,000 before the Safe's gas check on
/// anvil (BENCHMARKS.md), with a margin.
pub const SAFE_EXEC_GAS: u64 = 100_000;
/// Default gas of one native top-up in a Safe batch: about 36,000 measured to a fresh account.
pub const SAFE_NATIVE_GAS: u64 = 45_000;
/// Default gas of one ERC-20 top-up in a Safe batch.
pub const SAFE_ERC20_GAS: u64 = 70_000;
/// Gas each top-up adds outside the inner call: its 85 bytes of call data, hashed and logged
/// by the Safe (about 3,700 measured).
pub const SAFE_PER_TOP_UP_OVERHEAD: u64 = 4_000;

impl SafeSource {
    /// A Safe at `address` with MultiSend at `multisend` and the default gas figures.
    pub fn new(address: Address, multisend: Address) -> Self {
        SafeSource {
            address,
            multisend,
            exec_gas: SAFE_EXEC_GAS,
            native_gas: SAFE_NATIVE_GAS,
            erc20_gas: SAFE_ERC20_GAS,
        }
    }

    /// The `safeTxGas` of a Safe transaction paying top-ups of `assets`: the inner call's gas.
    pub fn safe_tx_gas(&self, assets: impl IntoIterator<Item = Asset>) -> u64 {
        assets.into_iter().fold(0, |g: u64, a| {
            g.saturating_add(if a.is_native() {
                self.native_gas
            } else {
                self.erc20_gas
            })
        })
    }

    /// The gas limit of one `execTransaction` paying top-ups of `assets`: the Safe refuses to
    /// run (`GS010`) unless `safeTxGas × 64 / 63` is left after its own checks.
    pub fn gas_limit(&self, assets: impl IntoIterator<Item = Asset> + Clone) -> u64 {
        let inner = self.safe_tx_gas(assets.clone());
        let n = assets.into_iter().count() as u64;
        self.exec_gas
            .saturating_add(inner.saturating_mul(64).div_ceil(63))
            .saturating_add(n.saturating_mul(SAFE_PER_TOP_UP_OVERHEAD))
    }

    /// `safeTxGas` and the gas limit of a Safe transaction making a life-cycle step's `calls`:
    /// the calls' own gas (each measured as a whole transaction, so above what it uses inside
    /// the Safe), plus `execTransaction`'s own, per call the MultiSend packing and 16 gas per
    /// calldata byte. The Safe's `safeTxGas × 64 / 63` check (`GS010`) fits in `exec_gas`'s
    /// margin up to about 2.8 M gas of calls (a whole pre-registration → staked batch is 1.3 M).
    pub fn step_gas(&self, calls: &[crate::lifecycle::calls::Call]) -> (u64, u64) {
        let inner = calls.iter().fold(0u64, |g, c| g.saturating_add(c.gas));
        let data = calls.iter().fold(0u64, |g, c| {
            let bytes = u64::try_from(c.data.len()).unwrap_or(u64::MAX);
            g.saturating_add(SAFE_PER_TOP_UP_OVERHEAD)
                .saturating_add(bytes.saturating_mul(16))
        });
        (
            inner,
            self.exec_gas.saturating_add(inner).saturating_add(data),
        )
    }
}

impl ChainConfig {
    /// Where this chain's top-ups come from: its Safe, else the funding key.
    pub fn source(&self) -> Address {
        self.safe.map_or(self.funder, |s| s.address)
    }

    /// The gas the planner reserves per native and per ERC-20 top-up: the transfer's own limit,
    /// or from a Safe a whole one-top-up `execTransaction` (its own part counted with every
    /// top-up, so the reserve never falls short), paid by the funding key.
    pub fn planned_gas(&self) -> (u64, u64) {
        match self.safe {
            Some(s) => (
                s.gas_limit([Asset::NATIVE]),
                s.gas_limit([Asset(Address::repeat_byte(1))]),
            ),
            None => (self.native_transfer_gas, self.erc20_transfer_gas),
        }
    }
}

fn default_poll_ms() -> u64 {
    15_000
}
fn default_native_gas() -> u64 {
    NATIVE_TRANSFER_GAS
}
fn default_erc20_gas() -> u64 {
    ERC20_TRANSFER_GAS
}

/// One agent service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Its name (unique).
    pub name: String,
    /// Start it when the engine starts.
    #[serde(default = "yes")]
    pub autostart: bool,
    /// Health policy.
    #[serde(default)]
    pub health: HealthPolicy,
    /// Wallets to keep funded.
    #[serde(default)]
    pub wallets: Vec<WalletConfig>,
}

fn yes() -> bool {
    true
}

/// One asset of one wallet to keep funded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(deny_unknown_fields)]
pub struct WalletConfig {
    /// The chain.
    pub chain: ChainId,
    /// The wallet.
    pub address: Address,
    /// The asset (the zero address for native).
    #[serde(default = "native")]
    pub asset: Asset,
    /// Refill when below this.
    #[serde(with = "ser::dec")]
    pub low: U256,
    /// Refill up to this.
    #[serde(with = "ser::dec")]
    pub target: U256,
    /// At most this per transfer.
    #[serde(default, with = "ser::dec::opt")]
    pub max_transfer: Option<U256>,
    /// Expected spend per day (runway).
    #[serde(default, with = "ser::dec::opt")]
    pub spend_per_day: Option<U256>,
    /// Lower is funded first when the source runs short.
    #[serde(default)]
    pub priority: u32,
}

fn native() -> Asset {
    Asset::NATIVE
}

impl WalletConfig {
    /// The planner's policy for this wallet asset.
    pub fn policy(&self) -> crate::funding::plan::Policy {
        crate::funding::plan::Policy {
            low: self.low,
            target: self.target,
            max_transfer: self.max_transfer,
            spend_per_day: self.spend_per_day,
        }
    }
}

/// A configuration the engine refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Two chains with the same id.
    #[error("chain {chain} is configured twice")]
    DuplicateChain {
        /// The chain.
        chain: ChainId,
    },
    /// A chain without endpoints.
    #[error("chain {chain} has no RPC endpoint: give it at least one URL")]
    NoEndpoint {
        /// The chain.
        chain: ChainId,
    },
    /// Two services with the same name.
    #[error("service {name:?} is configured twice")]
    DuplicateService {
        /// The name.
        name: String,
    },
    /// A wallet on a chain that is not configured.
    #[error("service {service:?} has a wallet on chain {chain}, which is not configured")]
    UnknownChain {
        /// The service.
        service: String,
        /// The chain.
        chain: ChainId,
    },
    /// `low > target`.
    #[error("service {service:?}: wallet {address} has low {low} above target {target}")]
    LowAboveTarget {
        /// The service.
        service: String,
        /// The wallet.
        address: Address,
        /// `low`.
        low: U256,
        /// `target`.
        target: U256,
    },
    /// A wallet is the funder itself.
    #[error("service {service:?}: wallet {address} is the funding key of chain {chain}")]
    WalletIsFunder {
        /// The service.
        service: String,
        /// The chain.
        chain: ChainId,
        /// The address.
        address: Address,
    },
    /// The same (chain, wallet, asset) twice.
    #[error("wallet {address} asset {asset} on chain {chain} is configured twice")]
    DuplicateWallet {
        /// The chain.
        chain: ChainId,
        /// The wallet.
        address: Address,
        /// The asset.
        asset: Asset,
    },
    /// `max_transfer` of 0 would never fund.
    #[error("service {service:?}: wallet {address} has max_transfer 0 (omit it for no cap)")]
    ZeroMaxTransfer {
        /// The service.
        service: String,
        /// The wallet.
        address: Address,
    },
    /// A wallet is the chain's funding Safe, or the Safe is the funding key.
    #[error(
        "chain {chain}: {address} is the funding Safe; a wallet cannot be the Safe that pays it, nor the Safe its own owner key"
    )]
    WalletIsSafe {
        /// The chain.
        chain: ChainId,
        /// The address.
        address: Address,
    },
    /// A zero poll period would spin.
    #[error("chain {chain}: poll_ms must be at least 1")]
    ZeroPoll {
        /// The chain.
        chain: ChainId,
    },
}

impl EngineConfig {
    /// Parses a configuration from JSON (not yet validated: [`EngineConfig::validate`]).
    pub fn from_json(text: &str) -> Result<Self, tend_json::read::Error> {
        tend_json::read::from_str(text)
    }

    /// Checks the rules beyond types.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut chains = crate::map::Set::new();
        for c in &self.chains {
            if !chains.insert(c.chain) {
                return Err(ConfigError::DuplicateChain { chain: c.chain });
            }
            if c.endpoints == 0 {
                return Err(ConfigError::NoEndpoint { chain: c.chain });
            }
            if c.poll_ms == 0 {
                return Err(ConfigError::ZeroPoll { chain: c.chain });
            }
            if let Some(safe) = c.safe
                && safe.address == c.funder
            {
                return Err(ConfigError::WalletIsSafe {
                    chain: c.chain,
                    address: safe.address,
                });
            }
        }
        let mut names = crate::map::Set::new();
        let mut wallets = crate::map::Set::new();
        for s in &self.services {
            if !names.insert(s.name.as_str()) {
                return Err(ConfigError::DuplicateService {
                    name: s.name.clone(),
                });
            }
            for w in &s.wallets {
                let Some(chain) = self.chains.iter().find(|c| c.chain == w.chain) else {
                    return Err(ConfigError::UnknownChain {
                        service: s.name.clone(),
                        chain: w.chain,
                    });
                };
                if w.low > w.target {
                    return Err(ConfigError::LowAboveTarget {
                        service: s.name.clone(),
                        address: w.address,
                        low: w.low,
                        target: w.target,
                    });
                }
                if w.max_transfer.is_some_and(|m| m.is_zero()) {
                    return Err(ConfigError::ZeroMaxTransfer {
                        service: s.name.clone(),
                        address: w.address,
                    });
                }
                if w.address == chain.funder {
                    return Err(ConfigError::WalletIsFunder {
                        service: s.name.clone(),
                        chain: w.chain,
                        address: w.address,
                    });
                }
                if chain.safe.is_some_and(|s| s.address == w.address) {
                    return Err(ConfigError::WalletIsSafe {
                        chain: w.chain,
                        address: w.address,
                    });
                }
                if !wallets.insert((w.chain, w.address, w.asset)) {
                    return Err(ConfigError::DuplicateWallet {
                        chain: w.chain,
                        address: w.address,
                        asset: w.asset,
                    });
                }
            }
        }
        Ok(())
    }
}
