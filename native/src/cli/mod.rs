//! The `tend` command line: the arguments (this file) and one file per command — [`run`]
//! (`tend run`), [`demo`] (`tend demo`, `tend demo-agent`), [`status`] (`status`, `nonces`,
//! `fund`, `stop`: the clients of a running daemon, through [`client`]), [`funding`] (`funding
//! olas`, `funding plan`), [`replay`] (`replay`), [`init`] (`init`, `config check`). Commands
//! call the daemon and every room below it; nothing calls the CLI.
//!
//! Exit codes: 0 success; 1 the command could not run (an input file cannot be read, output
//! cannot be written); 2 bad usage or invalid input (the message names the bad field).

mod client;
pub mod demo;
mod demo_olas;
mod failure;
pub mod funding;
pub mod init;
pub mod olas;
pub mod olas_act;
pub mod replay;
pub mod run;
pub mod status;

pub use failure::Failure;
pub use funding::{CliError, Output, render_plan};

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: the command could not run (I/O).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: bad usage or invalid input.
pub const EXIT_INVALID: u8 = 2;
/// Exit code: another tend already runs on this home.
pub const EXIT_BUSY: u8 = 3;

/// tend keeps autonomous on-chain agent services alive and paid for.
#[derive(Debug, Parser)]
#[command(name = "tend", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 success, 1 the command could not run (I/O, a chain or the daemon \
unreachable), 2 bad usage, invalid input or configuration (the message names the bad field or \
key), 3 another tend already runs on this home."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: supervise the agents, probe their health, keep their wallets funded.
    ///
    /// Checks first that the home is free, the funding key decrypts and every chain answers
    /// with its configured chain id; nothing is written before that. Ctrl-C or SIGTERM stops
    /// every agent (SIGTERM, grace period, SIGKILL) and then the daemon. After a crash, the
    /// next `tend run` adopts the agents still running and finishes what the journal holds.
    #[command(
        after_help = "Example:\n  TEND_KEYSTORE_PASSWORD=... tend run --config tend.toml\n\n\
Exit codes: 0 stopped cleanly, 1 could not run (I/O, chain unreachable, journal), \
2 bad configuration or key, 3 another tend runs on this home."
    )]
    Run(RunArgs),
    /// Start a complete local demo: two anvil devnets (chains 100 and 8453), Multicall3, and
    /// three demo agents (healthy, crashing now and then, hanging) that tend supervises and
    /// funds. Installs anvil from npm into .tend-demo/tools when it is missing.
    Demo(DemoArgs),
    /// Write a commented example tend.toml.
    Init(InitArgs),
    /// Configuration commands.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Show the running daemon's services, wallets and chains (`--json` for machines).
    Status(ClientArgs),
    /// Show the nonce book of each funding key: every transaction tend has in flight or
    /// finished recently.
    Nonces(ClientArgs),
    /// Ask the running daemon to read every chain now and fund what needs it; with
    /// `--dry-run`, print the plan from the latest balances without sending anything.
    Fund(FundArgs),
    /// Stop the running daemon (it stops its agents first).
    Stop(ClientArgs),
    /// Re-run the engine on a recording (`tend run --record FILE`) and print its outputs, one
    /// JSON line each; `--check GOLDEN` compares them and shows the first difference; `--policy
    /// OTHER.toml` replays the same history under other settings and compares the decisions.
    #[command(
        after_help = "Example:\n  tend run --record run.jsonl\n  tend replay run.jsonl > golden.jsonl\n  \
tend replay run.jsonl --check golden.jsonl\n  \
tend replay run.jsonl --policy other-tend.toml\n\n\
With --policy, the recorded history is replayed under the engine settings of another tend.toml \
(wallet thresholds, health and restart policy, nonce, fee and RPC policy) next to the recorded \
ones, and the decisions are compared: where they first part, which decisions were taken a \
different number of times, and the funding totals. The history stays the recorded one: what the \
other settings would have changed on the chain or in the agents is not invented, so the first \
differences are exact and later ones an estimate."
    )]
    Replay(ReplayArgs),
    /// A demo agent (used by `tend demo`): serves /healthcheck and /funds-status and spends gas.
    #[command(hide = true)]
    DemoAgent(DemoAgentArgs),
    /// Funding computations (pure: no chain is read, no transaction is sent).
    #[command(subcommand)]
    Funding(FundingCommand),
    /// Olas services on chain.
    #[command(subcommand)]
    Olas(OlasCommand),
}

