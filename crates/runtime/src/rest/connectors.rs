//! `/connectors/...`: connector configs, states, tasks, restarts, target states, active
//! topics and offsets.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as Json};

use super::error::{json_response, ApiError};
use super::request::{
    parse_entity, parse_json, query_bool, query_pairs, query_values, CreateRequest, RequestConfig,
};
use super::RestState;
use crate::herder::{validation, ConnectorInfo, ConnectorOffsets, Created, RestartRequest};
use crate::status::TargetState;

type Answer = Result<Response, ApiError>;

fn ok<T: serde::Serialize>(body: &T) -> Answer {
    Ok(json_response(StatusCode::OK, body))
}

fn empty(status: StatusCode) -> Answer {
    Ok(status.into_response())
}

/// Characters kept as they are in a path segment (RFC 3986 unreserved and sub-delims).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A created (201 with `Location`) or updated (200) connector.
fn created(answer: Created<ConnectorInfo>) -> Answer {
    if !answer.created {
        return ok(&answer.value);
    }
    let mut response = json_response(StatusCode::CREATED, &answer.value);
    let location = format!("/connectors/{}", encode_segment(&answer.value.name));
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// A config with null values is invalid: answered like any invalid config, every error
/// listed.
async fn reject_nulls(state: &RestState, config: &RequestConfig) -> Result<(), ApiError> {
    if config.nulls.is_empty() {
        return Ok(());
    }
    let mut infos = state.herder.validate_connector_config(&config.map).await?;
    validation::add_null_value_errors(&mut infos, &config.nulls);
    Err(ApiError::bad_request(validation::invalid_config_message(
        &infos,
    )))
}

/// `GET /connectors[?expand=status&expand=info]`.
pub async fn list(State(state): State<RestState>, RawQuery(query): RawQuery) -> Answer {
    let pairs = query_pairs(query.as_deref());
    let names = state.herder.connectors().await;
    let expand = query_values(&pairs, "expand");
    if !pairs.iter().any(|(k, _)| k == "expand") {
        return ok(&names);
    }
    let mut out = Map::new();
    'connectors: for name in names {
        let mut expansions = Map::new();
        for e in &expand {
            let value = match *e {
                "status" => match state.herder.connector_status(&name).await {
                    Ok(s) => serde_json::to_value(s),
                    Err(_) => continue 'connectors,
                },
                "info" => match state.herder.connector_info(&name).await {
                    Ok(i) => serde_json::to_value(i),
                    Err(_) => continue 'connectors,
                },
                other => {
                    tracing::debug!(expansion = other, "Ignoring an unknown expansion.");
                    continue;
                }
            };
            let value = value
                .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            expansions.insert((*e).to_string(), value);
        }
        out.insert(name, Json::Object(expansions));
    }
    ok(&out)
}

fn target_state(initial: Option<&str>) -> Result<Option<TargetState>, ApiError> {
    match initial {
        None => Ok(None),
        Some("RUNNING") => Ok(Some(TargetState::Started)),
        Some("PAUSED") => Ok(Some(TargetState::Paused)),
        Some("STOPPED") => Ok(Some(TargetState::Stopped)),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid initial state: {other}. Valid states are RUNNING, PAUSED and STOPPED."
        ))),
    }
}

/// `POST /connectors`.
pub async fn create(State(state): State<RestState>, body: Bytes) -> Answer {
    let request = CreateRequest::parse(&body)?;
    let initial = target_state(request.initial_state.as_deref())?;
    let mut config = request.config;
    match config.map.get(crate::connector_config::NAME) {
        Some(n) if *n != request.name => {
            return Err(ApiError::bad_request(format!(
                "Connector name configuration ({n}) doesn't match connector name in the URL ({})",
                request.name
            )))
        }
        Some(_) => {}
        None => {
            config
                .map
                .insert(crate::connector_config::NAME.into(), request.name.clone());
        }
    }
    reject_nulls(&state, &config).await?;
    let answer = state
        .herder
        .put_connector_config(&request.name, config.map, false, initial)
        .await?;
    created(answer)
}

/// `GET /connectors/{name}`.
pub async fn info(State(state): State<RestState>, Path(name): Path<String>) -> Answer {
    ok(&state.herder.connector_info(&name).await?)
}

/// `DELETE /connectors/{name}`.
pub async fn delete(State(state): State<RestState>, Path(name): Path<String>) -> Answer {
    state.herder.delete_connector(&name).await?;
    empty(StatusCode::NO_CONTENT)
}

/// `GET /connectors/{name}/config`.
pub async fn get_config(State(state): State<RestState>, Path(name): Path<String>) -> Answer {
    ok(&state.herder.connector_config(&name).await?)
}

