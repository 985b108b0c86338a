//! How the domain's types are written and read: addresses in EIP-55 form, amounts as decimal
//! strings ([`dec`], [`wei`] from `tend-json`), assets, holders and chains as their text.

use alloy_primitives::{Address, U256};
use serde::Serializer;

use crate::address::{Asset, Holder, checksum};
use crate::chain::{Chain, ChainId};
use tend_json::read::{Error, FromJson, FromKey, Reader};
use tend_json::write::{ToJson, ToJsonKey, Writer};

pub use tend_json::num::{dec, wei};

/// Writes an address in EIP-55 checksum form (`#[serde(serialize_with = "ser::address")]`).
pub fn address<S: Serializer>(a: &Address, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&checksum(a))
}

/// Writes an amount as a decimal string (`#[serde(serialize_with = "ser::amount")]`).
pub fn amount<S: Serializer>(a: &U256, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(a)
}

/// [`address`] for [`tend_json::write`].
pub fn address_to_json(a: &Address, w: &mut Writer) {
    w.string(&checksum(a));
}

/// [`amount`] for [`tend_json::write`] (the same text as [`dec`]).
pub fn amount_to_json(a: &U256, w: &mut Writer) {
    dec::to_json(a, w);
}

/// Bytes as `0x` hex both ways (`#[serde(with = "ser::hex_bytes")]`): calldata.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `0x…`.
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&alloy_primitives::hex::encode_prefixed(b))
    }

    /// Writes `0x…` ([`tend_json::write`]).
    pub fn to_json(b: &[u8], w: &mut tend_json::write::Writer) {
        w.string(&alloy_primitives::hex::encode_prefixed(b));
    }

    /// Reads `0x…` (the prefix may be left out).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    /// Reads `0x…` ([`tend_json::read`]).
    pub fn from_json(
        r: &mut tend_json::read::Reader<'_>,
    ) -> Result<Vec<u8>, tend_json::read::Error> {
        r.parsed(parse)
    }

    fn parse(s: &str) -> Result<Vec<u8>, String> {
        alloy_primitives::hex::decode(s).map_err(|e| format!("{s:?} is not hex bytes: {e}"))
    }
}

macro_rules! display_to_json {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn write(&self, w: &mut Writer) {
                w.display(self);
            }
        }

        impl ToJsonKey for $t {
            fn write_key(&self, w: &mut Writer) {
                w.display(self);
            }
        }
    )*};
}

display_to_json!(Asset, Holder, Chain, ChainId);

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

macro_rules! from_str_deserialize {
    ($($t:ty),*) => {$(
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

from_str_deserialize!(Asset, ChainId);

/// Types read from their text by `FromStr` (a string in JSON, or a map key).
macro_rules! from_text {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
                r.parsed(|s| s.parse::<$t>())
            }
        }

        impl FromKey for $t {
            fn from_key(key: &str) -> Result<Self, String> {
                key.parse().map_err(|e| format!("{e}"))
            }
        }
    )*};
}

from_text!(Asset, ChainId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_and_chain_round_trip() {
        let a: Asset =
            serde_json::from_str("\"0xe91d153e0b41518a2ce8dd3d7944fa863463a97d\"").unwrap();
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            "\"0xe91D153E0b41518A2Ce8Dd3D7944Fa863463a97d\""
        );
        let c: ChainId = serde_json::from_str("\"gnosis\"").unwrap();
        assert_eq!(c, ChainId(100));
        assert_eq!(
            serde_json::from_str::<ChainId>("\"31337\"").unwrap(),
            ChainId(31337)
        );
        assert!(serde_json::from_str::<ChainId>("\"nope\"").is_err());
        assert!(serde_json::from_str::<Asset>("\"0x12\"").is_err());
    }
}
