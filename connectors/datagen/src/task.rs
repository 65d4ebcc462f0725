//! DatagenTask: makes records of one quickstart, paced or as fast as possible.
//!
//! Records, offsets, pacing and cancellation are described on [`DatagenTask`].

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice_api::prelude::*;
use tokio::time::Instant;

use crate::config::{DatagenConfig, Pacing};
use crate::quickstart::Generator;
use crate::rng::SplitMix64;

/// Records per poll when unthrottled (and the most per poll when paced).
const BATCH_SIZE: u64 = 1000;
/// Longest a paced poll sleeps before returning.
const MAX_POLL_WAIT: Duration = Duration::from_secs(1);
/// How long a poll idles once the task has generated all its records.
const DONE_WAIT: Duration = Duration::from_millis(500);
/// How far behind schedule a paced task may fall before it forgives the backlog.
const MAX_LAG: Duration = Duration::from_secs(1);
/// Start of the synthetic clock of seeded runs: 2024-01-01T00:00:00Z.
const SYNTHETIC_EPOCH_MS: i64 = 1_704_067_200_000;

/// Key of the source partition map: the task number.
pub const TASK_FIELD: &str = "task";
/// Key of the source offset map: records generated so far.
pub const ITERATION_FIELD: &str = "iteration";

/// A running datagen task's state.
struct Running {
    topic: Arc<str>,
    generator: Generator,
    key_schema: SchemaRef,
    partition: Arc<OffsetMap>,
    /// Iteration of the next record.
    next: u64,
    /// Iterations to reach, if limited.
    limit: Option<u64>,
    pacing: Pacing,
    /// When the next record is due (paced tasks).
    due: Instant,
    /// Draws the random pauses of `max.interval`.
    pauses: SplitMix64,
    /// Whether event times follow the synthetic clock.
    synthetic_clock: bool,
    finished_logged: bool,
}

/// Generates demo records of one quickstart.
///
/// ## Records and offsets
///
/// Task `n` numbers its records 0, 1, 2, ... (its *iteration*). Record `i` is a pure function
/// of the seed, the task number and `i`, so batching, pauses and restarts do not change the
/// data. Its source partition is `{"task": n}` and its offset `{"iteration": i + 1}`, the
/// number of records generated so far; a restarted task continues at the committed count,
/// and `iterations` limits that count.
///
/// ## Pacing
///
/// Unthrottled, each poll returns a full batch of 1000 records at once. Paced (`max.interval`
/// or `rate`), the task keeps the due time of its next record, sleeps until it (at most a
/// second per poll) and then returns every record that has come due, so records are batched
/// without drifting from the configured rate. A task that falls more than a second behind
/// (the runtime was busy) forgives the backlog instead of bursting to catch up.
///
/// ## Cancellation
///
/// `poll` awaits only before it changes any state, so dropping a poll future loses nothing.
#[derive(Default)]
pub struct DatagenTask {
    running: Option<Running>,
}

impl DatagenTask {
    /// A task that does nothing until started.
    pub fn new() -> Self {
        DatagenTask::default()
    }
}

impl Running {
    fn remaining(&self) -> u64 {
        self.limit.map_or(u64::MAX, |l| l.saturating_sub(self.next))
    }

    /// The pause before the record after the current one.
    fn gap(&mut self) -> Duration {
        match self.pacing {
            Pacing::Unthrottled => Duration::ZERO,
            Pacing::Rate { gap } => gap,
            Pacing::RandomPause { max } => max.mul_f64(self.pauses.unit()),
        }
    }

    /// Records that are due now, advancing the schedule past them.
    fn due_count(&mut self, now: Instant) -> u64 {
        if matches!(self.pacing, Pacing::Unthrottled) {
            return BATCH_SIZE.min(self.remaining());
        }
        if now.saturating_duration_since(self.due) > MAX_LAG {
            self.due = now;
        }
        let wanted = BATCH_SIZE.min(self.remaining());
        let mut count = 0;
        while count < wanted && self.due <= now {
            count += 1;
            let gap = self.gap();
            self.due += gap;
        }
        count
    }

