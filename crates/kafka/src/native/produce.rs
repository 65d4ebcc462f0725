//! The producer's per-record call into librdkafka, made directly.
//!
//! rdkafka's safe `send` names the topic of every record by its name: it allocates a C
//! string for the name, and librdkafka then looks the topic up under the client's lock and
//! takes and drops a reference to it, for every record. A source task sends millions of
//! records to a handful of topics, so this module keeps one librdkafka topic handle per
//! topic ([`TopicHandle`]) and hands each record to `rd_kafka_produceva` with that handle:
//! the same call rdkafka makes, with the same message flags, key, value, partition,
//! timestamp, headers and delivery opaque, minus the lookup. Measured on the Kafka source
//! benchmark's records, it takes about a quarter off the CPU time of the sending thread
//! (docs/PERFORMANCE.md, "The producer's topic handles"). Consecutive records with neither
//! a timestamp nor headers go to `rd_kafka_produce_batch` in one call
//! ([`TopicHandle::produce_run`]), which reads the clock and takes the topic's lock once per
//! run rather than per record.
//!
//! Each record's delivery opaque is a [`RecordSlot`]: a pointer to the record's entry in
//! its [`Batch`], where the delivery report writes the record's metadata. A batch lends its
//! in-flight records one reference to itself when it is created, and the record completed
//! last gives it back, so the sending thread and librdkafka's delivery-report thread share
//! no per-record allocation or reference count (a boxed slot holding an `Arc` of its batch
//! cost an allocation and an atomic increment on one thread, a free and an atomic decrement
//! on the other, for every record).

use std::ffi::{c_void, CString};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{Producer, ThreadedProducer};
use rdkafka::IntoOpaque;
use sluice_log::{LogError, LogHeader, LogResult, ProduceRecord, RecordMetadata};
use tokio::sync::oneshot;

use crate::partitioner::PartitionCount;
use crate::producer::DeliveryContext;

/// librdkafka's partition number for "let the partitioner choose" (`RD_KAFKA_PARTITION_UA`).
pub(crate) const PARTITION_UNASSIGNED: i32 = -1;

/// The most records one `rd_kafka_produce_batch` call takes (its count is a C `int`).
const MAX_RUN: usize = 1 << 16;

/// How long a background metadata request for a topic's partition count may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// The producer type whose records this module sends.
pub(crate) type NativeProducer = ThreadedProducer<DeliveryContext>;

/// A librdkafka topic handle of one producer, released when dropped.
///
/// The handle keeps its producer alive: librdkafka's topic objects must not outlive the
/// client they belong to.
pub(crate) struct TopicHandle {
    name: Arc<str>,
    topic: NonNull<rdsys::rd_kafka_topic_t>,
    producer: Arc<NativeProducer>,
    /// The topic's partition count, for placing keyed records (see [`crate::partitioner`]).
    partitions: Arc<PartitionCount>,
}

// SAFETY: librdkafka's topic handles are reference counted and may be used and released
// from any thread (librdkafka's documentation: all its handles are thread-safe).
unsafe impl Send for TopicHandle {}
// SAFETY: as above; `produce` only passes the pointer to librdkafka.
unsafe impl Sync for TopicHandle {}

impl TopicHandle {
    /// The handle of `name` on `producer` (librdkafka creates the topic object, with the
    /// producer's topic settings, if it has none yet). Its partition count, once read, is
    /// trusted for `metadata_max_age`. `None` when the name holds a NUL byte or librdkafka
    /// refuses it.
    pub(crate) fn new(
        producer: &Arc<NativeProducer>,
        name: &Arc<str>,
        metadata_max_age: Duration,
    ) -> Option<TopicHandle> {
        let c_name = CString::new(&**name).ok()?;
        // SAFETY: the client pointer is valid while `producer` lives; `name` is a valid C
        // string for the call (librdkafka copies it); a NULL configuration means the
        // client's default topic configuration.
        let raw = unsafe {
            rdsys::rd_kafka_topic_new(
                producer.client().native_ptr(),
                c_name.as_ptr(),
                std::ptr::null_mut(),
            )
        };
        NonNull::new(raw).map(|topic| TopicHandle {
            name: Arc::clone(name),
            topic,
            producer: Arc::clone(producer),
            partitions: Arc::new(PartitionCount::unknown(metadata_max_age)),
        })
    }

