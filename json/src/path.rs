//! Where a value sits in a document, as a JSONPath (`$.service.agent_addresses[2]`,
//! `$.balances["0xabc…"]`), and an error at such a place.
//!
//! A [`Path`] is a chain of segments that borrows its parents: building a child's path allocates
//! nothing; the text is made only when an error is.

use std::fmt;

/// The location of a value inside a document.
#[derive(Debug, Clone, Copy)]
pub struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl Path<'static> {
    /// The document root, `$`.
    pub const ROOT: Path<'static> = Path {
        parent: None,
        seg: Seg::Root,
    };
}

impl<'a> Path<'a> {
    /// The path of a field of this object.
    #[must_use]
    pub fn key(&'a self, key: &'a str) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Seg::Key(key),
        }
    }

    /// The path of an element of this array.
    #[must_use]
    pub fn index(&'a self, i: usize) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Seg::Index(i),
        }
    }

    /// An error of kind `kind` at this path.
    pub fn error<K>(&self, kind: K) -> PathError<K> {
        PathError {
            path: self.to_string(),
            kind,
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.parent {
            p.fmt(f)?;
        }
        match self.seg {
            Seg::Root => f.write_str("$"),
            Seg::Index(i) => write!(f, "[{i}]"),
            Seg::Key(k) => {
                let plain = !k.is_empty()
                    && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && !k.as_bytes()[0].is_ascii_digit();
                if plain {
                    write!(f, ".{k}")
                } else {
                    write!(f, "[{}]", crate::write::to_string(k))
                }
            }
        }
    }
}

/// A bad value at a place in a document: `$.now: expected a whole number, found a string`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError<K> {
    /// The JSONPath of the bad value (`$` is the document).
    pub path: String,
    /// What is wrong with it.
    pub kind: K,
}

impl<K: fmt::Display> fmt::Display for PathError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.kind)
    }
}

impl<K: fmt::Debug + fmt::Display> std::error::Error for PathError<K> {}

#[cfg(test)]
#[allow(clippy::many_single_char_names)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_as_jsonpath() {
        let root = Path::ROOT;
        let a = root.key("service");
        let b = a.key("agent_addresses");
        let c = b.index(2);
        assert_eq!(c.to_string(), "$.service.agent_addresses[2]");
        let d = root.key("0xabc");
        assert_eq!(d.to_string(), "$[\"0xabc\"]");
        let e = root.key("with space \"q\"");
        assert_eq!(e.to_string(), "$[\"with space \\\"q\\\"\"]");
        assert_eq!(root.key("_a1").to_string(), "$._a1");
        assert_eq!(root.key("1a").to_string(), "$[\"1a\"]");
        assert_eq!(root.key("").to_string(), "$[\"\"]");
        assert_eq!(root.error("bad").to_string(), "$: bad");
    }
}
