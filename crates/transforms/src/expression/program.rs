//! Compiling a jq program once, with a sandboxed library, and running it on one input.
//!
//! The library is jaq's core, standard and JSON definitions minus everything that reaches
//! outside the record: `env` and `$ENV` (the worker's environment may hold secrets), `halt`
//! and `halt_error` (they would end the worker process), `debug` and `stderr` (logging per
//! record), and `localtime`/`strflocaltime` (they read the machine's time zone). `now` stays:
//! it reads the clock and nothing else. There is no `input`, no file access and no network.
//!
//! Compile errors carry the position in the program as `line L, column C` (1-based, columns
//! counted in characters).

use jaq_core::load::{lex, parse, Arena, File, Loader};
use jaq_core::{compile, data, Compiler, Ctx, Vars};
use jaq_json::Val;

/// The data kind the programs run on: jaq-json values, no global data beyond the program.
pub(super) type Data = data::JustLut<Val>;

/// Native filters left out of the library (see the module docs).
const DENIED_FUNCTIONS: [&str; 6] = [
    "env",
    "halt",
    "debug_empty",
    "stderr_empty",
    "localtime",
    "strflocaltime",
];

/// Library definitions left out because they call denied native filters.
const DENIED_DEFINITIONS: [&str; 4] = ["debug", "stderr", "halt", "halt_error"];

/// A compiled program.
pub(super) struct Program {
    filter: jaq_core::Filter<Data>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program").finish_non_exhaustive()
    }
}

impl Program {
    /// Compiles `code`. The error text names every problem with its position, separated by
    /// `; `.
    pub(super) fn compile(code: &str) -> Result<Program, String> {
        let arena = Arena::default();
        let modules = Loader::new(library_defs())
            .load(&arena, File { code, path: () })
            .map_err(|errors| {
                join(
                    errors
                        .iter()
                        .flat_map(|(_, e)| load_error_messages(code, e)),
                )
            })?;
        let filter = Compiler::default()
            .with_funs(library_funs())
            .compile(modules)
            .map_err(|errors| {
                join(
                    errors
                        .iter()
                        .flat_map(|(_, undefined)| undefined.iter())
                        .map(|(name, what)| undefined_message(code, name, what)),
                )
            })?;
        Ok(Program { filter })
    }

    /// Runs the program on `input` and returns its first output, `None` when it produces
    /// none. Later outputs are never computed.
    pub(super) fn first_output(&self, input: Val) -> Result<Option<Val>, String> {
        let ctx = Ctx::<Data>::new(&self.filter.lut, Vars::new([]));
        match self.filter.id.run((ctx, input)).next() {
            None => Ok(None),
            Some(Ok(v)) => Ok(Some(v)),
            Some(Err(exn)) => Err(match exn.get_err() {
                Ok(error) => error_text(error),
                Err(other) => format!("the program stopped abnormally ({other:?})"),
            }),
        }
    }
}

/// The text of a jq error: the message of `error("...")`, or jaq's description.
pub(super) fn error_text(error: jaq_core::Error<Val>) -> String {
    match error.into_val() {
        Val::TStr(text) => String::from_utf8_lossy(&text).into_owned(),
        other => other.to_string(),
    }
}

/// What a [`Builtin`] call gave.
#[derive(Debug)]
pub(super) enum CallOutput {
    /// Exactly one value.
    One(Val),
    /// An error as the first output.
    Error(jaq_core::Error<Val>),
    /// No output, several, or an abnormal stop: not a single value.
    Other,
}

/// One call of a library function of the sandboxed library, `name($a0; $a1; ...)`, compiled
/// once and run on single values (the fast evaluator uses it for library functions it does
/// not implement itself).
pub(super) struct Builtin {
    filter: jaq_core::Filter<Data>,
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builtin").finish_non_exhaustive()
    }
}

/// Names of the variables holding a [`Builtin`]'s arguments.
const ARGUMENT_VARIABLES: [&str; 2] = ["$a0", "$a1"];

impl Builtin {
    /// Compiles a call of `name` with `arity` value arguments (at most two); `None` when the
    /// library has no such function.
    pub(super) fn compile(name: &str, arity: usize) -> Option<Builtin> {
        let vars = ARGUMENT_VARIABLES.get(..arity)?;
        let code = if arity == 0 {
            name.to_owned()
        } else {
            format!("{name}({})", vars.join("; "))
        };
        let arena = Arena::default();
        let modules = Loader::new(library_defs())
            .load(
                &arena,
                File {
                    code: &*code,
                    path: (),
                },
            )
            .ok()?;
        let filter = Compiler::default()
            .with_funs(library_funs())
            .with_global_vars(vars.iter().copied())
            .compile(modules)
            .ok()?;
        Some(Builtin { filter })
    }

