//! The Safe 1.3.0 `CompatibilityFallbackHandler` on a devnet, at the address the middleware gives
//! every Master Safe (`0xf48f…e5e4`): a Safe that owns a service needs it, because the
//! registry's `_safeMint` and the staking program's NFT return call `onERC721Received` on the
//! owner (`shared/domain/olas-onchain.md` §11, gotcha 12). Its build comes from npm
//! `@gnosis.pm/safe-contracts@1.3.0` (GPL-3.0; fetched with `npm pack`, never vendored).

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, Bytes, keccak256};
use serde_json::Value;

use super::Devnet;

/// The npm package with the handler's build.
pub const SAFE_CONTRACTS: &str = "@gnosis.pm/safe-contracts@1.3.0";
/// The handler's build inside the package's tarball.
const ARTIFACT: &str = "package/build/artifacts/contracts/handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json";
/// `npm pack`'s file name for the package.
const TARBALL: &str = "gnosis.pm-safe-contracts-1.3.0.tgz";
/// keccak256 of the handler's creation code in that build: a different file is refused.
const CREATION_CODE_HASH: &str =
    "0x272190de126b4577e187d9f00b9ca5daeae76d771965d734876891a51f9c43d8";

/// Finds the handler's build: `$TEND_SAFE_HANDLER` (the JSON file), or
/// `<tools>/safe-contracts-1.3.0/CompatibilityFallbackHandler.json`; else fetches the package
/// with `npm pack` and keeps that one file there. The error says what to install or set.
#[allow(clippy::print_stderr)] // a person waits for the download: say why it takes a while
pub fn find_or_fetch(tools: &Path) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TEND_SAFE_HANDLER") {
        return Ok(PathBuf::from(p));
    }
    let dir = tools.join("safe-contracts-1.3.0");
    let file = dir.join("CompatibilityFallbackHandler.json");
    if file.is_file() {
        return Ok(file);
    }
    eprintln!(
        "fetching the Safe fallback handler ({SAFE_CONTRACTS} from npm) into {} …",
        dir.display()
    );
    let download = super::download_dir(tools, "safe-contracts-download")?;
    let fix = format!(
        "install Node.js (npm) and tar, or set TEND_SAFE_HANDLER to \
         CompatibilityFallbackHandler.json of {SAFE_CONTRACTS}"
    );
    super::run_tool(
        "npm",
        &[
            "pack".as_ref(),
            "--silent".as_ref(),
            "--pack-destination".as_ref(),
            download.as_os_str(),
            SAFE_CONTRACTS.as_ref(),
        ],
        &format!("fetch {SAFE_CONTRACTS}"),
        &fix,
    )?;
    super::run_tool(
        "tar",
        &[
            "-xzf".as_ref(),
            download.join(TARBALL).as_os_str(),
            "-C".as_ref(),
            download.as_os_str(),
            ARTIFACT.as_ref(),
        ],
        "unpack the handler's build",
        &fix,
    )?;
    creation_code(&download.join(ARTIFACT))?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if let Err(e) = std::fs::rename(download.join(ARTIFACT), &file)
        && !file.is_file()
    {
        return Err(format!(
            "cannot move the handler into {}: {e}",
            dir.display()
        ));
    }
    let _ = std::fs::remove_dir_all(&download);
    Ok(file)
}

/// The handler's creation code from its build, checked against the known hash.
fn creation_code(path: &Path) -> Result<Vec<u8>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    let code = v["bytecode"]
        .as_str()
        .and_then(|h| alloy::primitives::hex::decode(h).ok())
        .ok_or_else(|| format!("{} has no hex \"bytecode\"", path.display()))?;
    let hash = keccak256(&code).to_string();
    if hash != CREATION_CODE_HASH {
        return Err(format!(
            "{} is not CompatibilityFallbackHandler 1.3.0 (creation code hash {hash}): fetch \
             {SAFE_CONTRACTS} again",
            path.display()
        ));
    }
    Ok(code)
}

/// Deploys the handler from `deployer` and puts its code at `at` (the middleware's address),
/// where Safes made with it as their fallback handler find it.
pub async fn install(
    net: &Devnet,
    deployer: Address,
    artifact: &Path,
    at: Address,
) -> Result<(), String> {
    let code = creation_code(artifact)?;
    let contract =
        super::olas::create(net, deployer, code, "deploy CompatibilityFallbackHandler").await?;
    let ep = net.endpoint()?;
    let runtime: Bytes = ep
        .request("eth_getCode", (contract, "latest"))
        .await
        .map_err(|e| format!("eth_getCode: {e}"))?;
    ep.request::<_, Value>("anvil_setCode", (at, runtime))
        .await
        .map_err(|e| format!("anvil_setCode: {e}"))?;
    Ok(())
}
