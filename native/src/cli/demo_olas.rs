//! `tend demo --olas`: the demo on the real Olas contracts. One anvil devnet (chain 100, the
//! gnosis entry of the Olas tables) gets the registry, staking and Safe stack of the
//! `open-autonomy` wheel ([`crate::devnet::olas`]); a service is minted, its agent registered,
//! its Safe deployed and the service staked (owner and operator are anvil's accounts 8 and 7, the
//! agent is dev account 1). tend then supervises the agent and keeps the agent EOA and the
//! service Safe funded, with the service's Olas description for its funding report.

#![allow(clippy::print_stderr)] // the demo talks to the person at the terminal

use std::fmt::Write as _;
use std::path::Path;

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;

use crate::cli::Failure;
use crate::cli::demo::{AgentMode, Setup, agent_service, exe_toml, head};
use crate::devnet::olas::{self, ServiceAccounts};
use crate::devnet::{DEV_KEYS, Devnet, find_or_install_anvil};

/// The Olas demo's devnet, stack, service and config.
pub(super) async fn setup(dir: &Path, api_port: u16) -> Result<Setup, Failure> {
    let tools = dir.join("tools");
    let anvil = find_or_install_anvil(&tools).map_err(Failure::io)?;
    let wheel = olas::find_or_fetch_wheel(&tools).map_err(Failure::io)?;
    let handler = crate::devnet::fallback::find_or_fetch(&tools).map_err(Failure::io)?;
    eprintln!("starting an anvil devnet (chain 100) and deploying the Olas contracts …");
    // Automine while deploying (about 40 transactions), then 1-second blocks.
    let net = Devnet::start(&anvil, 100, 0, &dir.join("anvil-100.log"))
        .await
        .map_err(Failure::io)?;
    let stack = olas::deploy(&net, &wheel, &handler)
        .await
        .map_err(Failure::io)?;
    let agent: PrivateKeySigner = DEV_KEYS[1]
        .parse()
        .map_err(|_| Failure::io("bad dev key"))?;
    let who = ServiceAccounts {
        agent: agent.address(),
        ..ServiceAccounts::of_devnet(&net)
            .await
            .map_err(Failure::io)?
    };
    let (id, safe) = stack.mint_and_stake(&net, who).await.map_err(Failure::io)?;
    // The operator's Master Safe pays the top-ups; the funding key owns it and pays the gas.
    let funder: PrivateKeySigner = DEV_KEYS[0]
        .parse()
        .map_err(|_| Failure::io("bad dev key"))?;
    let master = stack
        .create_safe(&net, stack.deployer, vec![funder.address()], 1, 0x5afe)
        .await
        .map_err(Failure::io)?;
    net.set_balance(master, U256::from(50_000_000_000_000_000_000u128))
        .await
        .map_err(Failure::io)?;
    net.endpoint()
        .map_err(Failure::io)?
        .request::<_, serde_json::Value>("evm_setIntervalMining", (1,))
        .await
        .map_err(|e| Failure::io(format!("evm_setIntervalMining: {e}")))?;
    net.set_balance(agent.address(), U256::from(60_000_000_000_000_000u128))
        .await
        .map_err(Failure::io)?;

    let mut toml = head(
        dir,
        api_port,
        "one anvil devnet with the Olas contracts and a staked service",
    )?;
    let _ = write!(
        toml,
        "# ServiceRegistryL2 {}, ServiceManagerToken {}, StakingToken {},\n\
         # OLAS (stand-in) {}, Safe 1.3.0 {}, MultiSend {}.\n\
         [[chains]]\nchain = 100\nrpc = [\"{}\"]\nconfirmations = 2\npoll_ms = 2000\nmax_fee = \"100 gwei\"\n\
         # The devnet's registries (a real chain needs no entry: the middleware's addresses).\n\
         olas = {{ service_registry = \"{}\", token_utility = \"{}\" }}\n\
         # Top-ups come from this Master Safe (owned by the funding key, which pays the gas):\n\
         # one Safe transaction per round, a MultiSend when two or more are due.\n\
         safe = \"{master}\"\nmultisend = \"{}\"\n\n",
        stack.service_registry,
        stack.service_manager,
        stack.staking,
        stack.olas,
        stack.safe_singleton,
        stack.multisend,
        net.url,
        stack.service_registry,
        stack.token_utility,
        stack.multisend,
    );
    toml.push_str(&agent_service(
        &exe_toml()?,
        "olas-service",
        AgentMode::Healthy,
        DEV_KEYS[1],
        &[&net.url],
    )?);
    let _ = write!(
        toml,
        "[[services.wallets]]\nchain = 100\naddress = \"{}\"\nlow = \"0.05 ether\"\ntarget = \"0.2 ether\"\n\n\
         [[services.wallets]]\nchain = 100\naddress = \"{safe}\"\nlow = \"0.5 ether\"\ntarget = \"1 ether\"\n\n\
         # The service's facts (its Safe, agents, bond, staking) are read from the registries.\n\
         [services.olas.registry]\nchain = 100\nservice_id = {id}\nstaking = \"{}\"\n\
         [services.olas.service]\nservice_config_id = \"sc-devnet-{id}\"\nagent_addresses = []\n\
         [services.olas.service.chains.gnosis]\n\
         [services.olas.service.chains.gnosis.fund_requirements.\"0x0000000000000000000000000000000000000000\"]\n\
         agent = \"200000000000000000\"\nsafe = \"1000000000000000000\"\n\n",
        agent.address(),
        stack.staking,
    );
    let banner = format!(
        "Olas service {id} is minted, deployed and staked on chain 100 ({}): its Safe {safe}, its \
         agent {}.\ntend is supervising the agent and funding the agent EOA and the service Safe from the \
         Master Safe {master}.",
        net.url,
        agent.address()
    );
    Ok(Setup {
        nets: vec![net],
        toml,
        banner,
    })
}
