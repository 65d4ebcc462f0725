//! `/connector-plugins/...`, `/admin/loggers/...` and `/`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json;

use super::error::{json_response, ApiError};
use super::loggers::{LoggerError, Loggers};
use super::request::{parse_json, query_bool, query_pairs, query_values, RequestConfig};
use super::RestState;
use crate::herder::validation;

type Answer = Result<Response, ApiError>;

fn ok<T: serde::Serialize>(body: &T) -> Answer {
    Ok(json_response(StatusCode::OK, body))
}

/// `GET /`.
pub async fn root(State(state): State<RestState>) -> Answer {
    ok(&state.herder.server_info())
}

/// `GET /health`.
pub async fn health() -> Answer {
    ok(&serde_json::json!({
        "status": "healthy",
        "message": "Worker has completed startup and is ready to handle requests."
    }))
}

/// `GET /connector-plugins[?connectorsOnly=false]`.
pub async fn list(State(state): State<RestState>, RawQuery(query): RawQuery) -> Answer {
    let pairs = query_pairs(query.as_deref());
    let connectors_only = query_bool(&pairs, "connectorsOnly", true);
    ok(&validation::plugin_infos(
        state.herder.plugins(),
        connectors_only,
    ))
}

/// `GET /connector-plugins/{plugin}/config`.
pub async fn config(State(state): State<RestState>, Path(plugin): Path<String>) -> Answer {
    ok(&validation::plugin_config(state.herder.plugins(), &plugin)?)
}

/// `PUT /connector-plugins/{plugin}/config/validate`.
pub async fn validate(
    State(state): State<RestState>,
    Path(plugin): Path<String>,
    body: Bytes,
) -> Answer {
    let config = RequestConfig::from_json(parse_json(&body)?, "The connector config")?;
    let class = validation::connector_class(&config.map)?;
    validation::check_plugin_path(&plugin, class)?;
    let mut infos = state.herder.validate_connector_config(&config.map).await?;
    validation::add_null_value_errors(&mut infos, &config.nulls);
    ok(&infos)
}

/// `GET /admin/loggers`.
pub async fn loggers(State(state): State<RestState>) -> Answer {
    ok(&state.loggers.all())
}

/// `GET /admin/loggers/{logger}`.
pub async fn logger(State(state): State<RestState>, Path(name): Path<String>) -> Answer {
    match state.loggers.get(&name) {
        Some(level) => ok(&level),
        None => Err(ApiError::not_found(format!("Logger {name} not found."))),
    }
}

/// `PUT /admin/loggers/{logger}[?scope=worker|cluster]` with `{"level": "DEBUG"}`.
pub async fn set_logger(
    State(state): State<RestState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    let level = match parse_json(&body)? {
        Json::Object(mut m) => match m.remove("level") {
            Some(Json::String(l)) => l,
            _ => return Err(missing_level()),
        },
        _ => return Err(missing_level()),
    };
    let pairs = query_pairs(query.as_deref());
    let cluster = query_values(&pairs, "scope")
        .first()
        .is_some_and(|s| s.eq_ignore_ascii_case("cluster"));
    if cluster {
        Loggers::check(&name, &level).map_err(logger_error)?;
        if !state.herder.publish_logger_level(&name, &level).await? {
            state.loggers.set(&name, &level).map_err(logger_error)?;
        }
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    ok(&state.loggers.set(&name, &level).map_err(logger_error)?)
}

/// The answer to a refused level change: an unknown level is 404, as in Kafka Connect.
fn logger_error(e: LoggerError) -> ApiError {
    match e {
        LoggerError::InvalidLevel(_) => ApiError::not_found(e.to_string()),
        LoggerError::InvalidName(_) => ApiError::bad_request(e.to_string()),
        LoggerError::Apply(_) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn missing_level() -> ApiError {
    ApiError::bad_request("Desired 'level' parameter was not specified in request.")
}
