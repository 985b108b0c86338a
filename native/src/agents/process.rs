//! The supervisor: agents run under `tokio::process` in their own process group, with stdout
//! and stderr appended to `<home>/logs/<service>.log` (a file, not a pipe, so an agent outlives
//! a crashed daemon without dying of `SIGPIPE`). Logs rotate by size (copy, then truncate: the
//! agent keeps its append-mode descriptor). Stop is the engine's business: it asks for
//! `SIGTERM` to the group, waits its grace period, then asks for `SIGKILL`.
//!
//! Exits are reported with the generation of the process they belong to, so a late report about
//! an old process never touches a new one.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tend_core::health::ExitStatus;
use tokio::sync::mpsc::UnboundedSender;

use crate::agents::pidfile::{AgentPidFile, AgentRecord, Liveness, PidError};
use crate::config::ServiceSpec;

/// A process event for the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitReport {
    /// The service.
    pub service: String,
    /// The process generation it belongs to.
    pub generation: u64,
    /// How it ended.
    pub status: ExitStatus,
}

/// What start-up found in an agent's PID file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// No agent was recorded.
    Nothing,
    /// A live agent left by a previous daemon: adopted.
    Adopted {
        /// Its PID.
        pid: u32,
    },
    /// A live agent of a service no longer in the configuration: sent SIGTERM (its group).
    Retired {
        /// Its PID.
        pid: u32,
    },
    /// The file named a process that is gone (or a PID now used by an unrelated process, which
    /// is left alone): cleared.
    Stale {
        /// Why, for a person.
        reason: String,
    },
}

struct Agent {
    spec: ServiceSpec,
    pidfile: AgentPidFile,
    pid: Option<u32>,
    generation: u64,
}

