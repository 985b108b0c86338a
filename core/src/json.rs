//! Reading tend's JSON contracts with errors that name the JSON path of the bad field.
//!
//! The document is checked whole by tend's one JSON reader ([`tend_json::read::document`]); every
//! reader here then takes a [`Node`] of it and a [`Path`] and returns a typed [`InputError`]:
//! which field (as a JSONPath such as `$.service.chains.gnosis.cost_of_bond`) and what is wrong.

use std::borrow::Cow;

use alloy_primitives::U256;

use serde_json::Value;
pub use tend_json::path::{Path, PathError};
pub use tend_json::read::{Kind, Node};

use crate::address::{Address, AddressError, Asset, Holder, HolderError, parse_address};
use crate::amount::{AmountError, parse_decimal};
use crate::chain::{Chain, ChainId, UnknownChain, UnknownChainId};

/// A bad field in an input document: its JSONPath and what is wrong with it.
pub type InputError = PathError<InputErrorKind>;

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputErrorKind {
    /// The document is not JSON.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A required field is absent.
    #[error("missing field")]
    Missing,
    /// A field the schema does not have.
    #[error("unknown field (allowed here: {allowed})")]
    UnknownField {
        /// The fields allowed in this object.
        allowed: String,
    },
    /// The value has the wrong JSON type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the schema wants.
        expected: &'static str,
        /// What the document has.
        found: &'static str,
    },
    /// Not a valid address.
    #[error("invalid address {value:?}: {reason}")]
    InvalidAddress {
        /// The text as given.
        value: String,
        /// Why.
        reason: AddressError,
    },
    /// Not a valid holder.
    #[error("invalid holder {value:?}: {reason}")]
    InvalidHolder {
        /// The text as given.
        value: String,
        /// Why.
        reason: HolderError,
    },
    /// Not a valid amount.
    #[error(
        "invalid amount {value}: {reason} (amounts are decimal strings such as \"1500000000000000000\")"
    )]
    InvalidAmount {
        /// The value as given (JSON text).
        value: String,
        /// Why.
        reason: AmountError,
    },
    /// An unknown chain name.
    #[error("{0}")]
    UnknownChain(UnknownChain),
    /// Neither a chain name nor a chain id.
    #[error("{0}")]
    UnknownChainId(UnknownChainId),
    /// A number outside the allowed range.
    #[error("{value} is out of range: {expected}")]
    OutOfRange {
        /// The value as given.
        value: String,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// A value that breaks a rule of the schema beyond its type.
    #[error("{0}")]
    Invalid(String),
}

/// Parses JSON text into a [`Value`]. Adapters parse values through here, so the wasm package
/// holds one copy of the value parser.
pub fn parse_value(text: &str) -> Result<Value, tend_json::read::Error> {
    tend_json::read::from_str(text)
}

/// Checks a JSON document whole (one reader, [`tend_json::read`]), mapping a syntax error to an
/// [`InputError`] at `$`; its values are then read on demand.
pub fn parse_document(text: &str) -> Result<Node<'_>, InputError> {
    tend_json::read::document(text).map_err(|e| {
        Path::ROOT.error(InputErrorKind::Syntax {
            line: e.line(),
            column: e.column(),
            message: e.message().to_owned(),
        })
    })
}

