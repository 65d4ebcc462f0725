//! The consumer's records, read from librdkafka a batch at a time.
//!
//! rdkafka's `poll` returns one message per call, and each call costs librdkafka three
//! clock reads, the queue's lock and the partition's lock, and rdkafka one more clock
//! read: about as much as copying the record out. A sink task reads millions of records,
//! so the consumer takes each partition it is assigned off the consumer's queue
//! ([`FetchQueue::split`]): librdkafka then keeps the partition's fetched messages in the
//! partition's own queue, and `rd_kafka_consume_batch_queue` takes up to a thousand of them
//! per call, paying those costs once. (librdkafka remembers that the application took a
//! partition's queue over, so reassigning the partition does not send its messages back.)
//! The consumer's queue keeps everything else (group rebalances, errors, commits) and is
//! still served by rdkafka's `poll`.
//!
//! Waiting: librdkafka calls a wake-up callback when one of these queues goes from empty
//! to non-empty. The callbacks list the partition as ready and ring a [`Bell`], which
//! [`FetchQueue::read`] waits on; a ring from the consumer's queue ends the wait with
//! nothing read, so the poll thread serves that queue at once.
//!
//! Messages of a partition that was never split off still arrive through rdkafka's `poll`;
//! [`FetchedMessage`] reads both kinds the same way.

use std::borrow::Cow;
use std::ffi::{c_void, CStr, CString};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::bindings as rdsys;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::Timestamp;

/// Most messages taken from one partition's queue in one call.
const READ_CHUNK: usize = 1024;

/// The partitions a consumer took off its consumer queue, read in batches.
///
/// It holds its consumer: librdkafka's queues must not outlive their client.
pub(crate) struct FetchQueue<C: ConsumerContext> {
    consumer: Arc<BaseConsumer<C>>,
    /// A handle on the consumer's own queue, whose wake-up callback rings `bell`.
    consumer_queue: NonNull<rdsys::rd_kafka_queue_t>,
    bell: Arc<Bell>,
    /// Every partition split off so far, at the index the bell lists it by; only grows
    /// (a partition keeps its queue when it is revoked, and reassigned, it is read again).
    #[expect(
        clippy::vec_box,
        reason = "boxed for a fixed address: librdkafka's callbacks point at each partition"
    )]
    partitions: Mutex<Vec<Box<SplitPartition>>>,
}

// SAFETY: librdkafka's queue handles may be used from any thread (its documentation: all
// its handles are thread-safe); the rest is `Send` and `Sync` on its own.
unsafe impl<C: ConsumerContext> Send for FetchQueue<C> {}
// SAFETY: as above; the handles are only passed to librdkafka.
unsafe impl<C: ConsumerContext> Sync for FetchQueue<C> {}

/// One partition's queue, split off the consumer's queue.
struct SplitPartition {
    topic: String,
    partition: i32,
    /// The partition's queue (a handle of ours, released on drop).
    queue: NonNull<rdsys::rd_kafka_queue_t>,
    /// Its index in [`FetchQueue::partitions`].
    index: usize,
    /// Set while the partition is on the bell's ready list.
    listed: AtomicBool,
    bell: Arc<Bell>,
}

/// Where the reader waits: which split partitions may hold messages, and whether the
/// consumer's queue got something.
#[derive(Default)]
struct Bell {
    state: Mutex<BellState>,
    rung: Condvar,
}

#[derive(Default)]
struct BellState {
    /// Indexes of split partitions that got messages since they were last read empty.
    ready: Vec<usize>,
    /// Rung since the reader last looked.
    rung: bool,
}

impl Bell {
    fn lock(&self) -> MutexGuard<'_, BellState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rings, listing `partition` as ready first (if it is not listed yet).
    fn ring(&self, partition: Option<&SplitPartition>) {
        let mut state = self.lock();
        if let Some(p) = partition {
            if !p.listed.swap(true, Ordering::AcqRel) {
                state.ready.push(p.index);
            }
        }
        state.rung = true;
        self.rung.notify_one();
    }

    /// Takes the list of ready partitions; when it is empty and nothing rang, waits up to
    /// `timeout` for a ring first.
    fn take_ready(&self, timeout: Duration) -> Vec<usize> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while state.ready.is_empty() && !state.rung {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = match self.rung.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(p) => p.into_inner().0,
            };
        }
        state.rung = false;
        std::mem::take(&mut state.ready)
    }
}

