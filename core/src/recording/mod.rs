//! Recordings of what crossed the engine's boundary, and their replay.
//!
//! A recording is versioned JSON lines. Line 1 is the [`Header`]: the format and its version,
//! tend's version, the chains, a hash of the engine configuration, the start time, and what the
//! engine was started from (the configuration, the journal entries, the adopted services) —
//! everything [`Engine::restore`] needs. Every further line is one [`Input`], exactly as the
//! engine received it (each carries its own time).
//!
//! [`replay_text`] re-runs the engine and gives its outputs as JSON lines; the same recording
//! gives the same bytes on every target (the native binary and the wasm package share this
//! code). [`what_if()`] replays the same history under another configuration and lists how the
//! decisions differ. Writing recordings is the adapters' job.

pub mod what_if;

use alloy_primitives::keccak256;
use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use crate::chain::ChainId;
use crate::engine::Engine;
use crate::engine::config::ConfigError;
use crate::engine::config::EngineConfig;
use crate::engine::io::{Input, JournalEntry, Output};
use crate::time::Timestamp;

pub use what_if::{Decision, WhatIf, what_if};

/// The format's name in the header.
pub const FORMAT: &str = "tend-recording";
/// The format's version.
pub const VERSION: u32 = 1;

/// The first line of a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
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

    /// An engine restored as the recorded one was, under `config`.
    pub fn restore(&self, config: EngineConfig) -> Result<Engine, ConfigError> {
        let running: Vec<&str> = self.running.iter().map(String::as_str).collect();
        Engine::restore(config, self.started_at, self.journal.clone(), &running)
    }
}

/// Keccak-256 of a configuration's JSON, hex.
pub fn config_hash(config: &EngineConfig) -> String {
    format!("{:x}", keccak256(tend_json::write::to_string(config)))
}

/// Keccak-256 of a text, hex (the hash of a replay's outputs).
pub fn text_hash(text: &str) -> String {
    format!("{:x}", keccak256(text.as_bytes()))
}

/// A line of a recording that is not what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A recording that cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The recording does not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The engine refuses the recorded (or the what-if) configuration.
    #[error("the engine refuses the configuration: {0}")]
    Config(String),
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
    /// Parses a recording's text. A truncated last line (a crash while writing) is an error
    /// naming it, like any other bad line; blank lines are skipped.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let err = |line: usize, message: String| ParseError { line, message };
        let mut lines = text.lines().enumerate();
        let (_, first) = lines
            .next()
            .ok_or_else(|| err(1, "empty file: not a tend recording".into()))?;
        let v = tend_json::read::document(first)
            .map_err(|e| err(1, format!("the header is not JSON: {e}")))?;
        if v.get("format")
            .and_then(tend_json::read::Node::as_str)
            .as_deref()
            != Some(FORMAT)
        {
            return Err(err(
                1,
                format!("not a tend recording (no \"format\": \"{FORMAT}\")"),
            ));
        }
        match v
            .get("version")
            .and_then(tend_json::read::Node::as_number)
            .and_then(|n| n.as_u64())
        {
            Some(n) if n == u64::from(VERSION) => {}
            Some(n) => {
                return Err(err(
                    1,
                    format!("recording format version {n}; this tend reads version {VERSION}"),
                ));
            }
            None => return Err(err(1, "the header has no version".into())),
        }
        // Read again from the text as a whole header, by the same reader.
        let header: Header =
            tend_json::read::from_str(first).map_err(|e| err(1, format!("bad header: {e}")))?;
        if config_hash(&header.config) != header.config_hash {
            return Err(err(
                1,
                "the configuration does not match its hash (edited by hand?)".into(),
            ));
        }
        let mut inputs = Vec::new();
        for (i, l) in lines {
            if l.trim().is_empty() {
                continue;
            }
            let input =
                Input::from_json(l).map_err(|e| err(i + 1, format!("not an engine input: {e}")))?;
            inputs.push(input);
        }
        Ok(Self { header, inputs })
    }
}

