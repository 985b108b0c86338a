//! Supervision with real agent processes (`tend demo-agent`): restarts after a crash, a hang
//! and a crash loop; PID files after `kill -9` of the daemon.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Tend, config_head, eventually, scratch, status, write_config};

fn service(v: &serde_json::Value, name: &str) -> serde_json::Value {
    v["services"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == name).cloned())
        .unwrap_or(serde_json::Value::Null)
}

fn agent(name: &str, mode: &str, extra_args: &str, health: &str) -> String {
    let port = tend::devnet::free_port().unwrap();
    format!(
        "[[services]]\nname = \"{name}\"\ncommand = [\"{}\", \"demo-agent\", \"--port\", \"{port}\", \"--mode\", \"{mode}\"{extra_args}]\n\
         env = {{ DEMO_AGENT_KEY = \"{}\" }}\nhealth_url = \"http://127.0.0.1:{port}/healthcheck\"\n\
         [services.health]\nperiod_ms = 300\nprobe_timeout_ms = 300\nstartup_budget_ms = 10000\nstop_grace_ms = 1000\n{health}\n",
        env!("CARGO_BIN_EXE_tend"),
        tend::devnet::DEV_KEYS[1],
    )
}

fn alive(pid: u64) -> bool {
    tend::agents::pidfile::identity(u32::try_from(pid).unwrap()).is_some()
}