    /// The topic's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The topic's partition count as last read from the cluster, `None` until the first
    /// read answers. A count that is due for a refresh is read again in the background
    /// (one metadata request, on a thread of its own, so sending never waits for it).
    pub(crate) fn partition_count(&self) -> Option<i32> {
        if self.partitions.claim_refresh() {
            let producer = Arc::clone(&self.producer);
            let name = Arc::clone(&self.name);
            let partitions = Arc::clone(&self.partitions);
            let spawned = std::thread::Builder::new()
                .name("sluice-kmeta".into())
                .spawn(move || {
                    let count = producer
                        .client()
                        .fetch_metadata(Some(&name), METADATA_TIMEOUT)
                        .ok()
                        .and_then(|m| {
                            let topic = m.topics().iter().find(|t| t.name() == &*name)?;
                            let n = topic.partitions().len();
                            (topic.error().is_none() && n > 0).then(|| i32::try_from(n).ok())?
                        });
                    partitions.refreshed(count);
                });
            if spawned.is_err() {
                self.partitions.refreshed(None);
            }
        }
        self.partitions.get()
    }

    /// Makes the partition count due for a refresh (librdkafka refused a partition it
    /// allowed).
    pub(crate) fn expire_partition_count(&self) {
        self.partitions.expire();
    }

    /// Queues `record` on this topic with `slot` as its delivery opaque: the delivery
    /// report hands the slot back to [`DeliveryContext`]. librdkafka copies the key, value
    /// and header bytes. On failure nothing is queued and the slot comes back with
    /// librdkafka's error code (`QueueFull` when its queue has no room).
    pub(crate) fn produce(
        &self,
        record: &ProduceRecord,
        slot: RecordSlot,
    ) -> Result<(), (RDKafkaErrorCode, RecordSlot)> {
        let headers = NativeHeaders::of(&record.headers);
        let opaque = slot.into_ptr();
        let args = [
            arg(rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_RKT, |u| {
                u.rkt = self.topic.as_ptr()
            }),
            arg(rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_PARTITION, |u| {
                u.i32_ = record.partition.unwrap_or(PARTITION_UNASSIGNED)
            }),
            arg(rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_MSGFLAGS, |u| {
                u.i = rdsys::RD_KAFKA_MSG_F_COPY
            }),
            arg(rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_KEY, |u| {
                u.mem = memory(record.key.as_deref())
            }),
            arg(rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_VALUE, |u| {
                u.mem = memory(record.value.as_deref())
            }),
            arg(rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_TIMESTAMP, |u| {
                u.i64_ = record.timestamp.unwrap_or(0)
            }),
            arg(rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_OPAQUE, |u| {
                u.ptr = opaque
            }),
            arg(rdsys::rd_kafka_vtype_t::RD_KAFKA_VTYPE_HEADERS, |u| {
                u.headers = headers
                    .as_ref()
                    .map_or(std::ptr::null_mut(), |h| h.raw.as_ptr())
            }),
        ];
        // SAFETY: the client and the topic handle are valid (`self` holds both); every
        // pointer in `args` points into `record`, `headers` or the slot, which outlive the
        // call; librdkafka copies key and value (RD_KAFKA_MSG_F_COPY) and only reads
        // `args`. The opaque is returned to us (below) unless the record was queued.
        let error = unsafe {
            rdsys::rd_kafka_produceva(
                self.producer.client().native_ptr(),
                args.as_ptr(),
                args.len(),
            )
        };
        if error.is_null() {
            // Queued: librdkafka owns the headers now and frees them with the message.
            if let Some(h) = headers {
                std::mem::forget(h);
            }
            return Ok(());
        }
        // SAFETY: `error` is the non-NULL error object librdkafka returned; it is read
        // once and then destroyed, as its contract asks.
        let code = unsafe {
            let code = rdsys::rd_kafka_error_code(error);
            rdsys::rd_kafka_error_destroy(error);
            code
        };
        // SAFETY: the record was not queued, so librdkafka did not keep the opaque: it is
        // still the slot `into_ptr` gave up above, returned to its owner exactly once.
        let slot = unsafe { RecordSlot::from_ptr(opaque) };
        Err((code.into(), slot))
    }

