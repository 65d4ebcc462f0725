//! `sluice dlq`: look inside a dead-letter queue and send its records back once their cause
//! is fixed.
//!
//! `inspect` prints each dead-letter record with the `__connect.errors.*` headers a sink task
//! added (stage, original topic/partition/offset, error) in readable form. It opens the log
//! read-only, so it works while a worker runs.
//!
//! `replay` copies records back to their original topic (from `__connect.errors.topic`) or to
//! `--to`, without the error headers. Progress is stored as the committed offsets of a
//! consumer group, and each batch is written in a transaction together with those offsets:
//! an interrupted replay resumes where it stopped and never sends a record twice. Records a
//! `--filter` leaves out are passed over; since progress is per group, the group name is
//! derived from the DLQ, the destination and the filters, so replaying with another filter
//! starts from the beginning of the queue for that filter.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::{Args, Subcommand};
use sluice_log::{
    ConsumedRecord, ConsumerConfig, IsolationLevel, Log, LogHeader, NoopRebalanceListener,
    ProduceRecord, ProducerConfig, SeekTo, TopicPartition,
};

use crate::topics::{escape_bytes, iso8601, locate, open, Access, LogLocation};

/// Prefix of the context headers Kafka Connect adds to dead-letter records.
const ERROR_HEADER_PREFIX: &str = "__connect.errors.";

/// `sluice dlq` subcommands.
#[derive(Subcommand, Debug)]
pub enum DlqCommand {
    /// Print the records of a dead-letter queue with their error context.
    Inspect {
        /// The dead-letter topic.
        topic: String,
        /// Only records matching FIELD=VALUE (see `replay --help` for fields); repeatable.
        #[arg(long = "filter", value_name = "FIELD=VALUE", value_parser = parse_filter)]
        filters: Vec<Filter>,
        /// Stop after this many records.
        #[arg(long, value_name = "N")]
        max_messages: Option<u64>,
    },
    /// Send dead-letter records back to their original topic (or to --to), exactly once.
    #[command(after_help = REPLAY_HELP)]
    Replay(ReplayArgs),
}

const REPLAY_HELP: &str = "\
Filters (FIELD=VALUE, all must match):
  topic=T        original topic is T            stage=S      failed in stage S (e.g. VALUE_CONVERTER)
  partition=P    original partition is P        connector=C  written by connector C
  task=N         written by task N              class=X      failing class is X
  error=TEXT     error message contains TEXT

Examples:
  sluice dlq inspect orders-dlq
  sluice dlq replay --from orders-dlq
  sluice dlq replay --from orders-dlq --to orders-retry --filter stage=TASK_PUT

The log's lock is needed: stop the worker first. Progress is kept as consumer group
'sluice-dlq-replay-<dlq>[...]' (or --group): run the same command again to continue.";

/// Arguments of `sluice dlq replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The dead-letter topic to read.
    #[arg(long = "from", value_name = "DLQ_TOPIC")]
    from: String,
    /// Write every record to this topic instead of its original one.
    #[arg(long, value_name = "TOPIC")]
    to: Option<String>,
    /// Only records matching FIELD=VALUE; repeatable.
    #[arg(long = "filter", value_name = "FIELD=VALUE", value_parser = parse_filter)]
    filters: Vec<Filter>,
    /// Consumer group that keeps the replay's progress (default derived from the arguments).
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
    /// Records per transaction.
    #[arg(long, default_value_t = 500, value_name = "N")]
    batch_size: usize,
    /// Stop after this many replayed records (the rest waits for the next run).
    #[arg(long, value_name = "N")]
    max_messages: Option<u64>,
}

/// One `FIELD=VALUE` condition on a dead-letter record's error headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    field: FilterField,
    value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilterField {
    Topic,
    Partition,
    Stage,
    Connector,
    Task,
    Class,
    Error,
}

impl FilterField {
    fn header(self) -> &'static str {
        match self {
            FilterField::Topic => "__connect.errors.topic",
            FilterField::Partition => "__connect.errors.partition",
            FilterField::Stage => "__connect.errors.stage",
            FilterField::Connector => "__connect.errors.connector.name",
            FilterField::Task => "__connect.errors.task.id",
            FilterField::Class => "__connect.errors.class.name",
            FilterField::Error => "__connect.errors.exception.message",
        }
    }
}

