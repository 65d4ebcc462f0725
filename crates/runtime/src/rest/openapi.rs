//! The OpenAPI 3 document of the REST API, served at `GET /openapi.json`.
//!
//! [`document`] builds the whole description with `serde_json`: every path and method of
//! [`super::router`], their parameters, request bodies, and every answer with its status and
//! JSON schema (the shapes of [`crate::herder::entities`] and the `{"error_code", "message"}`
//! error). It is the single source of truth: `docs/openapi.json` is this document written
//! out, and tests check that the file, the router and the document agree.
//!
//! Every operation lists the statuses it answers in normal use and a `default` answer with
//! the error schema, which covers the rarer ones (401 with authentication on, 409 while a
//! distributed group rebalances, 500 when the operation itself fails).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value as Json};

use super::error::{json_response, ApiError};

/// The OpenAPI version the document follows.
pub const OPENAPI_VERSION: &str = "3.0.3";

/// `GET /openapi.json`.
pub async fn serve() -> Result<Response, ApiError> {
    Ok(json_response(StatusCode::OK, &document()))
}

fn schema_ref(name: &str) -> Json {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_content(schema: Json) -> Json {
    json!({ "application/json": { "schema": schema } })
}

/// An answer with a JSON body.
fn answer(description: &str, schema: Json) -> Json {
    json!({ "description": description, "content": json_content(schema) })
}

/// An answer without a body.
fn no_body(description: &str) -> Json {
    json!({ "description": description })
}

/// An error answer.
fn error(description: &str) -> Json {
    answer(description, schema_ref("Error"))
}

fn name_param() -> Json {
    json!({
        "name": "name", "in": "path", "required": true,
        "description": "The connector's name.",
        "schema": { "type": "string", "minLength": 1 }
    })
}

fn task_param() -> Json {
    json!({
        "name": "task", "in": "path", "required": true,
        "description": "The task number (0 for the first task).",
        "schema": { "type": "integer", "minimum": 0, "maximum": 4294967295u64 }
    })
}

fn bool_query(name: &str, description: &str, default: bool) -> Json {
    json!({
        "name": name, "in": "query", "required": false,
        "description": description,
        "schema": { "type": "boolean", "default": default }
    })
}

/// The hop counter of a request one worker forwards to another (see [`super::forward`]).
fn forward_param() -> Json {
    json!({
        "name": "forward", "in": "query", "required": false,
        "description": "Set by a worker of a distributed group that forwards the request to the leader or to the worker running the connector; clients leave it out. Absent, the request may be forwarded twice; true, once more (as false); false, not again: a request that would need it is answered 409.",
        "schema": { "type": "boolean" }
    })
}

fn body(description: &str, schema: Json) -> Json {
    json!({ "description": description, "required": true, "content": json_content(schema) })
}

/// One operation: `responses` maps statuses to answers; `default` is added.
fn operation(
    id: &str,
    tag: &str,
    summary: &str,
    parameters: Vec<Json>,
    request: Option<Json>,
    responses: &[(&str, Json)],
) -> Json {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(id));
    op.insert("tags".into(), json!([tag]));
    op.insert("summary".into(), json!(summary));
    if !parameters.is_empty() {
        op.insert("parameters".into(), Json::Array(parameters));
    }
    if let Some(r) = request {
        op.insert("requestBody".into(), r);
    }
    let mut answers = Map::new();
    for (status, a) in responses {
        answers.insert((*status).to_string(), a.clone());
    }
    answers.insert(
        "default".into(),
        error("Any other error: 401 without valid credentials when basic authentication is on, 409 while the group rebalances, 500 when the operation fails."),
    );
    op.insert("responses".into(), Json::Object(answers));
    Json::Object(op)
}

fn not_found_connector() -> (&'static str, Json) {
    ("404", error("No connector of this name."))
}

