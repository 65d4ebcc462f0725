//! FileStreamSourceTask: tails a file (or standard input) and turns each line into a record.
//!
//! The reading, buffering and offset model is described on [`FileStreamSourceTask`].

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice_api::prelude::*;
use tokio::time::Instant;

use crate::lines::LineBuffer;
use crate::source::{integer, SourceConfig, FILENAME_FIELD, POSITION_FIELD};
use crate::stdin::{self, Chunk, ChunkReceiver};

/// Bytes read from the file per read call.
const READ_BUFFER_SIZE: usize = 1 << 20;
/// Pause between checks for new data (or for a missing file to appear).
const CHECK_INTERVAL: Duration = Duration::from_millis(50);
/// Longest a poll waits for data before returning an empty batch.
const MAX_POLL_WAIT: Duration = Duration::from_secs(1);
/// Most records reserved up front for one batch.
const MAX_PREALLOCATED_RECORDS: usize = 8192;

/// Where lines come from.
enum Input {
    /// The file is not open yet (it may not exist).
    Closed,
    /// An open file, positioned after the last line read.
    File(File),
    /// Chunks from a reader thread (standard input).
    Chunks(ChunkReceiver),
}

/// The reference-counted parts every record of one batch shares.
///
/// Each batch gets copies of its own: the task creates the records of the next batch while
/// the runtime drops those of the previous one on another thread, and with one shared copy
/// both threads would update the same reference counts for every record. (The value schema
/// is a static one, without a count.)
struct BatchShared {
    topic: Arc<str>,
    partition: Arc<OffsetMap>,
}

impl BatchShared {
    fn new(topic: &str, partition: &OffsetMap) -> Self {
        BatchShared {
            topic: Arc::from(topic),
            partition: Arc::new(partition.clone()),
        }
    }
}

/// Reads lines of a file or standard input into records.
///
/// ## Reading model
///
/// The file is opened on the first poll (and on every later poll while it does not exist
/// yet), then positioned at the committed offset. Each poll takes up to `batch.size` complete
/// lines out of a reusable read buffer, refilling it from the file (1 MiB per read) while the
/// batch is not full and the file has more. When no line is ready, the poll checks again
/// every 50 ms and returns an empty batch after about a second, so the task stays responsive
/// to stop requests. Lines appended to the file later are picked up by those checks: the
/// task never reaches an "end".
///
/// ## Records and offsets
///
/// Each line becomes a record with no key and a required string value, timestamped with the
/// wall-clock time it was read. Its source partition is `{"filename": <file as configured>}`
/// (one map per batch, shared by its records) and its offset `{"position": <byte position
/// just after the line's terminator>}`, so a restart resumes at the first line not yet
/// committed. Standard input has partition `{"filename": null}` and offset
/// `{"position": null}`: it cannot be resumed.
///
/// ## Cancellation
///
/// `poll` only awaits timers, and never while holding lines it has taken from the buffer, so
/// dropping a poll future loses nothing.
pub struct FileStreamSourceTask {
    /// `None` reads standard input.
    file: Option<String>,
    topic: Arc<str>,
    batch_size: usize,
    partition: Arc<OffsetMap>,
    input: Input,
    buffer: LineBuffer,
    /// Byte position of the first unread line; `None` for standard input.
    position: Option<i64>,
    /// Whether the missing file has been reported since it was last seen.
    warned_missing: bool,
}

impl Default for FileStreamSourceTask {
    fn default() -> Self {
        Self::new()
    }
}

impl FileStreamSourceTask {
    /// A task that does nothing until started.
    pub fn new() -> Self {
        FileStreamSourceTask {
            file: None,
            topic: Arc::from(""),
            batch_size: 1,
            partition: Arc::new(OffsetMap::new()),
            input: Input::Closed,
            buffer: LineBuffer::new(0),
            position: None,
            warned_missing: false,
        }
    }

