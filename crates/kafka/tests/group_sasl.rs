//! SASL on the group membership connection against the real test brokers.
//!
//! The broker that requires authentication (`scripts/services/kafka.sh start-auth`, Tansu with
//! `--authentication`) offers SCRAM-SHA-256 and SCRAM-SHA-512 but, in the in-memory storage of
//! this build, keeps no credentials: every login is refused (GAP(tansu-memory-no-sasl-users)).
//! So these tests check the
//! handshake and the exchange up to the broker's verdict, and that a refusal reaches the
//! worker as a readable, fatal error; successful PLAIN and SCRAM logins (and renewed
//! sessions) are checked in the unit tests of `group::sasl` (RFC 7677's example) and
//! `group::connection` (a scripted broker that checks the credentials).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sluice_api::config::ConfigMap;
use sluice_kafka::group::connection::Connection;
use sluice_kafka::group::{
    ClusterState, GroupConfig, GroupError, GroupEvent, GroupSasl, Mechanism, WorkerGroup,
};
use sluice_kafka::testing::{auth_bootstrap, bootstrap, unique_topic};

const TIMEOUT: Duration = Duration::from_secs(10);

async fn connect(addr: &str, sasl: &GroupSasl) -> Result<Connection, GroupError> {
    Connection::connect(addr, "sasl-test", TIMEOUT, None, Some(sasl)).await
}

#[tokio::test]
async fn a_scram_login_the_broker_refuses_is_a_fatal_error_with_its_reason() {
    let addr = auth_bootstrap();
    for mechanism in [Mechanism::ScramSha256, Mechanism::ScramSha512] {
        let sasl = GroupSasl::new(mechanism, "nobody", "wrong");
        let err = connect(&addr, &sasl).await.unwrap_err();
        let text = err.to_string();
        println!("{text}");
        assert!(
            matches!(&err, GroupError::Authentication { mechanism: m, .. } if *m == mechanism.name()),
            "{err:?}"
        );
        assert!(err.is_fatal(), "{text}");
        assert!(text.contains(&addr), "{text}");
        // The broker ran the exchange up to its check of the user: its reason is passed on.
        assert!(text.contains("unknown-user"), "{text}");
    }
    println!(
        "GAP(tansu-memory-no-sasl-users): the broker knows no user, so a successful SCRAM \
         login is not tested against it"
    );
}

#[tokio::test]
async fn a_mechanism_the_broker_does_not_offer_is_reported() {
    // The open broker answers every SaslHandshake with UNSUPPORTED_SASL_MECHANISM.
    let sasl = GroupSasl::new(Mechanism::ScramSha256, "alice", "secret");
    let err = connect(&bootstrap(), &sasl).await.unwrap_err();
    let text = err.to_string();
    println!("{text}");
    assert!(err.is_fatal(), "{text}");
    assert!(
        text.contains("does not offer this mechanism (sasl.mechanism)"),
        "{text}"
    );

    // The broker that requires SCRAM closes the connection when asked for PLAIN (a Kafka
    // broker answers UNSUPPORTED_SASL_MECHANISM, as above): retried, and said so.
    let plain = GroupSasl::new(Mechanism::Plain, "alice", "secret");
    let err = connect(&auth_bootstrap(), &plain).await.unwrap_err();
    let text = err.to_string();
    println!("{text}");
    assert!(
        matches!(err, GroupError::ClosedDuringAuthentication { .. }),
        "{err:?}"
    );
    assert!(!err.is_fatal(), "{text}");
    assert!(text.contains("PLAIN"), "{text}");
}

#[tokio::test]
async fn a_worker_whose_login_is_refused_stops_with_the_reason() {
    let props: ConfigMap = [
        ("bootstrap.servers", auth_bootstrap()),
        ("group.id", unique_topic("sasl-group")),
        ("security.protocol", "SASL_PLAINTEXT".into()),
        ("sasl.mechanism", "SCRAM-SHA-512".into()),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="worker" password="wrong";"#.into(),
        ),
        ("session.timeout.ms", "6000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = GroupConfig::from_worker_config(&props, "http://w1:8083/").unwrap();
    let state = ClusterState {
        config_offset: 0,
        connectors: BTreeMap::new(),
    };
    let started = Instant::now();
    let (_group, mut events) = WorkerGroup::join(config, state).unwrap();
    let event = tokio::time::timeout(Duration::from_secs(30), events.next())
        .await
        .expect("the member neither failed nor joined within 30 s");
    match event {
        Some(GroupEvent::Failed(e)) => {
            let text = e.to_string();
            println!("after {:?}: {text}", started.elapsed());
            assert!(text.contains("SASL SCRAM-SHA-512 authentication"), "{text}");
            assert!(text.contains("unknown-user"), "{text}");
        }
        other => panic!("expected the member to fail, got {other:?}"),
    }
}