    /// Runs the call on `input` with the argument values `args` (as many as the arity).
    pub(super) fn call(&self, input: Val, args: Vec<Val>) -> CallOutput {
        let ctx = Ctx::<Data>::new(&self.filter.lut, Vars::new(args));
        let mut outputs = self.filter.id.run((ctx, input));
        match outputs.next() {
            Some(Ok(v)) => match outputs.next() {
                None => CallOutput::One(v),
                Some(_) => CallOutput::Other,
            },
            Some(Err(exn)) => match exn.get_err() {
                Ok(error) => CallOutput::Error(error),
                Err(_) => CallOutput::Other,
            },
            None => CallOutput::Other,
        }
    }
}

/// The library's definitions (see the module docs).
fn library_defs() -> impl Iterator<Item = jaq_core::load::parse::Def<&'static str>> {
    jaq_core::defs()
        .chain(jaq_std::defs().filter(|d| !DENIED_DEFINITIONS.contains(&d.name)))
        .chain(jaq_json::defs())
}

/// The library's native functions (see the module docs).
fn library_funs() -> impl Iterator<Item = jaq_core::native::Fun<Data>> {
    jaq_core::funs::<Data>()
        .chain(jaq_std::funs::<Data>().filter(|f| !DENIED_FUNCTIONS.contains(&f.0)))
        .chain(jaq_json::funs::<Data>())
}

fn join(messages: impl Iterator<Item = String>) -> String {
    messages.collect::<Vec<_>>().join("; ")
}

