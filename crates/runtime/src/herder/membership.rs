//! Group membership of a distributed worker on Kafka: the bridge between
//! [`sluice_kafka::group::WorkerGroup`] (JoinGroup/SyncGroup/Heartbeat with Kafka Connect's
//! protocol) and the [`DistributedHerder`].
//!
//! One tokio task follows two streams:
//!
//! - the group's events: an assignment is applied once the config topic has been read up to
//!   the offset the leader assigned from (Kafka Connect's rule, so a worker never starts work
//!   it has not seen the config of), revoked work is stopped before it is acknowledged (so it
//!   never runs on two workers at once), and a leader that was behind catches up;
//! - the config topic, read in the background: changes other workers wrote are applied, and
//!   when the set of connectors or a connector's number of tasks changes, the worker asks for
//!   a rebalance so the leader hands the new work out. Other changes (a new config for an
//!   existing connector, a target state) need no rebalance: every worker applies them to the
//!   work it runs.
//!
//! The status topic is read in the background too, so any worker can answer for work that
//! runs elsewhere.

use std::sync::Arc;
use std::time::Duration;

use sluice_kafka::group::{
    ClusterState, GroupConfig, GroupError, GroupEvent, GroupEvents, WorkerGroup,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::distributed::{DistributedHerder, GroupRole, WorkAssignment};
use crate::storage::{ConfigUpdate, Follower};

/// How often the background readers poll the config and status topics.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// How long a worker waits to read the config topic up to an assignment's offset
/// (Kafka Connect's `worker.sync.timeout.ms` default).
const SYNC_TIMEOUT: Duration = Duration::from_millis(3_000);

/// A worker's membership in its group; [`GroupMembership::leave`] ends it cleanly.
pub struct GroupMembership {
    group: Arc<WorkerGroup>,
    driver: JoinHandle<()>,
    failed: Option<oneshot::Receiver<GroupError>>,
    followers: Vec<Follower>,
}

impl DistributedHerder {
    /// Joins the group of `config` (the worker's `group.id` on its Kafka cluster) and runs
    /// the share of work the group's rounds assign to this worker. The herder must have been
    /// started with [`DistributedHerder::start_in_group`]; `own_url` is this worker's
    /// advertised REST url.
    pub fn join_group(
        self: &Arc<Self>,
        config: GroupConfig,
        own_url: String,
    ) -> Result<GroupMembership, GroupError> {
        let followers = vec![
            self.config_store().follow(FOLLOW_POLL),
            self.status_store().follow(FOLLOW_POLL),
        ];
        let updates = self.config_store().subscribe();
        let (group, events) = WorkerGroup::join(config, self.cluster_state())?;
        let group = Arc::new(group);
        let (fail_tx, failed) = oneshot::channel();
        let driver = tokio::spawn(drive(
            self.clone(),
            group.clone(),
            events,
            updates,
            own_url,
            fail_tx,
        ));
        Ok(GroupMembership {
            group,
            driver,
            failed: Some(failed),
            followers,
        })
    }
}

impl GroupMembership {
    /// Resolves when the membership stopped on an error it cannot recover from (the worker
    /// should stop); never resolves otherwise.
    pub async fn failed(&mut self) -> GroupError {
        match self.failed.take() {
            Some(rx) => match rx.await {
                Ok(e) => e,
                Err(_) => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }

    /// Leaves the group (the others rebalance at once) and stops reading the internal
    /// topics. Call it after the herder stopped its work.
    pub async fn leave(self) {
        self.driver.abort();
        // The driver owns a handle to the group until it has stopped.
        let _ = self.driver.await;
        for follower in self.followers {
            follower.stop().await;
        }
        match Arc::try_unwrap(self.group) {
            Ok(group) => match group.leave().await {
                Ok(()) => tracing::info!("Left the worker group."),
                Err(e) => {
                    tracing::warn!(error = %e, "Leaving the worker group failed; the others notice after session.timeout.ms.")
                }
            },
            Err(_) => {
                tracing::warn!("The worker group is still in use; not leaving it explicitly.")
            }
        }
    }
}

/// Follows the group's events and the config topic's changes; see the module docs.
async fn drive(
    herder: Arc<DistributedHerder>,
    group: Arc<WorkerGroup>,
    mut events: GroupEvents,
    mut updates: mpsc::UnboundedReceiver<ConfigUpdate>,
    own_url: String,
    failed: oneshot::Sender<GroupError>,
) {
    let mut announced = herder.cluster_state();
    loop {
        tokio::select! {
            event = events.next() => match event {
                None => return,
                Some(GroupEvent::Assigned(round)) => {
                    if !herder.catch_up(round.config_offset, SYNC_TIMEOUT).await {
                        tracing::warn!(
                            config_offset = round.config_offset,
                            "The config topic could not be read up to the assignment's offset in time; starting the assigned work from what was read."
                        );
                    }
                    tracing::info!(
                        generation = round.generation,
                        leader = %round.leader_url,
                        is_leader = round.is_leader,
                        connectors = round.running.connectors.len(),
                        tasks = round.running.tasks.len(),
                        new_connectors = round.assigned.connectors.len(),
                        new_tasks = round.assigned.tasks.len(),
                        "Joined the worker group."
                    );
                    herder
                        .set_role(
                            GroupRole {
                                is_leader: round.is_leader,
                                leader_url: round.leader_url.clone(),
                                own_url: own_url.clone(),
                            },
                            round.generation,
                        )
                        .await;
                    herder.set_assignment(WorkAssignment::from(&round.running)).await;
                    announced = announce(&herder, &group, &announced);
                }
                Some(GroupEvent::Revoked { revoked, ack, generation }) => {
                    tracing::debug!(generation, "Stopping revoked work.");
                    herder.revoke(&revoked).await;
                    ack.done();
                }
                Some(GroupEvent::ConfigMismatch { leader_config_offset, .. }) => {
                    tracing::info!(
                        leader_config_offset,
                        "The leader's view of the config topic differed from this worker's; catching up before the next round."
                    );
                    herder.catch_up(leader_config_offset, SYNC_TIMEOUT).await;
                    herder.apply_pending_updates().await;
                    announced = herder.cluster_state();
                    group.set_cluster_state(announced.clone());
                }
                Some(GroupEvent::Failed(e)) => {
                    tracing::error!(error = %e, "The worker lost its group membership for good.");
                    let _ = failed.send(e);
                    return;
                }
            },
            Some(_) = updates.recv() => {
                while updates.try_recv().is_ok() {}
                herder.apply_pending_updates().await;
                announced = announce(&herder, &group, &announced);
            }
        }
    }
}

/// Gives the group this worker's current view of the config topic, asking for a rebalance
/// when connectors or task counts changed since `before`; answers the view given.
fn announce(
    herder: &DistributedHerder,
    group: &WorkerGroup,
    before: &ClusterState,
) -> ClusterState {
    let now = herder.cluster_state();
    if now == *before {
        return now;
    }
    let rebalance = now.connectors != before.connectors;
    group.set_cluster_state(now.clone());
    if rebalance {
        tracing::info!(
            connectors = now.connectors.len(),
            "Connectors or task counts changed; asking the group for a rebalance."
        );
        group.request_rejoin();
    }
    now
}