fn kill9(pid: u64) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_is_restarted_within_a_second_a_hang_after_its_budget_and_a_crash_loop_ends_failed()
{
    let dir = scratch("supervise");
    let config = write_config(
        &dir,
        &format!(
            "{}{}{}",
            agent("victim", "healthy", "", "backoff_initial_ms = 100"),
            agent(
                "hang",
                "hang",
                ", \"--hang-after\", \"2\"",
                "failure_threshold = 3"
            ),
            agent(
                "loop",
                "crash-loop",
                "",
                "backoff_initial_ms = 100\nbackoff_max_ms = 400\nflap_max_restarts = 3\nflap_window_ms = 60000"
            ),
        ),
    );
    let mut tend = Tend::start(&config, "tend.log");
    let mut victim_pid = 0;
    eventually(Duration::from_secs(20), "victim healthy", || {
        let v = service(&status(&config), "victim");
        victim_pid = v["pid"].as_u64().unwrap_or(0);
        async move { v["status"] == "healthy" }
    })
    .await;

    // A crash (SIGKILL from outside): restarted within a second.
    kill9(victim_pid);
    let killed = Instant::now();
    let mut new_pid = 0;
    eventually(Duration::from_secs(5), "victim restarted", || {
        let v = service(&status(&config), "victim");
        new_pid = v["pid"].as_u64().unwrap_or(0);
        async move { new_pid != 0 && new_pid != victim_pid }
    })
    .await;
    let latency = killed.elapsed();
    // Measured through `tend status` (a process spawn per poll): the restart itself is faster.
    assert!(latency < Duration::from_secs(2), "restart took {latency:?}");
    let v = service(&status(&config), "victim");
    let history = v["history"].to_string();
    assert!(history.contains("killed by signal 9"), "{history}");

    // A hang: the process lives but stops answering; restarted after 3 failed probes.
    let mut first_hang_pid = 0;
    eventually(Duration::from_secs(10), "hang running", || {
        let v = service(&status(&config), "hang");
        first_hang_pid = v["pid"].as_u64().unwrap_or(0);
        async move { first_hang_pid != 0 }
    })
    .await;
    eventually(Duration::from_secs(30), "hang restarted", || {
        let v = service(&status(&config), "hang");
        async move { v["restarts"].as_u64().unwrap_or(0) >= 1 }
    })
    .await;
    let v = service(&status(&config), "hang");
    assert!(
        v["history"]
            .to_string()
            .contains("3 failed probes in a row"),
        "{}",
        v["history"]
    );
    assert!(!alive(first_hang_pid), "the hung agent was not stopped");

    // A crash loop: given up with a reason an operator can act on.
    eventually(Duration::from_mins(1), "loop failed", || {
        let v = service(&status(&config), "loop");
        async move { v["status"] == "failed" }
    })
    .await;
    let v = service(&status(&config), "loop");
    assert!(
        v["reason"].as_str().unwrap().contains("restarts"),
        "{}",
        v["reason"]
    );
    assert!(v["pid"].is_null());
    assert!(tend.log().contains("agent FAILED"), "{}", tend.log());
    tend.stop();
    let replayed = tend.keep("agents-crash-hang-crash-loop");
    assert!(
        replayed.contains("\"event\":\"alert\",\"service\":\"loop\""),
        "{replayed}"
    );
    assert!(replayed.contains("\"output\":\"terminate\",\"service\":\"hang\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_of_the_daemon_live_agents_are_adopted_and_stale_pid_files_cleared() {
    let dir = scratch("pidfiles");
    let config = dir.join("tend.toml");
    let home = dir.join("home");
    std::fs::write(
        &config,
        format!(
            "{}{}",
            config_head(&home),
            agent("keeper", "healthy", "", "")
        ),
    )
    .unwrap();
    let pid_of = |config: &Path| service(&status(config), "keeper")["pid"].as_u64();

    let mut tend = Tend::start(&config, "tend.log");
    let mut agent_pid = 0;
    eventually(Duration::from_secs(20), "keeper healthy", || {
        let v = service(&status(&config), "keeper");
        agent_pid = v["pid"].as_u64().unwrap_or(0);
        async move { v["status"] == "healthy" }
    })
    .await;
    tend.kill9();
    assert!(alive(agent_pid), "the agent died with the daemon");
    // The PID file holds what adoption matches: PID, start time and the command line.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("run/keeper.pid")).unwrap())
            .unwrap();
    assert_eq!(file["pid"].as_u64(), Some(agent_pid), "{file}");
    assert_eq!(file["cmdline"][1], "demo-agent", "{file}");

    // Restart: the live agent is adopted, not spawned twice.
    let mut tend = Tend::start(&config, "adopting.log");
    eventually(
        Duration::from_secs(20),
        "keeper adopted and healthy",
        || {
            let v = service(&status(&config), "keeper");
            async move { v["status"] == "healthy" }
        },
    )
    .await;
    assert_eq!(pid_of(&config), Some(agent_pid));
    assert!(tend.log().contains("adopted"), "{}", tend.log());

    // kill -9 both: the PID file is stale; the next daemon clears it and starts a new agent.
    tend.kill9();
    // The killed daemon's recording replays (its header names the adopted agent).
    let replayed = tend.keep("adopted-after-kill-9");
    assert!(!replayed.contains("\"output\":\"spawn\""), "{replayed}");
    kill9(agent_pid);
    eventually(Duration::from_secs(5), "agent gone", || async {
        !alive(agent_pid)
    })
    .await;
    let mut tend = Tend::start(&config, "tend.log");
    let mut second = 0;
    eventually(Duration::from_secs(20), "a new keeper", || {
        let v = service(&status(&config), "keeper");
        second = v["pid"].as_u64().unwrap_or(0);
        async move { v["status"] == "healthy" && second != agent_pid }
    })
    .await;
    assert!(tend.log().contains("is not running"), "{}", tend.log());

    // A PID file naming a live, unrelated process (PID reuse) with its real start time: only
    // the command line tells it apart. Cleared, the process untouched.
    tend.kill9();
    kill9(second);
    eventually(Duration::from_secs(5), "agent gone", || async {
        !alive(second)
    })
    .await;
    let mut bystander = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let (start_ticks, _) = eventually_identity(bystander.id()).await;
    let record = serde_json::json!({
        "pid": bystander.id(),
        "start_ticks": start_ticks,
        "cmdline": [env!("CARGO_BIN_EXE_tend"), "demo-agent"],
        "started_at_ms": 0
    });
    std::fs::write(home.join("run/keeper.pid"), record.to_string()).unwrap();
    let tend = Tend::start(&config, "tend.log");
    eventually(Duration::from_secs(20), "a third keeper", || {
        let v = service(&status(&config), "keeper");
        let pid = v["pid"].as_u64().unwrap_or(0);
        async move { v["status"] == "healthy" && pid != second && pid != 0 }
    })
    .await;
    assert!(
        tend.log().contains("now belongs to another process"),
        "{}",
        tend.log()
    );
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "tend signalled a process it did not start"
    );
    let _ = bystander.kill();
    let _ = bystander.wait();

    // The service is removed from the configuration while tend is down: its agent is stopped.
    let third = service(&status(&config), "keeper")["pid"].as_u64().unwrap();
    let mut tend = tend;
    tend.kill9();
    assert!(alive(third));
    std::fs::write(&config, config_head(&home)).unwrap();
    let tend = Tend::start(&config, "tend.log");
    eventually(Duration::from_secs(10), "the orphan stopped", || async {
        !alive(third)
    })
    .await;
    assert!(!home.join("run/keeper.pid").exists());
    assert!(
        tend.log().contains("no longer configured"),
        "{}",
        tend.log()
    );
}

/// A process's start time and command line once its exec has set them up.
async fn eventually_identity(pid: u32) -> (u64, Vec<String>) {
    for _ in 0..100 {
        if let Some((t, cmd)) = tend::agents::pidfile::identity(pid)
            && !cmd.is_empty()
        {
            return (t, cmd);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("process {pid} shows no command line");
}
