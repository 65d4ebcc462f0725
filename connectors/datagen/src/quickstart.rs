//! The built-in data sets ("quickstarts") and how one record of each is made.
//!
//! | quickstart | key | value fields |
//! | --- | --- | --- |
//! | `orders` | `orderid` as text | `ordertime` (Timestamp), `orderid` (int64), `itemid` (string), `orderunits` (float64), `address` (struct: `city`, `state` strings, `zipcode` int64) |
//! | `users` | `userid` | `registertime` (Timestamp), `userid`, `regionid`, `gender` (strings), `interests` (array of strings) |
//! | `pageviews` | `pageid` | `viewtime` (int64 ms), `userid`, `pageid` (strings) |
//!
//! With value schemas enabled the value is a `Struct`; otherwise it is a map with the same
//! field names, where Timestamp fields become plain int64 milliseconds (schemaless data has no
//! logical types).

use std::fmt;

use sluice_api::data::{LogicalType, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};
use sluice_api::Result;

use crate::rng::SplitMix64;

/// One of the built-in data sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quickstart {
    /// Purchase orders with a nested address.
    Orders,
    /// User profiles.
    Users,
    /// Page views by users.
    Pageviews,
}

impl Quickstart {
    /// Every quickstart name, as the `quickstart` key accepts them.
    pub const NAMES: [&'static str; 3] = ["orders", "users", "pageviews"];

    /// Parses a name, ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "orders" => Some(Quickstart::Orders),
            "users" => Some(Quickstart::Users),
            "pageviews" => Some(Quickstart::Pageviews),
            _ => None,
        }
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Quickstart::Orders => "orders",
            Quickstart::Users => "users",
            Quickstart::Pageviews => "pageviews",
        }
    }

    /// The value schema of this data set.
    pub fn value_schema(self) -> Result<SchemaRef> {
        let string = || Schema::required(SchemaType::String);
        let int64 = || Schema::required(SchemaType::Int64);
        let builder = match self {
            Quickstart::Orders => {
                let address = SchemaBuilder::struct_()
                    .name("io.sluice.datagen.address")
                    .field("city", string())?
                    .field("state", string())?
                    .field("zipcode", int64())?
                    .build();
                SchemaBuilder::struct_()
                    .name("io.sluice.datagen.orders")
                    .field("ordertime", LogicalType::Timestamp.schema())?
                    .field("orderid", int64())?
                    .field("itemid", string())?
                    .field("orderunits", Schema::required(SchemaType::Float64))?
                    .field("address", address)?
            }
            Quickstart::Users => SchemaBuilder::struct_()
                .name("io.sluice.datagen.users")
                .field("registertime", LogicalType::Timestamp.schema())?
                .field("userid", string())?
                .field("regionid", string())?
                .field("gender", string())?
                .field("interests", SchemaBuilder::array(string()).build())?,
            Quickstart::Pageviews => SchemaBuilder::struct_()
                .name("io.sluice.datagen.pageviews")
                .field("viewtime", int64())?
                .field("userid", string())?
                .field("pageid", string())?,
        };
        Ok(builder.build())
    }
}

impl fmt::Display for Quickstart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// 2017-01-01T00:00:00Z, the earliest `registertime`.
const REGISTER_FROM_MS: i64 = 1_483_228_800_000;
/// 2024-01-01T00:00:00Z, the end of `registertime`s.
const REGISTER_TO_MS: i64 = 1_704_067_200_000;
const GENDERS: [&str; 3] = ["MALE", "FEMALE", "OTHER"];
const INTERESTS: [&str; 8] = [
    "News", "Movies", "Sports", "Travel", "Games", "Music", "Food", "Tech",
];

/// What a generated record holds before it becomes a `SourceRecord`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Generated {
    /// The record key.
    pub(crate) key: String,
    /// The value: a Struct of the quickstart's schema, or a map when schemaless.
    pub(crate) value: Value,
}

