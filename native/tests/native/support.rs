//! Shared helpers: a real anvil per test, scratch homes, the real `tend` binary as a daemon.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use tend::chain::rpc::Endpoint;
use tend::devnet::{DEV_KEYS, Devnet};
use tend::secret::RpcUrl;

/// The anvil binary: `$TEND_ANVIL`, or installed once into `target/tools` (scripts/test does
/// this before the tests run).
pub fn anvil() -> PathBuf {
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools");
    tend::devnet::find_or_install_anvil(&tools)
        .unwrap_or_else(|f| panic!("these tests need anvil: {f}"))
}

/// The unpacked `open-autonomy` wheel with the Olas contracts: `$TEND_OLAS_WHEEL`, or fetched
/// once into `target/tools` (scripts/test does this before the tests run).
pub fn olas_wheel() -> PathBuf {
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools");
    tend::devnet::olas::find_or_fetch_wheel(&tools)
        .unwrap_or_else(|f| panic!("these tests need the Olas contracts: {f}"))
}

/// Safe 1.3.0's `CompatibilityFallbackHandler` build: `$TEND_SAFE_HANDLER`, or fetched once into
/// `target/tools` (tests fetching at once each use a private folder; the first kept wins).
pub fn safe_handler() -> PathBuf {
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools");
    tend::devnet::fallback::find_or_fetch(&tools)
        .unwrap_or_else(|f| panic!("these tests need the Safe fallback handler: {f}"))
}

/// A fresh scratch folder.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("native-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A devnet with automine (`block_time` 0) or timed blocks.
pub async fn devnet(dir: &Path, chain: u64, block_time: u64) -> Devnet {
    Devnet::start(
        &anvil(),
        chain,
        block_time,
        &dir.join(format!("anvil-{chain}.log")),
    )
    .await
    .unwrap()
}

/// The funder's key (anvil dev account 0).
pub fn funder() -> PrivateKeySigner {
    DEV_KEYS[0].parse().unwrap()
}

/// A recipient address that no key controls.
pub fn wallet(i: u64) -> Address {
    Address::from_word(B256::from(U256::from(0xabc0_0000u64 + i)))
}

/// An endpoint on a devnet.
pub fn ep(net: &Devnet) -> Endpoint {
    Endpoint::new(RpcUrl::parse(&net.url).unwrap(), true).unwrap()
}

/// A balance at latest.
pub async fn balance(net: &Devnet, who: Address) -> U256 {
    ep(net)
        .request("eth_getBalance", (who, "latest"))
        .await
        .unwrap()
}

/// A `[[chains]]` table.
pub fn chain_toml(net: &Devnet, extra: &str) -> String {
    format!(
        "[[chains]]\nchain = {}\nrpc = [\"{}\"]\nconfirmations = 1\npoll_ms = 300\n{extra}\n",
        net.chain, net.url
    )
}

/// A config funded by the dev key from the environment, with the API on a free port.
pub fn config_head(home: &Path) -> String {
    format!(
        "home = \"{}\"\n[api]\nlisten = \"127.0.0.1:{}\"\n[funder]\nprivate_key_env = \"TEND_TEST_KEY\"\naddress = \"{}\"\n\n",
        home.display(),
        tend::devnet::free_port().unwrap(),
        funder().address()
    )
}

/// Writes `<dir>/tend.toml` for funding only: one chain with `chain_keys` (TOML lines of its
/// table), a funding-only service (no command: no agent) holding wallets `0..n` at `low`/`target`
/// wei.
pub fn funding_config(
    dir: &Path,
    net: &Devnet,
    chain_keys: &str,
    n: u64,
    low: u128,
    target: u128,
) -> PathBuf {
    use std::fmt::Write as _;
    let mut s = format!(
        "{}[[chains]]\nchain = {}\nrpc = [\"{}\"]\n{chain_keys}\n\n\
         [[services]]\nname = \"funded\"\n",
        config_head(&dir.join("home")),
        net.chain,
        net.url
    );
    for i in 0..n {
        let _ = write!(
            s,
            "[[services.wallets]]\nchain = {}\naddress = \"{}\"\nlow = \"{low}\"\ntarget = \"{target}\"\n",
            net.chain,
            wallet(i)
        );
    }
    let path = dir.join("tend.toml");
    std::fs::write(&path, s).unwrap();
    path
}

