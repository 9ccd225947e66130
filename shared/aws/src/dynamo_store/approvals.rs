//! Approvals: the records `slack-approvals` writes (`approval#<identity>` / `approval`, read
//! only here) and the list of open approval requests (`approvals-open` / `<identity>`).

use selfheal_service::ports::{ApprovalRecord, EpochMillis, PortError};
use serde_dynamo::aws_sdk_dynamodb_1::from_item;

use super::DynamoStateStore;

/// One approval request still waiting for Run or Skip.
#[derive(serde::Serialize, serde::Deserialize)]
struct OpenApproval {
    identity: String,
    expires_at_ms: EpochMillis,
}

const OPEN_APPROVAL_PK: &str = "approvals-open";

impl DynamoStateStore {
    pub(crate) async fn approval_record(
        &self,
        identity: &str,
    ) -> Result<Option<ApprovalRecord>, PortError> {
        let pk = selfheal_core::approval::record_pk(identity);
        match self.get(&pk, selfheal_core::approval::RECORD_SK).await? {
            None => Ok(None),
            Some(item) => from_item(item).map(Some).map_err(|e| {
                PortError::Permanent(format!("stored approval record unreadable: {e}"))
            }),
        }
    }

    pub(crate) async fn open_approval(
        &self,
        identity: &str,
        expires_at: EpochMillis,
    ) -> Result<(), PortError> {
        let record = OpenApproval {
            identity: identity.to_owned(),
            expires_at_ms: expires_at,
        };
        // Kept a day past the expiry, so a sweep that was down for a while still finds it.
        let ttl = expires_at.div_euclid(1000) + 86_400;
        self.put_record(
            &record,
            "open approval",
            OPEN_APPROVAL_PK,
            identity,
            Some(ttl),
        )
        .await
    }

    pub(crate) async fn expired_approvals(
        &self,
        now: EpochMillis,
    ) -> Result<Vec<String>, PortError> {
        let open: Vec<OpenApproval> = self
            .query_records(OPEN_APPROVAL_PK, "", "open approval")
            .await?;
        Ok(open
            .into_iter()
            .filter(|o| o.expires_at_ms <= now)
            .map(|o| o.identity)
            .collect())
    }

    pub(crate) async fn close_approval(&self, identity: &str) -> Result<(), PortError> {
        self.delete_existing(OPEN_APPROVAL_PK, identity).await?;
        Ok(())
    }
}