/// Field names of each record shape, in schema order.
const ORDER_FIELDS: [&str; 5] = ["ordertime", "orderid", "itemid", "orderunits", "address"];
const ADDRESS_FIELDS: [&str; 3] = ["city", "state", "zipcode"];
const USER_FIELDS: [&str; 5] = ["registertime", "userid", "regionid", "gender", "interests"];
const PAGEVIEW_FIELDS: [&str; 3] = ["viewtime", "userid", "pageid"];

/// Pre-rendered names `<prefix><n>` for `n` in a range, so that a record copies a name
/// instead of formatting one.
#[derive(Debug)]
struct Names {
    names: Vec<String>,
}

impl Names {
    fn new(prefix: &str, first: u32, last: u32) -> Self {
        Names {
            names: (first..=last).map(|n| format!("{prefix}{n}")).collect(),
        }
    }

    /// A uniformly chosen name.
    fn pick(&self, rng: &mut SplitMix64) -> String {
        rng.pick(&self.names).clone()
    }
}

/// The names the quickstarts draw from.
#[derive(Debug)]
struct NameTables {
    items: Names,
    cities: Names,
    states: Names,
    users: Names,
    regions: Names,
    pages: Names,
}

impl NameTables {
    fn new() -> Self {
        NameTables {
            items: Names::new("Item_", 1, 999),
            cities: Names::new("City_", 1, 99),
            states: Names::new("State_", 1, 99),
            users: Names::new("User_", 1, 9),
            regions: Names::new("Region_", 1, 9),
            pages: Names::new("Page_", 10, 99),
        }
    }
}

/// The schemas a record is built with, resolved once per task.
#[derive(Debug)]
struct Schemas {
    /// The value schema.
    value: SchemaRef,
    /// The schema of `orders`' nested `address` (`None` for the other quickstarts).
    address: Option<SchemaRef>,
}

/// Makes records of one quickstart for one task.
///
/// A record's values are drawn in a fixed order from a generator seeded by the record's
/// iteration, and packed straight into a `Struct` of the precomputed schema (its values are
/// of the field types by construction, so they are not checked again) or a map.
#[derive(Debug)]
pub(crate) struct Generator {
    quickstart: Quickstart,
    names: NameTables,
    /// `Some` when values carry schemas.
    schemas: Option<Schemas>,
    seed: u64,
    task: u64,
    task_count: u64,
}

impl Generator {
    /// A generator for task `task` of `task_count`.
    pub(crate) fn new(
        quickstart: Quickstart,
        with_schema: bool,
        seed: u64,
        task: u64,
        task_count: u64,
    ) -> Result<Self> {
        let schemas = match with_schema {
            false => None,
            true => {
                let value = quickstart.value_schema()?;
                let address = value.field("address").map(|f| f.schema.clone());
                Some(Schemas { value, address })
            }
        };
        Ok(Generator {
            quickstart,
            schemas,
            names: NameTables::new(),
            seed,
            task,
            task_count: task_count.max(1),
        })
    }

    /// The value schema, `None` when schemaless.
    pub(crate) fn schema(&self) -> Option<&SchemaRef> {
        self.schemas.as_ref().map(|s| &s.value)
    }

