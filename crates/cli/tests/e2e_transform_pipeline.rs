//! End to end: FileStreamSource → topic → FileStreamSink with transformation chains on both
//! sides, run by the real binary.
//!
//! The `lines` source is configured to write `raw-lines`; its chain routes the records to
//! `lines`, wraps each line in a struct and adds its (new) topic and a fixed origin. A second
//! source writes `noise`. The sink reads both topics, drops `noise` with Filter gated by
//! TopicNameMatches, and adds each record's offset (only sink records have one). The output
//! file is checked record by record.

mod common;

use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn transformation_chains_run_on_source_and_sink_sides() {
    let s = Scratch::new();
    let lines_in = s.path("lines.txt");
    let noise_in = s.path("noise.txt");
    let output = s.path("out.txt");
    const N: usize = 2_000;
    append_numbered(&lines_in, 0, N);
    std::fs::write(&noise_in, "noise-1\nnoise-2\nnoise-3\n").unwrap();
    let worker = s.worker("").display().to_string();
    let json_values = "value.converter=org.apache.kafka.connect.json.JsonConverter\n";
    let lines_source = s.write(
        "lines.properties",
        &format!(
            "name=lines-in\nconnector.class=FileStreamSource\nfile={}\ntopic=raw-lines\n{json_values}\
             transforms=route,wrap,tag\n\
             transforms.route.type=RegexRouter\n\
             transforms.route.regex=raw-(.*)\n\
             transforms.route.replacement=$1\n\
             transforms.wrap.type=org.apache.kafka.connect.transforms.HoistField$Value\n\
             transforms.wrap.field=line\n\
             transforms.tag.type=InsertField$Value\n\
             transforms.tag.topic.field=topic\n\
             transforms.tag.static.field=origin\n\
             transforms.tag.static.value=file\n",
            lines_in.display()
        ),
    );
    let noise_source = s.write(
        "noise.properties",
        &format!(
            "name=noise-in\nconnector.class=FileStreamSource\nfile={}\ntopic=noise\n{json_values}",
            noise_in.display()
        ),
    );
    let sink = s.write(
        "sink.json",
        &format!(
            r#"{{"name": "out", "config": {{
              "connector.class": "FileStreamSink",
              "file": "{}",
              "topics": "noise,lines",
              "value.converter": "org.apache.kafka.connect.json.JsonConverter",
              "transforms": "dropNoise,offset",
              "transforms.dropNoise.type": "Filter",
              "transforms.dropNoise.predicate": "isNoise",
              "transforms.offset.type": "org.apache.kafka.connect.transforms.InsertField$Value",
              "transforms.offset.offset.field": "off",
              "predicates": "isNoise",
              "predicates.isNoise.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
              "predicates.isNoise.pattern": "noi.e"
            }}}}"#,
            output.display()
        ),
    );
    let args = [
        "standalone".to_string(),
        worker,
        lines_source.display().to_string(),
        noise_source.display().to_string(),
        sink.display().to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut proc = s.spawn(&args, "run.log");
    wait_until("every line in the output", LIMIT, || {
        line_count(&output) >= N
    });
    // Give a noise record that slipped through the chance to show up.
    std::thread::sleep(Duration::from_millis(1000));
    signal(&proc, "TERM");
    let status = wait_exit(&mut proc, Duration::from_secs(60));
    assert!(status.success(), "{status:?}\n{}", s.read_log("run.log"));

    let expected: Vec<String> = numbered(0, N)
        .into_iter()
        .enumerate()
        .map(|(i, line)| format!("Struct{{line={line},topic=lines,origin=file,off={i}}}"))
        .collect();
    assert_eq!(lines(&output), expected, "{}", s.read_log("run.log"));
}
