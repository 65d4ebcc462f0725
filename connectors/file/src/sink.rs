//! FileStreamSinkConnector and its task: append each record's value as one line of text.
//!
//! The buffering and durability model is described on [`FileStreamSinkTask`].

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use sluice_api::data::java_text::{BytesText, JavaText};
use sluice_api::prelude::*;

use crate::{configured_file, parse_config, FILE_CONFIG};

/// Gathered bytes that trigger a write.
const WRITE_THRESHOLD: usize = 1 << 20;

/// The sink connector's own keys (`topics`/`topics.regex` are common sink keys).
pub fn sink_config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(FILE_CONFIG, ConfigType::String)
            .importance(Importance::High)
            .doc(
                "Path of the file to append record values to, one per line; it is created \
                 when missing. An empty value (`file=`) writes to standard output instead. \
                 Unlike Kafka, the key must be present, so a forgotten `file` is an error \
                 rather than a silent write to standard output.",
            ),
    )
}

/// Appends record values to a file (or standard output). Runs `tasks.max` tasks with the
/// same config; they all append to the same file.
#[derive(Debug, Default)]
pub struct FileStreamSinkConnector {
    config: ConfigMap,
}

#[async_trait]
impl Connector for FileStreamSinkConnector {
    fn config_def(&self) -> ConfigDef {
        sink_config_def()
    }

    async fn start(
        &mut self,
        config: &ConfigMap,
        _context: Arc<dyn ConnectorContext>,
    ) -> Result<()> {
        parse_config(&sink_config_def(), config)?;
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<ConfigMap>> {
        Ok(vec![self.config.clone(); max_tasks])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SinkConnector for FileStreamSinkConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(FileStreamSinkTask::new())
    }

    /// The sink keeps no offsets of its own, so any change is fine.
    fn alter_offsets(
        &self,
        _config: &ConfigMap,
        _offsets: &[(TopicPartition, Option<i64>)],
    ) -> Result<bool> {
        Ok(true)
    }
}

/// Writes record values as lines of a file or standard output.
///
/// ## Text of a value
///
/// A string is written as is, a bytes value as its raw bytes, and anything else as Java's
/// `String.valueOf` would render it (`null`, `42`, `1.0E10`, `Struct{a=1,b=x}`, `{k=v}`,
/// `[a, b]`, bytes inside a container as their signed values `[1, -2]`; see
/// `sluice_api::data::java_text`). Keys and headers are not written.
///
/// ## Buffering and durability
///
/// Lines are gathered in memory and written to the file in chunks of whole lines (so several
/// tasks appending to one file never split a line), whenever 1 MiB has gathered and on every
/// `flush`. The runtime calls `flush` before it commits the consumer offsets, so every record
/// whose offset is committed has been handed to the operating system and survives the
/// process being killed. Like Kafka's sink, it does not force the data to disk (no fsync).
/// A process killed during a write can leave the last chunk cut inside a line; the next task
/// to open the file ends that line first, so the records written again start on lines of
/// their own (the cut line stays, as a partial duplicate).
pub struct FileStreamSinkTask {
    /// `None` writes to standard output.
    file: Option<String>,
    output: Option<Box<dyn Write + Send>>,
    /// Whole lines not yet written.
    pending: Vec<u8>,
}

impl Default for FileStreamSinkTask {
    fn default() -> Self {
        Self::new()
    }
}

impl FileStreamSinkTask {
    /// A task that does nothing until started.
    pub fn new() -> Self {
        FileStreamSinkTask {
            file: None,
            output: None,
            pending: Vec::new(),
        }
    }

    /// Writes the gathered lines to the output.
    fn write_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let Some(output) = self.output.as_mut() else {
            return Err(ConnectError::connect(
                "FileStreamSinkTask was given records before it was started",
            ));
        };
        output
            .write_all(&self.pending)
            .map_err(|e| write_error(self.file.as_deref(), e))?;
        self.pending.clear();
        Ok(())
    }
}

