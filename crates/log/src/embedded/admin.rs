//! The embedded admin client.

use std::sync::Arc;

use async_trait::async_trait;

use super::Inner;
use crate::error::LogResult;
use crate::types::{NewTopic, PartitionDescription, TopicDescription, TopicPartition};
use crate::LogAdmin;

/// Admin client of an embedded log.
pub(crate) struct EmbeddedAdmin {
    inner: Arc<Inner>,
}

impl EmbeddedAdmin {
    pub fn new(inner: Arc<Inner>) -> Self {
        EmbeddedAdmin { inner }
    }
}

#[async_trait]
impl LogAdmin for EmbeddedAdmin {
    async fn create_topic(&self, topic: NewTopic) -> LogResult<()> {
        self.inner.create_topic(topic).map(|_| ())
    }

    async fn delete_topic(&self, name: &str) -> LogResult<()> {
        self.inner.delete_topic(name)
    }

    async fn list_topics(&self) -> LogResult<Vec<String>> {
        self.inner.check_open()?;
        Ok(self
            .inner
            .topic_list()?
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect())
    }

    async fn describe_topic(&self, name: &str) -> LogResult<TopicDescription> {
        self.inner.check_open()?;
        let t = self.inner.require_topic(name)?;
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let (earliest, latest) = p.offsets()?;
            partitions.push(PartitionDescription {
                partition: p.id,
                earliest_offset: earliest,
                latest_offset: latest,
            });
        }
        Ok(TopicDescription {
            name: t.name.to_string(),
            partitions,
            configs: t.explicit.clone(),
        })
    }

    async fn list_groups(&self) -> LogResult<Vec<String>> {
        self.inner.check_open()?;
        self.inner.groups.list()
    }

    async fn group_offsets(&self, group: &str) -> LogResult<Vec<(TopicPartition, i64)>> {
        self.inner.check_open()?;
        self.inner.groups.offsets(group)
    }

    async fn alter_group_offsets(
        &self,
        group: &str,
        offsets: &[(TopicPartition, i64)],
    ) -> LogResult<()> {
        self.inner.check_writable()?;
        self.inner.groups.alter(group, offsets)
    }

    async fn delete_group_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> LogResult<()> {
        self.inner.check_writable()?;
        self.inner.groups.delete_offsets(group, partitions)
    }

    async fn delete_group(&self, group: &str) -> LogResult<()> {
        self.inner.check_writable()?;
        self.inner.groups.delete(group)
    }
}
