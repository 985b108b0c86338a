//! The chains the Olas middleware supports, with their per-chain constants and addresses
//! (`shared/domain/olas-middleware.md` §2.1 and §7), and [`ChainId`] for any EVM chain.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::{Address, U256, address};

use crate::address::Asset;

/// A chain known to the Olas middleware, named as Olas names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Chain {
    /// Arbitrum One (42161).
    ArbitrumOne,
    /// Base (8453).
    Base,
    /// Celo (42220).
    Celo,
    /// Ethereum mainnet (1).
    Ethereum,
    /// Gnosis chain (100).
    Gnosis,
    /// Mode (34443).
    Mode,
    /// OP Mainnet (10).
    Optimism,
    /// Polygon (137).
    Polygon,
}

/// A chain name that tend does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown chain {name:?}: expected one of arbitrum_one, base, celo, ethereum, gnosis, mode, optimism, polygon"
)]
pub struct UnknownChain {
    /// The name as given.
    pub name: String,
}

const MILLI_ETHER: u64 = 1_000_000_000_000_000;

/// Per-chain funding constants of the Olas middleware, in wei (§2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundingConstants {
    /// Master EOA native top-up while the chain has a Master Safe (`DEFAULT_EOA_TOPUPS`).
    pub eoa_topup_with_safe: U256,
    /// Native sent to a fresh Master Safe without `initial_funds` (`DEFAULT_NEW_SAFE_FUNDS`).
    pub new_safe_funds: U256,
    /// Balances below this are dust (`DUST`).
    pub dust: U256,
}

impl FundingConstants {
    /// Master EOA native top-up while the chain has no Master Safe: twice the with-Safe value.
    pub fn eoa_topup_without_safe(&self) -> U256 {
        self.eoa_topup_with_safe * U256::from(2)
    }

    /// The top-up that applies, with or without a Master Safe.
    pub fn eoa_topup(&self, has_master_safe: bool) -> U256 {
        if has_master_safe {
            self.eoa_topup_with_safe
        } else {
            self.eoa_topup_without_safe()
        }
    }

    /// The EOA threshold: half of whichever top-up applies.
    pub fn eoa_threshold(&self, has_master_safe: bool) -> U256 {
        self.eoa_topup(has_master_safe) / U256::from(2)
    }

    /// The critical floor (and recovery top-up): a quarter of the with-Safe top-up, always.
    pub fn critical_floor(&self) -> U256 {
        self.eoa_topup_with_safe / U256::from(4)
    }
}

/// Well-known token addresses of a chain (§7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tokens {
    /// OLAS.
    pub olas: Address,
    /// Native USDC.
    pub usdc: Address,
    /// Bridged USDC.e, where it exists.
    pub usdc_e: Option<Address>,
    /// The wrapped native coin (WXDAI, WETH, WPOL, …).
    pub wrapped_native: Address,
    /// pUSD (Polygon only).
    pub pusd: Option<Address>,
}