fn paths() -> Json {
    let name = name_param;
    let conflict = || {
        ("409", error("The connector is not in a state that allows it (for example, another operation is in progress)."))
    };
    json!({
        "/": {
            "get": operation("serverInfo", "worker", "The worker's version and the log's cluster id.", vec![], None, &[
                ("200", answer("The worker.", schema_ref("ServerInfo"))),
            ])
        },
        "/health": {
            "get": operation("health", "worker", "Whether the worker is ready to serve requests.", vec![], None, &[
                ("200", answer("The worker is ready.", schema_ref("Health"))),
            ])
        },
        "/metrics": {
            "get": operation("metrics", "worker", "The worker, connector and task metrics in Prometheus' text format.", vec![], None, &[
                ("200", json!({
                    "description": "The metrics.",
                    "content": { "text/plain": { "schema": { "type": "string" } } }
                })),
            ])
        },
        "/openapi.json": {
            "get": operation("openapi", "worker", "This document.", vec![], None, &[
                ("200", answer("The OpenAPI document of the API.", json!({ "type": "object" }))),
            ])
        },
        "/connectors": {
            "get": operation("listConnectors", "connectors", "The connectors' names, or with expand their status and/or info by name.", vec![
                json!({
                    "name": "expand", "in": "query", "required": false,
                    "style": "form", "explode": true,
                    "description": "status and/or info (repeat the parameter for both); unknown values are ignored, and any expand gives the object form.",
                    "schema": { "type": "array", "items": { "type": "string", "enum": ["status", "info"] } }
                }),
            ], None, &[
                ("200", answer("Names (without expand) or an object of expanded connectors by name.", json!({
                    "oneOf": [
                        { "type": "array", "items": { "type": "string" } },
                        { "type": "object", "additionalProperties": schema_ref("ExpandedConnector") }
                    ]
                }))),
            ]),
            "post": operation("createConnector", "connectors", "Creates a connector.", vec![forward_param()], Some(body("The connector's name, config and optional initial state.", schema_ref("CreateConnectorRequest"))), &[
                ("201", json!({
                    "description": "Created; Location names the connector.",
                    "headers": { "Location": { "description": "/connectors/{name}", "schema": { "type": "string" } } },
                    "content": json_content(schema_ref("ConnectorInfo"))
                })),
                ("400", error("Malformed JSON, an invalid config (every error listed), a name that disagrees with config.name, or a bad initial_state.")),
                ("409", error("A connector of this name exists.")),
            ])
        },
        "/connectors/{name}": {
            "get": operation("getConnector", "connectors", "A connector's config, tasks and type.", vec![name()], None, &[
                ("200", answer("The connector.", schema_ref("ConnectorInfo"))),
                not_found_connector(),
            ]),
            "delete": operation("deleteConnector", "connectors", "Deletes a connector (its offsets are kept).", vec![name(), forward_param()], None, &[
                ("204", no_body("Deleted.")),
                not_found_connector(),
                conflict(),
            ])
        },
        "/connectors/{name}/config": {
            "get": operation("getConnectorConfig", "connectors", "A connector's config.", vec![name()], None, &[
                ("200", answer("The config.", schema_ref("ConnectorConfig"))),
                not_found_connector(),
            ]),
            "put": operation("putConnectorConfig", "connectors", "Creates a connector or replaces its config; its tasks restart with the new config.", vec![name(), forward_param()], Some(body("The whole config.", schema_ref("ConnectorConfigRequest"))), &[
                ("200", answer("Replaced.", schema_ref("ConnectorInfo"))),
                ("201", json!({
                    "description": "Created; Location names the connector.",
                    "headers": { "Location": { "description": "/connectors/{name}", "schema": { "type": "string" } } },
                    "content": json_content(schema_ref("ConnectorInfo"))
                })),
                ("400", error("Malformed JSON, an invalid config, or a name that disagrees with the path.")),
                conflict(),
            ]),
            "patch": operation("patchConnectorConfig", "connectors", "Changes some keys of a connector's config (null removes a key).", vec![name(), forward_param()], Some(body("The keys to change.", schema_ref("ConnectorConfigRequest"))), &[
                ("200", answer("The new config.", schema_ref("ConnectorInfo"))),
                ("400", error("Malformed JSON or an invalid resulting config.")),
                not_found_connector(),
                conflict(),
            ])
        },
        "/connectors/{name}/status": {
            "get": operation("getConnectorStatus", "connectors", "The state of a connector and its tasks.", vec![name()], None, &[
                ("200", answer("The status.", schema_ref("ConnectorStateInfo"))),
                ("404", error("No status for a connector of this name.")),
            ])
        },
        "/connectors/{name}/tasks": {
            "get": operation("getConnectorTasks", "tasks", "A connector's tasks with their configs.", vec![name()], None, &[
                ("200", answer("The tasks (none while stopped).", json!({ "type": "array", "items": schema_ref("TaskInfo") }))),
                not_found_connector(),
            ])
        },
        "/connectors/{name}/tasks-config": {
            "get": operation("getConnectorTasksConfig", "tasks", "A connector's task configs by task name (<name>-<task>); deprecated in Kafka Connect.", vec![name()], None, &[
                ("200", answer("The task configs.", json!({ "type": "object", "additionalProperties": schema_ref("ConnectorConfig") }))),
                not_found_connector(),
            ])
        },
        "/connectors/{name}/tasks/{task}/status": {
            "get": operation("getTaskStatus", "tasks", "The state of one task.", vec![name(), task_param()], None, &[
                ("200", answer("The task's state.", schema_ref("TaskState"))),
                ("404", error("No such connector or task.")),
            ])
        },
        "/connectors/{name}/tasks/{task}/restart": {
            "post": operation("restartTask", "tasks", "Restarts one task.", vec![name(), task_param(), forward_param()], None, &[
                ("204", no_body("Restarted.")),
                ("404", error("No such connector or task.")),
                conflict(),
            ])
        },
        "/connectors/{name}/restart": {
            "post": operation("restartConnector", "connectors", "Restarts a connector, and with includeTasks its tasks; with onlyFailed only what is FAILED.", vec![
                name(),
                bool_query("includeTasks", "Restart the tasks too.", false),
                bool_query("onlyFailed", "Only restart instances that are FAILED.", false),
                forward_param(),
            ], None, &[
                ("202", answer("The status when the restart began; what restarts shows RESTARTING (answered when includeTasks or onlyFailed is true).", schema_ref("ConnectorStateInfo"))),
                ("204", no_body("The connector restarted (includeTasks and onlyFailed false).")),
                not_found_connector(),
                conflict(),
            ])
        },
        "/connectors/{name}/pause": {
            "put": operation("pauseConnector", "connectors", "Pauses a connector: its tasks keep their place and stop processing.", vec![name()], None, &[
                ("202", no_body("Pausing.")),
                not_found_connector(),
            ])
        },
        "/connectors/{name}/resume": {
            "put": operation("resumeConnector", "connectors", "Resumes a paused or stopped connector.", vec![name()], None, &[
                ("202", no_body("Resuming.")),
                not_found_connector(),
            ])
        },
        "/connectors/{name}/stop": {
            "put": operation("stopConnector", "connectors", "Stops a connector: its tasks shut down, config and offsets are kept.", vec![name(), forward_param()], None, &[
                ("204", no_body("Stopped.")),
                not_found_connector(),
            ])
        },
        "/connectors/{name}/topics": {
            "get": operation("getConnectorTopics", "connectors", "The topics a connector has used since it was created or its topics were reset.", vec![name()], None, &[
                ("200", answer("The active topics by connector name.", schema_ref("ActiveTopics"))),
                ("403", error("Topic tracking is disabled (topic.tracking.enable=false).")),
                not_found_connector(),
            ])
        },
        "/connectors/{name}/topics/reset": {
            "put": operation("resetConnectorTopics", "connectors", "Forgets a connector's active topics.", vec![name()], None, &[
                ("202", no_body("Reset.")),
                ("403", error("Topic tracking or its reset is disabled.")),
                not_found_connector(),
            ])
        },
        "/connectors/{name}/offsets": {
            "get": operation("getConnectorOffsets", "offsets", "A connector's offsets: source offsets or the sink's committed consumer offsets.", vec![name()], None, &[
                ("200", answer("The offsets.", schema_ref("ConnectorOffsets"))),
                not_found_connector(),
            ]),
            "patch": operation("alterConnectorOffsets", "offsets", "Alters the offsets of a STOPPED connector.", vec![name(), forward_param()], Some(body("The partitions and their new offsets (a null offset removes it).", schema_ref("ConnectorOffsetsRequest"))), &[
                ("200", answer("Altered.", schema_ref("Message"))),
                ("400", error("Malformed offsets, no offsets, the connector is not STOPPED, or the connector refuses them.")),
                not_found_connector(),
                conflict(),
            ]),
            "delete": operation("resetConnectorOffsets", "offsets", "Removes the offsets of a STOPPED connector.", vec![name(), forward_param()], None, &[
                ("200", answer("Reset.", schema_ref("Message"))),
                ("400", error("The connector is not STOPPED.")),
                not_found_connector(),
                conflict(),
            ])
        },
        "/connector-plugins": {
            "get": operation("listPlugins", "plugins", "The connector plugins, and with connectorsOnly=false every other plugin.", vec![
                bool_query("connectorsOnly", "Only connectors (false adds converters, transformations and predicates).", true),
            ], None, &[
                ("200", answer("The plugins.", json!({ "type": "array", "items": schema_ref("PluginInfo") }))),
            ])
        },
        "/connector-plugins/{plugin}/config": {
            "get": operation("getPluginConfig", "plugins", "The config keys of a plugin.", vec![
                json!({
                    "name": "plugin", "in": "path", "required": true,
                    "description": "A plugin's class name or alias (FileStreamSink, org.apache.kafka.connect.file.FileStreamSinkConnector, ...).",
                    "schema": { "type": "string", "minLength": 1 },
                    "example": "FileStreamSink"
                }),
            ], None, &[
                ("200", answer("Its keys.", json!({ "type": "array", "items": schema_ref("ConfigKeyInfo") }))),
                ("404", error("No plugin of this name.")),
            ])
        },
        "/connector-plugins/{plugin}/config/validate": {
            "put": operation("validateConfig", "plugins", "Validates a connector config: every key's definition and value with every error.", vec![
                json!({
                    "name": "plugin", "in": "path", "required": true,
                    "description": "The connector's class name or alias; must name the plugin of connector.class.",
                    "schema": { "type": "string", "minLength": 1 },
                    "example": "io.sluice.connect.datagen.DatagenConnector"
                }),
            ], Some(body("The config to validate (connector.class is required).", schema_ref("ConnectorConfigRequest"))), &[
                ("200", answer("The validation, also when the config has errors.", schema_ref("ConfigInfos"))),
                ("400", error("Malformed JSON, no connector.class, or a class that is not the plugin of the path.")),
            ])
        },
        "/admin/loggers": {
            "get": operation("listLoggers", "admin", "The loggers with an explicit level, and root.", vec![], None, &[
                ("200", answer("Levels by logger.", json!({ "type": "object", "additionalProperties": schema_ref("LoggerLevel") }))),
            ])
        },
        "/admin/loggers/{logger}": {
            "get": operation("getLogger", "admin", "One logger's level.", vec![
                json!({
                    "name": "logger", "in": "path", "required": true,
                    "description": "A tracing target (module path like sluice_runtime::sink_task) or root.",
                    "schema": { "type": "string", "minLength": 1 }
                }),
            ], None, &[
                ("200", answer("Its level.", schema_ref("LoggerLevel"))),
                ("404", error("The logger has no level.")),
            ]),
            "put": operation("setLogger", "admin", "Sets a logger's level (and every logger below it).", vec![
                json!({
                    "name": "logger", "in": "path", "required": true,
                    "description": "A tracing target or root.",
                    "schema": { "type": "string", "minLength": 1 }
                }),
                json!({
                    "name": "scope", "in": "query", "required": false,
                    "description": "worker (default): this worker only; cluster: every worker of the cluster (written to the config topic); the answer is then 204.",
                    "schema": { "type": "string" }
                }),
            ], Some(body("The level.", schema_ref("SetLoggerRequest"))), &[
                ("200", answer("The loggers whose level changed.", json!({ "type": "array", "items": { "type": "string" } }))),
                ("204", no_body("Set (scope=cluster).")),
                ("400", error("Malformed JSON, no level, or a logger name that is not a module path.")),
                ("404", error("Not a log level.")),
            ])
        }
    })
}

