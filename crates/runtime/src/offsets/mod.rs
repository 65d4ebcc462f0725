//! Source offset storage.
//!
//! A source task's progress is a map per source partition (e.g. `{"position": 1024}` for
//! `{"filename": "/tmp/in.txt"}`). The worker keeps them in an [`OffsetStore`] as the bytes
//! Kafka Connect uses ([`codec`]): key `["<connector>",{<partition>}]`, value the offset map
//! as JSON, a `None` value deleting the key. The standalone worker uses [`FileOffsetStore`],
//! which keeps the whole map in memory and rewrites Kafka's offsets file on each commit; a
//! distributed worker will use an offsets topic behind the same trait.
//!
//! Tasks read their committed offsets through a [`ConnectorOffsetReader`].

pub mod codec;
mod file;
pub mod java;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use sluice_api::connector::OffsetStorageReader;
use sluice_api::OffsetMap;

pub use file::FileOffsetStore;

/// A failure to load or save offsets.
#[derive(Debug, thiserror::Error)]
pub enum OffsetStoreError {
    /// Reading or writing the offsets file failed.
    #[error("{context} '{}': {source}", path.display())]
    Io {
        /// What was being done.
        context: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The offsets file is not in Kafka Connect's format.
    #[error("offsets file '{}' is not a Kafka Connect standalone offsets file (a Java-serialized HashMap<byte[],byte[]>): {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The write did not finish in time.
    #[error("offset commit did not finish within {timeout_ms} ms")]
    Timeout {
        /// The limit.
        timeout_ms: u64,
    },
    /// Writing to or reading the offsets topic failed.
    #[error("{context} offsets topic '{topic}': {source}")]
    Log {
        /// What was being done.
        context: &'static str,
        /// The offsets topic.
        topic: String,
        /// The log's error.
        #[source]
        source: sluice_log::LogError,
    },
}

/// One offset change: the key bytes and the new value bytes (`None` deletes).
pub type OffsetWrite = (Vec<u8>, Option<Vec<u8>>);

/// Where source offsets are kept.
#[async_trait]
pub trait OffsetStore: Send + Sync {
    /// The stored value of a key.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    /// Every stored key and value, for listing a connector's offsets.
    fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)>;
    /// Applies changes and makes them durable before returning.
    async fn set(&self, writes: Vec<OffsetWrite>) -> Result<(), OffsetStoreError>;
    /// Takes in what other writers stored since this process last read (a topic-backed
    /// store reads its topic to the end), so a listing or a reset sees every worker's
    /// commits. A store only this process writes has nothing to read.
    async fn catch_up(&self) -> Result<(), OffsetStoreError> {
        Ok(())
    }
}

/// Reads one connector's committed offsets for its tasks.
pub struct ConnectorOffsetReader {
    connector: String,
    store: Arc<dyn OffsetStore>,
}

impl ConnectorOffsetReader {
    /// A reader of `connector`'s offsets.
    pub fn new(connector: impl Into<String>, store: Arc<dyn OffsetStore>) -> Self {
        ConnectorOffsetReader {
            connector: connector.into(),
            store,
        }
    }
}

impl OffsetStorageReader for ConnectorOffsetReader {
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        let key = codec::offset_key(&self.connector, partition);
        let value = self.store.get(&key)?;
        match codec::parse_offset_value(&value) {
            Ok(offset) => Some(offset),
            Err(e) => {
                tracing::warn!(
                    connector = %self.connector,
                    error = %e,
                    "Ignoring an unreadable stored source offset."
                );
                None
            }
        }
    }
}
