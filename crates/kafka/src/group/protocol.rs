//! Kafka Connect's group metadata and assignment formats, so a Sluice cluster looks like a
//! Kafka Connect cluster to Kafka's tools.
//!
//! The group's protocol type is `connect`. Each member offers protocols by name, in order of
//! preference: `sessioned` (version 2) and `compatible` (version 1), the incremental
//! cooperative protocols of Kafka Connect; both carry the same fields (version 2 only says that
//! the workers sign their internal REST requests). All integers are big-endian; a string is an
//! `i16` length and UTF-8 bytes; an array is an `i32` count (`-1` = null) and its items; bytes
//! are an `i32` length (`-1` = null) and the bytes.
//!
//! Member metadata (JoinGroup):
//!
//! ```text
//! version: i16, url: string, config_offset: i64, allocation: nullable bytes
//! ```
//!
//! where `allocation` is the member's current assignment in the assignment format below (null
//! when it runs nothing). Sluice appends one field, `join: i32`, a count of the member's
//! JoinGroup requests: a coordinator answers a JoinGroup of a stable member whose metadata did
//! not change with the current generation instead of starting a rebalance (the test broker
//! does so even for the leader), so a member that asks for a rebalance must send different
//! metadata. Kafka Connect's readers ignore bytes after the fields they know.
//!
//! Assignment (SyncGroup):
//!
//! ```text
//! version: i16, error: i16, leader: string, leader_url: string, config_offset: i64,
//! assigned: [connector: string, tasks: [i32]], revoked: [connector: string, tasks: [i32]],
//! delay: i32
//! ```
//!
//! Task number `-1` stands for the connector instance itself. `assigned` holds only work new to
//! the member, `revoked` the work it must stop, `delay` the milliseconds until held work of
//! departed members is reassigned. Error 1 (`CONFIG_MISMATCH`) means the leader's view of the
//! config topic was older than a member's.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::collections::BTreeMap;

use super::assignor::{TaskId, WorkSet};
use super::GroupError;

/// The group protocol type of Kafka Connect workers.
pub const PROTOCOL_TYPE: &str = "connect";

/// Assignment error: none.
pub const NO_ERROR: i16 = 0;
/// Assignment error: the leader's config topic view is behind a member's.
pub const CONFIG_MISMATCH: i16 = 1;

/// The task number that stands for the connector instance.
const CONNECTOR_TASK: i32 = -1;

/// The Connect group protocols Sluice speaks (`connect.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectProtocol {
    /// `compatible`: incremental cooperative rebalancing, version 1.
    Compatible,
    /// `sessioned`: as `compatible`, with signed inter-worker requests, version 2.
    Sessioned,
}

impl ConnectProtocol {
    /// The protocol name in JoinGroup.
    pub fn name(self) -> &'static str {
        match self {
            ConnectProtocol::Compatible => "compatible",
            ConnectProtocol::Sessioned => "sessioned",
        }
    }

    /// The version written in metadata and assignments.
    pub fn version(self) -> i16 {
        match self {
            ConnectProtocol::Compatible => 1,
            ConnectProtocol::Sessioned => 2,
        }
    }

    /// The protocol of a JoinGroup protocol name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "compatible" => Some(ConnectProtocol::Compatible),
            "sessioned" => Some(ConnectProtocol::Sessioned),
            _ => None,
        }
    }

    /// The protocols a worker with this `connect.protocol` offers, most preferred first.
    pub fn offered(self) -> &'static [ConnectProtocol] {
        match self {
            ConnectProtocol::Sessioned => {
                &[ConnectProtocol::Sessioned, ConnectProtocol::Compatible]
            }
            ConnectProtocol::Compatible => &[ConnectProtocol::Compatible],
        }
    }
}

/// A member's JoinGroup metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerMetadata {
    /// Protocol version.
    pub version: i16,
    /// The worker's REST url.
    pub url: String,
    /// Config topic offset the worker has read up to.
    pub config_offset: i64,
    /// The work the worker runs now.
    pub current: WorkSet,
    /// Sluice's JoinGroup count (0 when absent, as from Kafka Connect workers).
    pub join: i32,
}