/// `tend olas …`.
#[derive(Debug, Subcommand)]
pub enum OlasCommand {
    /// Show a service as its chain has it: registry state, NFT holder, the service Safe with its
    /// owners and threshold, agent instances, and the staking program's view (state, reward,
    /// when it may unstake). Read now from the registries of `[services.olas.registry]`.
    #[command(
        after_help = "Example:\n  tend olas status trader --config tend.toml\n  \
tend olas status trader --json"
    )]
    Status(OlasStatusArgs),
    /// Deploy the service on chain — create's next steps: approve + activate, approve + register
    /// the agent instances, deploy the service Safe — and stake it when `[services.olas.registry]`
    /// names a staking program.
    #[command(after_help = ACTION_HELP)]
    Deploy(OlasActionArgs),
    /// Deploy (as needed) and stake the service in `[services.olas.registry] staking`.
    #[command(after_help = ACTION_HELP)]
    Stake(OlasActionArgs),
    /// Unstake the service (refused with the unlock time while the program's minimum staking
    /// duration holds).
    #[command(after_help = ACTION_HELP)]
    Unstake(OlasActionArgs),
    /// Claim the service's staking rewards (paid to the service Safe).
    #[command(after_help = ACTION_HELP)]
    Claim(OlasActionArgs),
    /// Take the service off chain: claim, unstake, terminate, unbond (the deposit and bonds come
    /// back to tend's funding key).
    #[command(after_help = ACTION_HELP)]
    Terminate(OlasActionArgs),
}

const ACTION_HELP: &str = "The plan (every step with its calls) is printed before anything is \
sent; --dry-run sends nothing. Through the running daemon when one answers (its journal, nonces \
and rounds; the goal holds until it restarts, tend.toml's target then), else tend runs the steps \
itself on this home and stops.\n\nExamples:\n  tend olas deploy trader --dry-run\n  tend olas \
stake trader --config tend.toml\n  tend olas unstake trader --json";

/// `tend olas deploy|stake|unstake|claim|terminate`.
#[derive(Debug, Args)]
pub struct OlasActionArgs {
    /// The service's name in tend.toml.
    pub service: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    /// Print the plan and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON (the plan, then the outcome).
    #[arg(long)]
    pub json: bool,
    /// Give up waiting for the goal after this many seconds (the steps already sent go on).
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub wait: u64,
}

/// `tend olas status`.
#[derive(Debug, Args)]
pub struct OlasStatusArgs {
    /// The service's name in tend.toml.
    pub service: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The configuration file argument.
#[derive(Debug, Args, Clone)]
pub struct ConfigArg {
    /// The configuration file.
    #[arg(
        long,
        short,
        value_name = "FILE",
        default_value = "tend.toml",
        env = "TEND_CONFIG"
    )]
    pub config: PathBuf,
}

/// `tend run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Record every engine input to FILE (JSON lines; `tend replay FILE` re-runs it). Holds no
    /// secrets.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

