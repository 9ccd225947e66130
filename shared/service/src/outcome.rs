//! The outcomes of DESIGN §4 and what happens to the SQS record.

use serde::{Deserialize, Serialize};

/// Every alert ends in exactly one final outcome (`AwaitingApproval` and `CapacityWait` are
/// provisional and later replaced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Healed,
    Failed,
    PrecheckFailed,
    Recovered,
    TimedOut,
    DryRun,
    Disabled,
    Ignored,
    NoRunbook,
    Unresolved,
    Invalid,
    Duplicate,
    BudgetExhausted,
    CapacityWait,
    Killed,
    Silenced,
    AwaitingApproval,
    Skipped,
    Expired,
    /// Not an outcome: the remediation is still running when the invocation's time ran out.
    Running,
    /// Not an outcome: a transient failure; the record goes back to the queue.
    Retry,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Healed => "healed",
            Outcome::Failed => "failed",
            Outcome::PrecheckFailed => "precheck-failed",
            Outcome::Recovered => "recovered",
            Outcome::TimedOut => "timed-out",
            Outcome::DryRun => "dry-run",
            Outcome::Disabled => "disabled",
            Outcome::Ignored => "ignored",
            Outcome::NoRunbook => "no-runbook",
            Outcome::Unresolved => "unresolved",
            Outcome::Invalid => "invalid",
            Outcome::Duplicate => "duplicate",
            Outcome::BudgetExhausted => "budget-exhausted",
            Outcome::CapacityWait => "capacity-wait",
            Outcome::Killed => "killed",
            Outcome::Silenced => "silenced",
            Outcome::AwaitingApproval => "awaiting-approval",
            Outcome::Skipped => "skipped",
            Outcome::Expired => "expired",
            Outcome::Running => "running",
            Outcome::Retry => "retry",
        }
    }

    /// Outcomes that page a human (DESIGN §4, issue "escalation").
    pub fn escalates(self) -> bool {
        matches!(
            self,
            Outcome::BudgetExhausted | Outcome::Failed | Outcome::TimedOut | Outcome::Unresolved
        )
    }

    /// The three cases in which a record goes back to SQS (DESIGN §3).
    pub fn returns_to_queue(self) -> bool {
        matches!(
            self,
            Outcome::Retry | Outcome::CapacityWait | Outcome::Running
        )
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
