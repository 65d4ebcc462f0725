//! Running a [`Subset`] program on a record in place.
//!
//! The program sees the record as jaq does (see [`super::record`]), but nothing is converted
//! up front. Reading a path walks the Connect values and converts only the value found (a
//! field, an element, a header). Writing a path records what became of the part it changes,
//! as a [`Node`]: untouched parts stay the record's own values; a struct, a schemaless map
//! or the headers object changed member by member keeps its members in jaq's order (a new
//! member at the end; a deleted one replaced by the last, as jaq's `del` does) with each
//! changed member as a jq value; anything else that changes becomes a jq value, updated with
//! jaq's own path update. Values are computed with jaq's own operators and functions.
//!
//! When the program gives back the record, the changed parts are converted back with the
//! very functions the jaq path uses ([`super::convert`], [`super::record`]), against the
//! record's original values and schemas, and the untouched parts are kept. The jaq path
//! converts the whole value back, which gives an untouched part back unchanged except in the
//! cases [`convert::round_trips`] (schemaless) and [`convert::fits_unchanged`] (schema'd)
//! rule out; for a value of that kind the program is left to jaq, so both paths always give
//! the same record.

use std::borrow::Cow;
use std::cell::{Cell, OnceCell};

use bytes::{BufMut, BytesMut};
use jaq_core::ops::Math;
use jaq_core::path::Opt;
use jaq_core::{Exn, ValT};
use jaq_json::{Map, Num, Rc, Val};
use num_bigint::BigInt;
use sluice_api::data::{Field, Header, Headers, SchemaRef, SchemaType, Struct, Value};
use sluice_api::error::Result;
use sluice_api::record::ConnectRecord;

use super::convert::{self, FieldId, OutField, Shapes};
use super::program::CallOutput;
use super::record;
use super::subset::{End, Expr, Key, Member, Native, Path, Root, Stage, Subset, Update};

/// A jq error.
type Error = jaq_core::Error<Val>;

/// Why evaluation stopped early.
#[derive(Debug)]
enum Stop {
    /// The program fails, as it fails under jaq.
    Error(Error),
    /// A library call gave no value or several: only jaq can tell what the program does.
    Bail,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Error(e)
    }
}

type Res<T> = std::result::Result<T, Stop>;

/// What a program's first output was.
#[derive(Debug)]
enum Output {
    /// No output.
    Nothing,
    /// The record.
    Record,
    /// A value other than the record.
    Val(Val),
}

/// The outcome of [`Subset::apply`].
#[derive(Debug)]
pub(super) enum Applied {
    /// The first output was not the record (and not an object): the output, and the record
    /// as it came in.
    Value(Option<Val>, ConnectRecord),
    /// The first output was the record: the new record, or why it cannot be one.
    Record(Result<ConnectRecord>),
    /// The program failed: jq's error text.
    Failed(String),
    /// The program must run under jaq: the record as it came in.
    Bail(ConnectRecord),
}

impl Subset {
    /// Runs the program on `record` for the transform.
    pub(super) fn apply(&self, shapes: &Shapes, record: ConnectRecord) -> Applied {
        let mut state = State::default();
        match run(self, &record, &mut state) {
            Err(Stop::Bail) | Ok(Output::Val(Val::Obj(_))) => Applied::Bail(record),
            Err(Stop::Error(e)) => Applied::Failed(super::program::error_text(e)),
            Ok(Output::Nothing) => Applied::Value(None, record),
            Ok(Output::Val(v)) => Applied::Value(Some(v), record),
            Ok(Output::Record) => {
                let unchanged = match &record.value_schema {
                    None => convert::round_trips(&record.value),
                    Some(schema) => convert::fits_unchanged(&record.value, schema),
                };
                if !unchanged {
                    return Applied::Bail(record);
                }
                Applied::Record(state.finish(shapes, record))
            }
        }
    }

    /// Runs the program on `record` for the predicate: whether its first output is neither
    /// false nor null (`Err`: jq's error text), or `None` when the program must run under jaq.
    pub(super) fn test(&self, record: &ConnectRecord) -> Option<std::result::Result<bool, String>> {
        match run(self, record, &mut State::default()) {
            Ok(Output::Nothing) => Some(Ok(false)),
            Ok(Output::Record) => Some(Ok(true)),
            Ok(Output::Val(v)) => Some(Ok(v.as_bool())),
            Err(Stop::Error(e)) => Some(Err(super::program::error_text(e))),
            Err(Stop::Bail) => None,
        }
    }
}

fn run<'p>(program: &'p Subset, record: &ConnectRecord, state: &mut State<'p>) -> Res<Output> {
    if !run_stages(&program.stages, record, state)? {
        return Ok(Output::Nothing);
    }
    Ok(match &program.end {
        End::Record => Output::Record,
        End::Value(e) => Output::Val(eval(e, In::Record(record, state))?),
    })
}

/// Runs the stages; false when one of them gives nothing.
fn run_stages<'p>(stages: &'p [Stage], record: &ConnectRecord, state: &mut State<'p>) -> Res<bool> {
    for stage in stages {
        match stage {
            Stage::Update(path, update) => {
                let leaf = match update {
                    Update::Set(e) => Leaf::Set(eval(e, In::Record(record, state))?),
                    Update::Modify(f) => Leaf::Modify(f),
                    Update::Math(op, e) => Leaf::Math(*op, eval(e, In::Record(record, state))?),
                    Update::Alt(e) => Leaf::Alt(eval(e, In::Record(record, state))?),
                    Update::Delete => Leaf::Delete,
                };
                state.update(record, path, &leaf)?;
            }
            Stage::Select(cond) => {
                if !eval(cond, In::Record(record, state))?.as_bool() {
                    return Ok(false);
                }
            }
            Stage::If(branches, otherwise) => {
                let mut chosen = otherwise;
                for (cond, then) in branches {
                    if eval(cond, In::Record(record, state))?.as_bool() {
                        chosen = then;
                        break;
                    }
                }
                if !run_stages(chosen, record, state)? {
                    return Ok(false);
                }
            }
            Stage::Empty => return Ok(false),
        }
    }
    Ok(true)
}

