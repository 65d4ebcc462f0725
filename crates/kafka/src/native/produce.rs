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
//! (docs/PERFORMANCE.md, "The producer's topic handles").

use std::ffi::{c_void, CString};
use std::ptr::NonNull;
use std::sync::Arc;

use rdkafka::bindings as rdsys;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{Producer, ThreadedProducer};
use rdkafka::IntoOpaque;
use sluice_log::{LogHeader, ProduceRecord};

use crate::producer::{DeliveryContext, Slot};

/// librdkafka's partition number for "let the partitioner choose" (`RD_KAFKA_PARTITION_UA`).
const PARTITION_UNASSIGNED: i32 = -1;

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
}

// SAFETY: librdkafka's topic handles are reference counted and may be used and released
// from any thread (librdkafka's documentation: all its handles are thread-safe).
unsafe impl Send for TopicHandle {}
// SAFETY: as above; `produce` only passes the pointer to librdkafka.
unsafe impl Sync for TopicHandle {}

impl TopicHandle {
    /// The handle of `name` on `producer` (librdkafka creates the topic object, with the
    /// producer's topic settings, if it has none yet). `None` when the name holds a NUL
    /// byte or librdkafka refuses it.
    pub(crate) fn new(producer: &Arc<NativeProducer>, name: &Arc<str>) -> Option<TopicHandle> {
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
        })
    }

    /// The topic's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Queues `record` on this topic with `slot` as its delivery opaque: the delivery
    /// report hands the slot back to [`DeliveryContext`]. librdkafka copies the key, value
    /// and header bytes. On failure nothing is queued and the slot comes back with
    /// librdkafka's error code (`QueueFull` when its queue has no room).
    pub(crate) fn produce(
        &self,
        record: &ProduceRecord,
        slot: Box<Slot>,
    ) -> Result<(), (RDKafkaErrorCode, Box<Slot>)> {
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
        // still the box `into_ptr` gave up above, returned to its owner exactly once.
        let slot = unsafe { Box::<Slot>::from_ptr(opaque) };
        Err((code.into(), slot))
    }
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
