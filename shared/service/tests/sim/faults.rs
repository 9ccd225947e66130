//! Fault-injecting wrappers around the in-memory fakes. At every port call, by seed: pass, fail
//! before the effect, fail after it (the response is lost), delay (before or after the effect,
//! possibly past the invocation's deadline), or crash the worker (the call never returns and no
//! later call of that worker takes effect: the harness drops the whole batch, as SIGKILL would).

use super::exec::{lock, SimCore};
use super::rng::Rng;
use async_trait::async_trait;
use selfheal_core::InstanceId;
use selfheal_service::ports::*;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Per-mille rates of each fault kind at one port call.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rates {
    pub fail_before: u32,
    pub fail_after: u32,
    pub delay: u32,
    pub crash: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Pass,
    FailBefore,
    FailAfter,
    DelayBefore(i64),
    DelayAfter(i64),
    CrashBefore,
    CrashAfter,
}

/// One SendCommand that reached SSM.
#[derive(Debug, Clone)]
pub struct SendLog {
    pub seq: u64,
    pub t: EpochMillis,
    /// When the engine issued the SendCommand call (its effect, `t`, may come later: a slow
    /// request; the SDK's timeouts bound that in production).
    pub issued: EpochMillis,
    /// When the command ends on the instance.
    pub done_at: EpochMillis,
    pub worker: String,
    pub comment: String,
    pub command_id: String,
    pub instance: String,
}

/// One history write that reached the table (`put_history`).
#[derive(Debug, Clone)]
pub struct HistWrite {
    pub t: EpochMillis,
    pub worker: String,
    pub rec: HistoryRecord,
}

/// One kill-switch read: when it started and returned, and what the engine was told.
#[derive(Debug, Clone)]
pub struct ModeRead {
    pub seq: u64,
    pub started: EpochMillis,
    pub t: EpochMillis,
    pub worker: String,
    pub mode: GlobalMode,
}

/// One live alarm re-check that reached CloudWatch.
#[derive(Debug, Clone)]
pub struct AlarmCheck {
    pub t: EpochMillis,
    pub alarm: String,
    pub instance: String,
    pub firing: bool,
}

#[derive(Default)]
pub struct Log {
    pub alarm_checks: Vec<AlarmCheck>,
    /// The printed trace (only when replaying one seed).
    pub lines: Option<Vec<String>>,
    pub sends: Vec<SendLog>,
    pub history: Vec<HistWrite>,
    pub mode_reads: Vec<ModeRead>,
    /// Orders sends and mode reads.
    pub seq: u64,
    /// When each command ends on its instance (SSM answers `Running` until then).
    pub done_at: std::collections::HashMap<String, EpochMillis>,
    pub faults: u64,
    pub calls: u64,
}

/// What every wrapper of one run shares.
/// A defect planted on purpose, to show that the checks see what they claim to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sabotage {
    None,
    /// ListCommands never finds a command by its comment (a lost SendCommand response is then
    /// sent again).
    BlindListCommands,
    /// Every worker keeps the first mode it read for ten minutes.
    StaleMode,
    /// Role leases are always granted.
    NoLeases,
}

pub struct Fx {
    pub core: Arc<SimCore>,
    pub start: EpochMillis,
    pub sabotage: Sabotage,
    rng: Mutex<Rng>,
    rates: Mutex<Rates>,
    pub log: Mutex<Log>,
}

impl Fx {
    pub fn new(
        core: Arc<SimCore>,
        rng: Rng,
        rates: Rates,
        verbose: bool,
        sabotage: Sabotage,
    ) -> Arc<Self> {
        let start = core.now();
        Arc::new(Self {
            core,
            start,
            sabotage,
            rng: Mutex::new(rng),
            rates: Mutex::new(rates),
            log: Mutex::new(Log {
                lines: verbose.then(Vec::new),
                ..Log::default()
            }),
        })
    }