    /// Record number `iteration` of this task; `event_time` fills `ordertime`/`viewtime`.
    pub(crate) fn generate(&self, iteration: u64, event_time: i64) -> Result<Generated> {
        let mut rng = SplitMix64::for_record(self.seed, self.task, iteration);
        let schema = self.schemas.as_ref();
        match self.quickstart {
            Quickstart::Orders => {
                let orderid = iteration
                    .wrapping_mul(self.task_count)
                    .wrapping_add(self.task) as i64;
                let units = rng.between(10, 1000) as f64 / 100.0;
                let item = self.names.items.pick(&mut rng);
                let address_schema = match schema {
                    None => None,
                    Some(s) => Some(s.address.as_ref().ok_or_else(|| {
                        sluice_api::ConnectError::data("the orders schema has no address field")
                    })?),
                };
                let address = pack(
                    address_schema,
                    &ADDRESS_FIELDS,
                    vec![
                        Value::String(self.names.cities.pick(&mut rng)),
                        Value::String(self.names.states.pick(&mut rng)),
                        Value::Int64(rng.between(10_000, 99_999)),
                    ],
                )?;
                let value = pack(
                    schema.map(|s| &s.value),
                    &ORDER_FIELDS,
                    vec![
                        timestamp(schema.is_some(), event_time),
                        Value::Int64(orderid),
                        Value::String(item),
                        Value::Float64(units),
                        address,
                    ],
                )?;
                Ok(Generated {
                    key: decimal(orderid),
                    value,
                })
            }
            Quickstart::Users => {
                let userid = self.names.users.pick(&mut rng);
                let registered = REGISTER_FROM_MS
                    + (rng.unit() * (REGISTER_TO_MS - REGISTER_FROM_MS) as f64) as i64;
                // One or two distinct interests.
                let count = INTERESTS.len() as u64;
                let first = rng.below(count);
                let mut interests = Vec::with_capacity(2);
                interests.push(Value::String(INTERESTS[first as usize].to_owned()));
                if rng.below(2) == 1 {
                    let second = (first + 1 + rng.below(count - 1)) % count;
                    interests.push(Value::String(INTERESTS[second as usize].to_owned()));
                }
                let value = pack(
                    schema.map(|s| &s.value),
                    &USER_FIELDS,
                    vec![
                        timestamp(schema.is_some(), registered),
                        Value::String(userid.clone()),
                        Value::String(self.names.regions.pick(&mut rng)),
                        Value::String((*rng.pick(&GENDERS)).to_owned()),
                        Value::Array(interests),
                    ],
                )?;
                Ok(Generated { key: userid, value })
            }
            Quickstart::Pageviews => {
                let pageid = self.names.pages.pick(&mut rng);
                let value = pack(
                    schema.map(|s| &s.value),
                    &PAGEVIEW_FIELDS,
                    vec![
                        Value::Int64(event_time),
                        Value::String(self.names.users.pick(&mut rng)),
                        Value::String(pageid.clone()),
                    ],
                )?;
                Ok(Generated { key: pageid, value })
            }
        }
    }
}

/// `n` in decimal, in a string with no spare capacity: the key converter hands the string's
/// buffer on as the record's key bytes, and a buffer with room to spare (as `to_string`'s)
/// would be trimmed first, once per record.
fn decimal(n: i64) -> String {
    itoa::Buffer::new().format(n).to_owned()
}

/// A Timestamp field: the logical value with schemas, plain int64 milliseconds without
/// (schemaless data has no logical types).
fn timestamp(with_schema: bool, ms: i64) -> Value {
    if with_schema {
        Value::Timestamp(ms)
    } else {
        Value::Int64(ms)
    }
}