/// The supervisor.
pub struct Supervisor {
    home: PathBuf,
    log_max_bytes: u64,
    log_keep: u32,
    agents: BTreeMap<String, Agent>,
    exits: UnboundedSender<ExitReport>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("home", &self.home)
            .field("agents", &self.agents.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    /// Locks every service's PID file. Fails when another process holds one.
    pub fn new(
        home: &Path,
        services: &[ServiceSpec],
        log_max_bytes: u64,
        log_keep: u32,
        exits: UnboundedSender<ExitReport>,
    ) -> Result<Self, PidError> {
        let mut agents = BTreeMap::new();
        for s in services {
            agents.insert(
                s.name.clone(),
                Agent {
                    spec: s.clone(),
                    pidfile: AgentPidFile::open(home, &s.name)?,
                    pid: None,
                    generation: 0,
                },
            );
        }
        std::fs::create_dir_all(home.join("logs")).map_err(|e| PidError::Io {
            path: home.join("logs"),
            message: e.to_string(),
        })?;
        Ok(Self {
            home: home.to_owned(),
            log_max_bytes,
            log_keep,
            agents,
            exits,
        })
    }

    /// The log file of a service.
    pub fn log_path(home: &Path, service: &str) -> PathBuf {
        home.join("logs").join(format!("{service}.log"))
    }

    /// Start-up: reads every PID file; adopts live agents (watching them for exit), clears stale
    /// files. Never signals a process whose identity does not match. Agents of services no
    /// longer in the configuration are stopped (SIGTERM to their group) and their files removed.
    pub fn recover(&mut self) -> Vec<(String, Recovered)> {
        let mut out = self.retire_unconfigured();
        let names: Vec<String> = self.agents.keys().cloned().collect();
        for name in names {
            let Some(agent) = self.agents.get_mut(&name) else {
                continue;
            };
            let found = match agent.pidfile.read() {
                Ok(None) => Recovered::Nothing,
                Err(reason) => {
                    let _ = agent.pidfile.clear();
                    Recovered::Stale { reason }
                }
                Ok(Some(rec)) => match rec.liveness() {
                    Liveness::Alive => {
                        agent.generation += 1;
                        agent.pid = Some(rec.pid);
                        watch_adopted(
                            name.clone(),
                            agent.generation,
                            rec.clone(),
                            self.exits.clone(),
                        );
                        Recovered::Adopted { pid: rec.pid }
                    }
                    Liveness::Gone => {
                        let _ = agent.pidfile.clear();
                        Recovered::Stale {
                            reason: format!("PID {} is not running", rec.pid),
                        }
                    }
                    Liveness::Reused => {
                        let _ = agent.pidfile.clear();
                        Recovered::Stale {
                            reason: format!(
                                "PID {} now belongs to another process (different start time or command line); left alone",
                                rec.pid
                            ),
                        }
                    }
                },
            };
            out.push((name, found));
        }
        out
    }

    /// PID files in `<home>/run` whose service is not configured any more.
    fn retire_unconfigured(&self) -> Vec<(String, Recovered)> {
        let mut out = Vec::new();
        let Ok(dir) = std::fs::read_dir(self.home.join("run")) else {
            return out;
        };
        for entry in dir.flatten() {
            let path = entry.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".pid"))
            else {
                continue;
            };
            if self.agents.contains_key(name) {
                continue;
            }
            let Ok(mut file) = AgentPidFile::open(&self.home, name) else {
                continue;
            };
            let found = match file.read() {
                Ok(Some(rec)) if rec.liveness() == Liveness::Alive => {
                    let _ = killpg(to_pid(rec.pid), Signal::SIGTERM);
                    Recovered::Retired { pid: rec.pid }
                }
                Ok(_) | Err(_) => Recovered::Stale {
                    reason: "its service is no longer configured".into(),
                },
            };
            drop(file);
            let _ = std::fs::remove_file(&path);
            out.push((name.to_owned(), found));
        }
        out
    }

    /// The PID of a service's agent, if running.
    pub fn pid(&self, service: &str) -> Option<u32> {
        self.agents.get(service).and_then(|a| a.pid)
    }

    /// Spawns a service's agent. `now_ms` goes into its PID file.
    pub fn spawn(&mut self, service: &str, now_ms: u64) -> Result<u32, String> {
        let home = self.home.clone();
        let exits = self.exits.clone();
        let agent = self
            .agents
            .get_mut(service)
            .ok_or_else(|| format!("unknown service {service:?}"))?;
        if let Some(pid) = agent.pid {
            return Err(format!("already running as PID {pid}"));
        }
        if agent.spec.command.is_empty() {
            return Err(format!(
                "service {service:?} has no command: it only keeps its wallets funded"
            ));
        }
        let log_path = Self::log_path(&home, service);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("cannot open log {}: {e}", log_path.display()))?;
        let log2 = log
            .try_clone()
            .map_err(|e| format!("cannot open log {}: {e}", log_path.display()))?;
        let spec = &agent.spec;
        let mut cmd = tokio::process::Command::new(&spec.command[0]);
        cmd.args(&spec.command[1..])
            .envs(&spec.env)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .process_group(0)
            .kill_on_drop(false);
        if let Some(cwd) = &spec.cwd {
            cmd.current_dir(cwd);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", spec.command[0]))?;
        let pid = child
            .id()
            .ok_or_else(|| "the agent exited before tend saw its PID".to_owned())?;
        agent.generation += 1;
        agent.pid = Some(pid);
        if let Some(rec) = AgentRecord::of(pid, now_ms) {
            agent.pidfile.write(&rec).map_err(|e| e.to_string())?;
        }
        let generation = agent.generation;
        let name = service.to_owned();
        tokio::spawn(async move {
            let status = match child.wait().await {
                Ok(s) => exit_status(s),
                Err(_) => ExitStatus {
                    code: None,
                    signal: None,
                },
            };
            let _ = exits.send(ExitReport {
                service: name,
                generation,
                status,
            });
        });
        Ok(pid)
    }

    /// Handles an exit report; `false` when it is about an older process (ignore it).
    pub fn exited(&mut self, report: &ExitReport) -> bool {
        let Some(agent) = self.agents.get_mut(&report.service) else {
            return false;
        };
        if agent.generation != report.generation || agent.pid.is_none() {
            return false;
        }
        if let Some(pid) = agent.pid.take() {
            // Whatever the leader left in its group would hold ports and files the next start
            // needs.
            let _ = killpg(to_pid(pid), Signal::SIGKILL);
        }
        let _ = agent.pidfile.clear();
        true
    }

    /// Sends a signal to a service's process group. `false` when nothing runs.
    pub fn signal(&self, service: &str, signal: Signal) -> bool {
        match self.pid(service) {
            Some(pid) => killpg(to_pid(pid), signal).is_ok(),
            None => false,
        }
    }

    /// Rotates logs above the size limit (copy to `.1`, older ones shifted, then truncate).
    pub fn rotate_logs(&self) {
        for name in self.agents.keys() {
            let _ = rotate(
                &Self::log_path(&self.home, name),
                self.log_max_bytes,
                self.log_keep,
            );
        }
    }

    /// Stops every running agent: `SIGTERM` to each group, up to `grace` to exit, then
    /// `SIGKILL`. Used at shutdown.
    pub async fn stop_all(&mut self, grace: Duration) {
        let running: Vec<(String, u32)> = self
            .agents
            .iter()
            .filter_map(|(n, a)| a.pid.map(|p| (n.clone(), p)))
            .collect();
        for (_, pid) in &running {
            let _ = killpg(to_pid(*pid), Signal::SIGTERM);
        }
        let deadline = crate::clock::instant() + grace;
        loop {
            let alive = running
                .iter()
                .any(|(_, pid)| crate::agents::pidfile::identity(*pid).is_some());
            if !alive || crate::clock::instant() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (name, pid) in &running {
            let _ = killpg(to_pid(*pid), Signal::SIGKILL);
            if let Some(a) = self.agents.get_mut(name) {
                a.pid = None;
                let _ = a.pidfile.clear();
            }
        }
    }

    /// Leaves every agent running (daemon restart without stopping agents): forgets them
    /// without touching the PID files, so the next daemon adopts them.
    pub fn detach_all(&mut self) {
        for a in self.agents.values_mut() {
            a.pid = None;
        }
    }
}