    pub fn set_rates(&self, r: Rates) {
        *lock(&self.rates) = r;
    }

    /// Adds a trace line (built only when the trace is kept).
    pub fn note(&self, line: impl FnOnce() -> String) {
        let mut log = lock(&self.log);
        if log.lines.is_some() {
            let t = self.core.now() - self.start;
            let text = format!("[{:>10.3}s] {}", t as f64 / 1000.0, line());
            if let Some(lines) = log.lines.as_mut() {
                lines.push(text);
            }
        }
    }

    fn pick(&self, can_fail: bool) -> Fault {
        let r = *lock(&self.rates);
        let mut rng = lock(&self.rng);
        let x = u32::try_from(rng.below(1000)).unwrap_or(0);
        let delay = |rng: &mut Rng| {
            if rng.chance(150) {
                rng.range(10_000, 400_000)
            } else {
                rng.range(50, 3_000)
            }
        };
        let mut acc = r.fail_before;
        if x < acc {
            return if can_fail {
                Fault::FailBefore
            } else {
                Fault::Pass
            };
        }
        acc += r.fail_after;
        if x < acc {
            return if can_fail {
                Fault::FailAfter
            } else {
                Fault::Pass
            };
        }
        acc += r.delay;
        if x < acc {
            let ms = delay(&mut rng);
            return if rng.chance(500) {
                Fault::DelayBefore(ms)
            } else {
                Fault::DelayAfter(ms)
            };
        }
        acc += r.crash;
        if x < acc {
            return if rng.chance(500) {
                Fault::CrashBefore
            } else {
                Fault::CrashAfter
            };
        }
        Fault::Pass
    }
}

/// One worker generation's view of the faults: its name and its crash flag.
#[derive(Clone)]
pub struct Gate {
    pub name: String,
    pub crashed: Arc<AtomicBool>,
    pub fx: Arc<Fx>,
}

impl Gate {
    async fn halt_if_crashed(&self) {
        if self.crashed.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }

    async fn crash<T>(&self, op: &str) -> T {
        self.fx.note(|| format!("{} CRASH at {op}", self.name));
        self.crashed.store(true, Ordering::SeqCst);
        std::future::pending::<T>().await
    }

    fn count(&self, f: Fault) {
        let mut log = lock(&self.fx.log);
        log.calls += 1;
        if f != Fault::Pass {
            log.faults += 1;
        }
    }

    /// Runs `eff` (a port call on a fake) under the fault chosen for this call.
    pub async fn call<T: Send>(
        &self,
        op: &str,
        eff: impl Future<Output = Result<T, PortError>> + Send,
    ) -> Result<T, PortError> {
        self.halt_if_crashed().await;
        let f = self.fx.pick(true);
        self.count(f);
        if f != Fault::Pass {
            self.fx.note(|| format!("{} {op}: {f:?}", self.name));
        } else {
            self.fx.note(|| format!("{} {op}", self.name));
        }
        match f {
            Fault::Pass => eff.await,
            Fault::FailBefore => Err(PortError::Transient(format!(
                "sim: {op} failed before taking effect"
            ))),
            Fault::FailAfter => {
                let _ = eff.await;
                Err(PortError::Transient(format!(
                    "sim: {op} took effect but its response was lost"
                )))
            }
            Fault::DelayBefore(ms) => {
                self.fx.core.sleep_ms(ms).await;
                self.halt_if_crashed().await;
                eff.await
            }
            Fault::DelayAfter(ms) => {
                let r = eff.await;
                self.fx.core.sleep_ms(ms).await;
                self.halt_if_crashed().await;
                r
            }
            Fault::CrashBefore => self.crash(op).await,
            Fault::CrashAfter => {
                let _ = eff.await;
                self.crash(op).await
            }
        }
    }

