//! A compact JSON reader for the types tend reads from JSON text.
//!
//! serde's derived deserializers are generic over the deserializer: each type's visitor is built
//! into `serde_json`'s parser, with a second path for arrays (a struct may come as a sequence) and,
//! for internally tagged enums, a copy of every object in serde's `Content` tree before the
//! variant is read. In the wasm package that made the deserializers 28 % of the code. Here one
//! non-generic [`Reader`] walks the text, and each type's [`FromJson`] (derived by
//! `tend-derive`, which follows the same `#[serde(…)]` attributes: `rename_all`, `tag`,
//! `default`, `with`, `deny_unknown_fields`, `transparent`, `skip`) calls it through a callback
//! per object key, so a type costs only its field matching. The format is serde's: what serde
//! writes, this reads; errors read like `serde_json`'s ("missing field `x` at line 1 column 9").
//!
//! An internally tagged object whose tag is not its first key (hand-written JSON) is scanned for
//! the tag first, then read from its start with the tag key skipped: no buffering.

use std::borrow::Cow;
use std::fmt;

/// A JSON text that does not hold the expected value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
    line: usize,
    column: usize,
}

impl Error {
    /// The 1-based line of the position where reading stopped.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The 1-based column of the character at that position.
    pub fn column(&self) -> usize {
        self.column
    }

    /// The message without its position.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

impl std::error::Error for Error {}

/// A value readable from JSON text.
pub trait FromJson: Sized {
    /// Reads one value at the reader's position.
    fn read(r: &mut Reader<'_>) -> Result<Self, Error>;
}

/// Reads a whole document: one value and nothing but whitespace after it.
pub fn from_str<T: FromJson>(text: &str) -> Result<T, Error> {
    let mut r = Reader::new(text);
    let v = T::read(&mut r)?;
    r.end()?;
    Ok(v)
}

/// How deep objects and arrays may nest (`serde_json`'s limit).
const MAX_DEPTH: u32 = 128;

/// The cursor over a JSON text.
pub struct Reader<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
    /// Internally tagged enums' tag keys, skipped by the next object read (two: a tagged enum
    /// may hold another in the same object).
    skip_keys: [Option<&'static str>; 2],
}

/// The JSON type of the next value, for messages.
fn kind_name(b: u8) -> &'static str {
    match b {
        b'{' => "map",
        b'[' => "sequence",
        b'"' => "string",
        b't' | b'f' => "boolean",
        b'n' => "null",
        _ => "number",
    }
}

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            depth: 0,
            skip_keys: [None; 2],
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// An error at the current position.
    #[inline(never)]
    pub fn error(&self, message: impl Into<String>) -> Error {
        let before = &self.bytes()[..self.pos.min(self.text.len())];
        #[allow(clippy::naive_bytecount)] // an error's position: not a hot path
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let column = 1 + before.len()
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
        Error {
            message: message.into(),
            line,
            column,
        }
    }

    fn ws(&mut self) {
        let b = self.bytes();
        while let Some(&c) = b.get(self.pos) {
            if matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// The first byte of the next value, after whitespace.
    fn peek(&mut self) -> Result<u8, Error> {
        self.ws();
        self.bytes()
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.error("EOF while parsing a value"))
    }

    /// Whether the next value is `null` (not consumed).
    pub fn peek_null(&mut self) -> Result<bool, Error> {
        Ok(self.peek()? == b'n')
    }

    /// Whether the next value is a string (not consumed).
    pub fn peek_string(&mut self) -> Result<bool, Error> {
        Ok(self.peek()? == b'"')
    }

    /// Whether the next value is an object (not consumed).
    pub fn peek_object(&mut self) -> Result<bool, Error> {
        Ok(self.peek()? == b'{')
    }

    /// Only whitespace is left.
    #[inline(never)]
    pub fn end(&mut self) -> Result<(), Error> {
        self.ws();
        if self.pos < self.text.len() {
            return Err(self.error("trailing characters"));
        }
        Ok(())
    }

    fn literal(&mut self, word: &str) -> Result<(), Error> {
        if self.bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            self.pos += 1;
            Err(self.error("expected value"))
        }
    }

    /// An "invalid type" error for the value at the position.
    #[inline(never)]
    pub fn invalid_type(&mut self, expected: &str) -> Error {
        let found = match self.peek() {
            Ok(b'"') => {
                let at = self.pos;
                let s = self.string().map(|s| format!("string {s:?}"));
                self.pos = at;
                s.unwrap_or_else(|_| "string".into())
            }
            Ok(b) => kind_name(b).to_owned(),
            Err(e) => return e,
        };
        self.error(format!("invalid type: {found}, expected {expected}"))
    }

