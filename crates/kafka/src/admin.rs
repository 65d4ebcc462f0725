//! Topic and group administration on a Kafka cluster.
//!
//! Topics go through librdkafka's admin API (CreateTopics, DeleteTopics, DescribeConfigs)
//! and metadata requests; offset ranges come from the partitions' watermarks. Group offsets
//! are read and written through a short-lived consumer of the group that never joins it
//! (OffsetFetch and a "simple" OffsetCommit, which the coordinator accepts only while the
//! group has no members); offsets are removed with Kafka's OffsetDelete request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigSource, NewTopic as RdNewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use sluice_log::{
    LogAdmin, LogError, LogResult, NewTopic, PartitionDescription, TopicDescription, TopicPartition,
};

use crate::context::LogContext;
use crate::error::{map_code, map_error, map_group_error};
use crate::KafkaConfig;

/// How long one request may take when `request.timeout.ms` is not set (librdkafka's and
/// Kafka's default).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The admin side of a [`crate::KafkaLog`], or an admin client with a connector's
/// `admin.override.*` settings ([`crate::KafkaLog`]'s `admin_with`).
pub struct KafkaAdmin {
    client: Arc<AdminClient<LogContext>>,
    config: KafkaConfig,
    /// Bound of each request: the admin settings' `request.timeout.ms`, as Kafka's admin
    /// client bounds its calls by it.
    timeout: Duration,
}

impl KafkaAdmin {
    /// Wraps an admin client made from `config`'s common and admin settings.
    pub(crate) fn new(
        client: Arc<AdminClient<LogContext>>,
        config: KafkaConfig,
    ) -> LogResult<Self> {
        let timeout = request_timeout(&config)?;
        Ok(KafkaAdmin {
            client,
            config,
            timeout,
        })
    }

    /// Makes an admin client from `config`'s common and admin settings (the admin ones
    /// winning). Nothing is sent until the first call.
    pub(crate) fn create(config: KafkaConfig) -> LogResult<Self> {
        let client: AdminClient<LogContext> = config
            .client_config(&[&config.admin])?
            .create_with_context(LogContext::default())
            .map_err(|e| map_error(e, "creating a Kafka admin client", None))?;
        KafkaAdmin::new(Arc::new(client), config)
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(self.timeout))
            .operation_timeout(Some(self.timeout))
    }

    /// Runs a blocking librdkafka call off the async runtime.
    /// The closure gets the client and the request timeout.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&AdminClient<LogContext>, Duration) -> LogResult<T> + Send + 'static,
    ) -> LogResult<T> {
        let client = Arc::clone(&self.client);
        let timeout = self.timeout;
        tokio::task::spawn_blocking(move || f(&client, timeout))
            .await
            .map_err(|e| LogError::Unavailable(format!("an admin call stopped: {e}")))?
    }

    /// A consumer of `group` that never joins it, for offset reads and simple commits.
    fn group_client(&self, group: &str) -> LogResult<BaseConsumer<LogContext>> {
        let mut config = self.config.client_config(&[&self.config.admin])?;
        config
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false");
        config
            .create_with_context(LogContext::default())
            .map_err(|e| map_error(e, &format!("creating a client for group '{group}'"), None))
    }

    /// Every partition of every topic (internal ones included) as a partition list.
    fn all_partitions(
        client: &AdminClient<LogContext>,
        timeout: Duration,
    ) -> LogResult<TopicPartitionList> {
        let metadata = client
            .inner()
            .fetch_metadata(None, timeout)
            .map_err(|e| map_error(e, "listing topics", None))?;
        let mut tpl = TopicPartitionList::new();
        for topic in metadata.topics() {
            for p in topic.partitions() {
                tpl.add_partition(topic.name(), p.id());
            }
        }
        Ok(tpl)
    }

    /// The group's state as the coordinator lists it (`None` when unknown).
    fn group_members(
        client: &AdminClient<LogContext>,
        group: &str,
        timeout: Duration,
    ) -> LogResult<Option<usize>> {
        let list = client
            .inner()
            .fetch_group_list(Some(group), timeout)
            .map_err(|e| map_error(e, &format!("describing group '{group}'"), None))?;
        Ok(list
            .groups()
            .iter()
            .find(|g| g.name() == group && g.state() != "Dead")
            .map(|g| g.members().len()))
    }
}