    /// A call that cannot fail outward (chat, escalation): only delays and crashes.
    pub async fn call_quiet(&self, op: &str, eff: impl Future<Output = ()> + Send) {
        let r = self
            .call(op, async {
                eff.await;
                Ok::<(), PortError>(())
            })
            .await;
        let _ = r;
    }
}

pub struct SimExecutor {
    pub inner: Arc<selfheal_service::fakes::FakeExecutor>,
    pub g: Gate,
    pub planner: Arc<Mutex<super::workload::Planner>>,
    /// The plan the fake hands out for the command being sent.
    pub stash: Arc<Mutex<Option<selfheal_service::fakes::CommandPlan>>>,
}

#[async_trait]
impl Executor for SimExecutor {
    async fn send(&self, req: &CommandRequest) -> Result<Sent, PortError> {
        let issued = self.g.fx.core.now();
        self.g
            .call("ssm.SendCommand", async {
                let planned = super::workload::plan(&self.planner, req);
                *lock(&self.stash) = Some(planned.plan.clone());
                let r = self.inner.send(req).await;
                lock(&self.stash).take();
                if let Ok(Sent::CommandId(id)) = &r {
                    let t = self.g.fx.core.now();
                    let done_at = t + planned.duration_ms;
                    self.g.fx.note(|| {
                        format!(
                            "{} SENT {id} {:?} to {} (ends {:?} after {}s)",
                            self.g.name,
                            req.comment,
                            req.instance,
                            planned.plan.status,
                            planned.duration_ms / 1000
                        )
                    });
                    let mut log = lock(&self.g.fx.log);
                    log.seq += 1;
                    let seq = log.seq;
                    log.done_at.insert(id.clone(), done_at);
                    log.sends.push(SendLog {
                        seq,
                        t,
                        issued,
                        done_at,
                        worker: self.g.name.clone(),
                        comment: req.comment.clone(),
                        command_id: id.clone(),
                        instance: req.instance.to_string(),
                    });
                }
                r
            })
            .await
    }

    async fn poll(&self, command_id: &str, instance: &InstanceId) -> Result<Invocation, PortError> {
        self.g
            .call("ssm.GetCommandInvocation", async {
                let done_at = lock(&self.g.fx.log).done_at.get(command_id).copied();
                if done_at.is_some_and(|d| self.g.fx.core.now() < d) {
                    return Ok(Invocation {
                        status: InvocationStatus::Running,
                        exit_code: None,
                        stdout: String::new(),
                        stderr: String::new(),
                    });
                }
                let r = self.inner.poll(command_id, instance).await;
                if let Ok(inv) = &r {
                    if inv.status != InvocationStatus::Running {
                        self.g.fx.note(|| {
                            format!(
                                "{} {command_id} ended {:?} exit {:?}",
                                self.g.name, inv.status, inv.exit_code
                            )
                        });
                    }
                }
                r
            })
            .await
    }

    async fn find_by_comment(
        &self,
        comment: &str,
        instance: &InstanceId,
        since: EpochMillis,
    ) -> Result<Option<String>, PortError> {
        if self.g.fx.sabotage == Sabotage::BlindListCommands {
            return self.g.call("ssm.ListCommands", async { Ok(None) }).await;
        }
        self.g
            .call(
                "ssm.ListCommands",
                self.inner.find_by_comment(comment, instance, since),
            )
            .await
    }

    async fn statuses(
        &self,
        ids: &[String],
        since: EpochMillis,
    ) -> Result<std::collections::HashMap<String, InvocationStatus>, PortError> {
        self.g
            .call("ssm.ListCommands", async {
                let mut out = self.inner.statuses(ids, since).await?;
                let now = self.g.fx.core.now();
                let log = lock(&self.g.fx.log);
                for (id, status) in &mut out {
                    if log.done_at.get(id).is_some_and(|d| now < *d) {
                        *status = InvocationStatus::Running;
                    }
                }
                Ok(out)
            })
            .await
    }
}

pub struct SimStore {
    pub inner: Arc<selfheal_service::fakes::FakeStore>,
    pub g: Gate,
}

