//! The fake SSM RunCommand: how each command ends ([`CommandPlan`]), what was sent, what is in flight.

use super::{lock, take_one};
use crate::ports::*;
use async_trait::async_trait;
use selfheal_core::InstanceId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// How the fake SSM answers one command.
#[derive(Debug, Clone)]
pub struct CommandPlan {
    /// Polls answering `Running` before the final state.
    pub running_polls: u32,
    pub status: InvocationStatus,
    pub exit_code: Option<i32>,
    pub stdout: String,
}

impl CommandPlan {
    pub fn success() -> Self {
        Self {
            running_polls: 0,
            status: InvocationStatus::Success,
            exit_code: Some(0),
            stdout: String::new(),
        }
    }
    pub fn exit(code: i32) -> Self {
        Self {
            running_polls: 0,
            status: if code == 0 {
                InvocationStatus::Success
            } else {
                InvocationStatus::Failed
            },
            exit_code: Some(code),
            stdout: format!("exit {code}"),
        }
    }
    pub fn status(status: InvocationStatus) -> Self {
        Self {
            running_polls: 0,
            status,
            exit_code: None,
            stdout: String::new(),
        }
    }
}

/// One SendCommand the fake received.
#[derive(Debug, Clone)]
pub struct SentCommand {
    pub command_id: String,
    pub request: CommandRequest,
    pub at_ms: EpochMillis,
}

type Planner = Box<dyn Fn(&CommandRequest) -> CommandPlan + Send + Sync>;

struct Running {
    plan: CommandPlan,
    polls: u32,
    instance: InstanceId,
    done: bool,
}

/// Fake SSM RunCommand. Tracks commands in flight (sent and not yet finished) per instance set.
pub struct FakeExecutor {
    planner: Mutex<Planner>,
    sent: Mutex<Vec<SentCommand>>,
    running: Mutex<HashMap<String, Running>>,
    clock: Arc<dyn Clock>,
    next_id: AtomicU32,
    /// SendCommand answers `Transient` this many more times.
    pub fail_sends: AtomicU32,
    /// GetCommandInvocation answers `Transient` this many more times.
    pub fail_polls: AtomicU32,
    /// Instances SSM does not manage (SendCommand answers InvalidInstanceId).
    pub unmanaged: Mutex<Vec<String>>,
    in_flight: AtomicI64,
    max_in_flight: AtomicI64,
    /// Calls answered so far: GetCommandInvocation, and ListCommands for a poll round.
    pub poll_calls: AtomicU32,
    pub list_calls: AtomicU32,
}