    /// Queues `run` on this topic in one librdkafka call (`rd_kafka_produce_batch`), each
    /// record on its partition (or through librdkafka's partitioner) with its delivery
    /// slot. Every record must be free of a timestamp and headers: the call has no place
    /// for either, and librdkafka stamps each record with the time of the call, as it does
    /// a record sent without a timestamp. One call costs librdkafka one clock read and one
    /// topic lock for the whole run instead of per record, and consecutive records on one
    /// partition one partition lookup.
    ///
    /// Returns the records librdkafka refused, in order, with their error codes. A full
    /// queue (`QueueFull`) refuses every record from the first one that did not fit on,
    /// so those form the end of the run. A run longer than [`MAX_RUN`] is queued in calls
    /// of that many.
    pub(crate) fn produce_run<'r>(
        &self,
        run: Vec<RunRecord<'r>>,
    ) -> Vec<(RunRecord<'r>, RDKafkaErrorCode)> {
        if run.len() > MAX_RUN {
            let mut run = run;
            let mut refused = Vec::new();
            while !run.is_empty() {
                let rest = run.split_off(run.len().min(MAX_RUN));
                refused.extend(self.produce_run(run));
                run = rest;
                let full = refused
                    .last()
                    .is_some_and(|(_, code)| *code == RDKafkaErrorCode::QueueFull);
                if full {
                    // The queue is full: the records after the refused ones wait too, so
                    // they are not queued ahead of them.
                    refused.extend(run.drain(..).map(|r| (r, RDKafkaErrorCode::QueueFull)));
                }
            }
            return refused;
        }
        let mut messages: Vec<rdsys::rd_kafka_message_t> = run
            .iter()
            .map(|queued| {
                let record = queued.record;
                debug_assert!(record.timestamp.is_none() && record.headers.is_empty());
                let key = memory(record.key.as_deref());
                let value = memory(record.value.as_deref());
                rdsys::rd_kafka_message_t {
                    err: rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR,
                    rkt: std::ptr::null_mut(),
                    partition: queued.partition,
                    payload: value.ptr,
                    len: value.size,
                    key: key.ptr,
                    key_len: key.size,
                    offset: 0,
                    _private: std::ptr::null_mut(),
                }
            })
            .collect();
        // The slots go to librdkafka; the records and partitions stay here.
        let kept: Vec<(&ProduceRecord, i32)> = run
            .into_iter()
            .zip(messages.iter_mut())
            .map(|(queued, message)| {
                message._private = queued.slot.into_ptr();
                (queued.record, queued.partition)
            })
            .collect();
        // At most MAX_RUN entries, so the count fits.
        let count = messages.len() as i32;
        // SAFETY: the topic handle is valid (`self` holds it and its client); `messages`
        // holds `count` initialised entries whose key and value pointers point into the
        // records, alive for the call; librdkafka copies both (RD_KAFKA_MSG_F_COPY),
        // takes each entry's partition (RD_KAFKA_MSG_F_PARTITION; -1 runs the
        // partitioner) and writes only each entry's `err`.
        unsafe {
            rdsys::rd_kafka_produce_batch(
                self.topic.as_ptr(),
                PARTITION_UNASSIGNED,
                rdsys::RD_KAFKA_MSG_F_COPY | rdsys::RD_KAFKA_MSG_F_PARTITION,
                messages.as_mut_ptr(),
                count,
            )
        };
        kept.into_iter()
            .zip(&messages)
            .filter(|(_, message)| {
                message.err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
            })
            .map(|((record, partition), message)| {
                // SAFETY: librdkafka refused this record, so it did not keep its opaque:
                // the slot given up above, returned to its owner exactly once.
                let slot = unsafe { RecordSlot::from_ptr(message._private) };
                let refused = RunRecord {
                    record,
                    partition,
                    slot,
                };
                (refused, message.err.into())
            })
            .collect()
    }
}

