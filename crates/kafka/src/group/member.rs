//! The group member: one task per worker that joins, syncs, heartbeats and leaves.
//!
//! The member runs in its own tokio task and talks to the herder through a [`WorkerGroup`]
//! handle (commands, cluster state) and a [`GroupEvents`] stream. Rebalances are cooperative:
//! a member keeps running its work through a rebalance and stops only what it is told to
//! revoke. The order of events for one round is: [`GroupEvent::Revoked`] (when something is
//! revoked; the member waits for the herder to acknowledge, heartbeating meanwhile, and then
//! rejoins so the leader can hand the freed work out), then [`GroupEvent::Assigned`] with the
//! full set of work to run. When the member loses its membership (UNKNOWN_MEMBER_ID,
//! ILLEGAL_GENERATION: the coordinator dropped it, so its work may run elsewhere already) it
//! revokes everything it runs before it joins again; so does a member that has not reached
//! the coordinator for `session.timeout.ms` (the coordinator has dropped it by then).

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::heartbeat_request::HeartbeatRequest;
use kafka_protocol::messages::join_group_request::{JoinGroupRequest, JoinGroupRequestProtocol};
use kafka_protocol::messages::join_group_response::JoinGroupResponse;
use kafka_protocol::messages::leave_group_request::{LeaveGroupRequest, MemberIdentity};
use kafka_protocol::messages::leave_group_response::LeaveGroupResponse;
use kafka_protocol::messages::sync_group_request::{SyncGroupRequest, SyncGroupRequestAssignment};
use kafka_protocol::messages::GroupId;
use kafka_protocol::protocol::StrBytes;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::assignor::{self, AssignorState, ClusterState, MemberState, WorkSet};
use super::connection::Connection;
use super::protocol::{
    self, ConnectAssignment, ConnectProtocol, WorkerMetadata, CONFIG_MISMATCH, NO_ERROR,
    PROTOCOL_TYPE,
};
use super::{GroupConfig, GroupError};

/// Highest request versions this member fills in.
const JOIN_GROUP_MAX: i16 = 7;
const SYNC_GROUP_MAX: i16 = 5;
const HEARTBEAT_MAX: i16 = 4;
const LEAVE_GROUP_MAX: i16 = 5;

/// The result of one round, for the herder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The group generation of this round.
    pub generation: i32,
    /// This member's id.
    pub member_id: String,
    /// The leader's member id.
    pub leader: String,
    /// The leader's REST url (where requests that need the leader are forwarded).
    pub leader_url: String,
    /// True when this member is the leader.
    pub is_leader: bool,
    /// The config topic offset the leader assigned from: a worker must have read the config
    /// topic up to this offset before it starts the work (Kafka Connect's rule).
    pub config_offset: i64,
    /// The protocol the group agreed on.
    pub protocol: ConnectProtocol,
    /// Work new to this member in this round.
    pub assigned: WorkSet,
    /// Everything this member runs after this round.
    pub running: WorkSet,
    /// Time until held work of departed members is reassigned (the member rejoins then).
    pub delay: Duration,
}

/// An acknowledgement that revoked work has stopped. Call [`RevokeAck::done`] (or drop it)
/// once the revoked connectors and tasks are stopped; the member waits for it before it
/// rejoins, so the work never runs on two workers at once.
#[derive(Debug)]
pub struct RevokeAck(oneshot::Sender<()>);

impl RevokeAck {
    /// Tells the member that the revoked work has stopped.
    pub fn done(self) {
        // The member may have stopped waiting (it left); nothing to tell then.
        let _ = self.0.send(());
    }
}

/// What the member tells the herder.
#[derive(Debug)]
pub enum GroupEvent {
    /// Work to stop. Acknowledge with `ack` once it has stopped.
    Revoked {
        /// The generation of the round that revoked it.
        generation: i32,
        /// The work to stop.
        revoked: WorkSet,
        /// Acknowledge when stopped.
        ack: RevokeAck,
    },
    /// A round completed: start [`Assignment::assigned`] (after reading the config topic up to
    /// [`Assignment::config_offset`]).
    Assigned(Assignment),
    /// The leader's config view was older than this worker's; nothing changed, the member
    /// rejoins after `retry.backoff.ms`. A leader's herder should catch up with the config
    /// topic and update the cluster state.
    ConfigMismatch {
        /// The generation of the round.
        generation: i32,
        /// The leader's REST url.
        leader_url: String,
        /// The offset the leader had read up to.
        leader_config_offset: i64,
    },
    /// The member stopped on an error it cannot recover from (authorization, invalid session
    /// timeout, incompatible group); the worker should stop.
    Failed(GroupError),
}

