//! `sluice topics`: look at and change the topics of an embedded log or a Kafka cluster.
//!
//! The log is the embedded one of `--data-dir` (or of `--worker-config`), or the Kafka
//! cluster of `--bootstrap-server` (or of a worker config that sets `bootstrap.servers`),
//! with `--command-config` holding client settings (security) as for Kafka's own tools.
//!
//! On the embedded log, `list`, `describe` and `consume` (without `--group`) open the data
//! directory read-only, so they work while a worker owns it. `create`, `delete`, `produce`
//! and `consume --group` need the directory's lock and fail with a clear message while a
//! worker runs. On Kafka every command works while workers run.

use std::io::{BufRead, Write};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::{Args, Subcommand, ValueEnum};
use sluice_api::data::java_text::{civil_from_days, Civil};
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_log::{
    ConsumedRecord, ConsumerConfig, IsolationLevel, Log, LogError, LogHeader, NewTopic,
    NoopRebalanceListener, OffsetReset, ProduceRecord, ProducerConfig, SeekTo, Subscription,
    TopicPartition,
};
use sluice_runtime::backend::{open_log, KafkaSettings, LogBackend, OpenedLog};
use sluice_runtime::config_file::load_properties;
use sluice_runtime::worker_config::{EmbeddedLogSettings, DEFAULT_DATA_DIR};

use crate::standalone::log_options;

/// Where the log is: an embedded log's directory or a Kafka cluster.
#[derive(Args, Debug)]
pub struct LogLocation {
    /// Data directory of the embedded log.
    #[arg(
        long,
        value_name = "DIR",
        global = true,
        conflicts_with_all = ["worker_config", "bootstrap_server"]
    )]
    pub data_dir: Option<PathBuf>,
    /// Worker config whose `bootstrap.servers` (Kafka) or `embedded.log.*` settings locate
    /// the log.
    #[arg(
        long,
        value_name = "FILE",
        global = true,
        conflicts_with = "bootstrap_server"
    )]
    pub worker_config: Option<PathBuf>,
    /// Kafka cluster to use instead of an embedded log.
    #[arg(long, value_name = "HOST:PORT", global = true)]
    pub bootstrap_server: Option<String>,
    /// Kafka client settings (security.protocol, sasl.*, ssl.*, ...) for --bootstrap-server,
    /// as a .properties file.
    #[arg(
        long,
        value_name = "FILE",
        global = true,
        requires = "bootstrap_server"
    )]
    pub command_config: Option<PathBuf>,
}

/// A located log, not yet opened.
pub(crate) enum Located {
    /// An embedded log's directory and options.
    Embedded(PathBuf, EmbeddedLogOptions),
    /// A Kafka cluster.
    Kafka(KafkaSettings),
}

impl Located {
    /// How long to keep reading past the end offsets the log reports before deciding the
    /// end is reached: the Kafka test broker can report an end short of the last batch, so
    /// on Kafka the end is where a poll of this long finds nothing (partition EOF); the
    /// embedded log's ends are exact.
    pub(crate) fn end_slack(&self) -> Option<Duration> {
        match self {
            Located::Embedded(..) => None,
            Located::Kafka(_) => Some(Duration::from_millis(1000)),
        }
    }
}

/// How a command uses an embedded log (a Kafka cluster needs no lock).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reads only: works while a worker owns the directory.
    ReadOnly,
    /// Changes the log: needs the directory's lock.
    Writable,
}

/// Opens a located log.
pub(crate) async fn open(located: &Located, access: Access) -> Result<OpenedLog> {
    match located {
        Located::Embedded(dir, options) => {
            let log = match access {
                Access::ReadOnly => open_read_only(dir)?,
                Access::Writable => open_writable(dir, options.clone())?,
            };
            Ok(OpenedLog {
                log: log.clone(),
                embedded: Some(log),
                cluster_id: String::new(),
            })
        }
        Located::Kafka(settings) => Ok(open_log(&LogBackend::Kafka(settings.clone())).await?),
    }
}