/// One record of a run for [`TopicHandle::produce_run`].
pub(crate) struct RunRecord<'r> {
    pub(crate) record: &'r ProduceRecord,
    /// The partition to queue it on; -1 runs librdkafka's partitioner.
    pub(crate) partition: i32,
    pub(crate) slot: RecordSlot,
}

impl Drop for TopicHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from `rd_kafka_topic_new` and is released once, while
        // its client (held by `self.producer`) still lives.
        unsafe { rdsys::rd_kafka_topic_destroy(self.topic.as_ptr()) }
    }
}

/// One argument of `rd_kafka_produceva`: its type tag and the union member `set` fills.
fn arg(
    vtype: rdsys::rd_kafka_vtype_t,
    set: impl FnOnce(&mut rdsys::rd_kafka_vu_s__bindgen_ty_1),
) -> rdsys::rd_kafka_vu_t {
    let mut u = rdsys::rd_kafka_vu_s__bindgen_ty_1 { _pad: [0; 64] };
    set(&mut u);
    rdsys::rd_kafka_vu_t { vtype, u }
}

/// A key or value as librdkafka's pointer and size (NULL for none).
fn memory(bytes: Option<&[u8]>) -> rdsys::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 {
    match bytes {
        Some(b) => rdsys::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 {
            ptr: b.as_ptr().cast_mut().cast::<c_void>(),
            size: b.len(),
        },
        None => rdsys::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 {
            ptr: std::ptr::null_mut(),
            size: 0,
        },
    }
}

/// A librdkafka header list built for one record, destroyed when dropped unless a queued
/// message took it.
struct NativeHeaders {
    raw: NonNull<rdsys::rd_kafka_headers_t>,
}

impl NativeHeaders {
    /// The list of `headers` (names and values copied), `None` when there are none.
    fn of(headers: &[LogHeader]) -> Option<NativeHeaders> {
        if headers.is_empty() {
            return None;
        }
        // SAFETY: creates a new, empty, writable header list.
        let raw = NonNull::new(unsafe { rdsys::rd_kafka_headers_new(headers.len()) })?;
        let list = NativeHeaders { raw };
        for h in headers {
            let (value, size) = match &h.value {
                Some(v) => (v.as_ptr().cast::<c_void>(), v.len() as isize),
                None => (std::ptr::null(), 0),
            };
            // SAFETY: the list is ours and writable; name and value are valid for the
            // sizes given, and librdkafka copies both (a NULL value is a null header).
            // Adding fails only on a read-only list, which this is not.
            unsafe {
                rdsys::rd_kafka_header_add(
                    list.raw.as_ptr(),
                    h.key.as_ptr().cast(),
                    h.key.len() as isize,
                    value,
                    size,
                );
            }
        }
        Some(list)
    }
}

impl Drop for NativeHeaders {
    fn drop(&mut self) {
        // SAFETY: the list is ours (no queued message took it) and is destroyed once.
        unsafe { rdsys::rd_kafka_headers_destroy(self.raw.as_ptr()) }
    }
}

/// The outcome of one sent batch, completed by its records' delivery reports. Deliveries
/// only store atomics; the last one collects the results, so no lock is taken per record.
pub(crate) struct Batch {
    /// Where each record was written, in send order; empty when the sender asked for the
    /// outcome only, and then a delivery touches nothing but the count below.
    entries: Box<[Entry]>,
    remaining: AtomicUsize,
    error: Mutex<Option<LogError>>,
    done: Mutex<Option<oneshot::Sender<LogResult<Vec<RecordMetadata>>>>>,
}

/// Where one record was written, filled in by its delivery report, and its batch.
struct Entry {
    partition: AtomicI32,
    offset: AtomicI64,
    timestamp: AtomicI64,
    /// The batch holding this entry (its address inside the batch's `Arc`).
    batch: *const Batch,
}

