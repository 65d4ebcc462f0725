//! Reading and changing a connector's offsets for the REST API (Kafka's KIP-875).
//!
//! Source offsets live in the worker's [`OffsetStore`] under `["<connector>",{partition}]`;
//! sink offsets are the committed offsets of the connector's consumer group on the log.
//! Offsets given by a user are checked with Kafka's messages, shown to the connector
//! (`alter_offsets`, which may refuse them), and then written. Changing offsets needs the
//! connector STOPPED; the herder checks that before calling in here.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};
use sluice_api::config::ConfigMap;
use sluice_api::connector::ConnectorFactory;
use sluice_api::{OffsetMap, TopicPartition};
use sluice_log::{LogAdmin, LogError};

use super::entities::{ConnectorOffset, ConnectorOffsets, Message};
use super::{HerderError, HerderResult};
use crate::connector_config::{ConnectorConfig, ConnectorKind};
use crate::offsets::{codec, OffsetStore, OffsetWrite};
use crate::worker::Worker;

/// Sink partition key: the topic.
const KAFKA_TOPIC: &str = "kafka_topic";
/// Sink partition key: the partition number.
const KAFKA_PARTITION: &str = "kafka_partition";
/// Sink offset key: the next offset to read.
const KAFKA_OFFSET: &str = "kafka_offset";

/// The 400 message for changing offsets of a connector that is not stopped.
pub fn not_stopped_message(name: &str) -> String {
    format!(
        "Connectors must be in the STOPPED state before their offsets can be modified. This can \
         be done for the specified connector by issuing a 'PUT' request to the \
         '/connectors/{name}/stop' endpoint"
    )
}

/// The consumer group of a sink connector: `consumer.override.group.id`, else the worker's
/// `consumer.group.id`, else `connect-<name>` (as the worker's sink tasks use).
pub fn sink_group(
    name: &str,
    config: &ConfigMap,
    worker_consumer: &BTreeMap<String, String>,
) -> String {
    config
        .get("consumer.override.group.id")
        .or_else(|| worker_consumer.get("group.id"))
        .cloned()
        .unwrap_or_else(|| format!("connect-{name}"))
}

/// Every stored source offset of a connector, sorted by partition key.
pub fn source_offsets(store: &dyn OffsetStore, connector: &str) -> ConnectorOffsets {
    let mut entries = store.entries();
    entries.sort();
    let offsets = entries
        .into_iter()
        .filter_map(|(key, value)| {
            let Ok(Json::Array(items)) = serde_json::from_slice::<Json>(&key) else {
                return None;
            };
            let [Json::String(name), Json::Object(partition)] =
                <[Json; 2]>::try_from(items).ok()?
            else {
                return None;
            };
            if name != connector {
                return None;
            }
            let Ok(Json::Object(offset)) = serde_json::from_slice::<Json>(&value) else {
                return None;
            };
            Some(ConnectorOffset {
                partition: Some(partition),
                offset: Some(offset),
            })
        })
        .collect();
    ConnectorOffsets { offsets }
}

/// The committed offsets of a sink connector's consumer group (none when the group has
/// never committed).
pub async fn sink_offsets(
    admin: &dyn LogAdmin,
    name: &str,
    group: &str,
) -> HerderResult<ConnectorOffsets> {
    let committed = match admin.group_offsets(group).await {
        Ok(c) => c,
        Err(LogError::UnknownGroup { .. }) => Vec::new(),
        Err(e) => {
            return Err(HerderError::Internal(format!(
                "Failed to retrieve consumer group offsets for sink connector {name}: {e}"
            )))
        }
    };
    let mut offsets: Vec<ConnectorOffset> = committed
        .into_iter()
        .map(|(tp, offset)| {
            let mut partition = Map::new();
            partition.insert(KAFKA_TOPIC.into(), Json::String(tp.topic.to_string()));
            partition.insert(KAFKA_PARTITION.into(), Json::from(tp.partition));
            let mut o = Map::new();
            o.insert(KAFKA_OFFSET.into(), Json::from(offset));
            ConnectorOffset {
                partition: Some(partition),
                offset: Some(o),
            }
        })
        .collect();
    offsets.sort_by(|a, b| {
        let key = |o: &ConnectorOffset| {
            o.partition
                .as_ref()
                .map(|p| (p[KAFKA_TOPIC].to_string(), p[KAFKA_PARTITION].as_i64()))
        };
        key(a).cmp(&key(b))
    });
    Ok(ConnectorOffsets { offsets })
}

