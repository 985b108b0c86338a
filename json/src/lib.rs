//! tend's JSON toolkit, apart from the domain.
//!
//! - [`read`]: one non-generic [`read::Reader`] over JSON text and the [`read::FromJson`] trait
//!   (derived by `tend-derive` from serde's attributes), with errors that give the line and
//!   column (`serde_json`'s wording) or, through [`path`], the JSONPath of the bad field;
//! - [`write`](mod@write): the [`write::Writer`] and [`write::ToJson`] (also derived): `serde_json`'s bytes;
//! - [`num`]: integers wider than JSON numbers (`U256`, `u128`) as decimal strings;
//! - [`path`]: JSONPath locations (`$.service.chains.gnosis.token`).
//!
//! Why not serde here: serde's derived code is generic over the (de)serializer, so every type
//! carries its own copy of the parser's paths; in the wasm package that was over a quarter of the
//! binary. These are written once, and a type costs only its field matching.
//!
//! This crate knows nothing of tend's domain: the readers of addresses, amounts and chains (and
//! the impls for tend's `Map`/`Set`) live in `tend-core`. It may call only the standard library,
//! `alloy-primitives` (for its byte and integer types), serde and `serde_json::Value`.

pub mod num;
pub mod path;
pub mod read;
pub mod write;

pub use read::{FromJson, from_str};
pub use write::{ToJson, to_string};
