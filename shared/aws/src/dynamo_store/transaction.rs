//! One `TransactWriteItems` of versioned puts, and what its answer means: committed, or
//! cancelled with the indexes of the puts whose condition failed. Used by the admission
//! (`admit.rs`) and the close (`close.rs`).

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use selfheal_service::ports::PortError;

use super::{n, s, DynamoStateStore, Item};
use crate::error::port_error;

/// One put of a transaction, with an optional condition on the stored item's version: the
/// expression (`#version`, `:v`; `#pk` names the key), e.g. `#version = :v` or
/// `attribute_not_exists(#pk) OR #version = :v`, and the version `:v` stands for.
pub(super) struct TxnPut {
    pub item: Item,
    pub condition: Option<(&'static str, u64)>,
}

/// Leaving a role's lease inside a transaction: the holder removed and the version bumped
/// (so an admission that read the old holders cannot write them back), only if it still holds
/// it — otherwise the transaction is cancelled with this item's condition failed.
pub(super) struct LeaseLeave {
    pub pk: String,
    pub holder: String,
}

/// Joining a map of places inside a transaction without reading it back at its version:
/// `map.key = value` and the version bumped, only if `key` is not in the map yet and the map
/// (every entry, live or not) has fewer than `max` entries — so concurrent joins of other
/// workers do not cancel each other (a version condition would), and the count it checks is
/// never below the live count (safe). Used only when the read found no expired entry to prune.
/// `expires_at` is raised to `expires_at` (never lowered: a stored later one cancels it).
pub(super) struct MapJoin {
    pub pk: String,
    pub sk: &'static str,
    pub map: &'static str,
    pub key: String,
    pub value: i64,
    pub max: usize,
    pub expires_at: i64,
}

/// How one transaction ended.
pub(super) enum Transaction {
    Committed,
    /// Cancelled: nothing was written. The puts (by index) whose condition failed; empty when
    /// it was cancelled for another reason (a conflicting transaction in flight).
    Cancelled(Vec<usize>),
}

impl Transaction {
    pub(super) fn condition_failed_at(&self, i: usize) -> bool {
        matches!(self, Self::Cancelled(at) if at.contains(&i))
    }
}

impl DynamoStateStore {
    /// Writes `puts` all or nothing.
    pub(super) async fn transact(&self, puts: Vec<TxnPut>) -> Result<Transaction, PortError> {
        self.transact_with(puts, None).await
    }

    /// Writes `puts` and, last, `leave` all or nothing.
    pub(super) async fn transact_with(
        &self,
        puts: Vec<TxnPut>,
        leave: Option<&LeaseLeave>,
    ) -> Result<Transaction, PortError> {
        self.transact_all(puts, Vec::new(), leave).await
    }

    /// Writes `puts`, then `joins`, then `leave` all or nothing (a cancellation's indexes
    /// count in that order).
    pub(super) async fn transact_all(
        &self,
        puts: Vec<TxnPut>,
        joins: Vec<MapJoin>,
        leave: Option<&LeaseLeave>,
    ) -> Result<Transaction, PortError> {
        let mut items = Vec::with_capacity(puts.len() + joins.len() + 1);
        for p in puts {
            let mut b = Put::builder()
                .table_name(&self.table)
                .set_item(Some(p.item));
            if let Some((condition, version)) = p.condition {
                b = b
                    .condition_expression(condition)
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_values(":v", n(version));
                // DynamoDB refuses a name the expression does not use.
                if condition.contains("#pk") {
                    b = b.expression_attribute_names("#pk", "pk");
                }
            }
            let put = b.build().map_err(|e| {
                PortError::Permanent(format!("dynamodb: transaction not buildable: {e}"))
            })?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        for j in joins {
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(&j.pk))
                .key("sk", s(j.sk))
                .update_expression("SET #m.#k = :value, #version = #version + :one, #exp = :exp")
                .condition_expression(
                    "attribute_exists(#m) AND size(#m) < :max AND attribute_not_exists(#m.#k) \
                     AND (attribute_not_exists(#exp) OR #exp <= :exp)",
                )
                .expression_attribute_names("#m", j.map)
                .expression_attribute_names("#k", &j.key)
                .expression_attribute_names("#version", "version")
                .expression_attribute_names("#exp", "expires_at")
                .expression_attribute_values(":value", n(j.value))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":exp", n(j.expires_at))
                .expression_attribute_values(":max", n(i64::try_from(j.max).unwrap_or(i64::MAX)))
                .build()
                .map_err(|e| {
                    PortError::Permanent(format!("dynamodb: transaction not buildable: {e}"))
                })?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        if let Some(l) = leave {
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(&l.pk))
                .key("sk", s("lease"))
                .update_expression("REMOVE #holders.#h SET #version = #version + :one")
                .condition_expression("attribute_exists(#holders.#h)")
                .expression_attribute_names("#holders", "holders")
                .expression_attribute_names("#h", &l.holder)
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":one", n(1))
                .build()
                .map_err(|e| {
                    PortError::Permanent(format!("dynamodb: transaction not buildable: {e}"))
                })?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        let res = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match res {
            Ok(_) => Ok(Transaction::Committed),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    Ok(Transaction::Cancelled(
                        c.cancellation_reasons()
                            .iter()
                            .enumerate()
                            .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                            .map(|(i, _)| i)
                            .collect(),
                    ))
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                    Ok(Transaction::Cancelled(Vec::new()))
                }
                _ => Err(port_error("dynamodb:TransactWriteItems", &e)),
            },
        }
    }
}
