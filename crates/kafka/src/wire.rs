//! A minimal Kafka protocol client for the one request librdkafka's bindings do not offer
//! here: OffsetDelete (removing some committed offsets of a group). It finds the group's
//! coordinator through a bootstrap server and sends the request over plain TCP; clusters
//! that need TLS or SASL get a clear error instead.

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, FindCoordinatorResponse, GroupId, OffsetDeleteRequest,
    OffsetDeleteResponse, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use kafka_protocol::ResponseError;
use sluice_log::{LogError, LogResult, TopicPartition};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::KafkaConfig;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A plain TCP connection speaking Kafka's framing.
struct Connection {
    stream: TcpStream,
    correlation: i32,
    address: String,
}

impl Connection {
    async fn open(address: &str) -> LogResult<Connection> {
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(address))
            .await
            .map_err(|_| LogError::Unavailable(format!("connecting to {address} timed out")))?
            .map_err(|e| LogError::Unavailable(format!("connecting to {address}: {e}")))?;
        Ok(Connection {
            stream,
            correlation: 0,
            address: address.to_string(),
        })
    }

    async fn call<Req, Resp>(&mut self, key: ApiKey, version: i16, request: &Req) -> LogResult<Resp>
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("sluice-admin")));
        let mut body = BytesMut::new();
        let encode = |e: &dyn std::fmt::Display| {
            LogError::Remote(format!("encoding a {key:?} request: {e}"))
        };
        header
            .encode(&mut body, Req::header_version(version))
            .map_err(|e| encode(&e))?;
        request.encode(&mut body, version).map_err(|e| encode(&e))?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        let io = |e: std::io::Error| {
            LogError::Unavailable(format!("{key:?} request to {}: {e}", self.address))
        };
        let exchange = async {
            self.stream.write_all(&frame).await.map_err(io)?;
            let size = self.stream.read_i32().await.map_err(io)?;
            let mut buf = vec![0u8; size.max(0) as usize];
            self.stream.read_exact(&mut buf).await.map_err(io)?;
            Ok::<_, LogError>(Bytes::from(buf))
        };
        let mut buf = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| {
                LogError::Unavailable(format!("{key:?} request to {} timed out", self.address))
            })??;
        let decode = |e: &dyn std::fmt::Display| {
            LogError::Remote(format!("decoding a {key:?} response: {e}"))
        };
        ResponseHeader::decode(&mut buf, Resp::header_version(version)).map_err(|e| decode(&e))?;
        let response = Resp::decode(&mut buf, version).map_err(|e| decode(&e))?;
        if buf.has_remaining() {
            tracing::trace!(
                left = buf.remaining(),
                "unread bytes after a {key:?} response"
            );
        }
        Ok(response)
    }
}

/// Text of a Kafka error code.
fn code_text(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        Some(e) => format!("{e:?}"),
        None => format!("error code {code}"),
    }
}

/// Removes the committed offsets of `partitions` from `group`.
pub(crate) async fn delete_offsets(
    config: &KafkaConfig,
    group: &str,
    partitions: &[TopicPartition],
) -> LogResult<()> {
    let protocol = config
        .common
        .get("security.protocol")
        .or_else(|| config.admin.get("security.protocol"))
        .map(|s| s.to_ascii_uppercase());
    if protocol.as_deref().is_some_and(|p| p != "PLAINTEXT") {
        return Err(LogError::Remote(format!(
            "deleting committed offsets of group '{group}' is only available over PLAINTEXT connections (security.protocol is {})",
            protocol.unwrap_or_default()
        )));
    }
    let mut last_error = None;
    for server in config
        .bootstrap_servers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match delete_offsets_via(server, group, partitions).await {
            Ok(()) => return Ok(()),
            Err(e @ LogError::Unavailable(_)) => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error
        .unwrap_or_else(|| LogError::Unavailable("bootstrap.servers names no server".to_string())))
}

async fn delete_offsets_via(
    server: &str,
    group: &str,
    partitions: &[TopicPartition],
) -> LogResult<()> {
    let mut bootstrap = Connection::open(server).await?;
    let find = FindCoordinatorRequest::default()
        .with_key(StrBytes::from_string(group.to_string()))
        .with_key_type(0);
    let found: FindCoordinatorResponse = bootstrap.call(ApiKey::FindCoordinator, 1, &find).await?;
    if found.error_code != 0 {
        return Err(LogError::Unavailable(format!(
            "finding the coordinator of group '{group}': {}",
            code_text(found.error_code)
        )));
    }
    let address = format!("{}:{}", found.host.as_str(), found.port);
    let mut coordinator = Connection::open(&address).await?;
    let mut topics: Vec<OffsetDeleteRequestTopic> = Vec::new();
    for tp in partitions {
        let partition = OffsetDeleteRequestPartition::default().with_partition_index(tp.partition);
        match topics.iter_mut().find(|t| t.name.0.as_str() == &*tp.topic) {
            Some(t) => t.partitions.push(partition),
            None => topics.push(
                OffsetDeleteRequestTopic::default()
                    .with_name(TopicName(StrBytes::from_string(tp.topic.to_string())))
                    .with_partitions(vec![partition]),
            ),
        }
    }
    let request = OffsetDeleteRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_topics(topics);
    let response: OffsetDeleteResponse =
        coordinator.call(ApiKey::OffsetDelete, 0, &request).await?;
    let doing = format!("deleting committed offsets of group '{group}'");
    match ResponseError::try_from_code(response.error_code) {
        None => {}
        Some(ResponseError::GroupIdNotFound) => {
            return Err(LogError::UnknownGroup {
                group: group.to_string(),
            })
        }
        Some(ResponseError::NonEmptyGroup) => {
            return Err(LogError::GroupNotEmpty {
                group: group.to_string(),
            })
        }
        Some(e) => return Err(LogError::Remote(format!("{doing}: {e:?}"))),
    }
    for topic in &response.topics {
        for p in &topic.partitions {
            if p.error_code != 0 {
                return Err(LogError::Remote(format!(
                    "{doing}: {}-{}: {}",
                    topic.name.0.as_str(),
                    p.partition_index,
                    code_text(p.error_code)
                )));
            }
        }
    }
    Ok(())
}
