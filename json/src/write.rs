//! A compact JSON writer for the types tend writes as JSON, the twin of [`crate::read`].
//!
//! serde's derived serializers are generic over the serializer: each type's `serialize` is built
//! into `serde_json`'s serializer, field by field. In the wasm package that was 56 KB of code.
//! Here one non-generic [`Writer`] builds the text and each type's [`ToJson`] (derived by
//! `tend-derive` from the same `#[serde(…)]` attributes: `rename_all`, `rename`, `tag`,
//! `untagged`, `skip`, `skip_serializing_if`, `with`, `serialize_with`, `flatten`,
//! `transparent`) calls it once per field through a method shared by every field of one type.
//! The bytes are `serde_json::to_string`'s (compact, keys in field order, strings escaped the
//! same way); tests compare the two on every type tend writes.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;

use alloy_primitives::{Address, FixedBytes, U256};

/// A value writable as JSON text.
pub trait ToJson {
    /// Appends the value's JSON to `w`.
    fn write(&self, w: &mut Writer);
}

/// A value written as the members of an object (a struct with named fields, an internally
/// tagged enum): what `#[serde(flatten)]` and a tagged enum's newtype variant write inline.
pub trait ToJsonMembers {
    /// Writes the value's members into the object `o`.
    fn write_members(&self, o: &mut Object<'_>);
}

/// A value writable as an object key (a JSON string).
pub trait ToJsonKey {
    /// Appends the key, quoted, to `w`.
    fn write_key(&self, w: &mut Writer);
}

/// The JSON text of `v` (`serde_json::to_string`'s bytes).
pub fn to_string<T: ToJson + ?Sized>(v: &T) -> String {
    let mut w = Writer::default();
    v.write(&mut w);
    w.out
}

/// An array of `items`, each written by `write` (the `with` modules' lists).
pub fn list<T>(items: &[T], w: &mut Writer, write: fn(&T, &mut Writer)) {
    w.raw("[");
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            w.raw(",");
        }
        write(x, w);
    }
    w.raw("]");
}

/// The JSON text being built.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
}

/// Which bytes of a string need an escape: 0 none, `u` a `\u00XX` escape, else the letter of a
/// short escape (`serde_json`'s table).
const fn escape(b: u8) -> u8 {
    match b {
        0x08 => b'b',
        0x09 => b't',
        0x0a => b'n',
        0x0c => b'f',
        0x0d => b'r',
        b'"' => b'"',
        b'\\' => b'\\',
        0..0x20 => b'u',
        _ => 0,
    }
}

impl Writer {
    /// The text.
    pub fn into_string(self) -> String {
        self.out
    }

    /// Appends `v`'s JSON and a newline (a JSON-lines record).
    pub fn write_line<T: ToJson + ?Sized>(&mut self, v: &T) {
        v.write(self);
        self.out.push('\n');
    }

    /// Appends text as it is (already JSON).
    pub fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// `null`.
    pub fn null(&mut self) {
        self.out.push_str("null");
    }

    /// A JSON string.
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    pub fn string(&mut self, s: &str) {
        self.out.push('"');
        let bytes = s.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let e = escape(b);
            if e == 0 {
                continue;
            }
            self.out.push_str(&s[start..i]);
            self.out.push('\\');
            if e == b'u' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.out.push_str("u00");
                self.out.push(char::from(HEX[usize::from(b >> 4)]));
                self.out.push(char::from(HEX[usize::from(b & 15)]));
            } else {
                self.out.push(char::from(e));
            }
            start = i + 1;
        }
        self.out.push_str(&s[start..]);
        self.out.push('"');
    }

    /// A value's `Display` text as a JSON string.
    pub fn display(&mut self, v: &dyn std::fmt::Display) {
        let mut s = String::new();
        let _ = write!(s, "{v}");
        self.string(&s);
    }

    /// An unsigned integer.
    pub fn unsigned(&mut self, v: u128) {
        let _ = write!(self.out, "{v}");
    }

    /// A signed integer.
    pub fn signed(&mut self, v: i128) {
        let _ = write!(self.out, "{v}");
    }

    /// Opens an object: write its members, then [`Object::end`].
    pub fn object(&mut self) -> Object<'_> {
        self.out.push('{');
        Object {
            w: self,
            first: true,
        }
    }

    /// An array of the items.
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    pub fn seq<'a, T: ToJson + 'a>(&mut self, items: impl IntoIterator<Item = &'a T>) {
        self.out.push('[');
        for (i, x) in items.into_iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            x.write(self);
        }
        self.out.push(']');
    }

    /// An object of the entries.
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    pub fn map<'a, K: ToJsonKey + 'a, V: ToJson + 'a>(
        &mut self,
        entries: impl IntoIterator<Item = (&'a K, &'a V)>,
    ) {
        self.out.push('{');
        for (i, (k, v)) in entries.into_iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            k.write_key(self);
            self.out.push(':');
            v.write(self);
        }
        self.out.push('}');
    }
}

