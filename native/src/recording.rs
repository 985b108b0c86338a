//! Recordings of what crossed the engine's boundary: versioned JSON lines.
//!
//! Line 1 is the header: the format and its version, tend's version, the chains, a hash of the
//! engine configuration, the start time, and what the engine was started from (the engine
//! configuration, the journal entries, the adopted services) — everything
//! [`tend_core::engine::Engine::restore`] needs. Every further line is one input, exactly as the
//! engine received it (each carries its own time). No secrets: the engine's configuration holds
//! no URLs or keys, and RPC failures are redacted before they reach the engine.

use std::io::Write;
use std::path::{Path, PathBuf};

use alloy::primitives::keccak256;
use serde::{Deserialize, Serialize};
use tend_core::chain::ChainId;
use tend_core::engine::config::EngineConfig;
use tend_core::engine::io::{Input, JournalEntry};
use tend_core::time::Timestamp;

/// The format's name in the header.
pub const FORMAT: &str = "tend-recording";
/// The format's version.
pub const VERSION: u32 = 1;

/// The first line of a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version.
    pub version: u32,
    /// The tend that recorded it.
    pub tend_version: String,
    /// The chains.
    pub chains: Vec<ChainId>,
    /// Keccak-256 of the engine configuration's JSON, hex.
    pub config_hash: String,
    /// When the engine started.
    pub started_at: Timestamp,
    /// The engine configuration.
    pub config: EngineConfig,
    /// The journal the engine was restored from.
    pub journal: Vec<JournalEntry>,
    /// Services adopted at start.
    pub running: Vec<String>,
}

impl Header {
    /// A header for an engine started from these.
    pub fn new(
        config: &EngineConfig,
        started_at: Timestamp,
        journal: Vec<JournalEntry>,
        running: Vec<String>,
    ) -> Self {
        Self {
            format: FORMAT.into(),
            version: VERSION,
            tend_version: env!("CARGO_PKG_VERSION").into(),
            chains: config.chains.iter().map(|c| c.chain).collect(),
            config_hash: config_hash(config),
            started_at,
            config: config.clone(),
            journal,
            running,
        }
    }
}

/// Keccak-256 of a configuration's JSON.
pub fn config_hash(config: &EngineConfig) -> String {
    let json = serde_json::to_vec(config).unwrap_or_default();
    format!("{:x}", keccak256(json))
}

/// A recording that cannot be read. Names the line.
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

/// A parsed recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// The header.
    pub header: Header,
    /// The inputs, in order.
    pub inputs: Vec<Input>,
}

impl Recording {
    /// Parses a recording's text (`path` names it in errors). A truncated last line (a crash
    /// while writing) is an error naming it, like any other bad line.
    pub fn parse(path: &Path, text: &str) -> Result<Self, RecordingError> {
        let line_err = |line: usize, message: String| RecordingError::Line {
            path: path.to_owned(),
            line,
            message,
        };
        let mut lines = text.lines().enumerate();
        let (_, first) = lines
            .next()
            .ok_or_else(|| line_err(1, "empty file: not a tend recording".into()))?;
        let v: serde_json::Value = serde_json::from_str(first)
            .map_err(|e| line_err(1, format!("the header is not JSON: {e}")))?;
        if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(line_err(
                1,
                format!("not a tend recording (no \"format\": \"{FORMAT}\")"),
            ));
        }
        match v.get("version").and_then(serde_json::Value::as_u64) {
            Some(n) if n == u64::from(VERSION) => {}
            Some(n) => {
                return Err(line_err(
                    1,
                    format!("recording format version {n}; this tend reads version {VERSION}"),
                ));
            }
            None => return Err(line_err(1, "the header has no version".into())),
        }
        let header: Header =
            serde_json::from_value(v).map_err(|e| line_err(1, format!("bad header: {e}")))?;
        if config_hash(&header.config) != header.config_hash {
            return Err(line_err(
                1,
                "the configuration does not match its hash (edited by hand?)".into(),
            ));
        }
        let mut inputs = Vec::new();
        for (i, l) in lines {
            if l.trim().is_empty() {
                continue;
            }
            let input: Input = serde_json::from_str(l)
                .map_err(|e| line_err(i + 1, format!("not an engine input: {e}")))?;
            inputs.push(input);
        }
        Ok(Self { header, inputs })
    }

    /// Reads a file.
    pub fn load(path: &Path) -> Result<Self, RecordingError> {
        let text = std::fs::read_to_string(path).map_err(|e| RecordingError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Self::parse(path, &text)
    }
}