/// librdkafka's wake-up callback of the consumer's queue: it got something to serve.
unsafe extern "C" fn ring_for_consumer_queue(_client: *mut rdsys::rd_kafka_t, opaque: *mut c_void) {
    // SAFETY: the opaque is the fetch queue's bell, set in `FetchQueue::new`; the callback is
    // removed (under the queue's lock, which librdkafka holds while calling it) before the
    // fetch queue lets go of the bell.
    unsafe { &*opaque.cast::<Bell>() }.ring(None);
}

/// librdkafka's wake-up callback of a split partition's queue: it got messages.
unsafe extern "C" fn ring_for_partition(_client: *mut rdsys::rd_kafka_t, opaque: *mut c_void) {
    // SAFETY: the opaque is the boxed partition, set in `FetchQueue::split`; the callback is
    // removed (under the partition queue's lock, held by librdkafka while calling it) before
    // the box is freed.
    let partition = unsafe { &*opaque.cast::<SplitPartition>() };
    partition.bell.ring(Some(partition));
}

impl<C: ConsumerContext> FetchQueue<C> {
    /// The fetch queue of `consumer`, with no partition split off yet; `None` when
    /// librdkafka has no consumer queue (a client without a group).
    pub(crate) fn new(consumer: &Arc<BaseConsumer<C>>) -> Option<FetchQueue<C>> {
        // SAFETY: the client is valid while `consumer` lives; the call returns a new handle
        // (NULL for no consumer queue), released in `drop`.
        let raw = unsafe { rdsys::rd_kafka_queue_get_consumer(consumer.client().native_ptr()) };
        let consumer_queue = NonNull::new(raw)?;
        let bell = Arc::new(Bell::default());
        // SAFETY: the handle is valid; the opaque (the bell) lives until `drop` removes the
        // callback.
        unsafe {
            rdsys::rd_kafka_queue_cb_event_enable(
                consumer_queue.as_ptr(),
                Some(ring_for_consumer_queue),
                Arc::as_ptr(&bell).cast_mut().cast(),
            );
        }
        Some(FetchQueue {
            consumer: Arc::clone(consumer),
            consumer_queue,
            bell,
            partitions: Mutex::new(Vec::new()),
        })
    }

    #[expect(clippy::vec_box, reason = "see `partitions`")]
    fn partitions(&self) -> MutexGuard<'_, Vec<Box<SplitPartition>>> {
        self.partitions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes `topic`/`partition` off the consumer's queue: its fetched messages are read
    /// by [`read`](Self::read) from now on. Call it before the partition is assigned
    /// (messages already handed to the consumer's queue stay there). False when librdkafka
    /// has no queue for the partition (its messages then keep going to the consumer's
    /// queue).
    pub(crate) fn split(&self, topic: &str, partition: i32) -> bool {
        let mut partitions = self.partitions();
        if partitions
            .iter()
            .any(|p| p.partition == partition && p.topic == topic)
        {
            return true;
        }
        let Ok(name) = CString::new(topic) else {
            return false;
        };
        // SAFETY: the client is valid while `self.consumer` lives; `name` is a valid C
        // string for the call. The handle is released in `drop`.
        let raw = unsafe {
            rdsys::rd_kafka_queue_get_partition(
                self.consumer.client().native_ptr(),
                name.as_ptr(),
                partition,
            )
        };
        let Some(queue) = NonNull::new(raw) else {
            return false;
        };
        let split = Box::new(SplitPartition {
            topic: topic.to_string(),
            partition,
            queue,
            index: partitions.len(),
            listed: AtomicBool::new(false),
            bell: Arc::clone(&self.bell),
        });
        // SAFETY: the handle is valid. Forwarding to NULL marks the queue as taken over by
        // the application, so librdkafka keeps the partition's messages there. The
        // callback's opaque is the boxed partition, which lives (at a fixed address) until
        // `drop` removes the callback.
        unsafe {
            rdsys::rd_kafka_queue_forward(queue.as_ptr(), std::ptr::null_mut());
            rdsys::rd_kafka_queue_cb_event_enable(
                queue.as_ptr(),
                Some(ring_for_partition),
                std::ptr::from_ref::<SplitPartition>(&split)
                    .cast_mut()
                    .cast(),
            );
        }
        // It may hold messages already.
        self.bell.ring(Some(&split));
        partitions.push(split);
        true
    }

