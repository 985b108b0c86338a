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
use std::collections::BTreeMap;
use std::fmt;

use alloy_primitives::{Address, B256, U256};

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

/// Types read from their text by `FromStr` (a string in JSON, or a map key).
macro_rules! from_text {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
                r.parsed(|s| s.parse::<$t>())
            }
        }

        impl FromKey for $t {
            fn from_key(key: &str) -> Result<Self, String> {
                key.parse().map_err(|e| format!("{e}"))
            }
        }
    )*};
}

from_text!(crate::address::Asset, crate::chain::ChainId);

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

impl<K: FromKey + Ord, V: FromJson> FromJson for crate::map::Map<K, V> {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let mut out = crate::map::Map::new();
        r.object(&mut |r, key| {
            let k = K::from_key(key).map_err(|e| r.error(e))?;
            out.insert(k, V::read(r)?);
            Ok(())
        })?;
        Ok(out)
    }
}

impl<T: FromJson + Ord> FromJson for crate::map::Set<T> {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Vec::<T>::read(r).map(|v| v.into_iter().collect())
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
            b'0'..=b'9' | b'-' => {
                let t = r.number_text()?;
                // `serde_json` reads `-0` as the float -0.0.
                let integer = !t.contains(['.', 'e', 'E']) && t != "-0";
                if let (true, Ok(u)) = (integer, t.parse::<u64>()) {
                    Value::from(u)
                } else if let (true, Ok(i)) = (integer, t.parse::<i64>()) {
                    Value::from(i)
                } else {
                    t.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number)
                        .ok_or_else(|| r.error("number out of range"))?
                }
            }
            _ => return Err(r.invalid_type("a JSON value")),
        })
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

#[cfg(test)]
mod tests {
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
}

#[cfg(test)]
mod fuzz {
    //! Any text, JSON-like or not, gives a value or a typed error: never a panic.
    use proptest::prelude::*;

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

    fn all_readers(text: &str) {
        let _ = crate::engine::io::Input::from_json(text);
        let _ = crate::engine::io::JournalEntry::list_from_json(text);
        let _ = crate::engine::config::EngineConfig::from_json(text);
        let _ = crate::sim::SimConfig::from_json(text);
        let _ = crate::rpc::RpcPolicy::from_json(text);
        let _ = crate::nonce::NonceRequest::from_json(text);
        let _ = crate::health::HealthRequest::from_json(text);
        let _ = crate::lifecycle::plan::TransitionRequest::from_json(text);
        let _ = crate::recording::Recording::parse(text);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn json_like_text_never_panics(text in r#"[\[\]{}":,0-9a-z_\\ .eE+-]{0,160}"#) {
            all_readers(&text);
        }

        #[test]
        fn any_text_never_panics(text in any::<String>()) {
            all_readers(&text);
        }

        /// JSON values read as `serde_json` reads them: the same value, or both refuse. Floats may
        /// differ in the last bit: `serde_json` (without its `float_roundtrip` feature) rounds
        /// some long decimals inexactly, this reader rounds correctly (the standard library's).
        #[test]
        fn values_read_as_serde_json_reads_them(
            text in r#"[\[\]{}":,0-9a-z\\ .eE+-]{0,40}|\[?-?[0-9]{1,25}(\.[0-9]{0,5})?([eE][+-]?[0-9]{1,3})?\]?"#
        ) {
            let ours = super::from_str::<serde_json::Value>(&text).ok();
            let theirs = serde_json::from_str::<serde_json::Value>(&text).ok();
            prop_assert!(same_value(ours.as_ref(), theirs.as_ref()), "{text}: {ours:?} vs {theirs:?}");
        }

        /// Valid inputs cut anywhere or with one byte changed.
        #[test]
        fn damaged_inputs_never_panic(cut in 0usize..400, at in 0usize..400, b in 0x20u8..0x7f) {
            for good in [
                r#"{"input":"rpc_response","now":5,"id":7,"latency_ms":3,"result":{"Ok":{"answer":"balances","block":9,"values":["1","0x2"]}}}"#,
                r#"{"input":"probed","now":1,"service":"a","result":{"result":"http","status":200,"latency_ms":3,"body":{"is_healthy":true}}}"#,
                r#"{"records":[],"chain":{"latest":4,"pending":6,"head":100},"now":0}"#,
                r#"{"services":2,"duration_ms":3600000,"sample_every_ms":600000}"#,
            ] {
                all_readers(&good[..cut.min(good.len())]);
                let mut bytes = good.as_bytes().to_vec();
                let i = at % bytes.len();
                bytes[i] = b;
                all_readers(&String::from_utf8(bytes).unwrap());
            }
        }
    }
}

#[cfg(test)]
mod tagged_tests {
    //! Internally tagged enums of the engine read by [`super`]: any key order, unit and newtype
    //! variants, unknown keys, and bad objects.
    use super::from_str;
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
            from_str(r#"{"failure":"missing_response","extra":[1,{"a":2}]}"#).unwrap();
        assert_eq!(f, RpcFailure::MissingResponse);
        let f: RpcFailure = from_str(r#"{"status":429,"failure":"http"}"#).unwrap();
        assert_eq!(
            f,
            RpcFailure::Http {
                status: 429,
                retry_after_ms: None
            }
        );
        let p: ProbeResult = from_str(r#"{"result":"timeout"}"#).unwrap();
        assert_eq!(p, ProbeResult::Timeout);
        let a: RpcAnswer = from_str(
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