fn require_entries(offsets: &ConnectorOffsets) -> HerderResult<()> {
    if offsets.offsets.is_empty() {
        return Err(HerderError::BadRequest(
            "Partitions / offsets need to be provided for an alter offsets request".into(),
        ));
    }
    Ok(())
}

/// An integer given as a JSON number or a numeric string.
fn integer(value: &Json) -> Option<i64> {
    match value {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Checks sink offsets as Kafka does; `None` resets (deletes) a partition's offset.
pub fn parse_sink_offsets(
    offsets: &ConnectorOffsets,
) -> HerderResult<Vec<(TopicPartition, Option<i64>)>> {
    require_entries(offsets)?;
    let bad = |m: &str| Err(HerderError::BadRequest(m.to_string()));
    let mut out = Vec::with_capacity(offsets.offsets.len());
    for entry in &offsets.offsets {
        let Some(partition) = &entry.partition else {
            return bad("The partition for a sink connector offset cannot be null or missing");
        };
        let (Some(topic), Some(number)) =
            (partition.get(KAFKA_TOPIC), partition.get(KAFKA_PARTITION))
        else {
            return bad(
                "The partition for a sink connector offset must contain the keys 'kafka_topic' and 'kafka_partition'",
            );
        };
        let Json::String(topic) = topic else {
            return bad("Kafka topic names must be valid strings and may not be null");
        };
        if number.is_null() {
            return bad("Kafka partitions must be valid numbers and may not be null");
        }
        let Some(number) = integer(number).and_then(|n| i32::try_from(n).ok()) else {
            return Err(HerderError::BadRequest(format!(
                "Failed to parse the following Kafka partition value in the provided offsets: '{}'. \
                 Partition values for sink connectors need to be integers.",
                text(number)
            )));
        };
        let offset = match &entry.offset {
            None => None,
            Some(o) => {
                let Some(value) = o.get(KAFKA_OFFSET) else {
                    return bad(
                        "The offset for a sink connector should either be null or contain the key 'kafka_offset'",
                    );
                };
                if value.is_null() {
                    return bad("Kafka offsets must be valid numbers and may not be null");
                }
                match integer(value) {
                    Some(n) if n >= 0 => Some(n),
                    _ => {
                        return Err(HerderError::BadRequest(format!(
                            "Failed to parse the following Kafka offset value in the provided offsets: '{}'. \
                             Offset values for sink connectors need to be integers.",
                            text(value)
                        )))
                    }
                }
            }
        };
        out.push((TopicPartition::new(topic.as_str(), number), offset));
    }
    Ok(out)
}

fn check_primitives(map: &Map<String, Json>) -> HerderResult<()> {
    for (k, v) in map {
        let kind = match v {
            Json::Object(_) => "a JSON object",
            Json::Array(_) => "a JSON array",
            _ => continue,
        };
        return Err(HerderError::BadRequest(format!(
            "Offsets may only contain primitive types as values, but field {k} contains {kind}"
        )));
    }
    Ok(())
}

/// Checks source offsets (string keys, primitive values) and reads them as Kafka does
/// (JSON integers become 64-bit); `None` resets a partition.
pub fn parse_source_offsets(
    offsets: &ConnectorOffsets,
) -> HerderResult<Vec<(OffsetMap, Option<OffsetMap>)>> {
    require_entries(offsets)?;
    let mut out = Vec::with_capacity(offsets.offsets.len());
    for entry in &offsets.offsets {
        let Some(partition) = &entry.partition else {
            return Err(HerderError::BadRequest(
                "Source partitions may not be null".into(),
            ));
        };
        check_primitives(partition)?;
        let offset = match &entry.offset {
            Some(o) => {
                check_primitives(o)?;
                Some(codec::offset_map_from_json(o))
            }
            None => None,
        };
        out.push((codec::offset_map_from_json(partition), offset));
    }
    Ok(out)
}

/// The success message; `framework_only` when the connector said it may keep offsets of
/// its own elsewhere.
fn success(altered: bool, framework_only: bool) -> Message {
    let verb = if altered { "altered" } else { "reset" };
    let message = if framework_only {
        format!(
            "The Connect framework-managed offsets for this connector have been {verb} \
             successfully. However, if this connector manages offsets externally, they will \
             need to be manually {verb} in the system that the connector uses."
        )
    } else {
        format!("The offsets for this connector have been {verb} successfully")
    };
    Message { message }
}

fn connector_refused(name: &str, e: sluice_api::ConnectError) -> HerderError {
    HerderError::BadRequest(format!("Failed to alter offsets for connector {name}: {e}"))
}

/// Shows source offsets to the connector and writes them (a `None` offset as a tombstone).
pub async fn write_source_offsets(
    store: &Arc<dyn OffsetStore>,
    config: &ConnectorConfig,
    offsets: Vec<(OffsetMap, Option<OffsetMap>)>,
    altered: bool,
) -> HerderResult<Message> {
    let ConnectorFactory::Source(make) = config.plugin.factory else {
        return Err(HerderError::Internal(format!(
            "connector {} is not a source connector",
            config.name
        )));
    };
    let own = make()
        .alter_offsets(&config.originals, &offsets)
        .map_err(|e| connector_refused(&config.name, e))?;
    let writes: Vec<OffsetWrite> = offsets
        .iter()
        .map(|(partition, offset)| {
            (
                codec::offset_key(&config.name, partition),
                offset.as_ref().map(codec::offset_value),
            )
        })
        .collect();
    store.set(writes).await.map_err(|e| {
        HerderError::Internal(format!(
            "Failed to write offsets for connector {}: {e}",
            config.name
        ))
    })?;
    Ok(success(altered, !own))
}

/// Every stored source partition of a connector, for a reset.
pub fn source_partitions(
    store: &dyn OffsetStore,
    connector: &str,
) -> Vec<(OffsetMap, Option<OffsetMap>)> {
    source_offsets(store, connector)
        .offsets
        .into_iter()
        .filter_map(|o| Some((codec::offset_map_from_json(&o.partition?), None)))
        .collect()
}

fn group_busy(name: &str) -> HerderError {
    HerderError::Internal(format!(
        "Failed to alter consumer group offsets for connector {name} either because its tasks \
         haven't stopped completely yet or the connector was resumed before the request to \
         alter its offsets could be successfully completed. If the connector is in a stopped \
         state, this operation can be safely retried. If it doesn't eventually succeed, the \
         Connect cluster may need to be restarted to get rid of the zombie sink tasks."
    ))
}

fn group_error(name: &str, e: LogError) -> HerderError {
    match e {
        LogError::GroupNotEmpty { .. } => group_busy(name),
        other => HerderError::Internal(format!(
            "Failed to alter consumer group offsets for connector {name}: {other}"
        )),
    }
}

/// Shows sink offsets to the connector, then commits the given ones and deletes the reset
/// ones in its consumer group.
pub async fn write_sink_offsets(
    admin: &dyn LogAdmin,
    config: &ConnectorConfig,
    group: &str,
    offsets: Vec<(TopicPartition, Option<i64>)>,
) -> HerderResult<Message> {
    let ConnectorFactory::Sink(make) = config.plugin.factory else {
        return Err(HerderError::Internal(format!(
            "connector {} is not a sink connector",
            config.name
        )));
    };
    let own = make()
        .alter_offsets(&config.originals, &offsets)
        .map_err(|e| connector_refused(&config.name, e))?;
    let set: Vec<(TopicPartition, i64)> = offsets
        .iter()
        .filter_map(|(tp, o)| o.map(|o| (tp.clone(), o)))
        .collect();
    let delete: Vec<TopicPartition> = offsets
        .iter()
        .filter(|(_, o)| o.is_none())
        .map(|(tp, _)| tp.clone())
        .collect();
    if !set.is_empty() {
        admin
            .alter_group_offsets(group, &set)
            .await
            .map_err(|e| group_error(&config.name, e))?;
    }
    if !delete.is_empty() {
        match admin.delete_group_offsets(group, &delete).await {
            Ok(()) | Err(LogError::UnknownGroup { .. }) => {}
            Err(e) => return Err(group_error(&config.name, e)),
        }
    }
    Ok(success(true, !own))
}

/// Removes a sink connector's consumer group (a missing group counts as done).
pub async fn reset_sink_offsets(
    admin: &dyn LogAdmin,
    config: &ConnectorConfig,
    group: &str,
) -> HerderResult<Message> {
    let ConnectorFactory::Sink(make) = config.plugin.factory else {
        return Err(HerderError::Internal(format!(
            "connector {} is not a sink connector",
            config.name
        )));
    };
    let current = match admin.group_offsets(group).await {
        Ok(c) => c,
        Err(LogError::UnknownGroup { .. }) => Vec::new(),
        Err(e) => return Err(group_error(&config.name, e)),
    };
    let resets: Vec<(TopicPartition, Option<i64>)> =
        current.into_iter().map(|(tp, _)| (tp, None)).collect();
    let own = make()
        .alter_offsets(&config.originals, &resets)
        .map_err(|e| connector_refused(&config.name, e))?;
    admin
        .delete_group(group)
        .await
        .map_err(|e| group_error(&config.name, e))?;
    Ok(success(false, !own))
}

/// The sink group of a connector on `worker` (its override or `connect-<name>`).
fn worker_sink_group(worker: &Worker, parsed: &ConnectorConfig) -> String {
    sink_group(&parsed.name, &parsed.originals, &worker.config().consumer)
}

/// The offset store of a source connector on `worker`: its own offsets topic
/// (`offsets.storage.topic`) in front of the worker's store, or the worker's store.
async fn source_store(
    worker: &Worker,
    parsed: &ConnectorConfig,
) -> HerderResult<Arc<dyn OffsetStore>> {
    worker.source_offset_store(parsed).await.map_err(|e| {
        HerderError::Internal(format!(
            "Failed to read the offsets of connector {}: {e}",
            parsed.name
        ))
    })
}

/// `GET /connectors/{name}/offsets` for a connector running on `worker`: source offsets from
/// its offset store ([`Worker::source_offset_store`]), sink offsets from its consumer group.
pub async fn read_offsets(
    worker: &Worker,
    parsed: &ConnectorConfig,
) -> HerderResult<ConnectorOffsets> {
    match parsed.kind {
        ConnectorKind::Source => {
            let store = source_store(worker, parsed).await?;
            Ok(source_offsets(store.as_ref(), &parsed.name))
        }
        ConnectorKind::Sink => {
            let admin = worker.log().admin();
            sink_offsets(
                admin.as_ref(),
                &parsed.name,
                &worker_sink_group(worker, parsed),
            )
            .await
        }
    }
}

/// `PATCH /connectors/{name}/offsets` for a stopped connector on `worker`.
pub async fn alter_offsets(
    worker: &Worker,
    parsed: &ConnectorConfig,
    given: &ConnectorOffsets,
) -> HerderResult<Message> {
    match parsed.kind {
        ConnectorKind::Source => {
            let changes = parse_source_offsets(given)?;
            let store = source_store(worker, parsed).await?;
            write_source_offsets(&store, parsed, changes, true).await
        }
        ConnectorKind::Sink => {
            let changes = parse_sink_offsets(given)?;
            let admin = worker.log().admin();
            let group = worker_sink_group(worker, parsed);
            write_sink_offsets(admin.as_ref(), parsed, &group, changes).await
        }
    }
}

/// `DELETE /connectors/{name}/offsets` for a stopped connector on `worker`.
pub async fn reset_offsets(worker: &Worker, parsed: &ConnectorConfig) -> HerderResult<Message> {
    match parsed.kind {
        ConnectorKind::Source => {
            let store = source_store(worker, parsed).await?;
            let resets = source_partitions(store.as_ref(), &parsed.name);
            write_source_offsets(&store, parsed, resets, false).await
        }
        ConnectorKind::Sink => {
            let admin = worker.log().admin();
            let group = worker_sink_group(worker, parsed);
            reset_sink_offsets(admin.as_ref(), parsed, &group).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(json: &str) -> ConnectorOffsets {
        serde_json::from_str(json).unwrap()
    }

    fn bad(r: HerderResult<impl std::fmt::Debug>) -> String {
        match r {
            Err(HerderError::BadRequest(m)) => m,
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn sink_offsets_accept_numbers_and_numeric_strings() {
        let parsed = parse_sink_offsets(&offsets(
            r#"{"offsets":[{"partition":{"kafka_topic":"t","kafka_partition":"1"},"offset":{"kafka_offset":"10"}},
                           {"partition":{"kafka_topic":"t","kafka_partition":0},"offset":null}]}"#,
        ))
        .unwrap();
        assert_eq!(
            parsed,
            vec![
                (TopicPartition::new("t", 1), Some(10)),
                (TopicPartition::new("t", 0), None)
            ]
        );
    }

    #[test]
    fn sink_offsets_are_checked_with_kafka_messages() {
        let cases = [
            (r#"{"offsets":[]}"#, "Partitions / offsets need to be provided for an alter offsets request"),
            (r#"{}"#, "Partitions / offsets need to be provided for an alter offsets request"),
            (r#"{"offsets":[{"offset":{"kafka_offset":1}}]}"#, "The partition for a sink connector offset cannot be null or missing"),
            (r#"{"offsets":[{"partition":{"kafka_topic":"t"},"offset":null}]}"#, "The partition for a sink connector offset must contain the keys 'kafka_topic' and 'kafka_partition'"),
            (r#"{"offsets":[{"partition":{"kafka_topic":null,"kafka_partition":0}}]}"#, "Kafka topic names must be valid strings and may not be null"),
            (r#"{"offsets":[{"partition":{"kafka_topic":"t","kafka_partition":null}}]}"#, "Kafka partitions must be valid numbers and may not be null"),
            (r#"{"offsets":[{"partition":{"kafka_topic":"t","kafka_partition":0},"offset":{"x":1}}]}"#, "The offset for a sink connector should either be null or contain the key 'kafka_offset'"),
            (r#"{"offsets":[{"partition":{"kafka_topic":"t","kafka_partition":0},"offset":{"kafka_offset":null}}]}"#, "Kafka offsets must be valid numbers and may not be null"),
        ];
        for (json, message) in cases {
            assert_eq!(bad(parse_sink_offsets(&offsets(json))), message, "{json}");
        }
        let m = bad(parse_sink_offsets(&offsets(
            r#"{"offsets":[{"partition":{"kafka_topic":"t","kafka_partition":"x"}}]}"#,
        )));
        assert!(
            m.starts_with(
                "Failed to parse the following Kafka partition value in the provided offsets: 'x'."
            ),
            "{m}"
        );
    }

    #[test]
    fn source_offsets_must_be_flat_and_read_integers_as_longs() {
        let parsed = parse_source_offsets(&offsets(
            r#"{"offsets":[{"partition":{"filename":"/tmp/a"},"offset":{"position":30}},{"partition":{"filename":"/tmp/b"},"offset":null}]}"#,
        ))
        .unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(
            parsed[0].1.as_ref().unwrap().get("position"),
            Some(&sluice_api::data::Value::Int64(30))
        );
        assert!(parsed[1].1.is_none());
        assert_eq!(
            bad(parse_source_offsets(&offsets(
                r#"{"offsets":[{"partition":{"f":"a"},"offset":{"position":[1]}}]}"#
            ))),
            "Offsets may only contain primitive types as values, but field position contains a JSON array"
        );
    }

    #[test]
    fn sink_group_prefers_the_override() {
        let mut config = ConfigMap::new();
        let worker = BTreeMap::new();
        assert_eq!(sink_group("s", &config, &worker), "connect-s");
        config.insert("consumer.override.group.id".into(), "g".into());
        assert_eq!(sink_group("s", &config, &worker), "g");
    }

    #[test]
    fn success_messages_follow_kafka() {
        assert_eq!(
            success(true, false).message,
            "The offsets for this connector have been altered successfully"
        );
        assert_eq!(
            success(false, false).message,
            "The offsets for this connector have been reset successfully"
        );
        assert!(success(false, true)
            .message
            .starts_with("The Connect framework-managed offsets for this connector have been reset successfully."));
    }
}
