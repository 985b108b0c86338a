//! Tests of `tend.toml` parsing and validation.

use super::*;

const FUNDER: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

fn base() -> String {
    format!(
        "[funder]\nprivate_key_env = \"K\"\naddress = \"{FUNDER}\"\n\n[[chains]]\nchain = \"gnosis\"\nrpc = [\"http://127.0.0.1:8545\"]\n\n\
         [[services]]\nname = \"a\"\ncommand = [\"agent\"]\n[[services.wallets]]\nchain = 100\naddress = \"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC\"\nlow = \"1 ether\"\ntarget = \"2 ether\"\n"
    )
}

fn err(text: &str) -> String {
    Config::parse(Path::new("/x/tend.toml"), text)
        .unwrap_err()
        .to_string()
}

#[test]
fn a_good_config_becomes_the_engine_config() {
    let c = Config::parse(Path::new("/x/tend.toml"), &base()).unwrap();
    assert_eq!(c.home, Path::new("/x/.tend"));
    assert_eq!(c.engine.chains[0].chain, ChainId(100));
    assert_eq!(c.engine.chains[0].funder, c.funder);
    assert_eq!(
        c.engine.services[0].wallets[0].target,
        U256::from(2_000_000_000_000_000_000u128)
    );
    assert_eq!(c.api_listen, DEFAULT_API_LISTEN.parse().ok());
}

#[test]
fn the_example_parses() {
    let c = Config::parse(Path::new("/x/tend.toml"), EXAMPLE).unwrap();
    assert_eq!(c.services[0].command[0], "python");
    assert!(matches!(c.key, KeySource::Keystore { .. }));
    assert_eq!(c.engine.chains[0].fees.max_fee_cap, 50_000_000_000);
}

#[test]
fn errors_name_the_key_and_the_line() {
    let cases: Vec<(String, &[&str])> = vec![
        (base().replace("rpc = [", "rpcs = ["), &["rpcs", "line 7"]),
        (
            base().replace("chain = \"gnosis\"", "chain = \"narnia\""),
            &["narnia", "line 6"],
        ),
        (
            base().replace("low = \"1 ether\"", "low = \"1 btc\""),
            &["unknown unit", "line 15"],
        ),
        (
            base().replace("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x3C44"),
            &["line 14"],
        ),
        (
            base().replace("chain = 100", "chain = 8453"),
            &["no [[chains]] entry", ":14:"],
        ),
        (
            base().replace("command = [\"agent\"]", "command = []"),
            &["must name the program", ":11:"],
        ),
        (
            format!(
                "{}{}",
                base(),
                "[[services]]\nname = \"a\"\ncommand = [\"x\"]\n"
            ),
            &["configured twice", ":18:"],
        ),
        (
            base().replace("low = \"1 ether\"", "low = \"3 ether\""),
            &["low (3 ether) is above target (2 ether)", ":15:"],
        ),
        (
            base().replace("command = [\"agent\"]", "health_url = \"http://x\""),
            &["health_url is about an agent", "no command", ":10:"],
        ),
        (
            base().replace("rpc = [", "max_in_flight = 0\nrpc = ["),
            &["max_in_flight must be at least 1", ":6:"],
        ),
        (
            base().replace("private_key_env = \"K\"", "keystore = \"k.json\""),
            &["password_env or password_file", ":2:"],
        ),
        (
            base().replace(
                "http://127.0.0.1:8545",
                "ws://node/v3/9aa3d95b3bc440fa88ea12eaa4456161",
            ),
            &["http://", ":7:"],
        ),
    ];
    for (text, wants) in cases {
        let e = err(&text);
        for w in wants {
            assert!(e.contains(w), "{w:?} not in {e:?}");
        }
        assert!(!e.contains("9aa3d95b3bc4"), "a key leaked: {e}");
    }
}

#[test]
fn a_service_without_a_command_only_keeps_its_wallets_funded() {
    let text = base().replace("command = [\"agent\"]\n", "");
    let c = Config::parse(Path::new("/x/tend.toml"), &text).unwrap();
    assert!(!c.services[0].has_agent());
    assert!(!c.engine.services[0].autostart, "nothing to start");
    assert_eq!(c.engine.services[0].wallets.len(), 1);
}