// SAFETY: `batch` is only read, and points to a `Batch`, which is `Sync`; the rest is
// atomics.
unsafe impl Send for Entry {}
// SAFETY: as above.
unsafe impl Sync for Entry {}

impl Batch {
    /// A batch of `n` records whose results go to `done`, and the delivery slot of each
    /// record, in order. With `recorded` the result lists where each record was written;
    /// without, it is empty. The batch lends its slots one reference to itself; every
    /// slot must be completed once, by its delivery report or by [`RecordSlot::complete`].
    /// `n` is at least 1 (a batch of no records would never complete).
    pub(crate) fn start(
        n: usize,
        recorded: bool,
        done: oneshot::Sender<LogResult<Vec<RecordMetadata>>>,
    ) -> RecordSlots {
        debug_assert!(n > 0, "a batch of no records never completes");
        let batch = Arc::new_cyclic(|this| Batch {
            entries: (0..if recorded { n } else { 0 })
                .map(|_| Entry {
                    partition: AtomicI32::new(0),
                    offset: AtomicI64::new(0),
                    timestamp: AtomicI64::new(0),
                    batch: this.as_ptr(),
                })
                .collect(),
            remaining: AtomicUsize::new(n),
            error: Mutex::new(None),
            done: Mutex::new(Some(done)),
        });
        // The slots' reference, given back by the record completed last.
        let lent = Arc::into_raw(batch);
        RecordSlots {
            batch: lent,
            next: 0,
            len: n,
            recorded,
        }
    }

    /// Counts one record as done, keeping the batch's first error; true when it was the
    /// batch's last record, which also completes the batch.
    fn complete(&self, error: Option<LogError>) -> bool {
        if let Some(e) = error {
            if let Ok(mut first) = self.error.lock() {
                first.get_or_insert(e);
            }
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) != 1 {
            return false;
        }
        let error = self.error.lock().ok().and_then(|mut e| e.take());
        let result = match error {
            Some(e) => Err(e),
            None => Ok(self
                .entries
                .iter()
                .map(|m| RecordMetadata {
                    partition: m.partition.load(Ordering::Relaxed),
                    offset: m.offset.load(Ordering::Relaxed),
                    timestamp: m.timestamp.load(Ordering::Relaxed),
                })
                .collect()),
        };
        if let Some(done) = self.done.lock().ok().and_then(|mut d| d.take()) {
            let _ = done.send(result);
        }
        true
    }
}

/// The delivery slots of a batch's records, each handed out once, in order.
pub(crate) struct RecordSlots {
    /// The reference lent to the slots (from `Arc::into_raw`).
    batch: *const Batch,
    next: usize,
    len: usize,
    /// Whether the batch has an entry per record.
    recorded: bool,
}

impl Iterator for RecordSlots {
    type Item = RecordSlot;

    fn next(&mut self) -> Option<RecordSlot> {
        if self.next == self.len {
            return None;
        }
        let index = self.next;
        self.next += 1;
        if !self.recorded {
            // SAFETY: the batch pointer came from `Arc::into_raw`, so it is not null.
            let batch = unsafe { NonNull::new_unchecked(self.batch.cast_mut()) };
            return Some(RecordSlot::of_batch(batch));
        }
        // SAFETY: the lent reference keeps the batch alive until every slot is completed,
        // and this one is not handed out yet.
        let entry = unsafe { &(*self.batch).entries[index] };
        Some(RecordSlot::of_entry(NonNull::from(entry)))
    }
}

impl Drop for RecordSlots {
    fn drop(&mut self) {
        // Slots never handed out fail their records, so the batch still completes.
        for slot in self.by_ref() {
            slot.complete(Err(LogError::Closed));
        }
    }
}

/// One record's delivery opaque, completed exactly once: its entry in its batch, or, when
/// the batch records no metadata, the batch itself. The two are told apart by the
/// pointer's lowest bit (set for a batch), free since both types are aligned to 8 bytes.
pub(crate) struct RecordSlot {
    tagged: NonNull<c_void>,
}

