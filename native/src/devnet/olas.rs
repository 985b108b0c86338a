//! The real Olas protocol on a devnet (`shared/domain/olas-onchain.md` §1–§6): the compiled
//! registry, staking and Safe contracts of the `open-autonomy` wheel (fetched from PyPI with its
//! hash checked, cached in the tools folder), the registry's multisig implementation written for
//! devnets (`native/assets/olas/DevnetSafeMultisig.sol`, compiled hex beside it), deployed on an
//! anvil in the order the facts give, and the life-cycle steps that take a service from minted to
//! staked. Test support for the tests, the demo and the benches: the deployer, owner and operator
//! are anvil's unlocked accounts (`eth_sendTransaction`), never tend's funding key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::sol_types::{SolCall, SolValue};
use serde_json::{Value, json};

use super::Devnet;

/// The wheel whose compiled contracts are deployed.
pub const OPEN_AUTONOMY: &str = "open-autonomy==0.21.30";
/// Its file name on PyPI.
pub const WHEEL_FILE: &str = "open_autonomy-0.21.30-py3-none-any.whl";
/// Its SHA-256 (checked by pip before anything is unpacked).
pub const WHEEL_SHA256: &str = "d84260a3f55d059be1a0dd23c9b492b38f493ccc3e903c92e784347cd925820e";

/// DevnetSafeMultisig's creation code, hex (see `scripts/olas/compile-multisig.mjs`).
pub const DEVNET_SAFE_MULTISIG: &str = include_str!("../../assets/olas/DevnetSafeMultisig.bin");

/// The artifacts used, relative to the unpacked wheel.
mod paths {
    pub(super) const ERC20: &str = "autonomy/data/contracts/erc20/build/ERC20.json";
    pub(super) const SERVICE_REGISTRY: &str =
        "autonomy/data/contracts/service_registry/build/ServiceRegistryL2.json";
    pub(super) const TOKEN_UTILITY: &str = "autonomy/data/contracts/service_registry_token_utility/build/ServiceRegistryTokenUtility.json";
    pub(super) const SERVICE_MANAGER: &str =
        "autonomy/data/contracts/service_manager/build/ServiceManagerToken.json";
    pub(super) const SAFE: &str =
        "autonomy/data/contracts/gnosis_safe/build/GnosisSafe_V1_3_0.json";
    pub(super) const PROXY_FACTORY: &str =
        "autonomy/data/contracts/gnosis_safe_proxy_factory/build/ProxyFactory_V1_3_0.json";
    pub(super) const MULTISEND: &str = "autonomy/data/contracts/multisend/build/MultiSend.json";
    pub(super) const RECOVERY_MODULE: &str =
        "autonomy/data/contracts/recovery_module/build/RecoveryModule.json";
    pub(super) const ACTIVITY_CHECKER: &str =
        "packages/valory/contracts/staking_activity_checker/build/StakingActivityChecker.json";
    pub(super) const STAKING_TOKEN: &str =
        "packages/valory/contracts/staking_token/build/StakingToken.json";
}

pub use super::olas_abi::*;
use crate::chain::olas_facts as facts;
pub use crate::chain::olas_facts::RegistryService;
pub use tend_core::lifecycle::calls::{IServiceManager, IStaking};

