//! Java `.properties` parsing, as `java.util.Properties.load` reads worker and connector files.
//!
//! The format, line by line:
//!
//! - blank lines and lines whose first non-blank character is `#` or `!` are comments;
//! - a key ends at the first unescaped `=`, `:` or whitespace; whitespace around the separator
//!   is skipped, and a whitespace separator may be followed by one `=` or `:`;
//! - a line ending in an odd number of backslashes continues on the next line, whose leading
//!   whitespace is dropped;
//! - escapes `\t`, `\n`, `\r`, `\f`, `\\` and `\uXXXX` are decoded in keys and values; any other
//!   escaped character stands for itself (`\:` is `:`, `\ ` is a space);
//! - a later duplicate key replaces an earlier one.
//!
//! A malformed `\u` escape is an error naming the (first physical) line of the entry.

use sluice_api::config::ConfigMap;

/// A `.properties` text that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct PropertiesError {
    /// 1-based line number where the faulty entry starts.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses `.properties` text into a key/value map (later duplicates win).
pub fn parse(text: &str) -> Result<ConfigMap, PropertiesError> {
    Ok(parse_entries(text)?.into_iter().collect())
}

/// Parses `.properties` text into entries in file order, duplicates kept.
pub fn parse_entries(text: &str) -> Result<Vec<(String, String)>, PropertiesError> {
    let mut entries = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, first)) = lines.next() {
        let trimmed = first.trim_start_matches(is_blank);
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        // Join continuation lines into one logical line.
        let mut logical = String::from(trimmed);
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start_matches(is_blank)),
                None => break,
            }
        }
        let line = index + 1;
        let (raw_key, raw_value) = split_key_value(&logical);
        let key = unescape(raw_key).map_err(|message| PropertiesError { line, message })?;
        let value = unescape(raw_value).map_err(|message| PropertiesError { line, message })?;
        entries.push((key, value));
    }
    Ok(entries)
}

/// Java's `Properties` treats space, tab and form feed as whitespace.
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\x0c'
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1
}

/// Splits a logical line into raw (still escaped) key and value.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = line.len();
    let mut separator = None;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => {
                key_end = i;
                separator = Some((i, c));
                break;
            }
            c if is_blank(c) => {
                key_end = i;
                separator = Some((i, c));
                break;
            }
            _ => {}
        }
    }
    let Some((at, sep)) = separator else {
        return (line, "");
    };
    let mut rest = &line[at + sep.len_utf8()..];
    if is_blank(sep) {
        rest = rest.trim_start_matches(is_blank);
        if let Some(after) = rest.strip_prefix(['=', ':']) {
            rest = after;
        }
    }
    (&line[..key_end], rest.trim_start_matches(is_blank))
}

/// Decodes the escapes of a key or value.
fn unescape(raw: &str) -> Result<String, String> {
    if !raw.contains('\\') {
        return Ok(raw.to_string());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // A lone backslash at the very end of the file's last line.
            None => {}
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let unit = (hex.len() == 4)
                    .then(|| u16::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| format!("malformed \\uxxxx encoding '\\u{hex}'"))?;
                push_utf16_unit(&mut out, unit, &mut chars)?;
            }
            Some(other) => out.push(other),
        }
    }
    Ok(out)
}

