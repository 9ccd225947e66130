//! The needs-review list: one item per alert key and instance (`review` / `<ROLE:ALERT>#<instance>`).

use selfheal_service::ports::{NeedsReview, PortError};

use super::DynamoStateStore;

const REVIEW_PK: &str = "review";
/// How long a needs-review item is kept when nobody clears it.
const REVIEW_TTL_SECONDS: i64 = 30 * 86_400;

impl DynamoStateStore {
    /// Everything listed as needing review.
    pub async fn needs_review(&self) -> Result<Vec<NeedsReview>, PortError> {
        self.query_records(REVIEW_PK, "", "needs-review").await
    }

    /// Takes `key` on `instance` off the review list; `false` when it was not on it.
    pub async fn clear_review(&self, key: &str, instance: &str) -> Result<bool, PortError> {
        self.delete_existing(REVIEW_PK, &format!("{key}#{instance}"))
            .await
    }

    pub(crate) async fn mark_needs_review(&self, review: &NeedsReview) -> Result<(), PortError> {
        let sk = format!("{}#{}", review.key, review.instance);
        let expires_at = review.since_ms.div_euclid(1000) + REVIEW_TTL_SECONDS;
        self.put_record(
            review,
            "needs-review item",
            REVIEW_PK,
            &sk,
            Some(expires_at),
        )
        .await
    }
}
