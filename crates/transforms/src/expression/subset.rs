//! The subset of jq that runs on the record in place, compiled from jaq's syntax tree.
//!
//! A program is in the subset when it is a pipe of *stages* that each turn the record into
//! the record (or into nothing), optionally ending in one *expression*:
//!
//! - stages: `PATH = E`, `PATH |= F`, `PATH += E` (and `-=`, `*=`, `/=`, `%=`, `//=`),
//!   `del(PATH)` and `del(PATH, PATH, ...)`, `select(E)`, `empty`, `.`, and
//!   `if E then STAGES elif E then STAGES else STAGES end` (no `else`: `.`);
//! - paths: `.name`, `."quoted name"`, `.["name"]` and integer indexes `.[0]`, `.[-1]`, chained
//!   (`.value.a.b`, `.headers["x-y"]`), without `?`; a path from the record starts at a
//!   name;
//! - expressions `E` (on the record) and `F` (on a value: the old value for `|=`, the left
//!   side's value after a `|` inside an expression): `null`, `true`, `false`, numbers,
//!   strings with `\(...)` interpolation, `[E, ...]`, `{name: E, "name": E, (E): E, name}`,
//!   paths, `.` on a value, `-E`, `E + - * / % E`, `E == != < <= > >= E`, `E and or E`,
//!   `E // E`, `if ... then ... else ... end`, `E | F`, `error(E)`, and on a value the
//!   functions `not`, `tostring`, `length`, `ascii_downcase`, `ascii_upcase` (evaluated
//!   directly) and [`LIBRARY_CALLS`] (each a compiled jaq call on the single value).
//!
//! Everything else (variables, `as`, `reduce`, `def`, `,` outside arrays and `del`, `?`,
//! `try`, `..`, `.[]`, slices, format strings, `$__loc__`, other functions, `.` standing for
//! the whole record in an expression, an object construction as the program's result) leaves
//! the program to jaq. Every construct is compiled to
//! the operation jaq compiles it to (`a + b` is jaq's `+` on jaq values, `tostring` jaq's
//! string conversion, `P = E` jaq's path update), so the subset means exactly what jaq means.

use bytes::Bytes;
use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Term};
use jaq_core::ops::{Cmp, Math};
use jaq_core::path::{Opt, Part};
use jaq_core::ValT;
use jaq_json::{Map, Num, Rc, Val};
use num_bigint::BigInt;

use super::convert;
use super::program::Builtin;

/// Library functions of value arguments (each evaluated on the call's input) that expressions
/// call through jaq, with their number of arguments.
pub(super) const LIBRARY_CALLS: &[(&str, usize)] = &[
    ("tonumber", 0),
    ("tojson", 0),
    ("fromjson", 0),
    ("type", 0),
    ("floor", 0),
    ("ceil", 0),
    ("round", 0),
    ("sqrt", 0),
    ("abs", 0),
    ("trim", 0),
    ("ltrim", 0),
    ("rtrim", 0),
    ("utf8bytelength", 0),
    ("keys", 0),
    ("add", 0),
    ("min", 0),
    ("max", 0),
    ("sort", 0),
    ("unique", 0),
    ("reverse", 0),
    ("first", 0),
    ("last", 0),
    ("to_entries", 0),
    ("from_entries", 0),
    ("explode", 0),
    ("implode", 0),
    ("@text", 0),
    ("@json", 0),
    ("@base64", 0),
    ("@base64d", 0),
    ("@uri", 0),
    ("@html", 0),
    ("@sh", 0),
    ("startswith", 1),
    ("endswith", 1),
    ("ltrimstr", 1),
    ("rtrimstr", 1),
    ("split", 1),
    ("join", 1),
    ("contains", 1),
    ("inside", 1),
    ("has", 1),
    ("index", 1),
    ("rindex", 1),
    ("indices", 1),
    ("test", 1),
    ("test", 2),
];

/// A record member, the first step of a path from the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Member {
    /// `.topic`
    Topic,
    /// `.partition`
    Partition,
    /// `.key`
    Key,
    /// `.value`
    Value,
    /// `.timestamp`
    Timestamp,
    /// `.headers`
    Headers,
    /// `.offset`
    Offset,
}