/// Writes a recording as the daemon runs: one line per input, flushed at once (a crash loses at
/// most the line being written).
#[derive(Debug)]
pub struct Recorder {
    out: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
}

impl Recorder {
    /// Creates the file and writes the header.
    pub fn create(path: &Path, header: &Header) -> Result<Self, RecordingError> {
        let io = |e: std::io::Error| RecordingError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let file = std::fs::File::create(path).map_err(io)?;
        let mut r = Self {
            out: std::io::BufWriter::new(file),
            path: path.to_owned(),
        };
        r.line(&serde_json::to_string(header).unwrap_or_default())?;
        Ok(r)
    }

    /// Appends an input.
    pub fn input(&mut self, input: &Input) -> Result<(), RecordingError> {
        let line = serde_json::to_string(input).map_err(|e| RecordingError::Io {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        self.line(&line)
    }

    fn line(&mut self, text: &str) -> Result<(), RecordingError> {
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush())
            .map_err(|e| RecordingError::Io {
                path: self.path.clone(),
                message: e.to_string(),
            })
    }
}

/// Re-runs the engine on a recording: every output, one JSON line each, in order.
pub fn replay(rec: &Recording) -> Result<Vec<String>, String> {
    let running: Vec<&str> = rec.header.running.iter().map(String::as_str).collect();
    let mut engine = tend_core::engine::Engine::restore(
        rec.header.config.clone(),
        rec.header.started_at,
        rec.header.journal.clone(),
        &running,
    )
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let drain = |engine: &mut tend_core::engine::Engine, out: &mut Vec<String>| {
        while let Some(o) = engine.poll_output() {
            out.push(serde_json::to_string(&o).unwrap_or_default());
        }
    };
    drain(&mut engine, &mut out);
    for input in &rec.inputs {
        engine.handle_input(input.clone());
        drain(&mut engine, &mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_line() -> String {
        let config: EngineConfig = serde_json::from_str(r#"{"chains":[],"services":[]}"#).unwrap();
        serde_json::to_string(&Header::new(
            &config,
            Timestamp::from_ms(5),
            Vec::new(),
            Vec::new(),
        ))
        .unwrap()
    }

    #[test]
    fn bad_recordings_name_their_line() {
        let p = Path::new("r.jsonl");
        let h = header_line();
        let cases = [
            (String::new(), ":1:", "empty"),
            ("{}".to_owned(), ":1:", "not a tend recording"),
            (
                h.replace("\"version\":1", "\"version\":9"),
                ":1:",
                "version 9",
            ),
            (
                h.replace("\"started_at\":5", "\"started_at\":6").replace(
                    &config_hash(&serde_json::from_str(r#"{"chains":[],"services":[]}"#).unwrap()),
                    "00",
                ),
                ":1:",
                "hash",
            ),
            (
                format!("{h}\n{{\"input\":\"tick\",\"now\":7}}\n{{\"input\":\"nope\"}}"),
                ":3:",
                "not an engine input",
            ),
            (
                format!("{h}\n{{\"input\":\"tick\",\"no"),
                ":2:",
                "not an engine input",
            ),
        ];
        for (text, line, what) in cases {
            let e = Recording::parse(p, &text).unwrap_err().to_string();
            assert!(e.contains(line) && e.contains(what), "{e}");
        }
        let ok =
            Recording::parse(p, &format!("{h}\n{{\"input\":\"tick\",\"now\":7}}\n\n")).unwrap();
        assert_eq!(ok.inputs.len(), 1);
        // An empty engine replays to no outputs.
        assert!(replay(&ok).unwrap().is_empty());
    }

    proptest::proptest! {
        #[test]
        fn no_text_panics_the_parser(tail in ".{0,300}") {
            let _ = Recording::parse(Path::new("r"), &tail);
            let _ = Recording::parse(Path::new("r"), &format!("{}\n{tail}", header_line()));
        }
    }
}
