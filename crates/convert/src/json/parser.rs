//! A JSON reader with Jackson's acceptance rules, as Kafka's JsonConverter configures Jackson.
//!
//! It builds a small tree ([`Node`]) that borrows strings and number text from the input, so
//! numbers keep their exact text (a high-precision Decimal survives) and most strings are not
//! copied. Differences from strict RFC 8259, all as in Kafka:
//!
//! - leading zeros in numbers are accepted (`0012`);
//! - only the first value is read: text after a complete root object, array or string is
//!   ignored, while a root number or literal must be followed by whitespace or the end;
//! - nesting deeper than 1000 and numbers longer than 1000 characters are rejected, as
//!   Jackson's default read constraints do.
//!
//! For the envelope (`{"schema":..,"payload":..}`) the reader can also skip a value while
//! validating it and report its byte span, so a cached schema need not be parsed again.

use std::borrow::Cow;

/// Maximum nesting of arrays and objects.
const MAX_DEPTH: usize = 1000;
/// Maximum length of a number's text.
const MAX_NUMBER_LEN: usize = 1000;

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node<'a> {
    Null,
    Bool(bool),
    Number(Number<'a>),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

/// A number as written: its text and whether it is an integer token (no fraction, no
/// exponent), which is what Jackson's `isIntegralNumber` reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Number<'a> {
    pub text: &'a str,
    pub integral: bool,
}

impl Node<'_> {
    /// Jackson's `JsonNodeType` name, used in Kafka's error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Node::Null => "NULL",
            Node::Bool(_) => "BOOLEAN",
            Node::Number(_) => "NUMBER",
            Node::String(_) => "STRING",
            Node::Array(_) => "ARRAY",
            Node::Object(_) => "OBJECT",
        }
    }

    /// The last member named `key` (Jackson keeps the last of duplicate members).
    pub(crate) fn get(&self, key: &str) -> Option<&Node<'_>> {
        match self {
            Node::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Why the input is not JSON; the position is a 1-based line and column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason} at line {line}, column {column}")]
pub(crate) struct ParseError {
    reason: Cow<'static, str>,
    line: usize,
    column: usize,
}

/// Errors are boxed to keep the hot `Result<Node>` small.
type Result<T> = std::result::Result<T, Box<ParseError>>;

/// The parts of an envelope object.
pub(crate) struct Envelope<'a> {
    /// Byte span of the `schema` member's value.
    pub schema: Option<(usize, usize)>,
    /// True when that value is exactly the `known_schema` text.
    pub schema_known: bool,
    /// The `payload` member.
    pub payload: Option<Node<'a>>,
    /// True when the input is an object whose members are exactly `schema` and `payload`.
    pub valid: bool,
}

/// Reads the first JSON value of `input`; `None` when the input is empty or whitespace.
pub(crate) fn parse_root(input: &[u8]) -> Result<Option<Node<'_>>> {
    let mut p = Parser::new(input);
    p.skip_ws();
    if p.pos == input.len() {
        return Ok(None);
    }
    let node = p.parse_value()?;
    p.check_root_end(&node)?;
    Ok(Some(node))
}

/// Reads a schema-enabled envelope. Invalid JSON is an error; valid JSON that is not exactly
/// `{"schema":..,"payload":..}` comes back with `valid == false`.
///
/// `known_schema` is the text of a schema seen before (so known to be a complete JSON
/// object): when the `schema` member starts with exactly that text, it is stepped over
/// without scanning it again.
pub(crate) fn parse_envelope<'a>(
    input: &'a [u8],
    known_schema: Option<&[u8]>,
) -> Result<Envelope<'a>> {
    let mut p = Parser::new(input);
    let mut env = Envelope {
        schema: None,
        schema_known: false,
        payload: None,
        valid: false,
    };
    p.skip_ws();
    match p.peek() {
        None => return Ok(env),
        Some(b'{') => {}
        Some(_) => {
            let node = p.parse_value()?;
            p.check_root_end(&node)?;
            return Ok(env);
        }
    }
    p.pos += 1;
    p.enter()?;
    let mut extra = false;
    p.skip_ws();
    if p.peek() == Some(b'}') {
        return Ok(env);
    }
    loop {
        p.skip_ws();
        if p.peek() != Some(b'"') {
            return Err(p.unexpected("a field name (double-quoted)"));
        }
        p.pos += 1;
        let key = p.parse_string_body()?;
        p.expect_colon()?;
        p.skip_ws();
        match key.as_ref() {
            "schema" => {
                let start = p.pos;
                env.schema_known = match known_schema {
                    Some(known) if input[start..].starts_with(known) => {
                        p.pos += known.len();
                        true
                    }
                    _ => {
                        p.skip_value()?;
                        false
                    }
                };
                env.schema = Some((start, p.pos));
            }
            "payload" => env.payload = Some(p.parse_value()?),
            _ => {
                extra = true;
                p.skip_value()?;
            }
        }
        if p.end_of_container(b'}')? {
            break;
        }
    }
    env.valid = !extra && env.schema.is_some() && env.payload.is_some();
    Ok(env)
}

