//! Poll rounds: the commands of one process that are still running are looked at together,
//! with one listing (`Executor::statuses`, ListCommands) per round instead of one
//! GetCommandInvocation each; only a command the listing shows finished (or does not show) is
//! then polled on its own, and that poll alone decides the phase.
//!
//! A command's first poll (right after it was sent, or after a redelivery) goes straight to
//! GetCommandInvocation: most commands on a healthy fleet are over by then. One that answers
//! `Running` joins the rounds. Records that poll at about the same time share a listing: a
//! poll waits for a listing begun at or after it asked, or begins one. A listing that fails is
//! only logged; the poll then asks GetCommandInvocation, as it would have without rounds.
//!
//! This is driver state (what is in flight here), not a decision: it never ends a phase.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::engine::Engine;
use crate::ports::{EpochMillis, Invocation, InvocationStatus, PortError};
use selfheal_core::InstanceId;

/// A command seen running is dropped from the rounds after this long without a poll (its
/// record ended some other way: the deadline, a failure); one still awaited is polled at
/// least every `poll_max` (5 s by default).
const FORGET_AFTER_MS: EpochMillis = 60_000;

/// The commands in flight of this process and the latest listing.
#[derive(Default)]
pub(crate) struct PollRounds {
    state: Mutex<RoundState>,
    /// Held while a listing is being made, so polls that come meanwhile share it.
    listing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct RoundState {
    /// Command id → (sent at, last polled at), for commands seen `Running`.
    running: HashMap<String, (EpochMillis, EpochMillis)>,
    /// The latest listing: when it was begun, and what it said.
    last: Option<(EpochMillis, HashMap<String, InvocationStatus>)>,
}

impl PollRounds {
    fn state(&self) -> std::sync::MutexGuard<'_, RoundState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Engine {
    /// Polls one command sent at `sent_at`, through the poll rounds.
    pub(crate) async fn poll_command(
        &self,
        command_id: &str,
        instance: &InstanceId,
        sent_at: EpochMillis,
    ) -> Result<Invocation, PortError> {
        let rounds = &self.polls;
        let asked = self.ports.clock.now_ms();
        let joined = {
            let mut st = rounds.state();
            st.running
                .retain(|_, (_, seen)| asked - *seen < FORGET_AFTER_MS);
            match st.running.get_mut(command_id) {
                Some((_, seen)) => {
                    *seen = asked;
                    true
                }
                None => false,
            }
        };
        if joined {
            if let Some(InvocationStatus::Running) = self.listed(command_id, asked).await {
                return Ok(Invocation::running());
            }
        }
        let inv = self.ports.executor.poll(command_id, instance).await?;
        let mut st = rounds.state();
        if inv.status == InvocationStatus::Running {
            st.running.insert(command_id.to_owned(), (sent_at, asked));
        } else {
            st.running.remove(command_id);
        }
        Ok(inv)
    }

    /// The status of `command_id` in a listing begun at or after `asked` (joining the one
    /// being made, or making one for every command in the rounds).
    async fn listed(&self, command_id: &str, asked: EpochMillis) -> Option<InvocationStatus> {
        let rounds = &self.polls;
        let _turn = rounds.listing.lock().await;
        let (ids, since) = {
            let st = rounds.state();
            if let Some((begun, statuses)) = &st.last {
                if *begun >= asked {
                    return statuses.get(command_id).copied();
                }
            }
            let since = st.running.values().map(|(sent, _)| *sent).min();
            (st.running.keys().cloned().collect::<Vec<_>>(), since?)
        };
        let begun = self.ports.clock.now_ms();
        match self.ports.executor.statuses(&ids, since).await {
            Ok(statuses) => {
                let mine = statuses.get(command_id).copied();
                rounds.state().last = Some((begun, statuses));
                mine
            }
            Err(e) => {
                tracing::warn!(error = %e, "listing the commands in flight failed; polling each");
                self.ssm_failed("ListCommands");
                None
            }
        }
    }
}
