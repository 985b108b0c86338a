//! PID files locked with fs4.
//!
//! The daemon's own (`<home>/tend.pid`) is held under an exclusive lock for the daemon's life: a
//! second `tend run` on the same home fails at once and names the running PID. The lock, not
//! the file's existence, is the truth — a file left by a crash is unlocked and simply reused.
//!
//! Each agent has `<home>/run/<service>.pid` (JSON: PID, the process's start time in clock
//! ticks since boot and its command line as `/proc` shows them). A PID file is trusted only
//! when a process with that PID is alive *and* has the same start time and command line; a PID
//! reused by an unrelated process is never signalled.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A PID file problem.
#[derive(Debug, thiserror::Error)]
pub enum PidError {
    /// Another daemon holds the home.
    #[error(
        "another tend is already running on {home} (PID {pid}): stop it with `tend stop` or use another home"
    )]
    AlreadyRunning {
        /// The home.
        home: PathBuf,
        /// Its PID as the file says (`?` when unreadable).
        pid: String,
    },
    /// I/O.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

fn io_err(path: &Path, e: &std::io::Error) -> PidError {
    PidError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Opens (creating, never truncating) a file for reading and writing.
fn open_rw(path: &Path) -> Result<File, PidError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| io_err(path, &e))
}

/// The daemon's lock; released when dropped (or when the process dies, however it dies).
#[derive(Debug)]
pub struct DaemonLock {
    _file: File,
    path: PathBuf,
}

impl DaemonLock {
    /// The PID file's path for a home.
    pub fn path(home: &Path) -> PathBuf {
        home.join("tend.pid")
    }

    /// Takes the lock and writes our PID.
    pub fn acquire(home: &Path) -> Result<Self, PidError> {
        std::fs::create_dir_all(home).map_err(|e| io_err(home, &e))?;
        let path = Self::path(home);
        let mut file = open_rw(&path)?;
        // fs4's advisory flock, named explicitly: std's inherent `File::try_lock` has the same
        // name.
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let pid = text.trim();
                return Err(PidError::AlreadyRunning {
                    home: home.to_owned(),
                    pid: if pid.is_empty() {
                        "?".into()
                    } else {
                        pid.to_owned()
                    },
                });
            }
            Err(fs4::TryLockError::Error(e)) => return Err(io_err(&path, &e)),
        }
        file.set_len(0).map_err(|e| io_err(&path, &e))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| io_err(&path, &e))?;
        writeln!(file, "{}", std::process::id()).map_err(|e| io_err(&path, &e))?;
        file.sync_all().map_err(|e| io_err(&path, &e))?;
        Ok(Self { _file: file, path })
    }

    /// The file.
    pub fn file_path(&self) -> &Path {
        &self.path
    }
}

/// Whether a daemon holds the home, and its PID.
pub fn running_daemon(home: &Path) -> Option<u32> {
    let path = DaemonLock::path(home);
    let file = File::open(&path).ok()?;
    match fs4::FileExt::try_lock_shared(&file) {
        Ok(()) => None,
        Err(_) => std::fs::read_to_string(&path).ok()?.trim().parse().ok(),
    }
}

/// What an agent's PID file records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRecord {
    /// The PID (also the process group id: agents lead their own group).
    pub pid: u32,
    /// The start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start_ticks: u64,
    /// The command line as `/proc/<pid>/cmdline` shows it.
    pub cmdline: Vec<String>,
    /// When tend started it, ms since the epoch.
    pub started_at_ms: u64,
}

/// What the PID file's process is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// The same process is alive.
    Alive,
    /// No process has that PID (or only a zombie).
    Gone,
    /// Another process has that PID now.
    Reused,
}

/// A process's identity from `/proc`: start ticks and command line. `None` when it does not
/// exist or is a zombie.
pub fn identity(pid: u32) -> Option<(u64, Vec<String>)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // fields[0] is field 3 (state); start time is field 22.
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    let start_ticks: u64 = fields.get(19)?.parse().ok()?;
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args = raw
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    Some((start_ticks, args))
}

impl AgentRecord {
    /// Reads the identity of a just-spawned process.
    ///
    /// A spawner resumes while the child's `execve` is still setting up the new program's
    /// memory, where `/proc/<pid>/cmdline` reads empty for a moment: the read is repeated
    /// (bounded: a few thousand yields, milliseconds at most) until the command line shows, so
    /// adoption can match it.
    pub fn of(pid: u32, started_at_ms: u64) -> Option<Self> {
        let (mut start_ticks, mut cmdline) = identity(pid)?;
        for _ in 0..5_000 {
            if !cmdline.is_empty() {
                break;
            }
            std::thread::yield_now();
            (start_ticks, cmdline) = identity(pid)?;
        }
        Some(Self {
            pid,
            start_ticks,
            cmdline,
            started_at_ms,
        })
    }

    /// Whether the recorded process still runs.
    pub fn liveness(&self) -> Liveness {
        match identity(self.pid) {
            None => Liveness::Gone,
            // An empty recorded command line (read while the process was still starting or
            // already exiting) leaves the start time, which alone tells a reused PID apart.
            Some((start, cmd))
                if start == self.start_ticks
                    && (self.cmdline.is_empty() || cmd == self.cmdline) =>
            {
                Liveness::Alive
            }
            Some(_) => Liveness::Reused,
        }
    }
}