/// An expression's input.
#[derive(Clone, Copy)]
enum In<'a, 'p> {
    /// The record, as the program has changed it so far.
    Record(&'a ConnectRecord, &'a State<'p>),
    /// A value.
    Val(&'a Val),
}

impl In<'_, '_> {
    fn val(&self) -> Res<&Val> {
        match self {
            In::Val(v) => Ok(v),
            In::Record(..) => Err(Stop::Bail),
        }
    }
}

/// Evaluates both operands of a binary operator as jaq does (the left one first; a left error
/// wins unless the right operand gives no value).
fn both(l: &Expr, r: &Expr, input: In) -> Res<(Val, Val)> {
    let x = eval(l, input);
    if let Err(Stop::Bail) = x {
        return Err(Stop::Bail);
    }
    let y = eval(r, input);
    if let Err(Stop::Bail) = y {
        return Err(Stop::Bail);
    }
    Ok((x?, y?))
}

/// Evaluates all expressions; the first error in order wins unless one gives no value.
fn all(exprs: &[Expr], input: In) -> Res<Vec<Val>> {
    let results: Vec<Res<Val>> = exprs.iter().map(|e| eval(e, input)).collect();
    if results.iter().any(|r| matches!(r, Err(Stop::Bail))) {
        return Err(Stop::Bail);
    }
    results.into_iter().collect()
}

fn eval(e: &Expr, input: In) -> Res<Val> {
    match e {
        Expr::Lit(lit) => Ok(lit.val()),
        Expr::Input => input.val().cloned(),
        Expr::Read(path) => match input {
            In::Record(record, state) => state.read(record, path),
            In::Val(_) => Err(Stop::Bail),
        },
        Expr::Index(head, keys) => index_val(eval(head, input)?, keys),
        Expr::Pipe(l, r) => {
            let v = eval(l, input)?;
            eval(r, In::Val(&v))
        }
        Expr::Neg(x) => Ok((-eval(x, input)?)?),
        Expr::Math(l, op, r) => {
            let (x, y) = both(l, r, input)?;
            Ok(op.run(x, y)?)
        }
        Expr::Cmp(l, op, r) => {
            let (x, y) = both(l, r, input)?;
            Ok(Val::from(op.run(&x, &y)))
        }
        Expr::Logic(l, stop, r) => {
            let x = eval(l, input)?;
            if x.as_bool() == *stop {
                Ok(Val::from(*stop))
            } else {
                Ok(Val::from(eval(r, input)?.as_bool()))
            }
        }
        Expr::Alt(l, r) => {
            let x = eval(l, input)?;
            if x.as_bool() {
                Ok(x)
            } else {
                eval(r, input)
            }
        }
        Expr::If(branches, otherwise) => {
            for (cond, then) in branches {
                if eval(cond, input)?.as_bool() {
                    return eval(then, input);
                }
            }
            eval(otherwise, input)
        }
        Expr::Concat(parts) => concat(all(parts, input)?),
        Expr::Arr(items) => items
            .iter()
            .map(|item| eval(item, input))
            .collect::<Res<Vec<Val>>>()
            .map(|items| Val::Arr(Rc::new(items))),
        Expr::ObjSingle(k, v) => {
            let (k, v) = both(k, v, input)?;
            Ok(Val::obj(Map::from_iter([(k, v)])))
        }
        Expr::Native(native) => call_native(*native, input.val()?.clone()),
        Expr::Call(builtin, args) => {
            let v = input.val()?;
            let args = args
                .iter()
                .map(|a| eval(a, input))
                .collect::<Res<Vec<Val>>>()?;
            match builtin.call(v.clone(), args) {
                CallOutput::One(v) => Ok(v),
                CallOutput::Error(e) => Err(Stop::Error(e)),
                CallOutput::Other => Err(Stop::Bail),
            }
        }
        Expr::Error(message) => Err(Stop::Error(Error::new(eval(message, input)?))),
    }
}

/// The sum of string parts, as jaq adds them.
fn concat(parts: Vec<Val>) -> Res<Val> {
    let mut len = 0;
    for part in &parts {
        match part {
            Val::TStr(b) => len += b.len(),
            _ => return add_all(parts),
        }
    }
    let mut buf = BytesMut::with_capacity(len);
    for part in &parts {
        if let Val::TStr(b) = part {
            buf.put_slice(b);
        }
    }
    Ok(Val::utf8_str(buf.freeze()))
}

/// `p0 + (p1 + (...))`, jaq's sum of interpolated string parts.
fn add_all(parts: Vec<Val>) -> Res<Val> {
    let mut parts = parts.into_iter().rev();
    let Some(mut sum) = parts.next() else {
        return Ok(convert::text(""));
    };
    for part in parts {
        sum = (part + sum)?;
    }
    Ok(sum)
}

/// The functions the evaluator computes, as the library defines them.
fn call_native(native: Native, v: Val) -> Res<Val> {
    Ok(match native {
        Native::Not => Val::Bool(!v.as_bool()),
        Native::ToString => v.into_string(),
        Native::Length => length(v)?,
        Native::AsciiDowncase | Native::AsciiUpcase => match v {
            Val::TStr(b) => Val::utf8_str(if let Native::AsciiDowncase = native {
                b.to_ascii_lowercase()
            } else {
                b.to_ascii_uppercase()
            }),
            other => return Err(Stop::Error(Error::typ(other, "string"))),
        },
    })
}

/// `length`: 0 for null, the absolute value of a number, the characters of a text string,
/// the bytes of a byte string, the members of an array or object; an error for booleans.
fn length(v: Val) -> Res<Val> {
    Ok(match v {
        Val::Null => Val::from(0isize),
        Val::Num(n) => Val::Num(match n {
            Num::Int(i) => Num::Int(i.wrapping_abs()),
            Num::BigInt(b) => Num::big_int(BigInt::from(b.magnitude().clone())),
            Num::Float(f) => Num::Float(f.abs()),
            Num::Dec(d) => match Num::from_dec_str(&d) {
                Num::Float(f) => Num::Float(f.abs()),
                other => other,
            },
        }),
        Val::TStr(s) => Val::from(
            s.utf8_chunks()
                .map(|c| c.valid().chars().count() + usize::from(!c.invalid().is_empty()))
                .sum::<usize>(),
        ),
        Val::BStr(b) => Val::from(b.len()),
        Val::Arr(a) => Val::from(a.len()),
        Val::Obj(o) => Val::from(o.len()),
        Val::Bool(b) => {
            return Err(Stop::Error(Error::str(format_args!(
                "{} has no length",
                Val::Bool(b)
            ))))
        }
    })
}

/// `v` indexed by each key in turn, with jaq's indexing.
fn index_val(mut v: Val, keys: &[Key]) -> Res<Val> {
    for key in keys {
        v = v.index(&key.val())?;
    }
    Ok(v)
}

/// jaq's array index: counted from the end when negative; `None` outside the array.
fn array_index(i: isize, len: usize) -> Option<usize> {
    let i = if i >= 0 {
        i.unsigned_abs()
    } else {
        len.checked_sub(i.unsigned_abs())?
    };
    (i < len).then_some(i)
}

/// True when the Connect map key is the jq string `name` (jq compares text and byte strings
/// by their bytes).
fn key_is(key: &Value, name: &str) -> bool {
    match key {
        Value::String(s) => s == name,
        Value::Bytes(b) => b[..] == *name.as_bytes(),
        _ => false,
    }
}

/// The Connect value at `keys` under `v`, converted, with jaq's indexing.
fn read_value(v: &Value, keys: &[Key]) -> Res<Val> {
    let mut v = v;
    for (i, key) in keys.iter().enumerate() {
        v = match (v, key) {
            (Value::Null, _) => return Ok(Val::Null),
            (Value::Map(entries), Key::Name(name)) => {
                match entries.iter().find(|(k, _)| key_is(k, name)) {
                    Some((_, child)) => child,
                    None => return Ok(Val::Null),
                }
            }
            (Value::Struct(s), Key::Name(name)) => {
                match s.schema().field(name).and_then(|f| s.values().get(f.index)) {
                    Some(child) => child,
                    None => return Ok(Val::Null),
                }
            }
            (Value::Array(items), Key::Index(index)) => {
                match array_index(*index, items.len()).and_then(|i| items.get(i)) {
                    Some(child) => child,
                    None => return Ok(Val::Null),
                }
            }
            (v, _) => return index_val(convert::to_val(v), &keys[i..]),
        };
    }
    Ok(convert::to_val(v))
}

/// What became of a key, value or headers object, or of a part of one.
#[derive(Debug, Default)]
enum Node<'p> {
    /// As in the record.
    #[default]
    Orig,
    /// Replaced by this jq value.
    Val(Val),
    /// An object of the record (struct, map or headers) changed member by member: its
    /// members in jaq's order.
    Edit(Vec<Entry<'p>>),
}

/// A member of an object changed member by member.
#[derive(Debug)]
struct Entry<'p> {
    key: EntryKey<'p>,
    node: Node<'p>,
}

/// Which member an [`Entry`] is.
#[derive(Debug, Clone, Copy)]
enum EntryKey<'p> {
    /// The original object's member at this index (for the headers, the last header of a
    /// name).
    Orig(usize),
    /// A member the program added.
    New(&'p str),
}

/// What a [`Node`] stands for in the record.
#[derive(Debug, Clone, Copy)]
enum Origin<'r> {
    /// A Connect value.
    Value(&'r Value),
    /// The headers.
    Headers(&'r Headers),
    /// Nothing: a member the program added.
    None,
}

/// An original object that can be changed member by member.
#[derive(Clone, Copy)]
enum Object<'r> {
    Map(&'r [(Value, Value)]),
    Struct(&'r Struct),
    Headers(&'r Headers),
}

fn header_at(headers: &Headers, i: usize) -> Option<&Header> {
    headers.iter().nth(i)
}

impl<'r> Object<'r> {
    fn of(origin: Origin<'r>) -> Option<Object<'r>> {
        match origin {
            Origin::Value(Value::Map(entries)) => Some(Object::Map(entries)),
            Origin::Value(Value::Struct(s)) => Some(Object::Struct(s)),
            Origin::Headers(h) => Some(Object::Headers(h)),
            Origin::Value(_) | Origin::None => None,
        }
    }

    /// The members in jaq's order: map entries and struct fields in order; header names in
    /// the order each first appears, each standing for its last header.
    fn members(self) -> Vec<Entry<'static>> {
        let entry = |i| Entry {
            key: EntryKey::Orig(i),
            node: Node::Orig,
        };
        let in_order = |n: usize| {
            let mut members = Vec::with_capacity(n + 2);
            members.extend((0..n).map(entry));
            members
        };
        match self {
            Object::Map(entries) => in_order(entries.len()),
            Object::Struct(s) => in_order(s.values().len()),
            Object::Headers(headers) => {
                let all: Vec<&Header> = headers.iter().collect();
                let mut last: Vec<usize> = Vec::with_capacity(all.len());
                for (i, h) in all.iter().enumerate() {
                    match last.iter_mut().find(|j| all[**j].key == h.key) {
                        Some(j) => *j = i,
                        None => last.push(i),
                    }
                }
                last.into_iter().map(entry).collect()
            }
        }
    }

    /// True when the member at `i` is named `name`.
    fn is_named(self, i: usize, name: &str) -> bool {
        match self {
            Object::Map(entries) => entries.get(i).is_some_and(|(k, _)| key_is(k, name)),
            Object::Struct(s) => s.schema().fields.get(i).is_some_and(|f| f.name == name),
            Object::Headers(h) => header_at(h, i).is_some_and(|h| h.key == name),
        }
    }

    /// The member at `i`.
    fn child(self, i: usize) -> Origin<'r> {
        let value = match self {
            Object::Map(entries) => entries.get(i).map(|(_, v)| v),
            Object::Struct(s) => s.values().get(i),
            Object::Headers(h) => header_at(h, i).map(|h| &h.value),
        };
        value.map_or(Origin::None, Origin::Value)
    }

    /// The name of the member at `i`, as jq sees it.
    fn key_val(self, i: usize) -> Val {
        match self {
            Object::Map(entries) => entries
                .get(i)
                .map_or(Val::Null, |(k, _)| convert::to_val(k)),
            Object::Struct(s) => s
                .schema()
                .fields
                .get(i)
                .map_or(Val::Null, |f| convert::text(&f.name)),
            Object::Headers(h) => header_at(h, i).map_or(Val::Null, |h| convert::text(&h.key)),
        }
    }
}

/// The entry named `name`.
fn find_entry(object: Option<Object>, entries: &[Entry], name: &str) -> Option<usize> {
    entries.iter().position(|e| match e.key {
        EntryKey::Orig(i) => object.is_some_and(|o| o.is_named(i, name)),
        EntryKey::New(n) => n == name,
    })
}

fn entry_origin<'r>(object: Option<Object<'r>>, key: EntryKey) -> Origin<'r> {
    match (object, key) {
        (Some(o), EntryKey::Orig(i)) => o.child(i),
        _ => Origin::None,
    }
}

/// The original as jq sees it.
fn origin_val(origin: Origin) -> Val {
    match origin {
        Origin::Value(v) => convert::to_val(v),
        Origin::Headers(h) => record::headers_view(h),
        Origin::None => Val::Null,
    }
}

/// The node as jq sees it; `view` is the jq view to give for an untouched original.
fn node_val(origin: Origin, node: &Node, view: Option<&Val>) -> Val {
    match node {
        Node::Orig => view.cloned().unwrap_or_else(|| origin_val(origin)),
        Node::Val(v) => v.clone(),
        Node::Edit(entries) => edit_val(origin, entries, view),
    }
}

/// An object changed member by member, as jq sees it; untouched members come from `view`
/// (the headers' jq view) when given, so jaq's conversion recognises them.
fn edit_val(origin: Origin, entries: &[Entry], view: Option<&Val>) -> Val {
    let object = Object::of(origin);
    let mut map = Map::default();
    map.reserve(entries.len());
    for e in entries {
        let key = match (object, e.key) {
            (Some(o), EntryKey::Orig(i)) => o.key_val(i),
            (_, EntryKey::New(name)) => convert::text(name),
            (None, EntryKey::Orig(_)) => Val::Null,
        };
        let viewed = match (&e.node, view) {
            (Node::Orig, Some(Val::Obj(view))) => view.get(&key).cloned(),
            _ => None,
        };
        let val = viewed.unwrap_or_else(|| node_val(entry_origin(object, e.key), &e.node, None));
        map.insert(key, val);
    }
    Val::obj(map)
}

/// What an update does at the end of its path.
enum Leaf<'p> {
    /// Sets this value.
    Set(Val),
    /// Sets the expression's value on the old value.
    Modify(&'p Expr),
    /// Sets the old value `op` this value.
    Math(Math, Val),
    /// Keeps the old value when true, else sets this value.
    Alt(Val),
    /// Deletes.
    Delete,
}

/// The new value at the end of a path (`None`: delete), from the old one.
fn apply_leaf(leaf: &Leaf, old: impl FnOnce() -> Val) -> Res<Option<Val>> {
    Ok(match leaf {
        Leaf::Set(v) => Some(v.clone()),
        Leaf::Modify(f) => Some(eval(f, In::Val(&old()))?),
        Leaf::Math(op, y) => Some(op.run(old(), y.clone())?),
        Leaf::Alt(y) => {
            let x = old();
            Some(if x.as_bool() { x } else { y.clone() })
        }
        Leaf::Delete => None,
    })
}

/// `v` with the path `keys` updated, by jaq's path update.
fn update_val(v: Val, keys: &[Key], leaf: &Leaf) -> Res<Val> {
    let Some((first, rest)) = keys.split_first() else {
        return Ok(v);
    };
    let bailed = Cell::new(false);
    let f = |x: Val| {
        let result = if rest.is_empty() {
            apply_leaf(leaf, || x)
        } else {
            update_val(x, rest, leaf).map(Some)
        };
        let item = match result {
            Ok(Some(v)) => Some(Ok(v)),
            Ok(None) => None,
            Err(Stop::Error(e)) => Some(Err(Exn::from(e))),
            Err(Stop::Bail) => {
                bailed.set(true);
                Some(Err(Exn::from(Error::new(Val::Null))))
            }
        };
        item.into_iter()
    };
    match v.map_index(&first.val(), Opt::Essential, f) {
        Ok(v) => Ok(v),
        Err(_) if bailed.get() => Err(Stop::Bail),
        Err(exn) => match exn.get_err() {
            Ok(e) => Err(Stop::Error(e)),
            Err(_) => Err(Stop::Bail),
        },
    }
}

/// Updates the path `keys` (not empty) under `node`, whose original is `origin`; `view` (the
/// headers' jq view) gives the old value of an untouched member.
fn update_node<'p>(
    origin: Origin,
    node: &mut Node<'p>,
    view: Option<&Val>,
    keys: &'p [Key],
    leaf: &Leaf,
) -> Res<()> {
    let Some((first, rest)) = keys.split_first() else {
        return Ok(());
    };
    let object = Object::of(origin);
    if let Node::Orig = node {
        *node = match (object, first) {
            (Some(o), Key::Name(..)) => Node::Edit(o.members()),
            _ => Node::Val(origin_val(origin)),
        };
    }
    let entries = match node {
        Node::Val(v) => {
            *v = update_val(std::mem::take(v), keys, leaf)?;
            return Ok(());
        }
        Node::Edit(entries) => entries,
        Node::Orig => return Ok(()),
    };
    let Key::Name(name) = first else {
        let v = edit_val(origin, entries, view);
        *node = Node::Val(update_val(v, keys, leaf)?);
        return Ok(());
    };
    let found = find_entry(object, entries, name);
    match (found, rest.is_empty()) {
        (Some(i), true) => {
            let entry = &mut entries[i];
            let child = entry_origin(object, entry.key);
            let viewed = match (&entry.node, view) {
                (Node::Orig, Some(Val::Obj(view))) => view.get(&convert::text(name)).cloned(),
                _ => None,
            };
            let old = || viewed.unwrap_or_else(|| node_val(child, &entry.node, None));
            match apply_leaf(leaf, old)? {
                Some(v) => entry.node = Node::Val(v),
                None => {
                    entries.swap_remove(i);
                }
            }
        }
        (Some(i), false) => {
            let entry = &mut entries[i];
            let child = entry_origin(object, entry.key);
            update_node(child, &mut entry.node, None, rest, leaf)?;
        }
        (None, true) => {
            if let Some(v) = apply_leaf(leaf, || Val::Null)? {
                entries.push(Entry {
                    key: EntryKey::New(name),
                    node: Node::Val(v),
                });
            }
        }
        (None, false) => {
            let v = update_val(Val::Null, rest, leaf)?;
            entries.push(Entry {
                key: EntryKey::New(name),
                node: Node::Val(v),
            });
        }
    }
    Ok(())
}

