//! Approvals on the engine side: a Run / Skip press arriving through the queue, and requests
//! nobody answered, which the engine ends itself.
//!
//! A press is used only when it equals the record `slack-approvals` wrote, its key is the claim's
//! key, and the claim still awaits approval (or was approved and interrupted); it is judged by
//! the time it was pressed, not the time it is handled. An unanswered request ends `expired`
//! once its expiry passed: the claim is closed, the result announced and a human told.

use crate::engine::{Engine, InboundRecord};
use crate::flow::{Case, Delivery, Ending};
use crate::outcome::Outcome;
use crate::ports::{
    AnnouncementKind, ClaimState, Decided, DecidedAnnounce, EpochMillis, PortError,
};
use crate::record::{approver_of, HistoryFields};
use selfheal_core::approval::Approval;
use selfheal_core::{claim_id, decide, parse_body};

impl Engine {
    /// A Run / Skip press from `slack-approvals`. It is used only when it matches the approval
    /// record that function wrote (more principals can write to the queue than to the table),
    /// names the claim's own key, and the claim is not yet decided; the stored alert then goes
    /// through every guard again.
    pub(crate) async fn handle_approval(
        &self,
        approval: &Approval,
        r: &InboundRecord,
        received_at: EpochMillis,
        deadline: EpochMillis,
    ) -> Result<Outcome, PortError> {
        let claim_ref = claim_id(&approval.identity);
        let fields = || HistoryFields {
            identity: approval.identity.clone(),
            key: Some(approval.key.clone()),
            approver: Some(approver_of(approval)),
            decision: Some(approval.decision.as_str().to_owned()),
            ..HistoryFields::default()
        };
        let record = self.ports.store.approval_record(&approval.identity).await?;
        if !record
            .as_ref()
            .is_some_and(|rec| approval.matches_record(rec))
        {
            let why = format!("an approval for claim {claim_ref} that does not match the record written by slack-approvals: nothing runs");
            tracing::warn!(claim = %claim_ref, "{why}");
            return Ok(self.record_invalid(r, received_at, fields(), why).await);
        }
        let Some(claim) = self.ports.store.load_claim(&approval.identity).await? else {
            let why = format!("no claim {claim_ref} awaits this approval: nothing runs");
            return Ok(self.record_invalid(r, received_at, fields(), why).await);
        };
        // The approvers were checked against the button's key: it must be the claim's own key,
        // or a person allowed for one runbook could approve another.
        if claim.key.as_deref() != Some(approval.key.as_str()) {
            let why = format!(
                "an approval for key {:?}, but claim {claim_ref} is for key {:?}: nothing runs",
                approval.key,
                claim.key.as_deref().unwrap_or("(unknown)")
            );
            tracing::warn!(claim = %claim_ref, "{why}");
            return Ok(self.record_invalid(r, received_at, fields(), why).await);
        }
        // Not yet done: either still awaiting the press, or approved and in progress (a capacity
        // wait, a transient failure or a deadline after Run): this message resumes it.
        if claim.state == ClaimState::Done {
            let why = format!(
                "claim {claim_ref} was already decided ({}): this press changes nothing",
                claim.outcome.as_deref().unwrap_or("done")
            );
            let sort = format!("{claim_ref}#dup#{}", r.message_id);
            let rec = self.history(
                &sort,
                received_at,
                None,
                fields().with_entry(self.claim_entry(&claim)),
                Outcome::Duplicate,
                &Ending::because(why),
            );
            self.ports.store.put_history(&rec).await?;
            return Ok(Outcome::Duplicate);
        }
        let (Some(body), Some(body_id)) = (claim.body.as_deref(), claim.body_message_id.as_deref())
        else {
            let why = format!("claim {claim_ref} kept no alert to resume: nothing runs");
            return Ok(self.record_invalid(r, received_at, fields(), why).await);
        };
        let alert = match parse_body(body, Some(body_id)).item {
            Ok(a) if a.identity == approval.identity => a,
            _ => {
                let why = format!(
                    "the alert kept in claim {claim_ref} cannot be read again: nothing runs"
                );
                return Ok(self.record_invalid(r, received_at, fields(), why).await);
            }
        };
        let delivery = Delivery {
            alert: &alert,
            body,
            body_message_id: body_id,
            record: r,
            received_at,
            deadline,
            approval: Some(approval),
        };
        self.handle_alert(&delivery).await
    }