    fn generate(&mut self, count: u64) -> Result<Vec<SourceRecord>> {
        let wall_ms = wall_clock_ms();
        let mut records = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let iteration = self.next;
            let event_time = if self.synthetic_clock {
                SYNTHETIC_EPOCH_MS.saturating_add((iteration as i64).saturating_mul(1000))
            } else {
                wall_ms
            };
            let generated = self.generator.generate(iteration, event_time)?;
            self.next += 1;
            records.push(SourceRecord {
                source_partition: self.partition.clone(),
                source_offset: OffsetMap::new().with(ITERATION_FIELD, self.next as i64),
                record: ConnectRecord {
                    key_schema: Some(self.key_schema.clone()),
                    key: Value::String(generated.key),
                    ..ConnectRecord::new(
                        self.topic.clone(),
                        self.generator.schema().cloned(),
                        generated.value,
                    )
                },
            });
        }
        Ok(records)
    }
}

#[async_trait]
impl SourceTask for DatagenTask {
    /// Parses the config and resumes at the committed iteration. A stored iteration that is
    /// not a non-negative integer fails the start.
    async fn start(&mut self, config: &ConfigMap, context: SourceTaskContext) -> Result<()> {
        let config = DatagenConfig::parse(config)?;
        let task = u64::from(context.task_id);
        let partition = OffsetMap::new().with(TASK_FIELD, i64::from(context.task_id));
        let next = match context
            .offsets
            .offset(&partition)
            .as_ref()
            .and_then(|o| o.get(ITERATION_FIELD))
        {
            None | Some(Value::Null) => 0,
            Some(value) => match crate::integer(value) {
                Some(n) if n >= 0 => n.unsigned_abs(),
                _ => {
                    return Err(ConnectError::connect(format!(
                        "Offset iteration of datagen task {task} is not a non-negative integer: {value:?}"
                    )))
                }
            },
        };
        let seed = config.seed.unwrap_or_else(rand::random);
        let generator = Generator::new(
            config.quickstart,
            config.value_schema,
            seed,
            task,
            config.task_count,
        )?;
        let mut running = Running {
            topic: Arc::from(config.topic),
            generator,
            key_schema: Schema::required(SchemaType::String),
            partition: Arc::new(partition),
            next,
            limit: config.iterations,
            pacing: config.pacing,
            due: Instant::now(),
            pauses: SplitMix64::new(seed ^ 0x5EED),
            synthetic_clock: config.seed.is_some(),
            finished_logged: false,
        };
        // Like Confluent's datagen, the first record also waits its pause.
        let first_gap = running.gap();
        running.due += first_gap;
        tracing::info!(
            quickstart = %config.quickstart,
            task,
            iteration = next,
            "Datagen task starting."
        );
        self.running = Some(running);
        Ok(())
    }

    /// Returns the records due now (a full batch when unthrottled), or an empty batch after
    /// a pause when none is due or the task has generated all its records.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let Some(running) = self.running.as_mut() else {
            return Err(ConnectError::connect(
                "datagen task polled before it was started",
            ));
        };
        if running.remaining() == 0 {
            if !running.finished_logged {
                tracing::info!(
                    iterations = running.next,
                    "Datagen task has generated all its records; it stays idle."
                );
                running.finished_logged = true;
            }
            tokio::time::sleep(DONE_WAIT).await;
            return Ok(Vec::new());
        }
        let now = Instant::now();
        if running.due > now && !matches!(running.pacing, Pacing::Unthrottled) {
            tokio::time::sleep_until(running.due.min(now + MAX_POLL_WAIT)).await;
        }
        let count = running.due_count(Instant::now());
        running.generate(count)
    }

    async fn stop(&mut self) -> Result<()> {
        self.running = None;
        Ok(())
    }
}

/// Milliseconds since the epoch (0 if the clock is before it).
fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