/// An agent's PID file, locked while this daemon supervises the agent.
#[derive(Debug)]
pub struct AgentPidFile {
    file: File,
    path: PathBuf,
}

impl AgentPidFile {
    /// The file of a service.
    pub fn path(home: &Path, service: &str) -> PathBuf {
        home.join("run").join(format!("{service}.pid"))
    }

    /// Opens and locks a service's PID file (creating it empty).
    pub fn open(home: &Path, service: &str) -> Result<Self, PidError> {
        let path = Self::path(home, service);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_err(dir, &e))?;
        }
        let file = open_rw(&path)?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => Ok(Self { file, path }),
            Err(fs4::TryLockError::WouldBlock) => Err(PidError::Io {
                path,
                message: "locked by another process (another tend on this home?)".into(),
            }),
            Err(fs4::TryLockError::Error(e)) => Err(io_err(&path, &e)),
        }
    }

    /// The record in the file. `Err` with the reason when the file holds something that is not
    /// a record (treated as stale).
    pub fn read(&mut self) -> Result<Option<AgentRecord>, String> {
        let mut text = String::new();
        self.file
            .seek(SeekFrom::Start(0))
            .and_then(|_| self.file.read_to_string(&mut text))
            .map_err(|e| e.to_string())?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("not a PID record: {e}"))
    }

    /// Replaces the record (durable when it returns).
    pub fn write(&mut self, record: &AgentRecord) -> Result<(), PidError> {
        let json = serde_json::to_string(record).map_err(|e| PidError::Io {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        self.file
            .set_len(0)
            .and_then(|()| self.file.seek(SeekFrom::Start(0)))
            .and_then(|_| self.file.write_all(json.as_bytes()))
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io_err(&self.path, &e))
    }

    /// Empties the file (the agent is not running).
    pub fn clear(&mut self) -> Result<(), PidError> {
        self.file
            .set_len(0)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io_err(&self.path, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tend-pid-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn the_daemon_lock_is_exclusive_and_names_the_holder() {
        let h = home("daemon");
        let lock = DaemonLock::acquire(&h).unwrap();
        let e = DaemonLock::acquire(&h).unwrap_err().to_string();
        assert!(e.contains(&std::process::id().to_string()), "{e}");
        assert_eq!(running_daemon(&h), Some(std::process::id()));
        drop(lock);
        assert_eq!(running_daemon(&h), None);
        let _again = DaemonLock::acquire(&h).unwrap();
    }

    #[test]
    fn our_own_identity_is_alive_and_a_changed_start_time_is_reuse() {
        let me = AgentRecord::of(std::process::id(), 0).unwrap();
        assert_eq!(me.liveness(), Liveness::Alive);
        let reused = AgentRecord {
            start_ticks: me.start_ticks + 1,
            ..me.clone()
        };
        assert_eq!(reused.liveness(), Liveness::Reused);
        let other_cmd = AgentRecord {
            cmdline: vec!["something-else".into()],
            ..me
        };
        assert_eq!(other_cmd.liveness(), Liveness::Reused);
        let gone = AgentRecord {
            pid: u32::MAX - 1,
            start_ticks: 0,
            cmdline: Vec::new(),
            started_at_ms: 0,
        };
        assert_eq!(gone.liveness(), Liveness::Gone);
    }

    /// The command line is recorded even when read at once after the spawn (the moment a
    /// spawner resumes, the child's exec may not have set it up yet).
    #[test]
    fn a_just_spawned_process_is_recorded_with_its_command_line() {
        use std::os::unix::process::CommandExt;
        for _ in 0..20 {
            let mut c = std::process::Command::new("sleep")
                .arg("5")
                .process_group(0)
                .spawn()
                .unwrap();
            let r = AgentRecord::of(c.id(), 0);
            let _ = c.kill();
            let _ = c.wait();
            assert_eq!(r.unwrap().cmdline, ["sleep", "5"]);
        }
    }

    #[test]
    fn agent_files_lock_round_trip_and_refuse_garbage() {
        let h = home("agent");
        let mut f = AgentPidFile::open(&h, "svc").unwrap();
        assert!(
            AgentPidFile::open(&h, "svc").is_err(),
            "a second lock was granted"
        );
        assert_eq!(f.read().unwrap(), None);
        let rec = AgentRecord::of(std::process::id(), 42).unwrap();
        f.write(&rec).unwrap();
        assert_eq!(f.read().unwrap(), Some(rec));
        f.clear().unwrap();
        assert_eq!(f.read().unwrap(), None);
        std::fs::write(AgentPidFile::path(&h, "svc"), "12345 garbage").unwrap();
        assert!(f.read().is_err());
    }

    proptest::proptest! {
        #[test]
        fn no_pid_file_content_panics_the_reader(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let h = home(&format!("fuzz-{}", bytes.len()));
            let mut f = AgentPidFile::open(&h, "svc").unwrap();
            std::fs::write(AgentPidFile::path(&h, "svc"), &bytes).unwrap();
            let _ = f.read();
        }
    }
}
