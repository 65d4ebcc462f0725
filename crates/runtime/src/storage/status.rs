//! The status topic (`status.storage.topic`): the state of every connector and task, and the
//! topics each connector has used (Kafka's `KafkaStatusBackingStore`).
//!
//! | key | value |
//! |---|---|
//! | `status-connector-<name>` | `{"state":"RUNNING","trace":null,"worker_id":"host:8083","generation":3}` |
//! | `status-task-<name>-<n>` | same shape |
//! | `status-topic-<topic>:connector-<name>` | `{"topic":{"name":..,"connector":..,"task":..,"discoverTimestamp":..}}` |
//!
//! A write is visible once read back from the topic (a [`Follower`] or
//! [`StatusStore::refresh`]), as in Kafka. Reading applies Kafka's rules: a connector's
//! tombstone also forgets its tasks; an `UNASSIGNED` task status is ignored when the task is
//! known `RUNNING` at the same or a later generation (a worker that lost the task reporting
//! late). [`StatusStore::put_connector_safe`] writes only when no other worker of a later
//! generation owns the entry.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Value as Json};
use sluice_log::{ConsumedRecord, Log};

use super::topic::{Follower, RecordSink, TopicLog, TopicRole};
use super::{InternalTopic, StorageError, StoreOptions};
use crate::status::{ConnectorTaskId, State, StatusBoard};
use crate::worker_config::STATUS_STORAGE_TOPIC;

const CONNECTOR_PREFIX: &str = "status-connector-";
const TASK_PREFIX: &str = "status-task-";
const TOPIC_PREFIX: &str = "status-topic-";
const TOPIC_SEPARATOR: &str = ":connector-";

const ROLE: TopicRole = TopicRole {
    key: STATUS_STORAGE_TOPIC,
    purpose: "connector and task statuses",
    client_suffix: "statuses",
};

/// A connector's or task's status as stored: state, error trace, the worker running it and
/// the group generation of the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStatus {
    /// The state.
    pub state: State,
    /// The error trace of a failure.
    pub trace: Option<String>,
    /// `<host>:<port>` of the worker that wrote it.
    pub worker_id: String,
    /// The group generation of the writer.
    pub generation: i32,
}

/// A topic a connector has used (active-topic tracking).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicStatus {
    /// The topic.
    pub topic: String,
    /// The connector.
    pub connector: String,
    /// The task that first used it.
    pub task: i32,
    /// When, in ms since the epoch.
    pub discover_timestamp: i64,
}

fn parse_state(name: &str) -> Option<State> {
    Some(match name {
        "UNASSIGNED" => State::Unassigned,
        "RUNNING" => State::Running,
        "PAUSED" => State::Paused,
        "FAILED" => State::Failed,
        "STOPPED" => State::Stopped,
        "RESTARTING" => State::Restarting,
        _ => return None,
    })
}

fn connector_key(connector: &str) -> String {
    format!("{CONNECTOR_PREFIX}{connector}")
}

fn task_key(id: &ConnectorTaskId) -> String {
    format!("{TASK_PREFIX}{}-{}", id.connector, id.task)
}

fn topic_key(connector: &str, topic: &str) -> String {
    format!("{TOPIC_PREFIX}{topic}{TOPIC_SEPARATOR}{connector}")
}

fn status_value(status: &StoredStatus) -> Vec<u8> {
    json!({
        "state": status.state.as_str(),
        "trace": status.trace,
        "worker_id": status.worker_id,
        "generation": status.generation,
    })
    .to_string()
    .into_bytes()
}

fn topic_value(status: &TopicStatus) -> Vec<u8> {
    json!({
        "topic": {
            "name": status.topic,
            "connector": status.connector,
            "task": status.task,
            "discoverTimestamp": status.discover_timestamp,
        }
    })
    .to_string()
    .into_bytes()
}

fn read_status(bytes: &[u8]) -> Option<StoredStatus> {
    let value: Json = serde_json::from_slice(bytes).ok()?;
    let fields = value.as_object()?;
    Some(StoredStatus {
        state: parse_state(fields.get("state")?.as_str()?)?,
        trace: match fields.get("trace") {
            None | Some(Json::Null) => None,
            Some(t) => Some(t.as_str()?.to_owned()),
        },
        worker_id: fields.get("worker_id")?.as_str()?.to_owned(),
        generation: i32::try_from(fields.get("generation")?.as_i64()?).ok()?,
    })
}