#[test]
fn an_olas_registry_identity_needs_known_contracts_and_its_chain_table() {
    let local = base()
        .replace("chain = \"gnosis\"", "chain = 31337")
        .replace("chain = 100", "chain = 31337");
    let olas = "[services.olas.registry]\nchain = 31337\nservice_id = 4\n\
                [services.olas.service]\nservice_config_id = \"sc\"\nagent_addresses = []\n\
                [services.olas.service.chains.31337]\nfund_requirements = {}\n";
    let e = err(&format!("{local}{olas}"));
    assert!(
        e.contains("contract addresses of chain 31337 are unknown"),
        "{e}"
    );
    // With the chain's override (a devnet on chain 100) it loads, the facts left to the
    // registry.
    let olas = olas
        .replace("chain = 31337", "chain = 100")
        .replace("chains.31337", "chains.gnosis");
    let with = base().replace(
        "rpc = [",
        "olas = { service_registry = \"0x00000000000000000000000000000000000000a1\", token_utility = \"0x00000000000000000000000000000000000000a2\" }\nrpc = [",
    );
    let c = Config::parse(Path::new("/x/tend.toml"), &format!("{with}{olas}")).unwrap();
    let r = c.services[0].olas.as_ref().unwrap().registry.unwrap();
    assert_eq!((r.service_id, r.agent_id), (4, 1));
    assert_eq!(r.contracts.token_utility, Address::with_last_byte(0xa2));
    // A known chain uses the middleware's addresses; a missing chain table is named.
    let gnosis = "[services.olas.registry]\nchain = \"gnosis\"\nservice_id = 4\n\
                  [services.olas.service]\nservice_config_id = \"sc\"\nagent_addresses = []\nchains = {}\n";
    let e = err(&format!("{}{gnosis}", base()));
    assert!(
        e.contains("[services.olas.service.chains.gnosis] is missing"),
        "{e}"
    );
    let zero = olas.replace("service_id = 4", "service_id = 0");
    let e = err(&format!("{with}{zero}"));
    assert!(e.contains("service_id must be 1 or more"), "{e}");
}

#[test]
fn a_target_needs_its_program_its_contracts_and_a_funding_key_that_sends() {
    let with = base().replace(
        "rpc = [",
        "olas = { service_registry = \"0x00000000000000000000000000000000000000a1\", token_utility = \"0x00000000000000000000000000000000000000a2\", multisig_implementation = \"0x00000000000000000000000000000000000000a3\" }\nrpc = [",
    );
    let olas = |extra: &str| {
        format!(
            "[services.olas.registry]\nchain = 100\nservice_id = 4\n{extra}\n\
             [services.olas.service]\nservice_config_id = \"sc\"\nagent_addresses = []\n\
             [services.olas.service.chains.gnosis]\nfund_requirements = {{}}\n"
        )
    };
    let c = Config::parse(
        Path::new("/x/tend.toml"),
        &format!("{with}{}", olas("target = \"deployed\"")),
    )
    .unwrap();
    let l = c.services[0]
        .olas
        .as_ref()
        .unwrap()
        .registry
        .unwrap()
        .lifecycle
        .unwrap();
    assert_eq!(l.target, Some(OlasTarget::Deployed));
    assert_eq!(
        l.multisig_implementation,
        Some(Address::with_last_byte(0xa3))
    );
    assert_eq!(l.fallback_handler, FALLBACK_HANDLER);
    // Gnosis's RecoveryModule is the middleware's.
    assert_eq!(
        l.recovery_module,
        tend_core::chain::Chain::Gnosis
            .protocol_contracts()
            .recovery_module
    );
    let e = err(&format!("{with}{}", olas("target = \"parked\"")));
    assert!(
        e.contains("parked") && e.contains("deployed_and_staked"),
        "{e}"
    );
    let e = err(&format!(
        "{with}{}",
        olas("target = \"deployed_and_staked\"")
    ));
    assert!(e.contains("needs registry.staking"), "{e}");
    let safe = with.replace(
        "rpc = [",
        "safe = \"0x00000000000000000000000000000000000000b1\"\nrpc = [",
    );
    // A chain that pays from a Safe: the Safe owns the services tend drives there.
    let c = Config::parse(
        Path::new("/x/tend.toml"),
        &format!("{safe}{}", olas("target = \"deployed\"")),
    )
    .unwrap();
    assert_eq!(
        c.lifecycle_owner(ChainId(100)),
        "0x00000000000000000000000000000000000000b1"
            .parse::<Address>()
            .unwrap()
    );
    let c = Config::parse(Path::new("/x/tend.toml"), &format!("{with}{}", olas(""))).unwrap();
    assert_eq!(c.lifecycle_owner(ChainId(100)), c.funder);
}

#[test]
fn a_chain_caps_its_transactions_in_flight() {
    let text = base().replace("rpc = [", "max_in_flight = 3\nrpc = [");
    let c = Config::parse(Path::new("/x/tend.toml"), &text).unwrap();
    assert_eq!(c.engine.chains[0].nonce.max_in_flight, 3);
}