/// The lowest address bit, set in a [`RecordSlot`] that points to its batch.
const BATCH_TAG: usize = 1;

/// What a [`RecordSlot`] points to.
enum SlotTarget<'a> {
    Entry(&'a Entry),
    Batch(&'a Batch),
}

// SAFETY: the slot only leads to its entry and batch, both `Sync`; it is completed on
// whichever thread gets the delivery report.
unsafe impl Send for RecordSlot {}
// SAFETY: as above; a shared slot gives no access at all.
unsafe impl Sync for RecordSlot {}

impl RecordSlot {
    fn of_entry(entry: NonNull<Entry>) -> RecordSlot {
        RecordSlot {
            tagged: entry.cast(),
        }
    }

    fn of_batch(batch: NonNull<Batch>) -> RecordSlot {
        RecordSlot {
            tagged: batch.cast().map_addr(|a| a | BATCH_TAG),
        }
    }

    /// The slot's entry or batch.
    ///
    /// # Safety
    /// The slot must not be completed yet, so its batch (and entry) still live.
    unsafe fn target(&self) -> SlotTarget<'_> {
        let ptr = self.tagged.as_ptr();
        if ptr.addr() & BATCH_TAG == 0 {
            // SAFETY: an untagged slot points to a live entry (the caller's promise).
            SlotTarget::Entry(unsafe { &*ptr.cast::<Entry>() })
        } else {
            let batch = ptr.map_addr(|a| a & !BATCH_TAG).cast::<Batch>();
            // SAFETY: a tagged slot points to a live batch (the caller's promise).
            SlotTarget::Batch(unsafe { &*batch })
        }
    }

    /// Completes the record as written, with the metadata `written` reads from its
    /// delivery report when its batch records it (`written` is not called otherwise).
    pub(crate) fn delivered(self, written: impl FnOnce() -> RecordMetadata) {
        // SAFETY: `self` is not completed yet; it is consumed by `finish`, once.
        if let SlotTarget::Entry(entry) = unsafe { self.target() } {
            let meta = written();
            entry.partition.store(meta.partition, Ordering::Relaxed);
            entry.offset.store(meta.offset, Ordering::Relaxed);
            entry.timestamp.store(meta.timestamp, Ordering::Relaxed);
        }
        self.finish(None);
    }

    /// Completes the record with `outcome` (its metadata is kept only when its batch
    /// records it).
    pub(crate) fn complete(self, outcome: Result<RecordMetadata, LogError>) {
        match outcome {
            Ok(meta) => self.delivered(|| meta),
            Err(e) => self.finish(Some(e)),
        }
    }

    /// Counts the record in its batch; the batch's last record completes the batch and
    /// gives back the reference its slots were lent.
    fn finish(self, error: Option<LogError>) {
        let batch = {
            // SAFETY: the batch lives while any of its slots is not completed (the lent
            // reference), and this one is not: `self` is consumed here, once.
            let batch: &Batch = match unsafe { self.target() } {
                // SAFETY: as above; `entry.batch` is the batch holding the entry.
                SlotTarget::Entry(entry) => unsafe { &*entry.batch },
                SlotTarget::Batch(batch) => batch,
            };
            if !batch.complete(error) {
                return;
            }
            std::ptr::from_ref(batch)
        };
        // SAFETY: every slot is completed now, so nothing uses the lent reference any more;
        // it came from `Arc::into_raw` in `Batch::start` and is given back once, here.
        unsafe { Arc::decrement_strong_count(batch) }
    }
}

impl IntoOpaque for RecordSlot {
    fn into_ptr(self) -> *mut c_void {
        self.tagged.as_ptr()
    }

    unsafe fn from_ptr(ptr: *mut c_void) -> Self {
        RecordSlot {
            // SAFETY: `ptr` came from `into_ptr` (librdkafka hands back the opaque it was
            // given), so it is the non-null tagged pointer.
            tagged: unsafe { NonNull::new_unchecked(ptr) },
        }
    }
}