/// Updates a whole member or a path under it.
fn update_member<'p>(
    origin: Origin,
    node: &mut Node<'p>,
    view: Option<&Val>,
    keys: &'p [Key],
    leaf: &Leaf,
) -> Res<()> {
    if keys.is_empty() {
        let new = apply_leaf(leaf, || node_val(origin, node, view))?;
        *node = Node::Val(new.unwrap_or(Val::Null));
        return Ok(());
    }
    update_node(origin, node, view, keys, leaf)
}

/// The record as the program has changed it so far.
#[derive(Debug, Default)]
struct State<'p> {
    /// The record members the program set (`Some(None)`: deleted).
    topic: Option<Option<Val>>,
    partition: Option<Option<Val>>,
    timestamp: Option<Option<Val>>,
    offset: Option<Option<Val>>,
    key: Node<'p>,
    value: Node<'p>,
    headers: Node<'p>,
    /// Members the program set that are not record members.
    others: Vec<(&'p str, Val)>,
    /// The jq views of the record's key and headers, once made: jaq keeps a key or headers
    /// object the program passes on unchanged, and recognises it by identity.
    key_view: OnceCell<Val>,
    headers_view: OnceCell<Val>,
}

fn member_val(record: &ConnectRecord, member: Member) -> Val {
    match member {
        Member::Topic => convert::text(&record.topic),
        Member::Partition => record::optional_int(record.kafka_partition.map(i64::from)),
        Member::Timestamp => record::optional_int(record.timestamp),
        Member::Offset => record::optional_int(record.kafka_offset),
        Member::Key => convert::to_val(&record.key),
        Member::Value => convert::to_val(&record.value),
        Member::Headers => record::headers_view(&record.headers),
    }
}