/// Appends one UTF-16 code unit, pairing a high surrogate with a following `\uDCxx` escape.
fn push_utf16_unit(
    out: &mut String,
    unit: u16,
    chars: &mut std::str::Chars<'_>,
) -> Result<(), String> {
    if let Some(c) = char::from_u32(u32::from(unit)) {
        out.push(c);
        return Ok(());
    }
    // A surrogate: it must be a high surrogate followed by an escaped low surrogate.
    let rest = chars.as_str();
    let low = rest
        .strip_prefix("\\u")
        .and_then(|r| r.get(..4))
        .and_then(|h| u16::from_str_radix(h, 16).ok());
    match low {
        Some(low) if (0xD800..0xDC00).contains(&unit) && (0xDC00..0xE000).contains(&low) => {
            let code = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
            out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            *chars = rest[6..].chars();
        }
        _ => out.push(char::REPLACEMENT_CHARACTER),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Vec<(String, String)> {
        parse_entries(text).unwrap()
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn separators_equals_colon_and_whitespace() {
        assert_eq!(
            p("a=1\nb:2\nc 3\nd = 4\ne : 5\nf\t\t6\ng = \nh\n"),
            kv(&[
                ("a", "1"),
                ("b", "2"),
                ("c", "3"),
                ("d", "4"),
                ("e", "5"),
                ("f", "6"),
                ("g", ""),
                ("h", "")
            ])
        );
    }

    #[test]
    fn whitespace_separator_may_be_followed_by_one_equals() {
        assert_eq!(p("k = =v"), kv(&[("k", "=v")]));
        assert_eq!(p("k  :  v=w"), kv(&[("k", "v=w")]));
        assert_eq!(p("k=a:b=c"), kv(&[("k", "a:b=c")]));
    }

    #[test]
    fn comments_and_blank_lines_are_skipped() {
        assert_eq!(
            p("# comment\n! also\n   # indented\n\n  \t\nkey=value # not a comment\n"),
            kv(&[("key", "value # not a comment")])
        );
    }

    #[test]
    fn trailing_whitespace_of_value_is_kept() {
        assert_eq!(p("k=v  "), kv(&[("k", "v  ")]));
    }

    #[test]
    fn continuation_lines_drop_leading_whitespace() {
        assert_eq!(
            p("list=a,\\\n    b,\\\n\tc\nnext=1"),
            kv(&[("list", "a,b,c"), ("next", "1")])
        );
        // An even number of backslashes is an escaped backslash, not a continuation.
        assert_eq!(p("k=a\\\\\nn=1"), kv(&[("k", "a\\"), ("n", "1")]));
        // A continuation on the last line just ends the value.
        assert_eq!(p("k=a\\"), kv(&[("k", "a")]));
        // Comment markers on a continuation line are data.
        assert_eq!(p("k=a\\\n  #b"), kv(&[("k", "a#b")]));
    }

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(
            p(r"k=a\tb\nc\rd\fe\\f\u0041\u00e9\:\=\ \q"),
            kv(&[("k", "a\tb\nc\rd\x0ce\\fAé:= q")])
        );
    }

    #[test]
    fn escaped_separators_belong_to_the_key() {
        assert_eq!(p(r"a\=b=c"), kv(&[("a=b", "c")]));
        assert_eq!(p(r"a\ b c"), kv(&[("a b", "c")]));
        assert_eq!(p(r"a\:b:c"), kv(&[("a:b", "c")]));
    }

    #[test]
    fn surrogate_pairs_combine() {
        assert_eq!(p(r"k=\uD83D\uDE00"), kv(&[("k", "😀")]));
    }

    #[test]
    fn malformed_unicode_escape_names_the_line() {
        let err = parse_entries("a=1\n\nb=\\u12G4\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(
            err.to_string()
                .starts_with("line 3: malformed \\uxxxx encoding"),
            "{err}"
        );
        let err = parse_entries("x=\\u12").unwrap_err();
        assert_eq!(err.line, 1);
    }

    #[test]
    fn malformed_escape_in_continued_entry_names_its_first_line() {
        let err = parse_entries("a=1\nb=x,\\\n  \\uZZZZ\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn later_duplicates_win_in_map() {
        let map = parse("k=1\nk=2\n").unwrap();
        assert_eq!(map.get("k").map(String::as_str), Some("2"));
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn crlf_line_endings() {
        assert_eq!(p("a=1\r\nb=2\r\n"), kv(&[("a", "1"), ("b", "2")]));
    }
}