/// Writes `<dir>/tend.toml`: [`config_head`] with the home `<dir>/home`, then `body`.
pub fn write_config(dir: &Path, body: &str) -> PathBuf {
    let config = dir.join("tend.toml");
    std::fs::write(&config, format!("{}{body}", config_head(&dir.join("home")))).unwrap();
    config
}

/// A running `tend run`, killed (SIGKILL) when dropped.
pub struct Tend {
    pub child: Child,
    pub config: PathBuf,
    pub log: PathBuf,
    /// What `tend run --record` writes.
    pub recording: PathBuf,
}

impl Tend {
    /// Starts `tend run --config <config>` with the funder key in the environment.
    pub fn start(config: &Path, log_name: &str) -> Self {
        Self::start_with(config, log_name, &[])
    }

    /// Stops it like an operator (SIGTERM) and waits.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.wait(Duration::from_secs(15));
    }

    /// `start` with extra `tend run` arguments.
    pub fn start_with(config: &Path, log_name: &str, extra: &[&str]) -> Self {
        Self::start_env(config, log_name, extra, &[])
    }

    /// `start_with` and more environment variables.
    pub fn start_env(config: &Path, log_name: &str, extra: &[&str], envs: &[(&str, &str)]) -> Self {
        let log = config.with_file_name(log_name);
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        // Every test daemon records its run (the recorder runs in every scenario); `keep`
        // replays it and can add it to the corpus.
        let recording = match extra.iter().position(|a| *a == "--record") {
            Some(i) => PathBuf::from(extra[i + 1]),
            None => config.with_file_name(format!("{log_name}.rec.jsonl")),
        };
        let child = Command::new(env!("CARGO_BIN_EXE_tend"))
            .args(["run", "--config"])
            .arg(config)
            .args(extra)
            .args(if extra.contains(&"--record") {
                Vec::new()
            } else {
                vec!["--record".into(), recording.clone().into_os_string()]
            })
            .env("TEND_TEST_KEY", DEV_KEYS[0])
            .envs(envs.iter().copied())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap();
        Self {
            child,
            config: config.to_owned(),
            log,
            recording,
        }
    }

    /// Replays this daemon's recording (stop it first) and returns the outputs. With
    /// `TEND_WRITE_CORPUS=1`, also writes it and its outputs into the replay corpus
    /// (`tests/corpus/recordings/<name>.jsonl`, `tests/corpus/golden/<name>.jsonl`).
    pub fn keep(&self, name: &str) -> String {
        let rec = self.recording.to_str().unwrap();
        let out = tend_cmd(&["replay", rec], &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let outputs = String::from_utf8(out.stdout).unwrap();
        assert!(!outputs.is_empty(), "{rec} replays to nothing");
        if std::env::var_os("TEND_WRITE_CORPUS").is_some_and(|v| v == "1") {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
            std::fs::create_dir_all(root.join("recordings")).unwrap();
            std::fs::create_dir_all(root.join("golden")).unwrap();
            std::fs::copy(
                &self.recording,
                root.join("recordings").join(format!("{name}.jsonl")),
            )
            .unwrap();
            std::fs::write(root.join("golden").join(format!("{name}.jsonl")), &outputs).unwrap();
        }
        outputs
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to exit; its code.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Tend {
    /// Stops like an operator would (SIGTERM: the daemon stops its agents), so no agent
    /// outlives the test; SIGKILL if it takes more than 10 s.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            if self.wait(Duration::from_secs(10)).is_none() {
                self.kill9();
            }
        }
    }
}

/// Polls `f` until it is true or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not within {limit:?}: {what}");
}

