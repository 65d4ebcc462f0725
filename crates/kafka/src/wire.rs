//! The one request librdkafka's bindings do not offer here: OffsetDelete (removing some
//! committed offsets of a group). It is sent to the group's coordinator over the Kafka
//! protocol connection of [`crate::group::connection`], with the client's
//! `security.protocol`, `ssl.*` and `sasl.*` settings (admin settings over common ones), so it
//! reaches every cluster the librdkafka clients reach (TLS, SASL PLAIN and SCRAM).

use std::time::Duration;

use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::{GroupId, OffsetDeleteRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use sluice_api::config::ConfigMap;
use sluice_log::{LogError, LogResult, TopicPartition};

use crate::group::connection::Connection;
use crate::group::{GroupError, GroupSasl, GroupTls, SecurityProtocol};
use crate::KafkaConfig;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The client id of these requests.
const CLIENT_ID: &str = "sluice-admin";

/// Text of a Kafka error code.
fn code_text(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        Some(e) => format!("{e:?}"),
        None => format!("error code {code}"),
    }
}

/// A connection failure as a log error: refusals (TLS, SASL), a broker without the request
/// and bad settings are final, the rest may pass.
fn log_error(e: GroupError) -> LogError {
    match e {
        GroupError::Config { key, message } => LogError::InvalidConfig { key, message },
        e @ GroupError::UnsupportedVersion { .. } => LogError::Remote(e.to_string()),
        e if e.is_fatal() => LogError::Remote(e.to_string()),
        e => LogError::Unavailable(e.to_string()),
    }
}

/// Removes the committed offsets of `partitions` from `group`.
pub(crate) async fn delete_offsets(
    config: &KafkaConfig,
    group: &str,
    partitions: &[TopicPartition],
) -> LogResult<()> {
    let settings: ConfigMap = config
        .common
        .iter()
        .chain(&config.admin)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let security = SecurityProtocol::of(&settings).map_err(log_error)?;
    let tls = match security.tls {
        true => Some(GroupTls::from_worker_config(&settings).map_err(log_error)?),
        false => None,
    };
    let sasl = match security.sasl {
        true => Some(GroupSasl::from_worker_config(&settings).map_err(log_error)?),
        false => None,
    };
    let servers = crate::group::split_servers(&config.bootstrap_servers);
    if servers.is_empty() {
        return Err(LogError::Unavailable(
            "bootstrap.servers names no server".to_string(),
        ));
    }
    let coordinator = Connection::find_coordinator(
        &servers,
        group,
        CLIENT_ID,
        TIMEOUT,
        tls.as_ref(),
        sasl.as_ref(),
    )
    .await
    .map_err(log_error)?;
    delete_offsets_at(&coordinator, group, partitions).await
}

/// Sends OffsetDelete to the group's coordinator.
async fn delete_offsets_at(
    coordinator: &Connection,
    group: &str,
    partitions: &[TopicPartition],
) -> LogResult<()> {
    let mut topics: Vec<OffsetDeleteRequestTopic> = Vec::new();
    for tp in partitions {
        let partition = OffsetDeleteRequestPartition::default().with_partition_index(tp.partition);
        match topics.iter_mut().find(|t| t.name.0.as_str() == &*tp.topic) {
            Some(t) => t.partitions.push(partition),
            None => topics.push(
                OffsetDeleteRequestTopic::default()
                    .with_name(TopicName(StrBytes::from_string(tp.topic.to_string())))
                    .with_partitions(vec![partition]),
            ),
        }
    }
    let request = OffsetDeleteRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_topics(topics);
    let version = coordinator
        .version::<OffsetDeleteRequest>(0)
        .map_err(log_error)?;
    let response = coordinator
        .send(&request, version)
        .await
        .map_err(log_error)?;
    let doing = format!("deleting committed offsets of group '{group}'");
    match ResponseError::try_from_code(response.error_code) {
        None => {}
        Some(ResponseError::GroupIdNotFound) => {
            return Err(LogError::UnknownGroup {
                group: group.to_string(),
            })
        }
        Some(ResponseError::NonEmptyGroup) => {
            return Err(LogError::GroupNotEmpty {
                group: group.to_string(),
            })
        }
        Some(e) => return Err(LogError::Remote(format!("{doing}: {e:?}"))),
    }
    for topic in &response.topics {
        for p in &topic.partitions {
            if p.error_code != 0 {
                return Err(LogError::Remote(format!(
                    "{doing}: {}-{}: {}",
                    topic.name.0.as_str(),
                    p.partition_index,
                    code_text(p.error_code)
                )));
            }
        }
    }
    Ok(())
}