/// An assignment sent by the leader in SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectAssignment {
    /// Protocol version.
    pub version: i16,
    /// [`NO_ERROR`] or [`CONFIG_MISMATCH`].
    pub error: i16,
    /// The leader's member id.
    pub leader: String,
    /// The leader's REST url.
    pub leader_url: String,
    /// The config topic offset the assignment was computed from.
    pub config_offset: i64,
    /// Work new to the member.
    pub assigned: WorkSet,
    /// Work the member must stop.
    pub revoked: WorkSet,
    /// Milliseconds until held work of departed members is reassigned.
    pub delay_ms: i32,
}

/// Encodes member metadata.
pub fn encode_metadata(meta: &WorkerMetadata) -> Result<Bytes, GroupError> {
    let mut buf = BytesMut::new();
    buf.put_i16(meta.version);
    put_string(&mut buf, &meta.url)?;
    buf.put_i64(meta.config_offset);
    if meta.current.is_empty() {
        buf.put_i32(-1);
    } else {
        let allocation = encode_assignment(&ConnectAssignment {
            version: meta.version,
            assigned: meta.current.clone(),
            config_offset: meta.config_offset,
            ..ConnectAssignment::default()
        })?;
        put_len(&mut buf, allocation.len(), "allocation")?;
        buf.put_slice(&allocation);
    }
    buf.put_i32(meta.join);
    Ok(buf.freeze())
}

/// Decodes member metadata (versions 0 to 2; version 0 carries no current assignment).
pub fn decode_metadata(mut buf: Bytes) -> Result<WorkerMetadata, GroupError> {
    let version = get_i16(&mut buf, "metadata version")?;
    if version < 0 {
        return Err(GroupError::Protocol(format!(
            "unsupported Connect metadata version {version}"
        )));
    }
    let url = get_string(&mut buf, "url")?;
    let config_offset = get_i64(&mut buf, "config offset")?;
    let mut current = WorkSet::default();
    if version >= 1 && buf.has_remaining() {
        let len = get_i32(&mut buf, "allocation length")?;
        if len >= 0 {
            let bytes = take(&mut buf, len as usize, "allocation")?;
            current = decode_assignment(bytes)?.assigned;
        }
    }
    let join = if buf.remaining() >= 4 {
        buf.get_i32()
    } else {
        0
    };
    Ok(WorkerMetadata {
        version,
        url,
        config_offset,
        current,
        join,
    })
}

/// Encodes an assignment.
pub fn encode_assignment(a: &ConnectAssignment) -> Result<Bytes, GroupError> {
    let mut buf = BytesMut::new();
    buf.put_i16(a.version);
    buf.put_i16(a.error);
    put_string(&mut buf, &a.leader)?;
    put_string(&mut buf, &a.leader_url)?;
    buf.put_i64(a.config_offset);
    put_work(&mut buf, &a.assigned)?;
    if a.version >= 1 {
        put_work(&mut buf, &a.revoked)?;
        buf.put_i32(a.delay_ms);
    }
    Ok(buf.freeze())
}

/// Decodes an assignment (versions 0 to 2; version 0 has no revocations and no delay).
pub fn decode_assignment(mut buf: Bytes) -> Result<ConnectAssignment, GroupError> {
    let version = get_i16(&mut buf, "assignment version")?;
    if version < 0 {
        return Err(GroupError::Protocol(format!(
            "unsupported Connect assignment version {version}"
        )));
    }
    let error = get_i16(&mut buf, "error")?;
    let leader = get_string(&mut buf, "leader")?;
    let leader_url = get_string(&mut buf, "leader url")?;
    let config_offset = get_i64(&mut buf, "config offset")?;
    let assigned = get_work(&mut buf, "assigned")?;
    let (revoked, delay_ms) = if version >= 1 && buf.has_remaining() {
        let revoked = get_work(&mut buf, "revoked")?;
        let delay = if buf.has_remaining() {
            get_i32(&mut buf, "delay")?
        } else {
            0
        };
        (revoked, delay)
    } else {
        (WorkSet::default(), 0)
    };
    Ok(ConnectAssignment {
        version,
        error,
        leader,
        leader_url,
        config_offset,
        assigned,
        revoked,
        delay_ms,
    })
}

fn put_len(buf: &mut BytesMut, len: usize, what: &str) -> Result<(), GroupError> {
    let len = i32::try_from(len)
        .map_err(|e| GroupError::Protocol(format!("{what} is too long to encode: {e}")))?;
    buf.put_i32(len);
    Ok(())
}

