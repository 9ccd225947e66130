//! The thin async driver of the sans-IO machines: it performs the steps
//! [`crate::machine::AlertRun`] (and the phase machine inside it) asks for against the ports and
//! feeds back what they answered, with the time. It decides nothing.

use crate::engine::Engine;
use crate::machine::{AlertInput, AlertRun, Fact, Step};
use crate::outcome::Outcome;
use crate::phase;
use crate::ports::{Admission, Admitted, Claim, EpochMillis, HistoryRecord, LeaseRef, PortError};

impl Engine {
    /// Runs one alert to its outcome.
    pub(crate) async fn drive_alert(&self, input: AlertInput) -> Outcome {
        let mut run = AlertRun::new(input, self.runbooks.clone(), self.settings.clone());
        let store = &self.ports.store;
        let mut fact = Fact::Start;
        loop {
            let now = self.ports.clock.now_ms();
            fact = match run.step(fact, now) {
                Step::LoadClaim(identity) => Fact::Claim(store.load_claim(&identity).await),
                Step::PutClaim(fresh) => Fact::Put(store.claim(&fresh).await),
                Step::UpdateClaim { claim, expected } => {
                    Fact::Updated(store.update_claim(&claim, expected).await)
                }
                Step::ReadTags(instance) => Fact::Tags(match self.batch.tags.get(&instance) {
                    Some(tags) => Ok(tags.clone()),
                    None => self.ports.tags.tags_of(&instance).await,
                }),
                Step::ReadSilences => Fact::Silences(match &self.batch.silences {
                    Some(s) => Ok(s.clone()),
                    None => store.silences().await,
                }),
                Step::NoteOnce { id, until } => Fact::Noted(store.note_once(&id, until).await),
                Step::ReadMode => Fact::Mode(self.ports.mode.mode().await),
                Step::Admit {
                    admission,
                    after_wait,
                } => Fact::Admitted(self.admit(&admission, after_wait).await),
                Step::MarkNeedsReview(review) => {
                    Fact::Written(store.mark_needs_review(&review).await)
                }
                Step::RenewLease {
                    role,
                    holder,
                    until,
                } => Fact::Renewed(self.renew(&role, &holder, until).await),
                Step::HoldLease {
                    role,
                    holder,
                    until,
                } => {
                    match self.renew(&role, &holder, until).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(%role, "the role lease had lapsed; it is not taken again while the remediation is in flight")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "could not extend the role lease while the command runs")
                        }
                    }
                    Fact::Ok
                }
                Step::ReleaseLease { role, holder } => {
                    self.release(&role, &holder).await;
                    Fact::Ok
                }
                Step::LiveAlarm {
                    name,
                    instance,
                    fresh,
                } => {
                    let pair = (name, instance);
                    Fact::Live(match self.batch.alarms.get(&pair).filter(|_| !fresh) {
                        Some(live) => Ok(live.clone()),
                        None => self.ports.alarms.live_alarm(&pair.0, &pair.1).await,
                    })
                }
                Step::WaitForCapacity { role, wait } => {
                    let local = self.role_local(&role);
                    let freed = local.freed.notified();
                    tokio::select! {
                        () = freed => {}
                        () = self.ports.clock.sleep(wait) => {}
                    }
                    Fact::Ok
                }
                Step::Phase(step) => match self.perform_phase(step).await {
                    Ok(f) => Fact::Phase(f),
                    Err(e) => Fact::PhaseFailed(e),
                },
                Step::PutHistory(record) => Fact::Written(store.put_history(&record).await),
                Step::Close {
                    record,
                    claim,
                    expected,
                    release,
                } => Fact::Closed(self.close(&record, &claim, expected, release).await),
                Step::OpenApproval { identity, until } => {
                    Fact::Written(store.open_approval(&identity, until).await)
                }
                Step::CloseApproval(identity) => {
                    if let Err(e) = store.close_approval(&identity).await {
                        tracing::warn!(error = %e, "could not close the approval request; the sweep closes it");
                    }
                    Fact::Ok
                }
                Step::Announce(a) => {
                    self.ports.chat.announce(&a).await;
                    Fact::Ok
                }
                Step::Escalate(a) => {
                    self.ports.escalator.escalate(&a).await;
                    Fact::Ok
                }
                Step::Duration { outcome, took_ms } => {
                    self.metric(|now| crate::metrics::duration_line(outcome, took_ms, now));
                    Fact::Ok
                }
                Step::Failpoint(name) => {
                    crate::failpoints::failpoint(name);
                    Fact::Ok
                }
                Step::Done(outcome) => return outcome,
            };
        }
    }

    /// One I/O step of the phase machine.
    async fn perform_phase(&self, step: phase::Step) -> Result<phase::Fact, PortError> {
        let executor = &self.ports.executor;
        Ok(match step {
            phase::Step::FindByComment {
                comment,
                instance,
                since,
            } => phase::Fact::Found(
                executor
                    .find_by_comment(&comment, &instance, since)
                    .await
                    .inspect_err(|_| self.ssm_failed("ListCommands"))?,
            ),
            phase::Step::ReadMode => phase::Fact::Mode(self.ports.mode.mode().await),
            phase::Step::Send(req) => {
                crate::failpoints::failpoint("before-send");
                let sent = executor
                    .send(&req)
                    .await
                    .inspect_err(|_| self.ssm_failed("SendCommand"))?;
                crate::failpoints::failpoint("after-send");
                phase::Fact::Sent(sent)
            }
            phase::Step::Poll {
                command_id,
                instance,
                sent_at,
            } => {
                crate::failpoints::failpoint("during-poll");
                let polled = self.poll_command(&command_id, &instance, sent_at).await;
                if polled.is_err() {
                    self.ssm_failed("GetCommandInvocation");
                }
                phase::Fact::Polled(polled)
            }
            phase::Step::Sleep(d) => {
                self.ports.clock.sleep(d).await;
                phase::Fact::Slept
            }
            // The alert machine handles these itself (claim saves, re-checks, ends).
            phase::Step::SaveClaim
            | phase::Step::Recheck
            | phase::Step::Done { .. }
            | phase::Step::Fail(_) => {
                return Err(PortError::Permanent(
                    "driver: a phase step the alert machine handles itself".into(),
                ))
            }
        })
    }

    /// The admission. Once this process has seen the fleet item and the role's lease item
    /// exist (an admission of it committed), a first try goes straight to the store: places
    /// are joined without a version race, so the records of a batch do not cancel each other.
    /// Before that (the items may have to be created, which concurrent tries would race for),
    /// and for a try after an in-process capacity wait (the waiters woken by one freed place),
    /// tries queue on the process's and the role's in-process locks and go one at a time —
    /// until the first commits, when the queued first tries go on together.
    async fn admit(&self, admission: &Admission, after_wait: bool) -> Result<Admitted, PortError> {
        let local = self.role_local(&admission.role);
        let settled = || {
            self.fleet_known.load(std::sync::atomic::Ordering::Acquire)
                && local.lease_known.load(std::sync::atomic::Ordering::Acquire)
        };
        if !after_wait && settled() {
            return self.admit_noting(admission, &local).await;
        }
        let first = if self.fleet_known.load(std::sync::atomic::Ordering::Acquire) {
            None
        } else {
            Some(self.first_admission.lock().await)
        };
        let role = local.lock.lock().await;
        if !after_wait && settled() {
            drop(role);
            drop(first);
            return self.admit_noting(admission, &local).await;
        }
        self.admit_noting(admission, &local).await
    }

    /// The admission; one that committed shows the fleet and lease items exist.
    async fn admit_noting(
        &self,
        admission: &Admission,
        local: &crate::engine::RoleLocal,
    ) -> Result<Admitted, PortError> {
        let answer = self.ports.store.admit(admission).await;
        if let Ok(Admitted::Yes { .. }) = answer {
            self.fleet_known
                .store(true, std::sync::atomic::Ordering::Release);
            local
                .lease_known
                .store(true, std::sync::atomic::Ordering::Release);
        }
        answer
    }

    /// The close; one that leaves a lease holds the role's in-process lock, so it never races
    /// an admission of this process on the lease item.
    async fn close(
        &self,
        record: &HistoryRecord,
        claim: &Claim,
        expected: u64,
        release: Option<LeaseRef>,
    ) -> Result<bool, PortError> {
        let store = &self.ports.store;
        match release {
            Some(r) => {
                let local = self.role_local(&r.role);
                let closed = {
                    let _guard = local.lock.lock().await;
                    store.close(record, claim, expected, Some(&r)).await
                };
                // A record of this process waiting for a place in the role tries again now.
                local.freed.notify_one();
                closed
            }
            None => store.close(record, claim, expected, None).await,
        }
    }

    /// Renews a lease the claim still holds (a resumed remediation's, or one extended while its
    /// command runs), under the role's in-process lock.
    async fn renew(&self, role: &str, holder: &str, until: EpochMillis) -> Result<bool, PortError> {
        let local = self.role_local(role);
        let _guard = local.lock.lock().await;
        let now = self.ports.clock.now_ms();
        self.ports.store.renew_lease(role, holder, now, until).await
    }

    pub(crate) fn ssm_failed(&self, operation: &str) {
        self.metric(|now| crate::metrics::ssm_failure_line(operation, now));
    }
}

/// Builds the machine's input from a delivery.
pub(crate) fn input_of(d: &crate::flow::Delivery<'_>) -> AlertInput {
    AlertInput {
        alert: d.alert.clone(),
        body: d.body.to_owned(),
        body_message_id: d.body_message_id.to_owned(),
        message_id: d.record.message_id.clone(),
        receive_count: d.record.receive_count,
        received_at: d.received_at,
        deadline: d.deadline,
        approval: d.approval.cloned(),
    }
}