fn read_topic_status(bytes: &[u8]) -> Option<TopicStatus> {
    let value: Json = serde_json::from_slice(bytes).ok()?;
    let fields = value.as_object()?.get("topic")?.as_object()?;
    Some(TopicStatus {
        topic: fields.get("name")?.as_str()?.to_owned(),
        connector: fields.get("connector")?.as_str()?.to_owned(),
        task: i32::try_from(fields.get("task")?.as_i64()?).ok()?,
        discover_timestamp: fields.get("discoverTimestamp")?.as_i64()?,
    })
}

/// `status-task-<connector>-<n>`: the task number follows the last dash.
fn parse_task_key(rest: &str) -> Option<ConnectorTaskId> {
    let (connector, task) = rest.rsplit_once('-')?;
    if connector.is_empty() {
        return None;
    }
    Some(ConnectorTaskId {
        connector: Arc::from(connector),
        task: task.parse().ok()?,
    })
}

#[derive(Default)]
struct StatusState {
    connectors: BTreeMap<String, StoredStatus>,
    tasks: BTreeMap<ConnectorTaskId, StoredStatus>,
    /// Connector → topic → status.
    topics: BTreeMap<String, BTreeMap<String, TopicStatus>>,
    /// This worker's own record of active topics, which forgets a topic when the topic's
    /// status is deleted (see [`StatusStore::forget_deleted_topics_in`]).
    board: Option<StatusBoard>,
}

impl StatusState {
    fn apply(&mut self, record: &ConsumedRecord) {
        let Some(key) = record
            .key
            .as_deref()
            .and_then(|k| std::str::from_utf8(k).ok())
        else {
            tracing::warn!(
                offset = record.offset,
                "Discarding a status record without a UTF-8 key."
            );
            return;
        };
        let value = record.value.as_deref();
        if let Some(connector) = key.strip_prefix(CONNECTOR_PREFIX) {
            self.connector(key, connector, value);
        } else if let Some(rest) = key.strip_prefix(TASK_PREFIX) {
            self.task(key, rest, value);
        } else if let Some(rest) = key.strip_prefix(TOPIC_PREFIX) {
            self.topic(key, rest, value);
        } else {
            tracing::warn!(key, "Discarding a status record with an unknown key.");
        }
    }

    fn connector(&mut self, key: &str, connector: &str, value: Option<&[u8]>) {
        if connector.is_empty() {
            tracing::warn!(
                key,
                "Discarding a connector status without a connector name."
            );
            return;
        }
        let Some(value) = value else {
            self.connectors.remove(connector);
            self.tasks.retain(|id, _| &*id.connector != connector);
            return;
        };
        match read_status(value) {
            Some(status) => {
                self.connectors.insert(connector.to_owned(), status);
            }
            None => tracing::error!(key, "Failed to read a connector status; skipping it."),
        }
    }

    fn task(&mut self, key: &str, rest: &str, value: Option<&[u8]>) {
        let Some(id) = parse_task_key(rest) else {
            tracing::warn!(key, "Discarding a task status with an invalid key.");
            return;
        };
        let Some(value) = value else {
            self.tasks.remove(&id);
            return;
        };
        let Some(status) = read_status(value) else {
            tracing::warn!(key, "Failed to read a task status; skipping it.");
            return;
        };
        // A worker that lost the task in a rebalance may report UNASSIGNED after the new
        // owner reported RUNNING; keep the newer news.
        if let Some(current) = self.tasks.get(&id) {
            if status.state == State::Unassigned
                && current.state == State::Running
                && current.generation >= status.generation
            {
                tracing::trace!(task = %id, "Ignoring a stale UNASSIGNED status.");
                return;
            }
        }
        self.tasks.insert(id, status);
    }

