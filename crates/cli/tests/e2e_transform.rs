//! `sluice transform` end to end with the built binary: records in and out as JSON Lines,
//! schemaless and with `--schemas`, dropped records, the error path and bad configs.

mod common;

use std::process::Output;

use common::*;

fn stdout_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `sluice transform --config <file> [extra]` on `input`.
fn transform(s: &Scratch, config_name: &str, config: &str, extra: &[&str], input: &str) -> Output {
    let path = s.write(config_name, config);
    let path = path.display().to_string();
    let mut args = vec!["transform", "--config", path.as_str()];
    args.extend_from_slice(extra);
    s.run_with_stdin(&args, input)
}

const CHAIN: &str = r#"{"name": "try-it", "config": {
  "connector.class": "FileStreamSink",
  "topics": "ignored",
  "transforms": "dropTests,hoist,meta,cast",
  "transforms.dropTests.type": "org.apache.kafka.connect.transforms.Filter",
  "transforms.dropTests.predicate": "isTest",
  "transforms.hoist.type": "HoistField$Value",
  "transforms.hoist.field": "amount",
  "transforms.meta.type": "InsertField$Value",
  "transforms.meta.topic.field": "from",
  "transforms.meta.static.field": "origin",
  "transforms.meta.static.value": "shop",
  "transforms.cast.type": "Cast$Value",
  "transforms.cast.spec": "amount:string",
  "predicates": "isTest",
  "predicates.isTest.type": "TopicNameMatches",
  "predicates.isTest.pattern": "test-.*"
}}"#;

#[test]
fn schemaless_records_go_through_the_chain_and_dropped_ones_print_nothing() {
    let s = Scratch::new();
    let input = [
        r#"{"topic": "orders", "partition": 3, "key": "k1", "value": 12, "timestamp": 1700000000000, "headers": [{"key": "h", "value": {"a": [1, 2]}}]}"#,
        r#"{"topic": "test-orders", "value": 13}"#,
        "",
        r#"{"topic": "orders", "value": 14.5}"#,
    ]
    .join("\n");
    let out = transform(&s, "chain.json", CHAIN, &[], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout_lines(&out),
        [
            r#"{"topic":"orders","partition":3,"key":"k1","value":{"amount":"12","from":"orders","origin":"shop"},"timestamp":1700000000000,"headers":[{"key":"h","value":{"a":[1,2]}}]}"#,
            r#"{"topic":"orders","partition":null,"key":null,"value":{"amount":"14.5","from":"orders","origin":"shop"},"timestamp":null,"headers":[]}"#,
        ]
    );
}