struct Parser<'a> {
    input: &'a [u8],
    /// The longest valid UTF-8 prefix of the input, validated once; string and number
    /// slices are taken from it. A string reaching past it is invalid UTF-8.
    text: &'a str,
    pos: usize,
    depth: usize,
    /// Elements of the arrays being built, innermost last; each array takes its own tail
    /// when it closes, so it is allocated once at its final size.
    items: Vec<Node<'a>>,
    /// Members of the objects being built, likewise.
    members: Vec<(Cow<'a, str>, Node<'a>)>,
}

impl<'a> Parser<'a> {
    fn new(input: &'a [u8]) -> Self {
        let text = match std::str::from_utf8(input) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&input[..e.valid_up_to()]).unwrap_or(""),
        };
        Parser {
            input,
            text,
            pos: 0,
            depth: 0,
            items: Vec::new(),
            members: Vec::new(),
        }
    }

    #[cold]
    fn error(&self, reason: impl Into<Cow<'static, str>>) -> Box<ParseError> {
        let upto = &self.input[..self.pos.min(self.input.len())];
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = self.pos - upto.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
        Box::new(ParseError {
            reason: reason.into(),
            line,
            column,
        })
    }

    #[cold]
    fn unexpected(&self, expected: &str) -> Box<ParseError> {
        match self.peek() {
            None => self.error(format!("unexpected end of input, expected {expected}")),
            Some(b) if b.is_ascii_graphic() => self.error(format!(
                "unexpected character '{}', expected {expected}",
                b as char
            )),
            Some(b) => self.error(format!(
                "unexpected character (code {b}), expected {expected}"
            )),
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!(
                "document nesting depth exceeds the maximum allowed ({MAX_DEPTH})"
            )));
        }
        Ok(())
    }

    fn expect_colon(&mut self) -> Result<()> {
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.unexpected("':' after a field name"));
        }
        self.pos += 1;
        Ok(())
    }

    /// After a member or element: consumes `,` (returns false) or the closing byte (true).
    fn end_of_container(&mut self, close: u8) -> Result<bool> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(false)
            }
            Some(b) if b == close => {
                self.pos += 1;
                self.depth -= 1;
                Ok(true)
            }
            _ => Err(self.unexpected(if close == b'}' {
                "',' or '}'"
            } else {
                "',' or ']'"
            })),
        }
    }

    /// A root number or literal must be followed by whitespace or the end of the input.
    fn check_root_end(&self, node: &Node<'_>) -> Result<()> {
        if matches!(node, Node::Number(_)) {
            if let Some(b) = self.peek() {
                if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                    return Err(self.unexpected("space separating root-level values"));
                }
            }
        }
        Ok(())
    }

    fn parse_value(&mut self) -> Result<Node<'a>> {
        self.skip_ws();
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                self.enter()?;
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Node::Object(Vec::new()));
                }
                let base = self.members.len();
                loop {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.unexpected("a field name (double-quoted)"));
                    }
                    self.pos += 1;
                    let key = self.parse_string_body()?;
                    self.expect_colon()?;
                    let value = self.parse_value()?;
                    self.members.push((key, value));
                    if self.end_of_container(b'}')? {
                        return Ok(Node::Object(self.members.drain(base..).collect()));
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                self.enter()?;
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Node::Array(Vec::new()));
                }
                let base = self.items.len();
                loop {
                    let item = self.parse_value()?;
                    self.items.push(item);
                    if self.end_of_container(b']')? {
                        return Ok(Node::Array(self.items.drain(base..).collect()));
                    }
                }
            }
            Some(b'"') => {
                self.pos += 1;
                Ok(Node::String(self.parse_string_body()?))
            }
            Some(b'-' | b'0'..=b'9') => Ok(Node::Number(self.parse_number()?)),
            Some(b't') => self.literal("true", Node::Bool(true)),
            Some(b'f') => self.literal("false", Node::Bool(false)),
            Some(b'n') => self.literal("null", Node::Null),
            _ => Err(self.unexpected("a JSON value")),
        }
    }

    /// Validates and steps over one value without building it.
    fn skip_value(&mut self) -> Result<()> {
        self.skip_ws();
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                self.enter()?;
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.unexpected("a field name (double-quoted)"));
                    }
                    self.pos += 1;
                    self.scan_string()?;
                    self.expect_colon()?;
                    self.skip_value()?;
                    if self.end_of_container(b'}')? {
                        return Ok(());
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                self.enter()?;
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                loop {
                    self.skip_value()?;
                    if self.end_of_container(b']')? {
                        return Ok(());
                    }
                }
            }
            Some(b'"') => {
                self.pos += 1;
                self.scan_string().map(|_| ())
            }
            Some(b'-' | b'0'..=b'9') => self.parse_number().map(|_| ()),
            Some(b't') => self.literal("true", ()),
            Some(b'f') => self.literal("false", ()),
            Some(b'n') => self.literal("null", ()),
            _ => Err(self.unexpected("a JSON value")),
        }
    }

    fn literal<T>(&mut self, word: &'static str, value: T) -> Result<T> {
        let end = self.pos + word.len();
        if self.input.get(self.pos..end) != Some(word.as_bytes()) {
            return Err(self.error(format!("unrecognized token, expected '{word}'")));
        }
        // Jackson rejects a literal that runs on into identifier characters (`truex`).
        if let Some(&b) = self.input.get(end) {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 {
                return Err(self.error(format!("unrecognized token starting with '{word}'")));
            }
        }
        self.pos = end;
        Ok(value)
    }

    fn parse_number(&mut self) -> Result<Number<'a>> {
        let start = self.pos;
        let bytes = self.input;
        let mut i = self.pos;
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        let digits_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == digits_start {
            self.pos = i;
            return Err(self.unexpected("a digit"));
        }
        let mut integral = true;
        if bytes.get(i) == Some(&b'.') {
            integral = false;
            i += 1;
            let frac_start = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == frac_start {
                self.pos = i;
                return Err(self.unexpected("a digit after the decimal point"));
            }
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            integral = false;
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let exp_start = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == exp_start {
                self.pos = i;
                return Err(self.unexpected("a digit in the exponent"));
            }
        }
        if i - start > MAX_NUMBER_LEN {
            return Err(self.error(format!(
                "number length ({}) exceeds the maximum allowed ({MAX_NUMBER_LEN})",
                i - start
            )));
        }
        self.pos = i;
        // The scanned bytes are ASCII, so they lie in the validated prefix.
        let text = self
            .text
            .get(start..i)
            .ok_or_else(|| self.error("invalid UTF-8 before a number"))?;
        Ok(Number { text, integral })
    }

    /// Scans a string body (opening quote consumed) up to and including its closing quote;
    /// returns the content span and whether it holds escapes.
    fn scan_string(&mut self) -> Result<(usize, usize, bool)> {
        let bytes = self.input;
        let start = self.pos;
        let mut i = start;
        let mut escaped = false;
        loop {
            let Some(&b) = bytes.get(i) else {
                self.pos = i;
                return Err(self.error("unexpected end of input in a string"));
            };
            match b {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    match bytes.get(i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                        Some(b'u') => {
                            let hex = bytes.get(i + 2..i + 6);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                self.pos = i;
                                return Err(self.error("invalid \\u escape in a string"));
                            }
                            i += 6;
                        }
                        _ => {
                            self.pos = i + 1;
                            return Err(self.error("unrecognized character escape"));
                        }
                    }
                }
                0..=0x1f => {
                    self.pos = i;
                    return Err(self.error(format!(
                        "illegal unquoted character (code {b}) in a string; control characters must be escaped"
                    )));
                }
                _ => i += 1,
            }
        }
        if i > self.text.len() {
            self.pos = self.text.len();
            return Err(self.error("invalid UTF-8 in a string"));
        }
        self.pos = i + 1;
        Ok((start, i, escaped))
    }

    fn parse_string_body(&mut self) -> Result<Cow<'a, str>> {
        let (start, end, escaped) = self.scan_string()?;
        let raw = self
            .text
            .get(start..end)
            .ok_or_else(|| self.error("invalid UTF-8 in a string"))?;
        if !escaped {
            return Ok(Cow::Borrowed(raw));
        }
        Ok(Cow::Owned(unescape(raw)))
    }
}