fn parse_filter(s: &str) -> Result<Filter, String> {
    let (field, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected FIELD=VALUE, got '{s}'"))?;
    let field = match field {
        "topic" => FilterField::Topic,
        "partition" => FilterField::Partition,
        "stage" => FilterField::Stage,
        "connector" => FilterField::Connector,
        "task" => FilterField::Task,
        "class" => FilterField::Class,
        "error" => FilterField::Error,
        other => {
            return Err(format!(
                "unknown filter field '{other}'; use topic, partition, stage, connector, task, \
                 class or error"
            ))
        }
    };
    Ok(Filter {
        field,
        value: value.to_owned(),
    })
}

impl Filter {
    fn matches(&self, record: &ConsumedRecord) -> bool {
        let Some(actual) = header_text(record, self.field.header()) else {
            return false;
        };
        match self.field {
            FilterField::Error => actual.contains(&self.value),
            _ => actual == self.value,
        }
    }
}

/// The last value of a header as UTF-8 text.
fn header_text<'a>(record: &'a ConsumedRecord, key: &str) -> Option<&'a str> {
    record
        .headers
        .iter()
        .rev()
        .find(|h| h.key == key)
        .and_then(|h| h.value.as_deref())
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// Runs a `sluice dlq` subcommand.
pub async fn run(location: &LogLocation, command: DlqCommand) -> Result<()> {
    let located = locate(location)?;
    match command {
        DlqCommand::Inspect {
            topic,
            filters,
            max_messages,
        } => {
            let log = open(&located, Access::ReadOnly).await?;
            let result = inspect(
                log.log.as_ref(),
                located.end_slack(),
                &topic,
                &filters,
                max_messages,
            )
            .await;
            log.close().await?;
            result
        }
        DlqCommand::Replay(args) => {
            let log = open(&located, Access::Writable).await?;
            let result = replay(log.log.as_ref(), located.end_slack(), &args).await;
            log.close().await?;
            result
        }
    }
}

/// Reads `topic` from `start` offsets to the end offsets as they are now (then, with
/// `end_slack`, on until a poll of that long finds nothing: see
/// [`crate::topics::Located::end_slack`]), calling `each` per batch. Returns early when
/// `each` returns false.
async fn read_to_end(
    log: &dyn Log,
    end_slack: Option<Duration>,
    topic: &str,
    client_id: &str,
    start: &[(TopicPartition, Option<i64>)],
    mut each: impl FnMut(&[ConsumedRecord]) -> Result<bool>,
) -> Result<()> {
    let description = log
        .admin()
        .describe_topic(topic)
        .await
        .with_context(|| format!("cannot read topic '{topic}'"))?;
    let mut consumer = log.consumer(ConsumerConfig {
        client_id: client_id.into(),
        isolation_level: IsolationLevel::ReadCommitted,
        max_poll_records: 1000,
        ..Default::default()
    })?;
    let tps: Vec<TopicPartition> = start.iter().map(|(tp, _)| tp.clone()).collect();
    consumer.assign(&tps).await?;
    for (tp, offset) in start {
        consumer.seek(tp, offset.map_or(SeekTo::Beginning, SeekTo::Offset))?;
    }
    let ends: Vec<(TopicPartition, i64)> = description
        .partitions
        .iter()
        .map(|d| (TopicPartition::new(topic, d.partition), d.latest_offset))
        .collect();
    let mut listener = NoopRebalanceListener;
    let mut settling_for = None;
    loop {
        let done = ends
            .iter()
            .all(|(tp, end)| consumer.position(tp).is_none_or(|pos| pos >= *end));
        if done {
            match end_slack {
                Some(slack) => settling_for = Some(slack),
                None => break,
            }
        }
        let records = consumer
            .poll(
                settling_for.unwrap_or(Duration::from_millis(200)),
                &mut listener,
            )
            .await?;
        if records.is_empty() && settling_for.is_some() {
            break;
        }
        if !records.is_empty() && !each(&records)? {
            break;
        }
    }
    consumer.close(&mut listener).await?;
    Ok(())
}