impl<'p> State<'p> {
    fn key_view(&self, record: &ConnectRecord) -> &Val {
        self.key_view.get_or_init(|| convert::to_val(&record.key))
    }

    fn headers_view(&self, record: &ConnectRecord) -> &Val {
        self.headers_view
            .get_or_init(|| record::headers_view(&record.headers))
    }

    fn scalar(&mut self, member: Member) -> Option<&mut Option<Option<Val>>> {
        match member {
            Member::Topic => Some(&mut self.topic),
            Member::Partition => Some(&mut self.partition),
            Member::Timestamp => Some(&mut self.timestamp),
            Member::Offset => Some(&mut self.offset),
            Member::Key | Member::Value | Member::Headers => None,
        }
    }

    /// A header's value as jq sees it: a container comes from the headers' jq view, so that
    /// jaq's conversion recognises it when the program passes it on unchanged.
    fn header_val(&self, record: &ConnectRecord, name: &str, value: &Value) -> Val {
        match value {
            Value::Array(_) | Value::Map(_) | Value::Struct(_) => match self.headers_view(record) {
                Val::Obj(view) => view
                    .get(&convert::text(name))
                    .cloned()
                    .unwrap_or_else(|| convert::to_val(value)),
                _ => convert::to_val(value),
            },
            _ => convert::to_val(value),
        }
    }

