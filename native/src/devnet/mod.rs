//! Local devnets for the demo, the tests and the benchmarks: anvil found or installed from npm,
//! started on a free loopback port with Multicall3 installed, killed when dropped; [`olas`]: the
//! real Olas contracts deployed on one.

pub mod fallback;
pub mod olas;
mod olas_abi;

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::{Address, Bytes, U256};

use crate::chain::rpc::{Endpoint, MULTICALL3};
use crate::secret::RpcUrl;

/// The anvil npm package and version the demo installs.
pub const ANVIL_PACKAGE: &str = "@foundry-rs/anvil-linux-amd64@1.7.1";

/// Multicall3's runtime code (as deployed on Ethereum mainnet), hex without `0x`.
pub const MULTICALL3_RUNTIME: &str = include_str!("../../assets/multicall3.runtime.hex");

/// anvil's well-known dev keys (public test keys; they hold value only on local devnets).
pub const DEV_KEYS: [&str; 4] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];

/// Finds anvil: `$TEND_ANVIL`, the demo's tools folder, or `PATH`; installs it from npm into
/// the tools folder when none is found. The error says what to install or set.
#[allow(clippy::print_stderr)] // a person waits for the install: say why it takes a while
pub fn find_or_install_anvil(tools: &Path) -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("TEND_ANVIL") {
        return Ok(PathBuf::from(p));
    }
    let local = tools.join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    if local.is_file() {
        return Ok(local);
    }
    if let Some(p) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("anvil"))
            .find(|p| p.is_file())
    }) {
        return Ok(p);
    }
    eprintln!(
        "installing anvil ({ANVIL_PACKAGE}) into {} …",
        tools.display()
    );
    std::fs::create_dir_all(tools)
        .map_err(|e| format!("cannot create {}: {e}", tools.display()))?;
    let status = std::process::Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(tools)
        .arg(ANVIL_PACKAGE)
        .status()
        .map_err(|e| {
            format!(
                "cannot run npm to install anvil ({e}): install Node.js, or set TEND_ANVIL to an anvil binary"
            )
        })?;
    if !status.success() || !local.is_file() {
        return Err(format!(
            "npm could not install {ANVIL_PACKAGE}; set TEND_ANVIL to an anvil binary"
        ));
    }
    Ok(local)
}

/// A fresh private folder `<parent>/<prefix>-<pid>-<n>` for one download: fetches at the same
/// time (tests in threads of one process, or in several processes) never share a half-written
/// file; whoever moves a finished result into place first wins.
pub(crate) fn download_dir(parent: &Path, prefix: &str) -> Result<PathBuf, String> {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = parent.join(format!("{prefix}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Runs a fetching tool (`program args`, no stdin) to `what`; when it cannot run or fails, the
/// error ends with `fix` (what to install or set).
pub(crate) fn run_tool(
    program: &str,
    args: &[&std::ffi::OsStr],
    what: &str,
    fix: &str,
) -> Result<(), String> {
    let status = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {program} to {what} ({e}): {fix}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} could not {what}; {fix}"))
    }
}

/// A free loopback port.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// An anvil devnet owned by the caller: killed when dropped.
#[derive(Debug)]
pub struct Devnet {
    /// Its chain id.
    pub chain: u64,
    /// Its URL.
    pub url: String,
    child: std::process::Child,
}

impl Devnet {
    /// Starts anvil on a free port with 1-second blocks (`block_time` 0: automine), waits until
    /// it answers, and installs Multicall3.
    pub async fn start(
        anvil: &Path,
        chain: u64,
        block_time: u64,
        log: &Path,
    ) -> Result<Self, String> {
        let port = free_port().map_err(|e| e.to_string())?;
        let log = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut cmd = std::process::Command::new(anvil);
        cmd.args([
            "--port",
            &port.to_string(),
            "--chain-id",
            &chain.to_string(),
        ])
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .stdin(std::process::Stdio::null());
        if block_time > 0 {
            cmd.args(["--block-time", &block_time.to_string()]);
        }
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start anvil {}: {e}", anvil.display()))?;
        let url = format!("http://127.0.0.1:{port}");
        let net = Self { chain, url, child };
        let ep = net.endpoint()?;
        let mut ready = false;
        for _ in 0..100 {
            if ep.chain_id().await.is_ok() {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !ready {
            return Err(format!("anvil on {} did not answer within 10 s", net.url));
        }
        let code = Bytes::from(
            alloy::primitives::hex::decode(MULTICALL3_RUNTIME.trim()).map_err(|e| e.to_string())?,
        );
        ep.request::<_, serde_json::Value>("anvil_setCode", (MULTICALL3, code))
            .await
            .map_err(|e| format!("anvil_setCode: {e}"))?;
        Ok(net)
    }

    /// An endpoint for it.
    pub fn endpoint(&self) -> Result<Endpoint, String> {
        Endpoint::new(RpcUrl::parse(&self.url)?, true)
    }

    /// Sets a balance (`anvil_setBalance`).
    pub async fn set_balance(&self, who: Address, wei: U256) -> Result<(), String> {
        self.endpoint()?
            .request::<_, serde_json::Value>("anvil_setBalance", (who, wei))
            .await
            .map(|_| ())
            .map_err(|e| format!("anvil_setBalance: {e}"))
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
