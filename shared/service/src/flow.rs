//! One record through the guards of DESIGN §1, in order: (approval message check) → parse →
//! claim (a redelivery resumes what is in flight here) → role and tag check → decide →
//! silences → kill switch → dry-run → attempt budget → capacity (role lease, fleet cap) → live
//! alarm re-check → phases (precheck → commands → verify, the kill switch read before each) →
//! record and announce.

use crate::engine::{Engine, InboundRecord};
use crate::outcome::Outcome;
use crate::ports::{EpochMillis, PortError};
use crate::record::HistoryFields;
use selfheal_core::approval::{parse_approval, Approval};
use selfheal_core::{claim_id, decide, parse_body, Action, AlarmState, Alert, RunbookEntry};

/// Everything known about the alert being handled.
pub(crate) struct Case<'a> {
    pub alert: &'a Alert,
    pub role: Option<String>,
    pub key: Option<String>,
    pub runbook_key: Option<&'a str>,
    pub entry: Option<&'a RunbookEntry>,
    pub dry_run: bool,
    /// The Run / Skip decision this alert resumes with, if any.
    pub approval: Option<&'a Approval>,
}

pub(crate) use crate::verdict::Ending;

/// One alert to handle and where it came from (the queue record, or the alert kept in a claim
/// and resumed by an approval).
pub(crate) struct Delivery<'a> {
    pub alert: &'a Alert,
    /// The body and message id the alert came with (kept in the claim while awaiting approval).
    pub body: &'a str,
    pub body_message_id: &'a str,
    pub record: &'a InboundRecord,
    pub received_at: EpochMillis,
    pub deadline: EpochMillis,
    /// The Run / Skip press this alert resumes with, if any.
    pub approval: Option<&'a Approval>,
}

impl<'a> Delivery<'a> {
    /// The case as `decision` sees it (no dry-run yet).
    pub(crate) fn case<'m>(&self, decision: &selfheal_core::Decision<'m>) -> Case<'a>
    where
        'm: 'a,
    {
        Case {
            alert: self.alert,
            role: decision.role.clone(),
            key: decision.key.clone(),
            runbook_key: decision.runbook_key(),
            entry: decision.runbook.map(|(_, e)| e),
            dry_run: false,
            approval: self.approval,
        }
    }
}

/// A queue record read once (the batch groups copies of one alert by it, then handles it): an
/// approval message, or an alert, each with why it cannot be used.
pub(crate) enum ReadRecord {
    Approval(Result<Approval, String>),
    Alert(Result<Alert, selfheal_core::InvalidRecord>),
}

impl ReadRecord {
    pub(crate) fn of(r: &InboundRecord) -> Self {
        match parse_approval(&r.body) {
            Some(parsed) => Self::Approval(parsed),
            None => Self::Alert(parse_body(&r.body, Some(&r.message_id)).item),
        }
    }

    /// The alert identity the record speaks for; `None` when it cannot be read.
    pub(crate) fn identity(&self) -> Option<&str> {
        match self {
            Self::Approval(Ok(a)) => Some(&a.identity),
            Self::Alert(Ok(a)) => Some(&a.identity),
            _ => None,
        }
    }
}

impl Engine {
    pub(crate) async fn process_record(
        &self,
        r: &InboundRecord,
        read: ReadRecord,
        deadline: EpochMillis,
    ) -> Outcome {
        let received_at = self.ports.clock.now_ms();
        let ingested = match read {
            ReadRecord::Approval(parsed) => {
                return match parsed {
                    Ok(approval) => {
                        match self
                            .handle_approval(&approval, r, received_at, deadline)
                            .await
                        {
                            Ok(o) => o,
                            Err(e) => {
                                tracing::warn!(identity = %approval.identity, error = %e, "transient failure; the approval goes back to the queue");
                                Outcome::Retry
                            }
                        }
                    }
                    Err(reason) => {
                        let fields = HistoryFields {
                            identity: format!("sqs|{}", r.message_id),
                            ..HistoryFields::default()
                        };
                        let why = format!(
                            "an approval message that cannot be used: {reason}; nothing runs"
                        );
                        self.record_invalid(r, received_at, fields, why).await
                    }
                }
            }
            ReadRecord::Alert(item) => item,
        };
        let alert = match ingested {
            Ok(a) => a,
            Err(bad) => {
                tracing::warn!(message_id = %r.message_id, reason = %bad.reason, "invalid record");
                let fields = HistoryFields {
                    identity: format!("sqs|{}", r.message_id),
                    source: bad.source.map(|s| s.as_str().to_owned()),
                    alert: bad.alert,
                    role: bad.role,
                    state: bad.state.map(|s| s.as_str().to_owned()),
                    ..HistoryFields::default()
                };
                return self
                    .record_invalid(r, received_at, fields, bad.reason)
                    .await;
            }
        };
        let delivery = Delivery {
            alert: &alert,
            body: &r.body,
            body_message_id: &r.message_id,
            record: r,
            received_at,
            deadline,
            approval: None,
        };
        match self.handle_alert(&delivery).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(identity = %alert.identity, error = %e, "transient failure; the record goes back to the queue");
                Outcome::Retry
            }
        }
    }

    /// Records an unusable record as `invalid` (deleted, never retried); if the store is down
    /// the record is retried so nothing is lost.
    pub(crate) async fn record_invalid(
        &self,
        r: &InboundRecord,
        received_at: EpochMillis,
        fields: HistoryFields,
        reason: String,
    ) -> Outcome {
        let rec = self.history(
            &format!("invalid#{}", r.message_id),
            received_at,
            None,
            fields,
            Outcome::Invalid,
            &Ending::because(reason),
        );
        match self.ports.store.put_history(&rec).await {
            Ok(()) => Outcome::Invalid,
            Err(_) => Outcome::Retry,
        }
    }

    /// A recovery notice (`OK`, `INSUFFICIENT_DATA`): recorded for the report, never claimed.
    /// Its record sits beside the alarm's own (a generic alert may reuse its `id` for the
    /// recovery), never over it.
    async fn record_notice(&self, d: &Delivery<'_>) -> Result<Outcome, PortError> {
        let tag_role = match (d.alert.single_instance(), d.alert.role.is_none()) {
            (Some(inst), true) => self.ports.tags.tags_of(inst).await.unwrap_or_default().role,
            _ => None,
        };
        let decision = decide(d.alert, &self.runbooks, tag_role.as_deref());
        let case = d.case(&decision);
        let sort = format!(
            "{}#{}",
            claim_id(&d.alert.identity),
            d.alert.state.as_str().to_ascii_lowercase()
        );
        let outcome = match decision.action {
            Action::Invalid => Outcome::Invalid,
            _ => Outcome::Ignored,
        };
        let rec = self.history(
            &sort,
            d.received_at,
            None,
            self.fields(&case),
            outcome,
            &Ending::because(decision.reason),
        );
        self.ports.store.put_history(&rec).await?;
        Ok(outcome)
    }

    /// One alert that could act: the sans-IO [`crate::machine::AlertRun`] decides every step
    /// (claim first, resume what is in flight, then the guards and the phases) and
    /// [`crate::driver`] performs them.
    pub(crate) async fn handle_alert(&self, d: &Delivery<'_>) -> Result<Outcome, PortError> {
        if d.alert.state != AlarmState::Alarm && d.approval.is_none() {
            return self.record_notice(d).await;
        }
        Ok(self.drive_alert(crate::driver::input_of(d)).await)
    }
}