/// `sluice topics` subcommands.
#[derive(Subcommand, Debug)]
pub enum TopicsCommand {
    /// List topic names.
    List,
    /// Show a topic's partitions (offset ranges) and settings.
    Describe {
        /// Topic name.
        topic: String,
    },
    /// Create a topic.
    Create {
        /// Topic name.
        topic: String,
        /// Number of partitions.
        #[arg(long, default_value_t = 1)]
        partitions: i32,
        /// Replication factor (Kafka; -1 for the cluster's default; the embedded log keeps
        /// one copy).
        #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
        replication_factor: i16,
        /// Topic setting as KEY=VALUE (e.g. cleanup.policy=compact); repeatable.
        #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_pair)]
        configs: Vec<(String, String)>,
    },
    /// Delete a topic and its data.
    Delete {
        /// Topic name.
        topic: String,
    },
    /// Send lines from standard input as records (one record per line).
    Produce {
        /// Topic name (created with the default partition count if missing).
        topic: String,
        /// Split each line at the first SEP into key and value.
        #[arg(long, value_name = "SEP")]
        key_separator: Option<String>,
        /// Write every record to this partition (default: by key, or spread).
        #[arg(long, value_name = "P")]
        partition: Option<i32>,
        /// Header KEY=VALUE added to every record; repeatable.
        #[arg(long = "header", value_name = "KEY=VALUE", value_parser = parse_pair)]
        headers: Vec<(String, String)>,
    },
    /// Print records, one per line.
    Consume(ConsumeArgs),
}

/// Options of `sluice topics consume`.
#[derive(Args, Debug)]
pub struct ConsumeArgs {
    /// Topic name.
    pub topic: String,
    /// Start at the first record held (the default without --group).
    #[arg(long, conflicts_with_all = ["offset", "from_end"])]
    pub from_beginning: bool,
    /// Start at this offset (needs --partition).
    #[arg(
        long,
        value_name = "N",
        requires = "partition",
        conflicts_with = "from_end"
    )]
    pub offset: Option<i64>,
    /// Start at the end: only records written from now on (use with --follow).
    #[arg(long)]
    pub from_end: bool,
    /// Read only this partition.
    #[arg(long, value_name = "P")]
    pub partition: Option<i32>,
    /// Keep waiting for new records instead of exiting at the end of the topic.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Exit after this many records.
    #[arg(long, value_name = "N")]
    pub max_messages: Option<u64>,
    /// Consume as this consumer group, starting at its committed offsets and committing
    /// what was printed (needs the data directory's lock).
    #[arg(long, value_name = "GROUP", conflicts_with_all = ["offset", "partition"])]
    pub group: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Which records of transactional producers to show: `read_committed` skips records
    /// of aborted transactions (e.g. to check an exactly-once source's output).
    #[arg(long, value_enum, default_value_t = Isolation::ReadUncommitted)]
    pub isolation: Isolation,
}

/// Transaction visibility of `consume` (Kafka's `isolation.level`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// Every record written, including those of aborted transactions.
    #[value(name = "read_uncommitted")]
    ReadUncommitted,
    /// Only committed transactional records and non-transactional ones.
    #[value(name = "read_committed")]
    ReadCommitted,
}

/// How `consume` prints records.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One readable line per record.
    Text,
    /// One JSON object per line.
    Json,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got '{s}'")),
    }
}

/// Resolves where the log is: a Kafka cluster or an embedded log's directory.
pub(crate) fn locate(location: &LogLocation) -> Result<Located> {
    if let Some(servers) = &location.bootstrap_server {
        let props = match &location.command_config {
            Some(file) => load_properties(file)?,
            None => sluice_api::config::ConfigMap::new(),
        };
        let mut settings = KafkaSettings::from_props(servers, &props)
            .map_err(|e| anyhow::anyhow!("--bootstrap-server: {}", e.message))?;
        // As for Kafka's tools, every setting of the file goes to every client.
        settings.common.extend(
            props
                .into_iter()
                .filter(|(k, _)| k != sluice_runtime::backend::BOOTSTRAP_TIMEOUT_MS),
        );
        return Ok(Located::Kafka(settings));
    }
    if let Some(file) = &location.worker_config {
        let props = load_properties(file)?;
        let settings = EmbeddedLogSettings::from_map(&props).map_err(|issues| {
            let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
            anyhow::anyhow!(
                "invalid embedded log settings in '{}': {}",
                file.display(),
                text.join("; ")
            )
        })?;
        let options = log_options(&settings);
        return match LogBackend::from_worker_props(&props, settings)
            .map_err(|e| anyhow::anyhow!("'{}': {e}", file.display()))?
        {
            LogBackend::Kafka(k) => Ok(Located::Kafka(k)),
            // A relative directory in a worker config is relative to where the worker
            // runs, as for Kafka's own paths.
            LogBackend::Embedded(e) => Ok(Located::Embedded(e.dir, options)),
        };
    }
    let dir = location
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    Ok(Located::Embedded(dir, EmbeddedLogOptions::default()))
}