    /// Takes every line it can without waiting, reading more data while the batch is not
    /// full. Opens the file first if needed; an empty result means nothing is ready.
    fn read_ready(&mut self) -> Result<Vec<SourceRecord>> {
        let mut records = Vec::new();
        if matches!(self.input, Input::Closed) && !self.open()? {
            return Ok(records);
        }
        let timestamp = wall_clock_ms();
        let mut shared = None;
        loop {
            self.take_lines(&mut records, timestamp, &mut shared);
            if records.len() >= self.batch_size || self.fill()? == 0 {
                return Ok(records);
            }
        }
    }

    /// Moves complete lines from the buffer into `records`, up to the batch size. The
    /// records of one batch share `shared`, made with the batch's first line.
    fn take_lines(
        &mut self,
        records: &mut Vec<SourceRecord>,
        timestamp: i64,
        shared: &mut Option<BatchShared>,
    ) {
        let want = self.batch_size.saturating_sub(records.len());
        if want == 0 {
            return;
        }
        let FileStreamSourceTask {
            topic,
            batch_size,
            partition,
            buffer,
            position,
            ..
        } = self;
        buffer.take_lines(want, |text, consumed| {
            let shared = shared.get_or_insert_with(|| BatchShared::new(topic, partition));
            let position = match position {
                Some(p) => {
                    *p += consumed as i64;
                    Value::Int64(*p)
                }
                None => Value::Null,
            };
            if records.capacity() == 0 {
                records.reserve((*batch_size).min(MAX_PREALLOCATED_RECORDS));
            }
            records.push(SourceRecord {
                source_partition: shared.partition.clone(),
                source_offset: OffsetMap::new().with(POSITION_FIELD, position),
                record: ConnectRecord {
                    timestamp: Some(timestamp),
                    ..ConnectRecord::new(
                        shared.topic.clone(),
                        Some(Schema::required(SchemaType::String)),
                        Value::String(text),
                    )
                },
            });
        });
    }

    /// Reads once from the input into the buffer; 0 means nothing new right now.
    fn fill(&mut self) -> Result<usize> {
        match &mut self.input {
            Input::Closed => Ok(0),
            Input::File(file) => self.buffer.fill_from(file).map_err(|e| {
                ConnectError::io(
                    format!(
                        "Couldn't read file '{}' for FileStreamSourceTask",
                        self.file.as_deref().unwrap_or_default()
                    ),
                    e,
                )
            }),
            Input::Chunks(chunks) => match stdin::try_take(chunks) {
                Ok(Chunk::Data(bytes)) => {
                    self.buffer.extend(&bytes);
                    Ok(bytes.len())
                }
                Ok(Chunk::Empty) => Ok(0),
                Err(e) => Err(ConnectError::io(
                    "Couldn't read standard input for FileStreamSourceTask",
                    e,
                )),
            },
        }
    }

    /// Opens the file at the resume position. Returns false when it does not exist yet.
    fn open(&mut self) -> Result<bool> {
        let Some(name) = self.file.as_deref() else {
            self.input = Input::Chunks(stdin::stdin_chunks());
            return Ok(true);
        };
        let mut file = match File::open(name) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !self.warned_missing {
                    tracing::warn!(
                        file = name,
                        "Couldn't find file for FileStreamSourceTask, waiting for it to be created."
                    );
                    self.warned_missing = true;
                }
                return Ok(false);
            }
            Err(e) => {
                return Err(ConnectError::io(
                    format!("Couldn't open file '{name}' for FileStreamSourceTask"),
                    e,
                ))
            }
        };
        let metadata = file.metadata().map_err(|e| {
            ConnectError::io(
                format!("Couldn't read file '{name}' for FileStreamSourceTask"),
                e,
            )
        })?;
        if metadata.is_dir() {
            return Err(ConnectError::connect(format!(
                "Couldn't read file '{name}' for FileStreamSourceTask: it is a directory"
            )));
        }
        let position = self.position.unwrap_or(0);
        if position > 0 {
            let position = position.unsigned_abs();
            if position > metadata.len() {
                tracing::warn!(
                    file = name,
                    position,
                    length = metadata.len(),
                    "The committed position is past the end of the file; no lines are read \
                     until the file grows past it. Reset the connector's offsets if the file \
                     was truncated or replaced."
                );
            }
            file.seek(SeekFrom::Start(position)).map_err(|e| {
                ConnectError::io(
                    format!("Couldn't seek to position {position} in file '{name}' for FileStreamSourceTask"),
                    e,
                )
            })?;
        }
        tracing::info!(
            file = name,
            position,
            "Reading file for FileStreamSourceTask."
        );
        self.warned_missing = false;
        self.input = Input::File(file);
        Ok(true)
    }
}