    fn topic(&mut self, key: &str, rest: &str, value: Option<&[u8]>) {
        let parsed = rest
            .split_once(':')
            .and_then(|(topic, tail)| Some((topic, tail.strip_prefix("connector-")?)))
            .filter(|(topic, connector)| !topic.is_empty() && !connector.is_empty());
        let Some((topic, connector)) = parsed else {
            tracing::warn!(key, "Discarding a topic status with an invalid key.");
            return;
        };
        let Some(value) = value else {
            if let Some(topics) = self.topics.get_mut(connector) {
                topics.remove(topic);
            }
            if let Some(topics) = self.board.as_ref().and_then(|b| b.topics_if_any(connector)) {
                topics.forget(topic);
            }
            return;
        };
        match read_topic_status(value) {
            Some(status) => {
                self.topics
                    .entry(connector.to_owned())
                    .or_default()
                    .insert(topic.to_owned(), status);
            }
            None => tracing::warn!(key, "Failed to read a topic status; skipping it."),
        }
    }
}

struct StatusSink {
    state: Mutex<StatusState>,
}

impl StatusSink {
    fn lock(&self) -> MutexGuard<'_, StatusState> {
        // Each record is applied as a whole before the lock is released.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl RecordSink for StatusSink {
    fn consume(&self, records: &[ConsumedRecord]) {
        let mut state = self.lock();
        for record in records {
            state.apply(record);
        }
    }
}

/// Connector, task and topic statuses in the status topic. Clones share one store.
#[derive(Clone)]
pub struct StatusStore {
    log: Arc<TopicLog>,
    sink: Arc<StatusSink>,
}

impl StatusStore {
    /// Opens the store: creates the topic when missing (or checks it) and reads it to the
    /// end.
    pub async fn open(
        log: &dyn Log,
        topic: &InternalTopic,
        options: &StoreOptions,
    ) -> Result<Self, StorageError> {
        let sink = Arc::new(StatusSink {
            state: Mutex::new(StatusState::default()),
        });
        let topic_log = TopicLog::open(log, topic, ROLE, options, sink.clone()).await?;
        let store = StatusStore {
            log: Arc::new(topic_log),
            sink,
        };
        store.log.read_to_end().await?;
        Ok(store)
    }

    /// The status topic.
    pub fn topic(&self) -> &str {
        self.log.topic()
    }

    /// Reads everything written so far.
    pub async fn refresh(&self) -> Result<(), StorageError> {
        self.log.read_to_end().await
    }

    /// Keeps reading in the background; see [`Follower`]. Needs a Tokio runtime.
    pub fn follow(&self, poll_timeout: Duration) -> Follower {
        Follower::spawn(self.log.clone(), poll_timeout)
    }

    async fn write(&self, key: String, value: Option<Vec<u8>>) -> Result<(), StorageError> {
        let operation = format!("writing status '{key}' to the");
        self.log
            .send_and_wait(vec![self.log.record(key, value)], &operation)
            .await
            .map(drop)
    }

    /// Writes a connector's status.
    pub async fn put_connector(
        &self,
        connector: &str,
        status: &StoredStatus,
    ) -> Result<(), StorageError> {
        self.write(connector_key(connector), Some(status_value(status)))
            .await
    }

    /// Writes a connector's status unless the known one was written by another worker at a
    /// later generation. Returns whether it wrote.
    pub async fn put_connector_safe(
        &self,
        connector: &str,
        status: &StoredStatus,
    ) -> Result<bool, StorageError> {
        let current = self.sink.lock().connectors.get(connector).cloned();
        if !can_overwrite(current.as_ref(), status) {
            return Ok(false);
        }
        self.put_connector(connector, status).await.map(|()| true)
    }

    /// Writes a task's status.
    pub async fn put_task(
        &self,
        task: &ConnectorTaskId,
        status: &StoredStatus,
    ) -> Result<(), StorageError> {
        self.write(task_key(task), Some(status_value(status))).await
    }

    /// Writes a task's status unless the known one was written by another worker at a later
    /// generation. Returns whether it wrote.
    pub async fn put_task_safe(
        &self,
        task: &ConnectorTaskId,
        status: &StoredStatus,
    ) -> Result<bool, StorageError> {
        let current = self.sink.lock().tasks.get(task).cloned();
        if !can_overwrite(current.as_ref(), status) {
            return Ok(false);
        }
        self.put_task(task, status).await.map(|()| true)
    }

