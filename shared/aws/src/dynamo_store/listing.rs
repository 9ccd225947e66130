//! Listing: a Scan of every item under a `pk` prefix, shown as JSON (for `selfheal status` and
//! tests).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use selfheal_service::ports::PortError;

use super::{s, DynamoStateStore};
use crate::error::port_error;

impl DynamoStateStore {
    /// Every item whose `pk` starts with `prefix` (a Scan; for `selfheal status` and tests),
    /// as JSON objects (numbers become JSON numbers where they fit, sets become arrays,
    /// binary values become `null`).
    pub async fn list_items(&self, prefix: &str) -> Result<Vec<serde_json::Value>, PortError> {
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(#pk, :prefix)")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_error("dynamodb:Scan", &e))?;
            out.extend(page.items().iter().map(item_to_json));
        }
        Ok(out)
    }
}

/// A DynamoDB item as JSON, for display.
pub fn item_to_json(item: &HashMap<String, AttributeValue>) -> serde_json::Value {
    serde_json::Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), value_to_json(v)))
            .collect(),
    )
}

fn value_to_json(v: &AttributeValue) -> serde_json::Value {
    use serde_json::Value;
    fn num(x: &str) -> Value {
        if let Ok(i) = x.parse::<i64>() {
            Value::from(i)
        } else if let Some(f) = x.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            Value::Number(f)
        } else {
            Value::String(x.to_owned())
        }
    }
    match v {
        AttributeValue::S(x) => Value::String(x.clone()),
        AttributeValue::N(x) => num(x),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(xs) => Value::Array(xs.iter().map(value_to_json).collect()),
        AttributeValue::M(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), value_to_json(v)))
                .collect(),
        ),
        AttributeValue::Ss(xs) => Value::Array(xs.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(xs) => Value::Array(xs.iter().map(|x| num(x)).collect()),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{n, Item};
    use super::*;

    #[test]
    fn json_view() {
        let item = Item::from([
            ("pk".to_owned(), s("lease#web")),
            (
                "holders".to_owned(),
                AttributeValue::M(HashMap::from([("a".to_owned(), n(5))])),
            ),
            ("x".to_owned(), AttributeValue::Null(true)),
        ]);
        assert_eq!(
            item_to_json(&item),
            serde_json::json!({"pk": "lease#web", "holders": {"a": 5}, "x": null})
        );
    }
}