impl Member {
    fn of(name: &str) -> Option<Member> {
        use super::record::{HEADERS, KEY, OFFSET, PARTITION, TIMESTAMP, TOPIC, VALUE};
        Some(match name {
            TOPIC => Member::Topic,
            PARTITION => Member::Partition,
            KEY => Member::Key,
            VALUE => Member::Value,
            TIMESTAMP => Member::Timestamp,
            HEADERS => Member::Headers,
            OFFSET => Member::Offset,
            _ => return None,
        })
    }
}

/// Where a path from the record starts.
#[derive(Debug)]
pub(super) enum Root {
    /// A record member.
    Member(Member),
    /// Any other name: null until the program sets it (the result then fails as jaq's does).
    Other(Box<str>),
}

/// One step of a path.
#[derive(Debug)]
pub(super) enum Key {
    /// An object member.
    Name(Box<str>),
    /// An array index.
    Index(isize),
}

impl Key {
    /// The step as jq indexes with it.
    pub(super) fn val(&self) -> Val {
        match self {
            Key::Name(name) => convert::text(name),
            Key::Index(i) => Val::from(*i),
        }
    }
}

/// A constant (held apart from jq values, which cannot be shared between threads).
#[derive(Debug)]
pub(super) enum Lit {
    /// `null`
    Null,
    /// `true`, `false`
    Bool(bool),
    /// An integer.
    Int(isize),
    /// An integer beyond the machine's.
    BigInt(BigInt),
    /// A float.
    Float(f64),
    /// A decimal number as written (jaq keeps its text until arithmetic).
    Dec(Box<str>),
    /// A text string.
    Str(Bytes),
    /// `[]`
    EmptyArray,
    /// `{}`
    EmptyObject,
}

impl Lit {
    /// The constant as a jq value.
    pub(super) fn val(&self) -> Val {
        match self {
            Lit::Null => Val::Null,
            Lit::Bool(b) => Val::Bool(*b),
            Lit::Int(i) => Val::from(*i),
            Lit::BigInt(b) => Val::Num(Num::big_int(b.clone())),
            Lit::Float(f) => Val::from(*f),
            Lit::Dec(d) => Val::Num(Num::Dec(Rc::new(d.to_string()))),
            Lit::Str(b) => Val::utf8_str(b.clone()),
            Lit::EmptyArray => Val::Arr(Rc::default()),
            Lit::EmptyObject => Val::obj(Map::default()),
        }
    }

    /// The constant of a jq scalar.
    fn of(v: &Val) -> Option<Lit> {
        Some(match v {
            Val::Null => Lit::Null,
            Val::Bool(b) => Lit::Bool(*b),
            Val::Num(Num::Int(i)) => Lit::Int(*i),
            Val::Num(Num::BigInt(b)) => Lit::BigInt((**b).clone()),
            Val::Num(Num::Float(f)) => Lit::Float(*f),
            Val::Num(Num::Dec(d)) => Lit::Dec(d.as_str().into()),
            Val::TStr(b) => Lit::Str((**b).clone()),
            _ => return None,
        })
    }

    fn text(s: &str) -> Lit {
        Lit::Str(Bytes::copy_from_slice(s.as_bytes()))
    }
}

/// A path from the record.
#[derive(Debug)]
pub(super) struct Path {
    /// The member it starts at.
    pub(super) root: Root,
    /// The steps after it.
    pub(super) keys: Vec<Key>,
}

/// A function the evaluator computes itself.
#[derive(Debug, Clone, Copy)]
pub(super) enum Native {
    /// `not`
    Not,
    /// `tostring` (and string interpolation)
    ToString,
    /// `length`
    Length,
    /// `ascii_downcase`
    AsciiDowncase,
    /// `ascii_upcase`
    AsciiUpcase,
}