async fn partitions_of(log: &dyn Log, topic: &str) -> Result<Vec<TopicPartition>> {
    let description = log
        .admin()
        .describe_topic(topic)
        .await
        .with_context(|| format!("cannot read topic '{topic}'"))?;
    Ok(description
        .partitions
        .iter()
        .map(|d| TopicPartition::new(topic, d.partition))
        .collect())
}

async fn inspect(
    log: &dyn Log,
    end_slack: Option<Duration>,
    topic: &str,
    filters: &[Filter],
    max_messages: Option<u64>,
) -> Result<()> {
    let start: Vec<(TopicPartition, Option<i64>)> = partitions_of(log, topic)
        .await?
        .into_iter()
        .map(|tp| (tp, None))
        .collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut shown = 0u64;
    let mut broken_pipe = false;
    read_to_end(
        log,
        end_slack,
        topic,
        "sluice-dlq-inspect",
        &start,
        |records| {
            for r in records {
                if max_messages.is_some_and(|m| shown >= m) {
                    return Ok(false);
                }
                if !filters.iter().all(|f| f.matches(r)) {
                    continue;
                }
                if write!(out, "{}", describe(r)).is_err() {
                    broken_pipe = true;
                    return Ok(false);
                }
                shown += 1;
            }
            Ok(out.flush().is_ok())
        },
    )
    .await?;
    drop(out);
    if !broken_pipe {
        eprintln!("{shown} dead-letter record(s).");
    }
    Ok(())
}

/// A multi-line, readable description of one dead-letter record.
fn describe(r: &ConsumedRecord) -> String {
    let h = |name: &str| header_text(r, &format!("{ERROR_HEADER_PREFIX}{name}"));
    let mut text = format!(
        "{}[{}]@{}  {}\n",
        r.topic,
        r.partition,
        r.offset,
        iso8601(r.timestamp)
    );
    if let Some(stage) = h("stage") {
        text.push_str(&format!(
            "  failed in:  {stage} ({})\n",
            h("class.name").unwrap_or("unknown class")
        ));
    }
    if let Some(origin) = h("topic") {
        text.push_str(&format!(
            "  came from:  {origin}[{}]@{}\n",
            h("partition").unwrap_or("?"),
            h("offset").unwrap_or("?")
        ));
    }
    if let Some(connector) = h("connector.name") {
        text.push_str(&format!(
            "  connector:  {connector}, task {}\n",
            h("task.id").unwrap_or("?")
        ));
    }
    match (h("exception.class.name"), h("exception.message")) {
        (None, None) => {}
        (class, message) => text.push_str(&format!(
            "  error:      {}{}\n",
            class.map(|c| format!("{c}: ")).unwrap_or_default(),
            message.unwrap_or("(no message)")
        )),
    }
    if h("stage").is_none() && h("exception.message").is_none() {
        text.push_str(
            "  (no error context headers: enable errors.deadletterqueue.context.headers.enable)\n",
        );
    }
    let bytes = |b: &Option<Bytes>| b.as_deref().map_or_else(|| "null".into(), escape_bytes);
    text.push_str(&format!("  key:        {}\n", bytes(&r.key)));
    text.push_str(&format!("  value:      {}\n", bytes(&r.value)));
    for header in r
        .headers
        .iter()
        .filter(|h| !h.key.starts_with(ERROR_HEADER_PREFIX))
    {
        text.push_str(&format!(
            "  header:     {}={}\n",
            escape_bytes(header.key.as_bytes()),
            bytes(&header.value)
        ));
    }
    text
}

