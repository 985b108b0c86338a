//! tend's JSON reader (`tend_json::read`, derived from the types' serde attributes) reads
//! what serde's derived deserializers read: every line of the corpus recordings, and the same
//! lines damaged at random (a key removed, a value of another type, keys reordered, an unknown
//! key added) give the same value or both an error.

#![allow(missing_docs, clippy::unwrap_used)]

use serde_json::{Map, Value};
use tend_core::engine::io::Input;
use tend_core::recording::Header;

fn corpus_lines() -> Vec<String> {
    let mut out = Vec::new();
    for (rec, _) in tend_replay::corpus() {
        let text = std::fs::read_to_string(rec).unwrap();
        out.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned),
        );
    }
    out
}

/// Both readers on one line: the same value, or both refuse it.
fn same(line: &str, header: bool) -> Result<(), String> {
    if header {
        same_as::<Header>(line)
    } else {
        same_as::<Input>(line)
    }
}

fn same_as<T>(line: &str) -> Result<(), String>
where
    T: serde::de::DeserializeOwned + tend_json::read::FromJson + PartialEq + std::fmt::Debug,
{
    let a = serde_json::from_str::<T>(line).map_err(|e| e.to_string());
    let b = tend_json::read::from_str::<T>(line).map_err(|e| e.to_string());
    match (&a, &b) {
        (Ok(x), Ok(y)) if x == y => Ok(()),
        (Err(_), Err(_)) => Ok(()),
        _ => Err(format!("serde {a:?}\nfrom_json {b:?}\nline {line}")),
    }
}

#[test]
fn every_corpus_line_reads_as_serde_reads_it() {
    let mut n = 0;
    for (rec, _) in tend_replay::corpus() {
        let text = std::fs::read_to_string(&rec).unwrap();
        for (i, line) in text.lines().enumerate() {
            same(line, i == 0).unwrap_or_else(|e| panic!("{}:{}: {e}", rec.display(), i + 1));
            n += 1;
        }
    }
    assert!(n > 1000, "only {n} lines");
}

/// The objects of a value, depth first, as paths of keys and indices.
fn objects(v: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match v {
        Value::Object(m) => {
            out.push(path.clone());
            for (k, x) in m {
                path.push(Step::Key(k.clone()));
                objects(x, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(Step::Index(i));
                objects(x, path, out);
                path.pop();
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn at<'v>(v: &'v mut Value, path: &[Step]) -> &'v mut Value {
    path.iter().fold(v, |v, s| match s {
        Step::Key(k) => &mut v[k.as_str()],
        Step::Index(i) => &mut v[*i],
    })
}

fn replacement(kind: u8) -> Value {
    match kind % 7 {
        0 => Value::Null,
        1 => Value::Bool(true),
        2 => Value::from(-1),
        3 => Value::from(1.5),
        4 => Value::from("0x10"),
        // serde's derive also reads a struct or a tagged enum from an array of its fields (its
        // sequence form, which tend never writes and FromJson refuses); this array fits none
        // of tend's types, so both refuse it.
        5 => Value::Array(vec![Value::Bool(true), Value::from("zz"), Value::from(-1)]),
        _ => Value::Object(Map::new()),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
    #[test]
    fn damaged_lines_read_as_serde_reads_them(
        which in 0usize..100_000,
        obj in 0usize..1000,
        key in 0usize..1000,
        op in 0u8..4,
        kind in 0u8..7,
    ) {
        let lines = corpus_lines();
        let line = &lines[which % lines.len()];
        // The header's configuration is large: damage it too, compared as a header.
        let header = line.contains("\"format\"");
        let mut v: Value = serde_json::from_str(line).unwrap();
        let mut paths = Vec::new();
        objects(&v, &mut Vec::new(), &mut paths);
        let path = &paths[obj % paths.len()];
        let Value::Object(m) = at(&mut v, path) else { unreachable!() };
        let keys: Vec<String> = m.keys().cloned().collect();
        if !keys.is_empty() {
            let k = &keys[key % keys.len()];
            match op {
                0 => { m.shift_remove(k); }
                1 => { m.insert(k.clone(), replacement(kind)); }
                2 => {
                    let mut all: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
                    all.reverse();
                    m.extend(all);
                }
                _ => { m.insert("zz_unknown".into(), replacement(kind)); }
            }
        }
        let text = serde_json::to_string(&v).unwrap();
        if let Err(e) = same(&text, header) {
            proptest::prop_assert!(false, "{}", e);
        }
    }
}
