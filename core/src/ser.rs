//! Serialisation helpers: addresses in EIP-55 form, amounts as decimal strings; assets and chain
//! ids read back from the same text.

use alloy_primitives::{Address, U256};
use serde::Serializer;

use crate::address::{Asset, Holder, checksum};
use crate::chain::{Chain, ChainId};
use crate::to_json::{ToJson, ToJsonKey, Writer};

/// Writes an address in EIP-55 checksum form (`#[serde(serialize_with = "ser::address")]`).
pub fn address<S: Serializer>(a: &Address, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&checksum(a))
}

/// Writes an amount as a decimal string (`#[serde(serialize_with = "ser::amount")]`).
pub fn amount<S: Serializer>(a: &U256, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(a)
}

/// [`address`] for [`crate::to_json`].
pub fn address_to_json(a: &Address, w: &mut Writer) {
    w.string(&checksum(a));
}

/// [`amount`] for [`crate::to_json`] (the same text as [`dec`]).
pub fn amount_to_json(a: &U256, w: &mut Writer) {
    dec::to_json(a, w);
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

/// `U256` as a decimal string both ways (`#[serde(with = "ser::dec")]`); reads `0x` hex too.
pub mod dec {
    use alloy_primitives::U256;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the amount as a decimal string.
    pub fn serialize<S: Serializer>(a: &U256, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(a)
    }

    /// Writes the amount as a decimal string ([`crate::to_json`]).
    pub fn to_json(a: &U256, w: &mut crate::to_json::Writer) {
        w.display(a);
    }

    /// Reads a decimal or `0x` hex string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    /// Reads a decimal or `0x` hex string ([`crate::from_json`]).
    pub fn from_json(
        r: &mut crate::from_json::Reader<'_>,
    ) -> Result<U256, crate::from_json::Error> {
        r.parsed(parse)
    }

    pub(crate) fn parse(s: &str) -> Result<U256, String> {
        let r = match s.strip_prefix("0x") {
            Some(hex) if !hex.is_empty() => U256::from_str_radix(hex, 16),
            Some(_) => return Err("empty hex amount".into()),
            None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                U256::from_str_radix(s, 10)
            }
            None => return Err(format!("{s:?} is not a decimal amount")),
        };
        r.map_err(|e| format!("{s:?}: {e}"))
    }

    /// The same for `Vec<U256>`.
    pub mod vec {
        use alloy_primitives::U256;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        #[derive(Serialize, Deserialize)]
        struct D(#[serde(with = "super")] U256);

        /// Writes each amount as a decimal string.
        pub fn serialize<S: Serializer>(v: &[U256], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|x| D(*x)))
        }

        /// Writes each amount as a decimal string ([`crate::to_json`]).
        pub fn to_json(v: &[U256], w: &mut crate::to_json::Writer) {
            crate::to_json::list(v, w, super::to_json);
        }

        /// Reads decimal or `0x` strings ([`crate::from_json`]).
        pub fn from_json(
            r: &mut crate::from_json::Reader<'_>,
        ) -> Result<Vec<U256>, crate::from_json::Error> {
            crate::from_json::list(r, super::from_json)
        }

        /// Reads decimal or `0x` strings.
        pub fn deserialize<'de, Ds: Deserializer<'de>>(d: Ds) -> Result<Vec<U256>, Ds::Error> {
            Ok(Vec::<D>::deserialize(d)?.into_iter().map(|x| x.0).collect())
        }
    }

    /// The same for `Option<U256>`.
    pub mod opt {
        use alloy_primitives::U256;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes the amount as a decimal string, or `null`.
        pub fn serialize<S: Serializer>(a: &Option<U256>, s: S) -> Result<S::Ok, S::Error> {
            match a {
                Some(a) => s.collect_str(a),
                None => s.serialize_none(),
            }
        }

        /// Writes the amount as a decimal string, or `null` ([`crate::to_json`]).
        pub fn to_json(a: &Option<U256>, w: &mut crate::to_json::Writer) {
            match a {
                Some(a) => super::to_json(a, w),
                None => w.null(),
            }
        }

        /// Reads a decimal or `0x` hex string, or `null` ([`crate::from_json`]).
        pub fn from_json(
            r: &mut crate::from_json::Reader<'_>,
        ) -> Result<Option<U256>, crate::from_json::Error> {
            if r.peek_null()? {
                r.null()?;
                return Ok(None);
            }
            super::from_json(r).map(Some)
        }

        /// Reads a decimal or `0x` hex string, or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<U256>, D::Error> {
            let s = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
            s.map(|s| super::parse(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

/// `u128` (fees per gas) as a decimal string (`#[serde(with = "ser::wei")]`): JSON numbers lose
/// precision above 2^53 in JavaScript, and serde's buffered (tagged) enums cannot hold a `u128`.
/// Reads a string or a number.
pub mod wei {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the value as a decimal string.
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    /// Writes the value as a decimal string ([`crate::to_json`]).
    pub fn to_json(v: &u128, w: &mut crate::to_json::Writer) {
        w.display(v);
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr<'a> {
        Text(std::borrow::Cow<'a, str>),
        Number(u64),
    }

    /// Reads a decimal string or a number ([`crate::from_json`]).
    pub fn from_json(
        r: &mut crate::from_json::Reader<'_>,
    ) -> Result<u128, crate::from_json::Error> {
        if r.peek_string()? {
            r.parsed(|t| {
                t.parse::<u128>()
                    .map_err(|_| format!("{t:?} is not a decimal wei amount"))
            })
        } else {
            r.unsigned(u64::MAX, "a decimal string or a number")
                .map(u128::from)
        }
    }

    /// Reads a decimal string or a (small) number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Number(n) => Ok(u128::from(n)),
            Repr::Text(t) => t.parse().map_err(|_| {
                serde::de::Error::custom(format!("{t:?} is not a decimal wei amount"))
            }),
        }
    }

    /// The same for `Vec<u128>`.
    pub mod vec {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        #[derive(Serialize, Deserialize)]
        struct W(#[serde(with = "super")] u128);

        /// Writes each value as a decimal string.
        pub fn serialize<S: Serializer>(v: &[u128], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|x| W(*x)))
        }

        /// Writes each value as a decimal string ([`crate::to_json`]).
        pub fn to_json(v: &[u128], w: &mut crate::to_json::Writer) {
            crate::to_json::list(v, w, super::to_json);
        }

        /// Reads decimal strings or numbers ([`crate::from_json`]).
        pub fn from_json(
            r: &mut crate::from_json::Reader<'_>,
        ) -> Result<Vec<u128>, crate::from_json::Error> {
            crate::from_json::list(r, super::from_json)
        }

        /// Reads decimal strings or numbers.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u128>, D::Error> {
            Ok(Vec::<W>::deserialize(d)?.into_iter().map(|w| w.0).collect())
        }
    }
}

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