fn put_string(buf: &mut BytesMut, s: &str) -> Result<(), GroupError> {
    let len = i16::try_from(s.len()).map_err(|e| {
        GroupError::Protocol(format!(
            "string of {} bytes is too long to encode: {e}",
            s.len()
        ))
    })?;
    buf.put_i16(len);
    buf.put_slice(s.as_bytes());
    Ok(())
}

fn put_work(buf: &mut BytesMut, work: &WorkSet) -> Result<(), GroupError> {
    let mut by_connector: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for c in &work.connectors {
        by_connector.entry(c).or_default().push(CONNECTOR_TASK);
    }
    for t in &work.tasks {
        let n = i32::try_from(t.task)
            .map_err(|e| GroupError::Protocol(format!("task number of {t} too large: {e}")))?;
        by_connector.entry(&t.connector).or_default().push(n);
    }
    put_len(buf, by_connector.len(), "assignment")?;
    for (connector, tasks) in by_connector {
        put_string(buf, connector)?;
        put_len(buf, tasks.len(), "task list")?;
        for t in tasks {
            buf.put_i32(t);
        }
    }
    Ok(())
}

fn need(buf: &Bytes, n: usize, what: &str) -> Result<(), GroupError> {
    if buf.remaining() < n {
        return Err(GroupError::Protocol(format!(
            "truncated Connect group data: {what} needs {n} bytes, {} left",
            buf.remaining()
        )));
    }
    Ok(())
}

fn get_i16(buf: &mut Bytes, what: &str) -> Result<i16, GroupError> {
    need(buf, 2, what)?;
    Ok(buf.get_i16())
}

fn get_i32(buf: &mut Bytes, what: &str) -> Result<i32, GroupError> {
    need(buf, 4, what)?;
    Ok(buf.get_i32())
}

fn get_i64(buf: &mut Bytes, what: &str) -> Result<i64, GroupError> {
    need(buf, 8, what)?;
    Ok(buf.get_i64())
}

fn take(buf: &mut Bytes, n: usize, what: &str) -> Result<Bytes, GroupError> {
    need(buf, n, what)?;
    Ok(buf.split_to(n))
}

fn get_string(buf: &mut Bytes, what: &str) -> Result<String, GroupError> {
    let len = get_i16(buf, what)?;
    if len < 0 {
        return Err(GroupError::Protocol(format!("{what} is null")));
    }
    let bytes = take(buf, len as usize, what)?;
    String::from_utf8(bytes.to_vec())
        .map_err(|e| GroupError::Protocol(format!("{what} is not UTF-8: {e}")))
}

