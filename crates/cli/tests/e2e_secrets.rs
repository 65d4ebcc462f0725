//! End to end: connector configs take values from config providers (`file`, `env`,
//! `directory`) when connectors and tasks start, and the resolved secrets never reach the data
//! directory, the offsets file, REST answers or the logs.

mod common;
mod rest_support;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::json;

const SECRET: &str = "hunter2-7f3a9c-never-store-me";
const DIR_SECRET: &str = "token-b81d-never-store-me";

/// Every file below `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path)
            .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .unwrap_or(false)
        {
            found.push(path.display().to_string());
        }
    }
    found
}

#[test]
fn provider_placeholders_work_and_secrets_stay_out_of_storage_rest_and_logs() {
    let s = Scratch::new();
    let input = s.path("in.txt");
    append_numbered(&input, 1, 200);
    let secrets = s.write(
        "secrets.properties",
        &format!("source.file={}\npassword={SECRET}\n", input.display()),
    );
    std::fs::create_dir(s.path("secrets.d")).unwrap();
    std::fs::write(s.path("secrets.d").join("token"), DIR_SECRET).unwrap();
    std::env::set_var("SLUICE_E2E_SINK_TOPIC", "lines");

    let providers = "config.providers=file,env,dir\n\
         config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n\
         config.providers.env.class=EnvVarConfigProvider\n\
         config.providers.env.param.allowlist.pattern=SLUICE_E2E_.*\n\
         config.providers.dir.class=DirectoryConfigProvider";
    let worker = rest_support::start(&s, providers, &[]);

    let source = json!({"name": "src", "config": {
        "connector.class": "FileStreamSource",
        "file": format!("${{file:{}:source.file}}", secrets.display()),
        "topic": "${env:SLUICE_E2E_SINK_TOPIC}",
        "db.password": format!("${{file:{}:password}}", secrets.display()),
        "api.token": format!("${{dir:{}:token}}", s.path("secrets.d").display()),
    }});
    let (code, body) = worker.send("POST", "/connectors", &source);
    assert_eq!(code, 201, "{body}");
    let sink = json!({"name": "dst", "config": {
        "connector.class": "FileStreamSink",
        "file": s.path("out.txt").display().to_string(),
        "topics": "lines",
        "db.password": format!("${{file:{}:password}}", secrets.display()),
    }});
    let (code, body) = worker.send("POST", "/connectors", &sink);
    assert_eq!(code, 201, "{body}");

    // The placeholders resolved: the source read the file named in the secrets file and
    // wrote to the topic named by the environment.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while line_count(&s.path("out.txt")) < numbered(1, 200).len() {
        assert!(
            std::time::Instant::now() < deadline,
            "lines were not copied; worker log:\n{}",
            s.read_log("worker.log")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(lines(&s.path("out.txt")), numbered(1, 200));

    // REST answers show placeholders, never the values.
    let mut answers = String::new();
    for path in [
        "/connectors?expand=info&expand=status",
        "/connectors/src",
        "/connectors/src/config",
        "/connectors/src/tasks",
        "/connectors/src/tasks-config",
        "/connectors/dst/config",
        "/connectors/dst/tasks",
        "/connectors/src/status",
    ] {
        let (code, body) = worker.call("GET", path, None);
        assert_eq!(code, 200, "{path}: {body}");
        answers.push_str(&body.to_string());
    }
    assert!(
        answers.contains("${file:"),
        "placeholders are shown: {answers}"
    );
    assert!(!answers.contains(SECRET), "a REST answer holds the secret");
    assert!(
        !answers.contains(DIR_SECRET),
        "a REST answer holds the secret"
    );

    worker.stop();

    for secret in [SECRET, DIR_SECRET] {
        assert_eq!(
            files_containing(&s.path("data"), secret),
            Vec::<String>::new(),
            "the data directory holds a secret"
        );
        assert!(
            !std::fs::read_to_string(s.path("connect.offsets"))
                .unwrap_or_default()
                .contains(secret),
            "the offsets file holds a secret"
        );
        assert!(
            !s.read_log("worker.log").contains(secret),
            "the log holds a secret"
        );
    }
}

#[test]
fn unresolvable_placeholders_are_config_errors_naming_the_key() {
    let s = Scratch::new();
    let worker = s.worker(
        "config.providers=file\nconfig.providers.file.class=FileConfigProvider\nlisteners=http://127.0.0.1:0",
    );
    let connector = s.write(
        "source.properties",
        "name=src\nconnector.class=FileStreamSource\nfile=${file:/nonexistent/x.properties:path}\n\
         topic=${vault:secret/db:topic}\nbatch.size=${file:/tmp\n",
    );
    let out = s.run(&[
        "standalone",
        worker.to_str().unwrap(),
        connector.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("file: config provider 'file' cannot read"),
        "{stderr}"
    );
    assert!(
        stderr.contains("topic: the placeholder refers to config provider 'vault'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("batch.size: malformed placeholder"),
        "{stderr}"
    );
}
