//! Faults the harness injects into an engine, described the same way for every engine.

use crate::time::Time;
use serde::{Deserialize, Serialize};

/// One task fails (panics) once, when log time reaches `at`; the engine's own recovery path
/// handles it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFault {
    /// The stage, in the order the engine numbers them (0 reads the input).
    pub stage: usize,
    /// The task within the stage.
    pub task: usize,
    /// Log time of the failure.
    pub at: Time,
}

/// One task runs slowly for a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Straggler {
    /// The stage.
    pub stage: usize,
    /// The task within the stage.
    pub task: usize,
    /// Start of the slow period, in log time.
    pub from: Time,
    /// End of the slow period.
    pub until: Time,
    /// Extra time the task spends per unit of work (a message, or a task run) while slow.
    pub delay: Time,
}
