//! Connectors and their tasks.
//!
//! A [`SourceConnector`] or [`SinkConnector`] validates its config, splits the work into at
//! most `tasks.max` task configs and creates tasks; the runtime runs each task as one async
//! task.
//!
//! Delivery is at-least-once: the runtime commits a source task's offsets only for records
//! the log has acknowledged, and a sink task's consumer offsets only after the task has
//! flushed what it was given (through [`SinkTask::pre_commit`]). A task that crashes is
//! restarted from the last committed offsets, so it may see some records again.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{ConfigDef, ConfigMap, ConfigValueReport};
use crate::error::{ConnectError, Result};
use crate::record::{OffsetMap, SinkRecord, SourceRecord, TopicPartition};

/// Lets a connector talk back to the runtime.
pub trait ConnectorContext: Send + Sync {
    /// Asks the runtime to fetch new task configs (e.g. the set of tables changed).
    fn request_task_reconfiguration(&self);
    /// Reports an unrecoverable error raised outside a lifecycle call; the connector fails.
    fn raise_error(&self, error: ConnectError);
}

/// Behaviour shared by source and sink connectors.
#[async_trait]
pub trait Connector: Send {
    /// The connector's version, shown by `GET /connector-plugins`.
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    /// The connector's own keys (the runtime adds the common connector keys).
    fn config_def(&self) -> ConfigDef;

    /// Validates a full connector config. The default checks the declared keys.
    fn validate(&self, config: &ConfigMap) -> Vec<ConfigValueReport> {
        self.config_def().validate(config)
    }

    /// Starts the connector with its (validated) config. Called once before `task_configs`.
    async fn start(&mut self, config: &ConfigMap, context: Arc<dyn ConnectorContext>)
        -> Result<()>;

    /// Splits the work into at most `max_tasks` task configs.
    fn task_configs(&self, max_tasks: usize) -> Result<Vec<ConfigMap>>;

    /// Stops the connector; tasks are stopped separately by the runtime.
    async fn stop(&mut self) -> Result<()>;
}

/// Whether a source connector can give exactly-once delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExactlyOnceSupport {
    /// Records and offsets can be committed atomically.
    Supported,
    /// The connector cannot guarantee it.
    Unsupported,
}

/// Whether a source connector can say where its transactions end
/// (`transaction.boundary=connector`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorTransactionBoundaries {
    /// Its tasks use the [`TransactionContext`] to commit or abort transactions.
    Supported,
    /// Its tasks do not define transaction boundaries.
    Unsupported,
}

/// A connector that reads from an external system into topics.
pub trait SourceConnector: Connector {
    /// Creates one task; the runtime then calls [`SourceTask::start`] with a task config.
    fn create_task(&self) -> Box<dyn SourceTask>;

    /// Whether the connector can support exactly-once delivery with this config.
    fn exactly_once_support(&self, _config: &ConfigMap) -> ExactlyOnceSupport {
        ExactlyOnceSupport::Unsupported
    }

    /// Whether the connector's tasks define their own transaction boundaries with this
    /// config (through [`SourceTaskContext::transaction_context`]), as
    /// `transaction.boundary=connector` needs.
    fn can_define_transaction_boundaries(
        &self,
        _config: &ConfigMap,
    ) -> ConnectorTransactionBoundaries {
        ConnectorTransactionBoundaries::Unsupported
    }

    /// Checks offsets a user wants to write through the REST API before they are stored.
    /// `None` as an offset resets that partition. Returns true when the connector keeps no
    /// offsets of its own elsewhere.
    fn alter_offsets(
        &self,
        _config: &ConfigMap,
        _offsets: &[(OffsetMap, Option<OffsetMap>)],
    ) -> Result<bool> {
        Ok(false)
    }
}

/// A connector that writes records from topics to an external system.
pub trait SinkConnector: Connector {
    /// Creates one task; the runtime then calls [`SinkTask::start`] with a task config.
    fn create_task(&self) -> Box<dyn SinkTask>;

    /// Checks consumer offsets a user wants to write through the REST API. Returns true when
    /// the connector keeps no offsets of its own elsewhere.
    fn alter_offsets(
        &self,
        _config: &ConfigMap,
        _offsets: &[(TopicPartition, Option<i64>)],
    ) -> Result<bool> {
        Ok(false)
    }
}

/// Reads the source offsets committed for this connector.
pub trait OffsetStorageReader: Send + Sync {
    /// The last committed offset of one source partition.
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap>;
}

/// Lets a source task end transactions itself, when its connector runs exactly-once with
/// `transaction.boundary=connector`. Requests take effect between records: the runtime
/// commits (or aborts) the open transaction after the last record returned by `poll` so far,
/// or right after a given record of the batch being returned. An aborted transaction's
/// records are discarded but the offsets of its records are still committed, so they are
/// not read again.
pub trait TransactionContext: Send + Sync {
    /// Commits the open transaction after the records polled so far (including the batch
    /// the current `poll` returns).
    fn commit_transaction(&self);
    /// Commits the open transaction right after `record`, a record the current `poll`
    /// returns (matched by source partition, source offset and topic).
    fn commit_transaction_after(&self, record: &SourceRecord);
    /// Aborts the open transaction after the records polled so far.
    fn abort_transaction(&self);
    /// Aborts the open transaction right after `record` (matched as for
    /// [`TransactionContext::commit_transaction_after`]).
    fn abort_transaction_after(&self, record: &SourceRecord);
}

/// What a source task gets from the runtime when it starts.
#[derive(Clone)]
pub struct SourceTaskContext {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task_id: u32,
    /// Committed offsets of this connector, to resume from.
    pub offsets: Arc<dyn OffsetStorageReader>,
    /// Present only when the task runs exactly-once with `transaction.boundary=connector`:
    /// the task then decides where transactions end.
    pub transaction_context: Option<Arc<dyn TransactionContext>>,
}

