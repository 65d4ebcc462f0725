//! Mapping of librdkafka's errors to [`LogError`], keeping librdkafka's message.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use sluice_log::LogError;

/// Translates a librdkafka error met while `doing` something (a short phrase such as
/// "creating topic 'x'"). `topic` names the topic concerned, when there is one.
pub(crate) fn map_error(err: KafkaError, doing: &str, topic: Option<&str>) -> LogError {
    if let KafkaError::ClientConfig(_, ref desc, ref key, _) = err {
        return LogError::InvalidConfig {
            key: key.clone(),
            message: desc.clone(),
        };
    }
    if let KafkaError::Transaction(ref txn) = err {
        if txn.code() == RDKafkaErrorCode::Fenced
            || txn.code() == RDKafkaErrorCode::ProducerFenced
            || txn.code() == RDKafkaErrorCode::InvalidProducerEpoch
        {
            return LogError::Transaction(format!("{doing}: fenced: {}", txn.string()));
        }
        let message = format!("{doing}: {}", txn.string());
        return if txn.is_retriable() {
            LogError::Unavailable(message)
        } else {
            LogError::Transaction(message)
        };
    }
    match code_of(&err) {
        Some(code) => map_code(code, &format!("{doing}: {err}"), topic),
        None => LogError::Remote(format!("{doing}: {err}")),
    }
}

/// The error code of a librdkafka error, admin operation errors included.
fn code_of(err: &KafkaError) -> Option<RDKafkaErrorCode> {
    match err {
        KafkaError::AdminOp(code) => Some(*code),
        other => other.rdkafka_error_code(),
    }
}

/// Translates a broker or librdkafka error code; `message` is the full text to keep.
pub(crate) fn map_code(code: RDKafkaErrorCode, message: &str, topic: Option<&str>) -> LogError {
    use RDKafkaErrorCode as C;
    let message = message.to_string();
    match code {
        C::UnknownTopicOrPartition | C::UnknownTopic => match topic {
            Some(topic) => LogError::UnknownTopic {
                topic: topic.to_string(),
            },
            None => LogError::Remote(message),
        },
        C::TopicAlreadyExists => match topic {
            Some(topic) => LogError::TopicExists {
                topic: topic.to_string(),
            },
            None => LogError::Remote(message),
        },
        C::InvalidPartitions => LogError::InvalidConfig {
            key: "partitions".into(),
            message,
        },
        C::InvalidReplicationFactor => LogError::InvalidConfig {
            key: "replication.factor".into(),
            message,
        },
        C::InvalidTopic => LogError::InvalidConfig {
            key: "name".into(),
            message,
        },
        C::InvalidConfig | C::PolicyViolation => LogError::InvalidConfig {
            key: "configs".into(),
            message,
        },
        C::GroupIdNotFound | C::UnknownGroup => LogError::Remote(message),
        C::NonEmptyGroup => LogError::Remote(message),
        C::BrokerTransportFailure
        | C::AllBrokersDown
        | C::OperationTimedOut
        | C::MessageTimedOut
        | C::TimedOutQueue
        | C::Resolve
        | C::QueueFull
        | C::WaitingForCoordinator
        | C::InProgress
        | C::Retry
        | C::LeaderNotAvailable
        | C::NotLeaderForPartition
        | C::RequestTimedOut
        | C::BrokerNotAvailable
        | C::ReplicaNotAvailable
        | C::NetworkException
        | C::CoordinatorLoadInProgress
        | C::CoordinatorNotAvailable
        | C::NotCoordinator
        | C::NotEnoughReplicas
        | C::NotEnoughReplicasAfterAppend
        | C::RebalanceInProgress
        | C::NotController
        | C::KafkaStorageError
        | C::FencedLeaderEpoch
        | C::UnknownLeaderEpoch
        | C::OffsetNotAvailable
        | C::PreferredLeaderNotAvailable
        | C::UnstableOffsetCommit
        | C::ThrottlingQuotaExceeded
        | C::ConcurrentTransactions => LogError::Unavailable(message),
        _ => LogError::Remote(message),
    }
}

/// A group error named after the group when the code says it is unknown or busy.
pub(crate) fn map_group_error(err: KafkaError, doing: &str, group: &str) -> LogError {
    match code_of(&err) {
        Some(RDKafkaErrorCode::GroupIdNotFound) => LogError::UnknownGroup {
            group: group.to_string(),
        },
        Some(
            RDKafkaErrorCode::NonEmptyGroup
            | RDKafkaErrorCode::UnknownMemberId
            | RDKafkaErrorCode::IllegalGeneration
            | RDKafkaErrorCode::RebalanceInProgress,
        ) => LogError::GroupNotEmpty {
            group: group.to_string(),
        },
        _ => map_error(err, doing, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_log_errors() {
        assert!(matches!(
            map_code(RDKafkaErrorCode::TopicAlreadyExists, "x", Some("t")),
            LogError::TopicExists { topic } if topic == "t"
        ));
        assert!(matches!(
            map_code(RDKafkaErrorCode::UnknownTopicOrPartition, "x", Some("t")),
            LogError::UnknownTopic { topic } if topic == "t"
        ));
        assert!(map_code(RDKafkaErrorCode::AllBrokersDown, "x", None).is_retriable());
        let auth = map_code(
            RDKafkaErrorCode::SaslAuthenticationFailed,
            "connecting: SASL authentication error: bad password",
            None,
        );
        assert!(!auth.is_retriable());
        assert!(auth.to_string().contains("bad password"), "{auth}");
        assert!(matches!(
            map_group_error(
                KafkaError::AdminOp(RDKafkaErrorCode::NonEmptyGroup),
                "x",
                "g"
            ),
            LogError::GroupNotEmpty { group } if group == "g"
        ));
    }

    #[test]
    fn config_errors_name_the_key() {
        let created: Result<rdkafka::consumer::BaseConsumer, _> =
            rdkafka::ClientConfig::new().set("bogus.key", "1").create();
        let Err(e) = created else {
            panic!("librdkafka accepted an unknown key");
        };
        let err = map_error(e, "creating a consumer", None);
        assert!(matches!(err, LogError::InvalidConfig { ref key, .. } if key == "bogus.key"));
    }
}