#[async_trait]
impl SourceTask for FileStreamSourceTask {
    /// Parses the config and looks up the committed position of the file. A stored position
    /// that is not an integer fails with `Offset position is the incorrect type`.
    async fn start(&mut self, config: &ConfigMap, context: SourceTaskContext) -> Result<()> {
        let config = SourceConfig::parse(config)?;
        let filename = config.file.clone().map_or(Value::Null, Value::String);
        let partition = OffsetMap::new().with(FILENAME_FIELD, filename);
        self.position = match &config.file {
            None => None,
            Some(name) => {
                let stored = context.offsets.offset(&partition);
                match stored.as_ref().and_then(|o| o.get(POSITION_FIELD)) {
                    None | Some(Value::Null) => Some(0),
                    Some(value) => match integer(value) {
                        Some(p) if p >= 0 => Some(p),
                        Some(p) => {
                            return Err(ConnectError::connect(format!(
                                "Offset position {p} of file '{name}' is negative"
                            )))
                        }
                        None => {
                            return Err(ConnectError::connect(
                                "Offset position is the incorrect type",
                            ))
                        }
                    },
                }
            }
        };
        self.file = config.file;
        self.topic = Arc::from(config.topic);
        self.batch_size = config.batch_size;
        self.partition = Arc::new(partition);
        self.input = Input::Closed;
        self.buffer = LineBuffer::new(READ_BUFFER_SIZE);
        self.warned_missing = false;
        Ok(())
    }

    /// Returns the next lines, or an empty batch after about a second without any.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let deadline = Instant::now() + MAX_POLL_WAIT;
        loop {
            let records = self.read_ready()?;
            let now = Instant::now();
            if !records.is_empty() || now >= deadline {
                return Ok(records);
            }
            tokio::time::sleep(CHECK_INTERVAL.min(deadline - now)).await;
        }
    }

    async fn stop(&mut self) -> Result<()> {
        self.input = Input::Closed;
        self.buffer = LineBuffer::new(0);
        Ok(())
    }
}

/// Milliseconds since the epoch (0 if the clock is before it).
fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::sync::Mutex;

    use super::*;

    struct NoOffsets;

    impl OffsetStorageReader for NoOffsets {
        fn offset(&self, _partition: &OffsetMap) -> Option<OffsetMap> {
            None
        }
    }

    /// Standard input is replaced by a channel this test feeds.
    #[tokio::test]
    async fn standard_input_has_null_partition_and_offset() {
        let mut task = FileStreamSourceTask::new();
        let config: ConfigMap = [
            ("topic".to_string(), "t".to_string()),
            ("file".to_string(), String::new()),
        ]
        .into();
        let context = SourceTaskContext {
            connector: "c".into(),
            task_id: 0,
            offsets: Arc::new(NoOffsets),
            transaction_context: None,
        };
        task.start(&config, context).await.unwrap();
        let (tx, rx) = mpsc::sync_channel(4);
        task.input = Input::Chunks(Arc::new(Mutex::new(rx)));
        tx.send(Ok(b"one\ntw".to_vec())).unwrap();
        tx.send(Ok(b"o\n".to_vec())).unwrap();
        let records = task.poll().await.unwrap();
        let values: Vec<_> = records.iter().map(|r| r.record.value.clone()).collect();
        assert_eq!(values, [Value::from("one"), Value::from("two")]);
        for r in &records {
            assert_eq!(
                *r.source_partition,
                OffsetMap::new().with(FILENAME_FIELD, Value::Null)
            );
            assert_eq!(
                r.source_offset,
                OffsetMap::new().with(POSITION_FIELD, Value::Null)
            );
        }
        tx.send(Err(std::io::Error::other("boom"))).unwrap();
        let err = task.poll().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "Couldn't read standard input for FileStreamSourceTask: boom"
        );
    }
}