/// An expression: one value (or an error) from its input.
#[derive(Debug)]
pub(super) enum Expr {
    /// A constant.
    Lit(Lit),
    /// `.` on a value.
    Input,
    /// A path from the record.
    Read(Path),
    /// A path into a computed value.
    Index(Box<Expr>, Vec<Key>),
    /// `l | r`: `r` on the value of `l`.
    Pipe(Box<Expr>, Box<Expr>),
    /// `-e`
    Neg(Box<Expr>),
    /// `l + r` and the other arithmetic operators.
    Math(Box<Expr>, Math, Box<Expr>),
    /// `l == r` and the other comparisons.
    Cmp(Box<Expr>, Cmp, Box<Expr>),
    /// `l or r` (true) and `l and r` (false): the left value that decides on its own.
    Logic(Box<Expr>, bool, Box<Expr>),
    /// `l // r`
    Alt(Box<Expr>, Box<Expr>),
    /// `if c then t elif ... else e end`
    If(Vec<(Expr, Expr)>, Box<Expr>),
    /// A string with interpolations: the parts, each a string.
    Concat(Vec<Expr>),
    /// `[a, b, ...]`
    Arr(Vec<Expr>),
    /// `{(k): v}`, one member of an object construction (members are added together).
    ObjSingle(Box<Expr>, Box<Expr>),
    /// A function the evaluator computes, on the input value.
    Native(Native),
    /// A library function called through jaq, on the input value, with argument expressions.
    Call(Builtin, Vec<Expr>),
    /// `error(e)`
    Error(Box<Expr>),
}

/// What a path update does with the old value.
#[derive(Debug)]
pub(super) enum Update {
    /// `PATH = E`: `E` (on the record, before the update).
    Set(Expr),
    /// `PATH |= F`: `F` on the old value.
    Modify(Expr),
    /// `PATH op= E`: the old value `op` `E` (on the record, before the update).
    Math(Math, Expr),
    /// `PATH //= E`: the old value when true, else `E` (on the record, before the update).
    Alt(Expr),
    /// `del(PATH)`
    Delete,
}

/// A stage: turns the record into the record, or into nothing.
#[derive(Debug)]
pub(super) enum Stage {
    /// A path update.
    Update(Path, Update),
    /// `select(E)`
    Select(Expr),
    /// `if ... then STAGES ... else STAGES end`
    If(Vec<(Expr, Vec<Stage>)>, Vec<Stage>),
    /// `empty`
    Empty,
}

/// What the program gives after its stages.
#[derive(Debug)]
pub(super) enum End {
    /// The record.
    Record,
    /// The value of an expression on the record.
    Value(Expr),
}

/// A program of the subset.
#[derive(Debug)]
pub(super) struct Subset {
    /// The stages, in order.
    pub(super) stages: Vec<Stage>,
    /// The end.
    pub(super) end: End,
}

/// Whether an expression's input is the record or a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Record,
    Value,
}

type Tm<'s> = Term<&'s str>;

impl Subset {
    /// The program `code` in the subset, or `None` when it is not in it (or does not parse:
    /// jaq reports that).
    pub(super) fn compile(code: &str) -> Option<Subset> {
        let term = jaq_core::load::parse(code, |p| p.term())?;
        let (stages, end) = filter(&term)?;
        Some(Subset { stages, end })
    }
}

/// A term as stages and an end.
fn filter(t: &Tm) -> Option<(Vec<Stage>, End)> {
    if let Some(stages) = stages(t) {
        return Some((stages, End::Record));
    }
    if let Term::BinOp(l, BinaryOp::Pipe(None), r) = t {
        if let Some(mut first) = stages(l) {
            let (rest, end) = filter(r)?;
            first.extend(rest);
            return Some((first, end));
        }
    }
    let end = expr(t, Ctx::Record)?;
    if builds_object(&end) {
        return None;
    }
    Some((Vec::new(), End::Value(end)))
}

/// True for an object construction: as a program's result it is a whole new record, which
/// jaq converts.
fn builds_object(e: &Expr) -> bool {
    match e {
        Expr::ObjSingle(..) | Expr::Lit(Lit::EmptyObject) => true,
        Expr::Math(l, Math::Add, _) => matches!(**l, Expr::ObjSingle(..)),
        _ => false,
    }
}

