//! A command's failure: the message printed after `error: ` and the exit code.

use crate::cli;
use crate::config::ConfigError;
use crate::daemon::DaemonError;

/// A failed command: the message and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// What to print after `error: `.
    pub message: String,
    /// The process exit code.
    pub code: u8,
}

impl Failure {
    /// Exit 1: the command could not run.
    pub fn io(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: cli::EXIT_FAILURE,
        }
    }
    /// Exit 2: bad usage, input or configuration.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: cli::EXIT_INVALID,
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        let code = match e {
            ConfigError::Read { .. } => cli::EXIT_FAILURE,
            ConfigError::Parse { .. } | ConfigError::Invalid { .. } => cli::EXIT_INVALID,
        };
        Self {
            message: e.to_string(),
            code,
        }
    }
}

impl From<DaemonError> for Failure {
    fn from(e: DaemonError) -> Self {
        Self {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}
