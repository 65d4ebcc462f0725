//! Status answers shared by the herders: the worker's status board rendered as Kafka
//! Connect's `ConnectorStateInfo`, with instances being restarted shown as RESTARTING.

use super::{
    ConnectorState, ConnectorStateInfo, ConnectorType, HerderError, HerderResult, TaskState,
};
use crate::status::{ConnectorTaskId, State, Status, TaskHealth};
use crate::worker::Worker;

/// One task's state as the REST API shows it.
pub(crate) fn task_state(worker_id: &str, id: u32, status: &Status) -> TaskState {
    TaskState {
        id,
        state: status.state.as_str().to_string(),
        worker_id: worker_id.to_string(),
        trace: status.trace.clone(),
        restarts: 0,
        stalled: false,
    }
}

/// A task's state with Sluice's additions (automatic restarts, stall flag).
pub(crate) fn with_health(state: TaskState, health: TaskHealth) -> TaskState {
    TaskState {
        restarts: health.restarts,
        stalled: health.stalled,
        ..state
    }
}

/// The connector's status on `worker`, with the connector (`restart_connector`) and the tasks
/// in `restart_tasks` shown as RESTARTING.
pub(crate) fn state_info(
    worker: &Worker,
    worker_id: &str,
    name: &str,
    kind: ConnectorType,
    restart_connector: bool,
    restart_tasks: &[u32],
) -> HerderResult<ConnectorStateInfo> {
    let status = worker
        .connector_status(name)
        .ok_or_else(|| HerderError::NotFound(format!("No status found for connector {name}")))?;
    let shown = |s: &Status, restarting: bool| {
        if restarting {
            Status {
                state: State::Restarting,
                trace: None,
            }
        } else {
            s.clone()
        }
    };
    let connector = shown(&status.connector, restart_connector);
    Ok(ConnectorStateInfo {
        name: name.to_string(),
        connector: ConnectorState {
            state: connector.state.as_str().to_string(),
            worker_id: worker_id.to_string(),
            trace: connector.trace,
        },
        tasks: status
            .tasks
            .iter()
            .map(|(id, s)| {
                let health = worker.status().task_health(&ConnectorTaskId {
                    connector: name.into(),
                    task: *id,
                });
                let state = task_state(worker_id, *id, &shown(s, restart_tasks.contains(id)));
                with_health(state, health)
            })
            .collect(),
        kind,
    })
}
