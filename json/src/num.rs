//! Integers too wide for JSON numbers, written as decimal strings: `U256` amounts ([`dec`]) and
//! `u128` fees per gas ([`wei`]), for both this crate's reader and writer and serde
//! (`#[serde(with = "…")]`). JavaScript reads JSON numbers as doubles, exact only below 2^53.
/// `U256` as a decimal string both ways (`#[serde(with = "ser::dec")]`); reads `0x` hex too.
pub mod dec {
    use alloy_primitives::U256;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the amount as a decimal string.
    pub fn serialize<S: Serializer>(a: &U256, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(a)
    }

    /// Writes the amount as a decimal string ([`crate::write`]).
    pub fn to_json(a: &U256, w: &mut crate::write::Writer) {
        w.display(a);
    }

    /// Reads a decimal or `0x` hex string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    /// Reads a decimal or `0x` hex string ([`crate::read`]).
    pub fn from_json(r: &mut crate::read::Reader<'_>) -> Result<U256, crate::read::Error> {
        r.parsed(parse)
    }

    /// Parses a decimal or `0x` hex amount (the text of [`from_json`] and [`deserialize`]).
    pub fn parse(s: &str) -> Result<U256, String> {
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

        /// Writes each amount as a decimal string ([`crate::write`]).
        pub fn to_json(v: &[U256], w: &mut crate::write::Writer) {
            crate::write::list(v, w, super::to_json);
        }

        /// Reads decimal or `0x` strings ([`crate::read`]).
        pub fn from_json(r: &mut crate::read::Reader<'_>) -> Result<Vec<U256>, crate::read::Error> {
            crate::read::list(r, super::from_json)
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

        /// Writes the amount as a decimal string, or `null` ([`crate::write`]).
        pub fn to_json(a: &Option<U256>, w: &mut crate::write::Writer) {
            match a {
                Some(a) => super::to_json(a, w),
                None => w.null(),
            }
        }

        /// Reads a decimal or `0x` hex string, or `null` ([`crate::read`]).
        pub fn from_json(
            r: &mut crate::read::Reader<'_>,
        ) -> Result<Option<U256>, crate::read::Error> {
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

    /// Writes the value as a decimal string ([`crate::write`]).
    pub fn to_json(v: &u128, w: &mut crate::write::Writer) {
        w.display(v);
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr<'a> {
        Text(std::borrow::Cow<'a, str>),
        Number(u64),
    }

    /// Reads a decimal string or a number ([`crate::read`]).
    pub fn from_json(r: &mut crate::read::Reader<'_>) -> Result<u128, crate::read::Error> {
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

        /// Writes each value as a decimal string ([`crate::write`]).
        pub fn to_json(v: &[u128], w: &mut crate::write::Writer) {
            crate::write::list(v, w, super::to_json);
        }

        /// Reads decimal strings or numbers ([`crate::read`]).
        pub fn from_json(r: &mut crate::read::Reader<'_>) -> Result<Vec<u128>, crate::read::Error> {
            crate::read::list(r, super::from_json)
        }

        /// Reads decimal strings or numbers.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u128>, D::Error> {
            Ok(Vec::<W>::deserialize(d)?.into_iter().map(|w| w.0).collect())
        }
    }
}
