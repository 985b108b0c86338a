//! Internally tagged enums read tag first, without buffering.
//!
//! serde's derive for `#[serde(tag = "…")]` copies every object into its `Content` tree before it
//! looks at the tag, then reads the variant's fields from that copy: for a recording, every line
//! is parsed twice, and the wasm package carries a second deserializer per variant. tend writes
//! the tag first (serde's serialiser does), so [`TagFirst`] reads the tag, then hands the rest of
//! the object straight to the variant's fields, through an externally tagged mirror of the enum
//! (the `…Wire` types next to each enum that uses this, derived with `#[serde(remote = "…")]`: the
//! compiler holds each mirror to its enum's variants and fields, and the derive builds the enum
//! itself). An object whose tag is not first (hand-written JSON) is written again with its tag
//! first and read the same way.
//!
//! Serialising stays derived and internally tagged: the format does not change. Each enum opts in
//! with [`tag_first!`].

use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;

/// An externally tagged `remote` mirror of an internally tagged enum.
pub(crate) trait Mirror {
    /// The enum it reads.
    type Target;
    /// The derived remote deserializer.
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self::Target, D::Error>;
}

/// `tag_first!(Enum, EnumWire, "tag")`: `Enum`'s `Deserialize`, tag first through `EnumWire`
/// (a `#[derive(Deserialize)] #[serde(remote = "Enum")]` mirror).
macro_rules! tag_first {
    ($t:ty, $wire:ident, $tag:literal) => {
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_map($crate::tag_first::TagFirst::<$wire>::new($tag))
            }
        }

        impl $crate::tag_first::Mirror for $wire {
            type Target = $t;
            fn read<'de, D: serde::Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                $wire::deserialize(d)
            }
        }
    };
}
pub(crate) use tag_first;

/// The visitor: `W` is the externally tagged mirror, `tag` the tag's key.
pub(crate) struct TagFirst<W> {
    tag: &'static str,
    _w: PhantomData<W>,
}

impl<W> TagFirst<W> {
    pub(crate) fn new(tag: &'static str) -> Self {
        Self {
            tag,
            _w: PhantomData,
        }
    }
}

impl<'de, W: Mirror> Visitor<'de> for TagFirst<W> {
    type Value = W::Target;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object with a \"{}\" tag", self.tag)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<W::Target, A::Error> {
        match map.next_key_seed(KeySeed(self.tag))? {
            Some(Key::Tag) => W::read(Rest { map }),
            Some(Key::Other(first)) => reorder::<A, W>(self.tag, first, map),
            None => Err(de::Error::missing_field(self.tag)),
        }
    }
}

/// The tag was not first: gather the object, write it again with the tag first, read that.
fn reorder<'de, A: MapAccess<'de>, W: Mirror>(
    tag: &'static str,
    first: String,
    mut map: A,
) -> Result<W::Target, A::Error> {
    use serde_json::Value;
    let mut rest: Vec<(String, Value)> = vec![(first, map.next_value()?)];
    let mut tag_value: Option<Value> = None;
    while let Some(k) = map.next_key::<String>()? {
        let v: Value = map.next_value()?;
        if k == tag {
            if tag_value.is_some() {
                return Err(de::Error::duplicate_field(tag));
            }
            tag_value = Some(v);
        } else {
            rest.push((k, v));
        }
    }
    let tag_value = tag_value.ok_or_else(|| de::Error::missing_field(tag))?;
    let mut text = String::from("{");
    for (k, v) in
        std::iter::once((tag, &tag_value)).chain(rest.iter().map(|(k, v)| (k.as_str(), v)))
    {
        if text.len() > 1 {
            text.push(',');
        }
        text.push_str(&Value::String(k.to_owned()).to_string());
        text.push(':');
        text.push_str(&v.to_string());
    }
    text.push('}');
    let mut de = serde_json::Deserializer::from_str(&text);
    // The text is ours: a failure here is the value's, told without our text's positions.
    (&mut de)
        .deserialize_map(TagFirst::<W>::new(tag))
        .map_err(|e| de::Error::custom(crate::json::strip_position(&e.to_string())))
}

enum Key {
    Tag,
    Other(String),
}

struct KeySeed(&'static str);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(if v == self.0 {
            Key::Tag
        } else {
            Key::Other(v.to_owned())
        })
    }
}