pub(crate) fn open_read_only(dir: &Path) -> Result<Arc<EmbeddedLog>> {
    if !dir.exists() {
        bail!(
            "no embedded log at '{}' (use --data-dir or --worker-config to point at one)",
            dir.display()
        );
    }
    EmbeddedLog::open_read_only(dir)
        .with_context(|| format!("cannot open the embedded log at '{}'", dir.display()))
}

pub(crate) fn open_writable(dir: &Path, options: EmbeddedLogOptions) -> Result<Arc<EmbeddedLog>> {
    match EmbeddedLog::open(dir, options) {
        Ok(log) => Ok(log),
        Err(e @ LogError::Locked { .. }) => Err(anyhow::Error::new(e).context(
            "this command changes the log and needs its lock, which a running worker holds; \
             stop the worker first (list, describe and consume without --group work meanwhile)",
        )),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "cannot open the embedded log at '{}'",
            dir.display()
        ))),
    }
}

/// Runs a `sluice topics` subcommand.
pub async fn run(location: &LogLocation, command: TopicsCommand) -> Result<()> {
    let located = locate(location)?;
    match command {
        TopicsCommand::List => {
            let log = open(&located, Access::ReadOnly).await?;
            let listed = log.log.admin().list_topics().await;
            log.close().await?;
            for t in listed? {
                crate::out(format_args!("{t}"));
            }
        }
        TopicsCommand::Describe { topic } => {
            let log = open(&located, Access::ReadOnly).await?;
            let described = log.log.admin().describe_topic(&topic).await;
            log.close().await?;
            let d = described?;
            crate::out(format_args!(
                "Topic: {}  Partitions: {}",
                d.name,
                d.partitions.len()
            ));
            for (k, v) in &d.configs {
                crate::out(format_args!("  config {k}={v}"));
            }
            for p in &d.partitions {
                crate::out(format_args!(
                    "  partition {}  earliest offset {}  latest offset {}  records {}",
                    p.partition,
                    p.earliest_offset,
                    p.latest_offset,
                    p.latest_offset - p.earliest_offset
                ));
            }
        }
        TopicsCommand::Create {
            topic,
            partitions,
            replication_factor,
            configs,
        } => {
            if partitions < 1 {
                bail!("--partitions must be at least 1");
            }
            let log = open(&located, Access::Writable).await?;
            let mut new = NewTopic::new(&topic, partitions);
            new.replication_factor = replication_factor;
            new.configs = configs.into_iter().collect();
            let created = log.log.admin().create_topic(new).await;
            log.close().await?;
            created?;
            crate::out(format_args!(
                "Created topic {topic} with {partitions} partition(s)."
            ));
        }
        TopicsCommand::Delete { topic } => {
            let log = open(&located, Access::Writable).await?;
            let deleted = log.log.admin().delete_topic(&topic).await;
            log.close().await?;
            deleted?;
            crate::out(format_args!("Deleted topic {topic}."));
        }
        TopicsCommand::Produce {
            topic,
            key_separator,
            partition,
            headers,
        } => {
            let log = open(&located, Access::Writable).await?;
            let result = produce(
                log.log.as_ref(),
                &topic,
                key_separator.as_deref(),
                partition,
                &headers,
            )
            .await;
            log.close().await?;
            let count = result?;
            eprintln!("Produced {count} record(s) to topic {topic}.");
        }
        TopicsCommand::Consume(args) => {
            let access = match args.group {
                Some(_) => Access::Writable,
                None => Access::ReadOnly,
            };
            let log = open(&located, access).await?;
            let result = consume_from(log.log.as_ref(), &args, located.end_slack()).await;
            log.close().await?;
            result?;
        }
    }
    Ok(())
}