/// Errors about the funding key name the key's own line, not the line before the table.
#[test]
fn key_errors_point_at_the_key() {
    let text = format!(
        "# a comment\n\n{}",
        base().replace(
            "private_key_env = \"K\"\naddress",
            "# the key\nkeystore = \"/nonexistent/k.json\"\npassword_env = \"P\"\n#address"
        )
    );
    let e = err(&text);
    assert!(
        e.contains("/x/tend.toml:5:") && e.contains("cannot read keystore"),
        "{e}"
    );
    let text = format!("\n\n{}", base().replacen("address = ", "#address = ", 1));
    let e = err(&text);
    assert!(e.contains(":4:") && e.contains("funder.address"), "{e}");
    // A table's own line: the header.
    let text = format!("\n{}", base().replace("private_key_env = \"K\"\n", ""));
    let e = err(&text);
    assert!(e.contains(":2:") && e.contains("give keystore"), "{e}");
}

#[test]
fn an_olas_description_is_checked_with_the_snapshot_rules() {
    let olas = "[services.olas.service]\nservice_config_id = \"sc\"\nagent_addresses = [\"0x12\"]\n\
                [services.olas.service.chains.gnosis]\ntoken = 1\ncost_of_bond = \"1\"\nfund_requirements = {}\n";
    let e = err(&format!("{}{olas}", base()));
    assert!(
        e.contains("[services.olas]") && e.contains("agent_addresses") && e.contains(":17:"),
        "{e}"
    );
    let good = olas.replace("0x12", FUNDER);
    let c = Config::parse(Path::new("/x/tend.toml"), &format!("{}{good}", base())).unwrap();
    assert!(c.services[0].olas.is_some());
    let e = err(&format!(
        "{}{}",
        base(),
        good.replace("chains.gnosis", "chains.base")
    ));
    assert!(e.contains("chain base has no [[chains]] entry"), "{e}");
}

proptest::proptest! {
    #[test]
    fn no_text_panics_the_parser(text in ".{0,400}") {
        let _ = Config::parse(Path::new("tend.toml"), &text);
    }

    #[test]
    fn no_mutation_of_a_good_config_panics(pos in 0usize..400, byte in proptest::prelude::any::<u8>()) {
        let mut b = base().into_bytes();
        let p = pos % b.len();
        b[p] = byte;
        let text = String::from_utf8_lossy(&b);
        let _ = Config::parse(Path::new("tend.toml"), &text);
    }

    #[test]
    fn amounts_never_panic(text in ".{0,40}") {
        let _ = parse_amount(&text);
    }
}

#[test]
fn amounts_with_units() {
    assert_eq!(
        parse_amount("1.5 ether").unwrap(),
        U256::from(1_500_000_000_000_000_000u128)
    );
    assert_eq!(
        parse_amount("20 gwei").unwrap(),
        U256::from(20_000_000_000u64)
    );
    assert_eq!(parse_amount("123").unwrap(), U256::from(123));
    assert_eq!(
        parse_amount(".5 eth").unwrap(),
        U256::from(500_000_000_000_000_000u128)
    );
    for bad in [
        "",
        "1.5",
        "-1 ether",
        "1.0000000001 gwei",
        "1 btc",
        "1e18",
        " ether",
        ". ether",
    ] {
        assert!(parse_amount(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_funding_safe_is_a_chain_key_with_its_multisend() {
    let safe = "0x1705e088CED530F5078833EaE0a137E88179b673";
    let with = |keys: &str| {
        base().replace(
            "rpc = [\"http://127.0.0.1:8545\"]\n",
            &format!("rpc = [\"http://127.0.0.1:8545\"]\n{keys}\n"),
        )
    };
    let c = Config::parse(
        Path::new("/x/tend.toml"),
        &with(&format!("safe = \"{safe}\"")),
    )
    .unwrap();
    let s = c.engine.chains[0].safe.unwrap();
    assert_eq!(s.address, safe.parse::<Address>().unwrap());
    assert_eq!(s.multisend, tend_core::engine::MULTISEND_1_3_0);
    let c = Config::parse(
        Path::new("/x/tend.toml"),
        &with(&format!("safe = \"{safe}\"\nmultisend = \"{FUNDER}\"")),
    )
    .unwrap();
    assert_eq!(c.engine.chains[0].safe.unwrap().multisend, c.funder);
    // Bad inputs: each names the key and its line.
    for (keys, says) in [
        (format!("multisend = \"{safe}\""), "give safe = "),
        (
            format!("safe = \"{FUNDER}\""),
            "safe is the funding key's own address",
        ),
        ("safe = \"0x1705\"".to_owned(), "line 8"),
        ("safe = 7".to_owned(), "line 8"),
        ("safe_owner_keys_env = [\"K2\"]".to_owned(), "give safe = "),
        (
            format!("safe = \"{safe}\"\nsafe_owner_keys_env = [\"K2=0xabc\"]"),
            "environment variable names",
        ),
    ] {
        let e = err(&with(&keys));
        assert!(e.contains(says), "{keys}: {e}");
    }
    // A wallet that is the Safe itself.
    let e = err(&with(
        "safe = \"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC\"",
    ));
    assert!(e.contains("funding Safe"), "{e}");
}
