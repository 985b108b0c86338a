//! Recordings on disk: [`Recorder`] writes one as the daemon runs, [`load`] reads one. The
//! format, its parser and the replay are the core's ([`tend_core::recording`]), shared with the
//! wasm package so a recording replays to the same bytes everywhere. No secrets: the engine's
//! configuration holds no URLs or keys, and RPC failures are redacted before they reach the
//! engine.

use std::io::Write;
use std::path::{Path, PathBuf};

use tend_core::engine::io::Input;
pub use tend_core::recording::{Header, Recording};
use tend_core::time::Timestamp;

/// A recording that cannot be read. Names the file and the line.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// The file cannot be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A line is not what it must be.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Reads and parses a recording file.
pub fn load(path: &Path) -> Result<Recording, RecordingError> {
    let text = std::fs::read_to_string(path).map_err(|e| RecordingError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    Recording::parse(&text).map_err(|e| RecordingError::Line {
        path: path.to_owned(),
        line: e.line,
        message: e.message,
    })
}

/// Writes a recording as the daemon runs: one line per input, flushed at once (a crash loses at
/// most the line being written).
#[derive(Debug)]
pub struct Recorder {
    out: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
    /// The input time of the last flush.
    flushed_at: Timestamp,
}

/// Buffered inputs reach the file at least this often (input time), and whenever the daemon
/// waits ([`Recorder::flush`]): a crash loses at most the last moments.
pub const FLUSH_EVERY_MS: u64 = 200;

impl Recorder {
    /// Creates the file and writes the header.
    pub fn create(path: &Path, header: &Header) -> Result<Self, RecordingError> {
        let io = |e: std::io::Error| RecordingError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let file = std::fs::File::create(path).map_err(io)?;
        let mut r = Self {
            out: std::io::BufWriter::with_capacity(256 * 1024, file),
            path: path.to_owned(),
            flushed_at: header.started_at,
        };
        r.line(header)?;
        r.flush()?;
        Ok(r)
    }

    /// Appends an input; flushes when [`FLUSH_EVERY_MS`] of input time have passed.
    pub fn input(&mut self, input: &Input) -> Result<(), RecordingError> {
        self.line(input)?;
        if input.now().since(self.flushed_at) >= FLUSH_EVERY_MS {
            self.flushed_at = input.now();
            self.flush()?;
        }
        Ok(())
    }

    /// Writes what is buffered to the file (the daemon calls it before it waits).
    pub fn flush(&mut self) -> Result<(), RecordingError> {
        self.out.flush().map_err(|e| self.error(&e))
    }

    fn line<T: serde::Serialize>(&mut self, value: &T) -> Result<(), RecordingError> {
        serde_json::to_writer(&mut self.out, value)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|e| self.error(&e))
    }

    fn error(&self, e: &std::io::Error) -> RecordingError {
        RecordingError::Io {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_file_names_its_path_and_line() {
        let dir = std::env::temp_dir().join(format!("tend-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("r.jsonl");
        std::fs::write(&p, "{}\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(
            e.contains("r.jsonl:1:") && e.contains("not a tend recording"),
            "{e}"
        );
        let e = load(&dir.join("absent.jsonl")).unwrap_err().to_string();
        assert!(e.contains("absent.jsonl"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
