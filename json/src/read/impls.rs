//! [`FromJson`] for the standard types, `serde_json::Value` and alloy's primitives.

use std::borrow::Cow;
use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, U256};

use super::{Error, FromJson, Reader};

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
                let max = u64::try_from(<$t>::MAX).unwrap_or(u64::MAX);
                let v = r.unsigned(max, stringify!($t))?;
                <$t>::try_from(v).map_err(|_| r.error("number out of range"))
            }
        }
    )*};
}

unsigned!(u8, u16, u32, u64, usize);

impl FromJson for i64 {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.signed("i64")
    }
}

impl FromJson for i32 {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let v = r.signed("i32")?;
        i32::try_from(v).map_err(|_| r.error(format!("invalid value: integer `{v}`, expected i32")))
    }
}

impl FromJson for f64 {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.float()
    }
}

impl FromJson for bool {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.boolean()
    }
}

impl FromJson for String {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.string().map(Cow::into_owned)
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        if r.peek_null()? {
            r.null()?;
            Ok(None)
        } else {
            T::read(r).map(Some)
        }
    }
}

impl<T: FromJson> FromJson for Box<T> {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        T::read(r).map(Box::new)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        list(r, T::read)
    }
}

/// An array, each item read by `item` (for `with` modules of lists).
pub fn list<T>(
    r: &mut Reader<'_>,
    item: fn(&mut Reader<'_>) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    r.array(&mut |r| {
        out.push(item(r)?);
        Ok(())
    })?;
    Ok(out)
}

impl FromJson for std::sync::Arc<str> {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.string().map(|s| std::sync::Arc::from(s.as_ref()))
    }
}

impl<T: FromJson> FromJson for std::collections::VecDeque<T> {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Vec::read(r).map(Into::into)
    }
}

impl<T: FromJson, const N: usize> FromJson for [T; N] {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let v = Vec::<T>::read(r)?;
        let n = v.len();
        v.try_into().map_err(|_| {
            r.error(format!(
                "invalid length {n}, expected an array of length {N}"
            ))
        })
    }
}

/// serde's form of a `Result`: `{"Ok": value}` or `{"Err": error}`.
impl<T: FromJson, E: FromJson> FromJson for Result<T, E> {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let mut out = None;
        r.object(&mut |r, key| {
            if out.is_some() {
                return Err(r.error("expected an object with one key, \"Ok\" or \"Err\""));
            }
            out = Some(match key {
                "Ok" => Ok(T::read(r)?),
                "Err" => Err(E::read(r)?),
                other => return Err(r.unknown_variant(other, &["Ok", "Err"])),
            });
            Ok(())
        })?;
        out.ok_or_else(|| r.error("expected an object with one key, \"Ok\" or \"Err\""))
    }
}

impl<A: FromJson, B: FromJson> FromJson for (A, B) {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let mut a = None;
        let mut b = None;
        let mut n = 0;
        r.array(&mut |r| {
            match n {
                0 => a = Some(A::read(r)?),
                1 => b = Some(B::read(r)?),
                _ => return Err(r.error("trailing characters in a pair: expected 2 elements")),
            }
            n += 1;
            Ok(())
        })?;
        match (a, b) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => Err(r.error(format!("invalid length {n}, expected a tuple of size 2"))),
        }
    }
}

/// A map key read from its JSON string.
pub trait FromKey: Sized {
    /// The key from its text.
    fn from_key(key: &str) -> Result<Self, String>;
}

impl FromKey for String {
    fn from_key(key: &str) -> Result<Self, String> {
        Ok(key.to_owned())
    }
}

impl FromKey for u64 {
    fn from_key(key: &str) -> Result<Self, String> {
        key.parse()
            .map_err(|_| format!("invalid map key {key:?}: expected an integer"))
    }
}

impl<K: FromKey + Ord, V: FromJson> FromJson for BTreeMap<K, V> {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let mut out = BTreeMap::new();
        r.object(&mut |r, key| {
            let k = K::from_key(key).map_err(|e| r.error(e))?;
            out.insert(k, V::read(r)?);
            Ok(())
        })?;
        Ok(out)
    }
}

/// Any JSON value (numbers as `serde_json` reads them: an integer as `u64` or `i64` when it fits,
/// otherwise `f64`).
impl FromJson for serde_json::Value {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        use serde_json::Value;
        Ok(match r.peek()? {
            b'n' => {
                r.null()?;
                Value::Null
            }
            b't' | b'f' => Value::Bool(r.boolean()?),
            b'"' => Value::String(r.string()?.into_owned()),
            b'[' => {
                let mut items = Vec::new();
                r.array(&mut |r| {
                    items.push(Value::read(r)?);
                    Ok(())
                })?;
                Value::Array(items)
            }
            b'{' => {
                let mut map = serde_json::Map::new();
                r.object(&mut |r, key| {
                    let v = Value::read(r)?;
                    map.insert(key.to_owned(), v);
                    Ok(())
                })?;
                Value::Object(map)
            }
            b'0'..=b'9' | b'-' => Value::Number(number(r)?),
            _ => return Err(r.invalid_type("a JSON value")),
        })
    }
}

/// A number as `serde_json` reads it: an integer as `u64` or `i64` when it fits, otherwise `f64`.
pub(super) fn number(r: &mut Reader<'_>) -> Result<serde_json::Number, Error> {
    let t = r.number_text()?;
    // `serde_json` reads `-0` as the float -0.0.
    let integer = !t.contains(['.', 'e', 'E']) && t != "-0";
    if let (true, Ok(u)) = (integer, t.parse::<u64>()) {
        Ok(u.into())
    } else if let (true, Ok(i)) = (integer, t.parse::<i64>()) {
        Ok(i.into())
    } else {
        t.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .ok_or_else(|| r.error("number out of range"))
    }
}

/// Checks one value as [`serde_json::Value`]'s reader reads it, building nothing: the same
/// errors at the same places.
pub(super) fn check_value(r: &mut Reader<'_>) -> Result<(), Error> {
    match r.peek()? {
        b'n' => r.null(),
        b't' | b'f' => r.boolean().map(drop),
        b'"' => r.string().map(drop),
        b'[' => r.array(&mut check_value),
        b'{' => r.object(&mut |r, _| check_value(r)),
        b'0'..=b'9' | b'-' => number(r).map(drop),
        _ => Err(r.invalid_type("a JSON value")),
    }
}

/// Fixed-size bytes as hex (`0x` optional), as alloy's serde reads them.
fn hex_bytes<const N: usize>(r: &mut Reader<'_>) -> Result<[u8; N], Error> {
    r.parsed(|s| {
        let mut out = [0u8; N];
        alloy_primitives::hex::decode_to_slice(s, &mut out)
            .map(|()| out)
            .map_err(|e| format!("invalid value: {e}, expected a {N}-byte hex string"))
    })
}

impl FromJson for Address {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        hex_bytes::<20>(r).map(Address::from)
    }
}

impl FromKey for Address {
    fn from_key(key: &str) -> Result<Self, String> {
        key.parse()
            .map_err(|e| format!("invalid address {key:?}: {e}"))
    }
}

impl FromJson for B256 {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        hex_bytes::<32>(r).map(B256::from)
    }
}

impl FromJson for U256 {
    /// alloy's serde form: a `0x` hex string (a decimal string is read too).
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.parsed(
            |s| match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => U256::from_str_radix(hex, 16).map_err(|e| e.to_string()),
                None => U256::from_str_radix(s, 10).map_err(|e| e.to_string()),
            },
        )
    }
}