impl Recording {
    /// The recording as the recorder writes it: the header line, then one line per input.
    pub fn to_text(&self) -> String {
        let mut w = tend_json::write::Writer::default();
        w.write_line(&self.header);
        for i in &self.inputs {
            w.write_line(i);
        }
        w.into_string()
    }
}

/// Re-runs the engine on a recording: every output, in order.
pub fn replay(rec: &Recording) -> Result<Vec<Output>, ReplayError> {
    let mut out = Vec::new();
    replay_each(&rec.header, rec.inputs.iter().cloned(), |o| out.push(o))?;
    Ok(out)
}

/// Re-runs the engine from `header` on `inputs`, handing each output to `sink` in order.
pub fn replay_each(
    header: &Header,
    inputs: impl IntoIterator<Item = Input>,
    mut sink: impl FnMut(Output),
) -> Result<(), ReplayError> {
    let mut engine = header
        .restore(header.config.clone())
        .map_err(|e| ReplayError::Config(e.to_string()))?;
    while let Some(o) = engine.poll_output() {
        sink(o);
    }
    for input in inputs {
        engine.handle_input(input);
        while let Some(o) = engine.poll_output() {
            sink(o);
        }
    }
    Ok(())
}

/// Re-runs the engine on a recording's text: its outputs as JSON lines, each ending in `\n`.
/// Byte for byte the same on every target.
pub fn replay_text(text: &str) -> Result<String, ReplayError> {
    let rec = Recording::parse(text)?;
    let mut w = tend_json::write::Writer::default();
    replay_each(&rec.header, rec.inputs, |o| w.write_line(&o))?;
    Ok(w.into_string())
}

/// Outputs as JSON lines, each ending in `\n` (the form golden files hold).
pub fn outputs_text(outputs: &[Output]) -> String {
    let mut w = tend_json::write::Writer::default();
    for o in outputs {
        w.write_line(o);
    }
    w.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> EngineConfig {
        serde_json::from_str(r#"{"chains":[],"services":[]}"#).unwrap()
    }

    fn header_line() -> String {
        serde_json::to_string(&Header::new(
            &config(),
            Timestamp::from_ms(5),
            Vec::new(),
            Vec::new(),
        ))
        .unwrap()
    }

    #[test]
    fn bad_recordings_name_their_line() {
        let h = header_line();
        let cases = [
            (String::new(), 1, "empty"),
            ("{}".to_owned(), 1, "not a tend recording"),
            (h.replace("\"version\":1", "\"version\":9"), 1, "version 9"),
            (h.replace("\"version\":1,", ""), 1, "no version"),
            (
                h.replace(&config_hash(&config()), "00"),
                1,
                "does not match its hash",
            ),
            (
                format!("{h}\n{{\"input\":\"tick\",\"now\":7}}\n{{\"input\":\"nope\"}}"),
                3,
                "not an engine input",
            ),
            (
                format!("{h}\n{{\"input\":\"tick\",\"no"),
                2,
                "not an engine input",
            ),
        ];
        for (text, line, what) in cases {
            let e = Recording::parse(&text).unwrap_err();
            assert_eq!(e.line, line, "{e}");
            assert!(e.message.contains(what), "{e}");
        }
        let ok = format!("{h}\n{{\"input\":\"tick\",\"now\":7}}\n\n");
        assert_eq!(Recording::parse(&ok).unwrap().inputs.len(), 1);
        // An empty engine replays to no outputs.
        assert_eq!(replay_text(&ok).unwrap(), "");
    }

    proptest::proptest! {
        #[test]
        fn no_text_panics_the_parser(tail in ".{0,300}", cut in 0usize..2000) {
            let _ = Recording::parse(&tail);
            let full = format!("{}\n{tail}", header_line());
            let _ = replay_text(&full);
            // Any prefix of a valid header: a typed error, never a panic.
            let h = header_line();
            let end = (0..=cut.min(h.len())).rev().find(|&i| h.is_char_boundary(i)).unwrap_or(0);
            proptest::prop_assert!(Recording::parse(&h[..end]).is_err() || end == h.len());
        }
    }
}
