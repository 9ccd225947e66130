//! The JSON Schema of a runbook file, generated from the Rust model so the two cannot drift
//! (a test compares it with `runbooks/runbooks.schema.json`).

use super::model::RunbookEntry;

/// The key grammar of DESIGN §2.
pub const KEY_PATTERN: &str = r"^([A-Za-z0-9_.-]+|\*):([A-Za-z0-9_.-]+|\*)$";

/// The schema of one runbook file, pretty-printed with a trailing newline.
pub fn schema_json() -> String {
    let entry = schemars::schema_for!(RunbookEntry);
    let mut entry = serde_json::to_value(&entry).unwrap_or_default();
    let defs = entry
        .as_object_mut()
        .and_then(|o| o.remove("$defs"))
        .unwrap_or_else(|| serde_json::json!({}));
    if let Some(o) = entry.as_object_mut() {
        o.remove("$schema");
        o.remove("title");
    }
    let mut all_defs = defs.as_object().cloned().unwrap_or_default();
    all_defs.insert("RunbookEntry".into(), entry);
    let schema = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://selfheal.dev/runbooks.schema.json",
        "title": "selfheal runbook map",
        "description": "Maps ROLE:ALERT keys (either part may be *) to the reviewed commands that fix them. Precedence: exact, ROLE:*, *:ALERT, *:*.",
        "type": "object",
        "properties": { "$schema": { "type": "string" } },
        "patternProperties": { KEY_PATTERN: { "$ref": "#/$defs/RunbookEntry" } },
        "additionalProperties": false,
        "$defs": all_defs,
    });
    let mut out = serde_json::to_string_pretty(&sorted(schema)).unwrap_or_default();
    out.push('\n');
    out
}

/// Sorts object keys recursively so the output is the same whatever serde_json features are on.
fn sorted(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => {
            let mut pairs: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted).collect())
        }
        other => other,
    }
}