/// A term that turns the record into the record (or nothing) as stages.
fn stages(t: &Tm) -> Option<Vec<Stage>> {
    Some(match t {
        Term::Id => Vec::new(),
        Term::BinOp(l, op, r) => {
            let update = match op {
                BinaryOp::Pipe(None) => {
                    let mut first = stages(l)?;
                    first.extend(stages(r)?);
                    return Some(first);
                }
                BinaryOp::Assign => Update::Set(expr(r, Ctx::Record)?),
                BinaryOp::Update => match &**r {
                    Term::Call("empty", args) if args.is_empty() => Update::Delete,
                    r => Update::Modify(expr(r, Ctx::Value)?),
                },
                BinaryOp::UpdateMath(op) => Update::Math(*op, expr(r, Ctx::Record)?),
                BinaryOp::UpdateAlt => Update::Alt(expr(r, Ctx::Record)?),
                _ => return None,
            };
            vec![Stage::Update(record_path(l)?, update)]
        }
        Term::Call("select", args) if args.len() == 1 => {
            vec![Stage::Select(expr(&args[0], Ctx::Record)?)]
        }
        Term::Call("empty", args) if args.is_empty() => vec![Stage::Empty],
        Term::Call("del", args) if args.len() == 1 => {
            let mut paths = Vec::new();
            commas(&args[0], &mut paths);
            paths
                .into_iter()
                .map(|p| Some(Stage::Update(record_path(p)?, Update::Delete)))
                .collect::<Option<_>>()?
        }
        Term::IfThenElse(branches, otherwise) => {
            let branches = branches
                .iter()
                .map(|(c, t)| Some((expr(c, Ctx::Record)?, stages(t)?)))
                .collect::<Option<_>>()?;
            let otherwise = match otherwise {
                Some(e) => stages(e)?,
                None => Vec::new(),
            };
            vec![Stage::If(branches, otherwise)]
        }
        _ => return None,
    })
}

/// The terms of `a, b, c`, in order.
fn commas<'t, 's>(t: &'t Tm<'s>, out: &mut Vec<&'t Tm<'s>>) {
    match t {
        Term::BinOp(l, BinaryOp::Comma, r) => {
            commas(l, out);
            commas(r, out);
        }
        t => out.push(t),
    }
}

/// A path from the record: `.` followed by steps, the first a name.
fn record_path(t: &Tm) -> Option<Path> {
    let Term::Path(head, path) = t else {
        return None;
    };
    if !matches!(**head, Term::Id) {
        return None;
    }
    let mut keys = path_keys(&path.0)?.into_iter();
    let root = match keys.next()? {
        Key::Name(name) => match Member::of(&name) {
            Some(member) => Root::Member(member),
            None => Root::Other(name),
        },
        Key::Index(_) => return None,
    };
    Some(Path {
        root,
        keys: keys.collect(),
    })
}

/// The steps of a path: constant names and integer indexes, none optional.
fn path_keys(parts: &[(Part<Tm>, Opt)]) -> Option<Vec<Key>> {
    parts
        .iter()
        .map(|(part, opt)| match (part, opt) {
            (Part::Index(t), Opt::Essential) => key(t),
            _ => None,
        })
        .collect()
}

fn key(t: &Tm) -> Option<Key> {
    if let Some(name) = constant_string(t) {
        return Some(Key::Name(name.into_boxed_str()));
    }
    match literal(t)? {
        Val::Num(Num::Int(i)) => Some(Key::Index(i)),
        _ => None,
    }
}

/// The text of a string literal without interpolation or format.
fn constant_string(t: &Tm) -> Option<String> {
    let Term::Str(None, parts) = t else {
        return None;
    };
    let mut text = String::new();
    for part in parts {
        match part {
            StrPart::Str(s) => text.push_str(s),
            StrPart::Char(c) => text.push(*c),
            StrPart::Term(_) => return None,
        }
    }
    Some(text)
}

/// The value of a number literal, possibly negated, as jaq compiles it.
fn literal(t: &Tm) -> Option<Val> {
    match t {
        Term::Num(n) => Some(number(n)?),
        Term::Neg(t) => (-literal(t)?).ok(),
        _ => None,
    }
}

/// A number literal as jaq compiles it: a machine integer when it is one, else jaq's number
/// parsing (big integers, and decimals kept as their text).
fn number(n: &str) -> Option<Val> {
    match n.parse::<isize>() {
        Ok(i) => Some(Val::from(i)),
        Err(_) => Val::from_num(n).ok(),
    }
}

fn boxed(t: &Tm, ctx: Ctx) -> Option<Box<Expr>> {
    expr(t, ctx).map(Box::new)
}