fn write_error(file: Option<&str>, e: io::Error) -> ConnectError {
    match file {
        Some(name) => ConnectError::io(
            format!("Couldn't write to file '{name}' for FileStreamSinkTask"),
            e,
        ),
        None => ConnectError::io(
            "Couldn't write to standard output for FileStreamSinkTask",
            e,
        ),
    }
}

/// Ends the file's last line when it was cut short, so the next line starts on its own.
///
/// A writer killed during a write (kill -9, a crash) can leave part of a chunk: the kernel
/// stops a write to a file between pages when the process is killed. Those records were not
/// committed and are written again in full; without a newline here the first of them would
/// be glued to the cut line.
fn end_cut_line(file: &mut std::fs::File, name: &str) -> io::Result<()> {
    if file.metadata()?.len() == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::End(-1))?;
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        tracing::warn!(file = %name, "The sink file ended in the middle of a line (an earlier writer stopped during a write); ending that line before appending.");
        file.write_all(b"\n")?;
    }
    Ok(())
}

/// Appends the value's text and a newline.
fn append_line(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        Value::Bytes(b) => out.extend_from_slice(b),
        other => {
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{}", JavaText::new(other, BytesText::SignedList));
        }
    }
    out.push(b'\n');
}

#[async_trait]
impl SinkTask for FileStreamSinkTask {
    /// Opens the file for appending, creating it if needed. Fails with
    /// `Couldn't find or create file '<f>' for FileStreamSinkTask`.
    async fn start(&mut self, config: &ConfigMap, _context: SinkTaskContext) -> Result<()> {
        let parsed = parse_config(&sink_config_def(), config)?;
        self.file = configured_file(&parsed);
        self.pending = Vec::with_capacity(WRITE_THRESHOLD + WRITE_THRESHOLD / 4);
        self.output = Some(match &self.file {
            None => Box::new(io::stdout()),
            Some(name) => {
                let mut file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .read(true)
                    .open(name)
                    .map_err(|e| ConnectError::Connect {
                        message: format!(
                            "Couldn't find or create file '{name}' for FileStreamSinkTask"
                        ),
                        source: Some(Box::new(e)),
                    })?;
                end_cut_line(&mut file, name).map_err(|e| write_error(Some(name), e))?;
                Box::new(file)
            }
        });
        Ok(())
    }

    /// Appends the batch's lines with one write per batch (more for very large batches), so
    /// the file follows the topic closely; `flush` makes sure nothing is left behind.
    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        for record in &records {
            append_line(&mut self.pending, &record.record.value);
            if self.pending.len() >= WRITE_THRESHOLD {
                self.write_pending()?;
            }
        }
        self.write_pending()
    }

    /// Hands every line given so far to the operating system.
    async fn flush(&mut self, _offsets: &HashMap<TopicPartition, i64>) -> Result<()> {
        self.write_pending()?;
        if let Some(output) = self.output.as_mut() {
            output
                .flush()
                .map_err(|e| write_error(self.file.as_deref(), e))?;
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        let written = self.flush(&HashMap::new()).await;
        self.output = None;
        written
    }

    /// Lines hold values only.
    fn reads_headers(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_hold_the_value_text() {
        let mut out = Vec::new();
        append_line(&mut out, &Value::from("plain"));
        append_line(&mut out, &Value::Null);
        append_line(&mut out, &Value::Int32(7));
        append_line(&mut out, &Value::Bytes(b"raw\xff".to_vec().into()));
        assert_eq!(out, b"plain\nnull\n7\nraw\xff\n");
    }

    #[test]
    fn one_task_config_per_task() {
        let connector = FileStreamSinkConnector {
            config: [("file".to_string(), "/x".to_string())].into(),
        };
        assert_eq!(connector.task_configs(3).unwrap().len(), 3);
        assert!(connector
            .alter_offsets(&ConfigMap::new(), &[(TopicPartition::new("t", 0), None)])
            .unwrap());
    }
}