/// The stream of [`GroupEvent`]s of one member.
#[derive(Debug)]
pub struct GroupEvents(mpsc::UnboundedReceiver<GroupEvent>);

impl GroupEvents {
    /// The next event; `None` once the member has stopped.
    pub async fn next(&mut self) -> Option<GroupEvent> {
        self.0.recv().await
    }
}

enum Command {
    Rejoin,
    Leave(oneshot::Sender<()>),
}

/// The handle of a worker's group membership.
///
/// Dropping it without [`WorkerGroup::leave`] stops the member at once without a LeaveGroup,
/// as a crashed worker would: the coordinator notices after `session.timeout.ms`.
#[derive(Debug)]
pub struct WorkerGroup {
    commands: mpsc::UnboundedSender<Command>,
    cluster: watch::Sender<ClusterState>,
    status: watch::Receiver<GroupStatus>,
    task: JoinHandle<()>,
}

/// The member's state after its latest round, for whoever needs it between events (e.g. the
/// REST layer, to forward a request to the leader).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupStatus {
    /// The generation of the latest completed round; `-1` before the first one and after the
    /// membership was lost.
    pub generation: i32,
    /// This member's id (empty before the first join).
    pub member_id: String,
    /// True when this member leads the group.
    pub is_leader: bool,
    /// The leader's REST url (empty when unknown).
    pub leader_url: String,
    /// The work this member runs.
    pub running: WorkSet,
}

impl Drop for WorkerGroup {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WorkerGroup {
    /// Starts the member of `config` (which must be valid, see [`GroupConfig::validate`]) on the
    /// current tokio runtime. `cluster` is this worker's current view of the config topic.
    pub fn join(
        config: GroupConfig,
        cluster: ClusterState,
    ) -> Result<(WorkerGroup, GroupEvents), GroupError> {
        config.validate()?;
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::unbounded_channel();
        let (cluster_tx, cluster_rx) = watch::channel(cluster);
        let (status_tx, status) = watch::channel(GroupStatus {
            generation: -1,
            ..GroupStatus::default()
        });
        let member = Member {
            config,
            commands: command_rx,
            cluster: cluster_rx,
            events,
            coordinator: None,
            member_id: String::new(),
            generation: -1,
            running: WorkSet::default(),
            assignor: AssignorState::default(),
            joins: 0,
            last_contact: Instant::now(),
            status: status_tx,
        };
        let task = tokio::spawn(member.run());
        Ok((
            WorkerGroup {
                commands,
                cluster: cluster_tx,
                status,
                task,
            },
            GroupEvents(event_rx),
        ))
    }

    /// Replaces this worker's view of the cluster: its config topic offset (sent to the leader)
    /// and, when it leads, the connectors and task counts it assigns.
    pub fn set_cluster_state(&self, state: ClusterState) {
        self.cluster.send_replace(state);
    }

    /// The member's state after its latest round.
    pub fn status(&self) -> GroupStatus {
        self.status.borrow().clone()
    }

    /// Asks for a rebalance (after connectors or task configs changed).
    pub fn request_rejoin(&self) {
        // A stopped member has nothing to rejoin.
        let _ = self.commands.send(Command::Rejoin);
    }

    /// Leaves the group cleanly (LeaveGroup, so the others rebalance at once) and stops.
    pub async fn leave(self) -> Result<(), GroupError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Leave(tx))
            .map_err(|_closed| GroupError::Stopped)?;
        rx.await.map_err(|_closed| GroupError::Stopped)
    }
}

/// How a phase of the member ended.
enum Next {
    /// Join again (keep the work).
    Rejoin,
    /// The coordinator is gone or moved: find it again, then join.
    Rediscover,
    /// The membership is lost: revoke everything, then join again.
    Lost,
    /// Stop (left, or a fatal error was reported).
    Stop,
}