/// A term as an expression on the record or on a value.
fn expr(t: &Tm, ctx: Ctx) -> Option<Expr> {
    Some(match t {
        Term::Id if ctx == Ctx::Value => Expr::Input,
        Term::Num(n) => Expr::Lit(Lit::of(&number(n)?)?),
        Term::Str(None, parts) => string(parts, ctx)?,
        Term::Neg(inner) => match literal(inner) {
            Some(v) => Expr::Lit(Lit::of(&(-v).ok()?)?),
            None => Expr::Neg(boxed(inner, ctx)?),
        },
        Term::Arr(None) => Expr::Lit(Lit::EmptyArray),
        Term::Arr(Some(items)) => {
            let mut terms = Vec::new();
            commas(items, &mut terms);
            Expr::Arr(
                terms
                    .into_iter()
                    .map(|t| expr(t, ctx))
                    .collect::<Option<_>>()?,
            )
        }
        Term::Obj(entries) => object(entries, ctx)?,
        Term::Path(head, path) => {
            let keys = path_keys(&path.0)?;
            match (&**head, ctx) {
                (Term::Id, Ctx::Record) => Expr::Read(record_path(t)?),
                (Term::Id, Ctx::Value) => Expr::Index(Box::new(Expr::Input), keys),
                (head, ctx) => Expr::Index(boxed(head, ctx)?, keys),
            }
        }
        Term::BinOp(l, op, r) => match op {
            BinaryOp::Pipe(None) => match &**l {
                Term::Id => return expr(r, ctx),
                l => Expr::Pipe(boxed(l, ctx)?, boxed(r, Ctx::Value)?),
            },
            BinaryOp::Math(op) => Expr::Math(boxed(l, ctx)?, *op, boxed(r, ctx)?),
            BinaryOp::Cmp(op) => Expr::Cmp(boxed(l, ctx)?, *op, boxed(r, ctx)?),
            BinaryOp::Or => Expr::Logic(boxed(l, ctx)?, true, boxed(r, ctx)?),
            BinaryOp::And => Expr::Logic(boxed(l, ctx)?, false, boxed(r, ctx)?),
            BinaryOp::Alt => Expr::Alt(boxed(l, ctx)?, boxed(r, ctx)?),
            _ => return None,
        },
        Term::IfThenElse(branches, otherwise) => {
            let branches = branches
                .iter()
                .map(|(c, t)| Some((expr(c, ctx)?, expr(t, ctx)?)))
                .collect::<Option<_>>()?;
            let otherwise = match otherwise {
                Some(e) => boxed(e, ctx)?,
                None if ctx == Ctx::Value => Box::new(Expr::Input),
                None => return None,
            };
            Expr::If(branches, otherwise)
        }
        Term::Call(name, args) => call(name, args, ctx)?,
        _ => return None,
    })
}

/// A string literal, with its interpolations converted by `tostring` as jaq does.
fn string(parts: &[StrPart<&str, Tm>], ctx: Ctx) -> Option<Expr> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    for part in parts {
        match part {
            StrPart::Str(s) => text.push_str(s),
            StrPart::Char(c) => text.push(*c),
            StrPart::Term(t) => {
                if !text.is_empty() {
                    pieces.push(Expr::Lit(Lit::text(&std::mem::take(&mut text))));
                }
                let value = expr(t, ctx)?;
                pieces.push(Expr::Pipe(
                    Box::new(value),
                    Box::new(Expr::Native(Native::ToString)),
                ));
            }
        }
    }
    if pieces.is_empty() {
        return Some(Expr::Lit(Lit::text(&text)));
    }
    if !text.is_empty() {
        pieces.push(Expr::Lit(Lit::text(&text)));
    }
    Some(Expr::Concat(pieces))
}

/// An object construction: the sum of its single-member objects, as jaq builds it.
fn object(entries: &[(Tm, Option<Tm>)], ctx: Ctx) -> Option<Expr> {
    let mut members = entries
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Some(v) => expr(v, ctx)?,
                None => {
                    let key = Key::Name(constant_string(k)?.into_boxed_str());
                    match ctx {
                        Ctx::Record => Expr::Read(record_path_of(key)?),
                        Ctx::Value => Expr::Index(Box::new(Expr::Input), vec![key]),
                    }
                }
            };
            let key = match k {
                Term::Var(_) => return None,
                k => expr(k, ctx)?,
            };
            Some(Expr::ObjSingle(Box::new(key), Box::new(value)))
        })
        .collect::<Option<Vec<_>>>()?;
    let Some(mut sum) = members.pop() else {
        return Some(Expr::Lit(Lit::EmptyObject));
    };
    while let Some(member) = members.pop() {
        sum = Expr::Math(Box::new(member), Math::Add, Box::new(sum));
    }
    Some(sum)
}