async fn produce(
    log: &dyn Log,
    topic: &str,
    key_separator: Option<&str>,
    partition: Option<i32>,
    headers: &[(String, String)],
) -> Result<u64> {
    const BATCH: usize = 4096;
    let producer = log.producer(ProducerConfig {
        client_id: "sluice-topics-produce".into(),
        ..Default::default()
    })?;
    let topic: Arc<str> = Arc::from(topic);
    let headers: Vec<LogHeader> = headers
        .iter()
        .map(|(k, v)| LogHeader {
            key: k.clone(),
            value: Some(Bytes::from(v.clone())),
        })
        .collect();
    let mut batch = Vec::with_capacity(BATCH);
    let mut pending = Vec::new();
    let mut count = 0u64;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    let mut index = 0usize;
    loop {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .context("cannot read standard input")?
            == 0
        {
            break;
        }
        index += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        let (key, value) = match key_separator {
            Some(sep) => match find(&line, sep.as_bytes()) {
                Some(at) => (
                    Some(Bytes::copy_from_slice(&line[..at])),
                    Bytes::copy_from_slice(&line[at + sep.len()..]),
                ),
                None => bail!(
                    "line {index} has no key separator '{sep}' ({count} record(s) were produced before it)"
                ),
            },
            None => (None, Bytes::copy_from_slice(&line)),
        };
        batch.push(ProduceRecord {
            topic: topic.clone(),
            partition,
            key,
            value: Some(value),
            headers: headers.clone(),
            timestamp: None,
        });
        if batch.len() == BATCH {
            count += batch.len() as u64;
            pending.push(producer.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))));
        }
    }
    if !batch.is_empty() {
        count += batch.len() as u64;
        pending.push(producer.send(batch));
    }
    for ack in pending {
        ack.await?;
    }
    producer.flush().await?;
    Ok(count)
}

/// Position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Prints records; without `--follow`, stops at the end offsets the log reports when it
/// starts, then (with `end_slack`) keeps reading until a poll of that long finds nothing.
async fn consume_from(
    log: &dyn Log,
    args: &ConsumeArgs,
    end_slack: Option<Duration>,
) -> Result<()> {
    let description = log.admin().describe_topic(&args.topic).await?;
    let partitions: Vec<i32> = match args.partition {
        Some(p) => {
            if !description.partitions.iter().any(|d| d.partition == p) {
                bail!("topic '{}' has no partition {p}", args.topic);
            }
            vec![p]
        }
        None => description.partitions.iter().map(|d| d.partition).collect(),
    };
    let topic: Arc<str> = Arc::from(args.topic.as_str());
    let mut consumer = log.consumer(ConsumerConfig {
        client_id: "sluice-topics-consume".into(),
        group_id: args.group.clone(),
        auto_offset_reset: if args.from_end {
            OffsetReset::Latest
        } else {
            OffsetReset::Earliest
        },
        max_poll_records: 1000,
        isolation_level: match args.isolation {
            Isolation::ReadUncommitted => IsolationLevel::ReadUncommitted,
            Isolation::ReadCommitted => IsolationLevel::ReadCommitted,
        },
        ..Default::default()
    })?;
    let tps: Vec<TopicPartition> = partitions
        .iter()
        .map(|p| TopicPartition::new(topic.clone(), *p))
        .collect();
    let mut listener = NoopRebalanceListener;
    if args.group.is_some() {
        consumer
            .subscribe(Subscription::Topics(vec![args.topic.clone()]))
            .await?;
    } else {
        consumer.assign(&tps).await?;
        for tp in &tps {
            let to = match (args.offset, args.from_end) {
                (Some(o), _) => SeekTo::Offset(o),
                (None, true) => SeekTo::End,
                (None, false) => SeekTo::Beginning,
            };
            consumer.seek(tp, to)?;
        }
    }
    // Without --follow, stop at the end offsets as they are now.
    let ends: Vec<(i32, i64)> = description
        .partitions
        .iter()
        .filter(|d| partitions.contains(&d.partition))
        .map(|d| (d.partition, d.latest_offset))
        .collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut printed = 0u64;
    let mut positions: Vec<(i32, i64)> = Vec::new();
    let mut idle_polls = 0;
    // Past the reported ends, reading on until a poll finds nothing.
    let mut settling_for: Option<Duration> = None;
    loop {
        if args.max_messages.is_some_and(|m| printed >= m) {
            break;
        }
        if !args.follow {
            let done = ends.iter().all(|(p, end)| {
                let tp = TopicPartition::new(topic.clone(), *p);
                consumer.position(&tp).is_some_and(|pos| pos >= *end)
            });
            // A group consumer gets its partitions during poll; give it a few polls.
            let assigned =
                args.group.is_none() || !consumer.assignment().is_empty() || idle_polls > 3;
            if done && assigned {
                match end_slack {
                    Some(slack) => settling_for = Some(slack),
                    None => break,
                }
            }
        }
        let records = consumer
            .poll(
                settling_for.unwrap_or(Duration::from_millis(500)),
                &mut listener,
            )
            .await?;
        if records.is_empty() {
            if settling_for.is_some() {
                break;
            }
            idle_polls += 1;
            continue;
        }
        for r in &records {
            if args.max_messages.is_some_and(|m| printed >= m) {
                break;
            }
            let line = match args.format {
                Format::Text => text_line(r),
                Format::Json => json_line(r),
            };
            if writeln!(out, "{line}").is_err() {
                return Ok(()); // reader went away (e.g. `| head`)
            }
            printed += 1;
            match positions.iter_mut().find(|(p, _)| *p == r.partition) {
                Some(slot) => slot.1 = r.offset + 1,
                None => positions.push((r.partition, r.offset + 1)),
            }
        }
        if out.flush().is_err() {
            return Ok(());
        }
    }
    drop(out);
    if args.group.is_some() && !positions.is_empty() {
        let offsets: Vec<(TopicPartition, i64)> = positions
            .into_iter()
            .map(|(p, o)| (TopicPartition::new(topic.clone(), p), o))
            .collect();
        consumer.commit(&offsets).await?;
    }
    consumer.close(&mut listener).await?;
    eprintln!("Consumed {printed} record(s).");
    Ok(())
}