/// `PUT /connectors/{name}/config`.
pub async fn put_config(
    State(state): State<RestState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Answer {
    let config = RequestConfig::from_json(parse_json(&body)?, "The connector config")?;
    reject_nulls(&state, &config).await?;
    let answer = state
        .herder
        .put_connector_config(&name, config.map, true, None)
        .await?;
    created(answer)
}

/// `PATCH /connectors/{name}/config`.
pub async fn patch_config(
    State(state): State<RestState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Answer {
    let patch = RequestConfig::from_json(parse_json(&body)?, "The config patch")?.into_patch();
    ok(&state.herder.patch_connector_config(&name, patch).await?)
}

/// `GET /connectors/{name}/status`.
pub async fn status(State(state): State<RestState>, Path(name): Path<String>) -> Answer {
    ok(&state.herder.connector_status(&name).await?)
}

/// `GET /connectors/{name}/tasks`.
pub async fn tasks(State(state): State<RestState>, Path(name): Path<String>) -> Answer {
    ok(&state.herder.task_configs(&name).await?)
}

/// `GET /connectors/{name}/tasks-config` (deprecated in Kafka).
pub async fn tasks_config(State(state): State<RestState>, Path(name): Path<String>) -> Answer {
    let tasks = state.herder.task_configs(&name).await?;
    let out: BTreeMap<String, _> = tasks
        .into_iter()
        .map(|t| (format!("{}-{}", t.id.connector, t.id.task), t.config))
        .collect();
    ok(&out)
}

/// A task number from the path; anything else is an unknown path, as in Kafka.
fn task_number(task: &str) -> Result<u32, ApiError> {
    task.parse()
        .map_err(|_| ApiError::not_found("HTTP 404 Not Found"))
}

/// `GET /connectors/{name}/tasks/{task}/status`.
pub async fn task_status(
    State(state): State<RestState>,
    Path((name, task)): Path<(String, String)>,
) -> Answer {
    let task = task_number(&task)?;
    ok(&state.herder.task_status(&name, task).await?)
}

/// `POST /connectors/{name}/tasks/{task}/restart`.
pub async fn restart_task(
    State(state): State<RestState>,
    Path((name, task)): Path<(String, String)>,
) -> Answer {
    let task = task_number(&task)?;
    state.herder.restart_task(&name, task).await?;
    empty(StatusCode::NO_CONTENT)
}

/// `POST /connectors/{name}/restart[?includeTasks=..&onlyFailed=..]`.
pub async fn restart(
    State(state): State<RestState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let pairs = query_pairs(query.as_deref());
    let request = RestartRequest {
        include_tasks: query_bool(&pairs, "includeTasks", false),
        only_failed: query_bool(&pairs, "onlyFailed", false),
    };
    match state.herder.restart_connector(&name, request).await? {
        Some(status) => Ok(json_response(StatusCode::ACCEPTED, &status)),
        None => empty(StatusCode::NO_CONTENT),
    }
}

/// `PUT /connectors/{name}/pause`.
pub async fn pause(State(state): State<RestState>, Path(name): Path<String>) -> Answer {
    state.herder.pause_connector(&name).await?;
    empty(StatusCode::ACCEPTED)
}

/// `PUT /connectors/{name}/resume`.
pub async fn resume(State(state): State<RestState>, Path(name): Path<String>) -> Answer {
    state.herder.resume_connector(&name).await?;
    empty(StatusCode::ACCEPTED)
}

/// `PUT /connectors/{name}/stop`.
pub async fn stop(State(state): State<RestState>, Path(name): Path<String>) -> Answer {
    state.herder.stop_connector(&name).await?;
    empty(StatusCode::NO_CONTENT)
}

/// `GET /connectors/{name}/topics`.
pub async fn topics(State(state): State<RestState>, Path(name): Path<String>) -> Answer {
    let topics = state.herder.active_topics(&name).await?;
    let mut inner = Map::new();
    inner.insert("topics".into(), Json::from(topics));
    let mut out = Map::new();
    out.insert(name, Json::Object(inner));
    ok(&out)
}

/// `PUT /connectors/{name}/topics/reset`.
pub async fn reset_topics(State(state): State<RestState>, Path(name): Path<String>) -> Answer {
    state.herder.reset_active_topics(&name).await?;
    empty(StatusCode::ACCEPTED)
}

/// `GET /connectors/{name}/offsets`.
pub async fn offsets(State(state): State<RestState>, Path(name): Path<String>) -> Answer {
    ok(&state.herder.connector_offsets(&name).await?)
}

/// `PATCH /connectors/{name}/offsets`.
pub async fn alter_offsets(
    State(state): State<RestState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Answer {
    parse_json(&body)?;
    let offsets: ConnectorOffsets = parse_entity(&body)?;
    if offsets.offsets.is_empty() {
        return Err(ApiError::bad_request(
            "Partitions / offsets need to be provided for an alter offsets request",
        ));
    }
    ok(&state.herder.alter_connector_offsets(&name, offsets).await?)
}

/// `DELETE /connectors/{name}/offsets`.
pub async fn reset_offsets(State(state): State<RestState>, Path(name): Path<String>) -> Answer {
    ok(&state.herder.reset_connector_offsets(&name).await?)
}