/// Finds the unpacked wheel: `$TEND_OLAS_WHEEL`, or `<tools>/olas/open-autonomy-0.21.30`; else
/// downloads it with pip (the hash is checked) and unpacks it there. The error says what to
/// install or set.
#[allow(clippy::print_stderr)] // a person waits for the download: say why it takes a while
pub fn find_or_fetch_wheel(tools: &Path) -> Result<PathBuf, String> {
    let has = |root: &Path| root.join(paths::SERVICE_REGISTRY).is_file();
    if let Some(dir) = std::env::var_os("TEND_OLAS_WHEEL") {
        let dir = PathBuf::from(dir);
        if !has(&dir) {
            return Err(format!(
                "TEND_OLAS_WHEEL={} has no {}: point it at an unpacked {WHEEL_FILE}",
                dir.display(),
                paths::SERVICE_REGISTRY
            ));
        }
        return Ok(dir);
    }
    let root = tools.join("olas").join("open-autonomy-0.21.30");
    if has(&root) {
        return Ok(root);
    }
    eprintln!(
        "fetching the Olas contracts ({OPEN_AUTONOMY} from PyPI) into {} …",
        root.display()
    );
    let download = super::download_dir(&tools.join("olas"), "download")?;
    let req = download.join("requirements.txt");
    std::fs::write(
        &req,
        format!("{OPEN_AUTONOMY} --hash=sha256:{WHEEL_SHA256}\n"),
    )
    .map_err(|e| format!("cannot write {}: {e}", req.display()))?;
    let python = std::env::var("TEND_PYTHON").unwrap_or_else(|_| "python3".into());
    let fix =
        format!("install Python 3 with pip, or set TEND_OLAS_WHEEL to an unpacked {WHEEL_FILE}");
    super::run_tool(
        &python,
        &[
            "-m".as_ref(),
            "pip".as_ref(),
            "download".as_ref(),
            "--no-deps".as_ref(),
            "--require-hashes".as_ref(),
            "-r".as_ref(),
            req.as_os_str(),
            "-d".as_ref(),
            download.as_os_str(),
        ],
        "download the wheel",
        &fix,
    )?;
    let tmp = download.join("unpacked");
    super::run_tool(
        &python,
        &[
            "-m".as_ref(),
            "zipfile".as_ref(),
            "-e".as_ref(),
            download.join(WHEEL_FILE).as_os_str(),
            tmp.as_os_str(),
        ],
        "unpack the wheel",
        &fix,
    )?;
    if let Err(e) = std::fs::rename(&tmp, &root)
        && !has(&root)
    {
        return Err(format!("cannot move {}: {e}", tmp.display()));
    }
    let _ = std::fs::remove_dir_all(&download);
    if has(&root) {
        Ok(root)
    } else {
        Err(format!("{WHEEL_FILE} has no {}", paths::SERVICE_REGISTRY))
    }
}

/// A contract's creation code from a build JSON of the wheel.
fn creation_code(wheel: &Path, rel: &str) -> Result<Vec<u8>, String> {
    let path = wheel.join(rel);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    let hex = v["bytecode"]
        .as_str()
        .ok_or_else(|| format!("{} has no \"bytecode\" string", path.display()))?;
    alloy::primitives::hex::decode(hex).map_err(|e| format!("{}: bytecode: {e}", path.display()))
}

/// The deployed stack's addresses.
#[derive(Debug, Clone, Copy)]
pub struct OlasStack {
    /// The ERC-20 standing in for OLAS.
    pub olas: Address,
    /// ServiceRegistryL2.
    pub service_registry: Address,
    /// ServiceRegistryTokenUtility.
    pub token_utility: Address,
    /// ServiceManagerToken.
    pub service_manager: Address,
    /// GnosisSafeL2 1.3.0 singleton.
    pub safe_singleton: Address,
    /// The Safe proxy factory 1.3.0.
    pub proxy_factory: Address,
    /// MultiSend (the wheel's v1.1.1 build; the same encoding as 1.3.0).
    pub multisend: Address,
    /// RecoveryModule.
    pub recovery_module: Address,
    /// DevnetSafeMultisig, the registry's whitelisted multisig implementation.
    pub multisig_implementation: Address,
    /// StakingActivityChecker.
    pub activity_checker: Address,
    /// StakingToken, initialised and funded with rewards.
    pub staking: Address,
    /// The deployer (anvil account 9).
    pub deployer: Address,
}

