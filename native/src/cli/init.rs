//! `tend init` (writes the commented example `tend.toml`) and `tend config check` (validates
//! one and summarises it).

use std::fmt::Write as _;
use std::path::Path;

use crate::chain::keys::{self, KeyError};
use crate::cli::{Failure, InitArgs};
use crate::config::{self, Config};

/// `tend init`.
pub fn init(args: &InitArgs) -> Result<String, Failure> {
    if args.path.exists() && !args.force {
        return Err(Failure::invalid(format!(
            "{} exists: pass --force to overwrite it",
            args.path.display()
        )));
    }
    std::fs::write(&args.path, config::EXAMPLE)
        .map_err(|e| Failure::io(format!("cannot write {}: {e}", args.path.display())))?;
    Ok(format!(
        "wrote {}: edit it, then `tend config check --config {}`\n",
        args.path.display(),
        args.path.display()
    ))
}

/// `tend config check`: the file, the funding key, and each Olas service's registry identity
/// (when its chain answers).
pub async fn check(path: &Path) -> Result<String, Failure> {
    let mut s = check_offline(path)?;
    let c = Config::load(path)?;
    if c.engine.chains.iter().any(|ch| ch.safe.is_some()) {
        let endpoints = crate::chain::rpc::endpoints_of(&c).map_err(Failure::io)?;
        // The other owners' keys, when their variables are at hand.
        let owners = match crate::chain::safe::owner_keys(&c) {
            Ok(o) => Some(o),
            Err(e) => {
                let _ = writeln!(
                    s,
                    "  funding Safe signers not checked: {e} (`tend run` needs them)"
                );
                None
            }
        };
        let mut wrong = Vec::new();
        for (chain, source, checked) in
            crate::chain::safe::check_safes(&c, &endpoints, owners.as_ref()).await
        {
            match checked {
                Ok(f) => {
                    let _ = writeln!(
                        s,
                        "  funding Safe on chain {chain}: {} (Safe {}, {} of {} owners, nonce {}); the funding key pays its gas",
                        source.address,
                        f.version,
                        f.threshold,
                        f.owners.len(),
                        f.nonce
                    );
                }
                Err(e) if e.is_config() => wrong.push(e.to_string()),
                Err(e) => {
                    let _ = writeln!(s, "  funding Safe not checked: {e}");
                }
            }
        }
        if !wrong.is_empty() {
            return Err(Failure::invalid(format!(
                "{}: {}",
                path.display(),
                wrong.join("; ")
            )));
        }
    }
    if c.services
        .iter()
        .any(|s| s.olas.as_ref().is_some_and(|o| o.registry.is_some()))
    {
        let endpoints = crate::chain::rpc::endpoints_of(&c).map_err(Failure::io)?;
        let problems = crate::chain::olas::check_registries(&c, &endpoints).await;
        let wrong: Vec<&str> = problems
            .iter()
            .filter(|(ours, _)| *ours)
            .map(|(_, m)| m.as_str())
            .collect();
        if !wrong.is_empty() {
            return Err(Failure::invalid(format!(
                "{}: {}",
                path.display(),
                wrong.join("; ")
            )));
        }
        if problems.is_empty() {
            let _ = writeln!(s, "  Olas services: found in their registries");
        }
        for (_, m) in &problems {
            let _ = writeln!(s, "  Olas registry not checked: {m}");
        }
    }
    Ok(s)
}

/// What `tend config check` checks without a chain.
fn check_offline(path: &Path) -> Result<String, Failure> {
    let c = Config::load(path)?;
    let mut s = format!(
        "{}: ok — {} chain(s), {} service(s), {} wallet(s) to keep funded; funder {}\n",
        path.display(),
        c.chains.len(),
        c.services.len(),
        c.engine
            .services
            .iter()
            .map(|s| s.wallets.len())
            .sum::<usize>(),
        c.funder
    );
    for ch in &c.chains {
        let urls: Vec<String> = ch.rpc.iter().map(ToString::to_string).collect();
        let _ = writeln!(s, "  chain {}: {}", ch.chain, urls.join(", "));
    }
    let _ = writeln!(s, "  funding key: {}", check_key(&c)?);
    Ok(s)
}

/// Tries the funding key when its password (or the key) is at hand: a wrong password or a key
/// of another address fails the check; a missing one is said, since `tend run` needs it.
fn check_key(c: &Config) -> Result<String, Failure> {
    match keys::load(&c.key, c.funder) {
        Ok(_) => Ok(format!("decrypts and is {}", c.funder)),
        Err(e @ (KeyError::PasswordEnvMissing(_) | KeyError::PasswordFile { .. })) => Ok(format!(
            "not checked, the keystore password is not at hand ({e}); `tend run` needs it"
        )),
        Err(
            e @ KeyError::EnvKey {
                problem: "not set", ..
            },
        ) => Ok(format!("not checked ({e}); `tend run` needs it")),
        Err(e) => Err(Failure::invalid(format!(
            "{}: the funding key is unusable: {e}",
            c.path.display()
        ))),
    }
}