/// `request.timeout.ms` of the admin settings (over the common ones), or
/// [`REQUEST_TIMEOUT`].
fn request_timeout(config: &KafkaConfig) -> LogResult<Duration> {
    const KEY: &str = "request.timeout.ms";
    let Some(value) = config.admin.get(KEY).or_else(|| config.common.get(KEY)) else {
        return Ok(REQUEST_TIMEOUT);
    };
    match value.trim().parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(LogError::InvalidConfig {
            key: KEY.into(),
            message: format!("'{value}' is not a positive number of milliseconds"),
        }),
    }
}

/// `(topic, partition) -> offset` pairs of a partition list that hold a real offset.
pub(crate) fn offsets_of(tpl: &TopicPartitionList) -> Vec<(TopicPartition, i64)> {
    partition_offsets(tpl)
        .into_iter()
        .filter_map(|(tp, o)| Some((tp, o?)))
        .collect()
}

/// Every partition of a librdkafka list with its offset, `None` where it has none
/// (beginning, end, stored or not set).
pub(crate) fn partition_offsets(tpl: &TopicPartitionList) -> Vec<(TopicPartition, Option<i64>)> {
    tpl.elements()
        .iter()
        .map(|e| {
            let offset = match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            };
            (TopicPartition::new(e.topic(), e.partition()), offset)
        })
        .collect()
}

/// A partition list with offsets.
pub(crate) fn offset_list(offsets: &[(TopicPartition, i64)]) -> LogResult<TopicPartitionList> {
    let mut tpl = TopicPartitionList::with_capacity(offsets.len());
    for (tp, o) in offsets {
        tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*o))
            .map_err(|e| map_error(e, "building an offset list", None))?;
    }
    Ok(tpl)
}

#[async_trait]
impl LogAdmin for KafkaAdmin {
    async fn create_topic(&self, topic: NewTopic) -> LogResult<()> {
        let replication = i32::from(topic.replication_factor);
        let mut new = RdNewTopic::new(
            &topic.name,
            topic.partitions,
            TopicReplication::Fixed(replication),
        );
        for (k, v) in &topic.configs {
            new = new.set(k, v);
        }
        let doing = format!("creating topic '{}'", topic.name);
        let results = self
            .client
            .create_topics([&new], &self.options())
            .await
            .map_err(|e| map_error(e, &doing, Some(&topic.name)))?;
        for result in results {
            if let Err((_, code)) = result {
                return Err(map_code(
                    code,
                    &format!("{doing}: {code}"),
                    Some(&topic.name),
                ));
            }
        }
        Ok(())
    }

    async fn delete_topic(&self, name: &str) -> LogResult<()> {
        let doing = format!("deleting topic '{name}'");
        let results = self
            .client
            .delete_topics(&[name], &self.options())
            .await
            .map_err(|e| map_error(e, &doing, Some(name)))?;
        for result in results {
            if let Err((_, code)) = result {
                return Err(map_code(code, &format!("{doing}: {code}"), Some(name)));
            }
        }
        Ok(())
    }

    async fn list_topics(&self) -> LogResult<Vec<String>> {
        self.blocking(|client, timeout| {
            let metadata = client
                .inner()
                .fetch_metadata(None, timeout)
                .map_err(|e| map_error(e, "listing topics", None))?;
            let mut names: Vec<String> = metadata
                .topics()
                .iter()
                .filter(|t| t.error().is_none() && !t.name().starts_with("__"))
                .map(|t| t.name().to_string())
                .collect();
            names.sort();
            Ok(names)
        })
        .await
    }

