//! The Olas `healthcheck` body (`shared/domain/olas-middleware.md` §4.2, §4.4).

use crate::map::Map;

use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};
use tend_json::read::{Kind, Node};

/// A field that may be absent, `null`, or a boolean (the middleware picks fields by presence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, ToJson, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// The key is missing.
    #[default]
    Absent,
    /// The key is present with `null` or a value that is not a boolean.
    Null,
    /// `true`.
    True,
    /// `false`.
    False,
}

impl Flag {
    fn of(v: Option<Node<'_>>) -> Self {
        match v.map(Node::as_bool) {
            None => Self::Absent,
            Some(Some(true)) => Self::True,
            Some(Some(false)) => Self::False,
            Some(None) => Self::Null,
        }
    }

    /// Whether it is `true`.
    pub const fn is_true(self) -> bool {
        matches!(self, Self::True)
    }
}

/// The fields of an agent's healthcheck document tend reads. Numbers in seconds are kept as
/// whole milliseconds (rounded down) so the type stays exact and comparable.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToJson, Deserialize, FromJson)]
pub struct HealthBody {
    /// `is_healthy` (newer agents; preferred when present).
    pub is_healthy: Flag,
    /// `is_transitioning_fast`.
    pub is_transitioning_fast: Flag,
    /// `is_tm_healthy`.
    pub is_tm_healthy: Flag,
    /// `seconds_since_last_transition`, ms.
    pub since_last_transition_ms: Option<u64>,
    /// `period`.
    pub period: Option<u64>,
    /// `reset_pause_duration`, ms.
    pub reset_pause_duration_ms: Option<u64>,
    /// The boolean flags of `agent_health` (`is_making_on_chain_transactions`, …), for display.
    pub agent_health: Map<String, bool>,
}

/// A body that is not a healthcheck document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not JSON.
    #[error("the healthcheck body is not JSON: {message} (line {line}, column {column})")]
    NotJson {
        /// The parser's message.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// JSON, but not an object.
    #[error("the healthcheck body is JSON but not an object")]
    NotAnObject,
}

fn secs_to_ms(v: Option<Node<'_>>) -> Option<u64> {
    let v = v?.as_number()?;
    if let Some(u) = v.as_u64() {
        return Some(u.saturating_mul(1000));
    }
    let f = v.as_f64()?;
    if f.is_finite() && f >= 0.0 {
        // Saturating float-to-int cast: values beyond u64 become u64::MAX.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some((f * 1000.0) as u64)
    } else {
        None
    }
}

impl HealthBody {
    /// Parses a healthcheck body. Unknown fields are ignored; a field of the wrong type reads as
    /// absent (numbers) or `null` (flags), as the middleware's Python reads them.
    pub fn parse(text: &str) -> Result<Self, BodyError> {
        let v = tend_json::read::document(text).map_err(|e| BodyError::NotJson {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        })?;
        if v.kind() != Kind::Object {
            return Err(BodyError::NotAnObject);
        }
        let get = |key: &str| v.get(key);
        let agent_health = match get("agent_health").and_then(Node::entries) {
            Some(m) => m
                .into_iter()
                .filter_map(|(k, v)| v.as_bool().map(|b| (k, b)))
                .collect(),
            None => Map::new(),
        };
        Ok(Self {
            is_healthy: Flag::of(get("is_healthy")),
            is_transitioning_fast: Flag::of(get("is_transitioning_fast")),
            is_tm_healthy: Flag::of(get("is_tm_healthy")),
            since_last_transition_ms: secs_to_ms(get("seconds_since_last_transition")),
            period: get("period")
                .and_then(Node::as_number)
                .and_then(|n| n.as_u64()),
            reset_pause_duration_ms: secs_to_ms(get("reset_pause_duration")),
            agent_health,
        })
    }

    /// The middleware's verdict: `is_healthy` when the key is present (so `null` is unhealthy),
    /// else `is_transitioning_fast`, else unhealthy.
    pub fn verdict(&self) -> bool {
        match self.is_healthy {
            Flag::Absent => self.is_transitioning_fast.is_true(),
            Flag::Null | Flag::True | Flag::False => self.is_healthy.is_true(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_picks_the_field() {
        let b = |s: &str| HealthBody::parse(s).unwrap().verdict();
        assert!(b(r#"{"is_healthy": true, "is_transitioning_fast": false}"#));
        assert!(!b(r#"{"is_healthy": null, "is_transitioning_fast": true}"#));
        assert!(!b(
            r#"{"is_healthy": false, "is_transitioning_fast": true}"#
        ));
        assert!(b(r#"{"is_transitioning_fast": true}"#));
        assert!(!b(r#"{"is_transitioning_fast": null}"#));
        assert!(!b("{}"));
        assert!(!b(r#"{"is_healthy": "yes"}"#));
    }

    #[test]
    fn fields_and_errors() {
        let body = HealthBody::parse(
            r#"{"seconds_since_last_transition": 12.5, "is_tm_healthy": true, "period": 7,
                "reset_pause_duration": 10, "rounds": ["a"],
                "agent_health": {"is_making_on_chain_transactions": true, "note": "x"}}"#,
        )
        .unwrap();
        assert_eq!(body.since_last_transition_ms, Some(12_500));
        assert_eq!(body.reset_pause_duration_ms, Some(10_000));
        assert_eq!(body.period, Some(7));
        assert_eq!(body.is_tm_healthy, Flag::True);
        assert_eq!(body.agent_health.len(), 1);
        assert!(matches!(
            HealthBody::parse("<html>"),
            Err(BodyError::NotJson { line: 1, .. })
        ));
        assert_eq!(HealthBody::parse("[1]"), Err(BodyError::NotAnObject));
        let odd =
            HealthBody::parse(r#"{"seconds_since_last_transition": -1, "period": 1.5}"#).unwrap();
        assert_eq!(odd.since_last_transition_ms, None);
        assert_eq!(odd.period, None);
    }
}
