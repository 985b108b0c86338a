//! The agents' processes: each in its own process group with its log rotated by size, adopted
//! after a daemon crash only when its PID file's PID, start time and command line all match
//! (fs4-locked PID files, also the daemon's own lock on its home), stopped with SIGTERM, grace,
//! then SIGKILL to the group; and the HTTP probes of their health and funds-status URLs. May
//! call [`crate::config`], [`crate::secret`] and [`crate::clock`].

pub mod pidfile;
pub mod probe;
pub mod process;
