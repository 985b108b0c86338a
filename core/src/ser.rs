//! Serialisation helpers for output types: addresses in EIP-55 form, amounts as decimal strings.

use alloy_primitives::{Address, U256};
use serde::Serializer;

use crate::address::{Asset, Holder, checksum};
use crate::chain::{Chain, ChainId};

/// Writes an address in EIP-55 checksum form (`#[serde(serialize_with = "ser::address")]`).
pub fn address<S: Serializer>(a: &Address, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&checksum(a))
}

/// Writes an amount as a decimal string (`#[serde(serialize_with = "ser::amount")]`).
pub fn amount<S: Serializer>(a: &U256, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(a)
}

macro_rules! display_serialize {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    )*};
}

display_serialize!(Asset, Holder, Chain, ChainId);