#[async_trait]
impl StateStore for SimStore {
    async fn claim(&self, fresh: &Claim) -> Result<ClaimAttempt, PortError> {
        self.g.call("ddb.claim", self.inner.claim(fresh)).await
    }
    async fn update_claim(&self, claim: &Claim, expected_version: u64) -> Result<bool, PortError> {
        self.g
            .call("ddb.update_claim", async {
                let r = self.inner.update_claim(claim, expected_version).await;
                self.g.fx.note(|| {
                    format!(
                        "{}   claim {} v{expected_version}->v{} {:?} phase {:?} cmd {:?} owner_until +{}s: {r:?}",
                        self.g.name,
                        &selfheal_core::claim_id(&claim.identity)[..8],
                        claim.version,
                        claim.state,
                        claim.phase,
                        claim.command_id,
                        (claim.owner_until_ms - self.g.fx.core.now()) / 1000
                    )
                });
                r
            })
            .await
    }
    async fn take_attempt(
        &self,
        budget_key: &str,
        max: u32,
        window_start: EpochMillis,
        now: EpochMillis,
        ttl_until: i64,
    ) -> Result<Option<u32>, PortError> {
        self.g
            .call("ddb.take_attempt", async {
                let r = self
                    .inner
                    .take_attempt(budget_key, max, window_start, now, ttl_until)
                    .await;
                self.g
                    .fx
                    .note(|| format!("{}   attempt {budget_key} max {max}: {r:?}", self.g.name));
                r
            })
            .await
    }
    async fn clear_attempts(&self, budget_key: &str) -> Result<(), PortError> {
        self.g
            .call("ddb.clear_attempts", self.inner.clear_attempts(budget_key))
            .await
    }
    async fn admit(&self, a: &Admission) -> Result<Admitted, PortError> {
        let mut a = a.clone();
        if self.g.fx.sabotage == Sabotage::NoLeases {
            a.max_concurrent = u32::MAX;
        }
        self.g
            .call("ddb.admit", async {
                let r = self.inner.admit(&a).await;
                self.g.fx.note(|| {
                    format!(
                        "{}   admit {} role {} max {} budgets {:?} fleet max {} lease {}s: {r:?}",
                        self.g.name,
                        &a.holder[..a.holder.len().min(8)],
                        a.role,
                        a.max_concurrent,
                        a.budgets.iter().map(|b| b.key.as_str()).collect::<Vec<_>>(),
                        a.fleet_max,
                        (a.lease_until - a.now) / 1000
                    )
                });
                r
            })
            .await
    }
    async fn acquire_lease(
        &self,
        role: &str,
        holder: &str,
        max: u32,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError> {
        if self.g.fx.sabotage == Sabotage::NoLeases {
            return self.g.call("ddb.acquire_lease", async { Ok(true) }).await;
        }
        self.g
            .call("ddb.acquire_lease", async {
                let r = self
                    .inner
                    .acquire_lease(role, holder, max, now, until)
                    .await;
                self.g.fx.note(|| {
                    format!(
                        "{}   lease {role} {} max {max} for {}s: {r:?}",
                        self.g.name,
                        &holder[..holder.len().min(8)],
                        (until - now) / 1000
                    )
                });
                r
            })
            .await
    }
    async fn renew_lease(
        &self,
        role: &str,
        holder: &str,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError> {
        if self.g.fx.sabotage == Sabotage::NoLeases {
            return self.g.call("ddb.renew_lease", async { Ok(true) }).await;
        }
        self.g
            .call("ddb.renew_lease", async {
                let r = self.inner.renew_lease(role, holder, now, until).await;
                self.g.fx.note(|| {
                    format!(
                        "{}   renew lease {role} {} for {}s: {r:?}",
                        self.g.name,
                        &holder[..holder.len().min(8)],
                        (until - now) / 1000
                    )
                });
                r
            })
            .await
    }
    async fn release_lease(&self, role: &str, holder: &str) -> Result<(), PortError> {
        self.g
            .call("ddb.release_lease", async {
                let r = self.inner.release_lease(role, holder).await;
                self.g.fx.note(|| {
                    format!(
                        "{}   release lease {role} {}: {r:?}",
                        self.g.name,
                        &holder[..holder.len().min(8)]
                    )
                });
                r
            })
            .await
    }
    async fn take_fleet_slot(
        &self,
        holder: &str,
        max: u32,
        now: EpochMillis,
    ) -> Result<bool, PortError> {
        self.g
            .call("ddb.take_fleet_slot", async {
                let r = self.inner.take_fleet_slot(holder, max, now).await;
                self.g.fx.note(|| {
                    format!(
                        "{}   fleet slot {} max {max}: {r:?}",
                        self.g.name,
                        &holder[..holder.len().min(8)]
                    )
                });
                r
            })
            .await
    }
    async fn put_history(&self, record: &HistoryRecord) -> Result<(), PortError> {
        self.g
            .call("ddb.put_history", async {
                let r = self.inner.put_history(record).await;
                if r.is_ok() {
                    let t = self.g.fx.core.now();
                    self.g.fx.note(|| {
                        format!(
                            "{}   HISTORY {} = {} ({})",
                            self.g.name, record.sort, record.outcome, record.reason
                        )
                    });
                    lock(&self.g.fx.log).history.push(HistWrite {
                        t,
                        worker: self.g.name.clone(),
                        rec: record.clone(),
                    });
                }
                r
            })
            .await
    }
    async fn close(
        &self,
        record: &HistoryRecord,
        claim: &Claim,
        expected_version: u64,
        release: Option<&LeaseRef>,
    ) -> Result<bool, PortError> {
        self.g
            .call("ddb.close", async {
                let r = self
                    .inner
                    .close(record, claim, expected_version, release)
                    .await;
                self.g.fx.note(|| {
                    format!(
                        "{}   claim {} v{expected_version}->v{} {:?} closed with HISTORY {} = {} ({}): {r:?}",
                        self.g.name,
                        &selfheal_core::claim_id(&claim.identity)[..8],
                        claim.version,
                        claim.state,
                        record.sort,
                        record.outcome,
                        record.reason
                    )
                });
                if matches!(r, Ok(true)) {
                    let t = self.g.fx.core.now();
                    lock(&self.g.fx.log).history.push(HistWrite {
                        t,
                        worker: self.g.name.clone(),
                        rec: record.clone(),
                    });
                }
                r
            })
            .await
    }
    async fn silences(&self) -> Result<Vec<SilenceRecord>, PortError> {
        self.g.call("ddb.silences", self.inner.silences()).await
    }
    async fn note_once(&self, note_id: &str, keep_until: EpochMillis) -> Result<bool, PortError> {
        self.g
            .call("ddb.note_once", self.inner.note_once(note_id, keep_until))
            .await
    }
    async fn mark_needs_review(&self, item: &NeedsReview) -> Result<(), PortError> {
        self.g
            .call("ddb.mark_needs_review", self.inner.mark_needs_review(item))
            .await
    }
    async fn load_claim(&self, identity: &str) -> Result<Option<Claim>, PortError> {
        self.g
            .call("ddb.load_claim", self.inner.load_claim(identity))
            .await
    }
    async fn approval_record(&self, identity: &str) -> Result<Option<ApprovalRecord>, PortError> {
        self.g
            .call("ddb.approval_record", self.inner.approval_record(identity))
            .await
    }
    async fn open_approval(
        &self,
        identity: &str,
        expires_at: EpochMillis,
    ) -> Result<(), PortError> {
        self.g
            .call(
                "ddb.open_approval",
                self.inner.open_approval(identity, expires_at),
            )
            .await
    }
    async fn expired_approvals(&self, now: EpochMillis) -> Result<Vec<String>, PortError> {
        self.g
            .call("ddb.expired_approvals", self.inner.expired_approvals(now))
            .await
    }
    async fn close_approval(&self, identity: &str) -> Result<(), PortError> {
        self.g
            .call("ddb.close_approval", self.inner.close_approval(identity))
            .await
    }
}

pub struct SimTags {
    pub inner: Arc<selfheal_service::fakes::FakeTags>,
    pub g: Gate,
}

#[async_trait]
impl Tags for SimTags {
    async fn tags_of(&self, instance: &InstanceId) -> Result<InstanceTags, PortError> {
        self.g
            .call("tagging.GetResources", self.inner.tags_of(instance))
            .await
    }
}

pub struct SimAlarms {
    pub inner: Arc<selfheal_service::fakes::FakeAlarms>,
    pub g: Gate,
}

#[async_trait]
impl Alarms for SimAlarms {
    async fn live_alarm(
        &self,
        alarm_name: &str,
        instance: &InstanceId,
    ) -> Result<Option<LiveAlarm>, PortError> {
        self.g
            .call("cloudwatch.DescribeAlarms", async {
                let r = self.inner.live_alarm(alarm_name, instance).await;
                let firing = matches!(
                    &r,
                    Ok(Some(LiveAlarm {
                        state: selfheal_core::AlarmState::Alarm,
                        watches_instance: true
                    }))
                );
                let t = self.g.fx.core.now();
                lock(&self.g.fx.log).alarm_checks.push(AlarmCheck {
                    t,
                    alarm: alarm_name.to_owned(),
                    instance: instance.to_string(),
                    firing,
                });
                self.g
                    .fx
                    .note(|| format!("{}   alarm {alarm_name} on {instance}: {r:?}", self.g.name));
                r
            })
            .await
    }
}

/// The kill switch: read live from the fake (a flip is visible at once); an unreadable parameter
/// answers `DryRun`, as the adapter does.
pub struct SimMode {
    pub inner: Arc<selfheal_service::fakes::FakeMode>,
    pub g: Gate,
    /// For [`Sabotage::StaleMode`]: the first value read and when.
    pub kept: Mutex<Option<(EpochMillis, GlobalMode)>>,
}

#[async_trait]
impl ModeSource for SimMode {
    async fn mode(&self) -> GlobalMode {
        let started = self.g.fx.core.now();
        if self.g.fx.sabotage == Sabotage::StaleMode {
            if let Some((at, mode)) = *lock(&self.kept) {
                if started - at < 600_000 {
                    return mode;
                }
            }
        }
        let r = self
            .g
            .call("ssm.GetParameter(mode)", async {
                Ok::<_, PortError>(self.inner.mode().await)
            })
            .await;
        let mode = r.unwrap_or(GlobalMode::DryRun);
        if self.g.fx.sabotage == Sabotage::StaleMode {
            *lock(&self.kept) = Some((started, mode));
        }
        let t = self.g.fx.core.now();
        self.g
            .fx
            .note(|| format!("{}   mode read: {}", self.g.name, mode.as_str()));
        let mut log = lock(&self.g.fx.log);
        log.seq += 1;
        let seq = log.seq;
        log.mode_reads.push(ModeRead {
            seq,
            started,
            t,
            worker: self.g.name.clone(),
            mode,
        });
        mode
    }
}

pub struct SimChat {
    pub inner: Arc<selfheal_service::fakes::Recorder>,
    pub g: Gate,
    pub op: &'static str,
}

#[async_trait]
impl Chat for SimChat {
    async fn announce(&self, a: &Announcement) {
        self.g.call_quiet(self.op, self.inner.announce(a)).await;
    }
}

#[async_trait]
impl Escalator for SimChat {
    async fn escalate(&self, a: &Announcement) {
        self.g.call_quiet(self.op, self.inner.escalate(a)).await;
    }
}