/// Bytes as text: UTF-8 as is, other bytes as `\xNN`, control characters escaped.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn opt_text(bytes: &Option<Bytes>) -> String {
    bytes
        .as_deref()
        .map_or_else(|| "null".to_string(), escape_bytes)
}

fn text_line(r: &ConsumedRecord) -> String {
    let headers: Vec<String> = r
        .headers
        .iter()
        .map(|h| format!("{}={}", escape_bytes(h.key.as_bytes()), opt_text(&h.value)))
        .collect();
    format!(
        "partition={} offset={} timestamp={} ({}) key={} value={} headers=[{}]",
        r.partition,
        r.offset,
        iso8601(r.timestamp),
        r.timestamp,
        opt_text(&r.key),
        opt_text(&r.value),
        headers.join(", ")
    )
}

fn json_line(r: &ConsumedRecord) -> String {
    let text = |b: &Option<Bytes>| match b {
        Some(b) => serde_json::Value::String(escape_bytes(b)),
        None => serde_json::Value::Null,
    };
    let headers: Vec<serde_json::Value> = r
        .headers
        .iter()
        .map(|h| serde_json::json!({"key": h.key, "value": text(&h.value)}))
        .collect();
    serde_json::json!({
        "topic": &*r.topic,
        "partition": r.partition,
        "offset": r.offset,
        "timestamp": r.timestamp,
        "timestamp_iso": iso8601(r.timestamp),
        "key": text(&r.key),
        "value": text(&r.value),
        "headers": headers,
    })
    .to_string()
}

/// Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso8601(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let Civil { year, month, day } = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_704_164_645_678), "2024-01-02T03:04:05.678Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn bytes_are_escaped() {
        assert_eq!(escape_bytes(b"plain text"), "plain text");
        assert_eq!(escape_bytes(b"a\xffb\n"), "a\\xffb\\n");
        assert_eq!(escape_bytes("é".as_bytes()), "é");
        assert_eq!(escape_bytes(b"\x01"), "\\u{1}");
    }

    #[test]
    fn pairs() {
        assert_eq!(parse_pair("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(parse_pair("novalue").is_err());
        assert!(parse_pair("=x").is_err());
    }
}
