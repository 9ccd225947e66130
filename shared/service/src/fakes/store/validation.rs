//! DynamoDB's key and item size limits, checked by the fake store as the table checks them.

use crate::ports::*;

/// DynamoDB's limit on a partition key value (UTF-8 bytes).
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// DynamoDB's limit on a sort key value (UTF-8 bytes).
pub const MAX_SORT_KEY_BYTES: usize = 1024;
/// DynamoDB's limit on one item: attribute names and values (UTF-8 bytes).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// The key `pk`/`sk` as DynamoDB checks it: a key value is never empty nor too long.
pub(super) fn check_key(pk: &str, sk: &str) -> Result<(), PortError> {
    let invalid = |why: String| {
        Err(PortError::Permanent(format!(
            "dynamodb: ValidationException: One or more parameter values were invalid: {why}"
        )))
    };
    if pk.is_empty() || sk.is_empty() {
        return invalid("a key attribute cannot contain an empty string value".into());
    }
    if pk.len() > MAX_PARTITION_KEY_BYTES {
        return invalid(format!(
            "Size of hashkey has exceeded the maximum size limit of {MAX_PARTITION_KEY_BYTES} bytes"
        ));
    }
    if sk.len() > MAX_SORT_KEY_BYTES {
        return invalid(format!(
            "Aggregated size of all range keys has exceeded the size limit of {MAX_SORT_KEY_BYTES} bytes"
        ));
    }
    Ok(())
}

/// The item `record` would be (every field, plus `pk`, `sk` and `expires_at`) as DynamoDB checks
/// it: its key, and its size (names + values; numbers are counted by their digits, a little more
/// than DynamoDB counts, so the fake refuses no later than the table).
pub(super) fn check_item<T: serde::Serialize>(
    record: &T,
    pk: &str,
    sk: &str,
) -> Result<(), PortError> {
    fn size(v: &serde_json::Value) -> usize {
        use serde_json::Value;
        match v {
            Value::Null | Value::Bool(_) => 1,
            Value::Number(n) => n.to_string().len(),
            Value::String(s) => s.len(),
            Value::Array(xs) => 3 + xs.iter().map(|x| 1 + size(x)).sum::<usize>(),
            Value::Object(m) => 3 + m.iter().map(|(k, x)| k.len() + 1 + size(x)).sum::<usize>(),
        }
    }
    check_key(pk, sk)?;
    let keys = "pk".len() + pk.len() + "sk".len() + sk.len() + "expires_at".len() + 12;
    // Fast path: the size counted below is never more than twice the record's JSON text (the
    // worst case is an array of one-digit numbers, 5 counted for 3 written), so an item whose
    // JSON fits twice over is within the limit; only a large one is measured exactly.
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    if serde_json::to_writer(&mut count, record).is_ok() && 2 * count.0 + keys <= MAX_ITEM_BYTES {
        return Ok(());
    }
    let value = serde_json::to_value(record)
        .map_err(|e| PortError::Permanent(format!("item not storable: {e}")))?;
    let attributes = match &value {
        serde_json::Value::Object(m) => m.iter().map(|(k, x)| k.len() + size(x)).sum(),
        other => size(other),
    };
    if attributes + keys > MAX_ITEM_BYTES {
        return Err(PortError::Permanent(
            "dynamodb: ValidationException: Item size has exceeded the maximum allowed size".into(),
        ));
    }
    Ok(())
}