#[allow(clippy::cast_possible_wrap)] // PIDs fit in i32 on Linux
fn to_pid(pid: u32) -> Pid {
    Pid::from_raw(pid as i32)
}

fn exit_status(s: std::process::ExitStatus) -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    ExitStatus {
        code: s.code(),
        signal: s.signal(),
    }
}

/// Watches an adopted process (not our child: no `wait`) until it is gone.
fn watch_adopted(
    service: String,
    generation: u64,
    record: AgentRecord,
    exits: UnboundedSender<ExitReport>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            if record.liveness() != Liveness::Alive {
                let _ = exits.send(ExitReport {
                    service,
                    generation,
                    status: ExitStatus {
                        code: None,
                        signal: None,
                    },
                });
                return;
            }
        }
    });
}

/// Copy-truncate rotation: `log` above `max` bytes becomes `log.1` (older files shift up to
/// `log.<keep>`), and `log` is truncated in place.
pub fn rotate(log: &Path, max: u64, keep: u32) -> std::io::Result<bool> {
    let size = match std::fs::metadata(log) {
        Ok(m) => m.len(),
        Err(_) => return Ok(false),
    };
    if size <= max {
        return Ok(false);
    }
    let name = |i: u32| PathBuf::from(format!("{}.{i}", log.display()));
    if keep == 0 {
        OpenOptions::new().write(true).open(log)?.set_len(0)?;
        return Ok(true);
    }
    let _ = std::fs::remove_file(name(keep));
    for i in (1..keep).rev() {
        let _ = std::fs::rename(name(i), name(i + 1));
    }
    std::fs::copy(log, name(1))?;
    OpenOptions::new().write(true).open(log)?.set_len(0)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn logs_rotate_by_copy_and_truncate_keeping_the_newest() {
        let dir = std::env::temp_dir().join(format!("tend-rotate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("a.log");
        // An open append-mode descriptor, as the agent holds.
        let mut agent = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        for round in 0..4u8 {
            agent.write_all(&[b'a' + round; 100]).unwrap();
            assert!(!rotate(&log, 150, 2).unwrap(), "rotated below the limit");
            agent.write_all(&[b'a' + round; 100]).unwrap();
            assert!(rotate(&log, 150, 2).unwrap());
            assert_eq!(std::fs::metadata(&log).unwrap().len(), 0);
        }
        // The agent keeps writing at the start of the truncated file.
        agent.write_all(b"after").unwrap();
        assert_eq!(std::fs::read(&log).unwrap(), b"after");
        // Two kept: the newest rounds; the oldest dropped.
        assert_eq!(std::fs::read(dir.join("a.log.1")).unwrap(), vec![b'd'; 200]);
        assert_eq!(std::fs::read(dir.join("a.log.2")).unwrap(), vec![b'c'; 200]);
        assert!(!dir.join("a.log.3").exists());
        assert!(!rotate(&dir.join("missing.log"), 1, 2).unwrap());
    }
}