/// An object being written (from [`Writer::object`]).
pub struct Object<'w> {
    w: &'w mut Writer,
    first: bool,
}

impl Object<'_> {
    /// Writes the key of the next member; the caller writes its value.
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    pub fn key(&mut self, name: &str) -> &mut Writer {
        if !self.first {
            self.w.out.push(',');
        }
        self.first = false;
        self.w.string(name);
        self.w.out.push(':');
        self.w
    }

    /// A member.
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    pub fn field<T: ToJson + ?Sized>(&mut self, name: &str, v: &T) {
        v.write(self.key(name));
    }

    /// A member whose value is a string.
    pub fn str(&mut self, name: &str, v: &str) {
        self.key(name).string(v);
    }

    /// Closes the object.
    pub fn end(self) {
        self.w.out.push('}');
    }
}

impl ToJson for bool {
    fn write(&self, w: &mut Writer) {
        w.raw(if *self { "true" } else { "false" });
    }
}

macro_rules! integers {
    ($method:ident: $($t:ty),*) => {$(
        impl ToJson for $t {
            fn write(&self, w: &mut Writer) {
                w.$method((*self).into());
            }
        }

        impl ToJsonKey for $t {
            fn write_key(&self, w: &mut Writer) {
                w.raw("\"");
                w.$method((*self).into());
                w.raw("\"");
            }
        }
    )*};
}

integers!(unsigned: u8, u16, u32, u64, u128);
integers!(signed: i8, i16, i32, i64, i128);

impl ToJson for usize {
    fn write(&self, w: &mut Writer) {
        w.unsigned(*self as u128);
    }
}

macro_rules! strings {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn write(&self, w: &mut Writer) {
                w.string(self);
            }
        }

        impl ToJsonKey for $t {
            fn write_key(&self, w: &mut Writer) {
                w.string(self);
            }
        }
    )*};
}

strings!(str, String, Arc<str>);

impl<T: ToJson + ?Sized> ToJson for &T {
    fn write(&self, w: &mut Writer) {
        (**self).write(w);
    }
}

impl<T: ToJson + ?Sized> ToJson for Box<T> {
    fn write(&self, w: &mut Writer) {
        (**self).write(w);
    }
}

