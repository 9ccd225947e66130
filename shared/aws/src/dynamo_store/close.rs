//! Ending an alert: its final history record and its claim marked done in one
//! `TransactWriteItems` (all or nothing), conditional on the claim's version.
//!
//! What a lost answer looks like: the SDK retries the transaction with the same
//! `ClientRequestToken`, which DynamoDB treats as the same request (it answers success without
//! writing again). An emulator without idempotency tokens answers the retry with the claim's
//! condition failing; that reads as `false` here, and the engine then reads the claim back to
//! tell its own committed close from someone else's write.

use selfheal_service::ports::{Claim, HistoryRecord, PortError};

use super::claims::encode_claim;
use super::history::history_pk;
use super::record_item;
use super::transaction::{Transaction, TxnPut};
use super::DynamoStateStore;

/// Index of the claim's `Put` in the transaction (its cancellation reason says whether the
/// version condition failed).
const CLAIM_AT: usize = 1;

impl DynamoStateStore {
    pub(crate) async fn close(
        &self,
        record: &HistoryRecord,
        claim: &Claim,
        expected_version: u64,
    ) -> Result<bool, PortError> {
        let history = record_item(
            record,
            "history record",
            &history_pk(&record.day),
            &record.sort,
            None,
        )?;
        let puts = vec![
            TxnPut {
                item: history,
                condition: None,
            },
            TxnPut {
                item: encode_claim(claim)?,
                condition: Some(("#version = :v", expected_version)),
            },
        ];
        match self.transact(puts).await? {
            Transaction::Committed => Ok(true),
            t if t.condition_failed_at(CLAIM_AT) => Ok(false),
            Transaction::Cancelled(_) => Err(PortError::Transient(
                "dynamodb: closing the claim conflicted with another transaction".into(),
            )),
        }
    }
}