/// A config of the built-in datagen connector, as request examples.
fn example_config() -> Json {
    json!({
        "connector.class": "io.sluice.connect.datagen.DatagenConnector",
        "kafka.topic": "orders",
        "quickstart": "orders",
        "max.interval": "1000",
        "iterations": "100",
        "tasks.max": "1"
    })
}

/// Adds links from the answers that create a connector to every operation on a connector,
/// so clients (and fuzzers) know where a name comes from.
fn add_links(paths: &mut Json) {
    let mut targets = Vec::new();
    for item in paths.as_object().into_iter().flat_map(|m| m.values()) {
        for op in item.as_object().into_iter().flat_map(|m| m.values()) {
            let takes_name = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "name" && p["in"] == "path"));
            if let (true, Some(id)) = (takes_name, op["operationId"].as_str()) {
                targets.push(id.to_string());
            }
        }
    }
    let links: Map<String, Json> = targets
        .iter()
        .map(|id| {
            (
                id.clone(),
                json!({ "operationId": id, "parameters": { "name": "$response.body#/name" } }),
            )
        })
        .collect();
    for (path, method, status) in [
        ("/connectors", "post", "201"),
        ("/connectors/{name}/config", "put", "201"),
        ("/connectors/{name}/config", "put", "200"),
    ] {
        if let Some(answer) = paths
            .pointer_mut(&format!(
                "/{}/{method}/responses/{status}",
                path.replace('/', "~1")
            ))
            .and_then(Json::as_object_mut)
        {
            answer.insert("links".into(), Json::Object(links.clone()));
        }
    }
}