impl Tokens {
    /// The known ERC-20 set of the chain (used by drains and sweeps), without duplicates.
    pub fn known_erc20(&self) -> Vec<Asset> {
        let mut out: Vec<Asset> = [
            Some(self.olas),
            Some(self.usdc),
            self.usdc_e,
            Some(self.wrapped_native),
            self.pusd,
        ]
        .into_iter()
        .flatten()
        .map(Asset)
        .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Olas protocol contracts of a chain (§7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolContracts {
    /// `ServiceRegistry` (L2 variant off Ethereum).
    pub service_registry: Address,
    /// `ServiceRegistryTokenUtility`.
    pub service_registry_token_utility: Address,
    /// `RecoveryModule`.
    pub recovery_module: Address,
}

/// `MultiSend`, the same on every chain.
pub const MULTISEND: Address = address!("A238CBeb142c10Ef7Ad8442C6D1f9E89e07e7761");
/// `Multicall3`, deployed at the same address on every chain tend supports.
pub const MULTICALL3: Address = address!("cA11bde05977b3631167028862bE2a173976CA11");
/// The ERC-8004 identity registry (every chain but mode).
pub const ERC8004_IDENTITY_REGISTRY: Address = address!("8004A169FB4a3325136EB29fA0ceB6D2e539a432");

impl Chain {
    /// Every known chain, in name order.
    pub const ALL: [Chain; 8] = [
        Chain::ArbitrumOne,
        Chain::Base,
        Chain::Celo,
        Chain::Ethereum,
        Chain::Gnosis,
        Chain::Mode,
        Chain::Optimism,
        Chain::Polygon,
    ];

    /// The Olas name (`gnosis`, `arbitrum_one`, …).
    pub fn name(self) -> &'static str {
        match self {
            Chain::ArbitrumOne => "arbitrum_one",
            Chain::Base => "base",
            Chain::Celo => "celo",
            Chain::Ethereum => "ethereum",
            Chain::Gnosis => "gnosis",
            Chain::Mode => "mode",
            Chain::Optimism => "optimism",
            Chain::Polygon => "polygon",
        }
    }

    /// The EIP-155 chain id.
    pub fn id(self) -> u64 {
        match self {
            Chain::ArbitrumOne => 42161,
            Chain::Base => 8453,
            Chain::Celo => 42220,
            Chain::Ethereum => 1,
            Chain::Gnosis => 100,
            Chain::Mode => 34443,
            Chain::Optimism => 10,
            Chain::Polygon => 137,
        }
    }

    /// The known chain with this id.
    pub fn from_id(id: u64) -> Option<Chain> {
        Chain::ALL.into_iter().find(|c| c.id() == id)
    }

    /// The native coin's symbol.
    pub fn native_symbol(self) -> &'static str {
        match self {
            Chain::Gnosis => "xDAI",
            Chain::Celo => "CELO",
            Chain::Polygon => "POL",
            Chain::ArbitrumOne | Chain::Base | Chain::Ethereum | Chain::Mode | Chain::Optimism => {
                "ETH"
            }
        }
    }

    /// Whether transactions pay an L1 data fee on top of L2 gas (the drain's fee rule, §2.9).
    pub fn has_l1_data_fee(self) -> bool {
        matches!(
            self,
            Chain::ArbitrumOne | Chain::Base | Chain::Optimism | Chain::Mode
        )
    }

    /// The middleware's per-chain funding constants (§2.1).
    pub fn funding_constants(self) -> FundingConstants {
        let wei = |v: u64| U256::from(v);
        let ether = |milli: u64| U256::from(milli) * U256::from(MILLI_ETHER);
        match self {
            Chain::ArbitrumOne | Chain::Base | Chain::Optimism => FundingConstants {
                eoa_topup_with_safe: wei(2_500_000_000_000_000),
                new_safe_funds: wei(250_000_000_000_000),
                dust: wei(100_000_000_000_000),
            },
            Chain::Celo | Chain::Gnosis => FundingConstants {
                eoa_topup_with_safe: ether(750),
                new_safe_funds: ether(1_000),
                dust: wei(1_000_000_000_000_000),
            },
            Chain::Ethereum => FundingConstants {
                eoa_topup_with_safe: wei(10_000_000_000_000_000),
                new_safe_funds: wei(250_000_000_000_000),
                dust: wei(100_000_000_000_000),
            },
            Chain::Mode => FundingConstants {
                eoa_topup_with_safe: wei(250_000_000_000_000),
                new_safe_funds: wei(250_000_000_000_000),
                dust: wei(100_000_000_000_000),
            },
            Chain::Polygon => FundingConstants {
                eoa_topup_with_safe: ether(8_000),
                new_safe_funds: ether(1_000),
                dust: wei(100_000_000_000_000),
            },
        }
    }

    /// The chain's well-known tokens (§7.2).
    pub fn tokens(self) -> Tokens {
        const OP_WETH: Address = address!("4200000000000000000000000000000000000006");
        match self {
            Chain::ArbitrumOne => Tokens {
                olas: address!("064F8B858C2A603e1b106a2039f5446D32dc81c1"),
                usdc: address!("af88d065e77c8cC2239327C5EDb3A432268e5831"),
                usdc_e: None,
                wrapped_native: address!("82aF49447D8a07e3bd95BD0d56f35241523fBab1"),
                pusd: None,
            },
            Chain::Base => Tokens {
                olas: address!("54330d28ca3357F294334BDC454a032e7f353416"),
                usdc: address!("833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"),
                usdc_e: None,
                wrapped_native: OP_WETH,
                pusd: None,
            },
            Chain::Celo => Tokens {
                olas: address!("aCFfAe8e57Ec6E394Eb1b41939A8CF7892DbDc51"),
                usdc: address!("cebA9300f2b948710d2653dD7B07f33A8B32118C"),
                usdc_e: None,
                wrapped_native: address!("471EcE3750Da237f93B8E339c536989b8978a438"),
                pusd: None,
            },
            Chain::Ethereum => Tokens {
                olas: address!("0001A500A6B18995B03f44bb040A5fFc28E45CB0"),
                usdc: address!("A0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"),
                usdc_e: None,
                wrapped_native: address!("C02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"),
                pusd: None,
            },
            Chain::Gnosis => Tokens {
                olas: address!("cE11e14225575945b8E6Dc0D4F2dD4C570f79d9f"),
                usdc: address!("DDAfbb505ad214D7b80b1f830fcCc89B60fb7A83"),
                usdc_e: Some(address!("2a22f9c3b484c3629090FeED35F17Ff8F88f76F0")),
                wrapped_native: address!("e91D153E0b41518A2Ce8Dd3D7944Fa863463a97d"),
                pusd: None,
            },
            Chain::Mode => Tokens {
                olas: address!("cfD1D50ce23C46D3Cf6407487B2F8934e96DC8f9"),
                usdc: address!("d988097fb8612cc24eeC14542bC03424c656005f"),
                usdc_e: None,
                wrapped_native: OP_WETH,
                pusd: None,
            },
            Chain::Optimism => Tokens {
                olas: address!("FC2E6e6BCbd49ccf3A5f029c79984372DcBFE527"),
                usdc: address!("0b2C639c533813f4Aa9D7837CAf62653d097Ff85"),
                usdc_e: Some(address!("7F5c764cBc14f9669B88837ca1490cCa17c31607")),
                wrapped_native: OP_WETH,
                pusd: None,
            },
            Chain::Polygon => Tokens {
                olas: address!("FEF5d947472e72Efbb2E388c730B7428406F2F95"),
                usdc: address!("3c499c542cEF5E3811e1192ce70d8cC03d5c3359"),
                usdc_e: Some(address!("2791Bca1f2de4661ED88A30C99A7a9449Aa84174")),
                wrapped_native: address!("0d500B1d8E8eF31E21C99d1Db9A6444d3ADf1270"),
                pusd: Some(address!("C011a7E12a19f7B1f670d46F03B03f3342E82DFB")),
            },
        }
    }

    /// The chain's Olas protocol contracts (§7.3).
    pub fn protocol_contracts(self) -> ProtocolContracts {
        let c = |r: Address, t: Address, m: Address| ProtocolContracts {
            service_registry: r,
            service_registry_token_utility: t,
            recovery_module: m,
        };
        match self {
            Chain::ArbitrumOne => c(
                address!("E3607b00E75f6405248323A9417ff6b39B244b50"),
                address!("3d77596beb0f130a4415df3D2D8232B3d3D31e44"),
                address!("D0863340f947bE329c67e196e192705e53A1338f"),
            ),
            Chain::Base => c(
                address!("3C1fF68f5aa342D296d4DEe4Bb1cACCA912D95fE"),
                address!("34C895f302D0b5cf52ec0Edd3945321EB0f83dd5"),
                address!("359d53C326388D24037b3b1590d217fdb5EEE74c"),
            ),
            Chain::Celo => c(
                address!("E3607b00E75f6405248323A9417ff6b39B244b50"),
                address!("3d77596beb0f130a4415df3D2D8232B3d3D31e44"),
                address!("24F792D51b398928459Dfbb4181bDb4D5d2CD472"),
            ),
            Chain::Ethereum => c(
                address!("48b6af7B12C71f09e2fC8aF4855De4Ff54e775cA"),
                address!("3Fb926116D454b95c669B6Bf2E7c3bad8d19affA"),
                address!("69D97b5c4F35fd3A72FA83b6B1eB911c6A8a2e3c"),
            ),
            Chain::Gnosis => c(
                address!("9338b5153AE39BB89f50468E608eD9d764B755fD"),
                address!("a45E64d13A30a51b91ae0eb182e88a40e9b18eD8"),
                address!("0Cb12457ed26d572c5e4A50f30b6f7A904662a72"),
            ),
            Chain::Mode => c(
                address!("3C1fF68f5aa342D296d4DEe4Bb1cACCA912D95fE"),
                address!("34C895f302D0b5cf52ec0Edd3945321EB0f83dd5"),
                address!("1d79e0a600B61FAC1B8F40c27347e48962Ed2f23"),
            ),
            Chain::Optimism => c(
                address!("3d77596beb0f130a4415df3D2D8232B3d3D31e44"),
                address!("Bb7e1D6Cb6F243D6bdE81CE92a9f2aFF7Fbe7eac"),
                address!("6e7f594f680f7aBad18b7a63de50F0FeE47dfD06"),
            ),
            Chain::Polygon => c(
                address!("E3607b00E75f6405248323A9417ff6b39B244b50"),
                address!("a45E64d13A30a51b91ae0eb182e88a40e9b18eD8"),
                address!("02C26437B292D86c5F4F21bbCcE0771948274f84"),
            ),
        }
    }

    /// Whether the ERC-8004 identity registry exists on this chain.
    pub fn has_erc8004(self) -> bool {
        self != Chain::Mode
    }
}

impl FromStr for Chain {
    type Err = UnknownChain;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Chain::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| UnknownChain { name: s.to_owned() })
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Any EVM chain, by its EIP-155 id. Written as the Olas name for known chains and as the decimal
/// id otherwise (a local devnet is `31337`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainId(pub u64);

/// A text that is neither a known chain name nor a decimal chain id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown chain {name:?}: expected a chain name (arbitrum_one, base, celo, ethereum, gnosis, mode, optimism, polygon) or a decimal chain id"
)]
pub struct UnknownChainId {
    /// The text as given.
    pub name: String,
}

