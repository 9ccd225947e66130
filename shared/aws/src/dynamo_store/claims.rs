//! Claims: one item per alert identity (`claim#<identity>` / `claim`), created and replaced by
//! conditional puts.

use selfheal_service::ports::{Claim, ClaimAttempt, PortError};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use super::{n, race_lost, s, DynamoStateStore, Item, Write, MAX_RACE_RETRIES};

/// How long a claim item lives after it was claimed.
pub const CLAIM_TTL_SECONDS: i64 = 30 * 86_400;

impl DynamoStateStore {
    /// The stored claim of `identity` (consistent read).
    pub async fn get_claim(&self, identity: &str) -> Result<Option<Claim>, PortError> {
        match self.get(&claim_pk(identity), "claim").await? {
            None => Ok(None),
            Some(item) => decode_claim(item).map(Some),
        }
    }

    pub(crate) async fn claim(&self, fresh: &Claim) -> Result<ClaimAttempt, PortError> {
        let pk = claim_pk(&fresh.identity);
        for _ in 0..MAX_RACE_RETRIES {
            let item = encode_claim(fresh)?;
            match self
                .put_if(item, "attribute_not_exists(#pk)", &[("#pk", "pk")], vec![])
                .await?
            {
                Write::Done => return Ok(ClaimAttempt::Won(fresh.clone())),
                Write::LostRace => {
                    if let Some(existing) = self.get(&pk, "claim").await? {
                        return Ok(ClaimAttempt::Exists(decode_claim(existing)?));
                    }
                    // It vanished between the two calls (deleted or expired): try again.
                }
            }
        }
        Err(race_lost("claim"))
    }

    pub(crate) async fn update_claim(
        &self,
        claim: &Claim,
        expected_version: u64,
    ) -> Result<bool, PortError> {
        let item = encode_claim(claim)?;
        let written = self
            .put_if(
                item,
                "#version = :expected",
                &[("#version", "version")],
                vec![(":expected", n(expected_version))],
            )
            .await?;
        Ok(matches!(written, Write::Done))
    }
}

fn claim_pk(identity: &str) -> String {
    format!("claim#{identity}")
}

pub(super) fn encode_claim(claim: &Claim) -> Result<Item, PortError> {
    let mut item: Item =
        to_item(claim).map_err(|e| PortError::Permanent(format!("claim not storable: {e}")))?;
    item.insert("pk".to_owned(), s(&claim_pk(&claim.identity)));
    item.insert("sk".to_owned(), s("claim"));
    item.insert(
        "expires_at".to_owned(),
        n(claim.claimed_at_ms.div_euclid(1000) + CLAIM_TTL_SECONDS),
    );
    Ok(item)
}

fn decode_claim(item: Item) -> Result<Claim, PortError> {
    from_item(item).map_err(|e| PortError::Permanent(format!("stored claim unreadable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use selfheal_service::ports::ClaimState;

    fn claim() -> Claim {
        Claim {
            identity: "arn:aws:cloudwatch:us-east-1:1:alarm:x|t|i-0123abcd".to_owned(),
            state: ClaimState::Running,
            owner: "req-1".to_owned(),
            owner_until_ms: 2_000,
            claimed_at_ms: 1_700_000_000_123,
            phase: Some("commands".to_owned()),
            command_id: None,
            phase_sent_at_ms: Some(5),
            command_ids: vec![],
            attempt: 2,
            outcome: None,
            version: 3,
            body: None,
            body_message_id: None,
            ..Default::default()
        }
    }

    #[test]
    fn claim_item_layout() {
        let item = encode_claim(&claim()).expect("encodes");
        assert_eq!(
            item.get("pk"),
            Some(&s(
                "claim#arn:aws:cloudwatch:us-east-1:1:alarm:x|t|i-0123abcd"
            ))
        );
        assert_eq!(item.get("sk"), Some(&s("claim")));
        assert_eq!(
            item.get("expires_at"),
            Some(&n(1_700_000_000 + CLAIM_TTL_SECONDS))
        );
        assert_eq!(item.get("version"), Some(&n(3)));
        assert_eq!(item.get("state"), Some(&s("running")));
        assert_eq!(item.get("command_ids"), Some(&AttributeValue::L(vec![])));
        assert_eq!(decode_claim(item).expect("decodes"), claim());
    }
}