fn string_map(description: &str) -> Json {
    json!({
        "type": "object",
        "description": description,
        "additionalProperties": { "type": "string" }
    })
}

fn nullable_string() -> Json {
    json!({ "type": "string", "nullable": true })
}

fn schemas() -> Json {
    json!({
        "Error": {
            "type": "object",
            "description": "An error answer; error_code is the HTTP status.",
            "required": ["error_code", "message"],
            "properties": {
                "error_code": { "type": "integer" },
                "message": { "type": "string" }
            }
        },
        "ServerInfo": {
            "type": "object",
            "required": ["version", "commit", "kafka_cluster_id"],
            "properties": {
                "version": { "type": "string", "description": "The Kafka Connect version whose API is served." },
                "commit": { "type": "string", "description": "The Sluice build." },
                "kafka_cluster_id": { "type": "string", "description": "The log's cluster id." }
            }
        },
        "Health": {
            "type": "object",
            "required": ["status", "message"],
            "properties": {
                "status": { "type": "string" },
                "message": { "type": "string" }
            }
        },
        "ConnectorConfig": string_map("A connector config: every value is a string."),
        "ConnectorConfigRequest": {
            "type": "object",
            "description": "A connector config in a request: strings, or numbers and booleans (turned into strings); null removes a key in a PATCH and is an error elsewhere.",
            "example": example_config(),
            "additionalProperties": {
                "nullable": true,
                "oneOf": [{ "type": "string" }, { "type": "number" }, { "type": "boolean" }]
            }
        },
        "CreateConnectorRequest": {
            "type": "object",
            "required": ["name", "config"],
            "example": {
                "name": "datagen-orders",
                "config": example_config(),
                "initial_state": "RUNNING"
            },
            "properties": {
                "name": { "type": "string", "description": "The connector's name." },
                "config": schema_ref("ConnectorConfigRequest"),
                "initial_state": {
                    "type": "string",
                    "enum": ["RUNNING", "PAUSED", "STOPPED"],
                    "description": "The state to create it in (any case); RUNNING when absent."
                }
            }
        },
        "ConnectorType": { "type": "string", "enum": ["source", "sink", "unknown"] },
        "TaskId": {
            "type": "object",
            "required": ["connector", "task"],
            "properties": {
                "connector": { "type": "string" },
                "task": { "type": "integer", "minimum": 0 }
            }
        },
        "ConnectorInfo": {
            "type": "object",
            "required": ["name", "config", "tasks", "type"],
            "properties": {
                "name": { "type": "string" },
                "config": schema_ref("ConnectorConfig"),
                "tasks": { "type": "array", "items": schema_ref("TaskId") },
                "type": schema_ref("ConnectorType")
            }
        },
        "TaskInfo": {
            "type": "object",
            "required": ["id", "config"],
            "properties": {
                "id": schema_ref("TaskId"),
                "config": schema_ref("ConnectorConfig")
            }
        },
        "ConnectorState": {
            "type": "object",
            "required": ["state", "worker_id"],
            "properties": {
                "state": { "type": "string", "enum": ["UNASSIGNED", "RUNNING", "PAUSED", "STOPPED", "FAILED", "RESTARTING"] },
                "worker_id": { "type": "string", "description": "host:port of the worker running it." },
                "trace": { "type": "string", "description": "The error of a FAILED connector." }
            }
        },
        "TaskState": {
            "type": "object",
            "required": ["id", "state", "worker_id"],
            "properties": {
                "id": { "type": "integer", "minimum": 0 },
                "state": { "type": "string", "enum": ["UNASSIGNED", "RUNNING", "PAUSED", "FAILED", "RESTARTING"] },
                "worker_id": { "type": "string" },
                "trace": { "type": "string", "description": "The error of a FAILED task." },
                "restarts": { "type": "integer", "minimum": 1, "description": "Sluice only: automatic restarts in a row; absent when none." },
                "stalled": { "type": "boolean", "description": "Sluice only: true while the task runs but delivers nothing while records wait; absent otherwise." }
            }
        },
        "ConnectorStateInfo": {
            "type": "object",
            "required": ["name", "connector", "tasks", "type"],
            "properties": {
                "name": { "type": "string" },
                "connector": schema_ref("ConnectorState"),
                "tasks": { "type": "array", "items": schema_ref("TaskState") },
                "type": schema_ref("ConnectorType")
            }
        },
        "ExpandedConnector": {
            "type": "object",
            "properties": {
                "status": schema_ref("ConnectorStateInfo"),
                "info": schema_ref("ConnectorInfo")
            }
        },
        "ActiveTopics": {
            "type": "object",
            "description": "One member, the connector's name.",
            "additionalProperties": {
                "type": "object",
                "required": ["topics"],
                "properties": { "topics": { "type": "array", "items": { "type": "string" } } }
            }
        },
        "ConnectorOffsets": {
            "type": "object",
            "required": ["offsets"],
            "properties": {
                "offsets": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["partition", "offset"],
                        "properties": {
                            "partition": { "type": "object", "nullable": true, "description": "A source partition, or {kafka_topic, kafka_partition} for sinks." },
                            "offset": { "type": "object", "nullable": true, "description": "A source offset, or {kafka_offset} for sinks." }
                        }
                    }
                }
            }
        },
        "ConnectorOffsetsRequest": {
            "type": "object",
            "required": ["offsets"],
            "properties": {
                "offsets": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["partition"],
                        "properties": {
                            "partition": { "type": "object", "description": "A source partition, or {kafka_topic, kafka_partition} for sinks." },
                            "offset": { "type": "object", "nullable": true, "description": "The new offset; null removes the partition's offset." }
                        }
                    }
                }
            }
        },
        "Message": {
            "type": "object",
            "required": ["message"],
            "properties": { "message": { "type": "string" } }
        },
        "PluginInfo": {
            "type": "object",
            "required": ["class", "type"],
            "properties": {
                "class": { "type": "string" },
                "type": { "type": "string", "enum": ["source", "sink", "converter", "header_converter", "transformation", "predicate"] },
                "version": { "type": "string" }
            }
        },
        "ConfigKeyInfo": {
            "type": "object",
            "required": ["name", "type", "required", "default_value", "importance", "documentation", "group", "order", "width", "display_name", "dependents"],
            "properties": {
                "name": { "type": "string" },
                "type": { "type": "string", "enum": ["BOOLEAN", "STRING", "INT", "SHORT", "LONG", "DOUBLE", "LIST", "CLASS", "PASSWORD"] },
                "required": { "type": "boolean" },
                "default_value": nullable_string(),
                "importance": { "type": "string", "enum": ["HIGH", "MEDIUM", "LOW"] },
                "documentation": { "type": "string" },
                "group": nullable_string(),
                "order": { "type": "integer" },
                "width": { "type": "string", "enum": ["NONE", "SHORT", "MEDIUM", "LONG"] },
                "display_name": { "type": "string" },
                "dependents": { "type": "array", "items": { "type": "string" } }
            }
        },
        "ConfigValueInfo": {
            "type": "object",
            "required": ["name", "value", "recommended_values", "errors", "visible"],
            "properties": {
                "name": { "type": "string" },
                "value": nullable_string(),
                "recommended_values": { "type": "array", "items": { "type": "string" } },
                "errors": { "type": "array", "items": { "type": "string" } },
                "visible": { "type": "boolean" }
            }
        },
        "ConfigInfo": {
            "type": "object",
            "required": ["definition", "value"],
            "properties": {
                "definition": { "nullable": true, "allOf": [schema_ref("ConfigKeyInfo")] },
                "value": { "nullable": true, "allOf": [schema_ref("ConfigValueInfo")] }
            }
        },
        "ConfigInfos": {
            "type": "object",
            "required": ["name", "error_count", "groups", "configs"],
            "properties": {
                "name": { "type": "string", "description": "connector.class as given." },
                "error_count": { "type": "integer", "minimum": 0 },
                "groups": { "type": "array", "items": { "type": "string" } },
                "configs": { "type": "array", "items": schema_ref("ConfigInfo") }
            }
        },
        "LoggerLevel": {
            "type": "object",
            "required": ["level", "last_modified"],
            "properties": {
                "level": { "type": "string" },
                "last_modified": { "type": "integer", "format": "int64", "nullable": true, "description": "When the level was set through the API (epoch milliseconds); null if never." }
            }
        },
        "SetLoggerRequest": {
            "type": "object",
            "required": ["level"],
            "example": { "level": "INFO" },
            "properties": {
                "level": { "type": "string", "description": "OFF, FATAL, ERROR, WARN, INFO, DEBUG, TRACE or ALL (any case)." }
            }
        }
    })
}

