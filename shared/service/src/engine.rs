//! The engine: a batch of queue records in, one outcome per record out, and which records go back
//! to the queue. The Lambda and `selfheal serve` both call [`Engine::process_batch`].

use crate::flow::ReadRecord;
use crate::outcome::Outcome;
use crate::ports::{
    Alarms, Chat, Clock, EpochMillis, Escalator, Executor, ModeSource, StateStore, Tags,
};
use selfheal_core::RunbookMap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The ports the engine talks through, built once at start-up.
#[derive(Clone)]
pub struct Ports {
    pub executor: Arc<dyn Executor>,
    pub store: Arc<dyn StateStore>,
    pub tags: Arc<dyn Tags>,
    pub alarms: Arc<dyn Alarms>,
    pub mode: Arc<dyn ModeSource>,
    pub chat: Arc<dyn Chat>,
    pub escalator: Arc<dyn Escalator>,
    pub clock: Arc<dyn Clock>,
}

/// Engine settings (from the environment in the binaries; defaults are the safe ones).
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// `SELFHEAL_MAX_PER_HOUR`: remediations that may start fleet-wide in any hour.
    pub max_per_hour: u32,
    /// How long a worker owns a claim and a role lease before another may take over.
    pub claim_lease: Duration,
    /// History items expire after this many days.
    pub history_ttl_days: i64,
    /// Stop polling this long before the deadline so state can be saved.
    pub deadline_margin: Duration,
    /// First poll delay; doubles up to `poll_max`.
    pub poll_initial: Duration,
    pub poll_max: Duration,
    /// The queue's maxReceiveCount: a capacity wait escalates on the last receive before it.
    pub redrive_limit: u32,
    /// Unique per process: who owns a claim.
    pub owner: String,
    /// A capacity wait is offered again after this long, doubled per earlier receive up to 8×
    /// (the transport shortens the message's visibility), not after the queue's whole
    /// visibility timeout.
    pub capacity_retry: Duration,
    /// How long a remediation still running at the deadline keeps its role lease while it waits
    /// for redelivery (at least the queue's visibility timeout; the template's is 1800 s).
    pub running_hold: Duration,
    /// How long a Run/Skip approval request stays open.
    pub approval_ttl: Duration,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            max_per_hour: 30,
            claim_lease: Duration::from_secs(900),
            history_ttl_days: 90,
            deadline_margin: Duration::from_secs(5),
            poll_initial: Duration::from_millis(250),
            poll_max: Duration::from_secs(5),
            redrive_limit: 5,
            owner: "selfheal".into(),
            capacity_retry: Duration::from_secs(60),
            approval_ttl: Duration::from_secs(30 * 60),
            running_hold: Duration::from_secs(3600),
        }
    }
}

/// One queue record as the transport gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRecord {
    pub message_id: String,
    pub body: String,
    /// `ApproximateReceiveCount` (1 on first delivery).
    pub receive_count: u32,
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordResult {
    pub message_id: String,
    pub outcome: Outcome,
    /// True when the record must go back to the queue (not deleted / in `batchItemFailures`).
    pub retry: bool,
    /// For a record that goes back: offer it again after this long (`ChangeMessageVisibility`)
    /// instead of the queue's visibility timeout. Set for capacity waits.
    pub retry_after: Option<Duration>,
}

/// The engine. Cheap to clone (everything behind `Arc`).
#[derive(Clone)]
pub struct Engine {
    pub(crate) ports: Ports,
    pub(crate) runbooks: Arc<RunbookMap>,
    pub(crate) settings: Arc<EngineSettings>,
    pub(crate) metrics: Arc<dyn crate::metrics::MetricsSink>,
    /// Per role: a lock held while its lease item is written (admission, renewal, leaving), so
    /// the records of one process queue up in memory instead of racing each other on the same
    /// DynamoDB item, and the signal a record waiting for a place in the role wakes on.
    role_locals: Arc<std::sync::Mutex<HashMap<String, Arc<RoleLocal>>>>,
    /// An admission of this process committed (the fleet item exists), and the lock the
    /// first tries queue on until then (see `driver::admit`).
    pub(crate) fleet_known: Arc<std::sync::atomic::AtomicBool>,
    pub(crate) first_admission: Arc<tokio::sync::Mutex<()>>,
    /// The commands of this process still running, polled in rounds.
    pub(crate) polls: Arc<crate::poll_rounds::PollRounds>,
    /// What the batch being handled read once for all its records (empty outside a batch).
    pub(crate) batch: Arc<crate::batch_reads::BatchReads>,
}

impl Engine {
    pub fn new(ports: Ports, runbooks: Arc<RunbookMap>, settings: EngineSettings) -> Self {
        Self {
            ports,
            runbooks,
            settings: Arc::new(settings),
            metrics: Arc::new(crate::metrics::NoMetrics),
            role_locals: Arc::default(),
            fleet_known: Arc::default(),
            first_admission: Arc::default(),
            polls: Arc::default(),
            batch: Arc::default(),
        }
    }