    async fn describe_topic(&self, name: &str) -> LogResult<TopicDescription> {
        let topic = name.to_string();
        let partitions = self
            .blocking(move |client, timeout| {
                let doing = format!("describing topic '{topic}'");
                let metadata = client
                    .inner()
                    .fetch_metadata(Some(&topic), timeout)
                    .map_err(|e| map_error(e, &doing, Some(&topic)))?;
                let Some(meta) = metadata.topics().iter().find(|t| t.name() == topic) else {
                    return Err(LogError::UnknownTopic { topic });
                };
                if let Some(err) = meta.error() {
                    let code = RDKafkaErrorCode::from(err);
                    return Err(map_code(code, &format!("{doing}: {code}"), Some(&topic)));
                }
                if meta.partitions().is_empty() {
                    return Err(LogError::UnknownTopic { topic });
                }
                let mut ids: Vec<i32> = meta.partitions().iter().map(|p| p.id()).collect();
                ids.sort_unstable();
                ids.into_iter()
                    .map(|partition| {
                        let (earliest_offset, latest_offset) = client
                            .inner()
                            .fetch_watermarks(&topic, partition, timeout)
                            .map_err(|e| map_error(e, &doing, Some(&topic)))?;
                        Ok(PartitionDescription {
                            partition,
                            earliest_offset,
                            latest_offset,
                        })
                    })
                    .collect::<LogResult<Vec<_>>>()
            })
            .await?;
        let doing = format!("describing the settings of topic '{name}'");
        let resources = self
            .client
            .describe_configs([&ResourceSpecifier::Topic(name)], &self.options())
            .await
            .map_err(|e| map_error(e, &doing, Some(name)))?;
        let mut configs = BTreeMap::new();
        for resource in resources {
            let resource =
                resource.map_err(|code| map_code(code, &format!("{doing}: {code}"), Some(name)))?;
            for entry in resource.entries {
                tracing::trace!(?entry, "topic setting");
                if entry.source == ConfigSource::DynamicTopic && !entry.is_default {
                    if let Some(value) = entry.value {
                        configs.insert(entry.name, value);
                    }
                }
            }
        }
        Ok(TopicDescription {
            name: name.to_string(),
            partitions,
            configs,
        })
    }

    async fn list_groups(&self) -> LogResult<Vec<String>> {
        self.blocking(|client, timeout| {
            let list = client
                .inner()
                .fetch_group_list(None, timeout)
                .map_err(|e| map_error(e, "listing consumer groups", None))?;
            let mut names: Vec<String> = list
                .groups()
                .iter()
                .filter(|g| matches!(g.protocol_type(), "consumer" | "") && g.state() != "Dead")
                .map(|g| g.name().to_string())
                .collect();
            names.sort();
            names.dedup();
            Ok(names)
        })
        .await
    }

    async fn group_offsets(&self, group: &str) -> LogResult<Vec<(TopicPartition, i64)>> {
        let consumer = self.group_client(group)?;
        let name = group.to_string();
        self.blocking(move |client, timeout| {
            let all = Self::all_partitions(client, timeout)?;
            let committed = consumer.committed_offsets(all, timeout).map_err(|e| {
                map_group_error(e, &format!("reading offsets of group '{name}'"), &name)
            })?;
            let mut offsets = offsets_of(&committed);
            if offsets.is_empty() && Self::group_members(client, &name, timeout)?.unwrap_or(0) == 0
            {
                return Err(LogError::UnknownGroup { group: name });
            }
            offsets.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(offsets)
        })
        .await
    }

    async fn alter_group_offsets(
        &self,
        group: &str,
        offsets: &[(TopicPartition, i64)],
    ) -> LogResult<()> {
        let consumer = self.group_client(group)?;
        let tpl = offset_list(offsets)?;
        let name = group.to_string();
        self.blocking(move |client, timeout| {
            if Self::group_members(client, &name, timeout)?.unwrap_or(0) > 0 {
                return Err(LogError::GroupNotEmpty { group: name });
            }
            consumer.commit(&tpl, CommitMode::Sync).map_err(|e| {
                map_group_error(e, &format!("changing offsets of group '{name}'"), &name)
            })
        })
        .await
    }

    async fn delete_group_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> LogResult<()> {
        let name = group.to_string();
        if self
            .blocking(move |client, timeout| Self::group_members(client, &name, timeout))
            .await?
            .unwrap_or(0)
            > 0
        {
            return Err(LogError::GroupNotEmpty {
                group: group.to_string(),
            });
        }
        crate::wire::delete_offsets(&self.config, group, partitions).await
    }

    async fn delete_group(&self, group: &str) -> LogResult<()> {
        let name = group.to_string();
        if self
            .blocking(move |client, timeout| Self::group_members(client, &name, timeout))
            .await?
            .unwrap_or(0)
            > 0
        {
            return Err(LogError::GroupNotEmpty {
                group: group.to_string(),
            });
        }
        let doing = format!("deleting group '{group}'");
        let results = self
            .client
            .delete_groups(&[group], &self.options())
            .await
            .map_err(|e| map_group_error(e, &doing, group))?;
        for result in results {
            match result {
                Ok(_) => {}
                Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
                Err((_, RDKafkaErrorCode::NonEmptyGroup)) => {
                    return Err(LogError::GroupNotEmpty {
                        group: group.to_string(),
                    })
                }
                Err((_, code)) => return Err(map_code(code, &format!("{doing}: {code}"), None)),
            }
        }
        Ok(())
    }
}