    /// Hands up to `max` fetched messages of the split partitions to `each`, in order per
    /// partition, taking turns between partitions; returns how many. When no partition has
    /// messages, waits up to `timeout` for one to get some; the wait also ends, with
    /// nothing read, when the consumer's own queue gets something to serve, and there is
    /// no wait while it holds something (rdkafka's `poll` returns after a rebalance or
    /// commit event even when more are queued). librdkafka counts the messages as consumed
    /// (the partitions' positions move past them) as they are handed out.
    pub(crate) fn read(
        &self,
        timeout: Duration,
        max: usize,
        mut each: impl FnMut(FetchedMessage<'_>),
    ) -> usize {
        // SAFETY: the handle is valid while `self` lives.
        let consumer_waiting =
            unsafe { rdsys::rd_kafka_queue_length(self.consumer_queue.as_ptr()) } > 0;
        let timeout = if consumer_waiting {
            Duration::ZERO
        } else {
            timeout
        };
        let ready = self.bell.take_ready(timeout);
        let partitions = self.partitions();
        // Unlisted before they are read: messages arriving from now on list them again.
        for &index in &ready {
            partitions[index].listed.store(false, Ordering::Release);
        }
        let mut turns = std::collections::VecDeque::from(ready);
        let mut batch = vec![std::ptr::null_mut(); max.clamp(1, READ_CHUNK)];
        let mut total = 0;
        while total < max {
            let Some(index) = turns.pop_front() else {
                break;
            };
            let wanted = batch.len().min(max - total);
            // SAFETY: the partition's queue is valid; librdkafka writes at most `wanted`
            // message pointers into `batch`, which has room for them.
            let got = unsafe {
                rdsys::rd_kafka_consume_batch_queue(
                    partitions[index].queue.as_ptr(),
                    0,
                    batch.as_mut_ptr(),
                    wanted,
                )
            };
            let got = usize::try_from(got).unwrap_or(0);
            let taken = Taken {
                messages: &batch[..got],
            };
            for &raw in taken.messages {
                // SAFETY: librdkafka handed out this message; it stays valid until `taken`
                // destroys it, after `each` has returned.
                each(FetchedMessage {
                    raw: unsafe { &*raw },
                });
            }
            drop(taken);
            total += got;
            if got == wanted {
                // There may be more: the partition takes another turn.
                turns.push_back(index);
            }
        }
        // Partitions not read empty stay ready for the next read.
        for index in turns {
            let p = &partitions[index];
            if !p.listed.swap(true, Ordering::AcqRel) {
                self.bell.lock().ready.push(index);
            }
        }
        total
    }
}

/// Messages handed out by librdkafka, destroyed when dropped (even if a callback panics).
struct Taken<'a> {
    messages: &'a [*mut rdsys::rd_kafka_message_t],
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        for &raw in self.messages {
            // SAFETY: each message was handed out by `rd_kafka_consume_batch_queue` and is
            // destroyed exactly once, here.
            unsafe { rdsys::rd_kafka_message_destroy(raw) }
        }
    }
}

impl<C: ConsumerContext> Drop for FetchQueue<C> {
    fn drop(&mut self) {
        // SAFETY: each callback is removed first (librdkafka takes the queue's lock to do
        // it, so no call is running once this returns); then each handle is released once,
        // while the client (held by `self.consumer`) still lives. Messages left in a split
        // partition's queue are freed with the partition: this consumer is going away.
        unsafe {
            rdsys::rd_kafka_queue_cb_event_enable(
                self.consumer_queue.as_ptr(),
                None,
                std::ptr::null_mut(),
            );
            rdsys::rd_kafka_queue_destroy(self.consumer_queue.as_ptr());
            for p in self.partitions().iter() {
                rdsys::rd_kafka_queue_cb_event_enable(p.queue.as_ptr(), None, std::ptr::null_mut());
                rdsys::rd_kafka_queue_destroy(p.queue.as_ptr());
            }
        }
    }
}

/// A message librdkafka fetched, read in place: from a [`FetchQueue`] or from rdkafka's
/// `poll`.
pub(crate) struct FetchedMessage<'a> {
    raw: &'a rdsys::rd_kafka_message_t,
}