struct Member {
    config: GroupConfig,
    commands: mpsc::UnboundedReceiver<Command>,
    cluster: watch::Receiver<ClusterState>,
    events: mpsc::UnboundedSender<GroupEvent>,
    coordinator: Option<Arc<Connection>>,
    member_id: String,
    generation: i32,
    running: WorkSet,
    assignor: AssignorState,
    /// JoinGroup requests sent, carried in the metadata so that every join changes it.
    joins: i32,
    /// The last successful SyncGroup or Heartbeat.
    last_contact: Instant,
    status: watch::Sender<GroupStatus>,
}

impl Member {
    async fn run(mut self) {
        let mut backoff = false;
        loop {
            // Out of touch with the coordinator for a whole session: it has dropped this member
            // and the others may take its work, so stop it now rather than at the next join.
            if self.coordinator.is_none()
                && !self.running.is_empty()
                && self.last_contact.elapsed() > self.config.session_timeout
            {
                tracing::warn!(group = %self.config.group_id, "no contact with the group coordinator for session.timeout.ms; stopping this worker's connectors and tasks");
                self.member_id.clear();
                if self.revoke_all().await.is_err() {
                    return;
                }
            }
            if backoff {
                match self.pause(self.config.retry_backoff).await {
                    Next::Stop => return,
                    _ => backoff = false,
                }
            }
            if self.coordinator.is_none() {
                let config = self.config.clone();
                let found = self
                    .with_commands(async move { find_coordinator(&config).await })
                    .await;
                match found {
                    Err(next) => {
                        if matches!(next, Next::Stop) {
                            return;
                        }
                        continue;
                    }
                    Ok(Ok(conn)) => self.coordinator = Some(Arc::new(conn)),
                    Ok(Err(e)) if e.is_fatal() => {
                        self.fail(e);
                        return;
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(group = %self.config.group_id, error = %e, "cannot reach the group coordinator; retrying");
                        backoff = true;
                        continue;
                    }
                }
            }
            let next = match self.join_and_sync().await {
                Ok(round) => self.stable(round).await,
                Err(next) => next,
            };
            match next {
                Next::Stop => return,
                Next::Rejoin => {}
                Next::Rediscover => {
                    self.coordinator = None;
                    backoff = true;
                }
                Next::Lost => {
                    if self.revoke_all().await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Revokes everything this member runs and waits for the acknowledgement; `Err` when the
    /// member must stop (it was asked to leave meanwhile).
    async fn revoke_all(&mut self) -> Result<(), Next> {
        self.generation = -1;
        self.publish_status(false, String::new());
        if self.running.is_empty() {
            return Ok(());
        }
        let revoked = std::mem::take(&mut self.running);
        let (tx, rx) = oneshot::channel();
        self.emit(GroupEvent::Revoked {
            generation: self.generation,
            revoked,
            ack: RevokeAck(tx),
        });
        self.with_commands(rx).await.map(|_acked| ())
    }

    fn publish_status(&self, is_leader: bool, leader_url: String) {
        self.status.send_replace(GroupStatus {
            generation: self.generation,
            member_id: self.member_id.clone(),
            is_leader,
            leader_url,
            running: self.running.clone(),
        });
    }

    fn emit(&self, event: GroupEvent) {
        // The herder may have dropped the stream while shutting down.
        let _ = self.events.send(event);
    }

    /// Waits `d`, serving commands.
    async fn pause(&mut self, d: Duration) -> Next {
        match self.with_commands(tokio::time::sleep(d)).await {
            Ok(()) => Next::Rejoin,
            Err(next) => next,
        }
    }

    /// Runs `fut` while serving commands: a leave stops it (and the member).
    async fn with_commands<F: std::future::Future>(&mut self, fut: F) -> Result<F::Output, Next> {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                out = &mut fut => return Ok(out),
                cmd = self.commands.recv() => match cmd {
                    None => return Err(Next::Stop),
                    Some(Command::Rejoin) => {}
                    Some(Command::Leave(done)) => {
                        self.leave_group().await;
                        let _ = done.send(());
                        return Err(Next::Stop);
                    }
                },
            }
        }
    }

    async fn leave_group(&mut self) {
        let Some(conn) = self.coordinator.as_ref() else {
            return;
        };
        if self.member_id.is_empty() {
            return;
        }
        let result = async {
            let version = conn.version::<LeaveGroupRequest>(LEAVE_GROUP_MAX)?;
            let mut request = LeaveGroupRequest::default()
                .with_group_id(GroupId(str_bytes(&self.config.group_id)));
            if version >= 3 {
                request.members = vec![MemberIdentity::default()
                    .with_member_id(str_bytes(&self.member_id))
                    .with_reason(Some(StrBytes::from_static_str(
                        "the worker is shutting down",
                    )))];
            } else {
                request.member_id = str_bytes(&self.member_id);
            }
            leave_outcome(&conn.send(&request, version).await?)
        }
        .await;
        match result {
            Ok(()) => {
                tracing::info!(group = %self.config.group_id, member = %self.member_id, "left the worker group")
            }
            Err(e) => {
                tracing::warn!(group = %self.config.group_id, error = %e, "LeaveGroup failed; the coordinator drops this member after the session timeout")
            }
        }
        self.member_id.clear();
        self.generation = -1;
    }

    /// Maps a group error code to what to do next, reporting fatal ones.
    fn on_error(&mut self, api: &'static str, code: i16) -> Next {
        match ResponseError::try_from_code(code) {
            None => Next::Rejoin,
            Some(ResponseError::RebalanceInProgress) => Next::Rejoin,
            Some(ResponseError::UnknownMemberId) => {
                self.member_id.clear();
                Next::Lost
            }
            Some(ResponseError::IllegalGeneration) | Some(ResponseError::FencedInstanceId) => {
                Next::Lost
            }
            Some(
                ResponseError::NotCoordinator
                | ResponseError::CoordinatorNotAvailable
                | ResponseError::CoordinatorLoadInProgress
                | ResponseError::NetworkException
                | ResponseError::RequestTimedOut
                | ResponseError::UnknownServerError,
            ) => Next::Rediscover,
            Some(_) => {
                let e = GroupError::response(api, code);
                tracing::error!(group = %self.config.group_id, error = %e, "the worker cannot stay in its group");
                self.emit(GroupEvent::Failed(e));
                Next::Stop
            }
        }
    }

    fn on_transport_error(&self, e: &GroupError) -> Next {
        tracing::warn!(group = %self.config.group_id, error = %e, "lost the group coordinator");
        Next::Rediscover
    }

    fn metadata(&self, protocol: ConnectProtocol) -> Result<bytes::Bytes, GroupError> {
        protocol::encode_metadata(&WorkerMetadata {
            version: protocol.version(),
            url: self.config.url.clone(),
            config_offset: self.cluster.borrow().config_offset,
            current: self.running.clone(),
            join: self.joins,
        })
    }

    /// JoinGroup (retrying on MEMBER_ID_REQUIRED), then SyncGroup.
    async fn join_and_sync(&mut self) -> Result<Round, Next> {
        let join = loop {
            self.joins = self.joins.wrapping_add(1);
            let request = self.join_request().map_err(|e| self.fail(e))?;
            let Some(conn) = self.coordinator.clone() else {
                return Err(Next::Rediscover);
            };
            let version = conn
                .version::<JoinGroupRequest>(JOIN_GROUP_MAX)
                .map_err(|e| self.fail(e))?;
            // JoinGroup waits for every member, up to the rebalance timeout.
            let timeout = self.config.rebalance_timeout + Duration::from_secs(5);
            let response: JoinGroupResponse = match self
                .with_commands(
                    async move { conn.send_with_timeout(&request, version, timeout).await },
                )
                .await?
            {
                Ok(r) => r,
                Err(e) => return Err(self.on_transport_error(&e)),
            };
            if response.error_code == ResponseError::MemberIdRequired.code() {
                self.member_id = response.member_id.to_string();
                continue;
            }
            if response.error_code != 0 {
                return Err(self.on_error("JoinGroup", response.error_code));
            }
            break response;
        };
        self.member_id = join.member_id.to_string();
        self.generation = join.generation_id;
        let protocol = join
            .protocol_name
            .as_ref()
            .and_then(|n| ConnectProtocol::from_name(n.as_str()))
            .unwrap_or(self.config.protocol);
        let is_leader = join.leader == join.member_id;
        let assignments = if is_leader {
            self.leader_assign(&join, protocol)
                .map_err(|e| self.fail(e))?
        } else {
            Vec::new()
        };

        let Some(conn) = self.coordinator.clone() else {
            return Err(Next::Rediscover);
        };
        let version = conn
            .version::<SyncGroupRequest>(SYNC_GROUP_MAX)
            .map_err(|e| self.fail(e))?;
        let request = SyncGroupRequest::default()
            .with_group_id(GroupId(str_bytes(&self.config.group_id)))
            .with_generation_id(self.generation)
            .with_member_id(str_bytes(&self.member_id))
            .with_protocol_type(Some(StrBytes::from_static_str(PROTOCOL_TYPE)))
            .with_protocol_name(Some(StrBytes::from_static_str(protocol.name())))
            .with_assignments(assignments);
        let timeout = self.config.rebalance_timeout + Duration::from_secs(5);
        let response = match self
            .with_commands(async move { conn.send_with_timeout(&request, version, timeout).await })
            .await?
        {
            Ok(r) => r,
            Err(e) => return Err(self.on_transport_error(&e)),
        };
        if response.error_code != 0 {
            return Err(self.on_error("SyncGroup", response.error_code));
        }
        self.last_contact = Instant::now();
        let assignment = if response.assignment.is_empty() {
            ConnectAssignment::default()
        } else {
            protocol::decode_assignment(response.assignment).map_err(|e| self.fail(e))?
        };
        Ok(Round {
            protocol,
            is_leader,
            assignment,
        })
    }

    fn fail(&self, e: GroupError) -> Next {
        tracing::error!(group = %self.config.group_id, error = %e, "group membership failed");
        self.emit(GroupEvent::Failed(e));
        Next::Stop
    }

    fn join_request(&self) -> Result<JoinGroupRequest, GroupError> {
        let protocols = self
            .config
            .protocol
            .offered()
            .iter()
            .map(|p| {
                Ok(JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from_static_str(p.name()))
                    .with_metadata(self.metadata(*p)?))
            })
            .collect::<Result<Vec<_>, GroupError>>()?;
        Ok(JoinGroupRequest::default()
            .with_group_id(GroupId(str_bytes(&self.config.group_id)))
            .with_session_timeout_ms(millis_i32(self.config.session_timeout))
            .with_rebalance_timeout_ms(millis_i32(self.config.rebalance_timeout))
            .with_member_id(str_bytes(&self.member_id))
            .with_protocol_type(StrBytes::from_static_str(PROTOCOL_TYPE))
            .with_protocols(protocols))
    }

    /// The leader's part: decode every member's metadata and compute the assignments.
    fn leader_assign(
        &mut self,
        join: &JoinGroupResponse,
        protocol: ConnectProtocol,
    ) -> Result<Vec<SyncGroupRequestAssignment>, GroupError> {
        let mut members = Vec::with_capacity(join.members.len());
        for m in &join.members {
            let meta = protocol::decode_metadata(m.metadata.clone())?;
            members.push(MemberState {
                member_id: m.member_id.to_string(),
                url: meta.url,
                config_offset: meta.config_offset,
                current: meta.current,
            });
        }
        let cluster = self.cluster.borrow().clone();
        let max_member_offset = members
            .iter()
            .map(|m| m.config_offset)
            .max()
            .unwrap_or(cluster.config_offset);
        let base = ConnectAssignment {
            version: protocol.version(),
            error: NO_ERROR,
            leader: self.member_id.clone(),
            leader_url: self.config.url.clone(),
            config_offset: cluster.config_offset,
            ..ConnectAssignment::default()
        };
        let mut out = Vec::with_capacity(members.len());
        if max_member_offset > cluster.config_offset {
            tracing::info!(
                group = %self.config.group_id,
                leader_offset = cluster.config_offset,
                member_offset = max_member_offset,
                "a member has read more of the config topic than this leader; asking everyone to rejoin"
            );
            for m in &members {
                let a = ConnectAssignment {
                    error: CONFIG_MISMATCH,
                    ..base.clone()
                };
                out.push(sync_assignment(&m.member_id, &a)?);
            }
            return Ok(out);
        }
        let assignments = assignor::assign(
            &mut self.assignor,
            &members,
            &cluster,
            self.config.scheduled_rebalance_max_delay,
            std::time::Instant::now(),
        );
        for (member_id, a) in assignments {
            let delay_ms = i32::try_from(a.delay.as_millis()).unwrap_or(i32::MAX);
            let ca = ConnectAssignment {
                assigned: a.assigned,
                revoked: a.revoked,
                delay_ms,
                ..base.clone()
            };
            out.push(sync_assignment(&member_id, &ca)?);
        }
        Ok(out)
    }

    /// After a successful sync: report, then heartbeat until the next rebalance.
    async fn stable(&mut self, round: Round) -> Next {
        let a = round.assignment;
        if a.error == CONFIG_MISMATCH {
            self.emit(GroupEvent::ConfigMismatch {
                generation: self.generation,
                leader_url: a.leader_url,
                leader_config_offset: a.config_offset,
            });
            return self.pause(self.config.retry_backoff).await;
        }
        let revoked = a.revoked.intersection(&self.running);
        let mut pending_ack = None;
        if !revoked.is_empty() {
            let (tx, rx) = oneshot::channel();
            self.emit(GroupEvent::Revoked {
                generation: self.generation,
                revoked: revoked.clone(),
                ack: RevokeAck(tx),
            });
            pending_ack = Some(rx);
        }
        self.running.remove_all(&revoked);
        self.running.extend(&a.assigned);
        let assignment = Assignment {
            generation: self.generation,
            member_id: self.member_id.clone(),
            leader: a.leader,
            leader_url: a.leader_url,
            is_leader: round.is_leader,
            config_offset: a.config_offset,
            protocol: round.protocol,
            assigned: a.assigned,
            running: self.running.clone(),
            delay: Duration::from_millis(u64::try_from(a.delay_ms).unwrap_or(0)),
        };
        let delay = assignment.delay;
        self.publish_status(assignment.is_leader, assignment.leader_url.clone());
        tracing::info!(
            group = %self.config.group_id,
            generation = self.generation,
            leader = round.is_leader,
            connectors = assignment.running.connectors.len(),
            tasks = assignment.running.tasks.len(),
            revoked = revoked.len(),
            "worker group assignment"
        );
        let mut assigned_event = Some(GroupEvent::Assigned(assignment));
        if pending_ack.is_none() {
            if let Some(e) = assigned_event.take() {
                self.emit(e);
            }
        }
        let rejoin_at = (!delay.is_zero()).then(|| Instant::now() + delay);
        self.heartbeat_loop(pending_ack, assigned_event, rejoin_at)
            .await
    }

    async fn heartbeat_loop(
        &mut self,
        mut pending_ack: Option<oneshot::Receiver<()>>,
        mut assigned_event: Option<GroupEvent>,
        rejoin_at: Option<Instant>,
    ) -> Next {
        let interval = self.config.heartbeat_interval;
        let mut ticker = tokio::time::interval_at(Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // What to do once the revocation is acknowledged (always at least a rejoin).
        let mut after_ack = Next::Rejoin;
        loop {
            tokio::select! {
                cmd = self.commands.recv() => match cmd {
                    None => return Next::Stop,
                    Some(Command::Rejoin) => {
                        if pending_ack.is_none() {
                            return Next::Rejoin;
                        }
                    }
                    Some(Command::Leave(done)) => {
                        self.leave_group().await;
                        let _ = done.send(());
                        return Next::Stop;
                    }
                },
                _ = ticker.tick() => {
                    let next = self.heartbeat().await;
                    if let Some(next) = next {
                        if pending_ack.is_none() {
                            return next;
                        }
                        if !matches!(next, Next::Rejoin) {
                            after_ack = next;
                        }
                    }
                }
                _ = sleep_until_opt(rejoin_at), if rejoin_at.is_some() && pending_ack.is_none() => {
                    return Next::Rejoin;
                }
                _ = async { if let Some(rx) = pending_ack.as_mut() { let _ = rx.await; } }, if pending_ack.is_some() => {
                    if let Some(e) = assigned_event.take() {
                        self.emit(e);
                    }
                    return after_ack;
                }
            }
        }
    }

    /// One heartbeat; `Some` when the member must leave the stable state.
    async fn heartbeat(&mut self) -> Option<Next> {
        let conn = self.coordinator.as_ref()?;
        let result = async {
            let version = conn.version::<HeartbeatRequest>(HEARTBEAT_MAX)?;
            let request = HeartbeatRequest::default()
                .with_group_id(GroupId(str_bytes(&self.config.group_id)))
                .with_generation_id(self.generation)
                .with_member_id(str_bytes(&self.member_id));
            // A heartbeat answered after the session timeout is worthless.
            let timeout = self.config.request_timeout.min(self.config.session_timeout);
            conn.send_with_timeout(&request, version, timeout).await
        }
        .await;
        match result {
            Err(e) => Some(self.on_transport_error(&e)),
            Ok(r) if r.error_code == 0 => {
                self.last_contact = Instant::now();
                None
            }
            Ok(r) => Some(self.on_error("Heartbeat", r.error_code)),
        }
    }
}

/// What a JoinGroup + SyncGroup round gave.
struct Round {
    protocol: ConnectProtocol,
    is_leader: bool,
    assignment: ConnectAssignment,
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn sync_assignment(
    member_id: &str,
    a: &ConnectAssignment,
) -> Result<SyncGroupRequestAssignment, GroupError> {
    Ok(SyncGroupRequestAssignment::default()
        .with_member_id(str_bytes(member_id))
        .with_assignment(protocol::encode_assignment(a)?))
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

fn millis_i32(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

/// Finds the group coordinator through the bootstrap servers and connects to it.
async fn find_coordinator(config: &GroupConfig) -> Result<Connection, GroupError> {
    Connection::find_coordinator(
        &config.bootstrap_servers,
        &config.group_id,
        &config.client_id,
        config.request_timeout,
        config.tls.as_ref(),
        config.sasl.as_ref(),
    )
    .await
}

/// Whether a LeaveGroup succeeded. From version 3 the request names its members and each gets
/// an error code of its own (an unknown member id, say) beside the request's.
fn leave_outcome(response: &LeaveGroupResponse) -> Result<(), GroupError> {
    let failure = std::iter::once(response.error_code)
        .chain(response.members.iter().map(|m| m.error_code))
        .find(|&code| code != 0);
    match failure {
        None => Ok(()),
        Some(code) => Err(GroupError::response("LeaveGroup", code)),
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::leave_group_response::MemberResponse;

    use super::*;

    /// UNKNOWN_MEMBER_ID and COORDINATOR_NOT_AVAILABLE, as Kafka numbers them.
    const UNKNOWN_MEMBER_ID: i16 = 25;
    const COORDINATOR_NOT_AVAILABLE: i16 = 15;

    fn member(error_code: i16) -> MemberResponse {
        MemberResponse::default()
            .with_member_id(StrBytes::from_static_str("worker-1"))
            .with_error_code(error_code)
    }

    #[test]
    fn a_leave_fails_on_the_request_or_the_member_error() {
        let ok = LeaveGroupResponse::default().with_members(vec![member(0)]);
        assert!(leave_outcome(&ok).is_ok());
        assert!(leave_outcome(&LeaveGroupResponse::default()).is_ok());

        let member_failed =
            LeaveGroupResponse::default().with_members(vec![member(UNKNOWN_MEMBER_ID)]);
        let e = leave_outcome(&member_failed).unwrap_err();
        assert_eq!(e.kafka_code(), Some(UNKNOWN_MEMBER_ID), "{e}");

        let request_failed = LeaveGroupResponse::default()
            .with_error_code(COORDINATOR_NOT_AVAILABLE)
            .with_members(vec![member(UNKNOWN_MEMBER_ID)]);
        let e = leave_outcome(&request_failed).unwrap_err();
        assert_eq!(e.kafka_code(), Some(COORDINATOR_NOT_AVAILABLE), "{e}");
    }
}