    fn read(&self, record: &ConnectRecord, path: &Path) -> Res<Val> {
        let keys = &path.keys[..];
        let member = match &path.root {
            Root::Member(member) => *member,
            Root::Other(name) => {
                let v = self
                    .others
                    .iter()
                    .find(|(n, _)| *n == &**name)
                    .map_or(Val::Null, |(_, v)| v.clone());
                return index_val(v, keys);
            }
        };
        match member {
            Member::Key if keys.is_empty() => Ok(match &self.key {
                Node::Orig => self.key_view(record).clone(),
                node => node_val(Origin::Value(&record.key), node, None),
            }),
            Member::Key => read_under(Origin::Value(&record.key), &self.key, keys),
            Member::Value if keys.is_empty() => {
                Ok(node_val(Origin::Value(&record.value), &self.value, None))
            }
            Member::Value => read_under(Origin::Value(&record.value), &self.value, keys),
            Member::Headers => self.read_headers(record, keys),
            scalar => {
                let set = match scalar {
                    Member::Topic => &self.topic,
                    Member::Partition => &self.partition,
                    Member::Timestamp => &self.timestamp,
                    _ => &self.offset,
                };
                let v = match set {
                    Some(v) => v.clone().unwrap_or_default(),
                    None => member_val(record, scalar),
                };
                index_val(v, keys)
            }
        }
    }