/// The one-step path `.name` from the record.
fn record_path_of(key: Key) -> Option<Path> {
    match key {
        Key::Name(name) => Some(Path {
            root: match Member::of(&name) {
                Some(member) => Root::Member(member),
                None => Root::Other(name),
            },
            keys: Vec::new(),
        }),
        Key::Index(_) => None,
    }
}

/// A function call.
fn call(name: &str, args: &[Tm], ctx: Ctx) -> Option<Expr> {
    let constant = match (name, args.len()) {
        ("null", 0) => Some(Lit::Null),
        ("true", 0) => Some(Lit::Bool(true)),
        ("false", 0) => Some(Lit::Bool(false)),
        _ => None,
    };
    if let Some(v) = constant {
        return Some(Expr::Lit(v));
    }
    if (name, args.len()) == ("error", 1) {
        return Some(Expr::Error(boxed(&args[0], ctx)?));
    }
    if ctx != Ctx::Value {
        return None;
    }
    let native = match (name, args.len()) {
        ("not", 0) => Some(Native::Not),
        ("tostring", 0) => Some(Native::ToString),
        ("length", 0) => Some(Native::Length),
        ("ascii_downcase", 0) => Some(Native::AsciiDowncase),
        ("ascii_upcase", 0) => Some(Native::AsciiUpcase),
        _ => None,
    };
    if let Some(native) = native {
        return Some(Expr::Native(native));
    }
    if !LIBRARY_CALLS.contains(&(name, args.len())) {
        return None;
    }
    let builtin = Builtin::compile(name, args.len())?;
    let args = args.iter().map(|a| expr(a, ctx)).collect::<Option<_>>()?;
    Some(Expr::Call(builtin, args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(code: &str) -> Subset {
        Subset::compile(code).unwrap_or_else(|| panic!("not in the subset: {code}"))
    }

    fn single_update(code: &str) -> (Path, Update) {
        let Subset { mut stages, end } = compiled(code);
        assert!(matches!(end, End::Record), "{code}");
        assert_eq!(stages.len(), 1, "{code}");
        match stages.remove(0) {
            Stage::Update(path, update) => (path, update),
            other => panic!("{code}: {other:?}"),
        }
    }

    fn names(path: &Path) -> Vec<String> {
        let root = match &path.root {
            Root::Member(m) => format!("{m:?}"),
            Root::Other(name) => format!("other {name}"),
        };
        std::iter::once(root)
            .chain(path.keys.iter().map(|k| match k {
                Key::Name(n) => n.to_string(),
                Key::Index(i) => format!("[{i}]"),
            }))
            .collect()
    }

    #[test]
    fn a_computed_field_is_one_assignment() {
        let (path, update) = single_update(".value.total = .value.a * .value.b + .value.c");
        assert_eq!(names(&path), ["Value", "total"]);
        let Update::Set(Expr::Math(l, Math::Add, r)) = update else {
            panic!("{update:?}")
        };
        assert!(matches!(*l, Expr::Math(_, Math::Mul, _)));
        assert!(matches!(*r, Expr::Read(_)));
    }

    #[test]
    fn paths_take_names_quoted_names_and_indexes() {
        let (path, _) = single_update(".headers[\"x-y\"] = 1");
        assert_eq!(names(&path), ["Headers", "x-y"]);
        let (path, _) = single_update(".value.\"a b\".c = 1");
        assert_eq!(names(&path), ["Value", "a b", "c"]);
        let (path, _) = single_update(".value.items[-1] = 1");
        assert_eq!(names(&path), ["Value", "items", "[-1]"]);
        let (path, _) = single_update(".vaule = 1");
        assert_eq!(names(&path), ["other vaule"]);
        for code in [
            ".value.a? = 1",
            ".[0] = 1",
            ".value[] = 1",
            ".value[1:] = 1",
        ] {
            assert!(Subset::compile(code).is_none(), "{code}");
        }
    }

    #[test]
    fn update_forms_compile_to_their_updates() {
        assert!(matches!(
            single_update(".value.n |= . + 1").1,
            Update::Modify(_)
        ));
        assert!(matches!(
            single_update(".value.n -= 1").1,
            Update::Math(Math::Sub, _)
        ));
        assert!(matches!(single_update(".value.n //= 1").1, Update::Alt(_)));
        assert!(matches!(single_update("del(.value.n)").1, Update::Delete));
        assert!(matches!(
            single_update(".value.n |= empty").1,
            Update::Delete
        ));
        let Subset { stages, .. } = compiled("del(.value.a, .headers.b)");
        assert_eq!(stages.len(), 2);
    }

    #[test]
    fn pipes_of_stages_may_end_in_an_expression() {
        let Subset { stages, end } =
            compiled(".value.x = 1 | select(.value.x > 0) | if .key then . end | .value.x");
        assert_eq!(stages.len(), 3);
        assert!(matches!(stages[1], Stage::Select(_)));
        let Stage::If(branches, otherwise) = &stages[2] else {
            panic!("{stages:?}")
        };
        assert_eq!(branches.len(), 1);
        assert!(otherwise.is_empty());
        assert!(matches!(end, End::Value(Expr::Read(_))));
        assert!(matches!(compiled("empty").stages[..], [Stage::Empty]));
        assert!(matches!(compiled(".").end, End::Record));
    }

    #[test]
    fn constants_are_compiled_as_jaq_reads_them() {
        let lit = |code: &str| match compiled(code).end {
            End::Value(Expr::Lit(lit)) => lit,
            other => panic!("{code}: {other:?}"),
        };
        assert!(matches!(lit("1"), Lit::Int(1)));
        assert!(matches!(lit("-1"), Lit::Int(-1)));
        assert!(matches!(lit("1.50"), Lit::Dec(d) if &*d == "1.50"));
        assert!(matches!(lit("-1.5"), Lit::Dec(d) if &*d == "-1.5"));
        assert!(matches!(lit("123456789012345678901234"), Lit::BigInt(_)));
        assert!(matches!(lit("\"a\\tb\\u00e9\""), Lit::Str(b) if b[..] == *"a\tbé".as_bytes()));
        assert!(matches!(lit("null"), Lit::Null));
        assert!(matches!(lit("true"), Lit::Bool(true)));
        assert!(matches!(lit("[]"), Lit::EmptyArray));
        assert!(Subset::compile("{}").is_none());
        assert!(Subset::compile("{topic: \"t\", value: .value}").is_none());
    }

    #[test]
    fn interpolation_converts_each_part_with_tostring() {
        let End::Value(Expr::Concat(parts)) = compiled("\"a\\(.topic)b\\(.partition)\"").end else {
            panic!()
        };
        assert_eq!(parts.len(), 4);
        assert!(matches!(
            &parts[1],
            Expr::Pipe(_, f) if matches!(**f, Expr::Native(Native::ToString))
        ));
        assert!(Subset::compile("@base64 \"\\(.topic)\"").is_none());
    }

    #[test]
    fn functions_apply_to_values_not_to_the_record() {
        for code in [
            ".value.name | ascii_downcase",
            ".value.name | length > 3",
            ".value.n = (.value.s | tonumber)",
            ".value.n |= tostring",
            ".value.ok = (.value.name | test(\"^a\"; \"i\"))",
            "error(\"bad \\(.topic)\")",
        ] {
            assert!(Subset::compile(code).is_some(), "{code}");
        }
        for code in [
            "length",
            "tostring",
            "not",
            "keys",
            "map(.)",
            ".value | map(.)",
        ] {
            assert!(Subset::compile(code).is_none(), "{code}");
        }
    }

    #[test]
    fn every_listed_library_call_compiles() {
        let missing: Vec<_> = LIBRARY_CALLS
            .iter()
            .filter(|(name, arity)| Builtin::compile(name, *arity).is_none())
            .collect();
        assert!(missing.is_empty(), "not in the library: {missing:?}");
    }

    #[test]
    fn generators_variables_and_definitions_are_left_to_jaq() {
        for code in [
            ".value.a, .value.b",
            ".value.a as $a | .value.b = $a",
            "def f: .; f",
            "reduce .value[] as $x (0; . + $x)",
            "try .value.a catch 0",
            "$__loc__",
            "..",
            ".value | if . then 1 end | . + 1",
            "if .value then 1 end",
        ] {
            let in_subset = Subset::compile(code).is_some();
            assert_eq!(
                in_subset,
                code == ".value | if . then 1 end | . + 1",
                "{code}"
            );
        }
    }
}