/// Runs the `tend` binary to completion.
pub fn tend_cmd(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tend"));
    c.args(args).stdin(Stdio::null());
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// The API token a starting daemon writes into `<home>/api-token`, once it is there.
pub async fn api_token(home: &Path) -> String {
    let file = home.join("api-token");
    eventually(Duration::from_secs(20), "the API token", || async {
        file.is_file()
    })
    .await;
    std::fs::read_to_string(&file).unwrap()
}

/// `tend status --json` of the daemon of `config` (`Null` while it does not answer).
pub fn status(config: &Path) -> serde_json::Value {
    let out = tend_cmd(
        &["status", "--json", "--config", config.to_str().unwrap()],
        &[],
    );
    if out.status.code() != Some(0) {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// Runs `tend <args>`, asserts it exits 0, and parses its JSON output.
pub fn tend_json(args: &[&str]) -> serde_json::Value {
    let out = tend_cmd(args, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "tend {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every transaction on the chain from `from`, as (to, value), by scanning all blocks.
pub async fn transactions_from(net: &Devnet, from: Address) -> Vec<(Address, U256, u64)> {
    mined_from(net, from)
        .await
        .iter()
        .map(|tx| {
            let to: Address = tx["to"].as_str().unwrap().parse().unwrap();
            let value: U256 = tx["value"].as_str().unwrap().parse().unwrap();
            let nonce =
                u64::from_str_radix(tx["nonce"].as_str().unwrap().trim_start_matches("0x"), 16)
                    .unwrap();
            (to, value, nonce)
        })
        .collect()
}

/// Every mined transaction `from` sent, in chain order, as the node returns it.
pub async fn mined_from(net: &Devnet, from: Address) -> Vec<serde_json::Value> {
    let e = ep(net);
    let head: alloy::primitives::U64 = e.request("eth_blockNumber", ()).await.unwrap();
    let mut out = Vec::new();
    for n in 0..=head.to::<u64>() {
        let b: serde_json::Value = e
            .request(
                "eth_getBlockByNumber",
                (alloy::primitives::U64::from(n), true),
            )
            .await
            .unwrap();
        for tx in b["transactions"].as_array().into_iter().flatten() {
            let f: Address = tx["from"].as_str().unwrap().parse().unwrap();
            if f == from {
                out.push(tx.clone());
            }
        }
    }
    out
}

/// The receipt of a mined transaction (as [`mined_from`] gives it) and its gas used.
pub async fn receipt_of(net: &Devnet, tx: &serde_json::Value) -> (serde_json::Value, u64) {
    let r: serde_json::Value = ep(net)
        .request("eth_getTransactionReceipt", (tx["hash"].clone(),))
        .await
        .unwrap();
    let gas = r["gasUsed"]
        .as_str()
        .and_then(|g| u64::from_str_radix(g.trim_start_matches("0x"), 16).ok())
        .unwrap_or_default();
    (r, gas)
}

/// A minimal ERC-20 (hand-assembled; no compiler on this machine): `balanceOf(owner)` reads
/// `storage[owner]`, `transfer(to, amount)` moves `amount` from the caller or reverts when the
/// caller holds less; no events, no allowances. Balances are seeded with `anvil_setStorageAt`.
///
/// ```text
/// PUSH1 0 CALLDATALOAD PUSH1 0xe0 SHR                          ; selector
/// DUP1 PUSH4 0x70a08231 EQ PUSH1 bal JUMPI
/// DUP1 PUSH4 0xa9059cbb EQ PUSH1 xfer JUMPI
/// PUSH1 0 DUP1 REVERT
/// bal:  JUMPDEST PUSH1 4 CALLDATALOAD SLOAD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
/// xfer: JUMPDEST CALLER SLOAD PUSH1 0x24 CALLDATALOAD            ; amount, balance
///       DUP1 DUP3 LT PUSH1 fail JUMPI                           ; balance < amount
///       DUP2 DUP2 SWAP1 SUB CALLER SSTORE                       ; from -= amount
///       PUSH1 4 CALLDATALOAD DUP1 SLOAD DUP3 ADD SWAP1 SSTORE    ; to += amount
///       PUSH1 1 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN          ; true
/// fail: JUMPDEST PUSH1 0 DUP1 REVERT
/// ```
pub const TOKEN_RUNTIME: &str = "60003560e01c806370a0823114601e578063a9059cbb14602b57600080fd5b6004355460005260206000f35b3354602435808210605057818190033355600435805482019055600160005260206000f35b600080fd";

/// Deploys the token at `at` and gives `holder` `amount`.
pub async fn deploy_token(net: &Devnet, at: Address, holder: Address, amount: U256) {
    let code =
        alloy::primitives::Bytes::from(alloy::primitives::hex::decode(TOKEN_RUNTIME).unwrap());
    let _: serde_json::Value = ep(net).request("anvil_setCode", (at, code)).await.unwrap();
    let _: serde_json::Value = ep(net)
        .request(
            "anvil_setStorageAt",
            (
                at,
                B256::left_padding_from(holder.as_slice()),
                B256::from(amount),
            ),
        )
        .await
        .unwrap();
}

/// A token balance (`balanceOf`).
pub async fn token_balance(net: &Devnet, token: Address, who: Address) -> U256 {
    let data = alloy::primitives::Bytes::from(
        [
            &[0x70u8, 0xa0, 0x82, 0x31][..],
            B256::left_padding_from(who.as_slice()).as_slice(),
        ]
        .concat(),
    );
    let out: alloy::primitives::Bytes = ep(net)
        .request(
            "eth_call",
            (serde_json::json!({ "to": token, "input": data }), "latest"),
        )
        .await
        .unwrap();
    U256::from_be_slice(&out)
}

/// Whether wallets `0..n` all hold exactly `target` (native).
pub async fn all_at(net: &Devnet, n: u64, target: u128) -> bool {
    for i in 0..n {
        if balance(net, wallet(i)).await != U256::from(target) {
            return false;
        }
    }
    true
}

/// The API address a config head from [`config_head`] listens on.
pub fn listen_of(head: &str) -> String {
    head.lines()
        .find_map(|l| l.strip_prefix("listen = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_owned()
}

/// JSON-RPC methods and HTTP requests counted by [`counting_proxy`].
#[derive(Debug, Default, Clone)]
pub struct RpcCounts {
    /// Calls per method (a batch counts each of its calls).
    pub methods: std::collections::BTreeMap<String, u64>,
    /// HTTP requests.
    pub requests: u64,
}

impl RpcCounts {
    /// Calls of `method`.
    pub fn of(&self, method: &str) -> u64 {
        self.methods.get(method).copied().unwrap_or(0)
    }
}

/// A real HTTP proxy in front of `upstream` that counts what passes: the URL to give tend, and
/// the counts.
pub async fn counting_proxy(
    upstream: &str,
) -> (String, std::sync::Arc<std::sync::Mutex<RpcCounts>>) {
    use axum::extract::State;
    let counts = std::sync::Arc::new(std::sync::Mutex::new(RpcCounts::default()));
    let state = (upstream.to_owned(), counts.clone(), reqwest::Client::new());
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::post(
                |State((up, counts, client)): State<(
                    String,
                    std::sync::Arc<std::sync::Mutex<RpcCounts>>,
                    reqwest::Client,
                )>,
                 body: axum::body::Bytes| async move {
                    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
                        let mut c = counts.lock().unwrap();
                        c.requests += 1;
                        let calls = v.as_array().cloned().unwrap_or_else(|| vec![v]);
                        for call in calls {
                            let m = call["method"].as_str().unwrap_or("?").to_owned();
                            *c.methods.entry(m).or_default() += 1;
                        }
                    }
                    let r = client
                        .post(up)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        r.bytes().await.unwrap(),
                    )
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, counts)
}

/// `GET url` with the bearer `token`: the status and body (status 0 when nothing answers, e.g.
/// while the daemon starts).
pub async fn api_get(url: &str, token: &str) -> (u16, String) {
    match reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
    {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

/// [`api_get`] every 200 ms until it answers `status` (20 s at most); the body.
pub async fn api_poll(url: &str, token: &str, status: u16) -> String {
    let mut last = (0, String::new());
    for _ in 0..100 {
        last = api_get(url, token).await;
        if last.0 == status {
            return last.1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no {status} from {url} within 20 s; last: {last:?}");
}