/// The object after its tag key, as the externally tagged mirror's enum: the tag's value names
/// the variant, the remaining entries are its fields.
struct Rest<A> {
    map: A,
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for Rest<A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, A::Error> {
        Err(de::Error::custom("a tagged object is read as an enum"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_enum(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for Rest<A> {
    type Error = A::Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(
        mut self,
        seed: V,
    ) -> Result<(V::Value, Self), A::Error> {
        let v = self.map.next_value_seed(seed)?;
        Ok((v, self))
    }
}

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for Rest<A> {
    type Error = A::Error;

    fn unit_variant(mut self) -> Result<(), A::Error> {
        // Like serde's internally tagged enums: other keys beside the tag are ignored.
        while self.map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        seed.deserialize(de::value::MapAccessDeserializer::new(self.map))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, A::Error> {
        Err(de::Error::custom("a tagged object has no tuple variants"))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.map)
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::io::{Input, RpcAnswer};
    use crate::health::ProbeResult;
    use crate::rpc::RpcFailure;

    fn parse(text: &str) -> Result<Input, String> {
        Input::from_json(text).map_err(|e| e.to_string())
    }

    #[test]
    fn every_order_of_keys_reads_the_same_input() {
        let tag_first = r#"{"input":"rpc_response","now":5,"id":7,"latency_ms":3,"result":{"Ok":{"answer":"balances","block":9,"values":["1","0x2"]}}}"#;
        let tag_last = r#"{"now":5,"result":{"Ok":{"block":9,"values":["1","0x2"],"answer":"balances"}},"latency_ms":3,"id":7,"input":"rpc_response"}"#;
        let a = parse(tag_first).unwrap();
        assert_eq!(a, parse(tag_last).unwrap());
        let Input::RpcResponse {
            result: Ok(RpcAnswer::Balances { block, values }),
            ..
        } = &a
        else {
            panic!("{a:?}");
        };
        assert_eq!(*block, 9);
        assert_eq!(values.len(), 2);
        assert_eq!(values[1], alloy_primitives::U256::from(2));
        // What the serialiser writes reads back to the same value.
        assert_eq!(parse(&serde_json::to_string(&a).unwrap()).unwrap(), a);
    }

    #[test]
    fn unit_variants_newtype_variants_and_unknown_keys() {
        let f: RpcFailure =
            serde_json::from_str(r#"{"failure":"missing_response","extra":[1,{"a":2}]}"#).unwrap();
        assert_eq!(f, RpcFailure::MissingResponse);
        let f: RpcFailure = serde_json::from_str(r#"{"status":429,"failure":"http"}"#).unwrap();
        assert_eq!(
            f,
            RpcFailure::Http {
                status: 429,
                retry_after_ms: None
            }
        );
        let p: ProbeResult = serde_json::from_str(r#"{"result":"timeout"}"#).unwrap();
        assert_eq!(p, ProbeResult::Timeout);
        let a: RpcAnswer = serde_json::from_str(
            r#"{"answer":"fee_history","base_fee_per_gas":["1","2"],"reward":["3"],"other":true}"#,
        )
        .unwrap();
        assert_eq!(
            a,
            RpcAnswer::FeeHistory(crate::fees::FeeHistory {
                base_fee_per_gas: vec![1, 2],
                reward: vec![3],
            })
        );
    }

    #[test]
    fn bad_objects_are_errors_that_name_the_problem() {
        let e = parse(r#"{"input":"nope","now":1}"#).unwrap_err();
        assert!(e.contains("unknown variant `nope`"), "{e}");
        let e = parse(r#"{"now":1}"#).unwrap_err();
        assert!(e.contains("missing field `input`"), "{e}");
        let e = parse("{}").unwrap_err();
        assert!(e.contains("missing field `input`"), "{e}");
        let e = parse(r#"{"now":1,"input":"tick","input":"tick"}"#).unwrap_err();
        assert!(e.contains("duplicate field `input`"), "{e}");
        let e = parse(r#"{"input":"tick"}"#).unwrap_err();
        assert!(e.contains("missing field `now`"), "{e}");
        // Re-ordered: the message is about the value, not about the text tend wrote for it.
        let e = parse(r#"{"now":"soon","input":"tick"}"#).unwrap_err();
        assert!(e.contains(r#"invalid type: string "soon""#), "{e}");
        assert_eq!(e.matches(" at line ").count(), 1, "{e}");
        let e = parse(r#"{"input":7,"now":1}"#).unwrap_err();
        assert!(e.contains("invalid type"), "{e}");
        assert!(parse("[1,2]").is_err());
        assert!(parse(r#""tick""#).is_err());
        let e = parse(r#"{"now":1,"input":5}"#).unwrap_err();
        assert!(e.contains("invalid type"), "{e}");
    }
}
