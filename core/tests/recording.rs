//! Recordings: a simulated run written as a recording replays to the same outputs; what-if on
//! recorded history finds no difference under the same configuration and the expected ones under
//! another.

use tend_core::U256;
use tend_core::engine::config::EngineConfig;
use tend_core::recording::{Header, Recording, replay, replay_text, text_hash, what_if};
use tend_core::sim::{self, Behaviour, SimConfig};
use tend_core::time::Timestamp;

fn recorded(cfg: &SimConfig) -> (Recording, u64) {
    let (report, inputs, digest) = sim::run_recorded(cfg).unwrap();
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    let header = Header::new(
        &sim::engine_config(cfg),
        Timestamp(cfg.start_ms),
        Vec::new(),
        Vec::new(),
    );
    (Recording { header, inputs }, digest)
}

fn world() -> SimConfig {
    SimConfig {
        seed: 7,
        duration_ms: 6 * 3_600_000,
        services: 3,
        behaviours: vec![
            Behaviour::Healthy,
            Behaviour::CrashLoop { after_ms: 90_000 },
            Behaviour::Hung { after_ms: 600_000 },
        ],
        spend_per_day: U256::from(4u64) * U256::from(10u64).pow(U256::from(18u64)),
        ..SimConfig::default()
    }
}

#[test]
fn a_recording_replays_through_its_text_to_the_run_outputs() {
    let (rec, digest) = recorded(&world());
    let t = rec.to_text();
    let parsed = Recording::parse(&t).unwrap();
    assert_eq!(parsed, rec);
    let mut d = sim::OutputDigest::default();
    for o in replay(&parsed).unwrap() {
        d.write(&o);
    }
    assert_eq!(d.value(), digest);
    let out = replay_text(&t).unwrap();
    assert_eq!(out, replay_text(&t).unwrap());
    assert_eq!(out.lines().count(), replay(&parsed).unwrap().len());
    assert_eq!(text_hash(&out).len(), 64);
}

#[test]
fn what_if_under_the_same_configuration_changes_nothing() {
    let (rec, _) = recorded(&world());
    let w = what_if(&rec, rec.header.config.clone()).unwrap();
    assert!(w.first_difference.is_none(), "{:?}", w.first_difference);
    assert!(w.differences.is_empty());
    assert_eq!(w.baseline, w.what_if);
    assert!(w.baseline.len() > 20, "{}", w.baseline.len());
    assert_eq!((w.dropped, w.assumed), (0, 0));
    assert_eq!(w.baseline_config, w.what_if_config);
}

fn with(rec: &Recording, f: impl Fn(&mut EngineConfig)) -> EngineConfig {
    let mut c = rec.header.config.clone();
    f(&mut c);
    c
}

#[test]
fn what_if_a_higher_target_sends_more_per_transfer() {
    let (rec, _) = recorded(&world());
    let alt = with(&rec, |c| {
        for s in &mut c.services {
            for w in &mut s.wallets {
                w.target *= U256::from(2u64);
            }
        }
    });
    let w = what_if(&rec, alt).unwrap();
    let first = w.first_difference.as_ref().expect("the decisions differ");
    let text = serde_json::to_string(first).unwrap();
    assert!(text.contains("transfer"), "{text}");
    assert!(!w.transfers.is_empty());
    for t in &w.transfers {
        assert!(t.baseline_count > 0 && t.what_if_count > 0, "{t:?}");
        // Each what-if transfer is larger: the same wallets, twice the target.
        let avg = |sum: U256, n: usize| sum / U256::from(n);
        assert!(
            avg(t.what_if_amount, t.what_if_count) > avg(t.baseline_amount, t.baseline_count),
            "{t:?}"
        );
    }
}

#[test]
fn what_if_a_stricter_restart_limit_gives_up_sooner() {
    let (rec, _) = recorded(&world());
    let alt = with(&rec, |c| {
        for s in &mut c.services {
            s.health.flap_max_restarts = 2;
            s.health.streak_max_restarts = 2;
        }
    });
    let w = what_if(&rec, alt).unwrap();
    let count = |list: &[tend_core::recording::Decision], what: &str| {
        list.iter()
            .filter(|d| serde_json::to_string(d).unwrap().contains(what))
            .count()
    };
    // The crash-looping service: fewer starts, and given up on (earlier) under the stricter
    // policy.
    assert!(
        count(&w.what_if, "\"spawn\"") < count(&w.baseline, "\"spawn\""),
        "{:?}",
        w.differences
    );
    assert!(count(&w.what_if, "\"alert\"") >= 1);
    let first_alert = |list: &[tend_core::recording::Decision]| {
        list.iter()
            .find(|d| serde_json::to_string(d).unwrap().contains("\"alert\""))
            .map(|d| d.at)
    };
    if let Some(base) = first_alert(&w.baseline) {
        assert!(first_alert(&w.what_if).unwrap() < base);
    }
    assert!(
        w.differences
            .iter()
            .any(|t| t.decision.starts_with("start "))
    );
}

#[test]
fn what_if_refuses_a_bad_configuration() {
    let (rec, _) = recorded(&SimConfig {
        duration_ms: 60_000,
        ..world()
    });
    let alt = with(&rec, |c| {
        let dup = c.chains[0].clone();
        c.chains.push(dup);
    });
    assert!(what_if(&rec, alt).is_err());
}
