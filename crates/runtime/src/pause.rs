//! Pausing a running task.
//!
//! The worker flips a flag (a `watch` channel per task); the task loop looks at it between
//! batches. A paused source task stops polling; a paused sink task pauses its consumer's
//! partitions and keeps polling, so it stays in its group. Both keep committing what they
//! already processed. The loop records the task's state (PAUSED or RUNNING) when it applies a
//! change, so the status shows what the task really does.

use std::time::Duration;

use tokio::sync::watch;

use crate::status::{ConnectorTaskId, State, StatusBoard};

/// A task's view of its pause flag.
pub(crate) struct PauseSignal {
    rx: watch::Receiver<bool>,
    id: ConnectorTaskId,
    status: StatusBoard,
    /// The state last applied (false: running, as the loop records after `start`).
    applied: bool,
}

impl PauseSignal {
    /// A signal for task `id`; its loop records RUNNING after starting.
    pub(crate) fn new(rx: watch::Receiver<bool>, id: ConnectorTaskId, status: StatusBoard) -> Self {
        PauseSignal {
            rx,
            id,
            status,
            applied: false,
        }
    }

    /// True while the worker wants the task paused.
    pub(crate) fn is_paused(&self) -> bool {
        *self.rx.borrow()
    }

    /// When the wanted state differs from the one last applied, records the task's new state
    /// and returns it (true: paused). The caller then pauses or resumes its input.
    pub(crate) fn transition(&mut self) -> Option<bool> {
        let wanted = *self.rx.borrow_and_update();
        if wanted == self.applied {
            return None;
        }
        self.applied = wanted;
        let state = if wanted {
            State::Paused
        } else {
            State::Running
        };
        self.status.set_task(&self.id, state, None);
        Some(wanted)
    }

    /// Waits until the flag changes or `limit` passes (so the caller can also check for a
    /// stop request).
    pub(crate) async fn changed_within(&mut self, limit: Duration) {
        let _ = tokio::time::timeout(limit, self.rx.changed()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn transitions_record_the_task_state_once_per_change() {
        let (tx, rx) = watch::channel(false);
        let status = StatusBoard::new();
        let id = ConnectorTaskId {
            connector: "c".into(),
            task: 0,
        };
        let mut signal = PauseSignal::new(rx, id.clone(), status.clone());
        assert_eq!(signal.transition(), None);
        tx.send(true).unwrap();
        signal.changed_within(Duration::from_secs(5)).await;
        assert!(signal.is_paused());
        assert_eq!(signal.transition(), Some(true));
        assert_eq!(status.task(&id).unwrap().state, State::Paused);
        assert_eq!(signal.transition(), None);
        tx.send(false).unwrap();
        assert_eq!(signal.transition(), Some(false));
        assert_eq!(status.task(&id).unwrap().state, State::Running);
    }
}