impl<T: ToJsonMembers + ?Sized> ToJsonMembers for Box<T> {
    fn write_members(&self, o: &mut Object<'_>) {
        (**self).write_members(o);
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write(&self, w: &mut Writer) {
        match self {
            Some(v) => v.write(w),
            None => w.null(),
        }
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write(&self, w: &mut Writer) {
        w.seq(self);
    }
}

impl<T: ToJson, const N: usize> ToJson for [T; N] {
    fn write(&self, w: &mut Writer) {
        w.seq(self);
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write(&self, w: &mut Writer) {
        w.seq(self);
    }
}

impl<T: ToJson> ToJson for VecDeque<T> {
    fn write(&self, w: &mut Writer) {
        w.seq(self);
    }
}

impl<A: ToJson, B: ToJson> ToJson for (A, B) {
    fn write(&self, w: &mut Writer) {
        w.raw("[");
        self.0.write(w);
        w.raw(",");
        self.1.write(w);
        w.raw("]");
    }
}

impl<T: ToJson, E: ToJson> ToJson for Result<T, E> {
    fn write(&self, w: &mut Writer) {
        let mut o = w.object();
        match self {
            Ok(v) => o.field("Ok", v),
            Err(e) => o.field("Err", e),
        }
        o.end();
    }
}

impl<K: ToJsonKey, V: ToJson> ToJson for BTreeMap<K, V> {
    fn write(&self, w: &mut Writer) {
        w.map(self);
    }
}

/// `0x` and lowercase hex (alloy's human-readable form).
impl<const N: usize> ToJson for FixedBytes<N> {
    fn write(&self, w: &mut Writer) {
        w.string(&format!("{self:#x}"));
    }
}

/// `0x` and lowercase hex (alloy's human-readable form; tend writes addresses checksummed through
/// `ser::address`).
impl ToJson for Address {
    fn write(&self, w: &mut Writer) {
        w.string(&format!("{self:#x}"));
    }
}

impl ToJsonKey for Address {
    fn write_key(&self, w: &mut Writer) {
        self.write(w);
    }
}

/// `0x` and lowercase hex without leading zeros (ruint's human-readable form; tend writes amounts
/// as decimal strings through `ser::dec`).
impl ToJson for U256 {
    fn write(&self, w: &mut Writer) {
        w.string(&format!("{self:#x}"));
    }
}

impl ToJson for serde_json::Value {
    fn write(&self, w: &mut Writer) {
        use serde_json::Value;
        match self {
            Value::Null => w.null(),
            Value::Bool(b) => b.write(w),
            Value::Number(n) => w.raw(&n.to_string()),
            Value::String(s) => w.string(s),
            Value::Array(items) => w.seq(items),
            Value::Object(m) => w.map(m.iter()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same<T: ToJson + serde::Serialize + ?Sized>(v: &T) {
        assert_eq!(to_string(v), serde_json::to_string(v).unwrap());
    }

    #[test]
    fn scalars_strings_and_containers_read_as_serde_json_writes_them() {
        same(&true);
        same(&0u64);
        same(&u64::MAX);
        same(&i64::MIN);
        same(&u128::MAX);
        same(&"plain");
        same(
            &"quote \" backslash \\ controls \u{0} \u{8} \t \n \u{b} \u{c} \r \u{1f} \u{7f} é ✓ 😀",
        );
        same(&Some(3u8));
        same(&None::<u8>);
        same(&vec![1u32, 2, 3]);
        same(&Vec::<u32>::new());
        same(&(1u8, "two".to_string()));
        same(&[7u16; 3]);
        let m: BTreeMap<String, u64> = [("b".into(), 2), ("a\"".into(), 1)].into();
        same(&m);
        let m: BTreeMap<u64, bool> = [(5, true), (1, false)].into();
        same(&m);
        same(&Ok::<u8, String>(1));
        same(&Err::<u8, String>("no".into()));
        same(&Address::repeat_byte(0xab));
        same(&FixedBytes::<32>::repeat_byte(0x0c));
        same(&U256::ZERO);
        same(&U256::MAX);
        same(&U256::from(0x1234u64));
        let v: serde_json::Value = serde_json::from_str(
            r#"{"z":[1,-2,3.5,1e300,null,true,"s\n"],"a":{"b":{}},"n":18446744073709551615}"#,
        )
        .unwrap();
        same(&v);
    }

    proptest! {
        #[test]
        fn any_integer_is_written_as_serde_json_writes_it(a: u64, b: i64, c: u128, d: i128, e: i8) {
            prop_assert_eq!(to_string(&(a, b)), serde_json::to_string(&(a, b)).unwrap());
            prop_assert_eq!(to_string(&(c, d)), serde_json::to_string(&(c, d)).unwrap());
            prop_assert_eq!(to_string(&e), serde_json::to_string(&e).unwrap());
        }

        #[test]
        fn any_string_is_escaped_as_serde_json_escapes_it(s in any::<String>()) {
            prop_assert_eq!(to_string(&s), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn any_map_is_written_as_serde_json_writes_it(
            m in proptest::collection::btree_map(any::<String>(), any::<Option<i64>>(), 0..8)
        ) {
            prop_assert_eq!(to_string(&m), serde_json::to_string(&m).unwrap());
        }
    }
}