impl FakeExecutor {
    pub fn new(clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            planner: Mutex::new(Box::new(|_| CommandPlan::success())),
            sent: Mutex::new(Vec::new()),
            running: Mutex::new(HashMap::new()),
            clock,
            next_id: AtomicU32::new(1),
            fail_sends: AtomicU32::new(0),
            fail_polls: AtomicU32::new(0),
            unmanaged: Mutex::new(Vec::new()),
            in_flight: AtomicI64::new(0),
            max_in_flight: AtomicI64::new(0),
            poll_calls: AtomicU32::new(0),
            list_calls: AtomicU32::new(0),
        })
    }

    /// Decides how each command ends (by phase comment, instance, lines…).
    pub fn plan_with(&self, f: impl Fn(&CommandRequest) -> CommandPlan + Send + Sync + 'static) {
        *lock(&self.planner) = Box::new(f);
    }

    pub fn sent(&self) -> Vec<SentCommand> {
        lock(&self.sent).clone()
    }

    /// Sent commands whose comment names `phase`.
    pub fn sent_in_phase(&self, phase: &str) -> Vec<SentCommand> {
        self.sent()
            .into_iter()
            .filter(|s| s.request.comment.ends_with(&format!(" {phase}")))
            .collect()
    }

    /// The most commands that were ever in flight at once.
    pub fn max_in_flight(&self) -> i64 {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

/// SSM keeps at most this many characters of a command's `Comment`.
pub const COMMENT_MAX_CHARS: usize = 100;
/// A command requested this long before `since` is still found by its comment (clock skew).
pub const FIND_SKEW_MS: EpochMillis = 5_000;

/// The comment as SSM stores it (its first [`COMMENT_MAX_CHARS`] characters).
fn ssm_comment(comment: &str) -> &str {
    comment
        .char_indices()
        .nth(COMMENT_MAX_CHARS)
        .map_or(comment, |(i, _)| &comment[..i])
}

#[async_trait]
impl Executor for FakeExecutor {
    async fn send(&self, req: &CommandRequest) -> Result<Sent, PortError> {
        if take_one(&self.fail_sends) {
            return Err(PortError::Transient(
                "ThrottlingException: Rate exceeded".into(),
            ));
        }
        if lock(&self.unmanaged)
            .iter()
            .any(|i| i == req.instance.as_str())
        {
            return Ok(Sent::InvalidInstance("InvalidInstanceId".into()));
        }
        let id = format!("cmd-{:06}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let plan = (lock(&self.planner))(req);
        lock(&self.sent).push(SentCommand {
            command_id: id.clone(),
            request: req.clone(),
            at_ms: self.clock.now_ms(),
        });
        lock(&self.running).insert(
            id.clone(),
            Running {
                plan,
                polls: 0,
                instance: req.instance.clone(),
                done: false,
            },
        );
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Ok(Sent::CommandId(id))
    }

    async fn poll(&self, command_id: &str, instance: &InstanceId) -> Result<Invocation, PortError> {
        self.poll_calls.fetch_add(1, Ordering::SeqCst);
        if take_one(&self.fail_polls) {
            return Err(PortError::Transient("InternalServerError".into()));
        }
        let mut running = lock(&self.running);
        let Some(r) = running.get_mut(command_id) else {
            return Ok(Invocation {
                status: InvocationStatus::Running,
                exit_code: None,
                stdout: String::new(),
                stderr: String::new(),
            });
        };
        if &r.instance != instance {
            // SSM answers `InvocationDoesNotExist` for an instance the command was not sent to,
            // which the adapter reads as "not visible yet" (as it must right after sending).
            return Ok(Invocation {
                status: InvocationStatus::Running,
                exit_code: None,
                stdout: String::new(),
                stderr: String::new(),
            });
        }
        if r.polls < r.plan.running_polls {
            r.polls += 1;
            return Ok(Invocation {
                status: InvocationStatus::Running,
                exit_code: None,
                stdout: String::new(),
                stderr: String::new(),
            });
        }
        if !r.done {
            r.done = true;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(Invocation {
            status: r.plan.status,
            exit_code: r.plan.exit_code,
            stdout: r.plan.stdout.clone(),
            stderr: String::new(),
        })
    }

    async fn find_by_comment(
        &self,
        comment: &str,
        instance: &InstanceId,
        since: EpochMillis,
    ) -> Result<Option<String>, PortError> {
        // As the SSM adapter does: SSM keeps the first 100 characters of a comment, a command
        // requested up to 5 s before `since` still counts (clock skew), and the newest match
        // wins (the later one on a tie).
        let wanted = ssm_comment(comment);
        Ok(lock(&self.sent)
            .iter()
            .filter(|s| {
                ssm_comment(&s.request.comment) == wanted
                    && &s.request.instance == instance
                    && s.at_ms >= since.saturating_sub(FIND_SKEW_MS)
            })
            .max_by_key(|s| s.at_ms)
            .map(|s| s.command_id.clone()))
    }

    /// As ListCommands with `InvokedAfter`: every command sent since then (minus the skew) is
    /// listed with its status; listing one still running counts as one of its `running_polls`
    /// (a look at it, as a GetCommandInvocation is), and a finished one ends only when polled.
    async fn statuses(
        &self,
        ids: &[String],
        since: EpochMillis,
    ) -> Result<HashMap<String, InvocationStatus>, PortError> {
        self.list_calls.fetch_add(1, Ordering::SeqCst);
        let sent_at: HashMap<String, EpochMillis> = lock(&self.sent)
            .iter()
            .map(|s| (s.command_id.clone(), s.at_ms))
            .collect();
        let mut running = lock(&self.running);
        let mut out = HashMap::new();
        for id in ids {
            let listed = sent_at
                .get(id)
                .is_some_and(|at| *at >= since.saturating_sub(FIND_SKEW_MS));
            let Some(r) = running.get_mut(id).filter(|_| listed) else {
                continue;
            };
            let status = if r.polls < r.plan.running_polls {
                r.polls += 1;
                InvocationStatus::Running
            } else {
                r.plan.status
            };
            out.insert(id.clone(), status);
        }
        Ok(out)
    }
}
