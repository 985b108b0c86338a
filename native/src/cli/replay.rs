//! `tend replay`: a recording run again through the engine; its outputs printed, compared with
//! a golden file, or compared with the outputs under another `tend.toml`'s settings (what-if).

use std::fmt::Write as _;
use std::path::Path;

use crate::cli::{self, Failure};
use crate::config::Config;

/// `tend replay`.
pub fn replay(args: &cli::ReplayArgs) -> Result<String, Failure> {
    use crate::store::recording::RecordingError;
    let rec = crate::store::recording::load(&args.recording).map_err(|e| match e {
        RecordingError::Io { .. } => Failure::io(e.to_string()),
        RecordingError::Line { .. } => Failure::invalid(e.to_string()),
    })?;
    if let Some(policy) = &args.policy {
        return what_if(args, &rec, policy);
    }
    let outputs =
        tend_core::recording::replay(&rec).map_err(|e| Failure::invalid(e.to_string()))?;
    let text = tend_core::recording::outputs_text(&outputs);
    let lines: Vec<&str> = text.lines().collect();
    let Some(golden) = &args.check else {
        return Ok(text);
    };
    if args.bless || std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        std::fs::write(golden, &text)
            .map_err(|e| Failure::io(format!("cannot write {}: {e}", golden.display())))?;
        return Ok(format!(
            "blessed {} ({} outputs)\n",
            golden.display(),
            lines.len()
        ));
    }
    let want = std::fs::read_to_string(golden)
        .map_err(|e| Failure::io(format!("cannot read {}: {e}", golden.display())))?;
    let want: Vec<&str> = want.lines().collect();
    for (i, got) in lines.iter().enumerate() {
        match want.get(i) {
            Some(w) if w == got => {}
            Some(w) => {
                return Err(Failure::io(format!(
                    "output {} differs from {}:\n  expected: {w}\n  actual:   {got}",
                    i + 1,
                    golden.display()
                )));
            }
            None => {
                return Err(Failure::io(format!(
                    "output {} is extra (the golden file has {}):\n  actual: {got}",
                    i + 1,
                    want.len()
                )));
            }
        }
    }
    if want.len() > lines.len() {
        return Err(Failure::io(format!(
            "output {} is missing:\n  expected: {}",
            lines.len() + 1,
            want[lines.len()]
        )));
    }
    Ok(format!(
        "{} outputs match {}\n",
        lines.len(),
        golden.display()
    ))
}

/// `tend replay --policy`: the recorded history under another tend.toml's engine settings.
fn what_if(
    args: &cli::ReplayArgs,
    rec: &crate::store::recording::Recording,
    policy: &Path,
) -> Result<String, Failure> {
    let other = Config::load(policy)?;
    let w = tend_core::recording::what_if(rec, other.engine).map_err(|e| {
        Failure::invalid(format!(
            "{} cannot replay {}: {e}",
            policy.display(),
            args.recording.display()
        ))
    })?;
    if args.json {
        let mut s = serde_json::to_string_pretty(&w).map_err(|e| Failure::io(e.to_string()))?;
        s.push('\n');
        return Ok(s);
    }
    let mut s = format!(
        "What-if: {} (config {}) under {} (config {})\n",
        args.recording.display(),
        &w.baseline_config[..12],
        policy.display(),
        &w.what_if_config[..12],
    );
    let _ = writeln!(
        s,
        "Decisions: {} recorded, {} what-if.",
        w.baseline.len(),
        w.what_if.len()
    );
    match &w.first_difference {
        None => s.push_str("The same decisions at the same times.\n"),
        Some(d) => {
            let show = |x: &Option<tend_core::recording::Decision>| {
                x.as_ref()
                    .map_or_else(|| "(none)".to_owned(), |d| format!("{}  {}", d.at, d.kind))
            };
            let _ = writeln!(s, "First difference, decision {}:", d.index + 1);
            let _ = writeln!(s, "  recorded: {}", show(&d.baseline));
            let _ = writeln!(s, "  what-if:  {}", show(&d.what_if));
        }
    }
    if !w.differences.is_empty() {
        s.push_str("\nTaken a different number of times:\n  recorded  what-if  decision\n");
        for t in &w.differences {
            let _ = writeln!(s, "  {:>8}  {:>7}  {}", t.baseline, t.what_if, t.decision);
        }
    }
    if !w.transfers.is_empty() {
        s.push_str("\nFunding (smallest units):\n");
        for t in &w.transfers {
            let _ = writeln!(
                s,
                "  chain {} {}: recorded {} transfer(s), {}; what-if {} transfer(s), {}",
                t.chain,
                t.asset,
                t.baseline_count,
                t.baseline_amount,
                t.what_if_count,
                t.what_if_amount
            );
        }
    }
    let _ = writeln!(
        s,
        "\n{} recorded answer(s) went to calls the what-if run did not make; {} effect(s) the \
         recording lacks were assumed to succeed.",
        w.dropped, w.assumed
    );
    Ok(s)
}