impl<'a> FetchedMessage<'a> {
    /// The message rdkafka's `poll` returned.
    pub(crate) fn of(message: &'a BorrowedMessage<'_>) -> FetchedMessage<'a> {
        // SAFETY: the pointer is the message `message` wraps, valid while it is borrowed.
        FetchedMessage {
            raw: unsafe { &*message.ptr() },
        }
    }

    /// The error this message carries instead of a record, as rdkafka's `poll` reports it.
    pub(crate) fn error(&self) -> Option<KafkaError> {
        match self.raw.err {
            rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR => None,
            rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__PARTITION_EOF => {
                Some(KafkaError::PartitionEOF(self.raw.partition))
            }
            code => Some(KafkaError::MessageConsumption(code.into())),
        }
    }

    /// The topic's name as librdkafka keeps it (Kafka topic names are ASCII).
    pub(crate) fn topic(&self) -> &'a [u8] {
        if self.raw.rkt.is_null() {
            return b"";
        }
        // SAFETY: the message holds a reference to its topic, whose name is a C string
        // that lives as long as the topic.
        unsafe { CStr::from_ptr(rdsys::rd_kafka_topic_name(self.raw.rkt)) }.to_bytes()
    }

    /// The partition.
    pub(crate) fn partition(&self) -> i32 {
        self.raw.partition
    }

    /// The offset.
    pub(crate) fn offset(&self) -> i64 {
        self.raw.offset
    }

    /// The timestamp and its kind.
    pub(crate) fn timestamp(&self) -> Timestamp {
        let mut kind = rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: the message is valid; librdkafka only reads it and writes `kind`.
        let at = unsafe { rdsys::rd_kafka_message_timestamp(self.raw, &mut kind) };
        match kind {
            _ if at == -1 => Timestamp::NotAvailable,
            rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_CREATE_TIME => {
                Timestamp::CreateTime(at)
            }
            rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME => {
                Timestamp::LogAppendTime(at)
            }
            _ => Timestamp::NotAvailable,
        }
    }

    /// The key (`None` for a null key).
    pub(crate) fn key(&self) -> Option<&'a [u8]> {
        // SAFETY: librdkafka keeps `key_len` bytes at `key` while the message lives.
        unsafe { bytes(self.raw.key.cast(), self.raw.key_len) }
    }

    /// The value (`None` for a null value, a tombstone).
    pub(crate) fn payload(&self) -> Option<&'a [u8]> {
        // SAFETY: librdkafka keeps `len` bytes at `payload` while the message lives.
        unsafe { bytes(self.raw.payload.cast(), self.raw.len) }
    }

    /// The headers in order: each name (a name that is not UTF-8 is read with its bad
    /// bytes replaced, where rdkafka's reader would panic) and value (`None` for null).
    pub(crate) fn headers(&self) -> impl Iterator<Item = (Cow<'a, str>, Option<&'a [u8]>)> {
        let mut list = std::ptr::null_mut();
        // SAFETY: the message is valid; librdkafka parses its headers on first access
        // and keeps them with the message.
        let found = unsafe { rdsys::rd_kafka_message_headers(self.raw, &mut list) };
        if found != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            list = std::ptr::null_mut();
        }
        let mut index = 0;
        std::iter::from_fn(move || {
            if list.is_null() {
                return None;
            }
            let mut name = std::ptr::null();
            let mut value = std::ptr::null();
            let mut size = 0;
            // SAFETY: the list belongs to the message, which lives for `'a`; librdkafka
            // checks `index`.
            let found = unsafe {
                rdsys::rd_kafka_header_get_all(list, index, &mut name, &mut value, &mut size)
            };
            if found != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                return None;
            }
            index += 1;
            // SAFETY: on success librdkafka wrote the header's name (a C string) and value
            // (`size` bytes, NULL for a null header), both kept with the message.
            Some(unsafe {
                (
                    CStr::from_ptr(name).to_string_lossy(),
                    bytes(value.cast(), size),
                )
            })
        })
    }
}

/// `len` bytes at `at`, `None` for a NULL pointer.
///
/// # Safety
/// A non-NULL `at` must point to `len` readable bytes that live for `'a`.
unsafe fn bytes<'a>(at: *const u8, len: usize) -> Option<&'a [u8]> {
    if at.is_null() {
        None
    } else {
        // SAFETY: the caller's promise.
        Some(unsafe { std::slice::from_raw_parts(at, len) })
    }
}