/// Packs one value per field (in schema order) as a Struct of `schema`, or as a map keyed
/// by `names` when schemaless.
fn pack(schema: Option<&SchemaRef>, names: &[&str], values: Vec<Value>) -> Result<Value> {
    match schema {
        Some(schema) => Ok(Value::Struct(Struct::from_values_unchecked(
            schema.clone(),
            values,
        )?)),
        None => Ok(Value::Map(
            names
                .iter()
                .zip(values)
                .map(|(name, value)| (Value::String((*name).to_owned()), value))
                .collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator(q: Quickstart, schema: bool) -> Generator {
        Generator::new(q, schema, 99, 0, 1).unwrap()
    }

    #[test]
    fn structs_match_their_schema() {
        for q in [Quickstart::Orders, Quickstart::Users, Quickstart::Pageviews] {
            let g = generator(q, true);
            for i in 0..200 {
                let rec = g.generate(i, 1_000).unwrap();
                let Value::Struct(s) = &rec.value else {
                    panic!("{q}: not a struct: {:?}", rec.value)
                };
                s.validate().unwrap();
                g.schema().unwrap().validate_value(&rec.value).unwrap();
            }
        }
    }

    #[test]
    fn orders_have_documented_ranges_and_keys() {
        let g = Generator::new(Quickstart::Orders, true, 1, 1, 3).unwrap();
        for i in 0..500 {
            let rec = g.generate(i, 42).unwrap();
            let Value::Struct(s) = &rec.value else {
                panic!("not a struct")
            };
            assert_eq!(s.get("orderid"), Some(&Value::Int64(i as i64 * 3 + 1)));
            assert_eq!(rec.key, (i * 3 + 1).to_string());
            assert_eq!(s.get("ordertime"), Some(&Value::Timestamp(42)));
            let Some(Value::Float64(units)) = s.get("orderunits") else {
                panic!("orderunits")
            };
            assert!((0.1..=10.0).contains(units), "{units}");
            let Some(Value::String(item)) = s.get("itemid") else {
                panic!("itemid")
            };
            assert!(item.starts_with("Item_"));
            let Some(Value::Struct(address)) = s.get("address") else {
                panic!("address")
            };
            let Some(Value::Int64(zip)) = address.get("zipcode") else {
                panic!("zipcode")
            };
            assert!((10_000..=99_999).contains(zip));
        }
    }

    #[test]
    fn users_and_pageviews_keys() {
        let users = generator(Quickstart::Users, true);
        for i in 0..200 {
            let rec = users.generate(i, 0).unwrap();
            let Value::Struct(s) = &rec.value else {
                panic!("not a struct")
            };
            assert_eq!(s.get("userid"), Some(&Value::String(rec.key.clone())));
            let Some(Value::Timestamp(t)) = s.get("registertime") else {
                panic!("registertime")
            };
            assert!((REGISTER_FROM_MS..REGISTER_TO_MS).contains(t));
            let Some(Value::Array(interests)) = s.get("interests") else {
                panic!("interests")
            };
            assert!((1..=2).contains(&interests.len()));
            assert!(interests.first() != interests.get(1));
        }
        let views = generator(Quickstart::Pageviews, true);
        let rec = views.generate(0, 7).unwrap();
        let Value::Struct(s) = &rec.value else {
            panic!("not a struct")
        };
        assert_eq!(s.get("pageid"), Some(&Value::String(rec.key.clone())));
        assert_eq!(s.get("viewtime"), Some(&Value::Int64(7)));
    }

    #[test]
    fn schemaless_values_are_maps_with_the_same_fields() {
        let with = generator(Quickstart::Orders, true).generate(5, 10).unwrap();
        let without = generator(Quickstart::Orders, false)
            .generate(5, 10)
            .unwrap();
        assert_eq!(with.key, without.key);
        assert_eq!(without.value.map_get("ordertime"), Some(&Value::Int64(10)));
        let Value::Struct(s) = &with.value else {
            panic!("not a struct")
        };
        assert_eq!(without.value.map_get("itemid"), s.get("itemid"));
        let address = without.value.map_get("address").unwrap();
        assert!(address.map_get("zipcode").is_some());
        assert_eq!(generator(Quickstart::Users, false).schema(), None);
    }

    #[test]
    fn keys_are_decimal_without_spare_room() {
        for n in [0, 7, 10, 12_345, -5, i64::MAX, i64::MIN] {
            let key = decimal(n);
            assert_eq!(key, n.to_string());
            assert_eq!(key.capacity(), key.len());
        }
    }

    #[test]
    fn names_parse_ignoring_case() {
        assert_eq!(Quickstart::from_name("Orders"), Some(Quickstart::Orders));
        assert_eq!(
            Quickstart::from_name("PAGEVIEWS"),
            Some(Quickstart::Pageviews)
        );
        assert_eq!(Quickstart::from_name("clicks"), None);
        for name in Quickstart::NAMES {
            assert_eq!(Quickstart::from_name(name).unwrap().name(), name);
        }
    }
}
