//! Record headers: an ordered list of (key, schema, value) that allows duplicate keys.

use super::{SchemaRef, Value};

/// One record header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Header name.
    pub key: String,
    /// Schema of the value, `None` when schemaless.
    pub schema: Option<SchemaRef>,
    /// Header value; `Value::Null` is a null header value.
    pub value: Value,
}

/// The headers of a record, in order. Duplicate keys are allowed, as in Kafka.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Headers {
    items: Vec<Header>,
}

impl Headers {
    /// No headers.
    pub const fn new() -> Self {
        Headers { items: Vec::new() }
    }

    /// Appends a header.
    pub fn add(&mut self, key: impl Into<String>, schema: Option<SchemaRef>, value: Value) {
        self.items.push(Header {
            key: key.into(),
            schema,
            value,
        });
    }

    /// Appends a schemaless string header.
    pub fn add_string(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.add(
            key,
            Some(super::Schema::optional(super::SchemaType::String)),
            Value::String(value.into()),
        );
    }

    /// The last header with this key.
    pub fn last_with_name(&self, key: &str) -> Option<&Header> {
        self.items.iter().rev().find(|h| h.key == key)
    }

    /// All headers with this key, in order.
    pub fn all_with_name<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Header> + 'a {
        self.items.iter().filter(move |h| h.key == key)
    }

    /// Removes every header with this key.
    pub fn remove(&mut self, key: &str) {
        self.items.retain(|h| h.key != key);
    }

    /// Keeps only the last header of each key, preserving order of the kept ones.
    pub fn retain_latest(&mut self) {
        let mut seen = std::collections::HashSet::new();
        let mut kept: Vec<Header> = Vec::with_capacity(self.items.len());
        for h in self.items.drain(..).rev() {
            if seen.insert(h.key.clone()) {
                kept.push(h);
            }
        }
        kept.reverse();
        self.items = kept;
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are no headers.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Iterates over the headers in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.items.iter()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl FromIterator<Header> for Headers {
    fn from_iter<T: IntoIterator<Item = Header>>(iter: T) -> Self {
        Headers {
            items: iter.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_retain_latest() {
        let mut h = Headers::new();
        h.add_string("a", "1");
        h.add_string("b", "2");
        h.add_string("a", "3");
        assert_eq!(h.all_with_name("a").count(), 2);
        assert_eq!(
            h.last_with_name("a").unwrap().value,
            Value::String("3".into())
        );
        h.retain_latest();
        let keys: Vec<_> = h.iter().map(|x| x.key.as_str()).collect();
        assert_eq!(keys, ["b", "a"]);
        h.remove("a");
        assert_eq!(h.len(), 1);
    }
}