fn get_work(buf: &mut Bytes, what: &str) -> Result<WorkSet, GroupError> {
    let mut work = WorkSet::default();
    let count = get_i32(buf, what)?;
    for _ in 0..count.max(0) {
        let connector = get_string(buf, "connector name")?;
        let tasks = get_i32(buf, "task count")?;
        for _ in 0..tasks.max(0) {
            let t = get_i32(buf, "task number")?;
            if t == CONNECTOR_TASK {
                work.connectors.insert(connector.clone());
            } else {
                let task = u32::try_from(t).map_err(|e| {
                    GroupError::Protocol(format!(
                        "invalid task number {t} for connector {connector} in {what}: {e}"
                    ))
                })?;
                work.tasks.insert(TaskId::new(connector.clone(), task));
            }
        }
    }
    Ok(work)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(connectors: &[&str], tasks: &[(&str, u32)]) -> WorkSet {
        WorkSet {
            connectors: connectors.iter().map(|c| c.to_string()).collect(),
            tasks: tasks.iter().map(|(c, t)| TaskId::new(*c, *t)).collect(),
        }
    }

    #[test]
    fn assignment_round_trips() {
        let a = ConnectAssignment {
            version: 2,
            error: NO_ERROR,
            leader: "member-1".into(),
            leader_url: "http://w1:8083/".into(),
            config_offset: 42,
            assigned: work(&["a"], &[("a", 0), ("b", 3)]),
            revoked: work(&["b"], &[("a", 1)]),
            delay_ms: 1500,
        };
        let bytes = encode_assignment(&a).unwrap();
        assert_eq!(decode_assignment(bytes).unwrap(), a);
    }

    #[test]
    fn assignment_layout_matches_connect() {
        let a = ConnectAssignment {
            version: 1,
            error: CONFIG_MISMATCH,
            leader: "l".into(),
            leader_url: "u".into(),
            config_offset: 7,
            assigned: work(&["c"], &[("c", 2)]),
            revoked: WorkSet::default(),
            delay_ms: 9,
        };
        let bytes = encode_assignment(&a).unwrap();
        let expected: Vec<u8> = [
            &[0, 1][..],               // version
            &[0, 1],                   // error
            &[0, 1, b'l'],             // leader
            &[0, 1, b'u'],             // leader url
            &[0, 0, 0, 0, 0, 0, 0, 7], // config offset
            &[0, 0, 0, 1],             // one connector entry
            &[0, 1, b'c'],             // connector
            &[0, 0, 0, 2],             // two task numbers
            &[255, 255, 255, 255],     // the connector itself
            &[0, 0, 0, 2],             // task 2
            &[0, 0, 0, 0],             // no revocations
            &[0, 0, 0, 9],             // delay
        ]
        .concat();
        assert_eq!(bytes.as_ref(), expected.as_slice());
    }

    #[test]
    fn metadata_round_trips_with_and_without_work() {
        for current in [WorkSet::default(), work(&["x"], &[("x", 0), ("y", 1)])] {
            let m = WorkerMetadata {
                version: 1,
                url: "http://127.0.0.1:8083/".into(),
                config_offset: -1,
                current,
                join: 7,
            };
            let bytes = encode_metadata(&m).unwrap();
            assert_eq!(decode_metadata(bytes).unwrap(), m);
        }
    }

    #[test]
    fn empty_metadata_has_a_null_allocation_then_the_join_count() {
        let m = WorkerMetadata {
            version: 1,
            url: "u".into(),
            config_offset: 3,
            current: WorkSet::default(),
            join: 2,
        };
        let bytes = encode_metadata(&m).unwrap();
        assert_eq!(&bytes[bytes.len() - 8..], &[255, 255, 255, 255, 0, 0, 0, 2]);
    }

    #[test]
    fn metadata_of_kafka_connect_workers_decodes_without_the_join_count() {
        let m = WorkerMetadata {
            version: 2,
            url: "http://connect:8083/".into(),
            config_offset: 11,
            current: work(&["a"], &[("a", 0)]),
            join: 0,
        };
        let bytes = encode_metadata(&m).unwrap();
        let without_join = bytes.slice(..bytes.len() - 4);
        assert_eq!(decode_metadata(without_join).unwrap(), m);
    }

    #[test]
    fn version_zero_assignment_has_no_revocations() {
        let mut buf = BytesMut::new();
        buf.put_i16(0);
        buf.put_i16(0);
        put_string(&mut buf, "l").unwrap();
        put_string(&mut buf, "u").unwrap();
        buf.put_i64(5);
        put_work(&mut buf, &work(&[], &[("a", 1)])).unwrap();
        let a = decode_assignment(buf.freeze()).unwrap();
        assert_eq!(a.assigned, work(&[], &[("a", 1)]));
        assert!(a.revoked.is_empty());
        assert_eq!(a.delay_ms, 0);
    }

    #[test]
    fn truncated_data_is_a_clear_error() {
        let a = ConnectAssignment {
            version: 1,
            leader: "leader".into(),
            ..ConnectAssignment::default()
        };
        let bytes = encode_assignment(&a).unwrap();
        let err = decode_assignment(bytes.slice(..6)).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn negative_task_numbers_other_than_the_connector_are_rejected() {
        let mut buf = BytesMut::new();
        buf.put_i16(1);
        buf.put_i16(0);
        put_string(&mut buf, "l").unwrap();
        put_string(&mut buf, "u").unwrap();
        buf.put_i64(5);
        buf.put_i32(1);
        put_string(&mut buf, "a").unwrap();
        buf.put_i32(1);
        buf.put_i32(-7);
        let err = decode_assignment(buf.freeze()).unwrap_err();
        assert!(err.to_string().contains("invalid task number -7"), "{err}");
    }

    #[test]
    fn offered_protocols_follow_the_preference() {
        assert_eq!(
            ConnectProtocol::Sessioned.offered(),
            &[ConnectProtocol::Sessioned, ConnectProtocol::Compatible]
        );
        for p in [ConnectProtocol::Sessioned, ConnectProtocol::Compatible] {
            assert_eq!(ConnectProtocol::from_name(p.name()), Some(p));
        }
        assert_eq!(ConnectProtocol::from_name("default"), None);
    }
}