/// The record to write back: original key, value, timestamp and headers without the error
/// context. `None` when it names no original topic and no `--to` was given.
fn replayed(r: &ConsumedRecord, to: Option<&str>) -> Option<ProduceRecord> {
    let original_topic = header_text(r, "__connect.errors.topic");
    let topic: Arc<str> = to.or(original_topic)?.into();
    // Keep the original partition when going back to the original topic.
    let partition = match (to, header_text(r, "__connect.errors.partition")) {
        (None, Some(p)) => p.parse().ok(),
        _ => None,
    };
    let headers: Vec<LogHeader> = r
        .headers
        .iter()
        .filter(|h| !h.key.starts_with(ERROR_HEADER_PREFIX))
        .cloned()
        .collect();
    Some(ProduceRecord {
        topic,
        partition,
        key: r.key.clone(),
        value: r.value.clone(),
        headers,
        timestamp: Some(r.timestamp),
    })
}

fn default_group(args: &ReplayArgs) -> String {
    let mut group = format!("sluice-dlq-replay-{}", args.from);
    if let Some(to) = &args.to {
        group.push_str(&format!("-to-{to}"));
    }
    for f in &args.filters {
        group.push_str(&format!("-{:?}={}", f.field, f.value).to_lowercase());
    }
    group
}