#[test]
fn with_schemas_key_and_value_are_envelopes_and_nulls_stay_null() {
    let s = Scratch::new();
    let config = r#"{
      "transforms": "cast",
      "transforms.cast.type": "org.apache.kafka.connect.transforms.Cast$Value",
      "transforms.cast.spec": "age:int64"
    }"#;
    let value = r#"{"schema": {"type": "struct", "name": "person", "optional": false, "fields": [
        {"field": "age", "type": "int32", "optional": false},
        {"field": "nick", "type": "string", "optional": true, "default": "none"}]},
      "payload": {"age": 42, "nick": null}}"#
        .replace('\n', " ");
    let key = r#"{"schema": {"type": "string", "optional": false}, "payload": "p1"}"#;
    let input = format!(
        "{{\"topic\": \"people\", \"key\": {key}, \"value\": {value}}}\n{{\"topic\": \"people\", \"value\": null}}\n"
    );
    let expected = |nick: &str| {
        [
            format!(
                r#"{{"topic":"people","partition":null,"key":{{"schema":{{"type":"string","optional":false}},"payload":"p1"}},"value":{{"schema":{{"type":"struct","fields":[{{"type":"int64","optional":false,"field":"age"}},{{"type":"string","optional":true,"default":"none","field":"nick"}}],"optional":false,"name":"person"}},"payload":{{"age":42,"nick":{nick}}}}},"timestamp":null,"headers":[]}}"#
            ),
            r#"{"topic":"people","partition":null,"key":null,"value":null,"timestamp":null,"headers":[]}"#
                .to_string(),
        ]
    };
    // The null `nick` reaches Cast as null; Cast's own replace.null.with.default (true by
    // default, as in Kafka) writes the field's default when it copies the field ...
    let out = transform(&s, "cast.json", config, &["--schemas"], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout_lines(&out), expected(r#""none""#));
    // ... and with it set to false the null stays null.
    let config = config.replace(
        r#""transforms.cast.spec": "age:int64""#,
        r#""transforms.cast.spec": "age:int64", "transforms.cast.replace.null.with.default": "false""#,
    );
    let out = transform(&s, "cast.json", &config, &["--schemas"], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout_lines(&out), expected("null"));
}

#[test]
fn a_failing_transformation_names_alias_and_record_after_printing_the_records_before() {
    let s = Scratch::new();
    let config = "transforms=pick\n\
                  transforms.pick.type=ExtractField$Value\n\
                  transforms.pick.field=id\n";
    let input = "{\"topic\": \"t\", \"value\": {\"id\": 1}}\n\
                 {\"topic\": \"t\", \"value\": \"not a map\"}\n\
                 {\"topic\": \"t\", \"value\": {\"id\": 3}}\n";
    let out = transform(&s, "pick.properties", config, &[], input);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout_lines(&out),
        [r#"{"topic":"t","partition":null,"key":null,"value":1,"timestamp":null,"headers":[]}"#]
    );
    let err = stderr(&out);
    assert!(
        err.contains(
            "line 2: transformation 'pick' (org.apache.kafka.connect.transforms.ExtractField$Value) failed: \
             Only Map objects supported in absence of schema for [field extraction], found: java.lang.String"
        ),
        "{err}"
    );
    assert!(
        err.contains(r#"record: {"topic": "t", "value": "not a map"}"#),
        "{err}"
    );
}

#[test]
fn bad_configs_are_reported_key_by_key() {
    let s = Scratch::new();
    let config = r#"{
      "transforms": "unknown,noField,cast,calc",
      "transforms.unknown.type": "NoSuchTransform",
      "transforms.noField.type": "ExtractField$Key",
      "transforms.cast.type": "Cast$Value",
      "transforms.cast.spec": "age:int33",
      "transforms.calc.type": "Expression",
      "transforms.calc.expression": ".value.total = (.value.a *",
      "predicates": "bad",
      "predicates.bad.type": "TopicNameMatches",
      "predicates.bad.pattern": "(unclosed"
    }"#;
    let out = transform(&s, "bad.json", config, &[], "");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    for expected in [
        "invalid transformation config in",
        "(5 errors)",
        "transforms.unknown.type: Invalid value NoSuchTransform for configuration transforms.unknown.type: Class NoSuchTransform could not be found.",
        "transforms.noField.field: Missing required configuration \"transforms.noField.field\" which has no default value.",
        "transforms.cast.spec: Invalid value age:int33 for configuration transforms.cast.spec:",
        "predicates.bad.pattern: Invalid value (unclosed for configuration predicates.bad.pattern: Invalid regex",
        "transforms.calc.expression: line 1, column 27:",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
}

#[test]
fn bad_input_lines_name_the_line() {
    let s = Scratch::new();
    let config = r#"{"transforms": ""}"#;
    for (input, expected) in [
        ("{\"topic\": \"t\"}\nnot json\n", "line 2: invalid JSON"),
        (
            "{\"topic\": \"t\", \"vaule\": 1}\n",
            "line 1: unknown field 'vaule'",
        ),
        (
            "{\"partition\": \"zero\"}\n",
            "line 1: 'partition' must be an integer or null, found a string",
        ),
        (
            "{\"headers\": [{\"key\": 1}]}\n",
            "line 1: headers[0] must be an object",
        ),
    ] {
        let out = transform(&s, "none.json", config, &[], input);
        assert_eq!(out.status.code(), Some(1), "{input}");
        assert!(stderr(&out).contains(expected), "{input}: {}", stderr(&out));
    }
    // --schemas wants envelopes.
    let out = transform(
        &s,
        "none.json",
        config,
        &["--schemas"],
        "{\"value\": {\"id\": 1}}\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("with --schemas, 'value' must be null or an envelope"),
        "{}",
        stderr(&out)
    );
    // No transformations: records come out as they went in, with every field.
    let out = transform(
        &s,
        "none.json",
        config,
        &[],
        "{\"topic\": \"t\", \"offset\": 5, \"value\": [true, null]}\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout_lines(&out),
        [
            r#"{"topic":"t","partition":null,"key":null,"value":[true,null],"timestamp":null,"headers":[]}"#
        ]
    );
}

#[test]
fn missing_config_file_and_help() {
    let s = Scratch::new();
    let out = s.run_with_stdin(&["transform", "--config", "nope.json"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope.json"), "{}", stderr(&out));

    let out = s.run(&["transform", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "--schemas",
        "--config",
        "JSON Lines",
        "Example",
        "transforms.route.type",
    ] {
        assert!(
            help.contains(expected),
            "missing {expected:?} in help:\n{help}"
        );
    }
}