/// The JSON type name of a value, for messages.
pub fn type_name(v: Node<'_>) -> &'static str {
    match v.kind() {
        Kind::Null => "null",
        Kind::Bool => "a boolean",
        Kind::Number => "a number",
        Kind::String => "a string",
        Kind::Array => "an array",
        Kind::Object => "an object",
    }
}

/// The value's JSON text, as tend writes it (compact), for messages.
pub fn text(v: Node<'_>) -> String {
    v.read::<Value>()
        .map_or_else(|_| String::new(), |v| tend_json::write::to_string(&v))
}

fn wrong(path: &Path<'_>, expected: &'static str, v: Node<'_>) -> InputError {
    path.error(InputErrorKind::WrongType {
        expected,
        found: type_name(v),
    })
}

/// An object whose fields are checked against an allowed list.
pub struct Obj<'v, 'p> {
    members: Vec<(String, Node<'v>)>,
    path: &'p Path<'p>,
}

impl<'v, 'p> Obj<'v, 'p> {
    /// Reads `v` as an object that may hold only the `allowed` fields.
    pub fn new(v: Node<'v>, path: &'p Path<'p>, allowed: &[&str]) -> Result<Self, InputError> {
        let members = v.entries().ok_or_else(|| wrong(path, "an object", v))?;
        if let Some((k, _)) = members.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            return Err(path.key(k).error(InputErrorKind::UnknownField {
                allowed: allowed.join(", "),
            }));
        }
        Ok(Obj { members, path })
    }

    fn get(&self, key: &str) -> Option<Node<'v>> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// A required field (present; it may be `null`).
    pub fn required(&self, key: &'static str) -> Result<Node<'v>, InputError> {
        self.get(key)
            .ok_or_else(|| self.path.key(key).error(InputErrorKind::Missing))
    }

    /// An optional field: `None` when absent or `null`.
    pub fn optional(&self, key: &'static str) -> Option<Node<'v>> {
        self.get(key).filter(|v| !v.is_null())
    }

    /// The path of a field of this object.
    pub fn path(&self) -> &'p Path<'p> {
        self.path
    }
}

/// Reads `v` as an object and returns its members (any keys).
pub fn entries<'v>(v: Node<'v>, path: &Path<'_>) -> Result<Vec<(String, Node<'v>)>, InputError> {
    v.entries().ok_or_else(|| wrong(path, "an object", v))
}

/// Reads `v` as an array.
pub fn array<'v>(v: Node<'v>, path: &Path<'_>) -> Result<Vec<Node<'v>>, InputError> {
    v.items().ok_or_else(|| wrong(path, "an array", v))
}

/// Reads a string.
pub fn string<'v>(v: Node<'v>, path: &Path<'_>) -> Result<Cow<'v, str>, InputError> {
    v.as_str().ok_or_else(|| wrong(path, "a string", v))
}

/// Reads a boolean.
pub fn boolean(v: Node<'_>, path: &Path<'_>) -> Result<bool, InputError> {
    v.as_bool().ok_or_else(|| wrong(path, "a boolean", v))
}

/// Reads a non-negative integer that fits in 64 bits.
pub fn uint(v: Node<'_>, path: &Path<'_>) -> Result<u64, InputError> {
    whole(
        v,
        path,
        serde_json::Number::as_u64,
        "a whole number from 0 to 2^64-1",
    )
}

/// Reads a signed integer that fits in 64 bits.
pub fn int(v: Node<'_>, path: &Path<'_>) -> Result<i64, InputError> {
    whole(
        v,
        path,
        serde_json::Number::as_i64,
        "a whole number from -2^63 to 2^63-1",
    )
}

/// Reads a whole number that `fits` takes, or says it is out of `range`.
fn whole<T>(
    v: Node<'_>,
    path: &Path<'_>,
    fits: fn(&serde_json::Number) -> Option<T>,
    range: &'static str,
) -> Result<T, InputError> {
    let n = v
        .as_number()
        .ok_or_else(|| wrong(path, "a whole number", v))?;
    fits(&n).ok_or_else(|| {
        path.error(InputErrorKind::OutOfRange {
            value: n.to_string(),
            expected: range,
        })
    })
}

/// Reads an amount: a decimal string.
pub fn amount(v: Node<'_>, path: &Path<'_>) -> Result<U256, InputError> {
    if let Some(s) = v.as_str() {
        return parse_decimal(&s).map_err(|reason| {
            path.error(InputErrorKind::InvalidAmount {
                value: tend_json::write::to_string(s.as_ref()),
                reason,
            })
        });
    }
    match v.as_number() {
        Some(n) => Err(path.error(InputErrorKind::InvalidAmount {
            value: n.to_string(),
            reason: if n.as_f64().is_some_and(|f| f < 0.0) {
                AmountError::Negative
            } else {
                AmountError::NotDecimal
            },
        })),
        None => Err(wrong(path, "a decimal string", v)),
    }
}

/// Parses a text as an address, for a value or a key at `path`.
pub fn address_text(text: &str, path: &Path<'_>) -> Result<Address, InputError> {
    parse_address(text).map_err(|reason| {
        path.error(InputErrorKind::InvalidAddress {
            value: text.to_owned(),
            reason,
        })
    })
}

/// Reads an address value.
pub fn address(v: Node<'_>, path: &Path<'_>) -> Result<Address, InputError> {
    address_text(&string(v, path)?, path)
}

/// Parses a text as an asset (an address; the zero address is native).
pub fn asset_text(text: &str, path: &Path<'_>) -> Result<Asset, InputError> {
    address_text(text, path).map(Asset)
}

/// Parses a text as a holder.
pub fn holder_text(text: &str, path: &Path<'_>) -> Result<Holder, InputError> {
    text.parse().map_err(|reason| {
        path.error(InputErrorKind::InvalidHolder {
            value: text.to_owned(),
            reason,
        })
    })
}

/// Parses a text as a known Olas chain name.
pub fn chain_text(text: &str, path: &Path<'_>) -> Result<Chain, InputError> {
    text.parse()
        .map_err(|e| path.error(InputErrorKind::UnknownChain(e)))
}

/// Parses a text as a chain name or decimal chain id.
pub fn chain_id_text(text: &str, path: &Path<'_>) -> Result<ChainId, InputError> {
    text.parse()
        .map_err(|e| path.error(InputErrorKind::UnknownChainId(e)))
}

#[cfg(test)]
#[allow(clippy::many_single_char_names, clippy::wildcard_enum_match_arm)]
mod tests {
    use super::*;

    /// A node of `text`, a whole document.
    fn node(text: &str) -> Node<'_> {
        parse_document(text).unwrap()
    }

    #[test]
    fn unknown_fields_are_named() {
        let v = node(r#"{"a": 1, "zz": 2}"#);
        let root = Path::ROOT;
        let err = Obj::new(v, &root, &["a"]).err().unwrap();
        assert_eq!(err.path, "$.zz");
        assert!(matches!(err.kind, InputErrorKind::UnknownField { .. }));
    }

    #[test]
    fn amounts_must_be_decimal_strings() {
        let root = Path::ROOT;
        assert_eq!(amount(node(r#""12""#), &root).unwrap(), U256::from(12));
        let e = amount(node("12"), &root).unwrap_err();
        assert!(matches!(
            e.kind,
            InputErrorKind::InvalidAmount {
                reason: AmountError::NotDecimal,
                ..
            }
        ));
        let e = amount(node("-1"), &root).unwrap_err();
        assert!(matches!(
            e.kind,
            InputErrorKind::InvalidAmount {
                reason: AmountError::Negative,
                ..
            }
        ));
        let e = amount(node(r#""-1""#), &root).unwrap_err();
        assert!(e.to_string().contains("negative"));
        assert!(matches!(
            amount(node("null"), &root).unwrap_err().kind,
            InputErrorKind::WrongType { .. }
        ));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse_document("{\n  \"a\": }").unwrap_err();
        match e.kind {
            InputErrorKind::Syntax { line, .. } => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
    }
}
