//! Connector and task states (Kafka's `AbstractStatus.State`), kept in memory and logged on
//! every change, with the topics each connector has used (Kafka's active topics). The REST
//! API reads them from here.
//!
//! A [`State`] is what a connector or task is doing; a [`TargetState`] is what the user asked
//! for (started, paused or stopped), which the worker applies.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Identifies one task of a connector: `<connector>-<task>` in logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectorTaskId {
    /// Connector name.
    pub connector: Arc<str>,
    /// Task number, from 0.
    pub task: u32,
}

impl fmt::Display for ConnectorTaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// The runtime state of a connector or task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Created but not started (or stopped by the worker).
    Unassigned,
    /// Started and working.
    Running,
    /// Paused by the user.
    Paused,
    /// Failed; the status carries the error trace.
    Failed,
    /// Stopped by the user (connectors only).
    Stopped,
    /// Being restarted.
    Restarting,
}

impl State {
    /// Kafka's name (`RUNNING`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Failed => "FAILED",
            State::Stopped => "STOPPED",
            State::Restarting => "RESTARTING",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the user asked a connector to be (Kafka's `TargetState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetState {
    /// Running its tasks.
    #[default]
    Started,
    /// Tasks kept but not processing.
    Paused,
    /// Connector and tasks shut down; the connector keeps its config.
    Stopped,
}

impl TargetState {
    /// Kafka's name (`STARTED`, `PAUSED`, `STOPPED`).
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    /// The state a connector shows once this target is applied.
    pub fn state(self) -> State {
        match self {
            TargetState::Started => State::Running,
            TargetState::Paused => State::Paused,
            TargetState::Stopped => State::Stopped,
        }
    }
}

impl fmt::Display for TargetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of one connector or task, with the error trace when failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The state.
    pub state: State,
    /// The error trace of a failure.
    pub trace: Option<String>,
}

/// What Sluice adds to a task's status (beyond Kafka): its automatic restarts in a row and
/// whether it is stalled. Both are shown in the REST status only when non-zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskHealth {
    /// Automatic restarts in a row (see [`crate::restart`]); 0 after a healthy run, a REST
    /// restart or a config change.
    pub restarts: u32,
    /// Running, but delivering nothing while records wait (`errors.stall.timeout.ms`).
    pub stalled: bool,
}

/// A connector's status and its tasks'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorStatus {
    /// Connector name.
    pub name: String,
    /// The connector's own state.
    pub connector: Status,
    /// Task number and status, in order.
    pub tasks: Vec<(u32, Status)>,
}

#[derive(Default)]
struct Board {
    connectors: BTreeMap<String, Status>,
    tasks: BTreeMap<ConnectorTaskId, Status>,
    health: BTreeMap<ConnectorTaskId, TaskHealth>,
    topics: BTreeMap<String, ActiveTopics>,
}

/// The topics one connector's tasks have produced to or consumed from, shared by its tasks.
///
/// Tasks call [`ActiveTopics::note`] once per batch; a topic already known costs a read lock
/// and a comparison, and consecutive records of one topic are checked once.
#[derive(Debug, Clone, Default)]
pub struct ActiveTopics {
    topics: Arc<RwLock<BTreeMap<String, TopicUse>>>,
    /// The task noting through this handle (0 for the connector's own).
    task: u32,
}

/// The first use of a topic that a worker's task made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicUse {
    /// The task that used it first.
    pub task: u32,
    /// When, in milliseconds since the epoch.
    pub discovered_ms: i64,
    /// Tells this use apart from an earlier one of the same topic that was forgotten (by a
    /// reset) before the topic was used again: a distributed worker records each use once.
    pub seq: u64,
}

/// The next [`TopicUse::seq`], unique in the process.
static NEXT_TOPIC_USE: AtomicU64 = AtomicU64::new(0);

