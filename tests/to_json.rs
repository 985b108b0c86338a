//! tend's JSON writer (`tend_json::write`, derived from the types' serde attributes) writes the
//! bytes serde's derived serializers write through `serde_json::to_string`: every corpus input,
//! header and replayed output, a simulation's report and recording, the Olas reports and funding
//! plans of the fixtures, and a what-if comparison.

#![allow(missing_docs, clippy::unwrap_used)]

use tend_core::funding::plan::{PlanInput, plan};
use tend_core::funding::{FundingSnapshot, funding_requirements};
use tend_core::recording::{Recording, replay, what_if::what_if};
use tend_core::sim::{SimConfig, engine_config, run_recorded};
use tend_json::write::{ToJson, to_string};

fn same<T: serde::Serialize + ToJson + ?Sized>(what: &str, v: &T) {
    let ours = to_string(v);
    let theirs = serde_json::to_string(v).unwrap();
    if ours != theirs {
        let at = tend_replay::first_difference(&ours, &theirs);
        panic!(
            "{what}: to_json and serde_json differ at byte {at}\n  to_json: {}\n  serde:   {}",
            &ours[at.saturating_sub(60)..(at + 60).min(ours.len())],
            &theirs[at.saturating_sub(60)..(at + 60).min(theirs.len())],
        );
    }
}

#[test]
fn corpus_headers_inputs_and_replayed_outputs() {
    let (mut inputs, mut outputs) = (0, 0);
    for (rec, _) in tend_replay::corpus() {
        let name = rec.display().to_string();
        let r = Recording::parse(&std::fs::read_to_string(&rec).unwrap()).unwrap();
        same(&name, &r.header);
        same(&name, &r.header.config);
        for i in &r.inputs {
            same(&name, i);
            inputs += 1;
        }
        for o in replay(&r).unwrap() {
            same(&name, &o);
            outputs += 1;
        }
        let w = what_if(&r, r.header.config.clone()).unwrap();
        same(&name, &w);
    }
    assert!(
        inputs > 1000 && outputs > 500,
        "{inputs} inputs, {outputs} outputs"
    );
}

#[test]
fn a_simulation_report_its_config_and_its_recording() {
    let cfg = SimConfig::lively_6h(11);
    same("sim config", &cfg);
    same("engine config", &engine_config(&cfg));
    let (report, inputs, _) = run_recorded(&cfg).unwrap();
    same("sim report", &report);
    assert!(inputs.len() > 10_000);
    for i in &inputs {
        same("sim input", i);
    }
}

#[test]
fn olas_reports_and_funding_plans() {
    for f in tend_replay::fixtures("olas") {
        let snap = FundingSnapshot::from_json_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        same(&f.display().to_string(), &funding_requirements(&snap));
    }
    for f in tend_replay::fixtures("plan") {
        let input = PlanInput::from_json_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        same(&f.display().to_string(), &plan(&input).unwrap());
    }
}
