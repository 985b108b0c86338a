//! `tend funding olas` and `tend funding plan`: the pure calculators on a JSON input, without a
//! daemon or a chain (the Olas report of a snapshot; the funding plan of a planner input).

use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;

use super::{EXIT_FAILURE, EXIT_INVALID, FundingCommand};
use tend_core::funding::plan::{Plan, PlanInput};
use tend_core::funding::{FundingSnapshot, funding_requirements};
use tend_core::json::InputError;

/// What a command printed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// For standard output.
    pub stdout: String,
    /// Warnings for standard error, one per line.
    pub warnings: Vec<String>,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file (or `-`).
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The input is invalid.
    #[error("invalid input in {path}: {source}")]
    Input {
        /// The file (or `-`).
        path: String,
        /// Which field and what is wrong.
        source: InputError,
    },
    /// The arguments do not say what to do.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Read { .. } => EXIT_FAILURE,
            CliError::Input { .. } | CliError::Usage(_) => EXIT_INVALID,
        }
    }
}

/// Runs a `tend funding` command; `stdin` is read when the input is `-`.
pub fn run(command: &FundingCommand, stdin: &mut dyn Read) -> Result<Output, CliError> {
    match command {
        FundingCommand::Olas(args) => {
            if args.snapshot {
                return Err(CliError::Usage(
                    "--snapshot goes with --service NAME (reading from the chains); a snapshot \
                     given with --input is printed as is"
                        .into(),
                ));
            }
            let Some(input) = &args.input else {
                return Err(CliError::Usage(
                    "give --input FILE (a snapshot) or --service NAME (read from the chains)"
                        .into(),
                ));
            };
            let (name, text) = read_input(input, stdin)?;
            let snapshot = FundingSnapshot::from_json_str(&text)
                .map_err(|source| CliError::Input { path: name, source })?;
            let report = funding_requirements(&snapshot);
            let stdout = json_text(&report, args.compact);
            let warnings = report
                .diagnostics
                .iter()
                .map(|d| format!("warning: {}", d.message))
                .collect();
            Ok(Output { stdout, warnings })
        }
        FundingCommand::Plan(args) => {
            let (name, text) = read_input(&args.input.input, stdin)?;
            let input = PlanInput::from_json_str(&text).map_err(|source| CliError::Input {
                path: name.clone(),
                source,
            })?;
            let plan = tend_core::funding::plan::plan(&input)
                .map_err(|source| CliError::Input { path: name, source })?;
            let stdout = if args.json {
                let mut s = serde_json::to_string_pretty(&plan).unwrap_or_default();
                s.push('\n');
                s
            } else {
                render_plan(&plan)
            };
            Ok(Output {
                stdout,
                warnings: Vec::new(),
            })
        }
    }
}

fn read_input(path: &Path, stdin: &mut dyn Read) -> Result<(String, String), CliError> {
    let name = path.display().to_string();
    let is_stdin = name == "-";
    let mut text = String::new();
    let result = if is_stdin {
        stdin.read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    result.map_err(|source| CliError::Read {
        path: if is_stdin {
            "standard input".to_owned()
        } else {
            name.clone()
        },
        source,
    })?;
    Ok((
        if is_stdin {
            "standard input".to_owned()
        } else {
            name
        },
        text,
    ))
}

/// A human-readable plan: amounts in the asset's smallest unit, exact.
pub fn render_plan(plan: &Plan) -> String {
    let mut s = String::new();
    if plan.transfers.is_empty() {
        s.push_str("Transfers: none needed\n");
    } else {
        let _ = writeln!(s, "Transfers ({}):", plan.transfers.len());
        for t in &plan.transfers {
            let _ = writeln!(
                s,
                "  {chain}  {from} -> {to}  {amount} of {asset}  (gas reserved {gas})",
                chain = t.chain,
                from = t.from,
                to = t.to,
                amount = t.amount,
                asset = asset_label(&t.asset),
                gas = t.gas_reserved,
            );
            if let Some(r) = &t.reason {
                let _ = writeln!(
                    s,
                    "      balance {} < low {}: refill to {}{}",
                    r.balance,
                    r.low,
                    r.target,
                    if r.capped_by_max_transfer {
                        " (capped by max_transfer)"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    if plan.shortfalls.is_empty() {
        s.push_str("Shortfalls: none\n");
    } else {
        let _ = writeln!(s, "Shortfalls ({}):", plan.shortfalls.len());
        for f in &plan.shortfalls {
            let _ = writeln!(
                s,
                "  {}  {}  missing {} of {}: {}",
                f.chain,
                f.holder,
                f.missing,
                asset_label(&f.asset),
                f.message
            );
        }
    }
    if !plan.runway.is_empty() {
        s.push_str("Runway:\n");
        for r in &plan.runway {
            let until = match r.seconds_until_low {
                None => "no spend".to_owned(),
                Some(0) => "below low now".to_owned(),
                Some(secs) => format!("{} until low", human_duration(secs)),
            };
            let _ = writeln!(
                s,
                "  {}  {}  {}: {until}",
                r.chain,
                r.address,
                asset_label(&r.asset)
            );
        }
    }
    s
}

fn asset_label(a: &tend_core::address::Asset) -> String {
    if a.is_native() {
        "native".to_owned()
    } else {
        a.to_string()
    }
}

fn human_duration(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// `tend funding olas --service NAME`: the service's snapshot read now from the chains of
/// `tend.toml` (its registry facts and balances), and the middleware's body for it.
pub async fn olas_from_chain(args: &crate::cli::OlasArgs) -> Result<String, crate::cli::Failure> {
    use crate::cli::Failure;
    let service = args.service.as_deref().unwrap_or_default();
    let config = crate::config::Config::load(&args.config)?;
    let endpoints = crate::chain::rpc::endpoints_of(&config).map_err(Failure::io)?;
    if config.service(service).is_none() {
        return Err(Failure::invalid(format!(
            "{}: no service {service:?}",
            args.config.display()
        )));
    }
    let reader = crate::chain::olas::OlasReader {
        config: std::sync::Arc::new(config),
        endpoints,
        round: None,
    };
    let v = crate::chain::olas::report(&reader, service, None, false, args.snapshot)
        .await
        .map_err(|m| {
            if m.contains("[services.olas]") || m.contains("the registry") {
                Failure::invalid(m)
            } else {
                Failure::io(m)
            }
        })?;
    Ok(json_text(&v, args.compact))
}

/// `v` as JSON text and a newline: one line with `compact`, else indented.
fn json_text<T: serde::Serialize>(v: &T, compact: bool) -> String {
    let mut out = if compact {
        serde_json::to_string(v)
    } else {
        serde_json::to_string_pretty(v)
    }
    .unwrap_or_default();
    out.push('\n');
    out
}