    fn read_headers(&self, record: &ConnectRecord, keys: &[Key]) -> Res<Val> {
        let origin = Origin::Headers(&record.headers);
        let Some((Key::Name(name), rest)) = keys.split_first() else {
            let view = self.headers_view(record);
            let whole = match &self.headers {
                Node::Orig => view.clone(),
                node => node_val(origin, node, Some(view)),
            };
            return index_val(whole, keys);
        };
        let (child, node) = match &self.headers {
            Node::Val(v) => return index_val(v.clone(), keys),
            Node::Orig => match record.headers.last_with_name(name) {
                Some(header) => (header, &Node::Orig),
                None => return Ok(Val::Null),
            },
            Node::Edit(entries) => {
                let object = Object::of(origin);
                let Some(i) = find_entry(object, entries, name) else {
                    return Ok(Val::Null);
                };
                let entry = &entries[i];
                match (entry.key, &entry.node) {
                    (EntryKey::Orig(h), node) => match header_at(&record.headers, h) {
                        Some(header) => (header, node),
                        None => return Ok(Val::Null),
                    },
                    (EntryKey::New(_), node) => {
                        return index_val(node_val(Origin::None, node, None), rest)
                    }
                }
            }
        };
        match (node, rest.is_empty()) {
            (Node::Orig, true) => Ok(self.header_val(record, name, &child.value)),
            (node, true) => Ok(node_val(Origin::Value(&child.value), node, None)),
            (node, false) => read_under(Origin::Value(&child.value), node, rest),
        }
    }

    fn update(&mut self, record: &ConnectRecord, path: &'p Path, leaf: &Leaf) -> Res<()> {
        let keys = &path.keys[..];
        let member = match &path.root {
            Root::Member(member) => *member,
            Root::Other(name) => {
                let found = self.others.iter().position(|(n, _)| *n == &**name);
                let old = found.map(|i| self.others[i].1.clone());
                let new = if keys.is_empty() {
                    apply_leaf(leaf, || old.unwrap_or_default())?
                } else {
                    Some(update_val(old.unwrap_or_default(), keys, leaf)?)
                };
                match (found, new) {
                    (Some(i), Some(v)) => self.others[i].1 = v,
                    (Some(i), None) => {
                        self.others.remove(i);
                    }
                    (None, Some(v)) => self.others.push((name, v)),
                    (None, None) => {}
                }
                return Ok(());
            }
        };
        match member {
            Member::Key => {
                let view = keys.is_empty().then(|| self.key_view(record).clone());
                update_member(
                    Origin::Value(&record.key),
                    &mut self.key,
                    view.as_ref(),
                    keys,
                    leaf,
                )
            }
            Member::Value => update_member(
                Origin::Value(&record.value),
                &mut self.value,
                None,
                keys,
                leaf,
            ),
            Member::Headers => {
                let view = self.headers_view(record).clone();
                update_member(
                    Origin::Headers(&record.headers),
                    &mut self.headers,
                    Some(&view),
                    keys,
                    leaf,
                )
            }
            scalar => {
                let Some(slot) = self.scalar(scalar) else {
                    return Ok(());
                };
                let old = match slot {
                    Some(v) => v.clone().unwrap_or_default(),
                    None => member_val(record, scalar),
                };
                let new = if keys.is_empty() {
                    apply_leaf(leaf, || old)?
                } else {
                    Some(update_val(old, keys, leaf)?)
                };
                *slot = Some(new);
                Ok(())
            }
        }
    }

    /// The record the program gave back: `record` with the changed parts converted back as
    /// the jaq path converts them, and the untouched parts kept.
    fn finish(self, shapes: &Shapes, mut record: ConnectRecord) -> Result<ConnectRecord> {
        if let Some((name, _)) = self.others.first() {
            return Err(record::unknown_member(&convert::text(name)));
        }
        if let Some(topic) = self.topic {
            record::set_topic(&mut record, topic)?;
        }
        if let Some(partition) = self.partition {
            record::set_partition(&mut record, partition.unwrap_or_default())?;
        }
        if let Some(timestamp) = self.timestamp {
            record::set_timestamp(&mut record, timestamp.unwrap_or_default())?;
        }
        if !matches!(self.key, Node::Orig) {
            let view = self
                .key_view
                .into_inner()
                .unwrap_or_else(|| convert::to_val(&record.key));
            let key = node_val(Origin::Value(&record.key), &self.key, None);
            record::set_key(shapes, &mut record, key, &view)?;
        }
        match self.value {
            Node::Orig => {}
            Node::Val(v) => record::set_value(shapes, &mut record, v)?,
            Node::Edit(entries) => finish_value(shapes, &mut record, entries)?,
        }
        if !matches!(self.headers, Node::Orig) {
            let view = self
                .headers_view
                .into_inner()
                .unwrap_or_else(|| record::headers_view(&record.headers));
            let headers = node_val(Origin::Headers(&record.headers), &self.headers, Some(&view));
            record::set_headers(shapes, &mut record, headers, &view)?;
        }
        Ok(record)
    }
}

/// Reads `keys` under a node.
fn read_under(origin: Origin, node: &Node, keys: &[Key]) -> Res<Val> {
    let Some(first) = keys.first() else {
        return Ok(node_val(origin, node, None));
    };
    match node {
        Node::Val(v) => index_val(v.clone(), keys),
        Node::Orig => match (origin, first) {
            (Origin::Value(v), _) => read_value(v, keys),
            (Origin::Headers(h), Key::Name(name)) => match h.last_with_name(name) {
                Some(header) => read_value(&header.value, &keys[1..]),
                None => Ok(Val::Null),
            },
            (origin, _) => index_val(origin_val(origin), keys),
        },
        Node::Edit(entries) => {
            let Key::Name(name) = first else {
                return index_val(edit_val(origin, entries, None), keys);
            };
            let object = Object::of(origin);
            match find_entry(object, entries, name) {
                Some(i) => {
                    let entry = &entries[i];
                    read_under(entry_origin(object, entry.key), &entry.node, &keys[1..])
                }
                None => Ok(Val::Null),
            }
        }
    }
}

/// Converts the value changed member by member back into the record.
fn finish_value(shapes: &Shapes, record: &mut ConnectRecord, entries: Vec<Entry>) -> Result<()> {
    match (&record.value_schema, &mut record.value) {
        (None, Value::Map(original)) => {
            let original = std::mem::take(original);
            record.value = finish_map(entries, original);
            Ok(())
        }
        (Some(schema), Value::Struct(_)) if schema.schema_type == SchemaType::Struct => {
            let schema = schema.clone();
            let Value::Struct(original) = std::mem::take(&mut record.value) else {
                return Ok(());
            };
            let (schema, value) = finish_struct(shapes, entries, original, &schema)?;
            record.value_schema = Some(schema);
            record.value = value;
            Ok(())
        }
        _ => {
            let v = edit_val(Origin::Value(&record.value), &entries, None);
            record::set_value(shapes, record, v)
        }
    }
}