    async fn process_one(
        &self,
        r: InboundRecord,
        read: ReadRecord,
        deadline: EpochMillis,
    ) -> RecordResult {
        let outcome = self.process_record(&r, read, deadline).await;
        tracing::info!(message_id = %r.message_id, outcome = outcome.as_str(), "record processed");
        RecordResult {
            retry: outcome.returns_to_queue(),
            retry_after: (outcome == Outcome::CapacityWait)
                .then(|| self.capacity_backoff(r.receive_count)),
            message_id: r.message_id,
            outcome,
        }
    }

    /// How long a capacity wait stays away: `capacity_retry` doubled per earlier receive, at
    /// most 8 times it (60 s → 1, 2, 4, 8, 8 min: about 23 minutes before a 5-receive redrive).
    pub fn capacity_backoff(&self, receive_count: u32) -> Duration {
        let doublings = receive_count.saturating_sub(1).min(3);
        self.settings.capacity_retry * (1u32 << doublings)
    }

    /// Emits one EMF line built by `line` (only when a metrics sink is configured).
    pub(crate) fn metric(&self, line: impl FnOnce(EpochMillis) -> String) {
        if self.metrics.enabled() {
            self.metrics.emit(&line(self.ports.clock.now_ms()));
        }
    }

    /// The in-process lock and release signal of `role`.
    pub(crate) fn role_local(&self, role: &str) -> Arc<RoleLocal> {
        let mut locals = self
            .role_locals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(locals.entry(role.to_owned()).or_default())
    }

    /// Sends EMF metric lines to `sink` (the Lambda: stdout).
    pub fn with_metrics(mut self, sink: Arc<dyn crate::metrics::MetricsSink>) -> Self {
        self.metrics = sink;
        self
    }

    /// Opens connections before the first alert (reads the kill switch once), so the first
    /// remediation does not pay for TLS set-up.
    pub async fn warm_up(&self) {
        let mode = self.ports.mode.mode().await;
        tracing::info!(mode = mode.as_str(), "global mode");
    }

    pub fn runbooks(&self) -> &RunbookMap {
        &self.runbooks
    }

    /// Processes the records concurrently (per-role leases keep this safe) and reports each
    /// result in input order. Copies of one alert in the same batch (its identity twice) are
    /// handled one after the other, so the second finds the first's claim decided and is
    /// recorded as a duplicate at once instead of waiting out a visibility timeout. Approval
    /// requests that expired unanswered are ended first. `deadline` is when the invocation's
    /// time runs out.
    pub async fn process_batch(
        &self,
        records: Vec<InboundRecord>,
        deadline: EpochMillis,
    ) -> Vec<RecordResult> {
        self.finish_expired_approvals().await;
        let mut groups: Vec<(Option<String>, Vec<Numbered>)> = Vec::new();
        for (i, r) in records.into_iter().enumerate() {
            let read = ReadRecord::of(&r);
            let identity = read.identity().map(str::to_owned);
            match groups
                .iter_mut()
                .find(|(id, _)| identity.is_some() && *id == identity)
            {
                Some((_, members)) => members.push((i, r, read)),
                None => groups.push((identity, vec![(i, r, read)])),
            }
        }
        let mut batch = self.clone();
        let reads = {
            let mut all: Vec<&ReadRecord> = Vec::new();
            for (_, members) in &groups {
                for (_, _, read) in members {
                    all.push(read);
                }
            }
            self.read_for_batch(&all).await
        };
        batch.batch = Arc::new(reads);
        let futures = groups.into_iter().map(|(_, members)| {
            let engine = batch.clone();
            async move {
                let mut out = Vec::with_capacity(members.len());
                for (i, r, read) in members {
                    out.push((i, engine.process_one(r, read, deadline).await));
                }
                out
            }
        });
        let mut indexed: Vec<(usize, RecordResult)> = futures::future::join_all(futures)
            .await
            .into_iter()
            .flatten()
            .collect();
        indexed.sort_by_key(|(i, _)| *i);
        let results: Vec<RecordResult> = indexed.into_iter().map(|(_, r)| r).collect();
        if self.metrics.enabled() {
            for line in crate::metrics::batch_lines(&results, self.ports.clock.now_ms()) {
                self.metrics.emit(&line);
            }
        }
        results
    }
}

/// What the records of one process share about one role.
#[derive(Default)]
pub(crate) struct RoleLocal {
    /// Held while the role's lease item is written.
    pub(crate) lock: tokio::sync::Mutex<()>,
    /// Signalled (one waiter) when a remediation of this process left the role's lease.
    pub(crate) freed: tokio::sync::Notify,
    /// An admission of this role committed here: its lease item exists.
    pub(crate) lease_known: std::sync::atomic::AtomicBool,
}

/// A record, its place in the batch, and what it was read as.
type Numbered = (usize, InboundRecord, ReadRecord);