    /// Deletes a connector's status (a tombstone); readers also forget its tasks.
    pub async fn remove_connector(&self, connector: &str) -> Result<(), StorageError> {
        self.write(connector_key(connector), None).await
    }

    /// Deletes a task's status (a tombstone).
    pub async fn remove_task(&self, task: &ConnectorTaskId) -> Result<(), StorageError> {
        self.write(task_key(task), None).await
    }

    /// Records that a connector used a topic.
    pub async fn put_topic(&self, status: &TopicStatus) -> Result<(), StorageError> {
        self.write(
            topic_key(&status.connector, &status.topic),
            Some(topic_value(status)),
        )
        .await
    }

    /// Forgets that a connector used a topic (a tombstone).
    pub async fn delete_topic(&self, connector: &str, topic: &str) -> Result<(), StorageError> {
        self.write(topic_key(connector, topic), None).await
    }

    /// Forgets every topic a connector is known to have used (Kafka's reset of a
    /// connector's active topics): reads the topic to the end, then writes a tombstone for
    /// each, in one batch.
    pub async fn delete_topics(&self, connector: &str) -> Result<(), StorageError> {
        self.refresh().await?;
        let records: Vec<_> = self
            .topics(connector)
            .iter()
            .map(|t| self.log.record(topic_key(connector, &t.topic), None))
            .collect();
        if records.is_empty() {
            return Ok(());
        }
        let operation = format!("deleting the active topics of connector '{connector}' from the");
        self.log.send_and_wait(records, &operation).await.map(drop)
    }

    /// From now on, a topic status deleted in the status topic (by any worker's reset) is
    /// also forgotten in `board`, so this worker's tasks record the topic again when they
    /// next use it, as Kafka Connect's tasks do.
    pub fn forget_deleted_topics_in(&self, board: StatusBoard) {
        self.sink.lock().board = Some(board);
    }

    /// A connector's status.
    pub fn connector(&self, connector: &str) -> Option<StoredStatus> {
        self.sink.lock().connectors.get(connector).cloned()
    }

    /// A task's status.
    pub fn task(&self, task: &ConnectorTaskId) -> Option<StoredStatus> {
        self.sink.lock().tasks.get(task).cloned()
    }

    /// A connector's task statuses by task number.
    pub fn tasks(&self, connector: &str) -> Vec<(u32, StoredStatus)> {
        self.sink
            .lock()
            .tasks
            .iter()
            .filter(|(id, _)| &*id.connector == connector)
            .map(|(id, s)| (id.task, s.clone()))
            .collect()
    }

    /// Names of connectors with a status, sorted.
    pub fn connectors(&self) -> Vec<String> {
        self.sink.lock().connectors.keys().cloned().collect()
    }

    /// Whether a connector is known to have used a topic.
    pub fn topic_status(&self, connector: &str, topic: &str) -> Option<TopicStatus> {
        self.sink
            .lock()
            .topics
            .get(connector)
            .and_then(|t| t.get(topic))
            .cloned()
    }

    /// The topics a connector has used, sorted by name.
    pub fn topics(&self, connector: &str) -> Vec<TopicStatus> {
        self.sink
            .lock()
            .topics
            .get(connector)
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default()
    }
}