impl ChainId {
    /// The known chain with this id, if any.
    pub fn known(self) -> Option<Chain> {
        Chain::from_id(self.0)
    }
}

impl From<Chain> for ChainId {
    fn from(c: Chain) -> Self {
        ChainId(c.id())
    }
}

impl FromStr for ChainId {
    type Err = UnknownChainId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(c) = s.parse::<Chain>() {
            return Ok(c.into());
        }
        let valid = !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        match s.parse::<u64>() {
            Ok(id) if valid && id > 0 => Ok(ChainId(id)),
            _ => Err(UnknownChainId { name: s.to_owned() }),
        }
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.known() {
            Some(c) => f.write_str(c.name()),
            None => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_round_trip() {
        for c in Chain::ALL {
            assert_eq!(c.name().parse::<Chain>().unwrap(), c);
            assert_eq!(Chain::from_id(c.id()), Some(c));
            assert_eq!(ChainId::from(c).to_string(), c.name());
        }
        assert!("solana".parse::<Chain>().is_err());
        assert!("Gnosis".parse::<Chain>().is_err());
        assert_eq!("31337".parse::<ChainId>().unwrap(), ChainId(31337));
        assert_eq!(ChainId(31337).to_string(), "31337");
        assert_eq!(
            "100".parse::<ChainId>().unwrap().known(),
            Some(Chain::Gnosis)
        );
        for bad in ["", "0", "-1", "+5", "x", "99999999999999999999999"] {
            assert!(bad.parse::<ChainId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn constants_follow_the_table() {
        let g = Chain::Gnosis.funding_constants();
        assert_eq!(g.eoa_topup(true), U256::from(750_000_000_000_000_000u64));
        assert_eq!(g.eoa_topup(false), U256::from(1_500_000_000_000_000_000u64));
        assert_eq!(
            g.eoa_threshold(true),
            U256::from(375_000_000_000_000_000u64)
        );
        assert_eq!(
            g.eoa_threshold(false),
            U256::from(750_000_000_000_000_000u64)
        );
        assert_eq!(g.critical_floor(), U256::from(187_500_000_000_000_000u64));
        let p = Chain::Polygon.funding_constants();
        assert_eq!(
            p.eoa_topup(false),
            U256::from(16_000_000_000_000_000_000u128)
        );
        assert_eq!(p.critical_floor(), U256::from(2_000_000_000_000_000_000u64));
        let m = Chain::Mode.funding_constants();
        assert_eq!(m.critical_floor(), U256::from(62_500_000_000_000u64));
        assert_eq!(
            Chain::Celo.funding_constants().dust,
            U256::from(1_000_000_000_000_000u64)
        );
        // Every top-up is even and divisible by four, so floor division is exact.
        for c in Chain::ALL {
            let t = c.funding_constants().eoa_topup_with_safe;
            assert_eq!(t % U256::from(4), U256::ZERO, "{c}");
        }
    }

    #[test]
    fn token_sets_are_deduplicated() {
        let base = Chain::Base.tokens().known_erc20();
        assert_eq!(base.len(), 3);
        let polygon = Chain::Polygon.tokens().known_erc20();
        assert_eq!(polygon.len(), 5);
        assert_eq!(
            Chain::Mode.tokens().wrapped_native,
            Chain::Base.tokens().wrapped_native
        );
        assert!(!Chain::Mode.has_erc8004());
    }
}
