//! A checked document read on demand: [`document`] checks the whole text once (the same errors,
//! at the same places, as reading it into a `serde_json::Value`), then each [`Node`] reads its
//! value where it stands when asked, with the same [`Reader`]. Hand-written readers that name
//! the JSONPath of a bad field (tend's Olas snapshot and planner input) walk nodes instead of a
//! tree built first: nothing is copied, and a value's text is at hand for messages.

use std::borrow::Cow;

use super::impls::{check_value, number};
use super::{Error, FromJson, Reader};

/// The JSON type of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

/// One value of a checked document (cheap to copy: the text and where the value starts).
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    text: &'a str,
    pos: usize,
}

/// Checks `text` as one JSON value (and nothing but whitespace after it) and returns its root.
pub fn document(text: &str) -> Result<Node<'_>, Error> {
    let mut r = Reader::new(text);
    check_value(&mut r)?;
    r.end()?;
    Ok(Node { text, pos: 0 })
}

impl<'a> Node<'a> {
    /// A reader at the value, after its leading whitespace.
    fn reader(self) -> Reader<'a> {
        let mut r = Reader::new(self.text);
        r.pos = self.pos;
        r.ws();
        r
    }

    /// The node's JSON type.
    pub fn kind(self) -> Kind {
        let r = self.reader();
        match r.bytes().get(r.pos) {
            Some(b'n') => Kind::Null,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'"') => Kind::String,
            Some(b'[') => Kind::Array,
            Some(b'{') => Kind::Object,
            _ => Kind::Number,
        }
    }

    /// Whether the node is `null`.
    pub fn is_null(self) -> bool {
        self.kind() == Kind::Null
    }

    /// The boolean, if the node is one.
    pub fn as_bool(self) -> Option<bool> {
        (self.kind() == Kind::Bool)
            .then(|| self.reader().boolean().ok())
            .flatten()
    }

    /// The string (borrowed when it has no escapes), if the node is one.
    pub fn as_str(self) -> Option<Cow<'a, str>> {
        (self.kind() == Kind::String)
            .then(|| self.reader().string().ok())
            .flatten()
    }

    /// The number as `serde_json` holds it, if the node is one.
    pub fn as_number(self) -> Option<serde_json::Number> {
        (self.kind() == Kind::Number)
            .then(|| number(&mut self.reader()).ok())
            .flatten()
    }

    /// The array's items, if the node is one.
    pub fn items(self) -> Option<Vec<Node<'a>>> {
        if self.kind() != Kind::Array {
            return None;
        }
        let text = self.text;
        let mut out = Vec::new();
        self.reader()
            .array(&mut |r| {
                out.push(Node { text, pos: r.pos });
                r.skip()
            })
            .ok()?;
        Some(out)
    }

    /// The object's members in document order, if the node is one. A key given twice keeps its
    /// first place and its last value (as `serde_json::Map` keeps it). Keys are compared by a
    /// scan of the members before: objects in tend's inputs have few keys.
    pub fn entries(self) -> Option<Vec<(String, Node<'a>)>> {
        if self.kind() != Kind::Object {
            return None;
        }
        let text = self.text;
        let mut out: Vec<(String, Node<'a>)> = Vec::new();
        let mut r = self.reader();
        r.object(&mut |r, key| {
            let node = Node { text, pos: r.pos };
            match out.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = node,
                None => out.push((key.to_owned(), node)),
            }
            r.skip()
        })
        .ok()?;
        Some(out)
    }

    /// The value of the object's member `key` (the last one when the key is given twice, as
    /// [`Node::entries`] keeps it), if the node is an object that has it.
    pub fn get(self, key: &str) -> Option<Node<'a>> {
        if self.kind() != Kind::Object {
            return None;
        }
        let text = self.text;
        let mut found = None;
        self.reader()
            .object(&mut |r, k| {
                if k == key {
                    found = Some(Node { text, pos: r.pos });
                }
                r.skip()
            })
            .ok()?;
        found
    }

    /// Reads the node as a `T` (errors at the value's line and column).
    pub fn read<T: FromJson>(self) -> Result<T, Error> {
        T::read(&mut self.reader())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_read_what_they_hold() {
        let root =
            document(r#" {"a": [1, -2, 3.5, "x\u0041"], "b": {"c": null, "c": true}} "#).unwrap();
        assert_eq!(root.kind(), Kind::Object);
        let e = root.entries().unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].0, "a");
        let items = e[0].1.items().unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].as_number().unwrap().as_u64(), Some(1));
        assert_eq!(items[1].as_number().unwrap().as_i64(), Some(-2));
        assert_eq!(items[2].as_number().unwrap().to_string(), "3.5");
        assert_eq!(items[3].as_str().unwrap(), "xA");
        assert!(items[3].as_number().is_none());
        assert!(items[0].as_str().is_none());
        let b = e[1].1.entries().unwrap();
        assert_eq!(b.len(), 1, "a repeated key is one member");
        assert_eq!(b[0].1.as_bool(), Some(true), "the last value wins");
        assert!(e[1].1.items().is_none());
        assert!((items[2].read::<f64>().unwrap() - 3.5).abs() < f64::EPSILON);
        assert!(e[0].1.read::<Vec<u64>>().is_err());
    }

    #[test]
    fn documents_are_checked_whole() {
        assert!(document("").is_err());
        assert!(document("[1, 2").is_err());
        assert!(document("{} x").is_err());
        assert!(document("[1e400]").is_err());
        assert_eq!(document("  null").unwrap().kind(), Kind::Null);
    }
}