/// The whole OpenAPI document.
pub fn document() -> Json {
    let mut paths = paths();
    add_links(&mut paths);
    json!({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Sluice Kafka Connect REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The Kafka Connect REST API as served by Sluice workers (standalone and distributed). Errors are {\"error_code\": <HTTP status>, \"message\": \"...\"}. A path may end with a slash. With basic authentication on (rest.extension.classes), every request needs HTTP basic credentials."
        },
        "tags": [
            { "name": "worker", "description": "The worker itself." },
            { "name": "connectors", "description": "Connectors: configs, states, restarts, topics." },
            { "name": "tasks", "description": "Tasks of a connector." },
            { "name": "offsets", "description": "Offsets of a connector." },
            { "name": "plugins", "description": "Built-in plugins and config validation." },
            { "name": "admin", "description": "Log levels (served on admin.listeners when set)." }
        ],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "basicAuth": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "Only when the worker turns basic authentication on."
                }
            }
        },
        "security": [{}, { "basicAuth": [] }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` names a schema of the document.
    #[test]
    fn references_resolve() {
        fn walk(v: &Json, refs: &mut Vec<String>) {
            match v {
                Json::Object(m) => {
                    if let Some(Json::String(r)) = m.get("$ref") {
                        refs.push(r.clone());
                    }
                    m.values().for_each(|v| walk(v, refs));
                }
                Json::Array(a) => a.iter().for_each(|v| walk(v, refs)),
                _ => {}
            }
        }
        let doc = document();
        let mut refs = Vec::new();
        walk(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "unresolved {r}"
            );
        }
    }

    /// The entities the herder answers match their schemas' required members.
    #[test]
    fn entities_have_the_required_members() {
        use crate::herder::{
            ConnectorInfo, ConnectorState, ConnectorStateInfo, ConnectorType, TaskId, TaskState,
        };
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let check = |schema: &str, value: Json| {
            let object = value.as_object().unwrap();
            for key in schemas[schema]["required"].as_array().unwrap() {
                assert!(
                    object.contains_key(key.as_str().unwrap()),
                    "{schema}: {key} missing in {value}"
                );
            }
            for key in object.keys() {
                assert!(
                    schemas[schema]["properties"].get(key).is_some(),
                    "{schema}: {key} not documented"
                );
            }
        };
        let info = ConnectorInfo {
            name: "a".into(),
            config: Default::default(),
            tasks: vec![TaskId {
                connector: "a".into(),
                task: 0,
            }],
            kind: ConnectorType::Sink,
        };
        check("ConnectorInfo", serde_json::to_value(&info).unwrap());
        let status = ConnectorStateInfo {
            name: "a".into(),
            connector: ConnectorState {
                state: "FAILED".into(),
                worker_id: "h:1".into(),
                trace: Some("t".into()),
            },
            tasks: vec![TaskState {
                id: 0,
                state: "RUNNING".into(),
                worker_id: "h:1".into(),
                trace: None,
                restarts: 2,
                stalled: true,
            }],
            kind: ConnectorType::Source,
        };
        let status = serde_json::to_value(&status).unwrap();
        check("ConnectorStateInfo", status.clone());
        check("ConnectorState", status["connector"].clone());
        check("TaskState", status["tasks"][0].clone());
    }
}