/// A schemaless map changed member by member, converted back as jaq's value would be: each
/// changed member with the original member of its name as type hint.
fn finish_map(entries: Vec<Entry>, mut original: Vec<(Value, Value)>) -> Value {
    let in_order = original.len() <= entries.len()
        && entries.iter().enumerate().all(|(i, e)| match e.key {
            EntryKey::Orig(j) => i == j,
            EntryKey::New(_) => i >= original.len(),
        });
    if in_order {
        finish_map_in_place(entries, &mut original);
        return Value::Map(original);
    }
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        match entry.key {
            EntryKey::Orig(i) => {
                let Some((key, value)) = original.get_mut(i) else {
                    continue;
                };
                let key = std::mem::take(key);
                let value = match entry.node {
                    Node::Orig => std::mem::take(value),
                    Node::Val(v) => convert::to_schemaless(v, Some(value)),
                    Node::Edit(inner) => match std::mem::take(value) {
                        Value::Map(map) => finish_map(inner, map),
                        other => {
                            let v = edit_val(Origin::Value(&other), &inner, None);
                            convert::to_schemaless(v, Some(&other))
                        }
                    },
                };
                out.push((key, value));
            }
            EntryKey::New(name) => {
                let hint = original
                    .iter()
                    .find(|(k, _)| matches!(k, Value::String(s) if s == name))
                    .map(|(_, v)| v);
                let v = node_val(Origin::None, &entry.node, None);
                out.push((
                    Value::String(name.to_owned()),
                    convert::to_schemaless(v, hint),
                ));
            }
        }
    }
    Value::Map(out)
}

/// [`finish_map`] when the entries are the original members in order followed by new ones:
/// the changed members are converted in place and the new ones appended.
fn finish_map_in_place(entries: Vec<Entry>, original: &mut Vec<(Value, Value)>) {
    let mut added = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let Some((_, value)) = original.get_mut(i) else {
            if let EntryKey::New(name) = entry.key {
                let v = node_val(Origin::None, &entry.node, None);
                added.push((
                    Value::String(name.to_owned()),
                    convert::to_schemaless(v, None),
                ));
            }
            continue;
        };
        match entry.node {
            Node::Orig => {}
            Node::Val(v) => *value = convert::to_schemaless(v, Some(value)),
            Node::Edit(inner) => {
                *value = match std::mem::take(value) {
                    Value::Map(map) => finish_map(inner, map),
                    other => {
                        let v = edit_val(Origin::Value(&other), &inner, None);
                        convert::to_schemaless(v, Some(&other))
                    }
                }
            }
        }
    }
    if !added.is_empty() {
        let mut room = Vec::with_capacity(original.len() + added.len());
        room.append(original);
        room.extend(added);
        *original = room;
    }
}

/// A struct changed member by member, converted back as jaq's value would be: each member
/// against the field of its name in `schema` (a new one inferred), the schema kept when every
/// field still fits, else rebuilt.
fn finish_struct(
    shapes: &Shapes,
    entries: Vec<Entry>,
    original: Struct,
    schema: &SchemaRef,
) -> Result<(SchemaRef, Value)> {
    let own = original.schema().clone();
    let mut values = original.into_values();
    let in_order = SchemaRef::ptr_eq(&own, schema)
        && values.len() <= entries.len()
        && entries.iter().enumerate().all(|(i, e)| match e.key {
            EntryKey::Orig(j) => i == j,
            EntryKey::New(_) => i >= values.len(),
        });
    if in_order {
        let mut fields: Vec<(FieldId, Cow<SchemaRef>)> = Vec::with_capacity(entries.len());
        if entries.len() > values.len() {
            let mut room = Vec::with_capacity(entries.len());
            room.append(&mut values);
            values = room;
        }
        for (i, entry) in entries.into_iter().enumerate() {
            let (id, field) = match (entry.key, schema.fields.get(i)) {
                (EntryKey::Orig(_), Some(f)) => (FieldId::Base(i), Some(f)),
                (EntryKey::New(name), _) => (FieldId::New(name), None),
                (EntryKey::Orig(_), None) => continue,
            };
            let converted = match (entry.node, values.get_mut(i)) {
                (Node::Orig, Some(_)) => None,
                (node, slot) => {
                    let original = slot.map(std::mem::take);
                    Some(finish_field(shapes, node, original, field)?)
                }
            };
            match (converted, field) {
                (None, Some(f)) => fields.push((id, Cow::Borrowed(&f.schema))),
                (Some((field_schema, value)), _) => {
                    fields.push((id, Cow::Owned(field_schema)));
                    match values.get_mut(i) {
                        Some(slot) => *slot = value,
                        None => values.push(value),
                    }
                }
                (None, None) => {}
            }
        }
        return shapes.finish_appended(schema, fields, values);
    }
    let mut fields: Vec<OutField<&str, Cow<SchemaRef>>> = Vec::with_capacity(entries.len());
    let mut out = Vec::with_capacity(entries.len());
    for (position, entry) in entries.into_iter().enumerate() {
        let name = match entry.key {
            EntryKey::Orig(i) => match own.fields.get(i) {
                Some(f) => f.name.as_str(),
                None => continue,
            },
            EntryKey::New(name) => name,
        };
        let field = convert::struct_field(schema, position, name);
        let original = match entry.key {
            EntryKey::Orig(i) => values.get_mut(i).map(std::mem::take),
            EntryKey::New(_) => None,
        };
        let (field_schema, value) = match (entry.node, original) {
            (Node::Orig, Some(v)) => {
                let own_schema = match entry.key {
                    EntryKey::Orig(i) => own.fields.get(i).map(|o| &o.schema),
                    EntryKey::New(_) => None,
                };
                match (field, own_schema) {
                    (Some(f), Some(o)) if SchemaRef::ptr_eq(o, &f.schema) => (f.schema.clone(), v),
                    _ => finish_field(shapes, Node::Val(convert::to_val(&v)), None, field)?,
                }
            }
            (node, original) => finish_field(shapes, node, original, field)?,
        };
        fields.push((name, Cow::Owned(field_schema)));
        out.push(value);
    }
    shapes.finish_struct(schema, fields, out)
}