/// `tend replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The recording.
    pub recording: PathBuf,
    /// Compare the outputs with this golden file; exit 1 at the first difference.
    #[arg(long, value_name = "GOLDEN")]
    pub check: Option<PathBuf>,
    /// With --check: rewrite the golden file instead (also with BLESS=1).
    #[arg(long, requires = "check")]
    pub bless: bool,
    /// Replay under the engine settings of this tend.toml and show how the decisions differ.
    #[arg(long, value_name = "OTHER.toml", conflicts_with = "check")]
    pub policy: Option<PathBuf>,
    /// With --policy: print the comparison as JSON (every decision of both runs included).
    #[arg(long, requires = "policy")]
    pub json: bool,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `tend demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo's folder (devnet state, keystore, config, logs, tools).
    #[arg(long, default_value = ".tend-demo")]
    pub dir: PathBuf,
    /// Stop by itself after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<u64>,
    /// Run on the real Olas contracts instead: one devnet (chain 100) with the registries, the
    /// staking program and Safe 1.3.0 deployed (the `open-autonomy` wheel, fetched from PyPI
    /// once), a service minted, deployed and staked, and its agent supervised and funded.
    #[arg(long)]
    pub olas: bool,
    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// `tend init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write it.
    #[arg(default_value = "tend.toml")]
    pub path: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `tend config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration: every error names the key and its line.
    Check(ConfigArg),
}

/// Commands that talk to the running daemon's API.
#[derive(Debug, Args)]
pub struct ClientArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `tend fund`.
#[derive(Debug, Args)]
pub struct FundArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub client: ClientArgs,
    /// Print the plan without sending anything.
    #[arg(long)]
    pub dry_run: bool,
}

/// `tend demo-agent`.
#[derive(Debug, Args)]
pub struct DemoAgentArgs {
    /// The port of its health server.
    #[arg(long)]
    pub port: u16,
    /// How it behaves.
    #[arg(long, value_enum, default_value = "healthy")]
    pub mode: crate::cli::demo::AgentMode,
    /// Chains to spend gas on (RPC URLs).
    #[arg(long)]
    pub rpc: Vec<String>,
    /// The environment variable holding its private key.
    #[arg(long, default_value = "DEMO_AGENT_KEY")]
    pub key_env: String,
    /// Wei burnt per spend.
    #[arg(long, default_value_t = 10_000_000_000_000_000)]
    pub spend_wei: u128,
    /// Seconds between spends.
    #[arg(long, default_value_t = 3)]
    pub spend_every: u64,
    /// `hang` mode: seconds before the healthcheck stops answering.
    #[arg(long, default_value_t = 20)]
    pub hang_after: u64,
}

/// `tend funding …`.
#[derive(Debug, Subcommand)]
pub enum FundingCommand {
    /// Print the Olas middleware's `funding_requirements` response for a funding snapshot.
    ///
    /// The output is exactly the middleware's HTTP body (`GET
    /// /api/v2/service/{id}/funding_requirements`): a dashboard can switch to tend without
    /// changing a line. Where the middleware would fail or behaves oddly, a warning is printed on
    /// stderr; stdout stays the body.
    ///
    /// With `--service`, the snapshot is not given but read now: the service's Olas description
    /// in tend.toml, its facts from the registries (`[services.olas.registry]`) and the balances
    /// from the configured chains, as `GET /v1/services/{name}/funding` does (no daemon needed).
    #[command(after_help = "Example:\n  tend funding olas --input snapshot.json\n  \
curl -s http://dashboard/snapshot | tend funding olas --input -\n  \
tend funding olas --service trader --config tend.toml --snapshot")]
    Olas(OlasArgs),
    /// Plan the transfers that refill wallets below their `low` up to their `target`.
    ///
    /// Sources are tried in the order given; transfers in flight count as done; each transfer's
    /// gas is reserved from its source. Uncovered needs are listed as shortfalls.
    #[command(after_help = "Example:\n  tend funding plan --input plan.json\n  \
tend funding plan --input plan.json --json")]
    Plan(PlanArgs),
}

/// Where the input comes from.
#[derive(Debug, Args)]
pub struct InputArg {
    /// The input JSON file, or `-` for standard input.
    #[arg(long, short, value_name = "FILE")]
    pub input: PathBuf,
}

/// `tend funding olas`.
#[derive(Debug, Args)]
pub struct OlasArgs {
    /// The snapshot JSON file, or `-` for standard input.
    #[arg(
        long,
        short,
        value_name = "FILE",
        required_unless_present = "service",
        conflicts_with = "service"
    )]
    pub input: Option<PathBuf>,
    /// Read the snapshot of this tend.toml service from the chains instead.
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// The configuration file (with `--service`).
    #[arg(long, short, default_value = "tend.toml", requires = "service")]
    pub config: PathBuf,
    /// With `--service`: print `{snapshot, report, facts}` instead of the body alone.
    #[arg(long, requires = "service")]
    pub snapshot: bool,
    /// Print the JSON on one line instead of indented.
    #[arg(long)]
    pub compact: bool,
}

/// `tend funding plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub input: InputArg,
    /// Print the plan as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}
