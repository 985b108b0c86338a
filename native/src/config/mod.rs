//! `tend.toml`: chains, the funding key, services and their wallets. Parsed strictly (unknown
//! keys are errors that name the key and its line), then turned into the core's
//! [`EngineConfig`] plus what only the adapter needs (URLs, commands, paths).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, U256};
use serde::Deserialize;
use tend_core::address::Asset;
use tend_core::chain::ChainId;
use tend_core::engine::config::{ChainConfig, EngineConfig, ServiceConfig, WalletConfig};
use tend_core::fees::FeePolicy;
use tend_core::health::HealthPolicy;
use tend_core::nonce::NoncePolicy;
use tend_core::rpc::RpcPolicy;

use crate::secret::RpcUrl;

mod olas;

pub use olas::{
    FALLBACK_HANDLER, OlasContracts, OlasLifecycle, OlasRegistry, OlasSpec, OlasTarget, reads,
    snapshot_json,
};

/// The default API address: loopback only.
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:7878";

/// A configuration that cannot be used. The message names the key and, where known, the line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key, or a value of the wrong shape.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message (with line and column).
        message: String,
    },
    /// A value breaks a rule.
    #[error("{}: {message}", location(path, *line))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The 1-based line, 0 when unknown.
        line: usize,
        /// What is wrong and what to do.
        message: String,
    },
}

fn location(path: &Path, line: usize) -> String {
    if line == 0 {
        path.display().to_string()
    } else {
        format!("{}:{line}", path.display())
    }
}

impl ConfigError {
    fn invalid(path: &Path, text: &str, span: Option<std::ops::Range<usize>>, msg: String) -> Self {
        // The 1-based line the span starts on (a table's span starts at its header).
        let line = span.map_or(0, |s| {
            text.get(..s.start).map_or(1, |t| t.split('\n').count())
        });
        Self::Invalid {
            path: path.to_owned(),
            line,
            message: msg,
        }
    }
}