/// The staking program's numbers on the devnet (§3.1).
pub mod program {
    /// Bond and security deposit per agent: the program's minimum, 10 OLAS.
    pub const MIN_STAKING_DEPOSIT: u128 = 10_000_000_000_000_000_000;
    /// Rewards per second per staked, active service.
    pub const REWARDS_PER_SECOND: u128 = 1_000_000_000_000_000;
    /// Seconds between reward checkpoints.
    pub const LIVENESS_PERIOD: u64 = 3_600;
    /// The rewards pool deposited at deployment: 1,000 OLAS.
    pub const REWARDS: u128 = 1_000_000_000_000_000_000_000;
    /// The agent id the devnet's services run.
    pub const AGENT_ID: u32 = 1;
}

/// Sends a transaction from an unlocked anvil account and waits for its receipt; an error when it
/// reverted (with the call's name).
async fn send(
    net: &Devnet,
    from: Address,
    to: Option<Address>,
    data: Vec<u8>,
    value: U256,
    what: &str,
) -> Result<Value, String> {
    let ep = net.endpoint()?;
    let mut tx = json!({
        "from": from,
        "data": Bytes::from(data),
        "value": value,
        "gas": "0x1c9c380",
    });
    if let Some(to) = to {
        tx["to"] = json!(to);
    }
    let hash: B256 = ep
        .request("eth_sendTransaction", (tx,))
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    for _ in 0..600 {
        let receipt: Value = ep
            .request("eth_getTransactionReceipt", (hash,))
            .await
            .map_err(|e| format!("{what}: receipt: {e}"))?;
        if !receipt.is_null() {
            if receipt["status"] != "0x1" {
                return Err(format!("{what} reverted (transaction {hash})"));
            }
            return Ok(receipt);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!("{what}: no receipt for {hash} within 12 s"))
}

/// Deploys `code` (creation code + ABI-encoded constructor arguments); its address.
pub(super) async fn create(
    net: &Devnet,
    from: Address,
    code: Vec<u8>,
    what: &str,
) -> Result<Address, String> {
    let receipt = send(net, from, None, code, U256::ZERO, what).await?;
    receipt["contractAddress"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("{what}: the receipt names no contract"))
}

/// The call `c` to `to` from an unlocked account; errors name it by its signature.
async fn call<C: SolCall>(
    net: &Devnet,
    from: Address,
    to: Address,
    c: &C,
) -> Result<Value, String> {
    pay(net, from, to, c, U256::ZERO).await
}

/// [`call`] with native `value` (the registry's 1-wei token-bond wrappers).
async fn pay<C: SolCall>(
    net: &Devnet,
    from: Address,
    to: Address,
    c: &C,
    value: U256,
) -> Result<Value, String> {
    send(net, from, Some(to), c.abi_encode(), value, C::SIGNATURE).await
}

/// A read (`eth_call` at the latest block), decoded as `C`'s return.
pub async fn read<C: SolCall>(net: &Devnet, to: Address, c: &C) -> Result<C::Return, String> {
    let out: Bytes = net
        .endpoint()?
        .request(
            "eth_call",
            (
                json!({ "to": to, "data": Bytes::from(c.abi_encode()) }),
                "latest",
            ),
        )
        .await
        .map_err(|e| format!("eth_call {}: {e}", C::SIGNATURE))?;
    C::abi_decode_returns(&out).map_err(|e| format!("{}: {e}", C::SIGNATURE))
}

/// anvil's unlocked account `i`.
pub async fn account(net: &Devnet, i: usize) -> Result<Address, String> {
    let accounts: Vec<Address> = net
        .endpoint()?
        .request("eth_accounts", ())
        .await
        .map_err(|e| format!("eth_accounts: {e}"))?;
    accounts
        .get(i)
        .copied()
        .ok_or_else(|| format!("anvil has no account {i}"))
}

/// Deploys the stack on `net` from anvil account 9 (§3), in the facts' order: the OLAS stand-in,
/// the service registry, token utility and manager (wired with `changeManager`), the Safe
/// singleton, proxy factory and MultiSend, the RecoveryModule and DevnetSafeMultisig (both
/// whitelisted), the activity checker and the staking program (initialised, 1,000 OLAS of
/// rewards deposited), and Safe 1.3.0's `CompatibilityFallbackHandler` from `handler` (its build,
/// [`super::fallback::find_or_fetch`]) at the middleware's address, which the Master Safes made
/// by [`OlasStack::create_safe`] name. About 30 transactions.
#[allow(clippy::too_many_lines)] // the facts' deployment order, one step after another
pub async fn deploy(net: &Devnet, wheel: &Path, handler: &Path) -> Result<OlasStack, String> {
    let deployer = account(net, 9).await?;
    super::fallback::install(net, deployer, handler, crate::config::FALLBACK_HANDLER).await?;
    let code = |rel: &str| creation_code(wheel, rel);
    let with_args = |mut code: Vec<u8>, args: Vec<u8>| {
        code.extend_from_slice(&args);
        code
    };
    let base_uri = "https://gateway.autonolas.tech/ipfs/".to_owned();

    let olas = create(net, deployer, code(paths::ERC20)?, "deploy ERC20").await?;
    let service_registry = create(
        net,
        deployer,
        with_args(
            code(paths::SERVICE_REGISTRY)?,
            (
                "Service Registry L2".to_owned(),
                "AUTONOLAS-SERVICE-V1".to_owned(),
                base_uri,
            )
                .abi_encode_params(),
        ),
        "deploy ServiceRegistryL2",
    )
    .await?;
    let token_utility = create(
        net,
        deployer,
        with_args(code(paths::TOKEN_UTILITY)?, service_registry.abi_encode()),
        "deploy ServiceRegistryTokenUtility",
    )
    .await?;
    // The bytecode takes three addresses, whatever the ABI says (§1).
    let service_manager = create(
        net,
        deployer,
        with_args(
            code(paths::SERVICE_MANAGER)?,
            (service_registry, token_utility, Address::ZERO).abi_encode_params(),
        ),
        "deploy ServiceManagerToken",
    )
    .await?;
    let change = IServiceRegistry::changeManagerCall {
        newManager: service_manager,
    };
    call(net, deployer, service_registry, &change).await?;
    call(net, deployer, token_utility, &change).await?;

    let safe_singleton = create(net, deployer, code(paths::SAFE)?, "deploy GnosisSafeL2").await?;
    let proxy_factory = create(
        net,
        deployer,
        code(paths::PROXY_FACTORY)?,
        "deploy GnosisSafeProxyFactory",
    )
    .await?;
    let multisend = create(net, deployer, code(paths::MULTISEND)?, "deploy MultiSend").await?;
    let recovery_module = create(
        net,
        deployer,
        with_args(
            code(paths::RECOVERY_MODULE)?,
            (multisend, service_registry).abi_encode_params(),
        ),
        "deploy RecoveryModule",
    )
    .await?;
    let multisig_code = alloy::primitives::hex::decode(DEVNET_SAFE_MULTISIG.trim())
        .map_err(|e| format!("DevnetSafeMultisig.bin: {e}"))?;
    let multisig_implementation = create(
        net,
        deployer,
        with_args(
            multisig_code,
            (safe_singleton, proxy_factory, recovery_module).abi_encode_params(),
        ),
        "deploy DevnetSafeMultisig",
    )
    .await?;
    for m in [multisig_implementation, recovery_module] {
        let data = IServiceRegistry::changeMultisigPermissionCall {
            multisig: m,
            permission: true,
        };
        call(net, deployer, service_registry, &data).await?;
    }

    // One Safe transaction per day counts as active (1e18 / 86,400).
    let activity_checker = create(
        net,
        deployer,
        with_args(
            code(paths::ACTIVITY_CHECKER)?,
            U256::from(11_574_074_074_074u64).abi_encode(),
        ),
        "deploy StakingActivityChecker",
    )
    .await?;
    let staking = create(
        net,
        deployer,
        code(paths::STAKING_TOKEN)?,
        "deploy StakingToken",
    )
    .await?;
    let proxy_runtime = read(net, proxy_factory, &IProxyFactory::proxyRuntimeCodeCall {}).await?;
    let params = StakingParams {
        metadataHash: keccak256("olas-devnet-staking"),
        maxNumServices: U256::from(10),
        rewardsPerSecond: U256::from(program::REWARDS_PER_SECOND),
        minStakingDeposit: U256::from(program::MIN_STAKING_DEPOSIT),
        minNumStakingPeriods: U256::from(2),
        maxNumInactivityPeriods: U256::from(1),
        livenessPeriod: U256::from(program::LIVENESS_PERIOD),
        timeForEmissions: U256::from(2_592_000),
        numAgentInstances: U256::from(1),
        agentIds: vec![U256::from(program::AGENT_ID)],
        threshold: U256::ZERO,
        configHash: B256::ZERO,
        proxyHash: keccak256(&proxy_runtime),
        serviceRegistry: service_registry,
        activityChecker: activity_checker,
    };
    let init = IStakingSetup::initializeCall {
        _stakingParams: params,
        _serviceRegistryTokenUtility: token_utility,
        _stakingToken: olas,
    };
    call(net, deployer, staking, &init).await?;
    let stack = OlasStack {
        olas,
        service_registry,
        token_utility,
        service_manager,
        safe_singleton,
        proxy_factory,
        multisend,
        recovery_module,
        multisig_implementation,
        activity_checker,
        staking,
        deployer,
    };
    stack
        .mint_olas(net, deployer, U256::from(program::REWARDS))
        .await?;
    stack
        .approve_olas(net, deployer, staking, U256::from(program::REWARDS))
        .await?;
    let deposit = IStakingSetup::depositCall {
        amount: U256::from(program::REWARDS),
    };
    call(net, deployer, staking, &deposit).await?;
    Ok(stack)
}

/// The accounts of one devnet service: who owns the NFT, who bonds the agent, the agent.
#[derive(Debug, Clone, Copy)]
pub struct ServiceAccounts {
    /// The service owner (holds the NFT, pays the security deposit).
    pub owner: Address,
    /// The operator (bonds the agent instance; differs from every instance).
    pub operator: Address,
    /// The agent instance, sole owner of the service Safe.
    pub agent: Address,
}

impl ServiceAccounts {
    /// The devnet's roles: anvil's accounts 8 (owner), 7 (operator) and 6 (agent).
    pub async fn of_devnet(net: &Devnet) -> Result<Self, String> {
        Ok(Self {
            owner: account(net, 8).await?,
            operator: account(net, 7).await?,
            agent: account(net, 6).await?,
        })
    }
}

impl OlasStack {
    /// Mints OLAS to `to` (the stand-in's open `mint`).
    pub async fn mint_olas(&self, net: &Devnet, to: Address, amount: U256) -> Result<(), String> {
        let data = IOlasToken::mintCall { to, amount };
        call(net, self.deployer, self.olas, &data).await.map(|_| ())
    }

    async fn approve_olas(
        &self,
        net: &Devnet,
        from: Address,
        spender: Address,
        amount: U256,
    ) -> Result<(), String> {
        let data = IOlasToken::approveCall { spender, amount };
        call(net, from, self.olas, &data).await.map(|_| ())
    }

    /// `create` through the manager (§5 step 1): one agent instance of agent id 1, bonded with the
    /// program's minimum in OLAS; the new service id.
    pub async fn create_service(&self, net: &Devnet, owner: Address) -> Result<u64, String> {
        self.create_service_for(net, owner, owner).await
    }

    /// [`Self::create_service`] sent by `from` for the service owner `owner` (a Safe, say:
    /// anyone may create a service for an owner).
    pub async fn create_service_for(
        &self,
        net: &Devnet,
        from: Address,
        owner: Address,
    ) -> Result<u64, String> {
        let data = IServiceManager::createCall {
            serviceOwner: owner,
            token: self.olas,
            configHash: keccak256("olas-devnet-service"),
            agentIds: vec![program::AGENT_ID],
            agentParams: vec![IServiceManager::AgentParams {
                slots: 1,
                bond: alloy::primitives::Uint::from(program::MIN_STAKING_DEPOSIT),
            }],
            threshold: 1,
        };
        call(net, from, self.service_manager, &data).await?;
        let id = read(
            net,
            self.service_registry,
            &IServiceRegistry::totalSupplyCall {},
        )
        .await?;
        u64::try_from(id).map_err(|_| format!("service id {id} is not a u64"))
    }

    /// `getService`.
    pub async fn service(&self, net: &Devnet, id: u64) -> Result<RegistryService, String> {
        read(
            net,
            self.service_registry,
            &facts::getServiceCall {
                serviceId: U256::from(id),
            },
        )
        .await
    }

    /// The staking state (0 unstaked, 1 staked, 2 evicted).
    pub async fn staking_state(&self, net: &Devnet, id: u64) -> Result<u8, String> {
        read(
            net,
            self.staking,
            &facts::getStakingStateCall {
                serviceId: U256::from(id),
            },
        )
        .await
    }

    /// Mints a service for `who` (§5 step 1, the owner's and operator's OLAS minted and approved
    /// to the token utility first); its id.
    pub async fn mint_service(&self, net: &Devnet, who: ServiceAccounts) -> Result<u64, String> {
        let bond = U256::from(program::MIN_STAKING_DEPOSIT);
        for a in [who.owner, who.operator] {
            self.mint_olas(net, a, bond).await?;
            self.approve_olas(net, a, self.token_utility, bond).await?;
        }
        self.create_service(net, who.owner).await
    }

    /// §5 step 2: the owner activates the registration (1 wei with the token deposit).
    pub async fn activate(
        &self,
        net: &Devnet,
        who: ServiceAccounts,
        id: u64,
    ) -> Result<(), String> {
        let data = IServiceManager::activateRegistrationCall {
            serviceId: U256::from(id),
        };
        pay(net, who.owner, self.service_manager, &data, U256::from(1))
            .await
            .map(|_| ())
    }

    /// §5 step 3: the operator registers the agent instance (1 wei with the token bond).
    pub async fn register(
        &self,
        net: &Devnet,
        who: ServiceAccounts,
        id: u64,
    ) -> Result<(), String> {
        let data = IServiceManager::registerAgentsCall {
            serviceId: U256::from(id),
            agentInstances: vec![who.agent],
            agentIds: vec![program::AGENT_ID],
        };
        pay(
            net,
            who.operator,
            self.service_manager,
            &data,
            U256::from(1),
        )
        .await
        .map(|_| ())
    }

    /// §5 step 4: the owner deploys the service Safe through DevnetSafeMultisig; its address.
    pub async fn deploy_safe(
        &self,
        net: &Devnet,
        who: ServiceAccounts,
        id: u64,
    ) -> Result<Address, String> {
        let data = IServiceManager::deployCall {
            serviceId: U256::from(id),
            multisigImplementation: self.multisig_implementation,
            data: Bytes::new(),
        };
        call(net, who.owner, self.service_manager, &data).await?;
        Ok(self.service(net, id).await?.multisig)
    }

    /// §5 step 5: the owner approves the NFT to the staking program and stakes.
    pub async fn stake(&self, net: &Devnet, who: ServiceAccounts, id: u64) -> Result<(), String> {
        let approve = IServiceRegistry::approveCall {
            spender: self.staking,
            id: U256::from(id),
        };
        call(net, who.owner, self.service_registry, &approve).await?;
        let stake = IStaking::stakeCall {
            serviceId: U256::from(id),
        };
        call(net, who.owner, self.staking, &stake).await.map(|_| ())
    }

    /// A Safe 1.3.0 (a proxy of the singleton, made by the factory) owned by `owners` with
    /// `threshold` and the `CompatibilityFallbackHandler`, created from `from`: a Master Safe.
    /// Its address.
    pub async fn create_safe(
        &self,
        net: &Devnet,
        from: Address,
        owners: Vec<Address>,
        threshold: u64,
        salt: u64,
    ) -> Result<Address, String> {
        let setup = ISafe::setupCall {
            _owners: owners,
            _threshold: U256::from(threshold),
            to: Address::ZERO,
            data: Bytes::new(),
            // As the middleware makes a Master Safe: it can then own a service's NFT.
            fallbackHandler: crate::config::FALLBACK_HANDLER,
            paymentToken: Address::ZERO,
            payment: U256::ZERO,
            paymentReceiver: Address::ZERO,
        };
        let data = IProxyFactory::createProxyWithNonceCall {
            _singleton: self.safe_singleton,
            initializer: setup.abi_encode().into(),
            saltNonce: U256::from(salt),
        };
        let receipt = call(net, from, self.proxy_factory, &data).await?;
        // ProxyCreation(address proxy, address singleton): the proxy is the first data word.
        receipt["logs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| {
                l["address"]
                    .as_str()
                    .and_then(|a| a.parse::<Address>().ok())
                    == Some(self.proxy_factory)
            })
            .and_then(|l| l["data"].as_str())
            .and_then(|d| alloy::primitives::hex::decode(d).ok())
            .and_then(|b| b.get(12..32).map(Address::from_slice))
            .ok_or_else(|| "createProxyWithNonce: no ProxyCreation log".to_owned())
    }

    /// Moves the devnet's clock `secs` forward and mines a block (`evm_increaseTime`).
    pub async fn advance_time(&self, net: &Devnet, secs: u64) -> Result<(), String> {
        let ep = net.endpoint()?;
        ep.request::<_, Value>("evm_increaseTime", (secs,))
            .await
            .map_err(|e| format!("evm_increaseTime: {e}"))?;
        ep.request::<_, Value>("evm_mine", ())
            .await
            .map_err(|e| format!("evm_mine: {e}"))?;
        Ok(())
    }

    /// Anyone's `checkpoint()` (rewards, evictions).
    pub async fn checkpoint(&self, net: &Devnet) -> Result<(), String> {
        let data = IStaking::checkpointCall {};
        call(net, self.deployer, self.staking, &data)
            .await
            .map(|_| ())
    }

    /// The staker's `unstake` (the NFT goes back to the owner).
    pub async fn unstake(&self, net: &Devnet, who: ServiceAccounts, id: u64) -> Result<(), String> {
        let data = IStaking::unstakeCall {
            serviceId: U256::from(id),
        };
        call(net, who.owner, self.staking, &data).await.map(|_| ())
    }

    /// The owner's `terminate` (state 5 with the instance still bonded).
    pub async fn terminate(
        &self,
        net: &Devnet,
        who: ServiceAccounts,
        id: u64,
    ) -> Result<(), String> {
        let data = IServiceManager::terminateCall {
            serviceId: U256::from(id),
        };
        call(net, who.owner, self.service_manager, &data)
            .await
            .map(|_| ())
    }

    /// Mints a service for `who` and takes it through §5 steps 1–5: created, registration
    /// activated, the agent registered, its Safe deployed through DevnetSafeMultisig, staked.
    /// The service id and its Safe.
    pub async fn mint_and_stake(
        &self,
        net: &Devnet,
        who: ServiceAccounts,
    ) -> Result<(u64, Address), String> {
        let id = self.mint_service(net, who).await?;
        self.activate(net, who, id).await?;
        self.register(net, who, id).await?;
        let safe = self.deploy_safe(net, who, id).await?;
        self.stake(net, who, id).await?;
        Ok((id, safe))
    }
}