    /// Reads `null`.
    #[inline(never)]
    pub fn null(&mut self) -> Result<(), Error> {
        if self.peek()? != b'n' {
            return Err(self.invalid_type("null"));
        }
        self.literal("null")
    }

    /// Reads `true` or `false`.
    #[inline(never)]
    pub fn boolean(&mut self) -> Result<bool, Error> {
        match self.peek()? {
            b't' => self.literal("true").map(|()| true),
            b'f' => self.literal("false").map(|()| false),
            _ => Err(self.invalid_type("a boolean")),
        }
    }

    /// A number starts at the position, or the "invalid type" error naming `expected`.
    fn number_start(&mut self, expected: &str) -> Result<(), Error> {
        match self.peek()? {
            b'0'..=b'9' | b'-' => Ok(()),
            _ => Err(self.invalid_type(expected)),
        }
    }

    /// The text of a JSON number at the position (validated), consumed.
    #[inline(never)]
    fn number_text(&mut self) -> Result<&'a str, Error> {
        let b = self.bytes();
        let start = self.pos;
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let digits = |i: &mut usize| {
            let s = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > s
        };
        let int_start = i;
        if !digits(&mut i) || (b[int_start] == b'0' && i > int_start + 1) {
            self.pos = i;
            return Err(self.error("invalid number"));
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                self.pos = i;
                return Err(self.error("invalid number"));
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                self.pos = i;
                return Err(self.error("invalid number"));
            }
        }
        self.pos = i;
        Ok(&self.text[start..i])
    }

    /// Reads a non-negative integer (`expected` names the type in errors).
    #[inline(never)]
    pub fn unsigned(&mut self, max: u64, expected: &str) -> Result<u64, Error> {
        self.number_start(expected)?;
        let at = self.pos;
        let t = self.number_text()?;
        match t.parse::<u64>() {
            Ok(v) if v <= max => Ok(v),
            Ok(v) => Err(self.error(format!("invalid value: integer `{v}`, expected {expected}"))),
            Err(_) if t.starts_with('-') && !t.contains(['.', 'e', 'E']) => {
                Err(self.error(format!("invalid value: integer `{t}`, expected {expected}")))
            }
            Err(_) if t.contains(['.', 'e', 'E']) => {
                self.pos = at;
                let e = self.error(format!(
                    "invalid type: floating point `{t}`, expected {expected}"
                ));
                self.pos = at + t.len();
                Err(e)
            }
            Err(_) => Err(self.error("number out of range")),
        }
    }

    /// Reads an integer that may be negative.
    #[inline(never)]
    pub fn signed(&mut self, expected: &str) -> Result<i64, Error> {
        self.number_start(expected)?;
        let t = self.number_text()?;
        t.parse::<i64>().map_err(|_| {
            if t.contains(['.', 'e', 'E']) {
                self.error(format!(
                    "invalid type: floating point `{t}`, expected {expected}"
                ))
            } else {
                self.error("number out of range")
            }
        })
    }

    /// Reads any number as a float.
    #[inline(never)]
    pub fn float(&mut self) -> Result<f64, Error> {
        self.number_start("f64")?;
        let t = self.number_text()?;
        t.parse::<f64>().map_err(|_| self.error("invalid number"))
    }

    /// Reads a string (borrowed when it has no escapes).
    #[inline(never)]
    pub fn string(&mut self) -> Result<Cow<'a, str>, Error> {
        if self.peek()? != b'"' {
            return Err(self.invalid_type("a string"));
        }
        let b = self.bytes();
        self.pos += 1;
        let start = self.pos;
        let mut i = start;
        loop {
            match b.get(i) {
                None => {
                    self.pos = i;
                    return Err(self.error("EOF while parsing a string"));
                }
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(&self.text[start..i]));
                }
                Some(b'\\') => break,
                Some(&c) if c < 0x20 => {
                    self.pos = i;
                    return Err(self.error(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ));
                }
                Some(_) => i += 1,
            }
        }
        // Two loops on purpose: the one above is the tight scan of an unescaped string (every key
        // and almost every value); folding both into one loop made recording parse 11 % slower.
        let mut out = String::from(&self.text[start..i]);
        loop {
            match b.get(i) {
                None => {
                    self.pos = i;
                    return Err(self.error("EOF while parsing a string"));
                }
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    i += 1;
                    let c = match b.get(i) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos = i + 1;
                            let c = self.unicode_escape()?;
                            i = self.pos;
                            out.push(c);
                            continue;
                        }
                        _ => {
                            self.pos = i;
                            return Err(self.error("invalid escape"));
                        }
                    };
                    out.push(c);
                    i += 1;
                }
                Some(&c) if c < 0x20 => {
                    self.pos = i;
                    return Err(self.error(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ));
                }
                Some(_) => {
                    // Copy the run up to the next quote or backslash (valid UTF-8: the text is a str).
                    let s = i;
                    while b
                        .get(i)
                        .is_some_and(|&c| c != b'"' && c != b'\\' && c >= 0x20)
                    {
                        i += 1;
                    }
                    out.push_str(&self.text[s..i]);
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let b = self.bytes();
        let mut v = 0u32;
        for _ in 0..4 {
            let d = b
                .get(self.pos)
                .and_then(|&c| (c as char).to_digit(16))
                .ok_or_else(|| self.error("invalid escape"))?;
            v = v * 16 + d;
            self.pos += 1;
        }
        Ok(v)
    }

    /// The character of a `\u` escape (the position after the `u`), surrogate pairs joined.
    fn unicode_escape(&mut self) -> Result<char, Error> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if !self.bytes()[self.pos..].starts_with(b"\\u") {
                return Err(self.error("lone leading surrogate in hex escape"));
            }
            self.pos += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.error("lone leading surrogate in hex escape"));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid unicode code point"))
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("recursion limit exceeded"));
        }
        Ok(())
    }

    /// Reads an object: `f` gets each key and reads (or skips) its value. The tag key of an
    /// internally tagged enum being read is skipped.
    #[inline(never)]
    pub fn object(
        &mut self,
        f: &mut dyn FnMut(&mut Reader<'a>, &str) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let skip = std::mem::take(&mut self.skip_keys);
        let mut seen = [false; 2];
        self.open(b'{', "a map")?;
        let mut first = true;
        while self.next_item(b'}', &mut first)? {
            if self.peek()? != b'"' {
                return Err(self.error("key must be a string"));
            }
            let key = self.string()?;
            if self.peek()? != b':' {
                return Err(self.error("expected `:`"));
            }
            self.pos += 1;
            if let Some(i) = skip.iter().position(|k| *k == Some(key.as_ref())) {
                if seen[i] {
                    return Err(self.duplicate(&key));
                }
                seen[i] = true;
                self.skip()?;
            } else {
                f(self, &key)?;
            }
        }
        Ok(())
    }

    /// Enters the object or array that starts at the position (`open` is its bracket).
    fn open(&mut self, open: u8, expected: &str) -> Result<(), Error> {
        if self.peek()? != open {
            return Err(self.invalid_type(expected));
        }
        self.enter()?;
        self.pos += 1;
        Ok(())
    }

    /// Steps to the next member of an object or array (past its comma): false at the closing
    /// bracket `close` (consumed, the container left).
    fn next_item(&mut self, close: u8, first: &mut bool) -> Result<bool, Error> {
        match self.peek() {
            Ok(c) if c == close => {
                self.pos += 1;
                self.depth -= 1;
                return Ok(false);
            }
            Ok(b',') if !*first => self.pos += 1,
            Ok(_) if *first => {}
            Ok(_) => {
                let close = close as char;
                return Err(self.error(format!("expected `,` or `{close}`")));
            }
            Err(_) => return Err(self.error("EOF while parsing an object or a list")),
        }
        *first = false;
        Ok(true)
    }

    /// Reads an array: `f` reads each item.
    #[inline(never)]
    pub fn array(
        &mut self,
        f: &mut dyn FnMut(&mut Reader<'a>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.open(b'[', "a sequence")?;
        let mut first = true;
        while self.next_item(b']', &mut first)? {
            f(self)?;
        }
        Ok(())
    }

    /// Skips one value (checked as JSON).
    #[inline(never)]
    pub fn skip(&mut self) -> Result<(), Error> {
        match self.peek()? {
            b'{' => self.object(&mut |r, _| r.skip()),
            b'[' => self.array(&mut |r| r.skip()),
            b'"' => self.string().map(drop),
            b't' | b'f' => self.boolean().map(drop),
            b'n' => self.null(),
            b'0'..=b'9' | b'-' => self.number_text().map(drop),
            _ => {
                self.pos += 1;
                Err(self.error("expected value"))
            }
        }
    }

    /// The tag of the internally tagged object at the position, without moving: the key `tag`
    /// is looked up (first in tend's own output, anywhere in hand-written JSON). The next
    /// [`Reader::object`] skips it.
    #[inline(never)]
    pub fn tag(&mut self, tag: &'static str) -> Result<Cow<'a, str>, Error> {
        if self.peek()? != b'{' {
            return Err(self.invalid_type(&format!("an object with a \"{tag}\" tag")));
        }
        let start = self.pos;
        let outer = self.skip_keys[0];
        // tend writes the tag first: `{"tag":"variant"`, read in place.
        let b = &self.bytes()[start + 1..];
        if b.first() == Some(&b'"')
            && b[1..].starts_with(tag.as_bytes())
            && b[1 + tag.len()..].starts_with(b"\":\"")
        {
            let v = &b[tag.len() + 4..];
            if let Some(end) = v.iter().position(|&c| c == b'"' || c == b'\\')
                && v[end] == b'"'
            {
                let from = start + tag.len() + 5;
                self.skip_keys = [Some(tag), outer];
                return Ok(Cow::Borrowed(&self.text[from..from + end]));
            }
        }
        let depth = self.depth;
        let mut found: Option<Cow<'a, str>> = None;
        let scan = self.object(&mut |r, key| {
            if found.is_none() && key == tag {
                found = Some(r.string()?);
                // The rest of the object is read again with the variant known.
                Err(Error {
                    message: String::new(),
                    line: 0,
                    column: 0,
                })
            } else {
                r.skip()
            }
        });
        let end = self.pos;
        self.pos = start;
        self.depth = depth;
        match (found, scan) {
            (Some(t), _) => {
                self.skip_keys = [Some(tag), outer];
                Ok(t)
            }
            (None, Err(e)) => {
                self.pos = end;
                Err(e)
            }
            (None, Ok(())) => Err(self.error(format!("missing field `{tag}`"))),
        }
    }

    /// The error for a key a type does not have (`deny_unknown_fields`).
    #[inline(never)]
    pub fn unknown_field(&self, key: &str, fields: &[&str]) -> Error {
        self.error(format!("unknown field `{key}`, {}", one_of(fields)))
    }

    /// The error for a tag naming no variant.
    #[inline(never)]
    pub fn unknown_variant(&self, variant: &str, variants: &[&str]) -> Error {
        self.error(format!("unknown variant `{variant}`, {}", one_of(variants)))
    }

    /// The error for a required field that is absent.
    #[inline(never)]
    pub fn missing(&self, field: &str) -> Error {
        self.error(format!("missing field `{field}`"))
    }

    /// The error for a field given twice.
    #[inline(never)]
    pub fn duplicate(&self, field: &str) -> Error {
        self.error(format!("duplicate field `{field}`"))
    }

    /// A string read and turned into a value by `parse` (its error becomes the message).
    pub fn parsed<T, E: fmt::Display>(
        &mut self,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, Error> {
        let s = self.string()?;
        parse(&s).map_err(|e| self.error(e.to_string()))
    }
}

/// The position of `key` in a type's field names (the derived readers' key lookup: one loop
/// for every type instead of a string `match` per type).
#[doc(hidden)]
pub fn field_index(key: &str, fields: &[&str]) -> Option<usize> {
    fields.iter().position(|f| *f == key)
}

/// One field of an object being read (used by the derived readers): empty until its key is
/// met. Its methods are generic over the field's type only, so every field of one type shares
/// them (in the wasm build they are never inlined: the package's size is the goal there).
#[doc(hidden)]
pub struct Slot<T>(Option<T>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T> Slot<T> {
    /// Fills the slot by `read`; an error if `name` came twice.
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    pub fn read_with(
        &mut self,
        r: &mut Reader<'_>,
        name: &str,
        read: fn(&mut Reader<'_>) -> Result<T, Error>,
    ) -> Result<(), Error> {
        if self.0.is_some() {
            return Err(r.duplicate(name));
        }
        self.0 = Some(read(r)?);
        Ok(())
    }

    /// The value, or the missing-field error.
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    pub fn take(self, r: &Reader<'_>, name: &str) -> Result<T, Error> {
        self.0.ok_or_else(|| r.missing(name))
    }

    /// The value, or `absent()`.
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    pub fn or_else(self, absent: fn() -> T) -> T {
        self.0.unwrap_or_else(absent)
    }

    /// The value, or `absent`.
    pub fn or(self, absent: T) -> T {
        self.0.unwrap_or(absent)
    }
}

impl<T: FromJson> Slot<T> {
    /// Fills the slot by `T`'s reader; an error if `name` came twice.
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    pub fn read(&mut self, r: &mut Reader<'_>, name: &str) -> Result<(), Error> {
        self.read_with(r, name, T::read)
    }
}

impl<T: Default> Slot<T> {
    /// The value, or `T::default()`.
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    pub fn or_default(self) -> T {
        self.0.unwrap_or_default()
    }
}

fn one_of(names: &[&str]) -> String {
    match names {
        [] => "there are no fields".to_owned(),
        [one] => format!("expected `{one}`"),
        [a, b] => format!("expected `{a}` or `{b}`"),
        _ => {
            let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!("expected one of {}", list.join(", "))
        }
    }
}

mod impls;
pub mod node;

pub use impls::{FromKey, list};
pub use node::{Kind, Node, document};

#[cfg(test)]
mod tests;