/// Decodes the escapes of a scanned (and so well-formed) string body. A lone surrogate
/// becomes U+FFFD.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let esc = &rest[i + 1..];
        let mut consumed = 2;
        match esc.as_bytes().first() {
            Some(b'b') => out.push('\u{8}'),
            Some(b'f') => out.push('\u{c}'),
            Some(b'n') => out.push('\n'),
            Some(b'r') => out.push('\r'),
            Some(b't') => out.push('\t'),
            Some(b'u') => {
                let unit = hex4(&esc[1..]);
                consumed = 6;
                let c = match unit {
                    0xD800..=0xDBFF => {
                        let low = esc
                            .get(5..7)
                            .filter(|s| *s == "\\u")
                            .map(|_| hex4(&esc[7..]))
                            .filter(|l| (0xDC00..=0xDFFF).contains(l));
                        match low {
                            Some(low) => {
                                consumed = 12;
                                char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                            }
                            None => None,
                        }
                    }
                    _ => char::from_u32(unit),
                };
                out.push(c.unwrap_or('\u{FFFD}'));
            }
            Some(&other) => out.push(other as char),
            None => {}
        }
        rest = &rest[(i + consumed).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

fn hex4(s: &str) -> u32 {
    s.get(..4)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .unwrap_or(0xFFFD)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Node<'_> {
        parse_root(s.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn parses_values_and_keeps_number_text() {
        let n = parse(r#"{"a":[1,-2.50,3e2,true,null,"x\"y\u00e9\ud83d\ude00"],"b":{}}"#);
        let a = n.get("a").unwrap();
        let Node::Array(items) = a else { panic!() };
        assert_eq!(
            items[0],
            Node::Number(Number {
                text: "1",
                integral: true
            })
        );
        assert_eq!(
            items[1],
            Node::Number(Number {
                text: "-2.50",
                integral: false
            })
        );
        assert_eq!(
            items[2],
            Node::Number(Number {
                text: "3e2",
                integral: false
            })
        );
        assert_eq!(items[3], Node::Bool(true));
        assert_eq!(items[4], Node::Null);
        assert_eq!(items[5], Node::String("x\"yé😀".into()));
        assert_eq!(n.get("b"), Some(&Node::Object(vec![])));
    }

    #[test]
    fn accepts_leading_zeros_and_ignores_trailing_text_after_containers() {
        assert_eq!(
            parse("0012"),
            Node::Number(Number {
                text: "0012",
                integral: true
            })
        );
        assert_eq!(parse("{\"a\":1} trailing"), parse("{\"a\":1}"));
        assert_eq!(parse("1 2"), parse("1"));
        assert!(parse_root(b"   ").unwrap().is_none());
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            "{",
            "[1,]",
            "{\"a\" 1}",
            "tru",
            "truex",
            "1a",
            "-",
            "1.",
            "1e",
            ".5",
            "+1",
            "'a'",
            "\"a\nb\"",
            "\"\\x\"",
            "{a:1}",
            "NaN",
            "[1 2]",
        ] {
            assert!(parse_root(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(parse_root(b"\"\xff\"").is_err());
        // Debug builds use large frames; give the recursion room.
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(|| {
                let deep = "[".repeat(1001);
                let err = parse_root(deep.as_bytes()).unwrap_err();
                assert!(err.to_string().contains("nesting depth"));
                let ok = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
                assert!(parse_root(ok.as_bytes()).is_ok());
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn error_reports_position() {
        let err = parse_root(b"{\n  \"a\": x}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected character 'x', expected a JSON value at line 2, column 8"
        );
    }

    #[test]
    fn envelope_spans_the_schema() {
        let input = br#"{"schema": {"type":"int32"} , "payload": 5}"#;
        let env = parse_envelope(input, None).unwrap();
        assert!(env.valid);
        let (s, e) = env.schema.unwrap();
        assert_eq!(&input[s..e], br#"{"type":"int32"}"#);
        assert_eq!(
            env.payload,
            Some(Node::Number(Number {
                text: "5",
                integral: true
            }))
        );
        assert!(!env.schema_known);
        let known = parse_envelope(input, Some(br#"{"type":"int32"}"#)).unwrap();
        assert_eq!(known.schema, Some((s, e)));
        assert!(known.schema_known);
        assert!(!parse_envelope(br#"{"schema":null}"#, None).unwrap().valid);
        assert!(
            !parse_envelope(br#"{"schema":null,"payload":1,"x":2}"#, None)
                .unwrap()
                .valid
        );
        assert!(!parse_envelope(b"[1]", None).unwrap().valid);
        assert!(!parse_envelope(b"", None).unwrap().valid);
        assert!(parse_envelope(br#"{"schema":null,"payload":[}"#, None).is_err());
        assert!(parse_envelope(br#"[1,}"#, None).is_err());
        assert!(parse_envelope(b"{\"schema\":null,\"payload\":\"\xff\"}", None).is_err());
        assert!(parse_root(b"{\"a\":1} \xff").is_ok());
    }
}