async fn replay(log: &dyn Log, end_slack: Option<Duration>, args: &ReplayArgs) -> Result<()> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let group = args.group.clone().unwrap_or_else(|| default_group(args));
    let tps = partitions_of(log, &args.from).await?;
    let committed = {
        let consumer = log.consumer(ConsumerConfig {
            client_id: "sluice-dlq-replay".into(),
            group_id: Some(group.clone()),
            ..Default::default()
        })?;
        consumer.committed(&tps).await?
    };
    let resumed = committed.iter().any(|(_, o)| o.is_some());
    eprintln!(
        "{} '{}' (progress kept as group '{group}')...",
        if resumed {
            "Resuming replay of"
        } else {
            "Replaying"
        },
        args.from
    );
    let producer = log.producer(ProducerConfig {
        client_id: "sluice-dlq-replay".into(),
        transactional_id: Some(group.clone()),
        ..Default::default()
    })?;
    producer.init_transactions().await?;

    let mut start = committed;
    let mut totals = ReplayTotals::default();
    loop {
        let round = read_round(log, end_slack, args, &start, &mut totals).await?;
        if round.is_empty() {
            break;
        }
        for (records, offsets) in round {
            producer.begin_transaction().await?;
            let n = records.len() as u64;
            let sent = async {
                // A transactional send is acknowledged by the commit, so wait for it after.
                let delivery = (!records.is_empty()).then(|| producer.send(records));
                producer
                    .send_offsets_to_transaction(&offsets, &group)
                    .await?;
                producer.commit_transaction().await?;
                if let Some(delivery) = delivery {
                    delivery.await?;
                }
                Ok::<(), sluice_log::LogError>(())
            }
            .await;
            if let Err(e) = sent {
                producer.abort_transaction().await.ok();
                return Err(anyhow::Error::new(e).context(format!(
                    "replay stopped after {} record(s); run the same command again to \
                     continue",
                    totals.written
                )));
            }
            totals.written += n;
            for (tp, next) in offsets {
                if let Some(slot) = start.iter_mut().find(|(p, _)| *p == tp) {
                    slot.1 = Some(next);
                }
            }
        }
        if args.max_messages.is_some_and(|m| totals.matched >= m) {
            break;
        }
    }
    eprintln!(
        "Replayed {} record(s){}; passed over {} not matching the filters{}.",
        totals.written,
        args.to
            .as_ref()
            .map(|t| format!(" to '{t}'"))
            .unwrap_or_default(),
        totals.passed_over,
        if totals.unroutable > 0 {
            format!(
                ", {} without a __connect.errors.topic header (use --to to send them)",
                totals.unroutable
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

/// Counts over a whole replay.
#[derive(Debug, Default)]
struct ReplayTotals {
    matched: u64,
    written: u64,
    passed_over: u64,
    unroutable: u64,
}

/// Batches of a transaction each: the records to write and the DLQ positions they complete.
type Round = Vec<(Vec<ProduceRecord>, Vec<(TopicPartition, i64)>)>;

/// Reads a bounded number of batches from `start`; empty when nothing is left.
async fn read_round(
    log: &dyn Log,
    end_slack: Option<Duration>,
    args: &ReplayArgs,
    start: &[(TopicPartition, Option<i64>)],
    totals: &mut ReplayTotals,
) -> Result<Round> {
    const BATCHES_PER_ROUND: usize = 8;
    let mut batches: Round = Vec::new();
    let mut pending: Vec<ProduceRecord> = Vec::new();
    let mut positions: Vec<(TopicPartition, i64)> = Vec::new();
    read_to_end(
        log,
        end_slack,
        &args.from,
        "sluice-dlq-replay",
        start,
        |records| {
            for r in records {
                if args.max_messages.is_some_and(|m| totals.matched >= m) {
                    return Ok(false);
                }
                if args.filters.iter().all(|f| f.matches(r)) {
                    match replayed(r, args.to.as_deref()) {
                        Some(out) => {
                            pending.push(out);
                            totals.matched += 1;
                        }
                        None => totals.unroutable += 1,
                    }
                } else {
                    totals.passed_over += 1;
                }
                let tp = TopicPartition::new(r.topic.clone(), r.partition);
                match positions.iter_mut().find(|(p, _)| *p == tp) {
                    Some(slot) => slot.1 = r.offset + 1,
                    None => positions.push((tp, r.offset + 1)),
                }
                if pending.len() >= args.batch_size {
                    batches.push((std::mem::take(&mut pending), positions.clone()));
                }
            }
            Ok(batches.len() < BATCHES_PER_ROUND)
        },
    )
    .await?;
    if !positions.is_empty()
        && (!pending.is_empty() || batches.last().map(|b| &b.1) != Some(&positions))
    {
        batches.push((pending, positions));
    }
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dead_letter() -> ConsumedRecord {
        let h = |k: &str, v: &str| LogHeader {
            key: k.into(),
            value: Some(Bytes::from(v.to_owned())),
        };
        ConsumedRecord {
            topic: "orders-dlq".into(),
            partition: 0,
            offset: 7,
            timestamp: 1_700_000_000_000,
            timestamp_type: sluice_log::TimestampType::CreateTime,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(b"{bad")),
            headers: vec![
                h("trace", "t1"),
                h("__connect.errors.topic", "orders"),
                h("__connect.errors.partition", "3"),
                h("__connect.errors.offset", "41"),
                h("__connect.errors.stage", "VALUE_CONVERTER"),
                h("__connect.errors.exception.message", "Unexpected character"),
            ],
        }
    }

    #[test]
    fn filters_match_error_headers() {
        let r = dead_letter();
        assert!(parse_filter("stage=VALUE_CONVERTER").unwrap().matches(&r));
        assert!(!parse_filter("stage=TASK_PUT").unwrap().matches(&r));
        assert!(parse_filter("error=Unexpected").unwrap().matches(&r));
        assert!(parse_filter("topic=orders").unwrap().matches(&r));
        assert!(!parse_filter("connector=x").unwrap().matches(&r));
        assert!(parse_filter("colour=red")
            .unwrap_err()
            .contains("unknown filter field"));
        assert!(parse_filter("stage").unwrap_err().contains("FIELD=VALUE"));
    }

    #[test]
    fn replayed_record_drops_error_headers_and_keeps_the_rest() {
        let r = dead_letter();
        let back = replayed(&r, None).unwrap();
        assert_eq!(&*back.topic, "orders");
        assert_eq!(back.partition, Some(3));
        assert_eq!(back.key, r.key);
        assert_eq!(back.value, r.value);
        assert_eq!(back.headers.len(), 1);
        assert_eq!(back.headers[0].key, "trace");
        let elsewhere = replayed(&r, Some("retry")).unwrap();
        assert_eq!(&*elsewhere.topic, "retry");
        assert_eq!(elsewhere.partition, None);
        let mut bare = r.clone();
        bare.headers.clear();
        assert!(replayed(&bare, None).is_none());
    }

    #[test]
    fn description_is_readable() {
        let text = describe(&dead_letter());
        assert!(text.contains("failed in:  VALUE_CONVERTER"), "{text}");
        assert!(text.contains("came from:  orders[3]@41"), "{text}");
        assert!(text.contains("value:      {bad"), "{text}");
        assert!(text.contains("header:     trace=t1"), "{text}");
    }
}