impl ActiveTopics {
    /// The same topics, noted as used by `task`.
    pub fn for_task(&self, task: u32) -> ActiveTopics {
        ActiveTopics {
            topics: Arc::clone(&self.topics),
            task,
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, TopicUse>> {
        self.topics.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, TopicUse>> {
        self.topics.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the topics of a batch.
    pub fn note<'a>(&self, topics: impl IntoIterator<Item = &'a Arc<str>>) {
        let mut last: Option<&Arc<str>> = None;
        for topic in topics {
            if last.is_some_and(|l| Arc::ptr_eq(l, topic) || l == topic) {
                continue;
            }
            last = Some(topic);
            if self.read().contains_key(&**topic) {
                continue;
            }
            let mut uses = self.write();
            if !uses.contains_key(&**topic) {
                let discovered_ms =
                    i64::try_from(crate::metrics::unix_now_ms()).unwrap_or(i64::MAX);
                let used = TopicUse {
                    task: self.task,
                    discovered_ms,
                    seq: NEXT_TOPIC_USE.fetch_add(1, Ordering::Relaxed),
                };
                uses.insert(topic.to_string(), used);
                tracing::info!(topic = %topic, task = self.task, "A task used topic '{topic}' for the first time.");
            }
        }
    }

    /// The topics, sorted.
    pub fn list(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// The topics with their first uses, sorted by topic.
    pub fn uses(&self) -> Vec<(String, TopicUse)> {
        self.read().iter().map(|(t, u)| (t.clone(), *u)).collect()
    }

    /// Forgets one topic: its next use is noted again.
    pub fn forget(&self, topic: &str) {
        self.write().remove(topic);
    }

    /// Forgets every topic.
    pub fn clear(&self) {
        self.write().clear();
    }
}

/// The states of every connector and task of a worker.
#[derive(Default, Clone)]
pub struct StatusBoard {
    inner: Arc<Mutex<Board>>,
}

impl StatusBoard {
    /// An empty board.
    pub fn new() -> Self {
        StatusBoard::default()
    }

    fn lock(&self) -> MutexGuard<'_, Board> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a connector's state, logging the change.
    pub fn set_connector(&self, name: &str, state: State, trace: Option<String>) {
        let status = Status { state, trace };
        let previous = self
            .lock()
            .connectors
            .insert(name.to_string(), status.clone());
        if previous.as_ref() != Some(&status) {
            log_change(&format!("Connector {name}"), &status);
        }
    }

    /// Records a task's state, logging the change.
    pub fn set_task(&self, id: &ConnectorTaskId, state: State, trace: Option<String>) {
        let status = Status { state, trace };
        let previous = self.lock().tasks.insert(id.clone(), status.clone());
        if previous.as_ref() != Some(&status) {
            log_change(&format!("Task {id}"), &status);
        }
    }

    /// Forgets a connector, its tasks and its active topics.
    pub fn remove_connector(&self, name: &str) {
        let mut board = self.lock();
        board.connectors.remove(name);
        board.tasks.retain(|id, _| &*id.connector != name);
        board.health.retain(|id, _| &*id.connector != name);
        board.topics.remove(name);
    }

    /// Forgets one task.
    pub fn remove_task(&self, id: &ConnectorTaskId) {
        let mut board = self.lock();
        board.tasks.remove(id);
        board.health.remove(id);
    }

    /// Records a task's automatic restarts in a row.
    pub fn set_task_restarts(&self, id: &ConnectorTaskId, restarts: u32) {
        self.update_health(id, |h| h.restarts = restarts);
    }

    /// Records whether a task is stalled.
    pub fn set_task_stalled(&self, id: &ConnectorTaskId, stalled: bool) {
        self.update_health(id, |h| h.stalled = stalled);
    }

    fn update_health(&self, id: &ConnectorTaskId, f: impl FnOnce(&mut TaskHealth)) {
        let mut board = self.lock();
        let health = board.health.entry(id.clone()).or_default();
        f(health);
        if *health == TaskHealth::default() {
            board.health.remove(id);
        }
    }

    /// A task's restarts and stall flag (all zero when it has none).
    pub fn task_health(&self, id: &ConnectorTaskId) -> TaskHealth {
        self.lock().health.get(id).copied().unwrap_or_default()
    }

    /// The active topics of a connector (created on first use).
    pub fn topics(&self, name: &str) -> ActiveTopics {
        self.lock()
            .topics
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    /// The active topics of a connector, if it has any here (nothing is created).
    pub fn topics_if_any(&self, name: &str) -> Option<ActiveTopics> {
        self.lock().topics.get(name).cloned()
    }

    /// A task's status.
    pub fn task(&self, id: &ConnectorTaskId) -> Option<Status> {
        self.lock().tasks.get(id).cloned()
    }

    /// A connector's status with its tasks'.
    pub fn connector(&self, name: &str) -> Option<ConnectorStatus> {
        let board = self.lock();
        let connector = board.connectors.get(name)?.clone();
        // Tasks are ordered by connector, then task: read only this connector's.
        let first = ConnectorTaskId {
            connector: Arc::from(name),
            task: 0,
        };
        let tasks = board
            .tasks
            .range(first..)
            .take_while(|(id, _)| &*id.connector == name)
            .map(|(id, s)| (id.task, s.clone()))
            .collect();
        Some(ConnectorStatus {
            name: name.to_string(),
            connector,
            tasks,
        })
    }

    /// Names of all connectors, sorted.
    pub fn connector_names(&self) -> Vec<String> {
        self.lock().connectors.keys().cloned().collect()
    }
}

fn log_change(what: &str, status: &Status) {
    match (&status.state, &status.trace) {
        (State::Failed, Some(trace)) => {
            tracing::error!(state = %status.state, trace = %trace, "{what} is {}.", status.state)
        }
        _ => tracing::info!(state = %status.state, "{what} is {}.", status.state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_status_collects_its_tasks() {
        let board = StatusBoard::new();
        board.set_connector("a", State::Running, None);
        let t0 = ConnectorTaskId {
            connector: "a".into(),
            task: 0,
        };
        let t1 = ConnectorTaskId {
            connector: "a".into(),
            task: 1,
        };
        board.set_task(&t0, State::Running, None);
        board.set_task(&t1, State::Failed, Some("boom".into()));
        board.set_task(
            &ConnectorTaskId {
                connector: "b".into(),
                task: 0,
            },
            State::Running,
            None,
        );
        let status = board.connector("a").unwrap();
        assert_eq!(status.connector.state, State::Running);
        assert_eq!(status.tasks.len(), 2);
        assert_eq!(status.tasks[1].1.trace.as_deref(), Some("boom"));
        board.set_task_restarts(&t0, 2);
        board.set_task_stalled(&t1, true);
        assert_eq!(
            board.task_health(&t0),
            TaskHealth {
                restarts: 2,
                stalled: false
            }
        );
        board.set_task_stalled(&t1, false);
        assert_eq!(board.task_health(&t1), TaskHealth::default());
        board.remove_task(&t0);
        assert_eq!(board.task_health(&t0), TaskHealth::default());
        assert_eq!(board.connector("a").unwrap().tasks.len(), 1);
        board.remove_connector("a");
        assert!(board.connector("a").is_none());
        assert_eq!(t1.to_string(), "a-1");
    }

    #[test]
    fn active_topics_are_kept_per_connector_until_reset_or_removal() {
        let board = StatusBoard::new();
        let a: Arc<str> = Arc::from("a");
        let b: Arc<str> = Arc::from("b");
        board.topics("c").note([&b, &b, &a, &Arc::from("a"), &b]);
        assert_eq!(board.topics("c").list(), vec!["a", "b"]);
        assert!(board.topics("other").list().is_empty());
        board.topics("c").clear();
        assert!(board.topics("c").list().is_empty());
        board.topics("c").note([&a]);
        board.set_connector("c", State::Running, None);
        board.remove_connector("c");
        assert!(board.topics("c").list().is_empty());
        assert!(board.topics_if_any("never-used").is_none());
    }

    #[test]
    fn a_topic_use_names_the_first_task_and_a_use_after_forgetting_is_new() {
        let board = StatusBoard::new();
        let a: Arc<str> = Arc::from("a");
        board.topics("c").for_task(2).note([&a]);
        board.topics("c").for_task(0).note([&a]);
        let [(topic, first)] = board.topics("c").uses().try_into().unwrap();
        assert_eq!((topic.as_str(), first.task), ("a", 2));
        board.topics("c").for_task(0).note([&a]);
        assert_eq!(board.topics("c").uses()[0].1, first);
        board.topics("c").forget("a");
        board.topics("c").for_task(0).note([&a]);
        let again = board.topics("c").uses()[0].1;
        assert_eq!(again.task, 0);
        assert_ne!(again.seq, first.seq);
    }

    #[test]
    fn target_states_show_as_connector_states() {
        assert_eq!(TargetState::Started.state(), State::Running);
        assert_eq!(TargetState::Paused.state(), State::Paused);
        assert_eq!(TargetState::Stopped.state(), State::Stopped);
        assert_eq!(TargetState::Paused.to_string(), "PAUSED");
    }
}