/// Kafka's "probably safe" overwrite: nothing known, the same worker, or a generation at
/// least as new.
fn can_overwrite(current: Option<&StoredStatus>, new: &StoredStatus) -> bool {
    current.is_none_or(|c| c.worker_id == new.worker_id || c.generation <= new.generation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use sluice_log::TimestampType;

    fn status(state: State, worker: &str, generation: i32) -> StoredStatus {
        StoredStatus {
            state,
            trace: None,
            worker_id: worker.into(),
            generation,
        }
    }

    fn record(key: &str, value: Option<&[u8]>) -> ConsumedRecord {
        ConsumedRecord {
            topic: Arc::from("connect-status"),
            partition: 0,
            offset: 0,
            timestamp: 0,
            timestamp_type: TimestampType::CreateTime,
            key: Some(Bytes::copy_from_slice(key.as_bytes())),
            value: value.map(Bytes::copy_from_slice),
            headers: Vec::new(),
        }
    }

    fn id(connector: &str, task: u32) -> ConnectorTaskId {
        ConnectorTaskId {
            connector: Arc::from(connector),
            task,
        }
    }

    #[test]
    fn values_are_kafka_json() {
        assert_eq!(
            String::from_utf8(status_value(&status(State::Running, "host:8083", 3))).unwrap(),
            r#"{"state":"RUNNING","trace":null,"worker_id":"host:8083","generation":3}"#
        );
        let failed = StoredStatus {
            trace: Some("java.lang.RuntimeException: boom\n\tat x".into()),
            ..status(State::Failed, "w:1", 0)
        };
        assert_eq!(
            String::from_utf8(status_value(&failed)).unwrap(),
            r#"{"state":"FAILED","trace":"java.lang.RuntimeException: boom\n\tat x","worker_id":"w:1","generation":0}"#
        );
        let topic = TopicStatus {
            topic: "orders".into(),
            connector: "sink-1".into(),
            task: 2,
            discover_timestamp: 1_700_000_000_123,
        };
        assert_eq!(
            String::from_utf8(topic_value(&topic)).unwrap(),
            r#"{"topic":{"name":"orders","connector":"sink-1","task":2,"discoverTimestamp":1700000000123}}"#
        );
        assert_eq!(
            topic_key("sink-1", "orders"),
            "status-topic-orders:connector-sink-1"
        );
        assert_eq!(task_key(&id("my-conn", 4)), "status-task-my-conn-4");
        assert_eq!(connector_key("my-conn"), "status-connector-my-conn");
        assert_eq!(read_status(&status_value(&failed)), Some(failed));
        assert_eq!(read_topic_status(&topic_value(&topic)), Some(topic));
    }

    #[test]
    fn invalid_keys_and_values_are_discarded() {
        let mut s = StatusState::default();
        let good = status_value(&status(State::Running, "w", 1));
        for key in [
            "status-unknown",
            "status-connector-",
            "status-task-",
            "status-task-foo-#",
            "status-topic-",
            "status-topic-:connector-",
            "status-topic-foo:",
            "status-topic-foo:connector-",
        ] {
            s.apply(&record(key, Some(&good)));
        }
        for key in [
            "status-connector-c",
            "status-task-c-0",
            "status-topic-t:connector-c",
        ] {
            s.apply(&record(key, Some(b"invalid")));
        }
        assert!(s.connectors.is_empty() && s.tasks.is_empty() && s.topics.is_empty());
    }

    #[test]
    fn tombstones_and_stale_unassigned() {
        let mut s = StatusState::default();
        let running = status_value(&status(State::Running, "w1", 5));
        s.apply(&record("status-connector-my-conn", Some(&running)));
        s.apply(&record("status-task-my-conn-0", Some(&running)));
        s.apply(&record("status-task-my-conn-1", Some(&running)));
        s.apply(&record("status-task-other-0", Some(&running)));
        // A late UNASSIGNED of the same generation from the old owner is ignored...
        s.apply(&record(
            "status-task-my-conn-0",
            Some(&status_value(&status(State::Unassigned, "w2", 5))),
        ));
        assert_eq!(s.tasks[&id("my-conn", 0)].state, State::Running);
        // ...one of a newer generation is not.
        s.apply(&record(
            "status-task-my-conn-0",
            Some(&status_value(&status(State::Unassigned, "w2", 6))),
        ));
        assert_eq!(s.tasks[&id("my-conn", 0)].state, State::Unassigned);
        s.apply(&record("status-task-my-conn-1", None));
        assert!(!s.tasks.contains_key(&id("my-conn", 1)));
        // The connector's tombstone takes its tasks with it.
        s.apply(&record("status-connector-my-conn", None));
        assert!(s.connectors.is_empty());
        assert_eq!(s.tasks.keys().collect::<Vec<_>>(), vec![&id("other", 0)]);
    }

    #[test]
    fn safe_overwrite_rule() {
        let mine = status(State::Running, "w1", 3);
        assert!(can_overwrite(None, &mine));
        assert!(can_overwrite(Some(&status(State::Failed, "w1", 9)), &mine));
        assert!(can_overwrite(Some(&status(State::Running, "w2", 3)), &mine));
        assert!(!can_overwrite(
            Some(&status(State::Running, "w2", 4)),
            &mine
        ));
    }
}