/// An amount in `tend.toml`: `"1.5 ether"`, `"20 gwei"`, `"123 wei"` or a plain integer string
/// (the asset's smallest unit). `ether` means 18 decimals, also for tokens with 18 decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub U256);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount such as \"0.5 ether\", \"30 gwei\" or \"1000000\" (wei)")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Amount, E> {
                u64::try_from(v)
                    .map(|v| Amount(U256::from(v)))
                    .map_err(|_| E::custom("negative amount"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                parse_amount(v).map(Amount).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses `"<decimal> [ether|eth|gwei|wei]"` into the smallest unit.
pub fn parse_amount(text: &str) -> Result<U256, String> {
    let t = text.trim();
    let (num, decimals) = match t.rsplit_once(' ') {
        Some((n, unit)) => {
            let d = match unit.to_ascii_lowercase().as_str() {
                "ether" | "eth" | "xdai" => 18,
                "gwei" => 9,
                "wei" => 0,
                other => {
                    return Err(format!(
                        "unknown unit {other:?} in amount {t:?}: use ether, gwei or wei"
                    ));
                }
            };
            (n.trim(), d)
        }
        None => (t, 0),
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if frac.len() > decimals {
        return Err(format!(
            "amount {t:?} has more decimals than its unit allows ({decimals})"
        ));
    }
    let digits = format!("{int}{frac:0<decimals$}");
    if int.is_empty() && frac.is_empty() {
        return Err(format!("amount {t:?} has no digits"));
    }
    tend_core::amount::parse_decimal(&digits).map_err(|e| format!("amount {t:?}: {e}"))
}

/// A chain in `tend.toml`: a known name (`gnosis`, `base`, …) or a numeric id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TomlChain(pub(crate) ChainId);

impl<'de> Deserialize<'de> for TomlChain {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = TomlChain;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a chain name (gnosis, base, …) or a chain id (100)")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<TomlChain, E> {
                match u64::try_from(v) {
                    Ok(id) if id > 0 => Ok(TomlChain(ChainId(id))),
                    _ => Err(E::custom(format!("chain id {v} must be positive"))),
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TomlChain, E> {
                v.parse().map(TomlChain).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// An address (any letter case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TomlAddress(pub(crate) Address);

impl<'de> Deserialize<'de> for TomlAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        tend_core::address::parse_address(&s)
            .map(TomlAddress)
            .map_err(serde::de::Error::custom)
    }
}

/// An asset: `"native"` or a token address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TomlAsset(Asset);

impl<'de> Deserialize<'de> for TomlAsset {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.eq_ignore_ascii_case("native") {
            return Ok(TomlAsset(Asset::NATIVE));
        }
        s.parse::<Asset>()
            .map(TomlAsset)
            .map_err(|e| serde::de::Error::custom(format!("{e} (or \"native\")")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    home: Option<String>,
    #[serde(default)]
    seed: u64,
    api: Option<RawApi>,
    logs: Option<RawLogs>,
    funder: toml::Spanned<RawFunder>,
    #[serde(default)]
    chains: Vec<RawChain>,
    #[serde(default)]
    services: Vec<RawService>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    listen: Option<String>,
    token_env: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogs {
    max_bytes: Option<u64>,
    keep: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFunder {
    keystore: Option<toml::Spanned<String>>,
    password_env: Option<String>,
    password_file: Option<String>,
    private_key_env: Option<toml::Spanned<String>>,
    address: Option<TomlAddress>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChain {
    chain: toml::Spanned<TomlChain>,
    rpc: toml::Spanned<Vec<toml::Spanned<String>>>,
    confirmations: Option<u64>,
    max_in_flight: Option<u32>,
    max_fee: Option<Amount>,
    poll_ms: Option<u64>,
    #[serde(default = "yes")]
    multicall: bool,
    rpc_policy: Option<RpcPolicy>,
    nonce: Option<NoncePolicy>,
    fees: Option<FeePolicy>,
    olas: Option<olas::RawContracts>,
    safe: Option<toml::Spanned<TomlAddress>>,
    multisend: Option<toml::Spanned<TomlAddress>>,
    safe_owner_keys_env: Option<toml::Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    name: toml::Spanned<String>,
    command: Option<toml::Spanned<Vec<String>>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    cwd: Option<String>,
    health_url: Option<String>,
    funds_status_url: Option<String>,
    autostart: Option<bool>,
    health: Option<HealthPolicy>,
    #[serde(default)]
    wallets: Vec<RawWallet>,
    olas: Option<toml::Spanned<RawOlas>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOlas {
    service: toml::Value,
    registry: Option<olas::RawRegistry>,
    wallet: Option<toml::Value>,
    bonded_assets: Option<toml::Value>,
    #[serde(default)]
    quickstart: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWallet {
    chain: TomlChain,
    address: toml::Spanned<TomlAddress>,
    asset: Option<TomlAsset>,
    low: toml::Spanned<Amount>,
    target: toml::Spanned<Amount>,
    max_transfer: Option<Amount>,
    spend_per_day: Option<Amount>,
    #[serde(default)]
    priority: u32,
}

fn yes() -> bool {
    true
}

/// Where the funding key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A standard Ethereum JSON keystore with its password.
    Keystore {
        /// The keystore file.
        path: PathBuf,
        /// Where the password is.
        password: PasswordSource,
    },
    /// A hex private key in an environment variable.
    Env {
        /// The variable's name.
        var: String,
    },
}

/// Where a keystore's password comes from (never the config itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// An environment variable.
    Env(String),
    /// A file (its first line).
    File(PathBuf),
}

/// One chain, as the adapter needs it.
#[derive(Debug, Clone)]
pub struct ChainSpec {
    /// The chain.
    pub chain: ChainId,
    /// Its endpoints, in the order given.
    pub rpc: Vec<RpcUrl>,
    /// Read balances through Multicall3 when the contract is there.
    pub multicall: bool,
    /// Environment variables holding more owner keys of the funding Safe (hex private keys),
    /// for a threshold above 1: the funding key and these sign each Safe transaction.
    pub safe_owner_keys_env: Vec<String>,
}

/// One service, as the adapter needs it.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    /// Its name.
    pub name: String,
    /// The agent's argument vector (never a shell string); empty for a service that only has
    /// wallets to keep funded (no process is supervised).
    pub command: Vec<String>,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// The working directory.
    pub cwd: Option<PathBuf>,
    /// The health URL (`GET`, Olas healthcheck body or any 2xx).
    pub health_url: Option<String>,
    /// The agent's funds-status URL.
    pub funds_status_url: Option<String>,
    /// The Olas description of the service, for the Olas-compatible funding report.
    pub olas: Option<OlasSpec>,
}

impl ServiceSpec {
    /// Whether tend supervises a process for it (else it only keeps its wallets funded).
    pub fn has_agent(&self) -> bool {
        !self.command.is_empty()
    }
}

/// A loaded, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from.
    pub path: PathBuf,
    /// tend's state folder (PID files, journal, logs).
    pub home: PathBuf,
    /// The HTTP API's address; `None` when disabled.
    pub api_listen: Option<std::net::SocketAddr>,
    /// The environment variable holding the API token (else a token file in the home).
    pub api_token_env: Option<String>,
    /// Rotate an agent's log at this size.
    pub log_max_bytes: u64,
    /// Rotated logs kept per agent.
    pub log_keep: u32,
    /// The funding key.
    pub key: KeySource,
    /// The funding key's address, when known without decrypting (config or keystore file).
    pub funder: Address,
    /// Chains.
    pub chains: Vec<ChainSpec>,
    /// Services.
    pub services: Vec<ServiceSpec>,
    /// The engine's configuration.
    pub engine: EngineConfig,
}

impl Config {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Validates a text as if read from `path` (relative paths resolve against its folder).
    #[allow(clippy::too_many_lines)]
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().replace('\n', "\n  "),
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let resolve = |p: &str| -> PathBuf {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_owned()
            } else {
                base.join(p)
            }
        };
        let invalid = |span: Option<std::ops::Range<usize>>, msg: String| {
            ConfigError::invalid(path, text, span, msg)
        };

        let home = resolve(raw.home.as_deref().unwrap_or(".tend"));
        let (api_listen, api_token_env) = match raw.api {
            Some(api) if !api.enabled => (None, api.token_env),
            Some(api) => {
                let listen = api.listen.as_deref().unwrap_or(DEFAULT_API_LISTEN);
                let addr = listen.parse().map_err(|_| {
                    invalid(
                        None,
                        format!("api.listen {listen:?} is not an address such as 127.0.0.1:7878"),
                    )
                })?;
                (Some(addr), api.token_env)
            }
            None => (DEFAULT_API_LISTEN.parse().ok(), None),
        };
        let logs = raw.logs.unwrap_or(RawLogs {
            max_bytes: None,
            keep: None,
        });

        let funder_span = raw.funder.span();
        let f = raw.funder.into_inner();
        let key = match (&f.keystore, &f.private_key_env) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    Some(funder_span),
                    "funder: give either keystore or private_key_env, not both".into(),
                ));
            }
            (None, None) => {
                return Err(invalid(
                    Some(funder_span),
                    "funder: give keystore (with password_env or password_file) or private_key_env"
                        .into(),
                ));
            }
            (Some(ks), None) => {
                let password = match (&f.password_env, &f.password_file) {
                    (Some(v), None) => PasswordSource::Env(v.clone()),
                    (None, Some(p)) => PasswordSource::File(resolve(p)),
                    _ => {
                        return Err(invalid(
                            Some(ks.span()),
                            "funder: a keystore needs exactly one of password_env or password_file \
                             (the password never goes in tend.toml)"
                                .into(),
                        ));
                    }
                };
                KeySource::Keystore {
                    path: resolve(ks.get_ref()),
                    password,
                }
            }
            (None, Some(var)) => KeySource::Env {
                var: var.get_ref().clone(),
            },
        };
        // Errors about the key point at the key's own line.
        let key_span = f
            .keystore
            .as_ref()
            .or(f.private_key_env.as_ref())
            .map_or(funder_span, toml::Spanned::span);
        let funder = match (f.address, &key) {
            (Some(a), _) => a.0,
            (None, KeySource::Keystore { path: ks, .. }) => keystore_address(ks)
                .map_err(|m| invalid(Some(key_span.clone()), format!("funder: {m}")))?,
            (None, KeySource::Env { .. }) => {
                return Err(invalid(
                    Some(key_span),
                    "funder: with private_key_env, also give the key's address (funder.address)"
                        .into(),
                ));
            }
        };

        let mut chains = Vec::new();
        let mut engine_chains = Vec::new();
        let mut olas_contracts = BTreeMap::new();
        for c in raw.chains {
            if let Some(o) = c.olas {
                olas_contracts.insert(c.chain.get_ref().0, o);
            }
            let chain = c.chain.get_ref().0;
            if chains.iter().any(|s: &ChainSpec| s.chain == chain) {
                return Err(invalid(
                    Some(c.chain.span()),
                    format!("chain {chain} is configured twice"),
                ));
            }
            let rpc_span = c.rpc.span();
            let mut urls = Vec::new();
            for u in c.rpc.into_inner() {
                let span = u.span();
                urls.push(RpcUrl::parse(u.get_ref()).map_err(|m| invalid(Some(span), m))?);
            }
            if urls.is_empty() {
                return Err(invalid(
                    Some(rpc_span),
                    format!("chain {chain}: rpc needs at least one URL"),
                ));
            }
            let mut nonce = c.nonce.unwrap_or_default();
            if let Some(n) = c.confirmations {
                if n == 0 {
                    return Err(invalid(
                        Some(c.chain.span()),
                        format!("chain {chain}: confirmations must be at least 1"),
                    ));
                }
                nonce.confirmations = n;
            }
            if let Some(n) = c.max_in_flight {
                if n == 0 {
                    return Err(invalid(
                        Some(c.chain.span()),
                        format!("chain {chain}: max_in_flight must be at least 1"),
                    ));
                }
                nonce.max_in_flight = n;
            }
            let mut fees = c.fees.unwrap_or_default();
            if let Some(Amount(cap)) = c.max_fee {
                let cap = u128::try_from(cap).map_err(|_| {
                    invalid(
                        Some(c.chain.span()),
                        format!("chain {chain}: max_fee is too large"),
                    )
                })?;
                fees.max_fee_cap = cap;
                nonce.fee_cap = nonce.fee_cap.max(cap);
            }
            let safe_owner_keys_env = match (&c.safe, &c.safe_owner_keys_env) {
                (None, Some(k)) => {
                    return Err(invalid(
                        Some(k.span()),
                        format!(
                            "chain {chain}: safe_owner_keys_env names more owner keys of a \
                             funding Safe; give safe = \"0x…\" too, or drop it"
                        ),
                    ));
                }
                (Some(_), Some(k)) => {
                    if let Some(bad) = k.get_ref().iter().find(|v| v.is_empty() || v.contains('='))
                    {
                        return Err(invalid(
                            Some(k.span()),
                            format!(
                                "chain {chain}: safe_owner_keys_env lists environment variable \
                                 names (\"OWNER2_KEY\"), not {bad:?}"
                            ),
                        ));
                    }
                    k.get_ref().clone()
                }
                (_, None) => Vec::new(),
            };
            if let (None, Some(m)) = (&c.safe, &c.multisend) {
                return Err(invalid(
                    Some(m.span()),
                    format!(
                        "chain {chain}: multisend is the contract a funding Safe batches with; \
                         give safe = \"0x…\" too, or drop multisend"
                    ),
                ));
            }
            let safe = match &c.safe {
                Some(a) if a.get_ref().0 == funder => {
                    return Err(invalid(
                        Some(a.span()),
                        format!(
                            "chain {chain}: safe is the funding key's own address; give the Safe \
                             the key owns"
                        ),
                    ));
                }
                Some(a) => Some(tend_core::engine::SafeSource::new(
                    a.get_ref().0,
                    c.multisend
                        .as_ref()
                        .map_or(tend_core::engine::MULTISEND_1_3_0, |m| m.get_ref().0),
                )),
                None => None,
            };
            engine_chains.push(ChainConfig {
                chain,
                endpoints: urls.len(),
                funder,
                safe,
                poll_ms: c.poll_ms.unwrap_or(15_000),
                native_transfer_gas: tend_core::funding::plan::NATIVE_TRANSFER_GAS,
                erc20_transfer_gas: tend_core::funding::plan::ERC20_TRANSFER_GAS,
                rpc: c.rpc_policy.unwrap_or_default(),
                nonce,
                fees,
            });
            chains.push(ChainSpec {
                chain,
                rpc: urls,
                multicall: c.multicall,
                safe_owner_keys_env,
            });
        }

        let mut services = Vec::new();
        let mut engine_services = Vec::new();
        for s in raw.services {
            let name = s.name.get_ref().clone();
            let name_span = s.name.span();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
                || name.starts_with('.')
            {
                return Err(invalid(
                    Some(name_span),
                    format!("service name {name:?}: use letters, digits, '-', '_' and '.' only"),
                ));
            }
            if services.iter().any(|x: &ServiceSpec| x.name == name) {
                return Err(invalid(
                    Some(name_span),
                    format!("service {name:?} is configured twice"),
                ));
            }
            let command = match &s.command {
                Some(c) if c.get_ref().first().is_none_or(String::is_empty) => {
                    return Err(invalid(
                        Some(c.span()),
                        format!(
                            "service {name:?}: command must name the program, e.g. [\"python\", \"-m\", \"agent\"]"
                        ),
                    ));
                }
                Some(c) => c.get_ref().clone(),
                None => {
                    // Funding only: wallets kept funded, no process supervised.
                    let agent_keys = [
                        ("env", !s.env.is_empty()),
                        ("cwd", s.cwd.is_some()),
                        ("health_url", s.health_url.is_some()),
                        ("funds_status_url", s.funds_status_url.is_some()),
                        ("autostart", s.autostart.is_some()),
                        ("health", s.health.is_some()),
                    ];
                    if let Some((key, _)) = agent_keys.iter().find(|(_, given)| *given) {
                        return Err(invalid(
                            Some(name_span),
                            format!(
                                "service {name:?}: {key} is about an agent, but the service has no \
                                 command: give command = [\"program\", \"arg\"], or drop {key} \
                                 for a service that only keeps its wallets funded"
                            ),
                        ));
                    }
                    Vec::new()
                }
            };
            for u in [&s.health_url, &s.funds_status_url].into_iter().flatten() {
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return Err(invalid(
                        Some(name_span.clone()),
                        format!("service {name:?}: URL {u:?} must start with http:// or https://"),
                    ));
                }
            }
            let mut health = s.health.unwrap_or_default();
            if s.health_url.is_none() {
                // Without a URL only the process is watched: never wait for a healthy probe.
                health.require_olas_body = false;
            }
            let mut wallets = Vec::new();
            for w in s.wallets {
                let span = w.address.span();
                let address = w.address.into_inner().0;
                if !chains.iter().any(|c| c.chain == w.chain.0) {
                    return Err(invalid(
                        Some(span),
                        format!(
                            "service {name:?}: wallet {address} is on chain {}, which has no [[chains]] entry",
                            w.chain.0
                        ),
                    ));
                }
                if w.low.get_ref().0 > w.target.get_ref().0 {
                    // The amounts as written, with their units (not converted to wei).
                    let written = |a: &toml::Spanned<Amount>| {
                        text.get(a.span())
                            .unwrap_or_default()
                            .trim_matches('"')
                            .to_owned()
                    };
                    return Err(invalid(
                        Some(w.low.span()),
                        format!(
                            "service {name:?}: wallet {address}: low ({}) is above target ({}): \
                             low is the balance that starts a top-up, target the balance it \
                             fills to",
                            written(&w.low),
                            written(&w.target)
                        ),
                    ));
                }
                wallets.push(WalletConfig {
                    chain: w.chain.0,
                    address,
                    asset: w.asset.map_or(Asset::NATIVE, |a| a.0),
                    low: w.low.get_ref().0,
                    target: w.target.get_ref().0,
                    max_transfer: w.max_transfer.map(|a| a.0),
                    spend_per_day: w.spend_per_day.map(|a| a.0),
                    priority: w.priority,
                });
            }
            let olas = match s.olas {
                None => None,
                Some(o) => {
                    let span = o.span();
                    let o = o.into_inner();
                    let to_json = |v: toml::Value| serde_json::to_value(v).unwrap_or_default();
                    let registry = o
                        .registry
                        .map(|r| olas::registry(r, &olas_contracts))
                        .transpose()
                        .map_err(|m| {
                            invalid(
                                Some(span.clone()),
                                format!("service {name:?}: [services.olas]: {m}"),
                            )
                        })?;
                    let spec = OlasSpec {
                        service: to_json(o.service),
                        wallet: o.wallet.map_or(serde_json::Value::Null, to_json),
                        bonded_assets: o
                            .bonded_assets
                            .map_or_else(|| serde_json::json!({}), to_json),
                        quickstart: o.quickstart,
                        registry,
                    };
                    if let Some(r) = &spec.registry
                        && spec.service["chains"].get(r.chain.to_string()).is_none()
                    {
                        return Err(invalid(
                            Some(span),
                            format!(
                                "service {name:?}: [services.olas.registry] names chain {}, but \
                                 [services.olas.service.chains.{}] is missing (its \
                                 fund_requirements are configured there)",
                                r.chain, r.chain
                            ),
                        ));
                    }
                    let probe_spec = OlasSpec {
                        service: olas::probe_service(&spec),
                        ..spec.clone()
                    };
                    let probe = snapshot_json(&probe_spec, 0, &BTreeMap::new(), None, false);
                    if let Err(e) =
                        tend_core::funding::FundingSnapshot::from_json_str(&probe.to_string())
                    {
                        return Err(invalid(
                            Some(span),
                            format!("service {name:?}: [services.olas]: {e}"),
                        ));
                    }
                    for chain in spec.service["chains"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, _)| k)
                    {
                        let known = chain
                            .parse::<ChainId>()
                            .is_ok_and(|id| chains.iter().any(|c| c.chain == id));
                        if !known {
                            return Err(invalid(
                                Some(span),
                                format!(
                                    "service {name:?}: [services.olas] chain {chain} has no [[chains]] entry"
                                ),
                            ));
                        }
                    }
                    Some(spec)
                }
            };
            engine_services.push(ServiceConfig {
                name: name.clone(),
                // A service without a command is never started.
                autostart: !command.is_empty() && s.autostart.unwrap_or(true),
                health,
                wallets,
            });
            services.push(ServiceSpec {
                name,
                command,
                env: s.env,
                cwd: s.cwd.as_deref().map(resolve),
                health_url: s.health_url,
                funds_status_url: s.funds_status_url,
                olas,
            });
        }
        let engine = EngineConfig {
            seed: raw.seed,
            chains: engine_chains,
            services: engine_services,
        };
        engine
            .validate()
            .map_err(|e| invalid(None, e.to_string()))?;
        Ok(Self {
            path: path.to_owned(),
            home,
            api_listen,
            api_token_env,
            log_max_bytes: logs.max_bytes.unwrap_or(10 * 1024 * 1024).max(1024),
            log_keep: logs.keep.unwrap_or(3),
            key,
            funder,
            chains,
            services,
            engine,
        })
    }

    /// A service by name.
    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.name == name)
    }

    /// A chain by id.
    pub fn chain(&self, chain: ChainId) -> Option<&ChainSpec> {
        self.chains.iter().find(|c| c.chain == chain)
    }
}

/// The address field of a standard JSON keystore (present in geth's and most tools' files).
pub fn keystore_address(path: &Path) -> Result<Address, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read keystore {}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("keystore {} is not JSON: {e}", path.display()))?;
    let a = v.get("address").and_then(|a| a.as_str()).ok_or_else(|| {
        format!(
            "keystore {} has no \"address\" field: give funder.address",
            path.display()
        )
    })?;
    let a = if a.starts_with("0x") || a.starts_with("0X") {
        a.to_owned()
    } else {
        format!("0x{a}")
    };
    tend_core::address::parse_address(&a)
        .map_err(|e| format!("keystore {}: address: {e}", path.display()))
}

/// The commented example `tend init` writes.
pub const EXAMPLE: &str = include_str!("../../assets/tend.example.toml");
#[cfg(test)]
mod tests;
