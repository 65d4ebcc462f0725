//! Connector and task states (Kafka's `AbstractStatus.State`), kept in memory and logged on
//! every change. The REST API will read them from here.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

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

/// The state of one connector or task, with the error trace when failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The state.
    pub state: State,
    /// The error trace of a failure.
    pub trace: Option<String>,
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

    /// Forgets a connector and its tasks.
    pub fn remove_connector(&self, name: &str) {
        let mut board = self.lock();
        board.connectors.remove(name);
        board.tasks.retain(|id, _| &*id.connector != name);
    }

    /// A task's status.
    pub fn task(&self, id: &ConnectorTaskId) -> Option<Status> {
        self.lock().tasks.get(id).cloned()
    }

    /// A connector's status with its tasks'.
    pub fn connector(&self, name: &str) -> Option<ConnectorStatus> {
        let board = self.lock();
        let connector = board.connectors.get(name)?.clone();
        let tasks = board
            .tasks
            .iter()
            .filter(|(id, _)| &*id.connector == name)
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
        board.remove_connector("a");
        assert!(board.connector("a").is_none());
        assert_eq!(t1.to_string(), "a-1");
    }
}