/// A changed struct member converted back against `field` (inferred without one); `original`
/// is the member's original value.
fn finish_field(
    shapes: &Shapes,
    node: Node,
    original: Option<Value>,
    field: Option<&Field>,
) -> Result<(SchemaRef, Value)> {
    let fit = |v: Val| match field {
        Some(f) => shapes.fit(v, &f.schema),
        None => shapes.infer(v),
    };
    match (node, original) {
        (Node::Edit(inner), Some(Value::Struct(child))) => match field {
            Some(f) if f.schema.schema_type == SchemaType::Struct => {
                finish_struct(shapes, inner, child, &f.schema)
            }
            _ => fit(edit_val(Origin::Value(&Value::Struct(child)), &inner, None)),
        },
        (Node::Edit(inner), Some(other)) => fit(edit_val(Origin::Value(&other), &inner, None)),
        (Node::Orig, Some(v)) => fit(convert::to_val(&v)),
        (node, _) => fit(node_val(Origin::None, &node, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(k, v)| (Value::from(*k), v.clone()))
                .collect(),
        )
    }

    fn run_on(code: &str, value: Value) -> Applied {
        let record = ConnectRecord::new("t", None, value);
        Subset::compile(code).unwrap().apply(&Shapes::new(), record)
    }

    fn record_of(applied: Applied) -> ConnectRecord {
        match applied {
            Applied::Record(Ok(record)) => record,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deleting_moves_the_last_member_into_the_gap_as_jaq_does() {
        let value = map(&[
            ("a", Value::Int32(1)),
            ("b", Value::Int32(2)),
            ("c", Value::Int32(3)),
        ]);
        let out = record_of(run_on("del(.value.a) | .value.d = 4", value));
        assert_eq!(
            out.value,
            map(&[
                ("c", Value::Int32(3)),
                ("b", Value::Int32(2)),
                ("d", Value::Int64(4)),
            ])
        );
    }

    #[test]
    fn changed_members_keep_the_type_of_the_original_member() {
        let value = map(&[("n", Value::Int16(1)), ("f", Value::Float32(0.5))]);
        let out = record_of(run_on(
            ".value.n += 1 | .value.f *= 2 | .value.n2 = .value.n",
            value,
        ));
        assert_eq!(
            out.value,
            map(&[
                ("n", Value::Int16(2)),
                ("f", Value::Float32(1.0)),
                ("n2", Value::Int64(2)),
            ])
        );
    }

    #[test]
    fn hints_come_from_the_record_as_it_came_in() {
        let value = map(&[("n", Value::Int32(7))]);
        let out = record_of(run_on(".value.n = 1.5 | .value.n = 2", value));
        assert_eq!(out.value, map(&[("n", Value::Int32(2))]));
    }

    #[test]
    fn outputs_other_than_the_record_give_the_record_back() {
        let value = map(&[("n", Value::Int32(7))]);
        match run_on(".value.n = 1 | .value.n > 0", value.clone()) {
            Applied::Value(Some(Val::Bool(true)), record) => assert_eq!(record.value, value),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            run_on("select(.value.n > 9)", value.clone()),
            Applied::Value(None, _)
        ));
        assert!(matches!(run_on(".value", value.clone()), Applied::Bail(_)));
        match run_on(".value.n.x", value) {
            Applied::Failed(message) => assert_eq!(message, "cannot index 7 with \"x\""),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_predicate_needs_no_conversion_back() {
        let subset = Subset::compile(".value.s.x = 1 | .value.s.x == 1").unwrap();
        let inner = Struct::new(
            sluice_api::data::SchemaBuilder::struct_()
                .field("x", sluice_api::data::Schema::optional(SchemaType::Int64))
                .unwrap()
                .build(),
        )
        .unwrap();
        let record = ConnectRecord::new("t", None, map(&[("s", Value::Struct(inner))]));
        assert_eq!(subset.test(&record), Some(Ok(true)));
        assert!(matches!(
            subset.apply(&Shapes::new(), record),
            Applied::Value(Some(Val::Bool(true)), _)
        ));
    }

    #[test]
    fn array_indexes_count_from_the_end_when_negative() {
        assert_eq!(array_index(0, 2), Some(0));
        assert_eq!(array_index(2, 2), None);
        assert_eq!(array_index(-1, 2), Some(1));
        assert_eq!(array_index(-2, 2), Some(0));
        assert_eq!(array_index(-3, 2), None);
        assert_eq!(array_index(-1, 0), None);
    }

    #[test]
    fn length_is_the_library_length() {
        let len = |v: Val| length(v).map_err(|e| format!("{e:?}")).unwrap();
        assert_eq!(len(Val::Null), Val::from(0isize));
        assert_eq!(len(Val::from(-3isize)), Val::from(3isize));
        assert_eq!(len(Val::from(isize::MIN)), Val::from(isize::MIN));
        assert_eq!(len(Val::from(-1.5)), Val::from(1.5));
        assert_eq!(len(convert::text("é!")), Val::from(2isize));
        assert_eq!(
            len(Val::utf8_str(bytes::Bytes::from_static(b"a\xff\xe2\x82"))),
            Val::from(3isize)
        );
        assert_eq!(
            len(Val::byte_str(bytes::Bytes::from_static(b"\xff\xff"))),
            Val::from(2isize)
        );
        match length(Val::Bool(true)) {
            Err(Stop::Error(e)) => {
                assert_eq!(super::super::program::error_text(e), "true has no length")
            }
            other => panic!("{other:?}"),
        }
    }
}