/// 1-based line and column (in characters) of the byte `offset` of `code`.
pub(super) fn line_column(code: &str, offset: usize) -> (usize, usize) {
    let before = code.get(..offset).unwrap_or(code);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The byte offset of `part` in `code`, when `part` is a slice of `code` (jaq reports errors
/// as slices of the program text).
fn offset_of(code: &str, part: &str) -> Option<usize> {
    let start = (part.as_ptr() as usize).checked_sub(code.as_ptr() as usize)?;
    (start + part.len() <= code.len()).then_some(start)
}

/// `line L, column C: ` for a slice of the program, or nothing when it is not one.
fn position(code: &str, part: &str) -> String {
    match offset_of(code, part) {
        Some(offset) => {
            let (line, column) = line_column(code, offset);
            format!("line {line}, column {column}: ")
        }
        None => String::new(),
    }
}

/// What was found where an error occurred: the first token or character, or the end.
fn found(rest: &str) -> String {
    match rest.chars().next() {
        None => "end of program".to_owned(),
        Some(c) => format!("'{c}'"),
    }
}

fn found_token(token: &str) -> String {
    if token.is_empty() {
        "end of program".to_owned()
    } else {
        format!("'{token}'")
    }
}

fn load_error_messages(code: &str, error: &jaq_core::load::Error<&str>) -> Vec<String> {
    use jaq_core::load::Error;
    match error {
        Error::Io(errors) => errors
            .iter()
            .map(|(path, message)| {
                format!(
                    "{}cannot load module '{path}': {message}",
                    position(code, path)
                )
            })
            .collect(),
        Error::Lex(errors) => errors
            .iter()
            .map(|(expect, rest)| lex_message(code, expect, rest))
            .collect(),
        Error::Parse(errors) => errors
            .iter()
            .map(|(expect, token)| parse_message(code, expect, token))
            .collect(),
    }
}

fn lex_message(code: &str, expect: &lex::Expect<&str>, rest: &str) -> String {
    let at = position(code, rest);
    match expect {
        lex::Expect::Delim(open) => {
            let closing = match *open {
                "(" => "')'",
                "[" => "']'",
                "{" => "'}'",
                _ => "'\"'",
            };
            let opened = match offset_of(code, open) {
                Some(offset) => {
                    let (line, column) = line_column(code, offset);
                    format!(" to close the '{open}' at line {line}, column {column}")
                }
                None => String::new(),
            };
            format!("{at}expected {closing}{opened}, found {}", found(rest))
        }
        lex::Expect::Token => format!("{at}unexpected {}", found(rest)),
        lex::Expect::Digit => format!("{at}expected a digit, found {}", found(rest)),
        lex::Expect::Ident => format!("{at}expected an identifier, found {}", found(rest)),
        lex::Expect::Escape => format!("{at}invalid escape sequence in string"),
        lex::Expect::Unicode => {
            format!("{at}expected 4 hexadecimal digits after '\\u' in string")
        }
        other => format!("{at}unexpected input ({other:?})"),
    }
}

fn parse_message(code: &str, expect: &parse::Expect<&str>, token: &str) -> String {
    let expected = match expect {
        parse::Expect::Just(s) => format!("'{s}'"),
        parse::Expect::Term => "a value or filter".to_owned(),
        parse::Expect::Nothing => "nothing more".to_owned(),
        other => other.as_str().to_owned(),
    };
    format!(
        "{}expected {expected}, found {}",
        position(code, token),
        found_token(token)
    )
}

fn undefined_message(code: &str, name: &str, what: &compile::Undefined) -> String {
    let at = position(code, name);
    match what {
        compile::Undefined::Filter(arity) => {
            format!("{at}undefined function '{name}/{arity}'")
        }
        compile::Undefined::Var => format!("{at}undefined variable '{name}'"),
        compile::Undefined::Label => format!("{at}undefined label '{name}'"),
        compile::Undefined::Mod => format!("{at}undefined module '{name}'"),
        other => format!("{at}undefined {} '{name}'", other.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str) -> String {
        Program::compile(code).unwrap_err()
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        assert_eq!(
            error(".value.total = .value.a * * .value.b"),
            "line 1, column 27: expected a value or filter, found '*'"
        );
        assert_eq!(
            error(".value.total = .value.a *"),
            "line 1, column 26: expected a value or filter, found end of program"
        );
        assert_eq!(
            error(".value.total = .value.a\n  + ) .value.c"),
            "line 2, column 5: unexpected ')'"
        );
        assert_eq!(
            error(""),
            "line 1, column 1: expected a value or filter, found end of program"
        );
        assert_eq!(
            error("if .a then 1"),
            "line 1, column 13: expected else or end, found end of program"
        );
    }

    #[test]
    fn unclosed_delimiters_point_at_the_opening() {
        assert_eq!(
            error("[.a, .b"),
            "line 1, column 8: expected ']' to close the '[' at line 1, column 1, found end of program"
        );
        assert_eq!(
            error(".a == \"x"),
            "line 1, column 9: expected '\"' to close the '\"' at line 1, column 7, found end of program"
        );
    }

    #[test]
    fn unknown_names_are_compile_errors() {
        assert_eq!(
            error(".value | foo(1)"),
            "line 1, column 10: undefined function 'foo/1'"
        );
        assert_eq!(
            error(".x = 1 |\n  $y"),
            "line 2, column 3: undefined variable '$y'"
        );
    }

    #[test]
    fn reaching_outside_the_record_is_not_compiled() {
        for (code, message) in [
            ("env", "line 1, column 1: undefined function 'env/0'"),
            ("$ENV", "line 1, column 1: undefined variable '$ENV'"),
            ("halt", "line 1, column 1: undefined function 'halt/0'"),
            (
                "halt_error",
                "line 1, column 1: undefined function 'halt_error/0'",
            ),
            ("debug", "line 1, column 1: undefined function 'debug/0'"),
            ("stderr", "line 1, column 1: undefined function 'stderr/0'"),
            ("input", "line 1, column 1: undefined function 'input/0'"),
            (
                "localtime",
                "line 1, column 1: undefined function 'localtime/0'",
            ),
        ] {
            assert_eq!(error(code), message, "{code}");
        }
    }

    #[test]
    fn several_errors_are_all_reported() {
        assert_eq!(
            error("foo | bar"),
            "line 1, column 1: undefined function 'foo/0'; line 1, column 7: undefined function 'bar/0'"
        );
    }

    #[test]
    fn runs_and_returns_the_first_output() {
        let p = Program::compile("1, 2").unwrap();
        assert_eq!(p.first_output(Val::Null).unwrap(), Some(Val::from(1isize)));
        let p = Program::compile("empty").unwrap();
        assert_eq!(p.first_output(Val::Null).unwrap(), None);
        let p = Program::compile(".a + 1").unwrap();
        let err = p.first_output(Val::from("x".to_owned())).unwrap_err();
        assert_eq!(err, "cannot index \"x\" with \"a\"");
        let p = Program::compile("error(\"bad record\")").unwrap();
        assert_eq!(p.first_output(Val::Null).unwrap_err(), "bad record");
    }

    #[test]
    fn library_calls_take_their_arguments_in_order() {
        let text = |s: &str| Val::from(s.to_owned());
        let call = Builtin::compile("ltrimstr", 1).unwrap();
        assert!(matches!(
            call.call(text("abc"), vec![text("a")]),
            CallOutput::One(v) if v == text("bc")
        ));
        let call = Builtin::compile("test", 2).unwrap();
        assert!(matches!(
            call.call(text("ABC"), vec![text("b"), text("i")]),
            CallOutput::One(Val::Bool(true))
        ));
        assert!(matches!(
            call.call(text("ABC"), vec![text("b"), text("")]),
            CallOutput::One(Val::Bool(false))
        ));
        let call = Builtin::compile("tonumber", 0).unwrap();
        assert!(matches!(call.call(text("1 2"), vec![]), CallOutput::Other));
        assert!(matches!(call.call(text("x"), vec![]), CallOutput::Error(_)));
        assert!(Builtin::compile("no_such_function", 0).is_none());
        assert!(Builtin::compile("env", 0).is_none());
        assert!(Builtin::compile("test", 3).is_none());
    }

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_column("abc", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é.x", 2), (1, 2));
    }
}
