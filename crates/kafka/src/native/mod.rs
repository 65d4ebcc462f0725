//! Direct librdkafka calls on the hot paths, where rdkafka's safe API costs per record
//! what librdkafka can do once per topic or per batch.
//!
//! - [`produce`]: the producer hands each record to librdkafka with a kept topic handle,
//!   and a delivery opaque pointing into its batch.
//! - [`fetch`]: the consumer reads fetched records in batches from a queue of its own.
//!
//! These are the only modules of the workspace allowed `unsafe`; each block says why it
//! is sound.
#![allow(unsafe_code)]

pub(crate) mod fetch;
pub(crate) mod produce;

pub(crate) use fetch::{FetchQueue, FetchedMessage};
pub(crate) use produce::{Batch, RecordSlot, RunRecord, TopicHandle, PARTITION_UNASSIGNED};
