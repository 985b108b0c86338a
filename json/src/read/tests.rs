//! The reader's own tests: scalars, strings, containers, errors and positions.

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, U256};
use proptest::prelude::*;

use super::*;

#[test]
fn reads_scalars_strings_and_containers() {
    assert_eq!(from_str::<u64>(" 18446744073709551615 ").unwrap(), u64::MAX);
    assert!(from_str::<u64>("18446744073709551616").is_err());
    assert!(
        from_str::<u8>("256")
            .unwrap_err()
            .to_string()
            .contains("expected u8")
    );
    assert!(from_str::<u64>("-1").is_err());
    assert!(
        from_str::<u64>("1.5")
            .unwrap_err()
            .to_string()
            .contains("floating point")
    );
    assert!(from_str::<u64>("01").is_err());
    assert_eq!(from_str::<i64>("-9").unwrap(), -9);
    assert!((from_str::<f64>("1.5e3").unwrap() - 1500.0).abs() < 1e-9);
    assert_eq!(
        from_str::<String>(r#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00z""#).unwrap(),
        "a\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1F600}z"
    );
    assert!(from_str::<String>(r#""\ud83d""#).is_err());
    assert!(from_str::<String>("\"a\nb\"").is_err());
    assert!(from_str::<String>("\"abc").is_err());
    assert_eq!(from_str::<Option<u8>>("null").unwrap(), None);
    assert_eq!(
        from_str::<Vec<Option<u8>>>("[1, null ,3]").unwrap(),
        vec![Some(1), None, Some(3)]
    );
    assert_eq!(from_str::<Vec<u8>>("[]").unwrap(), Vec::<u8>::new());
    assert!(from_str::<Vec<u8>>("[1,]").is_err());
    assert!(from_str::<Vec<u8>>("[1 2]").is_err());
    assert_eq!(
        from_str::<(u8, String)>(r#"[1,"x"]"#).unwrap(),
        (1, "x".to_owned())
    );
    assert!(from_str::<(u8, u8)>("[1]").is_err());
    assert!(from_str::<(u8, u8)>("[1,2,3]").is_err());
    let m = from_str::<BTreeMap<String, bool>>(r#"{"b":true,"a":false}"#).unwrap();
    assert_eq!(m.len(), 2);
    assert!(from_str::<BTreeMap<String, bool>>(r#"{"b":true,}"#).is_err());
    assert!(from_str::<BTreeMap<String, bool>>(r#"{"b" true}"#).is_err());
    assert!(
        from_str::<bool>("true x")
            .unwrap_err()
            .to_string()
            .contains("trailing")
    );
    assert!(from_str::<bool>("tru").is_err());
    assert!(from_str::<bool>("").is_err());
}

#[test]
fn errors_name_line_and_column() {
    let e = from_str::<Vec<u8>>("[1,\n  \"x\"]").unwrap_err();
    assert_eq!((e.line(), e.column()), (2, 3));
    assert!(e.message().contains("invalid type: string \"x\""), "{e}");
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = "[".repeat(10_000);
    assert!(from_str::<Vec<u8>>(&deep).is_err());
    let mut r = Reader::new(&deep);
    assert!(r.skip().unwrap_err().message().contains("recursion"));
}

#[test]
fn addresses_hashes_and_amounts() {
    let a = from_str::<Address>(r#""0xe91D153E0b41518A2Ce8Dd3D7944Fa863463a97d""#).unwrap();
    assert_eq!(
        a,
        "0xe91d153e0b41518a2ce8dd3d7944fa863463a97d"
            .parse::<Address>()
            .unwrap()
    );
    assert!(from_str::<Address>(r#""0x12""#).is_err());
    assert!(from_str::<B256>(r#""0x12""#).is_err());
    assert_eq!(from_str::<U256>(r#""0x10""#).unwrap(), U256::from(16));
}

#[test]
fn tag_is_found_anywhere_and_skipped() {
    let mut r = Reader::new(r#"{"a": [1, {"kind": "no"}], "kind": "yes", "b": 2}"#);
    assert_eq!(r.tag("kind").unwrap(), "yes");
    let mut keys = Vec::new();
    r.object(&mut |r, k| {
        keys.push(k.to_owned());
        r.skip()
    })
    .unwrap();
    assert_eq!(keys, ["a", "b"]);
    assert!(
        Reader::new(r#"{"a": 1}"#)
            .tag("kind")
            .unwrap_err()
            .message()
            .contains("missing field `kind`")
    );
    assert!(Reader::new(r#"{"a": }"#).tag("kind").is_err());
    assert!(Reader::new(r#"{"kind": 1}"#).tag("kind").is_err());
    assert!(Reader::new("[]").tag("kind").is_err());
}

#[test]
fn nodes_find_members_as_a_value_map_keeps_them() {
    let doc = document(r#" { "a": 1, "b": [true, "x\n"], "a": {"c": null} } "#).unwrap();
    let keys: Vec<String> = doc.entries().unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["a", "b"], "a repeated key keeps its first place");
    let a = doc.get("a").unwrap();
    assert_eq!(a.kind(), Kind::Object, "and its last value");
    assert!(a.get("c").unwrap().is_null());
    assert!(doc.get("zz").is_none());
    let b = doc.get("b").unwrap().items().unwrap();
    assert_eq!(b[0].as_bool(), Some(true));
    assert_eq!(b[1].as_str().as_deref(), Some("x\n"));
    assert!(b[0].get("a").is_none() && b[0].entries().is_none() && a.items().is_none());
}

fn same_value(a: Option<&serde_json::Value>, b: Option<&serde_json::Value>) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) if x.is_f64() && y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            (x - y).abs() <= x.abs().max(y.abs()) * 1e-15
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(Some(x), Some(y)))
        }
        _ => a == b,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// JSON values read as `serde_json` reads them: the same value, or both refuse. Floats may
    /// differ in the last bit: `serde_json` (without its `float_roundtrip` feature) rounds
    /// some long decimals inexactly, this reader rounds correctly (the standard library's).
    #[test]
    fn values_read_as_serde_json_reads_them(
        text in r#"[\[\]{}":,0-9a-z\\ .eE+-]{0,40}|\[?-?[0-9]{1,25}(\.[0-9]{0,5})?([eE][+-]?[0-9]{1,3})?\]?"#
    ) {
        let ours = from_str::<serde_json::Value>(&text).ok();
        let theirs = serde_json::from_str::<serde_json::Value>(&text).ok();
        prop_assert!(same_value(ours.as_ref(), theirs.as_ref()), "{text}: {ours:?} vs {theirs:?}");
    }

    /// A checked document refuses exactly what the `Value` reader refuses, with the same error.
    #[test]
    fn documents_refuse_what_values_refuse(
        text in r#"[\[\]{}":,0-9a-z\\ .eE+-]{0,40}"#
    ) {
        let node = document(&text).err();
        let value = from_str::<serde_json::Value>(&text).err();
        prop_assert_eq!(node, value, "{}", text);
    }
}