    /// Ends every approval request whose expiry has passed without a press: `expired`, the
    /// request's thread told, a human paged. A request with a press on record is left to that
    /// press (it comes through the queue and is judged by when it was pressed). Called before
    /// each batch, by `serve` on each receive, and by the scheduled invocation. Returns how many
    /// requests it ended; failures are logged and retried by the next call.
    pub async fn finish_expired_approvals(&self) -> usize {
        let now = self.ports.clock.now_ms();
        let due = match self.ports.store.expired_approvals(now).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "could not list open approval requests");
                return 0;
            }
        };
        let mut ended = 0;
        for identity in due {
            match self.expire_one(&identity, now).await {
                Ok(true) => ended += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(claim = %claim_id(&identity), error = %e, "could not end an expired approval request; trying again later");
                }
            }
        }
        ended
    }

    async fn expire_one(&self, identity: &str, now: EpochMillis) -> Result<bool, PortError> {
        let Some(claim) = self.ports.store.load_claim(identity).await? else {
            self.ports.store.close_approval(identity).await?;
            return Ok(false);
        };
        let claim = match claim.state {
            ClaimState::AwaitingApproval => {
                if claim.approval_expires_at_ms.is_some_and(|at| at > now) {
                    return Ok(false);
                }
                // A press recorded in time for this very request is left to that press while
                // it can still arrive through the queue; after the grace period (or for a
                // record of another key) the request is ended anyway.
                let expires = claim.approval_expires_at_ms.unwrap_or(now);
                if let Some(rec) = self.ports.store.approval_record(identity).await? {
                    if Some(rec.key.as_str()) == claim.key.as_deref()
                        && now < expires + PRESS_GRACE_MS
                    {
                        return Ok(false);
                    }
                }
                // Decided in the same conditional write that takes the claim.
                let mut mine = claim.clone();
                mine.state = ClaimState::Claimed;
                mine.owner = format!("{}/expiry", self.settings.owner);
                mine.owner_until_ms = now + self.lease_ms();
                mine.decided = Some(Decided {
                    outcome: Outcome::Expired,
                    reason: EXPIRED_WHY.to_owned(),
                    failed_phase: None,
                    exit_code: None,
                    output_tail: None,
                    announce: DecidedAnnounce::Remediation { holds_lease: false },
                });
                mine.version = claim.version + 1;
                if !self.ports.store.update_claim(&mine, claim.version).await? {
                    return Ok(false);
                }
                mine
            }
            // Decided (here, or by a press) but not closed: finish it.
            ClaimState::Claimed | ClaimState::Running | ClaimState::CapacityWait
                if claim.decided.as_ref().is_some_and(|d| {
                    d.outcome == Outcome::Expired || claim.owner_until_ms <= now
                }) =>
            {
                claim
            }
            // Done, or Run accepted and in progress: nothing to end here.
            ClaimState::Done => {
                self.ports.store.close_approval(identity).await?;
                return Ok(false);
            }
            _ => return Ok(false),
        };
        let Some(decided) = claim.decided.clone() else {
            return Ok(false);
        };
        let body = claim.body.clone().unwrap_or_default();
        let body_id = claim.body_message_id.clone().unwrap_or_default();
        let Ok(alert) = parse_body(&body, Some(&body_id)).item else {
            return Err(PortError::Permanent(format!(
                "the alert kept in claim {} cannot be read",
                claim_id(identity)
            )));
        };
        let decision = decide(&alert, &self.runbooks, claim.role.as_deref());
        let case = Case {
            alert: &alert,
            role: claim.role.clone().or(decision.role.clone()),
            key: claim.key.clone().or(decision.key.clone()),
            runbook_key: decision.runbook_key(),
            entry: decision.runbook.map(|(_, e)| e),
            dry_run: false,
            approval: None,
        };
        let ending = Ending {
            reason: decided.reason.clone(),
            failed_phase: decided.failed_phase.clone(),
            exit_code: decided.exit_code,
            output_tail: decided.output_tail.clone(),
        };
        let pages = decided.outcome == Outcome::Expired || decided.outcome.escalates();
        let mut claim = claim;
        self.close_claim(&case, &mut claim, decided.outcome, &ending, pages)
            .await?;
        // `close_claim` closes the open request only when the claim still carried its expiry.
        self.ports.store.close_approval(identity).await?;
        let a = self.announcement(
            &case,
            AnnouncementKind::Result,
            Some(decided.outcome),
            &ending,
            Some(&claim),
            &[],
        );
        self.ports.chat.announce(&a).await;
        if pages {
            self.ports.escalator.escalate(&a).await;
        }
        Ok(true)
    }
}

/// How long after its expiry a request with a press on record waits for that press.
const PRESS_GRACE_MS: EpochMillis = 10 * 60_000;

const EXPIRED_WHY: &str =
    "nobody pressed Run or Skip before the approval request expired: nothing ran after the precheck";
