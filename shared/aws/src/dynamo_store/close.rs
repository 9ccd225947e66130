//! Ending an alert: its final history record and its claim marked done in one
//! `TransactWriteItems` (all or nothing), conditional on the claim's version, and the role's
//! lease left in the same write. A lease the holder no longer holds (it lapsed and was pruned)
//! cancels that transaction; the close is then written without it (nothing to leave).
//!
//! What a lost answer looks like: the SDK retries the transaction with the same
//! `ClientRequestToken`, which DynamoDB treats as the same request (it answers success without
//! writing again). An emulator without idempotency tokens answers the retry with the claim's
//! condition failing; that reads as `false` here, and the engine then reads the claim back to
//! tell its own committed close from someone else's write.

use selfheal_service::ports::{Claim, HistoryRecord, LeaseRef, PortError};

use super::claims::encode_claim;
use super::history::history_pk;
use super::record_item;
use super::transaction::{LeaseLeave, Transaction, TxnPut};
use super::DynamoStateStore;

/// Index of the claim's `Put` in the transaction (its cancellation reason says whether the
/// version condition failed).
const CLAIM_AT: usize = 1;
/// Index of the lease update, when there is one.
const LEASE_AT: usize = 2;

impl DynamoStateStore {
    pub(crate) async fn close(
        &self,
        record: &HistoryRecord,
        claim: &Claim,
        expected_version: u64,
        release: Option<&LeaseRef>,
    ) -> Result<bool, PortError> {
        let history = record_item(
            record,
            "history record",
            &history_pk(&record.day),
            &record.sort,
            None,
        )?;
        let puts = || {
            Ok::<_, PortError>(vec![
                TxnPut {
                    item: history.clone(),
                    condition: None,
                },
                TxnPut {
                    item: encode_claim(claim)?,
                    condition: Some(("#version = :v", expected_version)),
                },
            ])
        };
        let leave = release.map(|r| LeaseLeave {
            pk: format!("lease#{}", r.role),
            holder: r.holder.clone(),
        });
        let mut t = self.transact_with(puts()?, leave.as_ref()).await?;
        if leave.is_some() && !t.condition_failed_at(CLAIM_AT) && t.condition_failed_at(LEASE_AT) {
            // The lease was no longer ours: close without leaving it.
            t = self.transact(puts()?).await?;
        }
        match t {
            Transaction::Committed => Ok(true),
            t if t.condition_failed_at(CLAIM_AT) => Ok(false),
            Transaction::Cancelled(_) => Err(PortError::Transient(
                "dynamodb: closing the claim conflicted with another transaction".into(),
            )),
        }
    }
}
