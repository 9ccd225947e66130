//! History: one item per record under its day's partition (`hist#<day>` / the record's sort key).

use selfheal_service::ports::{HistoryRecord, PortError};
use serde_dynamo::aws_sdk_dynamodb_1::from_item;

use super::{s, DynamoStateStore};
use crate::error::port_error;

impl DynamoStateStore {
    /// Every history record of one day (`YYYY-MM-DD`), in sort-key order. Items that cannot be
    /// read as a [`HistoryRecord`] are skipped with a warning.
    pub async fn query_history_day(&self, day: &str) -> Result<Vec<HistoryRecord>, PortError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_values(":pk", s(&history_pk(day)))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_error("dynamodb:Query", &e))?;
            for item in page.items() {
                match from_item::<HistoryRecord>(item.clone()) {
                    Ok(rec) => out.push(rec),
                    Err(e) => tracing::warn!(
                        day,
                        error = %e,
                        "skipping a history item that is not a HistoryRecord"
                    ),
                }
            }
        }
        Ok(out)
    }

    pub(crate) async fn put_history(&self, record: &HistoryRecord) -> Result<(), PortError> {
        let pk = history_pk(&record.day);
        self.put_record(record, "history record", &pk, &record.sort, None)
            .await
    }
}

pub(super) fn history_pk(day: &str) -> String {
    format!("hist#{day}")
}