/// Reads from an external system. Each task runs as one async task.
#[async_trait]
pub trait SourceTask: Send {
    /// Starts the task: open connections, load the committed offsets from the context.
    async fn start(&mut self, config: &ConfigMap, context: SourceTaskContext) -> Result<()>;

    /// Returns the next batch of records, or an empty batch when none is ready yet. It may
    /// wait for data, but should return within about a second so the task can be stopped
    /// promptly. A returned record must not be handed out again unless the task restarts.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>>;

    /// Called after the runtime has committed offsets for records written so far.
    async fn commit(&mut self) -> Result<()> {
        Ok(())
    }

    /// Whether [`SourceTask::commit_record`] should be called for each written record. The
    /// runtime only keeps written records around when this is true.
    fn wants_record_acks(&self) -> bool {
        false
    }

    /// Called once per record after the log acknowledged it (only when
    /// [`SourceTask::wants_record_acks`] is true). `offset` is its offset in the topic,
    /// `None` when the record was dropped by a transformation or error tolerance.
    fn commit_record(&mut self, _record: &SourceRecord, _offset: Option<(i32, i64)>) {}

    /// Stops the task and releases its resources. `poll` is not called afterwards.
    async fn stop(&mut self) -> Result<()>;
}

/// Reports a record a sink task could not write, so the runtime can send it to the
/// dead-letter queue (Kafka's `ErrantRecordReporter`).
pub trait ErrantRecordReporter: Send + Sync {
    /// Records the failure of one record.
    fn report(&self, record: &SinkRecord, error: &ConnectError) -> Result<()>;
}

/// Requests a sink task can make of the runtime while it runs.
pub trait SinkTaskControl: Send + Sync {
    /// Stops fetching from these partitions until resumed.
    fn pause(&self, partitions: &[TopicPartition]);
    /// Resumes fetching from these partitions.
    fn resume(&self, partitions: &[TopicPartition]);
    /// Asks for an offset commit as soon as possible.
    fn request_commit(&self);
    /// Rewinds or skips: the next records of these partitions start at these offsets.
    fn reset_offsets(&self, offsets: &HashMap<TopicPartition, i64>);
    /// The partitions currently assigned to the task.
    fn assignment(&self) -> Vec<TopicPartition>;
    /// The reporter for errant records, when the connector has a dead-letter queue or
    /// tolerates errors.
    fn errant_record_reporter(&self) -> Option<Arc<dyn ErrantRecordReporter>>;
}

/// What a sink task gets from the runtime when it starts.
#[derive(Clone)]
pub struct SinkTaskContext {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task_id: u32,
    /// Pause/resume, commit requests and offset resets.
    pub control: Arc<dyn SinkTaskControl>,
}

/// Writes records to an external system. Each task runs as one async task.
#[async_trait]
pub trait SinkTask: Send {
    /// Starts the task with its config.
    async fn start(&mut self, config: &ConfigMap, context: SinkTaskContext) -> Result<()>;

    /// Called when partitions are assigned to the task, before records of them arrive.
    async fn open(&mut self, _partitions: &[TopicPartition]) -> Result<()> {
        Ok(())
    }

    /// Called when partitions are taken away, after their last commit.
    async fn close(&mut self, _partitions: &[TopicPartition]) -> Result<()> {
        Ok(())
    }

    /// Writes (or buffers) a batch. A [`ConnectError::Retriable`] asks for the same batch to
    /// be delivered again after a backoff.
    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<()>;

    /// Makes everything given to `put` so far durable.
    async fn flush(&mut self, _offsets: &HashMap<TopicPartition, i64>) -> Result<()> {
        Ok(())
    }

    /// Called before the runtime commits consumer offsets, with the next offset to read of
    /// each partition. Returns the offsets that are safe to commit. The default flushes and
    /// returns them all.
    async fn pre_commit(
        &mut self,
        offsets: HashMap<TopicPartition, i64>,
    ) -> Result<HashMap<TopicPartition, i64>> {
        self.flush(&offsets).await?;
        Ok(offsets)
    }

    /// Stops the task.
    async fn stop(&mut self) -> Result<()>;

    /// Whether `put` looks at record headers; asked once, before `start`. A task that never
    /// does answers `false`: when no transformation or dead-letter queue needs them either,
    /// the runtime then skips decoding the headers of consumed records, and the task's
    /// records carry none.
    fn reads_headers(&self) -> bool {
        true
    }
}

/// Makes a new connector instance.
#[derive(Clone, Copy)]
pub enum ConnectorFactory {
    /// A source connector.
    Source(fn() -> Box<dyn SourceConnector>),
    /// A sink connector.
    Sink(fn() -> Box<dyn SinkConnector>),
}

/// A connector plugin as the runtime's registry knows it.
#[derive(Clone, Copy)]
pub struct ConnectorPlugin {
    /// The class name users give in `connector.class` (Kafka's Java class name for
    /// connectors that replace a Java one). Aliases are derived from it.
    pub class_name: &'static str,
    /// Further names `connector.class` may give besides the derived aliases: the class
    /// names of connectors elsewhere whose configs this one accepts unchanged.
    pub aliases: &'static [&'static str],
    /// Makes instances.
    pub factory: ConnectorFactory,
}

impl ConnectorPlugin {
    /// `"source"` or `"sink"`, as the REST API names plugin types.
    pub fn kind(&self) -> &'static str {
        match self.factory {
            ConnectorFactory::Source(_) => "source",
            ConnectorFactory::Sink(_) => "sink",
        }
    }
}
